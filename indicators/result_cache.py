"""A disk cache of computed indicator tables, so a fresh process starts warm.

Entries are Parquet files keyed by the store's data version, the catalogue, the engine's
source code and the request, so any change to data, definitions or code misses the cache.
The files hold unsuppressed counts, exactly as sensitive as the store they come from; they
live beside it (``data/cache`` by default) and are never served directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from functools import lru_cache
from pathlib import Path

import polars as pl

from data_loaders.config import PROJECT_ROOT

PACKAGE_DIR = Path(__file__).resolve().parent
# The code a cached table depends on; exports, the deck and the CLI are not in it.
ENGINE_SOURCES = ("engine.py", "computation.py", "periods.py", "data.py", "suppression.py", "catalogue.py", "catalogue.yaml", "methods/*.py")


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(p for pattern in ENGINE_SOURCES for p in PACKAGE_DIR.glob(pattern)):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path | None:
    """``STYRING_CACHE_DIR`` (empty or ``off`` disables the cache), else ``data/cache``."""
    value = os.environ.get("STYRING_CACHE_DIR")
    if value is not None and value.strip().lower() in ("", "off", "0", "none"):
        return None
    return Path(value) if value else PROJECT_ROOT / "data" / "cache"


def entry_path(*parts: object) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    digest = hashlib.sha256("|".join(map(str, (_code_fingerprint(), *parts))).encode()).hexdigest()[:32]
    return root / f"{digest}.parquet"


def read(path: Path | None) -> pl.DataFrame | None:
    if path is None or not path.is_file():
        return None
    try:
        return pl.read_parquet(path)
    except Exception:  # a torn or foreign file is just a miss
        return None


@contextlib.contextmanager
def computing(path: Path | None):
    """Hold a lock file beside the entry while it is computed, so that processes sharing the cache
    (test workers, app replicas) compute it once and the others read it (best effort)."""
    if path is None:
        yield
        return
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_suffix(".lock"), "w")
    except (ImportError, OSError):
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write(path: Path | None, frame: pl.DataFrame) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        frame.write_parquet(tmp)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only disk only costs speed
