"""The Redis store: the only package that talks to Redis (see `server/store/store.py`)."""

from server.store.board import Snapshot
from server.store.client import StoreUnavailable
from server.store.record import (
    Durability,
    DurabilityReport,
    Entry,
    Recorded,
    Refused,
    Write,
    Written,
)
from server.store.store import Store

__all__ = [
    "Durability",
    "DurabilityReport",
    "Entry",
    "Recorded",
    "Refused",
    "Snapshot",
    "Store",
    "StoreUnavailable",
    "Write",
    "Written",
]
