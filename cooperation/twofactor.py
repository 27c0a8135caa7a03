"""Two-factor login (TOTP, django-otp) for everyone who can see case data.

After the password, a user with a role that sees case data (and staff, who reach the admin)
must also give a code from an authenticator app before any other page opens. The first time
they set the app up (setup page: QR code and key); later they only type the code (verify
page). `settings.OTP_REQUIRED` switches the requirement on; it is off for `make run` (DEBUG)
and for tests that do not ask for it.

Backup codes (django-otp's static plugin): right after setting the app up, the user is shown
ten one-time codes, once. The verify page takes one of them instead of the app's code; a used
code is deleted. The plugin would keep the codes in clear text in `StaticToken.token`; we keep
a keyed hash there instead (HMAC-SHA256 under SECRET_KEY, with SECRET_KEY_FALLBACKS during a
key rotation, cut to the column's 16 characters), so the table alone gives no way in. The
setup page, once the user has given a second factor, shows how many are left and makes new
ones (the old ones stop working) after the user confirms with the password.

Wrong codes are slowed down by django-otp's throttling (`OTP_TOTP_THROTTLE_FACTOR`); a wrong
backup code counts on the same counter as a wrong app code (the app device's), so switching
between the two gains an attacker nothing. axes counts wrong passwords, also the password
asked for before new backup codes are made.
"""

import base64
import re

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases import audit
from cases.models import AuditAction

from .models import Role
from .roles import held_roles
from .ui import DkfdsFormMixin

# Roles that see personal data of cases. The first contact too: "Mine henvisninger" names
# the people they referred, a decline's reason and the municipality a referral was forwarded
# to (where the person moved). Only the follow-up group, which sees counts, is not asked.
CASE_DATA_ROLES = frozenset(
    {
        Role.FIRST_CONTACT,
        Role.VISITATOR,
        Role.COORDINATOR,
        Role.POLICE_CONTACT,
        Role.DSC_ADVISOR,
    }
)
# URL names that must open without a second factor (the way in and out, and public pages).
EXEMPT_URL_NAMES = ("login", "logout", "otp_setup", "otp_verify", "set_language", "accessibility")


def needs_second_factor(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or user.is_superuser:
        return True
    return any(r.role in CASE_DATA_ROLES for r in held_roles(user))


def confirmed_device(user):
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def _is_exempt(path: str) -> bool:
    if settings.STATIC_URL and path.startswith(settings.STATIC_URL):
        return True
    return any(path == reverse(name) for name in EXEMPT_URL_NAMES)


class RequireOTPMiddleware:
    """Sends a signed-in user who needs a second factor, and has not given it in this session,
    to the verify page (or to the setup page if they have no app yet). Must come after
    django_otp's OTPMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.OTP_REQUIRED
            and not _is_exempt(request.path)
            and needs_second_factor(request.user)
            and not request.user.is_verified()
        ):
            target = "otp_verify" if confirmed_device(request.user) else "otp_setup"
            url = f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}"
            if request.headers.get("HX-Request"):
                # A fragment request: let htmx load the whole page instead of swapping it in.
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
        return self.get_response(request)


# --- Backup codes ----------------------------------------------------------------------------

BACKUP_CODE_COUNT = 10
BACKUP_DEVICE_NAME = "Reservekoder"
# Shown with a hyphen in the middle (abcd-efgh); typed with or without it, in any case.
_BACKUP_CODE = re.compile(r"[a-z2-7]{8}")
_APP_CODE = re.compile(r"\d{6}")
# The action parameter of the setup page's form that makes new backup codes.
REGENERATE = "nye-reservekoder"


def _backup_digest(code: str, secret) -> str:
    mac = salted_hmac("samvirke.twofactor.backup-code", code, secret=secret, algorithm="sha256")
    # 80 bits in base32 fit StaticToken.token (16 characters).
    return base64.b32encode(mac.digest()).decode()[:16].lower()


def _digests(code: str) -> list[str]:
    """The stored form of a code under the current key and any fallback keys, so a rotated
    SECRET_KEY (with the old one in SECRET_KEY_FALLBACKS) does not void printed codes."""
    return [
        _backup_digest(code, key) for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]


def backup_code_from(raw: str) -> str | None:
    code = re.sub(r"[\s-]", "", raw).lower()
    return code if _BACKUP_CODE.fullmatch(code) else None


def _shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def remaining_backup_codes(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def new_backup_codes(user, *, request=None) -> list[str]:
    """Replace the user's backup codes with new ones and return them in clear text: the only
    time they exist outside the user's hands. The old codes stop working at once."""
    devices = StaticDevice.objects.select_for_update().filter(user=user).order_by("pk")
    device = devices.first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    else:
        devices.exclude(pk=device.pk).delete()
        device.token_set.all().delete()
        if not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
    codes: list[str] = []
    while len(codes) < BACKUP_CODE_COUNT:
        code = StaticToken.random_token()  # 8 characters of base32 from os.urandom: 40 bits
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=_backup_digest(code, settings.SECRET_KEY))
        for code in codes
    )
    # The trail says that codes were made, never which.
    audit.record(
        user=user,
        action=AuditAction.CREATE,
        what="otp_backup_codes",
        object_id=device.pk,
        request=request,
    )
    return [_shown(code) for code in codes]


