"""What an administrator does in the admin to roles is in the append-only trail, and what
decides who reads cases is flagged for the data protection officers (cooperation.admin,
cooperation.services.handover).

The attack (red-team round 4): a superuser hands the deputy visitator's role to themself
with the admin action.
"""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from cases import audit_notices
from cases.models import AuditAction, AuditEntry
from cooperation.models import Role, RoleAssignment
from cooperation.services import handover

from .factories import UserFactory

pytestmark = pytest.mark.django_db

OFFICER = "dpo@kommune.example"
LATER = timezone.timedelta(minutes=10)


def _audit_permission():
    return Permission.objects.get(codename="view_auditentry", content_type__app_label="cases")


@pytest.fixture
def officer(db):
    user = UserFactory(username="dpo", email=OFFICER)
    user.user_permissions.add(_audit_permission())
    return user


# -- Handing a role over ---------------------------------------------------------------------


def _hand_over_in_the_admin(client, world, assignment, successor):
    client.force_login(world.admin)
    return client.post(
        reverse("admin:cooperation_roleassignment_changelist"),
        {
            "action": "hand_over",
            "_selected_action": [assignment.pk],
            "apply": "1",
            "successor": successor.pk,
        },
    )


def test_an_administrator_handing_a_role_over_to_themself_is_flagged_and_mailed(
    world, client, officer, mailoutbox
):
    """Not refused (RoleAssignmentAdmin lets an administrator give themself a role too), but
    on the record like that: the deputy visitator's role reads every case of the
    municipality."""
    assignment = RoleAssignment.objects.get(user=world.deputy_visitator)

    response = _hand_over_in_the_admin(client, world, assignment, world.admin)

    assert response.status_code == 302
    new = RoleAssignment.objects.current().get(user=world.admin, role=Role.VISITATOR)
    entry = AuditEntry.objects.get(what="handover")
    assert (entry.user, entry.action, entry.object_id, entry.flagged) == (
        world.admin,
        AuditAction.CHANGE,
        f"{assignment.pk}->{new.pk}",
        True,
    )
    assert entry.path == reverse("admin:cooperation_roleassignment_changelist")
    assert audit_notices.notify_flagged_access(now=timezone.now() + LATER) == 1
    assert [mail.to for mail in mailoutbox] == [[OFFICER]]


def test_an_administrator_handing_over_their_own_role_is_flagged(world):
    """They choose who gets their cases: also on the officers' list."""
    own = RoleAssignment.objects.create(
        user=world.admin,
        role=Role.COORDINATOR,
        organisation=world.municipality,
        valid_from=timezone.localdate(),
    )

    handover(actor=world.admin, assignment=own, successor=UserFactory())

    assert AuditEntry.objects.get(what="handover").flagged


def test_a_handover_between_two_others_is_audited_unflagged(world, client):
    assignment = RoleAssignment.objects.get(user=world.deputy_visitator)

    _hand_over_in_the_admin(client, world, assignment, UserFactory(username="successor"))

    entry = AuditEntry.objects.get(what="handover")
    assert (entry.user, entry.flagged) == (world.admin, False)
