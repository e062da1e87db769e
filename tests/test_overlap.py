"""The overlap between the four priority groups: catalogue, relations, suppression and the CLI export.

The pure parts (the section's parser, the relations handed to the suppression, the table's
assembly) run on hand-made inputs; the export runs once on the shared demo store through the CLI
and is checked against the store's own rows (the truth), not against the engine.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators import computation, overlap, suppression
from indicators.catalogue import CatalogueError, load_catalogue, parse_catalogue
from tests.test_suppression import assert_protected

GROUPS = ("barn_og_unge", "psykisk_lidelse", "skropelige_eldre", "multimorbiditet")


def test_the_overlap_section_declares_four_groups_and_fifteen_combinations():
    catalogue = load_catalogue()
    spec = catalogue.overlap
    assert tuple(g for g, _ in spec.groups) == GROUPS
    assert all(name and name[0].isupper() for _, name in spec.groups)
    ids = [c.id for c in spec.combinations]
    assert len(ids) == len(set(ids)) == 15 and "0000" not in ids
    assert {c.measure for c in spec.combinations} == {f"overlapp_{i}" for i in ids}
    for position, group in enumerate(GROUPS):
        assert len(spec.containing(group)) == 8
        assert all(c.id[position] == "1" for c in spec.containing(group))
    assert spec.definition and spec.source and spec.union_name


def _raw_catalogue():
    import yaml

    return yaml.safe_load(Path(load_catalogue().path).read_text("utf-8"))


@pytest.mark.parametrize("breakage, message", [
    (lambda o: o["combinations"].pop(), "missing"),
    (lambda o: o["combinations"].append(dict(o["combinations"][0])), "once each"),
    (lambda o: o["groups"][0].update(cohort="rus_tsb"), "overlap_group"),
    (lambda o: o.pop("source"), "'source'"),
])
def test_a_broken_overlap_section_is_refused_naming_the_field(breakage, message):
    raw = _raw_catalogue()
    breakage(raw["overlap"])
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(raw, Path("catalogue.yaml"), 5)


def test_the_relations_tie_each_group_to_its_combinations():
    """Where indicators count the combinations (all ages) and a group's persons, the suppression is told
    that the group is the sum of the 8 combinations that contain it, and they form one block."""
    from indicators.catalogue import Indicator, Standardisation, Term

    catalogue = load_catalogue()
    spec = catalogue.overlap

    def ind(i, numerator, cohort=None):
        return Indicator(id=i, name=i, short_name=i, description="", group="", type="proportion",
                         numerator=numerator, denominator=Term(label="", population=True), unit="percent",
                         direction="neutral", standardisation=Standardisation("none"), source="",
                         suppression_threshold=5, cohort=cohort, cohort_role="prevalence" if cohort else None)

    combos = [ind(c.id, Term(label="", measure=c.measure)) for c in spec.combinations]
    groups = []
    for g in GROUPS:
        cohort = catalogue.cohort(g)
        groups.append(ind(g, Term(label="", measure=cohort.measure, age_min=cohort.age_min, age_max=cohort.age_max), g))
    equalities, _ = computation.count_relations(combos + groups, spec)
    totals = {total[0]: parts for total, parts in equalities}
    for g in GROUPS:
        assert {p[0] for p in totals[catalogue.cohort(g).measure]} == {c.measure for c in spec.containing(g)}
    assert len(computation.count_groups(combos + groups, [(t, *p) for t, p in equalities])) == 1
    assert len(computation.count_groups(combos + groups)) == 19


def test_persons_with_an_event_are_bounded_by_the_events():
    from indicators.catalogue import Indicator, Standardisation, Term

    def ind(i, measure):
        return Indicator(id=i, name=i, short_name=i, description="", group="", type="rate",
                         numerator=Term(label="", measure=measure), denominator=Term(label="", measure="kohort_x"),
                         unit="per_person", direction="neutral", standardisation=Standardisation("none"), source="",
                         suppression_threshold=5)

    _, bounds = computation.count_relations([ind("a", "kohort_x__svc_personer"), ind("b", "kohort_x__svc_hendelser")])
    assert [(s[0], b[0]) for s, b in bounds] == [("kohort_x__svc_personer", "kohort_x__svc_hendelser")]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=2, max_value=6), st.integers(0, 2**31), st.booleans())
def test_the_overlap_stage_resists_the_lp_attacker(n_hf, seed, hide_a_group):
    """Random helsefellesskap with many small combinations: the outsider (``tests.attacker``) who knows
    every published combination, union and group (a group is the sum of its combinations) can neither
    narrow a hidden count of 1-4 below 5 nor pin any hidden cell."""
    spec = load_catalogue().overlap
    rng = np.random.default_rng(seed)
    values = rng.choice([0, 1, 2, 3, 4, 6, 15, 60], size=(n_hf, 15)).astype(float)
    group_hidden = np.zeros((n_hf + 1, 4), dtype=bool)
    if hide_a_group:
        group_hidden[0, 1] = True
    problem, combination_cells, union_cells = overlap.overlap_problem(values, spec, group_hidden)
    reasons = suppression.protect(problem)
    hidden = {int(c) for c in np.flatnonzero(problem.hidden)} | set(reasons)
    small = {int(c) for c in combination_cells.reshape(-1) if 0 < problem.values[c] < 5}
    assert small <= hidden
    assert_protected(problem, {c: "x" for c in hidden})
    combination_hidden, union_hidden = overlap.suppress_year(values, spec, group_hidden)
    assert {int(c) for c in combination_cells[combination_hidden]} == {int(c) for c in combination_cells.reshape(-1)} & hidden
    # a shown union is the sum of its combinations; where they are all shown it is shown
    for h in range(n_hf):
        if not combination_hidden[h].any() and not hide_a_group:
            assert not union_hidden[h]


# --- the export on the demo store ---------------------------------------------------------------


def _store_rows(database_url: str, measures: list[str]) -> pl.DataFrame:
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        marks = ",".join("?" * len(measures))
        return pl.read_database(
            f"SELECT measure_id, year, kommunenummer, age_band, count FROM event_count WHERE measure_id IN ({marks})",
            db, execute_options={"parameters": measures})


@pytest.fixture(scope="module")
def exported(demo_database_url, tmp_path_factory):
    """The CLI's csv-plain export of both levels for the last year with overlap data."""
    from indicators import __main__ as cli
    from indicators import data

    spec = load_catalogue().overlap
    measures = data.measure_years(data.current_key())
    if not all(c.measure in measures for c in spec.combinations):
        pytest.skip("the demo store has no overlap measures")
    year = max(measures[spec.combinations[0].measure])
    directory = tmp_path_factory.mktemp("overlap")
    out = {}
    for level in ("helsefellesskap", "land"):
        path = directory / f"{level}.csv"
        assert cli.main(["overlap", "--level", level, "--years", str(year), "--format", "csv-plain",
                         "--out", str(path)]) == 0
        out[level] = pl.read_csv(path, comment_prefix="#", infer_schema_length=0)
    return year, out


