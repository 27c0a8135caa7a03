"""Consultation (sparring) requests: the services and their rules, the pages as each role, the
permission matrix of the "consultations" URLs, the list page's query count and the count on
the answerers' start pages.

The rules (DESIGN.md section 1; cooperation/consultations.py): anyone holding a role asks the
visitators of a municipality they can refer to, or DSC; a current visitator (or deputy) of
that municipality answers, or a DSC advisor for DSC; never the asker, only while open; only
the asker withdraws, only while open. The text holds no CPR number and no case reference.
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from django.utils import timezone

from cases.models import AuditAction, AuditEntry
from cooperation import consultations
from cooperation.consultations import TransitionError
from cooperation.models import (
    Consultation,
    ConsultationKind,
    ConsultationStatus,
    OrganisationKind,
    Role,
    RoleAssignment,
)
from cooperation.roles import forget_roles

from . import test_permission_matrix
from .factories import OrganisationFactory, user_with_role

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

QUESTION = (
    "En kvinde i 40'erne får dagligt beskeder fra en tidligere kæreste, der også venter uden "
    "for hendes arbejde. Hvordan vurderer I, om det er stalking, og hvad bør jeg gøre nu?"
)
ANSWER = "Det lyder som stalking: gentaget, uønsket og over tid. Henvis til visitatoren."
VISITATOR = ConsultationKind.VISITATOR
DSC = ConsultationKind.DSC


def ask(world, asker="first_contact", kind=VISITATOR, organisation=None, question=QUESTION):
    if organisation is None:
        organisation = world.municipality if kind == VISITATOR else world.dsc_org
    return consultations.ask(
        actor=getattr(world, asker), to_kind=kind, organisation=organisation, question=question
    )


def reload(consultation):
    return Consultation.objects.get(pk=consultation.pk)


def text(response) -> str:
    return response.content.decode()


# =============================================================================================
# Services: ask
# =============================================================================================


def test_a_first_contact_asks_the_visitators_of_the_municipality(world):
    consultation = ask(world)

    assert consultation.status == ConsultationStatus.OPEN
    assert consultation.kind == VISITATOR
    assert consultation.to_organisation == world.municipality
    assert consultation.from_organisation == world.municipality
    assert consultation.asked_by == world.first_contact
    assert (consultation.answer, consultation.answered_by, consultation.answered_at) == (
        "",
        None,
        None,
    )


def test_asking_is_audited_without_a_case_and_without_the_text(world):
    consultation = ask(world)

    entry = AuditEntry.objects.get(what="consultation:ask")
    assert entry.user == world.first_contact
    assert entry.action == AuditAction.CREATE
    assert entry.case is None and entry.case_reference == ""
    assert entry.object_id == str(consultation.pk)
    assert entry.purpose == "consultation:visitator"
    assert "kæreste" not in str(entry.__dict__)


def test_the_police_ask_a_municipality_of_their_district_from_the_police(world):
    consultation = ask(world, "police_contact", organisation=world.other_municipality)

    assert consultation.from_organisation == world.police
    assert consultation.to_organisation == world.other_municipality


@pytest.mark.parametrize(
    "asker",
    ["first_contact", "visitator", "coordinator", "police_contact", "dsc", "follow_up"],
)
def test_everybody_with_a_role_can_ask_dsc(world, asker):
    consultation = ask(world, asker, kind=DSC)

    assert consultation.to_organisation == world.dsc_org
    assert consultation.status == ConsultationStatus.OPEN


@pytest.mark.parametrize(
    ("asker", "kind", "where"),
    [
        ("admin", DSC, "dsc_org"),  # no role in the cooperation
        ("admin", VISITATOR, "municipality"),
        ("follow_up", VISITATOR, "municipality"),  # refers nowhere
        ("dsc", VISITATOR, "municipality"),  # refers nowhere
        ("other_visitator", VISITATOR, "municipality"),  # another municipality's visitator
        ("outsider_coordinator", VISITATOR, "municipality"),
        ("first_contact", VISITATOR, "other_municipality"),  # not their municipality
        ("first_contact", VISITATOR, "dsc_org"),  # DSC has no visitators
        ("first_contact", DSC, "municipality"),  # a municipality is not DSC
        ("first_contact", "coordinator", "municipality"),  # no such kind
    ],
)
def test_asking_where_the_role_does_not_reach_is_refused(world, asker, kind, where):
    with pytest.raises(PermissionDenied):
        consultations.ask(
            actor=getattr(world, asker),
            to_kind=kind,
            organisation=getattr(world, where),
            question=QUESTION,
        )
    assert not Consultation.objects.exists()
    assert not AuditEntry.objects.filter(what__startswith="consultation").exists()


def test_asking_a_municipality_without_a_visitator_is_refused_with_a_message(world):
    lonely = OrganisationFactory(name="Tomkommune", code="TOM", police_district=world.police)

    with pytest.raises(ValidationError) as error:
        ask(world, "police_contact", organisation=lonely)

    assert error.value.code == "nobody"
    assert "Tomkommune" in error.value.messages[0]
    assert not Consultation.objects.exists()


CPR_LIKE = [
    "010190-1234",
    "0101901234",
    "010190 1234",
    "010190\u20131234",  # en dash, as a word processor writes it
    "Hun har cpr 311299-9999.",
    "\u0660\u0661\u0660\u0661\u0669\u0660\u0661\u0662\u0663\u0664",  # Arabic-Indic digits
    # The ways people write the date part (found in review: each got through before).
    "01.01.90-1234",
    "010190/1234",
    "01 01 90-1234",
]
NOT_CPR = [
    "Ring på 20 30 40 50.",
    "Det er sket 12 gange siden 1. marts 2026.",
    "Kontonummer 12345678901 er ikke et CPR-nummer.",  # 11 digits
    "Postnummer 6700 og 3 børn på 4, 7 og 10 år.",
]
REFERENCE_LIKE = [
    "Se sag ESB-2026-0042.",
    "tst-2026-0001",
    "(K001-2025-12345)",
    "esb 2026 0042",
    "ESB\u20132026\u20130042",
    "ESB-2026-42",
]
NOT_REFERENCE = [
    "Det skete i 2026-01 og igen i 2026-03.",
    "Linjen 70-20-30-40",
    "Det skete i uge 2026 12 gange.",
    "Mødet den 01.01.2026 10:00.",
]


@pytest.mark.parametrize("snippet", CPR_LIKE)
def test_a_question_with_something_like_a_cpr_number_is_refused(world, snippet):
    with pytest.raises(ValidationError) as error:
        ask(world, question=f"{QUESTION} {snippet}")

    assert error.value.error_dict["question"][0].code == "cpr"
    assert "CPR-nummer" in error.value.messages[0]
    assert not Consultation.objects.exists()


@pytest.mark.parametrize("snippet", REFERENCE_LIKE)
def test_a_question_with_a_case_reference_is_refused(world, snippet):
    with pytest.raises(ValidationError) as error:
        ask(world, question=f"{QUESTION} {snippet}")

    assert error.value.error_dict["question"][0].code == "case_reference"
    assert "sagsnummer" in error.value.messages[0]
    assert not Consultation.objects.exists()


@pytest.mark.parametrize("snippet", NOT_CPR + NOT_REFERENCE)
def test_numbers_that_are_neither_cpr_nor_reference_are_accepted(world, snippet):
    consultation = ask(world, question=f"{QUESTION} {snippet}")

    assert snippet in consultation.question


@pytest.mark.parametrize("question", ["", "   \n  "])
def test_an_empty_question_is_refused(world, question):
    with pytest.raises(ValidationError) as error:
        ask(world, question=question)

    assert error.value.error_dict["question"][0].code == "required"


def test_a_too_long_question_is_refused(world):
    with pytest.raises(ValidationError) as error:
        ask(world, question="x" * 3001)

    assert "question" in error.value.error_dict
    assert not Consultation.objects.exists()


# =============================================================================================
# Services: answer
# =============================================================================================


@pytest.mark.parametrize("answerer", ["visitator", "deputy_visitator"])
def test_the_visitator_or_the_deputy_answers(world, answerer):
    consultation = ask(world)

    answered = consultations.answer(
        actor=getattr(world, answerer), consultation=consultation, answer=ANSWER
    )

    stored = reload(answered)
    assert stored.status == ConsultationStatus.ANSWERED
    assert stored.answer == ANSWER
    assert stored.answered_by == getattr(world, answerer)
    assert stored.answered_at is not None
    entry = AuditEntry.objects.get(what="consultation:answer")
    assert (entry.user, entry.action, entry.case, entry.object_id) == (
        getattr(world, answerer),
        AuditAction.CHANGE,
        None,
        str(consultation.pk),
    )


def test_a_dsc_advisor_answers_a_question_to_dsc(world):
    consultation = ask(world, "coordinator", kind=DSC)

    consultations.answer(actor=world.dsc, consultation=consultation, answer=ANSWER)

    assert reload(consultation).answered_by == world.dsc


@pytest.mark.parametrize(
    "who",
    [
        "first_contact",  # the asker
        "coordinator",
        "police_contact",
        "dsc",  # DSC does not answer for the municipality's visitators
        "follow_up",
        "other_visitator",
        "outsider_coordinator",
        "admin",
    ],
)
def test_only_the_municipalitys_visitators_answer_a_question_to_them(world, who):
    consultation = ask(world)

    with pytest.raises(PermissionDenied):
        consultations.answer(actor=getattr(world, who), consultation=consultation, answer=ANSWER)

    assert reload(consultation).status == ConsultationStatus.OPEN


@pytest.mark.parametrize("who", ["visitator", "deputy_visitator", "coordinator", "admin"])
def test_only_dsc_answers_a_question_to_dsc(world, who):
    consultation = ask(world, "first_contact", kind=DSC)

    with pytest.raises(PermissionDenied):
        consultations.answer(actor=getattr(world, who), consultation=consultation, answer=ANSWER)

    assert reload(consultation).status == ConsultationStatus.OPEN


def test_a_visitator_cannot_answer_their_own_question_but_the_deputy_can(world):
    consultation = ask(world, "visitator")

    with pytest.raises(PermissionDenied, match="eget"):
        consultations.answer(actor=world.visitator, consultation=consultation, answer=ANSWER)
    consultations.answer(actor=world.deputy_visitator, consultation=consultation, answer=ANSWER)

    assert reload(consultation).answered_by == world.deputy_visitator


def test_a_visitator_whose_role_has_ended_no_longer_answers(world):
    consultation = ask(world)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    RoleAssignment.objects.filter(user=world.visitator).update(valid_to=yesterday)
    forget_roles(world.visitator)

    with pytest.raises(PermissionDenied):
        consultations.answer(actor=world.visitator, consultation=consultation, answer=ANSWER)
    with pytest.raises(Http404):
        consultations.get_consultation_for(world.visitator, consultation.pk)


def test_answering_twice_is_an_illegal_transition(world):
    consultation = ask(world)
    consultations.answer(actor=world.visitator, consultation=consultation, answer=ANSWER)

    with pytest.raises(TransitionError) as error:
        consultations.answer(actor=world.deputy_visitator, consultation=consultation, answer="Nej")

    assert error.value.code == "illegal_transition"
    assert "Besvaret" in error.value.messages[0]
    assert reload(consultation).answer == ANSWER


def test_a_withdrawn_question_cannot_be_answered(world):
    consultation = ask(world)
    consultations.withdraw(actor=world.first_contact, consultation=consultation)

    with pytest.raises(TransitionError, match="Trukket tilbage"):
        consultations.answer(actor=world.visitator, consultation=consultation, answer=ANSWER)

    assert reload(consultation).status == ConsultationStatus.WITHDRAWN


def test_an_answer_is_checked_for_cpr_numbers_and_references_too(world):
    consultation = ask(world)

    for bad in ("Ring til 010190-1234", "Se ESB-2026-0042"):
        with pytest.raises(ValidationError) as error:
            consultations.answer(actor=world.visitator, consultation=consultation, answer=bad)
        assert "answer" in error.value.error_dict
    with pytest.raises(ValidationError):
        consultations.answer(actor=world.visitator, consultation=consultation, answer="  ")

    assert reload(consultation).status == ConsultationStatus.OPEN
    assert not AuditEntry.objects.filter(what="consultation:answer").exists()


# =============================================================================================
# Services: withdraw
# =============================================================================================


def test_the_asker_withdraws_an_open_question(world):
    consultation = ask(world)

    consultations.withdraw(actor=world.first_contact, consultation=consultation)

    assert reload(consultation).status == ConsultationStatus.WITHDRAWN
    entry = AuditEntry.objects.get(what="consultation:withdraw")
    assert (entry.user, entry.action, entry.case) == (world.first_contact, "change", None)


@pytest.mark.parametrize("who", ["visitator", "deputy_visitator", "coordinator", "admin"])
def test_nobody_but_the_asker_withdraws(world, who):
    consultation = ask(world)

    with pytest.raises(PermissionDenied):
        consultations.withdraw(actor=getattr(world, who), consultation=consultation)

    assert reload(consultation).status == ConsultationStatus.OPEN


def test_an_answered_question_cannot_be_withdrawn(world):
    consultation = ask(world)
    consultations.answer(actor=world.visitator, consultation=consultation, answer=ANSWER)

    with pytest.raises(TransitionError):
        consultations.withdraw(actor=world.first_contact, consultation=consultation)

    assert reload(consultation).status == ConsultationStatus.ANSWERED


def test_withdrawing_twice_is_an_illegal_transition(world):
    consultation = ask(world)
    consultations.withdraw(actor=world.first_contact, consultation=consultation)

    with pytest.raises(TransitionError):
        consultations.withdraw(actor=world.first_contact, consultation=consultation)

    assert AuditEntry.objects.filter(what="consultation:withdraw").count() == 1


# =============================================================================================
# The model: constraints and __str__
# =============================================================================================


def _raw(world, **fields):
    data = {
        "asked_by": world.first_contact,
        "from_organisation": world.municipality,
        "kind": VISITATOR,
        "to_organisation": world.municipality,
        "question": QUESTION,
    }
    return Consultation.objects.create(**{**data, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"status": ConsultationStatus.ANSWERED},  # answered without an answer
        {"status": ConsultationStatus.ANSWERED, "answer": "Svar"},  # without who and when
        {"status": ConsultationStatus.OPEN, "answer": "Svar"},  # open, yet with an answer
        {"status": "unknown"},
        {"kind": "somebody"},
        {"question": ""},
        {"question": "x" * 3001},
    ],
)
def test_the_database_refuses_an_impossible_consultation(world, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw(world, **fields)


def test_the_database_accepts_an_answered_one_with_its_answer(world):
    consultation = _raw(
        world,
        status=ConsultationStatus.ANSWERED,
        answer=ANSWER,
        answered_by=world.visitator,
        answered_at=timezone.now(),
    )
    assert consultation.pk


def test_str_names_kind_and_status_but_not_the_question(world):
    consultation = ask(world)

    assert str(consultation) == (
        f"Sparring {consultation.pk} (Kommunens stalkingvisitator, Venter på svar)"
    )
    assert "kvinde" not in str(consultation)


# =============================================================================================
# Selectors
# =============================================================================================


def test_what_waits_for_an_answer_is_the_open_questions_to_the_users_role(world):
    waiting = ask(world)
    ask(world, "coordinator", kind=DSC)
    own = ask(world, "visitator")  # to the deputy, not to the visitator who asked it
    answered = ask(world, "coordinator")
    consultations.answer(actor=world.deputy_visitator, consultation=answered, answer=ANSWER)
    withdrawn = ask(world, "police_contact")
    consultations.withdraw(actor=world.police_contact, consultation=withdrawn)

    assert list(consultations.consultations_for_answering(world.visitator)) == [waiting]
    assert list(consultations.consultations_for_answering(world.deputy_visitator)) == [
        waiting,
        own,
    ]
    assert [c.kind for c in consultations.consultations_for_answering(world.dsc)] == [DSC]
    for nobody in ("other_visitator", "coordinator", "first_contact", "admin"):
        assert not consultations.consultations_for_answering(getattr(world, nobody)).exists()


def test_the_askers_list_holds_their_own_questions_newest_first(world):
    first = ask(world)
    second = ask(world, kind=DSC)
    ask(world, "coordinator")

    assert list(consultations.consultations_asked_by(world.first_contact)) == [second, first]


def test_the_fetch_answers_404_to_anyone_neither_asker_nor_answerer(world):
    consultation = ask(world)

    for who in ("first_contact", "visitator", "deputy_visitator"):
        assert consultations.get_consultation_for(getattr(world, who), consultation.pk)
    for who in ("coordinator", "police_contact", "dsc", "other_visitator", "admin"):
        with pytest.raises(Http404):
            consultations.get_consultation_for(getattr(world, who), consultation.pk)


# =============================================================================================
# Pages, through the client
# =============================================================================================


def test_the_ask_form_explains_that_no_personal_data_belongs_there(client, world):
    client.force_login(world.first_contact)

    page = text(client.get(reverse("consultations:ask")))

    assert "CPR-nummer" in page and "adresse" in page and "sagsnummer" in page
    assert 'aria-describedby="id_question-hint"' in page
    assert page.count("<h1") == 1


@pytest.mark.parametrize(
    ("who", "recipients"),
    [
        ("first_contact", ["Stalkingvisitatoren i Testkommune", "Dansk Stalking Center"]),
        (
            "police_contact",
            [
                "Stalkingvisitatoren i Andenkommune",
                "Stalkingvisitatoren i Testkommune",
                "Dansk Stalking Center",
            ],
        ),
        ("follow_up", ["Dansk Stalking Center"]),
        ("dsc", ["Dansk Stalking Center"]),
    ],
)
def test_the_form_offers_whom_the_role_may_ask(client, world, who, recipients):
    client.force_login(getattr(world, who))

    form = client.get(reverse("consultations:ask")).context["form"]

    assert [label for _value, label in form.fields["recipient"].choices] == recipients


def test_a_first_contact_asks_through_the_form_and_sees_the_question(client, world):
    client.force_login(world.first_contact)

    response = client.post(
        reverse("consultations:ask"),
        {"recipient": f"visitator:{world.municipality.pk}", "question": QUESTION},
    )

    consultation = Consultation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == consultation.get_absolute_url()
    assert str(consultation.pk) in response["Location"] and "kvinde" not in response["Location"]
    page = text(client.get(reverse("consultations:list")))
    assert "Dine spørgsmål" in page and "En kvinde i 40" in page
    assert "Spørgsmål til dig og din rolle" not in page  # a first contact answers nothing


@pytest.mark.parametrize(
    ("snippet", "message"),
    [("Hendes cpr er 010190-1234", "CPR-nummer"), ("Sag ESB-2026-0042", "sagsnummer")],
)
def test_the_form_refuses_cpr_numbers_and_references_with_a_danish_message(
    client, world, snippet, message
):
    client.force_login(world.first_contact)

    response = client.post(
        reverse("consultations:ask"),
        {"recipient": f"visitator:{world.municipality.pk}", "question": f"{QUESTION} {snippet}"},
    )

    assert response.status_code == 200
    page = text(response)
    assert "Der er fejl i formularen" in page
    assert message in page and "id_question-error" in page
    assert snippet in page  # the text comes back, so it can be corrected
    assert not Consultation.objects.exists()


def test_the_form_refuses_a_recipient_it_did_not_offer(client, world):
    client.force_login(world.first_contact)

    response = client.post(
        reverse("consultations:ask"),
        {"recipient": f"visitator:{world.other_municipality.pk}", "question": QUESTION},
    )

    assert response.status_code == 200
    assert "recipient" in response.context["form"].errors
    assert not Consultation.objects.exists()


def test_the_visitator_answers_and_the_asker_reads_the_answer(client, world):
    consultation = ask(world)
    client.force_login(world.visitator)
    detail = consultation.get_absolute_url()

    listed = text(client.get(reverse("consultations:list")))
    form_page = text(client.get(detail))
    response = client.post(detail, {"answer": ANSWER})

    assert "Spørgsmål til dig og din rolle" in listed and "En kvinde i 40" in listed
    assert 'name="answer"' in form_page and "Besvar spørgsmålet" in form_page
    assert response.status_code == 302
    assert reload(consultation).status == ConsultationStatus.ANSWERED
    client.force_login(world.first_contact)
    assert ANSWER[:40] in text(client.get(reverse("consultations:list")))
    asker_page = text(client.get(detail))
    assert ANSWER in asker_page and 'name="answer"' not in asker_page


def test_an_empty_answer_comes_back_with_an_error(client, world):
    consultation = ask(world)
    client.force_login(world.visitator)

    response = client.post(consultation.get_absolute_url(), {"answer": ""})

    assert response.status_code == 200
    assert "Der er fejl i formularen" in text(response)
    assert reload(consultation).status == ConsultationStatus.OPEN


def test_the_asker_withdraws_after_a_confirmation(client, world):
    consultation = ask(world)
    client.force_login(world.first_contact)
    url = reverse("consultations:withdraw", args=[consultation.pk])

    detail = text(client.get(consultation.get_absolute_url()))
    confirm = client.get(url)
    assert reload(consultation).status == ConsultationStatus.OPEN  # a GET changes nothing
    response = client.post(url)

    assert url in detail
    assert confirm.status_code == 200 and "Ja, træk spørgsmålet tilbage" in text(confirm)
    assert response.status_code == 302
    assert reload(consultation).status == ConsultationStatus.WITHDRAWN
    assert url not in text(client.get(consultation.get_absolute_url()))


def test_a_withdrawn_question_leaves_the_answerers_list(client, world):
    consultation = ask(world)
    consultations.withdraw(actor=world.first_contact, consultation=consultation)
    client.force_login(world.visitator)

    page = text(client.get(reverse("consultations:list")))

    assert "En kvinde i 40" not in page


def test_the_menu_shows_sparring_to_everybody_with_a_role(client, world):
    for who, shown in [("first_contact", True), ("dsc", True), ("admin", False)]:
        client.force_login(getattr(world, who))
        page = text(client.get(reverse("directory")))
        assert (f'href="{reverse("consultations:list")}"' in page) is shown, who


def test_the_menu_marks_sparring_as_the_current_page(client, world):
    client.force_login(world.coordinator)

    page = text(client.get(reverse("consultations:list")))

    assert f'href="{reverse("consultations:list")}" aria-current="page"' in page


# =============================================================================================
# The count on the answerers' start pages
# =============================================================================================


def test_the_triage_dashboard_shows_the_questions_waiting_for_the_visitator(client, world):
    client.force_login(world.visitator)
    ask(world)
    ask(world, "police_contact")
    answered = ask(world, "coordinator")
    consultations.answer(actor=world.deputy_visitator, consultation=answered, answer=ANSWER)
    ask(world, kind=DSC)  # for DSC, not for the visitator

    page = text(client.get(reverse("cases:triage_dashboard")))

    assert "Sparring, der venter på svar: 2" in page
    assert f'<a href="{reverse("consultations:list")}">Sparring, der venter' in page


def test_dsc_sees_the_count_on_its_start_page_and_the_police_see_none(client, world):
    ask(world, kind=DSC)
    client.force_login(world.dsc)
    assert "Sparring, der venter på svar: 1" in text(client.get(reverse("cases:partner_cases")))
    client.force_login(world.police_contact)
    assert "Sparring, der venter" not in text(client.get(reverse("cases:partner_cases")))


def _notice(user):
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("consultations/waiting_notice.html", {"request": request})


def test_the_count_costs_one_query_and_nothing_for_those_who_answer_none(
    world, django_assert_num_queries
):
    for _ in range(3):
        ask(world)
    consultations.consultations_waiting_count(world.visitator)  # roles cached, as in a request
    consultations.consultations_waiting_count(world.police_contact)

    with django_assert_num_queries(1):
        assert "svar: 3" in _notice(world.visitator)
    with django_assert_num_queries(0):
        assert _notice(world.police_contact).strip() == ""


# =============================================================================================
# Query count of the list page
# =============================================================================================


def test_the_list_page_asks_the_same_queries_for_1_and_30_consultations(
    client, world, django_assert_max_num_queries, django_assert_num_queries
):
    """Per request: session, user, roles; COUNT and page of the questions to the user; COUNT
    and page of the user's own questions (asker, organisations, answerer joined)."""
    url = reverse("consultations:list")
    ask(world)
    ask(world, "visitator", kind=DSC)
    client.force_login(world.visitator)
    assert client.get(url).status_code == 200  # warm up: the session exists from here on

    with django_assert_max_num_queries(7):
        response = client.get(url)
    one = len(response.context["to_me"].object_list) + len(response.context["mine"].object_list)
    assert one == 2

    for _ in range(29):
        ask(world, "police_contact")
        answered = ask(world, "visitator", kind=DSC)
        consultations.answer(actor=world.dsc, consultation=answered, answer=ANSWER)
    with CaptureQueriesContext(connection) as grown:
        response = client.get(url)
    with django_assert_num_queries(len(grown.captured_queries)):
        client.get(url)
    with django_assert_max_num_queries(7):
        response = client.get(url)
    assert len(response.context["to_me"].object_list) == 20
    assert len(response.context["mine"].object_list) == 20
    assert text(response).count(ANSWER[:40]) == 20


