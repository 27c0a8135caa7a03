from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases import audit, audit_notices
from cases.models import AuditAction

from .models import Consultation, Organisation, RoleAssignment, Unit
from .services import handover
from .twofactor import needs_second_factor


def _audit_role(request, assignment: RoleAssignment, action: str) -> None:
    audit.record(
        user=request.user,
        action=action,
        what="role_assignment",
        object_id=assignment.pk,
        request=request,
        flagged=assignment.user_id == request.user.pk,
    )


class HandoverForm(forms.Form):
    successor = forms.ModelChoiceField(
        label=_("Efterfølger"), queryset=get_user_model().objects.filter(is_active=True)
    )


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = [
            "name",
            "kind",
            "code",
            "police_district",
            "visitation_phone",
            "triage_working_days",
            "retention_years",
        ]

    def clean_retention_years(self):
        years = self.cleaned_data["retention_years"]
        if years < settings.RETENTION_MIN_YEARS:
            raise ValidationError(
                _("Opbevaringen kan ikke være kortere end %(min)s år."),
                params={"min": settings.RETENTION_MIN_YEARS},
                code="below_minimum",
            )
        return years


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    form = OrganisationForm
    list_display = [
        "name",
        "code",
        "kind",
        "police_district",
        "visitation_phone",
        "triage_working_days",
        "retention_years",
    ]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    inlines = [UnitInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "retention_years" in form.changed_data:
            # Shortening the rule brings cases closer to anonymisation: the trail keeps who.
            audit.record(
                user=request.user,
                action=AuditAction.CHANGE,
                what=f"retention_years:{form.initial.get('retention_years')}->"
                f"{obj.retention_years}",
                object_id=obj.pk,
                purpose="admin",
                request=request,
            )


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name", "organisation__name"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "role",
        "organisation",
        "unit",
        "is_deputy",
        "phone",
        "email",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["role", "organisation", "is_deputy"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "email"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "organisation", "unit"]
    date_hierarchy = "valid_from"
    actions = ["hand_over"]

    # A role decides which cases its holder reads: the append-only trail (not only Django's
    # admin log, which can be edited) says who gave, changed or took one. A role given to or
    # changed for oneself is flagged for the data protection officers (audit_notices).
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _audit_role(request, obj, AuditAction.CHANGE if change else AuditAction.CREATE)

    def delete_model(self, request, obj):
        _audit_role(request, obj, AuditAction.DELETE)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for assignment in queryset:
            _audit_role(request, assignment, AuditAction.DELETE)
        super().delete_queryset(request, queryset)

    @admin.action(description=_("Overdrag rollen til en efterfølger"))
    def hand_over(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Vælg præcis én rolletildeling."), messages.ERROR)
            return None
        assignment = queryset.get()
        form = HandoverForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                handover(
                    actor=request.user,
                    assignment=assignment,
                    successor=form.cleaned_data["successor"],
                    request=request,
                )
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, _("Rollen, sagerne og adgangene er overdraget."))
            return None
        return render(
            request,
            "admin/cooperation/handover.html",
            {
                **self.admin_site.each_context(request),
                "assignment": assignment,
                "form": form,
                "opts": self.model._meta,
                "title": _("Overdrag rolle"),
            },
        )


@admin.register(Consultation)
class ConsultationAdmin(admin.ModelAdmin):
    """Read-only: questions are asked, answered and withdrawn only through the services
    (cooperation.consultations), which audit each step. The search is on who and where, not on
    the text: the question is meant to hold no personal data, and searching it for a name
    would invite looking for some. An administrator may delete one that holds some anyway."""

    list_display = [
        "__str__",
        "kind",
        "to_organisation",
        "from_organisation",
        "asked_by",
        "status",
        "asked_at",
        "answered_at",
    ]
    list_filter = ["status", "kind", "to_organisation"]
    search_fields = [
        "asked_by__username",
        "asked_by__last_name",
        "answered_by__username",
        "to_organisation__name",
        "from_organisation__name",
    ]
    list_select_related = ["asked_by", "to_organisation", "from_organisation"]
    date_hierarchy = "asked_at"
    fields = [
        "kind",
        "to_organisation",
        "asked_by",
        "from_organisation",
        "asked_at",
        "status",
        "question",
        "answered_by",
        "answered_at",
        "answer",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Accounts. Who is a superuser or staff, who holds the audit permission (cases.audit
# .AUDIT_PERMISSION) and at which address decides who may change roles and who is mailed
# about flagged entries (cases.audit_notices.officer_addresses). Django's user and group
# admins write only the admin log, which an administrator can edit: each save that changes
# one of these fields writes one entry to the append-only trail naming the fields changed
# (never their values: an e-mail address is personal data), the user or group by id. It is
# flagged for the data protection officers when an administrator changes their own account,
# when a superuser is made or unmade, and when it touches who holds the audit permission or
# where its holders are mailed; an address that stops receiving the mail is told at once.
USER_FIELDS = ("is_active", "is_staff", "is_superuser", "email", "groups", "user_permissions")
GROUP_FIELDS = ("name", "permissions")


def _holds_audit_permission(user) -> bool:
    """Given the audit permission itself or through a group, active or not; a superuser
    holds every permission but is not an officer."""
    return (
        user.pk is not None
        and get_user_model()
        .objects.with_perm(
            audit.AUDIT_PERMISSION,
            is_active=None,
            include_superusers=False,
            backend="django.contrib.auth.backends.ModelBackend",
        )
        .filter(pk=user.pk)
        .exists()
    )


def _group_holds_audit_permission(group) -> bool:
    app_label, codename = audit.AUDIT_PERMISSION.split(".")
    return (
        group.pk is not None
        and group.permissions.filter(content_type__app_label=app_label, codename=codename).exists()
    )


def _login_worth_taking(owner, actor) -> bool:
    """Whether an administrator able to log in as `owner` (a password set, a second factor
    removed, the next login sets up a new one) would read what must not be read unnoticed:
    their own account, an officer's, or any account that needs the second factor (staff,
    superusers, everyone who reads case data)."""
    return owner.pk == actor.pk or needs_second_factor(owner) or _holds_audit_permission(owner)


def _audit_account(request, *, what: str, obj, action: str, flagged: bool) -> None:
    audit.record(
        user=request.user,
        action=action,
        what=what,
        object_id=obj.pk,
        purpose="admin",
        request=request,
        flagged=flagged,
    )


class _AccountState:
    """What an account or group was before the save: read in save_model, before anything is
    written (the many-to-many fields are saved later, in save_related)."""

    def __init__(self, holds: bool):
        self.holds = holds
        self.addresses = audit_notices.officer_addresses()


class _AuditedDeletes:
    """The admin's delete view and its delete action both audit each object deleted
    (`_audit_delete`) and tell an address that stops receiving the flagged-access mail."""

    def delete_model(self, request, obj):
        before = audit_notices.officer_addresses()
        self._audit_delete(request, obj)
        super().delete_model(request, obj)
        audit_notices.tell_former_recipients(before)

    def response_action(self, request, queryset):
        # Django's delete action is not atomic (its delete view is) and writes the admin log
        # before delete_queryset: one transaction, so what is undone is not logged as deleted.
        with transaction.atomic():
            return super().response_action(request, queryset)

    def delete_queryset(self, request, queryset):
        before = audit_notices.officer_addresses()
        for obj in queryset:
            self._audit_delete(request, obj)
        super().delete_queryset(request, queryset)
        audit_notices.tell_former_recipients(before)


class AuditedUserAdmin(_AuditedDeletes, UserAdmin):
    def save_model(self, request, obj, form, change):
        form.samvirke_before = _AccountState(_holds_audit_permission(obj))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj, before = form.instance, form.samvirke_before
        addresses_changed = audit_notices.tell_former_recipients(before.addresses)
        if not change:
            _audit_account(request, what="user", obj=obj, action=AuditAction.CREATE, flagged=False)
            return
        fields = [field for field in USER_FIELDS if field in form.changed_data]
        if not fields:
            return
        _audit_account(
            request,
            what=f"user:{','.join(fields)}",
            obj=obj,
            action=AuditAction.CHANGE,
            flagged=obj.pk == request.user.pk
            or "is_superuser" in fields
            or before.holds
            or _holds_audit_permission(obj)
            or addresses_changed,
        )

    def user_change_password(self, request, id, form_url=""):
        # Django's password view is not atomic (its change and delete views are): the password
        # and its audit entry are written together or not at all. Audited only when the stored
        # password changed (a refused form also answers with a redirect).
        with transaction.atomic():
            obj = self.get_object(request, unquote(id))
            before = obj.password if obj is not None else None
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and obj is not None:
                obj.refresh_from_db(fields=["password"])
                if obj.password != before:
                    _audit_account(
                        request,
                        what="user:password",
                        obj=obj,
                        action=AuditAction.CHANGE,
                        flagged=_login_worth_taking(obj, request.user),
                    )
        return response

    def _audit_delete(self, request, obj):
        _audit_account(
            request,
            what="user",
            obj=obj,
            action=AuditAction.DELETE,
            flagged=obj.pk == request.user.pk or obj.is_superuser or _holds_audit_permission(obj),
        )


class AuditedGroupAdmin(_AuditedDeletes, GroupAdmin):
    def save_model(self, request, obj, form, change):
        form.samvirke_before = _AccountState(_group_holds_audit_permission(obj))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj, before = form.instance, form.samvirke_before
        addresses_changed = audit_notices.tell_former_recipients(before.addresses)
        fields = [field for field in GROUP_FIELDS if field in form.changed_data]
        if change and not fields:
            return
        holds = before.holds or _group_holds_audit_permission(obj)
        _audit_account(
            request,
            what=f"group:{','.join(fields)}",
            obj=obj,
            action=AuditAction.CHANGE if change else AuditAction.CREATE,
            flagged=(holds and "permissions" in fields) or addresses_changed,
        )

    def _audit_delete(self, request, obj):
        _audit_account(
            request,
            what="group",
            obj=obj,
            action=AuditAction.DELETE,
            flagged=_group_holds_audit_permission(obj),
        )


class AuditedDeviceAdmin(_AuditedDeletes):
    """A second factor (an authenticator app, backup codes) added, changed or deleted in the
    admin: whoever removes someone's device and sets their password logs in as them and sets
    up a factor of their own. Flagged when that login is worth taking (_login_worth_taking);
    a device moved to another account is audited for both."""

    def _audit_device(self, request, owner, action):
        _audit_account(
            request,
            what="otp_device",
            obj=owner,
            action=action,
            flagged=_login_worth_taking(owner, request.user),
        )

    def save_model(self, request, obj, form, change):
        moved_from = form.initial.get("user") if change and "user" in form.changed_data else None
        super().save_model(request, obj, form, change)
        self._audit_device(request, obj.user, AuditAction.CHANGE if change else AuditAction.CREATE)
        if moved_from is not None:
            self._audit_device(
                request, get_user_model().objects.get(pk=moved_from), AuditAction.CHANGE
            )

    def _audit_delete(self, request, obj):
        self._audit_device(request, obj.user, AuditAction.DELETE)


class AuditedTOTPDeviceAdmin(AuditedDeviceAdmin, TOTPDeviceAdmin):
    pass


class AuditedStaticDeviceAdmin(AuditedDeviceAdmin, StaticDeviceAdmin):
    pass


for _model, _model_admin in (
    (get_user_model(), AuditedUserAdmin),
    (Group, AuditedGroupAdmin),
    (TOTPDevice, AuditedTOTPDeviceAdmin),
    (StaticDevice, AuditedStaticDeviceAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)
