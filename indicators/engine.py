"""The indicator engine: catalogue + store -> suppressed indicator tables.

The engine computes the whole catalogue at once for a store state (``indicators.computation``:
every indicator, period and level in one vectorised pass, suppressed over the whole
hierarchy), keeps it in memory and in the disk result cache, and answers every request from
it. It does so in two stages: every single year, and (when a pooled period is first asked
for, or on ``warm``) the pooled periods, whose suppression is audited together with the
single years they sum. Only ``compute`` and the helpers built on it are public; they never return a masked count.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from data_loaders.reference import LEVELS
from indicators import computation, data, published, result_cache
from indicators.catalogue import Indicator, load_catalogue
from indicators.computation import RHF_ORDER, SUPPRESSION_LEVELS  # noqa: F401 (re-exported)
from indicators.periods import POOLING_YEARS, Period, all_periods, pooled_windows
from indicators.suppression import SECONDARY, SMALL_COUNT

OK = "ok"
NOT_REPORTED = "not_reported"
SUPPRESSED = "suppressed"
TOO_FEW_TO_STANDARDISE = "too_few_to_standardise"
# Every hidden count carries one flag and one symbol in every output, whatever the reason (as SSB
# publishes ":" for every confidentiality suppression): the reason would tell an attacker which
# hidden counts are small. The reasons (small_count, secondary) stay in the internal tables and the
# suppression log (``suppression_log``), never in public outputs.
SUPPRESSED_SYMBOL = ":"
FLAG_LABELS = {
    OK: "",
    NOT_REPORTED: "Ikke rapportert",
    SUPPRESSED: "Skjult av personvernhensyn",
    TOO_FEW_TO_STANDARDISE: "For få hendelser til å standardisere (under 10)",
}
SPVFLAGG = {OK: 0, NOT_REPORTED: 1, SUPPRESSED: 2, TOO_FEW_TO_STANDARDISE: 4}
SUPPRESSION_FLAGS = (SUPPRESSED,)
SUPPRESSION_REASONS = {SMALL_COUNT: "Primær: tellingen er under terskelen",
                       SECONDARY: "Sekundær: skjult for å beskytte en annen skjult telling"}

VALUE_COLUMNS = (
    "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8",
    "crude_value", "crude_lower_95", "crude_upper_95",
    "expected",  # the indirectly standardised expected count (the funnel's scale), masked with the value
)
OUTPUT_COLUMNS = (
    "indicator_id", "level", "area_id", "area_name", "period", "year_start", "year_end",
    "numerator", "denominator", *VALUE_COLUMNS, "standardised", "method", "unit",
    "national_value", "significance", "assessment", "flag", "flag_label", "spvflagg",
    "reporting_kommuner", "total_kommuner",
)

__all__ = [
    "FLAG_LABELS", "NOT_REPORTED", "OK", "OUTPUT_COLUMNS", "POOLING_YEARS", "SUPPRESSED", "SUPPRESSED_SYMBOL",
    "SUPPRESSION_FLAGS",
    "IndicatorRequestError", "Period", "available_years", "clear_caches", "compute", "national_series",
    "pooled_periods",
]


class IndicatorRequestError(ValueError):
    """A request the engine cannot answer (unknown level, year, period); the message says why."""


# --- periods -------------------------------------------------------------------------------


def available_years(indicator_id: str, key: data.DataKey | None = None) -> list[int]:
    """Years with data for the indicator (from its first year, where the measures are covered)."""
    key = key or data.current_key()
    ind = _catalogue(key).indicator(indicator_id)
    if ind.is_published:  # the publisher's single years
        return [a for a, b in published.periods(key, ind.id) if a == b]
    return list(_available_years(key, ind))


def _catalogue(key: data.DataKey):
    """The catalogue with the published indicators of the store ``key`` names."""
    return published.with_published(load_catalogue(), key)


@lru_cache(maxsize=256)
def _available_years(key: data.DataKey, ind: Indicator) -> tuple[int, ...]:
    covered = set(data.years(key))
    measure_years = data.measure_years(key)
    for measure in ind.measures:
        covered &= measure_years.get(measure, frozenset())
    return tuple(sorted(y for y in covered if ind.first_year is None or y >= ind.first_year))


def pooled_periods(indicator_id: str, key: data.DataKey | None = None) -> list[Period]:
    """The fixed pooled periods: complete windows of ``POOLING_YEARS`` anchored at ``POOLING_EPOCH``.

    Windows never overlap and never move when a year is added, so pooled figures cannot be
    subtracted from each other within or across releases; each is audited with its single years.
    """
    key = key or data.current_key()
    ind = _catalogue(key).indicator(indicator_id)
    if ind.is_published:  # the publisher's own multi-year periods (e.g. Helseatlas' 2020-2024 averages)
        return [Period(a, b) for a, b in published.periods(key, ind.id) if a < b]
    return pooled_windows(available_years(indicator_id, key))


# --- the computed catalogue, cached per store state and catalogue --------------------------


@dataclass(frozen=True)
class _Tables:
    internal: dict[str, pl.DataFrame]  # indicator_id -> every level and period, raw counts and reasons
    public: dict[tuple[str, str], pl.DataFrame]  # (indicator_id, level) -> flagged and masked rows


SINGLE_YEARS, POOLED = "single_years", "pooled"  # the two stages
_CACHE_SIZE = 8
_cache: OrderedDict[tuple, _Tables] = OrderedDict()
_cache_lock = threading.Lock()  # guards _cache and _build_locks
_build_locks: dict[tuple, threading.Lock] = {}  # one per stage and store state: a stage never waits for another


def _stage(period: Period | None) -> str:
    return POOLED if period is not None and period.is_pooled else SINGLE_YEARS


def _tables(key: data.DataKey, stage: str = SINGLE_YEARS) -> _Tables:
    """One stage of the whole catalogue for this store state, computed once (threads wait for the first)."""
    computed = published.computed_only(load_catalogue().indicators)  # published values are never computed
    cache_key = (key, computed, stage)
    with _cache_lock:
        if cache_key in _cache:
            _cache.move_to_end(cache_key)
            return _cache[cache_key]
        build_lock = _build_locks.setdefault(cache_key, threading.Lock())
    with build_lock:
        with _cache_lock:
            if cache_key in _cache:  # built by the thread we waited for
                return _cache[cache_key]
        tables = _build_tables(key, computed, stage)
        with _cache_lock:
            _cache[cache_key] = tables
            _build_locks.pop(cache_key, None)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return tables


def _request(key: data.DataKey, indicators: tuple[Indicator, ...], stage: str) -> computation.Request:
    populations = load_catalogue().standard_populations
    standards = {}
    for ind in indicators:
        if ind.is_standardised:
            year = int(populations.get(ind.standardisation.standard or "", {}).get("year", 2024))
            standards[ind.id] = data.standard_population(key, year)[0]
    # The pooled stage counts the single years again (its cells are audited with them) and takes
    # their masks as the single-year stage published them.
    periods = {
        ind.id: tuple(p for p in all_periods(_available_years(key, ind)) if stage == POOLED or not p.is_pooled)
        for ind in indicators
    }
    masks = _single_year_masks(key) if stage == POOLED else None
    equalities, count_bounds = computation.count_relations(indicators, load_catalogue().overlap)
    return computation.Request(indicators=indicators, periods=periods, standards=standards, single_year_masks=masks,
                               equalities=equalities, count_bounds=count_bounds)


def _single_year_masks(key: data.DataKey) -> pl.DataFrame:
    """indicator_id, year_start, level, area_id, suppression and the hidden counts of every masked single-year cell."""
    columns = ["indicator_id", "year_start", "level", "area_id", "suppression", "numerator_hidden", "denominator_hidden"]
    tables = [t.filter(pl.col("suppression").is_not_null()).select(columns) for t in _tables(key).internal.values()]
    if not tables:
        return pl.DataFrame(schema={"indicator_id": pl.String, "year_start": pl.Int32, "level": pl.String,
                                    "area_id": pl.String, "suppression": pl.String,
                                    "numerator_hidden": pl.Boolean, "denominator_hidden": pl.Boolean})
    return pl.concat(tables)


def _internal_table(key: data.DataKey, indicators: tuple[Indicator, ...], stage: str) -> pl.DataFrame:
    """One stage of the computed catalogue from the disk result cache, or computed now and stored there.

    Keyed on the whole indicator definitions (not their ids), so a changed definition or
    threshold misses, and on the version of the store's counts rather than its address: a copy of a
    store starts warm, and so does a store that has only gained published values.
    """
    path = result_cache.entry_path(key.counts_version or key.version, indicators, f"catalogue-{stage}")
    cached = result_cache.read(path)
    if cached is not None:
        return cached
    request = _request(key, indicators, stage)  # (the pooled stage needs the single years first)
    with result_cache.computing(path):
        cached = result_cache.read(path)  # computed by another process while this one waited
        if cached is not None:
            return cached
        data.prefetch(key)
        table = computation.catalogue_table(key, request)
        if stage == POOLED and table.height:
            table = table.filter(pl.col("year_start") < pl.col("year_end"))
        result_cache.write(path, table)
    return table


def _build_tables(key: data.DataKey, indicators: tuple[Indicator, ...], stage: str) -> _Tables:
    table = _internal_table(key, indicators, stage)
    if table.height == 0:
        return _Tables({}, {})
    public = _public_rows(key, table, indicators)
    return _Tables(
        internal={k[0]: v for k, v in table.partition_by("indicator_id", as_dict=True).items()},
        public={k: v for k, v in public.partition_by("indicator_id", "level", as_dict=True, maintain_order=True).items()},
    )


def _public_rows(key: data.DataKey, table: pl.DataFrame, indicators: tuple[Indicator, ...]) -> pl.DataFrame:
    """Every row flagged and masked (every level is computed, helseforetak included)."""
    info = pl.DataFrame({
        "indicator_id": [i.id for i in indicators],
        "standardised": [i.is_standardised for i in indicators],
        "unit": [i.unit_label for i in indicators],
        "denominator_is_sensitive": [i.denominator_is_sensitive for i in indicators],
    })
    rows = _mask(_flag(table.join(info, on="indicator_id")))
    return rows.sort("indicator_id", "level", "year_start", "year_end", "sort_order").select(OUTPUT_COLUMNS)


def _flag(table: pl.DataFrame) -> pl.DataFrame:
    flag = (
        pl.when(pl.col("reporting_kommuner") == 0).then(pl.lit(NOT_REPORTED))
        .when(pl.col("suppression").is_not_null()).then(pl.lit(SUPPRESSED))
        .when(pl.col("too_few_to_standardise").fill_null(False)).then(pl.lit(TOO_FEW_TO_STANDARDISE))
        .otherwise(pl.lit(OK))
    )
    return table.with_columns(flag.alias("flag")).with_columns(
        pl.col("flag").replace_strict(FLAG_LABELS, return_dtype=pl.String).alias("flag_label"),
        pl.col("flag").replace_strict(SPVFLAGG, return_dtype=pl.Int8).alias("spvflagg"),
    )


def _mask(table: pl.DataFrame) -> pl.DataFrame:
    """Null every figure that could reveal a masked count (a register denominator too; the population is public)."""
    hidden = pl.col("flag").is_in(list(SUPPRESSION_FLAGS) + [NOT_REPORTED])
    masked = [pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in ("numerator", *VALUE_COLUMNS)]
    denominator_hidden = pl.when(pl.col("denominator_is_sensitive")).then(hidden).otherwise(pl.col("flag") == NOT_REPORTED)
    masked.append(pl.when(denominator_hidden).then(None).otherwise(pl.col("denominator")).alias("denominator"))
    significance = pl.when(hidden).then(pl.lit("not_compared")).otherwise(pl.col("significance")).alias("significance")
    assessment = pl.when(hidden).then(pl.lit("not_compared")).otherwise(pl.col("assessment")).alias("assessment")
    return table.with_columns(*masked, significance, assessment)


def _period_table(key: data.DataKey, indicator_id: str, period: Period) -> pl.DataFrame:
    """One period's internal rows (every suppression level, raw counts, ``suppression`` reason)."""
    table = _tables(key, _stage(period)).internal.get(indicator_id)
    if table is None:
        return pl.DataFrame()
    return table.filter((pl.col("year_start") == period.start) & (pl.col("year_end") == period.end))


