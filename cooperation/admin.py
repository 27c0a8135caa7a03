from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from cases import audit
from cases.models import AuditAction

from .models import Consultation, Organisation, RoleAssignment, Unit
from .services import handover


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
            from cases import audit
            from cases.models import AuditAction

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
