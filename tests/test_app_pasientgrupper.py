"""AppTest: the Pasientgrupper page (the priority groups' cohorts: size, variation, services per person,
sentralitet, the overlap between the groups, and the group's population-rate indicators)."""

from __future__ import annotations

import itertools

import polars as pl
import pytest
import streamlit as st
from ui_helpers import app, assert_clean, figure_titles, page_text, warm_engine, warnings_text

from indicators import load_catalogue
from ui import cohorts

pytestmark = pytest.mark.usefixtures("warm_engine")
__all__ = ["warm_engine"]

COHORT_GROUPS = ("barn_og_unge", "psykisk_helse_rus", "skropelige_eldre", "flere_kroniske")


def _headers(at) -> list[str]:
    return [h.value for h in at.header]


def _html(at) -> str:
    return "\n".join(h.value for h in at.html)


def _frames(at, column: str) -> list:
    """The page's tables (pandas) that have ``column``, in page order (AppTest gives dataframes no keys)."""
    return [df.value for df in at.dataframe if column in df.value.columns]


def _links(at) -> list[dict]:
    return [{"label": el.proto.label, "page": el.proto.page, "query": el.proto.query_string}
            for el in at.get("page_link")]


@pytest.mark.parametrize("group", COHORT_GROUPS)
def test_each_group_opens_with_its_cohort_then_the_population_indicators(group):
    at = app("pasientgrupper", {"group": group, "area": "finnmark"})
    assert_clean(at)
    cat = load_catalogue()
    cohort = cohorts.cohorts_of(cat, group)[0]
    headers = _headers(at)
    assert headers.index("Pasientgruppen") < headers.index("Bruk av tjenester i befolkningen")
    text = page_text(at)
    assert cohort.name in text and cohort.source in text  # the definition card
    prevalence = cohorts.prevalence_indicator(cat, cohort.id)
    assert any(f"{prevalence.short_name}: helsefellesskap rangert" in t for t in figure_titles(at))
    assert '<table class="spine">' in _html(at)  # the per-person profile against the country
    assert any("etter sentralitet" in t for t in figure_titles(at))
    # the population-rate indicators of the group, each a link to Oversikt
    links = [link for link in _links(at) if "indicator=" in link["query"]]
    assert len(links) == len(cohorts.population_indicators(cat, group))
    assert all(link["page"] == "" for link in links)  # Oversikt, the default page
    assert {link["query"].split("indicator=")[1].split("&")[0] for link in links} == {
        i.id for i in cohorts.population_indicators(cat, group)}
    assert at.query_params["group"] == group and at.query_params["area"] == "finnmark"
    assert not at.warning


def test_barn_og_unge_shows_its_three_utvalg_and_the_union():
    at = app("pasientgrupper", {"group": "barn_og_unge", "area": "finnmark"})
    assert_clean(at)
    sizes = _frames(at, "Pasientgruppe")[0]
    cat = load_catalogue()
    assert list(sizes["Pasientgruppe"]) == [c.name for c in cohorts.cohorts_of(cat, "barn_og_unge")]
    assert len(sizes) == 4 and sizes["Pasientgruppe"].iloc[0] == cohorts.cohort_by_id(cat, "barn_og_unge").name
    # the union counts each person once: at least as many as the largest utvalg, at most their sum
    persons = [int(v.replace("\u2009", "")) for v in sizes["Personer, hele landet"]]
    assert max(persons[1:]) <= persons[0] <= sum(persons[1:])
    at.selectbox(key="pg_cohort").set_value("barn_psykisk").run()
    assert_clean(at)
    assert at.query_params["cohort"] == "barn_psykisk"
    psykisk = cohorts.prevalence_indicator(cat, "barn_psykisk")
    assert any(t.startswith(f"{psykisk.short_name}: helsefellesskap rangert") for t in figure_titles(at))


def test_pakkeforlop_has_no_cohort_and_points_to_its_page():
    at = app("pasientgrupper", {"group": "pakkeforlop_hjem"})
    assert_clean(at)
    assert "ingen pasientgruppe" in "\n".join(i.value for i in at.info)
    assert any("pakkeforlop" in link["page"] for link in _links(at))
    assert "Bruk av tjenester i befolkningen" in _headers(at)


