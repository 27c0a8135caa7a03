"""The one place that decides who may see and do what with a case.

Visibility is rule-based for the visitator (every case of their municipality) and grant-based
for everybody else (django-guardian object permissions, given and taken only by services).
A disqualified (inhabil) user sees nothing of the case, whatever else they hold.
"""

from enum import StrEnum
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cooperation.models import OrganisationKind, Role
from cooperation.roles import has_role, held_roles, organisations_for

from .models import (
    Case,
    CaseState,
    CaseUserObjectPermission,
    Consent,
    ConsentPartner,
    ConsentScope,
    Disqualification,
    EventKind,
    Referral,
    ReferralKind,
    ReferralStatus,
)

MSG_ANONYMISED = gettext_lazy(
    "Sagen er anonymiseret efter kommunens slettefrist og kan ikke ændres."
)
VIEW = "view_case"
CHANGE = "change_case"


class Action(StrEnum):
    START_TRIAGE = "start_triage"
    TRIAGE = "triage"
    JOIN = "join"
    ADD_NOTE = "add_note"
    MANAGE_CONSENT = "manage_consent"
    CLOSE = "close"
    REOPEN = "reopen"
    DISQUALIFY = "disqualify"
    DECLINE = "decline"
    FORWARD = "forward"
    EDIT_PERSON = "edit_person"
    EDIT_TOOLS = "edit_tools"
    NETWORK_MEETING = "network_meeting"
    REFER_PARTNER = "refer_partner"
    REFER_ONWARD = "refer_onward"
    RECORD_ONWARD_OUTCOME = "record_onward_outcome"
    REASSIGN = "reassign"


class Level(StrEnum):
    """How much of a case a user reads: all of it, or what the citizen consented to share."""

    FULL = "full"
    POLICE = "police"
    DSC = "dsc"


# The ids of the case permissions, read once per process. An int in the grant lookups (not a
# join or subquery on auth_permission) lets PostgreSQL estimate a user's grants right and
# halves the work Django does to build a page's case query (bench/README.md). Like Django's
# own content-type cache it holds database constants, not data: permissions change only with
# a migration (or a test's flush), and post_migrate empties it (cases.apps).
_PERMISSION_IDS: dict[str, int] = {}


def _permission_id(codename: str) -> int:
    try:
        return _PERMISSION_IDS[codename]
    except KeyError:
        pk = Permission.objects.get(
            codename=codename, content_type__app_label="cases", content_type__model="case"
        ).pk
        _PERMISSION_IDS[codename] = pk
        return pk


def forget_permission_ids(**kwargs) -> None:
    _PERMISSION_IDS.clear()


def granted_to(user, codename: str):
    """The user's grant of `codename` on the outer query's case (for Exists)."""
    return CaseUserObjectPermission.objects.filter(
        user=user, permission_id=_permission_id(codename), content_object=OuterRef("pk")
    )


def _disqualified_case_ids(user):
    # NOT IN (...) rather than NOT EXISTS: PostgreSQL reads the user's few disqualifications
    # once into a hash instead of probing for each of the thousands of cases a list counts
    # (the triage counts: 1.8 -> 0.9 ms). case_id is never NULL, so NOT IN means NOT EXISTS.
    return Disqualification.objects.filter(user=user).values("case_id")


# A grant counts only while its holder still holds the role it was given for: a coordinator's
# while they are a coordinator in the case's municipality; a police contact's or a DSC
# advisor's while they hold that role in the organisation the case was routed to (a referral
# to their district or to DSC that was not declined). Grants are taken away by services
# (handover, closing, withdrawn consent), but a role can also simply end or move (its valid_to
# passes, a deputy period runs out, an officer moves district, a coordinator moves to DSC)
# with no service run; access ends with it, and a grant left from another role reads nothing.
PARTNER_ROUTES = (
    (Role.POLICE_CONTACT, ReferralKind.TO_POLICE, Level.POLICE),
    (Role.DSC_ADVISOR, ReferralKind.TO_DSC, Level.DSC),
)


def _routed_to(kind: str, organisations: list[int], via: str = "") -> Exists:
    case_id = OuterRef(f"{via[:-2]}_id") if via else OuterRef("pk")
    return Exists(
        Referral.objects.filter(
            case_id=case_id, kind=kind, to_organisation__in=organisations
        ).exclude(status=ReferralStatus.DECLINED)
    )


