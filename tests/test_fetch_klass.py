"""`python -m data_loaders fetch ssb-classifications` against a loopback KLASS API (no internet)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from data_loaders import schema, store
from data_loaders.fetch import FetchError, fetch_classifications
from tests.fixtures.fetch.klass_server import Klass
from tests.fixtures.fetch.loopback import Fault, Loopback, engine, use_demo_store  # noqa: F401 (fixtures)


def _snapshot(engine) -> tuple:
    with engine.connect() as conn:
        klass = conn.execute(sa.select(schema.kommune_klassifisering).order_by("kommunenummer")).all()
        groups = conn.execute(sa.select(schema.klassifisering_gruppe).order_by("level", "area_id")).all()
        names = conn.execute(sa.select(schema.kommune).order_by("kommunenummer")).all()
        datasets = conn.execute(sa.select(schema.dataset.c.dataset_id)).scalars().all()
    return tuple(klass), tuple(groups), tuple(names), tuple(sorted(datasets))


def _fetch(server, engine, **kwargs):
    messages: list[str] = []
    result = fetch_classifications(when="2025-01-01", base_url=server.url, engine=engine,
                                   timeout=kwargs.pop("timeout", 5), progress=messages.append, **kwargs)
    return result, messages


def _rows(engine, table) -> dict:
    with engine.connect() as conn:
        return {r[0]: r for r in conn.execute(sa.select(table))}


def test_classifications_are_written_as_klass_gives_them(engine):
    klass = Klass.from_reference()
    klass.sentralitet["5501"] = "1"  # KLASS moves Tromsø to class 1 …
    klass.kostra["5501"] = "EKG05"  # … and to KOSTRA group 5,
    klass.kommuner["1806"] = "Narvik - Áhkkánjárga"  # and renames Narvik.
    with Loopback(klass.answer) as server:
        result, messages = _fetch(server, engine)
        calls = dict(server.calls)
    assert calls == {"131/codesAt": 1, "131/changes": 1, "131/correspondsAt": 2, "128/codesAt": 1, "112/codesAt": 1}
    assert len(messages) >= 6 and messages[-1] == "Klassifikasjonene er skrevet."
    rows = _rows(engine, schema.kommune_klassifisering)
    assert len(rows) == len(klass.kommuner) == 357
    for number in klass.kommuner:
        assert str(rows[number].sentralitetsklasse) == klass.sentralitet[number]
        assert rows[number].kostragruppe == klass.kostra[number]  # "Landet uten Oslo" (EAKUO) is not a group
    assert rows["5501"].sentralitetsklasse == 1 and rows["5501"].kostragruppe == "EKG05"
    assert _rows(engine, schema.kommune)["1806"].kommunenavn == "Narvik - Áhkkánjárga"
    assert "1806 Narvik → Narvik - Áhkkánjárga" in result.render()
    with engine.connect() as conn:
        groups = conn.execute(sa.select(schema.klassifisering_gruppe.c.level, sa.func.count())
                              .group_by(schema.klassifisering_gruppe.c.level)).all()
    assert dict(groups) == {"sentralitet": 6, "kostragruppe": len(set(klass.kostra.values()))}
    # Every renumbering, merger and split since 2020 was checked against the crosswalk (name-only changes,
    # where the code stays, were not).
    assert result.changes_checked == sum(c["oldCode"] != c["newCode"] for c in klass.changes) > 400
    datasets = store.load_datasets(engine)
    assert datasets.filter(datasets["dataset_id"] == "klass-2025-01-01")["synthetic"].to_list() == [False]


def test_dry_run_writes_nothing(engine):
    before = _snapshot(engine)
    with Loopback(Klass.from_reference().answer) as server:
        result, _ = _fetch(server, engine, dry_run=True)
    assert not result.written and _snapshot(engine) == before


def _unknown_in_list(klass: Klass) -> None:
    klass.kommuner["5699"] = "Nykommune"


def _unknown_in_correspondence(klass: Klass) -> None:
    klass.sentralitet["5698"] = "3"


def _missing_kommune(klass: Klass) -> None:
    del klass.kostra["0301"]


def _unknown_change(klass: Klass) -> None:
    klass.changes.append({"oldCode": "5501", "oldName": "Tromsø", "newCode": "5502", "newName": "Tromsø",
                          "changeOccurred": "2025-01-01"})


DATA_FAILURES = [
    ("unknown kommune in the list", _unknown_in_list, ["ukjent kommune 5699 «Nykommune»", "kommunelisten"]),
    ("unknown kommune in a correspondence", _unknown_in_correspondence, ["ukjent kommune 5698", "sentralitet"]),
    ("kommune without KOSTRA group", _missing_kommune, ["kommune 0301 «Oslo» mangler", "KOSTRA"]),
    ("change unknown to the crosswalk", _unknown_change, ["5501 «Tromsø» → 5502", "kommunekrysstabell"]),
]


@pytest.mark.parametrize("name,alter,expected", DATA_FAILURES, ids=[f[0] for f in DATA_FAILURES])
def test_bad_content_is_named_and_nothing_is_written(engine, name, alter, expected):
    klass = Klass.from_reference()
    with Loopback(klass.answer) as server:
        _fetch(server, engine)  # a first good fetch, so "unchanged" means something
        before = _snapshot(engine)
        alter(klass)
        klass.sentralitet["5501"] = "2" if klass.sentralitet.get("5501") != "2" else "3"  # would change the store
        with pytest.raises(FetchError) as caught:
            _fetch(server, engine)
    message = str(caught.value)
    for text in expected:
        assert text in message, message
    assert "Ingenting er skrevet" in message
    assert _snapshot(engine) == before


HTTP_FAILURES = [
    ("timeout", "131/changes", Fault("delay", 1.5), ["kommuneendringer", "tidsavbrudd"]),
    ("http 4xx", "131/codesAt", Fault("status", 404), ["kommunelisten", "HTTP 404"]),
    ("http 5xx", "131/correspondsAt", Fault("status", 500, nth=2), ["KOSTRA-gruppe per kommune", "HTTP 500"]),
    ("malformed body", "128/codesAt", Fault("body", b"<html>Service Unavailable</html>"),
     ["sentralitetsklassene", "ikke gyldig JSON", "<html>"]),
    ("changed format", "131/correspondsAt", Fault("body", b'{"_embedded": {"correspondenceMaps": []}}', nth=1),
     ["sentralitet per kommune", "correspondenceItems"]),
]


@pytest.mark.parametrize("name,key,fault,expected", HTTP_FAILURES, ids=[f[0] for f in HTTP_FAILURES])
def test_failed_requests_are_named_and_nothing_is_written(engine, name, key, fault, expected):
    klass = Klass.from_reference()
    before = _snapshot(engine)
    with Loopback(klass.answer) as server:
        server.faults[key] = fault
        with pytest.raises(FetchError) as caught:
            _fetch(server, engine, timeout=0.5)
    message = str(caught.value)
    for text in expected:
        assert text in message, message
    assert _snapshot(engine) == before


def test_cli_reports_failure_in_norwegian(tmp_path, capsys):
    from data_loaders.__main__ import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    klass = Klass.from_reference()
    klass.kommuner["5699"] = "Nykommune"
    with Loopback(klass.answer) as server:
        status = main(["--database-url", url, "fetch", "ssb-classifications", "--api-url", server.url, "--date", "2025-01-01"])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("Henter kommunelisten") and "\nHenting feilet: " in err and "ukjent kommune 5699" in err
