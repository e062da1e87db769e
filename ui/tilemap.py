"""Tile maps: one labelled square per area, placed roughly where the area lies.

Used for Oslo's bydeler, which the kommune layer the project ships cannot draw. The squares
are coloured like the other maps (``maps.area_properties``: significance or deviation from the
country, grey where hidden) and every map has a table twin with the same texts.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from indicators.catalogue import Indicator

from ui import charts, maps, tables, text, theme

# Oslo's bydeler on a grid (column, row; row 0 at the top, north up), roughly as they lie.
OSLO_BYDEL_TILES: dict[str, tuple[int, int]] = {
    "030117": (2, 0),  # Marka
    "030107": (0, 1),  # Vestre Aker
    "030108": (2, 1),  # Nordre Aker
    "030109": (3, 1),  # Bjerke
    "030110": (4, 1),  # Grorud
    "030111": (5, 1),  # Stovner
    "030106": (0, 2),  # Ullern
    "030105": (1, 2),  # Frogner
    "030104": (2, 2),  # St. Hanshaugen
    "030103": (3, 2),  # Sagene
    "030112": (4, 2),  # Alna
    "030116": (2, 3),  # Sentrum
    "030102": (3, 3),  # Grünerløkka
    "030113": (4, 3),  # Østensjø
    "030101": (3, 4),  # Gamle Oslo
    "030114": (4, 4),  # Nordstrand
    "030115": (4, 5),  # Søndre Nordstrand
    "030199": (0, 5),  # Uoppgitt bydel: placed apart, in no place
}
TWIN_LABEL = "Rutekartet som tabell"


def _css(rgba: list[int]) -> str:
    r, g, b, a = (list(rgba) + [255])[:4]
    return f"rgba({r},{g},{b},{a / 255:.3f})"


def _text_colour(rgba: list[int]) -> str:
    """Black or white text, whichever reads better on the fill (relative luminance)."""
    r, g, b = (c / 255 for c in rgba[:3])
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#1A1A1A" if luminance > 0.45 else "#FFFFFF"


def tile_figure(table: pl.DataFrame, ind: Indicator, positions: dict[str, tuple[int, int]], *, title: str,
                subtitle: str, colour_by: str = "significance", groups: dict[str, str] | None = None) -> go.Figure:
    """A grid of squares, one per area of ``table`` found in ``positions``, with name and value.

    ``groups`` (area id -> a short text, e.g. the hospital sector) adds a third line to each tile.
    """
    props = maps.area_properties(table, ind, colour_by=colour_by, key="area_id")
    by_id = {r["area_id"]: r for r in props.iter_rows(named=True)}
    values = dict(zip(table["area_id"].to_list(), table["value"].to_list()))
    shapes, annotations = [], []
    xs, ys, hover = [], [], []
    rows = max((p[1] for p in positions.values()), default=0) + 1
    for area_id, (col, row) in positions.items():
        prop = by_id.get(area_id)
        if prop is None:
            continue
        fill = list(prop["fill_color"])
        y = rows - 1 - row  # row 0 at the top
        shapes.append(dict(type="rect", x0=col + 0.04, x1=col + 0.96, y0=y + 0.04, y1=y + 0.96,
                           line=dict(color="#FFFFFF", width=2), fillcolor=_css(fill), layer="below"))
        value = values.get(area_id)
        lines = [f"<b>{text.esc(prop['name'])}</b>", text.value(ind, value) if value is not None else "–"]
        if groups and groups.get(area_id):
            lines.append(f"<i>{text.esc(groups[area_id])}</i>")
        annotations.append(dict(x=col + 0.5, y=y + 0.5, text="<br>".join(lines), showarrow=False,
                                font=dict(size=12, color=_text_colour(fill)), xanchor="center", yanchor="middle"))
        xs.append(col + 0.5)
        ys.append(y + 0.5)
        hover.append("<br>".join(p for p in (f"<b>{text.esc(prop['name'])}</b>", prop["value_text"], prop["ci_text"],
                                             prop["status_text"]) if p))
    layout = charts.base_layout(title, subtitle, height=110 * rows + 120, wrap=80, legend_below=False)
    columns = max((p[0] for p in positions.values()), default=0) + 1
    for axis, span in (("xaxis", columns), ("yaxis", rows)):
        layout[axis] = dict(range=[0, span], visible=False, fixedrange=True)
    layout["yaxis"].update(scaleanchor="x", scaleratio=0.8)
    layout.update(shapes=shapes, annotations=annotations, showlegend=False)
    data = [dict(type="scatter", mode="markers", x=xs, y=ys, marker=dict(size=40, opacity=0),
                 hovertext=hover, hoverinfo="text", showlegend=False)]
    return go.Figure(data=data, layout=layout)


def tile_map(table: pl.DataFrame, ind: Indicator, positions: dict[str, tuple[int, int]], *, title: str,
             subtitle: str, name_label: str, colour_by: str = "significance", groups: dict[str, str] | None = None,
             key: str) -> None:
    """Draw the tile map with its legend, text alternative and table twin."""
    shown = table.filter(pl.col("area_id").is_in(list(positions)))
    fig = tile_figure(shown, ind, positions, title=title, subtitle=subtitle, colour_by=colour_by, groups=groups)
    alt = (maps.summary(shown, ind, name_label.lower() + "er" if name_label == "Bydel" else name_label.lower())
           + " Rutene står omtrent der området ligger; de har samme størrelse uansett folketall."
           + f" Alle verdiene står i «{TWIN_LABEL}».")
    st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key=key, alt=alt)
    national = shown["national_value"].drop_nulls()
    props = maps.area_properties(shown, ind, colour_by=colour_by, key="area_id")
    st.html(maps.legend_html(ind, colour_by=colour_by, national=float(national[0]) if len(national) else None,
                             present=set(props["class_text"].to_list())))
    st.caption(f"Tekstversjon: {alt}")
    with st.expander(TWIN_LABEL, expanded=False):
        twin = maps.twin_frame(shown, ind, colour_by=colour_by, name_label=name_label)
        if groups:
            names = dict(zip(shown["area_name"].to_list(), shown["area_id"].to_list()))
            twin.insert(1, "Helseforetaksområde", [groups.get(names.get(n), "") for n in twin[name_label]])
        st.dataframe(tables.styled(twin, ind), hide_index=True, width="stretch", key=f"{key}_twin")
