"""The rules a second mutation review found untested (session 8): each test here passed on
the code and failed on a one-line change to it that the rest of the suite let through (the
change is named in each docstring): the person's disqualification reaching every case and
grant, the mails that must not reach someone marked, the duplicate hints, the overdue
reminder's count, and a handover not blocked by closed cases."""

import datetime

import pytest

from cases import services
from cases.access import is_disqualified
from cases.models import (
    Case,
    CaseUserObjectPermission,
    Disqualification,
    ReferralKind,
    ReferralStatus,
)
from cooperation.models import Role, RoleAssignment
from tests.pages import opens

from .factories import user_with_role

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAME = "Mette Sørensen"
CPR = "0101901234"


def test_a_mark_on_a_later_case_reaches_the_case_a_duplicate_was_joined_into(world, client):
    """Mutant pc_merged_from (services._persons_cases: the `query |= Q(pk=item.merged_into_id)`
    line dropped): the person's case kept under another name (no CPR number) is reached only
    through the duplicate joined into it. A later referral with the CPR number is marked,
    and the mark must reach the kept, active case too."""
    kept = world.in_triage(full_name="M. S.")
    duplicate = world.refer(full_name=NAME, cpr=CPR)
    services.join_duplicate(actor=world.visitator, case=duplicate, into=kept)
    later = world.refer(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=later, user=world.deputy_visitator, reason="Er stalkeren"
    )
    assert is_disqualified(world.deputy_visitator, kept)
    assert not opens(client, world.deputy_visitator, kept)


def test_a_closed_case_owned_by_the_one_marked_does_not_block_the_mark(world, client):
    """Mutant sd_is_open (_share_disqualifications: `other.is_open and` dropped): the
    person's closed case, whose last responsible was the coordinator now found to be the
    stalker, refused the disqualification on the new referral ('owner'): the coordinator
    would keep every access."""
    old = world.closed(full_name=NAME, cpr=CPR)
    assert old.responsible == world.coordinator
    new = world.refer(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=new, user=world.coordinator, reason="Ekspartner"
    )
    assert Disqualification.objects.filter(case=new, user=world.coordinator).exists()
    assert Disqualification.objects.filter(case=old, user=world.coordinator).exists()


def test_a_shared_mark_takes_every_grant_on_the_other_case(world):
    """Mutants sd_revoke / sd_revoke_change (_share_disqualifications: the _revoke dropped,
    or CHANGE left out): the marked coordinator kept their view and change grants on the
    person's other case (access then rests on the Disqualification row alone)."""
    old = world.closed(full_name=NAME, cpr=CPR)
    assert (
        CaseUserObjectPermission.objects.filter(user=world.coordinator, content_object=old).count()
        == 2
    )
    new = world.refer(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=new, user=world.coordinator, reason="Ekspartner"
    )
    assert not CaseUserObjectPermission.objects.filter(
        user=world.coordinator, content_object=old
    ).exists()


def test_the_persons_case_in_triage_passes_to_the_deputy(world):
    """Mutant sd_in_triage (_share_disqualifications: IN_TRIAGE dropped from the states that
    pass to another visitator): a case of the person the visitator has started triage on was
    refused ('owner'), so the visitator found to be the stalker could not be disqualified."""
    active = world.active(full_name=NAME, cpr=CPR)
    started = world.in_triage(full_name=NAME, cpr=CPR)
    assert started.responsible == world.visitator
    services.disqualify(
        actor=world.deputy_visitator, case=active, user=world.visitator, reason="Stalker"
    )
    started.refresh_from_db()
    assert started.responsible == world.deputy_visitator
    assert Disqualification.objects.filter(case=started, user=world.visitator).exists()


