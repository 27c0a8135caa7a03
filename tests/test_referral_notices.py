"""The recipient of a referral made at triage or later (to the coordinator, the police, DSC)
is mailed at once that a case waits for their answer, once, without personal data in the mail;
the referral row is the outbox, as for the acute alert (cases.alerts)."""

import datetime
import logging
from importlib import import_module
from unittest import mock

import pytest
from django.apps import apps
from django.utils import timezone

from cases import alerts, services, tasks
from cases.models import ConsentPartner, ConsentScope, Referral, ReferralKind, Urgency
from cooperation.models import Role, RoleAssignment
from tests.mail import as_sent

pytestmark = pytest.mark.django_db

NAME = "Zenobia Kvasirhøj"
CPR = "0707614285"
POLICE, DSC = ConsentPartner.POLICE, ConsentPartner.DSC
ADDRESS = {
    "coordinator": "koordinator@kommune.example",
    "police_contact": "politi@politi.example",
    "dsc": "raadgiver@dsc.example",
}
PAGE = {"coordinator": "/sager/", "police_contact": "/delte-sager/", "dsc": "/delte-sager/"}


@pytest.fixture
def addresses(world):
    """The coordinator and the police contact have an address on their role (the directory's),
    the DSC advisor on their user only; the visitators none (no acute alerts in the way)."""
    for name in ("coordinator", "police_contact"):
        RoleAssignment.objects.filter(user=getattr(world, name)).update(email=ADDRESS[name])
    world.dsc.email = ADDRESS["dsc"]
    world.dsc.save(update_fields=["email"])


def _routed(world, *, coordinator=True, police=False, dsc=False, **kwargs):
    return world.active(
        coordinator=coordinator, police=police, dsc=dsc, full_name=NAME, cpr=CPR, **kwargs
    )


def _referral(case, kind) -> Referral:
    return case.referrals.get(kind=kind)


def _assert_no_personal_data(mail, case):
    whole = "\n".join([mail.subject, mail.body, as_sent(mail)])
    for personal in (NAME, "Zenobia", "Kvasir", CPR, "070761", "4285", case.reference):
        assert personal not in whole


