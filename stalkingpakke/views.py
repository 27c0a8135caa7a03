"""Pages of the stalking package: the tools without a case, and the tools on a case.

Every response that shows data of a case writes its one read entry (audit.record_read, a
download with action DOWNLOAD) just before it is returned; cases/audit.py says what counts.
"""

import base64

from csp.decorators import csp_exempt
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from cases import audit, subject_access
from cases.access import Action, Level, level_for, may, visible_scopes
from cases.models import AuditAction, CaseState, ClosingReason, ConsentScope
from cases.selectors import get_case_for
from cooperation.middleware import not_activity
from cooperation.roles import held_roles

from . import attachments, csv_import, documents, incident_log, services
from .forms import (
    ActionItemFormSet,
    ActionPlanForm,
    AttachmentForm,
    CorrectionForm,
    CsvImportForm,
    IncidentEntryForm,
    ToolForm,
)
from .models import (
    ActionPlan,
    Attachment,
    Behaviour,
    DocumentKind,
    DocumentStatus,
    ToolKind,
    ToolVersion,
)

READABLE_TOOLS = [
    ToolKind.ADVICE,
    ToolKind.CHECKLIST,
    ToolKind.INCIDENT_LOG,
    ToolKind.TYPOLOGY,
    ToolKind.CONVERSATION,
    ToolKind.REFERRAL_LIST,
    ToolKind.ASSESSMENT,
    ToolKind.ACTION_PLAN,
]


def _professional(user):
    if not held_roles(user):
        raise PermissionDenied


@login_required
def package_index(request):
    _professional(request.user)
    tools = [(kind, ToolKind(kind).label) for kind in READABLE_TOOLS]
    return render(request, "stalkingpakke/index.html", {"tools": tools})


@login_required
def tool_page(request, kind):
    _professional(request.user)
    if kind not in READABLE_TOOLS:
        raise Http404
    version = ToolVersion.objects.current(kind)
    if version is None:
        raise Http404
    return render(
        request,
        "stalkingpakke/tool_page.html",
        {
            "kind": kind,
            "version": version,
            "c": version.content,
            "kind_label": ToolKind(kind).label,
        },
    )


def _case(request, reference):
    return get_case_for(request.user, reference, request=request)


def _require_edit(request, case):
    if not may(request.user, Action.EDIT_TOOLS, case):
        raise PermissionDenied


def _read_only_because(user, case, can_edit: bool) -> str | None:
    """Why a reader with full access cannot change the tools now: the case's state, said on
    the tool's page. None when the tools can be changed, and for the partners (police, DSC),
    who only ever read and are told so in their own words."""
    if can_edit or level_for(user, case) != Level.FULL:
        return None
    if case.merged_into_id:
        return _("Sagen er lagt sammen med en anden sag, så værktøjerne kan kun læses her.")
    if case.state == CaseState.CLOSED and case.closing_reason == ClosingReason.TRANSFERRED:
        return _("Sagen er videresendt til en anden kommune, så værktøjerne kan kun læses.")
    if case.state == CaseState.CLOSED:
        return _("Sagen er lukket, så værktøjerne kan kun læses.")
    if case.state == CaseState.REFERRED:
        return _("Værktøjerne kan kun læses, indtil visitationen af sagen er påbegyndt.")
    return None


def _require_scope(request, case, scope):
    if scope not in visible_scopes(request.user, case):
        raise Http404


