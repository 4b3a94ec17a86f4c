"""Data feeds for vMix and other studio software (issue 9.4), and what the overlays share.

`/feeds/{meeting_id}/vmix.json` is a JSON array of flat objects whose keys are vMix title fields
(`Question.Text`, `Name.Text`, `District.Text`, `Channel.Text`, `Votes.Text`); row 0 is the
question on air (empty strings when none is), the rundown follows in the producer's order.
`/feeds/{meeting_id}/vmix.xml` is the same rows as `<questions><question>...` (XPath
`//question`). Plain text only, `Cache-Control: no-store`, and the meeting's overlay key as
`?key=`: a missing, wrong or rotated key, or an unknown meeting, gets 404 (issue 9.3).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moderation import Meeting
from moderation.audiences import studio_question
from moderation.board import Board
from moderation.model import Item
from moderation.rundown import on_air, rundown
from server.auth.keys import overlay_key_matches
from server.fanout.audiences import OVERLAY
from server.fanout.connection import Connection
from server.services import Services
from server.usecases import is_meeting_id
from server.web.i18n import pick_language, translator

NO_STORE = {"Cache-Control": "no-store"}
FIELDS = ("Question.Text", "Name.Text", "District.Text", "Channel.Text", "Votes.Text")
# Characters XML 1.0 cannot carry (the record's texts are cleaned already; this is the belt).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class OnAir:
    """What the studio shows: the question on air (if any) and the rundown, in order."""

    meeting: Meeting
    now: Item | None
    waiting: list[Item]


async def studio_meeting(request: Request, key: str | None = None) -> Meeting:
    """The path's meeting, if `key` (else `?key=`) is its overlay key now; 404 otherwise, the
    same for every case, so a URL reveals nothing of a meeting without its key."""
    services: Services = request.app.state.services
    meeting_id = str(request.path_params["meeting_id"])
    given = request.query_params.get("key", "") if key is None else key
    if is_meeting_id(meeting_id) and await overlay_key_matches(services.store, meeting_id, given):
        meeting = await services.hub.meeting(meeting_id)
        if meeting is not None:
            return meeting
    raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")


async def on_air_now(services: Services, meeting_id: str) -> OnAir:
    """On air and the rundown now, from this process's fold of the record (`moderation.rundown`).

    Joining the hub as the overlay audience keeps one fold per process however often vMix
    polls; the board is read before any await, then the feed is left."""

    async def ignore(_: str) -> None:
        return None

    joined = await services.hub.join(meeting_id, Connection(ignore, 1 << 16, lambda: None), OVERLAY)
    try:
        board: Board = joined.board()
        return OnAir(joined.meeting, on_air(board), rundown(board))
    finally:
        joined.leave()


def lang_of(request: Request) -> str:
    """`?lang=`, else the server's default: studio software states no language."""
    services: Services = request.app.state.services
    return pick_language(request.query_params, {}, "", services.settings.default_lang)


def shown_name(name: str, district: str, t: Callable[..., str]) -> str:
    """The name as the sender chose it, or "resident of <district>" (issue 9.5)."""
    if name:
        return name
    return t("studio_resident_of", district=district) if district else t("studio_resident")


def vmix_row(item: Item | None, t: Callable[..., str]) -> dict[str, str]:
    """One row of the feed: plain text, contacts masked; empty strings for no question."""
    if item is None:
        return dict.fromkeys(FIELDS, "")
    shown = studio_question(item)
    text, name, district = str(shown["text"]), str(shown["name"]), str(shown["district"])
    return {
        "Question.Text": " ".join(text.split()),
        "Name.Text": shown_name(name, district, t),
        "District.Text": district,
        "Channel.Text": t(f"channel_{shown['channel']}"),
        "Votes.Text": str(shown["votes"]),
    }


async def _rows(request: Request) -> list[dict[str, str]]:
    services: Services = request.app.state.services
    meeting = await studio_meeting(request)
    air = await on_air_now(services, meeting.id)
    t = translator(lang_of(request))
    return [vmix_row(air.now, t), *(vmix_row(item, t) for item in air.waiting)]


async def vmix_json(request: Request) -> JSONResponse:
    """`GET /feeds/{meeting_id}/vmix.json?key=...`: row 0 on air, then the rundown."""
    return JSONResponse(await _rows(request), headers=NO_STORE)


async def vmix_xml(request: Request) -> Response:
    """`GET /feeds/{meeting_id}/vmix.xml?key=...`: the same rows, `//question` for vMix."""
    root = ElementTree.Element("questions")
    for row in await _rows(request):
        question = ElementTree.SubElement(root, "question")
        for field, value in row.items():
            ElementTree.SubElement(question, field).text = _NOT_XML.sub("", value)
    body = ElementTree.tostring(root, encoding="unicode", xml_declaration=False)
    document = '<?xml version="1.0" encoding="utf-8"?>\n' + body
    return Response(document, media_type="application/xml; charset=utf-8", headers=NO_STORE)
