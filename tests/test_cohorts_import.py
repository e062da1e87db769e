"""Register import of cohort measures: the relations are validated, a breach rejects the whole
file naming file, row and column, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data_loaders.importers import import_files
from data_loaders.importers.validation import cohort_relation_problems, overlap_sums, persons_events_pairs
from indicators.catalogue import load_catalogue
from tests.pg import backend_engine, pg_provider, sqlite_template  # noqa: F401  (fixtures)
from tests.test_importers import FIX, assert_problem, counts, fails

REGISTER = FIX / "register"
ORDER = ["barn_og_unge", "psykisk_lidelse", "skropelige_eldre", "multimorbiditet"]


# --------------------------------------------------------------------------- pure functions


def test_overlap_sums_follow_the_bit_order():
    sums = overlap_sums(ORDER)
    assert len(sums["psykisk_lidelse"]) == 8  # half of the 16 combinations, none of them empty
    assert "overlapp_0100" in sums["psykisk_lidelse"] and "overlapp_0101" in sums["psykisk_lidelse"]
    assert "overlapp_1000" not in sums["psykisk_lidelse"]
    assert sums["multimorbiditet"][0] == "overlapp_0001" and sums["barn_og_unge"][-1] == "overlapp_1111"
    every = {m for combos in sums.values() for m in combos}
    assert len(every) == 15


def test_persons_events_pairs_need_both_sides():
    measures = ["kohort_x__innlagt_personer", "kohort_x__innlagt_hendelser", "kohort_x__legevakt_personer", "kohort_x"]
    assert persons_events_pairs(measures) == [("kohort_x__innlagt_personer", "kohort_x__innlagt_hendelser")]


def _cells(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(m, 2024, "0301", "male", band, c, i + 2) for i, (m, band, c) in enumerate(rows)],
        schema={"measure_id": pl.String, "year": pl.Int32, "kommunenummer": pl.String, "sex": pl.String,
                "age_band": pl.String, "count": pl.Float64, "_row": pl.Int64},
        orient="row",
    )


def test_a_cohort_without_any_combination_row_is_a_breach():
    """Zero rows may be left out, so a missing combination counts 0 and the cohort must be 0 too."""
    cells = _cells([("kohort_psykisk_lidelse", "30-34", 7.0), ("overlapp_0100", "25-29", 3.0),
                    ("kohort_psykisk_lidelse", "25-29", 3.0)])
    problems, total = cohort_relation_problems(cells, ORDER, {g: f"kohort_{g}" for g in ORDER}, "f.csv")
    assert total == 1
    assert problems[0].row == 2 and "sum to 0" in problems[0].message and "30-34" in problems[0].message


def test_a_combination_without_its_cohort_row_blames_the_combination():
    cells = _cells([("kohort_skropelige_eldre", "80-84", 5.0), ("overlapp_0010", "80-84", 5.0),
                    ("overlapp_0011", "85-89", 2.0)])
    problems, total = cohort_relation_problems(cells, ORDER, {g: f"kohort_{g}" for g in ORDER}, "f.csv")
    assert total == 1 and problems[0].row == 4 and "kohort_skropelige_eldre = 0" in problems[0].message


def test_combinations_are_checked_only_where_the_file_has_both_sides():
    only_cohort = _cells([("kohort_psykisk_lidelse", "30-34", 7.0)])
    assert cohort_relation_problems(only_cohort, ORDER, {g: f"kohort_{g}" for g in ORDER}, "f.csv") == ([], 0)


# --------------------------------------------------------------------------- imports


def test_consistent_cohort_file_imports(backend_engine):
    import_files([REGISTER / "cohort_ok.csv"], "register", engine=backend_engine)
    stored = counts(backend_engine, "kohort_psykisk_lidelse")
    assert stored["count"].to_list() == [40.0]
    overlap = sum(counts(backend_engine, m)["count"].sum() for m in ("overlapp_0100", "overlapp_0101"))
    assert overlap == 40.0


def test_overlap_not_summing_to_the_cohort_is_rejected(backend_engine):
    error = fails(backend_engine, [REGISTER / "cohort_overlap_sum.csv"], "register")
    # kohort_psykisk_lidelse (row 2) is 40 but 31 + 8; kohort_multimorbiditet (row 3) is 12 but 8 + 3.
    assert_problem(error, "cohort_overlap_sum.csv", 2, "count", "kohort_psykisk_lidelse = 40 but the overlap combinations")
    assert_problem(error, "cohort_overlap_sum.csv", 2, "count", "sum to 39")
    assert_problem(error, "cohort_overlap_sum.csv", 3, "count", "kohort_multimorbiditet = 12")
    assert len(error.problems) == 2


def test_persons_above_events_is_rejected(backend_engine):
    error = fails(backend_engine, [REGISTER / "cohort_persons_above_events.csv"], "register")
    assert_problem(error, "cohort_persons_above_events.csv", 9, "count",
                   "kohort_barn_og_unge__innlagt_personer = 14 is above kohort_barn_og_unge__innlagt_hendelser = 11")


def test_persons_with_an_event_above_the_cohort_is_rejected(backend_engine):
    error = fails(backend_engine, [REGISTER / "cohort_persons_above_cohort.csv"], "register")
    assert_problem(error, "cohort_persons_above_cohort.csv", 9, "count",
                   "kohort_barn_og_unge__innlagt_personer = 61 is above kohort_barn_og_unge = 60")


def test_cohort_above_its_population_band_is_rejected(backend_engine, tmp_path):
    import_files([FIX / "ssb" / "07459_ok.csv"], "ssb-csv", engine=backend_engine)
    path = tmp_path / "too_many.csv"
    path.write_text("year,kommunenummer,sex,age_band,measure_id,count\n"
                    "2024,5501,female,80-84,kohort_skropelige_eldre,3\n"
                    "2024,5501,male,30-34,kohort_psykisk_lidelse,100000\n")
    error = fails(backend_engine, [path], "register")
    assert_problem(error, "too_many.csv", 3, "count", "kohort_psykisk_lidelse = 100000 is above the population")


def test_every_cohort_relation_the_importer_relies_on_is_in_the_catalogue():
    """Persons with an event are divided by the cohort, and the cohort by its population, so the
    ratio check covers those two relations; the overlap groups are the four of the interface."""
    catalogue = load_catalogue()
    assert [c.id for c in catalogue.cohorts if c.overlap_group] == ORDER
    for cohort in catalogue.cohorts:
        prevalence = [i for i in catalogue.indicators if i.cohort == cohort.id and i.cohort_role == "prevalence"]
        assert len(prevalence) == 1 and prevalence[0].denominator.population
    for measure in catalogue.measures:
        if measure.startswith("kohort_") and measure.endswith("_personer"):
            cohort_measure = measure.split("__")[0]
            assert any(i.numerator.measure == measure and i.denominator.measure == cohort_measure
                       and i.type == "proportion" for i in catalogue.indicators), measure


def test_register_fixture_generator_matches_the_files(tmp_path):
    """The cohort fixtures are written by make_fixtures.py (so they can be regenerated)."""
    from tests.test_importers import make_fixtures

    original = make_fixtures.HERE
    try:
        make_fixtures.HERE = Path(tmp_path)
        make_fixtures.write_cohort_register()
    finally:
        make_fixtures.HERE = original
    for path in sorted((tmp_path / "register").iterdir()):
        assert path.read_text() == (REGISTER / path.name).read_text(), path.name
