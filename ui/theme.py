"""Colours, symbols and labels shared by every chart, map and table.

The significance palette follows Fingertips, made colour-blind safe: better = blue, worse =
orange, similar = yellow, not compared = light grey; neutral indicators (no "good" direction)
use dark blue / light blue. Every colour is paired with a symbol and a text so that nothing
is told by colour alone.
"""

from __future__ import annotations

from indicators.palette import (
    ASSESSMENT_COLOURS,
    ASSESSMENT_SHORT,
    BETTER,
    CONTEXT_LINE,
    HIGHLIGHT,
    MUTED_TEXT,
    NATIONAL_LINE,
    NEUTRAL_HIGHER,
    NEUTRAL_LOWER,
    NOT_COMPARED,
    SIGNIFICANCE_SYMBOLS,
    SIMILAR,
    TARGET,
    TEXT,
    WORSE,
)

# --- significance / assessment labels -------------------------------------------------------

ASSESSMENT_LABELS = {
    "better": "Bedre enn landet",
    "worse": "Dårligere enn landet",
    "similar": "Ikke signifikant forskjellig fra landet",
    "higher": "Høyere enn landet",
    "lower": "Lavere enn landet",
    "not_compared": "Ikke sammenlignet",
}
SIGNIFICANCE_MARKERS = {"higher": "triangle-up", "lower": "triangle-down", "similar": "circle", "not_compared": "circle-open"}
SIGNIFICANCE_LABELS = {
    "higher": "Signifikant høyere enn landet",
    "lower": "Signifikant lavere enn landet",
    "similar": "Ikke signifikant forskjellig",
    "not_compared": "Ikke sammenlignet (skjult eller ikke rapportert)",
}
# Text colour that keeps 4.5:1 contrast on each fill.
ON_COLOUR = {
    BETTER: "#FFFFFF", WORSE: "#1A1A1A", SIMILAR: "#1A1A1A", NOT_COMPARED: "#1A1A1A",
    NEUTRAL_HIGHER: "#FFFFFF", NEUTRAL_LOWER: "#1A1A1A",
}

TREND_LABELS = {
    "increasing": ("↗", "Økende"),
    "decreasing": ("↘", "Synkende"),
    "no_significant_change": ("→", "Ingen signifikant endring"),
    "too_few_points": ("·", "For få år til å vurdere trend"),
}

DIRECTION_TEXT = {
    "higher_is_better": "Høy verdi er ønsket",
    "lower_is_better": "Lav verdi er ønsket",
    "neutral": "Ingen ønsket retning (beskrivende)",
}

# --- funnel plot positions ------------------------------------------------------------------

FUNNEL_STYLE = {
    # position: (colour, marker symbol, legend text)
    "above_99_8": ("#B34700", "triangle-up", "Over 99,8 %-grensen"),
    "above_95": ("#F08C3A", "triangle-up-open", "Over 95 %-grensen"),
    "inside": ("#7D8590", "circle", "Innenfor grensene"),
    "below_95": ("#4A90C9", "triangle-down-open", "Under 95 %-grensen"),
    "below_99_8": ("#08519C", "triangle-down", "Under 99,8 %-grensen"),
}

# --- maps -------------------------------------------------------------------------------------

# Diverging classes around the national value: relative difference bounds (fractions).
DEVIATION_BOUNDS = (-0.25, -0.10, -0.03, 0.03, 0.10, 0.25)
DEVIATION_LABELS = (
    "Mer enn 25 % lavere",
    "10–25 % lavere",
    "3–10 % lavere",
    "Omtrent som landet (±3 %)",
    "3–10 % høyere",
    "10–25 % høyere",
    "Mer enn 25 % høyere",
)
# low ... high; for lower_is_better the low side is the "better" (blue) side.
DIVERGING_GOOD_LOW = ("#08519C", "#4A90C9", "#BDD7EE", "#F3F0E6", "#FDD0A2", "#F08C3A", "#B34700")
# Neutral indicators: brown (lower) to teal (higher), no judgement.
DIVERGING_NEUTRAL = ("#8C510A", "#D8B365", "#F6E8C3", "#F3F3F3", "#C7EAE5", "#5AB4AC", "#01665E")
SUPPRESSED_FILL = "#9E9E9E"
SUPPRESSED_LABEL = "Skjult/ikke rapportert"
MAP_OUTLINE = (255, 255, 255, 255)


