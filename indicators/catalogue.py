"""Load and validate the indicator catalogue (``catalogue.yaml``).

The catalogue is metadata only, like Fingertips' indicator definitions: what is counted,
over which population, in which unit, and how it is standardised. The engine reads it and
computes; nothing about an individual indicator is written in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import yaml

from data_loaders.config import settings
from data_loaders.schema import age_bands_between

CATALOGUE_PATH = Path(__file__).with_name("catalogue.yaml")

UNITS = {
    "per_1000": (1_000, "per 1 000"),
    "per_10000": (10_000, "per 10 000"),
    "per_100000": (100_000, "per 100 000"),
    "percent": (100, "prosent"),
    "per_person": (1, "per person"),  # events per person in a cohort (role per_person)
}
TYPES = ("rate", "proportion")
DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral")
DIRECTION_LABELS = {
    "higher_is_better": "Høy verdi er ønsket",
    "lower_is_better": "Lav verdi er ønsket",
    "neutral": "Ingen retning (beskrivende)",
}
COVERAGES = ("complete", "local")
SEX_FILTERS = ("all", "male", "female")
MEASURE_KINDS = ("events", "persons", "days")
COHORT_ROLES = ("prevalence", "share", "per_person")


class CatalogueError(ValueError):
    """The catalogue is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Term:
    """Numerator or denominator: a measure, or the population, with an age and sex filter."""

    label: str
    measure: str | None = None
    population: bool = False
    age_min: int | None = None
    age_max: int | None = None
    sex: str = "all"

    @property
    def age_bands(self) -> tuple[str, ...]:
        return tuple(age_bands_between(self.age_min, self.age_max))

    @property
    def age_label(self) -> str:
        if self.age_min in (None, 0) and self.age_max is None:
            return "alle aldre"
        if self.age_max is None:
            return f"{self.age_min} år og eldre"
        return f"{self.age_min or 0}–{self.age_max} år"


@dataclass(frozen=True)
class Standardisation:
    method: str  # "none" or "direct"
    by: tuple[str, ...] = ()
    standard: str | None = None

    @property
    def is_standardised(self) -> bool:
        return self.method == "direct"

    @property
    def label(self) -> str:
        if self.method == "published":
            return "Som utgiveren har beregnet og publisert verdiene"
        if not self.is_standardised:
            return "Ikke standardisert (råtall)"
        dims = " og ".join({"age": "alder", "sex": "kjønn"}[d] for d in self.by)
        return f"Direkte standardisert for {dims}"


@dataclass(frozen=True)
class Target:
    value: float
    set_by: str
    note: str = ""


@dataclass(frozen=True)
class Measure:
    id: str
    name: str
    source: str
    kind: str
    definition: str
    parameters: dict = field(default_factory=dict)
    first_year: int | None = None


@dataclass(frozen=True)
class Cohort:
    """A priority group counted as persons (Helsedirektoratet's cohorts): who belongs, and its store measure."""

    id: str
    name: str
    short_name: str
    group: str
    definition: str
    source: str
    age_min: int | None
    age_max: int | None
    measure: str
    overlap_group: bool = False

    @property
    def age_bands(self) -> tuple[str, ...]:
        return tuple(age_bands_between(self.age_min, self.age_max))

    @property
    def age_label(self) -> str:
        return Term(label="", population=True, age_min=self.age_min, age_max=self.age_max).age_label


@dataclass(frozen=True)
class OverlapCombination:
    """Persons in exactly one combination of the overlap groups: ``id`` has one bit per group, in order."""

    id: str
    measure: str
    name: str

    def contains(self, position: int) -> bool:
        return self.id[position] == "1"


@dataclass(frozen=True)
class Overlap:
    """The overlap between the priority groups (the catalogue's ``overlap:`` section)."""

    name: str
    definition: str
    source: str
    union_name: str
    groups: tuple[tuple[str, str], ...]  # (cohort id, name), in bit order
    combinations: tuple[OverlapCombination, ...]

    def containing(self, cohort_id: str) -> tuple[OverlapCombination, ...]:
        """The combinations whose persons belong to the group ``cohort_id``."""
        position = [g for g, _ in self.groups].index(cohort_id)
        return tuple(c for c in self.combinations if c.contains(position))


