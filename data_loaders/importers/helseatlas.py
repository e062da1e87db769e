"""SKDE's Helseatlas result files (``{"innhold": [...]}``) as published indicators.

Each file holds chart specifications (``barchart``, ``map``, ``table``, ``linechart``) and data
blocks (``type: "data"``, rows keyed by ``area``). The charts say which key is the value (a
map's ``x``, a one-bar barchart's ``x``), which keys are its interval (the barchart's
``errorBars``) and which its yearly values (``annualVar`` with ``annualVarLabels``); no key name
is assumed. Every value key shown per area becomes one published indicator: the period
average (e.g. 2020-2024) and, where given, each year.

Areas are matched by name or code to SKDE's 21 opptaksområder (level ``helseforetak``) or to the
fylker; the national row (``national``: Norge/Noreg) is the country. Files on areas the product
has no level for (DPS areas, the 19 areas of Helseatlas barn) are skipped with a note saying
which file and why; an area that cannot be placed in an otherwise known set is an error.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from data_loaders import reference
from data_loaders.importers.errors import Problems
from data_loaders.reference import NATIONAL_ID

PUBLISHER = "SKDE"
# The atlases SKDE publishes (folder name -> title, publication date, priority group).
ATLASES = {
    "psyk2": ("Helseatlas psykisk helsevern for vaksne", "2026-01-09", "psykisk_helse_rus"),
    "bup": ("Helseatlas psykisk helsevern for barn og unge", "2025-01-10", "barn_og_unge"),
    "barn2025": ("Helseatlas barn", "2025-06-16", "barn_og_unge"),
    "kronikere": ("Helseatlas for kroniske sykdommer", "2022-04-29", "flere_kroniske"),
}
NATIONAL_NAMES = ("norge", "noreg", "norway", "hele landet", "heile landet")
# Spellings of the opptaksområder met in the atlases besides SKDE's own names (nb/nn/en).
HF_ALIASES = {
    "ahus": "ahus", "akershus universitetssykehus": "ahus", "st olavs": "st-olav", "st olavs hospital": "st-olav",
    "st olav": "st-olav", "sorlandet": "agder", "sørlandet": "agder", "unn": "troms-ofoten",
    "universitetssykehuset nord-norge": "troms-ofoten", "oslo universitetssykehus": "ous",
    "helse more og romsdal": "more-romsdal", "helse møre og romsdal": "more-romsdal", "helse forde": "forde",
    "helse førde": "forde", "helse bergen": "bergen", "helse fonna": "fonna", "helse stavanger": "stavanger",
}
OSLO_SECTORS = ("lovisenberg", "diakonhjemmet")


class AtlasFileError(ValueError):
    """A file that does not follow SKDE's format; the message names the file and the item."""


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFC", str(text)).strip().lower().replace(".", " ")
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class AreaMatcher:
    """Names and codes of the helseforetak areas and fylker, normalised."""

    helseforetak: dict[str, str]
    fylke: dict[str, str]

    @classmethod
    def from_reference(cls) -> "AreaMatcher":
        hf: dict[str, str] = {}
        for row in reference.load_helseforetak().iter_rows(named=True):
            for name in (row["helseforetak_id"], row["helseforetak_navn"], row["helseforetak"]):
                hf[_norm(name)] = row["helseforetak_id"]
            hf[_norm(row["helseforetak_id"].replace("-", " "))] = row["helseforetak_id"]
        for alias, hf_id in HF_ALIASES.items():
            if hf_id in hf.values():
                hf[_norm(alias)] = hf_id
        fylke: dict[str, str] = {}
        for row in reference.load_fylker().iter_rows(named=True):
            fylke[_norm(row["fylkesnummer"])] = row["fylkesnummer"]
            for part in str(row["fylkesnavn"]).split(" - "):
                fylke[_norm(part)] = row["fylkesnummer"]
        return cls(helseforetak=hf, fylke=fylke)

    def classify(self, names: list[str]) -> tuple[str | None, str]:
        """The level of a block's areas (helseforetak, fylke or None to skip) and, when skipped, why."""
        keys = [_norm(n) for n in names]
        if keys and all(k in self.helseforetak for k in keys):
            ids = {self.helseforetak[k] for k in keys}
            if "ous" in ids and not ids & set(OSLO_SECTORS):
                return None, ("områdene er Helseatlas barns 19 områder, der OUS står for hele Oslo; produktet har "
                              "Oslos fire sykehussektorer hver for seg og kan ikke dele verdien")
            return "helseforetak", ""
        if keys and all(k in self.fylke for k in keys):
            return "fylke", ""
        known = sum(k in self.helseforetak for k in keys)
        if known * 2 > len(keys):  # mostly opptaksområder: the rest are errors, not another area set
            return "helseforetak", ""
        return None, (f"områdene ({', '.join(sorted(names)[:4])} …) er verken SKDEs opptaksområder eller fylker "
                      "(for eksempel DPS-områder); produktet har ikke det nivået")

    def area_id(self, level: str, name: str) -> str | None:
        return (self.helseforetak if level == "helseforetak" else self.fylke).get(_norm(name))


