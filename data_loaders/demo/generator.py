"""Deterministic synthetic register data for the demo store.

Everything comes from one seed and ``parameters.yaml`` (which documents the basis for each
level). Random draws for a measure use a generator seeded by the global seed and the measure
id, so adding a measure never changes the others.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from data_loaders import reference
from data_loaders.demo.cohorts import generate_cohorts
from data_loaders.schema import AGE_BAND_LABELS, AGE_BANDS, SEXES

PARAMETERS_PATH = Path(__file__).with_name("parameters.yaml")
DEMO_DATASET_ID = "demo-synthetic"
DEMO_SOURCE = "Syntetiske demodata (generert)"
COVID_YEARS = {2020: 1.0, 2021: 0.5}


@dataclass(frozen=True)
class DemoData:
    population: pl.DataFrame  # year, kommunenummer, sex, age_band, population
    counts: pl.DataFrame  # measure_id, year, kommunenummer, sex, age_band, count (zeros left out)
    coverage: pl.DataFrame  # measure_id, year, kommunenummer
    parameters: dict


def load_parameters(path: Path = PARAMETERS_PATH) -> dict:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when built in


def _rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def _lognormal_multipliers(rng: np.random.Generator, sd: float, size: int) -> np.ndarray:
    """Mean-one log-normal multipliers."""
    if sd <= 0:
        return np.ones(size)
    return np.exp(rng.normal(0.0, sd, size) - sd**2 / 2)


# --- population -------------------------------------------------------------------------


def _facts(units: list[str], params: dict) -> pl.DataFrame:
    """SSB's 2024 facts per unit (reference.load_befolkning), in unit order, with the gaps filled.

    - "Uoppgitt bydel" has no age shares: it takes its kommune's.
    - Ålesund and Haram were one kommune in 2020: they take the growth 2020-2024 of the other
      kommuner of their fylke (Møre og Romsdal), summed.
    - A unit without facts (only synthetic test areas) gets a size drawn from a log-normal
      distribution and the national shares.
    """
    facts = reference.load_befolkning()
    frame = pl.DataFrame({"kode": units}).join(facts.drop("source"), on="kode", how="left", maintain_order="left")
    kommune = facts.filter(pl.col("kode").str.len_chars() == 4)
    # The kommune's shares for a bydel without its own ("uoppgitt").
    parent = kommune.select(pl.col("kode").alias("parent"), pl.col("andel_67_pluss").alias("p67"),
                            pl.col("andel_80_pluss").alias("p80"))
    frame = frame.with_columns(pl.col("kode").str.slice(0, 4).alias("parent")).join(parent, on="parent", how="left",
                                                                                     maintain_order="left")
    national = kommune.select(
        (pl.col("andel_67_pluss") * pl.col("folketall_2024")).sum() / pl.col("folketall_2024").sum(),
        (pl.col("andel_80_pluss") * pl.col("folketall_2024")).sum() / pl.col("folketall_2024").sum(),
    ).row(0)
    # Growth of each fylke over its kommuner with both figures.
    fylke_growth = (
        kommune.filter(pl.col("folketall_2020").is_not_null())
        .group_by(pl.col("kode").str.slice(0, 2).alias("fylke"))
        .agg((pl.col("folketall_2024").sum() / pl.col("folketall_2020").sum()).alias("fylke_ratio"))
    )
    frame = frame.with_columns(pl.col("kode").str.slice(0, 2).alias("fylke")).join(
        fylke_growth, on="fylke", how="left", maintain_order="left")
    missing = frame["folketall_2024"].is_null().to_numpy()
    if missing.any():  # synthetic areas (benchmarks): log-normal sizes
        pop = params["population"]
        rng = _rng(params["seed"], "population-size")
        draws = np.clip(rng.lognormal(np.log(pop["lognormal_median"]), pop["lognormal_sigma"], missing.sum()),
                        pop["minimum"], 40_000)
        sizes = frame["folketall_2024"].to_numpy().astype(float)
        sizes[missing] = np.round(draws)
        frame = frame.with_columns(pl.Series("folketall_2024", sizes).cast(pl.Int64))
    return frame.select(
        "kode",
        pl.col("folketall_2024").cast(pl.Float64).alias("t2024"),
        pl.coalesce(
            pl.col("folketall_2020").cast(pl.Float64),
            pl.col("folketall_2024") / pl.col("fylke_ratio"),
            pl.col("folketall_2024").cast(pl.Float64),
        ).alias("t2020"),
        (pl.coalesce("andel_67_pluss", "p67", pl.lit(national[0])) / 100).alias("s67"),
        (pl.coalesce("andel_80_pluss", "p80", pl.lit(national[1])) / 100).alias("s80"),
    )


def _round_to(values: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Round each row of ``values`` to integers that sum to ``totals`` (largest remainder)."""
    floor = np.floor(values)
    short = (totals - floor.sum(axis=1)).astype(np.int64)
    remainder = values - floor
    rank = np.argsort(np.argsort(-remainder, axis=1, kind="stable"), axis=1, kind="stable")
    return floor + (rank < short[:, None])


