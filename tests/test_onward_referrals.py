"""The coordinator's onward referrals: the citizen referred to a department of the municipality
(a cooperation.Unit: job centre, family counselling, housing ...) or to an external actor (a
crisis centre, victim counselling, a lawyer). The recipients do not use Samvirke, so the case's
people record the referral and what came of it (services.refer_onward, record_onward_outcome).

- The services: one audit entry, one timeline event naming the recipient only, the case's
  version bumped; refused on a case that is not active, for anyone without full access, and
  for a department of another municipality; the answers follow the transitions and nothing
  else; respond_to_referral, which is for a recipient user, refuses them.
- The database: a referral has exactly the recipient its kind asks for (CheckConstraint).
- The pages: "Henvis videre" and "Registrer svar" on the case page of an active case, forms
  that keep what was typed and say in Danish what is wrong, on the right field.
- Others: the follow-up group's route counts do not count them; the coordinator's list of
  referrals names the department or actor.

What police and DSC see of them is in test_partner_timeline.py; the permission matrix rows in
test_permission_matrix.py (walked by test_audit_walk.py); the retention rule in
test_retention.py.
"""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from cases import selectors, services, statistics
from cases.access import Action, may
from cases.models import (
    AuditAction,
    AuditEntry,
    Case,
    CaseEvent,
    CaseState,
    EventKind,
    Referral,
    ReferralKind,
    ReferralStatus,
)
from cases.services import TransitionError
from cooperation.models import Role

from .factories import UnitFactory, user_with_role

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

REASON = "Hjælp til en sikker vej til og fra arbejdet"
EXTERNAL = "Offerrådgivningen i Esbjerg"
SENT, ACCEPTED, DECLINED, COMPLETED = (
    ReferralStatus.SENT,
    ReferralStatus.ACCEPTED,
    ReferralStatus.DECLINED,
    ReferralStatus.COMPLETED,
)


@pytest.fixture
def jobcentre(world):
    return UnitFactory(organisation=world.municipality, name="Jobcentret")


def _last_audit_pk() -> int:
    return AuditEntry.objects.aggregate(m=Max("pk"))["m"] or 0


def _to_unit(world, case, unit, actor=None, reason=REASON):
    return services.refer_onward(
        actor=actor or world.coordinator, case=case, unit=unit, reason=reason
    )


def _to_external(world, case, actor=None, external=EXTERNAL, reason=REASON):
    return services.refer_onward(
        actor=actor or world.coordinator, case=case, external=external, reason=reason
    )


def _answer(world, referral, status, actor=None, reason=""):
    return services.record_onward_outcome(
        actor=actor or world.coordinator, referral=referral, status=status, reason=reason
    )


# --- refer_onward ----------------------------------------------------------------------------


def test_the_coordinator_refers_the_citizen_to_a_department_of_the_municipality(world, jobcentre):
    case = world.active()
    version = case.version
    before = _last_audit_pk()

    referral = _to_unit(world, case, jobcentre, reason=f"  {REASON}  ")

    assert (referral.kind, referral.status, referral.to_unit, referral.to_external) == (
        ReferralKind.TO_UNIT,
        SENT,
        jobcentre,
        "",
    )
    assert referral.to_organisation == world.municipality
    assert referral.from_user == world.coordinator and referral.to_user is None
    assert referral.reason == REASON
    assert Case.objects.get(pk=case.pk).version == version + 1
    entries = list(AuditEntry.objects.filter(pk__gt=before))
    assert [(e.action, e.what, e.object_id, e.user_id, e.case_id) for e in entries] == [
        (AuditAction.CHANGE, "refer_onward", str(referral.pk), world.coordinator.pk, case.pk)
    ]
    event = case.events.get(kind=EventKind.ONWARD_REFERRED)
    assert (event.summary, event.actor) == ("Jobcentret", world.coordinator)


def test_the_coordinator_refers_the_citizen_to_an_external_actor(world):
    case = world.active()

    referral = _to_external(world, case, external=f" {EXTERNAL} ")

    assert (referral.kind, referral.to_external, referral.to_unit) == (
        ReferralKind.TO_EXTERNAL,
        EXTERNAL,
        None,
    )
    assert referral.to_organisation == world.municipality
    assert referral.recipient_name == EXTERNAL
    assert case.events.get(kind=EventKind.ONWARD_REFERRED).summary == EXTERNAL


