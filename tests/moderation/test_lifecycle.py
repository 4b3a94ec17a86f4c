"""The lifecycle of comments and questions (R4): the whole table, then random command sequences."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from moderation import (
    Channel,
    CommentHeld,
    CommentPosted,
    Conflict,
    HoldReason,
    InvalidInput,
    InvalidTransition,
    Meeting,
    MeetingStatus,
    ModerationError,
    NotFound,
)
from moderation.board import Board, Repeatable, may_be_repeated
from moderation.commands import AskQuestion, Moderate
from moderation.duplicates import QuestionIndex
from moderation.events import (
    Change,
    CommentHidden,
    CommentReleased,
    Event,
    QuestionAnswered,
    QuestionApproved,
    QuestionDeferred,
    QuestionMerged,
    QuestionOnAir,
    QuestionPromoted,
    QuestionQueued,
    QuestionRejected,
    QuestionTagged,
    QuestionVoted,
)
from moderation.lifecycle import (
    MERGE_TARGETS,
    PROMOTABLE,
    TAGGABLE,
    TRANSITIONS,
    allowed_actions,
    is_merge_target,
    vote,
)
from moderation.lifecycle import moderate as decide
from moderation.model import Action, Item, ItemKind, ItemStatus, ModerationReason
from moderation.submissions import ask_question
from tests.moderation._records import MEETING, NOW, STATUSES, board_with, item


def moderate(board: Board, meeting: Meeting, command: Moderate, *, by: str, now: int) -> Change:
    """The decision, against the board's questions that may still be repeated."""
    earlier = QuestionIndex()
    for found in board.questions():
        if may_be_repeated(found):
            earlier.add(found.id, found.text)
    return decide(board, meeting, command, by=by, now=now, earlier=earlier)


def command_for(action: Action, target: Item) -> Moderate:
    """The action with every argument it needs filled in correctly."""
    return Moderate(
        action=action.value,
        item=target.id,
        version=target.version,
        reason="spam" if action in (Action.HIDE, Action.REJECT) else "",
        into="2-0" if action is Action.MERGE else "",
        topic="roads" if action is Action.TAG else "",
        district="",
    )


def cases() -> Iterator[tuple[ItemKind, ItemStatus, Action]]:
    for kind, statuses in STATUSES.items():
        yield from itertools.product([kind], statuses, Action)


def expected_status(kind: ItemKind, status: ItemStatus, action: Action) -> ItemStatus | None:
    """What the issue's table says, written out again independently of TRANSITIONS."""
    if action is Action.TAG:
        return status if kind is ItemKind.QUESTION and status is not ItemStatus.MERGED else None
    if action is Action.PROMOTE:
        return status if kind is ItemKind.COMMENT else None
    table = {
        "comment": {
            "shown": {"hide": "hidden"},
            "held": {"release": "shown", "hide": "hidden"},
            "hidden": {"release": "shown"},
        },
        "question": {
            "new": {"approve": "approved", "reject": "rejected", "merge": "merged"},
            "approved": {"queue": "queued", "merge": "merged"},
            "queued": {"on_air": "on_air"},
            "on_air": {"answer": "answered", "defer": "deferred"},
        },
    }
    found = table[kind.value].get(status.value, {}).get(action.value)
    return ItemStatus(found) if found else None


@pytest.mark.parametrize(("kind", "status", "action"), list(cases()), ids=str)
def test_every_cell_of_the_transition_table(
    kind: ItemKind, status: ItemStatus, action: Action
) -> None:
    subject = item("1-0", kind, status, version=3)
    target = item("2-0", ItemKind.QUESTION, ItemStatus.APPROVED)
    board = board_with(subject, target)
    after = expected_status(kind, status, action)
    command = command_for(action, subject)
    if after is None:
        with pytest.raises(InvalidTransition):
            moderate(board, MEETING, command, by="mod", now=NOW)
        return
    event = moderate(board, MEETING, command, by="mod", now=NOW)
    assert (event.by, event.at, event.item, event.version) == ("mod", NOW, "1-0", 4)
    changed = {i.id: i for i in board.apply("9-0", event)}
    assert changed["1-0"].status is after
    assert changed["1-0"].version == 4
    assert board.items["1-0"].by == "mod"


