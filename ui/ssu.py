"""The SSU's own work next to the numbers: local goals, written assessments (vurderinger) and actions (tiltak).

Reading and writing go through ``data_loaders.ssu``; who may do what through ``ui.auth``. Text written
by users is shown as Markdown with every HTML character escaped, so no raw HTML reaches the page.
A write that meets a newer version (``EditConflict``) shows both versions and lets the user choose.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from datetime import date

import polars as pl
import streamlit as st

from data_loaders import ssu
from indicators.catalogue import Catalogue, Indicator
from ui import auth, downloads, layout, text

STATUS_LABELS = {"planlagt": "Planlagt", "pågår": "Pågår", "fullført": "Fullført", "avbrutt": "Avbrutt"}
DIRECTION_CHOICES = {"higher_is_better": "Høyere er bedre", "lower_is_better": "Lavere er bedre"}
TABLE_COLUMNS = ("Tiltak", "Mål", "Gjennomføring", "Tidspunkt", "Ansvarlig", "Helsefellesskap", "Indikatorer", "Sak")
CONFLICT_KEY = "_ssu_conflict"
NOTICE_KEY = "_ssu_notice"


# --- small pure helpers ----------------------------------------------------------------------


def date_nb(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def sak_text(number: int | None, when: date | None) -> str:
    """«sak 12 (03.03.2025)»."""
    if number is None:
        return ""
    return f"sak {number}" + (f" ({date_nb(when)})" if when else "")


def safe_markdown(raw: str) -> str:
    """User Markdown with HTML escaped: ``<b>`` shows as text, Markdown emphasis and lists still work."""
    return html.escape(raw or "", quote=False)


def build(cls, **fields):
    """A new record of ``cls`` (Goal, Assessment, Action) with the bookkeeping fields left for the store."""
    bookkeeping = {"id": None, "version": 0, "updated_by": "", "updated_at": None}
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{**{k: v for k, v in bookkeeping.items() if k in names and k not in fields}, **fields})


def goal_text(goal, ind: Indicator) -> str:
    """«Mål: 80 % innen 2026 (høyere er bedre), vedtatt i sak 12 (03.03.2025)»."""
    direction = DIRECTION_CHOICES.get(goal.direction, "").lower()
    vedtak = sak_text(goal.sak_number, goal.sak_date)
    return (f"Mål: {text.with_unit(ind, goal.target)} innen {goal.target_year}"
            + (f" ({direction})" if direction else "") + (f", vedtatt i {vedtak}" if vedtak else ""))


def actions_frame(actions: Sequence, cat: Catalogue, names: dict[str, str]) -> pl.DataFrame:
    """Actions shaped like the politicians' tables: Tiltak | Mål | Gjennomføring | Tidspunkt | Ansvarlig, then context."""
    def indicator_names(ids) -> str:
        out = []
        for i in ids:
            try:
                out.append(cat.indicator(i).short_name)
            except KeyError:
                out.append(i)
        return ", ".join(out)

    rows = [{
        "Tiltak": a.title, "Mål": a.goal_text or "", "Gjennomføring": STATUS_LABELS.get(a.status, a.status),
        "Tidspunkt": date_nb(a.due_date), "Ansvarlig": a.owner,
        "Helsefellesskap": names.get(a.helsefellesskap_id, a.helsefellesskap_id),
        "Indikatorer": indicator_names(a.indicator_ids), "Sak": sak_text(a.sak_number, a.sak_date),
    } for a in actions]
    return pl.DataFrame(rows, schema={c: pl.String for c in TABLE_COLUMNS})


def filter_actions(actions: Sequence, *, helsefellesskap: Sequence[str] = (), status: Sequence[str] = (),
                   indicator: str | None = None) -> list:
    return [a for a in actions
            if (not helsefellesskap or a.helsefellesskap_id in helsefellesskap)
            and (not status or a.status in status)
            and (indicator is None or indicator in a.indicator_ids)]


