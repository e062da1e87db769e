"""Public mode (``PUBLIC_MODE=1``): the read-only deployment for everyone.

* Setting: ``PUBLIC_MODE`` and ``STYRING_PUBLIC`` both switch it on; a typo is an error.
* No uploads, imports, administration or debugging: checked in the source (any such call must sit
  behind ``ui.layout.internal_feature``) and in every rendered page.
* No HTML built from data without escaping: every page on a store whose names are HTML.
* Every URL parameter of every page validated: hostile values give a Norwegian message and the
  default view, never a traceback, and what is echoed back is short and inert.
* The shipped production configuration (``deploy/``) sets what it must, and a served app run with
  it shows no error details, sets the XSRF cookie, refuses cross-origin reads and runs under the
  documented Content-Security-Policy.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import free_port, serve, worker_log
from ui_helpers import PAGES, PROJECT_ROOT, app, assert_clean, page_text, warm_engine, warnings_text

from data_loaders.config import load_settings, settings
from ui import state

__all__ = ["warm_engine"]

DEPLOY = PROJECT_ROOT / "deploy"
PRODUCTION_TOML = DEPLOY / "streamlit-public.toml"
NGINX_CONF = DEPLOY / "nginx-styring.conf"
CHROMIUM = Path("/usr/bin/chromium")
# Without nginx the test rewrites the page's response to add the CSP; such a page has no known address
# space, so Chromium's local network access checks would block its WebSocket to 127.0.0.1.
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-features=LocalNetworkAccessChecks"]


@pytest.fixture
def public(monkeypatch):
    """Public mode for one test (the settings are re-read before and after)."""
    monkeypatch.delenv("STYRING_PUBLIC", raising=False)
    monkeypatch.setenv("PUBLIC_MODE", "1")
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()


# --- the setting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("env, expected", [
    ({}, False),
    ({"PUBLIC_MODE": "1"}, True),
    ({"STYRING_PUBLIC": "1"}, True),
    ({"PUBLIC_MODE": "true"}, True),
    ({"PUBLIC_MODE": "0"}, False),
    ({"PUBLIC_MODE": "0", "STYRING_PUBLIC": "1"}, True),  # either one switches it on
])
def test_public_mode_setting(monkeypatch, tmp_path, env, expected):
    monkeypatch.setenv("STYRING_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("PUBLIC_MODE", "STYRING_PUBLIC"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert load_settings().public_mode is expected


def test_public_mode_from_the_toml_file_and_typos(monkeypatch, tmp_path):
    config = tmp_path / "styring.toml"
    config.write_text("public_mode = true\n")
    monkeypatch.setenv("STYRING_CONFIG", str(config))
    for name in ("PUBLIC_MODE", "STYRING_PUBLIC"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings().public_mode is True
    monkeypatch.setenv("PUBLIC_MODE", "kanskje")
    with pytest.raises(ValueError, match="PUBLIC_MODE"):
        load_settings()


# --- no uploads, imports, administration or debugging -----------------------------------------------

# Calls that upload, import, administer or debug: Streamlit widgets and views (``st.<name>``),
# the store's writers (any ``<x>.<name>`` or ``<name>``), shell and code execution.
STREAMLIT_CALLS = {"file_uploader", "camera_input", "audio_input", "chat_input", "data_editor", "exception", "echo",
                   "help", "json", "write_stream"}
PROJECT_CALLS = {"import_files", "init_store", "build_demo_store", "create_schema", "drop_schema", "write_frame",
                 "write_reference", "replace_mapping"}
OTHER_CALLS = {"os.system", "os.popen", "eval", "exec"}
INTERNAL_MODULES = ("data_loaders.importers", "data_loaders.demo", "data_loaders.__main__", "subprocess",
                    "indicators.__main__", "streamlit.components")
GATE = "internal_feature"


def _mentions_gate(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and GATE in ast.unparse(n.func) for n in ast.walk(node))


def _ends_the_block(body: list[ast.stmt]) -> bool:
    last = body[-1]
    return isinstance(last, ast.Return | ast.Raise) or (
        isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and ast.unparse(last.value.func) == "st.stop")


def ungated_internal_uses(source: str) -> list[str]:
    """Uses of ``INTERNAL_CALLS``/``INTERNAL_MODULES`` not behind ``internal_feature(...)``: inside
    ``if ...internal_feature(...):``, or after ``if not ...internal_feature(...): return`` in the
    same block."""
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}

    def gated(node: ast.AST) -> bool:
        child, parent = node, parents.get(node)
        while parent is not None:
            if isinstance(parent, ast.If) and child in parent.body and _mentions_gate(parent.test) \
                    and not isinstance(parent.test, ast.UnaryOp):
                return True
            for field in ("body", "orelse", "finalbody"):
                block = getattr(parent, field, None)
                if isinstance(block, list) and child in block:
                    for earlier in block[: block.index(child)]:
                        if isinstance(earlier, ast.If) and isinstance(earlier.test, ast.UnaryOp) \
                                and isinstance(earlier.test.op, ast.Not) and _mentions_gate(earlier.test) \
                                and _ends_the_block(earlier.body):
                            return True
            child, parent = parent, parents.get(parent)
        return False

    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            last = called.rsplit(".", 1)[-1]
            if (called.startswith(("st.", "streamlit.")) and last in STREAMLIT_CALLS) or last in PROJECT_CALLS \
                    or called in OTHER_CALLS:
                name = called
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            name = next((m for m in modules if m.startswith(INTERNAL_MODULES)), None)
        if name is not None and not gated(node):
            found.append(f"line {node.lineno}: {name}")
    return found


def test_the_checker_finds_ungated_uses_and_accepts_gated_ones():
    assert ungated_internal_uses("import streamlit as st\nst.file_uploader('Fil')\n") == ["line 2: st.file_uploader"]
    assert ungated_internal_uses("store.write_frame(conn, table, frame)\n") == ["line 1: store.write_frame"]
    assert ungated_internal_uses("log.exception('x')\nstate.echo(v)\n") == []  # not Streamlit's
    assert ungated_internal_uses("from data_loaders.importers import import_files\n")
    gated = (
        "def admin():\n"
        "    if not layout.internal_feature('Import'):\n"
        "        return\n"
        "    from data_loaders.importers import import_files\n"
        "    import_files(st.file_uploader('Fil'))\n"
        "if layout.internal_feature('Feilsøking'):\n"
        "    st.json({})\n"
    )
    assert ungated_internal_uses(gated) == []
    assert ungated_internal_uses("if not layout.internal_feature('x'):\n    st.exception(e)\n")


def test_pages_and_ui_reach_internal_features_only_through_the_gate():
    files = [PROJECT_ROOT / "dashboard.py", *sorted((PROJECT_ROOT / "app_pages").glob("*.py")),
             *sorted((PROJECT_ROOT / "ui").glob("*.py"))]
    assert len(files) > 10
    problems = {str(f.relative_to(PROJECT_ROOT)): ungated_internal_uses(f.read_text()) for f in files}
    assert not {k: v for k, v in problems.items() if v}


FORBIDDEN_ELEMENTS = ("file_uploader", "camera_input", "audio_input", "chat_input", "help_info", "json", "exception",
                      "iframe", "component_instance", "bidi_component")


@pytest.mark.usefixtures("warm_engine", "public")
@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_public_mode_is_read_only(page):
    at = app(page, {"area": "troms-ofoten"} if page in ("helsefellesskap", "pakkeforlop") else None)
    assert_clean(at)
    for kind in FORBIDDEN_ELEMENTS:
        assert not at.get(kind), kind
    assert all(df.proto.editing_mode == 0 for df in at.get("dataframe"))  # no st.data_editor
    assert not [b for b in at.button if "presentasjon" in str(b.label).lower()]
    text = page_text(at)
    for leak in ("sqlite", "DATABASE_URL", "STYRING_", str(PROJECT_ROOT), "Teknisk detalj"):
        assert leak not in text, leak
    if page == "helsefellesskap":
        assert "finnes bare i den interne versjonen" in text


def test_public_mode_has_no_login_drafts_or_write_path(demo_database_url, tmp_path, monkeypatch):
    """Even with a configured identity provider and a logged-in editor, the public app shows no login, no
    goals, drafts, internal assessments or actions, offers no form, and the store refuses writes."""
    from streamlit.testing.v1 import AppTest
    from test_app_ssu import AUTH, EDITOR, HF, SCRIPT, SP1, add_ssu_content, store_with_roles

    from data_loaders import ssu, store

    url = store_with_roles(demo_database_url, tmp_path)
    add_ssu_content(store.get_engine(url))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PUBLIC_MODE", "1")
    settings.cache_clear()
    try:
        at = AppTest.from_string(SCRIPT, default_timeout=120)
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": EDITOR}
        at.run()
        assert not at.exception
        shown = page_text(at)
        for internal in ("Publisert intern vurdering", "Hemmelig utkast", "Internt tiltak", "Mål: 85"):
            assert internal not in shown, internal
        assert not at.button and not at.text_input and not at.text_area
        with pytest.raises(ssu.SsuReadOnlyError):
            ssu.save_goal(store.get_engine(url), ssu.Goal(HF, SP1, 90.0, "higher_is_better", 2027, 13,
                                                          ssu.parse_date_nb("03.03.2025")), by=EDITOR)
        # The whole app (on a page that computes little): no login button and no logout.
        at = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=300)
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": EDITOR}
        at.switch_page("app_pages/om_dataene.py")
        at.run()
        assert_clean(at)
        assert not [b for b in at.button if b.label in ("Logg inn", "Logg ut")]
        assert "Logget inn" not in page_text(at)
    finally:
        monkeypatch.undo()
        settings.cache_clear()


# --- HTML from data ---------------------------------------------------------------------------------

HOSTILE_NAME = '<img src=x onerror="alert(1)">'
# Plotly shows unknown tags as text, but a name with <a href="https://..."> would become a link: names are escaped.


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory, warm_engine) -> str:
    """A copy of the demo store whose kommune, fylke, helsefellesskap and helseforetak names are HTML."""
    path = tmp_path_factory.mktemp("hostile") / "hostile.sqlite"
    shutil.copyfile(warm_engine.removeprefix("sqlite:///"), path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE kommune SET kommunenavn = kommunenavn || ?", (HOSTILE_NAME,))
        conn.execute("UPDATE fylke SET fylkesnavn = fylkesnavn || ?", (HOSTILE_NAME,))
        conn.execute("UPDATE helsefellesskap SET helsefellesskap_navn = helsefellesskap_navn || ?, "
                     "kortnavn = kortnavn || ?, helseforetak = helseforetak || ?, rhf = rhf || ?",
                     (HOSTILE_NAME,) * 4)
    return f"sqlite:///{path}"


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _raw_html_from_data(at) -> list[str]:
    """Rendered HTML (st.html, HTML-enabled markdown, Plotly text) that contains the hostile tag unescaped."""
    html = [h.value for h in at.html]
    html += [m.value for m in at.markdown if getattr(m.proto, "allow_html", False)]
    html += [s for el in at.get("plotly_chart") for s in _strings(json.loads(el.proto.spec))]
    return [h for h in html if "<img src=x" in h]


@pytest.mark.parametrize("page, params", [
    ("oversikt", {"area": "troms-ofoten"}),
    ("oversikt", {"level": "kommune"}),
    ("kommuner", {"scope": "fylke", "area": "55", "indicator": "eldre_reinnleggelse_30d_67"}),
    ("pakkeforlop", {"area": "troms-ofoten"}),
    ("pakkeforlop", {}),
    ("om_dataene", {}),
])
def test_names_from_the_store_are_escaped(monkeypatch, hostile_store, page, params):
    monkeypatch.setenv("DATABASE_URL", hostile_store)
    monkeypatch.setenv("STYRING_WARM_UP", "0")
    settings.cache_clear()
    try:
        at = app(page, params)
        assert_clean(at)
        shown = [h.value for h in at.html] + [m.value for m in at.markdown]
        shown += [s for el in at.get("plotly_chart") for s in _strings(json.loads(el.proto.spec))]
        assert any("onerror" in s for s in shown) or page == "om_dataene"  # the names are shown ...
        assert _raw_html_from_data(at) == []  # ... but only as text
    finally:
        monkeypatch.undo()
        settings.cache_clear()


@pytest.mark.usefixtures("warm_engine")
def test_profile_html_escapes_the_helsefellesskap_name():
    """The Helsefellesskap page's HTML (summary and spine tables), with a hostile short name."""
    import indicators
    from ui import spine

    key = indicators.current_key()
    cat = indicators.load_catalogue()
    profile = indicators.profile("troms-ofoten", None, key=key)
    html = spine.profile_summary(profile, HOSTILE_NAME)
    html += "".join(spine.spine_table(profile, cat, g.id, HOSTILE_NAME, HOSTILE_NAME) for g in cat.groups)
    assert "&lt;img src=x" in html and "<img src=x" not in html


