"""Plotly figure builders. Each takes engine output and returns a ``go.Figure`` with its title,
unit, period and source on the figure itself, Norwegian number formatting, and significance
told by colour, symbol and text together. No statistics are computed here.

Figures are assembled as plain dicts (traces, axes, shapes, annotations) and handed to
``go.Figure`` in one go: Plotly's incremental ``update_*``/``add_*`` calls, ``make_subplots`` and
its property validation cost several times more on every rerun (tests validate every builder). Text that comes from data (area names) is escaped, since
Plotly renders a subset of HTML in titles, legends, hover and tick labels.
"""

from __future__ import annotations

import math
import textwrap

import plotly.graph_objects as go
import polars as pl

from indicators.catalogue import Indicator
from indicators.formatting import format_number

from ui import text, theme

HOVER_STYLE = dict(bgcolor="white", bordercolor="#333", font=dict(size=14, family=theme.FONT_FAMILY, color=theme.TEXT))
AXIS_STYLE = dict(showline=True, linecolor="#555", ticks="outside", tickcolor="#555", gridcolor="#E3E6EA",
                  zeroline=False, title=dict(font=dict(size=14)), automargin=True)


def _wrap(line: str, width: int) -> str:
    return "<br>".join(textwrap.wrap(line, width=width)) or line


def base_layout(title: str, subtitle: str, *, height: int, wrap: int = 110, legend_below: bool = True,
                top: int | None = None, bottom: int = 40) -> dict:
    """Title and subtitle on the chart, Norwegian separators, readable fonts, white background."""
    sub = _wrap(subtitle, wrap)
    n_sub_lines = sub.count("<br>") + 1
    layout = dict(
        title=dict(
            text=f"<b>{text.esc(title)}</b>",
            subtitle=dict(text=sub, font=dict(size=13, color=theme.MUTED_TEXT)),
            x=0.005, xanchor="left", y=0.985, yanchor="top", yref="container",
            font=dict(size=18, color=theme.TEXT),
        ),
        separators=theme.PLOTLY_SEPARATORS,
        font=dict(family=theme.FONT_FAMILY, size=14, color=theme.TEXT),
        paper_bgcolor="white",
        plot_bgcolor="white",
        height=height,
        margin=dict(l=10, r=24, t=top if top is not None else 62 + 17 * n_sub_lines, b=bottom),
        hoverlabel=HOVER_STYLE,
        showlegend=True,
    )
    _axis(layout, "xaxis")
    _axis(layout, "yaxis")
    if legend_below:
        layout["legend"] = dict(orientation="h", yref="container", yanchor="bottom", y=0.005, x=0,
                                xanchor="left", font=dict(size=13), traceorder="normal")
    return layout


def _axis(layout: dict, name: str, *, title_text: str | None = None, **settings) -> dict:
    """The layout's axis ``name`` ("xaxis", "yaxis3", ...) in the house style, with ``settings`` merged in."""
    axis = layout.setdefault(name, {**AXIS_STYLE, "title": dict(AXIS_STYLE["title"])})
    axis.update(settings)
    if title_text is not None:
        axis["title"] = {**axis["title"], "text": title_text}
    return axis


def _hline(y: float, line: dict, *, xref: str = "x domain", yref: str = "y") -> dict:
    return dict(type="line", xref=xref, x0=0, x1=1, yref=yref, y0=y, y1=y, line=line)


def _vline(x: float, line: dict) -> dict:
    return dict(type="line", xref="x", x0=x, x1=x, yref="y domain", y0=0, y1=1, line=line)


def _grid(layout: dict, rows: int, columns: int, *, horizontal_spacing: float, vertical_spacing: float,
          titles: list[str], title_size: int) -> list[tuple[str, str]]:
    """Axes for a rows x columns grid of panels (first row on top), like ``make_subplots``.

    Adds the panel titles as annotations and returns each panel's (x, y) axis ids, row by row.
    """
    width = (1 - horizontal_spacing * (columns - 1)) / columns
    height = (1 - vertical_spacing * (rows - 1)) / rows
    panels = []
    for r in range(rows):
        for c in range(columns):
            n = r * columns + c + 1
            suffix = "" if n == 1 else str(n)
            x_domain = [c * (width + horizontal_spacing), c * (width + horizontal_spacing) + width]
            top = 1 - r * (height + vertical_spacing)
            y_domain = [max(0.0, round(top - height, 9)), min(1.0, round(top, 9))]  # no float drift below 0
            _axis(layout, f"xaxis{suffix}", domain=x_domain, anchor=f"y{suffix}")
            _axis(layout, f"yaxis{suffix}", domain=y_domain, anchor=f"x{suffix}")
            panels.append((f"x{suffix}", f"y{suffix}"))
    layout.setdefault("annotations", []).extend(
        dict(text=title, x=sum(layout[f"xaxis{'' if i == 0 else i + 1}"]["domain"]) / 2,
             y=layout[f"yaxis{'' if i == 0 else i + 1}"]["domain"][1], xref="paper", yref="paper",
             xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=title_size))
        for i, title in enumerate(titles)
    )
    return panels


