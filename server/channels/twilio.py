"""Twilio deliveries (SMS, and WhatsApp through Twilio): the signature, the parse, the TwiML.

Pure: the public URL, the decoded form and the headers in; `Inbound`, `Unverified` or the
TwiML text out. The signature is twilio-python's `RequestValidator`, written out here so that
the server needs no Twilio package; samples are in tests/fixtures/twilio_*.form.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import phonenumbers

from moderation.model import Channel
from server.channels import Inbound, Unverified

__all__ = ["parse", "signature", "twiml", "verify"]

WHATSAPP_PREFIX = "whatsapp:"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
# Characters XML 1.0 cannot carry, even escaped: dropped from a reply rather than sent broken.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
DEFAULT_PORTS = {"https": 443, "http": 80}

Params = Mapping[str, str] | Sequence[tuple[str, str]]


def signature(
    url: str, params: Sequence[tuple[str, str]], token: str, algorithm: str = "sha1"
) -> str:
    """`X-Twilio-Signature` for a request, exactly as `RequestValidator.compute_signature`.

    The URL as Twilio requested it, then each decoded form name and value, names sorted and the
    values of a repeated name sorted (each distinct pair once), HMAC'd with the auth token
    (`algorithm` is a hashlib name: "sha1", or "sha256" for SharedKey requests) and
    base64-encoded. Pass every pair of the form (Starlette's `multi_items()`), repeats too.
    """
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    digest = hmac.new(token.encode(), signed.encode(), algorithm).digest()
    return base64.b64encode(digest).decode()


def verify(
    url: str,
    params: Params,
    header: str | None,
    token: str,
    settings_header: str | None = None,
) -> None:
    """Check `X-Twilio-Signature` against the public URL, with and without its default port.

    Twilio signs some URLs with the port and some without (`RequestValidator.validate` tries
    both). A request signed with a SharedKey and HMAC-SHA256 (named by
    `X-Twilio-Webhooks-Signature-Settings`) is refused: we hold only the auth token.

    Raises:
        Unverified: no token is set, the header is missing, another algorithm is named, or it
            is not the signature of this URL and form with this token.
    """
    if not token:
        raise Unverified("no Twilio auth token is set: the channel is off")
    if not header:
        raise Unverified("no X-Twilio-Signature header")
    if settings_header is not None and _algorithm(settings_header) != "HMAC_SHA1":
        raise Unverified(
            "X-Twilio-Webhooks-Signature-Settings names another algorithm than HMAC_SHA1"
        )
    pairs = _pairs(params)
    given = header.encode("utf-8", "backslashreplace")
    for candidate in _urls(url):
        if hmac.compare_digest(signature(candidate, pairs, token).encode(), given):
            return
    raise Unverified("X-Twilio-Signature does not match the URL and form")


def _algorithm(settings_header: str) -> str:
    """The `algorithm=` of "key=<sharedKeyId>,algorithm=HMAC_SHA256"; "" when it names none."""
    for part in settings_header.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "algorithm":
            return value.strip()
    return ""


def _urls(url: str) -> list[str]:
    """The URL without its port and with its default port, as `RequestValidator.validate`."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    default = DEFAULT_PORTS.get(parts.scheme, 80)
    with_port = parts.netloc if parts.port else f"{host}:{default}"
    return [parts._replace(netloc=host).geturl(), parts._replace(netloc=with_port).geturl()]


def _pairs(params: Params) -> list[tuple[str, str]]:
    items: Iterable[tuple[str, str]] = params.items() if isinstance(params, Mapping) else params
    return list(items)


def parse(params: Params) -> Inbound:
    """The message of one delivery: WhatsApp when `From` is "whatsapp:+...", else SMS.

    Twilio says nothing of when it was sent, so `sent_at` is 0 and the intake uses its clock.
    A media-only or voice message gets a note ("image", "voice", ...), never an empty text.

    Raises:
        ValueError: `MessageSid` or `From` is missing, `From` is not a phone number, or
            `NumMedia` is not a number.
    """
    form = dict(_pairs(params))
    sid, origin = form.get("MessageSid", ""), form.get("From", "")
    if not sid:
        raise ValueError("MessageSid is missing")
    if not origin:
        raise ValueError("From is missing")
    whatsapp = origin.startswith(WHATSAPP_PREFIX)
    text = form.get("Body", "")
    text = text if text.strip() else ""
    note = _note(form)
    if not note and not text:
        # Never an empty question: a location, a button, ... is recorded as what it is.
        kind = form.get("MessageType", "")
        note = kind if kind not in ("", "text") else "empty"
    return Inbound(
        channel=Channel.WHATSAPP if whatsapp else Channel.SMS,
        key=f"tw:{sid}",
        sender=_e164(origin.removeprefix(WHATSAPP_PREFIX)),
        reply_to=origin,
        via=form.get("To", ""),
        name=form.get("ProfileName", "").strip(),
        text=text,
        note=note,
    )


def _note(form: Mapping[str, str]) -> str:
    """What the first attachment was: "image", "voice", "audio", "video" or "document"."""
    count = form.get("NumMedia", "0") or "0"
    if not count.isascii() or not count.isdigit():
        raise ValueError("NumMedia is not a number")
    if int(count) == 0:
        return ""
    media = form.get("MediaContentType0", "").lower()
    kind = media.partition("/")[0]
    if form.get("MessageType") == "audio" or media.startswith(("audio/ogg", "audio/opus")):
        return "voice"  # a WhatsApp voice note: Opus in Ogg
    return kind if kind in ("image", "audio", "video") else "document"


def _e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, "KZ")
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"From is not a phone number: {error}") from None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def twiml(message: str = "") -> str:
    """The TwiML answer: no reply, or one message back to the sender (as `MessagingResponse`)."""
    if not message:
        return f"{XML_DECLARATION}<Response />"
    text = escape(NOT_XML.sub("", message))
    return f"{XML_DECLARATION}<Response><Message>{text}</Message></Response>"