# --- URL parameters -----------------------------------------------------------------------------------

LONG = "x" * 5000
SCRIPT = "<script>alert(1)</script>"
LINK = "[Logg inn her](https://phishing.example/login) ![](https://tracker.example/p.gif) $x^2$ :red[rød]"
SQL = "' OR 1=1; DROP TABLE kommune; --"
UNICODE = "Trøndelag \u202egnp.exe ✓ 𝟚𝟘𝟚𝟜"  # a right-to-left override and mathematical digits

PARAMS = {page: sorted(names) for page, names in state.PAGE_PARAMS.items()}


def _default_widgets() -> dict[str, dict]:
    """Widget key -> its default value, per page (what a link without parameters shows)."""
    import indicators

    sp1 = indicators.load_catalogue().indicator("kreft_sp1_behovskartlegging")
    return {
        # the map colours by significance by default (issue 16: one colour meaning per screen)
        "oversikt": {"ov_level": "helsefellesskap", "ov_colour": "significance", "ov_area": None},
        "helsefellesskap": {"large_text": False},
        "pasientgrupper": {"pg_group": "barn_og_unge", "pg_konf": "95"},
        "kommuner": {"ko_scope": "land", "ko_colour": "significance"},
        "pakkeforlop": {"pf_level": "helsefellesskap", "pf_area": None, "pf_target": float(sp1.target.value)},
        "om_dataene": {"om_indicator": None},
    }