def diverging_palette(direction: str) -> tuple[str, ...]:
    if direction == "lower_is_better":
        return DIVERGING_GOOD_LOW
    if direction == "higher_is_better":
        return tuple(reversed(DIVERGING_GOOD_LOW))
    return DIVERGING_NEUTRAL


def hex_to_rgba(colour: str, alpha: int = 255) -> list[int]:
    colour = colour.lstrip("#")
    return [int(colour[i : i + 2], 16) for i in (0, 2, 4)] + [alpha]


def assessment_colour(assessment: str | None) -> str:
    return ASSESSMENT_COLOURS.get(assessment or "not_compared", NOT_COMPARED)


# --- plotly ----------------------------------------------------------------------------------

FONT_FAMILY = '"Source Sans Pro", "Source Sans 3", Arial, sans-serif'
# Decimal comma and a thin space between thousands (plotly layout.separators: decimal, thousands).
PLOTLY_SEPARATORS = ",\u2009"
# Plotly's own texts (the modebar buttons and their messages) in Norwegian, so the page has one
# language for screen readers (WCAG 3.1.2). Keys are Plotly's English texts.
PLOTLY_NB = {
    "Autoscale": "Tilpass aksene automatisk",
    "Box Select": "Velg med rektangel",
    "Lasso Select": "Velg med lasso",
    "Compare data on hover": "Sammenlign dataene ved peking",
    "Show closest data on hover": "Vis nærmeste data ved peking",
    "Toggle show closest data on hover": "Slå av eller på nærmeste data ved peking",
    "Toggle Spike Lines": "Slå hjelpelinjer av eller på",
    "Download plot as a PNG": "Last ned diagrammet som PNG-bilde",
    "Download plot as a png": "Last ned diagrammet som PNG-bilde",
    "Download plot": "Last ned diagrammet",
    "Preparing image - this may take a few seconds": "Lager bildet – det kan ta noen sekunder",
    "Image download succeeded": "Bildet er lastet ned",
    "Sorry, there was a problem downloading your image!": "Beklager, bildet kunne ikke lastes ned.",
    "Pan": "Flytt",
    "Zoom": "Forstørr utsnitt",
    "Zoom in": "Zoom inn",
    "Zoom out": "Zoom ut",
    "Reset axes": "Tilbakestill aksene",
    "Reset view": "Tilbakestill visningen",
    "Reset views": "Tilbakestill visningene",
    "Reset": "Tilbakestill",
    "Double-click to zoom back out": "Dobbeltklikk for å zoome ut igjen",
    "Double-click on legend to isolate one trace": "Dobbeltklikk på tegnforklaringen for å vise bare én serie",
    "Click to enter Plot title": "Klikk for å skrive tittel",
    "Click to enter X axis title": "Klikk for å skrive tittel på x-aksen",
    "Click to enter Y axis title": "Klikk for å skrive tittel på y-aksen",
}
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "locale": "nb",
    "locales": {"nb": {"dictionary": PLOTLY_NB,
                       "format": {"decimal": ",", "thousands": "\u2009", "date": "%d.%m.%Y",
                                  "months": ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
                                             "september", "oktober", "november", "desember"],
                                  "shortMonths": ["jan.", "feb.", "mars", "apr.", "mai", "juni", "juli", "aug.",
                                                  "sep.", "okt.", "nov.", "des."],
                                  "days": ["søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"],
                                  "shortDays": ["søn.", "man.", "tir.", "ons.", "tor.", "fre.", "lør."]}}},
}

# --- page CSS --------------------------------------------------------------------------------

