"""The tools on a case: versioned content, the hash-chained incident log, CSV import,
attachments and who may read which document."""

import datetime

import pytest
from django.contrib.admin.sites import AdminSite
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import timezone

from stalkingpakke import attachments, csv_import, documents, incident_log, services
from stalkingpakke.admin import ToolVersionAdmin
from stalkingpakke.models import IncidentEntry, ToolKind, ToolVersion

WHEN = timezone.make_aware(datetime.datetime(2026, 3, 2, 21, 40))


def entry_data(**overrides):
    data = {
        "occurred_at": WHEN,
        "place": "Ved hjemmet",
        "what_happened": "Han stod uden for vinduet i en time.",
        "behaviours": ["at_home", "following"],
        "witnesses": "",
        "evidence": "Foto",
        "reported_to_police": False,
        "police_journal_number": "",
        "effect": "Kunne ikke sove.",
    }
    data.update(overrides)
    return data


# Versioning -----------------------------------------------------------------------------


def test_every_tool_ships_with_default_content_as_version_one(db):
    for kind in ToolKind.values:
        version = ToolVersion.objects.current(kind)
        assert version is not None and version.number == 1
        assert version.content["title"]["da"] and version.content["title"]["en"]


def test_editing_a_tool_in_the_admin_makes_a_new_version_and_old_forms_keep_theirs(world):
    case = world.active()
    filled = services.save_form(
        actor=world.coordinator,
        case=case,
        kind=ToolKind.CHECKLIST,
        answers={"repeated_contact": "yes"},
    )
    original = ToolVersion.objects.current(ToolKind.CHECKLIST)
    original_text = original.content["questions"][0]["text"]["da"]

    changed = dict(original.content)
    changed["questions"] = [dict(q) for q in original.content["questions"]]
    changed["questions"][0]["text"] = {"da": "Ny formulering", "en": "New wording"}
    original.content = changed
    request = RequestFactory().post("/")
    request.user = world.admin
    request._messages = type("M", (), {"add": lambda *a, **k: None})()
    ToolVersionAdmin(ToolVersion, AdminSite()).save_model(request, original, None, change=True)

    assert ToolVersion.objects.filter(kind=ToolKind.CHECKLIST).count() == 2
    assert ToolVersion.objects.current(ToolKind.CHECKLIST).number == 2
    filled.refresh_from_db()
    assert filled.tool_version.number == 1
    assert filled.tool_version.content["questions"][0]["text"]["da"] == original_text


def test_an_assessment_keeps_its_version_when_edited_and_refuses_a_stale_save(world):
    case = world.active()
    form = services.save_form(
        actor=world.coordinator,
        case=case,
        kind=ToolKind.ASSESSMENT,
        answers={"risk:threats_to_kill": "yes"},
    )
    services.save_form(
        actor=world.coordinator,
        case=case,
        kind=ToolKind.ASSESSMENT,
        answers={"risk:threats_to_kill": "no"},
        expected_version=form.version,
    )
    with pytest.raises(ValidationError) as error:
        services.save_form(
            actor=world.visitator,
            case=case,
            kind=ToolKind.ASSESSMENT,
            answers={"risk:threats_to_kill": "yes"},
            expected_version=form.version,
        )
    assert error.value.code == "stale"
    assert services.latest_form(case, ToolKind.ASSESSMENT).answers == {"risk:threats_to_kill": "no"}


def test_saving_a_form_writes_a_change_entry_in_the_audit_trail(world):
    from cases.models import AuditAction, AuditEntry

    world.active()  # another case first, so that this case's id is not the form's
    case = world.active()
    form = services.save_form(
        actor=world.coordinator, case=case, kind=ToolKind.TYPOLOGY, answers={"type": "rejected"}
    )
    assert form.pk != case.pk
    entry = AuditEntry.objects.get(case=case, what="form:typology")
    assert (entry.action, entry.object_id, entry.user) == (
        AuditAction.CHANGE,
        str(form.pk),
        world.coordinator,
    )


def test_risk_screen_shows_high_risk_indicators_and_never_decides(world):
    case = world.active()
    content = ToolVersion.objects.current(ToolKind.ASSESSMENT).content
    high = next(r for r in content["risk_indicators"] if r["high_risk"])
    low = next(r for r in content["risk_indicators"] if not r["high_risk"])
    form = services.save_form(
        actor=world.coordinator,
        case=case,
        kind=ToolKind.ASSESSMENT,
        answers={f"risk:{high['key']}": "yes", f"risk:{low['key']}": "unknown"},
    )
    summary = services.risk_summary(form)
    assert summary["level"] == "high"
    assert [r["key"] for r in summary["high"]] == [high["key"]]
    assert content["disclaimer"]["da"]


