"""Crude rates with exact Poisson / Byar's confidence limits.

References
----------
- Byar's method: Breslow NE, Day NE. Statistical methods in cancer research,
  vol. II. IARC, Lyon 1987.
- Exact Poisson limits: Armitage P, Berry G. Statistical methods in medical
  research (4th edn). Blackwell, Oxford 2002.
- As implemented in PHEindicatormethods (UKHSA): ``byars_lower``,
  ``byars_upper``, ``phe_rate`` / ``calculate_rate``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl
from scipy.special import gammaincinv

from ._validate import (
    MethodInputError,
    as_float_array,
    check_multiplier,
    float_series,
    format_number,
    numeric_column,
    require_frame,
)
from .levels import DEFAULT_CONFIDENCE, lower_name, normalise_confidence, upper_name, z_value

#: counts below this use exact Poisson limits, counts from it Byar's method
EXACT_BELOW = 10


def _counts_array(counts: object) -> np.ndarray:
    x = as_float_array(counts, name="counts")
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(x)
        negative = x < 0
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        raise MethodInputError(f"counts: non-finite value {float(x[i])!r} at position {i}")
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise MethodInputError(f"counts: negative value {format_number(float(x[i]))} at position {i}")
    return x


def poisson_exact_limits(counts: object, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson confidence limits of an observed count.

    lower = chi2.ppf(a, 2x) / 2 (0 when x = 0),  upper = chi2.ppf(1 - a, 2x + 2) / 2,
    with a = (1 - confidence) / 2.  NaN counts give NaN limits.

    Returns the (lower, upper) limits of the COUNT as float arrays.
    """
    x = _counts_array(counts)
    level = normalise_confidence(confidence)
    if len(level) != 1:
        raise MethodInputError("confidence: give a single level here")
    alpha = (1.0 - level[0]) / 2.0
    with np.errstate(invalid="ignore"):
        # chi2.ppf(q, 2k) / 2 is gammaincinv(k, q) (how scipy.stats computes it); scipy.stats is slow to import.
        lower = np.where(x == 0, 0.0, gammaincinv(x, alpha))
        upper = gammaincinv(x + 1.0, 1.0 - alpha)
    return lower.astype(np.float64), upper.astype(np.float64)


def byars_limits(counts: object, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to the Poisson confidence limits of a count.

    lower = x (1 - 1/(9x) - z/(3 sqrt(x)))^3
    upper = (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3
    with z = z_value(confidence) (PHE ``byars_lower`` / ``byars_upper``).

    The lower formula is undefined for x = 0 and gives a negative count when
    the bracket is negative (tiny counts at high confidence, e.g. x = 1 at
    99.8 %); the lower limit is NaN there, as in the PHE reference data where
    that value is blank.  Byar's method is meant for x >= 10.
    """
    x = _counts_array(counts)
    level = normalise_confidence(confidence)
    if len(level) != 1:
        raise MethodInputError("confidence: give a single level here")
    z = z_value(level[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        base = 1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))
        lower = np.where((x > 0) & (base >= 0), x * base**3, np.nan)
        upper = (x + 1.0) * (1.0 - 1.0 / (9.0 * (x + 1.0)) + z / (3.0 * np.sqrt(x + 1.0))) ** 3
    return lower.astype(np.float64), upper.astype(np.float64)


def count_limits(counts: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact limits for counts < 10, Byar's for counts >= 10 (PHE rule); each computed only where used."""
    counts = np.asarray(counts, dtype=np.float64)
    lower, upper = np.full(counts.shape, np.nan), np.full(counts.shape, np.nan)
    small = counts < EXACT_BELOW  # NaN is not small: Byar's gives it NaN limits
    for rows, limits in ((small, poisson_exact_limits), (~small, byars_limits)):
        if rows.any():
            lower[rows], upper[rows] = limits(counts[rows], confidence)
    return lower, upper


def count_method(counts: np.ndarray) -> list[str | None]:
    labels = np.where(counts < EXACT_BELOW, "Exact", "Byars").astype(object)
    labels[np.isnan(counts)] = None
    return labels.tolist()


def crude_rate(
    df: pl.DataFrame,
    count: str = "count",
    denominator: str = "denominator",
    multiplier: float = 1000,
    confidence: float | Iterable[float] = DEFAULT_CONFIDENCE,
) -> pl.DataFrame:
    """Crude rate per row: value = count / denominator * multiplier.

    Limits: exact Poisson (chi-square) limits of the count when count < 10,
    Byar's method when count >= 10, divided by the denominator and multiplied
    by ``multiplier``; ``method`` is "Exact" or "Byars".

    Nulls: a null count or denominator gives null value and limits (``method``
    is null when the count is null).  Negative counts, negative or zero
    denominators and non-numeric columns raise :class:`MethodInputError`.

    Adds columns ``value``, ``lower_<lvl>``, ``upper_<lvl>`` (per level) and
    ``method`` (existing columns of those names are replaced); rows keep their order.
    """
    require_frame(df)
    levels = normalise_confidence(confidence)
    mult = check_multiplier(multiplier)
    x = numeric_column(df, count, allow_null=True)
    n = numeric_column(df, denominator, allow_null=True, allow_zero=False)

    value = x / n * mult
    columns = [float_series("value", value)]
    for level in levels:
        lo, hi = count_limits(x, level)
        columns.append(float_series(lower_name(level), lo / n * mult))
        columns.append(float_series(upper_name(level), hi / n * mult))
    columns.append(pl.Series("method", count_method(x), dtype=pl.String))
    return df.with_columns(columns)
