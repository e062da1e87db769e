"""Reference geography: 357 kommuner, Oslo's bydeler, 15 fylker, 19 helsefellesskap, SKDE's 21
helseforetak areas and SSB's classifications; checked against SKDE's and SSB's own tables."""

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
        ("1811", "helgeland"),  # Bindal, Nordland: Helgeland in SKDE's table (Helse Nord's responsibility)
        ("1851", "troms-ofoten"),  # Lødingen: one of the 24 kommuner of Troms og Ofoten
        ("3417", "ahus"),  # Grue: Kongsvinger sykehus belongs to Ahus since 1.2.2019
        ("3234", "innlandet"),  # Lunner
        ("4635", "bergen"),  # Gulen
        ("4619", "bergen"),  # Eidfjord
        ("5020", "nord-trondelag"),  # Osen
        ("3216", "ostfold"),  # Vestby: Sykehuset Østfold since 2018
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
    # Names as the partnerships use them (Helsedirektoratet's status report, seed 004); short names for charts.
    names = dict(hf.select("helsefellesskap_id", "helsefellesskap_navn").iter_rows())
    assert names["stavanger"] == "Helsefellesskap Sør-Rogaland"
    assert names["forde"] == "Sogn og Fjordane helsefellesskap"
    assert hf["kortnavn"].str.len_chars().max() <= 20
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


def test_area_table_gives_the_classifications_of_every_kommune():
    areas = reference.area_table()
    assert areas["sentralitet"].null_count() == 0 and areas["kostragruppe"].null_count() == 0
    row = areas.filter(pl.col("kommunenummer") == "0301").row(0, named=True)
    assert (row["sentralitet"], row["kostragruppe"]) == ("1", "EKG13")
    assert areas.filter(pl.col("kommunenummer") == "1151")["sentralitet"].to_list() == ["6"]  # Utsira
    assert sorted(areas["sentralitet"].unique()) == ["1", "2", "3", "4", "5", "6"]
    assert areas["kostragruppe"].n_unique() == 17


# --- bydeler, helseforetak areas and area units ---------------------------------------------

OSLO_SECTORS = {
    "ahus": ["030110", "030111"],  # Grorud, Stovner
    "lovisenberg": ["030101", "030102", "030104"],  # Gamle Oslo, Grünerløkka, St. Hanshaugen
    "diakonhjemmet": ["030105", "030106", "030107"],  # Frogner, Ullern, Vestre Aker
}


def test_oslo_bydeler_and_their_hospital_sectors():
    bydeler = reference.load_bydeler()
    assert bydeler["bydel"].to_list() == [f"0301{i:02d}" for i in range(1, 18)] + ["030199"]
    assert (bydeler["kommunenummer"] == "0301").all()
    names = dict(bydeler.select("bydel", "bydelsnavn").iter_rows())
    assert (names["030110"], names["030111"], names["030112"], names["030199"]) == (
        "Grorud", "Stovner", "Alna", "Uoppgitt bydel")
    sector = dict(bydeler.select("bydel", "helseforetak_id").iter_rows())
    for hf_id, codes in OSLO_SECTORS.items():
        assert [b for b, h in sector.items() if h == hf_id] == codes
    assert {b for b, h in sector.items() if h == "ous"} == set(sector) - {c for codes in OSLO_SECTORS.values() for c in codes}


def test_21_helseforetak_areas_with_their_rhf():
    hf = reference.load_helseforetak()
    assert hf.height == reference.HELSEFORETAK_COUNT == 21
    assert dict(hf.group_by("rhf").len().iter_rows()) == {
        "Helse Nord RHF": 4, "Helse Midt-Norge RHF": 3, "Helse Vest RHF": 4, "Helse Sør-Øst RHF": 10,
    }
    # Every area is used: by the helsefellesskap of unsplit kommuner or by a bydel.
    used = set(reference.load_helsefellesskap()["helseforetak_id"].drop_nulls()) | set(reference.load_bydeler()["helseforetak_id"])
    assert used == set(hf["helseforetak_id"])


