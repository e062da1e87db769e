"""The indicator engine on the demo store: completeness, independent checks, missing data, errors."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

import indicators
from data_loaders import store
from data_loaders.reference import LEVELS
from indicators import IndicatorRequestError, Period, compute, load_catalogue
from indicators.engine import SUPPRESSION_FLAGS, _period_table

CATALOGUE = load_catalogue()
ALL_IDS = [i.id for i in CATALOGUE.indicators]
# Oslo's 18 bydeler (15, Sentrum, Marka, uoppgitt); 357 kommuner (Oslo once, above its bydeler);
# SKDE's 21 helseforetak areas; SSB's six sentralitet classes and 17 KOSTRA groups.
AREA_COUNTS = {"bydel": 18, "kommune": 357, "helsefellesskap": 19, "helseforetak": 21, "rhf": 4, "fylke": 15,
               "sentralitet": 6, "kostragruppe": 17, "land": 1}


def test_catalogue_covers_the_four_groups_and_pakkeforlop_hjem():
    population_rates = {g.id: sum(i.cohort is None for i in CATALOGUE.in_group(g.id)) for g in CATALOGUE.groups}
    assert population_rates == {  # skrøpelige eldre: the six rates and utskrivningsklare counted as persons
        "barn_og_unge": 3, "psykisk_helse_rus": 6, "skropelige_eldre": 7, "flere_kroniske": 3, "pakkeforlop_hjem": 4,
    }
    # The four priority groups also open with their cohorts (issue 15); Pakkeforløp hjem has none.
    with_cohort = {g.id for g in CATALOGUE.groups if any(i.cohort_role == "prevalence" for i in CATALOGUE.in_group(g.id))}
    assert with_cohort == {"barn_og_unge", "psykisk_helse_rus", "skropelige_eldre", "flere_kroniske"}
    sp1 = CATALOGUE.indicator("kreft_sp1_behovskartlegging")
    assert CATALOGUE.measures[sp1.numerator.measure].parameters["procedure_code"] == "WMFG10"
    assert sp1.first_year == 2022 and sp1.target is not None and sp1.target.set_by == "lokalt"


@pytest.mark.parametrize("indicator_id", ALL_IDS)
def test_every_indicator_computes_for_every_level_and_year(indicator_id):
    years = indicators.available_years(indicator_id)
    assert years, indicator_id
    for level in LEVELS:
        table = compute(indicator_id, level)
        assert table.columns == list(indicators.OUTPUT_COLUMNS)
        assert table.height == AREA_COUNTS[level] * len(years), level
        assert sorted(table["year_start"].unique().to_list()) == years
        national = table["national_value"].drop_nulls()
        assert national.n_unique() == len(years)
    ok = compute(indicator_id, "helsefellesskap").filter(pl.col("flag") == "ok")
    assert (ok["lower_95"] <= ok["value"]).all() and (ok["value"] <= ok["upper_95"]).all()
    assert (ok["lower_99_8"] <= ok["lower_95"]).all() and (ok["upper_95"] <= ok["upper_99_8"]).all()


def _raw(sql: str, **params) -> float:
    engine = store.get_engine()
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def test_crude_rate_matches_an_independent_sql_computation():
    # Øyeblikkelig hjelp-innleggelser 0-17 per 1 000 in Helsefellesskapet Troms og Ofoten, 2023.
    bands = "('0-4','5-9','10-14','15-17')"
    join = "JOIN kommune_helsefellesskap m ON m.kommunenummer = x.kommunenummer AND m.helsefellesskap_id = 'troms-ofoten'"
    events = _raw(f"SELECT SUM(count) FROM event_count x {join} WHERE measure_id='npr_oh_innleggelser' "
                  f"AND year=2023 AND age_band IN {bands}")
    people = _raw(f"SELECT SUM(population) FROM population x {join} WHERE year=2023 AND age_band IN {bands}")
    row = compute("barn_oh_innleggelser", "helsefellesskap", years=[2023]).filter(pl.col("area_id") == "troms-ofoten")
    assert row["numerator"][0] == events
    assert row["denominator"][0] == people
    assert row["crude_value"][0] == pytest.approx(events / people * 1000, rel=1e-12)


def test_proportion_matches_an_independent_sql_computation():
    sql = ("SELECT SUM(count) FROM event_count WHERE measure_id=:m AND year=2024 "
           "AND age_band IN ('67-69','70-74','75-79','80-84','85-89','90+')")
    readmitted = _raw(sql, m="npr_reinnleggelse_30d")
    discharged = _raw(sql, m="npr_utskrivninger_somatikk")
    land = compute("eldre_reinnleggelse_30d_67", "land", years=[2024])
    assert land["value"][0] == pytest.approx(readmitted / discharged * 100, rel=1e-12)
    assert land["standardised"][0] is False


def test_standardised_national_value_equals_crude_in_the_standard_year():
    # With Norway 2024 as the standard population, the country's DSR in 2024 is its crude rate.
    land = compute("eldre_oh_innleggelser_80", "land", years=[2024])
    assert land["standardised"][0] is True
    assert land["value"][0] == pytest.approx(land["crude_value"][0], rel=1e-9)
    other = compute("eldre_oh_innleggelser_80", "land", years=[2019])
    assert other["value"][0] != pytest.approx(other["crude_value"][0], rel=1e-6)  # ageing since 2019


def test_levels_add_up_in_the_internal_table():
    key = indicators.current_key()
    table = _period_table(key, "psyk_tvangsinnleggelser_18", Period(2024, 2024))
    totals = {level: table.filter(pl.col("level") == level)["numerator"].sum() for level in ("kommune", "helsefellesskap", "rhf", "fylke", "land")}
    assert len(set(totals.values())) == 1
    hf = table.filter(pl.col("level") == "helsefellesskap").select("area_id", "numerator")
    kommuner = table.filter(pl.col("level") == "kommune").join(
        indicators.data.areas(key).select(pl.col("kommunenummer").alias("area_id"), "helsefellesskap_id"), on="area_id"
    ).group_by("helsefellesskap_id").agg(pl.col("numerator").sum().alias("sum"))
    joined = hf.join(kommuner, left_on="area_id", right_on="helsefellesskap_id")
    assert (joined["numerator"] == joined["sum"]).all()


def test_pooled_period_sums_its_years():
    key = indicators.current_key()
    pooled = _period_table(key, "barn_bup_kontakt", Period(2023, 2025)).filter(pl.col("level") == "land")
    singles = sum(_period_table(key, "barn_bup_kontakt", Period(y, y)).filter(pl.col("level") == "land")["numerator"][0]
                  for y in (2023, 2024, 2025))
    assert pooled["numerator"][0] == singles
    table = compute("barn_bup_kontakt", "kommune", period=Period(2023, 2025))
    assert table["period"].unique().to_list() == ["2023–2025"]


def test_suppressed_rows_carry_no_numbers():
    table = compute("kreft_sp1_behovskartlegging", "kommune", years=[2024])
    hidden = table.filter(pl.col("flag").is_in(list(SUPPRESSION_FLAGS)))
    assert hidden.height > 10  # small kommuner have few new cancer patients
    for column in ("numerator", "denominator", "value", "lower_95", "upper_95", "crude_value"):
        assert hidden[column].null_count() == hidden.height, column
    assert set(hidden["spvflagg"].unique().to_list()) <= {2, 3}
    assert (hidden["flag_label"].str.len_chars() > 0).all()
    assert set(hidden["significance"].unique().to_list()) == {"not_compared"}


def test_population_denominators_stay_visible_when_the_count_is_hidden():
    table = compute("eldre_oh_innleggelser_80", "kommune", years=[2024])
    hidden = table.filter(pl.col("flag").is_in(list(SUPPRESSION_FLAGS)))
    if hidden.height:
        assert hidden["denominator"].null_count() == 0  # population is public
        assert hidden["numerator"].null_count() == hidden.height


def test_sp2_where_not_reported_is_missing_never_zero():
    table = compute("kreft_sp2_behovskartlegging", "kommune", years=[2024])
    missing = table.filter(pl.col("flag") == "not_reported")
    assert missing.height > 250
    assert missing["value"].null_count() == missing.height
    assert missing["numerator"].null_count() == missing.height
    assert (missing["reporting_kommuner"] == 0).all()
    assert missing["spvflagg"].unique().to_list() == [1]
    hf = compute("kreft_sp2_behovskartlegging", "helsefellesskap", years=[2024])
    partial = hf.filter(pl.col("flag") == "ok")
    assert (partial["reporting_kommuner"] < partial["total_kommuner"]).any()


def test_sp1_does_not_exist_before_2022():
    assert indicators.available_years("kreft_sp1_behovskartlegging")[0] == 2022
    with pytest.raises(IndicatorRequestError, match="no data for kreft_sp1_behovskartlegging in 2021"):
        compute("kreft_sp1_behovskartlegging", "helsefellesskap", years=[2021])


def test_requests_that_cannot_be_answered_say_why():
    with pytest.raises(IndicatorRequestError, match="unknown level 'grunnkrets'"):
        compute("eldre_oh_innleggelser_80", "grunnkrets")
    with pytest.raises(KeyError, match="unknown indicator 'nope'"):
        compute("nope", "kommune")
    with pytest.raises(IndicatorRequestError, match="not a published pooled period"):
        compute("eldre_oh_innleggelser_80", "kommune", period=Period(2022, 2024))
    assert indicators.pooled_periods("eldre_oh_innleggelser_80") == [Period(2023, 2025), Period(2020, 2022)]


def test_significance_follows_the_confidence_interval():
    table = compute("eldre_oh_innleggelser_80", "helsefellesskap", years=[2024])
    higher = table.filter(pl.col("significance") == "higher")
    lower = table.filter(pl.col("significance") == "lower")
    similar = table.filter(pl.col("significance") == "similar")
    assert higher.height and lower.height
    assert (higher["lower_95"] > higher["national_value"]).all()
    assert (lower["upper_95"] < lower["national_value"]).all()
    assert ((similar["lower_95"] <= similar["national_value"]) & (similar["upper_95"] >= similar["national_value"])).all()
    # lower is better for emergency admissions
    assert set(lower["assessment"].unique().to_list()) == {"better"}


def test_helseforetak_areas_follow_skde_with_oslos_sectors():
    """The 21 helseforetak areas are sums of their units: Ahus's area is the Ahus helsefellesskap
    plus Grorud and Stovner; Oslo's four sectors add up to Oslo (independent sums of the raw rows)."""
    key = indicators.current_key()
    table = _period_table(key, "psyk_tvangsinnleggelser_18", Period(2024, 2024))
    value = {(level, area): n for level, area, n in table.select("level", "area_id", "numerator").iter_rows()}
    assert sum(1 for level, _ in value if level == "helseforetak") == 21
    assert value[("helseforetak", "troms-ofoten")] == value[("helsefellesskap", "troms-ofoten")]  # UNN
    assert value[("helseforetak", "ahus")] == (
        value[("helsefellesskap", "ahus")] + value[("bydel", "030110")] + value[("bydel", "030111")])
    sectors = ("ous", "lovisenberg", "diakonhjemmet")
    oslo = value[("kommune", "0301")]
    assert sum(value[("helseforetak", s)] for s in sectors) + value[("bydel", "030110")] + value[("bydel", "030111")] == oslo
    assert oslo == sum(n for (level, area), n in value.items() if level == "bydel")
    sql = ("SELECT SUM(count) FROM event_count WHERE measure_id='npr_tvangsinnleggelser' AND year=2024 "
           "AND kommunenummer IN ('030101','030102','030104') AND age_band NOT IN ('0-4','5-9','10-14','15-17')")
    assert value[("helseforetak", "lovisenberg")] == _raw(sql)
    # Kommuner are counted once: Oslo (18 bydeler) is one kommune of its levels and of Ahus's area.
    kommuner = {(level, area): (t, r) for level, area, t, r in
                table.select("level", "area_id", "total_kommuner", "reporting_kommuner").iter_rows()}
    assert kommuner[("kommune", "0301")] == kommuner[("helsefellesskap", "oslo")] == (1, 1)
    assert kommuner[("helseforetak", "ahus")] == (22, 22)  # the 21 kommuner of the helsefellesskap and Oslo
    assert kommuner[("land", "0")] == (357, 357) and kommuner[("bydel", "030110")] == (1, 1)
    names = compute("eldre_oh_innleggelser_80", "helseforetak", years=[2024])["area_name"].to_list()
    assert names[:2] == ["Finnmark", "UNN"] and {"OUS", "Lovisenberg", "Diakonhjemmet", "Akershus"} <= set(names)


