"""Rules a third mutation review found untested (session 8; cases/access.py and the
statistics' disclosure control): each test passed on the code and failed on a one-line change
to it that the rest of the suite let through (named in the docstrings): declined and other
districts' routes, a user holding two roles, what partners read of the timeline, the owner-only
actions, the grant cache, and the statistics' hidden cells, period differences and shares."""

import datetime

import pytest
from django.utils import timezone

from cases import access, services, statistics
from cases.models import Case, ConsentPartner, ConsentScope, EventKind, ReferralKind
from cooperation.models import OrganisationKind, Role, RoleAssignment
from cooperation.roles import forget_roles

from .factories import OrganisationFactory, user_with_role
from .test_statistics import TODAY, _give_first_contact_a_unit, _month, _received, _triaged

pytestmark = pytest.mark.django_db


def _add_role(user, role, organisation):
    RoleAssignment.objects.create(
        user=user, role=role, organisation=organisation, valid_from=timezone.localdate()
    )
    forget_roles(user)


def _routed_to_both(world):
    """Shared with the police in full and with DSC only the contact details; routed to both."""
    consents = [(ConsentPartner.POLICE, s) for s in ConsentScope.values]
    consents.append((ConsentPartner.DSC, ConsentScope.CONTACT))
    return world.triaged(consents=consents, to_police=True, to_dsc=True)


# -- access.py ------------------------------------------------------------------------------


def test_a_declined_police_route_does_not_give_a_dsc_advisor_the_police_reading(world):
    """Mutant: _routed (the Python check behind level_for) forgets to leave out a declined
    referral. A DSC advisor who is also a police contact would read the case at the police's
    level, i.e. everything the citizen shared with the police, after the police declined."""
    case = _routed_to_both(world)
    services.respond_to_referral(
        actor=world.police_contact,
        referral=case.referrals.get(kind=ReferralKind.TO_POLICE),
        accept=False,
        reason="Ikke vores",
    )
    _add_role(world.dsc, Role.POLICE_CONTACT, world.police)
    case = access.cases_visible_to(world.dsc).get(pk=case.pk)

    assert access.level_for(world.dsc, case) == access.Level.DSC
    assert access.visible_scopes(world.dsc, case) == {ConsentScope.CONTACT}
    assert access.access_route(world.dsc, case) == "grant:dsc"


def test_a_police_route_to_another_district_does_not_count_for_this_police_contact(world):
    """Mutant: _routed forgets the organisation. A DSC advisor who is a police contact in
    another district would read the case routed to this district at the police's level."""
    case = _routed_to_both(world)
    elsewhere = OrganisationFactory(name="Andenpoliti", code="APOL", kind=OrganisationKind.POLICE)
    _add_role(world.dsc, Role.POLICE_CONTACT, elsewhere)
    case = access.cases_visible_to(world.dsc).get(pk=case.pk)

    assert access.level_for(world.dsc, case) == access.Level.DSC
    assert access.visible_scopes(world.dsc, case) == {ConsentScope.CONTACT}


def test_a_coordinator_who_is_also_a_dsc_advisor_still_reads_their_case(world, client):
    """Mutant: _grants_count_in replaces the coordinator's cases with the partner route
    instead of adding it (scope = routed). A coordinator who also advises at DSC would lose
    every case they coordinate (and, for someone police and DSC both, the police cases)."""
    case = world.active()
    _add_role(world.coordinator, Role.DSC_ADVISOR, world.dsc_org)

    assert access.cases_visible_to(world.coordinator).filter(pk=case.pk).exists()
    client.force_login(world.coordinator)
    assert client.get(case.get_absolute_url()).status_code == 200


def _dsc_page_event_kinds(world, client, case):
    client.force_login(world.dsc)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return {event.kind for event in response.context["events"]}, response.content.decode()