def test_action_plan_keeps_a_revision_per_save(world):
    case = world.active()
    plan = services.save_action_plan(
        actor=world.coordinator,
        case=case,
        goals="Tryghed",
        safety_measures="Alarm",
        next_review=datetime.date(2026, 12, 1),
        items=[{"who": "Koordinator", "what": "Samtale", "status": "in_progress"}],
    )
    plan = services.save_action_plan(
        actor=world.coordinator,
        case=case,
        goals="Tryghed og ro",
        safety_measures="Alarm",
        next_review=None,
        items=[],
        expected_version=plan.version,
    )
    assert [r.number for r in plan.revisions.all()] == [2, 1]
    assert plan.revisions.get(number=1).snapshot["items"][0]["what"] == "Samtale"
    with pytest.raises(ValidationError):
        services.save_action_plan(
            actor=world.coordinator,
            case=case,
            goals="x",
            safety_measures="",
            next_review=None,
            items=[],
            expected_version=1,
        )


def test_police_cannot_fill_in_tools(world):
    case = world.active(police=True)
    with pytest.raises(PermissionDenied):
        incident_log.add_entry(actor=world.police_contact, case=case, data=entry_data())


# Hash chain -----------------------------------------------------------------------------


def test_entries_are_chained_and_the_chain_checks_out(world):
    case = world.active()
    first = incident_log.add_entry(actor=world.coordinator, case=case, data=entry_data())
    second = incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data=entry_data(occurred_at=WHEN - datetime.timedelta(days=3)),
    )
    assert first.previous_hash == incident_log.GENESIS
    assert second.previous_hash == first.entry_hash
    check = incident_log.verify_chain(case)
    assert check.intact and check.entries == 2 and check.final_hash == second.entry_hash
    # Chronological view, not insertion order.
    assert [e.pk for e in incident_log.current_entries(case)] == [second.pk, first.pk]


def test_a_changed_row_in_the_database_breaks_the_chain(world):
    case = world.active()
    incident_log.add_entry(actor=world.coordinator, case=case, data=entry_data())
    second = incident_log.add_entry(actor=world.coordinator, case=case, data=entry_data())
    incident_log.add_entry(actor=world.coordinator, case=case, data=entry_data())
    IncidentEntry.objects.filter(pk=second.pk).update(what_happened="Intet skete.")

    check = incident_log.verify_chain(case)
    assert not check.intact
    assert check.broken_at == second.sequence


def test_a_correction_is_a_new_entry_and_the_original_stays(world):
    case = world.active()
    original = incident_log.add_entry(actor=world.coordinator, case=case, data=entry_data())
    corrected = incident_log.correct_entry(
        actor=world.coordinator,
        entry=original,
        data=entry_data(place="Ved arbejdet"),
        reason="Forkert sted",
    )
    original.refresh_from_db()
    assert original.place == "Ved hjemmet"
    assert corrected.supersedes == original and corrected.correction_reason == "Forkert sted"
    assert list(incident_log.current_entries(case)) == [corrected]
    assert incident_log.verify_chain(case).intact
    with pytest.raises(ValidationError):
        incident_log.correct_entry(
            actor=world.coordinator, entry=original, data=entry_data(), reason="Igen"
        )


def test_entries_with_unknown_behaviour_or_no_text_are_refused(world):
    case = world.active()
    with pytest.raises(ValidationError):
        incident_log.add_entry(
            actor=world.coordinator, case=case, data=entry_data(behaviours=["dancing"])
        )
    with pytest.raises(ValidationError):
        incident_log.add_entry(
            actor=world.coordinator, case=case, data=entry_data(what_happened=" ")
        )
    assert not case.incidents.exists()


# CSV import -----------------------------------------------------------------------------

HEADER = "dato;tid;sted;hvad skete der;adfærd;vidner;beviser;anmeldt;journalnummer;påvirkning\n"


def test_a_good_csv_file_is_imported_in_full(world):
    case = world.active()
    raw = (
        HEADER
        + "02-03-2026;21:40;Hjemme;Ringede 14 gange;opkald, messages;;Liste;ja;1234-80;Bange\n"
        + "03-03-2026;08:15;Arbejdet;Stod ved indgangen;at_work;Kollega Åse;;nej;;Utryg\n"
    ).encode("utf-8-sig")
    report = csv_import.import_csv(actor=world.coordinator, case=case, raw=raw)
    assert report.ok and report.imported == 2
    entries = list(incident_log.current_entries(case))
    assert entries[0].behaviours == ["calls", "messages"]
    assert entries[0].reported_to_police and entries[0].police_journal_number == "1234-80"
    assert entries[1].witnesses == "Kollega Åse"


