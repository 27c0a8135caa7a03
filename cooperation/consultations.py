"""Consultation (sparring) requests: a professional asks the stalking visitators of a
municipality, or Dansk Stalking Center, for advice, without personal data and without a case.

Services (`ask`, `answer`, `withdraw`): one transaction, one permission check, one audit entry
each (cases.audit.record without a case). Illegal steps raise TransitionError with a message
the user can read; a user who may not take the step gets PermissionDenied.

Who takes part:

- asking: anyone who holds a role in the cooperation; to the visitators of a municipality
  they can refer to (cooperation.roles.municipalities_user_can_refer_to), or to DSC;
- answering: a current visitator (or deputy) of the municipality asked, or a DSC advisor for
  questions to DSC; never the one who asked, and only while the question is open;
- withdrawing: only the one who asked, while the question is open.

Selectors below: what waits for a user's answer, what a user has asked, and the one fetch
that answers 404 to anyone who is neither the asker nor a possible answerer.

The text is free text, so it is checked for what must not be there: something that looks
like a CPR number (6 digits, an optional dash or space, 4 digits) or a case reference
(ESB-2026-0042). A consultation is never linked to a case. That check cannot find a name or
an address; the form says clearly to leave them out.
"""

import re

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case as SqlCase
from django.db.models import Q, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import audit
from cases.models import AuditAction
from cases.retention import years_before

from .models import (
    CONSULTATION_ANSWER_MAX_LENGTH,
    CONSULTATION_QUESTION_MAX_LENGTH,
    Consultation,
    ConsultationKind,
    ConsultationStatus,
    Organisation,
    OrganisationKind,
    Role,
)
from .roles import current_holders, held_roles, municipalities_user_can_refer_to


class TransitionError(ValidationError):
    """The consultation is not in a state that allows this step."""


# Anything that looks like a CPR number: day, month, year and four digits, with or without the
# separators people type (01.01.90-1234, 010190/1234, 01 01 90-1234, the typographic dashes a
# word processor puts in), not part of a longer number. Grouped as a CPR number is, so a date
# followed by a time (01.01.2020 10:00) or a phone number (12 34 56 78) is not one. \d matches
# the digits of every script, as the CPR field of a referral does (cases.cpr).
_DASH = "\\-\u2010-\u2015\u2212"
CPR_LIKE = re.compile(rf"(?<!\d)\d{{2}}[\s./]?\d{{2}}[\s./]?\d{{2}}\s?[{_DASH}/.]?\s?\d{{4}}(?!\d)")
# A case reference: an organisation code (2-5 letters or digits, starting with a letter), the
# year and the number, as cases.services._next_reference writes it (ESB-2026-0042), also with
# other dashes, a shortened number (ESB-2026-42) or spaces (esb 2026 0042).
REFERENCE_LIKE = re.compile(
    rf"(?<![\w-])[^\W\d_][^\W_]{{1,4}}"
    rf"(?:\s?[{_DASH}]\s?\d{{4}}\s?[{_DASH}]\s?\d+|\s\d{{4}}\s\d{{4,}})(?![\w-])"
)

MSG_CPR = _(
    "Teksten ser ud til at indeholde et CPR-nummer. Fjern det: en sparring må ikke indeholde "
    "oplysninger, der kan føre til en bestemt person."
)
MSG_REFERENCE = _(
    "Teksten ser ud til at indeholde et sagsnummer (som ESB-2026-0042). En sparring hører "
    "aldrig til en sag: beskriv situationen uden sagsnummer."
)
MSG_EMPTY_QUESTION = _("Skriv dit spørgsmål.")
MSG_EMPTY_ANSWER = _("Skriv dit svar.")
MSG_TOO_LONG = _("Teksten er for lang: højst %(max)s tegn.")
MSG_NO_ROLE = _("Kun medarbejdere med en rolle i samarbejdet kan bede om sparring.")
MSG_CANNOT_ASK_HERE = _("Du kan ikke sende en sparring til denne modtager.")
MSG_NOBODY_TO_ANSWER = _(
    "Der er ingen hos %(organisation)s, der kan svare lige nu. Kontakt administrationen."
)
MSG_NOT_ANSWERER = _("Du kan ikke besvare denne sparring.")
MSG_OWN_QUESTION = _("Du kan ikke besvare dit eget spørgsmål. En kollega i rollen svarer.")
MSG_NOT_ASKER = _("Kun den, der har stillet spørgsmålet, kan trække det tilbage.")
MSG_NOT_OPEN = _("Sparringen har status »%(status)s«, og det tillader ikke dette skridt.")

