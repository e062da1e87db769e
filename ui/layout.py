"""Page frame: CSS, document language, the synthetic-data banner, headings and indicator cards."""

from __future__ import annotations

import json
from datetime import datetime

import streamlit as st

from data_loaders.config import settings
from indicators.catalogue import Indicator

from ui import text, theme

APP_TITLE = "Styringsinformasjon for helsefellesskapene"
SYNTHETIC_TEXT = (
    "Demodata: tallene er syntetiske og laget for å vise hvordan løsningen virker. "
    "De beskriver ikke virkelige pasienter, kommuner eller helsefellesskap."
)

# Streamlit's own interface texts in English, in Norwegian (WCAG 3.1.2: the page is lang="nb";
# Streamlit has no locale setting). Exact texts, then prefixes kept with what follows them.
STREAMLIT_TEXTS_NB = {
    "Skip to main content": "Hopp til hovedinnholdet",
    "App pages": "Sider",
    "Fullscreen": "Fullskjerm",
    "Close fullscreen": "Lukk fullskjerm",
    "Open": "Åpne",
    "Close": "Lukk",
    "Search": "Søk",
    "Show/hide columns": "Vis/skjul kolonner",
    "Download as CSV": "Last ned som CSV",
    "Increment": "Øk",
    "Decrement": "Reduser",
    "Choose an option": "Velg et alternativ",
    "No results": "Ingen treff",
}
STREAMLIT_PREFIXES_NB = {"Help for ": "Hjelp for ", "Fullscreen: ": "Fullskjerm: ", "Link to heading": "Lenke til overskriften"}

# Sets <html lang="nb"> (Streamlit ships lang="en") and translates Streamlit's interface texts as
# they appear (aria-label, title, placeholder and text); re-applied when the frontend changes them.
_LANG_SCRIPT = """
<script>
(function () {
  var root = document.documentElement;
  function apply() { if (root.getAttribute("lang") !== "nb") root.setAttribute("lang", "nb"); }
  apply();
  if (!window.__styringLangObserver) {
    window.__styringLangObserver = new MutationObserver(apply);
    window.__styringLangObserver.observe(root, {attributes: true, attributeFilter: ["lang"]});
  }
  // Map tooltips stay inside the map: deck.gl places them at the pointer (translate(x, y)); near the
  // right or bottom edge they are moved back inside the map's box.
  if (!window.__styringTooltipClamp) {
    window.__styringTooltipClamp = new MutationObserver(function (mutations) {
      mutations.forEach(function (m) {
        var el = m.target;
        if (!el.classList || !el.classList.contains("deck-tooltip") || el.style.display === "none") return;
        var box = el.closest('[data-testid="stDeckGlJsonChart"]') || el.offsetParent;
        var match = /translate\\((-?[\\d.]+)px,\\s*(-?[\\d.]+)px\\)/.exec(el.style.transform || "");
        if (!box || !match) return;
        var x = parseFloat(match[1]), y = parseFloat(match[2]);
        var maxX = Math.max(0, box.clientWidth - el.offsetWidth - 4);
        var maxY = Math.max(0, box.clientHeight - el.offsetHeight - 4);
        var nx = Math.max(0, Math.min(x, maxX)), ny = Math.max(0, Math.min(y, maxY));
        if (nx !== x || ny !== y) el.style.transform = "translate(" + nx + "px, " + ny + "px)";
      });
    });
    window.__styringTooltipClamp.observe(document.body, {attributes: true, subtree: true, attributeFilter: ["style"]});
  }
  if (window.__styringTranslator) return;
  var exact = __EXACT__, prefixes = __PREFIXES__, attributes = ["aria-label", "title", "placeholder"];
  function translated(value) {
    var text = (value || "").trim();
    if (Object.prototype.hasOwnProperty.call(exact, text)) return exact[text];
    for (var p in prefixes) { if (text.indexOf(p) === 0) return prefixes[p] + text.slice(p.length); }
    return null;
  }
  function fixElement(el) {
    for (var i = 0; i < attributes.length; i++) {
      var t = el.hasAttribute(attributes[i]) ? translated(el.getAttribute(attributes[i])) : null;
      if (t !== null) el.setAttribute(attributes[i], t);
    }
  }
  function fix(node) {
    if (node.nodeType === 3) { var t = translated(node.nodeValue); if (t !== null) node.nodeValue = t; return; }
    if (node.nodeType !== 1) return;
    fixElement(node);
    node.querySelectorAll("[aria-label],[title],[placeholder]").forEach(fixElement);
    var walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) { var n = walker.currentNode, t = translated(n.nodeValue); if (t !== null) n.nodeValue = t; }
  }
  window.__styringTranslator = new MutationObserver(function (mutations) {
    mutations.forEach(function (m) {
      if (m.type === "childList") m.addedNodes.forEach(fix);
      else if (m.type === "attributes") fixElement(m.target);
      else fix(m.target);
    });
  });
  window.__styringTranslator.observe(document.body, {childList: true, subtree: true, characterData: true,
                                                      attributes: true, attributeFilter: attributes});
  fix(document.body);
})();
</script>
""".replace("__EXACT__", json.dumps(STREAMLIT_TEXTS_NB)).replace("__PREFIXES__", json.dumps(STREAMLIT_PREFIXES_NB))


