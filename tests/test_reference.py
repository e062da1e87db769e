"""Reference geography: 357 kommuner, 15 fylker, 19 helsefellesskap, one HF per kommune."""

from __future__ import annotations

import json

import polars as pl
import pytest

from data_loaders import reference
from tests.conftest import shared_path


def test_counts_of_the_2024_structure():
    assert reference.load_kommuner().height == 357
    assert reference.load_fylker().height == 15
    assert reference.load_helsefellesskap().height == 19


def test_every_kommune_in_exactly_one_helsefellesskap_and_all_19_used():
    mapping = reference.load_kommune_helsefellesskap()
    assert mapping["kommunenummer"].n_unique() == mapping.height == 357
    assert set(mapping["kommunenummer"]) == set(reference.load_kommuner()["kommunenummer"])
    assert mapping["helsefellesskap_id"].n_unique() == 19
    assert mapping["source"].str.len_chars().min() > 10


def test_kommune_fylke_follows_the_number():
    kommuner = reference.load_kommuner()
    assert (kommuner["kommunenummer"].str.slice(0, 2) == kommuner["fylkesnummer"]).all()


@pytest.mark.parametrize(
    ("kommunenummer", "helsefellesskap_id"),
    [
        ("1806", "troms-ofoten"),  # Narvik: Ofoten belongs to UNN
        ("1853", "troms-ofoten"),  # Evenes
        ("5501", "troms-ofoten"),  # Tromsø
        ("1811", "nord-trondelag"),  # Bindal, Nordland, served from Namsos
        ("1833", "helgeland"),  # Rana
        ("1804", "nordland"),  # Bodø
        ("0301", "oslo"),
        ("3201", "vestre-viken"),  # Bærum
        ("3401", "ahus"),  # Kongsvinger
        ("1580", "more-romsdal"),  # Haram, split from Ålesund in 2024
        ("4601", "bergen"),
        ("1106", "fonna"),  # Haugesund
        ("5061", "st-olav"),  # Rindal
    ],
)
def test_known_assignments_across_fylke_borders(kommunenummer, helsefellesskap_id):
    mapping = reference.load_kommune_helsefellesskap()
    row = mapping.filter(pl.col("kommunenummer") == kommunenummer)
    assert row["helsefellesskap_id"].to_list() == [helsefellesskap_id]


def test_helsefellesskap_have_their_rhf_and_partner_hospitals():
    hf = reference.load_helsefellesskap()
    counts = hf.group_by("rhf").len().sort("rhf")
    assert dict(counts.iter_rows()) == {
        "Helse Midt-Norge RHF": 3, "Helse Nord RHF": 4, "Helse Sør-Øst RHF": 8, "Helse Vest RHF": 4,
    }
    row = hf.filter(pl.col("helsefellesskap_id") == "troms-ofoten").row(0, named=True)
    assert row["helsefellesskap_navn"] == "Helsefellesskapet Troms og Ofoten"
    assert "UNN" in row["helseforetak"]
    assert "Haraldsplass" in hf.filter(pl.col("helsefellesskap_id") == "bergen")["samarbeidende_sykehus"][0]
    oslo = hf.filter(pl.col("helsefellesskap_id") == "oslo")["samarbeidende_sykehus"][0]
    assert "Lovisenberg" in oslo and "Diakonhjemmet" in oslo


def test_same_numbers_and_names_as_the_official_2024_kommune_file():
    path = shared_path("reference", "geo", "kommuner-2024-S.geojson")
    official = {
        f["properties"]["kommunenummer"]: f["properties"]["kommunenavn"]
        for f in json.loads(path.read_text(encoding="utf-8"))["features"]
    }
    ours = dict(reference.load_kommuner().select("kommunenummer", "kommunenavn").iter_rows())
    assert len(official) == 357
    assert ours == official


def test_same_fylker_as_the_official_2024_fylke_file():
    path = shared_path("reference", "geo", "fylker-2024-S.geojson")
    official = {f["properties"]["fylkesnummer"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]}
    assert set(reference.load_fylker()["fylkesnummer"]) == official


def _write_mapping(tmp_path, frame: pl.DataFrame):
    path = tmp_path / "mapping.csv"
    frame.write_csv(path)
    return path


def test_a_replacement_mapping_is_validated(tmp_path):
    mapping = reference.load_kommune_helsefellesskap()
    duplicated = pl.concat([mapping, mapping.head(1)])
    with pytest.raises(reference.ReferenceDataError, match="more than one helsefellesskap: 0301"):
        reference.load_kommune_helsefellesskap(_write_mapping(tmp_path, duplicated))
    missing = mapping.filter(pl.col("kommunenummer") != "5501")
    with pytest.raises(reference.ReferenceDataError, match="without helsefellesskap: 5501"):
        reference.load_kommune_helsefellesskap(_write_mapping(tmp_path, missing))
    unknown_hf = mapping.with_columns(
        pl.when(pl.col("kommunenummer") == "0301").then(pl.lit("atlantis")).otherwise(pl.col("helsefellesskap_id"))
        .alias("helsefellesskap_id")
    )
    with pytest.raises(reference.ReferenceDataError, match="unknown helsefellesskap_id: atlantis"):
        reference.load_kommune_helsefellesskap(_write_mapping(tmp_path, unknown_hf))
    no_source = mapping.drop("source")
    with pytest.raises(reference.ReferenceDataError, match="missing column"):
        reference.load_kommune_helsefellesskap(_write_mapping(tmp_path, no_source))


def test_area_table_gives_every_level_for_every_kommune():
    areas = reference.area_table()
    assert areas.height == 357
    for column in ("fylkesnavn", "helsefellesskap_navn", "helseforetak", "rhf"):
        assert areas[column].null_count() == 0, column
