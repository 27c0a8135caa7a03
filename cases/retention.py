"""The retention rule: closed cases are kept a number of years per municipality
(Organisation.retention_years), then anonymised once an administrator has confirmed it.

"Delete or anonymise" means here: the case row stays, with its reference, municipality,
state, dates and categorical fields (the follow-up group's statistics count them, and the
append-only audit trail keeps pointing at it), and everything personal goes:

- on the case: name, CPR (ciphertext, blind index, last four), birth date, safe contact,
  triage reasoning and closing comment;
- referral reasons and decline reasons, the names of external actors referred to (a lawyer,
  say), disqualification reasons, the timeline's summaries;
- journal notes (the timeline keeps the "note added" events without their text);
- network meetings, whole rows: who took part, what was discussed and agreed (the timeline
  keeps that a meeting was recorded, without its date);
- everything of the stalking package on the case: filled forms, the action plan with its
  items and revisions, the incident log with its attachments, the PDF documents and the
  rendered incident log chunks, rows and files.

The audit trail (cases.AuditEntry) is never touched: it holds who (staff), what (fixed codes),
which case (reference) and when, no citizen data; one entry per anonymised case is added.

Selector and services only; the pages are cases.retention_views, the task cases.tasks.
"""

import datetime
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cooperation.models import Organisation, OrganisationKind

from . import audit
from .models import (
    AuditAction,
    Case,
    CaseEvent,
    CaseState,
    Disqualification,
    NetworkMeeting,
    Note,
    Referral,
    RetentionOutcome,
    RetentionRun,
    RetentionRunItem,
    RetentionRunStatus,
)

logger = logging.getLogger(__name__)

RETENTION_PERMISSION = "cases.run_retention"
PURPOSE = "retention"
# A declined referral must keep a reason, and a referral to an external actor its name
# (database constraints): this replaces the text.
REDACTED = "[slettet]"

MSG_NOTHING_DUE = _("Der er ingen sager at anonymisere i kommunen lige nu.")
MSG_COUNT_CHANGED = _(
    "Antallet af sager er ændret, siden du åbnede siden: nu %(count)d. Se listen igen, og "
    "bekræft på ny."
)
MSG_NOT_ALLOWED = _("Du har ikke adgang til at anonymisere sager.")
MSG_CANNOT_RESTART = _("Kørslen er færdig og kan ikke startes igen.")


def may_run_retention(user) -> bool:
    """The gate of the data protection officer's pages, with its own permission, and staff
    only: an irreversible step belongs to administrators (like the menu's audit link)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.is_staff
        and (user.is_superuser or user.has_perm(RETENTION_PERMISSION))
    )


def _require(user) -> None:
    if not may_run_retention(user):
        raise PermissionDenied(MSG_NOT_ALLOWED)


# --- selector -------------------------------------------------------------------------------


def years_before(moment: datetime.datetime, years: int) -> datetime.datetime:
    """The same local calendar day and time `years` earlier (29 February becomes the 28th)."""
    local = timezone.localtime(moment)
    try:
        earlier = local.replace(year=local.year - years)
    except ValueError:
        earlier = local.replace(year=local.year - years, day=28)
    # Recompute the offset: the day `years` ago may be on the other side of summer time.
    return timezone.make_aware(earlier.replace(tzinfo=None), local.tzinfo)


def cutoff_for(municipality: Organisation, now: datetime.datetime | None = None):
    """Cases closed before this moment are past the municipality's retention period.
    A case closed exactly N years ago is not yet (it is kept N years, then it is due)."""
    years = max(municipality.retention_years, settings.RETENTION_MIN_YEARS)
    return years_before(now or timezone.now(), years)


def _due(municipality_id: int, cutoff: datetime.datetime) -> Q:
    # The last close counts: reopening clears closed_at and closing again sets it anew, and a
    # reopened case that is open again is not CLOSED. Matches the partial index
    # case_retention_due (municipality, closed_at WHERE closed AND not anonymised).
    return Q(
        municipality_id=municipality_id,
        state=CaseState.CLOSED,
        anonymised_at__isnull=True,
        closed_at__lt=cutoff,
    )


def municipalities():
    return Organisation.objects.filter(kind=OrganisationKind.MUNICIPALITY).order_by("name")


def due_cases(municipality: Organisation, *, now: datetime.datetime | None = None):
    """The municipality's closed cases past its retention period, not yet anonymised, oldest
    first. Only what the administrator's list shows: no names, no CPR."""
    return (
        Case.objects.filter(_due(municipality.pk, cutoff_for(municipality, now)))
        .only("pk", "reference", "closed_at", "closing_reason", "municipality_id")
        .order_by("closed_at", "pk")
    )


