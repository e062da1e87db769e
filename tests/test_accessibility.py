"""Accessibility (WCAG 2.1 AA) of the served dashboard: axe-core on every page and keyboard use.

axe-core comes from the npm registry, pinned in package.json/package-lock.json and installed
by ``npm ci`` (``make test`` does it; so does the ``axe_script`` fixture when npm is there).
Each page state is opened in headless Chromium, drawn completely (Plotly charts, the deck.gl
map), and checked against the WCAG 2.0/2.1 A and AA rules. The full results (every impact)
are written to ``test-artifacts/axe-<state>.json``.

A serious or critical violation fails the test unless it is in ``STREAMLIT_ALLOWED``: markup
that Streamlit's own frontend draws and the project cannot change, each entry with the rule,
a CSS selector that the offending element lies within, and the reason. Anything new fails.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest
from browser_helpers import (
    ARTIFACTS, browser, grow_to_full_height, needs_chromium, open_page, server, wait_for_render, wait_until_idle,
    warm_engine,
)
from ui_helpers import PROJECT_ROOT

from ui.layout import STREAMLIT_PREFIXES_NB, STREAMLIT_TEXTS_NB

__all__ = ["browser", "server", "warm_engine"]

pytestmark = [pytest.mark.browser, needs_chromium]

AXE_SCRIPT = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")


@dataclass(frozen=True)
class Allowed:
    """A violation that Streamlit's frontend causes: ``rule`` on elements within ``within``."""

    rule: str
    within: str
    reason: str


# Streamlit's own markup, which no page code can change (see docs/accessibility.md).
STREAMLIT_ALLOWED: tuple[Allowed, ...] = ()


@dataclass(frozen=True)
class PageState:
    name: str
    path: str
    charts: bool
    has_map: bool
    expected: str
    expand: tuple[str, ...] = ()  # expander labels to open before the check (substring match)


STATES = [
    PageState("oversikt", "/?indicator=eldre_oh_innleggelser_80&area=troms-ofoten", True, True, "Hovedfunn"),
    PageState("oversikt-kommune", "/?indicator=psyk_tvangsinnleggelser_18&period=2023-2025&level=kommune"
              "&colour=significance", True, True, "Hovedfunn"),
    PageState("oversikt-tabeller", "/?indicator=eldre_reinnleggelse_30d_67", True, True, "Hovedfunn",
              expand=("Tallene i tabell", "Kartet som tabell")),
    PageState("helsefellesskap", "/helsefellesskap?area=troms-ofoten", True, True, "Spredning blant de 19"),
    PageState("helsefellesskap-stor-tekst", "/helsefellesskap?area=finnmark&large=1", True, True,
              "Spredning blant de 19", expand=("Kartet som tabell",)),
    PageState("pasientgrupper", "/pasientgrupper?group=skropelige_eldre&area=troms-ofoten", True, True,
              "Pasientgruppen"),
    PageState("kommuner-fylke", "/kommuner?scope=fylke&area=55&indicator=eldre_reinnleggelse_30d_67", True, True,
              "Utenfor 99,8 %-grensene", expand=("Kartet som tabell",)),
    PageState("kommuner-helsefellesskap", "/kommuner?scope=helsefellesskap&area=vestre-viken&colour=significance",
              True, True, "Utenfor 99,8 %-grensene"),
    PageState("pakkeforlop", "/pakkeforlop?area=troms-ofoten", True, False, "Ikke rapportert"),
    PageState("pakkeforlop-helseforetak", "/pakkeforlop?level=helseforetak&target=70", True, False, "Ikke rapportert",
              expand=("SP1 i tabell", "SP2 behovskartlegging")),
    PageState("om_dataene", "/om_dataene?indicator=kreft_sp1_behovskartlegging", False, False, "Kartverket"),
]


