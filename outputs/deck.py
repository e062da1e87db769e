"""The SSU meeting deck: a 16:9 PowerPoint (and PDF) for one helsefellesskap.

Slides: title; summary (the profile table: value, national value, significance with colour
AND symbol and words, trend arrow, rank among the 19); one slide per priority group with
its key indicator's trend (area vs national), position among the 19 helsefellesskap and
kommune variation; Pakkeforløp hjem (SP1 vs target, SP2/SP3 where reported); method and
sources; indicator definitions.

Charts are matplotlib images (``outputs.deck_charts``); tables and text are native
PowerPoint, so numbers can be copied and the text searched. Every number comes from the
public engine (already suppressed); a masked value is shown as "–" and explained, a value
that is not reported as "ikke rapportert", never as 0. The speaker notes of each group
slide list the kommune values.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from indicators import data
from outputs import deck_charts as charts
from indicators.analysis import profile, rank_of, rank_rule
from indicators.catalogue import Indicator
from indicators.catalogue import load_catalogue as _load_catalogue_with_published
from indicators.engine import (
    FLAG_LABELS, NOT_REPORTED, OK, SUPPRESSION_FLAGS, IndicatorRequestError, available_years, compute,
)
from outputs.exports import suppression_rule
from indicators.formatting import MISSING, decimals_for, format_number


def load_catalogue():
    """The computed catalogue: published indicators (Helseatlas, FHI) are not in the SSU deck."""
    from dataclasses import replace

    catalogue = _load_catalogue_with_published()
    return replace(catalogue, indicators=tuple(i for i in catalogue.indicators if not i.is_published))


PRIORITY_GROUPS = ("barn_og_unge", "psykisk_helse_rus", "skropelige_eldre", "flere_kroniske")
# The indicator whose charts represent a priority group (the group's first indicator if absent).
KEY_INDICATORS = {
    "barn_og_unge": "barn_oh_innleggelser",
    "psykisk_helse_rus": "psyk_oppfolging_7d",
    "skropelige_eldre": "eldre_oh_innleggelser_80",
    "flere_kroniske": "kronisk_unngaelige_innleggelser_18",
}
SP1, SP2, SP3 = "kreft_sp1_behovskartlegging", "kreft_sp2_behovskartlegging", "kreft_sp3_behovskartlegging"
GROUP_ORDER = ("barn_og_unge", "psykisk_helse_rus", "skropelige_eldre", "flere_kroniske", "pakkeforlop_hjem")

FONT = "Arial"  # universal in PowerPoint; LibreOffice renders it with a metric-compatible or wider font
NAVY = "163E73"
INK = "1A1A1A"
MUTED = "4A4F57"
RULE = "C9CED6"
BAND = "F3F5F8"
SYNTHETIC_RED = "B2182B"
ON_COLOUR = {"better": "FFFFFF", "higher": "FFFFFF"}
TREND_SHORT = {
    "increasing": "↗ Økende",
    "decreasing": "↘ Synkende",
    "no_significant_change": "→ Ingen sikker endring",
    "too_few_points": "· For få år",
}
MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
          "november", "desember")

SLIDE_WIDTH_IN = 13.333
SLIDE_HEIGHT_IN = 7.5


def norwegian_date(day: date) -> str:
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


def _hex(rgb: str):
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(rgb.lstrip("#").upper())


# --- data gathered once per deck --------------------------------------------------------------


@dataclass
class DeckContext:
    key: data.DataKey
    hf_id: str
    hf_name: str
    hf_short: str
    helseforetak: str
    partners: str
    kommuner: pl.DataFrame  # kommunenummer, kommunenavn
    hf_table: pl.DataFrame  # helsefellesskap_id, kortnavn (the 19)
    start: int
    end: int
    synthetic: bool
    extraction: str
    today: date

    @property
    def period_label(self) -> str:
        return str(self.end) if self.start == self.end else f"{self.start}–{self.end}"

    def years_for(self, indicator_id: str) -> list[int]:
        return [y for y in available_years(indicator_id, self.key) if self.start <= y <= self.end]

    def source_line(self, ind: Indicator, year_text: str) -> str:
        tail = " Syntetiske demodata." if self.synthetic else ""
        return f"Kilde: {ind.source}, {year_text}. Uttrekk {self.extraction}.{tail}"


def _context(helsefellesskap_id: str, years: tuple[int, int] | None, key) -> DeckContext:
    key = key or data.current_key()
    try:
        record = data.helsefellesskap_record(key, helsefellesskap_id)
    except KeyError as error:
        raise IndicatorRequestError(error.args[0]) from None
    loaded = sorted(data.years(key))
    if not loaded:
        raise IndicatorRequestError("the store has no years loaded")
    start, end = years if years is not None else (loaded[0], loaded[-1])
    start, end = int(start), int(end)
    if start > end:
        raise IndicatorRequestError(f"malformed year range {start}-{end}: the first year must not be after the last")
    outside = [y for y in (start, end) if y not in loaded]
    if outside:
        raise IndicatorRequestError(
            f"no data in {', '.join(map(str, outside))}; years with data: {loaded[0]}-{loaded[-1]}"
        )
    datasets = data.datasets(key)
    extraction = ", ".join(sorted({str(d) for d in datasets["extraction_date"].drop_nulls().to_list()})) or "ukjent"
    kommuner = (
        data.areas(key).filter(pl.col("helsefellesskap_id") == helsefellesskap_id)
        .select("kommunenummer", "kommunenavn").sort("kommunenummer")
    )
    return DeckContext(
        key=key, hf_id=helsefellesskap_id, hf_name=record["helsefellesskap_navn"], hf_short=record["kortnavn"],
        helseforetak=record["helseforetak"], partners=", ".join(p.strip() for p in (record.get("samarbeidende_sykehus") or "").split(";") if p.strip()),
        kommuner=kommuner, hf_table=data.helsefellesskap(key).select("helsefellesskap_id", "kortnavn"),
        start=start, end=end, synthetic=data.is_synthetic(key), extraction=extraction, today=date.today(),
    )


# --- pptx helpers -----------------------------------------------------------------------------------


def _inches(value: float):
    from pptx.util import Inches

    return Inches(value)


def _style_run(run, size: float, *, bold: bool = False, color: str = INK, italic: bool = False) -> None:
    from pptx.util import Pt

    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    run.font.color.rgb = _hex(color)


def _textbox(slide, left, top, width, height, paragraphs, *, size=12.0, color=INK, bold=False,
             align="left", anchor="top", spacing: float | None = None):
    """A text box; ``paragraphs`` is a list of str or of lists of (text, {style}) runs."""
    from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
    from pptx.util import Pt

    box = slide.shapes.add_textbox(_inches(left), _inches(top), _inches(width), _inches(height))
    frame = box.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.margin_left = frame.margin_right = _inches(0.02)
    frame.margin_top = frame.margin_bottom = _inches(0.02)
    frame.vertical_anchor = {"top": MSO_ANCHOR.TOP, "middle": MSO_ANCHOR.MIDDLE, "bottom": MSO_ANCHOR.BOTTOM}[anchor]
    for index, paragraph in enumerate(paragraphs):
        p = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        p.alignment = {"left": PP_ALIGN.LEFT, "center": PP_ALIGN.CENTER, "right": PP_ALIGN.RIGHT}[align]
        if spacing is not None:
            p.space_after = Pt(spacing)
        runs = [(paragraph, {})] if isinstance(paragraph, str) else paragraph
        for text, style in runs:
            run = p.add_run()
            run.text = text
            _style_run(run, style.get("size", size), bold=style.get("bold", bold), color=style.get("color", color),
                       italic=style.get("italic", False))
    return box


def _title(slide, text: str, left, top, width, height, *, size: float, color: str):
    """Fill the slide's title placeholder (a real title for the outline and screen readers), placed
    and styled like the deck's other text."""
    from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN

    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = _inches(left), _inches(top), _inches(width), _inches(height)
    frame = shape.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.margin_left = frame.margin_right = _inches(0.02)
    frame.margin_top = frame.margin_bottom = _inches(0.02)
    frame.vertical_anchor = MSO_ANCHOR.TOP
    frame.text = ""
    p = frame.paragraphs[0]
    p.alignment = PP_ALIGN.LEFT
    run = p.add_run()
    run.text = text
    _style_run(run, size, bold=True, color=color)
    return shape


