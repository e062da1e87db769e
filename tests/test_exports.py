"""Downloads: every format round-trips to the engine's table, carries its metadata and never
contains a suppressed figure (checked against the engine's unsuppressed internal table)."""

from __future__ import annotations

import io
import json
import math

import polars as pl
import pyarrow.parquet as pq
import pytest

import indicators
from outputs import exports
from indicators.engine import NOT_REPORTED, SUPPRESSION_FLAGS, Period, _period_table

MASKED_IND = "psyk_reinnleggelse_30d"  # register denominator: small counts and secondary masks
LOCAL_IND = "kreft_sp2_behovskartlegging"  # local registration: mostly "not_reported"
YEAR = 2024
FORMATS = ("csv", "csv-plain", "xlsx", "parquet", "json")
NUMERIC = {
    "numerator": "teller", "denominator": "nevner", "value": "verdi", "lower_95": "nedre_95",
    "upper_95": "ovre_95", "lower_99_8": "nedre_99_8", "upper_99_8": "ovre_99_8",
    "crude_value": "ujustert_verdi", "national_value": "nasjonal_verdi",
}
SENSITIVE = ("teller", "verdi", "nedre_95", "ovre_95", "nedre_99_8", "ovre_99_8", "ujustert_verdi")
STRING_IDS = {"omraade_id": pl.String, "periode": pl.String}


def read_back(content: bytes, fmt: str) -> pl.DataFrame:
    """Read an export the way an analyst would."""
    if fmt == "csv":
        assert content.startswith(b"\xef\xbb\xbf"), "the Norwegian CSV starts with a BOM for Excel"
        return pl.read_csv(io.BytesIO(content), separator=";", decimal_comma=True, schema_overrides=STRING_IDS,
                           infer_schema_length=None, comment_prefix="#")
    if fmt == "csv-plain":
        assert not content.startswith(b"\xef\xbb\xbf")
        return pl.read_csv(io.BytesIO(content), schema_overrides=STRING_IDS, infer_schema_length=None,
                           comment_prefix="#")
    if fmt == "xlsx":
        return pl.read_excel(io.BytesIO(content), sheet_name="data", engine="openpyxl", infer_schema_length=None)
    if fmt == "parquet":
        return pl.read_parquet(io.BytesIO(content))
    return pl.DataFrame(json.loads(content)["data"], infer_schema_length=None)


@pytest.fixture(scope="module")
def masked_table() -> pl.DataFrame:
    table = indicators.compute(MASKED_IND, "kommune", years=[YEAR])
    assert table.filter(pl.col("flag").is_in(list(SUPPRESSION_FLAGS))).height > 0, "fixture needs masked rows"
    return table


@pytest.fixture(scope="module")
def local_table() -> pl.DataFrame:
    table = indicators.compute(LOCAL_IND, "kommune", years=[YEAR])
    assert table.filter(pl.col("flag") == NOT_REPORTED).height > 0
    return table


@pytest.fixture(scope="module")
def raw_numerators() -> dict[str, float]:
    """The engine's unsuppressed numerators of the masked kommune cells (test-only access)."""
    raw = _period_table(indicators.current_key(), MASKED_IND, Period(YEAR, YEAR)).filter(
        (pl.col("level") == "kommune") & pl.col("suppression").is_not_null()
    )
    assert raw.height > 0
    return dict(zip(raw["area_id"].to_list(), raw["numerator"].to_list()))


ROUNDED = ("csv", "csv-plain", "xlsx")  # values rounded to the indicator's display decimals


def tolerance(fmt: str, column: str) -> float:
    """Half a unit in the last shown decimal (the masked/local indicators here are per cent or
    per 1 000: one decimal) for rounded formats; counts and full-precision formats stay exact."""
    if fmt in ROUNDED and column not in ("teller", "nevner"):
        return 0.05 + 1e-9
    return 1e-9


