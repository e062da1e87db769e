"""Meeting deck (PPTX/PDF) for one helsefellesskap. Work in progress: full layout follows."""

from __future__ import annotations

import io
import shutil


def build_deck(helsefellesskap_id: str, years: tuple[int, int] | None = None, key=None) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    slide.shapes.title.text = helsefellesskap_id
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()


def build_deck_pdf(helsefellesskap_id: str, years: tuple[int, int] | None = None, key=None) -> bytes | None:
    if shutil.which("soffice") is None:
        return None
    return None
