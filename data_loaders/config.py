"""Runtime settings, read from environment variables and an optional TOML file.

Precedence: environment variable, then the TOML file named by ``STYRING_CONFIG``
(default ``styring.toml`` in the project root, if it exists), then the default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
REFERENCE_DIR = ASSETS_DIR / "reference"
GEO_DIR = ASSETS_DIR / "geo"
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "data" / "demo.sqlite"
# SSB's public APIs used by `python -m data_loaders fetch` (settings STYRING_SSB_API_URL, STYRING_KLASS_API_URL).
SSB_API_URL = "https://data.ssb.no/api/pxwebapi/v2"
KLASS_API_URL = "https://data.ssb.no/api/klass/v1"


@dataclass(frozen=True)
class Settings:
    database_url: str
    kommune_geojson: Path | None
    kommune_helsefellesskap_csv: Path
    kommune_readiness_csv: Path | None
    suppression_threshold: int
    public_mode: bool
    ssb_api_url: str = SSB_API_URL
    klass_api_url: str = KLASS_API_URL


def _read_toml() -> dict:
    path = Path(os.environ.get("STYRING_CONFIG", PROJECT_ROOT / "styring.toml"))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


_TRUE = {"1", "true", "yes", "on", "ja"}
_FALSE = {"0", "false", "no", "off", "nei", ""}
PUBLIC_MODE_VARIABLES = ("PUBLIC_MODE", "STYRING_PUBLIC")


def _flag(name: str, value: object) -> bool:
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be 1/0 (or true/false), got {value!r}")


def _public_mode(toml: dict) -> bool:
    """``PUBLIC_MODE`` or ``STYRING_PUBLIC`` (either switches it on), else ``public_mode`` in the TOML.

    An unrecognised value is an error rather than "off": a typo must not open the internal views.
    """
    given = {name: os.environ[name] for name in PUBLIC_MODE_VARIABLES if os.environ.get(name, "") != ""}
    if given:
        return any(_flag(name, value) for name, value in given.items())
    return _flag("public_mode", toml.get("public_mode", "0"))


def _pick(env: str, toml: dict, key: str, default):
    if env in os.environ and os.environ[env] != "":
        return os.environ[env]
    return toml.get(key, default)


def load_settings() -> Settings:
    """Build settings from the environment (uncached: tests change the environment)."""
    toml = _read_toml()
    geojson = _pick("STYRING_KOMMUNE_GEOJSON", toml, "kommune_geojson", None)
    mapping = _pick(
        "STYRING_KOMMUNE_HELSEFELLESSKAP",
        toml,
        "kommune_helsefellesskap_csv",
        REFERENCE_DIR / "kommune_helsefellesskap.csv",
    )
    readiness = _pick("STYRING_KOMMUNE_READINESS", toml, "kommune_readiness_csv", None)
    threshold = int(_pick("STYRING_SUPPRESSION_THRESHOLD", toml, "suppression_threshold", 5))
    if threshold < 1:
        raise ValueError(f"suppression_threshold must be at least 1, got {threshold}")
    public = _public_mode(toml)
    return Settings(
        database_url=_pick("DATABASE_URL", toml, "database_url", f"sqlite:///{DEFAULT_DATABASE_PATH}"),
        kommune_geojson=Path(geojson) if geojson else None,
        kommune_helsefellesskap_csv=Path(mapping),
        kommune_readiness_csv=Path(readiness) if readiness else None,
        suppression_threshold=threshold,
        public_mode=public,
        ssb_api_url=_pick("STYRING_SSB_API_URL", toml, "ssb_api_url", SSB_API_URL),
        klass_api_url=_pick("STYRING_KLASS_API_URL", toml, "klass_api_url", KLASS_API_URL),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Process-wide settings; call ``settings.cache_clear()`` after changing the environment."""
    return load_settings()
