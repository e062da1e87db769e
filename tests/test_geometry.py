"""Kommune boundaries: the bundled asset, the loader, the helsefellesskap dissolve and pydeck helpers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import pytest
import shapely

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # allow plain `pytest` without a project conftest
    sys.path.insert(0, str(PROJECT_ROOT))

from data_loaders.config import settings  # noqa: E402
from data_loaders.geometry import (  # noqa: E402
    BUNDLED_GEOJSON,
    GeometryDataError,
    geometry_notes,
    helsefellesskap_geometry,
    kommuner_without_own_geometry,
    load_kommune_geometry,
    map_view_state,
    resolve_geometry_path,
    to_geojson,
)
from data_loaders.reference import area_table, load_helsefellesskap, load_kommuner  # noqa: E402

OFFICIAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "geo"
OFFICIAL_2024 = OFFICIAL_DIR / "kommuner-2024-S.geojson"
METRIC_CRS = "EPSG:25833"
HARAM, ALESUND = "1580", "1508"

# Neighbours that share a land border in the source (number pairs, 2024 numbering).
NEIGHBOURS = [
    ("0301", "3201"),  # Oslo / Bærum
    ("5501", "5532"),  # Tromsø / Balsfjord
    ("4601", "4624"),  # Bergen / Bjørnafjorden
    ("5001", "5028"),  # Trondheim / Melhus
    ("4204", "4223"),  # Kristiansand / Vennesla
]


@pytest.fixture(scope="module")
def bundled() -> gpd.GeoDataFrame:
    return load_kommune_geometry(BUNDLED_GEOJSON)


@pytest.fixture(scope="module")
def bundled_metric(bundled) -> gpd.GeoDataFrame:
    return bundled.to_crs(METRIC_CRS)


@pytest.fixture()
def clean_settings(monkeypatch, tmp_path):
    """Settings from defaults only (no env override, no styring.toml), re-read before and after."""
    monkeypatch.delenv("STYRING_KOMMUNE_GEOJSON", raising=False)
    monkeypatch.setenv("STYRING_CONFIG", str(tmp_path / "no-such-styring.toml"))
    settings.cache_clear()
    yield monkeypatch
    settings.cache_clear()


def _interior_rings(geom) -> list[shapely.Polygon]:
    return [
        shapely.Polygon(shapely.get_interior_ring(part, i))
        for part in shapely.get_parts(geom)
        for i in range(shapely.get_num_interior_rings(part))
    ]


# --------------------------------------------------------------------------- bundled asset


def test_bundled_asset_is_small_enough():
    size = BUNDLED_GEOJSON.stat().st_size
    assert size < 1_500_000, f"{BUNDLED_GEOJSON} is {size} bytes"


def test_bundled_asset_is_plain_rfc7946_geojson():
    data = json.loads(BUNDLED_GEOJSON.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 356
    props = data["features"][0]["properties"]
    assert set(props) == {"kommunenummer", "kommunenavn", "covers", "geometry_note"}
    assert all(isinstance(f["properties"]["kommunenummer"], str) for f in data["features"])


def test_bundled_layer_has_every_2024_kommune_but_haram(bundled):
    assert len(bundled) == 356
    assert bundled.crs.equals("EPSG:4326")
    assert list(bundled.columns) == ["kommunenummer", "kommunenavn", "covers", "geometry_note", "geometry"]
    numbers = list(bundled["kommunenummer"])
    assert len(set(numbers)) == len(numbers), "a kommune has more than one feature"
    expected = set(load_kommuner()["kommunenummer"])
    assert set(numbers) == expected - {HARAM}
    names = dict(zip(load_kommuner()["kommunenummer"], load_kommuner()["kommunenavn"]))
    assert all(names[n] == name for n, name in zip(bundled["kommunenummer"], bundled["kommunenavn"]))
    assert kommuner_without_own_geometry(bundled) == [HARAM]


def test_haram_is_covered_by_alesund_with_a_visible_note(bundled):
    alesund = bundled.set_index("kommunenummer").loc[ALESUND]
    assert alesund["covers"] == f"{ALESUND},{HARAM}"
    assert "Haram" in alesund["geometry_note"] and "2024" in alesund["geometry_note"]
    others = bundled[bundled["kommunenummer"] != ALESUND]
    assert (others["covers"] == others["kommunenummer"]).all()
    assert (others["geometry_note"] == "").all()
    assert geometry_notes(bundled) == [alesund["geometry_note"]]


def test_bundled_geometries_are_valid_polygons_in_norway(bundled):
    assert bundled.is_valid.all()
    assert not bundled.is_empty.any()
    assert set(bundled.geom_type) <= {"Polygon", "MultiPolygon"}
    minx, miny, maxx, maxy = bundled.total_bounds
    assert 4 < minx < 5.5 and 30.5 < maxx < 31.5 and 57.5 < miny < 58.2 and 70.9 < maxy < 71.5


def test_coordinates_are_rounded_to_four_decimals(bundled):
    coords = shapely.get_coordinates(bundled.geometry.values)
    assert np.allclose(coords, np.round(coords, 4), atol=1e-12, rtol=0)


def test_neighbours_share_borders_without_overlap(bundled_metric):
    by_number = bundled_metric.set_index("kommunenummer").geometry
    for a, b in NEIGHBOURS:
        shared = by_number[a].intersection(by_number[b])
        assert shared.area < 1.0, f"{a}/{b} overlap by {shared.area:.1f} m²"
        assert shared.length > 1_000, f"{a}/{b} should share a border, shared length {shared.length:.0f} m"


def test_layer_is_a_valid_coverage_without_slivers(bundled_metric):
    geoms = np.asarray(bundled_metric.geometry.values, dtype=object)
    # Non-overlapping, edge-matched, and no gap narrower than 50 m between neighbours.
    assert shapely.coverage_is_valid(geoms, gap_width=50.0)


def test_fylke_unions_have_no_overlaps_or_sliver_gaps(bundled_metric):
    fylke = bundled_metric["kommunenummer"].map(
        dict(zip(load_kommuner()["kommunenummer"], load_kommuner()["fylkesnummer"]))
    )
    assert fylke.notna().all()
    for fylkesnummer, group in bundled_metric.groupby(fylke):
        union = shapely.coverage_union_all(np.asarray(group.geometry.values, dtype=object))
        assert union.is_valid
        # union area == sum of areas: no overlaps within the fylke
        assert union.area == pytest.approx(group.area.sum(), rel=1e-9), fylkesnummer
        # holes in the union are enclosed sea inlets (>= 0.05 km², as in the source), never
        # slivers left between neighbours
        for ring in _interior_rings(union):
            assert ring.area > 50_000, f"fylke {fylkesnummer}: small hole of {ring.area:.0f} m²"


# --------------------------------------------------------------------------- helsefellesskap


def test_helsefellesskap_dissolve_gives_19_non_overlapping_areas(bundled, bundled_metric):
    hf = helsefellesskap_geometry(bundled, area_table())
    assert list(hf.columns) == ["helsefellesskap_id", "geometry"]
    assert len(hf) == 19
    assert set(hf["helsefellesskap_id"]) == set(load_helsefellesskap()["helsefellesskap_id"])
    assert hf.crs.equals("EPSG:4326")
    assert hf.is_valid.all()
    metric = hf.to_crs(METRIC_CRS)
    tree = shapely.STRtree(metric.geometry.values)
    left, right = tree.query(metric.geometry.values, predicate="intersects")
    for i, j in zip(left, right):
        if i < j:
            overlap = metric.geometry.iloc[i].intersection(metric.geometry.iloc[j]).area
            assert overlap < 1.0, (metric["helsefellesskap_id"].iloc[i], metric["helsefellesskap_id"].iloc[j])
    assert metric.area.sum() == pytest.approx(bundled_metric.area.sum(), rel=1e-9)
    for hf_id, geom in zip(metric["helsefellesskap_id"], metric.geometry):
        for ring in _interior_rings(geom):
            assert ring.area > 50_000, f"{hf_id}: small hole of {ring.area:.0f} m²"


def test_helsefellesskap_dissolve_rejects_a_cover_split_across_helsefellesskap(bundled):
    mapping = area_table().select("kommunenummer", "helsefellesskap_id")
    mapping = mapping.with_columns(
        pl.when(pl.col("kommunenummer") == HARAM)
        .then(pl.lit("other-hf"))
        .otherwise(pl.col("helsefellesskap_id"))
        .alias("helsefellesskap_id")
    )
    with pytest.raises(GeometryDataError, match=ALESUND):
        helsefellesskap_geometry(bundled, mapping)


# --------------------------------------------------------------------------- pydeck helpers


def test_to_geojson_joins_properties_and_keeps_unmatched_features(bundled):
    props = pl.DataFrame(
        {
            "kommunenummer": ["0301", "4601"],
            "value": [12.5, 7.0],
            "fill_color": [[255, 0, 0, 200], [0, 0, 255, 200]],
        }
    )
    fc = to_geojson(bundled, props)
    assert fc["type"] == "FeatureCollection"
    assert len(fc["features"]) == len(bundled)
    by_number = {f["properties"]["kommunenummer"]: f for f in fc["features"]}
    assert by_number["0301"]["properties"]["value"] == 12.5
    assert by_number["0301"]["properties"]["fill_color"] == [255, 0, 0, 200]
    assert by_number["0301"]["properties"]["kommunenavn"] == "Oslo"
    unmatched = by_number["5001"]
    assert unmatched["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert unmatched["properties"]["value"] is None and unmatched["properties"]["fill_color"] is None
    assert all(f["geometry"] is not None for f in fc["features"])
    json.dumps(fc)  # serialisable for pydeck

    grey = [200, 200, 200, 160]
    with_default = to_geojson(bundled, props, missing={"fill_color": grey})
    defaults = {f["properties"]["kommunenummer"]: f["properties"] for f in with_default["features"]}
    assert defaults["5001"]["fill_color"] == grey and defaults["5001"]["value"] is None
    assert defaults["0301"]["fill_color"] == [255, 0, 0, 200]
    # a mutated result must not leak into the next call
    defaults["0301"]["value"] = -1
    assert to_geojson(bundled, props)["features"][0]["properties"]["value"] == 12.5


def test_to_geojson_reuses_geometry_and_needs_unique_keys(bundled):
    a = to_geojson(bundled)
    b = to_geojson(load_kommune_geometry(BUNDLED_GEOJSON), pl.DataFrame({"kommunenummer": ["0301"], "x": [1]}))
    assert a["features"][0]["geometry"] is b["features"][0]["geometry"]
    assert "x" not in a["features"][0]["properties"]
    with pytest.raises(ValueError, match="duplicate"):
        to_geojson(bundled, pl.DataFrame({"kommunenummer": ["0301", "0301"], "x": [1, 2]}))


def test_to_geojson_on_helsefellesskap_key(bundled):
    hf = helsefellesskap_geometry(bundled, area_table())
    props = pl.DataFrame({"helsefellesskap_id": ["bergen"], "value": [3]})
    fc = to_geojson(hf, props, key="helsefellesskap_id")
    values = {f["properties"]["helsefellesskap_id"]: f["properties"]["value"] for f in fc["features"]}
    assert values["bergen"] == 3 and values["agder"] is None and len(values) == 19


def test_map_view_state_fits_the_bounds(bundled):
    norway = map_view_state(bundled)
    assert 62 < norway["latitude"] < 68 and 15 < norway["longitude"] < 20
    assert 2.5 < norway["zoom"] < 5
    oslo = map_view_state(bundled[bundled["kommunenummer"] == "0301"])
    assert 59.8 < oslo["latitude"] < 60.1 and 10.5 < oslo["longitude"] < 11.0
    assert oslo["zoom"] > norway["zoom"] + 4


# --------------------------------------------------------------------------- other files


def _write(path: Path, features: list[dict], crs: str | None = None) -> Path:
    data = {"type": "FeatureCollection", "features": features}
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _bundled_features() -> list[dict]:
    return json.loads(BUNDLED_GEOJSON.read_text(encoding="utf-8"))["features"]


def test_accepts_kommunenr_as_integer_and_reprojects(tmp_path):
    features = _bundled_features()
    for f in features:
        props = f["properties"]
        f["properties"] = {"kommunenr": int(props["kommunenummer"]), "navn": "x", "covers": props["covers"]}
    path = _write(tmp_path / "kommuner_int.geojson", features)
    loaded = load_kommune_geometry(path)
    assert len(loaded) == 356 and loaded["kommunenummer"].iloc[0] == "0301"
    assert loaded.set_index("kommunenummer").loc["0301", "kommunenavn"] == "Oslo"
    assert kommuner_without_own_geometry(loaded) == [HARAM]

    utm = gpd.read_file(BUNDLED_GEOJSON).to_crs(METRIC_CRS)
    utm_path = tmp_path / "kommuner_utm.geojson"
    utm.to_file(utm_path, driver="GeoJSON")
    reprojected = load_kommune_geometry(utm_path)
    assert reprojected.crs.equals("EPSG:4326")
    assert np.allclose(reprojected.total_bounds, loaded.total_bounds, atol=1e-6)


def test_missing_number_property_names_the_file(tmp_path):
    features = _bundled_features()[:3]
    for f in features:
        f["properties"] = {"navn": f["properties"]["kommunenavn"]}
    path = _write(tmp_path / "uten_nummer.geojson", features)
    with pytest.raises(GeometryDataError, match="uten_nummer.geojson.*kommunenummer"):
        load_kommune_geometry(path)


def test_unknown_number_names_the_file_and_the_number(tmp_path):
    features = _bundled_features()
    features[0]["properties"]["kommunenummer"] = "1507"  # Ålesund's 2020 number
    path = _write(tmp_path / "gamle_nummer.geojson", features)
    with pytest.raises(GeometryDataError, match=r"gamle_nummer\.geojson.*1507"):
        load_kommune_geometry(path)


def test_kommune_without_geometry_names_the_file(tmp_path):
    features = _bundled_features()
    for f in features:  # without covers nothing says that 1508 also stands for Haram
        del f["properties"]["covers"]
    path = _write(tmp_path / "uten_haram.geojson", features)
    with pytest.raises(GeometryDataError, match=r"uten_haram\.geojson.*1580"):
        load_kommune_geometry(path)


def test_unreadable_or_absent_file_names_the_file(tmp_path):
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(GeometryDataError, match="broken.geojson"):
        load_kommune_geometry(broken)
    with pytest.raises(GeometryDataError, match="finnes_ikke.geojson"):
        load_kommune_geometry(tmp_path / "finnes_ikke.geojson")


def test_default_path_is_the_bundled_asset(clean_settings):
    assert resolve_geometry_path() == BUNDLED_GEOJSON.resolve()
    assert len(load_kommune_geometry()) == 356


@pytest.fixture()
def official_2024() -> Path:
    if not OFFICIAL_2024.is_file():
        pytest.skip(f"official 2024 kommune file not available at {OFFICIAL_2024}")
    return OFFICIAL_2024


def test_official_2024_file(official_2024):
    gdf = load_kommune_geometry(official_2024)
    assert len(gdf) == 357
    assert set(gdf["kommunenummer"]) == set(load_kommuner()["kommunenummer"])
    assert kommuner_without_own_geometry(gdf) == []
    assert geometry_notes(gdf) == []
    assert gdf.crs.equals("EPSG:4326")
    assert gdf.is_valid.all()
    hf = helsefellesskap_geometry(gdf, area_table())
    assert len(hf) == 19 and hf.is_valid.all()


def test_official_2024_file_via_environment(official_2024, clean_settings):
    clean_settings.setenv("STYRING_KOMMUNE_GEOJSON", str(official_2024))
    settings.cache_clear()
    assert resolve_geometry_path() == official_2024.resolve()
    gdf = load_kommune_geometry()
    assert len(gdf) == 357
    assert kommuner_without_own_geometry(gdf) == []


def test_an_imported_geometry_file_is_used_when_nothing_else_is_set(tmp_path, monkeypatch):
    """`import --format geometry` records the file in the store; the loader then reads it."""
    from data_loaders import store
    from data_loaders.config import settings as app_settings
    from data_loaders.geometry import resolve_geometry_path

    if not OFFICIAL_2024.is_file():
        pytest.skip(f"official 2024 kommune file not available at {OFFICIAL_2024}")
    official = OFFICIAL_2024
    url = f"sqlite:///{tmp_path / 'geo.sqlite'}"
    engine = store.get_engine(url)
    store.create_schema(engine)
    with engine.begin() as conn:
        store.set_app_setting(conn, "kommune_geojson", str(official))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("STYRING_KOMMUNE_GEOJSON", raising=False)
    app_settings.cache_clear()
    try:
        assert resolve_geometry_path() == official.resolve()
        assert kommuner_without_own_geometry(load_kommune_geometry()) == []
    finally:
        app_settings.cache_clear()


# --- issue 14: a bydel layer -------------------------------------------------------------------------

def _square(x0: float, y0: float, size: float = 0.05) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size],
                                                [x0, y0 + size], [x0, y0]]]}


def test_a_tiny_bydel_layer_is_read_with_names_from_the_reference(tmp_path):
    from data_loaders.geometry import load_bydel_geometry

    features = [
        {"type": "Feature", "properties": {"bydel": "030110"}, "geometry": _square(10.85, 59.95)},  # Grorud
        {"type": "Feature", "properties": {"bydel": "030111"}, "geometry": _square(10.90, 59.95)},  # Stovner
        {"type": "Feature", "properties": {"bydel": "030111"}, "geometry": _square(10.95, 59.95)},  # Stovner, 2nd part
    ]
    loaded = load_bydel_geometry(_write(tmp_path / "bydeler.geojson", features))
    assert loaded["bydel"].tolist() == ["030110", "030111"]
    assert loaded["bydelsnavn"].tolist() == ["Grorud", "Stovner"]
    assert set(loaded["kommunenummer"]) == {"0301"}
    # Stovner's two squares are unioned: twice Grorud's area.
    areas = loaded.to_crs(METRIC_CRS).area.tolist()
    assert areas[1] == pytest.approx(2 * areas[0], rel=0.02)


def test_unknown_bydel_code_names_the_file_and_the_code(tmp_path):
    from data_loaders.geometry import load_bydel_geometry

    features = [{"type": "Feature", "properties": {"bydel": "030198"}, "geometry": _square(10.8, 59.9)}]
    with pytest.raises(GeometryDataError, match="bydeler_feil.geojson.*030198"):
        load_bydel_geometry(_write(tmp_path / "bydeler_feil.geojson", features))
    plain = [{"type": "Feature", "properties": {"kommunenummer": "0301"}, "geometry": _square(10.8, 59.9)}]
    with pytest.raises(GeometryDataError, match="no bydel"):
        load_bydel_geometry(_write(tmp_path / "bare_kommune.geojson", plain))


def test_kommune_layer_with_oslo_as_bydeler_unions_them_into_oslo(tmp_path):
    """A user's layer with Oslo drawn as bydeler: the kommune map still has Oslo (the bydeler unioned),
    and the bydel loader gives the bydeler."""
    from shapely.geometry import box, mapping, shape

    from data_loaders.geometry import load_bydel_geometry

    features = _bundled_features()
    oslo = next(f for f in features if f["properties"]["kommunenummer"] == "0301")
    geom = shape(oslo["geometry"])
    minx, miny, maxx, maxy = geom.bounds
    middle = (minx + maxx) / 2
    west = geom.intersection(box(minx - 1, miny - 1, middle, maxy + 1))
    east = geom.intersection(box(middle, miny - 1, maxx + 1, maxy + 1))
    features = [f for f in features if f is not oslo] + [
        {"type": "Feature", "properties": {"kommunenummer": "030107"}, "geometry": mapping(west)},  # Vestre Aker
        {"type": "Feature", "properties": {"kommunenummer": "030111"}, "geometry": mapping(east)},  # Stovner
    ]
    path = _write(tmp_path / "kommuner_og_bydeler.geojson", features)
    kommuner = load_kommune_geometry(path)
    assert len(kommuner) == 356
    unioned = kommuner.set_index("kommunenummer").loc["0301", "geometry"]
    assert unioned.area == pytest.approx(geom.area, rel=1e-6)
    bydeler = load_bydel_geometry(path)
    assert bydeler["bydelsnavn"].tolist() == ["Vestre Aker", "Stovner"]
