"""Views built on the engine's suppressed tables: trends, variation, funnels, comparisons and profiles.

Everything here reads ``engine.compute`` output (already masked), except the variation
figures, which need observed and expected counts and therefore take them from the engine's
internal table, for unmasked areas only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from indicators import data, methods
from indicators.catalogue import load_catalogue
from indicators.engine import OK, Period, _period_table, available_years, compute

POSITION_LABELS = {
    "above_99_8": "Over 99,8 %-grensen",
    "above_95": "Over 95 %-grensen",
    "inside": "Innenfor grensene",
    "below_95": "Under 95 %-grensen",
    "below_99_8": "Under 99,8 %-grensen",
}
# The two confidence levels a reader can choose (Fingertips offers the same two); 95 % is the default.
CONFIDENCE_LEVELS = {0.95: "95 %", 0.998: "99,8 %"}
DEFAULT_LEVEL = 0.95
RATIO, CRUDE = "ratio", "crude"  # the funnel's scales
SCALE_LABELS = {
    RATIO: "observert/forventet (indirekte standardisert, landet = 1)",
    CRUDE: "ikke-standardisert verdi mot landsverdien",
}


def check_confidence(confidence: float) -> float:
    """95 % or 99.8 %, or a clear Norwegian error."""
    for level in CONFIDENCE_LEVELS:
        if abs(float(confidence) - level) < 1e-9:
            return level
    raise ValueError(f"ukjent konfidensnivå {confidence!r}; velg 0.95 (95 %) eller 0.998 (99,8 %)")


def trend(indicator_id: str, level: str, key: data.DataKey | None = None) -> pl.DataFrame:
    """Every single year for every area of a level (suppressed), for trend charts."""
    return compute(indicator_id, level, key=key)


def variation(indicator_id: str, level: str, period: Period, key: data.DataKey | None = None) -> dict:
    """FT1 (high/low ratio), FT2, FT3, CV (also in per cent) and SCV across the unmasked areas of a level (Helseatlas)."""
    key = key or data.current_key()
    source_level = "helsefellesskap" if level == "helseforetak" else level
    table = _period_table(key, indicator_id, period).filter(
        (pl.col("level") == source_level)
        & pl.col("suppression").is_null()
        & (pl.col("reporting_kommuner") > 0)
        & pl.col("value").is_not_null()
        & (pl.col("expected") > 0)
    )
    summary = methods.variation_summary(table, value="value", observed="numerator", expected="expected")
    row = summary.row(0, named=True)
    row["n_areas_total"] = compute(indicator_id, level, period=period, key=key).height
    return row


@dataclass(frozen=True)
class Funnel:
    """A funnel plot's points and limits.

    ``scale`` says what is plotted: for a standardised indicator (``ratio``) the indirectly
    standardised ratio O / E against the expected count E, with exact Poisson limits around 1
    (PHE's ratio funnel; age and sex are taken out, as in the table's values); otherwise
    (``crude``) the crude value against its denominator around the national crude value.
    """

    points: pl.DataFrame  # area_id, area_name, numerator, denominator (the x axis), value, position, flag, ...
    limits: pl.DataFrame  # denominator, lower_95, upper_95, lower_99_8, upper_99_8
    target: float
    value_label: str
    scale: str = CRUDE
    x_label: str = ""


def _positions(values: np.ndarray, own: pl.DataFrame) -> np.ndarray:
    return np.select(
        [values > own["upper_99_8"].to_numpy(), values > own["upper_95"].to_numpy(),
         values < own["lower_99_8"].to_numpy(), values < own["lower_95"].to_numpy()],
        ["above_99_8", "above_95", "below_99_8", "below_95"],
        default="inside",
    )


def funnel(indicator_id: str, level: str, period: Period, area_ids: list[str] | None = None,
           key: data.DataKey | None = None) -> Funnel:
    """The funnel plot of a level: on the standardised scale (O / E around 1) for standardised
    indicators, crude values around the national value for the rest (see :class:`Funnel`)."""
    ind = load_catalogue().indicator(indicator_id)
    key = key or data.current_key()
    table = compute(indicator_id, level, period=period, key=key)
    if ind.is_standardised:
        points = table.filter(pl.col("numerator").is_not_null() & (pl.col("expected") > 0)).with_columns(
            (pl.col("numerator") / pl.col("expected")).alias("__y"), pl.col("expected").alias("__x"))
        target = 1.0
    else:
        points = table.filter(pl.col("crude_value").is_not_null() & (pl.col("denominator") > 0)).with_columns(
            pl.col("crude_value").alias("__y"), pl.col("denominator").alias("__x"))
        national = compute(indicator_id, "land", period=period, key=key)["crude_value"][0]
        target = national
    if area_ids is not None:
        points = points.filter(pl.col("area_id").is_in(area_ids))
    if points.height:
        low, high = max(points["__x"].min() * 0.8, 0.5 if ind.is_standardised else 1.0), points["__x"].max() * 1.2
    else:
        low, high = 1.0, 1000.0
    grid = methods.funnel_points(low, high, 200)
    at_points = points["__x"].to_numpy()

    def limits_at(x):
        if ind.is_standardised:
            return methods.funnel_limits_rate(1.0, x, multiplier=1)
        if ind.type == "proportion":
            return methods.funnel_limits_proportion(target / ind.multiplier, x, multiplier=ind.multiplier)
        return methods.funnel_limits_rate(target / ind.multiplier, x, multiplier=ind.multiplier)

    limits = limits_at(grid)
    position = _positions(points["__y"].to_numpy(), limits_at(at_points)) if points.height else np.array([], dtype=str)
    points = points.with_columns(pl.Series("position", position.tolist(), dtype=pl.String)).select(
        "area_id", "area_name", "numerator", pl.col("__x").alias("denominator"), pl.col("__y").alias("value"),
        "position", "flag", pl.col("expected") if ind.is_standardised else pl.lit(None, dtype=pl.Float64).alias("expected"),
    ).with_columns(pl.col("position").replace_strict(POSITION_LABELS, default=None).alias("position_label"))
    if ind.is_standardised:
        value_label = f"{ind.short_name}: observert/forventet (indirekte standardisert for alder og kjønn)"
        x_label = "Forventet antall ut fra landets rater for alder og kjønn"
    else:
        value_label = f"{ind.short_name} ({ind.unit_label}, ikke standardisert)"
        x_label = f"Nevner: {ind.denominator.label.lower()}"
    return Funnel(
        points=points,
        limits=limits.select("denominator", "lower_95", "upper_95", "lower_99_8", "upper_99_8"),
        target=target,
        value_label=value_label,
        scale=RATIO if ind.is_standardised else CRUDE,
        x_label=x_label,
    )


_SIDE = {"above_99_8": "higher", "above_95": "higher", "below_99_8": "lower", "below_95": "lower"}
_ASSESSMENT = {
    "higher_is_better": {"higher": "better", "lower": "worse"},
    "lower_is_better": {"higher": "worse", "lower": "better"},
    "neutral": {},
}
_WORDS = {"higher": "høyere enn landet", "lower": "lavere enn landet", "similar": "som landet"}


def funnel_significance(position: str | None, confidence: float = DEFAULT_LEVEL) -> str:
    """higher / lower / similar from a funnel position at 95 % or 99.8 % (not_compared without one)."""
    if position is None:
        return "not_compared"
    if check_confidence(confidence) == 0.998 and position in ("above_95", "below_95"):
        return "similar"
    return _SIDE.get(position, "similar")


def with_significance(table: pl.DataFrame, ind, confidence: float = DEFAULT_LEVEL) -> pl.DataFrame:
    """The engine's significance (the area's interval against the national value) at 95 % or 99.8 %.

    The engine computes it at 95 %; at 99.8 % it is recomputed from the 99.8 % limits the same way.
    Adds ``confidence`` ("95 %" or "99,8 %"), so that an export says which level it holds.
    """
    confidence = check_confidence(confidence)
    table = table.with_columns(pl.lit(CONFIDENCE_LEVELS[confidence]).alias("confidence"))
    if confidence == 0.95 or table.height == 0:
        return table
    shown = pl.col("significance") != "not_compared"
    recomputed = methods.significance_vs_benchmark(
        table.select("value", "lower_99_8", "upper_99_8", "national_value"), "national_value",
        lower="lower_99_8", upper="upper_99_8", direction=ind.direction)
    return table.with_columns(
        pl.when(shown).then(pl.Series(recomputed["significance"])).otherwise(pl.col("significance")).alias("significance"),
        pl.when(shown).then(pl.Series(recomputed["assessment"])).otherwise(pl.col("assessment")).alias("assessment"),
    )


def with_funnel(table: pl.DataFrame, plot: Funnel, ind, confidence: float = DEFAULT_LEVEL) -> pl.DataFrame:
    """A kommune table with each kommune's funnel position on the chart's scale, and its comparison
    with the country taken from that same funnel, so that the table and the chart never disagree.

    Adds ``funnel_scale``, ``funnel_value`` (O / E or the crude value), ``funnel_position`` and
    ``interval_significance`` (the engine's comparison of the area's interval, kept for reference);
    ``significance`` and ``assessment`` become the funnel's at ``confidence``; ``comparison_note``
    says why where the two differ (for standardised indicators the interval is the directly
    standardised rate's, which weights the age groups by the standard population).
    """
    confidence = check_confidence(confidence)
    table = with_significance(table, ind, confidence)
    points = plot.points.select("area_id", pl.col("value").alias("funnel_value"), pl.col("position").alias("funnel_position"))
    joined = table.join(points, on="area_id", how="left", maintain_order="left")
    funnel_sig = [funnel_significance(p, confidence) for p in joined["funnel_position"].to_list()]
    mapping = _ASSESSMENT[ind.direction]
    notes = []
    for interval, own, flag in zip(joined["significance"].to_list(), funnel_sig, joined["flag"].to_list()):
        if own == "not_compared" or interval in (None, "not_compared") or interval == own:
            notes.append(None)
        elif plot.scale == RATIO:
            notes.append(f"Direkte standardisert rate: {_WORDS[interval]}. Traktplottet og sammenligningen her bruker "
                         "indirekte standardisering (observert mot forventet antall), som vekter kommunens egen "
                         "alderssammensetning; ved grensen kan de to gi ulikt svar.")
        else:
            notes.append(f"Konfidensintervallet alene: {_WORDS[interval]}. Sammenligningen her følger traktplottets "
                         "grenser (eksakte grenser rundt landsverdien); ved grensen kan de to gi ulikt svar.")
    scale = SCALE_LABELS[plot.scale]
    return joined.with_columns(
        pl.col("significance").alias("interval_significance"),
        pl.Series("significance", funnel_sig, dtype=pl.String),
        pl.Series("assessment", [mapping.get(s, s) for s in funnel_sig], dtype=pl.String),
        pl.Series("comparison_note", notes, dtype=pl.String),
        pl.when(pl.col("funnel_position").is_not_null()).then(pl.lit(scale)).otherwise(None).alias("funnel_scale"),
    )


def latest_year(indicator_id: str, up_to: int | None = None, key: data.DataKey | None = None) -> int | None:
    years = [y for y in available_years(indicator_id, key) if up_to is None or y <= up_to]
    return max(years) if years else None


RANK_RULES = {"best": "1 = best", "highest": "1 = høyeste verdi"}


def rank_of(values: np.ndarray, value: float, direction: str) -> int:
    """Rank among ``values``: 1 = best where a direction is desired (the highest or the lowest
    value), 1 = the highest value for descriptive (neutral) indicators. Ties share a rank."""
    if direction == "lower_is_better":
        return int((values < value).sum()) + 1
    return int((values > value).sum()) + 1


def rank_rule(direction: str) -> str:
    return RANK_RULES["highest" if direction == "neutral" else "best"]


def indicator_trend(ind, series: pl.DataFrame) -> str:
    """Fingertips' recent trend of one area's series: the chi-square test for trend on the counts
    for crude proportions, the weighted regression on the values and intervals for the rest."""
    counts = {}
    if ind.type == "proportion" and not ind.is_standardised:
        counts = {"numerators": series["numerator"].to_list(), "denominators": series["denominator"].to_list()}
    return methods.trend_direction(
        series["year_start"].to_list(), series["value"].to_list(),
        series["lower_95"].to_list(), series["upper_95"].to_list(), **counts,
    )


def profile(helsefellesskap_id: str, year: int | None = None, key: data.DataKey | None = None,
            confidence: float = DEFAULT_LEVEL) -> pl.DataFrame:
    """One row per indicator for one helsefellesskap: the Fingertips spine-chart table.

    For each indicator: the latest year with data up to ``year``; the value with limits,
    the national value and significance at ``confidence`` (95 % or 99.8 %); the recent trend
    (Fingertips' rule, :func:`indicator_trend`); the rank among the 19 helsefellesskap (1 = best
    where a direction is desired, 1 = highest for descriptive indicators; ``rank_rule`` says which)
    and the spread of the 19 values for the spine.
    """
    confidence = check_confidence(confidence)
    key = key or data.current_key()
    rows = []
    from indicators import published

    for ind in published.with_published(load_catalogue(), key).indicators:
        base = {
            "indicator_id": ind.id, "group": ind.group, "name": ind.name, "short_name": ind.short_name,
            "unit": ind.unit_label, "direction": ind.direction, "standardised": ind.is_standardised,
            "source": ind.source, "period": None, "confidence": CONFIDENCE_LEVELS[confidence],
        }
        if ind.is_published:  # the publisher's value for the helsefellesskap's own area, where there is one
            rows.append(published.profile_row(key, ind, helsefellesskap_id, year, base))
            continue
        period_year = latest_year(ind.id, year, key)
        if period_year is None:
            rows.append(base | {"flag": "not_reported"})
            continue
        table = with_significance(compute(ind.id, "helsefellesskap", years=[period_year], key=key), ind, confidence)
        own = table.filter(pl.col("area_id") == helsefellesskap_id)
        if own.height == 0:
            raise KeyError(f"unknown helsefellesskap {helsefellesskap_id!r}")
        record = own.row(0, named=True)
        ranked = table.filter(pl.col("flag") == OK).sort("value", descending=True, nulls_last=True)
        values = ranked["value"].drop_nulls().to_numpy()
        rank = None
        if record["flag"] == OK and record["value"] is not None:
            rank = rank_of(values, record["value"], ind.direction)
        series = trend(ind.id, "helsefellesskap", key).filter(pl.col("area_id") == helsefellesskap_id)
        quantiles = np.quantile(values, [0, 0.25, 0.5, 0.75, 1]) if values.size else [None] * 5
        rows.append(
            base
            | {k: record[k] for k in ("period", "numerator", "denominator", "value", "lower_95", "upper_95",
                                      "lower_99_8", "upper_99_8", "national_value", "significance", "assessment",
                                      "flag", "flag_label")}
            | {
                "trend": indicator_trend(ind, series),
                "rank": rank,
                "n_ranked": int(values.size),
                "rank_rule": rank_rule(ind.direction),
                "hf_min": float(quantiles[0]) if values.size else None,
                "hf_q25": float(quantiles[1]) if values.size else None,
                "hf_median": float(quantiles[2]) if values.size else None,
                "hf_q75": float(quantiles[3]) if values.size else None,
                "hf_max": float(quantiles[4]) if values.size else None,
                "reporting_kommuner": record["reporting_kommuner"],
                "total_kommuner": record["total_kommuner"],
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)