def test_dsc_does_not_read_that_a_police_consent_was_withdrawn(world, client):
    """Mutant: CONSENT_WITHDRAWN dropped from hidden_events_for. DSC would read "Samtykke
    trukket tilbage: Politiet", i.e. that the citizen had shared something with the police.
    (test_partner_timeline checks the kind too, but on a case where nothing was withdrawn.)"""
    case = world.triaged(consents=[(ConsentPartner.DSC, ConsentScope.CONTACT)], to_dsc=True)
    (consent,) = services.record_consent(
        actor=world.coordinator,
        case=case,
        partner=ConsentPartner.POLICE,
        scopes=[ConsentScope.INCIDENT_LOG],
    )
    services.withdraw_consent(actor=world.coordinator, consent=consent)

    kinds, _html = _dsc_page_event_kinds(world, client, case)
    assert EventKind.CONSENT_WITHDRAWN not in kinds
    assert case.events.filter(kind=EventKind.CONSENT_WITHDRAWN).exists()


def test_a_partner_without_the_journal_does_not_see_that_notes_were_written(world, client):
    """Mutant: NOTE_ADDED is not hidden when the citizen did not share the journal notes
    with the partner. DSC (contact details only) would see each note's entry on the timeline."""
    case = world.triaged(consents=[(ConsentPartner.DSC, ConsentScope.CONTACT)], to_dsc=True)
    services.add_note(actor=world.coordinator, case=case, text="Borgeren har ringet igen")

    kinds, html = _dsc_page_event_kinds(world, client, case)
    assert EventKind.NOTE_ADDED not in kinds
    assert "Borgeren har ringet igen" not in html


def test_a_partner_without_the_journal_does_not_see_that_a_meeting_was_corrected(world, client):
    """Mutant: NETWORK_MEETING_CHANGED dropped from the hidden events (NETWORK_MEETING
    kept). DSC, without the journal notes, would not see the meeting but would see its
    corrections, and with them that a meeting was held."""
    from .test_network_meetings import _record, _update

    case = world.triaged(consents=[(ConsentPartner.DSC, ConsentScope.CONTACT)], to_dsc=True)
    meeting = _record(world, case)
    _update(world, meeting, purpose="Rettet formål")
    assert case.events.filter(kind=EventKind.NETWORK_MEETING_CHANGED).exists()

    kinds, _html = _dsc_page_event_kinds(world, client, case)
    assert not kinds & {EventKind.NETWORK_MEETING, EventKind.NETWORK_MEETING_CHANGED}


def test_may_refuses_every_action_to_someone_disqualified(world):
    """Mutant: may() forgets is_disqualified. Today every caller reaches may() through
    cases_visible_to (which already leaves the case out), so this pins the rule itself: a
    visitator disqualified on a case may do nothing on it, whoever asks."""
    case = world.in_triage()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Familie"
    )
    case = Case.objects.get(pk=case.pk)
    assert access.may(world.visitator, access.Action.TRIAGE, case)
    assert access.allowed_actions(world.deputy_visitator, case) == set()


def test_a_successor_reads_a_closed_case_through_the_coordinators_grant(world, client):
    """Mutant: access_route loses its "grant:coordinator" branch. After a handover the
    successor holds the leaver's grants, also on a closed case that stays the leaver's
    (handover moves open cases only): they read it as coordinator, not responsible. With the
    branch gone the read would be written as through no route and flagged for the DPO."""
    from cases.models import AuditEntry
    from cooperation.services import handover

    from .factories import UserFactory

    case = world.closed()
    successor = UserFactory(username="successor")
    assignment = RoleAssignment.objects.get(user=world.coordinator, role=Role.COORDINATOR)
    handover(actor=world.admin, assignment=assignment, successor=successor)
    forget_roles(successor)
    case = Case.objects.get(pk=case.pk)
    assert case.responsible_id == world.coordinator.pk

    client.force_login(successor)
    assert client.get(case.get_absolute_url()).status_code == 200
    assert access.access_route(successor, case) == "grant:coordinator"
    entry = AuditEntry.objects.filter(case=case, user=successor).latest("id")
    assert entry.purpose == "grant:coordinator" and not entry.flagged


# What a partner reads of an event (cases.access): pinned kind by kind, the timeline's own
# tag rendering each. The free text of these is written for the case's own people.
SUMMARY_KEPT_FROM_PARTNERS = {
    EventKind.REOPENED,
    EventKind.REFERRAL_ACCEPTED,
    EventKind.REFERRAL_DECLINED,
    EventKind.MERGED,
    EventKind.ROUTED,
    EventKind.FORWARDED_OUT,
    EventKind.FORWARDED_IN,
    EventKind.PERSON_CHANGED,
    EventKind.REFERRED,
}
ACTOR_KEPT_FROM_PARTNERS = {
    EventKind.REFERRED,
    EventKind.REFERRAL_ACCEPTED,
    EventKind.REFERRAL_DECLINED,
    EventKind.FORWARDED_IN,
}


@pytest.mark.parametrize("kind", sorted(SUMMARY_KEPT_FROM_PARTNERS | ACTOR_KEPT_FROM_PARTNERS))
def test_a_partner_reads_neither_the_summary_nor_the_actor_of_these_events(world, kind):
    """Mutants: an element dropped from SUMMARY_FOR_FULL_ACCESS_ONLY or
    ACTOR_FOR_FULL_ACCESS_ONLY (e.g. PERSON_CHANGED: which of the person's details were
    corrected; FORWARDED_IN: the other municipality's visitator)."""
    from cases.models import CaseEvent
    from cases.templatetags.case_ui import timeline_item

    world.coordinator.first_name, world.coordinator.last_name = "Aksel", "Hvidtfeldt"
    event = CaseEvent(
        kind=kind, summary="HEMMELIG-TEKST", actor=world.coordinator, created_at=timezone.now()
    )
    partner = str(timeline_item(event, full=False))
    full = str(timeline_item(event, full=True))
    assert "HEMMELIG-TEKST" in full and "Hvidtfeldt" in full
    assert ("HEMMELIG-TEKST" in partner) == (kind not in SUMMARY_KEPT_FROM_PARTNERS)
    assert ("Hvidtfeldt" in partner) == (kind not in ACTOR_KEPT_FROM_PARTNERS)


def test_dsc_does_not_see_the_polices_own_referral_to_the_visitator(world, client):
    """Mutant: referrals_shown_to shows every referral to the visitator, also the one the
    police contact sent (a mutual referral). DSC would read that the police were involved,
    and who the police contact is."""
    case = world.triaged(
        actor=world.police_contact,
        consents=[(ConsentPartner.DSC, ConsentScope.CONTACT)],
        to_dsc=True,
    )
    client.force_login(world.dsc)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    assert all(r.from_organisation_id != world.police.pk for r in response.context["referrals"])
    assert world.police.name not in response.content.decode()


def test_the_waiting_referrals_reach_a_coordinator_and_a_partner(world):
    """Mutant: reachable_through_roles returns None for someone who is not a visitator.
    The coordinator's and the police contact's "waiting for you" box would be empty."""
    from cases import selectors

    case = world.active(police=True)
    to_coordinator = case.referrals.get(kind=ReferralKind.TO_COORDINATOR, status="sent")
    to_police = case.referrals.get(kind=ReferralKind.TO_POLICE, status="sent")

    assert to_coordinator in selectors.referrals_waiting_for(world.coordinator)
    assert to_police in selectors.referrals_waiting_for(world.police_contact)


def test_a_visitator_elsewhere_who_coordinates_here_sees_the_referral_waiting(world):
    """Mutant: reachable_through_roles gives a visitator only their own municipality's
    cases, dropping the cases their grants reach. Someone who is visitator in one
    municipality and coordinator in another would not be shown the case sent to them."""
    from cases import selectors

    _add_role(world.other_visitator, Role.COORDINATOR, world.municipality)
    case = world.in_triage()
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.other_visitator,
    )
    referral = case.referrals.get(kind=ReferralKind.TO_COORDINATOR, status="sent")
    assert referral in selectors.referrals_waiting_for(world.other_visitator)


