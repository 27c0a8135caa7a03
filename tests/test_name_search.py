"""Finding a person by name in the case lists (cases.text_search): every word typed, in any
order and case, Danish letters included, on SQLite as on PostgreSQL."""

import pytest
from django.urls import reverse

from cases import selectors

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "words",
    ["Jonas Kjær", "kjær jonas", "  Jonas   Kjær ", "ÆRØ", "ærø", "KJÆR", "jonas ærø kjær"],
)
def test_the_visitator_finds_a_name_by_its_words_in_any_case(world, words):
    case = world.refer(full_name="Jonas Ærø Kjær")
    other = world.refer(full_name="Jonas Hansen")
    found = list(selectors.municipality_case_list(world.visitator, search=words))
    assert case in found and other not in found


def test_a_word_that_is_not_in_the_name_finds_nothing(world):
    world.refer(full_name="Jonas Ærø Kjær")
    assert not selectors.municipality_case_list(world.visitator, search="Jonas Østergaard")


def test_the_words_of_a_search_are_not_patterns(world):
    world.refer(full_name="Jonas Kjær")
    assert not selectors.municipality_case_list(world.visitator, search="J%s")
    assert not selectors.municipality_case_list(world.visitator, search="_onas")


def test_the_search_box_on_the_page_finds_the_person(world, client):
    case = world.refer(full_name="Mette Ærø Sørensen")
    client.force_login(world.visitator)
    url = reverse("cases:triage_dashboard")
    client.post(url, {"q": "SØRENSEN mette"})
    assert case.reference in client.get(url).content.decode()


def test_the_police_find_a_shared_name_by_its_words_and_never_an_unshared_one(world):
    from cases import services
    from cases.models import ConsentPartner, ConsentScope

    shared = world.active(police=True, full_name="Jonas Ærø Kjær")
    withdrawn = world.active(police=True, full_name="Jonas Bo Kjær")
    services.withdraw_consent(
        actor=world.coordinator,
        consent=withdrawn.consents.get(partner=ConsentPartner.POLICE, scope=ConsentScope.CONTACT),
    )
    found = list(selectors.partner_cases(world.police_contact, search="kjær jonas"))
    assert shared in found and withdrawn not in found
