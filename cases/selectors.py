"""Reading queries that depend on who asks. Views fetch every case through here."""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils import timezone

from cooperation.models import Organisation, OrganisationKind, Role, RoleAssignment
from cooperation.roles import has_role, held_roles

from . import audit
from .access import (
    ASSESSMENT_SCOPE,
    VIEW,
    cases_visible_to,
    granted_to,
    municipality_cases,
    reachable_through_roles,
    remember_access_facts,
    scope_readable,
    with_access_facts,
)
from .cpr import cpr_index, normalise_cpr
from .models import (
    AuditAction,
    Case,
    CaseState,
    Consent,
    ConsentPartner,
    ConsentScope,
    Disqualification,
    Referral,
    ReferralKind,
)
from .text_search import Folded, name_matches

OPEN_TRIAGE_STATES = (CaseState.REFERRED, CaseState.IN_TRIAGE)


def visible_case(user, case_id: int | None) -> Case | None:
    """The case with this id if the user may see it, else None: for naming a case the user
    did not ask for (a refusal pointing to another case of the person), never one they may
    not know exists."""
    if case_id is None:
        return None
    return cases_visible_to(user).filter(pk=case_id).only("pk", "reference").first()


def get_case_for(user, reference: str, *, request=None) -> Case:
    """The case if the user may see it; otherwise 404, with a disqualified user's attempt
    recorded and flagged for the data protection officer."""
    try:
        case = with_access_facts(
            cases_visible_to(user).select_related("municipality", "responsible"), user
        ).get(reference=reference)
    except Case.DoesNotExist:
        blocked = Disqualification.objects.filter(
            case__reference=reference, user_id=getattr(user, "pk", None)
        ).select_related("case")
        for disqualification in blocked:
            audit.record(
                user=user,
                action=AuditAction.DENIED,
                case=disqualification.case,
                what="case",
                purpose="disqualified",
                request=request,
                flagged=True,
            )
        raise Http404 from None
    return remember_access_facts(user, case)


def _duplicate_exists(user):
    # NULLIF: a case without CPR matches nothing on CPR (not every other blank one); Folded:
    # LOWER on PostgreSQL, the expression of the case_name_birth index, so both its columns
    # are used (and Æ, Ø, Å lowercased on SQLite too).
    same_cpr = Q(cpr_index=NullIf(OuterRef("cpr_index"), Value("")))
    same_person = Q(name_lower=Folded(OuterRef("full_name"))) & Q(birth_date=OuterRef("birth_date"))
    return Exists(
        Case.objects.alias(name_lower=Folded("full_name"))
        .filter(same_cpr | same_person, municipality=OuterRef("municipality"))
        .exclude(pk=OuterRef("pk"))
        .exclude(state=CaseState.CLOSED, closing_reason="merged")
        .exclude(disqualifications__user=user)
    )


# What the rows of the lists show (cases.templatetags.case_ui: queue_row, case_row): fetching
# only these halves the time Django spends building each row.
QUEUE_ROW_FIELDS = ("reference", "full_name", "urgency", "received_at", "triage_deadline", "state")
CASE_ROW_FIELDS = (
    "reference",
    "full_name",
    "anonymised_at",
    "received_at",
    "state",
    "municipality__name",
)


def _high_risk(user):
    """Whether each row's latest assessment shows high-risk signs answered yes, where the user
    may read the assessment by the rule of the case page's risk banner (cases.views._risk_signs);
    False elsewhere. A column of the list's own query: the lists mark and filter by it."""
    from stalkingpakke.models import ToolKind
    from stalkingpakke.services import latest_form_field

    readable = scope_readable(user, ASSESSMENT_SCOPE)
    if readable is None:
        return Value(False)
    return models.Case(
        When(readable, then=Coalesce(latest_form_field(ToolKind.ASSESSMENT, "high_risk"), False)),
        default=False,
        output_field=models.BooleanField(),
    )


