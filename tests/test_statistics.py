"""The follow-up group's figures (cases/statistics.py and the statistics page): counts per
month, time to triage, routes, outcomes and sources; small breakdowns hidden ("×");
never a person, a case or another municipality's numbers."""

import datetime
import importlib
from fractions import Fraction

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given, note, settings
from hypothesis import strategies as st

from cases import services, statistics
from cases.models import Case, ClosingReason, ConsentPartner, ConsentScope, Referral, ReferralKind
from cooperation.models import Role, RoleAssignment, Unit

from .factories import user_with_role

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 27)


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _received(world, day, *, triaged_after_days=None, deadline_days=7, stalking=True, **kwargs):
    """A referred case received on `day`, triaged that many calendar days later if given (as
    stalking, or not)."""
    case = world.refer(**kwargs)
    triaged = triaged_after_days is not None
    Case.objects.filter(pk=case.pk).update(
        state="active" if triaged else "referred",
        is_stalking=stalking if triaged else None,
        received_at=_at(day),
        triage_deadline=day + datetime.timedelta(days=deadline_days),
        triaged_at=_at(day + datetime.timedelta(days=triaged_after_days)) if triaged else None,
    )
    Referral.objects.filter(case=case).update(created_at=_at(day))
    return case


def _give_first_contact_a_unit(world, name="Jobcenter"):
    unit = Unit.objects.create(organisation=world.municipality, name=name)
    RoleAssignment.objects.filter(user=world.first_contact, role=Role.FIRST_CONTACT).update(
        unit=unit
    )
    return unit


def _month(figures, day):
    return next(m for m in figures.months if m.month == day.replace(day=1))


# -- where a referral comes from ------------------------------------------------------------


def test_a_referral_records_the_first_contacts_unit(world):
    unit = _give_first_contact_a_unit(world)

    case = world.refer()

    assert case.referrals.get(kind=ReferralKind.TO_VISITATOR).from_unit == unit


def test_a_mutual_referral_from_the_police_counts_under_the_police_district(world):
    _give_first_contact_a_unit(world, "Skole")
    for _ in range(5):
        world.refer()
    world.refer(actor=world.police_contact)

    sources = {
        name: str(count) for name, count in statistics.figures([world.municipality.pk]).sources
    }

    # The one from the police is hidden; the school's 5 too, or 6 received - 5 would show it.
    # Hidden counts are one row without their units' names.
    assert sources == {"Andre enheder": "×"}


def test_a_unit_with_a_hidden_count_is_not_named(world):
    _give_first_contact_a_unit(world, "Skole")
    first = user_with_role(Role.FIRST_CONTACT, world.municipality, username="first2")
    for _ in range(6):
        world.refer()
    for _ in range(8):
        world.refer(actor=first)
    for _ in range(2):
        world.refer(actor=world.police_contact)

    figures = statistics.figures([world.municipality.pk])

    # The police's two are hidden, and the school's six with them (16 - 8 - 6 would be 2):
    # one row for both, without their names.
    assert {name: str(count) for name, count in figures.sources} == {
        "Enhed ikke oplyst": "8",
        "Andre enheder": "×",
    }


def test_earlier_referrals_get_their_unit_from_the_referrers_role_at_the_time(world):
    unit = _give_first_contact_a_unit(world)
    case = world.refer()
    Referral.objects.filter(case=case).update(from_unit=None)
    migration = importlib.import_module("cases.migrations.0008_referral_from_unit")

    migration.backfill_units(apps, None)

    assert case.referrals.get(kind=ReferralKind.TO_VISITATOR).from_unit == unit


# -- the figures -----------------------------------------------------------------------------


def test_time_to_triage_is_the_median_of_the_months_cases_and_the_share_within_deadline(world):
    day = datetime.date(2026, 10, 5)
    # Deadline 7 days: six within, four over.
    for days in (1, 1, 2, 2, 3, 3, 8, 9, 10, 12):
        _received(world, day, triaged_after_days=days)
    _received(world, day)  # still waiting: received, not triaged

    figures = statistics.figures([world.municipality.pk], today=TODAY)
    october = _month(figures, day)

    assert (october.received, october.triaged) == (11, 10)
    assert october.median_days == 3
    assert october.within_deadline_percent == 60
    assert (figures.received, figures.triaged, figures.median_days) == (11, 10, 3)


