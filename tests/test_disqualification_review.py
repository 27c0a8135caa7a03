"""A code review of the disqualification that follows the person (session 7): each test
failed on the code it reviewed and passes since the fix; the docstrings keep the defect."""

import datetime
from unittest import mock

import pytest
from django.db.models.query import QuerySet

from cases import services
from cases.access import is_disqualified
from cases.models import AuditEntry, Case, CaseEvent, Disqualification, EventKind, ReferralKind
from cases.retention import Removed, _scrub_case
from cooperation.models import Role, RoleAssignment
from tests.pages import opens

from .factories import user_with_role

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAME = "Mette Sørensen"
CPR = "0101901234"
OTHER_CPR = "0101903456"  # same birth date, another person


def test_readdressed_partner_referral_gives_the_new_holder_no_access(world, client):
    """Defect: _readdress_partner_referrals moves a waiting police referral to the next
    holder of the role but never grants them VIEW (only _route_to_partner grants, and only
    to the holders of that day). A deputy police contact appointed after the routing is
    mailed about a referral on a case they cannot open, so nobody can ever answer it.
    Expected: the new recipient opens the case. Observed: 404 (no grant)."""
    case = world.active(police=True)
    deputy = user_with_role(Role.POLICE_CONTACT, world.police, deputy=True, username="pol2")
    services.disqualify(
        actor=world.visitator, case=case, user=world.police_contact, reason="Er stalkeren"
    )
    referral = case.referrals.get(kind=ReferralKind.TO_POLICE)
    assert referral.to_user == deputy
    assert opens(client, deputy, case)


def test_name_and_birth_date_link_two_people_with_different_cpr_numbers(world):
    """Defect: looks_like matches name + birth date even when both cases carry a CPR
    number and the numbers differ (provably two people: common name, same birthday).
    The dashboard's duplicate *hint* is now an automatic action: disqualifying a second
    coordinator on X is refused because she owns Z, another citizen's case.
    Expected: the disqualification is registered on X only. Observed: TransitionError
    'owner' (and, had Z been in triage, Z would have been marked and handed over)."""
    first = world.active(full_name=NAME, cpr=CPR)
    coordinator2 = user_with_role(Role.COORDINATOR, world.municipality, username="coord2")
    other = world.in_triage(full_name=NAME, cpr=OTHER_CPR)
    services.triage(
        actor=world.visitator,
        case=other,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=coordinator2,
    )
    services.disqualify(actor=world.visitator, case=first, user=coordinator2, reason="Nabo")
    assert is_disqualified(coordinator2, first)
    assert not is_disqualified(coordinator2, other)


def test_mark_and_reason_written_onto_an_anonymised_case(world):
    """Defect: _persons_cases follows merged_into links to cases retention has anonymised
    (a joined duplicate is closed and anonymised years before the case kept). A later
    disqualification on the kept case creates a Disqualification with its free-text reason,
    a DISQUALIFIED event and an audit entry on the anonymised case (retention blanked every
    reason there; nothing may be added to it again).
    Expected: anonymised cases are left out of the group. Observed: a new mark with the
    reason 'Er borgerens ekspartner' on the anonymised case."""
    kept = world.in_triage(full_name=NAME, cpr=CPR)
    duplicate = world.refer(full_name=NAME, cpr=CPR)
    services.join_duplicate(actor=world.visitator, case=duplicate, into=kept)
    duplicate.refresh_from_db()
    _scrub_case(duplicate, Removed())
    assert duplicate.anonymised_at is not None
    events_before = CaseEvent.objects.filter(case=duplicate).count()

    services.disqualify(
        actor=world.visitator,
        case=kept,
        user=world.follow_up,
        reason="Er borgerens ekspartner",
    )

    assert not Disqualification.objects.filter(case=duplicate).exclude(reason="").exists()
    assert CaseEvent.objects.filter(case=duplicate).count() == events_before


def test_other_cases_of_the_person_are_changed_without_their_row_lock(world):
    """Defect (concurrency): _share_disqualifications loads the person's other cases with a
    plain SELECT (_persons_cases) and then writes them: Disqualification rows, and in
    _pass_to_another_visitator `_save(other, "responsible")`, which writes
    version = <stale version> + 1. Without select_for_update a concurrent start_triage,
    add_note or update_person on the other case interleaves: its version bump is lost (two
    writes leave the same version, so the optimistic check passes on a stale form) and the
    disqualified visitator can start triage on it between the read and the mark.
    Expected: every case the service writes is read with SELECT ... FOR UPDATE.
    Observed: the other case (handed to the deputy) was never locked."""
    first = world.active(full_name=NAME, cpr=CPR)
    again = world.refer(full_name=NAME, cpr=CPR)
    locked: set[int] = set()
    real_fetch = QuerySet._fetch_all

    def fetch(self):
        real_fetch(self)
        if self.model is Case and self.query.select_for_update:
            locked.update(obj.pk for obj in self._result_cache if isinstance(obj, Case))

    with mock.patch.object(QuerySet, "_fetch_all", fetch):
        services.disqualify(
            actor=world.deputy_visitator, case=first, user=world.visitator, reason="Stalker"
        )
    again.refresh_from_db()
    assert again.responsible == world.deputy_visitator  # it was written
    assert again.pk in locked


