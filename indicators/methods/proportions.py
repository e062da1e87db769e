"""Proportions with Wilson score confidence limits.

Reference: Wilson EB. Probable inference, the law of succession, and
statistical inference. J Am Stat Assoc 1927;22:209-12.  As implemented in
PHEindicatormethods (UKHSA) ``wilson_lower`` / ``wilson_upper`` /
``phe_proportion``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from ._validate import (
    MethodInputError,
    check_multiplier,
    float_series,
    format_number,
    numeric_column,
    require_frame,
)
from .levels import DEFAULT_CONFIDENCE, lower_name, normalise_confidence, upper_name, z_value


def wilson_limits(
    numerator: np.ndarray, denominator: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits of the proportion x / n (not multiplied).

    (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2 (n + z^2)),  z = z_value(confidence).
    Inputs are assumed validated (0 <= x <= n, n > 0); NaN propagates.
    """
    x = np.asarray(numerator, dtype=np.float64)
    n = np.asarray(denominator, dtype=np.float64)
    z = z_value(confidence)
    with np.errstate(invalid="ignore"):
        root = z * np.sqrt(z**2 + 4.0 * x * (1.0 - x / n))
        lower = (2.0 * x + z**2 - root) / 2.0 / (n + z**2)
        upper = (2.0 * x + z**2 + root) / 2.0 / (n + z**2)
    # guard against rounding just outside [0, 1]
    return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


def proportion(
    df: pl.DataFrame,
    numerator: str = "numerator",
    denominator: str = "denominator",
    multiplier: float = 100,
    confidence: float | Iterable[float] = DEFAULT_CONFIDENCE,
) -> pl.DataFrame:
    """Proportion per row: value = numerator / denominator * multiplier, Wilson limits.

    The numerator may be non-integer.  Null numerator or denominator gives
    null value and limits (``method`` stays "Wilson").  Negative values, a
    zero denominator or a numerator above its denominator raise
    :class:`MethodInputError`.

    Adds columns ``value``, ``lower_<lvl>``, ``upper_<lvl>`` (per level), ``method``.
    """
    require_frame(df)
    levels = normalise_confidence(confidence)
    mult = check_multiplier(multiplier)
    x = numeric_column(df, numerator, allow_null=True)
    n = numeric_column(df, denominator, allow_null=True, allow_zero=False)
    with np.errstate(invalid="ignore"):
        over = x > n
    if over.any():
        idx = np.flatnonzero(over)
        i = int(idx[0])
        more = f" (and {idx.size - 1} more row{'s' if idx.size > 2 else ''})" if idx.size > 1 else ""
        raise MethodInputError(
            f"{numerator} {format_number(df[numerator][i])} exceeds "
            f"{denominator} {format_number(df[denominator][i])} in row {i}{more}"
        )

    columns = [float_series("value", x / n * mult)]
    for level in levels:
        lo, hi = wilson_limits(x, n, level)
        columns.append(float_series(lower_name(level), lo * mult))
        columns.append(float_series(upper_name(level), hi * mult))
    columns.append(pl.Series("method", ["Wilson"] * df.height, dtype=pl.String))
    return df.with_columns(columns)
