"""The kommune classifications from SSB's KLASS API (https://data.ssb.no/api/klass/v1).

* 131 "Standard for kommuneinndeling": the kommuner valid on the date, which must be exactly the
  product's geography (an unknown kommune is an error naming the code), and the changes since
  2020, each of which the product's kommune crosswalk must already know;
* 128 "Sentralitet": each kommune's class (1-6), from the 131 -> 128 correspondence;
* 112 "KOSTRA-gruppering": each kommune's KOSTRA group, from the 131 -> 112 correspondence.

Everything is fetched and checked first; then the store's ``kommune_klassifisering`` and
``klassifisering_gruppe`` tables are replaced in one transaction, as ``store.write_reference``
writes them. KLASS has the sentralitet class but not the index value (0-1000): the index stays
as the product's reference table has it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import polars as pl
import sqlalchemy as sa

from data_loaders import reference, schema, store
from data_loaders.config import settings
from data_loaders.fetch.errors import FetchError
from data_loaders.fetch.http import DEFAULT_TIMEOUT, JsonClient, build_url, print_progress

KOMMUNER = "131"
SENTRALITET = "128"
KOSTRA = "112"
CHANGES_SINCE = "2020-01-01"
SPECIAL_KOMMUNE = re.compile(r"^(2[123]\d\d|9999)$")
KOSTRA_GROUP = re.compile(r"^EKG\d\d$")


@dataclass
class ClassificationResult:
    date: str
    kommuner: int
    changes_checked: int
    renamed: list[str] = field(default_factory=list)
    requests: int = 0
    written: bool = False

    def render(self) -> str:
        lines = [
            f"KLASS per {self.date}: {self.kommuner} kommuner, {self.changes_checked} kommuneendringer siden "
            f"{CHANGES_SINCE[:4]} kontrollert mot kommunekrysstabellen ({self.requests} forespørsler).",
            "Sentralitet (KLASS 128) og KOSTRA-grupper (KLASS 112) for alle kommuner "
            + ("er skrevet til lageret." if self.written else "er kontrollert (tørrkjøring, ingenting skrevet)."),
        ]
        if self.renamed:
            lines.append("Nye kommunenavn: " + ", ".join(self.renamed))
        return "\n".join(lines)


def _list(doc: object, key: str, label: str) -> list[dict]:
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise FetchError(f"{label}: svaret har ikke listen «{key}» som KLASS skal gi; svaret kan ikke brukes")
    return items


def _field(item: dict, key: str, label: str) -> str:
    value = item.get(key)
    if value is None or str(value).strip() == "":
        raise FetchError(f"{label}: en rad i svaret mangler «{key}»: {item!r:.120}")
    return str(value).strip()


def kommune_codes(doc: object, label: str, known: dict[str, str], when: str) -> dict[str, str]:
    """Kommunenummer -> name of KLASS 131 on the date; every one must be a product kommune, and all of them present."""
    codes: dict[str, str] = {}
    for item in _list(doc, "codes", label):
        code = _field(item, "code", label)
        if SPECIAL_KOMMUNE.match(code):
            continue
        codes[code] = _field(item, "name", label)
    if unknown := sorted(set(codes) - set(known)):
        first = unknown[0]
        raise FetchError(
            f"{label}: ukjent kommune {first} «{codes[first]}» (KLASS 131 per {when}) finnes ikke i produktets geografi"
            + (f" (og {len(unknown) - 1} til: {', '.join(unknown[1:6])})" if len(unknown) > 1 else "")
            + ". Kommunestrukturen er endret etter 2024; referansegeografien må oppdateres først. Ingenting er skrevet."
        )
    if missing := sorted(set(known) - set(codes)):
        raise FetchError(
            f"{label}: kommune {missing[0]} «{known[missing[0]]}» i produktets geografi finnes ikke i KLASS 131 per {when}"
            + (f" (og {len(missing) - 1} til)" if len(missing) > 1 else "") + ". Ingenting er skrevet."
        )
    return codes


def check_changes(doc: object, label: str, crosswalk) -> int:
    """Every renumbering, merger or split in KLASS must be in the crosswalk; returns how many were checked."""
    checked = 0
    for item in _list(doc, "codeChanges", label):
        old, new = _field(item, "oldCode", label), _field(item, "newCode", label)
        when = _field(item, "changeOccurred", label)
        if old == new or SPECIAL_KOMMUNE.match(old) or SPECIAL_KOMMUNE.match(new):
            continue
        year = int(when[:4])
        before, after = crosswalk.translate(old, year - 1), crosswalk.translate(new, year)
        known = (not isinstance(before, str) and not isinstance(after, str)
                 and {t for t, _ in after.targets} & {t for t, _ in before.targets})
        if not known:
            raise FetchError(
                f"{label}: kommuneendringen {old} «{item.get('oldName', '')}» → {new} «{item.get('newName', '')}» "
                f"({when}) mangler i produktets kommunekrysstabell, så tall fra før endringen ville blitt feil "
                "oversatt. Oppdater kommunekrysstabellen først. Ingenting er skrevet."
            )
        checked += 1
    return checked


def correspondence(doc: object, label: str, known: dict[str, str], pick: Callable[[list[str]], str | None]) -> dict[str, str]:
    """Kommunenummer -> target code; every product kommune exactly once, no unknown kommune."""
    targets: dict[str, list[str]] = {}
    for item in _list(doc, "correspondenceItems", label):
        source = _field(item, "sourceCode", label)
        if SPECIAL_KOMMUNE.match(source):
            continue
        if source not in known:
            raise FetchError(
                f"{label}: ukjent kommune {source} «{item.get('sourceName', '')}» finnes ikke i produktets geografi. "
                "Ingenting er skrevet."
            )
        targets.setdefault(source, []).append(_field(item, "targetCode", label))
    if missing := sorted(set(known) - set(targets)):
        raise FetchError(f"{label}: kommune {missing[0]} «{known[missing[0]]}» mangler"
                         + (f" (og {len(missing) - 1} til)" if len(missing) > 1 else "") + ". Ingenting er skrevet.")
    out = {}
    for kommune, codes in sorted(targets.items()):
        chosen = pick(sorted(set(codes)))
        if chosen is None:
            raise FetchError(f"{label}: kommune {kommune} har flere eller ugyldige koder ({', '.join(sorted(set(codes)))}); "
                             "ventet nøyaktig én. Ingenting er skrevet.")
        out[kommune] = chosen
    return out


def _pick_sentralitet(codes: list[str]) -> str | None:
    valid = [c for c in codes if c.isdigit() and 1 <= int(c) <= 6]
    return valid[0] if len(valid) == 1 else None


def _pick_kostra(codes: list[str]) -> str | None:
    groups = [c for c in codes if KOSTRA_GROUP.match(c)]
    if len(groups) == 1:
        return groups[0]
    return codes[0] if len(codes) == 1 and len(codes[0]) <= 5 else None


def _names(doc: object, label: str) -> dict[str, str]:
    return {_field(i, "code", label): _field(i, "name", label) for i in _list(doc, "codes", label)}


def fetch_classifications(
    *,
    when: str | None = None,
    base_url: str | None = None,
    database_url: str | None = None,
    engine=None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[str], None] = print_progress,
    dry_run: bool = False,
) -> ClassificationResult:
    """Fetch the kommune list, its changes, sentralitet and KOSTRA groups valid on ``when`` (default today)."""
    from data_loaders.importers.crosswalk import load_crosswalk

    when = when or date.today().isoformat()
    base = base_url or settings().klass_api_url
    client = JsonClient(timeout=timeout, progress=progress)
    known = dict(reference.load_kommuner().select("kommunenummer", "kommunenavn").iter_rows())

    def get(path: str, params: dict[str, str], label: str) -> object:
        progress(f"Henter {label} …")
        return client.get_json(build_url(base, path, params), f"forespørselen om {label}")

    def label(text: str) -> str:
        return f"forespørselen om {text}"

    text = f"kommunelisten (KLASS {KOMMUNER}) per {when}"
    kommuner = kommune_codes(get(f"classifications/{KOMMUNER}/codesAt", {"date": when}, text), label(text), known, when)
    text = f"kommuneendringer (KLASS {KOMMUNER}) fra {CHANGES_SINCE} til {when}"
    changes = check_changes(get(f"classifications/{KOMMUNER}/changes", {"from": CHANGES_SINCE, "to": when}, text),
                            label(text), load_crosswalk())
    text = f"sentralitet per kommune (KLASS {KOMMUNER} → {SENTRALITET})"
    sentralitet = correspondence(get(f"classifications/{KOMMUNER}/correspondsAt",
                                     {"targetClassificationId": SENTRALITET, "date": when}, text),
                                 label(text), kommuner, _pick_sentralitet)
    text = f"navnene på sentralitetsklassene (KLASS {SENTRALITET})"
    sentralitet_names = _names(get(f"classifications/{SENTRALITET}/codesAt", {"date": when}, text), label(text))
    text = f"KOSTRA-gruppe per kommune (KLASS {KOMMUNER} → {KOSTRA})"
    kostra = correspondence(get(f"classifications/{KOMMUNER}/correspondsAt",
                                {"targetClassificationId": KOSTRA, "date": when}, text),
                            label(text), kommuner, _pick_kostra)
    text = f"navnene på KOSTRA-gruppene (KLASS {KOSTRA})"
    kostra_names = _names(get(f"classifications/{KOSTRA}/codesAt", {"date": when}, text), label(text))

    per_kommune, groups = build_tables(when, sentralitet, sentralitet_names, kostra, kostra_names)
    renamed = [f"{k} {known[k]} → {n}" for k, n in sorted(kommuner.items()) if n != known[k]]
    result = ClassificationResult(date=when, kommuner=len(kommuner), changes_checked=changes, renamed=renamed,
                                  requests=len(client.requests))
    if dry_run:
        return result
    engine = engine or store.get_engine(database_url or settings().database_url)
    write(engine, per_kommune, groups, kommuner, when)
    result.written = True
    progress("Klassifikasjonene er skrevet.")
    return result


def build_tables(when: str, sentralitet: dict, sentralitet_names: dict, kostra: dict, kostra_names: dict
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of ``kommune_klassifisering`` and ``klassifisering_gruppe``."""
    index = dict(reference.load_klassifisering().select("kommunenummer", "sentralitetsindeks").iter_rows())
    source = (f"SSB KLASS per {when}: sentralitet (klassifikasjon {SENTRALITET}), KOSTRA-gruppe (klassifikasjon {KOSTRA}); "
              "sentralitetsindeksen fra produktets referansetabell")
    per_kommune = pl.DataFrame(
        [(k, int(sentralitet[k]), index.get(k, 0), kostra[k], source) for k in sorted(sentralitet)],
        schema={"kommunenummer": pl.String, "sentralitetsklasse": pl.Int64, "sentralitetsindeks": pl.Int64,
                "kostragruppe": pl.String, "source": pl.String},
        orient="row",
    )
    rows = []
    for order, code in enumerate(sorted(set(sentralitet.values()), key=int)):
        name = sentralitet_names.get(code, f"Sentralitetsklasse {code}")
        rows.append(("sentralitet", code, f"{code} {name}", f"Sentralitet {code}", order,
                     f"SSB KLASS {SENTRALITET} per {when}"))
    for order, code in enumerate(sorted(set(kostra.values()))):
        number = int(re.sub(r"\D", "", code) or 0)
        rows.append(("kostragruppe", code, kostra_names.get(code, f"KOSTRA-gruppe {number}"), f"KOSTRA {number}", order,
                     f"SSB KLASS {KOSTRA} per {when}"))
    groups = pl.DataFrame(rows, schema={"level": pl.String, "area_id": pl.String, "area_name": pl.String,
                                        "short_name": pl.String, "sort_order": pl.Int64, "source": pl.String}, orient="row")
    return per_kommune, groups


