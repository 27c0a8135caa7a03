"""What the police and DSC read about the people on a shared case (who is responsible, and how
to reach them), and what they do not read about each other."""

import pytest
from django.urls import reverse

from cases import services
from cases.models import ConsentPartner, ConsentScope, ReferralKind

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def _page(client, user, case):
    client.force_login(user)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("partner", ["police_contact", "dsc"])
def test_a_partner_reads_who_is_responsible_and_where_to_find_them(client, world, partner):
    case = world.active(police=True, dsc=True)
    html = _page(client, getattr(world, partner), case)
    assert world.coordinator.get_full_name() in html
    assert reverse("directory") in html


def test_dsc_finds_the_visitator_and_coordinator_of_the_municipalities_of_its_cases(client, world):
    world.active(dsc=True)
    client.force_login(world.dsc)
    html = client.get(reverse("directory")).content.decode()
    assert world.visitator.get_full_name() in html
    assert world.coordinator.get_full_name() in html
    # Andenkommune has no case DSC reads: its people are not listed.
    assert world.other_visitator.get_full_name() not in html


def test_dsc_does_not_learn_that_the_police_referred_the_citizen(client, world):
    """The police contact's mutual referral, joined to a case routed to DSC: neither the
    referral row nor the timeline tells DSC that the police were involved."""
    case = world.active(dsc=True)
    mutual = world.refer(actor=world.police_contact, reason="Anmeldelse på stationen")
    services.join_duplicate(actor=world.visitator, case=mutual, into=case)

    html = _page(client, world.dsc, case)

    assert world.police_contact.get_full_name() not in html
    assert world.police.name not in html
    assert world.first_contact.get_full_name() in html  # the municipality's own referral


def test_the_police_still_read_the_municipality_referral_and_their_own_mutual_one(client, world):
    case = world.active(police=True)
    mutual = world.refer(actor=world.police_contact, reason="Anmeldelse på stationen")
    services.join_duplicate(actor=world.visitator, case=mutual, into=case)
    html = _page(client, world.police_contact, case)
    assert world.first_contact.get_full_name() in html
    assert "Til politiet" in html
    assert html.count("Til stalkingvisitator") == 2


def test_dsc_does_not_read_that_the_police_answered_their_referral(world, client):
    both = [(partner, ConsentScope.CONTACT) for partner in ConsentPartner.values]
    case = world.triaged(consents=both, to_police=True, to_dsc=True)
    police_referral = case.referrals.get(kind=ReferralKind.TO_POLICE)
    services.respond_to_referral(actor=world.police_contact, referral=police_referral, accept=True)

    client.force_login(world.dsc)
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Til politiet" not in html
    assert world.police_contact.get_full_name() not in html
    assert world.police_contact.username not in html