def test_a_median_needs_five_cases_and_a_share_ten(world):
    day = datetime.date(2026, 10, 5)
    for days in (1, 2, 3, 4):
        _received(world, day, triaged_after_days=days)
    october = _month(statistics.figures([world.municipality.pk], today=TODAY), day)
    assert october.median_days is None and october.within_deadline_percent is None

    _received(world, day, triaged_after_days=9)
    october = _month(statistics.figures([world.municipality.pk], today=TODAY), day)
    assert october.median_days == 3
    assert october.within_deadline_percent is None  # at five, 80 % would name the one late


def test_a_hidden_cell_cannot_be_worked_out_from_a_shown_total(world):
    day = datetime.date(2026, 10, 5)
    for _ in range(6):
        _received(world, day, triaged_after_days=1)
    Case.objects.filter(pk=Case.objects.order_by("pk").first().pk).update(is_stalking=False)

    october = _month(statistics.figures([world.municipality.pk], today=TODAY), day)

    # 6 triaged: 5 stalking and 1 not. Showing the 5 would give the 1 away.
    assert october.triaged == 6
    assert (str(october.stalking), str(october.not_stalking)) == ("×", "×")


def test_protect_hides_a_second_cell_only_when_one_alone_is_hidden():
    cells = [statistics.Small(n) for n in (12, 0, 3)]
    assert [str(c) for c in statistics.protect(cells)] == ["12", "×", "×"]
    two_hidden = [statistics.Small(n) for n in (12, 2, 3)]
    assert statistics.protect(two_hidden) == two_hidden
    none_hidden = [statistics.Small(n) for n in (12, 0, 7)]
    assert statistics.protect(none_hidden) == none_hidden


def test_a_breakdown_from_one_to_four_is_hidden():
    assert [str(statistics.Small(n)) for n in (0, 1, 4, 5, 12)] == ["0", "×", "×", "5", "12"]


def test_routes_and_outcomes_are_counted_per_case(world):
    world.closed(police=True)  # routed to the coordinator and the police, then closed
    world.active(dsc=True)

    figures = statistics.figures([world.municipality.pk])
    this_month = figures.months[0]

    assert this_month.received == 2
    assert (this_month.to_coordinator.value, this_month.to_police.value) == (2, 1)
    assert (this_month.to_dsc.value, this_month.closed.value) == (1, 1)
    outcomes = {label: count.value for label, count in figures.outcomes}
    assert outcomes[str(ClosingReason.RESOLVED.label)] == 1
    assert str(ClosingReason.MERGED.label) not in outcomes


def _referred_onward(world, n, **recipient):
    for _ in range(n):
        services.refer_onward(
            actor=world.coordinator, case=world.active(), reason="Hjælp til bolig", **recipient
        )


def test_referrals_onward_are_counted_per_case_with_small_counts_hidden(world, client):
    unit = Unit.objects.create(organisation=world.municipality, name="Jobcenter")
    _referred_onward(world, 5, unit=unit)
    _referred_onward(world, 2, external="Krisecenter Nord")
    # A second referral onward of the same case counts the case once.
    case = Case.objects.filter(referrals__to_unit=unit).first()
    services.refer_onward(actor=world.coordinator, case=case, unit=unit, reason="Mere hjælp")

    this_month = statistics.figures([world.municipality.pk]).months[0]

    assert (this_month.to_unit.value, this_month.to_external.value) == (5, 2)
    assert (str(this_month.to_unit), str(this_month.to_external)) == ("5", "×")
    client.force_login(world.follow_up)
    html = client.get(reverse("statistics")).content.decode()
    assert "Sager sendt til" in html
    assert ">afdeling<" in html and ">ekstern aktør<" in html
    assert "Jobcenter" not in html and "Krisecenter" not in html


def test_a_case_merged_into_another_is_not_counted_twice(world):
    kept = world.refer()
    duplicate = world.refer()
    services.start_triage(actor=world.visitator, case=duplicate)
    services.join_duplicate(actor=world.visitator, case=duplicate, into=kept)

    assert statistics.figures([world.municipality.pk]).received == 1


def test_the_period_has_one_row_per_month_newest_first_including_empty_months(world):
    figures = statistics.figures([world.municipality.pk], months=6, today=TODAY)

    assert [m.month for m in figures.months] == [
        datetime.date(2026, month, 1) for month in (11, 10, 9, 8, 7, 6)
    ]
    assert figures.first_month == datetime.date(2026, 6, 1)
    assert all(m.received == 0 for m in figures.months)


