"""AppTest: the Pakkeforløp hjem page, and the kommune readiness file loader."""

from __future__ import annotations

import polars as pl
import pytest
from ui_helpers import PROJECT_ROOT, app, assert_clean, figure_titles, page_text, synthetic_banner_shown, warm_engine, warnings_text

from data_loaders import readiness

pytestmark = pytest.mark.usefixtures("warm_engine")
__all__ = ["warm_engine"]


def test_sp1_sp2_sp3_and_readiness():
    at = app("pakkeforlop", {"area": "troms-ofoten"})
    assert_clean(at)
    assert synthetic_banner_shown(at)
    text = page_text(at)
    for fragment in ("WMFG10", "3–4 måneder", "12–18 måneder", "lokal registrering", "Ikke rapportert",
                     "kontaktpunkt", "kreftkoordinator", "koordinerende enhet", "lokalt satt mål"):
        assert fragment.lower() in text.lower(), fragment
    titles = figure_titles(at)
    assert any("SP1 behovskartlegging: dekning per år" in t for t in titles)
    assert any("SP1 i Troms og Ofoten" in t for t in titles)
    assert any(t.startswith("SP2 behovskartlegging") for t in titles)
    assert at.number_input(key="pf_target").value == 80
    assert "Demodata" in warnings_text(at)  # the readiness file is synthetic


def test_not_reported_is_drawn_differently_from_zero():
    at = app("pakkeforlop")
    import json

    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    sp2 = next(s for s in specs if "SP2" in s["layout"]["title"]["text"])
    names = [trace.get("name", "") for trace in sp2["data"]]
    assert any("Ikke rapportert" in n for n in names)
    # "Ikke rapportert" is words in an empty row, never a bar (a bar would read as 0 % or 100 %)
    words = [t for t in sp2["data"] if t.get("type") == "scatter" and t.get("mode") == "text"]
    assert words and all(txt == "Ikke rapportert" or txt.startswith("–") for txt in words[0]["text"])
    for trace in sp2["data"]:
        if trace.get("type") == "bar":
            assert all(v is not None for v in trace["x"]) and "Ikke rapportert" not in " ".join(trace["text"])
    # values resting on under half of the kommuner are marked and never ranked above complete ones
    ticks = sp2["layout"]["yaxis"]["categoryarray"]  # bottom to top
    marked = [i for i, t in enumerate(ticks) if t.startswith("⚠")]
    bars = {t["name"]: t for t in sp2["data"] if t.get("type") == "bar"}
    sound = [i for i, t in enumerate(ticks) if not t.startswith("⚠") and
             any(t in trace["y"] for name, trace in bars.items() if not name.startswith("⚠"))]
    if marked and sound:
        assert max(marked) < min(sound), "a marked value is never drawn above a complete one"
    for tick in ticks:
        if tick.startswith("⚠"):
            shown, total = tick.rsplit("(", 1)[1].split()[0].split("/")
            assert int(shown) / int(total) < 0.5


def test_target_and_level_from_url_and_widgets():
    at = app("pakkeforlop", {"target": "65", "level": "helseforetak"})
    assert_clean(at)
    assert at.number_input(key="pf_target").value == 65
    assert at.segmented_control(key="pf_level").value == "helseforetak"
    # The real helseforetak level: SKDE's 21 areas, Oslo's sectors among them (issue 14).
    spec = at.get("plotly_chart")[0].proto.spec
    assert all(name in spec for name in ("UNN", "Lovisenberg", "Diakonhjemmet", "OUS", "Akershus"))
    assert "lovisenberg" not in spec.replace("Lovisenberg", "")  # names, not raw ids
    at.number_input(key="pf_target").set_value(90).run()
    assert_clean(at)
    assert at.query_params["target"] == "90"


@pytest.mark.parametrize("params, fragment", [
    ({"target": "abc"}, "ugyldig målverdi"),
    ({"target": "250"}, "ugyldig målverdi"),
    ({"level": "kommune"}, "ukjent nivå"),
    ({"year": "x"}, "ukjent årstall"),
    ({"area": "zzz"}, "ukjent helsefellesskap"),
])
def test_bad_url_parameters(params, fragment):
    at = app("pakkeforlop", params)
    assert_clean(at)
    assert fragment in warnings_text(at)
    assert figure_titles(at)


