"""Attacks the second red-team review of session 7 tried and the system refused, kept so that
it stays so: the disqualification that follows the person through a police referral, a name
corrected away and back, forwarding, reopening, the acute alert, the referrer's list; a
partner reading a mark or a directory entry that is not theirs."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse

from cases import services
from cases.access import is_disqualified
from cases.models import CaseState, ConsentPartner, ConsentScope, Urgency
from cases.selectors import referrals_made_by
from tests.pages import opens

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAME = "Mette Sørensen"
CPR = "0101901234"


def _disqualify(world, case, user, actor=None):
    return services.disqualify(
        actor=actor or world.visitator, case=case, user=user, reason="Er stalkeren"
    )


def test_a_police_mutual_referral_about_the_person_inherits_the_disqualification(world, client):
    """Attack: the person who stalks (deputy visitator, disqualified on her case) waits for the
    police to refer her again (mutual referral). Safe and observed: the police's referral
    inherits the mark like a first contact's."""
    first = world.active(full_name=NAME, cpr=CPR)
    _disqualify(world, first, world.deputy_visitator)

    again = world.refer(actor=world.police_contact, full_name=NAME, cpr=CPR)

    assert is_disqualified(world.deputy_visitator, again)
    assert not opens(client, world.deputy_visitator, again)


def test_a_name_corrected_away_and_back_keeps_the_disqualification(world, client):
    """Attack: a name is corrected to another spelling and back (or to a wrong one, then
    right) hoping the mark falls off when the case stops matching. Safe and observed: marks
    are never removed by a correction, and a new referral still matches the other case."""
    birth = datetime.date(1990, 1, 1)
    first = world.active(full_name=NAME, birth_date=birth)
    second = world.in_triage(full_name=NAME, birth_date=birth)
    _disqualify(world, first, world.deputy_visitator)
    assert is_disqualified(world.deputy_visitator, second)

    services.update_person(actor=world.visitator, case=second, details={"full_name": "Mette S."})
    services.update_person(actor=world.visitator, case=second, details={"full_name": NAME})

    assert not opens(client, world.deputy_visitator, second)
    newest = world.refer(full_name="Mette S.", birth_date=birth)
    assert not is_disqualified(world.deputy_visitator, newest)  # not her by the rule
    services.update_person(actor=world.visitator, case=newest, details={"full_name": NAME})
    assert not opens(client, world.deputy_visitator, newest)


def test_a_forwarded_referral_inherits_the_receiving_municipalitys_marks(world, client):
    """Attack: Andenkommune's visitator is disqualified on the citizen's case there (the
    deputy handles it). Testkommune forwards a referral about her: the new case must not
    land with, or be read by, the disqualified visitator. Safe and observed."""
    from cooperation.models import Role

    from .factories import user_with_role

    deputy = user_with_role(Role.VISITATOR, world.other_municipality, deputy=True)
    there = world.refer(
        actor=world.other_visitator, municipality=world.other_municipality, full_name=NAME, cpr=CPR
    )
    there = services.triage(
        actor=world.other_visitator,
        case=services.start_triage(actor=world.other_visitator, case=there),
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.outsider_coordinator,
        to_police=False,
        to_dsc=False,
    )
    services.disqualify(actor=deputy, case=there, user=world.other_visitator, reason="Nabo")
    here = world.refer(full_name=NAME, cpr=CPR)

    new = services.forward_to_municipality(
        actor=world.visitator, case=here, municipality=world.other_municipality, comment="Flyttet"
    )

    assert new.responsible == deputy
    assert is_disqualified(world.other_visitator, new)
    assert not opens(client, world.other_visitator, new)


def test_reopening_the_persons_closed_case_skips_a_coordinator_disqualified_on_another(world):
    """Attack: the coordinator who closed the person's case E is later disqualified on her
    new case A; E is reopened. Safe and observed: the mark reached E, so E goes back to the
    visitator, not to the coordinator."""
    earlier = world.closed(full_name=NAME, cpr=CPR)
    later = world.refer(full_name=NAME, cpr=CPR)
    _disqualify(world, later, world.coordinator)

    earlier = services.reopen(actor=world.visitator, case=earlier, comment="Ny henvendelse")

    assert earlier.state == CaseState.IN_TRIAGE
    assert earlier.responsible == world.visitator


