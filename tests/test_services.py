"""Every service function in cases.services and the rules it enforces."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse

from cases import services
from cases.access import cases_visible_to, is_disqualified
from cases.cpr import cpr_index, decrypt_cpr
from cases.deadlines import add_working_days
from cases.models import (
    AuditAction,
    AuditEntry,
    Case,
    CaseEvent,
    CaseSequence,
    CaseState,
    ChildrenNotification,
    ClosingReason,
    Consent,
    ConsentPartner,
    ConsentScope,
    Disqualification,
    EventKind,
    Note,
    Referral,
    ReferralKind,
    ReferralStatus,
)
from cases.selectors import get_case_for, referrals_made_by
from cases.services import TransitionError
from cooperation.models import OrganisationKind, Role
from cooperation.roles import forget_roles

from .factories import OrganisationFactory, RoleAssignmentFactory, user_with_role

User = get_user_model()
CPH = ZoneInfo("Europe/Copenhagen")
# Monday before Easter 2026: five working days later is Thursday 9 April.
MONDAY_BEFORE_EASTER = datetime.datetime(2026, 3, 30, 9, 0, tzinfo=CPH)
POLICE_CONTACT_CONSENT = [(ConsentPartner.POLICE, ConsentScope.CONTACT)]


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def now(monkeypatch):
    """Freeze the services' clock at a known moment; returns a setter for other moments."""

    def set_now(moment):
        monkeypatch.setattr(services, "_now", lambda: moment)
        return moment

    set_now(MONDAY_BEFORE_EASTER)
    return set_now


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def sees(user, case) -> bool:
    return cases_visible_to(user).filter(pk=case.pk).exists()


def guardian_perm(user, perm, case) -> bool:
    # A fresh user object, so no permission cache from an earlier check is used.
    return User.objects.get(pk=user.pk).has_perm(f"cases.{perm}", reload(case))


def events(case, kind):
    return CaseEvent.objects.filter(case=case, kind=kind)


def audits(case, **filters):
    return AuditEntry.objects.filter(case_id=case.pk, **filters)


def error_fields(exc) -> set[str]:
    return set(getattr(exc, "error_dict", {}))


def referral(case, kind):
    return Referral.objects.get(case=case, kind=kind)


def deputy_police(world):
    return user_with_role(Role.POLICE_CONTACT, world.police, deputy=True, username="policedeputy")


def second_coordinator(world):
    return user_with_role(Role.COORDINATOR, world.municipality, username="coordinator2")


def foreign_municipality(*, with_visitator=True):
    """A municipality in another police district, with its own police contact."""
    police = OrganisationFactory(name="Fjernpoliti", code="FPOL", kind=OrganisationKind.POLICE)
    municipality = OrganisationFactory(name="Fjernkommune", code="FJK", police_district=police)
    if with_visitator:
        user_with_role(Role.VISITATOR, municipality, username="fjernvisitator")
    return municipality, police


# --- refer ------------------------------------------------------------------------------------


def test_refer_creates_a_referred_case_with_a_reference_for_municipality_and_year(world, now):
    case = world.refer()
    case = reload(case)
    assert case.state == CaseState.REFERRED
    assert case.reference == "TST-2026-0001"
    assert case.municipality == world.municipality
    assert case.received_at == MONDAY_BEFORE_EASTER
    assert case.full_name == "Mette Sørensen"
    assert case.version == 1


def test_refer_increments_the_reference_sequence(world, now):
    first, second, third = world.refer(), world.refer(), world.refer()
    assert [first.reference, second.reference, third.reference] == [
        "TST-2026-0001",
        "TST-2026-0002",
        "TST-2026-0003",
    ]
    assert CaseSequence.objects.get(organisation=world.municipality, year=2026).last_number == 3


def test_refer_numbers_each_municipality_separately(world, now):
    world.refer()
    world.refer()
    other = world.refer(actor=world.other_visitator, municipality=world.other_municipality)
    assert other.reference == "AND-2026-0001"


def test_refer_starts_a_new_sequence_in_a_new_year(world, now):
    world.refer()
    now(datetime.datetime(2027, 1, 4, 9, 0, tzinfo=CPH))
    assert world.refer().reference == "TST-2027-0001"


def test_refer_uses_the_danish_date_for_year_and_deadline(world, now):
    # 23:30 UTC on New Year's Eve is already 1 January 2027 in Copenhagen.
    now(datetime.datetime(2026, 12, 31, 23, 30, tzinfo=datetime.UTC))
    case = world.refer()
    assert case.reference == "TST-2027-0001"
    assert case.triage_deadline == add_working_days(datetime.date(2027, 1, 1), 5)


def test_refer_sets_the_triage_deadline_five_working_days_later_skipping_easter(world, now):
    case = world.refer()
    assert case.triage_deadline == datetime.date(2026, 4, 9)
    assert case.triage_deadline == add_working_days(datetime.date(2026, 3, 30), 5)


def test_refer_skips_the_weekend_when_setting_the_triage_deadline(world, now):
    now(datetime.datetime(2026, 3, 6, 14, 0, tzinfo=CPH))  # a Friday
    assert world.refer().triage_deadline == datetime.date(2026, 3, 13)


def test_refer_respects_the_municipalitys_own_triage_working_days(world, now):
    world.municipality.triage_working_days = 3
    world.municipality.save()
    # Tue 31 March, Wed 1 April, then Easter, then Tue 7 April.
    assert world.refer().triage_deadline == datetime.date(2026, 4, 7)


def test_refer_uses_the_installation_default_when_the_municipality_sets_none(world, now, settings):
    settings.DEFAULT_TRIAGE_WORKING_DAYS = 1
    assert world.refer().triage_deadline == datetime.date(2026, 3, 31)


def test_refer_makes_the_non_deputy_visitator_responsible(world):
    municipality = OrganisationFactory(name="Nykommune", code="NYK", police_district=world.police)
    deputy = user_with_role(Role.VISITATOR, municipality, deputy=True, username="nydeputy")
    visitator = user_with_role(Role.VISITATOR, municipality, username="nyvisitator")
    first = user_with_role(Role.FIRST_CONTACT, municipality, username="nyfirst")
    assert deputy.pk < visitator.pk
    case = world.refer(actor=first, municipality=municipality)
    assert case.responsible == visitator
    assert world.refer().responsible == world.visitator


def test_refer_falls_back_to_the_deputy_when_the_visitators_role_has_ended(world):
    assignment = world.visitator.role_assignments.get(role=Role.VISITATOR)
    assignment.valid_to = datetime.date(2021, 1, 1)
    assignment.save()
    assert world.refer().responsible == world.deputy_visitator


def test_refer_falls_back_to_the_deputy_when_the_visitator_is_deactivated(world):
    world.visitator.is_active = False
    world.visitator.save(update_fields=["is_active"])
    assert world.refer().responsible == world.deputy_visitator


def test_refer_sends_a_referral_to_the_visitator(world, now):
    case = world.refer(reason="  Gentagne beskeder  ")
    sent = Referral.objects.get(case=case)
    assert sent.kind == ReferralKind.TO_VISITATOR
    assert sent.status == ReferralStatus.SENT
    assert sent.from_user == world.first_contact
    assert sent.from_organisation == world.municipality
    assert sent.to_organisation == world.municipality
    assert sent.to_user == world.visitator
    assert sent.reason == "Gentagne beskeder"


def test_refer_stores_the_consents_given(world, now):
    case = world.refer(
        consents=[
            (ConsentPartner.POLICE, ConsentScope.CONTACT),
            (ConsentPartner.POLICE, ConsentScope.INCIDENT_LOG),
            (ConsentPartner.DSC, ConsentScope.CONTACT),
        ]
    )
    consents = Consent.objects.filter(case=case)
    assert {(c.partner, c.scope) for c in consents} == {
        ("police", "contact"),
        ("police", "incident_log"),
        ("dsc", "contact"),
    }
    assert all(c.is_active for c in consents)
    assert all(c.recorded_by == world.first_contact for c in consents)
    assert all(c.given_at == MONDAY_BEFORE_EASTER for c in consents)


