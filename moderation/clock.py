"""The quarter-of-time clock (R4): a meeting's phases, the presentation's budget, its warnings
and overrun, and the compliance summary after the meeting.

The server owns the time: every phase change is an event with its moment, and the clock is a
fold of the record (`ClockState`), so a reading at any later moment follows from the record
alone and a restarted server loses no time. Sans-I/O: `now` (ms since the epoch) is passed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from moderation.errors import InvalidInput, InvalidTransition, NotFound
from moderation.events import (
    ClockOverrun,
    ClockWarned,
    Event,
    MeetingCreated,
    MeetingEnded,
    MeetingStarted,
    Phase,
    PhaseChanged,
    QuestionAnswered,
    QuestionAsked,
    QuestionPromoted,
)
from moderation.meetings import apply
from moderation.model import Channel, Meeting, MeetingStatus

__all__ = [
    "SETTABLE",
    "WARNINGS",
    "ClockState",
    "Phase",
    "Reading",
    "Summary",
    "budget_ms",
    "change_phase",
    "closing",
    "due_at",
    "due_warnings",
    "fold",
    "next_due",
    "reading",
    "reading_from",
    "reading_of",
    "summary",
    "threshold_ms",
]

WARNINGS = (80, 100)  # percent of the budget; each fires once per meeting, in this order (R4)
SETTABLE = (Phase.PRESENTATION, Phase.QA, Phase.BREAK, Phase.ENDED)  # what staff may choose


def budget_ms(planned_minutes: int) -> int:
    """R4: the presentation takes at most a quarter of the time planned for the meeting."""
    return planned_minutes * 60_000 // 4


def threshold_ms(budget: int, percent: int) -> int:
    """The presentation time at which the `percent` warning falls due (rounded up to a ms)."""
    return -(-budget * percent // 100)


class ClockState:
    """A meeting's clock as its record tells it: the phase it is in and since when, the time
    each phase took before, the warnings fired, the overrun recorded, the questions answered.

    Moments never go back: an event stamped earlier than one before it (two servers whose
    clocks differ a little) counts as happening at the later moment, so the phases' times
    always add up to the meeting's length.
    """

    __slots__ = (
        "answered",
        "changes",
        "channels",
        "ended_at",
        "latest",
        "meeting",
        "meeting_id",
        "overrun_ms",
        "phase",
        "since",
        "spent",
        "started_at",
        "warned",
    )

    def __init__(self, meeting_id: str) -> None:
        self.meeting_id = meeting_id
        self.meeting: Meeting | None = None
        self.phase = Phase.NOT_STARTED
        self.since = 0  # when the current phase began (the meeting's start for `not_started`)
        self.started_at: int | None = None
        self.ended_at: int | None = None
        # Time each phase took in its closed segments; `not_started` counts the time the
        # meeting was live before the first phase was set.
        self.spent: Counter[Phase] = Counter()
        self.warned: set[int] = set()
        self.overrun_ms = 0  # as the latest `clock.overrun` recorded it
        self.changes = 0  # phase changes so far: the next one is number `changes + 1`
        self.channels: dict[str, Channel] = {}  # question id -> where it came from
        self.answered: Counter[Channel] = Counter()
        self.latest = 0

    @property
    def budget_ms(self) -> int:
        return 0 if self.meeting is None else budget_ms(self.meeting.planned_minutes)

    @property
    def is_live(self) -> bool:
        return self.started_at is not None and self.ended_at is None

    def apply(self, event_id: str, event: Event) -> None:
        """Fold one event in; replaying the record from its start rebuilds the clock."""
        if isinstance(event, MeetingCreated | MeetingStarted | MeetingEnded):
            self.meeting = apply(self.meeting, event, meeting_id=self.meeting_id)
        if isinstance(event, MeetingStarted | MeetingEnded | PhaseChanged):
            self._timeline(event)
        elif isinstance(event, ClockWarned):
            self.warned.add(event.percent)
        elif isinstance(event, ClockOverrun):
            self.overrun_ms = event.overrun_ms
        elif isinstance(event, QuestionAsked | QuestionPromoted):
            self.channels[event_id] = event.channel
        elif isinstance(event, QuestionAnswered) and event.item in self.channels:
            self.answered[self.channels[event.item]] += 1

    def _timeline(self, event: MeetingStarted | MeetingEnded | PhaseChanged) -> None:
        moment = self.latest = max(self.latest, event.at)
        if isinstance(event, PhaseChanged):
            self.changes += 1
        if self.phase is Phase.ENDED:
            return  # `meeting.ended` after a change to `ended`: the end is already counted
        if isinstance(event, MeetingStarted):
            self.started_at = self.since = moment
            return
        if self.is_live:
            self.spent[self.phase] += moment - self.since
            if isinstance(event, MeetingEnded) or event.phase is Phase.ENDED:
                self.ended_at = moment
        self.phase = Phase.ENDED if isinstance(event, MeetingEnded) else event.phase
        self.since = moment


def fold(meeting_id: str, entries: Iterable[tuple[str, Event]]) -> ClockState:
    """The clock of a meeting's record, from its entries oldest first."""
    state = ClockState(meeting_id)
    for event_id, event in entries:
        state.apply(event_id, event)
    return state


