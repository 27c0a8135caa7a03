"""'Lav PDF' never silently leaves out what was typed: the action plan's PDF is ordered with
the plan's own form ("Gem og lav PDF": saved first, then ordered), and the pages whose PDF
has a button of its own say which saved version the PDF will show."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from stalkingpakke import incident_log, services
from stalkingpakke.content import load_defaults
from stalkingpakke.models import ActionPlan, DocumentKind, DocumentStatus, ToolKind, ToolVersion


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    load_defaults(ToolVersion, ToolKind.values)


BASE = {"items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0", "items-0-status": "not_started"}


def _saved_plan(world, case):
    services.save_action_plan(
        actor=world.coordinator,
        case=case,
        goals="Tryghed",
        safety_measures="",
        next_review=None,
        items=[{"who": "Koordinator", "what": "Ring til politiet", "status": "in_progress"}],
    )


def _same_as_saved(version):
    """The plan's form as the page sends it back untouched (its one item an initial form)."""
    return {
        **BASE,
        "items-INITIAL_FORMS": "1",
        "version": str(version),
        "goals": "Tryghed",
        "safety_measures": "",
        "items-0-who": "Koordinator",
        "items-0-what": "Ring til politiet",
        "items-0-status": "in_progress",
    }


def _text(document):
    with document.file.open("rb") as handle:
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)


def test_save_and_make_pdf_saves_what_was_typed_and_the_pdf_shows_it(
    client, world, django_capture_on_commit_callbacks
):
    case = world.active()
    _saved_plan(world, case)
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:action_plan", args=[case.reference])
    typed = {**_same_as_saved(1), "goals": "Tryghed og ny bolig", "pdf": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, typed, follow=True)
    page = response.content.decode().replace("&#x27;", "'")
    assert "Handleplanen er gemt som udgave 2, og PDF'en bliver lavet" in page
    plan = ActionPlan.objects.get(case=case)
    assert (plan.version, plan.goals) == (2, "Tryghed og ny bolig")
    assert plan.items.get().what == "Ring til politiet"
    document = case.documents.get(kind=DocumentKind.ACTION_PLAN)
    assert document.status == DocumentStatus.READY, document.error
    assert document.data_version == 2
    assert "Tryghed og ny bolig" in _text(document)
    assert "Handleplan, udgave 2, bestilt" in client.get(url).content.decode()


def test_save_and_make_pdf_without_changes_saves_no_new_version(
    client, world, django_capture_on_commit_callbacks
):
    case = world.active()
    _saved_plan(world, case)
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:action_plan", args=[case.reference])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**_same_as_saved(1), "pdf": "1"}, follow=True)
    page = response.content.decode().replace("&#x27;", "'")
    assert "Handleplanen er ikke ændret siden udgave 1. PDF'en bliver lavet" in page
    plan = ActionPlan.objects.get(case=case)
    assert (plan.version, plan.revisions.count()) == (1, 1)
    document = case.documents.get(kind=DocumentKind.ACTION_PLAN)
    assert document.data_version == 1


def test_save_and_make_pdf_with_errors_or_a_stale_version_orders_nothing(client, world):
    case = world.active()
    _saved_plan(world, case)
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:action_plan", args=[case.reference])
    wrong = {**_same_as_saved(1), "items-0-what": "", "goals": "Ny", "pdf": "1"}
    response = client.post(url, wrong)
    assert response.status_code == 200
    assert 'id="error-summary"' in response.content.decode()
    assert "Ny" in response.content.decode()  # what was typed is kept
    stale = client.post(url, {**_same_as_saved(0), "goals": "Ny", "pdf": "1"})
    assert "En anden har gemt" in stale.content.decode()
    assert not case.documents.exists()
    assert ActionPlan.objects.get(case=case).version == 1


def test_the_action_plan_pdf_is_ordered_with_the_plans_form(client, world):
    case = world.active()
    _saved_plan(world, case)
    client.force_login(world.coordinator)
    page = client.get(reverse("stalkingpakke:action_plan", args=[case.reference])).content
    page = page.decode()
    form = page[page.index('<form method="post" novalidate class="samvirke-form">') :]
    form = form[: form.index("</form>")]
    assert 'name="pdf" value="1"' in form
    assert 'aria-describedby="pdf-hint"' in form
    assert 'id="pdf-hint">Senest gemt: udgave 1,' in form
    # No button of its own that would leave what was typed behind.
    pdf_order = reverse("stalkingpakke:request_document", args=[case.reference, "action_plan"])
    assert pdf_order not in page
    assert ">Lav PDF</button>" not in page


def test_the_log_and_assessment_say_which_saved_version_the_pdf_will_show(client, world):
    case = world.active()
    for day in (2, 3):
        incident_log.add_entry(
            actor=world.coordinator,
            case=case,
            data={
                "occurred_at": f"2026-03-0{day}T12:00:00+01:00",
                "what_happened": "Ringede",
                "behaviours": [],
            },
        )
    services.save_form(
        actor=world.coordinator, case=case, kind=ToolKind.ASSESSMENT, answers={"online": "x"}
    )
    client.force_login(world.coordinator)
    log = client.get(reverse("stalkingpakke:incident_log", args=[case.reference]))
    log = log.content.decode().replace("&#x27;", "'")
    assert (
        '<p id="document-shows">PDF\'en viser logskemaet, som det er gemt: '
        "til og med registrering nr. 2.</p>"
    ) in log
    assert 'aria-describedby="document-shows">Lav PDF</button>' in log
    url = reverse("stalkingpakke:tool_form", args=[case.reference, "assessment"])
    assessment = client.get(url).content.decode().replace("&#x27;", "'")
    assert '<p id="document-shows">PDF\'en viser den gemte udgave (udgave 1, gemt ' in assessment
    assert "Ændringer, du ikke har gemt, kommer ikke med." in assessment
