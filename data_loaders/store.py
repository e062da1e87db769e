"""The one way data moves between the SQL store and Polars.

SQLite by default, any SQLAlchemy URL through ``DATABASE_URL``. Writers take one
connection inside a transaction, so a failing import leaves the store unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from data_loaders import schema
from data_loaders.config import settings

_CHUNK_ROWS = 50_000

POPULATION_SCHEMA = {
    "year": pl.Int32,
    "kommunenummer": pl.String,
    "sex": pl.String,
    "age_band": pl.String,
    "population": pl.Int64,
}
COUNT_SCHEMA = {
    "measure_id": pl.String,
    "year": pl.Int32,
    "kommunenummer": pl.String,
    "sex": pl.String,
    "age_band": pl.String,
    "count": pl.Float64,
}
COVERAGE_SCHEMA = {"measure_id": pl.String, "year": pl.Int32, "kommunenummer": pl.String}


class StoreNotReadyError(RuntimeError):
    """The store has no data yet; the message says how to build it."""


class StoreUnavailableError(RuntimeError):
    """The store cannot be reached (server down, connection refused, file unreadable)."""


_engines: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """A pooled engine per URL (default: the configured ``DATABASE_URL``), created once.

    SQLite files get their folder created and foreign keys switched on.
    """
    url = url or settings().database_url
    if url in _engines:
        return _engines[url]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    _engines[url] = engine
    return engine


def dispose_engines() -> None:
    """Close and forget every cached engine (tests that swap stores call this)."""
    for engine in list(_engines.values()):
        engine.dispose()
    _engines.clear()


def create_schema(engine: Engine) -> None:
    schema.metadata.create_all(engine)


def drop_schema(engine: Engine) -> None:
    """Drop the data and reference tables; the SSU's own work (``schema.SSU_TABLES``) is kept."""
    kept = set(schema.SSU_TABLES)
    schema.metadata.drop_all(engine, tables=[t for t in schema.metadata.sorted_tables if t not in kept])


def has_data(engine: Engine) -> bool:
    """True when the store holds population, counts or published indicator values."""
    inspector = sa.inspect(engine)
    if not inspector.has_table("population"):
        return False
    tables = [schema.population, schema.event_count]
    if inspector.has_table("published_value"):
        tables.append(schema.published_value)
    with engine.connect() as conn:
        for table in tables:
            if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
                return True
    return False


def write_frame(conn: Connection, table: sa.Table, frame: pl.DataFrame) -> int:
    """Insert every row of ``frame`` into ``table`` in chunks; returns the row count."""
    columns = [c.name for c in table.columns if c.name in frame.columns]
    total = 0
    for chunk in frame.select(columns).iter_slices(_CHUNK_ROWS):
        rows = chunk.to_dicts()
        if rows:
            conn.execute(table.insert(), rows)
            total += len(rows)
    return total


def read_frame(conn_or_engine: Connection | Engine, query: sa.Select, schema_overrides: dict | None = None) -> pl.DataFrame:
    """Run a SELECT and return a Polars frame with the given column types."""
    def _run(conn: Connection) -> pl.DataFrame:
        result = conn.execute(query)
        names = list(result.keys())
        rows = result.fetchall()
        overrides = {k: v for k, v in (schema_overrides or {}).items() if k in names}
        if not rows:
            return pl.DataFrame(schema={n: overrides.get(n, pl.String) for n in names})
        return pl.DataFrame(rows, schema=names, orient="row", schema_overrides=overrides, infer_schema_length=None)

    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            return _run(conn)
    return _run(conn_or_engine)