VARIANTS = {
    "script": lambda name: SCRIPT,
    "markdown": lambda name: LINK,
    "long": lambda name: LONG,
    "sql": lambda name: SQL,
    "unicode": lambda name: UNICODE,
    "empty": lambda name: "",
    "repeated": lambda name: ["a", "b"],
    "out_of_range": lambda name: {"year": "1850", "target": "250", "period": "1850-1852"}.get(name, "9" * 40),
}


@pytest.mark.usefixtures("warm_engine")
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("variants", [("script", "markdown", "long"), ("sql", "unicode", "empty"),
                                      ("repeated", "out_of_range", "script")], ids=["inject", "odd", "malformed"])
def test_hostile_url_values_give_a_message_and_the_default_view(page, variants):
    """Every parameter of the page at once, each with one of the hostile values (rotating)."""
    sent = {name: VARIANTS[variants[i % len(variants)]](name) for i, name in enumerate(PARAMS[page])}
    at = app(page, sent)
    assert_clean(at)
    messages = [str(w.value) for w in at.warning]
    # A message for every parameter (a bad value, or no use for it in the view shown), each short,
    # and without live Markdown or HTML.
    assert len([m for m in messages if m.startswith("Lenken")]) >= len(sent), messages
    for message in messages:
        assert len(message) < 400, message
        live = re.sub(r"(`+).*?\1", "", message)  # outside inline code, where Markdown would apply
        for construct in ("<", "[", "](", "https://", "$", "#", "www."):
            assert construct not in live, (construct, message)
        assert "x" * 50 not in message
    for widget, default in _default_widgets()[page].items():
        assert at.session_state[widget] == default, widget
    # The URL is rewritten to the view shown: none of the hostile values survive.
    for name, value in at.query_params.items():
        assert value not in (SCRIPT, LINK, LONG, SQL, UNICODE, "", ["a", "b"]), (name, value)


