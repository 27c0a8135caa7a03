"""Fourth mutation review (session 10), tests for cooperation/admin.py and
cases/audit_notices.py: each test passes on the code and fails on the one-line change named in
its docstring, which the rest of the suite let through."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import translation

from cases import audit_notices
from cases.models import AuditAction, AuditEntry
from cooperation.models import RoleAssignment

from .factories import UserFactory
from .test_admin_audit import OFFICER, _audit_permission, _change_user, _user_form
from .test_retention import _organisation_form_data

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def officer(db):
    """As in test_admin_audit: staff given the audit permission, with an address."""
    user = UserFactory(username="dpo", email=OFFICER, is_staff=True)
    user.user_permissions.add(_audit_permission())
    return user


def _entry(world):
    return AuditEntry.objects.get(user=world.admin)


# -- RoleAssignmentAdmin ---------------------------------------------------------------------


def test_role_assignments_deleted_with_the_delete_action_are_each_audited(world, client):
    """Mutant (admin.py:142): RoleAssignmentAdmin.delete_queryset without _audit_role. The
    delete action takes roles (and with them access to cases) as the delete view does: each
    one must be in the append-only trail."""
    assignments = list(
        RoleAssignment.objects.filter(user__in=[world.coordinator, world.deputy_visitator])
    )
    client.force_login(world.admin)

    response = client.post(
        reverse("admin:cooperation_roleassignment_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [a.pk for a in assignments],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    entries = AuditEntry.objects.filter(what="role_assignment", action=AuditAction.DELETE)
    assert sorted(e.object_id for e in entries) == sorted(str(a.pk) for a in assignments)


def test_the_handover_action_refuses_a_deactivated_successor(world, client):
    """Mutant (admin.py:38): HandoverForm's successors are every user, not only active ones.
    A deactivated account would become responsible for the leaver's cases, which nobody could
    then open."""
    assignment = RoleAssignment.objects.get(user=world.deputy_visitator)
    gone = UserFactory(username="gone", is_active=False)
    client.force_login(world.admin)

    client.post(
        reverse("admin:cooperation_roleassignment_changelist"),
        {
            "action": "hand_over",
            "_selected_action": [assignment.pk],
            "apply": "1",
            "successor": gone.pk,
        },
    )

    assert not RoleAssignment.objects.filter(user=gone).exists()
    assert not AuditEntry.objects.filter(what="handover").exists()


def test_the_handover_action_with_two_roles_selected_is_refused_with_a_message(world, client):
    """Mutant (admin.py:147): `queryset.count() < 1` for `!= 1`: with two selected,
    queryset.get() fails with a server error instead of the message."""
    assignments = RoleAssignment.objects.filter(
        user__in=[world.coordinator, world.deputy_visitator]
    )
    client.force_login(world.admin)

    response = client.post(
        reverse("admin:cooperation_roleassignment_changelist"),
        {"action": "hand_over", "_selected_action": [a.pk for a in assignments]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Vælg præcis én rolletildeling" in response.content.decode()


def test_the_handover_form_is_first_shown_without_errors(world, client):
    """Mutant (admin.py:151): the form bound to the action's own POST (without "apply"): the
    first page already says that the successor is missing."""
    assignment = RoleAssignment.objects.get(user=world.deputy_visitator)
    client.force_login(world.admin)

    response = client.post(
        reverse("admin:cooperation_roleassignment_changelist"),
        {"action": "hand_over", "_selected_action": [assignment.pk]},
    )

    assert response.status_code == 200
    assert not response.context["form"].is_bound
    assert "errorlist" not in response.content.decode()


# -- OrganisationAdmin -----------------------------------------------------------------------


def test_an_organisation_saved_without_changing_the_rule_writes_no_retention_entry(world, client):
    """Mutant (admin.py:89): `if change:` without `"retention_years" in form.changed_data`:
    every save of a municipality would say in the trail that its rule was changed."""
    client.force_login(world.admin)
    url = reverse("admin:cooperation_organisation_change", args=[world.municipality.pk])
    data = _organisation_form_data(world, world.municipality.retention_years)
    data["name"] = "Nyt navn Kommune"

    assert client.post(url, data).status_code == 302
    assert not AuditEntry.objects.filter(what__startswith="retention_years:").exists()


def test_the_minimum_rule_is_accepted_and_one_year_less_refused(world, client, settings):
    """Mutants (admin.py:62): `<= RETENTION_MIN_YEARS` (the minimum itself refused) and
    `< RETENTION_MIN_YEARS - 1` (one year below it accepted)."""
    settings.RETENTION_MIN_YEARS = 3
    client.force_login(world.admin)
    url = reverse("admin:cooperation_organisation_change", args=[world.municipality.pk])

    assert client.post(url, _organisation_form_data(world, 2)).status_code == 200
    world.municipality.refresh_from_db()
    assert world.municipality.retention_years == 5

    assert client.post(url, _organisation_form_data(world, 3)).status_code == 302
    world.municipality.refresh_from_db()
    assert world.municipality.retention_years == 3


# -- AuditedUserAdmin ------------------------------------------------------------------------


def test_changing_a_deactivated_officers_address_is_flagged(world, client):
    """Mutant (admin.py:247): _holds_audit_permission without is_active=None (only active
    officers count). An administrator who gives a deactivated officer's account their own
    address, then reactivates it, receives the notices: the first step must be flagged too."""
    sleeping = UserFactory(username="dpo", email=OFFICER, is_active=False)
    sleeping.user_permissions.add(_audit_permission())

    _change_user(client, world, sleeping, email="it@kommune.example")

    assert (_entry(world).what, _entry(world).flagged) == ("user:email", True)


def test_changing_another_superusers_address_is_not_flagged_while_officers_are_mailed(
    world, client, officer
):
    """Mutant (admin.py:248): include_superusers=True (every superuser counted an officer).
    Their address is not where the notices go while an officer has one: audited, unflagged,
    as the module says (a superuser holds every permission but is not an officer)."""
    colleague = UserFactory(
        username="it2", email="old@kommune.example", is_superuser=True, is_staff=True
    )

    _change_user(client, world, colleague, email="new@kommune.example")

    assert (_entry(world).what, _entry(world).flagged) == ("user:email", False)


def test_an_administrator_changing_their_own_address_is_flagged_while_an_officer_is_mailed(
    world, client, officer, mailoutbox
):
    """Mutant (admin.py:337): the save's flag without `obj.pk == request.user.pk`. The
    existing test passes on the mutant because there is no officer, so the administrator's
    address is where the notices go; with an officer, only "their own account" flags it."""
    world.admin.email = "it@kommune.example"
    world.admin.save()

    _change_user(client, world, world.admin, email="me@kommune.example")

    assert (_entry(world).what, _entry(world).flagged) == ("user:email", True)
    assert mailoutbox == []


def test_taking_the_audit_permission_from_an_officer_without_an_address_is_flagged(world, client):
    """Mutants (admin.py:339 and :319): the flag without `before.holds`, or the state before
    the save read as not holding. An officer with no address receives nothing, so the
    recipients do not change: only "held the permission before" says what was taken."""
    silent = UserFactory(username="dpo", email="")
    silent.user_permissions.add(_audit_permission())

    _change_user(client, world, silent, user_permissions=[])

    assert (_entry(world).what, _entry(world).flagged) == ("user:user_permissions", True)


def test_giving_the_audit_permission_to_someone_without_an_address_is_flagged(world, client):
    """Mutant (admin.py:340): the flag without `_holds_audit_permission(obj)` after the save.
    The new officer has no address, so the recipients stay the superusers: the flag can only
    come from the permission now held."""
    colleague = UserFactory(username="colleague", email="")

    _change_user(client, world, colleague, user_permissions=[_audit_permission().pk])

    assert (_entry(world).what, _entry(world).flagged) == ("user:user_permissions", True)


def test_giving_another_superuser_an_address_while_no_officer_exists_is_flagged(world, client):
    """Mutants (admin.py:341 and audit_notices.py:89): the flag without `addresses_changed`,
    or tell_former_recipients returning `bool(gone)`. With no officer the notices go to the
    superusers: an address added to one is a new recipient of them (nobody loses one)."""
    world.admin.email = "it@kommune.example"
    world.admin.save()
    colleague = UserFactory(username="it2", email="", is_superuser=True, is_staff=True)
    assert audit_notices.officer_addresses() == ["it@kommune.example"]

    _change_user(client, world, colleague, email="it2@kommune.example")

    assert (_entry(world).what, _entry(world).flagged) == ("user:email", True)


def test_deleting_the_officer_in_the_delete_view_tells_them(world, client, officer, mailoutbox):
    """Mutant (admin.py:301): _AuditedDeletes.delete_model without tell_former_recipients.
    Only the delete action's path (delete_queryset) was checked for the mail."""
    client.force_login(world.admin)

    delete = reverse("admin:auth_user_delete", args=[officer.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302

    assert [mail.to for mail in mailoutbox] == [[OFFICER]]


def test_deleting_another_superuser_is_flagged(world, client):
    """Mutant (admin.py:370): the deletion's flag without `obj.is_superuser`."""
    colleague = UserFactory(username="it2", is_superuser=True, is_staff=True)
    client.force_login(world.admin)

    delete = reverse("admin:auth_user_delete", args=[colleague.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302

    entry = _entry(world)
    assert (entry.action, entry.object_id, entry.flagged) == (
        AuditAction.DELETE,
        str(colleague.pk),
        True,
    )


# -- AuditedGroupAdmin -----------------------------------------------------------------------


def _post_group(client, world, group, **data):
    client.force_login(world.admin)
    url = (
        reverse("admin:auth_group_change", args=[group.pk])
        if group
        else reverse("admin:auth_group_add")
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_taking_the_audit_permission_from_a_group_without_members_is_flagged(world, client):
    """Mutant (admin.py:386): `holds` without `before.holds`. No member, so no recipient
    changes: the group held the permission before the save, and that alone flags it."""
    group = Group.objects.create(name="Databeskyttelse")
    group.permissions.add(_audit_permission())

    _post_group(client, world, group, name="Databeskyttelse", permissions=[])

    assert (_entry(world).what, _entry(world).flagged) == ("group:permissions", True)


def test_giving_a_group_without_members_the_audit_permission_is_flagged(world, client):
    """Mutant (admin.py:386): `holds` without `_group_holds_audit_permission(obj)` after the
    save: whoever is added to the group later is an officer."""
    group = Group.objects.create(name="Databeskyttelse")

    _post_group(client, world, group, name="Databeskyttelse", permissions=[_audit_permission().pk])

    assert (_entry(world).what, _entry(world).flagged) == ("group:permissions", True)


def test_renaming_the_officers_group_is_audited_unflagged(world, client):
    """Mutant (admin.py:392): `holds or addresses_changed` (without `"permissions" in
    fields`): a new name changes nobody's permission and nobody's mail."""
    group = Group.objects.create(name="Databeskyttelse")
    group.permissions.add(_audit_permission())

    _post_group(client, world, group, name="DPO", permissions=[_audit_permission().pk])

    assert (_entry(world).what, _entry(world).flagged) == ("group:name", False)


def test_creating_a_group_is_audited_as_a_creation(world, client):
    """Mutant (admin.py:391): the group's entry always CHANGE, never CREATE."""
    _post_group(client, world, None, name="Ny gruppe", permissions=[])

    group = Group.objects.get(name="Ny gruppe")
    entry = _entry(world)
    assert (entry.action, entry.what, entry.object_id) == (
        AuditAction.CREATE,
        "group:name",
        str(group.pk),
    )


def test_deleting_the_group_that_holds_the_audit_permission_is_flagged(world, client):
    """Mutant (admin.py:401): a group's deletion flagged=False. No member needed: the
    existing test deletes only an ordinary group."""
    group = Group.objects.create(name="Databeskyttelse")
    group.permissions.add(_audit_permission())
    client.force_login(world.admin)

    delete = reverse("admin:auth_group_delete", args=[group.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302

    entry = _entry(world)
    assert (entry.action, entry.what, entry.flagged) == (AuditAction.DELETE, "group", True)


# -- AuditedDeviceAdmin ----------------------------------------------------------------------


def test_a_device_added_in_the_admin_is_audited_as_a_creation(world, client):
    """Mutant (admin.py:423): a device's save always CHANGE, never CREATE: an authenticator
    added for someone (the second half of taking over their login) must read as added."""
    someone = UserFactory(username="sagsbehandler")
    client.force_login(world.admin)
    url = reverse("admin:otp_totp_totpdevice_add")
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(user=someone.pk, name="app", confirmed="on")

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    [entry] = AuditEntry.objects.filter(what="otp_device")
    assert (entry.action, entry.object_id) == (AuditAction.CREATE, str(someone.pk))


# -- audit_notices.tell_former_recipients ----------------------------------------------------


def test_a_connection_refused_when_telling_the_officer_does_not_stop_the_change(
    world, client, officer, caplog
):
    """Mutant (audit_notices.py:86): `except smtplib.SMTPException` only. A mail server that
    is down refuses the connection (ConnectionRefusedError, an OSError, not an
    SMTPException): the permission must still be taken."""
    client.force_login(world.admin)
    change = reverse("admin:auth_user_change", args=[officer.pk])
    with mock.patch("cases.audit_notices.send_mail", side_effect=ConnectionRefusedError(111, "x")):
        assert client.post(change, _user_form(officer, user_permissions=[])).status_code == 302

    officer.refresh_from_db()
    assert not officer.user_permissions.exists()
    assert AuditEntry.objects.get(user=world.admin).flagged
    assert "former recipient" in caplog.text


def test_each_former_recipient_gets_a_mail_of_their_own(world, client, mailoutbox):
    """Mutant (audit_notices.py:84): recipient_list=gone: with two officers removed at once
    each would learn the other's address (and that they were an officer too)."""
    group = Group.objects.create(name="Databeskyttelse")
    group.permissions.add(_audit_permission())
    for name in ("dpo1", "dpo2"):
        UserFactory(username=name, email=f"{name}@kommune.example", is_staff=True).groups.add(group)

    _post_group(client, world, group, name="Databeskyttelse", permissions=[])

    assert sorted(mail.to for mail in mailoutbox) == [
        ["dpo1@kommune.example"],
        ["dpo2@kommune.example"],
    ]


def test_a_former_recipient_is_told_in_the_sites_language_whatever_the_administrators(
    world, officer, mailoutbox
):
    """Mutant (audit_notices.py:73): the mail without translation.override(LANGUAGE_CODE):
    an administrator working in English would send the officer an English mail."""
    before = audit_notices.officer_addresses()
    officer.user_permissions.clear()

    with translation.override("en"):
        audit_notices.tell_former_recipients(before)

    [mail] = mailoutbox
    assert mail.subject == "Samvirke: du får ikke længere besked om markerede adgange"


def test_a_staff_user_deleting_their_own_account_is_flagged(world, client):
    """Mutant (admin.py:370): the deletion's flag without `obj.pk == request.user.pk`. Only
    reachable by staff who are not superusers (a superuser's deletion is flagged anyway)."""
    staff = UserFactory(username="staff", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="auth", codename__in=["view_user", "delete_user"]
        )
    )
    client.force_login(staff)

    delete = reverse("admin:auth_user_delete", args=[staff.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302

    entry = AuditEntry.objects.get(action=AuditAction.DELETE, what="user")
    assert (entry.object_id, entry.flagged) == (str(staff.pk), True)
