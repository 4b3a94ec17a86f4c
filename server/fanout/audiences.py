"""The registry of audiences: every audience the hub serves is registered here, and only here.

An audience is a pure projection in the domain (`moderation.audiences`) and a registration:
the hub keeps connections per audience and sends each event once per audience, framed once.
Adding one (producers, overlays, vMix feeds) means one domain function and one line below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from moderation import audiences
from moderation.board import Update

Projection = Callable[[Update], Mapping[str, object] | None]


@dataclass(frozen=True, slots=True, eq=False)
class Audience:
    """Who receives what: `project` turns each update into what this audience sees.

    `board` says the projection reads the items an event changed: while such an audience has
    connections, the meeting's feed folds the board.
    """

    name: str
    project: Projection
    board: bool = False


VIEWER = Audience("viewer", audiences.viewer)
STAFF_WITH_CONTACTS = Audience("staff_with_contacts", audiences.staff_with_contacts, board=True)
STAFF = Audience("staff", audiences.staff_without_contacts, board=True)
REPORT = Audience("report", audiences.public_report, board=True)
# The studio's overlays (issue 9): on air, the rundown and the clock, contacts masked.
OVERLAY = Audience("overlay", audiences.overlay, board=True)

AUDIENCES = (VIEWER, STAFF_WITH_CONTACTS, STAFF, REPORT, OVERLAY)
