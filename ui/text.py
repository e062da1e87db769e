"""Norwegian text for numbers, periods, statuses and indicators (presentation only)."""

from __future__ import annotations

import html

from indicators.catalogue import DIRECTION_LABELS, Indicator
from indicators.formatting import MISSING, decimals_for, format_interval, format_number

from ui import theme

LEVEL_NAMES = {
    "kommune": "kommune",
    "helsefellesskap": "helsefellesskap",
    "helseforetak": "helseforetak",
    "rhf": "regionalt helseforetak",
    "fylke": "fylke",
    "land": "hele landet",
}


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text))


def value(ind: Indicator, number: float | None) -> str:
    return format_number(number, decimals_for(ind.unit_label))


def count(number: float | None) -> str:
    return format_number(number, 0)


def interval(ind: Indicator, lower: float | None, upper: float | None) -> str:
    return format_interval(lower, upper, decimals_for(ind.unit_label))


def unit_phrase(ind: Indicator) -> str:
    """``"per 1 000 innbyggere 80 år og eldre"`` or ``"prosent av utskrivninger 67 år og eldre"``."""
    if ind.is_published:  # the publisher's own unit, e.g. "per 10 000 innbyggere"
        return ind.unit_label
    if ind.unit == "per_person":  # events per person in a cohort: "per person i pasientgruppen"
        return f"per person i {ind.denominator.label[0].lower() + ind.denominator.label[1:]}".replace(
            "i personer i ", "i ")
    denominator = ind.denominator.label[0].lower() + ind.denominator.label[1:]
    if ind.unit_label == "prosent":
        return f"prosent av {denominator.lower()}"
    return f"{ind.unit_label} {denominator.lower()}"


def unit_short(ind: Indicator) -> str:
    return "%" if ind.unit_label == "prosent" else ind.unit_label


def with_unit(ind: Indicator, number: float | None) -> str:
    text = value(ind, number)
    if text == MISSING:
        return text
    return f"{text} %" if ind.unit_label == "prosent" else f"{text} {ind.unit_label}"


def standardisation(ind: Indicator) -> str:
    if not ind.is_standardised:
        return "ikke standardisert"
    dims = " og ".join({"age": "alder", "sex": "kjønn"}[d] for d in ind.standardisation.by)
    return f"standardisert for {dims}"


def subtitle(ind: Indicator, period: str, synthetic: bool, extra: str = "") -> str:
    """Chart subtitle: unit, standardisation, period, source (and the synthetic label)."""
    parts = [unit_phrase(ind), standardisation(ind), period, f"Kilde: {ind.source}"]
    if extra:
        parts.append(extra)
    if synthetic:
        parts.append("SYNTETISKE DEMODATA")
    return " · ".join(parts)


def direction(ind: Indicator) -> str:
    return DIRECTION_LABELS.get(ind.direction, ind.direction)


def status(assessment: str | None, significance: str | None) -> str:
    """``"▲ Dårligere enn landet"`` (symbol for the significance, words for the assessment)."""
    symbol = theme.SIGNIFICANCE_SYMBOLS.get(significance or "not_compared", "○")
    return f"{symbol} {theme.ASSESSMENT_LABELS.get(assessment or 'not_compared', 'Ikke sammenlignet')}"


def status_short(assessment: str | None, significance: str | None) -> str:
    """``"▲ Dårligere"`` for narrow table columns."""
    symbol = theme.SIGNIFICANCE_SYMBOLS.get(significance or "not_compared", "○")
    return f"{symbol} {theme.ASSESSMENT_SHORT.get(assessment or 'not_compared', 'Ikke sammenlignet')}"


def flag_note(flag: str | None, flag_label: str | None) -> str:
    if not flag or flag == "ok":
        return ""
    return flag_label or flag


def reporting(reporting_kommuner: int | None, total_kommuner: int | None) -> str:
    if total_kommuner is None:
        return MISSING
    noun = "kommune" if total_kommuner == 1 else "kommuner"
    return f"{reporting_kommuner or 0} av {total_kommuner} {noun} rapporterer"


def trend(code: str | None) -> tuple[str, str]:
    return theme.TREND_LABELS.get(code or "too_few_points", theme.TREND_LABELS["too_few_points"])
