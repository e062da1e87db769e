"""The overlap between the four priority groups as an UpSet chart, with its table twin.

Input is the overlap as the engine publishes it (already suppressed): one row per combination of
the four groups, ``combination`` a string of four bits in the groups' fixed order ("0101" = in the
second and fourth group and in no other), ``persons`` the persons in exactly that combination
(None when hidden) and ``flag``. A hidden cell is drawn as no bar with the mark ":" and the word
"skjult", never as 0; a true 0 is drawn as 0.

Layout (as in Lex et al., UpSet, 2014): bars of persons per combination at the top, ordered
largest first with hidden cells last; under each bar a dot matrix of the four groups (dark dots
joined by a line = the groups of the combination); to the left of the matrix, bars of the size
of each group (persons in the group, whatever else they belong to).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import polars as pl

from indicators.engine import SUPPRESSED_SYMBOL
from indicators.formatting import MISSING

from ui import charts, text, theme

HIDDEN_TEXT = f"{SUPPRESSED_SYMBOL} skjult"
HIDDEN_MARK = f"{SUPPRESSED_SYMBOL}<br>skjult"  # on the chart: two short lines fit under a narrow bar
NOT_REPORTED_TEXT = "ikke rapportert"
MEMBER_COLOUR = "#163E73"
ABSENT_COLOUR = "#D5DAE1"
BAR_COLOUR = "#2F6EBA"
SET_BAR_COLOUR = "#5B7FA6"
TABLE_COLUMNS = ("Kombinasjon", "Antall grupper", "Personer")


def _members(combination: str) -> list[int]:
    return [i for i, bit in enumerate(combination) if bit == "1"]


def combination_name(combination: str, group_names: Sequence[str]) -> str:
    """``"0101"`` -> ``"Psykiske lidelser + Multimorbiditet (bare disse)"``."""
    names = [group_names[i] for i in _members(combination)]
    if len(names) == 1:
        return f"Bare {names[0][:1].lower()}{names[0][1:]}"
    return " + ".join(names)


def _is_hidden(row: dict) -> bool:
    return row.get("persons") is None


def _hidden_text(row: dict) -> str:
    return NOT_REPORTED_TEXT if row.get("flag") == "not_reported" else HIDDEN_TEXT


def _hidden_mark(row: dict) -> str:
    return "ikke<br>rapp." if row.get("flag") == "not_reported" else HIDDEN_MARK


def ordered_cells(cells: pl.DataFrame) -> list[dict]:
    """The combinations with persons first (largest first, ties by fewer groups), then the hidden ones
    (by number of groups), leaving out the empty combination "0000"."""
    rows = [r for r in cells.to_dicts() if "1" in str(r["combination"])]
    shown = sorted((r for r in rows if not _is_hidden(r)),
                   key=lambda r: (-r["persons"], r["combination"].count("1"), r["combination"]))
    hidden = sorted((r for r in rows if _is_hidden(r)), key=lambda r: (r["combination"].count("1"), r["combination"]))
    return shown + hidden


def upset_figure(cells: pl.DataFrame, group_names: Sequence[str], *, set_sizes: Sequence[int | None] | None = None,
                 title: str, subtitle: str) -> go.Figure:
    """The UpSet chart: persons per combination (bars), the dot matrix of the groups under them and the
    size of each group (bars to the left of the matrix; ``set_sizes`` in the groups' order, None = hidden)."""
    rows = ordered_cells(cells)
    n_groups = len(group_names)
    x = list(range(len(rows)))
    names = [combination_name(r["combination"], group_names) for r in rows]
    visible = [(i, r) for i, r in enumerate(rows) if not _is_hidden(r)]
    hidden = [(i, r) for i, r in enumerate(rows) if _is_hidden(r)]
    top = max([r["persons"] for _, r in visible] or [1]) or 1
    data: list[dict] = [dict(
        type="bar", x=[i for i, _ in visible], y=[r["persons"] for _, r in visible], xaxis="x", yaxis="y",
        name="Personer i nøyaktig denne kombinasjonen", marker=dict(color=BAR_COLOUR, line=dict(color="#1A1A1A", width=0.6)),
        text=[text.count(r["persons"]) for _, r in visible], textposition="outside", cliponaxis=False,
        textfont=dict(size=12), textangle=0,
        customdata=[[text.esc(names[i]), text.count(r["persons"])] for i, r in visible],
        hovertemplate="<b>%{customdata[0]}</b><br>Personer: %{customdata[1]}<extra></extra>",
    )]
    if hidden:  # a mark, not a bar: a hidden number is never drawn as 0
        data.append(dict(
            type="scatter", mode="text", x=[i for i, _ in hidden], y=[top * 0.04] * len(hidden), xaxis="x", yaxis="y",
            name="Skjult (for få personer) eller ikke rapportert", text=[_hidden_mark(r) for _, r in hidden],
            textposition="top center", textfont=dict(size=12, color=theme.MUTED_TEXT),
            customdata=[[text.esc(names[i]), _hidden_text(r)] for i, r in hidden],
            hovertemplate="<b>%{customdata[0]}</b><br>Personer: %{customdata[1]}<extra></extra>",
        ))
    # the dot matrix: a light dot for every group, a dark one for the groups of the combination
    data.append(dict(
        type="scatter", mode="markers", x=[i for i in x for _ in range(n_groups)],
        y=[g for _ in x for g in range(n_groups)], xaxis="x", yaxis="y2", showlegend=False, hoverinfo="skip",
        marker=dict(size=13, color=ABSENT_COLOUR),
    ))
    for i, r in enumerate(rows):
        members = _members(r["combination"])
        data.append(dict(
            type="scatter", mode="lines+markers", x=[i] * len(members), y=members, xaxis="x", yaxis="y2",
            showlegend=False, marker=dict(size=13, color=MEMBER_COLOUR), line=dict(color=MEMBER_COLOUR, width=3),
            hovertemplate=f"<b>{text.esc(names[i])}</b><extra></extra>",
        ))
    if set_sizes is not None:
        sizes = list(set_sizes)
        data.append(dict(
            type="bar", orientation="h", x=[s if s is not None else None for s in sizes], y=list(range(n_groups)),
            xaxis="x2", yaxis="y2", showlegend=False, marker=dict(color=SET_BAR_COLOUR),
            text=[text.count(s) if s is not None else HIDDEN_TEXT for s in sizes], textposition="outside",
            cliponaxis=False, textfont=dict(size=12),
            customdata=[[text.esc(n), text.count(s) if s is not None else HIDDEN_TEXT] for n, s in zip(group_names, sizes)],
            hovertemplate="<b>%{customdata[0]}</b><br>Personer i gruppen i alt: %{customdata[1]}<extra></extra>",
        ))
        hidden_sets = [g for g, s in enumerate(sizes) if s is None]
        if hidden_sets:  # a hidden group size: the mark where the bar would start, not a bar of 0
            data.append(dict(
                type="scatter", mode="text", x=[0] * len(hidden_sets), y=hidden_sets, xaxis="x2", yaxis="y2",
                showlegend=False, text=[HIDDEN_TEXT] * len(hidden_sets), textposition="middle left",
                textfont=dict(size=12, color=theme.MUTED_TEXT), hoverinfo="skip",
            ))
    layout = charts.base_layout(title, subtitle, height=560, wrap=100, bottom=60)
    left = 0.30 if set_sizes is not None else 0.22
    charts._axis(layout, "xaxis", domain=[left, 1.0], anchor="y2", tickmode="array", tickvals=x,
                 ticktext=[""] * len(x), range=[-0.6, max(len(x) - 0.4, 0.6)], showgrid=False, ticks="")
    charts._axis(layout, "yaxis", domain=[0.42, 1.0], anchor="x", title_text="Personer", rangemode="tozero",
                 range=[0, top * 1.18], tickformat=",d")
    charts._axis(layout, "yaxis2", domain=[0.0, 0.36], anchor="x", tickmode="array", tickvals=list(range(n_groups)),
                 ticktext=[text.esc(n) for n in group_names], range=[n_groups - 0.5, -0.5], showgrid=False,
                 showline=False, ticks="", tickfont=dict(size=13))
    if set_sizes is not None:
        known = [s for s in set_sizes if s is not None]
        charts._axis(layout, "xaxis2", domain=[0.0, left - 0.17], anchor="y2",
                     range=[max(known or [1]) * 1.45, 0], title_text="Personer i gruppen", showgrid=False,
                     tickformat=",d", nticks=3)
    layout.update(barmode="overlay", bargap=0.35, showlegend=False)
    return charts._figure(data, layout)


def overlap_table(cells: pl.DataFrame, group_names: Sequence[str]) -> pd.DataFrame:
    """The chart's numbers: one row per combination in the chart's order, a ✓ column per group and the
    persons as text (": skjult" or "ikke rapportert" for a hidden cell, never 0)."""
    rows = ordered_cells(cells)
    frame = {"Kombinasjon": [combination_name(r["combination"], group_names) for r in rows]}
    for g, name in enumerate(group_names):
        frame[name] = ["✓" if r["combination"][g] == "1" else "" for r in rows]
    frame["Antall grupper"] = [r["combination"].count("1") for r in rows]
    frame["Personer"] = [text.count(r["persons"]) if not _is_hidden(r) else _hidden_text(r) for r in rows]
    return pd.DataFrame(frame)


def overlap_alt(cells: pl.DataFrame, group_names: Sequence[str], area_name: str) -> str:
    """A text version of the chart (largest combinations and how many are hidden)."""
    rows = ordered_cells(cells)
    shown = [r for r in rows if not _is_hidden(r)]
    hidden = len(rows) - len(shown)
    biggest = "; ".join(f"{combination_name(r['combination'], group_names)}: {text.count(r['persons'])}"
                        for r in shown[:3])
    return (f"UpSet-diagram over overlappen mellom de fire prioriterte pasientgruppene i {area_name}: "
            f"{len(rows)} kombinasjoner. Størst: {biggest or MISSING}."
            + (f" {hidden} kombinasjoner er skjult eller ikke rapportert." if hidden else ""))