def test_the_timeline_event_names_the_recipient_but_not_what_was_asked(world, jobcentre):
    case = world.active()
    _to_unit(world, case, jobcentre, reason="Borgeren har brug for et nyt sted at bo")
    summaries = " ".join(case.events.values_list("summary", flat=True))
    assert "nyt sted at bo" not in summaries


def test_the_visitator_refers_onward_on_a_case_without_a_coordinator(world, jobcentre):
    case = world.active(dsc=True, coordinator=False)
    assert may(world.visitator, Action.REFER_ONWARD, case)
    assert _to_unit(world, case, jobcentre, actor=world.visitator).from_user == world.visitator


@pytest.mark.parametrize(
    ("unit", "external"),
    [(False, ""), (False, "   "), (True, EXTERNAL)],
    ids=["neither", "blank-name", "both"],
)
def test_exactly_one_recipient_is_required(world, jobcentre, unit, external):
    case = world.active()
    with pytest.raises(ValidationError) as refused:
        services.refer_onward(
            actor=world.coordinator,
            case=case,
            unit=jobcentre if unit else None,
            external=external,
            reason=REASON,
        )
    assert refused.value.code == "one_recipient"
    assert "ikke begge" in refused.value.messages[0]
    assert not Referral.objects.filter(kind__in=[ReferralKind.TO_UNIT, ReferralKind.TO_EXTERNAL])


def test_what_is_asked_for_is_required(world, jobcentre):
    case = world.active()
    with pytest.raises(ValidationError) as refused:
        _to_unit(world, case, jobcentre, reason="  ")
    assert set(refused.value.error_dict) == {"reason"}
    assert refused.value.error_dict["reason"][0].messages == ["Skriv, hvad I beder om hjælp til."]
    assert not case.events.filter(kind=EventKind.ONWARD_REFERRED).exists()


def test_a_department_of_another_municipality_is_refused(world):
    elsewhere = UnitFactory(organisation=world.other_municipality, name="Jobcentret")
    case = world.active()
    with pytest.raises(ValidationError) as refused:
        _to_unit(world, case, elsewhere)
    assert set(refused.value.error_dict) == {"unit"}
    assert "hører ikke til sagens kommune" in refused.value.error_dict["unit"][0].messages[0]


def test_an_external_name_longer_than_the_field_is_refused_on_its_field(world):
    with pytest.raises(ValidationError) as refused:
        _to_external(world, world.active(), external="x" * 201)
    assert set(refused.value.error_dict) == {"external"}


@pytest.mark.parametrize("state", ["referred", "in_triage", "closed"])
def test_a_case_that_is_not_active_is_not_referred_onward(world, jobcentre, state):
    case = {"referred": world.refer, "in_triage": world.in_triage, "closed": world.closed}[state]()
    actor = world.coordinator if state == "closed" else world.visitator
    with pytest.raises(TransitionError) as refused:
        _to_unit(world, case, jobcentre, actor=actor)
    assert refused.value.code == "illegal_transition"
    assert "tillader ikke dette skridt" in refused.value.messages[0]
    assert not case.referrals.filter(kind=ReferralKind.TO_UNIT).exists()


def test_an_anonymised_case_is_not_referred_onward(world, jobcentre):
    case = world.closed()
    Case.objects.filter(pk=case.pk).update(anonymised_at=timezone.now())
    case.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        _to_unit(world, case, jobcentre)
    assert refused.value.code == "anonymised"


WRONG_ACTORS = [
    "first_contact",
    "police_contact",
    "dsc",
    "follow_up",
    "other_visitator",
    "outsider_coordinator",
    "admin",
]


@pytest.mark.parametrize("who", WRONG_ACTORS)
def test_only_the_cases_people_with_full_access_refer_onward(world, jobcentre, who):
    """Police and DSC read this case (it is routed to both); the others do not reach it."""
    case = world.active(police=True, dsc=True)
    with pytest.raises(PermissionDenied):
        _to_unit(world, case, jobcentre, actor=getattr(world, who))
    assert not case.referrals.filter(kind=ReferralKind.TO_UNIT).exists()


def _second_coordinator_with_full_access(world, case):
    colleague = user_with_role(Role.COORDINATOR, world.municipality, username="colleague")
    for codename in ("view_case", "change_case"):
        assign_perm(f"cases.{codename}", colleague, case)
    return colleague


