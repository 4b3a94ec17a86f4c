"""The quarter-of-time clock (R4): the budget, the phases, the warnings, the overrun and the
compliance summary; every rule on fixed cases and on random sequences of phase changes.

The random meetings are run the way the server runs them: phase changes decided by
`change_phase`, warnings appended by a warner that looks at random moments (`due_warnings`),
and the meeting ended either by a phase change or by the end route (`closing`); what the
record then says is compared with a model kept from the commands alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import (
    Channel,
    ClockOverrun,
    ClockWarned,
    EndMeeting,
    Event,
    InvalidInput,
    InvalidTransition,
    MeetingCreated,
    MeetingEnded,
    MeetingStarted,
    ModerationError,
    NotFound,
    Phase,
    PhaseChanged,
    StartMeeting,
    change_meeting,
    change_phase,
    create_meeting,
)
from moderation.clock import (
    SETTABLE,
    WARNINGS,
    ClockState,
    Reading,
    Summary,
    budget_ms,
    closing,
    due_at,
    due_warnings,
    fold,
    next_due,
    reading,
    reading_from,
    reading_of,
    summary,
    threshold_ms,
)
from moderation.events import QuestionAnswered, QuestionAsked, QuestionPromoted
from tests.moderation._records import NOW, announcement

MINUTE = 60_000
P, QA, BREAK, ENDED = Phase.PRESENTATION, Phase.QA, Phase.BREAK, Phase.ENDED


def created(planned: int = 120) -> MeetingCreated:
    return create_meeting(announcement(planned_minutes=planned), now=NOW - MINUTE)


class Meeting:
    """A meeting's record as the server builds it, and the clock folded along."""

    def __init__(self, planned: int = 120) -> None:
        self.entries: list[tuple[str, Event]] = []
        self.state = ClockState("medeu")
        self.record(created(planned))

    def record(self, *events: Event) -> list[Event]:
        for event in events:
            event_id = f"{len(self.entries) + 1}-0"
            self.entries.append((event_id, event))
            self.state.apply(event_id, event)
        return list(events)

    def phase(self, phase: Phase, at: int, by: str = "aliya") -> list[Event]:
        return self.record(*change_phase(self.state, phase, by=by, now=at))

    def kept(self, now: int) -> Reading:
        """The reading a feed or the clock API makes from the meeting and its latest phase
        change alone."""
        changes = [event for _, event in self.entries if isinstance(event, PhaseChanged)]
        assert self.state.meeting is not None
        return reading_from(self.state.meeting, changes[-1] if changes else None, now)


def test_r4_the_budget_is_a_quarter_of_the_planned_time_on_a_fixed_case() -> None:
    meeting = Meeting(planned=120)
    assert budget_ms(120) == 30 * MINUTE
    assert meeting.state.budget_ms == 30 * MINUTE
    assert ClockState("nothing").budget_ms == 0  # no meeting recorded: no budget
    assert threshold_ms(30 * MINUTE, 80) == 24 * MINUTE
    assert threshold_ms(3, 80) == 3  # 2.4 ms rounds up: a warning never comes early


@settings(max_examples=200)
@given(planned=st.integers(10, 720))
def test_r4_the_budget_is_a_quarter_of_the_planned_time(planned: int) -> None:
    meeting = Meeting(planned)
    shown = reading(meeting.state, NOW)
    assert shown.budget_ms * 4 == planned * MINUTE
    assert shown.public()["budget_s"] == planned * 60 / 4
    assert shown.remaining_ms == shown.budget_ms  # nothing used before the presentation


def test_a_phase_change_on_a_scheduled_meeting_starts_it() -> None:
    meeting = Meeting()
    events = meeting.phase(P, NOW, by="producer key")
    assert events == [
        MeetingStarted(at=NOW),
        PhaseChanged(
            at=NOW, by="producer key", phase=P, presentation_ms=0, qa_ms=0, budget_ms=30 * MINUTE
        ),
    ]
    assert meeting.state.is_live
    assert (meeting.state.phase, meeting.state.since, meeting.state.changes) == (P, NOW, 1)


