"""An acute referral (the citizen is in danger) does not wait for the next look at the queue:
the municipality's visitator and deputy are e-mailed at once.

The mail says that an acute referral has come and where, and links the dashboard: nothing
about the person (mail leaves our systems). The referral row is the outbox: `alerted_at` is
empty until a mail went out, the request queues the task after its commit, and a periodic
relay (Celery beat, every minute) sends what the broker never got. Sending twice is prevented
by the row's lock and `alerted_at`.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cooperation.models import Role
from cooperation.roles import current_holders

from .models import Referral, ReferralKind, ReferralStatus, Urgency

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    """A link for an e-mail: SITE_URL and the path (a path alone without SITE_URL)."""
    return f"{settings.SITE_URL}{path}"


def waiting_acute_referrals():
    """Acute referrals to the visitator that are still waiting and have not been alerted."""
    return Referral.objects.filter(
        kind=ReferralKind.TO_VISITATOR,
        status=ReferralStatus.SENT,
        alerted_at__isnull=True,
        case__urgency=Urgency.ACUTE,
    )


def visitator_addresses(municipality_id: int) -> list[str]:
    """The e-mail of each current visitator and deputy: the role's own address (the one the
    directory shows), else the user's."""
    addresses = []
    for holder in current_holders(municipality_id, Role.VISITATOR):
        address = holder.email or holder.user.email
        if address and address not in addresses:
            addresses.append(address)
    return addresses


def send_acute_alert(referral_id: int) -> bool:
    """Mail the visitator and deputy about one acute referral, once. True if this call sent it
    (or found nobody to send it to and recorded that); False if it was not due."""
    with transaction.atomic():
        referral = (
            waiting_acute_referrals()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("case__municipality")
            .filter(pk=referral_id)
            .first()
        )
        if referral is None:
            return False
        municipality = referral.case.municipality
        recipients = visitator_addresses(municipality.pk)
        if recipients:
            with translation.override(settings.LANGUAGE_CODE):
                send_mail(
                    subject=_("Samvirke: akut henvisning"),
                    message=_(
                        "Der er kommet en akut henvisning til stalkingvisitatoren i "
                        "%(municipality)s: borgeren er ifølge henviseren i fare. Den står "
                        "øverst i visitationen: %(url)s"
                    )
                    % {
                        "municipality": municipality.name,
                        "url": absolute_url(reverse("cases:triage_dashboard")),
                    },
                    from_email=None,
                    recipient_list=recipients,
                )
        else:
            # Nobody to mail: the referral still tops the dashboard. Ids only in the log.
            logger.warning(
                "Acute referral %s: no visitator e-mail in municipality %s",
                referral.pk,
                municipality.pk,
            )
        referral.alerted_at = timezone.now()
        referral.save(update_fields=["alerted_at"])
    return True
