"""Recent trend of an indicator over time.

Weighted least-squares slope of the value on the year over the most recent points, with
weights 1 / variance, where each point's standard error is read off its 95 % confidence
interval: se = (upper - lower) / (2 z). The slope is significant when |slope / se(slope)|
exceeds z at the chosen confidence level. This is the inverse-variance regression test for
trend commonly used for published indicators (cf. the Fingertips "recent trend", which tests
the last five points).
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import MethodInputError
from .levels import z_value

INCREASING = "increasing"
DECREASING = "decreasing"
NO_CHANGE = "no_significant_change"
TOO_FEW = "too_few_points"


def trend_direction(
    years: list[int] | np.ndarray,
    values: list[float | None] | np.ndarray,
    lower: list[float | None] | np.ndarray,
    upper: list[float | None] | np.ndarray,
    *,
    points: int = 5,
    confidence: float = 0.95,
    interval_confidence: float = 0.95,
) -> str:
    """``increasing``, ``decreasing``, ``no_significant_change`` or ``too_few_points``.

    Uses the last ``points`` years with a value and a proper interval; needs at least three.
    """
    years = np.asarray(years, dtype=float)
    values = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    lower = np.asarray([np.nan if v is None else v for v in lower], dtype=float)
    upper = np.asarray([np.nan if v is None else v for v in upper], dtype=float)
    if not (len(years) == len(values) == len(lower) == len(upper)):
        raise MethodInputError("trend: years, values, lower and upper must have the same length")
    if points < 3:
        raise MethodInputError(f"trend: points must be at least 3, got {points}")
    usable = np.isfinite(values) & np.isfinite(lower) & np.isfinite(upper) & (upper > lower)
    order = np.argsort(years[usable])
    x, y = years[usable][order][-points:], values[usable][order][-points:]
    se = ((upper[usable] - lower[usable]) / (2 * z_value(interval_confidence)))[order][-points:]
    if x.size < 3:
        return TOO_FEW
    w = 1.0 / se**2
    x_bar = (w * x).sum() / w.sum()
    sxx = (w * (x - x_bar) ** 2).sum()
    if sxx <= 0:
        return TOO_FEW
    slope = (w * (x - x_bar) * y).sum() / sxx
    z = slope / math.sqrt(1.0 / sxx)
    if z > z_value(confidence):
        return INCREASING
    if z < -z_value(confidence):
        return DECREASING
    return NO_CHANGE
