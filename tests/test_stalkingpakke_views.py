"""The stalking package through the pages, as each role: who reads what, what is refused,
and that reads and downloads are audited."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import services
from cases.models import AuditAction, AuditEntry, ConsentPartner, ConsentScope
from stalkingpakke import attachments, incident_log
from stalkingpakke.models import ActionPlan, Document, DocumentStatus, IncidentEntry


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _entry(world, case, text="Ringede 12 gange om natten"):
    return incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={
            "occurred_at": datetime.datetime(2026, 3, 2, 21, 40, tzinfo=datetime.UTC),
            "what_happened": text,
            "behaviours": ["calls"],
        },
    )


def _routed_to_police(world, police_scopes):
    """A case the visitator routed to the coordinator and the police, with the citizen's
    consent to share `police_scopes` with the police."""
    case = world.in_triage(consents=[(ConsentPartner.POLICE, s) for s in police_scopes])
    return services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="x",
        coordinator=world.coordinator,
        to_police=True,
    )


def _attachment(world, case):
    return attachments.add_attachment(
        actor=world.coordinator,
        entry=_entry(world, case),
        upload=SimpleUploadedFile("kvittering.pdf", b"%PDF-1.4 kvittering"),
    )


def _ready_document(world, case, kind):
    """A finished PDF of `kind` on the case, as the worker leaves it."""
    name = Document.file.field.storage.save("dokument.pdf", ContentFile(b"%PDF-1.4 test"))
    return Document.objects.create(
        case=case,
        kind=kind,
        requested_by=world.coordinator,
        status=DocumentStatus.READY,
        file=name,
    )


def test_coordinator_adds_an_entry_from_the_page_and_sees_the_chain(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:incident_log", args=[case.reference])
    response = client.post(
        url,
        {
            "occurred_at": "2026-03-02T21:40",
            "place": "Hjemme",
            "what_happened": "Stod ved døren <script>alert(1)</script>",
            "behaviours": ["at_home"],
        },
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Stod ved døren &lt;script&gt;" in page  # text, never markup
    assert "Logskemaet er ikke ændret, siden det blev skrevet: 1 registrering." in page
    assert AuditEntry.objects.filter(user=world.coordinator, what="incident_log").exists()


def test_the_chain_is_told_in_plain_danish_and_the_hash_only_under_technical_check(client, world):
    case = world.active()
    for _ in range(3):
        _entry(world, case)
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:incident_log", args=[case.reference])
    page = client.get(url).content.decode()
    final_hash = incident_log.verify_chain(case).final_hash
    assert "Logskemaet er ikke ændret, siden det blev skrevet: 3 registreringer." in page
    details = page[page.index('<details class="samvirke-technical">') :]
    details = details[: details.index("</details>")]
    assert "<summary>Teknisk kontrol</summary>" in details
    assert f'<code class="samvirke-hash">{final_hash}</code>' in details  # wraps at 320 px
    outside = page.replace(details, "")
    for jargon in ("Kæden er intakt", "hash", final_hash[:8]):
        assert jargon not in outside

    second = case.incidents.get(sequence=2)
    IncidentEntry.objects.filter(pk=second.pk).update(what_happened="Intet skete.")
    page = client.get(url).content.decode()
    assert "Advarsel: Logskemaet er ændret uden om Samvirke ved registrering nr. 2." in page
    assert "Logskemaet er ikke ændret" not in page


def test_a_refused_entry_keeps_what_was_typed(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:incident_log", args=[case.reference])
    response = client.post(url, {"occurred_at": "", "what_happened": "Noget jeg skrev"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "error-summary" in page and "Noget jeg skrev" in page
    assert "Skriv, hvornår det skete: dato og klokkeslæt." in page
    assert not IncidentEntry.objects.exists()


def test_a_journal_number_without_the_police_tick_is_asked_about_not_kept_unseen(client, world):
    """The number was stored and the log said "Politi: Nej" (usability walk, session 10)."""
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:incident_log", args=[case.reference])
    entry = {
        "occurred_at": "2026-01-05T21:30",
        "what_happened": "Ringede 5 gange",
        "police_journal_number": "3700-80241-00099-26",
    }
    refused = client.post(url, entry)
    assert refused.status_code == 200
    assert refused.context["form"].errors["police_journal_number"] == [
        "Sæt kryds i »Anmeldt til politiet«, eller fjern journalnummeret."
    ]
    assert not IncidentEntry.objects.exists()

    assert client.post(url, {**entry, "reported_to_police": "on"}).status_code == 302
    assert "Anmeldt 3700-80241-00099-26" in client.get(url).content.decode()


def test_a_journal_number_stored_without_the_tick_is_shown(client, world):
    case = world.active()
    incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={
            "occurred_at": datetime.datetime(2026, 1, 5, 21, 30, tzinfo=datetime.UTC),
            "what_happened": "Ringede",
            "police_journal_number": "3700-1",
        },
    )
    client.force_login(world.coordinator)
    page = client.get(reverse("stalkingpakke:incident_log", args=[case.reference]))
    assert "Nej (3700-1)" in page.content.decode()


@pytest.mark.parametrize(
    ("who", "police_scopes", "expected"),
    [
        ("police_contact", [ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG], 200),
        ("police_contact", [ConsentScope.CONTACT], 404),
        ("dsc", [ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG], 404),
        ("first_contact", [ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG], 404),
        ("visitator", [ConsentScope.CONTACT], 200),
    ],
)
def test_who_reads_the_incident_log(client, world, who, police_scopes, expected):
    case = _routed_to_police(world, police_scopes)
    _entry(world, case)
    client.force_login(getattr(world, who))
    response = client.get(reverse("stalkingpakke:incident_log", args=[case.reference]))
    assert response.status_code == expected
    if expected == 200 and who == "police_contact":
        page = response.content.decode()
        assert "Ringede 12 gange" in page
        assert "Gem registrering" not in page  # read-only


def test_police_cannot_post_to_the_incident_log(client, world):
    case = world.active(police=True)
    client.force_login(world.police_contact)
    response = client.post(
        reverse("stalkingpakke:incident_log", args=[case.reference]),
        {"occurred_at": "2026-03-02T21:40", "what_happened": "x"},
    )
    assert response.status_code == 403
    assert not IncidentEntry.objects.exists()


def test_csv_import_page_reports_bad_rows_and_imports_nothing(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    raw = (
        "dato;tid;hvad skete der;adfærd\n02-03-2026;21:40;God;opkald\n31-02-2026;10:00;Dårlig;\n"
    ).encode()
    response = client.post(
        reverse("stalkingpakke:import_csv", args=[case.reference]),
        {"file": SimpleUploadedFile("log.csv", raw, content_type="text/csv")},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Række 3" in page
    # The list of bad rows is what samvirke.js moves the focus to, like an error summary.
    assert 'tabindex="-1" id="error-summary"' in page
    assert page.count('id="error-summary"') == 1
    assert not IncidentEntry.objects.exists()


def test_csv_import_page_lists_the_columns_formats_and_words_and_offers_a_sample(client, world):
    from django.templatetags.static import static

    case = world.active()
    client.force_login(world.coordinator)
    page = client.get(reverse("stalkingpakke:import_csv", args=[case.reference])).content
    page = page.decode()
    for column in ("dato", "tid", "hvad skete der", "adfærd", "anmeldt", "påvirkning"):
        assert f"<code>{column}</code>" in page
    assert "<code>02-03-2026</code>" in page and "<code>2026-03-02</code>" in page
    assert "<code>21:40</code>" in page
    assert "Dukker op ved arbejde/skole" in page and "Beskeder, sms, mails" in page
    assert f'href="{static("stalkingpakke/logskema-eksempel.csv")}" download' in page


def test_attachment_is_served_only_as_a_download_and_the_read_is_audited(client, world):
    case = world.active(police=True)
    entry = _entry(world, case)
    client.force_login(world.coordinator)
    response = client.post(
        reverse("stalkingpakke:add_attachment", args=[case.reference, entry.sequence]),
        {"file": SimpleUploadedFile("foto.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100)},
    )
    assert response.status_code == 302
    attachment = entry.attachments.get()

    client.force_login(world.police_contact)
    url = reverse("stalkingpakke:attachment", args=[case.reference, attachment.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEntry.objects.filter(
        user=world.police_contact, action=AuditAction.DOWNLOAD, what="attachment"
    ).exists()

    other = world.active()  # not shared with the police
    other_url = reverse("stalkingpakke:attachment", args=[other.reference, attachment.pk])
    assert client.get(other_url).status_code == 404


def test_an_attachment_of_another_case_is_not_served_under_a_case_the_reader_may_read(
    client, world
):
    secret = _attachment(world, world.active())  # the coordinator's, not shared with the police
    shared = world.active(police=True)
    own = _attachment(world, shared)
    client.force_login(world.police_contact)

    url = reverse("stalkingpakke:attachment", args=[shared.reference, secret.pk])
    assert client.get(url).status_code == 404
    url = reverse("stalkingpakke:attachment", args=[shared.reference, own.pk])
    assert client.get(url).status_code == 200


def test_an_attachment_is_not_served_to_a_partner_without_consent_to_the_incident_log(
    client, world
):
    """The police read the case (its contact consent) but not the log, so not its evidence."""
    case = _routed_to_police(world, [ConsentScope.CONTACT])
    attachment = _attachment(world, case)
    client.force_login(world.police_contact)
    assert client.get(case.get_absolute_url()).status_code == 200
    url = reverse("stalkingpakke:attachment", args=[case.reference, attachment.pk])
    assert client.get(url).status_code == 404

    client.force_login(world.coordinator)
    assert client.get(url).status_code == 200


def test_the_timeline_chart_is_404_for_a_partner_without_consent_to_the_incident_log(client, world):
    case = _routed_to_police(world, [ConsentScope.CONTACT])
    _entry(world, case)
    url = reverse("stalkingpakke:timeline_chart", args=[case.reference])
    client.force_login(world.police_contact)
    assert client.get(url).status_code == 404

    client.force_login(world.coordinator)
    assert client.get(url).status_code == 200


def test_an_html_upload_is_refused_on_the_page(client, world):
    case = world.active()
    entry = _entry(world, case)
    client.force_login(world.coordinator)
    response = client.post(
        reverse("stalkingpakke:add_attachment", args=[case.reference, entry.sequence]),
        {"file": SimpleUploadedFile("x.html", b"<html><script>alert(1)</script>")},
    )
    assert response.status_code == 200
    assert "Filtypen er ikke tilladt" in response.content.decode()
    assert not entry.attachments.exists()


def test_action_plan_stale_save_is_refused_and_the_first_is_kept(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:action_plan", args=[case.reference])
    base = {"items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0", "items-0-status": "in_progress"}
    first = client.post(
        url, {**base, "goals": "Første", "items-0-who": "K", "items-0-what": "Ring"}
    )
    assert first.status_code == 302
    client.post(url, {**base, "version": "1", "goals": "Anden", "items-0-status": "done"})
    stale = client.post(url, {**base, "version": "1", "goals": "Tredje"})
    assert stale.status_code == 200
    assert "En anden har gemt" in stale.content.decode()
    assert "Anden" in client.get(url).content.decode()


def test_assessment_shows_the_risk_screen_and_keeps_its_answers(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:tool_form", args=[case.reference, "assessment"])
    response = client.post(url, {"risk:threats_to_kill": "yes", "risk:weapons_access": "unknown"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Højrisiko-tegn er til stede" in page


def test_the_checklist_opened_from_triage_leads_back_to_it_when_saved(client, world):
    """The checklist has to be filled in before the triage decision: from the triage page,
    its link says where it came from, the page links back, and saving returns there."""
    case = world.in_triage()
    client.force_login(world.visitator)
    triage = reverse("cases:triage", args=[case.reference])
    checklist = reverse("stalkingpakke:tool_form", args=[case.reference, "checklist"])
    assert f'href="{checklist}?fra=visitation"' in client.get(triage).content.decode()

    page = client.get(checklist, {"fra": "visitation"}).content.decode()
    assert f'<a class="back-link" href="{triage}">' in page
    assert f'href="{checklist}" aria-current="page"' in page
    response = client.post(f"{checklist}?fra=visitation", {})
    assert (response.status_code, response["Location"]) == (302, triage)


def test_the_checklist_saved_after_triage_stays_on_its_page(client, world):
    case = world.active()
    client.force_login(world.visitator)
    checklist = reverse("stalkingpakke:tool_form", args=[case.reference, "checklist"])
    assert "Tilbage til visitationen" not in client.get(checklist).content.decode()
    response = client.post(f"{checklist}?fra=visitation", {})
    assert response["Location"] == checklist


def test_documents_are_made_by_the_task_and_downloads_are_checked_and_audited(
    client, world, django_capture_on_commit_callbacks
):
    case = world.active(police=True)
    _entry(world, case)
    client.force_login(world.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("stalkingpakke:request_document", args=[case.reference, "incident_log"])
        )
    assert response.status_code == 302
    document = Document.objects.get(case=case)
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY  # queued on commit, eager in tests

    client.force_login(world.police_contact)
    url = reverse("stalkingpakke:download_document", args=[case.reference, document.pk])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert AuditEntry.objects.filter(
        user=world.police_contact, action=AuditAction.DOWNLOAD, what="document:incident_log"
    ).exists()
    status = reverse("stalkingpakke:document_status", args=[case.reference, document.pk])
    assert 'aria-live="polite"' in client.get(status).content.decode()

    client.force_login(world.dsc)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("kind", ["incident_log", "action_plan", "subject_access"])
@pytest.mark.parametrize("page", ["download_document", "document_status"])
def test_a_partner_gets_404_for_a_document_outside_the_consent(client, world, kind, page):
    """The contact consent shares neither the log nor the plan; the citizen's copy of the
    whole case is never a partner's to read."""
    case = _routed_to_police(world, [ConsentScope.CONTACT])
    document = _ready_document(world, case, kind)
    url = reverse(f"stalkingpakke:{page}", args=[case.reference, document.pk])
    client.force_login(world.police_contact)
    assert client.get(url).status_code == 404

    client.force_login(world.coordinator)
    assert client.get(url).status_code == 200


