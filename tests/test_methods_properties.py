"""Property-based tests (hypothesis) for indicators.methods."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # allow plain `pytest tests/...` without a config
    sys.path.insert(0, str(PROJECT_ROOT))

from indicators.methods import (  # noqa: E402
    byars_limits,
    confidence_suffix,
    crude_rate,
    directly_standardised_rate,
    funnel_limits_proportion,
    funnel_limits_rate,
    indirectly_standardised_ratio,
    poisson_exact_limits,
    proportion,
    significance_vs_benchmark,
)

FAST = settings(max_examples=60, deadline=None)
TOL = 1e-9


def _nested(out: pl.DataFrame, multiplier_cap: float | None = None) -> None:
    """lower_99_8 <= lower_95 <= value <= upper_95 <= upper_99_8 (where not null)."""
    for row in out.iter_rows(named=True):
        if row["value"] is None:
            continue
        v = row["value"]
        scale = TOL * max(1.0, abs(v))
        assert row["lower_99_8"] - scale <= row["lower_95"] <= v + scale
        assert v - scale <= row["upper_95"] <= row["upper_99_8"] + scale
        assert row["lower_99_8"] >= -scale
        if multiplier_cap is not None:
            assert row["upper_99_8"] <= multiplier_cap + scale


counts_and_denominators = st.lists(
    st.tuples(st.integers(0, 20000), st.floats(1, 1e7, allow_nan=False)), min_size=1, max_size=20
)


@FAST
@given(counts_and_denominators, st.sampled_from([1, 100, 1000, 100000]))
def test_crude_rate_limits_bracket_value(rows, multiplier):
    df = pl.DataFrame({"count": [r[0] for r in rows], "denominator": [r[1] for r in rows]})
    out = crude_rate(df, multiplier=multiplier)
    _nested(out)
    expected_method = ["Exact" if c < 10 else "Byars" for c, _ in rows]
    assert out["method"].to_list() == expected_method


@FAST
@given(
    st.lists(
        st.tuples(st.integers(1, 10**6), st.floats(0, 1, allow_nan=False)), min_size=1, max_size=20
    ),
    st.sampled_from([1, 100]),
)
def test_wilson_limits_within_range_and_nested(rows, multiplier):
    # numerator = fraction * denominator (may be non-integer, as in the PHE test 0.445/1)
    df = pl.DataFrame({
        "numerator": [f * n for n, f in rows],
        "denominator": [n for n, _ in rows],
    })
    out = proportion(df, multiplier=multiplier)
    _nested(out, multiplier_cap=multiplier)


@FAST
@given(st.integers(10, 10**6), st.sampled_from([0.9, 0.95, 0.99]))
def test_byars_close_to_exact_from_ten_events(count, level):
    byars_lo, byars_hi = byars_limits(np.array([count]), level)
    exact_lo, exact_hi = poisson_exact_limits(np.array([count]), level)
    assert byars_lo[0] == pytest.approx(exact_lo[0], rel=0.01)
    assert byars_hi[0] == pytest.approx(exact_hi[0], rel=0.01)
    assert byars_lo[0] <= count <= byars_hi[0]


band_rows = st.lists(
    st.tuples(st.integers(0, 400), st.integers(1, 50000)), min_size=3, max_size=3
)


@FAST
@given(st.lists(band_rows, min_size=1, max_size=5), st.floats(0.1, 1000))
def test_dsr_nested_null_below_ten_and_weight_scale_invariant(groups, weight_scale):
    bands = ["young", "middle", "old"]
    standard = pl.DataFrame({"age_band": bands, "weight": [40.0, 35.0, 25.0]})
    data = pl.DataFrame({
        "area": [f"g{i}" for i, g in enumerate(groups) for _ in g],
        "age_band": bands * len(groups),
        "count": [c for g in groups for c, _ in g],
        "population": [n for g in groups for _, n in g],
    })
    out = directly_standardised_rate(data, ["area"], standard=standard)
    _nested(out)
    totals = [sum(c for c, _ in g) for g in groups]
    assert out["count"].to_list() == totals
    assert [v is None for v in out["value"]] == [t < 10 for t in totals]
    scaled = directly_standardised_rate(
        data, ["area"], standard=standard.with_columns(pl.col("weight") * weight_scale)
    )
    for col in ("value", "lower_95", "upper_99_8"):
        a, b = out[col].to_numpy(), scaled[col].to_numpy()
        np.testing.assert_allclose(a, b, rtol=1e-9)


@FAST
@given(st.lists(band_rows, min_size=1, max_size=5))
def test_isr_nested_and_multiplier_linear(groups):
    data = pl.DataFrame({
        "area": [f"g{i}" for i, g in enumerate(groups) for _ in g],
        "count": [c for g in groups for c, _ in g],
        "population": [n for g in groups for _, n in g],
        "reference_count": [500, 2000, 9000] * len(groups),
        "reference_population": [100000, 80000, 30000] * len(groups),
    })
    ratio1 = indirectly_standardised_ratio(data, "area", multiplier=1)
    ratio100 = indirectly_standardised_ratio(data, "area", multiplier=100)
    _nested(ratio1)
    for col in ("value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"):
        np.testing.assert_allclose(ratio1[col].to_numpy() * 100, ratio100[col].to_numpy(), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    st.floats(0.001, 0.999),
    st.lists(st.floats(1, 1e6), min_size=2, max_size=30, unique=True),
    st.sampled_from(["exact", "wilson"]),
)
def test_proportion_funnel_monotone_and_nested(p0, denominators, method):
    n = np.sort(np.array(denominators))
    out = funnel_limits_proportion(p0, n, method=method)
    for level in ("_95", "_99_8"):
        assert np.all(np.diff(out["upper" + level].to_numpy()) <= 1e-9)
        assert np.all(np.diff(out["lower" + level].to_numpy()) >= -1e-9)
    assert (out["lower_99_8"] <= out["lower_95"] + 1e-12).all()
    assert (out["upper_95"] <= out["upper_99_8"] + 1e-12).all()
    assert (out["lower_95"] <= p0 * 100 + 1e-9).all() and (out["upper_95"] >= p0 * 100 - 1e-9).all()


@settings(max_examples=30, deadline=None)
@given(st.floats(1e-6, 1.0), st.lists(st.floats(1, 1e8), min_size=2, max_size=30, unique=True))
def test_rate_funnel_monotone_and_nested(rate0, denominators):
    n = np.sort(np.array(denominators))
    out = funnel_limits_rate(rate0, n, multiplier=1000)
    for level in ("_95", "_99_8"):
        assert np.all(np.diff(out["upper" + level].to_numpy()) <= 1e-9 * rate0 * 1000)
        assert np.all(np.diff(out["lower" + level].to_numpy()) >= -1e-9 * rate0 * 1000)
    assert (out["lower_99_8"] <= out["lower_95"] + 1e-12).all()
    assert (out["upper_95"] <= out["upper_99_8"] + 1e-12).all()


@FAST
@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6), st.floats(0, 1e3), st.floats(0, 1e3)), min_size=1, max_size=20
    ),
    st.floats(-1e6, 1e6),
)
def test_significance_is_mirror_symmetric(rows, benchmark):
    df = pl.DataFrame({
        "value": [v for v, _, _ in rows],
        "lower_95": [v - a for v, a, _ in rows],
        "upper_95": [v + b for v, _, b in rows],
    })
    out = significance_vs_benchmark(df, benchmark, direction="higher_is_better")["significance"].to_list()
    mirrored = df.select(
        value=-pl.col("value"), lower_95=-pl.col("upper_95"), upper_95=-pl.col("lower_95")
    )
    back = significance_vs_benchmark(mirrored, -benchmark)["significance"].to_list()
    swap = {"higher": "lower", "lower": "higher", "similar": "similar"}
    assert back == [swap[s] for s in out]
    for (v, a, b), s in zip(rows, out):
        if s == "higher":
            assert v - a > benchmark
        elif s == "lower":
            assert v + b < benchmark
        else:
            assert v - a <= benchmark <= v + b


@given(st.integers(1, 9999))
def test_confidence_suffix_round_trips(per_ten_thousand):
    level = per_ten_thousand / 10000
    suffix = confidence_suffix(level)
    assert float(suffix[1:].replace("_", ".")) / 100 == pytest.approx(level, abs=1e-12)


# --- Fingertips' recent-trend rule on simulated flat series -----------------------------------


def test_flat_series_are_rarely_flagged_as_trends():
    """Seeded simulation: flat series (no trend) get an arrow far less often than 1 in 100.

    Fingertips' rule (5 points, 99.8 %, the sign kept without any one point) flags about 0.2 %
    of flat series; a plain 95 % test would flag about 5 %.
    """
    from indicators.methods import trend_direction

    rng = np.random.default_rng(20261203)
    years = list(range(2020, 2025))
    flagged_prop = flagged_reg = flagged_95 = 0
    trials = 2000
    z = 1.959963984540054
    for _ in range(trials):
        n = rng.integers(200, 5000, size=5)
        r = rng.binomial(n, 0.2)
        if trend_direction(years, [None] * 5, [None] * 5, [None] * 5, numerators=r, denominators=n) != "no_significant_change":
            flagged_prop += 1
        se = rng.uniform(0.5, 2.0, size=5)
        y = 50 + rng.normal(0, se)
        lower, upper = y - z * se, y + z * se
        if trend_direction(years, y, lower, upper) != "no_significant_change":
            flagged_reg += 1
        if trend_direction(years, y, lower, upper, confidence=0.95) != "no_significant_change":
            flagged_95 += 1
    assert flagged_prop / trials < 0.01
    assert flagged_reg / trials < 0.01
    # the test can fail: at 95 % the same series are flagged several times as often
    assert flagged_95 > 3 * max(flagged_reg, 1)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 5000), st.integers(0, 400))
def test_ratio_funnel_agrees_with_exact_interval_of_observed_count(expected, observed):
    """O / E lies outside funnel_limits_rate(1, E) exactly when the exact Poisson interval of O excludes E."""
    funnel = funnel_limits_rate(1.0, [expected], multiplier=1).row(0, named=True)
    for level, suffix in ((0.95, "_95"), (0.998, "_99_8")):
        lower, upper = poisson_exact_limits(np.array([float(observed)]), level)
        ratio = observed / expected
        if abs(lower[0] - expected) > 1e-7 * expected:
            assert (ratio > funnel["upper" + suffix]) == (lower[0] > expected)
        if abs(upper[0] - expected) > 1e-7 * expected:
            assert (ratio < funnel["lower" + suffix]) == (upper[0] < expected)
