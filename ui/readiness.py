"""What each kommune has clarified for Pakkeforløp hjem (from ``data_loaders.readiness``)."""

from __future__ import annotations

import polars as pl
import streamlit as st

import indicators
from data_loaders.config import PROJECT_ROOT, settings
from data_loaders.readiness import ENV_VARIABLE, TOML_KEY, Readiness, load_readiness

from ui import cache

YES_NO = {True: "Ja", False: "Nei", None: "Ikke avklart"}


def load() -> Readiness:
    return load_readiness()  # cached per file and modification time


def _where(path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return path.name


def show(ready: Readiness, key: indicators.DataKey, helsefellesskap_id: str | None, *, synthetic_store: bool) -> None:
    areas = cache.areas(key).select("kommunenummer", "helsefellesskap_id", "helsefellesskap_navn")
    table = areas.join(ready.table.drop("kommunenavn"), on="kommunenummer", how="left").join(
        cache.areas(key).select("kommunenummer", "kommunenavn"), on="kommunenummer", how="left")
    scope = "hele landet"
    if helsefellesskap_id is not None:
        table = table.filter(pl.col("helsefellesskap_id") == helsefellesskap_id)
        scope = table["helsefellesskap_navn"][0] if table.height else helsefellesskap_id
    n = table.height
    contact = table.filter(pl.col("kontaktpunkt").fill_null("") != "").height
    coordinator = table.filter(pl.col("har_kreftkoordinator").fill_null(False)).height
    unit = table.filter(pl.col("koordinerende_enhet").fill_null("") != "").height
    if ready.is_demo:
        st.warning("Demodata: avklaringene under er syntetiske (navn på funksjoner og enheter, ikke personer) og "
                   "laget bare for å vise siden. De er ikke kommunenes egne opplysninger.", icon=":material/science:")
    st.markdown(f"**{scope}: {n} kommuner**" + ("" if helsefellesskap_id else " – velg «Fremhev et helsefellesskap» "
                                                 "over for å se ett helsefellesskap."))
    c1, c2, c3 = st.columns(3)
    c1.metric("Har avklart kontaktpunkt", f"{contact} av {n}")
    c2.metric("Har kreftkoordinator", f"{coordinator} av {n}",
              help="Kommuner som har oppgitt at de har kreftkoordinator (egen eller interkommunal).")
    c3.metric("Har oppgitt koordinerende enhet", f"{unit} av {n}")
    display = table.sort("kommunenummer").select(
        pl.col("kommunenummer").alias("Kommunenr."),
        pl.col("kommunenavn").alias("Kommune"),
        pl.col("helsefellesskap_navn").alias("Helsefellesskap"),
        pl.col("kontaktpunkt").fill_null("Ikke avklart").alias("Kontaktpunkt"),
        pl.col("har_kreftkoordinator").replace_strict(YES_NO, default="Ikke avklart", return_dtype=pl.String)
        .alias("Kreftkoordinator"),
        pl.col("koordinerende_enhet").fill_null("Ikke avklart").alias("Koordinerende enhet"),
        pl.when(pl.col("demo").fill_null(False)).then(pl.lit("Demodata")).otherwise(pl.col("source").fill_null(""))
        .alias("Kilde"),
    )
    st.dataframe(display.to_pandas(), hide_index=True, width="stretch", height=420, key="pf_readiness")
    missing = f" {len(ready.missing)} kommuner mangler i fila og vises som «Ikke avklart»." if ready.missing else ""
    if settings().public_mode:  # how to configure the server is for its operators
        st.caption(f"Kilde: fila {ready.path.name}.{missing}")
        return
    st.caption(f"Kilde: fila {_where(ready.path)}. Bytt den ut med kommunenes egne opplysninger ved å peke "
               f"miljøvariabelen {ENV_VARIABLE} (eller innstillingen {TOML_KEY}) til en CSV-fil med de samme "
               "kolonnene; fila kontrolleres ved innlesing (ukjente kommunenummer, dubletter, ja/nei-verdier)."
               + missing)
