"""Referring an active case to the police or DSC after triage (services.refer_to_partner and
its confirmation page): within the citizen's consent, once at a time, audited, and the partner
reads what the consent allows, as when the visitator routes at triage."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases import services
from cases.access import cases_visible_to
from cases.models import (
    AuditEntry,
    CaseEvent,
    ConsentPartner,
    ConsentScope,
    EventKind,
    ReferralKind,
    ReferralStatus,
)
from cases.services import TransitionError

pytestmark = pytest.mark.django_db

POLICE, DSC = ConsentPartner.POLICE, ConsentPartner.DSC


def _active_without_partners(world):
    """Routed to the coordinator only: the citizen was not ready to involve anyone else."""
    return world.active()


def _consent(world, case, partner, *scopes):
    services.record_consent(
        actor=world.coordinator,
        case=case,
        partner=partner,
        scopes=scopes or (ConsentScope.CONTACT,),
    )


def _url(case, partner=POLICE):
    return reverse("cases:refer_partner", args=[case.reference, partner])


def test_the_coordinator_refers_to_the_police_once_the_citizen_consents(world):
    case = _active_without_partners(world)
    _consent(world, case, POLICE, ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG)

    referral = services.refer_to_partner(actor=world.coordinator, case=case, partner=POLICE)

    assert (referral.kind, referral.status, referral.to_user) == (
        ReferralKind.TO_POLICE,
        ReferralStatus.SENT,
        world.police_contact,
    )
    assert cases_visible_to(world.police_contact).filter(pk=case.pk).exists()
    assert CaseEvent.objects.filter(case=case, kind=EventKind.ROUTED).count() == 2
    assert AuditEntry.objects.filter(
        case=case, user=world.coordinator, what="refer:police"
    ).exists()


def test_dsc_too_and_the_visitator_may_do_it(world):
    case = _active_without_partners(world)
    _consent(world, case, DSC)

    referral = services.refer_to_partner(actor=world.visitator, case=case, partner=DSC)

    assert referral.to_user == world.dsc
    assert cases_visible_to(world.dsc).filter(pk=case.pk).exists()


def test_no_referral_without_consent_to_share_contact_details(world):
    case = _active_without_partners(world)
    _consent(world, case, POLICE, ConsentScope.INCIDENT_LOG)  # the log, not the contact

    with pytest.raises(ValidationError, match="samtykke"):
        services.refer_to_partner(actor=world.coordinator, case=case, partner=POLICE)
    assert not case.referrals.filter(kind=ReferralKind.TO_POLICE).exists()


def test_no_second_referral_while_one_is_waiting_or_accepted(world):
    case = world.active(police=True)  # routed to the police at triage

    with pytest.raises(ValidationError, match="allerede henvist"):
        services.refer_to_partner(actor=world.coordinator, case=case, partner=POLICE)


def test_a_declined_referral_can_be_made_again(world):
    case = world.active(police=True)
    referral = case.referrals.get(kind=ReferralKind.TO_POLICE)
    services.respond_to_referral(
        actor=world.police_contact, referral=referral, accept=False, reason="Ikke nu"
    )

    again = services.refer_to_partner(actor=world.coordinator, case=case, partner=POLICE)

    assert again.pk != referral.pk and again.status == ReferralStatus.SENT


def test_withdrawing_the_consent_completes_the_referral_and_a_new_consent_allows_a_new_one(
    world,
):
    case = world.active(police=True)
    contact = case.consents.get(partner=POLICE, scope=ConsentScope.CONTACT)

    services.withdraw_consent(actor=world.coordinator, consent=contact)

    assert case.referrals.get(kind=ReferralKind.TO_POLICE).status == ReferralStatus.COMPLETED
    assert not cases_visible_to(world.police_contact).filter(pk=case.pk).exists()
    _consent(world, case, POLICE)
    services.refer_to_partner(actor=world.coordinator, case=case, partner=POLICE)
    assert cases_visible_to(world.police_contact).filter(pk=case.pk).exists()


@pytest.mark.parametrize(
    "actor", ["police_contact", "dsc", "first_contact", "outsider_coordinator"]
)
def test_only_the_cases_owner_or_the_visitator_may_refer(world, actor):
    case = world.active(police=True, dsc=True)

    with pytest.raises(PermissionDenied):
        services.refer_to_partner(actor=getattr(world, actor), case=case, partner=POLICE)


def test_a_closed_case_is_not_referred(world):
    case = world.closed()
    with pytest.raises(TransitionError):
        services.refer_to_partner(actor=world.visitator, case=case, partner=POLICE)


def test_an_unknown_partner_is_refused(world):
    case = _active_without_partners(world)
    with pytest.raises(ValidationError):
        services.refer_to_partner(actor=world.coordinator, case=case, partner="press")


# -- the pages -------------------------------------------------------------------------------


def test_the_case_page_offers_the_referral_only_when_it_can_be_made(client, world):
    case = _active_without_partners(world)
    client.force_login(world.coordinator)
    assert _url(case) not in client.get(case.get_absolute_url()).content.decode()

    _consent(world, case, POLICE)
    html = client.get(case.get_absolute_url()).content.decode()
    assert _url(case) in html and _url(case, DSC) not in html


def test_the_confirmation_says_what_the_partner_will_read_and_is_a_read(client, world):
    case = _active_without_partners(world)
    _consent(world, case, POLICE, ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG)
    client.force_login(world.coordinator)

    html = client.get(_url(case)).content.decode()

    assert "Testpoliti" in html  # the police district the referral goes to
    assert str(ConsentScope.INCIDENT_LOG.label) in html
    assert str(ConsentScope.ACTION_PLAN.label) not in html
    assert AuditEntry.objects.filter(
        case=case, user=world.coordinator, what="case_form:refer_police"
    ).exists()
    assert not case.referrals.filter(kind=ReferralKind.TO_POLICE).exists()  # not before POST


def test_confirming_refers_and_returns_to_the_case(client, world):
    case = _active_without_partners(world)
    _consent(world, case, POLICE)
    client.force_login(world.coordinator)

    response = client.post(_url(case))

    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    assert case.referrals.filter(kind=ReferralKind.TO_POLICE, status=ReferralStatus.SENT).exists()


def test_an_unknown_partner_in_the_url_is_404(client, world):
    case = _active_without_partners(world)
    client.force_login(world.coordinator)

    assert client.get(_url(case, "presse")).status_code == 404


# -- the stalker who is also a partner's employee ---------------------------------------------


def _police_deputy(world):
    from cooperation.models import Role

    from .factories import user_with_role

    return user_with_role(Role.POLICE_CONTACT, world.police, deputy=True, username="deputypol")


def test_a_disqualified_partner_contact_is_passed_over_for_the_deputy(client, world):
    deputy = _police_deputy(world)
    case = _active_without_partners(world)
    services.disqualify(
        actor=world.visitator, case=case, user=world.police_contact, reason="Kender borgeren"
    )
    _consent(world, case, POLICE)

    referral = services.refer_to_partner(actor=world.coordinator, case=case, partner=POLICE)

    assert referral.to_user == deputy
    assert not cases_visible_to(world.police_contact).filter(pk=case.pk).exists()
    client.force_login(world.police_contact)
    assert case.reference not in client.get(reverse("cases:partner_cases")).content.decode()


def test_a_disqualified_user_sees_no_waiting_referral(client, world):
    case = world.active(police=True)  # the police contact got the referral at triage
    services.disqualify(
        actor=world.visitator, case=case, user=world.police_contact, reason="Kender borgeren"
    )

    client.force_login(world.police_contact)
    assert case.reference not in client.get(reverse("cases:partner_cases")).content.decode()


def test_withdrawal_records_when_and_by_whom_the_referral_ended(world):
    case = world.active(police=True)
    contact = case.consents.get(partner=POLICE, scope=ConsentScope.CONTACT)

    consent = services.withdraw_consent(actor=world.coordinator, consent=contact)

    referral = case.referrals.get(kind=ReferralKind.TO_POLICE)
    assert (referral.responded_at, referral.responded_by) == (
        consent.withdrawn_at,
        world.coordinator,
    )
