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
    }


def today(request):
    from django.utils import timezone

    return {"today": timezone.localdate()}
