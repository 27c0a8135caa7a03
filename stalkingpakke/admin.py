from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from cases.admin import ReadOnlyAdmin

from .models import Document, IncidentEntry, ToolVersion


@admin.register(ToolVersion)
class ToolVersionAdmin(admin.ModelAdmin):
    """Editing a tool saves a new version: forms filled against the old one keep it."""

    list_display = ["kind", "number", "change_note", "created_by", "created_at"]
    list_filter = ["kind"]
    search_fields = ["change_note"]
    readonly_fields = ["number", "created_by", "created_at"]
    fields = ["kind", "number", "change_note", "content", "created_by", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "kind"] if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        latest = ToolVersion.objects.select_for_update().filter(kind=obj.kind)
        obj.number = (latest.aggregate(n=Max("number"))["n"] or 0) + 1
        obj.pk = None
        obj._state.adding = True
        obj.created_by = request.user
        obj.save()
        if change:
            messages.info(
                request, _("Ændringen er gemt som en ny version %(n)d.") % {"n": obj.number}
            )


@admin.register(IncidentEntry)
class IncidentEntryAdmin(ReadOnlyAdmin):
    """Structure only: the content of a log is case data, not for administrators."""

    list_display = ["case", "sequence", "created_at", "supersedes", "entry_hash"]
    search_fields = ["case__reference"]
    fields = list_display
    list_select_related = ["case", "supersedes"]


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["case", "kind", "status", "requested_by", "requested_at", "finished_at", "size"]
    list_filter = ["kind", "status"]
    search_fields = ["case__reference"]
    fields = [
        "case",
        "kind",
        "status",
        "requested_by",
        "requested_at",
        "finished_at",
        "sha256",
        "chain_hash",
        "error",
        "attempts",
    ]
    list_select_related = ["case", "requested_by"]