# Who answers each kind, and which kind of organisation it is sent to.
ANSWERER_ROLE = {
    ConsultationKind.VISITATOR: Role.VISITATOR,
    ConsultationKind.DSC: Role.DSC_ADVISOR,
}
RECIPIENT_KIND = {
    ConsultationKind.VISITATOR: OrganisationKind.MUNICIPALITY,
    ConsultationKind.DSC: OrganisationKind.DSC,
}
# When the asker holds roles in several organisations, the question is sent from the first of
# these that asks the same organisation, else from the first in the order of the case flow.
_ROLE_ORDER = [
    Role.VISITATOR,
    Role.COORDINATOR,
    Role.FIRST_CONTACT,
    Role.POLICE_CONTACT,
    Role.DSC_ADVISOR,
    Role.FOLLOW_UP,
]


# --- the text ---------------------------------------------------------------------------------


def check_no_personal_data(text: str) -> None:
    """Raise ValidationError if the text holds something that looks like a CPR number or a
    case reference. The form calls it for its message; the services call it again."""
    if CPR_LIKE.search(text or ""):
        raise ValidationError(MSG_CPR, code="cpr")
    if REFERENCE_LIKE.search(text or ""):
        raise ValidationError(MSG_REFERENCE, code="case_reference")


def _clean_text(text: str, *, field: str, empty, max_length: int) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: ValidationError(empty, code="required")})
    if len(text) > max_length:
        raise ValidationError(
            {field: ValidationError(MSG_TOO_LONG, code="max_length", params={"max": max_length})}
        )
    try:
        check_no_personal_data(text)
    except ValidationError as error:
        raise ValidationError({field: error}) from None
    return text


# --- who may do what --------------------------------------------------------------------------


def recipients_for(user) -> list[tuple[str, Organisation]]:
    """Whom the user may ask, as (kind, organisation): the visitators of each municipality
    the user can refer to, then DSC. Empty for a user without a role."""
    if not held_roles(user):
        return []
    municipalities = municipalities_user_can_refer_to(user).values("pk")
    organisations = Organisation.objects.filter(
        Q(pk__in=municipalities, kind=OrganisationKind.MUNICIPALITY) | Q(kind=OrganisationKind.DSC)
    ).order_by("kind", "name")
    # OrganisationKind sorts "dsc" before "municipality": the municipalities come first.
    found = [
        (
            ConsultationKind.VISITATOR
            if org.kind == OrganisationKind.MUNICIPALITY
            else ConsultationKind.DSC,
            org,
        )
        for org in organisations
    ]
    return sorted(found, key=lambda pair: pair[0] != ConsultationKind.VISITATOR)


def may_ask(user, to_kind: str, organisation: Organisation) -> bool:
    if not held_roles(user) or to_kind not in ANSWERER_ROLE:
        return False
    if organisation.kind != RECIPIENT_KIND[to_kind]:
        return False
    if to_kind == ConsultationKind.DSC:
        return True
    return municipalities_user_can_refer_to(user).filter(pk=organisation.pk).exists()


def is_answerer(user, consultation: Consultation) -> bool:
    """Holds the role that answers this consultation now, and did not ask it."""
    role = ANSWERER_ROLE.get(consultation.kind)
    return consultation.asked_by_id != user.pk and any(
        r.role == role and r.organisation_id == consultation.to_organisation_id
        for r in held_roles(user)
    )


