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


def tally(entries: Iterable[tuple[str, Event]]) -> dict[str, dict[str, int | Counts]]:
    """The report's numbers from the stream's entries, oldest first."""
    board = Board()
    held_on_arrival: Counter[str] = Counter()
    promoted = 0
    for event_id, event in entries:
        board.apply(event_id, event)
        if isinstance(event, CommentHeld):
            held_on_arrival[event.reason.value] += 1
        elif isinstance(event, QuestionPromoted):
            promoted += 1
    comments = [i for i in board.items.values() if i.kind is ItemKind.COMMENT]
    questions = board.questions()
    comment_states = Counter(i.status.value for i in comments)
    question_states = Counter(i.status.value for i in questions)
    return {
        "comments": {
            "received": len(comments),
            **{state: comment_states[state] for state in COMMENT_STATES},
            "held_by_filter": dict(sorted(held_on_arrival.items())),
            "hidden_by_reason": _by(i.reason for i in comments if i.status is ItemStatus.HIDDEN),
            "by_channel": _by(i.channel.value for i in comments),
            "promoted": promoted,
        },
        "questions": {
            "received": len(questions),
            **{state: question_states[state] for state in QUESTION_STATES},
            "public": sum(1 for q in questions if q.public),
            "rejected_by_reason": _by(
                q.reason for q in questions if q.status is ItemStatus.REJECTED
            ),
            "by_channel": _by(q.channel.value for q in questions),
            "votes": sum(q.votes for q in questions if q.public),
        },
    }


def _by(values: Iterable[str]) -> Counts:
    return dict(sorted(Counter(values).items()))
