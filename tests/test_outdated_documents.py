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
    assert 'aria-describedby="document-shows document-outdated">Lav PDF' in coordinator_log
    police_log = _page(client, world.police_contact, log)
    assert "Logskemaet har fået 3 nye registreringer" in police_log
    assert "document-outdated" not in police_log
    # ... but is told whom to ask for a new one.
    assert "Sagens primære koordinator kan lave en ny: bed om den." in police_log
    assert "Sagens primære koordinator kan lave en ny" not in coordinator_log


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


def _annotated(case, document):
    return documents.with_outdated(case.documents.filter(pk=document.pk)).get()


def test_a_save_while_the_pdf_waited_is_in_it_and_it_is_current(
    world, django_capture_on_commit_callbacks
):
    """The worker records the version it read with the plan: a save between ordering the PDF
    and its being made is in it, so it is current (the old rule called it changed because the
    plan was saved after the PDF was ordered), and it says which version it shows."""
    case = world.active(police=True)
    _plan(world, case, "Tryghed")
    with django_capture_on_commit_callbacks(execute=True):
        document = documents.request_document(
            actor=world.coordinator, case=case, kind=DocumentKind.ACTION_PLAN
        )
        _plan(world, case, "Tryghed og ny bolig")  # saved before the render runs
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert document.data_version == 2
    annotated = _annotated(case, document)
    assert not annotated.plan_changed
    assert annotated.label == "Handleplan, udgave 2"


def test_a_save_while_the_pdf_is_made_is_not_in_it_and_it_is_outdated(
    world, django_capture_on_commit_callbacks
):
    """Saved after the worker read the plan, before it finished: the PDF shows version 1."""
    from unittest import mock

    from stalkingpakke import pdf

    case = world.active(police=True)
    _plan(world, case, "Tryghed")
    real = pdf.html_to_pdf

    def colleague_saves_meanwhile(html):
        _plan(world, case, "Tryghed og ny bolig")
        return real(html)

    with mock.patch.object(pdf, "html_to_pdf", colleague_saves_meanwhile):
        document = _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    assert document.data_version == 1
    assert _annotated(case, document).plan_changed


def test_only_the_pdf_of_the_earlier_version_is_outdated(
    client, world, django_capture_on_commit_callbacks
):
    """The reviewer's case: a PDF of version 1, the plan saved as version 2, a PDF of
    version 2, and (the plan saved while it waited) two PDFs of version 3."""
    case = world.active(police=True)
    _plan(world, case, "Tryghed")
    first = _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    _plan(world, case, "Tryghed og ny bolig")
    second = _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    assert _annotated(case, first).plan_changed
    assert not _annotated(case, second).plan_changed

    with django_capture_on_commit_callbacks(execute=True):
        third = documents.request_document(
            actor=world.coordinator, case=case, kind=DocumentKind.ACTION_PLAN
        )
        _plan(world, case, "Tryghed, ny bolig og voldsalarm")
    fourth = _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    assert [_annotated(case, d).plan_changed for d in (first, second, third, fourth)] == [
        True,
        True,
        False,
        False,
    ]

    # Each line says which version it shows; only the old ones say they are outdated.
    page = _page(
        client, world.coordinator, reverse("stalkingpakke:action_plan", args=[case.reference])
    )
    lines = {
        d.pk: page[page.index(f'id="document-{d.pk}"') :].split("</li>", 1)[0]
        for d in (first, second, third, fourth)
    }
    assert "Handleplan, udgave 1, bestilt" in lines[first.pk]
    assert "Handleplan, udgave 2, bestilt" in lines[second.pk]
    assert "Handleplan, udgave 3, bestilt" in lines[third.pk]
    assert "Handleplan, udgave 3, bestilt" in lines[fourth.pk]
    assert PLAN in lines[first.pk] and PLAN in lines[second.pk]
    assert PLAN not in lines[third.pk] and PLAN not in lines[fourth.pk]
    assert "document-outdated" not in page  # the newest is current


