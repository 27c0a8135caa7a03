"""Fourth mutation review (session 10), tests for cases/statistics.py: each test passes on the
code and fails on the one-line change named in its docstring, which the rest of the suite let
through."""

import datetime

import pytest

from cases import statistics
from cases.models import Case
from cooperation.models import Role

from .factories import user_with_role
from .test_statistics import TODAY, _at, _give_first_contact_a_unit, _month, _received

pytestmark = pytest.mark.django_db


def _closed_on(world, day, n):
    for _ in range(n):
        case = world.closed()
        Case.objects.filter(pk=case.pk).update(closed_at=_at(day))


def _outcomes(world, months):
    figures = statistics.figures([world.municipality.pk], months=months, today=TODAY)
    return {str(cell) for cell in dict(figures.outcomes).values()}


def test_the_month_just_before_a_shorter_period_counts_as_left_out_by_it(world):
    """Mutant (statistics.py:245): a shorter period's start `_month_start(today, n)` for
    `n - 1` (the 6 months' table taken from May, one month early). Two cases closed in May:
    the 12 months add those two to the 6 months' five, so all of it is hidden; on the mutant
    the 12 months show "7" next to the 6 months' "5". (The existing test closes its two in
    March, which the mutant's 7-month period leaves out too.)"""
    _closed_on(world, datetime.date(2026, 10, 5), 5)
    _closed_on(world, datetime.date(2026, 5, 5), 2)

    assert _outcomes(world, 6) == {"5", "0"}
    assert _outcomes(world, 12) == {"×"}


def test_the_first_month_of_the_period_is_in_its_tables(world):
    """Mutant (statistics.py:367): `month > since` in _sum: the cases closed in the period's
    first month (June, for six months to November) left out of its outcomes."""
    _closed_on(world, datetime.date(2026, 6, 5), 5)

    assert _outcomes(world, 6) == {"5", "0"}


def test_a_share_of_two_municipalities_is_shown_when_one_has_no_triaged_case(world):
    """Mutant (statistics.py:260): the combined share hidden whenever one municipality's own
    is, without `and any(r.days_to_triage ...)`: a municipality with no case triaged gives
    nothing away, and the combined share is its neighbour's."""
    a, b = world.municipality, world.other_municipality
    day = datetime.date(2026, 10, 5)
    for days in (1, 1, 2, 2, 3, 3, 8, 9, 10, 12):
        _received(world, day, triaged_after_days=days)

    assert statistics.figures([a.pk], today=TODAY).within_deadline_percent == 60
    assert statistics.figures([a.pk, b.pk], today=TODAY).within_deadline_percent == 60


def test_the_periods_median_needs_five_cases_and_five_are_enough(world):
    """Mutant (statistics.py:267): the period's median shown from `> SMALL` cases: five
    cases are enough (the month's median had its boundary tested, the period's not)."""
    day = datetime.date(2026, 10, 5)
    for days in (1, 2, 3, 4, 5):
        _received(world, day, triaged_after_days=days)

    figures = statistics.figures([world.municipality.pk], today=TODAY)

    assert _month(figures, day).median_days == 3
    assert figures.median_days == 3


def test_a_case_triaged_on_its_deadline_day_is_within_the_deadline(world):
    """Mutant (statistics.py:478): `triaged_day < deadline`: the deadline day itself counted
    as late (the docstring: on or before the deadline day)."""
    day = datetime.date(2026, 10, 5)
    for _ in range(10):
        _received(world, day, triaged_after_days=7, deadline_days=7)

    october = _month(statistics.figures([world.municipality.pk], today=TODAY), day)

    assert october.within_deadline_percent == 100


def test_the_sources_are_listed_largest_first(world):
    """Mutant (statistics.py:385): the sources in the database's order, not the largest
    first (as _table says). The database gives the referrals without a unit first."""
    _give_first_contact_a_unit(world, "A-skolen")
    second = user_with_role(Role.FIRST_CONTACT, world.municipality, username="first2")
    for _ in range(9):
        world.refer()
    for _ in range(5):
        world.refer(actor=second)

    sources = statistics.figures([world.municipality.pk]).sources

    assert [(name, str(cell)) for name, cell in sources] == [
        ("A-skolen", "9"),
        ("Enhed ikke oplyst", "5"),
    ]