@dataclass
class MunicipalityDue:
    municipality: Organisation
    cutoff: datetime.datetime
    due: int


def due_per_municipality(*, now: datetime.datetime | None = None) -> list[MunicipalityDue]:
    """Every municipality with its cutoff and how many of its cases are due: one query for the
    municipalities, one for the counts (an OR of one indexed range per municipality)."""
    now = now or timezone.now()
    rows = [(m, cutoff_for(m, now)) for m in municipalities()]
    counts = {}
    if rows:
        query = Q()
        for municipality, cutoff in rows:
            query |= _due(municipality.pk, cutoff)
        counts = dict(
            Case.objects.filter(query)
            .values("municipality_id")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("municipality_id", "n")
        )
    return [MunicipalityDue(m, cutoff, counts.get(m.pk, 0)) for m, cutoff in rows]


def runs(municipality: Organisation | None = None):
    queryset = RetentionRun.objects.select_related("municipality", "confirmed_by")
    if municipality is not None:
        queryset = queryset.filter(municipality=municipality)
    return queryset.order_by("-confirmed_at", "-pk")


# --- confirming a run -----------------------------------------------------------------------


def _enqueue(run_id: int) -> None:
    from .tasks import anonymise_retention_run

    anonymise_retention_run.delay(run_id)


