"""The whole catalogue in one vectorised pass: store frames -> one internal table.

For every indicator, period (single years and the pooled windows) and area of every
suppression level the table holds the raw counts, the statistics from
``indicators.methods`` and the suppression reason. Nothing here is public: the engine
(``indicators.engine``) flags and masks the rows before anything leaves the package.

The steps:

1. ``_cube``: the store as dense arrays (measure x year x kommune x band, band = sex and age
   band), by scatter-adding its rows once.
2. ``_kommune_cells``: per indicator, numerator and denominator per period x kommune x band,
   over the kommune-years where every measure of the indicator is covered.
3. ``_area_sums``: every level as sums of kommuner (a membership matrix); expected counts from
   the national band rates; the band sums the directly standardised rate needs.
4. ``_statistics`` and ``_significance``: crude rates (exact/Byar), proportions (Wilson), DSRs
   (Dobson) and significance against the national value, one call of each method per unit.
5. ``_suppression``: primary and secondary suppression per indicator period, single years
   first (or taken as already published, ``Request.single_year_masks``), then each pooled
   window audited together with its single years.

Inside, keys are small integers: ``pid`` numbers an indicator period, ``area`` an area of any
level, ``k`` a kommune. Names come back at the end (``_named``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from data_loaders.reference import NATIONAL_ID, NATIONAL_NAME
from data_loaders.schema import AGE_BAND_LABELS, SEXES
from indicators import data, methods, suppression
from indicators.catalogue import Indicator
from indicators.periods import Period
from indicators.suppression import FORCED, SECONDARY, Relation, count_cost, suppress

SUPPRESSION_LEVELS = ("kommune", "helsefellesskap", "rhf", "fylke", "land")
RHF_ORDER = ("Helse Nord RHF", "Helse Midt-Norge RHF", "Helse Vest RHF", "Helse Sør-Øst RHF")
# Extra masks fall on kommuner before the totals that users read most.
_MASK_ORDER = {"kommune": 0, "fylke": 1, "helsefellesskap": 2, "rhf": 3, "land": 4}

_STATISTICS = ("value", "lower_95", "upper_95", "lower_99_8", "upper_99_8")


@dataclass(frozen=True)
class Request:
    """What to compute: the indicators, their periods and their standard populations (sex, age_band, weight)."""

    indicators: tuple[Indicator, ...]
    periods: dict[str, tuple[Period, ...]]
    standards: dict[str, pl.DataFrame]  # indicator_id -> its standard population (standardised ones)
    # The masks of single years already suppressed and published (indicator_id, year_start, level,
    # area_id, suppression); None: suppress the single years here.
    single_year_masks: pl.DataFrame | None = None


def catalogue_table(key: data.DataKey, request: Request) -> pl.DataFrame:
    """The internal table: one row per indicator, period, level and area (see the module docstring)."""
    indicators = [ind for ind in request.indicators if request.periods.get(ind.id)]
    if not indicators:
        return pl.DataFrame()
    periods = _periods(indicators, request.periods)
    areas = _areas(key)
    cube = _cube(key, areas.kommuner)
    cells = _kommune_cells(cube, indicators, request.periods)
    sums = _area_sums(cells, areas, request.standards)
    info = _indicator_info(indicators, periods)
    table = _statistics(sums, info)
    table = _significance(table, areas.info, info)
    masks = _suppression(key, table, indicators, periods, areas.info, request.single_year_masks)
    table = table.join(masks, on=["pid", "area"], how="left")
    return _named(table, periods, areas.info)


# --- the catalogue, the periods and the areas as tables ----------------------------------------


def _periods(indicators: Sequence[Indicator], periods: dict[str, tuple[Period, ...]]) -> pl.DataFrame:
    """pid, indicator_id, year_start, year_end, period (label): one row per indicator period, in request order."""
    rows = [(ind.id, p.start, p.end, p.label) for ind in indicators for p in periods[ind.id]]
    return pl.DataFrame(
        rows, orient="row",
        schema={"indicator_id": pl.String, "year_start": pl.Int32, "year_end": pl.Int32, "period": pl.String},
    ).with_row_index("pid")


def _indicator_info(indicators: Sequence[Indicator], periods: pl.DataFrame) -> pl.DataFrame:
    """Per pid: the indicator's type, unit multiplier, direction, standardisation and threshold."""
    info = pl.DataFrame({
        "indicator_id": [i.id for i in indicators],
        "type": [i.type for i in indicators],
        "multiplier": [float(i.multiplier) for i in indicators],
        "direction": [i.direction for i in indicators],
        "standardised": [i.is_standardised for i in indicators],
        "threshold": [float(i.suppression_threshold) for i in indicators],
        "sensitive_denominator": [i.denominator_is_sensitive for i in indicators],
    })
    return periods.select("pid", "indicator_id", "year_start", "year_end").join(info, on="indicator_id")


