"""Mails about a referral that must not wait for its recipient's next look at Samvirke.

- An acute referral (the citizen is in danger): the municipality's visitator and deputy are
  mailed at once, with a link to the dashboard.
- A referral made at triage or later to the coordinator, the police or DSC (NOTICE_KINDS): its
  recipient is mailed that a case from the municipality is waiting for their answer, with a
  link to the list where it waits. A police contact may not log in for days.
- A new referral about a citizen joined into their active case at triage: the case's
  coordinator is mailed (CaseNotice), or they would learn of it only from the timeline.
- A case handed to another coordinator by someone else (services.reassign): the former
  coordinator is mailed that it has left them (CaseNotice with `to_user`), or they would
  find it gone from their list without a word, maybe with a meeting with the citizen planned.

The mails say what has come and from where, nothing about the person (mail leaves our
systems). The referral row is the outbox: `alerted_at` is empty until the mail went out, the
request queues the task after its commit (services._queue_alert), and a periodic relay
(Celery beat, every minute: tasks.relay_referral_alerts) sends what the broker never got.
Sending twice is prevented by the row's lock and `alerted_at`; a mail that fails leaves
`alerted_at` empty, so the relay tries again. A CaseNotice row works the same way with
`sent_at`.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cooperation.models import Role
from cooperation.roles import current_holders

from .models import CaseNotice, NoticeKind, Referral, ReferralKind, ReferralStatus, Urgency

logger = logging.getLogger(__name__)

# The referrals whose recipient is told at once, with the role they answer it in and the page
# where it waits for their answer ("waiting for you", selectors.referrals_waiting_for).
NOTICE_KINDS = (ReferralKind.TO_COORDINATOR, ReferralKind.TO_POLICE, ReferralKind.TO_DSC)
_RECIPIENT_ROLE = {
    ReferralKind.TO_COORDINATOR: Role.COORDINATOR,
    ReferralKind.TO_POLICE: Role.POLICE_CONTACT,
    ReferralKind.TO_DSC: Role.DSC_ADVISOR,
}
_WAITING_PAGE = {
    ReferralKind.TO_COORDINATOR: "cases:my_cases",
    ReferralKind.TO_POLICE: "cases:partner_cases",
    ReferralKind.TO_DSC: "cases:partner_cases",
}

_ACUTE = Q(kind=ReferralKind.TO_VISITATOR, case__urgency=Urgency.ACUTE)
_NOTICE = Q(kind__in=NOTICE_KINDS)


def absolute_url(path: str) -> str:
    """A link for an e-mail: SITE_URL and the path (a path alone without SITE_URL)."""
    return f"{settings.SITE_URL}{path}"


def _unsent():
    # Still waiting for an answer and not mailed: the partial index referral_alert_outbox.
    return Referral.objects.filter(status=ReferralStatus.SENT, alerted_at__isnull=True)


def waiting_acute_referrals():
    """Acute referrals to the visitator that are still waiting and have not been alerted."""
    return _unsent().filter(_ACUTE)


def waiting_referral_notices():
    """Referrals to a coordinator, the police or DSC still waiting, their recipient not told."""
    return _unsent().filter(_NOTICE)


def outbox():
    """Every referral with a mail due: what the relay sends."""
    return _unsent().filter(_ACUTE | _NOTICE)


def visitator_addresses(municipality_id: int, case_id: int | None = None) -> list[str]:
    """The e-mail of each current visitator and deputy: the role's own address (the one the
    directory shows), else the user's. Not of one disqualified on the case: the visitator who
    is the person who stalks is not told that a referral about it has come."""
    addresses = []
    holders = current_holders(municipality_id, Role.VISITATOR)
    if case_id is not None:
        holders = holders.exclude(user__disqualifications__case_id=case_id)
    for holder in holders:
        address = holder.email or holder.user.email
        if address and address not in addresses:
            addresses.append(address)
    return addresses


def recipient_addresses(referral: Referral) -> list[str]:
    """The e-mail of the referral's recipient in the role they answer it in (_holder_address);
    none if they no longer hold the role there or are disqualified on the case (they could
    not open it from the link)."""
    return _holder_address(
        referral.to_organisation_id,
        _RECIPIENT_ROLE[referral.kind],
        user_id=referral.to_user_id,
        case_id=referral.case_id,
    )


def _holder_address(organisation_id: int, role: str, *, user_id: int, case_id: int) -> list[str]:
    """The user's address in a role they hold today in the organisation (the role's own, the
    one the directory shows, else the user's); none without such a role or when they are
    disqualified on the case."""
    holder = (
        current_holders(organisation_id, role)
        .filter(user_id=user_id)
        .exclude(user__disqualifications__case_id=case_id)
        .first()
    )
    address = holder and (holder.email or holder.user.email)
    return [address] if address else []


@dataclass(frozen=True)
class _Mail:
    subject: str
    body: str
    recipients: list[str]
    organisation_id: int  # where nobody could be mailed, for the log


def _acute_alert(referral: Referral) -> _Mail:
    municipality = referral.case.municipality
    return _Mail(
        subject=_("Samvirke: akut henvisning"),
        body=_(
            "Der er kommet en akut henvisning til stalkingvisitatoren i "
            "%(municipality)s: borgeren er ifølge henviseren i fare. Den står "
            "øverst i visitationen: %(url)s"
        )
        % {
            "municipality": municipality.name,
            "url": absolute_url(reverse("cases:triage_dashboard")),
        },
        recipients=visitator_addresses(municipality.pk, referral.case_id),
        organisation_id=municipality.pk,
    )


def _referral_notice(referral: Referral) -> _Mail:
    return _Mail(
        subject=_("Samvirke: en sag er henvist til dig"),
        body=_(
            "En sag fra %(municipality)s er henvist til dig i Samvirke. Log ind og tag imod "
            "den eller afvis den; den står blandt henvisningerne, der venter på dit svar: "
            "%(url)s"
        )
        % {
            "municipality": referral.case.municipality.name,
            "url": absolute_url(reverse(_WAITING_PAGE[referral.kind])),
        },
        recipients=recipient_addresses(referral),
        organisation_id=referral.to_organisation_id,
    )


def _deliver(mail: _Mail, label: str) -> None:
    """Send the mail; with nobody to send it to, say so in the log (ids only): what it is
    about still shows where it waits in Samvirke."""
    if mail.recipients:
        send_mail(
            subject=mail.subject,
            message=mail.body,
            from_email=None,
            recipient_list=mail.recipients,
        )
    else:
        logger.warning(
            "%s: no e-mail to send it to in organisation %s", label, mail.organisation_id
        )


def send_alert(referral_id: int) -> bool:
    """Send the mail due for one referral (an acute alert or a notice to its recipient),
    once. True if this call sent it (or found nobody to send it to and recorded that); False
    if it was not due (sent already, answered, of another kind, or being sent right now)."""
    return _send_once(outbox(), referral_id, _referral_mail, "Referral", "alerted_at")


def _referral_mail(referral: Referral) -> _Mail:
    if referral.kind == ReferralKind.TO_VISITATOR:
        return _acute_alert(referral)
    return _referral_notice(referral)


def _send_once(due, pk: int, build, label: str, sent_field: str) -> bool:
    """The outbox row `pk` among `due`, locked (one that is being sent right now is skipped),
    mailed as `build` writes it, and stamped sent in the same transaction."""
    with transaction.atomic():
        row = (
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("case__municipality")
            .filter(pk=pk)
            .first()
        )
        if row is None:
            return False
        with translation.override(settings.LANGUAGE_CODE):
            mail = build(row)
        _deliver(mail, f"{label} {row.pk} ({row.kind})")
        setattr(row, sent_field, timezone.now())
        row.save(update_fields=[sent_field])
    return True


def due_notices():
    """Mails to coordinators not yet sent (the partial index case_notice_outbox)."""
    return CaseNotice.objects.filter(sent_at__isnull=True)


def coordinator_addresses(case) -> list[str]:
    """The e-mail of the case's responsible in their coordinator role there (_holder_address)."""
    return _holder_address(
        case.municipality_id, Role.COORDINATOR, user_id=case.responsible_id, case_id=case.pk
    )


