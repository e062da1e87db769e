"""Reference geography of the 2024 structure: kommuner, bydeler, fylker, the 19 helsefellesskap,
SKDE's 21 helseforetak areas and SSB's classifications (sentralitet, KOSTRA-grupper).

The tables are plain CSV files under ``assets/reference``, each row with its ``source``. The
kommune to helsefellesskap mapping can be replaced by an official file (setting
``kommune_helsefellesskap_csv``); it is validated on load so that every kommune belongs to
exactly one helsefellesskap.

The base unit of all data is the *area unit*: a kommune, or a bydel where the kommune is split
(Oslo). A split kommune's bydeler carry their own helseforetak area (Oslo's four hospital
sectors); an unsplit kommune's helseforetak area follows from its helsefellesskap
(``helsefellesskap.csv``, column ``helseforetak_id``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

from data_loaders.config import REFERENCE_DIR, settings

KOMMUNE_COUNT_2024 = 357
FYLKE_COUNT_2024 = 15
HELSEFELLESSKAP_COUNT = 19
HELSEFORETAK_COUNT = 21

LEVELS = ("bydel", "kommune", "helsefellesskap", "helseforetak", "rhf", "fylke", "sentralitet", "kostragruppe", "land")
LEVEL_LABELS = {
    "bydel": "Bydel",
    "kommune": "Kommune",
    "helsefellesskap": "Helsefellesskap",
    "helseforetak": "Helseforetaksområde",
    "rhf": "Regionalt helseforetak",
    "fylke": "Fylke",
    "sentralitet": "Sentralitet",
    "kostragruppe": "KOSTRA-gruppe",
    "land": "Hele landet",
}
# Each level (except land) -> the column of the unit table holding that level's area id.
UNIT_LEVEL_COLUMNS = {
    "bydel": "bydel",
    "kommune": "kommunenummer",
    "helsefellesskap": "helsefellesskap_id",
    "helseforetak": "helseforetak_id",
    "rhf": "rhf",
    "fylke": "fylkesnummer",
    "sentralitet": "sentralitet",
    "kostragruppe": "kostragruppe",
}
RHF_ORDER = ("Helse Nord RHF", "Helse Midt-Norge RHF", "Helse Vest RHF", "Helse Sør-Øst RHF")
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


def _require_source(frame: pl.DataFrame, path: Path) -> None:
    if frame["source"].is_null().any() or (frame["source"].str.strip_chars() == "").any():
        raise ReferenceDataError(f"{path}: every row needs a source")


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
def load_helseforetak() -> pl.DataFrame:
    """SKDE's 21 helseforetak areas (sykehusområder): id, SKDE's name, the hospital, RHF, sort order."""
    path = REFERENCE_DIR / "helseforetaksomrader.csv"
    frame = _read_csv(path, ["helseforetak_id", "helseforetak_navn", "helseforetak", "rhf", "sort_order", "source"])
    _require_unique(frame, "helseforetak_id", path)
    _require_source(frame, path)
    if bad := sorted(set(frame["rhf"]) - set(RHF_ORDER)):
        raise ReferenceDataError(f"{path}: unknown rhf {', '.join(bad)}")
    return frame.with_columns(pl.col("sort_order").cast(pl.Int64)).sort("sort_order")


@lru_cache(maxsize=1)
def load_helsefellesskap() -> pl.DataFrame:
    path = REFERENCE_DIR / "helsefellesskap.csv"
    frame = _read_csv(
        path,
        ["helsefellesskap_id", "helsefellesskap_navn", "kortnavn", "helseforetak", "samarbeidende_sykehus", "rhf",
         "helseforetak_id"],
    ).with_columns(pl.col("samarbeidende_sykehus").fill_null(""))
    _require_unique(frame, "helsefellesskap_id", path)
    known = set(load_helseforetak()["helseforetak_id"])
    if bad := sorted(set(frame["helseforetak_id"].drop_nulls()) - known):
        raise ReferenceDataError(f"{path}: unknown helseforetak_id {', '.join(bad)}")
    return frame.with_row_index("sort_order")


@lru_cache(maxsize=1)
def load_bydeler() -> pl.DataFrame:
    """The bydeler of the kommuner split into area units (Oslo), each with its helseforetak area."""
    path = REFERENCE_DIR / "bydeler_2024.csv"
    frame = _read_csv(path, ["bydel", "bydelsnavn", "kommunenummer", "helseforetak_id", "source"])
    _require_unique(frame, "bydel", path)
    _require_source(frame, path)
    bad = frame.filter(~pl.col("bydel").str.contains(r"^\d{6}$") | (pl.col("bydel").str.slice(0, 4) != pl.col("kommunenummer")))
    if bad.height:
        raise ReferenceDataError(f"{path}: a bydel code has six digits and starts with its kommunenummer: {bad['bydel'][0]!r}")
    if unknown := sorted(set(frame["kommunenummer"]) - set(load_kommuner()["kommunenummer"])):
        raise ReferenceDataError(f"{path}: unknown kommunenummer {', '.join(unknown)}")
    if unknown := sorted(set(frame["helseforetak_id"]) - set(load_helseforetak()["helseforetak_id"])):
        raise ReferenceDataError(f"{path}: unknown helseforetak_id {', '.join(unknown)}")
    return frame.sort("bydel")


def split_kommuner() -> dict[str, str]:
    """Each kommune split into bydeler -> the code of its "uoppgitt bydel" unit (…99)."""
    bydeler = load_bydeler()
    return {k: f"{k}99" for k in bydeler["kommunenummer"].unique().sort().to_list()
            if f"{k}99" in set(bydeler["bydel"])}


@lru_cache(maxsize=1)
def load_klassifisering() -> pl.DataFrame:
    """SSB's sentralitet (2020 index, 2024 numbers) and KOSTRA group 2024 of every kommune."""
    path = REFERENCE_DIR / "kommune_klassifisering_2024.csv"
    frame = _read_csv(path, ["kommunenummer", "sentralitetsklasse", "sentralitetsindeks", "kostragruppe", "source"])
    _require_unique(frame, "kommunenummer", path)
    _require_source(frame, path)
    if missing := sorted(set(load_kommuner()["kommunenummer"]) ^ set(frame["kommunenummer"])):
        raise ReferenceDataError(f"{path}: kommuner missing or unknown: {', '.join(missing[:10])}")
    if not frame["sentralitetsklasse"].is_in([str(i) for i in range(1, 7)]).all():
        raise ReferenceDataError(f"{path}: sentralitetsklasse must be 1-6")
    if not frame["kostragruppe"].str.contains(r"^EKG(0[1-9]|1[0-7])$").all():
        raise ReferenceDataError(f"{path}: kostragruppe must be EKG01-EKG17")
    return frame.with_columns(pl.col("sentralitetsklasse").cast(pl.Int64), pl.col("sentralitetsindeks").cast(pl.Int64))