@dataclass(frozen=True)
class _Areas:
    info: pl.DataFrame  # area (code), level, area_id, area_name, sort_order, total_kommuner
    kommuner: pl.DataFrame  # kommunenummer, k (the kommune's code, also its area code)
    members: np.ndarray  # kommune x area above the kommune level: 1 where the kommune belongs to it


def _areas(key: data.DataKey) -> _Areas:
    """Every area of every suppression level, coded (kommuner first, in the order of their codes k)."""
    kommuner = data.areas(key).with_row_index("k")
    columns = {
        "kommune": pl.col("kommunenummer"),
        "helsefellesskap": pl.col("helsefellesskap_id"),
        "rhf": pl.col("rhf"),
        "fylke": pl.col("fylkesnummer"),
        "land": pl.lit(NATIONAL_ID),
    }
    membership = pl.concat(
        kommuner.select(pl.lit(level).alias("level"), column.alias("area_id"), "k") for level, column in columns.items()
    )
    names = pl.concat(area_names(key, level).with_columns(pl.lit(level).alias("level")) for level in SUPPRESSION_LEVELS)
    info = (
        names.with_row_index("area")
        .join(membership.group_by("level", "area_id").agg(pl.len().alias("total_kommuner")), on=["level", "area_id"], how="left")
        .with_columns(pl.col("total_kommuner").fill_null(0))
    )
    n_kommuner = kommuner.height
    above = membership.join(info.select("level", "area_id", "area"), on=["level", "area_id"]).filter(pl.col("level") != "kommune")
    members = np.zeros((n_kommuner, info.height - n_kommuner))
    members[above["k"].to_numpy(), above["area"].to_numpy() - n_kommuner] = 1.0
    return _Areas(info=info, kommuner=kommuner.select("kommunenummer", pl.col("k").cast(pl.UInt32)), members=members)


def area_names(key: data.DataKey, level: str) -> pl.DataFrame:
    """area_id, area_name and sort_order of one level (helseforetak: the helsefellesskap under hospital names)."""
    areas = data.areas(key)
    hf = data.helsefellesskap(key)
    if level == "kommune":
        names = areas.select(pl.col("kommunenummer").alias("area_id"), pl.col("kommunenavn").alias("area_name"))
    elif level in ("helsefellesskap", "helseforetak"):
        name = "helsefellesskap_navn" if level == "helsefellesskap" else "helseforetak"
        names = hf.select(pl.col("helsefellesskap_id").alias("area_id"), pl.col(name).alias("area_name"))
    elif level == "rhf":
        names = pl.DataFrame({"area_id": list(RHF_ORDER), "area_name": list(RHF_ORDER)})
    elif level == "fylke":
        names = areas.select(pl.col("fylkesnummer").alias("area_id"), pl.col("fylkesnavn").alias("area_name")).unique().sort("area_id")
    else:
        names = pl.DataFrame({"area_id": [NATIONAL_ID], "area_name": [NATIONAL_NAME]})
    return names.with_row_index("sort_order")


