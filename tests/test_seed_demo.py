"""`seed_demo`, as DESIGN.md section 7 promises it to everyone who tries the product: the demo
users with the password "demo", cases in every state, one referred to the police and one not,
the police case's PDFs made by the real task; idempotent, and refused without DEBUG."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from cases.models import Case, CaseEvent, CaseState, ReferralKind, Urgency
from cooperation.models import Role, RoleAssignment
from stalkingpakke.models import Document, DocumentStatus

pytestmark = pytest.mark.django_db(transaction=False)

DEMO_USERS = {
    "forstekontakt": Role.FIRST_CONTACT,
    "visitator": Role.VISITATOR,
    "koordinator": Role.COORDINATOR,
    "politi": Role.POLICE_CONTACT,
    "dsc": Role.DSC_ADVISOR,
    "folgegruppe": Role.FOLLOW_UP,
}


def _seed():
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=StringIO())


def _counts():
    return (
        get_user_model().objects.count(),
        RoleAssignment.objects.count(),
        Case.objects.count(),
        CaseEvent.objects.count(),
        Document.objects.count(),
    )


@pytest.fixture
def seeded(settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    # The PDFs are queued after the commit, as in `make run`.
    with django_capture_on_commit_callbacks(execute=True):
        _seed()


def test_every_demo_user_logs_in_with_the_demo_password_and_holds_their_role(seeded):
    users = get_user_model().objects
    for username, role in DEMO_USERS.items():
        user = users.get(username=username)
        assert user.check_password("demo"), username
        assert RoleAssignment.objects.current().filter(user=user, role=role).exists()
    admin = users.get(username="admin")
    assert admin.is_superuser and admin.check_password("demo")


def test_the_demo_has_a_case_in_every_state_one_with_the_police_and_one_without(seeded):
    assert set(Case.objects.values_list("state", flat=True)) >= set(CaseState.values)
    with_police = Case.objects.filter(referrals__kind=ReferralKind.TO_POLICE).distinct()
    assert with_police.exists()
    assert Case.objects.filter(state=CaseState.ACTIVE).exclude(pk__in=with_police).exists()


def test_the_police_case_has_its_action_plan_and_incident_log_pdfs(seeded):
    case = Case.objects.filter(referrals__kind=ReferralKind.TO_POLICE).first()
    ready = set(case.documents.filter(status=DocumentStatus.READY).values_list("kind", flat=True))
    assert {"action_plan", "incident_log"} <= ready


def test_the_acute_demo_referral_was_due_the_day_it_arrived(seeded):
    acute = Case.objects.filter(urgency=Urgency.ACUTE, state=CaseState.REFERRED).get()
    assert acute.triage_deadline == timezone.localtime(acute.received_at).date()
    assert acute.triage_deadline < timezone.localdate()  # shown as overdue
    # Its referral and timeline are of the same day as "Modtaget", not of today.
    assert {r.created_at for r in acute.referrals.all()} == {acute.received_at}
    assert {e.created_at for e in acute.events.all()} == {acute.received_at}


def test_the_example_log_entries_keep_the_time_of_day_their_text_tells_of(seeded):
    case = Case.objects.filter(referrals__kind=ReferralKind.TO_POLICE).first()
    first = case.incidents.order_by("occurred_at").first()
    assert "mellem 21.40 og 22.30" in first.what_happened
    assert timezone.localtime(first.occurred_at).strftime("%H:%M") == "21:40"


def test_running_it_again_changes_nothing(seeded, django_capture_on_commit_callbacks):
    before = _counts()
    with django_capture_on_commit_callbacks(execute=True):
        _seed()
    assert _counts() == before


def test_it_refuses_to_run_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.filter(username="visitator").exists()
