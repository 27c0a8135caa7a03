"""Forwarding a misdirected referral to another municipality (services.forward_to_municipality
and its pages): the visitator sends a referral that belongs elsewhere on to that municipality's
visitator instead of declining it, so the referrer need not fill in the form again.

The new case is made as a referral makes one, with the person as stored, the referrers and
their reasons, and the consents in force; nothing of the work on the old case travels. The old
case is closed as transferred and its referral says where it went; each visitator keeps only
their own case, and the referrer follows the referral in "Mine henvisninger"."""

import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.access import cases_visible_to
from cases.deadlines import add_working_days
from cases.models import (
    AuditEntry,
    Case,
    CaseEvent,
    CaseState,
    ClosingReason,
    Consent,
    ConsentPartner,
    ConsentScope,
    Disqualification,
    EventKind,
    NetworkMeeting,
    Note,
    PersonKind,
    Referral,
    ReferralKind,
    ReferralStatus,
    Relation,
    Urgency,
    YesNoUnknown,
)
from cases.selectors import referrals_made_by
from cases.services import TransitionError
from cooperation.models import Organisation, OrganisationKind, Role, RoleAssignment, Unit

from .factories import OrganisationFactory, user_with_role

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

CPH = ZoneInfo("Europe/Copenhagen")
# Monday before Easter 2026: three working days later is Wednesday 1 April, then Easter.
MONDAY_BEFORE_EASTER = datetime.datetime(2026, 3, 30, 9, 0, tzinfo=CPH)
COMMENT = "Borgeren er flyttet til Andenkommune i sidste måned."
NAME = "Mette Sørensen"


@pytest.fixture
def now(monkeypatch):
    monkeypatch.setattr(services, "_now", lambda: MONDAY_BEFORE_EASTER)
    return MONDAY_BEFORE_EASTER


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def forward(world, case, *, actor=None, municipality=None, comment=COMMENT, **kwargs):
    return services.forward_to_municipality(
        actor=actor or world.visitator,
        case=case,
        municipality=municipality or world.other_municipality,
        comment=comment,
        **kwargs,
    )


def sees(user, case) -> bool:
    return cases_visible_to(user).filter(pk=case.pk).exists()


def to_visitator(case) -> Referral:
    return Referral.objects.get(case=case, kind=ReferralKind.TO_VISITATOR)


def joined_case(world):
    """A case in triage with two open referrals to the visitator from two referrers: a
    second referral about the same citizen, joined into the first."""
    police_referrer = world.police_contact
    first = world.in_triage(reason="Ekskæresten ringer hver nat")
    second = world.refer(actor=police_referrer, reason="Anmeldelse på stationen")
    services.join_duplicate(actor=world.visitator, case=second, into=first)
    return reload(first)


# --- the new case -----------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["refer", "in_triage"])
def test_forwarding_makes_a_new_referred_case_in_the_other_municipality(world, now, state):
    world.other_municipality.triage_working_days = 3
    world.other_municipality.save()
    case = getattr(world, state)()

    new = reload(forward(world, case))

    assert new.pk != case.pk
    assert new.reference == "AND-2026-0001"
    assert new.municipality == world.other_municipality
    assert new.state == CaseState.REFERRED
    assert new.responsible == world.other_visitator
    assert new.received_at == MONDAY_BEFORE_EASTER
    # The receiving municipality's own working days, counted from today (over Easter).
    assert new.triage_deadline == datetime.date(2026, 4, 7)
    assert new.triage_deadline == add_working_days(datetime.date(2026, 3, 30), 3)