def test_the_table_in_code_is_the_table_of_the_issue() -> None:
    for kind, status, action in cases():
        if action in (Action.TAG, Action.PROMOTE):
            continue
        assert TRANSITIONS.get((kind, status, action)) == expected_status(kind, status, action)


@pytest.mark.parametrize(("kind", "status", "action"), list(cases()), ids=str)
def test_a_stale_version_is_a_conflict_in_every_cell(
    kind: ItemKind, status: ItemStatus, action: Action
) -> None:
    subject = item("1-0", kind, status, version=3)
    board = board_with(subject, item("2-0", ItemKind.QUESTION, ItemStatus.APPROVED))
    stale = dataclasses.replace(command_for(action, subject), version=2)
    with pytest.raises(Conflict):
        moderate(board, MEETING, stale, by="mod", now=NOW)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"reason": ""}, InvalidInput),
        ({"reason": "because"}, InvalidInput),
        ({"action": "approve", "item": "1-0"}, None),
        ({"action": "explode"}, InvalidInput),
        ({"item": "404-0"}, NotFound),
    ],
)
def test_reject_needs_a_known_reason_code(
    changes: dict[str, str], error: type[ModerationError] | None
) -> None:
    board = board_with(item("1-0", ItemKind.QUESTION, ItemStatus.NEW))
    command = dataclasses.replace(
        Moderate(action="reject", item="1-0", version=1, reason="spam"),
        **changes,  # type: ignore[arg-type]
    )
    if error is None:
        assert moderate(board, MEETING, command, by="m", now=NOW).item == "1-0"
    else:
        with pytest.raises(error):
            moderate(board, MEETING, command, by="m", now=NOW)


def test_merge_refuses_itself_a_missing_target_and_a_closed_one() -> None:
    new = item("1-0", ItemKind.QUESTION, ItemStatus.NEW)
    rejected = item("2-0", ItemKind.QUESTION, ItemStatus.REJECTED)
    comment = item("3-0", ItemKind.COMMENT, ItemStatus.SHOWN)
    board = board_with(new, rejected, comment)
    for into, error in (("1-0", InvalidInput), ("9-0", NotFound), ("3-0", NotFound)):
        with pytest.raises(error):
            moderate(board, MEETING, Moderate(action="merge", item="1-0", version=1, into=into),
                     by="m", now=NOW)  # fmt: skip
    with pytest.raises(InvalidTransition):
        moderate(board, MEETING, Moderate(action="merge", item="1-0", version=1, into="2-0"),
                 by="m", now=NOW)  # fmt: skip


def test_a_comment_is_promoted_once() -> None:
    board = board_with(item("1-0", ItemKind.COMMENT, ItemStatus.SHOWN))
    event = moderate(board, MEETING, Moderate(action="promote", item="1-0", version=1),
                     by="m", now=NOW)  # fmt: skip
    assert isinstance(event, QuestionPromoted)
    comment, question = board.apply("5-0", event)
    assert comment.promoted
    assert comment.version == 2
    assert (question.id, question.kind, question.status, question.source) == (
        "5-0", ItemKind.QUESTION, ItemStatus.NEW, "1-0",
    )  # fmt: skip
    with pytest.raises(InvalidTransition, match="already promoted"):
        moderate(board, MEETING, Moderate(action="promote", item="1-0", version=2),
                 by="m", now=NOW)  # fmt: skip


def test_tag_checks_the_topic_and_the_district_of_the_territory() -> None:
    board = board_with(item("1-0", ItemKind.QUESTION, ItemStatus.NEW))
    bad_topic = Moderate(action="tag", item="1-0", version=1, topic="weather")
    with pytest.raises(InvalidInput):
        moderate(board, MEETING, bad_topic, by="m", now=NOW)
    bad_district = Moderate(action="tag", item="1-0", version=1, district="Нарния")
    with pytest.raises(InvalidInput):
        moderate(board, MEETING, bad_district, by="m", now=NOW)


