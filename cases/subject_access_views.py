"""The citizen's right of access: a page on the case, the JSON download and the PDF order.

Only someone with full access to the case (the municipality's visitator, the case's
coordinator) makes an export; anybody else gets 404, the same answer as for a case they
cannot see. The JSON download is a POST (with CSRF) rather than a link: each one is an
audited disclosure of the whole case, and a POST is never fetched ahead by a browser or a
link checker, nor left in the history as a URL to repeat.

The PDF is ordered (POST) and made by the Celery worker like the tools' documents: a case
with a long incident log takes longer than a web request may. The page then shows it, and
it is fetched through the documents' permission-checked download (audited); the stored file
is deleted after SUBJECT_ACCESS_KEEP_HOURS (48 by default).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from stalkingpakke import documents
from stalkingpakke.models import DocumentKind

from . import audit, selectors, subject_access
from .access import Level, access_route, is_visitator_for, level_for
from .models import AuditAction, Case


def _case(request, reference) -> Case:
    case = selectors.get_case_for(request.user, reference, request=request)
    if level_for(request.user, case) != Level.FULL:
        raise Http404
    return case


@login_required
def page(request, reference):
    """What the export contains, the two buttons and the PDFs ordered. Shows no case data
    but its reference (a PDF's status is read, and audited, through its own poll)."""
    case = _case(request, reference)
    context = {
        "case": case,
        "sections": subject_access.EXPLANATIONS.values(),
        "copies": documents.subject_access_copies(request.user, case)[:5],
        "keep_hours": settings.SUBJECT_ACCESS_KEEP_HOURS,
        # The copy names only the other cases its maker may open (subject_access._collect).
        "complete": is_visitator_for(request.user, case),
    }
    return render(request, "subject_access/page.html", context)


def _download(request, case: Case, *, content: bytes, content_type: str, extension: str):
    audit.record(
        user=request.user,
        action=AuditAction.DOWNLOAD,
        case=case,
        what=f"subject_access:{extension}",
        purpose=access_route(request.user, case),
        request=request,
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=subject_access.filename(case, extension)
    )
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
@require_POST
def order_pdf(request, reference):
    case = _case(request, reference)
    documents.request_document(
        actor=request.user, case=case, kind=DocumentKind.SUBJECT_ACCESS, request=request
    )
    messages.info(
        request, _("PDF'en bliver lavet. Siden viser, når den er klar til at blive hentet.")
    )
    response = redirect("cases:subject_access:page", reference=case.reference)
    response.status_code = 303  # See Other: a reload of the page does not order again
    return response


@login_required
@require_POST
def download_json(request, reference):
    case = _case(request, reference)
    data = subject_access.collect(case, produced_by=request.user)
    return _download(
        request,
        case,
        content=subject_access.to_json(data),
        content_type="application/json; charset=utf-8",
        extension="json",
    )
