"""Styringsinformasjon for helsefellesskapene: the Streamlit entry point (``streamlit run dashboard.py``).

One ``st.navigation`` app. This file draws what every page shares (CSS, document language,
the synthetic-data banner), resolves the store's key for the run (falling back to the last
key that worked when the database cannot be reached), reports unknown URL parameters and runs
the chosen page from ``app_pages/``. Faults on a page become Norwegian messages; in public mode
(``PUBLIC_MODE=1``) so does any other error, and no technical detail reaches the browser.
"""

from __future__ import annotations

import logging

import streamlit as st

st.set_page_config(
    page_title="Styringsinformasjon for helsefellesskapene",
    layout="wide",
    initial_sidebar_state="collapsed",
)

from data_loaders.store import StoreNotReadyError  # noqa: E402
from ui import auth, cache, layout, state  # noqa: E402

PAGES = {
    "oversikt": st.Page("app_pages/oversikt.py", title="Oversikt", default=True),
    "pasientgrupper": st.Page("app_pages/pasientgrupper.py", title="Pasientgrupper"),
    "helsefellesskap": st.Page("app_pages/helsefellesskap.py", title="Helsefellesskap"),
    "kommuner": st.Page("app_pages/kommuner.py", title="Kommuner"),
    "pakkeforlop": st.Page("app_pages/pakkeforlop.py", title="Pakkeforløp hjem"),
    "om_dataene": st.Page("app_pages/om_dataene.py", title="Om dataene"),
}
if not layout.public_mode():  # the SSU's actions: internal only (the public app has no such page)
    PAGES["tiltak"] = st.Page("app_pages/tiltak.py", title="Tiltak og oppfølging")
log = logging.getLogger("styring.dashboard")

missing_page = layout.unknown_page_name(set(PAGES))  # the URL paths are the file names (app_pages/<name>.py)
page = st.navigation(list(PAGES.values()), position="top")
page_name = next((name for name, candidate in PAGES.items() if candidate is page or candidate.title == page.title), "")
layout.apply_frame(large_text=bool(st.session_state.get("large_text", st.query_params.get("large") == "1")))
if missing_page is not None:  # a Norwegian "page not found" with links back, instead of Streamlit's English one
    layout.page_not_found(missing_page, PAGES)
    st.stop()

try:
    resolved = cache.resolve_data_key()
    if resolved.key is None:
        layout.store_unreachable(resolved.error)
        st.stop()
    data_key = resolved.key
    synthetic = cache.is_synthetic(data_key)
    has_data = cache.has_data(data_key)
except StoreNotReadyError as error:
    layout.store_not_ready(error)
    st.stop()
except cache.UNREACHABLE_ERRORS as error:  # lost between the key and the first reads
    layout.store_unreachable(error)
    st.stop()

if not has_data:
    layout.store_empty()
    st.stop()

if resolved.degraded:
    layout.store_unreachable_banner(resolved.fetched_at, resolved.error)
layout.synthetic_banner(synthetic, cache.real_publishers(data_key) if synthetic else ())
auth.account_bar(data_key)  # login/logout when an identity provider is configured (never in public mode)
if not resolved.degraded:
    cache.start_warm_up(data_key)
incoming_params = state.begin_run()
state.check_param_names(page_name)
unused_slot = st.empty()  # filled after the page: parameters the chosen view had no use for

try:
    page.run()
except StoreNotReadyError:  # the key query worked, so the tables exist but hold no data
    layout.store_empty()
except cache.UNREACHABLE_ERRORS as error:
    log.warning("The store could not be reached while drawing %s: %s", page_name, error)
    layout.page_unreachable(error)
except Exception:
    if not layout.public_mode():
        raise
    log.exception("Unexpected error on page %s", page_name)
    layout.unexpected_error()
else:
    unused = state.unused_params(incoming_params, page_name)
    if unused:
        with unused_slot.container():
            for message in unused:
                st.warning(message, icon=":material/link_off:")