def _rect(slide, left, top, width, height, fill: str, *, rounded: bool = False):
    from pptx.enum.shapes import MSO_SHAPE

    shape = slide.shapes.add_shape(
        MSO_SHAPE.ROUNDED_RECTANGLE if rounded else MSO_SHAPE.RECTANGLE,
        _inches(left), _inches(top), _inches(width), _inches(height),
    )
    shape.fill.solid()
    shape.fill.fore_color.rgb = _hex(fill)
    shape.line.fill.background()
    shape.shadow.inherit = False
    return shape


def _shape_text(shape, text: str, *, size: float, color: str, bold: bool = True) -> None:
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN

    frame = shape.text_frame
    frame.margin_left = frame.margin_right = _inches(0.05)
    frame.margin_top = frame.margin_bottom = _inches(0.02)
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    frame.word_wrap = True
    p = frame.paragraphs[0]
    p.alignment = PP_ALIGN.CENTER
    run = p.add_run()
    run.text = text
    _style_run(run, size, bold=bold, color=color)


def _picture(slide, png: bytes, left, top, width, height=None):
    return slide.shapes.add_picture(
        io.BytesIO(png), _inches(left), _inches(top), _inches(width), _inches(height) if height else None
    )


class _Deck:
    def __init__(self, ctx: DeckContext):
        from pptx import Presentation

        self.ctx = ctx
        self.prs = Presentation()
        self.prs.slide_width = _inches(SLIDE_WIDTH_IN)
        self.prs.slide_height = _inches(SLIDE_HEIGHT_IN)
        self.blank = self.prs.slide_layouts[6]
        # "Title Only": every slide gets a real title placeholder (PowerPoint's outline, screen readers)
        self.titled = self.prs.slide_layouts[5]
        props = self.prs.core_properties
        props.title = f"Styringsinformasjon – {ctx.hf_name}"
        props.subject = f"Møte i strategisk samarbeidsutvalg (SSU), {ctx.period_label}"
        props.author = "Styringsinformasjon for helsefellesskapene"
        props.language = "nb-NO"
        if ctx.synthetic:
            props.keywords = "SYNTETISKE DEMODATA"
            props.comments = "Syntetiske demodata – tallene er ikke ekte."

    def slide(self, title: str, subtitle: str | None = None):
        ctx = self.ctx
        slide = self.prs.slides.add_slide(self.titled)
        _rect(slide, 0, 0, SLIDE_WIDTH_IN, 0.12, NAVY)
        _title(slide, title, 0.45, 0.28, 9.9, 0.6, size=26 if len(title) <= 44 else 20, color=NAVY)
        if subtitle:
            _textbox(slide, 0.45, 0.86, 10.9, 0.4, [subtitle], size=14, color=MUTED)
        if ctx.synthetic:
            badge = _rect(slide, 10.48, 0.3, 2.4, 0.4, SYNTHETIC_RED, rounded=True)
            _shape_text(badge, "SYNTETISKE DEMODATA", size=10, color="FFFFFF")
        line = slide.shapes.add_connector(1, _inches(0.45), _inches(7.0), _inches(SLIDE_WIDTH_IN - 0.45), _inches(7.0))
        line.line.color.rgb = _hex(RULE)
        line.line.width = _inches(0.01)
        number = len(self.prs.slides)
        _textbox(slide, 0.45, 7.05, 10.0, 0.3,
                 [f"Styringsinformasjon for helsefellesskapene · {ctx.hf_name} · {norwegian_date(ctx.today)}"],
                 size=9, color=MUTED)
        _textbox(slide, SLIDE_WIDTH_IN - 1.45, 7.05, 1.0, 0.3, [str(number)], size=9, color=MUTED, align="right")
        return slide

    def save(self) -> bytes:
        buffer = io.BytesIO()
        self.prs.save(buffer)
        return buffer.getvalue()