@pytest.mark.usefixtures("warm_engine")
@pytest.mark.parametrize("page, params, fragment", [
    # 2023-2025 is no pooled period of SP3 (too few years), though it is one for other indicators.
    ("oversikt", {"indicator": "kreft_sp3_behovskartlegging", "period": "2023-2025"}, "ukjent periode"),
    ("helsefellesskap", {"year": "abc"}, "ukjent årstall"),
    ("helsefellesskap", {"year": "２０２４"}, "ukjent årstall"),  # only ASCII digits
    ("pakkeforlop", {"year": "abc", "target": "-5"}, "ugyldig målverdi"),
    ("kommuner", {"scope": "fylke", "area": "0301; DELETE"}, "ukjent fylke"),
    ("om_dataene", {"indicator": "barn_bup_kontakt", "foo": "bar"}, "ukjent parameter: `foo`"),
    ("oversikt", {"indicator": ["barn_bup_kontakt", "eldre_oh_innleggelser_80"]}, "flere ganger"),
    ("kommuner", {"area": "55"}, "som ikke brukes i denne visningen"),  # the default scope is the whole country
])
def test_specific_bad_values(page, params, fragment):
    at = app(page, params)
    assert_clean(at)
    assert fragment in warnings_text(at)


def test_echo_is_short_and_inert():
    assert len(state.echo(LONG)) <= state.ECHO_LIMIT + 2 and "…" in state.echo(LONG)
    assert state.echo("a\nb\u202ec") == "`a b c`"  # no line breaks or direction overrides
    assert state.echo("[x](https://e.example)") == "`[x](https://e.example)`"  # code: no link
    assert state.echo("a`b") == "``a`b``" and state.echo("`") == "`` ` ``"  # a backtick cannot end the code
    assert state.echo("Tromsø") == "`Tromsø`"