@pytest.mark.parametrize("params, fragment", [
    ({"group": "ingen"}, "en ukjent prioritert gruppe"),
    ({"group": "barn_og_unge", "cohort": "voksne"}, "et ukjent utvalg"),
    ({"area": "atlantis"}, "et ukjent helsefellesskap"),
    ({"year": "1850"}, "et ukjent årstall"),
    ({"indicator": "finnes_ikke"}, "en ukjent indikator"),
    ({"konf": "50"}, "et ukjent konfidensnivå"),
])
def test_bad_url_parameters_give_a_friendly_message(params, fragment):
    at = app("pasientgrupper", params)
    assert_clean(at)
    assert fragment in warnings_text(at)
    assert "Pasientgruppen" in _headers(at)  # the page still opens, with the default


def _fake_overlap(hidden: set[str]) -> pl.DataFrame:
    """An overlap as ``cohorts.load_overlap`` gives it: 15 combinations, the union and the four groups."""
    combinations = ["".join(b) for b in itertools.product("01", repeat=4) if "1" in b]
    rows = []
    for area_id in ("finnmark", cohorts.LAND_ID):
        for n, combination in enumerate(combinations):
            hide = combination in hidden
            rows.append({"area_id": area_id, "area_name": area_id, "kind": "combination", "combination": combination,
                         "persons": None if hide else 10 * (n + 1), "flag": "suppressed" if hide else "ok"})
        rows.append({"area_id": area_id, "area_name": area_id, "kind": "union", "combination": "union",
                     "persons": None, "flag": "suppressed"})
        for g, group in enumerate(cohorts.OVERLAP_GROUPS):
            rows.append({"area_id": area_id, "area_name": area_id, "kind": "group", "combination": group,
                         "persons": 1000 * (g + 1), "flag": "ok"})
    return pl.DataFrame(rows, schema_overrides={"persons": pl.Int64})


def test_suppressed_overlap_cells_are_shown_as_hidden_never_as_zero(monkeypatch):
    hidden = {"1111", "1011", "0110"}
    monkeypatch.setattr(cohorts, "load_overlap", lambda key, level, year: _fake_overlap(hidden))
    st.cache_data.clear()
    try:
        at = app("pasientgrupper", {"group": "skropelige_eldre", "area": "finnmark"})
        assert_clean(at)
        overlap_tables = _frames(at, "Kombinasjon")
        assert len(overlap_tables) == 2  # the helsefellesskap and the country
        for table in overlap_tables:
            assert len(table) == 15
            shown_hidden = table[table["Personer"] == ": skjult"]
            assert len(shown_hidden) == len(hidden)
            assert "0" not in set(table["Personer"])
        # the union is hidden too (it would reveal the hidden combinations)
        assert any(m.label.startswith("Personer i minst én") and m.value == ": skjult" for m in at.metric)
        titles = figure_titles(at)
        assert any(t.startswith("Overlapp mellom de fire pasientgruppene: Finnmark") for t in titles)
    finally:
        st.cache_data.clear()


def test_overlap_from_the_engine_matches_the_table_twin():
    """Every cell of the overlap as the engine publishes it is in the table twin: hidden ones as ": skjult"."""
    cat = load_catalogue()
    import indicators

    key = indicators.current_key()
    year = max(indicators.available_years(cohorts.prevalence_indicator(cat, "skropelige_eldre").id, key))
    engine = cohorts.load_overlap(key, "helsefellesskap", year)
    if engine is None:
        pytest.skip("the engine has no overlap for this store")
    at = app("pasientgrupper", {"group": "skropelige_eldre", "area": "finnmark", "year": str(year)})
    assert_clean(at)
    table = _frames(at, "Kombinasjon")[0]
    names = cohorts.overlap_names(cat)
    from ui import upset

    expected = {upset.combination_name(r["combination"], names): r["persons"]
                for r in engine.filter((pl.col("area_id") == "finnmark") & (pl.col("kind") == "combination"))
                .iter_rows(named=True)}
    assert len(table) == len(expected) == 15
    for name, shown in zip(table["Kombinasjon"], table["Personer"]):
        if expected[name] is None:
            assert shown == ": skjult"
        else:
            assert int(shown.replace("\u2009", "")) == expected[name]


def test_om_dataene_gives_each_cohort_its_definition_and_source():
    at = app("om_dataene")
    assert_clean(at)
    frame = _frames(at, "Definisjon")[0]
    cat = load_catalogue()
    assert list(frame["Pasientgruppe"]) == [c.name for c in cat.cohorts]
    for cohort, definition, source in zip(cat.cohorts, frame["Definisjon"], frame["Kilde"]):
        assert definition == " ".join(cohort.definition.split())
        assert source == cohort.source
    assert "Pasientgruppene" in [h.value for h in at.header]
