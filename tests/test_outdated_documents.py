"""A PDF made before the incident log got new entries (or before the action plan was saved
again) says so in words, wherever it is listed: the police contact, who cannot order a new
one, must not pass an old log on as if it were complete."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from stalkingpakke import documents, incident_log, services
from stalkingpakke.content import load_defaults
from stalkingpakke.models import DocumentKind, DocumentStatus, ToolKind, ToolVersion

ONE = "Logskemaet har fået 1 ny registrering, siden PDF'en blev lavet."
TWO = "Logskemaet har fået 2 nye registreringer, siden PDF'en blev lavet."
PLAN = "Handleplanen er ændret, siden PDF'en blev lavet."


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    load_defaults(ToolVersion, ToolKind.values)


def _add(world, case, text, day):
    return incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={
            "occurred_at": timezone.make_aware(datetime.datetime(2026, 3, day, 12, 0)),
            "what_happened": text,
            "behaviours": ["calls"],
        },
    )


def _pdf(world, case, kind, capture):
    with capture(execute=True):
        document = documents.request_document(actor=world.coordinator, case=case, kind=kind)
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY, document.error
    return document


def _plan(world, case, goals):
    services.save_action_plan(
        actor=world.coordinator,
        case=case,
        goals=goals,
        safety_measures="",
        next_review=None,
        items=[],
    )


def _page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode().replace("&#x27;", "'")


def test_entries_added_after_the_pdf_are_counted_for_police_and_coordinator(
    client, world, django_capture_on_commit_callbacks
):
    case = world.active(police=True)
    _add(world, case, "Ringede om natten", 2)
    _pdf(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    log = reverse("stalkingpakke:incident_log", args=[case.reference])

    _add(world, case, "Stod ved døren", 3)
    for user in (world.police_contact, world.coordinator):
        assert ONE in _page(client, user, case.get_absolute_url())
        assert ONE in _page(client, user, log)

    # A correction is a new entry in the log too, and not in the PDF.
    second = _add(world, case, "Sendte blomster", 4)
    incident_log.correct_entry(
        actor=world.coordinator,
        entry=second,
        data={"occurred_at": second.occurred_at, "what_happened": "Sendte roser"},
        reason="Borgeren huskede forkert",
    )
    police_page = _page(client, world.police_contact, case.get_absolute_url())
    assert "Logskemaet har fået 3 nye registreringer" in police_page

    # Who may order a new PDF reads it next to the button; the police contact has no button.
    coordinator_log = _page(client, world.coordinator, log)
    assert '<p id="document-outdated">' in coordinator_log
    assert 'aria-describedby="document-outdated"' in coordinator_log
    police_log = _page(client, world.police_contact, log)
    assert "Logskemaet har fået 3 nye registreringer" in police_log
    assert "document-outdated" not in police_log


def test_a_current_pdf_says_nothing(client, world, django_capture_on_commit_callbacks):
    case = world.active(police=True)
    _add(world, case, "Ringede om natten", 2)
    _add(world, case, "Stod ved døren", 3)
    _pdf(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    _plan(world, case, "Tryghed")
    _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    for user in (world.police_contact, world.coordinator):
        for url in (
            case.get_absolute_url(),
            reverse("stalkingpakke:incident_log", args=[case.reference]),
            reverse("stalkingpakke:action_plan", args=[case.reference]),
        ):
            page = _page(client, user, url)
            assert "siden PDF'en blev lavet" not in page, url
            assert "document-outdated" not in page


def test_a_pdf_of_an_empty_log_counts_every_entry_after_it(
    client, world, django_capture_on_commit_callbacks
):
    case = world.active(police=True)
    _pdf(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    assert "siden PDF'en" not in _page(client, world.police_contact, case.get_absolute_url())
    _add(world, case, "Ringede om natten", 2)
    _add(world, case, "Stod ved døren", 3)
    assert TWO in _page(client, world.police_contact, case.get_absolute_url())


def test_a_new_pdf_is_current_again(client, world, django_capture_on_commit_callbacks):
    case = world.active(police=True)
    _add(world, case, "Ringede om natten", 2)
    _pdf(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    _add(world, case, "Stod ved døren", 3)
    _pdf(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    page = _page(client, world.police_contact, case.get_absolute_url())
    # The newest is current; the earlier edition, listed apart, says what it lacks.
    newest, earlier = page.split("Tidligere udgave", 1)
    assert "siden PDF'en" not in newest
    assert ONE in earlier


def test_an_action_plan_saved_after_its_pdf(client, world, django_capture_on_commit_callbacks):
    case = world.active(police=True)
    _plan(world, case, "Tryghed")
    _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    _plan(world, case, "Tryghed og ny bolig")
    plan = reverse("stalkingpakke:action_plan", args=[case.reference])
    for user in (world.police_contact, world.coordinator):
        assert PLAN in _page(client, user, case.get_absolute_url())
        assert PLAN in _page(client, user, plan)
    assert '<p id="document-outdated">' in _page(client, world.coordinator, plan)


def test_an_entry_made_while_the_pdf_renders_is_left_for_the_next_one(
    world, django_capture_on_commit_callbacks
):
    """The PDF shows the log as it stood when it started: an entry a colleague makes while a
    long log renders is in neither its pages nor its chain hash, so the case page counts it
    as newer than the PDF (it was counted in the hash but not printed)."""
    from unittest import mock

    case = world.active(police=True)
    _add(world, case, "Ringede om natten", 2)
    real = incident_log.verify_chain

    def colleague_adds_an_entry_meanwhile(c, *args, **kwargs):
        _add(world, case, "Stod ved døren", 3)
        return real(c, *args, **kwargs)

    with mock.patch.object(incident_log, "verify_chain", colleague_adds_an_entry_meanwhile):
        document = _pdf(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)

    annotated = documents.with_outdated(case.documents.filter(pk=document.pk)).get()
    assert annotated.newer_entries == 1


def test_an_action_plan_saved_while_its_pdf_waited_counts_as_changed(
    world, django_capture_on_commit_callbacks
):
    """The PDF keeps no plan version: a save between asking for it and its being finished may
    or may not be in it, so it is never called current."""
    case = world.active(police=True)
    _plan(world, case, "Tryghed")
    with django_capture_on_commit_callbacks(execute=True):
        document = documents.request_document(
            actor=world.coordinator, case=case, kind=DocumentKind.ACTION_PLAN
        )
        _plan(world, case, "Tryghed og ny bolig")  # saved before the render runs
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert documents.with_outdated(case.documents.filter(pk=document.pk)).get().plan_changed


def test_an_action_plan_saved_before_its_pdf_was_asked_for_is_current(
    world, django_capture_on_commit_callbacks
):
    case = world.active(police=True)
    _plan(world, case, "Tryghed")
    document = _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    assert not documents.with_outdated(case.documents.filter(pk=document.pk)).get().plan_changed
