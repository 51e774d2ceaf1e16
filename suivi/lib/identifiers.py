"""VAT numbers and phone numbers: validation and normalisation.

VAT numbers are checked with python-stdnum for the countries Suivi's users trade with; phone
numbers are normalised to E.164 with phonenumbers.
"""

import re
from dataclasses import dataclass

import phonenumbers
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat

# Countries whose VAT number Suivi checks digit by digit; the rest of the EU goes through
# stdnum.eu.vat, which knows every member state.
SUPPORTED_VAT_COUNTRIES = ("BE", "FR", "NL", "LU", "DE")


class InvalidIdentifier(ValueError):
    """A VAT or phone number that cannot be accepted; ``str(e)`` says why in plain words."""


@dataclass(frozen=True)
class VatNumber:
    country: str
    number: str  # compact, with the country prefix: BE0403170701

    def __str__(self) -> str:
        return self.number


def parse_vat(raw: str, default_country: str = "") -> VatNumber:
    """Validate a VAT number and return it compact with its country prefix.

    ``default_country`` is used when the number is typed without prefix (``0403.170.701``).
    Raises InvalidIdentifier with a reason code: empty, country, length, checksum, format.
    """
    compact = re.sub(r"[\s.\-/]", "", raw or "").upper()
    if not compact:
        raise InvalidIdentifier("empty")
    if not compact[:2].isalpha():
        if not default_country:
            raise InvalidIdentifier("country")
        compact = default_country.upper() + compact
    country = compact[:2]
    if country.lower() not in eu_vat.MEMBER_STATES:
        raise InvalidIdentifier("country")
    try:
        number = eu_vat.validate(compact)
    except stdnum_errors.InvalidChecksum as e:
        raise InvalidIdentifier("checksum") from e
    except stdnum_errors.InvalidLength as e:
        raise InvalidIdentifier("length") from e
    except stdnum_errors.ValidationError as e:
        raise InvalidIdentifier("format") from e
    return VatNumber(country=country, number=number)


def normalise_phone(raw: str, default_country: str = "BE") -> str:
    """Return ``raw`` as an E.164 number (``+3223456789``); raise InvalidIdentifier if it is not one."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, (default_country or "BE").upper())
    except phonenumbers.NumberParseException as e:
        raise InvalidIdentifier("phone") from e
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidIdentifier("phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
