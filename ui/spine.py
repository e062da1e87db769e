"""The Fingertips-style spine chart: an HTML table with one inline SVG spine per indicator.

Per row: the value, its interval (95 % or 99.8 %, the profile's ``confidence``), the national
value, the comparison (colour + symbol + words), the trend arrow, the rank among the 19
helsefellesskap (1 = best, or 1 = highest for descriptive indicators: ``rank_rule``) and the spine: a light bar
from the lowest to the highest of the 19, a darker band from the 25th to the 75th
percentile, the national value as the centre line and the area's value as a marker whose
colour is the comparison and whose shape is the significance. Directional indicators are
drawn with "better" to the right; neutral ones with "higher" to the right.

A real table (caption, header cells, text in every cell) reads well on a projector, prints
well and is read by screen readers; each SVG has an ``aria-label``.
"""

from __future__ import annotations

import base64

import polars as pl

from indicators.catalogue import Catalogue

from ui import text, theme

SPINE_WIDTH = 300
SPINE_HEIGHT = 26


def _position(value: float, centre: float, half: float, flip: bool) -> float:
    x = 0.5 + (value - centre) / (2 * half) if half > 0 else 0.5
    x = 1 - x if flip else x
    return 6 + x * (SPINE_WIDTH - 12)


def _marker(x: float, significance: str, colour: str) -> str:
    y = SPINE_HEIGHT / 2
    stroke = 'stroke="#1A1A1A" stroke-width="1.3"'
    if significance == "higher":
        return f'<polygon points="{x:.1f},{y - 8:.1f} {x - 7:.1f},{y + 6:.1f} {x + 7:.1f},{y + 6:.1f}" fill="{colour}" {stroke}/>'
    if significance == "lower":
        return f'<polygon points="{x:.1f},{y + 8:.1f} {x - 7:.1f},{y - 6:.1f} {x + 7:.1f},{y - 6:.1f}" fill="{colour}" {stroke}/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6.5" fill="{colour}" {stroke}/>'


def spine_svg(row: dict, label: str) -> str:
    """One spine; empty string if the spread of the 19 is not known."""
    centre = row.get("national_value")
    lo, hi = row.get("hf_min"), row.get("hf_max")
    if centre is None or lo is None or hi is None:
        return '<span>–</span>'
    value = row.get("value")
    half = max(abs(lo - centre), abs(hi - centre), abs(value - centre) if value is not None else 0.0) * 1.04
    flip = row.get("direction") == "lower_is_better"
    pos = [_position(v, centre, half, flip) for v in (lo, hi)]
    parts = [f'<rect x="{min(pos):.1f}" y="5" width="{abs(pos[1] - pos[0]):.1f}" height="{SPINE_HEIGHT - 10}" fill="#D5DAE1"/>']
    q25, q75 = row.get("hf_q25"), row.get("hf_q75")
    if q25 is not None and q75 is not None:
        q = [_position(v, centre, half, flip) for v in (q25, q75)]
        parts.append(f'<rect x="{min(q):.1f}" y="5" width="{abs(q[1] - q[0]):.1f}" height="{SPINE_HEIGHT - 10}" fill="#8A94A1"/>')
    c = _position(centre, centre, half, flip)
    parts.append(f'<line x1="{c:.1f}" x2="{c:.1f}" y1="1" y2="{SPINE_HEIGHT - 1}" stroke="#1A1A1A" stroke-width="2.2"/>')
    if value is not None:
        parts.append(_marker(_position(value, centre, half, flip), row.get("significance") or "similar",
                             theme.assessment_colour(row.get("assessment"))))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{SPINE_WIDTH}" height="{SPINE_HEIGHT}" '
           f'viewBox="0 0 {SPINE_WIDTH} {SPINE_HEIGHT}">{"".join(parts)}</svg>')
    return _img(svg, label, SPINE_WIDTH, SPINE_HEIGHT)


