"""A second red-team review (session 7) of the disqualification that follows the person, of
the partners and of the referrers: each test failed on the code it reviewed and passes since
the fix. The docstrings keep the attack and what was observed then."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.access import is_disqualified
from cases.models import ConsentPartner, ConsentScope
from cooperation.models import Role, RoleAssignment
from cooperation.services import handover
from tests.pages import opens

from .factories import UserFactory, user_with_role

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAME = "Mette Sørensen"
CPR = "0101901234"


def _page(client, user, case) -> str:
    client.force_login(user)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


# --- 1. Breaking the fix -------------------------------------------------------------------


def test_join_reaches_the_duplicates_own_earlier_cases_of_the_person(world, client):
    """Attack: the deputy visitator is disqualified on case I (registered under another
    name, "Anna Holm", say the citizen's former name). An older case E of the person exists
    under her CPR number. A new referral D with the CPR number arrives and the visitator
    joins D into I: the system now knows E, D and I are one person.
    Safe: the deputy's disqualification reaches E too (the person's other case).
    Observed: _share_disqualifications(into, case) only adds the cases that look like
    `into` and the duplicate itself, never the duplicate's own look-alikes: the deputy
    still opens E (the person's history, old safe contact, notes)."""
    older = world.active(full_name=NAME, cpr=CPR, safe_contact="Gammel adresse Vej 1")
    kept = world.in_triage(full_name="Anna Holm")
    services.disqualify(
        actor=world.visitator, case=kept, user=world.deputy_visitator, reason="Er stalkeren"
    )
    duplicate = world.refer(full_name=NAME, cpr=CPR)
    assert opens(client, world.deputy_visitator, older)  # not known to be her yet

    services.join_duplicate(actor=world.visitator, case=duplicate, into=kept)

    assert is_disqualified(world.deputy_visitator, duplicate)
    assert not opens(client, world.deputy_visitator, older)


def test_disqualifying_the_visitator_is_not_refused_for_a_new_referral_in_their_queue(world):
    """Attack (blocks work): the visitator is the person who stalks. Case A is active with
    the coordinator; a new referral B about the same person has just landed, and a
    referral's responsible is always the visitator. The deputy disqualifies the visitator
    on A.
    Safe: the disqualification is registered; the new referral B (still in the queue) is
    given to the deputy, as _open_referred_case would have done had the mark existed.
    Observed: _share_disqualifications raises 'owner' because the visitator is responsible
    for B, so the disqualification is refused on A as well (before 69c60fd it was
    allowed on A); the visitator keeps reading both cases and there is no per-case way to
    hand a queued referral to the deputy."""
    first = world.active(full_name=NAME, cpr=CPR)
    again = world.refer(full_name=NAME, cpr=CPR, safe_contact="Ny hemmelig 22 33 44 55")
    assert again.responsible == world.visitator

    services.disqualify(
        actor=world.deputy_visitator, case=first, user=world.visitator, reason="Er stalkeren"
    )

    again.refresh_from_db()
    assert is_disqualified(world.visitator, again)
    assert again.responsible == world.deputy_visitator


# --- 2. The partner (police contact, DSC advisor) ----------------------------------------


def _shared_with_both(world):
    both = [(partner, ConsentScope.CONTACT) for partner in ConsentPartner.values]
    return world.triaged(consents=both, to_police=True, to_dsc=True)


def test_dsc_does_not_learn_of_the_police_from_a_handover_on_the_timeline(world, client):
    """Attack: DSC reads a case also referred to the police (which DSC must not learn:
    access.referrals_shown_to, SUMMARY_FOR_FULL_ACCESS_ONLY hides ROUTED's summary). The
    police district's contact leaves and the administrator hands the role over.
    Safe: DSC's timeline does not name the new police officer (nor show an event that only
    a police handover makes).
    Observed: cooperation.services.handover writes a HANDOVER event with the successor's
    name on every case the police contact held a grant on; HANDOVER is in neither
    SUMMARY_FOR_FULL_ACCESS_ONLY nor hidden_events_for, so DSC reads 'Overdraget:
    <police officer>' (and the police read a DSC advisor's handover the same way)."""
    case = _shared_with_both(world)
    officer = UserFactory(username="nyofficer", first_name="Kirsten", last_name="Politibetjent")
    assignment = RoleAssignment.objects.get(user=world.police_contact, role=Role.POLICE_CONTACT)
    handover(actor=world.admin, assignment=assignment, successor=officer)

    html = _page(client, world.dsc, case)
    assert "Politibetjent" not in html


def test_the_police_do_not_learn_of_dsc_from_a_handover_on_the_timeline(world, client):
    """Attack: the mirror of the above: the DSC advisor's role is handed over; the police
    contact reads the case. Safe: no DSC advisor's name. Observed: 'Overdraget: <name>'."""
    case = _shared_with_both(world)
    advisor = UserFactory(username="nyraadgiver", first_name="Bente", last_name="Raadgiversen")
    assignment = RoleAssignment.objects.get(user=world.dsc, role=Role.DSC_ADVISOR)
    handover(actor=world.admin, assignment=assignment, successor=advisor)

    html = _page(client, world.police_contact, case)
    assert "Raadgiversen" not in html


# --- 3. The first contact who made a referral --------------------------------------------


def test_a_partner_referral_does_not_stay_addressed_to_the_disqualified_contact(world):
    """Attack (blocks work): the case is referred to the police; the officer it went to is
    then found to be the person who stalks (here on the person's other case, which now
    reaches this one) and is disqualified. The district has a deputy police contact.
    Safe: the waiting referral is answered by somebody who may: it is re-addressed to the
    deputy (as _route_to_partner would have chosen) or the deputy may answer it.
    Observed: the disqualification revokes the officer's grant but leaves the referral
    SENT to them; respond_to_referral accepts only to_user, who is now refused, so the
    referral can never be accepted or declined (the police deputy reads the case but
    'Besvar henvisningen' never shows for them)."""
    deputy = user_with_role(Role.POLICE_CONTACT, world.police, deputy=True, username="pdeputy")
    case = world.active(full_name=NAME, cpr=CPR, police=True)
    other = world.refer(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=other, user=world.police_contact, reason="Er stalkeren"
    )
    referral = case.referrals.get(kind="to_police")
    assert referral.status == "sent"

    referral.refresh_from_db()
    assert referral.to_user_id == deputy.pk
    assert referral.alerted_at is None  # the deputy is mailed as the first contact was
    services.respond_to_referral(actor=deputy, referral=referral, accept=True)
    referral.refresh_from_db()
    assert referral.status == "accepted"


def test_the_acute_advice_does_not_tell_the_referrer_to_call_the_disqualified_visitator(world):
    """Attack: the visitator is the person who stalks and is disqualified on the person's
    case. The person comes to the job centre in danger; the first contact makes an acute
    referral. The page then tells them whom to call.
    Safe: the advice names only visitators who may handle this case (here the deputy);
    the alert mail already leaves the disqualified one out (alerts.visitator_addresses).
    Observed: views._acute_advice lists every current visitator holder with a phone,
    the disqualified visitator first: the first contact, with the person in danger next to
    them, is told to ring the person who stalks."""
    from cases.models import Urgency
    from cases.views import _acute_advice

    RoleAssignment.objects.filter(user=world.visitator).update(phone="11 11 11 11")
    RoleAssignment.objects.filter(user=world.deputy_visitator).update(phone="22 22 22 22")
    first = world.active(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.deputy_visitator, case=first, user=world.visitator, reason="Er stalkeren"
    )

    acute = world.refer(full_name=NAME, cpr=CPR, urgency=Urgency.ACUTE)
    advice = _acute_advice(acute)

    assert "22 22 22 22" in advice
    assert "11 11 11 11" not in advice


def test_with_the_municipalitys_own_number_the_acute_advice_is_the_same_whatever_the_case(world):
    """Leaving out the disqualified visitator tells the referrer that the person has a case
    in which a visitator is marked (fourth red-team review). With the municipality's fixed
    number for the function, the advice names nobody and depends on no case."""
    from cases.models import Urgency
    from cases.views import _acute_advice

    RoleAssignment.objects.filter(user=world.visitator).update(phone="11 11 11 11")
    RoleAssignment.objects.filter(user=world.deputy_visitator).update(phone="22 22 22 22")
    world.municipality.visitation_phone = "33 33 33 33"
    world.municipality.save()
    first = world.active(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.deputy_visitator, case=first, user=world.visitator, reason="Er stalkeren"
    )

    victim = world.refer(full_name=NAME, cpr=CPR, urgency=Urgency.ACUTE)
    stranger = world.refer(full_name="Anna Andersen", cpr="0202801234", urgency=Urgency.ACUTE)

    assert _acute_advice(victim) == _acute_advice(stranger)
    assert "33 33 33 33" in _acute_advice(victim)
    for name_or_phone in ("11 11 11 11", "22 22 22 22", world.deputy_visitator.get_full_name()):
        assert name_or_phone not in _acute_advice(victim)


def test_a_police_contact_who_moved_district_no_longer_follows_the_old_districts_citizens(
    world, client
):
    """Attack: a police contact refers a citizen to Testkommune (mutual referral), then moves
    to another police district (the old role ends, a new one starts). Months later they open
    "Mine henvisninger".
    Safe: like the cases (test_access_follows_roles: access ends when a role moves), the
    referrals made in a role they no longer hold are no longer followed: not the citizen's
    name, nor how the referral fared since (accepted, forwarded where, closed).
    Observed: selectors.referrals_made_by filters on from_user only (referrals_waiting_for
    does check reachable_through_roles); the page opens because the new district's
    municipalities can be referred to, and shows the old district's citizen by name, with
    her referral's status updated after they left."""
    from cases.models import ReferralStatus
    from cooperation.models import OrganisationKind

    from .factories import OrganisationFactory

    case = world.refer(actor=world.police_contact, full_name=NAME)
    other_district = OrganisationFactory(
        name="Andet politi", code="APOL", kind=OrganisationKind.POLICE
    )
    OrganisationFactory(name="Fjernkommune", code="FJK", police_district=other_district)
    RoleAssignment.objects.filter(user=world.police_contact).update(
        valid_from=timezone.localdate() - datetime.timedelta(days=30),
        valid_to=timezone.localdate() - datetime.timedelta(days=1),
    )
    RoleAssignment.objects.create(
        user=world.police_contact,
        role=Role.POLICE_CONTACT,
        organisation=other_district,
        valid_from=timezone.localdate(),
    )
    services.start_triage(actor=world.visitator, case=case)
    assert case.referrals.get().status in (ReferralStatus.SENT, ReferralStatus.ACCEPTED)

    client.force_login(world.police_contact)
    response = client.get(reverse("cases:my_referrals"))
    assert response.status_code in (200, 403)
    assert NAME not in response.content.decode()


def test_a_disqualification_after_a_join_reaches_the_duplicate_joined_earlier(world, client):
    """Attack: a new referral D about the citizen (with her new secret number) came in under
    another spelling and was joined into her case I. Afterwards the deputy visitator is found
    to be the person who stalks and is disqualified on I.
    Safe: the deputy reads none of the person's cases, the closed duplicate D included (it
    keeps the referral's person details, new safe contact and all, and names I).
    Observed: _share_disqualifications groups by the duplicate rule (name+birth date / CPR)
    of I only; the cases joined into I (merged_into=I) are not in the group unless their
    details happen to match, so the deputy opens D and reads the new safe contact.
    (The mirror order, disqualify first and join later, is covered by
    test_disqualification_follows_person.py.)"""
    kept = world.in_triage(full_name="Anna Holm")
    duplicate = world.refer(full_name=NAME, safe_contact="Ny hemmelig 22 33 44 55")
    services.join_duplicate(actor=world.visitator, case=duplicate, into=kept)

    services.disqualify(
        actor=world.visitator, case=kept, user=world.deputy_visitator, reason="Er stalkeren"
    )

    assert not opens(client, world.deputy_visitator, duplicate)


def test_a_later_referral_like_the_joined_duplicate_inherits_the_kept_cases_disqualification(
    world, client
):
    """Attack: as above (D about "Mette Sørensen", born 1.1.1990, joined into her case I kept
    under another name; the deputy then disqualified on I). A third referral comes in with
    D's details and her newest safe contact.
    Safe: the new referral inherits the deputy's disqualification: the system knows D and I
    are one person, and D is like the new one.
    Observed: _open_referred_case collects marks from the cases that look like the new one:
    D, which never got the mark (it was made on I after the join), and not I: the deputy,
    the person who stalks, reads the newest referral and its safe contact in the queue."""
    birth = datetime.date(1990, 1, 1)
    kept = world.in_triage(full_name="Anna Holm")
    duplicate = world.refer(full_name=NAME, birth_date=birth)
    services.join_duplicate(actor=world.visitator, case=duplicate, into=kept)
    services.disqualify(
        actor=world.visitator, case=kept, user=world.deputy_visitator, reason="Er stalkeren"
    )

    newest = world.refer(full_name=NAME, birth_date=birth, safe_contact="Nyeste nr 44 55 66 77")

    assert is_disqualified(world.deputy_visitator, newest)
    assert not opens(client, world.deputy_visitator, newest)


def _routed_to_police_in_the_other_municipality(world, **person):
    case = world.refer(
        actor=world.other_visitator,
        municipality=world.other_municipality,
        consents=[(ConsentPartner.POLICE, s) for s in ConsentScope.values],
        **person,
    )
    case = services.start_triage(actor=world.other_visitator, case=case)
    return services.triage(
        actor=world.other_visitator,
        case=case,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.outsider_coordinator,
        to_police=True,
        to_dsc=False,
    )


def test_a_forwarded_in_disqualification_reaches_the_receiving_municipalitys_case(world, client):
    """Attack: Andenkommune already has an active case C about the citizen, shared with the
    district's police contact. Testkommune, where the police contact was found to be the
    person who stalks and disqualified, forwards its referral about her to Andenkommune: the
    new case N carries the disqualification (forward_to_municipality) and is, by the
    duplicate rule (same CPR), the same person as C.
    Safe: 'every case of the person in the municipality carries every disqualification any of
    them has' (services._share_disqualifications): the officer no longer reads C.
    Observed: _open_referred_case copies the municipality's marks into the new case 'one way
    only' and never shares the forwarded marks back to C: the officer keeps reading C."""
    older = _routed_to_police_in_the_other_municipality(world, full_name=NAME, cpr=CPR)
    assert opens(client, world.police_contact, older)
    here = world.refer(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=here, user=world.police_contact, reason="Er stalkeren"
    )

    new = services.forward_to_municipality(
        actor=world.visitator,
        case=here,
        municipality=world.other_municipality,
        comment="Borgeren er flyttet til Andenkommune.",
    )

    assert is_disqualified(world.police_contact, new)
    assert not opens(client, world.police_contact, older)


def test_a_disqualification_shared_to_another_case_is_in_that_cases_audit_trail(world):
    """Attack (hardening, audit completeness): the disqualification on case A is shared to
    the person's case B, taking away the deputy's access to B and writing a DISQUALIFIED
    event there. An administrator searching the audit trail for B (who changed what on it)
    should find the change.
    Safe: an audit entry on B names the change and the user marked (DESIGN section 5: 'every
    change is written to an append-only audit trail').
    Observed: _share_disqualifications writes the event on B but no audit entry;
    _audit_change is called for A only (disqualify, join_duplicate, update_person)."""
    from cases.models import AuditEntry

    first = world.active(full_name=NAME, cpr=CPR)
    second = world.in_triage(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=first, user=world.deputy_visitator, reason="Er stalkeren"
    )

    assert second.events.filter(kind="disqualified").exists()
    assert AuditEntry.objects.filter(case_id=second.pk, what__contains="disqualif").exists()
