"""Benchmark: import a large register extract (default 2 million rows) into an empty store.

    python bench/bench_import.py                          # 2 000 000 rows, 1 run, SQLite in a temp dir
    python bench/bench_import.py --quick                  # 200 000 rows, 1 run
    python bench/bench_import.py --rows 20000000 --runs 3 # the large run recorded in bench/README.md
    python bench/bench_import.py --database-url postgresql+psycopg://user@127.0.0.1:5432/bench

The file is generated into a temporary directory (CSV, ~85 MB for 2 M rows, ~0.85 GB for
20 M; ``--parquet`` for Parquet). Its rows use real 2024 kommune numbers, both sexes, all 21 age bands and the
years 2000-2025; since the catalogue has only 23 measures, the benchmark adds synthetic
measures to a temporary copy of the catalogue so that every row has a distinct key.

Each run imports the file in a fresh child process into an empty store (``init`` first, not
timed) and reports wall time, rows per second and the child's peak RSS (``ru_maxrss``). The
median over the runs is printed last. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml
from _common import ROOT, arguments, report, result

from data_loaders.reference import load_kommuner
from data_loaders.schema import AGE_BAND_LABELS, SEXES

YEARS = list(range(2000, 2026))
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from data_loaders import store
from data_loaders.importers import import_files, init_store
engine = store.get_engine({url!r})
init_store(engine, force=True)
started = time.perf_counter()
summary = import_files([{path!r}], "register", engine=engine, catalogue_path=Path({catalogue!r}), coverage="present")
elapsed = time.perf_counter() - started
print(json.dumps({{"seconds": elapsed, "rows": summary.rows_written,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def bench_catalogue(folder: Path, measures: int) -> Path:
    raw = yaml.safe_load((ROOT / "indicators" / "catalogue.yaml").read_text(encoding="utf-8"))
    for i in range(measures):
        raw["measures"].append({
            "id": f"bench_measure_{i:03d}", "name": f"Benchmark-mål {i}", "source": "NPR", "kind": "events",
            "definition": "Syntetisk mål for ytelsestest av import.",
        })
    path = folder / "catalogue.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def generate(folder: Path, rows: int, parquet: bool) -> tuple[Path, int]:
    """A register extract with ``rows`` distinct keys; returns the path and the number of measures."""
    kommuner = load_kommuner()["kommunenummer"].to_list()
    per_measure = len(YEARS) * len(kommuner) * len(SEXES) * len(AGE_BAND_LABELS)
    measures = max(1, math.ceil(rows / per_measure))
    lf = (
        pl.LazyFrame({"measure_id": [f"bench_measure_{i:03d}" for i in range(measures)]})
        .join(pl.LazyFrame({"year": YEARS}), how="cross")
        .join(pl.LazyFrame({"kommunenummer": kommuner}), how="cross")
        .join(pl.LazyFrame({"sex": list(SEXES)}), how="cross")
        .join(pl.LazyFrame({"age_band": list(AGE_BAND_LABELS)}), how="cross")
        .head(rows)
        .with_row_index("i")
        .with_columns(((pl.col("i") * 7919) % 97).alias("count"))
        .select("year", "kommunenummer", "sex", "age_band", "measure_id", "count")
    )
    path = folder / ("register_big.parquet" if parquet else "register_big.csv")
    if parquet:
        lf.sink_parquet(path)
    else:
        lf.sink_csv(path)
    return path, measures


def main() -> int:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help="rows in the generated file (default 2 000 000; --quick 200 000)")
    parser.add_argument("--runs", type=int, help="import runs (default 1)")
    parser.add_argument("--parquet", action="store_true", help="generate Parquet instead of CSV")
    parser.add_argument("--database-url", help="store to import into (emptied each run); default: SQLite in the temp dir")
    parser.add_argument("--tmp", help="folder for the generated file and SQLite store (default: a new temp dir)")
    args = parser.parse_args()
    args.rows = args.rows or (200_000 if args.quick else 2_000_000)
    args.runs = args.runs or 1

    folder = Path(args.tmp) if args.tmp else Path(tempfile.mkdtemp(prefix="bench_import_"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    path, measures = generate(folder, args.rows, args.parquet)
    catalogue = bench_catalogue(folder, measures)
    size_mb = path.stat().st_size / 1e6
    print(f"Generated {args.rows:,} rows ({measures} measures x {len(YEARS)} years x 357 kommuner x 2 sexes x 21 bands, "
          f"truncated) in {time.perf_counter() - started:.1f} s: {path} ({size_mb:,.0f} MB)")
    results = []
    for run in range(1, args.runs + 1):
        url = args.database_url or f"sqlite:///{folder / f'store_{run}.sqlite'}"
        code = CHILD.format(root=str(ROOT), url=url, path=str(path), catalogue=str(catalogue))
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(), check=False)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, sep="\n")
            return 1
        outcome = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(outcome)
        print(f"run {run}: {outcome['seconds']:.1f} s, {outcome['rows'] / outcome['seconds']:,.0f} rows/s, "
              f"peak RSS {outcome['peak_rss_mb']:,.0f} MB, rows written {outcome['rows']:,}")
        if not args.database_url:
            (folder / f"store_{run}.sqlite").unlink(missing_ok=True)
    if not args.tmp:
        shutil.rmtree(folder, ignore_errors=True)
    if not results:
        return 0
    seconds = statistics.median(r["seconds"] for r in results)
    print(f"\nmedian over {len(results)} run(s): {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s, "
          f"peak RSS max {max(r['peak_rss_mb'] for r in results):,.0f} MB "
          f"(file {size_mb:,.0f} MB, {'Parquet' if args.parquet else 'CSV'}; {os.cpu_count()} cores)")
    kind = "Parquet" if args.parquet else "CSV"
    where = "the given store" if args.database_url else "SQLite"
    written = f"{results[0]['rows']:,} rows written".replace(",", " ")
    report([
        result("import", f"import a {args.rows:,}-row register {kind} into {where}".replace(",", " "),
               [r["seconds"] for r in results], "s", note=f"{size_mb:,.0f} MB file; {written}; fresh process per run"),
        result("import", "import: rows per second", [args.rows / r["seconds"] for r in results], "rows/s"),
        result("import", "import: peak RSS", [r["peak_rss_mb"] for r in results], "MB"),
    ], args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
