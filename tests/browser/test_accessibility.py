"""WCAG 2.1 A/AA on every page of every role's journey, in Danish and in English (issue 7).

Each page is checked with axe-core (vendored, pinned) for the wcag2a, wcag2aa, wcag21a and
wcag21aa rules, and for the structure axe does not check by those tags: the page language,
the title ("Visitation - Samvirke"), one h1, the main landmark and the skip link. A form's
error state is reached by sending it empty; the error summary must then have the focus.
"""

import pytest

from .axe import axe_violations, format_violations
from .conftest import LANGUAGES, ROLES, add_filler_referrals, login, switch_language
from .journeys import Step, anonymous_journey, journey

pytestmark = pytest.mark.browser

# Roles whose lists page: they get enough referrals for a page 2.
PAGED_ROLES = {"visitator", "forstekontakt"}

STRUCTURE = """() => ({
  lang: document.documentElement.lang,
  title: document.title,
  h1: document.querySelectorAll("h1").length,
  main: document.querySelectorAll("main#main-content").length,
  skip: !!document.querySelector("a.skipnav[href='#main-content']"),
  statement: !!document.querySelector("footer a[href$='/tilgaengelighed/']"),
  focus: document.activeElement ? document.activeElement.id : "",
})"""


def check_page(page, base_url: str, step: Step, language: str, seen: set) -> list[str]:
    """Open the step's page (and its error state), run the checks, return the problems."""
    where = f"{step.label} ({step.path})"
    response = page.goto(base_url + step.path)
    problems = []
    if response is None or response.status != step.status:
        got = response.status if response else "no response"
        problems.append(f"{where}: HTTP {got}, expected {step.status}")
    if not step.submit:
        if page.url in seen:  # "/" redirects to the start page, which has its own step
            return problems
        seen.add(page.url)
    if step.submit:
        for selector, text in step.fill.items():
            page.fill(selector, text)
        for selector, value in step.select.items():
            page.select_option(selector, value)
        for selector, path in step.files.items():
            page.set_input_files(selector, path)
        with page.expect_navigation():
            page.click(step.submit)
        where = f"{step.label} after sending ({step.path})"
    facts = page.evaluate(STRUCTURE)
    if facts["lang"] != language:
        problems.append(f"{where}: <html lang={facts['lang']!r}>, expected {language!r}")
    if not facts["title"].endswith(" - Samvirke") or facts["title"].startswith(" - "):
        problems.append(f"{where}: title {facts['title']!r} does not say where you are")
    if facts["h1"] != 1:
        problems.append(f"{where}: {facts['h1']} h1 elements, expected 1")
    if facts["main"] != 1 or not facts["skip"]:
        problems.append(f"{where}: main landmark or skip link missing")
    if not facts["statement"]:
        problems.append(f"{where}: no link to the accessibility statement in the footer")
    if step.submit and step.expect_errors and facts["focus"] != "error-summary":
        problems.append(
            f"{where}: focus on #{facts['focus'] or '(none)'}, not on the error summary"
        )
    problems += format_violations(where, axe_violations(page))
    return problems


def run_journey(page, base_url: str, steps: list[Step], language: str) -> None:
    problems, seen = [], set()
    for step in steps:
        problems += check_page(page, base_url, step, language, seen)
    problems += page.problems
    assert not problems, f"{len(steps)} pages checked, problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("username", ROLES)
def test_role_journey_has_no_wcag_violations(axe_page, demo, username, language):
    if username in PAGED_ROLES:
        add_filler_referrals()
    steps = journey(username)
    login(axe_page, demo, username, language)
    run_journey(axe_page, demo, steps, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_anonymous_pages_have_no_wcag_violations(axe_page, site, language):
    axe_page.goto(site + "/accounts/login/")
    if language != "da":
        switch_language(axe_page, language)
    run_journey(axe_page, site, anonymous_journey(), language)


def test_dkfds_styles_and_scripts_load(page, site):
    """The design system really arrives from live_server: a broken static setup would make
    every axe run above meaningless (unstyled pages have other contrasts)."""
    page.goto(site + "/accounts/login/")
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "IBM Plex Sans" in font, font
    background = page.evaluate(
        "getComputedStyle(document.querySelector('.button-primary')).backgroundColor"
    )
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
    assert page.evaluate("typeof window.DKFDS") == "object"
    assert page.evaluate("document.fonts.check('16px \"IBM Plex Sans\"')")
    assert not page.problems, page.problems


def test_axe_reports_what_it_should(axe_page, site):
    """The checks above pass only if axe really runs: break the login page on purpose."""
    axe_page.goto(site + "/accounts/login/")
    axe_page.evaluate(
        """() => {
          document.querySelector("main").insertAdjacentHTML(
            "beforeend", '<img src="x.png"><h4>Skipped levels</h4><input type="text">');
        }"""
    )
    found = {v["id"] for v in axe_violations(axe_page)}
    assert {"image-alt", "heading-order", "label"} <= found, found
