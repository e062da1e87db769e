"""Choropleth maps with pydeck (GeoJsonLayer, no basemap, no tiles, no tokens).

Colours diverge around the national value (or show the significance), suppressed and
unreported areas are grey and listed in the legend as "Skjult/ikke rapportert"; every map
has a legend, the Kartverket attribution, a text summary (``alt``), the Haram note for
kommune maps, and a table twin ("Kartet som tabell"): every area with the value, interval,
legend class and flag the map shows, built from the same properties as the map.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import polars as pl
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize
import streamlit as st

from data_loaders.geometry import SPLIT_AREA_ID, map_view_state, to_geojson
from indicators.catalogue import Indicator

from ui import cache, tables, text, theme

ATTRIBUTION = (
    "Kartgrunnlag: © Kartverket, CC BY 4.0 (kommunegrenser 2020, forenklet og omnummerert til 2024; "
    "hentet via pakken hvor)."
)
COLOUR_MODES = {"deviation": "Avvik fra landet", "significance": "Signifikans mot landet"}
TWIN_LABEL = "Kartet som tabell"
LEVEL_NAMES = {"helseforetak": "helseforetaksområder", "sentralitet": "sentralitetsklasser",
               "kostragruppe": "KOSTRA-grupper"}
SPLIT_NOTE = ("Oslo er delt mellom fire sykehussektorer (OUS, Lovisenberg, Diakonhjemmet og Akershus for Grorud og "
              "Stovner) og er grå i kartet; sektorene står i tabellen og i profilen for Helsefellesskap Oslo.")
_TOOLTIP_STYLE = {"backgroundColor": "#FFFFFF", "color": "#1A1A1A", "fontSize": "14px",
                  "border": "1px solid #333", "padding": "6px 8px", "fontFamily": "sans-serif"}


def _deviation_class(value: float | None, national: float | None) -> int | None:
    if value is None or national is None or national == 0:
        return None
    relative = value / national - 1
    for i, bound in enumerate(theme.DEVIATION_BOUNDS):
        if relative < bound:
            return i
    return len(theme.DEVIATION_BOUNDS)


def area_properties(table: pl.DataFrame, ind: Indicator, *, colour_by: str, key: str) -> pl.DataFrame:
    """Per area: fill colour, line colour and Norwegian tooltip texts (joined to the geometry by ``key``)."""
    palette = theme.diverging_palette(ind.direction)
    rows = []
    for r in table.iter_rows(named=True):
        value = r["value"]
        if value is None:
            fill = theme.hex_to_rgba(theme.SUPPRESSED_FILL, 255)
            klass = theme.SUPPRESSED_LABEL
        elif colour_by == "significance":
            fill = theme.hex_to_rgba(theme.assessment_colour(r["assessment"]), 255)
            klass = theme.ASSESSMENT_LABELS.get(r["assessment"], "")
        else:
            index = _deviation_class(value, r["national_value"])
            fill = theme.hex_to_rgba(palette[index] if index is not None else theme.SUPPRESSED_FILL, 255)
            klass = theme.DEVIATION_LABELS[index] if index is not None else ""
        rows.append({
            key: r["area_id"],
            "name": r["area_name"],
            "fill_color": fill,
            "line_color": [60, 60, 60, 255] if value is None else list(theme.MAP_OUTLINE),
            "value_text": (f"Verdi: {text.with_unit(ind, value)}" if value is not None
                           else f"– {text.flag_note(r['flag'], r['flag_label']) or 'Ingen verdi'}"),
            "ci_text": f"95 % KI: {text.interval(ind, r['lower_95'], r['upper_95'])}" if value is not None else "",
            "status_text": text.status(r["assessment"], r["significance"]) if value is not None else "",
            "class_text": klass,
        })
    return pl.DataFrame(rows, schema_overrides={"fill_color": pl.List(pl.Int64), "line_color": pl.List(pl.Int64)})


class _CompactDeck(pdk.Deck):
    """A Deck serialised compactly: pydeck indents its JSON, which forces Python's slow pure-Python
    encoder and triples the size of the geometry sent to the browser on every rerun."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


