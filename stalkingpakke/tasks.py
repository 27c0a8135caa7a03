"""Making the PDF documents. Tasks take ids only, never personal data.

`render_document` is safe to run twice and to be delivered again after a worker died
(late acknowledgement): it renders only a PENDING document, and it stores the file only if
no other run has claimed the document since (the claim is the attempt counter, checked under
a row lock), so two runs never leave two files. Transient failures (storage, database) are
retried with backoff; a final failure leaves the document FAILED with a short message that
the page shows and that names no person; the log gets the exception's type and where it was
raised, with the document id (not its message, which may quote the case).
"""

import contextlib
import hashlib
import logging
import traceback
from pathlib import Path

from celery import shared_task
from celery.signals import worker_init
from django.core.files.base import ContentFile
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from .models import Document, DocumentStatus

logger = logging.getLogger(__name__)

TRANSIENT = (OSError, OperationalError, InterfaceError)
MAX_RETRIES = 3
MSG_FAILED = (
    "PDF'en kunne ikke laves på grund af en fejl. Prøv igen, og kontakt support, "
    "hvis det sker igen."
)
MSG_UNAVAILABLE = (
    "PDF'en kunne ikke laves, fordi systemet var midlertidigt utilgængeligt. Prøv igen om lidt."
)


@worker_init.connect
def _import_renderers(**kwargs):
    """Import WeasyPrint and matplotlib once when the worker starts (about a second), before
    the pool forks, instead of in the first task of every process."""
    from . import chart, pdf  # noqa: F401


def _log_failure(document_id: int, exc: BaseException, what: str) -> None:
    """The exception's type and where it was raised, with the document id: never its message
    or the traceback's values, which can carry text from the case."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames[-4:][::-1])
    logger.error("Document %s %s: %s at %s", document_id, what, type(exc).__name__, where)


def backoff(retries: int) -> int:
    """Seconds before retry number retries + 1: 10, 40, 160."""
    return 10 * 4**retries


def _claim(document_id: int) -> int | None:
    """Count an attempt on a PENDING document and return its number, or None to do nothing."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.status != DocumentStatus.PENDING:
            return None
        document.attempts += 1
        document.save(update_fields=["attempts"])
        return document.attempts


def _finish(document_id: int, attempt: int, rendered) -> bool:
    """Store the file and mark the document READY, unless another run claimed it meanwhile."""
    stored = None
    try:
        with transaction.atomic():
            document = (
                Document.objects.select_for_update().select_related("case").get(pk=document_id)
            )
            if document.status != DocumentStatus.PENDING or document.attempts != attempt:
                return False
            content = rendered.content
            name = f"{document.case.reference}-{document.kind}-{document.pk}.pdf"
            document.file.save(name, ContentFile(content), save=False)
            stored = document.file.name
            document.sha256 = hashlib.sha256(content).hexdigest()
            document.size = len(content)
            document.chain_hash = rendered.chain_hash
            document.finished_at = timezone.now()
            document.status = DocumentStatus.READY
            document.error = ""
            document.save(
                update_fields=[
                    "file",
                    "sha256",
                    "size",
                    "chain_hash",
                    "finished_at",
                    "status",
                    "error",
                ]
            )
    except BaseException:
        if stored:
            with contextlib.suppress(OSError):
                Document.file.field.storage.delete(stored)
        raise
    return True


def _fail(document_id: int, attempt: int | None, message: str) -> None:
    try:
        updated = Document.objects.filter(pk=document_id, status=DocumentStatus.PENDING)
        if attempt is not None:
            updated = updated.filter(attempts=attempt)
        updated.update(status=DocumentStatus.FAILED, error=message, finished_at=timezone.now())
    except DatabaseError:
        logger.error("Document %s: could not record the failure", document_id)


class _Retry(Exception):
    """A transient failure with retries left."""


def _attempt(document_id: int, *, retries: int) -> str:
    from . import pdf

    attempt = None
    try:
        attempt = _claim(document_id)
        if attempt is None:
            return "skipped"
        document = Document.objects.select_related(
            "case", "case__municipality", "case__responsible", "requested_by"
        ).get(pk=document_id)
        rendered = pdf.render(document)
        return "ready" if _finish(document_id, attempt, rendered) else "superseded"
    except pdf.NothingToRender as exc:
        _fail(document_id, attempt, str(exc))
        return "failed"
    except TRANSIENT as exc:
        if retries < MAX_RETRIES:
            logger.warning(
                "Document %s: %s, retry %d of %d",
                document_id,
                type(exc).__name__,
                retries + 1,
                MAX_RETRIES,
            )
            raise _Retry from exc
        _log_failure(document_id, exc, f"could not be made after {MAX_RETRIES} retries")
        _fail(document_id, attempt, MSG_UNAVAILABLE)
        return "failed"
    except Exception as exc:
        _log_failure(document_id, exc, "could not be made")
        _fail(document_id, attempt, MSG_FAILED)
        return "failed"


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def render_document(self, document_id: int) -> str:
    retries = self.request.retries or 0
    while True:
        try:
            return _attempt(document_id, retries=retries)
        except _Retry as retry:
            if not self.request.is_eager:
                raise self.retry(exc=retry.__cause__, countdown=backoff(retries)) from None
            # In-process (no broker): there is no queue to come back through; try again now.
            retries += 1
