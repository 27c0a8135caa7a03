"""Filling in the tools on a case: checklist, assessment, typology and the action plan.

Each save keeps the tool version it was filled against; the action plan keeps a revision per
save; a stale save (someone else saved in between) is refused and the first save is kept.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from cases import audit
from cases.access import Action, require
from cases.models import AuditAction, Case, CaseState

from .models import (
    ActionItem,
    ActionPlan,
    ActionPlanRevision,
    ActionStatus,
    DocumentKind,
    FilledForm,
    ToolKind,
    ToolVersion,
)

MSG_CASE_NOT_OPEN = _("Værktøjerne kan kun ændres, mens sagen er åben.")
MSG_STALE = _("En anden har gemt en nyere udgave, mens du arbejdede. Din ændring er ikke gemt.")
RISK_ANSWERS = {"yes", "no", "unknown"}


def current_tool(kind: str) -> ToolVersion:
    version = ToolVersion.objects.current(kind)
    if version is None:
        raise ValidationError(_("Værktøjet er ikke indlæst. Kontakt administrationen."))
    return version


# Which of a case's forms of one kind is its latest: latest_form, and latest_form_field for lists.
NEWEST_FIRST = ("-created_at", "-pk")


def latest_form(case: Case, kind: str) -> FilledForm | None:
    return (
        case.filled_forms.filter(tool_version__kind=kind)
        .select_related("tool_version")
        .order_by(*NEWEST_FIRST)
        .first()
    )


def latest_form_field(kind: str, field: str) -> Subquery:
    """A field of latest_form(case, kind) for each case of a case queryset (on its "pk"), so
    that a list reads its rows' latest forms in its own query instead of one query a row."""
    return Subquery(
        FilledForm.objects.filter(case=OuterRef("pk"), tool_version__kind=kind)
        .order_by(*NEWEST_FIRST)
        .values(field)[:1]
    )


def _question_keys(content: dict, kind: str) -> set[str]:
    if kind == ToolKind.CHECKLIST:
        return {q["key"] for q in content.get("questions", [])}
    if kind == ToolKind.ASSESSMENT:
        keys = {f["key"] for s in content.get("sections", []) for f in s.get("fields", [])}
        return keys | {f"risk:{r['key']}" for r in content.get("risk_indicators", [])}
    if kind == ToolKind.TYPOLOGY:
        return {"type", "notes"}
    return set()


def risk_summary(form: FilledForm | None) -> dict:
    """Which indicators are answered yes, and which of them are high-risk. Supports the
    professional's judgement; it never decides on its own."""
    if form is None:
        return {"present": [], "high": [], "level": "none", "unknown": 0}
    indicators = form.tool_version.content.get("risk_indicators", [])
    answers = form.answers
    present = [r for r in indicators if answers.get(f"risk:{r['key']}") == "yes"]
    high = [r for r in present if r.get("high_risk")]
    unknown = sum(1 for r in indicators if answers.get(f"risk:{r['key']}") in (None, "unknown"))
    level = "high" if high else "some" if present else "none"
    return {"present": present, "high": high, "level": level, "unknown": unknown}


def is_high_risk(form: FilledForm) -> bool:
    """What FilledForm.high_risk stores: an assessment whose risk_summary is "high"."""
    return form.tool_version.kind == ToolKind.ASSESSMENT and risk_summary(form)["level"] == "high"


def lock_open_case(case: Case, actor) -> Case:
    """Every tool service starts here: the case locked, the actor allowed, the case open.
    The views only offer the tools on an open case; the services must refuse on their own."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    require(actor, Action.EDIT_TOOLS, case)
    if case.state not in (CaseState.IN_TRIAGE, CaseState.ACTIVE):
        raise ValidationError(MSG_CASE_NOT_OPEN, code="closed")
    return case


@transaction.atomic
def save_form(
    *,
    actor,
    case: Case,
    kind: str,
    answers: dict,
    expected_version: int | None = None,
    request=None,
) -> FilledForm:
    """Save a checklist, assessment or typology. Editing an existing form keeps the tool
    version it was first filled against."""
    case = lock_open_case(case, actor)
    if kind not in (ToolKind.CHECKLIST, ToolKind.ASSESSMENT, ToolKind.TYPOLOGY):
        raise ValidationError(_("Ukendt skema."))
    existing = latest_form(case, kind)
    if existing is not None and kind != ToolKind.CHECKLIST:
        form = FilledForm.objects.select_for_update().get(pk=existing.pk)
        if expected_version is not None and form.version != expected_version:
            raise ValidationError(MSG_STALE, code="stale")
    else:
        form = FilledForm(case=case, tool_version=current_tool(kind), created_by=actor)
    allowed = _question_keys(form.tool_version.content, kind)
    unknown = set(answers) - allowed
    if unknown:
        raise ValidationError(_("Ukendte felter i skemaet."), code="unknown_fields")
    for key, value in answers.items():
        if key.startswith("risk:") and value not in RISK_ANSWERS:
            raise ValidationError(_("Svar ja, nej eller ved ikke."), code="risk_answer")
    form.answers = answers
    form.high_risk = is_high_risk(form)
    if form.pk:
        form.version += 1
    form.save()
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        case=case,
        what=f"form:{kind}",
        object_id=form.pk,
        request=request,
    )
    return form


def _contents(*, goals, safety_measures, next_review, items) -> dict:
    """A plan's contents as its revisions keep them (items: who, what, deadline, status)."""
    return {
        "goals": goals,
        "safety_measures": safety_measures,
        "next_review": next_review.isoformat() if next_review else None,
        "items": [
            {
                "who": item["who"],
                "what": item["what"],
                "deadline": item["deadline"].isoformat() if item["deadline"] else None,
                "status": item["status"],
            }
            for item in items
        ],
    }


