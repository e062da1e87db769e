"""Directly and indirectly standardised rates and ratios.

References
----------
- DSR: Dobson AJ, Kuulasmaa K, Eberle E, Scherer J. Confidence intervals for
  weighted sums of Poisson parameters. Stat Med 1991;10:457-62; Byar's limits
  from Breslow NE, Day NE, Statistical methods in cancer research vol. II,
  IARC 1987.  As PHEindicatormethods ``phe_dsr`` / ``calculate_dsr``.
- ISR: Breslow & Day 1987 (Byar's); Armitage P, Berry G, Statistical methods
  in medical research, 4th edn 2002 (exact).  As PHEindicatormethods
  ``calculate_ISRatio`` / ``calculate_ISRate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from ._validate import (
    format_number,
    MethodInputError,
    check_multiplier,
    column_list,
    describe_key,
    float_series,
    key_columns_complete,
    numeric_column,
    require_columns,
    require_frame,
)
from .levels import DEFAULT_CONFIDENCE, lower_name, normalise_confidence, upper_name
from .rates import byars_limits, count_limits, count_method

_GROUP = "__group__"
DSR_MIN_COUNT = 10


# --------------------------------------------------------------------------- helpers


def _band_text(keys: Sequence[str], values: Sequence[object]) -> str:
    if len(keys) == 1:
        return repr(values[0])
    return "(" + describe_key(keys, values) + ")"


def _band_noun(keys: Sequence[str]) -> str:
    return "age band(s)" if len(keys) == 1 and "age" in keys[0].lower() else "band(s)"


def _list_bands(frame: pl.DataFrame, keys: Sequence[str], limit: int = 10) -> str:
    rows = frame.select(keys).unique(maintain_order=True).rows()
    text = ", ".join(_band_text(keys, row) for row in rows[:limit])
    if len(rows) > limit:
        text += f", ... ({len(rows)} in all)"
    return text


def _check_unique(df: pl.DataFrame, cols: list[str], frame: str) -> None:
    dup = df.select(cols).is_duplicated().to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        key = df.select(cols).row(first)
        same = df.select(cols).with_row_index("__row").filter(
            pl.all_horizontal([pl.col(c) == v for c, v in zip(cols, key)])
        )["__row"].to_list()
        rows = " and ".join(str(r) for r in same[:2])
        raise MethodInputError(
            f"duplicate rows in {frame} for {describe_key(cols, key)} (rows {rows})"
        )


def _check_key_dtypes(df: pl.DataFrame, ref: pl.DataFrame, keys: Sequence[str], ref_frame: str) -> None:
    for key in keys:
        left, right = df.schema[key], ref.schema[key]
        if left != right:
            raise MethodInputError(
                f"join column '{key}' has type {left} in data but {right} in {ref_frame}"
            )


def _check_groups(df: pl.DataFrame, groups: list[str], reserved: Iterable[str]) -> None:
    clash = [g for g in groups if g in set(reserved)]
    if clash:
        raise MethodInputError(
            f"group_by: column(s) {clash} clash with output column names; rename them first"
        )


def _with_group(df: pl.DataFrame, groups: list[str]) -> tuple[pl.DataFrame, list[str]]:
    """Ensure at least one grouping column (constant one when group_by is empty)."""
    if groups:
        return df, groups
    return df.with_columns(pl.lit(0).alias(_GROUP)), [_GROUP]


def _check_complete_bands(
    df: pl.DataFrame, groups: list[str], keys: list[str], bands: pl.DataFrame, ref_label: str
) -> None:
    """Every group must have a row for every band in ``bands``."""
    if not groups:
        df, groups = _with_group(df, groups)
    expected = df.select(groups).unique(maintain_order=True).join(bands, how="cross")
    missing = expected.join(df.select(groups + keys), on=groups + keys, how="anti")
    if missing.height:
        first_group = missing.select(groups).row(0)
        mask = pl.all_horizontal([pl.col(g) == v for g, v in zip(groups, first_group)])
        bands_missing = _list_bands(missing.filter(mask), keys)
        n_groups = missing.select(groups).unique().height
        shown_groups = [g for g in groups if g != _GROUP]
        shown_values = [v for g, v in zip(groups, first_group) if g != _GROUP]
        more = f" ({n_groups} groups affected)" if n_groups > 1 else ""
        who = f"group {describe_key(shown_groups, shown_values)}" if shown_groups else "data"
        raise MethodInputError(
            f"{who} lacks {_band_noun(keys)} "
            f"present in the {ref_label}: {bands_missing}{more}"
        )


def _check_known_bands(df: pl.DataFrame, ref: pl.DataFrame, keys: list[str], ref_label: str) -> None:
    unknown = df.select(keys).unique(maintain_order=True).join(ref.select(keys), on=keys, how="anti")
    if unknown.height:
        raise MethodInputError(
            f"unknown {_band_noun(keys)} in data not in {ref_label}: {_list_bands(unknown, keys)}"
        )


def _strip_group(out: pl.DataFrame, groups: list[str]) -> pl.DataFrame:
    return out.drop(_GROUP) if _GROUP in groups else out


# --------------------------------------------------------------------------- DSR


def dobson_limits(
    observed: np.ndarray,
    weight_sum: np.ndarray,
    weighted_rate_sum: np.ndarray,
    weighted_variance_sum: np.ndarray,
    *,
    multiplier: float = 100_000,
    confidence: float | Iterable[float] = DEFAULT_CONFIDENCE,
) -> list[pl.Series]:
    """The DSR and its Dobson limits from per-group sums (the core of ``directly_standardised_rate``).

    Per group: ``observed`` = O = sum(x_i), ``weight_sum`` = sum(w_i) over every band of the
    standard, ``weighted_rate_sum`` = sum(w_i x_i / n_i) and ``weighted_variance_sum`` =
    sum(w_i^2 x_i / n_i^2), with bands of zero population adding nothing to the last two.
    Returns the ``value``, ``lower_<lvl>``/``upper_<lvl>``, ``method`` and ``note`` series;
    value and limits are null where O < 10. Inputs are trusted (validated by the caller).
    """
    levels = normalise_confidence(confidence)
    mult = check_multiplier(multiplier)
    o = np.asarray(observed, dtype=np.float64)
    sw = np.asarray(weight_sum, dtype=np.float64)
    value = np.asarray(weighted_rate_sum, dtype=np.float64) / sw * mult
    var = np.asarray(weighted_variance_sum, dtype=np.float64) / sw**2
    reportable = o >= DSR_MIN_COUNT
    columns = [float_series("value", np.where(reportable, value, np.nan))]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(var / o) * mult
        for level in levels:
            lo, hi = byars_limits(o, level)
            lower = np.maximum(value + scale * (lo - o), 0.0)
            columns.append(float_series(lower_name(level), np.where(reportable, lower, np.nan)))
            columns.append(float_series(upper_name(level), np.where(reportable, value + scale * (hi - o), np.nan)))
    columns.append(pl.Series("method", ["Dobson"] * o.size, dtype=pl.String))
    columns.append(pl.Series("note", [None if r else "total count < 10" for r in reportable], dtype=pl.String))
    return columns



def directly_standardised_rate(
    df: pl.DataFrame,
    group_by: str | Sequence[str],
    *,
    standard: pl.DataFrame,
    count: str = "count",
    population: str = "population",
    standard_weight: str = "weight",
    join_on: str | Sequence[str] = ("age_band",),
    multiplier: float = 100_000,
    confidence: float | Iterable[float] = DEFAULT_CONFIDENCE,
    empty_bands: str = "error",
) -> pl.DataFrame:
    """Directly standardised rate per group with Dobson confidence limits.

    With events x_i, population n_i and standard weight w_i in band i:

        DSR = sum(w_i x_i / n_i) / sum(w_i) * multiplier
        var = sum(w_i^2 x_i / n_i^2) / sum(w_i)^2
        limit = DSR + sqrt(var / O) * (O_limit - O) * multiplier

    where O = sum(x_i) and O_limit is Byar's lower/upper limit of O (Dobson et
    al. 1991, as PHE ``phe_dsr``).  When O < 10 value and limits are null and
    ``note`` is "total count < 10" (PHE rule).  With few events in small,
    heavily weighted bands the Dobson lower limit can come out negative; PHE
    returns that negative number, here it is truncated at 0 (a rate cannot be
    negative; the PHE reference results are unaffected).

    ``standard`` holds the ``join_on`` column(s) and ``standard_weight``; the
    data are joined to it on ``join_on``.  Every band in the data must exist in
    the standard, and every group must contain every band of the standard
    (PHE requires complete data); otherwise :class:`MethodInputError`.  Null
    counts are treated as zero events (PHE ``na.zero``); populations must be
    present and > 0, unless ``empty_bands="zero"``: then a band with population 0
    (and, necessarily, count 0; a count there is an error) adds rate zero and no
    variance while its weight still counts in sum(w_i). Small areas such as
    kommuner often have nobody in some age-sex band.  ``group_by`` may be empty
    (one overall row).

    Returns one row per group: group_by columns, ``count`` (total events),
    ``population`` (total), ``value``, ``lower_<lvl>``, ``upper_<lvl>``,
    ``method`` ("Dobson") and ``note``.
    """
    require_frame(df)
    require_frame(standard, "standard")
    groups = column_list(group_by, argument="group_by")
    keys = column_list(join_on, argument="join_on")
    if not keys:
        raise MethodInputError("join_on: at least one band column is required")
    levels = normalise_confidence(confidence)
    mult = check_multiplier(multiplier)

    require_columns(df, groups + keys + [count, population])
    overlap = set(groups) & set(keys)
    if overlap:
        raise MethodInputError(f"group_by and join_on share column(s) {sorted(overlap)}")
    for col in (count, population):
        if col in groups or col in keys:
            raise MethodInputError(f"'{col}' cannot be both a value column and a key column")
    out_names = ["count", "population", "value", "method", "note"]
    out_names += [f(level) for level in levels for f in (lower_name, upper_name)]
    _check_groups(df, groups, out_names)

    if empty_bands not in ("error", "zero"):
        raise MethodInputError(f"empty_bands: expected 'error' or 'zero', got {empty_bands!r}")
    key_columns_complete(df, groups + keys)
    x = numeric_column(df, count, allow_null=True)
    n = numeric_column(df, population, allow_zero=empty_bands == "zero")
    events_without_people = np.flatnonzero((n == 0) & (np.nan_to_num(x, nan=0.0) > 0))
    if events_without_people.size:
        row = int(events_without_people[0])
        raise MethodInputError(
            f"{count}: {format_number(float(x[row]))} events in row {row} where {population} is zero"
        )

    frame = "standard population"
    require_columns(standard, keys + [standard_weight], frame=frame)
    key_columns_complete(standard, keys, frame=frame)
    w = numeric_column(standard, standard_weight, frame=frame)
    if not w.sum() > 0:
        raise MethodInputError(f"{standard_weight}: standard population weights sum to zero")
    _check_unique(standard, keys, frame)
    _check_key_dtypes(df, standard, keys, frame)
    _check_unique(df, groups + keys, "data")
    _check_known_bands(df, standard, keys, frame)
    _check_complete_bands(df, groups, keys, standard.select(keys), frame)

    work = df.select(groups + keys).with_columns(
        pl.Series("__count", df.get_column(count)).fill_null(0),
        pl.Series("__pop", df.get_column(population)),
        pl.Series("__x", np.nan_to_num(x, nan=0.0)),
        pl.Series("__n", n),
    )
    std = standard.select(keys).with_columns(pl.Series("__w", w))
    work = work.join(std, on=keys, how="left")
    work, groups_eff = _with_group(work, groups)
    agg = (
        work.with_columns(
            pl.when(pl.col("__n") > 0).then(pl.col("__x") * pl.col("__w") / pl.col("__n")).otherwise(0.0).alias("__wr"),
            pl.when(pl.col("__n") > 0).then(pl.col("__x") * (pl.col("__w") / pl.col("__n")) ** 2).otherwise(0.0).alias("__sq"),
        )
        .group_by(groups_eff, maintain_order=True)
        .agg(
            pl.col("__count").sum().alias("count"),
            pl.col("__pop").sum().alias("population"),
            pl.col("__x").sum().alias("__o"),
            pl.col("__w").sum().alias("__sw"),
            pl.col("__wr").sum().alias("__swr"),
            pl.col("__sq").sum().alias("__ssq"),
        )
    )
    columns = dobson_limits(
        agg["__o"].to_numpy(), agg["__sw"].to_numpy(), agg["__swr"].to_numpy(), agg["__ssq"].to_numpy(),
        multiplier=mult, confidence=levels,
    )
    out = agg.select(groups_eff + ["count", "population"]).with_columns(columns)
    return _strip_group(out, groups_eff)


# --------------------------------------------------------------------------- ISR


def _isr_core(
    df: pl.DataFrame,
    group_by: str | Sequence[str],
    *,
    count: str,
    population: str,
    reference_count: str,
    reference_population: str,
    reference: pl.DataFrame | None,
    join_on: str | Sequence[str] | None,
    confidence: float | Iterable[float],
    out_names: list[str],
) -> tuple[pl.DataFrame, list[str], np.ndarray, np.ndarray, np.ndarray, tuple[float, ...]]:
    """Validate and aggregate; return (agg, groups, observed, expected, ref_rate, levels)."""
    require_frame(df)
    groups = column_list(group_by, argument="group_by")
    keys = column_list(join_on, argument="join_on")
    levels = normalise_confidence(confidence)
    require_columns(df, groups + keys + [count, population])
    overlap = set(groups) & set(keys)
    if overlap:
        raise MethodInputError(f"group_by and join_on share column(s) {sorted(overlap)}")
    out_names = out_names + [f(level) for level in levels for f in (lower_name, upper_name)]
    _check_groups(df, groups, out_names)
    key_columns_complete(df, groups + keys)

    x = numeric_column(df, count, allow_null=True)
    n = numeric_column(df, population, allow_null=True)

    if reference is None:
        require_columns(df, [reference_count, reference_population])
        xr = numeric_column(df, reference_count, allow_null=True)
        nr = numeric_column(df, reference_population, allow_zero=False)
        if keys:
            _check_unique(df, groups + keys, "data")
            if groups:
                _check_complete_bands(
                    df, groups, keys, df.select(keys).unique(maintain_order=True),
                    "data of other groups",
                )
    else:
        require_frame(reference, "reference")
        ref_frame = "reference population"
        if not keys:
            raise MethodInputError("join_on: required when a separate `reference` table is given")
        clash = [c for c in (reference_count, reference_population) if c in df.columns]
        if clash:
            raise MethodInputError(
                f"column(s) {clash} exist in both data and reference; drop them or rename"
            )
        require_columns(reference, keys + [reference_count, reference_population], frame=ref_frame)
        key_columns_complete(reference, keys, frame=ref_frame)
        ref_xr = numeric_column(reference, reference_count, allow_null=True, frame=ref_frame)
        ref_nr = numeric_column(reference, reference_population, allow_zero=False, frame=ref_frame)
        _check_unique(reference, keys, ref_frame)
        _check_key_dtypes(df, reference, keys, ref_frame)
        _check_unique(df, groups + keys, "data")
        _check_known_bands(df, reference, keys, ref_frame)
        _check_complete_bands(df, groups, keys, reference.select(keys), ref_frame)
        ref = reference.select(keys).with_columns(pl.Series("__xr", ref_xr), pl.Series("__nr", ref_nr))
        joined = df.select(keys).with_row_index("__row").join(ref, on=keys, how="left").sort("__row")
        xr = joined["__xr"].to_numpy()
        nr = joined["__nr"].to_numpy()

    xr0 = np.nan_to_num(xr, nan=0.0)
    base = df.select(groups) if groups else pl.DataFrame({_GROUP: np.zeros(df.height, dtype=np.int8)})
    work = base.with_columns(
        pl.Series("__count", df.get_column(count)).fill_null(0),
        pl.Series("__x", np.nan_to_num(x, nan=0.0)),
        pl.Series("__e", np.nan_to_num(n, nan=0.0) * xr0 / nr),
        pl.Series("__xr", xr0),
        pl.Series("__nr", nr),
    )
    groups_eff = groups or [_GROUP]
    agg = work.group_by(groups_eff, maintain_order=True).agg(
        pl.col("__count").sum().alias("observed"),
        pl.col("__x").sum().alias("__o"),
        pl.col("__e").sum().alias("expected"),
        pl.col("__xr").sum().alias("__sxr"),
        pl.col("__nr").sum().alias("__snr"),
    )
    observed = agg["__o"].to_numpy()
    expected = agg["expected"].to_numpy()
    if reference is None:
        ref_rate = agg["__sxr"].to_numpy() / agg["__snr"].to_numpy()
    else:
        ref_rate = np.full(agg.height, np.nansum(ref_xr) / ref_nr.sum())
    zero = ~(expected > 0)
    if zero.any():
        i = int(np.flatnonzero(zero)[0])
        shown = [g for g in groups_eff if g != _GROUP]
        values = [v for g, v in zip(groups_eff, agg.select(groups_eff).row(i)) if g != _GROUP]
        raise MethodInputError(
            f"expected count is zero for group {describe_key(shown, values)} "
            "(zero population or zero reference counts): ratio undefined"
        )
    return agg, groups_eff, observed, expected, ref_rate, levels


def _isr_output(
    agg: pl.DataFrame,
    groups: list[str],
    observed: np.ndarray,
    expected: np.ndarray,
    scale: np.ndarray,
    levels: tuple[float, ...],
    extra: list[pl.Series],
) -> pl.DataFrame:
    columns = list(extra)
    columns.append(float_series("value", observed / expected * scale))
    for level in levels:
        lo, hi = count_limits(observed, level)
        columns.append(float_series(lower_name(level), lo / expected * scale))
        columns.append(float_series(upper_name(level), hi / expected * scale))
    columns.append(pl.Series("method", count_method(observed), dtype=pl.String))
    out = agg.select(groups + ["observed", "expected"]).with_columns(columns)
    return _strip_group(out, groups)


def indirectly_standardised_ratio(
    df: pl.DataFrame,
    group_by: str | Sequence[str],
    *,
    count: str = "count",
    population: str = "population",
    reference_count: str = "reference_count",
    reference_population: str = "reference_population",
    join_on: str | Sequence[str] | None = None,
    reference: pl.DataFrame | None = None,
    multiplier: float = 100,
    confidence: float | Iterable[float] = DEFAULT_CONFIDENCE,
) -> pl.DataFrame:
    """Indirectly standardised ratio (SMR-type) per group.

        O = sum(x_i),  E = sum(n_i * X_i / N_i),  value = O / E * multiplier

    with X_i / N_i the reference rate of band i.  Limits: exact Poisson limits
    of O when O < 10, Byar's when O >= 10, divided by E, times multiplier
    (PHE ``calculate_ISRatio``); ``method`` "Exact"/"Byars".

    Reference rates either come per row (columns ``reference_count`` and
    ``reference_population`` in ``df``, as the reference files come), or from a
    separate ``reference`` frame joined on ``join_on``.  With ``join_on`` every
    group must have exactly one row per band (all bands of ``reference``, or of
    the data when the reference is per row).

    Nulls: null counts, populations and reference counts count as zero (PHE
    ``na.zero``); zero populations are allowed (the band contributes nothing
    to E).  Reference populations must be present and > 0; a group whose E is
    zero raises :class:`MethodInputError`.

    Returns group_by columns, ``observed``, ``expected``, ``value``, limits, ``method``.
    """
    mult = check_multiplier(multiplier)
    agg, groups, observed, expected, _, levels = _isr_core(
        df, group_by, count=count, population=population,
        reference_count=reference_count, reference_population=reference_population,
        reference=reference, join_on=join_on, confidence=confidence,
        out_names=["observed", "expected", "value", "method"],
    )
    scale = np.full(agg.height, mult)
    return _isr_output(agg, groups, observed, expected, scale, levels, [])


def indirectly_standardised_rate(
    df: pl.DataFrame,
    group_by: str | Sequence[str],
    *,
    count: str = "count",
    population: str = "population",
    reference_count: str = "reference_count",
    reference_population: str = "reference_population",
    join_on: str | Sequence[str] | None = None,
    reference: pl.DataFrame | None = None,
    multiplier: float = 100_000,
    confidence: float | Iterable[float] = DEFAULT_CONFIDENCE,
) -> pl.DataFrame:
    """Indirectly standardised rate = ratio (O / E) x reference crude rate.

        reference_rate = sum(X_i) / sum(N_i) * multiplier
        value = O / E * reference_rate

    with limits of O (exact < 10, Byar's >= 10) scaled the same way (PHE
    ``calculate_ISRate``).  The reference crude rate is taken over the group's
    rows when reference columns are per row, or over the whole ``reference``
    table when one is joined.  Inputs and nulls as
    :func:`indirectly_standardised_ratio`.

    Returns group_by columns, ``observed``, ``expected``, ``reference_rate``,
    ``value``, limits, ``method``.
    """
    mult = check_multiplier(multiplier)
    agg, groups, observed, expected, ref_rate, levels = _isr_core(
        df, group_by, count=count, population=population,
        reference_count=reference_count, reference_population=reference_population,
        reference=reference, join_on=join_on, confidence=confidence,
        out_names=["observed", "expected", "reference_rate", "value", "method"],
    )
    scale = ref_rate * mult
    return _isr_output(
        agg, groups, observed, expected, scale, levels, [float_series("reference_rate", scale)]
    )


__all__ = [
    "directly_standardised_rate",
    "indirectly_standardised_ratio",
    "indirectly_standardised_rate",
]
