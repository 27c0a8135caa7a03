"""The list pages and the case page run a fixed number of queries, however many rows they show.

Every logged-in request pays the same three queries up front and two at the end:

    session lookup, user lookup, the user's current role assignments (cached on the user for
    the request; views, access checks and the menu's context processor all reuse it)
    ...
    SAVEPOINT, UPDATE session, RELEASE SAVEPOINT (the idle clock: at most once a minute, and
    on the first request after login, which is the one measured here)

In between, per page (measured on SQLite; PostgreSQL runs the same statements):

- triage dashboard (visitator), 6: COUNT for the paginator; one aggregate with the state and
  overdue counts; the audit INSERT; referrals waiting for the user (with their case); the
  page of cases with "possible duplicate" as an EXISTS subquery, not per row, and whether
  each case's latest assessment the user may read is high-risk as a subquery (the high-risk
  mark, stored with the assessment: stalkingpakke.FilledForm.high_risk).
- my cases (coordinator), 4: COUNT; the audit INSERT; waiting referrals; the page of cases
  with the municipality and the high-risk mark.
- partner cases (police), 4: the same four, restricted to cases shared through a grant, and
  the mark only where the citizen shares the situation with the partner.
- the municipality's cases (visitator), 3: COUNT; the audit INSERT; the page of cases with the
  municipality and the mark (no "waiting for you" box on this page).
- my referrals (first contact), 3: may the user refer at all (EXISTS); COUNT; the page of
  referrals with case and receiving organisation joined, only the columns shown; also when
  they were forwarded (where to is joined as well).
- case page (coordinator, full access), 11: the case with municipality and responsible; the
  CHANGE grant (cached on the case for the request); one "is the user disqualified" EXISTS
  per action the user's role could take (4 for the owner: the same query repeated, see the
  report); the audit INSERT; the referrals with users and organisations; the referral waiting
  for this user; the consents with who recorded them; the timeline (up to 200 events) with
  actor and note joined.
- case page (police, consented read), 8: the case; the CHANGE and VIEW grants; the scopes the
  citizen consented to; the audit INSERT; the referrals; the referral waiting for the user;
  the timeline.

The four lists show citizens' names, so each page shown writes one audit entry without a
case ("list:<name>", cases/audit.py record_list_read): one INSERT, whatever the rows.

Each test measures the page with one row, grows it to 30 rows (30 cases, or 30 notes on the
case page), and requires exactly the same number of queries again. The cases of the lists
have an assessment, every other one with a high-risk sign, so the marks are on the page.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import access, selectors, services
from cases.models import Case
from cases.views import PAGE_SIZE
from cooperation.roles import held_roles
from stalkingpakke.models import FilledForm, ToolKind, ToolVersion

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

GROWN = 30


@dataclass(frozen=True)
class Page:
    role: str
    max_queries: int
    first: Callable  # world -> the first object (case); builds the one-row page
    url: Callable  # (world, first) -> url
    more: Callable  # (world, first) -> adds one more row


NOTE = "Samtale med borgeren."


def _add_note(world, case):
    services.add_note(actor=world.coordinator, case=case, text=NOTE)


def _assessed(world, case):
    """The case with an assessment, high-risk on every other case: the lists' risk mark."""
    from stalkingpakke.services import save_form

    content = ToolVersion.objects.current(ToolKind.ASSESSMENT).content
    indicators = {bool(r.get("high_risk")): r["key"] for r in content["risk_indicators"]}
    high = FilledForm.objects.filter(tool_version__kind=ToolKind.ASSESSMENT).count() % 2 == 0
    save_form(
        actor=world.visitator,  # full access to every case of the municipality
        case=case,
        kind=ToolKind.ASSESSMENT,
        answers={f"risk:{indicators[high]}": "yes"},
    )
    return case


def _case_with_one_note(world):
    case = world.active(police=True)
    _add_note(world, case)
    return case


def _refer_mixed(world, _case):
    # Vary the queue: some in triage, some acute, some sharing a CPR number (duplicates).
    n = Case.objects.count()
    kwargs = {"urgency": 1 + n % 3, "cpr": "010190-1234" if n % 4 == 0 else ""}
    if n % 2:
        _assessed(world, world.in_triage(**kwargs))
    else:
        world.refer(**kwargs)


def _forwarded(world):
    """A referral the visitator forwarded to another municipality: the referrer's list shows
    the old one ("Videresendt til ...") and the new one."""
    return services.forward_to_municipality(
        actor=world.visitator,
        case=world.refer(),
        municipality=world.other_municipality,
        comment="Borgeren bor i Andenkommune",
    )


