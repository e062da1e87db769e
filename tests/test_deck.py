"""The SSU meeting deck: opens, says what it shows, never shows a masked number, renders.

Decks are built once per module (troms-ofoten through the API, oslo — a single kommune —
through the CLI); rendering (LibreOffice -> PDF -> pdftoppm -> PNG) runs once and writes
test-artifacts/deck/<helsefellesskap>/slide-N.png for a human to look at.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import polars as pl
import pytest
from pptx import Presentation
from pptx.util import Emu

import indicators
from outputs import deck
from indicators.__main__ import main
from indicators.engine import SUPPRESSION_FLAGS, Period, _period_table
from indicators.formatting import MISSING

HF_IDS = ("troms-ofoten", "oslo")
STATUS_SYMBOLS = ("▲", "▼", "●", "○")


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> dict[str, bytes]:
    built = {"troms-ofoten": deck.build_deck("troms-ofoten")}
    out = tmp_path_factory.mktemp("deck") / "oslo.pptx"
    assert main(["deck", "--helsefellesskap", "oslo", "--years", "2020-2025", "--out", str(out)]) == 0
    built["oslo"] = out.read_bytes()
    return built


def slide_texts(slide) -> list[str]:
    texts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            texts.append(shape.text_frame.text)
        if shape.has_table:
            texts.extend(cell.text for row in shape.table.rows for cell in row.cells)
    return texts


def summary_rows(presentation) -> list[list[str]]:
    table = next(s for s in presentation.slides[1].shapes if s.has_table).table
    return [[cell.text for cell in row.cells] for row in table.rows]


@pytest.mark.parametrize("hf_id", HF_IDS)
def test_deck_opens_and_has_the_agreed_slides(decks, hf_id):
    presentation = Presentation(io.BytesIO(decks[hf_id]))
    assert presentation.slide_width * 9 == presentation.slide_height * 16 or abs(
        presentation.slide_width / presentation.slide_height - 16 / 9) < 0.01
    slides = list(presentation.slides)
    # title, summary, 4 groups, Pakkeforløp hjem, the cohorts (sizes, services per person, overlap), method, definitions
    assert len(slides) == 12
    hf = indicators.data.helsefellesskap(indicators.current_key()).filter(pl.col("helsefellesskap_id") == hf_id).row(0, named=True)
    title = " ".join(slide_texts(slides[0]))
    assert hf["helsefellesskap_navn"] in title and hf["helseforetak"] in title
    assert "Syntetiske demodata" in title and "Periode" in title
    groups = {g.id: g.name for g in indicators.load_catalogue().groups}
    for slide, group_id in zip(slides[2:6], deck.PRIORITY_GROUPS):
        text = " ".join(slide_texts(slide))
        assert groups[group_id] in text
        assert sum(1 for s in slide.shapes if s.shape_type == 13) == 3, "trend, ranking and kommune charts"
    assert groups["pakkeforlop_hjem"] in " ".join(slide_texts(slides[6]))
    cohort_titles = [slide.shapes.title.text for slide in slides[7:10]]
    assert cohort_titles == ["Pasientgruppene: hvor mange de er", "Pasientgruppene: bruk av tjenester per person",
                             "Overlapp mellom de fire pasientgruppene"]
    method = " ".join(slide_texts(slides[10]))
    for word in ("Standardisering", "Prikking", "Kilder", "Uttrekksdato", "SYNTETISKE DEMODATA"):
        assert word in method
    for slide in slides[1:]:
        assert "SYNTETISKE DEMODATA" in " ".join(slide_texts(slide)), "every slide carries the synthetic badge"
        for shape in slide.shapes:  # nothing outside the slide
            assert shape.left >= 0 and shape.top >= 0
            assert shape.left + shape.width <= presentation.slide_width + Emu(10)
            assert shape.top + shape.height <= presentation.slide_height + Emu(10)


@pytest.mark.parametrize("hf_id", HF_IDS)
def test_summary_table_matches_profile_and_never_colour_only(decks, hf_id):
    presentation = Presentation(io.BytesIO(decks[hf_id]))
    rows = summary_rows(presentation)
    header, body = rows[0], rows[1:]
    assert header[:2] == ["Gruppe", "Indikator"] and "Sammenlignet med landet" in header and "Rang" in header
    profile = indicators.profile(hf_id, 2025)
    cohort_ids = [i.id for i in indicators.load_catalogue().indicators if i.cohort]  # on the cohort slides
    profile = profile.filter(~pl.col("indicator_id").is_in(cohort_ids))
    assert len(body) == profile.height
    by_name = {r["short_name"]: r for r in profile.to_dicts()}
    verdi, status_col, rank_col = header.index("Verdi"), header.index("Sammenlignet med landet"), header.index("Rang")
    for row in body:
        record = by_name[row[1]]
        assert row[status_col][:1] in STATUS_SYMBOLS, "significance is told by a symbol and words, not colour only"
        assert len(row[status_col]) > 2
        if record["value"] is None:
            assert row[verdi] == MISSING and row[rank_col] == MISSING
        else:
            assert row[verdi] != MISSING
        if record["rank"] is not None:
            assert row[rank_col] == f"{record['rank']} av {record['n_ranked']}"


@pytest.mark.parametrize("hf_id", HF_IDS)
def test_masked_kommuner_show_dash_never_numbers(decks, hf_id):
    presentation = Presentation(io.BytesIO(decks[hf_id]))
    key = indicators.current_key()
    kommuner = indicators.data.areas(key).filter(pl.col("helsefellesskap_id") == hf_id)
    checked = 0
    for slide, group_id in zip(list(presentation.slides)[2:6], deck.PRIORITY_GROUPS):
        ind_id = deck.KEY_INDICATORS[group_id]
        year = max(indicators.available_years(ind_id))
        table = indicators.compute(ind_id, "kommune", years=[year]).join(
            kommuner.select(pl.col("kommunenummer").alias("area_id")), on="area_id", how="semi")
        raw = _period_table(key, ind_id, Period(year, year)).filter(pl.col("level") == "kommune")
        raw_numerators = dict(zip(raw["area_id"].to_list(), raw["numerator"].to_list()))
        notes = slide.notes_slide.notes_text_frame.text.splitlines()
        visible = " ".join(slide_texts(slide))
        for row in table.filter(pl.col("value").is_null()).iter_rows(named=True):
            line = next(n for n in notes if n.startswith(f"  {row['area_name']}:"))
            assert f"{row['area_name']}: {MISSING}" in line, line
            digits = "".join(ch for ch in line if ch.isdigit())
            secret = raw_numerators.get(row["area_id"])
            if row["flag"] in SUPPRESSION_FLAGS and secret is not None:
                assert str(int(secret)) not in digits, f"masked numerator of {row['area_name']} in the notes"
            assert row["area_name"] in visible, "every kommune without a value is named and explained on the slide"
            checked += 1
    if hf_id == "troms-ofoten":
        assert checked > 0, "troms-ofoten has masked kommuner in the demo data"


def test_bad_requests_raise():
    with pytest.raises(indicators.IndicatorRequestError, match="unknown helsefellesskap"):
        deck.build_deck("atlantis")
    with pytest.raises(indicators.IndicatorRequestError, match="no data in 2031"):
        deck.build_deck("oslo", (2020, 2031))
    with pytest.raises(indicators.IndicatorRequestError, match="malformed"):
        deck.build_deck("oslo", (2025, 2020))


def test_pdf_is_none_without_libreoffice(monkeypatch):
    monkeypatch.setattr(deck, "soffice_path", lambda: None)
    assert deck.build_deck_pdf("oslo") is None
    assert deck.convert_to_pdf(b"not a deck") is None


@pytest.mark.slow
def test_deck_renders_to_png(decks, artifacts_dir, monkeypatch):
    if deck.soffice_path() is None or shutil.which("pdftoppm") is None:
        pytest.skip("LibreOffice (soffice) and pdftoppm are needed to render the deck")
    monkeypatch.setattr(deck, "build_deck", lambda hf, years=None, key=None: decks[hf])
    for hf_id in HF_IDS:
        pdf = deck.build_deck_pdf(hf_id) if hf_id == "troms-ofoten" else deck.convert_to_pdf(decks[hf_id])
        assert pdf is not None and pdf.startswith(b"%PDF")
        folder = artifacts_dir / "deck" / hf_id
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("slide-*.png"):
            old.unlink()
        (folder / "deck.pdf").write_bytes(pdf)
        (folder / "deck.pptx").write_bytes(decks[hf_id])
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(folder / "deck.pdf"), str(folder / "slide")],
                       check=True, timeout=120)
        pngs = sorted(folder.glob("slide-*.png"))
        assert len(pngs) == len(Presentation(io.BytesIO(decks[hf_id])).slides)
        assert all(p.stat().st_size > 10_000 for p in pngs)


@pytest.mark.parametrize("hf_id", HF_IDS)
def test_every_slide_has_a_real_title(decks, hf_id):
    """PowerPoint's outline and screen readers read the title placeholder: every slide has one, filled."""
    presentation = Presentation(io.BytesIO(decks[hf_id]))
    titles = []
    for slide in presentation.slides:
        title = slide.shapes.title
        assert title is not None and title.is_placeholder, "a title placeholder on every slide"
        assert title.text_frame.text.strip()
        titles.append(title.text_frame.text)
    hf = indicators.data.helsefellesskap(indicators.current_key()).filter(pl.col("helsefellesskap_id") == hf_id)
    assert titles[0] == hf["helsefellesskap_navn"][0]
    assert titles[1] == "Oversikt: alle indikatorer" and titles[-1] == "Definisjoner"
    assert len(set(titles[1:])) >= 6