@pytest.fixture(scope="session")
def axe_script() -> str:
    """The pinned axe-core source; installed with ``npm ci`` when missing, skipped without npm/node."""
    if not AXE_SCRIPT.exists():
        npm, node = shutil.which("npm"), shutil.which("node")
        if not (npm and node):
            pytest.skip("axe-core is not installed and npm/node are not available: install Node.js and run "
                        "`npm ci` (or `make test`) to run the accessibility checks")
        ARTIFACTS.mkdir(exist_ok=True)
        with open(ARTIFACTS / "npm-ci.lock", "w") as lock:  # one xdist worker installs
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not AXE_SCRIPT.exists():
                done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PROJECT_ROOT,
                                      capture_output=True, text=True)
                if done.returncode != 0:
                    pytest.fail(f"`npm ci` could not install axe-core: {done.stderr.strip()[-500:]}")
    return str(AXE_SCRIPT)


def open_expanders(page, labels: tuple[str, ...]) -> int:
    """Open every closed expander whose summary contains one of ``labels``; returns how many."""
    opened = 0
    for summary in page.locator('[data-testid="stExpander"] summary').all():
        title = summary.inner_text()
        if any(label in title for label in labels):
            details = summary.locator("xpath=..")
            if details.get_attribute("open") is None:
                summary.click()
                opened += 1
    if opened:
        wait_until_idle(page)
        page.wait_for_timeout(800)
    return opened


def run_axe(page, axe_script: str) -> dict:
    """axe-core's WCAG 2.0/2.1 A and AA rules on the whole document; axe's best-practice rules
    (landmarks, heading order) run too and are recorded, but do not fail the test."""
    page.add_script_tag(path=axe_script)
    return page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                               resultTypes: ['violations', 'incomplete']});
            const bp = await axe.run(document, {runOnly: {type: 'tag', values: ['best-practice']},
                                                resultTypes: ['violations']});
            return {testEngine: r.testEngine, url: r.url, timestamp: r.timestamp, tags: tags,
                    violations: r.violations, incomplete: r.incomplete,
                    passes: r.passes.map(p => ({id: p.id, impact: p.impact})),
                    inapplicable: r.inapplicable.map(p => p.id),
                    best_practice: bp.violations};
        }""",
        WCAG_TAGS,
    )


def allowed_by(page, rule: str, target: list, allowed: tuple[Allowed, ...]) -> Allowed | None:
    """The allow-list entry that covers this violating element, if any."""
    for entry in allowed:
        if entry.rule != rule:
            continue
        selector = target[0] if target and isinstance(target[0], str) else None
        if selector and page.evaluate(
                "([sel, within]) => { const el = document.querySelector(sel); return !!(el && el.closest(within)); }",
                [selector, entry.within]):
            return entry
    return None


def counts_by_impact(violations: list[dict]) -> dict[str, int]:
    counts = {"critical": 0, "serious": 0, "moderate": 0, "minor": 0}
    for violation in violations:
        counts[violation["impact"] or "minor"] += len(violation["nodes"])
    return counts


def check_state(page, state: PageState, axe_script: str,
                allowed: tuple[Allowed, ...] = STREAMLIT_ALLOWED, *,
                artifact: bool = True) -> tuple[dict, list[str]]:
    """Run axe on the drawn page; returns the results and the blocking violations not allowed."""
    results = run_axe(page, axe_script)
    blocking = []
    for violation in results["violations"]:
        for node in violation["nodes"]:
            entry = allowed_by(page, violation["id"], node["target"], allowed)
            node["streamlit_allowed"] = entry.reason if entry else None
            if violation["impact"] in BLOCKING and entry is None:
                summary = re.sub(r"\s+", " ", node["failureSummary"])[:300]
                blocking.append(f"{violation['id']} ({violation['impact']}): {node['target']} – {summary} – "
                                f"{node['html'][:200]}")
    results["state"] = {"name": state.name, "path": state.path, "expanded": list(state.expand)}
    results["counts"] = counts_by_impact(results["violations"])
    results["counts_best_practice"] = counts_by_impact(results["best_practice"])
    results["counts_not_allowed"] = counts_by_impact(
        [{**v, "nodes": [n for n in v["nodes"] if not n["streamlit_allowed"]]} for v in results["violations"]])
    if artifact:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"axe-{state.name}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    return results, blocking


def english_interface_texts(page) -> list[str]:
    """Streamlit's own English texts still on the page (labels, tooltips, placeholders, text)."""
    return page.evaluate(
        """([exact, prefixes]) => {
            const found = [];
            const english = v => { const t = (v || '').trim();
                                   return exact.includes(t) || prefixes.some(p => t.startsWith(p)); };
            for (const el of document.querySelectorAll('[aria-label],[title],[placeholder]'))
                for (const a of ['aria-label', 'title', 'placeholder'])
                    if (english(el.getAttribute(a))) found.push(a + '=' + el.getAttribute(a));
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) if (english(walker.currentNode.nodeValue)) found.push(walker.currentNode.nodeValue);
            return found;
        }""",
        [list(STREAMLIT_TEXTS_NB), list(STREAMLIT_PREFIXES_NB)],
    )


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_no_serious_axe_violations(server, browser, axe_script, state: PageState):
    page, _ = open_page(browser, server + state.path)
    try:
        wait_for_render(page, charts=state.charts, has_map=state.has_map, expected=state.expected)
        opened = open_expanders(page, state.expand) if state.expand else 0
        page.wait_for_function("() => document.documentElement.lang === 'nb'", timeout=10_000)
        grow_to_full_height(page)  # axe checks contrast only where an element is laid out on screen
        wait_until_idle(page)
        results, blocking = check_state(page, state, axe_script)
        assert opened >= len(state.expand), f"expected to open expanders matching {state.expand}, opened {opened}"
        assert not english_interface_texts(page), "Streamlit texts left in English (WCAG 3.1.2)"
        assert results["testEngine"]["version"] == json.loads(
            (PROJECT_ROOT / "package.json").read_text("utf-8"))["devDependencies"]["axe-core"]
        assert not blocking, "serious/critical accessibility violations:\n" + "\n".join(blocking)
    finally:
        page.close()


