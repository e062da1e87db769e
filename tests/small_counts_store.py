"""A store seeded with many small counts, and the full truth behind it, for the privacy tests.

The store is built the way a deployment builds one: the demo builder writes the synthetic
base (``data_loaders.demo.build_demo_store``), then the register importer
(``data_loaders.importers.import_files``, format ``register``) replaces every year of four
measures with designed rows written to a long-format CSV file. The designed rows hold:

- many kommuner with counts 1-4 and zeros (Poisson and binomial draws on small populations);
- kommuner that are the only small count in both their helsefellesskap and their fylke
  (Troms og Ofoten / Troms for the compulsory admissions, Stavanger / Rogaland for the
  readmissions), so that secondary suppression must fire;
- a helsefellesskap whose small kommuner hold fewer than the threshold together (Vestfold,
  which is also a fylke on its own);
- cross-border kommuner: Bindal (alone in Helse Nord-Trøndelag ∩ Nordland, every other
  kommune in Trøndelag and Nordland above the threshold), Evenes (with Narvik, the
  Nordland part of Troms og Ofoten), Eidskog and Lunner;
- counts of exactly the threshold, zeros, tiny register denominators (the readmissions are
  a proportion of discharges, a sensitive denominator), and pooled periods whose single
  years are small.

The truth is kept apart from the engine: ``Truth`` sums the rows that were written (the demo
rows as generated, the designed rows as written to the CSV file) to every level with the
reference tables in ``assets/reference``, read directly here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE = PROJECT_ROOT / "assets" / "reference"
SEED = 20240531

# The designed measures and the indicators built on them.
TVANG = "psyk_tvangsinnleggelser_18"  # rate per population (public denominator), standardised
REINNLEGGELSE = "eldre_reinnleggelse_30d_67"  # proportion of discharges (sensitive denominator)
SP1 = "kreft_sp1_behovskartlegging"  # proportion of new cancer patients (sensitive denominator)
DESIGNED_INDICATORS = (TVANG, REINNLEGGELSE, SP1)
DESIGNED_MEASURES = ("npr_tvangsinnleggelser", "npr_reinnleggelse_30d", "npr_utskrivninger_somatikk",
                     "npr_behovskartlegging_sp1")
LEVELS = ("bydel", "kommune", "helsefellesskap", "helseforetak", "rhf", "fylke", "sentralitet", "kostragruppe", "land")
NATIONAL = ("land", "0")
POOLING_YEARS = 3
POOLING_EPOCH = 2020


@dataclass(frozen=True)
class Relation:
    """``parent`` equals the sum of ``children`` (cells are ``(level, area_id, period)``)."""

    parent: tuple
    children: tuple


@dataclass(frozen=True)
class Cell:
    numerator: float
    denominator: float


class Reference:
    """The 2024 geography straight from ``assets/reference`` (no project code involved).

    The area units are the kommuner, with Oslo replaced by its bydeler (as the store keeps them);
    ``kommuner`` lists the units.
    """

    def __init__(self) -> None:
        kommuner = pl.read_csv(REFERENCE / "kommuner_2024.csv", infer_schema=False)
        fylker = pl.read_csv(REFERENCE / "fylker_2024.csv", infer_schema=False)
        hf = pl.read_csv(REFERENCE / "helsefellesskap.csv", infer_schema=False)
        mapping = pl.read_csv(REFERENCE / "kommune_helsefellesskap.csv", infer_schema=False)
        classes = pl.read_csv(REFERENCE / "kommune_klassifisering_2024.csv", infer_schema=False)
        bydeler = pl.read_csv(REFERENCE / "bydeler_2024.csv", infer_schema=False)
        areas_hf = pl.read_csv(REFERENCE / "helseforetaksomrader.csv", infer_schema=False)
        groups = pl.read_csv(REFERENCE / "klassifisering_grupper.csv", infer_schema=False)
        self.areas = (
            kommuner.join(fylker, on="fylkesnummer").join(mapping.drop("source"), on="kommunenummer")
            .join(hf.drop("source"), on="helsefellesskap_id").join(classes.drop("source"), on="kommunenummer")
            .sort("kommunenummer")
        )
        split = set(bydeler["kommunenummer"].to_list())
        self.parents_of: dict[str, dict[str, str]] = {}
        for row in self.areas.iter_rows(named=True):
            common = {"kommune": row["kommunenummer"], "helsefellesskap": row["helsefellesskap_id"], "rhf": row["rhf"],
                      "fylke": row["fylkesnummer"], "sentralitet": row["sentralitetsklasse"],
                      "kostragruppe": row["kostragruppe"], "land": "0"}
            if row["kommunenummer"] in split:
                for b in bydeler.filter(pl.col("kommunenummer") == row["kommunenummer"]).iter_rows(named=True):
                    self.parents_of[b["bydel"]] = {**common, "bydel": b["bydel"], "helseforetak": b["helseforetak_id"]}
            else:
                self.parents_of[row["kommunenummer"]] = {**common, "helseforetak": row["helseforetak_id"]}
        self.kommuner = sorted(self.parents_of)  # the area units
        self.hf_of = {u: p["helsefellesskap"] for u, p in self.parents_of.items()}
        self.fylke_of = {u: p["fylke"] for u, p in self.parents_of.items()}
        self.rhf_of_hf = dict(zip(hf["helsefellesskap_id"], hf["rhf"]))
        self.names: dict[str, dict[str, str]] = {
            "kommune": dict(zip(self.areas["kommunenummer"], self.areas["kommunenavn"])),
            "bydel": dict(zip(bydeler["bydel"], bydeler["bydelsnavn"])),
            "helsefellesskap": dict(zip(hf["helsefellesskap_id"], hf["helsefellesskap_navn"])),
            "helsefellesskap_kort": dict(zip(hf["helsefellesskap_id"], hf["kortnavn"])),
            "helseforetak": dict(zip(areas_hf["helseforetak_id"], areas_hf["helseforetak_navn"])),
            "helseforetak_full": dict(zip(areas_hf["helseforetak_id"], areas_hf["helseforetak"])),
            "rhf": {r: r for r in hf["rhf"].unique().to_list()},
            "fylke": dict(zip(fylker["fylkesnummer"], fylker["fylkesnavn"])),
            "land": {"0": "Hele landet"},
            **{level: {**dict(zip(part["area_id"], part["area_name"])), **dict(zip(part["area_id"], part["short_name"]))}
               for level in ("sentralitet", "kostragruppe")
               for part in [groups.filter(pl.col("level") == level)]},
        }

    def number(self, name: str) -> str:
        """The kommunenummer of a uniquely named kommune."""
        found = [k for k, n in self.names["kommune"].items() if n.split(" - ")[0] == name]
        assert len(found) == 1, (name, found)
        return found[0]

    def members(self, *, hf: str | None = None, fylke: str | None = None) -> list[str]:
        return [k for k in self.kommuner if (hf is None or self.hf_of[k] == hf) and (fylke is None or self.fylke_of[k] == fylke)]

    def parents(self, unit: str) -> dict[str, str]:
        """Every area the unit belongs to, by level (its own row included: kommune or bydel)."""
        return self.parents_of[unit]


# --- the designed rows -------------------------------------------------------------------------


def _people(population: pl.DataFrame, bands: tuple[str, ...]) -> dict[tuple[int, str], int]:
    rows = population.filter(pl.col("age_band").is_in(list(bands))).group_by("year", "kommunenummer").agg(
        pl.col("population").sum())
    return {(y, k): int(p) for y, k, p in rows.iter_rows()}


def _force(values: dict[str, int], kommuner, rng: np.random.Generator, at_least: int) -> None:
    for k in kommuner:
        if values[k] < at_least:
            values[k] = at_least + int(rng.integers(0, 7))


def design_rows(demo, ref: Reference, catalogue) -> pl.DataFrame:
    """Register long-format rows (year, kommunenummer, sex, age_band, measure_id, count) for the
    designed measures, every year the demo data cover. Deterministic (fixed seed)."""
    rng = np.random.default_rng(SEED)
    years = sorted(demo.population["year"].unique().to_list())
    pop18 = _people(demo.population, catalogue.indicator(TVANG).denominator.age_bands)
    pop67 = _people(demo.population, catalogue.indicator(REINNLEGGELSE).numerator.age_bands)
    rows: list[tuple] = []
    bindal, evenes, narvik = ref.number("Bindal"), ref.number("Evenes"), ref.number("Narvik")
    eidskog, lunner = ref.number("Eidskog"), ref.number("Lunner")
    troms = ref.members(fylke="55")
    troms_ofoten = ref.members(hf="troms-ofoten")
    lone_troms = min(troms, key=lambda k: pop18[(years[-1], k)])  # the only small one in HF and fylke
    vestfold = ref.members(hf="vestfold")
    trondelag_nordland = ref.members(fylke="50") + ref.members(fylke="18")
    finnmark = ref.members(fylke="56")
    rogaland_stavanger = sorted(set(ref.members(fylke="11")) | set(ref.members(hf="stavanger")))
    lone_stavanger = min(ref.members(hf="stavanger", fylke="11"), key=lambda k: pop67[(years[-1], k)])
    never = sorted(finnmark, key=lambda k: pop18[(years[-1], k)])[:2]  # zero in every year
    at_threshold = sorted(finnmark, key=lambda k: pop18[(years[-1], k)])[2:5]
    pooled_a, pooled_b, pooled_c = sorted(finnmark, key=lambda k: pop18[(years[-1], k)])[5:8]

    for i, year in enumerate(years):
        # Compulsory admissions (18+): Poisson around 16 per 10 000, then the designed cases.
        tvang = {k: int(rng.poisson(pop18[(year, k)] * 0.0016)) for k in ref.kommuner}
        _force(tvang, sorted(set(troms) | set(troms_ofoten)), rng, 5)
        tvang[lone_troms] = 1 + i % 4
        _force(tvang, vestfold, rng, 5)
        tvang[vestfold[0]], tvang[vestfold[1]] = (1, 2) if i % 2 else (2, 2)
        _force(tvang, trondelag_nordland, rng, 5)
        tvang[bindal] = (2, 0, 3, 5, 1, 4, 2)[i % 7]
        tvang[eidskog], tvang[lunner] = 3, (4, 1)[i % 2]
        for k in never:
            tvang[k] = 0
        for k in at_threshold:
            tvang[k] = 5
        tvang[pooled_a] = (1, 2, 2)[i % 3]  # pooled sum 5 from three masked years
        tvang[pooled_b] = (4, 0, 0)[i % 3]  # pooled sum 4: the pooled cell is small too
        tvang[pooled_c] = (2, 6, 7)[i % 3]  # exactly one masked year in each window
        for k, n in tvang.items():
            rows += _spread(year, k, "npr_tvangsinnleggelser", n, ("40-44", "25-29"), rng)

        # Readmissions within 30 days among discharges 67+ (both designed, cell by cell).
        discharges = {k: int(rng.poisson(pop67[(year, k)] * 0.3)) for k in ref.kommuner}
        readmitted = {k: int(rng.binomial(discharges[k], 0.12)) for k in ref.kommuner}
        for k in rogaland_stavanger:
            if readmitted[k] < 5:
                readmitted[k] = 5 + int(rng.integers(0, 5))
                discharges[k] = max(discharges[k], readmitted[k] * 4)
        readmitted[lone_stavanger] = 1 + (i + 1) % 4
        for k in sorted(set(troms) | set(troms_ofoten)):
            if readmitted[k] < 5:
                readmitted[k] = 5 + int(rng.integers(0, 5))
                discharges[k] = max(discharges[k], readmitted[k] * 4)
        readmitted[evenes] = 2
        readmitted[narvik] = max(readmitted[narvik], 8)
        tiny = sorted(ref.members(fylke="56"), key=lambda k: pop67[(year, k)])[:6]
        for j, k in enumerate(tiny):  # register denominators below the threshold, and exactly at it
            discharges[k] = (1, 2, 3, 4, 5, 0)[(j + i) % 6]
            readmitted[k] = min(readmitted[k], discharges[k], (0, 1, 2)[j % 3])
        for k in ref.members(fylke="42")[:3]:
            readmitted[k], discharges[k] = 5, max(discharges[k], 30)
        for k in ref.kommuner:
            rows += _paired(year, k, "npr_reinnleggelse_30d", readmitted[k], "npr_utskrivninger_somatikk",
                            discharges[k], ("75-79", "80-84"), rng)
    rows += _sp1_rows(demo, ref, rng)
    return pl.DataFrame(rows, schema={"year": pl.Int32, "kommunenummer": pl.String, "sex": pl.String,
                                      "age_band": pl.String, "measure_id": pl.String, "count": pl.Int64},
                        orient="row")


def _spread(year: int, kommune: str, measure: str, count: int, bands: tuple[str, str], rng) -> list[tuple]:
    """A kommune's count over two sex-band cells (zeros are left out, as the format allows)."""
    first = int(rng.binomial(count, 0.5)) if count else 0
    out = []
    for (sex, band), n in ((("male", bands[0]), first), (("female", bands[1]), count - first)):
        if n:
            out.append((year, kommune, sex, band, measure, n))
    return out