def test_forwarding_carries_the_person_over_as_stored_without_reading_the_cpr(world, now):
    case = world.in_triage(
        cpr="010190-1234",
        person_kind=PersonKind.EMPLOYEE,
        safe_contact="Kun sms til arbejdstelefonen",
        safe_contact_time="Hverdage 8-15",
        children_in_household=True,
        relation=Relation.COLLEAGUE,
        stalker_works_in_municipality=YesNoUnknown.YES,
        urgency=Urgency.HIGH,
    )
    case = reload(case)

    with (
        mock.patch("cases.cpr.decrypt_cpr", side_effect=AssertionError("decrypted")),
        mock.patch("cases.cpr.encrypt_cpr", side_effect=AssertionError("encrypted again")),
    ):
        new = reload(forward(world, case))

    carried = [
        "person_kind",
        "full_name",
        "cpr_encrypted",
        "cpr_index",
        "cpr_last4",
        "birth_date",
        "safe_contact",
        "safe_contact_time",
        "children_in_household",
        "relation",
        "urgency",
    ]
    assert {f: getattr(new, f) for f in carried} == {f: getattr(case, f) for f in carried}
    assert new.cpr_encrypted and new.cpr_last4 == "1234"
    assert new.birth_date == datetime.date(1990, 1, 1)
    # Asked about the municipality the referral was made to: unknown in the new one.
    assert new.stalker_works_in_municipality == YesNoUnknown.UNKNOWN


def test_the_new_referral_keeps_the_original_referrer_and_their_reason(world, now):
    unit = Unit.objects.create(organisation=world.municipality, name="Jobcenter")
    RoleAssignment.objects.filter(user=world.first_contact).update(unit=unit)
    case = world.refer(reason="Ekskæresten venter ved jobcentret")

    new = forward(world, case)

    sent = to_visitator(new)
    assert sent.from_user == world.first_contact
    assert sent.from_organisation == world.municipality
    assert sent.from_unit == unit
    assert sent.reason == "Ekskæresten venter ved jobcentret"
    assert (sent.status, sent.to_organisation, sent.to_user) == (
        ReferralStatus.SENT,
        world.other_municipality,
        world.other_visitator,
    )
    assert sent.alerted_at is None  # not acute: no alert


def test_the_consents_in_force_travel_with_their_original_time_and_withdrawn_ones_stay(world, now):
    case = world.in_triage(
        consents=[
            (ConsentPartner.POLICE, ConsentScope.CONTACT),
            (ConsentPartner.POLICE, ConsentScope.INCIDENT_LOG),
            (ConsentPartner.DSC, ConsentScope.CONTACT),
        ]
    )
    withdrawn = case.consents.get(partner=ConsentPartner.DSC)
    services.withdraw_consent(actor=world.visitator, consent=withdrawn)
    given = {(c.partner, c.scope): c.given_at for c in case.consents.filter(withdrawn_at=None)}

    new = forward(world, case)

    consents = Consent.objects.filter(case=new)
    assert {(c.partner, c.scope): c.given_at for c in consents} == given
    assert set(given) == {("police", "contact"), ("police", "incident_log")}
    assert all(c.is_active and c.recorded_by == world.first_contact for c in consents)
    # The old case keeps its own, the withdrawn one too.
    assert case.consents.count() == 3


def test_nothing_of_the_work_on_the_case_travels(world, now):
    case = world.in_triage()
    services.add_note(actor=world.visitator, case=case, text="Ringede til borgeren")
    services.record_network_meeting(
        actor=world.visitator,
        case=case,
        held_on=timezone.localdate(),
        participants="Borgeren, stalkingvisitator",
        purpose="Afklaring",
        agreements="Borgeren kontakter Andenkommune",
    )

    new = forward(world, case)

    assert not Note.objects.filter(case=new).exists()
    assert not NetworkMeeting.objects.filter(case=new).exists()
    assert list(CaseEvent.objects.filter(case=new).values_list("kind", flat=True)) == [
        EventKind.FORWARDED_IN
    ]
    new = reload(new)
    assert (new.is_stalking, new.triage_reasoning, new.triaged_at) == (None, "", None)
    assert not new.disqualifications.exists()


# --- the old case -----------------------------------------------------------------------------


def test_the_old_referral_says_forwarded_and_links_the_new_one(world, now):
    case = world.refer()
    old = to_visitator(case)

    new = forward(world, case)

    old = reload(old)
    assert old.status == ReferralStatus.FORWARDED
    assert old.get_status_display() == "Videresendt"
    assert old.forwarded_as == to_visitator(new)
    assert old.forwarded_as.forwarded_from == old
    assert (old.responded_at, old.responded_by) == (MONDAY_BEFORE_EASTER, world.visitator)
    assert old.decline_reason == ""