@lru_cache(maxsize=1)
def load_grupper() -> pl.DataFrame:
    """Names of the sentralitet classes and the KOSTRA groups (level, area_id, area_name, short_name, sort_order)."""
    path = REFERENCE_DIR / "klassifisering_grupper.csv"
    frame = _read_csv(path, ["level", "area_id", "area_name", "short_name", "sort_order", "source"])
    _require_source(frame, path)
    if frame.select("level", "area_id").is_duplicated().any():
        raise ReferenceDataError(f"{path}: duplicate (level, area_id)")
    return frame.with_columns(pl.col("sort_order").cast(pl.Int64))


@lru_cache(maxsize=1)
def load_befolkning() -> pl.DataFrame:
    """SSB's population facts of 2024 per kommune and bydel (table 07459), used by the demo and the tests.

    kode (4 or 6 digits), folketall_2024, folketall_2020 (null for Ålesund and Haram, one kommune
    in 2020), andel_67_pluss and andel_80_pluss (%, null for the "uoppgitt bydel" rest).
    """
    path = REFERENCE_DIR / "befolkning_2024.csv"
    frame = _read_csv(path, ["kode", "folketall_2024", "folketall_2020", "andel_67_pluss", "andel_80_pluss", "source"])
    _require_unique(frame, "kode", path)
    _require_source(frame, path)
    return frame.with_columns(
        pl.col("folketall_2024").cast(pl.Int64), pl.col("folketall_2020").cast(pl.Int64),
        pl.col("andel_67_pluss").cast(pl.Float64), pl.col("andel_80_pluss").cast(pl.Float64),
    )


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
    if "helseforetak_id" in helsefellesskap.columns:
        # An unsplit kommune takes its helseforetak area from its helsefellesskap, which must name one.
        without = set(helsefellesskap.filter(pl.col("helseforetak_id").is_null())["helsefellesskap_id"])
        split = set(load_bydeler()["kommunenummer"])
        if orphans := sorted(mapping.filter(pl.col("helsefellesskap_id").is_in(sorted(without))
                                            & ~pl.col("kommunenummer").is_in(sorted(split)))["kommunenummer"]):
            problems.append(f"kommune(r) without a helseforetak area (helsefellesskap split by bydel): {', '.join(orphans[:10])}")
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
    klass = load_klassifisering().select(
        "kommunenummer", pl.col("sentralitetsklasse").cast(pl.String).alias("sentralitet"), "kostragruppe"
    )
    return (
        kommuner.join(fylker, on="fylkesnummer", how="left")
        .join(mapping.drop("source"), on="kommunenummer", how="left")
        .join(hf.drop("sort_order"), on="helsefellesskap_id", how="left")
        .join(klass, on="kommunenummer", how="left")
        .sort("kommunenummer")
    )


def area_table() -> pl.DataFrame:
    """One row per kommune with every level it belongs to (helseforetak_id null for a split kommune)."""
    return _areas(str(settings().kommune_helsefellesskap_csv))


