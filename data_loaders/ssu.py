"""The SSU's own work in the store: roles, local goals, written assessments (vurderinger) and actions (tiltak).

Every write validates first (``SsuValidationError``, a Norwegian message naming the field), then runs as
one transaction stamped with who and when, and appends the new version to ``ssu_history`` so every
earlier version stays. Edits are optimistic: a write names the version it was based on
(``expected_version``); if someone else saved in between, ``EditConflict`` carries both versions and
nothing is written. Content writes are allowed only to a redaktør or administrator of the
helsefellesskap (``SsuPermissionError``).

The public deployment (``PUBLIC_MODE=1``) has no write path: every write raises ``SsuReadOnlyError``.
Its reads return only assessments that are published and marked public; goals, actions, roles and
history are internal and read as empty.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from data_loaders import schema
from data_loaders.config import settings

ROLES = ("leser", "redaktor", "administrator")
ROLE_LABELS_NB = {"leser": "Leser", "redaktor": "Redaktør", "administrator": "Administrator"}
EDIT_ROLES = ("redaktor", "administrator")
GOAL_DIRECTIONS = ("higher_is_better", "lower_is_better")
GOAL_DIRECTION_LABELS_NB = {"higher_is_better": "minst", "lower_is_better": "høyst"}
ASSESSMENT_STATUSES = ("utkast", "publisert")
ACTION_STATUSES = ("planlagt", "pågår", "fullført", "avbrutt")
ACTION_STATUS_LABELS_NB = {"planlagt": "Planlagt", "pågår": "Pågår", "fullført": "Fullført", "avbrutt": "Avbrutt"}
KINDS = ("goal", "assessment", "action")
KIND_LABELS_NB = {"goal": "målet", "assessment": "vurderingen", "action": "tiltaket", "role": "rollen"}
_KIND_PRONOUNS_NB = {"goal": "det", "assessment": "den", "action": "det", "role": "den"}

ASSESSMENT_MAX_CHARS = 2000
TITLE_MAX_CHARS = 300
OWNER_MAX_CHARS = 200
NOTE_MAX_CHARS = 1000
IDENTITY_MAX_CHARS = 320
FIRST_YEAR, LAST_YEAR = 2000, 2100

FIELD_LABELS_NB = {
    "helsefellesskap_id": "Helsefellesskap",
    "indicator_id": "Indikator",
    "indicator_ids": "Indikatorer",
    "target": "Målverdi",
    "direction": "Retning",
    "target_year": "Målår",
    "sak_number": "Saksnummer",
    "sak_date": "Saksdato",
    "note": "Merknad",
    "period": "Periode",
    "text_md": "Vurdering",
    "status": "Status",
    "public": "Offentlig",
    "title": "Tiltak",
    "owner": "Ansvarlig",
    "due_date": "Frist",
    "goal_text": "Mål",
    "identity": "Bruker",
    "role": "Rolle",
    "id": "Id",
    "version": "Versjon",
}


# --- errors ------------------------------------------------------------------------------------


class SsuValidationError(ValueError):
    """Bad input; the message (Norwegian) names the field. Nothing was written."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{FIELD_LABELS_NB.get(field, field)}: {message}")


class EditConflict(Exception):
    """Someone else saved the record since it was loaded. ``current`` is theirs, ``attempted`` is yours."""

    def __init__(self, current: Any, attempted: Any, kind: str):
        self.current = current
        self.attempted = attempted
        self.kind = kind
        when = _format_when(current.updated_at) if current is not None else ""
        who = current.updated_by if current is not None else "en annen"
        version = current.version if current is not None else "?"
        super().__init__(
            f"{KIND_LABELS_NB[kind].capitalize()} er endret av {who} {when} (versjon {version}) etter at du åpnet "
            f"{_KIND_PRONOUNS_NB[kind]}. Endringene dine er ikke lagret; sammenlign de to versjonene og lagre på nytt."
        )


class SsuPermissionError(PermissionError):
    """The identity has no role that allows this write."""