def test_the_old_case_is_closed_as_transferred_with_the_comment(world, now):
    case = world.in_triage()
    version = reload(case).version

    forward(world, case, comment=f"  {COMMENT}  ")

    case = reload(case)
    assert case.state == CaseState.CLOSED
    assert case.closing_reason == ClosingReason.TRANSFERRED
    assert case.closing_comment == COMMENT
    assert case.closed_at == MONDAY_BEFORE_EASTER
    assert case.version == version + 1


def test_forwarding_ends_the_partners_access_to_the_old_case(world):
    # Routed to the coordinator and the police; the coordinator declined, so the case is back
    # in triage with the police still reading it; then a new referral about the citizen came.
    case = world.active(police=True)
    to_coordinator = case.referrals.get(kind=ReferralKind.TO_COORDINATOR)
    services.respond_to_referral(
        actor=world.coordinator, referral=to_coordinator, accept=False, reason="Ikke min"
    )
    second = world.refer(reason="Ny henvendelse")
    services.join_duplicate(actor=world.visitator, case=second, into=case)
    assert reload(case).state == CaseState.IN_TRIAGE
    assert sees(world.police_contact, case)

    forward(world, case)

    assert not sees(world.police_contact, case)
    assert not world.police_contact.has_perm("cases.view_case", reload(case))
    assert case.referrals.get(kind=ReferralKind.TO_POLICE).status == ReferralStatus.COMPLETED


def test_forwarding_writes_where_it_went_on_the_old_case_and_where_from_on_the_new(world, now):
    case = world.refer()

    new = forward(world, case)

    out = CaseEvent.objects.get(case=case, kind=EventKind.FORWARDED_OUT)
    assert (out.actor, out.summary) == (world.visitator, "Andenkommune")
    came = CaseEvent.objects.get(case=new, kind=EventKind.FORWARDED_IN)
    assert (came.actor, came.summary) == (world.visitator, f"Testkommune: {COMMENT}")
    assert out.get_kind_display() == "Videresendt til anden kommune"
    assert came.get_kind_display() == "Videresendt fra anden kommune"


def test_forwarding_writes_one_audit_entry_with_ids_only(world, now, rf):
    case = world.refer(cpr="010190-1234")
    before = AuditEntry.objects.count()
    request = rf.post(f"/sager/{case.reference}/videresend/", REMOTE_ADDR="10.1.2.3")

    new = forward(world, case, request=request)

    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.latest("pk")
    assert (entry.user, entry.action, entry.case_id, entry.what, entry.object_id) == (
        world.visitator,
        "change",
        case.pk,
        "forward_referral",
        str(new.pk),
    )
    assert entry.path == f"/sager/{case.reference}/videresend/"
    values = " ".join(str(getattr(entry, f.attname)) for f in AuditEntry._meta.concrete_fields)
    for personal in (NAME, "Mette", "0101901234", "Kun sms", "flyttet", "Andenkommune"):
        assert personal not in values