# --- slides ---------------------------------------------------------------------------------------


def _title_slide(deck: _Deck) -> None:
    ctx = deck.ctx
    slide = deck.prs.slides.add_slide(deck.titled)
    _rect(slide, 0, 0, SLIDE_WIDTH_IN, SLIDE_HEIGHT_IN, NAVY)
    _rect(slide, 0.8, 1.55, 0.12, 3.0, "8EC1E6")
    _textbox(slide, 1.15, 1.4, 11.0, 0.5, ["Styringsinformasjon for helsefellesskapene"], size=18, color="C8D7EA")
    title = _title(slide, ctx.hf_name, 1.15, 1.95, 11.4, 1.4, size=40, color="FFFFFF")
    # the background rectangles were added after the placeholder: keep the title on top
    tree = slide.shapes._spTree
    tree.remove(title._element)
    tree.append(title._element)
    lines = [f"Helseforetak: {ctx.helseforetak}"]
    if ctx.partners:
        lines.append(f"Samarbeidende sykehus: {ctx.partners}")
    lines.append(f"{ctx.kommuner.height} kommuner" if ctx.kommuner.height != 1 else "1 kommune")
    _textbox(slide, 1.15, 3.3, 11.0, 1.2, lines, size=16, color="E6EDF6", spacing=4)
    _textbox(slide, 1.15, 4.75, 11.0, 0.9, [
        f"Møte i strategisk samarbeidsutvalg (SSU) · Periode {ctx.period_label}",
        f"Generert {norwegian_date(ctx.today)} · Datauttrekk {ctx.extraction}",
    ], size=15, color="FFFFFF", spacing=4)
    if ctx.synthetic:
        badge = _rect(slide, 1.15, 5.95, 6.6, 0.62, SYNTHETIC_RED, rounded=True)
        _shape_text(badge, "Syntetiske demodata – tallene er ikke ekte", size=16, color="FFFFFF")


def _status(row: dict) -> tuple[str, str, str]:
    """(text, fill, text colour) for the comparison with the country: symbol + words + colour."""
    assessment = row.get("assessment") or "not_compared"
    significance = row.get("significance") or "not_compared"
    flag = row.get("flag") or OK
    if flag == NOT_REPORTED:
        text = "○ Ikke rapportert"
    elif flag in SUPPRESSION_FLAGS:
        text = "○ Skjult (prikket)"
    elif assessment == "not_compared" or row.get("value") is None:
        text = "○ Ikke sammenlignet"
    else:
        text = f"{charts.SIGNIFICANCE_SYMBOLS.get(significance, '○')} {charts.ASSESSMENT_SHORT.get(assessment, assessment)}"
    fill = charts.ASSESSMENT_COLOURS.get(assessment, charts.NOT_COMPARED).lstrip("#")
    return text, fill, ON_COLOUR.get(assessment, INK)


def _cell(cell, text: str, *, size: float = 10.5, bold=False, color=INK, fill: str | None = None, align="left"):
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN

    cell.margin_left = cell.margin_right = _inches(0.06)
    cell.margin_top = cell.margin_bottom = _inches(0.01)
    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
    if fill:
        cell.fill.solid()
        cell.fill.fore_color.rgb = _hex(fill)
    else:
        cell.fill.background()
    frame = cell.text_frame
    frame.word_wrap = True
    p = frame.paragraphs[0]
    p.alignment = {"left": PP_ALIGN.LEFT, "center": PP_ALIGN.CENTER, "right": PP_ALIGN.RIGHT}[align]
    for r in list(p.runs):
        r._r.getparent().remove(r._r)
    run = p.add_run()
    run.text = text
    _style_run(run, size, bold=bold, color=color)


def _table(slide, rows: int, widths: list[float], left: float, top: float, row_height: float):
    from pptx.util import Emu

    shape = slide.shapes.add_table(rows, len(widths), _inches(left), _inches(top), _inches(sum(widths)),
                                   _inches(row_height * rows))
    table = shape.table
    table.first_row = True
    table.horz_banding = False
    for i, w in enumerate(widths):
        table.columns[i].width = _inches(w)
    for r in table.rows:
        r.height = Emu(int(_inches(row_height)))
    return table


def _profile(ctx: DeckContext) -> pl.DataFrame:
    table = profile(ctx.hf_id, ctx.end, key=ctx.key)
    computed = {i.id for i in load_catalogue().indicators}  # the deck shows the computed catalogue only
    table = table.filter(pl.col("indicator_id").is_in(list(computed)))
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    return table.with_columns(
        pl.col("group").replace_strict(order, default=len(order)).alias("_group_order"),
        pl.int_range(pl.len()).alias("_row"),
    ).sort("_group_order", "_row")


TREND_POINTS = 5  # the recent-trend rule uses the last five years with data


def _trend_window(ctx: DeckContext, row: dict) -> str:
    """The years the row's trend covers: the last five years with data up to the row's year."""
    period = str(row.get("period") or "")
    end = int(period[:4]) if period[:4].isdigit() else ctx.end
    years = [y for y in available_years(row["indicator_id"], ctx.key) if y <= end][-TREND_POINTS:]
    return _years_text(years)