def _named(table: pl.DataFrame, periods: pl.DataFrame, area_info: pl.DataFrame) -> pl.DataFrame:
    """Codes back to names: indicator_id, period, level, area_id, area_name, sort_order, total_kommuner."""
    period_names = periods.select("pid", "indicator_id", "year_start", "year_end", "period").unique()
    return table.join(period_names, on="pid").join(area_info, on="area").drop("pid", "area")


# --- 1. the store as dense arrays, and the cells of every indicator period ----------------------

N_AGES = len(AGE_BAND_LABELS)
N_BANDS = len(SEXES) * N_AGES  # band = sex * N_AGES + age


@dataclass(frozen=True)
class _Cube:
    """The store as dense arrays over measure, year, kommune (k) and band."""

    measures: dict[str, int]
    first_year: int
    counts: np.ndarray  # measure x year x kommune x band
    population: np.ndarray  # year x kommune x band
    covered: np.ndarray  # measure x year x kommune (bool)


def _codes(values: pl.Series, categories: Sequence[str]) -> np.ndarray:
    """Each value's position in ``categories`` (the store validates them on import)."""
    return values.cast(pl.Enum(list(categories))).to_physical().cast(pl.Int64).to_numpy()


def _kommune_codes(numbers: pl.Series, kommuner: list[str]) -> np.ndarray:
    """Each kommune's code k (its position in the area table); -1 for a kommune not in it."""
    try:
        return _codes(numbers, kommuner)
    except pl.exceptions.InvalidOperationError:  # unknown kommuner: slower lookup, and their rows are dropped
        return numbers.replace_strict(kommuner, list(range(len(kommuner))), default=-1, return_dtype=pl.Int64).to_numpy()


def _dense(frame: pl.DataFrame, axes: dict[str, Sequence], kommuner: list[str], first_year: int,
           weights: str | None) -> np.ndarray:
    """Scatter-add the rows of ``frame`` into a dense array over ``axes`` (in order).

    Axis names: "measure_id" (categories), "year", "kommune" (k), "band" (sex and age band).
    Rows of kommuner outside the area table are dropped.
    """
    k = _kommune_codes(frame["kommunenummer"], kommuner)
    keep = k >= 0
    flat = np.zeros(frame.height, dtype=np.int64)
    shape = []
    for axis, size in axes.items():
        if axis == "measure_id":
            codes = _codes(frame["measure_id"], size)
            size = len(size)
        elif axis == "year":
            codes = frame["year"].to_numpy().astype(np.int64) - first_year
        elif axis == "kommune":
            codes = k
        else:
            codes = _codes(frame["sex"], SEXES) * N_AGES + _codes(frame["age_band"], AGE_BAND_LABELS)
        flat = flat * size + codes
        shape.append(size)
    values = frame[weights].cast(pl.Float64).to_numpy()[keep] if weights else None
    return np.bincount(flat[keep], weights=values, minlength=int(np.prod(shape))).reshape(shape)


def _cube(key: data.DataKey, kommuner: pl.DataFrame) -> _Cube:
    counts, population, coverage = data.counts(key), data.population(key), data.coverage(key)
    measures = sorted(set(coverage["measure_id"].unique()) | set(counts["measure_id"].unique()))
    years = [y for frame in (counts, population, coverage) for y in (frame["year"].min(), frame["year"].max()) if y is not None]
    first = min(years)
    n_years = max(years) - first + 1
    numbers = kommuner.sort("k")["kommunenummer"].to_list()
    n_k = len(numbers)
    return _Cube(
        measures={m: i for i, m in enumerate(measures)},
        first_year=first,
        counts=_dense(counts, {"measure_id": measures, "year": n_years, "kommune": n_k, "band": N_BANDS},
                      numbers, first, "count"),
        population=_dense(population, {"year": n_years, "kommune": n_k, "band": N_BANDS}, numbers, first, "population"),
        covered=_dense(coverage, {"measure_id": measures, "year": n_years, "kommune": n_k}, numbers, first, None) > 0,
    )


