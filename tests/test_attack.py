"""An outsider attacks the published exports with linear programming, and finds nothing.

The attacker of issue 19, written as an outsider's script: it reads only what anyone can download
(the CSV exports of every level, single years and pooled windows, from ``python -m indicators
export``), the public geography (which kommune or bydel lies in which area) and the public
catalogue (which count each indicator publishes as numerator and denominator). It sets up one
unknown per hidden kommune/bydel count and year, one equation per published count, numerator <=
denominator for proportions of two counts, and solves LPs (``tests.attacker``, SciPy's HiGHS) for
the bounds of every hidden count whose true value (read from the store's rows, not from the
engine) is 1-4. None may be pinned, proven below 5, or (for a single count) proven above 1:

- over every level, year, window and indicator of one release;
- across indicators that publish the same count (discharges for two psychiatric indicators; new
  cancer patients as numerator of one and denominator of SP1-SP3);
- across two successive releases: the store without its last year, then with it.

The overlap export (``python -m indicators overlap``) is read too, with the relations the catalogue
states: each overlap group's persons are the sum of the combinations that contain it, in every unit
and year, and the union the sum of all 15.

The release holds the indicators of those counts plus the designed small counts of
``tests/small_counts_store.py`` (``STYRING_CATALOGUE``); counts of other indicators share no
unknown with these, so leaving them out removes no equation the attack could use.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.attacker import Attack

ATTACKED = (
    "psyk_tvangsinnleggelser_18", "eldre_reinnleggelse_30d_67",
    "psyk_reinnleggelse_30d", "psyk_oppfolging_7d",
    "kreft_nye_pasienter", "kreft_sp1_behovskartlegging", "kreft_sp2_behovskartlegging", "kreft_sp3_behovskartlegging",
    # the four overlap groups' sizes (their prevalence numerators), read beside the overlap export
    "kohort_barn_og_unge_andel", "kohort_psykisk_lidelse_andel", "kohort_skropelige_eldre_andel",
    "kohort_multimorbiditet_andel",
)
THRESHOLD = 5
HIDDEN = "suppressed"
MISSING = "not_reported"


@pytest.fixture(scope="module")
def releases(tmp_path_factory, demo_database_url) -> dict:
    """Two releases of the small-counts store (without and with its last year), exported at every level."""
    from tests.small_counts_store import build_small_counts_store

    root = tmp_path_factory.mktemp("attack")
    demo_path = Path(demo_database_url.removeprefix("sqlite:///"))
    built = build_small_counts_store(root / "store", demo_store=demo_path)
    catalogue = root / "catalogue.yaml"
    raw = yaml.safe_load(Path(__file__).resolve().parents[1].joinpath("indicators", "catalogue.yaml").read_text("utf-8"))
    raw["indicators"] = [i for i in raw["indicators"] if i["id"] in ATTACKED]
    catalogue.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    last = _last_year(built.path)
    earlier = root / "earlier.sqlite"
    shutil.copyfile(built.path, earlier)
    with sqlite3.connect(earlier) as db:
        for table in ("event_count", "population", "measure_coverage"):
            db.execute(f"DELETE FROM {table} WHERE year = ?", (last,))
        db.execute("UPDATE dataset SET row_count = row_count - 1")  # a new data version
    out = {}
    for name, path in (("earlier", earlier), ("latest", built.path)):
        out[name] = {"path": path, "files": _export(path, catalogue, root / f"export-{name}")}
    out["last_year"] = last
    return out


def _last_year(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT max(year) FROM event_count").fetchone()[0])


def _export(store: Path, catalogue: Path, directory: Path) -> list[Path]:
    """Every level, single years and pooled windows, as anyone can download them (the CLI, csv-plain)."""
    from data_loaders.config import settings
    from data_loaders.reference import LEVELS
    from indicators import __main__ as cli
    from indicators import engine
    from indicators.catalogue import _load

    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "STYRING_CATALOGUE")}
    os.environ["DATABASE_URL"] = f"sqlite:///{store}"
    os.environ["STYRING_CATALOGUE"] = str(catalogue)
    settings.cache_clear()
    _load.cache_clear()
    engine.clear_caches()
    try:
        for level in LEVELS:
            for pooled in (False, True):
                target = directory / f"{level}{'-pooled' if pooled else ''}"
                args = ["export", "--all", "--level", level, "--format", "csv-plain", "--out", str(target)]
                assert cli.main(args + (["--pooled"] if pooled else [])) == 0
            # the overlap between the priority groups (above the kommuner): every combination, the union, the groups
            if level in ("helsefellesskap", "land"):
                target = directory / level / "overlapp.csv"
                assert cli.main(["overlap", "--level", level, "--format", "csv-plain", "--out", str(target)]) == 0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        settings.cache_clear()
        _load.cache_clear()
        engine.clear_caches()
    return sorted(p for p in directory.rglob("*.csv") if p.name.split(".")[0] in (*ATTACKED, "overlapp"))


# --- the outsider ----------------------------------------------------------------------------------


def _counts() -> dict[str, dict[str, tuple | None]]:
    """indicator -> {"teller": count identity, "nevner": count identity or None (the population)}, from the catalogue.

    The overlap's rows (``overlap_rows``) count too: a combination is its measure at all ages, a group
    its cohort's measure over the cohort's ages, and the union (``UNION``) the sum of the combinations
    (``parts``), as the catalogue's ``overlap:`` section says."""
    from data_loaders.schema import AGE_BAND_LABELS
    from indicators import load_catalogue, overlap

    catalogue = load_catalogue()
    out = {}

    def key(term):
        return None if term.population else (term.measure, term.sex, tuple(term.age_bands))

    for ind in catalogue.indicators:
        if ind.id in ATTACKED:
            out[ind.id] = {"teller": key(ind.numerator), "nevner": key(ind.denominator), "type": ind.type}
    if catalogue.overlap is not None:
        combos = []
        for c in catalogue.overlap.combinations:
            combos.append(COMBINATION + c.id)
            out[COMBINATION + c.id] = {"teller": (c.measure, "all", AGE_BAND_LABELS), "nevner": None, "type": "count"}
        for g, _ in catalogue.overlap.groups:
            prevalence = catalogue.indicator(overlap.prevalence_indicator(catalogue, g))
            out[GROUP + g] = {"teller": key(prevalence.numerator), "nevner": None, "type": "count"}
        out[UNION] = {"teller": None, "nevner": None, "type": "sum", "parts": combos}
    return out


