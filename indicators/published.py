"""Published indicators: values a publisher computed and suppressed, shown beside the computed ones.

SKDE's Helseatlas and FHI's Kommunehelsa/Norgeshelsa publish rates with their intervals and
counts, already suppressed at the source. The importers write them to the store
(``published_indicator``, ``published_value``); here they become catalogue entries
(``Indicator.kind == "published"``) and engine tables of the same shape as computed ones. They
never pass through the engine's statistics: value, interval and counts are the publisher's. A
value the publisher masked is hidden, and so is one whose count is below the suppression
threshold (the engine's own rule), so the public never sees either.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa

from data_loaders import schema, store
from data_loaders.config import settings
from indicators import data
from indicators.catalogue import Catalogue, Indicator, Standardisation, Term

KIND = "published"
PUBLISHER_SOURCES = {"SKDE": "SKDE, Helseatlas", "FHI": "Folkehelseinstituttet (FHI)"}
PUBLISHED_METHOD = "Publisert verdi"


def published_label(publisher: str) -> str:
    """The label every published number carries, e.g. "Publisert av SKDE"."""
    return f"Publisert av {publisher}"


# --- reading the store ---------------------------------------------------------------------


def _has_tables(engine) -> bool:
    return sa.inspect(engine).has_table("published_value")


@lru_cache(maxsize=8)
def metadata_frame(key: data.DataKey) -> pl.DataFrame:
    """Every published indicator's metadata row (empty when none are imported)."""
    engine = store.get_engine(key.database_url)
    columns = [c.name for c in schema.published_indicator.columns]
    if not _has_tables(engine):
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    t = schema.published_indicator
    return store.read_frame(engine, sa.select(t).order_by(t.c.indicator_id))


@lru_cache(maxsize=8)
def values_frame(key: data.DataKey) -> pl.DataFrame:
    """Every published value (indicator_id, level, area_id, year_start, year_end, value, lower, upper, ...)."""
    engine = store.get_engine(key.database_url)
    types = {"year_start": pl.Int32, "year_end": pl.Int32, "value": pl.Float64, "lower": pl.Float64,
             "upper": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64, "publisher_flag": pl.Int64}
    if not _has_tables(engine):
        return pl.DataFrame(schema={"indicator_id": pl.String, "level": pl.String, "area_id": pl.String, **types,
                                    "dataset_id": pl.String})
    t = schema.published_value
    return store.read_frame(engine, sa.select(t), types)


def _indicator(row: dict, threshold: int) -> Indicator:
    unit_text = row["unit"] or ""
    unit = _unit_code(unit_text)
    return Indicator(
        id=row["indicator_id"],
        name=row["name"],
        short_name=row["short_name"] or row["name"],
        description=row["description"] or row["name"],
        group=row["group_id"],
        type="proportion" if unit == "percent" else "rate",
        numerator=Term(label="Teller som publisert"),
        denominator=Term(label="Nevner som publisert", population=True),
        unit=unit,
        direction=row["direction"] or "neutral",
        standardisation=Standardisation(method="published"),
        source=row["source"],
        suppression_threshold=threshold,
        kind=KIND,
        publisher=row["publisher"],
        unit_text=unit_text,
        level=row["level"],
        interval_label=row["interval_label"] or "",
        flags_note=row["flags_note"] or "",
        definition=row["definition"] or "",
    )


def _unit_code(unit_text: str) -> str:
    digits = "".join(ch for ch in unit_text if ch.isdigit())
    if "prosent" in unit_text.lower() or "%" in unit_text:
        return "percent"
    return {"1000": "per_1000", "10000": "per_10000", "100000": "per_100000"}.get(digits, "")


@lru_cache(maxsize=8)
def _indicators(key: data.DataKey, threshold: int) -> tuple[Indicator, ...]:
    return tuple(_indicator(row, threshold) for row in metadata_frame(key).iter_rows(named=True))


def indicators_in_store(key: data.DataKey) -> tuple[Indicator, ...]:
    """The published indicators of one store state."""
    return _indicators(key, settings().suppression_threshold)


# --- the catalogue with the published indicators ---------------------------------------------

