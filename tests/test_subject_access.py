"""The citizen's right of access (indsigt): the export of everything held on a case, as PDF
and as JSON (cases/subject_access.py and its views).

- The content is complete: a case filled through the services with a distinctive word in every
  place appears, word for word, in the JSON file and in the PDF's text (read with pypdf).
- Employees appear as organisation and role; no user's name or username is anywhere in it.
- "Who has looked" is the reads of the audit trail, aggregated per day, organisation, role and
  purpose with a count; the export itself is audited and shows up there next time.
- Who may make it: full access only (the visitator, the case's coordinator); everybody else
  404, as a table beside the feature (test_permission_matrix.py leaves this namespace here).
- The number of queries does not grow with the number of notes, entries, forms or reads.
"""

import datetime
import io
import json
from unittest import mock

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm
from pypdf import PdfReader

from cases import audit, services, subject_access
from cases.models import AuditAction, AuditEntry, ConsentPartner, ConsentScope
from cooperation.models import Role
from stalkingpakke import attachments, documents, incident_log
from stalkingpakke import services as tools
from stalkingpakke.content import load_defaults
from stalkingpakke.models import (
    Document,
    DocumentKind,
    DocumentStatus,
    ToolKind,
    ToolVersion,
)

from . import test_permission_matrix
from .factories import user_with_role

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

CPR = "010190-1234"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    # The world fixture creates a dozen users: a fast hasher keeps the matrix quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_defaults(ToolVersion, ToolKind.values)


def _url(name, case):
    return reverse(f"cases:subject_access:{name}", args=[case.reference])


def _rename_employees(world):
    """Distinctive names and usernames, so the test can prove none of them is in the export
    (the world's usernames, e.g. "visitator", are also ordinary words of the export)."""
    for user in world.__dict__.values():
        if hasattr(user, "username"):
            user.username = f"brugernavn{user.pk}qq"
            user.first_name = f"Fornavn{user.pk}qq"
            user.last_name = f"Efternavn{user.pk}qq"
            user.save(update_fields=["username", "first_name", "last_name"])


# One distinctive word for every place the citizen's data can be. No spaces or hyphens, so a
# line break in the PDF cannot split one.
WORDS = {
    "name": "Borgerzqx",
    "safe_contact": "Kontaktvejqqa",
    "safe_contact_time": "Kontakttidqqb",
    "referral_reason": "Henvisningsgrundqqc",
    "triage_reasoning": "Visitationsbegrundelseqqd",
    "note": "Notattekstqqe",
    "checklist_answer": None,  # a yes/no question: the question text is checked instead
    "assessment_text": "Afdaekningssvarqqf",
    "typology_notes": "Typologinoteqqg",
    "plan_goals_first": "Foerstemaalqqh",
    "plan_goals": "Handleplansmaalqqi",
    "plan_safety": "Sikkerhedqqj",
    "plan_item_who": "Hvemqqk",
    "plan_item_what": "Indsatsqql",
    "incident_what": "Haendelseqqm",
    "incident_place": "Stedetqqn",
    "incident_witnesses": "Vidneqqo",
    "incident_evidence": "Beviserqqp",
    "incident_effect": "Paavirkningqqr",
    "incident_journal": "JNRqqs",
    "correction_what": "Rettethaendelseqqt",
    "correction_reason": "Rettelsesgrundqqu",
    "attachment_name": "skaermbilledeqqv.png",
    "closing_comment": "Lukkekommentarqqw",
    "meeting_participants": "Deltagereqqx",
    "meeting_purpose": "Dagsordenqqy",
    "meeting_agreements": "Aftalerqqz",
}
SCRIPT = "<script>alert(1)</script>"


def _text_field(content):
    return next(
        field
        for section in content["sections"]
        for field in section["fields"]
        if field.get("type") in ("text", "textarea")
    )


