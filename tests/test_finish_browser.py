"""Playwright (issue 16, language and finish): what a reader sees in headless Chromium.

- every page at a phone's width (390 px): rendered, screenshot saved, no horizontal page scroll;
- no developer text on any page state (file paths, setting names, raw data versions, catalogue file);
- the phrases that must be gone ("en ukjent" for neuter nouns, "ikke brukes" for a group that
  does not match, Streamlit's English "Page not found");
- an unknown page gives a Norwegian page with links back;
- "Ikke rapportert" is words in an empty row, never a bar.
"""

from __future__ import annotations

import json
import re

import pytest
from browser_helpers import (
    ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, browser, needs_chromium, server, wait_for_render, wait_until_idle,
    warm_engine,
)

__all__ = ["browser", "server", "warm_engine"]

pytestmark = [pytest.mark.browser, needs_chromium]

PHONE = {"width": 390, "height": 844}
PAGES = [
    # name, path with query, plotly charts expected, map expected
    ("oversikt", "/?indicator=eldre_oh_innleggelser_80&area=troms-ofoten", True, True),
    ("helsefellesskap", "/helsefellesskap?area=troms-ofoten", True, True),
    ("pasientgrupper", "/pasientgrupper?group=skropelige_eldre&area=troms-ofoten", True, True),
    ("kommuner", "/kommuner?scope=fylke&area=55&indicator=eldre_reinnleggelse_30d_67", True, True),
    ("pakkeforlop", "/pakkeforlop?area=troms-ofoten", True, False),
    ("pakkeforlop-helseforetak", "/pakkeforlop?level=helseforetak", True, False),
    ("om_dataene", "/om_dataene?indicator=kreft_sp1_behovskartlegging", False, False),
]
# What a user must never see: paths, setting names, the raw data version, the catalogue file.
DEVELOPER_TEXT = [
    re.compile(r"assets/"), re.compile(r"\.csv\b"), re.compile(r"\.ya?ml\b"), re.compile(r"\.py\b"),
    re.compile(r"STYRING_[A-Z_]+"), re.compile(r"catalogue"), re.compile(r"Dataversjon"),
    re.compile(r"\d\|\d{4}-\d\d-\d\d"), re.compile(r"python -m"), re.compile(r"docs/"),
    re.compile(r"sqlite:"), re.compile(r"Traceback"),
]
ABSENT_PHRASES = ["en ukjent helsefellesskap", "en ukjent fylke", "en ukjent kartnivå", "en ukjent nivå",
                  "en ukjent årstall", "Page not found", "ikke brukes i denne visningen"]


def _phone_page(browser, url: str):
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(url)
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=60_000)
    return page


def _visible_text(page) -> str:
    return page.evaluate("() => document.body.innerText")


def _horizontal_overflow(page) -> list:
    """Page-level horizontal scroll: the document or Streamlit's main scroller wider than its box."""
    return page.evaluate(
        "() => { const out = []; const d = document.documentElement;"
        " if (d.scrollWidth > d.clientWidth + 1) out.push(['document', d.scrollWidth, d.clientWidth]);"
        " for (const sel of ['[data-testid=\"stMain\"]', '[data-testid=\"stAppViewContainer\"]',"
        " '[data-testid=\"stMainBlockContainer\"]']) {"
        "   const m = document.querySelector(sel);"
        "   if (m && m.scrollWidth > m.clientWidth + 1) out.push([sel, m.scrollWidth, m.clientWidth]); }"
        " return out; }")