# --- what a user may see ---------------------------------------------------------------------


def engine():
    return auth._engine()


def visible_goals(eng, hf_id: str, identity) -> list:
    return ssu.goals(eng, hf_id) if auth.can_read(identity, hf_id) else []


def visible_actions(eng, hf_id: str | None, identity) -> list:
    if hf_id is None:
        return [a for a in ssu.actions(eng) if auth.can_read(identity, a.helsefellesskap_id)]
    return ssu.actions(eng, hf_id) if auth.can_read(identity, hf_id) else []


def visible_assessments(eng, hf_id: str, identity) -> list:
    """Drafts for the editors, published ones for readers, published public ones for everyone else."""
    if auth.can_edit(identity, hf_id):
        return ssu.assessments(eng, hf_id, include_drafts=True)
    if auth.can_read(identity, hf_id):
        return ssu.assessments(eng, hf_id)
    return ssu.assessments(eng, hf_id, public_only=True)


def goal_for(goals: Sequence, indicator_id: str):
    return next((g for g in goals if g.indicator_id == indicator_id), None)


def user_goal(identity, indicator_id: str, prefer: str | None = None):
    """The goal of the logged-in user's own helsefellesskap for an indicator (``prefer`` first), or None."""
    if identity is None or not identity.roles:
        return None
    eng = engine()
    order = ([prefer] if prefer in identity.roles else []) + sorted(h for h in identity.roles if h != prefer)
    for hf_id in order:
        goal = goal_for(ssu.goals(eng, hf_id, indicator_id), indicator_id)
        if goal is not None:
            return goal
    return None


# --- display -----------------------------------------------------------------------------------


def _latest(items: Sequence):
    return max(items, key=lambda a: (a.period, a.updated_at or 0, a.id or 0)) if items else None


def indicator_notes(hf_id: str, indicators: Sequence[Indicator], identity, *, goals=None, assessments=None,
                    actions=None) -> None:
    """Each indicator's goal, latest published assessment and actions, under its group on the profile."""
    eng = engine()
    goals = visible_goals(eng, hf_id, identity) if goals is None else goals
    assessments = visible_assessments(eng, hf_id, identity) if assessments is None else assessments
    actions = visible_actions(eng, hf_id, identity) if actions is None else actions
    for ind in indicators:
        goal = goal_for(goals, ind.id)
        published = _latest([a for a in assessments if a.indicator_id == ind.id and a.status == "publisert"])
        own_actions = [a for a in actions if ind.id in a.indicator_ids]
        if goal is None and published is None and not own_actions:
            continue
        with st.container(border=True):
            st.markdown(f"**{text.esc(ind.short_name)}: mål, vurdering og tiltak**")
            if goal is not None:
                st.markdown(text.esc(goal_text(goal, ind)))
            if published is not None:
                st.markdown(f"*Vurdering for {text.esc(published.period)}:*")
                st.markdown(safe_markdown(published.text_md))
            for action in own_actions:
                st.markdown("- Tiltak: " + text.esc(
                    f"{action.title} – {STATUS_LABELS.get(action.status, action.status).lower()}, "
                    f"frist {date_nb(action.due_date)}, ansvarlig {action.owner}"))


def show_notice() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.success(notice, icon=":material/check_circle:")


def _seen_version(slot: str, current: int | None, submitted: bool) -> int | None:
    """The version the user saw when the form was drawn (the previous run), for optimistic locking."""
    key = f"_ssu_seen_{slot}"
    seen = st.session_state.get(key, current) if submitted and key in st.session_state else current
    st.session_state[key] = current
    return seen