def test_presentation_segments_add_up_and_the_reading_follows_the_phase() -> None:
    meeting = Meeting()
    meeting.phase(P, NOW)
    meeting.phase(QA, NOW + 10 * MINUTE)
    meeting.phase(P, NOW + 15 * MINUTE)
    assert reading(meeting.state, NOW + 20 * MINUTE) == Reading(
        phase=P, budget_ms=30 * MINUTE, presentation_ms=15 * MINUTE, qa_ms=5 * MINUTE,
        as_of=NOW + 20 * MINUTE,
    )  # fmt: skip
    meeting.phase(BREAK, NOW + 20 * MINUTE)
    later = reading(meeting.state, NOW + 30 * MINUTE)
    assert (later.presentation_ms, later.qa_ms, later.phase) == (15 * MINUTE, 5 * MINUTE, BREAK)
    # A moment before the phase began (a server whose clock is a little behind) adds nothing.
    assert reading(meeting.state, NOW).presentation_ms == 15 * MINUTE


def test_the_reading_in_the_contract_shape() -> None:
    shown = Reading(phase=P, budget_ms=1_800_000, presentation_ms=1_830_500, qa_ms=0, as_of=NOW)
    assert shown.public() == {
        "phase": "presentation",
        "budget_s": 1800.0,
        "presentation_s": 1830.5,
        "qa_s": 0.0,
        "remaining_s": 0.0,
        "overrun_s": 30.5,
        "as_of": NOW,
    }


def test_a_phase_change_carries_the_clock_as_of_its_moment() -> None:
    meeting = Meeting()
    meeting.phase(P, NOW)
    meeting.phase(QA, NOW + 7 * MINUTE)
    changes = [event for _, event in meeting.entries if isinstance(event, PhaseChanged)]
    assert [reading_of(change) for change in changes] == [
        Reading(phase=P, budget_ms=30 * MINUTE, presentation_ms=0, qa_ms=0, as_of=NOW),
        reading(meeting.state, NOW + 7 * MINUTE),
    ]


def test_the_meeting_and_its_latest_phase_change_tell_the_clock() -> None:
    # What a feed keeps and the clock API reads, in every state of a meeting.
    meeting = Meeting()
    assert meeting.kept(NOW).phase is Phase.NOT_STARTED  # scheduled
    assert meeting.state.meeting is not None
    meeting.record(change_meeting(meeting.state.meeting, StartMeeting(), now=NOW))
    assert meeting.kept(NOW + MINUTE) == reading(meeting.state, NOW + MINUTE)
    meeting.phase(P, NOW + MINUTE)
    assert meeting.kept(NOW + 5 * MINUTE).presentation_ms == 4 * MINUTE
    meeting.record(*closing(meeting.state, NOW + 6 * MINUTE))
    meeting.record(change_meeting(meeting.state.meeting, EndMeeting(), now=NOW + 6 * MINUTE))
    for later in (NOW + 6 * MINUTE, NOW + 60 * MINUTE):  # the end route stops the count
        assert meeting.kept(later) == reading(meeting.state, later)
        assert (meeting.kept(later).phase, meeting.kept(later).presentation_ms) == (
            ENDED,
            5 * MINUTE,
        )
    unphased = Meeting()
    assert unphased.state.meeting is not None
    unphased.record(change_meeting(unphased.state.meeting, StartMeeting(), now=NOW))
    unphased.record(change_meeting(unphased.state.meeting, EndMeeting(), now=NOW + MINUTE))
    assert unphased.kept(NOW + 2 * MINUTE) == reading(unphased.state, NOW + 2 * MINUTE)
    assert unphased.kept(NOW + 2 * MINUTE).phase is ENDED
    ended = Meeting()
    ended.phase(QA, NOW)
    ended.phase(ENDED, NOW + MINUTE)
    assert ended.kept(NOW + 9 * MINUTE) == reading(ended.state, NOW + 9 * MINUTE)
    assert ended.kept(NOW + 9 * MINUTE).qa_ms == MINUTE


