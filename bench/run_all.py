"""Run every benchmark and print one table of medians (``make bench``).

    python bench/run_all.py [--quick] [--only engine,scale]

Each ``bench/bench_*.py`` runs in a fresh process with ``--json`` (and ``--quick`` when
given), printing its own progress and figures as it goes; then one table of every result
row is printed with the machine it ran on, and written as Markdown to
bench/results/latest.md (and the rows as JSON to bench/results/latest.json). The whole run
is meant to fit in ten minutes on a 2-core machine: run_all passes the deadline on
(``BENCH_DEADLINE``), and bench_scale.py, which runs last, skips the scale factors that would
not fit. A benchmark that fails is reported in the table and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from _common import BENCH_DIR, ROOT, fmt, machine, machine_line, result

BUDGET_SECONDS = 600.0
RESERVE_SECONDS = 20.0  # for the table and slack
RESULTS_DIR = BENCH_DIR / "results"
LAST = "bench_scale.py"  # fills whatever time is left, so it runs last


def scripts(only: list[str] | None) -> list[Path]:
    found = sorted(BENCH_DIR.glob("bench_*.py"), key=lambda p: (p.name == LAST, p.name))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only]
    return found


def run(script: Path, quick: bool, folder: Path, env: dict) -> tuple[list[dict], float]:
    out = folder / f"{script.stem}.json"
    command = [sys.executable, str(script), "--json", str(out)] + (["--quick"] if quick else [])
    print(f"\n== {script.name}", flush=True)
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, check=False)
    seconds = time.perf_counter() - started
    name = script.stem.removeprefix("bench_")
    rows = []
    if out.is_file():
        try:
            rows = json.loads(out.read_text(encoding="utf-8"))
        except ValueError as exc:
            rows = [_failure(name, f"unreadable JSON: {exc}")]
    if proc.returncode != 0:
        rows.append(_failure(name, f"exit status {proc.returncode}"))
    elif not rows:
        rows.append(_failure(name, "no result rows written"))
    return rows, seconds


def _failure(name: str, why: str) -> dict:
    return {"benchmark": name, "metric": "FAILED", "median": None, "unit": "", "min": None, "max": None, "n": 0,
            "target": None, "met": False, "note": why}


def _cells(row: dict) -> list[str]:
    unit = row.get("unit") or ""
    median = fmt(row["median"], unit) if row.get("median") is not None else "–"
    spread = f"{fmt(row['min'], unit)}–{fmt(row['max'], unit)}" if row.get("n", 0) > 1 else ""
    met = "" if row.get("met") is None else ("yes" if row["met"] else "NO")
    return [row["benchmark"], row["metric"], f"{median} {unit}".strip(), spread, str(row.get("n") or ""),
            row.get("target") or "", met]


HEADER = ["benchmark", "metric", "median", "min–max", "n", "target", "met"]


def text_table(rows: list[dict]) -> str:
    cells = [HEADER] + [_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c[i].ljust(widths[i]) if i != 2 else c[i].rjust(widths[i]) for i in range(len(HEADER))) for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {r['benchmark']} / {r['metric']}: {r['note']}" for r in rows if r.get("note")]
    return "\n".join(lines) + ("\n\nnotes:\n" + "\n".join(notes) if notes else "")


def markdown_table(rows: list[dict], machine_text: str, when: str, quick: bool) -> str:
    head = "| " + " | ".join(HEADER + ["note"]) + " |\n|" + "|".join(" --- " for _ in range(len(HEADER) + 1)) + "|\n"
    body = "".join("| " + " | ".join(c.replace("|", "\\|") for c in _cells(r) + [r.get("note") or ""]) + " |\n" for r in rows)
    kind = " (`--quick` smoke run: fewer repeats, smaller sizes)" if quick else ""
    return f"Benchmarks run {when}{kind}.\n\nMachine: {machine_text}\n\n{head}{body}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer repeats, smaller sizes")
    parser.add_argument("--only", help="comma-separated benchmark names (e.g. engine,scale)")
    args = parser.parse_args()

    started = time.perf_counter()
    env = dict(os.environ, BENCH_DEADLINE=str(time.time() + BUDGET_SECONDS - RESERVE_SECONDS))
    before = machine()
    selected = scripts(args.only.split(",") if args.only else None)
    rows: list[dict] = []
    wall: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_") as folder:
        for script in selected:
            script_rows, seconds = run(script, args.quick, Path(folder), env)
            rows.extend(script_rows)
            wall.append(result("make bench", f"{script.name} wall time", seconds, "s"))
    total = time.perf_counter() - started
    complete = not args.only and not args.quick
    wall.append(result("make bench", "every benchmark, wall time", total, "s",
                       f"< {BUDGET_SECONDS / 60:.0f} min" if complete else None,
                       total < BUDGET_SECONDS if complete else None,
                       "" if complete else "partial or --quick run: no target"))
    rows.extend(wall)

    info = machine()
    info["load"] = tuple(max(a, b) for a, b in zip(before["load"], info["load"]))
    machine_text = machine_line(info) + " (load average: the higher of the start and the end)"
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    print("\n" + "=" * 100)
    print(f"Benchmarks, {when}{' (--quick)' if args.quick else ''}")
    print(f"Machine: {machine_text}\n")
    print(text_table(rows))
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "latest.md").write_text(markdown_table(rows, machine_text, when, args.quick), encoding="utf-8")
    (RESULTS_DIR / "latest.json").write_text(
        json.dumps({"when": when, "machine": info, "quick": args.quick, "rows": rows}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    print(f"\nwritten: {(RESULTS_DIR / 'latest.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