COMBINATION, GROUP, UNION = "overlapp_", "overlapp_gruppe_", "overlapp_union"


def overlap_rows(tables) -> list[dict]:
    """The overlap export's rows (``indicators.overlap``, Norwegian columns) in the indicator rows' shape."""
    rows = []
    for frame in tables:
        for r in frame.iter_rows(named=True):
            ind = {"kombinasjon": COMBINATION, "gruppe": GROUP}.get(r["rad"])
            rows.append({"indikator_id": UNION if ind is None else f"{ind}{r['kombinasjon_id']}", "nivaa": r["nivaa"],
                         "omraade_id": r["omraade_id"], "fra_aar": str(r["aar"]), "til_aar": str(r["aar"]),
                         "teller": None if r["personer"] is None else str(r["personer"]), "nevner": None,
                         "flagg": r["flagg"]})
    return rows


def _geography() -> dict[tuple[str, str], list[str]]:
    """(level, area) -> the kommuner and bydeler (area units) in it, from the public reference tables."""
    from data_loaders.reference import UNIT_LEVEL_COLUMNS, unit_table

    units = unit_table()
    areas: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in units.iter_rows(named=True):
        areas[("land", "0")].append(row["unit"])
        for level, column in UNIT_LEVEL_COLUMNS.items():
            if row.get(column) is not None:
                areas[(level, str(row[column]))].append(row["unit"])
    return dict(areas)


