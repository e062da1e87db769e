"""Issue 16, language and finish (AppTest): Norwegian grammar in the URL messages, a group that
does not match its indicator, and no developer text (paths, setting names, raw data versions)."""

from __future__ import annotations

import re

import pytest
from ui_helpers import app, assert_clean, page_text, warm_engine, warnings_text

from ui import state

pytestmark = pytest.mark.usefixtures("warm_engine")
__all__ = ["warm_engine"]

DEVELOPER_TEXT = (re.compile(r"assets/"), re.compile(r"\.csv\b"), re.compile(r"STYRING_[A-Z_]+"),
                  re.compile(r"catalogue\.yaml"), re.compile(r"Dataversjon"), re.compile(r"\d\|\d{4}-\d\d-\d\d"),
                  re.compile(r"python -m"))


@pytest.mark.parametrize("what, adjective, expected", [
    ("helsefellesskap", "ukjent", "et ukjent helsefellesskap"),
    ("fylke", "ukjent", "et ukjent fylke"),
    ("kartnivå", "ukjent", "et ukjent kartnivå"),
    ("nivå", "ukjent", "et ukjent nivå"),
    ("årstall", "ukjent", "et ukjent årstall"),
    ("konfidensnivå", "ukjent", "et ukjent konfidensnivå"),
    ("fargevalg", "tom", "et tomt fargevalg"),
    ("indikator", "ukjent", "en ukjent indikator"),
    ("prioritert gruppe", "ukjent", "en ukjent prioritert gruppe"),
    ("periode", "tom", "en tom periode"),
    ("målverdi", "ugyldig", "en ugyldig målverdi"),
])
def test_article_follows_the_gender(what, adjective, expected):
    assert state.article(what, adjective) == expected


@pytest.mark.parametrize("page, params, expected", [
    ("oversikt", {"level": "bydel"}, "et ukjent kartnivå"),
    ("oversikt", {"area": "atlantis"}, "et ukjent helsefellesskap"),
    ("pakkeforlop", {"level": "kommune"}, "et ukjent nivå"),
    ("pakkeforlop", {"year": "x"}, "et ukjent årstall"),
    ("kommuner", {"scope": "fylke", "area": "99"}, "et ukjent fylke"),
])
def test_neuter_nouns_take_et(page, params, expected):
    at = app(page, params)
    assert_clean(at)
    warnings = warnings_text(at)
    assert expected in warnings
    assert "en ukjent " + expected.split()[-1] not in warnings


def test_indicator_outside_the_linked_group_says_so():
    """?group=barn_og_unge&indicator=eldre_… : the group is used, it just does not match."""
    at = app("oversikt", {"group": "barn_og_unge", "indicator": "eldre_oh_innleggelser_80"})
    assert_clean(at)
    warnings = warnings_text(at)
    assert "hører ikke til gruppen" in warnings and "Barn og unge" in warnings
    assert "ikke brukes" not in warnings
    assert at.selectbox(key="ov_indicator").value == "eldre_oh_innleggelser_80"
    assert at.selectbox(key="ov_group").value == "skropelige_eldre"


def test_matching_group_and_indicator_give_no_message():
    at = app("oversikt", {"group": "skropelige_eldre", "indicator": "eldre_oh_innleggelser_80"})
    assert_clean(at)
    assert not at.warning


@pytest.mark.parametrize("page, params", [
    ("om_dataene", {}),
    ("pakkeforlop", {}),
    ("pakkeforlop", {"area": "troms-ofoten", "level": "helseforetak"}),
])
def test_no_developer_text(page, params):
    at = app(page, params)
    assert_clean(at)
    text = page_text(at)
    for pattern in DEVELOPER_TEXT:
        assert not pattern.search(text), f"{page}: {pattern.pattern!r} in the page text"


def test_pakkeforlop_facts_are_stated_carefully():
    at = app("pakkeforlop", {"level": "helseforetak"})
    assert_clean(at)
    text = page_text(at)
    assert "WMFG10" in text and "foreslo" in text and "ikke endelig" in text
    assert "hvor pasienten bor" in text and "behandlet pasienten" in text
    about = page_text(app("om_dataene"))
    assert "WMFG10" in about and "ikke endelig vedtatt" in about and "hvor pasienten bor" in about
