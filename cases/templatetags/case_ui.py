"""Cheap per-row markup for the case lists: one function call instead of an {% include %}."""

import datetime
from functools import cache, lru_cache

from django import template
from django.template.defaultfilters import linebreaksbr
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, ngettext

from cases.access import ACTOR_FOR_FULL_ACCESS_ONLY, SUMMARY_FOR_FULL_ACCESS_ONLY
from cases.models import CaseState, Consent, ReferralStatus

register = template.Library()

_STATE_ICON = {CaseState.CLOSED: "lock", CaseState.ACTIVE: "check"}


@cache
def _icon(name: str) -> str:
    return format_html(
        '<svg class="icon-svg" focusable="false" aria-hidden="true"><use href="{}#{}"></use></svg>',
        static("vendor/dkfds/img/all-svg-icons.svg"),
        name,
    )


@register.simple_tag
def icon(name):
    return _icon(name)


@cache
def _state_badge(state: str, language: str) -> str:
    return format_html(
        '<span class="badge samvirke-state samvirke-state--{}">{}{}</span>',
        state,
        _icon(_STATE_ICON.get(state, "hourglass")),
        str(CaseState(state).label),
    )


@register.simple_tag
def state_badge(case):
    return _state_badge(case.state, get_language())


@register.simple_tag(takes_context=True)
def deadline(context, case):
    day, today = case.triage_deadline, context["today"]
    if day < today:
        return format_html(
            '<strong class="badge badge-error samvirke-overdue">{}{}: {}</strong>',
            _icon("error"),
            gettext("Overskredet"),
            _day(day, get_language()),
        )
    if day == today:
        return format_html(
            '<span class="badge badge-warning">{}{}</span>', _icon("warning"), gettext("I dag")
        )
    return _day(day, get_language())


@cache
def _labels(model, field_name: str, language: str) -> dict:
    field = model._meta.get_field(field_name)
    return {value: str(label) for value, label in field.flatchoices}


@register.filter
def display(obj, field_name):
    """{{ event|display:"kind" }} is get_kind_display() without translating every choice."""
    value = getattr(obj, field_name)
    return _labels(type(obj), field_name, get_language()).get(value, value)


@cache
def _case_url_pattern(script_prefix: str) -> str:
    return reverse("cases:detail", kwargs={"reference": "__ref__"})


@register.simple_tag
def case_url(case):
    """case.get_absolute_url() without a reverse() per row."""
    return _case_url_pattern(get_script_prefix()).replace("__ref__", iri_to_uri(case.reference))


# ---- whole table rows ----------------------------------------------------------------------
# The list pages show 25 rows; as template loops with a tag or filter per cell they cost about
# 120 microseconds a row, half of a dashboard's rendering (bench/out/profile-*.txt). One
# format_html call per row, with the dates formatted once per day, costs a sixth of that.


@lru_cache(maxsize=4096)
def _day(day: datetime.date, language: str) -> str:
    return date_format(day, "j. b Y")


def _received(case) -> str:
    return _day(timezone.localtime(case.received_at).date(), get_language())


def _age(case, today: datetime.date) -> str:
    days = (today - timezone.localtime(case.received_at).date()).days
    if days < 1:
        return gettext("i dag")
    return ngettext("%(n)d dag", "%(n)d dage", days) % {"n": days}


def _urgency(case) -> str:
    label = _labels(type(case), "urgency", get_language()).get(case.urgency, case.urgency)
    if case.urgency > 1:
        return format_html("<strong>{}{}</strong>", _icon("warning"), label)
    return label


@cache
def _high_risk_mark(language: str) -> str:
    # Text and icon, not colour alone; the words are the mark's accessible name.
    return format_html(
        '<strong class="badge badge-error samvirke-risk-mark">{}{}</strong>',
        _icon("error"),
        gettext("Høj risiko"),
    )


def _risk_mark(case) -> str:
    """The latest assessment has high-risk signs answered yes, where the reader may read the
    assessment (cases.selectors._high_risk, a column of every list's rows)."""
    return _high_risk_mark(get_language()) if case.high_risk else ""


# The column names each cell shows above its value on a narrow screen (.table--stack-narrow in
# samvirke.css): the same words as the column headers in the templates.
@cache
def _queue_labels(language: str) -> tuple[str, ...]:
    """triage_dashboard.html's columns."""
    return (
        gettext("Sag"),
        gettext("Hastegrad"),
        gettext("Modtaget"),
        gettext("Frist"),
        gettext("Status"),
        gettext("Bemærk"),
    )


@cache
def _case_labels(language: str) -> tuple[str, ...]:
    """case_table.html's columns."""
    return (gettext("Sag"), gettext("Kommune"), gettext("Modtaget"), gettext("Status"))


