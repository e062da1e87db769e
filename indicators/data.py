"""Cached access to the store for the indicator engine.

Raw counts never leave the ``indicators`` package unsuppressed: pages, exports and the CLI
call the engine (``indicators.engine``), which masks small counts before returning.
Frames here are cached per store and data version, so an import invalidates them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import polars as pl
import sqlalchemy as sa

from data_loaders import schema, store
from data_loaders.config import settings
from data_loaders.reference import LEVELS, NATIONAL_ID, NATIONAL_NAME, RHF_ORDER


@dataclass(frozen=True)
class DataKey:
    """Identifies one state of one store; cached frames are keyed by it."""

    database_url: str
    version: str
    # The version of the counts alone: imports of published values (which the engine never
    # computes) leave it as it was, so they do not make the computed catalogue cold.
    counts_version: str = ""


def current_key(database_url: str | None = None) -> DataKey:
    """The store's URL and a version string that changes with every import."""
    url = database_url or settings().database_url
    engine = store.get_engine(url)
    d = schema.dataset
    where = engine.url.render_as_string(hide_password=True)
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise store.StoreUnavailableError(f"The store at {where} cannot be reached: {exc.orig}") from exc
    try:
        row = conn.execute(
            sa.select(sa.func.count(), sa.func.max(d.c.imported_at), sa.func.sum(d.c.row_count))
        ).one()
        version = f"{row[0]}|{row[1]}|{row[2]}"
        counts_version = _counts_version(conn, version)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        if exc.connection_invalidated:  # a pooled connection to a server that went away
            raise store.StoreUnavailableError(f"The store at {where} cannot be reached: {exc.orig}") from exc
        raise store.StoreNotReadyError(
            f"The store at {where} is not built. "
            "Run `python -m data_loaders demo` (or `make run`, which does it for you)."
        ) from exc
    finally:
        conn.close()
    return DataKey(url, version, counts_version)


def _counts_version(conn, version: str) -> str:
    d = schema.dataset
    published_sets = sa.select(schema.published_indicator.c.dataset_id)
    try:
        row = conn.execute(
            sa.select(sa.func.count(), sa.func.max(d.c.imported_at), sa.func.sum(d.c.row_count))
            .where(d.c.dataset_id.not_in(published_sets))
        ).one()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # a store from before published values
        return version
    return f"{row[0]}|{row[1]}|{row[2]}"


def _engine(key: DataKey):
    return store.get_engine(key.database_url)


@lru_cache(maxsize=4)
def areas(key: DataKey) -> pl.DataFrame:
    """One row per kommune (a kommune split into bydeler once), with every level it belongs to as a whole."""
    return store.load_areas(_engine(key))


@lru_cache(maxsize=4)
def units(key: DataKey) -> pl.DataFrame:
    """One row per area unit, sorted by unit code: an unsplit kommune, or a bydel of a split one (Oslo).

    Columns: unit (the code in the store's rows), unit_name, kommunenummer, kommunenavn, bydel
    (null for a kommune), fylkesnummer, helsefellesskap_id, helseforetak_id, rhf, sentralitet
    ("1".."6"), kostragruppe, and the kommune's other columns of ``areas``.
    """
    return store.load_units(_engine(key))


@lru_cache(maxsize=4)
def helsefellesskap(key: DataKey) -> pl.DataFrame:
    return store.load_helsefellesskap(_engine(key))


def helsefellesskap_record(key: DataKey, helsefellesskap_id: str) -> dict:
    """One helsefellesskap's row; KeyError naming the known ids when there is no such helsefellesskap."""
    hf = helsefellesskap(key)
    row = hf.filter(pl.col("helsefellesskap_id") == helsefellesskap_id)
    if row.height == 0:
        known = ", ".join(hf["helsefellesskap_id"].to_list())
        raise KeyError(f"unknown helsefellesskap {helsefellesskap_id!r}; choose one of {known}")
    return row.row(0, named=True)


@lru_cache(maxsize=4)
def helseforetak(key: DataKey) -> pl.DataFrame:
    """SKDE's helseforetak areas (helseforetak_id, helseforetak_navn, helseforetak, rhf, sort_order)."""
    return store.load_helseforetak(_engine(key))


@lru_cache(maxsize=4)
def groups(key: DataKey) -> pl.DataFrame:
    """Names of the sentralitet classes and KOSTRA groups."""
    return store.load_groups(_engine(key))


