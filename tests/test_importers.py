"""Import tests: every format's fixtures load correctly, and malformed variants fail precisely
and leave the store unchanged. Parametrized over SQLite and PostgreSQL (see tests/pg.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from data_loaders import schema, store
from data_loaders.importers import ImportUsageError, ImportValidationError, import_files, init_store
from data_loaders.importers.crosswalk import load_crosswalk
from data_loaders.reference import load_kommuner
from data_loaders.schema import AGE_BANDS
from tests.pg import backend_engine, pg_provider, sqlite_template  # noqa: F401  (fixtures)

FIX = Path(__file__).resolve().parent / "fixtures" / "import"
ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("make_fixtures", FIX / "make_fixtures.py")
make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_fixtures)

DATA_TABLES = (schema.dataset, schema.population, schema.event_count, schema.measure_coverage,
               schema.kommune_helsefellesskap, schema.app_setting)


# --------------------------------------------------------------------------- helpers


def snapshot(engine) -> dict[str, tuple[int, str]]:
    """Row count and checksum of every table an import may touch."""
    out = {}
    with engine.connect() as conn:
        for table in DATA_TABLES:
            rows = conn.execute(sa.select(table)).all()
            text = "\n".join(sorted(repr(tuple(str(v) for v in r)) for r in rows))
            out[table.name] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
    return out


def counts(engine, measure: str) -> pl.DataFrame:
    c = schema.event_count
    query = sa.select(c.c.year, c.c.kommunenummer, c.c.sex, c.c.age_band, c.c["count"], c.c.dataset_id).where(
        c.c.measure_id == measure)
    return store.read_frame(engine, query, {"year": pl.Int32, "count": pl.Float64})


def coverage(engine, measure: str) -> pl.DataFrame:
    return store.load_coverage(engine, [measure]).drop("measure_id")


def population(engine) -> pl.DataFrame:
    p = schema.population
    return store.read_frame(engine, sa.select(p), {"year": pl.Int32, "population": pl.Int64})


def value(frame: pl.DataFrame, column: str, **where) -> float | None:
    for key, v in where.items():
        frame = frame.filter(pl.col(key) == v)
    return frame[column].sum() if frame.height else None


def fails(engine, files: list[Path], fmt: str, **kwargs) -> ImportValidationError:
    before = snapshot(engine)
    with pytest.raises(ImportValidationError) as info:
        import_files(files, fmt, engine=engine, **kwargs)
    assert snapshot(engine) == before, "a failing import changed the store"
    return info.value


def assert_problem(error: ImportValidationError, file: str, row: int | None, column: str | None, fragment: str) -> None:
    text = str(error)
    for problem in error.problems:
        if problem.file == file and problem.row == row and problem.column == column and fragment in problem.message:
            where = f"{file}: row {row}" if row is not None else file
            assert where in text and (column is None or f'column "{column}"' in text)
            return
    raise AssertionError(f"no problem {file} row {row} column {column!r} containing {fragment!r} in:\n{text}")


def seed(engine) -> None:
    """Some data in the store, so that 'unchanged after a failed import' means something."""
    import_files([FIX / "register" / "register_ok.csv"], "register", engine=engine)


def expected_band(base: int, sex: str, year: int, band: str) -> int:
    low, high = next((lo, hi) for label, lo, hi in AGE_BANDS if label == band)
    return sum(make_fixtures.pop(base, a, sex, year) for a in range(low, (high if high is not None else 105) + 1))


# --------------------------------------------------------------------------- register


@pytest.mark.parametrize("name", ["register_ok.csv", "register_semicolon.csv"])
def test_register_csv(backend_engine, name):
    summary = import_files([FIX / "register" / name], "register", engine=backend_engine)
    frame = counts(backend_engine, "npr_utskrivninger_somatikk")
    # 5401 (Tromsø 2020-2023) is stored as 5501, 3005 (Drammen 2020-2023) as 3301.
    assert value(frame, "count", year=2023, kommunenummer="5501", sex="male", age_band="67-69") == 40
    assert value(frame, "count", year=2023, kommunenummer="3301", sex="female", age_band="90+") == 70
    assert value(frame, "count", year=2024, kommunenummer="5501", sex="female", age_band="80-84") == 57
    assert frame.filter(pl.col("kommunenummer").is_in(["5401", "3005"])).height == 0
    tvang = counts(backend_engine, "npr_tvangsinnleggelser")
    # "301" zero-padded; Oslo is split into bydeler, so a count without a bydel is "uoppgitt bydel".
    assert value(tvang, "count", year=2024, kommunenummer="030199", sex="male") == 17
    # A zero is not stored, but the kommune-year counts as reported (national register: all kommuner).
    readm = counts(backend_engine, "npr_reinnleggelse_30d")
    assert value(readm, "count", year=2024, kommunenummer="3301") is None
    # Every area unit: 356 unsplit kommuner and Oslo's 18 bydeler.
    assert coverage(backend_engine, "npr_reinnleggelse_30d").filter(pl.col("year") == 2024).height == 374
    file = summary.files[0]
    assert file.rows_read == 16 and file.rows_written == 15
    assert {"5401 -> 5501 (2023)", "3005 -> 3301 (2023)"} <= set(file.translated)
    assert file.years == [2023, 2024] and file.kommuner == 3
    datasets = store.load_datasets(backend_engine)
    row = datasets.filter(pl.col("dataset_id") == file.dataset_id).row(0, named=True)
    path = FIX / "register" / name
    assert row["file_name"] == name and not row["synthetic"] and len(row["extraction_date"]) == 10
    assert row["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row["row_count"] == 15 + 6 * 374
    assert "translated to 2024 numbers" in summary.render()


def test_register_parquet(backend_engine, tmp_path):
    frame = pl.read_csv(FIX / "register" / "register_ok.csv", schema_overrides={"kommunenummer": pl.Int32})
    path = tmp_path / "register.parquet"
    frame.write_parquet(path)
    import_files([path], "register", engine=backend_engine)
    stored = counts(backend_engine, "npr_tvangsinnleggelser")
    assert value(stored, "count", year=2024, kommunenummer="030199") == 38  # Oslo without bydel
    assert value(stored, "count", year=2023, kommunenummer="3301") == 3


def test_reimport_is_idempotent(backend_engine):
    first = import_files([FIX / "register" / "register_ok.csv"], "register", engine=backend_engine)
    before = snapshot(backend_engine)
    second = import_files([FIX / "register" / "register_ok.csv"], "register", engine=backend_engine)
    after = snapshot(backend_engine)
    assert first.files[0].dataset_id == second.files[0].dataset_id
    for table in ("population", "event_count", "measure_coverage"):
        assert before[table] == after[table]
    assert before["dataset"][0] == after["dataset"][0] == 1
    assert second.files[0].rows_replaced == 15 and second.files[0].replaced and not second.files[0].added


def test_register_2019_numbers_chain_to_2024(backend_engine):
    summary = import_files([FIX / "register" / "register_2019.csv"], "register", engine=backend_engine)
    stored = counts(backend_engine, "npr_tvangsinnleggelser")
    assert value(stored, "count", kommunenummer="5001") == 8  # Trondheim 5001 + Klæbu 5030
    assert value(stored, "count", kommunenummer="1580") == 2  # Haram 1534 straight to 1580
    assert value(stored, "count", kommunenummer="3101") == 4  # Halden 0101 -> 3001 -> 3101
    assert "1534 -> 1580 (2019)" in summary.files[0].translated


def test_register_split_needs_allocation(backend_engine):
    error = fails(backend_engine, [FIX / "register" / "register_split.csv"], "register")
    assert_problem(error, "register_split.csv", 2, "kommunenummer", "--allow-split-allocation")
    summary = import_files([FIX / "register" / "register_split.csv"], "register", engine=backend_engine,
                           allow_split_allocation=True)
    stored = counts(backend_engine, "npr_tvangsinnleggelser")
    assert value(stored, "count", kommunenummer="1508") == pytest.approx(8.6)
    assert value(stored, "count", kommunenummer="1580") == pytest.approx(1.4)
    assert "ALLOCATED" in summary.render()


REGISTER_BAD = [
    ("register_tab.csv", 1, None, "wrong delimiter"),
    ("register_missing_column.csv", 1, None, "missing column(s) count"),
    ("register_bad_kommune.csv", 7, "kommunenummer", "unknown kommunenummer 3099"),
    ("register_negative.csv", 14, "count", "negative value -3"),
    ("register_duplicate.csv", 10, "measure_id, year, kommunenummer, sex, age_band", "also on row 4"),
    ("register_truncated.csv", 17, "measure_id", "truncated row?"),
    ("register_ratio.csv", 3, "count", "npr_reinnleggelse_30d = 6 is above npr_utskrivninger_somatikk = 4"),
    ("register_mixed_numbering.csv", 3, "kommunenummer", "mixes kommune numberings"),
]


@pytest.mark.parametrize("name, row, column, fragment", REGISTER_BAD)
def test_register_malformed(backend_engine, name, row, column, fragment):
    seed(backend_engine)
    error = fails(backend_engine, [FIX / "register" / name], "register")
    assert_problem(error, name, row, column, fragment)


@pytest.mark.parametrize(
    "line, column, fragment",
    [
        ("1999,0301,male,0-4,npr_tvangsinnleggelser,1", "year", "outside the accepted range"),
        ("2024,0301,mann,0-4,npr_tvangsinnleggelser,1", "sex", 'unknown sex "mann"'),
        ("2024,0301,male,0-5,npr_tvangsinnleggelser,1", "age_band", 'unknown age band "0-5"'),
        ("2024,0301,male,0-4,npr_ukjent,1", "measure_id", 'unknown measure_id "npr_ukjent"'),
        ("2024,0301,male,0-4,npr_tvangsinnleggelser,tre", "count", 'not a number: "tre"'),
        ("2024,0301,male,0-4,npr_tvangsinnleggelser,1;5", "count", "not a number"),
        ("2024,0301,male,0-4,npr_tvangsinnleggelser,1,5", "count", "the row has 7 fields"),
        ("2024,030A,male,0-4,npr_tvangsinnleggelser,1", "kommunenummer", "not a kommune number"),
        ("2024,1507,male,0-4,npr_tvangsinnleggelser,1", "kommunenummer", "replaced in 2024"),
        ("2021,0301,male,0-4,npr_behovskartlegging_sp1,1", "year", "no data before 2022"),
    ],
)
def test_register_row_checks(backend_engine, tmp_path, line, column, fragment):
    path = tmp_path / "rows.csv"
    path.write_text(f"{make_fixtures.REGISTER_HEADER}\n2024,0301,female,0-4,npr_tvangsinnleggelser,2\n{line}\n")
    error = fails(backend_engine, [path], "register")
    assert_problem(error, "rows.csv", 3, column, fragment)


def test_ratio_checked_against_the_store(backend_engine, tmp_path):
    seed(backend_engine)  # 5501 2024 male 67-69: 42 discharges, 5 readmissions
    numerator = tmp_path / "num.csv"
    numerator.write_text(f"{make_fixtures.REGISTER_HEADER}\n2024,5501,male,67-69,npr_reinnleggelse_30d,50\n")
    error = fails(backend_engine, [numerator], "register")
    assert_problem(error, "num.csv", 2, "count", "is above npr_utskrivninger_somatikk = 42")
    denominator = tmp_path / "den.csv"
    denominator.write_text(f"{make_fixtures.REGISTER_HEADER}\n2024,5501,male,67-69,npr_utskrivninger_somatikk,3\n")
    error = fails(backend_engine, [denominator], "register")
    assert_problem(error, "den.csv", 2, "count", "is below npr_reinnleggelse_30d = 5 already in the store")


def test_many_problems_are_capped(backend_engine, tmp_path):
    path = tmp_path / "many.csv"
    lines = [make_fixtures.REGISTER_HEADER] + [f"2024,0301,male,0-4,npr_tvangsinnleggelser,-{i}" for i in range(1, 40)]
    path.write_text("\n".join(lines) + "\n")
    error = fails(backend_engine, [path], "register")
    assert len(error.problems) == 20 and error.total == 39
    assert "and 19 more" in str(error)


def test_one_transaction_for_all_files(backend_engine):
    seed(backend_engine)
    error = fails(backend_engine, [FIX / "register" / "register_2019.csv", FIX / "register" / "register_negative.csv"],
                  "register")
    assert_problem(error, "register_negative.csv", 14, "count", "negative value")


def test_failure_while_writing_rolls_back(backend_engine, monkeypatch):
    seed(backend_engine)
    before = snapshot(backend_engine)
    calls = []

    def broken(conn, table, frame):
        calls.append(table.name)
        if table.name == "measure_coverage":
            raise RuntimeError("disk full")
        return original(conn, table, frame)

    original = store.insert_rows
    monkeypatch.setattr(store, "insert_rows", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        import_files([FIX / "register" / "register_2019.csv"], "register", engine=backend_engine)
    assert "event_count" in calls
    assert snapshot(backend_engine) == before


def test_files_overlapping_in_one_import(backend_engine):
    error = fails(backend_engine, [FIX / "register" / "register_ok.csv", FIX / "register" / "register_semicolon.csv"],
                  "register")
    assert any("is also in register_ok.csv" in p.message for p in error.problems)


# --------------------------------------------------------------------------- bydeler (area units)


def test_register_bydel_codes_are_area_units(backend_engine, tmp_path):
    path = tmp_path / "bydeler.csv"
    path.write_text(
        f"{make_fixtures.REGISTER_HEADER}\n"
        "2024,030110,male,0-4,npr_tvangsinnleggelser,4\n"  # Grorud, six digits
        "2024,30111,female,0-4,npr_tvangsinnleggelser,3\n"  # Stovner without the leading zero
        "2024,5501,male,0-4,npr_tvangsinnleggelser,2\n"
    )
    summary = import_files([path], "register", engine=backend_engine, coverage="present")
    stored = counts(backend_engine, "npr_tvangsinnleggelser")
    assert value(stored, "count", kommunenummer="030110") == 4
    assert value(stored, "count", kommunenummer="030111") == 3
    assert set(stored["kommunenummer"]) == {"030110", "030111", "5501"}
    assert set(coverage(backend_engine, "npr_tvangsinnleggelser")["kommunenummer"]) == {"030110", "030111", "5501"}
    assert summary.files[0].translated == []


def test_register_all_coverage_covers_every_area_unit(backend_engine, tmp_path):
    path = tmp_path / "all.csv"
    path.write_text(f"{make_fixtures.REGISTER_HEADER}\n2024,030110,male,0-4,npr_tvangsinnleggelser,4\n")
    import_files([path], "register", engine=backend_engine, coverage="all")
    covered = set(coverage(backend_engine, "npr_tvangsinnleggelser")["kommunenummer"])
    # The 356 unsplit kommuner and Oslo's 18 bydeler; Oslo itself is no unit.
    assert len(covered) == 374 and "0301" not in covered and {"030110", "030199", "5501"} <= covered


def test_unknown_bydel_is_a_norwegian_error_and_nothing_is_written(backend_engine, tmp_path):
    seed(backend_engine)
    path = tmp_path / "ukjent.csv"
    path.write_text(
        f"{make_fixtures.REGISTER_HEADER}\n"
        "2024,030110,male,0-4,npr_tvangsinnleggelser,4\n"
        "2024,030118,male,0-4,npr_tvangsinnleggelser,1\n"  # Oslo has no bydel 18
    )
    error = fails(backend_engine, [path], "register", coverage="present")
    assert_problem(error, "ukjent.csv", 3, "kommunenummer", "ukjent bydelsnummer 030118")
    assert "bydeler_2024.csv" in str(error)


def test_split_kommune_without_bydel_goes_to_uoppgitt(backend_engine, tmp_path):
    path = tmp_path / "oslo.csv"
    path.write_text(f"{make_fixtures.REGISTER_HEADER}\n2024,0301,male,0-4,npr_tvangsinnleggelser,9\n")
    summary = import_files([path], "register", engine=backend_engine, coverage="present")
    stored = counts(backend_engine, "npr_tvangsinnleggelser")
    assert stored["kommunenummer"].to_list() == ["030199"] and stored["count"].to_list() == [9.0]
    assert any("030199" in note and "Uoppgitt bydel" in note for note in summary.files[0].notes)
    assert "030199" in summary.render()


def test_fhi_bydel_rows_replace_the_oslo_total(backend_engine, tmp_path):
    """FHI files give Oslo (301) and its bydeler (30101, ...): the bydeler are kept, Oslo's own
    rows are read past for that year (they are their sum), and kept where no bydel is given."""
    oslo = make_fixtures.fhi_rows("301", 2024, 5) + make_fixtures.fhi_rows("301", 2023, 5)
    grorud = make_fixtures.fhi_rows("30110", 2024, 2)
    path = tmp_path / "fhi_bydeler.csv"
    make_fixtures.write(path, [make_fixtures.FHI_HEADER] + oslo + grorud)
    summary = import_files([path], "fhi-csv", measure="npr_tvangsinnleggelser", engine=backend_engine)
    stored = counts(backend_engine, "npr_tvangsinnleggelser")
    expected_grorud = sum(int(r.split(";")[4]) for r in grorud)
    expected_oslo_2023 = sum(int(r.split(";")[4]) for r in oslo if ";2023;" in r)
    assert value(stored, "count", year=2024, kommunenummer="030110") == expected_grorud
    assert value(stored, "count", year=2024, kommunenummer="030199") is None
    assert value(stored, "count", year=2023, kommunenummer="030199") == expected_oslo_2023
    assert "0301" not in set(stored["kommunenummer"])
    notes = summary.files[0].notes
    assert any(n.startswith("0301 (2024)") and "lest forbi" in n for n in notes)
    assert any(n.startswith("0301 (2023)") and "030199" in n for n in notes)


# --------------------------------------------------------------------------- SSB population


def test_ssb_jsonstat(backend_engine):
    summary = import_files([FIX / "ssb" / "07459_ok.json"], "ssb-jsonstat", engine=backend_engine)
    pop = population(backend_engine)
    for year in (2023, 2024):  # 2023 came as 5401 (Tromsø 2020-2023)
        for sex, code in (("male", "1"), ("female", "2")):
            for band in ("0-4", "15-17", "65-66", "90+"):
                assert value(pop, "population", year=year, kommunenummer="5501", sex=sex, age_band=band) == \
                    expected_band(make_fixtures.TROMSO_BASE, code, year, band)
    # Table 07459 has no bydeler: Oslo's population is stored as "uoppgitt bydel" 030199, with a note.
    assert value(pop, "population", year=2024, kommunenummer="030199", sex="female", age_band="80-84") == \
        expected_band(make_fixtures.OSLO_BASE, "2", 2024, "80-84")
    assert pop.filter(pl.col("kommunenummer") == "5401").height == 0
    assert pop.height == 4 * 2 * len(AGE_BANDS)  # (5501, 030199) x (2023, 2024) x 2 sexes x the bands
    assert set(pop["kommunenummer"]) == {"030199", "5501"}
    file = summary.files[0]
    assert file.translated == ["5401 -> 5501 (2023)"]
    assert any("0301 (2023-2024)" in n and "030199" in n and "Uoppgitt bydel" in n for n in file.notes)
    assert any("not kommuner: 0 Hele landet" in n for n in file.notes)
    datasets = store.load_datasets(backend_engine)
    assert datasets.filter(pl.col("dataset_id") == file.dataset_id)["extraction_date"][0] == "2024-02-21"


def test_ssb_csv(backend_engine):
    import_files([FIX / "ssb" / "07459_ok.csv"], "ssb-csv", engine=backend_engine)
    pop = population(backend_engine)
    assert value(pop, "population", year=2024, kommunenummer="1580", sex="male", age_band="21-24") == \
        expected_band(make_fixtures.HARAM_BASE, "1", 2024, "21-24")
    assert value(pop, "population", year=2024, kommunenummer="1508", sex="female", age_band="90+") == \
        expected_band(make_fixtures.ALESUND_BASE, "2", 2024, "90+")
    totals = pop.group_by("kommunenummer").agg(pl.col("population").sum())
    expected = sum(make_fixtures.pop(make_fixtures.TROMSO_BASE, a, s, 2024) for a in range(106) for s in ("1", "2"))
    assert value(totals, "population", kommunenummer="5501") == expected


def test_ssb_csv_with_title_line_and_old_numbers(backend_engine):
    summary = import_files([FIX / "ssb" / "07459_2023_titled.csv"], "ssb-csv", engine=backend_engine)
    pop = population(backend_engine)
    assert set(pop["kommunenummer"]) == {"5501"} and set(pop["year"]) == {2023}
    assert summary.files[0].translated == ["5401 -> 5501 (2023)"]


def test_ssb_split_kommune_population(backend_engine):
    error = fails(backend_engine, [FIX / "ssb" / "07459_alesund_2023.csv"], "ssb-csv")
    assert_problem(error, "07459_alesund_2023.csv", 2, "region", "later split")
    import_files([FIX / "ssb" / "07459_alesund_2023.csv"], "ssb-csv", engine=backend_engine, allow_split_allocation=True)
    pop = population(backend_engine)
    total = sum(make_fixtures.pop(make_fixtures.ALESUND_BASE + make_fixtures.HARAM_BASE, a, s, 2023)
                for a in range(106) for s in ("1", "2"))
    by_kommune = dict(pop.group_by("kommunenummer").agg(pl.col("population").sum()).iter_rows())
    assert set(by_kommune) == {"1508", "1580"}
    assert abs(by_kommune["1508"] + by_kommune["1580"] - total) <= 42  # rounding per cell
    assert by_kommune["1580"] == pytest.approx(0.14 * total, rel=0.02)


SSB_BAD = [
    ("07459_tab.csv", 1, None, "wrong delimiter"),
    ("07459_missing_column.csv", 1, None, "missing column"),
    ("07459_bad_kommune.csv", 15, "region", "unknown kommunenummer 9876"),
    ("07459_negative.csv", 14, "07459: Befolkning, etter region, kjønn, alder, statistikkvariabel og år", "negative value -3"),
    ("07459_duplicate.csv", 41, None, "also on row 31"),
    ("07459_truncated.csv", 301, "alder", "truncated row?"),
    ("07459_missing_age.csv", 108, "alder", "age(s) 22 missing, so age band(s) 21-24 would be incomplete"),
    ("07459_truncated.json", None, None, "not valid JSON"),
    ("07459_negative.json", 501, "value", "negative value -3"),
]


@pytest.mark.parametrize("name, row, column, fragment", SSB_BAD)
def test_ssb_malformed(backend_engine, name, row, column, fragment):
    seed(backend_engine)
    import_files([FIX / "ssb" / "07459_2023_titled.csv"], "ssb-csv", engine=backend_engine)
    fmt = "ssb-jsonstat" if name.endswith(".json") else "ssb-csv"
    error = fails(backend_engine, [FIX / "ssb" / name], fmt)
    if row is None and name.endswith(".json"):
        assert any(p.file == name and fragment in p.message and p.row for p in error.problems), str(error)
        return
    assert_problem(error, name, row, column, fragment)


# --------------------------------------------------------------------------- FHI


def test_fhi_csv(backend_engine):
    summary = import_files([FIX / "fhi" / "tvang_ok.csv"], "fhi-csv", measure="npr_tvangsinnleggelser",
                           engine=backend_engine)
    stored = counts(backend_engine, "npr_tvangsinnleggelser")
    rows = [r for r in make_fixtures.fhi_rows("5501", 2024, 3) if r.split(";")[2] == "1" and r.split(";")[3] == "30_34"]
    assert value(stored, "count", year=2024, kommunenummer="5501", sex="male", age_band="30-34") == \
        (float(rows[0].split(";")[4]) or None)
    assert value(stored, "count", year=2023, kommunenummer="5501") > 0  # 5401 in the file
    cov = coverage(backend_engine, "npr_tvangsinnleggelser")
    assert set(map(tuple, cov.select("year", "kommunenummer").rows())) == {(2023, "5501"), (2024, "5501"), (2024, "1508")}
    file = summary.files[0]
    assert file.unreported == 1 and file.translated == ["5401 -> 5501 (2023)"]


def test_fhi_suppressed_values_stay_suppressed(backend_engine):
    import_files([FIX / "fhi" / "tvang_ok.csv"], "fhi-csv", measure="npr_tvangsinnleggelser", engine=backend_engine)
    stored = counts(backend_engine, "npr_tvangsinnleggelser")
    # Haram 2024 has a hidden (":") cell and an anonymised row that still carries TELLER 2:
    # nothing of Haram 2024 is stored as a number, and the kommune-year is not reported.
    assert stored.filter(pl.col("kommunenummer") == "1580").height == 0
    assert coverage(backend_engine, "npr_tvangsinnleggelser").filter(pl.col("kommunenummer") == "1580").height == 0
    # Without coverage the engine reads the kommune-year as "ikke rapportert", never as zero.
    assert stored.filter(pl.col("kommunenummer") == "5501").height > 0


def test_fhi_suppression_replaces_earlier_numbers(backend_engine, tmp_path):
    clean = tmp_path / "haram_clean.csv"
    clean.write_text("\n".join([make_fixtures.FHI_HEADER] + make_fixtures.fhi_rows("1580", 2024, 5)) + "\n")
    import_files([clean], "fhi-csv", measure="npr_tvangsinnleggelser", engine=backend_engine)
    assert counts(backend_engine, "npr_tvangsinnleggelser").filter(pl.col("kommunenummer") == "1580").height > 0
    hidden = tmp_path / "haram_hidden.csv"
    hidden.write_text("\n".join([make_fixtures.FHI_HEADER] + make_fixtures.fhi_rows("1580", 2024, 5, {("1", "50_54"): 2})) + "\n")
    import_files([hidden], "fhi-csv", measure="npr_tvangsinnleggelser", engine=backend_engine)
    assert counts(backend_engine, "npr_tvangsinnleggelser").filter(pl.col("kommunenummer") == "1580").height == 0
    assert coverage(backend_engine, "npr_tvangsinnleggelser").height == 0


FHI_BAD = [
    ("tvang_comma.csv", 1, None, "wrong delimiter"),
    ("tvang_missing_column.csv", 1, None, "missing column(s) SPVFLAGG"),
    ("tvang_bad_kommune.csv", 6, "GEO", "unknown kommunenummer 5499"),
    ("tvang_negative.csv", 8, "TELLER", "negative value -3"),
    ("tvang_duplicate.csv", 11, None, "also on row 10"),
    ("tvang_truncated.csv", 51, "TELLER", "truncated row?"),
    ("tvang_pooled.csv", 2, "AAR", "pooled period 2022_2024"),
]


@pytest.mark.parametrize("name, row, column, fragment", FHI_BAD)
def test_fhi_malformed(backend_engine, name, row, column, fragment):
    seed(backend_engine)
    error = fails(backend_engine, [FIX / "fhi" / name], "fhi-csv", measure="npr_tvangsinnleggelser")
    assert_problem(error, name, row, column, fragment)


def test_fhi_age_range_allocation(backend_engine):
    path = FIX / "fhi" / "hjemmetjenester_80_120.csv"
    error = fails(backend_engine, [path], "fhi-csv", measure="kpr_hjemmetjenester")
    assert_problem(error, path.name, 2, "ALDER", "spans age bands 80-84, 85-89, 90+")
    import_files([FIX / "ssb" / "07459_ok.csv"], "ssb-csv", engine=backend_engine)
    import_files([path], "fhi-csv", measure="kpr_hjemmetjenester", engine=backend_engine, allow_split_allocation=True)
    stored = counts(backend_engine, "kpr_hjemmetjenester")
    assert value(stored, "count", sex="male") == pytest.approx(310)
    pop = {b: expected_band(make_fixtures.TROMSO_BASE, "1", 2024, b) for b in ("80-84", "85-89", "90+")}
    assert value(stored, "count", sex="male", age_band="85-89") == pytest.approx(310 * pop["85-89"] / sum(pop.values()))


def test_fhi_needs_the_ages_the_catalogue_uses(backend_engine, tmp_path):
    path = tmp_path / "only_old.csv"
    path.write_text(f"{make_fixtures.FHI_HEADER}\n5501;2024;1;80_84;3;100;30;30;0\n5501;2024;2;80_84;3;100;30;30;0\n")
    error = fails(backend_engine, [path], "fhi-csv", measure="npr_tvangsinnleggelser")
    assert_problem(error, "only_old.csv", 2, "ALDER", "indicator psyk_tvangsinnleggelser_18 uses npr_tvangsinnleggelser")


def test_fhi_alder_must_be_whole_bands(backend_engine, tmp_path):
    path = tmp_path / "bands.csv"
    path.write_text(f"{make_fixtures.FHI_HEADER}\n5501;2024;1;0_70;3;100;30;30;0\n")
    error = fails(backend_engine, [path], "fhi-csv", measure="npr_oh_innleggelser")
    assert_problem(error, "bands.csv", 2, "ALDER", "70 is inside band 70-74")


# --------------------------------------------------------------------------- mapping and geometry


def test_mapping(backend_engine):
    import_files([FIX / "mapping" / "mapping_ok.csv"], "mapping", engine=backend_engine)
    mapping = store.load_mapping(backend_engine)
    assert mapping.height == 357 and set(mapping["source"]) == {"Testfil: offisiell liste 2024"}
    assert store.load_areas(backend_engine).height == 357


MAPPING_BAD = [
    ("mapping_unknown_kommune.csv", 11, "kommunenummer", "unknown kommunenummer '9999'"),
    ("mapping_duplicate.csv", 21, "kommunenummer", "also on row 13"),
    ("mapping_semicolon.csv", 1, None, "wrong delimiter"),
    ("mapping_missing_kommune.csv", None, None, "kommune(r) without helsefellesskap"),
]


@pytest.mark.parametrize("name, row, column, fragment", MAPPING_BAD)
def test_mapping_malformed(backend_engine, name, row, column, fragment):
    error = fails(backend_engine, [FIX / "mapping" / name], "mapping")
    assert_problem(error, name, row, column, fragment)


def test_geometry(backend_engine):
    path = ROOT / "assets" / "geo" / "kommuner_2024.geojson"
    import_files([path], "geometry", engine=backend_engine)
    assert store.load_app_setting(backend_engine, "kommune_geojson") == str(path.resolve())
    error = fails(backend_engine, [FIX / "geometry" / "geometry_unknown_kommune.geojson"], "geometry")
    assert_problem(error, "geometry_unknown_kommune.geojson", None, None, "unknown for 2024: 9999")


# --------------------------------------------------------------------------- demo data, usage, CLI


def seed_synthetic(engine) -> None:
    with engine.begin() as conn:
        store.upsert_dataset(conn, "demo-synthetic", source="Syntetisk", description="", extraction_date="2024-01-01",
                             synthetic=True, row_count=2)
        store.insert_rows(conn, schema.event_count, pl.DataFrame({
            "measure_id": ["npr_tvangsinnleggelser"] * 2, "year": [2024, 2024], "kommunenummer": ["0301", "1103"],
            "sex": ["male", "male"], "age_band": ["21-24", "21-24"], "count": [5.0, 6.0], "dataset_id": ["demo-synthetic"] * 2,
        }))


def test_real_data_over_synthetic(backend_engine):
    seed_synthetic(backend_engine)
    summary = import_files([FIX / "register" / "register_2019.csv"], "register", engine=backend_engine)
    # National register: the 2019 import does not touch 2024, so the synthetic rows stay and the store says so.
    assert summary.synthetic_remaining == 2 and "SYNTHETIC" in summary.render()
    assert store.is_synthetic(backend_engine)
    summary = import_files([FIX / "register" / "register_2019.csv"], "register", engine=backend_engine, replace_demo=True)
    assert summary.synthetic_removed == 2 and summary.synthetic_remaining == 0
    assert not store.is_synthetic(backend_engine)
    assert "demo-synthetic" not in store.load_datasets(backend_engine)["dataset_id"].to_list()


def test_replaced_synthetic_dataset_is_dropped(backend_engine):
    seed_synthetic(backend_engine)
    summary = import_files([FIX / "register" / "register_ok.csv"], "register", engine=backend_engine)
    # register_ok covers npr_tvangsinnleggelser 2024 for every kommune: all synthetic rows replaced.
    assert summary.datasets_dropped == ["demo-synthetic"] and not store.is_synthetic(backend_engine)


def test_dry_run_writes_nothing(backend_engine):
    before = snapshot(backend_engine)
    summary = import_files([FIX / "register" / "register_ok.csv"], "register", engine=backend_engine, dry_run=True)
    assert snapshot(backend_engine) == before and "dry run" in summary.render()


def test_demo_store_replacement(tmp_path, demo_database_url):
    """On a copy of the real synthetic demo store (SQLite)."""
    path = tmp_path / "demo.sqlite"
    shutil.copy(demo_database_url.removeprefix("sqlite:///"), path)
    engine = sa.create_engine(f"sqlite:///{path}")
    assert store.is_synthetic(engine)
    summary = import_files([FIX / "ssb" / "07459_ok.csv"], "ssb-csv", engine=engine, replace_demo=True)
    assert summary.synthetic_removed > 0 and not store.is_synthetic(engine)
    assert set(population(engine)["kommunenummer"]) == {"5501", "1508", "1580"}
    engine.dispose()


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"format": "fhi-csv"}, "fhi-csv needs --measure"),
        ({"format": "register", "measure": "npr_tvangsinnleggelser"}, "--measure applies to fhi-csv only"),
        ({"format": "xml"}, "unknown format"),
        ({"format": "fhi-csv", "measure": "ukjent"}, "unknown measure"),
        ({"format": "register", "extraction_date": "24.11.2026"}, "YYYY-MM-DD"),
    ],
)
def test_usage_errors(tmp_path, kwargs, fragment):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    fmt = kwargs.pop("format")
    with pytest.raises(ImportUsageError, match=fragment.replace("(", r"\(").replace("-", r"\-")):
        import_files([FIX / "register" / "register_ok.csv"], fmt, engine=engine, **kwargs)
    with pytest.raises(ImportUsageError, match="file not found"):
        import_files([tmp_path / "missing.csv"], "register", engine=engine)


def test_init_refuses_a_store_with_data(backend_engine):
    seed(backend_engine)
    with pytest.raises(ImportUsageError, match="already holds data"):
        init_store(backend_engine)
    init_store(backend_engine, force=True)
    assert snapshot(backend_engine)["event_count"][0] == 0
    assert store.has_reference(backend_engine)


def _cli(*args: str, url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "data_loaders", "--database-url", url, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    ok = _cli("import", "--format", "register", str(FIX / "register" / "register_ok.csv"), url=url)
    assert ok.returncode == 0, ok.stderr
    assert "rows written: 15" in ok.stdout and "5401 -> 5501" in ok.stdout
    bad = _cli("import", "--format", "register", str(FIX / "register" / "register_negative.csv"), url=url)
    assert bad.returncode == 1
    assert 'register_negative.csv: row 14, column "count": negative value -3' in bad.stderr
    usage = _cli("import", "--format", "fhi-csv", str(FIX / "fhi" / "tvang_ok.csv"), url=url)
    assert usage.returncode == 2 and "--measure" in usage.stderr
    assert _cli("import", str(FIX / "fhi" / "tvang_ok.csv"), url=url).returncode == 2  # no --format
    assert _cli("init", url=url).returncode == 2


# --------------------------------------------------------------------------- crosswalk


def test_crosswalk_structures():
    cw = load_crosswalk()
    assert cw.step_years == [2017, 2018, 2019, 2020, 2024]
    # Official counts of kommuner: 2016 428, 2017 426, 2018 422, 2019 422, 2020-2023 356, 2024 357.
    assert [len(s) for s in cw.structures] == [428, 426, 422, 422, 356, 357]
    current = set(load_kommuner()["kommunenummer"])
    for index, year in ((4, 2023), (3, 2019), (0, 2016)):
        for number in cw.structures[index]:
            result = cw.translate(number, year)
            assert not isinstance(result, str), result
            assert {t for t, _ in result.targets} <= current
            assert sum(s for _, s in result.targets) == pytest.approx(1.0)
    # Every 2024 kommune is reached from the 2020 and 2019 structures.
    for index, year in ((4, 2023), (3, 2019)):
        reached = {t for n in cw.structures[index] for t, _ in cw.translate(n, year).targets}
        assert reached == current


def test_crosswalk_splits_and_examples():
    cw = load_crosswalk()
    assert cw.translate("5012", 2019).targets == (("5059", 0.56), ("5056", 0.24), ("5055", 0.2))
    assert {t for t, _ in cw.translate("1850", 2019).targets} == {"1806", "1875"}
    assert cw.translate("1507", 2023).targets == (("1508", 0.86), ("1580", 0.14))
    assert cw.translate("1534", 2019).targets == (("1580", 1.0),)
    assert cw.translate("1201", 2019).targets == (("4601", 1.0),)
    assert cw.translate("1601", 2017).targets == (("5001", 1.0),)
    assert isinstance(cw.translate("1601", 2018), str)
    assert isinstance(cw.translate("3001", 2024), str)


def test_build_geometry_reads_the_extended_crosswalk_as_before():
    spec = importlib.util.spec_from_file_location("build_geometry", ROOT / "scripts" / "build_geometry.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as exc:  # optional dependencies of the script
        pytest.skip(f"scripts/build_geometry.py cannot be imported: {exc}")
    mapping = module.read_crosswalk()
    cw = load_crosswalk()
    for number in cw.structures[4]:  # the 2020-2023 numbers the script renumbers
        targets = mapping.get(number, [(number, 1.0)])
        expected = cw.translate(number, 2023).targets
        assert sorted(t for t, _ in targets if t != number or len(targets) == 1) == sorted(t for t, _ in expected)


# --------------------------------------------------------------------------- SKDE opptaksområder


def _skde_original(tmp_path, change=None) -> Path:
    """SKDE's boomr.csv as SKDE publishes it (semicolons, no leading zeros), from ../shared's copy."""
    from tests.conftest import shared_path

    skde = pl.read_csv(shared_path("real", "skde-opptaksomrader.csv"), infer_schema=False)
    skde = skde.with_columns(pl.col("komnr").str.strip_chars_start("0"), pl.col("bydel").str.strip_chars_start("0"))
    if change:
        skde = change(skde)
    path = tmp_path / "boomr.csv"
    skde.write_csv(path, separator=";")
    return path


def test_skde_opptaksomrader_sets_the_mapping_and_the_bydel_sectors(backend_engine, tmp_path):
    # An older assignment: Lødingen in Nordland, and Alna (before January 2026) in Akershus's area.
    def older(skde):
        lodingen = (pl.col("komnr") == "1851") & pl.col("bydel").is_null()
        alna = pl.col("bydel") == "30112"
        return skde.with_columns(
            pl.when(lodingen).then(pl.lit("Nordland")).when(alna).then(pl.lit("Akershus")).otherwise(pl.col("bohf_navn"))
            .alias("bohf_navn"))

    summary = import_files([_skde_original(tmp_path, older)], "skde-opptaksomrader", engine=backend_engine)
    mapping = store.load_mapping(backend_engine)
    assert mapping.height == 357
    assert mapping.filter(pl.col("kommunenummer") == "1851")["helsefellesskap_id"].to_list() == ["nordland"]
    assert mapping.filter(pl.col("kommunenummer") == "0301")["helsefellesskap_id"].to_list() == ["oslo"]
    assert mapping.filter(pl.col("kommunenummer") == "3417")["helsefellesskap_id"].to_list() == ["ahus"]  # Grue
    units = store.load_units(backend_engine)
    sector = dict(units.select("unit", "helseforetak_id").iter_rows())
    assert (sector["030112"], sector["030110"], sector["030101"], sector["1851"]) == ("ahus", "ahus", "lovisenberg", "nordland")
    notes = summary.files[0].notes
    assert any("1851 troms-ofoten -> nordland" in n for n in notes)
    assert any("500101" in n for n in notes)  # Trondheim's bydeler are read past: Trondheim stays whole


def test_skde_opptaksomrader_unknown_area_fails_and_writes_nothing(backend_engine, tmp_path):
    def renamed(skde):
        return skde.with_columns(pl.when(pl.col("komnr") == "5501").then(pl.lit("Tromsø HF")).otherwise(pl.col("bohf_navn"))
                                 .alias("bohf_navn"))

    path = _skde_original(tmp_path, renamed)
    line = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text.startswith("5501;"))
    error = fails(backend_engine, [path], "skde-opptaksomrader")
    assert_problem(error, "boomr.csv", line, "bohf_navn", "ukjent sykehusområde 'Tromsø HF'")