def may_answer(user, consultation: Consultation) -> bool:
    return consultation.status == ConsultationStatus.OPEN and is_answerer(user, consultation)


def may_withdraw(user, consultation: Consultation) -> bool:
    return consultation.status == ConsultationStatus.OPEN and consultation.asked_by_id == user.pk


def _asker_organisation(user, organisation: Organisation) -> int:
    held = held_roles(user)
    same = [r for r in held if r.organisation_id == organisation.pk]
    ordered = sorted(
        same or held,
        key=lambda r: (_ROLE_ORDER.index(r.role) if r.role in _ROLE_ORDER else 99, r.is_deputy),
    )
    return ordered[0].organisation_id


def _require_open(consultation: Consultation) -> None:
    if consultation.status != ConsultationStatus.OPEN:
        raise TransitionError(
            MSG_NOT_OPEN,
            code="illegal_transition",
            params={"status": consultation.get_status_display()},
        )


def _lock(consultation: Consultation) -> Consultation:
    return Consultation.objects.select_for_update().get(pk=consultation.pk)


# --- services ---------------------------------------------------------------------------------


@transaction.atomic
def ask(*, actor, to_kind: str, organisation: Organisation, question: str, request=None):
    """Send a question to the visitators of a municipality or to DSC."""
    if not held_roles(actor):
        raise PermissionDenied(MSG_NO_ROLE)
    if not may_ask(actor, to_kind, organisation):
        raise PermissionDenied(MSG_CANNOT_ASK_HERE)
    question = _clean_text(
        question,
        field="question",
        empty=MSG_EMPTY_QUESTION,
        max_length=CONSULTATION_QUESTION_MAX_LENGTH,
    )
    if not current_holders(organisation.pk, ANSWERER_ROLE[to_kind]).exists():
        raise ValidationError(
            MSG_NOBODY_TO_ANSWER, code="nobody", params={"organisation": organisation.name}
        )
    consultation = Consultation(
        asked_by=actor,
        from_organisation_id=_asker_organisation(actor, organisation),
        kind=to_kind,
        to_organisation=organisation,
        question=question,
        asked_at=timezone.now(),
    )
    consultation.full_clean()
    consultation.save()
    audit.record(
        user=actor,
        action=AuditAction.CREATE,
        what="consultation:ask",
        case=None,
        object_id=consultation.pk,
        purpose=f"consultation:{to_kind}",
        request=request,
    )
    return consultation


@transaction.atomic
def answer(*, actor, consultation: Consultation, answer: str, request=None) -> Consultation:
    """Answer an open consultation: a visitator of the municipality asked (or the deputy), or a
    DSC advisor for a question to DSC; never the one who asked."""
    consultation = _lock(consultation)
    if consultation.asked_by_id == actor.pk:
        raise PermissionDenied(MSG_OWN_QUESTION)
    if not is_answerer(actor, consultation):
        raise PermissionDenied(MSG_NOT_ANSWERER)
    _require_open(consultation)
    consultation.answer = _clean_text(
        answer, field="answer", empty=MSG_EMPTY_ANSWER, max_length=CONSULTATION_ANSWER_MAX_LENGTH
    )
    consultation.answered_by = actor
    consultation.answered_at = timezone.now()
    consultation.status = ConsultationStatus.ANSWERED
    consultation.full_clean()
    consultation.save(update_fields=["answer", "answered_by", "answered_at", "status"])
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        what="consultation:answer",
        case=None,
        object_id=consultation.pk,
        purpose=f"consultation:{consultation.kind}",
        request=request,
    )
    return consultation


@transaction.atomic
def withdraw(*, actor, consultation: Consultation, request=None) -> Consultation:
    """The one who asked takes an open question back; it is no longer waiting for anyone."""
    consultation = _lock(consultation)
    if consultation.asked_by_id != actor.pk:
        raise PermissionDenied(MSG_NOT_ASKER)
    _require_open(consultation)
    consultation.status = ConsultationStatus.WITHDRAWN
    consultation.save(update_fields=["status"])
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        what="consultation:withdraw",
        case=None,
        object_id=consultation.pk,
        purpose="consultation:asker",
        request=request,
    )
    return consultation


