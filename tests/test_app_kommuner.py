"""AppTest: the Kommuner page (funnel plot, table, map, pooled periods)."""

from __future__ import annotations

import pytest
from ui_helpers import app, assert_clean, deck_specs, figure_titles, page_text, synthetic_banner_shown, warm_engine, warnings_text

pytestmark = pytest.mark.usefixtures("warm_engine")
__all__ = ["warm_engine"]

TROMS = {"scope": "fylke", "area": "55", "indicator": "eldre_reinnleggelse_30d_67"}


def kommune_table(at):
    """The kommune table beside the map (the map's own table twin comes first on the page)."""
    return next(d.value for d in at.dataframe if "Traktplott" in d.value.columns)


def test_troms_funnel_lists_kommuner_outside_the_limits():
    at = app("kommuner", TROMS)
    assert_clean(at)
    assert synthetic_banner_shown(at)
    assert at.segmented_control(key="ko_scope").value == "fylke"
    assert at.selectbox(key="ko_area_fylke").value == "55"
    text = page_text(at)
    assert "Utenfor 99,8 %-grensene" in text and "Mellom 95 %- og 99,8 %-grensene" in text
    assert any(t.startswith("Traktplott: Reinnleggelse 30 d 67+") for t in figure_titles(at))
    table = kommune_table(at)
    assert "Traktplott" in table.columns and "Merknad" in table.columns
    assert len(table) == 21  # the kommuner of Troms
    assert len(deck_specs(at)[0]["layers"][0]["data"]["features"]) == 21


def test_changing_scope_and_pooled_period():
    at = app("kommuner", TROMS)
    at.selectbox(key="ko_period").set_value((2023, 2025)).run()
    assert_clean(at)
    assert at.query_params["period"] == "2023-2025"
    assert "2023–2025" in page_text(at)
    at.segmented_control(key="ko_scope").set_value("helsefellesskap").run()
    assert_clean(at)
    assert at.query_params["scope"] == "helsefellesskap"
    assert at.selectbox(key="ko_area").value == "finnmark"


def test_indicator_change_changes_the_table():
    at = app("kommuner", TROMS)
    before = kommune_table(at).columns.tolist()
    at.selectbox(key="ko_indicator").set_value("eldre_oh_innleggelser_80").run()
    assert_clean(at)
    assert any("Ø.hj.-innleggelser 80+" in t for t in figure_titles(at))
    assert kommune_table(at).columns.tolist() != before  # the unit in the value column changed


@pytest.mark.parametrize("params, fragment", [
    ({"scope": "bydel"}, "ukjent avgrensning"),
    ({"scope": "fylke", "area": "99"}, "ukjent fylke"),
    ({"scope": "helsefellesskap", "area": "55"}, "ukjent helsefellesskap"),
    ({"period": "2020-2025"}, "ukjent periode"),
    ({"period": "2024-2022"}, "ukjent periode"),
])
def test_bad_url_parameters_fall_back(params, fragment):
    at = app("kommuner", params)
    assert_clean(at)
    assert fragment in warnings_text(at)
    assert figure_titles(at)