@pytest.mark.parametrize("hf_id", HF_IDS)
def test_no_developer_text_and_trend_header_names_its_years(decks, hf_id):
    presentation = Presentation(io.BytesIO(decks[hf_id]))
    text = " ".join(t for slide in presentation.slides for t in slide_texts(slide))
    for developer in ("catalogue.yaml", "indicators/", ".py", "assets/", "STYRING_"):
        assert developer not in text
    header = summary_rows(presentation)[0]
    trend = next(h for h in header if h.startswith("Trend"))
    assert "(5 år)" not in trend
    years = [int(y) for y in re.findall(r"\d{4}", trend)]
    if years:  # "Trend 2021–2025": five years, ending in the summary's latest year
        assert years[1] - years[0] == 4


def test_sami_and_kven_names_are_never_cut():
    from outputs import deck_charts

    assert deck_charts._short("Gáivuotna - Kåfjord - Kaivuono") == "Kåfjord"
    assert deck_charts._short("Porsanger - Porsáŋgu - Porsanki") == "Porsanger"
    assert deck_charts._short("Deatnu - Tana") == "Deatnu - Tana"  # fits: the full name
    assert deck_charts._short("Storfjord - Omasvuotna - Omasvuono") == "Storfjord"
    for name in deck_charts.NORWEGIAN_NAMES:
        assert "…" not in deck_charts._short(name)


