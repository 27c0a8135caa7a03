"""Requesting a PDF document and reading it back. The rendering happens in a Celery task
(stalkingpakke.tasks.render_document), sent only after the request's transaction commits.
The Document row is the outbox: if the broker cannot be reached the request still succeeds,
the document waits (PENDING, never sent) and the relay sends it later (see tasks.py)."""

import contextlib
import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import audit
from cases.access import Level, level_for, visible_scopes
from cases.models import AuditAction, Case, ConsentScope

from .models import (
    ActionPlan,
    Document,
    DocumentKind,
    DocumentStatus,
    FilledForm,
    IncidentEntry,
    ToolKind,
)

# Which kind of information a document shows, for the consent check of police and DSC.
DOCUMENT_SCOPE = {
    DocumentKind.ACTION_PLAN: ConsentScope.ACTION_PLAN,
    DocumentKind.INCIDENT_LOG: ConsentScope.INCIDENT_LOG,
    DocumentKind.ASSESSMENT: ConsentScope.SITUATION,
    DocumentKind.ADVICE: ConsentScope.CONTACT,
}


def may_read_document(user, case: Case, kind: str) -> bool:
    if kind == DocumentKind.SUBJECT_ACCESS:
        # The whole case: only for those who make the copy (full access), never a partner.
        return level_for(user, case) == Level.FULL
    return DOCUMENT_SCOPE[kind] in visible_scopes(user, case)


def subject_access_copies(user, case: Case):
    """The citizen's copies ordered on the case and not yet deleted, newest first."""
    if level_for(user, case) != Level.FULL:
        return Document.objects.none()
    return case.documents.filter(kind=DocumentKind.SUBJECT_ACCESS)


def documents_for(user, case: Case):
    scopes = visible_scopes(user, case)
    kinds = [kind for kind, scope in DOCUMENT_SCOPE.items() if scope in scopes]
    return case.documents.filter(kind__in=kinds).select_related("requested_by")


def with_outdated(documents):
    """The documents, each with what it shows and whether the data changed after that, in
    the same query (subqueries, nothing per document). Only what the PDF was made from
    (Document.data_version, read by the worker with the data it renders) counts, never when
    it was ordered: two PDFs of the same version are both current, or both not.

    - shows: the plan's or assessment's version in it; for the incident log the number of its
      newest entry (0: an empty log). A log PDF made before data_version was kept is worked
      out from its chain hash (entries are numbered 1, 2, ... per case and never deleted).
      None when not known (see plan_changed).
    - newer_entries: entries added to the incident log after the newest one in the PDF
      (a correction is a new entry too).
    - plan_changed: the action plan has been saved as a later version than the one in the PDF.
      An action plan PDF from before data_version was kept, whose version could not be worked
      out (migration 0008), keeps the earlier rule: changed if saved after it was ordered.
    - assessment_changed: the assessment has been saved as a later version than in the PDF
      (not said of an assessment PDF from before data_version was kept).
    """
    ready = models.Q(status=DocumentStatus.READY)
    entries = IncidentEntry.objects.filter(case=models.OuterRef("case")).order_by()
    last = entries.order_by("-sequence").values("sequence")[:1]
    end = entries.filter(entry_hash=models.OuterRef("chain_hash")).values("sequence")[:1]
    log_shows = Coalesce("data_version", models.Subquery(end), 0)
    plans = ActionPlan.objects.filter(case=models.OuterRef("case"))
    later_plan = plans.filter(version__gt=models.OuterRef("data_version"))
    saved_after = plans.filter(updated_at__gt=models.OuterRef("requested_at"))
    later_assessment = FilledForm.objects.filter(
        case=models.OuterRef("case"),
        tool_version__kind=ToolKind.ASSESSMENT,
        version__gt=models.OuterRef("data_version"),
    )
    known = models.Q(data_version__isnull=False)
    plan = ready & models.Q(kind=DocumentKind.ACTION_PLAN)
    return documents.annotate(
        shows=models.Case(
            models.When(ready & models.Q(kind=DocumentKind.INCIDENT_LOG), then=log_shows),
            default="data_version",
            output_field=models.IntegerField(),
        ),
        newer_entries=models.Case(
            models.When(
                ready & models.Q(kind=DocumentKind.INCIDENT_LOG),
                then=Coalesce(models.Subquery(last), 0) - log_shows,
            ),
            default=0,
            output_field=models.IntegerField(),
        ),
        plan_changed=models.Case(
            models.When(plan & known, then=models.Exists(later_plan)),
            models.When(plan, then=models.Exists(saved_after)),
            default=False,
            output_field=models.BooleanField(),
        ),
        assessment_changed=models.Case(
            models.When(
                ready & known & models.Q(kind=DocumentKind.ASSESSMENT),
                then=models.Exists(later_assessment),
            ),
            default=False,
            output_field=models.BooleanField(),
        ),
    )