# =============================================================================================
# The permission matrix: every URL of the namespace x every role of the world x the
# consultations it can be about. Principles: a consultation the user neither asked nor may
# answer answers 404; a step the user may not take on one they can see answers 403; pages
# without a consultation need a role in the cooperation (403 without); anonymous users are
# sent to the login (302); a POST that does the step redirects (302).
# =============================================================================================

# Every role of the world; "disqualified" exists only for a case.
ROLES = tuple(r for r in test_permission_matrix.ROLES if r != "disqualified")

# The consultations (columns): who asked whom, and where it stands.
COLUMNS = ("vis_open", "dsc_open", "answered", "withdrawn")


def build_consultations(world) -> dict[str, Consultation]:
    vis_open = ask(world, "first_contact")
    dsc_open = ask(world, "police_contact", kind=DSC)
    answered = ask(world, "coordinator")
    consultations.answer(actor=world.deputy_visitator, consultation=answered, answer=ANSWER)
    withdrawn = ask(world, "follow_up", kind=DSC)
    consultations.withdraw(actor=world.follow_up, consultation=withdrawn)
    return {
        "vis_open": vis_open,
        "dsc_open": dsc_open,
        "answered": answered,
        "withdrawn": withdrawn,
    }


_ROLE_PAGE = {role: "200" for role in ROLES} | {"admin": "403", "anonymous": "302"}
_ROLE_POST = {role: "302" for role in ROLES} | {"admin": "403", "anonymous": "302"}
_NONE = "404 404 404 404"
_ANON = "302 302 302 302"

