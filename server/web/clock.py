"""The clock's HTTP API (R4): the reading for anyone, and phase changes for the studio.

`GET /api/meetings/{id}/clock` answers `{"phase", "budget_s", "presentation_s", "qa_s",
"remaining_s", "overrun_s", "as_of"}`; `POST /api/meetings/{id}/phase` with `{"phase": ...}`
takes the admin token or the meeting's producer key as a bearer token, or a signed-in
producer's or admin's session with its CSRF token (`server.auth.keys.producer_of`), and
answers the reading after the change.
"""

from __future__ import annotations

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from moderation import InvalidInput, Phase, PhaseChanged
from moderation.clock import SETTABLE
from server.auth.keys import producer_of
from server.services import Services
from server.usecases import clock as cases
from server.usecases import is_meeting_id
from server.web.api import read_json

MAX_BODY = 4096
NO_STORE = {"Cache-Control": "no-store"}


async def clock_json(request: Request) -> JSONResponse:
    """`GET /api/meetings/{meeting_id}/clock` (public): the clock now."""
    services: Services = request.app.state.services
    meeting_id = _meeting_id(request)
    shown = await cases.reading(services.usecases, meeting_id)
    if shown is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meeting {meeting_id!r}")
    return JSONResponse(shown.public(), headers=NO_STORE)


async def phase_json(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/phase` (studio): move the meeting into a phase."""
    services: Services = request.app.state.services
    meeting_id = _meeting_id(request)
    by = await producer_of(request, meeting_id)
    phase = _phase(await read_json(request, MAX_BODY))
    shown = await cases.change_phase(services.usecases, meeting_id, phase, by=by)
    services.metrics.moderation.labels(PhaseChanged.kind).inc()
    return JSONResponse(shown.public(), headers=NO_STORE)


def _meeting_id(request: Request) -> str:
    meeting_id = str(request.path_params["meeting_id"])
    if not is_meeting_id(meeting_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meeting {meeting_id!r}")
    return meeting_id


def _phase(body: object) -> Phase:
    """The phase the body names (400 naming the field otherwise)."""
    choices = ", ".join(SETTABLE)
    if not isinstance(body, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body must be a JSON object")
    value = body.get("phase")
    if not isinstance(value, str) or value not in SETTABLE:
        raise InvalidInput(f"phase must be one of {choices}")
    return Phase(value)
