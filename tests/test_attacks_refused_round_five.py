"""The fifth red-team review (session 10: the stalking package's tools, the citizen's copy,
the trust pages): the five attacks that worked, each with the rule that now refuses it, and the
attacks the code refused already, kept so that it goes on refusing them."""

import datetime
import json

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from guardian.shortcuts import assign_perm

from cases import services
from cases.models import AuditAction, AuditEntry, ConsentScope, EventKind
from cooperation.models import Role
from stalkingpakke import attachments, incident_log
from stalkingpakke.content import load_defaults
from stalkingpakke.models import Attachment, DocumentKind, ToolKind, ToolVersion

from .factories import UserFactory, user_with_role
from .test_stalkingpakke_views import _attachment, _ready_document, _routed_to_police

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAME = "Zenobia Kvasirhøj"
CPR = "010190-1234"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _copy_as_json(client, case) -> dict:
    response = client.post(reverse("cases:subject_access:json", args=[case.reference]))
    assert response.status_code == 200
    return json.loads(response.content)


# -- the citizen's copy is no way round the case page ----------------------------------------


def test_the_copy_names_no_case_of_the_same_cpr_number_its_maker_cannot_open(world, client):
    """A coordinator types another person's CPR number into her own case and orders the
    citizen's copy: it used to name that person's case ("Samme CPR-nummer"), which she cannot
    open, so any CPR number could be checked for a case here."""
    victim = world.refer(full_name=NAME, cpr=CPR)
    own = world.active(full_name="Helt Anden Person", birth_date=datetime.date(1985, 5, 5))
    services.update_person(actor=world.coordinator, case=own, details={}, cpr=CPR)
    client.force_login(world.coordinator)
    assert client.get(victim.get_absolute_url()).status_code == 404

    assert victim.reference not in json.dumps(_copy_as_json(client, own)["other_cases"])


def test_a_correction_that_ties_the_case_to_one_its_maker_cannot_open_is_flagged(world):
    """Typing another person's CPR number into one's own case is how the copy was used to
    check for a case: the data protection officers see it, even with the copy closed."""
    world.refer(full_name=NAME, cpr=CPR)
    own = world.active(full_name="Helt Anden Person", birth_date=datetime.date(1985, 5, 5))

    services.update_person(actor=world.coordinator, case=own, details={}, cpr=CPR)

    entry = AuditEntry.objects.filter(case=own, what="person").latest("pk")
    assert entry.flagged


def test_a_correction_that_ties_the_case_to_one_its_maker_can_open_is_not_flagged(world):
    world.active(full_name=NAME, cpr=CPR)  # the coordinator's own
    own = world.active(full_name="Helt Anden Person", birth_date=datetime.date(1985, 5, 5))
    services.update_person(actor=world.coordinator, case=own, details={}, cpr=CPR)
    assert not AuditEntry.objects.filter(case=own, what="person").latest("pk").flagged


def test_a_correction_that_ties_the_case_to_no_other_is_not_flagged(world):
    own = world.active(full_name="Helt Anden Person", birth_date=datetime.date(1985, 5, 5))
    services.update_person(actor=world.coordinator, case=own, details={}, cpr=CPR)
    assert not AuditEntry.objects.filter(case=own, what="person").latest("pk").flagged


def test_the_visitators_copy_names_the_other_case_of_the_same_cpr_number(world, client):
    """The visitator sees the municipality's cases: her copy is the complete one."""
    other = world.refer(full_name=NAME, cpr=CPR)
    own = world.active(full_name=NAME, cpr=CPR)
    client.force_login(world.visitator)

    others = _copy_as_json(client, own)["other_cases"]

    assert [o["reference"] for o in others] == [other.reference]


def test_the_copys_page_tells_a_coordinator_that_the_visitator_makes_the_complete_copy(
    world, client
):
    case = world.active()
    hint = "laver stalkingvisitatoren den"
    page = reverse("cases:subject_access:page", args=[case.reference])
    assert hint in login_page(client, world.coordinator, page)
    assert hint not in login_page(client, world.visitator, page)


def login_page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_copy_leaves_out_the_disqualification_its_maker_may_not_read(world, client):
    """The fourth review's probe through the copy: a coordinator corrects the name on her own
    case to another person's, the marks follow, and the copy's timeline listed the
    'disqualified' event the case page hides from her."""
    marked = user_with_role(Role.COORDINATOR, world.municipality, username="coordinator3")
    victim = world.refer(full_name=NAME, birth_date=datetime.date(1990, 1, 1))
    services.disqualify(actor=world.visitator, case=victim, user=marked, reason="Bror")
    own = world.active(full_name="Helt Anden Person", birth_date=datetime.date(1985, 5, 5))
    services.update_person(
        actor=world.coordinator,
        case=own,
        details={"full_name": NAME, "birth_date": datetime.date(1990, 1, 1)},
    )
    client.force_login(world.coordinator)
    kinds = {row["kind"] for row in _copy_as_json(client, own)["timeline"]}
    assert EventKind.DISQUALIFIED not in kinds

    client.force_login(world.visitator)
    kinds = {row["kind"] for row in _copy_as_json(client, own)["timeline"]}
    assert EventKind.DISQUALIFIED in kinds


