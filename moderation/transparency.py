"""The public account of a meeting's moderation, counted from its record (Santa Clara, PRIV-4).

The report is the sum of what the public report audience (`moderation.audiences.public_report`)
receives of every event, so the page and a live reader of that audience can never disagree.
Automated actions (the first filter) and human ones (moderators) are apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from moderation.audiences import COMMENT_STATES, QUESTION_STATES, public_report
from moderation.board import Board
from moderation.events import Event

Counts = dict[str, int]
Report = dict[str, dict[str, int | Counts]]


class Tally:
    """The report's numbers, folded from the stream a batch of entries at a time."""

    __slots__ = ("board", "counts", "last")

    def __init__(self) -> None:
        self.board = Board()
        self.counts: Counter[str] = Counter()
        self.last = "0-0"

    def add(self, entries: Iterable[tuple[str, Event]]) -> None:
        """Fold in entries that follow the ones already counted, oldest first."""
        for event_id, event in entries:
            moved = public_report(self.board.fold(event_id, event))
            if moved is not None:
                self.counts.update({k: v for k, v in moved.items() if isinstance(v, int)})
            self.last = event_id

    def report(self) -> Report:
        counts = self.counts
        return {
            "comments": {
                "received": counts["comments.received"],
                **{state.value: counts[f"comments.{state.value}"] for state in COMMENT_STATES},
                "held_by_filter": _under(counts, "comments.held_by_filter."),
                "hidden_by_reason": _under(counts, "comments.hidden_by_reason."),
                "by_channel": _under(counts, "comments.by_channel."),
                "promoted": counts["comments.promoted"],
            },
            "questions": {
                "received": counts["questions.received"],
                **{state.value: counts[f"questions.{state.value}"] for state in QUESTION_STATES},
                "public": counts["questions.public"],
                "rejected_by_reason": _under(counts, "questions.rejected_by_reason."),
                "by_channel": _under(counts, "questions.by_channel."),
                "votes": counts["questions.votes"],
            },
        }


def tally(entries: Iterable[tuple[str, Event]]) -> Report:
    """The report's numbers from the stream's entries, oldest first."""
    counted = Tally()
    counted.add(entries)
    return counted.report()


def _under(counts: Counter[str], prefix: str) -> Counts:
    return {
        key[len(prefix) :]: n for key, n in sorted(counts.items()) if key.startswith(prefix) and n
    }