# Plotly's property validation costs most of a chart's build time on every rerun; the builders
# write plain, known properties, and tests/test_charts.py builds every chart with it switched on.
VALIDATE = False


def _figure(data: list[dict], layout: dict) -> go.Figure:
    return go.Figure(data=data, layout=layout, _validate=VALIDATE)


def _unit_title(ind: Indicator) -> str:
    return text.unit_short(ind).capitalize() if ind.unit_label != "prosent" else "Prosent"


def _national_of(table: pl.DataFrame) -> float | None:
    values = table["national_value"].drop_nulls() if "national_value" in table.columns else []
    return float(values[0]) if len(values) else None


def _band(x: list, lower: list, upper: list) -> tuple[list, list]:
    """The closed outline of a confidence band (upper limits forwards, lower limits back)."""
    band_x = [xi for xi, u in zip(x, upper) if u is not None]
    band_y = [u for u in upper if u is not None] + [v for v in reversed(lower) if v is not None]
    return band_x + band_x[::-1], band_y


# --- ranked bar chart ---------------------------------------------------------------------------


def ranked_bars(table: pl.DataFrame, ind: Indicator, *, period: str, labels: dict[str, str],
                highlight: str | None, synthetic: bool, level_name: str = "helsefellesskap",
                level: str = "95") -> go.Figure:
    """Horizontal bars, highest at the top, with 95 % (``level="99_8"``: 99,8 %) intervals and the
    national value as a line; the colours follow the table's significance at the same level.

    Colour = assessment against the country, triangle after the value = significantly
    higher/lower; suppressed areas are listed at the bottom with "–" and the reason.
    """
    level_text = "99,8 %" if level == "99_8" else "95 %"
    shown = table.filter(pl.col("value").is_not_null()).sort("value")
    hidden = table.filter(pl.col("value").is_null())
    order = hidden["area_id"].to_list() + shown["area_id"].to_list()

    def label(area_id: str) -> str:
        name = labels.get(area_id, area_id)
        return f"<b>▶ {text.esc(name)}</b>" if area_id == highlight else text.esc(name)

    ticks = [label(a) for a in order]
    data = []
    for assessment in ("better", "similar", "worse", "higher", "lower"):
        rows = shown.filter(pl.col("assessment") == assessment)
        if rows.height == 0:
            continue
        colour = theme.ASSESSMENT_COLOURS[assessment]
        values = rows["value"].to_list()
        data.append(dict(
            type="bar",
            orientation="h",
            y=[label(a) for a in rows["area_id"]],
            x=values,
            name=theme.ASSESSMENT_LABELS[assessment],
            marker=dict(color=colour, line=dict(color="#333", width=0.8)),
            error_x=dict(type="data", symmetric=False,
                         array=[(u - v) if u is not None else 0 for u, v in zip(rows[f"upper_{level}"], values)],
                         arrayminus=[(v - lo) if lo is not None else 0 for lo, v in zip(rows[f"lower_{level}"], values)],
                         color="#1A1A1A", thickness=1.4, width=4),
            text=[f"{text.value(ind, v)} {theme.SIGNIFICANCE_SYMBOLS.get(s, '')}".strip()
                  for v, s in zip(values, rows["significance"])],
            textposition="inside", insidetextanchor="start",
            textfont=dict(color=theme.ON_COLOUR.get(colour, "#1A1A1A"), size=13),
            customdata=[[text.esc(labels.get(a, a)), text.interval(ind, lo, up), text.status(asm, sig)]
                        for a, lo, up, asm, sig in zip(rows["area_id"], rows[f"lower_{level}"], rows[f"upper_{level}"],
                                                       rows["assessment"], rows["significance"])],
            hovertemplate=f"<b>%{{customdata[0]}}</b><br>Verdi: %{{x:,.1f}}<br>{level_text} KI: %{{customdata[1]}}"
                          "<br>%{customdata[2]}<extra></extra>",
        ))
    if hidden.height:
        data.append(dict(
            type="bar", orientation="h", y=[label(a) for a in hidden["area_id"]], x=[0] * hidden.height,
            name=f"{theme.SUPPRESSED_LABEL} (–)", marker=dict(color=theme.NOT_COMPARED),
            text=[f"– {text.flag_note(f, fl)}" for f, fl in zip(hidden["flag"], hidden["flag_label"])],
            textposition="outside", cliponaxis=False, hoverinfo="skip",
        ))
    layout = base_layout(f"{ind.short_name}: {level_name} rangert",
                         text.subtitle(ind, period, synthetic, f"linjene viser {level_text} konfidensintervall"),
                         height=max(360, 26 * len(order) + 170), wrap=80, bottom=50)
    national = _national_of(table)
    if national is not None:
        layout["shapes"] = [_vline(national, dict(color=theme.NATIONAL_LINE, width=2, dash="dash"))]
        layout["annotations"] = [dict(x=national, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                                      text=f"Landet: {text.value(ind, national)}", font=dict(size=13, color=theme.TEXT),
                                      bgcolor="rgba(255,255,255,0.85)")]
    _axis(layout, "yaxis", categoryorder="array", categoryarray=ticks, ticks="", tickfont=dict(size=13), showgrid=False)
    _axis(layout, "xaxis", title_text=_unit_title(ind), rangemode="tozero")
    layout.update(barmode="overlay", bargap=0.25, showlegend=False)
    return _figure(data, layout)