def write_reference(conn: Connection, fylker: pl.DataFrame, kommuner: pl.DataFrame, helsefellesskap: pl.DataFrame,
                    mapping: pl.DataFrame, extras: dict[str, pl.DataFrame] | None = None) -> None:
    """Replace the reference geography tables.

    ``extras`` holds the helseforetak areas, bydeler, classifications and group names
    (``reference.extra_reference_frames()``, the default).
    """
    if extras is None:
        from data_loaders import reference

        extras = reference.extra_reference_frames()
    for table in reversed(schema.REFERENCE_TABLES):
        conn.execute(sa.delete(table))
    write_frame(conn, schema.fylke, fylker)
    write_frame(conn, schema.kommune, kommuner)
    write_frame(conn, schema.helseforetaksomrade, extras["helseforetak"].with_columns(pl.col("sort_order").cast(pl.Int64)))
    write_frame(conn, schema.helsefellesskap, helsefellesskap.with_columns(pl.col("sort_order").cast(pl.Int64)))
    write_frame(conn, schema.kommune_helsefellesskap, mapping)
    write_frame(conn, schema.bydel, extras["bydeler"])
    write_frame(conn, schema.kommune_klassifisering, extras["klassifisering"])
    write_frame(conn, schema.klassifisering_gruppe, extras["grupper"].with_columns(pl.col("sort_order").cast(pl.Int64)))


def replace_mapping(conn: Connection, mapping: pl.DataFrame) -> None:
    conn.execute(sa.delete(schema.kommune_helsefellesskap))
    write_frame(conn, schema.kommune_helsefellesskap, mapping)


# --- readers -------------------------------------------------------------------------


def _require_data(engine: Engine) -> None:
    if not has_data(engine):
        raise StoreNotReadyError(
            f"The store at {engine.url.render_as_string(hide_password=True)} has no data. "
            "Build the demo store with `python -m data_loaders demo` or import data with "
            "`python -m data_loaders import`."
        )


def load_areas(engine: Engine) -> pl.DataFrame:
    """One row per kommune with fylke, helsefellesskap, helseforetak, RHF, sentralitet and KOSTRA group.

    ``helseforetak_id`` is the helsefellesskap's helseforetak area, null for a kommune split into
    bydeler (each bydel has its own; see ``load_units``).
    """
    k, f, m, h = schema.kommune, schema.fylke, schema.kommune_helsefellesskap, schema.helsefellesskap
    c = schema.kommune_klassifisering
    query = (
        sa.select(
            k.c.kommunenummer, k.c.kommunenavn, k.c.fylkesnummer, f.c.fylkesnavn,
            m.c.helsefellesskap_id, h.c.helsefellesskap_navn, h.c.kortnavn, h.c.helseforetak,
            h.c.samarbeidende_sykehus, h.c.rhf, h.c.helseforetak_id,
            sa.cast(c.c.sentralitetsklasse, sa.String).label("sentralitet"), c.c.kostragruppe,
        )
        .select_from(k.join(f, k.c.fylkesnummer == f.c.fylkesnummer)
                     .join(m, k.c.kommunenummer == m.c.kommunenummer)
                     .join(h, m.c.helsefellesskap_id == h.c.helsefellesskap_id)
                     .outerjoin(c, k.c.kommunenummer == c.c.kommunenummer))
        .order_by(k.c.kommunenummer)
    )
    return read_frame(engine, query, {"helseforetak_id": pl.String, "sentralitet": pl.String, "kostragruppe": pl.String})


def load_bydeler(engine: Engine) -> pl.DataFrame:
    return read_frame(engine, sa.select(schema.bydel).order_by(schema.bydel.c.bydel))


def load_units(engine: Engine) -> pl.DataFrame:
    """One row per area unit (unsplit kommune or bydel), sorted by unit code (``reference.build_units``)."""
    from data_loaders.reference import build_units

    return build_units(load_areas(engine), load_bydeler(engine))


def load_helseforetak(engine: Engine) -> pl.DataFrame:
    """SKDE's helseforetak areas in display order."""
    t = schema.helseforetaksomrade
    return read_frame(engine, sa.select(t).order_by(t.c.sort_order), {"sort_order": pl.Int64})


def load_groups(engine: Engine) -> pl.DataFrame:
    """Names of the sentralitet classes and KOSTRA groups (level, area_id, area_name, short_name, sort_order)."""
    t = schema.klassifisering_gruppe
    return read_frame(engine, sa.select(t).order_by(t.c.level, t.c.sort_order), {"sort_order": pl.Int64})


def load_helsefellesskap(engine: Engine) -> pl.DataFrame:
    return read_frame(
        engine, sa.select(schema.helsefellesskap).order_by(schema.helsefellesskap.c.sort_order),
        {"sort_order": pl.Int64},
    )


def load_mapping(engine: Engine) -> pl.DataFrame:
    return read_frame(engine, sa.select(schema.kommune_helsefellesskap).order_by(schema.kommune_helsefellesskap.c.kommunenummer))


