"""AppTest: the Oversikt page (default page of the dashboard)."""

from __future__ import annotations

import pytest
from ui_helpers import (
    app, assert_clean, deck_specs, figure_titles, page_text, plotly_figures, synthetic_banner_shown, warm_engine,
    warnings_text,
)

pytestmark = pytest.mark.usefixtures("warm_engine")
__all__ = ["warm_engine"]


def test_renders_defaults_with_answer_map_and_charts():
    at = app()
    assert_clean(at)
    assert at.title[0].value.startswith("Oversikt")
    assert synthetic_banner_shown(at)
    # The default answers "which helsefellesskap is highest for Ø.hj. 80+, and is it significant".
    assert at.selectbox(key="ov_indicator").value == "eldre_oh_innleggelser_80"
    text = page_text(at)
    assert "Høyest:" in text and "signifikant" in text
    titles = figure_titles(at)
    assert any("rangert" in t for t in titles) and any("over tid" in t for t in titles)
    specs = deck_specs(at)
    assert specs and specs[0]["layers"][0]["@@type"] == "GeoJsonLayer"
    assert specs[0].get("mapStyle") in (None, "__MAP_STYLE__")  # no basemap, no tiles
    assert "Høy/lav-ratio" in text and "SCV" in text
    # Norwegian numbers on the charts: decimal comma, thin-space thousands, and text labels with commas.
    figures = plotly_figures(at)
    assert all(f["layout"]["separators"] == ",\u2009" for f in figures)
    bars = next(f for f in figures if "rangert" in f["layout"]["title"]["text"])
    labels = [t for trace in bars["data"] for t in (trace.get("text") or [])]
    assert labels and all("," in t and "." not in t for t in labels if t and t[0].isdigit())
    # The URL holds the whole state.
    assert at.query_params["indicator"] == "eldre_oh_innleggelser_80"
    assert at.query_params["level"] == "helsefellesskap"


def test_choosing_another_indicator_changes_the_output():
    at = app()
    before = figure_titles(at)
    at.selectbox(key="ov_indicator").set_value("eldre_reinnleggelse_30d_67").run()
    assert_clean(at)
    after = figure_titles(at)
    assert after != before
    assert any("Reinnleggelse 30 d 67+" in t for t in after)
    assert at.query_params["indicator"] == "eldre_reinnleggelse_30d_67"


def test_changing_group_resets_indicator_to_the_group():
    at = app()
    at.selectbox(key="ov_group").set_value("barn_og_unge").run()
    assert_clean(at)
    assert at.selectbox(key="ov_indicator").value.startswith("barn_")
    assert at.query_params["group"] == "barn_og_unge"


def test_url_parameters_restore_state():
    at = app(params={"indicator": "psyk_tvangsinnleggelser_18", "period": "2023-2025", "level": "kommune",
                     "colour": "significance", "area": "troms-ofoten"})
    assert_clean(at)
    assert at.selectbox(key="ov_group").value == "psykisk_helse_rus"
    assert at.selectbox(key="ov_indicator").value == "psyk_tvangsinnleggelser_18"
    assert at.selectbox(key="ov_period").value == (2023, 2025)
    assert at.segmented_control(key="ov_level").value == "kommune"
    assert at.selectbox(key="ov_area").value == "troms-ofoten"
    assert not at.warning
    assert any("2023–2025" in t or "2023-2025" in t for t in map(str, page_text(at).splitlines()))
    # A kommune map: one feature per kommune polygon.
    features = deck_specs(at)[0]["layers"][0]["data"]["features"]
    assert len(features) > 300


@pytest.mark.parametrize("params, fragment", [
    ({"indicator": "finnes_ikke"}, "ukjent indikator"),
    ({"level": "bydel"}, "ukjent kartnivå"),
    ({"period": "abc"}, "ukjent periode"),
    ({"period": "2021-2023"}, "ukjent periode"),  # not one of the fixed pooled periods
    ({"period": "1990"}, "ukjent periode"),
    ({"area": "atlantis"}, "ukjent helsefellesskap"),
    ({"group": "<script>"}, "ukjent prioritert gruppe"),
])
def test_bad_url_parameters_give_a_friendly_message(params, fragment):
    at = app(params=params)
    assert_clean(at)
    assert fragment in warnings_text(at)
    assert at.title[0].value.startswith("Oversikt")
    assert figure_titles(at)  # the page falls back to defaults and still draws


# --- issue 14: the indicator by sentralitet class -----------------------------------------------

def test_sentralitet_bars_and_table_follow_the_engine():
    """Classes 1-6 in order, Norwegian labels, values from the engine's sentralitet level."""
    import indicators
    import polars as pl

    at = app(None, {"indicator": "eldre_reinnleggelse_30d_67", "period": "2024"})
    assert_clean(at)
    assert "Etter sentralitet" in page_text(at)
    fig = next(f for f in plotly_figures(at) if "etter sentralitet" in str(f["layout"]["title"]["text"]))
    bars = fig["data"][0]
    assert bars["y"][0] == "Sentralitet 1 (mest sentral)" and bars["y"][-1] == "Sentralitet 6 (minst sentral)"
    assert fig["data"][0]["error_x"]["array"]  # intervals drawn
    engine = indicators.compute("eldre_reinnleggelse_30d_67", "sentralitet", years=[2024]).sort("area_id")
    assert bars["x"] == pytest.approx(engine["value"].to_list())
    table = next(d.value for d in at.dataframe if "Sentralitet" in d.value.columns and "Nevner" in d.value.columns)
    assert table["Sentralitet"].tolist() == [bars["y"][i] for i in range(6)]
    assert table["Nevner"].tolist() == pytest.approx(engine["denominator"].to_list())


@pytest.mark.parametrize("level, areas, polygons, first_name", [
    ("helseforetak", 21, 19, None),  # OUS, Lovisenberg, Diakonhjemmet are Oslo's bydeler: Oslo is one grey polygon
    ("sentralitet", 6, 6, "Sentralitet 1 (mest sentral)"),
    ("kostragruppe", 17, 17, "KOSTRA-gruppe 1"),
])
def test_map_levels_from_the_url(level, areas, polygons, first_name):
    at = app(None, {"indicator": "eldre_reinnleggelse_30d_67", "period": "2024", "level": level})
    assert_clean(at)
    assert at.segmented_control(key="ov_level").value == level
    assert at.query_params["level"] == level
    features = deck_specs(at)[0]["layers"][0]["data"]["features"]
    assert len(features) == polygons
    twin = next(d.value for d in at.dataframe if "Farge i kartet" in d.value.columns)
    assert len(twin) == areas
    names = twin.iloc[:, 0].tolist()
    assert not any(str(n).startswith("EKG") for n in names)
    if first_name:
        assert first_name in names
    if level == "helseforetak":
        assert {"OUS", "Lovisenberg", "Diakonhjemmet", "Akershus"} <= set(names)
        assert "fire sykehussektorer" in page_text(at)