# --- trend --------------------------------------------------------------------------------------


def trend_chart(series: pl.DataFrame, national: pl.DataFrame, ind: Indicator, *, labels: dict[str, str],
                highlight: str | None, synthetic: bool, title: str | None = None, target: float | None = None,
                target_label: str = "Mål", goal=None) -> go.Figure:
    """Every area as a thin grey line, the country in black, the chosen area in purple with its 95 % band.

    ``goal``: a helsefellesskap's own goal (``data_loaders.ssu.Goal``); drawn as the target line instead of ``target``.
    """
    if goal is not None:
        target, target_label = goal.target, goal_label(goal)
    data = []
    years = sorted(set(series["year_start"].to_list()))
    for area_id, rows in series.sort("year_start").group_by("area_id", maintain_order=True):
        area_id = area_id[0]
        if area_id == highlight:
            continue
        data.append(dict(
            type="scatter", x=rows["year_start"].to_list(), y=rows["value"].to_list(), mode="lines",
            line=dict(color=theme.CONTEXT_LINE, width=1.2), name="Øvrige helsefellesskap",
            legendgroup="others", showlegend=not data, connectgaps=False,
            hovertemplate=f"{text.esc(labels.get(area_id, area_id))}<br>%{{x}}: %{{y:,.1f}}<extra></extra>",
        ))
    if highlight is not None:
        own = series.filter(pl.col("area_id") == highlight).sort("year_start")
        if own.height:
            x = own["year_start"].to_list()
            lo, up = own["lower_95"].to_list(), own["upper_95"].to_list()
            band_x, band_y = _band(x, lo, up)
            if band_x:
                data.append(dict(type="scatter", x=band_x, y=band_y, fill="toself", mode="none",
                                 fillcolor="rgba(106,27,154,0.15)", name="95 % konfidensintervall", hoverinfo="skip"))
            name = text.esc(labels.get(highlight, highlight))
            data.append(dict(
                type="scatter", x=x, y=own["value"].to_list(), mode="lines+markers", name=name,
                line=dict(color=theme.HIGHLIGHT, width=3), marker=dict(size=8, symbol="diamond"),
                customdata=[[text.interval(ind, a, b), text.flag_note(f, fl) or ""]
                            for a, b, f, fl in zip(lo, up, own["flag"], own["flag_label"])],
                hovertemplate=f"<b>{name}</b><br>%{{x}}: %{{y:,.1f}}"
                              "<br>95 % KI: %{customdata[0]} %{customdata[1]}<extra></extra>",
            ))
    nat = national.sort("year_start")
    data.append(dict(
        type="scatter", x=nat["year_start"].to_list(), y=nat["value"].to_list(), mode="lines+markers",
        name="Hele landet", line=dict(color=theme.NATIONAL_LINE, width=3, dash="dash"),
        marker=dict(size=7, symbol="square"), hovertemplate="<b>Hele landet</b><br>%{x}: %{y:,.1f}<extra></extra>",
    ))
    period = f"{years[0]}–{years[-1]}" if years else ""
    layout = base_layout(title or f"{ind.short_name}: utvikling over tid", text.subtitle(ind, period, synthetic),
                         height=470, wrap=100, bottom=100)
    if target is not None:
        layout["shapes"] = [_hline(target, dict(color=theme.TARGET, width=2, dash="dot"))]
        layout["annotations"] = [dict(x=1, xref="paper", xanchor="right", y=target, yanchor="bottom", showarrow=False,
                                      text=f"{target_label}: {text.value(ind, target)}",
                                      font=dict(color=theme.TARGET, size=13))]
    _axis(layout, "xaxis", tickmode="array", tickvals=years, ticktext=[str(y) for y in years], title_text="År")
    _axis(layout, "yaxis", title_text=_unit_title(ind), rangemode="tozero")
    return _figure(data, layout)


