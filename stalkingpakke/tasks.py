"""Making the PDF documents. Tasks take ids only, never personal data.

The Document row is the outbox. A request commits the row (PENDING, `queued_at` empty) and
only then sends the render message (`send_render`); when Redis is down or hung the send fails
within about two seconds (broker timeouts in config/settings.py), the request still succeeds
and the row waits. `relay_pending_documents` (Celery beat, every minute) sends the PENDING
rows that were never sent, or whose message was sent longer ago than a PDF can take
(`STALE_AFTER`: the message died with its worker, or waits in Redis's unacknowledged set
until the visibility timeout); it locks the rows it sends with SKIP LOCKED, so two relays
never send the same row at the same time.

A message may therefore arrive twice, so `render_document` is safe to run twice and to be
delivered again after a worker died (late acknowledgement): it renders only a PENDING
document, and it stores the file only if no other run has claimed the document since (the
claim is the attempt counter, checked under a row lock), so two runs never leave two files.
A run killed after its claim leaves the document PENDING; the next delivery claims it again
and renders. Only a redelivered message (its worker died) for a document that has already
been claimed MAX_ATTEMPTS times fails it, so a document that kills its worker every time
cannot loop for ever. Transient failures (storage, database) are retried with backoff; a
final failure leaves the document FAILED with a short message that the page shows and that
names no person; the log gets the exception's type and where it was raised, with the
document id (not its message, which may quote the case).
"""

import contextlib
import datetime
import hashlib
import logging
import traceback
from pathlib import Path

from celery import shared_task
from celery.signals import worker_init
from django.core.files.base import ContentFile
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import KombuError

from .models import Document, DocumentStatus

logger = logging.getLogger(__name__)

TRANSIENT = (OSError, OperationalError, InterfaceError)
MAX_RETRIES = 3
# Claims after which a redelivered message (its worker died) fails the document instead of
# rendering again: a kill now and then renders on, a document that kills every worker stops.
MAX_ATTEMPTS = 8
# The relay: a sent message is taken as lost after STALE_AFTER (far longer than a PDF takes,
# the longest measured was 20 s, plus the retries' backoff of 3.5 min); a request whose send
# failed is sent once it is UNSENT_GRACE old (the request's own send comes first).
STALE_AFTER = datetime.timedelta(minutes=15)
UNSENT_GRACE = datetime.timedelta(minutes=1)
RELAY_BATCH = 200
# What a failed send raises: kombu wraps the transport's connection errors (Redis refused,
# timed out) in its OperationalError; OSError for a socket error that escapes unwrapped.
SEND_ERRORS = (KombuError, OSError)
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


def _claim(document_id: int, *, redelivered: bool = False) -> int | None:
    """Count an attempt on a PENDING document and return its number, or None to do nothing.

    A claim whose run was killed is never finished: the document stays PENDING and the next
    delivery claims it again. A redelivered message after MAX_ATTEMPTS claims fails it."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.status != DocumentStatus.PENDING:
            return None
        if redelivered and document.attempts >= MAX_ATTEMPTS:
            logger.error(
                "Document %s: its worker was lost again after %d attempts, not rendered again",
                document_id,
                document.attempts,
            )
            document.status = DocumentStatus.FAILED
            document.error = MSG_FAILED
            document.finished_at = timezone.now()
            document.save(update_fields=["status", "error", "finished_at"])
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
            storage = Document.file.field.storage
            leftover = Document.file.field.generate_filename(document, name)
            if storage.exists(leftover):
                # Written by a run killed before its transaction committed: no row refers to
                # it (the document is still PENDING), so it is replaced, not kept beside.
                storage.delete(leftover)
            document.file.save(name, ContentFile(content), save=False)
            stored = document.file.name
            document.sha256 = hashlib.sha256(content).hexdigest()
            document.size = len(content)
            document.chain_hash = rendered.chain_hash
            document.data_version = rendered.data_version
            document.finished_at = timezone.now()
            document.status = DocumentStatus.READY
            document.error = ""
            document.save(
                update_fields=[
                    "file",
                    "sha256",
                    "size",
                    "chain_hash",
                    "data_version",
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


def _attempt(document_id: int, *, retries: int, redelivered: bool = False) -> str:
    from . import pdf

    attempt = None
    try:
        attempt = _claim(document_id, redelivered=redelivered)
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
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    while True:
        try:
            outcome = _attempt(document_id, retries=retries, redelivered=redelivered)
        except _Retry as retry:
            if not self.request.is_eager:
                raise self.retry(exc=retry.__cause__, countdown=backoff(retries)) from None
            # In-process (no broker): there is no queue to come back through; try again now.
            retries += 1
            continue
        logger.info("Document %s: %s", document_id, outcome)
        return outcome


def send_render(document_id: int) -> bool:
    """Send the render message and note when; False, with one log line, if the broker cannot
    be reached. The document stays PENDING either way, so the relay can send it later."""
    try:
        render_document.apply_async(args=[document_id])
    except SEND_ERRORS as exc:
        logger.warning(
            "Document %s: not sent to the broker (%s), the relay sends it later",
            document_id,
            type(exc).__name__,
        )
        return False
    Document.objects.filter(pk=document_id).update(queued_at=timezone.now())
    return True


@shared_task(ignore_result=True)
def relay_pending_documents() -> int:
    """Send the PENDING documents whose message never reached the broker or must be lost.
    Returns how many were sent; stops at the first failed send (the broker is down)."""
    now = timezone.now()
    due = Q(queued_at__isnull=True, requested_at__lt=now - UNSENT_GRACE) | Q(
        queued_at__lt=now - STALE_AFTER
    )
    sent = 0
    with transaction.atomic():
        # A document lost with its worker MAX_ATTEMPTS times is not sent again: a PDF that
        # kills its worker every time would otherwise come back every STALE_AFTER for ever.
        # "Prøv igen" on the page gives it one more try.
        exhausted = Document.objects.filter(
            status=DocumentStatus.PENDING,
            queued_at__lt=now - STALE_AFTER,
            attempts__gte=MAX_ATTEMPTS,
        )
        for document_id in exhausted.values_list("pk", flat=True):
            logger.error("Document %s: lost with its worker too often, not sent again", document_id)
        exhausted.update(status=DocumentStatus.FAILED, error=MSG_FAILED, finished_at=now)
        # The rows stay locked until the sends are recorded: a second relay skips them, and a
        # worker that gets a message first waits for the lock in its claim.
        ids = list(
            Document.objects.select_for_update(skip_locked=True)
            .filter(due, status=DocumentStatus.PENDING)
            .order_by("requested_at")
            .values_list("pk", flat=True)[:RELAY_BATCH]
        )
        for document_id in ids:
            if not send_render(document_id):
                break
            sent += 1
    if ids:
        logger.info("Relay: sent %d of %d pending documents", sent, len(ids))
    return sent


@shared_task(ignore_result=True)
def delete_expired_subject_access_copies() -> int:
    """Celery beat, every hour: the citizen's copies past SUBJECT_ACCESS_KEEP_HOURS
    (documents.py)."""
    from .documents import delete_expired_subject_access_copies as delete_expired

    deleted = delete_expired()
    if deleted:
        logger.info("Deleted %d expired subject access copies", deleted)
    return deleted