def test_r4_leaving_an_overrunning_presentation_warns_and_records_the_overrun() -> None:
    meeting = Meeting()  # budget 30 minutes
    meeting.phase(P, NOW)
    at = NOW + 31 * MINUTE
    events = meeting.phase(QA, at)
    assert events == [
        ClockWarned(at=at, percent=80, used_ms=31 * MINUTE, budget_ms=30 * MINUTE),
        ClockWarned(at=at, percent=100, used_ms=31 * MINUTE, budget_ms=30 * MINUTE),
        PhaseChanged(
            at=at, by="aliya", phase=QA, presentation_ms=31 * MINUTE, qa_ms=0,
            budget_ms=30 * MINUTE,
        ),
        ClockOverrun(at=at, overrun_ms=MINUTE),
    ]  # fmt: skip
    assert meeting.state.overrun_ms == MINUTE
    assert meeting.state.warned == {80, 100}
    # Back to the presentation for two more minutes, then the end: the overrun is the total.
    meeting.phase(P, at + MINUTE)
    end = at + 3 * MINUTE
    assert meeting.phase(ENDED, end)[-2:] == [
        ClockOverrun(at=end, overrun_ms=3 * MINUTE),
        MeetingEnded(at=end),
    ]
    assert meeting.state.ended_at == end
    assert meeting.state.phase is ENDED


def test_the_end_route_closes_the_clock_too() -> None:
    meeting = Meeting()
    meeting.phase(P, NOW)
    at = NOW + 25 * MINUTE
    events = closing(meeting.state, at)
    assert events == [ClockWarned(at=at, percent=80, used_ms=25 * MINUTE, budget_ms=30 * MINUTE)]
    assert meeting.state.meeting is not None
    meeting.record(*events, change_meeting(meeting.state.meeting, EndMeeting(), now=at))
    assert meeting.state.phase is ENDED  # `meeting.ended` alone counts as the phase `ended`
    assert summary(meeting.state, at + MINUTE).presentation_ms == 25 * MINUTE
    assert closing(meeting.state, at + MINUTE) == []


def test_an_overrun_needs_a_presentation_past_its_budget() -> None:
    meeting = Meeting()
    meeting.phase(P, NOW)
    assert ClockOverrun.kind not in [e.kind for e in meeting.phase(QA, NOW + 30 * MINUTE)]
    assert closing(meeting.state, NOW + 90 * MINUTE) == []  # Q&A time is never an overrun


@pytest.mark.parametrize(
    ("setup", "phase", "error", "detail"),
    [
        ((), Phase.NOT_STARTED, InvalidInput, "phase must be one of presentation, qa, break,"
         " ended"),
        ((), ENDED, InvalidTransition, "meeting medeu is scheduled, not live"),
        ((P,), P, InvalidTransition, "meeting medeu is in phase presentation already"),
        ((P, QA, BREAK), BREAK, InvalidTransition, "meeting medeu is in phase break already"),
        ((QA, ENDED), P, InvalidTransition, "meeting medeu has ended"),
        ((QA, ENDED), ENDED, InvalidTransition, "meeting medeu has ended"),
    ],
)  # fmt: skip
def test_refused_phase_changes(
    setup: tuple[Phase, ...], phase: Phase, error: type[ModerationError], detail: str
) -> None:
    meeting = Meeting()
    for n, step in enumerate(setup):
        meeting.phase(step, NOW + n * MINUTE)
    before = list(meeting.entries)
    with pytest.raises(error) as refused:
        change_phase(meeting.state, phase, by="aliya", now=NOW + 9 * MINUTE)
    assert refused.value.detail == detail
    assert meeting.entries == before


def test_no_phase_changes_for_a_meeting_the_record_does_not_know() -> None:
    with pytest.raises(NotFound):
        change_phase(ClockState("nothing"), P, by="aliya", now=NOW)


