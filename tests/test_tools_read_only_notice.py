"""A tool page on a case that is closed, merged, forwarded or not yet in triage is read-only
for everyone; those who could otherwise change it are told why. The partners (police, DSC)
only ever read and get no such notice."""

import pytest
from django.urls import reverse

from cases import services

pytestmark = pytest.mark.django_db

CLOSED = "Sagen er lukket, så værktøjerne kan kun læses."
MERGED = "Sagen er lagt sammen med en anden sag, så værktøjerne kan kun læses her."
FORWARDED = "Sagen er videresendt til en anden kommune, så værktøjerne kan kun læses."
REFERRED = "Værktøjerne kan kun læses, indtil visitationen af sagen er påbegyndt."
ALL = (CLOSED, MERGED, FORWARDED, REFERRED)


def _urls(case):
    ref = case.reference
    return [
        reverse("stalkingpakke:incident_log", args=[ref]),
        reverse("stalkingpakke:action_plan", args=[ref]),
        reverse("stalkingpakke:tool_form", args=[ref, "checklist"]),
        reverse("stalkingpakke:tool_form", args=[ref, "assessment"]),
    ]


def _pages(client, user, case):
    client.force_login(user)
    for url in _urls(case):
        response = client.get(url)
        assert response.status_code == 200, url
        yield url, response.content.decode()


def _notices(page):
    return [text for text in ALL if text in page]


def test_a_closed_case_says_why_its_tools_are_read_only(client, world):
    case = services.close(actor=world.coordinator, case=world.active(), reason="resolved")
    for who in (world.coordinator, world.visitator):
        for url, page in _pages(client, who, case):
            assert _notices(page) == [CLOSED], url
            assert page.count(CLOSED) == 1


def test_an_open_case_says_nothing_of_the_sort(client, world):
    case = world.active(police=True)
    for who in (world.coordinator, world.visitator, world.police_contact):
        for url, page in _pages(client, who, case):
            assert _notices(page) == [], url


def test_a_merged_case(client, world):
    into = world.in_triage()
    case = world.refer()
    services.join_duplicate(actor=world.visitator, case=case, into=into)
    for url, page in _pages(client, world.visitator, case):
        assert _notices(page) == [MERGED], url


def test_a_forwarded_case(client, world):
    case = world.refer()
    services.forward_to_municipality(
        actor=world.visitator,
        case=case,
        municipality=world.other_municipality,
        comment="Borgeren bor i Andenkommune",
    )
    for url, page in _pages(client, world.visitator, case):
        assert _notices(page) == [FORWARDED], url


def test_a_case_waiting_for_triage(client, world):
    case = world.refer()
    for url, page in _pages(client, world.visitator, case):
        assert _notices(page) == [REFERRED], url
    services.start_triage(actor=world.visitator, case=case)
    for url, page in _pages(client, world.visitator, case):
        assert _notices(page) == [], url


def test_the_action_plans_advice_on_writing_it_is_for_those_who_write_it(client, world):
    from cases.models import ConsentScope

    from .test_stalkingpakke_views import _routed_to_police

    case = _routed_to_police(world, [ConsentScope.CONTACT, ConsentScope.ACTION_PLAN])
    advice = "Start med borgerens egne mål"
    url = reverse("stalkingpakke:action_plan", args=[case.reference])
    client.force_login(world.coordinator)
    assert advice in client.get(url).content.decode()
    client.force_login(world.police_contact)
    assert advice not in client.get(url).content.decode()
