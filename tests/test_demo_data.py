"""The synthetic demo data: deterministic, plausible, calibrated, and consistent with the store."""

from __future__ import annotations

import copy

import polars as pl
import pytest

from data_loaders import reference, store
from data_loaders.demo import build_demo_store, generate, load_parameters
from data_loaders.schema import AGE_BAND_LABELS
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def demo():
    return generate()


def test_generation_is_deterministic(demo):
    again = generate()
    assert demo.population.equals(again.population)
    assert demo.counts.equals(again.counts)
    assert demo.coverage.equals(again.coverage)


def test_another_seed_gives_other_numbers(demo):
    params = copy.deepcopy(load_parameters())
    params["seed"] += 1
    other = generate(params)
    assert not demo.counts.equals(other.counts)
    assert other.population["population"].sum() == pytest.approx(demo.population["population"].sum(), rel=0.01)


def _kommune_totals(demo, year=2024) -> dict[str, int]:
    frame = demo.population.filter(pl.col("year") == year).group_by("kommunenummer").agg(pl.col("population").sum())
    return dict(frame.iter_rows())


def test_population_totals_are_plausible(demo):
    totals = _kommune_totals(demo)
    assert len(totals) == 374  # area units: 356 unsplit kommuner and Oslo's 18 bydeler
    assert sum(totals.values()) == 5_550_203  # Norway 1.1.2024 (SSB)
    assert sum(v for k, v in totals.items() if k.startswith("0301")) == 717_710  # Oslo, summed over its bydeler
    assert min(totals.values()) < 400  # Utsira
    assert sorted(totals.values())[10] < 1_000  # a handful of kommuner with a few hundred people
    by_year = demo.population.group_by("year").agg(pl.col("population").sum()).sort("year")["population"].to_list()
    assert by_year == sorted(by_year)  # the country grows


def _shares(demo, year: int) -> pl.DataFrame:
    return demo.population.filter(pl.col("year") == year).group_by("kommunenummer").agg(
        pl.col("population").sum().alias("total"),
        (pl.col("population").filter(pl.col("age_band").is_in(OLD_67)).sum() / pl.col("population").sum() * 100).alias("s67"),
        (pl.col("population").filter(pl.col("age_band").is_in(OLD_67[3:])).sum() / pl.col("population").sum() * 100)
        .alias("s80"),
    )


OLD_67 = ["67-69", "70-74", "75-79", "80-84", "85-89", "90+"]
@pytest.mark.parametrize(("unit", "total_2024", "share_67", "share_80"), [
    ("0301", 717_710, 11.5, 3.2),  # Oslo (summed over its bydeler)
    ("5544", 4_794, 20.7, 5.5),  # Nordreisa: the example (the old demo gave 26 297)
    ("1824", 13_469, 20.2, 6.3),  # Vefsn (the old demo gave 1 193)
    ("4207", 9_279, 19.5, 5.8),  # Flekkefjord
    ("1151", 215, 18.6, 4.7),  # Utsira
    ("030110", 28_065, 12.2, 3.5),  # Grorud
    ("030116", 1_528, 2.6, 0.7),  # Sentrum
])
def test_named_units_follow_ssb(demo, unit, total_2024, share_67, share_80):
    shares = _shares(demo, 2024).rename({"kommunenummer": "unit"})
    if unit == "0301":
        row = demo.population.filter((pl.col("year") == 2024) & pl.col("kommunenummer").str.starts_with("0301"))
        total = row["population"].sum()
        s67 = row.filter(pl.col("age_band").is_in(OLD_67))["population"].sum() / total * 100
        s80 = row.filter(pl.col("age_band").is_in(OLD_67[3:]))["population"].sum() / total * 100
    else:
        total, s67, s80 = shares.filter(pl.col("unit") == unit).select("total", "s67", "s80").row(0)
    assert abs(total / total_2024 - 1) <= 0.02
    assert abs(s67 - share_67) <= 1.0 and abs(s80 - share_80) <= 1.0


def test_every_unit_follows_the_appendix(demo):
    """Every kommune and Oslo bydel: 2024 total within 2 %, shares 67+ and 80+ within one
    percentage point, and the 2020 -> 2024 change in the right direction."""
    facts = reference.load_befolkning()
    joined = _shares(demo, 2024).join(
        _shares(demo, 2020).select("kommunenummer", pl.col("total").alias("total_2020")), on="kommunenummer"
    ).join(facts, left_on="kommunenummer", right_on="kode", how="left")
    assert joined.height == 374 and joined["folketall_2024"].null_count() == 0
    assert (joined["total"] / joined["folketall_2024"] - 1).abs().max() <= 0.02
    shares = joined.filter(pl.col("andel_67_pluss").is_not_null())
    assert shares.height == 373  # all but "uoppgitt bydel"
    assert (shares["s67"] - shares["andel_67_pluss"]).abs().max() <= 1.0
    assert (shares["s80"] - shares["andel_80_pluss"]).abs().max() <= 1.0
    both = joined.filter(pl.col("folketall_2020").is_not_null())
    ssb_change = (both["folketall_2024"] - both["folketall_2020"]).sign()
    demo_change = (both["total"] - both["total_2020"]).sign()
    assert (ssb_change == demo_change).all()
    # Ålesund and Haram (one kommune in 2020) take Møre og Romsdal's growth: both grow a little.
    for unit in ("1508", "1580"):
        row = joined.filter(pl.col("kommunenummer") == unit).row(0, named=True)
        assert 1.0 < row["total"] / row["total_2020"] < 1.05