def use_backup_code(user, code: str, *, request=None) -> StaticDevice | None:
    """The user's backup-code device if `code` is one of their unused codes, which is then
    used up; None otherwise. A wrong code counts on the app device's throttle, like a wrong
    app code. Both rows are locked, so two requests with the same code cannot both pass."""
    code = backup_code_from(code) or ""
    with transaction.atomic():
        app = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        device = (
            StaticDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        if app is None or not app.verify_is_allowed()[0]:
            return None
        match = device.token_set.filter(token__in=_digests(code)).first() if device else None
        if match is None:
            app.throttle_increment()
            return None
        match.delete()
        device.set_last_used_timestamp(commit=False)
        device.save(update_fields=["last_used_at"])
        app.throttle_reset()
        audit.record(
            user=user,
            action=AuditAction.CHANGE,
            what="otp_backup_code_used",
            object_id=device.pk,
            request=request,
        )
    return device


# --- Forms and pages ---------------------------------------------------------------------------


class TokenForm(DkfdsFormMixin, forms.Form):
    """The app's 6 digits; on the verify page (`allow_backup`) also a backup code."""

    token = forms.CharField(
        label=_("Engangskode"),
        help_text=_("Den 6-cifrede kode, som din godkendelsesapp viser lige nu."),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "class": "form-input input-char-8",
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
        error_messages={"required": _("Skriv den 6-cifrede kode fra din godkendelsesapp.")},
    )

    def __init__(self, *args, device, allow_backup=False, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device
        self.allow_backup = allow_backup
        self.request = request
        self.used_backup_code = False
        field = self.fields["token"]
        if allow_backup:
            field.help_text = _(
                "De 6 cifre, som din godkendelsesapp viser lige nu, eller en af dine "
                "reservekoder (8 tegn)."
            )
            field.error_messages["required"] = _(
                "Skriv koden fra din godkendelsesapp eller en reservekode."
            )
        else:
            field.widget.attrs["inputmode"] = "numeric"

    def clean_token(self):
        raw = self.cleaned_data["token"]
        token = re.sub(r"\s", "", raw)
        backup = None
        if not _APP_CODE.fullmatch(token):
            backup = backup_code_from(raw) if self.allow_backup else None
            if backup is None:
                raise forms.ValidationError(
                    _("Skriv enten de 6 cifre fra appen eller en reservekode på 8 tegn.")
                    if self.allow_backup
                    else _("Koden skal være 6 cifre.")
                )
        allowed, _details = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError(
                _("Der er skrevet for mange forkerte koder. Vent et øjeblik, og prøv igen.")
            )
        if backup is not None:
            verified = use_backup_code(self.device.user, backup, request=self.request)
            if verified is None:
                raise forms.ValidationError(
                    _(
                        "Reservekoden er forkert eller allerede brugt. Hver reservekode virker "
                        "kun én gang."
                    )
                )
            self.device = verified
            self.used_backup_code = True
            return backup
        # Through django_otp.verify_token: the device row is locked, so one code is used once.
        verified = verify_token(self.device.user, self.device.persistent_id, token)
        if verified is None:
            raise forms.ValidationError(
                _(
                    "Koden er forkert eller udløbet. Skriv den kode, som appen viser lige nu, "
                    "og tjek at telefonens ur går rigtigt."
                )
            )
        self.device = verified
        return token


class ConfirmPasswordForm(DkfdsFormMixin, forms.Form):
    """Before new backup codes: the password again, so a session left open on a shared
    computer is not enough. Checked through authenticate(), so axes counts wrong ones."""

    password = forms.CharField(
        label=_("Din adgangskode"),
        help_text=_("Bekræft med den adgangskode, du logger ind med."),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Skriv din adgangskode for at lave nye reservekoder.")},
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self):
        user = self.request.user
        checked = authenticate(
            self.request, username=user.get_username(), password=self.cleaned_data["password"]
        )
        if checked is None or checked.pk != user.pk:
            raise forms.ValidationError(_("Adgangskoden er forkert."))
        return ""


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _signed_in(request, device):
    otp_login(request, device)
    # A new privilege level for the session: a new session key, like at password login.
    request.session.cycle_key()


def _signed_in_with(request, device):
    _signed_in(request, device)
    return redirect(_next_url(request))


def _show_backup_codes(request, codes, *, first_time):
    """Rendered as the answer to the POST that made them, never stored for a later GET:
    the codes are on the screen once (never_cache keeps them out of the browser's cache)."""
    return render(
        request,
        "registration/otp_backup_codes.html",
        {"codes": codes, "first_time": first_time, "next": _next_url(request)},
    )


def _qr_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, border=4)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@sensitive_post_parameters("token", "password")
@never_cache
@login_required
def setup(request):
    """First time: make (or reuse) an unconfirmed device, show its key, confirm it with a code,
    then show the backup codes. Later, with the second factor given in this session: the
    backup codes left, and new ones on request (form action `handling=nye-reservekoder`)."""
    user = request.user
    if confirmed_device(user):
        # A second device only after the first one: otherwise a stolen password would be enough.
        if user.is_verified():
            return _manage(request)
        return redirect(f"{reverse('otp_verify')}?{urlencode({'next': _next_url(request)})}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Samvirke", confirmed=False)
    form = TokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        device = form.device
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        _signed_in(request, device)
        codes = new_backup_codes(user, request=request)
        return _show_backup_codes(request, codes, first_time=True)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "registration/otp_setup.html",
        {
            "form": form,
            "qr_code": _qr_data_uri(device.config_url),
            "secret": _grouped(secret),
            "next": _next_url(request),
        },
    )


