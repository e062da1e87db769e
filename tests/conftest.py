"""Shared fixtures: one synthetic demo store per test run, shared by xdist workers."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"
ARTIFACTS_DIR = PROJECT_ROOT / "test-artifacts"


def _demo_fingerprint() -> str:
    digest = hashlib.sha256()
    patterns = ("data_loaders/demo/*.py", "data_loaders/demo/*.yaml", "data_loaders/schema.py", "data_loaders/store.py", "data_loaders/reference.py",
                "assets/reference/*.csv")
    for pattern in patterns:
        for path in sorted(PROJECT_ROOT.glob(pattern)):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def demo_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A demo store built once per run (xdist workers share it through a file lock)."""
    # The parent of the per-run temp dir is shared by xdist workers and by later runs;
    # the fingerprint of the generator's code and inputs keeps a stale store from being reused.
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    root = root.parent
    fingerprint = _demo_fingerprint()
    path = root / f"demo-{fingerprint}.sqlite"
    ready = root / f"demo-{fingerprint}.ready"
    url = f"sqlite:///{path}"
    with open(root / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            from data_loaders import store
            from data_loaders.demo import build_demo_store

            build_demo_store(store.get_engine(url))
            ready.touch()
    os.environ.setdefault("STYRING_CACHE_DIR", str(root / f"result-cache-{fingerprint}"))
    return url


@pytest.fixture(scope="session", autouse=True)
def use_demo_store(demo_database_url: str):
    """Point the settings at the shared demo store for the whole run."""
    from data_loaders.config import settings

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = demo_database_url
    settings.cache_clear()
    yield demo_database_url
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous
    settings.cache_clear()


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a clean skip when the reference material is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material not available: {path}")
    return path
