"""YouTube's live chat as yt-dlp writes it, one JSON line at a time, read into chat events.

Pure (issue 11): a line in, events out; no files, no clock. Both of yt-dlp's shapes are read:
`youtube_live_chat` wraps each action (`{"replayChatItemAction": {"actions": [...]},
"videoOffsetTimeMsec": ..., "isLive": true}`) and `youtube_live_chat_replay` writes the raw
replay action (the offset inside `replayChatItemAction`, or an action with no wrapper at all).
Times come from each item's `timestampUsec`, never from the offsets, which depend on the moment
yt-dlp started.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal, TypeAlias

Kind: TypeAlias = Literal["text", "superchat", "supersticker", "membership"]
Object: TypeAlias = dict[str, object]

# Bidi controls (marks, embeddings, overrides, isolates): a name must not reorder what follows.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DIGITS = re.compile(r"[0-9]{1,19}")  # within int64, and far from int()'s digit limit
# An object with no wrapper is a raw replay action when one of its keys names an action.
_ACTION_KEY = re.compile(r"(?:Action|Command)$")
_NUMBER = re.compile(r"\d(?:[\d.,\s]*\d)?")
_CENT = Decimal("0.01")

# Symbols as YouTube writes purchase amounts (English interface), to ISO 4217 codes.
CURRENCIES = {
    "$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "JP¥": "JPY",
    "CN¥": "CNY", "A$": "AUD", "CA$": "CAD", "NZ$": "NZD", "HK$": "HKD", "NT$": "TWD",
    "R$": "BRL", "MX$": "MXN", "₹": "INR", "₩": "KRW", "₺": "TRY", "₸": "KZT", "₽": "RUB",
    "₴": "UAH", "₱": "PHP", "₪": "ILS", "₫": "VND", "₦": "NGN", "₼": "AZN", "₾": "GEL",
}  # fmt: skip


class Unreadable(ValueError):
    """A line this reader does not understand: not UTF-8, not JSON, or no chat action's shape."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatMessage:
    """A message in the chat: text, a super chat or sticker, or a membership milestone's words.

    `id` is YouTube's, the same in the live and the replay file: the key against doubles.
    `amount` ("2000.00") and `currency` (ISO, "" when the symbol is unknown) are for paid ones.
    """

    id: str
    author: str
    author_channel: str
    timestamp_usec: int
    text: str
    kind: Kind
    amount: str = ""
    currency: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatRemoval:
    """YouTube deleted the message `id` (a moderator's or the author's own deletion)."""

    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorBan:
    """YouTube removed every message of the channel `author_channel` (a ban or a timeout)."""

    author_channel: str


ChatEvent: TypeAlias = ChatMessage | ChatRemoval | AuthorBan


def parse(line: str | bytes) -> list[ChatEvent]:
    """The events of one line of yt-dlp's live-chat file, in order; [] for a blank line.

    Raises:
        Unreadable: the line is not understood; the caller counts it and goes on.
    """
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Unreadable("not UTF-8") from error
    if not line.strip():
        return []
    try:
        data: object = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise Unreadable("not JSON") from error
    return [event for action in _actions(data) for event in _events(action)]


def _actions(data: object) -> list[object]:
    """All the actions of a line (a replay line may carry several)."""
    line = _object(data, "the line")
    wrapper = line.get("replayChatItemAction")
    if wrapper is None:
        if any(_ACTION_KEY.search(key) for key in line):
            return [line]
        raise Unreadable("neither a live nor a replay chat line")
    actions = _object(wrapper, "replayChatItemAction").get("actions")
    if not isinstance(actions, list):
        raise Unreadable("replayChatItemAction has no list of actions")
    return actions


def _events(action: object) -> list[ChatEvent]:
    """What one action means for us: actions that are not listed (tickers, banners, polls,
    tooltips, ...) mean nothing."""
    events: list[ChatEvent] = []
    for name, payload in _object(action, "an action").items():
        if (handle := _ACTIONS.get(name)) is not None:
            events += handle(_object(payload, name))
    return events


def _added(action: Object) -> list[ChatEvent]:
    return _item(action.get("item"), "addChatItemAction.item")


def _replaced(action: Object) -> list[ChatEvent]:
    """A placeholder replaced by the real message: the message arrives only now."""
    return _item(action.get("replacementItem"), "replaceChatItemAction.replacementItem")


def _removed(action: Object) -> list[ChatEvent]:
    return [ChatRemoval(id=_string(action, "targetItemId"))]


def _banned(action: Object) -> list[ChatEvent]:
    return [AuthorBan(author_channel=_string(action, "externalChannelId"))]


_ACTIONS: dict[str, Callable[[Object], list[ChatEvent]]] = {
    "addChatItemAction": _added,
    "replaceChatItemAction": _replaced,
    "removeChatItemAction": _removed,
    "markChatItemAsDeletedAction": _removed,
    "removeChatItemByAuthorAction": _banned,
    "markChatItemsByAuthorAsDeletedAction": _banned,
}


def _item(item: object, what: str) -> list[ChatEvent]:
    """The message of an item, if its renderer is a message's (notices and placeholders are
    not)."""
    for name, body in _object(item, what).items():
        if (read := _RENDERERS.get(name)) is not None:
            message = read(_object(body, name))
            return [] if message is None else [message]
    return []


def _text_message(body: Object) -> ChatMessage:
    return _message(body, "text", _runs(_required(body, "message")))