def test_a_coordinator_with_a_grant_left_on_someone_elses_case_is_not_its_owner(world):
    """Mutants: the owner_or_visitator actions (close, reopen, refer to a partner, hand the
    case over) or disqualifying given to anyone with full access, or _is_owner without the
    responsible check. A successor who took over the coordinator role holds the leaver's
    grant on a closed case; when it is reopened they read it in full but are not its owner,
    and when it is triaged to another coordinator their grant ends."""
    from cooperation.services import handover

    from .factories import UserFactory

    case = world.closed(police=True)
    successor = UserFactory(username="successor")
    assignment = RoleAssignment.objects.get(user=world.coordinator, role=Role.COORDINATOR)
    handover(actor=world.admin, assignment=assignment, successor=successor)
    forget_roles(successor)
    case = Case.objects.get(pk=case.pk)
    assert access.level_for(successor, case) == access.Level.FULL
    assert not access.may(successor, access.Action.REOPEN, case)
    assert not access.may(successor, access.Action.DISQUALIFY, case)

    third = user_with_role(Role.COORDINATOR, world.municipality, username="third")
    case = services.reopen(actor=world.visitator, case=case, comment="Ny henvendelse")
    case = Case.objects.get(pk=case.pk)
    assert case.state == "in_triage"  # its coordinator's role ended: back to the visitator
    assert access.level_for(successor, case) == access.Level.FULL
    # Triage decisions are the visitator's, not of anyone reading the case in full.
    for action in (access.Action.JOIN, access.Action.FORWARD, access.Action.DECLINE):
        assert not access.may(successor, action, case), action
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=third,
    )
    case = Case.objects.get(pk=case.pk)
    assert case.responsible_id == third.pk
    # One coordinator works the case: the successor's grant ended with the triage.
    assert access.level_for(successor, case) is None
    assert not access.cases_visible_to(successor).filter(pk=case.pk).exists()
    allowed = access.allowed_actions(successor, case)
    assert not allowed & {
        access.Action.CLOSE,
        access.Action.REFER_PARTNER,
        access.Action.REASSIGN,
        access.Action.DISQUALIFY,
    }, allowed


def test_the_lists_rule_reads_a_partners_consent_only_on_its_own_route(world):
    """Mutant: scope_readable drops `routed` for the current route. Someone both police
    contact and DSC advisor, on a case routed only to DSC, would have the list read the
    assessment (the high-risk mark) by the citizen's consent to the police, which the case
    page does not (test_scope_readable has no case with a consent to an unrouted partner)."""
    _add_role(world.dsc, Role.POLICE_CONTACT, world.police)
    case = world.triaged(
        consents=[
            (ConsentPartner.POLICE, ConsentScope.CONTACT),
            (ConsentPartner.POLICE, ConsentScope.SITUATION),
            (ConsentPartner.DSC, ConsentScope.CONTACT),
        ],
        to_dsc=True,
    )
    case = access.cases_visible_to(world.dsc).get(pk=case.pk)
    assert ConsentScope.SITUATION not in access.visible_scopes(world.dsc, case)
    rule = access.scope_readable(world.dsc, ConsentScope.SITUATION)
    assert not access.cases_visible_to(world.dsc).filter(rule).filter(pk=case.pk).exists()


def test_the_grant_cache_of_a_case_is_per_user(world):
    """Mutant: has_grant caches by codename alone. Asked for two users on the same case
    object (as a page or a service that looks at several people does), the first one's
    grant would count for the second: a coordinator of the municipality without any grant
    would read the case in full."""
    case = world.active()
    second = user_with_role(Role.COORDINATOR, world.municipality, username="coordinator2")
    case = Case.objects.get(pk=case.pk)
    assert access.level_for(world.coordinator, case) == access.Level.FULL
    assert access.level_for(second, case) is None
    assert access.access_route(second, case) == "none"