def _snapshot(plan: ActionPlan) -> dict:
    return _contents(
        goals=plan.goals,
        safety_measures=plan.safety_measures,
        next_review=plan.next_review,
        items=plan.items.values("who", "what", "deadline", "status"),
    )


def action_plan_unchanged(plan: ActionPlan, *, goals, safety_measures, next_review, items) -> bool:
    """Whether saving these would store the plan as it is (save_action_plan's clean-up
    applied): "Gem og lav PDF" then orders the PDF without a version that changes nothing."""
    proposed = _contents(
        goals=goals.strip(),
        safety_measures=safety_measures.strip(),
        next_review=next_review,
        items=[
            {
                "who": item.get("who", "").strip(),
                "what": item.get("what", "").strip(),
                "deadline": item.get("deadline"),
                "status": item.get("status", ActionStatus.NOT_STARTED),
            }
            for item in items
        ],
    )
    return proposed == _snapshot(plan)


@transaction.atomic
def save_action_plan_and_order_pdf(
    *, actor, case: Case, expected_version: int | None, request=None, **contents
) -> tuple[ActionPlan, bool]:
    """ "Gem og lav PDF": the plan saved as save_action_plan does, unless the form holds the
    newest version unchanged, and then its PDF ordered, in one transaction. Returns the plan
    and whether a new version was saved."""
    from . import documents

    plan = ActionPlan.objects.filter(case=case).first()
    saved = not (
        plan is not None
        and plan.version == expected_version
        and action_plan_unchanged(plan, **contents)
    )
    if saved:
        plan = save_action_plan(
            actor=actor,
            case=case,
            expected_version=expected_version,
            request=request,
            **contents,
        )
    documents.request_document(
        actor=actor, case=case, kind=DocumentKind.ACTION_PLAN, request=request
    )
    return plan, saved


@transaction.atomic
def save_action_plan(
    *,
    actor,
    case: Case,
    goals: str,
    safety_measures: str,
    next_review,
    items: list[dict],
    expected_version: int | None = None,
    request=None,
) -> ActionPlan:
    """Replace the plan's contents; the previous contents live on in the revisions."""
    case = lock_open_case(case, actor)
    plan = ActionPlan.objects.select_for_update().filter(case=case).first()
    if plan is None:
        plan = ActionPlan(case=case, tool_version=current_tool(ToolKind.ACTION_PLAN), version=0)
    elif expected_version is not None and plan.version != expected_version:
        raise ValidationError(MSG_STALE, code="stale")
    for item in items:
        if not item.get("who", "").strip() or not item.get("what", "").strip():
            raise ValidationError(_("Hver indsats skal have både hvem og hvad."), code="item")
        if item.get("status", ActionStatus.NOT_STARTED) not in ActionStatus.values:
            raise ValidationError(_("Ukendt status."), code="item_status")
    plan.goals = goals.strip()
    plan.safety_measures = safety_measures.strip()
    plan.next_review = next_review
    plan.version += 1
    plan.save()
    plan.items.all().delete()
    ActionItem.objects.bulk_create(
        ActionItem(
            plan=plan,
            who=item["who"].strip(),
            what=item["what"].strip(),
            deadline=item.get("deadline"),
            status=item.get("status", ActionStatus.NOT_STARTED),
            position=position,
        )
        for position, item in enumerate(items)
    )
    ActionPlanRevision.objects.create(
        plan=plan, number=plan.version, snapshot=_snapshot(plan), created_by=actor
    )
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        case=case,
        what="action_plan",
        object_id=plan.pk,
        request=request,
    )
    return plan


@transaction.atomic
def refer_with_checklist(*, actor, checklist_answers: dict, request=None, **referral) -> Case:
    """The referral, and the "is it stalking?" checklist the first contact filled in with the
    citizen, stored with the new case against the checklist's current version."""
    from cases.services import refer

    case = refer(actor=actor, request=request, **referral)
    if checklist_answers:
        version = current_tool(ToolKind.CHECKLIST)
        allowed = _question_keys(version.content, ToolKind.CHECKLIST)
        if set(checklist_answers) - allowed or set(checklist_answers.values()) - {"yes", "no"}:
            raise ValidationError(_("Ukendte svar i tjeklisten."), code="checklist")
        FilledForm.objects.create(
            case=case, tool_version=version, answers=checklist_answers, created_by=actor
        )
    return case


def checklist_yes_count(form: FilledForm | None) -> int:
    return sum(1 for value in (form.answers if form else {}).values() if value == "yes")