def filled_case(world, *, close=True):
    """A case taken through every service that stores something about the person."""
    _rename_employees(world)
    checklist = ToolVersion.objects.current(ToolKind.CHECKLIST).content
    question = checklist["questions"][0]
    case = tools.refer_with_checklist(
        actor=world.first_contact,
        checklist_answers={question["key"]: "yes"},
        municipality=world.municipality,
        full_name=f"Mette {WORDS['name']} Sørensen",
        cpr=CPR,
        safe_contact=WORDS["safe_contact"],
        safe_contact_time=WORDS["safe_contact_time"],
        reason=WORDS["referral_reason"],
        consents=[(ConsentPartner.POLICE, s) for s in ConsentScope.values]
        + [(ConsentPartner.DSC, ConsentScope.CONTACT)],
    )
    case = services.start_triage(actor=world.visitator, case=case)
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning=WORDS["triage_reasoning"],
        coordinator=world.coordinator,
        to_police=True,
    )
    services.add_note(actor=world.coordinator, case=case, text=f"{WORDS['note']} {SCRIPT}")
    services.record_network_meeting(
        actor=world.coordinator,
        case=case,
        held_on=timezone.localdate(),
        participants=f"Borgeren, {WORDS['meeting_participants']}",
        purpose=WORDS["meeting_purpose"],
        agreements=WORDS["meeting_agreements"],
        next_meeting=timezone.localdate() + datetime.timedelta(days=14),
    )
    dsc_consent = case.consents.get(partner=ConsentPartner.DSC)
    services.withdraw_consent(actor=world.coordinator, consent=dsc_consent)

    assessment = ToolVersion.objects.current(ToolKind.ASSESSMENT).content
    risk = assessment["risk_indicators"][0]
    tools.save_form(
        actor=world.coordinator,
        case=case,
        kind=ToolKind.ASSESSMENT,
        answers={
            _text_field(assessment)["key"]: WORDS["assessment_text"],
            f"risk:{risk['key']}": "yes",
        },
    )
    tools.save_form(
        actor=world.coordinator,
        case=case,
        kind=ToolKind.TYPOLOGY,
        answers={"type": "rejected", "notes": WORDS["typology_notes"]},
    )
    for goals in (WORDS["plan_goals_first"], WORDS["plan_goals"]):
        tools.save_action_plan(
            actor=world.coordinator,
            case=case,
            goals=goals,
            safety_measures=WORDS["plan_safety"],
            next_review=datetime.date(2026, 6, 1),
            items=[
                {
                    "who": WORDS["plan_item_who"],
                    "what": WORDS["plan_item_what"],
                    "deadline": datetime.date(2026, 5, 1),
                    "status": "in_progress",
                }
            ],
        )
    entry = incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={
            "occurred_at": timezone.make_aware(datetime.datetime(2026, 3, 2, 21, 40)),
            "place": WORDS["incident_place"],
            "what_happened": WORDS["incident_what"],
            "behaviours": ["calls", "threats"],
            "witnesses": WORDS["incident_witnesses"],
            "evidence": WORDS["incident_evidence"],
            "reported_to_police": True,
            "police_journal_number": WORDS["incident_journal"],
            "effect": WORDS["incident_effect"],
        },
    )
    attachments.add_attachment(
        actor=world.coordinator,
        entry=entry,
        upload=SimpleUploadedFile(WORDS["attachment_name"], PNG),
    )
    incident_log.correct_entry(
        actor=world.coordinator,
        entry=entry,
        data={
            "occurred_at": entry.occurred_at,
            "what_happened": WORDS["correction_what"],
            "behaviours": ["calls"],
        },
        reason=WORDS["correction_reason"],
    )
    # Queued only (the task runs after a commit, which the test transaction never makes).
    documents.request_document(actor=world.coordinator, case=case, kind="action_plan")
    if close:
        case = services.close(
            actor=world.coordinator, case=case, reason="other", comment=WORDS["closing_comment"]
        )
    case.refresh_from_db()
    return case


def _export(client, user, case, kind):
    """The JSON file as it is downloaded; the PDF as it is ordered, made by the (in-process)
    worker once the order has committed, and then downloaded."""
    client.force_login(user)
    if kind == "json":
        response = client.post(_url(kind, case))
        assert response.status_code == 200, response.status_code
        return response
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(_url(kind, case))
    assert response.status_code == 303, response.status_code
    assert response["Location"] == _url("page", case)
    copy = Document.objects.filter(case=case, kind=DocumentKind.SUBJECT_ACCESS).latest("pk")
    assert copy.status == DocumentStatus.READY, copy.error
    response = client.get(
        reverse("stalkingpakke:download_document", args=[case.reference, copy.pk])
    )
    assert response.status_code == 200, response.status_code
    downloaded = HttpResponse(b"".join(response.streaming_content))  # .content, as for JSON
    for header, value in response.items():
        downloaded[header] = value
    return downloaded


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _employee_strings(world):
    return ["brugernavn", "Fornavn", "Efternavn"] + [
        u.username for u in world.__dict__.values() if hasattr(u, "username")
    ]