def _img(svg: str, label: str, width: int, height: int) -> str:
    """An SVG as an <img> data URI (st.html sanitises inline SVG away); ``alt`` carries the text."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (f'<img src="data:image/svg+xml;base64,{data}" alt="{text.esc(label)}" width="{width}" height="{height}" '
            f'style="max-width:100%;height:auto;display:block">')


def _pill(assessment: str | None, significance: str | None) -> str:
    colour = theme.assessment_colour(assessment)
    fg = theme.ON_COLOUR.get(colour, "#1A1A1A")
    return (f'<span class="status-pill" style="background:{colour};color:{fg}">'
            f'{text.esc(text.status(assessment, significance))}</span>')


def spine_table(profile: pl.DataFrame, catalogue: Catalogue, group_id: str, caption: str, area_short: str) -> str:
    """The spine-chart table for the indicators of one group (HTML string for ``st.html``)."""
    rows = profile.filter(pl.col("group") == group_id)
    level = (profile["confidence"].drop_nulls().to_list() or ["95 %"])[0] if "confidence" in profile.columns else "95 %"
    suffix = "99_8" if level.startswith("99") else "95"
    body = []
    for row in rows.iter_rows(named=True):
        ind = catalogue.indicator(row["indicator_id"])
        value = row.get("value")
        arrow, trend_text = text.trend(row.get("trend"))
        rank = row.get("rank")
        rank_text = (f"{rank} av {row.get('n_ranked')}<br><span class='unit'>{text.esc(row.get('rank_rule') or '')}"
                     "</span>" if rank is not None else "–")
        note = text.flag_note(row.get("flag"), row.get("flag_label"))
        if ind.coverage == "local" and row.get("total_kommuner"):
            note = (note + " · " if note else "") + text.reporting(row.get("reporting_kommuner"), row.get("total_kommuner"))
        spread = (f"spredning {text.value(ind, row.get('hf_min'))}–{text.value(ind, row.get('hf_max'))}"
                  if row.get("hf_min") is not None else "")
        label = (f"{ind.short_name}: {area_short} {text.value(ind, value)}, landet {text.value(ind, row.get('national_value'))}, "
                 f"{spread}, {text.status(row.get('assessment'), row.get('significance'))}")
        body.append(
            "<tr>"
            f'<td class="ind"><b>{text.esc(ind.short_name)}</b><span class="unit">{text.esc(text.unit_phrase(ind))}'
            f'{", " + text.esc(text.standardisation(ind)) if ind.is_standardised else ""}</span>'
            f'{f"<span class=flag>{text.esc(note)}</span>" if note else ""}</td>'
            f'<td class="num">{text.esc(row.get("period") or "–")}</td>'
            f'<td class="num">{text.count(row.get("numerator"))}</td>'
            f'<td class="num"><b>{text.value(ind, value)}</b></td>'
            f'<td class="num">{text.interval(ind, row.get(f"lower_{suffix}"), row.get(f"upper_{suffix}"))}</td>'
            f'<td class="num">{text.value(ind, row.get("national_value"))}</td>'
            f'<td>{_pill(row.get("assessment"), row.get("significance"))}</td>'
            f'<td><span aria-hidden="true" style="font-size:1.2em">{arrow}</span> {text.esc(trend_text)}</td>'
            f'<td class="num">{rank_text}</td>'
            f'<td class="spinecell">{spine_svg(row, label)}</td>'
            "</tr>"
        )
    head = (
        "<tr><th scope='col'>Indikator</th><th scope='col'>Periode</th><th scope='col'>Antall</th>"
        f"<th scope='col'>Verdi</th><th scope='col'>{text.esc(level)} KI</th><th scope='col'>Landet</th>"
        f"<th scope='col'>Mot landet ({text.esc(level)})</th><th scope='col'>Trend (siste 5 år)</th>"
        "<th scope='col'>Rang</th>"
        "<th scope='col'>Spredning blant de 19<br><span style='font-weight:400'>← dårligere/lavere · bedre/høyere →</span></th></tr>"
    )
    return f'<table class="spine"><caption>{text.esc(caption)}</caption><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def spine_legend() -> str:
    """Legend for the spine (SVG swatches with words)."""
    svg = _img(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="250" height="26" viewBox="0 0 250 26">'
        f'<rect x="5" y="5" width="240" height="16" fill="#D5DAE1"/><rect x="70" y="5" width="90" height="16" fill="#8A94A1"/>'
        f'<line x1="125" x2="125" y1="1" y2="25" stroke="#1A1A1A" stroke-width="2.2"/>'
        f'{_marker(185, "higher", theme.BETTER)}</svg>',
        "Eksempel på en spine: lys grå stolpe fra laveste til høyeste, mørkere midtre halvdel, svart strek for landet "
        "og en markør for helsefellesskapet.", 250, 26)
    return (
        '<div class="legend">'
        f"{svg}"
        '<span><span class="sw" style="background:#D5DAE1"></span>Laveste–høyeste av de 19</span>'
        '<span><span class="sw" style="background:#8A94A1"></span>Midterste halvdel (25.–75. persentil)</span>'
        '<span><b style="font-size:1.2em">|</b> Landet</span>'
        '<span>Markør: helsefellesskapet (▲ høyere, ▼ lavere, ● ikke signifikant forskjellig fra landet)</span>'
        '<span>Rang blant helsefellesskapene med synlig verdi: 1 = best for indikatorer med ønsket retning; '
        '1 = høyeste verdi for beskrivende indikatorer</span>'
        '<span>Trend: Fingertips\' regel – de fem siste årene, 99,8 % sikkerhet; færre år gir ingen pil</span>'
        "<span>Skalaen er lagt slik at <b>bedre</b> er til høyre for indikatorer med ønsket retning; "
        "for beskrivende indikatorer er <b>høyere</b> til høyre.</span>"
        "</div>"
    )


def profile_summary(profile: pl.DataFrame, area_short: str) -> str:
    """How many indicators are better, worse, similar, higher/lower (neutral) or not compared."""
    def n(value: str) -> int:
        return profile.filter(pl.col("assessment") == value).height

    directional = n("better") + n("worse") + n("similar")
    parts = [
        f"<b>{n('better')}</b> bedre enn landet",
        f"<b>{n('worse')}</b> dårligere enn landet",
        f"<b>{n('similar')}</b> ikke signifikant forskjellig",
    ]
    neutral = f"{n('higher')} høyere og {n('lower')} lavere enn landet blant de beskrivende indikatorene"
    hidden = n("not_compared") + profile.filter(pl.col("assessment").is_null()).height
    return (
        '<div class="answer-box" role="region" aria-label="Sammendrag">'
        f"<b>{text.esc(area_short)} i korte trekk:</b> av {directional} indikatorer med ønsket retning er "
        + ", ".join(parts) + f". {neutral}."
        + (f" {hidden} kan ikke sammenlignes (skjult eller ikke rapportert)." if hidden else "")
        + "</div>"
    )
