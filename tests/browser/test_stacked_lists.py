"""The lists as cards on a phone (.table--stack-narrow in samvirke.css): at 320 CSS px each row
of a list is a card whose cells show their column's name, and nothing scrolls sideways; at
1280 px the same tables are ordinary tables. The tables keep their semantics for screen readers
at both widths (explicit ARIA roles; the column headers hidden from sight only), and axe finds
nothing at either width. Screenshots of each page at both widths go to tests/browser/screenshots/
(list-*.png, not committed), for a person to look at.

Standalone:
  SAMVIRKE_TESTING=1 .venv/bin/pytest tests/browser/test_stacked_lists.py -q -p no:cacheprovider
"""

import pytest
from django.urls import reverse

from .axe import axe_violations, format_violations
from .conftest import SCREENSHOTS, login

pytestmark = pytest.mark.browser

# What a stacked table looks like, per table: the region's and the page's width, how its rows
# and header cells are displayed, and each body cell's label against its column header.
FACTS = """() => {
  const root = document.documentElement;
  return [...document.querySelectorAll("table.table--stack-narrow")].map((table) => {
    const region = table.closest(".table--responsive-scroll");
    const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    const head = table.tHead.getBoundingClientRect();
    const cells = [];
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, index) => {
        const before = getComputedStyle(cell, "::before").content;
        cells.push({
          index,
          header: headers[index],
          label: cell.dataset.label,
          role: cell.getAttribute("role"),
          empty: cell.textContent.trim() === "" && !cell.querySelector("svg, img"),
          shown: cell.getBoundingClientRect().width > 1,
          before,
        });
      });
    }
    return {
      caption: table.caption ? table.caption.textContent.trim() : "",
      role: table.getAttribute("role"),
      regionScroll: region ? region.scrollWidth : 0,
      regionClient: region ? region.clientWidth : 0,
      pageScroll: root.scrollWidth,
      pageClient: root.clientWidth,
      tableDisplay: getComputedStyle(table).display,
      rowDisplays: [...table.querySelectorAll("tbody tr")].map((r) => getComputedStyle(r).display),
      rowRoles: [...table.querySelectorAll("tr")].map((r) => r.getAttribute("role")),
      headerRoles: [...table.querySelectorAll("thead th")].map((th) => th.getAttribute("role")),
      headSize: Math.max(head.width, head.height),
      rendered: table.checkVisibility(),
      theadDisplay: getComputedStyle(table.tHead).display,
      headers,
      cells,
    };
  });
}"""


def list_pages(username: str) -> dict[str, str]:
    """The pages of the user's role with a list shown as cards on a phone."""
    from django.contrib.auth import get_user_model

    from cases.access import cases_visible_to
    from cases.models import CaseState
    from cooperation.models import Organisation, OrganisationKind

    user = get_user_model().objects.get(username=username)
    pages = {}
    if username == "visitator":
        pages["visitation"] = reverse("cases:triage_dashboard")
        pages["kommunens sager"] = reverse("cases:municipality_cases")
        pages["mine sager"] = reverse("cases:my_cases")
    if username == "koordinator":
        pages["mine sager"] = reverse("cases:my_cases")
        pages["sparring"] = reverse("consultations:list")
        pages["kontakter"] = reverse("directory")
        pages["logskema, vejledning"] = reverse("stalkingpakke:tool", args=["incident_log"])
        visible = cases_visible_to(user)
        active = visible.filter(state=CaseState.ACTIVE).order_by("pk").first()
        pages["sag"] = active.get_absolute_url()
        shared = visible.filter(incidents__isnull=False).order_by("pk").first()
        pages["logskema"] = f"{shared.get_absolute_url()}logskema/"
    if username in ("politi", "dsc"):
        pages["delte sager"] = reverse("cases:partner_cases")
    if username == "politi":
        # The police read the demo's incident log and action plan; the coordinator edits the
        # plan in a form, without the table.
        shared = cases_visible_to(user).filter(incidents__isnull=False).order_by("pk").first()
        pages["logskema (læseadgang)"] = f"{shared.get_absolute_url()}logskema/"
        pages["handleplan (læseadgang)"] = f"{shared.get_absolute_url()}handleplan/"
    if username == "forstekontakt":
        pages["mine henvisninger"] = reverse("cases:my_referrals")
    if username == "admin":
        pages["revisionsspor"] = reverse("audit:search")
        pages["sletning"] = reverse("retention:overview")
        municipality = Organisation.objects.filter(kind=OrganisationKind.MUNICIPALITY).first()
        pages["sletning, kommune"] = reverse("retention:municipality", args=[municipality.pk])
    return pages