def _summary_slide(deck: _Deck, table: pl.DataFrame) -> None:
    ctx = deck.ctx
    catalogue = load_catalogue()
    groups = {g.id: g.name for g in catalogue.groups}
    slide = deck.slide("Oversikt: alle indikatorer",
                       f"{ctx.hf_name} sammenlignet med hele landet, siste år med data (til og med {ctx.end})")
    rows = table.to_dicts()
    windows = {_trend_window(ctx, row) for row in rows if row.get("trend") not in (None, "too_few_points")}
    # the trend column names the years it covers (the recent-trend rule: the last five years with data)
    trend_header = f"Trend {next(iter(windows))}" if len(windows) == 1 else "Trend, siste 5 år"
    headers = ["Gruppe", "Indikator", "Enhet", "År", "Verdi", "Landet", "Sammenlignet med landet", trend_header,
               "Rang"]  # "Sammenlignet med landet" fits one line at the widths below
    widths = [1.6, 2.85, 1.05, 0.6, 0.8, 0.8, 2.3, 1.75, 0.75]
    row_height = min(0.27, 5.1 / (len(rows) + 1))
    size = 10.5 if row_height >= 0.25 else 9.5
    grid = _table(slide, len(rows) + 1, widths, 0.45, 1.32, row_height)
    for j, header in enumerate(headers):
        _cell(grid.cell(0, j), header, size=size, bold=True, color="FFFFFF", fill=NAVY,
              align="right" if header in ("Verdi", "Landet", "Rang") else "left")
    start = 1
    for i, row in enumerate(rows, start=1):
        decimals = decimals_for(row["unit"])
        status, fill, on = _status(row)
        rank = f"{row['rank']} av {row['n_ranked']}" if row.get("rank") is not None else MISSING
        band = BAND if (row["_group_order"] % 2 == 0) else None
        values = [
            ("", {}),
            (row["short_name"], {}),
            (row["unit"], {}),
            (row["period"] or MISSING, {}),
            (format_number(row.get("value"), decimals), {"align": "right", "bold": True}),
            (format_number(row.get("national_value"), decimals), {"align": "right"}),
            (status, {"fill": fill, "color": on}),
            (TREND_SHORT.get(row.get("trend") or "", MISSING), {}),
            (rank, {"align": "right"}),
        ]
        for j, (text, style) in enumerate(values):
            _cell(grid.cell(i, j), text, size=size, bold=style.get("bold", False), color=style.get("color", INK),
                  fill=style.get("fill", band), align=style.get("align", "left"))
        last = i == len(rows) or rows[i]["group"] != row["group"]
        if last:
            if i > start:
                grid.cell(start, 0).merge(grid.cell(i, 0))
            _cell(grid.cell(start, 0), groups.get(row["group"], row["group"]), size=size - 0.5, bold=True,
                  color=NAVY, fill=band)
            start = i + 1
    _textbox(slide, 0.45, 6.64, 12.4, 0.34, [
        "Farge og symbol: ▲/▼ signifikant høyere/lavere enn landet (95 % konfidensintervall), ● ikke signifikant "
        "forskjellig; blått = bedre, oransje = dårligere, mørk/lys blå = høyere/lavere der ingen retning er ønsket. "
        "– = skjult (prikket) eller ikke rapportert. Rang 1 = best (høyeste verdi for beskrivende indikatorer) blant helsefellesskapene med publisert tall.",
    ], size=8.5, color=MUTED)


def _chart_text(ctx: DeckContext, ind: Indicator, title: str, years_text: str) -> charts.ChartText:
    std = "standardisert for alder og kjønn" if ind.is_standardised else "ikke standardisert"
    return charts.ChartText(
        title=title,
        subtitle=f"{ind.unit_label[:1].upper()}{ind.unit_label[1:]}, {std}",
        source=ctx.source_line(ind, years_text),
        decimals=decimals_for(ind.unit_label),
    )