def test_profile_ranks_among_the_nineteen():
    profile = indicators.profile("troms-ofoten", 2024)
    assert profile.height == len(CATALOGUE.indicators)
    row = profile.filter(pl.col("indicator_id") == "eldre_oh_innleggelser_80").row(0, named=True)
    # lower is better: rank 1 is the lowest value (issue 16: Troms og Ofoten was "18 av 19", second best)
    table = compute("eldre_oh_innleggelser_80", "helsefellesskap", years=[2024]).sort("value")
    assert row["rank"] == table["area_id"].to_list().index("troms-ofoten") + 1
    assert row["rank_rule"] == "1 = best"
    assert row["hf_min"] == pytest.approx(table["value"].min()) and row["hf_max"] == pytest.approx(table["value"].max())
    assert row["trend"] in {"increasing", "decreasing", "no_significant_change", "too_few_points"}


def test_variation_figures_follow_their_definitions():
    figures = indicators.variation("eldre_oh_innleggelser_80", "helsefellesskap", Period(2024, 2024))
    values = compute("eldre_oh_innleggelser_80", "helsefellesskap", years=[2024])["value"]
    assert figures["n_areas"] == 19
    assert figures["high_low_ratio"] == pytest.approx(values.max() / values.min())
    assert figures["cv"] == pytest.approx(values.std() / values.mean())
    assert figures["scv"] > 0


