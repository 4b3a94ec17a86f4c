"""Staff records in Redis: users, sessions, failed-login throttling and the audit log.

Its keys all start with `{prefix}{staff}:`: one hash tag, so that its scripts and transactions
(a user and the set of users, a session and its user's sessions, the three throttles of a
sign-in) touch one Redis Cluster slot (issue 15). Session ids are kept only as SHA-256 digests,
so a copy of the database does not hand out logins.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from typing import Any

from server.auth.accounts import (
    ACCOUNT_FAILURES,
    ACCOUNT_WINDOW,
    ADDRESS_FAILURES,
    ADDRESS_WINDOW,
    FREE_TRIES,
    MAX_DELAY,
    PAIR_MEMORY,
    AuditEntry,
    AuditKind,
    Lockout,
    Role,
    Session,
    Throttle,
    User,
    failure_delay,
)
from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Record

AUDIT_MAX = 100_000  # entries kept (approximately: MAXLEN ~)
AUDIT_READ_MAX = 1000

_ADD_USER = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'role', ARGV[1], 'hash', ARGV[2], 'created', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
return 1
"""
_SET_FIELD = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return false end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return old
"""
_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
# AUTH-6 (issue 8): one sign-in attempt. It counts as a failure up front, so concurrent guesses
# cannot slip past a limit; a sign-in that succeeds is taken back with `forgive`.
# KEYS: the pair (a hash: failures, until), the address's and the account's attempts (zsets).
# ARGV: now, attempt id, address window, address limit, account window, account limit, pair
# memory, how many free tries an attacked account skips, then the wait after each failure.
_ATTEMPT = """
local now, id = tonumber(ARGV[1]), ARGV[2]
local address_window, address_limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local account_window, account_limit = tonumber(ARGV[5]), tonumber(ARGV[6])
local memory, skipped = tonumber(ARGV[7]), tonumber(ARGV[8])
local pair = redis.call('HMGET', KEYS[1], 'failures', 'until')
local failures, ends = tonumber(pair[1]) or 0, tonumber(pair[2]) or 0
local wait, by = ends - now, 1
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - address_window)
local from_address = redis.call('ZCARD', KEYS[2])
if from_address >= address_limit then
  local k = from_address - address_limit
  local leaving = redis.call('ZRANGE', KEYS[2], k, k, 'WITHSCORES')
  local address_wait = tonumber(leaving[2]) + address_window - now
  if address_wait > wait then wait, by = address_wait, 2 end