def test_cases_before_the_period_are_not_counted(world):
    _received(world, datetime.date(2025, 1, 10), triaged_after_days=1)

    assert statistics.figures([world.municipality.pk], months=12, today=TODAY).received == 0


# -- one mark for every hidden cell ------------------------------------------------------------


def test_every_hidden_cell_shows_the_same_mark_whatever_it_is():
    small = [statistics.Small(n) for n in (1, 4)]
    protecting = [statistics.Small(n, suppressed=True) for n in (0, 3, 7)]

    assert [str(cell) for cell in small + protecting] == ["×"] * 5


def test_a_protecting_cell_does_not_show_that_it_is_zero(world):
    # Three triaged in each month (and five still waiting, so the months are not small):
    # 3 stalking and 0 not in October, 2 and 1 in September.
    october, september = datetime.date(2026, 10, 5), datetime.date(2026, 9, 5)
    for day, stalking, not_stalking in ((october, 3, 0), (september, 2, 1)):
        for _ in range(stalking):
            _received(world, day, triaged_after_days=1)
        for _ in range(not_stalking):
            _received(world, day, triaged_after_days=1, stalking=False)
        for _ in range(5):
            _received(world, day)

    figures = statistics.figures([world.municipality.pk], today=TODAY)

    def shown(day):
        month = _month(figures, day)
        return month.received, month.triaged, str(month.stalking), str(month.not_stalking)

    # "< 5" next to "×" would say 3 and 0, "< 5" next to "< 5" 2 and 1.
    assert shown(october) == shown(september) == (8, 3, "×", "×")


# -- the parts of a few cases: none shown, zeros included ------------------------------------

BREAKDOWNS = ("stalking", "not_stalking", *statistics.ROUTES[2:], "closed")


def _not_stalking(world, **kwargs):
    case = world.in_triage(**kwargs)
    return services.triage(actor=world.visitator, case=case, is_stalking=False, reasoning="Nej")


def test_a_month_with_a_single_referral_does_not_tell_where_it_went(world):
    world.active(police=True)

    month = statistics.figures([world.municipality.pk]).months[0]

    assert month.received == 1
    # "×" under the police next to "0" under DSC would say where the one referral went.
    assert {name: str(getattr(month, name)) for name in BREAKDOWNS} == dict.fromkeys(
        BREAKDOWNS, "×"
    )


def test_the_routes_of_a_hidden_number_of_stalking_cases_are_hidden_zeros_included(world):
    for _ in range(2):
        world.active()  # to the coordinator only
    for _ in range(6):
        _not_stalking(world)

    month = statistics.figures([world.municipality.pk]).months[0]

    assert (month.received, month.triaged) == (8, 8)
    assert (str(month.stalking), str(month.not_stalking)) == ("×", "×")
    # Police and DSC "0" would say that neither of the (hidden) two stalking cases went there.
    routes = ("to_coordinator", "to_police", "to_dsc", "to_unit", "to_external")
    assert [str(getattr(month, name)) for name in routes] == ["×"] * 5


def test_the_closed_cases_are_hidden_when_the_not_stalking_ones_are(world):
    for _ in range(3):
        world.active()
    for _ in range(5):
        world.in_triage()

    month = statistics.figures([world.municipality.pk]).months[0]

    assert (month.received, month.triaged, str(month.stalking)) == (8, 3, "×")
    # A case judged not stalking is closed at once: "closed 0" would say all three were stalking.
    assert (str(month.not_stalking), str(month.closed)) == ("×", "×")


def test_a_zero_hidden_in_one_municipality_is_hidden_in_the_combined_view(world):
    a, b = world.municipality, world.other_municipality
    first_b = user_with_role(Role.FIRST_CONTACT, b, username="firstb")
    world.active(police=True)
    _routed_to_police(b, first_b, world.other_visitator, 6)

    only_b = statistics.figures([b.pk]).months[0]
    both = statistics.figures([a.pk, b.pk]).months[0]

    assert (str(only_b.to_police), str(only_b.to_dsc)) == ("6", "0")
    # A combined "0" for DSC minus B's 0 would be A's hidden 0.
    assert (str(both.to_police), str(both.to_dsc)) == ("×", "×")


def test_the_outcomes_of_fewer_than_five_closed_cases_are_all_hidden(world):
    world.closed()

    outcomes = dict(statistics.figures([world.municipality.pk]).outcomes)

    # "0" for every other reason would tell why the one case was closed.
    assert {str(cell) for cell in outcomes.values()} == {"×"}


