"""Benchmark: the whole catalogue through the engine, and the same work in plain pandas.

    python bench/bench_engine.py [--quick] [--repeats 5] [--baseline-repeats 3] [--json PATH]

On the demo store (built as ``python -m data_loaders demo`` builds it, cached under
data/bench/), each run in a fresh process, timed after the imports:

- every indicator × every level (``indicators.compute(ind.id, level)``, all years), then
  also every pooled period: (a) cold from the store with no result cache
  (``STYRING_CACHE_DIR=off``), (b) from the disk result cache, (c) warm in process (the
  same process computes once untimed, then times each further pass);
- the pandas baseline (bench/pandas_baseline.py) doing the same work cold from the store
  (3 runs, fewer once the runs took ``--baseline-budget`` seconds), and the ratio
  baseline / engine, cold against cold, in wall time and in CPU time (every thread; on a
  busy shared machine the steadier figure).

Nothing passes or fails on time; the rows say whether the targets are met.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

from _common import (
    CATALOGUE_CHILD as CHILD,
    arguments,
    child_env,
    demo_store,
    report,
    result,
    run_child,
    sqlite_url,
)

TARGET_SECONDS = 1.0
TARGET_RATIO = 5.0


def main() -> int:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each engine figure (default 5)")
    parser.add_argument("--baseline-repeats", type=int, default=3, help="runs of the pandas baseline (default 3)")
    parser.add_argument("--baseline-budget", type=float, default=75.0,
                        help="no further baseline run once the baseline runs took this many seconds (default 75)")
    args = parser.parse_args()
    repeats = 2 if args.quick else max(1, args.repeats)
    baseline_repeats = 1 if args.quick else max(1, args.baseline_repeats)

    path, built = demo_store()
    if built is not None:
        print(f"built the demo store for the benchmarks in {built:.1f} s: {path}", flush=True)
    url = sqlite_url(path)
    cold_env = child_env(url, "off")

    print(f"engine, cold from the store ({repeats} fresh processes) ...", flush=True)
    cold = [run_child([CHILD, "engine", "--pooled"], cold_env) for _ in range(repeats)]
    with tempfile.TemporaryDirectory(prefix="bench_engine_cache_") as cache_dir:
        disk_env = child_env(url, cache_dir)
        run_child([CHILD, "engine", "--pooled"], disk_env)  # fills the disk result cache
        print(f"engine, from the disk result cache ({repeats} fresh processes) ...", flush=True)
        disk = [run_child([CHILD, "engine", "--pooled"], disk_env) for _ in range(repeats)]
    print(f"engine, warm in process (1 untimed pass, then {repeats}) ...", flush=True)
    warm = run_child([CHILD, "engine", "--pooled", "--warmup", "--passes", str(repeats)], cold_env)
    print(f"pandas baseline, cold from the store (up to {baseline_repeats} fresh processes) ...", flush=True)
    base, spent = [], 0.0
    while len(base) < baseline_repeats and (not base or spent < args.baseline_budget):
        started = time.perf_counter()
        base.append(run_child([CHILD, "baseline", "--pooled"], cold_env))
        spent += time.perf_counter() - started

    def series(runs: list[dict], key: str) -> list[float]:
        return [s for run in runs for s in run[key]]

    cold_single, cold_pooled = series(cold, "single_years"), series(cold, "with_pooled")
    base_single, base_pooled = series(base, "single_years"), series(base, "with_pooled")
    cold_median = statistics.median(cold_single)
    cold_cpu, base_cpu = series(cold, "single_years_cpu"), series(base, "single_years_cpu")
    cpu_ratio = statistics.median(base_cpu) / statistics.median(cold_cpu)
    ratio = statistics.median(base_single) / cold_median
    ratio_pooled = statistics.median(base_pooled) / statistics.median(cold_pooled)
    same_rows = cold[0]["rows"] == base[0]["rows"]
    rows_note = f"{cold[0]['rows']:,} rows returned".replace(",", " ")
    if not same_rows:
        rows_note += f"; the baseline returned {base[0]['rows']:,} rows".replace(",", " ")
    rows = [
        result("engine", "whole catalogue × every level, all years: cold from the store", cold_single, "s",
               f"< {TARGET_SECONDS:g} s", cold_median < TARGET_SECONDS, "fresh process, no result cache"),
        result("engine", "… and every pooled period: cold from the store", cold_pooled, "s", note="single years + pooled periods"),
        result("engine", "whole catalogue, cold: CPU time (all threads)", cold_cpu, "s",
               note="on a busy shared machine the wall time also waits for a core; CPU time is the steadier figure"),
        result("engine", "whole catalogue: from the disk result cache", series(disk, "single_years"), "s",
               note="fresh process, STYRING_CACHE_DIR filled by an earlier run"),
        result("engine", "whole catalogue: warm in process", warm["single_years"], "s", note="second and later passes"),
        result("engine", "pandas baseline, whole catalogue: cold from the store", base_single, "s",
               note="bench/pandas_baseline.py: read_sql + groupby/merge; " + rows_note),
        result("engine", "pandas baseline … and every pooled period", base_pooled, "s"),
        result("engine", "pandas baseline, whole catalogue, cold: CPU time", base_cpu, "s"),
        result("engine", "ratio pandas baseline / engine (cold vs cold)", ratio, "×", f"≥ {TARGET_RATIO:g}×",
               ratio >= TARGET_RATIO, "medians, single years"),
        result("engine", "ratio pandas baseline / engine, with pooled periods", ratio_pooled, "×"),
        result("engine", "ratio pandas baseline / engine, CPU time", cpu_ratio, "×", f"≥ {TARGET_RATIO:g}×",
               cpu_ratio >= TARGET_RATIO, "medians, single years; the steadier comparison on a busy machine"),
        result("engine", "peak RSS, engine cold (whole catalogue + pooled)", [r["peak_rss_mb"] for r in cold], "MB",
               note=f"{cold[0]['rss_after_imports_mb']:.0f} MB after the imports"),
        result("engine", "peak RSS, pandas baseline", [r["peak_rss_mb"] for r in base], "MB",
               note=f"{base[0]['rss_after_imports_mb']:.0f} MB after the imports"),
    ]
    print("\nengine (demo store, whole catalogue = every indicator × every level × every year):")
    report(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