# fmt: off
# URLs without a consultation: one code per role.
GLOBAL_MATRIX = {
    "list":       _ROLE_PAGE,
    "ask":        _ROLE_PAGE,
    "ask POST":   _ROLE_POST,  # a valid question to DSC
}

# URLs of one consultation. Columns: vis_open dsc_open answered withdrawn.
OBJECT_MATRIX = {
    "detail": {
        "first_contact":        "200 404 404 404",
        "visitator":            "200 404 200 404",
        "deputy_visitator":     "200 404 200 404",
        "coordinator":          "404 404 200 404",
        "police_contact":       "404 200 404 404",
        "dsc":                  "404 200 404 200",
        "follow_up":            "404 404 404 200",
        "other_visitator":      _NONE,
        "outsider_coordinator": _NONE,
        "admin":                _NONE,
        "anonymous":            _ANON,
    },
    "detail POST": {  # answering
        "first_contact":        "403 404 404 404",
        "visitator":            "302 404 403 404",
        "deputy_visitator":     "302 404 403 404",
        "coordinator":          "404 404 403 404",
        "police_contact":       "404 403 404 404",
        "dsc":                  "404 302 404 403",
        "follow_up":            "404 404 404 403",
        "other_visitator":      _NONE,
        "outsider_coordinator": _NONE,
        "admin":                _NONE,
        "anonymous":            _ANON,
    },
    "withdraw": {
        "first_contact":        "200 404 404 404",
        "visitator":            "403 404 403 404",
        "deputy_visitator":     "403 404 403 404",
        "coordinator":          "404 404 403 404",
        "police_contact":       "404 200 404 404",
        "dsc":                  "404 403 404 403",
        "follow_up":            "404 404 404 403",
        "other_visitator":      _NONE,
        "outsider_coordinator": _NONE,
        "admin":                _NONE,
        "anonymous":            _ANON,
    },
    "withdraw POST": {
        "first_contact":        "302 404 404 404",
        "visitator":            "403 404 403 404",
        "deputy_visitator":     "403 404 403 404",
        "coordinator":          "404 404 403 404",
        "police_contact":       "404 302 404 404",
        "dsc":                  "404 403 404 403",
        "follow_up":            "404 404 404 403",
        "other_visitator":      _NONE,
        "outsider_coordinator": _NONE,
        "admin":                _NONE,
        "anonymous":            _ANON,
    },
}
# fmt: on


