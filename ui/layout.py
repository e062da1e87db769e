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


def synthetic_banner(synthetic: bool) -> None:
    if synthetic:
        st.html(f'<div class="demo-banner" role="status"><strong>Demodata</strong> – {text.esc(SYNTHETIC_TEXT)}</div>')


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
    st.html(
        f'<div class="ind-card"><div class="ind-title">{text.esc(ind.name)}</div>'
        f"<div>{text.esc(ind.description)}</div>"
        f'<div class="ind-meta">Enhet: {text.esc(text.unit_phrase(ind))} · {text.esc(ind.standardisation.label)} · '
        f"{text.esc(text.direction(ind))} · Kilde: {text.esc(ind.source)}{target}{coverage}"
        f"{(' · ' + text.esc(extra)) if extra else ''}</div></div>"
    )


# --- public mode and faults -----------------------------------------------------------------

NOT_BUILT_TEXT = (
    "Databasen er ikke bygget ennå. Kjør `python -m data_loaders demo` (eller `make run`) for å lage "
    "demodataene, eller `python -m data_loaders init` og importer ekte data med `python -m data_loaders import` "
    "(se docs/importing.md). Last deretter siden på nytt."
)
EMPTY_TEXT = (
    "Databasen er tom: tabellene finnes, men ingen tall er lastet inn ennå. Importer data med "
    "`python -m data_loaders import` (se docs/importing.md), eller kjør `python -m data_loaders demo` for "
    "syntetiske demodata. Last deretter siden på nytt."
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


def store_not_ready(error: Exception) -> None:
    st.error(NOT_BUILT_TEXT, icon=":material/database:")
    _technical(error)


def store_empty() -> None:
    st.error(EMPTY_TEXT, icon=":material/database:")


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