def _spent_at(state: ClockState, now: int) -> Counter[Phase]:
    """The time each phase took up to `now`, the current one's open segment included."""
    spent = Counter(state.spent)
    if state.is_live:
        spent[state.phase] += max(0, now - state.since)
    return spent


# Readings: what every screen shows


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """The clock at `as_of` (ms since the epoch): the phase, the presentation's budget, the
    time the presentation (all its segments) and the Q&A took, what is left and what is over.

    A screen shows it counting from `as_of` (corrected by its measured offset from the
    server's clock): in `presentation` the presentation's time grows, in `qa` the Q&A's.
    """

    phase: Phase
    budget_ms: int
    presentation_ms: int
    qa_ms: int
    as_of: int

    @property
    def remaining_ms(self) -> int:
        return max(0, self.budget_ms - self.presentation_ms)

    @property
    def overrun_ms(self) -> int:
        return max(0, self.presentation_ms - self.budget_ms)

    def public(self) -> dict[str, object]:
        """The contract's JSON (`GET /api/meetings/{id}/clock`, hello frames, phase events):
        durations in seconds, `as_of` in ms since the epoch."""
        return {
            "phase": self.phase.value,
            "budget_s": _seconds(self.budget_ms),
            "presentation_s": _seconds(self.presentation_ms),
            "qa_s": _seconds(self.qa_ms),
            "remaining_s": _seconds(self.remaining_ms),
            "overrun_s": _seconds(self.overrun_ms),
            "as_of": self.as_of,
        }


def _seconds(ms: int) -> float:
    return ms / 1000


def reading(state: ClockState, now: int) -> Reading:
    """The clock as of `now`."""
    spent = _spent_at(state, now)
    return Reading(
        phase=state.phase,
        budget_ms=state.budget_ms,
        presentation_ms=spent[Phase.PRESENTATION],
        qa_ms=spent[Phase.QA],
        as_of=now,
    )


def reading_of(event: PhaseChanged) -> Reading:
    """The clock as of a phase change, from the event alone (it carries the totals)."""
    return Reading(
        phase=event.phase,
        budget_ms=event.budget_ms,
        presentation_ms=event.presentation_ms,
        qa_ms=event.qa_ms,
        as_of=event.at,
    )


def reading_from(meeting: Meeting, latest: PhaseChanged | None, now: int) -> Reading:
    """The clock as of `now` from the meeting and its latest phase change alone, without the
    rest of the record: what a feed keeps for its hello frames and the clock API reads. The
    same as `reading` of the whole record's fold (a property test holds them together).
    """
    budget, ended = budget_ms(meeting.planned_minutes), meeting.status is MeetingStatus.ENDED
    if latest is None:
        phase = Phase.ENDED if ended else Phase.NOT_STARTED
        return Reading(phase=phase, budget_ms=budget, presentation_ms=0, qa_ms=0, as_of=now)
    until = meeting.ended_at if ended else now
    running = max(0, until - latest.at) if latest.phase is not Phase.ENDED else 0
    spent = Counter({Phase.PRESENTATION: latest.presentation_ms, Phase.QA: latest.qa_ms})
    spent[latest.phase] += running
    return Reading(
        phase=Phase.ENDED if ended else latest.phase,
        budget_ms=budget,
        presentation_ms=spent[Phase.PRESENTATION],
        qa_ms=spent[Phase.QA],
        as_of=now,
    )


# Decisions


def change_phase(state: ClockState, phase: Phase, *, by: str, now: int) -> list[Event]:
    """Move the meeting into `phase` at `now`, by staff member `by`.

    A scheduled meeting starts first (`meeting.started`); `ended` ends it (`meeting.ended`).
    Leaving the presentation fires the warnings due by then, so none is ever skipped, and
    records its overrun, if any (R4). Refused: a phase the meeting is in already, any change
    after the end, `not_started`, and ending a meeting that never started.
    """
    meeting = _changeable(state, phase)
    now = max(now, state.latest)  # the record's moments never go back
    spent = _spent_at(state, now)
    changed = PhaseChanged(
        at=now,
        by=by,
        phase=phase,
        presentation_ms=spent[Phase.PRESENTATION],
        qa_ms=spent[Phase.QA],
        budget_ms=state.budget_ms,
    )
    if meeting.status is MeetingStatus.SCHEDULED:
        return [MeetingStarted(at=now), changed]
    events: list[Event] = [*due_warnings(state, now), changed, *_overrun(state, now)]
    if phase is Phase.ENDED:
        events.append(MeetingEnded(at=now))
    return events


