"""Views built on the engine's suppressed tables: trends, variation, funnels and profiles.

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


def trend(indicator_id: str, level: str, key: data.DataKey | None = None) -> pl.DataFrame:
    """Every single year for every area of a level (suppressed), for trend charts."""
    return compute(indicator_id, level, key=key)


def variation(indicator_id: str, level: str, period: Period, key: data.DataKey | None = None) -> dict:
    """High/low ratio, CV and SCV across the unmasked areas of a level (Helseatlas style)."""
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
    points: pl.DataFrame  # area_id, area_name, numerator, denominator, value, position
    limits: pl.DataFrame  # denominator, lower_95, upper_95, lower_99_8, upper_99_8
    target: float
    value_label: str


def funnel(indicator_id: str, level: str, period: Period, area_ids: list[str] | None = None,
           key: data.DataKey | None = None) -> Funnel:
    """Crude values against their denominators, with control limits around the national value."""
    ind = load_catalogue().indicator(indicator_id)
    key = key or data.current_key()
    table = compute(indicator_id, level, period=period, key=key)
    national = compute(indicator_id, "land", period=period, key=key)["crude_value"][0]
    points = table.filter(pl.col("crude_value").is_not_null() & (pl.col("denominator") > 0))
    if area_ids is not None:
        points = points.filter(pl.col("area_id").is_in(area_ids))
    target = national / ind.multiplier
    if points.height:
        low, high = max(points["denominator"].min() * 0.8, 1.0), points["denominator"].max() * 1.2
    else:
        low, high = 1.0, 1000.0
    grid = methods.funnel_points(low, high, 200)
    at_points = points["denominator"].to_numpy()
    if ind.type == "proportion":
        limits = methods.funnel_limits_proportion(target, grid, multiplier=ind.multiplier, method="wilson")
        own = methods.funnel_limits_proportion(target, at_points, multiplier=ind.multiplier, method="wilson") if points.height else None
    else:
        limits = methods.funnel_limits_rate(target, grid, multiplier=ind.multiplier)
        own = methods.funnel_limits_rate(target, at_points, multiplier=ind.multiplier) if points.height else None
    if own is not None:
        v = points["crude_value"].to_numpy()
        position = np.select(
            [v > own["upper_99_8"].to_numpy(), v > own["upper_95"].to_numpy(),
             v < own["lower_99_8"].to_numpy(), v < own["lower_95"].to_numpy()],
            ["above_99_8", "above_95", "below_99_8", "below_95"],
            default="inside",
        )
        points = points.with_columns(pl.Series("position", position, dtype=pl.String))
    else:
        points = points.with_columns(pl.lit(None, dtype=pl.String).alias("position"))
    points = points.select(
        "area_id", "area_name", "numerator", "denominator", pl.col("crude_value").alias("value"), "position", "flag",
    ).with_columns(pl.col("position").replace_strict(POSITION_LABELS, default=None).alias("position_label"))
    return Funnel(
        points=points,
        limits=limits.select("denominator", "lower_95", "upper_95", "lower_99_8", "upper_99_8"),
        target=national,
        value_label=f"{ind.short_name} ({ind.unit_label}, ikke standardisert)",
    )


def latest_year(indicator_id: str, up_to: int | None = None, key: data.DataKey | None = None) -> int | None:
    years = [y for y in available_years(indicator_id, key) if up_to is None or y <= up_to]
    return max(years) if years else None


def profile(helsefellesskap_id: str, year: int | None = None, key: data.DataKey | None = None) -> pl.DataFrame:
    """One row per indicator for one helsefellesskap: the Fingertips spine-chart table.

    For each indicator: the latest year with data up to ``year``; the value with limits,
    the national value and significance; the recent trend; the rank among the 19
    helsefellesskap (1 = highest value) and the spread of the 19 values for the spine.
    """
    key = key or data.current_key()
    rows = []
    for ind in load_catalogue().indicators:
        period_year = latest_year(ind.id, year, key)
        base = {
            "indicator_id": ind.id, "group": ind.group, "name": ind.name, "short_name": ind.short_name,
            "unit": ind.unit_label, "direction": ind.direction, "standardised": ind.is_standardised,
            "source": ind.source, "period": None,
        }
        if period_year is None:
            rows.append(base | {"flag": "not_reported"})
            continue
        table = compute(ind.id, "helsefellesskap", years=[period_year], key=key)
        own = table.filter(pl.col("area_id") == helsefellesskap_id)
        if own.height == 0:
            raise KeyError(f"unknown helsefellesskap {helsefellesskap_id!r}")
        record = own.row(0, named=True)
        ranked = table.filter(pl.col("flag") == OK).sort("value", descending=True, nulls_last=True)
        values = ranked["value"].drop_nulls().to_numpy()
        rank = None
        if record["flag"] == OK and record["value"] is not None:
            rank = int((values > record["value"]).sum()) + 1
        series = trend(ind.id, "helsefellesskap", key).filter(pl.col("area_id") == helsefellesskap_id)
        direction = methods.trend_direction(
            series["year_start"].to_list(), series["value"].to_list(),
            series["lower_95"].to_list(), series["upper_95"].to_list(),
        )
        quantiles = np.quantile(values, [0, 0.25, 0.5, 0.75, 1]) if values.size else [None] * 5
        rows.append(
            base
            | {k: record[k] for k in ("period", "numerator", "denominator", "value", "lower_95", "upper_95",
                                      "national_value", "significance", "assessment", "flag", "flag_label")}
            | {
                "trend": direction,
                "rank": rank,
                "n_ranked": int(values.size),
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
