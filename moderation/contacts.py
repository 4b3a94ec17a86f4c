"""Senders' contacts (issue 10, integrations.md 6.1): phone numbers normalised to E.164, and
contacts masked for every role not allowed to see them. Numbers, e-mail addresses and IINs
written into a text are masked by `moderation.filters.mask_contacts`, the same patterns the
first filter holds comments for.

libphonenumber's metadata (the `phonenumbers` package) is data here, like rapidfuzz's tables: no
I/O.
"""

from __future__ import annotations

import re

import phonenumbers

from moderation.errors import InvalidInput

# Transport prefixes in front of a number: Twilio's "whatsapp:+7...", a "tel:" link, an SMS URI.
_SCHEME = re.compile(r"(?i)^(?:whatsapp|tel|sms):")
# What a typed number may contain besides its digits (6.1: "8 (701) 234-56-78").
_DIALLED = re.compile(r"\+?[\d\s\-().]{1,40}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_LONGEST_INPUT = 64
# A stored contact's channel prefix: "tg:", "wa-user:", "whatsapp:", "mailto:".
_HANDLE_SCHEME = re.compile(r"[a-z][a-z0-9\-]{0,15}")


def normalise_phone(raw: str, region: str = "KZ") -> str:
    """The number in E.164 ("+77012345678"), from every form 6.1 lists: "87012345678",
    "8 (701) 234-56-78", "+7 701 234 5678", WhatsApp's "77012345678", Twilio's "whatsapp:+7...".

    Raises:
        InvalidInput: the text is not a valid phone number.
    """
    typed = _SCHEME.sub("", raw.strip(), count=1).strip()
    if len(raw) > _LONGEST_INPUT or not _DIALLED.fullmatch(typed):
        raise InvalidInput(f"phone: {_shown(raw)} is not a phone number")
    try:
        number = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidInput(f"phone: {_shown(raw)} is not a phone number ({error})") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"phone: {_shown(raw)} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _shown(raw: str) -> str:
    # An error message may be logged: it names the input's shape, never its digits.
    return f"{len(raw)} characters ending in {raw[-2:]!r}" if raw else "an empty value"


def mask_phone(e164: str) -> str:
    """How a number is shown to roles not allowed to see contacts: "+7 701 ***-**-78" (6.1:
    the operator code and the last 2 digits); elsewhere "+44 ***-**-58" (the country code only).

    Raises:
        InvalidInput: the text is not an E.164 number.
    """
    if not _E164.fullmatch(e164):
        raise InvalidInput("phone: a masked number must be in E.164 form")
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as error:
        raise InvalidInput(f"phone: no country has this code ({error})") from error
    national = phonenumbers.national_significant_number(number)
    if number.country_code == 7 and len(national) == 10:
        # Kazakhstan and Russia: the operator code says little about a person.
        return f"+7 {national[:3]} ***-**-{national[-2:]}"
    return f"+{number.country_code} ***-**-{national[-2:]}"


def mask_email(address: str) -> str:
    """The address as "a***@m***.kz": first letters of mailbox and domain, and its top level."""
    mailbox, at, domain = address.rpartition("@")
    if not at or not mailbox or not domain:
        raise InvalidInput("email: an address needs a mailbox and a domain")
    name, dot, top = domain.rpartition(".")
    shown_domain = f"{name[:1]}***.{top}" if dot and name else f"{domain[:1]}***"
    return f"{mailbox[:1]}***@{shown_domain}"


def mask_contact(contact: str) -> str:
    """Whatever a stored contact is, masked: an E.164 number, an e-mail address, a handle with
    its channel ("tg:12345" -> "tg:***45", "wa-user:aigerim_s" -> "wa-user:***_s")."""
    scheme, colon, value = contact.partition(":")
    if colon and _HANDLE_SCHEME.fullmatch(scheme):
        return f"{scheme}:{_mask_value(value)}"
    return _mask_value(contact)


def _mask_value(value: str) -> str:
    try:
        if _E164.fullmatch(value):
            return mask_phone(value)
        if "@" in value:
            return mask_email(value)
    except InvalidInput:
        pass  # a malformed number or address is masked like any handle
    return _mask_handle(value)


def _mask_handle(value: str) -> str:
    return f"***{value[-2:]}" if len(value) > 4 else "***"