def test_an_action_plan_saved_before_its_pdf_was_asked_for_is_current(
    world, django_capture_on_commit_callbacks
):
    case = world.active(police=True)
    _plan(world, case, "Tryghed")
    document = _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    assert not _annotated(case, document).plan_changed


def test_an_old_action_plan_pdf_without_a_version_keeps_the_rule_of_when_it_was_ordered(
    world, django_capture_on_commit_callbacks
):
    """A PDF from before the version was kept, whose version could not be worked out: it may
    show either, so a save after it was ordered still counts as changed."""
    case = world.active(police=True)
    _plan(world, case, "Tryghed")
    document = _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    case.documents.filter(pk=document.pk).update(data_version=None)
    assert not _annotated(case, document).plan_changed
    assert _annotated(case, document).label == "Handleplan"
    _plan(world, case, "Tryghed og ny bolig")
    assert _annotated(case, document).plan_changed


def test_log_pdfs_say_up_to_which_entry_they_show(
    client, world, django_capture_on_commit_callbacks
):
    case = world.active(police=True)
    empty = _pdf(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    _add(world, case, "Ringede om natten", 2)
    _add(world, case, "Stod ved døren", 3)
    two = _pdf(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    assert (empty.data_version, two.data_version) == (0, 2)
    page = _page(
        client, world.coordinator, reverse("stalkingpakke:incident_log", args=[case.reference])
    )
    assert "Logskema uden registreringer, bestilt" in page
    assert "Logskema til og med registrering nr. 2, bestilt" in page
    # The case page's list too; a PDF from before the number was kept is read by its hash.
    case.documents.filter(pk=two.pk).update(data_version=None)
    page = _page(client, world.police_contact, case.get_absolute_url())
    assert "Logskema til og med registrering nr. 2 (PDF," in page


def test_an_assessment_pdf_says_its_version_and_when_it_is_outdated(
    client, world, django_capture_on_commit_callbacks
):
    from stalkingpakke.models import ToolKind as Kind

    case = world.active(police=True)

    def save(text):
        services.save_form(
            actor=world.coordinator, case=case, kind=Kind.ASSESSMENT, answers={"online": text}
        )

    save("Skriver om natten")
    document = _pdf(world, case, DocumentKind.ASSESSMENT, django_capture_on_commit_callbacks)
    annotated = _annotated(case, document)
    assert annotated.label == "Afdækning, udgave 1"
    assert not annotated.assessment_changed
    save("Skriver om natten og om dagen")
    assert _annotated(case, document).assessment_changed
    url = reverse("stalkingpakke:tool_form", args=[case.reference, "assessment"])
    assert "Afdækningen er ændret, siden PDF'en blev lavet." in _page(
        client, world.coordinator, url
    )


def test_the_migration_gives_old_action_plan_pdfs_the_version_only_where_certain(
    world, django_capture_on_commit_callbacks
):
    import importlib

    from django.apps import apps

    from stalkingpakke.models import ActionPlanRevision

    migration = importlib.import_module("stalkingpakke.migrations.0008_document_data_version")
    case = world.active(police=True)
    _plan(world, case, "Tryghed")
    certain = _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    _plan(world, case, "Tryghed og ny bolig")  # saved just after: ordered within the margin
    unsure = _pdf(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    hour = datetime.timedelta(hours=1)
    ActionPlanRevision.objects.filter(number=1).update(created_at=timezone.now() - 3 * hour)
    case.documents.filter(pk=certain.pk).update(
        requested_at=timezone.now() - 2 * hour, finished_at=timezone.now() - 2 * hour
    )
    case.documents.update(data_version=None)

    migration.action_plan_versions(apps, None)

    certain.refresh_from_db()
    unsure.refresh_from_db()
    assert (certain.data_version, unsure.data_version) == (1, None)