def delete_expired(*, now=None) -> int:
    """Answered and withdrawn consultations asked more than CONSULTATION_RETENTION_YEARS ago
    are deleted, one audit entry each: advice between colleagues is kept for looking back
    on, not for ever. Open ones stay; they still wait for an answer."""
    cutoff = years_before(now or timezone.now(), settings.CONSULTATION_RETENTION_YEARS)
    expired = Consultation.objects.filter(
        status__in=[ConsultationStatus.ANSWERED, ConsultationStatus.WITHDRAWN],
        asked_at__lt=cutoff,
    )
    deleted = 0
    for pk in expired.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            if not Consultation.objects.filter(pk=pk).delete()[0]:
                continue  # deleted meanwhile by another run
            audit.record(
                user=None,
                action=AuditAction.DELETE,
                what="consultation:expired",
                case=None,
                object_id=pk,
                purpose="retention",
            )
        deleted += 1
    return deleted


# --- selectors --------------------------------------------------------------------------------


def _answerable(user) -> Q | None:
    """The consultations the user's roles answer (whatever their status), or None for a user
    who answers none; from the roles cached on the user, so it costs no query."""
    held = held_roles(user)
    condition = None
    for kind, role in ANSWERER_ROLE.items():
        organisations = sorted({r.organisation_id for r in held if r.role == role})
        if organisations:
            part = Q(kind=kind, to_organisation__in=organisations)
            condition = part if condition is None else condition | part
    return condition


def answers_consultations(user) -> bool:
    return _answerable(user) is not None


def _with_people(queryset):
    return queryset.select_related(
        "asked_by", "from_organisation", "to_organisation", "answered_by"
    )


def consultations_for_answering(user):
    """The open questions waiting for an answer from the user's role, oldest first; not the
    user's own."""
    condition = _answerable(user)
    if condition is None:
        return Consultation.objects.none()
    return (
        Consultation.objects.filter(condition, status=ConsultationStatus.OPEN)
        .exclude(asked_by=user)
        .order_by("asked_at", "pk")
    )


def consultations_waiting_count(user) -> int | None:
    """How many questions wait for the user's answer: one COUNT; None (and no query) for a
    user whose roles answer none."""
    if not answers_consultations(user):
        return None
    return consultations_for_answering(user).count()


def consultations_to(user):
    """The list of questions to the user's role: those waiting first, then those answered,
    newest first in each. Withdrawn questions wait for nobody and are left out."""
    condition = _answerable(user)
    if condition is None:
        return Consultation.objects.none()
    waiting_first = SqlCase(When(status=ConsultationStatus.OPEN, then=Value(0)), default=Value(1))
    return _with_people(
        Consultation.objects.filter(
            condition, status__in=[ConsultationStatus.OPEN, ConsultationStatus.ANSWERED]
        )
        .exclude(asked_by=user)
        .alias(waiting_first=waiting_first)
        .order_by("waiting_first", "-asked_at", "-pk")
    )


def consultations_asked_by(user):
    """The user's own questions with their answers, newest first."""
    if not getattr(user, "is_authenticated", False):
        return Consultation.objects.none()
    return _with_people(Consultation.objects.filter(asked_by=user)).order_by("-asked_at", "-pk")


def consultations_visible_to(user):
    """Those the user asked, and those the user's roles answer."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Consultation.objects.none()
    condition = Q(asked_by=user)
    answerable = _answerable(user)
    if answerable is not None:
        condition |= answerable
    return Consultation.objects.filter(condition)


def get_consultation_for(user, pk) -> Consultation:
    """The consultation if the user asked it or may answer it; otherwise 404, the same answer
    as for one that does not exist."""
    try:
        return _with_people(consultations_visible_to(user)).get(pk=pk)
    except Consultation.DoesNotExist:
        raise Http404 from None
