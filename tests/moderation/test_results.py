"""The meeting report (issue 12.6): the time split against the quarter budget (R4), questions by
topic, district, channel and outcome, and the moderation counts of the transparency report (R3),
folded from a scripted record that went through the domain's own decisions."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import Channel, MeetingEnded, PostComment
from moderation.board import Board
from moderation.clock import ClockState, change_phase, fold, summary
from moderation.commands import AskQuestion, Moderate
from moderation.duplicates import QuestionIndex
from moderation.events import Event, Phase
from moderation.lifecycle import moderate
from moderation.meetings import create_meeting
from moderation.model import Action, Item, ItemKind, ItemStatus
from moderation.results import OUTCOMES, groups, results
from moderation.submissions import ask_question, post_comment
from moderation.transparency import tally
from tests.moderation._records import NOW, announcement, board_with, item

MINUTE = 60_000
ID = "almaty-report"


class Script:
    """A meeting's record, written through the domain's decisions at scripted moments."""

    def __init__(self, planned_minutes: int = 60) -> None:
        self.entries: list[tuple[str, Event]] = []
        self.board = Board()
        self.clock = ClockState(ID)
        command = announcement(territory="Алматы", planned_minutes=planned_minutes)
        self.add(create_meeting(command, now=NOW))

    def add(self, event: Event) -> str:
        event_id = f"{NOW + len(self.entries)}-0"
        self.entries.append((event_id, event))
        self.board.fold(event_id, event)
        self.clock.apply(event_id, event)
        return event_id

    def phase(self, phase: Phase, minute: int) -> None:
        for event in change_phase(self.clock, phase, by="producer", now=NOW + minute * MINUTE):
            self.add(event)

    def ask(self, text: str, channel: Channel, minute: int) -> str:
        meeting = self.clock.meeting
        assert meeting is not None
        command = AskQuestion(client_msg_id=f"q{len(self.entries)}", name="Аян", text=text,
                              channel=channel)  # fmt: skip
        at = NOW + minute * MINUTE
        viewer = f"v{len(self.entries)}"
        return self.add(ask_question(meeting, command, viewer=viewer, now=at, earlier=_NONE))

    def comment(self, text: str, minute: int) -> str:
        meeting = self.clock.meeting
        assert meeting is not None
        command = PostComment(client_msg_id=f"c{len(self.entries)}", name="Аян", text=text)
        return self.add(post_comment(meeting, command, viewer="v0", now=NOW + minute * MINUTE))

    def act(self, action: Action, item_id: str, minute: int, **options: str) -> None:
        meeting = self.clock.meeting
        assert meeting is not None
        version = self.board.items[item_id].version
        command = Moderate(action=action, item=item_id, version=version, **options)
        at = NOW + minute * MINUTE
        self.add(moderate(self.board, meeting, command, by="moderator", now=at, earlier=_NONE))

    def air(self, item_id: str, minute: int, *, answered: bool) -> None:
        for action in (Action.QUEUE, Action.ON_AIR):
            self.act(action, item_id, minute)
        self.act(Action.ANSWER if answered else Action.DEFER, item_id, minute + 3)


_NONE = QuestionIndex()
ROAD = "Когда отремонтируют дорогу на улице Абая?"
WATER = "Су қашан беріледі? Үш күннен бері су жоқ."
BUS = "Почему автобус 32 ходит так редко?"


def finished() -> tuple[Script, dict[str, str]]:
    """A 60-minute meeting (a 15-minute budget, R4): a 16-minute presentation, Q&A, a break,
    Q&A again; questions from five channels, approved, tagged, merged, answered, deferred,
    not reached, rejected, left new; a comment hidden with a reason."""
    s = Script()
    s.phase(Phase.PRESENTATION, 0)
    road = s.ask(ROAD, Channel.WEB, 2)
    again = s.ask(ROAD + " Очень жду.", Channel.PHONE, 3)
    water = s.ask(WATER, Channel.WHATSAPP, 4)
    bus = s.ask(BUS, Channel.TELEGRAM, 5)
    spam = s.ask("Купите рекламу на нашем сайте?", Channel.EMAIL, 6)
    fresh = s.ask("Когда откроют новую школу?", Channel.YOUTUBE, 7)
    copy = s.ask(WATER, Channel.WEB, 8)
    rude = s.comment("Это всё враньё, вы все", 9)
    s.act(Action.APPROVE, road, 10)
    s.act(Action.TAG, road, 10, topic="roads", district="Алатау")
    s.act(Action.MERGE, again, 11, into=road)  # after its approval: counted under `road`
    s.act(Action.APPROVE, water, 11)
    s.act(Action.TAG, water, 11, topic="water", district="Медеу")
    s.act(Action.MERGE, copy, 12, into=water)  # while new
    s.act(Action.APPROVE, bus, 12)
    s.act(Action.REJECT, spam, 13, reason="advertising")
    s.act(Action.HIDE, rude, 14, reason="abuse")
    s.phase(Phase.QA, 16)  # one minute past the budget
    s.air(road, 20, answered=True)
    s.air(water, 30, answered=False)
    s.phase(Phase.BREAK, 46)
    s.phase(Phase.QA, 51)
    s.phase(Phase.ENDED, 61)
    return s, {"road": road, "water": water, "bus": bus, "fresh": fresh}


def test_r4_r6_the_report_of_a_finished_meeting() -> None:
    s, _ = finished()
    later = NOW + 600 * MINUTE  # a finished meeting's report does not change with time
    report = results(ID, s.entries, later)
    assert report.is_final
    assert report.time == summary(fold(ID, s.entries), later)
    time = report.time
    assert (time.planned_ms, time.budget_ms) == (60 * MINUTE, 15 * MINUTE)
    assert (time.presentation_ms, time.overrun_ms) == (16 * MINUTE, MINUTE)
    assert (time.qa_ms, time.break_ms, time.actual_ms) == (40 * MINUTE, 5 * MINUTE, 61 * MINUTE)
    # Three approved groups; the phone question joined the road one, the second water one the
    # first: each counted once, under its group.
    assert (report.questions, report.merged) == (3, 2)
    assert report.topics == {"": 1, "roads": 1, "water": 1}
    assert report.districts == {"": 1, "Алатау": 1, "Медеу": 1}
    assert report.channels == {"telegram": 1, "web": 1, "whatsapp": 1}
    assert report.outcomes == {"answered": 1, "deferred": 1, "not_reached": 1}
    assert report.moderation == tally(s.entries)  # the transparency report, not a recount
    assert report.moderation["comments"]["hidden_by_reason"] == {"abuse": 1}
    assert report.public() == {
        "final": True,
        "time": time.public(),
        "questions": 3,
        "merged": 2,
        "topics": {"": 1, "roads": 1, "water": 1},
        "districts": {"": 1, "Алатау": 1, "Медеу": 1},
        "channels": {"telegram": 1, "web": 1, "whatsapp": 1},
        "outcomes": {"answered": 1, "deferred": 1, "not_reached": 1},
        "moderation": tally(s.entries),
    }


def test_a_split_is_sorted_largest_first_then_by_name() -> None:
    s = Script()
    s.phase(Phase.QA, 0)
    for n, (text, channel) in enumerate(
        ((ROAD, Channel.PHONE), (WATER, Channel.WEB), (BUS, Channel.PHONE), (ROAD, Channel.EMAIL))
    ):
        s.act(Action.APPROVE, s.ask(text + "!" * n, channel, n), n)
    assert list(results(ID, s.entries, NOW).channels.items()) == [
        ("phone", 2), ("email", 1), ("web", 1)
    ]  # fmt: skip


def test_a_meeting_not_ended_gives_its_report_so_far() -> None:
    s = Script()
    s.phase(Phase.PRESENTATION, 0)
    bus = s.ask(BUS, Channel.TELEGRAM, 1)
    s.act(Action.APPROVE, bus, 2)
    s.act(Action.QUEUE, bus, 2)
    s.act(Action.ON_AIR, bus, 3)
    report = results(ID, s.entries, NOW + 20 * MINUTE)
    assert not report.is_final
    assert report.time.presentation_ms == 20 * MINUTE  # the open segment counts up to now
    assert report.time.overrun_ms == 5 * MINUTE
    assert report.outcomes == {"answered": 0, "deferred": 0, "not_reached": 1}  # on air now


def test_a_meeting_on_air_when_it_ends_leaves_that_question_not_reached() -> None:
    s = Script()
    s.phase(Phase.QA, 0)
    bus = s.ask(BUS, Channel.SMS, 1)
    for action in (Action.APPROVE, Action.QUEUE, Action.ON_AIR):
        s.act(action, bus, 2)
    s.add(MeetingEnded(at=NOW + 5 * MINUTE))
    report = results(ID, s.entries, NOW + 6 * MINUTE)
    assert report.is_final
    assert report.outcomes["not_reached"] == 1
    assert report.channels == {"sms": 1}


def test_an_empty_record_is_an_empty_report() -> None:
    report = results(ID, [], NOW)
    assert not report.is_final
    assert (report.questions, report.merged, report.topics, report.outcomes) == (
        0, 0, {}, dict.fromkeys(OUTCOMES, 0)
    )  # fmt: skip
    assert report.time.actual_ms == 0
    assert report.moderation == tally([])


def question(item_id: str, status: ItemStatus, into: str = "") -> Item:
    return dataclasses.replace(item(item_id, ItemKind.QUESTION, status), merged_into=into)


def test_merges_of_merged_questions_count_under_the_group_at_the_end() -> None:
    """A chain (c joined b, b joined a) counts under a; a record with a loop in it (which the
    lifecycle never makes) stops instead of running forever; a question merged into one that
    was never approved counts nowhere."""
    board = board_with(
        question("a", ItemStatus.ANSWERED),
        question("b", ItemStatus.MERGED, "a"),
        question("c", ItemStatus.MERGED, "b"),
        question("x", ItemStatus.MERGED, "y"),
        question("y", ItemStatus.MERGED, "x"),
        question("n", ItemStatus.NEW),
        question("m", ItemStatus.MERGED, "n"),
        question("r", ItemStatus.REJECTED),
        item("k", ItemKind.COMMENT, ItemStatus.SHOWN),
    )
    found = groups(board)
    assert [(group.id, joined) for group, joined in found] == [("a", 2)]


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from((ROAD, WATER, BUS)),
        st.sampled_from((Channel.WEB, Channel.PHONE, Channel.TELEGRAM)),
        st.sampled_from(("new", "approve", "reject", "merge", "answer", "defer", "queue")),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(ACTIONS)
def test_every_split_adds_up_to_the_approved_groups(script: list[tuple[str, Channel, str]]) -> None:
    """However questions went, each split counts every approved group once, and the groups plus
    the questions merged into them never exceed the questions approved or merged (R4)."""
    s = Script()
    s.phase(Phase.QA, 0)
    target = ""  # the first question neither rejected nor merged: later ones may join it
    for n, (text, channel, fate) in enumerate(script):
        asked = s.ask(f"{text} {n}", channel, n)
        if fate == "reject":
            s.act(Action.REJECT, asked, n, reason="spam")
        elif fate == "merge" and target:
            s.act(Action.MERGE, asked, n, into=target)
        elif fate not in ("new", "merge"):
            s.act(Action.APPROVE, asked, n)
        target = target or (asked if fate not in ("reject", "merge") else "")
        if fate == "queue":
            s.act(Action.QUEUE, asked, n)
        elif fate in ("answer", "defer"):
            s.air(asked, n, answered=fate == "answer")
    report = results(ID, s.entries, NOW + 100 * MINUTE)
    for split in (report.topics, report.districts, report.channels, report.outcomes):
        assert sum(split.values()) == report.questions
    counts = report.moderation["questions"]
    assert isinstance(counts["merged"], int)
    assert report.merged <= counts["merged"]
    assert report.outcomes["answered"] == counts["answered"]
    assert report.outcomes["deferred"] == counts["deferred"]
