"""The benchmark's pandas baseline (bench/pandas_baseline.py) computes what the engine computes.

The engine is the reference: for a rate, a proportion, a standardised indicator, one with
local coverage and pooled periods, every unmasked value, limit and significance must agree
to 1e-9, and both must mask the same cells for the same reason. Otherwise the benchmark's
ratio would compare different work.
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
    """The comparison is only as strong as the cells it covers: masks of every kind occur, and a
    reporting kommune with nothing counted."""
    flags = set()
    for indicator_id in CASES:
        ind = load_catalogue().indicator(indicator_id)
        full = full_table(indicator_id)
        for pooled in (False, True):
            flags |= set(baseline.level_table(tables, full, ind, "kommune", pooled=pooled)["flag"])
    assert flags == {"ok", "not_reported", "small_count", "secondary", "forced", "too_few_to_standardise"}
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
    masked = unmasked.index[unmasked["flag"] == "small_count"][0]
    unmasked.loc[masked, "flag"] = "ok"
    assert any(p.startswith("flag") for p in baseline.compare(engine, unmasked))
