"""A citizen who takes back everything they agreed to share with a partner: one step, not one
per kind of information (usability walk, session 10), each withdrawal still on the timeline and
in the audit trail."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases import services
from cases.access import cases_visible_to
from cases.models import AuditEntry, CaseEvent, ConsentPartner, ConsentScope, EventKind

pytestmark = pytest.mark.django_db


def _police_consents(case):
    return case.consents.filter(partner=ConsentPartner.POLICE)


def test_withdrawing_all_takes_back_every_kind_shared_with_the_partner_and_its_access(world):
    case = world.active(police=True, dsc=True)
    police = list(_police_consents(case).filter(withdrawn_at__isnull=True))
    assert len(police) > 2

    services.withdraw_all_consents(
        actor=world.coordinator, case=case, partner=ConsentPartner.POLICE
    )

    assert not _police_consents(case).filter(withdrawn_at__isnull=True).exists()
    assert case.consents.filter(partner=ConsentPartner.DSC, withdrawn_at__isnull=True).exists()
    assert not cases_visible_to(world.police_contact).filter(pk=case.pk).exists()
    assert cases_visible_to(world.dsc).filter(pk=case.pk).exists()
    withdrawn = CaseEvent.objects.filter(case=case, kind=EventKind.CONSENT_WITHDRAWN)
    assert {e.consent_scope for e in withdrawn} == {c.scope for c in police}
    entries = AuditEntry.objects.filter(case=case, what="withdraw_consent:police")
    assert {e.object_id for e in entries} == {str(c.pk) for c in police}


def test_withdrawing_all_when_nothing_is_in_force_is_refused(world):
    case = world.active()
    with pytest.raises(ValidationError) as refused:
        services.withdraw_all_consents(
            actor=world.coordinator, case=case, partner=ConsentPartner.DSC
        )
    assert refused.value.code == "withdrawn"


def test_only_who_manages_consent_withdraws_all(world):
    case = world.active(police=True)
    with pytest.raises(PermissionDenied):
        services.withdraw_all_consents(
            actor=world.police_contact, case=case, partner=ConsentPartner.POLICE
        )
    assert not _police_consents(case).filter(withdrawn_at__isnull=False).exists()


def test_the_confirmation_offers_to_withdraw_all_and_lists_what_that_is(world, client):
    case = world.active(police=True)
    contact = _police_consents(case).get(scope=ConsentScope.CONTACT)
    url = reverse("cases:withdraw_consent", args=[case.reference, contact.pk])
    client.force_login(world.coordinator)
    html = client.get(url).content.decode()
    assert "Træk alt samtykke til Politiet tilbage" in html
    assert "Logskema" in html

    response = client.post(url, {"alle": "1"})

    assert response["Location"] == case.get_absolute_url()
    assert not _police_consents(case).filter(withdrawn_at__isnull=True).exists()


def test_one_consent_alone_is_withdrawn_without_the_offer_of_all(world, client):
    case = world.refer(consents=[("police", "contact")])
    contact = _police_consents(case).get()
    client.force_login(world.visitator)
    url = reverse("cases:withdraw_consent", args=[case.reference, contact.pk])
    assert "Træk alt samtykke" not in client.get(url).content.decode()
