"""The indicator engine: catalogue + store -> suppressed indicator tables.

For one indicator and one period the engine aggregates the kommune cells to every level at
once (kommune, helsefellesskap, RHF, fylke, land), computes the statistics with
``indicators.methods``, and suppresses small counts over the whole hierarchy, so a figure is
masked the same way whichever level is asked for. Only ``compute`` and the helpers built on
it are public; they never return a masked count.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from data_loaders.reference import LEVELS, NATIONAL_ID, NATIONAL_NAME
from indicators import data, methods, result_cache
from indicators.catalogue import Indicator, load_catalogue
from indicators.suppression import FORCED, SECONDARY, SMALL_COUNT, Relation, count_cost, suppress

SUPPRESSION_LEVELS = ("kommune", "helsefellesskap", "rhf", "fylke", "land")
# Extra masks fall on kommuner before the totals that users read most.
_MASK_ORDER = {"kommune": 0, "fylke": 1, "helsefellesskap": 2, "rhf": 3, "land": 4}


def _mask_cost(cell: tuple[str, str], numerators, denominators) -> tuple:
    return (_MASK_ORDER[cell[0]], *count_cost(cell, numerators, denominators))
POOLING_YEARS = 3
RHF_ORDER = ("Helse Nord RHF", "Helse Midt-Norge RHF", "Helse Vest RHF", "Helse Sør-Øst RHF")

OK = "ok"
NOT_REPORTED = "not_reported"
TOO_FEW_TO_STANDARDISE = "too_few_to_standardise"
FLAG_LABELS = {
    OK: "",
    NOT_REPORTED: "Ikke rapportert",
    SMALL_COUNT: "Anonymisert: for få hendelser",
    SECONDARY: "Skjult for å beskytte et annet anonymisert tall",
    FORCED: "Skjult for å beskytte et anonymisert tall i et enkeltår",
    TOO_FEW_TO_STANDARDISE: "For få hendelser til å standardisere (under 10)",
}
SPVFLAGG = {OK: 0, NOT_REPORTED: 1, SMALL_COUNT: 2, SECONDARY: 3, FORCED: 3, TOO_FEW_TO_STANDARDISE: 4}
SUPPRESSION_FLAGS = (SMALL_COUNT, SECONDARY, FORCED)

VALUE_COLUMNS = (
    "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8",
    "crude_value", "crude_lower_95", "crude_upper_95",
)
OUTPUT_COLUMNS = (
    "indicator_id", "level", "area_id", "area_name", "period", "year_start", "year_end",
    "numerator", "denominator", *VALUE_COLUMNS, "standardised", "method", "unit",
    "national_value", "significance", "assessment", "flag", "flag_label", "spvflagg",
    "reporting_kommuner", "total_kommuner",
)


class IndicatorRequestError(ValueError):
    """A request the engine cannot answer (unknown level, year, period); the message says why."""


@dataclass(frozen=True, order=True)
class Period:
    start: int
    end: int

    @property
    def label(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}–{self.end}"

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.start, self.end + 1))

    @property
    def is_pooled(self) -> bool:
        return self.end > self.start


# --- periods -------------------------------------------------------------------------------


def available_years(indicator_id: str, key: data.DataKey | None = None) -> list[int]:
    """Years with data for the indicator (from its first year, where the measures are covered)."""
    return list(_available_years(key or data.current_key(), load_catalogue().indicator(indicator_id)))


@lru_cache(maxsize=256)
def _available_years(key: data.DataKey, ind: Indicator) -> tuple[int, ...]:
    # Every compute() asks this several times; the coverage scan is done once per store state.
    covered = set(data.years(key))
    for measure in ind.measures:
        covered &= set(data.coverage(key, measure)["year"].unique().to_list())
    return tuple(sorted(y for y in covered if ind.first_year is None or y >= ind.first_year))


def pooled_periods(indicator_id: str, key: data.DataKey | None = None) -> list[Period]:
    """The fixed pooled periods: whole windows of ``POOLING_YEARS`` ending at the latest year.

    Windows never overlap, so pooled and single-year figures cannot be subtracted from one
    another to uncover a suppressed count (the temporal rule in ``_suppress`` covers the rest).
    """
    years = available_years(indicator_id, key)
    periods = []
    end = max(years, default=None)
    while end is not None and all(y in years for y in range(end - POOLING_YEARS + 1, end + 1)):
        periods.append(Period(end - POOLING_YEARS + 1, end))
        end -= POOLING_YEARS
    return periods


# --- aggregation -------------------------------------------------------------------------


def _term_filter(frame: pl.DataFrame, bands: tuple[str, ...], sex: str) -> pl.DataFrame:
    frame = frame.filter(pl.col("age_band").is_in(bands))
    return frame if sex == "all" else frame.filter(pl.col("sex") == sex)


def _kommune_cells(key: data.DataKey, ind: Indicator, periods: tuple[Period, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Numerator and denominator by period × kommune × sex × age band, over covered kommune-years.

    Returns the cells and, per period and kommune, how many of its years were reported.
    """
    year_period = pl.DataFrame(
        [(y, i) for i, p in enumerate(periods) for y in p.years],
        schema={"year": pl.Int32, "period_id": pl.Int32},
        orient="row",
    )
    years = year_period["year"].unique().to_list()
    covered = None
    for measure in ind.measures:
        cov = data.coverage(key, measure).filter(pl.col("year").is_in(years))
        covered = cov if covered is None else covered.join(cov, on=["year", "kommunenummer"], how="inner")
    if covered is None:
        covered = data.population(key).filter(pl.col("year").is_in(years)).select("year", "kommunenummer").unique()
    keys = ["year", "kommunenummer", "sex", "age_band"]
    if ind.denominator.population:
        den = data.population(key).rename({"population": "denominator"})
    else:
        den = data.counts(key, ind.denominator.measure).rename({"count": "denominator"})
    den = _term_filter(den.filter(pl.col("year").is_in(years)), ind.denominator.age_bands, ind.denominator.sex)
    num = data.counts(key, ind.numerator.measure).rename({"count": "numerator"})
    num = _term_filter(num.filter(pl.col("year").is_in(years)), ind.numerator.age_bands, ind.numerator.sex)
    cells = (
        den.join(num, on=keys, how="full", coalesce=True)
        .join(covered, on=["year", "kommunenummer"], how="semi")
        .join(year_period, on="year", how="inner")
        .with_columns(pl.col("numerator").fill_null(0.0), pl.col("denominator").cast(pl.Float64).fill_null(0.0))
        .group_by("period_id", "kommunenummer", "sex", "age_band")
        .agg(pl.col("numerator").sum(), pl.col("denominator").sum())
    )
    reported = (
        covered.join(year_period, on="year", how="inner")
        .group_by("period_id", "kommunenummer")
        .agg(pl.len().alias("covered_years"))
    )
    return cells, reported


