"""Requesting a PDF document and reading it back. The rendering happens in a Celery task
(stalkingpakke.tasks.render_document), sent only after the request's transaction commits.
The Document row is the outbox: if the broker cannot be reached the request still succeeds,
the document waits (PENDING, never sent) and the relay sends it later (see tasks.py)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from cases import audit
from cases.access import Level, level_for, visible_scopes
from cases.models import AuditAction, Case, ConsentScope

from .models import Document, DocumentKind, DocumentStatus

# Which kind of information a document shows, for the consent check of police and DSC.
DOCUMENT_SCOPE = {
    DocumentKind.ACTION_PLAN: ConsentScope.ACTION_PLAN,
    DocumentKind.INCIDENT_LOG: ConsentScope.INCIDENT_LOG,
    DocumentKind.ASSESSMENT: ConsentScope.SITUATION,
    DocumentKind.ADVICE: ConsentScope.CONTACT,
}


def may_read_document(user, case: Case, kind: str) -> bool:
    return DOCUMENT_SCOPE[kind] in visible_scopes(user, case)


def documents_for(user, case: Case):
    scopes = visible_scopes(user, case)
    kinds = [kind for kind, scope in DOCUMENT_SCOPE.items() if scope in scopes]
    return case.documents.filter(kind__in=kinds).select_related("requested_by")


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
