"""Browser tests: the real app on pytest-django's live_server, driven by Debian's chromium.

One chromium for the whole session (starting it is the slow part); a fresh context (cookies,
language) per test. Each test gets the demo data from `seed_demo`, because live_server needs
`transactional_db`, which empties the database after every test.

Run: SAMVIRKE_TESTING=1 .venv/bin/pytest tests/browser -q -p no:cacheprovider
"""

import datetime
import os
import shutil
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.test.utils import override_settings

# Playwright's sync API runs an event loop in this thread; Django's ORM would refuse to run in
# it. The test thread only reads and seeds, the app itself runs in live_server's own thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = HERE / "screenshots"
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "demo"
# Every demo user, in the order of the case flow; "admin" holds no role in the cooperation.
ROLES = ["forstekontakt", "visitator", "koordinator", "politi", "dsc", "folgegruppe", "admin"]
LANGUAGES = ["da", "en"]
# Extra referrals, so that the lists that page (the visitator's queue, the first contact's
# referrals, the visitator's own cases) have a page 2. The page size is 25.
FILLER_REFERRALS = 26
FILLER_PREFIX = "Testborger"


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip(
            "chromium not found on PATH: install Debian's package (apt-get install chromium); "
            "Playwright's own browser download is not used"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    playwright = sync_api.sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(scope="session")
def plain_http_settings():
    """The production defaults redirect to https and mark cookies secure; live_server speaks
    plain http. SecurityMiddleware reads its settings once, when live_server starts, so this
    must be in force before it does (see the live_server override below)."""
    with override_settings(
        SECURE_SSL_REDIRECT=False,
        SECURE_HSTS_SECONDS=0,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
    ):
        yield


@pytest.fixture(scope="session")
def live_server(plain_http_settings, live_server):
    return live_server


@pytest.fixture
def fast_passwords(settings):
    # The demo's 9 users get their password hashed on every seed; PBKDF2 would cost seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def site(live_server, django_db_serialized_rollback):
    """The live server's base URL, without the demo data (for pages nobody logs in to).

    live_server empties the database after each test; serialized rollback puts back what the
    migrations load (the stalking package's default tool content) before the next one."""
    return live_server.url


# seed_demo runs the real services, PDF rendering included: seconds. It runs once per session;
# later tests get its rows back from this snapshot (Django's own test serializer).
_SEEDED: dict[str, str] = {}


@pytest.fixture
def demo(site, fast_passwords):
    """The demo cooperation: organisations, one user per role, cases in every state.
    Returns the live server's base URL."""
    from django.db import connection

    if "snapshot" not in _SEEDED:
        with override_settings(DEBUG=True):  # seed_demo refuses to run without DEBUG
            call_command("seed_demo", stdout=StringIO())
        _SEEDED["snapshot"] = _exact_snapshot(connection)
    else:
        _restore(connection, _SEEDED["snapshot"])
        _assert_incident_logs_intact()
    return site


def _assert_incident_logs_intact() -> None:
    from cases.models import Case
    from stalkingpakke.incident_log import verify_chain

    for case in Case.objects.filter(incidents__isnull=False).distinct():
        assert verify_chain(case).intact, f"restored demo: {case.reference}'s log reads as changed"


class _ExactTimes(DjangoJSONEncoder):
    """Django's JSON keeps milliseconds only; the incident log's hash chain covers its
    timestamps to the microsecond, so a restored log would read as changed."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            return o.isoformat()
        return super().default(o)


def _exact_snapshot(connection) -> str:
    with mock.patch("django.core.serializers.json.DjangoJSONEncoder", _ExactTimes):
        return connection.creation.serialize_db_to_string()


def _restore(connection, snapshot: str) -> None:
    from django.apps import apps
    from django.core.management.color import no_style

    # Empty every table first, content types included: the serialized rollback has already put
    # back the migrations' rows, and on PostgreSQL their ids need not match the snapshot's.
    call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
    connection.creation.deserialize_db_from_string(snapshot)
    # Rows came back with their ids: move the id sequences past them (PostgreSQL; a no-op
    # on SQLite), as loaddata does, so that new rows made by a test do not collide.
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def add_filler_referrals(count: int = FILLER_REFERRALS) -> None:
    """More referrals from the first contact to Esbjerg, so the visitator's queue and cases
    and the first contact's referrals have a page 2 (page size 25). About a second: only the
    tests that page ask for it."""
    from django.contrib.auth import get_user_model

    from cases import services
    from cooperation.models import Organisation

    first = get_user_model().objects.get(username="forstekontakt")
    esbjerg = Organisation.objects.get(code="ESB")
    for number in range(1, count + 1):
        services.refer(
            actor=first,
            municipality=esbjerg,
            full_name=f"{FILLER_PREFIX} {number:02d}",
            safe_contact="Kun sms",
            reason="Endnu en henvisning, så listen får en side 2.",
        )


@pytest.fixture
def context(browser):
    # The app's Content-Security-Policy stays in force (no bypass_csp): a template that slips
    # in an inline script or style shows up below as a CSP error. axe is injected through
    # add_init_script, which CSP does not govern.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A page that records what a user would not see but should not happen: static files that
    fail to load, CSP refusals and JavaScript errors. `page.problems` lists them."""
    page = context.new_page()
    page.problems = []

    def on_response(response):
        if "/static/" in response.url and response.status >= 400:
            page.problems.append(f"static file {response.status}: {response.url}")

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            page.problems.append(f"CSP on {page.url}: {message.text}")

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: page.problems.append(f"JS error on {page.url}: {error}"))
    yield page
    assert not page.problems, "\n".join(page.problems)


@pytest.fixture
def axe_page(page):
    """A page with axe-core in every document it loads. Registered once, injected by chromium
    itself: three times faster than add_script_tag per page, which sends the 650 kB each time."""
    page.context.add_init_script(path=str(AXE_JS))
    return page


def login(page, base_url: str, username: str, language: str = "da") -> None:
    """Log in through the login form. The language is switched with the footer form first,
    as a user would, so the login page itself is seen in that language too."""
    page.goto(f"{base_url}/accounts/login/")
    if language != "da":
        switch_language(page, language)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form.samvirke-form button[type=submit]")
    assert "/accounts/login/" not in page.url, f"login failed for {username}"


def switch_language(page, language: str) -> None:
    page.select_option("#language-select", language)
    with page.expect_navigation():
        page.click("form.samvirke-language button[type=submit]")
    assert page.evaluate("document.documentElement.lang") == language
