"""The incident log: append-only entries chained by hashes, and the check of the chain."""

import datetime
import hashlib
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import audit
from cases.models import AuditAction, Case

from .models import Behaviour, IncidentEntry
from .services import lock_open_case

GENESIS = "0" * 64
ENTRY_FIELDS = (
    "occurred_at",
    "place",
    "what_happened",
    "behaviours",
    "witnesses",
    "evidence",
    "reported_to_police",
    "police_journal_number",
    "effect",
)
MSG_SUPERSEDED = _("Registreringen er allerede rettet. Ret den nyeste udgave.")


def content_hash(entry: IncidentEntry) -> str:
    """sha256 over the previous hash and a canonical form of everything the entry says."""
    payload = {
        "case": entry.case_id,
        "sequence": entry.sequence,
        "occurred_at": entry.occurred_at.astimezone(datetime.UTC).isoformat(),
        "place": entry.place,
        "what_happened": entry.what_happened,
        "behaviours": sorted(entry.behaviours),
        "witnesses": entry.witnesses,
        "evidence": entry.evidence,
        "reported_to_police": entry.reported_to_police,
        "police_journal_number": entry.police_journal_number,
        "effect": entry.effect,
        "supersedes": entry.supersedes_id,
        "correction_reason": entry.correction_reason,
        "created_by": entry.created_by_id,
        "created_at": entry.created_at.astimezone(datetime.UTC).isoformat(),
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((entry.previous_hash + canonical).encode()).hexdigest()


def _clean_behaviours(values) -> list[str]:
    values = list(dict.fromkeys(values or []))
    unknown = [v for v in values if v not in Behaviour.values]
    if unknown:
        raise ValidationError(
            {"behaviours": _("Ukendt type adfærd: %(v)s")}, params={"v": ", ".join(unknown)}
        )
    return values


def _append(case: Case, actor, data: dict, **extra) -> IncidentEntry:
    """Append one entry to the chain. The caller holds the case row lock."""
    last = case.incidents.order_by("-sequence").only("sequence", "entry_hash").first()
    entry = IncidentEntry(
        case=case,
        sequence=(last.sequence + 1) if last else 1,
        previous_hash=last.entry_hash if last else GENESIS,
        created_by=actor,
        created_at=timezone.now(),
        **{field: data.get(field, "") for field in ENTRY_FIELDS if field in data},
        **extra,
    )
    entry.behaviours = _clean_behaviours(data.get("behaviours"))
    if not entry.what_happened.strip():
        raise ValidationError({"what_happened": _("Beskriv, hvad der skete.")})
    entry.full_clean(exclude=["previous_hash", "entry_hash", "supersedes"])
    entry.entry_hash = content_hash(entry)
    entry.save()
    return entry


@transaction.atomic
def add_entry(*, actor, case: Case, data: dict, request=None) -> IncidentEntry:
    case = lock_open_case(case, actor)
    entry = _append(case, actor, data)
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        case=case,
        what="incident",
        object_id=entry.pk,
        request=request,
    )
    return entry


@transaction.atomic
def correct_entry(
    *, actor, entry: IncidentEntry, data: dict, reason: str, request=None
) -> IncidentEntry:
    """A correction is a new entry that supersedes the old one, with who and why."""
    case = lock_open_case(entry.case, actor)
    entry = IncidentEntry.objects.select_for_update().get(pk=entry.pk, case=case)
    if hasattr(entry, "superseded_by"):
        raise ValidationError(MSG_SUPERSEDED, code="superseded")
    if not reason.strip():
        raise ValidationError({"correction_reason": _("Skriv, hvorfor der rettes.")})
    corrected = _append(case, actor, data, supersedes=entry, correction_reason=reason.strip())
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        case=case,
        what="incident_correction",
        object_id=corrected.pk,
        request=request,
    )
    return corrected


def last_sequence(case: Case) -> int:
    """The number of the log's newest entry (0 for an empty log)."""
    last = case.incidents.order_by("-sequence").values_list("sequence", flat=True).first()
    return last or 0


MSG_LOG_CHANGED = _(
    "Logskemaet er ændret, siden du så rækkerne; måske er de allerede gemt. "
    "Se logskemaet, før du importerer filen igen."
)


@transaction.atomic
def add_entries(
    *, actor, case: Case, rows: list[dict], expected_last: int | None = None, request=None
) -> list[IncidentEntry]:
    """All rows or none (used by the CSV import). `expected_last`: the log's newest entry
    when the rows were shown for confirmation; a log changed since (the confirmation sent
    twice, a colleague's entry) is refused, so the append-only log never gets them twice."""
    case = lock_open_case(case, actor)
    if expected_last is not None and last_sequence(case) != expected_last:
        raise ValidationError(MSG_LOG_CHANGED, code="stale")
    entries = [_append(case, actor, row) for row in rows]
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        case=case,
        what="incident_import",
        object_id=len(entries),
        request=request,
    )
    return entries


@dataclass
class ChainCheck:
    intact: bool
    entries: int
    final_hash: str
    broken_at: int | None = None


def verify_chain(case: Case, upto: int | None = None) -> ChainCheck:
    """The chain from the first entry, up to entry `upto` when given (what a PDF shows)."""
    previous = GENESIS
    count = 0
    entries = case.incidents.order_by("sequence")
    if upto is not None:
        entries = entries.filter(sequence__lte=upto)
    for entry in entries.iterator():
        count += 1
        if entry.previous_hash != previous or content_hash(entry) != entry.entry_hash:
            return ChainCheck(False, count, previous, broken_at=entry.sequence)
        previous = entry.entry_hash
    return ChainCheck(True, count, previous)


def current_entries(case: Case, upto: int | None = None):
    """The entries as they stand now: corrections replace what they supersede. With `upto`,
    as they stood when entry `upto` was the newest (a PDF's snapshot: an entry or correction
    made while it renders is left out of the entries and the chain alike)."""
    entries = case.incidents.filter(superseded_by__isnull=True)
    if upto is not None:
        entries = case.incidents.filter(
            Q(superseded_by__isnull=True) | Q(superseded_by__sequence__gt=upto),
            sequence__lte=upto,
        )
    return (
        entries.select_related("supersedes", "created_by")
        .prefetch_related("attachments")
        .order_by("occurred_at", "sequence")
    )