PAGES = {
    "triage_dashboard": Page(
        role="visitator",
        max_queries=11,
        first=lambda world: _assessed(world, world.in_triage()),
        url=lambda world, case: reverse("cases:triage_dashboard"),
        more=_refer_mixed,
    ),
    "my_cases": Page(
        role="coordinator",
        max_queries=10,
        first=lambda world: _assessed(world, world.active()),
        url=lambda world, case: reverse("cases:my_cases"),
        more=lambda world, case: _assessed(world, world.active()),
    ),
    "municipality_cases": Page(
        role="visitator",
        max_queries=9,
        first=lambda world: _assessed(world, world.active()),
        url=lambda world, case: reverse("cases:municipality_cases"),
        more=lambda world, case: _assessed(world, world.active()),
    ),
    "partner_cases": Page(
        role="police_contact",
        max_queries=10,
        first=lambda world: _assessed(world, world.active(police=True)),
        url=lambda world, case: reverse("cases:partner_cases"),
        more=lambda world, case: _assessed(world, world.active(police=True)),
    ),
    "my_referrals": Page(
        role="first_contact",
        max_queries=9,
        first=lambda world: world.refer(),
        url=lambda world, case: reverse("cases:my_referrals"),
        more=lambda world, case: world.refer(),
    ),
    "my_referrals_forwarded": Page(
        role="first_contact",
        max_queries=9,
        first=_forwarded,
        url=lambda world, case: reverse("cases:my_referrals"),
        more=lambda world, case: _forwarded(world),
    ),
    "case_page_coordinator": Page(
        role="coordinator",
        max_queries=17,
        first=_case_with_one_note,
        url=lambda world, case: case.get_absolute_url(),
        more=_add_note,
    ),
    "case_page_police": Page(
        role="police_contact",
        max_queries=15,
        first=_case_with_one_note,
        url=lambda world, case: case.get_absolute_url(),
        more=_add_note,
    ),
}


@pytest.mark.parametrize("page_name", PAGES)
def test_query_count_does_not_grow_with_rows(
    client, world, page_name, django_assert_max_num_queries, django_assert_num_queries
):
    page = PAGES[page_name]
    first = page.first(world)
    url = page.url(world, first)
    client.force_login(getattr(world, page.role))
    assert client.get(url).status_code == 200  # warm up: the session exists from here on

    with (
        django_assert_max_num_queries(page.max_queries),
        CaptureQueriesContext(connection) as one_row,
    ):
        response = client.get(url)
    assert response.status_code == 200
    queries_for_one = len(one_row.captured_queries)

    for _ in range(GROWN - 1):
        page.more(world, first)

    with django_assert_num_queries(queries_for_one):
        response = client.get(url)
    assert response.status_code == 200
    # The rows really are on the page: all 30 notes, or a full page of 25 of the 30 cases.
    html = response.content.decode()
    if page_name.startswith("case_page"):
        assert html.count(NOTE) == GROWN
    else:
        references = Case.objects.values_list("reference", flat=True)
        assert sum(reference in html for reference in references) == PAGE_SIZE
        if not page_name.startswith("my_referrals"):
            assert "Høj risiko" in html


def test_the_waiting_for_you_box_costs_one_query_whatever_it_lists(world):
    """Its referrals come with only the columns it shows; a field it did not fetch would cost
    one more query per referral."""
    for _ in range(3):
        world.active(police=True)
    # As in a request: the user's roles were read by the middleware, the permission ids once
    # per process.
    held_roles(world.police_contact)
    access.cases_visible_to(world.police_contact).exists()
    with CaptureQueriesContext(connection) as queries:
        html = render_to_string(
            "cases/waiting_referrals.html",
            {"waiting": selectors.referrals_waiting_for(world.police_contact)[:10]},
        )
    assert html.count("<li>") == 3
    assert len(queries.captured_queries) == 1


@pytest.mark.parametrize("role", ["coordinator", "police_contact"])
def test_the_case_page_says_which_pdfs_are_outdated_without_a_query_more(
    client, world, role, django_assert_num_queries
):
    """Whether a listed PDF is older than the incident log (or the action plan) is worked out
    in the query that lists the PDFs (stalkingpakke.documents.with_outdated)."""
    import datetime

    from django.utils import timezone

    from stalkingpakke import incident_log
    from stalkingpakke.models import Document, DocumentKind

    case = _case_with_one_note(world)
    url = case.get_absolute_url()
    client.force_login(getattr(world, role))
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as without_pdfs:
        client.get(url)

    now = timezone.now()
    for kind in (DocumentKind.INCIDENT_LOG, DocumentKind.ACTION_PLAN, DocumentKind.INCIDENT_LOG):
        Document.objects.create(
            case=case,
            kind=kind,
            requested_by=world.coordinator,
            status="ready",
            chain_hash=incident_log.GENESIS,
            finished_at=now,
        )
    for day in (2, 3):
        incident_log.add_entry(
            actor=world.coordinator,
            case=case,
            data={
                "occurred_at": datetime.datetime(2026, 1, day, tzinfo=datetime.UTC),
                "what_happened": "Opkald",
            },
        )
    with django_assert_num_queries(len(without_pdfs.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("Logskemaet har fået 2 nye registreringer") == 2
