"""No personal data in e-mails or log lines (house rule; README "What is logged").

The main journey runs through the pages with a citizen whose name, CPR number and texts are
made up to be found anywhere: referral, triage and routing, a note, the CPR number revealed,
a page someone may not see, the notices that e-mail the coordinator and the police contact
of the referrals to them, the overdue reminder that e-mails the visitator and the deputy,
and two PDFs that fail (one in storage after a real WeasyPrint run, one whose exception
quotes the whole document). Every logger is turned up to DEBUG, also those the settings keep
quiet and those that do not pass records up, and every e-mail is kept; none of them may
carry the name, the CPR number or any of the free texts.
"""

import datetime
import logging
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseState, Urgency
from cases.tasks import remind_overdue_triage
from stalkingpakke import pdf
from stalkingpakke import services as tools
from stalkingpakke.models import Document, DocumentStatus
from tests.mail import as_sent

pytestmark = pytest.mark.django_db

NAME = "Zenobia Kvasirhøj"
CPR = "070761-4285"
REASON = "Zebrafinke-naboen står ved postkassen hver nat"
SAFE_CONTACT = "Kun sms til 2233 9911 efter kl. 17"
REASONING = "Vedvarende forfølgelse fra Zebrafinke-naboen over et halvt år"
NOTE = "Zebrafinke-notat: borgeren har skiftet lås og fået alarm"
GOALS = "Zebrafinke-planen: tryghed i hjemmet og på vejen til arbejde"
# Whole values, and the pieces that would show a value quoted in part.
SECRETS = [NAME, CPR, REASON, SAFE_CONTACT, REASONING, NOTE, GOALS]
FRAGMENTS = ["Kvasir", "Zenobia", "0707614285", "070761", "Zebrafinke", "2233 9911"]


@pytest.fixture
def every_log_line(caplog):
    """caplog at DEBUG on every logger that exists (the settings hold weasyprint, fontTools
    and celery.app.trace at WARNING), and on the loggers that keep their records to
    themselves (propagate=False) as well."""
    caplog.set_level(logging.DEBUG)
    names = [
        name
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    ]
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name)
    detached = [logging.getLogger(n) for n in names if not logging.getLogger(n).propagate]
    for logger in detached:
        logger.addHandler(caplog.handler)
    yield caplog
    for logger in detached:
        logger.removeHandler(caplog.handler)


# What the logging module itself stamps on every record: the clock, thread and process ids.
# Their random digits are no data of ours and would now and then hold "070761".
_LOGGING_OWN = {"created", "msecs", "relativeCreated", "thread", "process", "taskName"}


def _everything_logged(records, caplog) -> str:
    """Each record as the handler writes it (with any traceback), its arguments, and the
    extra attributes a handler could write (a JSON formatter writes them all)."""
    lines = []
    for record in records:
        lines.append(f"{record.name} {record.levelname} {caplog.handler.format(record)}")
        lines.append(repr(record.args))
        skipped = {"args", "msg", *_LOGGING_OWN}
        lines.append(repr({k: v for k, v in vars(record).items() if k not in skipped}))
    return "\n".join(lines)


def _everything_mailed(outbox) -> str:
    parts = []
    for message in outbox:
        parts += [message.subject, message.body, " ".join(message.to + message.cc + message.bcc)]
        parts += [content for content, _type in getattr(message, "alternatives", [])]
        parts.append(as_sent(message))
    return "\n".join(parts)


def _found(text: str) -> list[str]:
    return [s for s in SECRETS + FRAGMENTS if s.lower() in text.lower()]


