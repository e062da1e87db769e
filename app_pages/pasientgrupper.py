"""Pasientgrupper: the priority groups as Helsedirektoratet measures them, as cohorts of persons.

Each group opens with its cohort ("Pasientgruppen"): how many persons, what share of the
population and how that varies across the 19 helsefellesskap; then the cohort's use of services
per person in one helsefellesskap against the country, the pattern by sentralitet and the overlap
between the four groups. Under "Bruk av tjenester i befolkningen" follow the group's
population-rate indicators, as links to Oversikt.

URL: ?group=<priority group>&cohort=<cohort (utvalg)>&area=<hf id>&year=2024&indicator=<indicator by sentralitet>
     &konf=95|99_8
"""

import streamlit as st

from ui import cache, cohorts, layout, pickers, state, tables

key = cache.data_key()
synthetic = cache.is_synthetic(key)
cat = cache.catalogue()
PREFIX = "pg"

layout.page_heading(
    "Pasientgrupper: personene i de prioriterte gruppene",
    "Helsedirektoratet følger de prioriterte gruppene som pasientgrupper: personene som hører til gruppen etter "
    "registrene, og hvor mye de bruker tjenestene per person. Velg en gruppe for å se hvor mange den gjelder, "
    "hvordan det varierer mellom helsefellesskapene, og hvordan gruppene overlapper.",
)

group_names = {g.id: g.name for g in cat.groups}
group_ids = list(group_names)
c1, c2, c3, c4, c5 = st.columns([1.5, 1.5, 1.5, 0.8, 1.0])
with c1:
    state.seed(f"{PREFIX}_group", "group", group_ids, group_ids[0], what="prioritert gruppe",
               describe=lambda g: f"«{group_names.get(g, g)}»")
    group = st.selectbox("Prioritert gruppe", group_ids, key=f"{PREFIX}_group",
                         format_func=lambda g: group_names.get(g, g))
group_cohorts = cohorts.cohorts_of(cat, group)

if not group_cohorts:
    state.show_messages()
    state.sync_url({"group": group})
    st.header(cohorts.COHORT_HEADING, anchor="pasientgruppen", divider="gray")
    if group == "pakkeforlop_hjem":
        st.info("Pakkeforløp hjem for pasienter med kreft har ingen pasientgruppe i Helsedirektoratets "
                "styringsinformasjon: forløpet følges med behovskartleggingen ved samhandlingspunktene SP1–SP3.",
                icon=":material/info:")
        st.page_link("app_pages/pakkeforlop.py", label="Gå til siden Pakkeforløp hjem",
                     icon=":material/arrow_forward:")
    else:
        st.info(f"Katalogen har ingen pasientgruppe for «{group_names[group]}» ennå.", icon=":material/info:")
    st.header(cohorts.POPULATION_HEADING, anchor="befolkningen", divider="gray")
    cohorts.population_links(cat, group, prefix=PREFIX)
    st.stop()

cohort_ids = [c.id for c in group_cohorts]
with c2:
    if len(cohort_ids) > 1:
        state.seed(f"{PREFIX}_cohort", "cohort", cohort_ids, cohort_ids[0], what="utvalg",
                   describe=lambda c: f"«{cohorts.cohort_by_id(cat, c).name}»")
        cohort = cohorts.cohort_by_id(cat, st.selectbox(
            "Utvalg", cohort_ids, key=f"{PREFIX}_cohort", format_func=lambda c: cohorts.cohort_by_id(cat, c).name,
            help="Gruppen har flere utvalg. Kartet og profilen viser utvalget du velger; tabellen viser alle."))
    else:
        cohort = group_cohorts[0]
with c3:
    hf_id = pickers.helsefellesskap_picker(PREFIX, key, label="Helsefellesskap")
prevalence = cohorts.prevalence_indicator(cat, cohort.id)
years = sorted({y for c in group_cohorts if (p := cohorts.prevalence_indicator(cat, c.id)) is not None
                for y in cache.available_years(key, p.id)}, reverse=True)
with c4:
    if years:
        state.seed(f"{PREFIX}_year", "year", years, years[0], what="årstall", parse=state.parse_year)
        year = st.selectbox("År", years, key=f"{PREFIX}_year")
    else:
        year = None
with c5:
    level = pickers.choice(PREFIX, "konf", "Konfidensnivå", tables.CONFIDENCE_OPTIONS, default="95",
                           what="konfidensnivå", widget="segmented", help=tables.CONFIDENCE_HELP)
if year is not None:
    cohorts.seed_sentralitet_indicator(cat, cohort, prefix=PREFIX)  # before the messages: a bad link is told now
state.show_messages()

labels = pickers.labels_for(key, "helsefellesskap")
short = labels.get(hf_id, hf_id)
st.html('<nav class="toc" aria-label="Innhold på siden"><b>Gå til:</b>'
        '<a href="#pasientgruppen" target="_self">Pasientgruppen</a>'
        '<a href="#bruk-per-person" target="_self">Bruk av tjenester per person</a>'
        '<a href="#sentralitet" target="_self">Etter sentralitet</a>'
        '<a href="#overlapp" target="_self">Overlapp mellom gruppene</a>'
        '<a href="#befolkningen" target="_self">Bruk av tjenester i befolkningen</a></nav>')

st.header(cohorts.COHORT_HEADING, anchor="pasientgruppen", divider="gray")
cohorts.cohort_definition(cohort)
if year is None or prevalence is None:
    st.info(f"Ingen data for {cohort.short_name.lower()} ennå.")
    state.sync_url({"group": group, "cohort": cohort.id if len(cohort_ids) > 1 else None, "area": hf_id,
                    "konf": level})
else:
    if len(group_cohorts) > 1:
        st.subheader(f"Utvalgene i gruppen, {year}", anchor=False)
        st.dataframe(cohorts.sizes_frame(key, cat, group_cohorts, year, hf_id, short), hide_index=True,
                     width="stretch", key=f"{PREFIX}_sizes")
        st.caption("Utvalgene overlapper: én person kan høre til flere av dem. Den samlede gruppen teller hver "
                   "person én gang. «: skjult» = for få personer til å vises.")
    cohorts.cohort_size(key, cat, cohort, year, hf_id, level=level, synthetic=synthetic, prefix=PREFIX)

    st.subheader(f"Bruk av tjenester per person: {short} mot landet", anchor="bruk-per-person")
    # An utvalg without its own service indicators (barn og unge) shows the whole group's
    service_cohort = next((c for c in (cohort, *group_cohorts) if cohorts.service_indicators(cat, c.id)), cohort)
    if service_cohort is not cohort:
        st.caption(f"Bruk av tjenester er beregnet for hele gruppen «{service_cohort.name}», ikke for hvert utvalg.")
    cohorts.service_profile(key, cat, service_cohort, hf_id, short, year, level=level)

    st.subheader("Etter sentralitet", anchor="sentralitet")
    cohorts.sentralitet(key, cat, cohort, hf_id, short, year, level=level, synthetic=synthetic, prefix=PREFIX)

    st.subheader("Overlapp mellom de fire pasientgruppene", anchor="overlapp")
    cohorts.overlap_section(key, cat, hf_id, short, year, synthetic=synthetic, prefix=PREFIX)
    state.sync_url({"group": group, "cohort": cohort.id if len(cohort_ids) > 1 else None, "area": hf_id,
                    "year": year, "indicator": st.session_state.get(f"{PREFIX}_indicator"), "konf": level})

st.header(cohorts.POPULATION_HEADING, anchor="befolkningen", divider="gray")
cohorts.population_links(cat, group, prefix=PREFIX)