def test_the_outcomes_of_a_longer_period_are_all_hidden_when_it_adds_one_to_four_cases(world):
    for day in [datetime.date(2026, 10, 5)] * 5 + [datetime.date(2026, 3, 5)] * 2:
        case = world.closed()
        Case.objects.filter(pk=case.pk).update(closed_at=_at(day))

    def shown(months):
        figures = statistics.figures([world.municipality.pk], months=months, today=TODAY)
        return {str(cell) for cell in dict(figures.outcomes).values()}

    assert shown(6) == {"5", "0"}
    # 12 months minus 6 is the two cases closed in March; a "0" there would tell that
    # neither was closed for that reason.
    assert shown(12) == {"×"}


# -- differencing: one hidden cell worked out from two views the same user can ask for ------


def _routed_to_police(municipality, first, visitator, n):
    consents = [(ConsentPartner.POLICE, ConsentScope.CONTACT)]
    for _i in range(n):
        case = services.refer(
            actor=first,
            municipality=municipality,
            full_name="X",
            safe_contact="sms",
            consents=consents,
        )
        case = services.start_triage(actor=visitator, case=case)
        services.triage(
            actor=visitator, case=case, is_stalking=True, reasoning="Ja", to_police=True
        )


def test_f5_statistics_small_cell_recoverable_by_differencing_municipalities(world):
    a, b = world.municipality, world.other_municipality
    first_b = user_with_role(Role.FIRST_CONTACT, b, username="firstb")
    _routed_to_police(a, world.first_contact, world.visitator, 2)
    _routed_to_police(b, first_b, world.other_visitator, 5)

    only_a = statistics.figures([a.pk]).months[0].to_police
    only_b = statistics.figures([b.pk]).months[0].to_police
    both = statistics.figures([a.pk, b.pk]).months[0].to_police

    assert only_a.hidden
    assert not (not both.hidden and not only_b.hidden), "A's hidden cell = all - B"
    assert str(both) == "×"  # 7 together, hidden because A's 2 are


def test_a_source_hidden_in_one_municipality_is_hidden_in_the_combined_view(world):
    a, b = world.municipality, world.other_municipality
    for _ in range(2):
        world.refer(actor=world.police_contact)
    for _ in range(6):
        world.refer(actor=world.police_contact, municipality=b)
    first_b = user_with_role(Role.FIRST_CONTACT, b, username="firstb")
    for _ in range(7):
        world.refer(actor=first_b, municipality=b)

    def shown(ids):
        return {name: str(count) for name, count in statistics.figures(ids).sources}

    # A alone: the police's 2 hidden (and nothing else to hide); B alone: all shown.
    assert shown([a.pk]) == {"Andre enheder": "×"}
    assert shown([b.pk]) == {"Enhed ikke oplyst": "7", "Testpoliti": "6"}
    # Together the police's 8 would give A's 2 away (8 - 6); hidden, and a second cell with it.
    assert shown([a.pk, b.pk]) == {"Andre enheder": "×"}


def test_a_period_table_cell_is_hidden_when_it_differs_from_a_shorter_period_by_one_to_four(
    world,
):
    _give_first_contact_a_unit(world, "Skole")
    for _ in range(6):
        _received(world, datetime.date(2026, 10, 5))
    for _ in range(5):
        _received(world, datetime.date(2026, 10, 6), actor=world.police_contact)
    for _ in range(2):
        _received(world, datetime.date(2026, 2, 5))  # months 7-12 back: two from the school

    def shown(months):
        figures = statistics.figures([world.municipality.pk], months=months, today=TODAY)
        return {name: str(count) for name, count in figures.sources}

    assert shown(6) == {"Skole": "6", "Testpoliti": "5"}
    # 8 - 6 would give the two away; hidden, with the police's 5 as the second cell.
    assert shown(12) == {"Andre enheder": "×"}
    # 24 months is 12 again, but still 2 more than 6: checked against every shorter period.
    assert shown(24) == {"Andre enheder": "×"}


def test_an_outcome_is_hidden_when_a_longer_period_adds_one_to_four(world):
    for day in [datetime.date(2026, 10, 5)] * 5 + [datetime.date(2026, 3, 5)] * 3:
        case = world.closed()
        Case.objects.filter(pk=case.pk).update(closed_at=_at(day))
    resolved = str(ClosingReason.RESOLVED.label)

    def outcome(months):
        figures = statistics.figures([world.municipality.pk], months=months, today=TODAY)
        return dict(figures.outcomes)[resolved]

    assert str(outcome(6)) == "5"
    assert outcome(12).hidden  # 8 - 5 = 3 closed in months 7-12