def goal_label(goal) -> str:
    """«Mål for 2027 (sak 12)»: the label of a helsefellesskap's own target line."""
    return f"Mål for {goal.target_year}" + (f" (sak {goal.sak_number})" if getattr(goal, "sak_number", None) else "")


# --- small multiples ----------------------------------------------------------------------------


def small_multiples(panels: list[dict], *, title: str, subtitle: str, columns: int = 3,
                    area_name: str, target: float | None = None, panel_height: int = 230) -> go.Figure:
    """One panel per indicator: the area (purple, with 95 % band) and the country (black, dashed).

    ``panels``: dicts with ``indicator`` (Indicator), ``series`` (area rows over years) and
    ``national`` (country rows over years), optionally ``goal`` (the helsefellesskap's own goal: a target line).
    """
    rows = max(1, math.ceil(len(panels) / columns))
    layout = base_layout(title, subtitle, height=rows * panel_height + 150, wrap=110)
    titles = [f"<b>{text.esc(p['indicator'].short_name)}</b><br><span style='font-size:12px'>"
              f"{text.esc(text.unit_phrase(p['indicator']))}</span>" for p in panels]
    # The gaps between rows never take more than about half the height, however many panels
    # (an imported atlas can add a hundred indicators to one group).
    spacing = min(0.5 / rows + 0.06, 0.45 / max(rows - 1, 1))
    axes = _grid(layout, rows, columns, horizontal_spacing=0.07, vertical_spacing=spacing,
                 titles=titles, title_size=13)
    name = text.esc(area_name)
    data, shapes = [], []
    for i, (panel, (xa, ya)) in enumerate(zip(panels, axes)):
        ind = panel["indicator"]
        own = panel["series"].sort("year_start")
        nat = panel["national"].sort("year_start")
        x = own["year_start"].to_list()
        band_x, band_y = _band(x, own["lower_95"].to_list(), own["upper_95"].to_list())
        if band_x:
            data.append(dict(type="scatter", x=band_x, y=band_y, fill="toself", mode="none", xaxis=xa, yaxis=ya,
                             fillcolor="rgba(106,27,154,0.15)", hoverinfo="skip", showlegend=i == 0,
                             name="95 % konfidensintervall", legendgroup="band"))
        unit = text.esc(text.unit_short(ind))
        data.append(dict(
            type="scatter", x=x, y=own["value"].to_list(), mode="lines+markers", name=name, legendgroup="area",
            xaxis=xa, yaxis=ya, showlegend=i == 0, line=dict(color=theme.HIGHLIGHT, width=2.5),
            marker=dict(size=6, symbol="diamond"),
            hovertemplate=f"{name}<br>%{{x}}: %{{y:,.1f}} {unit}<extra></extra>",
        ))
        data.append(dict(
            type="scatter", x=nat["year_start"].to_list(), y=nat["value"].to_list(), mode="lines", name="Hele landet",
            xaxis=xa, yaxis=ya, legendgroup="land", showlegend=i == 0,
            line=dict(color=theme.NATIONAL_LINE, width=2, dash="dash"),
            hovertemplate=f"Hele landet<br>%{{x}}: %{{y:,.1f}} {unit}<extra></extra>",
        ))
        panel_target = panel["goal"].target if panel.get("goal") is not None else target
        if panel_target is not None:
            shapes.append(_hline(panel_target, dict(color=theme.TARGET, width=1.5, dash="dot"), xref=f"{xa} domain",
                                 yref=ya))
        years = sorted(set(x) | set(nat["year_start"].to_list()))
        _axis(layout, "xaxis" + xa[1:], tickmode="array", tickvals=years, ticktext=[f"’{str(y)[2:]}" for y in years])
        _axis(layout, "yaxis" + ya[1:], rangemode="tozero")
    if shapes:
        layout["shapes"] = shapes
    if any(p.get("goal") is not None for p in panels):  # a legend entry for the helsefellesskap's own goals
        data.append(dict(type="scatter", x=[None], y=[None], mode="lines", name="Helsefellesskapets mål",
                         line=dict(color=theme.TARGET, width=1.5, dash="dot"), hoverinfo="skip"))
    layout["legend"] = {**layout["legend"], **dict(orientation="h", yanchor="bottom", y=1.0 + 40 / (rows * panel_height),
                                                   x=0, yref="paper")}
    layout["margin"] = {**layout["margin"], "t": 150, "b": 30}
    return _figure(data, layout)


