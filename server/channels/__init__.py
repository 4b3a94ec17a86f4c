"""The channels residents write from, other than the web page: each a thin adapter.

An adapter verifies a delivery (its signature or secret, before anything else is done), parses
it into `Inbound` messages and hands each to the one intake use case
(`server.usecases.intake.receive`), which routes, dedupes, records and answers. Parsers here
are pure: bytes and headers in, `Inbound` or `Ignored` out.
"""

from __future__ import annotations

from dataclasses import dataclass

from moderation.model import Channel

__all__ = ["Ignored", "Inbound", "Unverified"]


class Unverified(Exception):
    """A delivery whose signature or secret does not check out: refused before Redis is
    touched. The message says why (for the log; the sender only gets the status)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """One resident's message from a channel, as the intake takes it.

    `key` is the provider's idempotency key, prefixed by the channel ("wa:<phone_number_id>:
    <wamid>", "tw:<MessageSid>", "tg:<bot>:<update_id>", "mail:<Message-ID>", "desk:<uuid>"):
    a replayed delivery has the same key and makes no second question. `sender` is the raw
    contact (E.164 number, "tg:<chat id>", an e-mail address, "wa-user:<BSUID>"): personal
    data, kept apart with a retention period and never shown to viewers. `reply_to` is where
    answers go on that channel (a WhatsApp `wa_id` or BSUID, Twilio's `From`, a Telegram chat
    id, an e-mail address; "" for none), and `via` is our address it came to (a WhatsApp
    phone_number_id, Twilio's `To`, the bot's name, the e-mail recipient): routing uses it.
    `sent_at` is when the channel says it was sent (ms since the epoch). `note` says what was
    not stored ("image", "voice", "2 attachments"); a message with a note and no text is
    recorded as such, never as an empty question. `edit_of` is the key of the message an
    edit changes (Telegram).
    """

    channel: Channel
    key: str
    sender: str
    reply_to: str = ""
    via: str = ""
    name: str = ""
    text: str = ""
    sent_at: int = 0
    note: str = ""
    language: str = ""  # "kk" or "ru" when the channel knows it (the phone desk); else detected
    district: str = ""
    edit_of: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Ignored:
    """Something a delivery carried that makes no question: a status, a reaction, a sticker, a
    channel post, a service message. Recorded (counted and logged without contacts), then
    answered 200 like the rest, so that the provider stops retrying."""

    channel: Channel
    kind: str  # "status", "reaction", "sticker", "unsupported", "channel_post", "service", ...
    key: str = ""