def test_refer_writes_a_case_event_and_an_audit_entry(world, now):
    case = world.refer()
    event = CaseEvent.objects.get(case=case)
    assert event.kind == EventKind.REFERRED
    assert event.actor == world.first_contact
    assert event.summary == world.municipality.name
    entry = audits(case).get()
    assert entry.action == AuditAction.CREATE
    assert entry.user == world.first_contact
    assert entry.username == "first"
    assert entry.case_reference == case.reference
    assert entry.what == "case"
    assert entry.role == Role.FIRST_CONTACT


@pytest.mark.parametrize("bad_cpr", ["320190-1234", "12345", "01019O-1234"])
def test_refer_with_an_invalid_cpr_raises_and_saves_nothing(world, now, bad_cpr):
    with pytest.raises(ValidationError):
        world.refer(cpr=bad_cpr, consents=POLICE_CONTACT_CONSENT)
    assert not Case.objects.exists()
    assert not Referral.objects.exists()
    assert not Consent.objects.exists()
    assert not CaseEvent.objects.exists()
    assert not AuditEntry.objects.exists()
    assert not CaseSequence.objects.filter(last_number__gt=0).exists()
    # No reference number was used up either.
    assert world.refer().reference == "TST-2026-0001"


def test_refer_stores_the_cpr_encrypted_with_a_blind_index(world, now):
    case = reload(world.refer(cpr="010190-1234"))
    assert case.cpr_encrypted
    assert "0101901234" not in case.cpr_encrypted
    assert "010190" not in case.cpr_encrypted
    assert decrypt_cpr(case.cpr_encrypted) == "0101901234"
    assert case.cpr_index == cpr_index("0101901234")
    assert case.cpr_last4 == "1234"
    assert case.birth_date == datetime.date(1990, 1, 1)


def test_refer_stores_the_cpr_nowhere_in_clear_text(world, now):
    case = reload(world.refer(cpr="0101901234"))
    for field in Case._meta.concrete_fields:
        value = str(field.value_from_object(case))
        assert "0101901234" not in value, field.name
        assert "010190-1234" not in value, field.name


def test_refer_shows_only_the_last_four_cpr_digits(world, now):
    case = reload(world.refer(cpr="010190-1234"))
    assert case.cpr_masked == "xxxxxx-1234"
    assert "010190" not in case.cpr_masked


def test_refer_without_a_cpr_stores_no_cpr(world, now):
    case = reload(world.refer())
    assert case.cpr_encrypted == case.cpr_index == case.cpr_last4 == ""
    assert case.cpr_masked == ""
    assert case.birth_date is None


def test_refer_keeps_an_explicit_birth_date(world, now):
    case = world.refer(cpr="0101901234", birth_date=datetime.date(1990, 1, 2))
    assert reload(case).birth_date == datetime.date(1990, 1, 2)


def test_refer_refuses_a_first_contact_of_another_municipality(world, now):
    with pytest.raises(PermissionDenied):
        world.refer(municipality=world.other_municipality)
    assert not Case.objects.exists()


@pytest.mark.parametrize("who", ["follow_up", "dsc", "admin"])
def test_refer_refuses_a_user_without_a_referring_role_in_the_municipality(world, now, who):
    with pytest.raises(PermissionDenied):
        world.refer(actor=getattr(world, who))
    assert not Case.objects.exists()


def test_refer_refuses_an_inactive_first_contact(world, now):
    world.first_contact.is_active = False
    world.first_contact.save()
    forget_roles(world.first_contact)
    with pytest.raises(PermissionDenied):
        world.refer()


def test_police_contact_can_refer_to_a_municipality_in_its_district(world, now):
    case = world.refer(actor=world.police_contact)
    assert case.state == CaseState.REFERRED
    assert case.responsible == world.visitator
    sent = Referral.objects.get(case=case)
    assert sent.from_user == world.police_contact
    assert sent.from_organisation == world.police
    assert sent.to_organisation == world.municipality
    assert sent.to_user == world.visitator
    other = world.refer(actor=world.police_contact, municipality=world.other_municipality)
    assert Referral.objects.get(case=other).from_organisation == world.police


def test_police_contact_cannot_refer_to_a_municipality_outside_its_district(world, now):
    municipality, _police = foreign_municipality()
    with pytest.raises(PermissionDenied):
        world.refer(actor=world.police_contact, municipality=municipality)
    assert not Case.objects.exists()


def test_refer_to_a_municipality_without_a_visitator_raises_a_clear_transition_error(world, now):
    municipality, _police = foreign_municipality(with_visitator=False)
    first = user_with_role(Role.FIRST_CONTACT, municipality, username="fjernfirst")
    with pytest.raises(TransitionError) as exc:
        world.refer(actor=first, municipality=municipality)
    assert exc.value.code == "no_visitator"
    assert "ingen stalkingvisitator" in str(exc.value.message)
    assert not Case.objects.exists()


# --- start_triage -----------------------------------------------------------------------------


def test_start_triage_moves_a_referred_case_into_triage(world, now):
    case = world.refer()
    result = services.start_triage(actor=world.visitator, case=case)
    case = reload(case)
    assert result.state == case.state == CaseState.IN_TRIAGE
    assert case.responsible == world.visitator
    assert case.version == 2
    assert events(case, EventKind.TRIAGE_STARTED).get().actor == world.visitator
    assert audits(case, action=AuditAction.CHANGE, what="start_triage").exists()


def test_start_triage_makes_the_acting_visitator_responsible(world, now):
    case = world.refer()
    services.start_triage(actor=world.deputy_visitator, case=case)
    assert reload(case).responsible == world.deputy_visitator


def test_start_triage_accepts_the_incoming_referral(world, now):
    case = world.refer()
    services.start_triage(actor=world.visitator, case=case)
    incoming = referral(case, ReferralKind.TO_VISITATOR)
    assert incoming.status == ReferralStatus.ACCEPTED
    assert incoming.responded_by == world.visitator
    assert incoming.responded_at == MONDAY_BEFORE_EASTER


@pytest.mark.parametrize(
    "who", ["first_contact", "coordinator", "police_contact", "dsc", "follow_up", "admin"]
)
def test_start_triage_refuses_a_user_who_is_not_the_visitator(world, who):
    case = world.refer()
    with pytest.raises(PermissionDenied):
        services.start_triage(actor=getattr(world, who), case=case)
    assert reload(case).state == CaseState.REFERRED


def test_start_triage_refuses_the_visitator_of_another_municipality(world):
    case = world.refer()
    with pytest.raises(PermissionDenied):
        services.start_triage(actor=world.other_visitator, case=case)
    assert reload(case).state == CaseState.REFERRED


@pytest.mark.parametrize("state", ["in_triage", "active", "closed"])
def test_start_triage_refuses_a_case_that_is_not_referred(world, state):
    case = getattr(world, state)()
    with pytest.raises(TransitionError) as exc:
        services.start_triage(actor=world.visitator, case=case)
    assert exc.value.code == "illegal_transition"
    assert reload(case).state == state


# --- triage -----------------------------------------------------------------------------------


def test_triage_not_stalking_closes_the_case_with_advice(world, now):
    case = world.in_triage()
    services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=False,
        reasoning="Enkeltstående konflikt",
        advice_given="Rådgivet om konfliktmægling",
    )
    case = reload(case)
    assert case.state == CaseState.CLOSED
    assert case.closing_reason == ClosingReason.NOT_STALKING
    assert case.closing_comment == "Rådgivet om konfliktmægling"
    assert case.is_stalking is False
    assert case.triage_reasoning == "Enkeltstående konflikt"
    assert case.triaged_at == case.closed_at == MONDAY_BEFORE_EASTER
    assert events(case, EventKind.TRIAGED).exists()
    assert events(case, EventKind.CLOSED).exists()
    assert audits(case, what="triage:not_stalking").exists()


