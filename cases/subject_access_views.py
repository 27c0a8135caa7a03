"""The citizen's right of access: a page on the case and the two downloads (PDF, JSON).

Only someone with full access to the case (the municipality's visitator, the case's
coordinator) makes an export; anybody else gets 404, the same answer as for a case they
cannot see. The downloads are POST (with CSRF) rather than links: each one is an audited
disclosure of the whole case, and a POST is never fetched ahead by a browser or a link
checker, nor left in the history as a URL to repeat.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from . import audit, selectors, subject_access
from .access import Level, access_route, level_for
from .models import AuditAction, Case


def _case(request, reference) -> Case:
    case = selectors.get_case_for(request.user, reference, request=request)
    if level_for(request.user, case) != Level.FULL:
        raise Http404
    return case


@login_required
def page(request, reference):
    """What the export contains, and the two buttons. Shows no case data but its reference."""
    case = _case(request, reference)
    return render(
        request,
        "subject_access/page.html",
        {"case": case, "sections": subject_access.EXPLANATIONS.values()},
    )


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
def download_pdf(request, reference):
    case = _case(request, reference)
    data = subject_access.collect(case, produced_by=request.user)
    # Made in the request on purpose (rare, must be current, no stored copy): see to_pdf.
    content = subject_access.to_pdf(data)
    return _download(
        request, case, content=content, content_type="application/pdf", extension="pdf"
    )


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