def test_a_meeting_ended_by_the_end_route_takes_no_phase() -> None:
    meeting = Meeting()
    assert meeting.state.meeting is not None
    meeting.record(change_meeting(meeting.state.meeting, StartMeeting(), now=NOW))
    assert meeting.state.phase is Phase.NOT_STARTED
    live = meeting.state.meeting
    meeting.record(change_meeting(live, EndMeeting(), now=NOW + MINUTE))
    with pytest.raises(InvalidTransition):
        change_phase(meeting.state, QA, by="aliya", now=NOW + 2 * MINUTE)
    final = summary(meeting.state, NOW + 5 * MINUTE)
    assert (final.actual_ms, final.other_ms, final.presentation_ms) == (MINUTE, MINUTE, 0)


def test_r4_warnings_fire_at_80_then_100_percent_once_each() -> None:
    meeting = Meeting()  # 80% of 30 minutes is 24
    meeting.phase(P, NOW)
    assert next_due(meeting.state) == NOW + 24 * MINUTE
    assert due_warnings(meeting.state, NOW + 24 * MINUTE - 1) == []
    warned = meeting.record(*due_warnings(meeting.state, NOW + 24 * MINUTE))
    assert [w.percent for w in warned if isinstance(w, ClockWarned)] == [80]
    assert due_warnings(meeting.state, NOW + 25 * MINUTE) == []
    assert next_due(meeting.state) == NOW + 30 * MINUTE
    meeting.phase(QA, NOW + 26 * MINUTE)
    assert next_due(meeting.state) is None  # no presentation, no warning to wait for
    assert due_warnings(meeting.state, NOW + 90 * MINUTE) == []
    meeting.phase(P, NOW + 40 * MINUTE)  # 26 minutes used: 100% falls due 4 minutes later
    assert next_due(meeting.state) == NOW + 44 * MINUTE
    meeting.record(*due_warnings(meeting.state, NOW + 50 * MINUTE))
    assert meeting.state.warned == {80, 100}
    assert next_due(meeting.state) is None
    latest = meeting.entries[-2][1]  # the change back to the presentation, then the warning
    assert isinstance(latest, PhaseChanged)
    assert latest.phase is P
    assert due_at(latest, []) == NOW + 40 * MINUTE  # 80% was crossed before: due at once
    assert due_at(latest, [80]) == NOW + 44 * MINUTE
    assert due_at(latest, [80, 100]) is None
    assert due_at(None, []) is None
    assert due_warnings(meeting.state, NOW + 90 * MINUTE) == []


def test_a_warning_crossed_before_its_segment_is_due_at_once() -> None:
    # A record whose 80% warning was not fired (an old record, or one that lost it): it falls
    # due as soon as the presentation runs again.
    meeting = Meeting()
    meeting.record(MeetingStarted(at=NOW))
    meeting.record(PhaseChanged(at=NOW, by="a", phase=P, presentation_ms=0, qa_ms=0, budget_ms=1))
    meeting.record(PhaseChanged(at=NOW + 25 * MINUTE, by="a", phase=QA, presentation_ms=1,
                                qa_ms=0, budget_ms=1))  # fmt: skip
    meeting.phase(P, NOW + 30 * MINUTE)
    assert next_due(meeting.state) == NOW + 30 * MINUTE


def test_questions_answered_are_counted_by_their_channel() -> None:
    meeting = Meeting()
    meeting.phase(QA, NOW)
    asked = QuestionAsked(at=NOW, channel=Channel.WEB, client_msg_id="q1", viewer="v1",
                          name="Аян", text="Су қашан болады?")  # fmt: skip
    promoted = QuestionPromoted(at=NOW, by="aliya", item="2-0", version=2, channel=Channel.STAFF,
                                viewer="staff:aliya", name="aliya", text="Жол?")  # fmt: skip
    meeting.record(asked, promoted)
    first, second = meeting.entries[-2][0], meeting.entries[-1][0]
    for question in (first, second, "404-0"):  # an id the record never had counts nowhere
        meeting.record(QuestionAnswered(at=NOW + MINUTE, by="aliya", item=question, version=5))
    meeting.phase(ENDED, NOW + 2 * MINUTE)
    final = summary(meeting.state, NOW + 2 * MINUTE)
    assert final.answered == {"staff": 1, "web": 1}
    assert final.public()["answered"] == 2