def _band_mask(term) -> np.ndarray:
    """True for the bands a numerator or denominator counts (its sexes and age bands)."""
    mask = np.zeros(N_BANDS, dtype=bool)
    ages = [AGE_BAND_LABELS.index(b) for b in term.age_bands]
    for s, sex in enumerate(SEXES):
        if term.sex in ("all", sex):
            mask[[s * N_AGES + a for a in ages]] = True
    return mask


@dataclass(frozen=True)
class _Block:
    """One indicator's periods by kommune, over the bands its numerator or denominator counts."""

    indicator: Indicator
    bands: np.ndarray  # band codes (sex * N_AGES + age) of the last axis
    numerator: np.ndarray  # period x kommune x band
    denominator: np.ndarray  # period x kommune x band
    reported: np.ndarray  # period x kommune: covered in at least one year of the period


def _kommune_cells(cube: _Cube, indicators: Sequence[Indicator], periods: dict[str, tuple[Period, ...]]) -> list[_Block]:
    """Only covered kommune-years count, so a kommune that reported nothing is missing, not zero."""
    blocks = []
    for ind in indicators:
        ind_periods = periods[ind.id]
        years = sorted({y for p in ind_periods for y in p.years})
        rows = np.array(years) - cube.first_year
        numerator_bands, denominator_bands = _band_mask(ind.numerator), _band_mask(ind.denominator)
        bands = np.flatnonzero(numerator_bands | denominator_bands)
        covered = np.logical_and.reduce([cube.covered[cube.measures[m]][rows] for m in set(ind.measures)])
        numerator = cube.counts[cube.measures[ind.numerator.measure]][rows][..., bands] * numerator_bands[bands]
        source = cube.population if ind.denominator.population else cube.counts[cube.measures[ind.denominator.measure]]
        denominator = source[rows][..., bands] * denominator_bands[bands]
        numerator *= covered[..., None]
        denominator *= covered[..., None]
        position = {y: i for i, y in enumerate(years)}
        in_period = [[position[y] for y in p.years] for p in ind_periods]
        blocks.append(_Block(
            indicator=ind,
            bands=bands,
            numerator=np.stack([numerator[r].sum(axis=0) for r in in_period]),
            denominator=np.stack([denominator[r].sum(axis=0) for r in in_period]),
            reported=np.stack([covered[r].any(axis=0) for r in in_period]),
        ))
    return blocks


# --- 2. sums per area -------------------------------------------------------------------------


def _every_level(values: np.ndarray, areas: _Areas) -> np.ndarray:
    """period x kommune x ... -> period x area x ...: the kommuner themselves, then the sums for every area above them."""
    above = np.moveaxis(np.tensordot(values, areas.members, axes=([1], [0])), -1, 1)
    return np.concatenate([values, above], axis=1)


def _standard_weights(ind: Indicator, standard: pl.DataFrame, bands: np.ndarray) -> np.ndarray:
    """The standard population's weight of each band (0 outside the denominator's bands)."""
    codes = (
        standard["sex"].cast(pl.Enum(SEXES)).to_physical().cast(pl.Int64) * N_AGES
        + standard["age_band"].cast(pl.Enum(AGE_BAND_LABELS)).to_physical().cast(pl.Int64)
    ).to_numpy()
    weights = np.zeros(N_BANDS)
    np.add.at(weights, codes, standard["weight"].to_numpy())
    return (weights * _band_mask(ind.denominator))[bands]


