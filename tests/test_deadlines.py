"""Danish working days, used for the visitator's triage deadline."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.deadlines import add_working_days, is_working_day, working_days_between

D = datetime.date


# --- is_working_day ---------------------------------------------------------------------------


def test_an_ordinary_weekday_is_a_working_day():
    assert is_working_day(D(2026, 3, 10))  # Tuesday


@pytest.mark.parametrize("day", [D(2026, 3, 7), D(2026, 3, 8)], ids=["saturday", "sunday"])
def test_weekends_are_not_working_days(day):
    assert not is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 1, 1),  # New Year's Day
        D(2026, 4, 2),  # Maundy Thursday
        D(2026, 4, 3),  # Good Friday
        D(2026, 4, 6),  # Easter Monday
        D(2026, 5, 14),  # Ascension Day
        D(2026, 5, 25),  # Whit Monday
        D(2026, 12, 25),  # Christmas Day
        D(2025, 12, 26),  # Second Day of Christmas
    ],
    ids=lambda d: d.isoformat(),
)
def test_danish_public_holidays_are_not_working_days(day):
    assert day.weekday() < 5
    assert not is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [D(2025, 12, 24), D(2025, 12, 31), D(2026, 6, 5)],
    ids=["christmas-eve", "new-years-eve", "constitution-day"],
)
def test_christmas_eve_new_years_eve_and_constitution_day_are_days_off(day):
    assert day.weekday() < 5
    assert not is_working_day(day)


def test_great_prayer_day_was_a_holiday_until_2023():
    assert not is_working_day(D(2023, 5, 5))  # Store Bededag 2023, the last one


@pytest.mark.parametrize(
    "day",
    [D(2024, 4, 26), D(2025, 5, 16)],
    ids=["store-bededag-2024", "store-bededag-2025"],
)
def test_great_prayer_day_is_a_working_day_since_its_abolition_in_2024(day):
    # Store Bededag (the 4th Friday after Easter) was abolished from 2024.
    assert day.weekday() == 4
    assert is_working_day(day)


def test_the_weeks_after_easter_2026_are_ordinary_working_days():
    assert is_working_day(D(2026, 4, 24))


# --- add_working_days -------------------------------------------------------------------------


def test_add_working_days_does_not_count_the_start_day():
    assert add_working_days(D(2026, 3, 10), 1) == D(2026, 3, 11)


def test_add_zero_working_days_returns_the_start_day():
    assert add_working_days(D(2026, 3, 7), 0) == D(2026, 3, 7)


def test_add_working_days_skips_the_weekend():
    # Friday + 1 working day is Monday; Friday + 5 is the next Friday.
    assert add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 9)
    assert add_working_days(D(2026, 3, 6), 5) == D(2026, 3, 13)


def test_add_working_days_from_a_weekend_starts_counting_on_monday():
    assert add_working_days(D(2026, 3, 7), 1) == D(2026, 3, 9)


def test_add_working_days_skips_easter_2026():
    # Mon 30 March: Tue 31, Wed 1, [Thu 2, Fri 3, Sat, Sun, Mon 6 off], Tue 7, Wed 8, Thu 9.
    assert add_working_days(D(2026, 3, 30), 5) == D(2026, 4, 9)
    assert add_working_days(D(2026, 4, 1), 1) == D(2026, 4, 7)


def test_add_working_days_skips_christmas_and_new_year():
    # Tue 22 Dec: Wed 23, [24, 25, weekend], Mon 28, Tue 29.
    assert add_working_days(D(2026, 12, 22), 3) == D(2026, 12, 29)
    # Wed 30 Dec: [31 Dec, 1 Jan, weekend], Mon 4 Jan, Tue 5 Jan.
    assert add_working_days(D(2026, 12, 30), 2) == D(2027, 1, 5)


def test_add_working_days_skips_constitution_day():
    # Thu 4 June 2026 + 1: Fri 5 June is off, so Monday 8 June.
    assert add_working_days(D(2026, 6, 4), 1) == D(2026, 6, 8)


def test_add_working_days_counts_the_former_great_prayer_day():
    # Thu 25 April 2024 + 1 is Fri 26 April 2024 (Store Bededag no longer exists).
    assert add_working_days(D(2024, 4, 25), 1) == D(2024, 4, 26)


@given(
    start=st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31)),
    days=st.integers(min_value=1, max_value=30),
)
def test_add_working_days_always_lands_on_a_working_day_after_the_start(start, days):
    result = add_working_days(start, days)
    assert result > start
    assert is_working_day(result)
    assert working_days_between(start, result) == days


# --- working_days_between ---------------------------------------------------------------------


def test_working_days_between_the_same_day_is_zero():
    assert working_days_between(D(2026, 3, 10), D(2026, 3, 10)) == 0


def test_working_days_between_counts_after_start_up_to_and_including_end():
    # Fri 27 March to Thu 9 April 2026: Mon 30, Tue 31, Wed 1, Tue 7, Wed 8, Thu 9.
    assert working_days_between(D(2026, 3, 27), D(2026, 4, 9)) == 6


def test_working_days_between_over_a_weekend_only_is_zero():
    assert working_days_between(D(2026, 3, 6), D(2026, 3, 8)) == 0


def test_working_days_between_is_negative_when_end_is_before_start():
    assert working_days_between(D(2026, 4, 9), D(2026, 3, 27)) == -6
