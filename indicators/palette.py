"""Colours, symbols and short labels shared by the dashboard (ui/) and the meeting deck.

The significance palette follows Fingertips, made colour-blind safe: better = blue, worse =
orange, similar = yellow, not compared = light grey; neutral indicators (no "good" direction)
use dark blue / light blue. Every colour is paired with a symbol and a text so that nothing
is told by colour alone.
"""

from __future__ import annotations

BETTER = "#1F6FB2"
WORSE = "#D9661F"
SIMILAR = "#F2C12E"
NOT_COMPARED = "#C9C9C9"
NEUTRAL_HIGHER = "#163E73"
NEUTRAL_LOWER = "#8EC1E6"
NATIONAL_LINE = "#1A1A1A"
HIGHLIGHT = "#6A1B9A"  # the selected area in trend and funnel charts (purple, not a status colour)
CONTEXT_LINE = "#B8BEC6"  # the other areas in trend charts
TARGET = "#2E7D32"
TEXT = "#1A1A1A"
MUTED_TEXT = "#4A4F57"

ASSESSMENT_COLOURS = {
    "better": BETTER,
    "worse": WORSE,
    "similar": SIMILAR,
    "higher": NEUTRAL_HIGHER,
    "lower": NEUTRAL_LOWER,
    "not_compared": NOT_COMPARED,
}
ASSESSMENT_SHORT = {
    "better": "Bedre",
    "worse": "Dårligere",
    "similar": "Som landet",
    "higher": "Høyere",
    "lower": "Lavere",
    "not_compared": "Ikke sammenlignet",
}
# Significance (higher/lower than the country) as a symbol: shape carries what colour carries.
SIGNIFICANCE_SYMBOLS = {"higher": "▲", "lower": "▼", "similar": "●", "not_compared": "○"}