# --- the readiness file -------------------------------------------------------------------------


def test_bundled_demo_file_is_complete_and_marked_as_demo():
    ready = readiness.load_readiness(readiness.DEMO_PATH)
    assert ready.table.height == 357 and ready.missing == []
    assert ready.is_demo and ready.table["demo"].all()
    share = ready.table["har_kreftkoordinator"].mean()
    assert 0.53 <= share <= 0.59


def test_demo_file_is_reproducible(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "demo.csv"
    subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "make_readiness_demo.py"), "--output", str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == readiness.DEMO_PATH.read_bytes()


def _write(tmp_path, text: str):
    path = tmp_path / "ready.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_partial_file(tmp_path):
    path = _write(tmp_path, "kommunenummer,kontaktpunkt,har_kreftkoordinator,koordinerende_enhet\n"
                            "301,Tjenestekontoret,ja,Koordinerende enhet\n5501,Kreftkoordinator,,Tildelingskontoret\n")
    ready = readiness.load_readiness(path)
    assert ready.table["kommunenummer"].to_list() == ["0301", "5501"]
    assert ready.table["har_kreftkoordinator"].to_list() == [True, None]
    assert len(ready.missing) == 355 and not ready.is_demo


@pytest.mark.parametrize("body, fragment", [
    ("kommunenummer,kontaktpunkt,har_kreftkoordinator,koordinerende_enhet\n9999,x,ja,y\n", "unknown for 2024"),
    ("kommunenummer,kontaktpunkt,har_kreftkoordinator,koordinerende_enhet\n0301,x,ja,y\n301,x,nei,y\n", "listed twice"),
    ("kommunenummer,kontaktpunkt,har_kreftkoordinator,koordinerende_enhet\n0301,x,kanskje,y\n", "ja/nei"),
    ("kommunenummer,kontaktpunkt,koordinerende_enhet\n0301,x,y\n", "missing column"),
    ("kommunenummer,kontaktpunkt,har_kreftkoordinator,koordinerende_enhet\nabc,x,ja,y\n", "four digits"),
])
def test_invalid_files_are_rejected_with_a_reason(tmp_path, body, fragment):
    with pytest.raises(readiness.ReadinessDataError, match=fragment):
        readiness.load_readiness(_write(tmp_path, body))


@pytest.fixture
def fresh_settings():
    from data_loaders.config import settings

    settings.cache_clear()
    yield
    settings.cache_clear()


def test_environment_override(tmp_path, monkeypatch, fresh_settings):
    path = _write(tmp_path, "kommunenummer,kontaktpunkt,har_kreftkoordinator,koordinerende_enhet\n0301,x,ja,y\n")
    monkeypatch.setenv(readiness.ENV_VARIABLE, str(path))
    assert readiness.resolve_path() == path.resolve()
    assert readiness.load_readiness().table.height == 1


def test_toml_override(tmp_path, monkeypatch, fresh_settings):
    path = _write(tmp_path, "kommunenummer,kontaktpunkt,har_kreftkoordinator,koordinerende_enhet\n5501,x,nei,y\n")
    config = tmp_path / "styring.toml"
    config.write_text(f'kommune_readiness_csv = "{path}"\n', encoding="utf-8")
    monkeypatch.delenv(readiness.ENV_VARIABLE, raising=False)
    monkeypatch.setenv("STYRING_CONFIG", str(config))
    assert readiness.resolve_path() == path.resolve()


def test_missing_override_file(monkeypatch, tmp_path, fresh_settings):
    monkeypatch.setenv(readiness.ENV_VARIABLE, str(tmp_path / "nope.csv"))
    with pytest.raises(readiness.ReadinessDataError, match="not found"):
        readiness.load_readiness()


def test_frame_schema():
    table = readiness.load_readiness(readiness.DEMO_PATH).table
    assert table.schema["har_kreftkoordinator"] == pl.Boolean
    assert not table["kontaktpunkt"].str.contains(r"\d{8}").any()  # no phone numbers or person data
