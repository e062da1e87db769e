"""AppTest: a published Helseatlas indicator beside the synthetic demo data (a copy of the demo store)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from data_loaders.config import settings
from data_loaders.importers import import_files
from ui_helpers import app, assert_clean, page_text, synthetic_banner_shown

HF_NAMES = ["Finnmark", "UNN", "Nordland", "Helgeland", "Nord-Trøndelag", "St. Olav", "Møre og Romsdal", "Førde",
            "Bergen", "Fonna", "Stavanger", "Østfold", "Akershus", "OUS", "Lovisenberg", "Diakonhjemmet", "Innlandet",
            "Vestre Viken", "Vestfold", "Telemark", "Sørlandet"]
INDICATOR = "skde_psyk2_angst_test_pasrate"


def _atlas_file(folder: Path) -> Path:
    rows = [{"area": n, "pasrate": 31.5 + i, "lo": 30.0 + i, "hi": 33.0 + i, "r2022": 30.25 + i, "r2023": 32.75 + i}
            for i, n in enumerate(HF_NAMES)]
    rows.append({"area": "Noreg", "pasrate": 40.0, "lo": 39.5, "hi": 40.5, "r2022": 39.0, "r2023": 41.0})
    doc = {"innhold": [
        {"type": "barchart", "data": "qwerty", "x": ["pasrate"], "y": "area", "errorBars": ["lo", "hi"],
         "xLabel": {"nn": "Pasientar med angst pr. 10 000 innbyggjarar"}},
        {"type": "barchart", "data": "qwerty", "x": ["pasrate"], "y": "area", "xLabel": {"nn": "x"},
         "annualVar": ["r2022", "r2023"], "annualVarLabels": {"nn": ["2022", "2023"]}},
        {"type": "map", "data": "qwerty", "x": "pasrate", "caption": {"nn": "Pasientar med angst pr. 10 000 innbyggjarar"}},
        {"type": "data", "label": "qwerty", "national": "Noreg", "data": rows},
    ]}
    folder.mkdir(parents=True)
    path = folder / "angst_test.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mixed_store(demo_database_url, tmp_path_factory):
    """A copy of the demo store with one small atlas file imported; the app reads it for this module."""
    root = tmp_path_factory.mktemp("mixed")
    copy = root / "mixed.sqlite"
    shutil.copyfile(demo_database_url.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    import_files([_atlas_file(root / "psyk2")], "helseatlas", database_url=url)
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "STYRING_WARM_UP")}
    os.environ["DATABASE_URL"] = url
    os.environ["STYRING_WARM_UP"] = "0"  # the pages here need no computed catalogue
    settings.cache_clear()
    yield url
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    settings.cache_clear()


def _values(at) -> dict[str, float]:
    """Area name -> value in the page's table of the indicator."""
    frame = next(df.value for df in at.dataframe if "Helseforetaksområde" in df.value.columns)
    column = next(c for c in frame.columns if str(c).startswith("Verdi"))
    return dict(zip(frame["Helseforetaksområde"], frame[column]))


def test_oversikt_shows_the_published_indicator_with_its_source(mixed_store):
    at = app(params={"indicator": INDICATOR, "period": "2022-2023"})
    assert_clean(at)
    assert at.selectbox(key="ov_indicator").value == INDICATOR
    text = page_text(at)
    assert "Publisert av SKDE" in text
    values = _values(at)
    assert values["Finnmark"] == 31.5 and values["Sørlandet"] == 51.5  # as in the file
    assert len(values) == 21
    # The demo banner says which numbers are real.
    assert synthetic_banner_shown(at)
    banner = next(h.value for h in at.html if "demo-banner" in h.value)
    assert "Unntak" in banner and "Publisert av SKDE" in banner


def test_single_year_is_the_files_yearly_value(mixed_store):
    at = app(params={"indicator": INDICATOR, "period": "2023"})
    assert_clean(at)
    assert _values(at)["Finnmark"] == 32.75  # the file's value for 2023


def test_om_dataene_lists_real_and_synthetic_datasets(mixed_store):
    at = app("om_dataene")
    assert_clean(at)
    origins = next(df.value for df in at.dataframe if "Ekte eller syntetisk" in df.value.columns)
    kinds = set(origins["Ekte eller syntetisk"])
    assert kinds == {"Ekte", "Syntetisk"}
    real = origins[origins["Ekte eller syntetisk"] == "Ekte"]
    assert set(real["Utgiver"]) == {"SKDE"} and set(real["Kom inn ved"]) == {"Importert fra fil"}
    assert "år 2022–2023" in set(real["Årgang"]).pop()


def test_kommuner_page_points_to_the_publishers_level(mixed_store):
    at = app("kommuner", params={"indicator": INDICATOR, "period": "2022-2023"})
    assert_clean(at)
    assert any("Publisert av SKDE" in i.value and "ikke per kommune" in i.value for i in at.info)
    assert not at.get("plotly_chart")  # no funnel of ours for the publisher's values


def test_published_values_leave_the_computed_catalogue_warm(mixed_store, demo_database_url):
    """An import of published values changes the store's version (the pages see the new indicator) but
    not the version of its counts, which keys the computed catalogue's result cache."""
    import indicators

    demo, mixed = indicators.current_key(demo_database_url), indicators.current_key(mixed_store)
    assert mixed.version != demo.version
    assert mixed.counts_version == demo.counts_version != ""