_merged: dict[tuple, Catalogue] = {}
_merged_lock = threading.Lock()


_recent_keys: dict[str, tuple[float, data.DataKey | None]] = {}
KEY_REUSE_SECONDS = 1.0  # the catalogue is read many times per page: one store query per second is enough
UNREACHABLE_RETRY_SECONDS = 10.0  # an unreachable store is not asked again at once (no stalls in degraded mode)


def _store_key() -> data.DataKey | None:
    """The current store's key, or None when there is no store to read (not built, unreachable)."""
    url = settings().database_url
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:" and not Path(path).is_file():
            return None  # never create an empty file just by reading the catalogue
    now = time.monotonic()
    recent = _recent_keys.get(url)
    if recent is not None:
        age = now - recent[0]
        if (recent[1] is not None and age < KEY_REUSE_SECONDS) or (recent[1] is None and age < UNREACHABLE_RETRY_SECONDS):
            return recent[1]
    try:
        key = data.current_key(url)
    except (store.StoreNotReadyError, store.StoreUnavailableError):
        key = None
    _recent_keys[url] = (now, key)
    return key


def with_published(base: Catalogue, key: data.DataKey | None = None) -> Catalogue:
    """``base`` with the store's published indicators after its own (base itself when there are none)."""
    key = key or _store_key()
    if key is None:
        return base
    published = tuple(i for i in indicators_in_store(key) if i.id not in {b.id for b in base.indicators})
    if not published:
        return base
    cache_key = (id(base), base.indicators, key)
    with _merged_lock:
        if cache_key not in _merged:
            if len(_merged) > 16:
                _merged.clear()
            _merged[cache_key] = replace(base, indicators=base.indicators + published)
        return _merged[cache_key]


def computed_only(indicators: tuple[Indicator, ...]) -> tuple[Indicator, ...]:
    return tuple(i for i in indicators if not i.is_published)


# --- engine tables ---------------------------------------------------------------------------


def periods(key: data.DataKey, indicator_id: str) -> list[tuple[int, int]]:
    """Every (year_start, year_end) with values for the indicator, sorted."""
    rows = values_frame(key).filter(pl.col("indicator_id") == indicator_id).select("year_start", "year_end").unique()
    return sorted((int(a), int(b)) for a, b in rows.iter_rows())


def levels(key: data.DataKey, indicator_id: str) -> list[str]:
    return sorted(values_frame(key).filter(pl.col("indicator_id") == indicator_id)["level"].unique().to_list())