def _triaged(world, day, within, late, **kwargs):
    for _ in range(within):
        _received(world, day, triaged_after_days=1, **kwargs)
    for _ in range(late):
        _received(world, day, triaged_after_days=20, **kwargs)


def test_a_share_of_several_municipalities_is_hidden_when_one_has_too_few_cases(world):
    a, b = world.municipality, world.other_municipality
    first_b = user_with_role(Role.FIRST_CONTACT, b, username="firstb")
    day = datetime.date(2026, 10, 5)
    _triaged(world, day, within=2, late=1)
    _triaged(world, day, within=6, late=4, actor=first_b, municipality=b)

    only_b = statistics.figures([b.pk], today=TODAY)
    both = statistics.figures([a.pk, b.pk], today=TODAY)

    assert only_b.within_deadline_percent == 60  # B's 6 of 10
    # 62 % of 13 would be 8 of 13, so A's 3 cases: 2 within and 1 late.
    assert both.within_deadline_percent is None
    assert _month(both, day).within_deadline_percent is None


def test_a_share_for_the_period_is_hidden_when_it_would_give_away_a_months_hidden_share(world):
    _triaged(world, datetime.date(2026, 10, 5), within=6, late=4)  # shown: 60 %
    _triaged(world, datetime.date(2026, 9, 5), within=2, late=1)  # too few for a share

    figures = statistics.figures([world.municipality.pk], months=6, today=TODAY)

    # 62 % of 13 minus October's 6 of 10 would give September's 2 of 3.
    assert figures.within_deadline_percent is None


def test_a_share_for_a_longer_period_is_hidden_when_the_months_it_adds_have_too_few_cases(world):
    _triaged(world, datetime.date(2026, 10, 5), within=2, late=1)
    _triaged(world, datetime.date(2026, 9, 5), within=5, late=2)
    _triaged(world, datetime.date(2026, 2, 5), within=1, late=2)  # months 7-12 back

    def share(months):
        figures = statistics.figures([world.municipality.pk], months=months, today=TODAY)
        return figures.within_deadline_percent

    assert share(6) == 70  # 7 of 10
    assert share(12) is None  # 8 of 13 minus 7 of 10 would give February's 1 of 3


# -- the outcomes against the month rows on the same page ------------------------------------


def _triaged_case(world, day, *, stalking: bool, closed_as=None):
    """A case received on `day` and triaged the day after: as not stalking (closed at once as
    "Ikke stalking"), or as stalking, then closed with `closed_as` if given."""
    case = world.refer()
    triaged_at = _at(day + datetime.timedelta(days=1))
    fields = {
        "received_at": _at(day),
        "triage_deadline": day + datetime.timedelta(days=7),
        "triaged_at": triaged_at,
        "is_stalking": stalking,
        "state": "active",
    }
    reason = ClosingReason.NOT_STALKING if not stalking else closed_as
    if reason:
        fields.update(state="closed", closing_reason=reason, closed_at=triaged_at)
    Case.objects.filter(pk=case.pk).update(**fields)
    Referral.objects.filter(case=case).update(created_at=_at(day))
    return case


def test_a_hidden_not_stalking_cell_cannot_be_worked_out_from_the_outcomes_table(world):
    """October's "not stalking" (2) is hidden, and its "stalking" (5) with it. Every case
    judged not stalking is closed at once as "Ikke stalking": that outcome (2 + 5 + 6 = 13)
    minus the months' shown "not stalking" (5 + 6) would be October's 2, and October's
    triaged minus it the hidden 5."""
    for day, not_stalking, stalking in (
        (datetime.date(2026, 9, 10), 5, 5),
        (datetime.date(2026, 10, 10), 2, 5),
        (datetime.date(2026, 11, 10), 6, 5),
    ):
        for _ in range(not_stalking):
            _triaged_case(world, day, stalking=False)
        for _ in range(stalking):
            _triaged_case(world, day, stalking=True)

    figures = statistics.figures([world.municipality.pk], months=6, today=TODAY)
    october = _month(figures, datetime.date(2026, 10, 1))
    assert october.not_stalking.hidden and october.stalking.hidden
    outcomes = dict(figures.outcomes)
    outcome = outcomes[str(ClosingReason.NOT_STALKING.label)]
    shown_elsewhere = [m.not_stalking for m in figures.months if m is not october]

    recoverable = not outcome.hidden and not any(c.hidden for c in shown_elsewhere)
    if recoverable:  # what the attacker computes
        assert outcome.value - sum(c.value for c in shown_elsewhere) == 2
    assert not recoverable
    # October's "closed" (the 2 closed at once) is hidden as well, so two other outcomes are
    # hidden with it: all the outcomes together are the months' "closed" added up.
    label = str(ClosingReason.NOT_STALKING.label)
    assert sum(cell.hidden for name, cell in outcomes.items() if name != label) == 2


