"""Oversikt: one indicator across the 19 helsefellesskap (map, ranking, variation, trend).

URL: ?group=&indicator=&period=2024|2023-2025&level=helsefellesskap|kommune|helseforetak|sentralitet|kostragruppe
     &colour=deviation|significance&area=<hf id>
"""

import polars as pl
import streamlit as st

from indicators import IndicatorRequestError, analysis
from ui import cache, charts, comparison, downloads, layout, maps, pickers, published_view, state, summaries, tables, theme

key = cache.data_key()
synthetic = cache.is_synthetic(key)
TABLE_LABEL = "Tallene i tabell (alle 19 helsefellesskap)"
TREND_TABLE_LABEL = "Utviklingen i tabell (alle år)"

layout.page_heading(
    "Oversikt: helsefellesskapene sammenlignet",
    "Velg en prioritert gruppe og en indikator. Kartet og søylene viser hvert helsefellesskap mot landet; "
    "fargen sier om forskjellen er statistisk sikker (95 % konfidensintervall, eller 99,8 % om du velger det).",
)

c1, c2, c3 = st.columns([1.1, 2.0, 0.9])
ind = pickers.indicator_picker("ov", group_column=c1, indicator_column=c2)
with c3:
    period = pickers.period_picker("ov", key, ind)
c4, c5, c7, c6 = st.columns([1.1, 1.3, 1.0, 1.6])
with c4:
    level = pickers.choice("ov", "level", "Kartnivå", pickers.LEVEL_OPTIONS, default="helsefellesskap",
                           what="kartnivå", widget="segmented")
with c5:
    # Significance by default: the map then uses the same classes and colours as the bars beside it.
    colour_by = pickers.choice("ov", "colour", "Farge i kartet", maps.COLOUR_MODES, default="significance",
                               what="fargevalg", widget="segmented")
with c7:
    confidence_level = pickers.choice("ov", "konf", "Konfidensnivå", tables.CONFIDENCE_OPTIONS, default="95",
                                      what="konfidensnivå", widget="segmented", help=tables.CONFIDENCE_HELP)
confidence = tables.CONFIDENCE_VALUES[confidence_level]
with c6:
    highlight = pickers.helsefellesskap_picker("ov", key, label="Fremhev et helsefellesskap", allow_none=True,
                                               none_label="Ingen fremhevet", default=None)
state.show_messages()
state.sync_url({"group": ind.group, "indicator": ind.id, "period": period, "level": level, "colour": colour_by,
                "area": highlight, "konf": confidence_level})

layout.indicator_card(ind)
if period is None:
    st.stop()
if ind.is_published:  # a publisher's own values, at the publisher's level (e.g. SKDE's 21 opptaksområder)
    published_view.show(key, ind, period)
    st.stop()

try:
    hf_table = analysis.with_significance(cache.compute(key, ind.id, "helsefellesskap", period=period), ind, confidence)
    if level == "helsefellesskap":
        map_table = hf_table
    elif level == "kommune":  # kommuner compared as on the Kommuner page: from the national funnel, at the chosen level
        map_table = analysis.with_funnel(cache.compute(key, ind.id, "kommune", period=period),
                                         cache.funnel(key, ind.id, "kommune", period), ind, confidence)
    else:  # helseforetak areas, sentralitet classes, KOSTRA groups: the engine's own level
        map_table = analysis.with_significance(cache.compute(key, ind.id, level, period=period), ind, confidence)
        if level == "sentralitet":
            map_table = comparison.tables_with_labels(map_table)
        elif level == "kostragruppe":
            map_table = map_table.with_columns(
                pl.col("area_id").map_elements(comparison.kostra_label, return_dtype=pl.String).alias("area_name"))
    spread = cache.variation(key, ind.id, "helsefellesskap", period)
    hf_trend = cache.trend(key, ind.id, "helsefellesskap")
    national_trend = cache.trend(key, ind.id, "land")
except IndicatorRequestError as error:
    st.warning(f"Kan ikke vise indikatoren for dette valget: {error}")
    st.stop()

labels = pickers.labels_for(key, "helsefellesskap")
period_text = state.period_label(period)

st.html(summaries.ranking_answer(hf_table, ind, labels, period_text))

left, right = st.columns([1, 1.25], gap="large")
with left:
    st.header(f"Kart: {pickers.LEVEL_MAP_NAMES.get(level, level)}, {period_text}", anchor=False)
with right:
    fig = charts.ranked_bars(hf_table, ind, period=period_text, labels=labels, highlight=highlight, synthetic=synthetic,
                             level=confidence_level)
    st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key="ov_bars",
                    alt=summaries.ranking_alt(hf_table, ind, labels) + summaries.numbers_in(TABLE_LABEL))
    st.html(tables.significance_legend(ind.direction))

st.header("Variasjon mellom helsefellesskapene", anchor=False)
summaries.variation_metrics(spread, period_text)

st.header("Utvikling over tid", anchor=False)
fig = charts.trend_chart(hf_trend, national_trend, ind, labels=labels, highlight=highlight, synthetic=synthetic,
                         title=f"{ind.short_name}: helsefellesskapene og landet over tid")
st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key="ov_trend",
                alt=summaries.trend_alt(national_trend, ind, hf_trend, highlight, labels)
                + summaries.numbers_in(TREND_TABLE_LABEL))
st.caption("Grå linjer: hvert av de 19 helsefellesskapene (pek for navn). Svart stiplet: hele landet. "
           "Velg «Fremhev et helsefellesskap» for å vise ett med 95 % konfidensintervall.")
with st.expander(TREND_TABLE_LABEL, expanded=False):
    st.dataframe(tables.year_pivot(hf_trend, ind, national=national_trend, name_label="Helsefellesskap"),
                 hide_index=True, width="stretch", key="ov_trend_table")

st.header("Etter sentralitet", anchor="sentralitet")
comparison.sentralitet_section(key, ind, period, level=confidence_level, synthetic=synthetic, prefix="ov")

# The map is sent last (into its place in the left column): the browser then draws the charts before
# the map's WebGL set-up, which without a GPU holds the page for seconds.
with left:
    maps.choropleth(map_table, ind, level=level, colour_by=colour_by, highlight=highlight if level == "helsefellesskap" else None,
                    height=600, key="ov_map")

with st.expander(TABLE_LABEL, expanded=False):
    tables.show(hf_table.sort("value", descending=True, nulls_last=True), ind, key="ov_table",
                name_label="Helsefellesskap", level=confidence_level)
downloads.download_section(
    pl.concat([hf_table, map_table], how="diagonal_relaxed") if level != "helsefellesskap" else hf_table,
    ind.id, "oversikt", f"tabellen for {ind.short_name} ({period_text})",
    stem=downloads.file_stem(ind.id, level, state.period_text(period)), data_key=key,
)
