"""What an administrator does in the admin to roles and accounts is in the append-only trail,
and what decides who reads cases or who is mailed about flagged entries is flagged for the data
protection officers (cooperation.admin, cooperation.services.handover, cases.audit_notices).

The attacks (red-team round 4): a superuser hands the deputy visitator's role to themself
with the admin action, or silences the officer in Django's user admin (blanks the address,
takes the audit permission) so that the next notice about their flagged entries comes to
them.
"""

import smtplib
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from cases import audit_notices
from cases.models import AuditAction, AuditEntry
from cooperation.models import Role, RoleAssignment
from cooperation.services import handover

from .factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
OFFICER = "dpo@kommune.example"
LATER = timezone.timedelta(minutes=10)


def _audit_permission():
    return Permission.objects.get(codename="view_auditentry", content_type__app_label="cases")


@pytest.fixture
def officer(db):
    user = UserFactory(username="dpo", email=OFFICER, is_staff=True)
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


# -- The user admin --------------------------------------------------------------------------


def _user_form(user, **overrides):
    joined = timezone.localtime(user.date_joined)
    form = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": joined.date().isoformat(),
        "date_joined_1": joined.time().strftime("%H:%M:%S"),
        "user_permissions": [p.pk for p in user.user_permissions.all()],
        "groups": [g.pk for g in user.groups.all()],
    }
    for flag in ("is_active", "is_staff", "is_superuser"):
        if getattr(user, flag):
            form[flag] = "on"
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def _change_user(client, world, user, **overrides):
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:auth_user_change", args=[user.pk]), _user_form(user, **overrides)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def test_the_user_and_group_admins_keep_djangos_behaviour():
    assert isinstance(admin.site._registry[User], UserAdmin)
    assert isinstance(admin.site._registry[Group], GroupAdmin)


def test_blanking_the_officers_address_is_flagged_without_the_address_and_the_officer_is_told(
    world, client, officer, mailoutbox
):
    """The attack: the next notice would go to the superusers only, the attacker among them."""
    world.admin.email = "it@kommune.example"
    world.admin.save()

    _change_user(client, world, officer, email="")

    entry = AuditEntry.objects.get(user=world.admin)
    assert (entry.action, entry.what, entry.object_id, entry.purpose, entry.flagged) == (
        AuditAction.CHANGE,
        "user:email",
        str(officer.pk),
        "admin",
        True,
    )
    assert [mail.to for mail in mailoutbox] == [[OFFICER]]
    assert "revisionssporet" in mailoutbox[0].body and "/revision/til-gennemsyn/" in (
        mailoutbox[0].body
    )


def test_a_change_whose_mail_to_the_officer_fails_is_made_flagged_and_logged(
    world, client, officer, caplog
):
    """With the mail server down an administrator must still be able to take the permission
    from an officer whose account was taken over (code review, session 9): the change is made,
    flagged, and the failed mail logged without the address."""
    client.force_login(world.admin)
    change = reverse("admin:auth_user_change", args=[officer.pk])
    with mock.patch("cases.audit_notices.send_mail", side_effect=smtplib.SMTPException("down")):
        assert client.post(change, _user_form(officer, email="")).status_code == 302

    officer.refresh_from_db()
    assert officer.email == ""
    assert AuditEntry.objects.get(user=world.admin).flagged
    assert "former recipient" in caplog.text and OFFICER not in caplog.text


def test_deleting_the_officer_with_the_admin_action_tells_them_and_is_flagged(
    world, client, officer, mailoutbox
):
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "delete_selected", "_selected_action": [officer.pk], "post": "yes"},
    )

    assert response.status_code == 302
    entry = AuditEntry.objects.get(user=world.admin)
    assert (entry.action, entry.what, entry.object_id, entry.flagged) == (
        AuditAction.DELETE,
        "user",
        str(officer.pk),
        True,
    )
    assert [mail.to for mail in mailoutbox] == [[OFFICER]]


def test_taking_the_audit_permission_from_the_officer_is_flagged(
    world, client, officer, mailoutbox
):
    _change_user(client, world, officer, user_permissions=[])

    entry = AuditEntry.objects.get(user=world.admin)
    assert (entry.what, entry.flagged) == ("user:user_permissions", True)
    assert [mail.to for mail in mailoutbox] == [[OFFICER]]


def test_giving_someone_the_audit_permission_through_a_group_is_flagged(world, client):
    group = Group.objects.create(name="Databeskyttelse")
    group.permissions.add(_audit_permission())
    colleague = UserFactory(username="colleague", email="colleague@kommune.example")

    _change_user(client, world, colleague, groups=[group.pk])

    entry = AuditEntry.objects.get(user=world.admin)
    assert (entry.what, entry.object_id, entry.flagged) == ("user:groups", str(colleague.pk), True)


