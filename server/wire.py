"""The one codec: domain records to and from JSON, and the WebSocket protocol's frames.

Inbound frames are parsed here into commands, or refused with a `WireError`, before the domain
runs. Outbound frames are built here so that every frame has one shape (docs/protocol.md).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, get_origin, get_type_hints

from moderation import (
    KINDS,
    AskQuestion,
    Channel,
    Event,
    InvalidInput,
    Moderate,
    PostComment,
    RejectReason,
    Vote,
)

R = TypeVar("R")

CLIENT_MSG_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
STREAM_ID = re.compile(r"(0|[0-9]{1,20}-[0-9]{1,20})")
MAX_FRAME_BYTES = 64 * 1024


class WireError(ValueError):
    """An inbound frame that is not a valid message; `code` goes back to the client."""

    def __init__(self, code: str, detail: str, client_msg_id: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.client_msg_id = client_msg_id


def dumps(value: object) -> str:
    """Compact JSON with text kept readable (Kazakh and Russian stay as they are)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# Events in the stream


def encode_event(event: Event) -> tuple[str, str]:
    """The event's kind and its fields as JSON, as stored in the stream."""
    data = {f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event)}
    return event.kind, dumps(data)


def decode_event(kind: str, data: str) -> Event:
    """The event stored as (`kind`, `data`); raises ValueError on anything else."""
    cls = KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    raw = json.loads(data)
    values = {
        name: raw[name] if convert is None else convert(raw[name])
        for name, convert in _converters(cls)
        if name in raw
    }
    return cls(**values)


# Per event class, each field and what turns its JSON value into the field's type (None: the
# value as JSON gives it). Worked out once per class: a console's first open folds every event
# of the meeting, tens of thousands of them (issue 14).
_CONVERTERS: dict[type, tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}


def _converters(cls: type) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    if cls not in _CONVERTERS:
        _CONVERTERS[cls] = tuple((name, _converter(hint)) for name, hint in _hints(cls).items())
    return _CONVERTERS[cls]


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    if get_origin(hint) is tuple:
        return tuple
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if hint is float:
        return float  # JSON writes 2.0 as 2.0, but an older writer may have written 2
    return None


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The dataclass's field types, resolved once per class."""
    if cls not in _HINTS:
        names = {f.name for f in dataclasses.fields(cls)}
        _HINTS[cls] = {name: hint for name, hint in get_type_hints(cls).items() if name in names}
    return _HINTS[cls]


def _typed(hint: Any, value: Any) -> Any:
    convert = _converter(hint)
    return value if convert is None else convert(value)


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    return value


# Client to server


def _message(text: str) -> dict[str, Any]:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise WireError("too_large", f"a frame is at most {MAX_FRAME_BYTES} bytes")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise WireError("invalid_json", "the frame is not JSON") from None
    if not isinstance(message, dict):
        raise WireError("invalid_json", "the frame must be a JSON object")
    return message


def parse_client_message(text: str) -> PostComment | AskQuestion | Vote:
    """What a viewer sent, or a `WireError` saying what is wrong with the frame."""
    message = _message(text)
    kind = message.get("type")
    if kind == "vote":
        question = message.get("question")
        if not isinstance(question, str) or not is_stream_id(question):
            raise WireError("invalid", "question must be a question's id")
        return Vote(question=question)
    if kind == "command":
        raise WireError("forbidden", "staff commands are sent from the console")
    if kind not in ("comment", "question"):
        raise WireError("unknown_type", f"unknown message type {str(kind)[:40]!r}")
    client_msg_id = message.get("client_msg_id")
    if not isinstance(client_msg_id, str) or not CLIENT_MSG_ID.fullmatch(client_msg_id):
        raise WireError("invalid", "client_msg_id must be 1-64 of A-Z a-z 0-9 _ -")
    name, body = message.get("name", ""), message.get("text")
    if not isinstance(name, str) or not isinstance(body, str):
        raise WireError(RejectReason.INVALID, "name and text must be strings", client_msg_id)
    if kind == "comment":
        return PostComment(client_msg_id=client_msg_id, name=name, text=body)
    district = message.get("district", "")
    if not isinstance(district, str):
        raise WireError(RejectReason.INVALID, "district must be a string", client_msg_id)
    return AskQuestion(client_msg_id=client_msg_id, name=name, text=body, district=district)


COMMAND_FIELDS = ("reason", "into", "topic", "district")


def parse_staff_message(text: str) -> tuple[str, Moderate | PostComment]:
    """A console's command, or its comment as staff, and its `cmd` id (echoed in the answer),
    or a `WireError`."""
    message = _message(text)
    if message.get("type") not in ("command", "post"):
        raise WireError("unknown_type", f"unknown message type {str(message.get('type'))[:40]!r}")
    cmd = message.get("cmd")
    if not isinstance(cmd, str) or not CLIENT_MSG_ID.fullmatch(cmd):
        raise WireError("invalid", "cmd must be 1-64 of A-Z a-z 0-9 _ -")
    if message["type"] == "post":
        return cmd, _staff_post(message, cmd)
    action, item, version = message.get("action"), message.get("item"), message.get("version")
    if not isinstance(action, str) or not isinstance(item, str) or not is_stream_id(item):
        raise WireError("invalid", "action and item (an item id) are required", cmd)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise WireError("invalid", "version must be the item's version, a positive integer", cmd)
    extra = {name: message.get(name, "") for name in COMMAND_FIELDS}
    if not all(isinstance(value, str) and len(value) <= 200 for value in extra.values()):
        raise WireError("invalid", "reason, into, topic and district are short strings", cmd)
    return cmd, Moderate(action=action, item=item, version=version, **extra)


