"""What a running app holds: settings, the stores, the hub, metrics, the clock and the secret."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from moderation.transparency import Tally
from server.hub import Hub
from server.metrics import Metrics
from server.settings import Settings
from server.staffstore import StaffStore
from server.store import Store

VIEWER_COOKIE = "halyq_viewer"


@dataclass(slots=True, kw_only=True)
class Services:
    settings: Settings
    store: Store
    staff: StaffStore
    hub: Hub
    metrics: Metrics
    secret: bytes = field(repr=False)
    clock: Callable[[], float] = time.time  # sessions and login throttling; tests advance it
    # Transparency counts folded so far, per meeting (see server/console.py).
    reports: dict[str, tuple[asyncio.Lock, Tally]] = field(default_factory=dict)

    def sign(self, purpose: str, value: str) -> str:
        digest = hmac.new(self.secret, f"{purpose}:{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def new_viewer_cookie(self) -> str:
        """A fresh anonymous viewer id, signed so that nobody can pick someone else's."""
        viewer = secrets.token_urlsafe(16)
        return f"{viewer}.{self.sign('cookie', viewer)}"

    def viewer_key(self, cookie: str | None, address: str) -> str:
        """The pseudonym slow mode and the record use for a viewer.

        From the signed cookie when there is one, else from the network address: never the
        address itself, which is personal data.
        """
        if cookie:
            viewer, _, signature = cookie.partition(".")
            if hmac.compare_digest(signature, self.sign("cookie", viewer)):
                return "v" + self.sign("viewer", viewer)[:24]
        return "a" + self.sign("address", address)[:24]
