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
pooled "2023-2025"), ``year``, ``level``, ``area``, ``scope``, ``colour``, ``target``, ``kommune``.

Around every page ``dashboard.py`` calls ``begin_run`` and ``check_param_names`` (unknown names)
before it and ``unused_params`` (known names the view had no use for) after it. Every URL value
repeated in a message goes through ``echo``: short, one line, and inert as Markdown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_MESSAGES_KEY = "_url_messages"
_READ_KEY = "_url_read"  # the parameters the page read in this run
_SYNCED_KEY = "_url_synced"  # the URL the page last wrote
_FROM_OUTSIDE_KEY = "_url_from_outside"  # this run started from a URL the page did not write
_SHARED_PREFIX = "_shared_"
_PERIOD_RE = re.compile(r"^\s*(\d{4})\s*(?:[-–]\s*(\d{4}))?\s*$", re.ASCII)
_YEAR_RE = re.compile(r"^\s*(\d{4})\s*$", re.ASCII)
ECHO_LIMIT = 40  # characters of a URL value repeated back in a message

# Neuter nouns among the ``what`` of ``seed`` ("et ukjent årstall", not "en ukjent årstall"), by
# ending, so compounds follow their last part: kartnivå, konfidensnivå, fargevalg, visningsvalg.
NEUTER_ENDINGS = ("helsefellesskap", "fylke", "nivå", "årstall", "valg", "område")


def article(what: str, adjective: str) -> str:
    """``"et ukjent fylke"``, ``"en ukjent indikator"``, ``"et tomt årstall"``: the indefinite article and
    the adjective in the gender of ``what`` (the last word decides: "prioritert gruppe" is feminine/common)."""
    neuter = bool(what) and what.split()[-1].endswith(NEUTER_ENDINGS)
    if not neuter:
        return f"en {adjective} {what}"
    form = {"tom": "tomt", "ugyldig": "ugyldig", "ukjent": "ukjent"}.get(adjective, adjective)
    return f"et {form} {what}"

# The URL parameters of each page (README, "URL parameters"); anything else is reported and dropped.
PAGE_PARAMS: dict[str, frozenset[str]] = {
    "oversikt": frozenset({"group", "indicator", "period", "level", "colour", "area", "konf"}),
    "pasientgrupper": frozenset({"group", "cohort", "area", "year", "indicator", "konf"}),
    "helsefellesskap": frozenset({"area", "year", "indicator", "large", "level", "konf"}),
    "kommuner": frozenset({"scope", "area", "group", "indicator", "period", "colour", "level", "konf", "kommune"}),
    "pakkeforlop": frozenset({"level", "area", "target", "year"}),
    "om_dataene": frozenset({"indicator"}),
}


def echo(value: object) -> str:
    """A URL value made safe to repeat in a message: control and format characters removed (no
    line breaks or right-to-left tricks), at most ``ECHO_LIMIT`` characters, and shown as inline
    code, where Markdown does not apply: no links (not even bare web addresses), images, HTML,
    headings, colours or formulas."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(value))
    text = " ".join(text.split())
    if len(text) > ECHO_LIMIT:
        text = text[: ECHO_LIMIT - 1].rstrip() + "…"
    if not text:
        return "` `"
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def begin_run() -> dict[str, str]:
    """Start tracking which parameters the page reads; returns the URL parameters the run starts with."""
    incoming = st.query_params.to_dict()
    st.session_state[_READ_KEY] = set()
    # The URL came from outside (a link, a bookmark, an edited address) unless the page wrote it.
    st.session_state[_FROM_OUTSIDE_KEY] = incoming != st.session_state.get(_SYNCED_KEY)
    return incoming


def raw(param: str) -> str | None:
    """The URL value of ``param``, or None when it is absent or given more than once with
    different values (then a message says so and the default is used)."""
    st.session_state.setdefault(_READ_KEY, set()).add(param)
    values = st.query_params.get_all(param)
    if not values:
        return None
    if len(set(values)) > 1:
        warn(f"Lenken inneholder {echo(param)} flere ganger med ulike verdier. Viser standardvalget i stedet.")
        return None
    return str(values[-1])


def check_param_names(page: str) -> None:
    """Report URL parameters that the page does not know (they are dropped when the URL is rewritten)."""
    allowed = PAGE_PARAMS.get(page)
    if allowed is None:
        return
    unknown = [name for name in st.query_params if name not in allowed]
    for name in unknown[:5]:
        warn(f"Lenken inneholder en ukjent parameter: {echo(name)}. Den blir ikke brukt.")
    if len(unknown) > 5:
        warn(f"Lenken inneholder {len(unknown)} ukjente parametere. De blir ikke brukt.")


def unused_params(incoming: dict[str, str], page: str) -> list[str]:
    """Messages for known parameters of a link that the page did not read in this run because the
    view has no use for them (e.g. ``area`` when the Kommuner page shows the whole country).

    Only for a URL that came from outside: when the run started from the URL the page wrote
    itself, the page's choices (not the URL) decide and nothing is reported.
    """
    if not st.session_state.get(_FROM_OUTSIDE_KEY, True):
        return []
    read = st.session_state.get(_READ_KEY, set())
    allowed = PAGE_PARAMS.get(page, frozenset())
    return [f"Lenken inneholder {echo(f'{name}={value}')}, som ikke brukes i denne visningen."
            for name, value in incoming.items() if name in allowed and name not in read]


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
    if text is not None and text.strip() == "":
        warn(f"Lenken inneholder {article(what, 'tom')}. Viser {describe(default)} i stedet.")
    elif text is not None:
        try:
            parsed = parse(text)
        except (TypeError, ValueError, LookupError, OverflowError):
            parsed = None
        if parsed is not None and parsed in options:
            value = parsed
        else:
            warn(f"Lenken inneholder {article(what, 'ukjent')}: {echo(text)}. Viser {describe(default)} i stedet.")
    st.session_state[key] = value
    return value


def seed_number(key: str, param: str, default: float, *, minimum: float, maximum: float, what: str) -> float:
    """Like ``seed`` for a number input within [minimum, maximum]."""
    if key in st.session_state:
        return st.session_state[key]
    value = float(default)
    text = raw(param)
    if text is not None:
        try:
            if not re.fullmatch(r"\s*\d{1,6}(?:[.,]\d{1,6})?\s*", text, re.ASCII):
                raise ValueError(text)
            parsed = float(text.replace(",", "."))
            if not minimum <= parsed <= maximum:
                raise ValueError(text)
            value = parsed
        except ValueError:
            shown = echo(text) if text.strip() else "en tom verdi"
            warn(f"Lenken inneholder {article(what, 'ugyldig')}: {shown}. Bruker {format_plain(default)} i stedet.")
    st.session_state[key] = value
    return value


def format_plain(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def sync_url(params: dict[str, Any]) -> None:
    """Make the URL hold exactly these parameters (None values are left out)."""
    wanted = {k: _to_text(v) for k, v in params.items() if v is not None}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[_SYNCED_KEY] = wanted


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
    """``"2024"`` -> 2024; anything but four ASCII digits: ValueError."""
    match = _YEAR_RE.match(str(text))
    if not match:
        raise ValueError(f"not a year: {text!r}")
    return int(match.group(1))


# --- shared choices between pages -------------------------------------------------------------


def remember(name: str, value: Any) -> None:
    """Remember a choice (e.g. the indicator) so another page can start from it."""
    st.session_state[_SHARED_PREFIX + name] = value


def remembered(name: str, fallback: Any) -> Any:
    return st.session_state.get(_SHARED_PREFIX + name, fallback)
