"""The use cases: the one way in for every channel (`submit`), every staff action (`act`),
votes and meetings. Each loads what its decision needs, lets the domain decide, and has the
store append atomically behind its guards."""

from server.usecases.act import act
from server.usecases.context import UseCases, now_ms
from server.usecases.meetings import change as change_meeting
from server.usecases.meetings import create as create_meeting
from server.usecases.meetings import is_meeting_id
from server.usecases.outcomes import (
    Acted,
    Asked,
    Held,
    NotVoted,
    Outcome,
    Posted,
    Rejected,
    Repeated,
    Unconfirmed,
    Voted,
)
from server.usecases.submit import submit
from server.usecases.vote import vote

__all__ = [
    "Acted",
    "Asked",
    "Held",
    "NotVoted",
    "Outcome",
    "Posted",
    "Rejected",
    "Repeated",
    "Unconfirmed",
    "UseCases",
    "Voted",
    "act",
    "change_meeting",
    "create_meeting",
    "is_meeting_id",
    "now_ms",
    "submit",
    "vote",
]
