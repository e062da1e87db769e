"""The yearly status report (årlig statusrapport) of one helsefellesskap: DOCX (editable) and PDF.

Contents: where the helsefellesskap stands against the country and its local goals; one section per
priority group and Pakkeforløp hjem with the indicators, the published assessments and the actions
with their status (in the shape of the politicians' tables: Tiltak | Mål | Gjennomføring | Tidspunkt |
Ansvarlig); the numbers' definitions and sources. Synthetic data are labelled on the first page.

The report is built once as a list of neutral blocks (``build_blocks``), then rendered by
``render_docx`` (python-docx: real headings, tables with repeated header rows) or ``render_pdf``
(fpdf2 with DejaVu Sans, which has æøå and the symbols). Every number comes from the public engine
(already suppressed); a masked value is "–" with the reason in words. Drafts are never included.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from data_loaders import ssu, store
from indicators import data
from indicators.analysis import profile
from indicators.catalogue import DIRECTION_LABELS, Indicator, load_catalogue
from indicators.engine import FLAG_LABELS, NOT_REPORTED, OK, SUPPRESSION_FLAGS, IndicatorRequestError, compute
from outputs.exports import SYNTHETIC_WARNING, indicator_metadata, local_goal_text, suppression_rule
from indicators.formatting import MISSING, decimals_for, format_number
from indicators.palette import ASSESSMENT_SHORT, SIGNIFICANCE_SYMBOLS

FORMATS = ("docx", "pdf")
MIME_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
GROUP_ORDER = ("barn_og_unge", "psykisk_helse_rus", "skropelige_eldre", "flere_kroniske", "pakkeforlop_hjem")
# The indicator whose kommune values each section lists (as on the deck's group slides).
KEY_INDICATORS = {
    "barn_og_unge": "barn_oh_innleggelser",
    "psykisk_helse_rus": "psyk_oppfolging_7d",
    "skropelige_eldre": "eldre_oh_innleggelser_80",
    "flere_kroniske": "kronisk_unngaelige_innleggelser_18",
    "pakkeforlop_hjem": "kreft_sp1_behovskartlegging",
}
ACTION_HEADERS = ("Tiltak", "Mål", "Gjennomføring", "Tidspunkt", "Ansvarlig", "Vedtak")
CLOSED_ACTIONS = ("fullført", "avbrutt")


class ReportRequestError(IndicatorRequestError):
    """A report that cannot be made (unknown helsefellesskap, a year without data, public mode)."""


# --- the neutral document ---------------------------------------------------------------------------

Run = tuple[str, str]  # (text, style: "" | "b" | "i" | "bi")


@dataclass
class Heading:
    text: str
    level: int


@dataclass
class Paragraph:
    runs: list[Run]
    muted: bool = False
    bullet: bool = False
    warning: bool = False


@dataclass
class Table:
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    widths: tuple[float, ...]  # relative
    caption: str = ""


@dataclass
class Report:
    title: str
    subtitle: str
    blocks: list = field(default_factory=list)

    def heading(self, text: str, level: int) -> None:
        self.blocks.append(Heading(text, level))

    def text(self, *runs: Run | str, muted: bool = False, bullet: bool = False, warning: bool = False) -> None:
        parts = [(r, "") if isinstance(r, str) else r for r in runs]
        self.blocks.append(Paragraph([p for p in parts if p[0]], muted=muted, bullet=bullet, warning=warning))

    def table(self, headers, rows, widths, caption: str = "") -> None:
        self.blocks.append(Table(tuple(headers), [tuple(r) for r in rows], tuple(widths), caption))

    def plain_text(self) -> str:
        """Everything as text (tests and previews)."""
        lines = [self.title, self.subtitle]
        for block in self.blocks:
            if isinstance(block, Heading):
                lines.append(block.text)
            elif isinstance(block, Paragraph):
                lines.append("".join(text for text, _ in block.runs))
            else:
                lines.append(" | ".join(block.headers))
                lines.extend(" | ".join(row) for row in block.rows)
        return "\n".join(lines)


# --- Markdown (the assessments) to paragraphs ----------------------------------------------------------

_INLINE = re.compile(r"\*\*(.+?)\*\*|__(.+?)__|\*(.+?)\*|_(.+?)_|`(.+?)`|\[([^\]]+)\]\(([^)\s]+)\)")


def markdown_runs(text: str) -> list[Run]:
    """Bold, italic, code and links of one Markdown line as runs; everything else stays literal text."""
    runs: list[Run] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            runs.append((text[position:match.start()], ""))
        bold, bold2, italic, italic2, code, link_text, link_url = match.groups()
        if bold or bold2:
            runs.append((bold or bold2, "b"))
        elif italic or italic2:
            runs.append((italic or italic2, "i"))
        elif code:
            runs.append((code, ""))
        else:
            runs.append((f"{link_text} ({link_url})", ""))
        position = match.end()
    if position < len(text):
        runs.append((text[position:], ""))
    return runs


def markdown_paragraphs(text: str) -> list[Paragraph]:
    """Paragraphs and bullet items of a short Markdown text (headings become bold paragraphs)."""
    paragraphs: list[Paragraph] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            paragraphs.append(Paragraph(markdown_runs(" ".join(pending))))
            pending.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        bullet = re.match(r"^(?:[-*+]|\d+[.)])\s+(.*)$", line)
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if bullet:
            flush()
            paragraphs.append(Paragraph(markdown_runs(bullet.group(1)), bullet=True))
        elif heading:
            flush()
            paragraphs.append(Paragraph([(heading.group(1), "b")]))
        else:
            pending.append(line.lstrip(">").strip())
    flush()
    return paragraphs


# --- gathering -------------------------------------------------------------------------------------------


@dataclass
class _Context:
    key: data.DataKey
    hf_id: str
    hf_name: str
    hf_short: str
    year: int
    synthetic: bool
    extraction: str
    sources: str
    kommuner: pl.DataFrame
    profile: pl.DataFrame
    goals: dict[str, ssu.Goal]
    assessments: dict[str, ssu.Assessment]
    actions: list[ssu.Action]


def _period_years(period: str) -> tuple[int, int]:
    start, _, end = period.partition("-")
    return int(start), int(end or start)


def _latest_assessments(found: list[ssu.Assessment], year: int) -> dict[str, ssu.Assessment]:
    """Per indicator the published assessment of the latest period that starts no later than ``year``."""
    def recency(item: ssu.Assessment) -> tuple[int, int]:
        start, end = _period_years(item.period)
        return min(end, year), start

    chosen: dict[str, ssu.Assessment] = {}
    for item in found:
        if _period_years(item.period)[0] > year:
            continue
        best = chosen.get(item.indicator_id)
        if best is None or recency(item) > recency(best):
            chosen[item.indicator_id] = item
    return chosen


def _relevant_actions(found: list[ssu.Action], year: int) -> list[ssu.Action]:
    """Actions decided by the end of ``year`` that were still open in it (closed ones with a later deadline too)."""
    return [
        a for a in found
        if a.sak_date.year <= year and not (a.status in CLOSED_ACTIONS and a.due_date.year < year)
    ]


def _context(helsefellesskap_id: str, year: int, key) -> _Context:
    from data_loaders.config import settings

    if settings().public_mode:
        raise ReportRequestError("the status report holds internal goals and actions and is not available in "
                                 "public mode (PUBLIC_MODE=1)")
    key = key or data.current_key()
    try:
        record = data.helsefellesskap_record(key, helsefellesskap_id)
    except KeyError as error:
        raise ReportRequestError(error.args[0]) from None
    loaded = sorted(data.years(key))
    if year not in loaded:
        span = f"{loaded[0]}-{loaded[-1]}" if loaded else "none"
        raise ReportRequestError(f"no data in {year}; years with data: {span}")
    datasets = data.datasets(key)
    extraction = ", ".join(sorted({str(d) for d in datasets["extraction_date"].drop_nulls().to_list()})) or "ukjent"
    sources = "; ".join(sorted({str(s) for s in datasets["source"].drop_nulls().to_list()})) or "ukjent"
    engine = store.get_engine(key.database_url)
    kommuner = (data.areas(key).filter(pl.col("helsefellesskap_id") == helsefellesskap_id)
                .select("kommunenummer", "kommunenavn").sort("kommunenummer"))
    return _Context(
        key=key, hf_id=helsefellesskap_id, hf_name=record["helsefellesskap_navn"], hf_short=record["kortnavn"],
        year=year, synthetic=data.is_synthetic(key), extraction=extraction, sources=sources, kommuner=kommuner,
        profile=profile(helsefellesskap_id, year, key=key),
        goals={g.indicator_id: g for g in ssu.goals(engine, helsefellesskap_id)},
        assessments=_latest_assessments(ssu.assessments(engine, helsefellesskap_id), year),
        actions=_relevant_actions(ssu.actions(engine, helsefellesskap_id), year),
    )


# --- wording ---------------------------------------------------------------------------------------------


def _value_text(row: dict) -> str:
    """The value with its unit, or "–" and why (never a masked number)."""
    if row.get("value") is None:
        flag = row.get("flag") or NOT_REPORTED
        if flag == NOT_REPORTED:
            return "ikke rapportert"
        return f"{MISSING} ({(FLAG_LABELS.get(flag) or 'ingen verdi').lower()})"
    return format_number(row["value"], decimals_for(row["unit"]))


def _comparison_text(row: dict) -> str:
    flag = row.get("flag") or OK
    if flag == NOT_REPORTED:
        return "Ikke rapportert"
    if flag in SUPPRESSION_FLAGS:
        return "Skjult (prikket)"
    assessment = row.get("assessment") or "not_compared"
    if assessment == "not_compared" or row.get("value") is None:
        return "Ikke sammenlignet"
    return f"{SIGNIFICANCE_SYMBOLS.get(row.get('significance') or 'not_compared', '○')} {ASSESSMENT_SHORT[assessment]}"


def goal_status(goal: ssu.Goal, value: float | None, year: int) -> str:
    """Whether the value of ``year`` meets the goal, in words."""
    if value is None:
        return "Kan ikke vurderes (ingen publisert verdi)"
    reached = value >= goal.target if goal.direction == "higher_is_better" else value <= goal.target
    if reached:
        return "Nådd"
    return "Ikke nådd ennå" if year < goal.target_year else "Ikke nådd"


def _goal_cell(goal: ssu.Goal | None) -> str:
    return local_goal_text(goal) if goal else ""


def _action_row(action: ssu.Action) -> tuple[str, ...]:
    return (
        action.title, action.goal_text or MISSING, ssu.ACTION_STATUS_LABELS_NB.get(action.status, action.status),
        ssu.format_date_nb(action.due_date), action.owner, ssu.format_sak(action.sak_number, action.sak_date),
    )


def _has_data(row: dict) -> bool:
    return row.get("period") is not None


# --- sections ----------------------------------------------------------------------------------------------


def _summary(report: Report, ctx: _Context) -> None:
    report.heading("Sammendrag", 1)
    rows = [r for r in ctx.profile.to_dicts() if _has_data(r)]
    counts: dict[str, int] = {}
    for r in rows:
        if r.get("value") is not None and r.get("flag") == OK:
            counts[r.get("assessment") or "not_compared"] = counts.get(r.get("assessment") or "not_compared", 0) + 1
    parts = [f"{n} {ASSESSMENT_SHORT[a].lower()}" for a, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    report.text(
        (f"{ctx.hf_name} ", "b"),
        f"har tall for {len(rows)} indikatorer til og med {ctx.year}. Sammenlignet med hele landet er "
        f"{', '.join(parts) if parts else 'ingen sammenlignet'} (95 % konfidensintervall; «bedre» og «dårligere» "
        "følger indikatorens ønskede retning).",
    )
    by_id = {r["indicator_id"]: r for r in ctx.profile.to_dicts()}
    goal_rows = []
    statuses: dict[str, int] = {}
    catalogue = load_catalogue()
    for indicator_id, goal in sorted(ctx.goals.items()):
        try:
            ind = catalogue.indicator(indicator_id)
        except KeyError:
            continue
        row = by_id.get(indicator_id, {"unit": ind.unit_label})
        status = goal_status(goal, row.get("value"), ctx.year)
        statuses[status] = statuses.get(status, 0) + 1
        goal_rows.append((ind.short_name, row.get("period") or MISSING, _value_text(row), _goal_cell(goal), status))
    if goal_rows:
        summary = ", ".join(f"{n} {s.lower()}" for s, n in statuses.items())
        count = "ett lokalt mål" if len(goal_rows) == 1 else f"{len(goal_rows)} lokale mål"
        report.text(f"Helsefellesskapet har satt {count}: {summary}.")
        report.table(("Indikator", "År", "Verdi", "Lokalt mål (vedtak)", "Status"), goal_rows, (2.2, 0.7, 1.2, 3.2, 1.4),
                     caption="Lokale mål")
    else:
        report.text("Helsefellesskapet har ikke satt lokale mål i løsningen.", muted=True)
    open_actions = [a for a in ctx.actions if a.status not in CLOSED_ACTIONS]
    by_status = {label: sum(1 for a in ctx.actions if a.status == status)
                 for status, label in ssu.ACTION_STATUS_LABELS_NB.items()}
    report.text(f"Tiltak: {len(ctx.actions)} i {ctx.year} ("
                + ", ".join(f"{n} {label.lower()}" for label, n in by_status.items() if n) + ")."
                if ctx.actions else "Ingen tiltak er registrert.",
                f" {len(open_actions)} {'er fortsatt åpent' if len(open_actions) == 1 else 'er fortsatt åpne'}."
                if ctx.actions else "")


def _indicator_rows(ctx: _Context, members: tuple[Indicator, ...]) -> list[tuple[str, ...]]:
    by_id = {r["indicator_id"]: r for r in ctx.profile.to_dicts()}
    rows = []
    for ind in members:
        row = by_id.get(ind.id)
        if row is None or not _has_data(row):
            continue
        decimals = decimals_for(ind.unit_label)
        goal = ctx.goals.get(ind.id)
        rows.append((ind.short_name, ind.unit_label, row["period"], _value_text(row),
                     format_number(row.get("national_value"), decimals), _comparison_text(row),
                     _goal_cell(goal)))
    return rows


def _kommune_table(report: Report, ctx: _Context, ind: Indicator, period: str | None) -> None:
    if not period or not period[:4].isdigit():
        return
    year = int(period[:4])
    table = compute(ind.id, "kommune", years=[year], key=ctx.key).join(
        ctx.kommuner.select(pl.col("kommunenummer").alias("area_id")), on="area_id", how="semi").sort("area_name")
    if table.height < 2:
        return
    decimals = decimals_for(ind.unit_label)
    rows = [(r["area_name"], _value_text({**r, "unit": ind.unit_label}),
             format_number(r.get("lower_95"), decimals) + "–" + format_number(r.get("upper_95"), decimals)
             if r.get("value") is not None else MISSING, _comparison_text(r)) for r in table.iter_rows(named=True)]
    report.text((f"Kommunene, {ind.short_name} {year} ({ind.unit_label})", "b"))
    report.table(("Kommune", "Verdi", "95 % KI", "Sammenlignet med landet"), rows, (2.4, 1.8, 1.6, 2.2),
                 caption=f"Kommunene i {ctx.hf_short}: {ind.short_name} {year}")


def _group_section(report: Report, ctx: _Context, group_id: str) -> None:
    catalogue = load_catalogue()
    group = catalogue.group(group_id)
    members = catalogue.in_group(group_id)
    member_ids = {m.id for m in members}
    report.heading(group.name, 1)
    rows = _indicator_rows(ctx, members)
    if rows:
        report.table(("Indikator", "Enhet", "År", "Verdi", "Landet", "Sammenlignet med landet", "Lokalt mål"), rows,
                     (2.2, 1.0, 0.7, 1.1, 0.9, 1.5, 2.2), caption=f"{group.name}: indikatorene")
    else:
        report.text("Ingen indikatorer i gruppen har data.", muted=True)
    report.heading("Vurderinger", 2)
    written = [(m, ctx.assessments[m.id]) for m in members if m.id in ctx.assessments]
    if not written:
        report.text("Ingen publiserte vurderinger for denne gruppen.", muted=True)
    for ind, assessment in written:
        report.heading(f"{ind.short_name} ({assessment.period.replace('-', '–')})", 3)
        report.blocks.extend(markdown_paragraphs(assessment.text_md))
        report.text(f"Publisert vurdering, sist endret {ssu.format_date_nb(assessment.updated_at.date())} "
                    f"av {assessment.updated_by}.", muted=True)
    report.heading("Tiltak og oppfølging", 2)
    group_actions = [a for a in ctx.actions if member_ids & set(a.indicator_ids)]
    if group_actions:
        report.table(ACTION_HEADERS, [_action_row(a) for a in group_actions], (2.3, 1.5, 1.45, 1.3, 1.4, 1.7),
                     caption=f"{group.name}: tiltak")
    else:
        report.text("Ingen tiltak er registrert for denne gruppen.", muted=True)
    key_id = KEY_INDICATORS.get(group_id)
    if key_id in member_ids:
        by_id = {r["indicator_id"]: r for r in ctx.profile.to_dicts()}
        _kommune_table(report, ctx, catalogue.indicator(key_id), (by_id.get(key_id) or {}).get("period"))


def _definitions(report: Report, ctx: _Context) -> None:
    catalogue = load_catalogue()
    report.heading("Definisjoner og kilder", 1)
    shown = [catalogue.indicator(r["indicator_id"]) for r in ctx.profile.to_dicts() if _has_data(r)]
    rows = []
    for ind in shown:
        meta = indicator_metadata(ind)
        rows.append((ind.name, f"{ind.description} Teller: {meta['teller']} Nevner: {meta['nevner']}",
                     f"{ind.unit_label}; {meta['standardisering']}; {DIRECTION_LABELS.get(ind.direction, '')}",
                     ind.source))
    report.table(("Indikator", "Definisjon", "Enhet, standardisering og retning", "Kilde"), rows,
                 (1.8, 4.2, 1.8, 1.2), caption="Definisjoner")
    thresholds = [i.suppression_threshold for i in shown] or [5]
    report.text(("Prikking. ", "b"), suppression_rule(thresholds) + " Skjulte tall vises som «–» med forklaring.")
    report.text(("Sammenligning med landet. ", "b"),
                "Signifikant høyere eller lavere når hele 95 %-konfidensintervallet ligger over eller under landets "
                "verdi; ▲/▼ høyere/lavere, ● ingen sikker forskjell.")
    report.text(("Datagrunnlag. ", "b"), f"{ctx.sources}. Uttrekksdato {ctx.extraction}.")
    report.text(("Lokale mål, vurderinger og tiltak. ", "b"),
                "Satt og skrevet av helsefellesskapet selv; målene med vedtaket de kommer fra. Bare publiserte "
                "vurderinger er med. Nasjonalt satte mål står i indikatorkatalogen.")
    if ctx.synthetic:
        report.text(SYNTHETIC_WARNING + ".", warning=True)


def build_blocks(helsefellesskap_id: str, year: int, key=None) -> Report:
    """The report's content for one helsefellesskap and year, ready to render."""
    ctx = _context(helsefellesskap_id, int(year), key)
    report = Report(
        title=f"Årlig statusrapport {ctx.year}",
        subtitle=f"{ctx.hf_name} · generert {ssu.format_date_nb(date.today())}",
    )
    if ctx.synthetic:
        report.text(SYNTHETIC_WARNING + ". Rapporten viser hvordan den blir med ekte tall.", warning=True)
    report.text(f"Strategisk samarbeidsutvalg (SSU) i {ctx.hf_name}: status for {ctx.year} for de prioriterte "
                f"pasientgruppene og Pakkeforløp hjem, med helsefellesskapets egne mål, vurderinger og tiltak. "
                f"{ctx.kommuner.height} kommuner. Tallene er siste år med data til og med {ctx.year}.")
    _summary(report, ctx)
    catalogue = load_catalogue()
    known = {g.id for g in catalogue.groups}
    for group_id in GROUP_ORDER:
        if group_id in known and catalogue.in_group(group_id):
            _group_section(report, ctx, group_id)
    _definitions(report, ctx)
    return report