def assert_matches_engine(back: pl.DataFrame, table: pl.DataFrame, fmt: str = "parquet") -> None:
    assert back.height == table.height
    assert back["omraade_id"].cast(pl.String).to_list() == table["area_id"].to_list()
    assert back["periode"].cast(pl.String).to_list() == table["period"].to_list()
    assert back["flagg"].to_list() == table["flag"].to_list()
    assert back["spvflagg"].to_list() == table["spvflagg"].to_list()
    for engine_col, export_col in NUMERIC.items():
        expected = table[engine_col].to_list()
        got = back[export_col].to_list()
        for e, g in zip(expected, got):
            if e is None:
                assert g is None, f"{export_col}: null became {g!r}"
            else:
                assert g is not None and math.isclose(float(g), e, rel_tol=1e-9,
                                                      abs_tol=tolerance(fmt, export_col)), (export_col, e, g)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_equals_engine(masked_table, fmt):
    metadata = exports.export_metadata(MASKED_IND, masked_table)
    content, mime, ext = exports.export_bytes(masked_table, metadata, fmt)
    assert ext == {"csv-plain": "csv"}.get(fmt, fmt)
    assert mime
    back = read_back(content, fmt)
    assert_matches_engine(back, masked_table, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_not_reported_stays_null(local_table, fmt):
    """"Ikke rapportert" is empty, never 0, in every format."""
    content, _, _ = exports.export_bytes(local_table, exports.export_metadata(LOCAL_IND, local_table), fmt)
    back = read_back(content, fmt)
    assert_matches_engine(back, local_table, fmt)
    unreported = back.filter(pl.col("flagg") == NOT_REPORTED)
    assert unreported.height > 0
    for column in (*SENSITIVE, "nevner"):
        assert unreported[column].null_count() == unreported.height, column


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_masked_figure_in_any_format(masked_table, raw_numerators, fmt):
    content, _, _ = exports.export_bytes(masked_table, exports.export_metadata(MASKED_IND, masked_table), fmt)
    back = read_back(content, fmt)
    masked = back.filter(pl.col("flagg").is_in(list(SUPPRESSION_FLAGS)))
    assert set(masked["omraade_id"].cast(pl.String).to_list()) == set(raw_numerators)
    for column in (*SENSITIVE, "nevner"):  # the denominator is a register count here: masked too
        assert masked[column].null_count() == masked.height, column
    numeric = [c for c, t in back.schema.items() if t.is_numeric()]
    for row in masked.iter_rows(named=True):
        raw = raw_numerators[str(row["omraade_id"])]
        figures = [row[c] for c in numeric if c not in ("fra_aar", "til_aar", "spvflagg", "antall_kommuner",
                                                         "rapporterende_kommuner")]
        assert raw not in figures, f"masked numerator {raw} of {row['omraade_id']} appears in the {fmt} export"


def test_refuses_unmasked_suppressed_row(masked_table):
    """Defence in depth: a masked row that regained a figure is refused in every format."""
    leaked = masked_table.with_columns(
        pl.when(pl.col("flag") == "suppressed").then(pl.lit(3.0)).otherwise(pl.col("numerator")).alias("numerator")
    )
    metadata = exports.export_metadata(MASKED_IND, masked_table)
    for fmt in FORMATS:
        with pytest.raises(exports.UnsafeExportError, match="suppressed or not reported"):
            exports.export_bytes(leaked, metadata, fmt)
    value_leak = masked_table.with_columns(
        pl.when(pl.col("flag") == "suppressed").then(pl.lit(12.5)).otherwise(pl.col("upper_95")).alias("upper_95")
    )
    with pytest.raises(exports.UnsafeExportError):
        exports.export_bytes(value_leak, metadata, "csv")
    denominator_leak = masked_table.with_columns(
        pl.when(pl.col("flag") == "suppressed").then(pl.lit(40.0)).otherwise(pl.col("denominator")).alias("denominator")
    )
    with pytest.raises(exports.UnsafeExportError):
        exports.export_bytes(denominator_leak, metadata, "parquet")
    with pytest.raises(exports.UnsafeExportError, match="no 'flag' column"):
        exports.export_bytes(masked_table.drop("flag"), metadata, "csv")


def test_refuses_not_reported_denominator(local_table):
    leaked = local_table.with_columns(
        pl.when(pl.col("flag") == NOT_REPORTED).then(pl.lit(7.0)).otherwise(pl.col("denominator")).alias("denominator")
    )
    with pytest.raises(exports.UnsafeExportError):
        exports.export_bytes(leaked, exports.export_metadata(LOCAL_IND, local_table), "xlsx")


def test_unknown_format(masked_table):
    with pytest.raises(ValueError, match="unknown export format"):
        exports.export_bytes(masked_table, {}, "docx")


def test_metadata_fields(masked_table):
    metadata = exports.export_metadata(MASKED_IND, masked_table)
    ind = indicators.load_catalogue().indicator(MASKED_IND)
    datasets = indicators.data.datasets(indicators.current_key())
    assert metadata["definisjon"] == ind.description
    assert ind.numerator.label in metadata["teller"] and ind.denominator.label in metadata["nevner"]
    assert metadata["enhet"] == "prosent"
    assert metadata["standardisering"].startswith("Ikke standardisert")
    assert metadata["kilde"] == "NPR"
    assert metadata["perioder"] == str(YEAR)
    assert metadata["uttrekksdato"] == datasets["extraction_date"][0]
    assert str(ind.suppression_threshold) in metadata["prikkingsregel"]
    for flag in SUPPRESSION_FLAGS:
        assert flag in metadata["flagg"]
    assert metadata["syntetiske_data"] == "ja"
    assert metadata["advarsel"].startswith("SYNTETISKE DEMODATA")
    assert all(isinstance(v, str) for v in metadata.values())
    with pytest.raises(KeyError, match="unknown indicator"):
        exports.export_metadata("nope", masked_table)


def test_csv_is_one_clean_table_with_metadata_columns(masked_table):
    metadata = exports.export_metadata(MASKED_IND, masked_table)
    content, _, _ = exports.export_bytes(masked_table, metadata, "csv")
    text = content.decode("utf-8-sig")
    lines = text.splitlines()
    # the synthetic-data warning is in the file itself: one comment line, then the table
    assert lines[0].startswith("# SYNTETISKE DEMODATA")
    assert lines[1].startswith("indikator_id;nivaa;omraade_id;omraade;periode")
    assert sum(line.startswith("#") for line in lines) == 1
    back = read_back(content, "csv")
    for column in ("indikator", "definisjon", "teller_definisjon", "nevner_definisjon", "enhet", "standardisering",
                   "kilde", "uttrekksdato", "prikkingsregel", "syntetiske_data"):
        assert column in back.columns
        assert back[column].null_count() == 0, column
    assert set(back["syntetiske_data"].to_list()) == {"ja"}
    assert set(back["definisjon"].to_list()) == {metadata["definisjon"]}
    # decimal comma in the Norwegian CSV, decimal point in the plain one
    row = next(line for line in lines[2:] if ";ok;" in line)
    assert "," in row.split(";")[9]
    plain, _, _ = exports.export_bytes(masked_table, metadata, "csv-plain")
    assert plain.decode("utf-8").startswith("# SYNTETISKE DEMODATA")
    # Norwegian words in both dialects: ja/nei, never true/false
    assert set(read_back(plain, "csv-plain")["syntetiske_data"].to_list()) == {"ja"}
    for line in plain.decode("utf-8").splitlines()[1:]:
        assert ",true," not in line and ",false," not in line and not line.endswith((",true", ",false"))


def test_csv_and_excel_round_to_the_indicator_decimals(masked_table):
    """Values carry the indicator's decimals (one for per cent), not 15; Parquet keeps them all."""
    metadata = exports.export_metadata(MASKED_IND, masked_table)
    shown = masked_table.filter(pl.col("value").is_not_null())
    full = shown["value"].to_list()
    assert any(abs(v * 10 - round(v * 10)) > 1e-6 for v in full), "fixture needs values with more decimals"
    for fmt in ("csv", "csv-plain", "xlsx"):
        back = read_back(exports.export_bytes(masked_table, metadata, fmt)[0], fmt)
        values = back.filter(pl.col("verdi").is_not_null())["verdi"].to_list()
        assert all(abs(v * 10 - round(v * 10)) < 1e-6 for v in values), fmt
        assert [round(v, 1) for v in full] == values, fmt
    text = exports.export_bytes(masked_table, metadata, "csv")[0].decode("utf-8-sig")
    assert not any(len(cell.split(",")[-1]) > 3 for line in text.splitlines()[2:] for cell in line.split(";")
                   if cell.replace(",", "").replace("-", "").isdigit() and "," in cell)
    parquet = read_back(exports.export_bytes(masked_table, metadata, "parquet")[0], "parquet")
    assert parquet.filter(pl.col("verdi").is_not_null())["verdi"].to_list() == full


def test_direction_in_words():
    profile = indicators.profile("oslo", 2024)
    if "direction" not in profile.columns:
        pytest.skip("the profile has no direction column")
    metadata = exports.export_metadata(profile["indicator_id"].to_list(), profile)
    for fmt in ("csv", "csv-plain"):
        back = read_back(exports.export_bytes(profile, metadata, fmt)[0], fmt)
        assert not set(back["retning"].to_list()) & {"higher_is_better", "lower_is_better", "neutral"}


def test_multi_indicator_csv_metadata_per_row(masked_table, local_table):
    both = pl.concat([masked_table, local_table])
    metadata = exports.export_metadata([MASKED_IND, LOCAL_IND], both)
    assert MASKED_IND in metadata["definisjon"] and LOCAL_IND in metadata["definisjon"]
    back = read_back(exports.export_bytes(both, metadata, "csv-plain")[0], "csv-plain")
    catalogue = indicators.load_catalogue()
    for ind_id in (MASKED_IND, LOCAL_IND):
        rows = back.filter(pl.col("indikator_id") == ind_id)
        assert set(rows["definisjon"].to_list()) == {catalogue.indicator(ind_id).description}


def test_xlsx_and_parquet_carry_metadata(masked_table):
    from openpyxl import load_workbook

    metadata = exports.export_metadata(MASKED_IND, masked_table)
    workbook = load_workbook(io.BytesIO(exports.export_bytes(masked_table, metadata, "xlsx")[0]))
    assert workbook.sheetnames == ["data", "metadata"]
    fields = {row[0]: row[1] for row in workbook["metadata"].iter_rows(min_row=2, values_only=True)}
    assert fields["advarsel"].startswith("SYNTETISKE DEMODATA")
    assert workbook["metadata"]["B2"].value.startswith("SYNTETISKE DEMODATA"), "the warning comes first"
    assert fields["definisjon"] == metadata["definisjon"]
    schema = pq.read_schema(io.BytesIO(exports.export_bytes(masked_table, metadata, "parquet")[0]))
    kv = {k.decode(): v.decode() for k, v in schema.metadata.items()}
    for key in ("definisjon", "teller", "nevner", "enhet", "standardisering", "kilde", "perioder", "uttrekksdato",
                "prikkingsregel", "flagg", "syntetiske_data"):
        assert kv[key] == metadata[key]


def test_profile_table_exports(masked_table):
    """Tables other than ``compute`` output (e.g. a profile) export too, still checked."""
    table = masked_table.select("indicator_id", "area_id", "area_name", "period", "value", "flag").head(20)
    metadata = exports.export_metadata(MASKED_IND, table)
    back = read_back(exports.export_bytes(table, metadata, "csv")[0], "csv")
    assert back.columns[:6] == ["indikator_id", "omraade_id", "omraade", "periode", "verdi", "flagg"]


def test_catalogue_export():
    frame = exports.catalogue_frame()
    assert frame.height == len(indicators.load_catalogue().indicators)
    content, _, ext = exports.catalogue_bytes("csv")
    back = pl.read_csv(io.BytesIO(content), separator=";", decimal_comma=True, comment_prefix="#")
    assert ext == "csv" and back["indikator_id"].to_list() == frame["indikator_id"].to_list()


def test_profile_export_in_every_format():
    """The dashboard's profile download: a table with its own name/source/unit columns."""
    profile = indicators.profile("oslo", 2024)
    ids = profile["indicator_id"].to_list()
    metadata = exports.export_metadata(ids, profile)
    for fmt in FORMATS:
        content, _, _ = exports.export_bytes(profile, metadata, fmt)
        back = read_back(content, fmt)
        assert back.height == profile.height
        assert len(set(back.columns)) == len(back.columns)
        assert back["indikator"].to_list() == profile["name"].to_list()
        hidden = [v is None for v in profile["value"].to_list()]
        assert [v is None for v in back["verdi"].to_list()] == hidden
