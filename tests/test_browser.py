"""Playwright: the served dashboard in headless Chromium, one test per page.

Each test opens a page by URL (with query parameters), waits for the Plotly charts and the
deck.gl map to render, checks that there is no exception box, that the synthetic-data banner
is shown, that the document language is Norwegian and that nothing is fetched from outside
the machine, and saves a full-page screenshot under ``test-artifacts/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ui_helpers import PROJECT_ROOT, warm_engine

__all__ = ["warm_engine"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
WIDTH = 1400

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]

PAGES = [
    # name, path with query, plotly charts expected, map expected, text expected
    ("oversikt", "/?indicator=eldre_oh_innleggelser_80&area=troms-ofoten", True, True, "Hovedfunn"),
    ("helsefellesskap", "/helsefellesskap?area=troms-ofoten", True, True, "Spredning blant de 19"),
    ("kommuner", "/kommuner?scope=fylke&area=55&indicator=eldre_reinnleggelse_30d_67", True, True,
     "Utenfor 99,8 %-grensene"),
    ("pakkeforlop", "/pakkeforlop?area=troms-ofoten", True, False, "Ikke rapportert"),
    ("om_dataene", "/om_dataene?indicator=kreft_sp1_behovskartlegging", False, False, "Kartverket"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(warm_engine: str):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": warm_engine, "STYRING_WARM_UP": "0"}
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"streamlit-server-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Streamlit server did not start (exit code {process.poll()})")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _wait_until_idle(page, timeout_ms: int = 300_000) -> None:
    """Wait until the script has finished running (no "running" status widget)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")) else None)
    page.goto(url)
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=60_000)
    return page, outside


@pytest.mark.parametrize("name, path, charts, has_map, expected", PAGES, ids=[p[0] for p in PAGES])
def test_page_renders(server, browser, name, path, charts, has_map, expected):
    page, outside = _open(browser, server + path)
    try:
        page.wait_for_selector(".demo-banner", timeout=60_000)
        if charts:
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=300_000)
        if has_map:
            page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=120_000)
        _wait_until_idle(page)
        page.get_by_text(expected, exact=False).first.wait_for(timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Demodata" in page.locator(".demo-banner").inner_text()
        page.wait_for_function("() => document.documentElement.lang === 'nb'", timeout=10_000)
        if charts:
            assert page.locator(".js-plotly-plot").count() >= 1
        # Full page: Streamlit scrolls inside its main container, so grow the viewport to it.
        height = page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight); }")
        page.set_viewport_size({"width": WIDTH, "height": min(int(height) + 40, 20_000)})
        page.wait_for_timeout(1500)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert not outside, f"requests left the machine: {outside[:5]}"
    finally:
        page.close()


def test_bad_url_parameter_shows_a_friendly_warning(server, browser):
    page, _ = _open(browser, server + "/kommuner?period=abc&scope=fylke&area=99")
    try:
        page.wait_for_selector('[data-testid="stAlertContentWarning"]', timeout=120_000)
        _wait_until_idle(page)
        warnings = " ".join(page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts())
        assert "ukjent periode" in warnings and "ukjent fylke" in warnings
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def test_widgets_are_labelled_and_keyboard_reachable(server, browser):
    page, _ = _open(browser, server + "/kommuner")
    try:
        page.wait_for_selector(".js-plotly-plot", timeout=180_000)
        _wait_until_idle(page)
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
