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
from dataclasses import dataclass

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from data_loaders.reference import LEVELS, NATIONAL_ID, NATIONAL_NAME, RHF_ORDER, UNIT_LEVEL_COLUMNS  # noqa: F401
from data_loaders.schema import AGE_BAND_LABELS, SEXES
from indicators import data, methods, suppression
from indicators.catalogue import Indicator
from indicators.periods import Period
from indicators.suppression import SECONDARY, SMALL_COUNT

# Every level is computed and suppressed (land last: it is the last area of ``_areas``).
SUPPRESSION_LEVELS = LEVELS
assert SUPPRESSION_LEVELS[-1] == "land"

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
    # Relations between counts the attacker knows (``count_relations``), as count keys (``_count_key``):
    # (total, (parts...)) with total = sum of parts in every unit and year, and (i, j) with i <= j.
    equalities: tuple = ()
    count_bounds: tuple = ()


def catalogue_table(key: data.DataKey, request: Request) -> pl.DataFrame:
    """The internal table: one row per indicator, period, level and area (see the module docstring)."""
    indicators = [ind for ind in request.indicators if request.periods.get(ind.id)]
    if not indicators:
        return pl.DataFrame()
    periods = _periods(indicators, request.periods)
    areas = _areas(key)
    cube = _cube(key, areas.units)
    cells = _kommune_cells(cube, indicators, request.periods)
    sums = _area_sums(cells, areas, request.standards)
    info = _indicator_info(indicators, periods)
    table = _statistics(sums, info)
    table = _significance(table, areas.info, info)
    masks = _suppression(cells, areas, periods, request.single_year_masks, request.equalities, request.count_bounds)
    table = table.join(masks, on=["pid", "area"], how="left").with_columns(
        pl.col("numerator_hidden").fill_null(False), pl.col("denominator_hidden").fill_null(False)
    )
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
    """Per pid: the indicator's type, unit multiplier, direction and standardisation."""
    info = pl.DataFrame({
        "indicator_id": [i.id for i in indicators],
        "type": [i.type for i in indicators],
        "multiplier": [float(i.multiplier) for i in indicators],
        "direction": [i.direction for i in indicators],
        "standardised": [i.is_standardised for i in indicators],
    })
    return periods.select("pid", "indicator_id", "year_start", "year_end").join(info, on="indicator_id")


@dataclass(frozen=True)
class _Areas:
    info: pl.DataFrame  # area (code), level, area_id, area_name, sort_order, total_kommuner
    units: pl.DataFrame  # unit (kommune or bydel code, as in the store's rows), k (its code, also its area code)
    members: np.ndarray  # unit x area above the unit level: 1 where the unit belongs to it
    kommune_of_unit: np.ndarray  # unit x kommune: 1 for the unit's kommune (a bydel's kommune, or itself)


def _unit_level(units: pl.DataFrame) -> pl.Expr:
    """The level of a unit's own row: "bydel" for a bydel, "kommune" for an unsplit kommune."""
    return pl.when(pl.col("bydel").is_null()).then(pl.lit("kommune")).otherwise(pl.lit("bydel"))


