"""Comparison groups on the pages: KOSTRA groups (similar kommuner), sentralitet, Oslo's hospital sectors.

Every number comes from the engine at its own level (``kostragruppe``, ``sentralitet``,
``helseforetak``, ``bydel``), so each group's value is suppressed like any other area's: nothing
here sums or recomputes counts.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from indicators import IndicatorRequestError, analysis
from indicators.catalogue import Indicator

from ui import cache, charts, summaries, tables, text, theme, tilemap

SENTRALITET_LABELS = {
    "1": "Sentralitet 1 (mest sentral)",
    "2": "Sentralitet 2",
    "3": "Sentralitet 3",
    "4": "Sentralitet 4",
    "5": "Sentralitet 5",
    "6": "Sentralitet 6 (minst sentral)",
}
OSLO_ID = "oslo"
OSLO_SECTORS = ("ous", "lovisenberg", "diakonhjemmet")  # Oslo's own hospital sectors
AKERSHUS_ID = "ahus"  # Grorud and Stovner belong to Ahus's area


def kostra_label(group_id: str | None) -> str:
    """``EKG07`` -> ``KOSTRA-gruppe 7``."""
    if not group_id:
        return "–"
    return f"KOSTRA-gruppe {int(group_id.removeprefix('EKG'))}" if group_id.removeprefix("EKG").isdigit() else group_id


# --- KOSTRA groups: similar kommuner ------------------------------------------------------------


def with_kostra_benchmark(key, ind: Indicator, period: tuple[int, int], table: pl.DataFrame) -> pl.DataFrame:
    """Kommune rows with their KOSTRA group (``kostragruppe_navn``) and its value (``kostragruppe_verdi``)."""
    groups = cache.compute(key, ind.id, "kostragruppe", period=period).select(
        pl.col("area_id").alias("kostragruppe"), pl.col("value").alias("kostragruppe_verdi"))
    member = cache.areas(key).select(pl.col("kommunenummer").alias("area_id"), "kostragruppe")
    return (table.join(member, on="area_id", how="left")
            .join(groups, on="kostragruppe", how="left")
            .with_columns(pl.col("kostragruppe").map_elements(kostra_label, return_dtype=pl.String)
                          .alias("kostragruppe_navn"))
            .drop("kostragruppe"))


def similar_kommuner(key, ind: Indicator, period: tuple[int, int], kommune_id: str, *, level: str, synthetic: bool,
                     widget_key: str) -> None:
    """The chosen kommune beside its KOSTRA group and the country, and the group's kommuner in a table."""
    areas = cache.areas(key)
    row = areas.filter(pl.col("kommunenummer") == kommune_id)
    if row.height == 0:
        return
    info = row.row(0, named=True)
    group_id = info["kostragruppe"]
    group_name = kostra_label(group_id)
    try:
        kommuner = cache.compute(key, ind.id, "kommune", period=period)
        groups = cache.compute(key, ind.id, "kostragruppe", period=period)
    except IndicatorRequestError as error:
        st.warning(f"Kan ikke vise sammenligningen: {error}")
        return
    own = kommuner.filter(pl.col("area_id") == kommune_id)
    group = groups.filter(pl.col("area_id") == group_id)
    own_value = own["value"][0] if own.height else None
    group_value = group["value"][0] if group.height else None
    national = kommuner["national_value"].drop_nulls()
    national_value = national[0] if len(national) else None
    members = areas.filter(pl.col("kostragruppe") == group_id)["kommunenummer"].to_list()
    c1, c2, c3 = st.columns(3)
    c1.metric(info["kommunenavn"], text.with_unit(ind, own_value))
    c2.metric(f"{group_name} ({len(members)} kommuner)", text.with_unit(ind, group_value))
    c3.metric("Hele landet", text.with_unit(ind, national_value))
    parts = [f"{info['kommunenavn']} er i {group_name} i SSBs KOSTRA-gruppering 2024, sammen med "
             f"{len(members) - 1} andre kommuner med lignende folkemengde, bosettingsmønster og økonomiske "
             "rammebetingelser."]
    if group.height and group_value is not None:
        parts.append(f"Gruppens verdi, {text.with_unit(ind, group_value)}, er regnet ut fra alle kommunene i gruppen "
                     f"(95 % KI {text.interval(ind, group['lower_95'][0], group['upper_95'][0])}) og er "
                     f"{theme.ASSESSMENT_LABELS.get(group['assessment'][0] or 'not_compared', 'ikke sammenlignet').lower()}.")
    elif group.height:
        parts.append(f"Gruppens verdi vises ikke: {text.flag_note(group['flag'][0], group['flag_label'][0]).lower()}.")
    st.caption(" ".join(parts) + (" Syntetiske demodata." if synthetic else ""))
    label = f"Kommunene i {group_name}"
    with st.expander(label, expanded=False):
        rows = kommuner.filter(pl.col("area_id").is_in(members)).sort("value", descending=True, nulls_last=True)
        tables.show(rows, ind, key=widget_key, name_label="Kommune", level=level)


