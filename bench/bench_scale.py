"""Benchmark: the whole catalogue cold at 1×, 3×, 10× (and with --full 100×) the demo's rows.

    python bench/bench_scale.py [--quick] [--full] [--factors 1,10] [--budget SECONDS] [--json PATH]

The 1× store is the demo store. The larger ones (bench/scale_data.py) have more years back
in time, the four largest cities split into synthetic bydeler, and synthetic copies of the
register measures with their indicators (in a catalogue copy); the store's 21 age bands are
fixed by the schema, so the scale comes from years, districts and measures, not finer bands.
Stores are cached under data/bench/ keyed by a fingerprint of the generator, so only the
first run builds them.

At each scale a fresh process computes every indicator × every level × every year with no
result cache; the figures are its time and peak RSS, and the growth exponents
log(t_k / t_1) / log(rows_k / rows_1) (1 = linear).

The default run fits ``make bench``'s ten minutes: a factor is skipped (and says so) when its
predicted build + run time exceeds the budget (``--budget``, or what run_all.py has left).
``--full`` runs 1×, 10× and 100× without a time budget (the 100× store is about 85 million
rows, ~10 GB; building it takes a quarter of an hour). Any factor whose predicted peak memory
exceeds 90 % of the memory available is skipped, saying so (in --full, 30× is tried instead
of 100×).
"""

from __future__ import annotations

import math
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
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
from scale_data import SCALES, is_cached, scaled_catalogue, scaled_store

DEFAULT_BUDGET = 240.0  # seconds for this script when run alone
BUILD_ROWS_PER_SECOND = 100_000  # for predicting a first build, unless this run has measured one
DEMO_ROWS = 854_653
QUICK_RUN = 15.0  # seconds: a factor whose run is quicker than this gets --runs runs, others one


def read_through(path: Path) -> None:
    """Read the store file once, untimed, so every factor starts with it in the OS page cache
    (as on a server that has been running) and the figure measures the engine, not the disk."""
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def store_rows(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("population", "event_count", "measure_coverage"))


def budget_seconds(args) -> float | None:
    if args.full:
        return None
    if args.budget is not None:
        return args.budget
    deadline = os.environ.get("BENCH_DEADLINE")  # set by run_all.py: the end of make bench's budget
    if deadline:
        return max(0.0, float(deadline) - time.time())
    return DEFAULT_BUDGET


def exponent(small: float, large: float, rows_small: int, rows_large: int) -> float:
    return math.log(large / small) / math.log(rows_large / rows_small)


def available_memory_mb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def indicator_count(catalogue: Path | None) -> int:
    if catalogue is None:
        from indicators import load_catalogue

        return len(load_catalogue().indicators)
    return len(yaml.safe_load(catalogue.read_text(encoding="utf-8"))["indicators"])


def choose(ladder: list[int], measured: list[dict], budget: float | None, elapsed: float, args, skipped: list[str],
           build_rate: float) -> int | None:
    """The first factor of ``ladder`` whose predicted build + run time fits what is left of the budget."""
    for factor in ladder:
        if not measured or factor == 1:
            return factor
        previous = measured[-1]
        expected_rows = DEMO_ROWS * factor
        predicted_mb = previous["rss"] + previous["data_rss"] * (expected_rows / previous["rows"] - 1)
        available_mb = available_memory_mb()
        if available_mb is not None and predicted_mb > 0.9 * available_mb:
            skipped.append(f"{factor}× (predicted peak memory {predicted_mb / 1024:.0f} GB, {available_mb / 1024:.0f} GB available)")
            print(f"skipping {factor}×: predicted peak memory {predicted_mb / 1024:.1f} GB > 90 % of the "
                  f"{available_mb / 1024:.1f} GB available", flush=True)
            continue
        if budget is None:
            return factor
        predicted_run = previous["seconds"] * expected_rows / previous["rows"]
        predicted_run *= args.runs if predicted_run < QUICK_RUN and not args.quick else 1
        cached = is_cached(factor)
        predicted = predicted_run + (0 if cached else expected_rows / build_rate)
        left = budget - elapsed
        if predicted <= left:
            return factor
        skipped.append(f"{factor}× (predicted {predicted:.0f} s{'' if cached else ' with the first build'}, {max(left, 0):.0f} s left)")
        print(f"skipping {factor}×: predicted {predicted:.0f} s, {max(left, 0):.0f} s of the budget left", flush=True)
    return None


