"""The Oversikt view of a published indicator (SKDE's Helseatlas, FHI): the publisher's own values.

Shown at the level the publisher publishes (SKDE's 21 opptaksområder, fylker, kommuner), with the
publisher's interval, map, trend, table and downloads, each labelled "Publisert av ...". No
statistics of the engine are applied; a value the publisher hid is shown as hidden.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

import indicators
from indicators.catalogue import Indicator

from ui import cache, charts, downloads, maps, pickers, state, tables, text, theme

LEVEL_NAMES = {"helseforetak": "Helseforetaksområde", "fylke": "Fylke", "kommune": "Kommune", "bydel": "Bydel",
               "land": "Hele landet"}
MAP_LEVELS = ("helseforetak", "kommune", "helsefellesskap")


def publisher_badge(ind: Indicator) -> None:
    st.html(f'<div class="ind-meta" role="note"><strong>{text.esc(ind.published_by)}</strong> – ekte tall slik '
            f"utgiveren har publisert dem ({text.esc(ind.source)}). Verdier utgiveren har skjult, vises som skjult.</div>")


def show(key: indicators.DataKey, ind: Indicator, period: tuple[int, int]) -> None:
    """Ranked bars, map, trend, table and downloads of a published indicator in ``period``."""
    level = ind.level or "helseforetak"
    publisher_badge(ind)
    table = cache.compute(key, ind.id, level, period=period)
    labels = pickers.labels_for(key, level)
    period_text = state.period_label(period)
    level_name = LEVEL_NAMES.get(level, level).lower()
    st.header(f"{ind.short_name}: {level_name}, {period_text}", anchor=False)
    if table.height == 0:
        st.info(f"{ind.published_by}: ingen verdier for {period_text}.")
        return
    fig = charts.ranked_bars(table, ind, period=period_text, labels=labels, highlight=None, synthetic=False,
                             level_name=level_name)
    st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key="pub_bars",
                    alt=f"{ind.short_name} per {level_name}, {period_text}, {ind.published_by}. "
                        "Tallene står i tabellen under.")
    st.caption(f"{ind.published_by}. Strekene er utgiverens intervall"
               + (f" ({ind.interval_label})" if ind.interval_label else "") + "; den loddrette linjen er landet.")
    if level in MAP_LEVELS:
        maps.choropleth(table, ind, level=level, colour_by="significance", height=520, key="pub_map")
    national = cache.compute(key, ind.id, "land")
    series = cache.compute(key, ind.id, level)
    if series.height:
        st.header("Utvikling over tid", anchor=False)
        fig = charts.trend_chart(series, national, ind, labels=labels, highlight=None, synthetic=False,
                                 title=f"{ind.short_name}: {level_name} og landet over tid ({ind.published_by})")
        st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key="pub_trend",
                        alt=f"Utviklingen per år, {ind.published_by}.")
    with st.expander(f"Tallene i tabell ({ind.published_by})", expanded=True):
        tables.show(table.sort("value", descending=True, nulls_last=True), ind, key="pub_table",
                    name_label=LEVEL_NAMES.get(level, level))
    downloads.download_section(
        pl.concat([table, cache.compute(key, ind.id, "land", period=period)], how="diagonal_relaxed"),
        ind.id, "publisert", f"tabellen for {ind.short_name} ({period_text})",
        stem=downloads.file_stem(ind.id, level, state.period_text(period)), data_key=key,
    )