# --- sentralitet ---------------------------------------------------------------------------------


def sentralitet_label(class_id: str | None) -> str:
    return SENTRALITET_LABELS.get(str(class_id), "–") if class_id is not None else "–"


def sentralitet_bars(table: pl.DataFrame, ind: Indicator, *, period: str, synthetic: bool,
                     level: str = "95") -> go.Figure:
    """Horizontal bars for classes 1-6 (1 at the top) with intervals, coloured by the comparison with the country."""
    rows = table.sort("area_id")
    labels = [sentralitet_label(a) for a in rows["area_id"]]
    level_text = "99,8 %" if level == "99_8" else "95 %"
    colours, texts, upper, lower, custom = [], [], [], [], []
    for r in rows.iter_rows(named=True):
        value = r["value"]
        colours.append(theme.ASSESSMENT_COLOURS.get(r["assessment"], theme.NOT_COMPARED) if value is not None
                       else theme.NOT_COMPARED)
        texts.append(f"{text.value(ind, value)} {theme.SIGNIFICANCE_SYMBOLS.get(r['significance'], '')}".strip()
                     if value is not None else f"– {text.flag_note(r['flag'], r['flag_label'])}")
        up, lo = r[f"upper_{level}"], r[f"lower_{level}"]
        upper.append((up - value) if value is not None and up is not None else 0)
        lower.append((value - lo) if value is not None and lo is not None else 0)
        custom.append([text.interval(ind, lo, up), text.status(r["assessment"], r["significance"])])
    data = [dict(
        type="bar", orientation="h", y=labels, x=[v if v is not None else 0 for v in rows["value"]],
        marker=dict(color=colours, line=dict(color="#333", width=0.8)),
        error_x=dict(type="data", symmetric=False, array=upper, arrayminus=lower, color="#1A1A1A", thickness=1.4,
                     width=4),
        text=texts, textposition="inside", insidetextanchor="start",
        textfont=dict(color=[theme.ON_COLOUR.get(c, "#1A1A1A") for c in colours], size=13),
        customdata=custom,
        hovertemplate=f"<b>%{{y}}</b><br>Verdi: %{{x:,.1f}}<br>{level_text} KI: %{{customdata[0]}}"
                      "<br>%{customdata[1]}<extra></extra>",
    )]
    layout = charts.base_layout(f"{ind.short_name}: etter sentralitet",
                                text.subtitle(ind, period, synthetic,
                                              f"SSBs sentralitetsklasser, linjene viser {level_text} konfidensintervall"),
                                height=420, wrap=80, bottom=50)
    national = table["national_value"].drop_nulls()
    if len(national):
        nat = float(national[0])
        layout["shapes"] = [dict(type="line", x0=nat, x1=nat, xref="x", y0=0, y1=1, yref="y domain",
                                 line=dict(color=theme.NATIONAL_LINE, width=2, dash="dash"))]
        layout["annotations"] = [dict(x=nat, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                                      text=f"Landet: {text.value(ind, nat)}", font=dict(size=13, color=theme.TEXT),
                                      bgcolor="rgba(255,255,255,0.85)")]
    layout["yaxis"] = dict(categoryorder="array", categoryarray=list(reversed(labels)), ticks="",
                           tickfont=dict(size=13), showgrid=False, automargin=True)
    layout["xaxis"] = dict(title=dict(text=text.unit_short(ind)), rangemode="tozero", automargin=True,
                           gridcolor="#E5E5E5")
    layout.update(bargap=0.25, showlegend=False)
    return go.Figure(data=data, layout=layout)