@login_required
def incident_log_page(request, reference):
    case = _case(request, reference)
    _require_scope(request, case, ConsentScope.INCIDENT_LOG)
    can_edit = may(request.user, Action.EDIT_TOOLS, case)
    form = IncidentEntryForm(request.POST or None, request.FILES or None) if can_edit else None
    if request.method == "POST":
        _require_edit(request, case)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "attachment"}
            refused = None  # the field a refusal belongs to: the attachment's, or the form
            try:
                # One or neither: a refused attachment must not leave the entry saved behind
                # a form that says it failed, or sending it again logs the entry twice.
                with transaction.atomic():
                    entry = incident_log.add_entry(
                        actor=request.user, case=case, data=data, request=request
                    )
                    if form.cleaned_data.get("attachment"):
                        refused = "attachment"
                        attachments.add_attachment(
                            actor=request.user,
                            entry=entry,
                            upload=form.cleaned_data["attachment"],
                            request=request,
                        )
            except ValidationError as error:
                form.add_error(refused, error)
            else:
                messages.success(request, _("Registreringen er gemt i logskemaet."))
                return redirect("stalkingpakke:incident_log", reference=case.reference)
    entries = list(incident_log.current_entries(case))
    audit.record_read(user=request.user, case=case, what="incident_log", request=request)
    version = ToolVersion.objects.current(ToolKind.INCIDENT_LOG)
    context = {
        "case": case,
        "scopes": visible_scopes(request.user, case),
        "entries": entries,
        "form": form,
        "import_form": CsvImportForm() if can_edit else None,
        "chain": incident_log.verify_chain(case),
        "counts": _behaviour_counts(entries),
        "chart": base64.b64encode(timeline_svg(entries).encode()).decode() if entries else "",
        "tool": version.content if version else {},
        "can_edit": can_edit,
        "read_only_because": _read_only_because(request.user, case, can_edit),
        "extra_errors": _file_not_kept(request, form, "attachment"),
        "documents": _documents(
            request.user,
            case,
            DocumentKind.INCIDENT_LOG,
            # The newest entry is never superseded (its correction would be newer), so it is
            # among the current ones.
            shows=_("PDF'en viser logskemaet, som det er gemt: til og med registrering nr. %(n)d.")
            % {"n": max(e.sequence for e in entries)}
            if entries
            else None,
        ),
    }
    return render(request, "stalkingpakke/incident_log.html", context)


def _file_not_kept(request, form, name) -> list[dict]:
    """A form sent back with errors cannot keep the file that was chosen: the browser empties
    the file input. When the file itself was fine (another field was wrong), say so in the
    error summary, with a link to the input. A file refused on its own field is not to be
    chosen again: its error says what to choose instead."""
    upload = request.FILES.get(name)
    if form is None or not form.errors or upload is None or form[name].errors:
        return []
    text = _("%(label)s: Den valgte fil (%(name)s) er ikke gemt. Vælg filen igen, før du gemmer.")
    return [
        {
            "href": f"#{form[name].auto_id}",
            "text": text % {"label": form[name].label, "name": upload.name},
        }
    ]


def timeline_svg(entries) -> str:
    from .chart import timeline_svg as render

    return render(entries)


def _behaviour_counts(entries):
    from .models import Behaviour

    counts = dict.fromkeys(Behaviour.values, 0)
    for entry in entries:
        for behaviour in entry.behaviours:
            counts[behaviour] = counts.get(behaviour, 0) + 1
    return [(Behaviour(key).label, n) for key, n in counts.items() if n]


