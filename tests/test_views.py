"""Each role's journey through the pages, with the Django test client and the real services."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import (
    AuditAction,
    AuditEntry,
    Case,
    CaseState,
    ConsentPartner,
    ConsentScope,
    ReferralKind,
    Urgency,
)
from cooperation.models import RoleAssignment

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def text(response) -> str:
    return response.content.decode()


def referral_data(world, **overrides):
    data = {
        "municipality": world.municipality.pk,
        "full_name": "Karen Holm",
        "person_kind": "citizen",
        "cpr": "",
        "safe_contact": "Kun sms efter kl. 16",
        "safe_contact_time": "",
        "urgency": Urgency.NORMAL,
        "reason": "Ekskæresten står uden for hendes arbejde hver dag.",
        "relation": "ex_partner",
        "stalker_works_in_municipality": "unknown",
        "consents": ["police:contact"],
    }
    data.update(overrides)
    return data


def post_forms(html: str) -> list[str]:
    """The action of every POST form on the page."""
    forms = re.findall(r"<form\b[^>]*>", html)
    return [
        (re.search(r'action="([^"]*)"', tag) or [None, ""])[1]
        for tag in forms
        if re.search(r'method="post"', tag, re.I)
    ]


# --------------------------------------------------------------------------------------------
# First contact
# --------------------------------------------------------------------------------------------
def test_first_contact_refers_and_sees_the_referral_as_sent(client, world):
    client.force_login(world.first_contact)
    assert client.get(reverse("cases:referral_create")).status_code == 200

    response = client.post(reverse("cases:referral_create"), referral_data(world))

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:my_referrals")
    case = Case.objects.get(full_name="Karen Holm")
    assert case.state == CaseState.REFERRED
    assert case.responsible == world.visitator
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert case.reference in text(page)
    assert "Sendt" in text(page)
    assert "Henvisningen er sendt til stalkingvisitatoren" in text(page)
    # Status only: the first contact never reads the case itself.
    assert "Kun sms efter kl. 16" not in text(page)
    assert client.get(case.get_absolute_url()).status_code == 404


def test_invalid_referral_shows_the_error_summary_and_keeps_the_input(client, world):
    client.force_login(world.first_contact)

    response = client.post(reverse("cases:referral_create"), referral_data(world, cpr="123"))

    assert response.status_code == 200
    html = text(response)
    assert "Der er fejl i formularen" in html
    assert "CPR-nummeret skal have 10 cifre" in html
    assert 'href="#id_cpr"' in html  # the summary links to the field
    assert 'value="Karen Holm"' in html
    assert "Kun sms efter kl. 16" in html
    assert not Case.objects.exists()


# --------------------------------------------------------------------------------------------
# Visitator: dashboard, triage
# --------------------------------------------------------------------------------------------
def make_overdue(case, days=10):
    past = timezone.now() - datetime.timedelta(days=days)
    Case.objects.filter(pk=case.pk).update(
        received_at=past, triage_deadline=timezone.localdate() - datetime.timedelta(days=3)
    )


def test_visitator_dashboard_shows_deadlines_and_overdue(client, world):
    on_time = world.refer(full_name="Anna Vestergaard")
    late = world.refer(full_name="Bent Overdue")
    make_overdue(late)
    client.force_login(world.visitator)

    response = client.get(reverse("cases:triage_dashboard"))

    assert response.status_code == 200
    html = text(response)
    assert on_time.reference in html and late.reference in html
    assert html.count("Overskredet") == 1
    row = html[html.index(late.reference) : html.index("</tr>", html.index(late.reference))]
    assert "Overskredet" in row
    # The on-time case shows its deadline date (or "I dag"), never "Overskredet".
    row = html[html.index(on_time.reference) : html.index("</tr>", html.index(on_time.reference))]
    assert "Overskredet" not in row
    assert str(on_time.triage_deadline.year) in row or "I dag" in row


def test_the_dashboards_overdue_count_is_of_the_triage_queue_not_of_active_cases(client, world):
    late = world.refer()
    make_overdue(late)
    make_overdue(world.active())  # its triage deadline long past: it was triaged
    client.force_login(world.visitator)
    response = client.get(reverse("cases:triage_dashboard"))
    assert response.context["counts"]["overdue"] == 1


def test_visitator_dashboard_filters(client, world):
    referred = world.refer(full_name="Anna Vestergaard")
    triaging = world.in_triage(full_name="Bent Jensen")
    acute = world.refer(full_name="Carla Akut", urgency=Urgency.ACUTE)
    late = world.refer(full_name="Dorte Sen")
    make_overdue(late)
    client.force_login(world.visitator)
    url = reverse("cases:triage_dashboard")

    def shown(q="", **params):
        # The search words are posted and kept in the session (cases/list_search.py).
        client.post(url, {"q": q, **params})
        html = text(client.get(url, params))
        cases = (referred, triaging, acute, late)
        return {c.reference for c in cases if c.reference in html}

    assert shown() == {referred.reference, triaging.reference, acute.reference, late.reference}
    assert shown(state="in_triage") == {triaging.reference}
    assert shown(state="referred") == {referred.reference, acute.reference, late.reference}
    assert shown(urgency=Urgency.ACUTE) == {acute.reference}
    assert shown(overdue="on") == {late.reference}
    assert shown(q="vesterg") == {referred.reference}
    assert shown(q=triaging.reference) == {triaging.reference}


def test_visitator_dashboard_paginates(client, world):
    cases = [world.refer(full_name=f"Borger {n:02d}") for n in range(30)]
    client.force_login(world.visitator)
    url = reverse("cases:triage_dashboard")

    first = text(client.get(url))
    second = text(client.get(url, {"side": 2}))

    assert "Side 1 af 2" in first and "Side 2 af 2" in second
    on_first = {c.reference for c in cases if c.reference in first}
    on_second = {c.reference for c in cases if c.reference in second}
    assert len(on_first) == 25 and len(on_second) == 5
    assert not on_first & on_second
    # Filters survive paging; the search words stay in the session, out of the links.
    client.post(url, {"q": "Borger", "state": "referred"})
    page = text(client.get(url, {"state": "referred"}))
    assert "state=referred&amp;side=2" in page
    assert "Borger" not in "".join(re.findall(r'href="([^"]*)"', page))
    assert (
        len({c.reference for c in cases if c.reference in text(client.get(url, {"side": 2}))}) == 5
    )


def test_visitator_starts_triage_and_routes_to_coordinator_and_police(client, world):
    case = world.refer(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    client.force_login(world.visitator)

    response = client.post(reverse("cases:start_triage", args=[case.reference]))

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:triage", args=[case.reference])
    case.refresh_from_db()
    assert case.state == CaseState.IN_TRIAGE
    form = client.get(response["Location"])
    assert form.status_code == 200
    assert f'name="version" value="{case.version}"' in text(form)

    response = client.post(
        reverse("cases:triage", args=[case.reference]),
        {
            "version": case.version,
            "is_stalking": "yes",
            "reasoning": "Gentagne uønskede henvendelser over flere måneder.",
            "coordinator": world.coordinator.pk,
            "to_police": "on",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == case.get_absolute_url()
    case.refresh_from_db()
    assert case.state == CaseState.ACTIVE
    assert case.responsible == world.coordinator
    assert set(case.referrals.values_list("kind", flat=True)) == {
        ReferralKind.TO_VISITATOR,
        ReferralKind.TO_COORDINATOR,
        ReferralKind.TO_POLICE,
    }
    html = text(client.get(case.get_absolute_url()))
    assert "Visitationen er gemt." in html
    timeline = html[html.index('id="timeline-heading"') :]
    for kind in (
        "Henvist",
        "Visitation påbegyndt",
        "Visiteret",
        "Henvist til koordinator, politi eller DSC",
    ):
        assert f"<strong>{kind}</strong>" in timeline
    assert "Testpoliti" in timeline  # the routing summary names the police district


def test_triage_offers_a_partner_without_consent_only_as_a_disabled_choice(client, world):
    case = world.in_triage(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    client.force_login(world.visitator)
    url = reverse("cases:triage", args=[case.reference])

    html = text(client.get(url))
    dsc = html[html.index('name="to_dsc"') - 200 : html.index('name="to_dsc"') + 400]
    police = html[html.index('name="to_police"') - 200 : html.index('name="to_police"') + 200]
    assert "disabled" in dsc and "Registrér samtykket på sagen først" in dsc
    assert "disabled" not in police

    # A crafted post with the disabled choice: the route is not taken, the rest is saved.
    response = client.post(
        url,
        {
            "version": case.version,
            "is_stalking": "yes",
            "reasoning": "Gentagne henvendelser.",
            "to_police": "on",
            "to_dsc": "on",
        },
    )
    assert response.status_code == 302
    kinds = set(case.referrals.values_list("kind", flat=True))
    assert ReferralKind.TO_POLICE in kinds and ReferralKind.TO_DSC not in kinds


def test_triage_with_a_stale_version_says_so(client, world):
    case = world.in_triage()
    stale = case.version
    services.add_note(actor=world.deputy_visitator, case=case, text="Ringede i mellemtiden")
    client.force_login(world.visitator)

    response = client.post(
        reverse("cases:triage", args=[case.reference]),
        {
            "version": stale,
            "is_stalking": "yes",
            "reasoning": "Stalking",
            "coordinator": world.coordinator.pk,
        },
    )

    assert response.status_code == 200
    assert "Sagen er blevet ændret af en anden, mens du arbejdede" in text(response)
    case.refresh_from_db()
    assert case.state == CaseState.IN_TRIAGE


def test_my_cases_lists_the_cases_the_user_is_responsible_for_not_all_they_see(client, world):
    mine = world.in_triage()
    theirs = services.start_triage(actor=world.deputy_visitator, case=world.refer())
    client.force_login(world.visitator)
    html = text(client.get(reverse("cases:my_cases")))
    assert mine.reference in html
    assert theirs.reference not in html
    assert client.get(theirs.get_absolute_url()).status_code == 200  # though the visitator may


# --------------------------------------------------------------------------------------------
# Coordinator
# --------------------------------------------------------------------------------------------
def test_coordinator_works_the_case_closes_and_reopens(client, world):
    case = world.active()
    client.force_login(world.coordinator)

    my_cases = client.get(reverse("cases:my_cases"))
    assert my_cases.status_code == 200
    assert "Mine sager" in text(my_cases) and case.reference in text(my_cases)

    response = client.post(
        reverse("cases:add_note", args=[case.reference]), {"text": "Første samtale holdt."}
    )
    assert response.status_code == 302
    assert "Første samtale holdt." in text(client.get(case.get_absolute_url()))

    close_url = reverse("cases:close", args=[case.reference])
    assert client.get(close_url).status_code == 200
    case.refresh_from_db()
    response = client.post(close_url, {"version": case.version, "reason": "resolved"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.closing_reason == "resolved"
    assert case.reference not in text(client.get(reverse("cases:my_cases")))
    assert case.reference in text(client.get(reverse("cases:my_cases"), {"lukkede": "1"}))

    reopen_url = reverse("cases:reopen", args=[case.reference])
    assert client.get(reopen_url).status_code == 200
    response = client.post(reopen_url, {"reason": "Borgeren henvender sig igen."})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.ACTIVE and case.responsible == world.coordinator
    assert "Borgeren henvender sig igen." in text(client.get(case.get_absolute_url()))


# --------------------------------------------------------------------------------------------
# Police, DSC
# --------------------------------------------------------------------------------------------
def police_case_with_contact_consent_only(world):
    case = world.in_triage(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    case = services.triage(
        actor=world.visitator,
        case=case,
        is_stalking=True,
        reasoning="Begrundelse kun for kommunen",
        coordinator=world.coordinator,
        to_police=True,
    )
    services.add_note(actor=world.coordinator, case=case, text="Hemmeligt notat om naboen")
    return case


def test_police_sees_shared_cases_read_only_and_only_what_was_consented(client, world):
    case = police_case_with_contact_consent_only(world)
    client.force_login(world.police_contact)

    shared = client.get(reverse("cases:partner_cases"))
    assert shared.status_code == 200 and case.reference in text(shared)

    response = client.get(case.get_absolute_url())

    assert response.status_code == 200
    html = text(response)
    assert "Læseadgang" in html
    assert "Mette Sørensen" in html  # CONTACT consent: name and safe contact
    assert "Kun sms" in html
    assert "Hemmeligt notat om naboen" not in html  # no NOTES consent
    assert "Begrundelse kun for kommunen" not in html  # no SITUATION consent
    # No form that changes the case: logging out, the language, the idle warning's "stay".
    assert set(post_forms(html)) <= {
        reverse("logout"),
        reverse("set_language"),
        reverse("keepalive"),
    }
    case_prefix = f"/sager/{case.reference}/"
    own_referral = case.referrals.get(to_user=world.police_contact)
    action_links = {href for href in re.findall(r'href="([^"]+)"', html) if case_prefix in href}
    assert action_links <= {
        case_prefix,
        reverse("cases:respond", args=[case.reference, own_referral.pk]),
    }

    client.force_login(world.coordinator)
    assert "Hemmeligt notat om naboen" in text(client.get(case.get_absolute_url()))


def test_police_refers_a_citizen_to_the_visitator(client, world):
    client.force_login(world.police_contact)
    form = client.get(reverse("cases:referral_create"))
    assert form.status_code == 200

    response = client.post(
        reverse("cases:referral_create"),
        referral_data(world, full_name="Politiets Borger", consents=[]),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:my_referrals")
    case = Case.objects.get(full_name="Politiets Borger")
    referral = case.referrals.get()
    assert referral.kind == ReferralKind.TO_VISITATOR
    assert referral.from_organisation == world.police
    assert referral.to_user == world.visitator
    client.force_login(world.visitator)
    assert case.reference in text(client.get(reverse("cases:triage_dashboard")))


def test_dsc_sees_the_case_routed_to_dsc(client, world):
    case = world.active(dsc=True)
    other = world.active(police=True)
    client.force_login(world.dsc)

    shared = text(client.get(reverse("cases:partner_cases")))
    assert case.reference in shared and other.reference not in shared
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    assert "Mette Sørensen" in text(response)  # DSC has CONTACT consent


# --------------------------------------------------------------------------------------------
# Follow-up group, directory, language
# --------------------------------------------------------------------------------------------
def test_follow_up_sees_numbers_and_no_names(client, world):
    closed = world.closed(police=True)
    active = world.active(full_name="Anna Vestergaard")
    referred = world.refer(full_name="Bent Jensen")
    client.force_login(world.follow_up)

    response = client.get(reverse("statistics"))

    assert response.status_code == 200
    html = text(response)
    assert "<td>3</td>" in html  # three referrals this month
    for case in (closed, active, referred):
        assert case.reference not in html
    for name in ("Mette Sørensen", "Anna Vestergaard", "Bent Jensen", "Kun sms"):
        assert name not in html


def test_directory_shows_visitator_and_deputy_with_phone(client, world):
    RoleAssignment.objects.filter(user=world.visitator).update(phone="76 16 10 00")
    RoleAssignment.objects.filter(user=world.deputy_visitator).update(phone="76 16 10 01")
    client.force_login(world.first_contact)

    response = client.get(reverse("directory"))

    assert response.status_code == 200
    html = text(response)
    assert world.visitator.get_full_name() in html
    assert world.deputy_visitator.get_full_name() in html
    assert 'href="tel:76161000"' in html and "76 16 10 01" in html
    assert "(stedfortræder)" in html


def test_the_directory_gives_the_municipalitys_fixed_number_for_the_visitation(client, world):
    world.municipality.visitation_phone = "33 33 33 33"
    world.municipality.save()
    client.force_login(world.first_contact)
    html = client.get(reverse("directory")).content.decode()
    assert 'href="tel:33333333"' in html and "Stalkingvisitationens faste nummer" in html


def test_the_administrator_sees_every_organisations_contacts_in_the_directory(client, world):
    client.force_login(world.admin)

    html = text(client.get(reverse("directory")))

    for organisation in (world.municipality, world.other_municipality, world.police):
        assert organisation.name in html
    assert world.visitator.get_full_name() in html
    assert world.other_visitator.get_full_name() in html


def test_a_first_contact_sees_only_the_directory_of_their_own_cooperation(client, world):
    client.force_login(world.first_contact)

    html = text(client.get(reverse("directory")))

    assert world.municipality.name in html and world.police.name in html
    assert world.other_visitator.get_full_name() not in html


def test_language_switch_to_english(client, world):
    client.force_login(world.visitator)
    assert 'lang="da"' in text(client.get(reverse("cases:triage_dashboard")))

    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("cases:triage_dashboard")}
    )

    assert response.status_code == 302
    for name in ("cases:triage_dashboard", "cases:my_cases", "directory"):
        page = client.get(reverse(name))
        assert page.status_code == 200
        assert '<html lang="en">' in text(page)


# --------------------------------------------------------------------------------------------
# Duplicates, audit
# --------------------------------------------------------------------------------------------
def test_duplicate_referral_is_flagged_and_joined(client, world):
    first = world.refer(cpr="010190-1234")
    second = world.refer(cpr="0101901234", full_name="Mette S.", reason="Ny henvendelse")
    client.force_login(world.visitator)

    dashboard = text(client.get(reverse("cases:triage_dashboard")))
    assert "Mulig dublet" in dashboard
    page = text(client.get(second.get_absolute_url()))
    join_url = reverse("cases:join", args=[second.reference, first.reference])
    assert "Mulige dubletter" in page and join_url in page

    confirm = client.get(join_url)
    assert confirm.status_code == 200
    response = client.post(join_url)

    assert response.status_code == 302
    assert response["Location"] == first.get_absolute_url()
    second.refresh_from_db()
    assert second.state == CaseState.CLOSED and second.merged_into == first
    assert first.referrals.count() == 2
    assert "Mulig dublet" not in text(client.get(reverse("cases:triage_dashboard")))


def test_the_join_confirmation_shows_both_cases_side_by_side_and_audits_both_reads(client, world):
    from cases.models import AuditEntry

    first = world.active(full_name="Mette Sørensen", cpr="010190-1234", safe_contact="Kun sms")
    second = world.refer(full_name="Mette S.", cpr="0101901234", safe_contact="Ring efter 16")
    client.force_login(world.visitator)

    page = text(client.get(reverse("cases:join", args=[second.reference, first.reference])))

    assert "Mette Sørensen" in page and "Mette S." in page
    assert "Kun sms" in page and "Ring efter 16" in page
    assert world.coordinator.get_full_name() in page  # who has the existing case
    assert "allerede visiteret" in page
    reads = AuditEntry.objects.filter(user=world.visitator, what__startswith="case_form:join")
    assert {(e.case_id, e.what) for e in reads} == {
        (second.pk, "case_form:join"),
        (first.pk, "case_form:join_target"),
    }


@pytest.mark.parametrize("role", ["visitator", "coordinator", "police_contact"])
def test_every_read_of_a_case_page_is_audited(client, world, role):
    case = world.active(police=True)
    user = getattr(world, role)
    client.force_login(user)

    def reads():
        return AuditEntry.objects.filter(user=user, case=case, action=AuditAction.VIEW).count()

    before = reads()
    for expected in (before + 1, before + 2):
        assert client.get(case.get_absolute_url()).status_code == 200
        assert reads() == expected
    entry = AuditEntry.objects.filter(user=user, case=case).first()
    assert entry.what == "case" and entry.path == case.get_absolute_url()
    assert entry.case_reference == case.reference


def test_disqualified_user_gets_404_and_the_attempt_is_flagged(client, world):
    case = world.in_triage()
    services.disqualify(
        actor=world.visitator, case=case, user=world.deputy_visitator, reason="Er i familie"
    )
    client.force_login(world.deputy_visitator)

    assert client.get(case.get_absolute_url()).status_code == 404

    entry = AuditEntry.objects.get(user=world.deputy_visitator, case=case)
    assert entry.action == AuditAction.DENIED and entry.flagged
    assert case.reference not in text(client.get(reverse("cases:triage_dashboard")))


def test_duplicate_hint_does_not_reveal_a_case_the_user_is_disqualified_on(client, world):
    hidden = world.refer(cpr="010190-1234")
    services.disqualify(
        actor=world.visitator, case=hidden, user=world.deputy_visitator, reason="Er i familie"
    )
    visible = world.refer(cpr="010190-1234", full_name="Mette S.")
    client.force_login(world.deputy_visitator)

    html = text(client.get(visible.get_absolute_url()))

    assert hidden.reference not in html


def test_the_dashboard_does_not_mark_a_duplicate_of_a_case_the_user_is_disqualified_on(
    client, world
):
    hidden = world.refer(cpr="010190-1234")
    services.disqualify(
        actor=world.visitator, case=hidden, user=world.deputy_visitator, reason="Er i familie"
    )
    world.refer(cpr="010190-1234", full_name="Mette S.")
    client.force_login(world.deputy_visitator)
    assert "Mulig dublet" not in text(client.get(reverse("cases:triage_dashboard")))
    client.force_login(world.visitator)
    assert "Mulig dublet" in text(client.get(reverse("cases:triage_dashboard")))


def test_the_full_cpr_number_is_shown_on_request_and_the_read_is_audited(client, world):
    from cases.models import AuditEntry

    case = world.active(cpr="010190-1234")
    client.force_login(world.coordinator)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "xxxxxx-1234" in page and "010190-1234" not in page

    response = client.post(reverse("cases:reveal_cpr", args=[case.reference]))
    assert response.status_code == 200
    assert "010190-1234" in response.content.decode()
    assert AuditEntry.objects.filter(user=world.coordinator, case=case, what="cpr").exists()


def test_a_server_error_has_a_page_of_its_own_without_details(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/sager/ESB-2026-0001/"))

    html = response.content.decode()
    assert response.status_code == 500
    assert "Der skete en fejl" in html and 'href="/"' in html
    assert "Traceback" not in html and "ESB-2026-0001" not in html


def test_an_administrator_without_a_case_role_starts_on_their_own_pages(client, world):
    client.force_login(world.admin)
    html = text(client.get("/"))
    assert "Administration og databeskyttelse" in html
    assert reverse("audit:search") in html and reverse("admin:index") in html
    assert "Du har ingen rolle i samarbejdet" not in html


def test_a_user_without_any_role_is_told_so(client):
    from .factories import UserFactory

    client.force_login(UserFactory())
    assert "Du har ingen rolle i samarbejdet" in text(client.get("/"))


def test_my_referrals_name_the_citizen_the_referrer_gave_and_nothing_more(client, world):
    case = world.refer(full_name="Karen Holm", safe_contact="Kun sms efter kl. 16")
    client.force_login(world.first_contact)
    html = text(client.get(reverse("cases:my_referrals")))
    assert case.reference in html and "Karen Holm" in html
    assert "Kun sms efter kl. 16" not in html


def test_the_join_page_refuses_a_target_it_could_not_join_into_before_showing_it(client, world):
    """The comparison shows the target's details: only for a case the service would join into
    (full access, same municipality), not any case the user reads, e.g. as a partner."""
    from cases.models import ConsentPartner, ConsentScope
    from cooperation.models import Role

    from .factories import RoleAssignmentFactory

    # The DSC advisor also covers as deputy visitator of Testkommune.
    RoleAssignmentFactory(
        user=world.dsc, organisation=world.municipality, role=Role.VISITATOR, is_deputy=True
    )
    source = world.refer(full_name="Mette Sørensen")
    target = services.refer(
        actor=world.outsider_coordinator,
        municipality=world.other_municipality,
        full_name="Mette Sørensen",
        safe_contact="Kun sms",
        cpr="150385-4321",
        consents=[(ConsentPartner.DSC, ConsentScope.CONTACT)],
    )
    target = services.start_triage(actor=world.other_visitator, case=target)
    services.triage(
        actor=world.other_visitator,
        case=target,
        is_stalking=True,
        reasoning="Stalking",
        coordinator=world.outsider_coordinator,
        to_dsc=True,
    )
    client.force_login(world.dsc)
    assert client.get(target.get_absolute_url()).status_code == 200  # read as DSC

    response = client.get(reverse("cases:join", args=[source.reference, target.reference]))

    assert response.status_code == 403
    assert "4321" not in response.content.decode()


@pytest.mark.parametrize(
    "url_name, who, state, data, message",
    [
        ("add_note", "coordinator", "active", {"text": ""}, "Skriv notatet, før du gemmer det."),
        (
            "consent",
            "coordinator",
            "active",
            {"partner": "police"},
            "Vælg mindst én slags oplysninger, borgeren siger ja til.",
        ),
        ("decline_incoming", "visitator", "in_triage", {"reason": ""}, "Skriv en begrundelse."),
        ("reopen", "coordinator", "closed", {"reason": ""}, "Skriv en begrundelse."),
    ],
)
def test_an_empty_required_field_is_named_in_words_of_its_own(
    client, world, url_name, who, state, data, message
):
    if state == "closed":
        case = world.active()
        services.close(actor=world.coordinator, case=case, reason="resolved")
    else:
        case = getattr(world, state)()
    client.force_login(getattr(world, who))

    response = client.post(reverse(f"cases:{url_name}", args=[case.reference]), data)

    assert response.status_code == 200
    html = text(response)
    assert message in html and "Dette felt er påkrævet" not in html


def test_my_referrals_points_the_first_contact_to_the_advice_for_the_citizen(client, world):
    client.force_login(world.first_contact)

    html = text(client.get(reverse("cases:my_referrals")))

    advice = reverse("stalkingpakke:tool", args=["advice"])
    assert f'href="{advice}"' in html
    assert client.get(advice).status_code == 200


def test_the_consent_form_lists_the_consent_already_in_force(client, world):
    case = world.triaged(consents=[(ConsentPartner.POLICE, ConsentScope.CONTACT)])
    client.force_login(world.coordinator)

    html = text(client.get(reverse("cases:consent", args=[case.reference])))

    given = html[html.index("allerede har givet") : html.index("Nyt samtykke")]
    assert "Politiet: " in given and ConsentScope.CONTACT.label.lower() in given


def test_the_dashboard_marks_a_case_the_coordinator_declined(client, world):
    case = world.active()
    declined = case.referrals.get(kind=ReferralKind.TO_COORDINATOR)
    services.respond_to_referral(
        actor=world.coordinator, referral=declined, accept=False, reason="Jeg er inhabil"
    )
    untouched = world.in_triage(full_name="Bo Nielsen")
    client.force_login(world.visitator)

    html = text(client.get(reverse("cases:triage_dashboard")))

    refs = (case.reference, untouched.reference)
    rows = {ref: next(r for r in html.split("<tr")[1:] if f">{ref}<" in r) for ref in refs}
    assert "Afvist af koordinator" in rows[case.reference]
    assert "Afvist af koordinator" not in rows[untouched.reference]