def test_a_document_of_another_case_is_not_served_under_a_case_the_reader_may_read(client, world):
    secret = _ready_document(world, world.active(), "incident_log")  # not shared
    shared = world.active(police=True)
    own = _ready_document(world, shared, "incident_log")
    client.force_login(world.police_contact)

    url = reverse("stalkingpakke:download_document", args=[shared.reference, secret.pk])
    assert client.get(url).status_code == 404
    url = reverse("stalkingpakke:download_document", args=[shared.reference, own.pk])
    assert client.get(url).status_code == 200


def test_a_document_whose_file_is_gone_answers_404_and_records_no_read(
    client, world, django_capture_on_commit_callbacks
):
    case = world.active()
    _entry(world, case)
    client.force_login(world.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("stalkingpakke:request_document", args=[case.reference, "incident_log"])
        )
    document = Document.objects.get(case=case)
    document.file.storage.delete(document.file.name)
    reads = AuditEntry.objects.filter(action=AuditAction.DOWNLOAD).count()

    url = reverse("stalkingpakke:download_document", args=[case.reference, document.pk])
    assert client.get(url).status_code == 404
    assert AuditEntry.objects.filter(action=AuditAction.DOWNLOAD).count() == reads


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_after_ordering_a_pdf_the_user_is_never_sent_off_site(client, world, target):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:request_document", args=[case.reference, "incident_log"])
    response = client.post(url, {"next": target})
    assert response.status_code == 302
    assert response["Location"] == case.get_absolute_url()