def test_a_disqualified_coordinator_may_not_refer_onward(world, jobcentre):
    case = world.active()
    colleague = _second_coordinator_with_full_access(world, case)
    assert may(colleague, Action.REFER_ONWARD, case)  # the grant alone would allow it
    services.disqualify(actor=world.visitator, case=case, user=colleague, reason="Kender borgeren")

    with pytest.raises(PermissionDenied):
        _to_unit(world, Case.objects.get(pk=case.pk), jobcentre, actor=colleague)


def test_a_disqualified_visitator_may_not_refer_onward(world, jobcentre):
    case = world.active()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Er i familie"
    )
    with pytest.raises(PermissionDenied):
        _to_unit(world, Case.objects.get(pk=case.pk), jobcentre, actor=world.deputy_visitator)


# --- record_onward_outcome -------------------------------------------------------------------


def test_the_coordinator_records_that_the_department_took_the_referral_on(world, jobcentre):
    case = world.active()
    referral = _to_unit(world, case, jobcentre)
    before = _last_audit_pk()

    answered = _answer(world, referral, ACCEPTED)

    assert (answered.status, answered.responded_by, answered.decline_reason) == (
        ACCEPTED,
        world.coordinator,
        "",
    )
    assert answered.responded_at is not None
    entries = list(AuditEntry.objects.filter(pk__gt=before))
    assert [(e.action, e.what, e.object_id) for e in entries] == [
        (AuditAction.CHANGE, "onward_outcome:accepted", str(referral.pk))
    ]
    event = case.events.get(kind=EventKind.ONWARD_OUTCOME)
    assert event.summary == "Jobcentret: Modtaget"


def test_an_accepted_referral_is_completed_when_the_help_is_given(world):
    referral = _to_external(world, world.active())
    _answer(world, referral, ACCEPTED)
    assert _answer(world, referral, COMPLETED).status == COMPLETED


def test_a_sent_referral_may_be_completed_without_an_answer_first(world):
    referral = _to_external(world, world.active())
    assert _answer(world, referral, COMPLETED).status == COMPLETED


def test_a_decline_is_recorded_with_the_reason_given_which_stays_off_the_timeline(world):
    case = world.active()
    referral = _to_external(world, case)
    with pytest.raises(ValidationError) as refused:
        _answer(world, referral, DECLINED, reason=" ")
    assert set(refused.value.error_dict) == {"reason"}
    assert Referral.objects.get(pk=referral.pk).status == SENT

    declined = _answer(world, referral, DECLINED, reason="  Ingen ledige pladser før marts ")

    assert (declined.status, declined.decline_reason) == (
        DECLINED,
        "Ingen ledige pladser før marts",
    )
    summary = case.events.get(kind=EventKind.ONWARD_OUTCOME).summary
    assert summary == f"{EXTERNAL}: Afvist"


ILLEGAL = [
    ([], SENT),
    ([ACCEPTED], ACCEPTED),
    ([ACCEPTED], DECLINED),
    ([ACCEPTED], SENT),
    ([DECLINED], ACCEPTED),
    ([DECLINED], COMPLETED),
    ([COMPLETED], ACCEPTED),
    ([COMPLETED], DECLINED),
    ([], "on_hold"),
]


@pytest.mark.parametrize(
    ("path", "status"), ILLEGAL, ids=[f"{'-'.join(p) or 'sent'}-to-{s}" for p, s in ILLEGAL]
)
def test_an_illegal_transition_is_refused_and_changes_nothing(world, path, status):
    case = world.active()
    referral = _to_external(world, case)
    for step in path:
        _answer(world, referral, step, reason="Ingen plads")
    stored = Referral.objects.get(pk=referral.pk)
    events, before = case.events.count(), _last_audit_pk()

    with pytest.raises(TransitionError) as refused:
        _answer(world, referral, status, reason="Ingen plads")

    assert refused.value.code == "illegal_transition"
    assert "kan ikke få status" in refused.value.messages[0]
    after = Referral.objects.get(pk=referral.pk)
    assert (after.status, after.responded_at) == (stored.status, stored.responded_at)
    assert case.events.count() == events
    assert not AuditEntry.objects.filter(pk__gt=before).exists()


