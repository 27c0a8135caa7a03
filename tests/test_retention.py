"""Retention (issue 5.4): closed cases are kept a number of years per municipality, then
anonymised when an administrator confirms; each run reports what it did.

Covers the selector (boundaries, reopened cases, other municipalities), the permission
matrix of the retention pages, the confirmation flow, the task end to end (also on
PostgreSQL, where the audit trail's trigger would refuse any UPDATE or DELETE), running the
task twice, and that no personal data is left anywhere for an anonymised case.
"""

import datetime
import logging
from contextlib import contextmanager
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from cases import retention, services
from cases.models import (
    AuditAction,
    AuditEntry,
    Case,
    CaseState,
    ConsentPartner,
    ConsentScope,
    NetworkMeeting,
    Note,
    ReferralKind,
    ReferralStatus,
    RetentionOutcome,
    RetentionRun,
    RetentionRunItem,
    RetentionRunStatus,
)
from cases.tasks import anonymise_retention_run
from cooperation.models import RoleAssignment
from stalkingpakke import attachments, documents, incident_log
from stalkingpakke import services as tools
from stalkingpakke.content import load_defaults
from stalkingpakke.models import (
    ActionPlan,
    Attachment,
    Document,
    DocumentStatus,
    FilledForm,
    IncidentEntry,
    IncidentLogChunk,
    ToolKind,
    ToolVersion,
)

from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

OVERVIEW = reverse("retention:overview")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def world(world):
    """The shared world, with its roles held since 2000: cases here are made years ago."""
    RoleAssignment.objects.update(valid_from=datetime.date(2000, 1, 1))
    return world


