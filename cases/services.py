"""Every change to a case: one function each, one transaction, one permission check, one
audit entry. Illegal transitions raise TransitionError with a message the user can read.
"""

import datetime
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.shortcuts import assign_perm, remove_perm

from cooperation.models import Organisation, OrganisationKind, Role, RoleAssignment, Unit
from cooperation.roles import (
    current_holders,
    has_role,
    municipalities_user_can_refer_to,
)

from . import audit
from .access import (
    CHANGE,
    MSG_ANONYMISED,
    VIEW,
    Action,
    cases_visible_to,
    is_disqualified,
    require,
)
from .cpr import birth_date_from_cpr, cpr_index, encrypt_cpr, normalise_cpr
from .deadlines import add_working_days
from .models import (
    ONWARD_KINDS,
    AuditAction,
    Case,
    CaseEvent,
    CaseNotice,
    CaseSequence,
    CaseState,
    CaseUserObjectPermission,
    ChildrenNotification,
    ClosingReason,
    Consent,
    ConsentPartner,
    ConsentScope,
    Disqualification,
    EventKind,
    NetworkMeeting,
    Note,
    NoticeKind,
    PersonKind,
    Referral,
    ReferralKind,
    ReferralStatus,
    Relation,
    Urgency,
    YesNoUnknown,
)
from .selectors import looks_like
from .text_search import Folded

User = get_user_model()


class TransitionError(ValidationError):
    """The case is not in a state that allows this step."""


class OwnerOfOtherCase(TransitionError):
    """Refused: someone disqualified on the person is responsible for another open case of
    theirs, which must be handed over first. `other_case_id` only: whether the actor may be
    shown that case is for the view to ask (selectors.visible_case)."""

    def __init__(self, message, *, other_case_id: int):
        super().__init__(message, code="owner")
        self.other_case_id = other_case_id


MSG_NOT_IN_STATE = _("Sagen har status »%(state)s«, og det tillader ikke dette skridt.")
MSG_NO_VISITATOR = _("Kommunen har ingen stalkingvisitator lige nu. Kontakt administrationen.")
MSG_ROUTE_NEEDED = _("Vælg mindst én: en primær koordinator, politiet eller Dansk Stalking Center.")
MSG_ROUTE_NOT_STALKING = _(
    "Du har svaret, at det ikke er stalking, og samtidig valgt, hvem sagen skal henvises til. "
    "Ret svaret til »Ja«, eller fjern valget af koordinator, politi og Dansk Stalking Center: "
    "en sag, der ikke er stalking, lukkes med råd og vejledning."
)
MSG_NO_CONSENT = _("Borgeren har ikke givet samtykke til at dele oplysninger med %(partner)s.")
MSG_CHILDREN = _("Der bor børn i husstanden: angiv, om der skal sendes en underretning.")
MSG_NOT_COORDINATOR = _("Den valgte person er ikke primær koordinator i kommunen.")
MSG_NO_PARTNER = _("Der er ingen aktiv kontaktperson hos %(partner)s.")
MSG_REASON_REQUIRED = _("Skriv en begrundelse.")
MSG_JOIN_OTHER = _("En sag kan kun lægges sammen med en anden åben sag i samme kommune.")
MSG_REFERRAL_ANSWERED = _("Henvisningen er allerede besvaret.")
MSG_NOT_RECIPIENT = _("Henvisningen er ikke sendt til dig.")
# Past triage the case can be handed to another coordinator on its own page (reassign).
MSG_DISQUALIFY_RESPONSIBLE = _(
    "Den ansvarlige kan ikke erklæres inhabil. Giv først sagen en anden ansvarlig under "
    "»Skift ansvarlig«."
)
MSG_DISQUALIFIED_OWNS_SAME_PERSON = _(
    "En medarbejder, der er inhabil i en sag om samme borger, er ansvarlig for en åben sag om "
    "borgeren. Overdrag den sag først: inhabiliteten skal gælde alle borgerens sager."
)
MSG_BAD_CONSENT = _("Ukendt modtager eller type oplysninger i samtykket.")
MSG_COORDINATOR_DISQUALIFIED = _("Den valgte koordinator er inhabil i sagen.")
MSG_COORDINATOR_DISQUALIFIED_PERSON = _(
    "Den valgte koordinator er inhabil i en anden sag om borgeren og kan ikke få denne sag."
)
MSG_ALREADY_RESPONSIBLE = _("Den valgte koordinator er allerede ansvarlig for sagen.")
MSG_CANNOT_REFER_HERE = _("Du kan ikke henvise til denne kommune.")
MSG_ALREADY_REFERRED = _("Sagen er allerede henvist til %(partner)s.")
MSG_STALE = _(
    "Sagen er blevet ændret af en anden, mens du arbejdede. Indlæs siden igen og prøv igen."
)
MSG_MEETING_STALE = _(
    "En anden har rettet netværksmødet, mens du arbejdede, så din ændring er ikke gemt. "
    "Åbn mødet igen for at se den nyeste udgave."
)
MSG_MEETING_PARTICIPANTS = _("Skriv, hvem der deltog: roller og organisationer.")
MSG_MEETING_PURPOSE = _("Skriv mødets formål eller dagsorden.")
MSG_MEETING_AGREEMENTS = _(
    "Skriv, hvad der blev aftalt: hvem gør hvad, og hvornår. Blev intet nyt aftalt, så skriv det."
)
MSG_MEETING_NEXT = _("Næste møde skal ligge efter dette møde.")
MSG_MEETING_BEFORE_CASE = _("Mødet kan ikke ligge før den dag, sagen blev modtaget.")
MSG_FORWARD_SAME = _(
    "Henvisningen er allerede i denne kommune. Vælg den kommune, den skal videresendes til."
)
MSG_FORWARD_NOT_MUNICIPALITY = _("En henvisning kan kun videresendes til en kommune.")
MSG_FORWARD_NO_VISITATOR = _(
    "%(municipality)s har ingen stalkingvisitator lige nu, så henvisningen kan ikke "
    "videresendes dertil. Kontakt administrationen."
)
MSG_FORWARD_COMMENT = _("Skriv, hvorfor henvisningen videresendes. Modtageren kan læse det.")
MSG_FORWARD_COMMENT_LONG = _("Skriv begrundelsen kortere: højst %(limit)d tegn.")
MSG_FORWARDED_NO_REOPEN = _(
    "Henvisningen er videresendt til en anden kommune, som nu har borgerens sag. Sagen kan "
    "ikke genåbnes her; kontakt den anden kommunes stalkingvisitator."
)
MSG_NOTHING_TO_FORWARD = _(
    "Sagen har ingen åben henvisning at videresende, for den har været visiteret før. Afvis "
    "den i stedet, og aftal overdragelsen med den anden kommunes stalkingvisitator."
)
# The receiving visitator reads the comment in the new case's timeline (CaseEvent.summary,
# 500 characters with the sending municipality's name): short enough to arrive whole.
FORWARD_COMMENT_MAX_LENGTH = 400
MSG_ONWARD_ONE_RECIPIENT = _(
    "Vælg enten en afdeling i kommunen eller skriv navnet på en ekstern aktør, ikke begge."
)
MSG_ONWARD_UNIT_ELSEWHERE = _("Afdelingen hører ikke til sagens kommune.")
MSG_ONWARD_REASON = _("Skriv, hvad I beder om hjælp til.")
MSG_ONWARD_EXTERNAL_TOO_LONG = _("Navnet på den eksterne aktør må højst være 200 tegn.")
MSG_ONWARD_NOT_ONWARD = _("Det er ikke en henvisning til en afdeling eller en ekstern aktør.")
MSG_ONWARD_TRANSITION = _(
    "En henvisning med status »%(current)s« kan ikke få status »%(status)s«. Indlæs siden "
    "igen og se henvisningens status nu."
)


def _now():
    return timezone.now()


def _lock(case: Case, expected_version: int | None = None) -> Case:
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if expected_version is not None and locked.version != expected_version:
        raise TransitionError(MSG_STALE, code="stale")
    return locked


def _require_state(case: Case, *states: str) -> None:
    if case.anonymised_at:
        raise TransitionError(MSG_ANONYMISED, code="anonymised")
    if case.state not in states or case.merged_into_id:
        raise TransitionError(
            MSG_NOT_IN_STATE, code="illegal_transition", params={"state": case.get_state_display()}
        )


def _save(case: Case, *fields: str) -> None:
    case.version += 1
    case.save(update_fields=[*fields, "version", "updated_at"])


