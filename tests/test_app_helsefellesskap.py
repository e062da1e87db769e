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
    from indicators import load_catalogue
    from ui import cohorts

    with_cohort = [g.id for g in load_catalogue().groups if cohorts.cohorts_of(load_catalogue(), g.id)]
    # four priority groups and Pakkeforløp hjem, and "Pasientgruppen" in each group with a cohort
    assert html.count('<table class="spine">') == 5 + len(with_cohort)
    assert [s.value for s in at.subheader].count("Pasientgruppen") == len(with_cohort)
    assert [s.value for s in at.subheader].count("Bruk av tjenester i befolkningen") == len(with_cohort)
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


# --- issue 14: Oslo's hospital sectors, bydeler and the classes by sentralitet ------------------

def _frame_with(at, column):
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_oslo_profile_shows_its_four_hospital_sectors_and_bydeler():
    """Oslo's profile lists OUS, Lovisenberg and Diakonhjemmet, notes that Grorud and Stovner are in
    Ahus's area (SKDE), and shows the bydeler in a table and a tile map with Norwegian names."""
    import indicators
    import polars as pl

    at = app("helsefellesskap", {"area": "oslo", "indicator": "eldre_reinnleggelse_30d_67"})
    assert_clean(at)
    text = page_text(at)
    assert "Oslos sykehussektorer" in text
    assert "Grorud" in text and "Stovner" in text and "Ahus" in text
    sectors = next(f for f in _frame_with(at, "Helseforetaksområde") if "Bydel" not in f.columns)
    assert set(sectors["Helseforetaksområde"]) == {"OUS", "Lovisenberg", "Diakonhjemmet", "Akershus"}
    # The values are the engine's helseforetak level, for the year the kommune map shows.
    ind = indicators.load_catalogue().indicator("eldre_reinnleggelse_30d_67")
    year = max(indicators.available_years(ind.id))
    engine = indicators.compute(ind.id, "helseforetak", years=[year]).filter(pl.col("area_id") == "lovisenberg")
    value_column = next(c for c in sectors.columns if c.startswith("Verdi"))
    shown = sectors[sectors["Helseforetaksområde"] == "Lovisenberg"][value_column].iloc[0]
    assert shown == pytest.approx(engine["value"][0])
    bydeler = next(f for f in _frame_with(at, "Bydel") if "Helseforetaksområde" in f.columns and "Nevner" in f.columns)
    assert len(bydeler) == 18  # 15 bydeler, Sentrum, Marka and "uoppgitt bydel"
    sector_of = dict(zip(bydeler["Bydel"], bydeler["Helseforetaksområde"]))
    assert sector_of["Grorud"] == "Akershus" and sector_of["Frogner"] == "Diakonhjemmet"
    assert sector_of["Gamle Oslo"] == "Lovisenberg" and sector_of["Sagene"] == "OUS"
    assert not any(str(b).startswith("0301") for b in bydeler["Bydel"])  # names, not codes
    assert any(t.startswith("Reinnleggelse 30 d 67+: bydelene i Oslo") for t in figure_titles(at))


def test_other_helsefellesskap_has_no_sector_section_but_sentralitet():
    at = app("helsefellesskap", {"area": "troms-ofoten", "indicator": "eldre_reinnleggelse_30d_67"})
    assert_clean(at)
    text = page_text(at)
    assert "Oslos sykehussektorer" not in text
    assert "Etter sentralitet" in text and "Kommunene i Troms og Ofoten etter sentralitet" in text
    members = next(f for f in _frame_with(at, "Sentralitet") if "Kommune" in f.columns)
    assert len(members) == 24  # the kommuner of Troms og Ofoten (Lødingen included)
    assert set(members["Sentralitet"]) <= {"Sentralitet 1 (mest sentral)", "Sentralitet 2", "Sentralitet 3",
                                           "Sentralitet 4", "Sentralitet 5", "Sentralitet 6 (minst sentral)"}
    # Tromsø (5501) is class 3 in SSB's index (2020, issue 14 appendix), Lødingen (1851) class 6.
    tromso = members[members["Kommune"].str.startswith("Tromsø")]["Sentralitet"].iloc[0]
    lodingen = members[members["Kommune"] == "Lødingen"]["Sentralitet"].iloc[0]
    assert tromso == "Sentralitet 3" and lodingen == "Sentralitet 6 (minst sentral)"