def test_the_tools_wait_until_the_triage_has_started(world):
    """Mutant: EDIT_TOOLS allowed on a referred case. Nobody may fill in the checklist or
    the assessment before the visitator has started the triage (the permission matrix checks
    the meetings in this state, not the tools)."""
    case = world.refer()
    assert not access.may(world.visitator, access.Action.EDIT_TOOLS, case)
    case = services.start_triage(actor=world.visitator, case=case)
    assert access.may(world.visitator, access.Action.EDIT_TOOLS, case)


# -- statistics.py --------------------------------------------------------------------------


def test_a_suppressed_cell_is_hidden_on_the_page_whatever_its_value():
    """Mutant: as_html checks 1 to 4 instead of `hidden`. The page ({{ cell.as_html }}) would
    print a protecting cell's value (or a suppressed zero) next to the one it protects."""
    for value in (0, 7, 12):
        cell = statistics.Small(value, suppressed=True)
        html = str(cell.as_html())
        assert statistics.HIDDEN in html and str(value) not in html, value
    assert str(statistics.Small(7).as_html()) == "7"


def test_a_source_that_differs_by_four_from_the_shorter_period_is_hidden(world):
    """Mutant: hide() drops (or narrows to 1-3) the check against the shorter period. The
    12-month table adds 9 referrals to the 6-month one (not 1 to 4, so `few` does not hide
    it all), but 4 of them are from the school: 10 - 6 would tell that four came from it in
    months 7-12."""
    _give_first_contact_a_unit(world, "Skole")
    for _ in range(6):
        _received(world, datetime.date(2026, 10, 5))
    for _ in range(5):
        _received(world, datetime.date(2026, 10, 6), actor=world.police_contact)
    for _ in range(4):
        _received(world, datetime.date(2026, 2, 5))
    for _ in range(5):
        _received(world, datetime.date(2026, 2, 6), actor=world.police_contact)

    def shown(months):
        figures = statistics.figures([world.municipality.pk], months=months, today=TODAY)
        return {name: str(count) for name, count in figures.sources}

    assert shown(6) == {"Skole": "6", "Testpoliti": "5"}
    assert "Skole" not in shown(12)


def test_a_month_share_of_several_is_hidden_when_one_has_five_to_nine_cases(world):
    """Mutant: the month row's share of several municipalities is hidden only when one of
    them has 1 to 4 cases (SMALL) instead of 1 to 9 (SHARE_MIN). A's 6 cases show no share of
    their own; the combined share minus B's would give it."""
    a, b = world.municipality, world.other_municipality
    first_b = user_with_role(Role.FIRST_CONTACT, b, username="firstb")
    day = datetime.date(2026, 10, 5)
    _triaged(world, day, within=3, late=3)
    _triaged(world, day, within=6, late=4, actor=first_b, municipality=b)

    assert _month(statistics.figures([a.pk], today=TODAY), day).within_deadline_percent is None
    assert _month(statistics.figures([b.pk], today=TODAY), day).within_deadline_percent == 60
    assert (
        _month(statistics.figures([a.pk, b.pk], today=TODAY), day).within_deadline_percent is None
    )


def test_the_periods_median_needs_five_cases(world):
    """Mutant: the period's median (Figures.median_days) is shown from one case. With three
    triaged cases in the whole period it tells how long one of them waited (the months'
    medians already need five; the period's was not checked)."""
    for days in (1, 2, 30):
        _received(world, datetime.date(2026, 10, 5), triaged_after_days=days)

    figures = statistics.figures([world.municipality.pk], today=TODAY)
    assert figures.triaged == 3
    assert figures.median_days is None


def test_every_breakdown_of_a_month_of_two_waiting_referrals_is_hidden(world):
    """Mutant: the month rows drop few=_few(received). With two referrals, neither triaged
    yet, "closed 0" would say that neither was declined or forwarded: the module hides
    every breakdown of a month of 1 to 4 referrals, zeros included."""
    world.refer()
    world.refer()

    month = statistics.figures([world.municipality.pk]).months[0]
    assert (month.received, month.triaged) == (2, 0)
    names = ("stalking", "not_stalking", *statistics.STALKING_ROUTES, "closed")
    assert {name: str(getattr(month, name)) for name in names} == dict.fromkeys(names, "×")