def _grants_count_in(user, via: str = "") -> Q | None:
    """The cases on which the user's grants count today, or None for none at all. `via`:
    the path to the case from another model (e.g. "case__" for referrals)."""
    scope = None
    coordinator_in = organisations_for(user, Role.COORDINATOR)
    if coordinator_in:
        scope = Q(**{f"{via}municipality__in": coordinator_in})
    for role, kind, _level in PARTNER_ROUTES:
        organisations = organisations_for(user, role)
        if organisations:
            routed = Q(_routed_to(kind, organisations, via))
            scope = routed if scope is None else scope | routed
    return scope


def reachable_through_roles(user, via: str = "") -> Q | None:
    """Cheaper than cases_visible_to where a grant is implied (a referral sent to the user
    comes with one): the cases the user's roles reach today, as visitator or through grants
    that count (no grant lookup); None for none."""
    grants_count = _grants_count_in(user, via)
    visitator_in = organisations_for(user, Role.VISITATOR)
    if not visitator_in:
        return grants_count
    as_visitator = Q(**{f"{via}municipality__in": visitator_in})
    return as_visitator if grants_count is None else as_visitator | grants_count


def cases_visible_to(user):
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Case.objects.none()
    visible = Q(municipality__in=organisations_for(user, Role.VISITATOR))
    grants_count = _grants_count_in(user)
    if grants_count is not None:
        visible |= grants_count & Exists(granted_to(user, VIEW))
    return Case.objects.filter(visible).exclude(pk__in=_disqualified_case_ids(user))


def municipality_cases(user):
    """The cases of the municipalities where the user is visitator: the part of
    cases_visible_to(user) that the triage dashboard shows, without its grant lookup."""
    return Case.objects.filter(municipality__in=organisations_for(user, Role.VISITATOR)).exclude(
        pk__in=_disqualified_case_ids(user)
    )


def with_access_facts(queryset, user):
    """The user's grants on each case as annotations, so that level_for and the action
    checks of a page that shows one case ask no further queries (see remember_access_facts).
    Meant for querysets of cases_visible_to(user): a case there is never one the user is
    disqualified on."""
    return queryset.annotate(
        _granted_view=Exists(granted_to(user, VIEW)),
        _granted_change=Exists(granted_to(user, CHANGE)),
    )


def remember_access_facts(user, case: Case) -> Case:
    case._grant_cache = {
        (user.pk, VIEW): case._granted_view,
        (user.pk, CHANGE): case._granted_change,
    }
    case._disqualified_cache = {user.pk: False}
    return case


def is_visitator_for(user, case: Case) -> bool:
    return has_role(user, Role.VISITATOR, case.municipality_id)


def has_grant(user, case: Case, codename: str) -> bool:
    cache = getattr(case, "_grant_cache", None)
    if cache is None:
        cache = case._grant_cache = {}
    key = (user.pk, codename)
    if key not in cache:
        cache[key] = CaseUserObjectPermission.objects.filter(
            user=user, permission_id=_permission_id(codename), content_object=case
        ).exists()
    return cache[key]


def is_disqualified(user, case: Case) -> bool:
    cache = getattr(case, "_disqualified_cache", None)
    if cache is None:
        cache = case._disqualified_cache = {}
    if user.pk not in cache:
        cache[user.pk] = Disqualification.objects.filter(case=case, user=user).exists()
    return cache[user.pk]


def _coordinates(user, case: Case) -> bool:
    """The user's change grant counts: they are a coordinator in the case's municipality."""
    return has_grant(user, case, CHANGE) and has_role(user, Role.COORDINATOR, case.municipality_id)


def _routed(case: Case, kind: str, organisations: list[int]) -> bool:
    cache = getattr(case, "_routed_cache", None)
    if cache is None:
        cache = case._routed_cache = {}
    key = (kind, tuple(organisations))
    if key not in cache:
        cache[key] = (
            Referral.objects.filter(case=case, kind=kind, to_organisation__in=organisations)
            .exclude(status=ReferralStatus.DECLINED)
            .exists()
        )
    return cache[key]


