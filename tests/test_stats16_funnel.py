"""Funnels on the standardised scale, the table's comparison that follows them, the 99.8 % choice
and best-first ranks (issue 16, statistics)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

import indicators
from indicators import Period, analysis, compute, load_catalogue
from indicators.methods import funnel_limits_rate

CATALOGUE = load_catalogue()
STANDARDISED = [i.id for i in CATALOGUE.indicators if i.is_standardised]
REF_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "indicator-methods"


def _exact_interval(observed: float, level: float) -> tuple[float, float]:
    """Garwood's exact Poisson interval of a count, written out here from the chi-square quantiles."""
    a = (1 - level) / 2
    lower = stats.chi2.ppf(a, 2 * observed) / 2 if observed > 0 else 0.0
    return lower, stats.chi2.ppf(1 - a, 2 * observed + 2) / 2


# --- the ratio funnel against PHE's published ISR results ------------------------------------


def test_ratio_funnel_positions_agree_with_phe_isr_reference():
    """O / E against funnel_limits_rate(1, E): outside the 95 % (99.8 %) funnel exactly where
    PHEindicatormethods' indirectly standardised ratio interval excludes 1 (testresults_ISR.csv)."""
    path = REF_DIR / "testresults_ISR.csv"
    if not path.is_file():
        pytest.skip(f"reference data not available: {path}")
    rows = [r for r in csv.DictReader(path.open()) if r["statistic"] == "indirectly standardised ratio x 1"]
    assert len(rows) >= 3
    for row in rows:
        observed, expected = float(row["observed"]), float(row["expected"])
        ratio = observed / expected
        assert ratio == pytest.approx(float(row["value"]), rel=1e-9)
        limits = funnel_limits_rate(1.0, [expected], multiplier=1).row(0, named=True)
        for suffix, lo_col, hi_col in (("_95", "lower95_0cl", "upper95_0cl"), ("_99_8", "lower99_8cl", "upper99_8cl")):
            if not row[lo_col]:
                continue
            phe_outside_high = float(row[lo_col]) > 1
            phe_outside_low = float(row[hi_col]) < 1
            assert (ratio > limits["upper" + suffix]) == phe_outside_high, (row["area"], suffix)
            assert (ratio < limits["lower" + suffix]) == phe_outside_low, (row["area"], suffix)
    # testdata_big: O = 895, E = 835.9, ratio 1.071: above the 95 % limit, inside the 99.8 % one
    big = funnel_limits_rate(1.0, [835.8835612311743], multiplier=1).row(0, named=True)
    assert big["upper_95"] < 895 / 835.8835612311743 < big["upper_99_8"]


# --- the demo: funnel and table agree for every standardised indicator and kommune -----------


@pytest.mark.parametrize("indicator_id", STANDARDISED)
def test_funnel_and_table_never_contradict_each_other(indicator_id):
    ind = CATALOGUE.indicator(indicator_id)
    year = indicators.latest_year(indicator_id)
    period = Period(year, year)
    plot = indicators.funnel(indicator_id, "kommune", period)
    assert plot.scale == analysis.RATIO and plot.target == 1.0
    assert "forventet" in plot.value_label and "Forventet" in plot.x_label
    table = compute(indicator_id, "kommune", period=period)
    checked = 0
    for confidence in (0.95, 0.998):
        shown = analysis.with_funnel(table, plot, ind, confidence)
        assert shown.height == table.height and shown["area_id"].to_list() == table["area_id"].to_list()
        for row in shown.iter_rows(named=True):
            position, significance = row["funnel_position"], row["significance"]
            if position is None:
                assert significance == "not_compared"
                continue
            checked += 1
            # the position on the ratio scale, checked here against the exact interval of O
            o, e = row["numerator"], row["expected"]
            lower99, upper99 = _exact_interval(o, 0.998)
            assert row["funnel_value"] == pytest.approx(o / e)
            if position == "above_99_8":
                assert lower99 > e
                assert significance == "higher", row["area_name"]  # never "lower" or "som landet"
            elif position == "below_99_8":
                assert upper99 < e
                assert significance == "lower", row["area_name"]  # never "higher" or "som landet"
            elif position == "inside":
                assert significance == "similar"
            if row["interval_significance"] not in (None, "not_compared", significance):
                assert row["comparison_note"] and "indirekte standardisering" in row["comparison_note"]
            else:
                assert row["comparison_note"] is None
    # every kommune of the funnel was checked at both levels (the rest are hidden and not compared)
    assert checked == 2 * plot.points.height and plot.points.height > 0


