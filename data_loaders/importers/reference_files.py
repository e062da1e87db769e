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



def _open_csv(path, parsed, ctx, columns, delimiters):
    """The CSV reader (header read), each column's position, the header and the delimiter, or None
    (the problem is recorded)."""
    text = read_text(path)
    header = text.splitlines()[0] if text else ""
    separator, error = choose_delimiter(header, columns, delimiters)
    if error:
        ctx.problems.add(parsed.file, 1, None, error)
        parsed.ok = False
        return None
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    names = [clean_name(c) for c in next(reader)]
    return reader, {c: names.index(c) for c in columns}, names, separator

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
    opened = _open_csv(path, parsed, ctx, MAPPING_COLUMNS, (",",))
    if opened is None:
        return parsed
    reader, index, names, separator = opened
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


SKDE_COLUMNS = ["komnr", "bydel", "bohf_navn"]


def read_skde_opptaksomrader(path: Path, ctx: Context) -> Parsed:
    """SKDE's table of opptaksområder (``formater/boomr.csv`` of SKDE's ``sas_codes``).

    Semicolon- or comma-separated with (at least) the columns komnr, bydel and bohf_navn; codes
    with or without leading zeros (``301``, ``30110``). Gives the kommune -> helsefellesskap
    mapping (an unsplit kommune's helsefellesskap is the one of its helseforetak area; a kommune
    split into bydeler keeps its own) and each reference bydel's helseforetak area. Special rows
    (Svalbard, utlandet, summary rows) and the bydeler of kommuner this project keeps whole
    (Bergen, Stavanger, Trondheim) are read past and noted. The lokalsykehus and DPS columns
    are not read.
    """
    parsed = _parsed(path, ctx, "skde-opptaksomrader", "mapping", "mapping")
    problems, file = ctx.problems, parsed.file
    opened = _open_csv(path, parsed, ctx, SKDE_COLUMNS, (";", ","))
    if opened is None:
        return parsed
    reader, index, names, separator = opened
    kommuner = set(reference.load_kommuner()["kommunenummer"])
    bydeler = reference.load_bydeler()
    split = set(bydeler["kommunenummer"])
    area_id = dict(reference.load_helseforetak().select("helseforetak_navn", "helseforetak_id").iter_rows())
    hf = reference.load_helsefellesskap()
    hf_of_area = dict(hf.filter(pl.col("helseforetak_id").is_not_null()).select("helseforetak_id", "helsefellesskap_id").iter_rows())
    current = reference.load_kommune_helsefellesskap()
    own_hf = dict(current.select("kommunenummer", "helsefellesskap_id").iter_rows())
    kommune_rows: dict[str, tuple[int, str]] = {}
    bydel_rows: dict[str, tuple[int, str]] = {}
    skipped: list[str] = []
    for line, record in enumerate(reader, start=2):
        if not any(v.strip() for v in record):
            continue
        if len(record) != len(names):
            problems.add(file, line, *field_count_problem(names, len(record), separator))
            continue
        komnr, bydel, area = (record[index[c]].strip() for c in SKDE_COLUMNS)
        if not komnr.isdigit():
            continue  # SKDE's log and summary rows have no kommune
        komnr = komnr.zfill(4)
        if bydel:
            code = bydel.zfill(6)
            if komnr in split:
                if code in bydel_rows:
                    problems.add(file, line, "bydel", f"bydel {code} står også på rad {bydel_rows[code][0]}")
                bydel_rows.setdefault(code, (line, area))
            else:
                skipped.append(code)
            continue
        if komnr not in kommuner:
            skipped.append(komnr)
            continue
        if komnr in kommune_rows:
            problems.add(file, line, "komnr", f"kommune {komnr} står også på rad {kommune_rows[komnr][0]}")
        kommune_rows.setdefault(komnr, (line, area))
    for number in sorted(kommuner - set(kommune_rows)):
        problems.add(file, None, "komnr", f"kommune {number} mangler i filen")
    for code in sorted(set(bydeler["bydel"]) - set(bydel_rows)):
        problems.add(file, None, "bydel", f"bydel {code} mangler i filen")
    mapping_rows = []
    for number, (line, area) in sorted(kommune_rows.items()):
        if number in split:  # one helsefellesskap over its bydeler' hospital sectors
            mapping_rows.append((number, own_hf[number], f"SKDE opptaksområder ({file}): delt i bydeler; "
                                 "helsefellesskapet omfatter hele kommunen, bydelene har egne sykehusområder"))
            continue
        if area not in area_id:
            problems.add(file, line, "bohf_navn", f"ukjent sykehusområde {area!r} (kjente: {', '.join(sorted(area_id))})")
        elif area_id[area] not in hf_of_area:
            problems.add(file, line, "bohf_navn", f"sykehusområdet {area!r} hører ikke til noe helsefellesskap for hele kommuner")
        else:
            mapping_rows.append((number, hf_of_area[area_id[area]], f"SKDE opptaksområder ({file}): sykehusområde {area}"))
    bydel_hf = []
    for code, (line, area) in sorted(bydel_rows.items()):
        if area not in area_id:
            problems.add(file, line, "bohf_navn", f"ukjent sykehusområde {area!r} (kjente: {', '.join(sorted(area_id))})")
        else:
            bydel_hf.append((code, area_id[area]))
    parsed.rows_read = len(kommune_rows) + len(bydel_rows)
    if problems:
        parsed.ok = False
        return parsed
    mapping = pl.DataFrame(mapping_rows, schema={c: pl.String for c in MAPPING_COLUMNS}, orient="row")
    try:
        reference.validate_mapping(mapping, reference.load_kommuner(), hf, Path(file))
    except reference.ReferenceDataError as exc:
        problems.add(file, None, None, str(exc).removeprefix(f"{file}: "))
        parsed.ok = False
        return parsed
    if skipped:
        parsed.notes.append(f"lest forbi {len(skipped)} rad(er) for spesialkoder og bydeler i kommuner som ikke er delt her "
                            f"({', '.join(skipped[:6])}{' …' if len(skipped) > 6 else ''})")
    moved = mapping.join(current, on="kommunenummer", suffix="_before").filter(
        pl.col("helsefellesskap_id") != pl.col("helsefellesskap_id_before"))
    if moved.height:
        parsed.notes.append("endret helsefellesskap: " + ", ".join(
            f"{k} {a} -> {b}" for k, b, a in moved.select("kommunenummer", "helsefellesskap_id", "helsefellesskap_id_before").iter_rows()))
    parsed.payload = mapping
    parsed.cells = pl.DataFrame(bydel_hf, schema={"bydel": pl.String, "helseforetak_id": pl.String}, orient="row")
    parsed.source = ctx.options.source or "SKDE, opptaksområder"
    parsed.description = (f"SKDEs opptaksområder ({file}): {mapping.height} kommuner til helsefellesskap, "
                          f"{len(bydel_hf)} bydeler til sykehusområde.")
    return parsed
