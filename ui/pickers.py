"""Widgets shared by the pages, each bound to a URL query parameter through ``ui.state``."""

from __future__ import annotations

import polars as pl
import streamlit as st

import indicators
from indicators.catalogue import Indicator

from ui import cache, layout, state

LEVEL_OPTIONS = {"helsefellesskap": "Helsefellesskap (19)", "kommune": "Kommuner (357)",
                 "helseforetak": "Helseforetak (21)", "sentralitet": "Sentralitet (6)",
                 "kostragruppe": "KOSTRA-grupper (17)"}
# The map's heading per level ("Kart: helsefellesskap, 2024").
LEVEL_MAP_NAMES = {"helsefellesskap": "helsefellesskap", "kommune": "kommuner", "helseforetak": "helseforetaksområder",
                   "sentralitet": "sentralitetsklasser", "kostragruppe": "KOSTRA-grupper"}


# The two headings of a group's indicators: the cohort's own (persons in the priority group, as
# Helsedirektoratet counts them) and the population-rate indicators (events in the whole population).
COHORT_HEADING = "Pasientgruppen"
POPULATION_HEADING = "Bruk av tjenester i befolkningen"
INDICATOR_HEADINGS_HELP = ("«Pasientgruppen»: personene i gruppen slik Helsedirektoratet teller dem – hvor mange de er, "
                           "og hvor mye de bruker tjenestene per person. «Bruk av tjenester i befolkningen»: "
                           "hendelser i hele befolkningen i en aldersgruppe, for eksempel per 1 000 innbyggere.")


def cohort_heading(ind: Indicator) -> bool:
    """True for an indicator of a cohort (heading "Pasientgruppen")."""
    return getattr(ind, "cohort", None) is not None


def headed_label(ind: Indicator) -> str:
    """``"Pasientgruppen: <name>"`` or ``"Bruk av tjenester i befolkningen: <name>"``."""
    return f"{COHORT_HEADING if cohort_heading(ind) else POPULATION_HEADING}: {ind.name}"


def headed_order(inds) -> list[Indicator]:
    """The population-rate indicators first (as before), then the cohort's: each heading's together."""
    return [i for i in inds if not cohort_heading(i)] + [i for i in inds if cohort_heading(i)]


def indicator_picker(prefix: str, *, group_column=None, indicator_column=None,
                     groups: list[str] | None = None) -> Indicator:
    """Priority group + indicator selectboxes (params ``group`` and ``indicator``).

    A valid ``indicator`` in the URL decides the group; otherwise ``group`` (or the indicator
    last chosen on another page, or the first indicator of the catalogue) does.
    """
    cat = cache.catalogue()
    group_ids = groups or [g.id for g in cat.groups]
    group_names = {g.id: g.name for g in cat.groups}
    gkey, ikey = f"{prefix}_group", f"{prefix}_indicator"
    candidates = [i for i in cat.indicators if i.group in group_ids]
    fallback = state.remembered("indicator", candidates[0].id)
    if fallback not in {i.id for i in candidates}:
        fallback = candidates[0].id
    if gkey not in st.session_state:
        raw_indicator = state.raw("indicator")
        if raw_indicator in {i.id for i in candidates}:
            own_group = cat.indicator(raw_indicator).group
            st.session_state[gkey] = own_group
            raw_group = state.raw("group")  # read, so it is never reported as unused
            if raw_group is not None and raw_group != own_group:
                chosen_name = f"«{cat.indicator(raw_indicator).short_name}»"
                if raw_group in group_names:
                    state.warn(f"Indikatoren {chosen_name} hører ikke til gruppen «{group_names[raw_group]}» i "
                               f"lenken, men til «{group_names[own_group]}». Viser {chosen_name} i sin egen gruppe.")
                else:
                    state.warn(f"Lenken inneholder en ukjent prioritert gruppe: {state.echo(raw_group)}. "
                               f"Viser {chosen_name} i gruppen «{group_names[own_group]}».")
        else:
            state.seed(gkey, "group", group_ids, cat.indicator(fallback).group, what="prioritert gruppe",
                       describe=lambda g: f"«{group_names.get(g, g)}»")
    with group_column or st.container():
        group = st.selectbox("Prioritert gruppe", group_ids, key=gkey, format_func=lambda g: group_names.get(g, g),
                             help="De fire prioriterte pasientgruppene i Nasjonal helse- og samhandlingsplan, "
                                  "og Pakkeforløp hjem for pasienter med kreft.")
    options = [i.id for i in headed_order(cat.in_group(group))]
    default = fallback if fallback in options else options[0]
    state.seed(ikey, "indicator", options, default, what="indikator",
               describe=lambda i: f"«{cat.indicator(i).short_name}»")
    with indicator_column or st.container():
        headed = any(cohort_heading(cat.indicator(i)) for i in options)  # both headings only where both exist
        chosen = st.selectbox("Indikator", options, key=ikey,
                              format_func=lambda i: headed_label(cat.indicator(i)) if headed else cat.indicator(i).name,
                              help=INDICATOR_HEADINGS_HELP if headed else None)
    state.remember("indicator", chosen)
    return cat.indicator(chosen)