def _write(action, description: str, kind: str, attempted=None) -> bool:
    """Run one store write; True when saved. Bad input: a Norwegian message. A newer stored version:
    the conflict is kept for ``conflict_panel`` and the page is drawn again to show it."""
    holder: dict = {}
    try:
        action(holder)
    except (ssu.SsuValidationError, ssu.SsuPermissionError, ssu.SsuReadOnlyError) as error:
        st.error(f"Ikke lagret. {error}", icon=":material/error:")
        return False
    except ssu.EditConflict as error:
        st.session_state[CONFLICT_KEY] = {"kind": kind, "current": error.current,
                                          "attempted": getattr(error, "attempted", None) or holder.get("record")
                                          or attempted, "message": str(error)}
        st.rerun()
    st.session_state[NOTICE_KEY] = description
    return True


def _describe(record, cat: Catalogue) -> str:
    if record is None:
        return "(finnes ikke)"
    if hasattr(record, "text_md"):
        status = "publisert" if record.status == "publisert" else "utkast"
        return f"*{record.period}, {status}*\n\n" + safe_markdown(record.text_md)
    if hasattr(record, "target"):
        return text.esc(goal_text(record, cat.indicator(record.indicator_id)))
    return text.esc(f"{record.title} – {record.status}, frist {date_nb(record.due_date)}, ansvarlig {record.owner}")


def conflict_panel(cat: Catalogue, identity) -> None:
    """Both versions side by side after an EditConflict; the user keeps the stored one or saves theirs over it."""
    conflict = st.session_state.get(CONFLICT_KEY)
    if not conflict:
        return
    current, attempted = conflict["current"], conflict["attempted"]
    with st.container(border=True):
        st.warning("Noen andre har lagret en nyere versjon mens du skrev. Ingenting er overskrevet. "
                   "Velg hvilken versjon som skal gjelde.", icon=":material/sync_problem:")
        st.caption(conflict["message"])
        left, right = st.columns(2)
        who = getattr(current, "updated_by", "") or "ukjent"
        with left:
            st.markdown(f"**Lagret versjon** (av {text.esc(who)})")
            st.markdown(_describe(current, cat))
            keep = st.button("Behold den lagrede versjonen", key="ssu_conflict_keep")
        with right:
            st.markdown("**Din versjon**")
            st.markdown(_describe(attempted, cat))
            mine = st.button("Lagre min versjon", key="ssu_conflict_mine")
    if keep:
        st.session_state.pop(CONFLICT_KEY, None)
        st.session_state[NOTICE_KEY] = "Den lagrede versjonen gjelder. Din versjon er forkastet."
        st.rerun()
    if mine and identity is not None:
        st.session_state.pop(CONFLICT_KEY, None)
        version = getattr(current, "version", None)
        mine_record = dataclasses.replace(attempted, id=getattr(current, "id", attempted.id))
        saver = {"goal": ssu.save_goal, "assessment": ssu.save_assessment, "action": ssu.save_action}[conflict["kind"]]
        if _write(lambda _: saver(engine(), mine_record, by=identity.identity, expected_version=version),
                  "Din versjon er lagret.", conflict["kind"], mine_record):
            st.rerun()


