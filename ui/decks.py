"""The SSU meeting deck: PPTX (and PDF where the server can make it) from ``outputs.deck``."""

from __future__ import annotations

import streamlit as st

import indicators
from outputs import deck
from ui import layout, text

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def _state_key(helsefellesskap_id: str, years: tuple[int, int], key: indicators.DataKey) -> str:
    return f"_deck_{helsefellesskap_id}_{years[0]}_{years[1]}_{hash(key)}"


def deck_section(helsefellesskap_id: str, short_name: str, years: tuple[int, int], key: indicators.DataKey) -> None:
    """A button that builds the deck, then download buttons for PPTX (and PDF if available).

    Building takes tens of seconds of CPU, so the public deployment does not offer it.
    """
    if not layout.internal_feature("Møtepresentasjonen for SSU"):
        return
    slot = _state_key(helsefellesskap_id, years, key)
    with st.container(border=True):
        st.markdown(f"**Møtepresentasjon for SSU** – lysbilder med profilen for {text.esc(short_name)} "
                    f"({years[0]}–{years[1]}).")
        if slot not in st.session_state:
            if st.button("Lag møtepresentasjon (PowerPoint)", key="hf_make_deck", icon=":material/slideshow:",
                         type="primary"):
                with st.spinner("Lager presentasjonen …"):
                    try:
                        pptx = deck.build_deck(helsefellesskap_id, years, key=key)
                    except indicators.IndicatorRequestError as error:
                        st.error(f"Presentasjonen kunne ikke lages: {error}")
                        return
                    pdf = deck.convert_to_pdf(pptx)  # None without LibreOffice
                st.session_state[slot] = (pptx, pdf)
        if slot in st.session_state:
            pptx, pdf = st.session_state[slot]
            c1, c2 = st.columns(2)
            stem = f"ssu_{helsefellesskap_id}_{years[0]}-{years[1]}"
            c1.download_button("Last ned PowerPoint (.pptx)", pptx, file_name=f"{stem}.pptx", mime=PPTX_MIME,
                               key="hf_deck_pptx", on_click="ignore", icon=":material/download:", type="primary")
            if pdf:
                c2.download_button("Last ned PDF", pdf, file_name=f"{stem}.pdf", mime="application/pdf",
                                   key="hf_deck_pdf", on_click="ignore", icon=":material/picture_as_pdf:")
            else:
                c2.caption("PDF kan ikke lages på denne serveren (krever LibreOffice). Åpne PowerPoint-filen og "
                           "lagre som PDF ved behov.")
