"""Benchmark: the suppression audit (LP protection intervals) on the demo store, and what it hides.

    python bench/bench_suppression.py [--quick] [--json PATH]

A fresh process per run computes the whole catalogue cold (no result cache): the single-year
stage, then the pooled stage, with and without the audit's worker processes. It then counts, per
level, the published cells, the hidden ones and the primary ones (true count 1 to threshold − 1),
from the engine's internal tables. Nothing passes or fails on time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, arguments, report, result

CHILD = r"""
import json, sys, time
def main():
    from indicators import engine, data
    import polars as pl
    key = data.current_key()
    started = time.perf_counter()
    single = engine._tables(key, engine.SINGLE_YEARS)
    middle = time.perf_counter()
    pooled = engine._tables(key, engine.POOLED)
    done = time.perf_counter()
    parts = [t.select("level", "suppression", "year_start", "year_end")
             for stage in (single, pooled) for t in stage.internal.values()]
    table = pl.concat(parts).with_columns((pl.col("year_start") < pl.col("year_end")).alias("pooled"))
    counts = table.group_by("level").agg(
        pl.len().alias("cells"), pl.col("suppression").is_not_null().sum().alias("hidden"),
        (pl.col("suppression") == "small_count").sum().alias("primary")).sort("level").to_dicts()
    json.dump({"single": middle - started, "pooled": done - middle, "levels": counts}, open(sys.argv[1], "w"))
if __name__ == "__main__":
    main()
"""


def _run(workers: str, out: Path) -> dict:
    env = {**os.environ, "STYRING_CACHE_DIR": "off", "STYRING_SUPPRESSION_WORKERS": workers,
           "PYTHONPATH": str(ROOT)}
    script = out.with_suffix(".py")
    script.write_text(CHILD, encoding="utf-8")
    subprocess.run([sys.executable, str(script), str(out)], cwd=ROOT, env=env, check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def main() -> int:
    args = arguments(__doc__.split("\n\n")[0]).parse_args()
    runs = 1 if args.quick else 2
    subprocess.run([sys.executable, "-m", "data_loaders", "demo", "--if-missing"], cwd=ROOT, check=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_suppression_") as folder:
        for workers in ("1", str(max(1, min(4, os.cpu_count() or 1)))):
            samples = [_run(workers, Path(folder) / f"run_{workers}_{i}.json") for i in range(runs)]
            label = "one process" if workers == "1" else f"{workers} worker processes"
            results.append(result("suppression", f"whole catalogue cold, single years ({label})",
                                  [s["single"] for s in samples], "s"))
            results.append(result("suppression", f"… pooled windows audited with their years ({label})",
                                  [s["pooled"] for s in samples], "s"))
        levels = samples[-1]["levels"]
    for row in levels:
        share = row["hidden"] / row["cells"] if row["cells"] else 0.0
        results.append(result("suppression", f"hidden cells, {row['level']}", [row["hidden"]], "cells",
                              note=f"of {row['cells']} ({share:.1%}); {row['primary']} primary, "
                                   f"{row['hidden'] - row['primary']} secondary"))
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
