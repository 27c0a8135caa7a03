"""The incident log's CSV import in two steps: the upload shows the rows and saves nothing;
only the confirming POST, whose hidden field is parsed and checked again like an upload,
writes them to the append-only log."""

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import services
from cases.models import AuditAction, AuditEntry
from stalkingpakke import csv_import
from stalkingpakke.models import IncidentEntry

pytestmark = pytest.mark.django_db

GOOD = (
    "dato;tid;sted;hvad skete der;adfærd\n"
    "02-03-2026;21:40;Hjemme;Ringede 12 gange;opkald\n"
    "05-03-2026;;Arbejdet;Stod ved indgangen;Dukker op ved arbejde/skole\n"
).encode()
BAD_ROW = "dato;tid;hvad skete der\n31-02-2026;10:00;Dårlig dato\n".encode()


def _url(case):
    return reverse("stalkingpakke:import_csv", args=[case.reference])


def _upload(client, case, raw=GOOD):
    return client.post(
        _url(case), {"file": SimpleUploadedFile("log.csv", raw, content_type="text/csv")}
    )


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert match, f"the preview carries {name} in a hidden field"
    return unescape(match.group(1))


def _confirmation(page: str) -> dict:
    """What the preview's "Ja, føj dem til logskemaet" sends."""
    return {"content": _hidden(page, "content"), "log_last": _hidden(page, "log_last")}


def _posted(raw=GOOD, log_last="0") -> dict:
    """A confirmation made without the preview (as a tampered or replayed form would be)."""
    return {"content": csv_import.for_confirmation(raw), "log_last": log_last}


def test_upload_shows_the_rows_and_saves_nothing(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    response = _upload(client, case)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Du er ved at føje 2 registreringer til logskemaet, fra 2. mar 2026 til 5. mar 2026" in (
        page
    )
    assert "Ringede 12 gange" in page and "Stod ved indgangen" in page
    assert "2. mar 2026 21:40" in page
    # The row without a time says so, not "00:00" as if someone wrote it.
    assert "5. mar 2026 (intet klokkeslæt, gemmes som 00:00)" in page
    assert "Dukker op ved arbejde/skole" in page
    assert "Ja, føj dem til logskemaet" in page
    fortryd = reverse("stalkingpakke:incident_log", args=[case.reference])
    assert f'<a class="button button-secondary" href="{fortryd}">Fortryd</a>' in page
    assert not IncidentEntry.objects.exists()
    assert not AuditEntry.objects.filter(what="incident_import").exists()


