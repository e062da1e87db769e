"""Load test: many concurrent browser sessions against one served dashboard (issue 7, "Load").

    python bench/bench_load.py [--quick] [--json PATH] [--users 20] [--waves 3]

Starts one ``streamlit run dashboard.py`` on a free loopback port (demo store, public mode
``STYRING_PUBLIC=1``, the disk result cache filled by ``python -m indicators warm`` as
``make run`` does) and drives it with ``--users`` concurrent Playwright browser contexts in one
headless Chromium, in ``--waves`` waves so that sessions come and go. Each user opens a page,
waits until it is completely drawn, changes filters (indicator, period, level or area), follows
the top navigation to another page and closes its context.

Reported: the median and p95 time from an action to the script run's end as the browser sees
it ("server") and to the completely drawn page ("render"), per kind of action; the errors
(timeouts, exception and error boxes, HTTP errors >= 400, websocket disconnects, page script
errors); and the server's RSS (``/proc/<pid>/status``) idle at start, after one priming visit,
the peak during each wave, after each wave, and after the disconnected sessions have expired
(``--session-ttl``, passed as ``server.disconnectedSessionTTL``; Streamlit's default is 120 s),
with the CPU seconds the server and the browsers used per wave. All browsers share the machine
with the server, so "render" includes the clients' own drawing (deck.gl in software WebGL), and
on 2 cores the browsers use most of the CPU. ``--quick`` (and ``make bench``, which sets
``BENCH_DEADLINE``) is a smoke run with 10 users per wave; the figures for the README come from
the default run. Nothing here passes or fails; it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_common import (
    LOG_DIR,
    NAV_TITLES,
    PAGE_PROBLEMS_JS,
    PAGES,
    RUN_TRACKER,
    BenchError,
    PageSpec,
    ScriptRuns,
    Stop,
    StreamlitServer,
    deadline_left,
    ensure_demo_store,
    finished_runs,
    install_signal_handlers,
    launch_chromium,
    machine,
    percentile,
    print_rows,
    project_env,
    row,
    run_main,
    tree_cpu_seconds,
    value_row,
    wait_complete,
    warm_result_cache,
    write_json,
)

BENCH = "load"
VIEWPORT = {"width": 1280, "height": 800}
# Opened on a page path, Streamlit's frontend first looks for the server under that path
# (/kommuner/_stcore/health, .../host-config) and gets a 404 before it finds the root: not an error.
PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")


@dataclass(frozen=True)
class Scenario:
    """A user: the page and URL they open, the filters they change, the page they go to next."""
    page: str
    url: str
    filters: tuple[tuple[str, str], ...]  # ("select", label) or ("segment", group label)
    then: str


SCENARIOS = [
    Scenario("oversikt", "/?indicator=eldre_oh_innleggelser_80",
             (("select", "Indikator"), ("select", "Periode"), ("segment", "Kartnivå"),
              ("select", "Fremhev et helsefellesskap")),
             "kommuner"),
    Scenario("kommuner", "/kommuner?scope=fylke&area=55",
             (("select", "Indikator"), ("select", "Periode"), ("select", "Fylke"), ("segment", "Farge i kartet")),
             "pakkeforlop"),
    Scenario("oversikt", "/?group=barn_og_unge",
             (("select", "Periode"), ("segment", "Kartnivå"), ("select", "Indikator"), ("segment", "Farge i kartet")),
             "helsefellesskap"),
    Scenario("helsefellesskap", "/helsefellesskap?area=troms-ofoten",
             (("select", "Velg helsefellesskap"), ("select", "Indikator i kartet"), ("select", "Til og med år"),
              ("select", "Indikator i kartet")),
             "oversikt"),
    Scenario("pakkeforlop", "/pakkeforlop",
             (("segment", "Vis etter"), ("select", "Fremhev et helsefellesskap"), ("select", "År"),
              ("segment", "Vis etter")),
             "om_dataene"),
]


@dataclass
class Stats:
    server: dict[str, list[float]] = field(default_factory=lambda: {"open": [], "filter": [], "navigate": []})
    render: dict[str, list[float]] = field(default_factory=lambda: {"open": [], "filter": [], "navigate": []})
    errors: dict[str, int] = field(default_factory=lambda: {
        "timeout": 0, "exception box": 0, "error box": 0, "HTTP >= 400": 0, "websocket disconnect": 0,
        "page script error": 0, "other": 0})
    webgl_warnings: int = 0  # "Too many active WebGL contexts" / "context lost" in the console
    examples: list[str] = field(default_factory=list)
    users_done: int = 0

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.examples) < 12:
            self.examples.append(f"{kind}: {detail[:240]}")


class UserAborted(Exception):
    pass


async def choose_option(page, label: str, rng: random.Random, timeout_ms: float):
    """Open the select box labelled ``label`` and return a locator for a different, random option."""
    box = page.get_by_role("combobox", name=label, exact=True)
    current = (await box.input_value(timeout=timeout_ms)).strip()
    button = page.locator('[data-testid="stSelectbox"]').filter(has=box).locator('button[aria-haspopup="listbox"]')
    for attempt in range(4):
        if await box.get_attribute("aria-expanded", timeout=timeout_ms) == "true":
            break
        # The list closes when the page scrolls, so scroll first and let it settle; then the arrow
        # button opens the list (a click in the text field only focuses it).
        await box.scroll_into_view_if_needed(timeout=timeout_ms)
        await page.wait_for_timeout(300 * (attempt + 1))
        await button.click(timeout=timeout_ms)
        try:
            await page.wait_for_function(
                "(label) => [...document.querySelectorAll('[role=listbox]')]"
                ".some(l => l.getAttribute('aria-label') === label && l.querySelector('[role=option]'))",
                arg=label, timeout=3000 * (attempt + 1), polling=100)
        except Exception:  # noqa: BLE001 - closed again; try once more
            continue
    else:
        raise UserAborted(f"the list of «{label}» did not open")
    listbox_id = await box.get_attribute("aria-controls", timeout=timeout_ms)
    listbox = (page.locator(f'[role="listbox"][id="{listbox_id}"]') if listbox_id
               else page.locator(f'[role="listbox"][aria-label="{label}"]'))
    texts = [t.strip() for t in await listbox.get_by_role("option").all_inner_texts()]
    choices = [t for t in texts if t and t != current]
    if not choices:
        raise UserAborted(f"no other option in «{label}»")
    return listbox.get_by_role("option", name=rng.choice(choices), exact=True)


async def choose_segment(page, label: str, timeout_ms: float):
    """A button of the segmented control labelled ``label`` that is not selected."""
    group = page.get_by_role("radiogroup", name=label, exact=True)
    buttons = group.get_by_role("radio")
    await buttons.first.wait_for(timeout=timeout_ms)
    for i in range(await buttons.count()):
        if await buttons.nth(i).get_attribute("aria-checked") != "true":
            return buttons.nth(i)
    raise UserAborted(f"no unselected button in «{label}»")


async def user(browser, base: str, index: int, scenario: Scenario, n_filters: int, stats: Stats,
               timeout_ms: float, seed: int) -> None:
    rng = random.Random(seed)
    context = await browser.new_context(viewport=VIEWPORT)
    closing = False
    page = None
    try:
        await context.add_init_script(RUN_TRACKER)
        page = await context.new_page()
        runs = ScriptRuns(page)

        def on_response(response):
            if response.status >= 400 and response.url.startswith(base) and not (
                    response.status == 404 and PROBE.search(response.url)):
                stats.error("HTTP >= 400", f"user {index}: {response.status} {response.url}")

        def on_websocket(ws):
            ws.on("close", lambda _ws: None if closing
                  else stats.error("websocket disconnect", f"user {index}: {ws.url}"))

        page.on("response", on_response)
        page.on("websocket", on_websocket)
        page.on("pageerror", lambda e: stats.error("page script error", f"user {index}: {e}"))

        def on_console(message):
            if "WebGL" in message.text and ("context" in message.text.lower()):
                stats.webgl_warnings += 1
                if stats.webgl_warnings <= 3:
                    stats.examples.append(f"console: user {index}: {message.text[:200]}")

        page.on("console", on_console)

        async def check(what: str) -> None:
            found = await page.evaluate(PAGE_PROBLEMS_JS)
            if found["exceptions"]:
                stats.error("exception box", f"user {index} after {what}")
            if found["errors"]:
                stats.error("error box", f"user {index} after {what}")

        # Open the page (a new session: the first script run and the whole drawing).
        spec = PAGES[scenario.page]
        started = time.perf_counter()
        await page.goto(base + scenario.url, timeout=timeout_ms)
        await runs.wait_beyond(0, timeout_ms)
        stats.server["open"].append(time.perf_counter() - started)
        await wait_complete(page, spec, timeout_ms)
        stats.render["open"].append(time.perf_counter() - started)
        await check(f"opening {scenario.url}")

        async def timed_click(target, action: str, spec: PageSpec, what: str) -> None:
            """Click, then time the script run (server) and the complete drawing (render)."""
            before, drawn = runs.finished, await finished_runs(page)
            started = time.perf_counter()
            await target.click(timeout=timeout_ms)
            await runs.wait_beyond(before, timeout_ms)
            stats.server[action].append(time.perf_counter() - started)
            await wait_complete(page, spec, timeout_ms, drawn_runs=drawn)
            stats.render[action].append(time.perf_counter() - started)
            await check(what)

        # Filter changes: each click starts one rerun.
        for kind, label in scenario.filters[:n_filters]:
            target = (await choose_option(page, label, rng, timeout_ms) if kind == "select"
                      else await choose_segment(page, label, timeout_ms))
            await timed_click(target, "filter", spec, f"changing «{label}» on {scenario.page}")

        # Another page through the top navigation (same session).
        link = page.locator('[data-testid="stTopNavLink"]', has_text=re.compile(f"^{NAV_TITLES[scenario.then]}$"))
        await timed_click(link, "navigate", PAGES[scenario.then], f"navigating to {scenario.then}")
        stats.users_done += 1
    except UserAborted as error:
        stats.error("other", f"user {index}: {error}")
        await _screenshot(page, index)
    except Exception as error:  # noqa: BLE001 - every failure is counted, the other users go on
        if Stop.requested:
            raise
        name = type(error).__name__
        kind = "timeout" if "Timeout" in name or isinstance(error, asyncio.TimeoutError) else "other"
        stats.error(kind, f"user {index} ({scenario.page}): {name}: {str(error).splitlines()[0] if str(error) else ''}")
        await _screenshot(page, index)
    finally:
        closing = True
        await context.close()


async def _screenshot(page, index: int) -> None:
    """A screenshot of a failed user's page, for the log (never fails)."""
    if page is None:
        return
    try:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(LOG_DIR / f"load-user-{index}.png"), timeout=10_000)
    except Exception:  # noqa: BLE001
        pass