def _dsr_sums(x: np.ndarray, n: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """O = sum(x), sum(w), sum(w x / n) and sum(w^2 x / n^2) over the bands (last axis); bands without people add no rate."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, w / n, 0.0)
    return x.sum(-1), np.broadcast_to(w, x.shape).sum(-1), (x * rate).sum(-1), (x * rate**2).sum(-1)


def _area_sums(blocks: Sequence[_Block], areas: _Areas, standards: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per pid and area: numerator, denominator, expected count, reporting kommuner and the DSR sums.

    Bands are summed over the area's kommuner before the rates are taken (a DSR is not additive);
    the expected count uses the national band rates (indirect standardisation).
    """
    land = areas.info.height - 1
    columns: dict[str, list[np.ndarray]] = {}
    for block in blocks:
        ind = block.indicator
        x, n = _every_level(block.numerator, areas), _every_level(block.denominator, areas)
        with np.errstate(divide="ignore", invalid="ignore"):
            national_rate = np.where(n[:, land] > 0, x[:, land] / n[:, land], 0.0)
        dsr = [np.full(x.shape[:2], np.nan)] * 4
        if ind.is_standardised:
            weights = _standard_weights(ind, standards[ind.id], block.bands)
            pool = np.eye(len(block.bands))
            if "sex" not in ind.standardisation.by:  # by age alone: pool the sexes of each age band first
                ages = block.bands % N_AGES
                pool = (ages[:, None] == np.unique(ages)[None, :]).astype(np.float64)
            dsr = _dsr_sums(x @ pool, n @ pool, weights @ pool)
        reporting = _every_level(block.reported.astype(np.float64), areas)
        reports = reporting > 0
        for name, values in (
            ("reporting_kommuner", reporting),
            ("numerator", np.where(reports, x.sum(-1), np.nan)),
            ("denominator", np.where(reports, n.sum(-1), np.nan)),
            ("expected", np.where(reports, (n * national_rate[:, None, :]).sum(-1), np.nan)),
            ("observed", dsr[0]), ("weight_sum", dsr[1]), ("weighted_rate_sum", dsr[2]), ("weighted_variance_sum", dsr[3]),
        ):
            columns.setdefault(name, []).append(values.reshape(-1))
    n_areas = areas.info.height
    n_pids = sum(b.reported.shape[0] for b in blocks)
    frame = pl.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()}).with_columns(
        pl.col("reporting_kommuner").round().cast(pl.UInt32)
    )
    return frame.fill_nan(None).with_columns(
        pl.Series("pid", np.repeat(np.arange(n_pids, dtype=np.uint32), n_areas)),
        pl.Series("area", np.tile(np.arange(n_areas, dtype=np.uint32), n_pids)),
    )


# --- 3. statistics ----------------------------------------------------------------------------


def _by_unit(frame: pl.DataFrame, compute: Callable[[pl.DataFrame, str, float], pl.DataFrame]) -> pl.DataFrame:
    """Apply ``compute(part, type, multiplier)`` to each (type, multiplier) part: one method call per unit.

    Returns pid, area and the statistics (value, limits, method).
    """
    columns = ["pid", "area", *_STATISTICS, "method"]
    if frame.height == 0:
        return frame.select("pid", "area").with_columns(
            *(pl.lit(None, dtype=pl.Float64).alias(c) for c in _STATISTICS), pl.lit(None, dtype=pl.String).alias("method")
        )
    return pl.concat(
        compute(part, type_, multiplier).select(columns)
        for (type_, multiplier), part in frame.partition_by("type", "multiplier", as_dict=True).items()
    )


def _crude(part: pl.DataFrame, type_: str, multiplier: float) -> pl.DataFrame:
    if type_ == "rate":
        return methods.crude_rate(part, count="numerator", denominator="denominator", multiplier=multiplier)
    return methods.proportion(part, numerator="numerator", denominator="denominator", multiplier=multiplier)


def _dsr(part: pl.DataFrame, _type: str, multiplier: float) -> pl.DataFrame:
    return part.with_columns(
        methods.dobson_limits(
            part["observed"].to_numpy(), part["weight_sum"].to_numpy(), part["weighted_rate_sum"].to_numpy(),
            part["weighted_variance_sum"].to_numpy(), multiplier=multiplier,
        )
    )