def test_the_main_journey_puts_no_personal_data_in_logs_or_e_mails(
    world,
    client,
    settings,
    tmp_path,
    monkeypatch,
    mailoutbox,
    every_log_line,
    django_capture_on_commit_callbacks,
):
    caplog = every_log_line
    # Referral by the first contact, through the form.
    client.force_login(world.first_contact)
    response = client.post(
        reverse("cases:referral_create"),
        {
            "municipality": world.municipality.pk,
            "full_name": NAME,
            "person_kind": "citizen",
            "cpr": CPR,
            "safe_contact": SAFE_CONTACT,
            "safe_contact_time": "",
            "urgency": Urgency.HIGH,
            "reason": REASON,
            "relation": "neighbour",
            "stalker_works_in_municipality": "no",
            "consents": ["police:contact", "police:notes", "police:action_plan"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get(full_name=NAME)

    # The same citizen referred again with a CPR number that is wrong: the form says so.
    response = client.post(
        reverse("cases:referral_create"),
        {"municipality": world.municipality.pk, "full_name": NAME, "cpr": "070761-42"},
    )
    assert response.status_code == 200

    # Triage and routing by the visitator: the coordinator and the police contact are mailed.
    for recipient in (world.coordinator, world.police_contact):
        recipient.email = f"{recipient.username}@samvirke.example"
        recipient.save(update_fields=["email"])
    client.force_login(world.visitator)
    assert client.post(reverse("cases:start_triage", args=[case.reference])).status_code == 302
    case.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("cases:triage", args=[case.reference]),
            {
                "version": case.version,
                "is_stalking": "yes",
                "reasoning": REASONING,
                "coordinator": world.coordinator.pk,
                "to_police": "on",
            },
        )
    assert response.status_code == 302
    assert sorted(mail.to[0] for mail in mailoutbox) == [
        "coordinator@samvirke.example",
        "police@samvirke.example",
    ]
    case.refresh_from_db()
    assert case.state == CaseState.ACTIVE

    # The coordinator writes a note, reads the case and the whole CPR number.
    client.force_login(world.coordinator)
    response = client.post(reverse("cases:add_note", args=[case.reference]), {"text": NOTE})
    assert response.status_code == 302
    assert NAME in client.get(case.get_absolute_url()).content.decode()
    response = client.post(reverse("cases:reveal_cpr", args=[case.reference]))
    assert CPR in response.content.decode() or CPR.replace("-", "") in response.content.decode()

    # Someone who may not see the case asks for it (404) and for an action (403).
    client.force_login(world.other_visitator)
    assert client.get(case.get_absolute_url()).status_code == 404
    client.force_login(world.police_contact)
    assert client.get(reverse("cases:close", args=[case.reference])).status_code == 403

    # The overdue reminder e-mails the visitator and the deputy about a second referral.
    world.visitator.email = "visitator@kommune.example"
    world.visitator.save(update_fields=["email"])
    world.deputy_visitator.email = "stedfortraeder@kommune.example"
    world.deputy_visitator.save(update_fields=["email"])
    late = world.refer(full_name=f"{NAME} Junior", reason=REASON, safe_contact=SAFE_CONTACT)
    Case.objects.filter(pk=late.pk).update(
        triage_deadline=timezone.localdate() - datetime.timedelta(days=3)
    )
    assert remind_overdue_triage.delay().get() == 1
    assert len(mailoutbox) == 3
    assert set(mailoutbox[-1].to) == {"visitator@kommune.example", "stedfortraeder@kommune.example"}

    # A PDF that fails in storage after a real WeasyPrint run (MEDIA_ROOT is a file).
    tools.save_action_plan(
        actor=world.coordinator,
        case=case,
        goals=GOALS,
        safety_measures=NOTE,
        next_review=None,
        items=[{"who": NAME, "what": REASON, "deadline": None, "status": "not_started"}],
    )
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    settings.MEDIA_ROOT = blocked
    url = reverse("stalkingpakke:request_document", args=[case.reference, "action_plan"])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 403  # the police may not order documents
        client.force_login(world.coordinator)
        assert client.post(url).status_code == 302
    first = Document.objects.get(case=case)
    assert first.status == DocumentStatus.FAILED

    # A PDF whose renderer fails with a message that quotes the whole document.
    def quoting_failure(html):
        raise RuntimeError(f"layout failed in: {html}")

    monkeypatch.setattr(pdf, "html_to_pdf", quoting_failure)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    second = Document.objects.filter(case=case).latest("pk")
    assert second.pk != first.pk and second.status == DocumentStatus.FAILED
    assert not _found(second.error)

    # The check is not empty: the journey did log, and what it logged names no one.
    logged = _everything_logged(caplog.records, caplog)
    assert re.search(rf"Document {first.pk} could not be made", logged)
    assert re.search(rf"Document {second.pk} could not be made: RuntimeError", logged)
    assert "Not Found" in logged and "Forbidden" in logged
    assert _found(_everything_logged(caplog.records, caplog)) == [], _leaks(caplog.records, caplog)
    assert _found(_everything_mailed(mailoutbox)) == []


def _template_debug(record) -> bool:
    return record.name == "django.template" and record.levelno <= logging.DEBUG


def _leaks(records, caplog) -> list[str]:
    return [
        f"{r.name} {r.levelname}: {r.getMessage()[:200]}"
        for r in records
        if _found(_everything_logged([r], caplog))
    ]


def test_template_debug_records_carry_no_personal_data(world, client, every_log_line):
    """django.template logs, at DEBUG, each variable a template cannot resolve with the whole
    context: on cases/cpr_revealed.html that context holds the CPR number. The filter in
    config/settings.py LOGGING drops those records even with every logger at DEBUG."""
    case = world.active(cpr=CPR)
    client.force_login(world.coordinator)
    url = reverse("cases:reveal_cpr", args=[case.reference])
    assert client.post(url).status_code == 200
    assert [r for r in every_log_line.records if _template_debug(r)] == []
    assert _leaks(every_log_line.records, every_log_line) == []


def test_without_the_filter_the_template_debug_records_would_carry_the_cpr_number(
    world, client, every_log_line, monkeypatch
):
    """The page above really does log the CPR number at DEBUG when nothing stops it: the test
    above proves the filter, not a quiet template."""
    monkeypatch.setattr(logging.getLogger("django.template"), "filters", [])
    case = world.active(cpr=CPR)
    client.force_login(world.coordinator)
    assert client.post(reverse("cases:reveal_cpr", args=[case.reference])).status_code == 200
    records = [r for r in every_log_line.records if _template_debug(r)]
    assert records and _leaks(records, every_log_line) != []