def former_coordinator_addresses(notice: CaseNotice) -> list[str]:
    """The e-mail of the coordinator a case was handed away from (the notice's `to_user`) in
    their coordinator role there (_holder_address): none once they are disqualified on the
    case, as when the visitator hands the case away to disqualify them."""
    return _holder_address(
        notice.case.municipality_id,
        Role.COORDINATOR,
        user_id=notice.to_user_id,
        case_id=notice.case_id,
    )


def _notice_mail(notice: CaseNotice) -> _Mail:
    if notice.kind == NoticeKind.HANDED_AWAY:
        return _handed_away_mail(notice)
    if notice.kind != NoticeKind.REFERRAL_JOINED:  # pragma: no cover - two kinds so far
        raise ValueError(notice.kind)
    return _Mail(
        subject=_("Samvirke: ny henvisning på en af dine sager"),
        body=_(
            "En ny henvisning om en borger, du er koordinator for, er lagt sammen med "
            "borgerens sag i %(municipality)s. Den står på sagens tidslinje; sagen finder du "
            "under Mine sager: %(url)s"
        )
        % {
            "municipality": notice.case.municipality.name,
            "url": absolute_url(reverse("cases:my_cases")),
        },
        recipients=coordinator_addresses(notice.case),
        organisation_id=notice.case.municipality_id,
    )


def _handed_away_mail(notice: CaseNotice) -> _Mail:
    # No case reference, as in the other mails: mail leaves our systems, and a reference ties
    # the mail to a person for whoever can read both. The visitator can say which case it was.
    return _Mail(
        subject=_("Samvirke: en af dine sager har fået en anden koordinator"),
        body=_(
            "En af dine sager i %(municipality)s er givet til en anden primær koordinator, "
            "som er ansvarlig for den fra nu af. Stalkingvisitatoren kan fortælle dig, "
            "hvilken sag det er. Dine sager finder du under Mine sager: %(url)s"
        )
        % {
            "municipality": notice.case.municipality.name,
            "url": absolute_url(reverse("cases:my_cases")),
        },
        recipients=former_coordinator_addresses(notice),
        organisation_id=notice.case.municipality_id,
    )


def send_notice(notice_id: int) -> bool:
    """Send one coordinator's notice (a referral joined into their case, or their case handed
    away), once; as send_alert."""
    return _send_once(due_notices(), notice_id, _notice_mail, "Case notice", "sent_at")