def build_units(areas: pl.DataFrame, bydeler: pl.DataFrame) -> pl.DataFrame:
    """One row per area unit (an unsplit kommune, or a bydel of a split one), sorted by unit code.

    ``areas``: one row per kommune (kommunenummer, kommunenavn, fylkesnummer, helsefellesskap_id,
    helseforetak_id, rhf, sentralitet, kostragruppe, ...); ``bydeler``: bydel, bydelsnavn,
    kommunenummer, helseforetak_id. Shared by the reference files and the store.
    """
    split = bydeler["kommunenummer"].unique().to_list()
    whole = areas.filter(~pl.col("kommunenummer").is_in(split)).with_columns(
        pl.col("kommunenummer").alias("unit"), pl.col("kommunenavn").alias("unit_name"),
        pl.lit(None, dtype=pl.String).alias("bydel"),
    )
    parts = (
        bydeler.select("bydel", "bydelsnavn", "kommunenummer", pl.col("helseforetak_id").alias("bydel_hf"))
        .join(areas, on="kommunenummer", how="inner")
        .with_columns(
            pl.col("bydel").alias("unit"), pl.col("bydelsnavn").alias("unit_name"),
            pl.col("bydel_hf").alias("helseforetak_id"),
        )
        .drop("bydelsnavn", "bydel_hf")
    )
    columns = ["unit", "unit_name", "kommunenummer", "kommunenavn", "bydel", "fylkesnummer", "helsefellesskap_id",
               "helseforetak_id", "rhf", "sentralitet", "kostragruppe"]
    rest = [c for c in areas.columns if c not in columns]
    return pl.concat([whole.select(*columns, *rest), parts.select(*columns, *rest)]).sort("unit")


def unit_table() -> pl.DataFrame:
    """One row per area unit with every level it belongs to (see ``build_units``)."""
    return build_units(area_table(), load_bydeler())


def area_names(level: str) -> pl.DataFrame:
    """``area_id`` and ``area_name`` of every area on a level, in display order."""
    areas = area_table()
    if level == "bydel":
        return load_bydeler().select(pl.col("bydel").alias("area_id"), pl.col("bydelsnavn").alias("area_name"))
    if level == "kommune":
        return areas.select(pl.col("kommunenummer").alias("area_id"), pl.col("kommunenavn").alias("area_name"))
    if level == "helsefellesskap":
        return load_helsefellesskap().select(
            pl.col("helsefellesskap_id").alias("area_id"), pl.col("helsefellesskap_navn").alias("area_name")
        )
    if level == "helseforetak":
        return load_helseforetak().select(
            pl.col("helseforetak_id").alias("area_id"), pl.col("helseforetak_navn").alias("area_name")
        )
    if level == "rhf":
        return pl.DataFrame({"area_id": list(RHF_ORDER), "area_name": list(RHF_ORDER)})
    if level == "fylke":
        return load_fylker().select(pl.col("fylkesnummer").alias("area_id"), pl.col("fylkesnavn").alias("area_name"))
    if level in ("sentralitet", "kostragruppe"):
        return load_grupper().filter(pl.col("level") == level).sort("sort_order").select("area_id", "area_name")
    if level == "land":
        return pl.DataFrame({"area_id": [NATIONAL_ID], "area_name": [NATIONAL_NAME]})
    raise ValueError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")


def unit_to_level(level: str) -> pl.DataFrame:
    """``unit`` (kommune or bydel code) to ``area_id`` of the given level (null: the unit is not in that level)."""
    units = unit_table()
    if level == "land":
        return units.select("unit", pl.lit(NATIONAL_ID).alias("area_id"))
    if level not in UNIT_LEVEL_COLUMNS:
        raise ValueError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    return units.select("unit", pl.col(UNIT_LEVEL_COLUMNS[level]).alias("area_id"))


def kommune_to_level(level: str) -> pl.DataFrame:
    """``kommunenummer`` to ``area_id`` of the given level (levels a kommune belongs to as a whole)."""
    areas = area_table()
    column = {
        "kommune": pl.col("kommunenummer"),
        "helsefellesskap": pl.col("helsefellesskap_id"),
        "rhf": pl.col("rhf"),
        "fylke": pl.col("fylkesnummer"),
        "sentralitet": pl.col("sentralitet"),
        "kostragruppe": pl.col("kostragruppe"),
        "land": pl.lit(NATIONAL_ID),
    }.get(level)
    if column is None:
        raise ValueError(f"unknown level {level!r} for whole kommuner; choose one of kommune, helsefellesskap, rhf, "
                         "fylke, sentralitet, kostragruppe, land")
    return areas.select("kommunenummer", column.alias("area_id"))


def reference_frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The validated default tables, in the order ``store.write_reference`` takes them."""
    return (
        load_fylker(),
        load_kommuner(),
        load_helsefellesskap().with_columns(pl.col("sort_order").cast(pl.Int64)),
        load_kommune_helsefellesskap(),
    )


def extra_reference_frames() -> dict[str, pl.DataFrame]:
    """The other reference tables the store keeps (``store.write_reference`` keyword ``extras``)."""
    return {
        "helseforetak": load_helseforetak(),
        "bydeler": load_bydeler(),
        "klassifisering": load_klassifisering(),
        "grupper": load_grupper(),
    }
