"""Shared pieces of validation: reading headers, choosing delimiters, row checks in one pass."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from data_loaders.importers.errors import MAX_PROBLEMS, Problem
from data_loaders.schema import AGE_BAND_LABELS, SEXES

MIN_YEAR = 2000


def max_year() -> int:
    return date.today().year


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 (older SSB/FHI downloads)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def read_text(path: Path) -> str:
    return decode(path.read_bytes())


def first_line(path: Path) -> tuple[str, bool]:
    """The header line (decoded, BOM removed) and whether the file ends with a newline."""
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 1))
        last = fh.read(1)
    line = decode(head.split(b"\n", 1)[0].rstrip(b"\r")) if head else ""
    return line.lstrip("\ufeff"), last in (b"\n", b"")


def clean_name(name: str) -> str:
    return name.strip().strip('"').lstrip("\ufeff").strip().lower()


def field_count_problem(names: list[str], found: int, delimiter: str | None = None) -> tuple[str, str]:
    """Column and message for a CSV row with the wrong number of fields.

    A short row is blamed on the first missing column (a truncated file ends like that);
    a long one on the last column (a stray delimiter or a decimal comma).
    """
    short = found < len(names)
    column = names[found] if short else names[-1]
    separated = f" separated by {delimiter!r}" if delimiter else ""
    message = f"expected {len(names)} fields{separated}, found {found}" + (" (truncated row?)" if short else "")
    return column, message


def choose_delimiter(header: str, required: list[str], allowed: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The delimiter (from ``allowed``) under which the header has every required column.

    Returns (delimiter, None) or (None, message) with a precise "wrong delimiter" or "missing
    column" message.
    """
    names = {d: [clean_name(c) for c in header.split(d)] for d in (",", ";", "\t", "|")}
    for d in allowed:
        if all(r in names[d] for r in required):
            return d, None
    shown = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    for d, cols in names.items():
        if d not in allowed and all(r in cols for r in required):
            allowed_text = " or ".join(f"{shown[a]} ({a!r})" for a in allowed)
            return None, f"wrong delimiter: the header is separated by {shown[d]} ({d!r}); this format needs {allowed_text}"
    best = max(allowed, key=lambda d: sum(r in names[d] for r in required))
    found = [c for c in names[best] if c]
    missing = [r for r in required if r not in names[best]]
    if len(found) <= 1:
        return None, (
            f"missing column(s) {', '.join(missing)}: the header has a single column "
            f"{header[:80]!r}; expected columns separated by {' or '.join(repr(a) for a in allowed)}"
        )
    return None, f"missing column(s) {', '.join(missing)} (found: {', '.join(found)})"


@dataclass(frozen=True)
class Check:
    """A row check: ``bad`` is true for a failing row, ``message`` builds its text."""

    column: str
    bad: pl.Expr
    message: pl.Expr


def run_checks(lf: pl.LazyFrame, checks: list[Check], file: str, limit: int = MAX_PROBLEMS) -> tuple[list[Problem], int]:
    """All row checks in one streaming pass: the first ``limit`` problems and how many rows fail.

    Only the boolean conditions run over the whole file; messages are built for the failing rows
    kept. Counting all failing rows takes a second pass, only when more than ``limit`` fail.
    """
    if not checks:
        return [], 0
    flagged = lf.filter(pl.any_horizontal([c.bad for c in checks]))
    head = flagged.head(limit).collect(engine="streaming")
    total = head.height if head.height < limit else int(flagged.select(pl.len()).collect(engine="streaming").item())
    if not head.height:
        return [], 0
    names = [f"__p{i}" for i in range(len(checks))]
    messages = head.select(
        "_row", *[pl.when(c.bad).then(c.message).otherwise(None).alias(n) for c, n in zip(checks, names)]
    )
    problems: list[Problem] = []
    for row in messages.iter_rows(named=True):
        for check, name in zip(checks, names):
            if row[name] is not None:
                problems.append(Problem(file, int(row["_row"]), check.column, row[name]))
    problems.sort(key=lambda p: p.row or 0)
    return problems[:limit], max(total, len(problems[:limit]))


