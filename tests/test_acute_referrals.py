"""An acute referral (the citizen is in danger) is due the same day, alerts the visitator and
the deputy at once without personal data in the mail, and tells the referrer what to do now."""

import datetime
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import alerts, tasks
from cases.deadlines import add_working_days
from cases.models import Referral, Urgency
from cooperation.models import RoleAssignment

from .test_views import referral_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def addresses(world):
    RoleAssignment.objects.filter(user=world.visitator).update(
        email="visitator@example.invalid", phone="76 16 10 02"
    )
    world.deputy_visitator.email = "deputy@example.invalid"
    world.deputy_visitator.save()


def test_an_acute_referral_is_due_the_day_it_arrives(world):
    case = world.refer(urgency=Urgency.ACUTE)
    assert case.triage_deadline == timezone.localdate()


def test_an_ordinary_referral_keeps_the_municipalitys_working_days(world):
    case = world.refer(urgency=Urgency.HIGH)
    assert case.triage_deadline == add_working_days(
        timezone.localdate(), world.municipality.triage_days
    )


def test_an_acute_referral_mails_the_visitator_and_the_deputy_once_without_personal_data(
    world, addresses, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = world.refer(urgency=Urgency.ACUTE, cpr="0101901234")

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert set(mail.to) == {"visitator@example.invalid", "deputy@example.invalid"}
    text = mail.subject + mail.body
    assert "akut" in text.lower() and world.municipality.name in text
    for personal in (case.full_name, "Mette", "0101901234", "1234", case.reference):
        assert personal not in text
    referral = case.referrals.get()
    assert referral.alerted_at is not None
    # The relay finds nothing more to send: one alert per referral.
    assert tasks.relay_referral_alerts() == 0
    assert len(mailoutbox) == 1


def test_an_ordinary_referral_sends_no_alert(world, addresses, mailoutbox):
    world.refer(urgency=Urgency.HIGH)
    assert tasks.relay_referral_alerts() == 0
    assert mailoutbox == []


def test_the_relay_sends_an_alert_the_broker_never_got(world, addresses, mailoutbox):
    # The request's queueing after commit failed (broker down): nothing was sent.
    with mock.patch("cases.services._queue_alert", side_effect=ConnectionError):
        case = world.refer(urgency=Urgency.ACUTE)
    assert mailoutbox == []

    assert tasks.relay_referral_alerts() == 1
    assert len(mailoutbox) == 1
    assert case.referrals.get().alerted_at is not None


def test_a_referral_the_visitator_already_answered_is_not_alerted(world, addresses, mailoutbox):
    case = world.refer(urgency=Urgency.ACUTE)
    Referral.objects.filter(case=case).update(status="accepted")
    assert tasks.relay_referral_alerts() == 0
    assert mailoutbox == []


def test_a_failed_mail_leaves_the_alert_to_be_sent_again(world, addresses, mailoutbox):
    case = world.refer(urgency=Urgency.ACUTE)
    referral = case.referrals.get()
    with (
        mock.patch("cases.alerts.send_mail", side_effect=OSError("smtp down")),
        pytest.raises(OSError),
    ):
        alerts.send_alert(referral.pk)
    referral.refresh_from_db()
    assert referral.alerted_at is None
    assert tasks.relay_referral_alerts() == 1


def test_referrals_from_before_the_alert_existed_are_not_alerted_at_deploy(world):
    # The migration marks every existing referral as seen (0009_referral_alerted_at).
    from importlib import import_module

    from django.apps import apps

    migration = import_module("cases.migrations.0009_referral_alerted_at")
    case = world.refer(urgency=Urgency.ACUTE)
    Referral.objects.filter(case=case).update(
        alerted_at=None, created_at=timezone.now() - datetime.timedelta(days=2)
    )
    migration.referrals_before_this_were_seen(apps, None)
    assert not alerts.waiting_acute_referrals().exists()


def test_the_referrer_of_an_acute_referral_is_told_to_call_112_and_given_the_visitator(
    world, addresses, client
):
    client.force_login(world.first_contact)
    response = client.post(
        reverse("cases:referral_create"),
        referral_data(world, urgency=Urgency.ACUTE),
        follow=True,
    )
    html = response.content.decode()
    assert "ring 112" in html
    assert "76 16 10 02" in html
    assert "alert-warning" in html


def test_the_alerts_link_is_absolute_when_the_site_address_is_set(
    world, addresses, mailoutbox, settings
):
    settings.SITE_URL = "https://samvirke.example.dk"
    world.refer(urgency=Urgency.ACUTE)
    tasks.relay_referral_alerts()
    assert "https://samvirke.example.dk/visitation/" in mailoutbox[0].body
