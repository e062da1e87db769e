"""Server time of a page rerun after a filter change, on each of the five pages (issue 8, item 3).

    python bench/bench_pages.py [--quick] [--json PATH] [--profile-top 15]

Drives the real ``dashboard.py`` with Streamlit's ``AppTest`` on the demo store. Per page it
first warms up (the engine computes every indicator once in process, as the server's warm-up
thread does, and the page runs once), then applies a fixed list of filter changes (indicator,
group, period, level, area, scope, colour, target, year, ...) in a fresh session, timing
``at.run()`` after each change. That pass meets every value for the first time (``st.cache_data``
misses); a second fresh session repeats the same changes (``st.cache_data`` hits). Both are
reported, with the time the script thread itself ran (without AppTest's parsing of the output).

Targets (issue 8): median < 150 ms and p95 < 300 ms per page and overall.

Afterwards ``st.cache_data`` is cleared and the first pass runs again under cProfile (in the
script thread; ``--quick``: the two slowest pages only); the top functions by cumulative time per
rerun are printed and written to ``--hotspots`` (default test-artifacts/bench/page_hotspots.md).
Under ``make bench`` (``BENCH_DEADLINE`` set) it runs as ``--quick``.
Nothing here passes or fails; it reports.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from browser_common import ROOT, BenchError, deadline_left, machine, print_rows, row, run_main, value_row, write_json

sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("STYRING_WARM_UP", "0")
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # the benchmark warms the engine itself, before timing

BENCH = "pages"
TARGET_MEDIAN_MS, TARGET_P95_MS = 150.0, 300.0
DASHBOARD = ROOT / "dashboard.py"
DEFAULT_HOTSPOTS = ROOT / "test-artifacts" / "bench" / "page_hotspots.md"

# A step: (kind, widget key, value). "index" selects the option at that position of a select box
# (negative counts from the end: the pooled periods come last); "value" sets a segmented control,
# toggle or number input; "url" reopens the page's state from a URL parameter (Om dataene has no
# filter widget, only ?indicator=).
STEPS: dict[str, list[tuple[str, str, object]]] = {
    "oversikt": [
        ("index", "ov_indicator", 1), ("index", "ov_period", 1), ("value", "ov_level", "kommune"),
        ("index", "ov_indicator", 2), ("value", "ov_colour", "significance"), ("index", "ov_area", 2),
        ("index", "ov_period", -1), ("value", "ov_level", "helsefellesskap"), ("index", "ov_group", 0),
        ("index", "ov_indicator", 1), ("index", "ov_area", 7), ("index", "ov_period", 2),
    ],
    "helsefellesskap": [
        ("index", "hf_area", 1), ("index", "hf_indicator", 3), ("index", "hf_year", 1),
        ("index", "hf_area", 5), ("value", "large_text", True), ("index", "hf_indicator", 12),
        ("index", "hf_area", 9), ("value", "large_text", False), ("index", "hf_year", 0),
        ("index", "hf_indicator", 18),
    ],
    "kommuner": [
        ("value", "ko_scope", "fylke"), ("index", "ko_area_fylke", 3), ("index", "ko_indicator", 2),
        ("value", "ko_scope", "helsefellesskap"), ("index", "ko_area", 4), ("index", "ko_period", -1),
        ("value", "ko_colour", "significance"), ("value", "ko_scope", "land"), ("index", "ko_group", 1),
        ("index", "ko_indicator", 1), ("index", "ko_period", 1),
    ],
    "pakkeforlop": [
        ("value", "pf_level", "helseforetak"), ("index", "pf_area", 3), ("value", "pf_target", 70.0),
        ("index", "pf_year", 1), ("value", "pf_level", "helsefellesskap"), ("index", "pf_area", 8),
        ("value", "pf_target", 90.0), ("index", "pf_year", 2), ("index", "pf_area", 0),
    ],
    "om_dataene": [
        ("url", "om_indicator", "barn_bup_kontakt"), ("url", "om_indicator", "kreft_sp1_behovskartlegging"),
        ("url", "om_indicator", "eldre_reinnleggelse_30d_67"), ("url", "om_indicator", None),
        ("url", "om_indicator", "psyk_tvangsinnleggelser_18"),
    ],
}
QUICK_STEPS = 4


# --- the script thread: timing and (optionally) profiling ----------------------------------------

@dataclass
class ScriptClock:
    """Wall time of each AppTest script thread, and an optional profiler enabled inside it."""
    last: float = 0.0
    profiler: cProfile.Profile | None = None


CLOCK = ScriptClock()


def _instrument_script_thread() -> None:
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    original = LocalScriptRunner._run_script_thread
    if getattr(original, "_bench_wrapped", False):
        return

    def run_script_thread(self):
        profiler = CLOCK.profiler
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            return original(self)
        finally:
            if profiler is not None:
                profiler.disable()
            CLOCK.last = time.perf_counter() - started

    run_script_thread._bench_wrapped = True
    LocalScriptRunner._run_script_thread = run_script_thread


# --- driving the pages ---------------------------------------------------------------------------


@dataclass
class PageResult:
    first: list[float] = field(default_factory=list)  # at.run() after a change, ms, first time
    repeat: list[float] = field(default_factory=list)  # the same change again (st.cache_data hits)
    script_first: list[float] = field(default_factory=list)
    script_repeat: list[float] = field(default_factory=list)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def all(self) -> list[float]:
        return self.first + self.repeat


def quiet_streamlit() -> None:
    """Only errors from Streamlit's loggers (AppTest resets them to the configured level)."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)


