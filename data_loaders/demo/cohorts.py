"""Synthetic priority-group cohorts: persons in exactly each combination of the overlap groups.

Per area unit x year x sex x age band, the persons are first split into the 16 combinations of
the four overlap groups (barn og unge, alvorlige psykiske lidelser, skrøpelige eldre, kompleks
multimorbiditet) with one multinomial draw; each cohort's persons are then sums of the
combinations that contain it, so the relations the importer checks hold exactly:

    kohort_<g> = sum of overlapp_<c> over the combinations c that contain g
    union      = sum of all overlapp_<c>

The barn og unge union is split further into its three utvalg (somatisk, psykisk, kommunale
tjenester), which overlap. Service use per cohort is generated afterwards by the ordinary
measure generator (``of: kohort_<cohort>`` in parameters.yaml).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from data_loaders.schema import AGE_BAND_LABELS, age_bands_between

KEYS = ["year", "kommunenummer", "sex", "age_band"]
UTVALG = ("somatikk", "psykisk", "kommunale_tjenester")
UTVALG_MEASURES = {
    "somatikk": "kohort_barn_somatikk",
    "psykisk": "kohort_barn_psykisk",
    "kommunale_tjenester": "kohort_barn_kommunale_tjenester",
}


def combination_codes(order: list[str]) -> list[str]:
    """The 15 non-empty combinations as bit strings, one bit per group in ``order``."""
    width = len(order)
    return [format(bits, f"0{width}b") for bits in range(1, 2**width)]


def _unit_multipliers(spec: dict, rng: np.random.Generator, areas: pl.DataFrame, weights: np.ndarray) -> np.ndarray:
    """Each unit's multiplier: helsefellesskap level x kommune variation (mean one within each helsefellesskap).

    ``weights``: each unit's persons in the cohort's ages (reference year), so the kommune
    multipliers average to one over the helsefellesskap's people and its level is the one set.
    """
    hf = areas["helsefellesskap_id"].to_numpy()
    hf_ids = sorted(set(hf))
    sd = spec.get("kommune_sd", 0.0)
    kommune = np.exp(rng.normal(0.0, sd, len(hf)) - sd**2 / 2) if sd > 0 else np.ones(len(hf))
    for h in hf_ids:
        inside = hf == h
        kommune[inside] /= (kommune[inside] * weights[inside]).sum() / max(weights[inside].sum(), 1e-12)
    hf_sd = spec.get("hf_sd", 0.0)
    level = dict(zip(hf_ids, np.exp(rng.normal(0.0, hf_sd, len(hf_ids)) - hf_sd**2 / 2) if hf_sd > 0 else np.ones(len(hf_ids))))
    if "hf_levels" in spec:
        national = spec["national_level"]["value"]
        low, high = spec["hf_range"]
        level = {h: spec["hf_levels"].get(h, rng.uniform(low, high)) / national for h in hf_ids}
    return np.array([level[h] for h in hf]) * kommune


def _group_rate(cells: dict, spec: dict, rng: np.random.Generator, areas: pl.DataFrame, params: dict) -> np.ndarray:
    """Probability of being in the group for every cell, calibrated to the national level.

    Cells outside the group's ages get 0. With ``hf_levels`` the named helsefellesskap keep
    their level and the others are scaled together so the country meets its level.
    """
    band_rate = np.array([spec["age_curve"].get(b, 0.0) for b in cells["band_labels"]])[cells["band"]]
    sex = np.where(cells["male"], spec.get("male_factor", 1.0), 1.0)
    reference = cells["year"] == params["reference_year"]
    level = spec["national_level"]
    in_level = np.isin(cells["band"], [cells["band_labels"].index(b) for b in age_bands_between(level.get("age_min"), level.get("age_max"))])
    weights = np.bincount(cells["unit"], weights=cells["n"] * (reference & (band_rate > 0)), minlength=areas.height)
    units = _unit_multipliers(spec, rng, areas, weights)[cells["unit"]]
    years = cells["year"]
    trend = (1 + spec.get("trend", 0.0)) ** (years - params["reference_year"])
    rate = band_rate * sex * trend
    target = level["value"] / level["per"]
    mask = reference & in_level
    # National standard rate first (no area variation), then the areas around it.
    rate *= target / ((rate * cells["n"])[mask].sum() / cells["n"][mask].sum())
    rate = rate * units
    if "hf_levels" in spec:
        hf = areas["helsefellesskap_id"].to_numpy()[cells["unit"]]
        for named, wanted_level in spec["hf_levels"].items():  # the named ones exactly, standardised
            inside = hf == named
            standardised = _standardised_rate(cells, rate, reference & in_level & inside, reference & in_level)
            if standardised > 0:
                rate = np.where(inside, rate * wanted_level / level["per"] / standardised, rate)
        fixed = np.isin(hf, list(spec["hf_levels"]))
        expected_fixed = (rate * cells["n"])[mask & fixed].sum()
        expected_other = (rate * cells["n"])[mask & ~fixed].sum()
        wanted = target * cells["n"][mask].sum()
        rate = np.where(fixed, rate, rate * (wanted - expected_fixed) / expected_other)
    else:
        rate *= target / ((rate * cells["n"])[mask].sum() / cells["n"][mask].sum())
    return np.clip(rate, 0.0, 0.95)


def _standardised_rate(cells: dict, rate: np.ndarray, area: np.ndarray, country: np.ndarray) -> float:
    """The expected directly standardised rate of an area (cells in ``area``), the country's
    population in ``country`` as the standard (by sex and age band)."""
    stratum = cells["band"] * 2 + cells["male"]
    size = len(cells["band_labels"]) * 2
    expected = np.bincount(stratum[area], weights=(rate * cells["n"])[area], minlength=size)
    people = np.bincount(stratum[area], weights=cells["n"][area], minlength=size)
    standard = np.bincount(stratum[country], weights=cells["n"][country], minlength=size)
    band_rate = np.divide(expected, people, out=np.zeros(size), where=people > 0)
    return float((band_rate * standard).sum() / standard.sum())


def _multimorbid_given(base: np.ndarray, given: dict) -> tuple[np.ndarray, ...]:
    """P(multimorbid) for the frail, for the psychiatric cohort (not frail), and for the others."""
    frail = np.full_like(base, given["skropelige_eldre"])
    psyk = np.minimum(0.9, base * given["psykisk_lidelse_relative_risk"])
    return frail, psyk, base


def _multimorbid_rate(cells: dict, spec: dict, rng: np.random.Generator, areas: pl.DataFrame, params: dict,
                      p_psyk: np.ndarray, p_frail: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multimorbidity conditional on the other groups, the base scaled so the country meets its level."""
    base = _group_rate(cells, spec, rng, areas, params)
    in_ages = base > 0
    level = spec["national_level"]
    reference = cells["year"] == params["reference_year"]
    mask = reference & in_ages
    target = level["value"] / level["per"] * cells["n"][mask].sum()
    given = spec["given"]

    def expected(scale: float) -> float:
        frail, psyk, other = _multimorbid_given(np.clip(base * scale, 0, 0.9), given)
        prob = p_frail * frail + (1 - p_frail) * (p_psyk * psyk + (1 - p_psyk) * other)
        return float((prob * cells["n"] * in_ages)[mask].sum())

    low, high = 0.0, 5.0
    for _ in range(40):  # bisection: the expected count rises with the scale
        mid = (low + high) / 2
        low, high = (mid, high) if expected(mid) < target else (low, mid)
    frail, psyk, other = _multimorbid_given(np.clip(base * (low + high) / 2, 0, 0.9), given)
    return frail * in_ages, psyk * in_ages, other * in_ages