def _areas(key: data.DataKey) -> _Areas:
    """Every area of every suppression level, coded.

    The first n_units rows of ``info`` are the area units in unit order k (level "kommune" for an
    unsplit kommune, "bydel" for a bydel); then every area above them, level by level: the split
    kommuner (Oslo), helsefellesskap, helseforetak, rhf, fylke, sentralitet, kostragruppe and land
    (last). ``members`` is the unit x above-area 0/1 matrix.
    """
    units = data.units(key).with_row_index("k")
    n_units = units.height
    unit_rows = units.select(
        "k", _unit_level(units).alias("level"), pl.col("unit").alias("area_id"), pl.col("kommunenummer"),
    )
    # Which area of each level above the units every unit belongs to.
    above_columns = {level: pl.col(column) for level, column in UNIT_LEVEL_COLUMNS.items() if level != "bydel"}
    above_columns["land"] = pl.lit(NATIONAL_ID)
    membership = pl.concat(
        units.select(pl.lit(level).alias("level"), column.alias("area_id"), "k", "kommunenummer")
        for level, column in above_columns.items()
    ).filter(pl.col("area_id").is_not_null())
    # A unit is its own row, not a member of itself (an unsplit kommune at level "kommune").
    membership = membership.join(unit_rows.select("level", "area_id", "k"), on=["level", "area_id", "k"], how="anti")
    names = {level: area_names(key, level) for level in SUPPRESSION_LEVELS}
    unit_info = unit_rows.join(
        pl.concat(names[level].with_columns(pl.lit(level).alias("level")) for level in ("bydel", "kommune")),
        on=["level", "area_id"], how="left",
    ).sort("k").select("level", "area_id", "area_name", "sort_order")
    above_info = pl.concat(
        names[level].with_columns(pl.lit(level).alias("level")).join(
            membership.filter(pl.col("level") == level).select("area_id").unique(), on="area_id", how="semi"
        ) if level == "kommune" else names[level].with_columns(pl.lit(level).alias("level"))
        for level in SUPPRESSION_LEVELS if level != "bydel"
    ).select("level", "area_id", "area_name", "sort_order")
    info = pl.concat([unit_info, above_info]).with_row_index("area")
    # total_kommuner counts kommuner: a kommune split into bydeler counts once (and once for each of its bydeler).
    totals = pl.concat([
        unit_rows.select("level", "area_id", "kommunenummer"), membership.select("level", "area_id", "kommunenummer"),
    ]).group_by("level", "area_id").agg(pl.col("kommunenummer").n_unique().alias("total_kommuner"))
    info = (
        info.join(totals, on=["level", "area_id"], how="left", maintain_order="left")
        .with_columns(pl.col("total_kommuner").fill_null(0).cast(pl.UInt32), pl.col("sort_order").cast(pl.UInt32))
    )
    above = membership.join(info.select("level", "area_id", "area"), on=["level", "area_id"])
    members = np.zeros((n_units, info.height - n_units))
    members[above["k"].to_numpy(), above["area"].to_numpy() - n_units] = 1.0
    kommuner = sorted(units["kommunenummer"].unique().to_list())
    kommune_index = units["kommunenummer"].replace_strict(kommuner, list(range(len(kommuner)))).to_numpy()
    kommune_of_unit = np.zeros((n_units, len(kommuner)))
    kommune_of_unit[np.arange(n_units), kommune_index] = 1.0
    return _Areas(info=info, units=units.select("unit", pl.col("k").cast(pl.UInt32)), members=members,
                  kommune_of_unit=kommune_of_unit)


def _reporting_kommuner(reported: np.ndarray, areas: _Areas) -> np.ndarray:
    """period x unit (reported or not) -> period x area: a unit's own row says whether it reported;
    an area above counts its reporting kommuner (a kommune split into bydeler counts once, if any
    of its bydeler in that area reported), like ``total_kommuner``."""
    # A kommune counts in an area when one of ITS units in that area reported (Diakonhjemmet's area
    # reports only if Frogner, Ullern or Vestre Aker does, not any bydel of Oslo).
    r = reported.astype(np.float64)
    per_kommune = np.einsum("pu,uk,ua->pka", r, areas.kommune_of_unit, areas.members) > 0
    return np.concatenate([r, per_kommune.sum(axis=1).astype(np.float64)], axis=1)


def area_names(key: data.DataKey, level: str) -> pl.DataFrame:
    """area_id, area_name and sort_order of one level (``data.level_names``)."""
    return data.level_names(key, level).select("area_id", "area_name", "sort_order")


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


def _kommune_codes(numbers: pl.Series, units: list[str]) -> np.ndarray:
    """Each area unit's code k (its position in the unit table); -1 for a code not in it."""
    try:
        return _codes(numbers, units)
    except pl.exceptions.InvalidOperationError:  # unknown units: slower lookup, and their rows are dropped
        return numbers.replace_strict(units, list(range(len(units))), default=-1, return_dtype=pl.Int64).to_numpy()


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


def _cube(key: data.DataKey, units: pl.DataFrame) -> _Cube:
    counts, population, coverage = data.counts(key), data.population(key), data.coverage(key)
    measures = sorted(set(coverage["measure_id"].unique()) | set(counts["measure_id"].unique()))
    years = [y for frame in (counts, population, coverage) for y in (frame["year"].min(), frame["year"].max()) if y is not None]
    first = min(years)
    n_years = max(years) - first + 1
    numbers = units.sort("k")["unit"].to_list()
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
    period_index: dict  # Period -> its position on the first axis


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
            period_index={p: i for i, p in enumerate(ind_periods)},
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
        reporting = _reporting_kommuner(block.reported, areas)
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
#
# Suppression works on counts, not on indicators (``indicators.suppression``): an atom is one
# count definition (measure, sex, age bands) for one area unit in one year; a published cell is
# a sum of atoms. A count that several indicators publish (a shared numerator or denominator) is
# one cell for all of them. Count definitions linked by an indicator are suppressed together,
# one block per linked group and single year, then one per group and pooled window with the
# single years as already published (frozen).

