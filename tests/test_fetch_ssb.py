"""`python -m data_loaders fetch ssb-population` against a loopback PxWebApi v2 (no internet).

The server answers in JSON-stat2 from SSB's real figures (../shared/real) when present, and from
the small fixture otherwise; both paths run. Every failure must name the request, say in
Norwegian what went wrong, and leave the store exactly as it was.
"""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from data_loaders import schema, store
from data_loaders.fetch import FetchError, fetch_population
from data_loaders.fetch.ssb_population import parse_years, plan_chunks
from tests.fixtures.fetch.loopback import (  # noqa: F401 (engine, use_demo_store: fixtures)
    AGES, Fault, Loopback, engine, fixture_population, fixture_value, real_population, use_demo_store)

REAL_KOMMUNER = ["0301", "1103", "4601", "5001", "3101", "5501", "1508", "1580"]
CELLS_PER_REGION_YEAR = 2 * len(AGES)


def _population(engine, year: int, units: list[str] | None = None) -> int:
    p = schema.population
    query = sa.select(sa.func.coalesce(sa.func.sum(p.c.population), 0)).where(p.c.year == year)
    if units is not None:
        query = query.where(p.c.kommunenummer.in_(units))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _state(engine) -> tuple:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(schema.population)).scalar_one()
        datasets = conn.execute(sa.select(schema.dataset.c.dataset_id).order_by(schema.dataset.c.dataset_id)).scalars().all()
    return rows, tuple(datasets)


def _fetch(server, engine, years, **kwargs):
    messages: list[str] = []
    result = fetch_population(years, base_url=server.url, engine=engine, timeout=kwargs.pop("timeout", 5),
                              progress=messages.append, **kwargs)
    return result, messages


# --------------------------------------------------------------------------- pure parts


def test_parse_years():
    assert parse_years("2020-2025") == [2020, 2021, 2022, 2023, 2024, 2025]
    assert parse_years("2024,2020-2021") == [2020, 2021, 2024]
    with pytest.raises(FetchError, match="ugyldige år"):
        parse_years("2025-2020")


@pytest.mark.parametrize("regions,years,limit,cap", [(700, 6, 800_000, 250), (700, 6, 100_000, 250), (30, 3, 5_000, 250),
                                                     (5, 1, 212, 250), (30, 4, 800_000, 7)])