def test_standardised_funnel_removes_age_from_the_comparison():
    """Summed over every kommune, observed equals expected (the national rates make E), so the
    ratio funnel is centred on 1 for the country as a whole."""
    ind_id = STANDARDISED[0]
    year = indicators.latest_year(ind_id)
    plot = indicators.funnel(ind_id, "kommune", Period(year, year))
    land = compute(ind_id, "land", period=Period(year, year)).row(0, named=True)
    assert land["expected"] == pytest.approx(land["numerator"], rel=1e-9)
    limits = plot.limits
    assert (limits["lower_99_8"] <= 1).all() and (limits["upper_99_8"] >= 1).all()
    widths = (limits["upper_95"] - limits["lower_95"]).to_list()
    assert widths == sorted(widths, reverse=True)


def test_crude_funnel_is_kept_for_indicators_that_are_not_standardised():
    ind_id = next(i.id for i in CATALOGUE.indicators if not i.is_standardised and i.type == "proportion")
    year = indicators.latest_year(ind_id)
    plot = indicators.funnel(ind_id, "kommune", Period(year, year))
    assert plot.scale == analysis.CRUDE
    national = compute(ind_id, "land", period=Period(year, year))["crude_value"][0]
    assert plot.target == pytest.approx(national)


def test_the_confidence_choice_and_its_errors():
    assert analysis.check_confidence(0.95) == 0.95 and analysis.check_confidence(0.998) == 0.998
    with pytest.raises(ValueError, match="ukjent konfidensnivå"):
        analysis.check_confidence(0.9)
    assert analysis.funnel_significance("above_95", 0.95) == "higher"
    assert analysis.funnel_significance("above_95", 0.998) == "similar"
    assert analysis.funnel_significance("below_99_8", 0.998) == "lower"
    assert analysis.funnel_significance(None, 0.95) == "not_compared"


def test_significance_at_99_8_uses_the_wider_limits():
    ind = CATALOGUE.indicator("eldre_reinnleggelse_30d_67")
    year = indicators.latest_year(ind.id)
    table = compute(ind.id, "kommune", years=[year])
    wide = analysis.with_significance(table, ind, 0.998)
    n95 = table.filter(pl.col("significance").is_in(["higher", "lower"])).height
    n998 = wide.filter(pl.col("significance").is_in(["higher", "lower"])).height
    assert n998 < n95
    for row in wide.iter_rows(named=True):
        if row["significance"] == "higher":
            assert row["lower_99_8"] > row["national_value"]
        elif row["significance"] == "lower":
            assert row["upper_99_8"] < row["national_value"]
        elif row["significance"] == "similar":
            assert row["lower_99_8"] <= row["national_value"] <= row["upper_99_8"]


# --- ranks: 1 = best where a direction is desired -------------------------------------------


def test_rank_is_best_first_for_desired_directions_and_highest_first_for_descriptive_ones():
    values = np.array([5.0, 3.0, 9.0, 7.0])
    assert analysis.rank_of(values, 9.0, "higher_is_better") == 1
    assert analysis.rank_of(values, 3.0, "higher_is_better") == 4
    assert analysis.rank_of(values, 3.0, "lower_is_better") == 1
    assert analysis.rank_of(values, 9.0, "lower_is_better") == 4
    assert analysis.rank_of(values, 9.0, "neutral") == 1
    assert analysis.rank_rule("lower_is_better") == "1 = best" and analysis.rank_rule("neutral") == "1 = høyeste verdi"