def test_triage_not_stalking_completes_the_referral(world):
    case = world.in_triage()
    services.triage(actor=world.visitator, case=case, is_stalking=False, reasoning="Nej")
    assert referral(case, ReferralKind.TO_VISITATOR).status == ReferralStatus.COMPLETED


def test_triage_not_stalking_without_advice_uses_the_reasoning_as_comment(world):
    case = world.in_triage()
    services.triage(actor=world.visitator, case=case, is_stalking=False, reasoning=" Nej ")
    assert reload(case).closing_comment == "Nej"


def test_triage_requires_a_reasoning(world):
    case = world.in_triage()
    with pytest.raises(ValidationError) as exc:
        services.triage(
            actor=world.visitator,
            case=case,
            is_stalking=True,
            reasoning="  ",
            coordinator=world.coordinator,
        )
    assert "reasoning" in error_fields(exc.value)
    assert reload(case).state == CaseState.IN_TRIAGE


def test_triage_stalking_requires_at_least_one_route(world):
    case = world.in_triage()
    with pytest.raises(ValidationError) as exc:
        services.triage(actor=world.visitator, case=case, is_stalking=True, reasoning="Ja")
    assert exc.value.code == "route_needed"
    assert reload(case).state == CaseState.IN_TRIAGE


def test_triage_routes_to_a_coordinator_who_becomes_responsible(world, now):
    case = world.in_triage()
    services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
    )
    case = reload(case)
    assert case.state == CaseState.ACTIVE
    assert case.is_stalking is True
    assert case.responsible == world.coordinator
    to_coordinator = referral(case, ReferralKind.TO_COORDINATOR)
    assert to_coordinator.status == ReferralStatus.SENT
    assert to_coordinator.to_user == world.coordinator
    assert to_coordinator.from_user == world.visitator
    assert referral(case, ReferralKind.TO_VISITATOR).status == ReferralStatus.COMPLETED
    assert events(case, EventKind.TRIAGED).exists()
    assert events(case, EventKind.ROUTED).exists()
    assert audits(case, what="triage:route").exists()


def test_triage_gives_the_coordinator_view_and_change_access(world):
    case = world.in_triage()
    assert not sees(world.coordinator, case)
    services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
    )
    assert sees(world.coordinator, case)
    assert guardian_perm(world.coordinator, "view_case", case)
    assert guardian_perm(world.coordinator, "change_case", case)


@pytest.mark.parametrize("who", ["outsider_coordinator", "first_contact", "deputy_visitator"])
def test_triage_refuses_a_coordinator_who_is_not_a_coordinator_in_the_municipality(world, who):
    case = world.in_triage()
    with pytest.raises(ValidationError) as exc:
        services.triage(
            actor=world.visitator,
            case=case,
            is_stalking=True,
            reasoning="Ja",
            coordinator=getattr(world, who),
        )
    assert "coordinator" in error_fields(exc.value)
    case = reload(case)
    assert case.state == CaseState.IN_TRIAGE
    assert not sees(getattr(world, who), case) or who == "deputy_visitator"


def test_triage_refuses_a_coordinator_who_is_disqualified_on_the_case(world):
    case = world.in_triage()
    services.disqualify(actor=world.visitator, case=case, user=world.coordinator, reason="Kollega")
    with pytest.raises((ValidationError, PermissionDenied)):
        services.triage(
            actor=world.visitator,
            case=reload(case),
            is_stalking=True,
            reasoning="Ja",
            coordinator=world.coordinator,
        )
    case = reload(case)
    assert case.responsible != world.coordinator


def test_triage_to_police_requires_the_citizens_consent(world):
    case = world.in_triage()
    with pytest.raises(ValidationError) as exc:
        services.triage(
            actor=world.visitator, case=case, is_stalking=True, reasoning="Ja", to_police=True
        )
    assert exc.value.code == "no_consent"
    assert reload(case).state == CaseState.IN_TRIAGE
    assert not sees(world.police_contact, case)


@pytest.mark.parametrize(
    "consents",
    [
        [(ConsentPartner.POLICE, ConsentScope.INCIDENT_LOG)],
        [(ConsentPartner.DSC, ConsentScope.CONTACT)],
    ],
    ids=["police-other-scope", "dsc-contact"],
)
def test_triage_to_police_needs_the_police_contact_consent_specifically(world, consents):
    case = world.in_triage(consents=consents)
    with pytest.raises(ValidationError) as exc:
        services.triage(
            actor=world.visitator, case=case, is_stalking=True, reasoning="Ja", to_police=True
        )
    assert exc.value.code == "no_consent"


def test_triage_to_police_refuses_a_withdrawn_consent(world):
    case = world.in_triage(consents=POLICE_CONTACT_CONSENT)
    consent = Consent.objects.get(case=case)
    services.withdraw_consent(actor=world.visitator, consent=consent)
    with pytest.raises(ValidationError) as exc:
        services.triage(
            actor=world.visitator,
            case=reload(case),
            is_stalking=True,
            reasoning="Ja",
            to_police=True,
        )
    assert exc.value.code == "no_consent"


def test_triage_to_police_grants_the_police_contact_read_access(world):
    case = world.in_triage(consents=POLICE_CONTACT_CONSENT)
    assert not sees(world.police_contact, case)
    services.triage(
        actor=world.visitator, case=case, is_stalking=True, reasoning="Ja", to_police=True
    )
    case = reload(case)
    assert case.state == CaseState.ACTIVE
    assert case.responsible == world.visitator  # no coordinator: the visitator keeps it
    assert sees(world.police_contact, case)
    assert guardian_perm(world.police_contact, "view_case", case)
    assert not guardian_perm(world.police_contact, "change_case", case)
    to_police = referral(case, ReferralKind.TO_POLICE)
    assert to_police.to_organisation == world.police
    assert to_police.to_user == world.police_contact
    assert to_police.status == ReferralStatus.SENT


def test_triage_to_police_also_grants_the_deputy_police_contact(world):
    deputy = deputy_police(world)
    case = world.in_triage(consents=POLICE_CONTACT_CONSENT)
    services.triage(
        actor=world.visitator, case=case, is_stalking=True, reasoning="Ja", to_police=True
    )
    assert referral(case, ReferralKind.TO_POLICE).to_user == world.police_contact
    assert sees(deputy, case)


def test_triage_to_police_without_an_active_police_contact_is_refused(world):
    assignment = world.police_contact.role_assignments.get()
    assignment.valid_to = datetime.date(2021, 1, 1)
    assignment.save()
    case = world.in_triage(consents=POLICE_CONTACT_CONSENT)
    with pytest.raises(ValidationError) as exc:
        services.triage(
            actor=world.visitator, case=case, is_stalking=True, reasoning="Ja", to_police=True
        )
    assert exc.value.code == "no_partner"


def test_triage_to_dsc_grants_the_dsc_advisor_read_access(world):
    case = world.in_triage(consents=[(ConsentPartner.DSC, ConsentScope.CONTACT)])
    services.triage(actor=world.visitator, case=case, is_stalking=True, reasoning="Ja", to_dsc=True)
    assert sees(world.dsc, case)
    assert guardian_perm(world.dsc, "view_case", case)
    assert not guardian_perm(world.dsc, "change_case", case)
    to_dsc = referral(case, ReferralKind.TO_DSC)
    assert to_dsc.to_organisation == world.dsc_org
    assert to_dsc.to_user == world.dsc
    assert not sees(world.police_contact, case)


def test_triage_to_dsc_requires_the_dsc_consent(world):
    case = world.in_triage(consents=POLICE_CONTACT_CONSENT)
    with pytest.raises(ValidationError) as exc:
        services.triage(
            actor=world.visitator, case=case, is_stalking=True, reasoning="Ja", to_dsc=True
        )
    assert exc.value.code == "no_consent"
    assert not sees(world.dsc, case)


def test_triage_to_a_coordinator_only_gives_police_and_dsc_no_access(world):
    case = world.active(coordinator=True)
    assert not sees(world.police_contact, case)
    assert not sees(world.dsc, case)


