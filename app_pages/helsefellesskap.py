"""Helsefellesskap: the profile an SSU reviews (spine chart per group, trends, kommune map, deck).

URL: ?area=<helsefellesskap id>&year=<latest year shown>&indicator=<indicator in the kommune map>&large=1
"""

import polars as pl
import streamlit as st

from indicators import IndicatorRequestError, analysis
from ui import cache, charts, comparison, decks, downloads, layout, maps, pickers, spine, state, summaries, tables, text, theme
from ui import ssu as ssu_ui
from ui import cohorts

key = cache.data_key()
synthetic = cache.is_synthetic(key)
cat = cache.catalogue()

layout.page_heading(
    "Helsefellesskap: profil for strategisk samarbeidsutvalg",
    "Alle indikatorene for ett helsefellesskap sammenlignet med landet og de andre 18 helsefellesskapene. "
    "Siden kan skrives ut eller vises på storskjerm.",
)

hf = cache.helsefellesskap(key)
years = sorted(cache.all_years(key), reverse=True)
if not years:  # a store with population only: no indicator has data yet
    st.info(layout.NO_REGISTER_DATA)
    st.stop()
c1, c2, c4, c3 = st.columns([2.2, 1, 1.1, 1])
with c1:
    hf_id = pickers.helsefellesskap_picker("hf", key, label="Velg helsefellesskap")
with c2:
    state.seed("hf_year", "year", years, years[0], what="årstall", parse=state.parse_year)
    year = st.selectbox("Til og med år", years, key="hf_year",
                        help="Hver indikator vises for det siste året med data til og med dette året.")
with c4:
    level = pickers.choice("hf", "konf", "Konfidensnivå", tables.CONFIDENCE_OPTIONS, default="95",
                           what="konfidensnivå", widget="segmented", help=tables.CONFIDENCE_HELP)
with c3:
    state.seed("large_text", "large", [False, True], False, what="visningsvalg",
               parse=lambda v: {"1": True, "0": False, "true": True, "false": False}[v.lower()])
    st.toggle("Stor tekst (projektor)", key="large_text", help="Større skrift for storskjerm og projektor.")

info = hf.filter(pl.col("helsefellesskap_id") == hf_id).row(0, named=True)
members = pickers.kommuner_in(key, helsefellesskap=hf_id)
short = info["kortnavn"]

map_options = [i.id for i in cat.indicators if not i.is_published or i.level == "kommune"]  # per kommune only
state.seed("hf_indicator", "indicator", map_options, map_options[0], what="indikator",
           describe=lambda i: f"«{cat.indicator(i).short_name}»")
state.show_messages()
state.sync_url({"area": hf_id, "year": year, "indicator": st.session_state["hf_indicator"],
                "large": st.session_state["large_text"] or None, "konf": level})

st.markdown(
    f"## {text.esc(info['helsefellesskap_navn'])}\n"
    f"Helseforetak: **{text.esc(info['helseforetak'])}**"
    + (f" (samarbeidende sykehus: {text.esc(info['samarbeidende_sykehus'])})" if info["samarbeidende_sykehus"] else "")
    + f" · {text.esc(info['rhf'])} · **{len(members)} kommuner**"
)

try:
    profile = cache.profile(key, hf_id, year, tables.CONFIDENCE_VALUES[level])
except (IndicatorRequestError, KeyError) as error:
    st.warning(f"Profilen kan ikke vises: {error}")
    st.stop()

decks.deck_section(hf_id, short, (years[-1], year), key)
ssu_content = ssu_ui.profile_section(hf_id, short, cat, default_year=year)  # goals, assessments, actions (+ forms)

st.html(spine.profile_summary(profile, short))
st.html(spine.spine_legend())
# A short table of contents: the page is long (one table and one set of trends per group).
toc_groups = [g for g in cat.groups if profile.filter(pl.col("group") == g.id).height]
st.html('<nav class="toc" aria-label="Innhold på siden"><b>Gå til:</b>'
        + "".join(f'<a href="#gruppe-{g.id}" target="_self">{text.esc(g.name)}</a>' for g in toc_groups)
        + ('<a href="#overlapp" target="_self">Overlapp mellom gruppene</a>' if getattr(cat, "overlap", None) else "")
        + '<a href="#kommunene" target="_self">Kommunene</a>'
        + ('<a href="#sektorer" target="_self">Sykehussektorene</a>' if hf_id == comparison.OSLO_ID else "")
        + '<a href="#sentralitet" target="_self">Etter sentralitet</a></nav>')

