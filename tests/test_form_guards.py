"""Forms that must not lose or contradict what the user chose."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import services
from cases.models import CaseState

pytestmark = pytest.mark.django_db


def test_triage_refuses_not_stalking_with_a_route(world):
    case = world.in_triage()
    with pytest.raises(ValidationError) as refused:
        services.triage(
            actor=world.visitator,
            case=case,
            is_stalking=False,
            reasoning="Ikke stalking",
            coordinator=world.coordinator,
        )
    assert refused.value.code == "route_not_stalking"
    case.refresh_from_db()
    assert case.state == CaseState.IN_TRIAGE


def test_the_triage_page_says_why_not_stalking_and_a_route_cannot_go_together(world, client):
    case = world.in_triage()
    client.force_login(world.visitator)
    response = client.post(
        reverse("cases:triage", args=[case.reference]),
        {
            "version": case.version,
            "is_stalking": "no",
            "reasoning": "Enkeltstående konflikt mellem naboer.",
            "coordinator": world.coordinator.pk,
            "to_police": "on",
        },
    )
    assert response.status_code == 200
    assert "ikke er stalking, og samtidig valgt" in response.content.decode()
    # Nothing the visitator typed is lost.
    assert "Enkeltstående konflikt mellem naboer." in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.IN_TRIAGE


def test_closing_without_choosing_a_reason_asks_for_one(world, client):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("cases:close", args=[case.reference])
    form = client.get(url).content.decode()
    assert '<option value="" selected>Vælg årsag</option>' in form
    response = client.post(url, {"version": case.version, "reason": "", "comment": "x"})
    assert response.status_code == 200
    assert "Vælg, hvorfor sagen lukkes." in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.ACTIVE


def test_a_tick_all_that_apply_question_is_drawn_as_checkboxes(world, client):
    import re

    case = world.active()
    client.force_login(world.coordinator)
    page = client.get(
        reverse("stalkingpakke:tool_form", args=[case.reference, "assessment"])
    ).content.decode()
    checkboxes = re.findall(r'<input type="checkbox"[^>]*>', page)
    assert checkboxes
    assert all('class="form-checkbox"' in box for box in checkboxes), checkboxes