def _changeable(state: ClockState, phase: Phase) -> Meeting:
    meeting, name = state.meeting, state.meeting_id
    if meeting is None:
        raise NotFound(f"no meeting {name!r}")
    if phase not in SETTABLE:
        raise InvalidInput(f"phase must be one of {', '.join(SETTABLE)}")
    if state.phase is Phase.ENDED:
        raise InvalidTransition(f"meeting {name} has ended")
    if phase is state.phase:
        raise InvalidTransition(f"meeting {name} is in phase {phase} already")
    if phase is Phase.ENDED and meeting.status is MeetingStatus.SCHEDULED:
        raise InvalidTransition(f"meeting {name} is scheduled, not live")
    return meeting


def closing(state: ClockState, now: int) -> list[Event]:
    """What the end of a live meeting (`halyq meeting end`, the admin API) records before its
    `meeting.ended`: the warnings due by then, and the overrun of a presentation it cuts."""
    return [*due_warnings(state, now), *_overrun(state, now)]


def _overrun(state: ClockState, now: int) -> list[Event]:
    """The overrun of the presentation segment ending at `now`, if it ends past the budget."""
    if state.phase is not Phase.PRESENTATION:
        return []
    over = _spent_at(state, now)[Phase.PRESENTATION] - state.budget_ms
    return [ClockOverrun(at=now, overrun_ms=over)] if over > 0 else []


def due_warnings(state: ClockState, now: int) -> list[ClockWarned]:
    """The warnings due at `now` that have not fired (both at once, if both are due): only
    while the presentation runs, since its time moves only then (R4)."""
    if state.phase is not Phase.PRESENTATION or not state.is_live:
        return []
    used, budget = _spent_at(state, now)[Phase.PRESENTATION], state.budget_ms
    return [
        ClockWarned(at=now, percent=percent, used_ms=used, budget_ms=budget)
        for percent in WARNINGS
        if percent not in state.warned and used >= threshold_ms(budget, percent)
    ]


def next_due(state: ClockState) -> int | None:
    """When the next warning falls due (ms since the epoch; maybe past), or None while none
    can: outside the presentation, or once both fired."""
    if state.phase is not Phase.PRESENTATION or not state.is_live:
        return None
    for percent in WARNINGS:
        if percent not in state.warned:
            left = threshold_ms(state.budget_ms, percent) - state.spent[Phase.PRESENTATION]
            return state.since + max(0, left)
    return None


def due_at(latest: PhaseChanged | None, warned: Iterable[int]) -> int | None:
    """`next_due` of a live meeting from its latest phase change and the warnings fired alone
    (what a warner watches without folding the record)."""
    if latest is None or latest.phase is not Phase.PRESENTATION:
        return None
    fired = set(warned)
    for percent in WARNINGS:
        if percent not in fired:
            left = threshold_ms(latest.budget_ms, percent) - latest.presentation_ms
            return latest.at + max(0, left)
    return None


# After the meeting


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """How a meeting kept R4: planned and actual length, where the time went, the overrun,
    and the questions answered by channel.

    The parts add up to the actual length: `other_ms` is the time the meeting was live
    before any phase was set.
    """

    planned_ms: int
    budget_ms: int
    actual_ms: int
    presentation_ms: int
    qa_ms: int
    break_ms: int
    other_ms: int
    overrun_ms: int
    answered: dict[str, int] = field(default_factory=dict)

    def share(self, part_ms: int) -> float:
        """`part_ms` as a share of the actual length (0 for a meeting that took no time)."""
        return part_ms / self.actual_ms if self.actual_ms else 0.0

    def public(self) -> dict[str, object]:
        """The summary as the meeting's public JSON (`compliance`) gives it: seconds, shares
        as fractions of the actual length (rounded to 4 places)."""
        parts = {
            "presentation": self.presentation_ms,
            "qa": self.qa_ms,
            "break": self.break_ms,
            "other": self.other_ms,
        }
        shown: dict[str, object] = {
            "planned_s": _seconds(self.planned_ms),
            "budget_s": _seconds(self.budget_ms),
            "actual_s": _seconds(self.actual_ms),
        }
        for name, ms in parts.items():
            shown |= {f"{name}_s": _seconds(ms), f"{name}_share": round(self.share(ms), 4)}
        return shown | {
            "overrun_s": _seconds(self.overrun_ms),
            "within_budget": self.overrun_ms == 0,
            "answered": sum(self.answered.values()),
            "answered_by_channel": dict(self.answered),
        }


def summary(state: ClockState, now: int) -> Summary:
    """The summary as of `now` (final once the meeting ended; `now` then changes nothing)."""
    spent = _spent_at(state, now)
    start = state.started_at
    end = state.ended_at if state.ended_at is not None else max(now, state.since)
    presentation = spent[Phase.PRESENTATION]
    return Summary(
        planned_ms=0 if state.meeting is None else state.meeting.planned_minutes * 60_000,
        budget_ms=state.budget_ms,
        actual_ms=0 if start is None else end - start,
        presentation_ms=presentation,
        qa_ms=spent[Phase.QA],
        break_ms=spent[Phase.BREAK],
        other_ms=spent[Phase.NOT_STARTED],
        overrun_ms=max(0, presentation - state.budget_ms),
        answered={channel.value: n for channel, n in sorted(state.answered.items())},
    )
