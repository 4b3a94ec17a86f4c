"""The transcript of a meeting's questions (issue 12): JSON, WebVTT chapters, a public page
with the recording, and the archived recording itself (with Range requests)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from recordings.transcript import Transcript
from server.services import Services
from server.usecases.transcript import media_type, recording_file, transcript_of
from server.web.player import player_for
from server.web.templating import error_page, meeting_or_404, page_context, render

VTT = "text/vtt; charset=utf-8"


async def _transcript(request: Request) -> Transcript | None:
    services: Services = request.app.state.services
    return await transcript_of(services, request.path_params["meeting_id"])


async def transcript_json(request: Request) -> Response:
    """`GET /api/meetings/{meeting_id}/transcript`: the transcript for machines."""
    found = await _transcript(request)
    if found is None:
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(found.as_json())


async def transcript_vtt(request: Request) -> Response:
    """`GET /m/{meeting_id}/transcript.vtt`: a WebVTT chapter per time a question was on air."""
    found = await _transcript(request)
    if found is None:
        return error_page(request, 404, "not_found")
    return Response(found.chapters(), media_type=VTT)


async def transcript_page(request: Request) -> Response:
    """`GET /m/{meeting_id}/transcript`: the recording and its questions, readable without
    JavaScript; each question links to its moment in the recording."""
    meeting = await meeting_or_404(request)
    found = None if isinstance(meeting, Response) else await _transcript(request)
    if isinstance(meeting, Response) or found is None:
        return meeting if isinstance(meeting, Response) else error_page(request, 404, "not_found")
    context = page_context(request)
    context |= {
        "meeting": meeting,
        "transcript": found,
        "player": player_for(meeting.stream_url),
    }
    return render(request, "transcript.html", context)


async def recording(request: Request) -> Response:
    """`GET /m/{meeting_id}/recording`: the archived recording, with Range requests (a player
    seeks to `#t=` by asking for the bytes it needs); 404 while the archive holds none.
    `?part=N`: part N of a recording made at the source (issue 16)."""
    services: Services = request.app.state.services
    part = request.query_params.get("part")
    if part is not None and not (part.isdigit() and 0 < int(part) < 10_000):
        return error_page(request, 400, "error_bad_request", "part")
    path = recording_file(
        services.settings.data_dir, request.path_params["meeting_id"],
        None if part is None else int(part),
    )  # fmt: skip
    if path is None:
        return error_page(request, 404, "not_found")
    return FileResponse(path, media_type=media_type(path))
