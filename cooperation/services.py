"""Handover: when a person leaves a role, everything they hold moves to the successor at once."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import audit
from cases.models import (
    AuditAction,
    Case,
    CaseEvent,
    CaseState,
    CaseUserObjectPermission,
    Disqualification,
    EventKind,
    Referral,
    ReferralStatus,
)

from .models import RoleAssignment


def _cases_in_scope(organisation):
    return Case.objects.filter(municipality=organisation) | Case.objects.filter(
        referrals__to_organisation=organisation
    )


def _cases_held_in(user, organisation):
    """The cases a handover of the user's role in `organisation` would move: the open ones
    they are responsible for, those with a referral waiting for them, those they hold a
    grant on."""
    in_scope = _cases_in_scope(organisation).values("pk")
    return (
        Case.objects.filter(pk__in=in_scope)
        .filter(
            (Q(responsible=user) & ~Q(state=CaseState.CLOSED))
            | Q(referrals__to_user=user, referrals__status=ReferralStatus.SENT)
            | Q(
                pk__in=CaseUserObjectPermission.objects.filter(user=user).values(
                    "content_object_id"
                )
            )
        )
        .values("pk")
    )


@transaction.atomic
def handover(
    *,
    actor,
    assignment: RoleAssignment,
    successor,
    on: datetime.date | None = None,
    request=None,
) -> RoleAssignment:
    """End `assignment` and give the same role to `successor`: open cases, pending referrals
    and object permissions in that organisation move in one transaction, and every case's
    history shows it. Only administrators may do this.

    An administrator who hands a role to themself (or hands over their own) is not refused,
    as RoleAssignmentAdmin does not refuse a role given to oneself: a small municipality's
    administrator may have to step in for a visitator who leaves. It is flagged like that
    role (cooperation.admin._audit_role), so the data protection officers are mailed
    (cases.audit_notices)."""
    if not actor.is_superuser:
        raise PermissionDenied(_("Kun administratorer kan overdrage en rolle."))
    today = on or timezone.localdate()
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    leaver = assignment.user
    if successor.pk == leaver.pk:
        raise ValidationError(_("Efterfølgeren skal være en anden person."))
    if assignment.valid_to is not None and assignment.valid_to < today:
        raise ValidationError(_("Rolletildelingen er allerede udløbet."))
    leaver_cases = _cases_held_in(leaver, assignment.organisation)
    blocked = list(
        Disqualification.objects.filter(user=successor, case_id__in=leaver_cases)
        .order_by("case__reference")
        .values_list("case__reference", flat=True)
    )
    if blocked:
        # The successor would become responsible for (or read) a case they must not touch:
        # its only owner could not open it. The visitator moves those cases first.
        raise ValidationError(
            _(
                "Efterfølgeren er registreret som inhabil på %(cases)s og kan ikke overtage "
                "rollen, før sagerne er flyttet til en anden."
            )
            % {"cases": ", ".join(blocked)}
        )
    assignment.valid_to = today - datetime.timedelta(days=1)
    if assignment.valid_to < assignment.valid_from:
        assignment.valid_to = assignment.valid_from
    assignment.save(update_fields=["valid_to"])
    new_assignment = RoleAssignment.objects.create(
        user=successor,
        role=assignment.role,
        organisation=assignment.organisation,
        unit=assignment.unit,
        is_deputy=assignment.is_deputy,
        phone=assignment.phone,
        email=assignment.email,
        valid_from=today,
    )
    organisation = assignment.organisation
    case_ids = set(_cases_in_scope(organisation).values_list("pk", flat=True))
    moved = Case.objects.filter(pk__in=case_ids, responsible=leaver).exclude(state=CaseState.CLOSED)
    moved_ids = list(moved.values_list("pk", flat=True))
    moved.update(responsible=successor)
    Referral.objects.filter(
        case_id__in=case_ids, to_user=leaver, status=ReferralStatus.SENT
    ).update(to_user=successor)
    grants = CaseUserObjectPermission.objects.filter(user=leaver, content_object_id__in=case_ids)
    touched = set(grants.values_list("content_object_id", flat=True)) | set(moved_ids)
    for grant in grants:
        CaseUserObjectPermission.objects.get_or_create(
            user=successor, permission=grant.permission, content_object_id=grant.content_object_id
        )
    grants.delete()
    name = successor.get_full_name() or successor.username
    CaseEvent.objects.bulk_create(
        CaseEvent(case_id=case_id, actor=actor, kind=EventKind.HANDOVER, summary=name)
        for case_id in sorted(touched)
    )
    audit.record(
        user=actor,
        action=AuditAction.CHANGE,
        what="handover",
        object_id=f"{assignment.pk}->{new_assignment.pk}",
        request=request,
        flagged=actor.pk in (leaver.pk, successor.pk),
    )
    return new_assignment