def test_funnel_positions_agree_with_the_limits():
    funnel = indicators.funnel("eldre_reinnleggelse_30d_67", "kommune", Period(2024, 2024))
    assert funnel.points.height > 300
    assert funnel.target == pytest.approx(compute("eldre_reinnleggelse_30d_67", "land", years=[2024])["value"][0])
    limits = funnel.limits
    assert (limits["lower_99_8"] <= limits["lower_95"]).all() and (limits["upper_95"] <= limits["upper_99_8"]).all()
    widths = (limits["upper_95"] - limits["lower_95"]).to_list()
    assert widths == sorted(widths, reverse=True)  # the funnel narrows
    outside = funnel.points.filter(pl.col("position") != "inside")
    assert 0 < outside.height < funnel.points.height


def test_standardised_rate_matches_the_validated_dsr_method_on_raw_rows():
    """The engine's DSR (Dobson, by age and sex, Norway 2024) against ``directly_standardised_rate`` on rows read here."""
    from indicators import methods

    bands = ("80-84", "85-89", "90+")
    hf = "troms-ofoten"
    join = "JOIN kommune_helsefellesskap m ON m.kommunenummer = x.kommunenummer"
    engine = store.get_engine()
    with engine.connect() as conn:
        events = dict(((s, a), c) for s, a, c in conn.execute(sa.text(
            f"SELECT sex, age_band, SUM(count) FROM event_count x {join} WHERE m.helsefellesskap_id = :hf "
            "AND measure_id = 'npr_oh_innleggelser' AND year = 2023 GROUP BY sex, age_band"), {"hf": hf}))
        people = conn.execute(sa.text(
            f"SELECT sex, age_band, SUM(population) FROM population x {join} WHERE m.helsefellesskap_id = :hf "
            "AND year = 2023 GROUP BY sex, age_band"), {"hf": hf}).all()
        standard = conn.execute(sa.text(
            "SELECT sex, age_band, SUM(population) FROM population WHERE year = 2024 GROUP BY sex, age_band")).all()
    data = pl.DataFrame(
        [(s, a, float(events.get((s, a), 0.0)), float(n)) for s, a, n in people if a in bands],
        schema={"sex": pl.String, "age_band": pl.String, "count": pl.Float64, "population": pl.Float64}, orient="row",
    ).with_columns(pl.lit(hf).alias("area"))
    weights = pl.DataFrame([(s, a, float(n)) for s, a, n in standard if a in bands],
                           schema={"sex": pl.String, "age_band": pl.String, "weight": pl.Float64}, orient="row")
    expected = methods.directly_standardised_rate(
        data, group_by="area", standard=weights, join_on=("sex", "age_band"), multiplier=1000,
    ).row(0, named=True)
    row = compute("eldre_oh_innleggelser_80", "helsefellesskap", years=[2023]).filter(pl.col("area_id") == hf).row(0, named=True)
    for column in ("value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"):
        assert row[column] == pytest.approx(expected[column], rel=1e-12), column
    assert row["method"] == "Dobson"


