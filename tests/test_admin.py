"""The Django admin shows administrators structure, never case contents (DESIGN §1)."""

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from cases.admin import ReadOnlyAdmin
from cases.models import AuditEntry
from stalkingpakke import incident_log

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/cases/case/?full_name=Mette+S%C3%B8rensen",
        "/admin/cases/case/?full_name__iexact=mette+s%C3%B8rensen",
        "/admin/cases/case/?safe_contact__icontains=sms",
        "/admin/cases/case/?cpr_index__startswith=a",
        "/admin/cases/referral/?reason__icontains=beskeder",
        "/admin/cases/caseevent/?summary__icontains=indlagt",
        "/admin/stalkingpakke/incidententry/?what_happened__icontains=kniv",
    ],
)
def test_the_admin_refuses_to_filter_case_data_on_fields_it_does_not_offer(world, client, url):
    """Otherwise the count of results would tell an administrator, unaudited, whether a named
    person has a stalking case, or spell out a text one letter at a time."""
    case = world.active()
    incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={"occurred_at": timezone.now(), "what_happened": "Han stod med en kniv"},
    )
    client.force_login(world.admin)
    before = AuditEntry.objects.count()
    assert client.get(url).status_code == 400
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    "url",
    [
        "/admin/cases/case/?state__exact=active",
        "/admin/cases/case/?municipality__id__exact=1",
        "/admin/cases/case/?received_at__year=2026",
        "/admin/cases/case/?q=TST",
        "/admin/cases/referral/?status__exact=sent",
    ],
)
def test_the_filters_the_admin_offers_still_work(world, client, url):
    world.active()
    client.force_login(world.admin)
    assert client.get(url).status_code == 200


def test_every_case_data_admin_is_read_only_and_filter_limited():
    case_models = {"cases", "stalkingpakke"}
    unguarded = [
        type(model_admin).__name__
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in case_models
        and model._meta.model_name not in {"toolversion"}
        and not isinstance(model_admin, ReadOnlyAdmin)
    ]
    assert unguarded == []


def test_every_model_of_samvirke_is_in_the_admin():
    from django.apps import apps

    missing = [
        model._meta.label
        for app in ("cooperation", "cases", "stalkingpakke")
        for model in apps.get_app_config(app).get_models()
        if model not in admin.site._registry
    ]
    assert missing == []


def test_every_changelist_opens_and_shows_no_case_content(world, client):
    from cases import services

    case = world.active()
    services.add_note(actor=world.coordinator, case=case, text="Hemmelig note om borgeren")
    incident_log.add_entry(
        actor=world.coordinator,
        case=case,
        data={"occurred_at": timezone.now(), "what_happened": "Han stod med en kniv"},
    )
    client.force_login(world.admin)
    for model in admin.site._registry:
        if model._meta.app_label not in {"cases", "stalkingpakke", "cooperation"}:
            continue
        opts = model._meta
        page = client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
        assert page.status_code == 200, opts.label
        html = page.content.decode()
        for secret in (case.full_name, "Hemmelig note", "kniv"):
            assert secret not in html, (opts.label, secret)


def _role_form(world, user, **overrides):
    return {
        "user": user.pk,
        "role": "visitator",
        "organisation": world.municipality.pk,
        "unit": "",
        "phone": "",
        "email": "",
        "valid_from": timezone.localdate().isoformat(),
        "valid_to": "",
        **overrides,
    }


def test_a_role_given_to_oneself_in_the_admin_is_in_the_audit_trail_and_flagged(world, client):
    """An administrator who gives themself the visitator role reads the municipality's cases
    under a purpose that looks right ("visitator"): the grant itself must be on the record."""
    from cooperation.models import RoleAssignment

    client.force_login(world.admin)
    response = client.post(
        reverse("admin:cooperation_roleassignment_add"), _role_form(world, world.admin)
    )

    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user=world.admin)
    entry = AuditEntry.objects.get(what="role_assignment")
    assert (entry.user, entry.action, entry.object_id, entry.flagged) == (
        world.admin,
        "create",
        str(assignment.pk),
        True,
    )


def test_changing_and_removing_anothers_role_in_the_admin_is_audited_unflagged(world, client):
    from cooperation.models import RoleAssignment

    assignment = RoleAssignment.objects.get(user=world.deputy_visitator)
    client.force_login(world.admin)
    change = reverse("admin:cooperation_roleassignment_change", args=[assignment.pk])
    form = _role_form(
        world,
        world.deputy_visitator,
        is_deputy="on",
        valid_from=assignment.valid_from.isoformat(),
        valid_to=timezone.localdate().isoformat(),
    )
    assert client.post(change, form).status_code == 302
    delete = reverse("admin:cooperation_roleassignment_delete", args=[assignment.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302

    entries = AuditEntry.objects.filter(what="role_assignment").order_by("pk")
    assert [(e.action, e.object_id, e.flagged) for e in entries] == [
        ("change", str(assignment.pk), False),
        ("delete", str(assignment.pk), False),
    ]