def _paired(year, kommune, num_measure, num, den_measure, den, bands, rng) -> list[tuple]:
    """Numerator and denominator over the same two cells, the numerator never above the denominator."""
    den_first = int(rng.binomial(den, 0.5)) if den else 0
    num_first = min(num, den_first, int(rng.binomial(num, 0.5)) if num else 0)
    if num - num_first > den - den_first:
        num_first = num - (den - den_first)
    out = []
    for (sex, band), n, d in ((("male", bands[0]), num_first, den_first),
                              (("female", bands[1]), num - num_first, den - den_first)):
        if n:
            out.append((year, kommune, sex, band, num_measure, n))
        if d:
            out.append((year, kommune, sex, band, den_measure, d))
    return out


def _sp1_rows(demo, ref: Reference, rng) -> list[tuple]:
    """SP1 numerators against the demo's new cancer patients, cell by cell (never above them);
    a few kommuner with many patients get 1-4 registrations."""
    den = demo.counts.filter(pl.col("measure_id") == "kreft_nye_pasienter")
    years = sorted(demo.counts.filter(pl.col("measure_id") == "npr_behovskartlegging_sp1")["year"].unique().to_list())
    den = den.filter(pl.col("year").is_in(years))
    totals = den.group_by("year", "kommunenummer").agg(pl.col("count").sum())
    low_share = set()
    for year in years:
        mid = totals.filter((pl.col("year") == year) & pl.col("count").is_between(15, 40)).sort("kommunenummer")
        low_share |= {(year, k) for k in mid["kommunenummer"].to_list()[year % 5::9]}
    rows = []
    for year, kommune, sex, band, n in den.select("year", "kommunenummer", "sex", "age_band", "count").iter_rows():
        share = 0.06 if (year, kommune) in low_share else 0.72
        count = int(rng.binomial(int(n), share))
        if count:
            rows.append((year, kommune, sex, band, "npr_behovskartlegging_sp1", count))
    return rows