def test_each_stage_is_built_once_and_single_years_never_wait_for_the_pooled_stage(monkeypatch, tmp_path):
    """Concurrent requests share one build per stage; a page asking for single years is not held up
    while the pooled stage (e.g. the server's warm-up) is still being computed. The pooled stage
    builds the single years first: it takes their published masks."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import yaml

    from indicators import computation, engine
    from indicators.catalogue import CATALOGUE_PATH, _load

    # Two indicators are enough to watch the stages (the whole catalogue would take minutes with no cache).
    raw = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    raw["indicators"] = [i for i in raw["indicators"] if i["id"] in ("barn_bup_kontakt", "eldre_reinnleggelse_30d_67")]
    (tmp_path / "catalogue.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("STYRING_CATALOGUE", str(tmp_path / "catalogue.yaml"))
    monkeypatch.setenv("STYRING_CACHE_DIR", "off")
    _load.cache_clear()
    engine.clear_caches()
    real = computation.catalogue_table
    calls: list[str] = []
    pooled_started, release_pooled = threading.Event(), threading.Event()

    def observed(key, request):
        pooled = any(p.is_pooled for periods in request.periods.values() for p in periods)
        calls.append("pooled" if pooled else "single")
        if pooled:
            pooled_started.set()
            assert release_pooled.wait(600)
        return real(key, request)

    monkeypatch.setattr(computation, "catalogue_table", observed)
    key = indicators.current_key()
    try:
        with ThreadPoolExecutor(2) as pooled_pool:
            pooled = [pooled_pool.submit(engine._tables, key, engine.POOLED) for _ in range(2)]
            assert pooled_started.wait(600)
            with ThreadPoolExecutor(3) as pool:  # while the pooled stage is held mid-build
                singles = list(pool.map(lambda _: engine._tables(key, engine.SINGLE_YEARS), range(3)))
            assert calls == ["single", "pooled"]
            assert all(tables is singles[0] for tables in singles)
            release_pooled.set()
            assert pooled[0].result(600) is pooled[1].result(600)
        assert calls == ["single", "pooled"]
    finally:
        release_pooled.set()
        engine.clear_caches()
        monkeypatch.delenv("STYRING_CATALOGUE")
        _load.cache_clear()
