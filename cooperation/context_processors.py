from django.conf import settings

from cases.retention import may_run_retention

from .models import Role
from .roles import held_roles


def roles(request):
    """Which menu items to show. The views check access again; this only hides links."""
    user = getattr(request, "user", None)
    held = {r.role for r in held_roles(user)} if user is not None else set()
    return {
        "nav_roles": held,
        "nav_can_refer": bool(
            held & {Role.FIRST_CONTACT, Role.VISITATOR, Role.COORDINATOR, Role.POLICE_CONTACT}
        ),
        # Only staff can hold the audit permission; asking has_perm of everybody else would
        # cost two permission queries on every page.
        "nav_can_audit": bool(
            user is not None
            and user.is_authenticated
            and user.is_active
            and user.is_staff
            and (user.is_superuser or user.has_perm("cases.view_auditentry"))
        ),
        "nav_can_retention": user is not None and may_run_retention(user),
        "nav_has_roles": bool(held),
        # For the warning before the idle limit ends the session (base.html, samvirke.js).
        "idle_seconds": settings.SESSION_IDLE_SECONDS,
    }


def today(request):
    from django.utils import timezone

    return {"today": timezone.localdate()}