def test_making_someone_a_superuser_is_flagged_and_names_each_field_changed(world, client):
    colleague = UserFactory(username="colleague")

    _change_user(client, world, colleague, is_staff="on", is_superuser="on")

    entry = AuditEntry.objects.get(user=world.admin)
    assert (entry.what, entry.flagged) == ("user:is_staff,is_superuser", True)


def test_an_administrator_changing_their_own_account_is_flagged(world, client):
    _change_user(client, world, world.admin, email="me@kommune.example")

    entry = AuditEntry.objects.get(user=world.admin)
    assert (entry.what, entry.object_id, entry.flagged) == ("user:email", str(world.admin.pk), True)


def test_an_ordinary_users_staff_flag_or_address_is_audited_unflagged(world, client, mailoutbox):
    colleague = UserFactory(username="colleague", email="old@kommune.example")

    _change_user(client, world, colleague, is_staff="on", email="new@kommune.example")

    entry = AuditEntry.objects.get(user=world.admin)
    assert (entry.what, entry.flagged) == ("user:is_staff,email", False)
    for address in ("old@kommune.example", "new@kommune.example", "colleague"):
        assert address not in entry.what + entry.object_id
    assert mailoutbox == []


def test_a_change_of_name_only_writes_nothing(world, client):
    colleague = UserFactory(username="colleague")

    _change_user(client, world, colleague, first_name="Ny")

    assert not AuditEntry.objects.filter(user=world.admin).exists()


