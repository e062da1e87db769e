"""SSB table 07459 (population by region, sex, single year of age and year).

Two downloads from the statistikkbank are read:

* ``ssb-jsonstat``: the API's JSON-stat 2.0 response (JSON-stat 1.0 with a ``dataset`` wrapper
  is accepted too). Dimensions Region, Kjonn, Alder, Tid (and ContentsCode with one value).
  For problems, "row N" is the N-th entry (1-based) of the ``value`` array.
* ``ssb-csv``: the semicolon (or comma) separated download with labelled columns
  ``"region";"kjønn";"alder";"år";"07459: Befolkning ..."``; an optional title line above the
  header is skipped. Values such as ``"5501 Tromsø"``, ``"Menn"``, ``"17 år"``,
  ``"105 år eller eldre"``, ``"2024"``.

Single years of age are summed into the store's age bands. Every kommune-year must have both
sexes and every age from 0 to an open top group ("105 år eller eldre", at least 90), so every
band is complete. Rows for regions that are not kommuner (the country, fylker, Svalbard) are
skipped and listed; so are kommune-years without any value (SSB shows ``.`` for a kommune in a
year it did not exist).

Six-digit bydel regions (SSB table 10826, e.g. ``"030110 Grorud"``) are read as area units of
their own. Oslo (0301) in table 07459 has no bydel: its figures go to "uoppgitt bydel" 030199
(see ``crosswalk``), or are read past for a year in which the file has Oslo's bydeler too.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from data_loaders.importers.model import Context, Parsed
from data_loaders.importers.validation import MIN_YEAR, clean_name, field_count_problem, max_year, read_text, sha256_of
from data_loaders.schema import AGE_BANDS

MISSING = {"", ".", "..", "...", ":"}
OPEN_TOP_MIN = 90
SKIPPED_REGION = re.compile(r"^(2[123]\d\d|9999)$")  # Svalbard, Jan Mayen, continental shelf, unknown
SEX_WORDS = {
    "1": "male", "menn": "male", "mann": "male", "males": "male", "male": "male", "m": "male",
    "2": "female", "kvinner": "female", "kvinne": "female", "females": "female", "female": "female", "k": "female", "f": "female",
}
BOTH_WORDS = {"0", "begge kjønn", "begge", "both sexes", "alle", "i alt", "total"}
CSV_ALIASES = {
    "region": ("region",),
    "sex": ("kjønn", "kjonn", "sex"),
    "age": ("alder", "age"),
    "year": ("år", "ar", "tid", "year"),
}
OPTIONAL = ("statistikkvariabel", "contents", "contentscode")
AGGREGATE_LABELS = {"hele landet", "landet", "i alt", "eak", "total", "the whole country"}


@dataclass
class Record:
    row: int
    region: str
    sex: str
    age: str
    year: str
    value: object


def _band_of(age: int) -> str:
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    raise ValueError(age)


def _parse_age(text: str) -> tuple[int | None, bool]:
    numbers = re.findall(r"\d+", text)
    lowered = text.lower()
    is_open = "eller eldre" in lowered or "or older" in lowered or "+" in text
    if not numbers or len(set(int(n) for n in numbers)) != 1:
        return None, is_open
    return int(numbers[-1]), is_open


def _parse_sex(text: str) -> str | None:
    lowered = text.strip().lower()
    if lowered in SEX_WORDS:
        return SEX_WORDS[lowered]
    if lowered in BOTH_WORDS:
        return "both"
    code = lowered.split(" ", 1)[0]
    if code in ("1", "2"):
        return SEX_WORDS[code]
    if code == "0":
        return "both"
    return None


def _parse_region(text: str) -> str | None:
    match = re.match(r"^\s*(?:K-)?(\d{1,6})(?:\s|$|\b)", text)
    return match.group(1) if match else None


def _parse_value(raw: object) -> tuple[int | None, str | None]:
    """(value, error); value None with no error means 'missing' (a dot symbol or empty)."""
    if raw is None:
        return None, None
    if isinstance(raw, bool):
        return None, f"not a number: {raw!r}"
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not raw.is_integer():
            return None, f"not a whole number: {raw}"
        value = int(raw)
    else:
        text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
        if text in MISSING:
            return None, None
        if text == "-":
            return 0, None
        if not re.fullmatch(r"-?\d+", text):
            return None, f'not a whole number: "{str(raw)[:40]}"'
        value = int(text)
    if value < 0:
        return None, f"negative value {value}"
    return value, None


def _new_parsed(path: Path, ctx: Context, fmt: str) -> Parsed:
    sha = sha256_of(path)
    return Parsed(
        path=path, file=path.name, format=fmt, kind="population", sha256=sha, dataset_id=f"ssb-07459-{sha[:12]}",
        source=ctx.options.source or "SSB statistikkbanken, tabell 07459", description="",
        extraction_date=ctx.options.extraction_date or date.fromtimestamp(path.stat().st_mtime).isoformat(),
        value_column="value",
    )


def _finish(parsed: Parsed, records: list[Record], ctx: Context, where) -> Parsed:
    """Row checks, completeness and aggregation into bands, shared by both SSB formats.

    ``where(record, field)`` gives the column name used in problems for a field.
    """
    problems, file = ctx.problems, parsed.file
    lo, hi = MIN_YEAR, max_year()
    skipped_regions: dict[str, None] = {}
    good: list[tuple] = []  # (kommune, year, sex, age, open, value|None, row)
    for rec in records:
        before = problems.total
        year = int(rec.year) if str(rec.year).strip().isdigit() else None
        if year is None:
            problems.add(file, rec.row, where(rec, "year"), f'not a year: "{rec.year}"')
        elif not lo <= year <= hi:
            problems.add(file, rec.row, where(rec, "year"), f"year {year} outside the accepted range {lo}-{hi}")
        code = _parse_region(rec.region)
        if code is None and not re.search(r"\d", rec.region) and rec.region.strip().lower() not in AGGREGATE_LABELS:
            problems.add(file, rec.row, where(rec, "region"),
                         f'region must start with a kommune number, e.g. "5501 Tromsø"; got "{rec.region}"')
        elif code is None or len(code) not in (4, 6) or SKIPPED_REGION.match(code):  # kommune or bydel (table 10826)
            skipped_regions.setdefault(rec.region.strip(), None)
            continue
        sex = _parse_sex(rec.sex)
        if sex is None:
            problems.add(file, rec.row, where(rec, "sex"), f'unknown sex "{rec.sex}" (use Menn/Kvinner or 1/2)')
        elif sex == "both":
            problems.add(file, rec.row, where(rec, "sex"),
                         f'"{rec.sex}" (both sexes) cannot be stored: the store keeps population by sex; download Menn and Kvinner')
        age, is_open = _parse_age(rec.age)
        if age is None:
            problems.add(file, rec.row, where(rec, "age"),
                         f'not a single year of age: "{rec.age}" (download table 07459 by single years of age)')
        value, error = _parse_value(rec.value)
        if error:
            problems.add(file, rec.row, where(rec, "value"), error)
        if problems.total == before:
            good.append((code, year, sex, age, is_open, value, rec.row))
    parsed.rows_read = len(records)
    if skipped_regions:
        shown = list(skipped_regions)
        parsed.notes.append(
            f"skipped {len(shown)} region(s) that are not kommuner: {', '.join(shown[:8])}"
            + (f" (and {len(shown) - 8} more)" if len(shown) > 8 else "")
        )
    if problems.total:
        parsed.ok = False
        return parsed

    frame = pl.DataFrame(
        good, schema={"kommunenummer": pl.String, "year": pl.Int32, "sex": pl.String, "age": pl.Int32,
                      "open": pl.Boolean, "value": pl.Int64, "_row": pl.Int64},
        orient="row",
    )
    duplicated = frame.filter(pl.struct("kommunenummer", "year", "sex", "age").is_duplicated()).sort("_row")
    if duplicated.height:
        first_rows = frame.group_by("kommunenummer", "year", "sex", "age").agg(pl.col("_row").min().alias("_first"))
        dups = duplicated.join(first_rows, on=["kommunenummer", "year", "sex", "age"]).filter(pl.col("_row") != pl.col("_first"))
        for row in dups.iter_rows(named=True):
            problems.add(file, row["_row"], None,
                         f"duplicate row: region {row['kommunenummer']}, {row['sex']}, age {row['age']}, {row['year']} "
                         f"also on row {row['_first']}")
        parsed.ok = False
        return parsed

    # Kommune-years without any value are regions that did not exist that year: skip them.
    per_year = frame.group_by("kommunenummer", "year").agg(
        pl.col("value").is_null().all().alias("empty"),
        (pl.col("value").fill_null(0) == 0).all().alias("zero"),
        pl.col("_row").min(),
    )
    crosswalk = ctx.crosswalk
    empty = set()
    for number, year, is_empty, is_zero, _ in per_year.iter_rows():
        valid = not isinstance(crosswalk.translate(number, year), str)
        if is_empty or (is_zero and not valid):
            empty.add((number, year))
    if empty:
        parsed.notes.append(f"skipped {len(empty)} kommune-year(s) without values (the kommune did not exist that year)")
        frame = frame.join(pl.DataFrame(sorted(empty), schema={"kommunenummer": pl.String, "year": pl.Int32}, orient="row"),
                           on=["kommunenummer", "year"], how="anti")
    for number, year, first in per_year.sort("_row").select("kommunenummer", "year", "_row").iter_rows():
        if (number, year) in empty:
            continue
        result = crosswalk.translate(number, year)
        if isinstance(result, str):
            problems.add(file, first, where(None, "region"), result)
    if problems.total:
        parsed.ok = False
        return parsed
    for row in frame.filter(pl.col("value").is_null()).sort("_row").iter_rows(named=True):
        problems.add(file, row["_row"], where(None, "value"),
                     f"missing value for {row['kommunenummer']} {row['year']}, which has other values: "
                     "population cannot be partly missing")
    if problems.total:
        parsed.ok = False
        return parsed

    _check_complete(parsed, frame, ctx, where)
    if problems.total:
        parsed.ok = False
        return parsed
    band = pl.col("age").map_elements(_band_of, return_dtype=pl.String)
    parsed.data = (
        frame.with_columns(band.alias("age_band"))
        .group_by("year", "kommunenummer", "sex", "age_band")
        .agg(pl.col("value").sum().alias("population"), pl.col("_row").min())
        .lazy()
    )
    years = sorted(frame["year"].unique().to_list())
    parsed.description = (
        f"Folkemengde 1. januar etter kommune, kjønn og alder (SSB tabell 07459), {years[0]}-{years[-1]}, "
        f"summert fra ettårige aldre til aldersgrupper ({parsed.file})."
        if years else "Folkemengde (SSB tabell 07459)."
    )
    return parsed


def _check_complete(parsed: Parsed, frame: pl.DataFrame, ctx: Context, where) -> None:
    problems, file = ctx.problems, parsed.file
    for (number, year), group in frame.group_by("kommunenummer", "year", maintain_order=True):
        sexes = set(group["sex"].to_list())
        if sexes != {"male", "female"}:
            missing = {"male", "female"} - sexes
            problems.add(file, int(group["_row"].min()), where(None, "sex"),
                         f"{number} {year}: no rows for {', '.join(sorted(missing))}; both sexes are needed")
            continue
        for (sex,), part in group.group_by("sex", maintain_order=True):
            first = int(part["_row"].min())
            open_rows = part.filter(pl.col("open"))
            if open_rows.height != 1:
                problems.add(file, first, where(None, "age"),
                             f"{number} {year} {sex}: needs exactly one open top age group such as \"105 år eller eldre\" "
                             f"(found {open_rows.height}); without it the 90+ band is incomplete")
                continue
            top = int(open_rows["age"][0])
            if top < OPEN_TOP_MIN:
                problems.add(file, int(open_rows["_row"][0]), where(None, "age"),
                             f"{number} {year} {sex}: the open top age group starts at {top}; it must start at "
                             f"{OPEN_TOP_MIN} or later so it falls within the 90+ band")
                continue
            ages = part.filter(~pl.col("open"))["age"].to_list()
            missing = sorted(set(range(top)) - set(ages))
            beyond = sorted(a for a in ages if a >= top)
            if missing:
                bands = sorted({_band_of(a) for a in missing}, key=lambda b: [x[0] for x in AGE_BANDS].index(b))
                problems.add(file, first, where(None, "age"),
                             f"{number} {year} {sex}: age(s) {_ages(missing)} missing, so age band(s) {', '.join(bands)} "
                             "would be incomplete")
            if beyond:
                problems.add(file, first, where(None, "age"),
                             f"{number} {year} {sex}: age(s) {_ages(beyond)} overlap the open group from {top}")


def _ages(ages: list[int]) -> str:
    text = ", ".join(str(a) for a in ages[:10])
    return text + (f" (and {len(ages) - 10} more)" if len(ages) > 10 else "")


# --------------------------------------------------------------------------- JSON-stat


def _dimension_key(dims: dict, wanted: str) -> str | None:
    for key in dims:
        if key.lower() == wanted.lower():
            return key
    return None


def _category_codes(dim: dict) -> list[str]:
    index = dim.get("category", {}).get("index")
    if index is None:
        labels = dim.get("category", {}).get("label", {})
        return list(labels)
    if isinstance(index, list):
        return [str(c) for c in index]
    return [c for c, _ in sorted(index.items(), key=lambda kv: kv[1])]


def read_ssb_jsonstat(path: Path, ctx: Context) -> Parsed:
    parsed = _new_parsed(path, ctx, "ssb-jsonstat")
    problems, file = ctx.problems, parsed.file
    parsed.kommune_column = "Region"
    try:
        doc = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        problems.add(file, exc.lineno, None, f"not valid JSON (truncated file?): {exc.msg} at line {exc.lineno}, column {exc.colno}")
        parsed.ok = False
        return parsed
    if isinstance(doc, dict) and "dataset" in doc and isinstance(doc["dataset"], dict):
        doc = doc["dataset"]  # JSON-stat 1.0
        ids, sizes = doc.get("dimension", {}).get("id"), doc.get("dimension", {}).get("size")
    else:
        ids, sizes = doc.get("id") if isinstance(doc, dict) else None, doc.get("size") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not ids or not sizes or "dimension" not in doc or "value" not in doc:
        problems.add(file, None, None, "not a JSON-stat dataset: expected the keys id, size, dimension and value")
        parsed.ok = False
        return parsed
    dims = doc["dimension"]
    wanted = {"region": "Region", "sex": "Kjonn", "age": "Alder", "year": "Tid"}
    keys = {field: _dimension_key(dims, name) for field, name in wanted.items()}
    if missing := [wanted[f] for f, k in keys.items() if k is None or k not in ids]:
        problems.add(file, None, "dimension", f"missing dimension(s) {', '.join(missing)} (found: {', '.join(ids)})")
        parsed.ok = False
        return parsed
    codes = [_category_codes(dims[d]) for d in ids]
    if [len(c) for c in codes] != list(sizes):
        problems.add(file, None, "size", f"size {sizes} does not match the categories {[len(c) for c in codes]}")
        parsed.ok = False
        return parsed
    for d, c in zip(ids, codes):
        if d not in keys.values() and len(c) != 1:
            problems.add(file, None, "dimension", f"dimension {d} has {len(c)} categories; select one (Personer)")
    values = doc["value"]
    total = 1
    for s in sizes:
        total *= s
    if isinstance(values, dict):
        values = [values.get(str(i)) for i in range(total)]
    if len(values) != total:
        problems.add(file, None, "value", f"value has {len(values)} entries, expected {total} (the product of size)")
    if problems.total:
        parsed.ok = False
        return parsed
    labels = {d: dims[d].get("category", {}).get("label", {}) for d in ids}
    position = {field: ids.index(k) for field, k in keys.items()}
    records = []
    for i, combo in enumerate(itertools.product(*codes)):
        region = combo[position["region"]]
        region = f"{region} {labels[keys['region']].get(region, '')}".strip()
        age = combo[position["age"]]
        age_label = labels[keys["age"]].get(age, age)
        records.append(Record(
            row=i + 1,
            region=region,
            sex=combo[position["sex"]],
            age=f"{age} {age_label}" if "+" in age and "+" not in age_label else age_label,
            year=combo[position["year"]],
            value=values[i],
        ))
    if updated := doc.get("updated"):
        try:
            parsed.extraction_date = ctx.options.extraction_date or datetime.fromisoformat(str(updated)[:10]).date().isoformat()
        except ValueError:
            pass
    names = {"region": keys["region"], "sex": keys["sex"], "age": keys["age"], "year": keys["year"], "value": "value"}
    return _finish(parsed, records, ctx, lambda rec, field: names[field])


# --------------------------------------------------------------------------- CSV


def _find_header(lines: list[str]) -> tuple[int, str | None, list[str], str | None]:
    """(line index, delimiter, column names, error) of the header among the first lines."""
    def roles(names: list[str]) -> dict[str, int]:
        found = {}
        for role, aliases in CSV_ALIASES.items():
            for i, n in enumerate(names):
                if n in aliases:
                    found[role] = i
                    break
        return found

    for index, line in enumerate(lines[:6]):
        for d in (";", ","):
            names = [clean_name(c) for c in next(csv.reader([line], delimiter=d))] if line else []
            if len(roles(names)) == len(CSV_ALIASES):
                return index, d, names, None
        for d, name in (("\t", "tab"), ("|", "pipe")):
            names = [clean_name(c) for c in line.split(d)]
            if len(roles(names)) == len(CSV_ALIASES):
                return index, None, [], (f"wrong delimiter: the header is separated by {name} ({d!r}); "
                                         "ssb-csv needs semicolon (';') or comma (',')")
    return 0, None, [], ('missing column(s): expected a header with "region";"kjønn";"alder";"år" and one value '
                         f"column (found: {lines[0][:100] if lines else 'an empty file'!r})")


def read_ssb_csv(path: Path, ctx: Context) -> Parsed:
    parsed = _new_parsed(path, ctx, "ssb-csv")
    parsed.kommune_column = "region"
    problems, file = ctx.problems, parsed.file
    text = read_text(path)
    lines = text.splitlines()
    index, delimiter, names, error = _find_header(lines)
    if error:
        problems.add(file, index + 1, None, error)
        parsed.ok = False
        return parsed
    roles = {}
    for role, aliases in CSV_ALIASES.items():
        roles[role] = next(i for i, n in enumerate(names) if n in aliases)
    rest = [i for i in range(len(names)) if i not in roles.values() and not names[i].startswith(OPTIONAL)]
    if len(rest) != 1:
        problems.add(file, index + 1, None,
                     f"expected exactly one value column besides region, kjønn, alder and år; found {len(rest)}: "
                     f"{', '.join(names[i] for i in rest) or 'none'}")
        parsed.ok = False
        return parsed
    roles["value"] = rest[0]
    header_names = next(csv.reader([lines[index]], delimiter=delimiter))
    display = {role: header_names[i].strip().strip('"') for role, i in roles.items()}
    parsed.kommune_column = display["region"]
    parsed.value_column = display["value"]
    records = []
    reader = csv.reader(io.StringIO("\n".join(lines[index + 1:])), delimiter=delimiter)
    for offset, fields in enumerate(reader):
        row = index + 2 + offset
        if not fields or not any(f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            column, message = field_count_problem([h.strip().strip('"') for h in header_names], len(fields), delimiter)
            problems.add(file, row, column, message)
            continue
        records.append(Record(row=row, region=fields[roles["region"]], sex=fields[roles["sex"]], age=fields[roles["age"]],
                              year=fields[roles["year"]].strip(), value=fields[roles["value"]]))
    if not records and not problems.total:
        problems.add(file, None, None, "no data rows")
    if problems.total:
        parsed.ok = False
        return parsed
    return _finish(parsed, records, ctx, lambda rec, field: display[field])
