"""The follow-up group's figures: referrals, time to triage, routes, outcomes and where the
referrals come from, per month. Counts only: never a case, a reference or a person.

A breakdown (a route, an outcome, a unit) counted one to four times is shown as "under 5": in
a small municipality "one referral from the school in March, sent to the police" can point to
a person. Where the cells of a breakdown add up to a number that is shown (stalking and not
stalking make the month's triaged cases), one hidden cell could be worked out by subtraction,
so a second cell of the group is hidden with it. A median needs five cases and a share ten
(at five, "80 %" would say that exactly one was late). The number of referrals a month is
shown as it is; it says nothing about whom.
"""

import datetime
import statistics as stats
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from cooperation.models import OrganisationKind

from .models import Case, CaseState, ClosingReason, Referral, ReferralKind

SMALL = 5  # breakdowns below this are shown as "under 5"; a median needs this many cases
SHARE_MIN = 10  # a share (per cent) needs this many cases
PERIODS = (6, 12, 24)  # months the page can show


@dataclass(frozen=True)
class Small:
    """A count of a breakdown: shown as it is from SMALL up, as "under 5" from 1 to 4, and
    hidden whatever it is when it would give a hidden neighbour away (`protect`)."""

    value: int
    suppressed: bool = False

    @property
    def hidden(self) -> bool:
        return self.suppressed or 0 < self.value < SMALL

    def __str__(self) -> str:
        if self.suppressed and not 0 < self.value < SMALL:
            return "×"  # hidden so that the cell next to it cannot be worked out
        return f"< {SMALL}" if self.hidden else str(self.value)


def protect(cells: list[Small]) -> list[Small]:
    """Cells that add up to a shown total: if exactly one is hidden, hide the smallest other
    one too, so that no hidden cell is the total minus the shown ones."""
    hidden = [i for i, cell in enumerate(cells) if cell.hidden]
    if len(hidden) != 1 or len(cells) < 2:
        return cells
    others = [i for i in range(len(cells)) if i not in hidden]
    partner = min(others, key=lambda i: cells[i].value)
    return [
        Small(cell.value, suppressed=True) if i == partner else cell for i, cell in enumerate(cells)
    ]


@dataclass
class Month:
    month: datetime.date
    received: int = 0
    triaged: int = 0
    stalking: Small = Small(0)
    not_stalking: Small = Small(0)
    to_coordinator: Small = Small(0)
    to_police: Small = Small(0)
    to_dsc: Small = Small(0)
    closed: Small = Small(0)
    days_to_triage: list[int] = field(default_factory=list, repr=False)
    within_deadline: int = 0

    @property
    def median_days(self) -> float | None:
        return stats.median(self.days_to_triage) if len(self.days_to_triage) >= SMALL else None

    @property
    def within_deadline_percent(self) -> int | None:
        n = len(self.days_to_triage)
        return round(100 * self.within_deadline / n) if n >= SHARE_MIN else None


@dataclass
class Figures:
    months: list[Month]
    first_month: datetime.date
    received: int
    triaged: int
    median_days: float | None
    within_deadline_percent: int | None
    waiting_now: int
    overdue_now: int
    outcomes: list[tuple[str, Small]]
    sources: list[tuple[str, Small]]


def _month_start(day: datetime.date, back: int = 0) -> datetime.date:
    index = day.year * 12 + day.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def figures(municipality_ids, *, months: int = 12, today: datetime.date | None = None) -> Figures:
    """The figures of the last `months` months (this month included) for the municipalities."""
    today = today or timezone.localdate()
    first = _month_start(today, months - 1)
    since = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    # Merged cases were the same person referred twice: counted once, in the case kept.
    cases = Case.objects.filter(municipality__in=municipality_ids).exclude(
        closing_reason=ClosingReason.MERGED
    )
    received = cases.filter(received_at__gte=since)

    rows = {month: Month(month) for month in (_month_start(first, -i) for i in range(months))}
    _count_per_month(received, rows)
    _triage_times(received, rows)
    ordered = sorted(rows.values(), key=lambda m: m.month, reverse=True)
    all_days = [d for m in ordered for d in m.days_to_triage]
    within = sum(m.within_deadline for m in ordered)
    waiting = cases.filter(state__in=(CaseState.REFERRED, CaseState.IN_TRIAGE)).aggregate(
        now=Count("pk"), overdue=Count("pk", filter=Q(triage_deadline__lt=today))
    )
    return Figures(
        months=ordered,
        first_month=first,
        received=sum(m.received for m in ordered),
        triaged=sum(m.triaged for m in ordered),
        median_days=stats.median(all_days) if len(all_days) >= SMALL else None,
        within_deadline_percent=round(100 * within / len(all_days))
        if len(all_days) >= SHARE_MIN
        else None,
        waiting_now=waiting["now"],
        overdue_now=waiting["overdue"],
        outcomes=_outcomes(cases.filter(state=CaseState.CLOSED, closed_at__gte=since)),
        sources=_sources(municipality_ids, since),
    )


