"""Correcting the person's details after the referral: a new safe way to reach them, a name
spelt wrong, a CPR number the first contact did not have (cases.services.update_person and the
page "Ret oplysninger om borgeren")."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from cases import selectors, services
from cases.models import AuditEntry, CaseEvent, ChildrenNotification, EventKind, Relation

pytestmark = pytest.mark.django_db

NEW_CONTACT = {"safe_contact": "Ny mobil 12 34 56 78, kun sms", "safe_contact_time": "Efter kl. 16"}


def _person_events(case):
    return CaseEvent.objects.filter(case=case, kind=EventKind.PERSON_CHANGED)


# The service -------------------------------------------------------------------------------


def test_a_new_safe_contact_is_saved_and_the_timeline_names_the_fields_not_the_values(world):
    case = world.active()

    changed = services.update_person(actor=world.coordinator, case=case, details=NEW_CONTACT)

    case.refresh_from_db()
    assert changed == ["safe_contact", "safe_contact_time"]
    assert case.safe_contact == NEW_CONTACT["safe_contact"]
    assert case.safe_contact_time == "Efter kl. 16"
    (event,) = _person_events(case)
    assert event.actor == world.coordinator
    assert "sikker måde at kontakte borgeren på" in event.summary
    assert "12 34 56 78" not in event.summary and "Kun sms" not in event.summary


def test_a_correction_writes_one_audit_entry_without_the_details(world):
    case = world.active()
    before = AuditEntry.objects.count()

    services.update_person(actor=world.coordinator, case=case, details=NEW_CONTACT)

    entry = AuditEntry.objects.latest("id")
    assert AuditEntry.objects.count() == before + 1
    assert (entry.what, entry.case_id, entry.user_id) == ("person", case.pk, world.coordinator.pk)
    assert "12 34" not in f"{entry.what} {entry.object_id} {entry.path}"


def test_saving_the_same_details_changes_nothing_and_writes_nothing(world):
    case = world.active()
    version = case.version
    before = (AuditEntry.objects.count(), CaseEvent.objects.count())

    changed = services.update_person(
        actor=world.coordinator,
        case=case,
        details={"full_name": " Mette Sørensen ", "safe_contact": "Kun sms"},
    )

    case.refresh_from_db()
    assert changed == [] and case.version == version
    assert (AuditEntry.objects.count(), CaseEvent.objects.count()) == before


def test_a_cpr_number_added_later_sets_the_birth_date_and_makes_the_duplicate_findable(world):
    earlier = world.refer(full_name="Anna Vestergaard", cpr="010190-1234")
    case = world.refer(full_name="A. Vestergaard")  # no CPR number at the referral
    assert not selectors.possible_duplicates(case, world.visitator).exists()

    changed = services.update_person(actor=world.visitator, case=case, details={}, cpr="0101901234")

    case.refresh_from_db()
    assert set(changed) == {"cpr_encrypted", "cpr_index", "cpr_last4", "birth_date"}
    assert case.birth_date == datetime.date(1990, 1, 1)
    assert case.cpr_masked.endswith("1234")
    assert list(selectors.possible_duplicates(case, world.visitator)) == [earlier]
    (event,) = _person_events(case)
    assert "CPR-nummer" in event.summary and "0101" not in event.summary


def test_the_same_cpr_number_typed_again_is_no_change(world):
    case = world.refer(cpr="010190-1234")
    assert (
        services.update_person(actor=world.visitator, case=case, details={}, cpr="0101901234") == []
    )


def test_with_a_cpr_number_on_the_case_the_birth_date_cannot_be_changed_alone(world):
    case = world.refer(cpr="010190-1234")
    with pytest.raises(ValidationError) as refused:
        services.update_person(
            actor=world.visitator, case=case, details={"birth_date": datetime.date(1991, 1, 1)}
        )
    assert "birth_date" in refused.value.message_dict


def test_a_birth_date_in_the_future_is_refused(world):
    case = world.refer()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        services.update_person(actor=world.visitator, case=case, details={"birth_date": tomorrow})
    assert "birth_date" in refused.value.message_dict


@pytest.mark.parametrize(("field", "value"), [("full_name", "  "), ("safe_contact", "")])
def test_the_name_and_the_safe_contact_cannot_be_emptied(world, field, value):
    case = world.active()
    with pytest.raises(ValidationError) as refused:
        services.update_person(actor=world.coordinator, case=case, details={field: value})
    assert field in refused.value.message_dict
    case.refresh_from_db()
    assert getattr(case, field)


def test_a_change_made_by_someone_else_meanwhile_is_not_overwritten(world):
    case = world.active()
    seen = case.version
    services.update_person(actor=world.visitator, case=case, details={"safe_contact": "Via søster"})

    with pytest.raises(ValidationError) as refused:
        services.update_person(
            actor=world.coordinator,
            case=case,
            details={"safe_contact": "Kun sms"},
            expected_version=seen,
        )

    assert refused.value.code == "stale"
    case.refresh_from_db()
    assert case.safe_contact == "Via søster"


@pytest.mark.parametrize("who", ["police_contact", "dsc", "first_contact", "disqualified"])
def test_only_those_with_full_access_may_correct_the_details(world, who):
    case = world.active(police=True, dsc=True)
    if who == "disqualified":
        services.disqualify(
            actor=world.visitator, case=case, user=world.deputy_visitator, reason="Familie"
        )
        who = "deputy_visitator"
    with pytest.raises(PermissionDenied):
        services.update_person(actor=getattr(world, who), case=case, details=NEW_CONTACT)


def test_a_closed_case_is_not_changed(world):
    case = world.closed()
    with pytest.raises(ValidationError):
        services.update_person(actor=world.coordinator, case=case, details=NEW_CONTACT)


def test_an_unknown_field_is_a_programming_error(world):
    case = world.active()
    with pytest.raises(ValueError):
        services.update_person(actor=world.coordinator, case=case, details={"municipality": 2})


def test_children_who_come_to_light_after_triage_need_the_notification_answer(world):
    """Triage asks whether to notify the children's services; children added later would
    otherwise never be asked about."""
    case = world.active()
    with pytest.raises(ValidationError) as refused:
        services.update_person(
            actor=world.coordinator, case=case, details={"children_in_household": True}
        )
    assert "children_notification" in refused.value.message_dict

    services.update_person(
        actor=world.coordinator,
        case=case,
        details={
            "children_in_household": True,
            "children_notification": ChildrenNotification.NEEDED,
        },
    )
    case.refresh_from_db()
    assert case.children_in_household
    assert case.children_notification == ChildrenNotification.NEEDED


def test_before_triage_the_children_answer_is_left_to_triage(world):
    case = world.refer()
    services.update_person(
        actor=world.visitator, case=case, details={"children_in_household": True}
    )
    case.refresh_from_db()
    assert case.children_in_household and case.children_notification == ""


def test_a_wrong_cpr_number_can_be_taken_off_the_case(world):
    other = world.refer(full_name="Anden Person", cpr="010190-1234")
    case = world.refer(full_name="Mette Sørensen", cpr="010190-1234")  # typed on the wrong one
    assert other in selectors.possible_duplicates(case, world.visitator)

    changed = services.update_person(actor=world.visitator, case=case, details={}, remove_cpr=True)

    case.refresh_from_db()
    assert {"cpr_encrypted", "cpr_index", "cpr_last4"} <= set(changed)
    assert (case.cpr_encrypted, case.cpr_index, case.cpr_last4) == ("", "", "")
    assert other not in selectors.possible_duplicates(case, world.visitator)
    assert "CPR-nummer" in _person_events(case).get().summary


def test_a_new_cpr_number_and_removing_it_at_once_is_refused(world):
    case = world.refer(cpr="010190-1234")
    with pytest.raises(ValidationError) as refused:
        services.update_person(
            actor=world.visitator, case=case, details={}, cpr="1503854321", remove_cpr=True
        )
    assert "cpr" in refused.value.message_dict


# The page ----------------------------------------------------------------------------------


def _form(case, **overrides):
    data = {
        "version": case.version,
        "full_name": case.full_name,
        "person_kind": case.person_kind,
        "cpr": "",
        "birth_date": "",
        "safe_contact": case.safe_contact,
        "safe_contact_time": case.safe_contact_time,
        "relation": case.relation,
        "stalker_works_in_municipality": case.stalker_works_in_municipality,
    }
    data.update(overrides)
    return data


def test_the_coordinator_corrects_the_details_from_the_case_page(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    url = reverse("cases:edit_person", args=[case.reference])
    assert url in client.get(case.get_absolute_url()).content.decode()

    page = client.get(url).content.decode()
    assert 'value="Mette Sørensen"' in page and "Kun sms" in page

    response = client.post(
        url,
        _form(
            case,
            relation=Relation.EX_PARTNER,
            children_in_household="on",
            children_notification=ChildrenNotification.NEEDED,
            **NEW_CONTACT,
        ),
    )

    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    case.refresh_from_db()
    assert case.safe_contact == NEW_CONTACT["safe_contact"]
    assert case.relation == Relation.EX_PARTNER and case.children_in_household
    assert case.children_notification == ChildrenNotification.NEEDED
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Oplysningerne om borgeren er gemt." in html
    assert "Oplysninger om borgeren rettet" in html  # the timeline


def test_a_refused_form_keeps_what_was_typed_and_says_why_in_danish(client, world):
    case = world.refer()
    client.force_login(world.visitator)
    url = reverse("cases:edit_person", args=[case.reference])

    response = client.post(url, _form(case, cpr="3213", safe_contact="Ny adresse: kun via advokat"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "CPR-nummeret skal have 10 cifre" in html
    assert "Ny adresse: kun via advokat" in html
    case.refresh_from_db()
    assert case.safe_contact == "Kun sms"


def test_the_cpr_number_is_never_put_in_the_form(client, world):
    case = world.refer(cpr="150385-4321")
    client.force_login(world.visitator)
    html = client.get(reverse("cases:edit_person", args=[case.reference])).content.decode()
    assert "150385" not in html
    assert 'name="birth_date"' not in html  # it follows the CPR number
    assert "følger CPR-nummeret" in html


def test_opening_the_form_is_audited_as_a_read(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    client.get(reverse("cases:edit_person", args=[case.reference]))
    entry = AuditEntry.objects.latest("id")
    assert (entry.what, entry.case_id) == ("case_form:person", case.pk)


def test_saving_without_changes_says_so(client, world):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(
        reverse("cases:edit_person", args=[case.reference]), _form(case), follow=True
    )
    assert "Du havde ikke ændret noget" in response.content.decode()


def test_a_partner_reads_that_details_were_corrected_but_not_which(client, world):
    case = world.active(police=True)
    services.update_person(actor=world.coordinator, case=case, details=NEW_CONTACT)
    client.force_login(world.police_contact)
    response = client.get(case.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Oplysninger om borgeren rettet" in html
    (event,) = _person_events(case)
    assert event.summary and event.summary not in html
    assert reverse("cases:edit_person", args=[case.reference]) not in html


# Who else reads the name ------------------------------------------------------------------


@pytest.mark.parametrize("referrer", ["first_contact", "police_contact"])
def test_whoever_referred_keeps_reading_the_name_they_gave_not_a_corrected_one(
    client, world, referrer
):
    """A new name is what a person hiding from the one who stalks takes; everyone who ever
    referred them (a first contact, the police without consent to the name) reads only the
    name as it was when they referred."""
    case = world.refer(actor=getattr(world, referrer), full_name="Mette Sørensen")
    services.update_person(
        actor=world.visitator, case=case, details={"full_name": "Signe Nyborg Holm"}
    )
    client.force_login(getattr(world, referrer))
    html = client.get(reverse("cases:my_referrals")).content.decode()
    assert "Mette Sørensen" in html and "Signe Nyborg Holm" not in html


def test_a_referral_made_after_the_correction_carries_the_new_name(world):
    case = world.active()
    services.update_person(
        actor=world.coordinator, case=case, details={"full_name": "Signe Nyborg Holm"}
    )
    services.refer_onward(
        actor=world.coordinator, case=case, external="Krisecentret", reason="Et sikkert sted"
    )
    assert case.referrals.get(to_external="Krisecentret").person_name == "Signe Nyborg Holm"


def test_the_form_asks_about_notification_only_after_triage_and_offers_removing_a_cpr(
    client, world
):
    client.force_login(world.visitator)
    referred = world.refer()
    triaged = world.active(cpr="010190-1234")
    before = client.get(reverse("cases:edit_person", args=[referred.reference])).content.decode()
    after = client.get(reverse("cases:edit_person", args=[triaged.reference])).content.decode()
    assert 'name="children_notification"' not in before and 'name="remove_cpr"' not in before
    assert 'name="children_notification"' in after and 'name="remove_cpr"' in after


# A correction that makes the case another person's, one with disqualifications (fourth
# red-team review): a coordinator could probe whether someone has a case in which a colleague
# is marked. The marks follow the person (they must), the coordinator does not read that they
# came, and the data protection officers are told.


def _probe(world):
    from cooperation.models import Role

    from .factories import user_with_role

    marked = user_with_role(Role.COORDINATOR, world.municipality, username="coordinator3")
    victim = world.refer(full_name="Zenobia Kvasirhøj", birth_date=datetime.date(1990, 1, 1))
    services.disqualify(actor=world.visitator, case=victim, user=marked, reason="Bror")
    own = world.active(full_name="Helt Anden Person", birth_date=datetime.date(1985, 5, 5))
    return marked, victim, own


def _correct_to_victim(world, own):
    services.update_person(
        actor=world.coordinator,
        case=own,
        details={"full_name": "Zenobia Kvasirhøj", "birth_date": datetime.date(1990, 1, 1)},
    )


def test_a_correction_bringing_in_marks_is_flagged_for_the_data_protection_officers(world):
    marked, _victim, own = _probe(world)

    _correct_to_victim(world, own)

    assert own.disqualifications.filter(user=marked).exists()  # the mark follows the person
    entry = AuditEntry.objects.filter(case=own, what="person").get()
    assert entry.flagged and entry.user == world.coordinator


def test_a_correction_bringing_in_no_marks_is_not_flagged(world):
    own = world.active(full_name="Helt Anden Person", birth_date=datetime.date(1985, 5, 5))
    services.update_person(actor=world.coordinator, case=own, details={"full_name": "Helt Anden"})
    assert not AuditEntry.objects.filter(case=own, what="person").get().flagged


def test_the_coordinator_does_not_read_that_marks_came_with_a_correction(client, world):
    _marked, _victim, own = _probe(world)

    _correct_to_victim(world, own)

    client.force_login(world.coordinator)
    response = client.get(own.get_absolute_url())
    assert EventKind.DISQUALIFIED not in {e.kind for e in response.context["events"]}
    client.force_login(world.visitator)
    response = client.get(own.get_absolute_url())
    assert EventKind.DISQUALIFIED in {e.kind for e in response.context["events"]}


def test_the_triage_form_reports_the_route_and_the_childrens_question_in_one_go(world, client):
    """With children in the household, a first save without a route used to say only "choose a
    route"; the children's question came at the second try (usability walk, session 10)."""
    case = world.in_triage(children_in_household=True)
    client.force_login(world.visitator)
    response = client.post(
        reverse("cases:triage", args=[case.reference]),
        {"version": case.version, "is_stalking": "yes", "reasoning": "Mønster over tid"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["children_notification"] == [str(services.MSG_CHILDREN)]
    assert errors["__all__"] == [str(services.MSG_ROUTE_NEEDED)]
    html = response.content.decode()
    assert "Skal der sendes en underretning om børnene?</" in html  # not "(frivilligt)"
    assert "Primær koordinator</label>" in html