# --- public API ------------------------------------------------------------------------------


def _resolve_periods(ind: Indicator, key: data.DataKey, years, period: Period | None) -> list[Period] | None:
    """The requested periods (None: every single year), or a clear error."""
    available = available_years(ind.id, key)
    if period is not None:
        allowed = pooled_periods(ind.id, key)
        if period.is_pooled and period not in allowed:
            choices = ", ".join(p.label for p in allowed) or "ingen"
            raise IndicatorRequestError(
                f"{period.label} is not a published pooled period for {ind.id}; pooled periods are fixed "
                f"{POOLING_YEARS}-year windows (2020-2022, 2023-2025, ...) so that they cannot be subtracted from each other: {choices}"
            )
        if not period.is_pooled and period.start not in available:
            raise IndicatorRequestError(f"no data for {ind.id} in {period.start}; years with data: {_years_text(available)}")
        return [period]
    if years is None:
        return None
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
    key = key or data.current_key()
    ind = _catalogue(key).indicator(indicator_id)
    periods = _resolve_periods(ind, key, years, period)
    if ind.is_published:
        return published.table(key, ind, level, None if periods is None else [(p.start, p.end) for p in periods])
    rows = _tables(key, _stage(period)).public.get((ind.id, level))
    if rows is None:
        return pl.DataFrame(schema=dict.fromkeys(OUTPUT_COLUMNS, pl.String)).clear()
    if periods is None:
        return rows  # the single-year stage holds single years only
    wanted = pl.DataFrame({"year_start": [p.start for p in periods], "year_end": [p.end for p in periods]},
                          schema={"year_start": pl.Int32, "year_end": pl.Int32})
    return rows.join(wanted, on=["year_start", "year_end"], how="semi", maintain_order="left")


