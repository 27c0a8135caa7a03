"""The data protection officers are mailed when audit entries are flagged for review (a
disqualified user trying to open a case): the count and a link, nothing about who tried what,
each flagged entry counted in one mail only (cases.audit_notices, beat every 15 minutes)."""

import datetime
import logging
import smtplib
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from cases import audit, audit_notices, services, tasks
from cases.models import AuditAction, FlaggedAccessNotice
from tests.factories import UserFactory
from tests.mail import as_sent
from tests.pages import opens

pytestmark = pytest.mark.django_db

OFFICER = "dpo@kommune.example"
LATER = datetime.timedelta(minutes=10)


@pytest.fixture
def officer(db):
    user = UserFactory(username="dpo", email=OFFICER, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    return user


def _attempt(world, client):
    """The deputy visitator, marked on a citizen's case, tries to open it."""
    case = world.active()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Er stalkeren"
    )
    assert not opens(client, world.deputy_visitator, case)
    return case


def _flag(at=None):
    """A flagged entry, written now or at the time `at`."""
    with mock.patch("django.utils.timezone.now", return_value=at or timezone.now()):
        return audit.record(user=None, action=AuditAction.DENIED, what="case", flagged=True)


def test_a_disqualified_users_attempt_is_mailed_to_the_officer_without_who_or_what(
    world, client, officer, mailoutbox
):
    case = _attempt(world, client)
    mailoutbox.clear()

    assert audit_notices.notify_flagged_access(now=timezone.now() + LATER) == 1

    assert [mail.to for mail in mailoutbox] == [[OFFICER]]
    mail = mailoutbox[0]
    assert "1 ny adgang" in mail.body and "/revision/til-gennemsyn/" in mail.body
    whole = "\n".join([mail.subject, as_sent(mail)])
    for detail in (case.reference, case.full_name, "deputy", world.deputy_visitator.last_name):
        assert detail not in whole


def test_each_flagged_entry_is_mailed_once_and_a_new_one_in_the_next_mail(officer, mailoutbox):
    _flag()
    _flag()
    now = timezone.now() + LATER

    assert audit_notices.notify_flagged_access(now=now) == 2
    assert audit_notices.notify_flagged_access(now=now + LATER) == 0
    _flag(at=now + LATER)
    assert audit_notices.notify_flagged_access(now=now + 2 * LATER) == 1

    assert ["2 nye adgange" in m.body for m in mailoutbox] == [True, False]
    assert "1 ny adgang" in mailoutbox[1].body
    periods = list(
        FlaggedAccessNotice.objects.order_by("covered_until").values_list(
            "covered_from", "covered_until", "count"
        )
    )
    assert [count for _start, _end, count in periods] == [2, 1]
    assert periods[1][0] == periods[0][1]  # the second period starts where the first ended


def test_an_entry_written_in_the_last_minutes_waits_for_the_next_run(officer, mailoutbox):
    _flag()

    assert audit_notices.notify_flagged_access(now=timezone.now()) == 0
    assert mailoutbox == [] and not FlaggedAccessNotice.objects.exists()
    assert audit_notices.notify_flagged_access(now=timezone.now() + LATER) == 1


def test_nothing_is_mailed_when_nothing_was_flagged(officer, mailoutbox):
    audit.record(user=None, action=AuditAction.VIEW, what="case")

    assert audit_notices.notify_flagged_access(now=timezone.now() + LATER) == 0
    assert mailoutbox == []


def test_the_officers_are_those_given_the_audit_permission_also_through_a_group(world, officer):
    group = Group.objects.create(name="Databeskyttelse")
    group.permissions.add(Permission.objects.get(codename="view_auditentry"))
    member = UserFactory(username="dpo2", email="dpo2@kommune.example", is_staff=True)
    member.groups.add(group)
    UserFactory(username="gone", email="gone@kommune.example", is_active=False).groups.add(group)
    world.admin.email = "it@kommune.example"
    world.admin.save()

    assert audit_notices.officer_addresses() == ["dpo2@kommune.example", OFFICER]


def test_without_an_officer_the_superusers_are_told(world, mailoutbox):
    world.admin.email = "it@kommune.example"
    world.admin.save()
    _flag()

    assert audit_notices.notify_flagged_access(now=timezone.now() + LATER) == 1
    assert [mail.to for mail in mailoutbox] == [["it@kommune.example"]]


def test_with_nobody_to_tell_it_is_logged_and_told_when_an_officer_comes(world, mailoutbox, caplog):
    _flag()
    now = timezone.now() + LATER

    with caplog.at_level(logging.WARNING, logger="cases.audit_notices"):
        assert audit_notices.notify_flagged_access(now=now) == 0
    assert "nobody to tell" in caplog.text
    assert not FlaggedAccessNotice.objects.exists()

    officer = UserFactory(username="dpo", email=OFFICER, is_staff=True)
    officer.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    assert audit_notices.notify_flagged_access(now=now + LATER) == 1
    assert [mail.to for mail in mailoutbox] == [[OFFICER]]


def test_a_refused_mail_records_nothing_and_the_next_run_sends_it(officer, mailoutbox, caplog):
    _flag()
    now = timezone.now() + LATER

    with (
        mock.patch(
            "cases.audit_notices.send_mail", side_effect=smtplib.SMTPServerDisconnected("down")
        ),
        mock.patch("cases.audit_notices.timezone.now", return_value=now),
        caplog.at_level(logging.WARNING, logger="cases.tasks"),
    ):
        assert tasks.notify_flagged_access() == 0
    assert "tries again" in caplog.text
    assert not FlaggedAccessNotice.objects.exists()

    assert audit_notices.notify_flagged_access(now=now) == 1
    assert len(mailoutbox) == 1


def test_a_second_run_for_the_same_period_sends_nothing(officer, mailoutbox):
    _flag()
    now = timezone.now() + LATER
    # Another run, at the same moment, took the period first: this run read the last mail
    # before that run's row was there, and its own row is refused before it mails.
    FlaggedAccessNotice.objects.create(
        covered_from=audit_notices.BEGINNING, covered_until=now - LATER, count=1
    )

    with mock.patch("cases.audit_notices._period_start", return_value=audit_notices.BEGINNING):
        assert audit_notices.notify_flagged_access(now=now) == 0

    assert mailoutbox == []
    assert FlaggedAccessNotice.objects.count() == 1


def test_the_beat_runs_it_every_quarter_of_an_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["notify-flagged-access"]
    assert entry["task"] == "cases.tasks.notify_flagged_access"
    assert entry["schedule"] == 15 * 60