def _partner_level(user, case: Case) -> Level | None:
    """The partner in which the user's view grant counts (see PARTNER_ROUTES)."""
    if not has_grant(user, case, VIEW):
        return None
    for role, kind, level in PARTNER_ROUTES:
        organisations = organisations_for(user, role)
        if organisations and _routed(case, kind, organisations):
            return level
    return None


def level_for(user, case: Case) -> Level | None:
    """Assumes the case came from cases_visible_to(user)."""
    if is_visitator_for(user, case) or _coordinates(user, case):
        return Level.FULL
    return _partner_level(user, case)


def partner_for_level(level: Level) -> str | None:
    return {Level.POLICE: ConsentPartner.POLICE, Level.DSC: ConsentPartner.DSC}.get(level)


def consented_scopes(case: Case, partner: str) -> set[str]:
    return set(
        case.consents.filter(partner=partner, withdrawn_at__isnull=True).values_list(
            "scope", flat=True
        )
    )


def visible_scopes(user, case: Case) -> set[str]:
    level = level_for(user, case)
    if level == Level.FULL:
        return set(ConsentScope.values)
    partner = partner_for_level(level) if level else None
    return consented_scopes(case, partner) if partner else set()


# The filled-in tools (checklist, assessment, typology) belong to the situation, and so do the
# risk signs drawn from the assessment: police and DSC read them only if the citizen consented
# to share the situation with them (stalkingpakke.views.tool_form). Full access always does.
ASSESSMENT_SCOPE = ConsentScope.SITUATION


def scope_readable(user, scope: str) -> Q | None:
    """`scope in visible_scopes(user, case)` as a condition on the cases of a list, so that a
    page of rows asks no query per row; None where it holds for no case. For querysets of
    cases_visible_to(user) or municipality_cases(user), like visible_scopes (a case the user
    is disqualified on is never among them). The same rule, part for part: full access
    (level_for) reads every scope; otherwise the user's view grant counts through the first
    route of PARTNER_ROUTES the case was routed along (_partner_level), and only that
    partner's consent to the scope, not withdrawn, lets it be read."""
    readable = []
    visitator_in = organisations_for(user, Role.VISITATOR)
    if visitator_in:
        readable.append(Q(municipality__in=visitator_in))
    coordinator_in = organisations_for(user, Role.COORDINATOR)
    if coordinator_in:
        readable.append(Q(municipality__in=coordinator_in) & Q(Exists(granted_to(user, CHANGE))))
    through_partner, earlier_routes = [], Q()
    for role, kind, level in PARTNER_ROUTES:
        organisations = organisations_for(user, role)
        if not organisations:
            continue
        routed = Q(_routed_to(kind, organisations))
        consented = Exists(
            Consent.objects.filter(
                case=OuterRef("pk"),
                partner=partner_for_level(level),
                scope=scope,
                withdrawn_at__isnull=True,
            )
        )
        through_partner.append(earlier_routes & routed & Q(consented))
        earlier_routes &= ~routed
    if through_partner:
        readable.append(Q(Exists(granted_to(user, VIEW))) & _any(through_partner))
    return _any(readable) if readable else None


def _any(conditions: list[Q]) -> Q:
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


# A network meeting's record (who took part, what was discussed and agreed) is part of the
# case's journal: police and DSC read the meetings only if the citizen consented to share the
# journal notes with them. Full access always reads them.
NETWORK_MEETING_SCOPE = ConsentScope.NOTES


def may_read_network_meetings(user, case: Case, scopes: set[str] | None = None) -> bool:
    scopes = visible_scopes(user, case) if scopes is None else scopes
    return NETWORK_MEETING_SCOPE in scopes