# --- funnel plot ---------------------------------------------------------------------------------


def _funnel_label_positions(xs: list[float], ys: list[float], names: list[str], y_span: float,
                            width_px: float = 900, height_px: float = 440) -> list[str | None]:
    """Where each point's name goes so that no two names overlap: above the point, else below it,
    else nowhere (the name is then in the hover only). Greedy, largest deviations first."""
    if not xs:
        return []
    lx = [math.log10(max(x, 1e-9)) for x in xs]
    x_span = max(max(lx) - min(lx), 1e-9)
    y_span = max(y_span, 1e-12)
    boxes: list[tuple[float, float, float, float]] = []
    out: list[str | None] = [None] * len(xs)
    for i in sorted(range(len(xs)), key=lambda j: -abs(ys[j])):
        cx = (lx[i] - min(lx)) / x_span * width_px
        cy = ys[i] / y_span * height_px
        half = 3.6 * len(names[i]) + 2
        for position, dy in (("top center", 14.0), ("bottom center", -14.0)):
            box = (cx - half, cy + dy - 8, cx + half, cy + dy + 8)
            if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in boxes):
                boxes.append(box)
                out[i] = position
                break
    return out


def funnel_plot(points: pl.DataFrame, limits: pl.DataFrame, target: float, ind: Indicator, *, period: str,
                synthetic: bool, scope_label: str, label_outside: str = "95", scale: str = "crude",
                x_label: str | None = None) -> go.Figure:
    """Funnel plot with 95 % and 99,8 % control limits.

    ``scale="ratio"`` (standardised indicators): observed/expected against the expected count,
    around 1; ``"crude"``: the crude value against its denominator, around the national value.
    Names are shown for the kommuner outside the limits (``label_outside``) and never overlap.
    """
    ratio = scale == "ratio"
    data = []
    x = limits["denominator"].to_list()
    for column, dash, name in (("upper_99_8", "solid", "99,8 %-grenser"), ("upper_95", "dash", "95 %-grenser")):
        lower = column.replace("upper", "lower")
        line = dict(color="#555" if dash == "solid" else "#888", width=1.6, dash=dash)
        data.append(dict(type="scatter", x=x, y=limits[column].to_list(), mode="lines", name=name, legendgroup=name,
                         line=line, hoverinfo="skip"))
        data.append(dict(type="scatter", x=x, y=limits[lower].to_list(), mode="lines", name=name, legendgroup=name,
                         showlegend=False, line=line, hoverinfo="skip"))
    national_name = "Landet: 1,00 (observert = forventet)" if ratio else f"Landet: {text.value(ind, target)}"
    data.append(dict(type="scatter", x=[x[0], x[-1]] if x else [], y=[target, target], mode="lines",
                     name=national_name, line=dict(color=theme.NATIONAL_LINE, width=2), hoverinfo="skip"))
    outside = {"95": ("above_95", "above_99_8", "below_95", "below_99_8"), "99_8": ("above_99_8", "below_99_8")}[label_outside]
    labelled = points.filter(pl.col("position").is_in(list(outside)))
    y_values = [v for v in points["value"].to_list() if v is not None] + limits["upper_99_8"].to_list()
    y_span = (max(y_values) - min(y_values + [0.0])) if y_values else 1.0
    placed = dict(zip(labelled["area_id"].to_list(), _funnel_label_positions(
        labelled["denominator"].to_list(), [v - target for v in labelled["value"].to_list()],
        labelled["area_name"].to_list(), y_span)))
    if ratio:
        hover = ("<b>%{customdata[0]}</b><br>Observert/forventet: %{y:.2f}<br>Observert: %{customdata[1]}"
                 "<br>Forventet: %{customdata[2]}<br>%{customdata[3]}<extra></extra>")
    else:
        hover = ("<b>%{customdata[0]}</b><br>Verdi: %{y:,.1f}<br>Teller: %{customdata[1]}"
                 "<br>Nevner: %{customdata[2]}<br>%{customdata[3]}<extra></extra>")
    for position, (colour, symbol, name) in theme.FUNNEL_STYLE.items():
        rows = points.filter(pl.col("position") == position)
        if rows.height == 0:
            continue
        spots = [placed.get(a) for a in rows["area_id"]]
        show_text = any(spots)
        data.append(dict(
            type="scatter", x=rows["denominator"].to_list(), y=rows["value"].to_list(),
            mode="markers+text" if show_text else "markers",
            name=name, marker=dict(color=colour, symbol=symbol, size=11 if position != "inside" else 8,
                                   line=dict(color="#1A1A1A" if position != "inside" else "white", width=1)),
            text=[text.esc(n) if p else "" for n, p in zip(rows["area_name"], spots)] if show_text else None,
            textposition=[p or "top center" for p in spots] if show_text else None,
            textfont=dict(size=12, color=theme.TEXT),
            customdata=[[text.esc(n), text.count(num), format_number(den, 1) if ratio else text.count(den), pl_]
                        for n, num, den, pl_ in zip(rows["area_name"], rows["numerator"], rows["denominator"],
                                                    rows["position_label"])],
            hovertemplate=hover,
        ))
    ticks = [m * 10 ** e for e in range(0, 8) for m in (1, 2, 5)]
    if x:
        ticks = [t for t in ticks if x[0] <= t <= x[-1]]
    scale_text = ("skala: observert/forventet antall (indirekte standardisert for alder og kjønn); grenser rundt 1"
                  if ratio else "skala: rå verdier mot nevner; grenser rundt landsverdien")
    layout = base_layout(f"Traktplott: {ind.short_name}, {scope_label}",
                         text.subtitle(ind, period, synthetic, scale_text), height=600, wrap=110, bottom=110)
    default_x = "Forventet antall ut fra landets rater for alder og kjønn" if ratio else \
        f"Nevner: {ind.denominator.label.lower()}"
    _axis(layout, "xaxis", type="log", title_text=f"{x_label or default_x} (logaritmisk skala)",
          tickvals=ticks, ticktext=[text.count(t) for t in ticks])
    _axis(layout, "yaxis", title_text="Observert/forventet (1 = som landet)" if ratio
          else f"{ind.short_name} ({text.unit_short(ind)}, ikke standardisert)")
    return _figure(data, layout)


