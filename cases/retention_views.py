"""The administrator's retention pages: which closed cases are past their municipality's
retention period, the confirmation, and the report of each run.

Gated like the data protection officer's pages (cases.audit_views): log in first, then 404
for anyone but staff holding `cases.run_retention` (or superusers), so nobody else learns the
pages exist. The pages show references, dates and closing reasons, never names or CPR, and
link to no case page (an administrator has no access to case contents).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import audit, retention
from .access import only_for
from .models import AuditAction, RetentionOutcome, RetentionRunStatus

PAGE_SIZE = 50


retention_admin_required = only_for(retention.may_run_retention)


class ConfirmForm(forms.Form):
    # The number the administrator saw: if it has changed, they are asked again.
    count = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


def _municipality(pk: int):
    return get_object_or_404(retention.municipalities(), pk=pk)


@retention_admin_required
def overview(request):
    context = {
        "rows": retention.due_per_municipality(),
        "runs": Paginator(retention.runs(), PAGE_SIZE).get_page(request.GET.get("side")),
    }
    return render(request, "retention/overview.html", context)


@retention_admin_required
def municipality(request, pk: int):
    municipality = _municipality(pk)
    page = Paginator(retention.due_cases(municipality), PAGE_SIZE).get_page(request.GET.get("side"))
    audit.record(
        user=request.user,
        action=AuditAction.VIEW,
        what="retention_list",
        object_id=municipality.pk,
        purpose=retention.PURPOSE,
        request=request,
    )
    context = {
        "municipality": municipality,
        "cutoff": retention.cutoff_for(municipality),
        "page": page,
        "runs": retention.runs(municipality)[:5],
    }
    return render(request, "retention/municipality.html", context)


@retention_admin_required
def confirm(request, pk: int):
    """Er du sikker? The count, what happens, that it cannot be undone; a POST confirms."""
    municipality = _municipality(pk)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = retention.confirm_run(
                actor=request.user,
                municipality=municipality,
                expected_count=form.cleaned_data["count"],
                request=request,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Anonymiseringen er sat i gang. Siden her viser, hvor langt den er nået."),
            )
            return redirect("retention:run", pk=run.pk)
    count = retention.due_cases(municipality).count()
    context = {
        "municipality": municipality,
        "count": count,
        "cutoff": retention.cutoff_for(municipality),
        "form": ConfirmForm(initial={"count": count}),
    }
    return render(request, "retention/confirm.html", context)


def _run(pk: int):
    return get_object_or_404(retention.runs(), pk=pk)


@retention_admin_required
def run_detail(request, pk: int):
    run = _run(pk)
    items = run.items.exclude(outcome=RetentionOutcome.ANONYMISED).order_by("pk")
    context = {
        "run": run,
        "not_anonymised": Paginator(items, PAGE_SIZE).get_page(request.GET.get("side")),
        "waiting": max(
            run.case_count - run.cases_anonymised - run.cases_skipped - run.cases_failed, 0
        ),
        "may_restart": run.status != RetentionRunStatus.DONE,
    }
    return render(request, "retention/run.html", context)


@retention_admin_required
@require_POST
def restart(request, pk: int):
    run = _run(pk)
    try:
        retention.restart_run(actor=request.user, run=run, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Kørslen er sat i gang igen."))
    return redirect("retention:run", pk=run.pk)
