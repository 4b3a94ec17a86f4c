"""Requests before a meeting and the commission's work on them (R5, issue 13).

A resident's request is a question for the announced meeting (`moderation.requests`): it goes
through `submit` like any question (the first filter, masking, slow mode, idempotency), after a
per-sender limit of its own. The commission's `group`, `tag` and `agenda` are moderation
commands through `act` (who and when are in the record, conflicts refused); `issue` opens a
problem issue of requests through the pool's `open_issue`.
"""

from __future__ import annotations

from collections.abc import Mapping

from moderation import (
    CommentRejected,
    InvalidInput,
    InvalidTransition,
    Meeting,
    MeetingStatus,
)
from moderation.commands import Submission
from moderation.model import Item, RejectReason
from moderation.pool import EDITABLE, Issue
from moderation.requests import Collection, collection, commission_command, is_request, request_of
from moderation.submissions import accepted_text
from server.usecases.act import act
from server.usecases.context import UseCases
from server.usecases.outcomes import Acted, Outcome, Rejected
from server.usecases.pool import open_issue
from server.usecases.rundown import fold
from server.usecases.submit import submit

PER_MINUTE = 6  # requests one sender may send one meeting per minute...
BURST = 3  # ...after a burst of this many
MAX_GROUPED = 50  # requests one issue may be made of


async def send(
    cases: UseCases, meeting: Meeting, body: Mapping[str, object], *, sender: str, key: str
) -> Outcome:
    """Record a resident's request for `meeting` (R5): refused (409) once the meeting started,
    `InvalidInput` naming a bad field, `Rejected(rate_limited)` past the sender's limit."""
    if meeting.status is not MeetingStatus.SCHEDULED:
        raise InvalidTransition(f"the meeting is {meeting.status}: requests are taken before it")
    question = request_of(body, client_msg_id=key)
    try:  # a refusal costs the sender nothing of their limit
        accepted_text(meeting, question.text, question.name, what="question", early=True)
    except CommentRejected as refusal:
        return Rejected(refusal.reason, refusal.detail)
    if not await cases.store.record.seen(meeting.id, key):  # a retry is answered, not limited
        wait = await cases.store.record.spend(
            f"request:{meeting.id}:{sender}", 60_000 // PER_MINUTE, BURST
        )
        if wait:
            return Rejected(RejectReason.RATE_LIMITED, "too many requests", wait)
    return await submit(cases, meeting, Submission(what=question, sender=sender))


async def collected(cases: UseCases, meeting: Meeting) -> Collection:
    """What was collected for the meeting: counts by topic and district, the accepted texts and
    the agenda (`moderation.requests.collection`)."""
    board = (await fold(cases, meeting.id)).board
    return collection(meeting, board.items.values())


async def requests_of(cases: UseCases, meeting: Meeting) -> list[Item]:
    """The meeting's requests as the commission works on them, oldest first."""
    board = (await fold(cases, meeting.id)).board
    return sorted((i for i in board.items.values() if is_request(i, meeting)), key=lambda i: i.at)


async def commission(
    cases: UseCases, meeting: Meeting, action: str, body: Mapping[str, object], *, by: str
) -> Acted | Issue:
    """A commission member's action on the meeting's requests: `group`, `tag`, `agenda` (through
    `act`) or `issue` (a problem issue of `items`, through the pool)."""
    board = (await fold(cases, meeting.id)).board
    if action == "issue":
        items = _ids(body.get("items"))
        for item_id in items:
            _request(board.items, meeting, item_id)
        fields = {k: v for k, v in body.items() if k in (*EDITABLE, "executor")}
        return await open_issue(
            cases, meeting.id, {**fields, "questions": items}, by=by, requests=True
        )
    command = commission_command(action, body)
    _request(board.items, meeting, command.item)
    return await act(cases, meeting, command, by=by)


def _request(items: Mapping[str, Item], meeting: Meeting, item_id: str) -> None:
    item = items.get(item_id)
    if item is None or not is_request(item, meeting):
        raise InvalidInput(f"item: no request {item_id[:40]!r} for this meeting")


def _ids(value: object) -> list[str]:
    """`items`: a list of ids, or the form's comma- or space-separated ones."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not value or len(value) > MAX_GROUPED:
        raise InvalidInput(f"items must name 1-{MAX_GROUPED} requests")
    if not all(isinstance(v, str) for v in value):
        raise InvalidInput("items must be request ids")
    return list(dict.fromkeys(value))