# --- Pakkeforløp hjem -----------------------------------------------------------------------------


def coverage_multiples(table: pl.DataFrame, national: pl.DataFrame, ind: Indicator, *, labels: dict[str, str],
                       order: list[str], target: float | None, target_label: str, synthetic: bool,
                       highlight: str | None = None, columns: int = 5) -> go.Figure:
    """SP1 coverage over the years, one small panel per area, with the country and the target.

    The panels share their scales: tick labels only on the left column and the bottom row.
    """
    rows_n = max(1, math.ceil(len(order) / columns))
    nat = national.sort("year_start")
    years = sorted(set(table["year_start"].to_list()))
    period = f"{years[0]}–{years[-1]}" if years else ""
    layout = base_layout(f"{ind.short_name}: dekning per år", text.subtitle(ind, period, synthetic),
                         height=rows_n * 175 + 170, wrap=130)
    titles = [("<b>▶ " if a == highlight else "<b>") + text.esc(labels.get(a, a)) + "</b>" for a in order]
    axes = _grid(layout, rows_n, columns, horizontal_spacing=0.025, vertical_spacing=0.09, titles=titles, title_size=12)
    x_ticks = dict(tickmode="array", tickvals=years, ticktext=[f"’{str(y)[2:]}" for y in years],
                   range=[years[0] - 0.4, years[-1] + 0.4] if years else None)
    for i, (xa, ya) in enumerate(axes):
        bottom_row = i + columns >= len(order)
        _axis(layout, "xaxis" + xa[1:], showticklabels=bottom_row, **x_ticks)
        _axis(layout, "yaxis" + ya[1:], range=[0, 105], tickvals=[0, 25, 50, 75, 100], showticklabels=i % columns == 0)
    by_area = {a[0]: rows for a, rows in table.sort("year_start").group_by("area_id", maintain_order=True)}
    data, shapes = [], []
    for i, (area_id, (xa, ya)) in enumerate(zip(order, axes)):
        own = by_area.get(area_id, table.clear())
        colour = theme.HIGHLIGHT if area_id == highlight else theme.BETTER
        data.append(dict(
            type="scatter", x=nat["year_start"].to_list(), y=nat["value"].to_list(), mode="lines", name="Hele landet",
            xaxis=xa, yaxis=ya, legendgroup="land", showlegend=i == 0,
            line=dict(color=theme.NATIONAL_LINE, width=1.5, dash="dash"),
            hovertemplate="Hele landet %{x}: %{y:,.1f} %<extra></extra>"))
        data.append(dict(
            type="scatter", x=own["year_start"].to_list(), y=own["value"].to_list(), mode="lines+markers+text",
            name="Helsefellesskapet", xaxis=xa, yaxis=ya, legendgroup="area", showlegend=i == 0,
            line=dict(color=colour, width=2.5), marker=dict(size=6),
            text=[text.value(ind, v) if j == own.height - 1 else "" for j, v in enumerate(own["value"])],
            textposition="top center", textfont=dict(size=11),
            customdata=[[text.esc(labels.get(area_id, area_id)), text.interval(ind, lo, up), text.flag_note(f, fl)]
                        for lo, up, f, fl in zip(own["lower_95"], own["upper_95"], own["flag"], own["flag_label"])],
            hovertemplate="<b>%{customdata[0]}</b><br>%{x}: %{y:,.1f} %<br>95 % KI: %{customdata[1]}"
                          " %{customdata[2]}<extra></extra>"))
        if target is not None:
            shapes.append(_hline(target, dict(color=theme.TARGET, width=1.5, dash="dot"), xref=f"{xa} domain", yref=ya))
    if target is not None:
        data.append(dict(type="scatter", x=[None], y=[None], mode="lines",
                         name=f"{target_label}: {text.value(ind, target)} %",
                         line=dict(color=theme.TARGET, width=1.5, dash="dot")))
        layout["shapes"] = shapes
    layout["legend"] = {**layout["legend"], **dict(orientation="h", yanchor="bottom", y=1.0 + 30 / (rows_n * 175), x=0,
                                                   yref="paper")}
    layout["margin"] = {**layout["margin"], "t": 140, "b": 20}
    return _figure(data, layout)


