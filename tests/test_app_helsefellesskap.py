"""AppTest: the Helsefellesskap profile page (spine chart, trends, kommune map, deck)."""

from __future__ import annotations

import pytest
from ui_helpers import app, assert_clean, deck_specs, figure_titles, page_text, synthetic_banner_shown, warm_engine, warnings_text

pytestmark = pytest.mark.usefixtures("warm_engine")
__all__ = ["warm_engine"]


def test_profile_for_url_area_shows_every_group_as_spine_table():
    at = app("helsefellesskap", {"area": "troms-ofoten"})
    assert_clean(at)
    assert synthetic_banner_shown(at)
    assert at.selectbox(key="hf_area").value == "troms-ofoten"
    html = "\n".join(h.value for h in at.html)
    assert html.count('<table class="spine">') == 5  # four priority groups and Pakkeforløp hjem
    assert "data:image/svg+xml;base64," in html and "alt=" in html
    assert "Troms og Ofoten" in page_text(at)
    titles = figure_titles(at)
    assert sum("utvikling i Troms og Ofoten" in t for t in titles) == 5
    assert deck_specs(at)  # the kommune map
    assert at.query_params["area"] == "troms-ofoten"


def test_switching_helsefellesskap_changes_the_profile():
    at = app("helsefellesskap", {"area": "troms-ofoten"})
    at.selectbox(key="hf_area").set_value("finnmark").run()
    assert_clean(at)
    assert any("utvikling i Finnmark" in t for t in figure_titles(at))
    assert at.query_params["area"] == "finnmark"


def test_year_and_map_indicator_from_url():
    at = app("helsefellesskap", {"area": "bergen", "year": "2023", "indicator": "eldre_reinnleggelse_30d_67"})
    assert_clean(at)
    assert at.selectbox(key="hf_year").value == 2023
    assert at.selectbox(key="hf_indicator").value == "eldre_reinnleggelse_30d_67"
    html = "\n".join(h.value for h in at.html)
    assert ">2023<" in html  # the profile shows 2023 values


@pytest.mark.parametrize("params, fragment", [
    ({"area": "nowhere"}, "ukjent helsefellesskap"),
    ({"year": "abc"}, "ukjent årstall"),
    ({"year": "1850"}, "ukjent årstall"),
    ({"indicator": "x"}, "ukjent indikator"),
    ({"large": "kanskje"}, "ukjent visningsvalg"),
])
def test_bad_url_parameters_fall_back(params, fragment):
    at = app("helsefellesskap", params)
    assert_clean(at)
    assert fragment in warnings_text(at)
    assert '<table class="spine">' in "\n".join(h.value for h in at.html)


def test_deck_button_builds_a_pptx():
    at = app("helsefellesskap", {"area": "troms-ofoten"})
    at.button(key="hf_make_deck").click().run()
    assert_clean(at)
    buttons = [b for b in at.get("download_button")]
    assert any("PowerPoint" in b.proto.label for b in buttons)


def test_public_deployment_does_not_offer_the_deck(monkeypatch):
    """Building a deck costs tens of seconds of CPU; the public read-only app leaves it out."""
    from data_loaders.config import settings

    monkeypatch.setenv("STYRING_PUBLIC", "1")
    settings.cache_clear()
    try:
        at = app("helsefellesskap", {"area": "troms-ofoten"})
        assert_clean(at)
        assert not [b for b in at.button if b.key == "hf_make_deck"]
        assert "interne versjonen" in page_text(at)
    finally:
        settings.cache_clear()
