"""The kommune -> helsefellesskap mapping and the kommune geometry."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import polars as pl

from data_loaders import reference
from data_loaders.importers.model import Context, Parsed
from data_loaders.importers.validation import choose_delimiter, clean_name, field_count_problem, read_text, sha256_of

MAPPING_COLUMNS = ["kommunenummer", "helsefellesskap_id", "source"]


def _parsed(path: Path, ctx: Context, fmt: str, kind: str, prefix: str) -> Parsed:
    sha = sha256_of(path)
    return Parsed(
        path=path, file=path.name, format=fmt, kind=kind, sha256=sha, dataset_id=f"{prefix}-{sha[:12]}",
        source="", description="", extraction_date=ctx.options.extraction_date or date.today().isoformat(),
    )


def read_mapping(path: Path, ctx: Context) -> Parsed:
    """CSV kommunenummer,helsefellesskap_id,source: every 2024 kommune in exactly one helsefellesskap."""
    parsed = _parsed(path, ctx, "mapping", "mapping", "mapping")
    problems, file = ctx.problems, parsed.file
    text = read_text(path)
    header = text.splitlines()[0] if text else ""
    separator, error = choose_delimiter(header, MAPPING_COLUMNS, (",",))
    if error:
        problems.add(file, 1, None, error)
        parsed.ok = False
        return parsed
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    names = [clean_name(c) for c in next(reader)]
    index = {c: names.index(c) for c in MAPPING_COLUMNS}
    kommuner = set(reference.load_kommuner()["kommunenummer"])
    hf_ids = set(reference.load_helsefellesskap()["helsefellesskap_id"])
    rows, seen = [], {}
    for line, record in enumerate(reader, start=2):
        if not any(v.strip() for v in record):
            continue
        if len(record) != len(names):
            problems.add(file, line, *field_count_problem(names, len(record)))
            continue
        values = {c: record[i].strip() for c, i in index.items()}
        number = values["kommunenummer"].zfill(4) if values["kommunenummer"].isdigit() else values["kommunenummer"]
        if number not in kommuner:
            problems.add(file, line, "kommunenummer", f"unknown kommunenummer {values['kommunenummer']!r} (not a 2024 kommune)")
        if values["helsefellesskap_id"] not in hf_ids:
            problems.add(file, line, "helsefellesskap_id", f"unknown helsefellesskap_id {values['helsefellesskap_id']!r} "
                         f"(known: {', '.join(sorted(hf_ids))})")
        if not values["source"]:
            problems.add(file, line, "source", "missing value (every row needs a source)")
        if number in seen:
            problems.add(file, line, "kommunenummer", f"duplicate row: kommunenummer {number} also on row {seen[number]}")
        seen.setdefault(number, line)
        rows.append((number, values["helsefellesskap_id"], values["source"]))
    parsed.rows_read = len(rows)
    if problems:
        parsed.ok = False
        return parsed
    mapping = pl.DataFrame(rows, schema={c: pl.String for c in MAPPING_COLUMNS}, orient="row")
    try:
        reference.validate_mapping(mapping, reference.load_kommuner(), reference.load_helsefellesskap(), Path(file))
    except reference.ReferenceDataError as exc:
        problems.add(file, None, None, str(exc).removeprefix(f"{file}: "))
        parsed.ok = False
        return parsed
    parsed.payload = mapping
    parsed.source = ctx.options.source or "Kommune-helsefellesskap-tilordning"
    parsed.description = f"Tilordning av {mapping.height} kommuner til helsefellesskap ({file})."
    return parsed


def read_geometry(path: Path, ctx: Context) -> Parsed:
    """An official kommune GeoJSON; validated, and its path recorded (the file is not copied)."""
    from data_loaders.geometry import GeometryDataError, load_kommune_geometry

    parsed = _parsed(path, ctx, "geometry", "geometry", "geometry")
    try:
        frame = load_kommune_geometry(path)
    except GeometryDataError as exc:
        ctx.problems.add(parsed.file, None, None, str(exc).replace(str(path.resolve()) + ": ", ""))
        parsed.ok = False
        return parsed
    parsed.payload = path.resolve()
    parsed.rows_read = len(frame)
    parsed.source = ctx.options.source or "Kommunegrenser (GeoJSON)"
    parsed.description = (
        f"Kommunegrenser fra {path.resolve()} ({len(frame)} kommuner med egen flate). Filen leses der den ligger; "
        "stien er lagret i app_setting.kommune_geojson."
    )
    return parsed
