"""The high-risk mark in the case lists: a row says "Høj risiko" when the case's latest
assessment has high-risk signs answered yes, and only to a reader who may read that
assessment (the case page's rule: full access, or a partner whose consent in force covers the
situation). One query for a whole page, however many rows."""

import datetime
import re

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import selectors, services
from cases.models import Case, ConsentPartner, ConsentScope
from stalkingpakke.models import FilledForm, ToolKind, ToolVersion
from stalkingpakke.services import (
    latest_form,
    latest_form_field,
    risk_summary,
    save_form,
)

from .factories import AssessmentFactory

pytestmark = pytest.mark.django_db

MARK = "Høj risiko"
MY_CASES = reverse("cases:my_cases")
DASHBOARD = reverse("cases:triage_dashboard")
MUNICIPALITY_CASES = reverse("cases:municipality_cases")
PARTNER_CASES = reverse("cases:partner_cases")


def _indicator(*, high: bool) -> str:
    content = ToolVersion.objects.current(ToolKind.ASSESSMENT).content
    return next(r["key"] for r in content["risk_indicators"] if bool(r.get("high_risk")) == high)


def assess(actor, case, **risk):
    """The assessment as the case's people save it (stalkingpakke.services.save_form)."""
    return save_form(
        actor=actor,
        case=case,
        kind=ToolKind.ASSESSMENT,
        answers={f"risk:{key}": answer for key, answer in risk.items()},
    )


def row_of(html: str, case: Case) -> str:
    for row in re.findall(r"<tr[ >].*?</tr>", html, flags=re.S):
        if f">{case.reference}</a>" in row:
            return row
    raise AssertionError(f"{case.reference} is not in the list")


def marked(client, url: str, case: Case) -> bool:
    response = client.get(url)
    assert response.status_code == 200
    return MARK in row_of(response.content.decode(), case)


@pytest.fixture
def high():
    return _indicator(high=True)


@pytest.fixture
def some():
    return _indicator(high=False)


# ---- coordinator: "Mine sager" -------------------------------------------------------------


def test_the_coordinator_sees_the_mark_on_my_cases_when_the_latest_assessment_has_a_high_risk_yes(
    world, client, high, some
):
    risky, calm, unassessed = world.active(), world.active(), world.active()
    assess(world.coordinator, risky, **{high: "yes", some: "no"})
    assess(world.coordinator, calm, **{high: "no"})
    client.force_login(world.coordinator)
    html = client.get(MY_CASES).content.decode()
    assert MARK in row_of(html, risky)
    assert MARK not in row_of(html, calm)
    assert MARK not in row_of(html, unassessed)
    # Text and a DKFDS icon in a badge, not colour alone; the words are its accessible name.
    mark = re.search(r'<strong class="badge badge-error samvirke-risk-mark">(.*?)</strong>', html)
    assert mark and 'aria-hidden="true"' in mark.group(1) and mark.group(1).endswith(MARK)


def test_no_mark_when_only_an_older_assessment_had_a_high_risk_yes(world, client, high):
    case = world.active()
    older = AssessmentFactory(case=case, risk={high: "yes"})
    FilledForm.objects.filter(pk=older.pk).update(
        created_at=older.created_at - datetime.timedelta(days=30)
    )
    AssessmentFactory(case=case, risk={high: "no"})
    client.force_login(world.coordinator)
    assert not marked(client, MY_CASES, case)


def test_the_mark_goes_when_the_assessment_is_corrected_to_no_high_risk_sign(world, client, high):
    case = world.active()
    assess(world.coordinator, case, **{high: "yes"})
    client.force_login(world.coordinator)
    assert marked(client, MY_CASES, case)
    assess(world.coordinator, case, **{high: "unknown"})  # save_form edits the latest in place
    assert not marked(client, MY_CASES, case)


def test_no_mark_when_the_signs_answered_yes_are_only_some_not_high(world, client, some, high):
    case = world.active()
    assess(world.coordinator, case, **{some: "yes", high: "unknown"})
    client.force_login(world.coordinator)
    assert not marked(client, MY_CASES, case)


