"""Page frame: CSS, document language, the synthetic-data banner, headings and indicator cards."""

from __future__ import annotations

import streamlit as st

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


def store_not_ready(error: Exception) -> None:
    st.error(
        "Databasen er ikke bygget ennå. Kjør `python -m data_loaders demo` (eller `make run`) "
        "for å lage demodataene, og last siden på nytt.",
        icon=":material/database:",
    )
    st.caption(str(error))
