"""The studio's overlays and data feeds over real HTTP and WebSockets (issue 9.3, 9.4, 9.5).

The vMix feeds' exact shape (row 0 on air, then the rundown), the overlay socket's frames, the
overlay key (a missing, wrong or rotated key, or an unknown meeting, is 404 everywhere), and no
phone number, e-mail address or IIN on any feed or overlay frame.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from moderation import Meeting, Moderate
from server.auth.keys import KeyKind, current_key, rotate_key
from server.store import Store
from server.usecases import act
from tests.helpers import TIMEOUT, LiveServer, catch_up, recv_json, recv_until

pytestmark = pytest.mark.anyio

FIELDS = ["Question.Text", "Name.Text", "District.Text", "Channel.Text", "Votes.Text"]
OVERLAYS = ("lower-third", "clock", "ticker")
FEEDS = ("vmix.json", "vmix.xml")
NOTHING = dict.fromkeys(FIELDS, "")
# A question that gives away a phone number, an e-mail address and an IIN (issue 9.5).
CONTACTS = (
    "Менің нөмірім +7 701 234 56 78, поштам aigul.s@mail.kz, ЖСН 900101300123: "
    "Абай көшесіндегі жолды қашан жөндейді?"
)
SECRETS = ("234 56 78", "2345678", "7012345678", "aigul.s", "900101300123", "90010130")
ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def asked(
    server: LiveServer, meeting: Meeting, texts: list[tuple[str, str, str]]
) -> list[str]:
    """Questions asked on a viewer socket: (text, name, district) each; their ids."""
    ids = []
    async with server.socket(meeting.id) as viewer:
        await catch_up(viewer)
        for n, (text, name, district) in enumerate(texts):
            frame = {"type": "question", "client_msg_id": f"q{n}", "name": name, "text": text,
                     "district": district}  # fmt: skip
            await viewer.send(json.dumps(frame))
            ack, _ = await recv_until(viewer, lambda f: "client_msg_id" in f)
            assert (ack["type"], ack["status"], ack["client_msg_id"]) == ("ack", "pending", f"q{n}")
            ids.append(str(ack["id"]))
    return ids


async def moderate(server: LiveServer, meeting: Meeting, question: str, *actions: str) -> None:
    """Staff actions on a question through the one way in (`act`), as a console sends them."""
    for action in actions:
        items = await server.services.store.board.items(meeting.id, [question])
        command = Moderate(action=action, item=question, version=items[question].version)
        await act(server.services.usecases, meeting, command, by="aliya")


def overlay_socket(server: LiveServer, meeting_id: str, key: str) -> Any:
    return connect(
        server.ws(f"/ws/overlay/{meeting_id}?key={key}"),
        compression=None,
        max_size=None,
        open_timeout=TIMEOUT,
    )


async def feed(http: httpx.AsyncClient, meeting_id: str, key: str) -> list[dict[str, str]]:
    answer = await http.get(f"/feeds/{meeting_id}/vmix.json", params={"key": key})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    rows: list[dict[str, str]] = answer.json()
    return rows


async def xml_feed(http: httpx.AsyncClient, meeting_id: str, key: str) -> list[dict[str, str]]:
    answer = await http.get(f"/feeds/{meeting_id}/vmix.xml", params={"key": key})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"] == "application/xml; charset=utf-8"
    assert answer.text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<questions>')
    root = ElementTree.fromstring(answer.content)
    assert root.tag == "questions"
    rows = []
    for question in root.findall("./question"):  # vMix's XPath: //question
        assert [child.tag for child in question] == FIELDS
        assert all(len(child) == 0 for child in question)  # plain text, no markup
        rows.append({child.tag: child.text or "" for child in question})
    assert len(rows) == len(root)
    return rows


async def test_the_vmix_feeds_give_row_0_on_air_then_the_rundown(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    key = await current_key(server.services.store, live_meeting.id, KeyKind.OVERLAY)
    assert await feed(http, live_meeting.id, key) == [NOTHING]  # nothing on air, no rundown
    first, second, third, fresh = await asked(
        server,
        live_meeting,
        [
            ("Когда отремонтируют дорогу на улице Абая?", "Айгүл", "Алмалы"),
            ("Қашан   жаңа мектеп\nсалынады?", "", "Алмалы"),
            ("Будет ли освещение во дворах?", "Серік", ""),
            ("Не одобрен: его не видно", "Асан", ""),
        ],
    )
    await moderate(server, live_meeting, first, "approve")
    await moderate(server, live_meeting, second, "approve")
    await moderate(server, live_meeting, third, "approve", "queue")
    rows = await feed(http, live_meeting.id, key)
    assert rows[0] == NOTHING  # row 0 is on air: empty while nothing is
    await moderate(server, live_meeting, first, "queue", "on_air")
    rows = await feed(http, live_meeting.id, key)
    assert rows == [
        {"Question.Text": "Когда отремонтируют дорогу на улице Абая?", "Name.Text": "Айгүл",
         "District.Text": "Алмалы", "Channel.Text": "сайт", "Votes.Text": "0"},
        # the rundown: queued before approved, each oldest first (no producer's order yet)
        {"Question.Text": "Будет ли освещение во дворах?", "Name.Text": "Серік",
         "District.Text": "", "Channel.Text": "сайт", "Votes.Text": "0"},
        {"Question.Text": "Қашан жаңа мектеп салынады?", "Name.Text": "Алмалы тұрғыны",
         "District.Text": "Алмалы", "Channel.Text": "сайт", "Votes.Text": "0"},
    ]  # fmt: skip
    assert fresh not in json.dumps(rows)
    assert await xml_feed(http, live_meeting.id, key) == rows
    in_russian = await http.get(
        f"/feeds/{live_meeting.id}/vmix.json", params={"key": key, "lang": "ru"}
    )
    assert in_russian.json()[2]["Name.Text"] == "Житель района Алмалы"
    assert in_russian.json()[0]["Channel.Text"] == "сайт"


async def test_a_missing_wrong_or_rotated_key_is_404_on_every_overlay_feed_and_socket(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting, store: Store
) -> None:
    meeting = live_meeting.id
    old = await current_key(store, meeting, KeyKind.OVERLAY)
    paths = [f"/overlay/{meeting}/{name}" for name in OVERLAYS]
    paths += [f"/feeds/{meeting}/{name}" for name in FEEDS]
    for path in paths:
        assert (await http.get(path, params={"key": old})).status_code == 200, path
    async with overlay_socket(server, meeting, old) as opened:
        assert (await recv_json(opened))["type"] == "hello"
        new = await rotate_key(store, meeting, KeyKind.OVERLAY)
        # An open overlay closes once its key is rotated (checked every 2 s).
        with pytest.raises(ConnectionClosed) as closed:
            await recv_json(opened)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4404
    refused = {"missing": None, "wrong": "x" * 32, "rotated": old, "empty": ""}
    for what, key in refused.items():
        params = {} if key is None else {"key": key}
        for path in [*paths, "/overlay/nosuchmeeting/clock", "/feeds/0-0/vmix.json"]:
            answer = await http.get(path, params=params)
            assert answer.status_code == 404, (what, path)
            assert live_meeting.title not in answer.text  # nothing tells the meeting exists
        with pytest.raises(InvalidStatus) as denied:
            async with overlay_socket(server, meeting, key or ""):
                pass
        assert denied.value.response.status_code == 404, what
    for unknown in ("nosuchmeeting", "0-0"):  # no such meeting: the same 404
        with pytest.raises(InvalidStatus) as denied:
            async with overlay_socket(server, unknown, old):
                pass
        assert denied.value.response.status_code == 404, unknown
    # The new key opens all of them, and another meeting's key opens nothing here.
    for path in paths:
        assert (await http.get(path, params={"key": new})).status_code == 200, path
    created = await http.post(
        "/api/meetings",
        headers=ADMIN,
        json={"title": "Другая", "akim": "А", "level": "local", "territory": "Алматы",
              "planned_minutes": 60},
    )  # fmt: skip
    other = await current_key(store, created.json()["id"], KeyKind.OVERLAY)
    assert (await http.get(paths[0], params={"key": other})).status_code == 404


async def test_contacts_never_reach_any_feed_or_overlay_frame(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    """Issue 9.5: a phone number, an e-mail address and an IIN, in the text and in the name,
    are masked on every feed and on the overlay socket's hello and events."""
    key = await current_key(server.services.store, live_meeting.id, KeyKind.OVERLAY)
    async with overlay_socket(server, live_meeting.id, key) as ws:
        hello = await recv_json(ws)
        (question,) = await asked(server, live_meeting, [(CONTACTS, "Айгүл 87012345678", "Алмалы")])
        await moderate(server, live_meeting, question, "approve", "queue", "on_air")
        frame, before = await recv_until(
            ws, lambda f: any(e["kind"] == "question.on_air" for e in f.get("events", []))
        )
        async with overlay_socket(server, live_meeting.id, key) as again:
            later = await recv_json(again)
    rows = await feed(http, live_meeting.id, key)
    xml = (await http.get(f"/feeds/{live_meeting.id}/vmix.xml", params={"key": key})).text
    shown = [json.dumps(x, ensure_ascii=False) for x in (hello, frame, *before, later, rows)]
    for text in [*shown, xml]:
        flat = text.replace(" ", "").replace("-", "")
        for secret in SECRETS:
            assert secret.replace(" ", "") not in flat, (secret, text)
    assert later["on_air"]["text"].startswith("Менің нөмірім ••• ••• ••78, поштам •••@mail.kz")
    assert "ЖСН ••• ••• ••23" in later["on_air"]["text"]
    assert later["on_air"]["name"] == "Айгүл ••• ••• ••78"
    assert rows[0]["Question.Text"] == later["on_air"]["text"]