def test_the_summary_in_the_public_shape() -> None:
    meeting = Meeting(planned=60)  # budget 15 minutes
    assert meeting.state.meeting is not None
    meeting.record(change_meeting(meeting.state.meeting, StartMeeting(), now=NOW))
    meeting.phase(P, NOW + MINUTE)
    meeting.phase(BREAK, NOW + 21 * MINUTE)
    meeting.phase(QA, NOW + 26 * MINUTE)
    meeting.phase(ENDED, NOW + 50 * MINUTE)
    final = summary(meeting.state, NOW + 99 * MINUTE)  # over: later moments change nothing
    assert final == Summary(
        planned_ms=60 * MINUTE, budget_ms=15 * MINUTE, actual_ms=50 * MINUTE,
        presentation_ms=20 * MINUTE, qa_ms=24 * MINUTE, break_ms=5 * MINUTE, other_ms=MINUTE,
        overrun_ms=5 * MINUTE, answered={},
    )  # fmt: skip
    assert final.public() == {
        "planned_s": 3600.0, "budget_s": 900.0, "actual_s": 3000.0,
        "presentation_s": 1200.0, "presentation_share": 0.4,
        "qa_s": 1440.0, "qa_share": 0.48,
        "break_s": 300.0, "break_share": 0.1,
        "other_s": 60.0, "other_share": 0.02,
        "overrun_s": 300.0, "within_budget": False,
        "answered": 0, "answered_by_channel": {},
    }  # fmt: skip
    assert meeting.state.overrun_ms == final.overrun_ms


def test_a_summary_before_the_meeting_is_empty() -> None:
    nothing = summary(ClockState("nothing"), NOW)
    assert (nothing.planned_ms, nothing.actual_ms, nothing.share(0)) == (0, 0, 0.0)
    scheduled = summary(Meeting().state, NOW)
    assert scheduled.planned_ms == 120 * MINUTE
    assert scheduled.public()["presentation_share"] == 0.0
    assert scheduled.public()["within_budget"] is True


def test_moments_never_go_back() -> None:
    # Two servers whose clocks differ: an event stamped before the one it follows counts at
    # the later moment, so no phase gets a negative time and the parts still add up.
    meeting = Meeting()
    meeting.phase(P, NOW)
    meeting.phase(QA, NOW + 10 * MINUTE)
    events = meeting.phase(P, NOW + 9 * MINUTE)
    assert events[0].at == NOW + 10 * MINUTE
    meeting.record(PhaseChanged(at=NOW + 8 * MINUTE, by="b", phase=BREAK, presentation_ms=0,
                                qa_ms=0, budget_ms=0))  # fmt: skip
    meeting.record(MeetingEnded(at=NOW + 11 * MINUTE))
    final = summary(meeting.state, NOW + 11 * MINUTE)
    assert (final.presentation_ms, final.qa_ms, final.break_ms) == (10 * MINUTE, 0, MINUTE)
    assert final.actual_ms == 11 * MINUTE


def test_a_phase_recorded_before_the_start_counts_from_the_start() -> None:
    # Not a record the decisions make (a phase change starts a scheduled meeting first), but
    # the fold takes any record: time counts only while the meeting is live.
    meeting = Meeting()
    meeting.record(PhaseChanged(at=NOW, by="a", phase=P, presentation_ms=0, qa_ms=0,
                                budget_ms=0))  # fmt: skip
    assert due_warnings(meeting.state, NOW + 90 * MINUTE) == []
    assert next_due(meeting.state) is None
    assert reading(meeting.state, NOW + MINUTE).presentation_ms == 0
    meeting.record(MeetingStarted(at=NOW + MINUTE))
    assert reading(meeting.state, NOW + 3 * MINUTE).presentation_ms == 2 * MINUTE