def _enqueue(document_id: int) -> None:
    from .tasks import send_render

    send_render(document_id)


@transaction.atomic
def request_document(*, actor, case: Case, kind: str, request=None) -> Document:
    """Queue a document. Only people with full access to the case ask for documents."""
    if kind not in DocumentKind.values:
        raise ValidationError(_("Ukendt dokumenttype."))
    if level_for(actor, case) != Level.FULL:
        raise PermissionDenied
    document = Document.objects.create(case=case, kind=kind, requested_by=actor)
    audit.record(
        user=actor,
        action=AuditAction.CREATE,
        case=case,
        what=f"document:{kind}",
        object_id=document.pk,
        request=request,
    )
    transaction.on_commit(lambda: _enqueue(document.pk))
    return document


@transaction.atomic
def retry_document(*, actor, document: Document, request=None) -> Document:
    if level_for(actor, document.case) != Level.FULL:
        raise PermissionDenied
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.status != DocumentStatus.FAILED:
        raise ValidationError(_("Kun et fejlet dokument kan prøves igen."))
    document.status = DocumentStatus.PENDING
    document.error = ""
    document.queued_at = None
    document.save(update_fields=["status", "error", "queued_at"])
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        case=document.case,
        what="document:retry",
        object_id=document.pk,
        request=request,
    )
    transaction.on_commit(lambda: _enqueue(document.pk))
    return document


def subject_access_keep() -> datetime.timedelta:
    """The citizen's copy is a file with everything on the case: kept long enough to be fetched
    and sent on, then deleted (file and row), so it does not become one more copy to keep safe."""
    return datetime.timedelta(hours=settings.SUBJECT_ACCESS_KEEP_HOURS)


def delete_expired_subject_access_copies(*, now=None) -> int:
    """Delete the citizen's copies older than SUBJECT_ACCESS_KEEP_HOURS; one audit entry each."""
    cutoff = (now or timezone.now()) - subject_access_keep()
    expired = Document.objects.filter(kind=DocumentKind.SUBJECT_ACCESS, requested_at__lt=cutoff)
    deleted = 0
    for document_id in expired.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            # The locked row, not the one listed: a worker may have stored the file since.
            document = (
                Document.objects.select_for_update().select_related("case").filter(pk=document_id)
            ).first()
            if document is None:
                continue  # deleted meanwhile (by another run, or with the case's retention)
            # The file first, inside the transaction: if it cannot be deleted the row and its
            # audit entry stay, and the next run tries again. A commit that fails after it
            # leaves a row without a file, which downloads as 404 and goes next run.
            if document.file.name:
                _delete_file(document.file.name)
            document.delete()
            audit.record(
                user=None,
                action=AuditAction.DELETE,
                case=document.case,
                what=f"document:{DocumentKind.SUBJECT_ACCESS}",
                object_id=document_id,
                purpose="expired",
            )
        deleted += 1
    return deleted


def _delete_file(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        Document.file.field.storage.delete(name)