def write(engine, per_kommune: pl.DataFrame, groups: pl.DataFrame, kommuner: dict[str, str], when: str) -> None:
    """Replace the classification tables (and kommune names) in one transaction, with a dataset row."""
    store.create_schema(engine)
    with engine.begin() as conn:
        if not conn.execute(sa.select(sa.func.count()).select_from(schema.kommune)).scalar_one():
            store.write_reference(conn, *reference.reference_frames())
        conn.execute(sa.delete(schema.kommune_klassifisering))
        conn.execute(sa.delete(schema.klassifisering_gruppe))
        store.write_frame(conn, schema.kommune_klassifisering, per_kommune)
        store.write_frame(conn, schema.klassifisering_gruppe, groups)
        k = schema.kommune
        for number, name in kommuner.items():
            conn.execute(sa.update(k).where(k.c.kommunenummer == number, k.c.kommunenavn != name).values(kommunenavn=name))
        store.upsert_dataset(
            conn, f"klass-{when}", source=f"SSB KLASS (klassifikasjon {KOMMUNER}, {SENTRALITET} og {KOSTRA}), hentet fra API",
            description=(f"Kommuneinndeling, sentralitet og KOSTRA-grupper gyldige {when}, hentet fra SSBs KLASS-API "
                         f"({per_kommune.height} kommuner)."),
            extraction_date=date.today().isoformat(), synthetic=False, row_count=per_kommune.height,
        )
