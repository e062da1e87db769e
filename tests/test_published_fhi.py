"""FHI's published values (MEIS/RATE with SPVFLAGG) imported as published indicators."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data_loaders import store
from data_loaders.importers import ImportValidationError, import_files, init_store
from indicators import data, engine
from indicators.periods import Period

FIXTURES = Path(__file__).parent / "fixtures" / "import" / "fhi_published"


@pytest.fixture()
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'fhi.sqlite'}"
    init_store(store.get_engine(url))
    return url


def test_kommune_fylke_and_land_values_as_published(url):
    import_files([FIXTURES / "legemiddel_ok.csv"], "fhi-published", group="flere_kroniske",
                 name="Legemiddelbrukere", database_url=url)
    key = data.current_key(url)
    ind_id = "fhi_legemiddelbrukere"
    assert engine.pooled_periods(ind_id, key) == [Period(2023, 2025)]
    period = Period(2023, 2025)
    kommune = engine.compute(ind_id, "kommune", period=period, key=key)
    by_area = {r["area_id"]: r for r in kommune.iter_rows(named=True)}
    assert by_area["5501"]["value"] == 2.31  # MEIS, not RATE; KJONN 0 only
    assert by_area["5501"]["numerator"] == 180 and by_area["5501"]["denominator"] == 78000
    assert by_area["0301"]["value"] == 2.09  # GEO 301 is Oslo's 0301
    assert by_area["5503"]["flag"] == engine.SUPPRESSED and by_area["5503"]["value"] is None  # SPVFLAGG 3
    assert engine.compute(ind_id, "fylke", period=period, key=key)["value"].to_list() == [2.65]
    land = engine.compute(ind_id, "land", period=period, key=key).row(0, named=True)
    assert land["value"] == 1.86 and by_area["5501"]["national_value"] == 1.86
    assert "Publisert av FHI" in land["method"]


@pytest.mark.parametrize(("name", "expected"), [
    ("legemiddel_ukjent_kommune.csv", "row 3, column \"GEO\": ukjent område «9999»"),
    ("legemiddel_ukjent_flagg.csv", "ukjent SPVFLAGG «7»"),
    ("legemiddel_uten_verdi.csv", "mangler kolonne(r) MEIS eller RATE"),
])
def test_bad_files_name_file_row_and_write_nothing(url, name, expected):
    with pytest.raises(ImportValidationError) as caught:
        import_files([FIXTURES / "legemiddel_ok.csv", FIXTURES / name], "fhi-published", group="flere_kroniske",
                     database_url=url)
    assert name in str(caught.value) and expected in str(caught.value)
    assert store.load_datasets(store.get_engine(url)).height == 0


def test_group_is_required(url):
    with pytest.raises(ImportValidationError, match="trenger --group"):
        import_files([FIXTURES / "legemiddel_ok.csv"], "fhi-published", database_url=url)
