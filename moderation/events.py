"""The facts appended to a meeting's stream: the record every projection is built from."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from moderation.model import Channel, HoldReason, MeetingFields, ModerationReason


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingCreated(MeetingFields):
    """A meeting was announced; the first event of its stream (R5)."""

    kind: ClassVar[str] = "meeting.created"
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingStarted:
    """The broadcast began: from now on commenting is open (R3)."""

    kind: ClassVar[str] = "meeting.started"
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingEnded:
    """The broadcast ended: no more comments; results follow (R6)."""

    kind: ClassVar[str] = "meeting.ended"
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingReceptionsSet:
    """The meeting's personal receptions end on `until` (an ISO date): R6's results are due
    10 calendar days after the meeting and its receptions (`moderation.deadlines`)."""

    kind: ClassVar[str] = "meeting.receptions_set"
    at: int
    until: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingRescheduled:
    """A scheduled meeting moved to `starts_at` (ISO 8601 with its offset): its calendar entry
    was corrected (R1, issue 13); its announcement (`created_at`) stays what it was (R5)."""

    kind: ClassVar[str] = "meeting.rescheduled"
    at: int
    starts_at: str


class Phase(enum.StrEnum):
    """Where a meeting's time goes (R4): the akim's presentation, residents' questions and the
    answers, a break; `not_started` before the first phase is set, `ended` for good."""

    NOT_STARTED = "not_started"
    PRESENTATION = "presentation"
    QA = "qa"
    BREAK = "break"
    ENDED = "ended"


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseChanged:
    """Staff (`by`) moved the meeting into `phase` at `at` (R4: the presentation is timed).

    It carries the clock as of `at`, after the phase it left was closed: the presentation's
    time over all its segments, the Q&A time and the budget (a quarter of the planned time),
    so that every screen can show the countdown from this event alone (`moderation.clock`).
    """

    kind: ClassVar[str] = "meeting.phase_changed"
    at: int
    by: str
    phase: Phase
    presentation_ms: int
    qa_ms: int
    budget_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockWarned:
    """The presentation used `percent` (80, then 100) of its budget: once per meeting (R4)."""

    kind: ClassVar[str] = "clock.warned"
    at: int
    percent: int
    used_ms: int
    budget_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockOverrun:
    """A presentation segment ended past the budget (by a phase change, or by the end of the
    meeting): `overrun_ms` is how far over the budget the presentation is in all (R4)."""

    kind: ClassVar[str] = "clock.overrun"
    at: int
    overrun_ms: int


# The broadcast's states as the record knows them (issue 16); "waiting" is the state before the
# first `broadcast.changed`, never recorded.
BROADCAST_STATES = ("live", "reconnecting", "ended")


@dataclass(frozen=True, slots=True, kw_only=True)
class BroadcastChanged:
    """The studio's broadcast to our ingest changed state (issue 16; R3: the meeting is
    broadcast): `live` when a part's media began to flow (`at`: its first media, the recording
    part's `started_at`), `reconnecting` when the studio went away and the grace period runs,
    `ended` when the grace period expired or the meeting ended. `part` numbers the continuous
    parts of the recording from 1."""

    kind: ClassVar[str] = "broadcast.changed"
    at: int
    state: str
    part: int


@dataclass(frozen=True, slots=True, kw_only=True)
class _CommentFields:
    """What every comment event records: when, from where, by whom (a pseudonym), what."""

    at: int
    channel: Channel
    client_msg_id: str
    viewer: str
    name: str
    text: str
    # Issue 11: when the channel says it was sent (ms; 0: `at`), and a YouTube super chat's
    # amount and ISO currency ("" for none).
    received_at: int = 0
    amount: str = ""
    currency: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentPosted(_CommentFields):
    """A viewer's comment passed the first filter and is public (R3)."""

    kind: ClassVar[str] = "comment.posted"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentHeld(_CommentFields):
    """The first filter held a comment back with a public reason; its text stays in the record."""

    kind: ClassVar[str] = "comment.held"
    reason: HoldReason


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionAsked(_CommentFields):
    """A viewer asked the akim a question; moderators see it first (R4).

    `held` is the first filter's reason, if any: a question is never public before approval,
    so the filter only warns the moderators. The suggestions are computed when it arrives.
    """

    kind: ClassVar[str] = "question.asked"
    district: str = ""
    held: str = ""
    suggested_topic: str = ""
    suggested_district: str = ""
    similar: tuple[str, ...] = ()
    # Issue 10: the language it was written in ("kk", "ru"; "" unknown), answers to its sender
    # go in it; what the channel carried that is not stored ("voice", "2 attachments").
    language: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Change:
    """What every moderation event records: when, by whom, which item, its version after."""

    at: int
    by: str
    item: str
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionPromoted(_Change):
    """A moderator made a comment (`item`) a question; the question's id is this event's id."""

    kind: ClassVar[str] = "question.promoted"
    channel: Channel
    viewer: str
    name: str
    text: str
    suggested_topic: str = ""
    suggested_district: str = ""
    similar: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionEdited(_Change):
    """Its sender edited a question while it was still new (a Telegram edit, issue 10): the
    moderators see the new text; `by` is the sender's pseudonym."""

    kind: ClassVar[str] = "question.edited"
    text: str
    language: str = ""
    held: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentHidden(_Change):
    """A moderator hid a comment, or kept a held one hidden, with a public reason."""

    kind: ClassVar[str] = "comment.hidden"
    reason: ModerationReason


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentReleased(_Change):
    """A moderator released a held or hidden comment: it is public now, as it was written."""

    kind: ClassVar[str] = "comment.released"
    posted_at: int
    channel: Channel
    name: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionApproved(_Change):
    """A question goes on the public list, as it was asked."""

    kind: ClassVar[str] = "question.approved"
    asked_at: int
    channel: Channel
    name: str
    text: str
    topic: str = ""
    district: str = ""
    votes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionRejected(_Change):
    kind: ClassVar[str] = "question.rejected"
    reason: ModerationReason


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionMerged(_Change):
    """A question joins an earlier one (`into`): its askers and votes now count there.

    `votes` is the number of distinct voters of `into` after the merge, each counted once.
    """

    kind: ClassVar[str] = "question.merged"
    into: str
    into_version: int
    votes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionQueued(_Change):
    kind: ClassVar[str] = "question.queued"


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionOnAir(_Change):
    """The question is on air from `at` (taken by the producer, or by a moderator)."""

    kind: ClassVar[str] = "question.on_air"


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionOffAir(_Change):
    """The question left the air at `at` without an answer (cleared, or replaced by a take):
    it is queued again, at the top of the rundown (`moderation.rundown`)."""

    kind: ClassVar[str] = "question.off_air"


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionAnswered(_Change):
    kind: ClassVar[str] = "question.answered"


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionDeferred(_Change):
    kind: ClassVar[str] = "question.deferred"


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionTagged(_Change):
    """A moderator confirmed or changed a question's topic and district."""

    kind: ClassVar[str] = "question.tagged"
    topic: str
    district: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RundownMoved:
    """The producer (`by`) moved `question` to `position` (0 is the top) of the rundown;
    `order` is the whole rundown after the move, top first (`moderation.rundown`)."""

    kind: ClassVar[str] = "rundown.moved"
    at: int
    by: str
    question: str
    position: int
    order: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionVoted:
    """A viewer up-voted a public question; `votes` is its count of distinct voters after."""

    kind: ClassVar[str] = "question.voted"
    at: int
    question: str
    viewer: str
    votes: int