@dataclass(frozen=True)
class Group:
    id: str
    name: str


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    short_name: str
    description: str
    group: str
    type: str
    numerator: Term
    denominator: Term
    unit: str
    direction: str
    standardisation: Standardisation
    source: str
    suppression_threshold: int
    target: Target | None = None
    first_year: int | None = None
    coverage: str = "complete"
    # "computed" (from counts by the engine) or "published" (a publisher's own values, imported
    # into the store; ``indicators.published``). A published indicator carries its publisher,
    # its unit as the publisher words it, the level it is published at and the publisher's flags.
    kind: str = "computed"
    publisher: str = ""
    unit_text: str = ""
    level: str = ""
    interval_label: str = ""
    flags_note: str = ""
    definition: str = ""
    # A cohort indicator (``cohort: {id, role}``): the cohort's id and the role, one of
    # COHORT_ROLES (prevalence in the population, share of the cohort, events per person).
    cohort: str | None = None
    cohort_role: str | None = None

    @property
    def is_published(self) -> bool:
        return self.kind == "published"

    @property
    def published_by(self) -> str:
        """"Publisert av SKDE" for a published indicator, "" for a computed one."""
        return f"Publisert av {self.publisher}" if self.is_published else ""

    @property
    def multiplier(self) -> int:
        return UNITS[self.unit][0] if self.unit in UNITS else 1

    @property
    def unit_label(self) -> str:
        return self.unit_text or UNITS[self.unit][1]

    @property
    def is_standardised(self) -> bool:
        return self.standardisation.is_standardised

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(m for m in (self.numerator.measure, self.denominator.measure) if m)

    @property
    def denominator_is_sensitive(self) -> bool:
        """A denominator counted from a register (not the public population) is suppressed too."""
        return not self.denominator.population


@dataclass(frozen=True)
class Catalogue:
    groups: tuple[Group, ...]
    measures: dict[str, Measure]
    indicators: tuple[Indicator, ...]
    standard_populations: dict[str, dict]
    path: Path
    cohorts: tuple[Cohort, ...] = ()
    overlap: Overlap | None = None

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        known = ", ".join(i.id for i in self.indicators)
        raise KeyError(f"unknown indicator {indicator_id!r}; known indicators: {known}")

    def group(self, group_id: str) -> Group:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise KeyError(f"unknown group {group_id!r}; known groups: {', '.join(g.id for g in self.groups)}")

    def in_group(self, group_id: str) -> tuple[Indicator, ...]:
        self.group(group_id)
        return tuple(i for i in self.indicators if i.group == group_id)

    def cohort(self, cohort_id: str) -> Cohort:
        for c in self.cohorts:
            if c.id == cohort_id:
                return c
        raise KeyError(f"unknown cohort {cohort_id!r}; known cohorts: {', '.join(c.id for c in self.cohorts)}")


def _require(entry: dict, key: str, where: str):
    if key not in entry or entry[key] in (None, ""):
        raise CatalogueError(f"{where}: missing required field {key!r}")
    return entry[key]


def _term(raw: dict, where: str, measures: dict[str, Measure]) -> Term:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: must be a mapping")
    age = raw.get("age") or {}
    term = Term(
        label=str(_require(raw, "label", where)),
        measure=raw.get("measure"),
        population=bool(raw.get("population", False)),
        age_min=age.get("min"),
        age_max=age.get("max"),
        sex=raw.get("sex", "all"),
    )
    if term.population == bool(term.measure):
        raise CatalogueError(f"{where}: give exactly one of 'measure' or 'population: true'")
    if term.measure and term.measure not in measures:
        raise CatalogueError(f"{where}: unknown measure {term.measure!r}; declare it under 'measures'")
    if term.sex not in SEX_FILTERS:
        raise CatalogueError(f"{where}: sex must be one of {', '.join(SEX_FILTERS)}, got {term.sex!r}")
    try:
        term.age_bands
    except ValueError as exc:
        raise CatalogueError(f"{where}: {exc}") from exc
    return term