def quoted(column: str) -> pl.Expr:
    return pl.format('"{}"', pl.col(column).str.slice(0, 60))


def missing_check(column: str) -> Check:
    return Check(column, pl.col(column).is_null() | (pl.col(column).str.strip_chars() == ""), pl.lit("missing value"))


def year_checks(column: str = "year") -> list[Check]:
    parsed = pl.col(column).str.strip_chars().cast(pl.Int32, strict=False)
    present = pl.col(column).is_not_null() & (pl.col(column).str.strip_chars() != "")
    lo, hi = MIN_YEAR, max_year()
    return [
        missing_check(column),
        Check(column, present & parsed.is_null(), pl.format("not a year: {}", quoted(column))),
        Check(
            column,
            parsed.is_not_null() & ((parsed < lo) | (parsed > hi)),
            pl.format("year {} outside the accepted range {}-{}", parsed, pl.lit(lo), pl.lit(hi)),
        ),
    ]


def kommune_checks(column: str = "kommunenummer") -> list[Check]:
    value = pl.col(column).str.strip_chars()
    digits = value.cast(pl.Int32, strict=False).is_not_null() & ~value.str.starts_with("-") & ~value.str.starts_with("+")
    return [
        missing_check(column),
        Check(
            column,
            value.is_not_null() & (value != "") & ~(value.str.len_bytes().is_between(3, 6) & digits),
            pl.format("not a kommune number (four digits) or bydel number (six digits): {}", quoted(column)),
        ),
    ]


def sex_checks(column: str = "sex") -> list[Check]:
    value = pl.col(column).str.strip_chars().str.to_lowercase()
    return [
        missing_check(column),
        Check(
            column,
            value.is_not_null() & (value != "") & ~value.is_in(list(SEXES)),
            pl.format("unknown sex {} (use male or female)", quoted(column)),
        ),
    ]


def age_band_checks(column: str = "age_band") -> list[Check]:
    value = pl.col(column).str.strip_chars()
    return [
        missing_check(column),
        Check(
            column,
            value.is_not_null() & (value != "") & ~value.is_in(list(AGE_BAND_LABELS)),
            pl.format("unknown age band {} (use one of {})", quoted(column), pl.lit(", ".join(AGE_BAND_LABELS))),
        ),
    ]


def count_checks(column: str = "count", *, decimal_comma: bool = False) -> list[Check]:
    raw = pl.col(column).str.strip_chars()
    if decimal_comma:
        raw = raw.str.replace(",", ".", literal=True)
    parsed = raw.cast(pl.Float64, strict=False)
    present = pl.col(column).is_not_null() & (pl.col(column).str.strip_chars() != "")
    return [
        missing_check(column),
        Check(column, present & parsed.is_null(), pl.format("not a number: {}", quoted(column))),
        Check(column, parsed.is_not_null() & parsed.is_infinite(), pl.format("not a finite number: {}", quoted(column))),
        Check(column, parsed.is_not_null() & parsed.is_nan(), pl.format("not a number: {}", quoted(column))),
        Check(column, parsed.is_not_null() & (parsed < 0), pl.format("negative value {}", pl.col(column).str.strip_chars())),
    ]


def normalised_kommune(column: str = "kommunenummer") -> pl.Expr:
    """Kommune numbers to four digits, bydel numbers (five or six digits, e.g. 30110) to six."""
    value = pl.col(column).str.strip_chars()
    return pl.when(value.str.len_bytes() > 4).then(value.str.zfill(6)).otherwise(value.str.zfill(4))


# --- cohort relations ------------------------------------------------------------------------
# Cohort measures (indicators/catalogue.yaml, section cohorts) obey relations in every cell
# (year x kommune x sex x age band): persons with an event never exceed the events
# (kohort_<c>__<s>_personer <= kohort_<c>__<s>_hendelser), and each overlap group's persons are
# the sum of the overlap combinations that contain it (overlapp_<bits>). "Persons with an event
# <= the cohort" and "the cohort <= its population" are proportions in the catalogue and are
# checked with the other numerator/denominator pairs (pipeline.check_ratios).

CELL = ["year", "kommunenummer", "sex", "age_band"]


