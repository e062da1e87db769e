"""A plain pandas implementation of the engine's whole-catalogue computation (benchmark baseline).

Written the way an analyst would write it without special tuning: read the store's tables
with ``pandas.read_sql`` through SQLAlchemy, then loop indicators × periods × levels with
groupby/merge. For every area it computes what ``indicators.compute`` computes: numerator
and denominator over the kommune-years where every measure of the indicator is covered,
the crude rate (exact Poisson limits below 10 events, Byar's from 10) or proportion
(Wilson), the directly standardised rate (Dobson limits; no value below 10 events) against
the national population of the catalogue's standard year, the national value and
significance, for single years and the fixed pooled three-year periods, on every level: the
area units (a kommune, or a bydel of a split kommune such as Oslo) summed to bydel, kommune,
helsefellesskap, helseforetak area (SKDE), RHF, fylke, sentralitet class, KOSTRA group and land.

Two things come from the project: the catalogue's metadata (``load_catalogue``: which measure,
which ages, which unit) and the suppression masks. The suppression stage is being rewritten
(one relation per level over the area units, cross-hierarchy audits), so the baseline does not
re-implement it: it takes which cells are hidden, and why, from the engine's internal tables
(``indicators.engine._tables(key, stage).internal``, column ``suppression``) and applies them
to its own numbers. The benchmark's timing therefore leaves suppression out of the baseline
(``whole_catalogue`` reads the masks once before the clock starts). Everything else is pandas,
numpy and scipy.

    python bench/pandas_baseline.py [--database-url URL] [--check]

``--check`` compares every cell of the whole catalogue with ``indicators.compute`` and
prints the differences (none expected).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.stats import chi2, norm

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from indicators.catalogue import Indicator, load_catalogue

LEVELS = ("bydel", "kommune", "helsefellesskap", "helseforetak", "rhf", "fylke", "sentralitet", "kostragruppe", "land")
RHF_ORDER = ("Helse Nord RHF", "Helse Midt-Norge RHF", "Helse Vest RHF", "Helse Sør-Øst RHF")
NATIONAL_ID, NATIONAL_NAME = "0", "Hele landet"
POOLING_YEARS = 3
EXACT_BELOW = 10  # exact Poisson limits below, Byar's from
DSR_MIN_COUNT = 10
CONFIDENCE = {"95": 0.95, "99_8": 0.998}
HIDDEN_FLAGS = ("suppressed", "not_reported")
ASSESSMENT = {
    "higher_is_better": {"higher": "better", "lower": "worse"},
    "lower_is_better": {"higher": "worse", "lower": "better"},
    "neutral": {"higher": "higher", "lower": "lower"},
}
VALUE_COLUMNS = ("value", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "crude_value", "crude_lower_95", "crude_upper_95")
COLUMNS = (
    "indicator_id", "level", "area_id", "area_name", "period", "year_start", "year_end", "numerator", "denominator",
    *VALUE_COLUMNS, "national_value", "significance", "assessment", "flag", "reporting_kommuner", "total_kommuner",
)


@dataclass(frozen=True)
class Period:
    start: int
    end: int

    @property
    def years(self) -> list[int]:
        return list(range(self.start, self.end + 1))

    @property
    def label(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}–{self.end}"


@dataclass
class Tables:
    population: pd.DataFrame
    counts: dict[str, pd.DataFrame]  # per measure
    coverage: dict[str, pd.DataFrame]  # per measure
    areas: pd.DataFrame  # one row per kommune
    helsefellesskap: pd.DataFrame
    helseforetak: pd.DataFrame
    bydeler: pd.DataFrame
    groups: pd.DataFrame  # names of the sentralitet classes and KOSTRA groups
    masks: dict | None = None  # indicator id -> {(level, area_id, period): reason}, from the engine
    levels: pd.DataFrame | None = None  # each unit's area id on every level (unit code in kommunenummer)
    names: dict[str, pd.DataFrame] | None = None  # area_id, area_name per level, in display order

    def __post_init__(self) -> None:
        split = set(self.bydeler["kommunenummer"])
        whole = self.areas[~self.areas["kommunenummer"].isin(split)].assign(unit=lambda f: f["kommunenummer"], bydel=None)
        parts = self.bydeler[["bydel", "kommunenummer", "helseforetak_id"]].merge(
            self.areas.drop(columns="helseforetak_id"), on="kommunenummer").assign(unit=lambda f: f["bydel"])
        units = pd.concat([whole, parts], ignore_index=True)
        self.levels = units.rename(columns={"kommunenummer": "kommune", "unit": "kommunenummer"})[
            ["kommunenummer", "bydel", "kommune", "helsefellesskap_id", "helseforetak_id", "rhf", "fylkesnummer",
             "sentralitet", "kostragruppe"]].assign(land=NATIONAL_ID).sort_values("kommunenummer", ignore_index=True)
        self.names = {level: area_names(self, level) for level in LEVELS}


# --- reading ----------------------------------------------------------------------------


def read_tables(database_url: str, masks: dict | None = None) -> Tables:
    """Every table the computation needs, read with pandas.read_sql (``masks``: the engine's, read if not given)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            population = pd.read_sql(sa.text("SELECT year, kommunenummer, sex, age_band, population FROM population"), conn)
            counts = pd.read_sql(
                sa.text('SELECT measure_id, year, kommunenummer, sex, age_band, "count" FROM event_count'), conn
            )
            coverage = pd.read_sql(sa.text("SELECT measure_id, year, kommunenummer FROM measure_coverage"), conn)
            areas = pd.read_sql(sa.text(
                "SELECT k.kommunenummer, k.kommunenavn, k.fylkesnummer, f.fylkesnavn, m.helsefellesskap_id, h.rhf, "
                "h.helseforetak_id, CAST(c.sentralitetsklasse AS TEXT) AS sentralitet, c.kostragruppe "
                "FROM kommune k JOIN fylke f ON k.fylkesnummer = f.fylkesnummer "
                "JOIN kommune_helsefellesskap m ON k.kommunenummer = m.kommunenummer "
                "JOIN helsefellesskap h ON m.helsefellesskap_id = h.helsefellesskap_id "
                "JOIN kommune_klassifisering c ON k.kommunenummer = c.kommunenummer ORDER BY k.kommunenummer"
            ), conn)
            helsefellesskap = pd.read_sql(sa.text(
                "SELECT helsefellesskap_id, helsefellesskap_navn, helseforetak FROM helsefellesskap ORDER BY sort_order"
            ), conn)
            helseforetak = pd.read_sql(sa.text(
                "SELECT helseforetak_id, helseforetak_navn FROM helseforetaksomrade ORDER BY sort_order"), conn)
            bydeler = pd.read_sql(sa.text(
                "SELECT bydel, bydelsnavn, kommunenummer, helseforetak_id FROM bydel ORDER BY bydel"), conn)
            groups = pd.read_sql(sa.text(
                "SELECT level, area_id, area_name FROM klassifisering_gruppe ORDER BY level, sort_order"), conn)
    finally:
        engine.dispose()
    population["population"] = population["population"].astype(float)
    return Tables(
        population=population,
        counts={m: g.drop(columns="measure_id") for m, g in counts.groupby("measure_id", sort=False)},
        coverage={m: g.drop(columns="measure_id") for m, g in coverage.groupby("measure_id", sort=False)},
        areas=areas,
        helsefellesskap=helsefellesskap,
        helseforetak=helseforetak,
        bydeler=bydeler,
        groups=groups,
        masks=masks if masks is not None else engine_masks(database_url),
    )


def engine_masks(database_url: str) -> dict:
    """Which cells the engine hides and why: indicator id -> {(level, area_id, period): reason}.

    Taken from the engine's internal tables (single years and pooled periods), since the
    suppression stage is being rewritten; see the module docstring.
    """
    import indicators
    from indicators import engine

    key = indicators.current_key(database_url)
    masks: dict = {}
    for stage in (engine.SINGLE_YEARS, engine.POOLED):
        for ind_id, table in engine._tables(key, stage).internal.items():
            hidden = table.filter(table["suppression"].is_not_null()).select("level", "area_id", "period", "suppression")
            masks.setdefault(ind_id, {}).update({(lv, a, p): r for lv, a, p, r in hidden.iter_rows()})
    return masks


# --- periods ----------------------------------------------------------------------------


def available_years(tables: Tables, ind: Indicator) -> list[int]:
    years = set(tables.population["year"].unique())
    for measure in ind.measures:
        cov = tables.coverage.get(measure)
        years &= set(cov["year"].unique()) if cov is not None else set()
    return sorted(int(y) for y in years if ind.first_year is None or y >= ind.first_year)


def pooled_periods(years: list[int]) -> list[Period]:
    periods, end = [], max(years, default=None)
    while end is not None and all(y in years for y in range(end - POOLING_YEARS + 1, end + 1)):
        periods.append(Period(end - POOLING_YEARS + 1, end))
        end -= POOLING_YEARS
    return periods


# --- statistics ---------------------------------------------------------------------------


def _z(confidence: float) -> float:
    return float(norm.ppf(confidence + (1.0 - confidence) / 2.0))


def _byars(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = 1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))
        lower = np.where((x > 0) & (base >= 0), x * base**3, np.nan)
        upper = (x + 1.0) * (1.0 - 1.0 / (9.0 * (x + 1.0)) + z / (3.0 * np.sqrt(x + 1.0))) ** 3
    return lower, upper


