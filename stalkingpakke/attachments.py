"""Evidence attachments: checked for size and real type (by content, not by name), stored
under MEDIA_ROOT with a generated name, and served only through a permission-checked view."""

import hashlib
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _

from cases import audit
from cases.models import AuditAction

from .models import Attachment, IncidentEntry
from .services import lock_open_case

MAX_BYTES = 10 * 1024 * 1024
# (magic bytes, content type, extension). Nothing that a browser would run or render as HTML.
SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
]
TEXT_TYPE = ("text/plain", "txt")


def sniff(head: bytes, name: str) -> tuple[str, str]:
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    if name.lower().endswith(".txt"):
        try:
            decoded = head.decode("utf-8")
        except UnicodeDecodeError:
            decoded = None
        if decoded is not None and "<" not in decoded[:1024]:
            return TEXT_TYPE
    raise ValidationError(
        _("Filtypen er ikke tilladt. Brug PDF, JPEG, PNG eller ren tekst (.txt)."),
        code="type",
    )


@transaction.atomic
def add_attachment(*, actor, entry: IncidentEntry, upload, request=None) -> Attachment:
    case = lock_open_case(entry.case, actor)
    if upload.size > MAX_BYTES:
        raise ValidationError(_("Filen er for stor (højst 10 MB)."), code="size")
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationError(_("Filen er for stor (højst 10 MB)."), code="size")
    if not data:
        raise ValidationError(_("Filen er tom."), code="empty")
    content_type, extension = sniff(data[:4096], upload.name or "")
    original = get_valid_filename((upload.name or "bilag")[:150]) or "bilag"
    attachment = Attachment(
        entry=entry,
        original_name=original,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=actor,
    )
    attachment.file.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(data), save=False)
    attachment.save()
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        case=case,
        what="attachment",
        object_id=attachment.pk,
        request=request,
    )
    return attachment
