"""Senders' personal data (issue 10, integrations.md 6.1): E.164 numbers, masked contacts, and
free text scrubbed of numbers, e-mail addresses and IINs."""

from __future__ import annotations

import re

import pytest

from moderation.contacts import (
    mask_contact,
    mask_email,
    mask_phone,
    normalise_phone,
)
from moderation.errors import InvalidInput

# --- normalise_phone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+77012345678",
        "87012345678",
        "8 (701) 234-56-78",
        "+7 701 234 5678",
        "7 701 234 56 78",
        "77012345678",  # WhatsApp Cloud's wa_id and from
        "whatsapp:+77012345678",  # Twilio's From
        "WhatsApp:+77012345678",
        "tel:+7-701-234-56-78",
        "  8 701 234 56 78 ",
    ],
)
def test_every_form_of_a_kazakh_number_gives_one_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+77012345678"


def test_russian_and_other_countries_numbers_keep_their_country() -> None:
    assert normalise_phone("89161234567") == "+79161234567"
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert normalise_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "an empty value is not a phone number"),
        ("call me", "is not a phone number"),
        ("87012345678 please", "is not a phone number"),  # parse alone would extract it
        ("8" * 70, "is not a phone number"),
        ("+7 701", "is not a valid number"),
        ("80000000000", "is not a valid number"),
        ("(-)", "is not a phone number (("),
    ],
)
def test_anything_else_is_refused_with_a_clear_message(raw: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(why)) as refused:
        normalise_phone(raw)
    assert refused.value.detail.startswith("phone: ")
    assert "012345" not in refused.value.detail  # the message never repeats the digits


# --- masks --------------------------------------------------------------------------------


def test_a_kazakh_number_keeps_its_operator_code_and_last_two_digits() -> None:
    assert mask_phone("+77012345678") == "+7 701 ***-**-78"
    assert mask_phone("+79161234567") == "+7 916 ***-**-67"


def test_another_countrys_number_keeps_its_country_code_and_last_two_digits() -> None:
    assert mask_phone("+442079460958") == "+44 ***-**-58"
    assert mask_phone("+4930123456") == "+49 ***-**-56"


@pytest.mark.parametrize("bad", ["87012345678", "+7 701 234 56 78", "", "+99912345678"])
def test_mask_phone_takes_only_e164(bad: str) -> None:
    with pytest.raises(InvalidInput, match="phone: "):
        mask_phone(bad)


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("aigerim.s@mail.kz", "a***@m***.kz"),
        ("b@akimat.almaty.gov.kz", "b***@a***.kz"),
        ("Ерлан@почта.қаз", "Е***@п***.қаз"),
        ("root@localhost", "r***@l***"),
        ("a@.kz", "a***@.***"),
    ],
)
def test_an_email_keeps_only_its_first_letters_and_top_domain(address: str, masked: str) -> None:
    assert mask_email(address) == masked


@pytest.mark.parametrize("bad", ["no-at-sign", "@mail.kz", "aigerim@"])
def test_mask_email_needs_a_mailbox_and_a_domain(bad: str) -> None:
    with pytest.raises(InvalidInput, match="email: "):
        mask_email(bad)


@pytest.mark.parametrize(
    ("contact", "masked"),
    [
        ("+77012345678", "+7 701 ***-**-78"),
        ("aigerim@mail.kz", "a***@m***.kz"),
        ("tg:12345", "tg:***45"),
        ("tg:1", "tg:***"),
        ("wa-user:aigerim_s", "wa-user:***_s"),
        ("whatsapp:+77012345678", "whatsapp:+7 701 ***-**-78"),
        ("mailto:aigerim@mail.kz", "mailto:a***@m***.kz"),
        ("+99912345678", "***78"),  # no country has 999: masked as a handle
        ("@aigerim", "***im"),  # not an address: masked as a handle
        ("aigerim_s", "***_s"),
        ("Aigerim:Kazakh:12", "***12"),  # not a channel prefix
    ],
)
def test_any_stored_contact_is_masked(contact: str, masked: str) -> None:
    assert mask_contact(contact) == masked