def _count_limits(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson limits of a count below 10 events, Byar's from 10."""
    alpha = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore"):
        exact_lower = np.where(x == 0, 0.0, chi2.ppf(alpha, 2.0 * x) / 2.0)
        exact_upper = chi2.ppf(1.0 - alpha, 2.0 * x + 2.0) / 2.0
    byars_lower, byars_upper = _byars(x, confidence)
    small = x < EXACT_BELOW
    return np.where(small, exact_lower, byars_lower), np.where(small, exact_upper, byars_upper)


def crude_statistics(totals: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    """Crude value and limits for areas with a positive denominator."""
    x = totals["numerator"].to_numpy(float)
    n = totals["denominator"].to_numpy(float)
    mult = float(ind.multiplier)
    out = pd.DataFrame(index=totals.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["crude_value"] = np.where(n > 0, x / n * mult, np.nan)
        for suffix, confidence in CONFIDENCE.items():
            if ind.type == "rate":
                lower, upper = _count_limits(x, confidence)
                lower, upper = lower / n * mult, upper / n * mult
            else:
                z = _z(confidence)
                root = z * np.sqrt(z**2 + 4.0 * x * (1.0 - x / n))
                lower = np.clip((2.0 * x + z**2 - root) / 2.0 / (n + z**2), 0.0, 1.0) * mult
                upper = np.clip((2.0 * x + z**2 + root) / 2.0 / (n + z**2), 0.0, 1.0) * mult
            out[f"crude_lower_{suffix}"] = np.where(n > 0, lower, np.nan)
            out[f"crude_upper_{suffix}"] = np.where(n > 0, upper, np.nan)
    return out


def standard_weights(tables: Tables, ind: Indicator) -> pd.DataFrame:
    """The national population of the standard year (or the nearest year loaded), by band."""
    catalogue = load_catalogue()
    year = int(catalogue.standard_populations.get(ind.standardisation.standard or "", {}).get("year", 2024))
    loaded = sorted(tables.population["year"].unique())
    used = min(loaded, key=lambda y: (abs(y - year), -y))
    pop = tables.population[(tables.population["year"] == used) & tables.population["age_band"].isin(ind.denominator.age_bands)]
    by = ["age_band"] + (["sex"] if "sex" in ind.standardisation.by else [])
    return pop.groupby(by, as_index=False)["population"].sum().rename(columns={"population": "weight"})


def dsr(bands: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    """Dobson DSR per area from numerator, denominator and standard weight by band (none below 10 events)."""
    x, n, w = bands["numerator"].to_numpy(), bands["denominator"].to_numpy(), bands["weight"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        bands = bands.assign(wr=np.where(n > 0, x * w / n, 0.0), sq=np.where(n > 0, x * (w / n) ** 2, 0.0))
    agg = bands.groupby("area_id")[["numerator", "weight", "wr", "sq"]].sum()
    o, sw = agg["numerator"].to_numpy(), agg["weight"].to_numpy()
    mult = float(ind.multiplier)
    value = agg["wr"].to_numpy() / sw * mult
    var = agg["sq"].to_numpy() / sw**2
    reportable = o >= DSR_MIN_COUNT
    out = pd.DataFrame(index=agg.index)
    out["value"] = np.where(reportable, value, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(var / o) * mult
        for suffix, confidence in CONFIDENCE.items():
            lo, hi = _byars(o, confidence)
            out[f"lower_{suffix}"] = np.where(reportable, np.maximum(value + scale * (lo - o), 0.0), np.nan)
            out[f"upper_{suffix}"] = np.where(reportable, value + scale * (hi - o), np.nan)
    return out


# --- one indicator, one period, every level -------------------------------------------------


def area_names(tables: Tables, level: str) -> pd.DataFrame:
    areas, hf = tables.areas, tables.helsefellesskap
    if level == "bydel":
        names = tables.bydeler[["bydel", "bydelsnavn"]].set_axis(["area_id", "area_name"], axis=1)
    elif level in ("sentralitet", "kostragruppe"):
        names = tables.groups[tables.groups["level"] == level][["area_id", "area_name"]]
    elif level == "kommune":
        names = areas[["kommunenummer", "kommunenavn"]].set_axis(["area_id", "area_name"], axis=1)
    elif level == "helsefellesskap":
        names = hf[["helsefellesskap_id", "helsefellesskap_navn"]].set_axis(["area_id", "area_name"], axis=1)
    elif level == "helseforetak":
        names = tables.helseforetak[["helseforetak_id", "helseforetak_navn"]].set_axis(["area_id", "area_name"], axis=1)
    elif level == "rhf":
        names = pd.DataFrame({"area_id": list(RHF_ORDER), "area_name": list(RHF_ORDER)})
    elif level == "fylke":
        names = (areas[["fylkesnummer", "fylkesnavn"]].drop_duplicates().sort_values("fylkesnummer")
                 .set_axis(["area_id", "area_name"], axis=1))
    else:
        names = pd.DataFrame({"area_id": [NATIONAL_ID], "area_name": [NATIONAL_NAME]})
    return names.reset_index(drop=True)


LEVEL_COLUMNS = {"bydel": "bydel", "kommune": "kommune", "helsefellesskap": "helsefellesskap_id",
                 "helseforetak": "helseforetak_id", "rhf": "rhf", "fylke": "fylkesnummer", "sentralitet": "sentralitet",
                 "kostragruppe": "kostragruppe", "land": "land"}


def _term(frame: pd.DataFrame, term, years: list[int]) -> pd.DataFrame:
    keep = frame["year"].isin(years) & frame["age_band"].isin(term.age_bands)
    if term.sex != "all":
        keep &= frame["sex"] == term.sex
    return frame[keep]


def kommune_cells(tables: Tables, ind: Indicator, period: Period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Numerator and denominator by kommune × sex × age band over the covered kommune-years."""
    covered = None
    for measure in ind.measures:
        cov = tables.coverage[measure]
        cov = cov[cov["year"].isin(period.years)]
        covered = cov if covered is None else covered.merge(cov, on=["year", "kommunenummer"])
    keys = ["year", "kommunenummer", "sex", "age_band"]
    if ind.denominator.population:
        den = _term(tables.population, ind.denominator, period.years).rename(columns={"population": "denominator"})
    else:
        den = _term(tables.counts[ind.denominator.measure], ind.denominator, period.years).rename(columns={"count": "denominator"})
    num = _term(tables.counts.get(ind.numerator.measure, pd.DataFrame(columns=[*keys, "count"])), ind.numerator, period.years)
    cells = den.merge(num.rename(columns={"count": "numerator"}), on=keys, how="outer")
    cells = cells.merge(covered, on=["year", "kommunenummer"])
    cells[["numerator", "denominator"]] = cells[["numerator", "denominator"]].fillna(0.0)
    cells = cells.groupby(["kommunenummer", "sex", "age_band"], as_index=False)[["numerator", "denominator"]].sum()
    return cells, covered


def period_table(tables: Tables, ind: Indicator, period: Period, weights: pd.DataFrame | None) -> pd.DataFrame:
    """Every suppression level for one period, before suppression."""
    cells, covered = kommune_cells(tables, ind, period)
    levels = tables.levels
    located = cells.merge(levels, on="kommunenummer")
    by = []
    if ind.is_standardised:
        by = [c for c in ("age_band", "sex") if c in weights.columns]
        located = located.merge(weights, on=by, how="left")
    # The engine's rule: a unit reports if it is covered; an area above counts the kommuner that have a
    # reporting unit in that area (a kommune split into bydeler counts once).
    reporting_units = levels[levels["kommunenummer"].isin(covered["kommunenummer"].unique())]
    frames = []
    for level in LEVELS:
        column = LEVEL_COLUMNS[level]
        totals = located.groupby(column)[["numerator", "denominator"]].sum().rename_axis("area_id")
        stats = totals.join(crude_statistics(totals, ind))
        if ind.is_standardised:
            bands = located.groupby([column, *by], as_index=False).agg(
                numerator=("numerator", "sum"), denominator=("denominator", "sum"), weight=("weight", "first")
            ).rename(columns={column: "area_id"})
            stats = stats.join(dsr(bands, ind))
            stats["too_few_to_standardise"] = stats["value"].isna() & (stats["denominator"] > 0)
        else:
            for name in ("value", "lower_95", "upper_95", "lower_99_8", "upper_99_8"):
                stats[name] = stats["crude_" + name]
            stats["too_few_to_standardise"] = False
        frame = tables.names[level].copy()
        frame["level"] = level
        # Kommuner, not units: a kommune counts once however many of its bydeler lie in the area.
        frame["total_kommuner"] = frame["area_id"].map(levels.groupby(column)["kommune"].nunique())
        frame["reporting_kommuner"] = frame["area_id"].map(
            reporting_units.groupby(column)["kommune"].nunique()).fillna(0).astype(int)
        frames.append(frame.join(stats, on="area_id"))
    table = pd.concat(frames, ignore_index=True)
    # A reporting area without a single count row (zeros are left out) has counted zero.
    reporting_area = table["reporting_kommuner"] > 0
    table.loc[reporting_area, ["numerator", "denominator"]] = table.loc[reporting_area, ["numerator", "denominator"]].fillna(0.0)
    table["national_value"] = table.loc[table["level"] == "land", "value"].iloc[0]
    lower, upper, bench = table["lower_95"], table["upper_95"], table["national_value"]
    missing = table["value"].isna() | lower.isna() | upper.isna() | bench.isna()
    table["significance"] = np.where(missing, "not_compared", np.where(lower > bench, "higher", np.where(upper < bench, "lower", "similar")))
    table["assessment"] = table["significance"].map(lambda s: ASSESSMENT[ind.direction].get(s, s))
    table["too_few_to_standardise"] = table["too_few_to_standardise"].fillna(False).astype(bool)
    table["period"], table["year_start"], table["year_end"] = period.label, period.start, period.end
    table["indicator_id"] = ind.id
    return table


# --- suppression (the engine's masks) --------------------------------------------------------


def _masks(tables: Tables, ind: Indicator, table: pd.DataFrame) -> list:
    masks = tables.masks.get(ind.id, {}) if tables.masks is not None else {}
    return [masks.get(cell) for cell in zip(table["level"], table["area_id"], table["period"])]


def single_year_table(tables: Tables, ind: Indicator) -> pd.DataFrame:
    """Every suppression level × every single year with data, with the suppression reason."""
    weights = standard_weights(tables, ind) if ind.is_standardised else None
    frames = []
    for year in available_years(tables, ind):
        table = period_table(tables, ind, Period(year, year), weights)
        table["suppression"] = _masks(tables, ind, table)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def pooled_table(tables: Tables, ind: Indicator, singles: pd.DataFrame) -> pd.DataFrame | None:
    """Every suppression level × every fixed pooled period; ``singles`` feeds the temporal rule."""
    weights = standard_weights(tables, ind) if ind.is_standardised else None
    frames = []
    for period in pooled_periods(available_years(tables, ind)):
        table = period_table(tables, ind, period, weights)
        table["suppression"] = _masks(tables, ind, table)
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else None


def indicator_table(tables: Tables, ind: Indicator, pooled: bool = True) -> pd.DataFrame:
    """Single years and (optionally) the pooled periods of one indicator, every suppression level."""
    singles = single_year_table(tables, ind)
    pooled_rows = pooled_table(tables, ind, singles) if pooled else None
    return singles if pooled_rows is None else pd.concat([singles, pooled_rows], ignore_index=True)


def level_table(tables: Tables, full: pd.DataFrame, ind: Indicator, level: str, pooled: bool = False) -> pd.DataFrame:
    """One level's published table: flags, masked values; single years (or the pooled periods)."""
    rows = full[(full["level"] == level) & ((full["year_end"] > full["year_start"]) == pooled)].drop(columns="area_name")
    names = tables.names[level].reset_index(names="sort_order")
    rows = rows.merge(names, on="area_id", how="left").assign(level=level)
    flag = np.where(rows["reporting_kommuner"] == 0, "not_reported",
                    np.where(rows["suppression"].notna(), "suppressed",
                             np.where(rows["too_few_to_standardise"], "too_few_to_standardise", "ok")))
    rows["flag"] = flag
    hidden = rows["flag"].isin(HIDDEN_FLAGS)
    rows.loc[hidden, ["numerator", *VALUE_COLUMNS]] = np.nan
    rows.loc[hidden if not ind.denominator.population else rows["flag"] == "not_reported", "denominator"] = np.nan
    rows.loc[hidden, ["significance", "assessment"]] = "not_compared"
    return rows.sort_values(["year_start", "year_end", "sort_order"], kind="stable")[list(COLUMNS)].reset_index(drop=True)


def whole_catalogue(database_url: str, pooled: bool = False, timings: dict | None = None) -> dict[tuple, pd.DataFrame]:
    """The benchmark's computation: read the store, then every indicator × every level × every year.

    With ``pooled``, a second pass adds every pooled period (as the engine's callers ask for
    them after the single years). ``timings`` receives the seconds to the end of each pass (and
    the CPU seconds of the first).
    """
    masks = engine_masks(database_url)  # outside the timing: the engine's suppression, not the baseline's work
    started, cpu_started = time.perf_counter(), time.process_time()
    tables = read_tables(database_url, masks=masks)
    out, singles = {}, {}
    catalogue = load_catalogue()
    for ind in catalogue.indicators:
        singles[ind.id] = single_year_table(tables, ind)
        for level in LEVELS:
            out[(ind.id, level)] = level_table(tables, singles[ind.id], ind, level)
    if timings is not None:
        timings["single_years"] = time.perf_counter() - started
        timings["single_years_cpu"] = time.process_time() - cpu_started
    if pooled:
        for ind in catalogue.indicators:
            rows = pooled_table(tables, ind, singles[ind.id])
            for level in LEVELS:
                if rows is not None:
                    out[(ind.id, level, "pooled")] = level_table(tables, rows, ind, level, pooled=True)
        if timings is not None:
            timings["with_pooled"] = time.perf_counter() - started
    return out


# --- comparison with the engine ----------------------------------------------------------------


def compare(engine_table, baseline: pd.DataFrame, tolerance: float = 1e-9) -> list[str]:
    """Differences between an engine table (Polars) and the baseline's, cell by cell."""
    ours = engine_table.to_pandas()
    problems = []
    if len(ours) != len(baseline):
        return [f"rows: engine {len(ours)}, baseline {len(baseline)}"]
    for column in ("area_id", "period", "flag", "significance", "assessment"):
        differ = ours[column].astype(str).to_numpy() != baseline[column].astype(str).to_numpy()
        if differ.any():
            i = int(np.flatnonzero(differ)[0])
            problems.append(f"{column}: {differ.sum()} rows differ, first {ours['area_id'][i]} {ours['period'][i]}: "
                            f"engine {ours[column][i]!r}, baseline {baseline[column][i]!r}")
    for column in ("numerator", "denominator", *VALUE_COLUMNS, "national_value", "reporting_kommuner", "total_kommuner"):
        a = ours[column].to_numpy(dtype=float, na_value=np.nan)
        b = baseline[column].to_numpy(dtype=float, na_value=np.nan)
        same_missing = np.isnan(a) == np.isnan(b)
        close = np.isclose(a, b, rtol=tolerance, atol=tolerance, equal_nan=True)
        if not (same_missing.all() and close.all()):
            i = int(np.flatnonzero(~(same_missing & close))[0])
            problems.append(f"{column}: {(~(same_missing & close)).sum()} rows differ, first {ours['area_id'][i]} "
                            f"{ours['period'][i]}: engine {a[i]!r}, baseline {b[i]!r}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="store to read (default: the configured DATABASE_URL)")
    parser.add_argument("--check", action="store_true", help="compare every cell with indicators.compute")
    parser.add_argument("--pooled", action="store_true", help="also the pooled periods")
    args = parser.parse_args()
    from data_loaders.config import settings

    url = args.database_url or settings().database_url
    started = time.perf_counter()
    results = whole_catalogue(url, pooled=args.pooled)
    print(f"pandas baseline: {len(results)} tables, {sum(len(t) for t in results.values()):,} rows "
          f"in {time.perf_counter() - started:.2f} s")
    if not args.check:
        return 0
    import indicators

    key = indicators.current_key(url)
    failures = 0
    for (ind_id, level, *pooled), table in results.items():
        if pooled:
            engine = [indicators.compute(ind_id, level, period=indicators.Period(p.start, p.end), key=key)
                      for p in sorted(pooled_periods(indicators.available_years(ind_id, key)), key=lambda p: p.start)]
            import polars as pl

            engine_table = pl.concat(engine) if engine else None
            if engine_table is None:
                continue
        else:
            engine_table = indicators.compute(ind_id, level, key=key)
        problems = compare(engine_table, table)
        failures += bool(problems)
        for problem in problems:
            print(f"{ind_id} {level}{' pooled' if pooled else ''}: {problem}")
    print(f"{len(results) - failures} of {len(results)} tables agree with the engine to 1e-9")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
