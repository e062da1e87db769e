"""The priority groups' cohorts (Helsedirektoratet's persons in each group) as the pages use them.

Everything comes from the catalogue (``Catalogue.cohorts``, ``Indicator.cohort`` and
``Indicator.cohort_role``) and from the engine; nothing here computes a statistic. The two
headings the pages use:

- "Pasientgruppen": the cohort's own indicators: its prevalence (persons in the cohort against
  the population of its ages) and its use of services (share of the cohort, or events per person);
- "Bruk av tjenester i befolkningen": the population-rate indicators of the group (no cohort).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import polars as pl
import streamlit as st

from data_loaders.reference import NATIONAL_ID
from indicators import IndicatorRequestError, analysis
from indicators.catalogue import Catalogue, Indicator
from indicators.formatting import MISSING

from ui import cache, charts, comparison, maps, pickers, spine, state, summaries, tables, text, theme, upset

COHORT_HEADING = pickers.COHORT_HEADING  # "Pasientgruppen"
POPULATION_HEADING = pickers.POPULATION_HEADING  # "Bruk av tjenester i befolkningen"
# The four groups of the overlap, in the fixed order of the overlap's combinations ("0101" = the
# second and the fourth group and no other).
OVERLAP_GROUPS = ("barn_og_unge", "psykisk_lidelse", "skropelige_eldre", "multimorbiditet")
ROLE_PREVALENCE = "prevalence"
SERVICE_ROLES = ("share", "per_person")
OVERLAP_COLUMNS = ("area_id", "area_name", "kind", "combination", "persons", "flag")
LAND_ID = NATIONAL_ID  # the country's area id in the engine's tables


def cohorts(cat: Catalogue) -> tuple[Any, ...]:
    """Every cohort of the catalogue (none when the catalogue declares none)."""
    return tuple(getattr(cat, "cohorts", ()) or ())


def cohort_by_id(cat: Catalogue, cohort_id: str) -> Any | None:
    return next((c for c in cohorts(cat) if c.id == cohort_id), None)


def cohorts_of(cat: Catalogue, group_id: str) -> list[Any]:
    """The cohorts of a priority group; a union cohort (one of the overlap's four) first."""
    found = [c for c in cohorts(cat) if c.group == group_id]
    return sorted(found, key=lambda c: (not getattr(c, "overlap_group", False), found.index(c)))


def cohort_of(ind: Indicator) -> str | None:
    return getattr(ind, "cohort", None)


def role_of(ind: Indicator) -> str | None:
    return getattr(ind, "cohort_role", None)


def is_cohort_indicator(ind: Indicator) -> bool:
    return cohort_of(ind) is not None


def prevalence_indicator(cat: Catalogue, cohort_id: str) -> Indicator | None:
    """The indicator of the cohort's size against the population of its ages."""
    return next((i for i in cat.indicators if cohort_of(i) == cohort_id and role_of(i) == ROLE_PREVALENCE), None)


def service_indicators(cat: Catalogue, cohort_id: str) -> list[Indicator]:
    """The cohort's use of services: shares of the cohort and events per person, in catalogue order."""
    return [i for i in cat.indicators if cohort_of(i) == cohort_id and role_of(i) in SERVICE_ROLES]


def cohort_indicators(cat: Catalogue, cohort_id: str) -> list[Indicator]:
    """Prevalence first, then the services."""
    prevalence = prevalence_indicator(cat, cohort_id)
    return ([prevalence] if prevalence is not None else []) + service_indicators(cat, cohort_id)


def population_indicators(cat: Catalogue, group_id: str) -> list[Indicator]:
    """The group's population-rate indicators (those without a cohort)."""
    return [i for i in cat.in_group(group_id) if not is_cohort_indicator(i)]


def age_text(cohort: Any) -> str:
    low, high = getattr(cohort, "age_min", None), getattr(cohort, "age_max", None)
    if high is None:
        return f"{low or 0} år og eldre"
    return f"{low or 0}–{high} år"


def overlap_cohorts(cat: Catalogue) -> list[Any]:
    """The four overlap groups in the overlap's order (a group missing from the catalogue is left out)."""
    return [c for c in (cohort_by_id(cat, g) for g in OVERLAP_GROUPS) if c is not None]


def overlap_names(cat: Catalogue) -> list[str]:
    """The four groups' names in the overlap's bit order (the catalogue's ``overlap`` section)."""
    declared = getattr(cat, "overlap", None)
    if declared is not None and len(declared.groups) == len(OVERLAP_GROUPS):
        return [name for _, name in declared.groups]
    return [c.short_name for c in overlap_cohorts(cat)] or list(OVERLAP_GROUPS)


# --- the overlap from the engine --------------------------------------------------------------


def load_overlap(key, level: str, year: int) -> pl.DataFrame | None:
    """The engine's suppressed overlap for ``level`` and ``year`` (``indicators.overlap.overlap_table``),
    normalised; None when the engine has no overlap (a catalogue without it, a store without its
    measures) or no data for the year."""
    try:
        from indicators.overlap import overlap_table
    except ImportError:
        return None
    try:
        table = overlap_table(level, [year], key=key)
    except IndicatorRequestError:
        return None
    if table is None or table.height == 0:
        return None
    return normalise_overlap(table)


def normalise_overlap(table: pl.DataFrame) -> pl.DataFrame:
    """The engine's overlap rows as the page reads them: ``kind`` (combination, union, group),
    ``combination`` (four bits for a combination, the cohort id for a group), ``persons`` (None when
    hidden) and ``flag``; a row whose flag is not "ok" never keeps a number."""
    frame = table
    if "combination" not in frame.columns:
        frame = frame.rename({"id": "combination"})
    if "kind" not in frame.columns:
        frame = frame.with_columns(pl.lit("combination").alias("kind"))
    if "area_name" not in frame.columns:
        frame = frame.with_columns(pl.col("area_id").alias("area_name"))
    return frame.with_columns(
        pl.col("combination").cast(pl.String),
        pl.when(pl.col("flag") == "ok").then(pl.col("persons")).otherwise(None).cast(pl.Int64).alias("persons"),
    ).select(OVERLAP_COLUMNS)


# --- drawing: the sections of the Pasientgrupper page (also used by the Helsefellesskap profile) ----

HIDDEN_TEXT = ": skjult"


def _persons_text(row: dict | None) -> str:
    """The persons of an engine row: a count, ": skjult" when hidden, "–" without data (never 0 for hidden)."""
    if row is None:
        return MISSING
    if row.get("numerator") is None:
        return "ikke rapportert" if row.get("flag") == "not_reported" else (HIDDEN_TEXT if row.get("flag") else MISSING)
    return text.count(row["numerator"])


def _value_text(ind: Indicator, row: dict | None) -> str:
    if row is None:
        return MISSING
    if row.get("value") is None:
        return HIDDEN_TEXT if row.get("flag") not in (None, "ok", "not_reported") else MISSING
    return text.with_unit(ind, row["value"])


def _row_of(table: pl.DataFrame, area_id: str | None = None) -> dict | None:
    rows = table if area_id is None else table.filter(pl.col("area_id") == area_id)
    return rows.row(0, named=True) if rows.height else None


def _compute(key, indicator_id: str, level: str, year: int) -> pl.DataFrame | None:
    try:
        return cache.compute(key, indicator_id, level, period=(year, year))
    except IndicatorRequestError:
        return None


def sizes_frame(key, cat: Catalogue, cohort_list: Sequence[Any], year: int, hf_id: str | None,
                area_short: str | None) -> pd.DataFrame:
    """Per cohort: its ages, persons and share of the population in the country (and in one
    helsefellesskap): the numbers of the cohort's prevalence indicator as the engine publishes them."""
    rows = []
    for cohort in cohort_list:
        prev = prevalence_indicator(cat, cohort.id)
        land = _compute(key, prev.id, "land", year) if prev is not None else None
        own = _compute(key, prev.id, "helsefellesskap", year) if prev is not None and hf_id else None
        land_row = _row_of(land) if land is not None else None
        own_row = _row_of(own, hf_id) if own is not None else None
        record = {"Pasientgruppe": cohort.name, "Alder": age_text(cohort),
                  "Personer, hele landet": _persons_text(land_row),
                  "Andel av befolkningen, hele landet": _value_text(prev, land_row) if prev else MISSING}
        if hf_id:
            record[f"Personer, {area_short}"] = _persons_text(own_row)
            record[f"Andel av befolkningen, {area_short}"] = _value_text(prev, own_row) if prev else MISSING
        rows.append(record)
    return pd.DataFrame(rows)


def cohort_definition(cohort: Any) -> None:
    """The cohort's definition and source in a short card."""
    st.html(
        f'<div class="ind-card"><div class="ind-title">{text.esc(cohort.name)}</div>'
        f"<div>{text.esc(' '.join(str(cohort.definition).split()))}</div>"
        f'<div class="ind-meta">Alder: {text.esc(age_text(cohort))} · Kilde: {text.esc(cohort.source)}</div></div>'
    )


def cohort_size(key, cat: Catalogue, cohort: Any, year: int, hf_id: str, *, level: str, synthetic: bool,
                prefix: str) -> None:
    """How many persons, what share of the population, and how that varies across the 19: metrics,
    the ranked bars and the map (with their table twins)."""
    prev = prevalence_indicator(cat, cohort.id)
    hf = _compute(key, prev.id, "helsefellesskap", year) if prev is not None else None
    land = _compute(key, prev.id, "land", year) if prev is not None else None
    if hf is None or land is None or hf.height == 0:
        st.info(f"Ingen data for {cohort.short_name.lower()} i {year}.")
        return
    hf = analysis.with_significance(hf, prev, tables.CONFIDENCE_VALUES[level])
    labels = pickers.labels_for(key, "helsefellesskap")
    land_row, own_row = _row_of(land), _row_of(hf, hf_id)
    shown = hf.filter(pl.col("value").is_not_null()).sort("value")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(f"Personer i hele landet, {year}", _persons_text(land_row))
    c2.metric(f"Andel av befolkningen {age_text(cohort)}", _value_text(prev, land_row))
    c3.metric(f"{labels.get(hf_id, hf_id)}: personer og andel",
              f"{_persons_text(own_row)} · {_value_text(prev, own_row)}")
    if shown.height:
        low, high = shown.row(0, named=True), shown.row(-1, named=True)
        c4.metric("Fra lavest til høyest blant de 19", f"{text.value(prev, low['value'])}–{text.with_unit(prev, high['value'])}",
                  help=f"Lavest: {labels.get(low['area_id'], low['area_name'])}. "
                       f"Høyest: {labels.get(high['area_id'], high['area_name'])}.")
    period_text = str(year)
    table_label = f"{cohort.short_name} i tabell (alle 19 helsefellesskap)"
    left, right = st.columns([1, 1.25], gap="large")
    with right:
        fig = charts.ranked_bars(hf, prev, period=period_text, labels=labels, highlight=hf_id, synthetic=synthetic,
                                 level=level)
        st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key=f"{prefix}_size_bars",
                        alt=summaries.ranking_alt(hf, prev, labels) + summaries.numbers_in(table_label))
        st.html(tables.significance_legend(prev.direction))
    with left:
        st.subheader(f"Kart: {cohort.short_name.lower()}, {period_text}", anchor=False)
        maps.choropleth(hf, prev, level="helsefellesskap", colour_by="significance", highlight=hf_id, height=520,
                        key=f"{prefix}_size_map")
    with st.expander(table_label, expanded=False):
        tables.show(hf.sort("value", descending=True, nulls_last=True), prev, key=f"{prefix}_size_table",
                    name_label="Helsefellesskap", level=level)


