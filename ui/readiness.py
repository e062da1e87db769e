"""What each kommune has clarified for Pakkeforløp hjem (from ``data_loaders.readiness``)."""

from __future__ import annotations

import polars as pl
import streamlit as st

import indicators
from data_loaders.readiness import Readiness, load_readiness

from ui import cache

YES_NO = {True: "Ja", False: "Nei", None: "Ikke avklart"}


def load() -> Readiness:
    return load_readiness()  # cached per file and modification time


def _percent(part: float | None, whole: float | None = None) -> str:
    """``"56 %"`` (a share, or ``part`` of ``whole``)."""
    share = part if whole is None else (part / whole if whole else None)
    return "–" if share is None else f"{100 * share:.0f} %"


def show(ready: Readiness, key: indicators.DataKey, helsefellesskap_id: str | None, *, synthetic_store: bool) -> None:
    areas = cache.areas(key).select("kommunenummer", "helsefellesskap_id", "helsefellesskap_navn")
    table = areas.join(ready.table.drop("kommunenavn"), on="kommunenummer", how="left").join(
        cache.areas(key).select("kommunenummer", "kommunenavn"), on="kommunenummer", how="left")
    scope = "Hele landet"
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
    st.markdown(f"**{scope}: {n} {'kommune' if n == 1 else 'kommuner'}**"
                + ("" if helsefellesskap_id else " – velg «Fremhev et helsefellesskap» over for å se ett "
                                                  "helsefellesskap."))
    # What every kommune has done is one sentence; the tiles show what differs between kommuner.
    complete = [what for what, count in (("kontaktpunkt", contact), ("koordinerende enhet", unit)) if n and count == n]
    if complete:
        st.markdown(f"{'Alle' if n > 1 else 'Kommunen har'} {'' if n == 1 else f'{n} kommuner har '}"
                    f"avklart {' og '.join(complete)}.")
    national = cache.areas(key).select("kommunenummer", "helsefellesskap_id", "helsefellesskap_navn").join(
        ready.table.select("kommunenummer", "har_kreftkoordinator", "kontaktpunkt"), on="kommunenummer", how="left")
    national_share = national["har_kreftkoordinator"].fill_null(False).mean() if national.height else None
    tiles = [("Har kreftkoordinator", f"{coordinator} av {n} ({_percent(coordinator, n)})",
              f"Landet: {_percent(national_share)}" if helsefellesskap_id else None,
              "Kommuner som har oppgitt at de har kreftkoordinator (egen eller interkommunal).")]
    via_coordinator = table.filter(pl.col("kontaktpunkt").fill_null("").str.to_lowercase()
                                   .str.contains("kreftkoordinator")).height
    tiles.append(("Kontaktpunktet er en kreftkoordinator", f"{via_coordinator} av {n}", None,
                  "Kommuner der pasienter og sykehus møter en kreftkoordinator som første kontakt; de andre bruker "
                  "et tjenestekontor, en tildelingsenhet eller hjemmetjenesten."))
    tiles.append(("Ulike kontaktpunkt", str(table["kontaktpunkt"].drop_nulls().n_unique()), None,
                  "Hvor mange ulike funksjoner eller kontorer kommunene har oppgitt som kontaktpunkt."))
    for what, count in (("kontaktpunkt", contact), ("koordinerende enhet", unit)):
        if count < n:
            tiles.append((f"Har avklart {what}", f"{count} av {n}", None, None))
    for column, (label, value, delta, help_text) in zip(st.columns(len(tiles)), tiles):
        column.metric(label, value, help=help_text)
        if delta:
            column.caption(delta)
    if helsefellesskap_id is None and national.height:
        by_hf = (national.group_by("helsefellesskap_id", "helsefellesskap_navn")
                 .agg(pl.len().alias("n"), pl.col("har_kreftkoordinator").fill_null(False).sum().alias("k"))
                 .with_columns((100 * pl.col("k") / pl.col("n")).alias("share")).sort("share", descending=True))
        low, high = by_hf.row(by_hf.height - 1, named=True), by_hf.row(0, named=True)
        st.markdown(f"Andelen kommuner med kreftkoordinator varierer fra **{_percent(low['share'] / 100)}** "
                    f"({low['helsefellesskap_navn']}) til **{_percent(high['share'] / 100)}** "
                    f"({high['helsefellesskap_navn']}).")
        st.dataframe(
            by_hf.select(pl.col("helsefellesskap_navn").alias("Helsefellesskap"), pl.col("n").alias("Kommuner"),
                         pl.col("k").alias("Med kreftkoordinator"), pl.col("share").alias("Andel")).to_pandas(),
            hide_index=True, width="stretch", key="pf_readiness_hf",
            column_config={"Andel": st.column_config.ProgressColumn("Andel med kreftkoordinator", format="%.0f %%",
                                                                    min_value=0, max_value=100)})
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
    # Users see words; where the file lives and how to replace it is in the operators' docs.
    source = "syntetiske demodata" if ready.is_demo else "kommunenes egne opplysninger, samlet i en egen fil"
    st.caption(f"Kilde: {source}.{missing} Opplysningene finnes ikke i nasjonale registre.")
