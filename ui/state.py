"""Page state in the URL query parameters, so that a link reopens the same view.

Pattern used by every page::

    value = state.seed("ov_indicator", "indicator", options, default, what="indikator")
    st.selectbox("Indikator", options, key="ov_indicator")
    ...
    state.sync_url({"indicator": st.session_state.ov_indicator, ...})

``seed`` validates the URL value on the first run (or when the widget has been reset) and
puts it into the widget's session state; a bad value gives a friendly Norwegian message and
the default. ``sync_url`` writes every parameter of the page back, so links are complete.

Parameter names (shared by the pages): ``group``, ``indicator``, ``period`` ("2024" or a
pooled "2023-2025"), ``year``, ``level``, ``area``, ``scope``, ``colour``, ``target``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_MESSAGES_KEY = "_url_messages"
_SHARED_PREFIX = "_shared_"
_PERIOD_RE = re.compile(r"^\s*(\d{4})\s*(?:[-–]\s*(\d{4}))?\s*$")


def raw(param: str) -> str | None:
    """The URL value of ``param`` (the last one if repeated), or None."""
    value = st.query_params.get(param)
    if value is None:
        return None
    return str(value)


def warn(message: str) -> None:
    """Queue a friendly message about the URL, shown by ``show_messages``."""
    messages = st.session_state.setdefault(_MESSAGES_KEY, [])
    if message not in messages:
        messages.append(message)


def show_messages() -> None:
    """Show (and forget) the queued URL messages."""
    for message in st.session_state.pop(_MESSAGES_KEY, []):
        st.warning(message, icon=":material/link_off:")


def seed(
    key: str,
    param: str,
    options: Sequence[Any],
    default: Any,
    *,
    what: str,
    parse: Callable[[str], Any] = str,
    describe: Callable[[Any], str] = str,
) -> Any:
    """Put a valid value for the widget ``key`` into session state before the widget is drawn.

    On the first run of the page the URL parameter ``param`` wins if it is one of ``options``;
    an invalid one gives a message and ``default``. Later runs keep the user's choice, unless
    it is no longer an option (e.g. the group changed), when ``default`` is used.
    """
    options = list(options)
    if default not in options and options:
        default = options[0]
    if key in st.session_state:
        if st.session_state[key] not in options:
            st.session_state[key] = default
        return st.session_state[key]
    value = default
    text = raw(param)
    if text is not None and text != "":
        try:
            parsed = parse(text)
        except (TypeError, ValueError, LookupError):
            parsed = None
        if parsed in options:
            value = parsed
        else:
            warn(f"Lenken inneholder en ukjent {what}: «{text}». Viser {describe(default)} i stedet.")
    st.session_state[key] = value
    return value


def seed_number(key: str, param: str, default: float, *, minimum: float, maximum: float, what: str) -> float:
    """Like ``seed`` for a number input within [minimum, maximum]."""
    if key in st.session_state:
        return st.session_state[key]
    value = float(default)
    text = raw(param)
    if text:
        try:
            parsed = float(text.replace(",", "."))
            if not minimum <= parsed <= maximum:
                raise ValueError
            value = parsed
        except ValueError:
            warn(f"Lenken inneholder en ugyldig {what}: «{text}». Bruker {format_plain(default)} i stedet.")
    st.session_state[key] = value
    return value


def format_plain(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def sync_url(params: dict[str, Any]) -> None:
    """Make the URL hold exactly these parameters (None values are left out)."""
    wanted = {k: _to_text(v) for k, v in params.items() if v is not None}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return period_text(value)
    return str(value)


# --- periods --------------------------------------------------------------------------------


def parse_period(text: str) -> tuple[int, int]:
    """``"2024"`` -> (2024, 2024); ``"2023-2025"`` -> (2023, 2025); anything else: ValueError."""
    match = _PERIOD_RE.match(str(text))
    if not match:
        raise ValueError(f"not a period: {text!r}")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    if end < start:
        raise ValueError(f"period ends before it starts: {text!r}")
    return (start, end)


def period_text(period: tuple[int, int]) -> str:
    return str(period[0]) if period[0] == period[1] else f"{period[0]}-{period[1]}"


def period_label(period: tuple[int, int]) -> str:
    if period[0] == period[1]:
        return str(period[0])
    return f"{period[0]}–{period[1]} (samlet over {period[1] - period[0] + 1} år)"


def parse_year(text: str) -> int:
    return int(str(text).strip())


# --- shared choices between pages -------------------------------------------------------------


def remember(name: str, value: Any) -> None:
    """Remember a choice (e.g. the indicator) so another page can start from it."""
    st.session_state[_SHARED_PREFIX + name] = value


def remembered(name: str, fallback: Any) -> Any:
    return st.session_state.get(_SHARED_PREFIX + name, fallback)
