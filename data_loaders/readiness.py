"""Kommune readiness for Pakkeforløp hjem: contact point, cancer coordinator, coordinating unit.

The plan for Pakkeforløp hjem asks each kommune to clarify a named contact point
(``kontaktpunkt``), whether it has a cancer coordinator (``har_kreftkoordinator``) and its
coordinating unit (``koordinerende_enhet``). No register holds these facts, so they live in
a replaceable CSV file:

* the ``path`` argument of :func:`load_readiness`;
* the environment variable ``STYRING_KOMMUNE_READINESS`` or the key ``kommune_readiness_csv``
  in the settings TOML file (``STYRING_CONFIG``, default ``styring.toml``);
* the bundled demo file ``assets/pakkeforlop/kommune_readiness_demo.csv`` (synthetic values
  made by ``scripts/make_readiness_demo.py``, every row marked ``demo = true``).

Columns (UTF-8, comma separated, header row):

* ``kommunenummer`` (required): a 2024 kommune number; ``301`` and ``0301`` both mean 0301;
* ``kontaktpunkt`` (required): the function or unit that is the contact point (no names of persons);
* ``har_kreftkoordinator`` (required): ``ja``/``nei`` (also true/false, 1/0); blank = not clarified;
* ``koordinerende_enhet`` (required): the kommune's coordinating unit;
* ``kommunenavn``, ``demo`` (true/false, default false), ``source`` (optional).

A malformed file raises :class:`ReadinessDataError` naming the file, the rows and the problem
(unknown kommune numbers, duplicates, bad yes/no values, missing columns). Kommuner without a
row are not an error: they are listed in ``Readiness.missing`` and shown as "ikke avklart".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl

from data_loaders.config import ASSETS_DIR, settings
from data_loaders.reference import load_kommuner

DEMO_PATH = ASSETS_DIR / "pakkeforlop" / "kommune_readiness_demo.csv"
ENV_VARIABLE = "STYRING_KOMMUNE_READINESS"
TOML_KEY = "kommune_readiness_csv"
REQUIRED_COLUMNS = ("kommunenummer", "kontaktpunkt", "har_kreftkoordinator", "koordinerende_enhet")
OPTIONAL_COLUMNS = ("kommunenavn", "demo", "source")
YES = {"ja", "j", "yes", "y", "true", "sann", "1"}
NO = {"nei", "n", "no", "false", "usann", "0"}
_NUMBER_RE = re.compile(r"^\d{1,4}$")


class ReadinessDataError(ValueError):
    """The readiness file is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class Readiness:
    """The validated file: one row per kommune that has a row, plus what is missing."""

    table: pl.DataFrame  # kommunenummer, kommunenavn, kontaktpunkt, har_kreftkoordinator (bool|null), koordinerende_enhet, demo, source
    path: Path
    missing: list[str] = field(default_factory=list)  # kommunenummer without a row

    @property
    def is_demo(self) -> bool:
        return bool(self.table.height) and bool(self.table["demo"].any())


def resolve_path(path: Path | str | None = None) -> Path:
    """The file to read: ``path``, the setting ``kommune_readiness_csv``, or the demo file."""
    if path is None:
        path = settings().kommune_readiness_csv
    return Path(path).expanduser().resolve() if path else DEMO_PATH


def _parse_bool(value: str | None, *, blank: bool | None) -> bool | None | str:
    text = (value or "").strip().lower()
    if text == "":
        return blank
    if text in YES:
        return True
    if text in NO:
        return False
    return "invalid"


def _normalise_number(value: str | None) -> str | None:
    text = (value or "").strip()
    return text.zfill(4) if _NUMBER_RE.match(text) else None


