"""Write prepared files to the store: one transaction for the whole import."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from data_loaders import reference, schema, store
from data_loaders.importers.pipeline import Prepared, import_coverage, replaced_units

BATCH_ROWS = 500_000


@dataclass
class FileResult:
    """What one file did to the store (filled in while writing)."""

    rows_written: int = 0
    rows_replaced: int = 0
    coverage_rows: int = 0
    added: list[str] = field(default_factory=list)  # "measure year" or "population year"
    replaced: list[str] = field(default_factory=list)


@dataclass
class WriteResult:
    files: dict[str, FileResult] = field(default_factory=dict)
    synthetic_removed: int = 0
    datasets_dropped: list[str] = field(default_factory=list)
    synthetic_remaining: int = 0


def ensure_store(engine: Engine) -> None:
    """Create missing tables and, in an empty store, the reference geography."""
    store.create_schema(engine)
    if not store.has_reference(engine):
        with engine.begin() as conn:
            store.write_reference(conn, *reference.reference_frames())


def write_all(engine: Engine, prepared: list[Prepared], ctx, *, replace_demo: bool) -> WriteResult:
    result = WriteResult()
    with engine.begin() as conn:
        if replace_demo:
            result.synthetic_removed = store.delete_synthetic(conn)
        before = store.dataset_row_counts(conn)
        for item in prepared:
            parsed = item.parsed
            store.upsert_dataset(
                conn, parsed.dataset_id, source=parsed.source, description=parsed.description,
                extraction_date=parsed.extraction_date, synthetic=False, row_count=0,
                file_name=parsed.file, file_sha256=parsed.sha256,
            )
            res = result.files.setdefault(parsed.file, FileResult())
            if parsed.kind == "population":
                _write_population(conn, item, res)
            elif parsed.kind == "counts":
                _write_counts(conn, item, res, ctx)
            elif parsed.kind == "mapping":
                store.replace_mapping(conn, parsed.payload)
                res.rows_written = parsed.payload.height
                if parsed.format == "skde-opptaksomrader":  # and each bydel's helseforetak area
                    for bydel, hf_id in parsed.cells.iter_rows():
                        conn.execute(sa.update(schema.bydel).where(schema.bydel.c.bydel == bydel).values(helseforetak_id=hf_id))
                _drop_other(conn, "mapping-", parsed.dataset_id)
            elif parsed.kind == "geometry":
                store.set_app_setting(conn, "kommune_geojson", str(parsed.payload))
                res.rows_written = 1
                _drop_other(conn, "geometry-", parsed.dataset_id)
        result.datasets_dropped = store.refresh_dataset_counts(conn, before)
        for item in prepared:  # reference datasets have no rows in the data tables
            if item.parsed.kind in ("mapping", "geometry"):
                conn.execute(
                    sa.update(schema.dataset).where(schema.dataset.c.dataset_id == item.parsed.dataset_id)
                    .values(row_count=result.files[item.parsed.file].rows_written)
                )
        d = schema.dataset
        synthetic_ids = conn.execute(sa.select(d.c.dataset_id).where(d.c.synthetic.is_(True))).scalars().all()
        after = store.dataset_row_counts(conn) if synthetic_ids else {}
        result.synthetic_remaining = sum(after.get(i, 0) for i in synthetic_ids)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return result


def _drop_other(conn: Connection, prefix: str, keep: str) -> None:
    d = schema.dataset
    conn.execute(sa.delete(d).where(d.c.dataset_id.like(f"{prefix}%"), d.c.dataset_id != keep))


def _in_chunks(values: list[str], size: int = 500):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _write_population(conn: Connection, item: Prepared, res: FileResult) -> None:
    p = schema.population
    units = item.units
    for (year,), group in units.group_by("year", maintain_order=True):
        kommuner = sorted(group["kommunenummer"].to_list())
        deleted = 0
        for chunk in _in_chunks(kommuner):
            deleted += conn.execute(sa.delete(p).where(p.c.year == year, p.c.kommunenummer.in_(chunk))).rowcount or 0
        res.rows_replaced += deleted
        (res.replaced if deleted else res.added).append(f"population {year}")
    res.added.sort()
    res.replaced.sort()
    tag = pl.lit(item.parsed.dataset_id).alias("dataset_id")
    for batch in item.target.collect_batches(chunk_size=BATCH_ROWS, engine="streaming"):
        res.rows_written += store.insert_rows(conn, p, batch.with_columns(tag))


def _write_counts(conn: Connection, item: Prepared, res: FileResult, ctx) -> None:
    c, cov = schema.event_count, schema.measure_coverage
    replaced = replaced_units(item, ctx)
    coverage = import_coverage(item, ctx)
    for (measure, year), group in replaced.group_by("measure_id", "year", maintain_order=True):
        mode = item.parsed.coverage.get(measure, "present")
        deleted = 0
        if mode == "all":
            deleted += conn.execute(sa.delete(c).where(c.c.measure_id == measure, c.c.year == year)).rowcount or 0
            had = conn.execute(sa.delete(cov).where(cov.c.measure_id == measure, cov.c.year == year)).rowcount or 0
        else:
            had = 0
            for chunk in _in_chunks(sorted(group["kommunenummer"].to_list())):
                deleted += conn.execute(
                    sa.delete(c).where(c.c.measure_id == measure, c.c.year == year, c.c.kommunenummer.in_(chunk))
                ).rowcount or 0
                had += conn.execute(
                    sa.delete(cov).where(cov.c.measure_id == measure, cov.c.year == year, cov.c.kommunenummer.in_(chunk))
                ).rowcount or 0
        res.rows_replaced += deleted
        (res.replaced if (had or deleted) else res.added).append(f"{measure} {year}")
    tag = pl.lit(item.parsed.dataset_id).alias("dataset_id")
    rows = item.target.filter(pl.col("count") != 0)
    for batch in rows.collect_batches(chunk_size=BATCH_ROWS, engine="streaming"):
        res.rows_written += store.insert_rows(conn, c, batch.with_columns(tag))
    res.coverage_rows = store.insert_rows(conn, cov, coverage.with_columns(tag))
    res.added.sort()
    res.replaced.sort()