def apply_frame(large_text: bool = False) -> None:
    """CSS (screen, projector, print) and the document language; call once per run."""
    st.html(theme.PAGE_CSS)
    if large_text:
        st.html(theme.LARGE_TEXT_CSS)
    st.html(_LANG_SCRIPT, unsafe_allow_javascript=True)


def synthetic_banner(synthetic: bool, real_publishers: list[str] | tuple[str, ...] = ()) -> None:
    """The demo-data banner; in a store that mixes real published values with demo data it says which are real."""
    if synthetic:
        st.html(f'<div class="demo-banner" role="status"><strong>Demodata</strong> – '
                f"{text.esc(SYNTHETIC_TEXT + mixed_data_text(real_publishers))}</div>")


def mixed_data_text(real_publishers) -> str:
    """" Unntak: ..." naming the real published values in a store that also holds demo data ("" when none)."""
    if not real_publishers:
        return ""
    labels = " og ".join(f"«Publisert av {p}»" for p in real_publishers)
    return (f" Unntak: indikatorene merket {labels} viser ekte tall slik utgiveren har publisert dem; "
            "alt annet er syntetisk.")


def page_heading(title: str, lead: str | None = None) -> None:
    st.title(title, anchor=False)
    if lead:
        st.markdown(lead)


def indicator_card(ind: Indicator, extra: str = "") -> None:
    """Name, description, unit, standardisation, direction and source of an indicator."""
    target = ""
    if ind.target is not None:
        target = f" · Mål: {text.value(ind, ind.target.value)} ({text.esc(ind.target.set_by)} satt mål)"
    coverage = " · Bare lokal registrering (ikke alle kommuner rapporterer)" if ind.coverage == "local" else ""
    if ind.is_published:  # the publisher's own values: say so, with the publisher's interval and flags
        coverage += f" · {ind.published_by}: ekte, publiserte tall, ikke beregnet her"
        if ind.interval_label:
            coverage += f" · Intervall: {ind.interval_label}"
    st.html(
        f'<div class="ind-card"><div class="ind-title">{text.esc(ind.name)}</div>'
        f"<div>{text.esc(ind.description)}</div>"
        f'<div class="ind-meta">Enhet: {text.esc(text.unit_phrase(ind))} · {text.esc(ind.standardisation.label)} · '
        f"{text.esc(text.direction(ind))} · Kilde: {text.esc(ind.source)}{target}{coverage}"
        f"{(' · ' + text.esc(extra)) if extra else ''}</div></div>"
    )


# --- unknown pages -----------------------------------------------------------------------------


def unknown_page_name(known_paths: set[str]) -> str | None:
    """The page name of a URL that names no page of the app (``/finnes-ikke``), else None.

    Call before ``st.navigation``. Streamlit would run the main page under an English "Page not
    found" dialog; instead the request is pointed at the main page and the caller shows
    ``page_not_found``. Relies on the script run context's pages manager; if that is not
    available (tests, other Streamlit versions) nothing changes.
    """
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        manager = get_script_run_ctx().pages_manager
        name = manager.intended_page_name
        if manager.intended_page_script_hash or not name or name in known_paths:
            return None
        manager.set_script_intent("", "")  # resolve to the main page, without Streamlit's dialog
        return str(name)
    except Exception:  # noqa: BLE001 - best effort: Streamlit's own handling remains
        return None


def page_not_found(name: str, pages: dict) -> None:
    """A Norwegian "page not found" with a way back to every page."""
    st.title("Fant ikke siden", anchor=False)
    from ui.state import echo

    st.markdown(f"Adressen {echo('/' + str(name))} finnes ikke i løsningen. Den kan være skrevet feil, "
                "eller siden kan ha fått nytt navn. Velg en av sidene under.")
    for candidate in pages.values():
        st.page_link(candidate, label=candidate.title, icon=":material/arrow_forward:")