def _indicator(raw: dict, groups: set[str], measures: dict[str, Measure], standards: dict, default_threshold: int) -> Indicator:
    ind_id = _require(raw, "id", "indicator")
    where = f"indicator {ind_id!r}"
    kind = _require(raw, "type", where)
    if kind not in TYPES:
        raise CatalogueError(f"{where}: type must be one of {', '.join(TYPES)}, got {kind!r}")
    unit = _require(raw, "unit", where)
    if unit not in UNITS:
        raise CatalogueError(f"{where}: unit must be one of {', '.join(UNITS)}, got {unit!r}")
    if kind == "proportion" and unit != "percent":
        raise CatalogueError(f"{where}: a proportion is given in percent, got unit {unit!r}")
    direction = _require(raw, "direction", where)
    if direction not in DIRECTIONS:
        raise CatalogueError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    group = _require(raw, "group", where)
    if group not in groups:
        raise CatalogueError(f"{where}: unknown group {group!r}")
    std_raw = raw.get("standardisation") or {"method": "none"}
    method = std_raw.get("method", "none")
    if method not in ("none", "direct"):
        raise CatalogueError(f"{where}: standardisation method must be 'none' or 'direct', got {method!r}")
    by = tuple(std_raw.get("by", ()))
    if method == "direct":
        if not by or any(d not in ("age", "sex") for d in by):
            raise CatalogueError(f"{where}: direct standardisation needs 'by' with age and/or sex")
        if std_raw.get("standard") not in standards:
            raise CatalogueError(f"{where}: unknown standard population {std_raw.get('standard')!r}")
    standardisation = Standardisation(method=method, by=by, standard=std_raw.get("standard"))
    numerator = _term(_require(raw, "numerator", where), f"{where} numerator", measures)
    denominator = _term(_require(raw, "denominator", where), f"{where} denominator", measures)
    if numerator.population:
        raise CatalogueError(f"{where}: the numerator must be a measure")
    if method == "direct" and not denominator.population:
        raise CatalogueError(f"{where}: direct standardisation needs a population denominator")
    if not set(numerator.age_bands) <= set(denominator.age_bands):
        raise CatalogueError(f"{where}: the numerator's ages must lie within the denominator's")
    target_raw = raw.get("target")
    target = None
    if target_raw:
        target = Target(value=float(_require(target_raw, "value", f"{where} target")),
                        set_by=str(target_raw.get("set_by", "lokalt")), note=str(target_raw.get("note", "")))
    declared = int(raw.get("suppression_threshold", default_threshold))
    if declared < 1:
        raise CatalogueError(f"{where}: suppression_threshold must be at least 1")
    # The deployment's threshold is a floor: an entry may be stricter, never looser.
    threshold = max(declared, default_threshold)
    coverage = raw.get("coverage", "complete")
    if coverage not in COVERAGES:
        raise CatalogueError(f"{where}: coverage must be one of {', '.join(COVERAGES)}")
    first_year = raw.get("first_year") or max(
        (measures[m].first_year or 0 for m in (numerator.measure, denominator.measure) if m), default=0
    ) or None
    return Indicator(
        id=ind_id,
        name=str(_require(raw, "name", where)),
        short_name=str(raw.get("short_name") or raw["name"]),
        description=" ".join(str(_require(raw, "description", where)).split()),
        group=group,
        type=kind,
        numerator=numerator,
        denominator=denominator,
        unit=unit,
        direction=direction,
        standardisation=standardisation,
        source=str(_require(raw, "source", where)),
        suppression_threshold=threshold,
        target=target,
        first_year=first_year,
        coverage=coverage,
    )


def _cohort(raw: dict, groups: set[str], measures: dict[str, Measure]) -> Cohort:
    if not isinstance(raw, dict):
        raise CatalogueError("cohort: each entry must be a mapping")
    cohort_id = _require(raw, "id", "cohort")
    where = f"cohort {cohort_id!r}"
    group = _require(raw, "group", where)
    if group not in groups:
        raise CatalogueError(f"{where}: field 'group': unknown group {group!r}")
    measure = _require(raw, "measure", where)
    if measure not in measures:
        raise CatalogueError(f"{where}: field 'measure': unknown measure {measure!r}; declare it under 'measures'")
    if measures[measure].kind != "persons":
        raise CatalogueError(f"{where}: field 'measure': {measure!r} must count persons (kind: persons)")
    age = raw.get("age")
    if not isinstance(age, dict) or "min" not in age:
        raise CatalogueError(f"{where}: field 'age' must be a mapping with 'min' (and 'max' unless open-ended)")
    overlap_group = raw.get("overlap_group", False)
    if not isinstance(overlap_group, bool):
        raise CatalogueError(f"{where}: field 'overlap_group' must be true or false, got {overlap_group!r}")
    cohort = Cohort(
        id=cohort_id,
        name=str(_require(raw, "name", where)),
        short_name=str(_require(raw, "short_name", where)),
        group=group,
        definition=" ".join(str(_require(raw, "definition", where)).split()),
        source=" ".join(str(_require(raw, "source", where)).split()),
        age_min=age.get("min"),
        age_max=age.get("max"),
        measure=measure,
        overlap_group=overlap_group,
    )
    try:
        cohort.age_bands
    except ValueError as exc:
        raise CatalogueError(f"{where}: field 'age': {exc}") from exc
    return cohort


