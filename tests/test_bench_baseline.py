"""The benchmark's pandas baseline (bench/pandas_baseline.py) computes what the engine computes.

The engine is the reference: for a rate, a proportion, a standardised indicator, one with
local coverage and pooled periods, on every level (bydel, kommune, helsefellesskap, SKDE's
helseforetak areas, RHF, fylke, sentralitet, KOSTRA group, land), every unmasked value, limit
and significance must agree to 1e-9. The baseline takes the engine's suppression masks (see
its docstring), so the masks agree by construction; what is checked is that the baseline's own
sums over the area units give the engine's numbers. Otherwise the benchmark's ratio would
compare different work.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

import indicators
from data_loaders.reference import LEVELS
from indicators import Period, load_catalogue

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import pandas_baseline as baseline

CASES = {
    "eldre_kad_opphold_67": "rate: crude exact/Byar's limits and a DSR, many small kommuner",
    "eldre_reinnleggelse_30d_67": "proportion: Wilson limits over a register denominator (protected too)",
    "psyk_tvangsinnleggelser_18": "standardised rate: Dobson limits, too few events to standardise",
    "kreft_sp2_behovskartlegging": "local coverage: only the kommuner that register",
    "psyk_reinnleggelse_30d": "a reporting kommune-year without a single count row counts zero",
}
POOLED = ("eldre_kad_opphold_67", "kreft_sp2_behovskartlegging")


@pytest.fixture(scope="module")
def tables(demo_database_url):
    return baseline.read_tables(demo_database_url)


@pytest.fixture(scope="module")
def full_table(tables):
    """The baseline's table of one indicator (every level, single years and pooled), computed once."""
    computed = {}

    def get(indicator_id: str):
        if indicator_id not in computed:
            computed[indicator_id] = baseline.indicator_table(tables, load_catalogue().indicator(indicator_id), pooled=True)
        return computed[indicator_id]

    return get


@pytest.mark.parametrize("indicator_id", list(CASES))
def test_every_level_and_year_agrees_with_the_engine(tables, full_table, indicator_id):
    ind = load_catalogue().indicator(indicator_id)
    full = full_table(indicator_id)
    for level in LEVELS:
        engine = indicators.compute(indicator_id, level)
        ours = baseline.level_table(tables, full, ind, level)
        assert baseline.compare(engine, ours) == [], (indicator_id, level)


@pytest.mark.parametrize("indicator_id", POOLED)
def test_pooled_periods_agree_with_the_engine(tables, full_table, indicator_id):
    ind = load_catalogue().indicator(indicator_id)
    full = full_table(indicator_id)
    periods = sorted(indicators.pooled_periods(indicator_id), key=lambda p: p.start)
    assert periods == [Period(p.start, p.end) for p in baseline.pooled_periods(baseline.available_years(tables, ind))][::-1]
    for level in LEVELS:
        engine = pl.concat([indicators.compute(indicator_id, level, period=p) for p in periods])
        ours = baseline.level_table(tables, full, ind, level, pooled=True)
        assert baseline.compare(engine, ours) == [], (indicator_id, level)


def test_the_cases_exercise_every_flag(tables, full_table):
    """The comparison is only as strong as the cells it covers: every public flag occurs, the masks
    come from both reasons, and a reporting kommune with nothing counted."""
    flags, reasons = set(), set()
    for indicator_id in CASES:
        ind = load_catalogue().indicator(indicator_id)
        full = full_table(indicator_id)
        reasons |= set(full["suppression"].dropna())
        for pooled in (False, True):
            flags |= set(baseline.level_table(tables, full, ind, "kommune", pooled=pooled)["flag"])
    assert flags == {"ok", "not_reported", "suppressed", "too_few_to_standardise"}
    assert {"small_count", "secondary"} <= reasons
    ind = load_catalogue().indicator("psyk_reinnleggelse_30d")
    kommuner = baseline.level_table(tables, full_table(ind.id), ind, "kommune")
    empty = kommuner[(kommuner["reporting_kommuner"] > 0) & (kommuner["denominator"] == 0)]
    assert len(empty) > 0 and (empty["flag"] == "ok").all() and empty["value"].isna().all()


def test_compare_reports_a_changed_value_and_a_changed_mask(tables, full_table):
    ind = load_catalogue().indicator("psyk_tvangsinnleggelser_18")
    engine = indicators.compute(ind.id, "kommune")
    ours = baseline.level_table(tables, full_table(ind.id), ind, "kommune")
    shown = ours.index[ours["flag"] == "ok"][0]
    nudged = ours.copy()
    nudged.loc[shown, "upper_95"] *= 1 + 1e-7
    assert any(p.startswith("upper_95") for p in baseline.compare(engine, nudged))
    unmasked = ours.copy()
    masked = unmasked.index[unmasked["flag"] == "suppressed"][0]
    unmasked.loc[masked, "flag"] = "ok"
    assert any(p.startswith("flag") for p in baseline.compare(engine, unmasked))


def test_the_new_levels_sum_the_area_units(tables):
    """Oslo's bydeler are units of their own; the kommune, helseforetak, sentralitet and KOSTRA levels
    are sums of units, with kommuner (not units) counted in total_kommuner."""
    levels = tables.levels
    assert len(levels) == len(set(levels["kommunenummer"]))
    oslo = levels[levels["kommune"] == "0301"]
    assert len(oslo) == 18 and oslo["bydel"].notna().all()
    assert set(oslo.loc[oslo["bydel"].isin(["030110", "030111"]), "helseforetak_id"]) == {"ahus"}
    assert levels.groupby("helseforetak_id")["kommune"].nunique()["ahus"] == 1 + levels[
        (levels["helseforetak_id"] == "ahus") & levels["bydel"].isna()]["kommune"].nunique()
    assert set(levels["sentralitet"]) == {str(i) for i in range(1, 7)}
    assert levels["kostragruppe"].nunique() == 17