@pytest.mark.parametrize("name, path, charts, has_map", PAGES, ids=[p[0] for p in PAGES])
def test_every_page_on_a_phone(server, browser, name, path, charts, has_map):
    """390 px: the page renders, never scrolls sideways, and shows no developer text."""
    page = _phone_page(browser, server + path)
    try:
        wait_for_render(page, charts=charts, has_map=has_map)
        assert page.locator('[data-testid="stException"]').count() == 0
        overflow = _horizontal_overflow(page)
        assert not overflow, f"{name}: the page scrolls sideways at 390 px: {overflow}"
        if charts:  # the hover toolbar is not drawn over chart titles on a phone
            hidden = page.evaluate(
                "() => [...document.querySelectorAll('.js-plotly-plot .modebar-container')]"
                ".every(el => getComputedStyle(el).display === 'none')")
            assert hidden
        text = _visible_text(page)
        for pattern in DEVELOPER_TEXT:
            assert not pattern.search(text), f"{name}: developer text {pattern.pattern!r} on the page"
        for phrase in ABSENT_PHRASES:
            assert phrase not in text, f"{name}: {phrase!r}"
        clipped = page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=\"stMain\"] :is(button, label, input, h1, h2, h3,"
            " [data-testid=\"stSelectbox\"], [data-testid=\"stMarkdownContainer\"] p)')]"
            ".filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > innerWidth + 1"
            " && !el.closest('[data-testid=\"stDataFrame\"], [data-testid=\"stPlotlyChart\"], table, .legend'); })"
            ".map(el => (el.innerText || el.getAttribute('aria-label') || el.tagName).slice(0, 40))")
        assert not clipped, f"{name}: controls or text run off the right edge at 390 px: {clipped[:5]}"
        height = page.evaluate(
            "() => Math.max(document.body.scrollHeight, ...[...document.querySelectorAll("
            "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"], section, main')]"
            ".map(el => el.scrollHeight))")
        page.set_viewport_size({"width": PHONE["width"], "height": min(int(height) + 40, 20_000)})
        page.wait_for_timeout(1500)
        assert not _horizontal_overflow(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    finally:
        page.close()


def test_unknown_page_is_norwegian_with_a_way_back(server, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(server + "/finnes-ikke")
        page.get_by_text("Fant ikke siden").first.wait_for(timeout=120_000)
        wait_until_idle(page)
        text = _visible_text(page)
        assert "Page not found" not in text and "You have requested page" not in text
        assert "/finnes-ikke" in text
        links = page.locator('[data-testid="stPageLink"] a, [data-testid="stPageLink-NavLink"]')
        links.first.wait_for(timeout=60_000)
        assert links.count() >= 5
        links.filter(has_text="Kommuner").first.click()
        page.get_by_text("Kommuner: sammenligning", exact=False).first.wait_for(timeout=300_000)
    finally:
        page.close()


@pytest.mark.parametrize("path, expected, absent", [
    ("/?group=barn_og_unge&indicator=eldre_oh_innleggelser_80", "hører ikke til gruppen", "ikke brukes"),
    ("/?level=bydel", "et ukjent kartnivå", "en ukjent kartnivå"),
    ("/helsefellesskap?area=atlantis&year=abc", "et ukjent helsefellesskap", "en ukjent"),
    ("/kommuner?scope=fylke&area=99", "et ukjent fylke", "en ukjent fylke"),
])
def test_url_messages_in_good_norwegian(server, browser, path, expected, absent):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(server + path)
        page.wait_for_selector('[data-testid="stAlertContentWarning"]', timeout=300_000)
        wait_until_idle(page)
        warnings = " ".join(page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts())
        assert expected in warnings
        assert absent not in warnings
    finally:
        page.close()


def test_not_reported_is_words_never_a_bar(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server + "/pakkeforlop")
        wait_for_render(page, charts=True, has_map=False, expected="Ikke rapportert")
        specs = page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')].map(p => JSON.stringify("
            "{title: (p.layout.title || {}).text || '', data: p.data.map(t => ({type: t.type, mode: t.mode,"
            " text: t.text, x: t.x, name: t.name}))}))")
        sp2 = next(json.loads(s) for s in specs if "SP2" in json.loads(s)["title"])
        words = [t for t in sp2["data"] if t["type"] == "scatter" and t.get("mode") == "text"]
        assert words and "Ikke rapportert" in words[0]["text"]
        for trace in sp2["data"]:
            if trace["type"] == "bar":
                assert "Ikke rapportert" not in " ".join(trace.get("text") or [])
                assert all(v is not None for v in trace["x"])
    finally:
        page.close()


def test_chromium_is_the_system_one():
    assert str(CHROMIUM) == "/usr/bin/chromium" and "--no-sandbox" in CHROMIUM_ARGS