def table(key: data.DataKey, ind: Indicator, level: str, wanted: list[tuple[int, int]] | None) -> pl.DataFrame:
    """The engine's public table (``engine.OUTPUT_COLUMNS``) of a published indicator at one level.

    ``wanted``: the (year_start, year_end) periods to return (None: every single year).
    """
    from indicators import engine
    from indicators.methods import significance_vs_benchmark

    rows = values_frame(key).filter(pl.col("indicator_id") == ind.id)
    if wanted is None:
        rows = rows.filter(pl.col("year_start") == pl.col("year_end"))
    else:
        chosen = pl.DataFrame({"year_start": [a for a, _ in wanted], "year_end": [b for _, b in wanted]},
                              schema={"year_start": pl.Int32, "year_end": pl.Int32})
        rows = rows.join(chosen, on=["year_start", "year_end"], how="semi")
    national = (rows.filter(pl.col("level") == "land")
                .select("year_start", "year_end", pl.col("value").alias("national_value"),
                        pl.col("publisher_flag").alias("_national_flag")))
    rows = rows.filter(pl.col("level") == level)
    names = data.level_names(key, level).select("area_id", "area_name", "sort_order")
    rows = rows.join(names, on="area_id", how="left").join(national, on=["year_start", "year_end"], how="left")
    threshold = ind.suppression_threshold
    hidden_by_publisher = pl.col("publisher_flag") != 0
    small = pl.col("numerator").is_not_null() & (pl.col("numerator") < threshold)
    flag = (pl.when(hidden_by_publisher | small).then(pl.lit(engine.SUPPRESSED))
            .when(pl.col("value").is_null()).then(pl.lit(engine.NOT_REPORTED))
            .otherwise(pl.lit(engine.OK)))
    rows = rows.with_columns(flag.alias("flag"))
    hidden = pl.col("flag") != engine.OK
    # A masked national value cannot be a benchmark either.
    national_value = pl.when(pl.col("_national_flag").fill_null(0) != 0).then(None).otherwise(pl.col("national_value"))
    out = rows.with_columns(
        pl.lit(ind.id).alias("indicator_id"),
        pl.lit(level).alias("level"),
        pl.coalesce(pl.col("area_name"), pl.col("area_id")).alias("area_name"),
        pl.when(pl.col("year_start") == pl.col("year_end")).then(pl.col("year_start").cast(pl.String))
        .otherwise(pl.concat_str(pl.col("year_start").cast(pl.String), pl.lit("-"), pl.col("year_end").cast(pl.String)))
        .alias("period"),
        *[pl.when(hidden).then(None).otherwise(pl.col(src)).alias(dst) for src, dst in
          (("numerator", "numerator"), ("denominator", "denominator"), ("value", "value"),
           ("lower", "lower_95"), ("upper", "upper_95"), ("value", "crude_value"))],
        pl.lit(None, dtype=pl.Float64).alias("lower_99_8"),
        pl.lit(None, dtype=pl.Float64).alias("upper_99_8"),
        pl.lit(None, dtype=pl.Float64).alias("crude_lower_95"),
        pl.lit(None, dtype=pl.Float64).alias("crude_upper_95"),
        pl.lit(None, dtype=pl.Float64).alias("expected"),
        pl.lit(False).alias("standardised"),
        pl.lit(f"{PUBLISHED_METHOD} ({published_label(ind.publisher)})").alias("method"),
        pl.lit(ind.unit_label).alias("unit"),
        national_value.alias("national_value"),
        pl.col("flag").replace_strict(engine.FLAG_LABELS, return_dtype=pl.String).alias("flag_label"),
        pl.col("flag").replace_strict(engine.SPVFLAGG, return_dtype=pl.Int8).alias("spvflagg"),
        pl.lit(None, dtype=pl.Int64).alias("reporting_kommuner"),
        pl.lit(None, dtype=pl.Int64).alias("total_kommuner"),
    )
    # The publisher's interval against the publisher's national value (a comparison, no statistics of ours).
    out = significance_vs_benchmark(out, benchmark="national_value", lower="lower_95", upper="upper_95",
                                    direction=ind.direction)
    if "assessment" not in out.columns:
        out = out.with_columns(pl.col("significance").alias("assessment"))
    return out.sort("year_start", "year_end", "sort_order", nulls_last=True).select(engine.OUTPUT_COLUMNS)


def clear_caches() -> None:
    for fn in (metadata_frame, values_frame, _indicators):
        fn.cache_clear()
    with _merged_lock:
        _merged.clear()
    _recent_keys.clear()


# --- where each dataset came from (Om dataene, the banner) -------------------------------------

_PUBLISHERS = (("SKDE", "SKDE"), ("FHI", "FHI"), ("Folkehelse", "FHI"), ("SSB", "SSB"), ("Statistisk", "SSB"),
               ("NPR", "NPR"), ("KPR", "KPR"), ("Kreftregister", "Kreftregisteret"), ("Helsedirektorat", "Helsedirektoratet"))


def publisher_of(source: str, synthetic: bool) -> str:
    if synthetic:
        return "Ingen (syntetiske demodata)"
    for needle, name in _PUBLISHERS:
        if needle.lower() in (source or "").lower():
            return name
    return "Annen kilde"


def arrival_of(source: str, description: str, synthetic: bool) -> str:
    """How a dataset came in: generated (demo), fetched from an API, or imported from a file."""
    if synthetic:
        return "Generert (demodata)"
    words = f"{source} {description}".lower()
    if "hentet med" in words or "hentet fra" in words or "api" in words.split():
        return "Hentet fra API"
    return "Importert fra fil"


