"""AppTest: the Om dataene page, the navigation frame and the URL state helpers."""

from __future__ import annotations

import pytest
from ui_helpers import PROJECT_ROOT, app, assert_clean, page_text, synthetic_banner_shown, warnings_text

from ui import state


def test_catalogue_method_provenance_and_attribution():
    at = app("om_dataene")
    assert_clean(at)
    assert synthetic_banner_shown(at)
    text = page_text(at)
    for fragment in ("Anonymisering", "Standardisering", "Norges befolkning", "Kartverket", "CC BY 4.0", "Haram",
                     "Datagrunnlag og versjoner", "Faste treårsperioder", "Sekundær"):
        assert fragment.lower() in text.lower(), fragment
    import indicators

    n = len(indicators.load_catalogue().indicators)
    assert len(at.expander) >= n
    assert len(at.dataframe) >= 2  # the catalogue overview and the provenance table


def test_indicator_param_opens_its_definition():
    at = app("om_dataene", {"indicator": "kreft_sp1_behovskartlegging"})
    assert_clean(at)
    assert not at.warning or "ukjent" not in warnings_text(at)
    assert at.query_params["indicator"] == "kreft_sp1_behovskartlegging"


def test_unknown_indicator_param():
    at = app("om_dataene", {"indicator": "nope"})
    assert_clean(at)
    assert "ukjent indikator" in warnings_text(at)


def test_no_pages_directory_next_to_the_entry_point():
    # A pages/ folder beside dashboard.py switches Streamlit to the old multipage mode on a fresh
    # server, which runs a page without dashboard.py (no banner, no frame) for direct links.
    assert not (PROJECT_ROOT / "pages").exists()


@pytest.mark.parametrize("text, expected", [("2024", (2024, 2024)), ("2023-2025", (2023, 2025)),
                                            ("2023–2025", (2023, 2025)), (" 2022 ", (2022, 2022))])
def test_parse_period(text, expected):
    assert state.parse_period(text) == expected


@pytest.mark.parametrize("text", ["abc", "2025-2023", "20245", "", "2024-"])
def test_parse_period_rejects(text):
    with pytest.raises(ValueError):
        state.parse_period(text)


def test_period_text_round_trip():
    for period in [(2024, 2024), (2023, 2025)]:
        assert state.parse_period(state.period_text(period)) == period