# -- content ------------------------------------------------------------------------------


def test_every_piece_of_the_case_is_in_the_json_and_the_pdf(client, world):
    case = filled_case(world)
    text_json = _export(client, world.coordinator, case, "json").content.decode("utf-8")
    text_pdf = _pdf_text(_export(client, world.coordinator, case, "pdf").content)

    checklist = ToolVersion.objects.current(ToolKind.CHECKLIST).content
    expected = [w for w in WORDS.values() if w] + [
        case.reference,
        "xxxxxx-1234",
        checklist["questions"][0]["text"]["da"],
        "Testpoliti",  # a referral and the consents' partner organisation
        "Andet",  # the closing reason
    ]
    for word in expected:
        assert word in text_json, f"{word} missing in the JSON"
        assert word in text_pdf.replace("\n", " "), f"{word} missing in the PDF"


def test_the_json_has_the_documented_structure(client, world):
    case = filled_case(world)
    data = json.loads(_export(client, world.visitator, case, "json").content)

    assert (data["format"], data["version"]) == ("samvirke-indsigt", 1)
    assert list(data) == [
        "format",
        "version",
        "produced_at",
        "produced_by",
        "explanations",
        "case",
        "person",
        "referrals",
        "consents",
        "triage",
        "closing",
        "notes",
        "network_meetings",
        "timeline",
        "forms",
        "action_plan",
        "incident_log",
        "documents",
        "access_log",
        "access_log_total",
        "other_cases",
    ]
    assert datetime.datetime.fromisoformat(data["produced_at"]).utcoffset() is not None
    assert data["person"]["birth_date"] == "1990-01-01"
    assert data["person"]["cpr_masked"] == "xxxxxx-1234"
    assert data["produced_by"] == {
        "organisation": "Testkommune",
        "role": "visitator",
        "role_label": "Stalkingvisitator",
    }
    referral = data["referrals"][0]
    assert referral["from"] == {
        "organisation": "Testkommune",
        "role": "first_contact",
        "role_label": "Første kontakt",
    }
    assert referral["reason"] == WORDS["referral_reason"]
    withdrawn = next(c for c in data["consents"] if c["partner"] == "dsc")
    assert withdrawn["active"] is False and withdrawn["withdrawn_at"]
    assert withdrawn["withdrawn_by"]["role"] == "coordinator"
    assert {r["to_organisation"] for r in data["triage"]["routes"]} == {
        "Testkommune",
        "Testpoliti",
    }
    plan = data["action_plan"]
    assert [r["number"] for r in plan["revisions"]] == [1, 2]
    assert plan["revisions"][0]["contents"]["goals"] == WORDS["plan_goals_first"]
    assert plan["items"][0]["deadline"] == "2026-05-01"
    original, correction = data["incident_log"]
    assert original["corrected_by"] == correction["sequence"]
    assert correction["corrects"] == original["sequence"]
    assert [b["key"] for b in original["behaviours"]] == ["calls", "threats"]
    assert original["attachments"][0] | {"uploaded_at": None} == {
        "name": WORDS["attachment_name"],
        "content_type": "image/png",
        "size": len(PNG),
        "uploaded_at": None,
    }
    assert data["closing"]["comment"] == WORDS["closing_comment"]
    (meeting,) = data["network_meetings"]
    assert meeting["agreements"] == WORDS["meeting_agreements"]
    assert meeting["planned"] is False
    assert meeting["held_on"] == timezone.localdate().isoformat()
    assert meeting["recorded_by"]["role"] == "coordinator"
    assert set(data["explanations"]) >= {"notes", "access_log", "incident_log"}
    # Danish letters as they are, in UTF-8.
    raw = _export(client, world.visitator, case, "json").content
    assert "Sørensen".encode() in raw and b"\\u00f8" not in raw


def test_the_full_cpr_number_is_in_neither_file(client, world):
    case = filled_case(world)
    text_json = _export(client, world.coordinator, case, "json").content.decode()
    text_pdf = _pdf_text(_export(client, world.coordinator, case, "pdf").content)
    for text in (text_json, text_pdf):
        assert "xxxxxx-1234" in text
        assert "010190" not in text and "0101901234" not in text