# What a partner (police, DSC) reads of the case's timeline: that these events happened, not
# their summary, which is free text written for the case's own people (a reopening's comment,
# a declined referral's reason, why a referral was forwarded), the reference of another case
# of the citizen's, where the case was routed (that the citizen also involved the other
# partner is not theirs), which other municipality a forwarded referral came from or went to
# (where the citizen lives or lived), which of the person's details were corrected (the
# details themselves they read only within the consent), which organisation referred the
# citizen (the police contact's mutual referral is the other partner's business to DSC), or
# which referral was answered ("Til politiet": that the other partner was involved).
SUMMARY_FOR_FULL_ACCESS_ONLY = frozenset(
    {
        EventKind.REOPENED,
        EventKind.REFERRAL_ACCEPTED,
        EventKind.REFERRAL_DECLINED,
        EventKind.MERGED,
        EventKind.ROUTED,
        EventKind.FORWARDED_OUT,
        EventKind.FORWARDED_IN,
        EventKind.PERSON_CHANGED,
        EventKind.REFERRED,
    }
)
# ... and of these not even who: the one who referred or answered a referral may be the other
# partner's contact, and a forwarded referral's sender is the other municipality's visitator.
ACTOR_FOR_FULL_ACCESS_ONLY = frozenset(
    {
        EventKind.REFERRED,
        EventKind.REFERRAL_ACCEPTED,
        EventKind.REFERRAL_DECLINED,
        EventKind.FORWARDED_IN,
    }
)


ONWARD_EVENTS = (EventKind.ONWARD_REFERRED, EventKind.ONWARD_OUTCOME)


def referrals_shown_to(level: Level, referrals: list) -> list:
    """A partner sees the referrals to the visitator and the ones to their own organisation
    kind, not whether the case was also referred to the other partner (by the visitator, or
    by the other partner itself: the police contact's mutual referral, joined to a case DSC
    reads), nor the coordinator's onward referrals (the municipality's own work). Needs each
    referral's from_organisation."""
    if level == Level.FULL:
        return referrals
    own = {Level.POLICE: ReferralKind.TO_POLICE, Level.DSC: ReferralKind.TO_DSC}[level]
    other = {Level.POLICE: OrganisationKind.DSC, Level.DSC: OrganisationKind.POLICE}[level]
    return [
        r
        for r in referrals
        if r.kind == own
        or (r.kind == ReferralKind.TO_VISITATOR and r.from_organisation.kind != other)
    ]


def hidden_events_for(level: Level, scopes: set[str], *, visitator: bool = False) -> list[str]:
    """The timeline events a reader at this level does not see at all.

    That someone was disqualified is the visitator's alone (who marks and answers for it):
    a coordinator who read it could probe for it, correcting the person's name on their own
    case to another person's and watching the marks of her case arrive (fourth red-team
    review). For a partner also handovers (the other partner's contact would be named; who is
    responsible shows on the page), the consents (what the citizen agreed to share with the
    other partner is not theirs to know; what they may read shows on the page itself), the
    onward referrals (which help the citizen was referred to, in the municipality or outside
    it, is not shared with them), and notes and meetings unless the citizen shared the
    journal."""
    if level == Level.FULL:
        return [] if visitator else [EventKind.DISQUALIFIED]
    hidden = [
        EventKind.DISQUALIFIED,
        # A handover names the new holder of a role: of the other partner's too.
        EventKind.HANDOVER,
        EventKind.CONSENT_GIVEN,
        EventKind.CONSENT_WITHDRAWN,
        *ONWARD_EVENTS,
    ]
    if ConsentScope.NOTES not in scopes:
        hidden.append(EventKind.NOTE_ADDED)
    if NETWORK_MEETING_SCOPE not in scopes:
        hidden += [EventKind.NETWORK_MEETING, EventKind.NETWORK_MEETING_CHANGED]
    return hidden


def _is_owner(user, case: Case) -> bool:
    return case.responsible_id == user.pk and _coordinates(user, case)