def service_profile(key, cat: Catalogue, cohort: Any, hf_id: str, area_short: str, year: int, *, level: str) -> None:
    """The cohort's use of services per person in one helsefellesskap against the country: the spine table."""
    ids = [i.id for i in cohort_indicators(cat, cohort.id)]
    if len(ids) <= 1:
        st.info(f"Katalogen har ingen indikatorer for bruk av tjenester i gruppen {cohort.short_name.lower()} ennå.")
        return
    try:
        profile = cache.profile(key, hf_id, year, tables.CONFIDENCE_VALUES[level])
    except (IndicatorRequestError, KeyError) as error:
        st.warning(f"Profilen kan ikke vises: {error}")
        return
    rows = profile.filter(pl.col("indicator_id").is_in(ids))
    if rows.height == 0:
        st.info(f"Ingen tall for bruk av tjenester i gruppen {cohort.short_name.lower()}.")
        return
    order = {i: n for n, i in enumerate(ids)}
    rows = rows.with_columns(pl.col("indicator_id").replace_strict(order, default=len(order)).alias("_order"),
                             pl.lit("_cohort").alias("group")).sort("_order").drop("_order")
    st.html(spine.spine_table(rows, cat, "_cohort",
                              f"{cohort.short_name}: bruk av tjenester i {area_short} sammenlignet med landet",
                              area_short))
    st.caption("Andeler er andelen av personene i pasientgruppen (Wilson-intervall). «Per person» er hendelser delt "
               "på personene i gruppen, med eksakt Poisson- eller Byar-intervall for antallet hendelser; "
               "registertall varierer ofte mer enn Poisson-modellen antar, så intervallene kan være for smale.")


