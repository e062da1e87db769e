"""AppTest: every chart and map has a text alternative and a table with its numbers.

Each Plotly chart and pydeck map carries ``alt`` text that ends by naming where its numbers
are («…»): an expander or a heading followed by a table on the same page. The map's table twin
(«Kartet som tabell») lists every area of the engine table the map is drawn from, with the
value, legend class and colour that the map shows for it.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from ui_helpers import app, assert_clean, deck_specs, plotly_figures, warm_engine

import indicators
from ui import maps, text, theme

pytestmark = pytest.mark.usefixtures("warm_engine")
__all__ = ["warm_engine"]

STATES = [
    ("oversikt", {"indicator": "eldre_oh_innleggelser_80", "area": "troms-ofoten"}),
    ("oversikt", {"indicator": "psyk_tvangsinnleggelser_18", "period": "2023-2025", "level": "kommune",
                  "colour": "significance"}),
    ("helsefellesskap", {"area": "troms-ofoten"}),
    ("pasientgrupper", {"group": "skropelige_eldre", "area": "troms-ofoten"}),
    ("kommuner", {"scope": "fylke", "area": "55", "indicator": "eldre_reinnleggelse_30d_67"}),
    ("pakkeforlop", {"area": "troms-ofoten"}),
    ("pakkeforlop", {"level": "helseforetak"}),
]
TABLE_TYPES = {"dataframe", "table"}
REFERENCE = re.compile(r"«([^«»]+)»")


def flatten(block) -> list:
    """Every node of the page in document order (blocks before their children)."""
    nodes = [block]
    for index in sorted(getattr(block, "children", {}) or {}):
        nodes.extend(flatten(block.children[index]))
    return nodes


def has_table(node) -> bool:
    return any(n.type in TABLE_TYPES for n in flatten(node)[1:])


def resolves(nodes: list, label: str) -> bool:
    """An expander called ``label`` holding a table, or a heading ``label`` followed by a table."""
    for i, node in enumerate(nodes):
        if node.type == "expander" and node.label == label and has_table(node):
            return True
        if node.type in ("header", "subheader") and node.value == label:
            following = [n for n in nodes[i + 1:i + 6] if n.type not in ("caption", "markdown")]
            if any(n.type in TABLE_TYPES for n in following):
                return True
    return False


def state_id(state) -> str:
    page, params = state
    return page + "-" + "-".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("state", STATES, ids=[state_id(s) for s in STATES])
def test_every_chart_and_map_names_a_table_with_its_numbers(state):
    page, params = state
    at = app(page, params)
    assert_clean(at)
    nodes = flatten(at.main)
    graphics = [n for n in nodes if n.type in ("plotly_chart", "deck_gl_json_chart")]
    assert graphics, "the page draws no chart or map"
    for graphic in graphics:
        alt = graphic.proto.alt.strip()
        assert len(alt) > 40, f"{graphic.type} without a useful text alternative: {alt!r}"
        references = REFERENCE.findall(alt)
        assert references, f"{graphic.type} does not say where its numbers are: {alt!r}"
        assert resolves(nodes, references[-1]), f"no table «{references[-1]}» on the page for: {alt!r}"
    if any(n.type == "deck_gl_json_chart" for n in graphics):
        assert any(n.type == "expander" and n.label == maps.TWIN_LABEL for n in nodes)


def legend_colours(ind, colour_by: str) -> dict[str, list[int]]:
    """Legend label -> the fill colour the map uses for it."""
    if colour_by == "significance":
        colours = {theme.ASSESSMENT_LABELS[a]: theme.hex_to_rgba(c) for a, c in theme.ASSESSMENT_COLOURS.items()}
    else:
        colours = {label: theme.hex_to_rgba(c)
                   for label, c in zip(theme.DEVIATION_LABELS, theme.diverging_palette(ind.direction))}
    colours[theme.SUPPRESSED_LABEL] = theme.hex_to_rgba(theme.SUPPRESSED_FILL)
    return colours


def expander_tables(at, label: str, *, prefix: bool = False) -> list:
    """The first table in each expander called ``label`` (or starting with it), in page order."""
    return [next(n for n in flatten(e) if n.type in TABLE_TYPES).value for e in flatten(at.main)
            if e.type == "expander" and (e.label.startswith(label) if prefix else e.label == label)]


def twin_of(at) -> tuple[object, list[dict]]:
    """The «Kartet som tabell» frame and the map's GeoJSON features."""
    (frame,) = expander_tables(at, maps.TWIN_LABEL)
    features = deck_specs(at)[0]["layers"][0]["data"]["features"]
    return frame, features


MAP_STATES = [
    ("oversikt", {"indicator": "eldre_oh_innleggelser_80"}, "ov_indicator", "helsefellesskap_id", "significance", 19),
    ("oversikt", {"indicator": "psyk_tvangsinnleggelser_18", "period": "2023-2025", "level": "kommune",
                  "colour": "significance"}, "ov_indicator", "kommunenummer", "significance", 357),
    ("kommuner", {"scope": "fylke", "area": "55", "indicator": "eldre_reinnleggelse_30d_67"}, "ko_indicator",
     "kommunenummer", "significance", 21),
    ("helsefellesskap", {"area": "finnmark", "indicator": "kreft_sp1_behovskartlegging"}, "hf_indicator",
     "kommunenummer", "deviation", None),
]


