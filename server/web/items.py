"""The staff's JSON API of a meeting's queue (issue 10.9): every comment and question, from
every channel, for akimat systems and our own end-to-end checks.

`GET /api/meetings/{id}/items?channel=&status=&limit=&after=` takes the admin token
(`Authorization: Bearer $HALYQ_ADMIN_TOKEN`) or a signed-in staff member allowed to view the
console (policy `ADMIN_OR_STAFF` in `server/auth/access.py`). It answers
`{"items": [...], "next": URL or null}`, oldest first; `next` repeats the filters with
`after=<the last id>` while more remain. Contacts, and phone numbers, e-mails and IINs written
into names and texts, are masked unless the caller may see contacts (the admin token, or
`see_contacts`): a moderator reads the queue as the console shows it, an operator as the
sender wrote it (PRIV-1).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from moderation import InvalidInput
from moderation.contacts import mask_contact
from moderation.filters import mask_contacts
from moderation.language import detect_language
from moderation.model import Channel, Item, ItemStatus
from server.auth.accounts import Permission
from server.auth.sessions import current_staff, services_of
from server.usecases import is_meeting_id
from server.usecases.rundown import fold

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
NO_STORE = {"Cache-Control": "no-store"}
STREAM_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")
E = TypeVar("E", Channel, ItemStatus)


@dataclass(frozen=True, slots=True)
class Query:
    """What a caller asked for: which channels and statuses (empty: all), how many, after which
    id (the page before ended there)."""

    channels: frozenset[Channel]
    statuses: frozenset[ItemStatus]
    limit: int
    after: tuple[int, int] | None


async def list_items(request: Request) -> JSONResponse:
    """`GET /api/meetings/{meeting_id}/items`: a page of the meeting's queue."""
    contacts = await _caller_sees_contacts(request)
    meeting_id = str(request.path_params["meeting_id"])
    query = parse_query(request)
    if not is_meeting_id(meeting_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meeting {meeting_id[:40]!r}")
    services = services_of(request)
    board = (await fold(services.usecases, meeting_id)).board  # NotFound: 404
    page, more = select(board.items.values(), query)
    shown = await _shown(request, meeting_id, page, contacts=contacts)
    following = None
    if more and page:
        following = str(request.url.include_query_params(after=page[-1].id, limit=query.limit))
    return JSONResponse({"items": shown, "next": following}, headers=NO_STORE)


# Who asks


async def _caller_sees_contacts(request: Request) -> bool:
    """Let the admin token or a staff session with `view_console` in (else 401, or 403 for a
    role without it); whether the caller may see contacts."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, given = header.partition(" ")
        token = services_of(request).settings.admin_token
        given = given.strip()
        if scheme.lower() != "bearer" or not token or not given:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the bearer token is not valid")
        return True
    staff = await current_staff(request)
    if staff is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Authorization: Bearer <admin token>, or a staff session, is required",
        )
    if not staff.may(Permission.VIEW_CONSOLE):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"the {staff.role} role may not {Permission.VIEW_CONSOLE}"
        )
    return staff.may(Permission.SEE_CONTACTS)


# What it asks for


def parse_query(request: Request) -> Query:
    """The filters and the page; `InvalidInput` (400) naming the parameter that is wrong."""
    params = request.query_params
    channels = _values(params.get("channel", ""), "channel", Channel)
    statuses = _values(params.get("status", ""), "status", ItemStatus)
    limit_text = params.get("limit", str(DEFAULT_LIMIT)).strip()
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    after = None
    if (after_text := params.get("after")) is not None:
        found = STREAM_ID.fullmatch(after_text.strip())
        if found is None:
            raise InvalidInput("after must be the id of an item, such as 1764460800000-0")
        after = (int(found[1]), int(found[2] or 0))
    return Query(frozenset(channels), frozenset(statuses), int(limit_text), after)


def _values(text: str, name: str, kind: type[E]) -> set[E]:
    """A comma-separated list of `kind`'s values ("" is every one)."""
    found = set()
    for word in (part.strip() for part in text.split(",")):
        if not word:
            continue
        try:
            found.add(kind(word))
        except ValueError:
            known = ", ".join(member.value for member in kind)
            raise InvalidInput(
                f"{name} must be one or more of {known}, not {word[:40]!r}"
            ) from None
    return found


def order(item_id: str) -> tuple[int, int]:
    """A stream id's place in its stream: items come oldest first."""
    found = STREAM_ID.fullmatch(item_id)
    return (int(found[1]), int(found[2] or 0)) if found else (0, 0)


def select(items: Iterable[Item], query: Query) -> tuple[list[Item], bool]:
    """The page `query` asks for, oldest first, and whether more follow it."""
    chosen = sorted(
        (
            item
            for item in items
            if (not query.channels or item.channel in query.channels)
            and (not query.statuses or item.status in query.statuses)
            and (query.after is None or order(item.id) > query.after)
        ),
        key=lambda item: order(item.id),
    )
    return chosen[: query.limit], len(chosen) > query.limit


# What it gets


async def _shown(
    request: Request, meeting_id: str, items: list[Item], *, contacts: bool
) -> list[dict[str, object]]:
    intake = services_of(request).store.intake
    senders = sorted({item.viewer for item in items})
    kept = await intake.contacts(meeting_id, senders)
    originals = await intake.originals(meeting_id, [i.id for i in items]) if contacts else {}
    return [
        shown(item, kept.get(item.viewer), originals.get(item.id), contacts=contacts)
        for item in items
    ]


def shown(
    item: Item, kept: dict[str, str] | None, original: str | None, *, contacts: bool
) -> dict[str, object]:
    """One item as the API answers it. `kept` is its sender's stored contact (none for web
    viewers), `original` the text as the sender wrote it when the record holds it masked."""
    raw = (kept or {}).get("contact") or None
    if contacts:
        # An original still stands for the text only while masking it gives the record's
        # text (a Telegram edit changes the text after).
        text = original if original and mask_contacts(original) == item.text else item.text
        name, contact = item.name, raw
    else:
        text, name = mask_contacts(item.text), mask_contacts(item.name)
        contact = mask_contact(raw) if raw else None
    return {
        "id": item.id,
        "kind": item.kind.value,
        "channel": item.channel.value,
        "status": item.status.value,
        "name": name,
        "text": text,
        "language": item.language or detect_language(item.text),
        "similar": list(item.similar),
        "topic": item.topic or item.suggested_topic,
        "district": item.district or item.suggested_district,
        "votes": item.votes,
        "received_at": item.received_at or item.at,
        # A YouTube super chat's amount and ISO currency (issue 11), else null.
        "superchat": {"amount": item.amount, "currency": item.currency} if item.amount else None,
        "asks": item.asks,  # a comment that reads as a question to the akim (issue 11)
        "reason": item.reason or item.held,  # why it is hidden, held or rejected
        "note": item.note,
        "contact": contact,
    }
