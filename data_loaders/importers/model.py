"""What a format reader hands to the import pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from sqlalchemy.engine import Engine

from data_loaders.importers.crosswalk import Crosswalk
from data_loaders.importers.errors import Problems

if TYPE_CHECKING:  # indicators/__init__ pulls in scipy; load it only when an import runs
    from indicators.catalogue import Catalogue

COUNT_KEYS = ["measure_id", "year", "kommunenummer", "sex", "age_band"]
POPULATION_KEYS = ["year", "kommunenummer", "sex", "age_band"]
NATIONAL_SOURCES = ("NPR", "KPR", "Kreftregisteret")


@dataclass
class Options:
    """Everything an import may be told; see ``import_files`` for the meaning of each."""

    measure: str | None = None
    allow_split_allocation: bool = False
    coverage: str = "auto"  # register: auto | all | present
    source: str | None = None
    extraction_date: str | None = None
    replace_demo: bool = False
    dry_run: bool = False


@dataclass
class Context:
    engine: Engine
    catalogue: "Catalogue"
    crosswalk: Crosswalk
    options: Options
    problems: Problems


@dataclass
class Parsed:
    """One file after reading and row checks, at the grain of the file (kommune numbers as given).

    ``data`` (population or counts kind) has the store's columns plus ``_row`` (the line number
    in the file of the row, or of the first row that went into it) and, for counts,
    ``_alloc_bands`` (a list of age bands when a count spans several bands and must be allocated).
    ``cells`` lists the kommune-years a counts file reports (measure_id, year, kommunenummer,
    suppressed, _row): for a measure with coverage "cells" they decide coverage, and a kommune-year with any
    suppressed cell is not reported at all.
    """

    path: Path
    file: str
    format: str
    kind: str  # population | counts | mapping | geometry
    sha256: str
    dataset_id: str
    source: str
    description: str
    extraction_date: str
    kommune_column: str = "kommunenummer"
    value_column: str = "count"
    data: pl.LazyFrame | None = None
    coverage: dict[str, str] = field(default_factory=dict)  # measure_id -> all | present | cells
    cells: pl.DataFrame | None = None
    payload: object = None
    rows_read: int = 0
    notes: list[str] = field(default_factory=list)
    ok: bool = True  # False when row checks failed (later checks are skipped for the file)
