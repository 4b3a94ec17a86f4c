"""`submit`: any channel's comment or question, from decision to a durable append.

Every channel (the viewer socket today; the phone desk, WhatsApp, Telegram, e-mail and YouTube
chat next) is a thin adapter: it verifies and parses, then calls `submit`, and answers its
sender from the outcome. Nothing else appends a comment or a question.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

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
from moderation.filters import mask_contacts
from moderation.model import BROADCAST_CHANNELS, HoldReason
from moderation.submissions import decide
from server.store import Recorded, Refused, StoreUnavailable, Write
from server.store.client import Attempt, Unanswered
from server.store.record import Appended, Check
from server.usecases.context import UseCases
from server.usecases.outcomes import (
    Asked,
    Held,
    Outcome,
    Posted,
    Rejected,
    Repeated,
    Unconfirmed,
)

NOTHING_EARLIER = QuestionIndex()  # comments suggest nothing: they need no index
# The answer goes out by this share of the ack timeout (the rest is for the way back, so that
# the sender has it within the timeout), and the record refuses a write it would run after
# `DEADLINE_SHARE` of that: by the time the sender is told "unknown, send again", the write can
# no longer land (the rest is the margin for the two clocks, see `RedisClock`).
ANSWER_SHARE = 0.9
DEADLINE_SHARE = 0.9
MIN_BUDGET = 0.1
OVERLOADED_RETRY_MS = 1000
BUSY = Rejected(RejectReason.OVERLOADED, "the server is busy", OVERLOADED_RETRY_MS)
UNKNOWN = "the record did not answer in time; send it again with the same client_msg_id"
Key = tuple[str, str]  # (meeting id, client_msg_id)


# What a channel adds to the write that records its submission (issue 10: the sender's contact,
# the "arrived" answer): it lands with the event, or not at all.
Extra = Callable[[Write, Appended, "CommentPosted | CommentHeld | QuestionAsked"], None]


async def submit(
    cases: UseCases,
    meeting: Meeting,
    submission: Submission,
    *,
    waited: float = 0.0,
    extra: Extra | None = None,
) -> Outcome:
    """Decide on a comment or question and append it; the store's guards have the last word.

    `meeting` is the caller's copy: one that does not look live is read again (a feed may lag
    a start by a moment). The answer comes within `cases.ack_timeout` seconds of the
    submission's arrival (`waited` is how long it waited for its turn), and a rejection
    is final: a submission that never reached the record is `Rejected(unavailable)`, one that
    reached it without an answer in time is `Unconfirmed` (its deadline guard makes sure it
    cannot land later), and while the process is past its capacity (`UseCases.is_overloaded`)
    it is `Rejected(overloaded)` at once.
    """
    key = (meeting.id, submission.what.client_msg_id)
    cases.lag.watch()
    if cases.is_overloaded:  # OVL-2: overload is explicit, and told at once
        outcome = _busy(cases, key)
    else:
        cases.in_flight += 1
        try:
            budget = max(MIN_BUDGET, cases.ack_timeout * ANSWER_SHARE - waited)
            outcome = await _in_time(cases, meeting, submission, key, budget, extra)
        finally:
            cases.in_flight -= 1
        if isinstance(outcome, Posted | Held | Asked | Repeated):
            cases.recorded.put(key, outcome.first if isinstance(outcome, Repeated) else outcome)
    cases.metrics.comments.labels(_label(outcome)).inc()
    return outcome


def busy(cases: UseCases, meeting_id: str, client_msg_id: str) -> Outcome:
    """`Rejected(overloaded)` for a comment refused before the record is asked because the
    server is past its capacity (OVL-2), at no cost, unless this process knows better: a
    comment it recorded gets its ack again, one whose outcome it does not know yet `retry`."""
    outcome = _busy(cases, (meeting_id, client_msg_id))
    cases.metrics.comments.labels(_label(outcome)).inc()
    return outcome


def _busy(cases: UseCases, key: Key) -> Outcome:
    if key in cases.unsettled:
        return Unconfirmed(UNKNOWN)
    first = cases.recorded.get(key)
    return BUSY if first is None else Repeated(first)


async def _in_time(
    cases: UseCases,
    meeting: Meeting,
    submission: Submission,
    key: Key,
    budget: float,
    extra: Extra | None,
) -> Outcome:
    """The whole submission (pool checkout, send, reply) within `budget` seconds.

    It runs as a task of its own that is left behind (cancelled) at the timeout: redis-py can
    miss a cancellation while it waits for a pooled connection, and the sender must not wait
    for that. A write it still sends later runs past its deadline and changes nothing.
    """
    attempt = Attempt()
    deadline = time.monotonic() + budget * DEADLINE_SHARE
    work = asyncio.ensure_future(_submit(cases, meeting, submission, attempt, deadline, extra))
    try:
        await asyncio.wait([work], timeout=budget)
    finally:
        if not work.done():
            work.cancel()
            work.add_done_callback(_left_behind)
    if not work.done():
        cases.store.record.breaker.failed("no answer in time")
        return _unanswered(cases, key, is_unknown=attempt.sent)
    try:
        outcome = work.result()
    except Unanswered:
        return _unanswered(cases, key, is_unknown=True)
    except StoreUnavailable:  # never sent, or refused by Redis as a whole: not recorded
        return _unanswered(cases, key, is_unknown=False)
    if isinstance(outcome, Unconfirmed):
        cases.unsettled.put(key, True)
    return outcome


def _unanswered(cases: UseCases, key: Key, *, is_unknown: bool) -> Outcome:
    """No answer from the record: `Unconfirmed` if the write (or an earlier one with this id)
    may be in it, else the final `Rejected(unavailable)`."""
    if is_unknown or key in cases.unsettled:
        cases.unsettled.put(key, True)
        return Unconfirmed(UNKNOWN)
    return Rejected(RejectReason.UNAVAILABLE, "the record cannot be reached; try again")


def _left_behind(work: asyncio.Future[Any]) -> None:
    """A submission answered at its timeout ends later, one way or another: collect how."""
    if not work.cancelled():
        work.exception()


async def _submit(
    cases: UseCases,
    meeting: Meeting,
    submission: Submission,
    attempt: Attempt,
    deadline: float,
    extra: Extra | None,
) -> Outcome:
    store, what = cases.store, submission.what
    if (meeting.id, what.client_msg_id) in cases.unsettled:
        # Sent before and unanswered: what the record has now is final (its deadline passed).
        await store.record.breaker.admit()
        recorded = await store.record.seen(meeting.id, what.client_msg_id)
        cases.unsettled.pop((meeting.id, what.client_msg_id))
        if recorded:
            return Repeated(_first(recorded))
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
    write = Write()
    store.record.first_time(write, meeting.id, what.client_msg_id)  # a retry gets its ack first
    store.record.in_time(write, deadline)
    return await _append(cases, meeting, submission, event, write, attempt, extra)


async def _append(
    cases: UseCases,
    meeting: Meeting,
    submission: Submission,
    event: CommentPosted | CommentHeld | QuestionAsked,
    write: Write,
    attempt: Attempt,
    extra: Extra | None = None,
) -> Outcome:
    """Append behind the guards: a retry, a late write, a closed meeting and slow mode are
    refused here."""
    store, client_msg_id = cases.store, submission.what.client_msg_id
    live = store.meetings.in_status(write, meeting)
    _slow_mode(cases, meeting, submission, write)
    at = store.record.append(write, meeting.id, event)
    reason = event.reason if isinstance(event, CommentHeld) else None
    store.record.remember(write, meeting.id, client_msg_id, at, reason or "")
    if reason is not None:
        store.board.count_held(write, meeting.id, reason)
    if isinstance(event, QuestionAsked):
        store.board.create(write, meeting.id, at, question_item("", event))
    store.intake.mine(write, meeting.id, submission.sender, at)  # "my questions" (issue 10)
    if (
        isinstance(event, QuestionAsked)
        and mask_contacts(submission.what.text) != submission.what.text
    ):
        # The record keeps the question masked (10.8: it outlives the contacts' retention);
        # the text as written is kept apart and deleted with the meeting's contacts.
        store.intake.keep_original(write, meeting.id, at, submission.what.text)
    if extra is not None:
        extra(write, at, event)
    result = await store.record.run(write, attempt)
    if not isinstance(result, Refused):
        (event_id,) = result.ids
        return _accepted(event_id, event.kind, reason)
    if result.guard.check is Check.UNSEEN:
        return Repeated(_first(Recorded.parse(result.value)))
    if result.guard.check is Check.BEFORE:
        # Too late to run, and another attempt with this id may still be on its way: only a
        # resend can tell the sender for sure.
        return Unconfirmed(UNKNOWN)
    if result.guard.check is Check.PACE:
        return Rejected(RejectReason.RATE_LIMITED, "slow mode", int(result.value))
    assert result.guard is live
    return Rejected(RejectReason.MEETING_CLOSED, "the meeting is not live")


def _slow_mode(cases: UseCases, meeting: Meeting, submission: Submission, write: Write) -> None:
    """R3: slow mode per viewer, and per network address however many viewer identities it
    holds; a young identity (minted seconds ago) gets no burst. Off when the meeting's slow
    mode is 0 s."""
    slow, record = meeting.slow_mode, cases.store.record
    if slow.seconds <= 0 or submission.what.channel in BROADCAST_CHANNELS:
        return  # YouTube, Facebook, Instagram pace their own viewers: ours would only lose them
    burst = 1 if submission.young else slow.burst
    interval = round(slow.seconds * 1000)
    record.pace(write, meeting.id, submission.sender, interval, burst)
    if submission.address:
        interval = max(1, round(60_000 / cases.address_comments_per_minute))
        address = "@" + submission.address  # never the same bucket as a viewer's
        record.pace(write, meeting.id, address, interval, cases.address_comment_burst)


async def settled_or(
    cases: UseCases, meeting_id: str, client_msg_id: str, refusal: Rejected
) -> Outcome:
    """`refusal` (decided before the record was asked, such as a flood of frames), unless
    `client_msg_id` is in the record already: then the answer it got. A retry of an
    acknowledged comment is acknowledged again, however fast it comes (DUR-3)."""
    outcome = await _settled_or(cases, meeting_id, client_msg_id, refusal)
    cases.metrics.comments.labels(_label(outcome)).inc()
    return outcome


async def _settled_or(
    cases: UseCases, meeting_id: str, client_msg_id: str, refusal: Rejected
) -> Outcome:
    key = (meeting_id, client_msg_id)
    work = asyncio.ensure_future(_recorded(cases, meeting_id, client_msg_id))
    try:
        await asyncio.wait([work], timeout=cases.ack_timeout * ANSWER_SHARE)
    finally:
        if not work.done():
            work.cancel()
            work.add_done_callback(_left_behind)
    if not work.done() or work.exception() is not None:
        return Unconfirmed("the record cannot tell now whether it has this comment")
    cases.unsettled.pop(key)  # what the record has now is final
    recorded = work.result()
    return Repeated(_first(recorded)) if recorded else refusal


async def _recorded(cases: UseCases, meeting_id: str, client_msg_id: str) -> Recorded | None:
    await cases.store.record.breaker.admit()
    return await cases.store.record.seen(meeting_id, client_msg_id)


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


def retry_after_seconds(outcome: Rejected | Unconfirmed) -> int:
    """The wait in whole seconds, at least one (what a sender is told)."""
    return max(1, math.ceil(outcome.retry_after_ms / 1000))


def _label(outcome: Outcome) -> str:
    """The outcome as the `halyq_comments_total` metric counts it."""
    first = outcome.first if isinstance(outcome, Repeated) else outcome
    if isinstance(first, Rejected):
        return first.reason.value
    return {Posted: "posted", Held: "held", Asked: "question", Unconfirmed: "retry"}[type(first)]