def test_the_outcome_of_a_referral_to_the_police_is_not_recorded_here(world):
    case = world.active(police=True)
    police = case.referrals.get(kind=ReferralKind.TO_POLICE)
    with pytest.raises(ValidationError) as refused:
        _answer(world, police, ACCEPTED)
    assert refused.value.code == "not_onward"
    assert Referral.objects.get(pk=police.pk).status == SENT


@pytest.mark.parametrize("who", WRONG_ACTORS)
def test_only_the_cases_people_with_full_access_record_an_answer(world, who):
    case = world.active(police=True, dsc=True)
    referral = _to_external(world, case)
    with pytest.raises(PermissionDenied):
        _answer(world, referral, ACCEPTED, actor=getattr(world, who))
    assert Referral.objects.get(pk=referral.pk).status == SENT


def test_a_disqualified_coordinator_may_not_record_an_answer(world):
    case = world.active()
    referral = _to_external(world, case)
    colleague = _second_coordinator_with_full_access(world, case)
    services.disqualify(actor=world.visitator, case=case, user=colleague, reason="Kender borgeren")
    with pytest.raises(PermissionDenied):
        _answer(world, Referral.objects.get(pk=referral.pk), ACCEPTED, actor=colleague)


def test_an_answer_may_be_recorded_while_the_case_is_back_in_triage(world):
    """The coordinator referred onward before answering the case's own referral, then
    declined the case: it is back with the visitator, who hears from the job centre."""
    case = world.active()
    referral = _to_external(world, case)
    mine = case.referrals.get(kind=ReferralKind.TO_COORDINATOR)
    services.respond_to_referral(
        actor=world.coordinator, referral=mine, accept=False, reason="Har ikke kapacitet"
    )
    assert Case.objects.get(pk=case.pk).state == CaseState.IN_TRIAGE

    assert _answer(world, referral, ACCEPTED, actor=world.visitator).status == ACCEPTED


def test_no_answer_is_recorded_on_a_closed_case_and_closing_completes_the_open_ones(world):
    case = world.active()
    open_one = _to_external(world, case)
    declined = _to_external(world, case, external="Krisecentret")
    _answer(world, declined, DECLINED, reason="Fuldt")

    case = services.close(actor=world.coordinator, case=case, reason="resolved")

    assert Referral.objects.get(pk=open_one.pk).status == COMPLETED
    assert Referral.objects.get(pk=declined.pk).status == DECLINED
    with pytest.raises(TransitionError):
        _answer(world, open_one, COMPLETED)


def test_respond_to_referral_refuses_an_onward_referral(world, jobcentre):
    """It is for a recipient who uses Samvirke; an onward referral has none."""
    case = world.active()
    referral = _to_unit(world, case, jobcentre)
    for actor in (world.coordinator, world.visitator):
        with pytest.raises(PermissionDenied):
            services.respond_to_referral(actor=actor, referral=referral, accept=True)
    assert Referral.objects.get(pk=referral.pk).status == SENT


# --- the database's rules --------------------------------------------------------------------


def _bad_recipients(world, unit):
    return {
        "unit-kind-without-unit": {"kind": ReferralKind.TO_UNIT, "to_unit": None},
        "unit-kind-with-a-name-too": {"kind": ReferralKind.TO_UNIT, "to_external": "Krisecentret"},
        "unit-kind-with-a-user": {"kind": ReferralKind.TO_UNIT, "to_user": world.coordinator},
        "external-kind-without-name": {"kind": ReferralKind.TO_EXTERNAL, "to_unit": None},
        "external-kind-with-a-unit-too": {
            "kind": ReferralKind.TO_EXTERNAL,
            "to_external": EXTERNAL,
        },
        "police-with-a-unit": {"kind": ReferralKind.TO_POLICE},
        "police-with-a-name": {
            "kind": ReferralKind.TO_POLICE,
            "to_unit": None,
            "to_external": EXTERNAL,
        },
    }


BAD_RECIPIENTS = [
    "unit-kind-without-unit",
    "unit-kind-with-a-name-too",
    "unit-kind-with-a-user",
    "external-kind-without-name",
    "external-kind-with-a-unit-too",
    "police-with-a-unit",
    "police-with-a-name",
]