@lru_cache(maxsize=32)
def level_names(key: DataKey, level: str) -> pl.DataFrame:
    """area_id, area_name, short_name and sort_order (0, 1, ...) of every area of a level, in display order."""
    if level == "bydel":
        bydeler = units(key).filter(pl.col("bydel").is_not_null())
        names = bydeler.select(pl.col("bydel").alias("area_id"), pl.col("unit_name").alias("area_name"),
                               pl.col("unit_name").alias("short_name"))
    elif level == "kommune":
        names = areas(key).select(pl.col("kommunenummer").alias("area_id"), pl.col("kommunenavn").alias("area_name"),
                                  pl.col("kommunenavn").alias("short_name"))
    elif level == "helsefellesskap":
        names = helsefellesskap(key).select(pl.col("helsefellesskap_id").alias("area_id"),
                                            pl.col("helsefellesskap_navn").alias("area_name"),
                                            pl.col("kortnavn").alias("short_name"))
    elif level == "helseforetak":
        names = helseforetak(key).select(pl.col("helseforetak_id").alias("area_id"),
                                         pl.col("helseforetak_navn").alias("area_name"),
                                         pl.col("helseforetak_navn").alias("short_name"))
    elif level == "rhf":
        names = pl.DataFrame({"area_id": list(RHF_ORDER), "area_name": list(RHF_ORDER),
                              "short_name": [r.removesuffix(" RHF") for r in RHF_ORDER]})
    elif level == "fylke":
        names = (areas(key).select(pl.col("fylkesnummer").alias("area_id"), pl.col("fylkesnavn").alias("area_name"))
                 .unique().sort("area_id").with_columns(pl.col("area_name").alias("short_name")))
    elif level in ("sentralitet", "kostragruppe"):
        names = groups(key).filter(pl.col("level") == level).sort("sort_order").select("area_id", "area_name", "short_name")
    elif level == "land":
        names = pl.DataFrame({"area_id": [NATIONAL_ID], "area_name": [NATIONAL_NAME], "short_name": [NATIONAL_NAME]})
    else:
        raise ValueError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    return names.with_row_index("sort_order")


@lru_cache(maxsize=2)
def population(key: DataKey) -> pl.DataFrame:
    return store.load_population(_engine(key))


@lru_cache(maxsize=2)
def counts(key: DataKey) -> pl.DataFrame:
    """Every measure's counts (measure_id, year, kommunenummer, sex, age_band, count)."""
    engine = _engine(key)
    return store.load_counts(engine, store.load_measure_ids(engine))


@lru_cache(maxsize=2)
def coverage(key: DataKey) -> pl.DataFrame:
    """Which unit-years each measure covers (measure_id, year, kommunenummer = unit code)."""
    return store.load_coverage(_engine(key))


def prefetch(key: DataKey) -> None:
    """Read the counts, the population and the coverage side by side (each stays cached)."""
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda read: read(key), (counts, population, coverage)))


@lru_cache(maxsize=4)
def measure_years(key: DataKey) -> dict[str, frozenset[int]]:
    """The years in which each measure covers at least one kommune."""
    pairs = coverage(key).select("measure_id", "year").unique()
    years_by_measure: dict[str, set[int]] = {}
    for measure_id, year in pairs.iter_rows():
        years_by_measure.setdefault(measure_id, set()).add(year)
    return {m: frozenset(y) for m, y in years_by_measure.items()}


@lru_cache(maxsize=4)
def years(key: DataKey) -> tuple[int, ...]:
    return tuple(store.available_years(_engine(key)))


@lru_cache(maxsize=4)
def datasets(key: DataKey) -> pl.DataFrame:
    return store.load_datasets(_engine(key))


@lru_cache(maxsize=4)
def is_synthetic(key: DataKey) -> bool:
    return store.is_synthetic(_engine(key))


@lru_cache(maxsize=16)
def standard_population(key: DataKey, year: int) -> tuple[pl.DataFrame, int]:
    """National population by age band and sex in ``year`` (or the nearest year loaded)."""
    loaded = years(key)
    if not loaded:
        raise store.StoreNotReadyError("no population loaded")
    used = min(loaded, key=lambda y: (abs(y - year), -y))
    frame = (
        population(key)
        .filter(pl.col("year") == used)
        .group_by("sex", "age_band")
        .agg(pl.col("population").sum().cast(pl.Float64).alias("weight"))
        .sort("sex", "age_band")
    )
    return frame, used


def clear_caches() -> None:
    for fn in (areas, units, helsefellesskap, helseforetak, groups, level_names, population, counts, coverage, measure_years, years, datasets, is_synthetic, standard_population):
        fn.cache_clear()
