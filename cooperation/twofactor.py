"""Two-factor login (TOTP, django-otp) for everyone who can see case data.

After the password, a user with a role that sees case data (and staff, who reach the admin)
must also give a code from an authenticator app before any other page opens. The first time
they set the app up (setup page: QR code and key); later they only type the code (verify
page). `settings.OTP_REQUIRED` switches the requirement on; it is off for `make run` (DEBUG)
and for tests that do not ask for it.

Wrong codes are slowed down by django-otp's throttling (`OTP_TOTP_THROTTLE_FACTOR`); axes
counts only wrong passwords.
"""

import base64
import re

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Role
from .roles import held_roles
from .ui import DkfdsFormMixin

# Roles that can see case data; first contacts and the follow-up group see none.
CASE_DATA_ROLES = frozenset(
    {Role.VISITATOR, Role.COORDINATOR, Role.POLICE_CONTACT, Role.DSC_ADVISOR}
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


class TokenForm(DkfdsFormMixin, forms.Form):
    token = forms.CharField(
        label=_("Engangskode"),
        help_text=_("Den 6-cifrede kode, som din godkendelsesapp viser lige nu."),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "class": "form-input input-char-8",
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
            }
        ),
        error_messages={"required": _("Skriv den 6-cifrede kode fra din godkendelsesapp.")},
    )

    def __init__(self, *args, device, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self):
        token = re.sub(r"\s", "", self.cleaned_data["token"])
        if not re.fullmatch(r"\d{6}", token):
            raise forms.ValidationError(_("Koden skal være 6 cifre."))
        allowed, _details = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError(
                _("Der er skrevet for mange forkerte koder. Vent et øjeblik, og prøv igen.")
            )
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


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _signed_in_with(request, device):
    otp_login(request, device)
    # A new privilege level for the session: a new session key, like at password login.
    request.session.cycle_key()
    return redirect(_next_url(request))


def _qr_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, border=4)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@sensitive_post_parameters("token")
@never_cache
@login_required
def setup(request):
    """First time: make (or reuse) an unconfirmed device, show its key, confirm it with a code."""
    user = request.user
    if confirmed_device(user):
        # A second device only after the first one: otherwise a stolen password would be enough.
        if user.is_verified():
            return redirect(_next_url(request))
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
        return _signed_in_with(request, device)
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


@sensitive_post_parameters("token")
@never_cache
@login_required
def verify(request):
    """Later logins: the code from the app the user already set up."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    device = confirmed_device(request.user)
    if device is None:
        return redirect(f"{reverse('otp_setup')}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        return _signed_in_with(request, form.device)
    return render(
        request, "registration/otp_verify.html", {"form": form, "next": _next_url(request)}
    )