def _years_text(years: list[int]) -> str:
    if not years:
        return "ingen år"
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def _group_slide(deck: _Deck, group_id: str, profile_rows: dict[str, dict]) -> None:
    ctx = deck.ctx
    catalogue = load_catalogue()
    group = catalogue.group(group_id)
    members = catalogue.in_group(group_id)
    key_id = KEY_INDICATORS.get(group_id)
    ind = next((i for i in members if i.id == key_id), members[0])
    years = ctx.years_for(ind.id)
    decimals = decimals_for(ind.unit_label)
    slide = deck.slide(group.name, f"Nøkkelindikator: {ind.name}")
    if not years:
        _textbox(slide, 0.45, 1.6, 12.4, 1.0, [f"Ingen data for {ind.short_name} i perioden {ctx.period_label}."],
                 size=16, color=MUTED)
        return
    latest = years[-1]
    hf_rows = compute(ind.id, "helsefellesskap", years=years, key=ctx.key)
    national = compute(ind.id, "land", years=years, key=ctx.key)
    own = hf_rows.filter(pl.col("area_id") == ctx.hf_id).sort("year_start")
    nat_by_year = dict(zip(national["year_start"].to_list(), national["value"].to_list()))
    # headline
    current = own.filter(pl.col("year_start") == latest).row(0, named=True)
    status, fill, on = _status(current)
    rank_text = ""
    latest_hf = hf_rows.filter(pl.col("year_start") == latest)
    ranked = latest_hf.filter((pl.col("flag") == OK) & pl.col("value").is_not_null())
    if current["flag"] == OK and current["value"] is not None:
        rank = rank_of(ranked["value"].to_numpy(), current["value"], ind.direction)  # 1 = best where a direction is desired
        rank_text = f" Nr. {rank} av {ranked.height} helsefellesskap ({rank_rule(ind.direction)})."
    value_text = (
        f"{format_number(current['value'], decimals)} {ind.unit_label}" if current["value"] is not None
        else f"{MISSING} ({current['flag_label'] or 'ingen verdi'})"
    )
    headline = [
        (f"{ctx.hf_short} {latest}: ", {"bold": True}),
        (f"{value_text}, hele landet {format_number(nat_by_year.get(latest), decimals)}.{rank_text} ", {}),
    ]
    _textbox(slide, 0.45, 1.27, 9.9, 0.36, [headline], size=13, color=INK)
    badge = _rect(slide, 10.45, 1.27, 2.43, 0.34, fill, rounded=True)
    _shape_text(badge, status, size=11, color=on)
    top = 1.72
    # trend: area vs national
    trend_png = charts.trend_chart(
        own["year_start"].to_list(), own["value"].to_list(), own["lower_95"].to_list(), own["upper_95"].to_list(),
        [nat_by_year.get(y) for y in own["year_start"].to_list()],
        area_label=ctx.hf_short,
        not_reported=[f == NOT_REPORTED for f in own["flag"].to_list()],
        target=_goal_target(ctx, ind.id), target_label=_goal_label(ctx, ind),
        text=_chart_text(ctx, ind, f"Utvikling {_years_text(years)}", _years_text(years)),
        width=4.0, height=4.75,
    )
    _picture(slide, trend_png, 0.4, top, 4.0)
    # position among the 19
    names = dict(zip(ctx.hf_table["helsefellesskap_id"].to_list(), ctx.hf_table["kortnavn"].to_list()))
    ids = latest_hf["area_id"].to_list()
    ranking_png = charts.ranking_chart(
        [names.get(i, i) for i in ids], latest_hf["value"].to_list(), latest_hf["lower_95"].to_list(),
        latest_hf["upper_95"].to_list(), ids.index(ctx.hf_id) if ctx.hf_id in ids else -1,
        nat_by_year.get(latest),
        text=_chart_text(ctx, ind, f"De 19 helsefellesskapene {latest}", str(latest)),
        width=4.0, height=4.75,
    )
    _picture(slide, ranking_png, 4.47, top, 4.0)
    # kommune variation
    kommune = compute(ind.id, "kommune", years=[latest], key=ctx.key).join(
        ctx.kommuner.select(pl.col("kommunenummer").alias("area_id")), on="area_id", how="semi"
    )
    kommune_png = charts.kommune_chart(
        kommune["area_name"].to_list(), kommune["value"].to_list(), kommune["lower_95"].to_list(),
        kommune["upper_95"].to_list(), kommune["assessment"].to_list(), kommune["significance"].to_list(),
        kommune["flag"].to_list(), nat_by_year.get(latest), current["value"],
        area_label=ctx.hf_short,
        text=_chart_text(ctx, ind, f"Kommunene i {ctx.hf_short} {latest}", str(latest)),
        width=4.4, height=4.75,
    )
    _picture(slide, kommune_png, 8.53, top, 4.4)
    # what "–" means on this slide (native text)
    parts = _missing_text(kommune)
    if not parts:
        parts.append("Ingen kommuner er skjult." if kommune.height > 1 else
                     f"{ctx.hf_short} består av én kommune; kommunetallet er helsefellesskapets tall.")
    caption = " ".join(parts)
    _textbox(slide, 8.58, 6.47, 4.3, 0.5, [caption], size=8.5 if len(caption) <= 150 else 7.5, color=MUTED)
    masked_years = own.filter(pl.col("value").is_null())["period"].to_list()
    masked_note = f" – i utviklingen = ingen publisert verdi ({', '.join(masked_years)})." if masked_years else ""
    _textbox(slide, 0.45, 6.5, 8.0, 0.48, [
        f"{ind.description} Strek/skygge = 95 % konfidensintervall. "
        f"{ind.standardisation.label}.{masked_note}",
    ], size=8.5, color=MUTED)
    # speaker notes: the kommune values, masked as "–"
    lines = [f"{ind.name} ({ind.unit_label}), {latest}. Kilde: {ind.source}."]
    lines.append(f"{ctx.hf_short}: {format_number(current['value'], decimals)}; hele landet: "
                 f"{format_number(nat_by_year.get(latest), decimals)}.")
    lines.append("Kommuner:")
    for k in kommune.sort("area_name").iter_rows(named=True):
        if k["value"] is None:
            lines.append(f"  {k['area_name']}: {MISSING} ({FLAG_LABELS.get(k['flag'], k['flag'])})")
        else:
            lines.append(f"  {k['area_name']}: {format_number(k['value'], decimals)} "
                         f"(95 % KI {format_number(k['lower_95'], decimals)}–{format_number(k['upper_95'], decimals)})")
    others = [m for m in members if m.id != ind.id]
    if others:
        lines.append("Øvrige indikatorer i gruppen (se oversikten):")
        for m in others:
            r = profile_rows.get(m.id) or {}
            lines.append(f"  {m.short_name}: {format_number(r.get('value'), decimals_for(m.unit_label))} "
                         f"{m.unit_label} (landet {format_number(r.get('national_value'), decimals_for(m.unit_label))})")
    slide.notes_slide.notes_text_frame.text = "\n".join(lines)


def _missing_text(kommune: pl.DataFrame) -> list[str]:
    """Which kommuner have no value and why: "–" explained in words, never left unexplained."""
    parts = []
    hidden = kommune.filter(pl.col("flag").is_in(list(SUPPRESSION_FLAGS)))
    if hidden.height:
        parts.append(f"– = skjult (prikket): {', '.join(hidden['area_name'].sort().to_list())}.")
    few = kommune.filter(pl.col("value").is_null() & ~pl.col("flag").is_in([*SUPPRESSION_FLAGS, NOT_REPORTED]))
    if few.height:
        label = FLAG_LABELS.get(few["flag"][0], "ingen verdi") if few["flag"].n_unique() == 1 else "ingen verdi"
        parts.append(f"– = {label[:1].lower()}{label[1:]}: {', '.join(few['area_name'].sort().to_list())}.")
    unreported = kommune.filter(pl.col("flag") == NOT_REPORTED)
    if unreported.height:
        parts.append(f"Ikke rapportert: {', '.join(unreported['area_name'].sort().to_list())}.")
    return parts