# --- DOCX -------------------------------------------------------------------------------------------------

NAVY = "163E73"
MUTED = "4A4F57"
RED = "B2182B"


def _docx_runs(paragraph, runs: list[Run], *, color: str | None = None, bold_all: bool = False) -> None:
    from docx.shared import RGBColor

    for text, style in runs:
        run = paragraph.add_run(text)
        run.bold = bold_all or "b" in style
        run.italic = "i" in style
        if color:
            run.font.color.rgb = RGBColor.from_string(color)


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def render_docx(report: Report) -> bytes:
    """An editable Word document: Title and Heading styles, tables with a repeated header row."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.left_margin = section.right_margin = Cm(2)
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    document.core_properties.title = f"{report.title} – {report.subtitle.split(' · ')[0]}"
    document.core_properties.language = "nb-NO"
    document.core_properties.author = "Styringsinformasjon for helsefellesskapene"
    document.add_heading(report.title, level=0)
    _docx_runs(document.add_paragraph(), [(report.subtitle, "")], color=MUTED)
    width = section.page_width - section.left_margin - section.right_margin
    for block in report.blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=block.level)
        elif isinstance(block, Paragraph):
            paragraph = document.add_paragraph(style="List Bullet" if block.bullet else None)
            color = RED if block.warning else MUTED if block.muted else None
            _docx_runs(paragraph, block.runs, color=color, bold_all=block.warning)
        else:
            table = document.add_table(rows=1, cols=len(block.headers))
            table.style = "Table Grid"
            total = sum(block.widths)
            for j, header in enumerate(block.headers):
                cell = table.rows[0].cells[j]
                cell.text = ""
                _docx_runs(cell.paragraphs[0], [(header, "b")])
            _repeat_header(table.rows[0])
            for values in block.rows:
                cells = table.add_row().cells
                for j, value in enumerate(values):
                    cells[j].text = value
            for j, w in enumerate(block.widths):
                for row in table.rows:
                    row.cells[j].width = int(width * w / total)
            for row in table.rows:
                for cell in row.cells:
                    for p in cell.paragraphs:
                        for run in p.runs:
                            run.font.size = Pt(9)
            document.add_paragraph()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- PDF ---------------------------------------------------------------------------------------------------


def _font_files() -> dict[str, Path]:
    """DejaVu Sans from matplotlib's bundled fonts (always installed with the deck): æøå, «», –, ▲▼●."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return {"": folder / "DejaVuSans.ttf", "B": folder / "DejaVuSans-Bold.ttf",
            "I": folder / "DejaVuSans-Oblique.ttf", "BI": folder / "DejaVuSans-BoldOblique.ttf"}