def _event(case: Case, actor, kind: str, summary: str = "", **extra) -> CaseEvent:
    return CaseEvent.objects.create(case=case, actor=actor, kind=kind, summary=summary, **extra)


def _audit_change(
    actor, case: Case, what: str, object_id="", request=None, flagged: bool = False
) -> None:
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        case=case,
        what=what,
        object_id=object_id,
        request=request,
        flagged=flagged,
    )


def _next_reference(municipality: Organisation, year: int) -> str:
    CaseSequence.objects.get_or_create(organisation=municipality, year=year)
    sequence = CaseSequence.objects.select_for_update().get(organisation=municipality, year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{municipality.code}-{year}-{sequence.last_number:04d}"


def _grant(user, case: Case, *codenames: str) -> None:
    for codename in codenames:
        assign_perm(f"cases.{codename}", user, case)


def _revoke(user, case: Case, *codenames: str) -> None:
    for codename in codenames:
        remove_perm(f"cases.{codename}", user, case)


def _persons_cases(municipality_id: int, *seeds, lock: bool = True) -> dict[int, Case]:
    """Every case the person of `seeds` (Cases, or dicts of a new case's fields) has in the
    municipality: those that look like the same person (selectors.looks_like) and those joined
    into or from any of them, followed until nothing new comes, so that a duplicate joined
    under another spelling still ties its own look-alikes to the case kept. `lock=False`
    for a page that only lists (reassign_candidates): no transaction, no row locks."""
    found: dict[int, Case] = {}
    todo = list(seeds)
    while todo:
        query = Q(pk__in=[])
        for item in todo:
            fields = item if isinstance(item, dict) else vars(item)
            query |= looks_like(
                full_name=fields.get("full_name", ""),
                birth_date=fields.get("birth_date"),
                cpr_index=fields.get("cpr_index", ""),
            )
            if isinstance(item, Case) and item.pk:
                query |= Q(pk=item.pk) | Q(merged_into=item.pk)
                if item.merged_into_id:
                    query |= Q(pk=item.merged_into_id)
        # Locked: the caller writes marks and may hand the case over. An anonymised case
        # holds nothing to protect and takes no new data.
        cases = Case.objects.select_for_update() if lock else Case.objects.all()
        todo = list(
            cases.alias(name_lower=Folded("full_name"))
            .filter(query, municipality=municipality_id, anonymised_at__isnull=True)
            .exclude(pk__in=list(found))
            .order_by("pk")
        )
        found.update((c.pk, c) for c in todo)
    return found


def _share_disqualifications(
    actor, case: Case, *others: Case, refuse: bool = True
) -> tuple[dict[int, Case], set[int]]:
    """Every case of the person in the municipality (the case, `others` and _persons_cases)
    carries every disqualification any of them has: a disqualification protects the person,
    not one case, so the person who stalks must not read the person's new safe contact on a
    second referral, a duplicate joined into the case, or a case a CPR number was added to.
    A visitator's referral waiting for triage passes to another visitator; the responsible
    for a case past triage must be handed over first: refused, or with `refuse=False` (a
    referral forwarded in, which the sender cannot hand over) that case is left unmarked and
    the conflict is flagged in its audit trail for the municipality to act on. Returns the
    person's cases by pk and the pks of those that got a new mark."""
    group = _persons_cases(case.municipality_id, case, *others)
    group.update({c.pk: c for c in (case, *others)})
    marks = (
        Disqualification.objects.filter(case__in=list(group))
        .select_related("user")
        .order_by("created_at", "pk")
    )
    first, held = {}, set()
    for mark in marks:
        first.setdefault(mark.user_id, mark)
        held.add((mark.case_id, mark.user_id))
    marked = set()
    for user_id, mark in first.items():
        for other in group.values():
            if (other.pk, user_id) in held:
                continue
            if other.is_open and other.responsible_id == user_id:
                if other.state in (CaseState.REFERRED, CaseState.IN_TRIAGE):
                    _pass_to_another_visitator(actor, other, excluding=list(first))
                elif refuse:
                    raise OwnerOfOtherCase(
                        MSG_DISQUALIFIED_OWNS_SAME_PERSON, other_case_id=other.pk
                    )
                else:
                    audit.record(
                        user=actor,
                        action=AuditAction.DENIED,
                        case=other,
                        what="disqualify_conflict",
                        object_id=user_id,
                        flagged=True,
                    )
                    continue
            Disqualification.objects.create(
                case=other, user_id=user_id, reason=mark.reason, created_by_id=mark.created_by_id
            )
            _revoke(mark.user, other, VIEW, CHANGE)
            _readdress_partner_referrals(other, user_id)
            _audit_change(actor, other, "disqualify", object_id=user_id)
            marked.add(other.pk)
    for pk in marked:
        _event(group[pk], actor, EventKind.DISQUALIFIED)
    return group, marked


def _readdress_partner_referrals(case: Case, user_id: int) -> None:
    """A referral to the police or DSC waiting for the answer of a contact now disqualified on
    the case goes to the next holder of the role (the deputy), who is mailed as the first
    was; nobody else could ever answer it. Without another holder it waits for whoever takes
    the role (cooperation.services.handover)."""
    waiting = case.referrals.filter(
        kind__in=_PARTNER_KIND.values(), to_user_id=user_id, status=ReferralStatus.SENT
    )
    roles = {kind: _PARTNER_ROLE[partner] for partner, kind in _PARTNER_KIND.items()}
    for referral in waiting:
        holder = (
            _partner_holders(referral.to_organisation_id, roles[referral.kind], case)
            .exclude(user_id=user_id)
            .first()
        )
        if holder is None:
            continue
        # A deputy appointed after the routing holds no grant yet (_route_to_partner's).
        _grant(holder.user, case, VIEW)
        referral.to_user = holder.user
        referral.alerted_at = None
        referral.save(update_fields=["to_user", "alerted_at"])
        _alert_after_commit(referral)


def _pass_to_another_visitator(actor, case: Case, *, excluding: list[int]) -> None:
    """A referral waiting for triage whose visitator is found disqualified on the person:
    another visitator (the deputy), not among `excluding` (everyone marked on the person),
    takes it and its open referrals."""
    previous = case.responsible_id
    visitator = _visitator_of(case.municipality, case, excluding=excluding)
    case.referrals.filter(
        kind=ReferralKind.TO_VISITATOR,
        to_user_id=previous,
        status__in=[ReferralStatus.SENT, ReferralStatus.ACCEPTED],
    ).update(to_user=visitator)
    case.responsible = visitator
    _save(case, "responsible")
    _event(case, actor, EventKind.HANDOVER, summary=visitator.get_full_name() or visitator.username)


def _visitator_of(municipality: Organisation, case: Case | None = None, *, excluding=()):
    """The visitator who answers for the municipality now (the deputy if the visitator is
    away or disqualified on this case, or among the users `excluding`)."""
    holders = current_holders(municipality.pk, Role.VISITATOR)
    if case is not None and case.pk:
        holders = holders.exclude(user__disqualifications__case=case)
    if excluding:
        holders = holders.exclude(user_id__in=excluding)
    holder = holders.first()
    if holder is None:
        raise TransitionError(MSG_NO_VISITATOR, code="no_visitator")
    return holder.user


def _clean_consents(consents) -> list[tuple[str, str]]:
    consents = list(consents)
    for partner, scope in consents:
        if partner not in ConsentPartner.values or scope not in ConsentScope.values:
            raise ValidationError(MSG_BAD_CONSENT, code="bad_consent")
    return consents


@transaction.atomic
def refer(
    *,
    actor,
    municipality: Organisation,
    full_name: str,
    safe_contact: str,
    safe_contact_time: str = "",
    cpr: str = "",
    birth_date: datetime.date | None = None,
    person_kind: str = PersonKind.CITIZEN,
    children_in_household: bool = False,
    relation: str = Relation.UNKNOWN,
    stalker_works_in_municipality: str = YesNoUnknown.UNKNOWN,
    urgency: int = Urgency.NORMAL,
    reason: str = "",
    consents: Iterable[tuple[str, str]] = (),
    request=None,
) -> Case:
    """A first contact (or the police contact, mutual referral) refers a person to the
    municipality's stalking visitator. The case lands in the visitator's queue."""
    if not municipalities_user_can_refer_to(actor).filter(pk=municipality.pk).exists():
        raise PermissionDenied(MSG_CANNOT_REFER_HERE)
    consents = _clean_consents(consents)
    person = {
        "person_kind": person_kind,
        "full_name": full_name.strip(),
        "birth_date": birth_date,
        "safe_contact": safe_contact.strip(),
        "safe_contact_time": safe_contact_time.strip(),
        "children_in_household": children_in_household,
        "relation": relation,
        "stalker_works_in_municipality": stalker_works_in_municipality,
    }
    if cpr:
        digits = normalise_cpr(cpr)
        person.update(_cpr_fields(digits))
        person["birth_date"] = birth_date or birth_date_from_cpr(digits)
    now = _now()
    from_org = _acting_organisation(actor, municipality)
    case, _referrals = _open_referred_case(
        actor=actor,
        municipality=municipality,
        urgency=urgency,
        person=person,
        referrals=[
            {
                "from_user": actor,
                "from_organisation": from_org,
                "from_unit_id": _referring_unit_id(actor, from_org),
                "reason": reason.strip(),
            }
        ],
        consents=[
            {"partner": partner, "scope": scope, "given_at": now, "recorded_by": actor}
            for partner, scope in consents
        ],
        now=now,
    )
    _event(case, actor, EventKind.REFERRED, summary=from_org.name)
    audit.record(user=actor, action=AuditAction.CREATE, case=case, what="case", request=request)
    return case


def _cpr_fields(digits: str) -> dict:
    """The case's fields for a CPR number: sealed, its blind index, and the last four digits
    the pages show."""
    return {
        "cpr_encrypted": encrypt_cpr(digits),
        "cpr_index": cpr_index(digits),
        "cpr_last4": digits[-4:],
    }


def _open_referred_case(
    *,
    actor,
    municipality: Organisation,
    urgency: int,
    person: dict,
    referrals: list[dict],
    consents: Iterable[dict],
    now,
    disqualifications: Iterable[dict] = (),
) -> tuple[Case, list[Referral]]:
    """A new case in the municipality's triage queue, as a referral makes it (refer) and as a
    forwarded one is made again in the municipality it belongs to (forward_to_municipality):
    the municipality's reference, its visitator responsible, its deadline from today, a
    referral to the visitator for each of `referrals` (from_user, from_organisation,
    from_unit_id, reason), the consents, and an acute alert for each referral after the
    commit. `person`: the Case's fields about the person exposed. `disqualifications` (user_id,
    reason, created_by_id), and those on the municipality's other cases about the person, hold
    on the new case from the start, each with its audit entry under `actor` (who made the
    case): no visitator among them is made responsible for it."""
    disqualifications = list(disqualifications)
    # The municipality's earlier cases about the person lend theirs (_share_disqualifications);
    # one way only: a referral is never refused for a conflict on another case.
    marked = {d["user_id"] for d in disqualifications}
    for mark in Disqualification.objects.filter(
        case__in=list(_persons_cases(municipality.pk, person))
    ).order_by("created_at", "pk"):
        if mark.user_id not in marked:
            marked.add(mark.user_id)
            disqualifications.append(
                {
                    "user_id": mark.user_id,
                    "reason": mark.reason,
                    "created_by_id": mark.created_by_id,
                }
            )
    visitator = _visitator_of(municipality, excluding=marked)
    case = Case(
        reference=_next_reference(municipality, timezone.localdate(now).year),
        municipality=municipality,
        state=CaseState.REFERRED,
        urgency=urgency,
        received_at=now,
        triage_deadline=_triage_deadline(timezone.localdate(now), municipality, urgency),
        responsible=visitator,
        **person,
    )
    case.full_clean(exclude=["responsible"])
    case.save()
    created = [
        Referral.objects.create(
            case=case,
            kind=ReferralKind.TO_VISITATOR,
            to_organisation=municipality,
            to_user=visitator,
            **referral,
        )
        for referral in referrals
    ]
    for consent in consents:
        Consent.objects.create(case=case, **consent)
    for disqualification in disqualifications:
        Disqualification.objects.create(case=case, **disqualification)
        _audit_change(actor, case, "disqualify", object_id=disqualification["user_id"])
    if case.urgency == Urgency.ACUTE:
        for referral in created:
            _alert_after_commit(referral)
    return case, created


def _alert_after_commit(referral: Referral) -> None:
    """Have a worker send the mail about the referral once the change is committed
    (cases.alerts): the acute alert, or the notice to the recipient of a referral to a
    coordinator, the police or DSC. Robust: a broker that is down must not fail the change;
    the relay sends it."""
    transaction.on_commit(lambda pk=referral.pk: _queue_alert(pk), robust=True)


def _queue_alert(referral_id: int) -> None:
    from .tasks import alert_referral

    alert_referral.delay(referral_id)


def _notice_after_commit(notice: CaseNotice) -> None:
    """Have a worker send the coordinator's notice once the change is committed, as
    _alert_after_commit; the relay sends it if the broker never got it."""
    transaction.on_commit(lambda pk=notice.pk: _queue_notice(pk), robust=True)


def _queue_notice(notice_id: int) -> None:
    from .tasks import send_case_notice

    send_case_notice.delay(notice_id)


def _triage_deadline(received_on: datetime.date, municipality: Organisation, urgency: int):
    """The municipality's working days for an ordinary referral; an acute one (the citizen
    is in danger) is due the day it arrives."""
    if urgency == Urgency.ACUTE:
        return received_on
    return add_working_days(received_on, municipality.triage_days)


def _referring_unit_id(actor, organisation: Organisation) -> int | None:
    """The unit of the actor's first-contact role in the organisation they refer from."""
    return (
        RoleAssignment.objects.current()
        .filter(user=actor, role=Role.FIRST_CONTACT, organisation=organisation, unit__isnull=False)
        .order_by("pk")
        .values_list("unit_id", flat=True)
        .first()
    )


def _acting_organisation(actor, municipality: Organisation) -> Organisation:
    if has_role(actor, Role.POLICE_CONTACT) and not has_role(
        actor, Role.FIRST_CONTACT, municipality.pk
    ):
        return municipality.police_district or municipality
    return municipality


@transaction.atomic
def start_triage(*, actor, case: Case, request=None) -> Case:
    case = _lock(case)
    require(actor, Action.START_TRIAGE, case)
    _require_state(case, CaseState.REFERRED)
    case.state = CaseState.IN_TRIAGE
    case.responsible = actor
    _save(case, "state", "responsible")
    case.referrals.filter(kind=ReferralKind.TO_VISITATOR, status=ReferralStatus.SENT).update(
        status=ReferralStatus.ACCEPTED, responded_at=_now(), responded_by=actor
    )
    _event(case, actor, EventKind.TRIAGE_STARTED)
    _audit_change(actor, case, "start_triage", request=request)
    return case


@transaction.atomic
def triage(
    *,
    actor,
    case: Case,
    is_stalking: bool,
    reasoning: str,
    children_notification: str = "",
    coordinator=None,
    to_police: bool = False,
    to_dsc: bool = False,
    advice_given: str = "",
    expected_version: int | None = None,
    request=None,
) -> Case:
    """Decide whether it is stalking and, in the same step, route the case or close it
    with advice. Police and DSC are only reached within the citizen's consent."""
    case = _lock(case, expected_version)
    require(actor, Action.TRIAGE, case)
    _require_state(case, CaseState.IN_TRIAGE)
    if not reasoning.strip():
        raise ValidationError({"reasoning": MSG_REASON_REQUIRED}, code="required")
    if case.children_in_household and children_notification not in ChildrenNotification.values:
        raise ValidationError({"children_notification": MSG_CHILDREN}, code="required")
    now = _now()
    case.is_stalking = is_stalking
    case.triage_reasoning = reasoning.strip()
    case.children_notification = children_notification if case.children_in_household else ""
    case.triaged_at = now
    if not is_stalking:
        if coordinator or to_police or to_dsc:
            # A route with "not stalking" is a contradiction; closing would silently drop it.
            raise ValidationError(MSG_ROUTE_NOT_STALKING, code="route_not_stalking")
        comment = advice_given.strip() or reasoning.strip()
        _close_locked(actor, case, ClosingReason.NOT_STALKING, comment, now)
        _save(case, *_TRIAGE_FIELDS, *_CLOSE_FIELDS)
        _event(case, actor, EventKind.TRIAGED)
        _event(case, actor, EventKind.CLOSED, summary=case.get_closing_reason_display())
        _audit_change(actor, case, "triage:not_stalking", request=request)
        return case

    if not (coordinator or to_police or to_dsc):
        raise ValidationError(MSG_ROUTE_NEEDED, code="route_needed")
    if coordinator is not None and not has_role(
        coordinator, Role.COORDINATOR, case.municipality_id
    ):
        raise ValidationError({"coordinator": MSG_NOT_COORDINATOR}, code="not_coordinator")
    if coordinator is not None and is_disqualified(coordinator, case):
        raise ValidationError({"coordinator": MSG_COORDINATOR_DISQUALIFIED}, code="disqualified")
    routes = []
    if to_police:
        routes.append(_route_to_partner(actor, case, ConsentPartner.POLICE))
    if to_dsc:
        routes.append(_route_to_partner(actor, case, ConsentPartner.DSC))
    if coordinator is not None:
        _end_other_coordinators(case, keep=coordinator)
        _refer_to_coordinator(actor, case, coordinator)
        case.responsible = coordinator
        routes.append(coordinator.get_full_name() or coordinator.username)
    case.state = CaseState.ACTIVE
    _save(case, *_TRIAGE_FIELDS, "state", "responsible")
    case.referrals.filter(
        kind=ReferralKind.TO_VISITATOR,
        status__in=[ReferralStatus.SENT, ReferralStatus.ACCEPTED],
    ).update(status=ReferralStatus.COMPLETED, responded_at=now, responded_by=actor)
    _event(case, actor, EventKind.TRIAGED)
    _event(case, actor, EventKind.ROUTED, summary=", ".join(routes))
    _audit_change(actor, case, "triage:route", request=request)
    return case


_TRIAGE_FIELDS = ("is_stalking", "triage_reasoning", "children_notification", "triaged_at")
_CLOSE_FIELDS = ("state", "closing_reason", "closing_comment", "closed_at")


def _end_other_coordinators(case: Case, *, keep) -> None:
    """One coordinator works a case: whoever else holds its change grant (a successor given
    the role after the case closed, a coordinator from before a reopening) loses it and the
    read that came with it when triage gives the case its coordinator."""
    grants = CaseUserObjectPermission.objects.filter(
        content_object=case, permission__codename=CHANGE
    ).exclude(user=keep)
    for user in User.objects.filter(pk__in=grants.values("user")):
        _revoke(user, case, VIEW, CHANGE)


def _refer_to_coordinator(actor, case: Case, coordinator, reason: str = "") -> Referral:
    """The case goes to a primary coordinator: a referral waiting for their answer (mailed
    after the commit), and their access to the case."""
    referral = Referral.objects.create(
        case=case,
        kind=ReferralKind.TO_COORDINATOR,
        from_user=actor,
        from_organisation=case.municipality,
        to_organisation=case.municipality,
        to_user=coordinator,
        reason=reason,
    )
    _alert_after_commit(referral)
    _grant(coordinator, case, VIEW, CHANGE)
    return referral


def partner_organisation(case: Case, partner: str) -> Organisation | None:
    """Where a referral to the partner goes: the municipality's police district, or DSC."""
    if partner == ConsentPartner.POLICE:
        return case.municipality.police_district
    return Organisation.objects.filter(kind=OrganisationKind.DSC).order_by("pk").first()


_PARTNER_ROLE = {ConsentPartner.POLICE: Role.POLICE_CONTACT, ConsentPartner.DSC: Role.DSC_ADVISOR}
_PARTNER_KIND = {
    ConsentPartner.POLICE: ReferralKind.TO_POLICE,
    ConsentPartner.DSC: ReferralKind.TO_DSC,
}


def _partner_holders(organisation_id: int, role: str, case: Case):
    """Who holds the partner's role today, contact first, deputies after, less anyone
    disqualified on the case."""
    return current_holders(organisation_id, role).exclude(user__disqualifications__case=case)


def _route_to_partner(actor, case: Case, partner: str) -> str:
    label = ConsentPartner(partner).label
    if not case.consents.filter(
        partner=partner, scope=ConsentScope.CONTACT, withdrawn_at__isnull=True
    ).exists():
        raise ValidationError(MSG_NO_CONSENT, code="no_consent", params={"partner": label})
    organisation = partner_organisation(case, partner)
    # A contact disqualified on the case is passed over: the referral goes to the next holder
    # (the deputy), and the disqualified one is given nothing.
    holders = (
        list(_partner_holders(organisation.pk, _PARTNER_ROLE[partner], case))
        if organisation
        else []
    )
    if not holders:
        raise ValidationError(MSG_NO_PARTNER, code="no_partner", params={"partner": label})
    referral = Referral.objects.create(
        case=case,
        kind=_PARTNER_KIND[partner],
        from_user=actor,
        from_organisation=case.municipality,
        to_organisation=organisation,
        to_user=holders[0].user,
    )
    _alert_after_commit(referral)
    # The deputy reads the case too, so a referral is never stuck with someone away.
    for holder in holders:
        _grant(holder.user, case, VIEW)
    return organisation.name


def partner_referral_problem(partner: str, consents, referrals) -> str | None:
    """Why the case cannot be referred to the partner now, or None if it can: the citizen's
    consent to share contact details with them is in force, and no referral to them is
    waiting or accepted. Takes the case's consents and referrals, so that the case page can
    ask with the lists it has already loaded."""
    label = ConsentPartner(partner).label
    if not any(
        c.partner == partner and c.scope == ConsentScope.CONTACT and c.withdrawn_at is None
        for c in consents
    ):
        return MSG_NO_CONSENT % {"partner": label}
    open_statuses = (ReferralStatus.SENT, ReferralStatus.ACCEPTED)
    if any(r.kind == _PARTNER_KIND[partner] and r.status in open_statuses for r in referrals):
        return MSG_ALREADY_REFERRED % {"partner": label}
    return None


@transaction.atomic
def refer_to_partner(*, actor, case: Case, partner: str, request=None) -> Referral:
    """After triage, the case's coordinator or the visitator refers an active case to the
    police contact or DSC, once the citizen has consented (e.g. the citizen was not ready
    to involve the police at triage). The partner reads within the consent, as at triage."""
    case = _lock(case)
    require(actor, Action.REFER_PARTNER, case)
    _require_state(case, CaseState.ACTIVE)
    if partner not in _PARTNER_KIND:
        raise ValidationError(MSG_BAD_CONSENT, code="bad_partner")
    problem = partner_referral_problem(partner, case.consents.all(), case.referrals.all())
    if problem:
        raise ValidationError(problem, code="not_referable")
    organisation_name = _route_to_partner(actor, case, partner)
    _save(case)
    _event(case, actor, EventKind.ROUTED, summary=organisation_name)
    _audit_change(actor, case, f"refer:{partner}", request=request)
    return case.referrals.filter(kind=_PARTNER_KIND[partner]).latest("pk")


def _revoke_partners(case: Case, partner: str | None = None) -> None:
    kinds = [_PARTNER_KIND[partner]] if partner else list(_PARTNER_KIND.values())
    users = User.objects.filter(
        referrals_received__case=case, referrals_received__kind__in=kinds
    ).distinct()
    roles = [_PARTNER_ROLE[p] for p in ([partner] if partner else _PARTNER_ROLE)]
    deputies = User.objects.filter(
        role_assignments__role__in=roles,
        caseuserobjectpermission__content_object=case,
    ).distinct()
    for user in {*users, *deputies}:
        _revoke(user, case, VIEW)


def _close_locked(actor, case: Case, reason: str, comment: str, now) -> None:
    case.state = CaseState.CLOSED
    case.closing_reason = reason
    case.closing_comment = comment
    case.closed_at = now
    case.referrals.filter(status__in=[ReferralStatus.SENT, ReferralStatus.ACCEPTED]).update(
        status=ReferralStatus.COMPLETED, responded_at=now, responded_by=actor
    )
    _revoke_partners(case)


@transaction.atomic
def close(
    *, actor, case: Case, reason: str, comment: str = "", expected_version=None, request=None
) -> Case:
    case = _lock(case, expected_version)
    require(actor, Action.CLOSE, case)
    _require_state(case, CaseState.ACTIVE)
    if reason not in ClosingReason.values or reason == ClosingReason.MERGED:
        raise ValidationError({"reason": _("Vælg en årsag.")}, code="invalid_reason")
    if reason == ClosingReason.OTHER and not comment.strip():
        raise ValidationError({"comment": MSG_REASON_REQUIRED}, code="required")
    _close_locked(actor, case, reason, comment.strip(), _now())
    _save(case, *_CLOSE_FIELDS)
    _event(case, actor, EventKind.CLOSED, summary=case.get_closing_reason_display())
    _audit_change(actor, case, "close", request=request)
    return case


def reopen_problem(referrals) -> str | None:
    """Why the closed case cannot be reopened, or None if it can: its referral was forwarded
    to another municipality, which has the citizen's case now (two open cases about one person
    in two municipalities would let it fall between them). Takes the case's referrals, so
    that the case page can ask with the list it has already loaded."""
    if any(r.status == ReferralStatus.FORWARDED for r in referrals):
        return MSG_FORWARDED_NO_REOPEN
    return None


@transaction.atomic
def reopen(*, actor, case: Case, comment: str, request=None) -> Case:
    """A closed case comes back: to the coordinator who owned it, or to the visitator (when
    the coordinator left the role or was found disqualified after the case was closed)."""
    case = _lock(case)
    require(actor, Action.REOPEN, case)
    _require_state(case, CaseState.CLOSED)
    if reopen_problem(case.referrals.all()):
        raise TransitionError(MSG_FORWARDED_NO_REOPEN, code="forwarded")
    if not comment.strip():
        raise ValidationError({"comment": MSG_REASON_REQUIRED}, code="required")
    owner = case.responsible
    if (
        owner is not None
        and has_role(owner, Role.COORDINATOR, case.municipality_id)
        and not is_disqualified(owner, case)
    ):
        case.state = CaseState.ACTIVE
    else:
        case.state = CaseState.IN_TRIAGE
        case.responsible = _visitator_of(case.municipality, case)
    case.closing_reason = ""
    case.closed_at = None
    _save(case, "state", "responsible", "closing_reason", "closed_at")
    _event(case, actor, EventKind.REOPENED, summary=comment.strip()[:500])
    _audit_change(actor, case, "reopen", request=request)
    return case


def joinable(case: Case, into: Case) -> bool:
    """Whether `case` can be joined into `into` at all: another open case of the same
    municipality (the join confirmation asks before it shows `into`)."""
    return into.pk != case.pk and into.municipality_id == case.municipality_id and into.is_open


@transaction.atomic
def join_duplicate(*, actor, case: Case, into: Case, request=None) -> Case:
    """A new referral about a person who already has a case: its referrals and consents move
    to the existing case, and the new case is closed as merged. The existing case's
    coordinator, if it is past triage, is mailed (CaseNotice)."""
    require(actor, Action.JOIN, case)
    require(actor, Action.ADD_NOTE, into)
    case = _lock(case)
    _require_state(case, CaseState.REFERRED, CaseState.IN_TRIAGE)
    into = _lock(into)
    if not joinable(case, into):
        raise TransitionError(MSG_JOIN_OTHER, code="join_other")
    now = _now()
    if into.state == CaseState.ACTIVE:
        # Triage is done there, and nobody would ever answer these: joining them to the case
        # is the visitator's answer, and the referrer reads them as handled.
        case.referrals.filter(
            kind=ReferralKind.TO_VISITATOR,
            status__in=[ReferralStatus.SENT, ReferralStatus.ACCEPTED],
        ).update(status=ReferralStatus.COMPLETED, responded_at=now, responded_by=actor)
    case.referrals.update(case=into)
    for consent in case.consents.filter(withdrawn_at__isnull=True):
        if not into.consents.filter(
            partner=consent.partner, scope=consent.scope, withdrawn_at__isnull=True
        ).exists():
            consent.case = into
            consent.save(update_fields=["case"])
    case.state = CaseState.CLOSED
    case.closing_reason = ClosingReason.MERGED
    case.closing_comment = into.reference
    case.closed_at = now
    case.merged_into = into
    _save(case, *_CLOSE_FIELDS, "merged_into")
    _save(into)
    # After the closing: the closed duplicate's visitator may well be disqualified on `into`.
    _share_disqualifications(actor, into, case)
    if into.state == CaseState.ACTIVE:
        # Its coordinator would learn of the new referral only from the timeline.
        _notice_after_commit(CaseNotice.objects.create(case=into, kind=NoticeKind.REFERRAL_JOINED))
    _event(case, actor, EventKind.MERGED, summary=into.reference)
    _event(into, actor, EventKind.MERGED, summary=case.reference)
    _audit_change(actor, case, "join_duplicate", object_id=into.pk, request=request)
    return into


# What a caseworker may correct or bring up to date about the person after the referral. The
# usual reason is a new safe way to reach them (the person who stalks found the old number).
PERSON_FIELDS = (
    "full_name",
    "person_kind",
    "birth_date",
    "safe_contact",
    "safe_contact_time",
    "children_in_household",
    "relation",
    "stalker_works_in_municipality",
    # Triage's answer on notifying the children's services: children who come to light later
    # need it too (update_person asks for it on a triaged case).
    "children_notification",
)
_CPR_FIELDS = ("cpr_encrypted", "cpr_index", "cpr_last4")
MSG_CPR_BOTH = _("Skriv et nyt CPR-nummer, eller fjern det, men ikke begge dele.")
MSG_BIRTH_DATE_FOLLOWS_CPR = _(
    "Fødselsdatoen følger CPR-nummeret. Ret CPR-nummeret, hvis fødselsdatoen er forkert."
)
MSG_BIRTH_DATE_FUTURE = _("Fødselsdatoen kan ikke ligge i fremtiden.")


@transaction.atomic
def update_person(
    *,
    actor,
    case: Case,
    details: dict,
    cpr: str = "",
    remove_cpr: bool = False,
    expected_version: int | None = None,
    request=None,
) -> list[str]:
    """Correct or bring up to date what the case holds about the person exposed (`details`:
    any of PERSON_FIELDS). `cpr` adds or replaces the CPR number (it is never shown here);
    with a CPR number the birth date is the number's; `remove_cpr` takes a wrong one off (it
    would keep matching another person). Returns the names of the fields that changed; when
    none did, nothing is written. The timeline says which fields changed, never to what."""
    case = _lock(case, expected_version)
    require(actor, Action.EDIT_PERSON, case)
    _require_state(case, CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE)
    unknown = set(details) - set(PERSON_FIELDS)
    if unknown:
        raise ValueError(f"not a person field: {sorted(unknown)}")
    new = {
        name: value.strip() if isinstance(value, str) else value for name, value in details.items()
    }
    if cpr and remove_cpr:
        raise ValidationError({"cpr": MSG_CPR_BOTH}, code="cpr_both")
    if cpr:
        digits = normalise_cpr(cpr)
        if cpr_index(digits) != case.cpr_index:
            new.update(_cpr_fields(digits))
        new["birth_date"] = birth_date_from_cpr(digits)
    elif remove_cpr:
        new.update(dict.fromkeys(_CPR_FIELDS, ""))
    elif case.cpr_index and "birth_date" in new and new["birth_date"] != case.birth_date:
        raise ValidationError({"birth_date": MSG_BIRTH_DATE_FOLLOWS_CPR}, code="birth_date_cpr")
    if new.get("birth_date") and new["birth_date"] > timezone.localdate():
        raise ValidationError({"birth_date": MSG_BIRTH_DATE_FUTURE}, code="birth_date_future")
    children = new.get("children_in_household", case.children_in_household)
    notification = new.get("children_notification", case.children_notification)
    if case.triaged_at and children and not notification:
        raise ValidationError({"children_notification": MSG_CHILDREN}, code="required")
    changed = [name for name, value in new.items() if getattr(case, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(case, name, new[name])
    case.full_clean(exclude=["responsible"])
    _save(case, *changed)
    labels = [
        str(Case._meta.get_field(name).verbose_name) for name in changed if name not in _CPR_FIELDS
    ]
    if "cpr_index" in changed:
        labels.append(str(_("CPR-nummer")))
    _event(case, actor, EventKind.PERSON_CHANGED, summary=", ".join(labels))
    probe_like = False
    if {"full_name", "birth_date", "cpr_index"} & set(changed):
        # It may match another case of the person now.
        group, newly_marked = _share_disqualifications(actor, case)
        others = [pk for pk in group if pk != case.pk]
        hidden = len(others) - cases_visible_to(actor).filter(pk__in=others).count()
        probe_like = case.pk in newly_marked or hidden > 0
    # Flagged for the data protection officers when the correction made the case another
    # person's, one with disqualifications or with a case the corrector cannot open: it may be
    # right (a name spelt wrong), or someone probing whether a person has a case here, or one
    # in which a colleague is marked (fourth and fifth red-team reviews).
    _audit_change(actor, case, "person", request=request, flagged=probe_like)
    return changed


@transaction.atomic
def add_note(*, actor, case: Case, text: str, request=None) -> Note:
    case = _lock(case)
    require(actor, Action.ADD_NOTE, case)
    _require_state(case, CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE)
    if not text.strip():
        raise ValidationError({"text": _("Notatet er tomt.")}, code="required")
    note = Note.objects.create(case=case, author=actor, text=text.strip())
    _save(case)
    _event(case, actor, EventKind.NOTE_ADDED, note=note)
    _audit_change(actor, case, "note", object_id=note.pk, request=request)
    return note


@transaction.atomic
def record_consent(
    *, actor, case: Case, partner: str, scopes: Iterable[str], request=None
) -> list[Consent]:
    case = _lock(case)
    require(actor, Action.MANAGE_CONSENT, case)
    _require_state(case, CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE)
    _clean_consents((partner, scope) for scope in scopes)
    now = _now()
    active = set(
        case.consents.filter(partner=partner, withdrawn_at__isnull=True).values_list(
            "scope", flat=True
        )
    )
    created = [
        Consent.objects.create(
            case=case, partner=partner, scope=scope, given_at=now, recorded_by=actor
        )
        for scope in scopes
        if scope not in active
    ]
    for consent in created:
        _event(
            case,
            actor,
            EventKind.CONSENT_GIVEN,
            summary=consent.get_partner_display(),
            consent_scope=consent.scope,
        )
    _save(case)
    _audit_change(actor, case, f"consent:{partner}", request=request)
    return created


@transaction.atomic
def withdraw_consent(*, actor, consent: Consent, request=None) -> Consent:
    """Withdrawing the consent to share contact details ends the partner's access."""
    case = consent.case
    case = _lock(case)
    require(actor, Action.MANAGE_CONSENT, case)
    _require_state(case, CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE)
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        raise TransitionError(_("Samtykket er allerede trukket tilbage."), code="withdrawn")
    _withdraw(actor, case, consent, request)
    _save(case)
    return consent


@transaction.atomic
def withdraw_all_consents(*, actor, case: Case, partner: str, request=None) -> list[Consent]:
    """The citizen takes back everything they agreed to share with one partner: every kind
    of information in one step, each withdrawal on the timeline and in the audit trail."""
    case = _lock(case)
    require(actor, Action.MANAGE_CONSENT, case)
    _require_state(case, CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE)
    consents = list(
        case.consents.select_for_update()
        .filter(partner=partner, withdrawn_at__isnull=True)
        .order_by("pk")
    )
    if not consents:
        raise TransitionError(_("Der er intet samtykke at trække tilbage."), code="withdrawn")
    for consent in consents:
        _withdraw(actor, case, consent, request)
    _save(case)
    return consents


def _withdraw(actor, case: Case, consent: Consent, request) -> None:
    consent.withdrawn_at = _now()
    consent.withdrawn_by = actor
    consent.save(update_fields=["withdrawn_at", "withdrawn_by"])
    if consent.scope == ConsentScope.CONTACT:
        _revoke_partners(case, consent.partner)
        # The sharing stops, and with it the referral: a new consent allows a new one.
        case.referrals.filter(
            kind=_PARTNER_KIND[consent.partner],
            status__in=[ReferralStatus.SENT, ReferralStatus.ACCEPTED],
        ).update(
            status=ReferralStatus.COMPLETED, responded_at=consent.withdrawn_at, responded_by=actor
        )
    _event(
        case,
        actor,
        EventKind.CONSENT_WITHDRAWN,
        summary=consent.get_partner_display(),
        consent_scope=consent.scope,
    )
    _audit_change(actor, case, f"withdraw_consent:{consent.partner}", consent.pk, request)


@transaction.atomic
def respond_to_referral(
    *, actor, referral: Referral, accept: bool, reason: str = "", request=None
) -> Referral:
    """The recipient of a routed referral (coordinator, police, DSC) accepts or declines.
    A declined coordinator referral sends the case back to the visitator."""
    # An onward referral has no recipient in Samvirke: its case's people record the answer
    # (record_onward_outcome).
    if (
        referral.to_user_id != actor.pk
        or referral.kind == ReferralKind.TO_VISITATOR
        or referral.kind in ONWARD_KINDS
    ):
        raise PermissionDenied(MSG_NOT_RECIPIENT)
    case = _lock(referral.case)
    if is_disqualified(actor, case):
        raise PermissionDenied(MSG_NOT_RECIPIENT)
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status != ReferralStatus.SENT:
        raise TransitionError(MSG_REFERRAL_ANSWERED, code="answered")
    if not accept and not reason.strip():
        raise ValidationError({"reason": MSG_REASON_REQUIRED}, code="required")
    referral.status = ReferralStatus.ACCEPTED if accept else ReferralStatus.DECLINED
    referral.decline_reason = "" if accept else reason.strip()
    referral.responded_at = _now()
    referral.responded_by = actor
    referral.save(update_fields=["status", "decline_reason", "responded_at", "responded_by"])
    if not accept:
        partner = {v: k for k, v in _PARTNER_KIND.items()}.get(referral.kind)
        if partner:
            # The deputy was given access with the referral; it ends with it.
            _revoke_partners(case, partner)
        _revoke(actor, case, VIEW, CHANGE)
        if referral.kind == ReferralKind.TO_COORDINATOR and case.responsible_id == actor.pk:
            case.responsible = _visitator_of(case.municipality, case)
            if case.state == CaseState.ACTIVE:
                case.state = CaseState.IN_TRIAGE
            _save(case, "state", "responsible")
    kind = EventKind.REFERRAL_ACCEPTED if accept else EventKind.REFERRAL_DECLINED
    _event(case, actor, kind, summary=referral.get_kind_display())
    _audit_change(actor, case, f"referral:{referral.status}", referral.pk, request)
    return referral


@transaction.atomic
def decline_incoming(*, actor, case: Case, reason: str, request=None) -> Case:
    """The visitator turns a referral down (e.g. wrong municipality); the referrer sees why."""
    case = _lock(case)
    require(actor, Action.DECLINE, case)
    _require_state(case, CaseState.REFERRED, CaseState.IN_TRIAGE)
    if not reason.strip():
        raise ValidationError({"reason": MSG_REASON_REQUIRED}, code="required")
    now = _now()
    case.referrals.filter(kind=ReferralKind.TO_VISITATOR).exclude(
        status=ReferralStatus.COMPLETED
    ).update(
        status=ReferralStatus.DECLINED,
        decline_reason=reason.strip(),
        responded_at=now,
        responded_by=actor,
    )
    _close_locked(actor, case, ClosingReason.TRANSFERRED, reason.strip(), now)
    _save(case, *_CLOSE_FIELDS)
    _event(case, actor, EventKind.REFERRAL_DECLINED, summary=reason.strip()[:500])
    _audit_change(actor, case, "decline_referral", request=request)
    return case


# What travels with a forwarded referral: the person exposed as the referrer described them.
# Whether the person who stalks works in the municipality was asked about the first one, so
# it starts as "unknown" in the new one; nothing of the work on the case travels (notes,
# tools, triage, network meetings). The disqualifications do travel (forward_to_municipality).
_FORWARDED_PERSON_FIELDS = (
    "person_kind",
    "full_name",
    "cpr_encrypted",
    "cpr_index",
    "cpr_last4",
    "birth_date",
    "safe_contact",
    "safe_contact_time",
    "children_in_household",
    "relation",
)
_OPEN_REFERRAL = (ReferralStatus.SENT, ReferralStatus.ACCEPTED)


def forward_problem(referrals) -> str | None:
    """Why the case's referral cannot be forwarded, or None if it can: there is a referral to
    the visitator that is still open (sent or accepted). A case that has been triaged before
    and came back (reopened, or declined by its coordinator) has none. Takes the case's
    referrals, so that the case page can ask with the list it has already loaded."""
    if any(r.kind == ReferralKind.TO_VISITATOR and r.status in _OPEN_REFERRAL for r in referrals):
        return None
    return MSG_NOTHING_TO_FORWARD


@transaction.atomic
def forward_to_municipality(
    *, actor, case: Case, municipality: Organisation, comment: str, request=None
) -> Case:
    """The visitator sends a referral that belongs to another municipality (the citizen lives
    or has moved there) on to that municipality's visitator, instead of declining it and
    leaving the referrer to fill in the form again. The new case is made as a referral makes
    it, with the person, the referrers and their reasons, and the consents in force; this
    case is closed as transferred, and its referrals to the visitator say where they went.
    Returns the new case."""
    case = _lock(case)
    require(actor, Action.FORWARD, case)
    _require_state(case, CaseState.REFERRED, CaseState.IN_TRIAGE)
    comment = comment.strip()
    errors = {}
    if not comment:
        errors["comment"] = ValidationError(MSG_FORWARD_COMMENT, code="required")
    elif len(comment) > FORWARD_COMMENT_MAX_LENGTH:
        errors["comment"] = ValidationError(
            MSG_FORWARD_COMMENT_LONG,
            code="max_length",
            params={"limit": FORWARD_COMMENT_MAX_LENGTH},
        )
    if municipality.kind != OrganisationKind.MUNICIPALITY:
        errors["municipality"] = ValidationError(MSG_FORWARD_NOT_MUNICIPALITY, code="invalid")
    elif municipality.pk == case.municipality_id:
        errors["municipality"] = ValidationError(MSG_FORWARD_SAME, code="same_municipality")
    elif not current_holders(municipality.pk, Role.VISITATOR).exists():
        errors["municipality"] = ValidationError(
            MSG_FORWARD_NO_VISITATOR,
            code="no_visitator",
            params={"municipality": municipality.name},
        )
    if errors:
        raise ValidationError(errors)
    open_referrals = list(
        case.referrals.filter(kind=ReferralKind.TO_VISITATOR, status__in=_OPEN_REFERRAL)
        .select_for_update()
        .order_by("created_at", "pk")
    )
    if forward_problem(open_referrals):
        raise TransitionError(MSG_NOTHING_TO_FORWARD, code="nothing_to_forward")
    now = _now()
    new_case, new_referrals = _open_referred_case(
        actor=actor,
        municipality=municipality,
        urgency=case.urgency,
        person={
            **{name: getattr(case, name) for name in _FORWARDED_PERSON_FIELDS},
            "stalker_works_in_municipality": YesNoUnknown.UNKNOWN,
        },
        # The referrers stay the referrers: each follows their referral in "Mine henvisninger".
        referrals=[
            {
                "from_user_id": old.from_user_id,
                "from_organisation_id": old.from_organisation_id,
                "from_unit_id": old.from_unit_id,
                "reason": old.reason,
                "person_name": old.person_name,
            }
            for old in open_referrals
        ],
        consents=[
            {
                "partner": consent.partner,
                "scope": consent.scope,
                "given_at": consent.given_at,
                "recorded_by_id": consent.recorded_by_id,
            }
            for consent in case.consents.filter(withdrawn_at__isnull=True).order_by("pk")
        ],
        # Whoever must not see the citizen's case (the person who stalks, a relative) must
        # not see it in the next municipality either: a police contact or DSC advisor may
        # well reach both.
        disqualifications=case.disqualifications.order_by("pk").values(
            "user_id", "reason", "created_by_id"
        ),
        now=now,
    )
    for old, new in zip(open_referrals, new_referrals, strict=True):
        old.status = ReferralStatus.FORWARDED
        old.forwarded_as = new
        old.responded_at = now
        old.responded_by = actor
        old.save(update_fields=["status", "forwarded_as", "responded_at", "responded_by"])
    # Closing completes any other open referral (to a partner) and ends the partners' access.
    _close_locked(actor, case, ClosingReason.TRANSFERRED, comment, now)
    _save(case, *_CLOSE_FIELDS)
    _event(case, actor, EventKind.FORWARDED_OUT, summary=municipality.name)
    _event(
        new_case,
        actor,
        EventKind.FORWARDED_IN,
        summary=f"{case.municipality.name}: {comment}"[:500],
    )
    # The marks it brought reach the person's earlier cases in the receiving municipality,
    # without a refusal the sender could neither act on nor be told about.
    _share_disqualifications(actor, new_case, refuse=False)
    _audit_change(actor, case, "forward_referral", object_id=new_case.pk, request=request)
    return new_case


@transaction.atomic
def disqualify(*, actor, case: Case, user, reason: str, request=None) -> Disqualification:
    """Mark a user as inhabil on the case: they lose every access to it at once, and to the
    municipality's other cases about the person (_share_disqualifications)."""
    case = _lock(case)
    require(actor, Action.DISQUALIFY, case)
    if not reason.strip():
        raise ValidationError({"reason": MSG_REASON_REQUIRED}, code="required")
    if case.responsible_id == user.pk and case.state == CaseState.ACTIVE:
        raise TransitionError(MSG_DISQUALIFY_RESPONSIBLE, code="owner")
    if case.responsible_id == user.pk and case.is_open:
        # Before triage the visitator owns the case: the other visitator (the deputy) takes
        # it, as for the person's other cases (_share_disqualifications).
        marked = list(case.disqualifications.values_list("user_id", flat=True))
        _pass_to_another_visitator(actor, case, excluding=[user.pk, *marked])
    disqualification, _created = Disqualification.objects.get_or_create(
        case=case, user=user, defaults={"reason": reason.strip(), "created_by": actor}
    )
    _revoke(user, case, VIEW, CHANGE)
    _readdress_partner_referrals(case, user.pk)
    _save(case)
    _event(case, actor, EventKind.DISQUALIFIED)
    _share_disqualifications(actor, case)
    _audit_change(actor, case, "disqualify", object_id=user.pk, request=request)
    return disqualification


def _marked_on_person(case: Case, *, lock: bool):
    """The users disqualified on the case or on any other case of the person in the
    municipality (_persons_cases), as a subquery of user ids."""
    group = _persons_cases(case.municipality_id, case, lock=lock)
    return Disqualification.objects.filter(case__in=[case.pk, *group]).values("user_id")


def reassign_candidates(case: Case):
    """Whom the case can be handed to (reassign): the coordinators of its municipality today
    (RoleAssignments, with their user and unit; one row per role held), not its responsible,
    and nobody disqualified on a case of the person. For the form: reads, locks nothing."""
    return (
        current_holders(case.municipality_id, Role.COORDINATOR)
        .exclude(user_id=case.responsible_id)
        .exclude(user_id__in=_marked_on_person(case, lock=False))
        .select_related("unit")
    )


def former_is_told(actor, case: Case) -> bool:
    """Whether reassign mails the case's responsible that the case has left them: only a
    coordinator of the municipality today (one whose role ended, or a visitator responsible
    for a case routed only to a partner, has no list the case left), not the actor (a
    coordinator handing over their own case knows), and nobody marked on the person (they
    are handed away to be disqualified, and are told nothing more of the case)."""
    former = case.responsible
    return (
        former is not None
        and former.pk != actor.pk
        and has_role(former, Role.COORDINATOR, case.municipality_id)
        and not _marked_on_person(case, lock=False).filter(user_id=former.pk).exists()
    )


@transaction.atomic
def reassign(
    *, actor, case: Case, to_user, reason: str, expected_version: int | None = None, request=None
) -> Case:
    """Hand one active case to another coordinator: the responsible is on sick leave, leaves,
    or has a conflict of interest (they can be disqualified once the case is someone else's).
    The visitator does it, or the responsible coordinator with their own case. The former
    responsible loses their grants at once; their open referral (sent or accepted) is
    completed, as their part ends here. The new coordinator gets the grants routing gives
    and a new referral to answer, sent from the actor with the reason, which puts the case in
    their "waiting for you" and mails them (cases.alerts); if they decline it, the case goes
    back to the visitator as a declined routing does (respond_to_referral). The former
    coordinator is mailed that the case has left them when someone else handed it away
    (former_is_told; CaseNotice)."""
    case = _lock(case, expected_version)
    require(actor, Action.REASSIGN, case)
    _require_state(case, CaseState.ACTIVE)
    errors = {}
    if to_user.pk == case.responsible_id:
        errors["to_user"] = ValidationError(MSG_ALREADY_RESPONSIBLE, code="already_responsible")
    elif not has_role(to_user, Role.COORDINATOR, case.municipality_id):
        errors["to_user"] = ValidationError(MSG_NOT_COORDINATOR, code="not_coordinator")
    elif is_disqualified(to_user, case):
        errors["to_user"] = ValidationError(MSG_COORDINATOR_DISQUALIFIED, code="disqualified")
    elif _marked_on_person(case, lock=True).filter(user_id=to_user.pk).exists():
        errors["to_user"] = ValidationError(
            MSG_COORDINATOR_DISQUALIFIED_PERSON, code="disqualified_person"
        )
    if not reason.strip():
        errors["reason"] = ValidationError(MSG_REASON_REQUIRED, code="required")
    if errors:
        raise ValidationError(errors)
    now = _now()
    previous_id = case.responsible_id
    tell_former = former_is_told(actor, case)
    # One responsible, one open referral to a coordinator: the former one's part ends.
    case.referrals.filter(kind=ReferralKind.TO_COORDINATOR, status__in=_OPEN_REFERRAL).update(
        status=ReferralStatus.COMPLETED, responded_at=now, responded_by=actor
    )
    _end_other_coordinators(case, keep=to_user)
    _refer_to_coordinator(actor, case, to_user, reason=reason.strip())
    case.responsible = to_user
    _save(case, "responsible")
    _event(case, actor, EventKind.HANDOVER, summary=to_user.get_full_name() or to_user.username)
    if tell_former:
        _notice_after_commit(
            CaseNotice.objects.create(
                case=case, kind=NoticeKind.HANDED_AWAY, to_user_id=previous_id
            )
        )
    _audit_change(
        actor, case, "reassign", object_id=f"{previous_id or ''}->{to_user.pk}", request=request
    )
    return case


def _clean_meeting(
    case: Case,
    *,
    held_on: datetime.date,
    participants: str,
    purpose: str,
    agreements: str,
    next_meeting: datetime.date | None,
) -> dict:
    """The meeting's fields, stripped, or a ValidationError naming each field that is wrong.
    Agreements may wait while the meeting is only planned (a date after today)."""
    data = {
        "held_on": held_on,
        "participants": participants.strip(),
        "purpose": purpose.strip(),
        "agreements": agreements.strip(),
        "next_meeting": next_meeting,
    }
    errors = {}
    if held_on < timezone.localdate(case.received_at):
        errors["held_on"] = MSG_MEETING_BEFORE_CASE
    if not data["participants"]:
        errors["participants"] = MSG_MEETING_PARTICIPANTS
    if not data["purpose"]:
        errors["purpose"] = MSG_MEETING_PURPOSE
    if held_on <= timezone.localdate() and not data["agreements"]:
        errors["agreements"] = MSG_MEETING_AGREEMENTS
    if next_meeting is not None and next_meeting <= held_on:
        errors["next_meeting"] = MSG_MEETING_NEXT
    if errors:
        raise ValidationError(
            {field: ValidationError(message, code="invalid") for field, message in errors.items()}
        )
    return data


def _meeting_summary(meeting: NetworkMeeting) -> str:
    # The date only: the timeline is shown to everyone on the case, the record is not.
    return f"{meeting.held_on:%d.%m.%Y}"


@transaction.atomic
def record_network_meeting(
    *,
    actor,
    case: Case,
    held_on: datetime.date,
    participants: str,
    purpose: str,
    agreements: str = "",
    next_meeting: datetime.date | None = None,
    request=None,
) -> NetworkMeeting:
    """The coordinator (or the visitator) records a network meeting held with the citizen and
    the professionals around them, or one that is planned."""
    case = _lock(case)
    require(actor, Action.NETWORK_MEETING, case)
    _require_state(case, CaseState.IN_TRIAGE, CaseState.ACTIVE)
    data = _clean_meeting(
        case,
        held_on=held_on,
        participants=participants,
        purpose=purpose,
        agreements=agreements,
        next_meeting=next_meeting,
    )
    meeting = NetworkMeeting.objects.create(case=case, recorded_by=actor, **data)
    _save(case)
    _event(case, actor, EventKind.NETWORK_MEETING, summary=_meeting_summary(meeting))
    audit.record(
        user=actor,
        action=AuditAction.CREATE,
        case=case,
        what="network_meeting",
        object_id=meeting.pk,
        request=request,
    )
    return meeting


@transaction.atomic
def update_network_meeting(
    *,
    actor,
    meeting: NetworkMeeting,
    expected_version: int,
    held_on: datetime.date,
    participants: str,
    purpose: str,
    agreements: str = "",
    next_meeting: datetime.date | None = None,
    request=None,
) -> NetworkMeeting:
    """Correct or complete a meeting's record (e.g. the agreements once a planned meeting has
    been held). A save against an older version than the stored one is refused, and the
    stored one is kept."""
    case = _lock(meeting.case)
    require(actor, Action.NETWORK_MEETING, case)
    _require_state(case, CaseState.IN_TRIAGE, CaseState.ACTIVE)
    meeting = NetworkMeeting.objects.select_for_update().get(pk=meeting.pk, case=case)
    if meeting.version != expected_version:
        raise TransitionError(MSG_MEETING_STALE, code="stale")
    data = _clean_meeting(
        case,
        held_on=held_on,
        participants=participants,
        purpose=purpose,
        agreements=agreements,
        next_meeting=next_meeting,
    )
    for name, value in data.items():
        setattr(meeting, name, value)
    meeting.version += 1
    meeting.save(update_fields=[*data, "version", "updated_at"])
    _save(case)
    _event(case, actor, EventKind.NETWORK_MEETING_CHANGED, summary=_meeting_summary(meeting))
    _audit_change(actor, case, "network_meeting", object_id=meeting.pk, request=request)
    return meeting


# The answers an onward referral can get, from each status: the department or actor takes it
# on (accepted) or turns it down (declined, with the reason they gave), and the help is given
# (completed), also without an answer recorded first. Declined and completed are final.
ONWARD_TRANSITIONS = {
    ReferralStatus.SENT: (
        ReferralStatus.ACCEPTED,
        ReferralStatus.DECLINED,
        ReferralStatus.COMPLETED,
    ),
    ReferralStatus.ACCEPTED: (ReferralStatus.COMPLETED,),
}


@transaction.atomic
def refer_onward(
    *, actor, case: Case, unit: Unit | None = None, external: str = "", reason: str, request=None
) -> Referral:
    """The case's coordinator (or the visitator) refers the citizen onward: to a department
    of the municipality (job centre, family counselling, housing ...) or to an actor outside
    it (a crisis centre, victim counselling, a lawyer). The recipient does not use Samvirke;
    the referral records what was asked of whom, and record_onward_outcome what came of it."""
    case = _lock(case)
    require(actor, Action.REFER_ONWARD, case)
    _require_state(case, CaseState.ACTIVE)
    external = external.strip()
    if (unit is None) == (not external):
        raise ValidationError(MSG_ONWARD_ONE_RECIPIENT, code="one_recipient")
    errors = {}
    if unit is not None and unit.organisation_id != case.municipality_id:
        errors["unit"] = ValidationError(MSG_ONWARD_UNIT_ELSEWHERE, code="unit_elsewhere")
    if len(external) > Referral._meta.get_field("to_external").max_length:
        errors["external"] = ValidationError(MSG_ONWARD_EXTERNAL_TOO_LONG, code="max_length")
    if not reason.strip():
        errors["reason"] = ValidationError(MSG_ONWARD_REASON, code="required")
    if errors:
        raise ValidationError(errors)
    referral = Referral.objects.create(
        case=case,
        kind=ReferralKind.TO_UNIT if unit is not None else ReferralKind.TO_EXTERNAL,
        from_user=actor,
        from_organisation=case.municipality,
        to_organisation=case.municipality,
        to_unit=unit,
        to_external=external,
        reason=reason.strip(),
    )
    _save(case)
    # The recipient's name only: what was asked is in the referral, for full access.
    _event(case, actor, EventKind.ONWARD_REFERRED, summary=referral.recipient_name)
    _audit_change(actor, case, "refer_onward", object_id=referral.pk, request=request)
    return referral


@transaction.atomic
def record_onward_outcome(
    *, actor, referral: Referral, status: str, reason: str = "", request=None
) -> Referral:
    """The answer to an onward referral, as the coordinator heard it: taken on (accepted),
    turned down (declined, with the reason), or the help given (completed). The referral is
    found again through its case, under the case's lock."""
    case = _lock(referral.case)
    require(actor, Action.RECORD_ONWARD_OUTCOME, case)
    _require_state(case, CaseState.IN_TRIAGE, CaseState.ACTIVE)
    referral = (
        # The referral's row only: PostgreSQL locks no row of the (outer-joined) unit.
        Referral.objects.select_for_update(of=("self",))
        .select_related("to_unit")
        .filter(case=case, kind__in=ONWARD_KINDS)
        .filter(pk=referral.pk)
        .first()
    )
    if referral is None:
        raise ValidationError(MSG_ONWARD_NOT_ONWARD, code="not_onward")
    if status not in ONWARD_TRANSITIONS.get(referral.status, ()):
        label = dict(ReferralStatus.choices).get(status, status)
        raise TransitionError(
            MSG_ONWARD_TRANSITION,
            code="illegal_transition",
            params={"current": referral.get_status_display(), "status": label},
        )
    if status == ReferralStatus.DECLINED and not reason.strip():
        raise ValidationError({"reason": MSG_REASON_REQUIRED}, code="required")
    referral.status = status
    referral.decline_reason = reason.strip() if status == ReferralStatus.DECLINED else ""
    referral.responded_at = _now()
    referral.responded_by = actor
    referral.save(update_fields=["status", "decline_reason", "responded_at", "responded_by"])
    _save(case)
    summary = f"{referral.recipient_name}: {referral.get_status_display()}"
    _event(case, actor, EventKind.ONWARD_OUTCOME, summary=summary[:500])
    _audit_change(actor, case, f"onward_outcome:{status}", referral.pk, request)
    return referral
