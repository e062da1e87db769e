"""The SSU's goals, assessments, actions and roles in the store, on SQLite and PostgreSQL.

Every test runs on both backends (``backend_engine`` from tests/pg.py; PostgreSQL is skipped with
the reason when no server can be had).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa

from data_loaders import schema, ssu
from data_loaders.config import settings
from tests.pg import backend_engine, pg_provider, sqlite_template  # noqa: F401  (fixtures)

HF, OTHER_HF = "troms-ofoten", "agder"
SP1, SP2 = "kreft_sp1_behovskartlegging", "kreft_sp2_behovskartlegging"
RATE = "eldre_oh_innleggelser_80"
EDITOR, READER, FOREIGN_EDITOR, ADMIN = "red@unn.no", "les@unn.no", "red@sshf.no", "admin@unn.no"


@pytest.fixture
def engine(backend_engine):  # noqa: F811
    """A store with roles: a redaktør, a leser and an administrator for Troms og Ofoten, a redaktør for Agder."""
    ssu.ensure_tables(backend_engine)
    with backend_engine.begin() as conn:  # the PostgreSQL test database is reused between tests
        for table in reversed(schema.SSU_TABLES):
            conn.execute(sa.delete(table))
    ssu.set_role(backend_engine, ADMIN, HF, "administrator", by="cli:test", operator=True)
    ssu.set_role(backend_engine, EDITOR.upper(), HF, "redaktor", by=ADMIN)
    ssu.set_role(backend_engine, READER, HF, "leser", by=ADMIN)
    ssu.set_role(backend_engine, FOREIGN_EDITOR, OTHER_HF, "redaktor", by="cli:test", operator=True)
    return backend_engine


@pytest.fixture
def public_mode(monkeypatch):
    monkeypatch.setenv("PUBLIC_MODE", "1")
    settings.cache_clear()
    yield
    monkeypatch.delenv("PUBLIC_MODE")
    settings.cache_clear()


def _goal(**changes) -> ssu.Goal:
    goal = ssu.Goal(HF, SP1, 80.0, "higher_is_better", 2026, 12, date(2025, 4, 3), "Fra handlingsplanen")
    return replace(goal, **changes)


def _assessment(**changes) -> ssu.Assessment:
    return replace(ssu.Assessment(HF, SP1, "2024", "Andelen er **lavere** enn i landet."), **changes)


def _action(**changes) -> ssu.Action:
    action = ssu.Action(HF, "Felles rutine for behovskartlegging", (SP1, SP2), "UNN og kommunene", "pågår",
                        date(2025, 12, 31), 14, date(2025, 4, 3), "Minst 80 % kartlagt")
    return replace(action, **changes)


def _row_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in schema.SSU_TABLES}


# --- roles ----------------------------------------------------------------------------------------


def test_roles_are_per_helsefellesskap_and_identities_are_lower_cased(engine):
    assert ssu.roles_for(engine, " Red@UNN.no ") == {HF: "redaktor"}
    assert ssu.roles_for(engine, "stranger@example.no") == {}
    roles = ssu.roles_for(engine, EDITOR)
    assert ssu.can_edit(roles, HF) and ssu.can_read(roles, HF) and not ssu.can_edit(roles, OTHER_HF)
    reader = ssu.roles_for(engine, READER)
    assert ssu.can_read(reader, HF) and not ssu.can_edit(reader, HF)
    assert ssu.can_edit(ssu.roles_for(engine, ADMIN), HF)
    assert {(r["identity"], r["role"]) for r in ssu.list_roles(engine, HF)} == {
        (ADMIN, "administrator"), (EDITOR, "redaktor"), (READER, "leser")}


def test_only_an_administrator_manages_roles_and_changes_are_logged(engine):
    with pytest.raises(ssu.SsuPermissionError):
        ssu.set_role(engine, "ny@unn.no", HF, "redaktor", by=EDITOR)
    with pytest.raises(ssu.SsuPermissionError):
        ssu.set_role(engine, "ny@unn.no", HF, "administrator", by=FOREIGN_EDITOR)
    with pytest.raises(ssu.SsuValidationError, match="Rolle"):
        ssu.set_role(engine, "ny@unn.no", HF, "sjef", by=ADMIN)
    ssu.set_role(engine, READER, HF, "redaktor", by=ADMIN)
    assert ssu.roles_for(engine, READER) == {HF: "redaktor"}
    assert ssu.remove_role(engine, READER, HF, by=ADMIN) and ssu.roles_for(engine, READER) == {}
    assert not ssu.remove_role(engine, READER, HF, by=ADMIN)
    changes = [(h["record"]["identity"], h["record"]["role"], h["changed_by"]) for h in ssu.role_history(engine)]
    assert changes[-2:] == [(READER, "redaktor", ADMIN), (READER, None, ADMIN)]


# --- create, update, history ----------------------------------------------------------------------


def test_goal_create_update_and_history(engine):
    created = ssu.save_goal(engine, _goal(), by=EDITOR)
    assert created.id is not None and created.version == 1 and created.updated_by == EDITOR
    assert created.updated_at.tzinfo is not None
    updated = ssu.save_goal(engine, replace(created, target=85.5, note="Skjerpet"), by=ADMIN, expected_version=1)
    assert (updated.version, updated.target, updated.updated_by) == (2, 85.5, ADMIN)
    assert ssu.goals(engine, HF) == [updated] and ssu.goal_for(engine, HF, SP1) == updated
    assert ssu.goals(engine, OTHER_HF) == [] and ssu.goal_for(engine, HF, SP2) is None
    versions = ssu.history(engine, "goal", created.id)
    assert [(v["version"], v["operation"], v["changed_by"]) for v in versions] == [
        (1, "create", EDITOR), (2, "update", ADMIN)]
    assert versions[0]["record"]["target"] == 80.0 and versions[0]["record"]["note"] == "Fra handlingsplanen"
    assert versions[0]["record"]["sak_date"] == "2025-04-03" and versions[1]["record"]["target"] == 85.5


def test_assessment_draft_publish_and_visibility(engine):
    draft = ssu.save_assessment(engine, _assessment(), by=EDITOR)
    assert draft.status == "utkast" and not draft.public
    assert ssu.assessments(engine, HF) == []
    assert ssu.assessments(engine, HF, include_drafts=True) == [draft]
    published = ssu.publish_assessment(engine, draft.id, by=EDITOR, expected_version=draft.version)
    assert (published.status, published.version) == ("publisert", 2)
    assert ssu.assessments(engine, HF, SP1, "2024") == [published]
    assert ssu.assessments(engine, HF, public_only=True) == []
    public = ssu.save_assessment(engine, replace(published, public=True), by=EDITOR, expected_version=2)
    assert ssu.assessments(engine, HF, public_only=True) == [public]
    pooled = ssu.save_assessment(engine, _assessment(period="2023–2025", text_md="Tre år"), by=EDITOR)
    assert pooled.period == "2023-2025" and ssu.assessments(engine, period="2023-2025", include_drafts=True) == [pooled]
    assert [v["record"]["status"] for v in ssu.history(engine, "assessment", draft.id)] == ["utkast", "publisert", "publisert"]


def test_action_create_update_and_indicator_filter(engine):
    action = ssu.save_action(engine, _action(due_date="31.12.2025", sak_number="14"), by=EDITOR)
    assert action.indicator_ids == (SP1, SP2) and action.due_date == date(2025, 12, 31) and action.sak_number == 14
    other = ssu.save_action(engine, _action(title="Eldre", indicator_ids=(RATE,), status="planlagt"), by=EDITOR)
    assert ssu.actions(engine, HF, indicator_id=SP2) == [action]
    assert ssu.actions(engine, status="planlagt") == [other]
    done = ssu.save_action(engine, replace(action, status="fullført", indicator_ids=(SP1,)), by=EDITOR,
                           expected_version=1)
    assert ssu.actions(engine, indicator_id=SP2) == [] and ssu.actions(engine, indicator_id=SP1) == [done]
    versions = ssu.history(engine, "action", action.id)
    assert [v["record"]["status"] for v in versions] == ["pågår", "fullført"]
    assert versions[0]["record"]["indicator_ids"] == [SP1, SP2]


# --- concurrent edits -------------------------------------------------------------------------------


def test_second_editor_gets_an_edit_conflict_with_both_versions(engine):
    loaded = ssu.save_assessment(engine, _assessment(), by=EDITOR)
    first = ssu.save_assessment(engine, replace(loaded, text_md="Første redaktørs tekst"), by=EDITOR,
                                expected_version=loaded.version)
    second_attempt = replace(loaded, text_md="Andre redaktørs tekst")
    with pytest.raises(ssu.EditConflict) as caught:
        ssu.save_assessment(engine, second_attempt, by=ADMIN, expected_version=loaded.version)
    assert caught.value.current == first and caught.value.attempted.text_md == "Andre redaktørs tekst"
    assert "endret av red@unn.no" in str(caught.value) and "ikke lagret" in str(caught.value)
    assert ssu.assessments(engine, include_drafts=True) == [first]
    assert len(ssu.history(engine, "assessment", loaded.id)) == 2
    # The second editor saves on top of the version they have now seen.
    merged = ssu.save_assessment(engine, second_attempt, by=ADMIN, expected_version=first.version)
    assert merged.version == 3 and merged.text_md == "Andre redaktørs tekst"


def test_two_creators_of_the_same_goal_conflict(engine):
    first = ssu.save_goal(engine, _goal(), by=EDITOR)
    with pytest.raises(ssu.EditConflict) as caught:
        ssu.save_goal(engine, _goal(target=70.0), by=ADMIN)
    assert caught.value.current == first and caught.value.attempted.target == 70.0
    assert ssu.goals(engine) == [first]


def test_simultaneous_saves_let_exactly_one_win(engine):
    loaded = ssu.save_goal(engine, _goal(), by=EDITOR)
    barrier, outcomes = threading.Barrier(2), []

    def save(target: float) -> None:
        barrier.wait()
        try:
            outcomes.append(ssu.save_goal(engine, replace(loaded, target=target), by=EDITOR, expected_version=1))
        except ssu.EditConflict as exc:
            outcomes.append(exc)
        except sa.exc.OperationalError as exc:  # SQLite: the database was locked by the other writer
            outcomes.append(exc)

    threads = [threading.Thread(target=save, args=(t,)) for t in (60.0, 90.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if isinstance(o, ssu.Goal)]
    assert len(winners) == 1 and len(outcomes) == 2
    assert ssu.goals(engine) == winners and winners[0].version == 2
    assert [v["version"] for v in ssu.history(engine, "goal", loaded.id)] == [1, 2]


# --- validation: a Norwegian message naming the field, nothing written -------------------------------


@pytest.mark.parametrize("make, field, words", [
    (lambda: _goal(target=101.0), "Målverdi", "mellom 0 og 100"),
    (lambda: _goal(target=-1.0), "Målverdi", "mellom 0 og 100"),
    (lambda: _goal(indicator_id=RATE, target=-3.0), "Målverdi", "kan ikke være negativ"),
    (lambda: _goal(target="mye"), "Målverdi", "ikke et tall"),
    (lambda: _goal(sak_number="12/2025"), "Saksnummer", "ikke et tall"),
    (lambda: _goal(sak_number="tolv"), "Saksnummer", "ikke et tall"),
    (lambda: _goal(sak_date="2025/04/03"), "Saksdato", "feil form"),
    (lambda: _goal(sak_date="31.02.2025"), "Saksdato", "ingen gyldig dato"),
    (lambda: _goal(target_year="neste år"), "Målår", "ikke et årstall"),
    (lambda: _goal(direction="opp"), "Retning", "ingen retning"),
    (lambda: _goal(indicator_id="finnes_ikke"), "Indikator", "finnes ikke"),
    (lambda: _goal(helsefellesskap_id="atlantis"), "Helsefellesskap", "finnes ikke"),
    (lambda: _assessment(text_md="x" * (ssu.ASSESSMENT_MAX_CHARS + 1)), "Vurdering", "grensen er 2000 tegn"),
    (lambda: _assessment(text_md="   "), "Vurdering", "kan ikke være tom"),
    (lambda: _assessment(period="i fjor"), "Periode", "ingen periode"),
    (lambda: _assessment(period="2025-2023"), "Periode", "sluttåret"),
    (lambda: _assessment(status="ferdig"), "Status", "ingen status"),
    (lambda: _action(due_date="2025-31-12"), "Frist", "ingen gyldig dato"),
    (lambda: _action(due_date="desember"), "Frist", "feil form"),
    (lambda: _action(status="startet"), "Status", "ingen status"),
    (lambda: _action(indicator_ids=()), "Indikatorer", "minst én"),
    (lambda: _action(title=""), "Tiltak", "tom"),
    (lambda: _action(title="t" * 301), "Tiltak", "grensen er 300 tegn"),
    (lambda: _action(sak_number="0"), "Saksnummer", "1 eller større"),
])
def test_bad_input_is_refused_in_norwegian_and_writes_nothing(engine, make, field, words):
    before = _row_counts(engine)
    record = make()
    save = {ssu.Goal: ssu.save_goal, ssu.Assessment: ssu.save_assessment, ssu.Action: ssu.save_action}[type(record)]
    with pytest.raises(ssu.SsuValidationError) as caught:
        save(engine, record, by=EDITOR)
    assert str(caught.value).startswith(f"{field}:") and words in str(caught.value)
    assert _row_counts(engine) == before


def test_form_parsers():
    assert ssu.parse_date_nb("3.4.2025") == ssu.parse_date_nb("2025-04-03") == date(2025, 4, 3)
    assert ssu.parse_sak_number(" 12 ") == 12
    for bad in ("12/2025", "12a", "", "-3", "١٢"):
        with pytest.raises(ssu.SsuValidationError):
            ssu.parse_sak_number(bad)
    assert ssu.format_sak(12, date(2025, 4, 3)) == "sak 12/2025 (03.04.2025)"


def test_stale_update_of_a_missing_or_moved_record_is_refused(engine):
    goal = ssu.save_goal(engine, _goal(), by=EDITOR)
    with pytest.raises(ssu.SsuValidationError, match="finnes ikke"):
        ssu.save_goal(engine, replace(goal, id=goal.id + 100), by=EDITOR, expected_version=1)
    with pytest.raises(ssu.SsuValidationError, match="Indikator: kan ikke endres"):
        ssu.save_goal(engine, replace(goal, indicator_id=SP2), by=EDITOR, expected_version=1)
    assert ssu.goals(engine) == [goal]


# --- permissions, transactions, public mode -----------------------------------------------------------


def test_only_editors_of_the_helsefellesskap_write(engine):
    before = _row_counts(engine)
    for by in (READER, FOREIGN_EDITOR, "stranger@example.no"):
        with pytest.raises(ssu.SsuPermissionError):
            ssu.save_goal(engine, _goal(), by=by)
        with pytest.raises(ssu.SsuPermissionError):
            ssu.save_action(engine, _action(), by=by)
    goal = ssu.save_goal(engine, _goal(), by=EDITOR)
    with pytest.raises(ssu.SsuPermissionError):  # an Agder redaktør cannot edit Troms og Ofoten's goal
        ssu.save_goal(engine, replace(goal, target=10.0), by=FOREIGN_EDITOR, expected_version=1)
    draft = ssu.save_assessment(engine, _assessment(), by=EDITOR)
    with pytest.raises(ssu.SsuPermissionError):
        ssu.publish_assessment(engine, draft.id, by=READER, expected_version=1)
    assert ssu.goals(engine) == [goal] and ssu.assessments(engine, include_drafts=True) == [draft]
    assert _row_counts(engine)["ssu_history"] == before["ssu_history"] + 2


def test_a_failing_write_leaves_no_partial_rows(engine, monkeypatch):
    def broken_history(*_args, **_kwargs):
        raise RuntimeError("disk full")

    before = _row_counts(engine)
    monkeypatch.setattr(ssu, "_append_history", broken_history)
    with pytest.raises(RuntimeError):
        ssu.save_action(engine, _action(), by=EDITOR)  # the action and its indicator links were already written
    with pytest.raises(RuntimeError):
        ssu.save_goal(engine, _goal(), by=EDITOR)
    assert _row_counts(engine) == before


def test_public_mode_refuses_every_write_and_reads_only_public_assessments(engine, public_mode):
    settings.cache_clear()
    assert settings().public_mode
    for write in (
        lambda: ssu.save_goal(engine, _goal(), by=EDITOR),
        lambda: ssu.save_assessment(engine, _assessment(), by=EDITOR),
        lambda: ssu.publish_assessment(engine, 1, by=EDITOR, expected_version=1),
        lambda: ssu.save_action(engine, _action(), by=EDITOR),
        lambda: ssu.set_role(engine, "x@y.no", HF, "leser", by="cli:test", operator=True),
        lambda: ssu.remove_role(engine, READER, HF, by="cli:test", operator=True),
    ):
        with pytest.raises(ssu.SsuReadOnlyError):
            write()


def test_public_reads_show_only_published_public_assessments(engine, monkeypatch):
    ssu.save_goal(engine, _goal(), by=EDITOR)
    ssu.save_action(engine, _action(), by=EDITOR)
    draft = ssu.save_assessment(engine, _assessment(public=True), by=EDITOR)  # public but a draft
    internal = ssu.save_assessment(engine, _assessment(period="2023"), by=EDITOR)
    internal = ssu.publish_assessment(engine, internal.id, by=EDITOR, expected_version=1)
    shown = ssu.save_assessment(engine, _assessment(period="2022", public=True), by=EDITOR)
    shown = ssu.publish_assessment(engine, shown.id, by=EDITOR, expected_version=1)
    monkeypatch.setenv("PUBLIC_MODE", "1")
    settings.cache_clear()
    try:
        assert ssu.assessments(engine, include_drafts=True) == [shown]
        assert ssu.goals(engine) == [] and ssu.actions(engine) == [] and ssu.roles_for(engine, EDITOR) == {}
        assert ssu.history(engine, "assessment", draft.id) == [] and ssu.list_roles(engine) == []
    finally:
        monkeypatch.delenv("PUBLIC_MODE")
        settings.cache_clear()
    assert len(ssu.assessments(engine)) == 2 and internal in ssu.assessments(engine)


def test_rebuilding_the_data_keeps_the_ssu_work(engine):
    """``drop_schema`` (demo rebuild, ``init --force``) drops data and reference tables, never the SSU's work."""
    from data_loaders import store

    goal = ssu.save_goal(engine, _goal(), by=EDITOR)
    store.drop_schema(engine)
    assert not sa.inspect(engine).has_table("population")
    store.create_schema(engine)
    assert ssu.goals(engine) == [goal] and ssu.roles_for(engine, EDITOR) == {HF: "redaktor"}


def test_roles_command_line(sqlite_template, tmp_path, capsys):  # noqa: F811
    import shutil

    from data_loaders.__main__ import main

    path = tmp_path / "store.sqlite"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    base = ["--database-url", url, "roles"]
    assert main([*base, "add", "--identity", "Kari@UNN.no", "--helsefellesskap", HF, "--role", "redaktor"]) == 0
    assert main([*base, "add", "--identity", "kari@unn.no", "--helsefellesskap", "atlantis", "--role", "leser"]) == 1
    assert "finnes ikke" in capsys.readouterr().err
    assert main([*base, "add", "--identity", "kari@unn.no", "--helsefellesskap", HF]) == 2
    assert main([*base, "list"]) == 0
    listed = capsys.readouterr().out
    assert "kari@unn.no" in listed and "redaktor" in listed and HF in listed
    engine = sa.create_engine(url)
    assert ssu.roles_for(engine, "kari@unn.no") == {HF: "redaktor"}
    assert ssu.role_history(engine)[0]["changed_by"].startswith("cli:")
    assert main([*base, "remove", "--identity", "kari@unn.no", "--helsefellesskap", HF]) == 0
    assert ssu.roles_for(engine, "kari@unn.no") == {}
    engine.dispose()
