"""CPR numbers: validated with python-stdnum, encrypted at rest, found through a blind index.

Written here rather than with an encrypted-field package: those derive keys from SECRET_KEY and
silently return ciphertext after a key change (see LIBRARIES.md). AES-GCM with its own key.
"""

import base64
import hashlib
import hmac
import os
import unicodedata

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.dk import cpr as stdnum_cpr
from stdnum.exceptions import ValidationError as StdnumError


def normalise_cpr(value: str) -> str:
    """Return the ten digits, or raise a ValidationError with a Danish message."""
    # Any script's digits (e.g. Arabic-Indic) become ASCII, so the blind index and the
    # duplicate check see one number, however it was typed.
    digits = "".join(
        str(unicodedata.digit(c)) if c.isdigit() else c for c in stdnum_cpr.compact(value or "")
    )
    try:
        # Since 2007 not every CPR number passes mod-11, so only format and date are checked.
        if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
            raise StdnumError()
        stdnum_cpr.get_birth_date(digits)
    except (StdnumError, ValueError) as exc:
        raise ValidationError(
            _("CPR-nummeret skal have 10 cifre og starte med en gyldig dato (DDMMÅÅ-XXXX)."),
            code="invalid_cpr",
        ) from exc
    return digits


def birth_date_from_cpr(digits: str):
    return stdnum_cpr.get_birth_date(digits)


def _key(setting: str) -> bytes:
    return base64.b64decode(getattr(settings, setting))


def seal(text: str, purpose: bytes) -> str:
    """AES-GCM under CPR_ENCRYPTION_KEY: base64 of a random nonce and the ciphertext. The
    purpose is the associated data, so a token sealed for one purpose (a list search kept in
    the session) does not open as another (a case's CPR number)."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key("CPR_ENCRYPTION_KEY")).encrypt(nonce, text.encode(), purpose)
    return base64.b64encode(nonce + sealed).decode()


def unseal(token: str, purpose: bytes) -> str:
    """The text of a token from seal() with the same purpose; raises InvalidTag if it was
    sealed for another purpose or under another key, or was changed."""
    raw = base64.b64decode(token)
    return AESGCM(_key("CPR_ENCRYPTION_KEY")).decrypt(raw[:12], raw[12:], purpose).decode()


def encrypt_cpr(digits: str) -> str:
    return seal(digits, b"cpr")


def decrypt_cpr(token: str) -> str:
    return unseal(token, b"cpr")


def cpr_index(digits: str) -> str:
    return hmac.new(_key("CPR_INDEX_KEY"), digits.encode(), hashlib.sha256).hexdigest()


def mask_cpr(last4: str) -> str:
    return f"xxxxxx-{last4[:0]}xxxx" if not last4 else f"xxxxxx-{last4}"


def reveal(case) -> str:
    """DDMMÅÅ-XXXX, decrypted; callers check access and write the audit entry."""
    if not case.cpr_encrypted:
        return ""
    digits = decrypt_cpr(case.cpr_encrypted)
    return f"{digits[:6]}-{digits[6:]}"
