"""The rundown's HTTP API on a real server and Redis (issue 9): take, clear, next and move as a
producer's desk or a Stream Deck (Companion) calls them, with the admin token or the meeting's
producer key; what each answers, what it refuses, and what the record keeps (R4: the moments a
question went on and off air)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moderation import Conflict, Meeting, Moderate, NotFound
from moderation import rundown as domain
from moderation.commands import AskQuestion, Submission
from moderation.events import QuestionOffAir, QuestionOnAir, RundownMoved
from server.auth.keys import BY_ADMIN_TOKEN, BY_PRODUCER_KEY, KeyKind, current_key
from server.store import Store
from server.usecases import Asked, UseCases, act, now_ms, submit
from server.usecases import rundown as cases
from tests.helpers import LiveServer

pytestmark = pytest.mark.anyio

ADMIN = {"Authorization": "Bearer test-admin-token"}
NOW = now_ms()
CONTACTS = "Мой номер +7 701 234 56 78, почта aigul.n@mail.kz, ИИН 900101300123: когда дадут воду?"


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def approved(
    server: LiveServer, meeting: Meeting, texts: list[str], *, queue: int = 0, name: str = ""
) -> list[str]:
    """Questions asked and approved in order, the first `queue` of them queued too."""
    usecases = server.services.usecases
    found = []
    for n, text in enumerate(texts):
        command = AskQuestion(client_msg_id=f"r{n}-{len(text)}", name=name, text=text)
        outcome = await submit(usecases, meeting, Submission(what=command, sender=f"v{n}"))
        assert isinstance(outcome, Asked), outcome
        await act(usecases, meeting, Moderate(action="approve", item=outcome.id, version=1), by="m")
        if n < queue:
            await act(
                usecases, meeting, Moderate(action="queue", item=outcome.id, version=2), by="m"
            )
        found.append(outcome.id)
    return found


async def post(
    http: httpx.AsyncClient,
    meeting_id: str,
    verb: str,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = (
        body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    )
    return await http.post(
        f"/api/meetings/{meeting_id}/rundown/{verb}",
        content=content,
        headers=ADMIN if headers is None else headers,
    )


def ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = answer.json()
    assert set(body) == {"on_air", "rundown"}
    return body


def order(body: dict[str, Any]) -> list[str]:
    return [q["id"] for q in body["rundown"]]


async def record(store: Store, meeting_id: str) -> list[Any]:
    return [e for _, e in await store.record.range(meeting_id, "-", "+", count=10_000)]


async def test_r4_a_take_replaces_what_is_on_air_and_the_replaced_goes_back_to_the_top(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting, store: Store
) -> None:
    a, b, c = await approved(server, live_meeting, ["Су?", "Жол?", "Мектеп?"])
    first = ok(await post(http, live_meeting.id, "take", {"question": b}))
    assert first["on_air"]["id"] == b
    assert first["on_air"]["status"] == "on_air"
    assert order(first) == [a, c]
    second = ok(await post(http, live_meeting.id, "take", {"question": c}))
    assert second["on_air"]["id"] == c
    assert order(second) == [b, a]  # the replaced one on top
    assert second["rundown"][0]["status"] == "queued"
    air = [
        e
        for e in await record(store, live_meeting.id)
        if isinstance(e, QuestionOnAir | QuestionOffAir)
    ]
    assert [(type(e), e.item) for e in air] == [
        (QuestionOnAir, b), (QuestionOffAir, b), (QuestionOnAir, c)
    ]  # fmt: skip
    assert all(e.by == BY_ADMIN_TOKEN and e.at > 0 for e in air)  # when, for the transcript


async def test_r4_an_answered_question_does_not_come_back_on_a_take(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    a, b = await approved(server, live_meeting, ["Су?", "Жол?"])
    ok(await post(http, live_meeting.id, "take", {"question": a}))
    usecases = server.services.usecases
    await act(usecases, live_meeting, Moderate(action="answer", item=a, version=3), by="m")
    after = ok(await post(http, live_meeting.id, "take", {"question": b}))
    assert (after["on_air"]["id"], order(after)) == (b, [])


async def test_the_desk_reads_the_air_and_marks_the_question_on_air_answered_or_deferred(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    """GET .../rundown answers as the actions do; .../answered and .../deferred end the air
    of the question on it for good, and refuse (409) with nothing on air."""
    a, b, c = await approved(server, live_meeting, ["Су?", "Жол?", "Мектеп?"])
    path = f"/api/meetings/{live_meeting.id}/rundown"
    assert (await http.get(path)).status_code == 401
    now = ok(await http.get(path, headers=ADMIN))
    assert (now["on_air"], order(now)) == (None, [a, b, c])
    ok(await post(http, live_meeting.id, "take", {"question": a}))
    answered = ok(await post(http, live_meeting.id, "answered"))
    assert (answered["on_air"], order(answered)) == (None, [b, c])
    ok(await post(http, live_meeting.id, "next"))
    deferred = ok(await post(http, live_meeting.id, "deferred"))
    assert (deferred["on_air"], order(deferred)) == (None, [c])
    assert ok(await http.get(path, headers=ADMIN)) == deferred
    refused = await post(http, live_meeting.id, "answered")
    assert refused.status_code == 409, refused.text
    board = await server.services.store.board.items(live_meeting.id, [a, b])
    assert {i.id: i.status.value for i in board.values()} == {a: "answered", b: "deferred"}


async def test_clear_leaves_nothing_on_air_and_puts_the_cleared_back_on_top(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    a, b = await approved(server, live_meeting, ["Су?", "Жол?"], queue=1)
    ok(await post(http, live_meeting.id, "take", {"question": b}))
    cleared = ok(await post(http, live_meeting.id, "clear"))
    assert cleared == {"on_air": None, "rundown": cleared["rundown"]}
    assert order(cleared) == [b, a]
    again = ok(await post(http, live_meeting.id, "clear"))  # a second press changes nothing
    assert again == cleared


async def test_next_follows_the_order_the_producer_set_with_moves(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting, store: Store
) -> None:
    a, b, c = await approved(server, live_meeting, ["Су?", "Жол?", "Мектеп?"], queue=1)
    key = await current_key(store, live_meeting.id, KeyKind.PRODUCER)
    producer = {"Authorization": f"Bearer {key}"}
    moved = ok(await post(http, live_meeting.id, "move", {"question": c, "position": 0}, producer))
    assert order(moved) == [c, a, b]
    moved = ok(await post(http, live_meeting.id, "move", {"question": a, "position": 9}, producer))
    assert order(moved) == [c, b, a]
    taken = []
    for _ in range(3):  # each answered before the next, as in the studio
        on_air = ok(await post(http, live_meeting.id, "next", None, producer))["on_air"]
        taken.append(on_air["id"])
        answer = Moderate(action="answer", item=on_air["id"], version=on_air["version"])
        await act(server.services.usecases, live_meeting, answer, by="m")
    assert taken == [c, b, a]
    empty = await post(http, live_meeting.id, "next", None, producer)
    assert (empty.status_code, empty.json()["error"]) == (409, "invalid_transition")
    moves = [e for e in await record(store, live_meeting.id) if isinstance(e, RundownMoved)]
    assert [(m.question, m.position, m.by) for m in moves] == [
        (c, 0, BY_PRODUCER_KEY), (a, 2, BY_PRODUCER_KEY)
    ]  # fmt: skip


async def test_the_answer_masks_a_phone_an_email_and_an_iin_and_keeps_the_name_chosen(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    (question,) = await approved(server, live_meeting, [CONTACTS], name="Айгүл +77011112233")
    (waiting,) = ok(
        await post(http, live_meeting.id, "move", {"question": question, "position": 0})
    )["rundown"]
    shown = ok(await post(http, live_meeting.id, "take", {"question": question}))["on_air"]
    for seen in (waiting, shown):
        text = json.dumps(seen, ensure_ascii=False)
        for secret in ("701 234 56 78", "aigul.n@", "900101300123", "77011112233"):
            assert secret not in text
        assert seen["text"] == (
            "Мой номер ••• ••• ••78, почта •••@mail.kz, ИИН ••• ••• ••23: когда дадут воду?"
        )
        assert seen["name"] == "Айгүл ••• ••• ••33"


async def test_the_rundown_api_refuses_clearly_and_changes_nothing(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting, store: Store
) -> None:
    a, b = await approved(server, live_meeting, ["Су?", "Жол?"])
    new = await submit(
        server.services.usecases,
        live_meeting,
        Submission(what=AskQuestion(client_msg_id="new", name="", text="Жаңа?"), sender="v9"),
    )
    assert isinstance(new, Asked)
    before = await record(store, live_meeting.id)
    mid = live_meeting.id
    tried: list[tuple[str, object, dict[str, str], int, str]] = [
        ("take", {"question": a}, {}, 401, "unauthorized"),
        ("clear", None, {"Authorization": "Bearer"}, 401, "unauthorized"),
        ("next", None, {"Authorization": "Bearer nope"}, 403, "forbidden"),
        ("move", {"question": a, "position": 0}, {"Authorization": "Basic dGVzdA=="}, 401,
         "unauthorized"),
        ("take", b"{not json", ADMIN, 400, "bad_request"),
        ("take", [a], ADMIN, 400, "bad_request"),
        ("take", {}, ADMIN, 400, "invalid"),
        ("take", {"question": 7}, ADMIN, 400, "invalid"),
        ("move", {"question": a}, ADMIN, 400, "invalid"),
        ("move", {"question": a, "position": -1}, ADMIN, 400, "invalid"),
        ("move", {"question": a, "position": True}, ADMIN, 400, "invalid"),
        ("move", {"position": 0}, ADMIN, 400, "invalid"),
        ("take", {"question": "9-9"}, ADMIN, 404, "not_found"),
        ("move", {"question": "9-9", "position": 0}, ADMIN, 404, "not_found"),
        ("take", {"question": new.id}, ADMIN, 409, "invalid_transition"),
        ("move", {"question": new.id, "position": 0}, ADMIN, 409, "invalid_transition"),
        ("take", b" " * 5000, ADMIN, 413, "too_large"),
    ]  # fmt: skip
    for verb, body, headers, status, code in tried:
        answer = await post(http, mid, verb, body, headers)
        assert (answer.status_code, answer.json()["error"]) == (status, code), (verb, body)
        if code == "invalid":
            named = isinstance(body, dict) and "question" in body and verb == "move"
            field = "position" if named else "question"
            assert answer.json()["detail"].startswith(field), answer.json()
    for missing in ("no-such-meeting", "UPPER"):
        for verb in ("take", "clear", "next", "move"):
            answer = await post(http, missing, verb, {"question": a, "position": 0})
            assert answer.status_code == 404, (missing, verb)
    assert await record(store, mid) == before  # nothing changed
    ok(await post(http, mid, "take", {"question": a}))
    refused = await post(http, mid, "move", {"question": a, "position": 0})
    assert (refused.status_code, refused.json()["error"]) == (409, "invalid_transition")
    ok(await post(http, mid, "take", {"question": b}))
    ok(await post(http, mid, "take", {"question": a}))
    await act(
        server.services.usecases, live_meeting, Moderate(action="answer", item=a, version=5), by="m"
    )
    ok(await post(http, mid, "next"))
    empty = await post(http, mid, "next")
    assert (empty.status_code, empty.json()["error"]) == (409, "invalid_transition")
    assert "the rundown is empty" in empty.json()["detail"]


async def test_r4_of_two_decisions_on_the_same_rundown_one_applies_the_other_is_a_conflict(
    server: LiveServer, live_meeting: Meeting, store: Store
) -> None:
    a, b = await approved(server, live_meeting, ["Су?", "Жол?"])
    usecases, mid, now = server.services.usecases, live_meeting.id, NOW
    # Two producers read the same rundown, then each decides and appends: a race, in order.
    first, second = await cases.fold(usecases, mid), await cases.fold(usecases, mid)
    won = await cases.append(usecases, mid, first, domain.take(first.board, a, by="p1", now=now))
    assert won.on_air is not None
    assert won.on_air.id == a
    before = await record(store, mid)
    late = domain.move(second.board, b, 0, by="p2", now=now)
    with pytest.raises(Conflict, match="the rundown changed meanwhile"):
        await cases.append(usecases, mid, second, [late])
    assert await record(store, mid) == before  # nothing of the loser
    air = await cases.air(usecases, mid)
    assert air.on_air is not None
    assert (air.on_air.id, [q.id for q in air.rundown]) == (a, [b])


async def test_r4_a_take_decided_before_a_moderators_action_on_it_is_a_conflict(
    server: LiveServer, live_meeting: Meeting, store: Store
) -> None:
    (a,) = await approved(server, live_meeting, ["Су?"])
    usecases, mid = server.services.usecases, live_meeting.id
    read = await cases.fold(usecases, mid)
    events = domain.take(read.board, a, by="p", now=NOW)
    await act(usecases, live_meeting, Moderate(action="queue", item=a, version=2), by="m")
    before = await record(store, mid)
    with pytest.raises(Conflict, match="a question it names changed meanwhile"):
        await cases.append(usecases, mid, read, events)
    assert await record(store, mid) == before
    assert (await cases.air(usecases, mid)).on_air is None


async def test_a_process_sees_the_takes_another_made_and_keeps_few_meetings_folded(
    server: LiveServer, live_meeting: Meeting, store: Store
) -> None:
    (a,) = await approved(server, live_meeting, ["Су?"])
    other = UseCases(store=store)  # another server process on the same Redis
    assert (await cases.air(other, live_meeting.id)).on_air is None
    await cases.take(server.services.usecases, live_meeting.id, a, by="p")
    seen = await cases.air(other, live_meeting.id)
    assert seen.on_air is not None
    assert (seen.on_air.id, seen.rundown) == (a, [])
    # What one decision folds in is its own copy: the kept board moves only with the record.
    folded = await other.rundowns.of(live_meeting.id)
    folded.board.fold("9-0", QuestionOffAir(at=NOW, by="p", item=a, version=4))
    assert (await cases.air(other, live_meeting.id)).on_air == seen.on_air
    names = [f"none-{n}" for n in range(cases.KEPT + 1)]
    for name in names:
        assert (await other.rundowns.of(name)).board.items == {}
    assert other.rundowns.kept == names[1:]  # the least recently used went first


async def test_the_air_of_a_meeting_that_does_not_exist_is_not_found(
    server: LiveServer,
) -> None:
    with pytest.raises(NotFound, match="no meeting"):
        await cases.air(server.services.usecases, "no-such-meeting")