def _cells():
    for key, rows in GLOBAL_MATRIX.items():
        assert set(rows) == set(ROLES), key
        for role, code in rows.items():
            yield pytest.param(key, role, None, int(code), id=f"{key}-{role}")
    for key, rows in OBJECT_MATRIX.items():
        assert set(rows) == set(ROLES), key
        for role, row in rows.items():
            for column, code in zip(COLUMNS, row.split(), strict=True):
                yield pytest.param(key, role, column, int(code), id=f"{key}-{role}-{column}")


def _request(client, world, key, column):
    name, _, method = key.partition(" ")
    if column is None:
        url = reverse(f"consultations:{name}")
        data = {"recipient": f"dsc:{world.dsc_org.pk}", "question": QUESTION}
    else:
        consultation = build_consultations(world)[column]
        url = reverse(f"consultations:{name}", args=[consultation.pk])
        data = {"answer": ANSWER}
    return url, (client.post(url, data) if method == "POST" else client.get(url))


@pytest.mark.parametrize(("key", "role", "column", "expected"), list(_cells()))
def test_consultation_permission_matrix(client, world, key, role, column, expected):
    user = None if role == "anonymous" else getattr(world, role)
    if user is not None:
        client.force_login(user)

    url, response = _request(client, world, key, column)

    assert response.status_code == expected, f"{key} {url} as {role}"
    if expected == 302:
        login = response["Location"].startswith("/accounts/login/")
        assert login is (role == "anonymous"), response["Location"]


