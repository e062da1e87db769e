"""Kommuner: the statsforvalter compares kommuner (funnel plot, table, map, pooled periods).

URL: ?scope=land|fylke|helsefellesskap&area=<fylkesnummer or hf id>&group=&indicator=&period=2024|2023-2025
     &kommune=<kommunenummer compared with its KOSTRA group>
"""

import polars as pl
import streamlit as st

from indicators import IndicatorRequestError, analysis
from ui import (
    cache, charts, comparison, downloads, layout, maps, pickers, published_view, state, summaries, tables, text, theme,
)

key = cache.data_key()
synthetic = cache.is_synthetic(key)
TABLE_LABEL = "Kommunene i tabell"

layout.page_heading(
    "Kommuner: sammenligning innen fylke eller helsefellesskap",
    "For statsforvalteren og kommunene: hvilke kommuner skiller seg ut fra landet mer enn tilfeldig variasjon "
    "kan forklare? Traktplottet viser hver kommune mot antall innbyggere eller utskrivninger den bygger på.",
)

SCOPES = {"fylke": "Fylke (statsforvalter)", "helsefellesskap": "Helsefellesskap", "land": "Hele landet"}
c1, c2 = st.columns([1.3, 2])
with c1:
    scope = pickers.choice("ko", "scope", "Avgrens kommunene etter", SCOPES, default="land", what="avgrensning",
                           widget="segmented")
with c2:
    if scope == "fylke":
        fylker = cache.fylker(key)
        names = dict(zip(fylker["fylkesnummer"].to_list(), fylker["fylkesnavn"].to_list()))
        # Default: the fylke with the most kommuner (a funnel needs many points; Oslo is one kommune).
        sizes = cache.areas(key).group_by("fylkesnummer").len()
        largest = sizes.sort(["len", "fylkesnummer"], descending=[True, False])["fylkesnummer"][0] if sizes.height else None
        state.seed("ko_area_fylke", "area", list(names), largest if largest in names else list(names)[0], what="fylke",
                   describe=lambda f: f"«{names.get(f, f)}»")
        area = st.selectbox("Fylke", list(names), key="ko_area_fylke", format_func=lambda f: f"{names[f]} ({f})")
        members = pickers.kommuner_in(key, fylke=area)
        scope_label = names[area]
    elif scope == "helsefellesskap":
        area = pickers.helsefellesskap_picker("ko", key, param="area", label="Helsefellesskap")
        members = pickers.kommuner_in(key, helsefellesskap=area)
        scope_label = pickers.labels_for(key, "helsefellesskap")[area]
    else:
        area = None
        members = None
        scope_label = "hele landet"
        st.caption("Alle 357 kommuner. Velg fylke eller helsefellesskap for å se færre.")

c3, c4, c5 = st.columns([1.1, 2.0, 0.9])
ind = pickers.indicator_picker("ko", group_column=c3, indicator_column=c4)
with c5:
    period = pickers.period_picker("ko", key, ind)
c6, c7 = st.columns([1.3, 2])
with c6:
    level = pickers.choice("ko", "konf", "Konfidensnivå", tables.CONFIDENCE_OPTIONS, default="95",
                           what="konfidensnivå", widget="segmented", help=tables.CONFIDENCE_HELP)
with c7:
    colour_by = pickers.choice("ko", "colour", "Farge i kartet", maps.COLOUR_MODES, default="significance",
                               what="fargevalg", widget="segmented")
confidence = tables.CONFIDENCE_VALUES[level]
# The kommune compared with its KOSTRA group (bottom of the page): any kommune, first in scope by default.
kommune_names = dict(zip(cache.areas(key)["kommunenummer"].to_list(), cache.areas(key)["kommunenavn"].to_list()))
kommune_ids = sorted(kommune_names, key=lambda k: (kommune_names[k], k))
in_scope = [k for k in kommune_ids if members is None or k in set(members)]
state.seed("ko_kommune", "kommune", kommune_ids, in_scope[0] if in_scope else kommune_ids[0], what="kommune",
           describe=lambda k: f"«{kommune_names.get(k, k)}»")
state.show_messages()
state.sync_url({"scope": scope, "area": area, "group": ind.group, "indicator": ind.id, "period": period,
                "colour": colour_by, "konf": level, "kommune": st.session_state["ko_kommune"]})

layout.indicator_card(ind)
if period is None:
    st.stop()
if ind.is_published:  # a publisher's own values: no funnel of ours
    if ind.level == "kommune":
        published_view.show(key, ind, period)
    else:
        st.info(f"{ind.published_by}: indikatoren er publisert per {published_view.LEVEL_NAMES.get(ind.level, ind.level).lower()}, "
                "ikke per kommune. Se siden Oversikt.")
    st.stop()

try:
    table = cache.compute(key, ind.id, "kommune", period=period)
    plot = cache.funnel(key, ind.id, "kommune", period, tuple(members) if members is not None else None)
except IndicatorRequestError as error:
    st.warning(f"Kan ikke vise indikatoren for dette valget: {error}")
    st.stop()
if members is not None:
    table = table.filter(pl.col("area_id").is_in(members))
period_text = state.period_label(period)

