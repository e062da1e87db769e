"""The yearly status report (DOCX and PDF), and the SSU's goals and assessments in the exports and the deck.

One copy of the demo store gets a goal, a published and a draft assessment and actions for Troms og
Ofoten; the report is built once per format through the CLI and read back with python-docx and pypdf.
"""

from __future__ import annotations

import io
import re
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from docx import Document
from docx.oxml.ns import qn
from pypdf import PdfReader

from data_loaders import ssu, store
from data_loaders.config import settings
from indicators.formatting import decimals_for, format_number

HF = "troms-ofoten"
SP1 = "kreft_sp1_behovskartlegging"
ELDRE = "eldre_oh_innleggelser_80"
EDITOR = "red@unn.no"
PUBLISHED_TEXT = "Andelen øker, men ligger fortsatt under målet vi vedtok"
DRAFT_TEXT = "UTKAST som ikke skal med i rapporten"
ACTION_TITLE = "Felles rutine for behovskartlegging på UNN Harstad"
CLOSED_TITLE = "Gammelt avsluttet tiltak"
GROUP_HEADINGS = ("Sammendrag", "Barn og unge", "Skrøpelige eldre", "Pakkeforløp hjem for pasienter med kreft",
                  "Definisjoner og kilder")


@pytest.fixture(scope="module")
def ssu_store(demo_database_url, tmp_path_factory):
    """A copy of the demo store with Troms og Ofoten's goal, assessments and actions; DATABASE_URL points at it."""
    source = Path(demo_database_url.removeprefix("sqlite:///"))
    copy = tmp_path_factory.mktemp("ssu-report") / "store.sqlite"
    shutil.copy(source, copy)
    url = f"sqlite:///{copy}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        settings.cache_clear()
        engine = store.get_engine(url)
        ssu.set_role(engine, EDITOR, HF, "redaktor", by="cli:test", operator=True)
        ssu.save_goal(engine, ssu.Goal(HF, SP1, 80.0, "higher_is_better", 2026, 12, date(2025, 4, 3)), by=EDITOR)
        published = ssu.save_assessment(engine, ssu.Assessment(
            HF, SP1, "2025", f"{PUBLISHED_TEXT}.\n\n- **Opplæring** av sykepleiere\n- <script>alert(1)</script>"),
            by=EDITOR)
        ssu.publish_assessment(engine, published.id, by=EDITOR, expected_version=1)
        ssu.save_assessment(engine, ssu.Assessment(HF, ELDRE, "2025", DRAFT_TEXT), by=EDITOR)
        ssu.save_action(engine, ssu.Action(HF, ACTION_TITLE, (SP1,), "UNN og kommunene", "pågår", date(2025, 12, 31),
                                           14, date(2025, 4, 3), "80 % kartlagt"), by=EDITOR)
        ssu.save_action(engine, ssu.Action(HF, CLOSED_TITLE, (ELDRE,), "Kommunene", "fullført", date(2023, 6, 1),
                                           3, date(2023, 1, 10)), by=EDITOR)
        yield url
        store.get_engine(url).dispose()
    settings.cache_clear()


@pytest.fixture(scope="module")
def reports(ssu_store, tmp_path_factory) -> dict[str, Path]:
    from indicators.__main__ import main

    folder = tmp_path_factory.mktemp("reports")
    built = {}
    for fmt in ("docx", "pdf"):
        out = folder / f"rapport.{fmt}"
        assert main(["report", "--helsefellesskap", HF, "--year", "2025", "--format", fmt, "--output", str(out)]) == 0
        built[fmt] = out
    return built


def _docx_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(parts)


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


# --- the report ----------------------------------------------------------------------------------------


def test_docx_has_headings_the_published_assessment_and_the_action(reports):
    document = Document(reports["docx"])
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert all(h in headings for h in GROUP_HEADINGS)
    assert document.paragraphs[0].style.name == "Title" and document.paragraphs[0].text == "Årlig statusrapport 2025"
    text = _docx_text(document)
    assert PUBLISHED_TEXT in text and "<script>alert(1)</script>" in text  # literal text, never markup
    assert DRAFT_TEXT not in text and CLOSED_TITLE not in text  # drafts and actions closed before the year stay out
    assert "SYNTETISKE DEMODATA" in text
    bold = [r.text for p in document.paragraphs for r in p.runs if r.bold]
    assert "Opplæring" in bold
    actions = [t for t in document.tables if t.rows[0].cells[0].text == "Tiltak"]
    assert actions, "no action table"
    header = [c.text for c in actions[0].rows[0].cells]
    assert header == ["Tiltak", "Mål", "Gjennomføring", "Tidspunkt", "Ansvarlig", "Vedtak"]
    assert actions[0].rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # repeated on every page
    assert [c.text for c in actions[0].rows[1].cells] == [
        ACTION_TITLE, "80 % kartlagt", "Pågår", "31.12.2025", "UNN og kommunene", "sak 14/2025 (03.04.2025)"]