def _statistics(sums: pl.DataFrame, info: pl.DataFrame) -> pl.DataFrame:
    """Crude values for every area; the value is the DSR where the indicator is standardised, else the crude one."""
    table = sums.join(info.select("pid", "type", "multiplier", "standardised"), on="pid")
    value_columns = (*_STATISTICS, "method")
    crude = _by_unit(table.filter(pl.col("denominator") > 0), _crude).rename({c: f"crude_{c}" for c in value_columns})
    dsr = _by_unit(table.filter(pl.col("standardised") & (pl.col("reporting_kommuner") > 0)), _dsr)
    return (
        table.join(crude, on=["pid", "area"], how="left")
        .join(dsr, on=["pid", "area"], how="left")
        .with_columns(
            pl.when(pl.col("standardised")).then(pl.col(c)).otherwise(pl.col(f"crude_{c}")).alias(c) for c in value_columns
        )
        .with_columns(
            (pl.col("standardised") & pl.col("value").is_null() & (pl.col("denominator") > 0)).alias("too_few_to_standardise")
        )
        .drop("type", "multiplier", "standardised", "observed", "weight_sum", "weighted_rate_sum", "weighted_variance_sum")
    )


def _significance(table: pl.DataFrame, area_info: pl.DataFrame, info: pl.DataFrame) -> pl.DataFrame:
    """The national value of the same indicator period, and each area's significance against it."""
    land = area_info.filter(pl.col("level") == "land").select("area")
    national = table.join(land, on="area", how="semi").select("pid", pl.col("value").alias("national_value"))
    table = table.join(national, on="pid", how="left").join(info.select("pid", "direction"), on="pid")
    parts = [
        methods.significance_vs_benchmark(part, benchmark="national_value", lower="lower_95", upper="upper_95",
                                          direction=direction)
        for (direction,), part in table.partition_by("direction", as_dict=True).items()
    ]
    return pl.concat(parts).drop("direction")


# --- 4. suppression ---------------------------------------------------------------------------


def mask_cost(cell: tuple[str, str], numerators, denominators) -> tuple:
    return (_MASK_ORDER[cell[0]], *count_cost(cell, numerators, denominators))


@lru_cache(maxsize=256)
def _relations(key: data.DataKey, reported: frozenset[str]) -> tuple[Relation, ...]:
    """The additive relations between the reporting kommuner and the levels above them."""
    present = data.areas(key).filter(pl.col("kommunenummer").is_in(sorted(reported)))
    relations = []
    for parent_level, column in (("helsefellesskap", "helsefellesskap_id"), ("fylke", "fylkesnummer")):
        for parent, group in present.group_by(column, maintain_order=True):
            children = tuple(("kommune", k) for k in group["kommunenummer"].to_list())
            relations.append(Relation((parent_level, parent[0]), children))
    hf_by_rhf = present.select("rhf", "helsefellesskap_id").unique(maintain_order=True)
    for rhf, group in hf_by_rhf.group_by("rhf", maintain_order=True):
        relations.append(Relation(("rhf", rhf[0]), tuple(("helsefellesskap", h) for h in group["helsefellesskap_id"].to_list())))
    land = ("land", NATIONAL_ID)
    relations.append(Relation(land, tuple(("rhf", r) for r in hf_by_rhf["rhf"].unique(maintain_order=True).to_list())))
    relations.append(Relation(land, tuple(("fylke", f) for f in present["fylkesnummer"].unique(maintain_order=True).to_list())))
    return tuple(relations)


def _suppression(key: data.DataKey, table: pl.DataFrame, indicators: Sequence[Indicator], periods: pl.DataFrame,
                 area_info: pl.DataFrame, single_year_masks: pl.DataFrame | None) -> pl.DataFrame:
    """The suppression reason of every masked cell (pid, area, suppression).

    Single years are suppressed first, each on its own. Then each pooled window is suppressed
    together with its single years as one system: the relations between areas in every period,
    and pooled cell = sum of its single-year cells. The single years stay as they are (frozen);
    only pooled cells are hidden, until no masked cell of the window follows from the published
    ones. A pooled cell whose years are all published is a sum of published numbers: it is
    published too (hiding it would protect nothing).
    """
    info = _indicator_info(indicators, periods)
    present = (
        table.filter(pl.col("reporting_kommuner") > 0)
        .select("pid", "area", pl.col("numerator").fill_null(0.0), pl.col("denominator").fill_null(0.0))
        .join(info.select("pid", "indicator_id", "year_start", "year_end", "threshold", "sensitive_denominator"), on="pid")
    )
    suppressor = _Suppressor(key, area_info, {ind.id: ind for ind in indicators}, periods)
    if single_year_masks is None:
        singles = suppressor.run(present.filter(pl.col("year_start") == pl.col("year_end")))
    else:
        singles = _coded_masks(single_year_masks, periods, area_info)
    windows = _windows(periods)
    if not windows:
        return singles
    return pl.concat([singles, suppressor.run_windows(present, singles, windows)])