def narrow_problems(where: str, tables: list[dict]) -> list[str]:
    problems = []
    for t in tables:
        name = f"{where}, table {t['caption']!r}"
        if t["pageScroll"] > t["pageClient"]:
            problems.append(f"{name}: page scrolls sideways ({t['pageScroll']} > 320)")
        if t["regionScroll"] > t["regionClient"]:
            problems.append(
                f"{name}: region scrolls sideways ({t['regionScroll']} > {t['regionClient']})"
            )
        if set(t["rowDisplays"]) != {"block"}:
            problems.append(f"{name}: rows are {set(t['rowDisplays'])}, not cards (block)")
        if t["rendered"] and (t["theadDisplay"] == "none" or t["headSize"] > 1):
            problems.append(f"{name}: the column headers must be hidden from sight only")
        for cell in t["cells"]:
            if cell["label"] != cell["header"]:
                problems.append(
                    f"{name}: column {cell['index']} labelled {cell['label']!r}, "
                    f"header {cell['header']!r}"
                )
            elif cell["empty"]:
                if cell["shown"]:
                    problems.append(f"{name}: an empty {cell['header']!r} cell shows its label")
            elif not cell["before"].startswith(f'"{cell["header"]}"'):
                problems.append(
                    f"{name}: a {cell['header']!r} cell shows {cell['before']!r}, not its label"
                )
    return problems


def wide_problems(where: str, tables: list[dict]) -> list[str]:
    problems = []
    for t in tables:
        name = f"{where}, table {t['caption']!r}"
        if t["tableDisplay"] != "table" or set(t["rowDisplays"]) != {"table-row"}:
            problems.append(f"{name}: {t['tableDisplay']}/{set(t['rowDisplays'])}, not a table")
        if t["rendered"] and t["headSize"] < 10:
            problems.append(f"{name}: column headers not shown")
        if any(cell["before"] not in ("none", "normal") for cell in t["cells"]):
            problems.append(f"{name}: cells show labels at 1280 px")
    return problems


def role_problems(where: str, tables: list[dict]) -> list[str]:
    """Every part carries its role, so that a changed display cannot take it away."""
    problems = []
    for t in tables:
        name = f"{where}, table {t['caption']!r}"
        if t["role"] != "table" or set(t["rowRoles"]) != {"row"}:
            problems.append(f"{name}: table or row without its role")
        if set(t["headerRoles"]) != {"columnheader"}:
            problems.append(f"{name}: column header without role=columnheader")
        if any(cell["role"] not in ("cell", "rowheader") for cell in t["cells"]):
            problems.append(f"{name}: body cell without role=cell or role=rowheader")
    return problems


AX_ROLES = ("table", "row", "columnheader", "rowheader", "cell", "gridcell")


def accessibility_tree_roles(page) -> dict[str, int]:
    """How many of each table role chromium's own accessibility tree has: what a screen reader
    is given, not what the markup says."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    counts = dict.fromkeys(AX_ROLES, 0)
    for node in nodes:
        role = (node.get("role") or {}).get("value")
        if role in counts and not node.get("ignored"):
            counts[role] += 1
    return counts


@pytest.mark.parametrize(
    "username", ["visitator", "koordinator", "politi", "dsc", "forstekontakt", "admin"]
)
def test_lists_are_cards_at_320_and_tables_at_1280(axe_page, demo, username):
    page = axe_page
    SCREENSHOTS.mkdir(exist_ok=True)
    login(page, demo, username)
    problems = []
    for name, path in list_pages(username).items():
        where = f"{username} {name}"
        for width in (320, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            response = page.goto(demo + path)
            if response is None or response.status != 200:
                problems.append(f"{where}: HTTP {response.status if response else '-'}")
                continue
            slug = "-".join(name.replace(",", "").replace("(", "").replace(")", "").split())
            page.screenshot(
                path=str(SCREENSHOTS / f"list-{username}-{slug}-{width}.png"), full_page=True
            )
            tables = page.evaluate(FACTS)
            if not tables:
                problems.append(f"{where}: no .table--stack-narrow table on the page")
                continue
            if width == 320:
                problems += narrow_problems(where, tables)
                problems += role_problems(where, tables)
                ax = accessibility_tree_roles(page)
                # A table in a closed <details> is in no accessibility tree.
                shown = [t for t in tables if t["rendered"]]
                headers = sum(len(t["headers"]) for t in shown)
                if ax["table"] < len(shown) or ax["columnheader"] < headers:
                    problems.append(f"{where}: the accessibility tree lost the tables: {ax}")
            else:
                problems += wide_problems(where, tables)
            problems += format_violations(f"{where} {width}", axe_violations(page))
    assert not problems, "\n".join(problems)
