"""Store tests on SQLite and PostgreSQL: the same code through DATABASE_URL-style engines.

The PostgreSQL server is started per pytest process by tests/pg.py (skipped with a reason when
no server can be had)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from data_loaders import reference, schema, store
from data_loaders.importers import import_files
from tests.pg import backend_engine, pg_provider, sqlite_template  # noqa: F401  (fixtures)

FIX = Path(__file__).resolve().parent / "fixtures" / "import"


def _population(n_kommuner: int = 3, dataset_id: str = "ds") -> pl.DataFrame:
    kommuner = reference.load_kommuner()["kommunenummer"].to_list()[:n_kommuner]
    rows = [
        (2024, k, sex, band, 100 + i, dataset_id)
        for i, (k, sex, band) in enumerate((k, s, b) for k in kommuner for s in schema.SEXES for b in schema.AGE_BAND_LABELS)
    ]
    return pl.DataFrame(rows, schema={"year": pl.Int32, "kommunenummer": pl.String, "sex": pl.String,
                                      "age_band": pl.String, "population": pl.Int64, "dataset_id": pl.String}, orient="row")


def _dataset(conn, dataset_id: str = "ds", synthetic: bool = False) -> None:
    store.upsert_dataset(conn, dataset_id, source="test", description="", extraction_date="2024-01-01",
                         synthetic=synthetic, row_count=0)


def test_reference_tables(backend_engine):
    assert store.has_reference(backend_engine)
    assert store.load_areas(backend_engine).height == reference.KOMMUNE_COUNT_2024
    assert store.load_helsefellesskap(backend_engine).height == reference.HELSEFELLESSKAP_COUNT
    assert set(sa.inspect(backend_engine).get_table_names()) >= set(schema.metadata.tables)


def test_frames_round_trip(backend_engine):
    population = _population()
    with backend_engine.begin() as conn:
        _dataset(conn)
        assert store.insert_rows(conn, schema.population, population) == population.height
        store.write_frame(conn, schema.event_count, pl.DataFrame({
            "measure_id": ["npr_oh_innleggelser"], "year": [2024], "kommunenummer": ["0301"], "sex": ["female"],
            "age_band": ["90+"], "count": [2.5], "dataset_id": ["ds"],
        }))
        store.write_frame(conn, schema.measure_coverage, pl.DataFrame({
            "measure_id": ["npr_oh_innleggelser"], "year": [2024], "kommunenummer": ["0301"], "dataset_id": ["ds"],
        }))
    loaded = store.load_population(backend_engine)
    assert loaded.schema == pl.Schema(store.POPULATION_SCHEMA)
    assert loaded.sort(["kommunenummer", "sex", "age_band"]).equals(
        population.drop("dataset_id").sort(["kommunenummer", "sex", "age_band"]).cast(store.POPULATION_SCHEMA))
    assert store.load_counts(backend_engine, ["npr_oh_innleggelser"])["count"].to_list() == [2.5]
    assert store.load_coverage(backend_engine).height == 1
    assert store.available_years(backend_engine) == [2024]
    summary = store.measure_summary(backend_engine)
    assert summary.filter(pl.col("measure_id") == "npr_oh_innleggelser")["kommuner"][0] == 1


def test_bulk_insert_many_rows(backend_engine):
    """COPY (PostgreSQL) and executemany (SQLite) in several chunks, with awkward text."""
    n = 210_000  # more than one 200 000-row chunk
    frame = pl.DataFrame({
        "measure_id": [f"m{i % 7}" for i in range(n)],
        "year": [2000 + i // 50_000 for i in range(n)],
        "kommunenummer": [f"{i % 10_000:04d}" for i in range(n)],
        "sex": ["male" if i % 2 else "female" for i in range(n)],
        "age_band": ["90+" if i % 3 else "0-4" for i in range(n)],
        "count": [i / 4 for i in range(n)],
        "dataset_id": ['ds,"x"'] * n,
    }).unique(["measure_id", "year", "kommunenummer", "sex", "age_band"])
    with backend_engine.begin() as conn:
        _dataset(conn, 'ds,"x"')
        store.insert_rows(conn, schema.event_count, frame)
    with backend_engine.connect() as conn:
        total, count_sum = conn.execute(sa.select(sa.func.count(), sa.func.sum(schema.event_count.c["count"]))).one()
    assert total == frame.height and count_sum == pytest.approx(frame["count"].sum())


def test_failed_transaction_leaves_nothing(backend_engine):
    with pytest.raises(sa.exc.IntegrityError):
        with backend_engine.begin() as conn:
            _dataset(conn)
            store.insert_rows(conn, schema.population, _population())
            store.insert_rows(conn, schema.population, _population())  # the same keys again
    with backend_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.population)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.dataset)).scalar_one() == 0


def test_dataset_bookkeeping(backend_engine):
    with backend_engine.begin() as conn:
        _dataset(conn, "old", synthetic=True)
        store.insert_rows(conn, schema.population, _population(dataset_id="old"))
        before = store.dataset_row_counts(conn)
        _dataset(conn, "old", synthetic=True)  # an update keeps the rows that refer to it valid
        assert store.refresh_dataset_counts(conn, before) == []
    assert store.is_synthetic(backend_engine)
    assert store.load_datasets(backend_engine)["row_count"].to_list() == [3 * 2 * len(schema.AGE_BAND_LABELS)]
    with backend_engine.begin() as conn:
        before = store.dataset_row_counts(conn)
        assert store.delete_synthetic(conn) == 3 * 2 * len(schema.AGE_BAND_LABELS)
        assert store.refresh_dataset_counts(conn, before) == []
    assert not store.is_synthetic(backend_engine) and store.load_datasets(backend_engine).height == 0


def test_app_setting(backend_engine):
    assert store.load_app_setting(backend_engine, "kommune_geojson") is None
    with backend_engine.begin() as conn:
        store.set_app_setting(conn, "kommune_geojson", "/data/a.geojson")
        store.set_app_setting(conn, "kommune_geojson", "/data/b.geojson")
    assert store.load_app_setting(backend_engine, "kommune_geojson") == "/data/b.geojson"


def test_data_version_changes_with_every_import(backend_engine):
    """The engine's caches are keyed on the dataset table; an import must change the key."""
    from indicators import data

    url = backend_engine.url.render_as_string(hide_password=False)
    import_files([FIX / "register" / "register_ok.csv"], "register", engine=backend_engine)
    first = data.current_key(url)
    import_files([FIX / "register" / "register_ok.csv"], "register", engine=backend_engine)
    second = data.current_key(url)
    import_files([FIX / "ssb" / "07459_ok.csv"], "ssb-csv", engine=backend_engine)
    third = data.current_key(url)
    assert len({first.version, second.version, third.version}) == 3
    store.get_engine(url).dispose()


