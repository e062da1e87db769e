"""Property test over the engine's real output: no published table reveals a masked count.

For a random indicator, year (or pooled period) and suppression threshold, the published
tables of every level are read through the public API. The relations between them are
rebuilt here from the area table (independently of the engine), and the masked counts,
taken from the store, must be neither exposed by a relation nor determined by the published
totals (the rank test from test_suppression).
"""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import indicators
from indicators import Period, compute, load_catalogue
from indicators.suppression import Relation
from tests.test_suppression import recoverable

IDS = [i.id for i in load_catalogue().indicators]
LEVELS = ("kommune", "helsefellesskap", "rhf", "fylke", "land")


def _relations(areas: pl.DataFrame, reported: set[str]) -> list[Relation]:
    rows = areas.filter(pl.col("kommunenummer").is_in(list(reported))).to_dicts()
    relations = []
    for level, column in (("helsefellesskap", "helsefellesskap_id"), ("fylke", "fylkesnummer")):
        groups: dict[str, list] = {}
        for row in rows:
            groups.setdefault(row[column], []).append(("kommune", row["kommunenummer"]))
        relations += [Relation((level, parent), tuple(children)) for parent, children in groups.items()]
    rhf: dict[str, set] = {}
    for row in rows:
        rhf.setdefault(row["rhf"], set()).add(("helsefellesskap", row["helsefellesskap_id"]))
    relations += [Relation(("rhf", r), tuple(sorted(h))) for r, h in rhf.items()]
    relations.append(Relation(("land", "0"), tuple(("rhf", r) for r in rhf)))
    relations.append(Relation(("land", "0"), tuple(sorted({("fylke", r["fylkesnummer"]) for r in rows}))))
    return relations


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(indicator_id=st.sampled_from(IDS), pick=st.integers(min_value=0, max_value=50), threshold=st.sampled_from([5, 8]),
       pooled=st.booleans())
def test_published_tables_never_reveal_a_masked_count(monkeypatch, indicator_id, pick, threshold, pooled):
    from data_loaders.config import settings as app_settings

    monkeypatch.setenv("STYRING_SUPPRESSION_THRESHOLD", str(threshold))
    app_settings.cache_clear()
    try:
        periods = indicators.pooled_periods(indicator_id) if pooled else []
        if periods:
            period = periods[pick % len(periods)]
        else:
            years = indicators.available_years(indicator_id)
            period = Period(years[pick % len(years)], years[pick % len(years)])
        tables = {level: compute(indicator_id, level, period=period) for level in LEVELS}
        # The true counts, for checking only (never published).
        from indicators.engine import _period_table

        truth = _period_table(indicators.current_key(), indicator_id, period)
        raw = dict(zip(zip(truth["level"], truth["area_id"]), truth["numerator"].fill_null(0.0)))
    finally:
        app_settings.cache_clear()
    published, masked = set(), set()
    for level, table in tables.items():
        for row in table.select("area_id", "flag", "numerator").iter_rows(named=True):
            key = (level, row["area_id"])
            if row["flag"] == "not_reported":
                continue
            if row["flag"] in indicators.SUPPRESSION_FLAGS:
                assert row["numerator"] is None
                masked.add(key)
            else:
                published.add(key)
                assert row["numerator"] == raw[key]
    for key, value in raw.items():
        if key in published | masked and 0 < value < threshold:
            assert key in masked, f"small count {value} published at {key}"
    reported = {area for level, area in published | masked if level == "kommune"}
    relations = _relations(indicators.data.areas(indicators.current_key()), reported)
    present = published | masked
    for rel in relations:
        if rel.parent in masked or rel.parent not in present:
            continue
        hidden = [c for c in rel.children if c in masked]
        if hidden:
            total = sum(raw[c] for c in hidden)
            assert len(hidden) >= 2 and (total == 0 or total >= threshold), (rel.parent, hidden, total)
    assert recoverable(masked, relations, present) == []