def test_triage_routes_to_all_three_at_once(world):
    case = world.active(police=True, dsc=True)
    case = reload(case)
    assert case.responsible == world.coordinator
    assert set(case.referrals.values_list("kind", flat=True)) == {
        ReferralKind.TO_VISITATOR,
        ReferralKind.TO_COORDINATOR,
        ReferralKind.TO_POLICE,
        ReferralKind.TO_DSC,
    }
    assert sees(world.coordinator, case)
    assert sees(world.police_contact, case)
    assert sees(world.dsc, case)


def test_a_failed_triage_leaves_nothing_behind(world):
    case = world.in_triage(consents=POLICE_CONTACT_CONSENT)
    with pytest.raises(ValidationError):
        services.triage(
            actor=world.visitator,
            case=case,
            is_stalking=True,
            reasoning="Ja",
            coordinator=world.coordinator,
            to_police=True,
            to_dsc=True,  # no DSC consent
        )
    case = reload(case)
    assert case.state == CaseState.IN_TRIAGE
    assert case.responsible == world.visitator
    assert case.is_stalking is None
    assert list(case.referrals.values_list("kind", flat=True)) == [ReferralKind.TO_VISITATOR]
    assert not sees(world.police_contact, case)
    assert not sees(world.coordinator, case)


def test_triage_with_children_in_household_requires_a_children_notification(world):
    case = world.in_triage(children_in_household=True)
    with pytest.raises(ValidationError) as exc:
        services.triage(
            actor=world.visitator,
            case=case,
            is_stalking=True,
            reasoning="Ja",
            coordinator=world.coordinator,
        )
    assert "children_notification" in error_fields(exc.value)
    with pytest.raises(ValidationError):
        services.triage(
            actor=world.visitator,
            case=case,
            is_stalking=False,
            reasoning="Nej",
            children_notification="maybe",
        )
    assert reload(case).state == CaseState.IN_TRIAGE
    services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
        children_notification=ChildrenNotification.NEEDED,
    )
    assert reload(case).children_notification == ChildrenNotification.NEEDED


def test_triage_without_children_stores_no_children_notification(world):
    case = world.in_triage()
    services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
        children_notification=ChildrenNotification.SENT,
    )
    assert reload(case).children_notification == ""


def test_triage_refuses_a_stale_expected_version(world):
    case = world.in_triage()
    assert case.version == 2
    services.add_note(actor=world.deputy_visitator, case=case, text="Ringet op")
    with pytest.raises(TransitionError) as exc:
        services.triage(
            actor=world.visitator,
            case=case,
            is_stalking=True,
            reasoning="Ja",
            coordinator=world.coordinator,
            expected_version=2,
        )
    assert exc.value.code == "stale"
    assert reload(case).state == CaseState.IN_TRIAGE
    services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
        expected_version=3,
    )
    assert reload(case).state == CaseState.ACTIVE


@pytest.mark.parametrize("state", ["refer", "active", "closed"])
def test_triage_refuses_a_case_that_is_not_in_triage(world, state):
    case = getattr(world, state)()
    before = reload(case).state
    with pytest.raises(TransitionError) as exc:
        services.triage(
            actor=world.visitator,
            case=case,
            is_stalking=True,
            reasoning="Ja",
            coordinator=world.coordinator,
        )
    assert exc.value.code == "illegal_transition"
    assert reload(case).state == before


@pytest.mark.parametrize(
    "who", ["coordinator", "first_contact", "police_contact", "other_visitator"]
)
def test_triage_refuses_a_user_who_is_not_the_visitator(world, who):
    case = world.in_triage()
    with pytest.raises(PermissionDenied):
        services.triage(actor=getattr(world, who), case=case, is_stalking=False, reasoning="Nej")


# --- close ------------------------------------------------------------------------------------


def test_close_by_the_owning_coordinator(world, now):
    case = world.active()
    services.close(actor=world.coordinator, case=case, reason=ClosingReason.RESOLVED)
    case = reload(case)
    assert case.state == CaseState.CLOSED
    assert case.closing_reason == ClosingReason.RESOLVED
    assert case.closed_at == MONDAY_BEFORE_EASTER
    assert events(case, EventKind.CLOSED).get().actor == world.coordinator
    assert audits(case, what="close").exists()


@pytest.mark.parametrize("who", ["visitator", "deputy_visitator"])
def test_close_by_a_visitator(world, who):
    case = world.active()
    services.close(actor=getattr(world, who), case=case, reason=ClosingReason.MOVED_AWAY)
    assert reload(case).state == CaseState.CLOSED


@pytest.mark.parametrize(
    "who",
    ["first_contact", "police_contact", "dsc", "other_visitator", "outsider_coordinator", "admin"],
)
def test_close_refuses_anyone_but_the_owner_and_the_visitator(world, who):
    case = world.active(police=True, dsc=True)
    with pytest.raises(PermissionDenied):
        services.close(actor=getattr(world, who), case=case, reason=ClosingReason.RESOLVED)
    assert reload(case).state == CaseState.ACTIVE


def test_close_refuses_a_coordinator_who_does_not_own_the_case(world):
    other = second_coordinator(world)
    case = world.active()
    with pytest.raises(PermissionDenied):
        services.close(actor=other, case=case, reason=ClosingReason.RESOLVED)


def test_close_with_reason_other_requires_a_comment(world):
    case = world.active()
    with pytest.raises(ValidationError) as exc:
        services.close(actor=world.coordinator, case=case, reason=ClosingReason.OTHER, comment=" ")
    assert "comment" in error_fields(exc.value)
    assert reload(case).state == CaseState.ACTIVE
    services.close(
        actor=world.coordinator, case=case, reason=ClosingReason.OTHER, comment=" Flyttet ud "
    )
    case = reload(case)
    assert case.state == CaseState.CLOSED
    assert case.closing_comment == "Flyttet ud"


@pytest.mark.parametrize("reason", ["", "nonsense", ClosingReason.MERGED])
def test_close_refuses_an_unknown_or_merged_reason(world, reason):
    case = world.active()
    with pytest.raises(ValidationError) as exc:
        services.close(actor=world.coordinator, case=case, reason=reason)
    assert "reason" in error_fields(exc.value)


def test_closing_revokes_police_and_dsc_access_but_the_coordinator_still_sees_it(world):
    deputy = deputy_police(world)
    case = world.active(police=True, dsc=True)
    assert sees(world.police_contact, case) and sees(deputy, case) and sees(world.dsc, case)
    services.close(actor=world.coordinator, case=case, reason=ClosingReason.RESOLVED)
    assert not sees(world.police_contact, case)
    assert not sees(deputy, case)
    assert not sees(world.dsc, case)
    assert not guardian_perm(world.police_contact, "view_case", case)
    assert sees(world.coordinator, case)
    assert sees(world.visitator, case)


def test_close_completes_the_open_referrals(world):
    case = world.active(police=True)
    services.close(actor=world.coordinator, case=case, reason=ClosingReason.RESOLVED)
    statuses = set(Referral.objects.filter(case=case).values_list("status", flat=True))
    assert statuses == {ReferralStatus.COMPLETED}


@pytest.mark.parametrize("state", ["refer", "in_triage", "closed"])
def test_close_refuses_a_case_that_is_not_active(world, state):
    case = getattr(world, state)()
    with pytest.raises(TransitionError) as exc:
        services.close(actor=world.visitator, case=case, reason=ClosingReason.RESOLVED)
    assert exc.value.code == "illegal_transition"


def test_close_refuses_a_stale_expected_version(world):
    case = world.active()
    with pytest.raises(TransitionError) as exc:
        services.close(actor=world.coordinator, case=case, reason="resolved", expected_version=1)
    assert exc.value.code == "stale"


# --- reopen -----------------------------------------------------------------------------------


def test_reopen_returns_the_case_to_its_coordinator_as_active(world):
    case = world.closed()
    services.reopen(actor=world.coordinator, case=case, comment="Ny henvendelse")
    case = reload(case)
    assert case.state == CaseState.ACTIVE
    assert case.responsible == world.coordinator
    assert case.closing_reason == ""
    assert case.closed_at is None
    assert events(case, EventKind.REOPENED).get().summary == "Ny henvendelse"
    assert audits(case, what="reopen").exists()


