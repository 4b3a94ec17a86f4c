"""The store: Redis behind small adapters, one per concern, sharing one client and prefix."""

from __future__ import annotations

import secrets

from server.store.board import BoardStore
from server.store.broadcasts import BroadcastStore
from server.store.calendar import CalendarStore
from server.store.client import connect, disconnect, translated
from server.store.clocks import ClockStore
from server.store.demands import DemandStore
from server.store.epochs import Epochs
from server.store.feeds import FeedStore
from server.store.intake import IntakeStore
from server.store.jobs import JobStore
from server.store.keys import Keys
from server.store.meetings import Meetings
from server.store.offices import OfficeStore
from server.store.outbox import OutboxStore
from server.store.pool import PoolStore
from server.store.record import DurabilityReport, Record
from server.store.staff import StaffStore
from server.store.territories import TerritoryStore
from server.store.tokens import TokenStore
from server.store.votes import VoteStore

MAX_CONNECTIONS = 64
# One blocking XREAD per live meeting in this process (and the postman's): a calendar day of
# dozens of meetings at once must not wait for a reader (issue 15). Connections are made only
# as meetings go live, and cost Redis about 20 KB each (docs/scaling.md).
MAX_READERS = 512


class Store:
    """Meetings and their records under one key prefix: `record`, `meetings`, `board`, `votes`,
    `staff`, `epochs`, `clocks`, `tokens`, `intake`, `outbox` and `jobs` are the adapters; nothing
    outside `server/store/` sees a Redis client."""

    def __init__(self, url: str, prefix: str = "halyq:", *, replicas: int = 0) -> None:
        """`url` is a Redis URL or a Sentinel's or cluster's (see `connect`); `replicas` is
        how many replicas must confirm an append before it is acknowledged (issue 15)."""
        self.prefix = prefix
        self._redis = connect(url, MAX_CONNECTIONS)
        self._readers = connect(url, MAX_READERS)
        keys = Keys(prefix)
        self._keys = keys
        self.record = Record(self._redis, self._readers, keys, replicas=replicas)
        self.meetings = Meetings(self._redis, keys)
        self.board = BoardStore(self._redis, keys, self.record)
        self.votes = VoteStore(self._redis, keys)
        self.staff = StaffStore(self._redis, keys, self.record)
        self.epochs = Epochs(self._redis, keys)
        self.clocks = ClockStore(self._redis, keys)
        self.tokens = TokenStore(self._redis, keys)
        self.intake = IntakeStore(self._redis, keys, self.record)  # issue 10
        # The postman reads its outboxes on the readers' pool: background work never takes a
        # connection a submission waits for (a submission not sent in time is `unavailable`).
        self.outbox = OutboxStore(self._readers, keys, self.record)
        self.jobs = JobStore(self._redis, keys, self.record)  # issue 11: the archive's jobs
        self.feeds = FeedStore(self._redis, keys)  # issue 11: YouTube's chat
        self.offices = OfficeStore(self._redis, keys, self.record)  # issue 12
        self.pool = PoolStore(self._redis, keys, self.record)  # issue 12: the issue pool
        self.demands = DemandStore(self._redis, keys, self.record)  # issue 13: R2
        self.territories = TerritoryStore(self._redis, keys, self.record)  # issue 13
        self.calendar = CalendarStore(self._redis, keys, self.record)  # issue 13: R1
        self.broadcasts = BroadcastStore(self._redis, keys)  # issue 16: outputs, status

    @property
    def durability(self) -> DurabilityReport:
        return self.record.durability

    async def check_durability(self) -> DurabilityReport:
        return await self.record.check_durability()

    @translated
    async def ping(self) -> None:
        await self._redis.ping()
        self.record.liveness.heard()

    def answered_within(self, seconds: float) -> bool:
        """Whether Redis answered anything this process asked in the last `seconds`."""
        return self.record.liveness.heard_within(seconds)

    @translated
    async def shared_secret(self, proposed: str = "") -> str:
        """The secret every process on this Redis signs with (set once, first writer wins)."""
        key = self._keys.secret()
        await self._redis.set(key, proposed or secrets.token_hex(32), nx=True)
        return str(await self._redis.get(key))

    async def close(self) -> None:
        for client in (self._redis, self._readers):
            await disconnect(client)
