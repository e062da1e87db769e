"""Charts for the meeting deck, drawn with matplotlib (object API, no pyplot state) as PNG.

Colour-blind safe palette (``indicators.palette``, shared with the dashboard: better blue,
worse orange, similar yellow, neutral dark/light blue, the selected area purple), Norwegian numbers (decimal
comma, thin-space thousands), every chart titled with unit and years and signed with
its source. Masked values are never drawn as zero: they are shown as "–" and explained.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from indicators.formatting import MISSING, format_number

from indicators.palette import (
    ASSESSMENT_COLOURS,
    ASSESSMENT_SHORT,
    HIGHLIGHT,
    NOT_COMPARED,
    SIGNIFICANCE_SYMBOLS,
    TARGET,
    TEXT,
)
from indicators.palette import CONTEXT_LINE as CONTEXT
from indicators.palette import MUTED_TEXT as MUTED
from indicators.palette import NATIONAL_LINE as NATIONAL

GRID = "#E3E6EA"

FONT = "DejaVu Sans"
DPI = 200


def _fmt(decimals: int):
    return FuncFormatter(lambda v, _pos: format_number(v, decimals))


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.patch.set_facecolor("white")
    return fig


def _style_axes(ax, *, grid_axis: str = "y") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#9AA0A6")
    ax.spines["bottom"].set_color("#9AA0A6")
    ax.tick_params(colors=TEXT, labelsize=8.5, length=3)
    ax.grid(axis=grid_axis, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _titles(fig: Figure, title: str, subtitle: str, source: str) -> None:
    fig.text(0.02, 0.975, title, ha="left", va="top", fontsize=11.5, fontweight="bold", color=TEXT, family=FONT)
    fig.text(0.02, 0.925, subtitle, ha="left", va="top", fontsize=8.8, color=MUTED, family=FONT)
    fig.text(0.02, 0.012, source, ha="left", va="bottom", fontsize=7.2, color=MUTED, family=FONT)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _finite(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


@dataclass(frozen=True)
class ChartText:
    title: str
    subtitle: str  # unit and standardisation
    source: str  # "Kilde: NPR. Syntetiske demodata."
    decimals: int = 1


# --- trend: area vs national over years -------------------------------------------------------


def trend_chart(
    years: list[int],
    area: list[float | None],
    area_lower: list[float | None],
    area_upper: list[float | None],
    national: list[float | None],
    *,
    area_label: str,
    text: ChartText,
    target: float | None = None,
    target_label: str | None = None,
    not_reported: list[bool] | None = None,
    width: float = 4.15,
    height: float = 4.9,
    ylim: tuple[float, float] | None = None,
) -> bytes:
    fig = _new_figure(width, height)
    ax = fig.add_axes((0.15, 0.2, 0.8, 0.6))
    _style_axes(ax)
    xs = list(years)
    a = [v if _finite(v) else math.nan for v in area]
    lo = [v if _finite(v) else math.nan for v in area_lower]
    hi = [v if _finite(v) else math.nan for v in area_upper]
    n = [v if _finite(v) else math.nan for v in national]
    ax.fill_between(xs, lo, hi, color=HIGHLIGHT, alpha=0.14, linewidth=0, label="95 % konfidensintervall")
    ax.plot(xs, n, color=NATIONAL, linestyle=(0, (4, 2)), linewidth=1.6, marker="s", markersize=3.5, label="Hele landet")
    ax.plot(xs, a, color=HIGHLIGHT, linewidth=2.4, marker="o", markersize=5, label=area_label)
    if target is not None:
        ax.axhline(target, color=TARGET, linestyle=(0, (6, 2, 1, 2)), linewidth=1.6,
                   label=target_label or f"Mål {format_number(target, 0)}")
    values = [v for v in a + n + lo + hi if not math.isnan(v)] + ([target] if target is not None else [])
    if ylim is not None:
        ax.set_ylim(*ylim)
    elif values:
        top = max(values)
        ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    bottom, top = ax.get_ylim()
    # Years without a published value: "–" (masked) or "ikke rapp." (not reported), never 0.
    for i, (x, v) in enumerate(zip(xs, a)):
        if math.isnan(v):
            reported = not (not_reported and not_reported[i])
            label = MISSING if reported else "ikke\nrapp."
            ax.text(x, bottom + (top - bottom) * 0.03, label, ha="center", va="bottom",
                    fontsize=15 if reported else 8, fontweight="bold" if reported else "normal", color=MUTED)
    ax.set_xticks(xs)
    ax.set_xticklabels([str(x) for x in xs], rotation=0)
    ax.set_xlim(min(xs) - (1 if len(xs) == 1 else 0.35), max(xs) + (1 if len(xs) == 1 else 0.35))
    ax.yaxis.set_major_formatter(_fmt(0 if top >= 100 else text.decimals))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    last = next((i for i in range(len(a) - 1, -1, -1) if not math.isnan(a[i])), None)
    if last is not None:
        ax.annotate(format_number(a[last], text.decimals), (xs[last], a[last]), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=8.5, color=HIGHLIGHT, fontweight="bold")
    ax.legend(loc="upper center", bbox_to_anchor=(0.45, -0.09), ncol=2, fontsize=7.8, frameon=False,
              handlelength=2.2, columnspacing=1.0)
    _titles(fig, text.title, text.subtitle, text.source)
    return _png(fig)


# --- ranking: the 19 helsefellesskap with intervals ------------------------------------------------


def ranking_chart(
    names: list[str],
    values: list[float | None],
    lower: list[float | None],
    upper: list[float | None],
    highlight: int,
    national: float | None,
    *,
    text: ChartText,
    width: float = 4.15,
    height: float = 4.9,
) -> bytes:
    """Horizontal bars sorted high to low (rank 1 on top); masked areas listed last with "–"."""
    order = sorted(range(len(names)), key=lambda i: (not _finite(values[i]), -(values[i] or 0.0)))
    fig = _new_figure(width, height)
    ax = fig.add_axes((0.34, 0.13, 0.6, 0.7))
    _style_axes(ax, grid_axis="x")
    ys = list(range(len(order)))[::-1]
    finite = [values[i] for i in order if _finite(values[i])]
    span = max([u for u in upper if _finite(u)] + finite + ([national] if _finite(national) else []) + [0.0])
    for y, i in zip(ys, order):
        own = i == highlight
        if _finite(values[i]):
            ax.barh(y, values[i], color=HIGHLIGHT if own else CONTEXT, height=0.72)
            if _finite(lower[i]) and _finite(upper[i]):
                ax.plot([lower[i], upper[i]], [y, y], color=NATIONAL, linewidth=0.9)
        else:
            ax.text(span * 0.01, y, MISSING, va="center", ha="left", fontsize=9, color=MUTED)
    ax.set_yticks(ys)
    labels = ax.set_yticklabels([names[i] for i in order], fontsize=7.8)
    for label, i in zip(labels, order):
        if i == highlight:
            label.set_fontweight("bold")
            label.set_color(HIGHLIGHT)
    if _finite(national):
        ax.axvline(national, color=NATIONAL, linestyle=(0, (4, 2)), linewidth=1.3)
        ax.text(national, len(order) - 0.3, f"Landet {format_number(national, text.decimals)}", ha="center",
                va="bottom", fontsize=7.8, color=NATIONAL)
    ax.set_ylim(-0.6, len(order) - 0.1)
    ax.set_xlim(0, span * 1.08 if span > 0 else 1)
    ax.xaxis.set_major_formatter(_fmt(0 if span >= 100 else text.decimals))
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(axis="y", length=0)
    _titles(fig, text.title, text.subtitle, text.source)
    return _png(fig)


# --- kommune variation ---------------------------------------------------------------------------


# Kommuner with Sámi or Kven names: the Norwegian name, for labels too narrow for the full name
# (the official full name is used wherever there is room, and in the speaker notes).
NORWEGIAN_NAMES = {
    "Aarborte - Hattfjelldal": "Hattfjelldal", "Fauske - Fuossko": "Fauske", "Evenes - Evenášši": "Evenes",
    "Sortland - Suortá": "Sortland", "Hábmer - Hamarøy": "Hamarøy", "Trondheim - Tråante": "Trondheim",
    "Namsos - Nåavmesjenjaelmie": "Namsos", "Rosse - Røros": "Røros", "Snåase - Snåsa": "Snåsa",
    "Raarvihke - Røyrvik": "Røyrvik", "Harstad - Hárstták": "Harstad", "Dielddanuorri - Tjeldsund": "Tjeldsund",
    "Loabák - Lavangen": "Lavangen", "Storfjord - Omasvuotna - Omasvuono": "Storfjord",
    "Gáivuotna - Kåfjord - Kaivuono": "Kåfjord", "Nordreisa - Ráisa - Raisi": "Nordreisa",
    "Hammerfest - Hámmerfeasta": "Hammerfest", "Kárášjohka - Karasjok": "Karasjok",
    "Guovdageaidnu - Kautokeino": "Kautokeino", "Porsanger - Porsáŋgu - Porsanki": "Porsanger",
    "Deatnu - Tana": "Tana", "Unjárga - Nesseby": "Nesseby",
}


def norwegian_name(name: str) -> str:
    """The Norwegian name of a kommune with a Sámi or Kven name (the full name otherwise)."""
    return NORWEGIAN_NAMES.get(name, name)


def _short(name: str, limit: int = 24) -> str:
    """The full name where it fits, else the Norwegian name, never a name cut in the middle."""
    if len(name) <= limit:
        return name
    norwegian = norwegian_name(name)
    if norwegian != name:
        return norwegian
    return name if " - " not in name else name.split(" - ")[0]


def kommune_chart(
    names: list[str],
    values: list[float | None],
    lower: list[float | None],
    upper: list[float | None],
    assessments: list[str],
    significances: list[str],
    flags: list[str | None],
    national: float | None,
    area_value: float | None,
    *,
    area_label: str,
    text: ChartText,
    width: float = 4.6,
    height: float = 4.9,
) -> bytes:
    """One bar per kommune, coloured AND marked (▲ ▼ ●) by its comparison with the country.

    Kommuner without a value get no bar: "–" (masked or too few to standardise) or
    "ikke rapportert" takes its place, never a zero-length bar.
    """
    order = sorted(range(len(names)), key=lambda i: (not _finite(values[i]), -(values[i] or 0.0), names[i]))
    n = len(order)
    fontsize = 8.2 if n <= 18 else 7.2 if n <= 28 else 6.0 if n <= 40 else 5.2
    labels = []
    for i in order:
        symbol = SIGNIFICANCE_SYMBOLS.get(significances[i] or "not_compared", "○") if _finite(values[i]) else " "
        labels.append(f"{_short(names[i])} {symbol}")
    longest = max((len(label) for label in labels), default=10)
    left = min(0.5, 0.05 + longest * fontsize * 0.0062 / (width / 4.6))
    fig = _new_figure(width, height)
    ax = fig.add_axes((left, 0.2, 0.95 - left, 0.63))
    _style_axes(ax, grid_axis="x")
    slots = max(n, 8)  # few kommuner (Oslo has one): keep bars slim, listed from the top
    ys = [slots - 1 - k for k in range(n)]
    finite = [values[i] for i in order if _finite(values[i])]
    span = max([u for u in upper if _finite(u)] + finite + [v for v in (national, area_value) if _finite(v)] + [0.0])
    for y, i in zip(ys, order):
        if _finite(values[i]):
            colour = ASSESSMENT_COLOURS.get(assessments[i] or "not_compared", NOT_COMPARED)
            ax.barh(y, values[i], color=colour, height=0.72, edgecolor="#5F6368", linewidth=0.3)
            if _finite(lower[i]) and _finite(upper[i]):
                ax.plot([lower[i], upper[i]], [y, y], color=NATIONAL, linewidth=0.7)
        else:
            unreported = flags[i] == "not_reported"
            ax.text(span * 0.01, y, "ikke rapportert" if unreported else MISSING, va="center", ha="left",
                    fontsize=fontsize if unreported else fontsize + 4, fontweight="normal" if unreported else "bold",
                    color=MUTED)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=fontsize)
    ax.tick_params(axis="y", length=0)
    if _finite(national):
        ax.axvline(national, color=NATIONAL, linestyle=(0, (4, 2)), linewidth=1.2)
    if _finite(area_value):
        ax.axvline(area_value, color=HIGHLIGHT, linestyle="-", linewidth=1.4)
    ax.set_ylim(-0.6, slots - 0.4)
    ax.set_xlim(0, span * 1.05 if span > 0 else 1)
    ax.xaxis.set_major_formatter(_fmt(0 if span >= 100 else text.decimals))
    ax.xaxis.set_major_locator(MaxNLocator(4))
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=ASSESSMENT_COLOURS[c], edgecolor="#5F6368", linewidth=0.3, label=ASSESSMENT_SHORT[c])
        for c in ("better", "worse", "higher", "lower", "similar") if c in assessments
    ]
    handles.append(Line2D([], [], color=NATIONAL, linestyle=(0, (4, 2)), label="Landet"))
    if _finite(area_value):
        handles.append(Line2D([], [], color=HIGHLIGHT, label=area_label))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(-left / (0.95 - left) + 0.02, -0.06), ncol=3,
              fontsize=7.0, frameon=False, handlelength=1.6, columnspacing=0.9)
    fig.text(0.02, 0.06, "▲ ▼ signifikant høyere/lavere enn landet · ● ikke forskjellig · – ingen verdi",
             fontsize=6.8, color=MUTED, ha="left", va="bottom")
    _titles(fig, text.title, text.subtitle, text.source)
    return _png(fig)


# --- Pakkeforløp hjem: SP2/SP3 by year, "ikke rapportert" distinct from 0 % ----------------------


def reported_bars_chart(
    years: list[int],
    series: dict[str, list[tuple[float | None, str]]],
    national: dict[str, list[float | None]],
    *,
    text: ChartText,
    width: float = 6.1,
    height: float = 4.6,
) -> bytes:
    """Grouped bars per year for each series (label -> [(value, flag)]); national as markers.

    A missing bar is labelled: "ikke rapportert" (no kommune reported) or "–" (masked), so
    an unreported year never looks like 0 %.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig = _new_figure(width, height)
    ax = fig.add_axes((0.1, 0.2, 0.86, 0.6))
    _style_axes(ax)
    colours = [HIGHLIGHT, "#E08DBA"]
    handles = []
    k = len(series)
    bar_w = 0.8 / max(k, 1)
    for j, (label, points) in enumerate(series.items()):
        xs = [i + (j - (k - 1) / 2) * bar_w for i in range(len(years))]
        for x, (value, flag) in zip(xs, points):
            if _finite(value):
                ax.bar(x, value, width=bar_w * 0.92, color=colours[j % 2], edgecolor="white")
                inside = value >= 14
                ax.text(x, value - 1.5 if inside else value + 1.5, format_number(value, 0) + " %", ha="center",
                        va="top" if inside else "bottom", fontsize=8.2, fontweight="bold",
                        color="white" if inside and j % 2 == 0 else TEXT)
            else:
                note = "ikke\nrapportert" if flag == "not_reported" else MISSING
                ax.text(x, 1.5, note, ha="center", va="bottom", fontsize=7.4 if flag == "not_reported" else 15,
                        fontweight="normal" if flag == "not_reported" else "bold", color=MUTED)
        nat = national.get(label, [])
        nx = [x for x, v in zip(xs, nat) if _finite(v)]
        nv = [v for v in nat if _finite(v)]
        ax.scatter(nx, nv, marker="_", s=260, linewidths=2.2, color=NATIONAL, zorder=3)
        handles.append(Patch(facecolor=colours[j % 2], label=label))
    handles.append(Line2D([], [], color=NATIONAL, marker="_", markersize=12, markeredgewidth=2.2, linestyle="none",
                          label="Hele landet"))
    ax.set_xticks(range(len(years)))
    ax.set_xticklabels([str(y) for y in years])
    ax.set_xlim(-0.6, len(years) - 0.4)
    ax.set_ylim(0, 105)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{format_number(v, 0)} %"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, fontsize=7.8, frameon=False)
    _titles(fig, text.title, text.subtitle, text.source)
    return _png(fig)
