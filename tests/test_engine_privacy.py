"""The engine's real output on the demo store resists the outsider's LP attack (``tests.attacker``).

The published tables of every level, single year and pooled window are read through the public
API for the indicators that share counts (discharges from psychiatric care as the denominator of
two indicators; new cancer patients as numerator of one and denominator of SP1-SP3) and for the
rarest count (compulsory admissions). The outsider of ``tests/test_attack.py`` turns them into
equations; the true counts come from the store's rows. No hidden count of 1-4 may be pinned,
proven below 5 or (a single count) proven above 1, and every hidden row carries no number.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import indicators
from data_loaders.reference import LEVELS
from indicators import compute
from indicators.engine import SUPPRESSED, SUPPRESSED_SYMBOL, SUPPRESSION_FLAGS
from tests import test_attack

GROUPS = {
    "shared discharges": ("psyk_reinnleggelse_30d", "psyk_oppfolging_7d"),
    "shared cancer patients": ("kreft_nye_pasienter", "kreft_sp1_behovskartlegging", "kreft_sp2_behovskartlegging",
                               "kreft_sp3_behovskartlegging"),
    "rare events": ("psyk_tvangsinnleggelser_18",),
}
# The cohorts of the overlap groups (their sizes, a share and a per-person rate of the mental-health
# cohort) with the overlap export itself: the attacker also knows that each group is the sum of the
# combinations that contain it (``test_attack._overlap_relations``).
COHORTS = ("kohort_barn_og_unge_andel", "kohort_psykisk_lidelse_andel", "kohort_skropelige_eldre_andel",
           "kohort_multimorbiditet_andel", "kohort_psykisk_lidelse__innlagt", "kohort_psykisk_lidelse__poliklinikk")
COHORT_TARGETS = 60  # small hidden cohort counts solved for (an even sample; the system holds every published number)
EXPORT_NAMES = {"indicator_id": "indikator_id", "level": "nivaa", "area_id": "omraade_id", "year_start": "fra_aar",
                "year_end": "til_aar", "numerator": "teller", "denominator": "nevner", "flag": "flagg"}


def _published(ids: tuple[str, ...]) -> list[dict]:
    rows = []
    for indicator_id in ids:
        periods = [None, *indicators.pooled_periods(indicator_id)]
        for level in LEVELS:
            for period in periods:
                table = compute(indicator_id, level, period=period)
                rows += table.select(list(EXPORT_NAMES)).rename(EXPORT_NAMES).with_columns(
                    pl.col("fra_aar").cast(pl.String), pl.col("til_aar").cast(pl.String),
                    pl.col("teller").cast(pl.String), pl.col("nevner").cast(pl.String)).to_dicts()
    return rows


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_the_demo_release_resists_the_lp_attack(group, demo_database_url, monkeypatch):
    ids = GROUPS[group]
    monkeypatch.setattr(test_attack, "ATTACKED", ids)
    monkeypatch.setattr(test_attack, "_rows", lambda rows: rows)
    rows = _published(ids)
    hidden_rows = [r for r in rows if r["flagg"] in SUPPRESSION_FLAGS]
    assert hidden_rows, "the demo hides some counts in this group"
    assert all(r["teller"] is None for r in hidden_rows)
    attack, state = test_attack._outsider([rows])
    truth = test_attack._truth(Path(demo_database_url.removeprefix("sqlite:///")))
    assert not [a for a in state["published"] if 0 < truth.get(a, 0) < test_attack.THRESHOLD]
    assert test_attack._breaches(attack, state["hidden"], truth) == []


def _overlap_published() -> list[dict]:
    from indicators import overlap
    from outputs import overlap_export

    return test_attack.overlap_rows([overlap_export.export_frame(overlap.overlap_table(level))
                                     for level in overlap.PUBLISHED_LEVELS])


def test_the_cohorts_and_their_overlap_resist_the_lp_attack(demo_database_url, monkeypatch):
    from indicators import load_catalogue

    catalogue = load_catalogue()
    if catalogue.overlap is None or not all(i in {x.id for x in catalogue.indicators} for i in COHORTS):
        pytest.skip("the catalogue has no cohorts or overlap")
    monkeypatch.setattr(test_attack, "ATTACKED", COHORTS)
    monkeypatch.setattr(test_attack, "_rows", lambda rows: rows)
    rows = _published(COHORTS) + _overlap_published()
    overlap_hidden = [r for r in rows if r["indikator_id"].startswith("overlapp_") and r["flagg"] in SUPPRESSION_FLAGS]
    assert all(r["teller"] is None for r in overlap_hidden)
    assert [r for r in rows if r["indikator_id"].startswith("overlapp_") and r["flagg"] == "ok"], "the overlap is read"
    attack, state = test_attack._outsider([rows])
    assert attack.linear, "the attacker uses the overlap relations"
    truth = test_attack._truth(Path(demo_database_url.removeprefix("sqlite:///")))
    assert not [a for a in state["published"] if 0 < truth.get(a, 0) < test_attack.THRESHOLD]
    assert test_attack._breaches(attack, state["hidden"], truth, most=COHORT_TARGETS) == []


def test_every_hidden_count_carries_one_flag_and_one_symbol():
    table = pl.concat([compute(i, level) for i in ("psyk_tvangsinnleggelser_18", "eldre_reinnleggelse_30d_67")
                       for level in LEVELS])
    hidden = table.filter(pl.col("flag").is_in(list(SUPPRESSION_FLAGS)))
    assert hidden.height > 0
    assert set(hidden["flag"].unique()) == {SUPPRESSED}
    assert set(hidden["spvflagg"].unique()) == {2}
    assert hidden["flag_label"].n_unique() == 1
    assert SUPPRESSED_SYMBOL == ":"
    for column in ("numerator", "value", "lower_95", "upper_95", "crude_value"):
        assert hidden[column].is_null().all(), column
    # the reasons stay internal
    assert not {"small_count", "secondary"} & set(table.columns)
    assert "suppression" not in table.columns