def render_pdf(report: Report) -> bytes:
    """A PDF with the same content: bookmarks per heading, tables with repeated header rows."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(18, 16, 18)
    for style, path in _font_files().items():
        pdf.add_font("DejaVu", style, str(path))
    pdf.set_title(report.title)
    pdf.set_lang("nb-NO")
    pdf.set_creator("Styringsinformasjon for helsefellesskapene")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 20)
    pdf.set_text_color(0x16, 0x3E, 0x73)
    pdf.start_section(report.title, level=0)
    pdf.multi_cell(0, 9, report.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.set_text_color(0x4A, 0x4F, 0x57)
    pdf.multi_cell(0, 6, report.subtitle, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    sizes = {1: 15, 2: 12.5, 3: 11}
    for block in report.blocks:
        if isinstance(block, Heading):
            if block.level == 1 and pdf.get_y() > pdf.h - 60:
                pdf.add_page()
            pdf.ln(3 if block.level > 1 else 5)
            pdf.set_font("DejaVu", "B", sizes.get(block.level, 11))
            pdf.set_text_color(0x16, 0x3E, 0x73)
            pdf.start_section(block.text, level=min(block.level, 2))
            pdf.multi_cell(0, 7, block.text, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif isinstance(block, Paragraph):
            colour = (0xB2, 0x18, 0x2B) if block.warning else (0x4A, 0x4F, 0x57) if block.muted else (0x1A, 0x1A, 0x1A)
            pdf.set_text_color(*colour)
            if block.bullet:
                pdf.set_font("DejaVu", "", 10)
                pdf.write(5.2, "• ")
            for text, style in block.runs:
                weight = ("B" if ("b" in style or block.warning) else "") + ("I" if "i" in style else "")
                pdf.set_font("DejaVu", weight, 10)
                pdf.write(5.2, text)
            pdf.ln(7)
        else:
            pdf.set_text_color(0x1A, 0x1A, 0x1A)
            pdf.set_font("DejaVu", "", 8.5)
            headings = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=(0x16, 0x3E, 0x73))
            with pdf.table(col_widths=block.widths, headings_style=headings, line_height=4.6,
                           text_align="LEFT", repeat_headings=1) as table:
                header = table.row()
                for text in block.headers:
                    header.cell(text)
                for values in block.rows:
                    row = table.row()
                    for text in values:
                        row.cell(text)
            pdf.ln(4)
    return bytes(pdf.output())


# --- public API --------------------------------------------------------------------------------------------


def build_report(helsefellesskap_id: str, year: int, fmt: str = "docx", key=None) -> bytes:
    """The yearly status report as DOCX or PDF bytes. Raises ``ReportRequestError`` on a bad request."""
    if fmt not in FORMATS:
        raise ReportRequestError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    report = build_blocks(helsefellesskap_id, year, key)
    return render_docx(report) if fmt == "docx" else render_pdf(report)


def report_file_name(helsefellesskap_id: str, year: int, fmt: str) -> str:
    return f"statusrapport_{helsefellesskap_id}_{year}.{fmt}"
