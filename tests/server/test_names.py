"""Impostor and blank names over a real viewer socket (issue 8, INP-4): refused, never recorded;
staff speaking as staff from the console, with the badge its channel gives."""

from __future__ import annotations

import json

import pytest

from moderation import CommentHeld, CommentPosted, Meeting
from server.auth.accounts import Role
from server.store import Store
from tests.consoles import desk_and_viewer
from tests.helpers import LiveServer, catch_up, comment, recv_until

pytestmark = pytest.mark.anyio


async def test_inp4_an_impostor_name_is_rejected_reserved_name_and_not_recorded(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with server.socket(live_meeting.id) as ws:
        await catch_up(ws)
        answers = []
        for client_msg_id, name in (("n-1", "А\u200bкім ✔"), ("n-2", "\u3164"), ("n-3", "Әкімжан")):
            await ws.send(comment(client_msg_id, "Сәлеметсіз бе!", name))
            answer, _ = await recv_until(ws, lambda f: f["type"] in ("ack", "rejected"))
            answers.append(answer)
    assert answers[0] == {
        "type": "rejected",
        "client_msg_id": "n-1",
        "reason": "reserved_name",
        "detail": "the name reads as an official role; choose another",
    }
    assert (answers[1]["reason"], answers[1]["detail"]) == ("invalid", "the name is empty")
    assert (answers[2]["type"], answers[2]["status"]) == ("ack", "posted")
    entries = await store.record.range(live_meeting.id, "-", "+", count=100)
    comments = [e for _, e in entries if isinstance(e, CommentPosted | CommentHeld)]
    assert [(c.client_msg_id, c.name) for c in comments] == [("n-3", "Әкімжан")]


async def test_staff_post_as_staff_and_viewers_see_the_badge_no_viewer_can_get(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    """Issue 8: the console's `post` goes through `submit` on the staff channel; a viewer
    frame that names that channel is a web comment all the same."""
    async with desk_and_viewer(server, store, live_meeting.id, "aliya", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        text = "Сәлеметсіздер ме! Сұрақтарыңызды жазыңыздар."
        await desk.ws.send(json.dumps({"type": "post", "cmd": "p1", "text": f" {text} "}))
        await desk.until(lambda c: "p1" in c.answers)
        assert (desk.answers["p1"]["type"], desk.answers["p1"]["kind"]) == (
            "result",
            "comment.posted",
        )
        posted = desk.answers["p1"]["id"]
        await desk.sees(posted)
        assert (desk.items[posted]["channel"], desk.items[posted]["name"]) == ("staff", "aliya")
        frame, _ = await recv_until(viewer, lambda f: f["type"] == "events" and bool(f["events"]))
        assert frame["events"][0] | {"at": 0} == {
            "id": posted, "kind": "comment.posted", "at": 0, "channel": "staff", "name": "aliya",
            "text": text,
        }  # fmt: skip
        forged = json.loads(comment("v1", "Мен де модератормын", "aliya")) | {"channel": "staff"}
        await viewer.send(json.dumps(forged))
        # The event may come before the ack: look for it among the frames before the ack too.
        _, before = await recv_until(viewer, lambda f: f["type"] == "ack")
        seen = [e for f in before if f["type"] == "events" for e in f["events"]]
        if not seen:
            frame, _ = await recv_until(viewer, lambda f: f["type"] == "events")
            seen = frame["events"]
        assert [(e["channel"], e["name"], e["text"]) for e in seen] == [
            ("web", "aliya", "Мен де модератормын")
        ]
        await desk.ws.send(json.dumps({"type": "post", "cmd": "p2", "text": 5}))
        await desk.until(lambda c: "p2" in c.answers)
        assert (desk.answers["p2"]["type"], desk.answers["p2"]["error"]) == ("refused", "invalid")


async def test_a_role_that_may_not_moderate_cannot_post_as_staff(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with desk_and_viewer(server, store, live_meeting.id, "baqyt", Role.PRODUCER) as (
        desk,
        _,
    ):
        await desk.ws.send(json.dumps({"type": "post", "cmd": "p1", "text": "Сәлем"}))
        await desk.until(lambda c: "p1" in c.answers)
        assert (desk.answers["p1"]["type"], desk.answers["p1"]["error"]) == ("refused", "forbidden")
    entries = await store.record.range(live_meeting.id, "-", "+", count=100)
    assert not [e for _, e in entries if isinstance(e, CommentPosted)]