def _paid_message(body: Object) -> ChatMessage:
    """A super chat: its message is absent when the viewer wrote none."""
    text = "" if body.get("message") is None else _runs(body["message"])
    return _message(body, "superchat", text, _money(_plain(body.get("purchaseAmountText"))))


def _paid_sticker(body: Object) -> ChatMessage:
    """A super sticker: its words are the sticker's label, if it has one."""
    label = _at(body, "sticker", "accessibility", "accessibilityData", "label")
    text = _checked(label) if isinstance(label, str) else ""
    return _message(body, "supersticker", text, _money(_plain(body.get("purchaseAmountText"))))


def _membership(body: Object) -> ChatMessage | None:
    """A milestone with the member's words; a new member's welcome has none and is no message."""
    if body.get("message") is None:
        return None
    return _message(body, "membership", _runs(body["message"]))


_RENDERERS: dict[str, Callable[[Object], ChatMessage | None]] = {
    "liveChatTextMessageRenderer": _text_message,
    "liveChatPaidMessageRenderer": _paid_message,
    "liveChatPaidStickerRenderer": _paid_sticker,
    "liveChatMembershipItemRenderer": _membership,
}


def _message(body: Object, kind: Kind, text: str, money: tuple[str, str] = ("", "")) -> ChatMessage:
    channel = body.get("authorExternalChannelId")
    return ChatMessage(
        id=_string(body, "id"),
        author=BIDI_CONTROLS.sub("", _plain(body.get("authorName"))),
        author_channel=_checked(channel) if isinstance(channel, str) else "",
        timestamp_usec=_timestamp(body.get("timestampUsec")),
        text=text,
        kind=kind,
        amount=money[0],
        currency=money[1],
    )


def _timestamp(value: object) -> int:
    """Microseconds since the epoch, written as a string of digits."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise Unreadable("a message without a timestampUsec")


def _runs(message: object) -> str:
    """The text as YouTube shows it: text and link runs as written, emoji as emoji."""
    runs = _object(message, "a message").get("runs")
    if not isinstance(runs, list):
        raise Unreadable("a message without runs")
    return "".join(_run(_object(run, "a run")) for run in runs)


def _run(run: Object) -> str:
    if isinstance(text := run.get("text"), str):
        return _checked(text)
    if "emoji" in run:
        return _emoji(_object(run["emoji"], "an emoji"))
    raise Unreadable("a run that is neither text nor emoji")


def _emoji(emoji: Object) -> str:
    """A Unicode emoji is its id (the characters themselves, ZWJ sequences whole); a channel's
    own emoji (`<channel>/<id>`) is its first shortcut, as YouTube copies it (":_astana:")."""
    emoji_id = emoji.get("emojiId")
    is_custom = emoji.get("isCustomEmoji") is True or (
        isinstance(emoji_id, str) and "/" in emoji_id
    )
    if isinstance(emoji_id, str) and emoji_id and not is_custom:
        return _checked(emoji_id)
    for key, form in (("shortcuts", "{}"), ("searchTerms", ":{}:")):
        names = emoji.get(key)
        if isinstance(names, list) and names and isinstance(names[0], str) and names[0]:
            return form.format(_checked(names[0]))
    raise Unreadable("an emoji without a name")


def _money(text: str) -> tuple[str, str]:
    """("2000.00", "KZT") from "₸2,000.00": the amount with two decimals and the ISO code of
    the symbol or code written before or after it ("" for a symbol not known)."""
    text = BIDI_CONTROLS.sub("", text)
    found = _NUMBER.search(text)
    if found is None:
        return "", ""
    symbol = text[: found.start()].strip() or text[found.end() :].strip()
    currency = CURRENCIES.get(symbol, symbol if re.fullmatch("[A-Z]{3}", symbol) else "")
    return _amount(found.group()), currency


def _amount(number: str) -> str:
    """Two decimals, whichever of "." and "," groups the thousands: the last separator is the
    decimal one, unless it is repeated or is a lone "," followed by three digits."""
    digits = re.sub(r"\s", "", number)
    separators = re.findall(r"[.,]", digits)
    point = separators[-1] if separators else ""
    if separators.count(point) > 1 or (point == "," and re.search(r",\d{3}$", digits)):
        point = ""
    whole, _, fraction = digits.rpartition(point) if point else (digits, "", "")
    try:
        value = Decimal(re.sub(r"[.,]", "", whole) + "." + (fraction or "0"))
        return format(value.quantize(_CENT, rounding=ROUND_HALF_UP), "f")
    except InvalidOperation:  # more digits than a Decimal holds: no amount rather than a wrong one
        return ""


def _plain(value: object) -> str:
    """The text of a `{"simpleText": ...}` or `{"runs": [...]}` field; "" when absent."""
    if isinstance(value, dict):
        if isinstance(simple := value.get("simpleText"), str):
            return _checked(simple)
        if isinstance(value.get("runs"), list):
            return _runs(value)
    return ""


def _at(value: object, *keys: str) -> object:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _object(value: object, what: str) -> Object:
    if not isinstance(value, dict):
        raise Unreadable(f"{what} is not an object")
    return value


def _required(body: Object, key: str) -> object:
    if body.get(key) is None:
        raise Unreadable(f"no {key}")
    return body[key]


def _string(body: Object, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise Unreadable(f"no {key}")
    return _checked(value)


def _checked(text: str) -> str:
    """Text that UTF-8 can hold: JSON's escapes can make half a surrogate pair, which no store
    or socket would take later."""
    if _SURROGATE.search(text):
        raise Unreadable("a lone surrogate in the text")
    return text
