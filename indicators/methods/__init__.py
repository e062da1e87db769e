"""Public-health indicator statistics (in the style of PHEindicatormethods, UKHSA).

Polars DataFrame in, Polars DataFrame out; vectorised over areas.  Output
columns: ``value``, ``lower_95``, ``upper_95``, ``lower_99_8``, ``upper_99_8``
(one pair per confidence level, see :func:`confidence_suffix`) and ``method``.
Invalid input raises :class:`MethodInputError` (a ``ValueError``).
"""

from ._validate import MethodInputError
from .funnel import funnel_limits_proportion, funnel_limits_rate, funnel_points
from .levels import DEFAULT_CONFIDENCE, confidence_suffix, normalise_confidence, z_value
from .proportions import proportion, wilson_limits
from .rates import byars_limits, crude_rate, poisson_exact_limits
from .significance import significance_vs_benchmark
from .standardisation import (
    directly_standardised_rate,
    dobson_limits,
    indirectly_standardised_rate,
    indirectly_standardised_ratio,
)
from .trend import DECREASING, INCREASING, NO_CHANGE, TOO_FEW, trend_direction
from .variation import variation_summary

__all__ = [
    "DECREASING",
    "DEFAULT_CONFIDENCE",
    "INCREASING",
    "NO_CHANGE",
    "TOO_FEW",
    "MethodInputError",
    "byars_limits",
    "confidence_suffix",
    "crude_rate",
    "directly_standardised_rate",
    "dobson_limits",
    "funnel_limits_proportion",
    "funnel_limits_rate",
    "funnel_points",
    "indirectly_standardised_rate",
    "indirectly_standardised_ratio",
    "normalise_confidence",
    "poisson_exact_limits",
    "proportion",
    "significance_vs_benchmark",
    "trend_direction",
    "variation_summary",
    "wilson_limits",
    "z_value",
]
