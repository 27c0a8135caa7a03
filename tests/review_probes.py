"""Probe tests from the end-of-session-5 mutation review (not collected: the file name does not
start with test_). Each passed on main and failed on one one-line mutation of access, audit or
service code that no test in the suite caught; test_the_tool_services_refuse_a_closed_case
fails on main (a real gap: save_form, save_action_plan and add_attachment accept a closed
case). Next session: fix that, fold these into the test files they belong to, delete this one.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import access, selectors, services
from cases.models import Referral
from cooperation.models import Role
from stalkingpakke import attachments, incident_log

pytestmark = pytest.mark.django_db


def _entry(world, case, actor=None):
    return incident_log.add_entry(
        actor=actor or world.coordinator,
        case=case,
        data={
            "occurred_at": datetime.datetime(2026, 3, 2, 21, 40, tzinfo=datetime.UTC),
            "what_happened": "Opkald",
            "behaviours": ["calls"],
        },
    )


# V1: download_attachment must look the attachment up on the case in the URL.
def test_an_attachment_id_of_another_case_answers_404_under_a_case_the_user_reads(
    client, world, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    secret_case = world.active()  # the coordinator's case, not shared with the police
    entry = _entry(world, secret_case)
    secret = attachments.add_attachment(
        actor=world.coordinator,
        entry=entry,
        upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4 hemmelig"),
    )
    shared = world.active(police=True)  # the police read this one's incident log
    client.force_login(world.police_contact)
    url = reverse("stalkingpakke:attachment", args=[shared.reference, secret.pk])
    assert client.get(url).status_code == 404


# A2: a grant left behind with a declined referral must not list the case either.
def test_a_declined_referral_keeps_the_case_out_of_the_partners_queryset_and_list(world, client):
    case = world.active(police=True)
    Referral.objects.filter(case=case, kind="to_police").update(
        status="declined", decline_reason="Ikke vores"
    )
    assert not access.cases_visible_to(world.police_contact).filter(pk=case.pk).exists()
    client.force_login(world.police_contact)
    assert case.reference not in client.get(reverse("cases:partner_cases")).content.decode()


# V2: the attachment download needs the incident-log scope, like the log itself.
def test_an_attachment_is_not_served_to_a_partner_without_the_incident_log_consent(
    client, world, settings, tmp_path
):
    from cases.models import ConsentPartner, ConsentScope

    settings.MEDIA_ROOT = tmp_path
    case = world.in_triage(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
        to_police=True,
    )
    entry = _entry(world, case)
    attachment = attachments.add_attachment(
        actor=world.coordinator, entry=entry, upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4 x")
    )
    client.force_login(world.police_contact)
    assert client.get(case.get_absolute_url()).status_code == 200  # reads the case
    log = reverse("stalkingpakke:incident_log", args=[case.reference])
    assert client.get(log).status_code == 404  # but not the log
    url = reverse("stalkingpakke:attachment", args=[case.reference, attachment.pk])
    assert client.get(url).status_code == 404


# SEL5: the dashboard's duplicate mark must not reveal a case the user is disqualified on.
def test_the_dashboard_duplicate_mark_ignores_a_case_the_user_is_disqualified_on(client, world):
    hidden = world.refer(cpr="010190-1234")
    services.disqualify(actor=world.visitator, case=hidden, user=world.deputy_visitator, reason="X")
    world.refer(cpr="010190-1234", full_name="Mette S.")
    client.force_login(world.deputy_visitator)
    assert "Mulig dublet" not in client.get(reverse("cases:triage_dashboard")).content.decode()
    client.force_login(world.visitator)
    assert "Mulig dublet" in client.get(reverse("cases:triage_dashboard")).content.decode()


# A13: a former coordinator still recorded as responsible on a closed case may not reopen it.
def test_a_coordinator_whose_role_ended_cannot_reopen_their_closed_case(world):
    from django.core.exceptions import PermissionDenied
    from django.utils import timezone

    from cooperation.models import RoleAssignment
    from cooperation.roles import forget_roles

    case = world.closed()
    assert case.responsible == world.coordinator
    RoleAssignment.objects.filter(user=world.coordinator).update(
        valid_to=timezone.localdate() - datetime.timedelta(days=1)
    )
    forget_roles(world.coordinator)
    with pytest.raises(PermissionDenied):
        services.reopen(actor=world.coordinator, case=case, comment="igen")


# P1 / P5: the tool services check who may act, not only the views.
@pytest.mark.parametrize("who", ["police_contact", "first_contact", "other_visitator"])
def test_the_tool_services_refuse_a_user_without_full_access(world, who, settings, tmp_path):
    from django.core.exceptions import PermissionDenied

    from stalkingpakke import services as tools

    settings.MEDIA_ROOT = tmp_path
    case = world.active(police=True)
    entry = _entry(world, case)
    actor = getattr(world, who)
    with pytest.raises(PermissionDenied):
        tools.save_form(actor=actor, case=case, kind="typology", answers={"type": "rejected"})
    with pytest.raises(PermissionDenied):
        tools.save_action_plan(
            actor=actor, case=case, goals="x", safety_measures="", next_review=None, items=[]
        )
    with pytest.raises(PermissionDenied):
        attachments.add_attachment(
            actor=actor, entry=entry, upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4 x")
        )


# Not a mutation: on main, do the tool services refuse a closed case?
def test_the_tool_services_refuse_a_closed_case(world, settings, tmp_path):
    from django.core.exceptions import PermissionDenied, ValidationError

    from stalkingpakke import services as tools

    settings.MEDIA_ROOT = tmp_path
    case = world.active()
    entry = _entry(world, case)
    case = services.close(actor=world.coordinator, case=case, reason="resolved")
    results = {}
    for name, call in {
        "save_form": lambda: tools.save_form(
            actor=world.coordinator, case=case, kind="typology", answers={"type": "rejected"}
        ),
        "save_action_plan": lambda: tools.save_action_plan(
            actor=world.coordinator,
            case=case,
            goals="efter lukning",
            safety_measures="",
            next_review=None,
            items=[],
        ),
        "add_attachment": lambda: attachments.add_attachment(
            actor=world.coordinator, entry=entry, upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4 x")
        ),
        "add_entry": lambda: _entry(world, case),
    }.items():
        try:
            call()
            results[name] = "accepted"
        except (PermissionDenied, ValidationError) as error:
            results[name] = type(error).__name__
    print(results)
    assert all(v != "accepted" for v in results.values()), results


def test_probe_status_in_the_declined_reason_test(world, client):
    from cases.models import ReferralStatus

    case = world.active(police=True)
    Referral.objects.filter(case=case).update(status=ReferralStatus.DECLINED, decline_reason="S")
    client.force_login(world.police_contact)
    assert client.get(case.get_absolute_url()).status_code == 404  # the page is a 404


def test_fixed_a_partner_does_not_read_why_a_referral_was_declined(world, client):
    from cases.models import ConsentPartner, ConsentScope

    SECRET = "Borgeren er indlagt på psykiatrisk afdeling"
    case = world.in_triage(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    case = services.decline_incoming(actor=world.visitator, case=case, reason=SECRET)
    case = services.reopen(actor=world.visitator, case=case, comment="Ny henvendelse")
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
        to_police=True,
    )
    client.force_login(world.police_contact)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    assert SECRET not in response.content.decode()
    client.force_login(world.visitator)
    assert SECRET in client.get(case.get_absolute_url()).content.decode()


def test_fixed_a_partner_does_not_learn_that_someone_was_disqualified(world, client):
    case = world.active(police=True)
    services.disqualify(actor=world.visitator, case=case, user=world.deputy_visitator, reason="X")
    client.force_login(world.police_contact)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    assert "disqualified" not in {e.kind for e in response.context["events"]}
    client.force_login(world.visitator)
    assert "disqualified" in {e.kind for e in client.get(case.get_absolute_url()).context["events"]}


# R7: a role that starts next week gives nothing today.
def test_a_role_that_starts_next_week_gives_no_access_today(world, client):
    from django.utils import timezone

    from cooperation.models import RoleAssignment

    from .factories import UserFactory

    case = world.refer()
    newcomer = UserFactory(username="newcomer")
    RoleAssignment.objects.create(
        user=newcomer,
        role=Role.VISITATOR,
        organisation=world.municipality,
        valid_from=timezone.localdate() + datetime.timedelta(days=7),
    )
    assert not access.cases_visible_to(newcomer).filter(pk=case.pk).exists()
    client.force_login(newcomer)
    assert client.get(case.get_absolute_url()).status_code == 404


# R3: a deactivated visitator is not given new referrals; the deputy is.
def test_a_referral_goes_to_the_deputy_when_the_visitator_is_deactivated(world):
    world.visitator.is_active = False
    world.visitator.save()
    case = world.refer()
    assert case.responsible == world.deputy_visitator


# SEL9: "my cases" lists the cases the user is responsible for, not every case they can see.
def test_my_cases_lists_only_the_cases_the_user_is_responsible_for(world):
    mine = world.in_triage()  # the visitator took it
    theirs = world.refer()  # received by the visitator too ...
    from cases.models import Case

    Case.objects.filter(pk=theirs.pk).update(responsible=world.deputy_visitator)
    refs = set(selectors.my_cases(world.visitator).values_list("reference", flat=True))
    assert mine.reference in refs and theirs.reference not in refs


# SEL10: the overdue count is about the triage queue, not active cases.
def test_an_active_case_past_its_triage_deadline_is_not_counted_overdue(world):
    from cases.models import Case

    case = world.active()
    Case.objects.filter(pk=case.pk).update(triage_deadline=datetime.date(2020, 1, 1))
    assert selectors.state_counts(world.visitator)["overdue"] == 0


# S18: join_duplicate writes its audit entry.
def test_join_duplicate_writes_an_audit_entry(world):
    from cases.models import AuditEntry

    first = world.refer(cpr="010190-1234")
    second = world.refer(cpr="0101901234")
    services.join_duplicate(actor=world.visitator, case=second, into=first)
    assert AuditEntry.objects.filter(
        case=second, what="join_duplicate", object_id=str(first.pk)
    ).exists()


def _police_case_with_contact_consent_only(world):
    from cases.models import ConsentPartner, ConsentScope

    case = world.in_triage(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    return services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
        to_police=True,
    )


# V6 / P8: a partner reads a document only within the consent; never the subject-access copy.
@pytest.mark.parametrize("kind", ["incident_log", "action_plan", "subject_access"])
def test_a_partner_gets_404_for_a_document_outside_the_consent(
    world, client, settings, tmp_path, kind
):
    from stalkingpakke.models import Document

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 test")
    case = _police_case_with_contact_consent_only(world)
    document = Document.objects.create(
        case=case, kind=kind, requested_by=world.coordinator, status="ready", file="x.pdf"
    )
    client.force_login(world.police_contact)
    for name in ("download_document", "document_status"):
        url = reverse(f"stalkingpakke:{name}", args=[case.reference, document.pk])
        assert client.get(url).status_code == 404, name


# V8: the incident-log chart needs the incident-log scope.
def test_the_timeline_chart_is_404_for_a_partner_without_the_incident_log_consent(world, client):
    case = _police_case_with_contact_consent_only(world)
    _entry(world, case)
    client.force_login(world.police_contact)
    url = reverse("stalkingpakke:timeline_chart", args=[case.reference])
    assert client.get(url).status_code == 404


# P4: saving a form writes its change entry.
def test_saving_a_form_writes_a_change_entry(world):
    from cases.models import AuditEntry
    from stalkingpakke import services as tools

    case = world.active()
    form = tools.save_form(
        actor=world.coordinator, case=case, kind="typology", answers={"type": "rejected"}
    )
    assert AuditEntry.objects.filter(
        case=case,
        action="change",
        what="form:typology",
        object_id=str(form.pk),
        user=world.coordinator,
    ).exists()


# P7: the incident log service refuses a closed case.
def test_the_incident_log_service_refuses_a_closed_case(world):
    from django.core.exceptions import ValidationError

    case = world.closed()
    with pytest.raises(ValidationError):
        _entry(world, case)


# H1 / H3 / H5: handover.
def test_handover_takes_the_leavers_grants_away_writes_an_audit_entry_and_leaves_closed_cases(
    world,
):
    from cases.models import AuditEntry, CaseUserObjectPermission
    from cooperation.models import RoleAssignment
    from cooperation.services import handover

    from .factories import UserFactory

    open_case = world.active()
    closed_case = world.closed()
    successor = UserFactory(username="newcoord")
    assignment = RoleAssignment.objects.get(user=world.coordinator, role=Role.COORDINATOR)
    new = handover(actor=world.admin, assignment=assignment, successor=successor)
    assert not CaseUserObjectPermission.objects.filter(
        user=world.coordinator, content_object=open_case
    ).exists()
    assert AuditEntry.objects.filter(
        what="handover", object_id=f"{assignment.pk}->{new.pk}", user=world.admin
    ).exists()
    closed_case.refresh_from_db()
    assert closed_case.responsible == world.coordinator  # history: who owned it when it closed


# V9: a document id of another case answers 404 under a case the user reads.
def test_a_document_id_of_another_case_answers_404(world, client, settings, tmp_path):
    from stalkingpakke.models import Document

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 test")
    secret_case = world.active()
    secret = Document.objects.create(
        case=secret_case,
        kind="incident_log",
        requested_by=world.coordinator,
        status="ready",
        file="x.pdf",
    )
    shared = world.active(police=True)
    client.force_login(world.police_contact)
    url = reverse("stalkingpakke:download_document", args=[shared.reference, secret.pk])
    assert client.get(url).status_code == 404