def main() -> int:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="1×, 10× and 100×, no time budget")
    parser.add_argument("--factors", help="comma-separated factors among " + ", ".join(map(str, SCALES)))
    parser.add_argument("--budget", type=float, help="seconds this script may take (default: what make bench has left, else 240)")
    parser.add_argument("--runs", type=int, default=3, help="runs per factor when a run is quick (default 3)")
    args = parser.parse_args()
    if args.factors:
        factors = [[int(f)] for f in args.factors.split(",")]
    elif args.full:
        factors = [[1], [10], [100, 30]]
    else:
        # The largest factor that fits the budget: 10×, else 3×.
        factors = [[1], [3]] if args.quick else [[1], [10, 3]]
    budget = budget_seconds(args)
    started = time.perf_counter()

    measured: list[dict] = []  # factor, rows, seconds, rss
    skipped: list[str] = []
    build_rate = BUILD_ROWS_PER_SECOND  # rows/s for predicting a first build; a build in this run replaces it
    rows_out: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as folder:
        for ladder in factors:
            factor = choose(ladder, measured, budget, time.perf_counter() - started, args, skipped, build_rate)
            if factor is None:
                continue
            scale = SCALES[factor]
            if factor == 1:
                path, built = demo_store()
                info = {"rows": store_rows(path), "years": 7, "areas": 357, "measures": 23}
                catalogue = None
            else:
                print(f"{factor}×: preparing the store ...", flush=True)
                path, info, built = scaled_store(factor)
                catalogue = scaled_catalogue(scale, Path(folder)) if scale.copies else None
            if built is not None:
                if factor != 1:  # the demo store is built by build_demo_store, a slower writer
                    build_rate = info["rows"] / built
                rows_out.append(result("scale", f"{factor}×: build the store (first run only)", built, "s",
                                       note=f"{info['rows'] / built:,.0f} rows/s".replace(",", " ")))
            child = [CHILD, "engine"] + (["--catalogue", str(catalogue)] if catalogue else [])
            env = child_env(sqlite_url(path), "off")
            read_through(path)
            try:
                first = run_child(child, env)
            except RuntimeError as exc:  # e.g. killed for lack of memory: report it, keep the rest
                reason = str(exc).splitlines()[0]
                skipped.append(f"{factor}× failed: {reason}")
                print(f"{factor}×: the run failed: {exc}", flush=True)
                continue
            runs = [first]
            quick_enough = first["single_years"][0] < QUICK_RUN and not args.quick
            for _ in range(args.runs - 1 if quick_enough else 0):
                runs.append(run_child(child, env))
            seconds = [r["single_years"][0] for r in runs]
            rss = [r["peak_rss_mb"] for r in runs]
            data_rss = [r["peak_rss_mb"] - r["rss_after_imports_mb"] for r in runs]
            shape = (f"{info['rows']:,} rows: {info['years']} years × {info['areas']} areas × {info['measures']} measures; "
                     f"{indicator_count(catalogue)} indicators; {runs[0]['rows']:,} table rows out").replace(",", " ")
            print(f"{factor}×: {statistics.median(seconds):.2f} s, peak RSS {statistics.median(rss):.0f} MB ({shape})", flush=True)
            cpu = statistics.median(r["single_years_cpu"][0] for r in runs)
            rows_out.append(result("scale", f"{factor}×: whole catalogue, cold", seconds, "s",
                                   note=f"{shape}; CPU time {cpu:.1f} s (all threads)"))
            rows_out.append(result("scale", f"{factor}×: peak RSS", rss, "MB",
                                   note=f"{statistics.median(data_rss):.0f} MB above the interpreter after its imports"))
            measured.append({"factor": factor, "rows": info["rows"], "seconds": statistics.median(seconds), "cpu": cpu,
                             "rss": statistics.median(rss), "data_rss": statistics.median(data_rss)})

    scope = ("scale from years, city districts and measures (the 21 age bands are fixed by the schema)"
             + (f"; skipped: {'; '.join(skipped)}" if skipped else "")
             + ("" if args.full else "; 100× runs with --full"))
    if len(measured) >= 2:
        small, large = measured[0], measured[-1]
        pair = f"{small['factor']}×→{large['factor']}× ({large['rows'] / small['rows']:.1f}× the rows)"
        time_exp = exponent(small["seconds"], large["seconds"], small["rows"], large["rows"])
        rss_exp = exponent(small["data_rss"], large["data_rss"], small["rows"], large["rows"])
        # 5 % slack for timing noise on a shared machine
        rows_out.append(result("scale", f"growth exponent of time, {pair}", time_exp, "", "≤ 1 (linear)", time_exp <= 1.05, scope))
        cpu_exp = exponent(small["cpu"], large["cpu"], small["rows"], large["rows"])
        rows_out.append(result("scale", f"growth exponent of CPU time, {pair}", cpu_exp, "", "≤ 1 (linear)", cpu_exp <= 1.05,
                               "CPU seconds of the pass, all threads: steadier than wall time on a shared machine"))
        rows_out.append(result("scale", f"growth exponent of peak memory above the imports, {pair}", rss_exp, "",
                               "≤ 1 (linear)", rss_exp <= 1.05))
    elif rows_out:
        rows_out[-1]["note"] += f"; no growth exponent: fewer than two scales measured; {scope}"
    print("\nscale (whole catalogue cold, fresh process per run):")
    report(rows_out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