def generate_population(kommuner: list[str], params: dict) -> tuple[pl.DataFrame, np.ndarray]:
    """Population by year × area unit × sex × age band, and each unit's centrality (0 rural to 1 urban).

    ``kommuner``: the unit codes (kommuner, and bydeler where a kommune is split). Every unit
    follows SSB's 2024 figures (``reference.load_befolkning``): the total exactly, the shares
    67+ and 80+ to the person, and the 2020 total exactly (a constant yearly change between
    them, carried on to the other years). The age profile below 67 and within the old bands
    mixes a city-like and a rural-like shape by the unit's share 67+; the old bands grow a
    little faster each year than the rest (ageing).
    """
    pop = params["population"]
    rng = _rng(params["seed"], "population")
    facts = _facts(kommuner, params)
    s67, s80 = facts["s67"].to_numpy(), facts["s80"].to_numpy()
    centrality = np.clip((0.24 - s67) / (0.24 - 0.11), 0.0, 1.0)
    urban = np.array(pop["age_profile_urban"]) / sum(pop["age_profile_urban"])
    rural = np.array(pop["age_profile_rural"]) / sum(pop["age_profile_rural"])
    profile = centrality[:, None] * urban + (1 - centrality[:, None]) * rural
    profile *= np.exp(rng.normal(0, 0.05, profile.shape))
    lows = np.array([low for _, low, _ in AGE_BANDS])
    groups = np.where(lows >= 80, 2, np.where(lows >= 67, 1, 0))  # under 67, 67-79, 80+
    # Each group's shape from the profile, its share from SSB.
    shares = np.stack([1 - s67, s67 - s80, s80], axis=1)
    shape = profile / np.stack([profile[:, groups == g].sum(axis=1) for g in range(3)], axis=1)[:, groups]
    male_share = np.array(pop["male_share"])
    ageing = np.array([0.0, pop["ageing_67_plus"], pop["ageing_80_plus"]])
    t2024, t2020 = facts["t2024"].to_numpy(), facts["t2020"].to_numpy()
    yearly = (t2024 / t2020) ** (1 / 4)
    reference_year = params["reference_year"]
    n_bands = len(AGE_BAND_LABELS)
    frames = []
    for year in params["years"]:
        offset = year - reference_year
        total = np.round(t2024 * yearly**offset)
        group_share = shares * (1 + ageing[None, :]) ** offset
        group_share /= group_share.sum(axis=1, keepdims=True)
        group_count = _round_to(group_share * total[:, None], total)
        cells = np.zeros((len(kommuner), 2 * n_bands))
        real = shape * group_share[:, groups] * total[:, None]
        male = real * male_share[None, :] * np.exp(rng.normal(0, 0.01, real.shape))
        both = np.concatenate([male, real - male], axis=1)  # male bands, then female bands
        both_groups = np.concatenate([groups, groups])
        for g in range(3):
            columns = both_groups == g
            cells[:, columns] = _round_to(both[:, columns], group_count[:, g])
        for s, sex in enumerate(("male", "female")):
            values = cells[:, s * n_bands:(s + 1) * n_bands]
            frames.append(
                pl.DataFrame(
                    {
                        "year": np.full(values.size, year, dtype=np.int32),
                        "kommunenummer": np.repeat(kommuner, n_bands),
                        "sex": np.full(values.size, sex),
                        "age_band": np.tile(AGE_BAND_LABELS, len(kommuner)),
                        "population": values.astype(np.int64).ravel(),
                    }
                )
            )
    return pl.concat(frames).sort("year", "kommunenummer", "sex", "age_band"), centrality


