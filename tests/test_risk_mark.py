"""The high-risk mark in the case lists: a row says "Høj risiko" when the case's latest
assessment has high-risk signs answered yes, and only to a reader who may read that
assessment (the case page's rule: full access, or a partner whose consent in force covers the
situation). One query for a whole page, however many rows."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case
from stalkingpakke.models import FilledForm, ToolKind, ToolVersion
from stalkingpakke.services import (
    high_risk_forms,
    latest_form,
    latest_form_id,
    risk_summary,
)

from .factories import AssessmentFactory

pytestmark = pytest.mark.django_db


def _indicator(*, high: bool) -> str:
    content = ToolVersion.objects.current(ToolKind.ASSESSMENT).content
    return next(r["key"] for r in content["risk_indicators"] if bool(r.get("high_risk")) == high)


@pytest.fixture
def high():
    return _indicator(high=True)


@pytest.fixture
def some():
    return _indicator(high=False)


# ---- the stalking package's part: which assessment, and is it high-risk -----------------


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
        Case.objects.annotate(latest=latest_form_id(ToolKind.ASSESSMENT)).values_list(
            "pk", "latest"
        )
    )
    for case in (tied, spread, none):
        form = latest_form(case, ToolKind.ASSESSMENT)
        assert annotated[case.pk] == (form.pk if form else None)
    assert annotated[tied.pk] == max(f.pk for f in forms)
    assert annotated[spread.pk] == newest.pk


def test_high_risk_forms_is_risk_summarys_high_for_each_form(world, high, some):
    case = world.active()
    forms = [
        AssessmentFactory(case=case, risk={high: "yes"}),
        AssessmentFactory(case=case, risk={high: "yes", some: "yes"}),
        AssessmentFactory(case=case, risk={some: "yes"}),
        AssessmentFactory(case=case, risk={high: "unknown", some: "no"}),
        AssessmentFactory(case=case),
    ]
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
    forms += [
        AssessmentFactory(case=case, risk={high: "yes"}, tool_version=later),
        AssessmentFactory(case=case, risk={high: "yes"}, tool_version=without_indicators),
    ]
    with CaptureQueriesContext(connection) as queries:
        found = high_risk_forms([form.pk for form in forms])
    assert len(queries.captured_queries) == 1
    assert found == {form.pk for form in forms if risk_summary(form)["level"] == "high"}
    assert found == {forms[0].pk, forms[1].pk}
