"""Recent trend of an indicator over time: the Fingertips recent-trend rule.

Public Health England / OHID, "Fingertips trend markers" (public health technical guidance):

- exactly the five most recent points of the series are tested; a series with fewer than five
  points, or with a hidden or missing value among its last five, gets no trend
  (``too_few_points``: "for få år til å vurdere trend");
- proportions (numerator and denominator known): the chi-square test for trend on the counts
  (Cochran-Armitage; Altman, Practical statistics for medical research, 10.7.4), with
  N = sum n, R = sum r, p = R / N, x_bar = sum(n x) / N and

      slope = (sum(r x) - R x_bar) / (sum(n x^2) - N x_bar^2)
      chi2  = (sum(r x) - R x_bar)^2 / (p (1 - p) (sum(n x^2) - N x_bar^2));

- every other indicator: the weighted regression of the value on the year, weights
  w = 1 / se^2 with se read off the 95 % interval (se = (upper - lower) / (2 x 1.959964)),

      slope = sum(w (x - x_bar) y) / sum(w (x - x_bar)^2),   chi2 = slope^2 sum(w (x - x_bar)^2);

- significance at 99.8 %: chi2 > z^2 with z = 3.090232 (1 degree of freedom);
- robustness: the slope keeps its sign in each of the five fits that leave one point out;
  otherwise the series shows no significant change.
"""

from __future__ import annotations

import numpy as np

from ._validate import MethodInputError
from .levels import z_value

INCREASING = "increasing"
DECREASING = "decreasing"
NO_CHANGE = "no_significant_change"
TOO_FEW = "too_few_points"
TREND_POINTS = 5
TREND_CONFIDENCE = 0.998


def _floats(values, name: str) -> np.ndarray:
    try:
        return np.asarray([np.nan if v is None else v for v in values], dtype=float)
    except (TypeError, ValueError):
        raise MethodInputError(f"trend: {name} must be numbers") from None


def chi_square_trend(x, numerators, denominators) -> tuple[float, float]:
    """(slope, chi2) of the chi-square test for trend in proportions (see the module docstring).

    The slope is in proportion (not per cent) per unit of x; chi2 is 0 when p is 0 or 1.
    """
    x, r, n = (np.asarray(a, dtype=float) for a in (x, numerators, denominators))
    total_n, total_r = n.sum(), r.sum()
    if total_n <= 0:
        return 0.0, 0.0
    p = total_r / total_n
    x_bar = (n * x).sum() / total_n
    sxx = (n * x * x).sum() - total_n * x_bar**2
    if sxx <= 0:
        return 0.0, 0.0
    score = (r * x).sum() - total_r * x_bar
    slope = score / sxx
    if p <= 0 or p >= 1:
        return slope, 0.0
    return float(slope), float(score**2 / (p * (1 - p) * sxx))


def weighted_trend(x, values, se) -> tuple[float, float]:
    """(slope, chi2) of the inverse-variance weighted regression of the value on x."""
    x, y, se = (np.asarray(a, dtype=float) for a in (x, values, se))
    w = 1.0 / se**2
    x_bar = (w * x).sum() / w.sum()
    sxx = (w * (x - x_bar) ** 2).sum()
    if sxx <= 0:
        return 0.0, 0.0
    slope = (w * (x - x_bar) * y).sum() / sxx
    return float(slope), float(slope**2 * sxx)


def trend_direction(
    years: list[int] | np.ndarray,
    values: list[float | None] | np.ndarray,
    lower: list[float | None] | np.ndarray,
    upper: list[float | None] | np.ndarray,
    *,
    numerators: list[float | None] | np.ndarray | None = None,
    denominators: list[float | None] | np.ndarray | None = None,
    points: int = TREND_POINTS,
    confidence: float = TREND_CONFIDENCE,
    interval_confidence: float = 0.95,
) -> str:
    """``increasing``, ``decreasing``, ``no_significant_change`` or ``too_few_points``.

    One entry per period of the series (hidden periods with a null value). Give
    ``numerators`` and ``denominators`` for a crude proportion (chi-square test for trend);
    otherwise the weighted regression on the values and their ``interval_confidence``
    intervals is used. See the module docstring for the rule.
    """
    years_a = _floats(years, "years")
    values_a, lower_a, upper_a = (_floats(a, n) for a, n in ((values, "values"), (lower, "lower"), (upper, "upper")))
    if not (len(years_a) == len(values_a) == len(lower_a) == len(upper_a)):
        raise MethodInputError("trend: years, values, lower and upper must have the same length")
    if (numerators is None) != (denominators is None):
        raise MethodInputError("trend: give both numerators and denominators, or neither")
    if points < 3:
        raise MethodInputError(f"trend: points must be at least 3, got {points}")
    if np.isnan(years_a).any():
        raise MethodInputError("trend: every point needs a year")
    order = np.argsort(years_a, kind="stable")[-points:]
    if order.size < points:
        return TOO_FEW
    x, y = years_a[order], values_a[order]
    if numerators is not None:
        r, n = _floats(numerators, "numerators")[order], _floats(denominators, "denominators")[order]
        if not (np.isfinite(r).all() and np.isfinite(n).all() and (n > 0).all()):
            return TOO_FEW

        def fit(keep):
            return chi_square_trend(x[keep], r[keep], n[keep])
    else:
        lo, hi = lower_a[order], upper_a[order]
        if not (np.isfinite(y).all() and np.isfinite(lo).all() and np.isfinite(hi).all() and (hi > lo).all()):
            return TOO_FEW
        se = (hi - lo) / (2 * z_value(interval_confidence))

        def fit(keep):
            return weighted_trend(x[keep], y[keep], se[keep])

    everything = np.ones(points, dtype=bool)
    slope, chi2 = fit(everything)
    if slope == 0 or chi2 <= z_value(confidence) ** 2:
        return NO_CHANGE
    for i in range(points):  # the slope must keep its sign without any one of the points
        keep = everything.copy()
        keep[i] = False
        if np.sign(fit(keep)[0]) != np.sign(slope):
            return NO_CHANGE
    return INCREASING if slope > 0 else DECREASING