def test_markup_in_a_note_is_text_in_the_pdf(client, world):
    case = filled_case(world, close=False)
    data = subject_access.collect(case)
    html = render_to_string("subject_access/pdf.html", {"data": data, "x": data["explanations"]})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html

    text_pdf = _pdf_text(_export(client, world.coordinator, case, "pdf").content)
    assert SCRIPT in text_pdf  # shown as the characters the employee typed
    text_json = _export(client, world.coordinator, case, "json").content.decode()
    assert json.loads(text_json)["notes"][0]["text"].endswith(SCRIPT)


def test_no_employee_name_or_username_anywhere(client, world):
    case = filled_case(world, close=False)
    client.force_login(world.police_contact)
    client.get(case.get_absolute_url())
    text_json = _export(client, world.coordinator, case, "json").content.decode()
    text_pdf = _pdf_text(_export(client, world.coordinator, case, "pdf").content)
    for text in (text_json, text_pdf):
        for needle in _employee_strings(world):
            assert needle not in text, needle


def test_a_routed_timeline_event_loses_the_coordinators_name_but_not_the_event(world):
    case = filled_case(world, close=False)
    routed = case.events.get(kind="routed")
    assert world.coordinator.get_full_name() in routed.summary  # what the case page shows
    timeline = subject_access.collect(case)["timeline"]
    row = next(e for e in timeline if e["kind"] == "routed")
    assert row["summary"] == ""
    assert row["actor"]["role"] == "visitator"


def test_other_cases_of_the_same_person_are_listed_by_reference_within_the_municipality(world):
    case = filled_case(world, close=False)
    same = world.refer(full_name="Helt Andet Navn", cpr=CPR)
    elsewhere = services.refer(
        actor=world.police_contact,
        municipality=world.other_municipality,
        full_name="Mette Sørensen",
        safe_contact="Sms",
        cpr=CPR,
    )
    unrelated = world.refer(cpr="020290-1234")

    others = subject_access.collect(case)["other_cases"]

    assert others == [
        {"reference": same.reference, "relation": "same_cpr", "relation_label": "Samme CPR-nummer"}
    ]
    assert elsewhere.reference not in str(others) and unrelated.reference not in str(others)


def test_a_case_the_producer_is_disqualified_on_is_not_named_to_them(world):
    case = filled_case(world, close=False)
    other = world.refer(full_name="Helt Andet Navn", cpr=CPR)
    services.disqualify(
        actor=world.visitator, case=other, user=world.deputy_visitator, reason="Familie"
    )

    seen_by_deputy = subject_access.collect(case, produced_by=world.deputy_visitator)
    seen_by_visitator = subject_access.collect(case, produced_by=world.visitator)

    assert other.reference not in str(seen_by_deputy["other_cases"])
    assert other.reference in str(seen_by_visitator["other_cases"])


def test_a_merged_case_is_named_both_ways(world):
    existing = world.in_triage(cpr=CPR)
    duplicate = world.refer(full_name="Mette Sørensen", cpr=CPR)
    services.join_duplicate(actor=world.visitator, case=duplicate, into=existing)
    duplicate.refresh_from_db()

    assert subject_access.collect(existing)["other_cases"][0]["relation"] == "merged_into_this"
    data = subject_access.collect(duplicate)
    assert data["case"]["merged_into"] == existing.reference
    assert data["other_cases"][0]["relation"] == "this_merged_into"


# -- who has looked -----------------------------------------------------------------------


def test_who_has_looked_lists_organisation_role_date_and_purpose_with_a_count(client, world):
    case = world.active(police=True)
    _rename_employees(world)
    client.force_login(world.police_contact)
    for _ in range(3):
        client.get(case.get_absolute_url())
    client.get(reverse("stalkingpakke:incident_log", args=[case.reference]))
    client.force_login(world.coordinator)
    client.get(case.get_absolute_url())

    data = json.loads(_export(client, world.visitator, case, "json").content)

    today = timezone.localdate().isoformat()
    police = [r for r in data["access_log"] if r["role"] == "police_contact"]
    assert police == [
        {
            "date": today,
            "organisation": "Testpoliti",
            "role": "police_contact",
            "role_label": "Politiets kontaktperson",
            "purpose": "grant:police",
            "purpose_label": "Sagen er sendt til politiet med borgerens samtykke",
            "what": [
                {"key": "case", "label": "Sagen"},
                {"key": "incident_log", "label": "Logskemaet"},
            ],
            "count": 4,
        }
    ]
    coordinator = [r for r in data["access_log"] if r["role"] == "coordinator"]
    assert [(r["organisation"], r["purpose"], r["count"]) for r in coordinator] == [
        ("Testkommune", "responsible", 1)
    ]
    assert data["access_log_total"] == sum(r["count"] for r in data["access_log"])
    text = json.dumps(data["access_log"], ensure_ascii=False)
    for needle in _employee_strings(world):
        assert needle not in text


