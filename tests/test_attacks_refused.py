"""Attacks a red-team review of session 7 tried and the system refused, kept so that it stays
so: a partner posting to the tools, ids of another case under a case the user may read, the join
page aimed at a case the user is disqualified on, the list searches."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import services
from cases.models import Case, Consent, ConsentPartner, ConsentScope, Referral, ReferralKind
from stalkingpakke import incident_log
from stalkingpakke.content import load_defaults
from stalkingpakke.models import (
    ActionPlan,
    Document,
    FilledForm,
    IncidentEntry,
    ToolKind,
    ToolVersion,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    load_defaults(ToolVersion, ToolKind.values)


def _entry(world, case):
    return incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={
            "occurred_at": datetime.datetime(2026, 3, 2, 21, 40, tzinfo=datetime.UTC),
            "what_happened": "Ringede 12 gange",
            "behaviours": ["calls"],
        },
    )


def _snapshot(case):
    case = Case.objects.get(pk=case.pk)
    return (
        case.version,
        case.state,
        case.events.count(),
        IncidentEntry.objects.filter(case=case).count(),
        FilledForm.objects.filter(case=case).count(),
        ActionPlan.objects.filter(case=case).count(),
        Document.objects.filter(case=case).count(),
        Consent.objects.filter(case=case, withdrawn_at__isnull=True).count(),
    )


def test_a_partner_with_every_consent_changes_nothing_through_the_tools(world, client):
    """Attack: the police contact reads everything of a case (all five scopes) and POSTs to
    each tool URL as the coordinator's forms would (new log entry, correction, attachment,
    CSV import, assessment, action plan, a PDF). Safe and observed: 403 (or 404) and the case,
    its log, forms, plan and documents are unchanged."""
    case = world.active(police=True)
    entry = _entry(world, case)
    before = _snapshot(case)
    client.force_login(world.police_contact)
    ref = case.reference
    posts = [
        (
            reverse("stalkingpakke:incident_log", args=[ref]),
            {"occurred_at": "2026-03-03T10:00", "what_happened": "Falsk", "behaviours": ["calls"]},
        ),
        (
            reverse("stalkingpakke:correct_entry", args=[ref, entry.sequence]),
            {"what_happened": "Rettet", "correction_reason": "x"},
        ),
        (
            reverse("stalkingpakke:add_attachment", args=[ref, entry.sequence]),
            {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.4 x")},
        ),
        (
            reverse("stalkingpakke:import_csv", args=[ref]),
            {"file": SimpleUploadedFile("a.csv", b"dato;hvad\n2026-03-03;x\n")},
        ),
        (reverse("stalkingpakke:tool_form", args=[ref, ToolKind.ASSESSMENT]), {"since": "x"}),
        (
            reverse("stalkingpakke:action_plan", args=[ref]),
            {"goals": "Ændret", "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "0"},
        ),
        (reverse("stalkingpakke:request_document", args=[ref, "action_plan"]), {}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code in (403, 404), (url, response.status_code)
    assert _snapshot(case) == before


def test_ids_of_another_case_are_not_found_under_a_case_the_user_has_full_access_to(world, client):
    """Attack: the visitator of municipality A (full access to A's case) puts ids from a case
    of municipality B (a consent, an onward referral, a routed referral) into the URLs of A's
    case. Safe and observed: 404, and B's consent/referral are unchanged."""
    mine = world.active(police=True)
    theirs = services.refer(
        actor=world.police_contact,
        municipality=world.other_municipality,
        full_name="Anden Borger",
        safe_contact="sms",
        consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)],
    )
    services.start_triage(actor=world.other_visitator, case=theirs)
    theirs = services.triage(
        actor=world.other_visitator,
        case=Case.objects.get(pk=theirs.pk),
        is_stalking=True,
        reasoning="x",
        coordinator=world.outsider_coordinator,
    )
    onward = services.refer_onward(
        actor=world.outsider_coordinator, case=theirs, external="Krisecenter", reason="x"
    )
    consent = theirs.consents.get(scope=ConsentScope.CONTACT)
    routed = theirs.referrals.get(kind=ReferralKind.TO_COORDINATOR)
    client.force_login(world.visitator)
    ref = mine.reference
    for url in [
        reverse("cases:withdraw_consent", args=[ref, consent.pk]),
        reverse("cases:onward_outcome", args=[ref, onward.pk]),
        reverse("cases:respond", args=[ref, routed.pk]),
    ]:
        assert client.get(url).status_code == 404, url
        assert (
            client.post(url, {"status": "accepted", "reason": "x", "svar": "accept"}).status_code
            == 404
        ), url
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    assert Referral.objects.get(pk=onward.pk).status == onward.status
    assert Referral.objects.get(pk=routed.pk).status == routed.status


def test_a_disqualified_user_learns_nothing_from_the_join_page_of_a_case_they_may_read(
    world, client
):
    """Attack: the deputy visitator (disqualified on A) may read the new referral B and opens
    B's join URL with A as the target (guessing A's reference). Safe and observed: 404 (the
    same as for a case that does not exist), and the attempt is flagged."""
    from cases.models import AuditAction, AuditEntry

    first = world.in_triage(full_name="Mette Sørensen", cpr="0101901234")
    services.disqualify(actor=world.visitator, case=first, user=world.deputy_visitator, reason="x")
    # Not yet known to be the same person (no CPR number, the name spelt otherwise), so the
    # disqualification has not reached it.
    again = world.refer(full_name="M. Sørensen")
    client.force_login(world.deputy_visitator)
    url = reverse("cases:join", args=[again.reference, first.reference])
    missing = reverse("cases:join", args=[again.reference, "TST-2099-9999"])
    assert client.get(url).status_code == client.get(missing).status_code == 404
    assert client.post(url).status_code == 404
    assert Case.objects.get(pk=again.pk).merged_into_id is None
    assert AuditEntry.objects.filter(case=first, action=AuditAction.DENIED, flagged=True).exists()


def test_the_dashboard_and_list_searches_leave_out_the_disqualified_case(world, client):
    """Attack: the disqualified deputy looks at the dashboard counts and the queue search by
    CPR. Safe and observed: the case is in no count, row, search hit or duplicate mark."""
    case = world.refer(full_name="Mette Sørensen", cpr="0101901234")
    services.disqualify(actor=world.visitator, case=case, user=world.deputy_visitator, reason="x")
    client.force_login(world.deputy_visitator)
    client.post(reverse("cases:triage_dashboard"), {"q": "0101901234"})
    html = client.get(reverse("cases:triage_dashboard")).content.decode()
    assert case.reference not in html and "Mette" not in html
    client.post(reverse("cases:municipality_cases"), {"q": "Mette"})
    html = client.get(reverse("cases:municipality_cases")).content.decode()
    assert case.reference not in html and "Sørensen" not in html  # "Mette": the search box