# Random meetings


@dataclass
class Model:
    """What the commands alone say: the phase, since when, and each phase's time."""

    phase: Phase = Phase.NOT_STARTED
    since: int = 0
    live: bool = False
    spent: Counter[Phase] = field(default_factory=Counter)

    def move(self, phase: Phase, at: int) -> None:
        if self.live:
            self.spent[self.phase] += at - self.since
        self.live = self.live or phase is not ENDED
        self.phase, self.since = phase, at
        if phase is ENDED:
            self.live = False

    def at(self, now: int) -> Counter[Phase]:
        spent = Counter(self.spent)
        if self.live:
            spent[self.phase] += now - self.since
        return spent


STEP = st.tuples(
    st.integers(0, 40 * MINUTE),
    st.sampled_from([*SETTABLE, "look", "look", "end route", "start route"]),
)


def run(planned: int, steps: list[tuple[int, Phase | str]]) -> tuple[Meeting, Model, int]:
    """Play the steps (time passes, then a phase change, a warner's look, or a route); the
    meeting is ended at last if it is live. Returns the meeting, the model and the end."""
    meeting, model, now = Meeting(planned), Model(), NOW
    for gap, step in steps:
        now += gap
        if step == "look":
            meeting.record(*due_warnings(meeting.state, now))
        elif isinstance(step, Phase):
            try:
                meeting.phase(step, now)
            except InvalidTransition:
                continue
            model.move(step, now)
        else:
            _route(meeting, model, step, now)
        assert reading(fold("medeu", meeting.entries), now).presentation_ms == model.at(now)[P]
        assert meeting.kept(now) == reading(meeting.state, now)
    now += 1
    if meeting.state.is_live:
        meeting.phase(ENDED, now)
        model.move(ENDED, now)
    return meeting, model, now


def _route(meeting: Meeting, model: Model, step: str, now: int) -> None:
    """`halyq meeting start|end` (or the admin API): the meeting's own routes."""
    current = meeting.state.meeting
    assert current is not None
    command = StartMeeting() if step == "start route" else EndMeeting()
    try:
        event = change_meeting(current, command, now=now)
    except InvalidTransition:
        return
    if isinstance(command, EndMeeting):
        meeting.record(*closing(meeting.state, now))
    meeting.record(event)
    model.move(Phase.NOT_STARTED if isinstance(command, StartMeeting) else ENDED, now)


@settings(max_examples=300, deadline=None)
@given(planned=st.integers(10, 180), steps=st.lists(STEP, max_size=25))
def test_r4_presentation_time_is_the_sum_of_its_segments(
    planned: int, steps: list[tuple[int, Phase | str]]
) -> None:
    meeting, model, end = run(planned, steps)
    for later in (end, end + MINUTE, end + 600 * MINUTE):
        shown = reading(meeting.state, later)
        assert shown.presentation_ms == model.spent[P]
        assert shown.qa_ms == model.spent[QA]
        assert meeting.kept(later) == shown
    changes = [e for _, e in meeting.entries if isinstance(e, PhaseChanged)]
    for change in changes:  # each change carries the clock as the record has it then
        assert reading_of(change).presentation_ms <= model.spent[P]


@settings(max_examples=300, deadline=None)
@given(planned=st.integers(10, 180), steps=st.lists(STEP, max_size=25))
def test_r4_each_warning_fires_exactly_once_per_meeting(
    planned: int, steps: list[tuple[int, Phase | str]]
) -> None:
    meeting, model, _ = run(planned, steps)
    budget = budget_ms(planned)
    fired = Counter(e.percent for _, e in meeting.entries if isinstance(e, ClockWarned))
    for percent in WARNINGS:
        crossed = model.spent[P] >= threshold_ms(budget, percent)
        assert fired[percent] == (1 if crossed else 0), (percent, model.spent[P], budget)
    for _, event in meeting.entries:
        if isinstance(event, ClockWarned):  # never early
            assert event.used_ms >= threshold_ms(budget, event.percent)
    if model.spent[P] > budget:
        overruns = [e for _, e in meeting.entries if isinstance(e, ClockOverrun)]
        assert overruns[-1].overrun_ms == model.spent[P] - budget == meeting.state.overrun_ms


