"""Helpers for the dashboard tests (AppTest and Playwright).

``warm_engine`` computes every indicator once per test run, so that pages that need the
whole catalogue (the Helsefellesskap profile) are not timed on a cold engine. The engine keeps
the results in its disk cache, which the xdist workers and the served app in the browser
tests share; a file lock makes one worker do the work.
"""

from __future__ import annotations

import fcntl
import html
import json
import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = PROJECT_ROOT / "dashboard.py"
TIMEOUT = float(os.environ.get("STYRING_APPTEST_TIMEOUT", "600"))
PAGES = ("oversikt", "pasientgrupper", "helsefellesskap", "kommuner", "pakkeforlop", "om_dataene")


@pytest.fixture(scope="session")
def warm_engine(demo_database_url: str) -> str:
    """Every indicator computed once for this run's demo store (shared through the disk cache)."""
    store_path = Path(demo_database_url.removeprefix("sqlite:///"))
    ready = store_path.with_suffix(".warm")
    with open(store_path.with_suffix(".warm.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        import indicators

        key = indicators.current_key(demo_database_url)
        for ind in indicators.load_catalogue().indicators:
            indicators.compute(ind.id, "helsefellesskap", key=key)
        ready.touch()
    return demo_database_url


def app(page: str | None = None, params: dict[str, str] | None = None) -> AppTest:
    """Run the dashboard on ``page`` (a file in app_pages/, default the Oversikt page) with URL ``params``."""
    at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    if page is not None and page != "oversikt":
        at.switch_page(f"app_pages/{page}.py")
    return at.run()


def assert_clean(at: AppTest) -> None:
    """No uncaught exception and no error box."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def page_text(at: AppTest) -> str:
    """All visible text of the page: markdown, html, captions, headings, warnings, infos."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "html", "warning", "info", "metric"):
        for element in getattr(at, kind):
            value = getattr(element, "value", None)
            label = getattr(element, "label", None)
            parts.extend(str(v) for v in (label, value) if v is not None)
    return "\n".join(parts)


def warnings_text(at: AppTest) -> str:
    return "\n".join(str(w.value) for w in at.warning)


def plotly_figures(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def figure_titles(at: AppTest) -> list[str]:
    titles = []
    for fig in plotly_figures(at):
        title = fig.get("layout", {}).get("title", {})
        raw = title.get("text", "") if isinstance(title, dict) else str(title)
        titles.append(html.unescape(re.sub(r"<[^>]+>", "", raw)))
    return titles


def deck_specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.json) for el in at.get("deck_gl_json_chart")]


def synthetic_banner_shown(at: AppTest) -> bool:
    return any("demo-banner" in h.value and "Demodata" in h.value for h in at.html)