def test_unit_table_splits_oslo_into_bydeler():
    units = reference.unit_table()
    assert units.height == 356 + 18
    assert units["unit"].to_list() == sorted(units["unit"].to_list())
    assert "0301" not in set(units["unit"])
    for column in reference.UNIT_LEVEL_COLUMNS.values():
        if column != "bydel":
            assert units[column].null_count() == 0, column
    oslo = units.filter(pl.col("kommunenummer") == "0301")
    assert oslo.height == 18 and (oslo["helsefellesskap_id"] == "oslo").all() and (oslo["sentralitet"] == "1").all()
    grorud = units.filter(pl.col("unit") == "030110").row(0, named=True)
    assert (grorud["unit_name"], grorud["bydel"], grorud["helseforetak_id"], grorud["fylkesnummer"]) == (
        "Grorud", "030110", "ahus", "03")
    tromso = units.filter(pl.col("unit") == "5501").row(0, named=True)
    assert tromso["bydel"] is None and tromso["helseforetak_id"] == "troms-ofoten"


def test_levels_and_their_unit_columns():
    assert reference.LEVELS[-1] == "land"
    assert set(reference.UNIT_LEVEL_COLUMNS) == set(reference.LEVELS) - {"land"}
    assert set(reference.LEVEL_LABELS) == set(reference.LEVELS)
    assert reference.area_names("sentralitet")["area_id"].to_list() == ["1", "2", "3", "4", "5", "6"]
    assert reference.area_names("kostragruppe")["area_id"].to_list() == [f"EKG{i:02d}" for i in range(1, 18)]
    assert reference.area_names("helseforetak").height == 21


def test_every_reference_row_has_a_source():
    for frame in (reference.load_helseforetak(), reference.load_bydeler(), reference.load_klassifisering(),
                  reference.load_grupper(), reference.load_befolkning(), reference.load_kommune_helsefellesskap()):
        assert frame["source"].str.len_chars().min() > 5
    assert (reference.load_befolkning()["source"].str.contains("SSB, tabell 07459 (NLOD 2.0)", literal=True)).all()
    oslo = reference.load_kommune_helsefellesskap().filter(pl.col("kommunenummer") == "0301")["source"][0]
    assert "fire sykehussektorer" in oslo  # the file says why Oslo is one helsefellesskap but four HF areas


# --- against SKDE's table (../shared/real, April 2026) ----------------------------------------


def _skde() -> pl.DataFrame:
    return pl.read_csv(shared_path("real", "skde-opptaksomrader.csv"), infer_schema=False)


def _hf_area_names() -> dict[str, str]:
    return dict(reference.load_helseforetak().select("helseforetak_id", "helseforetak_navn").iter_rows())


def test_every_unit_is_in_skdes_helseforetak_area():
    """Every kommune and bydel, by SKDE's area name (bohf_navn); SKDE's file is never copied."""
    skde = _skde()
    names = _hf_area_names()
    ours = reference.unit_table().select("unit", pl.col("helseforetak_id").replace_strict(names).alias("ours"))
    kommuner = skde.filter(pl.col("bydel").is_null() & pl.col("komnr").is_not_null()).select(
        pl.col("komnr").alias("unit"), pl.col("bohf_navn").alias("skde"))
    bydeler = skde.filter(pl.col("komnr") == "0301").filter(pl.col("bydel").is_not_null()).select(
        pl.col("bydel").alias("unit"), pl.col("bohf_navn").alias("skde"))
    joined = ours.join(pl.concat([kommuner, bydeler]), on="unit", how="left")
    assert joined.height == 374 and joined["skde"].null_count() == 0
    wrong = joined.filter(pl.col("ours") != pl.col("skde"))
    assert wrong.height == 0, wrong.to_dicts()
    assert sorted(set(names.values())) == sorted(set(skde["bohf_navn"]) - {"Oslo", "Indre Oslo", "Utlandet", "Ukjent",
                                                                         "Helse Nord", "Norge"})


def test_every_helsefellesskap_equals_skdes_area_except_oslo():
    skde = _skde().filter(pl.col("bydel").is_null() & pl.col("komnr").is_not_null())
    names = _hf_area_names()
    hf_area = dict(reference.load_helsefellesskap().select("helsefellesskap_id", "helseforetak_id").iter_rows())
    mapping = reference.load_kommune_helsefellesskap().join(
        skde.select(pl.col("komnr").alias("kommunenummer"), "bohf_navn"), on="kommunenummer", how="left")
    assert mapping["bohf_navn"].null_count() == 0
    whole = mapping.filter(pl.col("helsefellesskap_id") != "oslo").with_columns(
        pl.col("helsefellesskap_id").replace_strict(hf_area).replace_strict(names).alias("ours"))
    wrong = whole.filter(pl.col("ours") != pl.col("bohf_navn"))
    assert wrong.height == 0, wrong.select("kommunenummer", "helsefellesskap_id", "bohf_navn").to_dicts()
    # Oslo: one helsefellesskap over four hospital sectors; SKDE's kommune row says just "Oslo".
    assert mapping.filter(pl.col("helsefellesskap_id") == "oslo")["bohf_navn"].to_list() == ["Oslo"]