@transaction.atomic
def confirm_run(
    *, actor, municipality: Organisation, expected_count: int, request=None
) -> RetentionRun:
    """The administrator has seen the number and confirmed. The cases are fixed now; the task
    is queued with the run's id once this transaction has committed."""
    _require(actor)
    now = timezone.now()
    cutoff = cutoff_for(municipality, now)
    ids = list(
        Case.objects.filter(_due(municipality.pk, cutoff))
        .order_by("closed_at", "pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        raise ValidationError(MSG_NOTHING_DUE, code="nothing_due")
    if len(ids) != expected_count:
        raise ValidationError(MSG_COUNT_CHANGED, code="count_changed", params={"count": len(ids)})
    run = RetentionRun.objects.create(
        municipality=municipality,
        confirmed_by=actor,
        confirmed_at=now,
        retention_years=municipality.retention_years,
        cutoff=cutoff,
        case_ids=ids,
    )
    audit.record(
        user=actor,
        action=AuditAction.CREATE,
        what="retention_run",
        object_id=run.pk,
        purpose=PURPOSE,
        request=request,
    )
    # robust: if the broker is down the run stays PENDING (the run page offers to start it
    # again) and the administrator's request does not fail after the commit.
    transaction.on_commit(lambda: _enqueue(run.pk), robust=True)
    return run


@transaction.atomic
def restart_run(*, actor, run: RetentionRun, request=None) -> RetentionRun:
    """Queue the task again for a run that has not finished (e.g. the broker lost the message
    or a worker died). Safe: the task skips what an earlier delivery already did."""
    _require(actor)
    run = RetentionRun.objects.select_for_update().get(pk=run.pk)
    if run.status == RetentionRunStatus.DONE:
        raise ValidationError(MSG_CANNOT_RESTART, code="finished")
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        what="retention_run:restart",
        object_id=run.pk,
        purpose=PURPOSE,
        request=request,
    )
    transaction.on_commit(lambda: _enqueue(run.pk), robust=True)  # as in confirm_run
    return run


# --- anonymising (called by the task) -------------------------------------------------------


@dataclass
class Removed:
    notes: int = 0
    entries: int = 0
    records: int = 0
    files: list[tuple] = field(default_factory=list)  # (storage, name)


def _is_due(case: Case, run: RetentionRun) -> bool:
    return (
        case.municipality_id == run.municipality_id
        and case.state == CaseState.CLOSED
        and case.anonymised_at is None
        and case.closed_at is not None
        and case.closed_at < run.cutoff
    )


def _files(queryset) -> list[tuple]:
    storage = queryset.model._meta.get_field("file").storage
    return [(storage, name) for name in queryset.values_list("file", flat=True) if name]


def _scrub_stalkingpakke(case: Case, removed: Removed) -> None:
    from stalkingpakke.models import (
        ActionPlan,
        Attachment,
        Document,
        FilledForm,
        IncidentEntry,
        IncidentLogChunk,
    )

    attachments = Attachment.objects.filter(entry__case=case)
    removed.files += _files(attachments)
    removed.records += attachments.delete()[0]

    entries = IncidentEntry.objects.filter(case=case)
    # A correction protects the entry it supersedes; the whole log goes, so untie them first.
    entries.exclude(supersedes=None).update(supersedes=None)
    removed.entries += entries.delete()[0]

    for model in (Document, IncidentLogChunk):
        rows = model.objects.filter(case=case)
        removed.files += _files(rows)
        removed.records += rows.delete()[0]

    removed.records += FilledForm.objects.filter(case=case).delete()[0]
    # Cascades to the plan's items and revisions (their snapshots hold the old texts).
    removed.records += ActionPlan.objects.filter(case=case).delete()[0]


def _scrub_case(case: Case, removed: Removed) -> None:
    CaseEvent.objects.filter(case=case, note__isnull=False).update(note=None)
    removed.notes += Note.objects.filter(case=case).delete()[0]
    removed.records += NetworkMeeting.objects.filter(case=case).delete()[0]
    CaseEvent.objects.filter(case=case).exclude(summary="").update(summary="")
    Referral.objects.filter(case=case).exclude(reason="").update(reason="")
    Referral.objects.filter(case=case).exclude(person_name="").update(person_name="")
    Referral.objects.filter(case=case).exclude(decline_reason="").update(decline_reason=REDACTED)
    Referral.objects.filter(case=case).exclude(to_external="").update(to_external=REDACTED)
    Disqualification.objects.filter(case=case).exclude(reason="").update(reason="")

    case.full_name = ""
    case.cpr_encrypted = ""
    case.cpr_index = ""
    case.cpr_last4 = ""
    case.birth_date = None
    case.safe_contact = ""
    case.safe_contact_time = ""
    case.triage_reasoning = ""
    case.closing_comment = ""
    case.anonymised_at = timezone.now()
    case.version += 1
    case.save(
        update_fields=[
            "full_name",
            "cpr_encrypted",
            "cpr_index",
            "cpr_last4",
            "birth_date",
            "safe_contact",
            "safe_contact_time",
            "triage_reasoning",
            "closing_comment",
            "anonymised_at",
            "version",
            "updated_at",
        ]
    )


def _delete_files(files: list[tuple]) -> int:
    """Delete the files; an error (OSError) rolls the case's transaction back, so a case is
    only marked anonymised once its files are gone. Deleting a missing file is no error, so
    the next run finishes what this one began."""
    deleted = 0
    for storage, name in files:
        if storage.exists(name):
            storage.delete(name)
            deleted += 1
    return deleted


def _count(run_id: int, outcome: str, removed: Removed | None = None, files: int = 0) -> None:
    counter = {
        RetentionOutcome.ANONYMISED: "cases_anonymised",
        RetentionOutcome.SKIPPED: "cases_skipped",
        RetentionOutcome.FAILED: "cases_failed",
    }[outcome]
    changes = {counter: F(counter) + 1}
    if removed is not None:
        changes |= {
            "notes_removed": F("notes_removed") + removed.notes,
            "entries_removed": F("entries_removed") + removed.entries,
            "records_removed": F("records_removed") + removed.records,
            "files_removed": F("files_removed") + files,
        }
    RetentionRun.objects.filter(pk=run_id).update(**changes)


def anonymise_case(run: RetentionRun, case_id: int) -> str | None:
    """One case in one transaction: anonymise it if it is still due, and record the outcome
    on the run. None if an earlier delivery of the task has done this case already."""
    with transaction.atomic():
        # Lock order: the run, then the case (two deliveries of one run wait for each other).
        run = RetentionRun.objects.select_for_update().get(pk=run.pk)
        if RetentionRunItem.objects.filter(run=run, case_id=case_id).exists():
            return None
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None or not _is_due(case, run):
            RetentionRunItem.objects.create(
                run=run,
                case_id=case_id,
                reference=case.reference if case else "",
                outcome=RetentionOutcome.SKIPPED,
            )
            _count(run.pk, RetentionOutcome.SKIPPED)
            return RetentionOutcome.SKIPPED
        removed = Removed()
        _scrub_stalkingpakke(case, removed)
        _scrub_case(case, removed)
        audit.record(
            user=run.confirmed_by,
            action=AuditAction.ANONYMISE,
            case=case,
            what="case",
            object_id=run.pk,
            purpose=PURPOSE,
        )
        RetentionRunItem.objects.create(
            run=run, case=case, reference=case.reference, outcome=RetentionOutcome.ANONYMISED
        )
        files = _delete_files(removed.files)
        _count(run.pk, RetentionOutcome.ANONYMISED, removed, files)
        return RetentionOutcome.ANONYMISED


def _record_failure(run: RetentionRun, case_id: int, exc: BaseException) -> None:
    """The type of the error and where, with ids: never its message, which may quote the case."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames[-4:][::-1])
    logger.error("Retention run %s, case %s: %s at %s", run.pk, case_id, type(exc).__name__, where)
    with transaction.atomic():
        RetentionRun.objects.select_for_update().get(pk=run.pk)
        if RetentionRunItem.objects.filter(run=run, case_id=case_id).exists():
            return
        reference = Case.objects.filter(pk=case_id).values_list("reference", flat=True).first()
        RetentionRunItem.objects.create(
            run=run, case_id=case_id, reference=reference or "", outcome=RetentionOutcome.FAILED
        )
        _count(run.pk, RetentionOutcome.FAILED)


def _claim(run_id: int) -> RetentionRun | None:
    """Mark the run as running; None if it is done already (a message delivered again)."""
    with transaction.atomic():
        run = RetentionRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status == RetentionRunStatus.DONE:
            return None
        run.status = RetentionRunStatus.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.finished_at = None
        run.save(update_fields=["status", "started_at", "finished_at"])
        return run


def _finish(run_id: int, status: str) -> None:
    RetentionRun.objects.filter(pk=run_id).update(status=status, finished_at=timezone.now())


def execute_run(run_id: int) -> str:
    """Anonymise every case of the run, each in its own transaction. A case that fails is
    reported and the others go on; a new run picks it up again, as it is still due."""
    run = _claim(run_id)
    if run is None:
        return "skipped"
    try:
        for case_id in run.case_ids:
            try:
                anonymise_case(run, case_id)
            except Exception as exc:
                _record_failure(run, case_id, exc)
    except BaseException:
        _finish(run_id, RetentionRunStatus.FAILED)
        raise
    _finish(run_id, RetentionRunStatus.DONE)
    return RetentionRunStatus.DONE