@contextmanager
def at(moment: datetime.datetime):
    """Everything done inside happens at `moment` (services stamp times with timezone.now)."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def years_ago(years: int, days: int = 0) -> datetime.datetime:
    return retention.years_before(timezone.now(), years) - datetime.timedelta(days=days)


def closed_case(world, *, closed_at=None, **kwargs) -> Case:
    """A case routed to the coordinator and closed as resolved, at `closed_at`."""
    moment = closed_at or timezone.now()
    with at(moment - datetime.timedelta(days=30)):
        case = world.active(**kwargs)
    with at(moment):
        return services.close(actor=world.coordinator, case=case, reason="resolved")


def other_closed_case(world, *, closed_at) -> Case:
    """A case of the other municipality, closed at triage as not stalking."""
    with at(closed_at):
        case = services.refer(
            actor=world.other_visitator,
            municipality=world.other_municipality,
            full_name="Anden Borger",
            safe_contact="Kun sms",
        )
        case = services.start_triage(actor=world.other_visitator, case=case)
        return services.triage(
            actor=world.other_visitator, case=case, is_stalking=False, reasoning="Rådgivet"
        )


def retention_admin(username="retention-admin", *, staff=True):
    user = UserFactory(username=username, is_staff=staff)
    user.user_permissions.add(Permission.objects.get(codename="run_retention"))
    return user


def confirm_and_run(world, capture, municipality=None, actor=None) -> RetentionRun:
    municipality = municipality or world.municipality
    count = retention.due_cases(municipality).count()
    with capture(execute=True):
        run = retention.confirm_run(
            actor=actor or world.admin, municipality=municipality, expected_count=count
        )
    run.refresh_from_db()
    return run


# --- the rule on the organisation -----------------------------------------------------------


def test_a_municipality_keeps_closed_cases_five_years_unless_it_says_otherwise(world):
    assert world.municipality.retention_years == 5
    world.other_municipality.retention_years = 0
    with pytest.raises(IntegrityError), transaction.atomic():
        world.other_municipality.save(update_fields=["retention_years"])


def test_the_rule_is_edited_in_the_admin_with_a_danish_help_text(client, world):
    client.force_login(world.admin)
    url = reverse("admin:cooperation_organisation_change", args=[world.municipality.pk])
    page = client.get(url)
    assert 'name="retention_years"' in page.content.decode()
    assert "år efter, at en sag er lukket" in page.content.decode()
    data = {
        "name": world.municipality.name,
        "kind": world.municipality.kind,
        "code": world.municipality.code,
        "police_district": world.police.pk,
        "retention_years": 8,
        "units-TOTAL_FORMS": 0,
        "units-INITIAL_FORMS": 0,
    }
    assert client.post(url, data).status_code == 302
    world.municipality.refresh_from_db()
    assert world.municipality.retention_years == 8


# --- the selector ---------------------------------------------------------------------------


def test_a_case_closed_exactly_n_years_ago_is_not_due_a_second_earlier_it_is(world):
    now = timezone.now()
    cutoff = retention.years_before(now, 5)
    exactly = closed_case(world, closed_at=cutoff)
    earlier = closed_case(world, closed_at=cutoff - datetime.timedelta(seconds=1))
    recent = closed_case(world, closed_at=now - datetime.timedelta(days=30))

    due = set(retention.due_cases(world.municipality, now=now))

    assert earlier in due
    assert exactly not in due and recent not in due


def test_years_are_calendar_years_and_29_february_falls_back_to_the_28th():
    moment = timezone.make_aware(datetime.datetime(2028, 2, 29, 10, 0))
    earlier = timezone.localtime(retention.years_before(moment, 5))
    assert (earlier.year, earlier.month, earlier.day, earlier.hour) == (2023, 2, 28, 10)
    summer = timezone.make_aware(datetime.datetime(2026, 7, 1, 12, 0))
    assert timezone.localtime(retention.years_before(summer, 5)).hour == 12


def test_the_last_close_counts_and_a_reopened_open_case_is_never_due(world):
    first_close = years_ago(8)
    reopened_open = closed_case(world, closed_at=first_close)
    with at(years_ago(1)):
        services.reopen(actor=world.visitator, case=reopened_open, comment="Ny henvendelse")

    closed_again = closed_case(world, closed_at=first_close)
    with at(years_ago(3)):
        services.reopen(actor=world.visitator, case=closed_again, comment="Ny henvendelse")
    with at(years_ago(2)):
        services.close(actor=world.coordinator, case=closed_again, reason="resolved")

    closed_again_long_ago = closed_case(world, closed_at=years_ago(9))
    with at(years_ago(8)):
        services.reopen(actor=world.visitator, case=closed_again_long_ago, comment="Ny henvendelse")
    with at(years_ago(7)):
        services.close(actor=world.coordinator, case=closed_again_long_ago, reason="resolved")

    due = list(retention.due_cases(world.municipality))

    assert due == [closed_again_long_ago]
    reopened_open.refresh_from_db()
    assert reopened_open.state == CaseState.ACTIVE and reopened_open.closed_at is None


def test_each_municipality_has_its_own_rule_and_list(world):
    ours = closed_case(world, closed_at=years_ago(7))
    theirs = other_closed_case(world, closed_at=years_ago(7))
    world.other_municipality.retention_years = 10
    world.other_municipality.save(update_fields=["retention_years"])

    assert list(retention.due_cases(world.municipality)) == [ours]
    assert list(retention.due_cases(world.other_municipality)) == []

    world.other_municipality.retention_years = 6
    world.other_municipality.save(update_fields=["retention_years"])
    assert list(retention.due_cases(world.other_municipality)) == [theirs]
    counts = {row.municipality.code: row.due for row in retention.due_per_municipality()}
    assert counts == {"TST": 1, "AND": 1}


def test_anonymised_cases_are_not_listed_again(world, django_capture_on_commit_callbacks):
    closed_case(world, closed_at=years_ago(6))
    confirm_and_run(world, django_capture_on_commit_callbacks)
    assert not retention.due_cases(world.municipality).exists()
    assert {row.due for row in retention.due_per_municipality()} == {0}


def test_the_overview_counts_every_municipality_in_two_queries(world, django_assert_num_queries):
    for years in (6, 7, 8):
        closed_case(world, closed_at=years_ago(years))
    other_closed_case(world, closed_at=years_ago(9))
    with django_assert_num_queries(2):  # the municipalities; one grouped count over all
        rows = retention.due_per_municipality()
    assert {row.municipality.code: row.due for row in rows} == {"TST": 3, "AND": 1}


def test_the_list_shows_no_name_or_cpr_and_pages_through_the_cases(world, client, settings):
    case = closed_case(
        world, closed_at=years_ago(6), full_name="Hemmelig Hansen", cpr="070761-4285"
    )
    for _ in range(3):
        closed_case(world, closed_at=years_ago(7))
    client.force_login(world.admin)
    with mock.patch("cases.retention_views.PAGE_SIZE", 2):
        first = client.get(reverse("retention:municipality", args=[world.municipality.pk]))
        second = client.get(
            reverse("retention:municipality", args=[world.municipality.pk]), {"side": 2}
        )
    html = first.content.decode() + second.content.decode()
    assert first.status_code == second.status_code == 200
    assert case.reference in html
    assert "Hemmelig" not in html and "-4285" not in html and "070761" not in html
    assert len(first.context["page"].object_list) == 2
    assert first.context["page"].paginator.count == 4
    assert html.count("<h1") == 2  # one per page


@pytest.mark.postgres
def test_the_selector_uses_the_partial_index(world):
    """On a municipality's real numbers (thousands of cases, a handful due) the planner takes
    the small partial index; on a nearly empty table any index is as cheap, so the plan
    would say nothing."""
    due = closed_case(world, closed_at=years_ago(6))
    overrides = {
        "reference": "reference || '-' || n",
        "state": "'active'",
        "closed_at": "NULL",
        "closing_reason": "''",
    }
    columns = [f.column for f in Case._meta.concrete_fields if not f.primary_key]
    selected = [overrides.get(column, f'"{column}"') for column in columns]
    # 3,000 open copies of the due case. Column names come from the model, not from input.
    quoted = ", ".join(f'"{column}"' for column in columns)
    insert = (
        f"INSERT INTO cases_case ({quoted}) SELECT {', '.join(selected)} "  # noqa: S608
        "FROM cases_case, generate_series(1, 3000) AS n WHERE cases_case.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [due.pk])
        cursor.execute("ANALYZE cases_case")
    query = retention.due_cases(world.municipality)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "case_retention_due" in plan


# --- who gets in: the permission matrix ------------------------------------------------------

MATRIX_ROLES = (
    "first_contact",
    "visitator",
    "deputy_visitator",
    "coordinator",
    "police_contact",
    "dsc",
    "follow_up",
    "other_visitator",
    "outsider_coordinator",
    "admin",  # the world's superuser (staff)
    "anonymous",
    "staff_without_permission",
    "staff_with_permission",
    "permission_without_staff",
)
URLS = ("overview", "municipality", "confirm", "run", "restart")

# fmt: off
RETENTION_MATRIX = {
    #                             overview municipality confirm run restart(GET)
    "first_contact":              "404      404          404     404  404",
    "visitator":                  "404      404          404     404  404",
    "deputy_visitator":           "404      404          404     404  404",
    "coordinator":                "404      404          404     404  404",
    "police_contact":             "404      404          404     404  404",
    "dsc":                        "404      404          404     404  404",
    "follow_up":                  "404      404          404     404  404",
    "other_visitator":            "404      404          404     404  404",
    "outsider_coordinator":       "404      404          404     404  404",
    "admin":                      "200      200          200     200  405",
    "anonymous":                  "302      302          302     302  302",
    "staff_without_permission":   "404      404          404     404  404",
    "staff_with_permission":      "200      200          200     200  405",
    "permission_without_staff":   "404      404          404     404  404",
}
# fmt: on


def _matrix_user(world, role):
    if role == "anonymous":
        return None
    if role == "staff_without_permission":
        return UserFactory(username="plain-staff", is_staff=True)
    if role == "staff_with_permission":
        return retention_admin()
    if role == "permission_without_staff":
        return retention_admin("not-staff", staff=False)
    return getattr(world, role)


def _matrix_cells():
    assert set(RETENTION_MATRIX) == set(MATRIX_ROLES)
    for role, row in RETENTION_MATRIX.items():
        for name, code in zip(URLS, row.split(), strict=True):
            yield pytest.param(role, name, int(code), id=f"{name}-{role}")


def _retention_url(name, world, run):
    args = {
        "overview": [],
        "municipality": [world.municipality.pk],
        "confirm": [world.municipality.pk],
        "run": [run.pk],
        "restart": [run.pk],
    }[name]
    return reverse(f"retention:{name}", args=args)


@pytest.mark.parametrize(("role", "name", "expected"), list(_matrix_cells()))
def test_retention_permission_matrix(client, world, role, name, expected):
    closed_case(world, closed_at=years_ago(6))
    run = RetentionRun.objects.create(
        municipality=world.municipality,
        confirmed_by=world.admin,
        retention_years=5,
        cutoff=timezone.now(),
        case_ids=[],
        status=RetentionRunStatus.DONE,
    )
    user = _matrix_user(world, role)
    if user is not None:
        client.force_login(user)
    url = _retention_url(name, world, run)

    response = client.get(url)

    assert response.status_code == expected, f"GET {url} as {role}"
    if expected == 302:
        assert response["Location"].startswith(reverse("login"))


def test_every_retention_url_is_in_the_matrix():
    from cases.retention_urls import urlpatterns

    assert {p.name for p in urlpatterns} == set(URLS)


def test_the_denial_comes_from_the_permission(client, world, django_capture_on_commit_callbacks):
    """Deny, grant, allow: the same POST is refused (404, nothing happens) without the
    permission and accepted once it is given."""
    closed_case(world, closed_at=years_ago(6))
    staff = UserFactory(username="staff-member", is_staff=True)
    client.force_login(staff)
    url = reverse("retention:confirm", args=[world.municipality.pk])

    assert client.post(url, {"count": 1}).status_code == 404
    assert not RetentionRun.objects.exists()

    staff.user_permissions.add(Permission.objects.get(codename="run_retention"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"count": 1})
    assert response.status_code == 302
    assert RetentionRun.objects.get().confirmed_by == staff


def test_the_service_refuses_someone_without_the_permission(world):
    closed_case(world, closed_at=years_ago(6))
    with pytest.raises(PermissionDenied):
        retention.confirm_run(
            actor=world.visitator, municipality=world.municipality, expected_count=1
        )
    assert not RetentionRun.objects.exists()


def test_a_police_district_has_no_retention_page(client, world):
    client.force_login(world.admin)
    for name in ("municipality", "confirm"):
        assert client.get(reverse(f"retention:{name}", args=[world.police.pk])).status_code == 404


# --- the confirmation flow ------------------------------------------------------------------


def test_confirming_shows_the_count_and_then_anonymises_and_reports(
    client, world, django_capture_on_commit_callbacks
):
    cases = [closed_case(world, closed_at=years_ago(6, days=d)) for d in range(3)]
    closed_case(world, closed_at=years_ago(1))  # not due
    client.force_login(world.admin)

    overview = client.get(OVERVIEW).content.decode()
    assert reverse("retention:municipality", args=[world.municipality.pk]) in overview

    confirm_url = reverse("retention:confirm", args=[world.municipality.pk])
    page = client.get(confirm_url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Er du sikker?" in html and "Det kan ikke fortrydes" in html
    assert "3 sager" in html and 'name="count" value="3"' in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm_url, {"count": 3})

    run = RetentionRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("retention:run", args=[run.pk])
    assert sorted(run.case_ids) == sorted(c.pk for c in cases)
    assert run.confirmed_by == world.admin and run.municipality == world.municipality
    assert run.status == RetentionRunStatus.DONE
    assert (run.cases_anonymised, run.cases_skipped, run.cases_failed) == (3, 0, 0)
    assert Case.objects.filter(anonymised_at__isnull=False).count() == 3
    assert AuditEntry.objects.filter(
        what="retention_run", user=world.admin, object_id=str(run.pk), purpose="retention"
    ).exists()

    report = client.get(response["Location"])
    text = report.content.decode()
    assert report.status_code == 200 and "Færdig" in text
    assert report.context["run"].cases_anonymised == 3
    assert reverse("retention:run", args=[run.pk]) in client.get(OVERVIEW).content.decode()


def test_the_report_is_read_only_in_the_admin(client, world, django_capture_on_commit_callbacks):
    closed_case(world, closed_at=years_ago(6))
    run = confirm_and_run(world, django_capture_on_commit_callbacks)
    client.force_login(world.admin)
    change = reverse("admin:cases_retentionrun_change", args=[run.pk])

    page = client.get(change)

    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()  # shown, not editable
    assert client.get(reverse("admin:cases_retentionrun_add")).status_code == 403
    delete = reverse("admin:cases_retentionrun_delete", args=[run.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    client.post(change, {"status": "pending", "cases_anonymised": 0})
    run.refresh_from_db()
    assert RetentionRun.objects.filter(pk=run.pk).exists()
    assert (run.status, run.cases_anonymised) == ("done", 1)


def test_a_changed_count_asks_again_and_starts_nothing(client, world):
    closed_case(world, closed_at=years_ago(6))
    closed_case(world, closed_at=years_ago(7))
    client.force_login(world.admin)
    url = reverse("retention:confirm", args=[world.municipality.pk])

    response = client.post(url, {"count": 1}, follow=True)

    assert response.status_code == 200
    assert not RetentionRun.objects.exists()
    assert "nu 2" in response.content.decode()
    assert 'name="count" value="2"' in response.content.decode()


def test_nothing_due_means_nothing_to_confirm(client, world):
    closed_case(world, closed_at=years_ago(1))
    client.force_login(world.admin)
    url = reverse("retention:confirm", args=[world.municipality.pk])
    assert 'name="count"' not in client.get(url).content.decode()
    client.post(url, {"count": 1})
    client.post(url, {"count": 0})
    assert not RetentionRun.objects.exists()


def test_the_task_gets_the_run_id_only(world, django_capture_on_commit_callbacks):
    closed_case(world, closed_at=years_ago(6), full_name="Navn Iopgaven")
    with (
        mock.patch.object(anonymise_retention_run, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = retention.confirm_run(
            actor=world.admin, municipality=world.municipality, expected_count=1
        )
    delay.assert_called_once_with(run.pk)


# --- the task -------------------------------------------------------------------------------


def _run_the_task_end_to_end(world, capture):
    due = [closed_case(world, closed_at=years_ago(6, days=d), police=True) for d in range(2)]
    kept = closed_case(world, closed_at=years_ago(2))
    for case in due:
        Note.objects.create(case=case, author=world.coordinator, text="Gammelt notat")
    audit_before = AuditEntry.objects.count()

    run = confirm_and_run(world, capture)

    assert run.status == RetentionRunStatus.DONE and run.finished_at is not None
    assert run.cases_anonymised == 2 and run.notes_removed == 2
    for case in due:
        case.refresh_from_db()
        assert case.anonymised_at is not None and case.full_name == ""
        assert case.state == CaseState.CLOSED and case.reference.startswith("TST-")
    kept.refresh_from_db()
    assert kept.anonymised_at is None and kept.full_name
    anonymise_entries = AuditEntry.objects.filter(action=AuditAction.ANONYMISE)
    assert sorted(e.case_id for e in anonymise_entries) == sorted(c.pk for c in due)
    assert {(e.user_id, e.what, e.purpose) for e in anonymise_entries} == {
        (world.admin.pk, "case", "retention")
    }
    # One entry for the confirmation, one per case; nothing before was changed or lost.
    assert AuditEntry.objects.count() == audit_before + 3
    return run


def test_the_task_anonymises_each_due_case_and_audits_it(world, django_capture_on_commit_callbacks):
    _run_the_task_end_to_end(world, django_capture_on_commit_callbacks)


@pytest.mark.postgres
def test_on_postgresql_the_task_never_touches_the_audit_trail(
    world, django_capture_on_commit_callbacks
):
    """The trigger of migration 0002 raises on any UPDATE or DELETE of cases_auditentry:
    a run that got there would fail its cases, so a clean run proves it never does."""
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = 'cases_auditentry_append_only'")
        assert cursor.fetchone() is not None
    run = _run_the_task_end_to_end(world, django_capture_on_commit_callbacks)
    assert run.cases_failed == 0


def test_running_the_task_twice_changes_and_counts_nothing_more(
    world, django_capture_on_commit_callbacks
):
    for d in range(3):
        closed_case(world, closed_at=years_ago(6, days=d))
    run = confirm_and_run(world, django_capture_on_commit_callbacks)
    counts = (run.cases_anonymised, run.cases_skipped, run.cases_failed, run.notes_removed)
    audit_count = AuditEntry.objects.count()

    assert anonymise_retention_run.delay(run.pk).get() == "skipped"
    # A message delivered again while the run was marked running (the worker died after the
    # last case but before it could finish): every case is found done and nothing recounted.
    RetentionRun.objects.filter(pk=run.pk).update(status=RetentionRunStatus.RUNNING)
    assert anonymise_retention_run.delay(run.pk).get() == RetentionRunStatus.DONE

    run.refresh_from_db()
    assert (run.cases_anonymised, run.cases_skipped, run.cases_failed, run.notes_removed) == (
        counts
    )
    assert counts[0] == 3
    assert AuditEntry.objects.count() == audit_count
    assert RetentionRunItem.objects.filter(run=run).count() == 3


def test_a_delivery_after_a_crash_mid_run_does_the_rest_once(world):
    cases = [closed_case(world, closed_at=years_ago(6, days=d)) for d in range(3)]
    run = retention.confirm_run(
        actor=world.admin, municipality=world.municipality, expected_count=3
    )
    RetentionRun.objects.filter(pk=run.pk).update(status=RetentionRunStatus.RUNNING)
    # The first delivery did one case, then its worker was lost.
    assert retention.anonymise_case(run, cases[0].pk) == RetentionOutcome.ANONYMISED

    anonymise_retention_run.delay(run.pk)

    run.refresh_from_db()
    assert (run.status, run.cases_anonymised, run.cases_skipped) == ("done", 3, 0)
    assert AuditEntry.objects.filter(action=AuditAction.ANONYMISE).count() == 3


def test_a_case_reopened_after_the_confirmation_is_skipped_and_kept(world):
    case = closed_case(world, closed_at=years_ago(6), full_name="Stadig Aktiv")
    run = retention.confirm_run(
        actor=world.admin, municipality=world.municipality, expected_count=1
    )
    services.reopen(actor=world.visitator, case=case, comment="Ny henvendelse")

    anonymise_retention_run.delay(run.pk)

    run.refresh_from_db()
    case.refresh_from_db()
    assert (run.cases_anonymised, run.cases_skipped) == (0, 1)
    assert case.full_name == "Stadig Aktiv" and case.anonymised_at is None
    assert not AuditEntry.objects.filter(action=AuditAction.ANONYMISE).exists()


def test_a_case_in_two_runs_is_anonymised_and_audited_once(world):
    closed_case(world, closed_at=years_ago(6))
    first = retention.confirm_run(
        actor=world.admin, municipality=world.municipality, expected_count=1
    )
    second = retention.confirm_run(
        actor=world.admin, municipality=world.municipality, expected_count=1
    )

    anonymise_retention_run.delay(first.pk)
    anonymise_retention_run.delay(second.pk)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.cases_anonymised, second.cases_anonymised, second.cases_skipped) == (1, 0, 1)
    assert AuditEntry.objects.filter(action=AuditAction.ANONYMISE).count() == 1


def test_a_failing_case_is_reported_left_unchanged_and_due_again(
    world, django_capture_on_commit_callbacks, caplog
):
    good = closed_case(world, closed_at=years_ago(7))
    bad = closed_case(world, closed_at=years_ago(6), full_name="Fejl Personsen")
    real_scrub = retention._scrub_case

    def scrub(case, removed):
        if case.pk == bad.pk:
            raise RuntimeError(f"boom for {case.full_name}")
        return real_scrub(case, removed)

    with mock.patch.object(retention, "_scrub_case", scrub), caplog.at_level(logging.ERROR):
        run = confirm_and_run(world, django_capture_on_commit_callbacks)

    assert run.status == RetentionRunStatus.DONE
    assert (run.cases_anonymised, run.cases_failed) == (1, 1)
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.full_name == "Fejl Personsen" and bad.anonymised_at is None
    assert good.anonymised_at is not None
    assert RetentionRunItem.objects.get(run=run, case=bad).outcome == RetentionOutcome.FAILED
    assert "RuntimeError" in caplog.text and "Fejl" not in caplog.text
    assert list(retention.due_cases(world.municipality)) == [bad]


def test_a_run_that_is_not_finished_can_be_started_again(
    client, world, django_capture_on_commit_callbacks
):
    closed_case(world, closed_at=years_ago(6))
    # The broker lost the message: the run was created but the task never ran.
    run = retention.confirm_run(
        actor=world.admin, municipality=world.municipality, expected_count=1
    )
    client.force_login(world.admin)
    url = reverse("retention:run", args=[run.pk])
    assert "Sæt kørslen i gang igen" in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("retention:restart", args=[run.pk]))

    run.refresh_from_db()
    assert (run.status, run.cases_anonymised) == ("done", 1)
    assert "Sæt kørslen i gang igen" not in client.get(url).content.decode()


def test_a_broker_that_is_down_leaves_a_pending_run_to_start_again(
    client, world, django_capture_on_commit_callbacks
):
    closed_case(world, closed_at=years_ago(6))
    client.force_login(world.admin)
    with (
        mock.patch.object(anonymise_retention_run, "delay", side_effect=ConnectionError),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("retention:confirm", args=[world.municipality.pk]), {"count": 1}
        )
    run = RetentionRun.objects.get()
    assert response.status_code == 302
    assert run.status == RetentionRunStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("retention:restart", args=[run.pk]))
    run.refresh_from_db()
    assert (run.status, run.cases_anonymised) == ("done", 1)


def test_an_anonymised_case_can_never_be_reopened(world, django_capture_on_commit_callbacks):
    """A database constraint: even code that goes around the services (which refuse it, see
    below) cannot make an anonymised case open again."""
    case = closed_case(world, closed_at=years_ago(6))
    confirm_and_run(world, django_capture_on_commit_callbacks)
    with pytest.raises(IntegrityError, match="case_anonymised_is_closed"), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(state=CaseState.ACTIVE, closed_at=None)


# --- no personal data left --------------------------------------------------------------------

CPR = "0707614285"


class Marks(dict):
    """Distinctive strings, one per place a person's data can be written."""

    def __call__(self, place: str) -> str:
        return self.setdefault(place, f"Qzx{place.replace('_', '')}Qzx")


