"""Import real data into the store: SSB population, FHI statistikkbank exports, register
extracts, the kommune->helsefellesskap mapping and kommune geometry.

``import_files(paths, format, ...)`` is the whole API; ``python -m data_loaders import`` calls it.
Every import validates all its files first and writes them in one transaction, so a failing
file leaves the store exactly as it was. Formats and choices are documented in
``docs/importing.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data_loaders import reference, schema, store
from data_loaders.config import settings
from data_loaders.importers.crosswalk import Crosswalk, CrosswalkError, load_crosswalk
from data_loaders.importers.errors import (
    MAX_PROBLEMS,
    ImportUsageError,
    ImportValidationError,
    Problem,
    Problems,
)
from data_loaders.importers.model import Context, Options, Parsed
from data_loaders.importers.pipeline import (
    Prepared,
    build_target,
    check_overlaps,
    check_ratios,
    translate,
)
from data_loaders.importers.summary import FileSummary, ImportSummary
from data_loaders.importers.writer import ensure_store, write_all

__all__ = [
    "FORMATS",
    "COVERAGE_MODES",
    "import_files",
    "init_store",
    "ImportSummary",
    "ImportUsageError",
    "ImportValidationError",
    "Problem",
    "Crosswalk",
    "CrosswalkError",
    "load_crosswalk",
]

COVERAGE_MODES = ("auto", "all", "present")


def _readers() -> dict:
    from data_loaders.importers.fhi import read_fhi_csv
    from data_loaders.importers.reference_files import read_geometry, read_mapping, read_skde_opptaksomrader
    from data_loaders.importers.register import read_register
    from data_loaders.importers.ssb import read_ssb_csv, read_ssb_jsonstat

    return {
        "ssb-jsonstat": read_ssb_jsonstat,
        "ssb-csv": read_ssb_csv,
        "fhi-csv": read_fhi_csv,
        "register": read_register,
        "mapping": read_mapping,
        "skde-opptaksomrader": read_skde_opptaksomrader,
        "geometry": read_geometry,
    }


FORMATS = ("ssb-jsonstat", "ssb-csv", "fhi-csv", "register", "mapping", "skde-opptaksomrader", "geometry",
           "helseatlas", "fhi-published")
PUBLISHED_FORMATS = ("helseatlas", "fhi-published")  # published indicator values, not counts


def import_files(
    paths: Sequence[str | Path],
    format: str,
    *,
    measure: str | None = None,
    allow_split_allocation: bool = False,
    coverage: str = "auto",
    source: str | None = None,
    extraction_date: str | None = None,
    replace_demo: bool = False,
    dry_run: bool = False,
    database_url: str | None = None,
    engine: Engine | None = None,
    catalogue_path: Path | None = None,
    max_problems: int = MAX_PROBLEMS,
    group: str | None = None,
    name: str | None = None,
) -> ImportSummary:
    """Validate ``paths`` as ``format`` and write them to the store in one transaction.

    Raises :class:`ImportUsageError` for wrong arguments and :class:`ImportValidationError`
    (with ``.problems``) when any file fails; then nothing is written. Returns the summary.

    * ``measure``: fhi-csv only, the catalogue measure the TELLER column counts.
    * ``allow_split_allocation``: allocate figures of a kommune that was later split by the
      population shares in the crosswalk, and FHI counts spanning several age bands by the
      population of each band (both approximate; listed in the summary). Default: refuse.
    * ``coverage`` (register): ``all`` marks every kommune as reported for each measure-year
      in the file (zeros omitted), ``present`` only the kommuner in the file; ``auto`` uses
      ``all`` for national registers (NPR, KPR, Kreftregisteret) and ``present`` otherwise.
    * ``replace_demo``: remove the synthetic demo data in the same transaction.
    * ``dry_run``: validate and summarise only.
    """
    options = _check_usage(paths, format, measure, coverage, extraction_date, catalogue_path)
    options.allow_split_allocation = allow_split_allocation
    options.source = source
    options.replace_demo = replace_demo
    options.dry_run = dry_run
    from indicators.catalogue import load_catalogue

    engine = engine or store.get_engine(database_url or settings().database_url)
    if format in PUBLISHED_FORMATS:
        return _import_published([Path(p) for p in paths], format, engine, options, load_catalogue(catalogue_path),
                                 max_problems, group=group, name=name)
    catalogue = load_catalogue(catalogue_path)
    if options.measure and options.measure not in catalogue.measures:
        raise ImportUsageError(
            f"unknown measure {options.measure!r}; known measures: {', '.join(sorted(catalogue.measures))}"
        )
    ctx = Context(engine=engine, catalogue=catalogue, crosswalk=load_crosswalk(), options=options,
                  problems=Problems(limit=max_problems))
    readers = _readers()
    parsed: list[Parsed] = []
    for path in [Path(p) for p in paths]:
        parsed.append(readers[format](path, ctx))

    prepared: list[Prepared] = []
    for item in parsed:
        if item.ok and item.data is not None:
            prepared.append(translate(item, ctx))
    if not ctx.problems:
        populations = [p for p in prepared if p.parsed.kind == "population"]
        for item in populations:
            build_target(item, ctx, [])
        for item in prepared:
            if item.parsed.kind == "counts":
                build_target(item, ctx, populations)
    if not ctx.problems:
        check_overlaps(prepared, ctx)
    if not ctx.problems:
        check_ratios(prepared, ctx)
    ctx.problems.raise_if_any()

    summary = ImportSummary(
        database=engine.url.render_as_string(hide_password=True), format=format, dry_run=dry_run,
    )
    by_file = {p.parsed.file: p for p in prepared}
    write = None
    if not dry_run:
        ensure_store(engine)
        reference_files = [Prepared(parsed=p, table=pl.DataFrame()) for p in parsed if p.kind in ("mapping", "geometry")]
        write = write_all(engine, prepared + reference_files, ctx, replace_demo=replace_demo)
        summary.synthetic_removed = write.synthetic_removed
        summary.synthetic_remaining = write.synthetic_remaining
        summary.datasets_dropped = write.datasets_dropped
    for item in parsed:
        summary.files.append(_file_summary(item, by_file.get(item.file), write))
    return summary


def _import_published(paths: list[Path], format: str, engine: Engine, options: Options, catalogue, max_problems: int,
                      *, group: str | None, name: str | None) -> ImportSummary:
    """Helseatlas files or FHI's published values: validated together, written in one transaction."""
    from data_loaders.importers.helseatlas import read_helseatlas, write_published

    problems = Problems(limit=max_problems)
    group_ids = {g.id for g in catalogue.groups}
    if format == "helseatlas":
        imp = read_helseatlas(paths, problems, group=group, group_ids=group_ids,
                              extraction_date=options.extraction_date, source=options.source)
    else:
        from data_loaders.importers.fhi import read_fhi_published

        imp = read_fhi_published(paths, problems, group=group, name=name, group_ids=group_ids,
                                 extraction_date=options.extraction_date, source=options.source)
    problems.raise_if_any()
    summary = ImportSummary(database=engine.url.render_as_string(hide_password=True), format=format,
                            dry_run=options.dry_run)
    by_file = {ds["file_name"]: ds for ds in imp.datasets}
    for path in paths:
        n_ind, n_values = imp.counts.get(path.name, (0, 0))
        ds = by_file.get(path.name)
        notes = [f"{n_ind} publisert(e) indikator(er), {n_values} verdier"] + imp.notes.get(path.name, [])
        summary.files.append(FileSummary(file=path.name, format=format, dataset_id=ds["dataset_id"] if ds else "-",
                                         kind="published", rows_read=n_values, notes=notes))
    if not options.dry_run and imp.datasets:
        write_published(engine, imp)
        for fs in summary.files:
            fs.rows_written = fs.rows_read if fs.dataset_id != "-" else 0
    return summary


