"""The referral form: what lets the visitator recognise a citizen who already has a case, and
what keeps a referral from going to the wrong municipality."""

import datetime

import pytest
from django.urls import reverse

from cases.models import Case
from cooperation.models import Organisation, OrganisationKind

from .factories import OrganisationFactory
from .test_views import referral_data

pytestmark = pytest.mark.django_db


def test_a_referral_without_cpr_but_with_name_and_birth_date_is_marked_as_a_possible_duplicate(
    world, client
):
    earlier = world.refer(full_name="Jonas Ærø Kjær", cpr="150385-1237")
    client.force_login(world.first_contact)
    client.post(
        reverse("cases:referral_create"),
        referral_data(world, full_name="JONAS Ærø Kjær", birth_date="15.03.1985"),
    )
    new = Case.objects.exclude(pk=earlier.pk).get()
    assert new.birth_date == datetime.date(1985, 3, 15)

    client.force_login(world.visitator)
    dashboard = client.get(reverse("cases:triage_dashboard"))
    marked = {c.reference: c.possible_duplicate for c in dashboard.context["page"].object_list}
    assert marked[new.reference] is True
    page = client.get(new.get_absolute_url())
    assert earlier.reference in {c.reference for c in page.context["duplicates"]}


def test_a_police_contact_with_several_municipalities_must_choose_one(world, client):
    OrganisationFactory(
        name="Fanø Kommune",
        code="FAN",
        kind=OrganisationKind.MUNICIPALITY,
        police_district=world.police,
    )
    assert Organisation.objects.filter(police_district=world.police).count() >= 2
    client.force_login(world.police_contact)
    form = client.get(reverse("cases:referral_create")).content.decode()
    assert '<option value="" selected>Vælg kommune</option>' in form

    response = client.post(reverse("cases:referral_create"), referral_data(world, municipality=""))
    assert response.status_code == 200
    assert response.context["form"].errors["municipality"]
    assert not Case.objects.exists()


def test_a_first_contact_with_one_municipality_has_it_chosen(world, client):
    client.force_login(world.first_contact)
    form = client.get(reverse("cases:referral_create")).content.decode()
    assert "Vælg kommune" not in form


def test_a_birth_date_that_contradicts_the_cpr_number_is_refused_on_its_field(world, client):
    client.force_login(world.first_contact)
    response = client.post(
        reverse("cases:referral_create"),
        referral_data(world, cpr="150385-1237", birth_date="05.11.1958"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["birth_date"]
    assert not Case.objects.exists()


def test_a_birth_date_in_the_future_is_refused(world, client):
    future = (datetime.date.today() + datetime.timedelta(days=30)).strftime("%d.%m.%Y")
    client.force_login(world.first_contact)
    response = client.post(
        reverse("cases:referral_create"), referral_data(world, birth_date=future)
    )
    assert response.context["form"].errors["birth_date"]
    assert not Case.objects.exists()


def test_an_empty_form_says_what_to_write_in_each_field_in_plain_danish(world, client):
    client.force_login(world.first_contact)
    data = referral_data(world, full_name="", safe_contact="", reason="")
    response = client.post(reverse("cases:referral_create"), data)
    errors = response.context["form"].errors
    assert errors["full_name"] == ["Skriv navnet på den udsatte."]
    assert errors["safe_contact"] == ["Skriv, hvordan borgeren kan kontaktes sikkert, fx kun sms."]
    assert errors["reason"] == ["Skriv et par linjer om situationen."]
    assert not Case.objects.exists()


def test_the_urgency_question_says_to_call_112_before_the_referral_is_sent(world, client):
    client.force_login(world.first_contact)
    html = client.get(reverse("cases:referral_create")).content.decode()
    assert "Er borgeren i fare lige nu, så ring 112 først." in html
