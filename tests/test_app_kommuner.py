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


# --- issue 14: compare with similar kommuner (the KOSTRA group as a second benchmark) -----------

def test_kostra_group_is_a_second_benchmark():
    """Harstad (5503) is in KOSTRA group 9 (SSB 2024): its group's value stands beside the country,
    computed at the engine's kostragruppe level, and the table names each kommune's group."""
    import indicators
    import polars as pl

    from data_loaders import reference
    from ui import text as ui_text

    at = app("kommuner", {**TROMS, "kommune": "5503"})
    assert_clean(at)
    assert at.selectbox(key="ko_kommune").value == "5503"
    assert at.query_params["kommune"] == "5503"
    text = page_text(at)
    assert "Sammenlign med lignende kommuner" in text
    assert "KOSTRA-gruppe 9" in text and "Hele landet" in text
    metrics = {m.label: m.value for m in at.metric}
    harstad_label = next(label for label in metrics if label.startswith("Harstad"))
    group_label = next(label for label in metrics if label.startswith("KOSTRA-gruppe 9 ("))
    members = [k for k, g in zip(reference.area_table()["kommunenummer"], reference.area_table()["kostragruppe"])
               if g == "EKG09"]
    assert group_label == f"KOSTRA-gruppe 9 ({len(members)} kommuner)" and "5503" in members
    # The group's value shown is the engine's kostragruppe row for the same year (the page does not sum).
    ind = indicators.load_catalogue().indicator("eldre_reinnleggelse_30d_67")
    year = max(indicators.available_years(ind.id))
    group = indicators.compute(ind.id, "kostragruppe", years=[year]).filter(pl.col("area_id") == "EKG09")
    assert metrics[group_label] == ui_text.with_unit(ind, group["value"][0])
    assert metrics[harstad_label] != "–"
    table = kommune_table(at)
    assert "KOSTRA-gruppe" in table.columns
    harstad = table[table["Kommune"] == harstad_label].iloc[0]
    assert harstad["KOSTRA-gruppe"] == "KOSTRA-gruppe 9"
    assert not any(str(v).startswith("EKG") for v in table["KOSTRA-gruppe"])  # no raw ids


def test_unknown_kommune_in_the_link_falls_back():
    at = app("kommuner", {**TROMS, "kommune": "9999"})
    assert_clean(at)
    assert "ukjent kommune" in warnings_text(at)
    assert at.selectbox(key="ko_kommune").value != "9999"
