"""Significance of an area's value compared with a benchmark (Fingertips rule).

An area is significantly *higher* than the benchmark when the lower confidence
limit is above the benchmark, *lower* when the upper limit is below it, and
*similar* otherwise (PHE Fingertips "compare with benchmark" using the
confidence interval of the area value; see the Fingertips technical guidance,
Public Health England / OHID).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import polars as pl

from ._validate import MethodInputError, format_number, numeric_column, require_frame

DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral")

_ASSESSMENT = {
    "higher_is_better": {"higher": "better", "lower": "worse"},
    "lower_is_better": {"higher": "worse", "lower": "better"},
    "neutral": {"higher": "higher", "lower": "lower"},
}


def significance_vs_benchmark(
    df: pl.DataFrame,
    benchmark: float | str,
    lower: str = "lower_95",
    upper: str = "upper_95",
    direction: str | None = None,
    *,
    value: str | None = "value",
) -> pl.DataFrame:
    """Add ``significance`` ("higher" / "lower" / "similar" / "not_compared").

    higher: lower > benchmark;  lower: upper < benchmark;  similar otherwise.
    "not_compared" when the value (if ``value`` is not None), either limit or
    the benchmark is null.  ``benchmark`` is a number or the name of a numeric
    column (a per-row benchmark, e.g. the national value for the same year).

    If ``direction`` is "higher_is_better" / "lower_is_better", also adds
    ``assessment`` = "better" / "worse" / "similar" / "not_compared"; for
    "neutral" the assessment is "higher" / "lower" / "similar" / "not_compared".
    A lower limit above its upper limit raises :class:`MethodInputError`.
    """
    require_frame(df)
    if direction is not None and direction not in DIRECTIONS:
        raise MethodInputError(
            f"direction: must be one of {', '.join(DIRECTIONS)} or None, got {direction!r}"
        )
    lo = numeric_column(df, lower, allow_null=True, allow_negative=True)
    hi = numeric_column(df, upper, allow_null=True, allow_negative=True)
    with np.errstate(invalid="ignore"):
        crossed = lo > hi
    if crossed.any():
        i = int(np.flatnonzero(crossed)[0])
        raise MethodInputError(
            f"{lower} {format_number(df[lower][i])} exceeds {upper} "
            f"{format_number(df[upper][i])} in row {i}"
        )

    if isinstance(benchmark, str):
        bench = numeric_column(df, benchmark, allow_null=True, allow_negative=True)
    elif isinstance(benchmark, Real) and not isinstance(benchmark, bool):
        if not math.isfinite(float(benchmark)):
            raise MethodInputError(f"benchmark: must be finite, got {benchmark!r}")
        bench = np.full(df.height, float(benchmark))
    else:
        raise MethodInputError(
            f"benchmark: expected a number or a column name, got {benchmark!r}"
        )

    missing = np.isnan(lo) | np.isnan(hi) | np.isnan(bench)
    if value is not None:
        missing |= np.isnan(numeric_column(df, value, allow_null=True, allow_negative=True))

    with np.errstate(invalid="ignore"):
        sig = np.where(
            missing,
            "not_compared",
            np.where(lo > bench, "higher", np.where(hi < bench, "lower", "similar")),
        )
    out = df.with_columns(pl.Series("significance", sig.tolist(), dtype=pl.String))
    if direction is not None:
        mapping = _ASSESSMENT[direction]
        assessment = [mapping.get(s, s) for s in sig.tolist()]
        out = out.with_columns(pl.Series("assessment", assessment, dtype=pl.String))
    return out