def _coded_masks(masks: pl.DataFrame, periods: pl.DataFrame, area_info: pl.DataFrame) -> pl.DataFrame:
    """Masks given by indicator, single year, level and area as (pid, area, suppression)."""
    single = periods.filter(pl.col("year_start") == pl.col("year_end")).select("pid", "indicator_id", "year_start")
    return (
        masks.join(single, on=["indicator_id", "year_start"])
        .join(area_info.select("area", "level", "area_id"), on=["level", "area_id"])
        .select("pid", "area", "suppression")
        .cast(_MASKS)
    )


def _windows(periods: pl.DataFrame) -> dict[int, list[int]]:
    """Each pooled pid -> the pids of the single years it sums (same indicator)."""
    single = periods.filter(pl.col("year_start") == pl.col("year_end"))
    pooled = periods.filter(pl.col("year_start") < pl.col("year_end"))
    pairs = pooled.join(single, on="indicator_id", suffix="_single").filter(
        pl.col("year_start_single").is_between(pl.col("year_start"), pl.col("year_end"))
    )
    windows: dict[int, list[int]] = {}
    for pooled_pid, single_pid in pairs.select("pid", "pid_single").sort("pid", "pid_single").iter_rows():
        windows.setdefault(pooled_pid, []).append(single_pid)
    return windows


_MASKS = {"pid": pl.UInt32, "area": pl.UInt32, "suppression": pl.String}