def test_summary_states_the_goal_and_whether_it_is_met(reports, ssu_store):
    import indicators

    row = indicators.profile(HF, 2025).filter(pl.col("indicator_id") == SP1).row(0, named=True)
    value = row["value"]
    expected = "Kan ikke vurderes (ingen publisert verdi)" if value is None else "Nådd" if value >= 80 else "Ikke nådd ennå"
    document = Document(reports["docx"])
    goals = next(t for t in document.tables if t.rows[0].cells[0].text == "Indikator"
                 and t.rows[0].cells[-1].text == "Status")
    cells = [c.text for c in goals.rows[1].cells]
    assert cells[0] == "SP1 behovskartlegging" and cells[-1] == expected
    assert cells[3] == "minst 80 prosent innen 2026 (sak 12/2025 (03.04.2025))"


def test_pdf_has_the_same_content_with_bookmarks(reports):
    text = _pdf_text(reports["pdf"])
    squashed = " ".join(text.split())
    assert "Årlig statusrapport 2025" in squashed and "SYNTETISKE DEMODATA" in squashed
    assert PUBLISHED_TEXT in squashed and ACTION_TITLE in squashed
    assert DRAFT_TEXT not in squashed
    reader = PdfReader(reports["pdf"])
    outline = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                outline.append(item.title)

    walk(reader.outline)
    assert all(h in outline for h in GROUP_HEADINGS)


def _kommune_tables(document) -> list[tuple[str, list[list[str]]]]:
    """(the caption paragraph before it, rows) of every kommune table, in document order."""
    from docx.table import Table

    found, caption = [], ""
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            text = "".join(t.text or "" for t in element.iter(qn("w:t")))
            caption = text or caption
        elif element.tag == qn("w:tbl"):
            table = Table(element, document)
            if table.rows[0].cells[0].text == "Kommune":
                found.append((caption, [[c.text for c in row.cells] for row in table.rows[1:]]))
    return found


def test_suppressed_kommune_values_stay_hidden_in_the_report(reports, ssu_store):
    """The kommune tables read the engine: a masked kommune shows "–" and the reason, never a number."""
    import indicators
    from indicators.engine import FLAG_LABELS, SUPPRESSION_FLAGS

    document = Document(reports["docx"])
    by_short_name = {i.short_name: i.id for i in indicators.load_catalogue().indicators}
    tables = _kommune_tables(document)
    assert len(tables) >= 4
    checked = 0
    for caption, rows in tables:
        match = re.fullmatch(r"Kommunene, (.+) (\d{4}) \(.+\)", caption)
        assert match, caption
        engine_rows = indicators.compute(by_short_name[match.group(1)], "kommune", years=[int(match.group(2))])
        shown = {r[0]: r for r in rows}
        for row in engine_rows.filter(pl.col("area_name").is_in(list(shown))).iter_rows(named=True):
            cells = shown[row["area_name"]]
            if row["flag"] in SUPPRESSION_FLAGS:
                assert cells[1:] == [f"– ({FLAG_LABELS[row['flag']].lower()})", "–", "Skjult (prikket)"], cells
                checked += 1
            elif row["value"] is not None:
                assert cells[1] == format_number(row["value"], decimals_for(row["unit"])), cells
    assert checked > 0, "the demo store masks at least one small kommune in Troms og Ofoten"


def test_bad_report_requests_are_usage_errors(ssu_store, tmp_path, capsys):
    from indicators.__main__ import main

    assert main(["report", "--helsefellesskap", "atlantis", "--year", "2025", "--output", str(tmp_path / "a.docx")]) == 2
    assert "unknown helsefellesskap" in capsys.readouterr().err
    assert main(["report", "--helsefellesskap", HF, "--year", "2031", "--output", str(tmp_path / "b.docx")]) == 2
    assert "no data in 2031" in capsys.readouterr().err
    assert main(["report", "--helsefellesskap", HF, "--year", "2025", "--format", "pdf",
                 "--output", str(tmp_path / "c.docx")]) == 2
    assert not list(tmp_path.iterdir())


