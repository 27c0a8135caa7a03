"""Text with HTML or script in it is shown as text on every page that shows it, to every role,
and in the admin: the same markup typed into every free-text field of a case comes back
escaped, never as a tag. (PDFs: tests/test_pdf.py and tests/test_subject_access.py; the CSV
export's formula guard: tests/test_audit_pages.py.)"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import ConsentPartner, ConsentScope
from stalkingpakke import incident_log
from stalkingpakke import services as tools

pytestmark = pytest.mark.django_db

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def case(world):
    everything = [(ConsentPartner.POLICE, scope) for scope in ConsentScope.values]
    case = world.refer(
        full_name=f"Anna {MARKUP}",
        safe_contact=f"Sms {MARKUP}",
        safe_contact_time=f"Aften {MARKUP}",
        reason=f"Beskeder {MARKUP}",
        consents=everything,
    )
    case = services.start_triage(actor=world.visitator, case=case)
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning=f"Vurdering {MARKUP}",
        coordinator=world.coordinator,
        to_police=True,
    )
    services.add_note(actor=world.coordinator, case=case, text=f"Notat {MARKUP}")
    tools.save_action_plan(
        actor=world.coordinator,
        case=case,
        goals=f"Mål {MARKUP}",
        safety_measures=f"Tiltag {MARKUP}",
        next_review=None,
        items=[{"who": f"Koordinator {MARKUP}", "what": f"Ring {MARKUP}", "deadline": None}],
    )
    incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={
            "occurred_at": timezone.make_aware(datetime.datetime(2026, 3, 2, 20, 0)),
            "what_happened": f"Opkald {MARKUP}",
            "place": f"Hjemme {MARKUP}",
            "behaviours": ["calls"],
        },
    )
    return case


def _pages(case):
    ref = [case.reference]
    return [
        case.get_absolute_url(),
        reverse("cases:my_cases"),
        reverse("cases:triage_dashboard"),
        reverse("stalkingpakke:incident_log", args=ref),
        reverse("stalkingpakke:action_plan", args=ref),
        reverse("cases:subject_access:page", args=ref),
    ]


@pytest.mark.parametrize("role", ["visitator", "coordinator", "police_contact"])
def test_markup_in_every_field_comes_back_as_text(client, world, case, role):
    client.force_login(getattr(world, role))
    shown = 0
    for url in _pages(case):
        response = client.get(url)
        if response.status_code != 200:
            continue  # not this role's page (the permission matrices decide who sees what)
        body = response.content.decode()
        assert "<script>alert" not in body, url
        assert "<img src=x" not in body, url
        shown += body.count(ESCAPED)
    assert shown >= 3, "the markup must be shown (as text) on the pages the role can read"


def test_markup_in_the_admin_is_text(client, world):
    world.municipality.name = f"Kommune {MARKUP}"
    world.municipality.save()
    client.force_login(world.admin)
    for url in (
        reverse("admin:cooperation_organisation_changelist"),
        reverse("admin:cooperation_organisation_change", args=[world.municipality.pk]),
        reverse("directory"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "<script>alert" not in body and "<img src=x" not in body, url
