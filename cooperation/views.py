from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cases import statistics as case_statistics

from .models import Organisation, OrganisationKind, Role, RoleAssignment
from .roles import held_roles, organisations_for, primary_role

START_PAGES = {
    Role.VISITATOR: "cases:triage_dashboard",
    Role.COORDINATOR: "cases:my_cases",
    Role.POLICE_CONTACT: "cases:partner_cases",
    Role.DSC_ADVISOR: "cases:partner_cases",
    Role.FIRST_CONTACT: "cases:my_referrals",
    Role.FOLLOW_UP: "statistics",
}


@login_required
def home(request):
    role = primary_role(request.user)
    if role is None:
        return render(request, "cooperation/no_role.html")
    return redirect(START_PAGES[role])


@login_required
@require_POST
def keepalive(request):
    """The idle warning's "Forbliv logget ind" (static/js/samvirke.js): a request like any
    other, so the session limits count it as activity; the absolute limit still holds. It
    shows nothing of any case, so there is nothing to audit."""
    return HttpResponse(status=204)


def _directory_organisations(user):
    """The user's own organisations; for a municipality its police district and DSC; for a
    police district its municipalities; for DSC (national) the municipalities of the cases
    it reads, so an advisor can reach the visitator and coordinator of each."""
    from cases.access import cases_visible_to

    # Whoever keeps the role assignments in the admin reads them all there already: the
    # directory shows them every organisation, so they can check what the others see.
    if user.has_perm("cooperation.view_roleassignment"):
        return Organisation.objects.order_by("kind", "name")
    roles = held_roles(user)
    own = {r.organisation_id for r in roles}
    related = (
        Q(pk__in=own)
        | Q(municipalities__in=own)
        | Q(police_district__in=own)
        | Q(kind=OrganisationKind.DSC)
    )
    if any(r.organisation_kind == OrganisationKind.DSC for r in roles):
        related |= Q(pk__in=cases_visible_to(user).values("municipality"))
    return Organisation.objects.filter(related).distinct().order_by("kind", "name")


@login_required
def directory(request):
    organisations = list(_directory_organisations(request.user))
    assignments = (
        RoleAssignment.objects.current()
        .filter(organisation__in=organisations, user__is_active=True)
        .exclude(role=Role.FIRST_CONTACT)
        .select_related("user", "organisation", "unit")
        .order_by("organisation__kind", "organisation__name", "role", "is_deputy")
    )
    by_org = {org.pk: {"organisation": org, "assignments": []} for org in organisations}
    for assignment in assignments:
        by_org[assignment.organisation_id]["assignments"].append(assignment)
    return render(request, "cooperation/directory.html", {"groups": list(by_org.values())})


def accessibility_statement(request):
    return render(request, "cooperation/accessibility.html")


@login_required
def statistics(request):
    """Anonymous figures for the follow-up group: counts only, never a person or a case."""
    own = organisations_for(request.user, Role.FOLLOW_UP)
    if not own:
        raise PermissionDenied
    municipalities = Organisation.objects.filter(pk__in=own).order_by("name")
    chosen = _int_param(request, "kommune", default=None)
    if chosen not in own:
        chosen = None  # all of the user's municipalities; never another one
    months = _int_param(request, "maaneder", default=12)
    if months not in case_statistics.PERIODS:
        months = 12
    context = {
        "figures": case_statistics.figures([chosen] if chosen else own, months=months),
        "municipalities": municipalities,
        "chosen": chosen,
        "months": months,
        "periods": case_statistics.PERIODS,
        "small": case_statistics.SMALL,
        "share_min": case_statistics.SHARE_MIN,
    }
    return render(request, "cooperation/statistics.html", context)


def _int_param(request, name: str, *, default):
    try:
        return int(request.GET.get(name, ""))
    except ValueError:
        return default
