"""From parsed files to rows in the 2024 structure: translation, cross-file and ratio checks.

Everything here runs before anything is written. Frames stay lazy where a file may be large
(register extracts); per-kommune-year tables (at most a few hundred thousand rows) are eager.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa

from data_loaders import schema, store
from data_loaders.importers.model import COUNT_KEYS, POPULATION_KEYS, Context, Parsed

TRANSLATION_SCHEMA = {"year": pl.Int32, "kommunenummer": pl.String, "target": pl.String, "share": pl.Float64}


@dataclass
class Prepared:
    """One file ready to be written: rows at the 2024 grain and the kommune-years it replaces."""

    parsed: Parsed
    table: pl.DataFrame  # year, kommunenummer, target, share, structure, changed, split
    target: pl.LazyFrame | None = None  # store columns (+ _row), 2024 numbers
    units: pl.DataFrame | None = None  # counts: measure_id, year, kommunenummer, _row; population: year, kommunenummer, _row
    uncovered: pl.DataFrame | None = None  # counts: measure_id, year, kommunenummer reported as suppressed/incomplete
    translated: list[str] = field(default_factory=list)
    allocated: list[str] = field(default_factory=list)
    raw_units: pl.DataFrame | None = None  # distinct (measure_id,) year, kommunenummer as in the file, with _row


# --------------------------------------------------------------------------- translation


def _raw_units(parsed: Parsed) -> pl.DataFrame:
    """Distinct (measure_id,) year, kommunenummer of the file with their first row: one scan."""
    keys = ["year", "kommunenummer"] if parsed.kind == "population" else ["measure_id", "year", "kommunenummer"]
    return (
        parsed.data.group_by(keys).agg(pl.col("_row").min()).collect(engine="streaming")
        .with_columns(pl.col("year").cast(pl.Int32), pl.col("_row").cast(pl.Int64))
    )


def _pairs(parsed: Parsed, raw_units: pl.DataFrame) -> pl.DataFrame:
    pairs = raw_units.group_by("year", "kommunenummer").agg(pl.col("_row").min())
    if parsed.cells is not None:
        pairs = pl.concat([pairs, parsed.cells.select("year", "kommunenummer", "_row")], how="vertical_relaxed")
        pairs = pairs.group_by("year", "kommunenummer").agg(pl.col("_row").min())
    return pairs.with_columns(pl.col("year").cast(pl.Int32), pl.col("_row").cast(pl.Int64))


def _percent(targets: list[tuple[str, float]]) -> str:
    return ", ".join(f"{t} ({s:.0%})" for t, s in targets)


def translate(parsed: Parsed, ctx: Context) -> Prepared:
    """Check every kommune number against the year and translate it to the 2024 number(s)."""
    problems, cw, file, column = ctx.problems, ctx.crosswalk, parsed.file, parsed.kommune_column
    raw_units = _raw_units(parsed)
    pairs = _pairs(parsed, raw_units)
    table, errors = cw.translate_pairs(pairs)
    rows = {(y, k): r for y, k, r in pairs.select("year", "kommunenummer", "_row").iter_rows()}
    for (year, number), message in sorted(errors.items(), key=lambda item: rows[item[0]]):
        problems.add(file, rows[(year, number)], column, message)

    table = _split_kommuner(table, parsed, cw)
    located = table.join(pairs, on=["year", "kommunenummer"], how="left")
    # A file must not mix an old number with a newer one that covers the same area in one year.
    mixed = (
        located.group_by("year", "target")
        .agg(pl.col("structure").n_unique().alias("n"), pl.col("kommunenummer"), pl.col("structure"), pl.col("_row"))
        .filter(pl.col("n") > 1)
        .sort("year", "target")
    )
    for year, target, _, numbers, structures, first_rows in mixed.iter_rows():
        by_number = sorted(set(zip(numbers, structures, first_rows)), key=lambda t: t[2])
        described = " and ".join(f"{n} (numbering {cw.period_label(s)})" for n, s, _ in by_number)
        problems.add(
            file, by_number[-1][2], column,
            f"{described} both cover kommune {target} in {year}: the file mixes kommune numberings for {year}, "
            "so the rows would be counted twice; use one numbering per year",
        )

    prepared = Prepared(parsed=parsed, table=table, raw_units=raw_units)
    split = located.filter(pl.col("split"))
    for (year, number), group in split.group_by("year", "kommunenummer", maintain_order=True):
        targets = list(zip(group["target"], group["share"]))
        first_row = int(group["_row"].min())
        text = f"{number} ({year}) -> {_percent(targets)}"
        if not ctx.options.allow_split_allocation:
            problems.add(
                file, first_row, column,
                f"kommunenummer {number} in {year} belongs to a kommune that was later split ({_percent(targets)} of the "
                "population); its figures cannot be divided exactly. Pass --allow-split-allocation "
                "(allow_split_allocation=True) to allocate them by these population shares",
            )
        else:
            prepared.allocated.append(f"{text}, allocated by population share")
    # (A split kommune's move to its "uoppgitt bydel" has a note of its own.)
    changed = located.filter(pl.col("changed") & ~pl.col("split") & ~pl.col("kommunenummer").is_in(list(cw.uoppgitt))).group_by(
        "year", "kommunenummer", "target").agg()
    for number, group in changed.group_by("kommunenummer", maintain_order=True):
        years = sorted(group["year"].to_list())
        targets = sorted(set(group["target"].to_list()))
        prepared.translated.append(f"{number[0]} -> {', '.join(targets)} ({_years(years)})")
    prepared.translated.sort()
    return prepared


def _split_kommuner(table: pl.DataFrame, parsed: Parsed, cw) -> pl.DataFrame:
    """A split kommune's own rows (0301): read past in a year where the file has its bydeler too
    (they would be counted twice), else stored as its "uoppgitt bydel" (030199). Both noted."""
    if not cw.uoppgitt or table.height == 0:
        return table
    kommune_of = pl.col("kommunenummer").replace_strict(cw.bydeler, default=None, return_dtype=pl.String)
    with_bydeler = table.filter(pl.col("kommunenummer").str.len_chars() == 6).select(
        "year", kommune_of.alias("kommunenummer")).unique()
    own = table.filter(pl.col("kommunenummer").is_in(list(cw.uoppgitt)))
    if own.height == 0:
        return table
    dropped = own.join(with_bydeler, on=["year", "kommunenummer"], how="semi").select("year", "kommunenummer").unique()
    for (number,), group in dropped.group_by("kommunenummer", maintain_order=True):
        parsed.notes.append(
            f"{number} ({_years(sorted(group['year'].to_list()))}): filen har også bydelene, så kommunens egne rader er "
            "lest forbi (de er summen av bydelene)"
        )
    kept = own.join(dropped, on=["year", "kommunenummer"], how="anti")
    for (number,), group in kept.group_by("kommunenummer", maintain_order=True):
        parsed.notes.append(
            f"{number} ({_years(sorted(group['year'].to_list()))}): kommunen er delt i bydeler, men filen sier ikke hvilken; "
            f"tallene er lagt på {cw.uoppgitt[number]} «Uoppgitt bydel»"
        )
    return table.join(dropped, on=["year", "kommunenummer"], how="anti")


def _years(years: list[int]) -> str:
    if not years:
        return ""
    if years == list(range(years[0], years[-1] + 1)) and len(years) > 1:
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(y) for y in years)


def incomplete_merges(prepared: Prepared, ctx: Context) -> pl.DataFrame:
    """(year, target) whose sources in the file are only part of what makes up the 2024 kommune."""
    cw = ctx.crosswalk
    located = prepared.table
    out = []
    for (year, target), group in located.group_by("year", "target"):
        structure = int(group["structure"][0])
        expected = cw.sources_of(target, structure)
        present = set(group["kommunenummer"].to_list())
        if missing := sorted(expected - present):
            out.append((year, target, ", ".join(sorted(present)), ", ".join(missing)))
    return pl.DataFrame(out, schema={"year": pl.Int32, "target": pl.String, "present": pl.String, "missing": pl.String}, orient="row")


# --------------------------------------------------------------------------- to the 2024 grain


def build_target(prepared: Prepared, ctx: Context, population_sources: list[Prepared]) -> None:
    """Rows in 2024 numbers (lazy), the kommune-years they cover and what they leave unreported."""
    parsed = prepared.parsed
    mapping = prepared.table.select("year", "kommunenummer", "target", "share").lazy()
    joined = parsed.data.join(mapping, on=["year", "kommunenummer"], how="inner")
    collide = (
        prepared.table.group_by("year", "target").agg(pl.len().alias("n")).filter(pl.col("n") > 1).height > 0
        or bool(prepared.table["split"].any())
    )
    if parsed.kind == "population":
        keys = POPULATION_KEYS
        value = (pl.col("population") * pl.col("share")).round(0).cast(pl.Int64).alias("population")
    else:
        keys = COUNT_KEYS
        value = (pl.col("count") * pl.col("share")).alias("count")
    extra = ["_alloc_bands"] if "_alloc_bands" in parsed.data.collect_schema().names() else []
    rows = joined.with_columns(pl.col("target").alias("kommunenummer"), value).select(*keys, value.meta.output_name(), "_row", *extra)
    if collide and not extra:
        rows = rows.group_by(keys).agg(pl.col(value.meta.output_name()).sum(), pl.col("_row").min())
    if extra:
        rows = _allocate_bands(prepared, rows.collect(), ctx, population_sources).lazy()
    prepared.target = rows

    if parsed.kind == "population":
        units = _to_target_units(prepared.raw_units, prepared.table, ["year"])
        for year, target, present, missing in incomplete_merges(prepared, ctx).iter_rows():
            row = units.filter((pl.col("year") == year) & (pl.col("kommunenummer") == target))["_row"].min()
            ctx.problems.add(
                parsed.file, row, parsed.kommune_column,
                f"population for {year} is incomplete for kommune {target}: the file has {present} but not {missing}, "
                f"which together make up {target}",
            )
        prepared.units = units
        return

    units = _to_target_units(prepared.raw_units, prepared.table, ["measure_id", "year"])
    uncovered = pl.DataFrame(schema={"measure_id": pl.String, "year": pl.Int32, "kommunenummer": pl.String})
    if parsed.cells is not None:
        cells = _to_target_units(
            parsed.cells.select("measure_id", "year", "kommunenummer", "_row", "suppressed"), prepared.table,
            ["measure_id", "year"], extra={"suppressed": pl.col("suppressed").any()},
        )
        incomplete = incomplete_merges(prepared, ctx).select("year", pl.col("target").alias("kommunenummer"))
        bad = cells.filter(pl.col("suppressed")).select("measure_id", "year", "kommunenummer")
        if incomplete.height:
            bad = pl.concat([bad, cells.join(incomplete, on=["year", "kommunenummer"], how="semi").select(bad.columns)]).unique()
        uncovered = bad
        units = pl.concat([units, cells.select(units.columns)], how="vertical_relaxed").group_by(
            "measure_id", "year", "kommunenummer"
        ).agg(pl.col("_row").min())
    prepared.units = units
    prepared.uncovered = uncovered
    total = len(ctx.crosswalk.units)
    sparse = (
        units.filter(pl.col("measure_id").is_in([m for m, mode in parsed.coverage.items() if mode == "all"]))
        .group_by("measure_id", "year").agg(pl.col("kommunenummer").n_unique().alias("n"))
        .filter(pl.col("n") < total // 2).sort("measure_id", "year")
    )
    for measure, year, n in sparse.head(5).iter_rows():
        parsed.notes.append(
            f"{measure} {year}: rows for only {n} of {total} kommuner; as a national register every other kommune is "
            "recorded as zero. For a partial extract use --coverage present"
        )
    if uncovered.height:
        prepared.target = prepared.target.join(uncovered.lazy(), on=["measure_id", "year", "kommunenummer"], how="anti")


def _to_target_units(units: pl.DataFrame, table: pl.DataFrame, by: list[str], extra: dict | None = None) -> pl.DataFrame:
    aggs = [pl.col("_row").min()] + [e.alias(k) for k, e in (extra or {}).items()]
    return (
        units.with_columns(pl.col("year").cast(pl.Int32))
        .join(table.select("year", "kommunenummer", "target"), on=["year", "kommunenummer"], how="inner")
        .with_columns(pl.col("target").alias("kommunenummer"))
        .group_by(*by, "kommunenummer")
        .agg(*aggs)
    )


def _allocate_bands(prepared: Prepared, rows: pl.DataFrame, ctx: Context, population_sources: list[Prepared]) -> pl.DataFrame:
    """Split counts that span several age bands by the population of each band (FHI ALDER ranges)."""
    single = rows.filter(pl.col("_alloc_bands").is_null()).drop("_alloc_bands")
    multi = rows.filter(pl.col("_alloc_bands").is_not_null())
    if not multi.height:
        return single.group_by(COUNT_KEYS).agg(pl.col("count").sum(), pl.col("_row").min())
    years = multi["year"].unique().to_list()
    population = _population_for(ctx, population_sources, years)
    exploded = (
        multi.drop("age_band").explode("_alloc_bands").rename({"_alloc_bands": "age_band"})
        .join(population, on=["year", "kommunenummer", "sex", "age_band"], how="left")
        .with_columns(pl.col("population").fill_null(0))
        .with_columns(pl.col("population").sum().over(["measure_id", "year", "kommunenummer", "sex", "_row"]).alias("_total"))
    )
    missing = exploded.filter(pl.col("_total") <= 0).unique(["year", "kommunenummer", "sex", "_row"]).sort("_row")
    for row in missing.iter_rows(named=True):
        ctx.problems.add(
            prepared.parsed.file, row["_row"], "ALDER",
            f"cannot allocate the count between age bands: no population for kommune {row['kommunenummer']}, "
            f"{row['year']}, {row['sex']} in this import or in the store (import the SSB population first)",
        )
    allocated = exploded.filter(pl.col("_total") > 0).with_columns(
        (pl.col("count") * pl.col("population") / pl.col("_total")).alias("count")
    ).select(single.columns)
    prepared.allocated.append(
        f"{multi.height} count(s) spanning several age bands allocated to the bands by population"
    )
    return pl.concat([single, allocated]).group_by(COUNT_KEYS).agg(pl.col("count").sum(), pl.col("_row").min())


def _population_for(ctx: Context, sources: list[Prepared], years: list[int]) -> pl.DataFrame:
    frames = [p.target.filter(pl.col("year").is_in(years)).select(*POPULATION_KEYS, "population").collect() for p in sources]
    imported = pl.concat(frames) if frames else None
    stored = _store_population(ctx, years)
    if imported is not None and imported.height:
        stored = stored.join(imported.select("year", "kommunenummer").unique(), on=["year", "kommunenummer"], how="anti")
        return pl.concat([imported.cast({"population": pl.Int64}), stored.cast({"population": pl.Int64})])
    return stored


def _store_population(ctx: Context, years: list[int]) -> pl.DataFrame:
    if not sa.inspect(ctx.engine).has_table("population"):
        return pl.DataFrame(schema={**store.POPULATION_SCHEMA})
    p = schema.population
    query = sa.select(p.c.year, p.c.kommunenummer, p.c.sex, p.c.age_band, p.c.population).where(p.c.year.in_(years))
    return store.read_frame(ctx.engine, query, store.POPULATION_SCHEMA)


# --------------------------------------------------------------------------- checks across files


def check_overlaps(prepared: list[Prepared], ctx: Context) -> None:
    """Two files of one import must not deliver the same kommune-years (of the same measure)."""
    seen: dict[str, pl.DataFrame] = {}
    for item in prepared:
        if item.units is None:
            continue
        kind = item.parsed.kind
        keys = ["year", "kommunenummer"] if kind == "population" else ["measure_id", "year", "kommunenummer"]
        units = item.units.select(*keys, "_row")
        if kind in seen:
            clash = units.join(seen[kind], on=keys, how="inner").sort("_row")
            for row in clash.head(ctx.problems.limit).iter_rows(named=True):
                what = f"{row['measure_id']} " if kind == "counts" else "population "
                ctx.problems.add(
                    item.parsed.file, row["_row"], item.parsed.kommune_column,
                    f"{what}for {row['year']}, kommune {row['kommunenummer']} is also in {row['_file']}; "
                    "each kommune-year may come from one file per import",
                )
            seen[kind] = pl.concat([seen[kind], units.with_columns(pl.lit(item.parsed.file).alias("_file"))])
        else:
            seen[kind] = units.with_columns(pl.lit(item.parsed.file).alias("_file"))


def _covered_all(ctx: Context, years: list[int]) -> pl.DataFrame:
    kommuner = sorted(ctx.crosswalk.units)
    return pl.DataFrame({"year": years}, schema={"year": pl.Int32}).join(
        pl.DataFrame({"kommunenummer": kommuner}), how="cross"
    )


def import_coverage(item: Prepared, ctx: Context) -> pl.DataFrame:
    """measure_id, year, kommunenummer (2024 numbers) the file reports as complete."""
    frames = []
    for measure, mode in item.parsed.coverage.items():
        units = item.units.filter(pl.col("measure_id") == measure)
        if mode == "all":
            cov = _covered_all(ctx, sorted(units["year"].unique().to_list())).with_columns(pl.lit(measure).alias("measure_id"))
        else:
            cov = units.select("measure_id", "year", "kommunenummer")
        frames.append(cov.select("measure_id", "year", "kommunenummer"))
    if not frames:
        return pl.DataFrame(schema={"measure_id": pl.String, "year": pl.Int32, "kommunenummer": pl.String})
    coverage = pl.concat(frames).unique()
    if item.uncovered is not None and item.uncovered.height:
        coverage = coverage.join(item.uncovered, on=["measure_id", "year", "kommunenummer"], how="anti")
    return coverage


def replaced_units(item: Prepared, ctx: Context) -> pl.DataFrame:
    """The kommune-years (per measure) whose stored rows this file replaces."""
    coverage = import_coverage(item, ctx)
    parts = [coverage]
    if item.uncovered is not None and item.uncovered.height:
        parts.append(item.uncovered.select(coverage.columns))
    parts.append(item.units.select(coverage.columns))
    return pl.concat(parts, how="vertical_relaxed").unique()


def check_ratios(prepared: list[Prepared], ctx: Context) -> None:
    """Numerator not above denominator, cell by cell, for every proportion in the catalogue.

    Both sides come from this import where it covers the kommune-year, else from the store. An
    imported numerator is checked against its denominator; an imported denominator measure is
    checked against the numerators already stored.
    """
    counts = [p for p in prepared if p.parsed.kind == "counts" and p.target is not None]
    if not counts:
        return
    imported_measures = {m for p in counts for m in p.parsed.coverage}
    pairs: dict[tuple[str, str | None], str] = {}
    for ind in ctx.catalogue.indicators:
        num, den = ind.numerator.measure, ind.denominator.measure
        if ind.type == "proportion" and (num in imported_measures or (den is not None and den in imported_measures)):
            pairs.setdefault((num, den), ind.id)
    if not pairs:
        return
    needed = {m for pair in pairs for m in pair if m}
    imported = _imported_cells(counts, needed, ctx)
    populations = [p for p in prepared if p.parsed.kind == "population" and p.target is not None]
    for (num, den), indicator_id in sorted(pairs.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if ctx.problems.full:
            return
        if num in imported:
            cells = imported[num]["cells"]
            if den is None:
                years = cells["year"].unique().to_list()
                den_cells = _population_for(ctx, populations, years).rename({"population": "other"})
                den_cov = den_cells.select("year", "kommunenummer").unique()
                label = "the population"
            else:
                den_cells, den_cov = _measure_side(den, imported.get(den), ctx)
                label = den
            joined = (
                cells.join(den_cov, on=["year", "kommunenummer"], how="semi")
                .join(den_cells.select(*CELL_KEYS, "other"), on=CELL_KEYS, how="left")
                .with_columns(pl.col("other").fill_null(0))
                .filter(pl.col("count") > pl.col("other") + 1e-9)
            )
            for row in joined.sort("_row").head(ctx.problems.limit).iter_rows(named=True):
                ctx.problems.add(
                    row["_file"], row["_row"], row["_column"],
                    f"{num} = {row['count']:g} is above {label} = {row['other']:g} for {_cell(row)} "
                    f"(indicator {indicator_id} divides them)",
                )
        if den is not None and den in imported:
            side = imported[den]
            num_cells, num_cov = _measure_side(num, imported.get(num), ctx)
            if num in imported:  # already checked in the direction above
                num_cov = num_cov.join(imported[num]["units"], on=["year", "kommunenummer"], how="anti")
            units = side["units"].join(num_cov, on=["year", "kommunenummer"], how="semi")
            joined = (
                num_cells.join(units, on=["year", "kommunenummer"], how="inner")
                .join(side["cells"].select(*CELL_KEYS, pl.col("count").alias("den"), pl.col("_row").alias("_cell_row")),
                      on=CELL_KEYS, how="left")
                .with_columns(pl.col("den").fill_null(0), pl.col("_cell_row").fill_null(pl.col("_row")))
                .filter(pl.col("other") > pl.col("den") + 1e-9)
            )
            for row in joined.sort("_cell_row").head(ctx.problems.limit).iter_rows(named=True):
                ctx.problems.add(
                    side["file"], row["_cell_row"], side["column"],
                    f"{den} = {row['den']:g} is below {num} = {row['other']:g} already in the store for {_cell(row)} "
                    f"(indicator {indicator_id} divides them)",
                )


CELL_KEYS = ["year", "kommunenummer", "sex", "age_band"]


def _cell(row: dict) -> str:
    return f"{row['year']}, kommune {row['kommunenummer']}, {row['sex']}, age {row['age_band']}"


def _imported_cells(counts: list[Prepared], needed: set[str], ctx: Context) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for item in counts:
        measures = [m for m in item.parsed.coverage if m in needed]
        if not measures:
            continue
        cells = item.target.filter(pl.col("measure_id").is_in(measures)).collect(engine="streaming")
        coverage = import_coverage(item, ctx)
        units = item.units
        for m in measures:
            out[m] = {
                "cells": cells.filter(pl.col("measure_id") == m).drop("measure_id").with_columns(
                    pl.lit(item.parsed.file).alias("_file"), pl.lit(item.parsed.value_column).alias("_column")
                ),
                "units": coverage.filter(pl.col("measure_id") == m).select("year", "kommunenummer").join(
                    units.filter(pl.col("measure_id") == m).select("year", "kommunenummer", "_row"),
                    on=["year", "kommunenummer"], how="left",
                ).with_columns(pl.col("_row").fill_null(1)),
                "file": item.parsed.file,
                "column": item.parsed.value_column,
            }
    return out


def _measure_side(measure: str, imported: dict | None, ctx: Context) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cells (year, kommunenummer, sex, age_band, other) and covered kommune-years of one measure.

    The import wins over the store for the kommune-years it covers.
    """
    key_schema = {"year": pl.Int32, "kommunenummer": pl.String}
    if sa.inspect(ctx.engine).has_table("measure_coverage"):
        c = schema.event_count
        query = sa.select(c.c.year, c.c.kommunenummer, c.c.sex, c.c.age_band, c.c["count"].label("other")).where(
            c.c.measure_id == measure)
        stored = store.read_frame(ctx.engine, query, {"year": pl.Int32, "other": pl.Float64})
        cov = store.load_coverage(ctx.engine, [measure]).drop("measure_id")
    else:
        stored = pl.DataFrame(schema={**key_schema, "sex": pl.String, "age_band": pl.String, "other": pl.Float64})
        cov = pl.DataFrame(schema=key_schema)
    if imported is None:
        return stored, cov
    units = imported["units"].select("year", "kommunenummer")
    stored = stored.join(units, on=["year", "kommunenummer"], how="anti")
    cov = cov.join(units, on=["year", "kommunenummer"], how="anti")
    cells = imported["cells"].select(*CELL_KEYS, pl.col("count").alias("other"))
    return pl.concat([stored, cells], how="vertical_relaxed"), pl.concat([cov, units], how="vertical_relaxed").unique()