# The Oslo area (lon/lat box) where six helsefellesskap meet: shown again, enlarged, under a map of
# the whole country, so that Oslo, Ahus, Vestre Viken, Østfold, Vestfold and Telemark are not slivers.
OSLO_AREA_BOX = (9.2, 58.75, 11.95, 60.45)
INSET_LABEL = "Oslo-området forstørret"
MAP_FIT_WIDTH = 360  # px: the map's view is fitted to this width (a phone's), so nothing is cut off


def _label_layer(gdf: gpd.GeoDataFrame, geo_key: str, highlight: str, name: str) -> pdk.Layer | None:
    """The chosen area's name on the map, on a white background, at a point inside it."""
    sub = gdf[gdf[geo_key] == highlight]
    if not len(sub) or not name:
        return None
    point = sub.geometry.union_all().representative_point()
    return pdk.Layer(
        "TextLayer", data=[{"position": [point.x, point.y], "name": name}], id="highlight-label",
        get_position="position", get_text="name", get_size=15, get_color=[26, 26, 26, 255],
        background=True, get_background_color=[255, 255, 255, 235], background_padding=[4, 2],
        font_weight=700, character_set="auto", pickable=False,  # "auto": Norwegian letters (æ, ø, å)
    )


def _deck(geojson: dict, view: dict, highlight_geojson: dict | None = None,
          label: pdk.Layer | None = None) -> pdk.Deck:
    layers = [pdk.Layer(
        "GeoJsonLayer", data=geojson, id="areas", pickable=True, stroked=True, filled=True,
        get_fill_color="properties.fill_color", get_line_color="properties.line_color",
        line_width_min_pixels=0.6, auto_highlight=True, highlight_color=[106, 27, 154, 110],
    )]
    if highlight_geojson is not None:
        layers.append(pdk.Layer(
            "GeoJsonLayer", data=highlight_geojson, id="highlight", pickable=False, stroked=True, filled=False,
            get_line_color=[106, 27, 154, 255], line_width_min_pixels=3,
        ))
    if label is not None:
        layers.append(label)
    return _CompactDeck(
        layers=layers,
        initial_view_state=pdk.ViewState(**view),
        map_provider=None,  # no basemap: nothing is fetched from tile servers
        tooltip={"html": "<b>{name}</b><br/>{value_text}<br/>{ci_text}<br/>{status_text}", "style": _TOOLTIP_STYLE},
    )


def _oslo_inset(gdf: gpd.GeoDataFrame, geojson: dict, geo_key: str, highlight_geojson: dict | None,
                label: pdk.Layer | None, key: str | None, height: int = 300) -> None:
    """The Oslo area enlarged, under a map of the whole country (only the areas inside the box)."""
    from shapely.geometry import box

    area = box(*OSLO_AREA_BOX)
    inside = set(gdf[gdf.intersects(area)][geo_key].astype(str).to_list())
    if not inside:
        return
    features = [f for f in geojson["features"] if str(f["properties"].get(geo_key)) in inside]
    frame = gpd.GeoDataFrame(geometry=[area], crs=gdf.crs)
    view = map_view_state(frame, width=MAP_FIT_WIDTH, height=height, padding=0.0)
    st.markdown(f"**{INSET_LABEL}**")
    st.pydeck_chart(_deck({**geojson, "features": features}, view, highlight_geojson, label), height=height,
                    alt=f"{INSET_LABEL}: de samme fargene som kartet over, for områdene rundt Oslo "
                        f"(Oslo, Akershus, Buskerud, Østfold, Vestfold og Telemark). Alle verdiene står i "
                        f"«{TWIN_LABEL}».",
                    key=f"{key}_oslo" if key else None)


def legend_html(ind: Indicator, *, colour_by: str, national: float | None, present: set[str]) -> str:
    """A legend as HTML swatches with text (the grey hatched swatch = suppressed/not reported)."""
    items = []
    if colour_by == "significance":
        names = ["higher", "lower", "similar"] if ind.direction == "neutral" else ["better", "similar", "worse"]
        for name in names:
            items.append((theme.ASSESSMENT_COLOURS[name], theme.ASSESSMENT_LABELS[name]))
    else:
        palette = theme.diverging_palette(ind.direction)
        for colour, label in zip(palette, theme.DEVIATION_LABELS):
            items.append((colour, label))
    parts = [f'<span><span class="sw" style="background:{c}"></span>{text.esc(label)}</span>'
             for c, label in items if label in present or colour_by == "deviation"]
    parts.append(f'<span><span class="sw hatch"></span>{theme.SUPPRESSED_LABEL} (–)</span>')
    head = f"<b>Landet: {text.esc(text.with_unit(ind, national))}</b>" if national is not None else ""
    direction = text.esc(text.direction(ind))
    return (f'<div class="legend" role="note" aria-label="Tegnforklaring for kartet">{head}'
            f'<span class="map-note">({direction})</span></div>'
            f'<div class="legend">{"".join(parts)}</div>')


