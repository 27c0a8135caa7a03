"""Thin views: parse input, call one service or selector, render.

A view that shows data of a case writes its one read entry (audit.record_read) just before it
renders, after the access checks and after a POST that changed something has redirected; a
list of cases writes audit.record_list_read. cases/audit.py says what counts as a read.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cooperation.models import Role, Unit
from cooperation.roles import current_holders, has_role, municipalities_user_can_refer_to
from cooperation.ui import apply_errors, querystring_without

from . import audit, selectors, services
from .access import (
    ASSESSMENT_SCOPE,
    Action,
    Level,
    allowed_actions,
    cases_visible_to,
    hidden_events_for,
    is_visitator_for,
    level_for,
    may,
    may_read_network_meetings,
    referrals_shown_to,
    require_may,
    visible_scopes,
)
from .cpr import reveal
from .forms import (
    HIGH_RISK_LABEL,
    CaseListFilterForm,
    CloseForm,
    ConsentForm,
    DisqualifyForm,
    ForwardForm,
    NetworkMeetingEditForm,
    NetworkMeetingForm,
    NoteForm,
    OnwardOutcomeForm,
    OnwardReferralForm,
    PersonForm,
    QueueFilterForm,
    ReasonForm,
    ReassignForm,
    ReferralForm,
    TriageForm,
)
from .list_search import current_search, forget_search_for_link, remember_search
from .models import ONWARD_KINDS, ConsentPartner, ConsentScope, Referral, Urgency

User = get_user_model()
PAGE_SIZE = 25
MSG_NOT_JOINABLE = gettext_lazy("Sagen kan ikke lægges sammen med den sag.")
MSG_NO_FORWARD_TARGET = gettext_lazy(
    "Ingen anden kommune i Samvirke har en stalkingvisitator lige nu, så henvisningen kan ikke "
    "videresendes her. Afvis den, og skriv, hvor borgeren kan henvises."
)


def _page(request, queryset, *, count: int | None = None):
    paginator = Paginator(queryset, PAGE_SIZE)
    if count is not None:
        paginator.count = count  # known already: spares counting a permission-filtered queryset
    return paginator.get_page(request.GET.get("side"))


def _checklist_form(data=None):
    from stalkingpakke.forms import ToolForm
    from stalkingpakke.models import ToolKind, ToolVersion

    version = ToolVersion.objects.current(ToolKind.CHECKLIST)
    if version is None:
        return None
    return ToolForm(data, kind=ToolKind.CHECKLIST, content=version.content, prefix="tjek")


@login_required
def referral_create(request):
    from stalkingpakke.services import refer_with_checklist

    municipalities = municipalities_user_can_refer_to(request.user).order_by("name")
    if not municipalities.exists():
        raise PermissionDenied
    form = ReferralForm(request.POST or None, municipalities=municipalities)
    checklist = _checklist_form(request.POST or None)
    if request.method == "POST" and form.is_valid() and (checklist is None or checklist.is_valid()):
        try:
            case = refer_with_checklist(
                actor=request.user,
                request=request,
                checklist_answers=checklist.answers() if checklist else {},
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                _("Henvisningen er sendt til stalkingvisitatoren. Sagsnummer: %(ref)s")
                % {"ref": case.reference},
            )
            if case.urgency == Urgency.ACUTE:
                messages.warning(request, _acute_advice(case))
            return redirect("cases:my_referrals")
    return render(request, "cases/referral_form.html", {"form": form, "checklist": checklist})


def _acute_advice(case) -> str:
    """What the referrer of an acute referral does now: the alert has gone, but danger here
    and now is a matter for the police, and the visitator can be called. The municipality's
    fixed number for the function when it has one, the same whatever the case; else the
    visitator and deputy by name, leaving out one disqualified on the person (the referrer
    would be sent to the person who stalks, though leaving them out tells that she has a case)."""
    advice = _(
        "Henvisningen er akut: stalkingvisitatoren og stedfortræderen har fået besked med det "
        "samme, og fristen for visitation er i dag. Er borgeren i fare lige nu, så ring 112."
    )
    if case.municipality.visitation_phone:
        return (
            advice
            + " "
            + _("Ring til stalkingvisitationen: %(phone)s.")
            % {"phone": case.municipality.visitation_phone}
        )
    holders = [
        f"{h.user.get_full_name() or h.user.username}, {h.phone}"
        for h in current_holders(case.municipality_id, Role.VISITATOR).exclude(
            user__disqualifications__case=case
        )
        if h.phone
    ]
    if holders:
        advice += " " + _("Ring til stalkingvisitatoren: %(who)s.") % {"who": "; ".join(holders)}
    return advice


@login_required
def my_referrals(request):
    if not municipalities_user_can_refer_to(request.user).exists():
        raise PermissionDenied
    page = _page(request, selectors.referrals_made_by(request.user))
    return render(request, "cases/my_referrals.html", {"page": page})


def _filters_with_search(form_class, request, list_name):
    """The list's filter form: the filters from the query string, the search words from the
    session (cases.list_search); unbound, and so rendered from cache, when neither is set."""
    data = request.GET.copy()
    data.pop("q", None)
    data.pop("side", None)
    search = current_search(request, list_name)
    if search:
        data["q"] = search
    return form_class(data or None)


@login_required
@require_http_methods(["GET", "POST"])
def triage_dashboard(request):
    if not has_role(request.user, Role.VISITATOR):
        raise PermissionDenied
    if request.method == "POST":
        return remember_search(request, "triage", keep=("state", "urgency", "overdue", "high_risk"))
    if forgotten := forget_search_for_link(request, "triage"):
        return forgotten
    filters = _filters_with_search(QueueFilterForm, request, "triage")
    params = filters.cleaned_data if filters.is_valid() else {}
    queue = selectors.triage_queue(
        request.user,
        state=params.get("state") or None,
        urgency=params.get("urgency"),
        overdue=params.get("overdue", False),
        high_risk=params.get("high_risk", False),
        search=params.get("q", ""),
    )
    counts = selectors.state_counts(request.user)
    known = None if any(params.values()) else selectors.unfiltered_queue_size(counts)
    context = {
        "filters": filters,
        "search": params.get("q", ""),
        "page": _page(request, queue, count=known),
        "counts": counts,
        "waiting": selectors.referrals_waiting_for(request.user)[:10],
        "querystring": querystring_without(request, "side"),
    }
    audit.record_list_read(
        user=request.user, name="triage_dashboard", purpose="visitator", request=request
    )
    return render(request, "cases/triage_dashboard.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def municipality_case_list(request):
    """The visitator's way to every case of the municipality, whatever its state."""
    if not has_role(request.user, Role.VISITATOR):
        raise PermissionDenied
    if request.method == "POST":
        return remember_search(request, "municipality_cases", keep=("state", "high_risk"))
    if forgotten := forget_search_for_link(request, "municipality_cases"):
        return forgotten
    filters = _filters_with_search(CaseListFilterForm, request, "municipality_cases")
    params = filters.cleaned_data if filters.is_valid() else {}
    cases = selectors.municipality_case_list(
        request.user,
        state=params.get("state") or None,
        high_risk=params.get("high_risk", False),
        search=params.get("q", ""),
    )
    context = {
        "filters": filters,
        "search": params.get("q", ""),
        "page": _page(request, cases),
        "querystring": querystring_without(request, "side"),
    }
    audit.record_list_read(
        user=request.user, name="municipality_cases", purpose="visitator", request=request
    )
    return render(request, "cases/municipality_cases.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def my_cases(request):
    if not (has_role(request.user, Role.COORDINATOR) or has_role(request.user, Role.VISITATOR)):
        raise PermissionDenied
    if request.method == "POST":
        return remember_search(request, "my_cases", keep=("lukkede", "high_risk"))
    search = current_search(request, "my_cases")
    include_closed = request.GET.get("lukkede") == "1"
    high_risk = request.GET.get("high_risk") == "1"
    cases = selectors.my_cases(
        request.user, include_closed=include_closed, high_risk=high_risk, search=search
    )
    context = {
        "page": _page(request, cases),
        "search": search,
        "include_closed": include_closed,
        "high_risk": high_risk,
        "high_risk_label": HIGH_RISK_LABEL,
        "waiting": selectors.referrals_waiting_for(request.user)[:10],
        "querystring": querystring_without(request, "side"),
    }
    audit.record_list_read(
        user=request.user, name="my_cases", purpose="responsible", request=request
    )
    return render(request, "cases/my_cases.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def partner_cases(request):
    if not (
        has_role(request.user, Role.POLICE_CONTACT) or has_role(request.user, Role.DSC_ADVISOR)
    ):
        raise PermissionDenied
    if request.method == "POST":
        return remember_search(request, "partner_cases")
    search = current_search(request, "partner_cases")
    context = {
        "page": _page(request, selectors.partner_cases(request.user, search=search)),
        "search": search,
        "waiting": selectors.referrals_waiting_for(request.user)[:10],
        "querystring": querystring_without(request, "side"),
    }
    audit.record_list_read(
        user=request.user,
        name="partner_cases",
        purpose=_partner_purpose(request.user),
        request=request,
    )
    return render(request, "cases/partner_cases.html", context)


def _partner_purpose(user) -> str:
    """The grant routes a shared-cases list is read through (the rows are the user's grants)."""
    routes = [("grant:police", Role.POLICE_CONTACT), ("grant:dsc", Role.DSC_ADVISOR)]
    return ",".join(route for route, role in routes if has_role(user, role))


def _referral_waiting_for(user, referrals):
    """The referral of this case that waits for the user's answer (the newest), if any."""
    waiting = [
        r
        for r in referrals
        if r.to_user_id == user.pk and r.status == "sent" and r.kind != "to_visitator"
    ]
    return max(waiting, key=lambda r: (r.created_at, r.pk), default=None)


@login_required
def case_detail(request, reference):
    case = selectors.get_case_for(request.user, reference, request=request)
    level = level_for(request.user, case)
    if level is None:
        raise Http404
    scopes = visible_scopes(request.user, case)
    hidden = hidden_events_for(level, scopes, visitator=is_visitator_for(request.user, case))
    events = selectors.timeline(case).exclude(kind__in=hidden)
    actions = allowed_actions(request.user, case)
    from stalkingpakke.documents import documents_for, with_outdated

    audit.record_read(user=request.user, case=case, what="case", request=request)
    referrals = list(
        case.referrals.select_related(
            "from_user",
            "from_organisation",
            "to_user",
            "to_organisation",
            "forwarded_as__to_organisation",
            "to_unit",
        )
    )
    # The onward referrals (to a department or an external actor) have their own list, for
    # full access only; partners are never shown them (referrals_shown_to).
    onward = [r for r in referrals if r.is_onward]
    consents = (
        _in_scope_order(case.consents.select_related("recorded_by").order_by("-given_at"))
        if level == Level.FULL
        else None
    )
    context = {
        "case": case,
        "level": level,
        "full": level == Level.FULL,
        "scopes": scopes,
        "actions": {a.value for a in actions},
        "events": events[:200],
        "referrals": referrals_shown_to(level, [r for r in referrals if not r.is_onward]),
        # None: not shown (no full access, or none and none can be made now); else a list.
        "onward_referrals": onward
        if level == Level.FULL and (onward or Action.REFER_ONWARD in actions)
        else None,
        "onward_open": list(services.ONWARD_TRANSITIONS),
        "consents": consents,
        # Police, DSC or both, when the case may be referred to them now (after triage).
        "refer_to": [
            (partner, ConsentPartner(partner).label)
            for partner in ConsentPartner.values
            if Action.REFER_PARTNER in actions
            and not services.partner_referral_problem(partner, consents, referrals)
        ],
        # Next to declining: when the referral may be sent on to another municipality.
        "can_forward": Action.FORWARD in actions and not services.forward_problem(referrals),
        "can_reopen": Action.REOPEN in actions and not services.reopen_problem(referrals),
        "duplicates": selectors.possible_duplicates(case, request.user)[:5]
        if Action.JOIN in actions
        else None,
        "note_form": NoteForm() if Action.ADD_NOTE in actions else None,
        # None: not shared with this reader; a list (maybe empty): shown.
        "meetings": list(
            case.network_meetings.select_related("recorded_by").order_by("-held_on", "-pk")
        )
        if may_read_network_meetings(request.user, case, scopes)
        else None,
        "my_referral": _referral_waiting_for(request.user, referrals),
        "intake": _intake(referrals),
        "risk": _risk_signs(case, scopes),
        **_newest_documents(with_outdated(documents_for(request.user, case))),
    }
    return render(request, "cases/case_detail.html", context)


def _in_scope_order(consents) -> list:
    """Per partner, the kinds of information in the order the consent form asks for them
    (sorted by their codes, they looked shuffled), newest first within each."""
    partners, scopes = list(ConsentPartner.values), list(ConsentScope.values)
    return sorted(consents, key=lambda c: (partners.index(c.partner), scopes.index(c.scope)))


def _risk_signs(case, scopes) -> dict | None:
    """The latest assessment's risk screen, for readers who may see the assessment: high-risk
    signs belong at the top of the case, not only on the assessment's own page."""
    if ASSESSMENT_SCOPE not in scopes:
        return None
    from stalkingpakke.services import latest_form, risk_summary

    assessment = latest_form(case, "assessment")
    return {**risk_summary(assessment), "form": assessment} if assessment else None


def _yes_questions(checklist) -> list[str]:
    """The checklist's questions answered yes, in the words of the version it was filled
    against: the visitator sees which signs were there, not only how many."""
    if checklist is None:
        return []
    from stalkingpakke.forms import ToolForm

    fields = ToolForm(kind="checklist", content=checklist.tool_version.content).fields
    return [
        str(fields[key].label)
        for key, answer in checklist.answers.items()
        if answer == "yes" and key in fields
    ]


def _intake(referrals):
    """The newest referral to the visitator: what the referrer said the situation is."""
    to_visitator = [r for r in referrals if r.kind == "to_visitator"]
    return max(to_visitator, key=lambda r: (r.created_at, r.pk), default=None)


def _newest_documents(documents, keep: int = 20) -> dict:
    """The newest ready PDF of each kind first; earlier editions separately, so a reader
    does not have to work out which of several action plans is the one that holds."""
    newest, earlier, seen = [], [], set()
    for document in documents.filter(status="ready").order_by("-finished_at", "-pk")[:keep]:
        (earlier if document.kind in seen else newest).append(document)
        seen.add(document.kind)
    return {"documents": newest, "earlier_documents": earlier}


@login_required
@require_POST
def reveal_cpr(request, reference):
    """The full CPR number, for someone with full access who asks for it; the read is
    audited on its own ("cpr"), so the trail shows who saw the number, not only the page."""
    case = selectors.get_case_for(request.user, reference, request=request)
    if level_for(request.user, case) != Level.FULL:
        raise PermissionDenied
    audit.record_read(user=request.user, case=case, what="cpr", request=request)
    return render(request, "cases/cpr_revealed.html", {"case": case, "cpr": reveal(case)})


def _case_for_action(request, reference):
    return selectors.get_case_for(request.user, reference, request=request)


@login_required
@require_POST
def start_triage(request, reference):
    case = _case_for_action(request, reference)
    require_may(request.user, Action.START_TRIAGE, case)
    try:
        services.start_triage(actor=request.user, case=case, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        return redirect("cases:triage", reference=case.reference)
    return redirect(case)


@login_required
def triage(request, reference):
    case = _case_for_action(request, reference)
    require_may(request.user, Action.TRIAGE, case)
    coordinators = User.objects.filter(
        pk__in=current_holders(case.municipality_id, Role.COORDINATOR).values("user")
    ).order_by("first_name", "last_name")
    consents = selectors.consents_in_force(case)
    form = TriageForm(
        request.POST or None,
        case=case,
        coordinators=coordinators,
        consents=consents,
        initial={"version": case.version},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.triage(
                actor=request.user,
                case=case,
                expected_version=data.pop("version"),
                request=request,
                **data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Visitationen er gemt."))
            return redirect(case)
    from stalkingpakke.services import checklist_yes_count, latest_form

    checklist = latest_form(case, "checklist")
    context = {
        "case": case,
        "form": form,
        "checklist": checklist,
        "checklist_yes": checklist_yes_count(checklist),
        "checklist_yes_questions": _yes_questions(checklist),
        "intake": _intake(case.referrals.select_related("from_user", "from_organisation")),
        "consents": consents,
    }
    audit.record_read(user=request.user, case=case, what="case_form:triage", request=request)
    return render(request, "cases/triage_form.html", context)


@login_required
@require_POST
def add_note(request, reference):
    case = _case_for_action(request, reference)
    require_may(request.user, Action.ADD_NOTE, case)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(
                actor=request.user, case=case, text=form.cleaned_data["text"], request=request
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Notatet er gemt."))
            # To the timeline, where the new note is first, not the top of a long page.
            return redirect(f"{case.get_absolute_url()}#forloeb")
    audit.record_read(user=request.user, case=case, what="case_form:note", request=request)
    return render(request, "cases/note_form.html", {"case": case, "form": form})


@login_required
def edit_person(request, reference):
    """Correct or bring up to date the person's details: the form, filled in with what the case
    holds (never the CPR number), then the change."""
    case = _case_for_action(request, reference)
    require_may(request.user, Action.EDIT_PERSON, case)
    form = PersonForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.update_person(
                actor=request.user,
                case=case,
                details=form.details(),
                cpr=form.cleaned_data["cpr"],
                remove_cpr=form.cleaned_data.get("remove_cpr", False),
                expected_version=form.cleaned_data["version"],
                request=request,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if changed:
                messages.success(request, _("Oplysningerne om borgeren er gemt."))
            else:
                messages.info(request, _("Du havde ikke ændret noget, så der er ikke gemt noget."))
            return redirect(case)
    audit.record_read(user=request.user, case=case, what="case_form:person", request=request)
    return render(request, "cases/person_form.html", {"case": case, "form": form})


@login_required
def close(request, reference):
    case = _case_for_action(request, reference)
    require_may(request.user, Action.CLOSE, case)
    form = CloseForm(request.POST or None, initial={"version": case.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.close(
                actor=request.user,
                case=case,
                reason=form.cleaned_data["reason"],
                comment=form.cleaned_data["comment"],
                expected_version=form.cleaned_data["version"],
                request=request,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Sagen er lukket."))
            return redirect(case)
    audit.record_read(user=request.user, case=case, what="case_form:close", request=request)
    return render(request, "cases/close_form.html", {"case": case, "form": form})


def _reason_action(request, reference, *, action, service, template, success, what, field="reason"):
    case = _case_for_action(request, reference)
    require_may(request.user, action, case)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            service(
                actor=request.user,
                case=case,
                request=request,
                **{field: form.cleaned_data["reason"]},
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, success)
            return redirect(case)
    audit.record_read(user=request.user, case=case, what=what, request=request)
    return render(request, template, {"case": case, "form": form})


@login_required
def reopen(request, reference):
    return _reason_action(
        request,
        reference,
        action=Action.REOPEN,
        service=services.reopen,
        template="cases/reopen_form.html",
        success=_("Sagen er genåbnet."),
        what="case_form:reopen",
        field="comment",
    )


@login_required
def decline_incoming(request, reference):
    return _reason_action(
        request,
        reference,
        action=Action.DECLINE,
        service=services.decline_incoming,
        template="cases/decline_form.html",
        success=_("Henvisningen er afvist."),
        what="case_form:decline",
    )


@login_required
def forward(request, reference):
    """Forward a misdirected referral to the municipality it belongs to: the form (where and
    why), a confirmation that names the municipality, then the forwarding. The confirmation
    carries the input in hidden fields; "ret" goes back to the form with it."""
    case = _case_for_action(request, reference)
    require_may(request.user, Action.FORWARD, case)
    problem = services.forward_problem(case.referrals.all())
    if problem:
        messages.error(request, problem)
        return redirect(case)
    targets = selectors.forward_targets(case)
    if not targets.exists():
        messages.error(request, MSG_NO_FORWARD_TARGET)
        return redirect(case)
    form = ForwardForm(request.POST or None, municipalities=targets)
    confirming = False
    if request.method == "POST" and form.is_valid():
        municipality = form.cleaned_data["municipality"]
        if "bekraeft" in request.POST:
            try:
                services.forward_to_municipality(
                    actor=request.user,
                    case=case,
                    municipality=municipality,
                    comment=form.cleaned_data["comment"],
                    request=request,
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Henvisningen er videresendt til %(municipality)s, og sagen er lukket her.")
                    % {"municipality": municipality.name},
                )
                return redirect(case)
        else:
            confirming = "ret" not in request.POST
    audit.record_read(user=request.user, case=case, what="case_form:forward", request=request)
    template = "cases/forward_confirm.html" if confirming else "cases/forward_form.html"
    return render(request, template, {"case": case, "form": form})


@login_required
def join_duplicate(request, reference, into):
    case = _case_for_action(request, reference)
    target = _case_for_action(request, into)
    require_may(request.user, Action.JOIN, case)
    # The page shows the target's details too: only a case it may be joined into (the
    # service's own rule), not any case the user happens to read.
    if not (may(request.user, Action.ADD_NOTE, target) and services.joinable(case, target)):
        raise PermissionDenied(MSG_NOT_JOINABLE)
    if request.method == "POST":
        try:
            services.join_duplicate(actor=request.user, case=case, into=target, request=request)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(case)
        messages.success(
            request, _("Henvisningen er lagt ind på sag %(ref)s.") % {"ref": target.reference}
        )
        return redirect(target)
    # The page shows both cases side by side: a read of each, each naming the other.
    audit.record_read(
        user=request.user, case=case, what="case_form:join", object_id=target.pk, request=request
    )
    audit.record_read(
        user=request.user,
        case=target,
        what="case_form:join_target",
        object_id=case.pk,
        request=request,
    )
    return render(request, "cases/join_confirm.html", {"case": case, "target": target})


@login_required
def refer_partner(request, reference, partner):
    """Refer an active case to the police or DSC: a confirmation that says what they will
    read (the citizen's consent), then the referral."""
    case = _case_for_action(request, reference)
    if partner not in ConsentPartner.values:
        raise Http404
    require_may(request.user, Action.REFER_PARTNER, case)
    if request.method == "POST":
        try:  # the service checks the consent and earlier referrals, under the case's lock
            services.refer_to_partner(
                actor=request.user, case=case, partner=partner, request=request
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Sagen er henvist til %(partner)s.") % {"partner": ConsentPartner(partner).label},
            )
        return redirect(case)
    consents = list(case.consents.all())
    problem = services.partner_referral_problem(partner, consents, case.referrals.all())
    if problem:
        messages.error(request, problem)
        return redirect(case)
    scopes = sorted(
        {c.get_scope_display() for c in consents if c.partner == partner and not c.withdrawn_at}
    )
    audit.record_read(
        user=request.user, case=case, what=f"case_form:refer_{partner}", request=request
    )
    organisation = services.partner_organisation(case, partner)
    context = {
        "case": case,
        "partner": organisation.name if organisation else ConsentPartner(partner).label,
        "scopes": scopes,
    }
    return render(request, "cases/refer_partner_confirm.html", context)


@login_required
def consent(request, reference):
    case = _case_for_action(request, reference)
    require_may(request.user, Action.MANAGE_CONSENT, case)
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_consent(
                actor=request.user,
                case=case,
                partner=form.cleaned_data["partner"],
                scopes=form.cleaned_data["scopes"],
                request=request,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Samtykket er registreret."))
            return redirect(case)
    audit.record_read(user=request.user, case=case, what="case_form:consent", request=request)
    consents = selectors.consents_in_force(case)
    return render(
        request, "cases/consent_form.html", {"case": case, "form": form, "consents": consents}
    )


@login_required
def withdraw_consent(request, reference, consent_id):
    case = _case_for_action(request, reference)
    require_may(request.user, Action.MANAGE_CONSENT, case)
    consent = get_object_or_404(case.consents, pk=consent_id, withdrawn_at__isnull=True)
    if request.method == "POST" and "alle" in request.POST:
        # The citizen takes back everything shared with this partner: one step, not one a kind.
        services.withdraw_all_consents(
            actor=request.user, case=case, partner=consent.partner, request=request
        )
        messages.success(
            request,
            _("Alt samtykke til %(partner)s er trukket tilbage.")
            % {"partner": consent.get_partner_display()},
        )
        return redirect(case)
    if request.method == "POST":
        services.withdraw_consent(actor=request.user, consent=consent, request=request)
        messages.success(request, _("Samtykket er trukket tilbage."))
        return redirect(case)
    audit.record_read(
        user=request.user,
        case=case,
        what="case_form:withdraw_consent",
        object_id=consent.pk,
        request=request,
    )
    in_force = case.consents.filter(partner=consent.partner, withdrawn_at__isnull=True)
    context = {"case": case, "consent": consent, "in_force": list(in_force.order_by("pk"))}
    return render(request, "cases/withdraw_consent_confirm.html", context)


@login_required
def disqualify(request, reference):
    case = _case_for_action(request, reference)
    require_may(request.user, Action.DISQUALIFY, case)
    users = selectors.people_who_could_reach(case, besides=request.user)
    form = DisqualifyForm(request.POST or None, users=users, reach=selectors.reach_of(case))
    extra_errors = []
    confirming = False
    if request.method == "POST" and form.is_valid() and "bekraeft" not in request.POST:
        # Cannot be undone here: first say whom it locks out, and of what.
        confirming = "ret" not in request.POST
    elif request.method == "POST" and form.is_valid():
        user = form.cleaned_data["user"]
        try:
            services.disqualify(
                actor=request.user,
                case=case,
                user=user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            # The way out, as a link: hand the case to another coordinator first; or, when
            # the user owns another case of the person, that case, if the actor may see it.
            if user.pk == case.responsible_id and may(request.user, Action.REASSIGN, case):
                url = reverse("cases:reassign", args=[case.reference])
                extra_errors.append({"text": " ".join(error.messages), "href": url})
            elif other := selectors.visible_case(
                request.user, getattr(error, "other_case_id", None)
            ):
                text = _("%(refusal)s Gå til sag %(ref)s.") % {
                    "refusal": " ".join(error.messages),
                    "ref": other.reference,
                }
                extra_errors.append({"text": text, "href": other.get_absolute_url()})
            else:
                apply_errors(form, error)
        else:
            messages.success(request, _("Inhabiliteten er registreret."))
            return redirect(case)
    audit.record_read(user=request.user, case=case, what="case_form:disqualify", request=request)
    context = {"case": case, "form": form, "extra_errors": extra_errors}
    if confirming:
        context["chosen"] = form.fields["user"].label_from_instance(form.cleaned_data["user"])
    template = "cases/disqualify_confirm.html" if confirming else "cases/disqualify_form.html"
    return render(request, template, context)


@login_required
def reassign(request, reference):
    """Hand one active case to another coordinator: the form lists those it can go to (with
    their unit) and says what happens; then the change. A coordinator who hands over their
    own case cannot open it afterwards, so they land on their list of cases."""
    case = _case_for_action(request, reference)
    require_may(request.user, Action.REASSIGN, case)
    holders = list(services.reassign_candidates(case))
    form = ReassignForm(request.POST or None, holders=holders, initial={"version": case.version})
    if request.method == "POST" and form.is_valid():
        to_user = form.cleaned_data["to_user"]
        try:
            services.reassign(
                actor=request.user,
                case=case,
                to_user=to_user,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
                request=request,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            name = to_user.get_full_name() or to_user.username
            if cases_visible_to(request.user).filter(pk=case.pk).exists():
                messages.success(
                    request,
                    _("%(name)s er nu ansvarlig for sagen og har fået besked.") % {"name": name},
                )
                return redirect(case)
            messages.success(
                request,
                _(
                    "Sag %(ref)s er givet videre til %(name)s, som har fået besked. Du har "
                    "ikke længere adgang til sagen."
                )
                % {"ref": case.reference, "name": name},
            )
            return redirect("cases:my_cases")
    audit.record_read(user=request.user, case=case, what="case_form:reassign", request=request)
    context = {
        "case": case,
        "form": form,
        "has_candidates": bool(holders),
        # A visitator (responsible for a case routed only to a partner, or a coordinator too)
        # keeps reading the case by their role.
        "former_keeps_access": case.responsible is not None
        and is_visitator_for(case.responsible, case),
        "own_case": case.responsible_id == request.user.pk,
        "former_is_told": services.former_is_told(request.user, case),
    }
    return render(request, "cases/reassign_form.html", context)


@login_required
def respond_to_referral(request, reference, referral_id):
    case = _case_for_action(request, reference)
    referral = get_object_or_404(
        Referral.objects.filter(case=case, to_user=request.user, status="sent").exclude(
            kind="to_visitator"
        ),
        pk=referral_id,
    )
    form = ReasonForm(request.POST or None)
    if request.method == "POST":
        accept = request.POST.get("svar") == "accept"
        if accept or form.is_valid():
            try:
                services.respond_to_referral(
                    actor=request.user,
                    referral=referral,
                    accept=accept,
                    reason="" if accept else form.cleaned_data["reason"],
                    request=request,
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Henvisningen er modtaget.") if accept else _("Henvisningen er afvist."),
                )
                return redirect(case) if accept else redirect("home")
    audit.record_read(
        user=request.user,
        case=case,
        what="case_form:respond",
        object_id=referral.pk,
        request=request,
    )
    return render(
        request, "cases/respond_form.html", {"case": case, "referral": referral, "form": form}
    )


def _meeting_data(form) -> dict:
    return {
        name: form.cleaned_data[name]
        for name in ("held_on", "participants", "purpose", "agreements", "next_meeting")
    }


@login_required
def network_meeting_create(request, reference):
    case = _case_for_action(request, reference)
    require_may(request.user, Action.NETWORK_MEETING, case)
    form = NetworkMeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_network_meeting(
                actor=request.user, case=case, request=request, **_meeting_data(form)
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Netværksmødet er registreret."))
            return redirect(case)
    audit.record_read(
        user=request.user, case=case, what="case_form:network_meeting", request=request
    )
    return render(
        request, "cases/network_meeting_form.html", {"case": case, "form": form, "meeting": None}
    )


@login_required
def network_meeting_edit(request, reference, meeting_id):
    case = _case_for_action(request, reference)
    require_may(request.user, Action.NETWORK_MEETING, case)
    meeting = get_object_or_404(case.network_meetings, pk=meeting_id)
    initial = {name: getattr(meeting, name) for name in NetworkMeetingForm.base_fields}
    form = NetworkMeetingEditForm(
        request.POST or None, initial=initial | {"version": meeting.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_network_meeting(
                actor=request.user,
                meeting=meeting,
                expected_version=form.cleaned_data["version"],
                request=request,
                **_meeting_data(form),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Netværksmødet er gemt."))
            return redirect(case)
    audit.record_read(
        user=request.user,
        case=case,
        what="case_form:network_meeting",
        object_id=meeting.pk,
        request=request,
    )
    return render(
        request,
        "cases/network_meeting_form.html",
        {"case": case, "form": form, "meeting": meeting},
    )


@login_required
def refer_onward(request, reference):
    """Refer the citizen onward: to a department of the case's municipality or to an external
    actor, with what they are asked to help with."""
    case = _case_for_action(request, reference)
    require_may(request.user, Action.REFER_ONWARD, case)
    units = Unit.objects.filter(organisation_id=case.municipality_id).order_by("name")
    form = OnwardReferralForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.refer_onward(
                actor=request.user,
                case=case,
                reason=form.cleaned_data["reason"],
                request=request,
                **form.recipient_kwargs(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                _("Henvisningen til %(recipient)s er registreret.")
                % {"recipient": referral.recipient_name},
            )
            return redirect(case)
    audit.record_read(user=request.user, case=case, what="case_form:refer_onward", request=request)
    return render(
        request,
        "cases/refer_onward_form.html",
        {"case": case, "form": form, "has_units": units.exists()},
    )


@login_required
def record_onward_outcome(request, reference, referral_id):
    """Record the answer to an onward referral: taken on, turned down (why), or done."""
    case = _case_for_action(request, reference)
    require_may(request.user, Action.RECORD_ONWARD_OUTCOME, case)
    referral = get_object_or_404(
        case.referrals.filter(kind__in=ONWARD_KINDS).select_related("to_unit"), pk=referral_id
    )
    allowed = services.ONWARD_TRANSITIONS.get(referral.status)
    if not allowed:
        messages.info(
            request,
            _("Henvisningen til %(recipient)s har allerede status »%(status)s«.")
            % {"recipient": referral.recipient_name, "status": referral.get_status_display()},
        )
        return redirect(case)
    form = OnwardOutcomeForm(request.POST or None, allowed=allowed)
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.record_onward_outcome(
                actor=request.user,
                referral=referral,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                _("Svaret fra %(recipient)s er registreret: %(status)s.")
                % {"recipient": referral.recipient_name, "status": referral.get_status_display()},
            )
            return redirect(case)
    audit.record_read(
        user=request.user,
        case=case,
        what="case_form:onward_outcome",
        object_id=referral.pk,
        request=request,
    )
    return render(
        request,
        "cases/onward_outcome_form.html",
        {"case": case, "referral": referral, "form": form},
    )
