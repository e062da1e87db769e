"""What `make real` builds, without the internet: a store from the fetch commands alone.

The classifications and the population come from the loopback KLASS and PxWebApi servers (every
2024 kommune, one year). There are no register counts, so the pages must say "Ingen data ennå –
importer registeruttrekk." instead of numbers, and must not fail.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from data_loaders import schema, store
from data_loaders.config import settings
from data_loaders.fetch import fetch_classifications, fetch_population
from data_loaders.importers import init_store
from tests.fixtures.fetch.klass_server import Klass
from tests.fixtures.fetch.loopback import Loopback, every_kommune_population
from tests.ui_helpers import app, assert_clean

NO_DATA = "Ingen data ennå – importer registeruttrekk."


@pytest.fixture(autouse=True)
def use_demo_store():
    """This module builds its own store; skip the shared demo store."""
    yield


@pytest.fixture(scope="module")
def population_only_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('real') / 'real.sqlite'}"
    engine = store.get_engine(url)
    init_store(engine)
    quiet = lambda message: None  # noqa: E731
    with Loopback(Klass.from_reference().answer) as server:
        fetch_classifications(when="2025-01-01", base_url=server.url, engine=engine, progress=quiet)
    with Loopback(every_kommune_population([2025]).answer) as server:
        fetch_population([2025], base_url=server.url, engine=engine, progress=quiet)
    engine.dispose()
    return url


@pytest.fixture
def real_store(population_only_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", population_only_url)
    monkeypatch.setenv("STYRING_WARM_UP", "0")
    settings.cache_clear()
    yield store.get_engine(population_only_url)
    monkeypatch.undo()
    settings.cache_clear()


def test_the_store_has_population_and_classifications_but_no_counts(real_store):
    with real_store.connect() as conn:
        count = lambda table: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()  # noqa: E731
        assert count(schema.population) > 0
        assert count(schema.event_count) == 0 and count(schema.measure_coverage) == 0
        assert count(schema.kommune_klassifisering) == 357
    assert not store.is_synthetic(real_store)


@pytest.mark.parametrize("page", ["oversikt", "kommuner", "helsefellesskap"])
def test_pages_say_no_register_data_yet(real_store, page):
    at = app(page)
    assert_clean(at)
    infos = [str(i.value) for i in at.info]
    assert any(text.startswith(NO_DATA) for text in infos), infos
    assert not at.get("plotly_chart")  # no chart drawn from nothing


def test_om_dataene_lists_both_fetches_as_real_and_fetched(real_store):
    at = app("om_dataene")
    assert_clean(at)
    tables = [d.value for d in at.dataframe if "Kom inn ved" in d.value.columns]
    assert tables, "the data-sources table is missing"
    origins = tables[0]
    assert len(origins) == 2  # the KLASS classifications and the SSB population, nothing else
    assert set(origins["Kom inn ved"]) == {"Hentet fra API"}
    assert set(origins["Ekte eller syntetisk"]) == {"Ekte"} and set(origins["Utgiver"]) == {"SSB"}
    assert "syntetiske demodata" not in "\n".join(str(w.value) for w in at.warning).lower()
