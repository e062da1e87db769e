"""FHI statistikkbank exports (Kommunehelsa, Norgeshelsa): semicolon CSV.

Columns (upper case as exported; others such as NEVNER, RATE, MEIS are read past)::

    GEO;AAR;KJONN;ALDER;TELLER;NEVNER;RATE;MEIS;SPVFLAGG

* GEO: kommune number (3-4 digits, e.g. 301 or 5501) or bydel number (5-6 digits, e.g. 30110 or
  030110); fylke and land rows are skipped and listed. A bydel must be one of the reference
  bydeler; Oslo's own row (0301) goes to "uoppgitt bydel" 030199, or is read past where the file
  has Oslo's bydeler for the same year (it is their sum).
* AAR: a single year, ``2024`` or ``2024_2024``. Pooled periods such as ``2022_2024`` are refused:
  their TELLER is an average per year over several years, not a count for one year.
* KJONN: 1 menn, 2 kvinner; 0 (begge) is read past when 1 and 2 are there, refused otherwise.
* ALDER: ``low_high`` (``80_120``; a high of 99 or more means "and older"), on whole age bands.
  A range over several bands is allocated by population only with ``--allow-split-allocation``.
  A total row (e.g. ``0_120``) next to rows that split it exactly is read past.
* TELLER: the count for the measure named with ``--measure``.
* SPVFLAGG: 0 value ok, 1 missing (".."), 2 anonymised ("."), 3 hidden (":"). A flagged row is
  never stored as a number, whatever TELLER holds: its kommune-year is left without coverage,
  so the app shows it as missing ("ikke rapportert"), never as zero. Unflagged rows of the same
  kommune-year are not stored either, so a suppressed value cannot be recovered by subtraction.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import polars as pl

from data_loaders.importers.model import Context, Parsed
from data_loaders.importers.validation import MIN_YEAR, field_count_problem, max_year, read_text, sha256_of
from data_loaders.schema import AGE_BANDS

REQUIRED = ["GEO", "AAR", "KJONN", "ALDER", "TELLER", "SPVFLAGG"]
FLAGS = {0: "ok", 1: 'missing ("..")', 2: 'anonymised (".")', 3: 'hidden (":")'}
SEX = {"1": "male", "2": "female"}
OPEN_HIGH = 99
BAND_LOWS = {low: label for label, low, _ in AGE_BANDS}
BAND_HIGHS = {high: label for label, _, high in AGE_BANDS if high is not None}


def bands_for_alder(text: str) -> tuple[list[str] | None, str | None]:
    """The age bands an ALDER value covers, or an error message."""
    value = text.strip()
    match = re.fullmatch(r"(\d+)_(\d+)", value) or re.fullmatch(r"(\d+)\+", value)
    if not match:
        return None, f'not an age range: "{value}" (expected e.g. 0_74 or 80_120)'
    low = int(match.group(1))
    high = int(match.group(2)) if match.lastindex == 2 else None
    if high is not None and high < low:
        return None, f"age range {value} ends before it starts"
    if low not in BAND_LOWS:
        band = next(label for label, lo, hi in AGE_BANDS if lo <= low and (hi is None or low <= hi))
        return None, (f"ALDER {value} does not map onto whole age bands: {low} is inside band {band} "
                      f"(bands start at {', '.join(str(x) for x in sorted(BAND_LOWS))})")
    if high is None or high >= OPEN_HIGH:
        chosen = [label for label, lo, _ in AGE_BANDS if lo >= low]
        return chosen, None
    if high not in BAND_HIGHS:
        band = next(label for label, lo, hi in AGE_BANDS if lo <= high and (hi is None or high <= hi))
        return None, (f"ALDER {value} does not map onto whole age bands: {high} is inside band {band} "
                      f"(bands end at {', '.join(str(x) for x in sorted(BAND_HIGHS))}, or use {OPEN_HIGH}+ for 'and older')")
    return [label for label, lo, hi in AGE_BANDS if lo >= low and hi is not None and hi <= high], None


def _number(text: str) -> float | None:
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def read_fhi_csv(path: Path, ctx: Context) -> Parsed:
    measure = ctx.options.measure
    sha = sha256_of(path)
    parsed = Parsed(
        path=path, file=path.name, format="fhi-csv", kind="counts", sha256=sha, dataset_id=f"fhi-{measure}-{sha[:12]}",
        source=ctx.options.source or "FHI statistikkbank (Kommunehelsa/Norgeshelsa)", description="",
        extraction_date=ctx.options.extraction_date or date.fromtimestamp(path.stat().st_mtime).isoformat(),
        kommune_column="GEO", value_column="TELLER",
    )
    problems, file = ctx.problems, parsed.file
    text = read_text(path)
    lines = text.splitlines()
    header = lines[0] if lines else ""
    names = [c.strip().strip('"').upper() for c in next(csv.reader([header], delimiter=";"))] if header else []
    if not all(r in names for r in REQUIRED):
        for d, label in ((",", "comma"), ("\t", "tab")):
            alt = [c.strip().strip('"').upper() for c in header.split(d)]
            if all(r in alt for r in REQUIRED):
                problems.add(file, 1, None, f"wrong delimiter: the header is separated by {label} ({d!r}); "
                             "FHI statistikkbank exports are separated by semicolon (';')")
                break
        else:
            missing = [r for r in REQUIRED if r not in names]
            problems.add(file, 1, None, f"missing column(s) {', '.join(missing)} (found: {', '.join(n for n in names if n) or 'none'})")
        parsed.ok = False
        return parsed
    col = {name: names.index(name) for name in REQUIRED}
    lo, hi = MIN_YEAR, max_year()
    rows: list[dict] = []
    skipped: dict[str, None] = {}
    reader = csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=";")
    for offset, fields in enumerate(reader):
        line = offset + 2
        if not fields or not any(f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            problems.add(file, line, *field_count_problem(names, len(fields), ";"))
            continue
        v = {name: fields[i].strip().strip('"') for name, i in col.items()}
        before = problems.total
        geo = v["GEO"]
        if not geo.isdigit():
            problems.add(file, line, "GEO", f'not a region number: "{geo}"')
        elif len(geo) not in (3, 4, 5, 6):
            skipped.setdefault(geo, None)
            continue
        year = None
        aar = v["AAR"]
        if m := re.fullmatch(r"(\d{4})(?:_(\d{4}))?", aar):
            start, end = int(m.group(1)), int(m.group(2) or m.group(1))
            if start != end:
                problems.add(file, line, "AAR",
                             f"pooled period {aar}: FHI gives an average per year over {end - start + 1} years, not a "
                             "count; only single years can be imported (export the table by single years)")
            elif not lo <= start <= hi:
                problems.add(file, line, "AAR", f"year {start} outside the accepted range {lo}-{hi}")
            else:
                year = start
        else:
            problems.add(file, line, "AAR", f'not a year: "{aar}"')
        if v["KJONN"] not in ("0", "1", "2"):
            problems.add(file, line, "KJONN", f'unknown KJONN "{v["KJONN"]}" (0 begge, 1 menn, 2 kvinner)')
        bands, error = bands_for_alder(v["ALDER"])
        if error:
            problems.add(file, line, "ALDER", error)
        flag = int(v["SPVFLAGG"]) if v["SPVFLAGG"].isdigit() else None
        if flag not in FLAGS:
            problems.add(file, line, "SPVFLAGG", f'unknown SPVFLAGG "{v["SPVFLAGG"]}" (0 ok, 1 missing, 2 anonymised, 3 hidden)')
        count = None
        if flag == 0:
            if v["TELLER"] in ("", ".", "..", ":"):
                problems.add(file, line, "TELLER", "missing value although SPVFLAGG is 0")
            else:
                count = _number(v["TELLER"])
                if count is None:
                    problems.add(file, line, "TELLER", f'not a number: "{v["TELLER"]}"')
                elif count < 0:
                    problems.add(file, line, "TELLER", f"negative value {v['TELLER']}")
        if problems.total == before:
            rows.append(dict(row=line, kommunenummer=geo.zfill(4) if len(geo) <= 4 else geo.zfill(6), year=year, kjonn=v["KJONN"], alder=v["ALDER"],
                             bands=bands, flag=flag, count=count))
    parsed.rows_read = len(rows)
    if skipped:
        parsed.notes.append(f"skipped rows for {len(skipped)} region(s) that are not kommuner (GEO {', '.join(list(skipped)[:8])})")
    if problems.total:
        parsed.ok = False
        return parsed
    if not rows:
        problems.add(file, None, None, "no kommune rows")
        parsed.ok = False
        return parsed

    first_rows: dict[tuple[str, int], int] = {}
    for r in rows:
        first_rows.setdefault((r["kommunenummer"], r["year"]), r["row"])
    for (number, year), first in first_rows.items():
        result = ctx.crosswalk.translate(number, year)
        if isinstance(result, str):
            problems.add(file, first, "GEO", result)
    if problems.total:
        parsed.ok = False
        return parsed
    kept = _resolve_overlaps(rows, parsed, ctx)
    if problems.total:
        parsed.ok = False
        return parsed
    _check_catalogue_use(kept, parsed, ctx, measure)
    if problems.total:
        parsed.ok = False
        return parsed

    data_rows, cells = [], {}
    for r in kept:
        key = (r["kommunenummer"], r["year"])
        entry = cells.setdefault(key, [False, r["row"]])
        entry[1] = min(entry[1], r["row"])
        if r["flag"] != 0:
            entry[0] = True
            continue
        multi = len(r["bands"]) > 1
        if multi and not ctx.options.allow_split_allocation:
            problems.add(file, r["row"], "ALDER",
                         f"ALDER {r['alder']} spans age bands {', '.join(r['bands'])}; a count cannot be divided exactly "
                         "between bands. Export ALDER by age band (e.g. 80_84, 85_89, 90_120) or pass "
                         "--allow-split-allocation to allocate it by population")
            continue
        data_rows.append((measure, r["year"], r["kommunenummer"], SEX[r["kjonn"]], r["bands"][0], r["count"], r["row"],
                          r["bands"] if multi else None))
    if problems.total:
        parsed.ok = False
        return parsed
    parsed.data = pl.DataFrame(
        data_rows,
        schema={"measure_id": pl.String, "year": pl.Int32, "kommunenummer": pl.String, "sex": pl.String,
                "age_band": pl.String, "count": pl.Float64, "_row": pl.Int64, "_alloc_bands": pl.List(pl.String)},
        orient="row",
    ).lazy()
    parsed.cells = pl.DataFrame(
        [(measure, y, k, s, r) for (k, y), (s, r) in cells.items()],
        schema={"measure_id": pl.String, "year": pl.Int32, "kommunenummer": pl.String, "suppressed": pl.Boolean, "_row": pl.Int64},
        orient="row",
    )
    parsed.coverage = {measure: "cells"}
    suppressed_rows = sum(1 for r in kept if r["flag"] != 0)
    years = sorted({r["year"] for r in kept})
    parsed.description = (
        f"FHI statistikkbank-eksport ({file}) for målet {measure}, {years[0]}-{years[-1]}: {len(kept)} celler, "
        f"{suppressed_rows} prikket/manglende hos kilden (lagret som ikke rapportert)."
    )
    if suppressed_rows:
        parsed.notes.append(
            f"{suppressed_rows} row(s) flagged by SPVFLAGG (missing/anonymised/hidden at FHI) are not stored as numbers"
        )
    return parsed


def _resolve_overlaps(rows: list[dict], parsed: Parsed, ctx: Context) -> list[dict]:
    """Drop total rows (KJONN 0, ALDER totals) that finer rows split exactly; refuse other overlaps."""
    problems, file = ctx.problems, parsed.file
    seen: dict[tuple, int] = {}
    for r in rows:
        key = (r["kommunenummer"], r["year"], r["kjonn"], r["alder"])
        if key in seen:
            problems.add(file, r["row"], None,
                         f"duplicate row: GEO {r['kommunenummer']}, AAR {r['year']}, KJONN {r['kjonn']}, ALDER {r['alder']} "
                         f"also on row {seen[key]}")
        else:
            seen[key] = r["row"]
    if problems.total:
        return []
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["kommunenummer"], r["year"]), []).append(r)
    kept: list[dict] = []
    dropped_totals = 0
    for (kommune, year), group in groups.items():
        by_sex: dict[str, list[dict]] = {}
        for r in group:
            by_sex.setdefault(r["kjonn"], []).append(r)
        both = by_sex.pop("0", [])
        if both and not ("1" in by_sex and "2" in by_sex):
            problems.add(file, both[0]["row"], "KJONN",
                         "KJONN 0 (begge kjønn) cannot be stored: the store keeps counts by sex; export the table "
                         "with KJONN 1 and 2")
            continue
        dropped_totals += len(both)
        for sex, items in by_sex.items():
            items = sorted(items, key=lambda r: len(r["bands"]))
            chosen: list[dict] = []
            covered: set[str] = set()
            for r in items:
                bands = set(r["bands"])
                if bands & covered:
                    parts = [c for c in chosen if set(c["bands"]) <= bands]
                    if {b for c in parts for b in c["bands"]} == bands and all(set(c["bands"]) <= bands for c in parts):
                        dropped_totals += 1  # a total of rows already kept
                        continue
                    other = next(c for c in chosen if set(c["bands"]) & bands)
                    problems.add(file, r["row"], "ALDER",
                                 f"ALDER {r['alder']} overlaps ALDER {other['alder']} (row {other['row']}) for GEO {kommune}, "
                                 f"{year}, KJONN {sex}; use age ranges that do not overlap")
                    continue
                covered |= bands
                chosen.append(r)
            kept.extend(chosen)
    if dropped_totals:
        parsed.notes.append(f"read past {dropped_totals} total row(s) (KJONN 0 or ALDER totals) that finer rows split exactly")
    return sorted(kept, key=lambda r: r["row"])


def _check_catalogue_use(kept: list[dict], parsed: Parsed, ctx: Context, measure: str) -> None:
    """Every indicator that uses the measure must find its ages and sexes in the file."""
    needs: list[tuple[str, set[str], set[str]]] = []
    for ind in ctx.catalogue.indicators:
        for term in (ind.numerator, ind.denominator):
            if term.measure == measure:
                sexes = {"male", "female"} if term.sex == "all" else {term.sex}
                needs.append((ind.id, set(term.age_bands), sexes))
    if not needs:
        return
    groups: dict[tuple, dict[str, set[str]]] = {}
    first_row: dict[tuple, int] = {}
    for r in kept:
        key = (r["kommunenummer"], r["year"])
        groups.setdefault(key, {}).setdefault(SEX[r["kjonn"]], set()).update(r["bands"])
        first_row[key] = min(first_row.get(key, r["row"]), r["row"])
    reported = 0
    for key, present in sorted(groups.items(), key=lambda kv: first_row[kv[0]]):
        for indicator_id, bands, sexes in needs:
            lacking = sorted({(s, b) for s in sexes for b in bands if b not in present.get(s, set())},
                             key=lambda sb: (sb[0], [x[0] for x in AGE_BANDS].index(sb[1])))
            if lacking:
                what = ", ".join(sorted({b for _, b in lacking}, key=lambda b: [x[0] for x in AGE_BANDS].index(b)))
                ctx.problems.add(
                    parsed.file, first_row[key], "ALDER",
                    f"GEO {key[0]} {key[1]}: indicator {indicator_id} uses {measure} for age band(s) {what} "
                    f"({', '.join(sorted({s for s, _ in lacking}))}), which the file does not cover; the store would "
                    "read them as zero. Export those ages too",
                )
                reported += 1
                break
        if reported >= 3:
            return


# --- FHI's published values (MEIS/RATE with SPVFLAGG) as published indicators ----------------

PUBLISHED_REQUIRED = ["GEO", "AAR", "SPVFLAGG"]
PUBLISHED_VALUE_COLUMNS = ("MEIS", "RATE")  # the first present is the published value


def read_fhi_published(paths: list[Path], problems, *, group: str | None, name: str | None, group_ids: set[str],
                       extraction_date: str | None, source: str | None):
    """FHI statistikkbank files with published values as published indicators (kommune, fylke, land).

    The value is MEIS (or RATE where MEIS is absent), TELLER and NEVNER its count and
    denominator where present. SPVFLAGG != 0 marks a value FHI hid: it is stored with the flag and
    no number. Only both sexes (KJONN 0) are read where the file has them; the file must hold one
    ALDER group. One published indicator per file.
    """
    from data_loaders import reference
    from data_loaders.importers.helseatlas import INDICATOR_SCHEMA, VALUE_SCHEMA, PublishedImport, _slug
    from data_loaders.reference import NATIONAL_ID

    out = PublishedImport()
    if group is None or group not in group_ids:
        problems.add("--group", None, None, f"fhi-published trenger --group, en av {', '.join(sorted(group_ids))}"
                     + (f" (fikk {group!r})" if group else ""))
        return out
    kommuner = set(reference.load_kommuner()["kommunenummer"].to_list())
    fylker = set(reference.load_fylker()["fylkesnummer"].to_list())
    bydeler = set(reference.load_bydeler()["bydel"].to_list())
    for path in paths:
        file = path.name
        sha = sha256_of(path)
        lines = read_text(path).splitlines()
        names = [c.strip().strip('"').upper() for c in next(csv.reader([lines[0]], delimiter=";"))] if lines else []
        value_column = next((c for c in PUBLISHED_VALUE_COLUMNS if c in names), None)
        missing = [c for c in PUBLISHED_REQUIRED if c not in names]
        if missing or value_column is None:
            wanted = missing + ([] if value_column else ["MEIS eller RATE"])
            problems.add(file, 1, None, f"mangler kolonne(r) {', '.join(wanted)} (fant: {', '.join(names) or 'ingen'}; "
                         "filen skal være semikolonseparert som FHIs statistikkbank eksporterer)")
            continue
        rows = []
        for offset, fields in enumerate(csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=";")):
            line = offset + 2
            if not fields or not any(f.strip() for f in fields):
                continue
            if len(fields) != len(names):
                problems.add(file, line, None, f"{len(fields)} felt, men overskriften har {len(names)}")
                continue
            v = {n: fields[i].strip().strip('"') for i, n in enumerate(names)}
            rows.append((line, v))
        sexes = {v.get("KJONN", "0") for _, v in rows}
        rows = [(line, v) for line, v in rows if v.get("KJONN", "0") == ("0" if "0" in sexes else min(sexes))]
        ages = sorted({v.get("ALDER", "") for _, v in rows})
        if len(ages) > 1:
            problems.add(file, None, "ALDER", f"filen har flere aldersgrupper ({', '.join(ages[:5])}); "
                         "eksporter én aldersgruppe per fil")
            continue
        values, seen = [], set()
        for line, v in rows:
            geo = v["GEO"]
            if geo in ("0", "00"):
                level, area = "land", NATIONAL_ID
            elif len(geo) <= 2 and geo.zfill(2) in fylker:
                level, area = "fylke", geo.zfill(2)
            elif len(geo) in (3, 4) and geo.zfill(4) in kommuner:
                level, area = "kommune", geo.zfill(4)
            elif len(geo) in (5, 6) and geo.zfill(6) in bydeler:
                level, area = "bydel", geo.zfill(6)
            else:
                problems.add(file, line, "GEO", f"ukjent område «{geo}» (verken land 0, fylke, kommune eller bydel "
                             "med 2024-nummer)")
                continue
            m = re.fullmatch(r"(\d{4})(?:_(\d{4}))?", v["AAR"])
            if not m:
                problems.add(file, line, "AAR", f"ikke et år eller en periode: «{v['AAR']}»")
                continue
            start, end = int(m.group(1)), int(m.group(2) or m.group(1))
            flag_text = v["SPVFLAGG"]
            if flag_text not in ("0", "1", "2", "3"):
                problems.add(file, line, "SPVFLAGG", f"ukjent SPVFLAGG «{flag_text}» (0 ok, 1 mangler, 2 anonymisert, "
                             "3 skjult)")
                continue
            flag = int(flag_text)
            value = _number(v[value_column]) if flag == 0 else None
            if flag == 0 and value is None:
                problems.add(file, line, value_column, f"mangler tall selv om SPVFLAGG er 0: «{v[value_column]}»")
                continue
            cell = (level, area, start, end)
            if cell in seen:
                problems.add(file, line, "GEO", f"området {geo} står to ganger for {v['AAR']}")
                continue
            seen.add(cell)
            count = _number(v.get("TELLER", "")) if flag == 0 else None
            denominator = _number(v.get("NEVNER", "")) if flag == 0 else None
            values.append(dict(level=level, area_id=area, year_start=start, year_end=end, value=value, lower=None,
                               upper=None, numerator=count, denominator=denominator, publisher_flag=flag))
        if problems.total or not values:
            if not values and not problems.total:
                problems.add(file, None, None, "ingen rader med verdier")
            continue
        title = name or path.stem.replace("_", " ")
        dataset_id = f"fhi-published-{_slug(path.stem)[:30]}-{sha[:8]}"
        indicator_id = f"fhi_{_slug(name or path.stem)}"[:120]
        levels = {v["level"] for v in values}
        main_level = next(lv for lv in ("kommune", "fylke", "land") if lv in levels | {"land"})
        age = f" ({ages[0].replace('_', '–')} år)" if ages and ages[0] else ""
        meta = dict(
            indicator_id=indicator_id, name=title + age, short_name=title, description=title + age, group_id=group,
            publisher="FHI", source=source or "FHI, Kommunehelsa/Norgeshelsa statistikkbank",
            definition=f"{title}{age}: {value_column} som FHI har publisert i statistikkbanken.",
            unit="som publisert av FHI", direction="neutral", level=main_level, interval_label="",
            flags_note="SPVFLAGG fra FHI: 1 mangler, 2 anonymisert, 3 skjult; slike verdier vises aldri som tall.",
            dataset_id=dataset_id,
        )
        out.indicators.append(pl.DataFrame([meta], schema=INDICATOR_SCHEMA))
        out.values.append(pl.DataFrame([dict(v, indicator_id=indicator_id, dataset_id=dataset_id) for v in values],
                                       schema=VALUE_SCHEMA))
        hidden = sum(v["publisher_flag"] != 0 for v in values)
        out.notes[file] = [f"{hidden} verdi(er) skjult av FHI (SPVFLAGG) lagres uten tall"] if hidden else []
        out.counts[file] = (1, len(values))
        out.datasets.append(dict(
            dataset_id=dataset_id, source=meta["source"], description=f"Publiserte verdier fra FHI: {title}",
            extraction_date=extraction_date or date.fromtimestamp(path.stat().st_mtime).isoformat(), synthetic=False,
            file_name=file, file_sha256=sha, row_count=len(values),
        ))
    return out
