"""Translate kommune numbers of earlier years to the 2024 structure.

``assets/reference/kommune_crosswalk.csv`` lists every change of the kommune structure since
2017 (source: SSB's KLASS classification 131, "Standard for kommuneinndeling", change tables):
one row per old number and new number, with the year the new number took effect.

* ``renumbered`` and ``merged``: the old number goes wholly to the new one.
* ``split``: the old kommune was divided; ``population_share`` is the part of its population
  that went to each new kommune (shares of one old number sum to 1). Counts cannot be split
  exactly, so the importer refuses them unless asked to allocate by these shares.
* ``direct``: a shortcut that overrides the chain of earlier changes for numbers from before
  the previous change (Haram, merged into Ålesund in 2020 and re-established with its old
  borders in 2024: 1534 goes straight to 1580 rather than through the 2024 split of 1507).

From the 2024 kommuner and the changes the structure in force in every earlier year follows:
the numbers before a change are the changed ones plus the unchanged ones after it. A number is
valid for a year if it was in force that year, or in force in a later year (data already coded
to a newer structure); it is translated through every change after the structure it belongs to.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from data_loaders.config import REFERENCE_DIR
from data_loaders.reference import load_bydeler, load_kommuner

CROSSWALK_PATH = REFERENCE_DIR / "kommune_crosswalk.csv"
CHANGES = ("renumbered", "merged", "split", "direct")
COLUMNS = ["from_kommunenummer", "to_kommunenummer", "valid_from_year", "change", "population_share", "note"]


class CrosswalkError(ValueError):
    """The crosswalk file is malformed; the message names the file and the row."""


@dataclass(frozen=True)
class Translation:
    """Where one (number, year) goes: ``targets`` are (2024 number, share) pairs."""

    number: str
    year: int
    targets: tuple[tuple[str, float], ...]
    structure: int  # index of the structure the number was read in (see Crosswalk.periods)

    @property
    def changed(self) -> bool:
        return self.targets != ((self.number, 1.0),)

    @property
    def is_split(self) -> bool:
        return len(self.targets) > 1


class Crosswalk:
    """The chain of kommune changes, with the structure in force for every year.

    ``translate`` gives 2024 kommune numbers (a six-digit bydel code is its own target).
    ``translate_pairs``, which the importers use, gives area units: there a split kommune's
    four-digit number goes to its "uoppgitt bydel" unit (0301 -> 030199), since the file does not
    say which bydel.
    """

    def __init__(self, rows: pl.DataFrame, current: frozenset[str], path: Path = CROSSWALK_PATH,
                 bydeler: dict[str, str] | None = None):
        self.path = path
        self.current = current
        self.bydeler = dict(bydeler or {})  # bydel code -> its kommune
        self.uoppgitt = {k: f"{k}99" for k in sorted(set(self.bydeler.values())) if f"{k}99" in self.bydeler}
        # Every area unit of the 2024 structure (what "all kommuner" means for coverage).
        self.units = frozenset((current - set(self.uoppgitt)) | set(self.bydeler))
        steps: dict[int, dict[str, list[tuple[str, float]]]] = {}
        direct: dict[str, tuple[int, list[tuple[str, float]]]] = {}
        for row in rows.iter_rows(named=True):
            year, source, target = row["valid_from_year"], row["from_kommunenummer"], row["to_kommunenummer"]
            if row["change"] == "direct":
                direct.setdefault(source, (year, []))[1].append((target, row["population_share"]))
            else:
                steps.setdefault(year, {}).setdefault(source, []).append((target, row["population_share"]))
        self.step_years: list[int] = sorted(steps)
        self.steps = [steps[y] for y in self.step_years]
        self.direct = direct
        # structures[i] is in force for years before step_years[i] (and from step_years[i-1]).
        structures = [current]
        for step in reversed(self.steps):
            after = structures[0]
            targets = {t for ts in step.values() for t, _ in ts}
            structures.insert(0, frozenset(set(step) | (after - targets)))
        self.structures = structures
        self._validate()

    # ------------------------------------------------------------------ structure

    def structure_index(self, year: int) -> int:
        return bisect.bisect_right(self.step_years, year)

    def period_label(self, index: int) -> str:
        if index == 0:
            return f"before {self.step_years[0]}" if self.step_years else "all years"
        start = self.step_years[index - 1]
        if index == len(self.step_years):
            return f"{start} onwards"
        return f"{start}-{self.step_years[index] - 1}"

    def numbers_in_force(self, year: int) -> frozenset[str]:
        return self.structures[self.structure_index(year)]

    # ------------------------------------------------------------------ translation

    def _chain(self, number: str, start: int) -> dict[str, float]:
        current = {number: 1.0}
        direct = self.direct.get(number)
        for index in range(start, len(self.steps)):
            if direct is not None and self.step_years[index] == direct[0]:
                current = {t: s for t, s in direct[1]}
                continue
            nxt: dict[str, float] = {}
            for source, share in current.items():
                for target, part in self.steps[index].get(source, [(source, 1.0)]):
                    nxt[target] = nxt.get(target, 0.0) + share * part
            current = nxt
        return current

    def translate(self, number: str, year: int) -> Translation | str:
        """The 2024 unit(s) for ``number`` in data for ``year``, or an error message."""
        if len(number) == 6:
            if number in self.bydeler:
                return Translation(number, year, ((number, 1.0),), self.structure_index(year))
            known = ", ".join(sorted(self.bydeler)[:3]) + (" …" if len(self.bydeler) > 3 else "")
            return (f"ukjent bydelsnummer {number}: ikke en bydel i referansegeografien "
                    f"(assets/reference/bydeler_2024.csv; kjente bydeler: {known or 'ingen'})")
        first = self.structure_index(year)
        later = [i for i in range(first, len(self.structures)) if number in self.structures[i]]
        if not later:
            return self._why_invalid(number, year, first)
        start = later[0]
        targets = self._chain(number, start)
        ordered = tuple(sorted(((t, round(s, 6)) for t, s in targets.items()), key=lambda ts: (-ts[1], ts[0])))
        return Translation(number, year, ordered, start)

    def _why_invalid(self, number: str, year: int, first: int) -> str:
        earlier = [i for i in range(first) if number in self.structures[i]]
        if earlier:
            last = earlier[-1]
            step_year = self.step_years[last]
            targets = self.steps[last].get(number, [])
            went = ", ".join(t for t, _ in targets) or "?"
            return (
                f"kommunenummer {number} was replaced in {step_year} (by {went}) and is not valid for {year}; "
                f"data for {year} must use the numbers in force in {year} or later"
            )
        return f"unknown kommunenummer {number} (not a kommune number in force in {year} or later)"

    def to_units(self, translation: Translation) -> Translation:
        """The translation with a split kommune's number replaced by its "uoppgitt bydel" unit."""
        if not any(t in self.uoppgitt for t, _ in translation.targets):
            return translation
        targets: dict[str, float] = {}
        for target, share in translation.targets:
            unit = self.uoppgitt.get(target, target)
            targets[unit] = targets.get(unit, 0.0) + share
        ordered = tuple(sorted(targets.items(), key=lambda ts: (-ts[1], ts[0])))
        return Translation(translation.number, translation.year, ordered, translation.structure)

    def sources_of(self, target: str, structure: int) -> set[str]:
        """The numbers of ``structure`` that (partly) make up the 2024 kommune ``target``."""
        cache = self.__dict__.setdefault("_sources", {})
        if structure not in cache:
            inverse: dict[str, set[str]] = {}
            for number in self.structures[structure]:
                for t in self._chain(number, structure):
                    inverse.setdefault(t, set()).add(number)
            cache[structure] = inverse
        return cache[structure].get(target, set())

    def translate_pairs(self, pairs: pl.DataFrame) -> tuple[pl.DataFrame, dict[tuple[int, str], str]]:
        """Translate distinct (year, kommunenummer) pairs.

        Returns a table year, kommunenummer, target, share, structure, changed, split (one row per
        target) and the error message of every pair that cannot be translated.
        """
        rows: list[tuple] = []
        errors: dict[tuple[int, str], str] = {}
        for year, number in pairs.select("year", "kommunenummer").unique().iter_rows():
            result = self.translate(number, year)
            if isinstance(result, str):
                errors[(year, number)] = result
                continue
            units = self.to_units(result)
            for target, share in units.targets:
                rows.append((year, number, target, share, units.structure, units.changed, units.is_split))
        table = pl.DataFrame(
            rows,
            schema={
                "year": pl.Int32, "kommunenummer": pl.String, "target": pl.String, "share": pl.Float64,
                "structure": pl.Int32, "changed": pl.Boolean, "split": pl.Boolean,
            },
            orient="row",
        )
        return table, errors

    # ------------------------------------------------------------------ validation

    def _validate(self) -> None:
        problems: list[str] = []
        for year, step, after in zip(self.step_years, self.steps, self.structures[1:]):
            for source, targets in step.items():
                total = sum(s for _, s in targets)
                if abs(total - 1.0) > 0.01:
                    problems.append(f"{year} {source}: population shares sum to {total:.3f}, not 1")
                for target, _ in targets:
                    if target not in after:
                        problems.append(f"{year} {source} -> {target}: {target} is not a kommune after {year}")
        for source, (year, targets) in list(self.direct.items()):
            if year not in self.step_years:
                problems.append(f"direct {source} -> {year}: no change in {year}")
                continue
            index = self.step_years.index(year)
            older = [i for i in range(index) if source in self.structures[i]]
            if not older:
                problems.append(f"direct {source}: not a number in force before {year}")
                continue
            chained = self._chain_without_direct(source, older[-1])
            if not {t for t, _ in targets} <= set(chained):
                problems.append(f"direct {source} -> {[t for t, _ in targets]}: not among its successors {sorted(chained)}")
        if problems:
            raise CrosswalkError(f"{self.path}: " + "; ".join(problems[:10]))

    def _chain_without_direct(self, number: str, start: int) -> dict[str, float]:
        saved = self.direct.pop(number, None)
        try:
            return self._chain(number, start)
        finally:
            if saved is not None:
                self.direct[number] = saved