@dataclass
class AtlasIndicator:
    meta: dict
    values: list[dict] = field(default_factory=list)


@dataclass
class AtlasFile:
    path: Path
    sha256: str
    atlas: str
    indicators: list[AtlasIndicator] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def dataset_id(self) -> str:
        return f"helseatlas-{_slug(self.atlas)[:12]}-{_slug(self.path.stem)[:28]}-{self.sha256[:8]}"


def _text(label, *langs: str) -> str:
    """A label in the first language present (nb, nn, no, en)."""
    if isinstance(label, str):
        return label.strip()
    if isinstance(label, dict):
        for lang in langs or ("nb", "nn", "no", "en"):
            if label.get(lang):
                return " ".join(str(label[lang]).split())
    return ""


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower()).replace("ø", "o").replace("æ", "ae")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _unit_text(label: str) -> str:
    match = re.search(r"(?:pr\.?|per)\s*(\d{1,3}(?:[\s.,]\d{3})*|\d+)", label, flags=re.IGNORECASE)
    if match:
        number = int(re.sub(r"\D", "", match.group(1)))
        return f"per {number:,} innbyggere".replace(",", " ")
    if "%" in label or "prosent" in label.lower() or "percent" in label.lower():
        return "prosent"
    return "som publisert"


def _year(label: str, key: str) -> int | None:
    for text in (label, key):
        match = re.search(r"(?:19|20)\d{2}", str(text))
        if match:
            return int(match.group(0))
    return None