def test_profile_ranks_follow_the_direction():
    hf = "troms-ofoten"
    profile = indicators.profile(hf)
    for row in profile.filter(pl.col("rank").is_not_null()).iter_rows(named=True):
        table = compute(row["indicator_id"], "helsefellesskap", years=[int(str(row["period"])[:4])])
        values = table.filter(pl.col("flag") == "ok")["value"].drop_nulls().to_numpy()
        if row["direction"] == "lower_is_better":
            assert row["rank"] == int((values < row["value"]).sum()) + 1
            assert row["rank_rule"] == "1 = best"
        else:
            assert row["rank"] == int((values > row["value"]).sum()) + 1
        assert 1 <= row["rank"] <= row["n_ranked"]
    wide = indicators.profile(hf, confidence=0.998)
    assert set(wide["confidence"].drop_nulls()) == {"99,8 %"}
    assert wide.filter(pl.col("significance").is_in(["higher", "lower"])).height <= \
        profile.filter(pl.col("significance").is_in(["higher", "lower"])).height


def test_trend_in_the_profile_follows_fingertips_rule():
    """Every arrow in the profile rests on exactly five published years."""
    profile = indicators.profile("troms-ofoten")
    for row in profile.filter(pl.col("trend").is_in(["increasing", "decreasing"])).iter_rows(named=True):
        series = compute(row["indicator_id"], "helsefellesskap").filter(pl.col("area_id") == "troms-ofoten")
        last5 = series.sort("year_start").tail(5)
        assert last5.height == 5 and last5["value"].null_count() == 0
    assert set(profile["trend"].drop_nulls()) <= {"increasing", "decreasing", "no_significant_change", "too_few_points"}


# --- exports carry the funnel position on the chart's scale ----------------------------------


def test_kommune_exports_carry_the_funnel_position_and_agree_with_it():
    """The path of every kommune download and of the CLI (``exports.export_bytes``)."""
    import io

    from outputs import exports

    ind_id = "kreft_nye_pasienter" if "kreft_nye_pasienter" in STANDARDISED else STANDARDISED[0]
    year = indicators.latest_year(ind_id)
    table = compute(ind_id, "kommune", years=[year])
    content = exports.export_bytes(table, exports.export_metadata(ind_id, table), "parquet")[0]
    back = pl.read_parquet(io.BytesIO(content))
    for column in ("forventet", "trakt_skala", "trakt_verdi", "trakt_posisjon", "signifikans_konfidensintervall",
                   "konfidensnivaa"):
        assert column in back.columns, column
    plot = indicators.funnel(ind_id, "kommune", Period(year, year))
    expected = dict(zip(plot.points["area_id"], plot.points["position"]))
    words = exports.FUNNEL_POSITION_LABELS
    for row in back.iter_rows(named=True):
        position = expected.get(row["omraade_id"])
        assert row["trakt_posisjon"] == (words[position] if position else None)
        if position == "above_99_8":
            assert row["signifikans"] == "høyere"
        elif position == "below_99_8":
            assert row["signifikans"] == "lavere"
        if position is not None:
            assert row["trakt_skala"].startswith("observert/forventet")
            assert row["trakt_verdi"] == pytest.approx(row["teller"] / row["forventet"])
    assert set(back["konfidensnivaa"]) == {"95 %"}
    # a table of another level is exported as before
    hf = compute(ind_id, "helsefellesskap", years=[year])
    hf_back = pl.read_parquet(io.BytesIO(exports.export_bytes(hf, exports.export_metadata(ind_id, hf), "parquet")[0]))
    assert "trakt_posisjon" not in hf_back.columns