def test_demo_population_matches_the_ssb_parquet(demo):
    path = shared_path("real", "ssb-population-kommune.parquet")
    ssb = (
        pl.read_parquet(path).filter(pl.col("year") == 2024)
        .group_by("area_code").agg(pl.col("population").sum().alias("ssb"))
    )
    ours = pl.DataFrame(list(_kommune_totals(demo).items()), schema=["area_code", "demo"], orient="row")
    kommuner = ours.with_columns(pl.col("area_code").str.slice(0, 4)).group_by("area_code").agg(pl.col("demo").sum())
    joined = kommuner.join(ssb, on="area_code")
    assert joined.height == 357
    assert (joined["demo"] / joined["ssb"] - 1).abs().max() <= 0.02
    bydeler = ours.filter(pl.col("area_code").str.len_chars() == 6).join(ssb, on="area_code")
    assert bydeler.height == 17  # Oslo's bydeler with SSB figures (030199 has none)
    assert (bydeler["demo"] / bydeler["ssb"] - 1).abs().max() <= 0.02


def test_rural_kommuner_are_older_than_cities(demo):
    frame = demo.population.filter(pl.col("year") == 2024).group_by("kommunenummer").agg(
        pl.col("population").sum().alias("total"),
        pl.col("population").filter(pl.col("age_band").is_in(["67-69", "70-74", "75-79", "80-84", "85-89", "90+"]))
        .sum().alias("old"),
    ).with_columns((pl.col("old") / pl.col("total")).alias("share"))
    small = frame.filter(pl.col("total") < 3_000)["share"].mean()
    large = frame.filter(pl.col("total") > 50_000)["share"].mean()
    assert small > large + 0.05
    national = frame["old"].sum() / frame["total"].sum()
    assert 0.14 < national < 0.22


def test_every_measure_in_the_catalogue_has_demo_data(demo):
    from indicators import load_catalogue

    measures = set(demo.counts["measure_id"].unique())
    for ind in load_catalogue().indicators:
        for measure in ind.measures:
            assert measure in measures, f"{ind.id}: no demo data for {measure}"


def test_counts_use_only_known_bands_and_never_exceed_their_denominator(demo):
    assert set(demo.counts["age_band"].unique()) <= set(AGE_BAND_LABELS)
    assert (demo.counts["count"] > 0).all()  # zeros are left out; coverage says what was reported
    keys = ["year", "kommunenummer", "sex", "age_band"]
    for numerator, denominator in (
        ("npr_reinnleggelse_30d", "npr_utskrivninger_somatikk"),
        ("kpr_oppfolging_7d", "npr_phv_tsb_utskrivninger"),
        ("npr_behovskartlegging_sp1", "kreft_nye_pasienter"),
        ("lokal_behovskartlegging_sp2", "kreft_nye_pasienter"),
    ):
        num = demo.counts.filter(pl.col("measure_id") == numerator).select(*keys, pl.col("count").alias("num"))
        den = demo.counts.filter(pl.col("measure_id") == denominator).select(*keys, pl.col("count").alias("den"))
        joined = num.join(den, on=keys, how="left").with_columns(pl.col("den").fill_null(0))
        assert (joined["num"] <= joined["den"]).all(), numerator
    persons = demo.counts.filter(pl.col("measure_id") == "kpr_hjemmetjenester").join(
        demo.population, on=keys, how="left"
    )
    assert (persons["count"] <= persons["population"]).all()


def _national(demo, measure, bands, year=2024, per=1.0, denominator=None):
    num = demo.counts.filter((pl.col("measure_id") == measure) & (pl.col("year") == year) & pl.col("age_band").is_in(bands))
    if denominator is None:
        den = demo.population.filter((pl.col("year") == year) & pl.col("age_band").is_in(bands))["population"].sum()
    else:
        den = demo.counts.filter(
            (pl.col("measure_id") == denominator) & (pl.col("year") == year) & pl.col("age_band").is_in(bands)
        )["count"].sum()
    return num["count"].sum() / den * per


ADULT = [b for b in AGE_BAND_LABELS if b not in ("0-4", "5-9", "10-14", "15-17")]