def validate(raw: pl.DataFrame, path: Path) -> Readiness:
    """Check and normalise a raw frame (all columns as strings)."""
    missing_columns = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing_columns:
        raise ReadinessDataError(
            f"{path}: missing column(s) {', '.join(missing_columns)}; required: {', '.join(REQUIRED_COLUMNS)}"
        )
    problems: list[str] = []
    numbers = [_normalise_number(v) for v in raw["kommunenummer"].to_list()]
    bad_numbers = [f"row {i + 2} ({raw['kommunenummer'][i]!r})" for i, n in enumerate(numbers) if n is None]
    if bad_numbers:
        problems.append("kommunenummer must be up to four digits: " + ", ".join(bad_numbers[:10]))
    kommuner = load_kommuner()
    names = dict(zip(kommuner["kommunenummer"].to_list(), kommuner["kommunenavn"].to_list()))
    unknown = [f"row {i + 2} ({n})" for i, n in enumerate(numbers) if n is not None and n not in names]
    if unknown:
        problems.append("kommunenummer unknown for 2024: " + ", ".join(unknown[:10])
                        + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""))
    seen: dict[str, int] = {}
    duplicates = []
    for i, n in enumerate(numbers):
        if n is None:
            continue
        if n in seen:
            duplicates.append(f"{n} (rows {seen[n] + 2} and {i + 2})")
        seen.setdefault(n, i)
    if duplicates:
        problems.append("kommunenummer listed twice: " + ", ".join(duplicates[:10]))
    coordinator = [_parse_bool(v, blank=None) for v in raw["har_kreftkoordinator"].to_list()]
    bad_coordinator = [f"row {i + 2} ({raw['har_kreftkoordinator'][i]!r})" for i, v in enumerate(coordinator) if v == "invalid"]
    if bad_coordinator:
        problems.append("har_kreftkoordinator must be ja/nei (or blank): " + ", ".join(bad_coordinator[:10]))
    demo_raw = raw["demo"].to_list() if "demo" in raw.columns else [None] * raw.height
    demo = [_parse_bool(v, blank=False) for v in demo_raw]
    bad_demo = [f"row {i + 2} ({demo_raw[i]!r})" for i, v in enumerate(demo) if v == "invalid"]
    if bad_demo:
        problems.append("demo must be true/false: " + ", ".join(bad_demo[:10]))
    if problems:
        raise ReadinessDataError(f"{path}: " + "; ".join(problems))

    def text_column(name: str) -> list[str]:
        if name not in raw.columns:
            return [""] * raw.height
        return [(v or "").strip() for v in raw[name].to_list()]

    table = pl.DataFrame(
        {
            "kommunenummer": numbers,
            "kommunenavn": [names[n] for n in numbers],
            "kontaktpunkt": text_column("kontaktpunkt"),
            "har_kreftkoordinator": coordinator,
            "koordinerende_enhet": text_column("koordinerende_enhet"),
            "demo": demo,
            "source": text_column("source"),
        },
        schema={
            "kommunenummer": pl.String, "kommunenavn": pl.String, "kontaktpunkt": pl.String,
            "har_kreftkoordinator": pl.Boolean, "koordinerende_enhet": pl.String, "demo": pl.Boolean,
            "source": pl.String,
        },
    ).sort("kommunenummer")
    return Readiness(table=table, path=path, missing=sorted(set(names) - set(numbers)))


@lru_cache(maxsize=4)
def _load_cached(path: str, _mtime_ns: int, _size: int) -> Readiness:
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as exc:  # polars raises several types for unreadable files
        raise ReadinessDataError(f"{path}: cannot read as CSV: {exc}") from exc
    raw = raw.rename({c: c.strip().lstrip("\ufeff").lower() for c in raw.columns})
    return validate(raw, Path(path))


def load_readiness(path: Path | str | None = None) -> Readiness:
    """The validated readiness file (cached per file and modification time)."""
    resolved = resolve_path(path)
    try:
        stat = resolved.stat()
    except FileNotFoundError:
        hint = "" if path is not None else f" (setting {TOML_KEY} / {ENV_VARIABLE})"
        raise ReadinessDataError(f"{resolved}: file not found{hint}") from None
    return _load_cached(str(resolved), stat.st_mtime_ns, stat.st_size)
