"""Login hardening: lockout after failed passwords (django-axes), also behind reverse proxies
(django-ipware), and a second factor (TOTP, django-otp, with one-time backup codes) for every
role that can see case data."""

import logging
import re
import runpy
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.models import AuditEntry
from cooperation.twofactor import new_backup_codes, use_backup_code

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
    # Confirmed: the answer is the page with the backup codes, which leads on to "next".
    assert response.status_code == 200
    assert "Gem dine reservekoder" in text(response)
    assert 'href="/"' in text(response)
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


@pytest.fixture
def totp_clock_stopped():
    """django-otp's clock stopped in the middle of a 30-second step. On the running clock a
    test that crossed into the next step between making a code and sending it had the code
    accepted one step late; django-otp then stored a drift of -1 on the device, and the next
    code the test made was refused (about 1 run in 80)."""
    mid_step = 1_800_000_015.0  # 1_800_000_000 is a step boundary (a multiple of 30)
    with (
        mock.patch("django_otp.oath.time", return_value=mid_step),
        mock.patch(
            "django_otp.plugins.otp_totp.models.time", SimpleNamespace(time=lambda: mid_step)
        ),
    ):
        yield


def test_a_code_cannot_be_used_twice(world, client, otp_required, totp_clock_stopped):
    device = TOTPDevice.objects.create(user=world.visitator, name="Samvirke", confirmed=True)
    used = token(device)
    login(client, "visitator")
    assert client.post(reverse("otp_verify"), {"token": used}).status_code == 302
    client.logout()

    # Still the app's current code: refused only because it was used.
    login(client, "visitator")
    response = client.post(reverse("otp_verify"), {"token": used})
    assert response.status_code == 200
    assert "Koden er forkert eller udløbet" in text(response)
    device.refresh_from_db()
    device.throttle_reset()
    response = client.post(reverse("otp_verify"), {"token": token(device, steps_ahead=1)})
    assert response.status_code == 302


def test_the_code_must_be_six_digits_or_a_backup_code(world, client, otp_required):
    login(client, "visitator")
    response = client.post(reverse("otp_setup"), {"token": "12ab"})
    assert "Koden skal være 6 cifre" in text(response)
    response = client.post(reverse("otp_setup"), {"token": ""})
    assert "Skriv den 6-cifrede kode" in text(response)
    # Setting the app up takes the app's code only, never a backup code.
    response = client.post(reverse("otp_setup"), {"token": "abcd-efgh"})
    assert "Koden skal være 6 cifre" in text(response)

    TOTPDevice.objects.filter(user=world.visitator).update(confirmed=True)
    response = client.post(reverse("otp_verify"), {"token": "12ab"})
    assert "Skriv enten de 6 cifre fra appen eller en reservekode på 8 tegn" in text(response)
    response = client.post(reverse("otp_verify"), {"token": ""})
    assert "Skriv koden fra din godkendelsesapp eller en reservekode" in text(response)