def _manage(request):
    regenerate = request.method == "POST" and request.POST.get("handling") == REGENERATE
    form = ConfirmPasswordForm(request.POST if regenerate else None, request=request)
    if regenerate and form.is_valid():
        codes = new_backup_codes(request.user, request=request)
        return _show_backup_codes(request, codes, first_time=False)
    return render(
        request,
        "registration/otp_manage.html",
        {
            "form": form,
            "remaining": remaining_backup_codes(request.user),
            "regenerate": REGENERATE,
            "next": _next_url(request),
        },
    )


@sensitive_post_parameters("token")
@never_cache
@login_required
def verify(request):
    """Later logins: the code from the app the user already set up, or a backup code."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    device = confirmed_device(request.user)
    if device is None:
        return redirect(f"{reverse('otp_setup')}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm(request.POST or None, device=device, allow_backup=True, request=request)
    if request.method == "POST" and form.is_valid():
        if form.used_backup_code:
            left = remaining_backup_codes(request.user)
            messages.warning(
                request,
                ngettext(
                    "Du er logget ind med en reservekode. Du har %(n)d reservekode tilbage.",
                    "Du er logget ind med en reservekode. Du har %(n)d reservekoder tilbage.",
                    left,
                )
                % {"n": left},
            )
        return _signed_in_with(request, form.device)
    return render(
        request, "registration/otp_verify.html", {"form": form, "next": _next_url(request)}
    )
