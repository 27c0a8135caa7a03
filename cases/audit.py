"""Writing the audit trail. Called by services (changes) and by views (reads).

What counts as a read (tests/test_audit_walk.py walks every case URL as every role):

- every response that shows data of one case writes exactly one read entry for that case,
  with the route that gave access as its purpose (record_read): the case page, the tool
  pages, the forms and confirmation pages of the case flow, a PDF or an attachment (as a
  download), the status of a finished PDF (not the polls while it is being made, which
  show nothing of the case), the incident log's chart;
- a form sent back with its errors (a POST that changed nothing) shows the same case data as
  its GET, so it is a read too; a POST that changes something redirects, and the service's
  change entry is its record, not a read;
- a list of cases (triage dashboard, my cases, shared cases) shows the names of many
  citizens: one entry per page shown, without a case (record_list_read); the data protection
  officer's review of outsiders' reads looks at reads of one case only.
"""

from axes.helpers import get_client_ip_address

from .access import role_label_for
from .models import AuditAction, AuditEntry, Case

# Who reads the audit trail (the data protection officers): given by an administrator.
AUDIT_PERMISSION = "cases.view_auditentry"


def _client_ip(request) -> str | None:
    # The address the login lockout counts (django-axes through django-ipware): REMOTE_ADDR,
    # or behind TRUSTED_PROXY_COUNT reverse proxies the address the nearest trusted proxy put
    # in X-Forwarded-For (config/settings.py AXES_IPWARE_*). gunicorn's --forwarded-allow-ips
    # does not change REMOTE_ADDR; it only decides whose scheme headers are believed.
    return get_client_ip_address(request) if request is not None else None


def record(
    *,
    user,
    action: str,
    what: str,
    case: Case | None = None,
    case_reference: str = "",
    object_id="",
    purpose: str = "",
    request=None,
    flagged: bool = False,
) -> AuditEntry:
    return AuditEntry.objects.create(
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "username", "") or "",
        role=role_label_for(user) if getattr(user, "pk", None) else "",
        action=action,
        case=case,
        case_reference=case.reference if case else case_reference,
        what=what,
        object_id=str(object_id or ""),
        purpose=purpose,
        path=request.path[:300] if request is not None else "",
        ip_address=_client_ip(request),
        flagged=flagged,
    )


def record_read(
    *,
    user,
    case: Case,
    what: str,
    request,
    object_id="",
    purpose: str = "",
    action: str = AuditAction.VIEW,
):
    """A read of case data (action VIEW, or DOWNLOAD for a file). The purpose is the route
    that gave access at the moment of the read; a read through no route (someone outside the
    case's people) is flagged."""
    from .access import access_route

    route = access_route(user, case)
    return record(
        user=user,
        action=action,
        case=case,
        what=what,
        purpose=purpose or route,
        request=request,
        object_id=object_id,
        flagged=route == "none",
    )


def record_list_read(*, user, name: str, purpose: str, request):
    """A page of a list of cases: what="list:<name>", no case and no object; the search
    words are not written (they may be a citizen's name), the path is."""
    return record(
        user=user,
        action=AuditAction.VIEW,
        what=f"list:{name}",
        purpose=purpose,
        request=request,
    )