def _everything_on(world, marks, capture):
    """A case with a distinctive string in every place, written through the services."""
    load_defaults(ToolVersion, ToolKind.values)
    case = tools.refer_with_checklist(
        actor=world.first_contact,
        checklist_answers={"repeated_contact": "yes", "fear": "yes"},
        municipality=world.municipality,
        full_name=marks("full_name"),
        cpr=CPR,
        safe_contact=marks("safe_contact"),
        safe_contact_time=marks("safe_contact_time"),
        reason=marks("referral_reason"),
        consents=[(ConsentPartner.POLICE, s) for s in ConsentScope.values],
    )
    case = services.start_triage(actor=world.visitator, case=case)
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning=marks("triage_reasoning"),
        coordinator=world.coordinator,
        to_police=True,
    )
    services.add_note(actor=world.coordinator, case=case, text=marks("note"))
    meeting = services.record_network_meeting(
        actor=world.coordinator,
        case=case,
        held_on=timezone.localdate(),
        participants=marks("meeting_participants"),
        purpose=marks("meeting_purpose"),
        agreements="Foreløbige aftaler",
    )
    services.update_network_meeting(
        actor=world.coordinator,
        meeting=meeting,
        expected_version=meeting.version,
        held_on=timezone.localdate(),
        participants=marks("meeting_participants"),
        purpose=marks("meeting_purpose"),
        agreements=marks("meeting_agreements"),
        next_meeting=timezone.localdate() + datetime.timedelta(days=7),
    )
    services.record_consent(
        actor=world.coordinator, case=case, partner=ConsentPartner.DSC, scopes=["contact"]
    )
    police_referral = case.referrals.get(kind=ReferralKind.TO_POLICE)
    services.respond_to_referral(
        actor=world.police_contact,
        referral=police_referral,
        accept=False,
        reason=marks("decline_reason"),
    )
    services.disqualify(
        actor=world.visitator,
        case=case,
        user=world.deputy_visitator,
        reason=marks("disqualification"),
    )
    onward = services.refer_onward(
        actor=world.coordinator,
        case=case,
        external=marks("onward_external"),
        reason=marks("onward_reason"),
    )
    services.record_onward_outcome(
        actor=world.coordinator,
        referral=onward,
        status=ReferralStatus.DECLINED,
        reason=marks("onward_decline"),
    )
    tools.save_form(
        actor=world.coordinator,
        case=case,
        kind=ToolKind.ASSESSMENT,
        answers={"online": marks("assessment"), "person_name": marks("stalker_name")},
    )
    tools.save_form(
        actor=world.coordinator,
        case=case,
        kind=ToolKind.TYPOLOGY,
        answers={"type": "rejected", "notes": marks("typology")},
    )
    for version in (1, 2):
        tools.save_action_plan(
            actor=world.coordinator,
            case=case,
            goals=marks(f"goals{version}"),
            safety_measures=marks(f"safety{version}"),
            next_review=None,
            items=[{"who": marks(f"who{version}"), "what": marks(f"what{version}")}],
        )
    entry = incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={
            "occurred_at": timezone.now() - datetime.timedelta(days=3),
            "place": marks("place"),
            "what_happened": marks("what_happened"),
            "behaviours": ["calls"],
            "witnesses": marks("witnesses"),
            "evidence": marks("evidence"),
            "reported_to_police": True,
            "police_journal_number": marks("journal"),
            "effect": marks("effect"),
        },
    )
    corrected = incident_log.correct_entry(
        actor=world.coordinator,
        entry=entry,
        data={
            "occurred_at": timezone.now() - datetime.timedelta(days=3),
            "what_happened": marks("what_happened_corrected"),
            "behaviours": ["calls"],
        },
        reason=marks("correction_reason"),
    )
    attachments.add_attachment(
        actor=world.coordinator,
        entry=corrected,
        upload=SimpleUploadedFile(
            f"{marks('attachment_name')}.txt", marks("attachment_content").encode()
        ),
    )
    with capture(execute=True):
        for kind in ("incident_log", "action_plan", "assessment"):
            documents.request_document(actor=world.coordinator, case=case, kind=kind)
    assert set(Document.objects.filter(case=case).values_list("status", flat=True)) == {
        DocumentStatus.READY
    }
    services.close(actor=world.coordinator, case=case, reason="resolved")
    services.reopen(actor=world.coordinator, case=case, comment=marks("reopen"))
    case = services.close(
        actor=world.coordinator, case=case, reason="other", comment=marks("closing_comment")
    )
    Case.objects.filter(pk=case.pk).update(closed_at=years_ago(6))
    case.refresh_from_db()
    return case