def dataset_origins(key: data.DataKey) -> pl.DataFrame:
    """One row per dataset: real or synthetic, publisher, vintage (years, extraction date) and how it came in."""
    datasets = data.datasets(key)
    values = values_frame(key)
    years = {ds: (int(part["year_start"].min()), int(part["year_end"].max()))
             for (ds,), part in values.partition_by("dataset_id", as_dict=True).items()} if values.height else {}
    rows = []
    for ds in datasets.iter_rows(named=True):
        span = years.get(ds["dataset_id"])
        vintage = f"{span[0]}–{span[1]}" if span and span[0] != span[1] else (str(span[0]) if span else "")
        extracted = str(ds["extraction_date"] or "")
        rows.append({
            "dataset_id": ds["dataset_id"],
            "kind": "Syntetisk" if ds["synthetic"] else "Ekte",
            "publisher": publisher_of(ds["source"], ds["synthetic"]),
            "source": ds["source"],
            "vintage": ", ".join(p for p in (f"år {vintage}" if vintage else "", f"uttrekk {extracted}" if extracted else "") if p),
            "arrival": arrival_of(ds["source"], ds["description"] or "", ds["synthetic"]),
            "published": ds["dataset_id"] in years,
            "row_count": ds["row_count"],
        })
    return pl.DataFrame(rows, schema={"dataset_id": pl.String, "kind": pl.String, "publisher": pl.String,
                                      "source": pl.String, "vintage": pl.String, "arrival": pl.String,
                                      "published": pl.Boolean, "row_count": pl.Int64})


def real_published_sources(key: data.DataKey) -> list[str]:
    """The publishers of the real published values in the store (e.g. ["SKDE", "FHI"])."""
    frame = metadata_frame(key)
    return sorted(set(frame["publisher"].to_list())) if frame.height else []


# --- the helsefellesskap profile -----------------------------------------------------------------


def profile_row(key: data.DataKey, ind: Indicator, helsefellesskap_id: str, year: int | None, base: dict) -> dict:
    """A published indicator's row of a helsefellesskap's profile (``analysis.profile``).

    A helsefellesskap outside Oslo covers exactly its helseforetak area, so an indicator published
    per opptaksområde shows that area's value; elsewhere (Oslo's four sectors, kommune or fylke
    values that cannot be summed) the row says it is not reported for the helsefellesskap.
    No trend test is run on the publisher's values ("too_few_points" stands for "not assessed").
    """
    from indicators.analysis import rank_of, rank_rule

    not_reported = base | {"flag": "not_reported", "flag_label": f"{ind.published_by}: ikke publisert for "
                                                                  "helsefellesskapet"}
    if ind.level != "helseforetak":
        return not_reported
    hf = data.helsefellesskap(key)
    match = hf.filter(pl.col("helsefellesskap_id") == helsefellesskap_id)
    if match.height == 0:
        raise KeyError(f"unknown helsefellesskap {helsefellesskap_id!r}")
    area = match["helseforetak_id"][0]
    years = [a for a, b in periods(key, ind.id) if a == b and (year is None or a <= year)]
    if area is None or not years:
        return not_reported
    table = table_for(key, ind, years[-1])
    own = table.filter(pl.col("area_id") == area)
    if own.height == 0:
        return not_reported
    record = own.row(0, named=True)
    values = table.filter(pl.col("flag") == "ok")["value"].drop_nulls().to_numpy()
    rank = rank_of(values, record["value"], ind.direction) if record["flag"] == "ok" and record["value"] is not None else None
    quantiles = [float(q) for q in np.quantile(values, [0, 0.25, 0.5, 0.75, 1])] if values.size else [None] * 5
    return base | {k: record[k] for k in (
        "period", "numerator", "denominator", "value", "lower_95", "upper_95", "lower_99_8", "upper_99_8",
        "national_value", "significance", "assessment", "flag", "flag_label")} | {
        "trend": "too_few_points", "rank": rank, "n_ranked": int(values.size), "rank_rule": rank_rule(ind.direction),
        "hf_min": quantiles[0], "hf_q25": quantiles[1], "hf_median": quantiles[2], "hf_q75": quantiles[3],
        "hf_max": quantiles[4], "reporting_kommuner": None, "total_kommuner": None,
    }


def table_for(key: data.DataKey, ind: Indicator, year: int) -> pl.DataFrame:
    return table(key, ind, ind.level, [(year, year)])