# Random command sequences keep the invariants.

VIEWERS = st.sampled_from(["v1", "v2", "v3", "v4"])
REASONS = st.sampled_from(["spam", "abuse", "off_topic", ""])


class Lifecycle(RuleBasedStateMachine):
    """A board driven by random asks, comments, votes and staff actions, some of them stale."""

    def __init__(self) -> None:
        super().__init__()
        self.board = Board()
        self.repeatable = Repeatable()
        self.events: list[tuple[str, Event]] = []
        self.seq = 0
        self.direct_voters: dict[str, set[str]] = {}
        self.merged_into: dict[str, str] = {}

    def _append(self, event: Event) -> list[Item]:
        self.seq += 1
        event_id = f"{self.seq}-0"
        before = dict(self.board.items)
        changed = self.board.apply(event_id, event)
        self.repeatable.apply(event_id, event)
        self.events.append((event_id, event))
        for after in changed:
            previous = before.get(after.id)
            if previous is not None and previous.status is not after.status:
                assert isinstance(event, Change)
                action = _ACTION_OF[type(event).__name__]
                assert TRANSITIONS[(after.kind, previous.status, action)] is after.status
        return changed

    @precondition(lambda self: len(self.board.items) < 12)
    @rule(viewer=VIEWERS, text=st.sampled_from(["Когда будет вода?", "Жол қашан жөнделеді?"]))
    def ask(self, viewer: str, text: str) -> None:
        earlier = self.repeatable.index
        command = AskQuestion(client_msg_id=f"c{self.seq}", name="", text=text)
        self._append(ask_question(MEETING, command, viewer=viewer, now=NOW, earlier=earlier))

    @precondition(lambda self: len(self.board.items) < 12)
    @rule(viewer=VIEWERS, held=st.booleans())
    def comment(self, viewer: str, held: bool) -> None:
        posted = CommentPosted(at=NOW, channel=Channel.WEB, client_msg_id=f"c{self.seq}",
                               viewer=viewer, name="", text="Салем")  # fmt: skip
        if held:
            fields = {f.name: getattr(posted, f.name) for f in dataclasses.fields(posted)}
            self._append(CommentHeld(**fields, reason=HoldReason.PHONE))
        else:
            self._append(posted)

    @precondition(lambda self: bool(self.board.items))
    @rule(
        data=st.data(),
        valid=st.sampled_from([True, True, True, False]),
        stale=st.sampled_from([False, False, False, True]),
        reason=REASONS,
    )
    def act(self, data: st.DataObject, valid: bool, stale: bool, reason: str) -> None:
        """Mostly actions the table allows (so that items go far), sometimes anything."""
        ids = sorted(self.board.items)
        target = self.board.items[data.draw(st.sampled_from(ids))]
        allowed = [a for (k, s, a) in TRANSITIONS if (k, s) == (target.kind, target.status)]
        allowed.append(Action.TAG if target.kind is ItemKind.QUESTION else Action.PROMOTE)
        action = data.draw(st.sampled_from(allowed if valid else list(Action)))
        targets = [q.id for q in self.board.questions() if q.status in MERGE_TARGETS]
        into = ""
        if action is Action.MERGE:
            into = data.draw(st.sampled_from(targets if valid and targets else ids))
        version = target.version - 1 if stale else target.version
        command = Moderate(action=action.value, item=target.id, version=version, reason=reason,
                           into=into, topic="water" if action is Action.TAG else "")  # fmt: skip
        snapshot = dict(self.board.items)
        try:
            event = moderate(self.board, MEETING, command, by="mod", now=NOW)
        except Conflict:
            assert stale, "only a stale version is a conflict"
            assert self.board.items == snapshot
            return
        except ModerationError:
            assert self.board.items == snapshot
            return
        assert not stale, "a stale version must never apply"
        if isinstance(event, QuestionMerged):
            assert target.status in (ItemStatus.NEW, ItemStatus.APPROVED)
            assert self.board.items[event.into].status in MERGE_TARGETS
            self.merged_into[target.id] = event.into
        self._append(event)

    @precondition(lambda self: any(i.public for i in self.board.items.values()))
    @rule(data=st.data(), viewer=VIEWERS)
    def up_vote(self, data: st.DataObject, viewer: str) -> None:
        public = sorted(i.id for i in self.board.items.values() if i.public)
        question = data.draw(st.sampled_from(public))
        try:
            event = vote(self.board, MEETING, question, viewer=viewer, now=NOW)
        except Conflict:
            assert viewer in self.board.voters[question]
            return
        assert isinstance(event, QuestionVoted)
        self.direct_voters.setdefault(question, set()).add(viewer)
        self._append(event)

    @invariant()
    def one_known_state_per_item(self) -> None:
        for found in self.board.items.values():
            assert found.status in STATUSES[found.kind]

    @invariant()
    def one_audit_event_per_change(self) -> None:
        touches: dict[str, int] = {}
        for _, event in self.events:
            if isinstance(event, Change):
                touches[event.item] = touches.get(event.item, 0) + 1
                assert event.by == "mod"
            if isinstance(event, QuestionMerged):
                touches[event.into] = touches.get(event.into, 0) + 1
        for found in self.board.items.values():
            assert found.version == 1 + touches.get(found.id, 0), found

    @invariant()
    def merged_votes_add_up(self) -> None:
        for question in self.board.questions():
            if question.status is ItemStatus.MERGED:
                continue
            expected = set(self.direct_voters.get(question.id, set()))
            for source in self._merged_sources(question.id):
                expected |= self.direct_voters.get(source, set())
            assert question.votes == len(expected), question

    @invariant()
    def merged_askers_join_the_target(self) -> None:
        for source, into in self.merged_into.items():
            assert set(self.board.items[source].askers) <= set(self.board.items[into].askers)

    def _merged_sources(self, question: str) -> set[str]:
        found = {s for s, into in self.merged_into.items() if into == question}
        for source in set(found):
            found |= self._merged_sources(source)
        return found


