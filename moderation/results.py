"""The meeting report (issue 12.6): a meeting's record folded into the numbers its public
results page shows as charts and tables.

Three folds of the one record, each reused as it is: the clock (`moderation.clock`, where the
time went against the quarter budget, R4), the transparency report (`moderation.transparency`,
the moderation counts, R3) and that report's board, whose questions give the split by topic,
district, channel and outcome. Sans-I/O: `now` is passed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from moderation.board import Board
from moderation.clock import Summary, fold, summary
from moderation.events import Event
from moderation.model import PUBLIC_STATUSES, Item, ItemStatus
from moderation.transparency import Report, Tally

__all__ = ["NONE", "OUTCOMES", "Results", "groups", "results"]

NONE = ""  # the key of questions with no topic, or no district, set
# Where an approved question ended up: answered on air, deferred to the issue pool (R6), or
# never reached (approved or queued, or on air when the meeting ended).
OUTCOMES = ("answered", "deferred", "not_reached")
_OUTCOME = {ItemStatus.ANSWERED: "answered", ItemStatus.DEFERRED: "deferred"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Results:
    """A meeting's report as of a moment: final once the meeting ended, else the report so far.

    `questions` counts the approved questions as groups: a question merged into another is
    counted once, under the group it joined (its topic, district and channel), and `merged`
    says how many joined that way. Each split is sorted by count, largest first.
    """

    is_final: bool
    time: Summary
    questions: int
    merged: int
    topics: dict[str, int]
    districts: dict[str, int]
    channels: dict[str, int]
    outcomes: dict[str, int]
    moderation: Report

    def public(self) -> dict[str, object]:
        """The report as plain data: what the page prints, and what tests compare it with."""
        return {
            "final": self.is_final,
            "time": self.time.public(),
            "questions": self.questions,
            "merged": self.merged,
            "topics": dict(self.topics),
            "districts": dict(self.districts),
            "channels": dict(self.channels),
            "outcomes": dict(self.outcomes),
            "moderation": self.moderation,
        }


def results(meeting_id: str, entries: Iterable[tuple[str, Event]], now: int) -> Results:
    """The report of a meeting's record (its entries oldest first), as of `now`."""
    listed = list(entries)
    clock = fold(meeting_id, listed)
    counted = Tally()
    counted.add(listed)
    found = groups(counted.board)
    approved = [group for group, _ in found]
    return Results(
        is_final=clock.ended_at is not None,
        time=summary(clock, now),
        questions=len(approved),
        merged=sum(joined for _, joined in found),
        topics=_split(group.topic for group in approved),
        districts=_split(group.district for group in approved),
        channels=_split(group.channel.value for group in approved),
        outcomes=_outcomes(approved),
        moderation=counted.report(),
    )


def groups(board: Board) -> list[tuple[Item, int]]:
    """The approved questions (public ones: approved, queued, on air, answered, deferred),
    each with how many questions were merged into it, directly or through another."""
    approved = {item.id: item for item in board.questions() if item.status in PUBLIC_STATUSES}
    joined: Counter[str] = Counter()
    for item in board.questions():
        if item.status is ItemStatus.MERGED:
            target = _group_of(board, item)
            if target in approved:
                joined[target] += 1
    return [(item, joined[item.id]) for item in approved.values()]


def _group_of(board: Board, item: Item) -> str:
    """The question a merged one ended up in, following merges of merged ones (no loops:
    a merged question is never a merge target, but a record is read defensively)."""
    seen = {item.id}
    target = item.merged_into
    while (found := board.items.get(target)) is not None and found.status is ItemStatus.MERGED:
        if found.merged_into in seen:
            break
        seen.add(found.id)
        target = found.merged_into
    return target


def _split(keys: Iterable[str]) -> dict[str, int]:
    counts = Counter(keys)
    return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


def _outcomes(approved: Iterable[Item]) -> dict[str, int]:
    counts = Counter(_OUTCOME.get(item.status, "not_reached") for item in approved)
    return {name: counts[name] for name in OUTCOMES}