def test_tool_pages_open_for_every_professional_without_a_case(client, world):
    client.force_login(world.first_contact)
    assert client.get(reverse("stalkingpakke:index")).status_code == 200
    for kind in (
        "advice",
        "checklist",
        "incident_log",
        "typology",
        "conversation",
        "referral_list",
        "assessment",
        "action_plan",
    ):
        assert client.get(reverse("stalkingpakke:tool", args=[kind])).status_code == 200, kind
    client.force_login(world.admin)  # no role in the cooperation
    assert client.get(reverse("stalkingpakke:index")).status_code == 403


def test_polls_while_a_pdf_is_made_are_no_reads_and_the_finished_answer_is_one(client, world):
    """Otherwise every PDF would add a "look" every two seconds to the citizen's list of who
    has looked at the case (cases.subject_access)."""
    from stalkingpakke import documents

    case = world.active()
    document = documents.request_document(actor=world.coordinator, case=case, kind="advice")
    url = reverse("stalkingpakke:document_status", args=[case.reference, document.pk])
    reads = AuditEntry.objects.filter(what="document_status:advice", user=world.coordinator)
    client.force_login(world.coordinator)

    for _ in range(3):
        assert "hx-trigger" in client.get(url).content.decode()  # still polling
    assert not reads.exists()

    Document.objects.filter(pk=document.pk).update(status=DocumentStatus.READY, file="x.pdf")
    assert "hx-trigger" not in client.get(url).content.decode()
    assert reads.count() == 1


