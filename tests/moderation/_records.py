"""The records the domain tests build their cases from: meetings, items on a board, events."""

from __future__ import annotations

import dataclasses

from moderation import (
    AkimLevel,
    Channel,
    CommentHeld,
    CommentPosted,
    CreateMeeting,
    HoldReason,
    Meeting,
    MeetingStatus,
    apply,
    create_meeting,
)
from moderation.board import Board
from moderation.model import Item, ItemKind, ItemStatus

NOW = 1_763_614_800_000  # 2025-11-20 10:00 Asia/Almaty

# A live meeting of the akim of Almaty: the territory has districts (R1: each is visited).
MEETING = Meeting(
    id="almaly",
    title="Встреча акима города Алматы",
    akim="Аким",
    level=AkimLevel.CITY_REPUBLICAN,
    territory="Алматы",
    planned_minutes=120,
    status=MeetingStatus.LIVE,
)

COMMENT_STATUSES = (ItemStatus.SHOWN, ItemStatus.HELD, ItemStatus.HIDDEN)
QUESTION_STATUSES = tuple(s for s in ItemStatus if s not in COMMENT_STATUSES)
STATUSES = {ItemKind.COMMENT: COMMENT_STATUSES, ItemKind.QUESTION: QUESTION_STATUSES}


def announcement(**changes: object) -> CreateMeeting:
    """The announcement of a district akim's meeting in Medeu, with `changes`."""
    values: dict[str, object] = {
        "title": "Встреча акима Медеуского района",
        "akim": "Ерлан Сапаров",
        "level": AkimLevel.LOCAL,
        "territory": "Алматы, Медеу ауданы",
        "planned_minutes": 120,
    }
    return CreateMeeting(**(values | changes))  # type: ignore[arg-type]


def meeting(status: MeetingStatus) -> Meeting:
    """The announced Medeu meeting, in `status`."""
    created = apply(None, create_meeting(announcement(), now=NOW), meeting_id="medeu")
    assert created is not None
    return dataclasses.replace(created, status=status)


def item(item_id: str, kind: ItemKind, status: ItemStatus, version: int = 1) -> Item:
    """A comment or question of viewer v1 on the board, as if moderated to `status`."""
    return Item(
        id=item_id,
        kind=kind,
        status=status,
        version=version,
        at=NOW,
        channel=Channel.WEB,
        viewer="v1",
        name="Айгүл",
        text="Когда отремонтируют дорогу на улице Абая?",
        askers=("v1",) if kind is ItemKind.QUESTION else (),
    )


def board_with(*items: Item) -> Board:
    board = Board()
    board.items.update({i.id: i for i in items})
    return board


def posted(text: str = "Сәлем", *, viewer: str = "v9", at: int = NOW) -> CommentPosted:
    """A comment that passed the first filter."""
    return CommentPosted(
        at=at, channel=Channel.WEB, client_msg_id=f"m-{at}", viewer=viewer, name="Аян", text=text
    )


def held(
    text: str = "mail@example.kz", reason: HoldReason = HoldReason.EMAIL, *, at: int = NOW
) -> CommentHeld:
    """A comment the first filter held back, with its public reason (R3)."""
    return CommentHeld(
        at=at, channel=Channel.WEB, client_msg_id=f"n-{at}", viewer="v9", name="Аян", text=text,
        reason=reason,
    )  # fmt: skip