def _pakkeforlop_slide(deck: _Deck) -> None:
    ctx = deck.ctx
    catalogue = load_catalogue()
    group = catalogue.group("pakkeforlop_hjem")
    slide = deck.slide(group.name, "Behovskartlegging ved samhandlingspunkt 1, 2 og 3")
    sp1 = catalogue.indicator(SP1)
    years1 = ctx.years_for(SP1)
    notes = []
    sp1_note = ""
    if years1:
        own = compute(SP1, "helsefellesskap", years=years1, key=ctx.key).filter(pl.col("area_id") == ctx.hf_id)
        nat = compute(SP1, "land", years=years1, key=ctx.key)
        target = sp1.target.value if sp1.target else None
        target_label = None
        if sp1.target:
            target_label = f"Mål {format_number(target, 0)} % ({'lokalt satt' if sp1.target.set_by == 'lokalt' else sp1.target.set_by})"
        if _goal_target(ctx, SP1) is not None:  # the helsefellesskap's own goal (its vedtak) replaces the example
            target, target_label = _goal_target(ctx, SP1), _goal_label(ctx, sp1)
        png = charts.trend_chart(
            own["year_start"].to_list(), own["value"].to_list(), own["lower_95"].to_list(), own["upper_95"].to_list(),
            nat["value"].to_list(), area_label=ctx.hf_short, target=target, target_label=target_label,
            not_reported=[f == NOT_REPORTED for f in own["flag"].to_list()],
            text=_chart_text(ctx, sp1, f"SP1 i sykehuset mot mål, {_years_text(years1)}", _years_text(years1)),
            width=6.05, height=4.65, ylim=(0, 100),
        )
        _picture(slide, png, 0.4, 1.35, 6.05)
        for r in own.iter_rows(named=True):
            notes.append(f"SP1 {r['period']}: {format_number(r['value'], 1)} % ({r['flag_label'] or 'ok'})")
        masked_sp1 = own.filter(pl.col("value").is_null())["period"].to_list()
        if masked_sp1:
            sp1_note = f"SP1 har ingen publisert verdi for {', '.join(masked_sp1)} (– i figuren). "
    else:
        _textbox(slide, 0.45, 1.6, 6.0, 0.8, [f"SP1: ingen data i perioden {ctx.period_label}."], size=14, color=MUTED)
    # SP2 / SP3: local registration only
    all_years = sorted({y for i in (SP2, SP3) for y in ctx.years_for(i)})
    coverage_lines = []
    if all_years:
        series, national = {}, {}
        for ind_id, label in ((SP2, "SP2: 3–4 måneder"), (SP3, "SP3: 12–18 måneder")):
            have = ctx.years_for(ind_id)
            own = compute(ind_id, "helsefellesskap", years=have, key=ctx.key).filter(pl.col("area_id") == ctx.hf_id) if have else None
            nat = compute(ind_id, "land", years=have, key=ctx.key) if have else None
            points, nat_points = [], []
            for y in all_years:
                if own is not None and y in have:
                    r = own.filter(pl.col("year_start") == y).row(0, named=True)
                    points.append((r["value"], r["flag"]))
                    nat_points.append(nat.filter(pl.col("year_start") == y)["value"][0])
                    notes.append(f"{label} {y}: {format_number(r['value'], 1)} % "
                                 f"({r['flag_label'] or 'ok'}; {r['reporting_kommuner']} av {r['total_kommuner']} kommuner rapporterer)")
                else:
                    points.append((None, NOT_REPORTED))
                    nat_points.append(None)
                    notes.append(f"{label} {y}: ikke rapportert")
            series[label] = points
            national[label] = nat_points
            if have:
                last = own.filter(pl.col("year_start") == have[-1]).row(0, named=True)
                coverage_lines.append(
                    f"{label.split(':')[0]} {have[-1]}: {last['reporting_kommuner']} av {last['total_kommuner']} kommuner rapporterer"
                )
            else:
                coverage_lines.append(f"{label.split(':')[0]}: ingen kommuner rapporterer i perioden")
        sp2 = catalogue.indicator(SP2)
        png = charts.reported_bars_chart(
            all_years, series, national,
            text=charts.ChartText(
                title=f"SP2 og SP3 i kommunen, {_years_text(all_years)}",
                subtitle="Andel nye kreftpasienter med behovskartlegging, prosent (ikke standardisert)",
                source=ctx.source_line(sp2, _years_text(all_years)),
                decimals=1,
            ),
            width=6.05, height=4.65,
        )
        _picture(slide, png, 6.85, 1.35, 6.05)
    else:
        _textbox(slide, 6.9, 1.6, 6.0, 1.2, [
            f"SP2 og SP3: ingen kommuner i {ctx.hf_short} har rapportert i perioden {ctx.period_label} "
            "(ikke rapportert – ikke 0 %)."
        ], size=14, color=MUTED)
    _textbox(slide, 0.45, 6.1, 12.4, 0.85, [
        [(sp1_note, {}),
         ("SP2 og SP3 registreres bare lokalt. ", {"bold": True}),
         ("«Ikke rapportert» betyr at ingen kommune i helsefellesskapet har levert tall for året – det er ikke 0 %. "
          "– = skjult (prikket). ", {}),
         ("Dekning: " + "; ".join(coverage_lines) + "." if coverage_lines else "", {})],
    ], size=10, color=MUTED)
    slide.notes_slide.notes_text_frame.text = "\n".join(notes)


