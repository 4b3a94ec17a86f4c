"""The rundown's HTTP API (issue 9): take, clear, next and move, for the producer's desk and for
Companion's HTTP actions (a Stream Deck).

- `POST /api/meetings/{id}/rundown/take` with `{"question": ID}`: put it on air; the one on
  air before goes back to the top of the rundown;
- `POST /api/meetings/{id}/rundown/clear`: nothing on air (the cleared one back on top);
- `POST /api/meetings/{id}/rundown/next`: take the rundown's first (409 when it is empty);
- `POST /api/meetings/{id}/rundown/move` with `{"question": ID, "position": N}` (0 is the top);
- `POST /api/meetings/{id}/rundown/answered` and `.../deferred`: the question on air leaves it
  answered or deferred (409 when nothing is on air);
- `GET /api/meetings/{id}/rundown`: what is on air and what waits, as the others answer.

Each takes the admin token or the meeting's producer key as a bearer token, or a signed-in
producer's or admin's session with its CSRF token (`server.auth.keys.producer_of`), and answers
`{"on_air": <question or null>, "rundown": [<questions>]}`: each question with its name as the
sender chose it and phone numbers, e-mails and IINs masked in its text and name (issue 9.5).
"""

from __future__ import annotations

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from moderation import InvalidInput
from moderation.filters import mask_contacts
from moderation.model import Item
from server.auth.keys import producer_of
from server.services import Services
from server.usecases import is_meeting_id
from server.usecases import rundown as cases
from server.usecases.context import UseCases
from server.web.api import read_json

MAX_BODY = 4096
NO_STORE = {"Cache-Control": "no-store"}


def shown(item: Item) -> dict[str, object]:
    """A question as the rundown's API answers it: nothing a studio must not put on air."""
    return {
        "id": item.id,
        "status": item.status.value,
        "version": item.version,
        "at": item.at,
        "changed_at": item.changed_at,
        "channel": item.channel.value,
        "name": mask_contacts(item.name),
        "text": mask_contacts(item.text),
        "topic": item.topic,
        "district": item.district,
        "votes": item.votes,
    }


def answer(air: cases.Air) -> JSONResponse:
    body = {
        "on_air": shown(air.on_air) if air.on_air is not None else None,
        "rundown": [shown(item) for item in air.rundown],
    }
    return JSONResponse(body, headers=NO_STORE)


async def take(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/rundown/take` `{"question": ID}`."""
    meeting_id, by, usecases = await _studio(request)
    body = _object(await read_json(request, MAX_BODY))
    return answer(await cases.take(usecases, meeting_id, _question(body), by=by))


async def clear(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/rundown/clear`."""
    meeting_id, by, usecases = await _studio(request)
    return answer(await cases.clear(usecases, meeting_id, by=by))


async def take_next(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/rundown/next`."""
    meeting_id, by, usecases = await _studio(request)
    return answer(await cases.take_next(usecases, meeting_id, by=by))


async def air(request: Request) -> JSONResponse:
    """`GET /api/meetings/{meeting_id}/rundown`: the air and the rundown now."""
    meeting_id, _, usecases = await _studio(request)
    return answer(await cases.air(usecases, meeting_id))


async def answered(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/rundown/answered`."""
    meeting_id, by, usecases = await _studio(request)
    return answer(await cases.finish(usecases, meeting_id, answered=True, by=by))


async def deferred(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/rundown/deferred`."""
    meeting_id, by, usecases = await _studio(request)
    return answer(await cases.finish(usecases, meeting_id, answered=False, by=by))


async def move(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/rundown/move` `{"question": ID, "position": N}`."""
    meeting_id, by, usecases = await _studio(request)
    body = _object(await read_json(request, MAX_BODY))
    question, position = _question(body), body.get("position")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise InvalidInput("position must be a whole number, 0 (the top) or more")
    return answer(await cases.move(usecases, meeting_id, question, position, by=by))


async def _studio(request: Request) -> tuple[str, str, UseCases]:
    """The meeting, who acts (401/403 otherwise), and the use cases."""
    services: Services = request.app.state.services
    meeting_id = str(request.path_params["meeting_id"])
    if not is_meeting_id(meeting_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meeting {meeting_id[:40]!r}")
    by = await producer_of(request, meeting_id)
    return meeting_id, by, services.usecases


def _object(body: object) -> dict[str, object]:
    if not isinstance(body, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body must be a JSON object")
    return body


def _question(body: dict[str, object]) -> str:
    value = body.get("question")
    if not isinstance(value, str) or not value or len(value) > 64:
        raise InvalidInput("question must be the id of a question")
    return value