def test_with_an_app_set_up_the_setup_page_cannot_add_another(world, client, otp_required):
    TOTPDevice.objects.create(user=world.visitator, name="Samvirke", confirmed=True)
    login(client, "visitator")
    response = client.get(reverse("otp_setup"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_verify"))
    assert TOTPDevice.objects.filter(user=world.visitator).count() == 1


@pytest.mark.parametrize(
    "who", ["first_contact", "visitator", "coordinator", "police_contact", "dsc", "admin"]
)
def test_every_role_that_sees_case_data_needs_the_second_factor(world, client, otp_required, who):
    client.force_login(getattr(world, who))
    response = client.get("/admin/" if who == "admin" else "/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_setup"))


def test_a_first_contacts_password_alone_shows_no_one_they_referred(world, client, otp_required):
    """A phished first contact's password: "Mine henvisninger" names the people referred and
    where a referral was forwarded (where the person moved)."""
    world.refer(full_name="Zenobia Kvasirhøj")
    assert login(client, world.first_contact.username).status_code == 302

    response = client.get(reverse("cases:my_referrals"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_setup"))
    assert (
        "Kvasirhøj" not in client.get(reverse("cases:my_referrals"), follow=True).content.decode()
    )


def test_the_follow_up_group_which_sees_counts_only_is_not_asked(world, client, otp_required):
    assert login(client, world.follow_up.username).status_code == 302
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


# --- Backup codes --------------------------------------------------------------------------

CODE_ON_PAGE = re.compile(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>")


def app_device(user):
    return TOTPDevice.objects.create(user=user, name="Samvirke", confirmed=True)


def verified_login(client, device, username="visitator"):
    """Password, then the app's code: a session with the second factor given."""
    login(client, username)
    response = client.post(reverse("otp_verify"), {"token": token(device)})
    assert response.status_code == 302
    device.refresh_from_db()


def stored_tokens(user):
    return set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))


def test_setting_up_the_app_shows_ten_backup_codes_once_and_stores_no_code_in_clear(
    world, client, otp_required, caplog
):
    caplog.set_level(logging.DEBUG)
    login(client, "visitator")
    client.get(reverse("otp_setup"))
    device = TOTPDevice.objects.get(user=world.visitator)
    response = client.post(reverse("otp_setup"), {"token": token(device), "next": "/sager/"})

    assert response.status_code == 200
    page = text(response)
    assert page.count("<h1") == 1 and "Gem dine reservekoder" in page
    assert "Koderne vises kun denne ene gang" in page
    assert "no-store" in response["Cache-Control"]
    codes = CODE_ON_PAGE.findall(page)
    assert len(codes) == 10 == len(set(codes))
    assert 'href="/sager/"' in page

    stored = stored_tokens(world.visitator)
    assert len(stored) == 10
    for code in codes:
        plain = code.replace("-", "")
        assert plain not in stored and code not in stored
        assert plain not in caplog.text
    assert StaticDevice.objects.get(user=world.visitator).confirmed

    # Afterwards the setup page shows how many are left, never the codes themselves.
    response = client.get(reverse("otp_setup"))
    assert response.status_code == 200
    page = text(response)
    assert "Du har 10 ubrugte reservekoder" in page
    assert not CODE_ON_PAGE.search(page)
    assert page.count("<h1") == 1
    # The trail says codes were made, by whom; nothing of the codes themselves.
    entry = AuditEntry.objects.get(what="otp_backup_codes")
    assert entry.user == world.visitator and entry.case is None
    assert not any(code.replace("-", "") in str(vars(entry)) for code in codes)


def test_a_backup_code_logs_in_instead_of_the_app_code_and_only_once(world, client, otp_required):
    device = app_device(world.visitator)
    codes = new_backup_codes(world.visitator)
    login(client, "visitator")
    # Typed in capitals and with a space instead of the hyphen: still the code.
    typed = codes[3].replace("-", " ").upper()
    response = client.post(
        reverse("otp_verify"), {"token": typed, "next": reverse("cases:triage_dashboard")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:triage_dashboard")
    response = client.get(reverse("cases:triage_dashboard"))
    assert response.status_code == 200
    assert "Du har 9 reservekoder tilbage" in text(response)
    assert AuditEntry.objects.filter(what="otp_backup_code_used", user=world.visitator).count() == 1
    client.logout()

    login(client, "visitator")
    response = client.post(reverse("otp_verify"), {"token": codes[3]})
    assert response.status_code == 200
    assert "Reservekoden er forkert eller allerede brugt" in text(response)
    assert len(stored_tokens(world.visitator)) == 9
    # Another of the codes still works (after the wrong attempt's pause).
    device.refresh_from_db()
    device.throttle_reset()
    assert client.post(reverse("otp_verify"), {"token": codes[4]}).status_code == 302
    assert len(stored_tokens(world.visitator)) == 8


def test_a_wrong_backup_code_counts_on_the_same_throttle_as_a_wrong_app_code(
    world, client, otp_required
):
    device = app_device(world.visitator)
    codes = new_backup_codes(world.visitator)
    login(client, "visitator")

    response = client.post(reverse("otp_verify"), {"token": "aaaa-aaaa"})
    assert "Reservekoden er forkert eller allerede brugt" in text(response)
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # Right after a wrong backup code, neither the app's code nor a real backup code is tried.
    for attempt in (token(device), codes[0]):
        response = client.post(reverse("otp_verify"), {"token": attempt})
        assert "for mange forkerte koder" in text(response)
    assert len(stored_tokens(world.visitator)) == 10

    # And the other way round: a wrong app code holds back the backup codes too.
    device.throttle_reset()
    wrong = f"{(int(token(device)) + 1) % 1_000_000:06d}"
    client.post(reverse("otp_verify"), {"token": wrong})
    response = client.post(reverse("otp_verify"), {"token": codes[0]})
    assert "for mange forkerte koder" in text(response)

    # A backup code that works also clears the count the wrong attempts left.
    device.refresh_from_db()
    device.throttle_reset()
    client.post(reverse("otp_verify"), {"token": "bbbb-bbbb"})
    device.refresh_from_db()
    device.throttle_reset()
    assert client.post(reverse("otp_verify"), {"token": codes[0]}).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_new_backup_codes_need_the_password_and_make_the_old_ones_stop_working(
    world, client, otp_required, caplog
):
    caplog.set_level(logging.DEBUG)
    device = app_device(world.visitator)
    old = new_backup_codes(world.visitator)
    verified_login(client, device)
    page = text(client.get(reverse("otp_setup")))
    assert "Lav nye reservekoder" in page and 'name="handling" value="nye-reservekoder"' in page
    assert '<label class="form-label" for="id_password">' in page

    # The confirmation: nothing changes without the password, or with a wrong one.
    for password, message in (
        ("", "Skriv din adgangskode"),
        ("forkert", "Adgangskoden er forkert"),
    ):
        response = client.post(
            reverse("otp_setup"), {"handling": "nye-reservekoder", "password": password}
        )
        assert response.status_code == 200
        assert message in text(response)
        assert not CODE_ON_PAGE.search(text(response))
    # A POST without the action parameter does nothing either.
    client.post(reverse("otp_setup"), {"password": PASSWORD})
    assert use_backup_code(world.visitator, old[0].replace("-", "")) is not None

    response = client.post(
        reverse("otp_setup"), {"handling": "nye-reservekoder", "password": PASSWORD}
    )
    assert response.status_code == 200
    page = text(response)
    assert "De koder, du havde før, virker ikke længere" in page
    new = CODE_ON_PAGE.findall(page)
    assert len(new) == 10 and not set(new) & set(old)
    assert len(stored_tokens(world.visitator)) == 10
    assert StaticDevice.objects.filter(user=world.visitator).count() == 1

    for code in old[1:3]:
        assert use_backup_code(world.visitator, code.replace("-", "")) is None
        device.refresh_from_db()
        device.throttle_reset()
    assert use_backup_code(world.visitator, new[0].replace("-", "")) is not None
    assert AuditEntry.objects.filter(what="otp_backup_codes").count() == 2
    assert PASSWORD not in caplog.text
    assert not any(code.replace("-", "") in caplog.text for code in old + new)


def test_the_regenerate_page_needs_the_second_factor_first(world, client, otp_required):
    app_device(world.visitator)
    new_backup_codes(world.visitator)
    login(client, "visitator")
    response = client.post(
        reverse("otp_setup"), {"handling": "nye-reservekoder", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_verify"))
    assert AuditEntry.objects.filter(what="otp_backup_codes").count() == 1


def test_wrong_passwords_on_the_regenerate_page_count_towards_the_lockout(
    world, client, otp_required
):
    device = app_device(world.visitator)
    verified_login(client, device)
    for _ in range(4):
        response = client.post(
            reverse("otp_setup"), {"handling": "nye-reservekoder", "password": "forkert"}
        )
        assert response.status_code == 200
    response = client.post(
        reverse("otp_setup"), {"handling": "nye-reservekoder", "password": "forkert"}
    )
    assert response.status_code == 429
    assert "Kontoen er midlertidigt låst" in text(response)
    client.logout()
    assert login(client, "visitator").status_code == 429


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_backup_code_used_twice_at_the_same_moment_lets_only_one_in():
    """Two requests with the same code at once: the row locks make the second wait and then
    find the code gone."""
    import threading

    from django.db import connection

    from .conftest import build_world

    world = build_world()
    app_device(world.visitator)
    code = new_backup_codes(world.visitator)[0].replace("-", "")
    barrier = threading.Barrier(2)
    results = []

    def attempt():
        try:
            barrier.wait()
            results.append(use_backup_code(world.visitator, code) is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]


# --- The client's address behind reverse proxies ---------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
PROXY = "10.0.0.2"  # our reverse proxy, as the app sees it (REMOTE_ADDR)


def address_settings(monkeypatch, trusted_proxies: int) -> dict:
    """What config/settings.py makes of TRUSTED_PROXY_COUNT, read from the module itself."""
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", str(trusted_proxies))
    values = runpy.run_path(str(ROOT / "config" / "settings.py"))
    return {
        k: v
        for k, v in values.items()
        if k.startswith(("AXES_IPWARE_", "IPWARE_")) or k == "TRUSTED_PROXY_COUNT"
    }


@pytest.fixture
def direct_connection(settings, monkeypatch):
    for name, value in address_settings(monkeypatch, 0).items():
        setattr(settings, name, value)


@pytest.fixture
def behind_one_proxy(settings, monkeypatch):
    for name, value in address_settings(monkeypatch, 1).items():
        setattr(settings, name, value)


def login_from(client, password=PASSWORD, *, remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(LOGIN, {"username": "visitator", "password": password}, **extra)


def test_without_a_trusted_proxy_x_forwarded_for_is_never_read(monkeypatch):
    direct = address_settings(monkeypatch, 0)
    assert direct["TRUSTED_PROXY_COUNT"] == 0
    assert direct["AXES_IPWARE_META_PRECEDENCE_ORDER"] == ("REMOTE_ADDR",)
    two = address_settings(monkeypatch, 2)
    assert two["AXES_IPWARE_META_PRECEDENCE_ORDER"][0] == "HTTP_X_FORWARDED_FOR"
    assert two["AXES_IPWARE_PROXY_COUNT"] == 1  # ipware counts the hops after the client


def test_with_no_trusted_proxy_a_forged_x_forwarded_for_does_not_escape_the_lockout(
    world, client, direct_connection
):
    for n in range(5):
        login_from(client, "wrong", remote="198.51.100.7", forwarded=f"203.0.113.{n}")
    response = login_from(client, remote="198.51.100.7", forwarded="203.0.113.99")
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}


def test_with_one_proxy_the_lockout_is_per_client_address_from_x_forwarded_for(
    world, client, behind_one_proxy
):
    for _ in range(5):
        login_from(client, "wrong", remote=PROXY, forwarded="198.51.100.7")
    assert login_from(client, remote=PROXY, forwarded="198.51.100.7").status_code == 429
    # A client that puts a made-up address in front is still the address our proxy added.
    forged = login_from(client, remote=PROXY, forwarded="203.0.113.5, 198.51.100.7")
    assert forged.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}
    # Another client behind the same proxy is not locked out by the first one's attempts.
    other = login_from(client, remote=PROXY, forwarded="198.51.100.8")
    assert other.status_code == 302


def test_behind_a_proxy_the_audit_trail_records_the_address_the_lockout_uses(
    world, client, behind_one_proxy
):
    case = world.active()
    client.force_login(world.coordinator)
    response = client.get(
        case.get_absolute_url(),
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7",
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(case=case, what="case").latest("pk")
    assert entry.ip_address == "198.51.100.7"
