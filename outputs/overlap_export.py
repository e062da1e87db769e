"""The overlap between the four priority groups as an export (``python -m indicators overlap``).

The counts and their suppression come from ``indicators.overlap``; this module adds the Norwegian
column names, the flag's text and the metadata columns of the other exports.
"""

from __future__ import annotations

import polars as pl

from indicators import overlap

EXPORT_COLUMNS = {"level": "nivaa", "area_id": "omraade_id", "area_name": "omraade", "year": "aar",
                  "kind": "rad", "id": "kombinasjon_id", "name": "kombinasjon", "persons": "personer", "flag": "flagg"}


def export_metadata(key=None) -> dict[str, str]:
    """The overlap export's metadata: definition, source, provenance, the suppression rule, synthetic or not."""
    from data_loaders.config import settings
    from indicators import data, engine
    from outputs import exports

    key = key or data.current_key()
    catalogue = engine._catalogue(key)
    extraction, sources, synthetic = exports._provenance(key)
    metadata = {
        "indikator": catalogue.overlap.name,
        "definisjon": catalogue.overlap.definition,
        "kilde": catalogue.overlap.source,
        "datagrunnlag": sources,
        "uttrekksdato": extraction,
        "prikking": exports.suppression_rule([settings().suppression_threshold]),
        "syntetiske_data": "ja" if synthetic else "nei",
    }
    if synthetic:
        metadata["advarsel"] = exports.SYNTHETIC_WARNING
    return metadata


def export_frame(table: pl.DataFrame, metadata: dict[str, str] | None = None) -> pl.DataFrame:
    """The table with Norwegian column names, the flag's text and the metadata columns of the other exports."""
    from indicators import engine

    metadata = metadata or export_metadata()
    return table.with_columns(
        pl.col("kind").replace_strict(overlap.KIND_NAMES, return_dtype=pl.String),
        pl.col("flag").replace_strict(engine.FLAG_LABELS, return_dtype=pl.String).alias("flagg_tekst"),
    ).rename(EXPORT_COLUMNS).with_columns(
        pl.lit(metadata["definisjon"]).alias("definisjon"), pl.lit(metadata["kilde"]).alias("kilde"),
        pl.lit(metadata["syntetiske_data"]).alias("syntetiske_data"),
    )


def export_bytes(table: pl.DataFrame, fmt: str = "csv", key=None) -> tuple[bytes, str, str]:
    """The overlap table as an export (csv, csv-plain, json, xlsx, parquet), with the metadata columns
    of the other exports: definition, source, the suppression rule and the synthetic-data label."""
    from outputs import exports

    metadata = export_metadata(key)
    return exports._encode(export_frame(table, metadata), metadata, fmt)
