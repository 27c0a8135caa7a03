"""Reading the audit trail: the search and export, and what the data protection officer reviews.

Everything here is one query per list, whatever the number of rows: filters, the "was this
reader assigned to the case" test and the role labels are all done in SQL or without queries;
the user's current name comes in the same query (a join), next to the username the entry keeps.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from cooperation.models import Role

from .models import AuditAction, AuditEntry, Case, CaseUserObjectPermission

# The columns the pages and the export show; nothing else is read from the table.
LIST_COLUMNS = (
    "id",
    "created_at",
    "username",
    "role",
    "action",
    "case_reference",
    "what",
    "purpose",
    "ip_address",
    "flagged",
)
EXPORT_COLUMNS = (*LIST_COLUMNS, "object_id", "path")
# The user's current name for the pages (joined; None when the user has been deleted).
USER_COLUMNS = ("user", "user__first_name", "user__last_name")

# A read of case data: a case page (view) or a PDF / an attachment (download).
READ_ACTIONS = (AuditAction.VIEW, AuditAction.DOWNLOAD)
REVIEW_DAYS = 30


@dataclass(frozen=True)
class AuditFilters:
    person: str = ""
    case: str = ""
    action: str = ""
    flagged_only: bool = False
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None


def _start_of(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of a local (Danish) day, as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def in_period(entries, date_from=None, date_to=None):
    """Both ends are whole local days, the last one included."""
    if date_from:
        entries = entries.filter(created_at__gte=_start_of(date_from))
    if date_to:
        entries = entries.filter(created_at__lt=_start_of(date_to + datetime.timedelta(days=1)))
    return entries


def _listed():
    """Entries as the pages list them: their columns and the user's name, in one query."""
    return AuditEntry.objects.select_related("user").only(*LIST_COLUMNS, *USER_COLUMNS)


def search(filters: AuditFilters, *, columns=LIST_COLUMNS):
    entries = _listed() if columns == LIST_COLUMNS else AuditEntry.objects.only(*columns)
    if filters.person:
        entries = entries.filter(username__icontains=filters.person)
    if filters.case:
        entries = entries.filter(case_reference__iexact=filters.case)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.flagged_only:
        entries = entries.filter(flagged=True)
    entries = in_period(entries, filters.date_from, filters.date_to)
    return entries.order_by("-created_at", "-id")


def export_rows(filters: AuditFilters):
    """The search as plain tuples, streamed from the database in chunks."""
    return (
        search(filters, columns=EXPORT_COLUMNS)
        .values_list(
            "created_at",
            "username",
            "role",
            "action",
            "case_reference",
            "what",
            "object_id",
            "purpose",
            "path",
            "ip_address",
            "flagged",
        )
        .iterator(chunk_size=2000)
    )


def default_review_period(today: datetime.date | None = None):
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=REVIEW_DAYS - 1), today


def flagged_entries(date_from=None, date_to=None):
    """Entries marked for review when they were written, e.g. a disqualified user's attempt."""
    entries = _listed().filter(flagged=True)
    return in_period(entries, date_from, date_to).order_by("-created_at", "-id")


def _assigned_to_case():
    """Was the reader one of the case's assigned people? Evaluated in SQL per audit entry:

    - the case's responsible person (now),
    - a visitator of the case's municipality on the day of the read (role assignments keep
      their period, so a visitator who has since left is not flagged for earlier reads),
    - anyone holding an object permission (grant) on the case (now; grants keep no history).
    """
    responsible = Case.objects.filter(pk=OuterRef("case_id"), responsible_id=OuterRef("user_id"))
    visitator_that_day = Case.objects.filter(
        Q(municipality__role_assignments__valid_to__isnull=True)
        | Q(municipality__role_assignments__valid_to__gte=OuterRef("read_on")),
        pk=OuterRef("case_id"),
        municipality__role_assignments__user_id=OuterRef("user_id"),
        municipality__role_assignments__role=Role.VISITATOR,
        municipality__role_assignments__valid_from__lte=OuterRef("read_on"),
    )
    granted = CaseUserObjectPermission.objects.filter(
        content_object_id=OuterRef("case_id"), user_id=OuterRef("user_id")
    )
    return Exists(responsible) | Exists(visitator_that_day) | Exists(granted)


def outsider_reads(date_from=None, date_to=None):
    """Reads of a case by someone outside its assigned people, in one query.

    Entries whose case no longer exists (deleted under the retention rule) are left out: who
    was assigned to it cannot be told any more.
    """
    entries = (
        _listed()
        .filter(action__in=READ_ACTIONS, case_id__isnull=False)
        .alias(read_on=TruncDate("created_at"))
        .filter(Exists(Case.objects.filter(pk=OuterRef("case_id"))))
        .exclude(_assigned_to_case())
    )
    return in_period(entries, date_from, date_to).order_by("-created_at", "-id")


def role_labels(codes: str) -> str:
    """ "coordinator,visitator" -> "Primær koordinator, Stalkingvisitator" (no queries)."""
    labels = dict(Role.choices)
    return ", ".join(str(labels.get(code, code)) for code in codes.split(",") if code)
