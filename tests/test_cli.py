"""The batch CLI (``python -m indicators``): round trips, suppression and one-line user errors."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys

import polars as pl
import pyarrow.parquet as pq
import pytest

import indicators
from indicators.__main__ import main, parse_year_range, UsageError
from indicators.engine import NOT_REPORTED, SUPPRESSION_FLAGS

from conftest import PROJECT_ROOT

MASKED_IND = "psyk_reinnleggelse_30d"
LOCAL_IND = "kreft_sp2_behovskartlegging"
STRING_IDS = {"omraade_id": pl.String, "periode": pl.String}
SENSITIVE = ("teller", "nevner", "verdi", "nedre_95", "ovre_95", "nedre_99_8", "ovre_99_8", "ujustert_verdi")


def run(capsys, *argv: str) -> tuple[int, bytes, str]:
    """main(argv) in-process; returns (status, stdout bytes, stderr text)."""
    capsysbinary = capsys
    status = main(list(argv))
    captured = capsysbinary.readouterr()
    return status, captured.out, captured.err


def close(a, b, abs_tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=abs_tol)


def assert_same(back: pl.DataFrame, table: pl.DataFrame, rounded: bool = True) -> None:
    """CSV and Excel round values to the indicator's decimals (one here): half a unit of slack."""
    assert back.height == table.height
    assert back["omraade_id"].cast(pl.String).to_list() == table["area_id"].to_list()
    for engine_col, col in (("numerator", "teller"), ("denominator", "nevner"), ("value", "verdi"),
                            ("lower_95", "nedre_95"), ("upper_99_8", "ovre_99_8"), ("national_value", "nasjonal_verdi")):
        tol = 0.05 + 1e-9 if rounded and col not in ("teller", "nevner") else 1e-9
        assert all(close(a, b, tol) for a, b in zip(back[col].to_list(), table[engine_col].to_list())), col
    assert back["flagg"].to_list() == table["flag"].to_list()


def assert_masked_empty(back: pl.DataFrame) -> None:
    hidden = back.filter(pl.col("flagg").is_in([*SUPPRESSION_FLAGS, NOT_REPORTED]))
    assert hidden.height > 0
    for column in SENSITIVE:
        assert hidden[column].null_count() == hidden.height, column


def test_parse_year_range():
    assert parse_year_range("2024") == (2024, 2024)
    assert parse_year_range("2022-2024") == (2022, 2024)
    assert parse_year_range("2022–2024") == (2022, 2024)
    for bad in ("2024-2022", "abc", "", "24", "2022-", "2022-2024-2025"):
        with pytest.raises(UsageError):
            parse_year_range(bad)


def test_list(capsys):
    status, out, err = run(capsys, "list")
    assert status == 0
    for ind in indicators.load_catalogue().indicators:
        assert ind.id in out
    header = out.splitlines()[0]
    for word in ("GROUP", "ID", "NAME", "UNIT", "STANDARDISED", "SOURCE"):
        assert word in header
    status, out, _ = run(capsys, "list", "--group", "barn_og_unge", "--format", "csv")
    in_group = [ind for ind in indicators.load_catalogue().indicators if ind.group == "barn_og_unge"]
    assert status == 0 and len(out.strip().splitlines()) == 1 + len(in_group) and len(in_group) > 3