def _matching(search: str) -> Q:
    """A list's search: part of the reference, every word somewhere in the name, or the whole
    CPR number (found through its blind index; the number itself is never compared or stored
    in clear)."""
    found = Q(reference__icontains=search.strip()) | name_matches("full_name", search)
    try:
        digits = normalise_cpr(search)
    except ValidationError:
        return found
    return found | Q(cpr_index=cpr_index(digits))


def unfiltered_queue_size(counts: dict[str, int]) -> int:
    """The length of triage_queue(user) without filters, from state_counts(user)."""
    return counts["referred"] + counts["in_triage"]


def _coordinator_answer():
    """The status of the case's latest referral to a coordinator (none: never routed to one):
    "declined" on a case back in triage says the coordinator turned it down, and the
    visitator must find another."""
    return Subquery(
        Referral.objects.filter(case=OuterRef("pk"), kind=ReferralKind.TO_COORDINATOR)
        .order_by("-created_at", "-pk")
        .values("status")[:1]
    )


def triage_queue(user, *, state=None, urgency=None, overdue=False, high_risk=False, search=""):
    cases = (
        municipality_cases(user)
        .filter(state__in=OPEN_TRIAGE_STATES)
        .only(*QUEUE_ROW_FIELDS)
        .annotate(
            possible_duplicate=_duplicate_exists(user),
            high_risk=_high_risk(user),
            coordinator_answer=_coordinator_answer(),
        )
    )
    if state in OPEN_TRIAGE_STATES:
        cases = cases.filter(state=state)
    if urgency:
        cases = cases.filter(urgency=urgency)
    if overdue:
        cases = cases.filter(triage_deadline__lt=timezone.localdate())
    if high_risk:
        cases = cases.filter(high_risk=True)
    if search:
        cases = cases.filter(_matching(search))
    return cases.order_by("-urgency", "triage_deadline", "received_at")


def state_counts(user) -> dict[str, int]:
    today = timezone.localdate()
    counted = (CaseState.REFERRED, CaseState.IN_TRIAGE, CaseState.ACTIVE)
    # The same cases as triage_queue, so that referred + in_triage is exactly the size of the
    # unfiltered queue and the dashboard's paginator need not count it again.
    return (
        municipality_cases(user)
        .filter(state__in=counted)
        .aggregate(
            referred=Count("pk", filter=Q(state=CaseState.REFERRED)),
            in_triage=Count("pk", filter=Q(state=CaseState.IN_TRIAGE)),
            active=Count("pk", filter=Q(state=CaseState.ACTIVE)),
            overdue=Count("pk", filter=Q(state__in=OPEN_TRIAGE_STATES, triage_deadline__lt=today)),
        )
    )


def looks_like(*, full_name: str, birth_date, cpr_index: str, other_cpr_too=False) -> Q:
    """The cases that look like the same person: the same CPR number, or the same name and
    birth date; none when neither a CPR number nor a birth date is known. Two different CPR
    numbers are two people: such a look-alike counts only with `other_cpr_too` (the hints a
    visitator reads and judges, like the dashboard's duplicate mark), never where the rule
    acts by itself (services._persons_cases). For a queryset with the alias
    name_lower=Folded("full_name")."""
    # Folded on both sides, as the dashboard's duplicate mark compares.
    query = Q(pk__in=[])
    if birth_date:
        same_name = Q(name_lower=Folded(Value(full_name)), birth_date=birth_date)
        query |= same_name if other_cpr_too or not cpr_index else same_name & Q(cpr_index="")
    if cpr_index:
        query |= Q(cpr_index=cpr_index)
    return query


def possible_duplicates(case: Case, user):
    """Other cases of the same person that the user may see."""
    person = looks_like(
        full_name=case.full_name,
        birth_date=case.birth_date,
        cpr_index=case.cpr_index,
        other_cpr_too=True,
    )
    return (
        cases_visible_to(user)
        .alias(name_lower=Folded("full_name"))
        .filter(person, municipality=case.municipality_id)
        .exclude(pk=case.pk)
        .exclude(closing_reason="merged")
        .order_by("-received_at")
    )


