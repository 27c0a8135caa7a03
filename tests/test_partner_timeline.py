"""What the police and DSC read of a case's timeline and referrals: that things happened, not
the free text written for the case's own people, nor what was agreed with the other partner."""

import pytest

from cases import services
from cases.models import ConsentPartner, ConsentScope, Referral, ReferralStatus

pytestmark = pytest.mark.django_db

SECRET = "Borgeren er indlagt på psykiatrisk afdeling"


def _triaged(world, consents, **routes):
    """A case the visitator has triaged as stalking and routed to the coordinator (and, with
    to_police/to_dsc, to the partners)."""
    case = world.in_triage(consents=consents)
    return services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.coordinator,
        **routes,
    )


def _reopened_and_shared_with_police(world):
    case = _triaged(world, consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    case = services.close(actor=world.coordinator, case=case, reason="resolved")
    case = services.reopen(actor=world.coordinator, case=case, comment=SECRET)
    services.refer_to_partner(actor=world.coordinator, case=case, partner=ConsentPartner.POLICE)
    return case


def test_the_police_read_that_a_case_was_reopened_but_not_the_comment(world, client):
    case = _reopened_and_shared_with_police(world)
    client.force_login(world.police_contact)
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Genåbnet" in html
    assert SECRET not in html


def test_the_coordinator_reads_the_reopening_comment(world, client):
    case = _reopened_and_shared_with_police(world)
    client.force_login(world.coordinator)
    assert SECRET in client.get(case.get_absolute_url()).content.decode()


def test_a_partner_does_not_read_why_a_referral_was_declined(world, client):
    case = world.active(police=True)
    Referral.objects.filter(case=case).update(status=ReferralStatus.DECLINED, decline_reason=SECRET)
    client.force_login(world.police_contact)
    assert SECRET not in client.get(case.get_absolute_url()).content.decode()
    client.force_login(world.coordinator)
    assert SECRET in client.get(case.get_absolute_url()).content.decode()


def test_dsc_does_not_read_what_the_citizen_agreed_to_share_with_the_police(world, client):
    case = _triaged(world, consents=[(ConsentPartner.DSC, ConsentScope.CONTACT)], to_dsc=True)
    services.record_consent(
        actor=world.coordinator,
        case=case,
        partner=ConsentPartner.POLICE,
        scopes=[ConsentScope.INCIDENT_LOG],
    )
    client.force_login(world.dsc)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    kinds = {event.kind for event in response.context["events"]}
    assert not kinds & {"consent_given", "consent_withdrawn", "disqualified"}
    assert "Samtykke givet" not in response.content.decode()


def test_dsc_does_not_learn_that_the_case_was_also_referred_to_the_police(world, client):
    both = [(partner, ConsentScope.CONTACT) for partner in ConsentPartner.values]
    case = _triaged(world, consents=both, to_police=True, to_dsc=True)
    client.force_login(world.dsc)
    response = client.get(case.get_absolute_url())
    html = response.content.decode()
    assert world.police.name not in html
    assert world.police_contact.get_full_name() not in html
    assert {r.kind for r in response.context["referrals"]} <= {"to_visitator", "to_dsc"}
