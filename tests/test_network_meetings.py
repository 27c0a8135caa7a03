"""Network meetings (netværksmøder) on a case: the coordinator, or the visitator, records who
took part (roles and organisations), what the meeting was for and what was agreed.

- The services: one audit entry, one timeline event with the date only, the case's version
  bumped; refused on a referred, closed or anonymised case, for anyone without full access,
  and against a stale version of the meeting (the first save is kept).
- The pages: the form and its edit page as each role, each GET one audited read; a stale
  form sent a second time is refused with a message and changes nothing.
- Consent: police and DSC read the meetings only with the citizen's consent to share the
  journal notes (ConsentScope.NOTES); without it they see neither the meetings nor their
  timeline events. Full access sees them always.
- The case page asks one query for the meetings, however many there are.

The permission matrix rows are in test_permission_matrix.py (and walked by test_audit_walk.py);
the citizen's copy and the retention rule are tested in test_subject_access.py and
test_retention.py.
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import services, subject_access
from cases.access import Action, may
from cases.models import (
    AuditAction,
    AuditEntry,
    Case,
    ConsentPartner,
    ConsentScope,
    EventKind,
    NetworkMeeting,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

TODAY = timezone.localdate
PARTICIPANTS = "Borgeren, primær koordinator (Familierådgivningen), politiets kontaktperson"
PURPOSE = "Sikkerheden i hjemmet"
AGREEMENTS = "Politiet vurderer et tilhold inden fredag."


def _record(world, case, actor=None, **overrides):
    data = {
        "held_on": TODAY(),
        "participants": PARTICIPANTS,
        "purpose": PURPOSE,
        "agreements": AGREEMENTS,
    }
    data.update(overrides)
    return services.record_network_meeting(actor=actor or world.coordinator, case=case, **data)


def _update(world, meeting, actor=None, **overrides):
    data = {
        "expected_version": meeting.version,
        "held_on": meeting.held_on,
        "participants": meeting.participants,
        "purpose": meeting.purpose,
        "agreements": meeting.agreements,
        "next_meeting": meeting.next_meeting,
    }
    data.update(overrides)
    return services.update_network_meeting(
        actor=actor or world.coordinator, meeting=meeting, **data
    )


def _last_audit_pk() -> int:
    return AuditEntry.objects.aggregate(m=Max("pk"))["m"] or 0


def _anonymise(case: Case) -> None:
    """What the retention run leaves: a closed case marked anonymised (its own tests are in
    test_retention.py; here only the refusal matters)."""
    Case.objects.filter(pk=case.pk).update(anonymised_at=timezone.now())
    case.refresh_from_db()


# --- services: what is allowed ------------------------------------------------------------


def test_the_coordinator_records_a_meeting_with_one_audit_entry_and_an_event_without_its_text(
    world,
):
    case = world.active(police=True)
    version = case.version
    before = _last_audit_pk()

    meeting = _record(world, case, next_meeting=TODAY() + datetime.timedelta(days=14))

    assert meeting.case == case and meeting.recorded_by == world.coordinator
    assert (meeting.participants, meeting.purpose, meeting.agreements) == (
        PARTICIPANTS,
        PURPOSE,
        AGREEMENTS,
    )
    assert meeting.version == 1 and not meeting.is_planned
    entries = list(AuditEntry.objects.filter(pk__gt=before))
    assert [(e.action, e.what, e.object_id, e.case_id) for e in entries] == [
        (AuditAction.CREATE, "network_meeting", str(meeting.pk), case.pk)
    ]
    event = case.events.get(kind=EventKind.NETWORK_MEETING)
    assert event.summary == f"{TODAY():%d.%m.%Y}"
    assert event.actor == world.coordinator
    case.refresh_from_db()
    assert case.version == version + 1


def test_the_visitator_may_record_a_meeting_during_triage_and_on_a_case_without_coordinator(
    world,
):
    in_triage = world.in_triage()
    dsc_only = world.active(dsc=True, coordinator=False)
    for case in (in_triage, dsc_only):
        meeting = _record(world, case, actor=world.visitator)
        assert meeting.recorded_by == world.visitator
        assert may(world.visitator, Action.NETWORK_MEETING, case)


def test_a_planned_meeting_may_wait_for_its_agreements_a_held_one_may_not(world):
    case = world.active()
    planned = _record(world, case, held_on=TODAY() + datetime.timedelta(days=7), agreements="")
    assert planned.is_planned and planned.agreements == ""

    with pytest.raises(ValidationError) as refused:
        _record(world, case, agreements="   ")
    assert set(refused.value.error_dict) == {"agreements"}


def test_each_missing_or_wrong_field_is_named(world):
    case = world.active()
    with pytest.raises(ValidationError) as refused:
        _record(
            world,
            case,
            held_on=TODAY() - datetime.timedelta(days=30),  # before the case was received
            participants=" ",
            purpose="",
            next_meeting=TODAY() - datetime.timedelta(days=31),
        )
    assert set(refused.value.error_dict) == {"held_on", "participants", "purpose", "next_meeting"}
    assert not NetworkMeeting.objects.exists()


def test_the_next_meeting_after_this_one_is_also_a_database_rule(world):
    meeting = _record(world, world.active())
    with pytest.raises(IntegrityError), transaction.atomic():
        NetworkMeeting.objects.filter(pk=meeting.pk).update(next_meeting=meeting.held_on)


def test_a_correction_bumps_the_version_and_writes_a_change_and_an_event(world):
    case = world.active()
    meeting = _record(world, case, held_on=TODAY() + datetime.timedelta(days=3), agreements="")
    before = _last_audit_pk()

    updated = _update(world, meeting, actor=world.visitator, agreements="Ny aftale")

    assert updated.version == 2 and updated.agreements == "Ny aftale"
    assert NetworkMeeting.objects.get(pk=meeting.pk).agreements == "Ny aftale"
    entries = list(AuditEntry.objects.filter(pk__gt=before))
    assert [(e.action, e.what, e.object_id, e.user_id) for e in entries] == [
        (AuditAction.CHANGE, "network_meeting", str(meeting.pk), world.visitator.pk)
    ]
    changed = case.events.get(kind=EventKind.NETWORK_MEETING_CHANGED)
    assert changed.summary == f"{meeting.held_on:%d.%m.%Y}"


# --- services: what is refused --------------------------------------------------------------


def test_a_stale_correction_is_refused_and_the_first_is_kept(world):
    case = world.active()
    meeting = _record(world, case)
    opened_by_both = meeting.version
    _update(world, meeting, agreements="Koordinatorens aftaler", expected_version=opened_by_both)

    with pytest.raises(ValidationError) as refused:
        _update(
            world,
            meeting,
            actor=world.visitator,
            agreements="Visitatorens aftaler",
            expected_version=opened_by_both,
        )

    assert refused.value.code == "stale"
    assert "En anden har rettet netværksmødet" in refused.value.messages[0]
    meeting.refresh_from_db()
    assert (meeting.agreements, meeting.version) == ("Koordinatorens aftaler", 2)
    assert case.events.filter(kind=EventKind.NETWORK_MEETING_CHANGED).count() == 1


@pytest.mark.parametrize("state", ["referred", "closed"])
def test_a_case_that_is_not_worked_on_gets_no_meeting_and_says_why(world, state):
    case = world.refer() if state == "referred" else world.closed()
    with pytest.raises(ValidationError) as refused:
        _record(world, case, actor=world.visitator)
    assert refused.value.code == "illegal_transition"
    label = "Henvist" if state == "referred" else "Lukket"
    assert f"»{label}«" in refused.value.messages[0]
    assert not NetworkMeeting.objects.exists()


def test_a_meeting_on_a_closed_case_can_no_longer_be_changed(world):
    case = world.active()
    meeting = _record(world, case)
    services.close(actor=world.coordinator, case=case, reason="resolved")
    with pytest.raises(ValidationError) as refused:
        _update(world, meeting, agreements="For sent")
    assert refused.value.code == "illegal_transition"
    meeting.refresh_from_db()
    assert meeting.agreements == AGREEMENTS


def test_an_anonymised_case_gets_no_meeting_and_keeps_none_changed(world):
    case = world.active()
    meeting = _record(world, case)
    case = services.close(actor=world.coordinator, case=case, reason="resolved")
    _anonymise(case)

    with pytest.raises(ValidationError) as on_create:
        _record(world, case, actor=world.visitator)
    with pytest.raises(ValidationError) as on_update:
        _update(world, meeting, actor=world.visitator, agreements="Efter sletning")

    for refused in (on_create, on_update):
        assert refused.value.code == "anonymised"
        assert "anonymiseret" in refused.value.messages[0]
    assert not may(world.visitator, Action.NETWORK_MEETING, case)
    assert NetworkMeeting.objects.get().agreements == AGREEMENTS


@pytest.mark.parametrize(
    "role", ["police_contact", "dsc", "first_contact", "outsider_coordinator", "follow_up"]
)
def test_only_full_access_records_or_corrects_a_meeting(world, role):
    case = world.active(police=True, dsc=True)
    meeting = _record(world, case)
    user = getattr(world, role)
    with pytest.raises(PermissionDenied):
        _record(world, case, actor=user)
    with pytest.raises(PermissionDenied):
        _update(world, meeting, actor=user, agreements="Ikke min")
    assert NetworkMeeting.objects.get().agreements == AGREEMENTS


def test_a_disqualified_visitator_may_not_record_a_meeting(world):
    case = world.active()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Er i familie"
    )
    with pytest.raises(PermissionDenied):
        _record(world, case, actor=world.deputy_visitator)


# --- pages -------------------------------------------------------------------------------


def _create_url(case):
    return reverse("cases:network_meeting_create", args=[case.reference])


def _edit_url(case, meeting):
    return reverse("cases:network_meeting_edit", args=[case.reference, meeting.pk])


def _form_data(**overrides):
    data = {
        "held_on": TODAY().isoformat(),
        "participants": PARTICIPANTS,
        "purpose": PURPOSE,
        "agreements": AGREEMENTS,
        "next_meeting": "",
    }
    data.update(overrides)
    return data


def _reads(before, user):
    return [
        (e.what, e.object_id, e.purpose)
        for e in AuditEntry.objects.filter(pk__gt=before, user=user, action=AuditAction.VIEW)
    ]


def test_the_coordinator_records_a_meeting_through_the_form(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    page = client.get(case.get_absolute_url()).content.decode()
    assert _create_url(case) in page and "Registrer netværksmøde" in page

    before = _last_audit_pk()
    form = client.get(_create_url(case))
    assert form.status_code == 200
    html = form.content.decode()
    assert 'name="held_on"' in html and 'type="date"' in html
    assert "roller og organisationer" in html
    assert _reads(before, world.coordinator) == [("case_form:network_meeting", "", "responsible")]

    before = _last_audit_pk()
    response = client.post(_create_url(case), _form_data(held_on=f"{TODAY():%d.%m.%Y}"))
    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    assert _reads(before, world.coordinator) == []  # the change is recorded, not a read
    meeting = NetworkMeeting.objects.get(case=case)
    assert meeting.held_on == TODAY() and meeting.agreements == AGREEMENTS
    page = client.get(case.get_absolute_url()).content.decode()
    assert PURPOSE in page and AGREEMENTS in page
    assert _edit_url(case, meeting) in page
    assert "Netværksmøde registreret" in page  # the timeline


def test_a_form_with_errors_comes_back_as_one_read_and_records_nothing(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    before = _last_audit_pk()
    response = client.post(_create_url(case), _form_data(participants="", agreements=""))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"participants"}
    assert 'id="error-summary"' in response.content.decode()
    assert _reads(before, world.coordinator) == [("case_form:network_meeting", "", "responsible")]
    # The form's own check passes; the service names what a held meeting still needs.
    response = client.post(_create_url(case), _form_data(agreements=""))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"agreements"}
    assert not NetworkMeeting.objects.exists()


def test_each_empty_required_field_of_the_meeting_says_what_to_write(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(_create_url(case), _form_data(held_on="", participants="", purpose=""))
    assert response.context["form"].errors == {
        "held_on": ["Skriv, hvilken dag mødet holdes eller blev holdt."],
        "participants": ["Skriv, hvem der deltager i mødet."],
        "purpose": ["Skriv, hvad mødet skal handle om."],
    }


def test_the_edit_page_shows_the_meeting_with_its_version_and_saves_it(client, world):
    case = world.active()
    meeting = _record(world, case, next_meeting=TODAY() + datetime.timedelta(days=10))
    client.force_login(world.visitator)
    before = _last_audit_pk()
    response = client.get(_edit_url(case, meeting))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="hidden" name="version" value="1"' in html
    assert AGREEMENTS in html
    assert f'value="{meeting.next_meeting:%Y-%m-%d}"' in html
    assert _reads(before, world.visitator) == [
        ("case_form:network_meeting", str(meeting.pk), "visitator")
    ]

    response = client.post(_edit_url(case, meeting), _form_data(version=1, agreements="Rettet"))
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.agreements, meeting.version, meeting.next_meeting) == ("Rettet", 2, None)


def test_a_stale_form_sent_second_is_refused_with_a_message_and_the_first_is_kept(client, world):
    case = world.active()
    meeting = _record(world, case)
    client.force_login(world.coordinator)
    assert client.get(_edit_url(case, meeting)).status_code == 200  # both open version 1
    first = client.post(_edit_url(case, meeting), _form_data(version=1, agreements="Første"))
    assert first.status_code == 302

    client.force_login(world.visitator)
    second = client.post(_edit_url(case, meeting), _form_data(version=1, agreements="Anden"))

    assert second.status_code == 200
    html = second.content.decode()
    assert "En anden har rettet netværksmødet" in html
    assert 'id="error-summary"' in html
    assert "Anden" in html  # what the user wrote is still in the form, to copy
    meeting.refresh_from_db()
    assert (meeting.agreements, meeting.version) == ("Første", 2)


def test_a_meeting_of_another_case_is_not_found(client, world):
    case, other = world.active(), world.active(full_name="Anden Borger")
    meeting = _record(world, other)
    client.force_login(world.coordinator)
    assert client.get(_edit_url(case, meeting)).status_code == 404
    assert client.post(_edit_url(case, meeting), _form_data(version=1)).status_code == 404


def test_a_closed_case_lists_its_meetings_but_offers_no_form(client, world):
    case = world.active()
    meeting = _record(world, case)
    services.close(actor=world.coordinator, case=case, reason="resolved")
    client.force_login(world.coordinator)
    page = client.get(case.get_absolute_url()).content.decode()
    assert PURPOSE in page
    assert _create_url(case) not in page and _edit_url(case, meeting) not in page
    assert client.get(_create_url(case)).status_code == 403
    assert client.get(_edit_url(case, meeting)).status_code == 403


def test_the_meetings_are_listed_newest_first(client, world):
    case = world.active()
    _record(world, case, purpose="Det første møde")
    _record(world, case, purpose="Det planlagte møde", held_on=TODAY() + datetime.timedelta(1))
    client.force_login(world.coordinator)
    page = client.get(case.get_absolute_url()).content.decode()
    assert page.index("Det planlagte møde") < page.index("Det første møde")
    assert "Planlagt" in page


# --- consent: what partners read ---------------------------------------------------------


@pytest.mark.parametrize("partner", ["police", "dsc"])
def test_a_partner_reads_the_meetings_only_with_consent_to_the_journal_notes(
    client, world, partner
):
    """Deny, grant, allow: the same page flips with the NOTES consent alone."""
    user, police, dsc = (
        (world.police_contact, True, False) if partner == "police" else (world.dsc, False, True)
    )
    case = world.active(police=police, dsc=dsc)
    meeting = _record(world, case)
    partner_value = ConsentPartner.POLICE if police else ConsentPartner.DSC
    notes = case.consents.filter(partner=partner_value, scope=ConsentScope.NOTES).first()
    if notes is not None:
        services.withdraw_consent(actor=world.coordinator, consent=notes)
    client.force_login(user)

    page = client.get(case.get_absolute_url()).content.decode()
    assert page.count("Netværksmøde") == 0
    assert PURPOSE not in page and PARTICIPANTS not in page

    services.record_consent(
        actor=world.coordinator, case=case, partner=partner_value, scopes=[ConsentScope.NOTES]
    )
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Netværksmøder" in page and "Netværksmøde registreret" in page
    assert PURPOSE in page and AGREEMENTS in page
    # Read only: no form, no edit link, and the forms themselves are refused.
    assert _create_url(case) not in page and _edit_url(case, meeting) not in page
    assert client.get(_create_url(case)).status_code == 403
    assert client.get(_edit_url(case, meeting)).status_code == 403


# --- the case page's queries --------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "police_contact"])
def test_the_case_page_asks_one_query_for_the_meetings_however_many(client, world, role):
    case = world.active(police=True)
    _record(world, case, purpose="Møde 0")
    client.force_login(getattr(world, role))
    url = case.get_absolute_url()
    assert client.get(url).status_code == 200  # warm up the session

    with CaptureQueriesContext(transaction.get_connection()) as one:
        assert client.get(url).status_code == 200
    meeting_queries = [q for q in one.captured_queries if "cases_networkmeeting" in q["sql"]]
    assert len(meeting_queries) == 1

    for i in range(1, 30):
        _record(world, case, purpose=f"Møde {i}")
    with CaptureQueriesContext(transaction.get_connection()) as many:
        response = client.get(url)
    assert len(many.captured_queries) == len(one.captured_queries)
    assert response.content.decode().count('class="samvirke-meeting"') == 30


# --- the citizen's copy -----------------------------------------------------------------


def test_the_citizens_copy_has_every_meeting_and_marks_the_planned_one(world):
    case = world.active()
    _record(world, case, purpose="Holdt")
    _record(world, case, purpose="Planlagt", held_on=TODAY() + datetime.timedelta(5), agreements="")
    case = Case.objects.select_related("municipality").get(pk=case.pk)

    rows = subject_access.collect(case)["network_meetings"]

    assert [(r["purpose"], r["planned"]) for r in rows] == [("Holdt", False), ("Planlagt", True)]
    assert rows[0]["recorded_by"] == {
        "organisation": "Testkommune",
        "role": "coordinator",
        "role_label": "Primær koordinator",
    }
