"""Short Norwegian text summaries of engine tables: the answers on top of each page and the
text alternatives (``alt``) for charts. They sort and count rows; they compute no statistic.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from indicators.catalogue import Indicator
from indicators.formatting import format_number

from ui import text, theme


def _shown(table: pl.DataFrame) -> pl.DataFrame:
    return table.filter(pl.col("value").is_not_null()).sort("value", descending=True)


def _significance_counts(table: pl.DataFrame) -> dict[str, int]:
    return {k: table.filter(pl.col("significance") == k).height for k in ("higher", "lower", "similar", "not_compared")}


def _describe(row: dict, ind: Indicator, labels: dict[str, str]) -> str:
    name = labels.get(row["area_id"], row["area_name"])
    sig = row["significance"]
    if sig in ("higher", "lower"):
        verdict = ("signifikant høyere enn landet" if sig == "higher" else "signifikant lavere enn landet")
        if row["assessment"] in ("better", "worse"):
            verdict += f" ({theme.ASSESSMENT_LABELS[row['assessment']].lower()})"
    else:
        verdict = "ikke signifikant forskjellig fra landet"
    return (f"<b>{text.esc(name)}</b>: {text.esc(text.with_unit(ind, row['value']))} "
            f"(95 % KI {text.esc(text.interval(ind, row['lower_95'], row['upper_95']))}) – "
            f"{theme.SIGNIFICANCE_SYMBOLS.get(sig, '')} {verdict}")


def ranking_answer(table: pl.DataFrame, ind: Indicator, labels: dict[str, str], period: str) -> str:
    """The box above the charts: highest, lowest, national value, and how many differ significantly."""
    shown = _shown(table)
    if shown.height == 0:
        return '<div class="answer-box">Ingen helsefellesskap har verdier som kan vises for dette valget.</div>'
    counts = _significance_counts(table)
    national = table["national_value"].drop_nulls()
    nat = text.with_unit(ind, national[0] if len(national) else None)
    hidden = counts["not_compared"]
    return (
        '<div class="answer-box" role="region" aria-label="Hovedfunn">'
        f"<div><b>Hovedfunn {text.esc(period)}</b> · landet: <b>{text.esc(nat)}</b></div>"
        f"<div>Høyest: {_describe(shown.row(0, named=True), ind, labels)}</div>"
        f"<div>Lavest: {_describe(shown.row(-1, named=True), ind, labels)}</div>"
        f"<div>Av {table.height} helsefellesskap er <b>{counts['higher']}</b> signifikant høyere (▲), "
        f"<b>{counts['lower']}</b> signifikant lavere (▼) og <b>{counts['similar']}</b> ikke signifikant forskjellige "
        f"fra landet (●){f'; {hidden} er skjult eller ikke rapportert' if hidden else ''}.</div>"
        "</div>"
    )


def numbers_in(label: str) -> str:
    """The end of a chart's text alternative: where its numbers are in a table."""
    return f" Tallene står i «{label}»."


def ranking_alt(table: pl.DataFrame, ind: Indicator, labels: dict[str, str]) -> str:
    shown = _shown(table)
    if shown.height == 0:
        return f"Søylediagram for {ind.short_name}: ingen verdier."
    top, bottom = shown.row(0, named=True), shown.row(-1, named=True)
    return (f"Søylediagram som rangerer helsefellesskapene etter {ind.short_name}. Høyest er "
            f"{labels.get(top['area_id'], top['area_name'])} ({text.with_unit(ind, top['value'])}), lavest "
            f"{labels.get(bottom['area_id'], bottom['area_name'])} ({text.with_unit(ind, bottom['value'])}).")