def seed_sentralitet_indicator(cat: Catalogue, cohort: Any, *, prefix: str) -> str | None:
    """The indicator shown by sentralitet (URL ``indicator``): one of the cohort's, its prevalence by default."""
    options = [i.id for i in cohort_indicators(cat, cohort.id)]
    if not options:
        return None
    return state.seed(f"{prefix}_indicator", "indicator", options, options[0], what="indikator",
                      describe=lambda i: f"«{cat.indicator(i).short_name}»")


def sentralitet(key, cat: Catalogue, cohort: Any, hf_id: str, area_short: str, year: int, *, level: str,
                synthetic: bool, prefix: str) -> None:
    """Any of the cohort's indicators by sentralitet class 1–6 for the country, and the kommuner of one
    helsefellesskap with their class (``comparison.sentralitet_section``)."""
    options = [i.id for i in cohort_indicators(cat, cohort.id)]
    if seed_sentralitet_indicator(cat, cohort, prefix=prefix) is None:
        st.info("Ingen indikatorer for pasientgruppen etter sentralitet ennå.")
        return
    ind = cat.indicator(st.selectbox("Indikator etter sentralitet", options, key=f"{prefix}_indicator",
                                     format_func=lambda i: cat.indicator(i).name))
    members = pickers.kommuner_in(key, helsefellesskap=hf_id)
    kommune_table = _compute(key, ind.id, "kommune", year)
    if kommune_table is not None:
        kommune_table = analysis.with_funnel(kommune_table.filter(pl.col("area_id").is_in(members)),
                                             cache.funnel(key, ind.id, "kommune", (year, year)), ind,
                                             tables.CONFIDENCE_VALUES[level])
    comparison.sentralitet_section(key, ind, (year, year), level=level, synthetic=synthetic, prefix=prefix,
                                   kommune_table=kommune_table, members_name=area_short)