def test_every_consultation_url_is_in_the_matrix():
    resolver = next(
        p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "consultations"
    )
    names = {p.name for p in resolver.url_patterns}
    covered = {key.split()[0] for key in (*GLOBAL_MATRIX, *OBJECT_MATRIX)}
    assert names == covered == {"list", "ask", "detail", "withdraw"}


def test_a_post_that_answers_or_withdraws_changed_the_consultation(client, world):
    """The 302s of the matrix are the step done, not a redirect that did nothing."""
    made = build_consultations(world)
    client.force_login(world.visitator)
    client.post(reverse("consultations:detail", args=[made["vis_open"].pk]), {"answer": ANSWER})
    client.force_login(world.police_contact)
    client.post(reverse("consultations:withdraw", args=[made["dsc_open"].pk]))

    assert reload(made["vis_open"]).status == ConsultationStatus.ANSWERED
    assert reload(made["dsc_open"]).status == ConsultationStatus.WITHDRAWN


def test_deny_then_grant_then_allow(client, world):
    """A 404 above is the role, not a broken URL: the same request answers 200 once the other
    municipality's visitator also becomes visitator in this municipality."""
    consultation = ask(world)
    url = consultation.get_absolute_url()
    client.force_login(world.other_visitator)
    assert client.get(url).status_code == 404

    RoleAssignment.objects.create(
        user=world.other_visitator, role=Role.VISITATOR, organisation=world.municipality
    )

    assert client.get(url).status_code == 200