def test_excel_cp1252_with_semicolons_is_read(world):
    case = world.active()
    raw = HEADER + "02-03-2026;21:40;Søndervej;Råbte efter hende;trusler;;;nej;;Ængstelig\n"
    report = csv_import.import_csv(actor=world.coordinator, case=case, raw=raw.encode("cp1252"))
    assert report.ok
    assert incident_log.current_entries(case).get().place == "Søndervej"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("32-13-2026;21:40;;Tekst;;;;nej;;\n", "dato: "),
        ("02-03-2026;25:99;;Tekst;;;;nej;;\n", "tid: "),
        ("02-03-2026;21:40;;;;;;nej;;\n", "hvad skete der: "),
        ("02-03-2026;21:40;;Tekst;dans;;;nej;;\n", "adfærd: Ukendt type adfærd: dans"),
        ("02-03-2026;21:40;;Tekst;;;;måske;;\n", "ja eller nej"),
        ("02-03-2099;21:40;;Tekst;;;;nej;;\n", "fremtiden"),
        ("02-03-2026;21:40;;Tekst;;;;nej;;;ekstra;felt\n", "flere felter"),
    ],
    ids=["bad-date", "bad-time", "no-text", "unknown-behaviour", "bad-yes-no", "future", "extra"],
)
def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(world, row, message):
    case = world.active()
    raw = (HEADER + "02-03-2026;21:40;Hjemme;God række;messages;;;nej;;\n" + row).encode()
    rows_before = IncidentEntry.objects.count()
    report = csv_import.import_csv(actor=world.coordinator, case=case, raw=raw)
    assert not report.ok and report.imported == 0
    assert report.errors[0][0] == 3
    assert message in " ".join(report.errors[0][1])
    assert IncidentEntry.objects.count() == rows_before


def test_row_errors_name_the_columns_as_the_users_file_writes_them_never_the_fields(world):
    case = world.active()
    raw = "Dato;Tid;Hvad skete der;Adfærd\n31-02-2026;25:99;;dans\n".encode()
    report = csv_import.import_csv(actor=world.coordinator, case=case, raw=raw)
    (number, messages), *_ = report.errors
    text = " ".join(messages)
    assert number == 2
    for column in ("Dato: ", "Tid: ", "Hvad skete der: ", "Adfærd: Ukendt type adfærd: dans"):
        assert column in text, text
    for field in ("date", "time", "what_happened", "behaviours"):
        assert field not in text, text


def test_a_single_word_of_a_behaviour_label_is_understood(world):
    case = world.active()
    raw = (HEADER + "02-03-2026;21:40;;Skrev igen;sms, Sporing;;;nej;;\n").encode()
    report = csv_import.import_csv(actor=world.coordinator, case=case, raw=raw)
    assert report.ok, report.errors
    assert incident_log.current_entries(case).get().behaviours == ["messages", "tracking"]


def test_the_sample_csv_offered_for_download_imports_cleanly_and_holds_no_personal_data(world):
    import re
    from pathlib import Path

    from django.contrib.staticfiles import finders

    path = finders.find(csv_import.SAMPLE_PATH)
    assert path, csv_import.SAMPLE_PATH
    raw = Path(path).read_bytes()
    header = raw.decode("utf-8-sig").splitlines()[0].split(";")
    assert header == list(csv_import.COLUMNS)  # every column, as the import names them
    rows, report = csv_import.parse(raw)
    assert not report.errors and len(rows) == 3
    text = raw.decode("utf-8-sig")
    assert not re.search(r"\d{6}-?\d{4}", text)  # no CPR number
    assert not re.search(r"\b\d{8}\b|@", text)  # no phone number or e-mail address


def test_a_file_without_the_required_columns_is_refused(world):
    case = world.active()
    with pytest.raises(ValidationError):
        csv_import.import_csv(actor=world.coordinator, case=case, raw=b"navn;alder\nx;1\n")


# Attachments ----------------------------------------------------------------------------


def _entry(world):
    case = world.active()
    return incident_log.add_entry(actor=world.coordinator, case=case, data=entry_data())