def open_page(page: str, timeout: float):
    from streamlit.testing.v1 import AppTest

    quiet_streamlit()
    at = AppTest.from_file(str(DASHBOARD), default_timeout=timeout)
    if page != "oversikt":
        at.switch_page(f"app_pages/{page}.py")
    return at.run()


def describe(step: tuple[str, str, object]) -> str:
    kind, key, value = step
    return f"{key}={'[' + str(value) + ']' if kind == 'index' else value}"


def option_values() -> list[object]:
    """Every raw value a select box of the dashboard can hold: indicator and group ids,
    helsefellesskap ids, fylke numbers, years, periods and None. AppTest's ``select_index``
    sets the displayed label, not the value, so ``apply`` finds the value whose label matches."""
    import indicators
    from data_loaders import reference

    cat = indicators.load_catalogue()
    years = list(range(1990, 2041))
    return ([None] + [i.id for i in cat.indicators] + [g.id for g in cat.groups]
            + reference.load_helsefellesskap()["helsefellesskap_id"].to_list()
            + reference.load_fylker()["fylkesnummer"].to_list()
            + years + [(y, y) for y in years] + [(y, y + n) for y in years for n in (1, 2, 3, 4)])


_VALUES: list[object] = []


def select_index(box, index: int) -> None:
    if not _VALUES:
        _VALUES.extend(option_values())
    label = box.options[index]
    fmt = box.format_func
    for value in _VALUES:
        try:
            if str(fmt(value)) == label:
                box.set_value(value)
                return
        except Exception:  # a format function that does not take this kind of value
            continue
    raise KeyError(f"no value found for the option {label!r}")


def apply(at, step: tuple[str, str, object]) -> None:
    kind, key, value = step
    if kind == "index":
        box = at.selectbox(key=key)
        index = value if value >= 0 else len(box.options) + value
        select_index(box, max(0, min(index, len(box.options) - 1)))
    elif kind == "value":
        widget = _widget(at, key)
        widget.set_value(value)
    elif kind == "url":
        if key in at.session_state:
            del at.session_state[key]
        if value is None:
            at.query_params.pop("indicator", None)
        else:
            at.query_params["indicator"] = value
    else:
        raise ValueError(kind)


def _widget(at, key: str):
    for kind in ("segmented_control", "toggle", "number_input", "radio", "checkbox"):
        for widget in at.get(kind):
            if widget.key == key:
                return widget
    raise KeyError(f"no widget with key {key!r}")


def problems(at) -> list[str]:
    return [f"exception: {e.value}" for e in at.exception] + [f"error box: {e.value}" for e in at.error]


