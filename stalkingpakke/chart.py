"""The incident log's timeline chart: entries per ISO week, stacked by kind of behaviour
(per month when the log spans more than MAX_WEEKS weeks).

Rendered on the server with matplotlib's `Figure` API (never pyplot, which keeps global state
in long-lived workers) as SVG with text kept as text, so the same picture goes into the PDF
(WeasyPrint draws it with the embedded IBM Plex Sans) and onto the case page as an <img>.
An entry with several kinds of behaviour counts once under each of them.
"""

import datetime
import io
import math
from collections import Counter
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import MaxNLocator

FONT_DIR = (
    Path(__file__).resolve().parent.parent / "static/vendor/dkfds/fonts/IBMPlexSans/complete/ttf"
)
FONT_FAMILY = "IBM Plex Sans"
for _name in ("IBMPlexSans-Regular.ttf", "IBMPlexSans-Bold.ttf"):
    if (FONT_DIR / _name).is_file():
        font_manager.fontManager.addfont(str(FONT_DIR / _name))

# Set once when the module is imported (not per call, so no thread ever sees half-set values):
# text stays text in the SVG, ids are stable, the project's font measures the labels.
matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "samvirke-timeline",
        "font.family": [FONT_FAMILY, "DejaVu Sans"],
        "font.size": 8,
        "axes.titlesize": 9,
        "legend.fontsize": 7.5,
    }
)

UNSPECIFIED = "unspecified"
# Distinguishable colours (Okabe-Ito first), in the order of the behaviour list.
COLOURS = {
    "calls": "#0072B2",
    "messages": "#56B4E9",
    "social_media": "#009E73",
    "following": "#E69F00",
    "at_home": "#D55E00",
    "at_work": "#CC79A7",
    "through_others": "#F0E442",
    "gifts": "#8C6BB1",
    "threats": "#B2182B",
    "damage": "#6B4226",
    "tracking": "#1B3A5C",
    "other": "#9E9E9E",
    UNSPECIFIED: "#D9D9D9",
}
MAX_TICKS = 12
# A log longer than this many weeks is drawn per month: some hundred weekly bars are still
# readable on a page, several hundred are not.
MAX_WEEKS = 130
MONTHS = (
    "jan.",
    "feb.",
    "mar.",
    "apr.",
    "maj",
    "jun.",
    "jul.",
    "aug.",
    "sep.",
    "okt.",
    "nov.",
    "dec.",
)


def default_labels() -> dict[str, str]:
    from .models import Behaviour

    labels = {key: str(label) for key, label in Behaviour.choices}
    labels[UNSPECIFIED] = "Ikke angivet"
    return labels


def _local_date(value: datetime.datetime) -> datetime.date:
    if value.tzinfo is not None:
        from django.utils import timezone

        value = timezone.localtime(value)
    return value.date()


def weekly_counts(entries) -> tuple[list[datetime.date], dict[str, list[int]]]:
    """Monday of every week from the first to the last entry (empty weeks included), and per
    kind of behaviour the number of entries in each of those weeks."""
    return _counts(entries, _monday, lambda day, i: day + datetime.timedelta(weeks=i))


def monthly_counts(entries) -> tuple[list[datetime.date], dict[str, list[int]]]:
    """The same per calendar month (the first of every month)."""
    return _counts(entries, lambda day: day.replace(day=1), _add_months)


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def _add_months(day: datetime.date, months: int) -> datetime.date:
    year, month = divmod(day.month - 1 + months, 12)
    return datetime.date(day.year + year, month + 1, 1)


def _counts(entries, period_of, step):
    per_period: dict[datetime.date, Counter] = {}
    for entry in entries:
        period = period_of(_local_date(entry.occurred_at))
        kinds = entry.behaviours or [UNSPECIFIED]
        per_period.setdefault(period, Counter()).update(dict.fromkeys(kinds, 1))
    if not per_period:
        return [], {}
    first, last = min(per_period), max(per_period)
    periods = [first]
    while periods[-1] < last:
        periods.append(step(first, len(periods)))
    kinds = sorted({k for c in per_period.values() for k in c}, key=_kind_order)
    series = {kind: [per_period.get(p, {}).get(kind, 0) for p in periods] for kind in kinds}
    return periods, series


def _kind_order(kind: str) -> int:
    order = list(COLOURS)
    return order.index(kind) if kind in order else len(order)


def _week_label(monday: datetime.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"uge {week}\n{year}"


def _month_label(first: datetime.date) -> str:
    return f"{MONTHS[first.month - 1]}\n{first.year}"


def timeline_svg(entries, labels: dict[str, str] | None = None) -> str:
    """The chart as an SVG document (text as text, font IBM Plex Sans)."""
    labels = {**default_labels(), **(labels or {})}
    entries = list(entries)
    weeks, series = weekly_counts(entries)
    per, label = "uge", _week_label
    if len(weeks) > MAX_WEEKS:
        weeks, series = monthly_counts(entries)
        per, label = "måned", _month_label
    figure = Figure(figsize=(7.2, 3.1), layout="constrained")
    axes = figure.add_subplot()
    if not weeks:
        axes.text(0.5, 0.5, "Ingen registreringer", ha="center", va="center")
        axes.set_axis_off()
    else:
        # One path per kind with all its bars (not one patch per bar): a few SVG elements
        # instead of thousands, for matplotlib and for WeasyPrint.
        bottom = [0] * len(weeks)
        half = (0.8 if len(weeks) > 1 else 0.5) / 2
        handles = []
        for kind, counts in series.items():
            vertices, codes = [], []
            for x, (n, b) in enumerate(zip(counts, bottom, strict=True)):
                if n:
                    vertices += [(x - half, b), (x + half, b), (x + half, b + n), (x - half, b + n)]
                    vertices.append((x - half, b))
                    codes += [MplPath.MOVETO, *[MplPath.LINETO] * 3, MplPath.CLOSEPOLY]
            colour = COLOURS.get(kind, "#777777")
            axes.add_patch(PathPatch(MplPath(vertices, codes), facecolor=colour, linewidth=0))
            handles.append(Patch(facecolor=colour, label=labels.get(kind, kind)))
            bottom = [b + n for b, n in zip(bottom, counts, strict=True)]
        axes.set_ylim(0, max(bottom) * 1.08)
        step = max(1, math.ceil(len(weeks) / MAX_TICKS))
        ticks = list(range(0, len(weeks), step))
        axes.set_xticks(ticks, [label(weeks[i]) for i in ticks])
        axes.set_xlim(-0.6, len(weeks) - 0.4)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(f"Registreringer pr. {per}")
        axes.grid(axis="y", color="#DDDDDD", linewidth=0.6)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.22),
            ncols=min(4, len(series)),
            frameon=False,
            handlelength=1.2,
            columnspacing=1.2,
        )
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