def _staff_post(message: dict[str, Any], cmd: str) -> PostComment:
    """A comment as staff (issue 8): the only way into the staff channel, whose badge no
    viewer can get. The console puts the account's name on it; `cmd` is its client_msg_id."""
    body = message.get("text")
    if not isinstance(body, str):
        raise WireError("invalid", "text must be a string", cmd)
    return PostComment(client_msg_id=cmd, name="", text=body, channel=Channel.STAFF)


# Server to client


def events_frame(events: Sequence[Mapping[str, object]], last: str) -> str:
    """A batch of events; `last` is the stream id to resume after."""
    return dumps({"type": "events", "events": events, "last": last})


def ack_frame(client_msg_id: str, event_id: str, status: str, reason: str = "") -> str:
    """The submission is durably in the record: `posted`, `held` (with the filter's `reason`)
    or `pending` (a question waits for the moderators)."""
    frame = {"type": "ack", "client_msg_id": client_msg_id, "id": event_id, "status": status}
    if reason:
        frame["reason"] = reason
    return dumps(frame)


def rejected_frame(
    client_msg_id: str, reason: RejectReason, detail: str = "", retry_after: int | None = None
) -> str:
    """The comment is not in the record, and why; `retry_after` in seconds when rate limited."""
    frame: dict[str, object] = {
        "type": "rejected",
        "client_msg_id": client_msg_id,
        "reason": reason.value,
    }
    if detail:
        frame["detail"] = detail
    if retry_after is not None:
        frame["retry_after"] = retry_after
    return dumps(frame)


def retry_frame(client_msg_id: str, detail: str, retry_after: int) -> str:
    """The record did not answer in time: the comment may or may not be in it. The client
    sends it again with the same `client_msg_id` after `retry_after` seconds, which settles it
    (docs/protocol.md, "A rejection is final")."""
    return dumps({"type": "retry", "client_msg_id": client_msg_id, "detail": detail,
                  "retry_after": retry_after})  # fmt: skip


def error_frame(code: str, detail: str) -> str:
    """A frame that could not be understood; the connection stays open."""
    return dumps({"type": "error", "error": code, "detail": detail})


def hello_frame(
    meeting: dict[str, object],
    held: dict[str, int],
    as_of: str,
    questions: list[dict[str, Any]] | None = None,
    clock: dict[str, object] | None = None,
) -> str:
    """The first frame: the meeting as the viewer sees it, the held counts and public
    questions as of `as_of`, and the clock (R4) as of its own `as_of`, the server's time."""
    frame = {"type": "hello", "meeting": meeting, "held": held, "as_of": as_of,
             "questions": questions or [], "clock": clock}  # fmt: skip
    return dumps(frame)


def voted_frame(question: str, votes: int, *, repeated: bool) -> str:
    """The viewer's vote is counted (or was already): the question's votes now."""
    return dumps({"type": "voted", "question": question, "votes": votes, "repeated": repeated})


RELOAD_FRAME = dumps({"type": "reload"})


def is_stream_id(value: str) -> bool:
    return STREAM_ID.fullmatch(value) is not None


def id_key(stream_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair ("0" is the start)."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


# Records (meetings, items) as the store keeps them, and records parsed from outside JSON


def encode_record(record: object, *, omit: tuple[str, ...] = ()) -> str:
    """A record's fields as JSON, without the ones in `omit`."""
    fields = dataclasses.fields(record)  # type: ignore[arg-type]
    return dumps({f.name: _plain(getattr(record, f.name)) for f in fields if f.name not in omit})


def decode_record(cls: type[R], data: str, **extra: object) -> R:
    """The record `encode_record` wrote, with `extra` fields it left out."""
    raw = json.loads(data)
    values = {name: _typed(hint, raw[name]) for name, hint in _hints(cls).items() if name in raw}
    return cls(**(values | extra))


def parse_record(cls: type[R], raw: Mapping[str, object]) -> R:
    """A command from JSON sent by a client (or the shell): each field checked against its
    type; a missing field takes its default. Raises `InvalidInput` naming the field."""
    values: dict[str, object] = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if item.name not in raw:
            if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
                raise InvalidInput(f"{item.name} is required")
            continue
        values[item.name] = _checked(item.name, _hints(cls)[item.name], raw[item.name])
    return cls(**values)


def _checked(name: str, hint: Any, value: object) -> object:
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            choices = ", ".join(str(member.value) for member in hint)
            raise InvalidInput(f"{name} must be one of {choices}") from None
    if hint is str and not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidInput(f"{name} must be a whole number")
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{name} must be a number")
        return float(value)
    if get_origin(hint) is dict and not (
        isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    ):
        raise InvalidInput(f"{name} must map a language to a text")
    return value