@pytest.mark.parametrize("bad", BAD_RECIPIENTS)
def test_the_database_refuses_a_referral_without_the_recipient_its_kind_asks_for(
    world, jobcentre, bad
):
    referral = _to_unit(world, world.active(), jobcentre)
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(**_bad_recipients(world, jobcentre)[bad])


def test_the_database_accepts_each_kind_with_its_own_recipient(world, jobcentre):
    case = world.active(police=True)
    _to_unit(world, case, jobcentre)
    _to_external(world, case)
    assert set(case.referrals.values_list("kind", flat=True)) == {
        ReferralKind.TO_VISITATOR,
        ReferralKind.TO_COORDINATOR,
        ReferralKind.TO_POLICE,
        ReferralKind.TO_UNIT,
        ReferralKind.TO_EXTERNAL,
    }


# --- statistics and lists --------------------------------------------------------------------


def test_onward_referrals_are_counted_apart_from_the_follow_up_groups_other_routes(
    world, jobcentre
):
    cases = [world.active(police=True) for _ in range(6)]

    def counted():
        figures = statistics.figures([world.municipality.pk])
        month = figures.months[0]
        routes = {name: getattr(month, name).value for name in statistics.ROUTES}
        return routes, figures.received, figures.sources

    before = counted()
    for case in cases:
        _to_unit(world, case, jobcentre)
        _to_external(world, case)
    after = counted()

    onward = ("to_unit", "to_external")
    assert {k: v for k, v in after[0].items() if k not in onward} == {
        k: v for k, v in before[0].items() if k not in onward
    }
    assert after[1:] == before[1:]
    assert [before[0][k] for k in onward] == [0, 0] and [after[0][k] for k in onward] == [6, 6]
    assert before[0]["to_coordinator"] == 6 and before[0]["to_police"] == 6


def test_the_coordinators_list_of_referrals_names_the_department_or_actor(world, jobcentre, client):
    case = world.active()
    _to_unit(world, case, jobcentre)
    _to_external(world, case)
    made = {r.kind: r.recipient_name for r in selectors.referrals_made_by(world.coordinator)}
    assert made == {ReferralKind.TO_UNIT: "Jobcentret", ReferralKind.TO_EXTERNAL: EXTERNAL}
    client.force_login(world.coordinator)
    html = client.get(reverse("cases:my_referrals")).content.decode()
    assert "Jobcentret" in html and EXTERNAL in html


def test_the_onward_events_are_on_the_case_with_their_kinds_in_danish(world, jobcentre):
    case = world.active()
    _answer(world, _to_unit(world, case, jobcentre), COMPLETED)
    labels = [
        e.get_kind_display()
        for e in CaseEvent.objects.filter(
            case=case, kind__in=[EventKind.ONWARD_REFERRED, EventKind.ONWARD_OUTCOME]
        ).order_by("pk")
    ]
    assert labels == ["Henvist til afdeling eller ekstern aktør", "Svar på henvisning registreret"]


# --- the pages -------------------------------------------------------------------------------


def _refer_url(case):
    return reverse("cases:refer_onward", args=[case.reference])


def _outcome_url(case, referral):
    return reverse("cases:onward_outcome", args=[case.reference, referral.pk])


def test_the_case_page_offers_henvis_videre_on_an_active_case_only(client, world):
    active, closed = world.active(), world.closed()
    client.force_login(world.coordinator)
    assert _refer_url(active) in client.get(active.get_absolute_url()).content.decode()
    html = client.get(closed.get_absolute_url()).content.decode()
    assert _refer_url(closed) not in html and "Henvis videre" not in html


def test_the_form_lists_the_municipalitys_departments_only(client, world, jobcentre):
    UnitFactory(organisation=world.other_municipality, name="Andenkommunes Boligkontor")
    case = world.active()
    client.force_login(world.coordinator)
    response = client.get(_refer_url(case))
    assert response.status_code == 200
    assert list(response.context["form"].fields["unit"].queryset) == [jobcentre]
    html = response.content.decode()
    assert "Jobcentret" in html and "Boligkontor" not in html
    assert 'type="radio"' in html and "Intern afdeling" in html and "Ekstern aktør" in html
    assert "frivilligt" not in html  # one of the two is required, whichever is chosen
    assert AuditEntry.objects.filter(
        case=case, user=world.coordinator, what="case_form:refer_onward", action=AuditAction.VIEW
    ).exists()


