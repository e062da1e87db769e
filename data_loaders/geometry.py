"""Kommune and helsefellesskap boundaries for the maps (EPSG:4326, ready for pydeck).

Source of the kommune layer, in order of precedence:

1. the ``path`` argument of :func:`load_kommune_geometry`;
2. the setting ``kommune_geojson`` (environment variable ``STYRING_KOMMUNE_GEOJSON``), e.g. an
   official 2024 kommune GeoJSON from Kartverket/Geonorge. The file is read where it is and
   never copied into the project;
3. the bundled ``assets/geo/kommuner_2024.geojson``: Kartverket's 2020 boundaries renumbered
   to 2024 and simplified (see ``assets/geo/ATTRIBUTION.md`` and
   ``scripts/build_geometry.py``). In that layer Haram (1580) has no polygon of its own: the
   2020 Ålesund polygon is feature 1508 with ``covers`` = ``"1508,1580"`` and a Norwegian
   ``geometry_note``. :func:`kommuner_without_own_geometry` lists such kommuner so that pages
   can show a visible note (:func:`geometry_notes` gives the text).

Accepted GeoJSON (or any vector format GDAL reads), one feature per kommune:

* kommune number in the property ``kommunenummer``, ``kommunenr`` or ``id`` (first one
  present wins), as a string or an integer; ``301``, ``"301"`` and ``"0301"`` all mean
  ``"0301"``. Every number must be a 2024 kommune (``load_kommuner()``), and every 2024
  kommune must have a feature or be listed in another feature's ``covers``;
* optional ``covers`` (comma-separated kommunenummer the polygon stands for, including its
  own) and ``geometry_note`` (text shown with the map); default: the feature's own number
  and ``""``;
* names in the file are ignored: ``kommunenavn`` always comes from ``load_kommuner()``;
* any CRS (reprojected to EPSG:4326); a file without CRS must be in longitude/latitude;
* several features with the same number are unioned; invalid polygons are repaired with
  ``shapely.make_valid``;
* a feature may be a *bydel* instead (SSB's six-digit code, e.g. ``030110`` Grorud, in the same
  number property or in ``bydel``): the kommune layer unions a kommune's bydeler into the
  kommune, and :func:`load_bydel_geometry` returns the bydeler themselves. A bydel code must be
  in ``bydeler_2024.csv``. A file of bydeler alone (no kommuner) is read by
  :func:`load_bydel_geometry` only.

A file that breaks these rules raises :class:`GeometryDataError` naming the file.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import shapely

from data_loaders.config import GEO_DIR, settings
from data_loaders.reference import load_bydeler, load_kommuner

GEOMETRY_CRS = "EPSG:4326"
BUNDLED_GEOJSON = GEO_DIR / "kommuner_2024.geojson"
NUMBER_PROPERTIES = ("kommunenummer", "kommunenr", "bydel", "id")
COLUMNS = ["kommunenummer", "kommunenavn", "covers", "geometry_note", "geometry"]

_NUMBER_RE = re.compile(r"^\d{1,4}$")
_BYDEL_RE = re.compile(r"^\d{6}$")


class GeometryDataError(ValueError):
    """A boundary file is malformed; the message names the file and the problem."""


# --------------------------------------------------------------------------- loading


def _imported_geometry_path() -> str | None:
    """The GeoJSON path recorded in the store by ``import --format geometry``, if any."""
    from data_loaders import store

    try:
        return store.load_app_setting(store.get_engine(), "kommune_geojson")
    except Exception:  # no store yet, or one we cannot read: fall back to the bundled layer
        return None


def resolve_geometry_path(path: Path | str | None = None) -> Path:
    """The file :func:`load_kommune_geometry` reads.

    In order: ``path``; the setting ``kommune_geojson`` (``STYRING_KOMMUNE_GEOJSON``); the
    file recorded in the store by the geometry importer; the bundled asset.
    """
    if path is None:
        path = settings().kommune_geojson or _imported_geometry_path() or BUNDLED_GEOJSON
    # A relative path is taken from the current working directory.
    return Path(path).expanduser().resolve()


def load_kommune_geometry(path: Path | None = None) -> gpd.GeoDataFrame:
    """Kommune polygons with kommunenummer, kommunenavn, covers, geometry_note, geometry (EPSG:4326).

    One row per kommune that has its own polygon, sorted by kommunenummer. The file is read
    once per resolved path (and modification time); each call returns a cheap copy that
    shares the immutable geometries, so callers may add columns freely.
    """
    resolved = resolve_geometry_path(path)
    try:
        stat = resolved.stat()
    except FileNotFoundError:
        hint = "" if path is not None else " (setting kommune_geojson / STYRING_KOMMUNE_GEOJSON)"
        raise GeometryDataError(f"{resolved}: file not found{hint}") from None
    return _load_cached(str(resolved), stat.st_mtime_ns, stat.st_size).copy()


@lru_cache(maxsize=4)
def _load_cached(path: str, _mtime_ns: int, _size: int) -> gpd.GeoDataFrame:
    frame = _read_and_normalise(Path(path))
    # Warm the GeoJSON geometry cache so the first map render is as fast as the next ones.
    for geom in frame.geometry.values:
        _geometry_mapping(geom)
    return frame


def _read_and_normalise(path: Path) -> gpd.GeoDataFrame:
    try:
        raw = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise GeometryDataError(f"{path}: cannot read as a vector file: {exc}") from exc
    if raw.empty:
        raise GeometryDataError(f"{path}: no features")

    number_column = next((c for c in NUMBER_PROPERTIES if c in raw.columns), None)
    if number_column is None:
        found = ", ".join(c for c in raw.columns if c != raw.geometry.name) or "none"
        raise GeometryDataError(
            f"{path}: missing kommune number property; expected one of "
            f"{', '.join(NUMBER_PROPERTIES)} (found: {found})"
        )
    codes = [_bydel_code(v) for v in raw[number_column]]
    _check_bydeler(codes, path)
    # A bydel feature counts as part of its kommune (its code's first four digits).
    numbers = [c[:4] if c else _normalise_number(v) for c, v in zip(codes, raw[number_column])]
    bad = [str(raw[number_column].iloc[i]) for i, n in enumerate(numbers) if n is None]
    if bad:
        raise GeometryDataError(
            f"{path}: {number_column} must be a kommune number of up to four digits or a six-digit bydel code; "
            f"bad value(s): {', '.join(bad[:10])}"
        )

    kommuner = load_kommuner()
    names = dict(zip(kommuner["kommunenummer"], kommuner["kommunenavn"]))
    unknown = sorted(set(numbers) - names.keys())
    if unknown:
        raise GeometryDataError(
            f"{path}: kommunenummer unknown for 2024: {', '.join(unknown[:10])}"
            + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else "")
            + "; the file must use the 2024 kommune numbers"
        )

    covers = _read_covers(raw, numbers, path)
    unknown_covered = sorted({c for cs in covers for c in cs} - names.keys())
    if unknown_covered:
        raise GeometryDataError(f"{path}: covers lists numbers unknown for 2024: {', '.join(unknown_covered[:10])}")
    notes = (
        ["" if _is_missing(v) else str(v) for v in raw["geometry_note"]]
        if "geometry_note" in raw.columns
        else [""] * len(raw)
    )

    if raw.crs is None:
        minx, miny, maxx, maxy = raw.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise GeometryDataError(f"{path}: no CRS given and coordinates are not longitude/latitude")
        raw = raw.set_crs(GEOMETRY_CRS)
    elif not raw.crs.equals(GEOMETRY_CRS):
        raw = raw.to_crs(GEOMETRY_CRS)

    geoms = np.asarray(raw.geometry.values, dtype=object)
    missing_geom = [numbers[i] for i, g in enumerate(geoms) if g is None or g.is_empty]
    if missing_geom:
        raise GeometryDataError(f"{path}: feature(s) without geometry: {', '.join(sorted(missing_geom)[:10])}")
    geoms = _repair(geoms)
    not_polygonal = [numbers[i] for i, g in enumerate(geoms) if g.is_empty]
    if not_polygonal:
        raise GeometryDataError(f"{path}: feature(s) without polygon geometry: {', '.join(sorted(not_polygonal)[:10])}")

    # One row per kommune; several features with the same number are unioned.
    grouped: dict[str, dict] = {}
    for number, geom, cover, note in zip(numbers, geoms, covers, notes):
        entry = grouped.setdefault(number, {"geoms": [], "covers": set(), "note": ""})
        entry["geoms"].append(geom)
        entry["covers"].update(cover)
        entry["note"] = entry["note"] or note
    ordered = sorted(grouped)
    merged = [
        grouped[n]["geoms"][0] if len(grouped[n]["geoms"]) == 1 else _polygonal(shapely.union_all(grouped[n]["geoms"]))
        for n in ordered
    ]

    covered = {c for n in ordered for c in grouped[n]["covers"]}
    if missing := sorted(names.keys() - covered):
        raise GeometryDataError(
            f"{path}: 2024 kommune(r) without geometry: {', '.join(missing[:10])}"
            + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
        )

    return gpd.GeoDataFrame(
        {
            "kommunenummer": ordered,
            "kommunenavn": [names[n] for n in ordered],
            "covers": [",".join(sorted(grouped[n]["covers"])) for n in ordered],
            "geometry_note": [grouped[n]["note"] for n in ordered],
        },
        geometry=merged,
        crs=GEOMETRY_CRS,
    )


def _bydel_code(value) -> str | None:
    """A six-digit bydel code (``"030110"``), or None for anything else."""
    if _is_missing(value):
        return None
    text = str(value).strip()
    return text if _BYDEL_RE.match(text) else None


def _check_bydeler(codes: list[str | None], path: Path) -> None:
    known = set(load_bydeler()["bydel"])
    if unknown := sorted({c for c in codes if c is not None} - known):
        raise GeometryDataError(f"{path}: bydel code(s) unknown (bydeler_2024.csv): {', '.join(unknown[:10])}")


def load_bydel_geometry(path: Path | str) -> gpd.GeoDataFrame:
    """The bydel features of a boundary file: bydel, bydelsnavn, kommunenummer, geometry (EPSG:4326).

    The file holds bydeler alone or kommuner and bydeler together (see the module notes); the
    six-digit code is in ``bydel`` or in the first number property present. Several features
    with the same code are unioned. Raises :class:`GeometryDataError` when the file has no
    bydel, or a code unknown to ``bydeler_2024.csv``.
    """
    path = Path(path)
    try:
        raw = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:
        raise GeometryDataError(f"{path}: cannot read as a vector file: {exc}") from exc
    column = "bydel" if "bydel" in raw.columns else next((c for c in NUMBER_PROPERTIES if c in raw.columns), None)
    if raw.empty or column is None:
        raise GeometryDataError(f"{path}: no features with a bydel code (property bydel or {', '.join(NUMBER_PROPERTIES)})")
    codes = [_bydel_code(v) for v in raw[column]]
    _check_bydeler(codes, path)
    keep = [c is not None for c in codes]
    if not any(keep):
        raise GeometryDataError(f"{path}: no bydel (six-digit code) in the file")
    raw = raw[keep]
    codes = [c for c in codes if c is not None]
    if raw.crs is None:
        raw = raw.set_crs(GEOMETRY_CRS)
    elif not raw.crs.equals(GEOMETRY_CRS):
        raw = raw.to_crs(GEOMETRY_CRS)
    geoms = _repair(np.asarray(raw.geometry.values, dtype=object))
    grouped: dict[str, list] = {}
    for code, geom in zip(codes, geoms):
        grouped.setdefault(code, []).append(geom)
    ordered = sorted(grouped)
    names = dict(zip(load_bydeler()["bydel"], load_bydeler()["bydelsnavn"]))
    return gpd.GeoDataFrame(
        {"bydel": ordered, "bydelsnavn": [names[c] for c in ordered], "kommunenummer": [c[:4] for c in ordered]},
        geometry=[g[0] if len(g) == 1 else _polygonal(shapely.union_all(g)) for g in (grouped[c] for c in ordered)],
        crs=GEOMETRY_CRS,
    )


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _normalise_number(value) -> str | None:
    if _is_missing(value):
        return None
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            return None
        value = int(value)
    text = str(value).strip()
    return text.zfill(4) if _NUMBER_RE.match(text) else None


def _read_covers(raw: gpd.GeoDataFrame, numbers: list[str], path: Path) -> list[set[str]]:
    if "covers" not in raw.columns:
        return [{n} for n in numbers]
    result = []
    for number, value in zip(numbers, raw["covers"]):
        if _is_missing(value) or str(value).strip() == "":
            result.append({number})
            continue
        parts = [_normalise_number(p) for p in str(value).split(",")]
        if any(p is None for p in parts):
            raise GeometryDataError(f"{path}: bad covers value {value!r} for kommune {number}")
        result.append(set(parts) | {number})
    return result


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    polys = [
        q
        for p in shapely.get_parts(geom)
        if p.geom_type in ("Polygon", "MultiPolygon")
        for q in shapely.get_parts(p)
        if not q.is_empty
    ]
    if not polys:
        return shapely.MultiPolygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _repair(geoms: np.ndarray) -> np.ndarray:
    out = geoms.copy()
    bad = ~shapely.is_valid(out)
    if bad.any():
        fixed = shapely.make_valid(out[bad], method="structure", keep_collapsed=False)
        out[bad] = [_polygonal(g) for g in fixed]
    non_polygonal = np.array([g.geom_type not in ("Polygon", "MultiPolygon") for g in out])
    if non_polygonal.any():
        out[non_polygonal] = [_polygonal(g) for g in out[non_polygonal]]
    return out


# --------------------------------------------------------------------------- notes


def _covers_sets(gdf: gpd.GeoDataFrame) -> list[set[str]]:
    if "covers" not in gdf.columns:
        return [{n} for n in gdf["kommunenummer"]]
    return [{c for c in str(v).split(",") if c} if not _is_missing(v) else set() for v in gdf["covers"]]


def kommuner_without_own_geometry(gdf: gpd.GeoDataFrame) -> list[str]:
    """Kommuner drawn only as part of another kommune's polygon (``['1580']`` for the bundled layer).

    These are numbers listed in some feature's ``covers`` without a feature of their own;
    empty for a complete 2024 boundary file.
    """
    own = set(gdf["kommunenummer"])
    covered = set().union(*_covers_sets(gdf)) if len(gdf) else set()
    return sorted(covered - own)


def geometry_notes(gdf: gpd.GeoDataFrame) -> list[str]:
    """Distinct non-empty ``geometry_note`` texts (Norwegian), to show next to a map."""
    if "geometry_note" not in gdf.columns:
        return []
    seen: dict[str, None] = {}
    for note in gdf["geometry_note"]:
        if not _is_missing(note) and str(note).strip():
            seen.setdefault(str(note), None)
    return list(seen)


# --------------------------------------------------------------------------- helsefellesskap


def helsefellesskap_geometry(kommuner_gdf: gpd.GeoDataFrame, mapping: pl.DataFrame) -> gpd.GeoDataFrame:
    """Dissolve kommuner into helsefellesskap: columns helsefellesskap_id, geometry (sorted by id).

    ``mapping`` needs kommunenummer and helsefellesskap_id (e.g. ``area_table()``). A polygon
    that covers several kommuner (Ålesund + Haram) must have them all in one helsefellesskap.
    """
    for column in ("kommunenummer", "helsefellesskap_id"):
        if column not in mapping.columns:
            raise GeometryDataError(f"helsefellesskap mapping: missing column {column}")
    hf_of = dict(zip(mapping["kommunenummer"].cast(pl.String), mapping["helsefellesskap_id"].cast(pl.String)))
    groups: dict[str, list] = {}
    problems: list[str] = []
    for number, cover, geom in zip(kommuner_gdf["kommunenummer"], _covers_sets(kommuner_gdf), kommuner_gdf.geometry):
        if number not in hf_of:
            problems.append(f"kommune {number} has no helsefellesskap")
            continue
        unmapped = sorted(c for c in cover if c not in hf_of)
        if unmapped:
            problems.append(f"kommune {number} covers {','.join(unmapped)}, which has no helsefellesskap")
            continue
        hf_ids = {hf_of[c] for c in cover | {number}}
        if len(hf_ids) > 1:
            problems.append(f"kommune {number} covers {','.join(sorted(cover))} in different helsefellesskap")
            continue
        groups.setdefault(hf_of[number], []).append(geom)
    if problems:
        raise GeometryDataError("helsefellesskap geometry: " + "; ".join(problems[:10]))

    all_geoms = np.asarray(kommuner_gdf.geometry.values, dtype=object)
    # coverage_union is exact and fast for a clean coverage (the bundled layer); other files
    # (official ones have tiny overlaps) go through the overlay union.
    exact = bool(len(all_geoms)) and bool(shapely.coverage_is_valid(all_geoms))
    ids = sorted(groups)
    dissolved = []
    for hf_id in ids:
        parts = np.asarray(groups[hf_id], dtype=object)
        geom = shapely.coverage_union_all(parts) if exact else shapely.union_all(parts)
        if not geom.is_valid:
            geom = _polygonal(shapely.make_valid(geom))
        dissolved.append(geom)
    return gpd.GeoDataFrame({"helsefellesskap_id": ids}, geometry=dissolved, crs=kommuner_gdf.crs)


SPLIT_AREA_ID = "_split"  # a kommune whose bydeler belong to different areas of the level (Oslo's hospital sectors)


def level_geometry(kommuner_gdf: gpd.GeoDataFrame, mapping: pl.DataFrame, column: str) -> gpd.GeoDataFrame:
    """Dissolve kommuner into the areas of any level given by ``column`` of ``mapping`` (one row per
    kommune, e.g. ``helseforetak_id``, ``sentralitet``, ``kostragruppe``): columns area_id, geometry.

    A polygon drawn for several kommuner (Ålesund with Haram, on the 2020 layer) goes to its own
    kommune's area, even where the kommuner it covers belong elsewhere (the map notes say so); a
    kommune without an area on the level (split into bydeler that belong to different areas) is
    drawn as ``SPLIT_AREA_ID``.
    """
    if "kommunenummer" not in mapping.columns or column not in mapping.columns:
        raise GeometryDataError(f"level mapping: missing column kommunenummer or {column}")
    area_of = {k: (a if a is not None else SPLIT_AREA_ID)
               for k, a in zip(mapping["kommunenummer"].cast(pl.String), mapping[column].cast(pl.String))}
    for number, cover in zip(kommuner_gdf["kommunenummer"], _covers_sets(kommuner_gdf)):
        for covered in cover:
            if number in area_of:
                area_of[covered] = area_of[number]
    frame = pl.DataFrame({"kommunenummer": list(area_of), "helsefellesskap_id": list(area_of.values())})
    return helsefellesskap_geometry(kommuner_gdf, frame).rename(columns={"helsefellesskap_id": "area_id"})


# --------------------------------------------------------------------------- pydeck helpers

_GEOMETRY_CACHE_MAX = 8192
# id(geometry) -> (geometry, GeoJSON dict). Shapely geometries are immutable and the cache
# keeps a reference, so an id cannot be reused while its entry exists.
_geometry_cache: dict[int, tuple[shapely.Geometry, dict]] = {}


def _geometry_mapping(geom: shapely.Geometry | None) -> dict | None:
    if geom is None:
        return None
    hit = _geometry_cache.get(id(geom))
    if hit is not None and hit[0] is geom:
        return hit[1]
    if len(_geometry_cache) >= _GEOMETRY_CACHE_MAX:
        _geometry_cache.clear()
    mapping = shapely.geometry.mapping(geom)
    _geometry_cache[id(geom)] = (geom, mapping)
    return mapping


def _plain(value):
    """pandas/numpy scalars to JSON-friendly Python values (NaN -> None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def to_geojson(
    gdf: gpd.GeoDataFrame,
    properties: pl.DataFrame | None = None,
    key: str = "kommunenummer",
    *,
    missing: dict | None = None,
) -> dict:
    """A GeoJSON FeatureCollection dict for ``pydeck.Layer("GeoJsonLayer", data=...)``.

    Each feature's ``properties`` hold the non-geometry columns of ``gdf`` plus the columns
    of ``properties`` joined on ``key`` (string comparison; e.g. indicator values and
    ``fill_color`` as ``[r, g, b, a]`` lists). Features whose key has no row in
    ``properties`` keep their geometry and get ``None`` for every joined column (overridden
    by ``missing``, e.g. ``{"fill_color": [200, 200, 200, 160]}`` to draw them grey), so
    suppressed or missing areas stay on the map.

    Geometry dicts are cached per geometry object and shared between calls: treat the
    result as read-only.
    """
    if key not in gdf.columns:
        raise KeyError(f"to_geojson: key column {key!r} not in the geometry frame")
    geometry_name = gdf.geometry.name
    base_columns = [c for c in gdf.columns if c != geometry_name]
    base_rows = [
        {c: _plain(v) for c, v in zip(base_columns, values)}
        for values in gdf[base_columns].itertuples(index=False, name=None)
    ]

    joined: dict[str, dict] = {}
    extra_columns: list[str] = []
    if properties is not None:
        if key not in properties.columns:
            raise KeyError(f"to_geojson: key column {key!r} not in properties")
        keyed = properties.with_columns(pl.col(key).cast(pl.String))
        duplicated = keyed.filter(pl.col(key).is_duplicated())[key].unique().to_list()
        if duplicated:
            raise ValueError(f"to_geojson: properties has duplicate {key}: {', '.join(map(str, duplicated[:10]))}")
        extra_columns = [c for c in keyed.columns if c != key]
        for row in keyed.iter_rows(named=True):
            k = row.pop(key)
            joined[k] = row
    unmatched = dict.fromkeys(extra_columns)
    if missing:
        unmatched.update(missing)

    features = []
    for base, geom in zip(base_rows, gdf.geometry.values):
        props = dict(base)
        if properties is not None:
            props.update(joined.get(str(base[key]), unmatched))
        features.append({"type": "Feature", "geometry": _geometry_mapping(geom), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def map_view_state(
    gdf: gpd.GeoDataFrame,
    *,
    width: int = 800,
    height: int = 600,
    padding: float = 0.05,
) -> dict:
    """``latitude``, ``longitude``, ``zoom`` (plus pitch/bearing 0) fitting ``gdf`` in a map of
    ``width`` x ``height`` pixels; pass as ``pydeck.ViewState(**map_view_state(gdf))``."""
    if gdf.empty:
        raise ValueError("map_view_state: empty geometry frame")
    frame = gdf if gdf.crs is None or gdf.crs.equals(GEOMETRY_CRS) else gdf.to_crs(GEOMETRY_CRS)
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    miny, maxy = max(miny, -85.0), min(maxy, 85.0)

    def merc_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    y0, y1 = merc_y(miny), merc_y(maxy)
    center_lat = math.degrees(2 * math.atan(math.exp((y0 + y1) / 2)) - math.pi / 2)
    lon_span = max(maxx - minx, 1e-6)
    y_span = max(y1 - y0, 1e-6)
    scale = 1 + 2 * padding
    # deck.gl's Web Mercator world is 512 px wide at zoom 0 (TILE_SIZE = 512).
    zoom_x = math.log2(width * 360.0 / (512.0 * lon_span * scale))
    zoom_y = math.log2(height * 2 * math.pi / (512.0 * y_span * scale))
    zoom = max(0.0, min(zoom_x, zoom_y, 20.0))
    return {
        "latitude": round(center_lat, 5),
        "longitude": round((minx + maxx) / 2, 5),
        "zoom": round(zoom, 2),
        "pitch": 0,
        "bearing": 0,
    }


__all__ = [
    "BUNDLED_GEOJSON",
    "GEOMETRY_CRS",
    "GeometryDataError",
    "geometry_notes",
    "helsefellesskap_geometry",
    "kommuner_without_own_geometry",
    "load_kommune_geometry",
    "map_view_state",
    "resolve_geometry_path",
    "to_geojson",
]
