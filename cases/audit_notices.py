"""The data protection officers are mailed when audit entries are flagged for review.

A flagged entry is most often a user marked as disqualified on a case trying to open it: that
user may be the person who stalks, with a login of their own. The review page shows such
entries (audit_views.review), but only to someone who looks; this tells the officers that
there is something to look at. Every run (Celery beat) counts the flagged entries since the
last mail and, when there are any, mails the count and a link to the review page: no name,
no case, nothing about who tried what (mail leaves our systems).

Each mail is a FlaggedAccessNotice row covering a period; the next period starts where the
last one ended. The row is written before the mail is sent, in one transaction: a mail that
fails takes the row with it and the period is counted again next time, and two runs at once
cannot both mail the same period (covered_from is unique). A period ends SETTLE before the
run, so an entry written by a transaction that has not committed yet is counted next time
rather than never.
"""

import datetime
import logging
import smtplib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .alerts import absolute_url
from .audit import AUDIT_PERMISSION
from .models import AuditEntry, FlaggedAccessNotice

logger = logging.getLogger(__name__)

SETTLE = datetime.timedelta(minutes=5)
# Where counting starts before the first mail: every flagged entry ever written.
BEGINNING = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def officer_addresses() -> list[str]:
    """The data protection officers' e-mails: active staff given the audit permission (by
    themselves or through a group; the trail's pages are for staff). Without any, or when an
    officer has no e-mail, also the superusers', so the mail reaches someone who can read the
    trail until an officer is appointed, and an officer whose address is blanked is not left
    out unnoticed."""
    users = get_user_model().objects
    officers = users.with_perm(
        AUDIT_PERMISSION,
        include_superusers=False,
        backend="django.contrib.auth.backends.ModelBackend",
    ).filter(is_staff=True)
    addresses = set(officers.exclude(email="").values_list("email", flat=True))
    if not addresses or officers.filter(email="").exists():
        superusers = users.filter(is_active=True, is_superuser=True).exclude(email="")
        addresses |= set(superusers.values_list("email", flat=True))
    return sorted(addresses)


def tell_former_recipients(before: list[str]) -> bool:
    """After a change in the admin to users or groups: mail each address that received the
    flagged-access notices `before` and no longer does, at once, so an officer who is removed
    or whose address is changed (perhaps by the person who stalks, an administrator, to have
    the next notices come to themself) knows. Nothing about who or what changed (mail leaves
    our systems); the change is in the audit trail, flagged. A mail that cannot be sent is
    logged and does not stop the change: with the mail server down, an administrator must
    still be able to take the permission from an officer whose account was taken over.
    Returns whether the recipients changed."""
    after = officer_addresses()
    gone = sorted(set(before) - set(after))
    for address in gone:
        try:
            with translation.override(settings.LANGUAGE_CODE):
                send_mail(
                    subject=_("Samvirke: du får ikke længere besked om markerede adgange"),
                    message=_(
                        "Denne adresse får ikke længere Samvirkes besked om adgange, der er "
                        "markeret til gennemsyn i revisionssporet: en administrator har ændret "
                        "brugerne eller grupperne. Ændringen står i revisionssporet (%(url)s). "
                        "Var den ikke aftalt, så sig det straks til din leder."
                    )
                    % {"url": absolute_url(reverse("audit:review"))},
                    from_email=None,
                    recipient_list=[address],
                )
        except (smtplib.SMTPException, OSError):
            # No address in the log: it names a person.
            logger.exception("Could not tell a former recipient of the flagged-access mail")
    return set(before) != set(after)


def notify_flagged_access(now: datetime.datetime | None = None) -> int:
    """Mail the count of entries flagged since the last mail, if there are any. Returns the
    count mailed (0: nothing new, or nobody to mail, which is logged)."""
    until = (now or timezone.now()) - SETTLE
    start = _period_start()
    if start >= until:
        return 0
    count = AuditEntry.objects.filter(
        flagged=True, created_at__gte=start, created_at__lt=until
    ).count()
    if not count:
        return 0
    recipients = officer_addresses()
    if not recipients:
        logger.warning("%d flagged audit entries and nobody to tell: no officer's e-mail", count)
        return 0
    try:
        with transaction.atomic():
            FlaggedAccessNotice.objects.create(covered_from=start, covered_until=until, count=count)
            _send(count, recipients)
    except IntegrityError:
        # Another run took this period at the same moment and mails it.
        return 0
    return count


def _period_start() -> datetime.datetime:
    last = FlaggedAccessNotice.objects.order_by("-covered_until").first()
    return last.covered_until if last else BEGINNING


def _send(count: int, recipients: list[str]) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        send_mail(
            subject=_("Samvirke: adgang markeret til gennemsyn"),
            message=ngettext(
                "Der er %(count)d ny adgang i Samvirkes revisionsspor, der er markeret til "
                "gennemsyn, fx en bruger, der er registreret som inhabil på en sag, og som "
                "har forsøgt at åbne den. Se den her: %(url)s",
                "Der er %(count)d nye adgange i Samvirkes revisionsspor, der er markeret til "
                "gennemsyn, fx en bruger, der er registreret som inhabil på en sag, og som "
                "har forsøgt at åbne den. Se dem her: %(url)s",
                count,
            )
            % {"count": count, "url": absolute_url(reverse("audit:review"))},
            from_email=None,
            recipient_list=recipients,
        )
