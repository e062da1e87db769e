"""Shared helpers for the page, cold-start and load benchmarks.

- result rows in the JSON contract of ``bench/run_all.py`` (median, min, max, n, target, met);
- the served dashboard: ``StreamlitServer`` starts ``streamlit run dashboard.py`` on a free
  loopback port in its own process group and always stops it (also on Ctrl-C, SIGTERM or an
  exception); its RSS comes from ``/proc/<pid>/status``;
- headless Chromium through Playwright's async API, and the JavaScript that tells when a page
  is completely drawn: the script has finished (``data-test-script-state``), nothing is stale,
  every Plotly chart has data and an SVG, the deck.gl canvas exists and the expected text is there.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from _common import machine_line

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CHROMIUM = Path(os.environ.get("STYRING_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 # many pages at once: none of them is throttled as a background tab, and more than
                 # Chromium's default 16 WebGL contexts (one per deck.gl map) stay alive
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows", "--max-active-webgl-contexts=256"]
VIEWPORT = {"width": 1400, "height": 1000}
LOG_DIR = ROOT / "test-artifacts" / "bench"


class BenchError(RuntimeError):
    """A benchmark could not run (no store, the server did not start, ...)."""


# --- numbers and result rows ------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def row(benchmark: str, metric: str, samples: list[float], unit: str, *, target: str | None = None,
        limit: float | None = None, statistic: str = "median", note: str = "") -> dict:
    """One result row. ``statistic`` is "median" or "p95": the value put in the ``median`` column
    (a p95 row says so in its metric and note). ``met`` is value < ``limit`` when a limit is given."""
    if not samples:
        return {"benchmark": benchmark, "metric": metric, "median": None, "unit": unit, "min": None, "max": None,
                "n": 0, "target": target, "met": None, "note": (note + "; " if note else "") + "no samples"}
    value = statistics.median(samples) if statistic == "median" else percentile(samples, 95)
    return {
        "benchmark": benchmark, "metric": metric, "median": round(value, 4), "unit": unit,
        "min": round(min(samples), 4), "max": round(max(samples), 4), "n": len(samples),
        "p95": round(percentile(samples, 95), 4),
        "target": target, "met": (value < limit) if limit is not None else None,
        "note": (f"p95 in the median column; {note}" if statistic == "p95" else note).strip("; "),
    }


def value_row(benchmark: str, metric: str, value: float | None, unit: str, *, note: str = "",
              target: str | None = None, met: bool | None = None) -> dict:
    """A row for a single measured value (n = 1)."""
    v = None if value is None else round(value, 4)
    return {"benchmark": benchmark, "metric": metric, "median": v, "unit": unit, "min": v, "max": v,
            "n": 0 if value is None else 1, "target": target, "met": met, "note": note}


def write_json(path: str | None, rows: list[dict]) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_rows(rows: list[dict]) -> None:
    width = max((len(r["metric"]) for r in rows), default=20)
    for r in rows:
        if r["median"] is None:
            print(f"  {r['metric']:<{width}}  -  {r['note']}")
            continue
        target = f"  target {r['target']}: {'met' if r['met'] else 'NOT met'}" if r.get("target") else ""
        spread = f"  (min {r['min']:g}, max {r['max']:g}, n={r['n']})" if r["n"] > 1 else ""
        print(f"  {r['metric']:<{width}}  {r['median']:>9.4g} {r['unit']}{spread}{target}")


def machine() -> str:
    """CPU model, cores, RAM, load average and versions, for the notes (one line)."""
    return machine_line()


def load_average() -> float:
    return os.getloadavg()[0]


def deadline_left() -> float | None:
    """Seconds left before ``BENCH_DEADLINE`` (an epoch time set by run_all.py), or None."""
    try:
        return float(os.environ["BENCH_DEADLINE"]) - time.time()
    except (KeyError, ValueError):
        return None


# --- store and result cache -------------------------------------------------------------------


def project_env(**extra: str | None) -> dict[str, str]:
    """The environment for a child process in the project root (``None`` removes a variable)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _run(args: list[str], env: dict[str, str], what: str, timeout: float) -> float:
    started = time.perf_counter()
    try:
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"{what} took more than {timeout:.0f} s") from error
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise BenchError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return time.perf_counter() - started


def ensure_demo_store(env: dict[str, str]) -> None:
    """Build the demo store if it is missing (``make run`` does the same)."""
    _run([PYTHON, "-m", "data_loaders", "demo", "--if-missing"], env, "building the demo store", 900)


