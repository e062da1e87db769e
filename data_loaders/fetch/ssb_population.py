"""Population from SSB's statistikkbank through PxWebApi v2, in JSON-stat2.

Table 07459 gives every kommune by sex and single year of age; table 10826 gives the bydeler of
the kommuner this product splits (Oslo). The fetch:

1. reads the API's cell limit from ``{base}/config`` (``maxDataCells``);
2. reads each table's metadata and checks its dimensions (Region, Kjonn, Alder, ContentsCode,
   Tid) and that the years asked for exist;
3. splits the data into as many requests as the limit needs (by year, then by region);
4. checks every answer against what was asked, merges them into one JSON-stat2 dataset (a
   kommune split into bydeler keeps its own rows, which the import reads past; its "uoppgitt
   bydel" is the kommune minus its bydeler when table 10826 has no such code);
5. hands that dataset to the existing validated import (``ssb-jsonstat``), one transaction.
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from data_loaders.config import settings
from data_loaders.fetch.errors import FetchError
from data_loaders.fetch.http import DEFAULT_TIMEOUT, JsonClient, build_url, print_progress

KOMMUNE_TABLE = "07459"
BYDEL_TABLE = "10826"
DIMENSIONS = ("Region", "Kjonn", "Alder", "ContentsCode", "Tid")
SEXES = ("1", "2")
CONTENTS = "Personer1"
# SSB's documented limit per extract, used only if the config endpoint does not state one.
DOCUMENTED_MAX_CELLS = 800_000
# Region codes per GET request: keeps the URL well under the 2-4 kB that servers and proxies accept.
MAX_REGIONS_PER_REQUEST = 250
SPECIAL_REGION = re.compile(r"^(2[123]\d\d|9999)$")  # Svalbard, Jan Mayen, continental shelf, unknown
SOURCE = "SSB statistikkbanken, tabell 07459 og 10826 (hentet med PxWebApi v2)"


@dataclass
class TableMeta:
    table: str
    codes: dict[str, list[str]]  # dimension -> category codes in order
    labels: dict[str, dict[str, str]]
    content: str


@dataclass
class Request:
    table: str
    regions: list[str]
    years: list[str]
    label: str = ""
    url: str = ""


@dataclass
class PopulationResult:
    summary: object  # ImportSummary
    requests: int
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"Hentet fra SSB med {self.requests} forespørsler."] + [f"  {n}" for n in self.notes]
        return "\n".join(lines) + "\n\n" + self.summary.render()


def region_code(code: str) -> str:
    """SSB region code without a ``K-`` prefix."""
    return code[2:] if code.startswith("K-") else code


def parse_years(text: str) -> list[int]:
    """``2020-2025`` or ``2020,2022`` or ``2024``."""
    years: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d{4})(?:\s*-\s*(\d{4}))?", part)
        if not match:
            raise FetchError(f"ugyldige år «{text}»: bruk for eksempel 2020-2025 eller 2023,2024")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise FetchError(f"ugyldige år «{part}»: siste år er før første")
        years.update(range(first, last + 1))
    return sorted(years)


# --------------------------------------------------------------------------- planning


def plan_chunks(regions: list[str], years: list[str], cells_per_region_year: int, max_cells: int,
                max_regions: int | None = None) -> list[tuple[list[str], list[str]]]:
    """Split (regions × years) so no request has more than ``max_cells`` cells or ``max_regions`` regions.

    As many regions per request as allowed, then as many whole years as still fit. The region cap
    keeps the GET URL short (each code is listed in ``valueCodes[Region]``).
    """
    if cells_per_region_year > max_cells:
        raise FetchError(f"SSBs grense på {max_cells} celler per uttrekk er mindre enn én region og ett år "
                         f"({cells_per_region_year} celler)")
    max_regions = max_regions or MAX_REGIONS_PER_REQUEST
    region_step = max(1, min(len(regions), max_regions, max_cells // cells_per_region_year))
    year_step = max(1, max_cells // (region_step * cells_per_region_year))
    return [(regions[i:i + region_step], years[j:j + year_step])
            for j in range(0, len(years), year_step) for i in range(0, len(regions), region_step)]


# --------------------------------------------------------------------------- reading answers


def _category(dimension: dict) -> tuple[list[str], dict[str, str]]:
    category = dimension.get("category") if isinstance(dimension, dict) else None
    if not isinstance(category, dict):
        return [], {}
    index = category.get("index")
    labels = category.get("label") or {}
    if isinstance(index, list):
        codes = [str(c) for c in index]
    elif isinstance(index, dict):
        codes = [c for c, _ in sorted(index.items(), key=lambda kv: kv[1])]
    else:
        codes = list(labels)
    return codes, {str(k): str(v) for k, v in labels.items()}


def _dataset_ids(doc: object, label: str) -> tuple[list[str], dict]:
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), list) or not isinstance(doc.get("dimension"), dict):
        raise FetchError(f"{label}: svaret er ikke et JSON-stat2-datasett (mangler «id» eller «dimension»)")
    return [str(i) for i in doc["id"]], doc["dimension"]


def _changed_dimensions(table: str, ids: list[str], label: str) -> FetchError:
    return FetchError(
        f"{label}: tabell {table} har endret dimensjoner. Ventet {', '.join(DIMENSIONS)}; fikk {', '.join(ids) or 'ingen'}. "
        "SSB har lagt om tabellen, og henteren må tilpasses før den kan brukes. Ingenting er skrevet."
    )


def parse_metadata(doc: object, table: str, years: list[str], label: str) -> TableMeta:
    ids, dims = _dataset_ids(doc, label)
    if sorted(ids) != sorted(DIMENSIONS):
        raise _changed_dimensions(table, ids, label)
    codes, labels = {}, {}
    for d in DIMENSIONS:
        codes[d], labels[d] = _category(dims.get(d))
        if not codes[d]:
            raise FetchError(f"{label}: dimensjonen {d} i tabell {table} har ingen verdier")
    if missing := [s for s in SEXES if s not in codes["Kjonn"]]:
        raise FetchError(f"{label}: tabell {table} mangler kjønn {', '.join(missing)} (ventet 1 = menn, 2 = kvinner)")
    if CONTENTS in codes["ContentsCode"]:
        content = CONTENTS
    elif len(codes["ContentsCode"]) == 1:
        content = codes["ContentsCode"][0]
    else:
        raise FetchError(f"{label}: tabell {table} har ikke statistikkvariabelen {CONTENTS} (personer); fant "
                         f"{', '.join(codes['ContentsCode'])}")
    if not any(_is_open_age(c, labels["Alder"].get(c, c)) for c in codes["Alder"]):
        raise FetchError(f"{label}: tabell {table} har ingen åpen øvre aldersgruppe (som «105 år eller eldre»)")
    if missing := [y for y in years if y not in codes["Tid"]]:
        last = codes["Tid"][-1] if codes["Tid"] else "ingen"
        raise FetchError(f"{label}: tabell {table} har ikke år {', '.join(missing)} (siste år i tabellen: {last})")
    return TableMeta(table=table, codes=codes, labels=labels, content=content)


def _is_open_age(code: str, text: str) -> bool:
    return "+" in code or "eller eldre" in text.lower()


def parse_data(doc: object, meta: TableMeta, request: Request) -> dict[tuple[str, str, str, str], object]:
    """(region, sex, age, year) -> value of one answer, after checking it is what was asked for."""
    label = request.label
    ids, dims = _dataset_ids(doc, label)
    if sorted(ids) != sorted(DIMENSIONS):
        raise _changed_dimensions(meta.table, ids, label)
    codes = {d: _category(dims.get(d))[0] for d in ids}
    expected = {"Region": request.regions, "Kjonn": list(SEXES), "Alder": meta.codes["Alder"],
                "ContentsCode": [meta.content], "Tid": request.years}
    for d, wanted in expected.items():
        if set(codes[d]) != set(wanted):
            extra = sorted(set(codes[d]) - set(wanted))[:5]
            missing = sorted(set(wanted) - set(codes[d]))[:5]
            raise FetchError(
                f"{label}: dimensjonen {d} i svaret stemmer ikke med forespørselen"
                + (f"; mangler {', '.join(missing)}" if missing else "") + (f"; uventet {', '.join(extra)}" if extra else "")
                + ". Tabellen kan være endret; ingenting er skrevet."
            )
    sizes = doc.get("size")
    if sizes != [len(codes[d]) for d in ids]:
        raise FetchError(f"{label}: «size» {sizes} stemmer ikke med kategoriene i svaret")
    total = 1
    for s in sizes:
        total *= s
    values = doc.get("value")
    if isinstance(values, dict):
        values = [values.get(str(i)) for i in range(total)]
    if not isinstance(values, list) or len(values) != total:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise FetchError(f"{label}: svaret har {got} verdier, ventet {total} (produktet av «size»); svaret er ufullstendig")
    position = {d: ids.index(d) for d in DIMENSIONS}
    cells: dict[tuple[str, str, str, str], object] = {}
    for value, combo in zip(values, itertools.product(*(codes[d] for d in ids))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise FetchError(f"{label}: verdien {value!r} for region {combo[position['Region']]}, "
                             f"år {combo[position['Tid']]} er ikke et tall")
        key = (region_code(combo[position["Region"]]), combo[position["Kjonn"]], combo[position["Alder"]],
               combo[position["Tid"]])
        cells[key] = value
    return cells


# --------------------------------------------------------------------------- fetching


def _max_cells(client: JsonClient, base: str, notes: list[str]) -> int:
    config = client.get_json(build_url(base, "config"), "forespørselen om SSBs grenser (config)")
    limit = config.get("maxDataCells") if isinstance(config, dict) else None
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return limit
    notes.append(f"config oppga ingen maxDataCells; brukte SSBs dokumenterte grense på {_thousands(DOCUMENTED_MAX_CELLS)} celler")
    return DOCUMENTED_MAX_CELLS


def _metadata(client: JsonClient, base: str, table: str, years: list[str]) -> TableMeta:
    label = f"forespørselen om metadata for tabell {table}"
    url = build_url(base, f"tables/{table}/metadata", {"lang": "no", "outputFormat": "json-stat2"})
    return parse_metadata(client.get_json(url, label), table, years, label)


def _data_url(base: str, meta: TableMeta, regions: list[str], years: list[str]) -> str:
    return build_url(base, f"tables/{meta.table}/data", {
        "lang": "no", "outputFormat": "json-stat2",
        "valueCodes[Region]": ",".join(regions), "valueCodes[Kjonn]": ",".join(SEXES),
        "valueCodes[Alder]": "*", "valueCodes[ContentsCode]": meta.content, "valueCodes[Tid]": ",".join(years),
    })


def _kommune_regions(meta: TableMeta) -> list[str]:
    return [c for c in meta.codes["Region"] if re.fullmatch(r"\d{4}", region_code(c)) and not SPECIAL_REGION.match(region_code(c))]


def fetch_population(
    years: list[int],
    *,
    base_url: str | None = None,
    database_url: str | None = None,
    engine=None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[str], None] = print_progress,
    allow_split_allocation: bool = True,
    replace_demo: bool = False,
    dry_run: bool = False,
) -> PopulationResult:
    """Fetch tables 07459 (and 10826 for the split kommuner' bydeler) for ``years`` and import them.

    Raises :class:`FetchError` when a request fails or an answer is unusable, with nothing written.
    """
    from data_loaders.importers import ImportValidationError, import_files
    from data_loaders.importers.crosswalk import load_crosswalk

    if not years:
        raise FetchError("ingen år å hente")
    base = base_url or settings().ssb_api_url
    client = JsonClient(timeout=timeout, progress=progress)
    wanted = [str(y) for y in years]
    notes: list[str] = []
    crosswalk = load_crosswalk()

    progress(f"Henter SSBs grenser fra {base} …")
    max_cells = _max_cells(client, base, notes)
    progress(f"Henter metadata for tabell {KOMMUNE_TABLE} …")
    kommune_meta = _metadata(client, base, KOMMUNE_TABLE, wanted)
    bydeler = sorted(crosswalk.bydeler)
    bydel_meta, bydel_years = None, []
    if bydeler:
        progress(f"Henter metadata for tabell {BYDEL_TABLE} (bydeler) …")
        bydel_meta = _metadata(client, base, BYDEL_TABLE, [])
        bydel_years = [y for y in wanted if y in bydel_meta.codes["Tid"]]
        if missing := [y for y in wanted if y not in bydel_years]:
            notes.append(f"tabell {BYDEL_TABLE} har ikke {', '.join(missing)} ennå: Oslos tall for "
                         f"{'dette året' if len(missing) == 1 else 'disse årene'} er lagt på «Uoppgitt bydel»")
        if set(bydel_meta.codes["Alder"]) != set(kommune_meta.codes["Alder"]):
            raise FetchError(f"tabell {BYDEL_TABLE} har andre aldersgrupper enn tabell {KOMMUNE_TABLE}; "
                             "henteren må tilpasses. Ingenting er skrevet.")

    bydel_regions = [c for c in (bydel_meta.codes["Region"] if bydel_meta else []) if region_code(c) in crosswalk.bydeler]
    requests = _plan_requests(base, max_cells, [(kommune_meta, _kommune_regions(kommune_meta), wanted),
                                                (bydel_meta, bydel_regions, bydel_years)])

    cells: dict[tuple[str, str, str, str], object] = {}
    origin: dict[tuple[str, str], str] = {}
    for meta, req in requests:
        count = len(req.regions) * len(req.years) * len(SEXES) * len(meta.codes["Alder"])
        progress(f"{req.label[0].upper()}{req.label[1:]}: {_thousands(count)} celler …")
        answer = parse_data(client.get_json(req.url, req.label), meta, req)
        cells.update(answer)
        for region in req.regions:
            for year in req.years:
                origin[(region_code(region), year)] = req.label
    progress(f"Alle {len(requests)} forespørsler er hentet; kontrollerer og skriver …")

    merged, row_keys = _merge(kommune_meta, bydel_meta, cells, wanted, crosswalk, notes)
    _check_kommuner(list(merged["dimension"]["Region"]["category"]["index"]), cells, wanted, crosswalk, origin,
                    kommune_meta)
    with tempfile.TemporaryDirectory(prefix="ssb-fetch-") as folder:
        path = Path(folder) / f"ssb-befolkning-{wanted[0]}-{wanted[-1]}.json"
        path.write_text(json.dumps(merged, ensure_ascii=False), encoding="utf-8")
        try:
            summary = import_files(
                [path], "ssb-jsonstat", allow_split_allocation=allow_split_allocation, source=SOURCE,
                extraction_date=date.today().isoformat(), replace_demo=replace_demo, dry_run=dry_run,
                database_url=database_url, engine=engine,
            )
        except ImportValidationError as exc:
            raise FetchError(_import_failure(exc, row_keys, origin)) from None
    return PopulationResult(summary=summary, requests=len(client.requests), notes=notes)


def _plan_requests(base: str, max_cells: int, tables: list[tuple[TableMeta | None, list[str], list[str]]]
                   ) -> list[tuple[TableMeta, Request]]:
    """The data requests for (table, regions, years), each within SSB's cell limit, labelled "forespørsel i/n"."""
    requests: list[tuple[TableMeta, Request]] = []
    for meta, regions, table_years in tables:
        if meta is None or not regions or not table_years:
            continue
        per = len(SEXES) * len(meta.codes["Alder"])
        for chunk_regions, chunk_years in plan_chunks(regions, table_years, per, max_cells):
            requests.append((meta, Request(meta.table, chunk_regions, chunk_years)))
    for i, (meta, req) in enumerate(requests, start=1):
        span = req.years[0] if len(req.years) == 1 else f"{req.years[0]}-{req.years[-1]}"
        req.label = f"forespørsel {i}/{len(requests)} (tabell {meta.table}, år {span}, {len(req.regions)} regioner)"
        req.url = _data_url(base, meta, req.regions, req.years)
    return requests


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _merge(kommune_meta: TableMeta, bydel_meta: TableMeta | None, cells: dict, years: list[str], crosswalk,
           notes: list[str]) -> tuple[dict, list[tuple[str, str, str, str]]]:
    """One JSON-stat2 dataset of every answer, and the (region, sex, age, year) of each value index."""
    ages = kommune_meta.codes["Alder"]
    labels = {region_code(c): t for c, t in kommune_meta.labels["Region"].items()}
    regions = [region_code(c) for c in _kommune_regions(kommune_meta)]
    if bydel_meta is not None:
        labels.update({region_code(c): t for c, t in bydel_meta.labels["Region"].items()})
        delivered = {region_code(c) for c in bydel_meta.codes["Region"]}
        bydel_regions = [c for c in sorted(crosswalk.bydeler) if c in delivered]
        for kommune, rest in crosswalk.uoppgitt.items():
            if rest in delivered or kommune not in regions:
                continue
            _derive_rest(cells, kommune, rest, [b for b in bydel_regions if crosswalk.bydeler[b] == kommune], years, ages)
            labels[rest] = "Uoppgitt bydel"
            bydel_regions.append(rest)
            notes.append(f"{rest} «Uoppgitt bydel» = {kommune} (tabell {KOMMUNE_TABLE}) minus bydelene (tabell "
                         f"{BYDEL_TABLE}), siden tabell {BYDEL_TABLE} ikke har koden")
        regions += bydel_regions
    dims = {"Region": regions, "Kjonn": list(SEXES), "Alder": ages, "ContentsCode": [CONTENTS], "Tid": years}
    keys, values = [], []
    for region, sex, age, content, year in itertools.product(*dims.values()):
        keys.append((region, sex, age, year))
        values.append(cells.get((region, sex, age, year)))
    age_labels = kommune_meta.labels["Alder"]
    doc = {
        "version": "2.0", "class": "dataset",
        "label": "Befolkning 1. januar etter region, kjønn og alder (SSB tabell 07459 og 10826)",
        "source": "Statistisk sentralbyrå", "updated": date.today().isoformat(),
        "id": list(DIMENSIONS), "size": [len(v) for v in dims.values()],
        "dimension": {
            "Region": {"label": "region", "category": {"index": {c: i for i, c in enumerate(regions)},
                                                         "label": {c: labels.get(c, c) for c in regions}}},
            "Kjonn": {"label": "kjønn", "category": {"index": {"1": 0, "2": 1}, "label": {"1": "Menn", "2": "Kvinner"}}},
            "Alder": {"label": "alder", "category": {"index": {c: i for i, c in enumerate(ages)},
                                                       "label": {c: age_labels.get(c, c) for c in ages}}},
            "ContentsCode": {"label": "statistikkvariabel", "category": {"index": {CONTENTS: 0},
                                                                          "label": {CONTENTS: "Personer"}}},
            "Tid": {"label": "år", "category": {"index": {y: i for i, y in enumerate(years)}, "label": {y: y for y in years}}},
        },
        "value": values,
    }
    return doc, keys


def _derive_rest(cells: dict, kommune: str, rest: str, bydeler: list[str], years: list[str], ages: list[str]) -> None:
    """The split kommune's persons without a known bydel: the kommune minus its bydeler, cell by cell."""
    for year in years:
        if all(cells.get((b, s, a, year)) is None for b in bydeler for s in SEXES for a in ages):
            continue  # no bydeler this year: the import puts the kommune's rows on its "uoppgitt bydel"
        for sex in SEXES:
            for age in ages:
                whole = cells.get((kommune, sex, age, year))
                parts = [cells.get((b, sex, age, year)) for b in bydeler]
                if whole is None or any(p is None for p in parts):
                    continue
                difference = whole - sum(parts)
                if difference < 0:
                    raise FetchError(
                        f"bydelene i tabell {BYDEL_TABLE} summerer til mer enn kommune {kommune} i tabell {KOMMUNE_TABLE} "
                        f"({year}, kjønn {sex}, alder {age}: {sum(parts)} mot {whole}); tabellene er ikke samstemte. "
                        "Ingenting er skrevet."
                    )
                cells[(rest, sex, age, year)] = difference


def _check_kommuner(regions: list[str], cells: dict, years: list[str], crosswalk, origin: dict, meta: TableMeta) -> None:
    """A kommune with figures for a year must be known to the product's geography (Norwegian error)."""
    labels = {region_code(c): t for c, t in meta.labels["Region"].items()}
    for region in regions:
        if len(region) != 4:
            continue
        for year in years:
            values = [cells.get((region, s, a, year)) for s in SEXES for a in meta.codes["Alder"]]
            if all(v is None or v == 0 for v in values):
                continue
            if isinstance(crosswalk.translate(region, int(year)), str):
                raise FetchError(
                    f"{origin.get((region, year), 'svaret')}: ukjent kommune {region} «{labels.get(region, '')}» har "
                    f"befolkningstall for {year}, men finnes ikke i produktets geografi (kommunene i 2024 og "
                    "kommunekrysstabellen). Oppdater referansegeografien før du henter. Ingenting er skrevet."
                )


def _import_failure(exc, keys: list[tuple[str, str, str, str]], origin: dict) -> str:
    lines = [f"Befolkningen fra SSB besto ikke importens kontroller ({exc.total} problem(er)); ingenting er skrevet."]
    for problem in exc.problems:
        where = ""
        if problem.row is not None and 0 < problem.row <= len(keys):
            region, sex, age, year = keys[problem.row - 1]
            where = f"{origin.get((region, year), 'beregnet')}, region {region}, år {year}: "
        lines.append(f"  {where}{problem.message}")
    if exc.total > len(exc.problems):
        lines.append(f"  … og {exc.total - len(exc.problems)} til")
    return "\n".join(lines)