def _level_map(areas: pl.DataFrame, level: str) -> pl.DataFrame:
    column = {
        "kommune": pl.col("kommunenummer"),
        "helsefellesskap": pl.col("helsefellesskap_id"),
        "rhf": pl.col("rhf"),
        "fylke": pl.col("fylkesnummer"),
        "land": pl.lit(NATIONAL_ID),
    }[level]
    return areas.select("kommunenummer", column.alias("area_id"))


def _area_names(key: data.DataKey, level: str) -> pl.DataFrame:
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


def _statistics(ind: Indicator, bands: pl.DataFrame, standard: pl.DataFrame) -> pl.DataFrame:
    """Crude and (if declared) standardised values with limits, one row per period and area."""
    group = ["period_id", "area_id"]
    totals = bands.group_by(group).agg(pl.col("numerator").sum(), pl.col("denominator").sum())
    computable = totals.filter(pl.col("denominator") > 0)
    if ind.type == "rate":
        crude = methods.crude_rate(computable, count="numerator", denominator="denominator", multiplier=ind.multiplier)
    else:
        crude = methods.proportion(computable, numerator="numerator", denominator="denominator", multiplier=ind.multiplier)
    crude = crude.select(
        *group,
        pl.col("value").alias("crude_value"),
        pl.col("lower_95").alias("crude_lower_95"),
        pl.col("upper_95").alias("crude_upper_95"),
        pl.col("lower_99_8").alias("crude_lower_99_8"),
        pl.col("upper_99_8").alias("crude_upper_99_8"),
        pl.col("method").alias("crude_method"),
    )
    table = totals.join(crude, on=group, how="left").join(_expected(bands), on=group, how="left")
    if not ind.is_standardised:
        return table.with_columns(
            pl.col("crude_value").alias("value"),
            pl.col("crude_lower_95").alias("lower_95"),
            pl.col("crude_upper_95").alias("upper_95"),
            pl.col("crude_lower_99_8").alias("lower_99_8"),
            pl.col("crude_upper_99_8").alias("upper_99_8"),
            pl.col("crude_method").alias("method"),
            pl.lit(False).alias("too_few_to_standardise"),
        )
    by = ["age_band"] + (["sex"] if "sex" in ind.standardisation.by else [])
    weights = standard.filter(pl.col("age_band").is_in(ind.denominator.age_bands)).group_by(by).agg(pl.col("weight").sum())
    grouped = bands.group_by([*group, *by]).agg(pl.col("numerator").sum(), pl.col("denominator").sum())
    dsr = methods.directly_standardised_rate(
        grouped,
        group_by=group,
        count="numerator",
        population="denominator",
        standard=weights,
        standard_weight="weight",
        join_on=tuple(by),
        multiplier=ind.multiplier,
        empty_bands="zero",
    ).select(*group, "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "method")
    return table.join(dsr, on=group, how="left").with_columns(
        (pl.col("value").is_null() & (pl.col("denominator") > 0)).alias("too_few_to_standardise")
    )


def _expected(bands: pl.DataFrame) -> pl.DataFrame:
    """Expected numerator per period and area from the national band rates (indirect standardisation)."""
    national = bands.group_by("period_id", "sex", "age_band").agg(
        (pl.col("numerator").sum() / pl.col("denominator").sum()).fill_nan(0.0).alias("national_rate")
    )
    return (
        bands.join(national, on=["period_id", "sex", "age_band"], how="left")
        .group_by("period_id", "area_id")
        .agg((pl.col("denominator") * pl.col("national_rate").fill_null(0.0)).sum().alias("expected"))
    )


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


@lru_cache(maxsize=256)
def _indicator_table(key: data.DataKey, ind: Indicator, periods: tuple[Period, ...]) -> pl.DataFrame:
    """All levels for the given periods, with raw counts and the suppression reason per row.

    Keyed on the whole Indicator (not its id), so a changed definition or threshold misses.
    """
    path = result_cache.entry_path(key, ind, periods)
    cached = result_cache.read(path)
    if cached is not None:
        return cached
    table = _compute_indicator_table(key, ind, periods)
    result_cache.write(path, table)
    return table


def _compute_indicator_table(key: data.DataKey, ind: Indicator, periods: tuple[Period, ...]) -> pl.DataFrame:
    areas = data.areas(key)
    cells, reported = _kommune_cells(key, ind, periods)
    standard_year = load_catalogue().standard_populations.get(ind.standardisation.standard or "", {}).get("year", 2024)
    standard, _ = data.standard_population(key, int(standard_year))
    frames = []
    for level in SUPPRESSION_LEVELS:
        mapping = _level_map(areas, level)
        stats = _statistics(ind, cells.join(mapping, on="kommunenummer", how="inner"), standard)
        rep = (
            reported.join(mapping, on="kommunenummer", how="inner")
            .group_by("period_id", "area_id").agg(pl.len().alias("reporting_kommuner"))
        )
        total = mapping.group_by("area_id").agg(pl.len().alias("total_kommuner"))
        grid = _area_names(key, level).join(
            pl.DataFrame({"period_id": list(range(len(periods)))}, schema={"period_id": pl.Int32}), how="cross"
        )
        frames.append(
            grid.join(total, on="area_id", how="left")
            .join(rep, on=["period_id", "area_id"], how="left")
            .join(stats, on=["period_id", "area_id"], how="left")
            .with_columns(pl.lit(level).alias("level"), pl.col("reporting_kommuner").fill_null(0))
        )
    table = pl.concat(frames, how="diagonal_relaxed")
    national = table.filter(pl.col("level") == "land").select("period_id", pl.col("value").alias("national_value"))
    table = table.join(national, on="period_id", how="left")
    table = methods.significance_vs_benchmark(
        table, benchmark="national_value", lower="lower_95", upper="upper_95", direction=ind.direction
    )
    reasons = []
    for period_id, period in enumerate(periods):
        in_period = table.filter(pl.col("period_id") == period_id)
        rep = reported.filter(pl.col("period_id") == period_id)
        reasons.append(
            _suppress(key, ind, period, in_period, set(rep["kommunenummer"].to_list()))
            .with_columns(pl.lit(period_id, dtype=pl.Int32).alias("period_id"))
        )
    period_info = pl.DataFrame(
        {
            "period_id": list(range(len(periods))),
            "period": [p.label for p in periods],
            "year_start": [p.start for p in periods],
            "year_end": [p.end for p in periods],
        },
        schema={"period_id": pl.Int32, "period": pl.String, "year_start": pl.Int32, "year_end": pl.Int32},
    )
    return (
        table.join(pl.concat(reasons), on=["period_id", "level", "area_id"], how="left")
        .join(period_info, on="period_id", how="left")
        .with_columns(pl.lit(ind.id).alias("indicator_id"))
    )


def _single_years(key: data.DataKey, indicator_id: str) -> tuple[Period, ...]:
    return tuple(Period(y, y) for y in available_years(indicator_id, key))


def _period_table(key: data.DataKey, indicator_id: str, period: Period) -> pl.DataFrame:
    """One period's rows of the cached table that holds it (all single years, or the pooled period)."""
    periods = _single_years(key, indicator_id) if not period.is_pooled else (period,)
    table = _indicator_table(key, load_catalogue().indicator(indicator_id), periods)
    return table.filter((pl.col("year_start") == period.start) & (pl.col("year_end") == period.end))


def _suppress(key: data.DataKey, ind: Indicator, period: Period, table: pl.DataFrame, reported: set[str]) -> pl.DataFrame:
    present = table.filter(pl.col("reporting_kommuner") > 0)
    keys = list(zip(present["level"].to_list(), present["area_id"].to_list()))
    numerators = dict(zip(keys, present["numerator"].fill_null(0.0).to_list()))
    denominators = dict(zip(keys, present["denominator"].fill_null(0.0).to_list()))
    forced = _temporal_forced(key, ind, period, keys) if period.is_pooled else []
    masked = suppress(
        numerators, denominators, _relations(key, frozenset(reported)), ind.suppression_threshold,
        protect_denominator=ind.denominator_is_sensitive, forced=forced, cost=_mask_cost,
    )
    return pl.DataFrame(
        {"level": [k[0] for k in masked], "area_id": [k[1] for k in masked], "suppression": list(masked.values())},
        schema={"level": pl.String, "area_id": pl.String, "suppression": pl.String},
    )


def _temporal_forced(key: data.DataKey, ind: Indicator, period: Period, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Pooled cells that, with the published single years, would reveal a masked single year.

    A pooled cell is forced hidden when exactly one of its single years is masked, or when
    the masked single years hold fewer events together than the threshold.
    """
    singles = _indicator_table(key, ind, _single_years(key, ind.id)).filter(
        (pl.col("year_start") >= period.start) & (pl.col("year_end") <= period.end) & pl.col("suppression").is_not_null()
    )
    masked_years: dict[tuple[str, str], list[float]] = {}
    for level, area_id, num in singles.select("level", "area_id", "numerator").iter_rows():
        masked_years.setdefault((level, area_id), []).append(num or 0.0)
    forced = []
    for cell in keys:
        nums = masked_years.get(cell, [])
        if len(nums) == 1 or 0 < sum(nums) < ind.suppression_threshold:
            forced.append(cell)
    return forced


# --- public API ------------------------------------------------------------------------------


def _flag(table: pl.DataFrame) -> pl.DataFrame:
    flag = (
        pl.when(pl.col("reporting_kommuner") == 0).then(pl.lit(NOT_REPORTED))
        .when(pl.col("suppression").is_not_null()).then(pl.col("suppression"))
        .when(pl.col("too_few_to_standardise").fill_null(False)).then(pl.lit(TOO_FEW_TO_STANDARDISE))
        .otherwise(pl.lit(OK))
    )
    return table.with_columns(flag.alias("flag")).with_columns(
        pl.col("flag").replace_strict(FLAG_LABELS, return_dtype=pl.String).alias("flag_label"),
        pl.col("flag").replace_strict(SPVFLAGG, return_dtype=pl.Int8).alias("spvflagg"),
    )


def _mask(table: pl.DataFrame, ind: Indicator) -> pl.DataFrame:
    """Null every figure that could reveal a masked count."""
    hidden = pl.col("flag").is_in(list(SUPPRESSION_FLAGS) + [NOT_REPORTED])
    masked = [pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in ("numerator", *VALUE_COLUMNS)]
    if ind.denominator_is_sensitive:
        masked.append(pl.when(hidden).then(None).otherwise(pl.col("denominator")).alias("denominator"))
    else:
        masked.append(pl.when(pl.col("flag") == NOT_REPORTED).then(None).otherwise(pl.col("denominator")).alias("denominator"))
    significance = pl.when(hidden).then(pl.lit("not_compared")).otherwise(pl.col("significance")).alias("significance")
    assessment = pl.when(hidden).then(pl.lit("not_compared")).otherwise(pl.col("assessment")).alias("assessment")
    return table.with_columns(*masked, significance, assessment)


def _resolve_periods(ind: Indicator, key: data.DataKey, years, period: Period | None) -> list[Period]:
    available = available_years(ind.id, key)
    if period is not None:
        allowed = pooled_periods(ind.id, key)
        if period.is_pooled and period not in allowed:
            choices = ", ".join(p.label for p in allowed) or "ingen"
            raise IndicatorRequestError(
                f"{period.label} is not a published pooled period for {ind.id}; pooled periods are fixed "
                f"{POOLING_YEARS}-year windows so that they cannot be subtracted from each other: {choices}"
            )
        if not period.is_pooled and period.start not in available:
            raise IndicatorRequestError(f"no data for {ind.id} in {period.start}; years with data: {_years_text(available)}")
        return [period]
    if years is None:
        return [Period(y, y) for y in available]
    missing = sorted(set(years) - set(available))
    if missing:
        raise IndicatorRequestError(
            f"no data for {ind.id} in {', '.join(map(str, missing))}; years with data: {_years_text(available)}"
        )
    return [Period(y, y) for y in sorted(set(years))]


def _years_text(years: list[int]) -> str:
    return f"{years[0]}-{years[-1]}" if years else "none"


def compute(
    indicator_id: str,
    level: str = "helsefellesskap",
    years: list[int] | tuple[int, ...] | None = None,
    period: Period | None = None,
    key: data.DataKey | None = None,
) -> pl.DataFrame:
    """The suppressed indicator table for one level: one row per area and period.

    ``years`` lists single years (default: every year with data); ``period`` asks for one
    period instead, single or pooled (pooled periods: see ``pooled_periods``).
    """
    if level not in LEVELS:
        raise IndicatorRequestError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    ind = load_catalogue().indicator(indicator_id)
    key = key or data.current_key()
    frames = []
    for p in _resolve_periods(ind, key, years, period):
        table = _period_table(key, ind.id, p)
        source_level = "helsefellesskap" if level == "helseforetak" else level
        rows = table.filter(pl.col("level") == source_level).drop("area_name", "sort_order", "period_id")
        names = _area_names(key, level)
        rows = names.join(rows.with_columns(pl.lit(level).alias("level")), on="area_id", how="left")
        frames.append(rows)
    table = _flag(pl.concat(frames, how="diagonal_relaxed"))
    table = _mask(table, ind).with_columns(
        pl.lit(ind.is_standardised).alias("standardised"),
        pl.lit(ind.unit_label).alias("unit"),
    )
    return table.sort("year_start", "year_end", "sort_order").select(OUTPUT_COLUMNS)


def clear_caches() -> None:
    """Forget every in-process table (the disk result cache stays)."""
    _indicator_table.cache_clear()
    _available_years.cache_clear()
    _relations.cache_clear()
    data.clear_caches()


def national_series(indicator_id: str, key: data.DataKey | None = None) -> pl.DataFrame:
    """The national value per year (for trend lines)."""
    return compute(indicator_id, "land", key=key)