def run_steps(page: str, steps, timeout: float, *, sink_ms: list[float] | None, sink_script: list[float] | None,
              result: PageResult | None) -> None:
    at = open_page(page, timeout)
    if result is not None:
        result.errors += [f"{page} (opening): {p}" for p in problems(at)]
    for step in steps:
        try:
            apply(at, step)
        except (KeyError, IndexError, ValueError) as error:
            if result is not None:
                result.errors.append(f"{page} {describe(step)}: cannot apply ({error})")
            continue
        started = time.perf_counter()
        at.run()
        elapsed = (time.perf_counter() - started) * 1000
        if sink_ms is not None:
            sink_ms.append(elapsed)
            sink_script.append(CLOCK.last * 1000)
        if result is not None:
            result.slowest.append((elapsed, describe(step)))
            result.errors += [f"{page} {describe(step)}: {p}" for p in problems(at)]


def warm_engine() -> float:
    """Every indicator computed once in this process (what the server's warm-up thread does)."""
    import indicators

    started = time.perf_counter()
    key = indicators.current_key()
    for ind in indicators.load_catalogue().indicators:
        indicators.compute(ind.id, "land", key=key)
    return time.perf_counter() - started


def measure(pages: list[str], n_steps: int | None, timeout: float) -> dict[str, PageResult]:
    results: dict[str, PageResult] = {}
    for page in pages:
        steps = STEPS[page][:n_steps] if n_steps else STEPS[page]
        result = PageResult()
        warm = open_page(page, timeout)  # imports, geometry, the default view's cache entries
        result.errors += [f"{page} (warm-up): {p}" for p in problems(warm)]
        run_steps(page, steps, timeout, sink_ms=result.first, sink_script=result.script_first, result=result)
        run_steps(page, steps, timeout, sink_ms=result.repeat, sink_script=result.script_repeat, result=None)
        results[page] = result
        print(f"  {page:<16} first {_fmt(result.first)}   repeat {_fmt(result.repeat)}", flush=True)
    return results


def _fmt(samples: list[float]) -> str:
    if not samples:
        return "-"
    from browser_common import percentile
    return f"median {statistics.median(samples):6.0f} ms, p95 {percentile(samples, 95):6.0f} ms (n={len(samples)})"


# --- profiling ----------------------------------------------------------------------------------


def profile_pages(pages: list[str], n_steps: int | None, timeout: float) -> dict[str, tuple[pstats.Stats, int, int]]:
    """cProfile in the script thread over the first-time pass of each page, after clearing
    st.cache_data (the engine stays warm)."""
    import streamlit as st

    out = {}
    for page in pages:
        steps = STEPS[page][:n_steps] if n_steps else STEPS[page]
        quiet_streamlit()
        st.cache_data.clear()
        open_page(page, timeout)  # the default view again, not profiled
        profiler = cProfile.Profile()
        CLOCK.profiler = profiler
        try:
            run_steps(page, steps, timeout, sink_ms=None, sink_script=None, result=None)
        finally:
            CLOCK.profiler = None
        reruns = len(steps) + 1  # the pass also opens the page once
        out[page] = (pstats.Stats(profiler, stream=io.StringIO()), reruns, len(steps))
        print(f"  profiled {page}", flush=True)
    return out


def cold_first_run(pages: list[str], timeout: float) -> dict[str, tuple[float, pstats.Stats]]:
    """In this (fresh) process: the first run of each page, profiled, imports included."""
    out = {}
    for page in pages:
        profiler = cProfile.Profile()
        CLOCK.profiler = profiler
        started = time.perf_counter()
        try:
            open_page(page, timeout)
        finally:
            CLOCK.profiler = None
        out[page] = (time.perf_counter() - started, pstats.Stats(profiler, stream=io.StringIO()))
    return out