def _rows(files: list[Path]) -> list[dict]:
    rows = []
    for path in files:
        frame = pl.read_csv(path, comment_prefix="#", infer_schema=False)
        if "kombinasjon_id" in frame.columns:  # the overlap export
            rows += overlap_rows([frame])
            continue
        rows += frame.select("indikator_id", "nivaa", "omraade_id", "fra_aar", "til_aar", "teller", "nevner", "flagg").to_dicts()
    return rows


def _outsider(releases: list[list[Path]]) -> tuple[Attack, dict]:
    """The attacker's system from the published files of one or more releases."""
    counts, areas = _counts(), _geography()
    unit_set = {u for members in areas.values() for u in members}
    rows = [row for files in releases for row in _rows(files)]
    # Which units report an indicator in a year (a unit-level row that is not "not_reported"),
    # and every unit count the exports show or hide.
    reports: dict[tuple[str, int], set[str]] = defaultdict(set)
    published: dict[tuple, float] = {}
    hidden: set[tuple] = set()
    for row in rows:
        single = row["fra_aar"] == row["til_aar"]
        if not (single and row["omraade_id"] in unit_set and row["nivaa"] in ("kommune", "bydel")):
            continue
        if row["flagg"] == MISSING:
            continue
        year = int(row["fra_aar"])
        reports[(row["indikator_id"], year)].add(row["omraade_id"])
        for role in ("teller", "nevner"):
            count = counts[row["indikator_id"]][role]
            if count is None:
                continue
            key = (count, row["omraade_id"], year)
            if row["flagg"] == HIDDEN:
                hidden.add(key)
            else:
                published[key] = float(row[role])
    attack = Attack()
    seen = set()
    for row in rows:
        if row["flagg"] in (HIDDEN, MISSING) or row["indikator_id"].startswith(COMBINATION):
            continue  # (the overlap export: ``_overlap_system``)
        ind = row["indikator_id"]
        members = areas[(row["nivaa"], row["omraade_id"])]
        years = range(int(row["fra_aar"]), int(row["til_aar"]) + 1)
        for role in ("teller", "nevner"):
            count = counts[ind][role]
            if count is None or row[role] is None:
                continue
            atoms = [(count, u, y) for y in years for u in members if u in reports[(ind, y)]]
            unknown = tuple(sorted((a for a in atoms if a in hidden), key=repr))
            known = sum(published.get(a, 0.0) for a in atoms if a not in hidden)
            equation = (unknown, float(row[role]) - known)
            if unknown and equation not in seen:
                seen.add(equation)
                attack.equation(*equation)
    # A hidden row hides its numerator with its denominator, so a hidden numerator may be zero;
    # every other hidden count is at least 1 (zeros are shown).
    numerators_of_two = {roles["teller"] for roles in counts.values() if roles["nevner"] is not None}
    for atom in hidden:
        if atom[0] in numerators_of_two:
            attack.lower[atom] = 0.0
    for ind, roles in counts.items():
        if roles["type"] == "proportion" and roles["nevner"] is not None:
            for (count, unit, year) in hidden:
                if count == roles["teller"]:
                    partner = (roles["nevner"], unit, year)
                    if partner in hidden:
                        attack.less_equal.append(((count, unit, year), partner))
                    elif partner in published:
                        attack.upper[(count, unit, year)] = min(attack.upper.get((count, unit, year), float("inf")),
                                                                published[partner])
    _overlap_system(attack, rows, counts, areas, reports, hidden, published)
    return attack, {"hidden": hidden, "published": published}


