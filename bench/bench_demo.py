"""Benchmark: generating the synthetic demo data and building the demo store (rows per second).

    python bench/bench_demo.py [--quick] [--repeats 3] [--json PATH]

- generate: ``data_loaders.demo.generate()`` in process (Polars frames, nothing written), 3 runs;
- build (2 runs): ``data_loaders.demo.build_demo_store`` into a new SQLite file in a temporary folder,
  which is what ``python -m data_loaders demo`` does (generate, write every table in one
  transaction, ANALYZE).

Rows are population + counts + coverage rows. Nothing passes or fails on time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _common import arguments, report, result, sqlite_url


def main() -> int:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="generate runs (default 3; the build runs one fewer)")
    args = parser.parse_args()
    repeats = 1 if args.quick else max(1, args.repeats)

    from data_loaders import store
    from data_loaders.demo import build_demo_store, generate

    generate_seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        data = generate()
        generate_seconds.append(time.perf_counter() - started)
    rows = data.population.height + data.counts.height + data.coverage.height

    build_seconds = []
    with tempfile.TemporaryDirectory(prefix="bench_demo_") as folder:
        for run in range(max(1, repeats - 1)):
            url = sqlite_url(Path(folder) / f"demo_{run}.sqlite")
            started = time.perf_counter()
            build_demo_store(store.get_engine(url))
            build_seconds.append(time.perf_counter() - started)
            store.dispose_engines()
            size_mb = (Path(folder) / f"demo_{run}.sqlite").stat().st_size / 1e6
    shape = (f"{data.population.height:,} population + {data.counts.height:,} count + "
             f"{data.coverage.height:,} coverage rows").replace(",", " ")
    results = [
        result("demo", "generate the synthetic data (in process)", generate_seconds, "s", note=shape),
        result("demo", "generate: rows per second", [rows / s for s in generate_seconds], "rows/s"),
        result("demo", "build the demo store (generate + write SQLite)", build_seconds, "s",
               note=f"build_demo_store, {size_mb:.0f} MB file"),
        result("demo", "build: rows per second", [rows / s for s in build_seconds], "rows/s"),
    ]
    print(f"\ndemo data ({rows:,} rows):".replace(",", " "))
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