def read_crosswalk(path: Path = CROSSWALK_PATH) -> Crosswalk:
    if not path.is_file():
        raise CrosswalkError(f"{path}: file not found")
    raw = pl.read_csv(path, infer_schema=False)
    missing = [c for c in COLUMNS[:5] if c not in raw.columns]
    if missing:
        raise CrosswalkError(f"{path}: missing column(s) {', '.join(missing)}")
    problems = []
    for i, row in enumerate(raw.iter_rows(named=True), start=2):
        for column in ("from_kommunenummer", "to_kommunenummer"):
            if not (row[column] or "").isdigit() or len(row[column]) != 4:
                problems.append(f"row {i}: {column} must have four digits, got {row[column]!r}")
        if row["change"] not in CHANGES:
            problems.append(f"row {i}: change must be one of {', '.join(CHANGES)}, got {row['change']!r}")
        try:
            share = float(row["population_share"])
            if not 0 < share <= 1:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"row {i}: population_share must be a number in (0, 1], got {row['population_share']!r}")
        if not (row["valid_from_year"] or "").isdigit():
            problems.append(f"row {i}: valid_from_year must be a year, got {row['valid_from_year']!r}")
    if problems:
        raise CrosswalkError(f"{path}: " + "; ".join(problems[:10]))
    rows = raw.select(
        "from_kommunenummer", "to_kommunenummer", pl.col("valid_from_year").cast(pl.Int32), "change",
        pl.col("population_share").cast(pl.Float64),
    )
    duplicated = rows.filter(pl.struct("from_kommunenummer", "to_kommunenummer", "valid_from_year", "change").is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        raise CrosswalkError(f"{path}: duplicate row {first['from_kommunenummer']} -> {first['to_kommunenummer']} ({first['valid_from_year']})")
    bydeler = dict(load_bydeler().select("bydel", "kommunenummer").iter_rows())
    return Crosswalk(rows, frozenset(load_kommuner()["kommunenummer"]), path, bydeler)


@lru_cache(maxsize=2)
def load_crosswalk(path: str | None = None) -> Crosswalk:
    """The validated crosswalk (cached)."""
    return read_crosswalk(Path(path) if path else CROSSWALK_PATH)