class SsuReadOnlyError(PermissionError):
    """The public deployment has no write path."""


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    helsefellesskap_id: str
    indicator_id: str
    target: float
    direction: str
    target_year: int
    sak_number: int
    sak_date: date
    note: str = ""
    id: int | None = None
    version: int = 0
    updated_by: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Assessment:
    helsefellesskap_id: str
    indicator_id: str
    period: str
    text_md: str
    status: str = "utkast"
    public: bool = False
    id: int | None = None
    version: int = 0
    updated_by: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Action:
    helsefellesskap_id: str
    title: str
    indicator_ids: tuple[str, ...]
    owner: str
    status: str
    due_date: date
    sak_number: int
    sak_date: date
    goal_text: str = ""
    id: int | None = None
    version: int = 0
    updated_by: str = ""
    updated_at: datetime | None = None


# --- parsing helpers for form input ----------------------------------------------------------

_NB_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_date_nb(text: object, field: str = "sak_date") -> date:
    """A date from ``dd.mm.åååå`` (also ``d.m.åååå``) or ISO ``åååå-mm-dd``; a ``date`` passes through."""
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    raw = str(text if text is not None else "").strip()
    nb, iso = _NB_DATE.match(raw), _ISO_DATE.match(raw)
    if nb:
        day, month, year = (int(g) for g in nb.groups())
    elif iso:
        year, month, day = (int(g) for g in iso.groups())
    else:
        shown = f"«{raw}»" if raw else "tom"
        raise SsuValidationError(field, f"datoen {shown} har feil form; skriv dd.mm.åååå, for eksempel 31.12.2025.")
    try:
        return date(year, month, day)
    except ValueError:
        raise SsuValidationError(field, f"«{raw}» er ingen gyldig dato; skriv dd.mm.åååå, for eksempel 31.12.2025.") from None


def parse_sak_number(text: object, field: str = "sak_number") -> int:
    """A sak number: a whole positive number (the sak's year is its date)."""
    if isinstance(text, bool):
        raise SsuValidationError(field, "saksnummeret må være et helt tall, for eksempel 12.")
    if isinstance(text, int):
        number = text
    else:
        raw = str(text if text is not None else "").strip()
        if not raw.isdigit() or not raw.isascii():
            shown = f"«{raw}»" if raw else "tomt"
            raise SsuValidationError(field, f"saksnummeret {shown} er ikke et tall; skriv et helt tall, for eksempel 12.")
        number = int(raw)
    if number < 1:
        raise SsuValidationError(field, f"saksnummeret må være 1 eller større, ikke {number}.")
    return number