def sentralitet_section(key, ind: Indicator, period: tuple[int, int], *, level: str, synthetic: bool, prefix: str,
                        kommune_table: pl.DataFrame | None = None, members_name: str | None = None) -> None:
    """"Etter sentralitet": the country's classes 1-6 as bars and a table (compared with the country at
    the confidence ``level``, "95" or "99_8"); with ``kommune_table`` (the published rows of one
    helsefellesskap's kommuner, as its page compares them) also each kommune's class and value.

    The helsefellesskap's own classes are not computed from its kommuner (that would sum counts the
    kommune level hides); the table shows the published kommune values instead.
    """
    try:
        table = cache.compute(key, ind.id, "sentralitet", period=period)
    except IndicatorRequestError as error:
        st.warning(f"Kan ikke vise indikatoren etter sentralitet: {error}")
        return
    table = tables_with_labels(analysis.with_significance(table, ind, tables.CONFIDENCE_VALUES[level]))
    period_text = (f"{period[0]}" if period[0] == period[1] else f"{period[0]}–{period[1]}")
    table_label = "Sentralitetsklassene i tabell"
    shown = table.filter(pl.col("value").is_not_null())
    alt = (f"Søylediagram over {ind.short_name} i SSBs seks sentralitetsklasser for hele landet, {period_text}. "
           + (" ".join(f"{r['area_name']}: {text.with_unit(ind, r['value'])}." for r in shown.iter_rows(named=True)))
           + summaries.numbers_in(table_label))
    st.plotly_chart(sentralitet_bars(table, ind, period=period_text, synthetic=synthetic, level=level),
                    theme=None, config=theme.PLOTLY_CONFIG, key=f"{prefix}_sentralitet_bars", alt=alt)
    st.caption("SSBs sentralitetsindeks (2020, med kommunenummer fra 2024) deler kommunene i seks klasser etter "
               "hvor mange arbeidsplasser og tjenester innbyggerne når innen 90 minutters reise. Hver klasses verdi "
               "er regnet ut fra alle kommunene i klassen i hele landet.")
    with st.expander(table_label, expanded=False):
        tables.show(table, ind, key=f"{prefix}_sentralitet_table", name_label="Sentralitet", level=level)
    if kommune_table is None:
        return
    areas = cache.areas(key).select(pl.col("kommunenummer").alias("area_id"), "sentralitet")
    kommuner = (kommune_table.join(areas, on="area_id", how="left")
                .with_columns(pl.col("sentralitet").map_elements(sentralitet_label, return_dtype=pl.String)
                              .alias("sentralitet_navn"))
                .sort(["sentralitet", "value"], descending=[False, True], nulls_last=True))
    counts = kommuner.group_by("sentralitet").len().sort("sentralitet")
    spread = ", ".join(f"{n} i klasse {c}" for c, n in counts.iter_rows())
    st.markdown(f"**Kommunene i {text.esc(members_name or 'helsefellesskapet')} etter sentralitet** ({spread})")
    st.caption("Helsefellesskapets egne klasser regnes ikke ut av kommunetallene (det kunne avsløre skjulte "
               "tall); tabellen viser hver kommunes klasse og dens publiserte verdi.")
    tables.show(kommuner, ind, key=f"{prefix}_sentralitet_kommuner", name_label="Kommune", level=level,
                extra={"sentralitet_navn": "Sentralitet"})


def tables_with_labels(table: pl.DataFrame) -> pl.DataFrame:
    """Sentralitet rows named "Sentralitet 1 (mest sentral)" … and in class order."""
    return table.with_columns(pl.col("area_id").map_elements(sentralitet_label, return_dtype=pl.String)
                              .alias("area_name")).sort("area_id")


