"""Periodic work. Tasks take ids only, never personal data."""

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import models
from django.db.models import Value, When
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cooperation.models import Organisation, OrganisationKind, Role
from cooperation.roles import current_holders

from . import alerts, audit_notices
from .models import Case, CaseState, ReferralKind

logger = logging.getLogger(__name__)


def _overdue_referrals():
    return Case.objects.filter(
        state__in=[CaseState.REFERRED, CaseState.IN_TRIAGE],
        triage_deadline__lt=timezone.localdate(),
    )


def _reminder_recipients(municipality: Organisation, overdue) -> dict[int, list[str]]:
    """The address of each current visitator and deputy (the role's own, else the user's), by
    the number of overdue referrals they may see: a case someone is disqualified on is not
    counted for them, or the mail would tell the person who stalks that a case they cannot
    open exists and is late. Nobody is mailed a zero."""
    cases = overdue.filter(municipality=municipality)
    # An address shared by several holders (the role's mailbox) gets the smallest of their
    # counts, once: two mails with two numbers would tell whoever reads it about the case.
    smallest: dict[str, int] = {}
    for holder in current_holders(municipality.pk, Role.VISITATOR):
        address = holder.email or holder.user.email
        if address:
            count = cases.exclude(disqualifications__user_id=holder.user_id).count()
            smallest[address] = min(count, smallest.get(address, count))
    by_count: dict[int, list[str]] = {}
    for address, count in smallest.items():
        if count:
            by_count.setdefault(count, []).append(address)
    return by_count


@shared_task(acks_late=True)
def remind_overdue_triage() -> int:
    """Tell the visitator and the deputy how many referrals are past their deadline: one mail
    for those who may see the same number. The mail carries a number and a link, nothing
    about the people. Returns the number of mails sent."""
    sent = 0
    overdue = _overdue_referrals()
    municipalities = Organisation.objects.filter(
        pk__in=overdue.values("municipality"), kind=OrganisationKind.MUNICIPALITY
    )
    with translation.override(settings.LANGUAGE_CODE):
        for municipality in municipalities:
            for count, recipients in _reminder_recipients(municipality, overdue).items():
                send_mail(
                    subject=_("Samvirke: henvisninger over fristen"),
                    message=_(
                        "Der er %(count)d henvisninger i %(municipality)s, der er over fristen "
                        "for visitation. Se dem her: %(url)s"
                    )
                    % {
                        "count": count,
                        "municipality": municipality.name,
                        "url": alerts.absolute_url(reverse("cases:triage_dashboard")),
                    },
                    from_email=None,
                    recipient_list=recipients,
                )
                sent += 1
    return sent


@shared_task(acks_late=True, ignore_result=True)
def alert_referral(referral_id: int) -> bool:
    """Send the mail due for one referral: an acute alert to the visitator and deputy, or a
    notice to the recipient of a referral to a coordinator, the police or DSC (cases.alerts);
    idempotent."""
    return alerts.send_alert(referral_id)


@shared_task(acks_late=True, ignore_result=True)
def relay_referral_alerts() -> int:
    """Send the referral mails whose message never reached the broker (beat, every minute),
    acute alerts first, then the coordinators' notices (alerts.send_notice). A mail the
    server refuses is logged by id and left for the next minute; it does not hold up the
    others."""
    acute_first = models.Case(When(kind=ReferralKind.TO_VISITATOR, then=Value(0)), default=Value(1))
    ids = list(alerts.outbox().order_by(acute_first, "created_at").values_list("pk", flat=True))
    sent = 0
    for pk in ids:
        try:
            sent += alerts.send_alert(pk)
        except (smtplib.SMTPException, OSError):
            logger.warning("Referral %s: its mail failed; the relay tries again", pk)
    for pk in alerts.due_notices().order_by("created_at").values_list("pk", flat=True):
        try:
            sent += alerts.send_notice(pk)
        except (smtplib.SMTPException, OSError):
            logger.warning("Case notice %s: its mail failed; the relay tries again", pk)
    return sent


@shared_task(acks_late=True, ignore_result=True)
def send_case_notice(notice_id: int) -> bool:
    """Send one coordinator's notice (cases.alerts.send_notice); idempotent."""
    return alerts.send_notice(notice_id)


@shared_task(acks_late=True, ignore_result=True)
def notify_flagged_access() -> int:
    """Mail the data protection officers how many audit entries were flagged since the last
    mail (beat; cases.audit_notices). A refused mail is tried again at the next run."""
    try:
        return audit_notices.notify_flagged_access()
    except (smtplib.SMTPException, OSError):
        logger.warning("The mail about flagged audit entries failed; the next run tries again")
        return 0


# The names of the two tasks when they sent acute alerts only: a message queued under them
# before a deploy is still run by a worker after it. Nothing queues them any more.
@shared_task(acks_late=True, ignore_result=True)
def alert_acute_referral(referral_id: int) -> bool:
    return alerts.send_alert(referral_id)


@shared_task(acks_late=True, ignore_result=True)
def relay_acute_alerts() -> int:
    return relay_referral_alerts()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def anonymise_retention_run(run_id: int) -> str:
    """Anonymise the cases of a confirmed retention run (cases.retention.execute_run).

    Takes the run's id only. Safe to deliver twice, also at the same time (a worker lost, or a
    run longer than Redis' visibility timeout): each case is done under the run's row lock
    and recorded on the run in the same transaction, so a second delivery skips it and counts
    nothing twice; a run that is done is left alone.
    """
    from .retention import execute_run

    return execute_run(run_id)