def my_cases(user, *, include_closed=False, high_risk=False, search=""):
    cases = (
        cases_visible_to(user)
        .filter(responsible=user)
        .select_related("municipality")
        .only(*CASE_ROW_FIELDS)
        .annotate(high_risk=_high_risk(user))
    )
    if not include_closed:
        cases = cases.exclude(state=CaseState.CLOSED)
    if high_risk:
        cases = cases.filter(high_risk=True)
    if search:
        cases = cases.filter(_matching(search))
    return cases.order_by("state", "-received_at")


def municipality_case_list(user, *, state=None, high_risk=False, search=""):
    """Every case of the municipalities where the user is visitator, in any state: the
    visitator finds a case that has left the queue (a citizen calling back, a closed case)."""
    cases = (
        municipality_cases(user)
        .select_related("municipality")
        .only(*CASE_ROW_FIELDS)
        .annotate(high_risk=_high_risk(user))
    )
    if state in CaseState.values:
        cases = cases.filter(state=state)
    if high_risk:
        cases = cases.filter(high_risk=True)
    if search:
        cases = cases.filter(_matching(search))
    return cases.order_by("-received_at", "-pk")


def partner_cases(user, *, search=""):
    """Cases shared with a police contact or a DSC advisor through a grant. `name_shared`:
    the citizen consented to share their name and contact with this partner, so the list may
    show the name and be searched by it."""
    granted = granted_to(user, VIEW)
    partner = ConsentPartner.POLICE if has_role(user, Role.POLICE_CONTACT) else ConsentPartner.DSC
    name_shared = Exists(
        Consent.objects.filter(
            case=OuterRef("pk"),
            partner=partner,
            scope=ConsentScope.CONTACT,
            withdrawn_at__isnull=True,
        )
    )
    cases = (
        cases_visible_to(user)
        .filter(Exists(granted))
        .annotate(name_shared=name_shared, high_risk=_high_risk(user))
        .select_related("municipality")
        .only(*CASE_ROW_FIELDS)
        .order_by("-received_at")
    )
    if search:
        cases = cases.filter(
            Q(reference__icontains=search.strip())
            | (name_matches("full_name", search) & Q(name_shared=True))
        )
    return cases


def consents_in_force(case):
    """The case's consents not withdrawn, by partner and kind (the forms that list them)."""
    return case.consents.filter(withdrawn_at__isnull=True).order_by("partner", "scope")


def _first_mark_of(user, case_field: str):
    """When the user was first disqualified on the case in `case_field` (none: never)."""
    marks = Disqualification.objects.filter(case_id=OuterRef(case_field), user=user)
    return Subquery(marks.order_by("created_at").values("created_at")[:1])


def referrals_made_by(user):
    """The referrals the user made in a role they hold today: one who moved to another police
    district or municipality no longer follows the citizens of the old one (access follows
    roles).

    A referral to the visitator is listed for good: its referrer (a first contact, the
    police) never reads the case, only the status. Any other (a routing, a handover, an
    onward referral) is listed only while the user may see its case: a coordinator whose
    case went to another must not follow it here (its status, a decline's reason).

    A user disqualified on the case does not read an answer given after the mark
    (`answer_hidden`): the row goes through the steps every referral takes, without how it
    ended (Referral.status_while_marked), and a referral forwarded on their behalf after it
    is not listed (it names where the person went). A row that vanished, stopped at "Sendt"
    or read unlike their other referrals would tell the person who stalks that she is marked,
    so that the person has a case (a new case inherits her marks)."""
    organisations = {held.organisation_id for held in held_roles(user)}
    marked_at = _first_mark_of(user, "case_id")
    followed = Q(kind=ReferralKind.TO_VISITATOR) | Q(case__in=cases_visible_to(user).values("pk"))
    return (
        Referral.objects.filter(followed, from_user=user, from_organisation__in=organisations)
        .annotate(
            marked_at=marked_at,
            answer_hidden=ExpressionWrapper(
                Q(marked_at__isnull=False)
                & (Q(responded_at__isnull=True) | Q(responded_at__gt=F("marked_at"))),
                output_field=BooleanField(),
            ),
            # Unknown (no forwarding, no mark) is no: NOT NULL would drop every other row.
            forwarded_after_mark=Coalesce(
                ExpressionWrapper(
                    Q(
                        forwarded_from__responded_at__gt=_first_mark_of(
                            user, "forwarded_from__case_id"
                        )
                    ),
                    output_field=BooleanField(),
                ),
                Value(False),
            ),
        )
        .exclude(forwarded_after_mark=True)
        .select_related("case", "to_organisation", "to_unit", "forwarded_as__to_organisation")
        .only(
            "pk",
            "status",
            "decline_reason",
            "created_at",
            "responded_at",
            "kind",
            # An onward referral's department or external actor (Referral.recipient_name).
            "to_unit__name",
            "to_external",
            "case__reference",
            "case__state",
            # The name as it was when they referred, so they can tell their referrals apart;
            # never a later correction (Referral.person_name).
            "person_name",
            "case_reference",
            "case__anonymised_at",
            "to_organisation__name",
            # Where a forwarded referral went (its new referral is in the list too).
            "forwarded_as__to_organisation__name",
        )
        .order_by("-created_at")
    )


