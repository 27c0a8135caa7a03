"""What roles a user holds today. Cached on the user object for one request."""

from dataclasses import dataclass

from .models import Organisation, Role, RoleAssignment


@dataclass(frozen=True)
class HeldRole:
    role: str
    organisation_id: int
    organisation_kind: str
    is_deputy: bool


def held_roles(user) -> tuple[HeldRole, ...]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    cached = getattr(user, "_samvirke_roles", None)
    if cached is None:
        # Asked on every request: four columns as tuples, no model instances.
        cached = tuple(
            HeldRole(*row)
            for row in RoleAssignment.objects.current()
            .filter(user=user)
            .values_list("role", "organisation_id", "organisation__kind", "is_deputy")
        )
        user._samvirke_roles = cached
    return cached


def forget_roles(user) -> None:
    if hasattr(user, "_samvirke_roles"):
        del user._samvirke_roles


def has_role(user, role: str, organisation_id: int | None = None) -> bool:
    return any(
        r.role == role and (organisation_id is None or r.organisation_id == organisation_id)
        for r in held_roles(user)
    )


def organisations_for(user, role: str) -> list[int]:
    return [r.organisation_id for r in held_roles(user) if r.role == role]


def primary_role(user) -> str | None:
    """The role whose start page `/` shows; the order is the order of the case flow."""
    order = [
        Role.VISITATOR,
        Role.COORDINATOR,
        Role.POLICE_CONTACT,
        Role.DSC_ADVISOR,
        Role.FIRST_CONTACT,
        Role.FOLLOW_UP,
    ]
    roles = {r.role for r in held_roles(user)}
    return next((role for role in order if role in roles), None)


def municipalities_user_can_refer_to(user):
    """First contacts refer within their own municipality; police to the municipalities
    of their district (mutual referral)."""
    municipal = [
        r.organisation_id
        for r in held_roles(user)
        if r.role in (Role.FIRST_CONTACT, Role.VISITATOR, Role.COORDINATOR)
    ]
    districts = organisations_for(user, Role.POLICE_CONTACT)
    return Organisation.objects.filter(pk__in=municipal) | Organisation.objects.filter(
        police_district__in=districts
    )


def current_holders(organisation_id: int, role: str):
    return (
        RoleAssignment.objects.current()
        .filter(organisation_id=organisation_id, role=role, user__is_active=True)
        .select_related("user")
        .order_by("is_deputy", "valid_from")
    )