for group in cat.groups:
    group_rows = profile.filter(pl.col("group") == group.id)
    if group_rows.height == 0:
        continue
    st.header(group.name, anchor=f"gruppe-{group.id}", divider="gray")
    # "Pasientgruppen" (the cohort) first, then the population-rate indicators under their own heading
    cohorts.profile_block(key, cat, group.id, hf_id, short, year, profile=profile, prefix="hf")
    st.html(spine.spine_table(cohorts.population_rows(profile, cat), cat, group.id,
                              f"{short} sammenlignet med landet ({group.name.lower()})", short))
    panels = []
    for ind in cohorts.population_indicators(cat, group.id):
        series = cache.trend(key, ind.id, "helsefellesskap").filter(pl.col("area_id") == hf_id)
        panels.append({"indicator": ind, "series": series, "national": cache.trend(key, ind.id, "land"),
                       "goal": ssu_ui.goal_for(ssu_content["goals"], ind.id)})
    fig = charts.small_multiples(
        panels, title=f"{group.name}: utvikling i {short} og landet", area_name=short,
        subtitle=f"Alle år med data · Kilder: {', '.join(sorted({p['indicator'].source for p in panels}))}"
                 + (" · SYNTETISKE DEMODATA" if synthetic else ""),
    )
    trend_label = f"Utviklingen i tabell: {group.name.lower()}"
    st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key=f"hf_trends_{group.id}",
                    alt=f"Små linjediagrammer over tid for {len(panels)} indikatorer i gruppen {group.name}, "
                        f"{short} (lilla) og landet (svart stiplet)." + summaries.numbers_in(trend_label))
    with st.expander(trend_label, expanded=False):
        st.dataframe(tables.trend_panels(panels, short), hide_index=True, width="stretch",
                     key=f"hf_trend_table_{group.id}")
    ssu_ui.indicator_notes(hf_id, cat.in_group(group.id), ssu_content["identity"], goals=ssu_content["goals"],
                           assessments=ssu_content["assessments"], actions=ssu_content["actions"])

cohorts.profile_overlap(key, cat, hf_id, short, year, synthetic=synthetic, prefix="hf")

st.header(f"Kommunene i {short}", anchor="kommunene", divider="gray")
ind = cat.indicator(st.selectbox("Indikator i kartet", map_options, key="hf_indicator",
                                 format_func=lambda i: cat.indicator(i).name))
map_years = [y for y in cache.available_years(key, ind.id) if y <= year]
if not map_years:
    st.info(f"{ind.short_name} har ingen data til og med {year}.")
else:
    period = (map_years[-1], map_years[-1])
    kommune_table = cache.compute(key, ind.id, "kommune", period=period).filter(pl.col("area_id").is_in(members))
    # The comparison with the country as on the Kommuner page: from the national funnel, at the chosen level.
    kommune_table = analysis.with_funnel(kommune_table, cache.funnel(key, ind.id, "kommune", period),
                                         ind, tables.CONFIDENCE_VALUES[level])
    left, right = st.columns([1, 1.3], gap="large")
    with left:
        st.subheader(f"{ind.short_name}, {period[0]}", anchor=False)
        maps.choropleth(kommune_table, ind, level="kommune", kommuner=members, height=520, key="hf_map")
    with right:
        st.subheader("Kommunene i tabell", anchor=False)
        tables.show(kommune_table.sort("value", descending=True, nulls_last=True), ind, key="hf_kommune_table",
                    name_label="Kommune", height=520, level=level)
    downloads.download_section(kommune_table, ind.id, "hf_kommuner", f"kommunetallene for {ind.short_name}",
                               stem=downloads.file_stem(ind.id, hf_id, "kommuner", period[0]), data_key=key)
    if hf_id == comparison.OSLO_ID:  # Oslo works through its hospital sectors: sectors and bydeler
        comparison.oslo_sectors(key, ind, period, level=level, synthetic=synthetic)
    st.header("Etter sentralitet", anchor="sentralitet", divider="gray")
    comparison.sentralitet_section(key, ind, period, level=level, synthetic=synthetic, prefix="hf",
                                   kommune_table=kommune_table, members_name=short)

st.header("Last ned profilen", anchor=False, divider="gray")
downloads.download_section(profile, profile["indicator_id"].to_list(), "hf_profil", f"profilen for {short}",
                           stem=downloads.file_stem("profil", hf_id, year), data_key=key)
