"""The clock's use cases (R4): phase changes, warnings and the compliance summary.

Each meeting's clock is folded in this process from its record (`Clocks`) and caught up before
every decision; the domain (`moderation.clock`) decides, and the store appends behind guards:
the n-th phase change and each warning have a fixed id in the record's idempotency hash, so two
phase changes that race are one applied and one `Conflict`, and a warning is appended once
whichever process sees it due first. The `Warner` is the task per live meeting that appends the
warnings when they fall due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from moderation import Conflict, Event, Meeting, MeetingEnded, MeetingStarted, apply
from moderation import clock as domain
from moderation.clock import ClockState, Phase, Reading, Summary
from moderation.events import ClockWarned, PhaseChanged
from server.store import Store, StoreUnavailable, Write, Written
from server.store.record import Guard, Record

if TYPE_CHECKING:
    from server.usecases.context import UseCases

logger = logging.getLogger(__name__)

KEPT = 64  # meetings whose clock this process keeps folded; the least recently used goes first
TRIES = 3  # decisions made again when a warning or a start landed meanwhile
LOOK_EVERY = 1.0  # seconds between two looks of a warner at its meeting, at most
RESCAN_EVERY = 5.0  # seconds between two looks for live meetings without a warner here
LONGEST_BACKOFF = 30.0


def change_id(number: int) -> str:
    """The idempotency id of the meeting's `number`-th phase change (no viewer's
    `client_msg_id` can have a colon)."""
    return f"phase:{number}"


def warning_id(percent: int) -> str:
    """The idempotency id of the meeting's warning at `percent`: one per meeting."""
    return f"clock:{percent}"


class _Folded:
    __slots__ = ("finished", "last", "lock", "started", "state")

    def __init__(self, meeting_id: str) -> None:
        self.lock = asyncio.Lock()
        self.state = ClockState(meeting_id)
        self.last = "0-0"
        self.started = 0  # catch-ups begun, numbered from 1
        self.finished = 0  # the number of the last one done


class Clocks:
    """Each meeting's clock, folded from its record incrementally."""

    def __init__(self, record: Record) -> None:
        self._record = record
        self._meetings: OrderedDict[str, _Folded] = OrderedDict()

    async def of(self, meeting_id: str) -> ClockState:
        """The clock as of the record's end at a moment after this call began: anything
        recorded before it is in it. Callers that come together share one catch-up. The state
        is this process's own: read it before the next `await`, never change it.
        """
        folded = self._meetings.get(meeting_id)
        if folded is None:
            folded = self._meetings[meeting_id] = _Folded(meeting_id)
            while len(self._meetings) > KEPT:
                self._meetings.popitem(last=False)
        self._meetings.move_to_end(meeting_id)
        arrived = folded.started
        async with folded.lock:
            if folded.finished > arrived:
                return folded.state  # a catch-up that began after this call is done
            folded.started += 1
            number = folded.started
            async for entries in self._record.replay(meeting_id, folded.last):
                for event_id, event in entries:
                    folded.state.apply(event_id, event)
                folded.last = entries[-1][0]
            folded.finished = number
        return folded.state


async def reading(cases: UseCases, meeting_id: str) -> Reading | None:
    """The clock now, from the meeting and its latest phase change (no fold); None for a
    meeting that does not exist."""
    store = cases.store
    latest = await store.clocks.latest(meeting_id)  # first: the meeting read after is as new
    meeting = await store.meetings.get(meeting_id)
    if meeting is None:
        return None
    return domain.reading_from(meeting, latest, cases.clock())


async def change_phase(cases: UseCases, meeting_id: str, phase: Phase, *, by: str) -> Reading:
    """Move the meeting into `phase` (by staff member or key `by`); the clock after.

    Raises the domain's errors: `NotFound`, `InvalidInput`, `InvalidTransition`, and
    `Conflict` when another phase change came first.
    """
    for _ in range(TRIES):
        state = await cases.clocks.of(meeting_id)
        events = domain.change_phase(state, phase, by=by, now=cases.clock())
        write = Write()
        _meeting_guard(cases.store, write, state, events)
        change = append_clock(cases.store, write, meeting_id, state, events)
        result = await cases.store.record.run(write)
        if isinstance(result, Written):
            cases.warner.watch(meeting_id)
            return domain.reading(await cases.clocks.of(meeting_id), cases.clock())
        if result.guard is change:
            raise Conflict(f"the phase of meeting {meeting_id} changed meanwhile")
        # Else a warning, a start or an end came first: decide again on the record as it is.
    raise Conflict(f"meeting {meeting_id} kept changing; try again")


def _meeting_guard(store: Store, write: Write, state: ClockState, events: list[Event]) -> Guard:
    """The meeting must still be in the status the decision saw; a start or an end moves it."""
    before = state.meeting
    assert before is not None  # the decision found it
    after: Meeting | None = before
    for event in events:
        if isinstance(event, MeetingStarted | MeetingEnded):
            after = apply(after, event, meeting_id=before.id)
    assert after is not None
    if after is before:
        return store.meetings.in_status(write, before)
    return store.meetings.change(write, before, after)


