"""A referrer disqualified on the case reads their referral in "Mine henvisninger" as any
referral reads, without what was answered after the mark (selectors.referrals_made_by): a row
that vanished, stopped at "Sendt" or changed its look would tell them they are marked, and a
referral about a named person that vanished at once would tell the person who stalks where
she has a case. Third red-team review (session 8); the fourth found a row stopped at "Sendt"
told it too, more slowly (session 9)."""

import datetime
import re

import pytest
from django.urls import reverse

from cases import services
from cases.models import Case

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAME = "Mette Sørensen"
BIRTH = datetime.date(1990, 1, 1)


def _mark(case, user, actor):
    services.disqualify(actor=actor, case=case, user=user, reason="Er stalkeren")


def _rows(client, user) -> dict[str, str]:
    """Each row of the user's list by its reference: the row's text, tags stripped."""
    client.force_login(user)
    html = client.get(reverse("cases:my_referrals")).content.decode()
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", html, re.S)
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1) if body else "", re.S):
        words = " ".join(re.sub(r"<[^>]+>", " ", row).split())
        rows[words.split()[0]] = words
    return rows


def test_a_marked_police_contact_cannot_tell_from_the_list_where_the_person_has_a_case(
    world, client
):
    case = world.in_triage(full_name=NAME, birth_date=BIRTH)
    _mark(case, world.police_contact, world.visitator)

    for municipality in (world.municipality, world.other_municipality):
        world.refer(
            actor=world.police_contact,
            municipality=municipality,
            full_name=NAME,
            birth_date=BIRTH,
            safe_contact="Via politiet",
        )

    made = Case.objects.filter(referrals__from_user=world.police_contact).order_by("pk")
    rows = _rows(client, world.police_contact)
    assert sorted(rows) == sorted(c.reference for c in made)
    # The same but for the reference, the time and the municipality he chose.
    looks = {
        re.sub(r"\S+-\d{4}-\d{4}|\d+\. \w+ \d{4} \d\d:\d\d|Testkommune|Andenkommune", "", row)
        for row in rows.values()
    }
    assert len(looks) == 1, looks
    assert "Sendt" in looks.pop()


def test_an_answer_given_after_the_mark_is_not_shown_to_the_referrer(world, client):
    case = world.refer(full_name=NAME)
    _mark(case, world.first_contact, world.visitator)

    services.decline_incoming(actor=world.visitator, case=case, reason="Hører til Andenkommune")

    row = _rows(client, world.first_contact)[case.reference]
    assert "Visiteret" in row and NAME in row
    assert "Afvist" not in row and "Andenkommune" not in row


def _badges(client, user) -> dict[str, str]:
    """Each row's status badge (its words and its class) by the row's reference."""
    client.force_login(user)
    html = client.get(reverse("cases:my_referrals")).content.decode()
    return {
        reference: badge
        for reference, badge in re.findall(
            r'samvirke-ref">([^<]+)</span>.*?(<span class="badge[^"]*">[^<]*</span>)', html, re.S
        )
    }


def test_a_marked_referrers_new_referral_moves_on_like_any_other(world, client):
    """The person who stalks, a first contact marked on the victim's case, refers the victim
    again and someone else to compare: the new case inherits her mark, yet both rows move from
    Sendt to Modtaget to Visiteret alike."""
    earlier = world.active(full_name=NAME, birth_date=BIRTH)
    _mark(earlier, world.first_contact, world.visitator)
    victim = world.refer(full_name=NAME, birth_date=BIRTH)
    stranger = world.refer(full_name="Anna Andersen", birth_date=datetime.date(1980, 2, 2))
    assert victim.disqualifications.filter(user=world.first_contact).exists()

    def statuses():
        badges = _badges(client, world.first_contact)
        return [badges[case.reference] for case in (victim, stranger)]

    assert statuses()[0] == statuses()[1] and "Sendt" in statuses()[0]
    for case in (victim, stranger):
        services.start_triage(actor=world.visitator, case=case)
    assert statuses()[0] == statuses()[1] and "Modtaget" in statuses()[0]
    services.join_duplicate(actor=world.visitator, case=victim, into=earlier)
    services.triage(
        actor=world.visitator,
        case=stranger,
        is_stalking=False,
        reasoning="Nabostrid",
        advice_given="Rådgivet",
    )
    assert statuses()[0] == statuses()[1] and "Visiteret" in statuses()[0]


def test_an_answer_given_before_the_mark_stays_as_the_referrer_saw_it(world, client):
    case = world.refer(full_name=NAME)
    services.start_triage(actor=world.visitator, case=case)

    _mark(case, world.first_contact, world.visitator)

    row = _rows(client, world.first_contact)[case.reference]
    assert "Modtaget" in row and "Sendt " not in row


def test_a_referral_forwarded_after_the_mark_does_not_appear_with_where_it_went(world, client):
    case = world.refer(full_name=NAME)
    _mark(case, world.first_contact, world.visitator)

    services.forward_to_municipality(
        actor=world.visitator,
        case=case,
        municipality=world.other_municipality,
        comment="Borgeren er flyttet",
    )

    rows = _rows(client, world.first_contact)
    assert list(rows) == [case.reference]
    assert "Visiteret" in rows[case.reference]
    assert "Videresendt" not in rows[case.reference]
    assert "Andenkommune" not in " ".join(rows.values())


def test_a_referral_forwarded_before_a_mark_in_the_new_municipality_stays_listed(world, client):
    case = world.refer(full_name=NAME)
    new = services.forward_to_municipality(
        actor=world.visitator,
        case=case,
        municipality=world.other_municipality,
        comment="Borgeren er flyttet",
    )

    _mark(new, world.first_contact, world.other_visitator)

    rows = _rows(client, world.first_contact)
    assert sorted(rows) == sorted([case.reference, new.reference])
    assert "Videresendt til Andenkommune" in rows[case.reference]
    assert "Sendt" in rows[new.reference]
