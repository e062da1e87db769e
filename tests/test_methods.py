"""Tests for indicators.methods.

Reference values (PHEindicatormethods test data, UKHSA) are read from
../shared/reference/indicator-methods beside the project root and never copied
into the project; the tests that need them are skipped when it is absent.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # allow plain `pytest tests/...` without a config
    sys.path.insert(0, str(PROJECT_ROOT))

from indicators.methods import (  # noqa: E402
    MethodInputError,
    byars_limits,
    confidence_suffix,
    crude_rate,
    directly_standardised_rate,
    funnel_limits_proportion,
    funnel_limits_rate,
    funnel_points,
    indirectly_standardised_rate,
    indirectly_standardised_ratio,
    poisson_exact_limits,
    proportion,
    significance_vs_benchmark,
    variation_summary,
    z_value,
)

REF_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "indicator-methods"
RTOL = 1e-6

# reference column -> our column
LIMIT_COLUMNS = {
    "lower95_0cl": "lower_95",
    "upper95_0cl": "upper_95",
    "lower99_8cl": "lower_99_8",
    "upper99_8cl": "upper_99_8",
}


@pytest.fixture(scope="module")
def ref() -> Path:
    if not REF_DIR.is_dir():
        pytest.skip(f"reference data directory not available: {REF_DIR}")
    return REF_DIR


def assert_matches(actual: pl.Series | np.ndarray, expected: pl.Series | np.ndarray, label: str) -> None:
    """Equal null pattern and values within RTOL relative tolerance."""
    a = actual.cast(pl.Float64).to_numpy() if isinstance(actual, pl.Series) else np.asarray(actual, float)
    e = expected.cast(pl.Float64).to_numpy() if isinstance(expected, pl.Series) else np.asarray(expected, float)
    assert a.shape == e.shape, label
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e), err_msg=f"{label}: null pattern differs")
    ok = ~np.isnan(e)
    np.testing.assert_allclose(a[ok], e[ok], rtol=RTOL, atol=0, err_msg=label)


def level_from_text(text: str) -> float:
    return float(text.rstrip("%")) / 100.0


# =========================================================================== levels


def test_confidence_suffix_and_z_value():
    assert confidence_suffix(0.95) == "_95"
    assert confidence_suffix(0.998) == "_99_8"
    assert confidence_suffix(0.9) == "_90"
    assert confidence_suffix(0.999) == "_99_9"
    assert confidence_suffix(0.9999) == "_99_99"
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_value(0.998) == pytest.approx(3.090232, abs=1e-6)
    for bad in (95, 0, 1, -0.5, "0.95", True, float("nan")):
        with pytest.raises(MethodInputError, match="confidence"):
            confidence_suffix(bad)


def test_any_confidence_level_gets_its_own_columns():
    df = pl.DataFrame({"count": [25], "denominator": [1000]})
    out = crude_rate(df, confidence=(0.9,))
    assert {"lower_90", "upper_90"} <= set(out.columns)
    assert "lower_95" not in out.columns
    narrow = out.row(0, named=True)
    wide = crude_rate(df, confidence=0.95).row(0, named=True)
    assert wide["lower_95"] < narrow["lower_90"] < narrow["value"] < narrow["upper_90"] < wide["upper_95"]
    with pytest.raises(MethodInputError, match="duplicate levels"):
        crude_rate(df, confidence=(0.95, 0.95))


# =========================================================================== reference data


@pytest.mark.parametrize("multiplier", [100, 100000])
def test_crude_rate_reproduces_reference(ref, multiplier):
    data = pl.read_csv(ref / "testdata_Rate.csv").filter(pl.col("multiplier") == multiplier)
    assert data.height >= 8
    out = crude_rate(data, count="Numerator", denominator="Denominator", multiplier=multiplier)
    assert out.height == data.height
    assert_matches(out["value"], data["value"], "value")
    for theirs, ours in LIMIT_COLUMNS.items():
        assert_matches(out[ours], data[theirs], ours)
    assert out["method"].to_list() == data["method"].to_list()


@pytest.mark.parametrize("multiplier", [1, 100])
def test_proportion_reproduces_reference(ref, multiplier):
    data = pl.read_csv(ref / "testdata_Prop.csv").filter(pl.col("multiplier") == multiplier)
    out = proportion(data, numerator="Numerator", denominator="Denominator", multiplier=multiplier)
    assert_matches(out["value"], data["value"], "value")
    for theirs, ours in LIMIT_COLUMNS.items():
        assert_matches(out[ours], data[theirs], ours)
    assert out["method"].to_list() == data["method"].to_list()


def test_byars_limits_reproduce_reference(ref):
    data = pl.read_csv(ref / "testdata_B_W.csv").filter(pl.col("method") == "Byars")
    assert data.height >= 6
    for row in data.iter_rows(named=True):
        lower, upper = byars_limits(np.array([row["x"]]), level_from_text(row["confidence"]))
        assert upper[0] == pytest.approx(row["uppercl"], rel=RTOL)
        if row["lowercl"] is None:
            # x = 1 at 99.8 %: 1 - 1/9 - z/3 < 0, so Byar's formula gives a
            # negative count (about -0.0028); the reference leaves it blank and
            # byars_limits returns NaN (undefined) there.
            assert row["x"] == 1 and row["confidence"] == "99.8%"
            assert 1 - 1 / 9 - z_value(0.998) / 3 < 0
            assert math.isnan(lower[0])
        else:
            assert lower[0] == pytest.approx(row["lowercl"], rel=RTOL)


def test_wilson_limits_reproduce_reference(ref):
    data = pl.read_csv(ref / "testdata_B_W.csv").filter(pl.col("method") == "Wilson")
    assert data.height == 6
    for row in data.iter_rows(named=True):
        level = level_from_text(row["confidence"])
        frame = pl.DataFrame({"numerator": [row["x"]], "denominator": [row["n"]]})
        out = proportion(frame, multiplier=1, confidence=level)
        suffix = confidence_suffix(level)
        assert out["lower" + suffix][0] == pytest.approx(row["lowercl"], rel=RTOL)
        assert out["upper" + suffix][0] == pytest.approx(row["uppercl"], rel=RTOL)


def _multiarea_relabelled(ref: Path) -> pl.DataFrame:
    # PHE matches the standard population to the data by row position; its test
    # data label the 55-59 band "55-69".  We join by label, so relabel it.
    return pl.read_csv(ref / "testdata_multiarea.csv").with_columns(
        pl.col("ageband").replace("55-69", "55-59")
    )


def _esp2013(ref: Path) -> pl.DataFrame:
    return pl.read_csv(ref / "esp2013.csv")


@pytest.mark.parametrize("multiplier", [10000, 100000])
def test_dsr_reproduces_reference(ref, multiplier):
    results = pl.read_csv(ref / "testresults_DSR.csv")
    # the file has one block of rows per multiplier; a "dsr NA ..." row belongs
    # to the block of the "dsr per <multiplier>" rows before it
    block, blocks = None, []
    for statistic in results["statistic"]:
        if statistic.startswith("dsr per "):
            block = int(statistic.removeprefix("dsr per "))
        blocks.append(block)
    expected = results.with_columns(block=pl.Series(blocks)).filter(
        (pl.col("block") == multiplier) & (pl.col("area") != "testdata_1976")
    )
    assert expected["area"].to_list() == ["testdata_big", "testdata_small", "testdata_tiny"]
    out = directly_standardised_rate(
        _multiarea_relabelled(ref),
        ["area"],
        standard=_esp2013(ref),
        standard_weight="esp2013",
        join_on="ageband",
        population="pop",
        multiplier=multiplier,
    )
    assert out["area"].to_list() == expected["area"].to_list()
    assert out["count"].to_list() == expected["total_count"].to_list()
    assert out["population"].to_list() == expected["total_pop"].to_list()
    assert_matches(out["value"], expected["value"], "value")
    for theirs, ours in LIMIT_COLUMNS.items():
        assert_matches(out[ours], expected[theirs], ours)
    assert out["method"].to_list() == ["Dobson"] * 3
    assert out["note"].to_list() == [None, None, "total count < 10"]


def test_dsr_with_own_standard_1976_reproduces_reference(ref):
    data = pl.read_csv(ref / "testdata_1976.csv")
    standard = data.select("Age Band", "esp1976")
    expected = pl.read_csv(ref / "testresults_DSR.csv").filter(pl.col("area") == "testdata_1976")
    assert expected.height == 2
    for row in expected.iter_rows(named=True):
        multiplier = int(row["statistic"].removeprefix("dsr per "))
        out = directly_standardised_rate(
            data, [], standard=standard, standard_weight="esp1976", join_on="Age Band",
            population="pop", multiplier=multiplier,
        ).row(0, named=True)
        assert out["count"] == row["total_count"]
        assert out["population"] == row["total_pop"]
        assert out["value"] == pytest.approx(row["value"], rel=RTOL)
        # 95 % limits only (README): the reference 99.8 % limits for this row
        # are exactly ten times too large.
        assert out["lower_95"] == pytest.approx(row["lower95_0cl"], rel=RTOL)
        assert out["upper_95"] == pytest.approx(row["upper95_0cl"], rel=RTOL)
        assert out["lower_99_8"] * 10 == pytest.approx(row["lower99_8cl"], rel=RTOL)
        assert out["upper_99_8"] * 10 == pytest.approx(row["upper99_8cl"], rel=RTOL)


def test_dsr_reference_data_without_relabelling_is_rejected(ref):
    with pytest.raises(
        MethodInputError,
        match=r"unknown age band\(s\) in data not in standard population: '55-69'",
    ):
        directly_standardised_rate(
            pl.read_csv(ref / "testdata_multiarea.csv"), ["area"], standard=_esp2013(ref),
            standard_weight="esp2013", join_on="ageband", population="pop",
        )


_ISR_STAT = re.compile(r"indirectly standardised (rate per|ratio x) (\d+)")


def _isr(kind: str, data: pl.DataFrame, multiplier: int, **kwargs) -> pl.DataFrame:
    func = indirectly_standardised_rate if kind == "rate per" else indirectly_standardised_ratio
    return func(data, ["area"], population="pop", reference_count="refcount",
                reference_population="refpop", multiplier=multiplier, **kwargs)


def _compare_isr(out: pl.DataFrame, expected: pl.DataFrame, kind: str, limits: dict[str, str]) -> None:
    assert out["area"].to_list() == expected["area"].to_list()
    assert out["observed"].to_list() == expected["observed"].to_list()
    assert_matches(out["expected"], expected["expected"], "expected")
    if kind == "rate per":
        assert_matches(out["reference_rate"], expected["ref_rate"], "reference_rate")
    else:
        assert "reference_rate" not in out.columns
    assert_matches(out["value"], expected["value"], "value")
    for theirs, ours in limits.items():
        assert_matches(out[ours], expected[theirs], ours)
    assert out["method"].to_list() == expected["method"].to_list()


def _isr_blocks(ref: Path, areas_prefix: str) -> list[tuple[str, int, pl.DataFrame]]:
    results = pl.read_csv(ref / "testresults_ISR.csv").filter(pl.col("area").str.starts_with(areas_prefix))
    blocks = []
    for statistic in results["statistic"].unique(maintain_order=True).to_list():
        kind, mult = _ISR_STAT.fullmatch(statistic).groups()
        blocks.append((kind, int(mult), results.filter(pl.col("statistic") == statistic)))
    return blocks


def test_isr_reproduces_reference_all_statistics(ref):
    data = pl.read_csv(ref / "testdata_multiarea_isr.csv")
    blocks = _isr_blocks(ref, "testdata_")
    assert {(k, m) for k, m, _ in blocks} == {
        ("rate per", 100000), ("rate per", 1000), ("ratio x", 1), ("ratio x", 100)
    }
    for kind, mult, expected in blocks:
        _compare_isr(_isr(kind, data, mult), expected, kind, LIMIT_COLUMNS)


def test_isr_with_separate_reference_table_matches_reference(ref):
    # same numbers when the reference rates come from refdata.csv joined on band
    data = pl.read_csv(ref / "testdata_multiarea.csv")
    reference = pl.read_csv(ref / "refdata.csv").rename({"Age Band": "ageband"})
    for kind, mult, expected in _isr_blocks(ref, "testdata_"):
        out = _isr(kind, data, mult, reference=reference, join_on="ageband")
        _compare_isr(out, expected, kind, LIMIT_COLUMNS)


def test_isr_zero_population_rows_reproduce_reference(ref):
    """Rows Area1/Area2 of testresults_ISR.csv.

    In PHEindicatormethods they are the "test zero population" case: input
    sheet testdata_err2 (not among the reference files), 95 % limits only
    (hence the blank 99.8 % columns).  Area2 equals testdata_small.  Area1
    has testdata_big's observed total but an expected count lower by exactly
    the 5-9 band's contribution, i.e. testdata_big with a zero population in
    the 5-9 band.  We rebuild that input, check the inference, and compare.
    """
    data = pl.read_csv(ref / "testdata_multiarea_isr.csv")
    blocks = _isr_blocks(ref, "Area")
    assert [(k, m) for k, m, _ in blocks] == [("rate per", 100000), ("ratio x", 100)]
    for _, _, expected in blocks:
        assert expected["lower99_8cl"].null_count() == expected.height
        assert expected["upper99_8cl"].null_count() == expected.height

    big = data.filter(pl.col("area") == "testdata_big")
    full_expected = (big["pop"] * big["refcount"] / big["refpop"]).sum()
    area1_expected = blocks[0][2].filter(pl.col("area") == "Area1")["expected"][0]
    contribution = (big["pop"] * big["refcount"] / big["refpop"]).to_numpy()
    matches = [band for band, c in zip(big["ageband"], contribution)
               if c == pytest.approx(full_expected - area1_expected, rel=1e-9)]
    assert matches == ["5-9"]

    err2 = pl.concat([
        big.with_columns(
            area=pl.lit("Area1"),
            pop=pl.when(pl.col("ageband") == "5-9").then(0).otherwise(pl.col("pop")),
        ),
        data.filter(pl.col("area") == "testdata_small").with_columns(area=pl.lit("Area2")),
    ])
    limits_95 = {k: v for k, v in LIMIT_COLUMNS.items() if "95" in k}
    for kind, mult, expected in blocks:
        out = _isr(kind, err2, mult, confidence=0.95)
        assert "lower_99_8" not in out.columns
        _compare_isr(out, expected, kind, limits_95)


# =========================================================================== validation


def test_negative_count_is_rejected():
    df = pl.DataFrame({"count": [1, 2, -3, 4], "denominator": [10, 10, 10, 10]})
    with pytest.raises(MethodInputError, match=r"^count: negative value -3 in row 2$"):
        crude_rate(df)


def test_several_bad_rows_are_counted():
    df = pl.DataFrame({"count": [1, -2, -3, -4], "denominator": [10, 10, 10, 10]})
    with pytest.raises(MethodInputError, match=r"count: negative value -2 in row 1 \(and 2 more rows\)"):
        crude_rate(df)


def test_zero_denominator_is_rejected():
    df = pl.DataFrame({"count": [1, 2, 3, 4, 5], "denominator": [10, 10, 10, 10, 0]})
    with pytest.raises(MethodInputError, match=r"^denominator: zero in row 4$"):
        crude_rate(df)
    with pytest.raises(MethodInputError, match=r"^denominator: zero in row 4$"):
        proportion(df.rename({"count": "numerator"}))


def test_numerator_above_denominator_is_rejected():
    df = pl.DataFrame({"numerator": [12, 3], "denominator": [10, 10]})
    with pytest.raises(MethodInputError, match=r"^numerator 12 exceeds denominator 10 in row 0$"):
        proportion(df)
    # ... but is fine for a rate
    assert crude_rate(df, count="numerator")["value"][0] == pytest.approx(1200.0)


def test_non_numeric_missing_and_non_finite_columns_are_rejected():
    with pytest.raises(MethodInputError, match=r"count: column must be numeric, got String"):
        crude_rate(pl.DataFrame({"count": ["1"], "denominator": [10]}))
    with pytest.raises(MethodInputError, match=r"column 'denominator' not found in data"):
        crude_rate(pl.DataFrame({"count": [1], "pop": [10]}))
    with pytest.raises(MethodInputError, match=r"denominator: non-finite value nan in row 1"):
        crude_rate(pl.DataFrame({"count": [1, 2], "denominator": [10.0, float("nan")]}))
    with pytest.raises(MethodInputError, match=r"multiplier"):
        crude_rate(pl.DataFrame({"count": [1], "denominator": [10]}), multiplier=0)
    with pytest.raises(MethodInputError, match=r"^counts: negative value -1 at position 1$"):
        byars_limits(np.array([3.0, -1.0]))
    with pytest.raises(MethodInputError, match=r"^counts: negative value -2.5 at position 0$"):
        poisson_exact_limits([-2.5, 1])


def test_null_inputs_propagate_to_null_results():
    df = pl.DataFrame({"count": [None, 5, 20], "denominator": [100, None, 100]})
    out = crude_rate(df)
    assert out["value"].to_list()[:2] == [None, None]
    assert out["lower_95"].to_list()[:2] == [None, None]
    assert out["method"].to_list() == [None, "Exact", "Byars"]
    assert out.columns[:2] == ["count", "denominator"]


def _dsr_frame() -> tuple[pl.DataFrame, pl.DataFrame]:
    standard = pl.DataFrame({"age_band": ["0-39", "40-79", "80+"], "weight": [50.0, 40.0, 10.0]})
    data = pl.DataFrame({
        "area": ["A"] * 3 + ["B"] * 3,
        "year": [2020] * 6,
        "age_band": ["0-39", "40-79", "80+"] * 2,
        "count": [10, 30, 40, 2, 10, 20],
        "population": [5000, 4000, 1000, 3000, 3000, 800],
    })
    return data, standard


def test_dsr_hand_computed_and_grouping():
    data, standard = _dsr_frame()
    out = directly_standardised_rate(data, ["area", "year"], standard=standard)
    assert out.columns[:4] == ["area", "year", "count", "population"]
    a = out.row(0, named=True)
    # DSR for A: (50*10/5000 + 40*30/4000 + 10*40/1000) / 100 * 100000
    assert a["value"] == pytest.approx((50 * 10 / 5000 + 40 * 30 / 4000 + 10 * 40 / 1000) / 100 * 100000)
    assert a["count"] == 80 and a["population"] == 10000
    var = (50**2 * 10 / 5000**2 + 40**2 * 30 / 4000**2 + 10**2 * 40 / 1000**2) / 100**2
    z = 1.959963984540054
    byars_lo = 80 * (1 - 1 / (9 * 80) - z / (3 * math.sqrt(80))) ** 3
    assert a["lower_95"] == pytest.approx(a["value"] + math.sqrt(var / 80) * (byars_lo - 80) * 100000)
    # empty group_by: one overall row
    total = directly_standardised_rate(data.filter(pl.col("area") == "A"), [], standard=standard)
    assert total.height == 1 and total["value"][0] == pytest.approx(a["value"])


def test_dsr_unknown_band_is_rejected():
    data, standard = _dsr_frame()
    data = data.with_columns(pl.col("age_band").replace("80+", "95+"))
    with pytest.raises(MethodInputError, match=r"unknown age band\(s\) in data not in standard population: '95\+'"):
        directly_standardised_rate(data, ["area"], standard=standard)


def test_dsr_group_missing_band_is_rejected():
    data, standard = _dsr_frame()
    data = data.filter(~((pl.col("area") == "B") & (pl.col("age_band") == "80+")))
    with pytest.raises(MethodInputError, match=r"group area='B' lacks age band\(s\) present in the standard population: '80\+'"):
        directly_standardised_rate(data, ["area"], standard=standard)


def test_dsr_duplicate_zero_and_null_population_are_rejected():
    data, standard = _dsr_frame()
    with pytest.raises(MethodInputError, match=r"duplicate rows in data for area='A', age_band='0-39' \(rows 0 and 6\)"):
        directly_standardised_rate(pl.concat([data, data.head(1)]), ["area"], standard=standard)
    with pytest.raises(MethodInputError, match=r"^population: zero in row 4$"):
        directly_standardised_rate(
            data.with_columns(population=pl.Series([5000, 4000, 1000, 3000, 0, 800])), ["area"], standard=standard
        )
    with pytest.raises(MethodInputError, match=r"^population: null in row 1$"):
        directly_standardised_rate(
            data.with_columns(population=pl.Series([5000, None, 1000, 3000, 3000, 800])), ["area"], standard=standard
        )
    with pytest.raises(MethodInputError, match=r"duplicate rows in standard population for age_band='80\+'"):
        directly_standardised_rate(data, ["area"], standard=pl.concat([standard, standard.tail(1)]))


def test_dsr_small_total_count_gives_null_with_note():
    data, standard = _dsr_frame()
    small = data.with_columns(count=pl.Series([1, None, 2, 2, 10, 20]))  # A: total 3
    out = directly_standardised_rate(small, ["area"], standard=standard)
    assert out["count"].to_list() == [3, 32]
    assert out["value"][0] is None and out["upper_99_8"][0] is None
    assert out["note"].to_list() == ["total count < 10", None]
    assert out["method"].to_list() == ["Dobson", "Dobson"]


def test_dsr_negative_dobson_lower_limit_is_truncated_at_zero():
    standard = pl.DataFrame({"age_band": ["young", "middle", "old"], "weight": [40.0, 35.0, 25.0]})
    data = pl.DataFrame({"age_band": ["young", "middle", "old"], "count": [0, 1, 9], "population": [1, 1, 5]})
    out = directly_standardised_rate(data, [], standard=standard, multiplier=1).row(0, named=True)
    value = (35 * 1 / 1 + 25 * 9 / 5) / 100  # 0.8
    var = (35**2 * 1 / 1**2 + 25**2 * 9 / 5**2) / 100**2  # 0.145
    z = 3.090232306167813
    byars_lo = 10 * (1 - 1 / 90 - z / (3 * math.sqrt(10))) ** 3
    raw_lower = value + math.sqrt(var / 10) * (byars_lo - 10)
    assert raw_lower < 0  # what PHE would report
    assert out["value"] == pytest.approx(value)
    assert out["lower_99_8"] == 0.0
    assert out["lower_95"] > 0


def test_isr_validation():
    df = pl.DataFrame({
        "area": ["A", "A", "B", "B"], "age_band": ["young", "old"] * 2,
        "count": [3, 12, 1, 5], "population": [1000, 500, 800, 0],
        "reference_count": [100, 300, 100, 300], "reference_population": [50000, 20000, 50000, 20000],
    })
    out = indirectly_standardised_ratio(df, "area")
    # E_A = 1000*100/50000 + 500*300/20000 = 2 + 7.5 = 9.5; B: 800*100/50000 + 0 = 1.6
    assert out["expected"].to_list() == pytest.approx([9.5, 1.6])
    assert out["value"].to_list() == pytest.approx([15 / 9.5 * 100, 6 / 1.6 * 100])
    assert out["method"].to_list() == ["Byars", "Exact"]
    rate = indirectly_standardised_rate(df, "area", multiplier=1000)
    # reference crude rate 400 / 70000 per person
    assert rate["reference_rate"].to_list() == pytest.approx([400 / 70000 * 1000] * 2)
    assert rate["value"].to_list() == pytest.approx((out["value"] / 100 * 400 / 70000 * 1000).to_list())

    with pytest.raises(MethodInputError, match=r"^count: negative value -1 in row 3$"):
        indirectly_standardised_ratio(df.with_columns(count=pl.Series([3, 12, 1, -1])), "area")
    with pytest.raises(MethodInputError, match=r"^reference_population: zero in row 0$"):
        indirectly_standardised_ratio(
            df.with_columns(reference_population=pl.Series([0, 20000, 50000, 20000])), "area"
        )
    with pytest.raises(MethodInputError, match=r"expected count is zero for group area='B'"):
        indirectly_standardised_ratio(df.with_columns(population=pl.Series([1000, 500, 0, 0])), "area")
    reference = pl.DataFrame({"age_band": ["young"], "rc": [100], "rp": [50000]})
    with pytest.raises(MethodInputError, match=r"unknown age band\(s\) in data not in reference population: 'old'"):
        indirectly_standardised_ratio(
            df.drop("reference_count", "reference_population"), "area", reference=reference,
            reference_count="rc", reference_population="rp", join_on="age_band",
        )
    with pytest.raises(MethodInputError, match=r"duplicate rows in data for area='A', age_band='old'"):
        indirectly_standardised_ratio(pl.concat([df, df.slice(1, 1)]), "area", join_on="age_band")
    with pytest.raises(MethodInputError, match=r"group area='B' lacks age band\(s\) present in the data of other groups: 'old'"):
        indirectly_standardised_ratio(df.head(3), "area", join_on="age_band")
    # no grouping: one overall row, O = 21, E = 11.1
    overall = indirectly_standardised_ratio(df, [], confidence=0.9)
    assert overall.columns == ["observed", "expected", "value", "lower_90", "upper_90", "method"]
    assert overall["value"][0] == pytest.approx(21 / 11.1 * 100)


# =========================================================================== significance


def _sig_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "value": [12.0, 8.0, 10.5, 10.0, None, 11.0, 10.2],
        "lower_95": [11.0, 6.0, 9.0, 10.0, 1.0, None, 10.1],
        "upper_95": [13.0, 9.5, 12.0, 11.0, 2.0, 12.0, 10.3],
        "national": [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, None],
    })


def test_significance_against_fixed_benchmark():
    out = significance_vs_benchmark(_sig_frame(), 10.0)
    # row 3: lower limit equal to the benchmark is not significant (strict rule)
    assert out["significance"].to_list() == [
        "higher", "lower", "similar", "similar", "not_compared", "not_compared", "higher"
    ]
    assert "assessment" not in out.columns


def test_significance_against_benchmark_column_and_directions():
    df = _sig_frame()
    out = significance_vs_benchmark(df, "national", direction="higher_is_better")
    assert out["significance"].to_list() == [
        "higher", "lower", "similar", "similar", "not_compared", "not_compared", "not_compared"
    ]
    assert out["assessment"].to_list() == [
        "better", "worse", "similar", "similar", "not_compared", "not_compared", "not_compared"
    ]
    worse_first = significance_vs_benchmark(df, "national", direction="lower_is_better")
    assert worse_first["assessment"].to_list()[:3] == ["worse", "better", "similar"]
    neutral = significance_vs_benchmark(df, 10.0, direction="neutral")
    assert neutral["assessment"].to_list()[:4] == ["higher", "lower", "similar", "similar"]
    # 99.8 % limits from another pair of columns
    wide = df.with_columns(lo=pl.col("lower_95") - 2, hi=pl.col("upper_95") + 2)
    assert significance_vs_benchmark(wide, 10.0, lower="lo", upper="hi")["significance"][0] == "similar"


def test_significance_validation():
    df = _sig_frame()
    with pytest.raises(MethodInputError, match="direction"):
        significance_vs_benchmark(df, 10.0, direction="up")
    with pytest.raises(MethodInputError, match=r"lower_95 14 exceeds upper_95 13 in row 0"):
        significance_vs_benchmark(df.with_columns(lower_95=pl.Series([14.0] + [1.0] * 6)), 10.0)
    with pytest.raises(MethodInputError, match=r"column 'england' not found"):
        significance_vs_benchmark(df, "england")
    with pytest.raises(MethodInputError, match="benchmark"):
        significance_vs_benchmark(df, None)


# =========================================================================== funnels


@pytest.mark.parametrize("method", ["exact", "wilson"])
@pytest.mark.parametrize("p0", [0.002, 0.05, 0.3, 0.5, 0.9])
def test_proportion_funnel_is_monotone_and_converges(method, p0):
    n = funnel_points(1, 1e7, 200)
    out = funnel_limits_proportion(p0, n, method=method)
    assert out.columns == ["denominator", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "baseline", "method"]
    assert out["baseline"][0] == pytest.approx(p0 * 100)
    for level in ("_95", "_99_8"):
        lo, hi = out["lower" + level].to_numpy(), out["upper" + level].to_numpy()
        assert np.all(np.diff(hi) <= 1e-12), "upper limit must not rise with n"
        assert np.all(np.diff(lo) >= -1e-12), "lower limit must not fall with n"
        assert np.all((lo >= 0) & (lo <= p0 * 100) & (hi >= p0 * 100) & (hi <= 100))
        assert hi[-1] - lo[-1] < hi[0] - lo[0]
        # at n = 1e7 the band is p0 +/- z sqrt(p0 (1 - p0) / n) to within 2 %
        half = z_value(0.95 if level == "_95" else 0.998) * math.sqrt(p0 * (1 - p0) / 1e7) * 100
        assert hi[-1] - p0 * 100 == pytest.approx(half, rel=0.02)
        assert p0 * 100 - lo[-1] == pytest.approx(half, rel=0.02)
    assert (out["upper_99_8"] >= out["upper_95"]).all() and (out["lower_99_8"] <= out["lower_95"]).all()


def test_wilson_funnel_formula_and_consistency_with_proportion():
    out = funnel_limits_proportion(0.2, [400], confidence=0.95, multiplier=1, method="wilson")
    half = 1.959963984540054 * math.sqrt(0.2 * 0.8 / 400)  # = 0.0392
    assert out["upper_95"][0] == pytest.approx(0.2 + half)
    assert out["lower_95"][0] == pytest.approx(0.2 - half)
    # an observed proportion on the upper funnel line has its Wilson lower limit at p0
    edge = proportion(pl.DataFrame({"numerator": [out["upper_95"][0] * 400], "denominator": [400]}),
                      multiplier=1, confidence=0.95)
    assert edge["lower_95"][0] == pytest.approx(0.2)


def test_exact_funnels_agree_with_exact_confidence_intervals():
    # proportions: x/n lies above the upper funnel iff the Clopper-Pearson lower limit exceeds p0
    p0, n = 0.1, 150
    f = funnel_limits_proportion(p0, [n], confidence=0.95, multiplier=1, method="exact").row(0, named=True)
    for x in range(0, n + 1):
        cp_lower = stats.beta.ppf(0.025, x, n - x + 1) if x > 0 else 0.0
        cp_upper = stats.beta.ppf(0.975, x + 1, n - x) if x < n else 1.0
        assert (x / n > f["upper_95"]) == (cp_lower > p0)
        assert (x / n < f["lower_95"]) == (cp_upper < p0)
    # rates: O events lie above the upper funnel iff the exact lower limit of O exceeds E
    rate0, pop = 0.004, 2000.0  # expected 8 events
    g = funnel_limits_rate(rate0, [pop], multiplier=1, confidence=0.95).row(0, named=True)
    counts = np.arange(0, 40, dtype=float)
    lower, upper = poisson_exact_limits(counts, 0.95)
    np.testing.assert_array_equal(counts / pop > g["upper_95"], lower > rate0 * pop)
    np.testing.assert_array_equal(counts / pop < g["lower_95"], upper < rate0 * pop)


@pytest.mark.parametrize("rate0", [1e-5, 0.003, 0.2])
def test_rate_funnel_is_monotone_and_converges(rate0):
    n = funnel_points(10, 1e9, 200)
    out = funnel_limits_rate(rate0, n, multiplier=1000)
    assert out["baseline"][0] == pytest.approx(rate0 * 1000)
    for level in ("_95", "_99_8"):
        lo, hi = out["lower" + level].to_numpy(), out["upper" + level].to_numpy()
        assert np.all(np.diff(hi) <= 1e-12) and np.all(np.diff(lo) >= -1e-12)
        assert np.all((lo >= 0) & (lo <= rate0 * 1000) & (hi >= rate0 * 1000))
        expected_events = rate0 * 1e9
        half = z_value(0.95 if level == "_95" else 0.998) * math.sqrt(expected_events) / 1e9 * 1000
        assert hi[-1] - rate0 * 1000 == pytest.approx(half, rel=0.02)
        assert rate0 * 1000 - lo[-1] == pytest.approx(half, rel=0.02)


def test_spiegelhalter_interpolation_is_close_to_exact_but_not_monotone():
    n = np.arange(1, 400, dtype=float)
    exact = funnel_limits_proportion(0.5, n, multiplier=1, method="exact")
    spieg = funnel_limits_proportion(0.5, n, multiplier=1, method="spiegelhalter")
    assert spieg["method"][0] == "Spiegelhalter"
    for col in ("lower_95", "upper_95", "lower_99_8", "upper_99_8"):
        assert np.all(np.abs(exact[col].to_numpy() - spieg[col].to_numpy()) <= 1 / n + 1e-12)
    # Spiegelhalter (2005) appendix A.1 by hand for n = 17 and 18, p0 = 0.5, q = 0.975
    def interpolated(m):
        b = stats.binom(m, 0.5)
        r = b.ppf(0.975)
        alpha = (b.cdf(r) - 0.975) / (b.cdf(r) - b.cdf(r - 1))
        return (r - alpha) / m
    assert spieg["upper_95"][16] == pytest.approx(interpolated(17))
    assert spieg["upper_95"][17] == pytest.approx(interpolated(18))
    assert interpolated(18) > interpolated(17)  # the documented saw-tooth
    with pytest.raises(MethodInputError, match="whole numbers"):
        funnel_limits_proportion(0.5, [10.5], method="spiegelhalter")


def test_funnel_points_and_validation():
    pts = funnel_points(10, 100000, 5)
    np.testing.assert_allclose(pts, [10, 100, 1000, 10000, 100000])
    ints = funnel_points(1, 50, 200, integer=True)
    assert ints[0] == 1 and ints[-1] == 50 and np.all(np.diff(ints) > 0) and np.all(ints == np.round(ints))
    with pytest.raises(MethodInputError, match="n_max"):
        funnel_points(10, 5)
    with pytest.raises(MethodInputError, match="p0"):
        funnel_limits_proportion(1.2, [10])
    with pytest.raises(MethodInputError, match=r"denominators: must be positive and finite, got 0 at position 1"):
        funnel_limits_rate(0.01, [10, 0])
    with pytest.raises(MethodInputError, match="method"):
        funnel_limits_rate(0.01, [10], method="wilson")


# =========================================================================== variation


def test_variation_summary_hand_computed():
    df = pl.DataFrame({
        "value": [2.0, 4.0, 8.0, None],
        "obs": [12, 20, 40, 7],
        "exp": [10.0, 25.0, 30.0, 7.0],
    })
    out = variation_summary(df, observed="obs", expected="exp").row(0, named=True)
    assert out["n_areas"] == 3
    assert out["high_low_ratio"] == pytest.approx(8.0 / 2.0)
    mean = (2.0 + 4.0 + 8.0) / 3.0
    sd = math.sqrt(((2.0 - mean) ** 2 + (4.0 - mean) ** 2 + (8.0 - mean) ** 2) / (3 - 1))
    assert out["cv"] == pytest.approx(sd / mean)
    assert out["cv"] == pytest.approx(0.6546537)
    # SCV x 100 = 100/k * sum((O-E)^2/E^2 - 1/E), k = 4 rows
    terms = [
        (12 - 10) ** 2 / 10**2 - 1 / 10,   # -0.06
        (20 - 25) ** 2 / 25**2 - 1 / 25,   # 0
        (40 - 30) ** 2 / 30**2 - 1 / 30,   # 0.0777...
        (7 - 7) ** 2 / 7**2 - 1 / 7,       # -0.142857...
    ]
    assert out["scv"] == pytest.approx(100 * sum(terms) / 4)
    assert out["scv"] == pytest.approx(100 * (-0.06 + 0.0 + (1 / 9 - 1 / 30) - 1 / 7) / 4)


def test_variation_ft2_ft3_and_cv_in_percent_as_skde_defines_them():
    # SKDE (rateprogram/variasjon.sas): FT1 = highest / lowest, FT2 = second highest / second lowest,
    # FT3 = third highest / third lowest; CV = 100 * sample SD / mean (per cent).
    values = [50.0, 10.0, 40.0, 20.0, 30.0, 100.0, 25.0]  # sorted: 10 20 25 30 40 50 100
    out = variation_summary(pl.DataFrame({"value": values})).row(0, named=True)
    assert out["high_low_ratio"] == pytest.approx(10.0)  # 100 / 10: driven by the single outlier
    assert out["ft2"] == pytest.approx(2.5)  # 50 / 20
    assert out["ft3"] == pytest.approx(1.6)  # 40 / 25
    # mean 275/7 = 39.2857; squared deviations sum 5321.43; SD = sqrt(5321.43 / 6) = 29.7809
    assert out["cv_percent"] == pytest.approx(100 * 29.78095 / 39.28571, rel=1e-5)
    assert out["cv_percent"] == pytest.approx(75.8060, rel=1e-5)
    assert out["cv_percent"] == pytest.approx(100 * out["cv"])
    # FT2 needs four areas and FT3 six, so that the two values come from different areas
    few = variation_summary(pl.DataFrame({"value": [1.0, 2.0, 3.0, 4.0, 5.0]})).row(0, named=True)
    assert few["ft2"] == pytest.approx(4.0 / 2.0) and few["ft3"] is None
    three = variation_summary(pl.DataFrame({"value": [1.0, 2.0, 3.0]})).row(0, named=True)
    assert three["ft2"] is None and three["ft3"] is None


def test_variation_summary_edge_cases():
    out = variation_summary(pl.DataFrame({"value": [0.0, 3.0]})).row(0, named=True)
    assert out["high_low_ratio"] is None and out["scv"] is None and out["n_areas"] == 2
    assert out["cv"] == pytest.approx(math.sqrt(4.5) / 1.5)
    single = variation_summary(pl.DataFrame({"value": [5.0]})).row(0, named=True)
    assert single["cv"] is None and single["high_low_ratio"] == 1.0
    with pytest.raises(MethodInputError, match="both observed and expected"):
        variation_summary(pl.DataFrame({"value": [1.0], "o": [1]}), observed="o")
    with pytest.raises(MethodInputError, match=r"^e: zero in row 0$"):
        variation_summary(pl.DataFrame({"value": [1.0], "o": [1], "e": [0.0]}), observed="o", expected="e")


# --- DSR with empty bands (small areas) ---------------------------------------------


def _two_band_frame(pop_b: float, count_b: float) -> pl.DataFrame:
    return pl.DataFrame(
        {"area": ["k", "k"], "age_band": ["a", "b"], "count": [12.0, count_b], "population": [100.0, pop_b]}
    )


def test_dsr_empty_band_counts_as_rate_zero_with_full_weight():
    standard = pl.DataFrame({"age_band": ["a", "b"], "weight": [3.0, 1.0]})
    out = directly_standardised_rate(
        _two_band_frame(0.0, 0.0), "area", standard=standard, multiplier=1000, empty_bands="zero"
    )
    # Band a: 12/100 with weight 3; band b empty contributes 0 with weight 1 -> (3*0.12 + 0) / 4
    assert out["value"][0] == pytest.approx((3 * 12 / 100) / 4 * 1000, rel=1e-12)


def test_dsr_empty_band_is_an_error_by_default_and_with_events():
    standard = pl.DataFrame({"age_band": ["a", "b"], "weight": [3.0, 1.0]})
    with pytest.raises(MethodInputError, match="population"):
        directly_standardised_rate(_two_band_frame(0.0, 0.0), "area", standard=standard)
    with pytest.raises(MethodInputError, match="events in row 1 where population is zero"):
        directly_standardised_rate(_two_band_frame(0.0, 2.0), "area", standard=standard, empty_bands="zero")


# --- trend (Fingertips' recent-trend rule) ----------------------------------------------
# Known answers worked by hand from the method Fingertips publishes ("Fingertips trend markers",
# OHID public health technical guidance): the last five points, the chi-square test for trend on
# counts for proportions, the inverse-variance weighted regression otherwise, significance at
# 99.8 % (chi2 > 3.090232^2 = 9.5495) and the same sign of the slope in every leave-one-out fit.

Z95 = 1.959963984540054
CHI2_998 = 3.090232306167813**2  # 9.5495


def test_chi_square_trend_reproduces_r_prop_trend_test():
    from indicators.methods.trend import chi_square_trend

    # R: prop.trend.test(c(83, 90, 129, 70), c(86, 93, 136, 82)) -> X-squared = 8.2249 (the R manual's example)
    slope, chi2 = chi_square_trend([1, 2, 3, 4], [83, 90, 129, 70], [86, 93, 136, 82])
    assert chi2 == pytest.approx(8.2249, abs=5e-5)
    assert slope < 0
    # the statistic does not depend on how the years are numbered
    assert chi_square_trend([2021, 2022, 2023, 2024], [83, 90, 129, 70], [86, 93, 136, 82])[1] == pytest.approx(chi2)


def test_proportion_trend_known_answers():
    from indicators.methods import trend_direction

    years = [2020, 2021, 2022, 2023, 2024]
    n = [1000] * 5
    # 10 %, 11 %, ..., 14 %: sum(r x) - R x_bar over x = 0..4 is 100 (x_bar = 2, R = 600,
    # sum(r x) = 1300); sum(n x^2) - N x_bar^2 = 30000 - 20000 = 10000; p = 0.12:
    # chi2 = 100^2 / (0.12 * 0.88 * 10000) = 9.47 < 9.55: not significant at 99.8 %
    # (it would be at 95 %: 9.47 > 3.84).
    r = [100, 110, 120, 130, 140]
    assert 100**2 / (0.12 * 0.88 * 10000) < CHI2_998
    args = (years, [v / 10 for v in r], [None] * 5, [None] * 5)
    assert trend_direction(*args, numerators=r, denominators=n) == "no_significant_change"
    assert trend_direction(*args, numerators=r, denominators=n, confidence=0.95) == "increasing"
    # 10 %, 12 %, ..., 18 %: score 200, p = 0.14: chi2 = 200^2 / (0.14 * 0.86 * 10000) = 33.2: increasing
    r2 = [100, 120, 140, 160, 180]
    assert trend_direction(years, [None] * 5, [None] * 5, [None] * 5, numerators=r2, denominators=n) == "increasing"
    assert trend_direction(years, [None] * 5, [None] * 5, [None] * 5, numerators=r2[::-1],
                           denominators=n) == "decreasing"


def test_weighted_regression_trend_known_answers():
    from indicators.methods import trend_direction

    years = [2020, 2021, 2022, 2023, 2024]

    def check(values, se=1.0, **kw):
        return trend_direction(years, values, [v - Z95 * se for v in values], [v + Z95 * se for v in values], **kw)

    # se = 1 for every point: chi2 = slope^2 * sum((x - x_bar)^2) = slope^2 * 10
    assert check([10.0, 11.0, 12.0, 13.0, 14.0]) == "increasing"  # chi2 = 10 > 9.55
    assert check([14.0, 13.0, 12.0, 11.0, 10.0]) == "decreasing"
    assert check([10.0, 10.9, 11.8, 12.7, 13.6]) == "no_significant_change"  # chi2 = 8.1 < 9.55
    assert check([10.0, 10.9, 11.8, 12.7, 13.6], confidence=0.95) == "increasing"  # 8.1 > 3.84
    # One jump at the end: chi2 = 4^2 * 10 / ... large, but without the last point the slope is 0,
    # so the sign is not kept in every leave-one-out fit: no trend.
    jump = [10.0, 10.0, 10.0, 10.0, 20.0]
    assert check(jump, se=0.5) == "no_significant_change"
    # and the same jump on a rising series keeps its sign: increasing
    assert check([10.0, 11.0, 12.0, 13.0, 20.0], se=0.5) == "increasing"


def test_trend_uses_exactly_the_last_five_points():
    from indicators.methods import trend_direction

    # four points, however steep, are too few (Fingertips needs five)
    steep = [10.0, 20.0, 30.0, 40.0]
    assert trend_direction([2021, 2022, 2023, 2024], steep, [v - 0.1 for v in steep],
                           [v + 0.1 for v in steep]) == "too_few_points"
    # a hidden value among the last five: too few; the same value hidden six years back: counted
    years = [2019, 2020, 2021, 2022, 2023, 2024]
    values = [None, 10.0, 11.0, 12.0, 13.0, 14.0]
    lower = [None if v is None else v - Z95 * 0.5 for v in values]
    upper = [None if v is None else v + Z95 * 0.5 for v in values]
    assert trend_direction(years, values, lower, upper) == "increasing"
    hidden = [10.0, 11.0, None, 12.0, 13.0, 14.0]
    assert trend_direction(years, hidden, [None if v is None else v - 1 for v in hidden],
                           [None if v is None else v + 1 for v in hidden]) == "too_few_points"
    # an old falling stretch does not count: only 2020-2024 are tested (rising)
    years8 = list(range(2017, 2025))
    values8 = [30.0, 20.0, 10.0, 10.0, 11.0, 12.0, 13.0, 14.0]
    assert trend_direction(years8, values8, [v - Z95 * 0.5 for v in values8],
                           [v + Z95 * 0.5 for v in values8]) == "increasing"
    # unsorted input is sorted by year first
    order = [3, 0, 4, 1, 2]
    vals = [10.0, 11.0, 12.0, 13.0, 14.0]
    assert trend_direction([2020 + i for i in order], [vals[i] for i in order], [vals[i] - 1 for i in order],
                           [vals[i] + 1 for i in order]) == "increasing"


def test_trend_validation():
    from indicators.methods import trend_direction

    with pytest.raises(MethodInputError, match="same length"):
        trend_direction([2020, 2021], [1.0], [0.5], [1.5])
    with pytest.raises(MethodInputError, match="both numerators and denominators"):
        trend_direction([2020], [1.0], [0.5], [1.5], numerators=[1])