def overlap_rows(key, area_id: str, level: str, year: int) -> pl.DataFrame | None:
    """The overlap rows of one area (None when the overlap is not available for this store or year)."""
    table = cache.overlap(key, level, year)
    if table is None:
        return None
    rows = table.filter(pl.col("area_id") == area_id)
    return rows if rows.filter(pl.col("kind") == "combination").height else None


def overlap_sizes(key, cat: Catalogue, rows: pl.DataFrame, level: str, area_id: str, year: int) -> list[int | None]:
    """Persons in each of the four groups (whatever else they belong to), in the overlap's order: the
    overlap's own group rows, else the numerators of the groups' prevalence indicators."""
    groups = {r["combination"]: r["persons"] for r in rows.filter(pl.col("kind") == "group").iter_rows(named=True)}
    sizes = []
    for cohort_id in OVERLAP_GROUPS:
        if cohort_id in groups:
            sizes.append(groups[cohort_id])
            continue
        prev = prevalence_indicator(cat, cohort_id)
        table = _compute(key, prev.id, level, year) if prev is not None else None
        row = _row_of(table, area_id if level != "land" else None) if table is not None else None
        sizes.append(int(row["numerator"]) if row is not None and row.get("numerator") is not None else None)
    return sizes


def overlap_view(key, cat: Catalogue, area_id: str, area_name: str, level: str, year: int, *, synthetic: bool,
                 prefix: str) -> None:
    """One area's UpSet chart and its table twin."""
    rows = overlap_rows(key, area_id, level, year)
    if rows is None:
        st.info(f"Ingen data om overlapp mellom gruppene for {area_name} i {year}.")
        return
    cells = rows.filter(pl.col("kind") == "combination")
    names = overlap_names(cat)
    union = rows.filter(pl.col("kind") == "union")
    if union.height:
        u = union.row(0, named=True)
        st.metric(f"Personer i minst én av de fire gruppene, {area_name}",
                  text.count(u["persons"]) if u["persons"] is not None else HIDDEN_TEXT,
                  help="Hver person telles én gang. Summen vises bare når alle kombinasjonene vises; ellers kunne "
                       "den avsløre et skjult tall.")
    table_label = f"Overlappen i tabell: {area_name}"
    fig = upset.upset_figure(
        cells, names, set_sizes=overlap_sizes(key, cat, rows, level, area_id, year),
        title=f"Overlapp mellom de fire pasientgruppene: {area_name}, {year}",
        subtitle="Personer i nøyaktig hver kombinasjon av gruppene (søylene), hvilke grupper kombinasjonen består av "
                 "(prikkene) og antall personer i hver gruppe i alt (til venstre). «: skjult» = for få personer"
                 + (" · SYNTETISKE DEMODATA" if synthetic else ""),
    )
    st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key=f"{prefix}_upset_{level}",
                    alt=upset.overlap_alt(cells, names, area_name) + summaries.numbers_in(table_label))
    with st.expander(table_label, expanded=False):
        st.dataframe(upset.overlap_table(cells, names), hide_index=True, width="stretch",
                     key=f"{prefix}_upset_table_{level}")