# --- the production configuration ---------------------------------------------------------------------


def test_production_config_sets_what_public_mode_needs():
    with PRODUCTION_TOML.open("rb") as fh:
        config = tomllib.load(fh)
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] in ("viewer", "minimal")
    assert config["client"]["showErrorLinks"] is False
    server = config["server"]
    assert server["enableXsrfProtection"] is True and server["enableCORS"] is True
    assert server["maxUploadSize"] == 1
    assert server["headless"] is True
    assert server["address"] == "127.0.0.1"
    assert server["enableStaticServing"] is False
    assert server["enableAgentApi"] is False and server["scriptHealthCheckEnabled"] is False
    assert server["fileWatcherType"] == "none" and server["runOnSave"] is False
    assert config["browser"]["gatherUsageStats"] is False
    assert config["runner"]["fastReruns"] is True and config["runner"]["magicEnabled"] is False


def test_every_production_setting_is_a_known_streamlit_option():
    from streamlit import config as st_config

    options = st_config.get_config_options()
    with PRODUCTION_TOML.open("rb") as fh:
        config = tomllib.load(fh)
    for section, values in config.items():
        for name in values:
            assert f"{section}.{name}" in options, f"{section}.{name}"


def test_the_launcher_passes_every_setting_and_public_mode():
    result = subprocess.run([sys.executable, str(DEPLOY / "run_public.py"), "--print", "--port", "9999"],
                            capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    line = result.stdout.strip()
    assert line.startswith("PUBLIC_MODE=1 ") and "streamlit run" in line and "dashboard.py" in line
    with PRODUCTION_TOML.open("rb") as fh:
        config = tomllib.load(fh)
    for section, values in config.items():
        for name, value in values.items():
            if (section, name) == ("server", "port"):
                value = 9999
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            assert f"--{section}.{name}={text}" in line, f"{section}.{name}"


def test_nginx_example_proxies_the_websocket_with_security_headers_and_limits():
    conf = NGINX_CONF.read_text()
    stream = re.search(r"location = /_stcore/stream \{(.*?)\}", conf, re.DOTALL).group(1)
    assert "proxy_set_header Upgrade $http_upgrade" in stream and "$connection_upgrade" in stream
    assert "proxy_set_header Host $http_host" in stream
    for header in ("Content-Security-Policy", "X-Content-Type-Options \"nosniff\"", "Referrer-Policy",
                   "X-Frame-Options", "Strict-Transport-Security"):
        assert f"add_header {header}" in conf, header
    assert "frame-ancestors 'none'" in _csp() and "object-src 'none'" in _csp()
    assert re.search(r"limit_req_zone .* rate=\d+r/s", conf) and "limit_req zone=" in conf
    assert "limit_conn styring_conn" in conf
    assert "location ^~ /_stcore/upload_file" in conf
    assert "server 127.0.0.1:8501" in conf


needs_nginx = pytest.mark.skipif(shutil.which("nginx") is None or shutil.which("openssl") is None,
                                 reason="nginx or openssl is not installed")


def _nginx_config(folder: Path, *, listen_port: int | None = None, app_port: int | None = None) -> Path:
    """The example as a complete nginx.conf in ``folder``: a throwaway certificate, and (for a test
    server) the TLS server on ``listen_port`` of 127.0.0.1 in front of Streamlit on ``app_port``."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-days", "1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    site = NGINX_CONF.read_text().replace("/etc/ssl/styring/fullchain.pem", str(cert)).replace(
        "/etc/ssl/styring/privkey.pem", str(key))
    if listen_port is not None:
        site = re.sub(r"server \{\s*listen 80;.*?\n\}\n", "", site, count=1, flags=re.DOTALL)  # no port-80 redirect
        site = re.sub(r"listen 443 ssl http2;.*\n", f"listen 127.0.0.1:{listen_port} ssl http2;\n", site)
        site = re.sub(r"\s*listen \[::\]:443 ssl http2;", "", site)
        site = site.replace("server 127.0.0.1:8501;", f"server 127.0.0.1:{app_port};")
    temp = "".join(f"{kind}_temp_path {folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = folder / "nginx.conf"
    config.write_text(("user root;\n" if os.geteuid() == 0 else "") + f"pid {folder}/nginx.pid;\n"
                      f"error_log {folder}/error.log;\nevents {{}}\nhttp {{\naccess_log {folder}/access.log;\n"
                      f"{temp}{site}\n}}\n")
    return config


@needs_nginx
def test_nginx_example_is_valid(tmp_path):
    config = _nginx_config(tmp_path)
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def _csp(host: str = "$http_host", websocket: str = "wss") -> str:
    csp = re.search(r'add_header Content-Security-Policy "([^"]+)"', NGINX_CONF.read_text()).group(1)
    return csp.replace("wss://$http_host", f"{websocket}://{host}")


# --- a served app with the production configuration ------------------------------------------------------


def _public_command(port: int) -> list[str]:
    return [sys.executable, str(DEPLOY / "run_public.py"), "--port", str(port)]


@pytest.fixture(scope="module")
def public_server(warm_engine):
    with serve({"DATABASE_URL": warm_engine, "STYRING_WARM_UP": "0"}, worker_log("streamlit-public"),
               command=_public_command) as base:
        yield base


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _request(url: str, *, method: str = "GET", headers: dict | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_served_public_app_protects_its_endpoints(public_server):
    status, headers = _request(f"{public_server}/_stcore/health", headers={"Origin": "https://evil.example"})
    assert status == 200
    assert "_streamlit_xsrf=" in (headers.get("Set-Cookie") or "")  # XSRF protection is on
    assert headers.get("Access-Control-Allow-Origin") in (None, "")  # no cross-origin reads (CORS on)
    # The script health check (which runs the app for anyone) is off: the path is just the page.
    status, headers = _request(f"{public_server}/_stcore/script-health-check")
    assert headers.get("Content-Type", "").startswith("text/html")
    # An upload without the XSRF token is refused.
    assert _request(f"{public_server}/_stcore/upload_file/s/f", method="PUT")[0] == 403


def _wait_idle(page, timeout_ms: int = 300_000) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


@pytest.fixture(scope="module")
def front(public_server, tmp_path_factory):
    """The public app as a browser reaches it: through the example nginx configuration (TLS, headers,
    limits, WebSocket) when nginx is installed, else directly (the test then adds the CSP itself)."""
    if shutil.which("nginx") is None or shutil.which("openssl") is None:
        yield public_server, False
        return
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    config = _nginx_config(folder, listen_port=port, app_port=int(public_server.rsplit(":", 1)[1]))
    process = subprocess.Popen(["nginx", "-p", str(folder), "-c", str(config), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"https://127.0.0.1:{port}"
    import ssl

    unverified = ssl._create_unverified_context()
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2, context=unverified):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"nginx did not start: {(folder / 'error.log').read_text()[-2000:]}")
            time.sleep(0.2)
    yield base, True
    process.terminate()
    process.wait(timeout=15)


def test_served_public_app_under_the_csp_with_a_hostile_link(front, chromium):
    """The documented Content-Security-Policy and proxy do not break the app (charts, map, styles,
    WebSocket), and a link carrying script, Markdown links, bare web addresses, formulas and unknown
    parameters only produces messages."""
    from urllib.parse import urlencode

    base, through_nginx = front
    page = chromium.new_page(viewport={"width": 1400, "height": 1000}, ignore_https_errors=True)
    dialogs, errors, headers = [], [], {}
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: headers.update(r.headers) if r.request.resource_type == "document" else None)
    page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation',"
                         " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
    if not through_nginx:
        csp = _csp(base.removeprefix("http://"), "ws")

        def with_csp(route):
            if route.request.resource_type != "document":
                return route.continue_()
            response = route.fetch()
            route.fulfill(response=response, headers={**response.headers, "content-security-policy": csp})

        page.route("**/*", with_csp)
    query = urlencode({"indicator": "<script>alert('x')</script>", "group": LINK, "area": "troms-ofoten",
                       "colour": "https://phishing.example/a www.phishing.example", "level": "$x^2$ :red[rød]",
                       "debug": "1"})
    try:
        page.goto(f"{base}/?{query}")
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=300_000)
        page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=120_000)
        _wait_idle(page)
        warnings = " ".join(page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts())
        assert "ukjent indikator" in warnings and "ukjent prioritert gruppe" in warnings
        assert "ukjent parameter" in warnings and "debug" in warnings
        assert "phishing.example" in warnings and ":red[rød]" in warnings  # shown as text ...
        assert page.locator('[data-testid="stAlertContentWarning"] .katex').count() == 0  # no formula
        assert page.locator('a[href*="phishing.example"], img[src*="tracker.example"]').count() == 0  # ... only
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.evaluate("window.__csp") == []
        assert not dialogs and not errors
        # Our CSS applies (inline styles are allowed): the banner is a styled block.
        assert page.evaluate("getComputedStyle(document.querySelector('.demo-banner')).display") != "inline"
        if through_nginx:
            assert "content-security-policy" in headers and headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] and headers["x-frame-options"] == "DENY"
    finally:
        page.close()


def test_an_error_shows_no_details_in_the_browser(chromium):
    """A misconfigured server (an invalid suppression threshold makes every run fail before the page)
    gives the browser a generic message: no exception type, message, traceback or file path, not even
    in the WebSocket messages."""
    log_path = worker_log("streamlit-public-error")
    frames: list[bytes] = []
    with serve({"STYRING_SUPPRESSION_THRESHOLD": "0", "STYRING_WARM_UP": "0"}, log_path, command=_public_command) as base:
        page = chromium.new_page()
        page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda payload: frames.append(payload if isinstance(payload, bytes) else payload.encode())))
        try:
            page.goto(base + "/kommuner")
            page.wait_for_selector('[data-testid="stException"]', timeout=60_000)
            _wait_idle(page)
            shown = page.locator('[data-testid="stException"]').inner_text()
            body = page.locator("body").inner_text()
        finally:
            page.close()
    log_text = log_path.read_text()
    assert "suppression_threshold must be at least 1" in log_text  # the operators see it in the log
    leaks = ("Traceback", "ValueError", "suppression_threshold", 'File "', "line ")
    for leak in (*leaks, str(PROJECT_ROOT)):
        assert leak not in shown and leak not in body, leak
    sent = b"".join(frames)  # (they hold the script's path: Streamlit sends it with every new session)
    assert frames
    for leak in leaks:
        assert leak.encode() not in sent, leak
    assert "error" in shown.lower()  # Streamlit's generic message