# --- measures --------------------------------------------------------------------------------


def _band_filter(age_min: int | None, age_max: int | None) -> list[str]:
    from data_loaders.schema import age_bands_between

    return age_bands_between(age_min, age_max)


def _cells(population: pl.DataFrame, bands: list[str]) -> pl.DataFrame:
    return population.filter(pl.col("age_band").is_in(bands))


def _trend_factor(years: np.ndarray, spec: dict, reference_year: int) -> np.ndarray:
    factor = (1 + spec.get("trend", 0.0)) ** (years - reference_year)
    dip = spec.get("covid_dip", 0.0)
    covid = np.zeros(len(years))
    for year, share in COVID_YEARS.items():
        covid[years == year] = share
    return factor * (1 - dip * covid)


def _area_multiplier(cells: pl.DataFrame, spec: dict, rng: np.random.Generator, areas: pl.DataFrame) -> np.ndarray:
    """Each cell's area multiplier: helsefellesskap x kommune (x sentralitet class, when given).

    ``hf_levels``/``hf_range``: named helsefellesskap at their level, the others drawn in the
    range; with ``hf_stretch`` the drawn levels are stretched to span the range exactly.
    ``sentralitet_factor``: a factor per SSB sentralitet class (1 most, 6 least central).
    """
    hf_ids = areas["helsefellesskap_id"].unique().sort().to_list()
    kommuner = areas["kommunenummer"].to_list()
    hf_mult = dict(zip(hf_ids, _lognormal_multipliers(rng, spec.get("hf_sd", 0.0), len(hf_ids))))
    k_mult = _lognormal_multipliers(rng, spec.get("kommune_sd", 0.0), len(kommuner))
    if "hf_levels" in spec:
        national = spec["national_level"]["value"]
        low, high = spec["hf_range"]
        levels = {hf: spec["hf_levels"].get(hf, rng.uniform(low, high)) for hf in hf_ids}
        if spec.get("hf_stretch"):
            drawn = np.array(list(levels.values()))
            span = drawn.max() - drawn.min()
            levels = {hf: low + (v - drawn.min()) / span * (high - low) if span else v for hf, v in levels.items()}
        hf_mult = {hf: level / national for hf, level in levels.items()}
    unit_mult = np.array([hf_mult[hf] for hf in areas["helsefellesskap_id"]]) * k_mult
    if "sentralitet_factor" in spec and "sentralitet" in areas.columns:
        factor = spec["sentralitet_factor"]
        unit_mult = unit_mult * np.array([factor.get(int(c), 1.0) if c is not None else 1.0 for c in areas["sentralitet"]])
    index = cells["kommunenummer"].replace_strict(dict(zip(kommuner, range(len(kommuner)))), return_dtype=pl.Int64)
    return unit_mult[index.to_numpy()]


def _draw(distribution: str, expected: np.ndarray, trials: np.ndarray | None, rng: np.random.Generator, spec: dict) -> np.ndarray:
    if distribution == "poisson":
        return rng.poisson(expected)
    if distribution == "overdispersed":
        dispersion = spec["dispersion"]
        mean = np.maximum(expected, 1e-12)
        return rng.poisson(rng.gamma(mean / dispersion, dispersion))
    if distribution == "binomial":
        return rng.binomial(trials.astype(np.int64), np.clip(expected, 0.0, 0.98))
    raise ValueError(f"unknown distribution {distribution!r}")