def test_allow_list_excuses_only_the_elements_it_names(browser, axe_script):
    """The allow-list mechanism itself: a violation inside the named element is excused, the same
    violation elsewhere still fails."""
    page = browser.new_page()
    try:
        page.set_content('<html lang="nb"><head><title>Selvtest</title></head><body><main><h1>Selvtest</h1>'
                         '<div data-testid="stFakeWidget"><img src="data:,"></div><p><img src="data:,"></p>'
                         '</main></body></html>')
        allowed = (Allowed("image-alt", '[data-testid="stFakeWidget"]', "selvtest"),)
        state = PageState("selvtest", "about:blank", False, False, "")
        results, blocking = check_state(page, state, axe_script, allowed, artifact=False)
        image_alt = next(v for v in results["violations"] if v["id"] == "image-alt")
        assert len(image_alt["nodes"]) == 2
        assert len(blocking) == 1 and blocking[0].startswith("image-alt (critical)")
        assert [n["streamlit_allowed"] for n in image_alt["nodes"]].count("selvtest") == 1
    finally:
        page.close()


# --- keyboard ---------------------------------------------------------------------------------

# The controls a keyboard user must reach on every page; a segmented control counts once.
CONTROLS = {
    "navigasjonslenke": '[data-testid="stTopNavLink"]',
    "nedtrekksliste": '[data-testid="stSelectbox"] input',
    "segmentert valg": '[data-testid="stButtonGroup"]',
    "tallfelt": '[data-testid="stNumberInput"] input',
    "bryter": '[data-testid="stCheckbox"] input',
    "knapp": '[data-testid="stButton"] button',
    "nedlastingsknapp": '[data-testid="stDownloadButton"] button',
    "utvidbar seksjon": '[data-testid="stExpander"] summary',
}

