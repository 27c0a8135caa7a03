"""Login hardening: lockout after failed passwords (django-axes) and a second factor (TOTP,
django-otp) for every role that can see case data."""

import re

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "pw-for-tests-only"
LOGIN = reverse("login")


def login(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


def token(device, steps_ahead=0):
    """What the user's app shows; `steps_ahead=1` is its next code (a code is used once)."""
    return f"{totp(device.bin_key, drift=steps_ahead):06d}"


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


# --- Lockout -------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_with_a_danish_page(world, client):
    for _ in range(4):
        response = login(client, "visitator", "wrong password")
        assert response.status_code == 200
        assert "Der er fejl i formularen" in text(response)
    response = login(client, "visitator", "wrong password")
    assert response.status_code == 429
    page = text(response)
    assert "Kontoen er midlertidigt låst" in page
    assert "låst i 30 minutter" in page
    assert "kontakt administratoren af Samvirke" in page
    assert page.count("<h1") == 1
    assert "visitator" not in page  # no personal data on the page

    # Even the right password is refused while the lock lasts.
    response = login(client, "visitator")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_username_so_others_can_still_log_in(world, client):
    for _ in range(5):
        login(client, "visitator", "wrong password")
    response = login(client, "coordinator")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.coordinator.pk)


def test_a_successful_login_resets_the_count(world, client):
    for _ in range(4):
        login(client, "visitator", "wrong password")
    assert login(client, "visitator").status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client, "visitator", "wrong password").status_code == 200
    response = login(client, "visitator")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.visitator.pk)


# --- Two-factor ----------------------------------------------------------------------------


@pytest.fixture
def otp_required(settings):
    settings.OTP_REQUIRED = True


def test_visitator_sets_up_the_app_then_reaches_the_dashboard(world, client, otp_required):
    assert login(client, "visitator").status_code == 302
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_setup"))

    response = client.get(response["Location"])
    assert response.status_code == 200
    page = text(response)
    assert page.count("<h1") == 1 and "Opsæt totrinsbekræftelse" in page
    assert 'src="data:image/svg+xml;base64,' in page
    assert '<label class="form-label" for="id_token">' in page
    device = TOTPDevice.objects.get(user=world.visitator)
    assert not device.confirmed
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", page).group(1).replace(" ", "")
    assert "otpauth://totp/Samvirke%3Avisitator?secret=" + secret in device.config_url

    # Reloading the page shows the same key: the user may already have scanned it.
    client.get(reverse("otp_setup"))
    assert TOTPDevice.objects.filter(user=world.visitator).count() == 1

    response = client.post(reverse("otp_setup"), {"token": token(device), "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("cases:triage_dashboard")


def test_a_second_login_asks_for_the_code_and_refuses_a_wrong_one(world, client, otp_required):
    device = TOTPDevice.objects.create(user=world.visitator, name="Samvirke", confirmed=True)
    login(client, "visitator")
    response = client.get(reverse("cases:triage_dashboard"))
    assert response.status_code == 302
    verify_url = response["Location"]
    assert verify_url.startswith(reverse("otp_verify"))

    response = client.get(verify_url)
    assert response.status_code == 200
    assert text(response).count("<h1") == 1

    wrong = f"{(int(token(device)) + 1) % 1_000_000:06d}"
    response = client.post(verify_url, {"token": wrong})
    assert response.status_code == 200
    page = text(response)
    assert "Der er fejl i formularen" in page
    assert "Koden er forkert eller udløbet" in page
    assert 'aria-invalid="true"' in page
    assert client.get(reverse("cases:triage_dashboard")).status_code == 302

    # A wrong code slows the next attempt down (django-otp throttling): said in Danish.
    response = client.post(verify_url, {"token": token(device)})
    assert "for mange forkerte koder" in text(response)

    device.refresh_from_db()
    device.throttle_reset()
    response = client.post(
        verify_url, {"token": token(device), "next": reverse("cases:triage_dashboard")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:triage_dashboard")
    assert client.get(reverse("cases:triage_dashboard")).status_code == 200


def test_a_code_cannot_be_used_twice(world, client, otp_required):
    device = TOTPDevice.objects.create(user=world.visitator, name="Samvirke", confirmed=True)
    used = token(device)
    login(client, "visitator")
    assert client.post(reverse("otp_verify"), {"token": used}).status_code == 302
    client.logout()

    login(client, "visitator")
    response = client.post(reverse("otp_verify"), {"token": used})
    assert response.status_code == 200
    assert "Koden er forkert eller udløbet" in text(response)
    device.refresh_from_db()
    device.throttle_reset()
    response = client.post(reverse("otp_verify"), {"token": token(device, steps_ahead=1)})
    assert response.status_code == 302


def test_the_code_must_be_six_digits(world, client, otp_required):
    TOTPDevice.objects.create(user=world.visitator, name="Samvirke", confirmed=True)
    login(client, "visitator")
    response = client.post(reverse("otp_verify"), {"token": "12ab"})
    assert "Koden skal være 6 cifre" in text(response)
    response = client.post(reverse("otp_verify"), {"token": ""})
    assert "Skriv den 6-cifrede kode" in text(response)


def test_with_an_app_set_up_the_setup_page_cannot_add_another(world, client, otp_required):
    TOTPDevice.objects.create(user=world.visitator, name="Samvirke", confirmed=True)
    login(client, "visitator")
    response = client.get(reverse("otp_setup"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_verify"))
    assert TOTPDevice.objects.filter(user=world.visitator).count() == 1


@pytest.mark.parametrize("who", ["coordinator", "police_contact", "dsc", "admin"])
def test_every_role_that_sees_case_data_needs_the_second_factor(world, client, otp_required, who):
    client.force_login(getattr(world, who))
    response = client.get("/admin/" if who == "admin" else "/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_setup"))


@pytest.mark.parametrize("who", ["first_contact", "follow_up"])
def test_roles_without_case_data_are_not_asked(world, client, otp_required, who):
    assert login(client, getattr(world, who).username).status_code == 302
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert not any(reverse("otp_setup") in url for url, _ in response.redirect_chain)
    assert not TOTPDevice.objects.exists()


def test_the_way_out_and_public_pages_open_without_the_second_factor(world, client, otp_required):
    client.force_login(world.visitator)
    assert client.get(reverse("accessibility")).status_code == 200
    assert client.get(reverse("otp_setup")).status_code == 200
    assert client.post(reverse("set_language"), {"language": "da"}).status_code == 302
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == LOGIN


def test_an_htmx_request_is_sent_to_the_whole_page(world, client, otp_required):
    client.force_login(world.visitator)
    response = client.get(reverse("cases:triage_dashboard"), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("otp_setup"))


def test_the_next_address_must_stay_on_the_site(world, client, otp_required):
    device = TOTPDevice.objects.create(user=world.visitator, name="Samvirke", confirmed=True)
    login(client, "visitator")
    response = client.post(
        reverse("otp_verify"), {"token": token(device), "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_without_otp_required_nothing_changes(world, client):
    assert login(client, "visitator").status_code == 302
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("cases:triage_dashboard")
    assert not TOTPDevice.objects.exists()
