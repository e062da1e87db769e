"""Command line: ``python -m data_loaders demo|info|import|fetch|roles``."""

from __future__ import annotations

import argparse
import sys
import time

from data_loaders import store
from data_loaders.config import settings


def _cmd_demo(args: argparse.Namespace) -> int:
    from data_loaders.demo import build_demo_store

    engine = store.get_engine(args.database_url)
    if args.if_missing and store.has_data(engine):
        print(f"Store already has data: {engine.url.render_as_string(hide_password=True)}")
        return 0
    started = time.perf_counter()
    data = build_demo_store(engine)
    print(
        f"Built the synthetic demo store at {engine.url.render_as_string(hide_password=True)} in "
        f"{time.perf_counter() - started:.1f} s: {data.population.height:,} population rows, "
        f"{data.counts.height:,} count rows, {data.coverage.height:,} coverage rows."
    )
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    engine = store.get_engine(args.database_url)
    print(f"Store: {engine.url.render_as_string(hide_password=True)}")
    if not store.has_data(engine):
        print("No data loaded. Run `python -m data_loaders demo` to build the demo store.")
        return 1
    datasets = store.load_datasets(engine)
    print(f"Synthetic data: {'YES' if store.is_synthetic(engine) else 'no'}")
    print(f"Years: {', '.join(str(y) for y in store.available_years(engine))}")
    print("\nDatasets:")
    for row in datasets.iter_rows(named=True):
        flag = " [SYNTETISK]" if row["synthetic"] else ""
        print(f"  {row['dataset_id']}: {row['source']}{flag}, extracted {row['extraction_date']}, {row['row_count']:,} rows")
    print("\nMeasures (first-last year, kommuner covered, rows, total count):")
    for row in store.measure_summary(engine).iter_rows(named=True):
        print(
            f"  {row['measure_id']:<40} {row['first_year']}-{row['last_year']}  "
            f"{row['kommuner']:>3} kommuner  {row['rows'] or 0:>8,} rows  {row['total'] or 0:>12,.0f}"
        )
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from data_loaders.importers import ImportUsageError, ImportValidationError, import_files

    started = time.perf_counter()
    try:
        summary = import_files(
            args.files,
            args.format,
            measure=args.measure,
            allow_split_allocation=args.allow_split_allocation,
            coverage=args.coverage,
            source=args.source,
            extraction_date=args.extraction_date,
            replace_demo=args.replace_demo,
            dry_run=args.dry_run,
            database_url=args.database_url,
            group=args.group,
            name=args.name,
        )
    except ImportUsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(summary.render())
    print(f"\nDone in {time.perf_counter() - started:.1f} s.")
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from data_loaders.importers import ImportUsageError, init_store

    try:
        print(init_store(store.get_engine(args.database_url), force=args.force))
    except ImportUsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_roles(args: argparse.Namespace) -> int:
    """Role administration for the internal deployment (whoever runs this operates the store)."""
    import getpass

    from data_loaders import ssu

    engine = store.get_engine(args.database_url)
    operator = f"cli:{getpass.getuser()}"
    try:
        if args.action == "list":
            rows = ssu.list_roles(engine, args.helsefellesskap)
            for row in rows:
                print(f"{row['helsefellesskap_id']:<28} {row['role']:<14} {row['identity']}  "
                      f"(satt av {row['updated_by']} {row['updated_at']:%Y-%m-%d %H:%M})")
            if not rows:
                print("Ingen roller er satt.")
            return 0
        if not args.identity or not args.helsefellesskap:
            print("error: --identity and --helsefellesskap are required", file=sys.stderr)
            return 2
        if args.action == "add":
            if not args.role:
                print("error: --role is required for add", file=sys.stderr)
                return 2
            ssu.set_role(engine, args.identity, args.helsefellesskap, args.role, by=operator, operator=True)
            print(f"{ssu.normalise_identity(args.identity)} er {args.role} for {args.helsefellesskap}.")
        elif ssu.remove_role(engine, args.identity, args.helsefellesskap, by=operator, operator=True):
            print(f"Fjernet rollen til {ssu.normalise_identity(args.identity)} for {args.helsefellesskap}.")
        else:
            print(f"{ssu.normalise_identity(args.identity)} hadde ingen rolle for {args.helsefellesskap}.")
    except (ssu.SsuValidationError, ssu.SsuReadOnlyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch from SSB's live APIs and write through the validated import (data_loaders/fetch)."""
    from data_loaders.fetch import FetchError, fetch_classifications, fetch_population
    from data_loaders.fetch.ssb_population import parse_years

    started = time.perf_counter()
    try:
        if args.source == "ssb-population":
            result = fetch_population(
                parse_years(args.years), base_url=args.api_url, database_url=args.database_url, timeout=args.timeout,
                allow_split_allocation=not args.no_split_allocation, replace_demo=args.replace_demo, dry_run=args.dry_run,
            )
        else:
            result = fetch_classifications(when=args.date, base_url=args.api_url, database_url=args.database_url,
                                           timeout=args.timeout, dry_run=args.dry_run)
    except FetchError as exc:
        print(f"Henting feilet: {exc}", file=sys.stderr)
        return 1
    print(result.render())
    print(f"\nFerdig på {time.perf_counter() - started:.1f} s.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_loaders", description="Build, inspect and load the data store.")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: DATABASE_URL or the SQLite demo file)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="(re)build the store with synthetic demo data")
    demo.add_argument("--if-missing", action="store_true", help="do nothing if the store already has data")
    demo.set_defaults(func=_cmd_demo)
    info = sub.add_parser("info", help="print what is loaded")
    info.set_defaults(func=_cmd_info)
    init = sub.add_parser("init", help="create an empty store with the reference tables (for real data)")
    init.add_argument("--force", action="store_true", help="empty a store that already holds data")
    init.set_defaults(func=_cmd_init)
    imp = sub.add_parser(
        "import",
        help="validate files and load them into the store (one transaction)",
        description="Import real data. Formats and examples: docs/importing.md. Nothing is written unless every "
        "file passes validation. Exit status: 0 ok, 1 validation failed, 2 usage error.",
    )
    imp.add_argument("--format", required=True, choices=["ssb-jsonstat", "ssb-csv", "fhi-csv", "register", "mapping",
                                                                  "skde-opptaksomrader", "geometry", "helseatlas", "fhi-published"],
                     help="the format of the files")
    imp.add_argument("files", nargs="+", metavar="FILE", help="files to import (all in one transaction)")
    imp.add_argument("--measure", help="fhi-csv: the catalogue measure the TELLER column counts")
    imp.add_argument("--group", help="helseatlas, fhi-published: the priority group of the published indicators "
                     "(default per atlas; required for fhi-published)")
    imp.add_argument("--name", help="fhi-published: the indicator's name as FHI publishes it (default: the file name)")
    imp.add_argument("--allow-split-allocation", action="store_true",
                     help="allocate figures of split kommuner by population share, and FHI counts over several age "
                     "bands by population (approximate; listed in the summary)")
    imp.add_argument("--coverage", choices=["auto", "all", "present"], default="auto",
                     help="register: which kommuner count as reported for each measure-year (default: all for national "
                     "registers, present otherwise)")
    imp.add_argument("--source", help="source text recorded in the dataset table (default per format)")
    imp.add_argument("--extraction-date", help="date the data were extracted, YYYY-MM-DD (default: from the file)")
    imp.add_argument("--replace-demo", action="store_true", help="remove the synthetic demo data in the same transaction")
    imp.add_argument("--dry-run", action="store_true", help="validate and summarise only; write nothing")
    imp.set_defaults(func=_cmd_import)
    fetch = sub.add_parser(
        "fetch", help="fetch from SSB's live APIs (needs internet) and write through the validated import",
        description="ssb-population: SSB table 07459 (+10826 for bydeler) through PxWebApi v2; ssb-classifications: "
        "KLASS kommuner, changes, sentralitet and KOSTRA groups. Nothing is written unless everything passes. "
        "Exit status: 0 ok, 1 failed.",
    )
    fetch.add_argument("source", choices=["ssb-population", "ssb-classifications"])
    fetch.add_argument("--years", default="2020-2025", help="ssb-population: years, e.g. 2020-2025 (default)")
    fetch.add_argument("--date", help="ssb-classifications: the date the classifications hold for (default today)")
    fetch.add_argument("--api-url", help="base URL (default: STYRING_SSB_API_URL / STYRING_KLASS_API_URL)")
    fetch.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each answer (default 60)")
    fetch.add_argument("--no-split-allocation", action="store_true",
                       help="ssb-population: refuse kommuner later split (default: allocate by population share)")
    fetch.add_argument("--replace-demo", action="store_true", help="remove the synthetic demo data in the same transaction")
    fetch.add_argument("--dry-run", action="store_true", help="fetch and validate only; write nothing")
    fetch.set_defaults(func=_cmd_fetch)
    roles = sub.add_parser("roles", help="manage who may read and edit a helsefellesskap's goals, assessments and actions")
    roles.add_argument("action", choices=["add", "remove", "list"])
    roles.add_argument("--identity", help="the user's e-mail or OIDC subject (matched lower-cased)")
    roles.add_argument("--helsefellesskap", metavar="ID", help="helsefellesskap id, e.g. troms-ofoten")
    roles.add_argument("--role", choices=["leser", "redaktor", "administrator"])
    roles.set_defaults(func=_cmd_roles)
    args = parser.parse_args(argv)
    if args.database_url is None:
        args.database_url = settings().database_url
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
