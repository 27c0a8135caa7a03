"""The case page puts first what the reader needs: the situation as referred, an up-to-date
view of the triage, and the newest edition of each PDF."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services
from stalkingpakke.models import Document, DocumentKind, DocumentStatus

pytestmark = pytest.mark.django_db

SITUATION = "Ekskæresten står uden for hendes arbejde hver dag."


def test_the_case_page_opens_with_the_situation_as_referred(world, client):
    case = world.refer(reason=SITUATION)
    client.force_login(world.visitator)
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Kort om situationen" in html
    assert html.index(SITUATION) < html.index("Den udsatte")


def test_a_partner_does_not_get_the_referrers_account_of_the_situation(world, client):
    case = world.active(police=True, reason=SITUATION)
    client.force_login(world.police_contact)
    html = client.get(case.get_absolute_url()).content.decode()
    assert SITUATION not in html and "Kort om situationen" not in html


def test_a_reopened_case_shows_its_earlier_triage_as_earlier(world, client):
    case = world.in_triage()
    case = services.triage(
        actor=world.visitator, case=case, is_stalking=False, reasoning="Nabostrid"
    )
    case = services.reopen(actor=world.visitator, case=case, comment="Ny henvendelse")
    client.force_login(world.visitator)
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Tidligere visitation" in html
    assert "skal visiteres igen" in html


def test_only_the_newest_pdf_of_each_kind_is_listed_first(world, client):
    case = world.active(police=True)
    now = timezone.now()

    def ready(kind, minutes_ago):
        return Document.objects.create(
            case=case,
            kind=kind,
            requested_by=world.coordinator,
            status=DocumentStatus.READY,
            finished_at=now - datetime.timedelta(minutes=minutes_ago),
        )

    old_plan, new_plan = ready(DocumentKind.ACTION_PLAN, 60), ready(DocumentKind.ACTION_PLAN, 5)
    log = ready(DocumentKind.INCIDENT_LOG, 30)
    client.force_login(world.police_contact)
    response = client.get(case.get_absolute_url())
    assert [d.pk for d in response.context["documents"]] == [new_plan.pk, log.pk]
    assert [d.pk for d in response.context["earlier_documents"]] == [old_plan.pk]
    assert "Tidligere udgave (1)" in response.content.decode()


def test_the_disqualification_form_lists_only_people_the_case_can_reach(world, client):
    case = world.active(police=True)
    services.disqualify(actor=world.visitator, case=case, user=world.first_contact, reason="Nabo")
    client.force_login(world.visitator)
    form = client.get(reverse("cases:disqualify", args=[case.reference]))
    offered = set(form.context["form"].fields["user"].queryset)
    assert {world.coordinator, world.police_contact, world.dsc, world.deputy_visitator} <= offered
    assert world.other_visitator not in offered  # another municipality's
    assert world.outsider_coordinator not in offered
    assert world.first_contact not in offered  # already disqualified
    assert world.visitator not in offered  # the one registering it
    assert world.follow_up not in offered  # reads statistics, never a case
    assert "Vælg medarbejder" in form.content.decode()


def test_the_disqualification_choice_names_each_persons_roles_and_organisations(world, client):
    case = world.active(police=True)
    client.force_login(world.visitator)
    html = client.get(reverse("cases:disqualify", args=[case.reference])).content.decode()
    police = world.police_contact
    assert (
        f"{police.get_full_name()} ({police.username}) – Politiets kontaktperson, "
        f"{world.police.name}"
    ) in html


def _disqualify_post(client, world, case, **extra):
    client.force_login(world.visitator)
    data = {"user": world.police_contact.pk, "reason": "Er borgerens tidligere partner", **extra}
    return client.post(reverse("cases:disqualify", args=[case.reference]), data)


def test_disqualifying_asks_first_whom_it_locks_out_and_that_it_cannot_be_undone(world, client):
    case = world.active(police=True)

    response = _disqualify_post(client, world, case)

    assert response.status_code == 200
    assert response.templates[0].name == "cases/disqualify_confirm.html"
    html = response.content.decode()
    assert "Det kan ikke fortrydes." in html
    assert f"Politiets kontaktperson, {world.police.name}" in html
    assert "Er borgerens tidligere partner" in html
    assert not case.disqualifications.exists()
    assert may_open(world.police_contact, case)


def test_correcting_the_disqualification_goes_back_to_the_form_with_what_was_typed(world, client):
    case = world.active(police=True)
    response = _disqualify_post(client, world, case, ret="1")
    assert response.templates[0].name == "cases/disqualify_form.html"
    assert "Er borgerens tidligere partner" in response.content.decode()
    assert not case.disqualifications.exists()


def test_confirming_the_disqualification_registers_it(world, client):
    case = world.active(police=True)
    response = _disqualify_post(client, world, case, bekraeft="1")
    assert response.status_code == 302
    assert case.disqualifications.filter(user=world.police_contact).exists()
    assert not may_open(world.police_contact, case)


def may_open(user, case) -> bool:
    from cases.access import cases_visible_to

    return cases_visible_to(user).filter(pk=case.pk).exists()


def test_the_triage_page_shows_the_case_in_brief_and_which_checklist_signs_were_there(
    world, client
):
    from stalkingpakke.forms import ToolForm
    from stalkingpakke.models import ToolKind, ToolVersion
    from stalkingpakke.services import refer_with_checklist

    version = ToolVersion.objects.current(ToolKind.CHECKLIST)
    fields = ToolForm(kind=ToolKind.CHECKLIST, content=version.content).fields
    yes, no = [question["key"] for question in version.content["questions"]][:2]
    case = refer_with_checklist(
        actor=world.first_contact,
        checklist_answers={yes: "yes", no: "no"},
        municipality=world.municipality,
        full_name="Mette Sørensen",
        safe_contact="Kun sms",
        reason=SITUATION,
        children_in_household=True,
    )
    case = services.start_triage(actor=world.visitator, case=case)
    client.force_login(world.visitator)
    html = client.get(reverse("cases:triage", args=[case.reference])).content.decode()
    assert "Sagen kort" in html and SITUATION in html
    assert str(fields[yes].label) in html
    assert str(fields[no].label) not in html
    assert "Intet: sagen kan ikke henvises" in html  # no consent recorded


def _assessment_with(world, case, indicators: dict[str, str]):
    from stalkingpakke.services import save_form

    return save_form(
        actor=world.coordinator,
        case=case,
        kind="assessment",
        answers={f"risk:{key}": answer for key, answer in indicators.items()},
    )


def _indicators(high: bool) -> list[str]:
    from stalkingpakke.models import ToolKind, ToolVersion

    content = ToolVersion.objects.current(ToolKind.ASSESSMENT).content
    return [r["key"] for r in content["risk_indicators"] if bool(r.get("high_risk")) == high]


def test_high_risk_signs_of_the_assessment_head_the_case_page(world, client):
    case = world.active(police=True)
    high = _indicators(high=True)[0]
    _assessment_with(world, case, {high: "yes"})
    for reader in (world.coordinator, world.police_contact):  # police: situation shared
        client.force_login(reader)
        html = client.get(case.get_absolute_url()).content.decode()
        assert "Højrisiko-tegn i afdækningen" in html
        assert "støtter den faglige vurdering" in html


def test_no_risk_banner_without_high_risk_signs_or_for_a_reader_without_the_situation(
    world, client
):
    case = world.active(dsc=True)  # DSC: contact only
    _assessment_with(world, case, {_indicators(high=False)[0]: "yes"})
    client.force_login(world.coordinator)
    assert "Højrisiko-tegn" not in client.get(case.get_absolute_url()).content.decode()
    _assessment_with(world, case, {_indicators(high=True)[0]: "yes"})
    client.force_login(world.dsc)
    assert "Højrisiko-tegn" not in client.get(case.get_absolute_url()).content.decode()


def test_someone_whose_role_starts_next_week_can_be_disqualified_now(world, client):
    from cooperation.models import Role, RoleAssignment

    from .factories import UserFactory

    case = world.active()
    newcomer = UserFactory(username="newcomer")
    RoleAssignment.objects.create(
        user=newcomer,
        role=Role.VISITATOR,
        organisation=world.municipality,
        is_deputy=True,
        valid_from=timezone.localdate() + datetime.timedelta(days=7),
    )
    client.force_login(world.visitator)
    response = client.post(
        reverse("cases:disqualify", args=[case.reference]),
        {"user": newcomer.pk, "reason": "Er borgerens tidligere partner", "bekraeft": "1"},
    )
    assert response.status_code == 302
    assert case.disqualifications.filter(user=newcomer).exists()


def test_the_timeline_says_which_kind_of_information_a_consent_covers(world, client):
    from cases.models import ConsentPartner, ConsentScope

    case = world.active()
    services.record_consent(
        actor=world.coordinator,
        case=case,
        partner=ConsentPartner.POLICE,
        scopes=[ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG],
    )
    client.force_login(world.coordinator)
    html = client.get(case.get_absolute_url()).content.decode()
    labels = dict(ConsentScope.choices)
    for scope in (ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG):
        assert f"Politiet ({str(labels[scope]).lower()})" in html


def test_the_closing_comment_is_not_called_optional_as_other_needs_it(world, client):
    case = world.active()
    client.force_login(world.coordinator)
    html = client.get(reverse("cases:close", args=[case.reference])).content.decode()
    assert "Kommentar" in html and "(frivilligt)" not in html


def test_a_saved_note_leads_to_the_timeline_where_it_is_first(world, client):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.post(reverse("cases:add_note", args=[case.reference]), {"text": "Ringede"})
    assert response["Location"] == f"{case.get_absolute_url()}#forloeb"
    html = client.get(case.get_absolute_url()).content.decode()
    timeline = html[html.index('<section id="forloeb"') :]
    assert timeline.index("Ringede") < timeline.index("</ol>")


def test_the_consents_are_listed_per_partner_in_the_order_the_form_asks_for_them(world, client):
    from cases.models import ConsentScope

    case = world.active(police=True)
    client.force_login(world.coordinator)
    consents = client.get(case.get_absolute_url()).context["consents"]
    police = [c.scope for c in consents if c.partner == "police"]
    assert police == [s for s in ConsentScope.values if s in police]
    assert len(police) > 2


def test_the_case_page_names_a_handled_referral_to_the_visitator_as_its_referrer_does(
    world, client
):
    """ "Visiteret", as in the first contact's list, not "Afsluttet" as if the case had ended."""
    case = world.active()
    client.force_login(world.coordinator)
    html = client.get(case.get_absolute_url()).content.decode()
    intake = html[html.index("Til stalkingvisitator") :]
    intake = intake[: intake.index("</tr>")]
    assert "Visiteret" in intake and "Afsluttet" not in intake