def test_an_acute_referral_is_due_today_and_alerted_for_the_new_case_only(
    world, django_capture_on_commit_callbacks
):
    case = world.refer(urgency=Urgency.ACUTE)  # its own alert was queued then
    old = to_visitator(case)

    with (
        mock.patch("cases.services._queue_alert") as queue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        new = forward(world, case)

    sent = to_visitator(new)
    queue.assert_called_once_with(sent.pk)
    assert reload(new).triage_deadline == timezone.localdate()
    assert reload(new).urgency == Urgency.ACUTE
    # The old referral is answered: the relay has nothing to send for it any more.
    from cases.alerts import waiting_acute_referrals

    assert list(waiting_acute_referrals()) == [sent]
    assert reload(old).status == ReferralStatus.FORWARDED


def test_each_referrer_of_a_joined_case_keeps_their_own_referral(world, now):
    case = joined_case(world)
    first, second = case.referrals.filter(kind=ReferralKind.TO_VISITATOR).order_by(
        "created_at", "pk"
    )

    new = forward(world, case)

    first, second = reload(first), reload(second)
    assert first.status == second.status == ReferralStatus.FORWARDED
    assert first.forwarded_as.case == second.forwarded_as.case == new
    assert (first.forwarded_as.from_user, first.forwarded_as.reason) == (
        world.first_contact,
        "Ekskæresten ringer hver nat",
    )
    assert (second.forwarded_as.from_user, second.forwarded_as.from_organisation) == (
        world.police_contact,
        world.police,
    )
    assert new.referrals.count() == 2


# --- who sees what afterwards -----------------------------------------------------------------


def test_each_visitator_keeps_only_their_own_case(world, now):
    case = world.refer()

    new = forward(world, case)

    assert sees(world.other_visitator, new) and not sees(world.other_visitator, case)
    assert sees(world.visitator, case) and not sees(world.visitator, new)
    assert not sees(world.first_contact, new)


def test_the_referrer_follows_both_referrals_without_the_case(world, now):
    case = world.refer()

    new = forward(world, case)

    listed = {r.case_id: r for r in referrals_made_by(world.first_contact)}
    assert set(listed) == {case.pk, new.pk}
    assert listed[case.pk].status == ReferralStatus.FORWARDED
    assert listed[case.pk].forwarded_as.to_organisation == world.other_municipality
    assert listed[new.pk].status == ReferralStatus.SENT


# --- refusals ---------------------------------------------------------------------------------


def _unchanged(world, case):
    case = reload(case)
    assert case.state != CaseState.CLOSED
    assert to_visitator(case).status in (ReferralStatus.SENT, ReferralStatus.ACCEPTED)
    assert not Case.objects.filter(municipality=world.other_municipality).exists()
    assert not AuditEntry.objects.filter(what="forward_referral").exists()


def _field_errors(exc) -> dict:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}


def test_forwarding_to_the_same_municipality_is_refused(world):
    case = world.refer()
    with pytest.raises(ValidationError) as exc:
        forward(world, case, municipality=world.municipality)
    assert _field_errors(exc.value) == {"municipality": ["same_municipality"]}
    _unchanged(world, case)


@pytest.mark.parametrize("organisation", ["police", "dsc_org"])
def test_forwarding_to_an_organisation_that_is_not_a_municipality_is_refused(world, organisation):
    case = world.refer()
    with pytest.raises(ValidationError) as exc:
        forward(world, case, municipality=getattr(world, organisation))
    assert _field_errors(exc.value) == {"municipality": ["invalid"]}
    _unchanged(world, case)


def test_forwarding_to_a_municipality_without_a_visitator_is_refused(world):
    empty = OrganisationFactory(name="Tomkommune", code="TOM", police_district=world.police)
    case = world.refer()
    with pytest.raises(ValidationError) as exc:
        forward(world, case, municipality=empty)
    assert _field_errors(exc.value) == {"municipality": ["no_visitator"]}
    assert "Tomkommune har ingen stalkingvisitator" in exc.value.messages[0]
    _unchanged(world, case)


def test_forwarding_to_a_municipality_whose_visitator_has_left_is_refused(world):
    RoleAssignment.objects.filter(user=world.other_visitator).update(
        valid_to=datetime.date(2021, 1, 1)
    )
    case = world.refer()
    with pytest.raises(ValidationError) as exc:
        forward(world, case)
    assert _field_errors(exc.value) == {"municipality": ["no_visitator"]}
    _unchanged(world, case)


@pytest.mark.parametrize("comment", ["", "   \n "])
def test_forwarding_without_a_comment_is_refused(world, comment):
    case = world.refer()
    with pytest.raises(ValidationError) as exc:
        forward(world, case, comment=comment)
    assert _field_errors(exc.value) == {"comment": ["required"]}
    _unchanged(world, case)