# Extra hidden cells fall on the units first, then on the totals users read least.
_LEVEL_COST = {"bydel": 0, "kommune": 0, "sentralitet": 2, "kostragruppe": 2, "fylke": 3, "helseforetak": 4,
               "helsefellesskap": 5, "rhf": 6, "land": 7}
_MASKS = {"pid": pl.UInt32, "area": pl.UInt32, "suppression": pl.String,
          "numerator_hidden": pl.Boolean, "denominator_hidden": pl.Boolean}


def _count_key(term) -> tuple | None:
    """A register count's identity: measure, sex and age bands (None for the population)."""
    if term.population:
        return None
    return (term.measure, term.sex, tuple(term.age_bands))


def count_groups(indicators: Sequence[Indicator], links: Sequence[Sequence[tuple]] = ()) -> list[list[Indicator]]:
    """Indicators whose counts are linked (a shared count, numerator and denominator of one indicator, or a
    known relation between counts: each of ``links`` is a set of count keys that a relation ties together)."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for ind in indicators:
        keys = [k for k in (_count_key(ind.numerator), _count_key(ind.denominator)) if k is not None]
        for other in keys[1:]:
            parent[find(other)] = find(keys[0])
        find(keys[0])
    for link in links:
        present = [k for k in link if k in parent]
        for other in present[1:]:
            parent[find(other)] = find(present[0])
    groups: dict = {}
    for ind in indicators:
        groups.setdefault(find(_count_key(ind.numerator)), []).append(ind)
    return list(groups.values())


def count_relations(indicators: Sequence[Indicator], overlap=None) -> tuple[tuple, tuple]:
    """The relations between the counts of ``indicators`` that hold by definition, as count keys.

    Equalities: each overlap group's persons (the count its indicators use) = the sum of the overlap
    combinations that contain it (``overlap``, the catalogue's section; the combinations counted at all
    ages, so the sum holds whatever ages the group's count takes, as long as they are the group's).
    Bounds: persons in a cohort with an event <= their events (``..._personer`` <= ``..._hendelser``
    with the same sex and ages). Numerator <= denominator is added per indicator (``_CellBuilder._bounds``).
    """
    keys = {k for ind in indicators for k in (_count_key(ind.numerator), _count_key(ind.denominator)) if k}
    equalities = []
    if overlap is not None:
        combos = {c.measure: c for c in overlap.combinations}
        combo_keys = {k[0]: k for k in keys if k[0] in combos and k[1] == "all" and len(k[2]) == N_AGES}
        for position, (cohort_id, _) in enumerate(overlap.groups):
            parts = tuple(combo_keys.get(c.measure) for c in overlap.combinations if c.contains(position))
            if None in parts:
                continue
            for key in sorted(k for k in keys if k[1] == "all" and _is_group_size(k, cohort_id, indicators)):
                equalities.append((key, parts))
    bounds = []
    for key in sorted(keys):
        if key[0].endswith("_personer"):
            events = (key[0].removesuffix("_personer") + "_hendelser", key[1], key[2])
            if events in keys:
                bounds.append((key, events))
    return tuple(equalities), tuple(bounds)


def _is_group_size(key: tuple, cohort_id: str, indicators: Sequence[Indicator]) -> bool:
    """Whether ``key`` counts the persons of cohort ``cohort_id`` (a prevalence numerator or a share denominator)."""
    for ind in indicators:
        if ind.cohort != cohort_id:
            continue
        if ind.cohort_role == "prevalence" and _count_key(ind.numerator) == key:
            return True
        if ind.cohort_role in ("share", "per_person") and _count_key(ind.denominator) == key:
            return True
    return False


def _suppression(blocks: Sequence[_Block], areas: _Areas, periods: pl.DataFrame,
                 single_year_masks: pl.DataFrame | None, equalities: tuple = (), count_bounds: tuple = ()) -> pl.DataFrame:
    """The suppression of every hidden indicator cell: pid, area, reason, and which of its counts are hidden."""
    info = periods.select("pid", "indicator_id", "year_start", "year_end")
    pid_of = {(i, s, e): p for p, i, s, e in info.iter_rows()}
    by_id = {b.indicator.id: b for b in blocks}
    problems = []
    links = [(total, *parts) for total, parts in equalities] + list(count_bounds)
    for group in count_groups([b.indicator for b in blocks], links):
        group_periods = {p for ind in group for p in by_id[ind.id].period_index}
        years = sorted(p.start for p in group_periods if not p.is_pooled)
        windows = sorted(p for p in group_periods if p.is_pooled)
        ids = tuple(ind.id for ind in group)
        if single_year_masks is None:
            problems += [(ids, (Period(y, y),), ()) for y in years]
        problems += [(ids, (*(Period(y, y) for y in w.years), w), w.years) for w in windows]
    singles = None if single_year_masks is None else _coded_masks(single_year_masks, periods, areas.info)
    state = (_CellBuilder(areas, info, pid_of, equalities, count_bounds), by_id, _CellBuilder.hidden_counts(singles))
    rows = [row for part in _solve_problems(state, problems) for row in part]
    table = pl.DataFrame(rows, orient="row", schema=_MASKS)
    if singles is not None:
        table = pl.concat([singles, table.join(singles, on=["pid", "area"], how="anti")])
    return table


def suppression_workers() -> int:
    """Processes for the suppression audit (``STYRING_SUPPRESSION_WORKERS``, default: the cores, at most 4)."""
    import os

    value = os.environ.get("STYRING_SUPPRESSION_WORKERS", "")
    if value.strip():
        return max(1, int(value))
    return max(1, min(4, os.cpu_count() or 1))


_WORKER_STATE: tuple | None = None


def _die_with_parent() -> None:
    """Linux: a worker ends when the process that started it dies (no orphan keeps solving)."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _init_worker(state: tuple, worker_process: bool = False) -> None:
    global _WORKER_STATE
    _WORKER_STATE = state
    threadpool_limits(limits=1)
    if worker_process:
        _die_with_parent()