def test_reopen_by_the_visitator_keeps_the_coordinator_responsible(world):
    case = world.closed()
    services.reopen(actor=world.visitator, case=case, comment="Borgeren ringede igen")
    case = reload(case)
    assert case.state == CaseState.ACTIVE
    assert case.responsible == world.coordinator


def test_reopen_of_a_case_without_a_coordinator_goes_back_to_the_visitator(world):
    case = world.in_triage()
    services.triage(actor=world.visitator, case=case, is_stalking=False, reasoning="Nej")
    services.reopen(actor=world.deputy_visitator, case=case, comment="Det er alligevel stalking")
    case = reload(case)
    assert case.state == CaseState.IN_TRIAGE
    assert case.responsible == world.visitator


def test_reopen_requires_a_comment(world):
    case = world.closed()
    with pytest.raises(ValidationError) as exc:
        services.reopen(actor=world.coordinator, case=case, comment="   ")
    assert "comment" in error_fields(exc.value)
    assert reload(case).state == CaseState.CLOSED


@pytest.mark.parametrize("state", ["refer", "in_triage", "active"])
def test_reopen_refuses_a_case_that_is_not_closed(world, state):
    case = getattr(world, state)()
    with pytest.raises(TransitionError) as exc:
        services.reopen(actor=world.visitator, case=case, comment="Igen")
    assert exc.value.code == "illegal_transition"


@pytest.mark.parametrize("who", ["first_contact", "police_contact", "other_visitator"])
def test_reopen_refuses_anyone_but_the_owner_and_the_visitator(world, who):
    case = world.closed(police=True)
    with pytest.raises(PermissionDenied):
        services.reopen(actor=getattr(world, who), case=case, comment="Igen")


def test_reopen_refuses_a_merged_case(world):
    original = world.in_triage()
    duplicate = world.refer()
    services.join_duplicate(actor=world.visitator, case=duplicate, into=original)
    with pytest.raises(TransitionError):
        services.reopen(actor=world.visitator, case=duplicate, comment="Fejl")


def test_reopen_never_hands_the_case_to_a_disqualified_visitator(world):
    case = world.in_triage()
    services.triage(actor=world.deputy_visitator, case=case, is_stalking=False, reasoning="Nej")
    services.disqualify(actor=world.deputy_visitator, case=case, user=world.visitator, reason="X")
    services.reopen(actor=world.deputy_visitator, case=case, comment="Igen")
    case = reload(case)
    assert case.responsible != world.visitator
    assert sees(case.responsible, case)


# --- join_duplicate ---------------------------------------------------------------------------


def test_join_duplicate_moves_referrals_and_consents_and_closes_it_as_merged(world, now):
    original = world.in_triage()
    duplicate = world.refer(
        consents=[
            (ConsentPartner.POLICE, ConsentScope.CONTACT),
            (ConsentPartner.DSC, ConsentScope.CONTACT),
        ]
    )
    duplicate_referral = Referral.objects.get(case=duplicate)
    result = services.join_duplicate(actor=world.visitator, case=duplicate, into=original)
    assert result.pk == original.pk
    duplicate, original = reload(duplicate), reload(original)
    assert duplicate.state == CaseState.CLOSED
    assert duplicate.closing_reason == ClosingReason.MERGED
    assert duplicate.merged_into == original
    assert duplicate.closed_at == MONDAY_BEFORE_EASTER
    assert reload(duplicate_referral).case == original
    assert not duplicate.referrals.exists()
    assert original.referrals.count() == 2
    assert not duplicate.consents.exists()
    assert {(c.partner, c.scope) for c in original.consents.all()} == {
        ("police", "contact"),
        ("dsc", "contact"),
    }
    assert events(original, EventKind.MERGED).get().summary == duplicate.reference
    assert events(duplicate, EventKind.MERGED).get().summary == original.reference


def test_join_duplicate_writes_an_audit_entry_naming_the_case_it_joined(world):
    original = world.in_triage()
    duplicate = world.refer()
    services.join_duplicate(actor=world.visitator, case=duplicate, into=original)
    entry = audits(duplicate, what="join_duplicate").get()
    assert (entry.user, entry.action, entry.object_id) == (
        world.visitator,
        AuditAction.CHANGE,
        str(original.pk),
    )


def test_join_duplicate_does_not_double_a_consent_the_target_already_has(world):
    original = world.in_triage(consents=POLICE_CONTACT_CONSENT)
    duplicate = world.refer(consents=POLICE_CONTACT_CONSENT)
    services.join_duplicate(actor=world.visitator, case=duplicate, into=original)
    assert original.consents.filter(withdrawn_at__isnull=True).count() == 1


def test_join_duplicate_into_an_active_case(world):
    original = world.active()
    duplicate = world.refer()
    services.join_duplicate(actor=world.visitator, case=duplicate, into=original)
    assert reload(duplicate).merged_into_id == original.pk
    assert reload(original).state == CaseState.ACTIVE


def test_a_referral_joined_into_an_active_case_is_answered_as_handled(world, client):
    """Triage is over on the active case: nobody would ever answer the new referral, and the
    police contact who sent it would read "Sendt" for ever."""
    original = world.active()
    duplicate = world.refer(actor=world.police_contact, reason="Ny anmeldelse")
    services.join_duplicate(actor=world.visitator, case=duplicate, into=original)

    joined = original.referrals.get(from_user=world.police_contact)
    assert joined.status == ReferralStatus.COMPLETED
    assert joined.responded_by == world.visitator and joined.responded_at is not None
    client.force_login(world.police_contact)
    html = client.get(reverse("cases:my_referrals")).content.decode()
    assert 'samvirke-referral--completed">Visiteret<' in html
    # The reference they were given, not the earlier case's: that the citizen already had a
    # case (and its number and year) is not the referrer's to learn.
    assert duplicate.reference in html and original.reference not in html


def test_referrals_from_before_the_reference_was_kept_get_their_cases_reference(world):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("cases.migrations.0015_referral_case_reference")
    case = world.refer()
    Referral.objects.filter(case=case).update(case_reference="")

    migration.references_as_the_cases_hold_them(apps, None)

    assert list(case.referrals.values_list("case_reference", flat=True)) == [case.reference]


def test_a_referral_joined_into_a_case_in_triage_waits_for_the_triage(world):
    original = world.in_triage()
    duplicate = world.refer(actor=world.police_contact)
    services.join_duplicate(actor=world.visitator, case=duplicate, into=original)
    joined = original.referrals.get(from_user=world.police_contact)
    assert joined.status == ReferralStatus.SENT
    services.triage(
        actor=world.visitator,
        case=original,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.coordinator,
    )
    assert reload(joined).status == ReferralStatus.COMPLETED


def test_join_duplicate_refuses_a_case_of_another_municipality(world):
    both = user_with_role(Role.VISITATOR, world.municipality, username="bothvisitator")
    duplicate = world.refer()
    other = world.refer(actor=world.other_visitator, municipality=world.other_municipality)
    RoleAssignmentFactory(user=both, organisation=world.other_municipality, role=Role.VISITATOR)
    forget_roles(both)
    with pytest.raises(TransitionError) as exc:
        services.join_duplicate(actor=both, case=duplicate, into=other)
    assert exc.value.code == "join_other"
    assert reload(duplicate).state == CaseState.REFERRED


def test_join_duplicate_refuses_a_case_the_visitator_may_not_see(world):
    duplicate = world.refer()
    other = world.refer(actor=world.other_visitator, municipality=world.other_municipality)
    with pytest.raises(PermissionDenied):
        services.join_duplicate(actor=world.visitator, case=duplicate, into=other)
    assert reload(duplicate).state == CaseState.REFERRED


def test_join_duplicate_refuses_joining_a_case_into_itself(world):
    case = world.refer()
    with pytest.raises(TransitionError) as exc:
        services.join_duplicate(actor=world.visitator, case=case, into=case)
    assert exc.value.code == "join_other"
    assert reload(case).state == CaseState.REFERRED