def _overlap_system(attack: Attack, rows: list[dict], counts: dict, areas: dict, reports: dict, hidden: set,
                    published: dict) -> None:
    """The overlap export (published per helsefellesskap and for the country) in the attacker's system.

    Unknowns: each hidden combination of a helsefellesskap and year (the export's finest cells). Equations:
    every published combination and union, the country's as sums over the helsefellesskap, and what the
    catalogue tells everyone: a group's persons (its cohort count summed over the helsefellesskap's
    kommuner and bydeler, the same unknowns as the cohort indicators') are the sum of the 8 combinations
    that contain it. (Per kommune the combinations are never published; as unknowns of their own they
    would only say that each kommune's cohort is at most its helsefellesskap's group, which is published.)
    """
    from indicators import load_catalogue

    spec = load_catalogue().overlap
    overlap = [r for r in rows if r["indikator_id"].startswith(COMBINATION) and r["flagg"] != MISSING]
    if spec is None or not overlap:
        return
    hf_ids = sorted({r["omraade_id"] for r in overlap if r["nivaa"] == "helsefellesskap"})
    combos = [COMBINATION + c.id for c in spec.combinations]
    for r in overlap:  # the atoms: each helsefellesskap's combinations
        if r["nivaa"] == "helsefellesskap" and r["indikator_id"] in combos:
            atom = (counts[r["indikator_id"]]["teller"], r["omraade_id"], int(r["fra_aar"]))
            if r["flagg"] == HIDDEN:
                hidden.add(atom)
            else:
                published[atom] = float(r["teller"])

    def add(terms: list[tuple], value: float) -> None:  # sum(coef * atom) = value
        known = sum(c * published[a] for a, c in terms if a not in hidden)
        attack.linear_equation([(a, c) for a, c in terms if a in hidden], value - known)

    for r in overlap:
        year, ind = int(r["fra_aar"]), r["indikator_id"]
        if r["flagg"] == HIDDEN or ind.startswith(GROUP):
            continue  # a group's row is its prevalence indicator's numerator, read with the indicators
        areas_of_row = hf_ids if r["nivaa"] == "land" else [r["omraade_id"]]
        parts = counts[ind]["parts"] if ind == UNION else [ind]
        if r["nivaa"] == "land" or ind == UNION:
            add([((counts[p]["teller"], hf, year), 1.0) for p in parts for hf in areas_of_row], float(r["teller"]))
    for position, (cohort_id, _) in enumerate(spec.groups):
        group = counts[GROUP + cohort_id]["teller"]
        prevalence = next((i for i, roles in counts.items() if roles["teller"] == group and not i.startswith(COMBINATION)), None)
        members = [COMBINATION + c.id for c in spec.combinations if c.contains(position)]
        for year in sorted({int(r["fra_aar"]) for r in overlap}):
            for hf in hf_ids:
                units = [u for u in areas[("helsefellesskap", hf)] if prevalence and u in reports[(prevalence, year)]]
                atoms = [(group, u, year) for u in units]
                if not all(a in hidden or a in published for a in atoms):
                    continue
                add([(a, 1.0) for a in atoms] + [((counts[m]["teller"], hf, year), -1.0) for m in members], 0.0)


def _truth(store: Path) -> dict[tuple, float]:
    """Every (count identity, unit, year) from the store's rows (not from the engine)."""
    counts = _counts()
    wanted = {c for roles in counts.values() for c in (roles["teller"], roles["nevner"]) if c is not None}
    with sqlite3.connect(store) as db:
        frame = pl.read_database("SELECT measure_id, year, kommunenummer, sex, age_band, count FROM event_count", db)
    truth: dict[tuple, float] = defaultdict(float)
    for measure, sex, bands in wanted:
        part = frame.filter((pl.col("measure_id") == measure) & pl.col("age_band").is_in(list(bands)))
        if sex != "all":
            part = part.filter(pl.col("sex") == sex)
        for year, unit, total in part.group_by("year", "kommunenummer").agg(pl.col("count").sum()).iter_rows():
            truth[((measure, sex, bands), unit, int(year))] = float(total)
    # the overlap's combinations per helsefellesskap (its finest published cells)
    combos = {roles["teller"] for i, roles in counts.items() if i.startswith(COMBINATION) and not i.startswith(GROUP)
              and roles["teller"] is not None}
    for (level, hf), units in _geography().items():
        if level == "helsefellesskap":
            for key, unit, year in [a for a in truth if a[0] in combos and a[1] in set(units)]:
                truth[(key, hf, year)] += truth[(key, unit, year)]
    return truth