# --- the store ----------------------------------------------------------------------------------


@dataclass
class SmallCountsStore:
    url: str
    path: Path
    register_csv: Path
    truth: Truth
    import_summary: str = ""


def build_small_counts_store(directory: Path, demo_store: Path | None = None) -> SmallCountsStore:
    """Build the store in ``directory`` (SQLite) and return it with its truth.

    ``demo_store``: a SQLite file the demo builder already wrote from ``generate()`` (the test
    run's shared demo store), copied instead of built again; its row count is checked against
    the generated data.
    """
    import shutil

    from data_loaders import store
    from data_loaders.demo import DEMO_DATASET_ID, build_demo_store, generate
    from data_loaders.importers import import_files
    from indicators import load_catalogue

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "small_counts.sqlite"
    url = f"sqlite:///{path}"
    demo = generate()
    rows = demo.population.height + demo.counts.height + demo.coverage.height
    if demo_store is not None:
        shutil.copyfile(demo_store, path)
        datasets = store.load_datasets(store.get_engine(url))
        copied = datasets.filter(pl.col("dataset_id") == DEMO_DATASET_ID)["row_count"].to_list()
        if copied != [rows] or datasets.height != 1:
            store.dispose_engines()
            path.unlink()
            demo_store = None
    if demo_store is None:
        build_demo_store(store.get_engine(url), demo)
    ref = Reference()
    designed = design_rows(demo, ref, load_catalogue())
    csv = directory / "register_small_counts.csv"
    designed.write_csv(csv)
    summary = import_files([csv], "register", database_url=url, extraction_date="2026-01-15")
    return SmallCountsStore(url=url, path=path, register_csv=csv, truth=Truth(demo, csv, ref),
                            import_summary=summary.render())


