"""Scaled synthetic stores for bench_scale.py: the demo data × 3, × 10, × 30, × 100 in rows.

The store's age bands are fixed (``data_loaders.schema.AGE_BANDS``, 22 bands; finer bands
would need a schema change), so the rows grow along the three other axes:

- more years, back in time (the generator's trends and ageing run backwards from 2024);
- more area units: the store's units are ``reference.unit_table()`` (every unsplit kommune and
  Oslo's 18 bydeler, as in the demo); the districts mode also splits Bergen, Trondheim and
  Stavanger into their bydeler (19 units instead of 3), with six-digit codes in SSB's form
  (460101 …, each with its own synthetic numbers) in the store's bydel table, each under its
  kommune and in its kommune's helseforetak area, so the kommune level keeps its 357 kommuner
  and every level above still adds up (390 units instead of 374);
- synthetic copies of the register measures (new ids, so new random draws) and of the
  indicators built on them, in a copy of the catalogue written beside the store.

Everything comes from the demo generator (``data_loaders.demo.generate``) with modified
parameters and areas; the rows are written with ``store.insert_rows`` (executemany on the raw
SQLite cursor) with the journal and fsync switched off while building, since a failed build
is simply rebuilt.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl
import yaml
from _common import (
    GENERATOR_INPUTS,
    ROOT,
    STORE_DIR,
    cached_store,
    fingerprint,
    sqlite_url,
)

# Kommuner split into synthetic bydeler in the districts mode (Oslo is split in the reference already).
CITY_DISTRICTS = {
    "4601": ("Arna", "Bergenhus", "Fana", "Fyllingsdalen", "Laksevåg", "Ytrebygda", "Årstad", "Åsane"),
    "5001": ("Midtbyen", "Østbyen", "Lerkendal", "Heimdal"),
    "1103": ("Hundvåg", "Tasta", "Eiganes og Våland", "Storhaug", "Hillevåg", "Hinna", "Madla"),
}
# Measures the generator treats specially (by id, or by reference to each other): not copied.
NOT_COPIED = {"npr_behovskartlegging_sp1", "lokal_behovskartlegging_sp2", "lokal_behovskartlegging_sp3"}
LAST_YEAR = 2025


@dataclass(frozen=True)
class Scale:
    factor: int  # nominal: rows ≈ factor × the demo store's
    first_year: int  # years first_year..2025 (the demo has 2019..2025)
    districts: bool
    copies: int  # synthetic copies of every register measure and its indicators


SCALES = {
    1: Scale(1, 2019, False, 0),
    3: Scale(3, 2005, True, 0),
    10: Scale(10, 2005, True, 2),
    30: Scale(30, 1991, True, 5),
    100: Scale(100, 1991, True, 17),
}


def copy_id(name: str, k: int) -> str:
    return f"{name}__kopi{k}"


def scaled_bydeler(districts: bool) -> pl.DataFrame:
    """The store's bydel table: the reference's (Oslo), plus Bergen's, Trondheim's and Stavanger's
    synthetic bydeler in the districts mode (each in its kommune's helseforetak area)."""
    from data_loaders import reference

    bydeler = reference.load_bydeler()
    if not districts:
        return bydeler
    areas = reference.area_table()
    hf_of = dict(zip(areas["kommunenummer"], areas["helseforetak_id"]))
    taken = set(bydeler["bydel"])
    rows = []
    for kommune, names in CITY_DISTRICTS.items():
        assert hf_of.get(kommune), kommune  # a kommune split here must lie in one helseforetak area
        for i, name in enumerate(names, start=1):
            code = f"{kommune}{i:02d}"  # six digits, starting with the kommunenummer (SSB's form)
            assert code not in taken, code
            rows.append({"bydel": code, "bydelsnavn": name, "kommunenummer": kommune,
                         "helseforetak_id": hf_of[kommune], "source": "Syntetisk bydel (ytelsestest)"})
    return pl.concat([bydeler, pl.DataFrame(rows, schema=bydeler.schema)]).sort("bydel")


def scaled_units(districts: bool) -> pl.DataFrame:
    """One row per area unit of the scaled store (``reference.build_units``), its code in
    ``kommunenummer`` as the generator expects."""
    from data_loaders import reference

    return reference.build_units(reference.area_table(), scaled_bydeler(districts)).with_columns(
        pl.col("unit").alias("kommunenummer"))


def scaled_parameters(scale: Scale, k: int) -> dict:
    """Generator parameters for the originals (k = 0) or copy k of the register measures."""
    from data_loaders.demo import load_parameters

    params = copy.deepcopy(load_parameters())
    params["years"] = list(range(scale.first_year, LAST_YEAR + 1))
    if k > 0:
        measures = {}
        for measure_id, spec in params["measures"].items():
            if measure_id in NOT_COPIED:
                continue
            spec = dict(spec)
            if spec.get("of"):
                spec["of"] = copy_id(spec["of"], k)
            measures[copy_id(measure_id, k)] = spec
        params["measures"] = measures
    return params


def scaled_catalogue(scale: Scale, folder: Path) -> Path:
    """The catalogue with ``scale.copies`` copies of every indicator on copied measures."""
    raw = yaml.safe_load((ROOT / "indicators" / "catalogue.yaml").read_text(encoding="utf-8"))
    measures = {m["id"]: m for m in raw["measures"]}
    copied = [m for m in measures if m not in NOT_COPIED]
    indicators = list(raw["indicators"])
    for k in range(1, scale.copies + 1):
        for measure_id in copied:
            entry = dict(measures[measure_id], id=copy_id(measure_id, k))
            entry["name"] = f"{entry['name']} (syntetisk kopi {k})"
            raw["measures"].append(entry)
        for ind in indicators:
            terms = [ind["numerator"].get("measure"), ind["denominator"].get("measure")]
            if any(t in NOT_COPIED for t in terms if t):
                continue
            entry = copy.deepcopy(ind)
            entry["id"] = copy_id(ind["id"], k)
            entry["name"] = f"{ind['name']} (syntetisk kopi {k})"
            entry["short_name"] = f"{ind.get('short_name', ind['name'])} ({k})"
            for term in ("numerator", "denominator"):
                if entry[term].get("measure"):
                    entry[term]["measure"] = copy_id(entry[term]["measure"], k)
            raw["indicators"].append(entry)
    path = folder / f"catalogue-{scale.factor}x.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def build_scaled_store(path: Path, scale: Scale) -> dict:
    """Write the scaled store to ``path``; returns what it holds (rows, years, areas, measures)."""
    from data_loaders import reference, schema, store
    from data_loaders.demo import DEMO_DATASET_ID, generate

    units = scaled_units(scale.districts)
    extras = reference.extra_reference_frames() | {"bydeler": scaled_bydeler(scale.districts)}
    url = sqlite_url(path)
    engine = store.get_engine(url)
    store.create_schema(engine)
    tag = pl.lit(DEMO_DATASET_ID).alias("dataset_id")
    rows = {"population": 0, "event_count": 0, "measure_coverage": 0}
    measures = 0
    with engine.connect() as conn:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144", "foreign_keys=OFF"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
        conn.commit()
        store.write_reference(conn, *reference.reference_frames(), extras=extras)
        store.upsert_dataset(
            conn, DEMO_DATASET_ID, source="Syntetiske ytelsestestdata (generert)",
            description=f"Demodata skalert {scale.factor}× for ytelsestest: {json.dumps(asdict(scale))}",
            extraction_date="2026-06-30", synthetic=True, row_count=0,
        )
        for k in range(scale.copies + 1):
            data = generate(scaled_parameters(scale, k), units)
            if k == 0:
                rows["population"] += store.insert_rows(conn, schema.population, data.population.with_columns(tag))
            rows["event_count"] += store.insert_rows(conn, schema.event_count, data.counts.with_columns(tag))
            rows["measure_coverage"] += store.insert_rows(conn, schema.measure_coverage, data.coverage.with_columns(tag))
            measures += data.coverage["measure_id"].n_unique()
            del data
        d = schema.dataset
        conn.execute(d.update().values(row_count=sum(rows.values())))
        conn.commit()
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    store.dispose_engines()
    return {"rows": sum(rows.values()), "by_table": rows, "years": LAST_YEAR - scale.first_year + 1,
            "areas": units.height, "measures": measures}


def _key(factor: int) -> str:
    return fingerprint((*GENERATOR_INPUTS, "bench/scale_data.py"), asdict(SCALES[factor]))


def is_cached(factor: int) -> bool:
    return (STORE_DIR / f"scale-{factor}x-{_key(factor)}.sqlite").is_file()


def scaled_store(factor: int) -> tuple[Path, dict, float | None]:
    """The cached store of one scale factor: (path, what it holds, build seconds or None if cached)."""
    scale = SCALES[factor]
    key = _key(factor)
    meta = STORE_DIR / f"scale-{factor}x-{key}.json"

    def build(partial: Path) -> None:
        meta.write_text(json.dumps(build_scaled_store(partial, scale)), encoding="utf-8")

    path, seconds = cached_store(f"scale-{factor}x", key, build)
    return path, json.loads(meta.read_text(encoding="utf-8")), seconds