def test_a_hidden_closed_cell_cannot_be_worked_out_from_the_outcomes_table(world):
    """The outcomes together are the cases closed in the period, i.e. the months' "closed"
    added up: with every outcome shown, a month's hidden "closed" would be their sum minus
    the other months' closed cells."""
    september, october = datetime.date(2026, 9, 10), datetime.date(2026, 10, 10)
    for _ in range(6):
        _triaged_case(world, september, stalking=True, closed_as=ClosingReason.RESOLVED)
    for _ in range(5):
        _triaged_case(world, october, stalking=True)
    for _ in range(2):
        _triaged_case(world, october, stalking=True, closed_as=ClosingReason.RESOLVED)

    figures = statistics.figures([world.municipality.pk], months=6, today=TODAY)
    october_row = _month(figures, october)
    assert not october_row.stalking.hidden and october_row.closed.hidden  # 7 stalking, 2 closed
    assert str(_month(figures, september).closed) == "6"
    outcomes = dict(figures.outcomes)

    # All shown, 8 closed in the period minus September's 6 would be October's 2.
    assert any(cell.hidden for cell in outcomes.values())
    # Two of the outcomes other than "Ikke stalking" are hidden, not one (that one would be
    # the months' closed added up minus the outcomes shown).
    label = str(ClosingReason.NOT_STALKING.label)
    assert sum(cell.hidden for name, cell in outcomes.items() if name != label) == 2


def test_the_outcomes_are_shown_when_the_months_hide_nothing_they_add_up_to(world):
    for day in (datetime.date(2026, 9, 10), datetime.date(2026, 10, 10)):
        for _ in range(5):
            _triaged_case(world, day, stalking=False)
        for _ in range(5):
            _triaged_case(world, day, stalking=True, closed_as=ClosingReason.RESOLVED)

    figures = statistics.figures([world.municipality.pk], months=6, today=TODAY)

    assert not any(cell.hidden for cell in dict(figures.outcomes).values())
    assert dict(figures.outcomes)[str(ClosingReason.NOT_STALKING.label)].value == 10


# Every linear relation between the cells of the pages one follow-up member can see (one
# municipality, each period): a month's "stalking" and "not stalking" make its "triaged"; a
# period's outcome "Ikke stalking" is its months' "not stalking" added up, and all its outcomes
# together its months' "closed" (exactly so when each case is closed the month it came in, as
# generated here). No hidden cell may be determined by the shown ones through them; the one
# exception is "Ikke stalking" hidden while every month shows its "not stalking": it is then
# their sum, which the page shows anyway.
CASE_KINDS = ("waiting", "stalking", "stalking_closed", "not_stalking")
OTHER_REASONS = [
    r for r in ClosingReason.values if r not in (ClosingReason.MERGED, ClosingReason.NOT_STALKING)
]
# Groups of like cases (a month, what became of them, how many), so that counts from 0 to well
# over 5 in the same cells come up often.
generated_cases = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 2), st.integers(0, 23)),  # months back
        st.sampled_from(CASE_KINDS),
        st.sampled_from(OTHER_REASONS[:2]) | st.sampled_from(OTHER_REASONS),  # if closed
        st.integers(1, 7),
    ),
    max_size=12,
).map(lambda groups: [(back, kind, reason) for back, kind, reason, n in groups for _ in range(n)])


def _determined(rows: list[list[Fraction]]) -> set[int]:
    """The columns (unknowns) whose value the equations `rows` (= known totals) fix: in the
    reduced row echelon form, a pivot column whose row has no other unknown left in it."""
    rows = [list(row) for row in rows]
    pivots, rank = {}, 0
    for col in range(len(rows[0]) if rows else 0):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        rows[rank] = [a / rows[rank][col] for a in rows[rank]]
        for i in range(len(rows)):
            if i != rank and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[rank], strict=True)]
        pivots[col], rank = rank, rank + 1
    return {
        col
        for col, row in pivots.items()
        if all(a == 0 for j, a in enumerate(rows[row]) if j != col)
    }


