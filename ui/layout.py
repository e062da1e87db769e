"""Page frame: CSS, document language, the synthetic-data banner, headings and indicator cards."""

from __future__ import annotations

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

# Sets <html lang="nb"> (Streamlit ships lang="en"); re-applied if the frontend resets it.
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
})();
</script>
"""


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
