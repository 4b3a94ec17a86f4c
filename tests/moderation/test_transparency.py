"""The public report (R3: hiding needs a public reason, and the counts by reason are public).

The report is the sum of what `audiences.public_report` gives of each event; here it is checked
against the board counted directly, on a fixed record and on random ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import Channel, MeetingEnded, MeetingStarted, ModerationError, PostComment
from moderation.board import Board, Repeatable
from moderation.commands import AskQuestion, Moderate
from moderation.events import (
    CommentHeld,
    CommentHidden,
    CommentReleased,
    Event,
    QuestionApproved,
    QuestionAsked,
    QuestionMerged,
    QuestionPromoted,
    QuestionRejected,
    QuestionVoted,
)
from moderation.lifecycle import allowed_actions, is_merge_target, moderate, vote
from moderation.model import Action, ItemKind, ItemStatus, ModerationReason
from moderation.submissions import ask_question, post_comment
from moderation.tagging import Topic
from moderation.transparency import Report, Tally, tally
from tests.moderation._records import (
    COMMENT_STATUSES,
    MEETING,
    NOW,
    QUESTION_STATUSES,
    held,
    posted,
)

EMPTY: Report = {
    "comments": {
        "received": 0, "shown": 0, "held": 0, "hidden": 0, "held_by_filter": {},
        "hidden_by_reason": {}, "by_channel": {}, "promoted": 0,
    },
    "questions": {
        "received": 0, "new": 0, "approved": 0, "queued": 0, "on_air": 0, "answered": 0,
        "deferred": 0, "rejected": 0, "merged": 0, "public": 0, "rejected_by_reason": {},
        "by_channel": {}, "votes": 0,
    },
}  # fmt: skip


def counted(board: Board, entries: Iterable[tuple[str, Event]]) -> Report:
    """The report as a person would count it: the board's items as they are now, by hand."""
    comments = [i for i in board.items.values() if i.kind is ItemKind.COMMENT]
    questions = [i for i in board.items.values() if i.kind is ItemKind.QUESTION]
    filtered = [e.reason.value for _, e in entries if isinstance(e, CommentHeld)]
    return {
        "comments": {
            "received": len(comments),
            **{s.value: sum(c.status is s for c in comments) for s in COMMENT_STATUSES},
            "held_by_filter": dict(Counter(filtered)),
            "hidden_by_reason": dict(
                Counter(c.reason for c in comments if c.status is ItemStatus.HIDDEN)
            ),
            "by_channel": dict(Counter(c.channel.value for c in comments)),
            "promoted": sum(c.promoted for c in comments),
        },
        "questions": {
            "received": len(questions),
            **{s.value: sum(q.status is s for q in questions) for s in QUESTION_STATUSES},
            "public": sum(q.public for q in questions),
            "rejected_by_reason": dict(
                Counter(q.reason for q in questions if q.status is ItemStatus.REJECTED)
            ),
            "by_channel": dict(Counter(q.channel.value for q in questions)),
            "votes": sum(q.votes for q in questions if q.public),
        },
    }


def test_a_meeting_with_nothing_said_reports_zeros() -> None:
    assert tally([]) == EMPTY
    assert tally([("1-0", MeetingStarted(at=NOW)), ("2-0", MeetingEnded(at=NOW + 1))]) == EMPTY


def test_r3_the_report_counts_what_became_of_every_comment_and_question() -> None:
    spam, abuse, web, t = ModerationReason.SPAM, ModerationReason.ABUSE, Channel.WEB, NOW + 1
    entries: list[tuple[str, Event]] = [
        ("1-0", MeetingStarted(at=NOW)),
        ("2-0", posted("Купите казино")),
        ("3-0", posted("Сәлем")),
        ("4-0", held()),
        ("5-0", CommentHidden(at=t, by="mod", item="2-0", version=2, reason=spam)),
        ("6-0", CommentHidden(at=t, by="mod", item="3-0", version=2, reason=abuse)),
        ("7-0", CommentReleased(at=t, by="mod", item="3-0", version=3, posted_at=NOW,
                                channel=web, name="Аян", text="Сәлем")),
        ("8-0", QuestionPromoted(at=t, by="mod", item="4-0", version=2, channel=web,
                                 viewer="v9", name="Аян", text="mail@example.kz")),
        ("9-0", QuestionAsked(at=NOW, channel=web, client_msg_id="q", viewer="v1",
                              name="Ерлан", text="Когда будет вода?")),
        ("10-0", QuestionApproved(at=t, by="mod", item="9-0", version=2, asked_at=NOW,
                                  channel=web, name="Ерлан", text="Когда будет вода?")),
        ("11-0", QuestionVoted(at=NOW, question="9-0", viewer="v2", votes=1)),
        ("12-0", QuestionMerged(at=t, by="mod", item="8-0", version=2, into="9-0",
                                into_version=3, votes=1)),
        ("13-0", QuestionAsked(at=NOW, channel=web, client_msg_id="r", viewer="v3",
                               name="", text="Реклама")),
        ("14-0", QuestionRejected(at=t, by="mod", item="13-0", version=2, reason=spam)),
    ]  # fmt: skip
    assert tally(entries) == {
        "comments": {
            "received": 3, "shown": 1, "held": 1, "hidden": 1, "held_by_filter": {"email": 1},
            "hidden_by_reason": {"spam": 1}, "by_channel": {"web": 3}, "promoted": 1,
        },
        "questions": {
            "received": 3, "new": 0, "approved": 1, "queued": 0, "on_air": 0, "answered": 0,
            "deferred": 0, "rejected": 1, "merged": 1, "public": 1,
            "rejected_by_reason": {"spam": 1}, "by_channel": {"web": 3}, "votes": 1,
        },
    }  # fmt: skip
    board = Board()
    for event_id, event in entries:
        board.fold(event_id, event)
    assert tally(entries) == counted(board, entries)


