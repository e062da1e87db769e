"""Om dataene: method, indicator catalogue, suppression, standardisation, provenance, map attribution.

URL: ?indicator=<indicator id> opens that indicator's definition.
"""

import streamlit as st

from ui import about, cache, layout, state

key = cache.data_key()
cat = cache.catalogue()

layout.page_heading(
    "Om dataene: definisjoner og metode",
    "Her står hva hver indikator måler, hvor tallene kommer fra, hvordan små tall skjules, og hvordan "
    "tallene er beregnet.",
)

ids = [None] + [i.id for i in cat.indicators]
state.seed("om_indicator", "indicator", ids, None, what="indikator",
           describe=lambda i: "hele katalogen" if i is None else f"«{cat.indicator(i).short_name}»")
state.show_messages()
chosen = st.session_state["om_indicator"]
state.sync_url({"indicator": chosen})

about.contents()
about.indicator_catalogue(cat, open_id=chosen)
about.cohort_definitions(cat)
about.suppression(cat)
about.standardisation(cat)
about.statistics()
about.provenance(key)
about.map_attribution()
about.readiness_source()