# --- public mode and faults -----------------------------------------------------------------

# Words only: the commands that build or fill the store are in the operators' docs (README,
# docs/importing.md); the exception, for operators, follows outside public mode.
NOT_BUILT_TEXT = (
    "Databasen er ikke bygget ennå, så det finnes ingen tall å vise. Driftsansvarlig må bygge demodataene "
    "eller importere data, slik driftsdokumentasjonen beskriver. Last deretter siden på nytt."
)
EMPTY_TEXT = (
    "Databasen er tom: ingen tall er lastet inn ennå. Driftsansvarlig må importere data eller bygge "
    "demodataene, slik driftsdokumentasjonen beskriver. Last deretter siden på nytt."
)
UNREACHABLE_NO_CACHE_TEXT = (
    "Databasen kan ikke nås akkurat nå, og det finnes ingen tidligere hentede tall å vise. "
    "Prøv igjen om litt."
)
UNREACHABLE_PAGE_TEXT = (
    "Databasen kan ikke nås akkurat nå, og denne visningen er ikke hentet tidligere. "
    "Prøv igjen om litt, eller velg en visning du har sett før."
)
UNEXPECTED_TEXT = (
    "Noe gikk galt da siden skulle vises. Feilen er logget. Prøv igjen, eller gå tilbake til forsiden."
)


def public_mode() -> bool:
    return settings().public_mode


def internal_feature(what: str) -> bool:
    """The one gate for anything that is not for the public: uploads, imports, administration,
    debugging and expensive builds. True in the internal app; in public mode a short note and False.

    Usage: ``if not layout.internal_feature("Møtepresentasjonen"): return``
    """
    if not public_mode():
        return True
    st.caption(f"{what} finnes bare i den interne versjonen av løsningen.")
    return False


def _technical(error: BaseException | None) -> None:
    """The exception text for operators, never in public mode (it may name hosts and users)."""
    if error is not None and not public_mode():
        st.caption(f"Teknisk detalj: {type(error).__name__}: {error}")


NO_REGISTER_DATA = "Ingen data ennå – importer registeruttrekk."


def no_data_text(ind: Indicator) -> str:
    """What an indicator without a single year of data in the store says (a store with population only)."""
    if getattr(ind, "is_published", False):
        return f"Ingen publiserte verdier ennå for {ind.short_name}."
    return f"{NO_REGISTER_DATA} {ind.short_name} har ingen år med data i datagrunnlaget."


# For the operators of the internal app only (never in public mode): the commands themselves.
NOT_BUILT_OPERATOR = ("For driftsansvarlig: `python -m data_loaders demo` bygger demodataene; `python -m data_loaders "
                      "init` og `python -m data_loaders import` tar inn ekte data (se docs/importing.md).")
EMPTY_OPERATOR = ("For driftsansvarlig: `python -m data_loaders import` tar inn data (se docs/importing.md); "
                  "`python -m data_loaders demo` lager syntetiske demodata.")


def _operator_hint(hint: str) -> str:
    return "" if public_mode() else "\n\n" + hint


def store_not_ready(error: Exception) -> None:
    st.error(NOT_BUILT_TEXT + _operator_hint(NOT_BUILT_OPERATOR), icon=":material/database:")
    _technical(error)


def store_empty() -> None:
    st.error(EMPTY_TEXT + _operator_hint(EMPTY_OPERATOR), icon=":material/database:")


def store_unreachable_banner(fetched_at: datetime, error: BaseException | None) -> None:
    """Shown while the database is down and the app serves what it fetched before."""
    when = fetched_at.strftime("%d.%m.%Y kl. %H.%M")
    st.warning(
        f"**Databasen kan ikke nås akkurat nå.** Du ser de siste tallene som ble hentet ({when}). "
        "Visninger som ikke er hentet før, kan ikke vises før databasen er tilbake.",
        icon=":material/cloud_off:",
    )
    _technical(error)


def store_unreachable(error: BaseException | None) -> None:
    """The database is down and this process has nothing to show."""
    st.error(UNREACHABLE_NO_CACHE_TEXT, icon=":material/cloud_off:")
    _technical(error)


def page_unreachable(error: BaseException) -> None:
    """A read on the page failed because the database went away."""
    st.warning(UNREACHABLE_PAGE_TEXT, icon=":material/cloud_off:")
    _technical(error)


def unexpected_error() -> None:
    """Public mode: an unexpected error on a page, without any detail."""
    st.error(UNEXPECTED_TEXT, icon=":material/error:")
