"""The permission matrix of the stalking package's URLs: every URL x every role x a case
shared with the police, a case not shared, and a closed one (see test_permission_matrix.py
for the case flow's URLs and the principles; the same ones hold here).

Reading a tool needs the kind of information it shows to be visible to the user (all of it
for the visitator and the coordinator, what the citizen consented to for the police);
changing one needs full access on an open case (403 when the case is visible but closed or
read-only). POST-only URLs answer 405 to a GET.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import services
from stalkingpakke import attachments, documents, incident_log
from stalkingpakke import services as tools
from stalkingpakke.models import Document

pytestmark = pytest.mark.django_db

ROLES = (
    "visitator",
    "coordinator",
    "police_contact",
    "dsc",
    "first_contact",
    "other_visitator",
    "disqualified",
    "admin",
    "anonymous",
)
COLUMNS = ("police", "internal", "closed")

READ = {
    "visitator": "200 200 200",
    "coordinator": "200 200 200",
    "police_contact": "200 404 404",
    "dsc": "404 404 404",
    "first_contact": "404 404 404",
    "other_visitator": "404 404 404",
    "disqualified": "404 404 404",
    "admin": "404 404 404",
    "anonymous": "302 302 302",
}
EDIT = {
    **READ,
    "visitator": "200 200 403",
    "coordinator": "200 200 403",
    "police_contact": "403 404 404",
}
POST_ONLY = {role: "405 405 405" for role in ROLES} | {"anonymous": "302 302 302"}
NO_CASE = {role: "200 200 200" for role in ROLES} | {
    "admin": "403 403 403",
    "anonymous": "302 302 302",
}

# fmt: off
MATRIX = {
    "index":             NO_CASE,
    "tool":              NO_CASE,
    "incident_log":      READ,
    "timeline_chart":    READ,
    "attachment":        READ,
    "action_plan":       READ,
    "tool_form":         READ,
    "document_status":   READ,
    "download_document": READ,
    "import_csv":        EDIT,
    "correct_entry":     EDIT,
    "add_attachment":    EDIT,
    "request_document":  POST_ONLY,
    "retry_document":    POST_ONLY,
}
# fmt: on


def _case(world, column, tmp_path):
    case = world.active(police=True) if column != "internal" else world.active()
    entry = incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={
            "occurred_at": datetime.datetime(2026, 3, 2, 20, 0, tzinfo=datetime.UTC),
            "what_happened": "Opkald",
            "behaviours": ["calls"],
        },
    )
    attachment = attachments.add_attachment(
        actor=world.coordinator,
        entry=entry,
        upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4 test"),
    )
    tools.save_action_plan(
        actor=world.coordinator,
        case=case,
        goals="Tryghed",
        safety_measures="",
        next_review=None,
        items=[],
    )
    document = documents.request_document(actor=world.coordinator, case=case, kind="incident_log")
    Document.objects.filter(pk=document.pk).update(status="ready", file="x.pdf")
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Familie"
    )
    if column == "closed":
        case = services.close(actor=world.coordinator, case=case, reason="resolved")
    return case, entry, attachment, document


def _url(name, case, entry, attachment, document):
    ref = case.reference
    args = {
        "index": [],
        "tool": ["advice"],
        "incident_log": [ref],
        "timeline_chart": [ref],
        "attachment": [ref, attachment.pk],
        "action_plan": [ref],
        "tool_form": [ref, "assessment"],
        "document_status": [ref, document.pk],
        "download_document": [ref, document.pk],
        "import_csv": [ref],
        "correct_entry": [ref, entry.sequence],
        "add_attachment": [ref, entry.sequence],
        "request_document": [ref, "incident_log"],
        "retry_document": [ref, document.pk],
    }[name]
    return reverse(f"stalkingpakke:{name}", args=args)


def _user(world, role):
    return {
        "disqualified": world.deputy_visitator,
        "anonymous": None,
    }.get(role, getattr(world, role, None))


def _cells():
    for name, rows in MATRIX.items():
        assert set(rows) == set(ROLES), name
        for role, row in rows.items():
            for column, code in zip(COLUMNS, row.split(), strict=True):
                yield pytest.param(name, role, column, int(code), id=f"{name}-{role}-{column}")


@pytest.mark.parametrize(("name", "role", "column", "expected"), list(_cells()))
def test_tool_permission_matrix(client, world, settings, tmp_path, name, role, column, expected):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 test")
    case, entry, attachment, document = _case(world, column, tmp_path)
    user = _user(world, role)
    if user is not None:
        client.force_login(user)
    response = client.get(_url(name, case, entry, attachment, document))
    assert response.status_code == expected


def test_every_stalkingpakke_url_is_in_the_matrix():
    from stalkingpakke.urls import urlpatterns

    assert {p.name for p in urlpatterns} == set(MATRIX)
