"""What a running app holds: settings, the store, the use cases, the hub, metrics, the clock and
the secret."""

from __future__ import annotations

import hashlib
import hmac
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

VIEWER_COOKIE = "halyq_viewer"


@dataclass(slots=True, kw_only=True)
class Services:
    settings: Settings
    store: Store
    usecases: UseCases
    hub: Hub
    metrics: Metrics
    secret: bytes = field(repr=False)
    clock: Callable[[], float] = time.time  # sessions and login throttling; tests advance it

    @property
    def staff(self) -> StaffStore:
        return self.store.staff

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