# Which states allow which action, and who may take it there.
RULES = {
    Action.START_TRIAGE: ({CaseState.REFERRED}, "visitator"),
    Action.TRIAGE: ({CaseState.IN_TRIAGE}, "visitator"),
    Action.JOIN: ({CaseState.REFERRED, CaseState.IN_TRIAGE}, "visitator"),
    Action.ADD_NOTE: ({CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE}, "full"),
    Action.MANAGE_CONSENT: (
        {CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE},
        "full",
    ),
    Action.CLOSE: ({CaseState.ACTIVE}, "owner_or_visitator"),
    Action.REOPEN: ({CaseState.CLOSED}, "owner_or_visitator"),
    Action.DECLINE: ({CaseState.REFERRED, CaseState.IN_TRIAGE}, "visitator"),
    # Forwarding a misdirected referral to the municipality it belongs to: where declining is.
    Action.FORWARD: ({CaseState.REFERRED, CaseState.IN_TRIAGE}, "visitator"),
    Action.EDIT_TOOLS: ({CaseState.IN_TRIAGE, CaseState.ACTIVE}, "full"),
    # Correcting the person's details (a new safe way to reach them): whoever has full access
    # while the case is open, from the first day in the queue.
    Action.EDIT_PERSON: (
        {CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE},
        "full",
    ),
    # Recording and correcting network meetings: the case's people with full access (its
    # coordinator, the municipality's visitator) while the case is being worked on; in triage
    # too, as an acute case may call its network together before it is routed.
    Action.NETWORK_MEETING: ({CaseState.IN_TRIAGE, CaseState.ACTIVE}, "full"),
    # Referring an active case to the police or DSC after triage (within the consent).
    Action.REFER_PARTNER: ({CaseState.ACTIVE}, "owner_or_visitator"),
    # Referring the citizen onward, to a department of the municipality or an external actor,
    # and recording what came of it: the case's people with full access, like notes and
    # network meetings. New referrals only while the case is active; an answer also while it
    # is back in triage (a coordinator who declined the case may have left one open).
    Action.REFER_ONWARD: ({CaseState.ACTIVE}, "full"),
    Action.RECORD_ONWARD_OUTCOME: ({CaseState.IN_TRIAGE, CaseState.ACTIVE}, "full"),
    Action.DISQUALIFY: (
        {CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE, CaseState.CLOSED},
        "visitator",
    ),
    # Handing one case to another coordinator (sick leave, a conflict of interest): the
    # visitator, or the responsible coordinator their own case, once it is past triage. Before
    # that the visitator owns it (another visitator takes it by starting or doing the triage);
    # a closed case goes back to its coordinator, or to the visitator, when it is reopened.
    Action.REASSIGN: ({CaseState.ACTIVE}, "owner_or_visitator"),
}


def _holds(user, case: Case, who: str) -> bool:
    if who == "visitator":
        return is_visitator_for(user, case)
    if who == "full":
        return level_for(user, case) == Level.FULL
    if who == "owner_or_visitator":
        return is_visitator_for(user, case) or _is_owner(user, case)
    raise ValueError(who)


def may(user, action: Action, case: Case) -> bool:
    states, who = RULES[action]
    if case.state not in states or case.merged_into_id or case.anonymised_at:
        return False
    return _holds(user, case, who) and not is_disqualified(user, case)


def allowed_actions(user, case: Case) -> set[Action]:
    return {action for action in Action if may(user, action, case)}


def require(user, action: Action, case: Case) -> None:
    """For services: raise PermissionDenied unless the user holds the role the action needs.
    The state is the service's own check, so an illegal transition gets its own message."""
    _states, who = RULES[action]
    if not _holds(user, case, who) or is_disqualified(user, case):
        raise PermissionDenied(_("Du har ikke adgang til at gøre dette på sagen."))
    if case.anonymised_at:
        # Past its retention period the case holds no personal data and never changes again.
        raise ValidationError(MSG_ANONYMISED, code="anonymised")


def require_may(user, action: Action, case: Case) -> None:
    """For views: the action must be open to this user in the case's current state (403)."""
    if not may(user, action, case):
        raise PermissionDenied(_("Du har ikke adgang til at gøre dette på sagen."))


def access_route(user, case: Case) -> str:
    """Why this user can read this case right now: the purpose written in the audit trail."""
    if is_visitator_for(user, case):
        return "visitator"
    if _is_owner(user, case):
        return "responsible"
    if _coordinates(user, case):
        return "grant:coordinator"
    partner = _partner_level(user, case)
    if partner == Level.POLICE:
        return "grant:police"
    if partner == Level.DSC:
        return "grant:dsc"
    return "none"


def role_label_for(user) -> str:
    roles = held_roles(user)
    return ",".join(sorted({r.role for r in roles}))[:30] if roles else ""


def only_for(may_use):
    """A view decorator for the administrators' pages: log in first, then 404 (the pages do
    not exist) for anyone for whom may_use(user) is false."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not may_use(request.user):
                raise Http404
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator
