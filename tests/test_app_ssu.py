"""AppTest: the SSU's goals, assessments and actions in the UI (ui/ssu.py, ui/auth.py, the Tiltak page).

A small script draws the profile's SSU section for Troms og Ofoten on a temporary copy of the demo
store (roles set through ``data_loaders.ssu``); the identity comes from Streamlit's own ``st.user``
(AppTest's ``user``) with an ``[auth]`` section in the secrets, as in the served app.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import DASHBOARD

from data_loaders import schema, ssu, store
from data_loaders.config import settings

HF, OTHER = "troms-ofoten", "agder"
SP1 = "kreft_sp1_behovskartlegging"
EDITOR, READER, STRANGER = "red@unn.example", "leser@unn.example", "red@agder.example"
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "styring",
        "client_secret": "hemmelig", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}

SCRIPT = """
import streamlit as st
from ui import cache, ssu as ssu_ui
cat = cache.catalogue()
content = ssu_ui.profile_section("troms-ofoten", "Troms og Ofoten", cat, default_year=2025)
ssu_ui.indicator_notes("troms-ofoten", cat.indicators, content["identity"], goals=content["goals"],
                       assessments=content["assessments"], actions=content["actions"])
"""


def store_with_roles(demo_database_url: str, folder: Path) -> str:
    """A private copy of the demo store with an editor and a reader for Troms og Ofoten and an editor for
    Agder (set as the operator does, through data_loaders.ssu); returns its URL."""
    path = folder / "ssu-store.sqlite"
    shutil.copyfile(Path(demo_database_url.removeprefix("sqlite:///")), path)
    url = f"sqlite:///{path}"
    engine = store.get_engine(url)
    ssu.set_role(engine, EDITOR, HF, "redaktor", by="test", operator=True)
    ssu.set_role(engine, READER, HF, "leser", by="test", operator=True)
    ssu.set_role(engine, STRANGER, OTHER, "redaktor", by="test", operator=True)
    return url


def add_ssu_content(engine) -> None:
    """A goal, a published (not public) assessment, a draft and an action for SP1 in Troms og Ofoten."""
    ssu.save_goal(engine, ssu.Goal(HF, SP1, 85.0, "higher_is_better", 2027, 12, ssu.parse_date_nb("03.03.2025")),
                  by=EDITOR)
    published = ssu.save_assessment(engine, ssu.Assessment(HF, SP1, "2024", "Publisert intern vurdering."), by=EDITOR)
    ssu.publish_assessment(engine, published.id, by=EDITOR, expected_version=published.version)
    ssu.save_assessment(engine, ssu.Assessment(HF, SP1, "2025", "Hemmelig utkast."), by=EDITOR)
    ssu.save_action(engine, ssu.Action(HF, "Internt tiltak", (SP1,), "SSU", "pågår", "31.12.2025", 3, "01.02.2025"),
                    by=EDITOR)


@pytest.fixture(scope="module")
def ssu_store_url(demo_database_url, tmp_path_factory) -> str:
    return store_with_roles(demo_database_url, tmp_path_factory.mktemp("ssu"))


@pytest.fixture
def ssu_store(ssu_store_url, monkeypatch):
    """The module's store copy with the roles and no goals, assessments or actions (cleared per test)."""
    url = ssu_store_url
    with store.get_engine(url).begin() as conn:
        for table in (schema.ssu_action_indicator, schema.ssu_action, schema.ssu_assessment, schema.ssu_goal,
                      schema.ssu_history):
            conn.execute(table.delete())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STYRING_WARM_UP", "0")
    settings.cache_clear()
    yield store.get_engine(url)
    monkeypatch.undo()
    settings.cache_clear()


def run(identity: str | None, *, login: bool = True) -> AppTest:
    at = AppTest.from_string(SCRIPT, default_timeout=120)
    if login:
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": identity is not None, **({"email": identity.upper()} if identity else {})}
    return at.run()


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "error", "success")
                     for e in getattr(at, kind))


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def text_input(at: AppTest, label_start: str):
    return next(t for t in at.text_input if t.label.startswith(label_start))


def fill_goal(at: AppTest, target: str, sak: str = "12") -> AppTest:
    text_input(at, "Målverdi").input(target)
    text_input(at, "Nås innen år").input("2027")
    text_input(at, "Saksnummer").input(sak)
    text_input(at, "Vedtaksdato").input("03.03.2025")
    return button(at, "Lagre målet").click().run()


def test_editor_sets_a_goal_and_bad_input_changes_nothing(ssu_store):
    at = run(EDITOR)
    assert not at.exception
    assert "Lagre målet" in [b.label for b in at.button]  # the editor gets the forms
    at.selectbox(key=f"ssu_indicator_{HF}").set_value(SP1).run()
    at = fill_goal(at, "150")
    assert "mellom 0 og 100" in " ".join(e.value for e in at.error)
    at = fill_goal(at, "85", sak="12/2025")
    assert "ikke et tall" in " ".join(e.value for e in at.error)
    assert ssu.goals(ssu_store, HF) == []  # nothing written
    at = fill_goal(at, "85")
    assert not at.exception and not at.error
    [goal] = ssu.goals(ssu_store, HF)
    assert (goal.indicator_id, goal.target, goal.target_year, goal.sak_number) == (SP1, 85.0, 2027, 12)
    assert goal.updated_by == EDITOR  # the identity is the lower-cased e-mail
    assert "Målet for" in texts(at) and "Mål: 85,0 % innen 2027" in texts(at)


def test_editor_writes_publishes_and_the_reader_sees_it_escaped(ssu_store):
    at = run(EDITOR)
    at.selectbox(key=f"ssu_indicator_{HF}").set_value(SP1).run()
    at.text_area[0].input("<script>alert(1)</script> **Kartleggingen** må opp.")
    at = button(at, "Lagre utkast").click().run()
    [draft] = ssu.assessments(ssu_store, HF, SP1, include_drafts=True)
    assert draft.status == "utkast" and draft.period == "2025"
    assert ssu.assessments(ssu_store, HF, SP1) == []  # not published yet
    assert "Kartleggingen" not in texts(run(READER))  # the reader does not see the draft
    at = button(at, "Publiser vurderingen").click().run()
    assert not at.exception
    assert ssu.assessments(ssu_store, HF, SP1)[0].status == "publisert"
    reader = run(READER)
    shown = texts(reader)
    assert "&lt;script&gt;" in shown and "<script>" not in shown and "**Kartleggingen**" in shown
    assert not [b for b in reader.button if b.label in ("Lagre målet", "Lagre utkast", "Legg til tiltaket")]
    assert not reader.text_input  # no forms for a leser


def test_editor_adds_an_action_and_others_cannot_edit(ssu_store):
    at = run(EDITOR)
    at.selectbox(key=f"ssu_indicator_{HF}").set_value(SP1).run()
    text_input(at, "Tiltak").input("Felles rutine for kartlegging")
    text_input(at, "Ansvarlig").input("Kreftkoordinator")
    text_input(at, "Frist").input("2025-13-01")
    keys = [t.key for t in at.text_input if t.label.startswith("Saksnummer")]
    at.text_input(key=keys[-1]).input("7")
    dates = [t.key for t in at.text_input if t.label.startswith("Vedtaksdato")]
    at.text_input(key=dates[-1]).input("01.02.2025")
    at = button(at, "Legg til tiltaket").click().run()
    assert "Frist" in " ".join(e.value for e in at.error) and ssu.actions(ssu_store, HF) == []
    text_input(at, "Frist").input("31.12.2025")
    at = button(at, "Legg til tiltaket").click().run()
    [action] = ssu.actions(ssu_store, HF)
    assert action.indicator_ids == (SP1,) and action.sak_number == 7 and action.owner == "Kreftkoordinator"
    assert "Felles rutine for kartlegging" in texts(run(READER))
    stranger = run(STRANGER)
    assert "Felles rutine" not in texts(stranger) and "ingen rolle" in texts(stranger)
    assert not stranger.text_input
    logged_out = run(None)
    assert "Felles rutine" not in texts(logged_out) and not logged_out.text_input
    # Without a configured login the internal app shows it read-only, as before.
    plain = run(None, login=False)
    assert "Felles rutine" in texts(plain) and not plain.text_input


def test_two_editors_do_not_overwrite_each_other(ssu_store):
    other = ssu.save_assessment(ssu_store, ssu.Assessment(HF, SP1, "2025", "Første utkast."), by=EDITOR)
    at = run(EDITOR)
    at.selectbox(key=f"ssu_indicator_{HF}").set_value(SP1).run()
    # Someone else saves while this editor writes.
    ssu.save_assessment(ssu_store, ssu.Assessment(HF, SP1, "2025", "Den andres tekst.", id=other.id), by=EDITOR,
                        expected_version=other.version)
    at.text_area[0].input("Min tekst.")
    at = button(at, "Lagre utkast").click().run()
    assert not at.exception
    shown = texts(at)
    assert "nyere versjon" in shown and "Den andres tekst." in shown and "Min tekst." in shown
    assert ssu.assessments(ssu_store, HF, SP1, include_drafts=True)[0].text_md == "Den andres tekst."
    at = button(at, "Lagre min versjon").click().run()
    stored = ssu.assessments(ssu_store, HF, SP1, include_drafts=True)[0]
    assert stored.text_md == "Min tekst." and stored.version == 3
    assert [h["version"] for h in ssu.history(ssu_store, "assessment", stored.id)] == [1, 2, 3]


def test_the_actions_page_filters_and_exports(ssu_store):
    for title, status, hf in (("Rutine A", "pågår", HF), ("Rutine B", "planlagt", HF)):
        ssu.save_action(ssu_store, ssu.Action(hf, title, (SP1,), "SSU", status, "31.12.2025", 3, "01.02.2025"),
                        by=EDITOR)
    at = AppTest.from_file(str(DASHBOARD), default_timeout=300)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": READER}
    at.switch_page("app_pages/tiltak.py")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns[:5]) == ["Tiltak", "Mål", "Gjennomføring", "Tidspunkt", "Ansvarlig"]
    assert sorted(table["Tiltak"]) == ["Rutine A", "Rutine B"]
    assert [b.label for b in at.button if b.label in ("Logg ut",)] == ["Logg ut"]
    at.multiselect(key="tiltak_status").set_value(["pågår"]).run()
    assert list(at.dataframe[0].value["Tiltak"]) == ["Rutine A"]
    assert any(d.label.startswith("Excel") for d in at.get("download_button"))
    assert "Legg til eller endre tiltak" not in [h.value for h in at.header]  # a leser cannot add actions


def test_trend_charts_draw_the_partnerships_goal():
    import polars as pl

    from indicators.catalogue import load_catalogue
    from ui import charts

    ind = load_catalogue().indicator(SP1)
    rows = pl.DataFrame({"area_id": [HF, HF], "year_start": [2023, 2024], "value": [60.0, 70.0],
                         "lower_95": [50.0, 60.0], "upper_95": [70.0, 80.0], "flag": [0, 0],
                         "flag_label": [None, None]})
    national = rows.with_columns(pl.lit("land").alias("area_id"), pl.col("value") - 5)
    goal = ssu.Goal(HF, SP1, 85.0, "higher_is_better", 2027, 12, ssu.parse_date_nb("03.03.2025"))
    panels = [{"indicator": ind, "series": rows, "national": national, "goal": goal},
              {"indicator": ind, "series": rows, "national": national}]
    fig = charts.small_multiples(panels, title="t", subtitle="s", area_name="Troms og Ofoten").to_dict()
    assert [s["y0"] for s in fig["layout"]["shapes"]] == [85.0]  # only the panel with a goal
    assert "Helsefellesskapets mål" in [t.get("name") for t in fig["data"]]
    fig = charts.trend_chart(rows, national, ind, labels={HF: "Troms og Ofoten"}, highlight=HF, synthetic=True,
                             target=80.0, goal=goal).to_dict()
    assert [s["y0"] for s in fig["layout"]["shapes"]] == [85.0]
    assert fig["layout"]["annotations"][-1]["text"].startswith("Mål for 2027 (sak 12)")
