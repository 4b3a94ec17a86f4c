"""What the use cases answer, as types: every submission ends accepted, rejected with a reason
the sender sees, or unconfirmed (send it again); every vote counted or refused, every staff
action applied or refused."""

from __future__ import annotations

from dataclasses import dataclass

from moderation.events import Change
from moderation.model import HoldReason, RejectReason


@dataclass(frozen=True, slots=True)
class Posted:
    """The comment is in the record and public."""

    id: str


@dataclass(frozen=True, slots=True)
class Held:
    """The comment is in the record, held back by the first filter for a public reason (R3)."""

    id: str
    reason: HoldReason


@dataclass(frozen=True, slots=True)
class Asked:
    """The question is in the record and waits for the moderators (R4)."""

    id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """Not in the record, and never will be (this submission), and why; `retry_after_ms` when
    slow mode or overload asks the sender to wait before trying again."""

    reason: RejectReason
    detail: str = ""
    retry_after_ms: int = 0


@dataclass(frozen=True, slots=True)
class Repeated:
    """The same submission (its `client_msg_id`) was recorded before, as `first`."""

    first: Posted | Held | Asked

    @property
    def id(self) -> str:
        return self.first.id


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """The record did not answer in time: the submission may or may not be in it. Sent again
    with the same `client_msg_id` (after `retry_after_ms`), it is settled: acknowledged with
    the id it got, or appended once. Never a rejection, which would be a promise."""

    detail: str
    retry_after_ms: int = 1000


Outcome = Posted | Held | Asked | Rejected | Repeated | Unconfirmed


@dataclass(frozen=True, slots=True)
class Voted:
    """The question's count of distinct voters now; `repeated` when this viewer had voted."""

    question: str
    votes: int
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class NotVoted:
    """A vote that counts for nothing: `not_votable` (no public question with that id) or
    `meeting_closed`, or `unavailable` (try again)."""

    code: str


@dataclass(frozen=True, slots=True)
class Acted:
    """A staff action is in the record as `id`."""

    id: str
    event: Change
