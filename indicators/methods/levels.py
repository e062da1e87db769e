"""Confidence levels: z values and output-column suffixes.

A confidence level is a number strictly between 0 and 1 (0.95, not 95).
Output columns are named ``lower<suffix>`` / ``upper<suffix>`` where the suffix
is the level in per cent with the decimal point replaced by ``_``:
0.95 -> ``_95``, 0.998 -> ``_99_8``, 0.9 -> ``_90``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

from scipy.special import ndtri  # the normal quantile (scipy.stats is slow to import)

from ._validate import MethodInputError

DEFAULT_CONFIDENCE: tuple[float, ...] = (0.95, 0.998)


def _check_level(level: object) -> float:
    if isinstance(level, bool) or not isinstance(level, Real):
        raise MethodInputError(
            f"confidence: level must be a number strictly between 0 and 1 (e.g. 0.95), got {level!r}"
        )
    value = float(level)
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise MethodInputError(
            f"confidence: level must be strictly between 0 and 1 (e.g. 0.95), got {level!r}"
        )
    return value


def confidence_suffix(level: float) -> str:
    """Column suffix for a confidence level: 0.95 -> '_95', 0.998 -> '_99_8'."""
    value = _check_level(level)
    percent = round(value * 100.0, 8)
    text = f"{percent:.8f}".rstrip("0").rstrip(".")
    return "_" + text.replace(".", "_")


def z_value(level: float) -> float:
    """Two-sided standard normal quantile: z = Phi^-1(level + (1 - level) / 2).

    0.95 -> 1.959964, 0.998 -> 3.090232.
    """
    value = _check_level(level)
    return float(ndtri(value + (1.0 - value) / 2.0))


def normalise_confidence(confidence: float | Iterable[float]) -> tuple[float, ...]:
    """Validate ``confidence`` (a level or an iterable of levels) into a tuple."""
    if isinstance(confidence, Real) and not isinstance(confidence, bool):
        levels = (confidence,)
    else:
        try:
            levels = tuple(confidence)  # type: ignore[arg-type]
        except TypeError:
            raise MethodInputError(
                f"confidence: expected a level or a tuple of levels, got {confidence!r}"
            ) from None
    if not levels:
        raise MethodInputError("confidence: at least one confidence level is required")
    checked = tuple(_check_level(level) for level in levels)
    suffixes = [confidence_suffix(level) for level in checked]
    if len(set(suffixes)) != len(suffixes):
        raise MethodInputError(f"confidence: duplicate levels in {levels!r}")
    return checked


def lower_name(level: float) -> str:
    return "lower" + confidence_suffix(level)


def upper_name(level: float) -> str:
    return "upper" + confidence_suffix(level)