def test_the_deputy_is_mailed_about_a_partner_referral_readdressed_to_them(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    """Mutants rp_alerted / rp_alert_commit (_readdress_partner_referrals: `alerted_at = None`
    or the _alert_after_commit dropped): the first police contact was mailed already; when
    the referral is readdressed to the deputy, the deputy must be mailed as well (at once,
    not only by the relay), or the referral waits unseen."""
    from django.utils import timezone

    deputy = user_with_role(Role.POLICE_CONTACT, world.police, deputy=True, username="pdeputy")
    deputy.email = "deputy@politi.example"
    deputy.save()
    case = world.active(full_name=NAME, cpr=CPR, police=True)
    case.referrals.update(alerted_at=timezone.now())  # the first contact was told
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.disqualify(
            actor=world.visitator, case=case, user=world.police_contact, reason="Stalker"
        )
    referral = case.referrals.get(kind=ReferralKind.TO_POLICE)
    assert referral.to_user == deputy
    assert referral.alerted_at is not None  # sent by the task queued after the commit
    assert [m.to for m in mailoutbox] == [["deputy@politi.example"]]


def test_the_persons_accepted_referral_in_triage_leaves_the_disqualified_visitator(world):
    """Mutant pv_accepted (_pass_to_another_visitator: ACCEPTED dropped): a case in triage
    (its referral accepted by start_triage) passed to the deputy kept its referral addressed
    to the visitator now found to be the stalker."""
    active = world.active(full_name=NAME, cpr=CPR)
    started = world.in_triage(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.deputy_visitator, case=active, user=world.visitator, reason="Stalker"
    )
    assert not started.referrals.filter(
        to_user=world.visitator, status__in=[ReferralStatus.SENT, ReferralStatus.ACCEPTED]
    ).exists()
    assert started.referrals.filter(to_user=world.deputy_visitator).exists()


def test_a_cpr_number_added_to_a_case_with_the_birth_date_already_ties_it_to_the_person(
    world, client
):
    """Mutant up_cpr_share (update_person: "cpr_index" dropped from the fields that share the
    person's disqualifications): a case referred under another spelling with the right birth
    date gets the CPR number; only the CPR fields change, and the deputy, disqualified on
    the person's case, kept reading the case and its safe contact."""
    marked = world.active(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=marked, user=world.deputy_visitator, reason="Stalker"
    )
    later = world.refer(full_name="M. Sørensen", birth_date=datetime.date(1990, 1, 1))
    assert opens(client, world.deputy_visitator, later)
    changed = services.update_person(actor=world.visitator, case=later, details={}, cpr=CPR)
    assert "birth_date" not in changed and "cpr_index" in changed
    assert not opens(client, world.deputy_visitator, later)


def _overdue(*cases):
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(
        triage_deadline=datetime.date(2000, 1, 1)
    )


def test_a_shared_role_mailbox_is_told_the_smallest_count(world):
    """Mutant tk_max (_reminder_recipients: min -> max): the role's mailbox shared by the
    visitator and the deputy got the larger count, which tells the deputy (who
    reads the box) that a case they are disqualified on exists and is late."""
    from django.core import mail

    from cases.tasks import remind_overdue_triage

    RoleAssignment.objects.filter(role=Role.VISITATOR, organisation=world.municipality).update(
        email="visitation@kommune.dk"
    )
    cases = [world.refer(full_name=f"Person {i}") for i in range(2)]
    services.disqualify(
        actor=world.visitator, case=cases[0], user=world.deputy_visitator, reason="Familie"
    )
    _overdue(*cases)
    mail.outbox.clear()
    remind_overdue_triage()
    [to_box] = [m for m in mail.outbox if "visitation@kommune.dk" in m.to]
    assert " 1 henvisninger" in to_box.body


def test_the_reminder_counts_only_the_municipalitys_own_overdue_referrals(world):
    """Mutant tk_muni (_reminder_recipients: `overdue.filter(municipality=...)` dropped): the
    visitator's count included the other municipality's overdue referrals."""
    from django.core import mail

    from cases.tasks import remind_overdue_triage

    world.visitator.email = "v@example.invalid"
    world.visitator.save()
    own = world.refer(full_name="Person A")
    theirs = [
        services.refer(
            actor=world.other_visitator,
            municipality=world.other_municipality,
            full_name=f"Person {i}",
            safe_contact="Kun sms",
        )
        for i in "BC"
    ]
    _overdue(own, *theirs)
    mail.outbox.clear()
    remind_overdue_triage()
    [to_visitator] = [m for m in mail.outbox if "v@example.invalid" in m.to]
    assert " 1 henvisninger" in to_visitator.body


def test_the_join_notice_goes_to_the_cases_own_coordinator_only(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    """Mutant al_holder_user (alerts._holder_address: `.filter(user_id=user_id)` dropped):
    the notice about a new referral joined into the case went to the municipality's first
    coordinator, not the one responsible for the case."""
    from django.utils import timezone

    from cases.models import Referral

    coordinator2 = user_with_role(Role.COORDINATOR, world.municipality, username="coord2")
    RoleAssignment.objects.filter(user=world.coordinator).update(email="first@kommune.example")
    RoleAssignment.objects.filter(user=coordinator2).update(email="second@kommune.example")
    case = world.in_triage(full_name=NAME, cpr=CPR)
    case = services.triage(
        actor=world.visitator, case=case, is_stalking=True, reasoning="S", coordinator=coordinator2
    )
    duplicate = world.refer(full_name=NAME, cpr=CPR)
    Referral.objects.update(alerted_at=timezone.now())
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.join_duplicate(actor=world.visitator, case=duplicate, into=case)
    assert [m.to for m in mailoutbox] == [["second@kommune.example"]]


def test_a_closed_case_the_leaver_triaged_does_not_block_the_handover(world):
    """Mutants ho_held_closed / ho_held_status (cooperation.services._cases_held_in: closed
    cases counted as held, or referrals in any status): a disqualification on a case the
    leaving visitator closed long ago (nothing of it moves) refused the whole handover, so
    the municipality could not replace its visitator."""
    from cooperation.services import handover

    from .factories import UserFactory

    case = world.in_triage()
    services.triage(actor=world.visitator, case=case, is_stalking=False, reasoning="Ikke stalking")
    successor = UserFactory(username="successor")
    services.disqualify(actor=world.deputy_visitator, case=case, user=successor, reason="Nabo")
    assignment = RoleAssignment.objects.get(user=world.visitator, role=Role.VISITATOR)
    handover(actor=world.admin, assignment=assignment, successor=successor)
    assert RoleAssignment.objects.current().filter(user=successor, role=Role.VISITATOR).exists()
    case.refresh_from_db()
    assert case.responsible == world.visitator  # a closed case stays where it was


def test_a_duplicate_already_joined_is_not_offered_again_as_a_duplicate(world):
    """Mutant pd_merged (selectors.possible_duplicates: `.exclude(closing_reason="merged")`
    dropped): the referral already joined into the case was listed again as a possible
    duplicate of the person's next referral (a hint to join into a case closed as merged)."""
    from cases.selectors import possible_duplicates

    kept = world.in_triage(full_name=NAME, cpr=CPR)
    duplicate = world.refer(full_name=NAME, cpr=CPR)
    services.join_duplicate(actor=world.visitator, case=duplicate, into=kept)
    later = world.refer(full_name=NAME, cpr=CPR)
    assert list(possible_duplicates(later, world.visitator)) == [kept]


def test_the_duplicate_hints_leave_out_a_case_the_reader_is_disqualified_on(world):
    """Mutant pd_visible (selectors.possible_duplicates: cases_visible_to(user) replaced by
    Case.objects): a look-alike with another CPR number (a hint, not the same person, so not
    marked) listed the case the deputy is disqualified on, naming it to the one who must not
    know of it."""
    from cases.selectors import possible_duplicates

    hidden = world.active(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=hidden, user=world.deputy_visitator, reason="Stalker"
    )
    look_alike = world.refer(full_name=NAME, cpr="0101903456")  # same birth date
    assert hidden in possible_duplicates(look_alike, world.visitator)
    assert hidden not in possible_duplicates(look_alike, world.deputy_visitator)


def test_the_acute_alert_is_not_mailed_to_a_visitator_disqualified_on_the_person(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    """Mutant al_visitator_disq (alerts.visitator_addresses: the exclude of those
    disqualified on the case dropped): the visitator found to be the person who stalks was
    mailed that an acute referral (the citizen in danger) had come about her."""
    from cases.models import Urgency

    world.visitator.email = "v@example.invalid"
    world.visitator.save()
    world.deputy_visitator.email = "d@example.invalid"
    world.deputy_visitator.save()
    first = world.active(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.deputy_visitator, case=first, user=world.visitator, reason="Stalker"
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        world.refer(full_name=NAME, cpr=CPR, urgency=Urgency.ACUTE)
    assert [m.to for m in mailoutbox] == [["d@example.invalid"]]


def test_two_referrals_with_only_the_same_name_are_not_one_person(world, client):
    """Mutant ll_birth (selectors.looks_like: `if birth_date:` -> `if True:`): two namesakes
    known by name only (no birth date, no CPR number) were taken for one person: the deputy
    disqualified on one citizen's case lost the other citizen's case as well."""
    one = world.refer(full_name=NAME)
    other = world.refer(full_name=NAME)
    services.disqualify(actor=world.visitator, case=one, user=world.deputy_visitator, reason="Nabo")
    assert not Disqualification.objects.filter(case=other).exists()
    assert opens(client, world.deputy_visitator, other)