def _calibrate(rate: np.ndarray, weights: np.ndarray, mask: np.ndarray, target: float) -> float:
    """Scale so that the weighted mean of ``rate`` over ``mask`` equals ``target``."""
    current = (rate[mask] * weights[mask]).sum() / weights[mask].sum()
    return target / current


def _generate_measure(
    measure_id: str,
    spec: dict,
    population: pl.DataFrame,
    generated: dict[str, pl.DataFrame],
    reporting_starts: dict[str, dict[str, int]],
    areas: pl.DataFrame,
    params: dict,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = _rng(params["seed"], measure_id)
    reference_year = params["reference_year"]
    parent_id = spec.get("of")
    if parent_id:
        base = generated[parent_id].rename({"count": "trials"})
    else:
        base = _cells(population, list(spec["age_curve"])).rename({"population": "trials"})
    first_year, last_year = spec.get("first_year"), spec.get("last_year")
    if first_year:
        base = base.filter(pl.col("year") >= first_year)
    if last_year:
        base = base.filter(pl.col("year") <= last_year)

    if measure_id == "npr_behovskartlegging_sp1":
        counts = _sp1(base, spec, rng, areas)
        coverage = base.select("year", "kommunenummer").unique()
    elif "reporting_share" in spec or "reporting_share_of_sp2" in spec:
        counts, coverage, reporting_starts[measure_id] = _local_registration(base, spec, rng, areas, reporting_starts)
    else:
        counts = _register_measure(base, spec, rng, areas, reference_year)
        coverage = base.select("year", "kommunenummer").unique()
    counts = counts.with_columns(pl.lit(measure_id).alias("measure_id"))
    coverage = coverage.with_columns(pl.lit(measure_id).alias("measure_id"))
    return counts, coverage


def _register_measure(base: pl.DataFrame, spec: dict, rng: np.random.Generator, areas: pl.DataFrame, reference_year: int) -> pl.DataFrame:
    curve = (base["age_band"].replace_strict(spec["age_curve"], return_dtype=pl.Float64).to_numpy()
             if "age_curve" in spec else np.ones(base.height))
    sex_factor = np.where(base["sex"].to_numpy() == "male", spec.get("male_factor", 1.0), 1.0)
    years = base["year"].to_numpy()
    multiplier = _area_multiplier(base, spec, rng, areas)
    rate = curve * sex_factor * multiplier * _trend_factor(years, spec, reference_year)
    trials = base["trials"].to_numpy().astype(float)
    level = spec["national_level"]
    bands = _band_filter(level.get("age_min"), level.get("age_max"))
    mask = (years == reference_year) & base["age_band"].is_in(bands).to_numpy()
    rate *= _calibrate(rate, trials, mask, level["value"] / level["per"])
    expected = rate if spec["distribution"] == "binomial" else rate * trials
    drawn = _draw(spec["distribution"], expected, trials, rng, spec)
    if spec.get("plus_trials"):  # events of the persons counted in `of`: at least one each
        drawn = drawn + trials
    return base.select("year", "kommunenummer", "sex", "age_band").with_columns(pl.Series("count", drawn, dtype=pl.Float64))


def _sp1(base: pl.DataFrame, spec: dict, rng: np.random.Generator, areas: pl.DataFrame) -> pl.DataFrame:
    years = base["year"].to_numpy()
    by_year = np.array([spec["coverage_by_year"][int(y)] for y in years])
    multiplier = _area_multiplier(base, spec, rng, areas)
    # Hospitals that started late catch up: the spread narrows a little each year.
    spread = np.exp(np.log(multiplier) * (1 - 0.12 * (years - years.min())))
    drawn = _draw("binomial", by_year * spread, base["trials"].to_numpy(), rng, spec)
    return base.select("year", "kommunenummer", "sex", "age_band").with_columns(pl.Series("count", drawn, dtype=pl.Float64))


def _local_registration(
    base: pl.DataFrame, spec: dict, rng: np.random.Generator, areas: pl.DataFrame, reporting_starts: dict[str, dict[str, int]]
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Counts for the minority of kommuner that register locally; the rest get no rows at all."""
    kommuner = areas["kommunenummer"].to_list()
    if "reporting_share" in spec:
        reporting = [k for k in kommuner if rng.random() < spec["reporting_share"]]
        start = {k: int(rng.choice([2023, 2024])) for k in reporting}
    else:
        sp2_start = reporting_starts[spec["subset_of"]]
        reporting = [k for k in sorted(sp2_start) if rng.random() < spec["reporting_share_of_sp2"]]
        start = {k: sp2_start[k] for k in reporting}
    low, high = spec["coverage"]
    level = {k: rng.uniform(low, high) for k in reporting}
    coverage = pl.DataFrame(
        [(y, k) for k in reporting for y in range(start[k], 2100)],
        schema={"year": pl.Int32, "kommunenummer": pl.String},
        orient="row",
    ).join(base.select("year", "kommunenummer").unique(), on=["year", "kommunenummer"], how="inner")
    cells = base.join(coverage, on=["year", "kommunenummer"], how="inner").sort("year", "kommunenummer", "sex", "age_band")
    p = np.array([level[k] for k in cells["kommunenummer"]]) + 0.05 * (cells["year"].to_numpy() - 2023)
    drawn = _draw("binomial", p, cells["trials"].to_numpy(), rng, spec)
    counts = cells.select("year", "kommunenummer", "sex", "age_band").with_columns(pl.Series("count", drawn, dtype=pl.Float64))
    return counts, coverage, start


def generate(params: dict | None = None, areas: pl.DataFrame | None = None) -> DemoData:
    """Generate the whole demo data set (deterministic for a given seed)."""
    params = params or load_parameters()
    if areas is None:
        # One row per area unit; the generator's "kommunenummer" is the unit code (kommune or bydel).
        areas = reference.unit_table().with_columns(pl.col("unit").alias("kommunenummer"))
    kommuner = areas["kommunenummer"].to_list()
    population, _ = generate_population(kommuner, params)
    generated: dict[str, pl.DataFrame] = {}
    reporting_starts: dict[str, dict[str, int]] = {}
    count_frames, coverage_frames = [], []
    if "cohorts" in params:  # persons per overlap combination first; cohorts are their sums
        cohort_frames = generate_cohorts(population, areas, params, lambda key: _rng(params["seed"], key))
        for measure_id, frame in cohort_frames.items():
            generated[measure_id] = frame
            count_frames.append(frame.with_columns(pl.lit(measure_id).alias("measure_id")))
            coverage_frames.append(frame.select("year", "kommunenummer").unique().with_columns(pl.lit(measure_id).alias("measure_id")))
    for measure_id, spec in params["measures"].items():
        counts, coverage = _generate_measure(measure_id, spec, population, generated, reporting_starts, areas, params)
        generated[measure_id] = counts
        count_frames.append(counts)
        coverage_frames.append(coverage)
    # Each measure's rows are already in year, unit, sex, band order: sorting the measures is enough.
    count_frames.sort(key=lambda frame: frame["measure_id"][0] if frame.height else "")
    counts = (
        pl.concat([f.select("measure_id", "year", "kommunenummer", "sex", "age_band", "count") for f in count_frames])
        .filter(pl.col("count") > 0)
    )
    coverage = pl.concat(coverage_frames, how="diagonal").select("measure_id", "year", "kommunenummer").sort(
        "measure_id", "year", "kommunenummer"
    )
    assert set(SEXES) == set(population["sex"].unique())
    return DemoData(population=population, counts=counts, coverage=coverage, parameters=params)