def test_a_comment_too_long_to_arrive_whole_is_refused(world):
    case = world.refer()
    with pytest.raises(ValidationError) as exc:
        forward(world, case, comment="x" * (services.FORWARD_COMMENT_MAX_LENGTH + 1))
    assert _field_errors(exc.value) == {"comment": ["max_length"]}
    _unchanged(world, case)


def test_every_input_error_is_told_at_once(world):
    case = world.refer()
    with pytest.raises(ValidationError) as exc:
        forward(world, case, municipality=world.municipality, comment="")
    assert set(_field_errors(exc.value)) == {"municipality", "comment"}


@pytest.mark.parametrize("state", ["active", "closed"])
def test_forwarding_a_case_past_triage_is_refused(world, state):
    case = getattr(world, state)()
    with pytest.raises(TransitionError) as exc:
        forward(world, case)
    assert exc.value.code == "illegal_transition"
    assert not Case.objects.filter(municipality=world.other_municipality).exists()


def test_forwarding_a_declined_or_merged_referral_is_refused(world):
    declined = world.refer()
    services.decline_incoming(actor=world.visitator, case=declined, reason="Forkert kommune")
    merged = world.refer()
    services.join_duplicate(actor=world.visitator, case=merged, into=world.refer())
    for case in (declined, merged):
        with pytest.raises(TransitionError) as exc:
            forward(world, case)
        assert exc.value.code == "illegal_transition"


def test_forwarding_a_reopened_case_without_an_open_referral_is_refused(world):
    case = world.active(coordinator=False, dsc=True)
    case = services.close(actor=world.visitator, case=case, reason="resolved")
    case = services.reopen(actor=world.visitator, case=case, comment="Ny henvendelse")
    assert reload(case).state == CaseState.IN_TRIAGE

    with pytest.raises(TransitionError) as exc:
        forward(world, case)

    assert exc.value.code == "nothing_to_forward"
    assert reload(case).state == CaseState.IN_TRIAGE
    assert not Case.objects.filter(municipality=world.other_municipality).exists()


@pytest.mark.parametrize(
    "who", ["coordinator", "police_contact", "dsc", "first_contact", "other_visitator", "admin"]
)
def test_forwarding_is_refused_to_anyone_but_the_municipalitys_visitator(world, who):
    case = world.in_triage()
    with pytest.raises(PermissionDenied):
        forward(world, case, actor=getattr(world, who))
    _unchanged(world, case)


def test_a_disqualified_visitator_cannot_forward(world):
    case = world.refer()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Familie"
    )
    with pytest.raises(PermissionDenied):
        forward(world, case, actor=world.deputy_visitator)
    _unchanged(world, case)


def test_the_deputy_visitator_may_forward(world):
    case = world.refer()
    new = forward(world, case, actor=world.deputy_visitator)
    assert reload(case).state == CaseState.CLOSED
    assert CaseEvent.objects.get(case=new).actor == world.deputy_visitator