# A local-registration value resting on fewer than this share of the area's kommuner is marked,
# and never ranked among the values that rest on most of them.
REPORTING_SHARE_MIN = 0.5


def thin_reporting(reporting: int | None, total: int | None) -> bool:
    """True when a value rests on fewer than half of the area's kommuner."""
    return bool(total) and (reporting or 0) / total < REPORTING_SHARE_MIN


def reporting_bars(table: pl.DataFrame, ind: Indicator, *, labels: dict[str, str], period: str,
                   synthetic: bool, target: float | None = None, target_label: str = "Mål") -> go.Figure:
    """SP2/SP3 by area. Areas that do not report get no bar, only the words "Ikke rapportert" in an
    empty row, so they cannot be read as 0 % or 100 %. Values that rest on fewer than half of the
    area's kommuner are drawn pale, marked ⚠ and listed below the others, not ranked among them.
    Each axis label says how many of the area's kommuner report."""
    thin = pl.struct("reporting_kommuner", "total_kommuner").map_elements(
        lambda r: thin_reporting(r["reporting_kommuner"], r["total_kommuner"]), return_dtype=pl.Boolean)
    reported = table.filter(pl.col("value").is_not_null()).with_columns(thin.alias("_thin"))
    sound = reported.filter(~pl.col("_thin")).sort("value")
    weak = reported.filter(pl.col("_thin")).sort("value")
    missing = table.filter(pl.col("value").is_null())

    def tick(area_id: str, r: int | None, t: int | None, mark: str = "") -> str:
        noun = "kommune" if t == 1 else "kommuner"
        return (f"{mark}{text.esc(labels.get(area_id, area_id))} "
                f"<span style='color:#4A4F57'>({r or 0}/{t} {noun})</span>")

    def ticks_of(frame: pl.DataFrame, mark: str = "") -> list[str]:
        return [tick(a, r, t, mark) for a, r, t in
                zip(frame["area_id"], frame["reporting_kommuner"], frame["total_kommuner"])]

    missing_ticks, weak_ticks, sound_ticks = ticks_of(missing), ticks_of(weak, "⚠ "), ticks_of(sound)
    ticks = missing_ticks + weak_ticks + sound_ticks  # bottom to top: the complete values rank on top
    data = []
    if missing.height:  # words in an empty row, never a bar
        data.append(dict(
            type="scatter", mode="text", y=missing_ticks, x=[1] * missing.height,
            name="Ikke rapportert (ingen kommuner registrerer) – ikke det samme som 0 %",
            text=["Ikke rapportert" if f == "not_reported" else f"– {text.flag_note(f, fl)}"
                  for f, fl in zip(missing["flag"], missing["flag_label"])],
            textposition="middle right", textfont=dict(color="#1A1A1A", size=13),
            hovertemplate="%{y}<br>%{text}<extra></extra>", showlegend=True,
        ))

    def bars(frame: pl.DataFrame, y: list[str], name: str, colour: str, font: str, pattern: dict | None) -> dict:
        marker = dict(color=colour, line=dict(color="#333", width=0.8))
        if pattern:
            marker["pattern"] = pattern
        return dict(
            type="bar", orientation="h", y=y, x=frame["value"].to_list(), name=name, marker=marker,
            error_x=dict(type="data", symmetric=False,
                         array=[u - v for u, v in zip(frame["upper_95"], frame["value"])],
                         arrayminus=[v - lo for lo, v in zip(frame["lower_95"], frame["value"])],
                         color="#1A1A1A", thickness=1.3, width=3),
            text=[f"{text.value(ind, v)} %" for v in frame["value"]],
            textposition="inside", insidetextanchor="start", textfont=dict(color=font, size=13),
            customdata=[[text.esc(labels.get(a, a)), text.interval(ind, lo, up), text.reporting(r, t)]
                        for a, lo, up, r, t in zip(frame["area_id"], frame["lower_95"], frame["upper_95"],
                                                   frame["reporting_kommuner"], frame["total_kommuner"])],
            hovertemplate="<b>%{customdata[0]}</b><br>%{x:,.1f} %<br>95 % KI: %{customdata[1]}"
                          "<br>%{customdata[2]}<extra></extra>",
        )

    if weak.height:
        data.append(bars(weak, weak_ticks, "⚠ Bygger på under halvparten av kommunene (ikke rangert med de andre)",
                         "#D9E6F2", "#1A1A1A", dict(shape="/", fgcolor=theme.BETTER, size=7, solidity=0.2)))
    if sound.height:
        data.append(bars(sound, sound_ticks, "Andel med behovskartlegging (minst halvparten av kommunene rapporterer)",
                         theme.BETTER, "#FFFFFF", None))
    layout = base_layout(f"{ind.short_name}: andel per område",
                         text.subtitle(ind, period, synthetic, "i parentes: kommuner som rapporterer"),
                         height=26 * len(ticks) + 230, wrap=90, bottom=110)
    shapes, annotations = [], []
    if weak.height and sound.height:  # a rule between the ranked values and the marked ones
        shapes.append(dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=len(ticks) - len(sound_ticks) - 0.5,
                           y1=len(ticks) - len(sound_ticks) - 0.5, line=dict(color="#4A4F57", width=1, dash="dash")))
    if target is not None:
        shapes.append(_vline(target, dict(color=theme.TARGET, width=2, dash="dot")))
        annotations.append(dict(x=target, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                                text=f"{target_label}: {text.value(ind, target)} %",
                                font=dict(color=theme.TARGET, size=13)))
    if shapes:
        layout["shapes"] = shapes
    if annotations:
        layout["annotations"] = annotations
    _axis(layout, "yaxis", categoryorder="array", categoryarray=ticks, ticks="", showgrid=False,
          range=[-0.5, len(ticks) - 0.5])
    _axis(layout, "xaxis", range=[0, 102], tickvals=[0, 20, 40, 60, 80, 100], title_text="Prosent")
    layout.update(barmode="overlay", bargap=0.25)
    return _figure(data, layout)