def _rows_containing(needles) -> set[tuple[str, str]]:
    """(model, needle) for every row of every model in which a needle occurs."""
    found = set()
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.values_list(*fields).iterator():
            text = " ".join(str(value) for value in row)
            found.update((model._meta.label, n) for n in needles if n in text)
    return found


def _files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


def test_no_personal_data_is_left_anywhere_for_an_anonymised_case(
    world, django_capture_on_commit_callbacks, _media
):
    marks = Marks()
    case = _everything_on(world, marks, django_capture_on_commit_callbacks)
    secrets = [*marks.values(), CPR, case.cpr_encrypted, case.cpr_index]
    stored = _files(_media)
    kinds = {p.relative_to(_media).parts[0] for p in stored}

    # The test can fail: before, every string is somewhere, and so are the files.
    found_before = {needle for _model, needle in _rows_containing(secrets)}
    assert found_before == set(secrets) - {CPR, marks("attachment_content")}
    assert kinds == {"attachments", "documents", "chunks"}
    assert any(marks("attachment_content").encode() in p.read_bytes() for p in stored)
    assert AuditEntry.objects.filter(case=case).count() > 10

    run = confirm_and_run(world, django_capture_on_commit_callbacks)

    assert _rows_containing(secrets) == set()  # includes every AuditEntry row
    assert _files(_media) == []
    assert run.cases_anonymised == 1 and run.files_removed == len(stored)
    assert run.entries_removed == 2 and run.notes_removed == 1
    case.refresh_from_db()
    assert (case.cpr_encrypted, case.cpr_index, case.cpr_last4, case.birth_date) == (
        "",
        "",
        "",
        None,
    )
    assert not NetworkMeeting.objects.filter(case=case).exists()
    for model in (FilledForm, ActionPlan, IncidentEntry, Attachment, Document, IncidentLogChunk):
        assert not model.objects.filter(
            **({"entry__case": case} if model is Attachment else {"case": case})
        ).exists(), model
    # What statistics and the trail need stays.
    assert case.reference and case.municipality == world.municipality
    assert case.state == CaseState.CLOSED and case.closing_reason == "other"
    assert case.is_stalking is True and case.received_at and case.closed_at
    assert case.referrals.filter(kind=ReferralKind.TO_POLICE).exists()
    assert case.consents.count() == len(ConsentScope.values) + 1
    police_referral = case.referrals.get(kind=ReferralKind.TO_POLICE)
    assert police_referral.decline_reason == "[slettet]"
    onward = case.referrals.get(kind=ReferralKind.TO_EXTERNAL)  # the kind stays, the name goes
    assert (onward.to_external, onward.decline_reason, onward.reason) == ("[slettet]",) * 2 + ("",)


