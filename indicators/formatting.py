"""Norwegian number formatting: decimal comma and thin-space thousands (1 234,5)."""

from __future__ import annotations

import math

THIN_SPACE = "\u2009"
MISSING = "–"  # en dash: shown for suppressed or missing values, never zero


def format_number(value: float | int | None, decimals: int = 1) -> str:
    """``1234.56`` -> ``"1 234,6"`` (thin space, decimal comma); None/NaN -> ``"–"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    text = f"{value:,.{decimals}f}"
    return text.replace(",", THIN_SPACE).replace(".", ",")


def format_count(value: float | int | None) -> str:
    return format_number(value, 0)


def format_interval(lower: float | None, upper: float | None, decimals: int = 1) -> str:
    if lower is None or upper is None:
        return MISSING
    return f"{format_number(lower, decimals)}–{format_number(upper, decimals)}"


def decimals_for(unit: str) -> int:
    """Sensible decimals per unit: one for percent and per 1 000, none per 100 000."""
    return {"per 100 000": 0, "per 10 000": 1, "per 1 000": 1, "prosent": 1}.get(unit, 1)