# --- the truth ----------------------------------------------------------------------------------


class Truth:
    """Every raw count per level, area and period, summed from the rows that were written."""

    def __init__(self, demo, register_csv: Path, ref: Reference):
        from indicators import load_catalogue

        self.ref = ref
        self.catalogue = load_catalogue()
        written = pl.read_csv(register_csv, schema_overrides={"kommunenummer": pl.String, "year": pl.Int32})
        designed = set(written["measure_id"].unique().to_list())
        counts = demo.counts.filter(~pl.col("measure_id").is_in(list(designed)))
        self.counts = pl.concat([counts.select("measure_id", "year", "kommunenummer", "sex", "age_band",
                                               pl.col("count").cast(pl.Float64)),
                                 written.select("measure_id", "year", "kommunenummer", "sex", "age_band",
                                                pl.col("count").cast(pl.Float64))])
        # A national register's import covers every kommune for each measure-year in the file.
        imported_coverage = written.select("measure_id", "year").unique().join(
            pl.DataFrame({"kommunenummer": ref.kommuner}), how="cross")
        self.coverage = pl.concat([
            demo.coverage.filter(~pl.col("measure_id").is_in(list(designed))).select("measure_id", "year", "kommunenummer"),
            imported_coverage.select("measure_id", pl.col("year").cast(pl.Int32), "kommunenummer"),
        ])
        self.population = demo.population
        self._counts = self.counts.partition_by("measure_id", as_dict=True)
        self._coverage = self.coverage.partition_by("measure_id", as_dict=True)
        self._cache: dict = {}

    def threshold(self, indicator_id: str) -> int:
        return self.catalogue.indicator(indicator_id).suppression_threshold

    def sensitive_denominator(self, indicator_id: str) -> bool:
        return not self.catalogue.indicator(indicator_id).denominator.population

    def years(self, indicator_id: str) -> list[int]:
        """Years in which every measure of the indicator is covered somewhere (from first_year)."""
        if ("years", indicator_id) not in self._cache:
            self._cache[("years", indicator_id)] = self._years(indicator_id)
        return self._cache[("years", indicator_id)]

    def _years(self, indicator_id: str) -> list[int]:
        ind = self.catalogue.indicator(indicator_id)
        years = set(self.population["year"].unique().to_list())
        for measure in ind.measures:
            years &= set(self._coverage[(measure,)]["year"].unique().to_list())
        return sorted(y for y in years if ind.first_year is None or y >= ind.first_year)

    def pooled(self, indicator_id: str) -> list[tuple[int, int]]:
        """The fixed three-year windows anchored at 2020 (2020-2022, 2023-2025, ...) whose years all have data."""
        years = set(self.years(indicator_id))
        starts = {y - (y - POOLING_EPOCH) % POOLING_YEARS for y in years}
        return sorted(((s, s + POOLING_YEARS - 1) for s in starts
                       if all(y in years for y in range(s, s + POOLING_YEARS))), reverse=True)

    def periods(self, indicator_id: str) -> list[str]:
        if ("periods", indicator_id) not in self._cache:
            self._cache[("periods", indicator_id)] = (
                [str(y) for y in self.years(indicator_id)] + [period_label(w) for w in self.pooled(indicator_id)])
        return self._cache[("periods", indicator_id)]

    def cells(self, indicator_id: str, period: str) -> dict[tuple[str, str], Cell]:
        """Every reported area of every level in a period: (level, area_id) -> true counts."""
        return self._tables(indicator_id, period)[0]

    def values(self, indicator_id: str, period: str) -> dict[tuple[str, str], tuple[float | None, float | None]]:
        """(level, area_id) -> (value, crude value) as published when not masked: the crude rate or
        proportion, or the directly standardised rate (none below 10 events), times the multiplier."""
        return self._tables(indicator_id, period)[1]

    def _tables(self, indicator_id: str, period: str):
        key = (indicator_id, period)
        if key not in self._cache:
            self._cache[key] = self._compute(indicator_id, period_years(period))
        return self._cache[key]

    def _compute(self, indicator_id: str, years: tuple[int, ...]):
        ind = self.catalogue.indicator(indicator_id)
        covered = None
        for measure in ind.measures:
            cov = self._coverage[(measure,)].filter(pl.col("year").is_in(list(years))).select(
                "year", "kommunenummer").unique()
            covered = cov if covered is None else covered.join(cov, on=["year", "kommunenummer"], how="inner")

        def bands(frame: pl.DataFrame, term, column: str, alias: str) -> pl.DataFrame:
            frame = frame.filter(pl.col("year").is_in(list(years)) & pl.col("age_band").is_in(list(term.age_bands)))
            if term.sex != "all":
                frame = frame.filter(pl.col("sex") == term.sex)
            frame = frame.join(covered, on=["year", "kommunenummer"], how="semi")
            return frame.group_by("kommunenummer", "sex", "age_band").agg(pl.col(column).cast(pl.Float64).sum().alias(alias))

        num = bands(self._counts[(ind.numerator.measure,)], ind.numerator, "count", "num")
        if ind.denominator.population:
            den = bands(self.population, ind.denominator, "population", "den")
        else:
            den = bands(self._counts[(ind.denominator.measure,)], ind.denominator, "count", "den")
        keys = ["kommunenummer", "sex", "age_band"]
        cells = num.join(den, on=keys, how="full", coalesce=True).with_columns(
            pl.col("num").fill_null(0.0), pl.col("den").fill_null(0.0))
        kommuner = sorted(set(covered["kommunenummer"].to_list()))
        mapping = pl.DataFrame([(k, level, area) for k in kommuner for level, area in self.ref.parents(k).items()],
                               schema={"kommunenummer": pl.String, "level": pl.String, "area_id": pl.String},
                               orient="row")
        by_band = cells.join(mapping, on="kommunenummer").group_by("level", "area_id", "sex", "age_band").agg(
            pl.col("num").sum(), pl.col("den").sum())
        totals = mapping.select("level", "area_id").unique().join(
            by_band.group_by("level", "area_id").agg(pl.col("num").sum(), pl.col("den").sum()),
            on=["level", "area_id"], how="left").with_columns(pl.col("num").fill_null(0.0), pl.col("den").fill_null(0.0))
        counts = {(lv, a): Cell(n, d) for lv, a, n, d in totals.select("level", "area_id", "num", "den").iter_rows()}
        mult = ind.multiplier
        crude = {cell: (c.numerator / c.denominator * mult if c.denominator > 0 else None) for cell, c in counts.items()}
        if not ind.is_standardised:
            return counts, {cell: (v, v) for cell, v in crude.items()}
        # Direct standardisation against the national population of the standard's year.
        by = ["age_band"] + (["sex"] if "sex" in ind.standardisation.by else [])
        standard_year = int(self.catalogue.standard_populations[ind.standardisation.standard]["year"])
        loaded = sorted(self.population["year"].unique().to_list())
        used = min(loaded, key=lambda y: (abs(y - standard_year), -y))
        weights = (self.population.filter((pl.col("year") == used) & pl.col("age_band").is_in(list(ind.denominator.age_bands)))
                   .group_by(by).agg(pl.col("population").cast(pl.Float64).sum().alias("w")))
        total_weight = float(weights["w"].sum())
        rates = (by_band.group_by("level", "area_id", *by).agg(pl.col("num").sum(), pl.col("den").sum())
                 .join(weights, on=by, how="inner")
                 .with_columns(pl.when(pl.col("den") > 0).then(pl.col("w") * pl.col("num") / pl.col("den"))
                               .otherwise(0.0).alias("wr"))
                 .group_by("level", "area_id").agg(pl.col("wr").sum()))
        dsr = {(lv, a): wr / total_weight * mult for lv, a, wr in rates.iter_rows()}
        values = {cell: (dsr.get(cell) if c.numerator >= 10 else None, crude[cell]) for cell, c in counts.items()}
        return counts, values

    def small(self, indicator_id: str, cell: Cell) -> bool:
        """A count from 1 to threshold - 1 (or such a register denominator): must never be shown."""
        t = self.threshold(indicator_id)
        if 0 < cell.numerator < t:
            return True
        return self.sensitive_denominator(indicator_id) and 0 < cell.denominator < t

    def relations(self, indicator_id: str, periods: list[str]) -> list[Relation]:
        """Additive relations between the reported cells of the given periods (cells carry the
        period): every area of every level is the sum of its reported units (kommuner, and Oslo's
        bydeler); a pooled cell is the sum of its single years."""
        relations = []
        for period in periods:
            present = self.cells(indicator_id, period)
            parents_of = self.ref.parents_of
            units = [a for (level, a) in present if a in parents_of and parents_of[a].get(level) == a
                     and (level == "bydel" or "bydel" not in parents_of[a])]
            groups: dict[tuple, list] = defaultdict(list)
            for u in units:
                own = "bydel" if "bydel" in parents_of[u] else "kommune"
                for level, area in parents_of[u].items():
                    if level != own and (level, area) in present:
                        groups[(level, area)].append((own, u, period))
            for level, area in sorted(groups):
                relations.append(Relation((level, area, period), tuple(groups[(level, area)])))
        for window in self.pooled(indicator_id):
            label = period_label(window)
            if label not in periods:
                continue
            singles = [str(y) for y in range(window[0], window[1] + 1) if str(y) in periods]
            for level, area in self.cells(indicator_id, label):
                children = tuple((level, area, y) for y in singles if (level, area) in self.cells(indicator_id, y))
                if children:
                    relations.append(Relation((level, area, label), children))
        return relations


def period_label(window: tuple[int, int]) -> str:
    return str(window[0]) if window[0] == window[1] else f"{window[0]}–{window[1]}"


def period_years(label: str) -> tuple[int, ...]:
    text = str(label).replace("-", "–")
    if "–" in text:
        start, end = (int(p) for p in text.split("–"))
        return tuple(range(start, end + 1))
    return (int(text),)


def components(truth: Truth, indicator_id: str) -> list[list[str]]:
    """Pooled windows never overlap, so each window with its single years is a closed system."""
    groups = []
    pooled_years = set()
    for window in truth.pooled(indicator_id):
        years = [str(y) for y in range(window[0], window[1] + 1)]
        pooled_years |= set(years)
        groups.append(years + [period_label(window)])
    groups += [[str(y)] for y in truth.years(indicator_id) if str(y) not in pooled_years]
    return groups
