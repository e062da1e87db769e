"""Pakkeforløp hjem for pasienter med kreft: SP1 over time against a target, SP2/SP3 where
reported, and what each kommune has clarified (contact point, cancer coordinator, unit).

URL: ?level=helsefellesskap|helseforetak&area=<hf id>&target=80&year=2025
"""

import logging

import polars as pl
import streamlit as st

from data_loaders.readiness import ReadinessDataError
from indicators import IndicatorRequestError
from ui import cache, charts, downloads, layout, pickers, readiness, state, summaries, tables, text, theme  # noqa: F401
from ui import auth
from ui import ssu as ssu_ui

key = cache.data_key()
synthetic = cache.is_synthetic(key)
cat = cache.catalogue()
SP1, SP2, SP3 = (cat.indicator(i) for i in ("kreft_sp1_behovskartlegging", "kreft_sp2_behovskartlegging",
                                            "kreft_sp3_behovskartlegging"))

layout.page_heading(
    "Pakkeforløp hjem for pasienter med kreft",
    "Pakkeforløp hjem skal sikre at pasienter med kreft og deres nærmeste får kartlagt behovene sine for "
    "oppfølging – i sykehuset og senere i kommunen. Siden viser hvor ofte dette er registrert, og hva kommunene "
    "har avklart.",
)

c1, c2, c3 = st.columns(3)
with c1.container(border=True):
    st.markdown("**Samhandlingspunkt 1 (SP1) – i sykehuset**\n\n"
                "Kort tid etter at kreftdiagnosen er gitt, kartlegger sykehuset pasientens behov. Sykehuset som "
                "behandler pasienten, registrerer kartleggingen, og den rapporteres til Norsk pasientregister (NPR). "
                "Høringsutkastet foreslo prosedyrekoden **WMFG10** for dette; koden er et forslag, ikke endelig "
                "vedtatt. Fordi SP1 rapporteres til NPR, kan den følges for alle helsefellesskap.")
with c2.container(border=True):
    st.markdown("**Samhandlingspunkt 2 (SP2) – i kommunen**\n\n"
                "Om lag **3–4 måneder** etter diagnosen kartlegger kommunen behovene på nytt, gjerne hjemme hos "
                "pasienten. **Ingen nasjonale registre** følger SP2 ennå: tallene finnes bare der kommunene "
                "registrerer selv (lokal registrering).")
with c3.container(border=True):
    st.markdown("**Samhandlingspunkt 3 (SP3) – i kommunen**\n\n"
                "Om lag **12–18 måneder** etter diagnosen gjør kommunen en ny kartlegging. Som for SP2 finnes "
                "ingen nasjonal registrering – bare **lokal registrering**. «Ikke rapportert» betyr at vi ikke "
                "vet, ikke at andelen er 0 %.")

LEVELS = {"helsefellesskap": "Helsefellesskap", "helseforetak": "Helseforetak"}
default_target = SP1.target.value if SP1.target is not None else 80.0
d1, d2, d3 = st.columns([1.1, 1.8, 1.1])
with d1:
    level = pickers.choice("pf", "level", "Vis etter", LEVELS, default="helsefellesskap", what="nivå",
                           widget="segmented")
with d2:
    highlight = pickers.helsefellesskap_picker("pf", key, label="Fremhev et helsefellesskap", allow_none=True,
                                               none_label="Ingen fremhevet", default=None)
# A logged-in user's helsefellesskap with its own SP1 goal: that goal replaces the free target field.
own_goal = ssu_ui.user_goal(auth.current_identity(), SP1.id, prefer=highlight)
with d3:
    state.seed_number("pf_target", "target", default_target, minimum=0, maximum=100, what="målverdi")
    if own_goal is not None:
        target = own_goal.target
        st.metric("Mål for SP1 (helsefellesskapets eget mål)", f"{text.value(SP1, target)} %",
                  help=ssu_ui.goal_text(own_goal, SP1))
    else:
        target = st.number_input("Mål for SP1 (prosent, lokalt satt mål)", min_value=0.0, max_value=100.0,
                                 step=5.0, key="pf_target", format="%.0f",
                                 help=f"Standard: {text.value(SP1, default_target)} %, et lokalt satt mål fra "
                                      "indikatorkatalogen. Endre det til helsefellesskapets eget mål.")
local_years = sorted(set(cache.available_years(key, SP2.id)) | set(cache.available_years(key, SP3.id)), reverse=True)
state.seed("pf_year", "year", local_years, local_years[0] if local_years else None, what="årstall",
           parse=state.parse_year)
state.show_messages()

target_label = "Helsefellesskapets mål" if own_goal is not None else "Mål (lokalt satt mål)"
SP1_TABLE_LABEL = "SP1 i tabell: andel per år og område"
labels = pickers.labels_for(key, level)
hf = cache.helsefellesskap(key)
order = hf["helsefellesskap_id"].to_list() if level == "helsefellesskap" else list(labels)
# On the helseforetak level the chosen helsefellesskap is shown by its own helseforetak area (none for Oslo: four).
area_highlight = (highlight if level == "helsefellesskap" or highlight is None else
                  dict(zip(hf["helsefellesskap_id"].to_list(), hf["helseforetak_id"].to_list())).get(highlight))

# --- SP1 ---------------------------------------------------------------------------------------
st.header("SP1: behovskartlegging i sykehuset", anchor=False, divider="gray")
layout.indicator_card(SP1)
try:
    sp1 = cache.trend(key, SP1.id, level)
    sp1_land = cache.trend(key, SP1.id, "land")