Change = (
    QuestionPromoted
    | CommentHidden
    | CommentReleased
    | QuestionApproved
    | QuestionRejected
    | QuestionMerged
    | QuestionQueued
    | QuestionOnAir
    | QuestionOffAir
    | QuestionAnswered
    | QuestionDeferred
    | QuestionTagged
    | QuestionEdited
)
Event = (
    MeetingCreated
    | MeetingStarted
    | MeetingEnded
    | MeetingReceptionsSet
    | MeetingRescheduled
    | PhaseChanged
    | ClockWarned
    | ClockOverrun
    | BroadcastChanged
    | CommentPosted
    | CommentHeld
    | QuestionAsked
    | QuestionVoted
    | RundownMoved
    | Change
)
Comment = CommentPosted | CommentHeld

KINDS: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        MeetingCreated,
        MeetingStarted,
        MeetingEnded,
        MeetingReceptionsSet,
        MeetingRescheduled,
        PhaseChanged,
        ClockWarned,
        ClockOverrun,
        BroadcastChanged,
        CommentPosted,
        CommentHeld,
        QuestionAsked,
        QuestionVoted,
        QuestionPromoted,
        CommentHidden,
        CommentReleased,
        QuestionApproved,
        QuestionRejected,
        QuestionMerged,
        QuestionQueued,
        QuestionOnAir,
        QuestionOffAir,
        QuestionAnswered,
        QuestionDeferred,
        QuestionTagged,
        QuestionEdited,
        RundownMoved,
    )
}