def _routed(kind: str) -> Count:
    return Count("pk", filter=Q(referrals__kind=kind), distinct=True)


def _count_per_month(received, rows: dict) -> None:
    per_month = (
        received.annotate(month=TruncMonth("received_at"))
        .values("month")
        .annotate(
            received=Count("pk", distinct=True),
            triaged=Count("pk", filter=Q(triaged_at__isnull=False), distinct=True),
            stalking=Count("pk", filter=Q(is_stalking=True), distinct=True),
            not_stalking=Count("pk", filter=Q(is_stalking=False), distinct=True),
            to_coordinator=_routed(ReferralKind.TO_COORDINATOR),
            to_police=_routed(ReferralKind.TO_POLICE),
            to_dsc=_routed(ReferralKind.TO_DSC),
            closed=Count("pk", filter=Q(state=CaseState.CLOSED), distinct=True),
        )
        .order_by()
    )
    for counts in per_month:
        month = counts.pop("month")
        row = rows.get(month.date() if isinstance(month, datetime.datetime) else month)
        if row is None:  # a month at the edge in another time zone than the database's
            continue
        row.received, row.triaged = counts.pop("received"), counts.pop("triaged")
        for name, value in counts.items():
            setattr(row, name, Small(value))
        # Every triaged case is stalking or not: the two add up to the shown "triaged".
        row.stalking, row.not_stalking = protect([row.stalking, row.not_stalking])


def _triage_times(received, rows: dict) -> None:
    """Calendar days from received to triaged, per month received; within the deadline when
    triaged on or before the case's deadline day (working days, set when it was received)."""
    triaged = received.filter(triaged_at__isnull=False).values_list(
        "received_at", "triaged_at", "triage_deadline"
    )
    for received_at, triaged_at, deadline in triaged:
        row = rows.get(_month_start(timezone.localdate(received_at)))
        if row is None:
            continue
        triaged_day = timezone.localdate(triaged_at)
        row.days_to_triage.append((triaged_day - timezone.localdate(received_at)).days)
        row.within_deadline += triaged_day <= deadline


def _outcomes(closed) -> list[tuple[str, Small]]:
    labels = dict(ClosingReason.choices)
    counts = dict(
        closed.values_list("closing_reason").annotate(n=Count("pk")).order_by("closing_reason")
    )
    reasons = [r for r in ClosingReason.values if r != ClosingReason.MERGED]
    cells = protect([Small(counts.get(reason, 0)) for reason in reasons])
    return [(str(labels[reason]), cell) for reason, cell in zip(reasons, cells, strict=True)]


def _sources(municipality_ids, since) -> list[tuple[str, Small]]:
    """Where the referrals to the visitator came from: the first contact's unit, or the
    organisation (the police, for mutual referrals) when no unit is known."""
    referrals = (
        Referral.objects.filter(
            kind=ReferralKind.TO_VISITATOR,
            to_organisation__in=municipality_ids,
            created_at__gte=since,
        )
        .values("from_unit__name", "from_organisation__name", "from_organisation__kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    totals: dict[str, int] = {}
    for row in referrals:
        if row["from_unit__name"]:
            name = row["from_unit__name"]
        elif row["from_organisation__kind"] == OrganisationKind.MUNICIPALITY:
            name = _("Enhed ikke oplyst")
        else:
            name = row["from_organisation__name"]
        totals[name] = totals.get(name, 0) + row["n"]
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    # The sources add up to (nearly) the referrals received, which the page shows.
    cells = protect([Small(n) for _, n in ordered])
    return [(name, cell) for (name, _), cell in zip(ordered, cells, strict=True)]