def test_pooled_periods_never_reveal_a_masked_single_year():
    """Pooled value minus the published single years must not leave one masked year (or a small sum)."""
    from indicators.engine import _period_table

    key = indicators.current_key()
    threshold = load_catalogue().indicator("kreft_sp1_behovskartlegging").suppression_threshold
    checked = 0
    for indicator_id in ("kreft_sp1_behovskartlegging", "psyk_tvangsinnleggelser_18", "barn_oh_innleggelser"):
        for period in indicators.pooled_periods(indicator_id):
            pooled = compute(indicator_id, "kommune", period=period)
            singles = compute(indicator_id, "kommune", years=list(period.years))
            truth = pl.concat([_period_table(key, indicator_id, Period(y, y)) for y in period.years])
            truth = truth.filter(pl.col("level") == "kommune").select("area_id", "year_start", pl.col("numerator").alias("true"))
            hidden = singles.filter(pl.col("flag").is_in(list(indicators.SUPPRESSION_FLAGS))).join(
                truth, on=["area_id", "year_start"]
            )
            for area_id in pooled.filter(pl.col("flag") == "ok")["area_id"].to_list():
                masked = hidden.filter(pl.col("area_id") == area_id)["true"].to_list()
                assert len(masked) != 1, (indicator_id, period, area_id)
                assert sum(masked) == 0 or sum(masked) >= threshold, (indicator_id, period, area_id, masked)
                checked += 1
    assert checked > 500


def _published_window(indicator_id: str, period: Period) -> tuple[set, set, dict, list[Relation]]:
    """A pooled window and its single years as one system: published and masked cells keyed
    (level, area_id, period label), the true counts, and the relations between them (per period
    between the areas, and pooled cell = sum of its years), built here from the area table."""
    from indicators.engine import _period_table

    key = indicators.current_key()
    areas = indicators.data.areas(key)
    published, masked, raw, relations = set(), set(), {}, []
    labels = [Period(y, y) for y in period.years] + [period]
    for p in labels:
        truth = _period_table(key, indicator_id, p)
        raw |= {(lv, a, p.label): n or 0.0 for lv, a, n in truth.select("level", "area_id", "numerator").iter_rows()}
        reported = set()
        for level in LEVELS:
            for area_id, flag in compute(indicator_id, level, period=p).select("area_id", "flag").iter_rows():
                if flag == "not_reported":
                    continue
                (masked if flag in indicators.SUPPRESSION_FLAGS else published).add((level, area_id, p.label))
                if level == "kommune":
                    reported.add(area_id)
        relations += [Relation((*r.parent, p.label), tuple((*c, p.label) for c in r.children))
                      for r in _relations(areas, reported)]
    for level, area_id, label in published | masked:
        if label == period.label:
            years = tuple(c for y in labels[:-1] if (c := (level, area_id, y.label)) in published | masked)
            if years:
                relations.append(Relation((level, area_id, label), years))
    return published, masked, raw, relations


def test_a_pooled_window_and_its_years_together_reveal_no_masked_count():
    """Single years and the pooled period published side by side (as the pages, downloads and the CLI
    do): no masked cell follows from them together, and no temporal relation exposes a small sum."""
    checked = 0
    for ind in load_catalogue().indicators:
        threshold = ind.suppression_threshold
        for period in indicators.pooled_periods(ind.id):
            published, masked, raw, relations = _published_window(ind.id, period)
            present = published | masked
            assert recoverable(masked, relations, present) == [], (ind.id, period)
            for rel in relations:
                if rel.parent in masked or rel.parent not in present:
                    continue
                hidden = [c for c in rel.children if c in masked]
                total = sum(raw[c] for c in hidden)
                assert not hidden or (len(hidden) >= 2 and (total == 0 or total >= threshold)), (ind.id, rel.parent)
            checked += len(masked)
    assert checked > 1000