def test_imported_population_reaches_the_readers(backend_engine):
    import_files([FIX / "ssb" / "07459_ok.csv"], "ssb-csv", engine=backend_engine)
    assert store.has_data(backend_engine)
    pop = store.load_population(backend_engine, years=[2024], age_bands=["90+"])
    assert set(pop["kommunenummer"]) == {"5501", "1508", "1580"} and pop.height == 6


def test_postgres_server_is_local(request, pg_provider):
    pg_provider.ensure()
    if pg_provider.skip_reason:
        pytest.skip(f"PostgreSQL tests skipped: {pg_provider.skip_reason}")
    url = sa.engine.make_url(pg_provider.admin_url)
    if pg_provider.server is not None:
        assert url.host == "127.0.0.1" and url.port == pg_provider.server.port
    engine = sa.create_engine(pg_provider.admin_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select version()").scalar_one().startswith("PostgreSQL")
    engine.dispose()


def test_the_engine_gives_the_same_tables_on_postgresql(pg_provider, demo_database_url):
    """The columnar readers (ADBC on SQLite, COPY on PostgreSQL) feed the engine the same store."""
    import indicators
    from data_loaders.demo import build_demo_store

    pg_provider.ensure()
    if pg_provider.skip_reason:
        pytest.skip(pg_provider.skip_reason)
    name = pg_provider.new_database()
    url = pg_provider.url_for(name)
    try:
        build_demo_store(store.get_engine(url))
        on_postgres, on_sqlite = indicators.current_key(url), indicators.current_key(demo_database_url)
        for indicator_id in ("eldre_oh_innleggelser_80", "eldre_reinnleggelse_30d_67", "kreft_sp2_behovskartlegging"):
            for level in ("kommune", "helsefellesskap", "land"):
                expected = indicators.compute(indicator_id, level, key=on_sqlite)
                assert expected.height > 0
                assert indicators.compute(indicator_id, level, key=on_postgres).equals(expected), (indicator_id, level)
    finally:
        store.get_engine(url).dispose()
        pg_provider.drop_database(name)
