"""Synthetic demo data: generation (``generator``) and loading into the store."""

from __future__ import annotations

import polars as pl
from sqlalchemy.engine import Engine

from data_loaders import reference, schema, store
from data_loaders.demo.generator import DEMO_DATASET_ID, DEMO_SOURCE, DemoData, generate, load_parameters

__all__ = ["build_demo_store", "generate", "load_parameters", "DemoData", "DEMO_DATASET_ID"]


def build_demo_store(engine: Engine, data: DemoData | None = None) -> DemoData:
    """(Re)build the store from scratch with reference tables and synthetic data, in one transaction."""
    data = data or generate()
    store.drop_schema(engine)
    store.create_schema(engine)
    rows = data.population.height + data.counts.height + data.coverage.height
    with engine.begin() as conn:
        store.write_reference(conn, *reference.reference_frames())
        store.upsert_dataset(
            conn,
            DEMO_DATASET_ID,
            source=DEMO_SOURCE,
            description=(
                "Syntetiske data for demonstrasjon. Registertallene er generert fra et fast frø og "
                "kalibrert til publiserte nasjonale nivåer der slike finnes; de beskriver ingen "
                "virkelige personer eller kommuner. Befolkningen følger SSBs tall for hver kommune "
                "og bydel i Oslo (tabell 07459, NLOD 2.0): folketallet 1.1.2024 og 1.1.2020 og "
                "andelene 67+ og 80+; fordelingen på alder og kjønn innenfor det er generert."
            ),
            extraction_date=data.parameters["extraction_date"],
            synthetic=True,
            row_count=rows,
        )
        tag = pl.lit(DEMO_DATASET_ID).alias("dataset_id")
        store.insert_rows(conn, schema.population, data.population.with_columns(tag))
        store.insert_rows(conn, schema.event_count, data.counts.with_columns(tag))
        store.insert_rows(conn, schema.measure_coverage, data.coverage.with_columns(tag))
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return data