_ACTION_OF = {
    "CommentHidden": Action.HIDE,
    "CommentReleased": Action.RELEASE,
    "QuestionApproved": Action.APPROVE,
    "QuestionRejected": Action.REJECT,
    "QuestionMerged": Action.MERGE,
    "QuestionQueued": Action.QUEUE,
    "QuestionOnAir": Action.ON_AIR,
    "QuestionAnswered": Action.ANSWER,
    "QuestionDeferred": Action.DEFER,
}

Lifecycle.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
test_lifecycle = Lifecycle.TestCase


def test_taggable_and_promotable_sets() -> None:
    assert ItemStatus.MERGED not in TAGGABLE
    assert frozenset(STATUSES[ItemKind.COMMENT]) == PROMOTABLE


def test_a_released_comment_no_longer_carries_the_reason_it_was_hidden_for() -> None:
    board = board_with(item("1-0", ItemKind.COMMENT, ItemStatus.SHOWN))
    hide = Moderate(action="hide", item="1-0", version=1, reason="spam")
    board.apply("2-0", moderate(board, MEETING, hide, by="m", now=NOW))
    assert board.items["1-0"].reason == "spam"
    release = Moderate(action="release", item="1-0", version=2)
    board.apply("3-0", moderate(board, MEETING, release, by="m", now=NOW))
    assert (board.items["1-0"].status, board.items["1-0"].reason) == (ItemStatus.SHOWN, "")


# What the console is offered: exactly what the table allows.


@pytest.mark.parametrize(
    ("kind", "status"),
    [(kind, status) for kind, statuses in STATUSES.items() for status in statuses],
    ids=str,
)
def test_allowed_actions_are_the_table_for_every_kind_and_status(
    kind: ItemKind, status: ItemStatus
) -> None:
    expected = [a for a in Action if expected_status(kind, status, a) is not None]
    assert allowed_actions(item("1-0", kind, status)) == expected
    if kind is ItemKind.COMMENT:
        promoted = dataclasses.replace(item("1-0", kind, status), promoted=True)
        assert allowed_actions(promoted) == [a for a in expected if a is not Action.PROMOTE]