# -- the audit trail --------------------------------------------------------------------------


def _audit_reader(*, staff: bool, via_group: bool):
    user = UserFactory(username="dpo2", is_staff=staff)
    permission = Permission.objects.get(codename="view_auditentry")
    if via_group:
        group = Group.objects.create(name="Databeskyttelse")
        group.permissions.add(permission)
        user.groups.add(group)
    else:
        user.user_permissions.add(permission)
    return user


@pytest.mark.parametrize("via_group", [False, True])
@pytest.mark.parametrize("url", ["audit:search", "audit:review", "audit:export"])
def test_the_audit_permission_without_staff_opens_nothing(world, client, settings, url, via_group):
    """Staff always give the second factor; the audit permission on an account that was not
    staff opened the whole trail with a password alone."""
    settings.OTP_REQUIRED = True
    client.force_login(_audit_reader(staff=False, via_group=via_group))
    assert client.get(reverse(url)).status_code == 404


@pytest.mark.parametrize("url", ["audit:search", "audit:review", "audit:export"])
def test_a_staff_audit_reader_gives_the_second_factor_first(world, client, settings, url):
    settings.OTP_REQUIRED = True
    client.force_login(_audit_reader(staff=True, via_group=True))
    response = client.get(reverse(url))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_setup"))


def test_a_search_of_the_trail_is_in_the_trail_with_the_case_and_user_searched_for(world, client):
    case = world.active(police=True)
    client.force_login(world.admin)

    response = client.get(reverse("audit:search"), {"case": case.reference, "person": "koord"})

    assert response.status_code == 200
    entry = AuditEntry.objects.get(user=world.admin, what="audit_search")
    assert (entry.action, entry.case_reference, entry.object_id, entry.case_id) == (
        AuditAction.VIEW,
        case.reference,
        "koord",
        None,
    )
    assert entry.purpose == "superuser"


def test_who_searched_for_a_case_shows_in_the_next_search_not_in_their_own(world, client):
    case = world.active(police=True)
    client.force_login(world.admin)
    first = client.get(reverse("audit:search"), {"case": case.reference.lower()})
    second = client.get(reverse("audit:search"), {"case": case.reference})

    assert "audit_search" not in {e.what for e in first.context["page"].object_list}
    searches = [e for e in second.context["page"].object_list if e.what == "audit_search"]
    assert [(e.username, e.case_reference) for e in searches] == [("admin", case.reference)]


def test_a_search_with_errors_shows_no_entries_and_writes_none(world, client):
    client.force_login(world.admin)
    response = client.get(reverse("audit:search"), {"date_from": "i går"})
    assert response.status_code == 200
    assert not AuditEntry.objects.filter(what="audit_search").exists()


def test_the_review_page_and_the_export_are_in_the_trail(world, client):
    case = world.active(police=True)
    client.force_login(world.admin)
    client.get(reverse("audit:review"))
    response = client.get(reverse("audit:export"), {"case": case.reference})
    b"".join(response.streaming_content)

    assert AuditEntry.objects.filter(user=world.admin, what="audit_review").count() == 1
    export = AuditEntry.objects.get(user=world.admin, what="audit_export")
    assert (export.action, export.case_reference) == (AuditAction.DOWNLOAD, case.reference)


@pytest.mark.parametrize(
    ("model", "what"),
    [("auditentry", "audit_admin"), ("disqualification", "disqualification_admin")],
)
def test_the_admins_lists_of_who_is_watched_are_audited(world, client, model, what):
    """The admin's audit trail and disqualifications tell when a colleague works and who is
    marked on which case: reading them leaves a trace, as the trail's own pages do."""
    case = world.refer(full_name=NAME)
    marked = user_with_role(Role.COORDINATOR, world.municipality, username="coordinator3")
    mark = services.disqualify(actor=world.visitator, case=case, user=marked, reason="Bror")
    client.force_login(world.admin)

    assert client.get(reverse(f"admin:cases_{model}_changelist")).status_code == 200
    pk = mark.pk if model == "disqualification" else AuditEntry.objects.earliest("pk").pk
    assert client.get(reverse(f"admin:cases_{model}_change", args=[pk])).status_code == 200

    entries = AuditEntry.objects.filter(user=world.admin, what=what).order_by("pk")
    assert [(e.action, e.object_id, e.purpose) for e in entries] == [
        (AuditAction.VIEW, "", "admin"),
        (AuditAction.VIEW, str(pk), "admin"),
    ]


