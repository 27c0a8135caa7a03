"""Sessions end after 30 idle minutes and after 10 hours whatever happens."""

import time

import pytest
from django.urls import reverse


@pytest.fixture
def logged_in(client, world):
    client.force_login(world.visitator)
    assert client.get(reverse("cases:triage_dashboard")).status_code == 200
    return client


def _shift(client, key, seconds):
    session = client.session
    session[key] = session[key] - seconds
    session.save()


def test_a_session_idle_for_more_than_the_limit_ends(logged_in, settings):
    _shift(logged_in, "last_seen", settings.SESSION_IDLE_SECONDS + 5)
    response = logged_in.get(reverse("cases:triage_dashboard"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert "_auth_user_id" not in logged_in.session


def test_activity_keeps_the_session_alive_until_the_absolute_limit(logged_in, settings):
    _shift(logged_in, "last_seen", settings.SESSION_IDLE_SECONDS - 60)
    assert logged_in.get(reverse("cases:triage_dashboard")).status_code == 200
    assert logged_in.session["last_seen"] >= int(time.time()) - 2

    _shift(logged_in, "started_at", settings.SESSION_ABSOLUTE_SECONDS + 5)
    response = logged_in.get(reverse("cases:triage_dashboard"))
    assert response.status_code == 302


def test_the_login_page_says_the_session_ended_for_being_idle(logged_in, settings):
    _shift(logged_in, "last_seen", settings.SESSION_IDLE_SECONDS + 5)
    page = logged_in.get(reverse("cases:triage_dashboard"), follow=True)
    html = page.content.decode()
    assert "ikke har været aktiv i 30 minutter" in html
    assert "Log ind igen for at fortsætte" in html


def test_a_form_sent_after_the_session_ended_is_said_to_be_unsaved(logged_in, settings, world):
    case = world.active()
    _shift(logged_in, "last_seen", settings.SESSION_IDLE_SECONDS + 5)
    page = logged_in.post(
        reverse("cases:add_note", args=[case.reference]), {"text": "Vigtigt"}, follow=True
    )
    assert "Det, du sendte, blev ikke gemt" in page.content.decode()
    assert not case.notes.exists()


def test_the_login_page_says_the_session_reached_its_absolute_limit(logged_in, settings):
    _shift(logged_in, "started_at", settings.SESSION_ABSOLUTE_SECONDS + 5)
    page = logged_in.get(reverse("cases:triage_dashboard"), follow=True)
    assert "har været logget ind i 10 timer" in page.content.decode()


def test_staying_logged_in_from_the_idle_warning_counts_as_activity(logged_in, settings):
    _shift(logged_in, "last_seen", settings.SESSION_IDLE_SECONDS - 120)
    response = logged_in.post(reverse("keepalive"))
    assert response.status_code == 204
    assert logged_in.session["last_seen"] >= int(time.time()) - 2


def test_the_idle_warning_is_on_every_page_of_a_logged_in_user_only(logged_in, client, settings):
    html = logged_in.get(reverse("directory")).content.decode()
    assert 'id="idle-warning"' in html
    assert f'data-idle-seconds="{settings.SESSION_IDLE_SECONDS}"' in html
    assert " hidden>" in html  # shown by samvirke.js shortly before the limit
    logged_in.logout()
    assert 'id="idle-warning"' not in client.get(reverse("login")).content.decode()


def test_staying_logged_in_does_not_outlast_the_absolute_limit(logged_in, settings):
    _shift(logged_in, "started_at", settings.SESSION_ABSOLUTE_SECONDS + 5)
    response = logged_in.post(reverse("keepalive"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_pdf_status_polled_by_the_page_does_not_keep_an_unattended_session_alive(
    client, world, monkeypatch, settings
):
    """The case page polls a PDF's status every 2 s while the worker makes it (or while the
    broker is down): an hour of polls at a desk nobody sits at must not hold the session
    open for whoever sits down next."""
    from stalkingpakke.models import Document, DocumentKind

    case = world.active()
    document = Document.objects.create(
        case=case, kind=DocumentKind.ACTION_PLAN, requested_by=world.coordinator
    )
    now = [1_800_000_000.0]
    monkeypatch.setattr("cooperation.middleware.time.time", lambda: now[0])
    client.force_login(world.coordinator)
    assert client.get(case.get_absolute_url()).status_code == 200
    poll = reverse("stalkingpakke:document_status", args=[case.reference, document.pk])
    polls = []
    for _minute in range(settings.SESSION_IDLE_SECONDS // 60 + 1):
        now[0] += 60
        polls.append(client.get(poll, HTTP_HX_REQUEST="true").status_code)

    assert polls[0] == 200 and polls[-1] == 302  # the last poll found the session ended
    response = client.get(case.get_absolute_url())
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_page_the_user_opens_still_counts_as_activity(client, world, monkeypatch, settings):
    now = [1_800_000_000.0]
    monkeypatch.setattr("cooperation.middleware.time.time", lambda: now[0])
    client.force_login(world.visitator)
    for _minute in range(settings.SESSION_IDLE_SECONDS // 60 + 1):
        now[0] += 60
        assert client.get(reverse("cases:triage_dashboard")).status_code == 200


@pytest.mark.django_db
def test_the_beat_deletes_expired_sessions_and_keeps_live_ones(logged_in, settings):
    """A browser closed without logging out leaves its session row behind: Celery beat
    deletes it once it has expired (what `manage.py clearsessions` does)."""
    import datetime

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from cooperation.tasks import clear_expired_sessions

    left_behind = SessionStore()
    left_behind["last_seen"] = int(time.time())
    left_behind.create()
    Session.objects.filter(pk=left_behind.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    live = logged_in.session.session_key

    clear_expired_sessions.delay().get()

    assert list(Session.objects.values_list("pk", flat=True)) == [live]
    assert logged_in.get(reverse("cases:triage_dashboard")).status_code == 200
    jobs = {job["task"]: job for job in settings.CELERY_BEAT_SCHEDULE.values()}
    assert jobs["cooperation.tasks.clear_expired_sessions"]["schedule"] <= 24 * 60 * 60