@pytest.mark.parametrize(("unit", "area"), [
    ("1851", "UNN"),  # Lødingen in Troms og Ofoten
    ("3417", "Akershus"),  # Grue in Ahus
    ("030110", "Akershus"),  # Grorud
    ("030111", "Akershus"),  # Stovner
    ("030101", "Lovisenberg"),
    ("030107", "Diakonhjemmet"),
    ("030112", "OUS"),  # Alna, from January 2026
])
def test_named_cases_match_skde(unit, area):
    skde = _skde()
    column = "bydel" if len(unit) == 6 else "komnr"
    row = skde.filter((pl.col(column) == unit) & (pl.col("bydel").is_null() if column == "komnr" else pl.lit(True)))
    assert row["bohf_navn"].to_list() == [area]
    ours = reference.unit_table().filter(pl.col("unit") == unit)["helseforetak_id"].replace_strict(_hf_area_names())
    assert ours.to_list() == [area]


def test_rhf_matches_skde_for_every_kommune():
    skde = _skde().filter(pl.col("bydel").is_null() & pl.col("komnr").is_not_null()).select(
        pl.col("komnr").alias("kommunenummer"), "borhf_navn")
    joined = reference.area_table().select("kommunenummer", "rhf").join(skde, on="kommunenummer")
    assert joined.height == 357
    assert joined.filter(pl.col("rhf") != pl.col("borhf_navn")).height == 0


# --- against SSB's population (../shared/real, NLOD 2.0) ---------------------------------------


def test_population_facts_match_ssb():
    totals = pl.read_csv(shared_path("real", "ssb-population-kommune-totals.csv"), infer_schema=False)
    facts = reference.load_befolkning()
    for year, column in ((2024, "folketall_2024"), (2020, "folketall_2020")):
        ssb = totals.filter(pl.col("year") == str(year)).select(
            pl.col("kommunenummer").alias("kode"), pl.col("population").cast(pl.Int64).alias("ssb"))
        joined = facts.filter(pl.col("kode").str.len_chars() == 4).join(ssb, on="kode", how="left")
        present = joined.filter(pl.col(column).is_not_null())
        assert present.filter(pl.col(column) != pl.col("ssb")).height == 0, year
    assert facts.filter(pl.col("kode").str.len_chars() == 4)["folketall_2024"].sum() == 5_550_203
    assert facts.filter(pl.col("folketall_2020").is_null())["kode"].to_list() == ["1508", "1580"]
    # Oslo = its bydeler + "uoppgitt bydel" (1 449 persons in 2024)
    oslo = facts.filter(pl.col("kode").str.starts_with("0301"))
    assert oslo.filter(pl.col("kode").str.len_chars() == 6)["folketall_2024"].sum() == 717_710
    assert oslo.filter(pl.col("kode") == "030199")["folketall_2024"].to_list() == [1449]


def test_bydel_population_and_shares_match_ssb_parquet():
    path = shared_path("real", "ssb-population-kommune.parquet")
    ssb = (
        pl.read_parquet(path).filter((pl.col("year") == 2024) & pl.col("area_code").str.starts_with("0301"))
        .group_by("area_code").agg(
            pl.col("population").sum().alias("total"),
            (pl.col("population").filter(pl.col("age") >= 67).sum() / pl.col("population").sum() * 100).alias("s67"),
            (pl.col("population").filter(pl.col("age") >= 80).sum() / pl.col("population").sum() * 100).alias("s80"),
        )
    )
    joined = reference.load_befolkning().join(ssb, left_on="kode", right_on="area_code")
    assert joined.height == 18  # Oslo and its 17 bydeler (uoppgitt is not in SSB's table)
    assert (joined["folketall_2024"] == joined["total"]).all()
    assert (joined["andel_67_pluss"] - joined["s67"]).abs().max() < 0.051
    assert (joined["andel_80_pluss"] - joined["s80"]).abs().max() < 0.051