def test_forward_refused_with_a_message_about_the_other_municipalitys_case(world):
    """Defect: forward_to_municipality calls _share_disqualifications(new_case) in the
    receiving municipality; when a mark the referral brings names the responsible of an
    active case of the person there, the forward raises 'owner'. The forwarding visitator
    (municipality A) cannot hand over B's case, and the message tells them that B has an
    open case about the citizen (which they must not learn). _open_referred_case promises
    'a referral is never refused for a conflict on another case'; a forward is one.
    Expected: the forward succeeds (the mark is shared where it can be, the owner conflict
    reported to B's visitator or left for B). Observed: TransitionError code 'owner'."""
    shared = user_with_role(Role.COORDINATOR, world.other_municipality, username="shared")
    RoleAssignment.objects.create(
        user=shared, role=Role.COORDINATOR, organisation=world.municipality
    )
    in_b = services.refer(
        actor=world.other_visitator,
        municipality=world.other_municipality,
        full_name=NAME,
        cpr=CPR,
        safe_contact="Kun sms",
    )
    in_b = services.start_triage(actor=world.other_visitator, case=in_b)
    services.triage(
        actor=world.other_visitator,
        case=in_b,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=shared,
    )
    in_a = world.refer(full_name=NAME, cpr=CPR)
    services.disqualify(actor=world.visitator, case=in_a, user=shared, reason="Ekspartner")

    new_case = services.forward_to_municipality(
        actor=world.visitator,
        case=in_a,
        municipality=world.other_municipality,
        comment="Borgeren er flyttet",
    )
    assert is_disqualified(shared, new_case)
    # B's own case is left to B: its owner cannot be marked, and the conflict is flagged.
    assert not is_disqualified(shared, in_b)
    flagged = AuditEntry.objects.get(case=in_b, what="disqualify_conflict")
    assert flagged.flagged and flagged.object_id == str(shared.pk)


def test_handover_event_names_a_disqualified_visitator(world):
    """Defect (minor): _pass_to_another_visitator excludes only marks already written on
    the other case; marks of the same person not yet shared in the loop are not excluded,
    so the case is first handed to a visitator who is disqualified on the person (a
    HANDOVER event naming them, referrals re-addressed to them), then handed again.
    Expected: one handover, straight to the third visitator. Observed: two HANDOVER events,
    the first naming the disqualified deputy."""
    third = user_with_role(Role.VISITATOR, world.municipality, deputy=True, username="third")
    third.first_name, third.last_name = "Tredje", "Visitator"
    third.save()
    RoleAssignment.objects.filter(user=world.deputy_visitator).update(
        valid_from=datetime.date(2020, 1, 1)
    )  # the deputy before the third in current_holders' order
    first = world.active(full_name=NAME, cpr=CPR)
    services.disqualify(actor=third, case=first, user=world.visitator, reason="A")
    services.disqualify(actor=third, case=first, user=world.deputy_visitator, reason="B")
    # A new referral would avoid both; a case the CPR number is added to later is linked.
    later = world.refer(full_name="M. Sørensen")
    assert later.responsible == world.visitator
    services.update_person(actor=third, case=later, details={}, cpr=CPR)
    handovers = CaseEvent.objects.filter(case=later, kind=EventKind.HANDOVER)
    assert handovers.count() == 1


def test_reminder_shared_role_address_gets_the_count_of_the_disqualified(world):
    """Defect (minor leak): _reminder_recipients de-duplicates an address only within one
    count. Visitator and deputy sharing the role's mailbox (RoleAssignment.email) get two
    mails to it, with N and N-1; whoever reads the box learns a case exists that one of
    them is disqualified on. Expected: an address shared by several holders gets the
    smallest count once. Observed: two mails to the same address."""
    from django.core import mail

    from cases.tasks import remind_overdue_triage

    RoleAssignment.objects.filter(role=Role.VISITATOR, organisation=world.municipality).update(
        email="visitation@kommune.dk"
    )
    cases = [world.refer(full_name=f"Person {i}") for i in range(2)]
    services.disqualify(
        actor=world.visitator, case=cases[0], user=world.deputy_visitator, reason="Familie"
    )
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(
        triage_deadline=datetime.date(2000, 1, 1)
    )
    mail.outbox.clear()
    remind_overdue_triage()
    to_box = [m for m in mail.outbox if "visitation@kommune.dk" in m.to]
    assert len(to_box) == 1
