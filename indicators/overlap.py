"""The overlap between the four priority groups (issue 15), suppressed by the release's machinery.

The catalogue's ``overlap:`` section declares the groups (overlap cohorts, in bit order) and one store
measure per combination: persons in exactly that combination. The overlap is published per
helsefellesskap and for the country (``PUBLISHED_LEVELS``): per kommune most of the 15 combinations
are tiny, and every one would tie the four cohorts' own counts together.

The suppression is a second stage after the catalogue's, like a pooled window after its single
years (``suppress_year``, ``indicators.suppression``): its atoms are the combinations of each
helsefellesskap (a partition of the country); its cells are the atoms, each helsefellesskap's union
(the sum of its 15), the country's combinations and union (sums over the helsefellesskap), and each
group's persons (the sum of the 8 combinations that contain it), which the catalogue has already
published (frozen, hidden where it hid them). So the attacker's relations (a group is the sum of its
combinations, the union the sum of all) are cells of the audit, and no hidden combination, union or
group can be pinned or proven small from everything published.

``overlap_table`` gives, per area of a level and year, the persons in each combination, the union and
each group's size, with hidden counts as null and flag ``suppressed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from indicators.catalogue import Catalogue, Overlap

PUBLISHED_LEVELS = ("helsefellesskap", "land")
KIND_NAMES = {"combination": "kombinasjon", "union": "union", "group": "gruppe"}
_LEVEL_COST = {"helsefellesskap": 5, "land": 7}  # as ``computation._LEVEL_COST``: hide the helsefellesskap first


def prevalence_indicator(catalogue: Catalogue, cohort_id: str) -> str:
    """The catalogue indicator that publishes a group's persons (its prevalence numerator)."""
    for ind in catalogue.indicators:
        if ind.cohort == cohort_id and ind.cohort_role == "prevalence":
            return ind.id
    raise KeyError(f"cohort {cohort_id!r} has no prevalence indicator in the catalogue")


def suppress_year(values: np.ndarray, overlap: Overlap, group_hidden: np.ndarray, threshold: float = 5) -> tuple:
    """Which combinations and unions of one year are hidden (pure).

    ``values``: helsefellesskap x combination persons (combinations in ``overlap.combinations`` order).
    ``group_hidden``: (helsefellesskap + land) x group, whether the catalogue hid that group's persons.
    Returns (combination hidden, union hidden): (helsefellesskap + land) x combination and (helsefellesskap + land),
    the country last.
    """
    from indicators import suppression

    problem, combination_cells, union_cells = overlap_problem(values, overlap, group_hidden, threshold)
    hidden = suppression.effective(problem, problem.hidden)
    hidden[list(suppression.protect(problem))] = True
    return hidden[combination_cells], hidden[union_cells]


def overlap_problem(values: np.ndarray, overlap: Overlap, group_hidden: np.ndarray, threshold: float = 5):
    """The suppression problem of one year (``suppress_year``): (problem, the combinations' cells as
    (helsefellesskap + land) x combination, the unions' cells)."""
    from scipy import sparse

    from indicators import suppression

    n_hf, n_c = values.shape
    n_g = len(overlap.groups)
    atom = np.arange(n_hf * n_c).reshape(n_hf, n_c)
    members = [[c for c, combo in enumerate(overlap.combinations) if combo.contains(g)] for g in range(n_g)]
    cells, cost, frozen, hidden = [], [], [], []

    def cell(atoms, level, is_frozen=False, is_hidden=False):
        cells.append(sorted(int(a) for a in atoms))
        cost.append((_LEVEL_COST[level], float(values.reshape(-1)[cells[-1]].sum()), len(cells)))
        frozen.append(is_frozen)
        hidden.append(is_hidden)
        return len(cells) - 1

    own = np.array([[cell([atom[h, c]], "helsefellesskap") for c in range(n_c)] for h in range(n_hf)])
    union = [cell(atom[h], "helsefellesskap") for h in range(n_hf)]
    land = [cell(atom[:, c], "land") for c in range(n_c)]
    union.append(cell(atom.reshape(-1), "land"))
    for g in range(n_g):  # the groups: published by the catalogue already
        for h in range(n_hf):
            cell(atom[h, members[g]], "helsefellesskap", True, bool(group_hidden[h, g]))
        cell(atom[:, members[g]].reshape(-1), "land", True, bool(group_hidden[n_hf, g]))
    matrix = sparse.csr_matrix((np.ones(sum(len(c) for c in cells)),
                                (np.repeat(np.arange(len(cells)), [len(c) for c in cells]), np.concatenate(cells))),
                               shape=(len(cells), n_hf * n_c))
    problem = suppression.Problem(matrix, values.reshape(-1), threshold, cost, frozen=np.array(frozen),
                                  hidden=np.array(hidden))
    return problem, np.vstack([own, np.array(land)[None, :]]), np.array(union)


def combination_counts(key, overlap: Overlap, years: Sequence[int]) -> pl.DataFrame:
    """year, helsefellesskap_id, measure_id, count: each combination's persons per helsefellesskap, from the
    store's rows of the kommuner (and bydeler) that report the measure that year."""
    from indicators import data

    measures = [c.measure for c in overlap.combinations]
    rows = data.counts(key).filter(pl.col("measure_id").is_in(measures) & pl.col("year").is_in(list(years)))
    covered = data.coverage(key).filter(pl.col("measure_id").is_in(measures))
    units = data.units(key).select(pl.col("unit").alias("kommunenummer"), "helsefellesskap_id")
    return (
        rows.join(covered, on=["measure_id", "year", "kommunenummer"], how="semi")
        .join(units, on="kommunenummer")
        .group_by("year", "helsefellesskap_id", "measure_id").agg(pl.col("count").sum())
    )