def test_plan_chunks_cover_everything_within_the_limits(regions, years, limit, cap):
    codes = [f"{i:04d}" for i in range(regions)]
    span = [str(2020 + i) for i in range(years)]
    chunks = plan_chunks(codes, span, CELLS_PER_REGION_YEAR, limit, cap)
    cells = [(r, y) for rs, ys in chunks for r in rs for y in ys]
    assert sorted(cells) == sorted((r, y) for r in codes for y in span)  # every cell once
    assert all(len(rs) * len(ys) * CELLS_PER_REGION_YEAR <= limit and len(rs) <= cap for rs, ys in chunks)
    # As few requests as the limits allow: the most regions per request, then the most whole years.
    region_step = min(regions, cap, limit // CELLS_PER_REGION_YEAR)
    year_step = limit // (region_step * CELLS_PER_REGION_YEAR)
    assert len(chunks) == math.ceil(regions / region_step) * math.ceil(years / year_step)


def test_plan_chunks_refuses_a_limit_below_one_region_year():
    with pytest.raises(FetchError, match="grense"):
        plan_chunks(["0301"], ["2024"], CELLS_PER_REGION_YEAR, CELLS_PER_REGION_YEAR - 1)


# --------------------------------------------------------------------------- real figures


def test_real_figures_split_into_requests_and_match_ssb(engine):
    pxweb = real_population(REAL_KOMMUNER, [2024, 2025])
    if pxweb is None:
        pytest.skip("../shared/real/ssb-population-kommune.parquet is not here")
    pxweb.max_cells = 5 * CELLS_PER_REGION_YEAR  # five regions and one year per request
    with Loopback(pxweb.answer) as server:
        result, messages = _fetch(server, engine, [2024, 2025])
        data_calls = {k: v for k, v in server.calls.items() if k.endswith("/data")}
    kommuner = len(REAL_KOMMUNER) + 1  # 3001 Halden (2020-2023) is asked for too; SSB has no 2024 figures for it
    bydeler = 17  # Oslo 030101-030117; Bergen's Arna is not asked for (the product keeps Bergen whole)
    assert data_calls == {"07459/data": 2 * math.ceil(kommuner / 5), "10826/data": 2 * math.ceil(bydeler / 5)}
    assert max(pxweb.data_cells) <= pxweb.max_cells
    assert result.requests == sum(server.calls.values())
    assert any(m.startswith("Forespørsel 1/") for m in messages) and any("kontrollerer og skriver" in m for m in messages)
    # SSB's published figures (shared/real/README.md): Oslo 717,710 and Bergen 291,940 on 1 January 2024;
    # Oslo's persons without a known bydel (the kommune minus its bydeler) 1,449 in 2024 and 2,012 in 2025.
    oslo_units = [f"0301{i:02d}" for i in range(1, 18)] + ["030199"]
    assert _population(engine, 2024, oslo_units) == 717_710
    assert _population(engine, 2024, ["4601"]) == 291_940
    assert _population(engine, 2024, ["030199"]) == 1_449
    assert _population(engine, 2025, ["030199"]) == 2_012
    assert _population(engine, 2024, ["0301"]) == 0  # Oslo is stored as its bydeler
    datasets = store.load_datasets(engine)
    assert "PxWebApi" in datasets["source"][0] and not datasets["synthetic"][0]


# --------------------------------------------------------------------------- own fixture


def test_fixture_figures_split_translate_and_allocate(engine):
    pxweb = fixture_population()
    pxweb.max_cells = 4 * CELLS_PER_REGION_YEAR * 2  # four regions over two years, or eight regions in one
    with Loopback(pxweb.answer) as server:
        result, _ = _fetch(server, engine, [2022, 2023, 2024, 2025])
        data_calls = {k: v for k, v in server.calls.items() if k.endswith("/data")}
    kommuner = 6  # 0301, 5501, 1507, 1508, 1580, 3001, 3101 minus none: 7 four-digit codes, 2111 and 03 left out
    kommuner = len([r for r in pxweb.regions["07459"] if len(r) == 4 and not r.startswith("21")])
    assert kommuner == 7
    assert data_calls == {"07459/data": 4 * math.ceil(kommuner / 8), "10826/data": 4 * math.ceil(17 / 8)}

    def total(region: str, year: int) -> int:
        return sum(fixture_value(b, s, a, year) for b in [_base(region)] for s in ("1", "2") for a in AGES)

    for year in (2022, 2023, 2024, 2025):
        assert _population(engine, year, ["5501"]) == total("5501", year)
        oslo = [f"0301{i:02d}" for i in range(1, 18)] + ["030199"]
        assert _population(engine, year, oslo) == total("0301", year)  # bydeler + derived rest = the kommune
    # 3001 Halden (before 2024) is stored under 3101; Ålesund 1507 is allocated to 1508 and 1580.
    assert _population(engine, 2022, ["3101"]) == total("3001", 2022)
    split = _population(engine, 2022, ["1508", "1580"])
    assert abs(split - total("1507", 2022)) <= 2 * 21  # rounded per age band and sex
    assert _population(engine, 2022, ["1580"]) == pytest.approx(0.14 * total("1507", 2022), rel=0.02)
    assert "1507" in result.render()


def _base(region: str) -> int:
    import csv

    from tests.fixtures.fetch.loopback import HERE

    with (HERE / "population_small.csv").open(encoding="utf-8") as fh:
        return next(int(r["base"]) for r in csv.DictReader(fh) if r["region"] == region)


# --------------------------------------------------------------------------- failures


def _changed_dimensions(doc: dict) -> dict:
    doc["id"] = ["Region", "Kjonn", "Alder", "ContentsCode", "Tid", "Landbakgrunn"]
    doc["size"] = doc["size"] + [1]
    doc["dimension"]["Landbakgrunn"] = {"label": "landbakgrunn", "category": {"index": {"1": 0}, "label": {"1": "Alle"}}}
    return doc


FAILURES = [
    ("timeout", "07459/data", Fault("delay", 1.5, nth=2), ["forespørsel 2/", "tidsavbrudd"]),
    ("http 4xx", "07459/data", Fault("status", 400, nth=1), ["forespørsel 1/", "HTTP 400", "avviste"]),
    ("http 429", "config", Fault("status", 429), ["grenser (config)", "HTTP 429", "for mange"]),
    ("http 5xx", "10826/data", Fault("status", 503, nth=1), ["tabell 10826", "HTTP 503", "feil hos tjenesten"]),
    ("malformed body", "07459/data", Fault("body", b'{"version": "2.0", "value": [1, 2'), ["forespørsel 1/", "ikke gyldig JSON"]),
    ("truncated values", "07459/data", Fault("short"), ["forespørsel 1/", "ufullstendig"]),
    ("changed dimensions (metadata)", "07459/metadata", Fault("dims", _changed_dimensions),
     ["metadata for tabell 07459", "endret dimensjoner", "Landbakgrunn"]),
    ("changed dimensions (data)", "10826/data", Fault("dims", _changed_dimensions, nth=1),
     ["tabell 10826", "endret dimensjoner"]),
]


@pytest.mark.parametrize("name,key,fault,expected", FAILURES, ids=[f[0] for f in FAILURES])
def test_failures_name_the_request_and_change_nothing(engine, name, key, fault, expected):
    pxweb = fixture_population()
    pxweb.max_cells = 8 * CELLS_PER_REGION_YEAR
    with Loopback(pxweb.answer) as server:
        _fetch(server, engine, [2024])  # a first good fetch, so "unchanged" means something
        before = _state(engine)
        server.faults[key] = fault
        server.calls.clear()
        with pytest.raises(FetchError) as caught:
            _fetch(server, engine, [2024, 2025], timeout=0.5)
    message = str(caught.value)
    for text in expected:
        assert text in message, message
    assert _state(engine) == before


def test_unknown_kommune_is_named_and_nothing_is_written(engine):
    pxweb = fixture_population()
    pxweb.regions["07459"]["3999"] = "Nykommune"
    for sex in ("1", "2"):
        for age in AGES:
            pxweb.values[("3999", sex, age, "2024")] = 10
    with Loopback(pxweb.answer) as server:
        before = _state(engine)
        with pytest.raises(FetchError) as caught:
            _fetch(server, engine, [2024])
    message = str(caught.value)
    assert "ukjent kommune 3999 «Nykommune»" in message and "forespørsel 1/" in message and "Ingenting er skrevet" in message
    assert _state(engine) == before


def test_missing_year_is_refused_before_any_data_request(engine):
    pxweb = fixture_population()
    with Loopback(pxweb.answer) as server:
        with pytest.raises(FetchError, match="har ikke år 2027"):
            _fetch(server, engine, [2026, 2027])
        assert not any(k.endswith("/data") for k in server.calls)
    assert _state(engine) == (0, ())


def test_incomplete_ages_fail_in_the_import_and_name_the_request(engine):
    pxweb = fixture_population()
    for sex in ("1", "2"):
        pxweb.values[("5501", sex, "050", "2024")] = None  # SSB's ".." for one age: the band cannot be built
    with Loopback(pxweb.answer) as server:
        with pytest.raises(FetchError) as caught:
            _fetch(server, engine, [2024])
    message = str(caught.value)
    assert "besto ikke importens kontroller" in message and "ingenting er skrevet" in message
    assert "forespørsel 1/2 (tabell 07459" in message and "5501" in message
    assert _state(engine) == (0, ())


def test_no_connection_is_a_clear_error(engine):
    with pytest.raises(FetchError, match="får ikke kontakt med tjenesten") as caught:
        fetch_population([2024], base_url="http://127.0.0.1:9/api/v2", engine=engine, timeout=2, progress=lambda m: None)
    assert "grenser (config)" in str(caught.value) and "internett" in str(caught.value)
    assert _state(engine) == (0, ())


def test_cli_fetches_reports_and_writes(tmp_path, capsys):
    from data_loaders.__main__ import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    with Loopback(fixture_population().answer) as server:
        status = main(["--database-url", url, "fetch", "ssb-population", "--years", "2025", "--api-url", server.url])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "Hentet fra SSB med 5 forespørsler" in out and "population 2025" in out  # config, 2 × metadata, 2 × data
    assert "Forespørsel 1/2 (tabell 07459, år 2025, 7 regioner): 1 484 celler" in err
    engine = store.get_engine(url)
    assert _population(engine, 2025, ["5501"]) == sum(fixture_value(600, s, a, 2025) for s in ("1", "2") for a in AGES)


def test_a_year_missing_in_the_bydel_table_puts_oslo_on_uoppgitt_bydel(engine):
    pxweb = fixture_population()
    bydel_years = [y for y in pxweb.years if y != "2025"]
    original = pxweb._dataset

    def dataset(table, regions, ages, years, *, values):  # table 10826 not yet updated with 2025
        return original(table, regions, ages, bydel_years if table == "10826" and not values else years, values=values)

    pxweb._dataset = dataset
    with Loopback(pxweb.answer) as server:
        result, _ = _fetch(server, engine, [2024, 2025])
        assert "valueCodes[Tid]=2024&" in next(u for u in server.log if "/10826/data" in u) + "&"
    total = sum(fixture_value(7200, s, a, 2025) for s in ("1", "2") for a in AGES)
    assert _population(engine, 2025, ["030199"]) == total  # all of Oslo, as "uoppgitt bydel"
    assert _population(engine, 2024, ["030101"]) > 0
    assert "har ikke 2025 ennå" in result.render()


def test_the_api_address_is_a_setting(engine, monkeypatch):
    from data_loaders.config import KLASS_API_URL, SSB_API_URL, settings

    monkeypatch.delenv("STYRING_SSB_API_URL", raising=False)
    settings.cache_clear()
    assert settings().ssb_api_url == SSB_API_URL == "https://data.ssb.no/api/pxwebapi/v2"
    assert settings().klass_api_url == KLASS_API_URL == "https://data.ssb.no/api/klass/v1"
    with Loopback(fixture_population().answer) as server:
        monkeypatch.setenv("STYRING_SSB_API_URL", server.url)
        settings.cache_clear()
        try:
            fetch_population([2025], engine=engine, progress=lambda m: None)
        finally:
            monkeypatch.delenv("STYRING_SSB_API_URL")
            settings.cache_clear()
        assert server.calls["config"] == 1
    assert _population(engine, 2025, ["5501"]) > 0


def test_config_without_a_cell_limit_falls_back_to_the_documented_one(engine):
    pxweb = fixture_population()
    answer = pxweb.answer

    def without_limit(path, query):
        status, body = answer(path, query)
        if path.endswith("/config"):
            body = {k: v for k, v in body.items() if k != "maxDataCells"}
        return status, body

    with Loopback(without_limit) as server:
        result, _ = _fetch(server, engine, [2025])
    assert "dokumenterte grense på 800 000 celler" in result.render()
    assert _population(engine, 2025, ["5501"]) > 0