def test_creating_deleting_and_setting_a_password_in_the_user_admin_are_audited(
    world, client, officer
):
    client.force_login(world.admin)
    add = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newuser",
            "password1": "en-lang-adgangskode-42",
            "password2": "en-lang-adgangskode-42",
            "usable_password": "true",
        },
    )
    assert add.status_code == 302
    new = User.objects.get(username="newuser")
    password = client.post(
        reverse("admin:auth_user_password_change", args=[officer.pk]),
        {"password1": "ny-lang-adgangskode-42", "password2": "ny-lang-adgangskode-42"},
    )
    assert password.status_code == 302
    for user in (new, officer):
        delete = reverse("admin:auth_user_delete", args=[user.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 302

    entries = AuditEntry.objects.filter(user=world.admin).order_by("pk")
    assert [(e.action, e.what, e.object_id, e.flagged) for e in entries] == [
        (AuditAction.CREATE, "user", str(new.pk), False),
        (AuditAction.CHANGE, "user:password", str(officer.pk), True),
        (AuditAction.DELETE, "user", str(new.pk), False),
        (AuditAction.DELETE, "user", str(officer.pk), True),
    ]


# -- The group admin -------------------------------------------------------------------------


def test_the_permissions_of_a_group_holding_the_audit_permission_are_flagged(
    world, client, mailoutbox
):
    group = Group.objects.create(name="Databeskyttelse")
    group.permissions.add(_audit_permission())
    UserFactory(username="dpo", email=OFFICER, is_staff=True).groups.add(group)
    client.force_login(world.admin)

    change = reverse("admin:auth_group_change", args=[group.pk])
    assert client.post(change, {"name": "Databeskyttelse", "permissions": []}).status_code == 302

    entry = AuditEntry.objects.get(user=world.admin)
    assert (entry.action, entry.what, entry.object_id, entry.flagged) == (
        AuditAction.CHANGE,
        "group:permissions",
        str(group.pk),
        True,
    )
    assert [mail.to for mail in mailoutbox] == [[OFFICER]]


def test_another_groups_permissions_are_audited_unflagged_and_its_deletion_too(world, client):
    group = Group.objects.create(name="Sagsbehandlere")
    client.force_login(world.admin)
    view = Permission.objects.get(codename="view_case")

    change = reverse("admin:auth_group_change", args=[group.pk])
    assert (
        client.post(change, {"name": "Sagsbehandlere", "permissions": [view.pk]}).status_code == 302
    )
    delete = reverse("admin:auth_group_delete", args=[group.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302

    entries = AuditEntry.objects.filter(user=world.admin).order_by("pk")
    assert [(e.action, e.what, e.flagged) for e in entries] == [
        (AuditAction.CHANGE, "group:permissions", False),
        (AuditAction.DELETE, "group", False),
    ]


# -- Who is mailed ---------------------------------------------------------------------------


def test_an_officer_without_an_address_sends_the_notice_to_the_superusers_too(world, officer):
    """Not only to the officers who still have one: someone notices that one is missing."""
    world.admin.email = "it@kommune.example"
    world.admin.save()
    assert audit_notices.officer_addresses() == [OFFICER]

    second = UserFactory(username="dpo2", email="", is_staff=True)
    second.user_permissions.add(_audit_permission())

    assert audit_notices.officer_addresses() == [OFFICER, "it@kommune.example"]


# -- Second factors ---------------------------------------------------------------------------
# Whoever deletes an officer's authenticator and sets their password can set the factor up
# again and read the trail as them: a device added, changed or deleted in the admin is in the
# trail, flagged when it is an officer's, a superuser's or the administrator's own.


def _totp(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def _device_entries():
    return AuditEntry.objects.filter(what="otp_device")


def test_deleting_an_officers_authenticator_in_the_admin_is_flagged(client, world, officer):
    device = _totp(officer)
    client.force_login(world.admin)
    url = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])

    assert client.post(url, {"post": "yes"}).status_code == 302

    [entry] = _device_entries()
    assert entry.action == AuditAction.DELETE and entry.flagged
    assert (entry.user, entry.object_id) == (world.admin, str(officer.pk))


def test_deleting_backup_codes_with_the_delete_action_is_audited_per_device(client, world):
    from django_otp.plugins.otp_static.models import StaticDevice

    someone = UserFactory(username="sagsbehandler")
    devices = [StaticDevice.objects.create(user=u, name="backup") for u in (someone, world.admin)]
    client.force_login(world.admin)

    response = client.post(
        reverse("admin:otp_static_staticdevice_changelist"),
        {"action": "delete_selected", "_selected_action": [d.pk for d in devices], "post": "yes"},
    )

    assert response.status_code == 302 and not StaticDevice.objects.exists()
    flagged = {e.object_id: e.flagged for e in _device_entries()}
    assert flagged == {str(someone.pk): False, str(world.admin.pk): True}  # their own: flagged


def test_changing_an_ordinary_users_authenticator_is_audited_unflagged(client, world):
    someone = UserFactory(username="sagsbehandler")
    device = _totp(someone)
    client.force_login(world.admin)
    url = reverse("admin:otp_totp_totpdevice_change", args=[device.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(name="ny telefon", confirmed="on")

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    [entry] = _device_entries()
    assert entry.action == AuditAction.CHANGE and not entry.flagged


# -- From the code review of session 9 --------------------------------------------------------


def test_taking_over_a_visitators_login_in_the_admin_is_flagged(world, client):
    """An administrator sets the visitator's password and deletes her authenticator: the next
    login sets up a new factor and reads every case of the municipality as her. Both steps are
    flagged: a login worth taking is any that needs the second factor."""
    device = _totp(world.visitator)
    client.force_login(world.admin)
    password = {"password1": "ny-lang-adgangskode-42", "password2": "ny-lang-adgangskode-42"}
    client.post(reverse("admin:auth_user_password_change", args=[world.visitator.pk]), password)
    client.post(reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"})

    entries = AuditEntry.objects.filter(user=world.admin, what__in=["user:password", "otp_device"])
    assert sorted(e.what for e in entries) == ["otp_device", "user:password"]
    assert all(entry.flagged for entry in entries)


def test_a_refused_password_form_is_not_audited_as_a_password_set(world, client, officer):
    """Django answers a conflicting form with a redirect back to it and changes nothing."""
    client.force_login(world.admin)
    url = reverse("admin:auth_user_password_change", args=[officer.pk])
    response = client.post(url, {"usable_password": "false"})

    assert response.status_code == 302 and response.url.endswith(url)
    officer.refresh_from_db()
    assert officer.has_usable_password()
    assert not AuditEntry.objects.filter(what="user:password").exists()


def test_a_password_set_whose_audit_entry_fails_is_not_made(world, client, officer):
    client.force_login(world.admin)
    url = reverse("admin:auth_user_password_change", args=[officer.pk])
    password = {"password1": "ny-lang-adgangskode-42", "password2": "ny-lang-adgangskode-42"}
    with (
        mock.patch("cooperation.admin._audit_account", side_effect=RuntimeError("db")),
        pytest.raises(RuntimeError),
    ):
        client.post(url, password)

    officer.refresh_from_db()
    assert not officer.check_password("ny-lang-adgangskode-42")


def test_a_delete_action_undone_leaves_no_deletion_in_the_admin_log(world, client, officer):
    """Django's delete action writes its log before deleting: both in one transaction."""
    from django.contrib.admin.models import DELETION, LogEntry

    client.force_login(world.admin)
    with (
        mock.patch("cooperation.admin._audit_account", side_effect=RuntimeError("db")),
        pytest.raises(RuntimeError),
    ):
        client.post(
            reverse("admin:auth_user_changelist"),
            {"action": "delete_selected", "_selected_action": [officer.pk], "post": "yes"},
        )

    assert User.objects.filter(pk=officer.pk).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION, object_id=str(officer.pk)).exists()


def test_moving_an_officers_authenticator_to_someone_else_is_flagged(world, client, officer):
    device = _totp(officer)
    someone = UserFactory(username="sagsbehandler")
    client.force_login(world.admin)
    url = reverse("admin:otp_totp_totpdevice_change", args=[device.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(user=someone.pk, confirmed="on")

    assert client.post(url, data).status_code == 302
    device.refresh_from_db()
    assert device.user == someone
    flagged = {e.object_id: e.flagged for e in _device_entries()}
    assert flagged == {str(officer.pk): True, str(someone.pk): False}