@dataclass
class Memory:
    idle_start: float | None = None
    after_priming: float | None = None
    wave_peak: list[float] = field(default_factory=list)
    after_wave: list[float] = field(default_factory=list)
    wave_active_peak: list[int] = field(default_factory=list)
    wave_wall: list[float] = field(default_factory=list)
    wave_server_cpu: list[float] = field(default_factory=list)
    wave_client_cpu: list[float] = field(default_factory=list)
    after_expiry: float | None = None
    peak_hwm: float | None = None
    sessions_after: float | None = None


async def sample_memory(server: StreamlitServer, stop: asyncio.Event, out: dict) -> None:
    """Peak RSS and active sessions while a wave runs."""
    while not stop.is_set():
        rss = server.rss_mb()
        if rss is not None:
            out["rss"] = max(out.get("rss", 0.0), rss)
        metrics = await asyncio.to_thread(server.metrics)
        out["active"] = max(out.get("active", 0), int(metrics.get("active_sessions", 0)))
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        except TimeoutError:
            pass


async def run_load(args) -> tuple[Stats, Memory, dict]:
    from playwright.async_api import async_playwright

    Stop.install()
    env = project_env(STYRING_PUBLIC="1", STYRING_WARM_UP=None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    ensure_demo_store(env)
    warm_s = warm_result_cache(env)
    print(f"  disk result cache filled (python -m indicators warm: {warm_s:.1f} s)", flush=True)

    stats, memory = Stats(), Memory()
    info: dict = {"warm_s": warm_s}
    timeout_ms = args.timeout * 1000
    server = StreamlitServer(env, name="load", options={"server.disconnectedSessionTTL": str(args.session_ttl)})
    with server:
        server.wait_healthy(120)
        await asyncio.sleep(1)
        memory.idle_start = server.rss_mb()
        async with async_playwright() as playwright:
            browsers = [await launch_chromium(playwright) for _ in range(max(1, args.browsers))]
            browser = browsers[0]
            try:
                # One priming visit: imports, geometry and the warm-up thread are not growth per session.
                priming = Stats()
                await user(browser, server.base, -1, SCENARIOS[0], 0, priming, timeout_ms, 0)
                if priming.examples:
                    raise BenchError("the priming visit failed: " + "; ".join(priming.examples))
                await asyncio.sleep(2)
                memory.after_priming = server.rss_mb()
                print(f"  server RSS idle {memory.idle_start:.0f} MB, "
                      f"after one priming visit {memory.after_priming:.0f} MB", flush=True)
                load_started = time.perf_counter()
                for wave in range(args.waves):
                    Stop.check()
                    if wave > 0 and args.budget is not None and time.perf_counter() - load_started > args.budget:
                        print(f"  time budget of {args.budget:.0f} s used: stopping after {wave} waves", flush=True)
                        break
                    stop, peak = asyncio.Event(), {}
                    sampler = asyncio.create_task(sample_memory(server, stop, peak))
                    wave_started = time.perf_counter()
                    server_cpu = server.cpu_seconds()
                    client_cpu = tree_cpu_seconds(os.getpid(), exclude={server.pid})
                    tasks = []
                    for u in range(args.users):
                        index = wave * args.users + u
                        scenario = SCENARIOS[index % len(SCENARIOS)]
                        tasks.append(asyncio.create_task(_staggered(
                            u * args.stagger / max(args.users, 1),
                            user(browsers[u % len(browsers)], server.base, index, scenario, args.filters, stats,
                                 timeout_ms, args.seed + index))))
                    await asyncio.gather(*tasks)
                    Stop.check()
                    memory.wave_wall.append(time.perf_counter() - wave_started)
                    memory.wave_server_cpu.append(server.cpu_seconds() - server_cpu)
                    memory.wave_client_cpu.append(tree_cpu_seconds(os.getpid(), exclude={server.pid}) - client_cpu)
                    stop.set()
                    await sampler
                    await asyncio.sleep(1)  # let the server notice the closed websockets
                    memory.after_wave.append(server.rss_mb() or 0.0)
                    memory.wave_peak.append(peak.get("rss", 0.0))
                    memory.wave_active_peak.append(peak.get("active", 0))
                    print(f"  wave {wave + 1}: {args.users} users in {memory.wave_wall[-1]:5.1f} s "
                          f"(CPU: server {memory.wave_server_cpu[-1]:.0f} s, "
                          f"browsers {memory.wave_client_cpu[-1]:.0f} s); "
                          f"peak {peak.get('active', 0)} active sessions; RSS peak {peak.get('rss', 0):.0f} MB, "
                          f"after {memory.after_wave[-1]:.0f} MB; errors so far {sum(stats.errors.values())}",
                          flush=True)
                info["load_s"] = time.perf_counter() - load_started
            finally:
                for b in browsers:
                    await b.close()
        Stop.check()
        # The closed sessions stay in Streamlit's session storage for server.disconnectedSessionTTL.
        await asyncio.sleep(args.session_ttl + 3)
        metrics = await asyncio.to_thread(server.metrics)
        memory.after_expiry = server.rss_mb()
        memory.peak_hwm = server.peak_rss_mb()
        memory.sessions_after = metrics.get("active_sessions")
        info["connects"] = metrics.get('session_events_total{type="connect"}')
        info["disconnects"] = metrics.get('session_events_total{type="disconnect"}')
        print(f"  after {args.session_ttl + 3:.0f} s without sessions: RSS {memory.after_expiry:.0f} MB, "
              f"active sessions {memory.sessions_after}, connects {info['connects']}, "
              f"disconnects {info['disconnects']}",
              flush=True)
    return stats, memory, info


async def _staggered(delay: float, coroutine):
    await asyncio.sleep(delay)
    return await coroutine


def build_rows(args, stats: Stats, memory: Memory, info: dict) -> list[dict]:
    users = args.users * args.waves
    setting = (f"{args.users} concurrent users x {args.waves} waves, {args.filters} filter changes each, "
               f"{args.browsers} Chromium process(es)")
    rows = []
    for kind, what in (("open", "open a page (new session)"), ("filter", "filter change"),
                       ("navigate", "navigate to another page")):
        rows.append(row(BENCH, f"{what}: complete render", stats.render[kind], "s", note=setting))
        rows.append(row(BENCH, f"{what}: complete render, p95", stats.render[kind], "s", statistic="p95"))
        rows.append(row(BENCH, f"{what}: script run finished (websocket)", stats.server[kind], "s",
                        note="from the action to the script_finished message in the browser"))
    every = [x for v in stats.render.values() for x in v]
    rows.append(row(BENCH, "every action: complete render", every, "s", note=setting))
    rows.append(row(BENCH, "every action: complete render, p95", every, "s", statistic="p95"))
    errors = sum(stats.errors.values())
    detail = ", ".join(f"{k} {v}" for k, v in stats.errors.items() if v) or "none"
    rows.append(value_row(BENCH, "errors", errors, "count",
                          note=f"{detail}; {stats.users_done} of {users} users finished; "
                               f"{stats.webgl_warnings} WebGL context warnings in the browsers' consoles"))
    growth = [b - a for a, b in zip([memory.after_priming or 0.0] + memory.after_wave, memory.after_wave)]
    for i, (wall, server_cpu, client_cpu) in enumerate(zip(memory.wave_wall, memory.wave_server_cpu,
                                                           memory.wave_client_cpu), start=1):
        rows.append(value_row(BENCH, f"wave {i}: wall time", wall, "s",
                              note=f"CPU seconds: server {server_cpu:.0f} ({100 * server_cpu / wall:.0f} % of a core), "
                                   f"browsers {client_cpu:.0f}"))
    rows.append(value_row(BENCH, "server RSS idle at start", memory.idle_start, "MB"))
    rows.append(value_row(BENCH, "server RSS after one priming visit", memory.after_priming, "MB"))
    for i, (peak, after, g) in enumerate(zip(memory.wave_peak, memory.after_wave, growth), start=1):
        rows.append(value_row(BENCH, f"server RSS after wave {i}", after, "MB",
                              note=f"growth {g:+.0f} MB over the previous; peak {peak:.0f} MB during the wave with "
                                   f"{memory.wave_active_peak[i - 1]} active sessions"))
    rows.append(value_row(BENCH, "server RSS after the sessions expired", memory.after_expiry, "MB",
                          note=f"server.disconnectedSessionTTL={args.session_ttl:g} s; active sessions "
                               f"{memory.sessions_after}; peak RSS (VmHWM) {memory.peak_hwm:.0f} MB"
                          if memory.peak_hwm is not None else ""))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 2 waves of 10 users with 1 filter change each "
                             "(fewer than the 20 of the issue)")
    parser.add_argument("--json", help="write the result rows to this file")
    parser.add_argument("--users", type=int, default=20, help="concurrent users per wave (default 20, --quick 10)")
    parser.add_argument("--waves", type=int, help="waves of users (default 3, --quick 2)")
    parser.add_argument("--filters", type=int, help="filter changes per user, at most 4 (default 2, --quick 1)")
    parser.add_argument("--stagger", type=float, default=2.0, help="the users of a wave start within this many seconds")
    parser.add_argument("--session-ttl", type=int, default=10,
                        help="server.disconnectedSessionTTL in seconds (Streamlit's default is 120)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds an action may take before it is an error")
    parser.add_argument("--browsers", type=int, default=1, help="Chromium processes the users are spread over")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="the store (default: DATABASE_URL or data/demo.sqlite)")
    args = parser.parse_args()
    left = deadline_left()
    if left is not None and not args.quick and args.waves is None and args.users == 20:
        args.quick = True  # inside `make bench` (run_all.py's BENCH_DEADLINE): a smoke run
        args.timeout = min(args.timeout, 90)
        print(f"  {left:.0f} s left before BENCH_DEADLINE: running as --quick", flush=True)
    args.budget = None if left is None else max(60.0, left / 4)
    if args.quick and args.users == 20:
        args.users = 10
    args.waves = args.waves or (2 if args.quick else 3)
    args.filters = max(0, min(4, args.filters if args.filters is not None else (1 if args.quick else 2)))
    install_signal_handlers()
    started = time.perf_counter()
    print(f"bench_load: {args.users} users x {args.waves} waves, {args.filters} filter changes each; {machine()}",
          flush=True)
    rows: list[dict] = []
    try:
        stats, memory, info = asyncio.run(run_load(args))
        rows = build_rows(args, stats, memory, info)
        print()
        print_rows(rows)
        for kind in ("open", "filter", "navigate"):
            r = stats.render[kind]
            if r:
                print(f"  {kind:<9} render median {statistics.median(r):5.2f} s, "
                      f"p95 {percentile(r, 95):5.2f} s (n={len(r)})")
        if stats.examples:
            print("  errors, e.g.:")
            for e in stats.examples:
                print("   ", e)
    except BenchError as error:
        print(f"  bench_load could not run: {error}", flush=True)
        rows = [value_row(BENCH, "load test", None, "s", note=str(error)[:300])]
    finally:
        write_json(args.json, rows)
    print(f"\n  bench_load took {time.perf_counter() - started:.0f} s; {machine()}", flush=True)
    return 0


if __name__ == "__main__":
    run_main("bench_load", main)
