"""`vote`: a viewer's up-vote of a public question, once per viewer (R4)."""

from __future__ import annotations

from moderation import Conflict, InvalidTransition, Meeting, NotFound
from moderation.board import Board
from moderation.lifecycle import vote as decide_vote
from server.store import Refused, Write
from server.usecases.context import UseCases
from server.usecases.outcomes import NotVoted, Voted

ATTEMPTS = 5  # votes racing for one question: the loser reads the new count and decides again


async def vote(
    cases: UseCases, meeting: Meeting, question: str, *, viewer: str
) -> Voted | NotVoted:
    """Count `viewer`'s vote for `question`; a second vote by the same viewer counts nothing."""
    store = cases.store
    if not meeting.is_live:
        meeting = await store.meetings.get(meeting.id) or meeting
    for _ in range(ATTEMPTS):
        board = Board((await store.board.items(meeting.id, [question])).values())
        if await store.votes.has_voted(meeting.id, question, viewer):
            board.voters[question] = {viewer}
        try:
            event = decide_vote(board, meeting, question, viewer=viewer, now=cases.clock())
        except NotFound:
            return NotVoted("not_votable")
        except InvalidTransition:
            return NotVoted("meeting_closed")
        except Conflict:
            return Voted(question, board.items[question].votes, repeated=True)
        item = board.items[question]
        write = Write()
        live = store.meetings.in_status(write, meeting)
        store.board.at_version(write, meeting.id, item)
        store.votes.at_count(write, meeting.id, question, item.votes)
        store.votes.first_vote(write, meeting.id, question, viewer)
        store.votes.set_count(write, meeting.id, question, event.votes)
        store.record.append(write, meeting.id, event)
        result = await store.record.run(write)
        if not isinstance(result, Refused):
            return Voted(question, event.votes)
        if result.guard is live:
            return NotVoted("meeting_closed")
    return NotVoted("unavailable")  # the question is too busy: the viewer may try again
