"""Funnel-plot control limits around a target proportion or rate.

Three constructions are offered (``method`` argument):

``"wilson"`` (proportions; the default)
    Observed proportion whose Wilson score interval touches p0, which
    simplifies to p0 +/- z sqrt(p0 (1 - p0) / n).  This is what PHE Fingertips
    and PHEindicatormethods ``calculate_funnel_limits(statistic =
    "proportion")`` use (their ``sigma_adjustment`` is an algebraically longer
    form of the same); it matches :func:`proportion` (Wilson) intervals, which
    the dashboard uses.

``"exact"`` (rates; the default)
    The limit at denominator n is the observed value whose *exact* confidence
    interval just touches the target: for proportions the Clopper-Pearson
    (beta) interval, for rates the exact Poisson (chi-square / gamma)
    interval, with the observed count treated as continuous.  A point lies
    outside the funnel exactly when its exact interval excludes the target.
    For rates this is the construction of PHEindicatormethods
    ``calculate_funnel_limits(statistic = "rate")`` (which evaluates it at whole
    event counts); ``funnel_limits_rate(1, E)`` gives PHE's funnel for an
    indirectly standardised ratio O / E around 1 at expected count E.  The
    limits are smooth and monotone in n.

``"spiegelhalter"``
    Spiegelhalter DJ. Funnel plots for comparing institutional performance.
    Stat Med 2005;24:1185-202, appendix A.1: r_p = p-quantile of Binomial(n,
    p0) (Poisson(rate0 n)), alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)),
    limit = (r_p - alpha) / n.  Reproduced exactly, but note the interpolated
    limits are NOT monotone in n: they have a small saw-tooth (e.g. the upper
    95 % limit for p0 = 0.5 rises slightly between n = 17 and 18).  Binomial
    denominators must be whole numbers.

Limits are multiplied by ``multiplier`` and clipped to [0, multiplier] for
proportions and to >= 0 for rates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from scipy import special

if TYPE_CHECKING:
    from scipy import stats

from ._validate import MethodInputError, as_float_array, check_multiplier, format_number
from .levels import DEFAULT_CONFIDENCE, lower_name, normalise_confidence, upper_name, z_value

PROPORTION_METHODS = {"exact": "Exact binomial", "wilson": "Wilson score", "spiegelhalter": "Spiegelhalter"}
RATE_METHODS = {"exact": "Exact Poisson", "spiegelhalter": "Spiegelhalter"}


def funnel_points(n_min: float, n_max: float, n_points: int = 200, *, integer: bool = False) -> np.ndarray:
    """Log-spaced denominators from n_min to n_max for drawing smooth funnels.

    With ``integer=True`` the points are rounded to whole numbers and
    de-duplicated (so fewer than ``n_points`` may be returned).
    """
    for name, val in (("n_min", n_min), ("n_max", n_max)):
        if isinstance(val, bool) or not isinstance(val, Real) or not math.isfinite(float(val)) or val <= 0:
            raise MethodInputError(f"{name}: must be a positive number, got {val!r}")
    if not n_max > n_min:
        raise MethodInputError(f"n_max ({n_max!r}) must be greater than n_min ({n_min!r})")
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 2:
        raise MethodInputError(f"n_points: must be an integer >= 2, got {n_points!r}")
    points = np.geomspace(float(n_min), float(n_max), n_points)
    if integer:
        points = np.unique(np.maximum(np.round(points), 1.0))
    return points


# --------------------------------------------------------------------------- validation


def _check_target(value: object, name: str, *, upper_bound: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise MethodInputError(f"{name}: must be a number, got {value!r}")
    v = float(value)
    if v <= 0 or (upper_bound is not None and v >= upper_bound):
        bound = f"strictly between 0 and {format_number(upper_bound)}" if upper_bound else "positive"
        raise MethodInputError(f"{name}: must be {bound}, got {value!r}")
    return v


def _check_denominators(denominators: object, *, integer: bool) -> np.ndarray:
    n = as_float_array(denominators, name="denominators")
    if n.size == 0:
        raise MethodInputError("denominators: at least one denominator is required")
    bad = ~np.isfinite(n) | (n <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MethodInputError(
            f"denominators: must be positive and finite, got {format_number(float(n[i]))} at position {i}"
        )
    if integer:
        frac = n != np.round(n)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise MethodInputError(
                f"denominators: binomial Spiegelhalter limits need whole numbers, got "
                f"{format_number(float(n[i]))} at position {i}"
            )
    return n


# --------------------------------------------------------------------------- numerics


def _solve_decreasing(
    func: Callable[[np.ndarray], np.ndarray], target: float, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Vectorised bisection for func(t) = target with func decreasing on [lo, hi]."""
    lo = lo.astype(np.float64).copy()
    hi = hi.astype(np.float64).copy()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = func(mid) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
        if np.all(hi - lo <= 1e-13 * np.maximum(1.0, np.abs(hi))):
            break
    return 0.5 * (lo + hi)


