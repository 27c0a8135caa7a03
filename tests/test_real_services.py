"""The real PostgreSQL and Redis, where they are the point (run in CI; skipped locally)."""

import datetime
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import DatabaseError, connection, transaction

from cases.models import AuditEntry, Case
from cases.tasks import remind_overdue_triage
from config.celery import app


@pytest.mark.postgres
def test_database_trigger_refuses_to_rewrite_the_audit_trail(world):
    world.refer()
    assert connection.vendor == "postgresql"
    for statement in (
        "UPDATE cases_auditentry SET username = 'someone else'",
        "DELETE FROM cases_auditentry",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEntry.objects.exclude(username="someone else").exists()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_reminder_goes_through_redis_to_a_real_worker(world):
    world.visitator.email = "v@example.invalid"
    world.visitator.save()
    case = world.refer()
    Case.objects.filter(pk=case.pk).update(triage_deadline=datetime.date(2020, 1, 1))

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        remind_overdue_triage.delay()
        deadline = time.monotonic() + 20
        while not mail.outbox and time.monotonic() < deadline:
            time.sleep(0.2)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["v@example.invalid"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_referral_notice_goes_through_redis_to_a_real_worker_once(world):
    """Triage commits, the notice is queued after the commit, a real worker mails the
    coordinator; the relay after it finds nothing more to send."""
    from cases.tasks import relay_referral_alerts

    world.coordinator.email = "c@example.invalid"
    world.coordinator.save()

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        case = world.active()
        deadline = time.monotonic() + 20
        while not mail.outbox and time.monotonic() < deadline:
            time.sleep(0.2)

    assert [message.to for message in mail.outbox] == [["c@example.invalid"]]
    assert case.referrals.get(kind="to_coordinator").alerted_at is not None
    assert relay_referral_alerts() == 0
    assert len(mail.outbox) == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_join_notice_goes_through_redis_to_a_real_worker_once(world):
    """The join commits, the coordinator's notice is queued after the commit, a real worker
    mails it; the relay after it finds nothing more to send."""
    from cases import services
    from cases.models import CaseNotice, Referral
    from cases.tasks import relay_referral_alerts

    world.coordinator.email = "c@example.invalid"
    world.coordinator.save()
    case = world.active(full_name="Anna Holm")
    duplicate = world.refer(full_name="A. Holm")
    Referral.objects.update(alerted_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        services.join_duplicate(actor=world.visitator, case=duplicate, into=case)
        deadline = time.monotonic() + 20
        while not mail.outbox and time.monotonic() < deadline:
            time.sleep(0.2)

    assert [message.to for message in mail.outbox] == [["c@example.invalid"]]
    assert CaseNotice.objects.get(case=case).sent_at is not None
    assert relay_referral_alerts() == 0
    assert len(mail.outbox) == 1


@pytest.mark.postgres
def test_hot_queries_are_prepared_once_per_connection(world, client):
    """DB_PREPARED_STATEMENTS (on by default): a page asked again on the same connection runs
    its queries as prepared statements, so PostgreSQL stops planning them per request."""
    client.force_login(world.visitator)
    for _ in range(6):  # psycopg prepares a query on its fifth run (DB_PREPARE_THRESHOLD)
        assert client.get("/visitation/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("cases_case" in statement for statement in prepared), prepared