def test_join_duplicate_refuses_a_closed_target(world):
    closed = world.closed()
    duplicate = world.refer()
    with pytest.raises(TransitionError) as exc:
        services.join_duplicate(actor=world.visitator, case=duplicate, into=closed)
    assert exc.value.code == "join_other"
    assert reload(duplicate).state == CaseState.REFERRED


def test_join_duplicate_refuses_an_active_duplicate(world):
    original = world.in_triage()
    active = world.active()
    with pytest.raises(TransitionError) as exc:
        services.join_duplicate(actor=world.visitator, case=active, into=original)
    assert exc.value.code == "illegal_transition"


@pytest.mark.parametrize("who", ["coordinator", "first_contact", "other_visitator"])
def test_join_duplicate_refuses_a_user_who_is_not_the_visitator(world, who):
    original = world.active()
    duplicate = world.refer()
    with pytest.raises(PermissionDenied):
        services.join_duplicate(actor=getattr(world, who), case=duplicate, into=original)


# --- add_note ---------------------------------------------------------------------------------


def test_add_note_writes_a_note_an_event_and_an_audit_entry(world):
    case = world.active()
    version = reload(case).version
    note = services.add_note(actor=world.coordinator, case=case, text="  Samtale med borger  ")
    note = reload(note)
    assert note.case_id == case.pk
    assert note.author == world.coordinator
    assert note.text == "Samtale med borger"
    event = events(case, EventKind.NOTE_ADDED).get()
    assert event.note == note
    assert event.actor == world.coordinator
    entry = audits(case, what="note").get()
    assert entry.action == AuditAction.CHANGE
    assert entry.object_id == str(note.pk)
    assert entry.user == world.coordinator
    assert reload(case).version == version + 1


@pytest.mark.parametrize("state", ["refer", "in_triage"])
def test_the_visitator_can_add_notes_before_triage_is_done(world, state):
    case = getattr(world, state)()
    services.add_note(actor=world.visitator, case=case, text="Noteret")
    assert Note.objects.filter(case=case).count() == 1


def test_add_note_refuses_an_empty_note(world):
    case = world.active()
    with pytest.raises(ValidationError) as exc:
        services.add_note(actor=world.coordinator, case=case, text=" \n ")
    assert "text" in error_fields(exc.value)
    assert not Note.objects.exists()
    assert not events(case, EventKind.NOTE_ADDED).exists()


def test_add_note_refuses_a_closed_case(world):
    case = world.closed()
    with pytest.raises(TransitionError) as exc:
        services.add_note(actor=world.coordinator, case=case, text="For sent")
    assert exc.value.code == "illegal_transition"
    assert not Note.objects.exists()


@pytest.mark.parametrize("who", ["police_contact", "dsc"])
def test_add_note_refuses_a_read_only_partner(world, who):
    case = world.active(police=True, dsc=True)
    assert sees(getattr(world, who), case)
    with pytest.raises(PermissionDenied):
        services.add_note(actor=getattr(world, who), case=case, text="Politiets notat")
    assert not Note.objects.exists()


@pytest.mark.parametrize("who", ["first_contact", "other_visitator", "outsider_coordinator"])
def test_add_note_refuses_users_without_access_to_the_case(world, who):
    case = world.active()
    with pytest.raises(PermissionDenied):
        services.add_note(actor=getattr(world, who), case=case, text="Hej")


# --- record_consent / withdraw_consent --------------------------------------------------------


def test_record_consent_adds_only_the_scopes_not_already_given(world, now):
    case = world.in_triage(consents=POLICE_CONTACT_CONSENT)
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
    )
    created = services.record_consent(
        actor=world.coordinator,
        case=case,
        partner=ConsentPartner.POLICE,
        scopes=[ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG, ConsentScope.ACTION_PLAN],
    )
    assert {c.scope for c in created} == {ConsentScope.INCIDENT_LOG, ConsentScope.ACTION_PLAN}
    assert all(c.recorded_by == world.coordinator for c in created)
    assert case.consents.filter(partner="police", withdrawn_at__isnull=True).count() == 3
    assert events(case, EventKind.CONSENT_GIVEN).count() == 2
    assert audits(case, what="consent:police").exists()


@pytest.mark.parametrize("who", ["police_contact", "first_contact"])
def test_record_consent_refuses_users_without_full_access(world, who):
    case = world.active(police=True)
    with pytest.raises(PermissionDenied):
        services.record_consent(
            actor=getattr(world, who), case=case, partner="dsc", scopes=["contact"]
        )


def test_record_consent_refuses_a_closed_case(world):
    case = world.closed()
    with pytest.raises(TransitionError):
        services.record_consent(
            actor=world.coordinator, case=case, partner="police", scopes=["contact"]
        )


def test_withdrawing_the_police_contact_consent_removes_the_police_contacts_access(world, now):
    deputy = deputy_police(world)
    case = world.active(police=True, dsc=True)
    consent = case.consents.get(partner="police", scope="contact")
    services.withdraw_consent(actor=world.coordinator, consent=consent)
    consent = reload(consent)
    assert consent.withdrawn_at == MONDAY_BEFORE_EASTER
    assert consent.withdrawn_by == world.coordinator
    assert not sees(world.police_contact, case)
    assert not sees(deputy, case)
    assert not guardian_perm(world.police_contact, "view_case", case)
    assert sees(world.dsc, case)
    assert sees(world.coordinator, case)
    assert events(case, EventKind.CONSENT_WITHDRAWN).get().consent_scope == "contact"
    assert audits(case, what="withdraw_consent:police").exists()


def test_withdrawing_the_dsc_contact_consent_removes_dsc_access_only(world):
    case = world.active(police=True, dsc=True)
    consent = case.consents.get(partner="dsc", scope="contact")
    services.withdraw_consent(actor=world.visitator, consent=consent)
    assert not sees(world.dsc, case)
    assert sees(world.police_contact, case)


def test_withdrawing_another_police_scope_keeps_the_police_contacts_access(world):
    case = world.active(police=True)
    consent = case.consents.get(partner="police", scope="notes")
    services.withdraw_consent(actor=world.coordinator, consent=consent)
    assert sees(world.police_contact, case)


def test_withdrawing_a_consent_twice_is_refused(world):
    case = world.active(police=True)
    consent = case.consents.get(partner="police", scope="contact")
    services.withdraw_consent(actor=world.coordinator, consent=consent)
    with pytest.raises(TransitionError) as exc:
        services.withdraw_consent(actor=world.coordinator, consent=consent)
    assert exc.value.code == "withdrawn"
    assert events(case, EventKind.CONSENT_WITHDRAWN).count() == 1


def test_a_withdrawn_consent_can_be_given_again(world):
    case = world.active(police=True)
    consent = case.consents.get(partner="police", scope="contact")
    services.withdraw_consent(actor=world.coordinator, consent=consent)
    created = services.record_consent(
        actor=world.coordinator, case=case, partner="police", scopes=["contact"]
    )
    assert len(created) == 1
    assert case.consents.filter(partner="police", scope="contact").count() == 2


@pytest.mark.parametrize(
    ("partner", "scope"), [("tax_office", "contact"), ("police", "everything")]
)
def test_record_consent_refuses_an_unknown_partner_or_scope(world, partner, scope):
    case = world.active()
    with pytest.raises(ValidationError):
        services.record_consent(actor=world.coordinator, case=case, partner=partner, scopes=[scope])
    assert not Consent.objects.filter(case=case).exists()


def test_refer_refuses_an_unknown_consent_partner_or_scope(world):
    with pytest.raises(ValidationError):
        world.refer(consents=[("tax_office", "everything")])
    assert not Case.objects.exists()


def test_withdraw_consent_refuses_a_closed_case(world):
    case = world.closed(police=True)
    consent = case.consents.get(partner="police", scope="contact")
    with pytest.raises(TransitionError) as exc:
        services.withdraw_consent(actor=world.coordinator, consent=consent)
    assert exc.value.code == "illegal_transition"
    assert reload(consent).is_active