@pytest.mark.parametrize("hf_id", HF_IDS)
def test_cohort_slides_show_the_engine_numbers_and_hide_as_skjult(decks, hf_id):
    """The overlap slide holds the engine's published overlap cell by cell (hidden ones as ": skjult",
    never 0), and the sizes slide each cohort's published persons."""
    from outputs.deck_cohorts import HIDDEN
    from indicators.overlap import overlap_table

    slides = list(Presentation(io.BytesIO(decks[hf_id])).slides)
    overlap_slide = next(s for s in slides if s.shapes.title.text == "Overlapp mellom de fire pasientgruppene")
    grid = next(s for s in overlap_slide.shapes if s.has_table).table
    rows = [[cell.text for cell in row.cells] for row in grid.rows]
    catalogue = indicators.load_catalogue()
    names = {c.name: c.id for c in catalogue.overlap.combinations}
    prevalence = next(i for i in catalogue.indicators if i.cohort == catalogue.overlap.groups[0][0]
                      and i.cohort_role == "prevalence")
    year = max(indicators.available_years(prevalence.id))
    own = overlap_table("helsefellesskap", [year]).filter(pl.col("area_id") == hf_id)
    column = rows[0].index(rows[0][-2])  # the helsefellesskap's column (before "Hele landet")
    checked = 0
    for row in rows[1:-1]:
        cell = own.filter((pl.col("kind") == "combination") & (pl.col("id") == names[row[0]])).row(0, named=True)
        if cell["persons"] is None:
            assert row[column] == HIDDEN
        else:
            assert row[column].replace("\u2009", "") == str(cell["persons"])
        checked += 1
    assert checked == 15
    sizes = next(s for s in slides if s.shapes.title.text == "Pasientgruppene: hvor mange de er")
    text = " ".join(slide_texts(sizes))
    for cohort in catalogue.cohorts:
        assert cohort.name in text


def test_assessment_markdown_is_plain_slide_text():
    """Published assessments (data_loaders.ssu) reach the deck as plain text; markup is dropped, HTML stays literal."""
    text = "## Status\nAndelen **øker**, se [rapporten](https://x.no).\n- tiltak_a er *i gang*\n<b>rå</b>"
    assert deck._plain_markdown(text) == "Status\nAndelen øker, se rapporten (https://x.no).\n• tiltak_a er i gang\n<b>rå</b>"