def _check_usage(paths, format, measure, coverage, extraction_date, catalogue_path) -> Options:
    if format not in FORMATS:
        raise ImportUsageError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if isinstance(paths, (str, Path)):
        raise ImportUsageError("paths must be a list of files")
    if not paths:
        raise ImportUsageError("no files given")
    for path in paths:
        if not Path(path).is_file():
            raise ImportUsageError(f"{path}: file not found")
    names = [Path(p).name for p in paths]
    if len(set(names)) != len(names):
        raise ImportUsageError("two files with the same name in one import; rename one so messages stay unambiguous")
    if format == "fhi-csv" and not measure:
        raise ImportUsageError(
            "fhi-csv needs --measure: the catalogue measure that the TELLER column counts (e.g. --measure npr_tvangsinnleggelser)"
        )
    if measure and format != "fhi-csv":
        raise ImportUsageError("--measure applies to fhi-csv only (register files name the measure in each row)")
    if coverage not in COVERAGE_MODES:
        raise ImportUsageError(f"unknown coverage {coverage!r}; choose one of {', '.join(COVERAGE_MODES)}")
    if format in ("mapping", "skde-opptaksomrader", "geometry") and len(paths) != 1:
        raise ImportUsageError(f"{format} takes exactly one file")
    if extraction_date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", extraction_date):
        raise ImportUsageError(f"extraction date must be YYYY-MM-DD, got {extraction_date!r}")
    if catalogue_path is not None and not Path(catalogue_path).is_file():
        raise ImportUsageError(f"{catalogue_path}: catalogue not found")
    return Options(measure=measure, coverage=coverage, extraction_date=extraction_date)


def _file_summary(parsed: Parsed, prepared: Prepared | None, write) -> FileSummary:
    fs = FileSummary(file=parsed.file, format=parsed.format, dataset_id=parsed.dataset_id, kind=parsed.kind,
                     rows_read=parsed.rows_read, notes=list(parsed.notes))
    if prepared is not None:
        units = prepared.units
        if units is not None:
            fs.kommuner = units["kommunenummer"].n_unique()
            fs.years = sorted(units["year"].unique().to_list())
        fs.measures = sorted(parsed.coverage)
        fs.translated = prepared.translated
        fs.allocated = prepared.allocated
        fs.unreported = prepared.uncovered.height if prepared.uncovered is not None else 0
        if write is None and prepared.target is not None:
            fs.rows_written = 0
    if write is not None and parsed.file in write.files:
        res = write.files[parsed.file]
        fs.rows_written = res.rows_written
        fs.rows_replaced = res.rows_replaced
        fs.coverage_rows = res.coverage_rows
        fs.added = res.added
        fs.replaced = res.replaced
    return fs


def init_store(engine: Engine | None = None, *, force: bool = False, database_url: str | None = None) -> str:
    """Create an empty store with the reference tables (kommuner, fylker, helsefellesskap, mapping).

    Refuses when the store already holds data unless ``force`` (which drops everything).
    Returns a one-line description.
    """
    engine = engine or store.get_engine(database_url or settings().database_url)
    url = engine.url.render_as_string(hide_password=True)
    if store.has_data(engine) or _has_counts(engine):
        if not force:
            raise ImportUsageError(f"the store at {url} already holds data; pass --force to empty it")
    if force:
        store.drop_schema(engine)
    store.create_schema(engine)
    with engine.begin() as conn:
        store.write_reference(conn, *reference.reference_frames())
    return f"Created an empty store with reference tables at {url}"


def _has_counts(engine: Engine) -> bool:
    if not sa.inspect(engine).has_table("event_count"):
        return False
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.event_count)).scalar_one() > 0