def overlap_table(level: str, years: Sequence[int] | None = None, key=None) -> pl.DataFrame:
    """The suppressed overlap of every area of ``level`` (helsefellesskap or land) in ``years`` (default:
    every year with data).

    Columns: level, area_id, area_name, year, kind (combination, union, group), id, name, persons
    (null where hidden), flag (ok, suppressed, not_reported).
    """
    from data_loaders.config import settings
    from data_loaders.reference import NATIONAL_ID, NATIONAL_NAME
    from indicators import data, engine

    key = key or data.current_key()
    catalogue = engine._catalogue(key)
    spec = catalogue.overlap
    if spec is None:
        raise engine.IndicatorRequestError("the catalogue declares no overlap")
    if level not in PUBLISHED_LEVELS:
        raise engine.IndicatorRequestError(
            f"the overlap is not published for level {level!r} (too few persons per area); "
            f"levels: {', '.join(PUBLISHED_LEVELS)}")
    measure_years = data.measure_years(key)
    available = sorted(set.intersection(*(set(measure_years.get(c.measure, ())) for c in spec.combinations)))
    if years:
        missing = sorted(set(years) - set(available))
        if missing:
            span = f"{available[0]}-{available[-1]}" if available else "none"
            raise engine.IndicatorRequestError(
                f"no overlap data in {', '.join(map(str, missing))}; years with data: {span}")
    years = sorted(years or available)
    if not years:
        raise engine.IndicatorRequestError("no overlap data in the store (the overlapp_ measures are missing)")
    names = data.level_names(key, "helsefellesskap").sort("sort_order")
    hf_ids = names["area_id"].to_list()
    area_ids, area_names = [*hf_ids, NATIONAL_ID], [*names["area_name"].to_list(), NATIONAL_NAME]
    groups = _group_sizes(catalogue, years, key)
    counts = combination_counts(key, spec, years)
    measures = [c.measure for c in spec.combinations]
    rows = []
    for year in years:
        part = counts.filter(pl.col("year") == year)
        values = np.zeros((len(hf_ids), len(measures)))
        for hf, measure, count in part.select("helsefellesskap_id", "measure_id", "count").iter_rows():
            if hf in hf_ids:
                values[hf_ids.index(hf), measures.index(measure)] += count
        group_flag = {(a, g): f for a, g, f in groups.filter(pl.col("year") == year)
                      .select("area_id", "cohort", "flag").iter_rows()}
        group_value = {(a, g): v for a, g, v in groups.filter(pl.col("year") == year)
                       .select("area_id", "cohort", "numerator").iter_rows()}
        # a group whose persons the catalogue does not show (hidden or not reported) is a hidden cell here
        group_hidden = np.array([[group_value.get((a, g)) is None for g, _ in spec.groups] for a in area_ids])
        combination_hidden, union_hidden = suppress_year(values, spec, group_hidden, settings().suppression_threshold)
        totals = np.vstack([values, values.sum(axis=0)[None, :]])
        for i, (area_id, area_name) in enumerate(zip(area_ids, area_names)):
            base = ("helsefellesskap" if i < len(hf_ids) else "land", area_id, area_name, year)
            for c, combo in enumerate(spec.combinations):
                hidden = bool(combination_hidden[i, c])
                rows.append((*base, "combination", combo.id, combo.name, None if hidden else totals[i, c],
                             engine.SUPPRESSED if hidden else engine.OK))
            hidden = bool(union_hidden[i])
            rows.append((*base, "union", "union", spec.union_name, None if hidden else totals[i].sum(),
                         engine.SUPPRESSED if hidden else engine.OK))
            for g, name in spec.groups:
                rows.append((*base, "group", g, name, group_value.get((area_id, g)), group_flag.get((area_id, g), engine.NOT_REPORTED)))
    table = pl.DataFrame(rows, orient="row", schema={
        "level": pl.String, "area_id": pl.String, "area_name": pl.String, "year": pl.Int32, "kind": pl.String,
        "id": pl.String, "name": pl.String, "persons": pl.Float64, "flag": pl.String,
    }).with_columns(pl.col("persons").round().cast(pl.Int64))
    return table.filter(pl.col("level") == level)


def _group_sizes(catalogue: Catalogue, years: Sequence[int], key) -> pl.DataFrame:
    """area_id, year, cohort, numerator, flag: each group's persons as the catalogue publishes them
    (its prevalence indicator's numerator), per helsefellesskap and for the country."""
    from indicators import engine

    frames = []
    for cohort_id, _ in catalogue.overlap.groups:
        indicator_id = prevalence_indicator(catalogue, cohort_id)
        for level in PUBLISHED_LEVELS:
            table = engine.compute(indicator_id, level, years=list(years), key=key)
            frames.append(table.filter(pl.col("year_start") == pl.col("year_end")).select(
                "area_id", pl.col("year_start").cast(pl.Int32).alias("year"), pl.lit(cohort_id).alias("cohort"),
                pl.col("numerator").cast(pl.Float64), "flag"))
    return pl.concat(frames)
