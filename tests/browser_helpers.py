"""Helpers for the Playwright tests: the served dashboard (``server``), headless Chromium
(``browser``) and waiting until a page has finished drawing.

Import the fixtures into a test module by name (``from browser_helpers import browser, server``)
and list them in ``__all__`` so linters keep the import.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from ui_helpers import PROJECT_ROOT, warm_engine

__all__ = ["warm_engine"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
WIDTH = 1400
LOCAL_PREFIXES = ("http://127.0.0.1", "http://localhost", "data:", "blob:")

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    """``streamlit run dashboard.py`` on a loopback port."""
    return [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
            "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]


@contextmanager
def serve(env: dict[str, str], log_path: Path, *, command: Callable[[int], list[str]] = streamlit_command,
          timeout: float = 120, inherit: bool = True) -> Iterator[str]:
    """The dashboard served on a free loopback port with ``env`` added to the environment (or as the
    whole environment, ``inherit=False``); yields its base URL once it answers, and stops it
    afterwards. The server's output goes to ``log_path``."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(command(port), cwd=PROJECT_ROOT, env={**os.environ, **env} if inherit else env,
                                   stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the Streamlit server did not start (exit code {process.poll()}): "
                                f"{log_path.read_text()[-2000:]}")
                time.sleep(0.3)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def worker_log(name: str) -> Path:
    """A server log under test-artifacts/, one per xdist worker."""
    return ARTIFACTS / f"{name}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log"


@pytest.fixture(scope="module")
def server(warm_engine: str):
    """The dashboard served by ``streamlit run`` on a free local port, on the demo store of this run."""
    with serve({"DATABASE_URL": warm_engine, "STYRING_WARM_UP": "0"}, worker_log("streamlit-server")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def wait_until_idle(page, timeout_ms: int = 300_000) -> None:
    """Wait until the script has finished running (no "running" status widget, no faded stale element)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')", timeout=timeout_ms)


def open_page(browser, url: str, *, height: int = 1000):
    """A new tab on ``url``; returns the page and the list of requests that left the machine."""
    page = browser.new_page(viewport={"width": WIDTH, "height": height})
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL_PREFIXES) else None)
    page.goto(url)
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=60_000)
    return page, outside


def grow_to_full_height(page, *, limit: int = 20_000) -> None:
    """Make the viewport as tall as the page: Streamlit scrolls inside its main container, so
    without this, whatever is below the fold is never laid out on screen (screenshots, axe)."""
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight); }")
    page.set_viewport_size({"width": WIDTH, "height": min(int(height) + 40, limit)})
    page.wait_for_timeout(1500)


def wait_for_render(page, *, charts: bool, has_map: bool, expected: str | None = None) -> None:
    """Wait for the banner, the Plotly charts, the deck.gl canvas and the end of the script run."""
    page.wait_for_selector(".demo-banner", timeout=60_000)
    if charts:
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=300_000)
    if has_map:
        page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=120_000)
    wait_until_idle(page)
    if expected:
        page.get_by_text(expected, exact=False).first.wait_for(timeout=30_000)
