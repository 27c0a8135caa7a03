"""The PDF documents and the task that makes them (tasks run in-process here).

The PDFs are read back with pypdf (text) and pikepdf (PDF/A metadata, fonts), the way a
records system or a police officer's viewer would see them."""

import datetime
import hashlib
import io
import logging
import multiprocessing
import socket

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfReader

from stalkingpakke import attachments, documents, incident_log, pdf, services, tasks
from stalkingpakke.chart import timeline_svg
from stalkingpakke.content import load_defaults
from stalkingpakke.models import (
    Document,
    DocumentKind,
    DocumentStatus,
    IncidentLogChunk,
    ToolKind,
    ToolVersion,
)


def at(day, hour=12, minute=0):
    return timezone.make_aware(datetime.datetime(2026, 3, day, hour, minute))


def entry(text, day, **overrides):
    data = {
        "occurred_at": at(day),
        "place": "Ved hjemmet",
        "what_happened": text,
        "behaviours": ["calls"],
        "evidence": "Skærmbillede",
        "effect": "Kunne ikke sove.",
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    load_defaults(ToolVersion, ToolKind.values)
    return tmp_path


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("the PDF renderer tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def make(world, case, kind, capture):
    with capture(execute=True):
        document = documents.request_document(actor=world.coordinator, case=case, kind=kind)
    document.refresh_from_db()
    return document


def text_of(document) -> str:
    with document.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
        return "\n".join(page.extract_text() for page in reader.pages)


def pages_of(document) -> list[str]:
    with document.file.open("rb") as handle:
        return [page.extract_text() for page in PdfReader(io.BytesIO(handle.read())).pages]


def add(world, case, data):
    return incident_log.add_entry(actor=world.coordinator, case=case, data=data)


# The incident log ---------------------------------------------------------------------------


def test_incident_log_pdf_shows_the_log_in_time_order_as_a_police_officer_needs_it(
    world, django_capture_on_commit_callbacks, no_network
):
    case = world.active(police=True)
    # Entered out of order: the PDF sorts by when it happened.
    add(world, case, entry("Tredje hændelse: blomster på trappen", 20, behaviours=["gifts"]))
    first = add(world, case, entry("Første hændelse: 14 opkald om natten", 2))
    add(
        world,
        case,
        entry(
            "Anden hændelse: han fulgte efter hende til Føtex i Ølstykke",
            9,
            behaviours=["following", "threats"],
            reported_to_police=True,
            police_journal_number="1234-56789-00012-26",
            witnesses="Naboen Åse",
        ),
    )
    incident_log.correct_entry(
        actor=world.coordinator,
        entry=first,
        data=entry("Første hændelse: 15 opkald om natten, æ ø å", 2),
        reason="Borgeren talte opkaldene igen",
    )

    document = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)

    assert document.status == DocumentStatus.READY, document.error
    text = text_of(document)
    chain = incident_log.verify_chain(case)
    assert case.reference in text
    positions = [
        text.index("Første hændelse: 15 opkald"),
        text.index("Anden hændelse"),
        text.index("Tredje hændelse"),
    ]
    assert positions == sorted(positions)
    assert "14 opkald" not in text  # the corrected entry is replaced by its correction
    assert "Borgeren talte opkaldene igen" in text and "Rettet" in text
    assert "æ ø å" in text and "Ølstykke" in text and "Åse" in text
    assert "1234-56789-00012-26" in text
    assert chain.intact and chain.final_hash in text and "Kæden er intakt" in text
    assert "Side 1 af" in text
    # counts per behaviour and the timeline chart's text (week labels) are there
    assert "Antal pr. type adfærd" in text and "Trusler" in text
    assert "uge 10" in text
    assert no_network == []
    # what is stored about the file
    with document.file.open("rb") as handle:
        content = handle.read()
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert document.chain_hash == chain.final_hash
    assert document.finished_at is not None and document.attempts == 1


def test_every_page_has_the_case_reference_date_hash_and_side_x_af_y(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(pdf, "CHUNK_MIN", 2)
    monkeypatch.setattr(pdf, "CHUNK_MAX", 3)
    case = world.active(police=True)
    for day in range(1, 9):
        add(world, case, entry(f"Hændelse den {day}. " + "Lang beskrivelse. " * 40, day))

    document = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)

    pages = pages_of(document)
    assert len(pages) >= 5
    for number, page in enumerate(pages, start=1):
        assert f"Side {number} af {len(pages)}" in page
        assert f"sag {case.reference}" in page
        assert document.chain_hash in page
        assert "Udskrevet" in page


def test_the_merged_log_is_pdfa_with_the_project_fonts_and_one_shared_stamp_font(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(pdf, "CHUNK_MIN", 2)
    monkeypatch.setattr(pdf, "CHUNK_MAX", 2)
    case = world.active(police=True)
    for day in range(1, 6):
        add(world, case, entry(f"Hændelse {day}", day))

    document = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)

    with document.file.open("rb") as handle:
        content = handle.read()
    assert pdf.pdfa_claim(content) == "3B"
    with pikepdf.open(io.BytesIO(content)) as merged:
        assert merged.open_metadata()["pdfaid:part"] == "3"
        assert "/OutputIntents" in merged.Root and merged.trailer.get("/ID") is not None
        stamp_fonts = set()
        for page in merged.pages:
            stamp_fonts.add(page.Resources.Font["/SvStamp"].objgen)
            for font in page.Resources.Font.values():
                descendant = font.DescendantFonts[0]
                assert "/FontFile2" in descendant.FontDescriptor  # embedded
                assert "Plex" in str(font.BaseFont)  # the project's own font
        assert len(stamp_fonts) == 1  # one font object shared by every page's stamp


def test_adding_an_entry_renders_only_the_last_chunk_again(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(pdf, "CHUNK_MIN", 3)
    monkeypatch.setattr(pdf, "CHUNK_MAX", 3)
    case = world.active(police=True)
    for day in range(1, 8):
        add(world, case, entry(f"Hændelse {day}", day))
    first = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    before = {c.index: (c.pk, c.content_key) for c in IncidentLogChunk.objects.filter(case=case)}
    assert sorted(before) == [0, 1, 2]

    add(world, case, entry("Hændelse 8, den nyeste", 8))
    second = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)

    after = {c.index: (c.pk, c.content_key) for c in IncidentLogChunk.objects.filter(case=case)}
    assert after[0] == before[0] and after[1] == before[1]  # reused, not rendered again
    assert after[2] != before[2]  # the last chunk now has the new entry
    assert len(after) == 3  # the old last chunk is gone
    assert "Hændelse 8, den nyeste" in text_of(second)
    assert "Hændelse 8" not in text_of(first)
    assert second.chain_hash != first.chain_hash


def test_chunks_rendered_in_parallel_give_the_same_document(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(pdf, "CHUNK_MIN", 2)
    monkeypatch.setattr(pdf, "CHUNK_MAX", 2)
    monkeypatch.setattr(pdf, "PARALLEL_MIN_ENTRIES", 1)
    monkeypatch.setattr(pdf, "POOL_WORKERS", 2)
    case = world.active(police=True)
    for day in range(1, 6):
        add(world, case, entry(f"Hændelse nr. {day} æøå", day))

    document = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)

    assert document.status == DocumentStatus.READY, document.error
    text = text_of(document)
    positions = [text.index(f"Hændelse nr. {day} æøå") for day in range(1, 6)]
    assert positions == sorted(positions)


def test_the_pool_starts_inside_a_celery_prefork_child(monkeypatch, caplog):
    """Celery's prefork children are billiard processes: daemonic, with billiard's authkey."""
    from billiard.process import AuthenticationString

    config = multiprocessing.current_process()._config
    monkeypatch.setitem(config, "daemon", True)
    monkeypatch.setitem(config, "authkey", AuthenticationString(bytes(config["authkey"])))
    monkeypatch.setattr(pdf, "POOL_WORKERS", 2)

    with caplog.at_level(logging.WARNING, logger="stalkingpakke.pdf"):
        results = pdf.render_many([f"<p>Del {n} æøå</p>" for n in range(4)], parallel=True)

    assert "pool failed" not in caplog.text
    texts = [PdfReader(io.BytesIO(result)).pages[0].extract_text() for result in results]
    assert texts == [f"Del {n} æøå" for n in range(4)]
    assert config["daemon"] is True  # put back


def test_chunk_boundaries_depend_only_on_the_entries(monkeypatch):
    monkeypatch.setattr(pdf, "CHUNK_MIN", 2)
    monkeypatch.setattr(pdf, "CHUNK_MAX", 5)
    monkeypatch.setattr(pdf, "CHUNK_DIVISOR", 3)

    class E:
        def __init__(self, n):
            self.entry_hash = hashlib.sha256(str(n).encode()).hexdigest()

    entries = [E(n) for n in range(40)]
    chunks = pdf.split_chunks(entries)
    assert [e for chunk in chunks for e in chunk] == entries
    assert all(2 <= len(chunk) <= 5 for chunk in chunks[:-1])
    # an entry inserted early changes the chunks around it, and the rest are the same again
    shifted = pdf.split_chunks([E(1000), *entries])
    assert {tuple(map(id, c)) for c in chunks[3:]} <= {tuple(map(id, c)) for c in shifted}


def test_the_log_lists_the_attachments_with_their_checksums(
    world, django_capture_on_commit_callbacks
):
    case = world.active(police=True)
    first = add(world, case, entry("Han sendte et brev", 3))
    receipt = attachments.add_attachment(
        actor=world.coordinator,
        entry=first,
        upload=SimpleUploadedFile("kvittering-æøå.pdf", b"%PDF-1.4\n..."),
    )

    document = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)

    text = text_of(document)
    back = text[text.index("Bilag og beviser") :]
    assert receipt.original_name in back and receipt.sha256 in back
    assert f"Bilag: {receipt.original_name}" in " ".join(text.split())  # at the entry too
    with document.file.open("rb") as handle, pikepdf.open(io.BytesIO(handle.read())) as merged:
        assert merged.check_pdf_syntax() == []  # qpdf finds nothing wrong
        titles = [item.title for item in merged.open_outline().root]
        assert titles == ["Oversigt", "Kronologi", "Bilag og beviser"]


