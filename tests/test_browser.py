"""Playwright: the served dashboard in headless Chromium, one test per page.

Each test opens a page by URL (with query parameters), waits for the Plotly charts and the
deck.gl map to render, checks that there is no exception box, that the synthetic-data banner
is shown, that the document language is Norwegian and that nothing is fetched from outside
the machine, and saves a full-page screenshot under ``test-artifacts/``.
"""

from __future__ import annotations

import pytest
from browser_helpers import (
    ARTIFACTS, browser, grow_to_full_height, needs_chromium, open_page, server, wait_for_render, wait_until_idle,
    warm_engine,
)

__all__ = ["browser", "server", "warm_engine"]

pytestmark = [pytest.mark.browser, needs_chromium]

PAGES = [
    # name, path with query, plotly charts expected, map expected, text expected
    ("oversikt", "/?indicator=eldre_oh_innleggelser_80&area=troms-ofoten", True, True, "Hovedfunn"),
    ("helsefellesskap", "/helsefellesskap?area=troms-ofoten", True, True, "Spredning blant de 19"),
    ("pasientgrupper", "/pasientgrupper?group=skropelige_eldre&area=troms-ofoten", True, True, "Pasientgruppen"),
    ("kommuner", "/kommuner?scope=fylke&area=55&indicator=eldre_reinnleggelse_30d_67", True, True,
     "Utenfor 99,8 %-grensene"),
    ("pakkeforlop", "/pakkeforlop?area=troms-ofoten", True, False, "Ikke rapportert"),
    ("om_dataene", "/om_dataene?indicator=kreft_sp1_behovskartlegging", False, False, "Kartverket"),
]


@pytest.mark.parametrize("name, path, charts, has_map, expected", PAGES, ids=[p[0] for p in PAGES])
def test_page_renders(server, browser, name, path, charts, has_map, expected):
    page, outside = open_page(browser, server + path)
    try:
        wait_for_render(page, charts=charts, has_map=has_map, expected=expected)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Demodata" in page.locator(".demo-banner").inner_text()
        page.wait_for_function("() => document.documentElement.lang === 'nb'", timeout=10_000)
        if charts:
            assert page.locator(".js-plotly-plot").count() >= 1
        grow_to_full_height(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert not outside, f"requests left the machine: {outside[:5]}"
    finally:
        page.close()


def test_bad_url_parameter_shows_a_friendly_warning(server, browser):
    page, _ = open_page(browser, server + "/kommuner?period=abc&scope=fylke&area=99")
    try:
        page.wait_for_selector('[data-testid="stAlertContentWarning"]', timeout=120_000)
        wait_until_idle(page)
        warnings = " ".join(page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts())
        assert "ukjent periode" in warnings and "ukjent fylke" in warnings
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def test_widgets_are_labelled_and_keyboard_reachable(server, browser):
    page, _ = open_page(browser, server + "/kommuner")
    try:
        page.wait_for_selector(".js-plotly-plot", timeout=180_000)
        wait_until_idle(page)
        # Every select box has a visible label.
        labels = page.locator('[data-testid="stSelectbox"] [data-testid="stWidgetLabel"]').all_inner_texts()
        assert labels and all(label.strip() for label in labels)
        # Tab reaches a select box input.
        reached = False
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("() => !!document.activeElement.closest('[data-testid=\"stSelectbox\"]')"):
                reached = True
                break
        assert reached
    finally:
        page.close()