# -- the incident log's evidence --------------------------------------------------------------


def _entry_data(text):
    return {
        "occurred_at": datetime.datetime(2026, 3, 2, 21, 40, tzinfo=datetime.UTC),
        "what_happened": text,
        "behaviours": ["calls"],
    }


@pytest.fixture
def corrected(world):
    """A case whose log entry nr. 1 was corrected by nr. 2."""
    load_defaults(ToolVersion, ToolKind.values)
    case = world.active(police=True)
    first = incident_log.add_entry(actor=world.coordinator, case=case, data=_entry_data("Ringede"))
    incident_log.correct_entry(
        actor=world.coordinator, entry=first, data=_entry_data("Ringede 12 gange"), reason="Antal"
    )
    first.refresh_from_db()
    return case, first


def test_evidence_is_not_attached_to_a_corrected_entrys_old_version(world, client, corrected):
    case, first = corrected
    client.force_login(world.coordinator)
    url = reverse("stalkingpakke:add_attachment", args=[case.reference, first.sequence])

    response = client.post(url, {"file": SimpleUploadedFile("sms.pdf", b"%PDF-1.4 bagefter")})

    assert response.status_code == 404
    assert not Attachment.objects.filter(entry=first).exists()


def test_the_attachment_service_refuses_a_corrected_entry(world, corrected):
    case, first = corrected
    upload = SimpleUploadedFile("sms.pdf", b"%PDF-1.4 bagefter")
    with pytest.raises(ValidationError) as refused:
        attachments.add_attachment(actor=world.coordinator, entry=first, upload=upload)
    assert refused.value.code == "superseded"
    assert not Attachment.objects.filter(entry=first).exists()


def test_evidence_is_attached_to_the_correction(world, corrected):
    case, first = corrected
    current = case.incidents.get(supersedes=first)
    upload = SimpleUploadedFile("sms.pdf", b"%PDF-1.4 bagefter")
    attachment = attachments.add_attachment(actor=world.coordinator, entry=current, upload=upload)
    assert attachment.entry == current


# -- refused already --------------------------------------------------------------------------


def test_a_partner_without_the_log_scope_reaches_no_attachment_chart_or_log_pdf(world, client):
    case = _routed_to_police(world, [ConsentScope.CONTACT, ConsentScope.ACTION_PLAN])
    attachment = _attachment(world, case)
    log_pdf = _ready_document(world, case, DocumentKind.INCIDENT_LOG)
    client.force_login(world.police_contact)
    ref = case.reference
    for url in [
        reverse("stalkingpakke:attachment", args=[ref, attachment.pk]),
        reverse("stalkingpakke:timeline_chart", args=[ref]),
        reverse("stalkingpakke:document_status", args=[ref, log_pdf.pk]),
        reverse("stalkingpakke:download_document", args=[ref, log_pdf.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    assert not AuditEntry.objects.filter(user=world.police_contact, what="attachment").exists()


def test_a_citizens_copy_is_not_fetched_through_the_tools_download(world, client):
    case = _routed_to_police(world, list(ConsentScope.values))
    copy = _ready_document(world, case, DocumentKind.SUBJECT_ACCESS)
    client.force_login(world.police_contact)
    for name in ("download_document", "document_status"):
        url = reverse(f"stalkingpakke:{name}", args=[case.reference, copy.pk])
        assert client.get(url).status_code == 404


def test_a_view_grant_without_change_gives_a_coordinator_no_tool(world, client):
    """A coordinator holding only view_case (no change_case, not responsible) reads nothing:
    the case is in her query, but no level is given."""
    case = _routed_to_police(world, list(ConsentScope.values))
    other = user_with_role(Role.COORDINATOR, world.municipality, username="coord2")
    assign_perm("view_case", other, case)
    client.force_login(other)
    for url in [
        case.get_absolute_url(),
        reverse("stalkingpakke:incident_log", args=[case.reference]),
        reverse("stalkingpakke:action_plan", args=[case.reference]),
        reverse("stalkingpakke:tool_form", args=[case.reference, "assessment"]),
        reverse("cases:subject_access:page", args=[case.reference]),
    ]:
        assert client.get(url).status_code == 404, url


def test_the_flagged_access_mail_goes_to_staff_officers_only(world):
    """The mail points to a review only staff can open: an account holding the permission
    without staff is no officer, and the superusers are told until one is appointed."""
    from cases import audit_notices

    world.admin.email = "admin@kommune.example"
    world.admin.save()
    holder = _audit_reader(staff=False, via_group=True)
    holder.email = "dpo2@kommune.example"
    holder.save()
    assert audit_notices.officer_addresses() == ["admin@kommune.example"]

    holder.is_staff = True
    holder.save()
    assert audit_notices.officer_addresses() == ["dpo2@kommune.example"]