# --- Oslo: the four hospital sectors and the bydeler -------------------------------------------


def oslo_sectors(key, ind: Indicator, period: tuple[int, int], *, level: str, synthetic: bool,
                 colour_by: str = "significance") -> None:
    """Oslo's hospital sectors (OUS, Lovisenberg, Diakonhjemmet; Grorud and Stovner in Ahus's area),
    and the bydeler in a table and a labelled tile map."""
    try:
        sectors = cache.compute(key, ind.id, "helseforetak", period=period)
        bydeler = cache.compute(key, ind.id, "bydel", period=period)
    except IndicatorRequestError as error:
        st.warning(f"Kan ikke vise Oslos sykehussektorer: {error}")
        return
    period_text = f"{period[0]}" if period[0] == period[1] else f"{period[0]}–{period[1]}"
    units = cache.units(key).filter(pl.col("bydel").is_not_null() & (pl.col("kommunenummer") == "0301"))
    sector_names = dict(zip(sectors["area_id"].to_list(), sectors["area_name"].to_list()))
    sector_of = {b: sector_names.get(h, h) for b, h in zip(units["bydel"].to_list(), units["helseforetak_id"].to_list())}
    st.subheader("Oslos sykehussektorer", anchor="sektorer")
    in_ahus = sorted(n for n, b in zip(units["unit_name"].to_list(), units["bydel"].to_list())
                     if sector_of.get(b) == sector_names.get(AKERSHUS_ID))
    st.markdown(
        "Helsefellesskap Oslo dekker hele Oslo, men spesialisthelsetjenesten er delt i sektorer etter bydel: "
        + "; ".join(f"**{text.esc(sector_names.get(s, s))}**: "
                    + ", ".join(text.esc(n) for n, b in zip(units["unit_name"].to_list(), units["bydel"].to_list())
                                if sector_of.get(b) == sector_names.get(s))
                    for s in OSLO_SECTORS)
        + (f". {' og '.join(text.esc(n) for n in in_ahus)} hører til opptaksområdet til "
           f"**{text.esc(sector_names.get(AKERSHUS_ID, 'Akershus'))}** (Ahus)." if in_ahus else ".")
    )
    confidence = tables.CONFIDENCE_VALUES[level]
    sector_rows = analysis.with_significance(sectors.filter(pl.col("area_id").is_in([*OSLO_SECTORS, AKERSHUS_ID])),
                                             ind, confidence)
    bydeler = analysis.with_significance(bydeler, ind, confidence)
    st.caption("Verdiene gjelder helseforetaksområdene slik SKDE avgrenser dem. Akershus-området omfatter også "
               "kommunene i Ahus' opptaksområde utenfor Oslo, ikke bare Grorud og Stovner.")
    tables.show(sector_rows, ind, key="hf_oslo_sectors", name_label="Helseforetaksområde", level=level)

    st.subheader(f"Bydelene i Oslo, {period_text}", anchor="bydeler")
    oslo_bydeler = bydeler.filter(pl.col("area_id").is_in(units["bydel"].to_list()))
    tilemap.tile_map(oslo_bydeler, ind, tilemap.OSLO_BYDEL_TILES,
                     title=f"{ind.short_name}: bydelene i Oslo",
                     subtitle=text.subtitle(ind, period_text, synthetic, "rutekart: hver rute er en bydel"),
                     name_label="Bydel", colour_by=colour_by, groups=sector_of, key="hf_oslo_tiles")
    st.caption("Bydelene kan ikke tegnes med kommunekartet prosjektet har; rutekartet plasserer dem omtrent der de "
               "ligger. Marka, Sentrum og «Uoppgitt bydel» er SSBs egne områder, ikke administrative bydeler.")
    frame = oslo_bydeler.with_columns(pl.col("area_id").replace_strict(sector_of, default="").alias("sektor"))
    tables.show(frame.sort("value", descending=True, nulls_last=True), ind, key="hf_oslo_bydeler",
                name_label="Bydel", level=level, extra={"sektor": "Helseforetaksområde"})