def test_a_tally_read_in_batches_is_the_tally_read_at_once() -> None:
    entries: list[tuple[str, Event]] = [
        ("1-0", posted()),
        ("2-0", held()),
        ("3-0", CommentHidden(at=NOW, by="mod", item="1-0", version=2,
                              reason=ModerationReason.OFF_TOPIC)),
    ]  # fmt: skip
    counts = Tally()
    assert (counts.report(), counts.last) == (EMPTY, "0-0")
    counts.add(entries[:1])
    assert counts.last == "1-0"
    counts.add(entries[1:])
    assert (counts.report(), counts.last) == (tally(entries), "3-0")


# Random records, made by the domain's own decisions


COMMENTS = ("Сәлем", "Звоните 87012345678", "mail@example.kz", "Сайт bit.ly/akimat", "Жол қашан?")
QUESTIONS = ("Когда будет вода?", "Жол қашан жөнделеді?", "Когда дадут воду? тел 87012345678")
STEP = st.tuples(
    st.sampled_from(["comment", "ask", "act", "act", "act", "vote", "meeting"]),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
)


class Record:
    """A meeting's record grown by decisions, each folded into the board as it is appended."""

    def __init__(self) -> None:
        self.board = Board()
        self.repeatable = Repeatable()
        self.entries: list[tuple[str, Event]] = []

    def append(self, event: Event) -> None:
        event_id = f"{len(self.entries) + 1}-0"
        self.board.fold(event_id, event)
        self.repeatable.apply(event_id, event)
        self.entries.append((event_id, event))

    def step(self, what: str, a: int, b: int, c: int) -> None:
        now = NOW + len(self.entries)
        if what == "comment":
            command = PostComment(client_msg_id=f"c{a}", name="", text=COMMENTS[a % len(COMMENTS)])
            self.append(post_comment(MEETING, command, viewer=f"v{b % 5}", now=now))
        elif what == "ask":
            text = QUESTIONS[a % len(QUESTIONS)]
            asking = AskQuestion(client_msg_id=f"q{a}", name="", text=text)
            self.append(ask_question(MEETING, asking, viewer=f"v{b % 5}", now=now,
                                     earlier=self.repeatable.index))  # fmt: skip
        elif what == "vote":
            public = sorted(i.id for i in self.board.items.values() if i.public)
            if public:
                self._decided(lambda: vote(self.board, MEETING, public[a % len(public)],
                                           viewer=f"v{b % 5}", now=now))  # fmt: skip
        elif what == "act" and self.board.items:
            self._act(a, b, c, now)
        elif what == "meeting":
            self.append(MeetingStarted(at=now))

    def _act(self, a: int, b: int, c: int, now: int) -> None:
        ids = sorted(self.board.items)
        subject = self.board.items[ids[a % len(ids)]]
        actions = allowed_actions(subject)
        if not actions:
            return
        action = actions[b % len(actions)]
        targets = [i for i in ids if is_merge_target(self.board.items[i]) and i != subject.id]
        command = Moderate(
            action=action.value,
            item=subject.id,
            version=subject.version,
            reason=list(ModerationReason)[c % len(ModerationReason)].value,
            into=targets[c % len(targets)] if targets else "",
            topic=list(Topic)[c % len(Topic)].value if action is Action.TAG else "",
        )
        self._decided(lambda: moderate(self.board, MEETING, command, by="mod", now=now,
                                       earlier=self.repeatable.index))  # fmt: skip

    def _decided(self, decision: Callable[[], Event]) -> None:
        try:
            event = decision()
        except ModerationError:
            return  # a merge with no target, a repeated vote: refused, nothing appended
        self.append(event)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=40), st.integers(0, 40))
def test_r3_the_report_is_the_board_counted_on_any_record(
    steps: list[tuple[str, int, int, int]], cut: int
) -> None:
    record = Record()
    for step in steps:
        record.step(*step)
    entries = record.entries
    assert tally(entries) == counted(record.board, entries)
    counts = Tally()
    counts.add(entries[:cut])
    counts.add(entries[cut:])
    assert counts.report() == tally(entries)
    assert counts.last == (entries[-1][0] if entries else "0-0")
