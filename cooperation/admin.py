from django.contrib import admin

from .models import Organisation, RoleAssignment, Unit


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "police_district", "triage_working_days"]
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