def test_calibrated_to_published_national_levels(demo):
    # Helsedirektoratet 2022: alvorlige psykiske lidelser 1.6 % of the population 18+.
    assert _national(demo, "npr_alvorlig_psykisk_lidelse", ADULT, per=100) == pytest.approx(1.6, abs=0.05)
    assert _national(demo, "npr_oh_innleggelser", ["80-84", "85-89", "90+"], per=1000) == pytest.approx(330, rel=0.03)
    assert _national(demo, "npr_reinnleggelse_30d", ["67-69", "70-74", "75-79", "80-84", "85-89", "90+"], per=100,
                     denominator="npr_utskrivninger_somatikk") == pytest.approx(15.5, abs=0.5)
    new_cancer = demo.counts.filter((pl.col("measure_id") == "kreft_nye_pasienter") & (pl.col("year") == 2024))
    assert 32_000 < new_cancer["count"].sum() < 39_000


def test_psychiatric_share_ranges_from_ostfold_to_finnmark(demo):
    areas = reference.unit_table().select(pl.col("unit").alias("kommunenummer"), "helsefellesskap_id")
    cells = demo.population.filter((pl.col("year") == 2021) & pl.col("age_band").is_in(ADULT)).join(
        demo.counts.filter((pl.col("measure_id") == "npr_alvorlig_psykisk_lidelse") & (pl.col("year") == 2021)),
        on=["year", "kommunenummer", "sex", "age_band"], how="left",
    ).join(areas, on="kommunenummer")
    share = cells.group_by("helsefellesskap_id").agg(
        (pl.col("count").fill_null(0).sum() / pl.col("population").sum() * 100).alias("share")
    ).sort("share")
    assert share["helsefellesskap_id"][0] == "ostfold"
    assert share["helsefellesskap_id"][-1] == "finnmark"
    assert share["share"][0] == pytest.approx(1.2, abs=0.15)
    assert share["share"][-1] == pytest.approx(2.3, abs=0.2)


def test_pakkeforlop_hjem_coverage_rises_and_local_registration_is_a_minority(demo):
    sp1 = demo.coverage.filter(pl.col("measure_id") == "npr_behovskartlegging_sp1")
    assert sp1["year"].min() == 2022  # the procedure code did not exist before
    coverage = []
    for year in (2022, 2023, 2024, 2025):
        coverage.append(_national(demo, "npr_behovskartlegging_sp1", list(AGE_BAND_LABELS), year=year,
                                  denominator="kreft_nye_pasienter"))
    assert coverage == sorted(coverage) and coverage[0] < 0.2 < 0.5 < coverage[-1]
    for measure, most in (("lokal_behovskartlegging_sp2", 0.25), ("lokal_behovskartlegging_sp3", 0.15)):
        reporting = demo.coverage.filter(pl.col("measure_id") == measure)["kommunenummer"].n_unique()
        assert 0 < reporting < most * 374, measure
    sp3_years = demo.coverage.filter(pl.col("measure_id") == "lokal_behovskartlegging_sp3")["year"].unique().to_list()
    assert 2025 not in sp3_years  # 12-18 months after a 2025 diagnosis has not happened yet


def test_store_round_trip_keeps_every_row(demo, tmp_path):
    engine = store.get_engine(f"sqlite:///{tmp_path / 'roundtrip.sqlite'}")
    build_demo_store(engine, demo)
    population = store.load_population(engine).sort("year", "kommunenummer", "sex", "age_band")
    assert population.equals(demo.population.sort("year", "kommunenummer", "sex", "age_band"))
    measures = demo.counts["measure_id"].unique().to_list()
    counts = store.load_counts(engine, measures).sort("measure_id", "year", "kommunenummer", "sex", "age_band")
    assert counts.equals(demo.counts.sort("measure_id", "year", "kommunenummer", "sex", "age_band"))
    assert store.load_coverage(engine).height == demo.coverage.height
    assert store.is_synthetic(engine)
    assert store.load_areas(engine).height == 357
    # The store's reference tables give the same area units as the reference files.
    units = store.load_units(engine)
    expected = reference.unit_table().select(units.columns)
    assert units.equals(expected)
    assert store.load_helseforetak(engine).height == 21
    assert store.load_groups(engine).group_by("level").len().sort("level").rows() == [("kostragruppe", 17), ("sentralitet", 6)]
    datasets = store.load_datasets(engine)
    assert datasets["synthetic"].to_list() == [True]
    assert datasets["row_count"][0] == demo.population.height + demo.counts.height + demo.coverage.height


def test_totals_are_consistent_across_grains(demo):
    areas = reference.unit_table().with_columns(pl.col("unit").alias("kommunenummer"))
    oh = demo.counts.filter(pl.col("measure_id") == "npr_oh_innleggelser").join(areas, on="kommunenummer")
    national = oh["count"].sum()
    assert oh.height == demo.counts.filter(pl.col("measure_id") == "npr_oh_innleggelser").height  # every unit is known
    for column in ("helsefellesskap_id", "helseforetak_id", "fylkesnummer", "rhf", "sentralitet", "kostragruppe"):
        assert oh.group_by(column).agg(pl.col("count").sum())["count"].sum() == national
    by_sex = oh.group_by("sex").agg(pl.col("count").sum())["count"].sum()
    by_band = oh.group_by("age_band").agg(pl.col("count").sum())["count"].sum()
    assert by_sex == by_band == national