def warm(key: data.DataKey | None = None) -> None:
    """Compute the whole catalogue for the store now, single years and pooled periods (after a build or an import)."""
    key = key or data.current_key()
    for stage in (SINGLE_YEARS, POOLED):
        _tables(key, stage)


def clear_caches() -> None:
    """Forget every in-process table (the disk result cache stays)."""
    with _cache_lock:
        _cache.clear()
        _build_locks.clear()
    _available_years.cache_clear()
    published.clear_caches()
    computation.clear_caches()
    data.clear_caches()


def suppression_log(key: data.DataKey | None = None) -> pl.DataFrame:
    """Internal: every hidden cell with the reason (primary or secondary), for the audit log.

    Never shown in public mode (the CLI's ``suppression-log`` refuses there): the public sees one
    symbol for every hidden count.
    """
    key = key or data.current_key()
    columns = ["indicator_id", "level", "area_id", "area_name", "period", "suppression", "numerator_hidden", "denominator_hidden"]
    parts = [t.filter(pl.col("suppression").is_not_null()).select(columns)
             for stage in (SINGLE_YEARS, POOLED) for t in _tables(key, stage).internal.values()]
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    return pl.concat(parts).with_columns(
        pl.col("suppression").replace_strict(SUPPRESSION_REASONS, return_dtype=pl.String).alias("reason")
    ).sort("indicator_id", "level", "period", "area_id")


def national_series(indicator_id: str, key: data.DataKey | None = None) -> pl.DataFrame:
    """The national value per year (for trend lines)."""
    return compute(indicator_id, "land", key=key)