def period_options(key: indicators.DataKey, ind: Indicator, *, pooled: bool = True) -> list[tuple[int, int]]:
    years = cache.available_years(key, ind.id)
    options = [(y, y) for y in sorted(years, reverse=True)]
    if pooled:
        options += [tuple(p) for p in cache.pooled_periods(key, ind.id)]
    return options


def period_picker(prefix: str, key: indicators.DataKey, ind: Indicator, *, pooled: bool = True,
                  label: str = "Periode") -> tuple[int, int] | None:
    """Single years (newest first) and the fixed pooled periods (param ``period``)."""
    options = period_options(key, ind, pooled=pooled)
    if not options:
        st.info(layout.no_data_text(ind))
        return None
    pkey = f"{prefix}_period"
    state.seed(pkey, "period", options, options[0], what="periode", parse=state.parse_period,
               describe=lambda p: state.period_label(p) + (" (de faste treårsperiodene er "
                                                          + ", ".join(state.period_label(o) for o in options if o[0] != o[1])
                                                          + ")" if pooled and any(o[0] != o[1] for o in options) else ""))
    return st.selectbox(label, options, key=pkey, format_func=state.period_label,
                        help="Enkeltår, eller en fast treårsperiode som slår sammen tre år (for små kommuner). "
                             "Bare de faste periodene kan velges, slik at skjulte tall ikke kan regnes ut.")


def helsefellesskap_picker(prefix: str, key: indicators.DataKey, *, param: str = "area",
                           label: str = "Helsefellesskap", default: str | None = None,
                           allow_none: bool = False, none_label: str = "Ingen") -> str | None:
    hf = cache.helsefellesskap(key)
    ids = hf["helsefellesskap_id"].to_list()
    names = dict(zip(ids, hf["helsefellesskap_navn"].to_list()))
    options: list[str | None] = ([None] if allow_none else []) + ids
    hkey = f"{prefix}_{param}"
    state.seed(hkey, param, options, default if default in options else options[0], what="helsefellesskap",
               describe=lambda h: f"«{names.get(h, none_label)}»")
    # Streamlit shows its placeholder (not format_func) for a None value: make it say "Ingen fremhevet" too.
    return st.selectbox(label, options, key=hkey, format_func=lambda h: names.get(h, none_label) if h else none_label,
                        placeholder=none_label)


def choice(prefix: str, param: str, label: str, options: dict[str, str], *, default: str, what: str,
           horizontal: bool = True, widget: str = "radio", help: str | None = None) -> str:
    """A small radio (or segmented control) bound to ``param``."""
    ckey = f"{prefix}_{param}"
    ids = list(options)
    state.seed(ckey, param, ids, default, what=what, describe=lambda v: f"«{options.get(v, v)}»")
    if widget == "segmented":
        value = st.segmented_control(label, ids, key=ckey, format_func=lambda v: options[v], help=help,
                                     selection_mode="single")
        if value is None:  # a segmented control can be cleared; keep the previous choice
            value = default
        return value
    return st.radio(label, ids, key=ckey, format_func=lambda v: options[v], horizontal=horizontal, help=help)


def labels_for(key: indicators.DataKey, level: str) -> dict[str, str]:
    """Short display names per area id (kortnavn for helsefellesskap)."""
    if level == "helsefellesskap":
        hf = cache.helsefellesskap(key)
        return dict(zip(hf["helsefellesskap_id"].to_list(), hf["kortnavn"].to_list()))
    if level == "kommune":
        areas = cache.areas(key)
        return dict(zip(areas["kommunenummer"].to_list(), areas["kommunenavn"].to_list()))
    # helseforetak (SKDE's 21 areas), bydel, rhf, fylke, sentralitet, kostragruppe, land: the store's names
    names = indicators.data.level_names(key, level)
    return dict(zip(names["area_id"].to_list(), names["short_name"].to_list()))


def kommuner_in(key: indicators.DataKey, *, fylke: str | None = None, helsefellesskap: str | None = None) -> list[str]:
    areas = cache.areas(key)
    if fylke is not None:
        areas = areas.filter(pl.col("fylkesnummer") == fylke)
    if helsefellesskap is not None:
        areas = areas.filter(pl.col("helsefellesskap_id") == helsefellesskap)
    return areas["kommunenummer"].to_list()