def referrals_waiting_for(user):
    # Only cases the user can open: not one they are disqualified on, nor one in a
    # municipality their roles no longer reach (a role that ended or moved; cases.access).
    reachable = reachable_through_roles(user, via="case__")
    if reachable is None:
        return Referral.objects.none()
    return (
        Referral.objects.filter(reachable, to_user=user, status="sent")
        .exclude(kind="to_visitator")
        .exclude(case__disqualifications__user=user)
        .select_related("case")
        # Only what the lists' "waiting for you" box shows (cases/waiting_referrals.html), not
        # every column of up to ten cases on every list page.
        .only("pk", "kind", "status", "created_at", "case__reference")
        .order_by("-created_at")
    )


def forward_targets(case: Case):
    """Where the visitator can forward the case's referral: the other municipalities that have
    a visitator today (services.forward_to_municipality checks it again)."""
    with_visitator = RoleAssignment.objects.current().filter(
        role=Role.VISITATOR, user__is_active=True
    )
    return (
        Organisation.objects.filter(
            kind=OrganisationKind.MUNICIPALITY, pk__in=with_visitator.values("organisation_id")
        )
        .exclude(pk=case.municipality_id)
        .order_by("name")
    )


def timeline(case: Case):
    return case.events.select_related("actor", "note").order_by("-created_at", "-id")


def _roles_that_could_reach(case: Case):
    """The role assignments, today's or from a later date, in the case's municipality, its
    police district or DSC (the only ones the case can ever be shared with); not the follow-up
    group's, who read statistics, never a case."""
    organisations = Organisation.objects.filter(
        Q(pk=case.municipality_id)
        | Q(pk=case.municipality.police_district_id)
        | Q(kind=OrganisationKind.DSC)
    )
    # Today's roles and those yet to start: a known stalker about to take up a role there must
    # be disqualified before their first day.
    return (
        RoleAssignment.objects.not_ended()
        .filter(organisation__in=organisations)
        .exclude(role=Role.FOLLOW_UP)
    )


def people_who_could_reach(case: Case, *, besides):
    """Whom a disqualification is for: the active users holding a role that could reach the
    case, not already disqualified on it; not `besides` (the visitator registering it)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, pk__in=_roles_that_could_reach(case).values("user_id"))
        .exclude(pk=besides.pk)
        .exclude(disqualifications__case=case)
        .order_by("first_name", "last_name", "username")
    )


def reach_of(case: Case) -> dict[int, list[str]]:
    """Per user, their roles that could reach the case as "role, organisation": what the
    disqualification's choice names them by (a username alone hides who is locked out)."""
    reach = defaultdict(list)
    assignments = (
        _roles_that_could_reach(case)
        .select_related("organisation")
        .order_by("role", "organisation__name")
    )
    for assignment in assignments:
        label = f"{assignment.get_role_display()}, {assignment.organisation.name}"
        if label not in reach[assignment.user_id]:
            reach[assignment.user_id].append(label)
    return reach
