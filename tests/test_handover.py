import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cases import services
from cases.access import cases_visible_to
from cases.models import AuditAction, AuditEntry, CaseEvent, CaseUserObjectPermission, EventKind
from cooperation.models import Role, RoleAssignment
from cooperation.roles import forget_roles
from cooperation.services import handover

from .factories import UserFactory


def test_handover_moves_open_cases_grants_and_pending_referrals_to_the_successor(world):
    case = world.active(police=True)
    successor = UserFactory(username="newcoord")
    assignment = RoleAssignment.objects.get(user=world.coordinator, role=Role.COORDINATOR)

    handover(actor=world.admin, assignment=assignment, successor=successor)

    forget_roles(world.coordinator)
    case.refresh_from_db()
    assert case.responsible == successor
    assert case in cases_visible_to(successor)
    assert case not in cases_visible_to(world.coordinator)
    assert case.referrals.get(kind="to_coordinator").to_user == successor
    assert CaseEvent.objects.filter(case=case, kind=EventKind.HANDOVER).exists()
    assert RoleAssignment.objects.current().filter(user=successor, role=Role.COORDINATOR).exists()
    assert not RoleAssignment.objects.current().filter(user=world.coordinator).exists()


def _hand_over_the_coordinators_role(world, successor=None):
    assignment = RoleAssignment.objects.get(user=world.coordinator, role=Role.COORDINATOR)
    new = handover(actor=world.admin, assignment=assignment, successor=successor or UserFactory())
    return assignment, new


def test_handover_takes_the_leavers_grants_away(world):
    """Not only does the ended role stop counting: the rows go, so a leaver who comes back
    in the role later does not find their old cases open to them."""
    case = world.active()
    _assignment, new = _hand_over_the_coordinators_role(world)
    assert not CaseUserObjectPermission.objects.filter(
        user=world.coordinator, content_object=case
    ).exists()
    assert CaseUserObjectPermission.objects.filter(user=new.user, content_object=case).exists()


def test_handover_is_written_to_the_audit_trail_as_the_administrators_change(world):
    world.active()
    old, new = _hand_over_the_coordinators_role(world)
    entry = AuditEntry.objects.get(what="handover")
    assert (entry.user, entry.action, entry.object_id) == (
        world.admin,
        AuditAction.CHANGE,
        f"{old.pk}->{new.pk}",
    )


def test_handover_leaves_a_closed_case_with_the_coordinator_who_closed_it(world):
    """Its history: who owned it when it closed."""
    closed = world.closed()
    open_case = world.active()
    _assignment, new = _hand_over_the_coordinators_role(world)
    closed.refresh_from_db()
    open_case.refresh_from_db()
    assert closed.responsible == world.coordinator
    assert open_case.responsible == new.user


def test_only_an_administrator_can_hand_over_a_role(world):
    assignment = RoleAssignment.objects.get(user=world.coordinator, role=Role.COORDINATOR)
    with pytest.raises(PermissionDenied):
        handover(actor=world.visitator, assignment=assignment, successor=world.first_contact)


def test_admin_hands_over_a_role_through_the_admin_action(world, client):
    successor = UserFactory(username="successor")
    assignment = RoleAssignment.objects.get(user=world.coordinator, role=Role.COORDINATOR)
    case = world.active()
    client.force_login(world.admin)
    url = "/admin/cooperation/roleassignment/"
    form = client.post(url, {"action": "hand_over", "_selected_action": [assignment.pk]})
    assert form.status_code == 200 and "Efterfølger" in form.content.decode()

    client.post(
        url,
        {
            "action": "hand_over",
            "_selected_action": [assignment.pk],
            "apply": "1",
            "successor": successor.pk,
        },
    )

    case.refresh_from_db()
    assert case.responsible == successor


def test_a_handover_keeps_the_phone_and_e_mail_the_directory_shows(world):
    assignment = RoleAssignment.objects.get(user=world.coordinator, role=Role.COORDINATOR)
    RoleAssignment.objects.filter(pk=assignment.pk).update(
        phone="76 16 10 04", email="koordinator@example.invalid"
    )
    assignment.refresh_from_db()
    new = handover(actor=world.admin, assignment=assignment, successor=UserFactory())
    assert (new.phone, new.email) == ("76 16 10 04", "koordinator@example.invalid")


def test_a_role_is_not_handed_to_someone_disqualified_on_one_of_its_cases(world):
    case = world.active()
    successor = UserFactory(username="relative")
    services.disqualify(actor=world.visitator, case=case, user=successor, reason="Familie")
    assignment = RoleAssignment.objects.get(user=world.coordinator, role=Role.COORDINATOR)

    with pytest.raises(ValidationError) as refused:
        handover(actor=world.admin, assignment=assignment, successor=successor)

    assert case.reference in refused.value.messages[0]
    case.refresh_from_db()
    assert case.responsible == world.coordinator
    assert RoleAssignment.objects.current().filter(pk=assignment.pk).exists()


def test_a_disqualification_on_a_case_the_role_does_not_hold_does_not_block(world):
    other = world.active(coordinator=False, police=True)
    successor = UserFactory(username="neighbour")
    services.disqualify(actor=world.visitator, case=other, user=successor, reason="Nabo")
    held = world.active()
    _hand_over_the_coordinators_role(world, successor)
    held.refresh_from_db()
    assert held.responsible == successor
    assert RoleAssignment.objects.current().filter(user=successor, role=Role.COORDINATOR).exists()
