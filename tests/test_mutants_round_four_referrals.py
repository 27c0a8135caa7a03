"""Fourth mutation review (session 10), tests for cases/models.py (the referrer's status words),
cases/selectors.py (referrals_made_by) and cases/views.py (the disqualify refusal's link):
each test passes on the code and fails on the one-line change named in its docstring, which
the rest of the suite let through."""

import pytest
from django.urls import reverse

from cases import services
from cases.models import Disqualification, Referral, ReferralKind, ReferralStatus

from .test_my_referrals_marked import BIRTH, NAME, _mark, _rows
from .test_reassign import _refused_disqualification

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_only_a_referral_to_the_visitator_reads_visiteret_when_completed():
    """Mutant (models.py:423): "Visiteret" for every completed referral, without
    `self.kind == TO_VISITATOR`: a routing to a coordinator that ended (the case was handed
    to another) would read as triaged in the visitator's own list."""
    for kind in (ReferralKind.TO_COORDINATOR, ReferralKind.TO_POLICE, ReferralKind.TO_DSC):
        referral = Referral(kind=kind, status=ReferralStatus.COMPLETED)
        assert referral.status_for_referrer == "Afsluttet"
        assert referral.status_for_marked_referrer == "Afsluttet"
    done = Referral(kind=ReferralKind.TO_VISITATOR, status=ReferralStatus.COMPLETED)
    assert done.status_for_referrer == "Visiteret"


def test_a_decline_the_referrer_read_before_the_mark_still_reads_so_after_it(world, client):
    """Mutant (selectors.py:334): answer_hidden as soon as the referrer is marked, without
    `responded_at is null or after the mark`. The referrer read "Afvist" and the reason
    before; a row that turns into "Visiteret" with no reason once a mark is registered tells
    the person who stalks that she is marked on the citizen's case."""
    case = world.in_triage(full_name=NAME, birth_date=BIRTH)
    services.decline_incoming(actor=world.visitator, case=case, reason="Hører til en anden")
    before = _rows(client, world.first_contact)[case.reference]
    assert "Afvist" in before and "Hører til en anden" in before

    _mark(case, world.first_contact, world.visitator)

    assert Disqualification.objects.filter(user=world.first_contact).exists()
    assert _rows(client, world.first_contact)[case.reference] == before


def test_the_refusal_on_a_closed_case_links_to_the_persons_other_case_not_to_reassign(
    world, client
):
    """Mutant (views.py:797): the reassign link whenever the user is the case's responsible,
    without `may(request.user, Action.REASSIGN, case)`. On a closed case nobody can reassign
    (the link would be a 403): the way out is the person's active case the coordinator owns."""
    cpr = "0707614285"
    closed = world.closed(full_name=NAME, cpr=cpr)
    other = world.active(full_name=NAME, cpr=cpr)
    assert closed.responsible == other.responsible == world.coordinator

    html = _refused_disqualification(client, world, closed, world.coordinator)

    assert f"Gå til sag {other.reference}." in html
    assert reverse("cases:reassign", args=[closed.reference]) not in html