def load_population(engine: Engine, years: Sequence[int] | None = None, age_bands: Iterable[str] | None = None) -> pl.DataFrame:
    _require_data(engine)
    p = schema.population
    query = sa.select(p.c.year, p.c.kommunenummer, p.c.sex, p.c.age_band, p.c.population)
    if years is not None:
        query = query.where(p.c.year.in_(list(years)))
    if age_bands is not None:
        query = query.where(p.c.age_band.in_(list(age_bands)))
    return read_columnar(engine, query, POPULATION_SCHEMA)


def load_counts(engine: Engine, measure_ids: Sequence[str], years: Sequence[int] | None = None) -> pl.DataFrame:
    """Counts of the given measures; several measures are read in two parallel halves."""
    _require_data(engine)
    c = schema.event_count

    def read(ids: Sequence[str]) -> pl.DataFrame:
        query = sa.select(c.c.measure_id, c.c.year, c.c.kommunenummer, c.c.sex, c.c.age_band, c.c["count"]).where(
            c.c.measure_id.in_(list(ids))
        )
        if years is not None:
            query = query.where(c.c.year.in_(list(years)))
        return read_columnar(engine, query, COUNT_SCHEMA)

    ids = sorted(set(measure_ids))
    if len(ids) < 2:
        return read(ids)
    with ThreadPoolExecutor(2) as pool:
        return pl.concat(list(pool.map(read, (ids[0::2], ids[1::2]))))


def load_coverage(engine: Engine, measure_ids: Sequence[str] | None = None) -> pl.DataFrame:
    cov = schema.measure_coverage
    query = sa.select(cov.c.measure_id, cov.c.year, cov.c.kommunenummer)
    if measure_ids is not None:
        query = query.where(cov.c.measure_id.in_(list(measure_ids)))
    return read_columnar(engine, query, COVERAGE_SCHEMA)


def load_measure_ids(engine: Engine) -> list[str]:
    """Every measure with coverage in the store."""
    cov = schema.measure_coverage
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(cov.c.measure_id).distinct()).scalars().all())


# --- columnar reads --------------------------------------------------------------------------
# Bulk reads skip Python row objects: ADBC (Arrow) on a SQLite file, COPY ... TO STDOUT (CSV)
# on PostgreSQL; any other database goes through SQLAlchemy rows (``read_frame``).


def read_columnar(engine: Engine, query: sa.Select, frame_schema: dict) -> pl.DataFrame:
    """Run a SELECT and return a Polars frame of ``frame_schema`` the fastest way the database allows."""
    sqlite_file = _sqlite_file(engine)
    if sqlite_file is not None and _adbc_sqlite() is not None:
        frame = _read_sqlite_arrow(sqlite_file, _literal_sql(engine, query))
    elif engine.dialect.name == "postgresql":
        frame = _read_postgres_copy(engine, _literal_sql(engine, query), frame_schema)
    else:
        return read_frame(engine, query, frame_schema)
    if frame.height == 0:
        return pl.DataFrame(schema=frame_schema)
    return frame.cast({k: v for k, v in frame_schema.items() if k in frame.columns})


def _literal_sql(engine: Engine, query: sa.Select) -> str:
    # Values are rendered by the dialect's own literal processors (strings quoted and escaped).
    return str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))


def _sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def _adbc_sqlite():
    try:
        import adbc_driver_sqlite.dbapi as adbc
    except ImportError:  # the generic path still works
        return None
    return adbc


def import_bulk_readers() -> None:
    """Import the optional bulk reader now (it takes a few tenths of a second), e.g. before timing."""
    _adbc_sqlite()


def _read_sqlite_arrow(path: Path, sql: str) -> pl.DataFrame:
    # Read-only URI: the bulk reader can never write to the store.
    with _adbc_sqlite().connect(f"file:{quote(str(path))}?mode=ro") as conn:
        with conn.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 5000")
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": "65536"})  # fewer, larger batches
            cursor.execute(sql)
            return pl.from_arrow(cursor.fetch_arrow_table())