def test_an_empty_log_still_makes_a_document(world, django_capture_on_commit_callbacks):
    case = world.active(police=True)
    document = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    assert document.status == DocumentStatus.READY, document.error
    text = text_of(document)
    assert "Ingen registreringer" in text and "Side 1 af 2" in text


def test_a_broken_chain_is_printed_as_broken(world, django_capture_on_commit_callbacks):
    case = world.active(police=True)
    changed = add(world, case, entry("Oprindelig tekst", 1))
    add(world, case, entry("Senere hændelse", 2))
    type(changed).objects.filter(pk=changed.pk).update(what_happened="Ændret i databasen")

    document = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)

    text = text_of(document)
    assert "Kæden er brudt" in text and "nr. 1" in text


# The task -----------------------------------------------------------------------------------


def test_running_the_task_twice_leaves_one_file(world, django_capture_on_commit_callbacks, _media):
    case = world.active(police=True)
    add(world, case, entry("En hændelse", 1))
    document = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)
    sha = document.sha256

    assert tasks.render_document.delay(document.pk).get() == "skipped"

    document.refresh_from_db()
    assert document.sha256 == sha and document.attempts == 1
    assert [p.name for p in (_media / "documents").rglob("*.pdf")] == [
        document.file.name.rsplit("/", 1)[-1]
    ]


