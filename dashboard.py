"""Styringsinformasjon for helsefellesskapene: the Streamlit entry point (``streamlit run dashboard.py``).

One ``st.navigation`` app. This file draws what every page shares (CSS, document language,
the synthetic-data banner) and runs the chosen page from ``pages/``.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(
    page_title="Styringsinformasjon for helsefellesskapene",
    layout="wide",
    initial_sidebar_state="collapsed",
)

from data_loaders.store import StoreNotReadyError  # noqa: E402
from ui import cache, layout  # noqa: E402

PAGES = [
    st.Page("app_pages/oversikt.py", title="Oversikt", default=True),
    st.Page("app_pages/helsefellesskap.py", title="Helsefellesskap"),
    st.Page("app_pages/kommuner.py", title="Kommuner"),
    st.Page("app_pages/pakkeforlop.py", title="Pakkeforløp hjem"),
    st.Page("app_pages/om_dataene.py", title="Om dataene"),
]

page = st.navigation(PAGES, position="top")
layout.apply_frame(large_text=bool(st.session_state.get("large_text", st.query_params.get("large") == "1")))

try:
    data_key = cache.data_key()
    synthetic = cache.is_synthetic(data_key)
except StoreNotReadyError as error:
    layout.store_not_ready(error)
    st.stop()

layout.synthetic_banner(synthetic)
cache.start_warm_up(data_key)
page.run()