except IndicatorRequestError as error:
    st.warning(f"SP1 kan ikke vises: {error}")
    st.stop()
fig = charts.coverage_multiples(sp1, sp1_land, SP1, labels=labels, order=order, target=target,
                                target_label=target_label, synthetic=synthetic, highlight=area_highlight)
st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key="pf_sp1",
                alt=summaries.trend_alt(sp1_land, SP1) + " Ett lite diagram per område."
                + summaries.numbers_in(SP1_TABLE_LABEL))
st.caption("Blå linje: området; svart stiplet: hele landet; grønn prikket: målet. Et år uten punkt betyr at tallet er "
           "skjult (for få pasienter) eller ikke rapportert – se tabellen under.")
if level == "helseforetak":
    st.info("SP1 plasseres etter hvor pasienten bor: tallet for et helseforetak gjelder pasientene som bor i "
            "helseforetakets opptaksområde. Det er likevel sykehuset som behandlet pasienten, som registrerer "
            "kartleggingen – også når det ligger i et annet helseforetak.", icon=":material/info:")
if area_highlight is not None:
    fig = charts.trend_chart(sp1, sp1_land, SP1, labels=labels, highlight=area_highlight, synthetic=synthetic,
                             title=f"SP1 i {labels.get(area_highlight, area_highlight)} mot landet og målet", target=target,
                             target_label=target_label)
    st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key="pf_sp1_one",
                    alt=summaries.trend_alt(sp1_land, SP1, sp1, area_highlight, labels)
                    + summaries.numbers_in(SP1_TABLE_LABEL))
with st.expander(SP1_TABLE_LABEL, expanded=False):
    st.dataframe(tables.year_pivot(sp1.with_columns(pl.col("area_id").replace_strict(labels, default=None)
                                                        .alias("area_name")), SP1, national=sp1_land,
                                   name_label=LEVELS[level]),
                 hide_index=True, width="stretch")
downloads.download_section(sp1, SP1.id, "pf_sp1", "SP1 per år", data_key=key,
                           stem=downloads.file_stem(SP1.id, level, "alle-aar"))

# --- SP2 and SP3 ---------------------------------------------------------------------------------
st.header("SP2 og SP3: behovskartlegging i kommunen", anchor=False, divider="gray")
if not local_years:
    st.info("Ingen kommuner har rapportert SP2 eller SP3 ennå.")
else:
    year = st.columns([1, 3])[0].selectbox("År", local_years, key="pf_year")
    st.markdown("Bare kommuner som registrerer lokalt inngår. Et område der ingen kommuner rapporterer, står med "
                "ordene **«Ikke rapportert»** og uten stolpe – det er ikke det samme som 0 %. I parentes ved hvert "
                "navn står hvor mange av kommunene som rapporterer. En verdi som bygger på **under halvparten av "
                "kommunene** er merket ⚠, tegnet lys og står under de andre: den er ikke rangert sammen med "
                "verdier som bygger på de fleste kommunene.")
    for ind in (SP2, SP3):
        if year not in cache.available_years(key, ind.id):
            st.info(f"{ind.short_name}: ingen data for {year}.")
            continue
        table = cache.compute(key, ind.id, level, period=(year, year))
        fig = charts.reporting_bars(table, ind, labels=labels, period=str(year), synthetic=synthetic)
        not_reported = table.filter(pl.col("flag") == "not_reported").height
        table_label = f"{ind.short_name} {year} i tabell"
        st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key=f"pf_{ind.id}",
                        alt=f"Stolpediagram for {ind.short_name} {year}: {table.height - not_reported} av "
                            f"{table.height} områder rapporterer; {not_reported} er ikke rapportert."
                            + summaries.numbers_in(table_label))
        with st.expander(table_label, expanded=False):
            # values resting on few kommuner after the others, never ranked above them
            ordered = table.with_columns(
                pl.struct("reporting_kommuner", "total_kommuner").map_elements(
                    lambda r: charts.thin_reporting(r["reporting_kommuner"], r["total_kommuner"]),
                    return_dtype=pl.Boolean).alias("_thin")
            ).sort(["_thin", "value"], descending=[False, True], nulls_last=True).drop("_thin")
            tables.show(ordered, ind, key=f"pf_table_{ind.id}", name_label=LEVELS[level], show_reporting=True)
        downloads.download_section(table, ind.id, f"pf_{ind.id}", f"{ind.short_name} {year}", data_key=key,
                                   stem=downloads.file_stem(ind.id, level, year))

# --- readiness ---------------------------------------------------------------------------------
st.header("Hva kommunene har avklart", anchor=False, divider="gray")
st.markdown("Planen for Pakkeforløp hjem ber hver kommune avklare et **kontaktpunkt** for pasienter og sykehus, om "
            "den har **kreftkoordinator** (om lag 56 % av kommunene har det), og hvilken **koordinerende enhet** som "
            "har ansvaret.")
try:
    ready = readiness.load()
except ReadinessDataError as error:
    logging.getLogger("styring.pakkeforlop").warning("The readiness file cannot be read: %s", error)
    st.warning("Opplysningene om kommunenes avklaringer kan ikke leses akkurat nå.")
else:
    readiness.show(ready, key, highlight, synthetic_store=synthetic)

state.sync_url({"level": level, "area": highlight, "target": target, "year": st.session_state.get("pf_year")})
