"""WhatsApp Cloud API deliveries: the GET handshake, the signature over the raw body, the parse.

Pure: parameters, bytes and headers in; `Inbound`, `Ignored` or `Unverified` out. The format
is Meta's `messages` webhook; samples are in tests/fixtures/whatsapp_cloud_*.json.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from typing import TypeAlias

import phonenumbers

from moderation.model import Channel
from server.channels import Ignored, Inbound, Unverified

__all__ = ["challenge", "parse", "verify"]

SIGNATURE_PREFIX = "sha256="
# Media whose caption is a question (issue 10). Every type but these, "text" and "audio"
# (reaction, sticker, location, ..., and types Meta adds later) is recorded and ignored.
MEDIA = ("image", "video", "document")
MAX_CHALLENGE = 256

JSONObject: TypeAlias = dict[str, object]


def challenge(params: Mapping[str, str], verify_token: str) -> str:
    """The GET handshake Meta makes when the webhook is configured: the `hub.challenge` to echo.

    Raises:
        Unverified: no token is set, `hub.mode` is not "subscribe", the token differs, or the
            challenge is missing or not plain letters and digits (it is echoed back as text).
    """
    if not verify_token:
        raise Unverified("no WhatsApp verify token is set: the channel is off")
    if params.get("hub.mode") != "subscribe":
        raise Unverified("hub.mode is not subscribe")
    given = params.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        raise Unverified("hub.verify_token does not match")
    echo = params.get("hub.challenge", "")
    if not (0 < len(echo) <= MAX_CHALLENGE and echo.isascii() and echo.isalnum()):
        raise Unverified("hub.challenge is missing or not letters and digits")
    return echo


def verify(body: bytes, header: str | None, app_secret: str) -> None:
    """Check `X-Hub-Signature-256` ("sha256=" + lowercase hex HMAC-SHA256 of the raw body).

    The raw bytes are what Meta signed: Cyrillic arrives as \\u escapes, so a re-serialised
    body would not match. Only SHA-256 counts; the legacy SHA-1 header is refused.

    Raises:
        Unverified: no secret is set, or the header is missing, malformed, for another
            algorithm, or not the signature of this body with this secret.
    """
    if not app_secret:
        raise Unverified("no WhatsApp app secret is set: the channel is off")
    if not header:
        raise Unverified("no X-Hub-Signature-256 header")
    if not header.startswith(SIGNATURE_PREFIX):
        algorithm = header.partition("=")[0]
        raise Unverified(f"X-Hub-Signature-256 is not sha256=<hex> (it starts {algorithm[:8]!r})")
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest().encode()
    given = header.removeprefix(SIGNATURE_PREFIX).encode("utf-8", "backslashreplace")
    if not hmac.compare_digest(expected, given):
        raise Unverified("X-Hub-Signature-256 does not match the body")


def parse(body: bytes) -> list[Inbound | Ignored]:
    """Every message and status of a delivery, in order: a batch makes one result each.

    Raises:
        ValueError: the body is not Meta's envelope (not JSON, not an object, not
            "whatsapp_business_account", `entry` or `changes` not lists of objects). A malformed
            message inside a valid envelope becomes `Ignored("malformed")` and the rest parse.
    """
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"the body is not JSON: {error}") from None
    if not isinstance(envelope, dict):
        raise ValueError("the body is not a JSON object")
    if envelope.get("object") != "whatsapp_business_account":
        raise ValueError('object is not "whatsapp_business_account"')
    found: list[Inbound | Ignored] = []
    for entry in _objects(envelope, "entry"):
        for change in _objects(entry, "changes"):
            found += _change(change)
    return found


def _objects(parent: JSONObject, name: str) -> Iterator[JSONObject]:
    items = parent.get(name)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"{name} is not a list of objects")
    yield from items


def _change(change: JSONObject) -> list[Inbound | Ignored]:
    field = change.get("field")
    if field != "messages":
        return [
            Ignored(channel=Channel.WHATSAPP, kind=field if isinstance(field, str) else "field")
        ]
    value = change.get("value")
    metadata = value.get("metadata") if isinstance(value, dict) else None
    via = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    if not isinstance(value, dict) or not isinstance(via, str) or not via:
        return [Ignored(channel=Channel.WHATSAPP, kind="malformed")]
    contacts = [c for c in _list(value, "contacts") if isinstance(c, dict)]
    found: list[Inbound | Ignored] = [_message(m, via, contacts) for m in _list(value, "messages")]
    return found + [_status(status) for status in _list(value, "statuses")]


def _list(parent: JSONObject, name: str) -> list[object]:
    """The items of an optional list; one malformed item when it is something else."""
    items = parent.get(name, [])
    return items if isinstance(items, list) else [None]


def _status(status: object) -> Ignored:
    """A status of a message we sent: keyed (id, status), since statuses repeat and reorder."""
    wamid = status.get("id") if isinstance(status, dict) else None
    state = status.get("status") if isinstance(status, dict) else None
    if not isinstance(wamid, str) or not isinstance(state, str):
        return Ignored(channel=Channel.WHATSAPP, kind="malformed")
    return Ignored(channel=Channel.WHATSAPP, kind="status", key=f"wa-status:{wamid}:{state}")


def _message(message: object, via: str, contacts: list[JSONObject]) -> Inbound | Ignored:
    wamid = message.get("id") if isinstance(message, dict) else None
    if not isinstance(message, dict) or not isinstance(wamid, str) or not wamid:
        return Ignored(channel=Channel.WHATSAPP, kind="malformed")
    key = f"wa:{via}:{wamid}"
    try:
        return _inbound(message, key, via, contacts)
    except ValueError:
        return Ignored(channel=Channel.WHATSAPP, kind="malformed", key=key)


def _inbound(
    message: JSONObject, key: str, via: str, contacts: list[JSONObject]
) -> Inbound | Ignored:
    kind = message.get("type")
    if not isinstance(kind, str):
        raise ValueError("type is missing")
    text, note = _content(message, kind)
    if not text and not note:
        return Ignored(channel=Channel.WHATSAPP, kind=kind, key=key)
    sender, reply_to, contact = _sender(message, contacts)
    return Inbound(
        channel=Channel.WHATSAPP,
        key=key,
        sender=sender,
        reply_to=reply_to,
        via=via,
        name=_name(contact),
        text=text,
        sent_at=_timestamp(message.get("timestamp")) * 1000,
        note=note,
    )


def _content(message: JSONObject, kind: str) -> tuple[str, str]:
    """(text, note): the text of a question, or what was not stored; ("", "") for no question.

    A caption is the question (issue 10's contract); media without one is recorded as such.
    """
    if kind not in ("text", "audio", *MEDIA):
        return "", ""
    part = message.get(kind)
    if not isinstance(part, dict):
        raise ValueError(f"{kind} is missing")
    if kind == "text":
        body = part.get("body")
        if not isinstance(body, str) or not body.strip():
            raise ValueError("text.body is missing")
        return body, ""
    if kind == "audio":
        return "", "voice" if part.get("voice") is True else "audio"
    caption = part.get("caption")
    if isinstance(caption, str) and caption.strip():
        return caption, ""
    return "", kind


def _sender(message: JSONObject, contacts: list[JSONObject]) -> tuple[str, str, JSONObject]:
    """(sender, reply_to, contact): the E.164 number, or the BSUID of a username-only user.

    Meta may send `from` and `wa_id` as "" for a user who adopted a username: then the
    business-scoped user id (`from_user_id`, else the contact's `user_id`) is the sender.
    """
    number = message.get("from") or ""
    user_id = message.get("from_user_id") or ""
    if not isinstance(number, str) or not isinstance(user_id, str):
        raise ValueError("from is not a string")
    contact = _contact(contacts, number, user_id)
    if number:
        return _e164(number), number, contact
    user_id = user_id or contact.get("user_id") or ""
    if not isinstance(user_id, str) or not user_id:
        raise ValueError("neither from nor a user id")
    return f"wa-user:{user_id}", user_id, contact


def _contact(contacts: list[JSONObject], number: str, user_id: str) -> JSONObject:
    """The contact of this message's sender; the only one when nothing matches (a batch of one)."""
    for contact in contacts:
        if (number and contact.get("wa_id") == number) or (
            user_id and contact.get("user_id") == user_id
        ):
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _e164(digits: str) -> str:
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("from is not digits")
    try:
        number = phonenumbers.parse("+" + digits, "KZ")
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"from is not a phone number: {error}") from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _name(contact: JSONObject) -> str:
    profile = contact.get("profile")
    if not isinstance(profile, dict):
        return ""
    for field in ("name", "username"):
        value = profile.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _timestamp(value: object) -> int:
    """Unix seconds, which Meta sends as a string of digits; 0 (the intake's clock) when a
    message has none: a resident's message is never dropped for a missing time."""
    if value is None:
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError("timestamp is not Unix seconds")