def test_a_new_dsc_organisation_gets_questions_only_for_its_own_advisors(world):
    other_dsc = OrganisationFactory(name="Andet center", code="ADSC", kind=OrganisationKind.DSC)
    advisor = user_with_role(Role.DSC_ADVISOR, other_dsc, username="otheradvisor")
    consultation = ask(world, kind=DSC, organisation=other_dsc)

    with pytest.raises(PermissionDenied):
        consultations.answer(actor=world.dsc, consultation=consultation, answer=ANSWER)
    consultations.answer(actor=advisor, consultation=consultation, answer=ANSWER)

    assert reload(consultation).answered_by == advisor


# =============================================================================================
# Real PostgreSQL: the row lock decides a race
# =============================================================================================


def _race(*steps):
    """Run the steps at the same moment in their own threads (and connections); return what
    each did: "done", or the name of the error it raised."""
    import threading

    barrier = threading.Barrier(len(steps))
    results = {}

    def run(index, step):
        try:
            barrier.wait()
            step()
            results[index] = "done"
        except (ValidationError, PermissionDenied) as error:
            results[index] = type(error).__name__
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[i] for i in range(len(steps))]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_answers_at_the_same_moment_leave_one_answer():
    from .conftest import build_world

    world = build_world()
    consultation = ask(world)

    results = _race(
        lambda: consultations.answer(
            actor=world.visitator, consultation=consultation, answer="Svar fra visitatoren"
        ),
        lambda: consultations.answer(
            actor=world.deputy_visitator, consultation=consultation, answer="Svar fra stedfortræder"
        ),
    )

    assert sorted(results) == ["TransitionError", "done"]
    stored = reload(consultation)
    winner = world.visitator if results[0] == "done" else world.deputy_visitator
    assert stored.answered_by == winner
    assert AuditEntry.objects.filter(what="consultation:answer").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_answer_and_a_withdrawal_at_the_same_moment_do_not_both_happen():
    from .conftest import build_world

    world = build_world()
    consultation = ask(world)

    results = _race(
        lambda: consultations.answer(
            actor=world.visitator, consultation=consultation, answer=ANSWER
        ),
        lambda: consultations.withdraw(actor=world.first_contact, consultation=consultation),
    )

    assert sorted(results) == ["TransitionError", "done"]
    expected = ConsultationStatus.ANSWERED if results[0] == "done" else "withdrawn"
    assert reload(consultation).status == expected
    assert (
        AuditEntry.objects.filter(what__in=["consultation:answer", "consultation:withdraw"]).count()
        == 1
    )