async def test_the_overlay_socket_says_hello_then_follows_the_air_and_the_clock(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    key = await current_key(server.services.store, live_meeting.id, KeyKind.OVERLAY)
    first, second = await asked(
        server,
        live_meeting,
        [("Жол қашан жөнделеді?", "Айгүл", "Алмалы"), ("Где новая школа?", "", "")],
    )
    await moderate(server, live_meeting, first, "approve")
    async with overlay_socket(server, live_meeting.id, key) as ws:
        hello = await recv_json(ws)
        assert sorted(hello) == ["as_of", "clock", "now", "on_air", "rundown", "type"]
        assert hello["on_air"] is None
        assert [q["question"] for q in hello["rundown"]] == [first]
        assert hello["rundown"][0] == {
            "question": first, "status": "approved", "text": "Жол қашан жөнделеді?",
            "name": "Айгүл", "district": "Алмалы", "channel": "web", "votes": 0,
            "at": hello["rundown"][0]["at"],
        }  # fmt: skip
        assert hello["clock"]["phase"] == "not_started"
        assert abs(hello["now"] - hello["clock"]["as_of"]) < 1000
        await moderate(server, live_meeting, second, "approve")
        await moderate(server, live_meeting, first, "queue", "on_air")
        events = await events_until(ws, "question.on_air")
        kinds = ["question.approved", "question.queued", "question.on_air"]
        assert [e["kind"] for e in events] == kinds
        assert events[0]["questions"][0]["name"] == ""  # the screen says "resident of"
        assert events[2]["questions"] == [hello["rundown"][0] | {"status": "on_air"}]
        answer = await http.post(
            f"/api/meetings/{live_meeting.id}/phase", headers=ADMIN, json={"phase": "qa"}
        )
        assert answer.status_code == 200
        (changed,) = await events_until(ws, "meeting.phase_changed")
        assert changed["clock"]["phase"] == "qa"
        assert sorted(changed["clock"]) == sorted(hello["clock"])
        await moderate(server, live_meeting, first, "answer")
        (answered,) = await events_until(ws, "question.answered")
        assert answered["questions"][0]["status"] == "answered"


async def events_until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """The events a socket receives up to the first of `kind` (comments never come)."""
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["kind"] != kind:
        frame = await recv_json(ws)
        assert frame["type"] == "events", frame
        seen += frame["events"]
    return seen


async def test_the_producers_take_move_and_clear_reach_the_feed_and_the_overlays_in_order(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    """Row 0 follows the air, the rest the producer's order; a replaced question goes back to
    the top of the rundown, on the feed and on the overlay socket alike."""
    meeting = live_meeting.id
    key = await current_key(server.services.store, meeting, KeyKind.OVERLAY)
    a, b, c = await asked(
        server, live_meeting, [("Жол?", "А", ""), ("Мектеп?", "Б", ""), ("Су?", "В", "")]
    )
    for question in (a, b, c):
        await moderate(server, live_meeting, question, "approve")

    async def studio(action: str, **body: object) -> None:
        answer = await http.post(f"/api/meetings/{meeting}/rundown/{action}", headers=ADMIN,
                                 json=body)  # fmt: skip
        assert answer.status_code == 200, answer.text

    async def rows() -> list[str]:
        return [row["Name.Text"] for row in await feed(http, meeting, key)]

    async with overlay_socket(server, meeting, key) as ws:
        hello = await recv_json(ws)
        assert [q["question"] for q in hello["rundown"]] == [a, b, c]
        await studio("move", question=c, position=0)
        (moved,) = await events_until(ws, "rundown.moved")
        assert moved == {"id": moved["id"], "kind": "rundown.moved", "order": [c, a, b]}
        assert await rows() == ["", "В", "А", "Б"]
        await studio("take", question=a)
        await events_until(ws, "question.on_air")
        assert await rows() == ["А", "В", "Б"]
        await studio("take", question=b)  # replaces a, which goes back to the top
        events = await events_until(ws, "question.on_air")
        assert [(e["kind"], e["questions"][0]["status"]) for e in events] == [
            ("question.off_air", "queued"),
            ("question.on_air", "on_air"),
        ]
        assert await rows() == ["Б", "А", "В"]
        await studio("clear")
        await events_until(ws, "question.off_air")
        assert await rows() == ["", "Б", "А", "В"]
