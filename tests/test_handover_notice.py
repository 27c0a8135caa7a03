"""Skift ansvarlig done by someone else: the former coordinator is mailed that the case has
left them (cases.alerts, the CaseNotice outbox and the referral mails' relay), once, with the
municipality and a link to their list, nothing about the case, the person, the new coordinator
or the reason. Not a coordinator who hands over their own case, nor one marked on the person."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from cases import alerts, services, tasks
from cases.models import CaseNotice, Disqualification, NoticeKind, Referral
from cooperation.models import Role, RoleAssignment
from tests.mail import as_sent

from .factories import user_with_role

pytestmark = pytest.mark.django_db

User = get_user_model()
NAME = "Zenobia Kvasirhøj"
CPR = "0707614285"
FORMER = "koordinator@kommune.example"
NEW = "ny.koordinator@kommune.example"
REASON = "Sygemeldt i tre måneder"


@pytest.fixture
def second(world):
    """A second coordinator; both coordinators have an address on their role."""
    user = user_with_role(Role.COORDINATOR, world.municipality, username="coordinator2")
    RoleAssignment.objects.filter(user=user).update(email=NEW)
    RoleAssignment.objects.filter(user=world.coordinator).update(email=FORMER)
    return User.objects.get(pk=user.pk)


def _case(world):
    case = world.active(full_name=NAME, cpr=CPR)
    # The triage's referral notice to the coordinator is not ours here.
    Referral.objects.update(alerted_at=timezone.now())
    return case


def _reassign(world, case, to_user, actor=None):
    return services.reassign(
        actor=actor or world.visitator, case=case, to_user=to_user, reason=REASON
    )


def _handed_away():
    return CaseNotice.objects.filter(kind=NoticeKind.HANDED_AWAY)


def test_the_former_coordinator_is_mailed_once_when_the_visitator_hands_their_case_away(
    world, second, mailoutbox, django_capture_on_commit_callbacks
):
    case = _case(world)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _reassign(world, case, second)

    assert sorted(mail.to[0] for mail in mailoutbox) == [FORMER, NEW]
    [mail] = [mail for mail in mailoutbox if mail.to == [FORMER]]
    assert world.municipality.name in mail.body
    assert reverse("cases:my_cases") in mail.body
    whole = "\n".join([mail.subject, mail.body, as_sent(mail)])
    untold = (NAME, "Zenobia", "Kvasir", CPR, "070761", "Sygemeldt", "coordinator2", case.reference)
    for secret in untold:
        assert secret not in whole
    assert second.get_full_name() not in whole
    [notice] = _handed_away()
    assert notice.case == case and notice.to_user == world.coordinator
    assert notice.sent_at is not None
    assert tasks.relay_referral_alerts() == 0  # nothing left to send


def test_a_coordinator_handing_over_their_own_case_is_not_mailed(
    world, second, mailoutbox, django_capture_on_commit_callbacks
):
    case = _case(world)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _reassign(world, case, second, actor=world.coordinator)

    assert [mail.to for mail in mailoutbox] == [[NEW]]
    assert not _handed_away().exists()


def test_the_relay_sends_the_former_coordinator_the_notice_the_broker_never_got(
    world, second, mailoutbox
):
    case = _case(world)
    _reassign(world, case, second)  # no on_commit here: nothing was queued
    mailoutbox.clear()

    assert tasks.relay_referral_alerts() == 2  # the new coordinator's referral, our notice

    assert sorted(mail.to[0] for mail in mailoutbox) == [FORMER, NEW]
    assert not alerts.due_notices().exists()


def test_a_former_coordinator_disqualified_before_the_mail_went_out_is_not_mailed(
    world, second, mailoutbox, caplog
):
    """The visitator hands the case away to disqualify its coordinator: once marked, the
    coordinator is told nothing more of the case, also by a mail still in the outbox."""
    case = _case(world)
    _reassign(world, case, second)
    services.disqualify(
        actor=world.visitator, case=case, user=world.coordinator, reason="Kender borgeren"
    )
    mailoutbox.clear()

    with caplog.at_level(logging.WARNING, logger="cases.alerts"):
        tasks.relay_referral_alerts()

    assert FORMER not in [address for mail in mailoutbox for address in mail.to]
    notice = _handed_away().get()
    assert notice.sent_at is not None
    assert (
        f"Case notice {notice.pk} (handed_away): no e-mail to send it to in organisation "
        f"{world.municipality.pk}"
    ) in caplog.messages


def test_a_former_coordinator_marked_on_another_case_of_the_person_is_not_mailed(
    world, second, mailoutbox, django_capture_on_commit_callbacks
):
    """A conflict that could not be shared (a referral forwarded in) leaves the mark on the
    person's other case; the coordinator handed away for it gets no mail either."""
    other = world.refer(full_name=NAME, cpr=CPR)
    case = _case(world)
    Disqualification.objects.create(
        case=other, user=world.coordinator, reason="Nabo", created_by=world.visitator
    )
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _reassign(world, case, second)

    assert [mail.to for mail in mailoutbox] == [[NEW]]
    assert not _handed_away().exists()


def test_a_former_coordinator_whose_role_ended_is_not_mailed(
    world, second, mailoutbox, django_capture_on_commit_callbacks
):
    """They have left: no list the case could have left, and nobody to log as unreachable."""
    case = _case(world)
    RoleAssignment.objects.filter(user=world.coordinator).update(valid_to="2020-12-31")
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _reassign(world, case, second)

    assert [mail.to for mail in mailoutbox] == [[NEW]]
    assert not _handed_away().exists()


def test_a_visitator_responsible_for_a_partner_only_case_is_not_mailed(
    world, second, mailoutbox, django_capture_on_commit_callbacks
):
    """Routed only to DSC, the case's responsible is the visitator, who keeps reading it."""
    case = world.active(dsc=True, coordinator=False)
    Referral.objects.update(alerted_at=timezone.now())
    RoleAssignment.objects.filter(user=world.visitator).update(email="visitator@kommune.example")
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _reassign(world, case, second, actor=world.deputy_visitator)

    assert [mail.to for mail in mailoutbox] == [[NEW]]
    assert not _handed_away().exists()


def test_the_form_says_the_former_coordinator_is_told_only_when_they_are(client, world, second):
    case = _case(world)
    url = reverse("cases:reassign", args=[case.reference])
    told = "får besked på e-mail om, at sagen har fået en anden koordinator"
    client.force_login(world.visitator)
    assert told in client.get(url).content.decode()
    client.force_login(world.coordinator)
    assert told not in client.get(url).content.decode()
