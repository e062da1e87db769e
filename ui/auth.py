"""Who is using the internal app, and what they may do: Streamlit's OpenID Connect login.

The identity provider (HelseID, ID-porten, Entra ID, …) is configured in ``.streamlit/secrets.toml``
under ``[auth]`` (see the README). Without that section the app works as before: nobody logs in
and nothing can be written. In public mode (``PUBLIC_MODE=1``) there is never a login, no drafts
and no write path, whatever the secrets say.

The identity is the lower-cased e-mail address from the ID token, or its subject (``sub``) when the
provider sends no e-mail. Roles per helsefellesskap come from the store (``data_loaders.ssu``).
Tests may replace ``current_identity`` through ``IDENTITY_OVERRIDE_KEY`` in the session state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import streamlit as st

from data_loaders import ssu, store
from ui import layout

log = logging.getLogger("styring.auth")

IDENTITY_OVERRIDE_KEY = "_styring_test_identity"  # tests: an identity string used instead of st.user
ROLE_NAMES = {"leser": "leser", "redaktor": "redaktør", "administrator": "administrator"}


@dataclass(frozen=True)
class Identity:
    """A logged-in user: the identity string roles are keyed by, a name to show, and the roles."""

    identity: str
    display_name: str
    roles: dict[str, str] = field(default_factory=dict)


def login_configured() -> bool:
    """True when the internal app has an ``[auth]`` section in its secrets (never in public mode)."""
    if layout.public_mode():
        return False
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all, or one that cannot be read
        return False


def identity_of(user: dict) -> str:
    """The identity roles are keyed by: the e-mail address, else the subject, lower-cased and trimmed."""
    for claim in ("email", "sub"):
        value = user.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    return ""


def _engine():
    from ui import cache

    return store.get_engine(cache.data_key().database_url)


def current_identity() -> Identity | None:
    """The logged-in user with their roles, or None (public mode, no login configured, not logged in)."""
    if layout.public_mode():
        return None
    override = st.session_state.get(IDENTITY_OVERRIDE_KEY)
    if override:
        name = identity_of({"email": override})
        return Identity(name, name, ssu.roles_for(_engine(), name))
    if not login_configured():
        return None
    user = st.user.to_dict() if hasattr(st.user, "to_dict") else dict(st.user)
    if not user.get("is_logged_in"):
        return None
    name = identity_of(user)
    if not name:
        return None
    display = str(user.get("name") or name)
    return Identity(name, display, ssu.roles_for(_engine(), name))


def can_edit(identity: Identity | None, helsefellesskap_id: str) -> bool:
    """May this user write goals, assessments and actions for the helsefellesskap? Never in public mode."""
    return identity is not None and not layout.public_mode() and ssu.can_edit(identity.roles, helsefellesskap_id)


def can_read(identity: Identity | None, helsefellesskap_id: str) -> bool:
    """May this user see the helsefellesskap's goals, published assessments and actions?

    In public mode: no (only assessments the partnership marked public are shown there). In the
    internal app without a configured login: yes, read-only, as the rest of the internal app.
    With a login: only with a role for that helsefellesskap.
    """
    if layout.public_mode():
        return False
    if identity is None:
        return not login_configured()
    return ssu.can_read(identity.roles, helsefellesskap_id)


def roles_text(identity: Identity, names: dict[str, str]) -> str:
    """«redaktør for Troms og Ofoten, leser for Agder» (or «ingen roller»)."""
    parts = [f"{ROLE_NAMES.get(role, role)} for {names.get(hf, hf)}" for hf, role in sorted(identity.roles.items())]
    return ", ".join(parts) or "ingen roller ennå"


def account_bar(data_key) -> Identity | None:
    """Login or logout at the top of every page of the internal app; returns the identity.

    Draws nothing in public mode or when no login is configured.
    """
    if not login_configured():
        return None
    from ui import cache

    hf = cache.helsefellesskap(data_key)
    names = dict(zip(hf["helsefellesskap_id"].to_list(), hf["kortnavn"].to_list()))
    identity = current_identity()
    left, right = st.columns([5, 1], vertical_alignment="center")
    if identity is None:
        left.caption("Du er ikke logget inn. Logg inn for å se og skrive helsefellesskapets mål, vurderinger og tiltak.")
        if right.button("Logg inn", key="auth_login", icon=":material/login:"):
            st.login()
        return None
    left.caption(f"Logget inn som **{identity.display_name}** ({roles_text(identity, names)}).")
    if right.button("Logg ut", key="auth_logout", icon=":material/logout:"):
        st.logout()
    return identity