def summary(table: pl.DataFrame, ind: Indicator, level_name: str) -> str:
    """A one-sentence text alternative for the map (highest, lowest, hidden)."""
    shown = table.filter(pl.col("value").is_not_null()).sort("value", descending=True)
    hidden = table.height - shown.height
    if shown.height == 0:
        return f"Kartet viser {table.height} {level_name}; ingen har verdi som kan vises."
    top, bottom = shown.row(0, named=True), shown.row(-1, named=True)
    sentence = (f"Kart over {table.height} {level_name} for {ind.short_name}. Høyest: {top['area_name']} "
                f"({text.with_unit(ind, top['value'])}); lavest: {bottom['area_name']} "
                f"({text.with_unit(ind, bottom['value'])}).")
    if hidden:
        sentence += f" {hidden} er skjult eller ikke rapportert (grå)."
    return sentence


def drawn_inside(gdf: gpd.GeoDataFrame) -> dict[str, str]:
    """Kommunenummer drawn inside another kommune's polygon -> that kommune's name (Haram -> Ålesund)."""
    if "covers" not in gdf.columns:
        return {}
    owners = {}
    for number, name, covers in zip(gdf["kommunenummer"], gdf["kommunenavn"], gdf["covers"]):
        for covered in str(covers or "").split(","):
            if covered and covered != number:
                owners[covered] = name
    return owners


def twin_frame(table: pl.DataFrame, ind: Indicator, *, colour_by: str, name_label: str,
               number_label: str | None = None, drawn_with: dict[str, str] | None = None) -> pd.DataFrame:
    """The map as a table: one row per area of ``table`` with the texts the map shows for it
    (value, interval, legend class, comparison, flag), from the same ``area_properties``.
    ``number_label`` adds the area id as a column (kommunenummer: some kommuner share a name)."""
    props = area_properties(table, ind, colour_by=colour_by, key="area_id")
    classes = dict(zip(props["area_id"].to_list(), props["class_text"].to_list()))
    rows = table.sort(["value", "area_name"], descending=[True, False], nulls_last=True)
    notes = []
    for area_id, flag, flag_label in zip(rows["area_id"], rows["flag"], rows["flag_label"]):
        note = text.flag_note(flag, flag_label)
        if drawn_with and area_id in drawn_with:
            note = (note + " · " if note else "") + f"Tegnet sammen med {drawn_with[area_id]} i kartet"
        notes.append(note)
    numbers = {number_label: rows["area_id"].to_list()} if number_label else {}
    return pd.DataFrame({
        name_label: rows["area_name"].to_list(),
        **numbers,
        f"Verdi ({text.unit_short(ind)})": pd.array(rows["value"].to_list(), dtype="Float64"),
        "95 % KI": [text.interval(ind, lo, up) if v is not None else "–"
                    for v, lo, up in zip(rows["value"], rows["lower_95"], rows["upper_95"])],
        "Farge i kartet": [classes.get(a) or theme.SUPPRESSED_LABEL for a in rows["area_id"]],
        "Mot landet": [text.status_short(a, s) for a, s in zip(rows["assessment"], rows["significance"])],
        "Merknad": notes,
    })


