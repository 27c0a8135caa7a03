from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .models import Organisation, RoleAssignment, Unit
from .services import handover


class HandoverForm(forms.Form):
    successor = forms.ModelChoiceField(
        label=_("Efterfølger"), queryset=get_user_model().objects.filter(is_active=True)
    )


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
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