def _method_slide(deck: _Deck) -> None:
    ctx = deck.ctx
    catalogue = load_catalogue()
    standards = [s.get("name", k) for k, s in catalogue.standard_populations.items()]
    thresholds = [i.suppression_threshold for i in catalogue.indicators]
    sources = sorted({part.strip() for i in catalogue.indicators for part in i.source.split(" og ")})
    slide = deck.slide("Metode og kilder", "Slik er tallene laget")
    method = [
        [("Verdier. ", {"bold": True}), ("Rater per 1 000, 10 000 eller 100 000 innbyggere og andeler i prosent, "
                                         "etter bostedskommune. Helsefellesskapet er summen av sine kommuner.", {})],
        [("Standardisering. ", {"bold": True}), ("Direkte standardisering for alder og kjønn mot "
                                                  f"{', '.join(standards) or 'en standardbefolkning'} der det er oppgitt; "
                                                  "ellers råtall. Standardiserte tall kan sammenlignes mellom områder.", {})],
        [("Usikkerhet. ", {"bold": True}), ("95 % konfidensintervall: Wilson for andeler, Byar/eksakt Poisson for rater, "
                                             "Dobson for standardiserte rater.", {})],
        [("Sammenligning med landet. ", {"bold": True}), ("Signifikant høyere/lavere når hele 95 %-intervallet ligger over/under "
                                                           "landets verdi (Fingertips-regelen). Bedre/dårligere følger indikatorens ønskede retning.", {})],
        [("Trend. ", {"bold": True}), ("Vektet lineær regresjon over de siste inntil fem årene; «ingen sikker endring» "
                                       "når stigningen ikke er signifikant.", {})],
        [("Rang. ", {"bold": True}), ("1 = best blant helsefellesskapene med publisert tall for indikatorer med ønsket retning; for beskrivende indikatorer er 1 = høyeste verdi, som ikke i seg selv er godt eller dårlig.", {})],
    ]
    _textbox(slide, 0.45, 1.4, 6.1, 5.5, method, size=13, spacing=8)
    right = [
        [("Prikking. ", {"bold": True}), (suppression_rule(thresholds) + " Skjulte tall vises som «–».", {})],
        [("Kilder. ", {"bold": True}), (", ".join(sources) + "; befolkning fra SSB (tabell 07459).", {})],
        [("Datagrunnlag. ", {"bold": True}), (f"Uttrekksdato {ctx.extraction}. Periode i denne presentasjonen: "
                                              f"{ctx.period_label}; oversikten viser siste år med data til og med {ctx.end}.", {})],
        [("Pakkeforløp hjem. ", {"bold": True}), ("SP1 fra NPR (prosedyrekode, fra 2022). SP2 og SP3 finnes bare der "
                                                  "kommunen registrerer lokalt; «ikke rapportert» er ikke 0 %.", {})],
        [("Definisjoner. ", {"bold": True}), ("Se neste lysbilde og indikatorkatalogen (python -m indicators list).", {})],
    ]
    if ctx.synthetic:
        right.insert(0, [("SYNTETISKE DEMODATA. ", {"bold": True, "color": SYNTHETIC_RED}),
                         ("Alle tall i denne presentasjonen er generert for demonstrasjon og er ikke ekte.", {"color": SYNTHETIC_RED})])
    _textbox(slide, 6.85, 1.4, 6.0, 5.5, right, size=13, spacing=8)


def _definitions_slide(deck: _Deck) -> None:
    catalogue = load_catalogue()
    slide = deck.slide("Definisjoner", "Indikatorene i presentasjonen")
    headers = ["Indikator", "Teller / nevner", "Enhet", "Standardisering", "Kilde"]
    widths = [2.9, 4.75, 1.0, 1.45, 2.35]
    inds = sorted((i for i in catalogue.indicators if not i.cohort),  # the cohorts' definitions: Om dataene
                  key=lambda i: (GROUP_ORDER.index(i.group) if i.group in GROUP_ORDER else 99))
    row_height = min(0.25, 5.3 / (len(inds) + 1))
    grid = _table(slide, len(inds) + 1, widths, 0.45, 1.32, row_height)
    for j, header in enumerate(headers):
        _cell(grid.cell(0, j), header, size=9, bold=True, color="FFFFFF", fill=NAVY)
    for i, ind in enumerate(inds, start=1):
        band = BAND if GROUP_ORDER.index(ind.group) % 2 == 0 else None
        std = "Alder og kjønn" if ind.is_standardised else "Nei (råtall)"
        for j, text in enumerate([ind.short_name, f"{ind.numerator.label} / {ind.denominator.label}",
                                  ind.unit_label, std, ind.source]):
            _cell(grid.cell(i, j), text, size=8.5, fill=band)
    _textbox(slide, 0.45, 6.72, 12.4, 0.26, [
        "Fullstendige definisjoner, målgrupper og koder: siden «Om dataene» i dashbordet og metadataene i nedlastede filer.",
    ], size=8.5, color=MUTED)


# --- the SSU's own goals and published assessments (data_loaders.ssu; none in public mode) ----------


def _ssu_engine(ctx: DeckContext):
    from data_loaders import store

    return store.get_engine(ctx.key.database_url)


def _local_goals(ctx: DeckContext) -> dict:
    from data_loaders import ssu

    if not hasattr(ctx, "_goals"):
        ctx._goals = {g.indicator_id: g for g in ssu.goals(_ssu_engine(ctx), ctx.hf_id)}
    return ctx._goals


def _goal_target(ctx: DeckContext, indicator_id: str) -> float | None:
    goal = _local_goals(ctx).get(indicator_id)
    return goal.target if goal else None


def _goal_label(ctx: DeckContext, ind: Indicator) -> str | None:
    from data_loaders import ssu

    goal = _local_goals(ctx).get(ind.id)
    if goal is None:
        return None
    unit = "%" if ind.unit == "percent" else ind.unit_label
    return f"Lokalt mål {format_number(goal.target, decimals_for(ind.unit_label))} {unit} innen {goal.target_year} ({ssu.format_sak(goal.sak_number, goal.sak_date).split(' (')[0]})"


def _plain_markdown(text: str) -> str:
    """An assessment's Markdown as plain slide text (markup characters dropped, never interpreted as HTML)."""
    import re

    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:#{1,6}|[-*+]|\d+[.)])\s+", "• " if re.match(r"^\s*(?:[-*+]|\d+[.)])\s", line) else "", line)
        line = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), line)
        line = re.sub(r"(?<!\w)[*_](.+?)[*_](?!\w)", r"\1", line)
        line = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r"\1 (\2)", line).replace("`", "")
        lines.append(line.rstrip())
    return "\n".join(lines).strip()