@register.simple_tag(takes_context=True)
def queue_row(context, case):
    """A row of the visitator's triage queue."""
    duplicate = (
        format_html(
            '<span class="badge badge-info">{}{}</span>', _icon("copy"), gettext("Mulig dublet")
        )
        if case.possible_duplicate
        else ""
    )
    risk = _risk_mark(case)
    if case.state == CaseState.IN_TRIAGE and case.coordinator_answer == ReferralStatus.DECLINED:
        declined = format_html(
            '<span class="badge badge-warning">{}</span>', gettext("Afvist af koordinator")
        )
        risk = format_html("{} {}", declined, risk) if risk else declined
    label = _queue_labels(get_language())
    return format_html(
        '<tr role="row"><th scope="row" role="rowheader" data-label="{}">'
        '<a class="samvirke-ref" href="{}">{}</a><br>{}</th><td role="cell" data-label="{}">{}</td>'
        '<td role="cell" data-label="{}"><span class="samvirke-date">{}</span> ({})</td>'
        '<td role="cell" data-label="{}">{}</td><td role="cell" data-label="{}">{}</td>'
        '<td role="cell" data-label="{}">{}{}{}</td></tr>',
        label[0],
        case_url(case),
        case.reference,
        case.full_name,
        label[1],
        _urgency(case),
        label[2],
        _received(case),
        _age(case, context["today"]),
        label[3],
        deadline(context, case),
        label[4],
        state_badge(case),
        label[5],
        risk,
        " " if risk and duplicate else "",
        duplicate,
    )


@register.simple_tag
def case_row(case, show_names):
    """A row of "my cases", "the municipality's cases" and "shared cases"; names only where
    the reader may see them, the high-risk mark beside the state."""
    if not show_names:
        name = ""
    elif case.anonymised_at:
        name = format_html("<br><em>{}</em>", gettext("anonymiseret"))
    else:
        name = format_html("<br>{}", case.full_name)
    risk = _risk_mark(case)
    if risk:
        risk = format_html(" {}", risk)
    label = _case_labels(get_language())
    return format_html(
        '<tr role="row"><th scope="row" role="rowheader" data-label="{}">'
        '<a class="samvirke-ref" href="{}">{}</a>{}</th><td role="cell" data-label="{}">{}</td>'
        '<td role="cell" class="samvirke-date" data-label="{}">{}</td>'
        '<td role="cell" data-label="{}">{}{}</td></tr>',
        label[0],
        case_url(case),
        case.reference,
        name,
        label[1],
        case.municipality.name,
        label[2],
        _received(case),
        label[3],
        state_badge(case),
        risk,
    )


@lru_cache(maxsize=4096)
def _minute(moment: datetime.datetime, language: str) -> str:
    return date_format(moment, "j. b Y H:i")


def _person(user) -> str:
    return user.get_full_name() or user.username if user is not None else ""


def _consent_scope(scope: str) -> str:
    labels = _labels(Consent, "scope", get_language())
    return labels.get(scope, scope).lower()


@register.simple_tag
def timeline_item(event, full=True):
    """An entry of the case's timeline, with the note's text when it is a note. A partner
    (full=False) reads some events without their summary, and a few without who (cases.access)."""
    show_summary = full or event.kind not in SUMMARY_FOR_FULL_ACCESS_ONLY
    summary = format_html(": {}", event.summary) if event.summary and show_summary else ""
    if event.consent_scope and show_summary:  # which kind of information, not just to whom
        summary = format_html("{} ({})", summary, _consent_scope(event.consent_scope))
    show_actor = full or event.kind not in ACTOR_FOR_FULL_ACCESS_ONLY
    note = (
        format_html('<p class="samvirke-note">{}</p>', linebreaksbr(event.note.text))
        if event.note_id
        else ""
    )
    when = _minute(
        timezone.localtime(event.created_at).replace(second=0, microsecond=0), get_language()
    )
    who = format_html(", {}", _person(event.actor)) if show_actor else ""
    return format_html(
        "<li><p><strong>{}</strong> – {}{}{}</p>{}</li>",
        display(event, "kind"),
        when,
        who,
        summary,
        note,
    )


@lru_cache(maxsize=64)
def _empty_filter_fields(form_class, language: str) -> str:
    return render_to_string("cases/filter_fields.html", {"filters": form_class()})


@register.simple_tag
def filter_fields(form):
    """A list's filter fields; without filters chosen (the usual visit) the same for everybody,
    so rendered once per language instead of widget by widget on every request."""
    if form.is_bound:
        return render_to_string("cases/filter_fields.html", {"filters": form})
    return mark_safe(_empty_filter_fields(type(form), get_language()))  # noqa: S308
