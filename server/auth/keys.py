"""Per-meeting access keys (issue 9), and who may drive a meeting's studio API.

Each meeting has three keys, random (`secrets.token_urlsafe`), made on first use and rotatable:

- `producer`: `Authorization: Bearer <key>` on the studio's HTTP API (phase changes; the
  rundown's take, clear and next), so that a Stream Deck through Bitfocus Companion can drive
  it; the admin token and a signed-in producer or admin may do the same (`producer_of`).
- `overlay`: `?key=<key>` on the overlays and data feeds (`/overlay/{id}/...`,
  `/feeds/{id}/vmix.json|xml`), which need no login (a browser source, vMix polling).
- `stream` (issue 16): the studio's RTMP stream key, `<meeting id>-<random>`, so that the
  ingest finds the meeting from the key alone (`stream_key_meeting`).

A rotation revokes the old key at once, in every process: keys are read from Redis on every
check, never kept. Checks compare in constant time and never create a key. The caller makes
sure the meeting exists before it makes or rotates one (`current_key`, `rotate_key`).
"""

from __future__ import annotations

import enum
import hmac
import secrets

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request

from server.auth.accounts import Permission
from server.auth.sessions import check_csrf, current_staff, refuse_cross_site, services_of
from server.store import Store

KEY_BYTES = 24  # 32 URL-safe characters
STREAM_KEY_BYTES = 18  # 24 URL-safe characters after the meeting's id and a dash
STREAM_KEY_TAIL = 1 + 4 * STREAM_KEY_BYTES // 3  # "-" and the random part
BY_ADMIN_TOKEN = "admin token"  # `by` of what the admin token did (no staff name has a space)
BY_PRODUCER_KEY = "producer key"


class KeyKind(enum.StrEnum):
    PRODUCER = "producer"
    OVERLAY = "overlay"
    STREAM = "stream"  # the studio's RTMP stream key (issue 16)


async def current_key(store: Store, meeting_id: str, kind: KeyKind) -> str:
    """The meeting's key of `kind`, made now if it has none yet."""
    return await store.tokens.ensure(meeting_id, kind.value, _new_key(meeting_id, kind))


async def rotate_key(store: Store, meeting_id: str, kind: KeyKind) -> str:
    """A new key of `kind` for the meeting; the old one opens nothing from now on."""
    new = _new_key(meeting_id, kind)
    await store.tokens.replace(meeting_id, kind.value, new)
    return new


def _new_key(meeting_id: str, kind: KeyKind) -> str:
    if kind is KeyKind.STREAM:
        return f"{meeting_id}-{secrets.token_urlsafe(STREAM_KEY_BYTES)}"
    return secrets.token_urlsafe(KEY_BYTES)


async def stream_key_meeting(store: Store, key: str) -> str | None:
    """The meeting whose stream key `key` is now (compared whole, in constant time), else None:
    a wrong, rotated or made-up key, or one of a meeting that has none (issue 16)."""
    meeting_id = key[:-STREAM_KEY_TAIL]
    if len(key) <= STREAM_KEY_TAIL or key[-STREAM_KEY_TAIL] != "-":
        return None
    return meeting_id if await key_matches(store, meeting_id, KeyKind.STREAM, key) else None


async def key_matches(store: Store, meeting_id: str, kind: KeyKind, given: str) -> bool:
    """Whether `given` is the meeting's key of `kind` now (False when it has none)."""
    current = await store.tokens.get(meeting_id, kind.value)
    if current is None or not given:
        return False
    return hmac.compare_digest(given.encode(), current.encode())


async def producer_key_matches(store: Store, meeting_id: str, key: str) -> bool:
    """Whether `key` is the meeting's producer key now."""
    return await key_matches(store, meeting_id, KeyKind.PRODUCER, key)


async def overlay_key_matches(store: Store, meeting_id: str, key: str) -> bool:
    """Whether `key` is the meeting's overlay key now: overlays and feeds answer 404
    otherwise (a missing, wrong or rotated key)."""
    return await key_matches(store, meeting_id, KeyKind.OVERLAY, key)


def studio_urls(base_url: str, meeting_id: str, overlay_key: str) -> dict[str, str]:
    """The overlays' and feeds' URLs of a meeting, with its overlay key (issue 9)."""
    base, query = base_url.rstrip("/"), f"?key={overlay_key}"
    return {
        "lower_third": f"{base}/overlay/{meeting_id}/lower-third{query}",
        "clock": f"{base}/overlay/{meeting_id}/clock{query}",
        "ticker": f"{base}/overlay/{meeting_id}/ticker{query}",
        "vmix_json": f"{base}/feeds/{meeting_id}/vmix.json{query}",
        "vmix_xml": f"{base}/feeds/{meeting_id}/vmix.xml{query}",
    }


async def producer_of(request: Request, meeting_id: str, *permissions: Permission) -> str:
    """Who drives the meeting's studio API in this request, as the events' `by`: the admin
    token, the meeting's producer key (`Authorization: Bearer ...`), or a signed-in staff
    member allowed `produce` (producer, admin; or one of `permissions` when given: the
    broadcast's status is the moderators' too) whose unsafe request carries the CSRF token.

    Raises 401 without credentials, 403 with wrong ones (policy `PRODUCER_KEY` in
    `server/auth/access.py`).
    """
    header = request.headers.get("authorization")
    if header is not None:
        return await _bearer(request, meeting_id, header)
    staff = await current_staff(request)
    if staff is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Authorization: Bearer <admin token or the meeting's producer key> is required",
        )
    refuse_cross_site(request)
    allowed = permissions or (Permission.PRODUCE,)
    if not any(staff.may(p) for p in allowed):
        names = " or ".join(p.value for p in allowed)
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {staff.role} role may not {names}")
    await check_csrf(request, staff)
    return staff.name


async def _bearer(request: Request, meeting_id: str, header: str) -> str:
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required")
    services = services_of(request)
    admin = services.settings.admin_token
    if admin and hmac.compare_digest(given.encode(), admin.encode()):
        return BY_ADMIN_TOKEN
    if await producer_key_matches(services.store, meeting_id, given):
        return BY_PRODUCER_KEY
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        "the bearer token is neither the admin token nor this meeting's producer key",
    )


async def admin_or_staff(request: Request, *permissions: Permission) -> str:
    """Who makes this change (an event's `by`): the admin token (`Authorization: Bearer`), or a
    signed-in staff member allowed one of `permissions` whose request carries the session's
    CSRF token (the pool's, the offices' and the promises' routes). 401 without credentials,
    403 with wrong ones."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, given = header.partition(" ")
        given, token = given.strip(), services_of(request).settings.admin_token
        if scheme.lower() != "bearer" or not given:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "an admin bearer token is required")
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "the bearer token is not the admin token"
            )
        return BY_ADMIN_TOKEN
    staff = await current_staff(request)
    if staff is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Authorization: Bearer <admin token>, or a staff session, is required",
        )
    refuse_cross_site(request)
    if not any(staff.may(p) for p in permissions):
        names = " or ".join(p.value for p in permissions)
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {staff.role} role may not {names}")
    await check_csrf(request, staff)
    return staff.name
