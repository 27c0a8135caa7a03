"""Writing the audit trail. Called by services (changes) and by views (reads)."""

from .access import role_label_for
from .models import AuditAction, AuditEntry, Case


def _client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is set by whoever sends the request. Behind a proxy,
    # the proxy must set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") if request is not None else None


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


def record_read(*, user, case: Case, what: str, request, object_id="", purpose: str = ""):
    """A read of case data. The purpose is the route that gave access at the moment of the
    read; a read through no route (someone outside the case's people) is flagged."""
    from .access import access_route

    route = access_route(user, case)
    return record(
        user=user,
        action=AuditAction.VIEW,
        case=case,
        what=what,
        purpose=purpose or route,
        request=request,
        object_id=object_id,
        flagged=route == "none",
    )