MARK_CONTROLS = """(controls) => {
    const found = [];
    for (const [kind, selector] of Object.entries(controls)) {
        for (const el of document.querySelectorAll(selector)) {
            if (!el.checkVisibility() && !(el.closest('[data-testid="stCheckbox"]'))) continue;
            const id = String(found.length);
            el.setAttribute('data-a11y-control', id);
            const label = el.getAttribute('aria-label') || el.innerText || '';
            found.push({id, kind, label: label.replace(/\\s+/g, ' ').trim().slice(0, 80)});
        }
    }
    return found;
}"""

# Where the focus is, and whether a ring (outline or box shadow) is drawn on the focused element
# or its nearest ancestors; ``signature`` lets the test compare with the same chain unfocused.
# The element that shows the focus: the focused element itself, except inside Streamlit's table
# (the grid draws its cell cursor on a canvas, so the ring is on the table's frame) and for a
# toggle (the input is visually hidden; the ring is on its label).
# Its outline and box shadow, with its ancestors up to the nearest Streamlit element, are the ring.
RING_CHAIN = """
const focusTarget = (el) => el.closest('[data-testid="stDataFrameResizable"]')
    || (el.matches('[data-testid="stCheckbox"] input') ? el.closest('label') : el);
const ringElements = (el) => {
    const elements = [];
    for (let e = focusTarget(el), i = 0; e && i < 8; e = e.parentElement, i++) {
        elements.push(e);
        if (i > 0 && e.hasAttribute('data-testid')) break;
    }
    return elements;
};
const ringChain = (el) => ringElements(el).map(e => {
    const c = getComputedStyle(e);
    return {outline: c.outlineStyle !== 'none' && parseFloat(c.outlineWidth) >= 1
                     ? `${c.outlineStyle} ${c.outlineWidth} ${c.outlineColor}` : '',
            shadow: c.boxShadow === 'none' ? '' : c.boxShadow};
});
window.focusTarget = focusTarget; window.ringElements = ringElements; window.ringChain = ringChain;
"""