@pytest.mark.parametrize("who", ["police_contact", "dsc", "first_contact"])
def test_withdraw_consent_refuses_users_without_full_access(world, who):
    case = world.active(police=True, dsc=True)
    consent = case.consents.get(partner="police", scope="contact")
    with pytest.raises(PermissionDenied):
        services.withdraw_consent(actor=getattr(world, who), consent=consent)
    assert reload(consent).is_active


# --- respond_to_referral ----------------------------------------------------------------------


def test_police_accepting_a_referral_marks_it_accepted(world, now):
    case = world.active(police=True)
    to_police = referral(case, ReferralKind.TO_POLICE)
    services.respond_to_referral(actor=world.police_contact, referral=to_police, accept=True)
    to_police = reload(to_police)
    assert to_police.status == ReferralStatus.ACCEPTED
    assert to_police.responded_by == world.police_contact
    assert to_police.responded_at == MONDAY_BEFORE_EASTER
    assert to_police.decline_reason == ""
    assert events(case, EventKind.REFERRAL_ACCEPTED).exists()
    assert sees(world.police_contact, case)


def test_declining_a_referral_requires_a_reason(world):
    case = world.active(police=True)
    to_police = referral(case, ReferralKind.TO_POLICE)
    with pytest.raises(ValidationError) as exc:
        services.respond_to_referral(
            actor=world.police_contact, referral=to_police, accept=False, reason=" "
        )
    assert "reason" in error_fields(exc.value)
    assert reload(to_police).status == ReferralStatus.SENT


def test_police_declining_records_the_reason_and_ends_its_access(world):
    case = world.active(police=True)
    to_police = referral(case, ReferralKind.TO_POLICE)
    services.respond_to_referral(
        actor=world.police_contact, referral=to_police, accept=False, reason="Ikke politisag"
    )
    to_police = reload(to_police)
    assert to_police.status == ReferralStatus.DECLINED
    assert to_police.decline_reason == "Ikke politisag"
    assert events(case, EventKind.REFERRAL_DECLINED).exists()
    assert not sees(world.police_contact, case)
    case = reload(case)
    assert case.state == CaseState.ACTIVE
    assert case.responsible == world.coordinator


def test_police_declining_also_ends_the_deputy_police_contacts_access(world):
    deputy = deputy_police(world)
    case = world.active(police=True)
    to_police = referral(case, ReferralKind.TO_POLICE)
    services.respond_to_referral(
        actor=world.police_contact, referral=to_police, accept=False, reason="Ikke politisag"
    )
    assert not sees(deputy, case)


def test_coordinator_accepting_keeps_the_case_active_with_the_coordinator(world):
    case = world.active()
    to_coordinator = referral(case, ReferralKind.TO_COORDINATOR)
    services.respond_to_referral(actor=world.coordinator, referral=to_coordinator, accept=True)
    case = reload(case)
    assert reload(to_coordinator).status == ReferralStatus.ACCEPTED
    assert case.state == CaseState.ACTIVE
    assert case.responsible == world.coordinator


def test_coordinator_declining_sends_the_case_back_to_the_visitator(world):
    case = world.active()
    to_coordinator = referral(case, ReferralKind.TO_COORDINATOR)
    services.respond_to_referral(
        actor=world.coordinator, referral=to_coordinator, accept=False, reason="Ingen kapacitet"
    )
    case = reload(case)
    assert case.state == CaseState.IN_TRIAGE
    assert case.responsible == world.visitator
    assert reload(to_coordinator).status == ReferralStatus.DECLINED
    assert not sees(world.coordinator, case)
    assert not guardian_perm(world.coordinator, "change_case", case)
    assert sees(world.visitator, case)
    # Back in the visitator's hands: they can triage it again.
    services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=second_coordinator(world),
    )
    assert reload(case).state == CaseState.ACTIVE


def test_coordinator_declining_never_hands_the_case_to_a_disqualified_visitator(world):
    case = world.active()
    services.disqualify(actor=world.deputy_visitator, case=case, user=world.visitator, reason="X")
    to_coordinator = referral(case, ReferralKind.TO_COORDINATOR)
    services.respond_to_referral(
        actor=world.coordinator, referral=to_coordinator, accept=False, reason="Nej"
    )
    case = reload(case)
    assert case.responsible == world.deputy_visitator
    assert sees(case.responsible, case)


@pytest.mark.parametrize(
    ("who", "kind"),
    [
        ("dsc", ReferralKind.TO_POLICE),
        ("visitator", ReferralKind.TO_POLICE),
        ("coordinator", ReferralKind.TO_POLICE),
        ("police_contact", ReferralKind.TO_COORDINATOR),
        ("visitator", ReferralKind.TO_COORDINATOR),
        ("police_contact", ReferralKind.TO_DSC),
    ],
)
def test_respond_to_referral_refuses_a_user_who_is_not_the_recipient(world, who, kind):
    case = world.active(police=True, dsc=True)
    sent = referral(case, kind)
    with pytest.raises(PermissionDenied):
        services.respond_to_referral(actor=getattr(world, who), referral=sent, accept=True)
    assert reload(sent).status == ReferralStatus.SENT


def test_respond_to_referral_refuses_the_visitators_own_incoming_referral(world):
    case = world.refer()
    incoming = referral(case, ReferralKind.TO_VISITATOR)
    with pytest.raises(PermissionDenied):
        services.respond_to_referral(actor=world.visitator, referral=incoming, accept=True)


def test_answering_a_referral_twice_is_refused(world):
    case = world.active(police=True)
    to_police = referral(case, ReferralKind.TO_POLICE)
    services.respond_to_referral(actor=world.police_contact, referral=to_police, accept=True)
    with pytest.raises(TransitionError) as exc:
        services.respond_to_referral(
            actor=world.police_contact, referral=to_police, accept=False, reason="Fortrudt"
        )
    assert exc.value.code == "answered"
    assert reload(to_police).status == ReferralStatus.ACCEPTED


def test_a_disqualified_recipient_cannot_answer_the_referral(world):
    case = world.active(police=True)
    services.disqualify(
        actor=world.visitator, case=case, user=world.police_contact, reason="Familie"
    )
    to_police = referral(case, ReferralKind.TO_POLICE)
    with pytest.raises(PermissionDenied):
        services.respond_to_referral(actor=world.police_contact, referral=to_police, accept=True)


# --- decline_incoming -------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["refer", "in_triage"])
def test_decline_incoming_declines_the_first_contacts_referral_and_closes_the_case(
    world, now, state
):
    case = getattr(world, state)()
    services.decline_incoming(actor=world.visitator, case=case, reason="  Bor i Andenkommune  ")
    case = reload(case)
    assert case.state == CaseState.CLOSED
    assert case.closing_reason == ClosingReason.TRANSFERRED
    assert case.closing_comment == "Bor i Andenkommune"
    [seen] = referrals_made_by(world.first_contact)
    assert seen.case_id == case.pk
    assert seen.status == ReferralStatus.DECLINED
    assert seen.decline_reason == "Bor i Andenkommune"
    assert seen.responded_at == MONDAY_BEFORE_EASTER
    assert events(case, EventKind.REFERRAL_DECLINED).exists()
    assert audits(case, what="decline_referral").exists()


def test_decline_incoming_requires_a_reason(world):
    case = world.refer()
    with pytest.raises(ValidationError) as exc:
        services.decline_incoming(actor=world.visitator, case=case, reason=" ")
    assert "reason" in error_fields(exc.value)
    assert reload(case).state == CaseState.REFERRED


@pytest.mark.parametrize("who", ["coordinator", "first_contact", "other_visitator"])
def test_decline_incoming_refuses_a_user_who_is_not_the_visitator(world, who):
    case = world.refer()
    with pytest.raises(PermissionDenied):
        services.decline_incoming(actor=getattr(world, who), case=case, reason="Nej")