def overlap_section(key, cat: Catalogue, hf_id: str, area_short: str, year: int, *, synthetic: bool,
                    prefix: str) -> None:
    """The overlap for one helsefellesskap and for the country, in two tabs."""
    st.markdown("Mange personer hører til mer enn én av de fire prioriterte gruppene. Søylene viser hvor mange som "
                "hører til **nøyaktig** hver kombinasjon – en person telles bare én gang. Tall under terskelen og tall "
                "som kunne avsløre dem, er skjult («: skjult») og vises aldri som 0.")
    own_tab, land_tab = st.tabs([area_short, "Hele landet"])
    with own_tab:
        overlap_view(key, cat, hf_id, area_short, "helsefellesskap", year, synthetic=synthetic, prefix=prefix)
    with land_tab:
        overlap_view(key, cat, LAND_ID, "hele landet", "land", year, synthetic=synthetic, prefix=prefix)


def population_links(cat: Catalogue, group_id: str, *, prefix: str) -> None:
    """The group's population-rate indicators, each a link to Oversikt with the indicator chosen."""
    inds = population_indicators(cat, group_id)
    if not inds:
        st.info("Gruppen har ingen indikatorer for bruk av tjenester i befolkningen.")
        return
    st.markdown("Disse indikatorene måler hendelser i **hele befolkningen** i en aldersgruppe (for eksempel "
                "innleggelser per 1 000 innbyggere 80 år og eldre), ikke i pasientgruppen. De svarer på andre "
                "spørsmål og vises på siden Oversikt.")
    for ind in inds:
        st.page_link("app_pages/oversikt.py", label=f"{ind.name} ({text.unit_phrase(ind)})",
                     query_params={"group": group_id, "indicator": ind.id}, icon=":material/arrow_forward:")