def append_clock(
    store: Store, write: Write, meeting_id: str, state: ClockState, events: Sequence[Event]
) -> Guard:
    """Append `events`, decided on `state`, behind the clock's guards: no phase change since
    `state` (the next one's id unseen; a `meeting.phase_changed` among `events` takes it),
    and each warning not appended yet (its fixed id unseen). Returns the guard that refuses
    when the phase changed meanwhile; a refusal of another means a warning came first.
    """
    record, number = store.record, state.changes + 1
    change = record.first_time(write, meeting_id, change_id(number))
    for event in events:
        if isinstance(event, ClockWarned):
            record.first_time(write, meeting_id, warning_id(event.percent))
    for event in events:
        at = record.append(write, meeting_id, event)
        if isinstance(event, PhaseChanged):
            record.remember(write, meeting_id, change_id(number), at)
            store.clocks.changed(write, meeting_id, event)
        elif isinstance(event, ClockWarned):
            record.remember(write, meeting_id, warning_id(event.percent), at)
    return change


async def warn(cases: UseCases, meeting_id: str) -> list[ClockWarned]:
    """Append the warnings due now (R4), unless another process did, or the phase or the
    meeting changed meanwhile (the next look decides again); returns those appended."""
    state = await cases.clocks.of(meeting_id)
    due = domain.due_warnings(state, cases.clock())
    if not due or state.meeting is None:
        return []
    write = Write()
    cases.store.meetings.in_status(write, state.meeting)
    append_clock(cases.store, write, meeting_id, state, due)
    result = await cases.store.record.run(write)
    return due if isinstance(result, Written) else []


async def compliance(cases: UseCases, meeting_id: str) -> Summary | None:
    """The compliance summary of a meeting that ended (R4), else None."""
    state = await cases.clocks.of(meeting_id)
    if state.phase is not Phase.ENDED:
        return None
    return domain.summary(state, cases.clock())


class Warner:
    """Appends each live meeting's warnings when they fall due (R4).

    A task per live meeting in this process sleeps until `next_due`, looking again at least
    every `LOOK_EVERY` seconds (a phase change made by another process, a clock set forward)
    and at once when a phase change is made here. Every process on one Redis may watch the
    same meeting: the guards let one of them append each warning, once.
    """

    def __init__(self, cases: UseCases) -> None:
        self._cases = cases
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._running = False  # `run` runs: a server's use cases, not a command's or a test's

    @property
    def watching(self) -> list[str]:
        """The meetings this process watches now."""
        return sorted(self._tasks)

    async def run(self) -> None:
        """Watch every live meeting until cancelled, looking for ones without a watcher here
        every `RESCAN_EVERY` seconds (started elsewhere, or before this process began)."""
        self._running = True
        try:
            while True:
                try:
                    for meeting in await self._cases.store.meetings.all():
                        if meeting.is_live:
                            self.watch(meeting.id)
                except StoreUnavailable as error:
                    logger.warning("clock warner: cannot list the meetings: %s", error)
                await asyncio.sleep(RESCAN_EVERY)
        finally:
            self._running = False
            await self.close()

    def watch(self, meeting_id: str) -> None:
        """Watch the meeting (if not yet), and look at it again now; nothing unless `run`
        runs (use cases made by a command or a test append no warnings by themselves)."""
        if not self._running:
            return
        if meeting_id in self._tasks:
            self._wake[meeting_id].set()
            return
        self._wake[meeting_id] = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self._watch(meeting_id))
        self._tasks[meeting_id] = task
        task.add_done_callback(lambda _: self._forget(meeting_id, task))

    def _forget(self, meeting_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(meeting_id) is task:
            del self._tasks[meeting_id]
            del self._wake[meeting_id]

    async def _watch(self, meeting_id: str) -> None:
        wake, backoff = self._wake[meeting_id], LOOK_EVERY
        while True:
            try:
                delay = await self._look(meeting_id)
                backoff = LOOK_EVERY
            except StoreUnavailable as error:
                logger.warning("clock warner of meeting %s: %s", meeting_id, error)
                delay, backoff = backoff, min(backoff * 2, LONGEST_BACKOFF)
            except Exception:
                logger.exception("clock warner of meeting %s failed; it goes on", meeting_id)
                delay, backoff = backoff, min(backoff * 2, LONGEST_BACKOFF)
            if delay is None:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)
            wake.clear()

    async def _look(self, meeting_id: str) -> float | None:
        """Append what is due; the seconds until the next look, or None: not live (any more).

        A look reads only the meeting, its latest phase change and which warnings fired (a
        few small reads, no fold of the record); the clock is folded when a warning is due.
        """
        cases, store = self._cases, self._cases.store
        latest = await store.clocks.latest(meeting_id)
        meeting = await store.meetings.get(meeting_id)
        if meeting is None or not meeting.is_live:
            return None
        fired = []
        for percent in domain.WARNINGS:
            if await store.record.seen(meeting_id, warning_id(percent)) is None:
                break
            fired.append(percent)
        due = domain.due_at(latest, fired)
        if due is None:
            return LOOK_EVERY
        if due <= cases.clock():
            # Appended: look again at once, the next may be due too. Not: another process
            # did, or the clock moved meanwhile; the next look sees it.
            return 0.05 if await warn(cases, meeting_id) else LOOK_EVERY
        return min(LOOK_EVERY, (due - cases.clock()) / 1000)

    async def close(self) -> None:
        """Stop every watch."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
