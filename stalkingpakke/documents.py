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

from .models import ActionPlan, Document, DocumentKind, DocumentStatus, IncidentEntry

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
    """The documents, each with what was added or changed after it was made, in the same
    query (subqueries, nothing per document):

    - newer_entries: entries added to the incident log after an incident log PDF. The PDF
      records the chain's last hash (chain_hash); entries are numbered 1, 2, ... per case and
      never deleted, so the newer ones are the last number minus the number of the entry with
      that hash (0 for an empty log, whose hash is the chain's start).
    - plan_changed: for an action plan PDF, the plan was saved after the PDF was asked for. A
      save while it waited or was being made may or may not be in it (the PDF keeps no plan
      version), so it counts as changed: a PDF is never called current when it may not be.
    """
    entries = IncidentEntry.objects.filter(case=models.OuterRef("case")).order_by()
    last = entries.order_by("-sequence").values("sequence")[:1]
    end = entries.filter(entry_hash=models.OuterRef("chain_hash")).values("sequence")[:1]
    newer = Coalesce(models.Subquery(last), 0) - Coalesce(models.Subquery(end), 0)
    saved_after = ActionPlan.objects.filter(
        case=models.OuterRef("case"), updated_at__gt=models.OuterRef("requested_at")
    )
    ready = models.Q(status=DocumentStatus.READY)
    return documents.annotate(
        newer_entries=models.Case(
            models.When(ready & models.Q(kind=DocumentKind.INCIDENT_LOG), then=newer),
            default=0,
            output_field=models.IntegerField(),
        ),
        plan_changed=models.Case(
            models.When(
                ready & models.Q(kind=DocumentKind.ACTION_PLAN), then=models.Exists(saved_after)
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
