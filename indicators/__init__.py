"""Indicators: the declared catalogue, the statistics, and the engine that computes suppressed tables.

Pages, exports and the CLI use only this public API; every table it returns is suppressed.
"""

from indicators.analysis import Funnel, funnel, latest_year, profile, trend, variation
from indicators.catalogue import Catalogue, CatalogueError, Indicator, load_catalogue
from indicators.data import DataKey, current_key
from indicators.engine import (
    FLAG_LABELS,
    NOT_REPORTED,
    OK,
    OUTPUT_COLUMNS,
    POOLING_YEARS,
    SUPPRESSION_FLAGS,
    IndicatorRequestError,
    Period,
    available_years,
    compute,
    pooled_periods,
)

__all__ = [
    "Catalogue", "CatalogueError", "DataKey", "FLAG_LABELS", "Funnel", "Indicator", "IndicatorRequestError",
    "NOT_REPORTED", "OK", "OUTPUT_COLUMNS", "POOLING_YEARS", "Period", "SUPPRESSION_FLAGS",
    "available_years", "compute", "current_key", "funnel", "latest_year", "load_catalogue",
    "pooled_periods", "profile", "trend", "variation",
]