@pytest.mark.parametrize(
    ("kind", "status"),
    [(kind, status) for kind, statuses in STATUSES.items() for status in statuses],
    ids=str,
)
def test_r4_a_question_may_be_merged_into_unless_it_was_refused_or_merged_itself(
    kind: ItemKind, status: ItemStatus
) -> None:
    expected = kind is ItemKind.QUESTION and status.value not in ("rejected", "merged")
    assert is_merge_target(item("2-0", kind, status)) is expected


# Each decision, its whole event.

QUESTION = dataclasses.replace(
    item("1-0", ItemKind.QUESTION, ItemStatus.NEW, version=2),
    at=NOW - 60_000,
    topic="roads",
    district="Медеу",
    votes=0,
)


def test_r4_an_approved_question_goes_on_the_list_as_it_was_asked() -> None:
    board = board_with(QUESTION)
    event = moderate(board, MEETING, Moderate(action="approve", item="1-0", version=2),
                     by="mod", now=NOW)  # fmt: skip
    assert event == QuestionApproved(
        at=NOW,
        by="mod",
        item="1-0",
        version=3,
        asked_at=NOW - 60_000,
        channel=Channel.WEB,
        name="Айгүл",
        text="Когда отремонтируют дорогу на улице Абая?",
        topic="roads",
        district="Медеу",
        votes=0,
    )


def test_r3_hiding_and_rejecting_record_the_public_reason() -> None:
    shown = item("1-0", ItemKind.COMMENT, ItemStatus.SHOWN)
    board = board_with(shown, item("2-0", ItemKind.QUESTION, ItemStatus.NEW))
    hide = Moderate(action="hide", item="1-0", version=1, reason="personal_data")
    assert moderate(board, MEETING, hide, by="mod", now=NOW) == CommentHidden(
        at=NOW, by="mod", item="1-0", version=2, reason=ModerationReason.PERSONAL_DATA
    )
    reject = Moderate(action="reject", item="2-0", version=1, reason="off_topic")
    assert moderate(board, MEETING, reject, by="mod", now=NOW) == QuestionRejected(
        at=NOW, by="mod", item="2-0", version=2, reason=ModerationReason.OFF_TOPIC
    )


def test_r3_a_released_comment_is_public_again_as_it_was_written() -> None:
    hidden = dataclasses.replace(
        item("1-0", ItemKind.COMMENT, ItemStatus.HIDDEN, version=2), at=NOW - 5, reason="spam"
    )
    release = Moderate(action="release", item="1-0", version=2)
    assert moderate(board_with(hidden), MEETING, release, by="mod", now=NOW) == CommentReleased(
        at=NOW,
        by="mod",
        item="1-0",
        version=3,
        posted_at=NOW - 5,
        channel=Channel.WEB,
        name="Айгүл",
        text="Когда отремонтируют дорогу на улице Абая?",
    )


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        (ItemStatus.APPROVED, "queue", QuestionQueued),
        (ItemStatus.QUEUED, "on_air", QuestionOnAir),
        (ItemStatus.ON_AIR, "answer", QuestionAnswered),
        (ItemStatus.ON_AIR, "defer", QuestionDeferred),
    ],
)
def test_r4_a_question_goes_through_the_rundown(
    status: ItemStatus,
    action: str,
    expected: type[QuestionQueued | QuestionOnAir | QuestionAnswered | QuestionDeferred],
) -> None:
    board = board_with(item("1-0", ItemKind.QUESTION, status, version=4))
    event = moderate(board, MEETING, Moderate(action=action, item="1-0", version=4),
                     by="producer", now=NOW)  # fmt: skip
    assert event == expected(at=NOW, by="producer", item="1-0", version=5)