def _cell_text(row: dict) -> str:
    return f"{row['year']}, kommune {row['kommunenummer']}, {row['sex']}, age {row['age_band']}"


def persons_events_pairs(measures: list[str]) -> list[tuple[str, str]]:
    """(persons, events) measure pairs: kohort_<c>__<s>_personer and kohort_<c>__<s>_hendelser."""
    present = set(measures)
    return [(m, m.removesuffix("_personer") + "_hendelser") for m in sorted(present)
            if m.startswith("kohort_") and m.endswith("_personer") and m.removesuffix("_personer") + "_hendelser" in present]


def overlap_sums(order: list[str]) -> dict[str, list[str]]:
    """For each overlap group (in the catalogue's order), the overlap measures whose combination contains it."""
    width = len(order)
    codes = [format(bits, f"0{width}b") for bits in range(1, 2**width)]
    return {group: [f"overlapp_{c}" for c in codes if c[i] == "1"] for i, group in enumerate(order)}


def cohort_relation_problems(cells: pl.DataFrame, order: list[str], measure_of: dict[str, str], file: str,
                             limit: int = MAX_PROBLEMS) -> tuple[list[Problem], int]:
    """Breaches of the cohort relations among the rows of one file.

    ``cells``: measure_id, year, kommunenummer, sex, age_band, count, _row (zero rows may be
    left out: a missing cell counts 0). ``order``: the overlap groups; ``measure_of``: each
    group's persons measure. A relation is checked only where both sides are in the file: for
    the overlap, the years in which the file has the group's measure and overlap measures.
    """
    problems: list[Problem] = []
    total = 0
    present = cells["measure_id"].unique().to_list()

    def side(measure: str, name: str) -> pl.DataFrame:
        return cells.filter(pl.col("measure_id") == measure).select(
            *CELL, pl.col("count").alias(name), pl.col("_row").alias(f"{name}_row"))

    for persons, events in persons_events_pairs(present):
        joined = (side(persons, "persons").join(side(events, "events"), on=CELL, how="left")
                  .with_columns(pl.col("events").fill_null(0.0))
                  .filter(pl.col("persons") > pl.col("events") + 1e-9).sort("persons_row"))
        total += joined.height
        for row in joined.head(max(0, limit - len(problems))).iter_rows(named=True):
            problems.append(Problem(file, row["persons_row"], "count",
                                    f"{persons} = {row['persons']:g} is above {events} = {row['events']:g} for "
                                    f"{_cell_text(row)} (persons with an event cannot exceed the events)"))
    overlap_present = [m for m in present if m.startswith("overlapp_")]
    if overlap_present:
        for group, combos in overlap_sums(order).items():
            cohort = measure_of.get(group)
            if cohort not in present:
                continue
            years = (cells.filter(pl.col("measure_id") == cohort).select("year").unique()
                     .join(cells.filter(pl.col("measure_id").is_in(overlap_present)).select("year").unique(), on="year"))
            parts = cells.filter(pl.col("measure_id").is_in(combos)).join(years, on="year", how="semi")
            summed = parts.group_by(CELL).agg(pl.col("count").sum().alias("combined"), pl.col("_row").min().alias("combined_row"))
            joined = (side(cohort, "cohort").join(years, on="year", how="semi")
                      .join(summed, on=CELL, how="full", coalesce=True)
                      .with_columns(pl.col("cohort").fill_null(0.0), pl.col("combined").fill_null(0.0))
                      .filter((pl.col("cohort") - pl.col("combined")).abs() > 1e-9)
                      .with_columns(pl.coalesce("cohort_row", "combined_row").alias("row"))
                      .sort("row"))
            total += joined.height
            for row in joined.head(max(0, limit - len(problems))).iter_rows(named=True):
                problems.append(Problem(
                    file, row["row"], "count",
                    f"{cohort} = {row['cohort']:g} but the overlap combinations that contain {group} "
                    f"({combos[0]} ... {combos[-1]}) sum to {row['combined']:g} for {_cell_text(row)}; "
                    "each group's persons must equal the sum of its combinations"))
    problems.sort(key=lambda p: p.row or 0)
    return problems[:limit], total