def _cohorts(entries: list, groups: set[str], measures: dict[str, Measure]) -> tuple[Cohort, ...]:
    cohorts: dict[str, Cohort] = {}
    for entry in entries or []:
        cohort = _cohort(entry, groups, measures)
        if cohort.id in cohorts:
            raise CatalogueError(f"cohort {cohort.id!r}: declared twice")
        cohorts[cohort.id] = cohort
    return tuple(cohorts.values())


def _overlap(raw, cohorts: dict[str, Cohort], measures: dict[str, Measure]) -> Overlap | None:
    """The ``overlap:`` section: its groups (overlap cohorts, in bit order) and every combination of them."""
    if raw is None:
        return None
    where = "overlap"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: must be a mapping")
    groups = []
    for entry in _require(raw, "groups", where):
        cohort_id = _require(entry, "cohort", f"{where} groups")
        if cohort_id not in cohorts or not cohorts[cohort_id].overlap_group:
            raise CatalogueError(f"{where}: field 'groups': {cohort_id!r} is not a cohort with overlap_group: true")
        groups.append((cohort_id, str(_require(entry, "name", f"{where} group {cohort_id!r}"))))
    if len({g for g, _ in groups}) != len(groups):
        raise CatalogueError(f"{where}: field 'groups': a group is listed twice")
    expected = {format(v, f"0{len(groups)}b") for v in range(1, 2 ** len(groups))}
    combinations = []
    for entry in _require(raw, "combinations", where):
        combo_id = str(_require(entry, "id", f"{where} combinations"))
        at = f"{where} combination {combo_id!r}"
        if combo_id not in expected:
            raise CatalogueError(f"{at}: field 'id' must be {len(groups)} digits 0/1, not all 0, once each")
        expected.discard(combo_id)
        measure = str(_require(entry, "measure", at))
        if measure in measures and measures[measure].kind != "persons":
            raise CatalogueError(f"{at}: field 'measure': {measure!r} must count persons (kind: persons)")
        combinations.append(OverlapCombination(id=combo_id, measure=measure, name=str(_require(entry, "name", at))))
    if expected:
        raise CatalogueError(f"{where}: field 'combinations': missing {', '.join(sorted(expected))}")
    return Overlap(
        name=str(_require(raw, "name", where)),
        definition=" ".join(str(_require(raw, "definition", where)).split()),
        source=" ".join(str(_require(raw, "source", where)).split()),
        union_name=str(_require(raw, "union_name", where)),
        groups=tuple(groups),
        combinations=tuple(sorted(combinations, key=lambda c: c.id)),
    )