def test_the_acute_alert_for_a_new_referral_skips_a_deputy_disqualified_on_the_person(world):
    """Attack: the deputy visitator (the person who stalks) would be mailed 'akut henvisning'
    when the person is referred again in danger. Safe and observed: the new case inherits the
    mark before the alert is sent, so only the visitator is mailed."""
    for user in (world.visitator, world.deputy_visitator):
        user.email = f"{user.username}@kommune.example"
        user.save(update_fields=["email"])
    first = world.active(full_name=NAME, cpr=CPR)
    _disqualify(world, first, world.deputy_visitator)
    mail.outbox.clear()

    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        world.refer(full_name=NAME, cpr=CPR, urgency=Urgency.ACUTE)

    recipients = [address for message in mail.outbox for address in message.to]
    assert recipients == ["visitator@kommune.example"]


def test_my_referrals_freezes_the_referrers_row_once_they_are_disqualified_on_the_person(
    world, client
):
    """Attack: the first contact who referred her case B is then disqualified on her other
    case A; they watch "Mine henvisninger". Safe and observed: the mark reached B, and the
    row goes on as any row does (the name they typed, "Modtaget" when the triage starts),
    never how it ended. (Until session 8 the row vanished, and until session 9 it stopped at
    "Sendt", both of which told them they were marked: tests/test_my_referrals_marked.py.)"""
    referred = world.refer(full_name=NAME, cpr=CPR)
    first = world.active(full_name=NAME, cpr=CPR)
    _disqualify(world, first, world.first_contact)
    services.start_triage(actor=world.visitator, case=referred)

    row = referrals_made_by(world.first_contact).get(case=referred)
    assert row.answer_hidden
    client.force_login(world.first_contact)
    html = client.get(reverse("cases:my_referrals")).content.decode()
    assert referred.reference in html and "Modtaget" in html


def test_the_dsc_directory_forgets_the_municipality_once_the_consent_is_withdrawn(world, client):
    """Attack: DSC's directory lists the municipalities of the cases DSC reads; after the
    citizen withdraws the consent, the directory would still say where she is. Safe and
    observed (here the only DSC case of the other municipality)."""
    case = services.triage(
        actor=world.other_visitator,
        case=services.start_triage(
            actor=world.other_visitator,
            case=world.refer(
                actor=world.other_visitator,
                municipality=world.other_municipality,
                consents=[(ConsentPartner.DSC, ConsentScope.CONTACT)],
            ),
        ),
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.outsider_coordinator,
        to_police=False,
        to_dsc=True,
    )
    client.force_login(world.dsc)
    assert world.other_municipality.name in client.get(reverse("directory")).content.decode()

    consent = case.consents.get(partner=ConsentPartner.DSC, scope=ConsentScope.CONTACT)
    services.withdraw_consent(actor=world.other_visitator, consent=consent)

    assert world.other_municipality.name not in client.get(reverse("directory")).content.decode()


def test_a_partner_learns_nothing_of_the_disqualification_shared_from_another_case(world, client):
    """Attack: the police read a case that a disqualification on the person's other case
    reached (a DISQUALIFIED event is written on each). Safe and observed: partners never see
    that event, so they do not learn a colleague is in conflict with her."""
    case = world.active(full_name=NAME, cpr=CPR, police=True)
    other = world.refer(full_name=NAME, cpr=CPR)
    _disqualify(world, other, world.deputy_visitator)
    assert case.events.filter(kind="disqualified").exists()

    client.force_login(world.police_contact)
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Inhabilitet" not in html


def test_a_coordinators_onward_referrals_leave_their_list_once_disqualified_on_the_person(
    world, client
):
    """Attack: the coordinator referred the citizen onward (to the housing office) on case B,
    closed it, and is later found to be the person who stalks and disqualified on her new
    case A. Their "Mine henvisninger" listed the onward referral with her name and where she
    was sent. Safe and observed: the mark reached B, and the onward referral leaves the list
    as B leaves their "Mine sager" (closed cases shown): an onward referral is listed only
    while its maker may see the case (session 9), so the list tells them nothing their case
    list does not, and nothing of what happens to the referral after the mark."""
    from .factories import UnitFactory

    unit = UnitFactory(organisation=world.municipality, name="Boliganvisningen")
    earlier = world.active(full_name=NAME, cpr=CPR)
    services.refer_onward(actor=world.coordinator, case=earlier, unit=unit, reason="Ny bolig")
    services.close(actor=world.coordinator, case=earlier, reason="resolved")
    later = world.refer(full_name=NAME, cpr=CPR)
    client.force_login(world.coordinator)
    assert "Boliganvisningen" in client.get(reverse("cases:my_referrals")).content.decode()
    assert (
        earlier.reference in client.get(reverse("cases:my_cases") + "?lukkede=1").content.decode()
    )

    _disqualify(world, later, world.coordinator)

    assert "Boliganvisningen" not in client.get(reverse("cases:my_referrals")).content.decode()
    closed = client.get(reverse("cases:my_cases") + "?lukkede=1").content.decode()
    assert earlier.reference not in closed