@pytest.mark.parametrize("state", ["active", "closed"])
def test_decline_incoming_refuses_a_case_past_triage(world, state):
    case = getattr(world, state)()
    with pytest.raises(TransitionError) as exc:
        services.decline_incoming(actor=world.visitator, case=case, reason="Nej")
    assert exc.value.code == "illegal_transition"


# --- disqualify -------------------------------------------------------------------------------


def test_a_disqualified_deputy_visitator_no_longer_sees_the_case(world):
    case = world.refer()
    assert sees(world.deputy_visitator, case)
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Nabo til borger"
    )
    assert not sees(world.deputy_visitator, case)
    assert sees(world.visitator, case)
    with pytest.raises(Http404):
        get_case_for(world.deputy_visitator, case.reference)
    entry = AuditEntry.objects.get(action=AuditAction.DENIED)
    assert entry.flagged is True
    assert entry.user == world.deputy_visitator
    assert entry.case_id == case.pk
    assert entry.case_reference == case.reference
    assert entry.purpose == "disqualified"


def test_get_case_for_an_unknown_case_writes_no_flagged_entry(world):
    case = world.refer()
    with pytest.raises(Http404):
        get_case_for(world.other_visitator, case.reference)
    assert not AuditEntry.objects.filter(flagged=True).exists()


def test_a_disqualified_visitator_cannot_act_on_the_case(world):
    case = world.refer()
    services.disqualify(actor=world.visitator, case=case, user=world.deputy_visitator, reason="X")
    with pytest.raises(PermissionDenied):
        services.start_triage(actor=world.deputy_visitator, case=case)
    with pytest.raises(PermissionDenied):
        services.add_note(actor=world.deputy_visitator, case=case, text="Hej")


def test_disqualifying_a_partner_removes_their_grant(world):
    case = world.active(police=True)
    services.disqualify(
        actor=world.visitator, case=case, user=world.police_contact, reason="Familie"
    )
    assert not sees(world.police_contact, case)
    assert not guardian_perm(world.police_contact, "view_case", case)


def test_disqualify_writes_the_disqualification_an_event_and_an_audit_entry(world):
    case = world.refer()
    result = services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason=" Nabo "
    )
    assert result == Disqualification.objects.get(case=case, user=world.deputy_visitator)
    assert result.reason == "Nabo"
    assert result.created_by == world.visitator
    assert events(case, EventKind.DISQUALIFIED).exists()
    assert audits(case, what="disqualify", object_id=str(world.deputy_visitator.pk)).exists()


def test_disqualify_refuses_the_responsible_coordinator_of_an_active_case(world):
    case = world.active()
    with pytest.raises(TransitionError) as exc:
        services.disqualify(
            actor=world.deputy_visitator, case=case, user=world.coordinator, reason="X"
        )
    assert exc.value.code == "owner"
    assert "Skift ansvarlig" in exc.value.messages[0]
    assert not Disqualification.objects.exists()
    assert sees(world.coordinator, case)


@pytest.mark.parametrize("state", ["refer", "in_triage"])
def test_disqualifying_the_visitator_of_a_case_before_triage_passes_it_to_the_deputy(world, state):
    case = getattr(world, state)()

    services.disqualify(
        actor=world.deputy_visitator, case=case, user=world.visitator, reason="Er stalkeren"
    )

    case = Case.objects.get(pk=case.pk)
    assert case.responsible == world.deputy_visitator
    assert case.referrals.get(kind=ReferralKind.TO_VISITATOR).to_user == world.deputy_visitator
    assert is_disqualified(world.visitator, case) and not sees(world.visitator, case)
    assert events(case, EventKind.HANDOVER).exists()


def test_disqualify_allows_the_former_owner_of_a_closed_case(world):
    case = world.closed()
    services.disqualify(actor=world.visitator, case=case, user=world.coordinator, reason="X")
    assert not sees(world.coordinator, case)


def test_disqualify_requires_a_reason(world):
    case = world.refer()
    with pytest.raises(ValidationError) as exc:
        services.disqualify(
            actor=world.visitator, case=case, user=world.deputy_visitator, reason=""
        )
    assert "reason" in error_fields(exc.value)


@pytest.mark.parametrize("who", ["coordinator", "first_contact", "other_visitator"])
def test_disqualify_refuses_a_user_who_is_not_the_visitator(world, who):
    case = world.active()
    with pytest.raises(PermissionDenied):
        services.disqualify(
            actor=getattr(world, who), case=case, user=world.deputy_visitator, reason="X"
        )


# --- audit trail and constraints --------------------------------------------------------------


def test_saving_an_existing_audit_entry_is_refused(world):
    case = world.refer()
    entry = audits(case).get()
    entry.what = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    assert reload(entry).what == "case"


def test_deleting_an_audit_entry_is_refused(world):
    case = world.refer()
    entry = audits(case).get()
    with pytest.raises(PermissionError):
        entry.delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_bulk_update_and_delete_of_the_audit_trail_are_refused(world):
    case = world.refer()
    entry = audits(case).get()
    with pytest.raises(PermissionError):
        AuditEntry.objects.update(what="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(what="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    entry.what = "x"
    # bulk_update runs in its own atomic block; the savepoint keeps the test's transaction usable.
    with pytest.raises(PermissionError), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["what"])
    assert reload(entry).what == "case"


def test_every_service_writes_an_audit_entry(world):
    case = world.active(police=True)
    services.add_note(actor=world.coordinator, case=case, text="Notat")
    services.close(actor=world.coordinator, case=case, reason="resolved")
    services.reopen(actor=world.coordinator, case=case, comment="Igen")
    whats = set(audits(case).values_list("what", flat=True))
    assert {"case", "start_triage", "triage:route", "note", "close", "reopen"} <= whats


def test_the_audit_entry_records_the_request_path_and_address(world, rf):
    case = world.active()
    request = rf.post(f"/sager/{case.reference}/notat/", REMOTE_ADDR="10.1.2.3")
    services.add_note(actor=world.coordinator, case=case, text="Notat", request=request)
    entry = audits(case, what="note").get()
    assert entry.path == f"/sager/{case.reference}/notat/"
    assert entry.ip_address == "10.1.2.3"


def test_an_open_case_must_have_a_responsible_person(world):
    case = world.refer()
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(responsible=None)
    assert reload(case).responsible == world.visitator


def test_a_closed_case_may_have_no_responsible_person(world):
    case = world.closed()
    Case.objects.filter(pk=case.pk).update(responsible=None)
    assert reload(case).responsible is None


def test_a_closed_case_must_have_a_closing_reason(world):
    case = world.closed()
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(closing_reason="")


def test_a_declined_referral_must_have_a_reason(world):
    case = world.refer()
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(case=case).update(status=ReferralStatus.DECLINED)


def test_every_change_bumps_the_case_version(world):
    case = world.refer()
    versions = [reload(case).version]
    services.start_triage(actor=world.visitator, case=case)
    versions.append(reload(case).version)
    services.add_note(actor=world.visitator, case=case, text="Notat")
    versions.append(reload(case).version)
    services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Ja",
        coordinator=world.coordinator,
    )
    versions.append(reload(case).version)
    assert versions == [1, 2, 3, 4]


def test_the_cached_case_permission_ids_are_read_again_after_a_migration(world):
    """Permissions are re-created with new ids by a migration or a test's flush; grants must
    then be looked up with the new ids, or every coordinator would lose their cases."""
    from django.apps import apps
    from django.contrib.auth.models import Permission
    from django.db.models.signals import post_migrate

    from cases import access

    case = world.active()
    assert access.cases_visible_to(world.coordinator).filter(pk=case.pk).exists()
    access._PERMISSION_IDS["view_case"] = -1  # what a stale id from before a flush looks like
    assert not access.cases_visible_to(world.coordinator).filter(pk=case.pk).exists()

    post_migrate.send(sender=apps.get_app_config("cases"), app_config=apps.get_app_config("cases"))

    assert access._PERMISSION_IDS == {}
    assert access.cases_visible_to(world.coordinator).filter(pk=case.pk).exists()
    assert access._PERMISSION_IDS["view_case"] == Permission.objects.get(codename="view_case").pk