@settings(max_examples=300, deadline=None)
@given(planned=st.integers(10, 180), steps=st.lists(STEP, max_size=25))
def test_r4_the_summary_shares_add_up_to_the_actual_length(
    planned: int, steps: list[tuple[int, Phase | str]]
) -> None:
    meeting, model, end = run(planned, steps)
    final = summary(meeting.state, end + 600 * MINUTE)
    parts = (final.presentation_ms, final.qa_ms, final.break_ms, final.other_ms)
    assert sum(parts) == final.actual_ms
    started = [e.at for _, e in meeting.entries if isinstance(e, MeetingStarted)]
    ended = [e.at for _, e in meeting.entries if isinstance(e, MeetingEnded)]
    assert final.actual_ms == (ended[0] - started[0] if started else 0)
    assert parts == (model.spent[P], model.spent[QA], model.spent[BREAK],
                     model.spent[Phase.NOT_STARTED])  # fmt: skip
    if final.actual_ms:
        assert sum(final.share(part) for part in parts) == pytest.approx(1.0)
    assert final.overrun_ms == max(0, model.spent[P] - budget_ms(planned))


@settings(max_examples=300, deadline=None)
@given(
    planned=st.integers(10, 180),
    steps=st.lists(STEP, max_size=25),
    cut=st.integers(0, 30),
    wait=st.integers(0, 90 * MINUTE),
)
def test_r4_a_restart_loses_no_time(
    planned: int, steps: list[tuple[int, Phase | str]], cut: int, wait: int
) -> None:
    # A server that kept the clock all along and one that folds the record from scratch, at
    # any moment after the record was cut short (the server restarted in the middle of a
    # phase), agree on the whole past and on the time since.
    meeting, _, _ = run(planned, steps)
    kept = Meeting(planned)
    for _, event in meeting.entries[1 : cut + 1]:
        kept.record(event)
    restarted = fold("medeu", kept.entries)
    later = max(kept.state.latest, NOW) + wait
    assert reading(restarted, later) == reading(kept.state, later)
    assert summary(restarted, later) == summary(kept.state, later)
    assert next_due(restarted) == next_due(kept.state)
    before = reading(restarted, later - 1 if later > kept.state.since else later)
    grown = reading(restarted, later).presentation_ms - before.presentation_ms
    running = restarted.phase is P and restarted.is_live and later > restarted.since
    assert grown == (1 if running else 0)


@settings(max_examples=300, deadline=None)
@given(planned=st.integers(10, 180), steps=st.lists(STEP, max_size=25))
def test_the_next_warning_falls_due_exactly_when_next_due_says(
    planned: int, steps: list[tuple[int, Phase | str]]
) -> None:
    meeting = Meeting(planned)
    now = NOW
    for gap, step in steps:
        now += gap
        if isinstance(step, Phase):
            try:
                meeting.phase(step, now)
            except InvalidTransition:
                continue
        elif step == "look":
            meeting.record(*due_warnings(meeting.state, now))
        due = next_due(meeting.state)
        if meeting.state.is_live:  # what a warner works out from the latest change alone
            changes = [e for _, e in meeting.entries if isinstance(e, PhaseChanged)]
            latest = changes[-1] if changes else None
            assert due_at(latest, meeting.state.warned) == due
        if due is None:
            assert due_warnings(meeting.state, now + 600 * MINUTE) == []
            continue
        assert due_warnings(meeting.state, due) != []
        if due > meeting.state.since:
            assert due_warnings(meeting.state, due - 1) == []