def test_the_export_has_every_combination_the_union_and_the_groups(exported):
    year, tables = exported
    table = tables["helsefellesskap"]
    assert {"definisjon", "kilde", "syntetiske_data", "personer", "flagg", "kombinasjon"} <= set(table.columns)
    assert set(table["aar"].unique()) == {str(year)}
    per_area = table.group_by("omraade_id").agg(pl.len().alias("n"))
    assert set(per_area["n"].to_list()) == {20}
    assert table["syntetiske_data"].unique().to_list() == ["ja"]
    assert tables["land"]["omraade_id"].n_unique() == 1


def test_the_shown_combinations_sum_to_the_union_and_to_each_group(exported):
    _, tables = exported
    spec = load_catalogue().overlap
    checked = 0
    for table in tables.values():
        table = table.with_columns(pl.col("personer").cast(pl.Int64))
        for _, area in table.group_by("omraade_id"):
            combos = area.filter(pl.col("rad") == "kombinasjon")
            union = area.filter(pl.col("rad") == "union")
            if (combos["flagg"] == "ok").all():
                assert union["flagg"].item() == "ok"
                assert union["personer"].item() == combos["personer"].sum()
                by_id = dict(zip(combos["kombinasjon_id"], combos["personer"]))
                for g, _ in spec.groups:
                    group = area.filter((pl.col("rad") == "gruppe") & (pl.col("kombinasjon_id") == g))
                    if group["flagg"].item() == "ok":
                        assert group["personer"].item() == sum(by_id[c.id] for c in spec.containing(g))
                checked += 1
            elif union["flagg"].item() == "ok":  # the hidden combinations hold the rest, none of it negative
                assert union["personer"].item() >= combos["personer"].sum()
    assert checked > 0


def test_the_export_matches_the_store_and_hides_its_small_counts(exported, demo_database_url):
    year, tables = exported
    spec = load_catalogue().overlap
    rows = _store_rows(demo_database_url, [c.measure for c in spec.combinations])
    truth = rows.filter(pl.col("year") == year).group_by("measure_id").agg(pl.col("count").sum())
    national = dict(zip(truth["measure_id"], truth["count"]))
    land = tables["land"].filter(pl.col("rad") == "kombinasjon")
    assert (land["flagg"] == "ok").sum() >= 10
    for c_id, persons, flag in land.select("kombinasjon_id", "personer", "flagg").iter_rows():
        if flag == "ok":
            assert int(persons) == national.get(f"overlapp_{c_id}", 0)
    for table in tables.values():
        hidden = table.filter(pl.col("flagg") == "suppressed")
        assert hidden["personer"].is_null().all()
        shown = table.filter(pl.col("flagg") == "ok").with_columns(pl.col("personer").cast(pl.Int64))
        assert shown.filter(pl.col("personer").is_between(1, 4)).height == 0, "no count of 1-4 is shown"


def test_the_overlap_is_not_published_per_kommune(exported, capsys):
    from indicators import __main__ as cli

    assert cli.main(["overlap", "--level", "kommune", "--years", str(exported[0])]) == 2
    assert "not published for level 'kommune'" in capsys.readouterr().err


def test_the_json_export_carries_the_metadata(exported):
    import json

    from indicators import overlap
    from outputs import overlap_export

    content, _, _ = overlap_export.export_bytes(overlap.overlap_table("land", [exported[0]]), "json")
    parsed = json.loads(content)
    assert parsed["metadata"]["definisjon"] == load_catalogue().overlap.definition
    assert parsed["metadata"]["syntetiske_data"] == "ja"
    assert len(parsed["data"]) == 20
