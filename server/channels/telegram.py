"""Telegram bot deliveries: the secret-token header, the parse of an update, `/start`.

Pure: the header and the body in; `Inbound`, `Ignored` or `Unverified` out. Telegram does not
sign bodies: the secret token given to `setWebhook` comes back in a header. Entity offsets
count UTF-16 code units, not Python characters; samples are in tests/fixtures/telegram_*.json.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import TypeAlias

from moderation.model import Channel
from server.channels import Ignored, Inbound, Unverified

__all__ = ["is_start", "parse", "utf16_slice", "verify"]

JSONObject: TypeAlias = dict[str, object]

# The update kinds that carry a resident's message; every other kind is recorded and ignored.
MESSAGES = ("message", "edited_message")
# What a message without text or caption was, as its note (first match wins: an animation
# also carries a `document`).
MEDIA = {
    "photo": "photo",
    "voice": "voice",
    "video_note": "video",
    "video": "video",
    "animation": "video",
    "audio": "audio",
    "document": "document",
}
START = re.compile(r"/start(?:@\w+)?(?:\s.*)?", re.DOTALL)


def verify(header: str | None, secret: str) -> None:
    """Check `X-Telegram-Bot-Api-Secret-Token` against the secret given to `setWebhook`.

    Raises:
        Unverified: no secret is set, or the header is missing or differs.
    """
    if not secret:
        raise Unverified("no Telegram secret token is set: the channel is off")
    if not header:
        raise Unverified("no X-Telegram-Bot-Api-Secret-Token header")
    given = header.encode("utf-8", "backslashreplace")
    if not hmac.compare_digest(given, secret.encode()):
        raise Unverified("X-Telegram-Bot-Api-Secret-Token does not match")


def parse(body: bytes) -> Inbound | Ignored:
    """The message of one update, or what it was when it makes no question.

    A new message is keyed "tg:<chat id>:<message id>": a replayed update (same `update_id`)
    carries the same message, so its key dedupes the replay. An edit is keyed by its own
    update ("tg-edit:<update_id>") and names the message it changes in `edit_of`.

    Raises:
        ValueError: the body is not JSON, not an object, has no integer `update_id`, or its
            message lacks a field it needs (the message names the field).
    """
    try:
        update = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"the body is not JSON: {error}") from None
    if not isinstance(update, dict):
        raise ValueError("the body is not a JSON object")
    update_id = _integer(update, "update_id", "update")
    kind = next((name for name in update if name != "update_id"), "empty")
    if kind not in MESSAGES:  # channel posts, callback queries, polls, ...
        return Ignored(channel=Channel.TELEGRAM, kind=kind, key=f"tg-update:{update_id}")
    message = update[kind]
    if not isinstance(message, dict):
        raise ValueError(f"{kind} is not an object")
    return _message(message, kind, update_id)


def _message(message: JSONObject, kind: str, update_id: int) -> Inbound | Ignored:
    chat = _object(message, "chat", kind)
    chat_id = _integer(chat, "id", f"{kind}.chat")
    message_id = _integer(message, "message_id", kind)
    key = f"tg:{chat_id}:{message_id}"
    author = message.get("from")
    author = author if isinstance(author, dict) else {}
    author_id = author.get("id")  # in a private chat, the chat's id is the user's
    sender = author_id if isinstance(author_id, int) else chat_id
    ignored = _ignored(message, chat, author)
    if ignored:
        return Ignored(channel=Channel.TELEGRAM, kind=ignored, key=key)
    text = _text(message)
    edited = kind == "edited_message"
    return Inbound(
        channel=Channel.TELEGRAM,
        key=f"tg-edit:{update_id}" if edited else key,
        sender=f"tg:{sender}",
        reply_to=str(chat_id),
        name=_name(author),
        text=text,
        sent_at=_integer(message, "date", kind) * 1000,
        note="" if text else next(note for field, note in MEDIA.items() if field in message),
        edit_of=key if edited else "",
    )


def _ignored(message: JSONObject, chat: JSONObject, author: JSONObject) -> str:
    """Why a message makes no question ("" when it does): a group, a bot, a sticker, a service
    message (members joining, a pinned message, a new title, ...: no text, caption or media)."""
    chat_type = chat.get("type")
    if chat_type != "private":
        return "channel_post" if chat_type == "channel" else "group"
    if author.get("is_bot") is True:
        return "bot"
    if "sticker" in message:
        return "sticker"
    if _text(message) or any(field in message for field in MEDIA):
        return ""
    return "service"


def _text(message: JSONObject) -> str:
    """The text, or the caption of media (a question text too), without the bot's @name."""
    for field, entities in (("text", "entities"), ("caption", "caption_entities")):
        text = message.get(field)
        if isinstance(text, str) and text.strip():
            return _without_bot_name(text, message.get(entities))
    return ""


def _without_bot_name(text: str, entities: object) -> str:
    """A leading command loses the bot's @name ("/start@HalyqBot x" reads "/start x"); the rest
    of the text is kept as it is."""
    first = entities[0] if isinstance(entities, list) and entities else None
    if not isinstance(first, dict) or first.get("type") != "bot_command":
        return text
    offset, length = first.get("offset"), first.get("length")
    if offset != 0 or not isinstance(length, int) or isinstance(length, bool):
        return text
    try:
        command = utf16_slice(text, 0, length)
    except ValueError:
        return text  # offsets that do not fit the text: keep it whole rather than guess
    return command.partition("@")[0] + text[len(command) :]


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of `text` a Telegram entity names: offset and length count UTF-16 code units.

    An emoji outside the Basic Multilingual Plane (🙏) counts 2, and a ZWJ sequence
    (👨‍👩‍👧) counts each of its code points; Python's indices count code points.

    Raises:
        ValueError: the range is negative, past the end, or splits a surrogate pair.
    """
    units = text.encode("utf-16-le")
    if offset < 0 or length < 0 or 2 * (offset + length) > len(units):
        raise ValueError(f"entity {offset}+{length} is outside the text")
    try:
        return units[2 * offset : 2 * (offset + length)].decode("utf-16-le")
    except UnicodeDecodeError:
        raise ValueError(f"entity {offset}+{length} splits a character") from None


def is_start(inbound: Inbound) -> bool:
    """Whether the resident sent `/start` (with the bot's @name or a payload): answered with how
    to ask, not taken as a question."""
    return START.fullmatch(inbound.text.strip()) is not None


def _name(author: JSONObject) -> str:
    first, last = author.get("first_name"), author.get("last_name")
    parts = [part for part in (first, last) if isinstance(part, str)]
    name = " ".join(parts).strip()
    username = author.get("username")
    return name or (username if isinstance(username, str) else "")


def _object(parent: JSONObject, name: str, where: str) -> JSONObject:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise ValueError(f"{where}.{name} is missing")
    return value


def _integer(parent: JSONObject, name: str, where: str) -> int:
    """Telegram's ids exceed 32 bits: Python's int holds them."""
    value = parent.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{where}.{name} is not an integer")
    return value