COHORT_TARGETS = 150  # small hidden cohort and overlap counts solved for per attack (an even sample)


def _breaches(attack: Attack, hidden: set, truth: dict, most: int | None = COHORT_TARGETS) -> list[str]:
    """The hidden counts of 1-4 the attacker pins or bounds. Of the cohort and overlap counts (thousands of
    kommune counts of 15 combinations) an even sample of ``most`` is solved for; the attack's system stays
    whole (every published number and relation), and every other hidden small count is solved for."""
    small = sorted((a for a in hidden if 0 < truth.get(a, 0) < THRESHOLD), key=repr)
    assert small, "the small-counts store has hidden small counts to attack"
    cohort = [a for a in small if a[0][0].startswith(("overlapp_", "kohort_"))]
    if most is not None and len(cohort) > most:
        small = [a for a in small if a not in set(cohort)] + cohort[::-(-len(cohort) // most)]
    found = []
    for atom, (low, high) in zip(small, attack.bounds([(a,) for a in small])):
        if high < THRESHOLD or low > 1:
            found.append(f"{atom}: true {truth[atom]:g}, attacker's interval [{low:g}, {high:g}]")
    return found


def test_an_lp_over_one_release_neither_pins_nor_bounds_a_small_count(releases):
    attack, state = _outsider([releases["latest"]["files"]])
    truth = _truth(releases["latest"]["path"])
    assert not [a for a in state["published"] if 0 < truth.get(a, 0) < THRESHOLD], "no small count is published"
    assert _breaches(attack, state["hidden"], truth) == []


def test_indicators_sharing_a_count_publish_it_alike(releases):
    """A kommune's or bydel's count that two indicators publish (discharges; new cancer patients) shows
    the same number wherever it is shown, and a small one is shown by neither. (A total over the
    kommuner that report SP2 is another count than the total over all kommuner.)"""
    counts = _counts()
    truth = _truth(releases["latest"]["path"])
    units = {u for members in _geography().values() for u in members}
    shown: dict[tuple, set[float]] = defaultdict(set)
    for row in _rows(releases["latest"]["files"]):
        if row["flagg"] in (HIDDEN, MISSING) or row["fra_aar"] != row["til_aar"] or row["omraade_id"] not in units:
            continue
        for role in ("teller", "nevner"):
            count = counts[row["indikator_id"]][role]
            if count is not None and count[0] in ("npr_phv_tsb_utskrivninger", "kreft_nye_pasienter"):
                shown[(count, row["nivaa"], row["omraade_id"], int(row["fra_aar"]))].add(float(row[role]))
    assert shown, "the shared counts are published"
    assert {k: v for k, v in shown.items() if len(v) > 1} == {}
    cells = [(count, area, year) for (count, _, area, year) in shown]
    assert [c for c in cells if 0 < truth.get(c, 0) < THRESHOLD] == []


def test_two_successive_releases_together_reveal_nothing(releases):
    attack, state = _outsider([releases["earlier"]["files"], releases["latest"]["files"]])
    truth = _truth(releases["latest"]["path"])
    assert _breaches(attack, state["hidden"], truth) == []


def test_pooled_windows_stay_put_between_releases(releases):
    """The windows both releases publish are the same fixed windows, with the same numbers."""
    def windows(files):
        return {(r["indikator_id"], r["nivaa"], r["omraade_id"], r["fra_aar"], r["til_aar"]): (r["teller"], r["flagg"])
                for r in _rows(files) if r["fra_aar"] != r["til_aar"]}

    earlier, latest = windows(releases["earlier"]["files"]), windows(releases["latest"]["files"])
    assert {(k[3], k[4]) for k in latest} >= {(k[3], k[4]) for k in earlier}
    assert all((int(k[4]) - int(k[3])) == 2 and (int(k[3]) - 2020) % 3 == 0 for k in latest)
    common = earlier.keys() & latest.keys()
    assert common and all(earlier[k] == latest[k] for k in common)