def generate_cohorts(population: pl.DataFrame, areas: pl.DataFrame, params: dict, rng_for) -> dict[str, pl.DataFrame]:
    """Cohort, overlap and derived measures as frames (year, kommunenummer, sex, age_band, count), zeros kept.

    ``rng_for(key)`` gives the random generator of a key (so each part has its own stream).
    """
    spec = params["cohorts"]
    order = spec["overlap_order"]
    groups = spec["groups"]
    units = areas["kommunenummer"].to_list()
    frame = population.filter(pl.col("year") >= spec.get("first_year", 0)).sort(KEYS)
    band_labels = list(AGE_BAND_LABELS)
    unit_index = {u: i for i, u in enumerate(units)}
    cells = {
        "n": frame["population"].to_numpy().astype(np.int64),
        "year": frame["year"].to_numpy(),
        "male": frame["sex"].to_numpy() == "male",
        "band": frame["age_band"].replace_strict({b: i for i, b in enumerate(band_labels)}, return_dtype=pl.Int64).to_numpy(),
        "unit": frame["kommunenummer"].replace_strict(unit_index, return_dtype=pl.Int64).to_numpy(),
        "band_labels": band_labels,
    }
    p = {g: _group_rate(cells, groups[g], rng_for(f"cohort-{g}"), areas, params)
         for g in order if "given" not in groups[g]}
    conditional = [g for g in order if "given" in groups[g]]
    for g in conditional:  # multimorbidity depends on frailty and mental illness
        frail, psyk, other = _multimorbid_rate(cells, groups[g], rng_for(f"cohort-{g}"), areas, params,
                                               p["psykisk_lidelse"], p["skropelige_eldre"])
        p[g] = (frail, psyk, other)

    codes = ["0" * len(order)] + combination_codes(order)
    probabilities = np.ones((len(cells["n"]), len(codes)))
    for j, code in enumerate(codes):
        member = dict(zip(order, (c == "1" for c in code)))
        for g in order:
            if g in conditional:
                frail_in, psyk_in = member["skropelige_eldre"], member["psykisk_lidelse"]
                frail, psyk, other = p[g]
                q = frail if frail_in else (psyk if psyk_in else other)
            else:
                q = p[g]
            probabilities[:, j] *= q if member[g] else 1 - q
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    counts = rng_for("cohort-overlap").multinomial(cells["n"], probabilities)

    keys = frame.select(KEYS)
    out: dict[str, pl.DataFrame] = {}
    for j, code in enumerate(codes[1:], start=1):
        out[f"overlapp_{code}"] = keys.with_columns(pl.Series("count", counts[:, j], dtype=pl.Float64))
    for i, g in enumerate(order):
        inside = [j for j, code in enumerate(codes) if code[i] == "1"]
        out[f"kohort_{g}"] = keys.with_columns(pl.Series("count", counts[:, inside].sum(axis=1), dtype=pl.Float64))

    # The barn og unge utvalg: each person of the union in one combination of the three.
    split = spec["barn_og_unge_utvalg"]
    combos = list(split)
    shares = np.array([split[c] for c in combos], dtype=float)
    union = out["kohort_barn_og_unge"]["count"].to_numpy().astype(np.int64)
    drawn = rng_for("cohort-barn-utvalg").multinomial(union, shares / shares.sum())
    for utvalg in UTVALG:
        inside = [j for j, c in enumerate(combos) if utvalg in c.split("+")]
        out[UTVALG_MEASURES[utvalg]] = keys.with_columns(pl.Series("count", drawn[:, inside].sum(axis=1), dtype=pl.Float64))
    # Receiving kommunale tjenester is the third utvalg's definition, so the service share is exact.
    out["kohort_barn_og_unge__kommunale_tjenester_personer"] = out["kohort_barn_kommunale_tjenester"]
    ages = {g: age_bands_between(*groups_age(params, g)) for g in order}
    ages.update({m: ages["barn_og_unge"] for m in UTVALG_MEASURES.values()})
    ages["kohort_barn_og_unge__kommunale_tjenester_personer"] = ages["barn_og_unge"]
    for measure in list(out):
        group = measure.removeprefix("kohort_")
        bands = ages.get(group) or ages.get(measure)
        if bands:  # a cohort's rows cover its own ages only (the overlap rows: every band)
            out[measure] = out[measure].filter(pl.col("age_band").is_in(bands))
    return out


def groups_age(params: dict, group: str) -> tuple[int | None, int | None]:
    """A group's ages: those of its national level (the cohort's ages in the catalogue)."""
    level = params["cohorts"]["groups"][group]["national_level"]
    return level.get("age_min"), level.get("age_max")