def _goal_form(eng, identity, hf_id: str, ind: Indicator, goals: Sequence, default_year: int) -> None:
    current = goal_for(goals, ind.id)
    slot = f"goal_{hf_id}_{ind.id}"
    with st.form(f"ssu_{slot}", border=False):
        c1, c2, c3 = st.columns(3)
        target = c1.text_input(f"Målverdi ({text.unit_short(ind)})",
                               value="" if current is None else text.value(ind, current.target), key=f"{slot}_target")
        directions = list(DIRECTION_CHOICES)
        default_direction = (current.direction if current is not None else
                             ind.direction if ind.direction in directions else directions[0])
        direction = c2.selectbox("Retning", directions, index=directions.index(default_direction),
                                 format_func=DIRECTION_CHOICES.get, key=f"{slot}_direction")
        year = c3.text_input("Nås innen år", value=str(current.target_year if current else default_year + 2),
                             key=f"{slot}_year")
        c4, c5 = st.columns(2)
        sak = c4.text_input("Saksnummer i SSU", value=str(current.sak_number) if current else "", key=f"{slot}_sak")
        sak_date = c5.text_input("Vedtaksdato (dd.mm.åååå)", value=date_nb(current.sak_date) if current else "",
                                 key=f"{slot}_sak_date")
        note = st.text_input("Merknad", value=current.note if current else "", key=f"{slot}_note")
        submitted = st.form_submit_button("Lagre målet", icon=":material/flag:")
    expected = _seen_version(slot, current.version if current else None, submitted)
    if not submitted:
        return

    def save(holder):
        goal = build(ssu.Goal, helsefellesskap_id=hf_id, indicator_id=ind.id,
                     target=target, direction=direction, target_year=year.strip(),
                     sak_number=ssu.parse_sak_number(sak), sak_date=ssu.parse_date_nb(sak_date, "sak_date"),
                     note=note.strip())
        if current is not None:
            goal = dataclasses.replace(goal, id=current.id)
        holder["record"] = goal
        ssu.save_goal(eng, goal, by=identity.identity, expected_version=expected)

    if _write(save, f"Målet for {ind.short_name} er lagret.", "goal"):
        st.rerun()


def _assessment_form(eng, identity, hf_id: str, ind: Indicator, assessments: Sequence, default_period: str) -> None:
    mine = [a for a in assessments if a.indicator_id == ind.id]
    draft = _latest([a for a in mine if a.status != "publisert"])
    published = _latest([a for a in mine if a.status == "publisert"])
    base = draft or published
    slot = f"assessment_{hf_id}_{ind.id}"
    if published is not None:
        st.caption(f"Publisert vurdering for {published.period} (versjon {published.version}):")
        st.markdown(safe_markdown(published.text_md))
    with st.form(f"ssu_{slot}", border=False):
        period = st.text_input("Periode (år eller år–år)", value=base.period if base else default_period,
                               key=f"{slot}_period")
        body = st.text_area(f"Vurdering (Markdown, høyst {ssu.ASSESSMENT_MAX_CHARS} tegn)",
                            value=base.text_md if base else "", height=160, key=f"{slot}_text")
        public = st.checkbox("Kan vises offentlig når den er publisert", value=bool(base.public) if base else False,
                             key=f"{slot}_public")
        submitted = st.form_submit_button("Lagre utkast", icon=":material/save:")
        if published is not None:
            st.caption("Lagrer du et utkast for en periode som alt er publisert, skjules den publiserte vurderingen "
                       "til utkastet er publisert.")
    expected = _seen_version(slot, base.version if base else None, submitted)
    if draft is not None:
        st.info(f"Utkast for {draft.period} (ikke publisert, versjon {draft.version}).", icon=":material/edit_note:")
        if st.button("Publiser vurderingen", key=f"{slot}_publish", icon=":material/publish:"):
            if _write(lambda _: ssu.publish_assessment(eng, draft.id, by=identity.identity,
                                                       expected_version=draft.version),
                      f"Vurderingen av {ind.short_name} er publisert.", "assessment", draft):
                st.rerun()
    if not submitted:
        return

    def save(holder):
        record = build(ssu.Assessment, helsefellesskap_id=hf_id, indicator_id=ind.id, period=period.strip(),
                       text_md=body, status="utkast", public=public)
        holder["record"] = record
        same = ssu.assessments(eng, hf_id, ind.id, record.period, include_drafts=True)
        version = None
        if same:  # one assessment per period: update it (a conflict if it is not the one the user saw)
            record = holder["record"] = dataclasses.replace(record, id=same[0].id)
            version = expected if base is not None and base.id == same[0].id else None
        ssu.save_assessment(eng, record, by=identity.identity, expected_version=version)

    if _write(save, f"Utkastet til vurdering av {ind.short_name} er lagret.", "assessment"):
        st.rerun()


