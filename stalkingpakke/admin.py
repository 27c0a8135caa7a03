from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from cases.admin import ReadOnlyAdmin

from .models import (
    ActionItem,
    ActionPlan,
    ActionPlanRevision,
    Attachment,
    Document,
    FilledForm,
    IncidentEntry,
    IncidentLogChunk,
    ToolVersion,
)


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


# The filled-in tools are case content: the admin lists that they exist, which version of the
# tool they were filled against and when, never what they say.


@admin.register(FilledForm)
class FilledFormAdmin(ReadOnlyAdmin):
    list_display = ["case", "tool_version", "created_by", "created_at", "updated_at", "version"]
    list_filter = ["tool_version__kind"]
    search_fields = ["case__reference"]
    list_select_related = ["case", "tool_version", "created_by"]
    fields = list_display


@admin.register(ActionPlan)
class ActionPlanAdmin(ReadOnlyAdmin):
    list_display = ["case", "tool_version", "version", "updated_at", "next_review"]
    search_fields = ["case__reference"]
    list_select_related = ["case", "tool_version"]
    fields = list_display


@admin.register(ActionItem)
class ActionItemAdmin(ReadOnlyAdmin):
    list_display = ["plan", "position", "status", "deadline"]
    list_filter = ["status"]
    search_fields = ["plan__case__reference"]
    list_select_related = ["plan__case"]
    fields = list_display


@admin.register(ActionPlanRevision)
class ActionPlanRevisionAdmin(ReadOnlyAdmin):
    list_display = ["plan", "number", "created_by", "created_at"]
    search_fields = ["plan__case__reference"]
    list_select_related = ["plan__case", "created_by"]
    fields = list_display


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    """Type, size and checksum only: the file and its name are evidence in a case, served
    only through the case's permission-checked, audited view."""

    list_display = ["entry", "content_type", "size", "sha256", "uploaded_by", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["entry__case__reference"]
    list_select_related = ["entry__case", "uploaded_by"]
    fields = list_display


@admin.register(IncidentLogChunk)
class IncidentLogChunkAdmin(ReadOnlyAdmin):
    """The incident log PDF's rendered pieces (stalkingpakke.pdf); the files are not linked."""

    list_display = ["case", "index", "entry_count", "created_at"]
    search_fields = ["case__reference"]
    list_select_related = ["case"]
    fields = list_display
