"""AppTest: the dashboard when the database is down, empty or not built.

* Unreachable: the app shows a banner and serves what it fetched before, keyed by the last key
  that worked in this process; a view it has not fetched gives a friendly message; with nothing
  fetched yet (a fresh process) it says so and stops. In public mode no message names a host,
  user, password or connection string.
* Empty (tables, no rows) and not built (an empty file): every page says what to run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ui_helpers import PAGES, app, assert_clean, page_text, warm_engine, warnings_text

from data_loaders import store
from data_loaders.config import settings
from ui import cache, layout

__all__ = ["warm_engine"]

UNREACHABLE_URL = "postgresql+psycopg://nobody:hemmelig-passord@127.0.0.1:1/none"
SECRETS = ("hemmelig-passord", "nobody", "127.0.0.1", "postgresql", "psycopg", "sqlite", "DATABASE_URL")
BANNER = "Databasen kan ikke nås akkurat nå"


@pytest.fixture
def environment(monkeypatch):
    """Set environment variables for one test; the settings are re-read before and after."""

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        settings.cache_clear()

    monkeypatch.setenv("STYRING_WARM_UP", "0")  # no background thread reading a store we break
    settings.cache_clear()
    yield set_env
    monkeypatch.undo()
    settings.cache_clear()


def _numbers(at) -> list[str]:
    """What the page says about the numbers: the key-findings box and every figure's data."""
    parts = [h.value for h in at.html if "Hovedfunn" in h.value]
    parts += [el.proto.spec for el in at.get("plotly_chart")]
    return parts


def _public_text(at) -> str:
    return page_text(at) + "\n" + "\n".join(str(e.value) for e in at.error)


# --- database unreachable -------------------------------------------------------------------------


@pytest.mark.usefixtures("warm_engine")
@pytest.mark.parametrize("public", [False, True], ids=["internal", "public"])
def test_unreachable_database_serves_the_last_numbers(environment, public):
    params = {"indicator": "eldre_reinnleggelse_30d_67", "area": "troms-ofoten"}
    environment(PUBLIC_MODE="1" if public else "0")
    first = app(params=params)
    assert_clean(first)
    assert BANNER not in page_text(first)
    numbers = _numbers(first)
    assert numbers and any("Hovedfunn" in n for n in numbers)

    environment(DATABASE_URL=UNREACHABLE_URL)
    # A new visitor while the database is down, and the first visitor choosing again.
    for at in (app(params=params), first.run()):
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert BANNER in warnings_text(at)
        assert re.search(r"siste tallene som ble hentet \(\d\d\.\d\d\.\d{4} kl\. \d\d\.\d\d\)", warnings_text(at))
        assert _numbers(at) == numbers
        text = _public_text(at)
        if public:
            for secret in SECRETS:
                assert secret not in text, secret
        else:
            assert "Teknisk detalj" in text and "127.0.0.1" in text  # for the operators
            assert "hemmelig-passord" not in text  # never the password


def test_unreachable_database_in_a_fresh_process_says_so(environment, monkeypatch):
    monkeypatch.setattr(cache, "_last_good", None)  # nothing fetched yet in this process
    environment(DATABASE_URL=UNREACHABLE_URL, PUBLIC_MODE="1")
    for page in ("oversikt", "kommuner"):
        at = app(page)
        assert not at.exception, [e.value for e in at.exception]
        errors = "\n".join(e.value for e in at.error)
        assert layout.UNREACHABLE_NO_CACHE_TEXT in errors
        assert not at.get("plotly_chart") and not at.title  # stopped before the page
        text = _public_text(at)
        for secret in SECRETS:
            assert secret not in text, secret


def test_a_view_not_fetched_before_gives_a_message_while_degraded(environment, tmp_path):
    """The database goes away under a running app; a new indicator cannot be computed."""
    import indicators.engine

    link = tmp_path / "store.sqlite"
    link.symlink_to(Path(settings().database_url.removeprefix("sqlite:///")))
    url = f"sqlite:///{link}"
    environment(DATABASE_URL=url, STYRING_CACHE_DIR="off")
    at = app(params={"indicator": "eldre_oh_innleggelser_80"})
    assert_clean(at)
    numbers = _numbers(at)

    link.unlink()
    link.mkdir()  # the path can no longer be opened as a database
    store.dispose_engines()
    indicators.engine.clear_caches()  # as if the engine's memory had let go of the computed tables

    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert BANNER in warnings_text(at)
    assert _numbers(at) == numbers  # served from the page caches

    at.selectbox(key="ov_group").set_value("barn_og_unge").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert layout.UNREACHABLE_PAGE_TEXT in warnings_text(at)
    assert "ikke brukes" not in warnings_text(at)  # the URL is the page's own, not a link
    store.dispose_engines()


# --- empty and unbuilt stores -----------------------------------------------------------------------


def _run_every_page(expected: str, *, public: bool = False) -> None:
    for page in PAGES:
        at = app(page)
        assert not at.exception, (page, [e.value for e in at.exception])
        errors = "\n".join(e.value for e in at.error)
        assert expected in errors, page
        # the commands are for the operators of the internal app; the public sees words only (issue 16)
        assert ("python -m data_loaders" in errors) is not public
        assert not at.title, page  # the page itself did not run


def test_empty_store_says_what_to_run(environment, tmp_path):
    from data_loaders.importers import init_store

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    init_store(store.get_engine(url))  # tables and reference data, no population or counts
    environment(DATABASE_URL=url)
    _run_every_page(layout.EMPTY_TEXT)
    store.dispose_engines()


def test_unbuilt_store_says_what_to_run(environment, tmp_path):
    path = tmp_path / "unbuilt.sqlite"
    path.touch()
    environment(DATABASE_URL=f"sqlite:///{path}", PUBLIC_MODE="1")
    _run_every_page(layout.NOT_BUILT_TEXT, public=True)
    at = app("om_dataene")
    assert str(tmp_path) not in _public_text(at)  # no path in public mode
    store.dispose_engines()