def warm_result_cache(env: dict[str, str]) -> float:
    """``python -m indicators warm`` (as ``make run``): fills the engine's disk result cache."""
    return _run([PYTHON, "-m", "indicators", "warm"], env, "python -m indicators warm", 1800)


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` in MB (None when it is gone)."""
    return _status_kb(pid, "VmRSS")


def peak_rss_mb(pid: int) -> float | None:
    return _status_kb(pid, "VmHWM")


def _status_kb(pid: int, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int, *, reaped_children: bool = True) -> float:
    """User + system CPU seconds of ``pid`` (and of its children it has already reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICKS


def descendants(pid: int) -> list[int]:
    """The live descendants of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(children.get(child, []))
    return out


def tree_cpu_seconds(root: int, exclude: set[int] = frozenset()) -> float:
    """CPU seconds of the live descendants of ``root`` (each with the children it reaped)."""
    return sum(cpu_seconds(pid) for pid in descendants(root) if pid not in exclude)


_LIVE: set[StreamlitServer] = set()


def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP end a synchronous benchmark like Ctrl-C, so ``finally`` blocks stop servers."""
    def handler(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread
            pass


class Stop:
    """Ctrl-C, SIGTERM and SIGHUP in an asyncio benchmark: cancel the main task and remember it, so a
    loop whose awaits swallowed the cancellation (Playwright can) still stops at its next check."""

    requested = False

    @classmethod
    def install(cls) -> None:
        loop, task = asyncio.get_running_loop(), asyncio.current_task()

        def stop() -> None:
            cls.requested = True
            task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop)

    @classmethod
    def check(cls) -> None:
        if cls.requested:
            raise KeyboardInterrupt("stopped")


atexit.register(_stop_all)


@dataclass
class ServerTimes:
    launched: float  # time.perf_counter() at Popen
    healthy: float | None = None


class StreamlitServer:
    """``streamlit run dashboard.py`` on a free loopback port, in its own process group."""

    def __init__(self, env: dict[str, str], *, options: dict[str, str] | None = None, name: str = "server"):
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.options = {"server.headless": "true", "server.address": "127.0.0.1", "server.port": str(self.port),
                        "browser.gatherUsageStats": "false", "server.runOnSave": "false",
                        "server.fileWatcherType": "none", **(options or {})}
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}.log"  # the last run's server log
        self.process: subprocess.Popen | None = None
        self.times: ServerTimes | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> StreamlitServer:
        args = [PYTHON, "-m", "streamlit", "run", "dashboard.py"]
        for name, value in self.options.items():
            args += [f"--{name}", value]
        self._log = open(self.log_path, "w")
        started = time.perf_counter()
        self.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.times = ServerTimes(launched=started)
        _LIVE.add(self)
        return self

    def wait_healthy(self, timeout: float = 90, interval: float = 0.05) -> float:
        """Poll ``/_stcore/health``; returns seconds since launch."""
        assert self.process is not None and self.times is not None
        deadline = time.perf_counter() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        self.times.healthy = time.perf_counter()
                        return self.times.healthy - self.times.launched
            except OSError:
                pass
            if Stop.requested:
                raise BenchError("stopped")
            if self.process.poll() is not None:
                raise BenchError(f"the Streamlit server exited with {self.process.returncode}: {self.log_tail()}")
            if time.perf_counter() > deadline:
                raise BenchError(f"the Streamlit server was not healthy after {timeout:.0f} s: {self.log_tail()}")
            time.sleep(interval)

    def metrics(self) -> dict[str, float]:
        """Streamlit's ``/_stcore/metrics`` (active_sessions, session_events_total{type=...})."""
        out: dict[str, float] = {}
        try:
            with urllib.request.urlopen(f"{self.base}/_stcore/metrics", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return out
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    pass
        return out

    def rss_mb(self) -> float | None:
        return rss_mb(self.pid)

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        process = self.process
        _LIVE.discard(self)
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)  # our own process group (start_new_session)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
        self.process = None
        if getattr(self, "_log", None) is not None:
            self._log.close()

    def __enter__(self) -> StreamlitServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the browser -----------------------------------------------------------------------------------


# Counts finished script runs in the page (the stApp element's data-test-script-state attribute),
# so a benchmark can wait for the rerun its click started.
RUN_TRACKER = """
window.__styringRuns = {finished: 0, started: 0};
window.__styringLastMutation = 0;
new MutationObserver(() => { window.__styringLastMutation = performance.now(); })
  .observe(document, {childList: true, subtree: true, attributes: true, characterData: true});
new MutationObserver((mutations) => {
  for (const m of mutations) {
    const state = m.target.getAttribute('data-test-script-state');
    if (state === 'running') window.__styringRuns.started++;
    if (state === 'notRunning') window.__styringRuns.finished++;
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
"""


@dataclass(frozen=True)
class PageSpec:
    """What a completely drawn page has."""
    path: str
    plots: int  # at least this many Plotly charts, each with data and an SVG
    deck_map: bool  # a deck.gl canvas
    text: str | None  # this text in the page


PAGES: dict[str, PageSpec] = {
    "oversikt": PageSpec("/", 2, True, "Hovedfunn"),
    "helsefellesskap": PageSpec("/helsefellesskap", 1, True, "Kommunene i"),
    "kommuner": PageSpec("/kommuner", 1, True, "Kommunene i tabell"),
    "pakkeforlop": PageSpec("/pakkeforlop", 1, False, "Hva kommunene har avklart"),
    "om_dataene": PageSpec("/om_dataene", 0, False, "Kartverket"),
}
NAV_TITLES = {"oversikt": "Oversikt", "helsefellesskap": "Helsefellesskap", "kommuner": "Kommuner",
              "pakkeforlop": "Pakkeforløp hjem", "om_dataene": "Om dataene"}


def complete_js(spec: PageSpec) -> str:
    """A JavaScript predicate: the page is completely drawn and Streamlit is idle."""
    text = json.dumps(spec.text) if spec.text else "null"
    return f"""() => {{
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (document.querySelector('[data-testid="stException"]')) return true;  // drawn, with an error
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  if (plots.length < {spec.plots}) return false;
  if (plots.some(p => !p.data || !p.data.length || !p.querySelector('.main-svg'))) return false;
  // A map, unless the page says why there is none (e.g. no data for the chosen year).
  if ({'true' if spec.deck_map else 'false'} && !document.querySelector('[data-testid="stDeckGlJsonChart"] canvas')
      && !document.querySelector('[data-testid="stAlertContentInfo"], [data-testid="stAlertContentWarning"]'))
    return false;
  const text = {text};
  if (text && !document.body.textContent.includes(text)) return false;
  return true;
}}"""


PAGE_PROBLEMS_JS = """() => ({
  exceptions: document.querySelectorAll('[data-testid="stException"]').length,
  errors: document.querySelectorAll('[data-testid="stAlertContentError"]').length,
  connection: (document.querySelector('[data-testid="stApp"]')
               || {getAttribute: () => null}).getAttribute('data-test-connection-state'),
})"""


async def launch_chromium(playwright):
    if not CHROMIUM.exists():
        raise BenchError(f"Chromium is not installed at {CHROMIUM}")
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


class ScriptRuns:
    """Counts the script runs that a page's websocket reports as finished (``ForwardMsg.script_finished``,
    not the runs cut short by a rerun). Unlike the page's script-state attribute, this sees every
    run even when a slow browser draws two state changes in one frame."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._message = ForwardMsg
        self._early = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
        self.finished = 0
        self.first_finished_at: float | None = None  # time.perf_counter()
        self._changed = asyncio.Event()
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if not isinstance(payload, (bytes, bytearray)) or len(payload) > 1024:  # deltas are skipped unparsed
            return
        message = self._message()
        try:
            message.ParseFromString(bytes(payload))
        except Exception:  # noqa: BLE001 - not a ForwardMsg
            return
        if message.WhichOneof("type") == "script_finished" and message.script_finished != self._early:
            self.finished += 1
            if self.first_finished_at is None:
                self.first_finished_at = time.perf_counter()
            self._changed.set()

    async def wait_beyond(self, before: int, timeout_ms: float) -> None:
        """Wait until more than ``before`` runs have finished."""
        deadline = time.perf_counter() + timeout_ms / 1000
        while self.finished <= before:
            self._changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no script run finished within {timeout_ms / 1000:.0f} s")
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=left)
            except TimeoutError:
                continue


async def finished_runs(page) -> int:
    return int(await page.evaluate("() => window.__styringRuns ? window.__styringRuns.finished : 0"))


async def wait_complete(page, spec: PageSpec, timeout_ms: float, *, drawn_runs: int | None = None) -> None:
    """Wait until the page is completely drawn. With ``drawn_runs`` (the page's count of finished runs
    before the action), also until the page has drawn a newer run: its script-state attribute went
    through another run, or, when a slow browser drew the start and the end of a run in one frame,
    the page has not changed for 750 ms."""
    if drawn_runs is None:
        await page.wait_for_function(complete_js(spec), timeout=timeout_ms, polling=100)
        return
    newer = (f"(window.__styringRuns.finished > {drawn_runs}"
             " || performance.now() - window.__styringLastMutation > 750)")
    await page.wait_for_function(f"() => ({complete_js(spec)})() && {newer}", timeout=timeout_ms, polling=100)


def run_main(name: str, main) -> None:
    """Run a benchmark's ``main`` as a script: its exit code, or 130 with a note when interrupted."""
    try:
        sys.exit(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"\n  {name} interrupted", flush=True)
        sys.exit(130)
