"""Playwright: logging in through a real OpenID Connect provider and the SSU's work on the profile.

A mock OIDC provider (``oidc-provider-mock``) runs on loopback in this process; the dashboard is served
by ``streamlit run`` with a temporary ``secrets.toml`` (``--secrets.files``) pointing at it, on a private
copy of the demo store with roles set through ``data_loaders.ssu``. In headless Chromium:

(a) a redaktør for Troms og Ofoten sets a goal for SP1, writes and publishes an assessment and adds an action;
(b) a leser for Troms og Ofoten sees them and gets no forms;
(c) a redaktør for Agder sees none of it and cannot edit it;
(d) the public deployment (``PUBLIC_MODE=1``, same store and secrets) shows no login and none of it.

One server per mode; each user logs in once in their own browser context.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import CHROMIUM, browser, serve, streamlit_command, wait_until_idle, worker_log  # noqa: F401 (fixture)
from test_app_ssu import EDITOR, HF, READER, SP1, STRANGER, store_with_roles

from data_loaders import ssu, store

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium")]

PROFILE = f"/helsefellesskap?area={HF}"
ASSESSMENT = "Kartleggingen i sykehuset må følges opp <b>sammen</b> med kommunene."
ACTION = "Felles rutine for kartlegging etter diagnose"
TIMEOUT = 300_000


@pytest.fixture(scope="module")
def oidc_provider():
    mock = pytest.importorskip("oidc_provider_mock")
    with mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def login_store(demo_database_url, tmp_path_factory) -> str:
    """A private copy of the demo store with the roles, every indicator computed once for the
    helsefellesskap level (the profile's numbers; the served app reads them from the shared disk cache)."""
    import indicators

    url = store_with_roles(demo_database_url, tmp_path_factory.mktemp("login-store"))
    key = indicators.current_key(url)
    for ind in indicators.load_catalogue().indicators:
        indicators.compute(ind.id, "helsefellesskap", key=key)
    return url


def _with_secrets(folder, provider: str):
    """``streamlit run`` on a port, with a secrets.toml for that port written first."""
    def command(port: int) -> list[str]:
        secrets = folder / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "test-cookie-secret-that-is-long-enough-0123456789"\n'
            'client_id = "styring"\nclient_secret = "hemmelig"\n'
            f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
        return [*streamlit_command(port), "--secrets.files", str(secrets)]
    return command


@pytest.fixture(scope="module")
def internal_server(login_store, oidc_provider, tmp_path_factory):
    folder = tmp_path_factory.mktemp("internal-secrets")
    with serve({"DATABASE_URL": login_store, "STYRING_WARM_UP": "0", "PUBLIC_MODE": "0"},
               worker_log("streamlit-login"), command=_with_secrets(folder, oidc_provider)) as base:
        yield base


def _logged_in(browser, base: str, identity: str):
    """A page of a fresh browser context, logged in as ``identity`` through the provider's form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.goto(base + "/tiltak")
    page.get_by_role("button", name="Logg inn").click(timeout=120_000)
    page.wait_for_selector('input[name="sub"]', timeout=60_000)  # the provider's login form
    page.fill('input[name="sub"]', identity)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(base) + r"/?(\?.*)?$"), timeout=60_000)
    return context, page


def _open_profile(page, base: str) -> None:
    page.goto(base + PROFILE)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=TIMEOUT)
    page.get_by_text("Logget inn som", exact=False).first.wait_for(timeout=60_000)
    wait_until_idle(page, TIMEOUT)


def _visible(page, label: str):
    return page.get_by_label(label, exact=True).filter(visible=True)


def _submit(page, button: str, expected: str) -> None:
    page.get_by_role("button", name=button).filter(visible=True).click()
    page.get_by_text(expected, exact=False).first.wait_for(timeout=TIMEOUT)
    wait_until_idle(page, TIMEOUT)


def _body(page) -> str:
    return page.locator("body").inner_text()


def test_editor_reader_and_stranger(internal_server, browser, login_store):
    base = internal_server
    engine = store.get_engine(login_store)
    # (a) the redaktør
    context, page = _logged_in(browser, base, EDITOR)
    try:
        _open_profile(page, base)
        assert "redaktør for Troms og Ofoten" in _body(page)
        chooser = page.locator('[data-testid="stSelectbox"] input[aria-label="Indikator"]')
        chooser.click()
        chooser.fill("samhandlingspunkt 1")
        page.keyboard.press("Enter")
        wait_until_idle(page, TIMEOUT)
        _visible(page, "Målverdi (%)").fill("85")
        _visible(page, "Nås innen år").fill("2027")
        _visible(page, "Saksnummer i SSU").fill("12")
        _visible(page, "Vedtaksdato (dd.mm.åååå)").fill("03.03.2025")
        _submit(page, "Lagre målet", "er lagret")
        page.get_by_role("tab", name="Vurdering").filter(visible=True).first.click()
        page.get_by_label(re.compile(r"^Vurdering \(Markdown")).fill(ASSESSMENT)
        _submit(page, "Lagre utkast", "ikke publisert")
        _submit(page, "Publiser vurderingen", "er publisert")
        page.get_by_role("tab", name="Tiltak").filter(visible=True).first.click()
        page.get_by_role("textbox", name="Tiltak", exact=True).fill(ACTION)  # (the tab panel has the same name)
        _visible(page, "Ansvarlig").fill("Kreftkoordinator og UNN")
        _visible(page, "Frist (dd.mm.åååå)").fill("31.12.2025")
        _visible(page, "Saksnummer i SSU").fill("12")
        _visible(page, "Vedtaksdato (dd.mm.åååå)").fill("03.03.2025")
        _submit(page, "Legg til tiltaket", "er lagret")
        body = _body(page)
        assert "Mål: 85,0 % innen 2027" in body and ACTION in body
        assert "<b>sammen</b>" in body  # the HTML in the text is shown as text, not rendered
        assert page.locator('[data-testid="stMarkdownContainer"] b', has_text="sammen").count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()
    [goal] = ssu.goals(engine, HF)
    assert (goal.indicator_id, goal.target, goal.updated_by) == (SP1, 85.0, EDITOR)
    assert [a.status for a in ssu.assessments(engine, HF, SP1)] == ["publisert"]
    assert [a.title for a in ssu.actions(engine, HF)] == [ACTION]

    # (b) the leser sees them and has no forms
    context, page = _logged_in(browser, base, READER)
    try:
        _open_profile(page, base)
        body = _body(page)
        assert "leser for Troms og Ofoten" in body
        assert "Mål: 85,0 % innen 2027" in body and ACTION in body and "<b>sammen</b>" in body
        for control in ("Lagre målet", "Lagre utkast", "Publiser vurderingen", "Legg til tiltaket"):
            assert page.get_by_role("button", name=control).count() == 0, control
        assert "Rediger for" not in body
    finally:
        context.close()

    # (c) a redaktør for another helsefellesskap: no forms, and the internal content is not shown
    context, page = _logged_in(browser, base, STRANGER)
    try:
        _open_profile(page, base)
        body = _body(page)
        assert "ingen rolle for Troms og Ofoten" in body
        assert ACTION not in body and "sammen med kommunene" not in body and "Mål: 85,0 %" not in body
        assert page.get_by_role("button", name="Lagre målet").count() == 0
    finally:
        context.close()


def test_public_deployment_shows_none_of_it(login_store, oidc_provider, browser, tmp_path_factory):
    engine = store.get_engine(login_store)
    if not ssu.actions(engine, HF) and not ssu.goals(engine, HF):  # when run alone: the editor's content
        from test_app_ssu import add_ssu_content

        add_ssu_content(engine)
    folder = tmp_path_factory.mktemp("public-secrets")
    with serve({"DATABASE_URL": login_store, "STYRING_WARM_UP": "0", "PUBLIC_MODE": "1"},
               worker_log("streamlit-login-public"), command=_with_secrets(folder, oidc_provider)) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        try:
            page.goto(base + PROFILE)
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=TIMEOUT)
            wait_until_idle(page, TIMEOUT)
            body = _body(page)
            assert page.get_by_role("button", name="Logg inn").count() == 0 and "Logget inn" not in body
            for internal in (ACTION, "Internt tiltak", "sammen med kommunene", "Publisert intern vurdering", "Hemmelig utkast",
                             "Mål: 85,0 %", "Rediger for"):
                assert internal not in body, internal
            assert page.locator("textarea").count() == 0
            assert page.get_by_role("button", name=re.compile("^(Lagre|Legg til|Publiser)")).count() == 0
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            page.close()
