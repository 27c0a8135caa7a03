"""The follow-up group's figures: referrals, time to triage, routes, outcomes and where the
referrals come from, per month. Counts only: never a case, a reference or a person.

A breakdown (a route, an outcome, a unit) counted one to four times is hidden: in a small
municipality "one referral from the school in March, sent to the police" can point to a
person. Where the cells of a breakdown add up to a number that is shown (stalking and not
stalking make the month's triaged cases), one hidden cell could be worked out by subtraction,
so a second cell of the group is hidden with it. Every hidden cell looks the same ("×"),
whatever it is and whyever it is hidden: were 1 to 4 marked apart, the second cell's mark
would say that it is 0 (or 5 and more), and with it what the first one is. A median needs
five cases and a share ten (at five, "80 %" would say that exactly one was late).

A "0" can give a few away as well: with one referral in a month, "×" for the police next to
"0" for DSC says where it went. So the parts of a number that is 1 to 4 or hidden are all
hidden, zeros included: every breakdown of a month with 1 to 4 referrals; the routes when
the month's stalking cases are hidden (only they are routed); "closed" when the cases that
are not stalking are hidden (they are closed at once, so "closed 0" would say that none
was); and all of a period's table (outcomes, sources) when it counts 1 to 4 cases, or adds 1
to 4 to the same table of a shorter period. The number of referrals and of cases triaged a
month are shown as they are: they say nothing about whom.

Several municipalities together: someone in the follow-up group of more than one municipality
can see each alone and all of them together, so a municipality's hidden cell would be "all
minus the others". A cell of the combined view is therefore hidden when the same cell is hidden
in any one municipality's own view (for whatever reason), and the combined view then gets its
own second cell hidden where needed. What the combined view shows is then only ever the sum
of numbers each municipality's own view shows.

Several periods: the tables of a period (outcomes, where the referrals come from) can be asked
for 6, 12 and 24 months, and 12 months minus 6 would give the months 7 to 12. A cell of a
period is therefore also hidden when it differs from the same cell of any shorter period the
page offers by 1 to 4. Cells hidden in the shorter period stay safe: the second cell hidden
with them means that their difference is never the only one unknown. The month rows are the
same whatever the period, and are not affected.

The same page: the outcomes of a period count the cases of its month rows again. A case
judged not stalking is closed at once as "Ikke stalking", so that outcome is the months' "not
stalking" added up, and all the outcomes are the months' "closed" added up (less the cases
received before the period). A month's hidden cell could be one of those sums minus the shown
cells, so the outcomes are hidden with the month rows in mind (`_against_months`); the test
suite checks all these relations together on random figures for hidden cells they determine.

No count of the cases waiting for triage now: the visitators have it on their dashboard,
without the cases they are marked on (inhabil), and one also in the follow-up group would see
the difference, i.e. that the person has been referred again.

The share within the deadline is a count too (of the cases triaged in time), so the same goes
for it: a month's share of several municipalities is shown only when none of them has 1 to 9
cases that month, and the period's share only when whatever it adds to the shares shown (the
months whose share is not shown, the months a shorter period leaves out) holds no case or at
least ten, and, for several municipalities, when each one shows its own or has no case.
"""

import datetime
import statistics as stats
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from cooperation.models import OrganisationKind

from .models import Case, CaseState, ClosingReason, Referral, ReferralKind

SMALL = 5  # breakdowns below this are hidden; a median needs this many cases
SHARE_MIN = 10  # a share (per cent) needs this many cases
PERIODS = (6, 12, 24)  # months the page can show


HIDDEN = "×"  # every hidden cell, whatever it is: 0, 1 to 4 or more


def _few(n: int) -> bool:
    return 0 < n < SMALL


