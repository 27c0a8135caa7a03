"""Skift ansvarlig: handing one active case to another coordinator (services.reassign and its
page). The visitator, or the responsible coordinator with their own case; the former one's
grants and open referral end, the new one is granted, referred (their "waiting for you") and
mailed; a HANDOVER on the timeline and one audit entry of ids. Afterwards the former
coordinator can be disqualified, which the disqualify page now points to."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases import services
from cases.access import Action, cases_visible_to, may
from cases.models import (
    AuditAction,
    AuditEntry,
    CaseEvent,
    CaseState,
    Disqualification,
    EventKind,
    Referral,
    ReferralKind,
    ReferralStatus,
)
from cases.selectors import referrals_waiting_for
from cases.services import TransitionError
from cooperation.models import Role, RoleAssignment
from tests.mail import as_sent

from .factories import UnitFactory, user_with_role

pytestmark = pytest.mark.django_db

User = get_user_model()
NEW_ADDRESS = "ny.koordinator@kommune.example"
NAME = "Zenobia Kvasirhøj"


@pytest.fixture
def second(world):
    """A second coordinator in the municipality, in the acute service, with a role address."""
    user = user_with_role(Role.COORDINATOR, world.municipality, username="coordinator2")
    RoleAssignment.objects.filter(user=user).update(
        unit=UnitFactory(organisation=world.municipality, name="Akutteamet"), email=NEW_ADDRESS
    )
    return User.objects.get(pk=user.pk)


def _reassign(world, case, to_user, actor=None, reason="Sygemeldt i tre måneder"):
    return services.reassign(
        actor=actor or world.visitator, case=case, to_user=to_user, reason=reason
    )


def _perm(user, perm, case) -> bool:
    return User.objects.get(pk=user.pk).has_perm(f"cases.{perm}", case)


def _sees(user, case) -> bool:
    return cases_visible_to(user).filter(pk=case.pk).exists()


# --- the service ------------------------------------------------------------------------------


def test_the_visitator_hands_the_case_to_another_coordinator(world, second):
    case = world.active()
    first_referral = case.referrals.get(kind=ReferralKind.TO_COORDINATOR)
    version = case.version

    result = _reassign(world, case, second)

    case.refresh_from_db()
    assert result.responsible == second == case.responsible
    assert case.state == CaseState.ACTIVE and case.version == version + 1
    # The former coordinator's grants are gone; the new one's are those routing gives.
    assert not _perm(world.coordinator, "view_case", case)
    assert not _perm(world.coordinator, "change_case", case)
    assert not _sees(world.coordinator, case)
    assert _perm(second, "view_case", case) and _perm(second, "change_case", case)
    assert _sees(second, case)
    # The former referral is completed by the actor; a new one waits for the new coordinator.
    first_referral.refresh_from_db()
    assert first_referral.status == ReferralStatus.COMPLETED
    assert first_referral.responded_by == world.visitator
    new = case.referrals.get(kind=ReferralKind.TO_COORDINATOR, status=ReferralStatus.SENT)
    assert new.to_user == second and new.from_user == world.visitator
    assert new.to_organisation == new.from_organisation == world.municipality
    assert new.reason == "Sygemeldt i tre måneder"
    assert list(referrals_waiting_for(second)) == [new]
    assert list(referrals_waiting_for(world.coordinator)) == []
    # The timeline names the new holder; the trail has one entry, of ids.
    [event] = CaseEvent.objects.filter(case=case, kind=EventKind.HANDOVER)
    assert event.actor == world.visitator
    assert event.summary == second.get_full_name()
    [entry] = AuditEntry.objects.filter(case_id=case.pk, what="reassign")
    assert entry.action == AuditAction.CHANGE and entry.user_id == world.visitator.pk
    assert entry.object_id == f"{world.coordinator.pk}->{second.pk}"


def test_the_coordinator_hands_over_their_own_case_and_loses_it(world, second):
    case = world.active()
    _reassign(world, case, second, actor=world.coordinator)
    case.refresh_from_db()
    assert case.responsible == second
    assert not _sees(world.coordinator, case)
    assert case.referrals.get(status=ReferralStatus.SENT).from_user == world.coordinator


def test_an_accepted_referral_of_the_former_coordinator_is_completed(world, second):
    case = world.active()
    referral = case.referrals.get(kind=ReferralKind.TO_COORDINATOR)
    services.respond_to_referral(actor=world.coordinator, referral=referral, accept=True)
    _reassign(world, case, second)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.COMPLETED
    assert (
        case.referrals.filter(kind=ReferralKind.TO_COORDINATOR, status__in=["sent", "accepted"])
        .get()
        .to_user
        == second
    )


def test_a_case_routed_only_to_a_partner_gets_a_coordinator(world, second):
    """Past triage with the visitator responsible (routed to DSC only): a coordinator can be
    given the case later; the visitator keeps their access by their role."""
    case = world.active(dsc=True, coordinator=False)
    _reassign(world, case, second)
    case.refresh_from_db()
    assert case.responsible == second
    assert _sees(world.visitator, case)
    assert _perm(world.dsc, "view_case", case)  # the partner's grant is untouched


def test_the_new_coordinator_is_mailed_once_without_personal_data(
    world, second, mailoutbox, django_capture_on_commit_callbacks
):
    case = world.active(full_name=NAME)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _reassign(world, case, second)
    [mail] = mailoutbox
    assert mail.to == [NEW_ADDRESS]
    assert reverse("cases:my_cases") in mail.body
    assert world.municipality.name in mail.body
    whole = "\n".join([mail.subject, mail.body, as_sent(mail)])
    for personal in (NAME, "Zenobia", case.reference, "Sygemeldt"):
        assert personal not in whole
    new = case.referrals.get(status=ReferralStatus.SENT)
    assert new.alerted_at is not None


def test_the_new_coordinator_declining_sends_the_case_back_to_the_visitator(world, second):
    case = world.active()
    _reassign(world, case, second)
    new = case.referrals.get(status=ReferralStatus.SENT)
    services.respond_to_referral(actor=second, referral=new, accept=False, reason="Ingen tid")
    case.refresh_from_db()
    assert case.state == CaseState.IN_TRIAGE
    assert case.responsible in (world.visitator, world.deputy_visitator)
    assert not _sees(second, case)


def test_after_the_handover_the_former_coordinator_can_be_disqualified(world, second):
    case = world.active()
    with pytest.raises(TransitionError) as refused:
        services.disqualify(actor=world.visitator, case=case, user=world.coordinator, reason="X")
    assert "Skift ansvarlig" in refused.value.messages[0]
    _reassign(world, case, second, reason="Inhabil")
    services.disqualify(
        actor=world.visitator, case=case, user=world.coordinator, reason="Kender borgeren"
    )
    assert Disqualification.objects.filter(case=case, user=world.coordinator).exists()


# --- refusals ---------------------------------------------------------------------------------


def _refusal(world, case, to_user, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        _reassign(world, case, to_user, **kwargs)
    return refused.value


def _nothing_changed(world, case):
    case.refresh_from_db()
    assert case.responsible == world.coordinator
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.HANDOVER).exists()
    assert not AuditEntry.objects.filter(case_id=case.pk, what="reassign").exists()
    assert _perm(world.coordinator, "change_case", case)


def test_a_reason_is_required(world, second):
    case = world.active()
    error = _refusal(world, case, second, reason="  ")
    assert error.message_dict == {"reason": ["Skriv en begrundelse."]}
    _nothing_changed(world, case)


def test_the_current_responsible_is_refused(world):
    case = world.active()
    error = _refusal(world, case, world.coordinator)
    assert error.message_dict == {
        "to_user": ["Den valgte koordinator er allerede ansvarlig for sagen."]
    }
    _nothing_changed(world, case)


@pytest.mark.parametrize("who", ["first_contact", "deputy_visitator", "outsider_coordinator"])
def test_someone_not_a_coordinator_in_the_municipality_is_refused(world, who):
    case = world.active()
    error = _refusal(world, case, getattr(world, who))
    assert error.message_dict == {
        "to_user": ["Den valgte person er ikke primær koordinator i kommunen."]
    }
    _nothing_changed(world, case)


def test_a_coordinator_whose_role_has_ended_is_refused(world, second):
    case = world.active()
    RoleAssignment.objects.filter(user=second).update(valid_to="2020-12-31")
    second = User.objects.get(pk=second.pk)
    error = _refusal(world, case, second)
    assert error.message_dict["to_user"] == [
        "Den valgte person er ikke primær koordinator i kommunen."
    ]


def test_a_coordinator_disqualified_on_the_case_is_refused(world, second):
    case = world.active()
    services.disqualify(actor=world.visitator, case=case, user=second, reason="Nabo")
    error = _refusal(world, case, second)
    assert error.message_dict == {"to_user": ["Den valgte koordinator er inhabil i sagen."]}
    _nothing_changed(world, case)


def test_a_coordinator_disqualified_on_another_case_of_the_person_is_refused(world, second):
    """The mark protects the person: one left on another of their cases (a conflict that could
    not be shared, _share_disqualifications) keeps the coordinator from this one too."""
    other = world.refer(full_name="Mette Sørensen", cpr="0707614285")
    case = world.active(full_name="Mette Sørensen", cpr="0707614285")
    Disqualification.objects.create(
        case=other, user=second, reason="Nabo", created_by=world.visitator
    )
    assert not Disqualification.objects.filter(case=case, user=second).exists()
    error = _refusal(world, case, second)
    assert error.message_dict == {
        "to_user": [
            "Den valgte koordinator er inhabil i en anden sag om borgeren og kan ikke få denne sag."
        ]
    }
    assert second not in [h.user for h in services.reassign_candidates(case)]
    _nothing_changed(world, case)


@pytest.mark.parametrize("state", ["refer", "in_triage", "closed"])
def test_only_an_active_case_can_be_reassigned(world, second, state):
    case = getattr(world, state)()
    with pytest.raises(TransitionError) as refused:
        _reassign(world, case, second)
    assert refused.value.code == "illegal_transition"
    assert "tillader ikke dette skridt" in refused.value.messages[0]
    assert not may(world.visitator, Action.REASSIGN, case)


@pytest.mark.parametrize("who", ["police_contact", "first_contact", "other_visitator"])
def test_others_may_not_reassign(world, second, who):
    case = world.active(police=True)
    with pytest.raises(PermissionDenied) as refused:
        _reassign(world, case, second, actor=getattr(world, who))
    assert str(refused.value) == "Du har ikke adgang til at gøre dette på sagen."


def test_a_coordinator_with_a_grant_but_not_responsible_may_not(world, second):
    case = world.active()
    _reassign(world, case, second)
    third = user_with_role(Role.COORDINATOR, world.municipality, username="coordinator3")
    services._grant(third, case, "view_case", "change_case")
    with pytest.raises(PermissionDenied):
        _reassign(world, case, world.coordinator, actor=third)


def test_a_disqualified_visitator_may_not(world, second):
    case = world.active()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Familie"
    )
    with pytest.raises(PermissionDenied):
        _reassign(world, case, second, actor=world.deputy_visitator)


def test_the_candidates_are_the_other_unmarked_coordinators(world, second):
    case = world.active()
    marked = user_with_role(Role.COORDINATOR, world.municipality, username="marked")
    services.disqualify(actor=world.visitator, case=case, user=marked, reason="Familie")
    assert {h.user for h in services.reassign_candidates(case)} == {second}


# --- the page ---------------------------------------------------------------------------------


def _url(case):
    return reverse("cases:reassign", args=[case.reference])


def test_the_case_page_offers_it_to_the_visitator_and_the_responsible_only(client, world, second):
    case = world.active(police=True)
    for user, shown in [(world.visitator, True), (world.coordinator, True)]:
        client.force_login(user)
        assert (_url(case) in client.get(case.get_absolute_url()).content.decode()) is shown
    client.force_login(world.police_contact)
    assert _url(case) not in client.get(case.get_absolute_url()).content.decode()
    in_triage = world.in_triage()
    client.force_login(world.visitator)
    assert _url(in_triage) not in client.get(in_triage.get_absolute_url()).content.decode()


def test_the_form_lists_the_eligible_coordinators_with_their_unit(client, world, second):
    case = world.active()
    marked = user_with_role(Role.COORDINATOR, world.municipality, username="marked")
    services.disqualify(actor=world.visitator, case=case, user=marked, reason="Familie")
    client.force_login(world.visitator)
    response = client.get(_url(case))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{second.pk}">{second.get_full_name()} (Akutteamet)</option>' in html
    assert f'<option value="{world.coordinator.pk}"' not in html  # the responsible
    assert f'<option value="{marked.pk}"' not in html
    assert "mister adgangen til sagen" in html
    assert "får besked på e-mail" in html
    assert AuditEntry.objects.filter(case_id=case.pk, what="case_form:reassign").count() == 1


def test_the_journey_through_the_page(
    client, world, second, mailoutbox, django_capture_on_commit_callbacks
):
    case = world.active()
    client.force_login(world.visitator)
    refused = client.post(_url(case), {"version": case.version, "to_user": "", "reason": ""})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "Vælg, hvem der skal være ansvarlig for sagen." in html
    assert "Skriv en begrundelse." in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url(case), {"version": case.version, "to_user": second.pk, "reason": "Sygemeldt"}
        )

    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    case.refresh_from_db()
    assert case.responsible == second
    page = client.get(case.get_absolute_url())
    [message] = [str(m) for m in page.context["messages"]]
    assert message == f"{second.get_full_name()} er nu ansvarlig for sagen og har fået besked."
    assert [mail.to for mail in mailoutbox] == [[NEW_ADDRESS]]
    # The new coordinator finds it waiting for their answer.
    client.force_login(second)
    assert reverse("cases:respond", args=[case.reference, Referral.objects.latest("pk").pk]) in (
        client.get(reverse("cases:my_cases")).content.decode()
    )


def test_the_coordinator_handing_over_lands_on_their_list(client, world, second):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(
        _url(case), {"version": case.version, "to_user": second.pk, "reason": "Orlov"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("cases:my_cases")
    assert client.get(case.get_absolute_url()).status_code == 404


def test_a_stale_form_is_refused(client, world, second):
    case = world.active()
    client.force_login(world.visitator)
    response = client.post(
        _url(case), {"version": case.version - 1, "to_user": second.pk, "reason": "Orlov"}
    )
    assert response.status_code == 200
    assert "ændret af en anden" in response.content.decode()
    case.refresh_from_db()
    assert case.responsible == world.coordinator


def test_without_another_coordinator_the_page_says_so(client, world):
    case = world.active()
    client.force_login(world.visitator)
    html = client.get(_url(case)).content.decode()
    assert "Der er ingen anden primær koordinator i kommunen" in html
    assert 'name="to_user"' not in html


def test_the_disqualify_page_points_to_the_new_page(client, world, second):
    case = world.active()
    client.force_login(world.visitator)
    response = client.post(
        reverse("cases:disqualify", args=[case.reference]),
        {"user": world.coordinator.pk, "reason": "Kender borgeren", "bekraeft": "1"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<a href="{_url(case)}">' in html
    assert "»Skift ansvarlig«" in html
    assert not Disqualification.objects.exists()
    # Sent back refused: one read of the form, no change.
    assert [e.what for e in AuditEntry.objects.filter(case_id=case.pk).order_by("-pk")[:1]] == [
        "case_form:disqualify"
    ]
    assert not AuditEntry.objects.filter(case_id=case.pk, what="disqualify").exists()


def _refused_disqualification(client, world, case, user):
    client.force_login(world.visitator)
    response = client.post(
        reverse("cases:disqualify", args=[case.reference]),
        {"user": user.pk, "reason": "Kender borgeren", "bekraeft": "1"},
    )
    assert response.status_code == 200
    assert not Disqualification.objects.filter(user=user).exists()
    return response.content.decode()


def test_the_disqualify_page_links_to_the_other_case_of_the_person_the_user_is_responsible_for(
    client, world
):
    """The coordinator to be disqualified on a new referral owns the person's active case:
    the refusal says to hand that case over first, and links to it by its reference."""
    first = world.refer(full_name=NAME, cpr="0707614285")
    other = world.active(full_name=NAME, cpr="0707614285")

    html = _refused_disqualification(client, world, first, world.coordinator)

    assert "Overdrag den sag først" in html
    assert f'<a href="{other.get_absolute_url()}">' in html
    assert f"Gå til sag {other.reference}." in html


def test_the_refusal_names_no_other_case_the_visitator_may_not_see(client, world):
    """The visitator is disqualified on the person's other case (a mark that could not be
    shared): the refusal says what to do, not which case, nor where it is."""
    first = world.refer(full_name=NAME, cpr="0707614285")
    other = world.active(full_name=NAME, cpr="0707614285")
    Disqualification.objects.create(
        case=other, user=world.visitator, reason="Familie", created_by=world.deputy_visitator
    )
    assert not cases_visible_to(world.visitator).filter(pk=other.pk).exists()

    html = _refused_disqualification(client, world, first, world.coordinator)

    assert "Overdrag den sag først" in html
    assert other.reference not in html and other.get_absolute_url() not in html


def test_a_partner_reads_neither_the_handover_nor_its_reason(client, world, second):
    """The police read who is responsible now (as on any case page), not the handover event
    (access.hidden_events_for) nor the referral to the coordinator with its reason."""
    case = world.active(police=True)
    _reassign(world, case, second, reason="Kollega er i familie med den, der stalker")
    client.force_login(world.police_contact)
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Kollega er i familie" not in html
    assert str(EventKind.HANDOVER.label) not in html
    assert second.get_full_name() in html  # Ansvarlig
    client.force_login(world.visitator)
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Kollega er i familie" in html and str(EventKind.HANDOVER.label) in html


def test_a_visitator_who_is_responsible_is_not_told_they_lose_access(client, world, second):
    case = world.active(dsc=True, coordinator=False)
    client.force_login(world.visitator)
    html = client.get(_url(case)).content.decode()
    assert "mister adgangen" not in html
    assert "får besked på e-mail" in html


# "Mine henvisninger" after the case left them (fourth red-team review): a handover or an onward
# referral is listed only while its maker may see the case; a decline written by the new
# coordinator is for the case's own people.


def test_the_former_coordinator_does_not_read_the_new_coordinators_decline(client, world, second):
    case = world.active(full_name=NAME)
    services.reassign(actor=world.coordinator, case=case, to_user=second, reason="Sygemeldt")
    handover = case.referrals.get(kind=ReferralKind.TO_COORDINATOR, to_user=second)
    services.respond_to_referral(
        actor=second, referral=handover, accept=False, reason="Flyttet hemmeligt til Kvasirvej 12"
    )

    client.force_login(world.coordinator)
    assert client.get(case.get_absolute_url()).status_code == 404
    html = client.get(reverse("cases:my_referrals")).content.decode()
    assert "Kvasirvej 12" not in html and case.reference not in html


def test_the_former_coordinator_no_longer_follows_their_onward_referrals(client, world, second):
    case = world.active(full_name=NAME)
    onward = services.refer_onward(
        actor=world.coordinator, case=case, external="Krisecenter Sydhavn", reason="Husly"
    )
    client.force_login(world.coordinator)
    assert "Krisecenter Sydhavn" in client.get(reverse("cases:my_referrals")).content.decode()

    services.reassign(actor=world.visitator, case=case, to_user=second, reason="Inhabil")
    services.record_onward_outcome(
        actor=second, referral=onward, status="declined", reason="Anbragt på Krisecenter Zeta"
    )

    html = client.get(reverse("cases:my_referrals")).content.decode()
    assert "Krisecenter" not in html and case.reference not in html


def test_the_first_contacts_referral_stays_listed_whatever_the_case_becomes(client, world, second):
    case = world.active(full_name=NAME)
    services.reassign(actor=world.visitator, case=case, to_user=second, reason="Sygemeldt")

    client.force_login(world.first_contact)
    html = client.get(reverse("cases:my_referrals")).content.decode()
    assert case.reference in html and "Visiteret" in html
