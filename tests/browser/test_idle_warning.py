"""The warning before the idle limit ends a session (base.html, static/js/samvirke.js)."""

import pytest

from .conftest import login

pytestmark = pytest.mark.browser


def test_the_idle_warning_appears_before_the_limit_and_staying_keeps_the_session(
    page, demo, settings
):
    # A 12-second limit: the warning comes 2 seconds before it (a sixth, at most 5 minutes).
    settings.SESSION_IDLE_SECONDS = 12
    login(page, demo, "koordinator")
    page.goto(demo + "/kontakter/")
    warning = page.locator("#idle-warning")
    assert warning.is_hidden()

    warning.wait_for(state="visible", timeout=15_000)
    assert warning.get_attribute("role") == "alert"
    page.click("#idle-warning-form button")
    warning.wait_for(state="hidden", timeout=5_000)

    # The session is alive: the next page opens without a login.
    page.goto(demo + "/kontakter/")
    assert "/accounts/login/" not in page.url
    assert page.problems == []
