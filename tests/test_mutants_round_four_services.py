"""Fourth mutation review (session 10), tests for cases/services.py (update_person):
each test passes on the code and fails on the one-line change named in its docstring, which
the rest of the suite let through."""

import datetime

import pytest

from cases import services
from cases.access import is_disqualified
from cases.models import AuditEntry, Case, CaseEvent, EventKind

pytestmark = pytest.mark.django_db

NAME = "Mette Sørensen"


def test_a_birth_date_corrected_to_the_persons_brings_the_marks_of_her_other_case(world):
    """Mutant (services.py:983): the marks are shared after a change of the name or the CPR
    number only, not of the birth date. Name and birth date together say it is the person
    (selectors.looks_like): once the birth date is corrected, the one marked on her other
    case must not read this one (her safe contact)."""
    first = world.active(full_name=NAME, birth_date=datetime.date(1990, 1, 1))
    services.disqualify(
        actor=world.visitator, case=first, user=world.deputy_visitator, reason="Er stalkeren"
    )
    again = world.in_triage(full_name=NAME, birth_date=datetime.date(1990, 1, 2))
    assert not is_disqualified(world.deputy_visitator, again)

    services.update_person(
        actor=world.visitator, case=again, details={"birth_date": datetime.date(1990, 1, 1)}
    )

    again = Case.objects.get(pk=again.pk)
    assert is_disqualified(world.deputy_visitator, again)
    assert AuditEntry.objects.get(case_id=again.pk, what="person").flagged


def test_a_cpr_number_added_is_named_once_in_the_timeline(world):
    """Mutant (services.py:977): the timeline's summary names the CPR number's columns too
    (its index, its encrypted form, its last four digits), not only "CPR-nummer"."""
    case = world.in_triage(full_name=NAME)

    services.update_person(actor=world.visitator, case=case, details={}, cpr="0101901234")

    summary = CaseEvent.objects.get(case=case, kind=EventKind.PERSON_CHANGED).summary
    birth = str(Case._meta.get_field("birth_date").verbose_name)
    assert summary.split(", ") == [birth, "CPR-nummer"]
