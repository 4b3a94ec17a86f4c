"""What a running app holds: settings, the store, the use cases, the hub, metrics, the clock and
the secret."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.fanout.hub import Hub
from server.metrics import Metrics
from server.settings import Settings
from server.store import Store
from server.store.staff import StaffStore
from server.usecases import UseCases
from server.usecases.intake import Intake

logger = logging.getLogger(__name__)

VIEWER_COOKIE = "halyq_viewer"
REFUSALS_LOGGED_EVERY = 10.0  # seconds: a flood of refusals is one log line, not thousands


@dataclass(frozen=True, slots=True)
class ViewerIdentity:
    """Whom a viewer socket speaks for: `key` (slow mode, votes and the record know the viewer
    by it), `address` (the pseudonym of its network address, for the per-address bucket) and
    when its cookie was `minted` (None for an address-keyed viewer or an older cookie)."""

    key: str
    address: str
    minted: float | None = None

    def is_young(self, now: float, warmup: float) -> bool:
        """Minted less than `warmup` seconds ago: no slow-mode burst yet (issue 8)."""
        return self.minted is not None and now - self.minted < warmup


@dataclass(slots=True, kw_only=True)
class Services:
    settings: Settings
    store: Store
    usecases: UseCases
    hub: Hub
    metrics: Metrics
    secret: bytes = field(repr=False)
    clock: Callable[[], float] = time.time  # sessions and login throttling; tests advance it
    intake: Intake = field(init=False, repr=False)  # every channel into one queue (issue 10)
    _refused_cookies: int = field(default=0, init=False, repr=False)
    _refusals_logged_at: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        settings = self.settings
        self.intake = Intake(
            cases=self.usecases,
            pseudonym=self.sender_pseudonym,
            per_minute=settings.sender_messages_per_minute,
            burst=settings.sender_burst,
            default_lang=settings.default_lang,
        )

    def sender_pseudonym(self, contact: str) -> str:
        """A channel sender as everything but the contact store knows them: a keyed hash of
        their number or handle, never the number (issue 10)."""
        return "s" + self.sign("sender", contact)[:24]

    @property
    def staff(self) -> StaffStore:
        return self.store.staff

    def sign(self, purpose: str, value: str) -> str:
        digest = hmac.new(self.secret, f"{purpose}:{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    async def new_viewer_cookie(self, address: str) -> str | None:
        """A fresh anonymous viewer id and the time it was minted, signed so that nobody can
        pick someone else's or make one look older. None once the client address has had
        `cookies_per_minute` new ones in a minute (a bucket shared by every process): its
        viewers are then known by their address, so minting cookies buys no slow mode."""
        per_minute = self.settings.cookies_per_minute
        name = "cookie:" + self.address_pseudonym(address)
        if await self.store.record.spend(name, 60_000 // per_minute, per_minute):
            self._refuse_cookie()
            return None
        body = f"{secrets.token_urlsafe(16)}.{int(self.clock())}"
        return f"{body}.{self.sign('cookie', body)}"

    def identify(self, cookie: str | None, address: str) -> ViewerIdentity:
        """The viewer behind a socket: its signed cookie when it has a valid one, else its
        network address; in both cases known only by pseudonyms, never by the address itself,
        which is personal data."""
        network = self.address_pseudonym(address)
        viewer, minted = self._verified(cookie or "")
        if viewer is None:
            return ViewerIdentity("a" + self.sign("address", address)[:24], network)
        return ViewerIdentity("v" + self.sign("viewer", viewer)[:24], network, minted)

    def address_pseudonym(self, address: str) -> str:
        """A client address as the per-address limits know it."""
        return "n" + self.sign("network", address)[:24]

    def _verified(self, cookie: str) -> tuple[str | None, float | None]:
        """The cookie's viewer id and mint time; cookies from before mint times (two parts)
        stay valid and count as old."""
        parts = cookie.split(".")
        if len(parts) == 2:
            viewer, signature = parts
            minted = None
        elif len(parts) == 3 and parts[1].isdigit():
            viewer, signature = parts[0], parts[2]
            minted = float(parts[1])
        else:
            return None, None
        signed = viewer if minted is None else f"{viewer}.{parts[1]}"
        if not hmac.compare_digest(signature, self.sign("cookie", signed)):
            return None, None
        return viewer, minted

    def _refuse_cookie(self) -> None:
        self.metrics.refusals.labels(kind="cookie").inc()
        self._refused_cookies += 1
        now = time.monotonic()
        if now - self._refusals_logged_at >= REFUSALS_LOGGED_EVERY:
            logger.warning(
                "rate-limited: %d new viewer cookies refused to addresses past"
                " HALYQ_COOKIES_PER_MINUTE=%d (their viewers are keyed by address)",
                self._refused_cookies,
                self.settings.cookies_per_minute,
            )
            self._refused_cookies = 0
            self._refusals_logged_at = now
