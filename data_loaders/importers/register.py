"""Register extracts (NPR, KPR, Kreftregisteret) in the project's long format.

Columns (any order, names case-insensitive, extra columns ignored)::

    year,kommunenummer,sex,age_band,measure_id,count

CSV separated by comma or semicolon (detected from the header; decimal point, no thousands
separators, UTF-8), or Parquet with the same column names. Files are scanned lazily with
Polars, so size is limited by disk, not memory.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from data_loaders.importers.errors import Problem
from data_loaders.importers.model import NATIONAL_SOURCES, Context, Parsed
from data_loaders.importers.validation import (
    Check,
    age_band_checks,
    choose_delimiter,
    clean_name,
    cohort_relation_problems,
    count_checks,
    first_line,
    kommune_checks,
    normalised_kommune,
    quoted,
    run_checks,
    sex_checks,
    sha256_of,
    year_checks,
)

COLUMNS = ["year", "kommunenummer", "sex", "age_band", "measure_id", "count"]
PARQUET_SUFFIXES = (".parquet", ".pq")


def _line_checks(path: Path, separator: str, names: list[str], file: str, limit: int) -> tuple[list[Problem], int]:
    """Rows with the wrong number of fields (truncated rows, a stray delimiter, decimal commas).

    Register values are codes and numbers, so a delimiter never appears inside a value.
    """
    n_fields = len(names)
    lines = pl.scan_csv(
        path, has_header=False, separator="\x1f", quote_char=None, skip_rows=1, infer_schema=False,
        new_columns=["line"], row_index_name="_row", row_index_offset=2, truncate_ragged_lines=True,
    ).with_columns(pl.col("line").str.strip_chars_end("\r"))
    fields = pl.col("line").str.count_matches(separator, literal=True) + 1
    other = ";" if separator == "," else ","
    first_missing = fields.clip(1, n_fields).cast(pl.Int64).replace_strict(
        {i: names[i] for i in range(n_fields)}, default=names[-1], return_dtype=pl.String
    )
    wrong = pl.col("line").str.contains(other, literal=True) & (fields == 1)
    checks = [
        Check("__wrong", (pl.col("line") != "") & wrong,
              pl.lit(f"the row is separated by {other!r}, the header by {separator!r} (wrong delimiter)")),
        Check("__short", (pl.col("line") != "") & ~wrong & (fields < n_fields),
              pl.format("missing value: the row has {} of {} fields (truncated row?)", fields, pl.lit(n_fields))),
        Check("__long", (pl.col("line") != "") & (fields > n_fields),
              pl.format("the row has {} fields, the header {}{}", fields, pl.lit(n_fields),
                        pl.lit(" (a decimal comma or a stray delimiter?)" if separator == "," else ""))),
    ]
    lf = lines.with_columns(first_missing.alias("__first_missing"))
    problems, total = run_checks(lf, checks, file, limit)
    # Name the column: the first one missing (short rows), the first one (wrong delimiter) or the last (long rows).
    rows = {p.row for p in problems if p.column == "__short"}
    missing_names = {}
    if rows:
        missing_names = dict(
            lf.filter(pl.col("_row").is_in(list(rows))).select("_row", "__first_missing").collect().iter_rows()
        )
    fixed = []
    for p in problems:
        column = {"__wrong": names[0], "__long": names[-1]}.get(p.column) or missing_names.get(p.row, names[-1])
        fixed.append(Problem(p.file, p.row, column, p.message))
    return fixed, total


KEY_COLUMNS = ["year", "kommunenummer", "sex", "age_band", "measure_id"]


def encoded_key(measures: list[str]) -> pl.Expr:
    """The row's key (measure, year, kommune, sex, band) packed into one Int64.

    Enum casts keep this streaming with little memory (replace_strict on strings does not).
    """
    from data_loaders.schema import AGE_BAND_LABELS, SEXES

    def code(column: str, values) -> pl.Expr:
        return pl.col(column).cast(pl.Enum(list(values))).to_physical().cast(pl.Int64)

    year = (pl.col("year").cast(pl.Int64) - 1900).clip(0, 255)
    kommune = pl.col("kommunenummer").cast(pl.Int64)
    return (((code("measure_id", measures) * 256 + year) * 1_000_000 + kommune) * 2 + code("sex", SEXES)) * 32 + code(
        "age_band", AGE_BAND_LABELS
    )


def find_duplicates(data: pl.LazyFrame, measures: list[str], file: str, limit: int) -> tuple[list[Problem], int, dict[str, int]]:
    """Rows with the same key as an earlier row, found by sorting one Int64 per row (8 bytes a row).

    Also returns the number of rows per measure (read off the same keys).
    """
    keys = data.select(encoded_key(measures).alias("key")).collect(engine="streaming")["key"].sort()
    measure_index = (keys // (256 * 1_000_000 * 2 * 32)).value_counts()
    per_measure = {measures[int(i)]: int(n) for i, n in measure_index.iter_rows()}
    repeated = keys.filter(keys == keys.shift(1)).unique()
    if repeated.len() == 0:
        return [], 0, per_measure
    rows = (
        data.with_columns(encoded_key(measures).alias("key"))
        .filter(pl.col("key").is_in(repeated.implode()))
        .select("key", "_row", *KEY_COLUMNS)
        .collect(engine="streaming")
        .sort("_row")
    )
    first: dict[int, int] = {}
    problems: list[Problem] = []
    total = 0
    for row in rows.iter_rows(named=True):
        if row["key"] not in first:
            first[row["key"]] = row["_row"]
            continue
        total += 1
        if len(problems) < limit:
            problems.append(Problem(
                file, row["_row"], "measure_id, year, kommunenummer, sex, age_band",
                f"duplicate row: {row['measure_id']} {row['year']} {row['kommunenummer']} {row['sex']} {row['age_band']} "
                f"is also on row {first[row['key']]}",
            ))
    return problems, total, per_measure


def _cohort_relations(data: pl.LazyFrame, per_measure: dict[str, int], ctx: Context, file: str) -> tuple[list[Problem], int]:
    """The cohort relations among this file's rows (validation.cohort_relation_problems)."""
    related = [m for m in per_measure if m.startswith(("kohort_", "overlapp_"))]
    if not related:
        return [], 0
    cohorts = [c for c in ctx.catalogue.cohorts if c.overlap_group]
    cells = data.filter(pl.col("measure_id").is_in(related)).collect(engine="streaming")
    return cohort_relation_problems(cells, [c.id for c in cohorts], {c.id: c.measure for c in cohorts}, file,
                                    ctx.problems.limit)


