"""CPR numbers: validation, encryption at rest, blind index and masking."""

import base64
import datetime
import hashlib

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ValidationError

from cases.cpr import (
    birth_date_from_cpr,
    cpr_index,
    decrypt_cpr,
    encrypt_cpr,
    mask_cpr,
    normalise_cpr,
    seal,
    unseal,
)

OTHER_KEY = base64.b64encode(b"another-32-byte-key-for-tests!!!").decode()


# --- normalise_cpr ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["010190-1234", "0101901234", " 010190 1234 "])
def test_normalise_cpr_accepts_the_usual_spellings_and_returns_ten_digits(value):
    assert normalise_cpr(value) == "0101901234"


@pytest.mark.parametrize(
    "value",
    ["", "010190-123", "010190-12345", "01019012", "0101901234567"],
    ids=["empty", "nine-digits", "eleven-digits", "eight-digits", "thirteen-digits"],
)
def test_normalise_cpr_rejects_the_wrong_length(value):
    with pytest.raises(ValidationError) as exc:
        normalise_cpr(value)
    assert exc.value.code == "invalid_cpr"


@pytest.mark.parametrize("value", ["01019O-1234", "abcdef-ghij", "010190-12a4"])
def test_normalise_cpr_rejects_letters(value):
    with pytest.raises(ValidationError) as exc:
        normalise_cpr(value)
    assert exc.value.code == "invalid_cpr"


@pytest.mark.parametrize(
    "value",
    ["320190-1234", "011390-1234", "000190-1234", "300290-1234", "290201-1234"],
    ids=["day-32", "month-13", "day-0", "30-february", "29-february-non-leap"],
)
def test_normalise_cpr_rejects_an_invalid_date(value):
    with pytest.raises(ValidationError) as exc:
        normalise_cpr(value)
    assert exc.value.code == "invalid_cpr"


def test_normalise_cpr_does_not_require_the_modulus_11_check():
    # Since 2007 not every CPR number passes mod-11; 010190-1235 does not, and is accepted.
    assert normalise_cpr("010190-1235") == "0101901235"


def test_normalise_cpr_rejects_none():
    with pytest.raises(ValidationError):
        normalise_cpr(None)


def test_birth_date_is_read_from_the_cpr_number():
    assert birth_date_from_cpr("0101901234") == datetime.date(1990, 1, 1)
    assert birth_date_from_cpr("2902004321") == datetime.date(2000, 2, 29)


# --- encryption -------------------------------------------------------------------------------


def test_encrypt_decrypt_roundtrip():
    token = encrypt_cpr("0101901234")
    assert decrypt_cpr(token) == "0101901234"


def test_ciphertext_does_not_contain_the_cpr_digits():
    token = encrypt_cpr("0101901234")
    assert "0101901234" not in token
    assert "0101901234" not in base64.b64decode(token).decode("latin-1")


def test_two_encryptions_of_the_same_cpr_differ_because_of_the_random_nonce():
    first, second = encrypt_cpr("0101901234"), encrypt_cpr("0101901234")
    assert first != second
    assert decrypt_cpr(first) == decrypt_cpr(second) == "0101901234"


def test_a_tampered_ciphertext_is_refused():
    raw = bytearray(base64.b64decode(encrypt_cpr("0101901234")))
    raw[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        decrypt_cpr(base64.b64encode(bytes(raw)).decode())


def test_a_ciphertext_cannot_be_read_with_another_key(settings):
    token = encrypt_cpr("0101901234")
    settings.CPR_ENCRYPTION_KEY = OTHER_KEY
    with pytest.raises(InvalidTag):
        decrypt_cpr(token)


# --- blind index ------------------------------------------------------------------------------


def test_the_same_cpr_gives_the_same_blind_index():
    assert cpr_index("0101901234") == cpr_index("0101901234")


def test_different_cprs_give_different_blind_indexes():
    assert cpr_index("0101901234") != cpr_index("0101901235")


def test_the_blind_index_is_keyed_not_a_plain_hash(settings):
    index = cpr_index("0101901234")
    assert index != hashlib.sha256(b"0101901234").hexdigest()
    assert "0101901234" not in index
    settings.CPR_INDEX_KEY = OTHER_KEY
    assert cpr_index("0101901234") != index


def test_the_blind_index_key_is_not_the_encryption_key(settings):
    assert settings.CPR_INDEX_KEY != settings.CPR_ENCRYPTION_KEY


# --- masking ----------------------------------------------------------------------------------


def test_mask_cpr_shows_only_the_last_four_digits():
    assert mask_cpr("1234") == "xxxxxx-1234"


def test_mask_cpr_without_digits_shows_no_digits():
    assert mask_cpr("") == "xxxxxx-xxxx"


def test_a_search_sealed_for_the_session_does_not_open_as_a_cpr_number():
    """One key, two purposes: a list search sealed for the session (cases.list_search) cannot
    be passed off as a case's CPR ciphertext, nor the other way round."""
    with pytest.raises(InvalidTag):
        decrypt_cpr(seal("0101901234", b"list_search"))
    with pytest.raises(InvalidTag):
        unseal(encrypt_cpr("0101901234"), b"list_search")
    assert unseal(seal("Anna Vestergaard", b"list_search"), b"list_search") == "Anna Vestergaard"
