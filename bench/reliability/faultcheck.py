"""The checker of the fault scenarios (the catalogue's section 3.1), and their figures.

Acked means present once under the acked id; nothing is in the record twice; an attempt
answered `rejected` made no entry (each attempt's text names it); every viewer got exactly the
record's comment events up to its `last`, in order. The criteria go into a `Result` of
`report.py`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.reliability.faultclients import Attempt, Commenter, Viewer, key, percentile
from bench.reliability.report import Result
from moderation import CommentHeld, CommentPosted
from server.store import Store


@dataclass
class RecordCheck:
    """What the record says about the commenters' comments (a list holds up to 20 ids)."""

    comments: int = 0
    acked: int = 0
    recorded: int = 0
    lost: list[str] = field(default_factory=list)  # acked, not in the record under its id
    duplicates: list[str] = field(default_factory=list)  # in the record more than once
    unacked: list[str] = field(default_factory=list)  # never acked nor finally refused
    refused: dict[str, int] = field(default_factory=dict)  # final rejections, by reason
    rejected_recorded: list[str] = field(default_factory=list)  # made by a rejected attempt
    unattributed: int = 0  # entries whose text names no attempt
    answers: dict[str, int] = field(default_factory=dict)  # every attempt's answer, counted

    def as_dict(self) -> dict[str, Any]:
        plain = dict(self.__dict__)
        for name in ("lost", "duplicates", "unacked", "rejected_recorded"):
            plain[f"{name}_count"] = len(plain[name])
            plain[name] = plain[name][:20]
        return plain


Entries = list[tuple[str, CommentPosted | CommentHeld]]


async def read_comments(redis_url: str, prefix: str, meeting_id: str) -> Entries:
    """Every comment event in the meeting's record, in order (read a page at a time)."""
    store = Store(redis_url, prefix)
    entries: Entries = []
    start = "-"
    try:
        while True:
            page = await store.record.range(meeting_id, start, "+", count=5000)
            entries += [(i, e) for i, e in page if isinstance(e, CommentPosted | CommentHeld)]
            if len(page) < 5000:
                return entries
            start = "(" + page[-1][0]
    finally:
        await store.close()


async def last_entry(redis_url: str, prefix: str, meeting_id: str) -> str:
    store = Store(redis_url, prefix)
    try:
        return await store.record.last_id(meeting_id)
    finally:
        await store.close()


def check_record(entries: Entries, commenters: list[Commenter]) -> RecordCheck:
    """Acked means in the record once, under the acked id; a rejected attempt made no entry."""
    comments = {c.client_msg_id: c for who in commenters for c in who.comments}
    counts = Counter(e.client_msg_id for _, e in entries)
    recorded = {e.client_msg_id: (entry_id, e.text) for entry_id, e in entries}
    check = RecordCheck(comments=len(comments), recorded=len(recorded.keys() & comments.keys()))
    check.duplicates = sorted(m for m, n in counts.items() if n > 1)
    answers: Counter[str] = Counter()
    for cmid, sent in comments.items():
        answers.update(a.answer or "unanswered" for a in sent.attempts)
        if sent.final:
            check.refused[sent.final] = check.refused.get(sent.final, 0) + 1
        elif not sent.acked:
            check.unacked.append(cmid)
        else:
            check.acked += 1
            if recorded.get(cmid, ("",))[0] != sent.acked:
                check.lost.append(cmid)
        if cmid in recorded:
            number = _attempt_of(recorded[cmid][1])
            if number is None or number > len(sent.attempts):
                check.unattributed += 1
            elif sent.attempts[number - 1].answer.startswith("rejected"):
                check.rejected_recorded.append(cmid)
    check.answers = dict(answers)
    return check


def _attempt_of(text: str) -> int | None:
    head, _, number = text.rpartition(" attempt ")
    return int(number) if head and number.isdigit() else None


@dataclass
class ViewerCheck:
    """Each viewer's comment events against the record up to its `last`."""

    viewers: int = 0
    gap_free: int = 0
    reloads: int = 0
    problems: list[str] = field(default_factory=list)  # the first 20

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_viewers(entries: Entries, viewers: list[Viewer]) -> ViewerCheck:
    stream = array("q", (key(i) for i, _ in entries))
    check = ViewerCheck(viewers=len(viewers), reloads=sum(v.reloads for v in viewers))
    for viewer in viewers:
        expected = stream[: bisect_right(stream, viewer.last_key)]
        if viewer.received == expected and not viewer.reloads:
            check.gap_free += 1
            continue
        got = set(viewer.received)
        missing = len(set(expected) - got)
        twice = len(viewer.received) - len(got)
        extra = len(got - set(expected))
        if len(check.problems) < 20:
            check.problems.append(
                f"{viewer.name}: {missing} missing, {twice} twice, {extra} not in the record,"
                f" {viewer.reloads} reloads, {len(viewer.received)} got of {len(expected)}"
            )
    return check


def record_criteria(result: Result, record: RecordCheck, viewers: ViewerCheck) -> None:
    """The checker (section 3.1): acked means present once, nothing twice, a rejection final,
    every viewer gap-free."""
    result.check("0 acked comments lost", not record.lost, len(record.lost), "0")
    result.check("0 duplicates in the record", not record.duplicates, len(record.duplicates), "0")
    settled = not record.unacked and not record.refused
    result.check("every comment acked in the end (idempotent resends)", settled,
                 {"unacked": len(record.unacked), "refused": record.refused},
                 "0 unacked, 0 refused")  # fmt: skip
    result.check("no comment answered `rejected` is in the record", not record.rejected_recorded,
                 len(record.rejected_recorded), "0")  # fmt: skip
    result.check("viewers gap-free", viewers.gap_free == viewers.viewers and not viewers.reloads,
                 f"{viewers.gap_free}/{viewers.viewers}, {viewers.reloads} reloads",
                 "all, 0 reloads")  # fmt: skip
    result.figures["record"] = record.as_dict()
    result.figures["viewers"] = viewers.as_dict()


# Figures


def attempts(commenters: Iterable[Commenter], node: str | None = None) -> list[Attempt]:
    """Every attempt of the commenters' (sent to `node`, if given)."""
    return [a for c in commenters for m in c.comments for a in m.attempts
            if node is None or a.node == node]  # fmt: skip


def ack_latencies(sent: Iterable[Attempt]) -> list[float]:
    """Seconds from sending to ack, of the attempts that were acked."""
    return [a.answered - a.sent for a in sent if a.answer == "ack"]


def latency_figures(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 0.5),
        "p99": percentile(values, 0.99),
        "max": max(values, default=None),
    }


def written_to_ack(commenters: Iterable[Commenter]) -> list[float]:
    """Seconds from each acked comment's writing to its ack: its wait in the queue, every
    sending and resending included."""
    return [m.attempts[-1].answered - m.written for c in commenters
            for m in c.comments if m.acked]  # fmt: skip


def statuses(viewers: Iterable[Viewer]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for viewer in viewers:
        for _, state, _ in viewer.statuses:
            counts[state] = counts.get(state, 0) + 1
    return counts