def test_a_tag_is_a_known_topic_and_a_district_of_the_territory_or_none() -> None:
    board = board_with(item("1-0", ItemKind.QUESTION, ItemStatus.APPROVED, version=2))
    tag = Moderate(action="tag", item="1-0", version=2, topic="water", district=" Медеу ")
    assert moderate(board, MEETING, tag, by="mod", now=NOW) == QuestionTagged(
        at=NOW, by="mod", item="1-0", version=3, topic="water", district="Медеу"
    )
    untag = Moderate(action="tag", item="1-0", version=2)
    assert moderate(board, MEETING, untag, by="mod", now=NOW) == QuestionTagged(
        at=NOW, by="mod", item="1-0", version=3, topic="", district=""
    )


def test_a_promoted_comment_becomes_a_question_with_the_suggestions_of_an_asked_one() -> None:
    hidden = item("1-0", ItemKind.COMMENT, ItemStatus.HIDDEN, version=2)
    board = board_with(hidden, item("2-0", ItemKind.QUESTION, ItemStatus.APPROVED))
    promote = Moderate(action="promote", item="1-0", version=2)
    assert moderate(board, MEETING, promote, by="mod", now=NOW) == QuestionPromoted(
        at=NOW,
        by="mod",
        item="1-0",
        version=3,
        channel=Channel.WEB,
        viewer="v1",
        name="Айгүл",
        text="Когда отремонтируют дорогу на улице Абая?",
        suggested_topic="roads",
        suggested_district="",
        similar=("2-0",),  # R4: the same question is already on the list
    )


def test_r4_a_merge_counts_each_voter_of_both_questions_once() -> None:
    board = board_with(
        item("1-0", ItemKind.QUESTION, ItemStatus.APPROVED, version=3),
        item("2-0", ItemKind.QUESTION, ItemStatus.ON_AIR, version=5),
    )
    board.voters.update({"1-0": {"v1", "v2"}, "2-0": {"v2", "v3"}})
    merge = Moderate(action="merge", item="1-0", version=3, into="2-0")
    assert moderate(board, MEETING, merge, by="mod", now=NOW) == QuestionMerged(
        at=NOW, by="mod", item="1-0", version=4, into="2-0", into_version=6, votes=3
    )
    new = [item(i, ItemKind.QUESTION, ItemStatus.NEW) for i in ("1-0", "2-0")]
    first = dataclasses.replace(merge, version=1)
    assert moderate(board_with(*new), MEETING, first, by="m", now=NOW) == QuestionMerged(
        at=NOW, by="m", item="1-0", version=2, into="2-0", into_version=2, votes=0
    )


# Votes (R4: residents up-vote the questions they want answered).


def test_r4_a_viewer_up_votes_a_public_question_once() -> None:
    approved = dataclasses.replace(item("1-0", ItemKind.QUESTION, ItemStatus.APPROVED), votes=2)
    board = board_with(approved)
    board.voters["1-0"] = {"v1", "v2"}
    assert vote(board, MEETING, "1-0", viewer="v5", now=NOW) == QuestionVoted(
        at=NOW, question="1-0", viewer="v5", votes=3
    )
    with pytest.raises(Conflict, match="one vote per viewer"):
        vote(board, MEETING, "1-0", viewer="v2", now=NOW)


@pytest.mark.parametrize("status", [ItemStatus.NEW, ItemStatus.REJECTED, ItemStatus.MERGED])
def test_r4_only_a_public_question_takes_votes(status: ItemStatus) -> None:
    comment = item("2-0", ItemKind.COMMENT, ItemStatus.SHOWN)
    board = board_with(item("1-0", ItemKind.QUESTION, status), comment)
    for question in ("1-0", "2-0", "404-0"):
        with pytest.raises(NotFound, match=f"no public question {question}"):
            vote(board, MEETING, question, viewer="v5", now=NOW)


@pytest.mark.parametrize("status", [MeetingStatus.SCHEDULED, MeetingStatus.ENDED])
def test_votes_are_taken_only_while_the_meeting_is_live(status: MeetingStatus) -> None:
    board = board_with(item("1-0", ItemKind.QUESTION, ItemStatus.ANSWERED))
    closed = dataclasses.replace(MEETING, status=status)
    with pytest.raises(InvalidTransition, match=f"the meeting is {status}"):
        vote(board, closed, "1-0", viewer="v5", now=NOW)