def _number(value, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AtlasFileError(f"{where}: verdien {value!r} er ikke et tall")
    return float(value)


def read_atlas_file(path: Path, matcher: AreaMatcher, group: str | None = None) -> AtlasFile:
    """One atlas file as published indicators; raises AtlasFileError naming file and item."""
    raw = path.read_bytes()
    atlas = path.parent.name or "helseatlas"
    result = AtlasFile(path=path, sha256=hashlib.sha256(raw).hexdigest(), atlas=atlas)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AtlasFileError(f"{path.name}: ikke gyldig JSON ({exc})") from None
    items = doc.get("innhold") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise AtlasFileError(f"{path.name}: mangler listen «innhold» med diagrammer og datablokker (SKDEs format)")
    blocks: dict[str, tuple[int, dict]] = {}
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "type" not in item:
            raise AtlasFileError(f"{path.name}: element {i} i «innhold» mangler «type»")
        if item["type"] == "data":
            if not isinstance(item.get("data"), list):
                raise AtlasFileError(f"{path.name}: element {i} (datablokk {item.get('label')!r}) mangler listen «data»")
            blocks[str(item.get("label"))] = (i, item)
    title, published, atlas_group = ATLASES.get(atlas, ("Helseatlas", None, None))
    group_id = group or atlas_group
    for label, (i, block) in blocks.items():
        rows = block["data"]
        area_rows = [r for r in rows if isinstance(r, dict) and "area" in r]
        if not area_rows:
            continue  # a national series by year or age: no area to show
        specs = _value_specs(path, items, label)
        if not specs:
            continue
        national = _norm(block.get("national") or "")
        names = [str(r["area"]) for r in area_rows
                 if _norm(r["area"]) not in NATIONAL_NAMES and _norm(r["area"]) != national]
        level, why = matcher.classify(names)
        if level is None:
            result.notes.append(f"hoppet over datablokk {label!r}: {why}")
            continue
        if group_id is None:
            raise AtlasFileError(f"{path.name}: ukjent atlas {atlas!r}; oppgi hvilken prioritert gruppe "
                                 "indikatorene hører til (--group)")
        where_block = f"{path.name}: element {i} (datablokk {label!r})"
        for spec in specs:
            if not any(spec["key"] in r for r in area_rows):
                result.notes.append(f"hoppet over verdien {spec['key']!r} (element {spec['item']}): diagrammet viser en "
                                    f"nøkkel som ikke finnes i datablokken {label!r}")
                continue
            if spec.get("conflict"):
                result.notes.append(f"verdien {spec['key']!r}: element {spec['conflict']} gir andre årlige verdier enn "
                                    "det første diagrammet; bare det første er brukt")
            result.indicators.append(_indicator(path, atlas, title, group_id, level, block, area_rows, spec,
                                                matcher, where_block, label, len(blocks) > 1))
    if not result.indicators and not result.notes:
        result.notes.append("hoppet over: filen har ingen verdier per område")
    if published is None:
        result.notes.append("ukjent atlas: uttrekksdatoen er satt til dagens dato (oppgi --extraction-date)")
    return result


def _value_specs(path: Path, items: list, label: str) -> list[dict]:
    """What the charts of one data block show: value key, interval keys, yearly keys and labels."""
    charts = [(i, it) for i, it in enumerate(items, start=1)
              if isinstance(it, dict) and it.get("type") in ("barchart", "map") and str(it.get("data")) == label]
    keys: list[str] = []
    for _, it in charts:
        x = it.get("x")
        if it["type"] == "map" and isinstance(x, str):
            key = x
        elif it["type"] == "barchart" and it.get("y") == "area" and isinstance(x, list) and len(x) == 1:
            key = str(x[0])
        else:
            continue
        if key not in keys:
            keys.append(key)
    specs = []
    for key in keys:
        spec = {"key": key, "interval": None, "annual": [], "name": "", "item": None}
        for i, it in charts:
            x = it.get("x")
            if it["type"] == "barchart" and isinstance(x, list) and x == [key]:
                spec["item"] = spec["item"] or i
                spec["name"] = spec["name"] or _text(it.get("xLabel"))
                bars = it.get("errorBars")
                if bars is not None:
                    if not (isinstance(bars, list) and len(bars) == 2):
                        raise AtlasFileError(f"{path.name}: element {i} (barchart): «errorBars» skal ha to nøkler, "
                                             f"nedre og øvre grense")
                    spec["interval"] = (str(bars[0]), str(bars[1]))
                annual = it.get("annualVar")
                if annual and spec["annual"]:
                    if [k for k, _ in spec["annual"]] != list(map(str, annual)):
                        spec["conflict"] = i  # two charts give the value different yearly keys
                    continue
                if annual:
                    labels = it.get("annualVarLabels") or {}
                    shown = next((labels[lang] for lang in ("nb", "nn", "no", "en") if isinstance(labels.get(lang), list)), [])
                    years = [_year(shown[n] if n < len(shown) else "", k) for n, k in enumerate(annual)]
                    if None in years:
                        raise AtlasFileError(f"{path.name}: element {i} (barchart): finner ikke året for "
                                             f"«annualVar» {annual[years.index(None)]!r}")
                    spec["annual"] = list(zip(map(str, annual), years))
            elif it["type"] == "map" and x == key:
                spec["item"] = spec["item"] or i
                spec["name"] = _text(it.get("caption")) or spec["name"]
        specs.append(spec)
    return specs


def _period(path: Path, items: list, spec: dict) -> tuple[int, int]:
    """The years the average covers: the value's own yearly values, else any in the file, else a caption."""
    years = [y for _, y in spec["annual"]]
    if not years:
        for it in items:
            if isinstance(it, dict) and it.get("annualVar"):
                years += [_year(lab, k) or 0 for k, lab in zip(it["annualVar"], it["annualVar"])]
        years = [y for y in years if y]
    if not years:
        for it in items:
            caption = _text(it.get("caption")) if isinstance(it, dict) else ""
            match = re.search(r"((?:19|20)\d{2})\s*[–-]\s*((?:19|20)\d{2})", caption)
            if match:
                return int(match.group(1)), int(match.group(2))
    if not years:
        raise AtlasFileError(f"{path.name}: element {spec['item']}: finner ikke hvilke år verdien {spec['key']!r} "
                             "gjelder (ingen årlige verdier og ingen periode i tekstene)")
    return min(years), max(years)


def _indicator(path, atlas, title, group_id, level, block, area_rows, spec, matcher, where_block, label,
               several_blocks) -> AtlasIndicator:
    key = spec["key"]
    items = json.loads(path.read_bytes().decode("utf-8"))["innhold"]
    start, end = _period(path, items, spec)
    name = spec["name"] or key
    parts = ["skde", atlas, path.stem] + ([label] if several_blocks else []) + [key]
    indicator_id = _slug("_".join(parts))[:120]
    table = next((it for it in items if isinstance(it, dict) and it.get("type") == "table"
                  and str(it.get("data")) == label), None)
    caption = _text(table.get("caption")) if table else ""
    meta = dict(
        indicator_id=indicator_id, name=name, short_name=name if len(name) <= 60 else name[:57].rstrip() + " …",
        description=caption or name, group_id=group_id, publisher=PUBLISHER, source=f"SKDE, {title}",
        definition=(f"{name}. Årlig gjennomsnitt {start}–{end}" + (" og verdien for hvert år" if spec["annual"] else "")
                    + ", som SKDE har beregnet og publisert i atlaset."),
        unit=_unit_text(name), direction="neutral", level=level,
        interval_label="konfidensintervall som publisert av SKDE" if spec["interval"] else "",
        flags_note="SKDE publiserer ikke verdier for svært små grupper; verdier som mangler i filen vises som ikke rapportert.",
    )
    result = AtlasIndicator(meta=meta)
    national = _norm(block.get("national") or "")
    for n, row in enumerate(area_rows, start=1):
        where = f"{where_block}, rad {n} (område {row['area']!r})"
        area = _norm(row["area"])
        if area in NATIONAL_NAMES or (national and area == national):
            row_level, area_id = "land", NATIONAL_ID
        else:
            row_level, area_id = level, matcher.area_id(level, row["area"])
            if area_id is None:
                kind = "SKDEs opptaksområder" if level == "helseforetak" else "fylkene"
                raise AtlasFileError(f"{where}: finner ikke området {row['area']!r} blant {kind}")
        if key not in row:
            raise AtlasFileError(f"{where}: mangler verdien {key!r} som diagrammet viser")
        lower = upper = None
        if spec["interval"]:
            lower = _number(row.get(spec["interval"][0]), f"{where}, {spec['interval'][0]!r}")
            upper = _number(row.get(spec["interval"][1]), f"{where}, {spec['interval'][1]!r}")
            if lower is not None and upper is not None and lower > upper:
                raise AtlasFileError(f"{where}: nedre grense {lower} er større enn øvre grense {upper}")
        value = _number(row.get(key), f"{where}, {key!r}")
        result.values.append(dict(level=row_level, area_id=area_id, year_start=start, year_end=end, value=value,
                                  lower=lower, upper=upper, numerator=None, denominator=None, publisher_flag=0))
        for annual_key, year in spec["annual"]:
            if annual_key not in row:
                continue
            result.values.append(dict(level=row_level, area_id=area_id, year_start=year, year_end=year,
                                      value=_number(row[annual_key], f"{where}, {annual_key!r}"), lower=None,
                                      upper=None, numerator=None, denominator=None, publisher_flag=0))
    seen = set()
    for v in result.values:
        cell = (v["level"], v["area_id"], v["year_start"], v["year_end"])
        if cell in seen:
            raise AtlasFileError(f"{where_block}: området {v['area_id']!r} står to ganger for {v['year_start']}–{v['year_end']}")
        seen.add(cell)
    return result


# --- the import -------------------------------------------------------------------------------


@dataclass
class PublishedImport:
    """Everything one published import writes (one dataset per file)."""

    datasets: list[dict] = field(default_factory=list)
    indicators: list[pl.DataFrame] = field(default_factory=list)
    values: list[pl.DataFrame] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # file -> (indicators, values)


INDICATOR_SCHEMA = {c: pl.String for c in (
    "indicator_id", "name", "short_name", "description", "group_id", "publisher", "source", "definition", "unit",
    "direction", "level", "interval_label", "flags_note", "dataset_id")}
VALUE_SCHEMA = {"indicator_id": pl.String, "level": pl.String, "area_id": pl.String, "year_start": pl.Int32,
                "year_end": pl.Int32, "value": pl.Float64, "lower": pl.Float64, "upper": pl.Float64,
                "numerator": pl.Float64, "denominator": pl.Float64, "publisher_flag": pl.Int32, "dataset_id": pl.String}


def read_helseatlas(paths: list[Path], problems: Problems, *, group: str | None, group_ids: set[str],
                    extraction_date: str | None, source: str | None) -> PublishedImport:
    """Validate every file; problems go to ``problems`` (then nothing may be written)."""
    matcher = AreaMatcher.from_reference()
    out = PublishedImport()
    seen: dict[str, str] = {}
    if group is not None and group not in group_ids:
        problems.add("--group", None, None, f"ukjent gruppe {group!r}; velg en av {', '.join(sorted(group_ids))}")
        return out
    for path in paths:
        try:
            atlas = read_atlas_file(path, matcher, group)
        except AtlasFileError as exc:
            problems.add(path.name, None, None, str(exc).removeprefix(f"{path.name}: "))
            continue
        out.notes[path.name] = atlas.notes
        n_values = 0
        for ind in atlas.indicators:
            if ind.meta["group_id"] not in group_ids:
                problems.add(path.name, None, None, f"ukjent gruppe {ind.meta['group_id']!r}")
                break
            if ind.meta["indicator_id"] in seen:
                problems.add(path.name, None, None, f"indikatoren {ind.meta['indicator_id']!r} kommer også fra "
                             f"{seen[ind.meta['indicator_id']]}; importer bare én av filene")
                continue
            seen[ind.meta["indicator_id"]] = path.name
            meta = dict(ind.meta, dataset_id=atlas.dataset_id)
            if source:
                meta["source"] = source
            out.indicators.append(pl.DataFrame([meta], schema=INDICATOR_SCHEMA))
            out.values.append(pl.DataFrame([dict(v, indicator_id=meta["indicator_id"], dataset_id=atlas.dataset_id)
                                            for v in ind.values], schema=VALUE_SCHEMA))
            n_values += len(ind.values)
        out.counts[path.name] = (len(atlas.indicators), n_values)
        if atlas.indicators:
            title, published, _ = ATLASES.get(atlas.atlas, ("Helseatlas", None, None))
            out.datasets.append(dict(
                dataset_id=atlas.dataset_id, source=source or f"SKDE, {title}",
                description=f"Publiserte verdier fra SKDE, {title}: {len(atlas.indicators)} indikator(er)",
                extraction_date=extraction_date or published or date.today().isoformat(), synthetic=False,
                file_name=path.name, file_sha256=atlas.sha256, row_count=n_values,
            ))
    return out


def write_published(engine, imp: PublishedImport) -> int:
    """Write a validated published import in one transaction; returns the value rows written."""
    from data_loaders import store
    from data_loaders.importers.writer import ensure_store

    ensure_store(engine)
    written = 0
    with engine.begin() as conn:
        for ds in imp.datasets:
            store.upsert_dataset(conn, ds["dataset_id"], source=ds["source"], description=ds["description"],
                                 extraction_date=ds["extraction_date"], synthetic=False, row_count=ds["row_count"],
                                 file_name=ds["file_name"], file_sha256=ds["file_sha256"])
        if imp.indicators:
            written = store.replace_published(conn, pl.concat(imp.indicators), pl.concat(imp.values))
        # A dataset whose indicators were all re-imported under a new file version has no rows left.
        counts = store.published_row_counts(conn)
        from data_loaders import schema
        import sqlalchemy as sa

        d = schema.dataset
        for dataset_id in conn.execute(sa.select(d.c.dataset_id).where(
                d.c.dataset_id.like("helseatlas-%") | d.c.dataset_id.like("fhi-published-%"))).scalars().all():
            if counts.get(dataset_id, 0) == 0:
                conn.execute(sa.delete(d).where(d.c.dataset_id == dataset_id))
            else:
                conn.execute(sa.update(d).where(d.c.dataset_id == dataset_id).values(row_count=counts[dataset_id]))
    return written
