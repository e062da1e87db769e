"""AppTest: the statistics of issue 16 on the pages (funnel scale, the 99.8 % choice, ranks, one colour per meaning)."""

from __future__ import annotations

import pytest
from ui_helpers import app, assert_clean, page_text, plotly_figures, warm_engine

pytestmark = pytest.mark.usefixtures("warm_engine")
__all__ = ["warm_engine"]

STANDARDISED = "eldre_oh_innleggelser_80"


def _funnel(at) -> dict:
    return next(f for f in plotly_figures(at) if "Traktplott" in str(f["layout"]["title"]))


def _kommune_table(at):
    return next(d.value for d in at.dataframe if "Traktplott" in d.value.columns)


def test_kommuner_standardised_funnel_says_its_scale_and_the_table_agrees():
    at = app("kommuner", {"scope": "fylke", "area": "55", "indicator": STANDARDISED})
    assert_clean(at)
    funnel = _funnel(at)
    assert "Observert/forventet" in funnel["layout"]["yaxis"]["title"]["text"]
    assert "Forventet antall" in funnel["layout"]["xaxis"]["title"]["text"]
    assert "indirekte standardisering" in page_text(at)
    table = _kommune_table(at)
    for position, status in zip(table["Traktplott"], table["Mot landet"]):
        if position.startswith("Over 99,8"):
            assert "Som landet" not in status and "Lavere" not in status and "Bedre" not in status
        if position.startswith("Under 99,8"):
            assert "Som landet" not in status and "Høyere" not in status and "Dårligere" not in status
    # the fylke with the most kommuner is the default, not Oslo
    fylke = app("kommuner", {"scope": "fylke", "indicator": STANDARDISED})
    assert fylke.selectbox(key="ko_area_fylke").value != "03"


def test_kommuner_99_8_choice_changes_the_table_limits():
    at = app("kommuner", {"scope": "fylke", "area": "55", "indicator": STANDARDISED, "konf": "99_8"})
    assert_clean(at)
    table = _kommune_table(at)
    assert "Nedre 99,8 %" in table.columns and "Nedre 95 %" not in table.columns
    at.segmented_control(key="ko_konf").set_value("95").run()
    assert_clean(at)
    assert at.query_params["konf"] == "95"
    assert "Nedre 95 %" in _kommune_table(at).columns


def test_oversikt_map_defaults_to_the_bars_significance_classes():
    at = app("oversikt", {"indicator": STANDARDISED})
    assert_clean(at)
    assert at.segmented_control(key="ov_colour").value == "significance"
    text = page_text(at)
    assert "FT2 og FT3" in text and "%" in text
    at.segmented_control(key="ov_konf").set_value("99_8").run()
    assert_clean(at)
    bars = next(f for f in plotly_figures(at) if "rangert" in str(f["layout"]["title"]))
    assert "99,8 % konfidensintervall" in str(bars["layout"]["title"])


def test_profile_rank_wording_and_confidence_level():
    at = app("helsefellesskap", {"area": "troms-ofoten", "konf": "99_8"})
    assert_clean(at)
    text = page_text(at)
    assert "99,8 % KI" in text and "1 = best" in text and "1 = høyeste verdi" in text