def test_two_runs_at_once_store_one_file(world, _media):
    """A message delivered twice (worker lost, visibility timeout): the run that claimed the
    document last stores its file; the other finds it claimed and stores nothing."""
    case = world.active(police=True)
    document = Document.objects.create(
        case=case, kind=DocumentKind.INCIDENT_LOG, requested_by=world.coordinator
    )
    document = Document.objects.select_related("case", "requested_by").get(pk=document.pk)
    rendered = pdf.render(document)
    first = tasks._claim(document.pk)
    second = tasks._claim(document.pk)

    assert tasks._finish(document.pk, second, rendered) is True
    assert tasks._finish(document.pk, first, rendered) is False
    assert tasks._claim(document.pk) is None  # READY: nothing more to do
    assert len(list((_media / "documents").rglob("*.pdf"))) == 1


def test_a_failing_render_ends_failed_with_a_clear_message_and_no_personal_data(
    world, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broken(document):
        raise RuntimeError(f"kunne ikke tegne {document.case.full_name}")

    monkeypatch.setattr(pdf, "render", broken)
    case = world.active(police=True, full_name="Hemmelig Hansen")
    with caplog.at_level(logging.ERROR, logger="stalkingpakke.tasks"):
        document = make(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)

    assert document.status == DocumentStatus.FAILED
    assert document.error == tasks.MSG_FAILED and not document.file
    assert str(document.pk) in caplog.text and "RuntimeError" in caplog.text
    assert "Hemmelig" not in caplog.text and "Hemmelig" not in document.error

    # the page's retry puts it back in the queue, and now it works
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        documents.retry_document(actor=world.coordinator, document=document)
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED  # there is still no action plan
    assert "handleplan" in document.error and document.attempts == 2


def test_a_transient_error_is_retried_and_then_gives_up_with_a_message(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    calls = []

    def flaky(document):
        calls.append(document.pk)
        raise OSError("disk full")

    monkeypatch.setattr(pdf, "render", flaky)
    case = world.active(police=True)
    document = make(world, case, DocumentKind.ADVICE, django_capture_on_commit_callbacks)

    assert len(calls) == 1 + tasks.MAX_RETRIES
    assert document.status == DocumentStatus.FAILED
    assert document.error == tasks.MSG_UNAVAILABLE
    assert document.attempts == 1 + tasks.MAX_RETRIES


def test_a_transient_error_once_is_retried_and_succeeds(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    real = pdf.render
    calls = []

    def once(document):
        calls.append(document.pk)
        if len(calls) == 1:
            raise OSError("storage briefly away")
        return real(document)

    monkeypatch.setattr(pdf, "render", once)
    case = world.active(police=True)
    document = make(world, case, DocumentKind.ADVICE, django_capture_on_commit_callbacks)

    assert document.status == DocumentStatus.READY and document.attempts == 2


def test_retry_backoff_grows():
    assert [tasks.backoff(n) for n in range(3)] == [10, 40, 160]


# Nothing but the project's static files -----------------------------------------------------


def test_the_url_fetcher_serves_static_files_and_refuses_everything_else(settings):
    fetcher = pdf.StaticOnlyFetcher()
    css = fetcher.fetch(pdf.PDF_CSS.as_uri())
    assert b"@font-face" in css.read()
    outside = [
        "http://example.com/x.png",
        "https://example.com/font.ttf",
        "ftp://example.com/x",
        "file:///etc/passwd",
        (pdf.STATIC_DIR / ".." / "config" / "settings.py").as_uri(),
        pdf.STATIC_DIR.as_uri() + "/../config/settings.py",
        "file://example.com" + str(pdf.PDF_CSS),
    ]
    for url in outside:
        with pytest.raises(pdf.RefusedURL):
            fetcher.fetch(url)


def test_rendering_fetches_nothing_from_outside(monkeypatch, no_network):
    asked = []
    real_fetch = pdf.StaticOnlyFetcher.fetch

    def spy(self, url, headers=None):
        asked.append(url)
        return real_fetch(self, url, headers)

    monkeypatch.setattr(pdf.StaticOnlyFetcher, "fetch", spy)
    content = pdf.html_to_pdf(
        '<p>Billeder: <img src="http://example.com/x.png"> <img src="file:///etc/passwd">'
        '<link rel="stylesheet" href="https://example.com/evil.css"></p>'
    )
    assert content.startswith(b"%PDF")
    assert no_network == []
    fetched = [url for url in asked if not url.startswith("data:")]
    assert "http://example.com/x.png" in fetched  # asked for, and refused
    assert b"/etc/passwd" not in content and b"root:" not in content


def test_markup_in_what_the_user_wrote_is_printed_as_text(
    world, django_capture_on_commit_callbacks, no_network
):
    case = world.active(police=True)
    add(
        world,
        case,
        entry('Han skrev <img src="http://example.com/x.png"> og file:///etc/passwd', 1),
    )

    document = make(world, case, DocumentKind.INCIDENT_LOG, django_capture_on_commit_callbacks)

    text = text_of(document)
    assert '<img src="http://example.com/x.png">' in text
    assert no_network == []


def test_css_strings_cannot_break_out_of_the_style_element():
    value = pdf.css_string('Sag "x"; } </style><script>æ')
    assert "<" not in value and '"x"' not in value and "}" not in value
    assert value.startswith('"') and value.endswith('"') and "æ" in value


# The other documents -------------------------------------------------------------------------


def test_action_plan_pdf(world, django_capture_on_commit_callbacks):
    case = world.active(police=True)
    services.save_action_plan(
        actor=world.coordinator,
        case=case,
        goals="At kunne gå på arbejde igen uden at være bange. Øget tryghed.",
        safety_measures="Ny telefon med hemmeligt nummer; alarm fra politiet.",
        next_review=datetime.date(2026, 4, 15),
        items=[
            {
                "who": "Koordinatoren",
                "what": "Henvise til Dansk Stalking Center",
                "deadline": datetime.date(2026, 3, 20),
                "status": "in_progress",
            },
            {"who": "Borgeren", "what": "Føre logskema hver dag", "status": "not_started"},
        ],
    )

    document = make(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)

    assert document.status == DocumentStatus.READY, document.error
    text = text_of(document)
    for expected in (
        case.reference,
        "Øget tryghed",
        "Henvise til Dansk Stalking Center",
        "20.03.2026",
        "I gang",
        "Ikke startet",
        "alarm fra politiet",
        "15.04.2026",
        "Side 1 af 1",
    ):
        assert expected in text, expected
    assert document.chain_hash == ""
    with document.file.open("rb") as handle:
        assert pdf.pdfa_claim(handle.read()) == "3B"


def test_action_plan_pdf_without_a_plan_says_so(world, django_capture_on_commit_callbacks):
    case = world.active(police=True)
    document = make(world, case, DocumentKind.ACTION_PLAN, django_capture_on_commit_callbacks)
    assert document.status == DocumentStatus.FAILED
    assert document.error == "Sagen har endnu ingen handleplan. Udfyld den, og prøv igen."


def test_assessment_pdf_shows_answers_risk_screen_and_disclaimer(
    world, django_capture_on_commit_callbacks
):
    case = world.active(police=True)
    content = ToolVersion.objects.current(ToolKind.ASSESSMENT).content
    high = next(r for r in content["risk_indicators"] if r.get("high_risk"))
    text_field = next(
        f for s in content["sections"] for f in s["fields"] if f["type"] == "textarea"
    )
    services.save_form(
        actor=world.coordinator,
        case=case,
        kind=ToolKind.ASSESSMENT,
        answers={f"risk:{high['key']}": "yes", text_field["key"]: "Han truede i sms'en. Æv."},
    )

    document = make(world, case, DocumentKind.ASSESSMENT, django_capture_on_commit_callbacks)

    assert document.status == DocumentStatus.READY, document.error
    text = " ".join(text_of(document).split())
    assert case.reference in text
    assert "høj risiko" in text
    assert " ".join(high["text"]["da"].split()) in text
    assert "Han truede i sms'en. Æv." in text
    assert " ".join(content["disclaimer"]["da"].split())[:60] in text


def test_advice_leaflet_has_the_advice_and_no_case_number(
    world, django_capture_on_commit_callbacks
):
    case = world.active(police=True)
    content = ToolVersion.objects.current(ToolKind.ADVICE).content

    document = make(world, case, DocumentKind.ADVICE, django_capture_on_commit_callbacks)

    assert document.status == DocumentStatus.READY, document.error
    text = " ".join(text_of(document).split())
    assert content["title"]["da"] in text
    for item in content["items"]:
        assert item["heading"]["da"] in text
    assert case.reference not in text and case.full_name not in text
    assert "25 17 73 74" in text  # Dansk Stalking Center's line for people exposed
    assert "60 56 73 74" not in text  # ... but not its line for professionals


# The chart ----------------------------------------------------------------------------------


def test_timeline_svg_counts_entries_per_week_by_kind_with_text_as_text():
    class E:
        def __init__(self, day, behaviours):
            self.occurred_at = at(day)
            self.behaviours = behaviours

    svg = timeline_svg([E(2, ["calls"]), E(3, ["calls", "threats"]), E(20, [])])
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "<text" in svg and "IBM Plex Sans" in svg  # svg.fonttype = none
    assert "uge 10" in svg and "Ikke angivet" in svg and "Trusler" in svg
    assert timeline_svg([]).count("Ingen registreringer") == 1


def test_a_log_over_years_is_drawn_per_month():
    class E:
        def __init__(self, when):
            self.occurred_at = when
            self.behaviours = ["calls"]

    start = at(1)
    svg = timeline_svg([E(start + datetime.timedelta(days=d)) for d in range(0, 3 * 365, 20)])
    assert "pr. måned" in svg and "uge " not in svg and "mar." in svg
