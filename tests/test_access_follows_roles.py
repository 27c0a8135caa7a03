"""A grant on a case counts only while its holder still holds the role it was given for.

Grants are taken away by services (handover, closing, withdrawn consent), but a role can end
without any service running: its valid_to passes, a deputy period runs out, a police officer
moves to another district. Access must end with the role (cases/access.py).
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cases import access, services
from cases.models import AuditEntry
from cooperation.models import OrganisationKind, Role, RoleAssignment
from cooperation.roles import forget_roles

from .factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def _end_role(user, role):
    RoleAssignment.objects.filter(user=user, role=role).update(valid_to=YESTERDAY)
    forget_roles(user)


def test_a_coordinator_whose_role_ended_no_longer_reads_their_case(world, client):
    case = world.active()
    _end_role(world.coordinator, Role.COORDINATOR)
    client.force_login(world.coordinator)
    assert client.get(case.get_absolute_url()).status_code == 404
    assert not access.cases_visible_to(world.coordinator).filter(pk=case.pk).exists()


def test_a_coordinator_whose_role_ended_can_no_longer_change_their_case(world):
    case = world.active()
    _end_role(world.coordinator, Role.COORDINATOR)
    with pytest.raises(PermissionDenied):
        services.add_note(actor=world.coordinator, case=case, text="skrevet efter fratræden")


def test_a_coordinator_in_another_municipality_gains_nothing_from_an_old_grant(world, client):
    case = world.active()
    _end_role(world.coordinator, Role.COORDINATOR)
    RoleAssignment.objects.create(
        user=world.coordinator,
        role=Role.COORDINATOR,
        organisation=world.other_municipality,
        valid_from=timezone.localdate(),
    )
    forget_roles(world.coordinator)
    client.force_login(world.coordinator)
    assert client.get(case.get_absolute_url()).status_code == 404


def test_a_role_ending_in_the_future_still_gives_access_today(world, client):
    case = world.active()
    RoleAssignment.objects.filter(user=world.coordinator).update(
        valid_to=timezone.localdate() + datetime.timedelta(days=3)
    )
    client.force_login(world.coordinator)
    assert client.get(case.get_absolute_url()).status_code == 200


def test_a_role_that_starts_next_week_gives_no_access_today(world, client):
    case = world.refer()
    newcomer = UserFactory(username="newcomer")
    RoleAssignment.objects.create(
        user=newcomer,
        role=Role.VISITATOR,
        organisation=world.municipality,
        valid_from=timezone.localdate() + datetime.timedelta(days=7),
    )
    assert not access.cases_visible_to(newcomer).filter(pk=case.pk).exists()
    client.force_login(newcomer)
    assert client.get(case.get_absolute_url()).status_code == 404


OWNERS_ACTIONS = {
    "close": (
        "active",
        lambda actor, case: services.close(actor=actor, case=case, reason="resolved"),
    ),
    "reopen": (
        "closed",
        lambda actor, case: services.reopen(actor=actor, case=case, comment="Igen"),
    ),
}


@pytest.mark.parametrize("action", OWNERS_ACTIONS)
def test_a_coordinator_whose_role_ended_can_no_longer_close_or_reopen_their_case(world, action):
    """Still recorded as the case's responsible, but being responsible makes the owner only
    together with the role (access._is_owner)."""
    state, act = OWNERS_ACTIONS[action]
    case = getattr(world, state)()
    assert case.responsible == world.coordinator
    _end_role(world.coordinator, Role.COORDINATOR)
    with pytest.raises(PermissionDenied):
        act(world.coordinator, case)
    case.refresh_from_db()
    assert case.state == state  # "active" or "closed", as it was


def test_a_police_contact_who_moved_district_no_longer_reads_the_old_districts_cases(world, client):
    case = world.active(police=True)
    other_district = OrganisationFactory(
        name="Andet politi", code="APOL", kind=OrganisationKind.POLICE
    )
    _end_role(world.police_contact, Role.POLICE_CONTACT)
    RoleAssignment.objects.create(
        user=world.police_contact,
        role=Role.POLICE_CONTACT,
        organisation=other_district,
        valid_from=timezone.localdate(),
    )
    client.force_login(world.police_contact)
    assert client.get(case.get_absolute_url()).status_code == 404
    shared = client.get("/delte-sager/")
    assert case.reference not in shared.content.decode()


def test_a_police_contact_still_in_the_district_reads_the_shared_case(world, client):
    case = world.active(police=True)
    client.force_login(world.police_contact)
    assert client.get(case.get_absolute_url()).status_code == 200
    entry = AuditEntry.objects.filter(case=case, user=world.police_contact).latest("id")
    assert entry.purpose == "grant:police" and not entry.flagged


def test_a_dsc_advisor_whose_role_ended_no_longer_reads_the_case(world, client):
    case = world.active(dsc=True)
    client.force_login(world.dsc)
    assert client.get(case.get_absolute_url()).status_code == 200
    _end_role(world.dsc, Role.DSC_ADVISOR)
    assert client.get(case.get_absolute_url()).status_code == 404


def _move_to_role(user, old_role, new_role, organisation):
    _end_role(user, old_role)
    RoleAssignment.objects.create(
        user=user, role=new_role, organisation=organisation, valid_from=timezone.localdate()
    )
    forget_roles(user)


def test_a_coordinator_who_moves_to_dsc_does_not_keep_reading_their_old_case(world, client):
    case = world.active()  # routed to the coordinator only, never to DSC
    _move_to_role(world.coordinator, Role.COORDINATOR, Role.DSC_ADVISOR, world.dsc_org)
    client.force_login(world.coordinator)
    assert not access.cases_visible_to(world.coordinator).filter(pk=case.pk).exists()
    assert client.get(case.get_absolute_url()).status_code == 404


def test_a_police_contact_who_moves_to_dsc_does_not_keep_reading_police_cases(world, client):
    case = world.active(police=True)
    _move_to_role(world.police_contact, Role.POLICE_CONTACT, Role.DSC_ADVISOR, world.dsc_org)
    client.force_login(world.police_contact)
    assert client.get(case.get_absolute_url()).status_code == 404
    assert case.reference not in client.get("/delte-sager/").content.decode()


def test_a_user_with_police_and_dsc_roles_reads_a_dsc_case_as_dsc(world):
    case = world.active(dsc=True)
    RoleAssignment.objects.create(
        user=world.dsc,
        role=Role.POLICE_CONTACT,
        organisation=world.police,
        valid_from=timezone.localdate(),
    )
    forget_roles(world.dsc)
    assert access.level_for(world.dsc, case) == access.Level.DSC
    assert access.access_route(world.dsc, case) == "grant:dsc"


def test_a_declined_referral_gives_the_partner_nothing(world, client):
    """Not the page, the queryset every page starts from, nor the shared cases' list, even
    with the grant of the referral left behind."""
    from cases.models import Referral

    case = world.active(police=True)
    client.force_login(world.police_contact)
    assert case.reference in client.get("/delte-sager/").content.decode()
    Referral.objects.filter(case=case, kind="to_police").update(
        status="declined", decline_reason="Ikke vores"
    )
    assert client.get(case.get_absolute_url()).status_code == 404
    assert not access.cases_visible_to(world.police_contact).filter(pk=case.pk).exists()
    assert case.reference not in client.get("/delte-sager/").content.decode()
