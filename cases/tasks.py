"""Periodic work. Tasks take ids only, never personal data."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cooperation.models import Organisation, OrganisationKind, Role
from cooperation.roles import current_holders

from .models import Case, CaseState


def overdue_counts() -> dict[int, int]:
    rows = (
        Case.objects.filter(
            state__in=[CaseState.REFERRED, CaseState.IN_TRIAGE],
            triage_deadline__lt=timezone.localdate(),
        )
        .values("municipality_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["municipality_id"]: row["n"] for row in rows}


@shared_task(acks_late=True)
def remind_overdue_triage() -> int:
    """Tell the visitator and the deputy how many referrals are past their deadline.
    The mail carries a number and a link, nothing about the people."""
    sent = 0
    counts = overdue_counts()
    municipalities = Organisation.objects.filter(pk__in=counts, kind=OrganisationKind.MUNICIPALITY)
    with translation.override(settings.LANGUAGE_CODE):
        for municipality in municipalities:
            recipients = [
                holder.user.email
                for holder in current_holders(municipality.pk, Role.VISITATOR)
                if holder.user.email
            ]
            if not recipients:
                continue
            send_mail(
                subject=_("Samvirke: henvisninger over fristen"),
                message=_(
                    "Der er %(count)d henvisninger i %(municipality)s, der er over fristen for "
                    "visitation. Se dem her: %(url)s"
                )
                % {
                    "count": counts[municipality.pk],
                    "municipality": municipality.name,
                    "url": reverse("cases:triage_dashboard"),
                },
                from_email=None,
                recipient_list=recipients,
            )
            sent += 1
    return sent