def cold_profile_in_child(timeout: float) -> tuple[float, str] | None:
    """Run the first Oversikt in a fresh process under cProfile (what a cold server's first
    session pays: imports, geometry, first figures); returns (seconds, pstats dump path)."""
    import subprocess
    import tempfile

    dump = Path(tempfile.mkdtemp(prefix="bench-pages-")) / "cold.pstats"
    env = dict(os.environ, STYRING_WARM_UP="0")
    try:
        done = subprocess.run([sys.executable, __file__, "--cold-child", str(dump)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0 or not dump.is_file():
        print(f"  cold first-run profile failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        return None
    return float(done.stdout.strip().splitlines()[-1]), str(dump)


SKIP_FUNCTIONS = {"<module>", "exec", "<built-in method builtins.exec>", "run", "_run_script_thread",
                  "run_script_thread", "_run_script", "exec_func_with_error_handling", "code_to_exec",
                  "_run_page", "run_page"}


_STDLIB = Path(os.__file__).resolve().parent


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        text = "/".join(parts[parts.index("site-packages") + 1:])
    else:
        try:
            text = str(path.resolve().relative_to(ROOT))
        except (ValueError, OSError):
            try:
                text = str(path.resolve().relative_to(_STDLIB))
            except (ValueError, OSError):
                text = filename
    return f"{text}:{line} {name}" if line else name


def _is_project(filename: str) -> bool:
    try:
        rel = Path(filename).resolve().relative_to(ROOT)
    except (ValueError, OSError):
        return False
    return rel.parts[0] in ("app_pages", "ui", "indicators", "data_loaders", "dashboard.py")


Hotspots = tuple[list[tuple[str, float, float, int]], list[tuple[str, float, int]], list[tuple[str, float, int]]]
# Generic frames that wrap everything below them (Streamlit's element and cache wrappers, the page runner).
WRAPPERS = {"wrapped_func", "run", "__call__", "_run_script", "exec_func_with_error_handling", "code_to_exec",
            "_run_script_thread", "run_script_thread", "<module>", "exec", "_get_or_create_cached_value",
            "_handle_cache_miss", "_run_page", "run_page", "_find_and_load", "_find_and_load_unlocked",
            "_load_unlocked", "exec_module", "_call_with_frames_removed", "_handle_fromlist", "_gcd_import",
            "import_module", "<built-in method builtins.__import__>"}


def hotspots(stats: pstats.Stats, reruns: int, top: int, *, modules: bool = False) -> Hotspots:
    """(project functions by cumulative ms per rerun; library functions by cumulative ms per rerun,
    without the generic wrappers; any function by own ms per rerun)."""
    project, library, own = [], [], []
    for func, (_cc, ncalls, tottime, cumtime, callers) in stats.stats.items():
        filename, _line, name = func
        if _is_project(filename):
            wanted = name not in SKIP_FUNCTIONS or (modules and name == "<module>")
            if wanted and not filename.endswith("dashboard.py"):
                project.append((_label(func), cumtime * 1000 / reruns, tottime * 1000 / reruns, ncalls))
        elif ((name not in WRAPPERS or (modules and name == "<module>")) and "built-in method builtins.exec" not in name
              and "scriptrunner" not in filename and "importlib" not in filename):
            library.append((_label(func), cumtime * 1000 / reruns, ncalls))
        own.append((_label(func), tottime * 1000 / reruns, ncalls))
    project.sort(key=lambda r: -r[1])
    library.sort(key=lambda r: -r[1])
    own.sort(key=lambda r: -r[1])
    return project[:top], library[:top], own[:top]


def cold_section(cold: tuple[float, str] | None, top: int) -> list[str]:
    if cold is None:
        return []
    seconds, dump = cold
    stats = pstats.Stats(dump, stream=io.StringIO())
    project, library, _own = hotspots(stats, 1, top, modules=True)
    lines = [f"## First Oversikt run in a fresh process (the cold start's first session): {seconds * 1000:.0f} ms "
             "under cProfile", "",
             "AppTest, engine disk cache as it is, warm-up thread off; the run includes the imports the "
             "dashboard triggers on its first session. cProfile slows imports and Python-heavy code "
             "(often 1.5-3x); compare the entries with each other.", "",
             "| function | cumulative ms |", "| --- | ---: |"]
    lines += [f"| `{name}` | {cum:.0f} |" for name, cum, _tot, _calls in project]
    lines += ["", "| library function | cumulative ms |", "| --- | ---: |"]
    lines += [f"| `{name}` | {cum:.0f} |" for name, cum, _calls in library]
    return lines + [""]


def hotspot_report(profiles, results: dict[str, PageResult], top: int, quick: bool,
                   cold: tuple[float, str] | None = None) -> str:
    lines = [
        "# Page rerun hotspots (bench/bench_pages.py)",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M')} by `python bench/bench_pages.py{' --quick' if quick else ''}` "
        f"on {machine()}.",
        "",
        "cProfile in AppTest's script thread, after `st.cache_data.clear()` with the engine warm in process "
        "(every indicator computed once, as the server's warm-up thread does). Each page: a fresh session "
        "opens it and applies the filter changes of `STEPS` in bench_pages.py, each value for the first "
        "time (st.cache_data misses). Times are milliseconds per rerun (the opening run included); "
        "cProfile inflates Python-heavy code (the pure-Python JSON encoder most of all), so compare the "
        "functions with each other, not with the timed runs.",
        "",
    ]
    for page, (stats, reruns, n_steps) in profiles.items():
        result = results.get(page)
        timed = ""
        if result and result.all:
            timed = (f" Timed without profiler: first-time median {statistics.median(result.first):.0f} ms, "
                     f"repeat median {statistics.median(result.repeat):.0f} ms.")
        lines += [f"## {page} ({reruns} reruns profiled, {n_steps} filter changes per pass)", "", timed.strip(), ""]
        if result and result.slowest:
            worst = sorted(result.slowest, reverse=True)[:3]
            lines += ["Slowest first-time changes: " + "; ".join(f"`{what}` {ms:.0f} ms" for ms, what in worst), ""]
        project, entry, own = hotspots(stats, reruns, top)
        lines += ["Project functions by cumulative time:", "",
                  "| function | cumulative ms/rerun | own ms/rerun | calls |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| `{name}` | {cum:.1f} | {tot:.1f} | {calls} |" for name, cum, tot, calls in project]
        lines += ["", "Library functions by cumulative time (Streamlit's generic wrappers left out; nested calls "
                  "appear under their callers):", "",
                  "| library function | cumulative ms/rerun | calls |", "| --- | ---: | ---: |"]
        lines += [f"| `{name}` | {cum:.1f} | {calls} |" for name, cum, calls in entry]
        lines += ["", "Any function by own time (where the time is actually spent):", "",
                  "| function | own ms/rerun | calls |", "| --- | ---: | ---: |"]
        lines += [f"| `{name}` | {tot:.1f} | {calls} |" for name, tot, calls in own]
        lines.append("")
    lines += cold_section(cold, top)
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def build_rows(results: dict[str, PageResult]) -> list[dict]:
    rows = []
    every, every_first, every_repeat = [], [], []
    for page, r in results.items():
        note = (f"first-time median {statistics.median(r.first):.0f} ms, "
                f"repeat median {statistics.median(r.repeat):.0f} ms; "
                f"script thread alone: median {statistics.median(r.script_first + r.script_repeat):.0f} ms"
                if r.all else "")
        if r.errors:
            note += f"; {len(r.errors)} errors"
        rows.append(row(BENCH, f"{page}: rerun after a filter change", r.all, "ms",
                        target=f"< {TARGET_MEDIAN_MS:.0f} ms", limit=TARGET_MEDIAN_MS, note=note))
        rows.append(row(BENCH, f"{page}: rerun after a filter change, p95", r.all, "ms",
                        target=f"< {TARGET_P95_MS:.0f} ms", limit=TARGET_P95_MS, statistic="p95"))
        every += r.all
        every_first += r.first
        every_repeat += r.repeat
    rows.append(row(BENCH, "all pages: rerun after a filter change", every, "ms",
                    target=f"< {TARGET_MEDIAN_MS:.0f} ms", limit=TARGET_MEDIAN_MS))
    rows.append(row(BENCH, "all pages: rerun after a filter change, p95", every, "ms",
                    target=f"< {TARGET_P95_MS:.0f} ms", limit=TARGET_P95_MS, statistic="p95"))
    rows.append(row(BENCH, "all pages: first time for a value (st.cache_data miss)", every_first, "ms"))
    rows.append(row(BENCH, "all pages: repeated value (st.cache_data hit)", every_repeat, "ms"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"the first {QUICK_STEPS} changes per page, profile fewer")
    parser.add_argument("--json", help="write the result rows to this file")
    parser.add_argument("--pages", nargs="+", choices=list(STEPS), default=list(STEPS))
    parser.add_argument("--profile-top", type=int, default=15, help="functions per table in the hotspot report")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--hotspots", default=str(DEFAULT_HOTSPOTS),
                        help="write the hotspot report (Markdown) here; empty: print only")
    parser.add_argument("--timeout", type=float, default=600, help="AppTest timeout per run, s")
    parser.add_argument("--cold-child", help=argparse.SUPPRESS)  # internal: profile a first run, dump here
    args = parser.parse_args()
    if args.cold_child:
        _instrument_script_thread()
        import streamlit.logger

        streamlit.logger.set_log_level("error")
        seconds, stats = cold_first_run(["oversikt"], args.timeout)["oversikt"]
        stats.dump_stats(args.cold_child)
        print(seconds)
        return 0
    left = deadline_left()
    if left is not None and not args.quick and left < 20 * 60:
        args.quick = True  # inside `make bench` (run_all.py's BENCH_DEADLINE): keep to a smoke run
        print(f"  {left:.0f} s left before BENCH_DEADLINE: running as --quick", flush=True)

    import streamlit.logger

    streamlit.logger.set_log_level("error")  # no "missing ScriptRunContext" lines from bare-mode calls
    _instrument_script_thread()
    n_steps = QUICK_STEPS if args.quick else None
    started = time.perf_counter()
    print(f"bench_pages: AppTest on {DASHBOARD.name}; {machine()}", flush=True)
    rows: list[dict] = []
    try:
        try:
            warm_s = warm_engine()
        except Exception as error:  # no store, or the engine is broken: report, do not crash run_all
            raise BenchError(f"the engine could not compute the catalogue: {type(error).__name__}: {error}") from error
        print(f"  engine warmed in process in {warm_s:.1f} s (every indicator once)", flush=True)
        results = measure(args.pages, n_steps, args.timeout)
        rows = build_rows(results)
        print()
        print_rows(rows)
        errors = [e for r in results.values() for e in r.errors]
        if errors:
            print(f"\n  {len(errors)} errors during the reruns, e.g.:")
            for e in errors[:5]:
                print("   ", e[:300])
        left = deadline_left()
        if left is not None and left < 120:
            print(f"  {left:.0f} s left before BENCH_DEADLINE: no profile", flush=True)
        elif not args.no_profile:
            # The slowest pages first; --quick profiles only the slowest two.
            order = sorted(results, key=lambda p: -statistics.median(results[p].all) if results[p].all else 0)
            profiles = profile_pages(order[:2] if args.quick else order, n_steps, args.timeout)
            cold = None if args.quick else cold_profile_in_child(args.timeout)
            report = hotspot_report(profiles, results, args.profile_top, args.quick, cold)
            if args.hotspots:
                Path(args.hotspots).parent.mkdir(parents=True, exist_ok=True)
                Path(args.hotspots).write_text(report + "\n", encoding="utf-8")
                print(f"\n  hotspots written to {args.hotspots}")
            print()
            _print_hotspot_summary(profiles, min(args.profile_top, 8))
    except BenchError as error:
        print(f"  bench_pages could not run: {error}", flush=True)
        rows = [value_row(BENCH, "rerun after a filter change", None, "ms", target=f"< {TARGET_MEDIAN_MS:.0f} ms",
                          note=str(error)[:300])]
    finally:
        write_json(args.json, rows)
    print(f"\n  bench_pages took {time.perf_counter() - started:.0f} s", flush=True)
    return 0


def _print_hotspot_summary(profiles, top: int) -> None:
    for page, (stats, reruns, _n) in profiles.items():
        project, entry, _own = hotspots(stats, reruns, top)
        print(f"  hotspots {page} (cumulative ms per rerun, under cProfile):")
        for name, cum, _tot, _calls in project:
            print(f"    {cum:8.1f}  {name}")
        print("    library functions:")
        for name, cum, _calls in entry[:5]:
            print(f"    {cum:8.1f}  {name}")


if __name__ == "__main__":
    run_main("bench_pages", main)