def action_form(eng, identity, hf_id: str, cat: Catalogue, *, indicator_ids: Sequence[str] = (), action=None,
                key: str = "new") -> None:
    """Add an action (``action`` None) or edit one, for a helsefellesskap the user may edit."""
    slot = f"action_{hf_id}_{key}"
    options = [i.id for i in cat.indicators]
    default_ids = list(action.indicator_ids) if action else [i for i in indicator_ids if i in options]
    statuses = list(STATUS_LABELS)
    with st.form(f"ssu_{slot}", border=False):
        title = st.text_input("Tiltak", value=action.title if action else "", key=f"{slot}_title")
        goal_text_ = st.text_input("Mål for tiltaket", value=action.goal_text if action else "", key=f"{slot}_goal")
        chosen = st.multiselect("Indikatorer tiltaket skal påvirke", options, default=default_ids,
                                format_func=lambda i: cat.indicator(i).short_name, key=f"{slot}_indicators")
        c1, c2, c3 = st.columns(3)
        owner = c1.text_input("Ansvarlig", value=action.owner if action else "", key=f"{slot}_owner")
        status = c2.selectbox("Gjennomføring", statuses, index=statuses.index(action.status) if action else 0,
                              format_func=STATUS_LABELS.get, key=f"{slot}_status")
        due = c3.text_input("Frist (dd.mm.åååå)", value=date_nb(action.due_date) if action else "", key=f"{slot}_due")
        c4, c5 = st.columns(2)
        sak = c4.text_input("Saksnummer i SSU", value=str(action.sak_number) if action else "", key=f"{slot}_sak")
        sak_date = c5.text_input("Vedtaksdato (dd.mm.åååå)", value=date_nb(action.sak_date) if action else "",
                                 key=f"{slot}_sak_date")
        submitted = st.form_submit_button("Lagre tiltaket" if action else "Legg til tiltaket", icon=":material/add_task:")
    expected = _seen_version(slot, action.version if action else None, submitted)
    if not submitted:
        return

    def save(holder):
        record = build(ssu.Action, helsefellesskap_id=hf_id, title=title.strip(), indicator_ids=tuple(chosen),
                       owner=owner.strip(), status=status, due_date=ssu.parse_date_nb(due, "due_date"),
                       sak_number=ssu.parse_sak_number(sak), sak_date=ssu.parse_date_nb(sak_date, "sak_date"),
                       goal_text=goal_text_.strip())
        if action is not None:
            record = dataclasses.replace(record, id=action.id)
        holder["record"] = record
        ssu.save_action(eng, record, by=identity.identity, expected_version=expected)

    if _write(save, f"Tiltaket «{title.strip()}» er lagret.", "action"):
        st.rerun()


def editor(hf_id: str, hf_name: str, cat: Catalogue, identity, *, default_year: int) -> None:
    """The redaktør's forms for one helsefellesskap: goal, assessment and actions for a chosen indicator."""
    eng = engine()
    st.subheader(f"Rediger for {hf_name}", anchor=False)
    options = [i.id for i in cat.indicators]
    ind = cat.indicator(st.selectbox("Indikator", options, format_func=lambda i: cat.indicator(i).name,
                                     key=f"ssu_indicator_{hf_id}"))
    goal_tab, assessment_tab, action_tab = st.tabs(["Mål", "Vurdering", "Tiltak"])
    with goal_tab:
        _goal_form(eng, identity, hf_id, ind, ssu.goals(eng, hf_id, ind.id), default_year)
    with assessment_tab:
        _assessment_form(eng, identity, hf_id, ind,
                         ssu.assessments(eng, hf_id, ind.id, include_drafts=True), str(default_year))
    with action_tab:
        existing = ssu.actions(eng, hf_id, ind.id)
        choices = [None] + [a.id for a in existing]
        by_id = {a.id: a for a in existing}
        picked = st.selectbox("Nytt eller eksisterende tiltak", choices, key=f"ssu_action_pick_{hf_id}_{ind.id}",
                              format_func=lambda i: "Nytt tiltak" if i is None else by_id[i].title)
        action_form(eng, identity, hf_id, cat, indicator_ids=[ind.id], action=by_id.get(picked),
                    key=f"new_{ind.id}" if picked is None else f"edit_{picked}")