def test_thousands_of_reads_become_one_line_per_day(world):
    case = world.active(police=True)
    days = [timezone.now() - datetime.timedelta(days=n) for n in (0, 1)]
    for moment in days:
        with mock.patch("django.utils.timezone.now", return_value=moment):
            AuditEntry.objects.bulk_create(
                AuditEntry(
                    user=world.police_contact,
                    username=world.police_contact.username,
                    role="police_contact",
                    action=AuditAction.VIEW,
                    case=case,
                    case_reference=case.reference,
                    what="case",
                    purpose="grant:police",
                )
                for _ in range(1500)
            )

    rows = subject_access.collect(case)["access_log"]

    assert [(r["date"], r["count"]) for r in rows] == [
        (timezone.localdate(days[0]), 1500),
        (timezone.localdate(days[1]), 1500),
    ]


def test_a_read_by_a_deputy_says_deputy(client, world):
    case = world.refer()
    client.force_login(world.deputy_visitator)
    client.get(case.get_absolute_url())
    rows = subject_access.collect(case)["access_log"]
    assert [r["role_label"] for r in rows] == ["Stalkingvisitator (stedfortræder)"]


# -- the export is audited ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "what"), [("pdf", "document:subject_access"), ("json", "subject_access:json")]
)
def test_each_export_is_audited_and_shows_up_in_the_next(client, world, kind, what):
    case = world.active()
    _export(client, world.coordinator, case, kind)

    entry = AuditEntry.objects.get(what=what, action=AuditAction.DOWNLOAD)
    assert (entry.user, entry.case, entry.purpose) == (world.coordinator, case, "responsible")
    data = json.loads(_export(client, world.visitator, case, "json").content)
    seen = {w["key"] for row in data["access_log"] for w in row["what"]}
    assert what in seen