end
if wait > 0 then return {0, tostring(wait), by} end
if now >= ends + memory then failures = 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - account_window)
local attacked = redis.call('ZCARD', KEYS[3]) >= account_limit
failures = failures + 1
local index = failures + (attacked and skipped or 0)
local delay = tonumber(ARGV[8 + math.min(index, #ARGV - 8)])
-- %.17g keeps the time exact (tostring rounds to 14 digits: a free try would wait)
redis.call('HSET', KEYS[1], 'failures', failures, 'until', string.format('%.17g', now + delay))
redis.call('PEXPIRE', KEYS[1], math.ceil((delay + memory) * 1000))
redis.call('ZADD', KEYS[2], now, id)
redis.call('PEXPIRE', KEYS[2], math.ceil(address_window * 1000))
redis.call('ZADD', KEYS[3], now, id)
redis.call('PEXPIRE', KEYS[3], math.ceil(account_window * 1000))
local address_wait = 0
if from_address + 1 == address_limit then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  address_wait = tonumber(oldest[2]) + address_window - now
end
return {1, tostring(delay), tostring(address_wait)}
"""


def _delays() -> list[float]:
    """`failure_delay` after the 1st, 2nd... failure up to its cap: the script's table."""
    table = [failure_delay(1)]
    while table[-1] < MAX_DELAY:
        table.append(failure_delay(len(table) + 1))
    return table


_DELAYS = _delays()


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in attempt's place in the throttles (AUTH-6)."""

    allowed: bool
    retry_after: int = 0  # whole seconds to wait, when refused
    throttle: Throttle | None = None  # what refused it
    lockouts: tuple[Lockout, ...] = ()  # the waits its failure starts, when allowed


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class StaffStore:
    """Async access to staff users, sessions, throttles and the audit log."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record
        self._add_user = redis.register_script(_ADD_USER)
        self._set_field = redis.register_script(_SET_FIELD)
        self._touch = redis.register_script(_TOUCH)
        self._attempt = redis.register_script(_ATTEMPT)

    # Users

    @translated
    async def add_user(self, user: User) -> bool:
        """Add `user`; False if the name is taken."""
        keys = [self._keys.user(user.name), self._keys.users()]
        args = [user.role.value, user.password_hash, repr(user.created), user.name]
        return bool(await self._add_user(keys=keys, args=args))

    @translated
    async def user(self, name: str) -> User | None:
        return _user_from(name, await self._redis.hgetall(self._keys.user(name)))

    @translated
    async def users(self) -> list[User]:
        names = sorted(str(name) for name in await self._redis.smembers(self._keys.users()))
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self._keys.user(name))
            rows = await pipe.execute()
        return [u for u in map(_user_from, names, rows) if u is not None]

    @translated
    async def set_role(self, name: str, role: Role) -> Role | None:
        """Change a user's role; returns the previous one, None if there is no such user."""
        old = await self._set_field(keys=[self._keys.user(name)], args=["role", role.value])
        return None if old is None else Role(old)

    @translated
    async def set_password_hash(self, name: str, password_hash: str) -> bool:
        old = await self._set_field(keys=[self._keys.user(name)], args=["hash", password_hash])
        return old is not None

    @translated
    async def remove_user(self, name: str) -> bool:
        """Remove a user and end all their sessions; False if there is no such user."""
        sessions = [str(s) for s in await self._redis.smembers(self._keys.user_sessions(name))]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.user(name))
            pipe.srem(self._keys.users(), name)
            pipe.delete(self._keys.user_sessions(name), *(self._keys.session(s) for s in sessions))
            removed, _, _ = await pipe.execute()
        return bool(removed)

    # Sessions

    @translated
    async def create_session(self, session_id: str, session: Session) -> None:
        key = self._keys.session(digest(session_id))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=_session_fields(session))
            pipe.pexpire(key, _ttl_ms(session, session.created))
            pipe.sadd(self._keys.user_sessions(session.name), digest(session_id))
            await pipe.execute()

    @translated
    async def session(self, session_id: str, now: float, *, touch: bool = True) -> Session | None:
        """The live session `session_id` (touched, unless `touch` is false); expired ones go."""
        key = self._keys.session(digest(session_id))
        found = _session_from(await self._redis.hgetall(key))
        if found is None or found.is_expired(now):
            if found is not None:
                await self._forget(session_id, found.name)
            return None
        if touch:
            found = dataclasses.replace(found, last_seen=now)
            await self._touch(keys=[key], args=[repr(now), _ttl_ms(found, now)])
        return found

    @translated
    async def delete_session(self, session_id: str) -> Session | None:
        """End a session; returns it if it was there."""
        key = self._keys.session(digest(session_id))
        found = _session_from(await self._redis.hgetall(key))
        if found is not None:
            await self._forget(session_id, found.name)
        return found

    async def _forget(self, session_id: str, name: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.session(digest(session_id)))
            pipe.srem(self._keys.user_sessions(name), digest(session_id))
            await pipe.execute()

    # Throttling of failed sign-ins (AUTH-6, issue 8)

    @translated
    async def attempt(self, account: str, address: str, attempt_id: str, now: float) -> Attempt:
        """Count a sign-in attempt of `account` from `address` (pseudonyms), or refuse it.

        Refused while the pair waits out its last failure, or while the address has
        `ADDRESS_FAILURES` in the window; the account's own count only shortens the free tries
        of addresses that already failed on it.
        """
        keys = [
            self._keys.failures("pair", f"{account}:{address}"),
            self._keys.failures("address", address),
            self._keys.failures("account", account),
        ]
        args: list[str | float] = [now, attempt_id, ADDRESS_WINDOW, ADDRESS_FAILURES,
                                   ACCOUNT_WINDOW, ACCOUNT_FAILURES, PAIR_MEMORY, FREE_TRIES - 1,
                                   *_DELAYS]  # fmt: skip
        allowed, wait, more = await self._attempt(keys=keys, args=args)
        if not allowed:  # `more`: 1 if the pair holds it back, 2 if the address does
            by = Throttle.PAIR if int(more) == 1 else Throttle.ADDRESS
            return Attempt(False, math.ceil(float(wait)), by)
        # `wait`: the pair's wait if this attempt fails; `more`: the address's, if it starts one
        waits = ((Throttle.PAIR, float(wait)), (Throttle.ADDRESS, float(more)))
        lockouts = tuple(Lockout(throttle, math.ceil(seconds), address)
                         for throttle, seconds in waits if seconds > 0)  # fmt: skip
        return Attempt(True, lockouts=lockouts)

    @translated
    async def forgive(self, account: str, address: str, attempt_id: str) -> None:
        """Take back an attempt that succeeded: its pair starts afresh."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.failures("pair", f"{account}:{address}"))
            pipe.zrem(self._keys.failures("address", address), attempt_id)
            pipe.zrem(self._keys.failures("account", account), attempt_id)
            await pipe.execute()

    # The audit log

    @translated
    async def audit(
        self, kind: AuditKind, actor: str, now: float, *, subject: str = "", detail: str = ""
    ) -> str:
        """Append an entry to the staff audit log; returns its id."""
        fields = {"at": repr(now), "kind": kind.value, "actor": actor, "subject": subject,
                  "detail": detail}  # fmt: skip
        return await self._record.log(self._keys.audit(), fields, maxlen=AUDIT_MAX)

    @translated
    async def audit_trail(self, count: int = 100) -> list[AuditEntry]:
        """The latest entries, newest first (at most `AUDIT_READ_MAX`)."""
        rows: Any = await self._redis.xrevrange(
            self._keys.audit(), count=min(count, AUDIT_READ_MAX)
        )
        return [
            AuditEntry(
                id=entry_id,
                at=float(f["at"]),
                kind=AuditKind(f["kind"]),
                actor=f["actor"],
                subject=f.get("subject", ""),
                detail=f.get("detail", ""),
            )
            for entry_id, f in rows
        ]


def _ttl_ms(session: Session, now: float) -> int:
    return max(1, math.ceil(session.expires_in(now) * 1000))


def _user_from(name: str, row: Any) -> User | None:
    if not row:
        return None
    return User(name=name, role=Role(row["role"]), password_hash=row["hash"],
                created=float(row["created"]))  # fmt: skip


def _session_fields(session: Session) -> dict[Any, Any]:
    return {"name": session.name, "role": session.role.value, "created": repr(session.created),
            "last_seen": repr(session.last_seen), "csrf": session.csrf}  # fmt: skip


def _session_from(row: Any) -> Session | None:
    if not row or not {"name", "role", "created", "last_seen", "csrf"} <= row.keys():
        return None
    return Session(
        name=row["name"],
        role=Role(row["role"]),
        created=float(row["created"]),
        last_seen=float(row["last_seen"]),
        csrf=row["csrf"],
    )