def test_the_coordinator_refers_to_a_department_through_the_form(client, world, jobcentre):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(
        _refer_url(case),
        # The name typed in the other field before the choice was changed is not sent on.
        {"recipient": "unit", "unit": jobcentre.pk, "external": "Glemt", "reason": REASON},
        follow=True,
    )
    assert response.redirect_chain == [(case.get_absolute_url(), 302)]
    referral = case.referrals.get(kind=ReferralKind.TO_UNIT)
    assert (referral.to_unit, referral.to_external, referral.reason) == (jobcentre, "", REASON)
    html = response.content.decode()
    assert "Henvisningen til Jobcentret er registreret." in html
    assert "Mette" not in str(list(response.context["messages"]))  # the recipient, not the person


def test_the_coordinator_refers_to_an_external_actor_through_the_form(client, world, jobcentre):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(
        _refer_url(case),
        {"recipient": "external", "unit": jobcentre.pk, "external": EXTERNAL, "reason": REASON},
    )
    assert response.status_code == 302
    referral = case.referrals.get(kind=ReferralKind.TO_EXTERNAL)
    assert (referral.to_unit, referral.to_external) == (None, EXTERNAL)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": REASON}, "recipient", "Vælg, om I henviser til en afdeling"),
        ({"recipient": "unit", "reason": REASON}, "unit", "Vælg afdelingen."),
        ({"recipient": "unit", "unit": "999999", "reason": REASON}, "unit", "på listen"),
        ({"recipient": "external", "external": "  ", "reason": REASON}, "external", "Skriv navnet"),
        ({"recipient": "external", "external": "x" * 201, "reason": REASON}, "external", "200"),
        ({"recipient": "external", "external": EXTERNAL}, "reason", "Skriv, hvad I beder om"),
    ],
    ids=["no-choice", "no-unit", "unknown-unit", "no-name", "long-name", "no-reason"],
)
def test_a_form_with_an_error_keeps_what_was_typed_and_names_the_field_in_danish(
    client, world, jobcentre, data, field, message
):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(_refer_url(case), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert 'id="error-summary"' in html and f'href="#id_{field}' in html
    for value in data.values():
        if value.strip() and value != "999999" and len(value) < 201:
            assert value in html  # what was typed or chosen is still there
    assert not case.referrals.filter(kind__in=[ReferralKind.TO_UNIT, ReferralKind.TO_EXTERNAL])


def test_a_department_from_another_municipality_sent_by_hand_is_not_on_the_list(client, world):
    elsewhere = UnitFactory(organisation=world.other_municipality, name="Jobcentret")
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(
        _refer_url(case), {"recipient": "unit", "unit": elsewhere.pk, "reason": REASON}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["unit"]
    assert not case.referrals.filter(kind=ReferralKind.TO_UNIT).exists()


def test_the_case_page_lists_the_onward_referrals_with_status_in_words_and_an_answer_link(
    client, world, jobcentre
):
    case = world.active()
    open_one = _to_unit(world, case, jobcentre)
    declined = _to_external(world, case)
    _answer(world, declined, DECLINED, reason="Ingen ledige tider")
    client.force_login(world.coordinator)

    response = client.get(case.get_absolute_url())

    assert [r.pk for r in response.context["onward_referrals"]] == [declined.pk, open_one.pk]
    assert {r.kind for r in response.context["referrals"]} == {"to_visitator", "to_coordinator"}
    html = response.content.decode()
    section = html[html.index('id="onward-heading"') : html.index('id="timeline-heading"')]
    assert "Jobcentret" in section and EXTERNAL in section and REASON in section
    assert "Sendt" in section and "Afvist" in section and "Ingen ledige tider" in section
    assert _outcome_url(case, open_one) in section
    assert _outcome_url(case, declined) not in section  # answered: nothing more to record
    assert "Registrer svar" in section


def test_the_outcome_form_offers_only_the_answers_allowed_from_the_status_now(client, world):
    case = world.active()
    referral = _to_external(world, case)
    client.force_login(world.coordinator)

    sent = client.get(_outcome_url(case, referral))
    assert [v for v, _label in sent.context["form"].fields["status"].choices] == [
        ACCEPTED,
        DECLINED,
        COMPLETED,
    ]
    assert EXTERNAL in sent.content.decode()

    _answer(world, referral, ACCEPTED)
    accepted = client.get(_outcome_url(case, referral))
    assert [v for v, _label in accepted.context["form"].fields["status"].choices] == [COMPLETED]
    assert (
        AuditEntry.objects.filter(
            case=case, what="case_form:onward_outcome", object_id=str(referral.pk)
        ).count()
        == 2
    )


def test_the_coordinator_records_an_answer_through_the_form(client, world, jobcentre):
    case = world.active()
    referral = _to_unit(world, case, jobcentre)
    client.force_login(world.coordinator)
    response = client.post(_outcome_url(case, referral), {"status": ACCEPTED}, follow=True)
    assert response.redirect_chain == [(case.get_absolute_url(), 302)]
    assert Referral.objects.get(pk=referral.pk).status == ACCEPTED
    assert "Svaret fra Jobcentret er registreret: Modtaget." in response.content.decode()


def test_a_decline_without_a_reason_comes_back_with_the_choice_kept_and_the_error_on_reason(
    client, world
):
    case = world.active()
    referral = _to_external(world, case)
    client.force_login(world.coordinator)
    response = client.post(_outcome_url(case, referral), {"status": DECLINED, "reason": " "})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["reason"]
    html = response.content.decode()
    assert 'value="declined" class="form-radio" id="id_status_1" required checked' in html
    assert "frivilligt" not in html  # required with a decline, so not marked optional
    assert 'href="#id_reason"' in html
    assert Referral.objects.get(pk=referral.pk).status == SENT


def test_an_answered_referral_sends_the_user_back_to_the_case_saying_so(client, world):
    case = world.active()
    referral = _to_external(world, case)
    _answer(world, referral, COMPLETED)
    client.force_login(world.coordinator)
    response = client.get(_outcome_url(case, referral), follow=True)
    assert response.redirect_chain == [(case.get_absolute_url(), 302)]
    assert "har allerede status »Afsluttet«" in response.content.decode()


def test_only_onward_referrals_of_this_case_are_found(client, world, jobcentre):
    case, other = world.active(police=True), world.active()
    theirs = _to_unit(world, other, jobcentre)
    police = case.referrals.get(kind=ReferralKind.TO_POLICE)
    client.force_login(world.coordinator)
    for referral in (theirs, police):
        assert client.get(_outcome_url(case, referral)).status_code == 404
        assert client.post(_outcome_url(case, referral), {"status": ACCEPTED}).status_code == 404
    assert Referral.objects.get(pk=theirs.pk).status == SENT


def test_the_case_page_asks_no_extra_query_for_the_onward_referrals_however_many(
    client, world, jobcentre
):
    """They come with the referrals the page reads anyway (the department joined)."""
    case = world.active()
    client.force_login(world.coordinator)
    url = case.get_absolute_url()
    assert client.get(url).status_code == 200  # warm up the session
    with CaptureQueriesContext(transaction.get_connection()) as none:
        client.get(url)

    for i in range(15):
        _to_unit(world, case, jobcentre)
        _to_external(world, case, external=f"Aktør {i}")
    with CaptureQueriesContext(transaction.get_connection()) as many:
        response = client.get(url)

    assert len(many.captured_queries) == len(none.captured_queries)
    assert len(response.context["onward_referrals"]) == 30


# --- the citizen's copy ----------------------------------------------------------------------


def test_the_citizens_copy_names_where_the_citizen_was_referred_onward(world, jobcentre):
    from django.template.loader import render_to_string

    from cases import subject_access

    case = world.active()
    _to_unit(world, case, jobcentre)
    _to_external(world, case)
    case = Case.objects.select_related("municipality").get(pk=case.pk)

    data = subject_access.collect(case)

    onward = [r for r in data["referrals"] if r["kind"] in ("to_unit", "to_external")]
    assert [(r["to"]["department"], r["to"]["external"], r["reason"]) for r in onward] == [
        ("Jobcentret", "", REASON),
        ("", EXTERNAL, REASON),
    ]
    # Triage's routes are where the visitator sent the case, not the referrals onward.
    assert [route["kind"] for route in data["triage"]["routes"]] == ["to_coordinator"]
    html = render_to_string("subject_access/pdf.html", {"data": data, "x": data["explanations"]})
    assert "Til: Jobcentret, Testkommune." in html and f"Til: {EXTERNAL}." in html