def test_the_page_shows_the_buttons_and_reads_no_case_data(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.get(_url("page", case))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'action="{_url("pdf", case)}"' in html and f'action="{_url("json", case)}"' in html
    assert case.full_name not in html
    assert not AuditEntry.objects.filter(what__startswith="subject_access").exists()


# -- the PDF is made by the worker and kept SUBJECT_ACCESS_KEEP_HOURS ----------------------


def _order(client, user, case):
    client.force_login(user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(_url("pdf", case))
    return Document.objects.filter(case=case, kind=DocumentKind.SUBJECT_ACCESS).latest("pk")


def _document_url(name, case, document):
    return reverse(f"stalkingpakke:{name}", args=[case.reference, document.pk])


def test_the_ordered_pdf_is_listed_on_the_page_with_its_download(client, world):
    case = world.active()
    copy = _order(client, world.coordinator, case)

    html = client.get(_url("page", case)).content.decode()

    assert copy.status == DocumentStatus.READY
    assert _document_url("download_document", case, copy) in html
    assert case.full_name not in html


def test_a_pending_pdf_polls_its_status_and_a_failed_one_offers_no_tools_retry(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    pending = documents.request_document(
        actor=world.coordinator, case=case, kind=DocumentKind.SUBJECT_ACCESS
    )  # not committed in this test: no worker has seen it
    html = client.get(_url("page", case)).content.decode()
    assert f'hx-get="{_document_url("document_status", case, pending)}"' in html

    Document.objects.filter(pk=pending.pk).update(status=DocumentStatus.FAILED, error="x")
    html = client.get(_url("page", case)).content.decode()
    assert _document_url("retry_document", case, pending) not in html


@pytest.mark.parametrize("role", ["police_contact", "dsc"])
def test_partners_never_reach_the_citizens_copy_whatever_they_may_read(client, world, role):
    case = world.active(police=True, dsc=True)
    copy = _order(client, world.coordinator, case)
    client.force_login(getattr(world, role))

    for name in ("download_document", "document_status"):
        assert client.get(_document_url(name, case, copy)).status_code == 404
    assert not AuditEntry.objects.filter(
        user=getattr(world, role), what__contains="subject"
    ).exists()


def test_the_citizens_copy_cannot_be_ordered_as_a_tool_document(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:request_document", args=[case.reference, "subject_access"])

    assert client.post(url).status_code == 404
    assert not case.documents.exists()


def test_the_case_page_does_not_list_the_citizens_copies(client, world):
    case = world.active()
    copy = _order(client, world.coordinator, case)

    html = client.get(case.get_absolute_url()).content.decode()

    assert _document_url("download_document", case, copy) not in html
    assert not documents.documents_for(world.coordinator, case).exists()


def test_copies_older_than_48_hours_are_deleted_with_their_file_and_audited(
    client, world, tmp_path
):
    case = world.active()
    old, fresh = _order(client, world.coordinator, case), _order(client, world.coordinator, case)
    Document.objects.filter(pk=old.pk).update(
        requested_at=timezone.now()
        - documents.subject_access_keep()
        - datetime.timedelta(minutes=1)
    )
    old_file = tmp_path / old.file.name
    assert old_file.exists()

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert documents.delete_expired_subject_access_copies() == 1

    assert list(case.documents.values_list("pk", flat=True)) == [fresh.pk]
    assert not old_file.exists() and (tmp_path / fresh.file.name).exists()
    entry = AuditEntry.objects.get(action=AuditAction.DELETE)
    assert (entry.user, entry.case, entry.what, entry.object_id, entry.purpose) == (
        None,
        case,
        "document:subject_access",
        str(old.pk),
        "expired",
    )
    assert documents.delete_expired_subject_access_copies() == 0  # nothing twice


def test_the_keep_time_is_a_setting_the_page_and_the_deletion_both_follow(client, world, settings):
    settings.SUBJECT_ACCESS_KEEP_HOURS = 2
    case = world.active()
    copy = _order(client, world.coordinator, case)
    Document.objects.filter(pk=copy.pk).update(
        requested_at=timezone.now() - datetime.timedelta(hours=2, minutes=1)
    )

    page = client.get(_url("page", case))

    assert "efter 2 timer" in page.content.decode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert documents.delete_expired_subject_access_copies() == 1


def test_a_copy_whose_file_cannot_be_deleted_stays_for_the_next_run(
    client, world, tmp_path, monkeypatch
):
    case = world.active()
    copy = _order(client, world.coordinator, case)
    Document.objects.filter(pk=copy.pk).update(
        requested_at=timezone.now()
        - documents.subject_access_keep()
        - datetime.timedelta(minutes=1)
    )

    def refuse(storage, name):
        raise PermissionError(name)

    monkeypatch.setattr(FileSystemStorage, "delete", refuse)
    with pytest.raises(PermissionError):
        documents.delete_expired_subject_access_copies()
    assert case.documents.filter(pk=copy.pk).exists()
    assert not AuditEntry.objects.filter(action=AuditAction.DELETE).exists()

    monkeypatch.undo()
    assert documents.delete_expired_subject_access_copies() == 1
    assert not (tmp_path / copy.file.name).exists()


def test_expiry_leaves_the_tools_documents_alone(world):
    case = world.active()
    with TestCase.captureOnCommitCallbacks(execute=True):
        documents.request_document(actor=world.coordinator, case=case, kind="advice")
    case.documents.update(requested_at=timezone.now() - datetime.timedelta(days=30))

    assert documents.delete_expired_subject_access_copies() == 0
    assert case.documents.count() == 1


def test_expiry_runs_every_hour_in_celery_beat(settings):
    jobs = {job["task"]: job for job in settings.CELERY_BEAT_SCHEDULE.values()}
    job = jobs["stalkingpakke.tasks.delete_expired_subject_access_copies"]
    assert job["schedule"] == 60 * 60


# -- files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content_type"), [("pdf", "application/pdf"), ("json", "application/json")]
)
def test_files_are_downloads_named_by_case_reference_and_never_stored(
    client, world, kind, content_type
):
    case = world.active(cpr=CPR)
    response = _export(client, world.coordinator, case, kind)

    disposition = response["Content-Disposition"]
    stamp = timezone.localdate().strftime("%Y%m%d")
    assert disposition == f'attachment; filename="indsigt-{case.reference}-{stamp}.{kind}"'
    assert "Mette" not in disposition and "1234" not in disposition.replace(stamp, "")
    assert response["Content-Type"].startswith(content_type)
    assert "no-store" in response["Cache-Control"]


def test_the_pdf_is_pdf_a(client, world):
    import pikepdf

    case = world.active()
    content = _export(client, world.coordinator, case, "pdf").content
    with pikepdf.open(io.BytesIO(content)) as pdf:
        assert pdf.open_metadata().pdfa_status == "3B"


# -- queries ------------------------------------------------------------------------------


def _grow(world, case, n):
    for i in range(n):
        services.add_note(actor=world.coordinator, case=case, text=f"Notat {i}")
        entry = incident_log.add_entry(
            actor=world.coordinator,
            case=case,
            data={
                "occurred_at": timezone.now() - datetime.timedelta(hours=i),
                "what_happened": f"Hændelse {i}",
                "behaviours": ["calls"],
            },
        )
        attachments.add_attachment(
            actor=world.coordinator, entry=entry, upload=SimpleUploadedFile(f"b{i}.png", PNG)
        )
        tools.save_action_plan(
            actor=world.coordinator,
            case=case,
            goals=f"Mål {i}",
            safety_measures="",
            next_review=None,
            items=[{"who": "A", "what": f"Indsats {i}"}, {"who": "B", "what": "Mere"}],
        )
        tools.save_form(actor=world.coordinator, case=case, kind=ToolKind.CHECKLIST, answers={})
        documents.request_document(actor=world.coordinator, case=case, kind="incident_log")
        services.record_consent(
            actor=world.coordinator,
            case=case,
            partner=ConsentPartner.DSC,
            scopes=[ConsentScope.NOTES],
        )
        services.withdraw_consent(
            actor=world.coordinator,
            consent=case.consents.get(partner=ConsentPartner.DSC, withdrawn_at__isnull=True),
        )
        audit.record_read(user=world.police_contact, case=case, what="case", request=None)
        services.record_network_meeting(
            actor=world.coordinator,
            case=case,
            held_on=timezone.localdate(),
            participants="Borgeren, koordinator",
            purpose=f"Møde {i}",
            agreements="Ingen nye aftaler",
        )


def test_query_count_does_not_grow_with_the_case(client, world, django_assert_num_queries):
    """20 queries per export, measured on SQLite, whatever the size of the case:

    - 3 of every logged-in request: session, user, the user's current role assignments;
    - the case, with visibility, the disqualification check and the user's grants on it
      (cases.access.with_access_facts) in the same query;
    - one each for referrals, consents, notes, timeline events, filled forms (with their
      tool version), the action plan (with its tool version), its items, its revisions, the
      incident entries, their attachments, the documents, the network meetings, the reads
      aggregated in SQL, the related cases, and the role assignments of every employee named
      (16);
    - the audit INSERT of the export itself.
    """
    case = world.active(police=True)
    _grow(world, case, 1)
    client.force_login(world.coordinator)
    url = _url("json", case)
    assert client.post(url).status_code == 200  # warm up the session

    with django_assert_num_queries(20):
        assert client.post(url).status_code == 200

    _grow(world, case, 20)
    with django_assert_num_queries(20):
        response = client.post(url)
    data = json.loads(response.content)
    assert len(data["notes"]) == 21 and len(data["incident_log"]) == 21
    assert len(data["network_meetings"]) == 21
    assert len(data["action_plan"]["revisions"]) == 21
    assert len(data["forms"]) == 21 and len(data["documents"]) == 21
    assert sum(len(e["attachments"]) for e in data["incident_log"]) == 21
    assert data["access_log_total"] >= 21


# -- who may make it: the permission matrix ------------------------------------------------

ROLES = test_permission_matrix.ROLES  # every role of the world, the disqualified, anonymous
# Columns: routed to the coordinator and the police; to the coordinator only; closed after
# being routed to the coordinator and the police.
COLUMNS = ("police", "internal", "closed")

_NONE = "404 404 404"
_ANON = "302 302 302"
_FULL = "200 200 200"
_ORDERED = "303 303 303"  # See Other: the order is placed and the browser shown the page
EXPORT = {
    "first_contact": _NONE,
    "visitator": _FULL,
    "deputy_visitator": _FULL,
    "coordinator": _FULL,
    "police_contact": _NONE,  # reads the case within the consent, but is not the citizen's
    "dsc": _NONE,
    "follow_up": _NONE,
    "other_visitator": _NONE,
    "outsider_coordinator": _NONE,
    "admin": _NONE,
    "disqualified": _NONE,
    "anonymous": _ANON,
}
# A GET of a download: 405 for whoever is logged in (nothing about the case is revealed).
DOWNLOAD_GET = {role: "405 405 405" for role in ROLES} | {"anonymous": _ANON}

ORDER = {role: (_ORDERED if row == _FULL else row) for role, row in EXPORT.items()}

# fmt: off
MATRIX = {
    "page":      ("GET", EXPORT),
    "pdf":       ("POST", ORDER),
    "json":      ("POST", EXPORT),
    "pdf GET":   ("GET", DOWNLOAD_GET),
    "json GET":  ("GET", DOWNLOAD_GET),
}
# fmt: on


def _matrix_case(world, column):
    if column == "internal":
        return world.active()
    if column == "closed":
        return world.closed(police=True)
    return world.active(police=True)


def _matrix_user(world, role, case):
    if role == "anonymous":
        return None
    if role == "disqualified":
        services.disqualify(
            actor=world.visitator, case=case, user=world.deputy_visitator, reason="Familie"
        )
        return world.deputy_visitator
    return getattr(world, role)


def _cells():
    for key, (method, rows) in MATRIX.items():
        assert set(rows) == set(ROLES), key
        for role, row in rows.items():
            for column, code in zip(COLUMNS, row.split(), strict=True):
                yield pytest.param(
                    key, method, role, column, int(code), id=f"{key}-{role}-{column}"
                )


@pytest.mark.parametrize(("key", "method", "role", "column", "expected"), list(_cells()))
def test_subject_access_permission_matrix(client, world, key, method, role, column, expected):
    case = _matrix_case(world, column)
    user = _matrix_user(world, role, case)
    if user is not None:
        client.force_login(user)
    url = _url(key.split()[0], case)

    response = client.post(url) if method == "POST" else client.get(url)

    assert response.status_code == expected, f"{method} {url} as {role}"
    if expected == 302:
        assert response["Location"].startswith("/accounts/login/")
    if expected == 303:
        assert response["Location"] == _url("page", case)
    exported = AuditEntry.objects.filter(what__startswith="subject_access:", case=case)
    assert exported.exists() == (expected == 200 and method == "POST")
    ordered = AuditEntry.objects.filter(
        what="document:subject_access", action=AuditAction.CREATE, case=case
    )
    assert ordered.exists() == (expected == 303)
    assert case.documents.exists() == (expected == 303)


def test_every_subject_access_url_is_in_the_matrix():
    from cases.subject_access_urls import urlpatterns

    assert {p.name for p in urlpatterns} == {key.split()[0] for key in MATRIX}


def test_a_disqualified_users_attempt_is_flagged(client, world):
    case = world.active()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Familie"
    )
    client.force_login(world.deputy_visitator)
    assert client.post(_url("json", case)).status_code == 404
    assert AuditEntry.objects.filter(
        user=world.deputy_visitator, case=case, action=AuditAction.DENIED, flagged=True
    ).exists()


def test_denied_then_granted_full_access(client, world):
    """The 404 comes from the access rule: the same request succeeds once another coordinator
    of the case's municipality is given full access to the case (the grants routing gives)."""
    case = world.active()
    colleague = user_with_role(Role.COORDINATOR, world.municipality, username="colleague")
    client.force_login(colleague)
    assert client.post(_url("json", case)).status_code == 404

    assign_perm("cases.view_case", colleague, case)
    assign_perm("cases.change_case", colleague, case)

    assert client.post(_url("json", case)).status_code == 200


def test_read_access_is_not_enough(client, world):
    """The police contact reads the case (200) but may not export it (404)."""
    case = world.active(police=True)
    client.force_login(world.police_contact)
    assert client.get(case.get_absolute_url()).status_code == 200
    assert client.post(_url("json", case)).status_code == 404


def test_every_kind_of_read_the_views_write_has_a_label_for_the_citizen():
    """The codes the views write as "what" (cases/views.py, stalkingpakke/views.py) are
    shown to the citizen in words, never as a code."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    source = (root / "cases/views.py").read_text() + (root / "stalkingpakke/views.py").read_text()
    codes = set(re.findall(r'what=f?"([a-z_]+:?[a-z_{}.]*)"', source))
    assert codes, "the views name what they record"
    for code in codes:
        # A code made from a value (form:{kind}) is checked with one of its values.
        value = "assessment" if code.startswith("form:") else "incident_log"
        sample = re.sub(r"\{[^}]*\}", value, code)
        assert subject_access.what_label(sample) != sample, code
