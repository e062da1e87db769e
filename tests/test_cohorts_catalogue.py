"""The catalogue's cohorts: declared as data, validated with errors that name the entry and the
field, and their indicators shaped as the interface says (prevalence, share, per person)."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from indicators.catalogue import CATALOGUE_PATH, UNITS, CatalogueError, load_catalogue, parse_catalogue

COHORT_MEASURES = {
    "barn_og_unge": "kohort_barn_og_unge",
    "barn_somatikk": "kohort_barn_somatikk",
    "barn_psykisk": "kohort_barn_psykisk",
    "barn_kommunale_tjenester": "kohort_barn_kommunale_tjenester",
    "psykisk_lidelse": "kohort_psykisk_lidelse",
    "rus_tsb": "kohort_rus_tsb",
    "skropelige_eldre": "kohort_skropelige_eldre",
    "multimorbiditet": "kohort_multimorbiditet",
}


@lru_cache(maxsize=1)
def _raw_text() -> str:
    return Path(CATALOGUE_PATH).read_text(encoding="utf-8")


def _raw() -> dict:
    return copy.deepcopy(yaml.safe_load(_raw_text()))


def _parse(raw: dict):
    return parse_catalogue(raw, Path("test.yaml"), 5)


def _entry(raw: dict, section: str, entry_id: str) -> dict:
    return next(e for e in raw[section] if e["id"] == entry_id)


def test_cohorts_are_declared_with_their_measures():
    catalogue = load_catalogue()
    assert {c.id: c.measure for c in catalogue.cohorts} == COHORT_MEASURES
    assert [c.id for c in catalogue.cohorts if c.overlap_group] == [
        "barn_og_unge", "psykisk_lidelse", "skropelige_eldre", "multimorbiditet"]
    psyk = catalogue.cohort("psykisk_lidelse")
    assert (psyk.age_min, psyk.age_max, psyk.group) == (18, None, "psykisk_helse_rus")
    assert all(code in psyk.definition for code in ("F20", "F29", "F30", "F31", "F32", "F33", "F60", "F61"))
    assert "Global Burden of Disease" in psyk.definition and "Helsedirektoratet" in psyk.source
    barn = catalogue.cohort("barn_og_unge")
    assert barn.age_bands[-1] == "20-20" and barn.age_label == "0–20 år"
    assert catalogue.cohort("skropelige_eldre").age_min == 75
    for cohort in catalogue.cohorts:
        assert catalogue.measures[cohort.measure].kind == "persons"
        assert cohort.name and cohort.short_name and cohort.source
    with pytest.raises(KeyError, match="unknown cohort 'nope'"):
        catalogue.cohort("nope")


def test_every_cohort_has_one_prevalence_indicator():
    catalogue = load_catalogue()
    for cohort in catalogue.cohorts:
        found = [i for i in catalogue.indicators if i.cohort == cohort.id and i.cohort_role == "prevalence"]
        assert [i.id for i in found] == [f"kohort_{cohort.id}_andel"]
        ind = found[0]
        assert ind.type == "proportion" and ind.unit == "percent" and ind.denominator.population
        assert ind.numerator.measure == cohort.measure
        assert ind.numerator.age_bands == ind.denominator.age_bands == cohort.age_bands
    psyk = catalogue.indicator("kohort_psykisk_lidelse_andel")
    assert psyk.is_standardised and set(psyk.standardisation.by) == {"age", "sex"}


def test_service_indicators_per_cohort():
    catalogue = load_catalogue()
    share = catalogue.indicator("kohort_barn_og_unge__innlagt_oh")
    assert (share.type, share.unit, share.cohort_role) == ("proportion", "percent", "share")
    assert share.denominator.measure == "kohort_barn_og_unge" and share.numerator.measure.endswith("_personer")
    per_person = catalogue.indicator("kohort_barn_og_unge__poliklinikk")
    assert (per_person.type, per_person.unit, per_person.cohort_role) == ("rate", "per_person", "per_person")
    assert per_person.multiplier == 1 and per_person.unit_label == "per person" and UNITS["per_person"] == (1, "per person")
    assert per_person.numerator.measure.endswith("_hendelser") and not per_person.is_standardised
    for cohort in ("skropelige_eldre", "psykisk_lidelse"):  # the extra pair for these two
        for service in ("utskrivningsklar", "reinnleggelse_30d"):
            assert catalogue.indicator(f"kohort_{cohort}__{service}").cohort == cohort
    roles = {i.cohort_role for i in catalogue.indicators if i.cohort}
    assert roles == {"prevalence", "share", "per_person"}
    population_rates = [i for i in catalogue.indicators if i.cohort is None]
    assert all(i.unit != "per_person" for i in population_rates)
    persons = catalogue.indicator("utskrivningsklare_personer")
    assert persons.numerator.measure == "npr_utskrivningsklar_personer" and persons.cohort is None


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda r: _entry(r, "cohorts", "rus_tsb").update(group="nope"), "cohort 'rus_tsb': field 'group': unknown group 'nope'"),
        (lambda r: _entry(r, "cohorts", "rus_tsb").update(measure="npr_tvangsinnleggelser"),
         "cohort 'rus_tsb': field 'measure': 'npr_tvangsinnleggelser' must count persons"),
        (lambda r: _entry(r, "cohorts", "rus_tsb").update(measure="kohort_nope"),
         "cohort 'rus_tsb': field 'measure': unknown measure 'kohort_nope'"),
        (lambda r: _entry(r, "cohorts", "rus_tsb").update(age={"min": 19}), "cohort 'rus_tsb': field 'age': age 19"),
        (lambda r: _entry(r, "cohorts", "rus_tsb").pop("definition"), "cohort 'rus_tsb': missing required field 'definition'"),
        (lambda r: _entry(r, "cohorts", "rus_tsb").update(overlap_group="yes"), "cohort 'rus_tsb': field 'overlap_group'"),
        (lambda r: r["cohorts"].append(copy.deepcopy(r["cohorts"][0])), "cohort 'barn_og_unge': declared twice"),
        (lambda r: _entry(r, "indicators", "kohort_rus_tsb__legevakt").update(cohort={"id": "nope", "role": "share"}),
         "indicator 'kohort_rus_tsb__legevakt': field 'cohort.id': unknown cohort 'nope'"),
        (lambda r: _entry(r, "indicators", "kohort_rus_tsb__legevakt").update(cohort={"id": "rus_tsb", "role": "mean"}),
         "indicator 'kohort_rus_tsb__legevakt': field 'cohort.role' must be one of prevalence, share, per_person"),
        (lambda r: _entry(r, "indicators", "kohort_rus_tsb__legevakt").update(cohort={"id": "psykisk_lidelse", "role": "per_person"}),
         "indicator 'kohort_rus_tsb__legevakt': field 'denominator.measure': role per_person divides by the cohort's persons"),
        (lambda r: _entry(r, "indicators", "kohort_rus_tsb__legevakt").pop("cohort"),
         "indicator 'kohort_rus_tsb__legevakt': field 'unit': per_person needs 'cohort' with role per_person"),
        (lambda r: _entry(r, "indicators", "kohort_rus_tsb__legevakt").update(unit="per_1000"),
         "indicator 'kohort_rus_tsb__legevakt': field 'unit': role per_person is a rate in unit per_person"),
        (lambda r: _entry(r, "indicators", "kohort_rus_tsb__innlagt").update(cohort={"id": "rus_tsb", "role": "prevalence"}),
         "indicator 'kohort_rus_tsb__innlagt': field 'cohort.role': prevalence needs type proportion"),
        (lambda r: [_entry(r, "indicators", "kohort_skropelige_eldre__innlagt")[t].update(age={"min": 67})
                    for t in ("numerator", "denominator")],
         "indicator 'kohort_skropelige_eldre__innlagt': field 'numerator.age': the ages must lie within cohort 'skropelige_eldre'"),
    ],
)
def test_malformed_cohort_entries_are_named(change, fragment):
    raw = _raw()
    change(raw)
    with pytest.raises(CatalogueError) as info:
        _parse(raw)
    assert fragment in str(info.value)


def test_the_unmodified_catalogue_parses():
    catalogue = _parse(_raw())
    assert len(catalogue.cohorts) == 8
