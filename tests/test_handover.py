import pytest
from django.core.exceptions import PermissionDenied

from cases.access import cases_visible_to
from cases.models import CaseEvent, EventKind
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
