"""Cold start: from ``streamlit run dashboard.py`` to the first fully drawn Oversikt in headless
Chromium (issue 8, item 4; target < 5 s with the demo store built).

    python bench/bench_cold_start.py [--quick] [--json PATH] [--runs 5]

Each run starts a fresh server on a free loopback port (demo store, ``STYRING_WARM_UP`` as in
``make run``, i.e. on), polls ``/_stcore/health``, opens ``/`` in a new browser context (empty
HTTP cache) and waits until the Plotly charts have data, the deck.gl map has its canvas, the
ranking text ("Hovedfunn") is there and Streamlit is idle. Chromium is started once, before the
first run, and is not timed. Two cases:

- ``filled``: the engine's disk result cache filled by ``python -m indicators warm`` first, as
  ``make run`` does (the cache dir is ``STYRING_CACHE_DIR`` or data/cache, or ``--cache-dir``);
- ``empty``: ``STYRING_CACHE_DIR`` pointing at a fresh empty temporary folder for each run.

The cases take turns (filled, empty, filled, ...). Under ``make bench`` (``BENCH_DEADLINE`` set)
it runs as ``--quick`` and starts no new round after its share of the time left.

The time is broken down from the launch: server healthy, first byte of the page, app shell
drawn, ranking text shown, first script run finished, Plotly charts drawn, map canvas drawn,
page completely drawn (all of them, and Streamlit idle). Nothing here passes or fails; it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_common import (
    PAGE_PROBLEMS_JS,
    PAGES,
    RUN_TRACKER,
    VIEWPORT,
    BenchError,
    ScriptRuns,
    Stop,
    StreamlitServer,
    deadline_left,
    ensure_demo_store,
    install_signal_handlers,
    launch_chromium,
    machine,
    print_rows,
    project_env,
    row,
    run_main,
    value_row,
    wait_complete,
    warm_result_cache,
    write_json,
)

BENCH = "cold_start"
TARGET_S = 5.0
PHASES = [("healthy", "server healthy (/_stcore/health)"), ("first_byte", "first byte of the page"),
          ("shell", "app shell drawn"), ("text", "ranking text shown"), ("script", "first script run finished"),
          ("charts", "every Plotly chart drawn"), ("map", "map canvas drawn"),
          ("rendered", "Oversikt completely drawn")]
# When the ranking text, the Plotly charts and the deck.gl canvas first appear (ms since navigation).
MILESTONES = """
window.__styringSeen = {};
new MutationObserver(() => {
  const seen = window.__styringSeen, now = performance.now();
  if (!seen.text && document.body && document.body.textContent.includes('Hovedfunn')) seen.text = now;
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  if (!seen.charts && plots.length >= 2
      && plots.every(p => p.data && p.data.length && p.querySelector('.main-svg'))) seen.charts = now;
  if (!seen.map && document.querySelector('[data-testid="stDeckGlJsonChart"] canvas')) seen.map = now;
}).observe(document, {childList: true, subtree: true});
"""


async def one_run(browser, env: dict[str, str], timeout_s: float) -> dict[str, float]:
    """Launch a server, open Oversikt, return the phase times in seconds from the launch."""
    server = StreamlitServer(env, name="cold-start").start()
    context = None
    try:
        launched = server.times.launched
        healthy = await asyncio.to_thread(server.wait_healthy, timeout_s)
        context = await browser.new_context(viewport=VIEWPORT)
        await context.add_init_script(RUN_TRACKER)
        await context.add_init_script(MILESTONES)
        page = await context.new_page()
        runs = ScriptRuns(page)
        navigation = time.perf_counter()
        await page.goto(server.base + "/", wait_until="commit", timeout=timeout_s * 1000)
        response_start = await page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStart : 0; }")
        await page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_s * 1000)
        shell = time.perf_counter()
        await runs.wait_beyond(0, timeout_s * 1000)
        script = runs.first_finished_at
        await wait_complete(page, PAGES["oversikt"], timeout_s * 1000)
        rendered = time.perf_counter()
        found = await page.evaluate(PAGE_PROBLEMS_JS)
        if found["exceptions"] or found["errors"]:
            raise BenchError(f"the page shows {found['exceptions']} exception(s) and {found['errors']} error box(es); "
                             f"server log: {server.log_tail(5)}")
        seen = await page.evaluate("() => window.__styringSeen")
        since_launch = {k: navigation + v / 1000 - launched for k, v in seen.items()}
        return {"healthy": healthy, "first_byte": navigation + response_start / 1000 - launched,
                "shell": shell - launched, "text": since_launch.get("text", math.nan), "script": script - launched,
                "charts": since_launch.get("charts", math.nan), "map": since_launch.get("map", math.nan),
                "rendered": rendered - launched}
    finally:
        if context is not None:
            await context.close()
        server.stop()


async def run_cases(browser, cases: list[str], runs: int, env: dict[str, str], timeout_s: float,
                    budget_s: float | None) -> dict[str, tuple[list[dict], list[str]]]:
    """``runs`` runs per case, the cases taking turns; with a budget, no new round starts after it
    (every case still gets one run)."""
    out: dict[str, tuple[list[dict], list[str]]] = {case: ([], []) for case in cases}
    started = time.perf_counter()
    for i in range(runs):
        Stop.check()
        if i > 0 and budget_s is not None and time.perf_counter() - started > budget_s:
            print(f"  time budget of {budget_s:.0f} s used: {i} runs per case", flush=True)
            break
        for case in cases:
            Stop.check()
            samples, errors = out[case]
            tmp = tempfile.mkdtemp(prefix="styring-cold-cache-") if case == "empty" else None
            run_env = dict(env, STYRING_CACHE_DIR=tmp) if tmp else env
            try:
                times = await one_run(browser, run_env, timeout_s)
                samples.append(times)
                print(f"  {case:<6} run {i + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in times.items()) + " s",
                      flush=True)
            except Exception as error:  # a failed run is reported, the others go on
                Stop.check()
                errors.append(f"{case} run {i + 1}: {type(error).__name__}: {str(error)[:300]}")
                print(f"  {case:<6} run {i + 1}: FAILED {errors[-1]}", flush=True)
            finally:
                if tmp:
                    shutil.rmtree(tmp, ignore_errors=True)
    return out


def case_rows(case: str, samples: list[dict], errors: list[str], prepare_note: str) -> list[dict]:
    label = {"filled": "result cache filled (as after make run)", "empty": "result cache empty"}[case]
    totals = [s["rendered"] for s in samples]
    note = "; ".join(filter(None, [
        ", ".join(f"{name} {statistics.median(v):.2f} s" for key, name in PHASES[:-1]
                  if (v := [s[key] for s in samples if not math.isnan(s[key])]))
        if samples else "", prepare_note, f"{len(errors)} failed runs" if errors else ""]))
    rows = [row(BENCH, f"{label}: launch to rendered Oversikt", totals, "s",
                target=f"< {TARGET_S:g} s" if case == "filled" else None,
                limit=TARGET_S if case == "filled" else None, note=note)]
    for key, name in PHASES[:-1]:
        values = [s[key] for s in samples if not math.isnan(s[key])]
        rows.append(row(BENCH, f"{label}: {name}", values, "s", note="seconds from the launch"))
    return rows


async def main_async(args) -> list[dict]:
    from playwright.async_api import async_playwright

    Stop.install()
    env = project_env(STYRING_WARM_UP=None)  # as `make run`: the warm-up thread is on
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.cache_dir:
        env["STYRING_CACHE_DIR"] = args.cache_dir
    ensure_demo_store(env)
    cases = [c for c in ("filled", "empty") if c in args.cases]
    prepare_note = ""
    if "filled" in cases:
        warm_s = warm_result_cache(env)
        prepare_note = f"python -m indicators warm took {warm_s:.1f} s before the runs"
        print(f"  disk result cache filled ({prepare_note})", flush=True)
    rows: list[dict] = []
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            results = await run_cases(browser, cases, args.runs, env, args.timeout, args.budget)
            for case, (samples, errors) in results.items():
                rows += case_rows(case, samples, errors, prepare_note if case == "filled" else "")
                for e in errors:
                    print("   ", e)
        finally:
            await browser.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 runs per case instead of 5")
    parser.add_argument("--json", help="write the result rows to this file")
    parser.add_argument("--runs", type=int, help="runs per case (default 5, --quick 2)")
    parser.add_argument("--cases", nargs="+", choices=["filled", "empty"], default=["filled", "empty"])
    parser.add_argument("--cache-dir", help="the disk result cache for the filled case (default: the engine's)")
    parser.add_argument("--database-url", help="the store (default: DATABASE_URL or data/demo.sqlite)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per phase before a run fails")
    args = parser.parse_args()
    left = deadline_left()
    if left is not None and args.runs is None and not args.quick and left < 20 * 60:
        args.quick = True  # inside `make bench` (run_all.py's BENCH_DEADLINE): keep to a smoke run
        print(f"  {left:.0f} s left before BENCH_DEADLINE: running as --quick", flush=True)
    args.runs = args.runs or (2 if args.quick else 5)
    args.budget = None if left is None else max(30.0, min(120.0, left / 6))
    install_signal_handlers()
    started = time.perf_counter()
    print(f"bench_cold_start: {args.runs} runs per case; {machine()}", flush=True)
    rows: list[dict] = []
    try:
        rows = asyncio.run(main_async(args))
        print()
        print_rows(rows)
    except BenchError as error:
        print(f"  bench_cold_start could not run: {error}", flush=True)
        rows = [value_row(BENCH, "launch to rendered Oversikt", None, "s", target=f"< {TARGET_S:g} s",
                          note=str(error)[:300])]
    finally:
        write_json(args.json, rows)
    print(f"\n  bench_cold_start took {time.perf_counter() - started:.0f} s; {machine()}", flush=True)
    return 0


if __name__ == "__main__":
    run_main("bench_cold_start", main)