@dataclass(frozen=True)
class Small:
    """A count of a breakdown: shown as it is from SMALL up (and at 0), hidden from 1 to 4,
    and hidden whatever it is when it would give a hidden one away (`suppressed`). A hidden
    cell is always shown as HIDDEN: a mark of its own for 1 to 4 would tell that a cell
    hidden next to it is 0 or at least 5, and so what the hidden ones are."""

    value: int
    suppressed: bool = False

    @property
    def hidden(self) -> bool:
        return self.suppressed or _few(self.value)

    def __str__(self) -> str:
        return HIDDEN if self.hidden else str(self.value)

    def as_html(self) -> str:
        """For the page ({{ cell.as_html }}): a screen reader would read "×" as "multiplied
        by", so the mark is seen and a word is heard."""
        if not self.hidden:
            return str(self.value)
        return format_html(
            '<span aria-hidden="true">{}</span><span class="sr-only">{}</span>',
            HIDDEN,
            _("skjult tal"),
        )


def _hidden(cell: Small) -> Small:
    return Small(cell.value, suppressed=True)


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


# to_unit, to_external: cases the coordinator referred onward (ONWARD_KINDS) to a department
# of the municipality or an actor outside it, counted with the month the case was received in.
ROUTES = (
    "stalking",
    "not_stalking",
    "to_coordinator",
    "to_police",
    "to_dsc",
    "to_unit",
    "to_external",
    "closed",
)
# Only a case triaged as stalking is routed: these are parts of the month's stalking cases.
STALKING_ROUTES = ("to_coordinator", "to_police", "to_dsc", "to_unit", "to_external")


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
    to_unit: Small = Small(0)
    to_external: Small = Small(0)
    closed: Small = Small(0)
    days_to_triage: list[int] = field(default_factory=list, repr=False)
    within_deadline: int = 0
    share_hidden: bool = False  # one of several municipalities has too few cases for a share

    @property
    def median_days(self) -> float | None:
        return stats.median(self.days_to_triage) if len(self.days_to_triage) >= SMALL else None

    @property
    def within_deadline_percent(self) -> int | None:
        n = len(self.days_to_triage)
        shown = n >= SHARE_MIN and not self.share_hidden
        return round(100 * self.within_deadline / n) if shown else None


@dataclass
class Figures:
    months: list[Month]
    first_month: datetime.date
    received: int
    triaged: int
    median_days: float | None
    within_deadline_percent: int | None
    outcomes: list[tuple[str, Small]]
    sources: list[tuple[str, Small]]


