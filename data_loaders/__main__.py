"""Command line: ``python -m data_loaders demo|info|import``."""

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_loaders", description="Build, inspect and load the data store.")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: DATABASE_URL or the SQLite demo file)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="(re)build the store with synthetic demo data")
    demo.add_argument("--if-missing", action="store_true", help="do nothing if the store already has data")
    demo.set_defaults(func=_cmd_demo)
    info = sub.add_parser("info", help="print what is loaded")
    info.set_defaults(func=_cmd_info)
    args = parser.parse_args(argv)
    if args.database_url is None:
        args.database_url = settings().database_url
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