def test_triage_mails_the_coordinator_once_without_personal_data(
    world, addresses, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = _routed(world)

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [ADDRESS["coordinator"]]
    assert mail.subject == "Samvirke: en sag er henvist til dig"
    assert world.municipality.name in mail.body and "/sager/" in mail.body
    _assert_no_personal_data(mail, case)
    referral = _referral(case, ReferralKind.TO_COORDINATOR)
    assert referral.alerted_at is not None


@pytest.mark.parametrize(
    ("partner", "kind", "recipient"),
    [(POLICE, ReferralKind.TO_POLICE, "police_contact"), (DSC, ReferralKind.TO_DSC, "dsc")],
)
def test_triage_to_a_partner_mails_its_contact(
    world, addresses, mailoutbox, django_capture_on_commit_callbacks, partner, kind, recipient
):
    with django_capture_on_commit_callbacks(execute=True):
        case = _routed(world, coordinator=False, **{partner: True})

    assert [mail.to for mail in mailoutbox] == [[ADDRESS[recipient]]]
    assert PAGE[recipient] in mailoutbox[0].body
    assert world.municipality.name in mailoutbox[0].body
    _assert_no_personal_data(mailoutbox[0], case)
    assert _referral(case, kind).alerted_at is not None


@pytest.mark.parametrize(
    ("partner", "kind", "recipient"),
    [(POLICE, ReferralKind.TO_POLICE, "police_contact"), (DSC, ReferralKind.TO_DSC, "dsc")],
)
def test_a_later_referral_to_a_partner_mails_its_contact(
    world, addresses, mailoutbox, django_capture_on_commit_callbacks, partner, kind, recipient
):
    case = _routed(world)  # on_commit not run: the coordinator's notice is left unsent
    Referral.objects.filter(case=case).update(alerted_at=timezone.now())
    services.record_consent(
        actor=world.coordinator, case=case, partner=partner, scopes=[ConsentScope.CONTACT]
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.refer_to_partner(actor=world.coordinator, case=case, partner=partner)

    assert [mail.to for mail in mailoutbox] == [[ADDRESS[recipient]]]
    assert PAGE[recipient] in mailoutbox[0].body
    _assert_no_personal_data(mailoutbox[0], case)
    assert _referral(case, kind).alerted_at is not None


def test_the_link_is_absolute_when_the_site_address_is_set(world, addresses, mailoutbox, settings):
    settings.SITE_URL = "https://samvirke.example.dk"
    _routed(world, police=True)
    assert tasks.relay_referral_alerts() == 2
    bodies = {mail.to[0]: mail.body for mail in mailoutbox}
    assert "https://samvirke.example.dk/sager/" in bodies[ADDRESS["coordinator"]]
    assert "https://samvirke.example.dk/delte-sager/" in bodies[ADDRESS["police_contact"]]


def test_a_notice_is_sent_once_however_often_it_is_asked_for(world, addresses, mailoutbox):
    case = _routed(world)
    referral = _referral(case, ReferralKind.TO_COORDINATOR)

    assert tasks.alert_referral.delay(referral.pk).get() is True
    assert tasks.alert_referral.delay(referral.pk).get() is False  # delivered twice
    assert tasks.relay_referral_alerts() == 0  # the relay after the task
    assert len(mailoutbox) == 1


def test_a_failed_mail_leaves_the_notice_to_the_relay(
    world, addresses, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        mock.patch("cases.alerts.send_mail", side_effect=OSError("smtp down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        # robust: the failed task does not fail the triage.
        case = _routed(world)
    referral = _referral(case, ReferralKind.TO_COORDINATOR)
    assert referral.alerted_at is None
    assert mailoutbox == []

    assert tasks.relay_referral_alerts() == 1
    assert [mail.to for mail in mailoutbox] == [[ADDRESS["coordinator"]]]
    referral.refresh_from_db()
    assert referral.alerted_at is not None


def test_the_relay_sends_a_notice_the_broker_never_got(
    world, addresses, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        mock.patch("cases.services._queue_alert", side_effect=ConnectionError) as queue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        case = _routed(world, dsc=True)
    assert queue.call_count == 2  # the coordinator's and DSC's
    assert mailoutbox == []

    assert tasks.relay_referral_alerts() == 2
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(
        [ADDRESS["coordinator"], ADDRESS["dsc"]]
    )
    assert not alerts.outbox().filter(case=case).exists()


def test_referrals_from_before_the_notices_are_not_mailed_at_deploy(world, addresses, mailoutbox):
    migration = import_module("cases.migrations.0014_referral_notices_before_this_were_seen")
    old = _routed(world, police=True, dsc=True)
    Referral.objects.filter(case=old).update(
        alerted_at=None, created_at=timezone.now() - datetime.timedelta(days=2)
    )
    assert alerts.waiting_referral_notices().count() == 3  # what the relay would have sent

    migration.referral_notices_before_this_were_seen(apps, None)

    new = _routed(world)
    assert tasks.relay_referral_alerts() == 1
    assert [mail.to for mail in mailoutbox] == [[ADDRESS["coordinator"]]]
    assert not alerts.outbox().exists()
    assert _referral(new, ReferralKind.TO_COORDINATOR).alerted_at is not None


def test_the_migration_leaves_answered_referrals_and_other_kinds_as_they_are(world):
    migration = import_module("cases.migrations.0014_referral_notices_before_this_were_seen")
    case = _routed(world, police=True)
    services.respond_to_referral(
        actor=world.coordinator,
        referral=_referral(case, ReferralKind.TO_COORDINATOR),
        accept=True,
    )
    migration.referral_notices_before_this_were_seen(apps, None)
    alerted = dict(case.referrals.values_list("kind", "alerted_at"))
    assert alerted[ReferralKind.TO_COORDINATOR] is None  # answered: no mail due anyway
    assert alerted[ReferralKind.TO_POLICE] is not None
    assert alerted[ReferralKind.TO_VISITATOR] is None


def test_onward_and_ordinary_visitator_referrals_are_not_mailed(
    world, addresses, mailoutbox, django_capture_on_commit_callbacks
):
    RoleAssignment.objects.filter(user=world.visitator).update(email="visitator@kommune.example")
    case = _routed(world)
    Referral.objects.filter(case=case).update(alerted_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        world.refer(urgency=Urgency.HIGH)  # to the visitator, not acute
        services.refer_onward(
            actor=world.coordinator, case=case, external="Krisecenter", reason="Husly"
        )

    assert tasks.relay_referral_alerts() == 0
    assert mailoutbox == []
    for referral in Referral.objects.filter(alerted_at__isnull=True):
        assert tasks.alert_referral.delay(referral.pk).get() is False
    assert mailoutbox == []


@pytest.mark.parametrize("accept", [True, False])
def test_a_referral_answered_before_the_relay_is_not_mailed(world, addresses, mailoutbox, accept):
    case = _routed(world, coordinator=False, police=True)
    services.respond_to_referral(
        actor=world.police_contact,
        referral=_referral(case, ReferralKind.TO_POLICE),
        accept=accept,
        reason="" if accept else "Ikke vores distrikt",
    )
    assert tasks.relay_referral_alerts() == 0
    assert mailoutbox == []


def test_a_recipient_without_an_address_is_logged_with_ids_only_and_not_retried(
    world, mailoutbox, caplog
):
    case = _routed(world)
    referral = _referral(case, ReferralKind.TO_COORDINATOR)
    with caplog.at_level(logging.WARNING, logger="cases.alerts"):
        assert tasks.relay_referral_alerts() == 1
    assert mailoutbox == []
    assert caplog.messages == [
        f"Referral {referral.pk} (to_coordinator): no e-mail to send it to in "
        f"organisation {world.municipality.pk}"
    ]
    referral.refresh_from_db()
    assert referral.alerted_at is not None
    assert tasks.relay_referral_alerts() == 0


def test_a_recipient_who_no_longer_holds_the_role_is_not_mailed(world, addresses, mailoutbox):
    _routed(world, coordinator=False, police=True)
    RoleAssignment.objects.filter(user=world.police_contact, role=Role.POLICE_CONTACT).update(
        valid_to=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert tasks.relay_referral_alerts() == 1
    assert mailoutbox == []


def test_the_users_address_serves_when_the_role_has_none(world, addresses, mailoutbox):
    RoleAssignment.objects.filter(user=world.coordinator).update(email="")
    world.coordinator.email = "egen@kommune.example"
    world.coordinator.save(update_fields=["email"])
    _routed(world)
    assert tasks.relay_referral_alerts() == 1
    assert mailoutbox[0].to == ["egen@kommune.example"]


def test_one_relay_sends_acute_alerts_and_notices_every_minute(
    world, addresses, mailoutbox, settings
):
    RoleAssignment.objects.filter(user=world.visitator).update(email="visitator@kommune.example")
    world.refer(urgency=Urgency.ACUTE)
    _routed(world)
    assert tasks.relay_referral_alerts() == 2
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(
        [ADDRESS["coordinator"], "visitator@kommune.example"]
    )
    jobs = {job["task"]: job for job in settings.CELERY_BEAT_SCHEDULE.values()}
    assert jobs["cases.tasks.relay_referral_alerts"]["schedule"] == 60
    assert "cases.tasks.relay_acute_alerts" not in jobs


def test_the_task_names_from_before_still_run(world, addresses, mailoutbox):
    """Messages queued under the old names before a deploy are run after it."""
    case = _routed(world, police=True)
    coordinator = _referral(case, ReferralKind.TO_COORDINATOR)
    assert tasks.alert_acute_referral.delay(coordinator.pk).get() is True
    assert tasks.relay_acute_alerts.delay().get() == 1  # the police contact's
    assert len(mailoutbox) == 2


# --- A mail that fails, a hung server, a disqualified recipient ------------------------------

COORDINATOR_BOX = "koordinator@kommune.example"
VISITATOR_BOX = "visitator@kommune.example"
POLICE_BOX = "politi@politi.example"


def test_one_refused_address_does_not_stop_the_relay_sending_acute_alerts(world, mailoutbox):
    """A refused address is permanent: the relay logs it and goes on, acute alerts first, so
    one bad mailbox never holds up the alert about a citizen in danger."""
    import smtplib

    RoleAssignment.objects.filter(user=world.coordinator).update(email=COORDINATOR_BOX)
    RoleAssignment.objects.filter(user=world.visitator).update(email=VISITATOR_BOX)
    with mock.patch("cases.services._queue_alert"):  # the broker never got either message
        world.active()  # the notice to the coordinator, the older one
        acute = world.refer(urgency=Urgency.ACUTE).referrals.get(kind=ReferralKind.TO_VISITATOR)
    real_send = alerts.send_mail

    def smtp(**kwargs):
        if COORDINATOR_BOX in kwargs["recipient_list"]:
            raise smtplib.SMTPRecipientsRefused({COORDINATOR_BOX: (550, b"no such user")})
        return real_send(**kwargs)

    with mock.patch("cases.alerts.send_mail", side_effect=smtp):
        assert tasks.relay_referral_alerts() == 1

    acute.refresh_from_db()
    assert acute.alerted_at is not None
    assert [m.to for m in mailoutbox] == [[VISITATOR_BOX]]
    refused = Referral.objects.get(kind=ReferralKind.TO_COORDINATOR)
    assert refused.alerted_at is None  # tried again next minute


def test_a_recipient_disqualified_on_the_case_is_not_mailed(world, mailoutbox):
    RoleAssignment.objects.filter(user=world.police_contact).update(email=POLICE_BOX)
    with mock.patch("cases.services._queue_alert"):
        case = world.active(police=True)
    services.disqualify(
        actor=world.visitator, case=case, user=world.police_contact, reason="Nabo til borgeren"
    )
    tasks.relay_referral_alerts()
    assert not [m for m in mailoutbox if POLICE_BOX in m.to]


def test_an_acute_alert_does_not_go_to_a_visitator_disqualified_on_the_case(world, mailoutbox):
    RoleAssignment.objects.filter(user=world.deputy_visitator).update(email="deputy@k.example")
    RoleAssignment.objects.filter(user=world.visitator).update(email=VISITATOR_BOX)
    with mock.patch("cases.services._queue_alert"):
        case = world.refer(urgency=Urgency.ACUTE)
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Er den, der stalker"
    )
    tasks.relay_referral_alerts()
    assert [m.to for m in mailoutbox] == [[VISITATOR_BOX]]


def test_a_hung_mail_server_times_out(settings):
    """A mail is sent under the referral's row lock, which the answer to it waits for."""
    from config import settings as project_settings

    assert project_settings.EMAIL_TIMEOUT == 15
