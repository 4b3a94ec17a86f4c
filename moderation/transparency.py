"""The public account of a meeting's moderation, counted from its record (Santa Clara, PRIV-4).

Counts are of each item's state after the last event: a comment hidden and then released
counts as shown. Automated actions (the first filter) and human ones (moderators) are apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from moderation.events import CommentHeld, Event, QuestionPromoted
from moderation.questions import Board, ItemKind, ItemStatus

Counts = dict[str, int]

COMMENT_STATES = ("shown", "held", "hidden")
QUESTION_STATES = tuple(
    s.value
    for s in (
        ItemStatus.NEW,
        ItemStatus.APPROVED,
        ItemStatus.QUEUED,
        ItemStatus.ON_AIR,
        ItemStatus.ANSWERED,
        ItemStatus.DEFERRED,
        ItemStatus.REJECTED,
        ItemStatus.MERGED,
    )
)


class Tally:
    """The report's numbers, folded from the stream a batch of entries at a time."""

    def __init__(self) -> None:
        self.board = Board()
        self.held_on_arrival: Counter[str] = Counter()
        self.promoted = 0
        self.last = "0-0"

    def add(self, entries: Iterable[tuple[str, Event]]) -> None:
        """Fold in entries that follow the ones already counted, oldest first."""
        for event_id, event in entries:
            self.board.apply(event_id, event)
            if isinstance(event, CommentHeld):
                self.held_on_arrival[event.reason.value] += 1
            elif isinstance(event, QuestionPromoted):
                self.promoted += 1
            self.last = event_id

    def report(self) -> dict[str, dict[str, int | Counts]]:
        items = self.board.items.values()
        comments = [i for i in items if i.kind is ItemKind.COMMENT]
        questions = [i for i in items if i.kind is ItemKind.QUESTION]
        comment_states = Counter(i.status.value for i in comments)
        question_states = Counter(i.status.value for i in questions)
        hidden = (i.reason for i in comments if i.status is ItemStatus.HIDDEN)
        rejected = (q.reason for q in questions if q.status is ItemStatus.REJECTED)
        return {
            "comments": {
                "received": len(comments),
                **{state: comment_states[state] for state in COMMENT_STATES},
                "held_by_filter": dict(sorted(self.held_on_arrival.items())),
                "hidden_by_reason": _by(hidden),
                "by_channel": _by(i.channel.value for i in comments),
                "promoted": self.promoted,
            },
            "questions": {
                "received": len(questions),
                **{state: question_states[state] for state in QUESTION_STATES},
                "public": sum(1 for q in questions if q.public),
                "rejected_by_reason": _by(rejected),
                "by_channel": _by(q.channel.value for q in questions),
                "votes": sum(q.votes for q in questions if q.public),
            },
        }


def tally(entries: Iterable[tuple[str, Event]]) -> dict[str, dict[str, int | Counts]]:
    """The report's numbers from the stream's entries, oldest first."""
    counted = Tally()
    counted.add(entries)
    return counted.report()


def _by(values: Iterable[str]) -> Counts:
    return dict(sorted(Counter(values).items()))