def format_date_nb(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def format_sak(number: int, sak_date: date) -> str:
    """How a vedtak is cited: "sak 12/2025 (03.04.2025)"."""
    return f"sak {number}/{sak_date.year} ({format_date_nb(sak_date)})"


# --- roles -------------------------------------------------------------------------------------


def normalise_identity(identity: object) -> str:
    return str(identity or "").strip().lower()


def can_edit(roles: dict[str, str], helsefellesskap_id: str) -> bool:
    return roles.get(helsefellesskap_id) in EDIT_ROLES


def can_read(roles: dict[str, str], helsefellesskap_id: str) -> bool:
    return roles.get(helsefellesskap_id) in ROLES


def can_administer(roles: dict[str, str], helsefellesskap_id: str) -> bool:
    return roles.get(helsefellesskap_id) == "administrator"


def roles_for(engine: Engine, identity: str) -> dict[str, str]:
    """helsefellesskap_id -> role of an identity (lower-cased e-mail or OIDC subject). Empty in public mode."""
    identity = normalise_identity(identity)
    if _public_mode() or not identity or not _tables_exist(engine):
        return {}
    with engine.connect() as conn:
        return _roles(conn, identity)


def list_roles(engine: Engine, helsefellesskap_id: str | None = None) -> list[dict]:
    """Every role assignment (identity, helsefellesskap_id, role, updated_by, updated_at). Empty in public mode."""
    if _public_mode() or not _tables_exist(engine):
        return []
    r = schema.ssu_role
    query = sa.select(r).order_by(r.c.helsefellesskap_id, r.c.identity)
    if helsefellesskap_id is not None:
        query = query.where(r.c.helsefellesskap_id == helsefellesskap_id)
    with engine.connect() as conn:
        return [{**row._mapping, "updated_at": _aware(row.updated_at)} for row in conn.execute(query)]


def set_role(engine: Engine, identity: str, helsefellesskap_id: str, role: str, *, by: str,
             operator: bool = False) -> None:
    """Give ``identity`` a role for a helsefellesskap (replacing any earlier one).

    ``by`` must be an administrator of that helsefellesskap, unless ``operator`` (the command line,
    run by whoever operates the store, is how the first administrator is made).
    """
    identity, by = _check_identity(identity), _check_by(by)
    if role not in ROLES:
        raise SsuValidationError("role", f"«{role}» er ingen rolle; velg leser, redaktor eller administrator.")

    def write(conn: Connection) -> None:
        _check_helsefellesskap(conn, helsefellesskap_id)
        if not operator and not can_administer(_roles(conn, by), helsefellesskap_id):
            raise SsuPermissionError(f"{by} er ikke administrator for {helsefellesskap_id} og kan ikke endre roller.")
        r = schema.ssu_role
        now = _now()
        values = dict(role=role, updated_by=by, updated_at=now)
        key = (r.c.identity == identity) & (r.c.helsefellesskap_id == helsefellesskap_id)
        if not conn.execute(sa.update(r).where(key).values(**values)).rowcount:
            conn.execute(r.insert().values(identity=identity, helsefellesskap_id=helsefellesskap_id, **values))
        _append_history(conn, "role", None, 0, "set",
                        {"identity": identity, "helsefellesskap_id": helsefellesskap_id, "role": role}, by, now)

    _write(engine, write)


def remove_role(engine: Engine, identity: str, helsefellesskap_id: str, *, by: str, operator: bool = False) -> bool:
    """Remove an identity's role for a helsefellesskap; False if it had none."""
    identity, by = _check_identity(identity), _check_by(by)

    def write(conn: Connection) -> bool:
        if not operator and not can_administer(_roles(conn, by), helsefellesskap_id):
            raise SsuPermissionError(f"{by} er ikke administrator for {helsefellesskap_id} og kan ikke endre roller.")
        r = schema.ssu_role
        key = (r.c.identity == identity) & (r.c.helsefellesskap_id == helsefellesskap_id)
        removed = bool(conn.execute(sa.delete(r).where(key)).rowcount)
        if removed:
            _append_history(conn, "role", None, 0, "remove",
                            {"identity": identity, "helsefellesskap_id": helsefellesskap_id, "role": None}, by, _now())
        return removed

    return _write(engine, write)


def role_history(engine: Engine) -> list[dict]:
    """Every role change, oldest first (internal; empty in public mode)."""
    return _history_rows(engine, "role", None)


# --- reads -------------------------------------------------------------------------------------


def goals(engine: Engine, helsefellesskap_id: str | None = None, indicator_id: str | None = None) -> list[Goal]:
    """Local goals (internal: none in public mode), ordered by helsefellesskap and indicator."""
    if _public_mode() or not _tables_exist(engine):
        return []
    g = schema.ssu_goal
    query = sa.select(g).order_by(g.c.helsefellesskap_id, g.c.indicator_id)
    query = _filter(query, g, helsefellesskap_id=helsefellesskap_id, indicator_id=indicator_id)
    with engine.connect() as conn:
        return [_goal(row) for row in conn.execute(query)]


def goal_for(engine: Engine, helsefellesskap_id: str, indicator_id: str) -> Goal | None:
    found = goals(engine, helsefellesskap_id, indicator_id)
    return found[0] if found else None


def assessments(engine: Engine, helsefellesskap_id: str | None = None, indicator_id: str | None = None,
                period: str | None = None, *, include_drafts: bool = False, public_only: bool = False) -> list[Assessment]:
    """Assessments, published only unless ``include_drafts``; in public mode only published and public ones."""
    if not _tables_exist(engine):
        return []
    if _public_mode():
        include_drafts, public_only = False, True
    a = schema.ssu_assessment
    query = sa.select(a).order_by(a.c.helsefellesskap_id, a.c.indicator_id, a.c.period)
    query = _filter(query, a, helsefellesskap_id=helsefellesskap_id, indicator_id=indicator_id)
    if period is not None:
        query = query.where(a.c.period == _normalise_period(period))
    if not include_drafts:
        query = query.where(a.c.status == "publisert")
    if public_only:
        query = query.where(a.c.public.is_(True))
    with engine.connect() as conn:
        return [_assessment(row) for row in conn.execute(query)]


def actions(engine: Engine, helsefellesskap_id: str | None = None, indicator_id: str | None = None,
            status: str | None = None) -> list[Action]:
    """Actions (internal: none in public mode), ordered by due date."""
    if _public_mode() or not _tables_exist(engine):
        return []
    t, link = schema.ssu_action, schema.ssu_action_indicator
    query = sa.select(t).order_by(t.c.due_date, t.c.action_id)
    query = _filter(query, t, helsefellesskap_id=helsefellesskap_id)
    if status is not None:
        query = query.where(t.c.status == status)
    if indicator_id is not None:
        query = query.where(t.c.action_id.in_(sa.select(link.c.action_id).where(link.c.indicator_id == indicator_id)))
    with engine.connect() as conn:
        rows = conn.execute(query).fetchall()
        links = _action_links(conn, [row.action_id for row in rows])
    return [_action(row, links.get(row.action_id, ())) for row in rows]


def history(engine: Engine, kind: str, id: int) -> list[dict]:  # noqa: A002 - the interface's name
    """Every version of one record, oldest first: version, operation, changed_by, changed_at, record (dict)."""
    if kind not in KINDS:
        raise SsuValidationError("id", f"ukjent type «{kind}»; bruk goal, assessment eller action.")
    return _history_rows(engine, kind, id)


# --- writes ------------------------------------------------------------------------------------


def save_goal(engine: Engine, goal: Goal, *, by: str, expected_version: int | None = None) -> Goal:
    """Create (``expected_version`` None) or update a local goal; one goal per helsefellesskap and indicator."""
    by = _check_by(by)
    goal = _validate_goal(goal)

    def write(conn: Connection) -> Goal:
        _check_helsefellesskap(conn, goal.helsefellesskap_id)
        _require_editor(conn, by, goal.helsefellesskap_id)
        g = schema.ssu_goal
        values = dict(target=goal.target, direction=goal.direction, target_year=goal.target_year,
                      sak_number=goal.sak_number, sak_date=goal.sak_date, note=goal.note)
        key = dict(helsefellesskap_id=goal.helsefellesskap_id, indicator_id=goal.indicator_id)
        record_id = _insert_or_update(conn, "goal", g, g.c.goal_id, goal, key, values, by, expected_version)
        saved = _goal(conn.execute(sa.select(g).where(g.c.goal_id == record_id)).one())
        _append_history(conn, "goal", record_id, saved.version, _operation(expected_version), _record(saved), by,
                        saved.updated_at)
        return saved

    return _write_record(engine, "goal", goal, write)


def save_assessment(engine: Engine, assessment: Assessment, *, by: str, expected_version: int | None = None) -> Assessment:
    """Create or update an assessment; one per helsefellesskap, indicator and period."""
    by = _check_by(by)
    assessment = _validate_assessment(assessment)

    def write(conn: Connection) -> Assessment:
        _check_helsefellesskap(conn, assessment.helsefellesskap_id)
        _require_editor(conn, by, assessment.helsefellesskap_id)
        a = schema.ssu_assessment
        values = dict(text_md=assessment.text_md, status=assessment.status, public=assessment.public)
        key = dict(helsefellesskap_id=assessment.helsefellesskap_id, indicator_id=assessment.indicator_id,
                   period=assessment.period)
        record_id = _insert_or_update(conn, "assessment", a, a.c.assessment_id, assessment, key, values, by,
                                      expected_version)
        saved = _assessment(conn.execute(sa.select(a).where(a.c.assessment_id == record_id)).one())
        _append_history(conn, "assessment", record_id, saved.version, _operation(expected_version), _record(saved),
                        by, saved.updated_at)
        return saved

    return _write_record(engine, "assessment", assessment, write)


def publish_assessment(engine: Engine, id: int, *, by: str, expected_version: int) -> Assessment:  # noqa: A002
    """Mark a draft assessment as published (the public sees it only if it is also marked public)."""
    by = _check_by(by)
    _refuse_in_public_mode()
    ensure_tables(engine)
    with engine.connect() as conn:
        stored = _load(conn, "assessment", id)
    if stored is None:
        raise SsuValidationError("id", f"vurdering {id} finnes ikke.")
    return save_assessment(engine, replace(stored, status="publisert"), by=by, expected_version=expected_version)


def save_action(engine: Engine, action: Action, *, by: str, expected_version: int | None = None) -> Action:
    """Create or update an action and the indicators it should move."""
    by = _check_by(by)
    action = _validate_action(action)

    def write(conn: Connection) -> Action:
        _check_helsefellesskap(conn, action.helsefellesskap_id)
        _require_editor(conn, by, action.helsefellesskap_id)
        t, link = schema.ssu_action, schema.ssu_action_indicator
        values = dict(title=action.title, owner=action.owner, status=action.status, due_date=action.due_date,
                      sak_number=action.sak_number, sak_date=action.sak_date, goal_text=action.goal_text)
        key = dict(helsefellesskap_id=action.helsefellesskap_id)
        record_id = _insert_or_update(conn, "action", t, t.c.action_id, action, key, values, by, expected_version,
                                      unique_key=False)
        conn.execute(sa.delete(link).where(link.c.action_id == record_id))
        conn.execute(link.insert(), [{"action_id": record_id, "indicator_id": i} for i in action.indicator_ids])
        saved = _load(conn, "action", record_id)
        _append_history(conn, "action", record_id, saved.version, _operation(expected_version), _record(saved), by,
                        saved.updated_at)
        return saved

    return _write_record(engine, "action", action, write)


def ensure_tables(engine: Engine) -> None:
    """Create the SSU tables in a store made before they existed (a no-op when they are there)."""
    if not _tables_exist(engine):
        schema.metadata.create_all(engine, tables=list(schema.SSU_TABLES))
        _READY.add(_engine_key(engine))


# --- validation ------------------------------------------------------------------------------


def _validate_goal(goal: Goal) -> Goal:
    indicator = _check_indicator(goal.indicator_id, "indicator_id")
    target = _check_number(goal.target, "target")
    if indicator.unit == "percent" and not 0 <= target <= 100:
        raise SsuValidationError("target", f"{_num(target)} er utenfor indikatorens område; en andel i prosent må "
                                           "ligge mellom 0 og 100.")
    if target < 0:
        raise SsuValidationError("target", f"{_num(target)} er utenfor indikatorens område; en rate "
                                           f"({indicator.unit_label}) kan ikke være negativ.")
    if goal.direction not in GOAL_DIRECTIONS:
        raise SsuValidationError("direction", f"«{goal.direction}» er ingen retning; velg høyere er bedre "
                                              "(higher_is_better) eller lavere er bedre (lower_is_better).")
    return replace(
        goal, target=target, target_year=_check_year(goal.target_year, "target_year"),
        sak_number=parse_sak_number(goal.sak_number), sak_date=parse_date_nb(goal.sak_date, "sak_date"),
        note=_check_text(goal.note, "note", NOTE_MAX_CHARS, required=False),
    )


def _validate_assessment(assessment: Assessment) -> Assessment:
    _check_indicator(assessment.indicator_id, "indicator_id")
    if assessment.status not in ASSESSMENT_STATUSES:
        raise SsuValidationError("status", f"«{assessment.status}» er ingen status; bruk utkast eller publisert.")
    if not isinstance(assessment.public, bool):
        raise SsuValidationError("public", "må være ja eller nei.")
    return replace(
        assessment, period=_normalise_period(assessment.period),
        text_md=_check_text(assessment.text_md, "text_md", ASSESSMENT_MAX_CHARS),
    )


def _validate_action(action: Action) -> Action:
    ids = action.indicator_ids
    if isinstance(ids, str):
        ids = (ids,)
    ids = tuple(dict.fromkeys(str(i).strip() for i in (ids or ()) if str(i).strip()))
    if not ids:
        raise SsuValidationError("indicator_ids", "velg minst én indikator tiltaket skal påvirke.")
    for indicator_id in ids:
        _check_indicator(indicator_id, "indicator_ids")
    if action.status not in ACTION_STATUSES:
        raise SsuValidationError("status", f"«{action.status}» er ingen status; bruk planlagt, pågår, fullført "
                                           "eller avbrutt.")
    return replace(
        action, indicator_ids=ids, title=_check_text(action.title, "title", TITLE_MAX_CHARS),
        owner=_check_text(action.owner, "owner", OWNER_MAX_CHARS),
        due_date=parse_date_nb(action.due_date, "due_date"), sak_number=parse_sak_number(action.sak_number),
        sak_date=parse_date_nb(action.sak_date, "sak_date"),
        goal_text=_check_text(action.goal_text, "goal_text", NOTE_MAX_CHARS, required=False),
    )


def _check_indicator(indicator_id: str, field: str):
    from indicators.catalogue import load_catalogue

    try:
        return load_catalogue().indicator(str(indicator_id))
    except KeyError:
        raise SsuValidationError(field, f"indikatoren «{indicator_id}» finnes ikke i katalogen.") from None


def _check_number(value: object, field: str) -> float:
    if isinstance(value, bool):
        raise SsuValidationError(field, "må være et tall.")
    try:
        number = float(str(value).strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")) \
            if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise SsuValidationError(field, f"«{value}» er ikke et tall.") from None
    if not math.isfinite(number):
        raise SsuValidationError(field, f"«{value}» er ikke et tall.")
    return number


def _check_year(value: object, field: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not (isinstance(value, int) or (text.isdigit() and text.isascii())):
        raise SsuValidationError(field, f"«{value}» er ikke et årstall; skriv for eksempel 2026.")
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise SsuValidationError(field, f"{year} er utenfor {FIRST_YEAR}–{LAST_YEAR}.")
    return year


def _check_text(value: object, field: str, limit: int, *, required: bool = True) -> str:
    text = str(value if value is not None else "").strip()
    if required and not text:
        raise SsuValidationError(field, "kan ikke være tom.")
    if len(text) > limit:
        raise SsuValidationError(field, f"teksten er {len(text)} tegn; grensen er {limit} tegn.")
    return text


def _normalise_period(period: object) -> str:
    """"2024" or "2023-2025" (an en dash is accepted); the start not after the end."""
    text = str(period if period is not None else "").strip().replace("–", "-").replace(" ", "")
    match = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", text)
    if not match:
        raise SsuValidationError("period", f"«{period}» er ingen periode; skriv et år (2024) eller et "
                                           "intervall (2023-2025).")
    start = _check_year(match.group(1), "period")
    end = _check_year(match.group(2) or match.group(1), "period")
    if end < start:
        raise SsuValidationError("period", f"«{period}»: sluttåret kommer før startåret.")
    return str(start) if start == end else f"{start}-{end}"


def _check_identity(identity: object) -> str:
    text = normalise_identity(identity)
    if not text:
        raise SsuValidationError("identity", "oppgi e-postadressen eller OIDC-subjektet til brukeren.")
    if len(text) > IDENTITY_MAX_CHARS:
        raise SsuValidationError("identity", f"for lang (over {IDENTITY_MAX_CHARS} tegn).")
    return text


def _check_by(by: object) -> str:
    text = normalise_identity(by)
    if not text:
        raise SsuPermissionError("Ingen innlogget bruker: endringen må ha en avsender.")
    return text[:IDENTITY_MAX_CHARS]


def _check_helsefellesskap(conn: Connection, helsefellesskap_id: str) -> None:
    h = schema.helsefellesskap
    known = set(conn.execute(sa.select(h.c.helsefellesskap_id)).scalars())
    if not known:
        from data_loaders import reference

        known = set(reference.load_helsefellesskap()["helsefellesskap_id"].to_list())
    if helsefellesskap_id not in known:
        raise SsuValidationError("helsefellesskap_id", f"helsefellesskapet «{helsefellesskap_id}» finnes ikke.")


def _require_editor(conn: Connection, by: str, helsefellesskap_id: str) -> None:
    if not can_edit(_roles(conn, by), helsefellesskap_id):
        raise SsuPermissionError(
            f"{by} er ikke redaktør for dette helsefellesskapet og kan ikke endre mål, vurderinger eller tiltak."
        )


def _num(value: float) -> str:
    return f"{value:g}".replace(".", ",")


# --- transactions, conflicts and history ---------------------------------------------------------


_READY: set[str] = set()


def _engine_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _tables_exist(engine: Engine) -> bool:
    key = _engine_key(engine)
    if key in _READY:
        return True
    names = set(sa.inspect(engine).get_table_names())
    if all(t.name in names for t in schema.SSU_TABLES):
        _READY.add(key)
        return True
    return False


def _public_mode() -> bool:
    return settings().public_mode


def _refuse_in_public_mode() -> None:
    if _public_mode():
        raise SsuReadOnlyError("Den offentlige utgaven kan ikke endre mål, vurderinger, tiltak eller roller.")


def _write(engine: Engine, write: Callable[[Connection], Any]) -> Any:
    _refuse_in_public_mode()
    ensure_tables(engine)
    with engine.begin() as conn:
        return write(conn)


def _write_record(engine: Engine, kind: str, attempted: Any, write: Callable[[Connection], Any]) -> Any:
    """Run one record's write; a unique-key race (two creators at once) becomes an EditConflict."""
    try:
        return _write(engine, write)
    except sa.exc.IntegrityError:
        current = _find_same(engine, kind, attempted)
        if current is None:
            raise
        raise EditConflict(current, attempted, kind) from None


def _operation(expected_version: int | None) -> str:
    return "create" if expected_version is None else "update"


def _insert_or_update(conn: Connection, kind: str, table: sa.Table, id_column: sa.Column, record: Any,
                      key: dict, values: dict, by: str, expected_version: int | None,
                      *, unique_key: bool = True) -> int:
    """Insert version 1, or update ``record.id`` from ``expected_version`` to the next; returns the id."""
    now = _now()
    if expected_version is None:
        if unique_key:
            existing = conn.execute(sa.select(id_column).where(*(table.c[k] == v for k, v in key.items()))).first()
            if existing is not None:
                raise EditConflict(_load(conn, kind, existing[0]), record, kind)
        result = conn.execute(table.insert().values(**key, **values, version=1, updated_by=by, updated_at=now))
        return int(result.inserted_primary_key[0])
    if record.id is None:
        raise SsuValidationError("id", "mangler; en endring må gjelde en lagret post.")
    stored = _load(conn, kind, record.id)
    if stored is None:
        raise SsuValidationError("id", f"{KIND_LABELS_NB[kind]} med id {record.id} finnes ikke.")
    for name, value in key.items():
        if getattr(stored, name) != value:
            raise SsuValidationError(name, f"kan ikke endres på en lagret post (lagret: «{getattr(stored, name)}»).")
    # The version check and the write are one statement, so two editors cannot both win.
    updated = conn.execute(
        sa.update(table).where((id_column == record.id) & (table.c.version == expected_version))
        .values(**values, version=expected_version + 1, updated_by=by, updated_at=now)
    ).rowcount
    if updated != 1:
        raise EditConflict(_load(conn, kind, record.id), record, kind)
    return int(record.id)


def _append_history(conn: Connection, kind: str, record_id: int | None, version: int, operation: str,
                    record: dict, by: str, at: datetime) -> None:
    conn.execute(schema.ssu_history.insert().values(
        kind=kind, record_id=record_id, version=version, operation=operation,
        record_json=json.dumps(record, ensure_ascii=False, sort_keys=True), changed_by=by, changed_at=at,
    ))


def _history_rows(engine: Engine, kind: str, record_id: int | None) -> list[dict]:
    if _public_mode() or not _tables_exist(engine):
        return []
    h = schema.ssu_history
    query = sa.select(h).where(h.c.kind == kind).order_by(h.c.history_id)
    if record_id is not None:
        query = query.where(h.c.record_id == record_id)
    with engine.connect() as conn:
        return [
            {"version": row.version, "operation": row.operation, "changed_by": row.changed_by,
             "changed_at": _aware(row.changed_at), "record": json.loads(row.record_json)}
            for row in conn.execute(query)
        ]


def _record(record: Any) -> dict:
    """A record as JSON-ready data (dates as ISO text) for the history."""
    out = {}
    for name, value in asdict(record).items():
        if isinstance(value, (date, datetime)):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


# --- row mapping ---------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite keeps no zone; everything is written in UTC
        return value.replace(tzinfo=timezone.utc)
    return value


def _format_when(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%d.%m.%Y kl. %H:%M UTC") if value else ""


def _roles(conn: Connection, identity: str) -> dict[str, str]:
    r = schema.ssu_role
    rows = conn.execute(sa.select(r.c.helsefellesskap_id, r.c.role).where(r.c.identity == identity))
    return {hf: role for hf, role in rows}


def _filter(query: sa.Select, table: sa.Table, **values: str | None) -> sa.Select:
    for name, value in values.items():
        if value is not None:
            query = query.where(table.c[name] == value)
    return query


def _common(row: Any, id_name: str) -> dict:
    return dict(id=row._mapping[id_name], version=row.version, updated_by=row.updated_by,
                updated_at=_aware(row.updated_at))


def _goal(row: Any) -> Goal:
    m = row._mapping
    return Goal(helsefellesskap_id=m["helsefellesskap_id"], indicator_id=m["indicator_id"], target=float(m["target"]),
                direction=m["direction"], target_year=int(m["target_year"]), sak_number=int(m["sak_number"]),
                sak_date=m["sak_date"], note=m["note"] or "", **_common(row, "goal_id"))


def _assessment(row: Any) -> Assessment:
    m = row._mapping
    return Assessment(helsefellesskap_id=m["helsefellesskap_id"], indicator_id=m["indicator_id"], period=m["period"],
                      text_md=m["text_md"], status=m["status"], public=bool(m["public"]),
                      **_common(row, "assessment_id"))


def _action(row: Any, indicator_ids: tuple[str, ...]) -> Action:
    m = row._mapping
    return Action(helsefellesskap_id=m["helsefellesskap_id"], title=m["title"], indicator_ids=indicator_ids,
                  owner=m["owner"], status=m["status"], due_date=m["due_date"], sak_number=int(m["sak_number"]),
                  sak_date=m["sak_date"], goal_text=m["goal_text"] or "", **_common(row, "action_id"))


def _action_links(conn: Connection, action_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not action_ids:
        return {}
    link = schema.ssu_action_indicator
    links: dict[int, list[str]] = {}
    query = sa.select(link.c.action_id, link.c.indicator_id).where(link.c.action_id.in_(action_ids))
    for action_id, indicator_id in conn.execute(query.order_by(link.c.action_id, link.c.indicator_id)):
        links.setdefault(action_id, []).append(indicator_id)
    return {k: tuple(v) for k, v in links.items()}


def _load(conn: Connection, kind: str, record_id: int) -> Any:
    if kind == "goal":
        g = schema.ssu_goal
        row = conn.execute(sa.select(g).where(g.c.goal_id == record_id)).first()
        return _goal(row) if row else None
    if kind == "assessment":
        a = schema.ssu_assessment
        row = conn.execute(sa.select(a).where(a.c.assessment_id == record_id)).first()
        return _assessment(row) if row else None
    t = schema.ssu_action
    row = conn.execute(sa.select(t).where(t.c.action_id == record_id)).first()
    return _action(row, _action_links(conn, [record_id]).get(record_id, ())) if row else None


def _find_same(engine: Engine, kind: str, record: Any) -> Any:
    """The stored record with the same unique key as ``record`` (after a lost creation race)."""
    if kind == "goal":
        found = goals(engine, record.helsefellesskap_id, record.indicator_id)
    elif kind == "assessment":
        found = assessments(engine, record.helsefellesskap_id, record.indicator_id, record.period, include_drafts=True)
    else:
        return None
    return found[0] if found else None
