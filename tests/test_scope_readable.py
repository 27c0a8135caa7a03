"""cases.access.scope_readable is visible_scopes as one SQL condition for a whole list (the
lists' high-risk mark reads the assessment with it). It must never let a list read more, or
less, than the case page: checked case by case, for every user and every scope."""

import pytest
from guardian.shortcuts import assign_perm

from cases import services
from cases.access import cases_visible_to, scope_readable, visible_scopes
from cases.models import ConsentPartner, ConsentScope
from cooperation.models import Role

from .factories import RoleAssignmentFactory, user_with_role

pytestmark = pytest.mark.django_db


def test_the_lists_rule_is_visible_scopes_for_every_user_case_and_scope(world):
    world.active(police=True)
    world.active(dsc=True)
    world.active(coordinator=False, police=True)
    world.in_triage()
    world.closed(police=True)
    withdrawn = world.active(police=True)
    services.withdraw_consent(
        actor=world.coordinator,
        consent=withdrawn.consents.get(partner=ConsentPartner.POLICE, scope=ConsentScope.SITUATION),
    )
    declined = world.active(police=True)
    services.respond_to_referral(
        actor=world.police_contact,
        referral=declined.referrals.get(kind="to_police"),
        accept=False,
        reason="Ikke vores",
    )
    # Someone holding both partner roles, on a case routed to both: what they read is what
    # the citizen shared with the police (the first route), not the DSC consent too.
    both = user_with_role(Role.POLICE_CONTACT, world.police, username="both")
    RoleAssignmentFactory(user=both, organisation=world.dsc_org, role=Role.DSC_ADVISOR)
    routed_to_both = world.in_triage(
        consents=[
            (ConsentPartner.POLICE, ConsentScope.CONTACT),
            (ConsentPartner.DSC, ConsentScope.CONTACT),
            (ConsentPartner.DSC, ConsentScope.SITUATION),
        ]
    )
    services.triage(
        actor=world.visitator,
        case=routed_to_both,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.coordinator,
        to_police=True,
        to_dsc=True,
    )
    # A coordinator with a view grant but no change grant reads nothing of the tools.
    view_only = world.active(coordinator=False, dsc=True)
    assign_perm("cases.view_case", world.coordinator, view_only)
    disqualified = world.active(police=True)
    services.disqualify(
        actor=world.visitator, case=disqualified, user=world.police_contact, reason="Nabo"
    )

    users = [
        world.visitator,
        world.deputy_visitator,
        world.coordinator,
        world.police_contact,
        world.dsc,
        both,
        world.other_visitator,
        world.outsider_coordinator,
        world.first_contact,
        world.follow_up,
        world.admin,
    ]
    checked = 0
    for user in users:
        for scope in ConsentScope.values:
            rule = scope_readable(user, scope)
            in_sql = (
                set(cases_visible_to(user).filter(rule).values_list("pk", flat=True))
                if rule is not None
                else set()
            )
            on_the_page = {
                case.pk for case in cases_visible_to(user) if scope in visible_scopes(user, case)
            }
            assert in_sql == on_the_page, (user.username, scope)
            checked += len(on_the_page)
    both_reads = {
        c.pk for c in cases_visible_to(both) if ConsentScope.SITUATION in visible_scopes(both, c)
    }
    assert routed_to_both.pk in set(cases_visible_to(both).values_list("pk", flat=True))
    assert routed_to_both.pk not in both_reads
    assert checked > 50  # the matrix is not empty