@pytest.mark.parametrize("fmt", ["csv", "csv-plain", "json"])
def test_compute_to_stdout(capsysbinary, fmt):
    status = main(["compute", "--indicator", MASKED_IND, "--level", "kommune", "--years", "2023-2024", "--format", fmt])
    out = capsysbinary.readouterr().out
    assert status == 0
    table = indicators.compute(MASKED_IND, "kommune", years=[2023, 2024])
    if fmt == "csv":
        back = pl.read_csv(io.BytesIO(out), separator=";", decimal_comma=True, schema_overrides=STRING_IDS,
                           infer_schema_length=None, comment_prefix="#")
    elif fmt == "csv-plain":
        back = pl.read_csv(io.BytesIO(out), schema_overrides=STRING_IDS, infer_schema_length=None, comment_prefix="#")
    else:
        document = json.loads(out)
        assert document["metadata"]["syntetiske_data"] == "ja"
        back = pl.DataFrame(document["data"], infer_schema_length=None)
    assert_same(back, table, rounded=fmt != "json")
    assert_masked_empty(back)


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_compute_to_file(capsys, tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    status, _, err = run(capsys, "compute", "--indicator", LOCAL_IND, "--level", "kommune", "--years", "2024",
                         "--format", fmt, "--out", str(path))
    assert status == 0, err
    table = indicators.compute(LOCAL_IND, "kommune", years=[2024])
    if fmt == "parquet":
        back = pl.read_parquet(path)
        assert pq.read_schema(path).metadata[b"syntetiske_data"] == b"ja"
    else:
        back = pl.read_excel(path, sheet_name="data", engine="openpyxl", infer_schema_length=None)
    assert_same(back, table, rounded=fmt == "xlsx")
    assert_masked_empty(back)


def test_compute_pooled(capsysbinary):
    status = main(["compute", "--indicator", "barn_bup_kontakt", "--level", "helsefellesskap", "--years", "2023-2025",
                   "--pooled", "--format", "csv-plain"])
    out = capsysbinary.readouterr().out
    assert status == 0
    back = pl.read_csv(io.BytesIO(out), schema_overrides=STRING_IDS, comment_prefix="#")
    table = indicators.compute("barn_bup_kontakt", "helsefellesskap", period=indicators.Period(2023, 2025))
    assert_same(back, table)
    assert set(back["periode"].to_list()) == {"2023–2025"}


def test_export_directory(capsys, tmp_path):
    out = tmp_path / "eksport"
    status, _, err = run(capsys, "export", "--indicator", MASKED_IND, LOCAL_IND, "--level", "kommune",
                         "--years", "2024", "--out", str(out))
    assert status == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{MASKED_IND}.csv", f"{LOCAL_IND}.csv", "katalog.csv", "README.md", "metadata.json"])
    for ind_id in (MASKED_IND, LOCAL_IND):
        back = pl.read_csv(out / f"{ind_id}.csv", separator=";", decimal_comma=True, schema_overrides=STRING_IDS,
                           infer_schema_length=None, comment_prefix="#")
        assert_same(back, indicators.compute(ind_id, "kommune", years=[2024]))
        assert_masked_empty(back)
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "SYNTETISKE DEMODATA" in readme and "Prikking" in readme
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert set(meta) == {MASKED_IND, LOCAL_IND}
    katalog = pl.read_csv(out / "katalog.csv", separator=";", decimal_comma=True, comment_prefix="#")
    assert katalog.height == len(indicators.load_catalogue().indicators)


def test_export_group_parquet_skips_missing_years(capsys, tmp_path):
    """SP1 starts in 2022: a 2020-2022 export of its group exports what exists and says so."""
    out = tmp_path / "pf"
    status, _, err = run(capsys, "export", "--indicator", "kreft_sp1_behovskartlegging", "kreft_sp3_behovskartlegging",
                         "--level", "helsefellesskap", "--years", "2022", "--format", "parquet", "--out", str(out))
    assert status == 0, err
    assert "kreft_sp3_behovskartlegging has no data" in err
    assert (out / "kreft_sp1_behovskartlegging.parquet").exists()
    assert not (out / "kreft_sp3_behovskartlegging.parquet").exists()
    assert (out / "katalog.parquet").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compute", "--indicator", "nope", "--level", "kommune"], "unknown indicator 'nope'"),
        (["compute", "--indicator", MASKED_IND, "--level", "grunnkrets"], "unknown level 'grunnkrets'"),
        (["compute", "--indicator", MASKED_IND, "--level", "kommune", "--years", "2030"], "no data for"),
        (["compute", "--indicator", MASKED_IND, "--level", "kommune", "--years", "2010-2020"], "no data for"),
        (["compute", "--indicator", MASKED_IND, "--level", "kommune", "--years", "2024-2022"], "malformed year range"),
        (["compute", "--indicator", MASKED_IND, "--level", "kommune", "--years", "abc"], "malformed year range"),
        (["compute", "--indicator", MASKED_IND, "--level", "kommune", "--years", "2021-2023", "--pooled"],
         "not a published pooled period"),
        (["compute", "--indicator", MASKED_IND, "--level", "kommune", "--format", "parquet"], "give --out"),
        (["compute", "--indicator", MASKED_IND, "--level", "kommune", "--format", "docx"], "invalid choice"),
        (["export", "--group", "nope", "--level", "kommune", "--out", "x"], "unknown group 'nope'"),
        (["export", "--all", "--level", "kommune", "--years", "1999", "--out", "x"], "no data in 1999"),
        (["export", "--indicator", "nope", "--level", "kommune", "--out", "x"], "unknown indicator"),
        (["export", "--level", "kommune", "--out", "x"], "one of the arguments"),
        (["deck", "--helsefellesskap", "atlantis", "--out", "x.pptx"], "unknown helsefellesskap 'atlantis'"),
        (["deck", "--helsefellesskap", "oslo", "--years", "2025-2019", "--out", "x.pptx"], "malformed year range"),
        (["list", "--group", "nope"], "unknown group"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, tmp_path, argv, message):
    argv = [str(tmp_path / a) if a in ("x", "x.pptx") else a for a in argv]
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_module_entry_point_errors_without_traceback():
    """The real ``python -m indicators`` process: status 2, one line, no traceback."""
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "indicators", "compute", "--indicator", "nope", "--level", "kommune"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "unknown indicator 'nope'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    help_text = subprocess.run(
        [sys.executable, "-m", "indicators", "--help"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert help_text.returncode == 0 and "compute" in help_text.stdout and "deck" in help_text.stdout


def test_warm_fills_the_result_cache(tmp_path, monkeypatch, capsys):
    import yaml

    from indicators import computation
    from indicators.catalogue import CATALOGUE_PATH, _load
    from indicators.engine import clear_caches

    # Two indicators are enough to watch the cache fill (the whole catalogue cold takes minutes).
    raw = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    raw["indicators"] = [i for i in raw["indicators"] if i["id"] in ("barn_bup_kontakt", "psyk_reinnleggelse_30d")]
    raw.pop("cohorts", None)
    raw.pop("overlap", None)
    (tmp_path / "catalogue.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("STYRING_CATALOGUE", str(tmp_path / "catalogue.yaml"))
    monkeypatch.setenv("STYRING_CACHE_DIR", str(tmp_path / "cache"))
    _load.cache_clear()
    clear_caches()  # tables other tests computed in this process would not reach the disk
    try:
        assert main(["warm"]) == 0
        assert "computed 2 indicators" in capsys.readouterr().err
        # the whole catalogue (every indicator, period and level) is two cached tables: single years, pooled periods
        assert len(list((tmp_path / "cache").glob("*.parquet"))) == 2
        period = indicators.pooled_periods("barn_bup_kontakt")[0]
        before = indicators.compute("barn_bup_kontakt", "kommune", period=period)

        def must_not_run(*_args, **_kwargs):
            raise AssertionError("recomputed although the result cache holds the catalogue")

        clear_caches()  # as a fresh process: only the disk cache is left
        monkeypatch.setattr(computation, "catalogue_table", must_not_run)
        after = indicators.compute("barn_bup_kontakt", "kommune", period=period)
        assert after.equals(before)
    finally:
        monkeypatch.undo()
        _load.cache_clear()
        clear_caches()


# --- issue 14: the comparison levels -------------------------------------------------------------

@pytest.mark.parametrize("level, ids", [
    ("sentralitet", [str(i) for i in range(1, 7)]),
    ("kostragruppe", [f"EKG{i:02d}" for i in range(1, 18)]),
])
def test_compute_comparison_levels(capsysbinary, level, ids):
    """`compute --level sentralitet|kostragruppe`: every class or group once, the engine's rows, and the
    groups partition the country (their counts sum to the national row where none is hidden)."""
    status = main(["compute", "--indicator", "eldre_oh_innleggelser_80", "--level", level, "--years", "2024",
                   "--format", "csv-plain"])
    out = capsysbinary.readouterr().out
    assert status == 0
    back = pl.read_csv(io.BytesIO(out), schema_overrides=STRING_IDS, infer_schema_length=None, comment_prefix="#")
    assert sorted(back["omraade_id"].to_list()) == ids
    assert_same(back, indicators.compute("eldre_oh_innleggelser_80", level, years=[2024]))
    land = indicators.compute("eldre_oh_innleggelser_80", "land", years=[2024])
    if back["nevner"].null_count() == 0:
        assert back["nevner"].sum() == pytest.approx(land["denominator"][0])
        assert back["teller"].sum() == pytest.approx(land["numerator"][0])
    # The population of the groups is the population of their kommuner (reference file, SSB 2024).
    from data_loaders import reference

    members = reference.kommune_to_level(level)
    assert set(members["area_id"]) == set(ids)
