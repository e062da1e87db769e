"""Cached access to the indicator engine for the pages.

Every function takes the store's ``DataKey`` as its first argument so that ``st.cache_data``
keys its entries by the data version: an import invalidates them. Geometry is shared across
sessions with ``st.cache_resource``. Nothing here computes a statistic.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import polars as pl
import sqlalchemy as sa
import streamlit as st

import indicators
from data_loaders import store
from data_loaders.store import StoreUnavailableError
from indicators import data as store_data
from indicators.engine import Period, warm

CACHE_TTL = None  # entries live until the data version changes (the key changes)

# Errors that mean "the database cannot be reached right now" when they escape a read.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (
    StoreUnavailableError, sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
)


@dataclass(frozen=True)
class KeyState:
    """The key this run reads with. ``degraded``: the store could not be reached, so ``key`` is the
    last key that worked in this process (fetched at ``fetched_at``), or None if there is none."""

    key: indicators.DataKey | None
    fetched_at: datetime | None
    degraded: bool = False
    error: Exception | None = None


_RUN_KEY = "_styring_data_key"
_last_good: tuple[indicators.DataKey, datetime] | None = None  # per process
_last_good_guard = threading.Lock()


def resolve_data_key() -> KeyState:
    """Ask the store for its key (once per run, from ``dashboard.py``).

    When the store cannot be reached, fall back to the last key that worked in this process: the
    ``st.cache_data`` and engine caches are keyed by it, so everything already computed is still
    served. Raises ``StoreNotReadyError`` when the store is reachable but not built.
    """
    global _last_good
    st.session_state.pop(_RUN_KEY, None)
    try:
        key = indicators.current_key()
    except StoreUnavailableError as error:
        failure: Exception = error
    else:
        now = datetime.now()
        with _last_good_guard:
            _last_good = (key, now)
        st.session_state[_RUN_KEY] = key
        return KeyState(key, now)
    with _last_good_guard:
        last = _last_good
    if last is None:
        return KeyState(None, None, degraded=True, error=failure)
    st.session_state[_RUN_KEY] = last[0]
    return KeyState(last[0], last[1], degraded=True, error=failure)


def data_key() -> indicators.DataKey:
    """The key this run reads with (resolved by ``dashboard.py`` before the page runs)."""
    key = st.session_state.get(_RUN_KEY)
    if key is not None:
        return key
    resolved = resolve_data_key()
    if resolved.key is None:
        raise resolved.error
    return resolved.key


@st.cache_data(show_spinner=False, max_entries=8)
def has_data(key: indicators.DataKey) -> bool:
    """True when the store holds population or counts (a store after ``init`` has tables but none)."""
    return store.has_data(store.get_engine(key.database_url))


def catalogue() -> indicators.Catalogue:
    return indicators.load_catalogue()  # cached by the engine (lru_cache)


def _period(period: tuple[int, int] | None) -> Period | None:
    return Period(*period) if period is not None else None


@st.cache_data(show_spinner=False, max_entries=512)
def compute(key: indicators.DataKey, indicator_id: str, level: str, years: tuple[int, ...] | None = None,
            period: tuple[int, int] | None = None) -> pl.DataFrame:
    return indicators.compute(indicator_id, level, years=list(years) if years else None, period=_period(period), key=key)


@st.cache_data(show_spinner=False, max_entries=256)
def trend(key: indicators.DataKey, indicator_id: str, level: str) -> pl.DataFrame:
    return indicators.trend(indicator_id, level, key=key)


@st.cache_data(show_spinner=False, max_entries=256)
def variation(key: indicators.DataKey, indicator_id: str, level: str, period: tuple[int, int]) -> dict:
    return indicators.variation(indicator_id, level, Period(*period), key=key)


@st.cache_data(show_spinner=False, max_entries=256)
def funnel(key: indicators.DataKey, indicator_id: str, level: str, period: tuple[int, int],
           area_ids: tuple[str, ...] | None = None) -> indicators.Funnel:
    return indicators.funnel(indicator_id, level, Period(*period), list(area_ids) if area_ids is not None else None, key=key)


@st.cache_data(show_spinner="Beregner profilen for helsefellesskapet …", max_entries=64)
def profile(key: indicators.DataKey, helsefellesskap_id: str, year: int | None = None,
            confidence: float = 0.95) -> pl.DataFrame:
    return indicators.profile(helsefellesskap_id, year, key=key, confidence=confidence)


@st.cache_data(show_spinner=False, max_entries=64)
def overlap(key: indicators.DataKey, level: str, year: int) -> pl.DataFrame | None:
    """The suppressed overlap between the four priority groups at ``level`` for ``year`` (``ui.cohorts``
    columns), or None when this installation or store has no overlap."""
    from ui.cohorts import load_overlap

    return load_overlap(key, level, year)


@st.cache_data(show_spinner=False, max_entries=256)
def available_years(key: indicators.DataKey, indicator_id: str) -> list[int]:
    return indicators.available_years(indicator_id, key)


@st.cache_data(show_spinner=False, max_entries=256)
def pooled_periods(key: indicators.DataKey, indicator_id: str) -> list[tuple[int, int]]:
    return [(p.start, p.end) for p in indicators.pooled_periods(indicator_id, key)]


@st.cache_data(show_spinner=False, max_entries=8)
def all_years(key: indicators.DataKey) -> list[int]:
    return sorted({y for ind in catalogue().indicators for y in indicators.available_years(ind.id, key)})


@st.cache_data(show_spinner=False, max_entries=8)
def areas(key: indicators.DataKey) -> pl.DataFrame:
    return store_data.areas(key)


@st.cache_data(show_spinner=False, max_entries=8)
def units(key: indicators.DataKey) -> pl.DataFrame:
    """One row per area unit (a kommune, or a bydel of a split kommune such as Oslo)."""
    return store_data.units(key)


@st.cache_data(show_spinner=False, max_entries=8)
def helsefellesskap(key: indicators.DataKey) -> pl.DataFrame:
    return store_data.helsefellesskap(key).sort("sort_order")


@st.cache_data(show_spinner=False, max_entries=8)
def fylker(key: indicators.DataKey) -> pl.DataFrame:
    return store_data.areas(key).select("fylkesnummer", "fylkesnavn").unique().sort("fylkesnummer")


@st.cache_data(show_spinner=False, max_entries=8)
def datasets(key: indicators.DataKey) -> pl.DataFrame:
    return store_data.datasets(key)


@st.cache_data(show_spinner=False, max_entries=8)
def is_synthetic(key: indicators.DataKey) -> bool:
    return store_data.is_synthetic(key)


@st.cache_data(show_spinner=False, max_entries=8)
def real_publishers(key: indicators.DataKey) -> list[str]:
    """Publishers of the real published indicator values in the store (e.g. SKDE, FHI)."""
    from indicators import published

    return published.real_published_sources(key)


@st.cache_data(show_spinner=False, max_entries=8)
def dataset_origins(key: indicators.DataKey) -> pl.DataFrame:
    """Every dataset: real or synthetic, publisher, vintage and how it came in."""
    from indicators import published

    return published.dataset_origins(key)


# --- geometry (shared across sessions) ------------------------------------------------------


def kommune_geometry() -> gpd.GeoDataFrame:
    """Kommune polygons (the loader caches them per file and modification time, so a newly
    imported boundary file is picked up without a restart)."""
    from data_loaders.geometry import load_kommune_geometry

    return load_kommune_geometry()


@st.cache_resource(show_spinner=False, max_entries=4)
def _dissolved(key: indicators.DataKey, path: str, _mtime_ns: int) -> gpd.GeoDataFrame:
    from data_loaders.geometry import helsefellesskap_geometry as dissolve
    from data_loaders.geometry import load_kommune_geometry

    return dissolve(load_kommune_geometry(Path(path)), areas(key))


def helsefellesskap_geometry(key: indicators.DataKey) -> gpd.GeoDataFrame:
    """Helsefellesskap polygons dissolved from the kommuner (shared across sessions)."""
    from data_loaders.geometry import resolve_geometry_path

    path = resolve_geometry_path()
    return _dissolved(key, str(path), path.stat().st_mtime_ns)


@st.cache_resource(show_spinner=False, max_entries=8)
def _level_dissolved(key: indicators.DataKey, level: str, path: str, _mtime_ns: int) -> gpd.GeoDataFrame:
    from data_loaders.geometry import level_geometry as dissolve
    from data_loaders.geometry import load_kommune_geometry
    from data_loaders.reference import UNIT_LEVEL_COLUMNS

    return dissolve(load_kommune_geometry(Path(path)), areas(key), UNIT_LEVEL_COLUMNS[level])


def level_geometry(key: indicators.DataKey, level: str) -> gpd.GeoDataFrame:
    """Polygons of the areas of a level made of whole kommuner (helseforetak, sentralitet, kostragruppe):
    columns area_id, geometry (shared across sessions)."""
    from data_loaders.geometry import resolve_geometry_path

    path = resolve_geometry_path()
    return _level_dissolved(key, level, str(path), path.stat().st_mtime_ns)


def kommuner_without_own_geometry() -> list[str]:
    from data_loaders.geometry import kommuner_without_own_geometry as without

    return without(kommune_geometry())


def geometry_notes() -> list[str]:
    from data_loaders.geometry import geometry_notes as notes

    return notes(kommune_geometry())


# --- warm-up ------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=2)
def start_warm_up(key: indicators.DataKey) -> threading.Thread | None:
    """Compute the whole catalogue in a background thread (once per process and data version).

    The engine keeps it in memory and on disk; a page that asks meanwhile waits for the same
    computation instead of starting another. Set ``STYRING_WARM_UP=0`` to switch this off.
    """
    if os.environ.get("STYRING_WARM_UP", "1").strip().lower() in ("0", "false", "no", "off"):
        return None

    def work() -> None:
        try:
            warm(key)
        except Exception:  # the page that needs it shows its own message
            logging.getLogger("styring.warm_up").exception("warming the engine failed")

    thread = threading.Thread(target=work, name="styring-warm-up", daemon=True)
    thread.start()
    return thread
