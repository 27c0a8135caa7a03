"""Administrators manage the structure; case contents are not theirs to read (DESIGN §1).

Case data models are therefore listed with identifiers and states only, read-only, and the
audit trail is searchable and read-only.
"""

from django.contrib import admin
from django.db.models.constants import LOOKUP_SEP
from django.utils.translation import gettext_lazy as _

from . import audit
from .models import (
    AuditAction,
    AuditEntry,
    Case,
    CaseEvent,
    CaseGroupObjectPermission,
    CaseNotice,
    CaseSequence,
    CaseUserObjectPermission,
    Consent,
    Disqualification,
    FlaggedAccessNotice,
    NetworkMeeting,
    Note,
    Referral,
    RetentionOutcome,
    RetentionRun,
    RetentionRunItem,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def lookup_allowed(self, lookup, value, request=None):
        # Django lets a changelist's URL filter on any of the model's own fields, shown or
        # not: ?full_name__iexact=... would tell an administrator, unaudited, whether a named
        # person has a stalking case, and __icontains would read a text letter by letter.
        # Only the filters the page offers (a 400 for anything else).
        offered = {
            f if isinstance(f, str) else f[0] for f in self.list_filter if not isinstance(f, type)
        }
        if self.date_hierarchy:
            offered.add(self.date_hierarchy)
        on_offer = any(lookup == f or lookup.startswith(f + LOOKUP_SEP) for f in offered)
        return on_offer and super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadsAudited:
    """A list or an entry shown in the admin is written to the audit trail, for the admin
    pages that tell who is watched: the trail itself (when and from where a colleague works,
    who handles a case) and the disqualifications (who is marked on which case)."""

    audit_what = ""

    def _record_read(self, request, object_id=""):
        audit.record(
            user=request.user,
            action=AuditAction.VIEW,
            what=self.audit_what,
            object_id=object_id,
            purpose="admin",
            request=request,
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if response.status_code == 200:
            self._record_read(request)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            self._record_read(request, object_id=str(object_id)[:40])
        return response


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
        "closed_at",
        "anonymised_at",
    ]
    list_filter = ["state", "municipality", "urgency", "closing_reason", "anonymised_at"]
    search_fields = ["reference"]
    list_select_related = ["municipality", "responsible"]
    # No personal fields: administrators see structure, not the citizen.
    fields = list_display + ["version"]
    date_hierarchy = "received_at"


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = [
        "case",
        "kind",
        "status",
        "from_organisation",
        "from_unit",
        "to_organisation",
        "to_unit",
        "created_at",
    ]
    list_filter = ["kind", "status", "to_organisation", "from_unit"]
    search_fields = ["case__reference"]
    list_select_related = ["case", "from_organisation", "from_unit", "to_organisation", "to_unit"]
    fields = list_display  # the detail shows what the list does: no texts, no personal data


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ["case", "partner", "scope", "given_at", "withdrawn_at"]
    list_filter = ["partner", "scope"]
    search_fields = ["case__reference"]
    list_select_related = ["case"]


@admin.register(Disqualification)
class DisqualificationAdmin(ReadsAudited, ReadOnlyAdmin):
    audit_what = "disqualification_admin"
    list_display = ["case", "user", "created_by", "created_at"]
    search_fields = ["case__reference", "user__username"]
    list_select_related = ["case", "user", "created_by"]
    # Not the reason: it says why (a relative, the person who stalks) in the visitator's words.
    fields = list_display


@admin.register(CaseNotice)
class CaseNoticeAdmin(ReadOnlyAdmin):
    list_display = ["case", "kind", "created_at", "sent_at"]
    list_filter = ["kind"]
    search_fields = ["case__reference"]
    list_select_related = ["case"]
    fields = list_display


@admin.register(FlaggedAccessNotice)
class FlaggedAccessNoticeAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "covered_from", "covered_until", "count"]
    fields = list_display


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ["case", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["case__reference", "actor__username"]
    list_select_related = ["case", "actor"]
    fields = ["case", "kind", "actor", "created_at"]


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    """That a note was written, by whom and when; its text is case content."""

    list_display = ["case", "author", "created_at"]
    search_fields = ["case__reference", "author__username"]
    list_select_related = ["case", "author"]
    fields = list_display
    date_hierarchy = "created_at"


@admin.register(NetworkMeeting)
class NetworkMeetingAdmin(ReadOnlyAdmin):
    """When meetings were held and recorded; who took part and what was agreed is content."""

    list_display = ["case", "held_on", "next_meeting", "recorded_by", "recorded_at"]
    search_fields = ["case__reference"]
    list_select_related = ["case", "recorded_by"]
    fields = list_display
    date_hierarchy = "held_on"


@admin.register(CaseUserObjectPermission)
class CaseGrantAdmin(ReadOnlyAdmin):
    """Who holds a grant on which case: given and taken away only by the services (routing,
    handover, closing, withdrawn consent), so read-only here. A grant counts only while its
    holder holds the matching role (cases.access)."""

    list_display = ["content_object", "user", "permission"]
    list_filter = ["permission"]
    search_fields = ["content_object__reference", "user__username"]
    list_select_related = ["content_object", "user", "permission"]
    fields = list_display


@admin.register(CaseGroupObjectPermission)
class CaseGroupGrantAdmin(ReadOnlyAdmin):
    """Samvirke gives no grants to groups; listed so that one given by hand would be seen."""

    list_display = ["content_object", "group", "permission"]
    list_filter = ["permission"]
    search_fields = ["content_object__reference", "group__name"]
    list_select_related = ["content_object", "group", "permission"]
    fields = list_display


@admin.register(CaseSequence)
class CaseSequenceAdmin(ReadOnlyAdmin):
    """The last case number given per municipality and year (references never repeat)."""

    list_display = ["organisation", "year", "last_number"]
    list_filter = ["organisation", "year"]
    list_select_related = ["organisation"]


@admin.register(RetentionRunItem)
class RetentionRunItemAdmin(ReadOnlyAdmin):
    list_display = ["run", "reference", "outcome", "created_at"]
    list_filter = ["outcome"]
    search_fields = ["reference"]
    list_select_related = ["run"]
    fields = list_display


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadsAudited, ReadOnlyAdmin):
    audit_what = "audit_admin"
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


class RetentionRunItemInline(admin.TabularInline):
    """The cases a run did not anonymise (skipped or failed); a run can hold thousands."""

    model = RetentionRunItem
    fields = ["reference", "outcome", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("sager, der ikke blev anonymiseret")

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(outcome=RetentionOutcome.ANONYMISED)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    """The report of each retention run, read-only: runs are confirmed on /sletning/."""

    list_display = [
        "pk",
        "municipality",
        "confirmed_by",
        "confirmed_at",
        "status",
        "case_count",
        "cases_anonymised",
        "cases_skipped",
        "cases_failed",
    ]
    list_filter = ["status", "municipality"]
    list_select_related = ["municipality", "confirmed_by"]
    date_hierarchy = "confirmed_at"
    fields = [
        "municipality",
        "confirmed_by",
        "confirmed_at",
        "retention_years",
        "cutoff",
        "status",
        "started_at",
        "finished_at",
        "case_count",
        "cases_anonymised",
        "cases_skipped",
        "cases_failed",
        "notes_removed",
        "entries_removed",
        "records_removed",
        "files_removed",
    ]
    readonly_fields = fields
    inlines = [RetentionRunItemInline]

    @admin.display(description=_("sager i kørslen"))
    def case_count(self, obj):
        return obj.case_count