def choropleth(table: pl.DataFrame, ind: Indicator, *, level: str, colour_by: str = "deviation",
               kommuner: list[str] | None = None, highlight: str | None = None, height: int = 560,
               key: str | None = None) -> None:
    """Draw a map of ``table`` (engine output for ``level`` "helsefellesskap" or "kommune").

    ``kommuner`` restricts a kommune map to these kommunenummer (e.g. one helsefellesskap).
    """
    data_key = cache.data_key()
    if level == "kommune":
        gdf: gpd.GeoDataFrame = cache.kommune_geometry()
        geo_key = "kommunenummer"
        if kommuner is not None:
            wanted = set(kommuner)
            mask = [n in wanted or bool(set(str(c).split(",")) & wanted) for n, c in zip(gdf["kommunenummer"], gdf["covers"])]
            gdf = gdf[mask]
        level_name = "kommuner"
    elif level == "helsefellesskap":
        gdf = cache.helsefellesskap_geometry(data_key)
        geo_key = "helsefellesskap_id"
        level_name = "helsefellesskap"
    else:  # helseforetak, sentralitet, kostragruppe: dissolved from whole kommuner
        gdf = cache.level_geometry(data_key, level)
        geo_key = "area_id"
        level_name = LEVEL_NAMES.get(level, level)
    props = area_properties(table, ind, colour_by=colour_by, key=geo_key)
    geojson = to_geojson(gdf, props, key=geo_key, missing={
        "fill_color": theme.hex_to_rgba(theme.SUPPRESSED_FILL), "line_color": [60, 60, 60, 255],
        "value_text": "Ingen data", "ci_text": "", "status_text": "", "name": "",
    })
    for feature in geojson["features"]:  # Oslo on the helseforetak map: four hospital sectors, not one area
        if feature["properties"].get(geo_key) == SPLIT_AREA_ID:
            feature["properties"].update(name="Oslo (fire sykehussektorer)", value_text=SPLIT_NOTE)
    for feature in geojson["features"]:
        if not feature["properties"].get("name"):
            feature["properties"]["name"] = feature["properties"].get("kommunenavn") or ""
    highlight_geojson = label = None
    if highlight is not None:
        sub = gdf[gdf[geo_key] == highlight]
        if len(sub):
            highlight_geojson = to_geojson(sub, key=geo_key)
            names = dict(zip(props[geo_key].to_list(), props["name"].to_list()))
            label = _label_layer(gdf, geo_key, highlight, names.get(highlight, ""))
    # Fitted to a phone's width (360 px), so the whole area is in view on a narrow screen too.
    view = map_view_state(gdf, width=MAP_FIT_WIDTH, height=height)
    alt = summary(table, ind, level_name) + f" Alle verdiene står i «{TWIN_LABEL}»."
    if highlight_geojson is not None:
        alt += " Det valgte området er markert med lilla kant og navn."
    st.pydeck_chart(_deck(geojson, view, highlight_geojson, label), height=height, alt=alt, key=key)
    whole_country = level != "kommune" or kommuner is None
    if whole_country:
        _oslo_inset(gdf, geojson, geo_key, highlight_geojson, label, key)
    national = table["national_value"].drop_nulls()
    present = set(props["class_text"].to_list())
    st.html(legend_html(ind, colour_by=colour_by, national=float(national[0]) if len(national) else None,
                        present=present))
    notes = [ATTRIBUTION]
    if level == "helseforetak":
        notes.append(SPLIT_NOTE)
    if level in ("sentralitet", "kostragruppe"):  # Haram is drawn with Ålesund's polygon (and class)
        notes += cache.geometry_notes()
    if level == "kommune" and (kommuner is None or set(kommuner) & set(cache.kommuner_without_own_geometry())):
        notes += cache.geometry_notes()
    st.caption(" ".join(notes))
    st.caption(f"Tekstversjon: {alt}")
    name_label = {"kommune": "Kommune", "helsefellesskap": "Helsefellesskap", "helseforetak": "Helseforetaksområde",
                  "sentralitet": "Sentralitet", "kostragruppe": "KOSTRA-gruppe"}.get(level, "Område")
    with st.expander(TWIN_LABEL, expanded=False):
        st.caption(f"Hvert område i kartet med verdien, konfidensintervallet og fargeklassen fra tegnforklaringen "
                   f"({COLOUR_MODES.get(colour_by, colour_by).lower()}).")
        twin = twin_frame(table, ind, colour_by=colour_by, name_label=name_label,
                          number_label="Kommunenr." if level == "kommune" else None,
                          drawn_with=drawn_inside(gdf) if level == "kommune" else None)
        st.dataframe(tables.styled(twin, ind), hide_index=True, width="stretch",
                     height="auto" if len(twin) <= 25 else 420, key=f"{key}_twin" if key else None)
