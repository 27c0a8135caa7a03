"""A disqualification (inhabilitet) protects the person exposed, not one case: the person who
stalks, marked on one case, must not read the person's new safe contact on a second referral,
on a duplicate joined into the case, or on a case that a CPR number later ties to the person.
The municipality's cases of one person are those the duplicate rule matches (the same CPR
number, or the same name and birth date)."""

import datetime
import io

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cases import services
from cases.access import is_disqualified
from cases.models import AuditEntry, Case, CaseState, Disqualification, EventKind
from cases.tasks import remind_overdue_triage
from stalkingpakke import documents
from stalkingpakke.content import load_defaults
from stalkingpakke.models import DocumentKind, DocumentStatus, ToolKind, ToolVersion
from tests.pages import opens

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAME = "Mette Sørensen"
CPR = "0101901234"


def _disqualify(world, case, user):
    return services.disqualify(actor=world.visitator, case=case, user=user, reason="Er stalkeren")


def test_a_new_referral_about_the_person_inherits_the_disqualification(world, client):
    first = world.active(full_name=NAME, cpr=CPR)
    _disqualify(world, first, world.deputy_visitator)

    again = world.refer(full_name=NAME, cpr=CPR, safe_contact="Ny hemmelig 22 33 44 55")

    assert is_disqualified(world.deputy_visitator, again)
    assert not opens(client, world.deputy_visitator, again)
    client.force_login(world.deputy_visitator)
    dashboard = client.get(reverse("cases:triage_dashboard")).content.decode()
    assert again.reference not in dashboard and "Ny hemmelig" not in dashboard


def test_each_mark_a_new_referral_inherits_has_its_own_audit_entry(world):
    first = world.active(full_name=NAME, cpr=CPR)
    _disqualify(world, first, world.deputy_visitator)
    services.disqualify(
        actor=world.visitator, case=first, user=world.police_contact, reason="Familie med borgeren"
    )

    again = world.refer(full_name=NAME, cpr=CPR)

    marked = AuditEntry.objects.filter(case_id=again.pk, what="disqualify")
    assert sorted(marked.values_list("object_id", flat=True)) == sorted(
        [str(world.deputy_visitator.pk), str(world.police_contact.pk)]
    )
    assert {entry.user for entry in marked} == {world.first_contact}


def test_a_new_referral_matches_the_person_by_name_and_birth_date_without_cpr(world, client):
    birth = datetime.date(1990, 1, 1)
    first = world.active(full_name=NAME, birth_date=birth)
    _disqualify(world, first, world.deputy_visitator)

    again = world.refer(full_name=NAME.upper(), birth_date=birth)
    other = world.refer(full_name=NAME, birth_date=birth + datetime.timedelta(days=1))

    assert is_disqualified(world.deputy_visitator, again)
    assert not is_disqualified(world.deputy_visitator, other)
    assert opens(client, world.deputy_visitator, other)


def test_a_new_referral_goes_to_the_deputy_when_the_visitator_is_disqualified_on_the_person(world):
    first = world.active(full_name=NAME, cpr=CPR)
    services.disqualify(
        actor=world.deputy_visitator, case=first, user=world.visitator, reason="Er stalkeren"
    )

    again = world.refer(full_name=NAME, cpr=CPR)

    assert again.responsible == world.deputy_visitator
    assert again.referrals.get().to_user == world.deputy_visitator


def test_a_disqualification_reaches_the_persons_other_cases_in_the_municipality(world, client):
    first = world.refer(full_name=NAME, cpr=CPR)
    again = world.active(full_name=NAME, cpr=CPR)
    elsewhere = world.refer(
        actor=world.police_contact, municipality=world.other_municipality, full_name=NAME, cpr=CPR
    )

    _disqualify(world, first, world.follow_up)
    _disqualify(world, first, world.deputy_visitator)

    assert is_disqualified(world.deputy_visitator, again)
    assert not opens(client, world.deputy_visitator, again)
    assert not Disqualification.objects.filter(case=elsewhere).exists()
    assert again.events.filter(kind=EventKind.DISQUALIFIED).count() == 2
    mark = again.disqualifications.get(user=world.deputy_visitator)
    assert (mark.reason, mark.created_by) == ("Er stalkeren", world.visitator)


def test_a_disqualification_is_refused_when_the_user_owns_another_open_case_of_the_person(world):
    first = world.refer(full_name=NAME, cpr=CPR)
    other = world.active(full_name=NAME, cpr=CPR)  # the coordinator is responsible for it

    with pytest.raises(ValidationError) as refused:
        _disqualify(world, first, world.coordinator)

    assert refused.value.code == "owner"
    assert "Overdrag den sag først" in refused.value.messages[0]
    assert refused.value.other_case_id == other.pk  # for the page to link to, if it may
    assert not Disqualification.objects.exists()


def test_a_disqualification_on_a_duplicate_follows_it_when_it_is_joined(world, client):
    original = world.in_triage(full_name="Anna Holm")
    duplicate = world.refer(
        full_name=NAME, cpr=CPR, reason="Kollegaen fra visitationen venter ved hendes bil"
    )
    _disqualify(world, duplicate, world.deputy_visitator)
    assert opens(client, world.deputy_visitator, original)

    services.join_duplicate(actor=world.visitator, case=duplicate, into=original)

    assert not opens(client, world.deputy_visitator, original)
    assert original.events.filter(kind=EventKind.DISQUALIFIED).exists()


