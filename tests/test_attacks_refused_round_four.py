"""The fourth red-team review (session 9, on session 8's changes: Skift ansvarlig, the
disqualified visitator's hand-over, sealed searches, the flagged-access mail): the attacks the
code refused, kept so that it goes on refusing them. The attacks that worked are fixed and
tested where the fix is (README, "Session 9")."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.cpr import encrypt_cpr
from cases.list_search import SESSION_KEY
from cases.models import AuditEntry, Disqualification, ReferralKind
from cases.selectors import referrals_waiting_for
from cooperation.models import Organisation, Role, RoleAssignment
from tests.pages import opens

from .factories import UnitFactory, user_with_role

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAME = "Zenobia Kvasirhøj"
CPR = "0101901234"


@pytest.fixture
def second(world):
    return user_with_role(Role.COORDINATOR, world.municipality, username="coordinator2")


def _reassign_post(client, case, to_user_id, reason="Sygemeldt"):
    return client.post(
        reverse("cases:reassign", args=[case.reference]),
        {"to_user": to_user_id, "reason": reason, "version": case.version},
    )


# -- Skift ansvarlig --------------------------------------------------------------------------


def test_reassign_post_with_the_id_of_a_coordinator_marked_on_the_person_is_refused(
    world, client, second
):
    marked = user_with_role(Role.COORDINATOR, world.municipality, username="coordinator3")
    earlier = world.closed(full_name=NAME, cpr=CPR)
    services.disqualify(actor=world.visitator, case=earlier, user=marked, reason="Bror")
    case = world.active(full_name=NAME, cpr=CPR)
    client.force_login(world.visitator)

    response = _reassign_post(client, case, marked.pk)

    assert response.status_code == 200  # the form again, with an error
    case.refresh_from_db()
    assert case.responsible == world.coordinator
    assert not opens(client, marked, case)


@pytest.mark.parametrize("who", ["police_contact", "outsider_coordinator", "first_contact"])
def test_reassign_post_with_the_id_of_someone_not_a_coordinator_here_is_refused(world, client, who):
    case = world.active()
    client.force_login(world.visitator)

    assert _reassign_post(client, case, getattr(world, who).pk).status_code == 200
    case.refresh_from_db()
    assert case.responsible == world.coordinator


def test_a_coordinator_with_a_grant_who_is_not_responsible_cannot_open_skift_ansvarlig(
    world, client, second
):
    case = world.active()
    services._grant(second, case, "view_case", "change_case")
    client.force_login(second)

    assert client.get(reverse("cases:reassign", args=[case.reference])).status_code == 403
    assert _reassign_post(client, case, second.pk).status_code == 403


@pytest.mark.parametrize("who", ["other_visitator", "outsider_coordinator", "first_contact"])
def test_skift_ansvarlig_of_a_case_one_cannot_see_is_404(world, client, who):
    case = world.active()
    client.force_login(getattr(world, who))

    assert client.get(reverse("cases:reassign", args=[case.reference])).status_code == 404


def test_a_partner_cannot_reassign_a_case_shared_with_them(world, client, second):
    case = world.active(police=True)
    client.force_login(world.police_contact)

    assert client.get(reverse("cases:reassign", args=[case.reference])).status_code == 403
    assert _reassign_post(client, case, second.pk).status_code == 403


def test_a_disqualified_visitator_cannot_reassign_and_is_flagged(world, client, second):
    case = world.active()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Stalkeren"
    )
    client.force_login(world.deputy_visitator)

    assert _reassign_post(client, case, second.pk).status_code == 404
    assert AuditEntry.objects.filter(user=world.deputy_visitator, flagged=True).exists()
    case.refresh_from_db()
    assert case.responsible == world.coordinator


def test_after_the_handover_the_former_coordinator_reaches_nothing_of_the_case(
    world, client, second
):
    from stalkingpakke.models import Document, DocumentKind, DocumentStatus

    case = world.active()
    document = Document.objects.create(
        case=case,
        kind=DocumentKind.ACTION_PLAN,
        requested_by=world.coordinator,
        status=DocumentStatus.READY,
    )
    services.reassign(actor=world.visitator, case=case, to_user=second, reason="Orlov")
    client.force_login(world.coordinator)

    for url in (
        case.get_absolute_url(),
        reverse("stalkingpakke:incident_log", args=[case.reference]),
        reverse("stalkingpakke:action_plan", args=[case.reference]),
        reverse("stalkingpakke:download_document", args=[case.reference, document.pk]),
        reverse("stalkingpakke:document_status", args=[case.reference, document.pk]),
        reverse("cases:subject_access:page", args=[case.reference]),
    ):
        assert client.get(url).status_code == 404, url
    assert not referrals_waiting_for(world.coordinator).filter(case=case).exists()


def test_the_reassign_audit_entry_holds_ids_not_names(world, second):
    case = world.active(full_name=NAME)
    services.reassign(actor=world.visitator, case=case, to_user=second, reason="Orlov")

    entry = AuditEntry.objects.get(what="reassign")
    assert entry.object_id == f"{world.coordinator.pk}->{second.pk}"
    assert NAME not in f"{entry.what}{entry.object_id}{entry.purpose}"


def test_a_reassign_to_a_coordinator_who_declines_gives_the_case_back_not_to_the_former(
    world, client, second
):
    case = world.active()
    services.reassign(actor=world.coordinator, case=case, to_user=second, reason="Orlov")
    referral = case.referrals.get(kind=ReferralKind.TO_COORDINATOR, to_user=second)
    services.respond_to_referral(actor=second, referral=referral, accept=False, reason="Nej")

    case.refresh_from_db()
    assert case.responsible == world.visitator
    assert not opens(client, world.coordinator, case)
    assert not opens(client, second, case)


# -- Disqualification -------------------------------------------------------------------------


def test_disqualify_post_with_the_id_of_someone_outside_the_cooperation_is_refused(world, client):
    case = world.active()
    client.force_login(world.visitator)

    response = client.post(
        reverse("cases:disqualify", args=[case.reference]),
        {"user": world.outsider_coordinator.pk, "reason": "x"},
    )

    assert response.status_code == 200
    assert not Disqualification.objects.filter(case=case).exists()


def test_the_marked_visitator_responsible_before_triage_loses_the_case_to_the_deputy(world, client):
    case = world.in_triage(full_name=NAME)
    services.disqualify(actor=world.deputy_visitator, case=case, user=world.visitator, reason="x")

    case.refresh_from_db()
    assert case.responsible == world.deputy_visitator
    assert not opens(client, world.visitator, case)
    client.force_login(world.visitator)
    assert NAME not in client.get(reverse("cases:triage_dashboard")).content.decode()


def test_the_admin_cannot_delete_a_marked_account_to_wipe_its_marks(world, client):
    case = world.active(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Stalkeren"
    )
    client.force_login(world.admin)

    response = client.post(
        reverse("admin:auth_user_delete", args=[world.deputy_visitator.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert Disqualification.objects.filter(user=world.deputy_visitator).exists()


# -- Forms that take ids ----------------------------------------------------------------------


def test_triage_post_with_another_municipalitys_coordinator_is_refused(world, client):
    case = world.in_triage()
    client.force_login(world.visitator)

    response = client.post(
        reverse("cases:triage", args=[case.reference]),
        {
            "is_stalking": "yes",
            "reasoning": "Stalking",
            "coordinator": world.outsider_coordinator.pk,
            "version": case.version,
        },
    )

    assert response.status_code == 200
    assert not opens(client, world.outsider_coordinator, case)
    # Control: the same form with the municipality's own coordinator goes through.
    client.force_login(world.visitator)
    ok = client.post(
        reverse("cases:triage", args=[case.reference]),
        {
            "is_stalking": "yes",
            "reasoning": "Stalking",
            "coordinator": world.coordinator.pk,
            "version": case.version,
        },
    )
    assert ok.status_code == 302


def test_an_onward_referral_to_another_municipalitys_unit_is_refused(world, client):
    case = world.active()
    elsewhere = UnitFactory(organisation=world.other_municipality, name="Fremmed enhed")
    client.force_login(world.coordinator)

    client.post(
        reverse("cases:refer_onward", args=[case.reference]),
        {"recipient": "unit", "unit": elsewhere.pk, "reason": "Hjælp"},
    )

    assert not case.referrals.filter(to_unit=elsewhere).exists()
    with pytest.raises(Exception):  # noqa: B017, PT011 (the service's own refusal)
        services.refer_onward(actor=world.coordinator, case=case, unit=elsewhere, reason="x")


# -- Admin role audit -------------------------------------------------------------------------


def test_moving_someone_elses_role_assignment_onto_oneself_in_the_admin_is_flagged(world, client):
    assignment = RoleAssignment.objects.get(user=world.deputy_visitator)
    client.force_login(world.admin)

    response = client.post(
        reverse("admin:cooperation_roleassignment_change", args=[assignment.pk]),
        {
            "user": world.admin.pk,
            "role": "visitator",
            "organisation": world.municipality.pk,
            "unit": "",
            "is_deputy": "on",
            "phone": "",
            "email": "",
            "valid_from": assignment.valid_from.isoformat(),
            "valid_to": "",
        },
    )

    assert response.status_code == 302
    assert AuditEntry.objects.filter(
        what="role_assignment", user=world.admin, flagged=True
    ).exists()


def test_the_flagged_access_mail_names_no_case_and_no_user(world, client, settings):
    from cases.audit_notices import notify_flagged_access

    world.admin.email = "admin@kommune.example"
    world.admin.save()
    case = world.active(full_name=NAME)
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Stalkeren"
    )
    assert not opens(client, world.deputy_visitator, case)
    mail.outbox.clear()

    assert notify_flagged_access(now=timezone.now() + datetime.timedelta(minutes=10)) >= 1

    body = mail.outbox[0].subject + mail.outbox[0].body
    for secret in (case.reference, NAME, world.deputy_visitator.username):
        assert secret not in body


# -- Statistics, searches, 2FA ----------------------------------------------------------------


def test_statistics_of_a_municipality_not_followed_are_not_given(world, client):
    world.refer()
    other = Organisation.objects.get(pk=world.other_municipality.pk)
    for _ in range(6):
        services.refer(
            actor=user_with_role(Role.FIRST_CONTACT, other),
            municipality=other,
            full_name="Anden Borger",
            safe_contact="sms",
        )
    client.force_login(world.follow_up)

    response = client.get(reverse("statistics"), {"kommune": other.pk, "maaneder": 7})

    assert response.status_code == 200
    assert response.context["figures"].received == 1
    assert response.context["months"] == 12


def test_a_cpr_token_moved_into_the_session_does_not_open_as_a_search(world, client):
    world.refer(full_name="Anna Vestergaard")
    client.force_login(world.visitator)
    session = client.session
    session[SESSION_KEY] = {"triage": encrypt_cpr("0101901234")}  # sealed for purpose "cpr"
    session.save()

    html = client.get(reverse("cases:triage_dashboard")).content.decode()

    assert "Anna Vestergaard" in html  # no search applied
    assert "triage" not in client.session[SESSION_KEY]


def test_an_htmx_poll_before_the_second_factor_gets_no_document_data(world, client, settings):
    from stalkingpakke.models import Document, DocumentKind

    settings.OTP_REQUIRED = True
    case = world.active()
    document = Document.objects.create(
        case=case, kind=DocumentKind.ACTION_PLAN, requested_by=world.coordinator
    )
    client.force_login(world.coordinator)

    response = client.get(
        reverse("stalkingpakke:document_status", args=[case.reference, document.pk]),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("otp_setup"))
    assert not AuditEntry.objects.filter(case_reference=case.reference, what__contains="document")
