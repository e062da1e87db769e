"""Reference geography of the 2024 structure: kommuner, fylker and the 19 helsefellesskap.

The tables are plain CSV files under ``assets/reference``. The kommune to helsefellesskap
mapping can be replaced by an official file (setting ``kommune_helsefellesskap_csv``); it
is validated on load so that every kommune belongs to exactly one helsefellesskap.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

from data_loaders.config import REFERENCE_DIR, settings

KOMMUNE_COUNT_2024 = 357
FYLKE_COUNT_2024 = 15
HELSEFELLESSKAP_COUNT = 19

LEVELS = ("kommune", "helsefellesskap", "helseforetak", "rhf", "fylke", "land")
LEVEL_LABELS = {
    "kommune": "Kommune",
    "helsefellesskap": "Helsefellesskap",
    "helseforetak": "Helseforetak",
    "rhf": "Regionalt helseforetak",
    "fylke": "Fylke",
    "land": "Hele landet",
}
NATIONAL_ID = "0"
NATIONAL_NAME = "Hele landet"


class ReferenceDataError(ValueError):
    """A reference table is malformed; the message names the file and the problem."""


def _read_csv(path: Path, columns: list[str]) -> pl.DataFrame:
    if not path.is_file():
        raise ReferenceDataError(f"{path}: file not found")
    frame = pl.read_csv(path, infer_schema=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReferenceDataError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame.select(columns)


def _require_unique(frame: pl.DataFrame, column: str, path: Path) -> None:
    duplicated = frame.filter(pl.col(column).is_duplicated())[column].unique().sort().to_list()
    if duplicated:
        raise ReferenceDataError(f"{path}: duplicate {column}: {', '.join(duplicated[:10])}")


@lru_cache(maxsize=1)
def load_fylker() -> pl.DataFrame:
    path = REFERENCE_DIR / "fylker_2024.csv"
    frame = _read_csv(path, ["fylkesnummer", "fylkesnavn"])
    _require_unique(frame, "fylkesnummer", path)
    return frame


@lru_cache(maxsize=1)
def load_kommuner() -> pl.DataFrame:
    path = REFERENCE_DIR / "kommuner_2024.csv"
    frame = _read_csv(path, ["kommunenummer", "kommunenavn", "fylkesnummer"])
    _require_unique(frame, "kommunenummer", path)
    bad = frame.filter(~pl.col("kommunenummer").str.contains(r"^\d{4}$"))
    if bad.height:
        raise ReferenceDataError(f"{path}: kommunenummer must have four digits: {bad['kommunenummer'][0]!r}")
    return frame


@lru_cache(maxsize=1)
def load_helsefellesskap() -> pl.DataFrame:
    path = REFERENCE_DIR / "helsefellesskap.csv"
    frame = _read_csv(
        path,
        ["helsefellesskap_id", "helsefellesskap_navn", "kortnavn", "helseforetak", "samarbeidende_sykehus", "rhf"],
    ).with_columns(pl.col("samarbeidende_sykehus").fill_null(""))
    _require_unique(frame, "helsefellesskap_id", path)
    return frame.with_row_index("sort_order")


def load_kommune_helsefellesskap(path: Path | None = None) -> pl.DataFrame:
    """The kommune to helsefellesskap mapping, validated against the kommune and HF tables."""
    path = Path(path) if path else settings().kommune_helsefellesskap_csv
    mapping = _read_csv(path, ["kommunenummer", "helsefellesskap_id", "source"])
    validate_mapping(mapping, load_kommuner(), load_helsefellesskap(), path)
    return mapping


def validate_mapping(mapping: pl.DataFrame, kommuner: pl.DataFrame, helsefellesskap: pl.DataFrame, path: Path) -> None:
    """Every kommune in exactly one known helsefellesskap, each with a source."""
    problems: list[str] = []
    duplicated = mapping.filter(pl.col("kommunenummer").is_duplicated())["kommunenummer"].unique().sort().to_list()
    if duplicated:
        problems.append(f"kommune(r) in more than one helsefellesskap: {', '.join(duplicated[:10])}")
    known = set(kommuner["kommunenummer"])
    mapped = set(mapping["kommunenummer"])
    if unknown := sorted(mapped - known):
        problems.append(f"unknown kommunenummer: {', '.join(unknown[:10])}")
    if unmapped := sorted(known - mapped):
        problems.append(f"kommune(r) without helsefellesskap: {', '.join(unmapped[:10])}")
    hf_ids = set(helsefellesskap["helsefellesskap_id"])
    if bad_hf := sorted(set(mapping["helsefellesskap_id"]) - hf_ids):
        problems.append(f"unknown helsefellesskap_id: {', '.join(bad_hf)}")
    if empty_hf := sorted(hf_ids - set(mapping["helsefellesskap_id"])):
        problems.append(f"helsefellesskap without kommuner: {', '.join(empty_hf)}")
    if mapping["source"].is_null().any() or (mapping["source"].str.strip_chars() == "").any():
        problems.append("every row needs a source")
    if problems:
        raise ReferenceDataError(f"{path}: " + "; ".join(problems))


@lru_cache(maxsize=4)
def _areas(mapping_path: str) -> pl.DataFrame:
    kommuner = load_kommuner()
    fylker = load_fylker()
    hf = load_helsefellesskap()
    mapping = load_kommune_helsefellesskap(Path(mapping_path))
    unknown_fylke = set(kommuner["fylkesnummer"]) - set(fylker["fylkesnummer"])
    if unknown_fylke:
        raise ReferenceDataError(f"kommuner_2024.csv: unknown fylkesnummer {sorted(unknown_fylke)}")
    return (
        kommuner.join(fylker, on="fylkesnummer", how="left")
        .join(mapping.drop("source"), on="kommunenummer", how="left")
        .join(hf.drop("sort_order"), on="helsefellesskap_id", how="left")
        .sort("kommunenummer")
    )


def area_table() -> pl.DataFrame:
    """One row per kommune with every level it belongs to."""
    return _areas(str(settings().kommune_helsefellesskap_csv))


def area_names(level: str) -> pl.DataFrame:
    """``area_id`` and ``area_name`` of every area on a level, in display order."""
    areas = area_table()
    if level == "kommune":
        return areas.select(pl.col("kommunenummer").alias("area_id"), pl.col("kommunenavn").alias("area_name"))
    if level == "helsefellesskap":
        return load_helsefellesskap().select(
            pl.col("helsefellesskap_id").alias("area_id"), pl.col("helsefellesskap_navn").alias("area_name")
        )
    if level == "helseforetak":
        return load_helsefellesskap().select(
            pl.col("helsefellesskap_id").alias("area_id"), pl.col("helseforetak").alias("area_name")
        )
    if level == "rhf":
        return load_helsefellesskap().select(pl.col("rhf").alias("area_id"), pl.col("rhf").alias("area_name")).unique(
            maintain_order=True
        )
    if level == "fylke":
        return load_fylker().select(pl.col("fylkesnummer").alias("area_id"), pl.col("fylkesnavn").alias("area_name"))
    if level == "land":
        return pl.DataFrame({"area_id": [NATIONAL_ID], "area_name": [NATIONAL_NAME]})
    raise ValueError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")


def kommune_to_level(level: str) -> pl.DataFrame:
    """``kommunenummer`` to ``area_id`` of the given level."""
    areas = area_table()
    column = {
        "kommune": pl.col("kommunenummer"),
        "helsefellesskap": pl.col("helsefellesskap_id"),
        "helseforetak": pl.col("helsefellesskap_id"),
        "rhf": pl.col("rhf"),
        "fylke": pl.col("fylkesnummer"),
        "land": pl.lit(NATIONAL_ID),
    }.get(level)
    if column is None:
        raise ValueError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    return areas.select("kommunenummer", column.alias("area_id"))


def reference_frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The validated default tables, in the order ``store.write_reference`` takes them."""
    return (
        load_fylker(),
        load_kommuner(),
        load_helsefellesskap().with_columns(pl.col("sort_order").cast(pl.Int64)),
        load_kommune_helsefellesskap(),
    )
