"""Helseatlas import: SKDE's published rates per opptaksområde become published indicators.

The real files in ../shared/real/helseatlas are read when present (skipped otherwise): every
imported rate is compared with the JSON's own numbers, found here independently of the
importer (the map items' value keys, a hand-written list of SKDE's 21 area names). Small
files of our own cover the error paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from conftest import SHARED_DIR
from data_loaders import schema, store
from data_loaders.importers import ImportValidationError, import_files, init_store
from indicators import data, engine, published
from indicators.periods import Period

ATLAS_ROOT = SHARED_DIR / "real" / "helseatlas" / "data"  # the tests that read it skip when it is absent
# SKDE's 21 opptaksområder as the atlases name them -> the product's helseforetak ids.
HF_IDS = {
    "Finnmark": "finnmark", "UNN": "troms-ofoten", "Nordland": "nordland", "Helgeland": "helgeland",
    "Nord-Trøndelag": "nord-trondelag", "St. Olav": "st-olav", "Møre og Romsdal": "more-romsdal", "Førde": "forde",
    "Bergen": "bergen", "Fonna": "fonna", "Stavanger": "stavanger", "Østfold": "ostfold", "Akershus": "ahus",
    "OUS": "ous", "Lovisenberg": "lovisenberg", "Diakonhjemmet": "diakonhjemmet", "Innlandet": "innlandet",
    "Vestre Viken": "vestre-viken", "Vestfold": "vestfold", "Telemark": "telemark", "Sørlandet": "agder",
}


def _empty_store(path: Path) -> str:
    url = f"sqlite:///{path}"
    init_store(store.get_engine(url))
    return url


def _published_rows(url: str) -> pl.DataFrame:
    engine = store.get_engine(url)
    return store.read_frame(engine, sa.select(schema.published_value), {"value": pl.Float64, "year_start": pl.Int32,
                                                                         "year_end": pl.Int32})


def _indicator_ids(url: str) -> dict[str, str]:
    """file name -> dataset id of the imported files."""
    rows = store.load_datasets(store.get_engine(url))
    return dict(zip(rows["file_name"].to_list(), rows["dataset_id"].to_list()))


# --- the real atlas files -----------------------------------------------------------------


@pytest.fixture(scope="module")
def psyk2_store(tmp_path_factory) -> str:
    if not ATLAS_ROOT.is_dir():
        pytest.skip("../shared/real/helseatlas is not present")
    url = _empty_store(tmp_path_factory.mktemp("atlas") / "atlas.sqlite")
    files = sorted((ATLAS_ROOT / "psyk2").glob("*.json"))
    summary = import_files(files, "helseatlas", database_url=url)
    assert summary.rows_written > 0
    return url


def _map_keys(doc: dict) -> dict[str, list[str]]:
    """data label -> the value keys its map items show (read here without the importer)."""
    keys: dict[str, list[str]] = {}
    for item in doc["innhold"]:
        if item.get("type") == "map" and isinstance(item.get("x"), str):
            keys.setdefault(item["data"], []).append(item["x"])
    return keys


def test_every_imported_hf_rate_equals_the_file(psyk2_store):
    values = _published_rows(psyk2_store)
    datasets = _indicator_ids(psyk2_store)
    checked = 0
    for path in sorted((ATLAS_ROOT / "psyk2").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        blocks = {item["label"]: item for item in doc["innhold"] if item.get("type") == "data"}
        for label, keys in _map_keys(doc).items():
            rows = [r for r in blocks[label]["data"] if r.get("area") in HF_IDS]
            if len(rows) != 21:
                continue  # DPS areas: not a level of the product
            mine = values.filter(pl.col("dataset_id") == datasets[path.name])
            for key in keys:
                if not any(key in r for r in rows):
                    continue  # a chart pointing at a key the data block lacks (a draft file)
                stored = mine.filter(pl.col("indicator_id").str.ends_with("_" + key.lower().replace(".", "_"))
                                     & (pl.col("level") == "helseforetak") & (pl.col("year_start") < pl.col("year_end")))
                got = dict(zip(stored["area_id"].to_list(), stored["value"].to_list()))
                for row in rows:
                    assert got[HF_IDS[row["area"]]] == pytest.approx(row[key]), (path.name, key, row["area"])
                    checked += 1
    assert checked > 21 * 50  # dozens of indicators, every area


def test_national_row_and_yearly_values(psyk2_store):
    doc = json.loads((ATLAS_ROOT / "psyk2" / "adhd_pol.json").read_text(encoding="utf-8"))
    rows = next(i for i in doc["innhold"] if i.get("type") == "data")["data"]
    key = data.current_key(psyk2_store)
    ind_id = "skde_psyk2_adhd_pol_snitt_rate"
    assert engine.available_years(ind_id, key) == [2020, 2021, 2022, 2023, 2024]
    assert engine.pooled_periods(ind_id, key) == [Period(2020, 2024)]
    land = engine.compute(ind_id, "land", period=Period(2020, 2024), key=key)
    noreg = next(r for r in rows if r["area"] == "Noreg")
    assert land["value"].to_list() == [pytest.approx(noreg["Snitt_rate"])]
    yearly = engine.compute(ind_id, "helseforetak", key=key)
    bergen = next(r for r in rows if r["area"] == "Bergen")
    got = dict(zip(yearly.filter(pl.col("area_id") == "bergen")["year_start"].to_list(),
                   yearly.filter(pl.col("area_id") == "bergen")["value"].to_list()))
    assert got == {y: pytest.approx(bergen[f"Rate.{y}"]) for y in range(2020, 2025)}


def test_compute_has_the_engine_shape_with_the_publishers_interval(psyk2_store):
    key = data.current_key(psyk2_store)
    table = engine.compute("skde_psyk2_adhd_pol_snitt_rate", "helseforetak", period=Period(2020, 2024), key=key)
    assert list(table.columns) == list(engine.OUTPUT_COLUMNS)
    assert table.height == 21
    doc = json.loads((ATLAS_ROOT / "psyk2" / "adhd_pol.json").read_text(encoding="utf-8"))
    rows = {r["area"]: r for r in next(i for i in doc["innhold"] if i.get("type") == "data")["data"]}
    for row in table.iter_rows(named=True):
        src = rows[row["area_name"]]  # the product's names of the 21 areas are SKDE's
        assert (row["lower_95"], row["upper_95"]) == (pytest.approx(src["lowercl"]), pytest.approx(src["uppercl"]))
        national = rows["Noreg"]["Snitt_rate"]
        expected = "higher" if src["lowercl"] > national else "lower" if src["uppercl"] < national else "similar"
        assert row["significance"] == expected
        assert "Publisert av SKDE" in row["method"]


def test_catalogue_lists_published_beside_computed(psyk2_store):
    from indicators.catalogue import load_catalogue

    key = data.current_key(psyk2_store)
    merged = published.with_published(load_catalogue(), key)
    ind = merged.indicator("skde_psyk2_adhd_pol_snitt_rate")
    assert ind.is_published and ind.published_by == "Publisert av SKDE"
    assert ind.group == "psykisk_helse_rus" and ind.level == "helseforetak"
    assert ind.unit_label == "per 10 000 innbyggere"
    assert any(not i.is_published for i in merged.indicators)


def test_other_area_sets_are_fylke_or_skipped(tmp_path):
    if not ATLAS_ROOT.is_dir():
        pytest.skip("../shared/real/helseatlas is not present")
    url = _empty_store(tmp_path / "barn.sqlite")
    fylke_file = ATLAS_ROOT / "barn2025" / "aad_rb1_tot_fylke.json"
    barn_file = ATLAS_ROOT / "barn2025" / "aad_rb1_tot.json"
    summary = import_files([fylke_file, barn_file], "helseatlas", database_url=url)
    notes = {f.file: " ".join(f.notes) for f in summary.files}
    assert "19 områder" in notes[barn_file.name] and "hoppet over" in notes[barn_file.name]
    values = _published_rows(url)
    assert set(values["level"].unique().to_list()) == {"fylke", "land"}
    assert values.filter(pl.col("level") == "fylke")["area_id"].n_unique() == 15


# --- error paths with files of our own ---------------------------------------------------------


def _atlas(rows: list[dict], **extra) -> dict:
    return {"innhold": [
        {"type": "barchart", "data": "d", "x": ["rate"], "y": "area", "xLabel": {"nb": "Pasienter per 1 000 innbyggere"},
         "errorBars": ["lo", "hi"], **extra},
        {"type": "map", "data": "d", "x": "rate", "caption": {"nb": "Pasienter per 1 000 innbyggere"}},
        {"type": "barchart", "data": "d", "x": ["rate"], "y": "area", "xLabel": {"nb": "x"},
         "annualVar": ["r2022", "r2023"], "annualVarLabels": {"nb": ["2022", "2023"]}},
        {"type": "data", "label": "d", "national": "Norge", "data": rows},
    ]}


def _rows(names=tuple(HF_IDS), **override) -> list[dict]:
    rows = [{"area": n, "rate": 10.0 + i, "lo": 9.0 + i, "hi": 11.0 + i, "r2022": 9.5 + i, "r2023": 10.5 + i}
            for i, n in enumerate(names)]
    rows.append({"area": "Norge", "rate": 20.0, "lo": 19.5, "hi": 20.5, "r2022": 19.0, "r2023": 21.0})
    for i, changes in override.items():
        rows[int(i.removeprefix("row"))].update(changes)
    return rows


def _write(folder: Path, name: str, doc: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_small_file_imports_with_its_numbers(tmp_path):
    url = _empty_store(tmp_path / "s.sqlite")
    path = _write(tmp_path / "psyk2", "liten.json", _atlas(_rows()))
    import_files([path], "helseatlas", database_url=url)
    values = _published_rows(url)
    hf = values.filter((pl.col("level") == "helseforetak") & (pl.col("year_start") == 2022) & (pl.col("year_end") == 2023))
    assert dict(zip(hf["area_id"], hf["value"]))["finnmark"] == 10.0
    assert values.filter((pl.col("level") == "land") & (pl.col("year_start") == 2023) & (pl.col("year_end") == 2023))["value"].to_list() == [21.0]


@pytest.mark.parametrize(("doc", "expected"), [
    (_atlas(_rows(row3={"area": "Atlantis"})), "finner ikke området 'Atlantis'"),
    (_atlas(_rows(row2={"rate": "mye"})), "er ikke et tall"),
    (_atlas(_rows(row4={"lo": 30.0})), "nedre grense"),
    ({"charts": []}, "mangler listen «innhold»"),
    (_atlas(_rows(), errorBars=["lo"]), "«errorBars» skal ha to nøkler"),
])
def test_bad_file_names_file_and_item_and_writes_nothing(tmp_path, doc, expected):
    url = _empty_store(tmp_path / "e.sqlite")
    good = _write(tmp_path / "psyk2", "god.json", _atlas(_rows()))
    bad = _write(tmp_path / "psyk2", "feil.json", doc)
    with pytest.raises(ImportValidationError) as caught:
        import_files([good, bad], "helseatlas", database_url=url)
    text = str(caught.value)
    assert "feil.json" in text and expected in text
    assert "nothing was written" in text
    assert _published_rows(url).height == 0


def test_barn_areas_are_skipped_with_the_reason(tmp_path):
    url = _empty_store(tmp_path / "b.sqlite")
    names = [n for n in HF_IDS if n not in ("Lovisenberg", "Diakonhjemmet")]
    path = _write(tmp_path / "barn2025", "barn.json", _atlas(_rows(names)))
    summary = import_files([path], "helseatlas", database_url=url)
    assert "OUS står for hele Oslo" in " ".join(summary.files[0].notes)
    assert _published_rows(url).height == 0


def test_masked_publisher_value_is_hidden(tmp_path):
    url = _empty_store(tmp_path / "m.sqlite")
    path = _write(tmp_path / "psyk2", "liten.json", _atlas(_rows()))
    import_files([path], "helseatlas", database_url=url)
    engine_ = store.get_engine(url)
    with engine_.begin() as conn:
        conn.execute(sa.update(schema.published_value).where(schema.published_value.c.area_id == "finnmark")
                     .values(publisher_flag=3))
        conn.execute(sa.update(schema.published_value).where(schema.published_value.c.area_id == "bergen")
                     .values(numerator=2))
    key = data.current_key(url)
    engine.clear_caches()
    table = engine.compute("skde_psyk2_liten_rate", "helseforetak", period=Period(2022, 2023), key=key)
    for area in ("finnmark", "bergen"):  # masked by the publisher; a count under 5
        row = table.filter(pl.col("area_id") == area).row(0, named=True)
        assert row["flag"] == engine.SUPPRESSED
        assert row["value"] is None and row["lower_95"] is None and row["numerator"] is None
    assert table.filter(pl.col("area_id") == "forde")["value"].to_list() == [17.0]


def test_profile_row_shows_the_helsefellesskaps_own_area(psyk2_store):
    from indicators.catalogue import load_catalogue

    key = data.current_key(psyk2_store)
    ind = published.with_published(load_catalogue(), key).indicator("skde_psyk2_adhd_pol_snitt_rate")
    doc = json.loads((ATLAS_ROOT / "psyk2" / "adhd_pol.json").read_text(encoding="utf-8"))
    rows = {r["area"]: r for r in next(i for i in doc["innhold"] if i.get("type") == "data")["data"]}
    bergen = published.profile_row(key, ind, "bergen", None, {"indicator_id": ind.id})
    assert bergen["period"] == "2024" and bergen["value"] == pytest.approx(rows["Bergen"]["Rate.2024"])
    assert bergen["n_ranked"] == 21 and 1 <= bergen["rank"] <= 21
    # Oslo's helsefellesskap spans four hospital sectors: no single published value.
    assert published.profile_row(key, ind, "oslo", None, {"indicator_id": ind.id})["flag"] == "not_reported"