def test_a_disqualification_on_the_case_kept_reaches_the_duplicate_joined_into_it(world, client):
    original = world.in_triage(full_name="Anna Holm")
    _disqualify(world, original, world.deputy_visitator)
    duplicate = world.refer(full_name=NAME, safe_contact="Ny hemmelig 22 33 44 55")
    assert opens(client, world.deputy_visitator, duplicate)

    services.join_duplicate(actor=world.visitator, case=duplicate, into=original)

    # The closed duplicate keeps the person's details and names the case it was joined into.
    assert not opens(client, world.deputy_visitator, duplicate)


def test_a_join_is_refused_when_the_case_kept_belongs_to_one_disqualified_on_the_duplicate(
    world,
):
    original = world.active(full_name="Anna Holm")
    duplicate = world.refer(full_name=NAME)
    _disqualify(world, duplicate, world.coordinator)

    with pytest.raises(ValidationError) as refused:
        services.join_duplicate(actor=world.visitator, case=duplicate, into=original)

    assert refused.value.code == "owner"
    duplicate.refresh_from_db()
    assert duplicate.state == CaseState.REFERRED
    assert not is_disqualified(world.coordinator, original)


def test_a_cpr_number_added_later_ties_the_case_to_the_persons_disqualification(world, client):
    first = world.active(full_name=NAME, cpr=CPR)
    _disqualify(world, first, world.deputy_visitator)
    again = world.refer(full_name="M. Sørensen")
    assert opens(client, world.deputy_visitator, again)

    services.update_person(actor=world.visitator, case=again, details={}, cpr=CPR)

    assert not opens(client, world.deputy_visitator, again)


def test_reopening_does_not_give_the_case_back_to_a_disqualified_coordinator(world):
    case = world.closed()
    _disqualify(world, case, world.coordinator)

    case = services.reopen(actor=world.visitator, case=case, comment="Ny henvendelse")

    assert case.state == CaseState.IN_TRIAGE
    assert case.responsible == world.visitator
    assert not is_disqualified(case.responsible, case)


def _overdue(case):
    Case.objects.filter(pk=case.pk).update(
        triage_deadline=timezone.localdate() - datetime.timedelta(days=3)
    )


def _with_mail(*users):
    for user in users:
        user.email = f"{user.username}@kommune.example"
        user.save(update_fields=["email"])


def test_the_overdue_reminder_does_not_count_a_case_the_reader_is_disqualified_on(world):
    _with_mail(world.visitator, world.deputy_visitator)
    hidden = world.refer(full_name=NAME)
    _disqualify(world, hidden, world.deputy_visitator)
    _overdue(hidden)
    _overdue(world.refer(full_name="Anna Holm"))

    assert remind_overdue_triage.delay().get() == 2

    bodies = {message.to[0]: message.body for message in mail.outbox}
    assert "Der er 2 henvisninger" in bodies["visitator@kommune.example"]
    assert "Der er 1 henvisninger" in bodies["deputy@kommune.example"]


def test_no_overdue_reminder_for_one_whose_only_overdue_case_is_hidden_from_them(world):
    _with_mail(world.visitator, world.deputy_visitator)
    hidden = world.refer(full_name=NAME)
    _disqualify(world, hidden, world.deputy_visitator)
    _overdue(hidden)

    assert remind_overdue_triage.delay().get() == 1

    assert [message.to for message in mail.outbox] == [["visitator@kommune.example"]]


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    load_defaults(ToolVersion, ToolKind.values)
    return tmp_path


def test_the_citizens_copy_of_a_later_case_is_not_served_to_one_disqualified_on_the_first(
    world, client, _media, django_capture_on_commit_callbacks
):
    first = world.refer(full_name=NAME, cpr=CPR)
    _disqualify(world, first, world.deputy_visitator)
    again = world.refer(full_name=NAME, cpr=CPR)
    with django_capture_on_commit_callbacks(execute=True):
        copy = documents.request_document(
            actor=world.visitator, case=again, kind=DocumentKind.SUBJECT_ACCESS
        )
    copy.refresh_from_db()
    assert copy.status == DocumentStatus.READY, copy.error
    url = reverse("stalkingpakke:download_document", args=[again.reference, copy.pk])

    client.force_login(world.deputy_visitator)
    assert client.get(url).status_code == 404

    client.force_login(world.visitator)
    response = client.get(url)
    text = " ".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages
    )
    assert first.reference in text  # the copy does name the person's other cases


def test_a_look_alike_with_another_cpr_number_is_a_hint_but_not_the_same_person(world):
    from cases.selectors import possible_duplicates

    first = world.active(full_name=NAME, cpr=CPR)
    _disqualify(world, first, world.deputy_visitator)

    other = world.refer(full_name=NAME, cpr="0101903456")  # same birth date, another number

    assert list(possible_duplicates(other, world.visitator)) == [first]  # for a person to judge
    assert not is_disqualified(world.deputy_visitator, other)
