"""Screenshots of each role's start page and case page at 320 and 1280 CSS px (issue 7), for a
person to look at, in tests/browser/screenshots/ (not committed). Every page shot must answer
200 (after its redirects), and at 320 px the page itself must not scroll sideways (WCAG 1.4.10
reflow); a wide table scrolls in its own region.

Standalone, for a look after a change:
  SAMVIRKE_TESTING=1 .venv/bin/pytest tests/browser/test_screenshots.py -q -p no:cacheprovider
"""

import pytest

from .conftest import ROLES, SCREENSHOTS, login

pytestmark = pytest.mark.browser

WIDTHS = [1280, 320]

# Page width against the viewport, and which elements stick out past the right edge.
OVERFLOW = """() => {
  const root = document.documentElement;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > root.clientWidth + 1 && !el.closest(".table--responsive-scroll")) {
      out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
        + (el.className && typeof el.className === "string" ? "." + el.className.trim()
        .split(/\\s+/).join(".") : ""));
    }
  }
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, out: out.slice(0, 8)};
}"""


def pages_for(username: str) -> dict[str, str]:
    """The start page, and the richest case page the user can see, if any."""
    from django.contrib.auth import get_user_model

    from cases.access import cases_visible_to
    from cases.models import CaseState

    user = get_user_model().objects.get(username=username)
    pages = {"start": "/"}
    visible = cases_visible_to(user)
    case = (
        visible.filter(state=CaseState.ACTIVE).order_by("pk").first()
        or visible.order_by("pk").first()
    )
    if case is not None:
        pages["case"] = case.get_absolute_url()
    if username in ("koordinator", "politi"):
        # The police case of the demo, with its incident log and action plan.
        shared = visible.filter(incidents__isnull=False).order_by("pk").first()
        if shared is not None:
            pages["logskema"] = f"{shared.get_absolute_url()}logskema/"
            pages["handleplan"] = f"{shared.get_absolute_url()}handleplan/"
    if username == "forstekontakt":
        pages["referral-errors"] = "/henvisninger/ny/?errors"
    return pages


def reflow_problem(page, label: str) -> str | None:
    facts = page.evaluate(OVERFLOW)
    if facts["scrollWidth"] > facts["clientWidth"]:
        return (
            f"{label}: page scrolls sideways at 320 px "
            f"(scrollWidth {facts['scrollWidth']} > {facts['clientWidth']}): {facts['out']}"
        )
    return None


def status_problem(response, label: str) -> str | None:
    """A screenshot of an error page (a 404, a 500, a login form) looks fine and checks nothing."""
    if response is None:
        return f"{label}: no response"
    if response.status != 200:
        return f"{label}: HTTP {response.status} at {response.url}"
    return None


def test_screenshots_and_reflow(browser, demo):
    """One test for all roles (one database, one context each): cheap enough to run always."""
    SCREENSHOTS.mkdir(exist_ok=True)
    problems = []
    for username in ROLES:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        login(page, demo, username)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for name, path in pages_for(username).items():
                response = page.goto(demo + path.replace("?errors", ""))
                if path.endswith("?errors"):
                    with page.expect_navigation() as sent:
                        page.click("main form.samvirke-form button.button-primary")
                    response = sent.value
                if problem := status_problem(response, f"{username} {name} {width}"):
                    problems.append(problem)
                shot = SCREENSHOTS / f"{username}-{name}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                if width == 320 and (problem := reflow_problem(page, f"{username} {name}")):
                    problems.append(problem)
        context.close()
        problems += [f"{username}: JS error {e}" for e in errors]
    assert not problems, "\n".join(problems)