def read_register(path: Path, ctx: Context) -> Parsed:
    file = path.name
    measures = ctx.catalogue.measures
    problems = ctx.problems
    parsed = Parsed(
        path=path, file=file, format="register", kind="counts", sha256=sha256_of(path),
        dataset_id="", source="", description="", extraction_date="",
    )
    parsed.dataset_id = f"register-{parsed.sha256[:12]}"
    parsed.extraction_date = ctx.options.extraction_date or date.fromtimestamp(path.stat().st_mtime).isoformat()

    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            lf = pl.scan_parquet(path, row_index_name="_row", row_index_offset=1)
            schema = lf.collect_schema()
        except Exception as exc:  # polars raises several types for unreadable files
            problems.add(file, None, None, f"cannot read as Parquet: {exc}")
            parsed.ok = False
            return parsed
        names = {clean_name(n): n for n in schema.names() if n != "_row"}
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            problems.add(file, 1, None, f"missing column(s) {', '.join(missing)} (found: {', '.join(names) or 'none'})")
            parsed.ok = False
            return parsed
        lf = lf.select("_row", *[pl.col(names[c]).cast(pl.String).alias(c) for c in COLUMNS])
    else:
        header, _ends_with_newline = first_line(path)
        separator, error = choose_delimiter(header, COLUMNS, (",", ";"))
        if error:
            problems.add(file, 1, None, error)
            parsed.ok = False
            return parsed
        header_names = [clean_name(c) for c in header.split(separator)]
        line_problems, line_total = _line_checks(path, separator, header_names, file, problems.limit)
        if line_total:
            problems.extend(line_problems, line_total)
        lf = pl.scan_csv(
            path, separator=separator, has_header=False, skip_rows=1, infer_schema=False,
            new_columns=[f"__c{i}" for i in range(len(header_names))], row_index_name="_row", row_index_offset=2,
            truncate_ragged_lines=True, missing_columns="insert",
        ).select("_row", *[pl.col(f"__c{header_names.index(c)}").alias(c) for c in COLUMNS])
        if line_total:
            parsed.ok = False
            return parsed

    lf = lf.with_columns(pl.col(c).str.strip_chars() for c in COLUMNS)
    checks = (
        year_checks()
        + kommune_checks()
        + sex_checks()
        + age_band_checks()
        + [
            Check("measure_id", pl.col("measure_id").is_null() | (pl.col("measure_id").str.strip_chars() == ""), pl.lit("missing value")),
            Check(
                "measure_id",
                pl.col("measure_id").is_not_null() & (pl.col("measure_id").str.strip_chars() != "")
                & ~pl.col("measure_id").str.strip_chars().is_in(list(measures)),
                pl.format("unknown measure_id {} (not in indicators/catalogue.yaml)", quoted("measure_id")),
            ),
        ]
        + count_checks()
    )
    first_years = {m.id: m.first_year for m in measures.values() if m.first_year}
    if first_years:
        year = pl.col("year").str.strip_chars().cast(pl.Int32, strict=False)
        measure = pl.col("measure_id").str.strip_chars()
        for measure_id, first in first_years.items():
            checks.append(Check(
                "year", (measure == measure_id) & year.is_not_null() & (year < first),
                pl.format("{} has no data before {} (first_year in the catalogue)", measure, pl.lit(first)),
            ))
    row_problems, total = run_checks(lf, checks, file, problems.limit)
    if total:
        problems.extend(row_problems, total)
        parsed.ok = False
        return parsed

    data = lf.select(
        pl.col("measure_id"),
        pl.col("year").cast(pl.Int32),
        normalised_kommune(),
        pl.col("sex").str.to_lowercase(),
        pl.col("age_band"),
        pl.col("count").cast(pl.Float64),
        pl.col("_row").cast(pl.Int64),
    )
    dup_problems, dup_total, per_measure = find_duplicates(data, list(measures), file, problems.limit)
    if dup_total:
        problems.extend(dup_problems, dup_total)
        parsed.ok = False
        return parsed
    relation_problems, relation_total = _cohort_relations(data, per_measure, ctx, file)
    if relation_total:
        problems.extend(relation_problems, relation_total)
        parsed.ok = False
        return parsed
    parsed.data = data
    parsed.rows_read = sum(per_measure.values())
    present = sorted(per_measure)
    sources = sorted({measures[m].source for m in present})
    parsed.source = ctx.options.source or (", ".join(sources) if sources else "Registeruttrekk")
    parsed.description = (
        f"Registeruttrekk i langt format ({path.name}): {parsed.rows_read:,} rader, mål: {', '.join(sorted(present))}."
    )
    mode = ctx.options.coverage
    parsed.coverage = {
        m: (mode if mode != "auto" else ("all" if measures[m].source in NATIONAL_SOURCES else "present")) for m in present
    }
    return parsed