def test_a_pdf_attachment_is_stored_with_its_checksum(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    entry = _entry(world)
    upload = SimpleUploadedFile("kvittering.pdf", b"%PDF-1.4\n...", content_type="text/html")
    attachment = attachments.add_attachment(actor=world.coordinator, entry=entry, upload=upload)
    assert attachment.content_type == "application/pdf"  # by content, not by what was claimed
    assert len(attachment.sha256) == 64
    assert str(tmp_path) in attachment.file.path


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("side.html", b"<html><script>alert(1)</script></html>"),
        ("billede.png", b"<svg onload=alert(1)>"),
        ("noter.txt", b"<script>alert(1)</script>"),
        ("program.exe", b"MZ\x90\x00"),
    ],
)
def test_attachments_of_other_types_are_refused(world, name, content, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    entry = _entry(world)
    with pytest.raises(ValidationError):
        attachments.add_attachment(
            actor=world.coordinator, entry=entry, upload=SimpleUploadedFile(name, content)
        )


def test_attachments_over_the_size_limit_are_refused(world, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(attachments, "MAX_BYTES", 1024)
    entry = _entry(world)
    upload = SimpleUploadedFile("stor.pdf", b"%PDF-" + b"x" * 2048)
    with pytest.raises(ValidationError):
        attachments.add_attachment(actor=world.coordinator, entry=entry, upload=upload)


# Document permissions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "routes", "expected"),
    [
        ("coordinator", {"police": True}, True),
        ("visitator", {"police": True}, True),
        ("police_contact", {"police": True}, True),
        ("police_contact", {}, False),
        # DSC reads the case (its contact consent) but the citizen shared no log with DSC.
        ("dsc", {"police": True, "dsc": True}, False),
        ("first_contact", {"police": True}, False),
        ("other_visitator", {"police": True}, False),
    ],
)
def test_who_may_read_the_incident_log_document(world, who, routes, expected):
    case = world.active(**routes)
    assert documents.may_read_document(getattr(world, who), case, "incident_log") is expected


def test_only_people_with_full_access_request_documents(world):
    case = world.active(police=True)
    with pytest.raises(PermissionDenied):
        documents.request_document(actor=world.police_contact, case=case, kind="incident_log")


def test_the_referral_stores_the_checklist_against_its_version(world):
    case = services.refer_with_checklist(
        actor=world.first_contact,
        checklist_answers={"repeated_contact": "yes", "fear": "yes", "threats": "no"},
        municipality=world.municipality,
        full_name="Mette Sørensen",
        safe_contact="Kun sms",
    )
    form = services.latest_form(case, ToolKind.CHECKLIST)
    assert form.tool_version == ToolVersion.objects.current(ToolKind.CHECKLIST)
    assert services.checklist_yes_count(form) == 2


def test_a_checklist_with_unknown_answers_refuses_the_whole_referral(world):
    from cases.models import Case

    with pytest.raises(ValidationError):
        services.refer_with_checklist(
            actor=world.first_contact,
            checklist_answers={"repeated_contact": "maybe"},
            municipality=world.municipality,
            full_name="Mette Sørensen",
            safe_contact="Kun sms",
        )
    assert not Case.objects.exists()


# A closed case ---------------------------------------------------------------------------

TOOL_CALLS = {
    "form": lambda actor, case, entry: services.save_form(
        actor=actor,
        case=case,
        kind=ToolKind.TYPOLOGY,
        answers={"type": "rejected"},
    ),
    "action_plan": lambda actor, case, entry: services.save_action_plan(
        actor=actor,
        case=case,
        goals="Efter lukning",
        safety_measures="",
        next_review=None,
        items=[],
    ),
    "incident": lambda actor, case, entry: incident_log.add_entry(
        actor=actor, case=case, data=entry_data()
    ),
    "attachment": lambda actor, case, entry: attachments.add_attachment(
        actor=actor,
        entry=entry,
        upload=SimpleUploadedFile("kvittering.pdf", b"%PDF-1.4\n..."),
    ),
}


def _rows():
    from cases.models import AuditEntry
    from stalkingpakke.models import ActionPlan, Attachment, FilledForm

    return [
        m.objects.count() for m in (FilledForm, ActionPlan, IncidentEntry, Attachment, AuditEntry)
    ]


@pytest.mark.parametrize("tool", TOOL_CALLS)
def test_the_tool_services_refuse_a_closed_case_and_save_nothing(world, tool, settings, tmp_path):
    """The pages only offer the tools on an open case; the services refuse on their own, so a
    form posted after the case was closed (or any other caller) cannot change it."""
    from cases import services as case_services

    settings.MEDIA_ROOT = tmp_path
    case = world.active()
    entry = incident_log.add_entry(actor=world.coordinator, case=case, data=entry_data())
    case = case_services.close(actor=world.coordinator, case=case, reason="resolved")
    rows_before = _rows()

    with pytest.raises(ValidationError) as refused:
        TOOL_CALLS[tool](world.coordinator, case, entry)

    assert refused.value.code == "closed"
    assert _rows() == rows_before


@pytest.mark.parametrize("who", ["police_contact", "first_contact", "other_visitator"])
@pytest.mark.parametrize("tool", TOOL_CALLS)
def test_the_tool_services_refuse_a_user_without_full_access_and_save_nothing(
    world, tool, who, settings, tmp_path
):
    """The police read this case's tools; the first contact and another municipality's
    visitator do not even see it. The services refuse them all, not only the pages."""
    settings.MEDIA_ROOT = tmp_path
    case = world.active(police=True)
    entry = incident_log.add_entry(actor=world.coordinator, case=case, data=entry_data())
    rows_before = _rows()

    with pytest.raises(PermissionDenied):
        TOOL_CALLS[tool](getattr(world, who), case, entry)

    assert _rows() == rows_before
