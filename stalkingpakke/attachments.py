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
# Every refusal of a file ends with what may be chosen instead, so that the one message on
# the field says all there is to know (the form checks with check_upload, the service again).
MSG_TYPE = _(
    "Filtypen er ikke tilladt. Vælg en PDF, JPEG, PNG eller ren tekst (.txt) på højst 10 MB."
)
MSG_SIZE = _("Filen er for stor. Vælg en PDF, JPEG, PNG eller ren tekst (.txt) på højst 10 MB.")
MSG_SUPERSEDED_ENTRY = _(
    "Registreringen er rettet. Vedhæft beviset til den nyeste udgave af registreringen."
)
MSG_EMPTY = _("Filen er tom. Vælg en PDF, JPEG, PNG eller ren tekst (.txt) på højst 10 MB.")


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
    raise ValidationError(MSG_TYPE, code="type")


def check_upload(upload) -> tuple[bytes, str, str]:
    """The file's bytes, content type and extension, or a ValidationError that names what is
    allowed. Reads the upload from its start and leaves it there, so a form can check a file
    and the service read it again."""
    if upload.size > MAX_BYTES:
        raise ValidationError(MSG_SIZE, code="size")
    upload.seek(0)
    data = upload.read(MAX_BYTES + 1)
    upload.seek(0)
    if len(data) > MAX_BYTES:
        raise ValidationError(MSG_SIZE, code="size")
    if not data:
        raise ValidationError(MSG_EMPTY, code="empty")
    content_type, extension = sniff(data[:4096], upload.name or "")
    return data, content_type, extension


@transaction.atomic
def add_attachment(*, actor, entry: IncidentEntry, upload, request=None) -> Attachment:
    case = lock_open_case(entry.case, actor)
    # Evidence belongs on the entry that holds: a corrected entry's old version is kept as
    # it was, and the police PDF would list a file on it under the old date.
    entry = IncidentEntry.objects.select_for_update().get(pk=entry.pk, case=case)
    if hasattr(entry, "superseded_by"):
        raise ValidationError(MSG_SUPERSEDED_ENTRY, code="superseded")
    data, content_type, extension = check_upload(upload)
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
