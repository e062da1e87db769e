"""ui/cohorts.py and the picker's headings: which indicators go under "Pasientgruppen" and which under
"Bruk av tjenester i befolkningen", the cohorts of each group, and the overlap rows as the page reads
them (no store needed)."""

from __future__ import annotations

import polars as pl
import pytest

from indicators import load_catalogue
from ui import cohorts, pickers


@pytest.fixture(scope="module")
def cat():
    catalogue = load_catalogue()
    if not cohorts.cohorts(catalogue):
        pytest.skip("the catalogue declares no cohorts")
    return catalogue


def test_every_indicator_of_a_group_is_under_exactly_one_heading(cat):
    for group in cat.groups:
        population = {i.id for i in cohorts.population_indicators(cat, group.id)}
        cohort = {i.id for c in cohorts.cohorts_of(cat, group.id) for i in cohorts.cohort_indicators(cat, c.id)}
        assert not population & cohort
        assert population | cohort == {i.id for i in cat.in_group(group.id)}, group.id
        for ind in cat.in_group(group.id):
            label = pickers.headed_label(ind)
            heading = pickers.COHORT_HEADING if ind.id in cohort else pickers.POPULATION_HEADING
            assert label == f"{heading}: {ind.name}"


def test_the_picker_keeps_each_heading_together_population_first(cat):
    ordered = pickers.headed_order(cat.in_group("skropelige_eldre"))
    flags = [pickers.cohort_heading(i) for i in ordered]
    assert flags == sorted(flags)  # all False (population) before all True (cohort)
    assert any(flags) and not all(flags)
    assert ordered[0].id == cat.in_group("skropelige_eldre")[0].id  # the group's first indicator stays the default


def test_each_priority_group_has_its_cohorts_and_the_union_first(cat):
    assert [c.id for c in cohorts.cohorts_of(cat, "barn_og_unge")][0] == "barn_og_unge"
    assert len(cohorts.cohorts_of(cat, "barn_og_unge")) == 4  # the union and three utvalg
    assert {c.id for c in cohorts.cohorts_of(cat, "psykisk_helse_rus")} == {"psykisk_lidelse", "rus_tsb"}
    assert cohorts.cohorts_of(cat, "pakkeforlop_hjem") == []
    for cohort in cohorts.cohorts(cat):
        prevalence = cohorts.prevalence_indicator(cat, cohort.id)
        assert prevalence is not None and prevalence.cohort_role == "prevalence"
        assert all(i.cohort_role in ("share", "per_person") for i in cohorts.service_indicators(cat, cohort.id))
    assert [c.id for c in cohorts.overlap_cohorts(cat)] == list(cohorts.OVERLAP_GROUPS)
    assert len(cohorts.overlap_names(cat)) == 4


def test_age_text():
    class Cohort:
        age_min, age_max = 0, 20

    assert cohorts.age_text(Cohort) == "0–20 år"
    Cohort.age_min, Cohort.age_max = 75, None
    assert cohorts.age_text(Cohort) == "75 år og eldre"


def test_overlap_rows_never_keep_a_number_that_is_not_published():
    engine_rows = pl.DataFrame({
        "level": ["helsefellesskap"] * 4, "area_id": ["finnmark"] * 4, "area_name": ["Finnmark"] * 4,
        "year": [2024] * 4, "kind": ["combination", "combination", "union", "group"],
        "id": ["0001", "1111", "union", "skropelige_eldre"], "name": ["a", "b", "c", "d"],
        "persons": [12, 3, 40, 25], "flag": ["ok", "suppressed", "suppressed", "ok"],
    })
    rows = cohorts.normalise_overlap(engine_rows)
    assert rows.columns == list(cohorts.OVERLAP_COLUMNS)
    assert rows["persons"].to_list() == [12, None, None, 25]
    assert rows["combination"].to_list() == ["0001", "1111", "union", "skropelige_eldre"]