def _goal_slides(deck: _Deck, rows: dict[str, dict]) -> None:
    """"Lokale mål og vurderinger": the goals table and the published assessments (slides only when there are any)."""
    from data_loaders import ssu

    ctx = deck.ctx
    catalogue = load_catalogue()
    known = {i.id: i for i in catalogue.indicators}
    goals = [g for g in _local_goals(ctx).values() if g.indicator_id in known]
    written = [a for a in ssu.assessments(_ssu_engine(ctx), ctx.hf_id) if a.indicator_id in known
               and int(a.period[:4]) <= ctx.end]
    if goals:
        slide = deck.slide("Lokale mål", f"Mål {ctx.hf_short} har vedtatt, og siste verdi (til og med {ctx.end})")
        headers = ["Indikator", "Mål", "Innen", "Vedtak", "Siste verdi", "År", "Status"]
        widths = [3.2, 1.5, 0.9, 2.3, 1.4, 0.8, 2.3]
        grid = _table(slide, len(goals) + 1, widths, 0.45, 1.32, min(0.4, 5.0 / (len(goals) + 1)))
        for j, header in enumerate(headers):
            _cell(grid.cell(0, j), header, bold=True, color="FFFFFF", fill=NAVY)
        for i, goal in enumerate(sorted(goals, key=lambda g: g.indicator_id), start=1):
            ind, row = known[goal.indicator_id], rows.get(goal.indicator_id) or {}
            decimals = decimals_for(ind.unit_label)
            value = row.get("value")
            reached = None if value is None else (value >= goal.target if goal.direction == "higher_is_better"
                                                  else value <= goal.target)
            status = ("○ Ingen publisert verdi" if reached is None else "✓ Nådd" if reached
                      else "✗ Ikke nådd ennå" if ctx.end < goal.target_year else "✗ Ikke nådd")
            texts = [ind.short_name, f"{ssu.GOAL_DIRECTION_LABELS_NB[goal.direction]} {format_number(goal.target, decimals)} {ind.unit_label}",
                     str(goal.target_year), ssu.format_sak(goal.sak_number, goal.sak_date),
                     format_number(value, decimals), str(row.get("period") or MISSING), status]
            for j, text in enumerate(texts):
                _cell(grid.cell(i, j), text, align="right" if j in (2, 4, 5) else "left")
    for start in range(0, len(written), 2):
        chunk = written[start:start + 2]
        slide = deck.slide("Vurderinger", f"Publiserte vurderinger fra {ctx.hf_short}")
        paragraphs = []
        for item in chunk:
            ind = known[item.indicator_id]
            paragraphs.append([(f"{ind.short_name}, {item.period.replace('-', '–')}", {"bold": True, "color": NAVY})])
            paragraphs.extend(_plain_markdown(item.text_md).splitlines() or [""])
            paragraphs.append("")
        text = sum(len(p) if isinstance(p, str) else 40 for p in paragraphs)
        _textbox(slide, 0.45, 1.35, 12.4, 5.5, paragraphs, size=14 if text < 900 else 11 if text < 1800 else 9,
                 spacing=4)


# --- public API ---------------------------------------------------------------------------------


def build_deck(helsefellesskap_id: str, years: tuple[int, int] | None = None, key=None) -> bytes:
    """The SSU meeting deck for one helsefellesskap as PPTX bytes (16:9).

    ``years`` = (first, last) year of the trend charts; the summary, rankings and kommune
    charts use the latest year with data up to ``last``. Raises ``IndicatorRequestError``
    on an unknown helsefellesskap or years outside the store.
    """
    ctx = _context(helsefellesskap_id, years, key)
    deck = _Deck(ctx)
    _title_slide(deck)
    table = _profile(ctx)
    cohort_ids = [i.id for i in load_catalogue().indicators if i.cohort]  # the cohorts have their own slides
    _summary_slide(deck, table.filter(~pl.col("indicator_id").is_in(cohort_ids)))
    rows = {r["indicator_id"]: r for r in table.to_dicts()}
    _goal_slides(deck, rows)
    catalogue = load_catalogue()
    for group_id in PRIORITY_GROUPS:
        if any(g.id == group_id for g in catalogue.groups) and catalogue.in_group(group_id):
            _group_slide(deck, group_id, rows)
    if any(g.id == "pakkeforlop_hjem" for g in catalogue.groups):
        _pakkeforlop_slide(deck)
    from outputs.deck_cohorts import cohort_slides

    cohort_slides(deck, table)  # the priority groups' cohorts: sizes, services per person, overlap
    _method_slide(deck)
    _definitions_slide(deck)
    return deck.save()


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_pdf(pptx: bytes, timeout: float = 180) -> bytes | None:
    """PPTX bytes -> PDF bytes with headless LibreOffice (no network); None if unavailable."""
    soffice = soffice_path()
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory(prefix="deck-") as tmp:
        folder = Path(tmp)
        source = folder / "deck.pptx"
        source.write_bytes(pptx)
        profile_dir = folder / "lo-profile"
        cmd = [
            soffice, f"-env:UserInstallation={profile_dir.as_uri()}", "--headless", "--norestore",
            "--convert-to", "pdf", "--outdir", str(folder), str(source),
        ]
        env = dict(os.environ, HOME=str(folder))
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout, env=env)
        except (subprocess.SubprocessError, OSError):
            return None
        target = folder / "deck.pdf"
        return target.read_bytes() if target.is_file() else None


def build_deck_pdf(helsefellesskap_id: str, years: tuple[int, int] | None = None, key=None) -> bytes | None:
    """The deck as PDF (via LibreOffice), or None when LibreOffice is not available."""
    if soffice_path() is None:
        return None
    return convert_to_pdf(build_deck(helsefellesskap_id, years, key))