def _read_postgres_copy(engine: Engine, sql: str, frame_schema: dict) -> pl.DataFrame:
    buffer = io.BytesIO()
    with engine.connect() as conn:
        with conn.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
                for block in copy:
                    buffer.write(block)
    if buffer.getbuffer().nbytes == 0:
        return pl.DataFrame(schema=frame_schema)
    buffer.seek(0)
    return pl.read_csv(buffer, schema_overrides=frame_schema)


def load_datasets(engine: Engine) -> pl.DataFrame:
    d = schema.dataset
    return read_frame(engine, sa.select(d).order_by(d.c.imported_at), {"synthetic": pl.Boolean, "row_count": pl.Int64})


def is_synthetic(engine: Engine) -> bool:
    """True when any loaded dataset is synthetic (then every page and export says so)."""
    d = schema.dataset
    with engine.connect() as conn:
        return bool(conn.execute(sa.select(sa.func.count()).where(d.c.synthetic.is_(True))).scalar_one())


def available_years(engine: Engine) -> list[int]:
    p = schema.population
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.select(p.c.year).distinct()))


def measure_summary(engine: Engine) -> pl.DataFrame:
    """Rows, years and covered area units ("kommuner": kommuner and bydeler) per measure, for ``info`` and the Om dataene page."""
    c, cov = schema.event_count, schema.measure_coverage
    counts = read_frame(
        engine,
        sa.select(c.c.measure_id, sa.func.count().label("rows"), sa.func.sum(c.c["count"]).label("total"))
        .group_by(c.c.measure_id),
        {"rows": pl.Int64, "total": pl.Float64},
    )
    coverage = read_frame(
        engine,
        sa.select(
            cov.c.measure_id,
            sa.func.min(cov.c.year).label("first_year"),
            sa.func.max(cov.c.year).label("last_year"),
            sa.func.count(sa.distinct(cov.c.kommunenummer)).label("kommuner"),
        ).group_by(cov.c.measure_id),
        {"first_year": pl.Int32, "last_year": pl.Int32, "kommuner": pl.Int64},
    )
    return coverage.join(counts, on="measure_id", how="left").sort("measure_id")


# --- bulk writes and helpers for the importers (data_loaders.importers) -------------------


def insert_rows(conn: Connection, table: sa.Table, frame: pl.DataFrame) -> int:
    """Insert ``frame`` fast: COPY on PostgreSQL, executemany on the raw SQLite cursor.

    Runs on the connection's open transaction. Columns are matched by name.
    """
    columns = [c.name for c in table.columns if c.name in frame.columns]
    if frame.height == 0:
        return 0
    frame = frame.select(columns)
    dialect = conn.dialect.name
    if dialect not in ("postgresql", "sqlite"):
        return write_frame(conn, table, frame)
    try:
        return _insert_raw(conn, table, frame, columns)
    except conn.dialect.loaded_dbapi.Error as exc:  # same exception types as SQLAlchemy raises elsewhere
        raise sa.exc.DBAPIError.instance(f"bulk insert into {table.name}", None, exc, conn.dialect.loaded_dbapi.Error) from exc


