"""A new referral about a citizen joined into their active case at triage: the case's
coordinator is mailed (cases.alerts.send_notice), once, without personal data, through the
CaseNotice outbox and its relay, as the referral notices are."""

import logging
import smtplib
from unittest import mock

import pytest
from django.utils import timezone

from cases import alerts, services, tasks
from cases.models import CaseNotice, NoticeKind, Referral
from cooperation.models import RoleAssignment
from tests.mail import as_sent

pytestmark = pytest.mark.django_db

NAME = "Zenobia Kvasirhøj"
CPR = "0707614285"
ADDRESS = "koordinator@kommune.example"


@pytest.fixture
def coordinator_address(world):
    RoleAssignment.objects.filter(user=world.coordinator).update(email=ADDRESS)


def _joined(world, into, **kwargs):
    duplicate = world.refer(
        actor=world.police_contact, full_name=NAME, cpr=CPR, reason="Ny anmeldelse", **kwargs
    )
    # The referral notices of the set-up (the triage's to the coordinator) are not ours here.
    Referral.objects.update(alerted_at=timezone.now())
    return services.join_duplicate(actor=world.visitator, case=duplicate, into=into)


def test_the_coordinator_is_mailed_once_when_a_referral_is_joined_into_their_case(
    world, coordinator_address, mailoutbox, django_capture_on_commit_callbacks
):
    case = world.active(full_name=NAME, cpr=CPR)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _joined(world, case)

    assert [mail.to for mail in mailoutbox] == [[ADDRESS]]
    mail = mailoutbox[0]
    assert "/sager/" in mail.body and world.municipality.name in mail.body
    whole = "\n".join([mail.subject, mail.body, as_sent(mail)])
    for personal in (NAME, "Zenobia", "Kvasir", CPR, "070761", case.reference, "anmeldelse"):
        assert personal not in whole
    notice = CaseNotice.objects.get(case=case)
    assert notice.kind == NoticeKind.REFERRAL_JOINED and notice.sent_at is not None
    assert tasks.relay_referral_alerts() == 0  # nothing left to send


def test_no_notice_when_the_referral_is_joined_into_a_case_still_in_triage(world, mailoutbox):
    case = world.in_triage(full_name=NAME, cpr=CPR)
    _joined(world, case)
    assert not CaseNotice.objects.exists()


def test_the_relay_sends_a_notice_the_broker_never_got(world, coordinator_address, mailoutbox):
    case = world.active(full_name=NAME, cpr=CPR)
    mailoutbox.clear()
    _joined(world, case)  # no on_commit here: the task was never queued
    assert mailoutbox == []

    assert tasks.relay_referral_alerts() == 1

    assert [mail.to for mail in mailoutbox] == [[ADDRESS]]
    assert not alerts.due_notices().exists()


def test_a_refused_mail_leaves_the_notice_for_the_next_relay(
    world, coordinator_address, mailoutbox, caplog
):
    case = world.active(full_name=NAME, cpr=CPR)
    _joined(world, case)
    notice = CaseNotice.objects.get(case=case)

    refused = smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"no")})
    with (
        mock.patch("cases.alerts.send_mail", side_effect=refused),
        caplog.at_level(logging.WARNING, logger="cases.tasks"),
    ):
        assert tasks.relay_referral_alerts() == 0
    assert f"Case notice {notice.pk}: its mail failed" in caplog.text
    notice.refresh_from_db()
    assert notice.sent_at is None

    assert tasks.relay_referral_alerts() == 1
    assert alerts.send_notice(notice.pk) is False  # sent once


def test_nobody_is_mailed_when_the_coordinator_left_the_role(
    world, coordinator_address, mailoutbox, caplog
):
    case = world.active(full_name=NAME, cpr=CPR)
    _joined(world, case)
    RoleAssignment.objects.filter(user=world.coordinator).delete()
    mailoutbox.clear()

    with caplog.at_level(logging.WARNING, logger="cases.alerts"):
        assert tasks.relay_referral_alerts() == 1

    assert mailoutbox == []
    notice = CaseNotice.objects.get(case=case)
    assert caplog.messages == [
        f"Case notice {notice.pk} (referral_joined): no e-mail to send it to in "
        f"organisation {world.municipality.pk}"
    ]
    assert notice.sent_at is not None