def _solve_in_worker(problem: tuple) -> list[tuple]:
    builder, blocks, singles = _WORKER_STATE
    ids, periods, frozen_years = problem
    return builder.solve([blocks[i] for i in ids], periods, frozen_years, singles)


def _solve_problems(state: tuple, problems: list[tuple]) -> list[list[tuple]]:
    """Every block's audit: in worker processes when there is enough work (the LP solver holds the GIL)."""
    workers = min(suppression_workers(), len(problems))
    if workers > 1 and len(problems) >= 8:
        import logging
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        # The heaviest blocks first, so the workers finish together. Fresh (spawned) processes: no
        # server process to outlive, and no threads of this one copied into them.
        order = sorted(range(len(problems)), key=lambda i: -len(problems[i][1]) * len(problems[i][0]))
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(state, True)) as pool:
                results = list(pool.map(_solve_in_worker, [problems[i] for i in order]))
        except (BrokenProcessPool, OSError, EOFError) as exc:  # no worker processes here: solve in this one
            logging.getLogger("styring.suppression").warning("suppression workers failed (%s); solving in process", exc)
        else:
            out: list = [None] * len(problems)
            for i, result in zip(order, results):
                out[i] = result
            return out
    _init_worker(state)
    try:
        return [_solve_in_worker(problem) for problem in problems]
    finally:
        _init_worker(None)


def _coded_masks(masks: pl.DataFrame, periods: pl.DataFrame, area_info: pl.DataFrame) -> pl.DataFrame:
    """Single-year masks given by indicator, year, level and area, as (pid, area, ...)."""
    single = periods.filter(pl.col("year_start") == pl.col("year_end")).select("pid", "indicator_id", "year_start")
    return (
        masks.join(single, on=["indicator_id", "year_start"])
        .join(area_info.select("area", "level", "area_id"), on=["level", "area_id"])
        .select(*_MASKS)
        .cast(_MASKS)
    )


