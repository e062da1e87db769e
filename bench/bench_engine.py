"""Benchmarks for the demo data and the indicator engine (prints medians and ratios).

    python bench/bench_engine.py [--repeats 5]

Measures, on a temporary copy of the demo store:
- generating the synthetic data (in process) and building the store (generate + write);
- computing the whole catalogue for every level cold (fresh process, no result cache),
  from the disk result cache (fresh process), and warm (in-process caches);
- one helsefellesskap profile cold and warm.
Nothing here passes or fails; it reports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ALL_LEVELS = """
import time, indicators
from data_loaders.reference import LEVELS
t = time.perf_counter()
for ind in indicators.load_catalogue().indicators:
    for level in LEVELS:
        indicators.compute(ind.id, level)
print(time.perf_counter() - t)
"""
PROFILE = """
import time, indicators
t = time.perf_counter()
indicators.profile("troms-ofoten", 2025)
print(time.perf_counter() - t)
"""


def _median(samples: list[float]) -> str:
    return f"median {statistics.median(samples):7.3f} s  (min {min(samples):.3f}, max {max(samples):.3f}, n={len(samples)})"


def _in_fresh_process(code: str, env: dict) -> float:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from data_loaders import store
    from data_loaders.demo import build_demo_store, generate

    samples = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        data = generate()
        samples.append(time.perf_counter() - t)
    print(f"generate synthetic data        {_median(samples)}  rows: {data.population.height + data.counts.height:,}")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        samples = []
        for _ in range(max(1, args.repeats // 2)):
            t = time.perf_counter()
            build_demo_store(store.get_engine(url))
            samples.append(time.perf_counter() - t)
        print(f"build demo store (gen + write) {_median(samples)}")

        env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(ROOT))
        cold = [_in_fresh_process(ALL_LEVELS, env | {"STYRING_CACHE_DIR": "off"}) for _ in range(args.repeats)]
        cache_dir = str(Path(tmp) / "cache")
        _in_fresh_process(ALL_LEVELS, env | {"STYRING_CACHE_DIR": cache_dir})  # fill the disk cache
        disk = [_in_fresh_process(ALL_LEVELS, env | {"STYRING_CACHE_DIR": cache_dir}) for _ in range(args.repeats)]
        warm_code = ALL_LEVELS.replace("t = time.perf_counter()", "for ind in indicators.load_catalogue().indicators:\n    indicators.compute(ind.id, 'land')\nt = time.perf_counter()", 1)
        warm = [_in_fresh_process(warm_code, env | {"STYRING_CACHE_DIR": "off"}) for _ in range(args.repeats)]
        print(f"whole catalogue x 6 levels, cold (no cache)      {_median(cold)}")
        print(f"whole catalogue x 6 levels, disk result cache    {_median(disk)}")
        print(f"whole catalogue x 6 levels, warm in-process      {_median(warm)}")
        print(f"ratio cold / disk cache: {statistics.median(cold) / statistics.median(disk):.1f}x; "
              f"cold / warm: {statistics.median(cold) / statistics.median(warm):.1f}x")
        prof_cold = [_in_fresh_process(PROFILE, env | {"STYRING_CACHE_DIR": "off"}) for _ in range(args.repeats)]
        prof_disk = [_in_fresh_process(PROFILE, env | {"STYRING_CACHE_DIR": cache_dir}) for _ in range(args.repeats)]
        print(f"helsefellesskap profile, cold                    {_median(prof_cold)}")
        print(f"helsefellesskap profile, disk result cache       {_median(prof_disk)}")
        print(f"ratio: {statistics.median(prof_cold) / statistics.median(prof_disk):.1f}x")


if __name__ == "__main__":
    main()