# --- the Helsefellesskap profile: each group opens with its cohort ---------------------------------


def population_rows(profile: pl.DataFrame, cat: Catalogue) -> pl.DataFrame:
    """The profile's population-rate indicators (those without a cohort)."""
    ids = [i.id for i in cat.indicators if not is_cohort_indicator(i)]
    return profile.filter(pl.col("indicator_id").is_in(ids))


def profile_block(key, cat: Catalogue, group_id: str, hf_id: str, area_short: str, year: int, *,
                  profile: pl.DataFrame, prefix: str) -> bool:
    """Under a group's heading on the Helsefellesskap profile: "Pasientgruppen" (the cohorts' sizes and
    the spine table of their indicators) and the heading "Bruk av tjenester i befolkningen" for what
    follows. False (nothing drawn) for a group without a cohort."""
    group_cohorts = cohorts_of(cat, group_id)
    if not group_cohorts:
        return False
    st.subheader(COHORT_HEADING, anchor=f"pasientgruppen-{group_id}")
    latest = [y for ind in (prevalence_indicator(cat, c.id) for c in group_cohorts) if ind is not None
              for y in cache.available_years(key, ind.id) if y <= year]
    if latest:
        size_year = max(latest)
        st.dataframe(sizes_frame(key, cat, group_cohorts, size_year, hf_id, area_short), hide_index=True,
                     width="stretch", key=f"{prefix}_cohort_sizes_{group_id}")
        st.caption(f"Personer i pasientgruppen og andel av befolkningen i gruppens alder, {size_year}. "
                   "«: skjult» = for få personer til å vises.")
    ids = [i.id for c in group_cohorts for i in cohort_indicators(cat, c.id)]
    order = {i: n for n, i in enumerate(ids)}
    rows = profile.filter(pl.col("indicator_id").is_in(ids))
    if rows.height:
        rows = rows.with_columns(pl.col("indicator_id").replace_strict(order, default=len(order)).alias("_order"),
                                 pl.lit("_cohort").alias("group")).sort("_order").drop("_order")
        st.html(spine.spine_table(rows, cat, "_cohort",
                                  f"{area_short}: pasientgruppen og dens bruk av tjenester per person, mot landet",
                                  area_short))
    st.page_link("app_pages/pasientgrupper.py", label="Mer om pasientgruppen: kart, sentralitet og overlapp",
                 query_params={"group": group_id, "area": hf_id}, icon=":material/arrow_forward:")
    st.subheader(POPULATION_HEADING, anchor=f"befolkningen-{group_id}")
    return True


def profile_overlap(key, cat: Catalogue, hf_id: str, area_short: str, year: int, *, synthetic: bool,
                    prefix: str) -> None:
    """The overlap between the four groups in one helsefellesskap (latest year with overlap data up to ``year``)."""
    if getattr(cat, "overlap", None) is None:
        return
    st.header("Overlapp mellom de fire pasientgruppene", anchor="overlapp", divider="gray")
    prev = prevalence_indicator(cat, OVERLAP_GROUPS[0])
    years = [y for y in cache.available_years(key, prev.id) if y <= year] if prev is not None else []
    if not years:
        st.info(f"Ingen data om overlapp mellom gruppene for {area_short} til og med {year}.")
        return
    overlap_view(key, cat, hf_id, area_short, "helsefellesskap", max(years), synthetic=synthetic, prefix=prefix)
