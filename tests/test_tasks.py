import datetime

from django.core import mail

from cases.models import Case
from cases.tasks import remind_overdue_triage


def test_overdue_reminder_mails_visitator_and_deputy_a_count_without_names(world):
    world.visitator.email = "v@example.invalid"
    world.visitator.save()
    world.deputy_visitator.email = "d@example.invalid"
    world.deputy_visitator.save()
    case = world.refer(full_name="Hemmelig Person")
    world.refer()  # not overdue
    Case.objects.filter(pk=case.pk).update(triage_deadline=datetime.date(2020, 1, 1))

    assert remind_overdue_triage.delay().get() == 1

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["d@example.invalid", "v@example.invalid"]
    assert " 1 henvisninger" in message.body
    assert "Hemmelig" not in message.body and case.reference not in message.body


def test_no_reminder_when_nothing_is_overdue(world):
    world.refer()
    assert remind_overdue_triage.delay().get() == 0
    assert mail.outbox == []