def test_the_mark_follows_the_tool_version_the_assessment_was_filled_against(world, client, high):
    """An indicator that a later version no longer counts as high-risk still does in an
    assessment filled against the version that did (as risk_summary reads it)."""
    case = world.active()
    assess(world.coordinator, case, **{high: "yes"})
    current = ToolVersion.objects.current(ToolKind.ASSESSMENT)
    content = {
        **current.content,
        "risk_indicators": [{**r, "high_risk": False} for r in current.content["risk_indicators"]],
    }
    ToolVersion.objects.create(kind=ToolKind.ASSESSMENT, number=current.number + 1, content=content)
    newer = world.active()
    AssessmentFactory(case=newer, risk={high: "yes"})  # against the new version
    client.force_login(world.coordinator)
    html = client.get(MY_CASES).content.decode()
    assert MARK in row_of(html, case)
    assert MARK not in row_of(html, newer)


# ---- visitator: the dashboard's queue and "Kommunens sager" --------------------------------


def test_the_visitator_sees_the_mark_on_the_dashboard_and_on_kommunens_sager(
    world, client, high, some
):
    in_triage, calm_in_triage = world.in_triage(), world.in_triage()
    assess(world.visitator, in_triage, **{high: "yes"})
    assess(world.visitator, calm_in_triage, **{some: "yes"})
    active = world.active()
    assess(world.coordinator, active, **{high: "yes"})
    client.force_login(world.visitator)
    dashboard = client.get(DASHBOARD).content.decode()
    assert MARK in row_of(dashboard, in_triage)
    assert MARK not in row_of(dashboard, calm_in_triage)
    listed = client.get(MUNICIPALITY_CASES).content.decode()
    assert MARK in row_of(listed, in_triage)
    assert MARK in row_of(listed, active)
    assert MARK not in row_of(listed, calm_in_triage)


def test_the_mark_and_the_duplicate_mark_share_the_dashboards_note_column(world, client, high):
    first = world.in_triage(cpr="010190-1234")
    world.refer(cpr="010190-1234")
    assess(world.visitator, first, **{high: "yes"})
    client.force_login(world.visitator)
    row = row_of(client.get(DASHBOARD).content.decode(), first)
    assert MARK in row and "Mulig dublet" in row


def test_a_visitator_of_another_municipality_sees_neither_the_case_nor_its_mark(
    world, client, high
):
    case = world.active()
    assess(world.coordinator, case, **{high: "yes"})
    client.force_login(world.other_visitator)
    html = client.get(MUNICIPALITY_CASES).content.decode()
    assert case.reference not in html and MARK not in html


# ---- partners: within the citizen's consent only -------------------------------------------


def _active_with_police_consents(world, scopes):
    consents = [(ConsentPartner.POLICE, scope) for scope in scopes]
    return world.triaged(consents=consents, to_police=True)


def test_a_police_contact_sees_the_mark_only_when_the_consent_covers_the_situation(
    world, client, high
):
    shared = world.active(police=True)  # every scope, the situation too
    not_shared = _active_with_police_consents(
        world, [ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG, ConsentScope.ACTION_PLAN]
    )
    for case in (shared, not_shared):
        assess(world.coordinator, case, **{high: "yes"})
    client.force_login(world.police_contact)
    html = client.get(PARTNER_CASES).content.decode()
    assert MARK in row_of(html, shared)
    assert MARK not in row_of(html, not_shared)
    client.force_login(world.coordinator)  # the same case, with full access
    assert marked(client, MY_CASES, not_shared)


def test_the_police_contact_loses_the_mark_when_the_citizen_withdraws_the_situation(
    world, client, high
):
    case = world.active(police=True)
    assess(world.coordinator, case, **{high: "yes"})
    client.force_login(world.police_contact)
    assert marked(client, PARTNER_CASES, case)
    situation = case.consents.get(
        partner=ConsentPartner.POLICE, scope=ConsentScope.SITUATION, withdrawn_at__isnull=True
    )
    services.withdraw_consent(actor=world.coordinator, consent=situation)
    assert not marked(client, PARTNER_CASES, case)  # still shared, the situation no longer
    contact = case.consents.get(
        partner=ConsentPartner.POLICE, scope=ConsentScope.CONTACT, withdrawn_at__isnull=True
    )
    services.withdraw_consent(actor=world.coordinator, consent=contact)
    assert case.reference not in client.get(PARTNER_CASES).content.decode()


