"""Danish working days, for the triage deadline."""

import datetime
from functools import lru_cache

import holidays


@lru_cache(maxsize=16)
def _danish_holidays(year: int):
    # Christmas Eve, New Year's Eve and Constitution Day are days off in municipalities,
    # but holidays.DK only lists them as optional.
    return holidays.DK(years=[year, year + 1], categories=("public", "optional"))


def is_working_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in _danish_holidays(day.year)


def add_working_days(start: datetime.date, days: int) -> datetime.date:
    """The date `days` working days after `start` (start itself not counted)."""
    current = start
    remaining = days
    while remaining > 0:
        current += datetime.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """Working days after `start` up to and including `end`; negative if end is earlier."""
    if end < start:
        return -working_days_between(end, start)
    count = 0
    current = start
    while current < end:
        current += datetime.timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