PAGE_CSS = """
<style>
/* Typography and contrast: readable on a projector. */
html, body, [data-testid="stAppViewContainer"] { font-size: 17px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { line-height: 1.5; }
h1 { font-size: 2.0rem !important; }
/* Heading levels follow the page structure (h1 > h2 > h3); sizes keep h2 below h1. */
[data-testid="stMain"] h2 { font-size: 1.55rem !important; }
[data-testid="stMain"] h3 { font-size: 1.25rem !important; }
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 3.2rem !important; padding-bottom: 2rem !important; }
/* Streamlit fades captions with opacity 0.6 (3.2:1 on white); keep them at 9.5:1. */
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {
  color: #41464D !important; opacity: 1 !important; }
.demo-banner { background: #FFF4CE; border: 2px solid #8A6D00; color: #1A1A1A; padding: 0.55rem 0.9rem;
  border-radius: 6px; font-size: 1rem; margin-bottom: 0.4rem; }
.demo-banner strong { text-transform: uppercase; letter-spacing: 0.03em; }
.ind-card { border-left: 6px solid #005A9C; background: #F2F4F7; padding: 0.6rem 0.9rem; border-radius: 4px; margin: 0.3rem 0 0.6rem 0; }
.ind-card .ind-title { font-weight: 700; font-size: 1.1rem; }
.ind-card .ind-meta { color: #41464D; font-size: 0.92rem; }
.answer-box { border: 1px solid #C9CED6; border-radius: 6px; padding: 0.6rem 0.9rem; background: #FFFFFF; margin-bottom: 0.5rem; }
.legend { display: flex; flex-wrap: wrap; gap: 0.35rem 1rem; font-size: 0.9rem; margin: 0.25rem 0 0.4rem 0; align-items: center; }
.legend .sw { display: inline-block; width: 1.05em; height: 1.05em; border: 1px solid #555; vertical-align: -0.18em; margin-right: 0.3em; }
.legend .hatch { background: repeating-linear-gradient(45deg, #9E9E9E 0 3px, #E0E0E0 3px 6px); }
.map-note { font-size: 0.85rem; color: #41464D; }
.status-pill { display: inline-block; padding: 0.05rem 0.45rem; border-radius: 0.7rem; font-size: 0.85rem; border: 1px solid #555; white-space: nowrap; }
/* Spine chart table */
table.spine { width: 100%; border-collapse: collapse; font-size: 0.95rem; }
table.spine caption { text-align: left; font-weight: 700; font-size: 1.15rem; padding: 0.4rem 0; color: #1A1A1A; }
table.spine th { text-align: left; border-bottom: 2px solid #1A1A1A; padding: 0.3rem 0.4rem; font-size: 0.85rem; vertical-align: bottom; }
table.spine td { border-bottom: 1px solid #D5D9DF; padding: 0.3rem 0.4rem; vertical-align: middle; }
table.spine th { white-space: nowrap; }
table.spine td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.spine td.ind { min-width: 13rem; max-width: 24rem; }
table.spine td.ind .unit { display: block; color: #41464D; font-size: 0.8rem; }
/* Every spine is drawn at the same length in every group's table (the image is never scaled to fit). */
table.spine td.spinecell { width: 312px; min-width: 312px; }
table.spine td.spinecell img { width: 300px !important; max-width: none !important; }
/* Map tooltips: a readable width, wrapped (kept inside the map by the frame script). */
.deck-tooltip { max-width: 280px; white-space: normal !important; overflow-wrap: anywhere; }
.toc { display: flex; flex-wrap: wrap; gap: 0.3rem 1.1rem; margin: 0.2rem 0 0.6rem 0; font-size: 0.95rem; }
.toc a { white-space: nowrap; }
/* Wide HTML tables scroll on their own, never the page. */
.table-scroll { overflow-x: auto; max-width: 100%; }
[data-testid="stTable"] { overflow-x: auto; max-width: 100%; }
/* Narrow screens (phones, 390 px): one column, charts without the hover toolbar over their titles,
   small multiples and wide tables scroll sideways inside their own box, never the page. */
@media (max-width: 640px) {
  html, body, [data-testid="stAppViewContainer"] { font-size: 16px; }
  h1 { font-size: 1.55rem !important; }
  [data-testid="stMain"] h2 { font-size: 1.3rem !important; }
  [data-testid="stMain"] h3 { font-size: 1.12rem !important; }
  .block-container, [data-testid="stMainBlockContainer"] { padding-left: 0.75rem !important;
    padding-right: 0.75rem !important; padding-top: 2.6rem !important; }
  [data-testid="stHorizontalBlock"] { flex-wrap: wrap !important; gap: 0.5rem !important; }
  [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] { width: 100% !important; flex: 1 1 100% !important;
    min-width: 100% !important; }
  .js-plotly-plot .modebar-container { display: none !important; }
  /* segmented controls wrap instead of running off the screen */
  [data-testid="stButtonGroup"], [data-testid="stButtonGroup"] > div { flex-wrap: wrap !important;
    max-width: 100%; row-gap: 0.35rem; }
  [data-testid="stPlotlyChart"][class], .stPlotlyChart { max-width: 100%; }
  /* small multiples and the funnel plot (names placed for a wide plot) keep their width and scroll */
  [class*="st-key-hf_trends_"], .st-key-pf_sp1, .st-key-ko_funnel { overflow-x: auto !important; }
  [class*="st-key-hf_trends_"] .js-plotly-plot, .st-key-pf_sp1 .js-plotly-plot,
  .st-key-ko_funnel .js-plotly-plot { min-width: 680px; }
  table.spine { display: block; overflow-x: auto; max-width: 100%; }
  .legend { font-size: 0.85rem; }
  .deck-tooltip { max-width: 220px; }
}
table.spine .flag { color: #41464D; font-size: 0.8rem; display: block; }
.readiness-yes { font-weight: 600; }
/* Keyboard focus (WCAG 2.4.7): one clear 3px ring on every control. Streamlit draws no ring on the
   page links, the tables or the map, and only a thin border colour on select boxes and number inputs. */
[data-testid="stTopNavLink"]:focus-visible, [data-testid="stPageLink-NavLink"]:focus-visible, [data-testid="stSkipToContent"]:focus-visible,
[data-testid="stMain"]:focus-visible, .js-plotly-plot .modebar-btn:focus-visible,
[data-testid="stBaseButton-elementToolbar"]:focus-visible {
  outline: 3px solid #005A9C !important; outline-offset: 2px !important; }
[data-testid="stMain"]:focus-visible { outline-offset: -3px !important; }
[data-testid="stSelectbox"] [role="group"]:focus-within, [data-testid="stNumberInputContainer"]:focus-within,
[data-testid="stDataFrameResizable"]:focus-within {
  outline: 3px solid #005A9C !important; outline-offset: 1px; }
[data-testid="stCheckbox"] label:has(input:focus-visible) {
  outline: 3px solid #005A9C !important; outline-offset: 2px; border-radius: 4px; }
[data-testid="stDeckGlJsonChart"] .deck-events-root:focus-visible {
  outline: 3px solid #005A9C !important; outline-offset: -3px; }
/* Controls that appear on hover (Plotly's modebar, Streamlit's element toolbar) also appear on focus. */
.js-plotly-plot .plotly .modebar--hover .modebar-group:focus-within,
[data-testid="stElementToolbar"]:focus-within, [data-testid="stHeaderActionElements"] a:focus-visible {
  opacity: 1 !important; transition: none !important; }
/* Print: hide navigation and controls, keep charts and tables. */
@media print {
  header, [data-testid="stSidebar"], [data-testid="stToolbar"], [data-testid="stDecoration"],
  [data-testid="stHeader"], .stDownloadButton, [data-testid="stDownloadButton"], [data-testid="stButton"],
  [data-testid="stBaseButton-secondary"], [data-testid="stBaseButton-primary"],
  [data-testid="stSelectbox"], [data-testid="stRadio"], [data-testid="stNumberInput"],
  [data-testid="stSegmentedControl"], [data-testid="stCheckbox"], .no-print { display: none !important; }
  [data-testid="stAppViewContainer"], [data-testid="stMain"] { overflow: visible !important; }
  .block-container { padding-top: 0 !important; max-width: 100% !important; }
  table.spine { font-size: 11pt; page-break-inside: auto; }
  table.spine tr { page-break-inside: avoid; }
  .demo-banner { border: 2px solid #000; }
  h2, h3 { page-break-after: avoid; }
}
</style>
"""

LARGE_TEXT_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 21px !important; }
table.spine { font-size: 1.05rem; }
</style>
"""