def test_public_mode_has_no_report_and_no_local_goals(ssu_store, monkeypatch):
    from outputs import exports
    from outputs.report import ReportRequestError, build_report

    monkeypatch.setenv("PUBLIC_MODE", "1")
    settings.cache_clear()
    try:
        with pytest.raises(ReportRequestError, match="public mode"):
            build_report(HF, 2025, "docx")
        assert exports.local_goals_text([SP1]) == ""
    finally:
        monkeypatch.delenv("PUBLIC_MODE")
        settings.cache_clear()


def test_markdown_becomes_runs_and_never_markup():
    from outputs.report import markdown_paragraphs, markdown_runs

    assert markdown_runs("Mer **fett** og *kursiv*, [lenke](https://x.no) <b>rå</b>") == [
        ("Mer ", ""), ("fett", "b"), (" og ", ""), ("kursiv", "i"), (", ", ""), ("lenke (https://x.no)", ""),
        (" <b>rå</b>", "")]
    paragraphs = markdown_paragraphs("# Tittel\nførste linje\nandre linje\n\n- punkt én\n- punkt to")
    assert [("".join(t for t, _ in p.runs), p.bullet) for p in paragraphs] == [
        ("Tittel", False), ("første linje andre linje", False), ("punkt én", True), ("punkt to", True)]


# --- goals in the exports and the deck ---------------------------------------------------------------------


def test_exports_carry_the_local_goal_and_keep_the_catalogue_target(ssu_store):
    import indicators
    from outputs import exports

    table = indicators.compute(SP1, "helsefellesskap", years=[2025])
    metadata = exports.export_metadata(SP1, table)
    assert metadata["lokale_maal"] == f"{HF}, {SP1}: minst 80 prosent innen 2026 (sak 12/2025 (03.04.2025))"
    frame = exports.export_frame(table, metadata, "csv")
    goals = dict(zip(frame["omraade_id"].to_list(), frame["lokalt_maal"].to_list()))
    assert goals[HF] == 80.0 and all(v is None for k, v in goals.items() if k != HF)
    own = frame.filter(pl.col("omraade_id") == HF).row(0, named=True)
    assert (own["lokalt_maal_aar"], own["lokalt_maal_vedtak"]) == (2026, "sak 12/2025 (03.04.2025)")
    data = pl.read_csv(io.BytesIO(exports.export_bytes(table, metadata, "csv-plain")[0]), comment_prefix="#")
    assert data.filter(pl.col("omraade_id") == HF)["lokalt_maal"].to_list() == [80.0]
    catalogue = exports.catalogue_frame().filter(pl.col("indikator_id") == SP1)
    assert catalogue["maal"].to_list() == [indicators.load_catalogue().indicator(SP1).target.value]
    # an indicator without a local goal exports exactly as before
    other = indicators.compute(ELDRE, "helsefellesskap", years=[2025])
    other_meta = exports.export_metadata(ELDRE, other)
    assert "lokale_maal" not in other_meta and "lokalt_maal" not in exports.export_frame(other, other_meta).columns


def test_deck_shows_the_goals_and_published_assessments(ssu_store):
    from pptx import Presentation

    from outputs.deck import build_deck

    presentation = Presentation(io.BytesIO(build_deck(HF, (2023, 2025))))
    texts = {}
    for slide in presentation.slides:
        title = slide.shapes.title.text if slide.shapes.title is not None else ""
        parts = []
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if shape.has_table:
                parts.extend(cell.text for row in shape.table.rows for cell in row.cells)
        texts[title] = "\n".join(parts)
    assert "Lokale mål" in texts and "Vurderinger" in texts
    assert "minst 80,0 prosent" in texts["Lokale mål"] and "sak 12/2025 (03.04.2025)" in texts["Lokale mål"]
    assert PUBLISHED_TEXT in texts["Vurderinger"] and "• Opplæring av sykepleiere" in texts["Vurderinger"]
    assert DRAFT_TEXT not in "\n".join(texts.values())


def test_nothing_below_the_outputs_layer_imports_it():
    """``outputs`` sits on top: the data and indicator layers never import it."""
    import ast

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in [*root.glob("data_loaders/**/*.py"), *root.glob("indicators/**/*.py")]:
        if path.name == "__main__.py":  # the command lines are entry points, not layers
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[0] == "outputs"]
    assert offenders == []