def test_the_preview_is_an_audited_read(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    _upload(client, case)
    entry = AuditEntry.objects.get(what="incident_log:import_preview")
    assert entry.case_id == case.pk
    assert entry.user_id == world.coordinator.pk
    assert entry.action == AuditAction.VIEW
    assert entry.object_id == "2"  # the number of rows shown


def test_confirming_saves_exactly_the_rows(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(_url(case), _confirmation(_upload(client, case).content.decode()))
    assert response.status_code == 302
    assert response["Location"] == reverse("stalkingpakke:incident_log", args=[case.reference])
    entries = list(case.incidents.order_by("sequence"))
    assert [(e.what_happened, e.place, e.behaviours) for e in entries] == [
        ("Ringede 12 gange", "Hjemme", ["calls"]),
        ("Stod ved indgangen", "Arbejdet", ["at_work"]),
    ]
    rows, _report = csv_import.parse(GOOD)
    assert [{key: getattr(e, key) for key in rows[0]} for e in entries] == rows
    assert AuditEntry.objects.filter(what="incident_import", case=case).count() == 1


def test_cancelling_or_not_confirming_saves_nothing(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    _upload(client, case)
    # "Fortryd" is a link back to the log: following it saves nothing.
    response = client.get(reverse("stalkingpakke:incident_log", args=[case.reference]))
    assert response.status_code == 200
    assert not IncidentEntry.objects.exists()


def test_a_tampered_hidden_field_is_checked_again_and_refused(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    _upload(client, case)
    response = client.post(_url(case), _posted(BAD_ROW))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Række 2" in page and "intet er importeret" in page
    assert not IncidentEntry.objects.exists()


@pytest.mark.parametrize(
    "content",
    [
        "",
        "ikke base64!",
        "aGVq",  # base64, but not compressed data
        csv_import.for_confirmation(GOOD)[:-8],  # cut short
    ],
)
def test_an_unreadable_hidden_field_is_refused(client, world, content):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(_url(case), {"content": content})
    assert response.status_code == 200
    assert "Filen kunne ikke læses igen" in response.content.decode()
    assert not IncidentEntry.objects.exists()


def test_the_hidden_field_has_the_upload_s_size_limit():
    big = b"dato;hvad skete der\n" + b"02-03-2026;" + b"x" * csv_import.MAX_BYTES + b"\n"
    raw = csv_import.from_confirmation(csv_import.for_confirmation(big))  # compresses well
    assert len(raw) == csv_import.MAX_BYTES + 1  # unpacked no further than needed to refuse
    with pytest.raises(Exception, match="for stor"):
        csv_import.parse(raw)


def test_a_file_with_errors_shows_them_on_the_upload_page_in_the_file_s_column_names(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    raw = b"Dato;Hvad skete der\n31-02-2026;x\n"
    page = _upload(client, case, raw).content.decode()
    assert "Række 2" in page and "Dato:" in page
    assert 'name="content"' not in page
    assert not IncidentEntry.objects.exists()


def test_a_file_with_only_a_header_says_so(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    page = _upload(client, case, b"dato;hvad skete der\n").content.decode()
    assert "Filen har ingen registreringer." in page
    assert 'name="content"' not in page


@pytest.mark.parametrize(
    ("who", "state", "expected"),
    [
        ("police_contact", "open", 403),
        ("dsc", "open", 404),
        ("coordinator", "closed", 403),
    ],
)
def test_who_may_not_import_reaches_neither_preview_nor_confirm(
    client, world, who, state, expected
):
    case = world.active(police=True)
    if state == "closed":
        case = services.close(actor=world.coordinator, case=case, reason="resolved")
    client.force_login(getattr(world, who))
    assert _upload(client, case).status_code == expected
    response = client.post(_url(case), _posted())
    assert response.status_code == expected
    assert not IncidentEntry.objects.exists()
    assert not AuditEntry.objects.filter(what="incident_log:import_preview").exists()
    # The same requests from who may: the refusal came from the permission, not the input.
    if state == "open":
        client.force_login(world.coordinator)
        assert _upload(client, case).status_code == 200
        assert client.post(_url(case), _posted()).status_code == 302


def test_a_confirmation_sent_twice_adds_the_rows_once(client, world):
    """A double click on "Ja, føj dem til logskemaet": the log is append-only, so the second
    sending is refused, not written again."""
    case = world.active()
    client.force_login(world.coordinator)
    confirmation = _confirmation(_upload(client, case).content.decode())

    assert client.post(_url(case), confirmation).status_code == 302
    again = client.post(_url(case), confirmation)

    assert again.status_code == 200
    assert "måske er de allerede gemt" in again.content.decode()
    assert IncidentEntry.objects.filter(case=case).count() == 2


def test_an_entry_made_between_preview_and_confirmation_makes_the_rows_be_checked_again(
    client, world
):
    from stalkingpakke import incident_log

    from .test_stalkingpakke import entry_data

    case = world.active()
    client.force_login(world.coordinator)
    confirmation = _confirmation(_upload(client, case).content.decode())
    incident_log.add_entry(actor=world.visitator, case=case, data=entry_data())

    response = client.post(_url(case), confirmation)

    assert "Logskemaet er ændret" in response.content.decode()
    assert IncidentEntry.objects.filter(case=case).count() == 1


@pytest.mark.parametrize("log_last", ["", "ikke et tal"])
def test_a_confirmation_without_the_log_s_state_is_refused(client, world, log_last):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(_url(case), _posted(log_last=log_last))
    assert "Logskemaet er ændret" in response.content.decode()
    assert not IncidentEntry.objects.exists()