# =============================================================================================
# Retention: answered and withdrawn consultations are deleted after the set number of years
# =============================================================================================
def _asked_ago(consultation, *, days):
    Consultation.objects.filter(pk=consultation.pk).update(
        asked_at=timezone.now() - datetime.timedelta(days=days)
    )


def test_closed_consultations_past_retention_are_deleted_and_audited(world, settings):
    settings.CONSULTATION_RETENTION_YEARS = 2
    answered = ask(world)
    consultations.answer(actor=world.visitator, consultation=answered, answer=ANSWER)
    withdrawn = ask(world)
    consultations.withdraw(actor=world.first_contact, consultation=withdrawn)
    still_open, recent = ask(world), ask(world)
    for old in (answered, withdrawn, still_open):
        _asked_ago(old, days=2 * 366)
    consultations.answer(actor=world.visitator, consultation=recent, answer=ANSWER)

    assert consultations.delete_expired() == 2

    assert set(Consultation.objects.values_list("pk", flat=True)) == {still_open.pk, recent.pk}
    deleted = AuditEntry.objects.filter(action=AuditAction.DELETE, what="consultation:expired")
    assert set(deleted.values_list("object_id", flat=True)) == {
        str(answered.pk),
        str(withdrawn.pk),
    }
    assert consultations.delete_expired() == 0  # nothing twice


def test_the_retention_years_come_from_the_setting(world, settings):
    answered = ask(world)
    consultations.answer(actor=world.visitator, consultation=answered, answer=ANSWER)
    _asked_ago(answered, days=400)

    settings.CONSULTATION_RETENTION_YEARS = 2
    assert consultations.delete_expired() == 0
    settings.CONSULTATION_RETENTION_YEARS = 1
    assert consultations.delete_expired() == 1


def test_the_daily_task_deletes_them(world, settings):
    from cooperation.tasks import delete_expired_consultations

    answered = ask(world)
    consultations.answer(actor=world.visitator, consultation=answered, answer=ANSWER)
    _asked_ago(answered, days=5 * 366)

    assert delete_expired_consultations.delay().get() == 1
    jobs = {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "cooperation.tasks.delete_expired_consultations" in jobs