def _pages(cases) -> dict[int, statistics.Figures]:
    per_month, closed = {}, {}
    for back, kind, reason in cases:
        month = statistics._month_start(TODAY, back)
        counts = per_month.setdefault((1, month), dict.fromkeys(("received", "triaged"), 0))
        for name in statistics.ROUTES:
            counts.setdefault(name, 0)
        counts["received"] += 1
        if kind == "waiting":
            continue
        counts["triaged"] += 1
        if kind == "not_stalking":
            counts["not_stalking"] += 1
            reason = ClosingReason.NOT_STALKING
        else:
            counts["stalking"] += 1
            counts["to_coordinator"] += 1
            if kind == "stalking":
                continue
        counts["closed"] += 1
        by_reason = closed.setdefault((1, month), {})
        by_reason[reason] = by_reason.get(reason, 0) + 1
    return {
        n: statistics.page(
            [1], months=n, today=TODAY, per_month=per_month, times={}, closed=closed, referred={}
        )
        for n in statistics.PERIODS
    }


def _determined_hidden_cells(pages: dict[int, statistics.Figures]) -> list:
    cells, equations = {}, []  # cells: name -> Small; equations: ({name: coefficient}, total)
    for figures in pages.values():
        for row in figures.months:
            names = {kind: ("month", row.month, kind) for kind in ("stalking", "not_stalking")}
            for kind in ("stalking", "not_stalking", "closed"):
                cells[("month", row.month, kind)] = getattr(row, kind)
            equations.append(({names["stalking"]: 1, names["not_stalking"]: 1}, row.triaged))
    not_stalking = str(ClosingReason.NOT_STALKING.label)
    allowed = set()
    for n, figures in pages.items():
        outcomes = {("outcome", n, label): cell for label, cell in figures.outcomes}
        cells.update(outcomes)
        ns = {("month", row.month, "not_stalking"): -1 for row in figures.months}
        equations.append(({("outcome", n, not_stalking): 1, **ns}, 0))
        closed = {("month", row.month, "closed"): -1 for row in figures.months}
        equations.append(({**dict.fromkeys(outcomes, 1), **closed}, 0))
        if not any(row.not_stalking.hidden for row in figures.months):
            allowed.add(("outcome", n, not_stalking))
    hidden = [name for name, cell in cells.items() if cell.hidden]
    # Move the shown cells to the right-hand side; what is left is a system in the hidden ones.
    matrix = [[Fraction(eq.get(name, 0)) for name in hidden] for eq, _total in equations]
    fixed = _determined([row for row in matrix if any(row)])
    return [name for i, name in enumerate(hidden) if i in fixed and name not in allowed]


# The two the red team found: October's "not stalking" (2 of 7) from the outcome "Ikke
# stalking"; October's "closed" (2 of 7) from all the outcomes together.
NOT_STALKING_PROBE = (
    [(2, "not_stalking", ""), (2, "stalking", "")] * 5
    + [(1, "not_stalking", "")] * 2
    + [(1, "stalking", "")] * 5
    + [(0, "not_stalking", "")] * 6
    + [(0, "stalking", "")] * 5
)
CLOSED_PROBE = (
    [(2, "stalking_closed", "resolved")] * 6
    + [(1, "stalking", "")] * 5
    + [(1, "stalking_closed", "resolved")] * 2
)


@example(NOT_STALKING_PROBE)
@example(CLOSED_PROBE)
@given(generated_cases)
@settings(max_examples=400, deadline=None)
def test_no_hidden_cell_is_determined_by_the_shown_ones_on_the_pages_of_one_municipality(cases):
    pages = _pages(cases)
    note(repr([(label, str(cell)) for label, cell in pages[6].outcomes]))
    assert _determined_hidden_cells(pages) == []


