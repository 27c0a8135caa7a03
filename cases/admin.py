"""Administrators manage the structure; case contents are not theirs to read (DESIGN §1).

Case data models are therefore listed with identifiers and states only, read-only, and the
audit trail is searchable and read-only.
"""

from django.contrib import admin

from .models import AuditEntry, Case, CaseEvent, Consent, Disqualification, Referral


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "municipality",
        "state",
        "urgency",
        "triage_deadline",
        "responsible",
        "received_at",
        "closing_reason",
    ]
    list_filter = ["state", "municipality", "urgency", "closing_reason"]
    search_fields = ["reference"]
    list_select_related = ["municipality", "responsible"]
    # No personal fields: administrators see structure, not the citizen.
    fields = list_display + ["version"]
    date_hierarchy = "received_at"


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["case", "kind", "status", "from_organisation", "to_organisation", "created_at"]
    list_filter = ["kind", "status", "to_organisation"]
    search_fields = ["case__reference"]
    list_select_related = ["case", "from_organisation", "to_organisation"]
    fields = ["case", "kind", "status", "from_organisation", "to_organisation", "created_at"]


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ["case", "partner", "scope", "given_at", "withdrawn_at"]
    list_filter = ["partner", "scope"]
    search_fields = ["case__reference"]
    list_select_related = ["case"]


@admin.register(Disqualification)
class DisqualificationAdmin(ReadOnlyAdmin):
    list_display = ["case", "user", "created_by", "created_at"]
    search_fields = ["case__reference", "user__username"]
    list_select_related = ["case", "user", "created_by"]


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ["case", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["case__reference", "actor__username"]
    list_select_related = ["case", "actor"]
    fields = ["case", "kind", "actor", "created_at"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "username",
        "role",
        "action",
        "case_reference",
        "what",
        "purpose",
        "ip_address",
        "flagged",
    ]
    list_filter = ["action", "flagged", "created_at"]
    search_fields = ["username", "case_reference", "what", "ip_address"]
    date_hierarchy = "created_at"