def test_dsc_sees_no_mark_on_a_case_shared_without_the_situation(world, client, high):
    case = world.active(dsc=True)  # DSC: name and contact only
    assess(world.coordinator, case, **{high: "yes"})
    client.force_login(world.dsc)
    assert not marked(client, PARTNER_CASES, case)


def test_a_police_consent_does_not_open_the_assessment_to_dsc(world, client, high):
    case = world.in_triage(
        consents=[
            (ConsentPartner.POLICE, ConsentScope.CONTACT),
            (ConsentPartner.POLICE, ConsentScope.SITUATION),
            (ConsentPartner.DSC, ConsentScope.CONTACT),
        ]
    )
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.coordinator,
        to_police=True,
        to_dsc=True,
    )
    assess(world.coordinator, case, **{high: "yes"})
    client.force_login(world.police_contact)
    assert marked(client, PARTNER_CASES, case)
    client.force_login(world.dsc)
    assert not marked(client, PARTNER_CASES, case)


# ---- the list's rule is the case page's rule -----------------------------------------------


def test_the_list_finds_the_same_latest_assessment_as_the_case_page(world, high, some):
    tied, spread, none = world.active(), world.active(), world.active()
    forms = [AssessmentFactory(case=tied, risk={high: "yes"}) for _ in range(3)]
    FilledForm.objects.filter(pk__in=[f.pk for f in forms]).update(
        created_at=forms[0].created_at  # the same moment: the highest id is the latest
    )
    newest = AssessmentFactory(case=spread, risk={some: "yes"})
    AssessmentFactory(case=spread, risk={high: "yes"})
    FilledForm.objects.filter(case=spread).exclude(pk=newest.pk).update(
        created_at=newest.created_at - datetime.timedelta(hours=1)
    )
    AssessmentFactory(case=none, tool_version=ToolVersion.objects.current(ToolKind.CHECKLIST))
    annotated = dict(
        Case.objects.annotate(latest=latest_form_field(ToolKind.ASSESSMENT, "pk")).values_list(
            "pk", "latest"
        )
    )
    for case in (tied, spread, none):
        form = latest_form(case, ToolKind.ASSESSMENT)
        assert annotated[case.pk] == (form.pk if form else None)
    assert annotated[tied.pk] == max(f.pk for f in forms)
    assert annotated[spread.pk] == newest.pk


def test_saving_an_assessment_stores_whether_it_is_high_risk_and_an_edit_updates_it(
    world, high, some
):
    case = world.active()
    form = assess(world.coordinator, case, **{high: "yes"})
    assert FilledForm.objects.get(pk=form.pk).high_risk

    form = assess(world.coordinator, case, **{high: "no", some: "yes"})  # edited in place

    assert FilledForm.objects.filter(case=case).count() == 1
    assert not FilledForm.objects.get(pk=form.pk).high_risk
    assert risk_summary(form)["level"] == "some"


def test_only_an_assessment_is_ever_stored_as_high_risk(world, high):
    case = world.active()
    checklist = save_form(actor=world.coordinator, case=case, kind=ToolKind.CHECKLIST, answers={})
    assert not checklist.high_risk


def test_the_migration_marks_the_assessments_saved_before_by_the_version_they_were_filled_against(
    world, high, some
):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("stalkingpakke.migrations.0007_filledform_high_risk")
    case = world.active()
    current = ToolVersion.objects.current(ToolKind.ASSESSMENT)
    later = ToolVersion.objects.create(
        kind=ToolKind.ASSESSMENT,
        number=current.number + 1,
        content={
            **current.content,  # the same indicators, none of them high-risk any more
            "risk_indicators": [
                {**r, "high_risk": False} for r in current.content["risk_indicators"]
            ],
        },
    )
    without_indicators = ToolVersion.objects.create(
        kind=ToolKind.ASSESSMENT, number=current.number + 2, content={"sections": []}
    )
    forms = [
        AssessmentFactory(case=case, risk=risk, tool_version=current)
        for risk in (
            {high: "yes"},
            {high: "yes", some: "yes"},
            {some: "yes"},
            {high: "unknown", some: "no"},
            {},
        )
    ] + [
        AssessmentFactory(case=case, risk={high: "yes"}, tool_version=later),
        AssessmentFactory(case=case, risk={high: "yes"}, tool_version=without_indicators),
    ]
    FilledForm.objects.update(high_risk=False)  # as they were before the column

    migration.mark_high_risk(apps, None)

    marked = set(FilledForm.objects.filter(high_risk=True).values_list("pk", flat=True))
    assert marked == {form.pk for form in forms if risk_summary(form)["level"] == "high"}
    assert marked == {forms[0].pk, forms[1].pk}