def _exact_binomial_counts(p0: float, n: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Continuous counts whose Clopper-Pearson interval touches p0.

    upper x: P(Beta(x, n - x + 1) <= p0) = a;  lower x: P(Beta(x + 1, n - x) <= p0) = 1 - a.
    """
    eps = 1e-12
    upper = _solve_decreasing(
        lambda x: special.betainc(x, n - x + 1.0, p0), a, np.full_like(n, eps), n + 1.0 - eps
    )
    lower = _solve_decreasing(
        lambda x: special.betainc(x + 1.0, n - x, p0), 1.0 - a, np.full_like(n, -1.0 + eps), n - eps
    )
    return lower, upper


def _exact_poisson_counts(expected: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Continuous counts whose exact Poisson interval touches the expected count E.

    upper O: P(Gamma(O) <= E) = a  (lower exact limit of O equals E);
    lower O: P(Gamma(O + 1) <= E) = 1 - a  (upper exact limit of O equals E).
    """
    eps = 1e-12
    top = expected + 40.0 * np.sqrt(expected) + 100.0
    upper = _solve_decreasing(lambda o: special.gammainc(o, expected), a, np.full_like(expected, eps), top)
    lower = _solve_decreasing(
        lambda o: special.gammainc(o + 1.0, expected), 1.0 - a, np.full_like(expected, -1.0 + eps), top
    )
    return lower, upper


def _spiegelhalter(dist: stats.rv_discrete, q: float) -> np.ndarray:
    """(r_q - alpha): Spiegelhalter (2005) interpolated q-quantile of a count."""
    r = dist.ppf(q)
    f_r = dist.cdf(r)
    f_prev = dist.cdf(r - 1.0)
    alpha = (f_r - q) / (f_r - f_prev)
    return r - alpha


def _frame(n: np.ndarray, limits: dict[str, np.ndarray], baseline: float, method: str) -> pl.DataFrame:
    data: dict[str, object] = {"denominator": n}
    data.update(limits)
    frame = pl.DataFrame(data)
    return frame.with_columns(
        pl.lit(baseline, dtype=pl.Float64).alias("baseline"),
        pl.lit(method, dtype=pl.String).alias("method"),
    )


# --------------------------------------------------------------------------- public


def funnel_limits_proportion(
    p0: float,
    denominators: Iterable[float] | np.ndarray,
    confidence: float | Iterable[float] = DEFAULT_CONFIDENCE,
    multiplier: float = 100,
    *,
    method: str = "wilson",
) -> pl.DataFrame:
    """Funnel limits around a target proportion ``p0`` (0 < p0 < 1, not multiplied).

    Returns columns ``denominator``, ``lower_<lvl>``, ``upper_<lvl>`` per
    level, ``baseline`` (p0 x multiplier) and ``method``.  See the module
    docstring for the methods ("wilson", the default as in PHE Fingertips;
    "exact"; "spiegelhalter").
    """
    p = _check_target(p0, "p0", upper_bound=1.0)
    if method not in PROPORTION_METHODS:
        raise MethodInputError(f"method: must be one of {', '.join(PROPORTION_METHODS)}, got {method!r}")
    levels = normalise_confidence(confidence)
    mult = check_multiplier(multiplier)
    n = _check_denominators(denominators, integer=(method == "spiegelhalter"))

    limits: dict[str, np.ndarray] = {}
    for level in levels:
        a = (1.0 - level) / 2.0
        if method == "exact":
            lo_count, hi_count = _exact_binomial_counts(p, n, a)
            lo, hi = lo_count / n, hi_count / n
        elif method == "wilson":
            half = z_value(level) * np.sqrt(p * (1.0 - p) / n)
            lo, hi = p - half, p + half
        else:
            from scipy.stats import binom  # imported when needed: scipy.stats takes a second to import

            dist = binom(n, p)
            with np.errstate(divide="ignore", invalid="ignore"):
                lo, hi = _spiegelhalter(dist, a) / n, _spiegelhalter(dist, 1.0 - a) / n
        limits[lower_name(level)] = np.clip(lo, 0.0, 1.0) * mult
        limits[upper_name(level)] = np.clip(hi, 0.0, 1.0) * mult
    return _frame(n, limits, p * mult, PROPORTION_METHODS[method])


def funnel_limits_rate(
    rate0: float,
    denominators: Iterable[float] | np.ndarray,
    multiplier: float = 1000,
    confidence: float | Iterable[float] = DEFAULT_CONFIDENCE,
    *,
    method: str = "exact",
) -> pl.DataFrame:
    """Funnel limits around a target rate.

    ``rate0`` is events per ONE unit of denominator (e.g. 0.0123 per person;
    i.e. a rate "per 1000" divided by 1000); the expected count at denominator
    n is rate0 x n.  Limits are exact Poisson (chi-square/gamma) limits
    (method "exact") or Spiegelhalter's interpolated Poisson quantiles (method
    "spiegelhalter"), divided by n and multiplied by ``multiplier``.

    Returns columns ``denominator``, ``lower_<lvl>``, ``upper_<lvl>`` per
    level, ``baseline`` (rate0 x multiplier) and ``method``.
    """
    r = _check_target(rate0, "rate0", upper_bound=None)
    if method not in RATE_METHODS:
        raise MethodInputError(f"method: must be one of {', '.join(RATE_METHODS)}, got {method!r}")
    levels = normalise_confidence(confidence)
    mult = check_multiplier(multiplier)
    n = _check_denominators(denominators, integer=False)
    expected = r * n

    limits: dict[str, np.ndarray] = {}
    for level in levels:
        a = (1.0 - level) / 2.0
        if method == "exact":
            lo_count, hi_count = _exact_poisson_counts(expected, a)
        else:
            from scipy.stats import poisson

            dist = poisson(expected)
            with np.errstate(divide="ignore", invalid="ignore"):
                lo_count, hi_count = _spiegelhalter(dist, a), _spiegelhalter(dist, 1.0 - a)
        limits[lower_name(level)] = np.maximum(lo_count / n, 0.0) * mult
        limits[upper_name(level)] = hi_count / n * mult
    return _frame(n, limits, r * mult, RATE_METHODS[method])