def _with_cohort(ind: Indicator, raw: dict, cohorts: dict[str, Cohort]) -> Indicator:
    """Validate an indicator's ``cohort: {id, role}`` against its terms and attach it.

    prevalence: the cohort's persons over the population of its ages (a proportion);
    share: persons in the cohort with an event over the cohort's persons (a proportion);
    per_person: events over the cohort's persons (a rate in unit per_person).
    """
    where = f"indicator {ind.id!r}"
    spec = raw.get("cohort")
    if spec is None:
        if ind.unit == "per_person":
            raise CatalogueError(f"{where}: field 'unit': per_person needs 'cohort' with role per_person")
        return ind
    if not isinstance(spec, dict):
        raise CatalogueError(f"{where}: field 'cohort' must be a mapping with 'id' and 'role'")
    cohort_id = _require(spec, "id", f"{where} cohort")
    if cohort_id not in cohorts:
        raise CatalogueError(f"{where}: field 'cohort.id': unknown cohort {cohort_id!r}; declare it under 'cohorts'")
    role = _require(spec, "role", f"{where} cohort")
    if role not in COHORT_ROLES:
        raise CatalogueError(f"{where}: field 'cohort.role' must be one of {', '.join(COHORT_ROLES)}, got {role!r}")
    cohort = cohorts[cohort_id]
    num, den = ind.numerator, ind.denominator
    if not set(num.age_bands) <= set(cohort.age_bands):
        raise CatalogueError(f"{where}: field 'numerator.age': the ages must lie within cohort {cohort_id!r}'s ({cohort.age_label})")
    if role == "prevalence":
        if ind.type != "proportion" or num.measure != cohort.measure or not den.population:
            raise CatalogueError(f"{where}: field 'cohort.role': prevalence needs type proportion, numerator measure "
                                 f"{cohort.measure!r} and a population denominator")
    else:
        if den.measure != cohort.measure:
            raise CatalogueError(f"{where}: field 'denominator.measure': role {role} divides by the cohort's "
                                 f"persons ({cohort.measure!r}), got {den.measure!r}")
        if role == "share" and ind.type != "proportion":
            raise CatalogueError(f"{where}: field 'type': role share is a proportion, got {ind.type!r}")
        if role == "per_person" and (ind.type != "rate" or ind.unit != "per_person"):
            raise CatalogueError(f"{where}: field 'unit': role per_person is a rate in unit per_person, "
                                 f"got {ind.type!r} in {ind.unit!r}")
    if ind.unit == "per_person" and role != "per_person":
        raise CatalogueError(f"{where}: field 'unit': per_person is only for role per_person, got role {role!r}")
    return replace(ind, cohort=cohort_id, cohort_role=role)


def parse_catalogue(raw: dict, path: Path, default_threshold: int) -> Catalogue:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: the catalogue must be a mapping")
    groups = tuple(Group(id=_require(g, "id", "group"), name=_require(g, "name", "group")) for g in raw.get("groups", []))
    measures: dict[str, Measure] = {}
    for m in raw.get("measures", []):
        mid = _require(m, "id", "measure")
        if mid in measures:
            raise CatalogueError(f"measure {mid!r}: declared twice")
        kind = _require(m, "kind", f"measure {mid!r}")
        if kind not in MEASURE_KINDS:
            raise CatalogueError(f"measure {mid!r}: kind must be one of {', '.join(MEASURE_KINDS)}")
        measures[mid] = Measure(
            id=mid,
            name=_require(m, "name", f"measure {mid!r}"),
            source=_require(m, "source", f"measure {mid!r}"),
            kind=kind,
            definition=" ".join(str(_require(m, "definition", f"measure {mid!r}")).split()),
            parameters=dict(m.get("parameters") or {}),
            first_year=m.get("first_year"),
        )
    standards = dict(raw.get("standard_populations") or {})
    group_ids = {g.id for g in groups}
    cohorts = _cohorts(raw.get("cohorts"), group_ids, measures)
    cohort_by_id = {c.id: c for c in cohorts}
    indicators = []
    seen: set[str] = set()
    for entry in raw.get("indicators", []):
        ind = _with_cohort(_indicator(entry, group_ids, measures, standards, default_threshold), entry, cohort_by_id)
        if ind.id in seen:
            raise CatalogueError(f"indicator {ind.id!r}: declared twice")
        seen.add(ind.id)
        indicators.append(ind)
    if not indicators:
        raise CatalogueError(f"{path}: no indicators declared")
    return Catalogue(groups=groups, measures=measures, indicators=tuple(indicators), standard_populations=standards, path=path,
                     cohorts=cohorts, overlap=_overlap(raw.get("overlap"), cohort_by_id, measures))


@lru_cache(maxsize=4)
def _load(path: str, default_threshold: int) -> Catalogue:
    with open(path, encoding="utf-8") as fh:
        raw = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when built in
    try:
        return parse_catalogue(raw, Path(path), default_threshold)
    except CatalogueError as exc:
        raise CatalogueError(f"{path}: {exc}") from None


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The validated catalogue (cached per file and suppression threshold).

    ``STYRING_CATALOGUE`` names another catalogue file (a deployment's own indicators, or a test's).
    The published indicators imported into the current store follow the catalogue's own.
    """
    import os

    from indicators.published import with_published  # the store's published indicators, beside the computed ones

    return with_published(_load(str(path or os.environ.get("STYRING_CATALOGUE") or CATALOGUE_PATH),
                                settings().suppression_threshold))
