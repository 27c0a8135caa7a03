"""The data protection officer's pages: search the audit trail, export it, review flagged access.

Only superusers and holders of the permission `cases.view_auditentry` get in; everybody else
gets 404, so they do not learn the pages exist. The pages show the trail, never case contents,
and link nothing personal.
"""

import csv

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from cooperation.ui import DateInput, DkfdsFormMixin, querystring_without

from . import audit, audit_selectors
from .access import only_for
from .audit import AUDIT_PERMISSION
from .audit_labels import purpose_label, what_label
from .models import AuditAction

PAGE_SIZE = 50
# A cell starting with one of these is a formula to Excel or LibreOffice (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def may_read_audit_trail(user) -> bool:
    """Staff only, like the data protection officer's other pages: staff always give the
    second factor, and a permission given to an account without it (directly or through a
    group) would otherwise open the whole trail with a password alone."""
    return (
        user.is_active and user.is_staff and (user.is_superuser or user.has_perm(AUDIT_PERMISSION))
    )


audit_reader_required = only_for(may_read_audit_trail)


class PeriodForm(DkfdsFormMixin, forms.Form):
    date_from = forms.DateField(label=_("Fra dato"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Til dato"), required=False, widget=DateInput())

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError(
                {"date_to": _("Til-datoen skal være samme dag som eller efter fra-datoen.")}
            )
        return data


class AuditSearchForm(PeriodForm):
    person = forms.CharField(
        label=_("Bruger"),
        required=False,
        max_length=150,
        help_text=_("Hele eller en del af brugernavnet."),
    )
    case = forms.CharField(
        label=_("Sagsnummer"),
        required=False,
        max_length=20,
        help_text=_("Hele sagsnummeret: kommunens kode, år og løbenummer, fx ABC-2026-0042."),
    )
    action = forms.ChoiceField(
        label=_("Handling"), required=False, choices=[("", _("Alle")), *AuditAction.choices]
    )
    flagged_only = forms.BooleanField(label=_("Kun markeret til gennemsyn"), required=False)

    field_order = ["person", "case", "action", "date_from", "date_to", "flagged_only"]

    def filters(self) -> audit_selectors.AuditFilters:
        data = self.cleaned_data
        return audit_selectors.AuditFilters(
            person=data["person"].strip(),
            case=data["case"].strip(),
            action=data["action"],
            flagged_only=data["flagged_only"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )


def _page(request, entries, param: str):
    """A page of entries with their codes in words (no queries; the user is joined)."""
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get(param))
    for entry in page.object_list:
        entry.role_labels = audit_selectors.role_labels(entry.role)
        entry.what_label = what_label(entry.what)
        entry.purpose_label = purpose_label(entry.purpose) if entry.purpose else ""
        # The name now; the username is the one the entry was written with.
        entry.full_name = entry.user.get_full_name() if entry.user else ""
    return page


def _record_trail_read(request, what: str, action=AuditAction.VIEW, filters=None):
    """Reading the trail is itself in the trail, with the case and user searched for: who
    looked up when a colleague works, or who handles a case, shows (fifth red-team review)."""
    filters = filters or audit_selectors.AuditFilters()
    audit.record(
        user=request.user,
        action=action,
        what=what,
        case_reference=filters.case[:20].upper(),
        object_id=filters.person[:40],
        purpose="superuser" if request.user.is_superuser else AUDIT_PERMISSION,
        request=request,
    )


@audit_reader_required
def search(request):
    form = AuditSearchForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    filters = form.filters() if form.is_bound and valid else audit_selectors.AuditFilters()
    querystring = querystring_without(request, "side")
    context = {
        "form": form,
        "page": _page(request, audit_selectors.search(filters), "side") if valid else None,
        "querystring": querystring,
        "export_url": reverse("audit:export") + (f"?{querystring}" if querystring else ""),
    }
    response = render(request, "audit/search.html", context)
    if valid:
        # After the page is made: the search is not among its own results.
        _record_trail_read(request, "audit_search", filters=filters)
    return response


def guard_cell(value) -> str:
    """The cell as text, with a leading apostrophe if a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """csv.writer writes into this; each row comes back as a string to stream."""

    def write(self, value):
        return value


EXPORT_HEADER = (
    _("Tidspunkt"),
    _("Bruger"),
    _("Rolle"),
    _("Handling"),
    _("Sagsnummer"),
    _("Hvad"),
    _("Objekt-id"),
    _("Formål"),
    _("Sti"),
    _("IP-adresse"),
    _("Markeret til gennemsyn"),
)


def _export_lines(rows, language: str):
    # The rows are written after the view has returned: keep the request's language.
    with translation.override(language):
        yield from _export_lines_in_language(rows)


def _export_lines_in_language(rows):
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff" + writer.writerow([guard_cell(h) for h in EXPORT_HEADER])
    actions = dict(AuditAction.choices)
    local = timezone.get_current_timezone()
    for created_at, username, role, action, ref, what, obj, purpose, path, ip, flagged in rows:
        cells = (
            timezone.localtime(created_at, local).strftime("%Y-%m-%d %H:%M:%S"),
            username,
            audit_selectors.role_labels(role),
            actions.get(action, action),
            ref,
            what,
            obj,
            purpose,
            path,
            ip,
            _("Ja") if flagged else _("Nej"),
        )
        yield writer.writerow([guard_cell(cell) for cell in cells])


@audit_reader_required
def export(request):
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        # The search page shows what is wrong with the filters.
        return redirect(f"{reverse('audit:search')}?{request.GET.urlencode()}")
    _record_trail_read(request, "audit_export", AuditAction.DOWNLOAD, form.filters())
    response = StreamingHttpResponse(
        _export_lines(audit_selectors.export_rows(form.filters()), translation.get_language()),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="revisionsspor-{stamp}.csv"'
    return response


@audit_reader_required
def review(request):
    """Flagged entries and reads by people outside the case, in a period (last 30 days)."""
    start, end = audit_selectors.default_review_period()
    form = PeriodForm(request.GET or None, initial={"date_from": start, "date_to": end})
    valid = not form.is_bound or form.is_valid()
    if form.is_bound and valid:
        end = form.cleaned_data["date_to"] or end
        start = form.cleaned_data["date_from"] or audit_selectors.default_review_period(end)[0]
    context = {"form": form, "valid": valid, "date_from": start, "date_to": end}
    if valid:
        _record_trail_read(request, "audit_review")
        flagged = audit_selectors.flagged_entries(start, end)
        outsiders = audit_selectors.outsider_reads(start, end)
        context |= {
            "flagged": _page(request, flagged, "side_markeret"),
            "outsiders": _page(request, outsiders, "side_udenfor"),
            "flagged_qs": querystring_without(request, "side_markeret"),
            "outsiders_qs": querystring_without(request, "side_udenfor"),
        }
    return render(request, "audit/review.html", context)