def _insert_raw(conn: Connection, table: sa.Table, frame: pl.DataFrame, columns: list[str]) -> int:
    dialect = conn.dialect.name
    raw = conn.connection.driver_connection
    if dialect == "postgresql":
        names = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN WITH (FORMAT csv)') as copy:
                for chunk in frame.iter_slices(_CHUNK_ROWS * 4):
                    copy.write(chunk.write_csv(include_header=False))
        return frame.height
    if dialect == "sqlite":
        placeholders = ", ".join("?" for _ in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        cursor = raw.cursor()
        try:
            for chunk in frame.iter_slices(_CHUNK_ROWS * 4):
                cursor.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({placeholders})', chunk.iter_rows())
        finally:
            cursor.close()
        return frame.height
    raise ValueError(dialect)


def upsert_dataset(
    conn: Connection,
    dataset_id: str,
    *,
    source: str,
    description: str,
    extraction_date: str,
    synthetic: bool,
    row_count: int,
    file_name: str | None = None,
    file_sha256: str | None = None,
) -> None:
    """Insert or update one dataset's provenance row (an update keeps rows that refer to it valid)."""
    values = dict(
        source=source, description=description, extraction_date=extraction_date, synthetic=synthetic,
        file_name=file_name, file_sha256=file_sha256, imported_at=datetime.now(timezone.utc), row_count=row_count,
    )
    d = schema.dataset
    updated = conn.execute(sa.update(d).where(d.c.dataset_id == dataset_id).values(**values)).rowcount
    if not updated:
        conn.execute(d.insert().values(dataset_id=dataset_id, **values))


def dataset_row_counts(conn: Connection) -> dict[str, int]:
    """Rows per dataset_id over population, event_count and measure_coverage."""
    totals: dict[str, int] = {}
    for table in (schema.population, schema.event_count, schema.measure_coverage):
        query = sa.select(table.c.dataset_id, sa.func.count()).group_by(table.c.dataset_id)
        for dataset_id, n in conn.execute(query):
            totals[dataset_id] = totals.get(dataset_id, 0) + int(n)
    return totals


def refresh_dataset_counts(conn: Connection, before: dict[str, int]) -> list[str]:
    """Set every dataset's row_count; drop datasets whose rows were all replaced. Returns those dropped."""
    after = dataset_row_counts(conn)
    d = schema.dataset
    dropped = []
    for dataset_id in conn.execute(sa.select(d.c.dataset_id)).scalars().all():
        n = after.get(dataset_id, 0)
        if n == 0 and before.get(dataset_id, 0) > 0:
            conn.execute(sa.delete(d).where(d.c.dataset_id == dataset_id))
            dropped.append(dataset_id)
        elif dataset_id in after or before.get(dataset_id, 0) > 0:
            conn.execute(sa.update(d).where(d.c.dataset_id == dataset_id).values(row_count=n))
    return dropped


def delete_synthetic(conn: Connection) -> int:
    """Remove every row of synthetic datasets (and the datasets). Returns the rows removed."""
    d = schema.dataset
    ids = conn.execute(sa.select(d.c.dataset_id).where(d.c.synthetic.is_(True))).scalars().all()
    removed = 0
    for table in (schema.population, schema.event_count, schema.measure_coverage):
        if ids:
            removed += conn.execute(sa.delete(table).where(table.c.dataset_id.in_(ids))).rowcount or 0
    if ids:
        conn.execute(sa.delete(d).where(d.c.dataset_id.in_(ids)))
    return removed


def set_app_setting(conn: Connection, key: str, value: str) -> None:
    s = schema.app_setting
    now = datetime.now(timezone.utc)
    if not conn.execute(sa.update(s).where(s.c.key == key).values(value=value, updated_at=now)).rowcount:
        conn.execute(s.insert().values(key=key, value=value, updated_at=now))


def load_app_setting(engine: Engine, key: str) -> str | None:
    """A value from the ``app_setting`` table (None if unset or the table does not exist yet)."""
    if not sa.inspect(engine).has_table("app_setting"):
        return None
    s = schema.app_setting
    with engine.connect() as conn:
        return conn.execute(sa.select(s.c.value).where(s.c.key == key)).scalar_one_or_none()


def has_reference(engine: Engine) -> bool:
    """True when the reference tables exist and hold the kommuner."""
    if not sa.inspect(engine).has_table("kommune"):
        return False
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.kommune)).scalar_one() > 0


# --- published indicators (Helseatlas, FHI's published values) --------------------------------


def replace_published(conn: Connection, indicators: pl.DataFrame, values: pl.DataFrame) -> int:
    """Write published indicators and their values, replacing earlier imports of the same indicator ids.

    Runs on the connection's open transaction (the caller writes the ``dataset`` rows first).
    Returns the value rows written.
    """
    ids = indicators["indicator_id"].to_list()
    pi, pv = schema.published_indicator, schema.published_value
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        conn.execute(sa.delete(pv).where(pv.c.indicator_id.in_(chunk)))
        conn.execute(sa.delete(pi).where(pi.c.indicator_id.in_(chunk)))
    write_frame(conn, pi, indicators)
    return write_frame(conn, pv, values)


def published_row_counts(conn: Connection) -> dict[str, int]:
    """Published value rows per dataset_id."""
    pv = schema.published_value
    query = sa.select(pv.c.dataset_id, sa.func.count()).group_by(pv.c.dataset_id)
    return {dataset_id: int(n) for dataset_id, n in conn.execute(query)}
