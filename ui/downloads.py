"""The one download component: every table in the dashboard is downloaded through it.

Offers CSV for Norwegian Excel (semicolon, decimal comma, UTF-8 with BOM — the default),
CSV with comma/point, Excel and Parquet, all made by ``outputs.exports`` with the
metadata (definition, source, suppression rule, synthetic flag) embedded. Files are built
only when a button is clicked (deferred), so page reruns stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
import streamlit as st

import indicators

FORMATS = (
    ("csv", "CSV (Excel, norsk)", ":material/table_view:"),
    ("csv-plain", "CSV (komma og punktum)", ":material/description:"),
    ("xlsx", "Excel", ":material/grid_on:"),
    ("parquet", "Parquet", ":material/database:"),
)
FALLBACK_MIME = {
    "csv": ("text/csv", "csv"),
    "csv-plain": ("text/csv", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
}


def _mime(fmt: str) -> tuple[str, str]:
    try:
        from outputs import exports

        return exports.MIME_TYPES.get(fmt, FALLBACK_MIME[fmt])
    except ImportError:
        return FALLBACK_MIME[fmt]


def export_content(table: pl.DataFrame, indicator_ids: Sequence[str], fmt: str,
                   key: indicators.DataKey | None = None) -> bytes:
    """The file content (bytes) for one format, with metadata."""
    from outputs import exports

    metadata = exports.export_metadata(list(indicator_ids), table, key)
    content, _mime_type, _ext = exports.export_bytes(table, metadata, fmt)
    return content


def _deferred(table: pl.DataFrame, indicator_ids: Sequence[str], fmt: str,
              key: indicators.DataKey | None) -> Callable[[], bytes]:
    return lambda: export_content(table, indicator_ids, fmt, key)


def file_stem(*parts: object) -> str:
    text = "_".join(str(p) for p in parts if p not in (None, ""))
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text.replace("–", "-"))


def download_section(table: pl.DataFrame, indicator_ids: str | Sequence[str], key: str, label: str, *,
                     stem: str | None = None, data_key: indicators.DataKey | None = None) -> None:
    """A row of download buttons for ``table`` (engine output, already suppressed).

    ``key`` makes the widget keys unique on the page; ``label`` names the table in Norwegian.
    """
    ids = [indicator_ids] if isinstance(indicator_ids, str) else list(indicator_ids)
    stem = stem or file_stem(*ids[:1], key)
    st.markdown(f"**Last ned {label}**")
    columns = st.columns(len(FORMATS))
    for column, (fmt, name, icon) in zip(columns, FORMATS):
        mime, extension = _mime(fmt)
        suffix = "_komma" if fmt == "csv-plain" else ""
        with column:
            st.download_button(
                name,
                data=_deferred(table, ids, fmt, data_key),
                file_name=f"{stem}{suffix}.{extension}",
                mime=mime,
                key=f"dl_{key}_{fmt}",
                on_click="ignore",
                icon=icon,
                type="primary" if fmt == "csv" else "secondary",
                width="stretch",
                help=f"Last ned {label} som {name}. Filen har metadata (definisjon, kilde, prikkingsregel); "
                     "skjulte tall er tomme, aldri null.",
            )
    st.caption("Skjulte og ikke rapporterte tall er tomme i filene (aldri 0). CSV (Excel, norsk) bruker semikolon og "
               "desimalkomma. CSV og Excel viser verdiene med samme antall desimaler som dashbordet; Parquet har full "
               "presisjon for analyse. Med demodata står advarselen øverst i CSV-filen.")