@login_required
def correct_entry(request, reference, sequence):
    case = _case(request, reference)
    _require_edit(request, case)
    entry = get_object_or_404(case.incidents, sequence=sequence, superseded_by__isnull=True)
    initial = {
        "occurred_at": entry.occurred_at,
        "place": entry.place,
        "what_happened": entry.what_happened,
        "behaviours": entry.behaviours,
        "witnesses": entry.witnesses,
        "evidence": entry.evidence,
        "reported_to_police": entry.reported_to_police,
        "police_journal_number": entry.police_journal_number,
        "effect": entry.effect,
    }
    form = CorrectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("correction_reason")
        try:
            incident_log.correct_entry(
                actor=request.user, entry=entry, data=data, reason=reason, request=request
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Rettelsen er gemt. Den oprindelige registrering bevares."))
            return redirect("stalkingpakke:incident_log", reference=case.reference)
    audit.record_read(
        user=request.user,
        case=case,
        what="incident_log:correct",
        object_id=entry.pk,
        request=request,
    )
    return render(
        request, "stalkingpakke/correct_entry.html", {"case": case, "entry": entry, "form": form}
    )


@login_required
def add_attachment(request, reference, sequence):
    case = _case(request, reference)
    _require_edit(request, case)
    entry = get_object_or_404(case.incidents, sequence=sequence, superseded_by__isnull=True)
    form = AttachmentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            attachments.add_attachment(
                actor=request.user,
                entry=entry,
                upload=form.cleaned_data["file"],
                request=request,
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            messages.success(request, _("Bilaget er gemt."))
            return redirect("stalkingpakke:incident_log", reference=case.reference)
    audit.record_read(
        user=request.user,
        case=case,
        what="incident_log:attach",
        object_id=entry.pk,
        request=request,
    )
    return render(
        request,
        "stalkingpakke/attachment_form.html",
        {
            "case": case,
            "entry": entry,
            "form": form,
            "extra_errors": _file_not_kept(request, form, "file"),
        },
    )


def _open_or_404(stored_file):
    """The stored file, or 404 when it is gone (removed by retention a moment ago, or lost):
    a missing file is not the reader's error and must not answer 500."""
    try:
        return stored_file.open("rb")
    except FileNotFoundError:
        raise Http404 from None


@login_required
def download_attachment(request, reference, attachment_id):
    case = _case(request, reference)
    _require_scope(request, case, ConsentScope.INCIDENT_LOG)
    attachment = get_object_or_404(Attachment, pk=attachment_id, entry__case=case)
    handle = _open_or_404(attachment.file)
    audit.record_read(
        user=request.user,
        action=AuditAction.DOWNLOAD,
        case=case,
        what="attachment",
        object_id=attachment.pk,
        request=request,
    )
    # Always a download, never rendered inline, with the type we checked on upload.
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def import_csv(request, reference):
    """Upload, preview, confirm. The upload saves nothing: a file without errors answers with
    the rows as they will be saved and the file in a hidden field; only the confirming POST
    (that field, checked again like an upload) writes them to the append-only log."""
    case = _case(request, reference)
    _require_edit(request, case)
    if request.method == "POST" and CONFIRM_FIELD in request.POST:
        return _confirm_import(request, case)
    form = CsvImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        raw = form.cleaned_data["file"].read()
        try:
            rows, report = csv_import.parse(raw)
            if not report.errors:
                if not rows:
                    raise ValidationError(MSG_NO_ROWS)
                return _import_preview(request, case, rows, report, raw)
        except ValidationError as error:
            form.add_error("file", error)
    return _import_page(request, case, form, report)


CONFIRM_FIELD = "content"
MSG_NO_ROWS = gettext_lazy("Filen har ingen registreringer.")
LAST_FIELD = "log_last"  # the log's newest entry when the rows were shown


def _expected_last(request) -> int:
    try:
        return int(request.POST.get(LAST_FIELD, ""))
    except ValueError:
        return -1  # no log has it: refused as changed, never imported unchecked


def _import_page(request, case, form, report, extra_errors=()):
    # A report of rows that could not be imported is a form sent back: a read, like its GET.
    audit.record_read(user=request.user, case=case, what="incident_log:import", request=request)
    return render(
        request,
        "stalkingpakke/import_csv.html",
        {
            "case": case,
            "form": form,
            "report": report,
            "extra_errors": list(extra_errors),
            "help": csv_import.help_for_page(),
        },
    )


def _import_preview(request, case, rows, report, raw):
    content = csv_import.for_confirmation(raw)  # may refuse a file too big to carry on
    without_time = set(report.without_time)
    moments = [row["occurred_at"] for row in rows]
    audit.record_read(
        user=request.user,
        case=case,
        what="incident_log:import_preview",
        object_id=len(rows),
        request=request,
    )
    return render(
        request,
        "stalkingpakke/import_preview.html",
        {
            "case": case,
            "rows": [
                {
                    **row,
                    "has_time": index not in without_time,
                    "behaviour_labels": [str(Behaviour(key).label) for key in row["behaviours"]],
                }
                for index, row in enumerate(rows)
            ],
            "first": min(moments),
            "last": max(moments),
            "without_time": len(without_time),
            "confirm_field": CONFIRM_FIELD,
            "content": content,
            "last_field": LAST_FIELD,
            "log_last": incident_log.last_sequence(case),
        },
    )


def _confirm_import(request, case):
    """The confirming POST: the rows are read and checked again from the hidden field."""
    form = CsvImportForm()
    try:
        raw = csv_import.from_confirmation(request.POST.get(CONFIRM_FIELD, ""))
        report = csv_import.import_csv(
            actor=request.user,
            case=case,
            raw=raw,
            expected_last=_expected_last(request),
            request=request,
        )
    except ValidationError as error:
        errors = [{"href": "#id_file", "text": message} for message in error.messages]
        return _import_page(request, case, form, None, errors)
    if not report.ok:
        if not report.errors:
            errors = [{"href": "#id_file", "text": MSG_NO_ROWS}]
            return _import_page(request, case, form, None, errors)
        return _import_page(request, case, form, report)
    messages.success(
        request,
        ngettext(
            "%(n)d registrering er føjet til logskemaet.",
            "%(n)d registreringer er føjet til logskemaet.",
            report.imported,
        )
        % {"n": report.imported},
    )
    return redirect("stalkingpakke:incident_log", reference=case.reference)


@csp_exempt()
@login_required
def timeline_chart(request, reference):
    case = _case(request, reference)
    _require_scope(request, case, ConsentScope.INCIDENT_LOG)
    entries = list(incident_log.current_entries(case))
    audit.record_read(user=request.user, case=case, what="incident_log:chart", request=request)
    return HttpResponse(timeline_svg(entries), content_type="image/svg+xml")


@login_required
def action_plan(request, reference):
    case = _case(request, reference)
    _require_scope(request, case, ConsentScope.ACTION_PLAN)
    plan = ActionPlan.objects.filter(case=case).first()
    can_edit = may(request.user, Action.EDIT_TOOLS, case)
    items = [
        {"who": i.who, "what": i.what, "deadline": i.deadline, "status": i.status}
        for i in (plan.items.all() if plan else [])
    ]
    initial = {
        "version": plan.version if plan else None,
        "goals": plan.goals if plan else "",
        "safety_measures": plan.safety_measures if plan else "",
        "next_review": plan.next_review if plan else None,
    }
    form = formset = None
    if can_edit:
        form = ActionPlanForm(request.POST or None, initial=initial)
        formset = ActionItemFormSet(request.POST or None, initial=items, prefix="items")
        # Both are checked, so that the summary lists the items' errors with the plan's.
        valid = [form.is_valid(), formset.is_valid()]
        if request.method == "POST" and all(valid):
            rows = [f.cleaned_data for f in formset if f.cleaned_data.get("who")]
            try:
                done = _save_action_plan(request, case, form.cleaned_data, rows)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, done)
                return redirect("stalkingpakke:action_plan", reference=case.reference)
    elif request.method == "POST":
        raise PermissionDenied
    audit.record_read(user=request.user, case=case, what="action_plan", request=request)
    version = plan.tool_version if plan else ToolVersion.objects.current(ToolKind.ACTION_PLAN)
    context = {
        "case": case,
        "scopes": visible_scopes(request.user, case),
        "plan": plan,
        "form": form,
        "formset": formset,
        "can_edit": can_edit,
        "read_only_because": _read_only_because(request.user, case, can_edit),
        "extra_errors": _item_errors(formset) if formset is not None and formset.is_bound else [],
        "tool": version.content if version else {},
        "revisions": plan.revisions.select_related("created_by")[:20] if plan else [],
        # The PDF is ordered with the plan's form ("Gem og lav PDF"), so that what was typed
        # is saved first and never silently left out of it.
        "documents": _documents(
            request.user, case, DocumentKind.ACTION_PLAN, with_form=form is not None
        ),
        "pdf_button": PDF_BUTTON,
    }
    return render(request, "stalkingpakke/action_plan.html", context)


PDF_BUTTON = "pdf"  # the name of "Gem og lav PDF" in the action plan's form


def _save_action_plan(request, case, data, rows) -> str:
    """Save the plan, or with "Gem og lav PDF" save it and order its PDF; what to say."""
    contents = {
        "goals": data["goals"],
        "safety_measures": data["safety_measures"],
        "next_review": data["next_review"],
        "items": rows,
        "expected_version": data["version"],
    }
    if PDF_BUTTON not in request.POST:
        services.save_action_plan(actor=request.user, case=case, request=request, **contents)
        return _("Handleplanen er gemt.")
    plan, saved = services.save_action_plan_and_order_pdf(
        actor=request.user, case=case, request=request, **contents
    )
    if saved:
        text = _(
            "Handleplanen er gemt som udgave %(n)d, og PDF'en bliver lavet; siden viser, når "
            "den er klar."
        )
    else:
        text = _(
            "Handleplanen er ikke ændret siden udgave %(n)d. PDF'en bliver lavet; siden viser, "
            "når den er klar."
        )
    return text % {"n": plan.version}


def _item_errors(formset) -> list[dict]:
    """The action items' errors for the summary at the top of the page, each a link to the
    field in its row ("Indsats 4, Hvad: ..."): otherwise the only error is far down the page
    and the plan looks saved."""
    errors = [{"href": "", "text": error} for error in formset.non_form_errors()]
    for number, item in enumerate(formset, start=1):
        for error in item.non_field_errors():
            errors.append(
                {
                    "href": f"#{item['who'].auto_id}",
                    "text": _("Indsats %(n)d: %(error)s") % {"n": number, "error": error},
                }
            )
        for field in item:
            for error in field.errors:
                errors.append(
                    {
                        "href": f"#{field.auto_id}",
                        "text": _("Indsats %(n)d, %(field)s: %(error)s")
                        % {"n": number, "field": field.label, "error": error},
                    }
                )
    return errors


@login_required
def tool_form(request, reference, kind):
    """Checklist, assessment or typology on a case."""
    if kind not in (ToolKind.CHECKLIST, ToolKind.ASSESSMENT, ToolKind.TYPOLOGY):
        raise Http404
    case = _case(request, reference)
    _require_scope(request, case, ConsentScope.SITUATION)
    existing = services.latest_form(case, kind)
    version = existing.tool_version if existing else ToolVersion.objects.current(kind)
    if version is None:
        raise Http404
    can_edit = may(request.user, Action.EDIT_TOOLS, case)
    # The checklist is filled in on the way to the triage decision: the way back to it.
    triage_url = (
        reverse("cases:triage", args=[case.reference])
        if kind == ToolKind.CHECKLIST
        and case.state == CaseState.IN_TRIAGE
        and may(request.user, Action.TRIAGE, case)
        else None
    )
    initial = dict(existing.answers) if existing else {}
    initial["version"] = existing.version if existing else None
    form = ToolForm(
        request.POST if request.method == "POST" else None,
        kind=kind,
        content=version.content,
        initial=initial,
    )
    if request.method == "POST":
        _require_edit(request, case)
        if form.is_valid():
            try:
                services.save_form(
                    actor=request.user,
                    case=case,
                    kind=kind,
                    answers=form.answers(),
                    expected_version=form.cleaned_data.get("version"),
                    request=request,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Skemaet er gemt."))
                if triage_url and request.GET.get("fra") == "visitation":
                    return redirect(triage_url)
                return redirect("stalkingpakke:tool_form", reference=case.reference, kind=kind)
    audit.record_read(user=request.user, case=case, what=f"form:{kind}", request=request)
    context = {
        "case": case,
        "scopes": visible_scopes(request.user, case),
        "form": form,
        "kind": kind,
        "kind_label": ToolKind(kind).label,
        "c": version.content,
        "version": version,
        "existing": existing,
        "can_edit": can_edit,
        "read_only_because": _read_only_because(request.user, case, can_edit),
        "triage_url": triage_url,
        "risk": services.risk_summary(existing) if kind == ToolKind.ASSESSMENT else None,
        "documents": _documents(
            request.user,
            case,
            DocumentKind.ASSESSMENT,
            shows=_saved_version(existing) if can_edit and existing else None,
        )
        if kind == ToolKind.ASSESSMENT
        else None,
    }
    return render(request, "stalkingpakke/tool_form.html", context)


def _saved_version(saved) -> str:
    return _(
        "PDF'en viser den gemte udgave (udgave %(n)d, gemt %(when)s). Ændringer, du ikke har "
        "gemt, kommer ikke med."
    ) % {"n": saved.version, "when": date_format(localtime(saved.updated_at), "j. b Y H:i")}


def _documents(user, case, kind, *, shows=None, with_form=False):
    """The PDFs of a tool for its page. `shows`: what a new PDF will show, said next to
    "Lav PDF" (the page's form may hold what is not saved). `with_form`: the PDF is ordered
    with the page's form instead of a button of its own (the action plan)."""
    if not documents.may_read_document(user, case, kind):
        return None
    items = list(documents.with_outdated(documents.documents_for(user, case).filter(kind=kind))[:5])
    newest = items[0] if items else None
    return {
        "kind": kind,
        "items": items,
        "can_request": may(user, Action.EDIT_TOOLS, case),
        "shows": shows,
        "with_form": with_form,
        # The newest PDF, when it is ready but older than the data: said next to "Lav PDF".
        "outdated": newest if newest and newest.is_outdated else None,
    }


@login_required
@require_POST
def request_document(request, reference, kind):
    case = _case(request, reference)
    _require_edit(request, case)
    if kind not in documents.DOCUMENT_SCOPE:  # the tools' documents; the citizen's copy is
        raise Http404  # ordered on its own page (cases.subject_access_views)
    document = documents.request_document(actor=request.user, case=case, kind=kind, request=request)
    if request.htmx:
        return render(
            request, "stalkingpakke/document_status.html", {"case": case, "document": document}
        )
    messages.info(request, _("Dokumentet bliver lavet. Siden viser, når det er klar."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = case.get_absolute_url()
    return redirect(back)


def _document(request, reference, document_id):
    case = _case(request, reference)
    document = get_object_or_404(case.documents, pk=document_id)
    if not documents.may_read_document(request.user, case, document.kind):
        raise Http404
    return case, document


@not_activity
@login_required
def document_status(request, reference, document_id):
    # Polled every 2 s while the PDF is being made. Those answers say only that it is on its
    # way (its kind and when it was ordered), nothing of the case, so they are not reads:
    # otherwise one PDF would add a dozen "looks" to the citizen's list of who has looked.
    # The answer that shows the finished document (size, hash, download) or its error is.
    case, document = _document(request, reference, document_id)
    if document.status == DocumentStatus.READY:  # what it shows, and whether that is current
        document = documents.with_outdated(case.documents.filter(pk=document.pk)).get()
    if document.status != DocumentStatus.PENDING:
        audit.record_read(
            user=request.user,
            case=case,
            what=f"document_status:{document.kind}",
            object_id=document.pk,
            request=request,
        )
    return render(
        request, "stalkingpakke/document_status.html", {"case": case, "document": document}
    )


@login_required
@require_POST
def retry_document(request, reference, document_id):
    case, document = _document(request, reference, document_id)
    _require_edit(request, case)
    try:
        document = documents.retry_document(actor=request.user, document=document, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    if request.htmx:
        return render(
            request, "stalkingpakke/document_status.html", {"case": case, "document": document}
        )
    return redirect(case)


@login_required
def download_document(request, reference, document_id):
    case, document = _document(request, reference, document_id)
    if document.status != DocumentStatus.READY:
        raise Http404
    handle = _open_or_404(document.file)
    audit.record_read(
        user=request.user,
        action=AuditAction.DOWNLOAD,
        case=case,
        what=f"document:{document.kind}",
        object_id=document.pk,
        request=request,
    )
    if document.kind == DocumentKind.SUBJECT_ACCESS:
        filename = subject_access.filename(case, "pdf")  # reference and day, never a name
    else:
        filename = f"{case.reference}-{document.kind}.pdf"
    return FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type="application/pdf",
    )
