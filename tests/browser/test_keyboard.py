"""Keyboard only (issue 7): the referral form is filled in and sent with Tab, typing, Space and
Enter; a refused form moves focus to the error summary, keeps what was typed, and its links
lead to the fields. Every stop on the way shows where the focus is."""

import pytest

from .conftest import login

pytestmark = pytest.mark.browser

ACTIVE_ID = "document.activeElement ? document.activeElement.id : ''"

# Where the focus is, and whether it can be seen: an outline or a box-shadow on the element.
FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const visible = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
    || style.boxShadow !== "none";
  return {tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || el.value || "")
    .trim().slice(0, 40), visible};
}"""


def tab_to(page, element_id: str, limit: int = 80) -> list[dict]:
    """Press Tab until the element has focus; return every stop passed on the way."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE)
        stops.append(state)
        if state and state["id"] == element_id:
            return stops
    raise AssertionError(f"Tab never reached #{element_id}; stops: {stops}")


def tab_to_submit(page, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement.matches('main form.samvirke-form button[type=submit]')"
        ):
            return
    raise AssertionError("Tab never reached the submit button")


def test_referral_form_with_the_keyboard_alone(page, demo):
    from cases.models import Case, ConsentPartner, ConsentScope, Relation, Urgency

    login(page, demo, "forstekontakt")
    page.goto(demo + "/henvisninger/ny/")
    before = Case.objects.count()

    # First attempt: the name is forgotten. Everything else typed must survive the refusal.
    tab_to(page, "id_safe_contact")
    page.keyboard.type("Kun sms til 20 30 40 50")
    tab_to(page, "id_reason")
    page.keyboard.type("Eksmanden venter uden for arbejdet hver dag.")
    tab_to(page, "id_relation")
    page.keyboard.type("Tidligere")  # type-ahead in a closed select picks "Tidligere partner"
    tab_to(page, "id_children_in_household")
    page.keyboard.press("Space")
    tab_to(page, "id_consents_0")
    page.keyboard.press("Space")
    tab_to_submit(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.evaluate(ACTIVE_ID) == "error-summary", "focus did not move to the error summary"
    assert Case.objects.count() == before
    assert page.input_value("#id_safe_contact") == "Kun sms til 20 30 40 50"
    assert page.input_value("#id_reason") == "Eksmanden venter uden for arbejdet hver dag."
    assert page.input_value("#id_relation") == Relation.EX_PARTNER
    assert page.is_checked("#id_children_in_household")
    assert page.is_checked("#id_consents_0")
    assert page.get_attribute("#id_full_name", "aria-invalid") == "true"
    assert "id_full_name-error" in page.get_attribute("#id_full_name", "aria-describedby")

    # From the summary, the first link leads to the field in error.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#id_full_name"
    page.keyboard.press("Enter")
    assert page.evaluate(ACTIVE_ID) == "id_full_name", "the error link did not focus the field"
    page.keyboard.type("Mette Sørensen")
    tab_to_submit(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.url.endswith("/henvisninger/"), page.url
    assert page.locator("[role=status]").count() == 1
    case = Case.objects.order_by("-pk").first()
    assert Case.objects.count() == before + 1
    assert case.full_name == "Mette Sørensen"
    assert case.safe_contact == "Kun sms til 20 30 40 50"
    assert case.relation == Relation.EX_PARTNER
    assert case.urgency == Urgency.NORMAL
    assert case.children_in_household is True
    assert case.consents.filter(partner=ConsentPartner.POLICE, scope=ConsentScope.CONTACT).exists()


def test_refused_form_focuses_the_error_summary(page, demo):
    """Sent empty with Enter from the first field: focus on the summary, which lists the
    errors as links to the fields."""
    login(page, demo, "forstekontakt")
    page.goto(demo + "/henvisninger/ny/")
    tab_to(page, "id_full_name")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # implicit submission from a text field
    assert page.evaluate(ACTIVE_ID) == "error-summary"
    links = page.eval_on_selector_all(
        "#error-summary a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert {"#id_full_name", "#id_safe_contact", "#id_reason"} <= set(links), links


@pytest.mark.parametrize("path", ["/henvisninger/ny/", "case"])
def test_focus_is_visible_on_every_stop(page, demo, path):
    """Tab through the whole page: each control shows a focus indicator."""
    from cases.models import Case

    login(page, demo, "visitator")
    if path == "case":
        path = Case.objects.get(full_name="Mette Sørensen").get_absolute_url()
    page.goto(demo + path)
    hidden, seen = [], set()
    for _ in range(150):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE)
        if state is None:
            break
        key = (state["tag"], state["id"], state["text"])
        if key in seen:  # wrapped around
            break
        seen.add(key)
        if not state["visible"]:
            hidden.append(state)
    assert len(seen) > 10, seen
    assert not hidden, f"no visible focus on: {hidden}"


def test_mobile_menu_with_the_keyboard(axe_page, demo):
    """At 320 px DKFDS folds the menu and the user into a drawer behind "Menu": it opens with
    Enter, moves focus into itself, holds the links and "Log af", and Escape closes it."""
    from .axe import axe_violations, format_violations

    page = axe_page
    page.set_viewport_size({"width": 320, "height": 700})
    login(page, demo, "visitator")
    assert not page.is_visible(".navigation-menu .mainmenu")
    for _ in range(5):  # skip link, logo, then the menu button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('js-menu-open')"):
            break
    else:
        raise AssertionError("Tab never reached the Menu button")
    assert page.get_attribute(".js-menu-open", "aria-expanded") == "false"
    page.keyboard.press("Enter")
    page.wait_for_selector(".mobile-drawer.is-visible")
    assert page.evaluate("document.activeElement.classList.contains('js-menu-close')")
    assert page.get_attribute(".js-menu-open", "aria-expanded") == "true"
    assert page.is_visible(".navigation-menu-mobile a[href='/visitation/']")
    assert page.is_visible(".portal-info-mobile button.log-off")
    problems = format_violations("open mobile menu", axe_violations(page))
    assert not problems, "\n".join(problems)
    page.keyboard.press("Escape")
    page.wait_for_selector(".mobile-drawer", state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('js-menu-open')")
    assert page.get_attribute(".js-menu-open", "aria-expanded") == "false"
