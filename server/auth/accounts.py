"""Staff accounts: roles and what they may do, password hashing, session and throttling policy.

No I/O: `server/store/staff.py` keeps the records, `server/auth/sessions.py` checks them on
every staff request and `server/web/login.py` signs staff in and out.
"""

from __future__ import annotations

import enum
import functools
import re
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

IDLE_TIMEOUT = 30 * 60.0  # seconds without a request before a session ends (ASVS 3.3.2 L2)
ABSOLUTE_TIMEOUT = 12 * 3600.0  # seconds after login a session ends whatever it does
# Failed sign-ins (AUTH-6, issue 8). They are counted per account and address pair, so wrong
# passwords sent from one place never keep the account's owner out from another.
FREE_TRIES = 3  # failures an address may make on one account before it waits
FIRST_DELAY = 10.0  # seconds of the first wait, doubled at each further failure: tries at 0,
MAX_DELAY = 300.0  # 0, 0, 10, 30, 70... s, at most 5 in any minute per pair (AUTH-6); the cap
PAIR_MEMORY = 15 * 60.0  # a pair's failures are forgotten this long after its wait ends
ADDRESS_WINDOW = 60.0  # seconds over which an address's failures are counted
ADDRESS_FAILURES = 20  # failures per address per window, on any accounts, before 429
ACCOUNT_WINDOW = 600.0  # seconds over which an account's failures are counted
ACCOUNT_FAILURES = 30  # failures per account per window, from anywhere, that end the free tries
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes anything, but nobody types more; bounds the work per try
NAME = re.compile(r"[a-z0-9._-]{1,40}")

# argon2-cffi's defaults (argon2id). Tests may swap in a cheaper hasher; production never does.
HASHER = PasswordHasher()


class Role(enum.StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    OPERATOR = "operator"  # the phone desk
    PRODUCER = "producer"  # on air
    COMMISSION = "commission"  # requests before the meeting, meetings on demand (R5, R2)


class Permission(enum.StrEnum):
    VIEW_CONSOLE = "view_console"
    MODERATE = "moderate"
    SEE_CONTACTS = "see_contacts"
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"
    OPERATE_PHONE = "operate_phone"
    PRODUCE = "produce"
    MANAGE_OFFICES = "manage_offices"  # offices and their holders (issue 12): the admin's
    # Issue 13: group, tag and turn residents' requests into issues or agenda questions (R5),
    # and record the akimat's answers to meetings asked for on demand (R2).
    COLLECT_REQUESTS = "collect_requests"
    ANSWER_DEMANDS = "answer_demands"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MODERATOR: frozenset(
        {Permission.VIEW_CONSOLE, Permission.MODERATE, Permission.VIEW_AUDIT}
    ),
    Role.OPERATOR: frozenset(
        {Permission.OPERATE_PHONE, Permission.SEE_CONTACTS, Permission.VIEW_CONSOLE}
    ),
    Role.PRODUCER: frozenset({Permission.PRODUCE, Permission.VIEW_CONSOLE}),
    # The commission reads the console (its landing page lists the meetings) but moderates only
    # requests, on their own page (issue 13).
    Role.COMMISSION: frozenset(
        {Permission.VIEW_CONSOLE, Permission.COLLECT_REQUESTS, Permission.ANSWER_DEMANDS}
    ),
}


class AuditKind(enum.StrEnum):
    """What the staff audit log records; never a password or a session id."""

    LOGIN = "staff.login"
    LOGIN_FAILED = "staff.login_failed"
    LOCKOUT = "staff.lockout"
    LOGOUT = "staff.logout"
    USER_ADDED = "staff.user_added"
    ROLE_CHANGED = "staff.role_changed"
    USER_REMOVED = "staff.user_removed"


class AccountError(ValueError):
    """A name, password or role that cannot be used; the message says why."""


def may(role: Role | str, permission: Permission) -> bool:
    """Whether `role` grants `permission`; an unknown role grants nothing."""
    try:
        return permission in GRANTS[Role(role)]
    except ValueError:
        return False


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise AccountError(f"user name {name!r} must be 1-40 of a-z, 0-9, '.', '_', '-'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")
    return password


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise AccountError(f"role must be one of {', '.join(Role)}, not {value!r}") from None


def generate_password() -> str:
    """A random password for demo users and `halyq user add` without one (96 bits)."""
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; slow on purpose (argon2id), so call it off the event loop."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_unknown(password: str) -> bool:
    """The work of `verify_password` for a user that does not exist: always False (AUTH-6)."""
    verify_password(_dummy_hash(*_parameters()), password)
    return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than `HASHER`'s (rehash at login)."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def _parameters() -> tuple[int, int, int, int, int]:
    return (HASHER.time_cost, HASHER.memory_cost, HASHER.parallelism, HASHER.hash_len,
            HASHER.salt_len)  # fmt: skip


@functools.cache
def _dummy_hash(*parameters: int) -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def failure_delay(failures: int, *, attacked: bool = False) -> float:
    """Seconds an address waits after its `failures`-th failure in a row on one account.

    Free for the first `FREE_TRIES`, then `FIRST_DELAY` doubling up to `MAX_DELAY`. While the
    account is attacked from many places (`ACCOUNT_FAILURES` reached) the first failure already
    waits; an address with no failure on the account still gets its try (issue 8: nobody can
    lock staff out).
    """
    paid = failures - (1 if attacked else FREE_TRIES)
    return 0.0 if paid < 0 else min(FIRST_DELAY * 2**paid, MAX_DELAY)


class Throttle(enum.StrEnum):
    """What holds failed sign-ins back (AUTH-6)."""

    PAIR = "pair"  # one address on one account: growing waits
    ADDRESS = "address"  # one address on any accounts: ADDRESS_FAILURES a window


@dataclass(frozen=True, slots=True)
class Lockout:
    """A wait that a failed sign-in starts, as the audit log tells it (no address, no password).

    `source` is the address's pseudonym, shortened: lockouts from one place can be told apart
    from an attack spread over many.
    """

    throttle: Throttle
    seconds: int
    source: str

    @property
    def detail(self) -> str:
        return f"{self.throttle.value} {self.seconds}s from {self.source[:8]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    name: str
    role: Role
    password_hash: str = field(repr=False)
    created: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """A staff login, kept server-side; its id lives only in the cookie."""

    name: str
    role: Role  # at login; the user's current role may differ since
    created: float
    last_seen: float
    csrf: str = field(repr=False)

    def is_expired(self, now: float) -> bool:
        idle = now - self.last_seen >= IDLE_TIMEOUT
        return idle or now - self.created >= ABSOLUTE_TIMEOUT

    def expires_in(self, now: float) -> float:
        """Seconds until the session ends if nothing touches it."""
        return min(self.last_seen + IDLE_TIMEOUT, self.created + ABSOLUTE_TIMEOUT) - now


@dataclass(frozen=True, slots=True, kw_only=True)
class Staff:
    """A signed-in staff member, with the user's current role."""

    name: str
    role: Role
    session_id: str = field(repr=False)
    csrf: str = field(repr=False)

    def may(self, permission: Permission) -> bool:
        return may(self.role, permission)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One line of the staff audit trail; `subject` is the user acted on, if any."""

    id: str
    at: float
    kind: AuditKind
    actor: str
    subject: str = ""
    detail: str = ""