# ---- cost ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 30])
def test_the_mark_is_a_column_of_the_lists_own_query(world, high, some, rows):
    for n in range(rows):
        case = world.active(police=True)
        assess(world.coordinator, case, **{(high if n % 2 else some): "yes"})
    for user, list_cases in (
        (world.coordinator, selectors.my_cases),
        (world.visitator, selectors.municipality_case_list),
        (world.police_contact, selectors.partner_cases),
    ):
        page = Paginator(list_cases(user), 25).page(1)  # counted here, as the view does
        with CaptureQueriesContext(connection) as queries:
            rows_read = list(page.object_list)
        assert len(queries.captured_queries) == 1  # the page's rows, marks included
        for case in rows_read:  # the case page's reading of the same assessment
            summary = risk_summary(latest_form(case, ToolKind.ASSESSMENT))
            assert case.high_risk == (summary["level"] == "high")
        assert any(case.high_risk for case in rows_read) == (rows > 1)


# ---- "Kun sager med høj risiko" ------------------------------------------------------------


def _references(html: str, *cases) -> list[bool]:
    return [f">{case.reference}</a>" in html for case in cases]


def test_the_coordinator_filters_my_cases_to_the_high_risk_ones(world, client, high, some):
    risky, calm, unassessed = world.active(), world.active(), world.active()
    assess(world.coordinator, risky, **{high: "yes"})
    assess(world.coordinator, calm, **{some: "yes"})
    client.force_login(world.coordinator)

    html = client.get(MY_CASES, {"high_risk": "1"}).content.decode()

    assert _references(html, risky, calm, unassessed) == [True, False, False]
    assert 'id="id_high_risk" name="high_risk" value="1" checked' in html


def test_the_visitator_filters_the_queue_and_the_municipalitys_cases_to_the_high_risk_ones(
    world, client, high, some
):
    risky_queue, calm_queue = world.in_triage(), world.in_triage()
    assess(world.visitator, risky_queue, **{high: "yes"})
    assess(world.visitator, calm_queue, **{some: "yes"})
    risky_active = world.active()
    assess(world.coordinator, risky_active, **{high: "yes"})
    client.force_login(world.visitator)

    queue = client.get(DASHBOARD, {"high_risk": "on"}).content.decode()
    every = client.get(MUNICIPALITY_CASES, {"high_risk": "on"}).content.decode()

    assert _references(queue, risky_queue, calm_queue) == [True, False]
    assert _references(every, risky_queue, calm_queue, risky_active) == [True, False, True]


def test_the_high_risk_filter_stays_when_the_list_is_searched(world, client):
    client.force_login(world.visitator)
    response = client.post(DASHBOARD, {"q": "Hansen", "high_risk": "on"})
    assert response.status_code == 303
    assert response["Location"] == f"{DASHBOARD}?high_risk=on"
    client.force_login(world.coordinator)
    response = client.post(MY_CASES, {"q": "Hansen", "high_risk": "1"})
    assert response["Location"] == f"{MY_CASES}?high_risk=1"


def test_the_filter_finds_nothing_a_partner_may_not_read(world, client, high):
    """A police contact without the situation shared reads no mark, so filtering on it can
    tell them nothing either (the filter is the mark, in SQL)."""
    case = world.active(police=True)
    assess(world.coordinator, case, **{high: "yes"})
    services.withdraw_consent(
        actor=world.coordinator,
        consent=case.consents.get(partner=ConsentPartner.POLICE, scope=ConsentScope.SITUATION),
    )
    cases = selectors.partner_cases(world.police_contact).filter(high_risk=True)
    assert not cases.exists()