def _plan_post(**items):
    data = {"items-TOTAL_FORMS": "4", "items-INITIAL_FORMS": "0", "goals": "Tryghed"}
    for n in range(4):
        data[f"items-{n}-status"] = "not_started"
    data.update(items)
    return data


def test_an_action_item_with_what_but_no_who_is_listed_in_the_summary_at_the_top(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:action_plan", args=[case.reference])
    response = client.post(
        url,
        _plan_post(
            **{"items-0-who": "Koordinator", "items-0-what": "Ring til borgeren"},
            **{"items-3-what": "Følg op med politiet"},
        ),
    )
    assert response.status_code == 200
    page = response.content.decode()
    # At the top, above the form, the focus target of samvirke.js; a link to the row's field.
    start = page.index('id="error-summary"')
    summary = page[start : page.index("<form", start)]
    assert page.index('class="samvirke-form"') > start
    assert '<a href="#id_items-3-who">Indsats 4, Hvem: Udfyld både hvem og hvad' in summary
    who = page[page.index('id="id_items-3-who"') - 200 : page.index('id="id_items-3-who"') + 100]
    assert 'aria-invalid="true"' in who
    assert "Følg op med politiet" in page  # what was typed is kept
    assert not ActionPlan.objects.filter(case=case).exists()


def test_who_and_what_of_an_action_item_are_not_labelled_optional(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    page = client.get(reverse("stalkingpakke:action_plan", args=[case.reference])).content
    page = page.decode()
    row = page[page.index("Indsats 1") : page.index("Indsats 2")]
    assert 'for="id_items-0-who">Hvem</label>' in row
    assert 'for="id_items-0-what">Hvad</label>' in row
    assert "Udfyld både hvem og hvad for hver indsats" in page
    assert "(frivilligt)" in row  # the deadline still is


def _summary(page):
    start = page.index('id="error-summary"')
    return page[start : page.index("</div>\n</div>", start)]


ALLOWED = "Vælg en PDF, JPEG, PNG eller ren tekst (.txt) på højst 10 MB."


def test_a_refused_attachment_says_what_to_choose_instead_and_not_to_choose_it_again(client, world):
    """One message, on the file's field: the file is not allowed, and what is. Not also
    "choose the file again", which would tell the user to pick the refused file once more."""
    case = world.active()
    entry = _entry(world, case)
    client.force_login(world.coordinator)
    response = client.post(
        reverse("stalkingpakke:add_attachment", args=[case.reference, entry.sequence]),
        {"file": SimpleUploadedFile("side.html", b"<html><script>alert(1)</script>")},
    )
    summary = _summary(response.content.decode())
    assert f'<a href="#id_file">Bilag: Filtypen er ikke tilladt. {ALLOWED}</a>' in summary
    assert summary.count("<li>") == 1
    assert "Vælg filen igen" not in summary
    assert not entry.attachments.exists()


def test_a_refused_entry_with_a_file_says_the_file_must_be_chosen_again(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:incident_log", args=[case.reference])
    png = SimpleUploadedFile("foto.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    response = client.post(url, {"occurred_at": "", "what_happened": "x", "attachment": png})
    summary = _summary(response.content.decode())
    assert '<a href="#id_occurred_at">' in summary
    assert '<a href="#id_attachment">Bilag: Den valgte fil (foto.png) er ikke gemt.' in summary

    # Without a file chosen, no word about one.
    response = client.post(url, {"occurred_at": "", "what_happened": "x"})
    assert "Den valgte fil" not in response.content.decode()


def test_an_entry_whose_attachment_is_refused_is_not_saved_either(client, world):
    """Otherwise the page says the form failed, the user sends it again, and the append-only
    log holds the entry twice."""
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(
        reverse("stalkingpakke:incident_log", args=[case.reference]),
        {
            "occurred_at": "2026-03-02T21:40",
            "what_happened": "Stod ved døren",
            "attachment": SimpleUploadedFile("side.html", b"<html><script>alert(1)</script>"),
        },
    )
    assert response.status_code == 200
    summary = _summary(response.content.decode())
    assert f'<a href="#id_attachment">Bilag: Filtypen er ikke tilladt. {ALLOWED}</a>' in summary
    assert summary.count("<li>") == 1
    assert "Vælg filen igen" not in summary
    assert not IncidentEntry.objects.filter(case=case).exists()
    assert incident_log.verify_chain(case).intact


def test_a_refused_file_with_another_field_wrong_says_so_on_the_file(client, world):
    """The reviewer's virus.exe with the time left empty: the file's own error (checked with
    the other fields, not only once they are right), not "choose the file again"."""
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(
        reverse("stalkingpakke:incident_log", args=[case.reference]),
        {
            "occurred_at": "",
            "what_happened": "Stod ved døren",
            "attachment": SimpleUploadedFile("virus.exe", b"MZ\x90\x00" + b"0" * 100),
        },
    )
    summary = _summary(response.content.decode())
    assert '<a href="#id_occurred_at">' in summary
    assert f'<a href="#id_attachment">Bilag: Filtypen er ikke tilladt. {ALLOWED}</a>' in summary
    assert summary.count("<li>") == 2
    assert "Vælg filen igen" not in summary
    assert not IncidentEntry.objects.filter(case=case).exists()


def test_a_file_over_the_limit_says_the_limit_on_its_field(client, world, monkeypatch):
    monkeypatch.setattr(attachments, "MAX_BYTES", 1024)
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(
        reverse("stalkingpakke:incident_log", args=[case.reference]),
        {
            "occurred_at": "",
            "what_happened": "Stod ved døren",
            "attachment": SimpleUploadedFile("stor.pdf", b"%PDF-" + b"x" * 2048),
        },
    )
    summary = _summary(response.content.decode())
    assert f'<a href="#id_attachment">Bilag: Filen er for stor. {ALLOWED}</a>' in summary
    assert "Vælg filen igen" not in summary


def test_a_good_file_checked_by_the_form_is_stored_whole(client, world):
    """The form reads the file to check it; the service must still get all of it."""
    case = world.active()
    client.force_login(world.coordinator)
    content = b"%PDF-1.4 " + b"kvittering " * 1000
    response = client.post(
        reverse("stalkingpakke:incident_log", args=[case.reference]),
        {
            "occurred_at": "2026-03-02T21:40",
            "what_happened": "Stod ved døren",
            "attachment": SimpleUploadedFile("kvittering.pdf", content),
        },
    )
    assert response.status_code == 302
    attachment = IncidentEntry.objects.get(case=case).attachments.get()
    assert attachment.size == len(content)
    with attachment.file.open("rb") as handle:
        assert handle.read() == content


def test_police_reading_a_filled_in_assessment_get_questions_and_answers_not_live_inputs(
    client, world
):
    case = world.active(police=True)
    url = reverse("stalkingpakke:tool_form", args=[case.reference, "assessment"])
    client.force_login(world.coordinator)
    answers = {
        "started_on": "2026-01-15",
        "frequency": "daily",
        "behaviours": ["calls", "messages"],
        "online": "Skriver <b>om natten</b>",
        "risk:ex_intimate_partner": "yes",
    }
    assert client.post(url, answers).status_code == 302

    client.force_login(world.police_contact)
    page = client.get(url).content.decode()
    main = page[page.index("<main") : page.index("</main>")]
    for control in ('type="radio"', 'type="checkbox"', 'type="date"', "<textarea", "<select"):
        assert control not in main, control
    assert "<dt>Hvornår begyndte det?</dt><dd>15. januar 2026</dd>" in main
    assert "<dt>Hvor ofte sker det?</dt><dd>Dagligt</dd>" in main
    assert "<dt>Hvilke former for adfærd?</dt><dd>Opkald, Sms, mails og andre beskeder</dd>" in main
    assert "Skriver &lt;b&gt;om natten&lt;/b&gt;" in main  # text, never markup
    assert "<dt>Personen er tidligere kæreste eller partner.</dt><dd>Ja</dd>" in main
    assert "Ikke besvaret" in main  # the questions left open say so
    assert "Du kan læse skemaet, men ikke ændre det." in main

    client.force_login(world.coordinator)  # who may edit still gets the form
    assert 'type="radio"' in client.get(url).content.decode()


def test_police_opening_a_tool_form_nobody_filled_in_are_told_so(client, world):
    case = world.active(police=True)
    client.force_login(world.police_contact)
    url = reverse("stalkingpakke:tool_form", args=[case.reference, "typology"])
    page = client.get(url).content.decode()
    assert "Skemaet er ikke udfyldt endnu." in page
    assert 'type="radio"' not in page