class _Suppressor:
    """Runs ``suppress`` for each indicator period that has anything to hide."""

    def __init__(self, key: data.DataKey, area_info: pl.DataFrame, indicators: dict[str, Indicator], periods: pl.DataFrame):
        self.key = key
        names = area_info.select("area", "level", "area_id")
        self.cell_of = dict(zip(names["area"].to_list(), zip(names["level"].to_list(), names["area_id"].to_list())))
        self.code_of = {cell: code for code, cell in self.cell_of.items()}
        self.period_label = dict(zip(periods["pid"].to_list(), periods["period"].to_list()))
        self.indicator_of = {pid: indicators[i] for pid, i in zip(periods["pid"].to_list(), periods["indicator_id"].to_list())}

    def run(self, present: pl.DataFrame) -> pl.DataFrame:
        """Each period on its own (pid, area, suppression)."""
        small = lambda c: (pl.col(c) > 0) & (pl.col(c) < pl.col("threshold"))  # noqa: E731
        needed = present.filter(
            small("numerator") | (pl.col("sensitive_denominator") & small("denominator"))
        ).select("pid").unique()
        work = present.join(needed, on="pid", how="semi")
        problems = [
            (pid, self.indicator_of[pid], [self.cell_of[a] for a in part["area"].to_list()],
             part["numerator"].to_list(), part["denominator"].to_list())
            for (pid,), part in work.partition_by("pid", as_dict=True, maintain_order=True).items()
        ]
        return self._solve_all(self._solve_period, problems)

    def _solve_period(self, pid: int, ind: Indicator, keys: list, numerators: list, denominators: list) -> list[tuple]:
        masked = suppress(
            dict(zip(keys, numerators)), dict(zip(keys, denominators)),
            _relations(self.key, frozenset(area_id for level, area_id in keys if level == "kommune")),
            ind.suppression_threshold, protect_denominator=ind.denominator_is_sensitive, cost=mask_cost,
        )
        return [(pid, self.code_of[cell], reason) for cell, reason in masked.items()]

    def run_windows(self, present: pl.DataFrame, singles: pl.DataFrame, windows: dict[int, list[int]]) -> pl.DataFrame:
        """The pooled periods, each audited with its single years (pid, area, suppression of pooled cells).

        One system per window: every period's cells keyed (level, area_id, period label), the
        relations between areas in each period, and pooled cell = sum of its single-year cells.
        """
        label = self.period_label
        masked_singles = set(zip(singles["pid"].to_list(), singles["area"].to_list()))
        cells: dict[int, dict[tuple, tuple[float, float]]] = {}
        hidden: dict[int, set[tuple]] = {}  # pid -> keys of its masked cells (labels are unique within a window)
        for pid, area, numerator, denominator in present.select("pid", "area", "numerator", "denominator").iter_rows():
            key = (*self.cell_of[area], label[pid])
            cells.setdefault(pid, {})[key] = (numerator, denominator)
            if (pid, area) in masked_singles:
                hidden.setdefault(pid, set()).add(key)
        problems = [
            (pooled_pid, single_pids,
             {key: value for pid in (*single_pids, pooled_pid) for key, value in cells.get(pid, {}).items()},
             set().union(*(hidden.get(pid, set()) for pid in single_pids)))
            for pooled_pid, single_pids in windows.items() if pooled_pid in cells
        ]
        return self._solve_all(self._solve_window, problems)

    def _solve_window(self, pooled_pid: int, single_pids: list[int], window: dict, hidden: set) -> list[tuple]:
        pooled_label = self.period_label[pooled_pid]
        years = {key: [y for pid in single_pids if (y := (key[0], key[1], self.period_label[pid])) in window]
                 for key in window if key[2] == pooled_label}
        shows_a_hidden_year = {key for key, members in years.items() if any(y in hidden for y in members)}
        ind = self.indicator_of[pooled_pid]
        result = suppress(
            {key: n for key, (n, _) in window.items()},
            {key: d for key, (_, d) in window.items()},
            self._window_relations([self.period_label[pid] for pid in single_pids], years, window),
            ind.suppression_threshold,
            protect_denominator=ind.denominator_is_sensitive,
            forced=[key for key in window if key in hidden],
            cost=mask_cost,
            # Single years are final; a pooled cell whose years are all published is their sum.
            frozen=[key for key in window if key not in hidden and key not in shows_a_hidden_year],
        )
        return [(pooled_pid, self.code_of[key[:2]],
                 FORCED if reason == SECONDARY and key in shows_a_hidden_year else reason)
                for key, reason in result.items() if key in years]

    @staticmethod
    def _solve_all(solve, problems: list[tuple]) -> pl.DataFrame:
        """``solve(*problem)`` for every problem on two threads (the linear algebra releases the GIL;
        one BLAS thread each: the matrices are small), as one frame of masks."""
        with threadpool_limits(limits=1), ThreadPoolExecutor(2) as pool:
            rows = [row for part in pool.map(lambda problem: solve(*problem), problems) for row in part]
        return pl.DataFrame(rows, orient="row", schema=_MASKS)

    def _window_relations(self, single_labels: list[str], years: dict, window: dict) -> list[Relation]:
        """The area relations of every period in the window (pooled last), then pooled cell = sum of its years."""
        pooled_label = next(iter(years))[2]
        relations = []
        for period in (*single_labels, pooled_label):
            reported = frozenset(area_id for level, area_id, p in window if p == period and level == "kommune")
            relations += [Relation((*r.parent, period), tuple((*child, period) for child in r.children))
                          for r in _relations(self.key, reported)]
        relations += [Relation(key, tuple(members)) for key, members in sorted(years.items(), key=lambda kv: str(kv[0]))
                      if members]
        return relations


def clear_caches() -> None:
    _relations.cache_clear()
    suppression.clear_caches()
