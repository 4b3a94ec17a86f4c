"""`submit`: any channel's comment or question, from decision to a durable append.

Every channel (the viewer socket today; the phone desk, WhatsApp, Telegram, e-mail and YouTube
chat next) is a thin adapter: it verifies and parses, then calls `submit`, and answers its
sender from the outcome. Nothing else appends a comment or a question.
"""

from __future__ import annotations

import math

from moderation import (
    AskQuestion,
    CommentHeld,
    CommentPosted,
    CommentRejected,
    Meeting,
    RejectReason,
    Submission,
)
from moderation.board import question_item
from moderation.duplicates import QuestionIndex
from moderation.events import QuestionAsked
from moderation.model import HoldReason
from moderation.submissions import decide
from server.store import Recorded, Refused, StoreUnavailable, Write
from server.store.record import Check
from server.usecases.context import UseCases
from server.usecases.outcomes import Asked, Held, Outcome, Posted, Rejected, Repeated

NOTHING_EARLIER = QuestionIndex()  # comments suggest nothing: they need no index


async def submit(cases: UseCases, meeting: Meeting, submission: Submission) -> Outcome:
    """Decide on a comment or question and append it; the store's guards have the last word.

    `meeting` is the caller's copy: one that does not look live is read again (a feed may lag
    a start by a moment). Store failures end as `Rejected(unavailable)`: nothing was recorded.
    """
    try:
        outcome = await _submit(cases, meeting, submission)
    except StoreUnavailable:
        outcome = Rejected(RejectReason.UNAVAILABLE, "the record cannot be reached; try again")
    cases.metrics.comments.labels(_label(outcome)).inc()
    return outcome


async def _submit(cases: UseCases, meeting: Meeting, submission: Submission) -> Outcome:
    store, what = cases.store, submission.what
    if not meeting.is_live:
        meeting = await store.meetings.get(meeting.id) or meeting
    asks = isinstance(what, AskQuestion)
    earlier = await cases.questions.of(meeting.id) if asks else NOTHING_EARLIER
    try:
        event = decide(meeting, submission, now=cases.clock(), earlier=earlier)
    except CommentRejected as rejection:
        closed = rejection.reason is RejectReason.MEETING_CLOSED
        # Accepted before the meeting closed, and sent again: the same answer (G2).
        if closed and (recorded := await store.record.seen(meeting.id, what.client_msg_id)):
            return Repeated(_first(recorded))
        return Rejected(rejection.reason, rejection.detail)
    if not cases.durable:
        return Rejected(RejectReason.UNAVAILABLE, "the record is not durable")
    return await _append(cases, meeting, submission, event)


async def _append(
    cases: UseCases,
    meeting: Meeting,
    submission: Submission,
    event: CommentPosted | CommentHeld | QuestionAsked,
) -> Outcome:
    """Append behind the guards: a retry, a closed meeting and slow mode are refused here."""
    store, client_msg_id = cases.store, submission.what.client_msg_id
    write = Write()
    store.record.first_time(write, meeting.id, client_msg_id)
    live = store.meetings.in_status(write, meeting)
    slow = meeting.slow_mode
    if slow.seconds > 0:
        interval = round(slow.seconds * 1000)
        store.record.pace(write, meeting.id, submission.sender, interval, slow.burst)
    at = store.record.append(write, meeting.id, event)
    reason = event.reason if isinstance(event, CommentHeld) else None
    store.record.remember(write, meeting.id, client_msg_id, at, reason or "")
    if reason is not None:
        store.board.count_held(write, meeting.id, reason)
    if isinstance(event, QuestionAsked):
        store.board.create(write, meeting.id, at, question_item("", event))
    result = await store.record.run(write)
    if not isinstance(result, Refused):
        (event_id,) = result.ids
        return _accepted(event_id, event.kind, reason)
    if result.guard.check is Check.UNSEEN:
        return Repeated(_first(Recorded.parse(result.value)))
    if result.guard.check is Check.PACE:
        return Rejected(RejectReason.RATE_LIMITED, "slow mode", int(result.value))
    assert result.guard is live
    return Rejected(RejectReason.MEETING_CLOSED, "the meeting is not live")


def _accepted(event_id: str, kind: str, reason: HoldReason | None) -> Posted | Held | Asked:
    if kind == QuestionAsked.kind:
        return Asked(event_id)
    if kind == CommentHeld.kind:
        assert reason is not None
        return Held(event_id, reason)
    assert kind == CommentPosted.kind, kind
    return Posted(event_id)


def _first(recorded: Recorded) -> Posted | Held | Asked:
    reason = HoldReason(recorded.reason) if recorded.reason else None
    return _accepted(recorded.id, recorded.kind, reason)


def retry_after_seconds(rejected: Rejected) -> int:
    """Slow mode's wait in whole seconds, at least one (what a sender is told)."""
    return max(1, math.ceil(rejected.retry_after_ms / 1000))


def _label(outcome: Outcome) -> str:
    """The outcome as the `halyq_comments_total` metric counts it."""
    first = outcome.first if isinstance(outcome, Repeated) else outcome
    if isinstance(first, Rejected):
        return first.reason.value
    return {Posted: "posted", Held: "held", Asked: "question"}[type(first)]
