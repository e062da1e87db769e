"""Child process of the benchmarks: compute the whole catalogue and print timings as JSON.

    python bench/_catalogue_child.py engine|baseline [--passes N] [--warmup] [--pooled] [--catalogue PATH]

Imports first, then times (imports are not part of the figure). ``engine`` runs
``indicators.compute(ind.id, level)`` for every indicator and level (every year); with
``--pooled`` a second loop adds every pooled period. ``baseline`` runs the pandas baseline
(bench/pandas_baseline.py) on the same store. The store is ``DATABASE_URL``; the result
cache is whatever ``STYRING_CACHE_DIR`` says. ``--catalogue`` points the engine at another
catalogue file (the scale benchmark's copy with extra indicators). Prints one JSON line:
seconds per pass (and its CPU seconds, all threads), rows returned, resident memory after the
imports and the peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**2


def engine_pass(pooled: bool) -> tuple[dict, int]:
    import indicators
    from data_loaders.reference import LEVELS

    timings, rows = {}, 0
    started, cpu_started = time.perf_counter(), time.process_time()
    catalogue = indicators.load_catalogue()
    for ind in catalogue.indicators:
        for level in LEVELS:
            rows += indicators.compute(ind.id, level).height
    timings["single_years"] = time.perf_counter() - started
    timings["single_years_cpu"] = time.process_time() - cpu_started
    if pooled:
        for ind in catalogue.indicators:
            periods = indicators.pooled_periods(ind.id)
            for level in LEVELS:
                for period in periods:
                    rows += indicators.compute(ind.id, level, period=period).height
        timings["with_pooled"] = time.perf_counter() - started
    return timings, rows


def baseline_pass(pooled: bool) -> tuple[dict, int]:
    import pandas_baseline

    from data_loaders.config import settings

    timings: dict = {}
    tables = pandas_baseline.whole_catalogue(settings().database_url, pooled=pooled, timings=timings)
    return timings, sum(len(t) for t in tables.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("implementation", choices=("engine", "baseline"))
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--warmup", action="store_true", help="one untimed pass first (warm in-process caches)")
    parser.add_argument("--pooled", action="store_true")
    parser.add_argument("--catalogue", help="catalogue file to use instead of indicators/catalogue.yaml")
    args = parser.parse_args()

    # Imports (not timed).
    import indicators
    import indicators.catalogue
    if args.implementation == "baseline":
        import pandas  # noqa: F401
        import pandas_baseline  # noqa: F401
    else:
        from data_loaders import store

        store.import_bulk_readers()  # the store's bulk reader (ADBC imports pyarrow.dataset and pandas)
    if args.catalogue:
        indicators.catalogue.CATALOGUE_PATH = Path(args.catalogue)
    after_imports = _rss_mb()

    run = engine_pass if args.implementation == "engine" else baseline_pass
    if args.warmup:
        run(args.pooled)
    passes, cpu, rows = [], [], 0
    for _ in range(args.passes):
        cpu_started = time.process_time()
        timings, rows = run(args.pooled)
        cpu.append(time.process_time() - cpu_started)
        passes.append(timings)
    # On a busy shared machine the wall time also waits for a core; CPU time (every thread) less so.
    print(json.dumps({
        "single_years": [p["single_years"] for p in passes],
        "with_pooled": [p["with_pooled"] for p in passes if "with_pooled" in p],
        "single_years_cpu": [p["single_years_cpu"] for p in passes],
        "cpu_seconds": cpu,  # the whole pass
        "rows": rows,
        "rss_after_imports_mb": after_imports,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