FOCUS_STATE = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return {control: null, tag: 'BODY'};
    if (!el.hasAttribute('data-a11y-focus')) el.setAttribute('data-a11y-focus', String(Math.random()));
    const chain = ringChain(el);
    const target = focusTarget(el);
    const control = el.closest('[data-a11y-control]');
    const r = target.getBoundingClientRect();
    return {control: control ? control.getAttribute('data-a11y-control') : null, tag: el.tagName,
            focusId: el.getAttribute('data-a11y-focus'),
            name: (el.getAttribute('aria-label') || el.innerText || '').replace(/\\s+/g, ' ').trim().slice(0, 60),
            testid: (el.closest('[data-testid^="st"]') || {getAttribute: () => null}).getAttribute('data-testid'),
            visible: target.checkVisibility({opacityProperty: true, visibilityProperty: true}) && r.width > 1 &&
                     r.height > 1,
            ring: chain.some(c => c.outline || c.shadow), signature: JSON.stringify(chain)};
}"""

# The same chain once the focus has moved on; null while the focus is still inside it.
SIGNATURE_OF = """(focusId) => {
    const el = document.querySelector(`[data-a11y-focus="${focusId}"]`);
    if (!el) return null;
    if (ringElements(el).some(e => e.contains(document.activeElement))) return null;
    return JSON.stringify(ringChain(el));
}"""

KEYBOARD_STATES = [s for s in STATES if s.name in
                   ("oversikt", "helsefellesskap", "kommuner-fylke", "pakkeforlop", "om_dataene")]


def tab_through(page, max_steps: int = 600) -> list[dict]:
    """Press Tab until the focus has gone round the page once; the focus stops in order."""
    page.evaluate(f"() => {{ {RING_CHAIN} }}")
    stops: list[dict] = []
    seen_body = 0
    for _ in range(max_steps):
        page.keyboard.press("Tab")
        page.wait_for_timeout(60)  # let focus styles settle (no transitions on the rings we set)
        state = page.evaluate(FOCUS_STATE)
        if stops and stops[-1].get("focusId"):
            stops[-1]["unfocused"] = page.evaluate(SIGNATURE_OF, stops[-1]["focusId"])
        if state["tag"] == "BODY":
            seen_body += 1
            if seen_body >= 1 and stops:
                break
            continue
        if stops and state.get("focusId") == stops[0].get("focusId"):
            break  # wrapped around
        stops.append(state)
    return stops


@pytest.mark.parametrize("state", KEYBOARD_STATES, ids=[s.name for s in KEYBOARD_STATES])
def test_keyboard_reaches_every_control_with_a_visible_focus(server, browser, state: PageState):
    page, _ = open_page(browser, server + state.path)
    try:
        wait_for_render(page, charts=state.charts, has_map=state.has_map, expected=state.expected)
        controls = page.evaluate(MARK_CONTROLS, CONTROLS)
        # the seven pages of the internal app (Tiltak og oppfølging included)
        assert sum(c["kind"] == "navigasjonslenke" for c in controls) == 7 and len(controls) > 7, controls
        page.mouse.move(0, 0)
        stops = tab_through(page)
        (ARTIFACTS / f"keyboard-{state.name}.json").write_text(
            json.dumps({"controls": controls, "focus_order": stops}, ensure_ascii=False, indent=1), "utf-8")
        reached = {s["control"] for s in stops if s["control"] is not None}
        missing = [c for c in controls if c["id"] not in reached]
        assert not missing, f"not reachable with Tab: {missing}"
        invisible = [s for s in stops if not s["visible"]]
        assert not invisible, f"focus on hidden elements: {invisible}"
        no_ring = [s for s in stops if not s["ring"] or s.get("unfocused") == s["signature"]]  # no change = no ring
        assert not no_ring, f"focus without a visible indicator: {no_ring}"
    finally:
        page.close()


def test_select_box_and_expander_work_with_the_keyboard(server, browser):
    page, _ = open_page(browser, server + "/?indicator=eldre_oh_innleggelser_80")
    try:
        wait_for_render(page, charts=True, has_map=True, expected="Hovedfunn")
        indicator = page.locator('[data-testid="stSelectbox"] input[aria-label="Indikator"]')
        before = indicator.input_value()
        titles_before = page.locator(".js-plotly-plot .gtitle").evaluate_all("els => els.map(e => e.textContent)")
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.getAttribute('aria-label') === 'Indikator'"):
                break
        else:
            pytest.fail("Tab never reached the Indikator select box")
        page.keyboard.press("ArrowDown")  # opens the list
        page.wait_for_selector('[role="listbox"]', timeout=10_000)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_function("(before) => new URL(location.href).searchParams.get('indicator') !== before"
                               " && new URL(location.href).searchParams.get('indicator') !== null",
                               arg="eldre_oh_innleggelser_80", timeout=60_000)
        wait_until_idle(page)
        after = indicator.input_value()
        assert after and after != before
        titles_after = page.locator(".js-plotly-plot .gtitle").evaluate_all("els => els.map(e => e.textContent)")
        assert titles_after and titles_after != titles_before  # the charts follow the new indicator
        # An expander opens with the keyboard and shows its table.
        summary = page.locator('[data-testid="stExpander"] summary', has_text="Kartet som tabell")
        summary.focus()
        page.keyboard.press("Enter")
        details = summary.locator("xpath=..")
        page.wait_for_function("(el) => el.open", arg=details.element_handle(), timeout=10_000)
        assert details.locator('[data-testid="stDataFrame"]').first.is_visible()
    finally:
        page.close()