def profile_section(hf_id: str, hf_name: str, cat: Catalogue, *, default_year: int) -> dict:
    """On the profile: the forms for a redaktør (internal app only). Returns what the group sections show."""
    identity = auth.current_identity()
    eng = engine()
    if auth.can_edit(identity, hf_id):
        st.header("Mål, vurderinger og tiltak", anchor="ssu", divider="gray")
        show_notice()
        conflict_panel(cat, identity)
        editor(hf_id, hf_name, cat, identity, default_year=default_year)
    elif identity is not None and not auth.can_read(identity, hf_id):
        st.caption(f"Du har ingen rolle for {hf_name}, så helsefellesskapets mål, vurderinger og tiltak vises ikke.")
    return {"identity": identity, "goals": visible_goals(eng, hf_id, identity),
            "assessments": visible_assessments(eng, hf_id, identity),
            "actions": visible_actions(eng, hf_id, identity)}


def actions_page(cat: Catalogue, names: dict[str, str], data_key) -> None:
    """«Tiltak og oppfølging»: every action the user may see, filterable and exportable; forms for editors."""
    if not layout.internal_feature("Tiltak og oppfølging"):
        return
    identity = auth.current_identity()
    eng = engine()
    show_notice()
    conflict_panel(cat, identity)
    actions = visible_actions(eng, None, identity)
    if auth.login_configured() and identity is None:
        st.info("Logg inn for å se helsefellesskapenes tiltak.", icon=":material/login:")
    c1, c2, c3 = st.columns(3)
    hf_ids = sorted({a.helsefellesskap_id for a in actions} | set(identity.roles if identity else ()))
    chosen_hf = c1.multiselect("Helsefellesskap", hf_ids, format_func=lambda h: names.get(h, h), key="tiltak_hf")
    chosen_status = c2.multiselect("Gjennomføring", list(STATUS_LABELS), format_func=STATUS_LABELS.get,
                                   key="tiltak_status")
    indicator_ids = sorted({i for a in actions for i in a.indicator_ids})
    chosen_indicator = c3.selectbox("Indikator", [None] + indicator_ids, key="tiltak_indicator",
                                    format_func=lambda i: "Alle indikatorer" if i is None else cat.indicator(i).short_name)
    shown = filter_actions(actions, helsefellesskap=chosen_hf, status=chosen_status, indicator=chosen_indicator)
    frame = actions_frame(shown, cat, names)
    st.caption(f"{len(shown)} av {len(actions)} tiltak.")
    if frame.height:
        st.dataframe(frame, hide_index=True, width="stretch", key="tiltak_table")
        ids = sorted({i for a in shown for i in a.indicator_ids})
        if ids:
            downloads.download_section(frame, ids, "tiltak", "tiltakene", stem="tiltak", data_key=data_key)
    else:
        st.info("Ingen tiltak å vise med disse valgene.")
    editable = [h for h in (identity.roles if identity else {}) if auth.can_edit(identity, h)]
    if not editable:
        return
    st.header("Legg til eller endre tiltak", anchor=False, divider="gray")
    hf_id = st.selectbox("Helsefellesskap", sorted(editable), format_func=lambda h: names.get(h, h),
                         key="tiltak_edit_hf")
    existing = ssu.actions(eng, hf_id)
    by_id = {a.id: a for a in existing}
    picked = st.selectbox("Nytt eller eksisterende tiltak", [None] + list(by_id), key=f"tiltak_pick_{hf_id}",
                          format_func=lambda i: "Nytt tiltak" if i is None else by_id[i].title)
    action_form(eng, identity, hf_id, cat, action=by_id.get(picked),
                key="page_new" if picked is None else f"page_edit_{picked}")