def test_the_check_finds_the_hidden_cells_the_outcomes_gave_away_before(monkeypatch):
    """The check above catches both leaks when the outcomes are hidden without the month rows:
    October's "not stalking" (2, with its "stalking" 5) from the outcome "Ikke stalking"; a
    month's "closed" (2) from all the outcomes together."""
    monkeypatch.setattr(
        statistics,
        "_against_months",
        lambda counts, rows, **hiding: statistics.hide(counts, **hiding, group=list(counts)),
    )
    october = statistics._month_start(TODAY, 1)
    leaked = _determined_hidden_cells(_pages(NOT_STALKING_PROBE))
    assert ("month", october, "not_stalking") in leaked
    assert ("month", october, "closed") in _determined_hidden_cells(_pages(CLOSED_PROBE))


# -- the page -------------------------------------------------------------------------------


def test_the_page_shows_the_figures_and_no_names_or_references(client, world):
    _give_first_contact_a_unit(world, "Familierådgivningen")
    cases = [world.refer(full_name="Bent Jensen"), world.closed(police=True)]
    client.force_login(world.follow_up)

    html = client.get(reverse("statistics")).content.decode()

    # Two referrals from the unit: its count is hidden, and so is its name.
    assert "Familierådgivningen" not in html and "Andre enheder" in html
    hidden = '<td><span aria-hidden="true">×</span><span class="sr-only">skjult tal</span></td>'
    assert hidden in html and "&lt; 5" not in html
    assert "„×“ betyder, at tallet er skjult. Det kan være 0, 1 til 4 eller større" in html
    assert "skjules alle dens tal, også nullerne" in html
    for case in cases:
        assert case.reference not in html and case.full_name not in html


def test_a_follow_up_member_never_sees_another_municipalitys_figures(client, world):
    world.refer()
    other_case = world.refer(municipality=world.other_municipality, actor=world.other_visitator)
    assert other_case.municipality == world.other_municipality
    client.force_login(world.follow_up)

    response = client.get(reverse("statistics"), {"kommune": world.other_municipality.pk})

    assert response.context["figures"].received == 1  # their own only, the choice ignored


def test_all_my_municipalities_hides_a_cell_hidden_in_one_of_them(client, world):
    b = world.other_municipality
    RoleAssignment.objects.create(user=world.follow_up, organisation=b, role=Role.FOLLOW_UP)
    first_b = user_with_role(Role.FIRST_CONTACT, b, username="firstb")
    _routed_to_police(world.municipality, world.first_contact, world.visitator, 2)
    _routed_to_police(b, first_b, world.other_visitator, 5)
    client.force_login(world.follow_up)

    response = client.get(reverse("statistics"))

    assert str(response.context["figures"].months[0].to_police) == "×"
    assert "Begge dele vises som „×“" in response.content.decode()


def test_a_marked_visitator_in_the_follow_up_group_cannot_count_the_hidden_case(world, client):
    """The deputy visitator is marked (inhabil) on the victim's case and also in the follow-up
    group. Her dashboard counts the queue without that case; a count of all cases waiting
    for triage on the statistics page would, minus hers, tell her when the victim is referred
    again. The page has no count of the queue now (the visitators have theirs)."""
    RoleAssignment.objects.create(
        user=world.deputy_visitator,
        role=Role.FOLLOW_UP,
        organisation=world.municipality,
        valid_from=datetime.date(2020, 1, 1),
    )
    world.refer(full_name="Anna Andersen")
    victim = world.refer(full_name="Zenobia Kvasirhøj", cpr="0101901234")
    services.disqualify(
        actor=world.visitator, case=victim, user=world.deputy_visitator, reason="Stalkeren"
    )
    client.force_login(world.deputy_visitator)

    response = client.get(reverse("statistics"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Venter på visitation nu" not in html and "over fristen nu" not in html
    assert not hasattr(response.context["figures"], "waiting_now")


@pytest.mark.parametrize(("asked", "shown"), [("6", 6), ("24", 24), ("7", 12), ("x", 12)])
def test_the_period_is_one_of_the_offered_ones(client, world, asked, shown):
    client.force_login(world.follow_up)

    response = client.get(reverse("statistics"), {"maaneder": asked})

    assert response.status_code == 200
    assert len(response.context["figures"].months) == shown


@pytest.mark.parametrize("role", ["visitator", "coordinator", "police_contact", "first_contact"])
def test_only_the_follow_up_group_has_the_page(client, world, role):
    client.force_login(getattr(world, role))

    assert client.get(reverse("statistics")).status_code == 403


def test_the_page_costs_the_same_queries_for_few_and_many_cases(
    client, world, django_assert_max_num_queries
):
    client.force_login(world.follow_up)
    world.refer()
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("statistics"))
    for _ in range(15):
        world.closed(police=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("statistics"))