class _CellBuilder:
    """Turns one linked group of indicators and a set of periods into a ``suppression.Problem``."""

    def __init__(self, areas: _Areas, info: pl.DataFrame, pid_of: dict, equalities: tuple = (), count_bounds: tuple = ()):
        self.n_units = areas.members.shape[0]
        n_areas = areas.info.height
        full = np.zeros((self.n_units, n_areas))
        full[np.arange(self.n_units), np.arange(self.n_units)] = 1.0
        full[:, self.n_units:] = areas.members
        from scipy import sparse  # imported when first needed: scipy.sparse is slow to import

        self.member = sparse.csr_matrix(full)  # unit x area
        self.level_cost = np.array([_LEVEL_COST.get(level, 8) for level in areas.info.sort("area")["level"].to_list()])
        self.pid_of = pid_of
        self.equalities, self.count_bounds = equalities, count_bounds

    def solve(self, blocks: Sequence[_Block], periods: tuple[Period, ...], frozen_years: tuple[int, ...],
              singles: dict) -> list[tuple]:
        """Hidden indicator cells of these periods: (pid, area, reason, numerator hidden, denominator hidden)."""
        years = sorted({y for p in periods for y in p.years})
        # Atoms: (count key, year) -> per-unit atom ids (-1: not covered by any indicator of the group).
        atom_ids: dict[tuple, np.ndarray] = {}
        atom_values: list[np.ndarray] = []
        atom_upper: list[np.ndarray] = []
        n_atoms = 0
        roles = []  # (block, role, count key, per-year covered units)
        for block in blocks:
            ind = block.indicator
            for role, term, array in (("numerator", ind.numerator, block.numerator),
                                      ("denominator", ind.denominator, block.denominator)):
                key = _count_key(term)
                if key is None:
                    continue
                roles.append((block, role, key))
                for y in years:
                    p = self._period_index(block, Period(y, y))
                    if p is None:
                        continue
                    covered = block.reported[p]
                    ids = atom_ids.get((key, y))
                    if ids is None:
                        ids = atom_ids[(key, y)] = np.full(self.n_units, -1)
                    new = covered & (ids < 0)
                    ids[new] = np.arange(n_atoms, n_atoms + int(new.sum()))
                    n_atoms += int(new.sum())
                    atom_values.append(array[p].sum(-1)[new])
                    limit = np.full(int(new.sum()), np.inf)
                    if role == "numerator" and ind.type == "proportion" and ind.denominator.population:
                        limit = block.denominator[p].sum(-1)[new]  # a share of the population cannot exceed it
                    atom_upper.append(limit)
        if n_atoms == 0:
            return []
        values = np.concatenate(atom_values)
        upper = np.concatenate(atom_upper)
        # Cells: every (indicator period, area, role) as a row of atoms, deduplicated by its atom set.
        from scipy import sparse

        rows, cols, owners = [], [], []
        row = 0
        for block, role, key in roles:
            for period in periods:
                p = self._period_index(block, period)
                if p is None:
                    continue
                pid = self.pid_of[(block.indicator.id, period.start, period.end)]
                area_cols, atom_cols = [], []
                for y in period.years:
                    py = self._period_index(block, Period(y, y))
                    if py is None:
                        continue
                    ids = atom_ids[(key, y)]
                    units = np.flatnonzero(block.reported[py] & (ids >= 0))
                    sub = self.member[units]
                    coo = sub.tocoo()
                    area_cols.append(coo.col)
                    atom_cols.append(ids[units][coo.row])
                if not area_cols:
                    continue
                a_cols, at_cols = np.concatenate(area_cols), np.concatenate(atom_cols)
                present = np.unique(a_cols)
                local = np.searchsorted(present, a_cols)
                rows.append(row + local)
                cols.append(at_cols)
                owners += [(pid, int(a), role, block.indicator.suppression_threshold) for a in present]
                row += present.size
        incidence = sparse.csr_matrix((np.ones(sum(r.size for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
                                      shape=(row, n_atoms))
        incidence.sum_duplicates()
        rng = np.random.default_rng(20260101)
        signature = incidence @ rng.integers(1, 2**40, size=(n_atoms, 2)).astype(np.float64)
        _, first, cell_of_row = np.unique(signature, axis=0, return_index=True, return_inverse=True)
        cell_of_row = cell_of_row.reshape(-1)
        cells = incidence[first]
        n_cells = cells.shape[0]
        thresholds = np.zeros(n_cells)
        cost = [None] * n_cells
        frozen = np.zeros(n_cells, dtype=bool)
        hidden = np.zeros(n_cells, dtype=bool)
        frozen_pids = {self.pid_of[(b.indicator.id, y, y)] for b in blocks for y in frozen_years
                       if (b.indicator.id, y, y) in self.pid_of}
        values_cells = cells @ values
        for r, (pid, area, role, threshold) in enumerate(owners):
            c = cell_of_row[r]
            thresholds[c] = max(thresholds[c], threshold)
            if pid in frozen_pids:
                frozen[c] = True
                hidden[c] |= singles.get((pid, area, role), False)
            if cost[c] is None:
                cost[c] = (int(self.level_cost[area]), float(values_cells[c]), int(area), pid)
        bounds = self._bounds(blocks, years, atom_ids)
        bounds = sorted(set(bounds) | set(self._count_bounds(years, atom_ids, values)))
        equalities = self._equalities(years, atom_ids, values)
        # An output row shows its counts only together; a numerator hidden with its denominator may be
        # zero, so the attacker knows only that it is at least 0 (every other hidden count is at least 1).
        row_cells: dict[tuple, list[int]] = {}
        for r, (pid, area, _, _) in enumerate(owners):
            row_cells.setdefault((pid, area), []).append(int(cell_of_row[r]))
        lower = np.ones(n_atoms)
        for block in blocks:
            ind = block.indicator
            if _count_key(ind.denominator) is not None:
                for (key, _), ids in atom_ids.items():
                    if key == _count_key(ind.numerator):
                        lower[ids[ids >= 0]] = 0.0
        problem = suppression.Problem(cells, values, thresholds, cost, frozen=frozen, hidden=hidden,
                                      bounds=bounds, equalities=equalities, atom_upper=upper, atom_lower=lower,
                                      rows=[tuple(sorted(set(c))) for c in row_cells.values() if len(set(c)) > 1])
        reasons = suppression.protect(problem)
        result: dict[tuple, dict] = {}
        for r, (pid, area, role, _) in enumerate(owners):
            if pid in frozen_pids:
                continue
            reason = reasons.get(int(cell_of_row[r]))
            if reason is not None:
                result.setdefault((pid, area), {})[role] = reason
        return [
            (pid, area, SMALL_COUNT if SMALL_COUNT in hidden_roles.values() else SECONDARY,
             "numerator" in hidden_roles, "denominator" in hidden_roles)
            for (pid, area), hidden_roles in result.items()
        ]

    @staticmethod
    def _period_index(block: _Block, period: Period) -> int | None:
        return block.period_index.get(period)

    @staticmethod
    def hidden_counts(singles: pl.DataFrame | None) -> dict:
        """(pid, area, role) -> whether that count is hidden, for the single years already published."""
        out = {}
        if singles is None:
            return out
        for pid, area, num, den in singles.select("pid", "area", "numerator_hidden", "denominator_hidden").iter_rows():
            out[(pid, area, "numerator")] = bool(num)
            out[(pid, area, "denominator")] = bool(den)
        return out

    def _equalities(self, years: list[int], atom_ids: dict, values: np.ndarray) -> list[tuple[int, list[int]]]:
        """Atom equalities (total, parts) of the block's years, where every atom is counted and the sum holds."""
        out = []
        for total, parts in self.equalities:
            for y in years:
                t = atom_ids.get((total, y))
                ps = [atom_ids.get((p, y)) for p in parts]
                if t is None or any(p is None for p in ps):
                    continue
                ps = np.stack(ps)
                ok = (t >= 0) & (ps >= 0).all(axis=0)
                ok[ok] = values[t[ok]] == values[ps[:, ok]].sum(axis=0)
                out += [(int(t[u]), ps[:, u].tolist()) for u in np.flatnonzero(ok)]
        return out

    def _count_bounds(self, years: list[int], atom_ids: dict, values: np.ndarray) -> list[tuple[int, int]]:
        """Atom pairs i <= j from the count relations (persons with an event <= events), where they hold."""
        pairs = []
        for small, large in self.count_bounds:
            for y in years:
                a, b = atom_ids.get((small, y)), atom_ids.get((large, y))
                if a is None or b is None:
                    continue
                both = (a >= 0) & (b >= 0)
                both[both] = values[a[both]] <= values[b[both]]
                pairs += list(zip(a[both].tolist(), b[both].tolist()))
        return pairs

    @staticmethod
    def _bounds(blocks: Sequence[_Block], years: list[int], atom_ids: dict) -> list[tuple[int, int]]:
        """numerator atom <= denominator atom for proportions of two counts."""
        pairs = set()
        for block in blocks:
            ind = block.indicator
            num, den = _count_key(ind.numerator), _count_key(ind.denominator)
            if ind.type != "proportion" or den is None:
                continue
            for y in years:
                a, b = atom_ids.get((num, y)), atom_ids.get((den, y))
                if a is None or b is None:
                    continue
                both = (a >= 0) & (b >= 0)
                pairs.update(zip(a[both].tolist(), b[both].tolist()))
        return sorted(pairs)


def clear_caches() -> None:
    pass
