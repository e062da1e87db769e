"""A small JSON-over-HTTP client for SSB's public APIs.

Plain ``urllib`` on purpose: the two APIs are a handful of GET requests returning JSON, and the
maintained clients get in the way. ``pxwebpy`` does speak PxWebApi v2 and batches by itself, but
it returns flattened rows and hides its batches: we need SSB's own JSON-stat2 for the existing
validated import, and must count the requests, check each answer against what it asked for and
name the one that failed. ``ssb-klass-python`` brings pandas and ``requests`` for what is six
GET requests here. Every failure becomes a :class:`FetchError` naming the request.
"""

from __future__ import annotations

import json
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from data_loaders.fetch.errors import FetchError

DEFAULT_TIMEOUT = 60.0
USER_AGENT = "styringsinformasjon-helsefellesskap/1.0 (+data_loaders.fetch)"


def print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_url(base: str, path: str, params: dict[str, str] | None = None) -> str:
    """``base`` + ``path`` with query parameters; brackets and commas are kept readable."""
    url = base.rstrip("/") + "/" + path.lstrip("/")
    if params:
        url += "?" + urllib.parse.urlencode(params, safe="[],*")
    return url


@dataclass
class JsonClient:
    """GET JSON with a timeout; counts the requests it made (``requests``)."""

    timeout: float = DEFAULT_TIMEOUT
    progress: Callable[[str], None] = print_progress
    requests: list[str] = field(default_factory=list)

    def get_json(self, url: str, label: str) -> object:
        """The parsed JSON body of ``url``; ``label`` names the request in errors ("forespørsel 2/5 …")."""
        self.requests.append(url)
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise FetchError(_http_error_message(exc, label, url)) from None
        except (TimeoutError, socket.timeout):
            raise FetchError(
                f"{label}: fikk ikke svar innen {self.timeout:g} sekunder (tidsavbrudd). Tjenesten kan være "
                f"overbelastet; prøv igjen senere. Adresse: {url}"
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise FetchError(
                    f"{label}: fikk ikke svar innen {self.timeout:g} sekunder (tidsavbrudd). Adresse: {url}"
                ) from None
            raise FetchError(f"{label}: får ikke kontakt med tjenesten ({reason}). Har maskinen internett? "
                             f"Adresse: {url}") from None
        except (ConnectionError, OSError) as exc:
            raise FetchError(f"{label}: forbindelsen ble brutt ({exc}). Adresse: {url}") from None
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            start = body[:80].decode("utf-8", "replace").replace("\n", " ")
            raise FetchError(
                f"{label}: svaret er ikke gyldig JSON ({getattr(exc, 'msg', exc)}); svaret begynner med «{start}». "
                f"Adresse: {url}"
            ) from None


def _http_error_message(exc: urllib.error.HTTPError, label: str, url: str) -> str:
    detail = ""
    try:
        text = exc.read().decode("utf-8", "replace")
        try:
            doc = json.loads(text)
            if isinstance(doc, dict):  # RFC 7807 problem details (PxWebApi v2) or KLASS's error object
                detail = str(doc.get("detail") or doc.get("title") or doc.get("message") or doc.get("error") or "")
        except json.JSONDecodeError:
            detail = text.strip()[:200]
    except OSError:
        pass
    detail = f" Tjenesten sa: «{detail}»." if detail else ""
    status = exc.code
    if status == 429:
        what = "for mange forespørsler på kort tid (HTTP 429); vent et minutt og prøv igjen."
    elif status == 404:
        what = "fant ikke ressursen (HTTP 404): tabellen eller klassifikasjonen finnes ikke på denne adressen."
    elif 400 <= status < 500:
        what = f"tjenesten avviste forespørselen (HTTP {status})."
    else:
        what = f"feil hos tjenesten (HTTP {status}); prøv igjen senere."
    return f"{label}: {what}{detail} Adresse: {url}"