def test_an_anonymised_case_still_shows_on_every_page_that_can_show_it(
    client, world, django_capture_on_commit_callbacks
):
    marks = Marks()
    case = _everything_on(world, marks, django_capture_on_commit_callbacks)
    run = confirm_and_run(world, django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert case.anonymised_at is not None
    ref = case.reference
    pages = {
        world.visitator: [
            reverse("cases:detail", args=[ref]),
            reverse("cases:triage_dashboard"),
            reverse("cases:my_cases") + "?lukkede=1",
            reverse("stalkingpakke:incident_log", args=[ref]),
            reverse("stalkingpakke:timeline_chart", args=[ref]),
            reverse("stalkingpakke:action_plan", args=[ref]),
            reverse("stalkingpakke:tool_form", args=[ref, "checklist"]),
            reverse("stalkingpakke:tool_form", args=[ref, "assessment"]),
            reverse("stalkingpakke:tool_form", args=[ref, "typology"]),
        ],
        world.coordinator: [
            reverse("cases:detail", args=[ref]),
            reverse("cases:my_cases") + "?lukkede=1",
            reverse("cases:my_cases") + f"?lukkede=1&q={ref}",
        ],
        world.follow_up: [reverse("statistics")],
        world.admin: [
            reverse("audit:search") + f"?case={ref}",
            reverse("admin:cases_case_changelist"),
            reverse("admin:cases_case_change", args=[case.pk]),
            reverse("admin:cases_retentionrun_changelist"),
            reverse("admin:cases_retentionrun_change", args=[run.pk]),
            reverse("retention:run", args=[run.pk]),
            OVERVIEW,
        ],
    }
    for user, urls in pages.items():
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, f"{url} as {user.username}"
            body = b"".join(response) if response.streaming else response.content
            assert not [m for m in marks.values() if m.encode() in body], url
    client.force_login(world.coordinator)
    my_cases = client.get(reverse("cases:my_cases") + "?lukkede=1")
    assert case in my_cases.context["page"].object_list
    client.force_login(world.admin)
    trail = client.get(reverse("audit:search"), {"action": AuditAction.ANONYMISE})
    assert [(e.case_reference, e.username) for e in trail.context["page"].object_list] == [
        (ref, "admin")
    ]


# --- an anonymised case is finished for good ------------------------------------------------


def _anonymised(world, django_capture_on_commit_callbacks) -> Case:
    case = closed_case(world, closed_at=years_ago(6))
    confirm_and_run(world, django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert case.anonymised_at is not None
    return case


def test_an_anonymised_case_cannot_be_reopened_and_says_why(
    world, django_capture_on_commit_callbacks
):
    case = _anonymised(world, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError) as refused:
        services.reopen(actor=world.visitator, case=case, comment="Ny henvendelse")
    assert "anonymiseret" in str(refused.value.messages[0])
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED


def test_an_anonymised_case_gets_no_new_disqualification(world, django_capture_on_commit_callbacks):
    case = _anonymised(world, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError):
        services.disqualify(
            actor=world.visitator, case=case, user=world.first_contact, reason="Kender borgeren"
        )


def test_the_case_page_of_an_anonymised_case_offers_nothing_and_says_so(
    client, world, django_capture_on_commit_callbacks
):
    case = _anonymised(world, django_capture_on_commit_callbacks)
    client.force_login(world.visitator)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Sagen er anonymiseret" in page
    assert reverse("cases:reopen", args=[case.reference]) not in page
    assert reverse("cases:disqualify", args=[case.reference]) not in page
    assert client.get(reverse("cases:reopen", args=[case.reference])).status_code == 403


# --- one administrator alone cannot shorten the rule to reach recent cases ---------------------


def _organisation_form_data(world, years):
    return {
        "name": world.municipality.name,
        "kind": world.municipality.kind,
        "code": world.municipality.code,
        "police_district": world.police.pk,
        "retention_years": years,
        "units-TOTAL_FORMS": 0,
        "units-INITIAL_FORMS": 0,
    }


def test_a_rule_below_the_minimum_is_refused_in_the_admin(client, world, settings):
    settings.RETENTION_MIN_YEARS = 3
    client.force_login(world.admin)
    url = reverse("admin:cooperation_organisation_change", args=[world.municipality.pk])
    response = client.post(url, _organisation_form_data(world, 1))
    assert response.status_code == 200
    assert "kortere end 3 år" in response.content.decode()
    world.municipality.refresh_from_db()
    assert world.municipality.retention_years == 5


def test_a_change_of_the_rule_is_in_the_audit_trail(client, world):
    client.force_login(world.admin)
    url = reverse("admin:cooperation_organisation_change", args=[world.municipality.pk])
    assert client.post(url, _organisation_form_data(world, 7)).status_code == 302
    entry = AuditEntry.objects.filter(what__startswith="retention_years:").get()
    assert (entry.what, entry.user, entry.object_id) == (
        "retention_years:5->7",
        world.admin,
        str(world.municipality.pk),
    )


def test_a_rule_below_the_minimum_in_the_database_counts_as_the_minimum(world, settings):
    settings.RETENTION_MIN_YEARS = 3
    Organisation = type(world.municipality)
    Organisation.objects.filter(pk=world.municipality.pk).update(retention_years=1)
    world.municipality.refresh_from_db()
    two_years_ago = closed_case(world, closed_at=years_ago(2))
    four_years_ago = closed_case(world, closed_at=years_ago(4))
    due = set(retention.due_cases(world.municipality))
    assert four_years_ago in due and two_years_ago not in due
