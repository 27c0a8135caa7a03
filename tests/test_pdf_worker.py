"""The incident log PDF made by a real Celery worker through the real Redis (CI sets
CELERY_BROKER_URL; locally: DATABASE_URL=postgresql://postgres@127.0.0.1:5432/samvirke
CELERY_BROKER_URL=redis://127.0.0.1:6379/0)."""

import datetime
import io
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from pypdf import PdfReader

from config.celery import app
from stalkingpakke import documents, incident_log, pdf
from stalkingpakke.models import DocumentKind, DocumentStatus

ENTRIES = [  # entered out of order: the PDF lists them by when they happened
    ("Tredje hændelse: blomster og et brev på måtten", 20, ["gifts"]),
    ("Første hændelse: 14 opkald om natten, æ ø å", 2, ["calls"]),
    ("Anden hændelse: han ventede ved Ålborggade og fulgte efter hende", 9, ["following"]),
]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_the_incident_log_pdf(world, settings, tmp_path, monkeypatch, caplog):
    settings.MEDIA_ROOT = tmp_path
    # Small chunks and the process pool, so the worker goes the way a long log goes.
    monkeypatch.setattr(pdf, "CHUNK_MIN", 1)
    monkeypatch.setattr(pdf, "CHUNK_MAX", 1)
    monkeypatch.setattr(pdf, "PARALLEL_MIN_ENTRIES", 1)
    case = world.active(police=True)
    for text, day, behaviours in ENTRIES:
        incident_log.add_entry(
            actor=world.coordinator,
            case=case,
            data={
                "occurred_at": timezone.make_aware(datetime.datetime(2026, 3, day, 22, 15)),
                "what_happened": text,
                "behaviours": behaviours,
                "place": "Ved hjemmet",
            },
        )

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        document = documents.request_document(
            actor=world.coordinator, case=case, kind=DocumentKind.INCIDENT_LOG
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            document.refresh_from_db()
            if document.status != DocumentStatus.PENDING:
                break
            time.sleep(0.25)

    assert document.status == DocumentStatus.READY, document.error
    assert "pool failed" not in caplog.text
    with document.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert case.reference in text
    positions = [text.index(t) for t in ("Første hændelse", "Anden hændelse", "Tredje hændelse")]
    assert positions == sorted(positions)
    assert "æ ø å" in text and "Ålborggade" in text and "måtten" in text
    assert document.chain_hash == incident_log.verify_chain(case).final_hash
    assert document.chain_hash in text
    assert f"Side {len(reader.pages)} af {len(reader.pages)}" in text
