"""Tables for st.dataframe: Norwegian column names and number formatting, sortable on the
underlying numbers (a pandas Styler formats the display only), "–" for suppressed values
with the reason in its own column.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import polars as pl
import streamlit as st

from indicators.catalogue import Indicator
from indicators.formatting import MISSING, decimals_for, format_number

from ui import text, theme

NATIONAL_NAME = "Hele landet"


def _fmt(decimals: int):
    return lambda v: format_number(None if pd.isna(v) else float(v), decimals)


# The two confidence levels a reader can choose (as in Fingertips); 95 % is the default.
CONFIDENCE_OPTIONS = {"95": "95 %", "99_8": "99,8 %"}
CONFIDENCE_VALUES = {"95": 0.95, "99_8": 0.998}
CONFIDENCE_HELP = ("Hvor sikker forskjellen fra landet må være før den vises som høyere eller lavere. "
                   "99,8 % viser bare de tydeligste forskjellene (færre tilfeldige funn når mange områder "
                   "sammenlignes); 95 % er standard.")


def indicator_frame(table: pl.DataFrame, ind: Indicator, *, name_label: str = "Område",
                    extra: dict[str, str] | None = None, funnel_positions: dict[str, str] | None = None,
                    show_reporting: bool = False, level: str = "95") -> pd.DataFrame:
    """Engine rows as a display frame (numbers stay numbers, for sorting); the value, its interval
    at ``level`` ("95" or "99_8") and the comparison come first, context columns last. A
    ``comparison_note`` column (why two comparisons differ) is added to the note."""
    def floats(column: str):
        return pd.array(table[column].to_list(), dtype="Float64")

    shown = CONFIDENCE_OPTIONS.get(level, "95 %")
    frame = pd.DataFrame({name_label: table["area_name"].to_list()})
    frame[f"Verdi ({text.unit_short(ind)})"] = floats("value")
    frame[f"Nedre {shown}"] = floats(f"lower_{level}")
    frame[f"Øvre {shown}"] = floats(f"upper_{level}")
    frame["Mot landet"] = [text.status_short(a, s) for a, s in zip(table["assessment"], table["significance"])]
    if funnel_positions is not None:
        frame["Traktplott"] = [funnel_positions.get(a, MISSING) for a in table["area_id"]]
    notes = table["comparison_note"].to_list() if "comparison_note" in table.columns else [None] * table.height
    frame["Merknad"] = [" ".join(p for p in (text.flag_note(f, fl), n) if p)
                        for f, fl, n in zip(table["flag"], table["flag_label"], notes)]
    frame["Teller"] = floats("numerator")
    frame["Nevner"] = floats("denominator")
    frame["Landet"] = floats("national_value")
    if show_reporting:
        frame["Rapporterende kommuner"] = [text.reporting(r, t) for r, t in
                                           zip(table["reporting_kommuner"], table["total_kommuner"])]
    for column, label in (extra or {}).items():
        frame[label] = table[column].to_list()
    frame["Periode"] = table["period"].to_list()
    return frame


def styled(frame: pd.DataFrame, ind: Indicator):
    decimals = decimals_for(ind.unit_label)
    formats = {}
    for column in frame.columns:
        if column in ("Teller", "Nevner"):
            formats[column] = _fmt(0)
        elif pd.api.types.is_float_dtype(frame[column].dtype):
            formats[column] = _fmt(decimals)
    return frame.style.format(formats, na_rep=MISSING)


def show(table: pl.DataFrame, ind: Indicator, *, key: str, height: int | str = "auto", **kwargs) -> None:
    frame = indicator_frame(table, ind, **kwargs)
    # The name column is wide enough for full names (Sámi and Kven names too) and stays in view
    # while the other columns scroll sideways on a narrow screen.
    name = frame.columns[0]
    st.dataframe(styled(frame, ind), hide_index=True, width="stretch", height=height, key=key,
                 column_config={name: st.column_config.TextColumn(name, width="large", pinned=True)})


def plain(frame: pl.DataFrame | pd.DataFrame, *, key: str | None = None, height: int | str = "auto") -> None:
    """A text table (already formatted)."""
    if isinstance(frame, pl.DataFrame):
        frame = frame.to_pandas()
    st.dataframe(frame, hide_index=True, width="stretch", height=height, key=key)


def significance_legend(direction: str) -> str:
    names: Sequence[str] = ("higher", "lower", "similar") if direction == "neutral" else ("better", "similar", "worse")
    parts = [f'<span><span class="sw" style="background:{theme.ASSESSMENT_COLOURS[n]}"></span>'
             f'{text.esc(theme.ASSESSMENT_LABELS[n])}</span>' for n in names]
    parts.append(f'<span><span class="sw" style="background:{theme.NOT_COMPARED}"></span>Ikke sammenlignet / skjult (–)</span>')
    parts.append("<span>▲ signifikant høyere · ▼ signifikant lavere · ● ikke signifikant forskjellig</span>")
    return f'<div class="legend">{"".join(parts)}</div>'


def year_pivot(table: pl.DataFrame, ind: Indicator, *, national: pl.DataFrame | None = None,
               name_label: str = "Område") -> pd.DataFrame:
    """Areas as rows, years as columns, formatted values ("–" where hidden or not reported).

    ``national`` (the country's rows over the years) becomes the first row, "Hele landet"."""
    if national is not None:
        table = pl.concat([national.with_columns(pl.lit(NATIONAL_NAME).alias("area_name")), table],
                          how="diagonal_relaxed")
    years = sorted(set(table["year_start"].to_list()))
    names = list(dict.fromkeys(table["area_name"].to_list()))
    lookup = {(n, y): v for n, y, v in zip(table["area_name"], table["year_start"], table["value"])}
    return pd.DataFrame({name_label: names,
                         **{str(y): [text.value(ind, lookup.get((n, y))) for n in names] for y in years}})


def trend_panels(panels: list[dict], area_name: str) -> pd.DataFrame:
    """The numbers of ``charts.small_multiples``: per indicator one row for the area and one for the
    country, years as columns (formatted; "–" where hidden or without data)."""
    years = sorted({y for p in panels for frame in (p["series"], p["national"])
                    for y in frame["year_start"].to_list()})
    rows = []
    for panel in panels:
        ind = panel["indicator"]
        for who, frame in ((area_name, panel["series"]), (NATIONAL_NAME, panel["national"])):
            values = dict(zip(frame["year_start"].to_list(), frame["value"].to_list()))
            rows.append({"Indikator": ind.short_name, "Enhet": text.unit_short(ind), "Område": who,
                         **{str(y): text.value(ind, values.get(y)) for y in years}})
    return pd.DataFrame(rows)