def trend_alt(national: pl.DataFrame, ind: Indicator, series: pl.DataFrame | None = None,
              highlight: str | None = None, labels: dict[str, str] | None = None) -> str:
    nat = national.filter(pl.col("value").is_not_null()).sort("year_start")
    if nat.height == 0:
        return f"Linjediagram for {ind.short_name}: ingen verdier."
    first, last = nat.row(0, named=True), nat.row(-1, named=True)
    sentence = (f"Linjediagram over tid for {ind.short_name}. Landet: {text.with_unit(ind, first['value'])} i "
                f"{first['year_start']} og {text.with_unit(ind, last['value'])} i {last['year_start']}.")
    if series is not None and highlight is not None:
        own = series.filter((pl.col("area_id") == highlight) & pl.col("value").is_not_null()).sort("year_start")
        if own.height:
            a, b = own.row(0, named=True), own.row(-1, named=True)
            name = (labels or {}).get(highlight, a["area_name"])
            sentence += (f" {name}: {text.with_unit(ind, a['value'])} i {a['year_start']} og "
                         f"{text.with_unit(ind, b['value'])} i {b['year_start']}.")
    return sentence


def variation_metrics(spread: dict, period: str) -> None:
    """The Helseatlas variation figures (SKDE's FT1, FT2, FT3, CV in per cent and SCV) with plain-language help."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Høy/lav-ratio (FT1)", format_number(spread.get("high_low_ratio"), 2),
              help="Høyeste verdi delt på laveste verdi blant helsefellesskapene som har verdi. "
                   "1,0 betyr ingen forskjell; 2,0 betyr at det høyeste er dobbelt så høyt som det laveste.")
    c2.metric("FT2 og FT3", f"{format_number(spread.get('ft2'), 2)} og {format_number(spread.get('ft3'), 2)}",
              help="FT2: nest høyeste delt på nest laveste verdi. FT3: tredje høyeste delt på tredje laveste. "
                   "De påvirkes mindre enn høy/lav-ratioen av ett enkelt ytterpunkt (som i Helseatlas).")
    c3.metric("Variasjonskoeffisient (CV)", f"{format_number(spread.get('cv_percent'), 1)} %"
              if spread.get("cv_percent") is not None else format_number(None, 1),
              help="Standardavviket i prosent av gjennomsnittet av verdiene (som Helseatlas oppgir den): "
                   "hvor stor spredningen er i forhold til nivået.")
    c4.metric("Systematisk variasjon (SCV)", format_number(spread.get("scv"), 2),
              help="Systematisk variasjonskomponent (×100, som i Helseatlas): den delen av variasjonen som ikke kan "
                   "forklares med tilfeldigheter. Høyere tall betyr mer reell (systematisk) variasjon.")
    st.caption(f"Variasjonsmålene gjelder {period} og bygger på {spread.get('n_areas', 0)} av "
               f"{spread.get('n_areas_total', 0)} helsefellesskap; skjulte eller ikke rapporterte verdier er holdt "
               "utenfor. De beregnes av indikatormotoren på de synlige verdiene.")


def funnel_answer(points: pl.DataFrame, scope_label: str, ind: Indicator) -> str:
    """Which kommuner lie outside the limits (the statsforvalter's question)."""
    if points.height == 0:
        return '<div class="answer-box">Ingen kommuner har verdier som kan vises i traktplottet for dette valget.</div>'
    out99 = points.filter(pl.col("position").is_in(["above_99_8", "below_99_8"])).sort("value", descending=True)
    out95 = points.filter(pl.col("position").is_in(["above_95", "below_95"])).sort("value", descending=True)

    def names(frame: pl.DataFrame) -> str:
        if frame.height == 0:
            return "ingen"
        return ", ".join(f"{text.esc(n)} ({'over' if p.startswith('above') else 'under'})"
                         for n, p in zip(frame["area_name"], frame["position"]))

    return (
        '<div class="answer-box" role="region" aria-label="Kommuner utenfor traktgrensene">'
        f"<div><b>{text.esc(scope_label)}: {points.height} {'kommune' if points.height == 1 else 'kommuner'} "
        "i traktplottet</b></div>"
        f"<div>Utenfor 99,8 %-grensene (svært sannsynlig reell forskjell): {names(out99)}</div>"
        f"<div>Mellom 95 %- og 99,8 %-grensene: {names(out95)}</div>"
        f"<div>Innenfor 95 %-grensene: {points.height - out99.height - out95.height} "
        f"{'kommune' if points.height - out99.height - out95.height == 1 else 'kommuner'} "
        "(forskjellen fra landet kan skyldes tilfeldigheter).</div></div>"
    )