def _month_start(day: datetime.date, back: int = 0) -> datetime.date:
    index = day.year * 12 + day.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def _as_month(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


# Counts as the database gives them, before anything is hidden: per (municipality, month).
PerMonth = dict[tuple[int, datetime.date], dict[str, int]]


def _period(today: datetime.date, months: int) -> tuple[datetime.date, list[datetime.date]]:
    """The first month of the last `months` months (this month included), and those months."""
    first = _month_start(today, months - 1)
    return first, [_month_start(first, -i) for i in range(months)]


def figures(municipality_ids, *, months: int = 12, today: datetime.date | None = None) -> Figures:
    """The figures of the last `months` months (this month included) for the municipalities.

    Every query is grouped by municipality as well, so that each municipality's own view (what
    `figures([one])` shows) is worked out from the same rows as the combined one, at no extra
    query per municipality."""
    today = today or timezone.localdate()
    ids = sorted(set(municipality_ids))
    first, months_of_period = _period(today, months)
    since = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    # Merged cases were the same person referred twice: counted once, in the case kept.
    cases = Case.objects.filter(municipality__in=ids).exclude(closing_reason=ClosingReason.MERGED)
    received = cases.filter(received_at__gte=since)
    calendar = set(months_of_period)
    return page(
        ids,
        months=months,
        today=today,
        per_month=_count_per_month(received, calendar),
        times=_triage_times(received, calendar),
        closed=_outcomes(cases.filter(state=CaseState.CLOSED, closed_at__gte=since)),
        referred=_sources(ids, since),
    )


def page(
    ids: list[int],
    *,
    months: int,
    today: datetime.date,
    per_month: PerMonth,
    times: dict,
    closed: PerMonth,
    referred: PerMonth,
) -> Figures:
    """The page of `figures`, from the counts as the database gives them: what is hidden is
    decided here, from nothing but these counts."""
    first, calendar = _period(today, months)
    own = {m: _rows([m], calendar, per_month, times) for m in ids}
    rows = own[ids[0]] if len(ids) == 1 else _rows(ids, calendar, per_month, times, own)
    reasons = [r for r in ClosingReason.values if r != ClosingReason.MERGED]
    # The shorter periods the page offers start later; they are worked out from the same rows.
    shorter = [n for n in PERIODS if n < months]
    starts = [_month_start(today, n - 1) for n in shorter] + [first]

    def month_rows(municipalities) -> Iterable[Month]:
        return (own[municipalities[0]] if len(municipalities) == 1 else rows).values()

    outcomes = _table(ids, closed, starts, keys=reasons, month_rows=month_rows)
    labels = dict(ClosingReason.choices)
    sources = _table(ids, referred, starts)

    ordered = sorted(rows.values(), key=lambda m: m.month, reverse=True)
    all_days = [d for m in ordered for d in m.days_to_triage]
    share = _share(ordered, shorter)
    if len(ids) > 1 and share is not None:
        for m in ids:
            own_rows = sorted(own[m].values(), key=lambda r: r.month, reverse=True)
            if _share(own_rows, shorter) is None and any(r.days_to_triage for r in own_rows):
                share = None  # that municipality's share would be the combined minus the others
    return Figures(
        months=ordered,
        first_month=first,
        received=sum(m.received for m in ordered),
        triaged=sum(m.triaged for m in ordered),
        median_days=stats.median(all_days) if len(all_days) >= SMALL else None,
        within_deadline_percent=share,
        outcomes=[(str(labels[reason]), cell) for reason, cell in outcomes.items()],
        sources=_named_when_shown(sources),
    )


def _named_when_shown(sources: dict[str, Small]) -> list[tuple[str, Small]]:
    """The units with a count shown, and one row for the others: the name of a unit whose
    count is hidden would still tell that a referral came from it (a school, the police)."""
    shown = [(name, cell) for name, cell in sources.items() if not cell.hidden]
    if len(shown) < len(sources):
        shown.append((_("Andre enheder"), Small(0, suppressed=True)))
    return shown


def hide(
    counts: dict[str, int],
    *,
    parts: Iterable[dict[str, Small]] = (),
    shorter: Iterable[dict[str, int]] = (),
    group: Sequence[str] = (),
    few: bool = False,
    also: Iterable[str] = (),
) -> dict[str, Small]:
    """The cells of one table of one view. A count of 1 to 4 is hidden; so is a cell hidden in
    any of `parts` (each municipality's own view, when this view is of several), and one that
    differs by 1 to 4 from the same count in any of `shorter` (the same view for a shorter
    period), and the cells `also` (hidden for what another table on the page would give away).
    Every cell is hidden, zeros included, when the cells are parts of 1 to 4 cases
    (`few`): a "0" next to a hidden cell would tell which part the few are not in. Then, if
    the cells of `group` add up to a shown total, a second one is hidden with a lone hidden
    one."""
    parts, shorter, also = list(parts), list(shorter), set(also)

    def suppressed(key: str, n: int) -> bool:
        return (
            few
            or key in also
            or any(key in part and part[key].hidden for part in parts)
            or any(0 < n - counts.get(key, 0) < SMALL for counts in shorter)
        )

    cells = {key: Small(n, suppressed=suppressed(key, n)) for key, n in counts.items()}
    cells.update(zip(group, protect([cells[key] for key in group]), strict=True))
    return cells


def _share(rows: list[Month], shorter: Sequence[int] = ()) -> int | None:
    """The share within the deadline of the months `rows` (newest first), or None. It needs ten
    cases, and so does each part it gives away when the shown shares are taken from it: the
    months whose own share is not shown, and the months left out by each shorter period (the
    first `n` rows), of which the page may show the share as well."""
    regions = [rows] + [rows[n:] for n in shorter]
    for i, region in enumerate(regions):
        size = sum(len(r.days_to_triage) for r in region)
        unknown = sum(len(r.days_to_triage) for r in region if r.within_deadline_percent is None)
        if (i == 0 and size < SHARE_MIN) or 0 < size < SHARE_MIN or 0 < unknown < SHARE_MIN:
            return None
    within = sum(r.within_deadline for r in rows)
    return round(100 * within / sum(len(r.days_to_triage) for r in rows))


def _rows(ids, calendar, per_month: PerMonth, times, own=None) -> dict[datetime.date, Month]:
    """The month rows of the municipalities `ids` together; `own` (each one's own rows) is
    given when there are several, and a cell hidden in one of them is hidden here too."""
    rows = {}
    for month in calendar:
        row = Month(month)
        counts = dict.fromkeys(("received", "triaged", *ROUTES), 0)
        for m in ids:
            for name, n in per_month.get((m, month), {}).items():
                counts[name] += n
            for days, within in times.get((m, month), ()):
                row.days_to_triage.append(days)
                row.within_deadline += within
        row.received, row.triaged = counts.pop("received"), counts.pop("triaged")
        parts = [{name: getattr(own[m][month], name) for name in ROUTES} for m in own or ()]
        # The cells are all parts of the month's referrals: of 1 to 4, none is shown. Every
        # triaged case is stalking or not: the two add up to the shown "triaged" (of 1 to 4,
        # one of them is 1 to 4, and the other is hidden with it).
        group = ("stalking", "not_stalking")
        cells = hide(counts, parts=parts, group=group, few=_few(row.received))
        # Only stalking cases are routed: with their number hidden, a route's "0" would say
        # where the few did not go.
        if cells["stalking"].hidden:
            cells.update({name: _hidden(cells[name]) for name in STALKING_ROUTES})
        # A case judged not stalking is closed at once: "closed 0" would say that none was.
        if cells["not_stalking"].hidden:
            cells["closed"] = _hidden(cells["closed"])
        row.share_hidden = any(0 < len(own[m][month].days_to_triage) < SHARE_MIN for m in own or ())
        for name, cell in cells.items():
            setattr(row, name, cell)
        rows[month] = row
    return rows


def _sum(ids, per_month: PerMonth, since: datetime.date, keys=()) -> dict[str, int]:
    totals = dict.fromkeys(keys, 0)
    for (m, month), counts in per_month.items():
        if m in ids and month >= since:
            for key, n in counts.items():
                if key in totals or not keys:
                    totals[key] = totals.get(key, 0) + n
    return totals


def _table(
    ids, per_month: PerMonth, starts: list[datetime.date], keys=(), month_rows=None
) -> dict[str, Small]:
    """A table of the period that starts at `starts[-1]` (outcomes, sources), checked against
    the shorter periods starting at `starts[:-1]`: each municipality's own cells first, then,
    for several, the combined cells hidden wherever one of those is. The cells are taken to
    add up to a shown total (the sources nearly make the referrals received). For the outcomes,
    `month_rows(municipalities)` gives the month rows shown with them, see `_against_months`."""

    def cells(municipalities, parts=()):
        *shorter, counts = (_sum(municipalities, per_month, start, keys) for start in starts)
        if not keys:  # the largest first
            counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        # The table is of 1 to 4 cases, or so is what it adds to a shorter period's: all hidden.
        whole = sum(counts.values())
        few = _few(whole) or any(_few(whole - sum(s.values())) for s in shorter)
        if month_rows is None:
            return hide(counts, parts=parts, shorter=shorter, group=list(counts), few=few)
        return _against_months(
            counts, list(month_rows(municipalities)), parts=parts, shorter=shorter, few=few
        )

    if len(ids) == 1:
        return cells(ids)
    return cells(ids, parts=[cells([m]) for m in ids])


def _against_months(counts: dict[str, int], rows: list[Month], **hiding) -> dict[str, Small]:
    """The outcomes of a period, next to its month rows on the same page. The two tables count
    the same cases twice over: a case judged not stalking is closed at once as "Ikke stalking",
    so the outcome "Ikke stalking" is the months' "not stalking" added up, and all the outcomes
    together are the months' "closed" added up (give or take cases received before the period).
    Either sum, minus the month cells shown, would give a hidden month cell, or a hidden
    outcome minus the others. So:

    - "Ikke stalking" is hidden when a month's "not stalking" is (with it, the sum has two
      cells unknown: the outcome and the month's, whose own "stalking" is hidden too);
    - the other outcomes have two hidden, or none, among themselves when a month's "closed" is
      hidden, or when "Ikke stalking" is hidden although every month shows its "not stalking"
      (then it is the sum of those, and no unknown to pair a hidden outcome with)."""
    not_stalking = ClosingReason.NOT_STALKING
    months_hide_it = any(row.not_stalking.hidden for row in rows)
    cells = hide(
        counts,
        **hiding,
        group=list(counts),
        also=[not_stalking] if months_hide_it else (),
    )
    others = [key for key in counts if key != not_stalking]
    if any(row.closed.hidden for row in rows) or (
        cells[not_stalking].hidden and not months_hide_it
    ):
        if not any(cells[key].hidden for key in others):
            smallest = min(others, key=lambda key: cells[key].value)
            cells[smallest] = _hidden(cells[smallest])
        cells.update(zip(others, protect([cells[key] for key in others]), strict=True))
    return cells


def _routed(kind: str) -> Count:
    return Count("pk", filter=Q(referrals__kind=kind), distinct=True)


def _count_per_month(received, calendar: set) -> PerMonth:
    per_month = (
        received.annotate(month=TruncMonth("received_at"))
        .values("municipality", "month")
        .annotate(
            received=Count("pk", distinct=True),
            triaged=Count("pk", filter=Q(triaged_at__isnull=False), distinct=True),
            stalking=Count("pk", filter=Q(is_stalking=True), distinct=True),
            not_stalking=Count("pk", filter=Q(is_stalking=False), distinct=True),
            to_coordinator=_routed(ReferralKind.TO_COORDINATOR),
            to_police=_routed(ReferralKind.TO_POLICE),
            to_dsc=_routed(ReferralKind.TO_DSC),
            to_unit=_routed(ReferralKind.TO_UNIT),
            to_external=_routed(ReferralKind.TO_EXTERNAL),
            closed=Count("pk", filter=Q(state=CaseState.CLOSED), distinct=True),
        )
        .order_by()
    )
    result = {}
    for counts in per_month:
        month = _as_month(counts.pop("month"))
        if month not in calendar:  # a month at the edge in another time zone than the database's
            continue
        result[counts.pop("municipality"), month] = counts
    return result


def _triage_times(received, calendar: set) -> dict[tuple[int, datetime.date], list]:
    """Calendar days from received to triaged, per municipality and month received, each with
    whether it was within the deadline: triaged on or before the case's deadline day (working
    days, set when it was received)."""
    triaged = received.filter(triaged_at__isnull=False).values_list(
        "municipality", "received_at", "triaged_at", "triage_deadline"
    )
    result: dict[tuple[int, datetime.date], list] = {}
    for municipality, received_at, triaged_at, deadline in triaged:
        month = _month_start(timezone.localdate(received_at))
        if month not in calendar:
            continue
        triaged_day = timezone.localdate(triaged_at)
        days = (triaged_day - timezone.localdate(received_at)).days
        result.setdefault((municipality, month), []).append((days, triaged_day <= deadline))
    return result


def _outcomes(closed) -> PerMonth:
    """Cases closed, per municipality, month closed and reason."""
    rows = (
        closed.annotate(month=TruncMonth("closed_at"))
        .values("municipality", "month", "closing_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    result: PerMonth = {}
    for row in rows:
        counts = result.setdefault((row["municipality"], _as_month(row["month"])), {})
        counts[row["closing_reason"]] = row["n"]
    return result


def _sources(municipality_ids, since) -> PerMonth:
    """Where the referrals to the visitator came from, per municipality and month: the first
    contact's unit, or the organisation (the police, for mutual referrals) when no unit is
    known."""
    referrals = (
        Referral.objects.filter(
            kind=ReferralKind.TO_VISITATOR,
            to_organisation__in=municipality_ids,
            created_at__gte=since,
        )
        .annotate(month=TruncMonth("created_at"))
        .values(
            "to_organisation",
            "month",
            "from_unit__name",
            "from_organisation__name",
            "from_organisation__kind",
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    result: PerMonth = {}
    for row in referrals:
        if row["from_unit__name"]:
            name = row["from_unit__name"]
        elif row["from_organisation__kind"] == OrganisationKind.MUNICIPALITY:
            name = _("Enhed ikke oplyst")
        else:
            name = row["from_organisation__name"]
        counts = result.setdefault((row["to_organisation"], _as_month(row["month"])), {})
        counts[name] = counts.get(name, 0) + row["n"]
    return result
