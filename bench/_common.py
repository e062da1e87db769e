"""Shared helpers for the benchmarks: result rows, JSON, child processes, cached stores, the machine.

A result row follows the benchmark contract (see bench/README.md):
``{"benchmark", "metric", "median", "unit", "min", "max", "n", "target", "met", "note"}``.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
STORE_DIR = ROOT / "data" / "bench"  # cached benchmark stores (data/ is not committed)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The inputs of the synthetic data: a change to any of them rebuilds the cached stores.
GENERATOR_INPUTS = (
    "data_loaders/demo/*.py", "data_loaders/demo/*.yaml", "data_loaders/schema.py", "data_loaders/reference.py",
    "assets/reference/*.csv",
)


CATALOGUE_CHILD = "bench/_catalogue_child.py"  # computes the whole catalogue in a fresh process


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer repeats, smaller sizes")
    parser.add_argument("--json", metavar="PATH", help="also write the result rows as JSON to PATH")
    return parser


def result(benchmark: str, metric: str, samples, unit: str, target: str | None = None, met: bool | None = None,
           note: str = "") -> dict:
    """One result row; ``samples`` is a number or a list of repeated measurements."""
    values = [float(s) for s in (samples if isinstance(samples, (list, tuple)) else [samples])]
    return {
        "benchmark": benchmark, "metric": metric, "median": statistics.median(values), "unit": unit,
        "min": min(values), "max": max(values), "n": len(values), "target": target, "met": met, "note": note,
    }


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if unit in ("rows/s", "rows", "MB") or abs(value) >= 1000:
        return f"{value:,.0f}".replace(",", " ")
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.2g}"


def describe(row: dict) -> str:
    spread = f" ({fmt(row['min'], row['unit'])}–{fmt(row['max'], row['unit'])}, n={row['n']})" if row["n"] > 1 else ""
    target = f"  target {row['target']}: {'met' if row['met'] else 'NOT met'}" if row.get("target") and row.get("met") is not None else ""
    note = f"  [{row['note']}]" if row.get("note") else ""
    return f"{row['metric']:<58} {fmt(row['median'], row['unit']):>10} {row['unit']:<6}{spread}{target}{note}"


def report(rows: list[dict], json_path: str | None) -> None:
    """Print the rows and, when asked, write them as JSON."""
    for row in rows:
        print("  " + describe(row), flush=True)
    if json_path:
        Path(json_path).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


def run_child(args: list[str], env: dict | None = None, timeout: float | None = None) -> dict:
    """Run a Python child (fresh process) that prints one JSON object on its last line of stdout."""
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env or os.environ.copy(), capture_output=True, text=True, timeout=timeout, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_env(database_url: str, cache_dir: str = "off", **extra: str) -> dict:
    env = dict(os.environ, DATABASE_URL=database_url, STYRING_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT))
    env.pop("STYRING_CONFIG", None)
    env.update(extra)
    return env


def fingerprint(patterns: tuple[str, ...], *extra: object) -> str:
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(ROOT.glob(pattern)):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    digest.update(repr(extra).encode())
    return digest.hexdigest()[:12]


@contextmanager
def store_lock():
    """One builder of cached stores at a time (two benchmarks may want the same store)."""
    STORE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STORE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def cached_store(name: str, key: str, build) -> tuple[Path, float | None]:
    """``data/bench/<name>-<key>.sqlite``, built by ``build(path)`` if missing; returns (path, build seconds or None).

    Older versions of the same store (other keys, and their side files) are removed; a store
    is written under a temporary name and renamed when complete, so an interrupted build is
    never reused.
    """
    path = STORE_DIR / f"{name}-{key}.sqlite"
    with store_lock():
        if path.is_file():
            return path, None
        for old in STORE_DIR.glob(f"{name}-*"):
            old.unlink()
        partial = path.with_suffix(".sqlite.partial")
        started = time.perf_counter()
        build(partial)
        partial.rename(path)
        return path, time.perf_counter() - started


def demo_store() -> tuple[Path, float | None]:
    """The demo store exactly as ``python -m data_loaders demo`` builds it (cached under data/bench/)."""

    def build(path: Path) -> None:
        from data_loaders import store
        from data_loaders.demo import build_demo_store

        url = f"sqlite:///{path}"
        build_demo_store(store.get_engine(url))
        store.dispose_engines()

    return cached_store("demo", fingerprint(GENERATOR_INPUTS), build)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def machine() -> dict:
    """CPU model, cores, RAM, load average and versions, for the report."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = int(line.split()[1]) / 1024**2
    except OSError:
        pass
    versions = {}
    for module in ("polars", "pandas", "numpy", "sqlalchemy"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            versions[module] = "–"
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gb": ram_gb, "load": os.getloadavg(),
        "python": platform.python_version(), "os": f"{platform.system()} {platform.release()}", **versions,
    }


def machine_line(info: dict | None = None) -> str:
    info = info or machine()
    load = ", ".join(f"{x:.1f}" for x in info["load"])
    ram = f"{info['ram_gb']:.0f} GB RAM" if info["ram_gb"] else "RAM unknown"
    return (f"{info['cpu']}, {info['cores']} cores, {ram}; load average {load}; Python {info['python']}, "
            f"Polars {info['polars']}, pandas {info['pandas']}, NumPy {info['numpy']}, SQLAlchemy {info['sqlalchemy']}; "
            f"{info['os']}")