hidden = table.filter(pl.col("value").is_null()).height
if hidden and period[0] == period[1]:
    pooled = cache.pooled_periods(key, ind.id)
    if pooled:
        st.info(f"{hidden} av {table.height} kommuner har skjult eller manglende verdi i {period[0]}. "
                f"Velg en treårsperiode (for eksempel {state.period_label(tuple(pooled[0]))}) under «Periode» "
                "for å slå sammen tre år, slik at små kommuner kan vises.", icon=":material/info:")

st.html(summaries.funnel_answer(plot.points, scope_label.capitalize() if scope == "land" else scope_label, ind))
label_outside = "95" if plot.points.height <= 80 else "99_8"
fig = charts.funnel_plot(plot.points, plot.limits, plot.target, ind, period=period_text, synthetic=synthetic,
                         scope_label=scope_label, label_outside=label_outside, scale=plot.scale, x_label=plot.x_label)
scale_alt = ("observert mot forventet antall (indirekte standardisert for alder og kjønn), med 95 %- og 99,8 %-grenser "
             "rundt 1" if plot.scale == analysis.RATIO else
             "verdi mot nevner, med 95 %- og 99,8 %-grenser rundt landsverdien")
st.plotly_chart(fig, theme=None, config=theme.PLOTLY_CONFIG, key="ko_funnel",
                alt=f"Traktplott med {plot.points.height} kommuner i {scope_label}: {scale_alt}. Kommunene utenfor "
                    "grensene er listet over diagrammet." + summaries.numbers_in(TABLE_LABEL))
if plot.scale == analysis.RATIO:
    scale_note = ("Traktplottet viser forholdet mellom observert og forventet antall, der det forventede er regnet ut "
                  "fra landets rater for hver alders- og kjønnsgruppe (indirekte standardisering). Slik skiller en "
                  "kommune seg ikke ut bare fordi den har eldre innbyggere. 1 betyr som landet. ")
else:
    scale_note = ("Traktplottet bruker ikke-standardiserte (rå) verdier, slik at hver kommune sammenlignes med det som "
                  "er ventet ut fra tilfeldig variasjon ved dens størrelse. ")
st.caption(scale_note + "Kommuner med skjulte tall er ikke med. "
           + ("Navn vises for kommuner utenfor 95 %-grensene" if label_outside == "95"
              else "Navn vises for kommuner utenfor 99,8 %-grensene")
           + " der det er plass; pek på et punkt for å se navnet.")

positions = dict(zip(plot.points["area_id"].to_list(), plot.points["position_label"].to_list()))
# The table's comparison with the country follows the funnel (same scale, chosen level), so the two agree.
table = analysis.with_funnel(table, plot, ind, confidence)
areas = cache.areas(key).select("kommunenummer", "helsefellesskap_navn", "fylkesnavn")
table = table.join(areas, left_on="area_id", right_on="kommunenummer", how="left")
# Each kommune's KOSTRA group and the group's value: a second benchmark beside the country.
table = comparison.with_kostra_benchmark(key, ind, period, table)
CONTEXT = ("helsefellesskap_navn", "fylkesnavn", "kostragruppe_navn", "kostragruppe_verdi")
st.header(f"Kart: {scope_label}, {period_text}", anchor=False)
maps.choropleth(table.drop(CONTEXT), ind, level="kommune", kommuner=members,
                colour_by=colour_by, height=560, key="ko_map")
st.header(TABLE_LABEL, anchor=False)
st.caption("Klikk på en kolonneoverskrift for å sortere. «–» betyr skjult eller ikke rapportert; forklaringen står "
           f"i kolonnen Merknad. «Mot landet» følger traktplottets grenser ({tables.CONFIDENCE_OPTIONS[level]})"
           + (", på samme skala som traktplottet (observert mot forventet)." if plot.scale == analysis.RATIO else "."))
tables.show(table.sort("value", descending=True, nulls_last=True), ind, key="ko_table", name_label="Kommune",
            extra={k: v for k, v in (("kostragruppe_navn", "KOSTRA-gruppe"),
                                     ("kostragruppe_verdi", f"KOSTRA-gruppens verdi ({text.unit_short(ind)})"),
                                     ("helsefellesskap_navn", "Helsefellesskap"), ("fylkesnavn", "Fylke"))
                   if not (scope == "fylke" and k == "fylkesnavn") and not (scope == "helsefellesskap"
                                                                         and k == "helsefellesskap_navn")},
            funnel_positions=positions, level=level, height=560)
downloads.download_section(table.drop(CONTEXT), ind.id, "kommuner",
                           f"kommunetabellen ({scope_label}, {period_text})",
                           stem=downloads.file_stem(ind.id, "kommuner", scope, area, state.period_text(period)),
                           data_key=key)

st.header("Sammenlign med lignende kommuner", anchor="lignende-kommuner")
st.caption("SSBs KOSTRA-grupper samler kommuner med lignende folkemengde, bosettingsmønster og økonomiske "
           "rammebetingelser. Gruppens verdi er et annet sammenligningsgrunnlag enn landet.")
chosen = st.selectbox("Kommune", kommune_ids, key="ko_kommune", format_func=lambda k: f"{kommune_names[k]} ({k})")
comparison.similar_kommuner(key, ind, period, chosen, level=level, synthetic=synthetic, widget_key="ko_similar_table")
