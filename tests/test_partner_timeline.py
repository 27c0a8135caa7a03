"""What the police and DSC read of a case's timeline and referrals: that things happened, not
the free text written for the case's own people, nor what was agreed with the other partner."""

import pytest

from cases import services
from cases.models import ConsentPartner, ConsentScope, EventKind, ReferralStatus

pytestmark = pytest.mark.django_db

SECRET = "Borgeren er indlagt på psykiatrisk afdeling"


def _triaged(world, consents, **routes):
    return world.triaged(consents=consents, **routes)


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
    """The visitator declined the first referral; the citizen came back and the case went to
    the police, who read the case and that the referral was declined, not why."""
    case = world.in_triage(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    case = services.decline_incoming(actor=world.visitator, case=case, reason=SECRET)
    case = services.reopen(actor=world.visitator, case=case, comment="Ny henvendelse")
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.coordinator,
        to_police=True,
    )
    client.force_login(world.police_contact)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    assert EventKind.REFERRAL_DECLINED in {e.kind for e in response.context["events"]}
    assert ReferralStatus.DECLINED in {r.status for r in response.context["referrals"]}
    assert SECRET not in response.content.decode()
    client.force_login(world.coordinator)
    assert SECRET in client.get(case.get_absolute_url()).content.decode()


def test_a_partner_does_not_learn_that_someone_was_disqualified(world, client):
    case = world.active(police=True)
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Familie"
    )
    client.force_login(world.police_contact)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    assert EventKind.DISQUALIFIED not in {e.kind for e in response.context["events"]}
    client.force_login(world.visitator)
    response = client.get(case.get_absolute_url())
    assert EventKind.DISQUALIFIED in {e.kind for e in response.context["events"]}


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


def _referred_onward(world, case):
    """A department and an external actor, one declined: names, the ask and the answer."""
    from .factories import UnitFactory

    unit = UnitFactory(organisation=world.municipality, name="Boliganvisningen")
    services.refer_onward(actor=world.coordinator, case=case, unit=unit, reason=SECRET)
    lawyer = services.refer_onward(
        actor=world.coordinator, case=case, external="Advokatfirmaet Holm", reason="Tilhold"
    )
    services.record_onward_outcome(
        actor=world.coordinator,
        referral=lawyer,
        status=ReferralStatus.DECLINED,
        reason="Sagen er for lille til dem",
    )
    return ["Boliganvisningen", "Advokatfirmaet Holm", SECRET, "Sagen er for lille til dem"]


@pytest.mark.parametrize("partner", ["police_contact", "dsc"])
def test_a_partner_does_not_see_the_onward_referrals_their_events_or_reasons(
    world, client, partner
):
    """Even with every consent (the journal notes too): where else the municipality sent the
    citizen for help is its own work, not shared with police or DSC."""
    every = [(p, scope) for p in ConsentPartner.values for scope in ConsentScope.values]
    case = _triaged(world, consents=every, to_police=True, to_dsc=True)
    words = _referred_onward(world, case)

    client.force_login(getattr(world, partner))
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert not [word for word in words if word in html]
    assert {r.kind for r in response.context["referrals"]} <= {
        "to_visitator",
        "to_police",
        "to_dsc",
    }
    assert not {e.kind for e in response.context["events"]} & {"onward_referred", "onward_outcome"}
    assert "Henvist til afdeling" not in html and "Svar på henvisning" not in html


def test_the_coordinator_sees_the_onward_referrals_with_their_reasons(world, client):
    case = _triaged(world, consents=[], to_police=False)
    words = _referred_onward(world, case)
    client.force_login(world.coordinator)
    html = client.get(case.get_absolute_url()).content.decode()
    assert all(word in html for word in words)


def test_only_the_visitator_reads_that_someone_was_disqualified(world, client):
    """Not the coordinator either (fourth red-team review): who marks answers for it, and a
    coordinator who read it could probe for a person's marks by correcting a name."""
    case = world.active()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Familie"
    )
    client.force_login(world.coordinator)
    response = client.get(case.get_absolute_url())
    assert EventKind.DISQUALIFIED not in {e.kind for e in response.context["events"]}
    client.force_login(world.visitator)
    response = client.get(case.get_absolute_url())
    assert EventKind.DISQUALIFIED in {e.kind for e in response.context["events"]}