def test_a_failed_forwarding_leaves_nothing_behind(world):
    """The new case is made before the old one is closed: a failure on the way undoes both."""
    case = world.refer(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    with (
        mock.patch("cases.services._close_locked", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        forward(world, case)
    _unchanged(world, case)
    assert Consent.objects.count() == 1
    assert Referral.objects.count() == 1


# --- the pages --------------------------------------------------------------------------------


def text(response) -> str:
    return response.content.decode()


def url(case) -> str:
    return reverse("cases:forward", args=[case.reference])


def test_the_case_page_offers_forwarding_next_to_declining(client, world):
    client.force_login(world.visitator)
    for case in (world.refer(), world.in_triage()):
        html = text(client.get(case.get_absolute_url()))
        decline = html.index(reverse("cases:decline_incoming", args=[case.reference]))
        assert url(case) in html[decline:]
        assert "Videresend til anden kommune" in html


def test_the_case_page_offers_no_forwarding_without_an_open_referral(client, world):
    case = world.active(coordinator=False, dsc=True)
    case = services.close(actor=world.visitator, case=case, reason="resolved")
    case = services.reopen(actor=world.visitator, case=case, comment="Ny henvendelse")
    client.force_login(world.visitator)

    assert url(case) not in text(client.get(case.get_absolute_url()))
    response = client.get(url(case), follow=True)
    assert response.redirect_chain[-1][0] == case.get_absolute_url()
    assert "ingen åben henvisning at videresende" in text(response)


def test_without_another_municipality_to_receive_it_the_form_says_so(client, world):
    RoleAssignment.objects.filter(user=world.other_visitator).update(
        valid_to=datetime.date(2021, 1, 1)
    )
    case = world.refer()
    client.force_login(world.visitator)

    response = client.get(url(case), follow=True)

    assert response.redirect_chain[-1][0] == case.get_absolute_url()
    assert "Ingen anden kommune i Samvirke har en stalkingvisitator" in text(response)


def test_the_form_offers_the_other_municipalities_that_have_a_visitator(client, world):
    OrganisationFactory(name="Tomkommune", code="TOM", police_district=world.police)
    case = world.refer()
    client.force_login(world.visitator)

    response = client.get(url(case))

    assert response.status_code == 200
    options = [(str(o[1]), o[0]) for o in response.context["form"].fields["municipality"].choices]
    assert [label for label, _value in options] == ["Vælg kommune", "Andenkommune"]
    html = text(response)
    assert '<option value="AND">Andenkommune</option>' in html
    assert "Hvorfor videresendes henvisningen? Modtageren kan læse det." in html
    assert '<label class="form-label" for="id_municipality">' in html


def test_a_form_with_errors_keeps_what_was_typed_and_changes_nothing(client, world):
    case = world.refer()
    client.force_login(world.visitator)

    response = client.post(url(case), {"municipality": "", "comment": COMMENT})

    assert response.status_code == 200
    html = text(response)
    assert "Der er fejl i formularen" in html
    assert 'href="#id_municipality"' in html
    assert COMMENT in html
    _unchanged(world, case)


def test_the_confirmation_names_the_municipality_and_changes_nothing_yet(client, world):
    case = world.refer()
    client.force_login(world.visitator)

    response = client.post(url(case), {"municipality": "AND", "comment": COMMENT})

    assert response.status_code == 200
    html = text(response)
    assert "Sagen lukkes her og oprettes hos Andenkommune. Du kan ikke fortryde." in html
    assert 'name="bekraeft"' in html
    assert 'type="hidden" name="municipality" value="AND"' in html
    assert COMMENT in html
    _unchanged(world, case)


def test_a_municipality_that_lost_its_visitator_is_no_longer_a_choice(client, world):
    far = OrganisationFactory(name="Fjernkommune", code="FJK")
    user_with_role(Role.VISITATOR, far, username="fjernvisitator")
    case = world.refer()
    client.force_login(world.visitator)
    RoleAssignment.objects.filter(user=world.other_visitator).update(
        valid_to=datetime.date(2021, 1, 1)
    )

    response = client.post(url(case), {"municipality": "AND", "comment": COMMENT})

    assert response.status_code == 200
    assert "Der er fejl i formularen" in text(response)
    assert response.context["form"].errors["municipality"]
    _unchanged(world, case)


def test_going_back_from_the_confirmation_keeps_what_was_typed(client, world):
    case = world.refer()
    client.force_login(world.visitator)

    response = client.post(url(case), {"municipality": "AND", "comment": COMMENT, "ret": "1"})

    assert response.status_code == 200
    html = text(response)
    assert "Du kan ikke fortryde" not in html
    assert '<option value="AND" selected>Andenkommune</option>' in html
    assert COMMENT in html
    _unchanged(world, case)


def test_confirming_forwards_and_names_the_municipality_not_the_person(client, world):
    case = world.refer()
    client.force_login(world.visitator)

    response = client.post(
        url(case), {"municipality": "AND", "comment": COMMENT, "bekraeft": "1"}, follow=True
    )

    assert response.redirect_chain == [(case.get_absolute_url(), 302)]
    new = Case.objects.get(municipality=world.other_municipality)
    [message] = [str(m) for m in response.context["messages"]]
    assert "Andenkommune" in message
    assert NAME not in message and new.reference not in message
    assert reload(case).state == CaseState.CLOSED
    html = text(response)
    assert "Videresendt til anden kommune" in html
    assert url(case) not in html  # nothing more to forward


def test_a_refusal_at_confirmation_comes_back_on_the_form_with_the_input(client, world):
    case = world.refer()
    client.force_login(world.visitator)
    # Between the form and the confirmation the receiving visitator's role ended.
    RoleAssignment.objects.filter(user=world.other_visitator).update(
        valid_to=datetime.date(2021, 1, 1)
    )
    # The form still offered it (the list was read before); the service has the last word.
    with mock.patch("cases.selectors.forward_targets", return_value=_all_municipalities()):
        response = client.post(
            url(case), {"municipality": "AND", "comment": COMMENT, "bekraeft": "1"}
        )

    assert response.status_code == 200
    html = text(response)
    assert "Der er fejl i formularen" in html
    assert "Andenkommune har ingen stalkingvisitator lige nu" in html
    assert COMMENT in html
    _unchanged(world, case)


def _all_municipalities():
    return Organisation.objects.filter(kind=OrganisationKind.MUNICIPALITY).order_by("name")


def test_the_referrer_reads_where_the_referral_went_in_my_referrals(client, world):
    case = world.refer(safe_contact="Kun sms efter kl. 16")
    new = forward(world, case)
    client.force_login(world.first_contact)

    html = text(client.get(reverse("cases:my_referrals")))

    old_row = html[html.index(case.reference) : html.index("</tr>", html.index(case.reference))]
    assert "Videresendt til Andenkommune" in old_row
    new_row = html[html.index(new.reference) : html.index("</tr>", html.index(new.reference))]
    assert "Andenkommune" in new_row and "Sendt" in new_row
    assert COMMENT not in html
    assert "Kun sms efter kl. 16" not in html
    assert client.get(new.get_absolute_url()).status_code == 404
    assert client.get(case.get_absolute_url()).status_code == 404


def test_the_receiving_visitator_reads_why_and_from_where(client, world):
    case = world.refer(reason="Ekskæresten venter ved jobcentret")
    new = forward(world, case)
    client.force_login(world.other_visitator)

    html = text(client.get(new.get_absolute_url()))

    assert "Videresendt fra anden kommune" in html
    assert f"Testkommune: {COMMENT}" in html
    assert "Ekskæresten venter ved jobcentret" in html
    assert world.first_contact.get_full_name() in html  # who referred, to call them back
    assert client.get(case.get_absolute_url()).status_code == 404


def test_the_police_read_that_the_case_was_forwarded_but_not_why_or_from_where(client, world):
    case = world.refer(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    new = forward(world, case)
    new = services.start_triage(actor=world.other_visitator, case=new)
    services.triage(
        actor=world.other_visitator, case=new, is_stalking=True, reasoning="Ja", to_police=True
    )
    client.force_login(world.police_contact)

    response = client.get(new.get_absolute_url())

    assert response.status_code == 200
    html = text(response)
    assert "Videresendt fra anden kommune" in html
    assert COMMENT not in html
    assert "Testkommune" not in html


def test_the_sending_visitator_reads_where_it_went_on_the_closed_case(client, world):
    case = world.refer()
    forward(world, case)
    client.force_login(world.visitator)

    html = text(client.get(case.get_absolute_url()))

    assert "Videresendt til Andenkommune" in html  # the referral's status
    assert COMMENT in html  # the closing comment
    assert "Overdraget til anden myndighed" in html


def test_the_targets_are_the_other_municipalities_with_a_current_visitator(world):
    from cases.selectors import forward_targets

    far = OrganisationFactory(name="Fjernkommune", code="FJK")
    user_with_role(Role.VISITATOR, far, username="fjernvisitator")
    OrganisationFactory(name="Tomkommune", code="TOM")
    gone = OrganisationFactory(name="Gammelkommune", code="GAM")
    user_with_role(Role.VISITATOR, gone, username="gammel")
    RoleAssignment.objects.filter(organisation=gone).update(valid_to=datetime.date(2021, 1, 1))
    case = world.refer()

    names = [m.name for m in forward_targets(case)]

    assert names == ["Andenkommune", "Fjernkommune"]


def test_the_citizens_copy_of_each_case_tells_the_forwarding(world):
    from cases import subject_access

    case = world.refer()
    new = forward(world, case)

    old_copy = subject_access.collect(Case.objects.select_related("municipality").get(pk=case.pk))
    new_copy = subject_access.collect(Case.objects.select_related("municipality").get(pk=new.pk))

    assert [r["status_label"] for r in old_copy["referrals"]] == ["Videresendt"]
    assert [r["status_label"] for r in new_copy["referrals"]] == ["Sendt"]
    assert {e["kind"] for e in old_copy["timeline"]} >= {EventKind.FORWARDED_OUT}
    assert [e["summary"] for e in new_copy["timeline"]] == [f"Testkommune: {COMMENT}"]
    # Each copy stays within its own municipality: neither names the other case.
    assert new.reference not in str(old_copy) and case.reference not in str(new_copy)


# --- who must not see the case, and what cannot come back -------------------------------------


def test_a_disqualification_travels_with_the_referral_and_keeps_the_person_out_there(world):
    """The police contact reaches both municipalities (one district): disqualified on the
    citizen's case here, they stay out of it in the municipality it is forwarded to, also
    once it is routed to the police there."""
    other_coordinator = user_with_role(Role.COORDINATOR, world.other_municipality)
    deputy_police = user_with_role(Role.POLICE_CONTACT, world.police, deputy=True)
    case = world.refer(consents=[(ConsentPartner.POLICE, s) for s in ConsentScope.values])
    services.disqualify(
        actor=world.visitator, case=case, user=world.police_contact, reason="Kender udøveren"
    )

    new = forward(world, case)

    moved = new.disqualifications.get()
    assert (moved.user, moved.reason, moved.created_by) == (
        world.police_contact,
        "Kender udøveren",
        world.visitator,
    )
    services.start_triage(actor=world.other_visitator, case=new)
    services.triage(
        actor=world.other_visitator,
        case=reload(new),
        is_stalking=True,
        reasoning="Stalking",
        coordinator=other_coordinator,
        to_police=True,
        to_dsc=False,
    )
    assert not sees(world.police_contact, new)
    assert sees(deputy_police, new) and sees(other_coordinator, new)


def test_a_visitator_disqualified_on_the_case_is_not_made_responsible_for_it_there(world):
    deputy = user_with_role(Role.VISITATOR, world.other_municipality, deputy=True)
    case = world.refer()
    # Set up directly: the other municipality's visitator is nobody this case's people reach.
    Disqualification.objects.create(
        case=case, user=world.other_visitator, reason="Nabo", created_by=world.visitator
    )

    new = reload(forward(world, case))

    assert new.responsible == deputy
    assert to_visitator(new).to_user == deputy
    assert not sees(world.other_visitator, new)


def test_a_forwarded_case_cannot_be_reopened_and_its_page_does_not_offer_it(world, client):
    case = world.in_triage()
    forward(world, case)

    with pytest.raises(TransitionError) as exc:
        services.reopen(actor=world.visitator, case=reload(case), comment="Fortrudt")

    assert exc.value.code == "forwarded"
    assert reload(case).state == CaseState.CLOSED
    client.force_login(world.visitator)
    page = client.get(case.get_absolute_url()).content.decode()
    assert reverse("cases:reopen", args=[case.reference]) not in page


def test_a_declined_case_can_still_be_reopened_from_its_page(world, client):
    case = world.in_triage()
    services.decline_incoming(actor=world.visitator, case=case, reason="Forkert kommune")
    client.force_login(world.visitator)
    page = client.get(case.get_absolute_url()).content.decode()
    assert reverse("cases:reopen", args=[case.reference]) in page