@pytest.mark.parametrize("page, params, indicator_key, geo_key, colour_by, n_areas", MAP_STATES,
                         ids=[state_id(s[:2]) for s in MAP_STATES])
def test_map_twin_lists_every_mapped_area_as_the_map_shows_it(page, params, indicator_key, geo_key, colour_by,
                                                              n_areas):
    at = app(page, params)
    assert_clean(at)
    ind = indicators.load_catalogue().indicator(at.selectbox(key=indicator_key).value)
    frame, features = twin_of(at)
    value_column = f"Verdi ({text.unit_short(ind)})"
    # kommuner by number (some share a name), helsefellesskap by name
    by_number = geo_key == "kommunenummer"
    id_column, id_property = ("Kommunenr.", "kommunenummer") if by_number else ("Helsefellesskap", "name")
    columns = [id_column, value_column, "95 % KI", "Farge i kartet", "Mot landet", "Merknad"]
    assert [c for c in frame.columns if c != "Kommune"] == columns
    if n_areas is not None:
        assert len(frame) == n_areas
    assert frame[id_column].is_unique
    rows = {row[id_column]: row for row in frame.to_dict("records")}
    colours = legend_colours(ind, colour_by)
    mapped = [f["properties"] for f in features if f["properties"]["value_text"] != "Ingen data"]
    assert len(mapped) >= len(features) - 1  # at most the polygon of a kommune without data
    for props in mapped:
        row = rows[props[id_property]]  # every area on the map is in the twin
        if id_property != "name":
            assert row["Kommune"] == props["name"]
        value = row[value_column]
        if pd.isna(value):  # hidden
            assert props["value_text"].startswith("–")
            assert row["Farge i kartet"] == theme.SUPPRESSED_LABEL
        else:
            assert props["value_text"] == f"Verdi: {text.with_unit(ind, float(value))}"
            assert props["ci_text"] == f"95 % KI: {row['95 % KI']}"
        assert row["Farge i kartet"] == props["class_text"]
        assert props["fill_color"] == colours[row["Farge i kartet"]], props["name"]
    # ... and nothing else: the twin's areas are the map's, plus kommuner drawn inside another's polygon.
    drawn_inside = [r for r in rows.values() if "Tegnet sammen med" in (r["Merknad"] or "")]
    assert len(rows) == len(mapped) + len(drawn_inside)


def test_oversikt_trend_table_holds_the_chart_numbers():
    at = app("oversikt", {"indicator": "eldre_oh_innleggelser_80"})
    assert_clean(at)
    ind = indicators.load_catalogue().indicator("eldre_oh_innleggelser_80")
    trend = next(f for f in plotly_figures(at) if "over tid" in f["layout"]["title"]["text"])
    national = next(t for t in trend["data"] if t.get("name") == "Hele landet")
    (table,) = expander_tables(at, "Utviklingen i tabell (", prefix=True)
    assert len(table) == 1 + 19
    row = table.iloc[0]
    assert row["Helsefellesskap"] == "Hele landet"
    assert [row[str(x)] for x in national["x"]] == [text.value(ind, y) for y in national["y"]]
    lines = [t for t in trend["data"] if t.get("mode") == "lines"]  # one grey line per helsefellesskap
    assert len(lines) == 19
    cells = {v for _, r in table.iloc[1:].iterrows() for v in r.iloc[1:]}
    assert {text.value(ind, y) for t in lines for y in t["y"]} <= cells


def test_profile_trend_tables_hold_the_small_multiples_numbers():
    at = app("helsefellesskap", {"area": "troms-ofoten"})
    assert_clean(at)
    cat = indicators.load_catalogue()
    figures = [f for f in plotly_figures(at) if "utvikling i Troms og Ofoten" in f["layout"]["title"]["text"]]
    tables = expander_tables(at, "Utviklingen i tabell:", prefix=True)
    assert len(figures) == len(tables) == 5
    for figure, table in zip(figures, tables):
        series = [t for t in figure["data"] if t.get("mode") in ("lines", "lines+markers") and t.get("name")]
        # per panel: the area (lines+markers) then the country (lines)
        assert len(series) == 2 * (len(table) // 2)
        for i in range(0, len(table), 2):
            ind = next(x for x in cat.indicators if x.short_name == table.iloc[i]["Indikator"])
            for trace, row in zip(series[i:i + 2], (table.iloc[i], table.iloc[i + 1])):
                assert [row[str(x)] for x in trace["x"]] == [text.value(ind, y) for y in trace["y"]]


def test_plotly_modebar_speaks_norwegian():
    at = app("oversikt")
    configs = [json.loads(el.proto.config) for el in at.get("plotly_chart")]
    assert configs and all(c["locale"] == "nb" for c in configs)
    dictionary = configs[0]["locales"]["nb"]["dictionary"]
    assert dictionary["Download plot as a PNG"].startswith("Last ned") and dictionary["Zoom in"] == "Zoom inn"
