"""The moderator console over a real socket: live queue, actions, races, and who may do what."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from moderation import AskQuestion, EndMeeting, Meeting, Submission
from server.auth.accounts import Role
from server.settings import Settings
from server.store import Store
from server.usecases import Asked, UseCases, change_meeting, submit
from server.web.console import FIRST_PAGE, PAGE_SIZE
from tests.consoles import Console, ask, console, desk_and_viewer, open_session, seed_board
from tests.helpers import (
    TIMEOUT,
    LiveServer,
    catch_up,
    comment,
    environment,
    recv_json,
    recv_until,
    running_server,
    wait_for,
)

pytestmark = pytest.mark.anyio


async def test_a_console_sees_everything_arrive_and_its_actions_reach_viewers(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with desk_and_viewer(server, store, live_meeting.id, "aliya", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        assert desk.hello["me"] == {"name": "aliya", "role": "moderator", "moderate": True,
                                    "contacts": False}  # fmt: skip
        await viewer.send(comment("c1", "Менің нөмірім 8 701 234 56 78, қоңырау шалыңыз"))
        question = await ask(viewer, "q1", "Когда отремонтируют дорогу на улице Абая?")
        await desk.until(lambda c: question in c.items and len(c.items) == 2)
        held = next(i for i in desk.items.values() if i["kind"] == "comment")
        assert (held["status"], held["held"]) == ("held", "phone")
        assert "234 56 78" not in held["text"], held["text"]
        assert "••78" in held["text"], held["text"]
        assert desk.items[question]["suggested_topic"] == "roads"

        answer = await desk.act("approve", question)
        assert (answer["type"], answer["kind"]) == ("result", "question.approved"), answer
        await desk.until(lambda c: c.items[question]["status"] == "approved")
        assert desk.items[question]["version"] == 2
        assert desk.items[question]["by"] == "aliya"
        shown, _ = await recv_until(viewer, lambda f: f["type"] == "events" and any(
            e["kind"] == "question.approved" for e in f["events"]))  # fmt: skip
        public = shown["events"][-1]
        assert public["question"] == question
        assert public["votes"] == 0
        assert "viewer" not in public
        assert "by" not in public

        hidden = await desk.act("hide", held["id"], reason="personal_data")
        assert hidden["type"] == "result", hidden
        frame, _ = await recv_until(viewer, lambda f: f["type"] == "events" and any(
            e["kind"] == "comment.hidden" for e in f["events"]))  # fmt: skip
        assert frame["events"][-1]["reason"] == "personal_data"
        assert "text" not in frame["events"][-1]


async def test_votes_count_once_per_viewer_and_reach_every_page(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    session = await open_session(store, "aliya", Role.MODERATOR)
    cookies = []
    async with httpx.AsyncClient(base_url=server.url) as http:
        for _ in range(2):
            http.cookies.clear()
            page = await http.get(f"/m/{live_meeting.id}")
            cookies.append(f"halyq_viewer={page.cookies['halyq_viewer']}")
    async with (
        console(server.url, live_meeting.id, session) as ws,
        server.socket(live_meeting.id, additional_headers={"Cookie": cookies[0]}) as first,
        server.socket(live_meeting.id, additional_headers={"Cookie": cookies[1]}) as second,
    ):
        desk = await Console(ws).start()
        await catch_up(first)
        await catch_up(second)
        question = await ask(first, "q1", "Когда в Алмалинском районе дадут горячую воду?")
        await first.send(json.dumps({"type": "vote", "question": question}))
        refused, _ = await recv_until(first, lambda f: f["type"] == "error")
        assert refused["error"] == "not_votable"  # not public before approval
        await desk.until(lambda c: question in c.items)
        assert (await desk.act("approve", question))["type"] == "result"
        for ws_, votes, repeated in ((second, 1, False), (first, 2, False), (first, 2, True)):
            await ws_.send(json.dumps({"type": "vote", "question": question}))
            voted, _ = await recv_until(ws_, lambda f: f["type"] == "voted")
            assert (voted["votes"], voted["repeated"]) == (votes, repeated)
        await desk.until(lambda c: c.items[question]["votes"] == 2)
    async with server.socket(live_meeting.id) as late:
        hello, _ = await catch_up(late)
        assert [(q["id"], q["votes"]) for q in hello["questions"]] == [(question, 2)]


async def test_merge_joins_askers_and_counts_shared_voters_once(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with desk_and_viewer(server, store, live_meeting.id, "aliya", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        first = await ask(viewer, "q1", "Когда починят освещение во дворе дома 5 по Абая?")
        second = await ask(viewer, "q2", "Когда починят освещение во дворе дома 5 на Абая")
        await desk.until(lambda c: second in c.items)
        assert desk.items[second]["similar"] == [first]
        for question in (first, second):
            assert (await desk.act("approve", question))["type"] == "result"
        for question in (first, second):
            await viewer.send(json.dumps({"type": "vote", "question": question}))
            await recv_until(viewer, lambda f: f["type"] == "voted")
        await desk.until(lambda c: c.items[second]["votes"] == 1)
        merged = await desk.act("merge", second, into=first)
        assert merged["type"] == "result", merged
        await desk.until(lambda c: c.items[second]["status"] == "merged")
        await desk.until(lambda c: c.items[first]["version"] == 3)
        assert desk.items[second]["merged_into"] == first
        assert desk.items[first]["votes"] == 1  # the same viewer voted for both: one vote
        frame, _ = await recv_until(viewer, lambda f: f["type"] == "events" and any(
            e["kind"] == "question.merged" for e in f["events"]))  # fmt: skip
        assert frame["events"][-1] | {"id": ""} == {"id": "", "kind": "question.merged",
                                                    "question": first, "votes": 1,
                                                    "merged": second}  # fmt: skip
    async with server.socket(live_meeting.id) as late:
        hello, _ = await catch_up(late)
        assert [q["id"] for q in hello["questions"]] == [first]


async def test_stale_and_refused_actions_change_nothing(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with desk_and_viewer(server, store, live_meeting.id, "aliya", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        question = await ask(viewer, "q1", "Будет ли новая школа в микрорайоне Акбулак?")
        await desk.until(lambda c: question in c.items)
        answers = []
        for frame in (
            {"action": "approve", "version": 7},
            {"action": "queue", "version": 1},
            {"action": "reject", "version": 1, "reason": "because"},
            {"action": "launch", "version": 1},
            {"action": "approve", "version": 1, "item": "999-0"},
            {"action": "approve", "version": "1"},
        ):
            message = {"type": "command", "cmd": "x", "item": question} | frame
            await desk.ws.send(json.dumps(message))
            answer, _ = await recv_until(desk.ws, lambda f: f["type"] == "refused")
            answers.append(answer["error"])
        assert answers == ["conflict", "invalid_transition", "invalid", "invalid", "not_found",
                           "invalid"]  # fmt: skip
        await desk.ws.send("not json")
        assert (await recv_until(desk.ws, lambda f: f["type"] == "refused"))[0]["error"] == (
            "invalid_json"
        )
        items = await store.board.items(desk.hello["meeting"]["id"], [question])
        assert (items[question].status.value, items[question].version) == ("new", 1)


async def race(one: Console, two: Console, questions: list[str]) -> None:
    """Approve from one console and reject from the other, every pair sent at once."""
    for n, question in enumerate(questions):
        await asyncio.gather(
            one.send(f"a{n}", "approve", question, 1),
            two.send(f"b{n}", "reject", question, 1, reason="off_topic"),
        )
    await one.until(lambda c: len(c.answers) == len(questions), TIMEOUT * 3)
    await two.until(lambda c: len(c.answers) == len(questions), TIMEOUT * 3)
    for n, question in enumerate(questions):
        answers = (one.answers[f"a{n}"]["type"], two.answers[f"b{n}"]["type"])
        assert sorted(answers) == ["refused", "result"], (question, answers)
        loser = one.answers[f"a{n}"] if answers[0] == "refused" else two.answers[f"b{n}"]
        assert loser["error"] == "conflict", loser

    def settled(console_: Console) -> bool:
        return all(console_.items.get(q, {}).get("version") == 2 for q in questions)

    await one.until(settled, TIMEOUT * 3)
    await two.until(settled, TIMEOUT * 3)
    assert {q: one.items[q] for q in questions} == {q: two.items[q] for q in questions}


PAIRS = 200


async def test_two_consoles_racing_never_both_win(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    questions = await seed_questions(store, live_meeting.id, PAIRS)
    one = await open_session(store, "aliya", Role.MODERATOR)
    two = await open_session(store, "bolat", Role.MODERATOR)
    async with (
        console(server.url, live_meeting.id, one) as a,
        console(server.url, live_meeting.id, two) as b,
    ):
        left, right = await Console(a).start(), await Console(b).start()
        await race(left, right, questions)
        stored = await store.board.items(live_meeting.id, questions)
        for question in questions:
            assert stored[question].status.value == left.items[question]["status"]
            assert stored[question].version == 2


@pytest.mark.e2e
async def test_two_consoles_on_two_server_processes_race(
    settings: Settings, store: Store, live_meeting: Meeting, tmp_path: Path
) -> None:
    questions = await seed_questions(store, live_meeting.id, PAIRS)
    one = await open_session(store, "aliya", Role.MODERATOR)
    two = await open_session(store, "bolat", Role.MODERATOR)
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    with running_server(tmp_path, env=env) as first, running_server(tmp_path, env=env) as second:
        async with (
            console(first.url, live_meeting.id, one) as a,
            console(second.url, live_meeting.id, two) as b,
        ):
            await race(await Console(a).start(), await Console(b).start(), questions)


async def seed_questions(store: Store, meeting_id: str, count: int) -> list[str]:
    """`count` new questions, asked through `submit` as the viewer socket asks them."""
    cases = UseCases(store=store)
    meeting = await store.meetings.get(meeting_id)
    assert meeting is not None
    ids = []
    for n in range(count):
        command = AskQuestion(client_msg_id=f"seed{n}", name="", text=f"Вопрос {n}: где автобус?")
        submission = Submission(what=command, sender=f"v{n}")
        outcome = await submit(cases, meeting, submission)
        for _ in range(3):  # OVL-2: a loaded machine's late loop answers `overloaded`: resend
            if isinstance(outcome, Asked):
                break
            await wait_for(lambda: not cases.is_overloaded, what="this process on time again")
            outcome = await submit(cases, meeting, submission)
        assert isinstance(outcome, Asked), outcome
        ids.append(outcome.id)
    return ids


# Who may do what (AUTH-2, AUTH-3)


async def test_a_viewer_socket_cannot_send_staff_commands(
    server: LiveServer, live_meeting: Meeting
) -> None:
    async with server.socket(live_meeting.id) as viewer:
        await catch_up(viewer)
        for action in ("approve", "hide", "ban"):
            frame = {"type": "command", "cmd": "x", "action": action, "item": "1-0", "version": 1}
            await viewer.send(json.dumps(frame))
            error, _ = await recv_until(viewer, lambda f: f["type"] == "error")
            assert error["error"] == "forbidden"


async def test_a_producer_may_watch_but_not_moderate(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with desk_and_viewer(server, store, live_meeting.id, "dana", Role.PRODUCER) as (
        desk,
        viewer,
    ):
        assert desk.hello["me"]["moderate"] is False
        question = await ask(viewer, "q1", "Когда откроют поликлинику?")
        await desk.until(lambda c: question in c.items)
        answer = await desk.act("approve", question)
        assert answer["error"] == "forbidden", answer


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.2:9000",
        "null",
        None,
        "https://meeting.example.evil.test",
        "https://evilmeeting.example",
        "HTTP://127.0.0.1",
    ],
)
async def test_cross_origin_console_handshakes_are_refused(
    server: LiveServer, store: Store, live_meeting: Meeting, origin: str | None
) -> None:
    session = await open_session(store, "aliya", Role.MODERATOR)
    if origin == "HTTP://127.0.0.1":
        origin = server.url.upper()
    from websockets.asyncio.client import connect

    headers = {"Cookie": f"halyq_session={session}"}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.ws(f"/ws/console/{live_meeting.id}"), origin=origin,  # type: ignore[arg-type]
                           additional_headers=headers, open_timeout=TIMEOUT):  # fmt: skip
            pass
    assert refused.value.response.status_code == 403


async def test_without_a_session_the_handshake_is_refused(
    server: LiveServer, live_meeting: Meeting
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with console(server.url, live_meeting.id, "x" * 43):
            pass
    assert refused.value.response.status_code == 403


async def test_logout_closes_that_users_consoles_within_five_seconds(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    session = await open_session(store, "aliya", Role.MODERATOR)
    other = await open_session(store, "bolat", Role.MODERATOR)
    staff = store.staff
    found = await staff.session(session, 0, touch=False)
    assert found is not None
    async with (
        console(server.url, live_meeting.id, session) as one,
        console(server.url, live_meeting.id, session) as two,
        console(server.url, live_meeting.id, other) as three,
    ):
        for ws in (one, two, three):
            await Console(ws).start()
        async with httpx.AsyncClient(base_url=server.url) as http:
            response = await http.post(
                "/logout",
                data={"csrf": found.csrf},
                headers={"Cookie": f"halyq_session={session}", "Origin": server.url},
            )
        assert response.status_code == 303
        for ws in (one, two):
            with pytest.raises(ConnectionClosed) as closed:
                await recv_until(ws, lambda f: False, timeout=5.0)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4401
        await three.ping()  # the other user's console stays open


async def test_a_demoted_moderator_is_refused_then_disconnected(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with desk_and_viewer(server, store, live_meeting.id, "aliya", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        question = await ask(viewer, "q1", "Когда заменят трубы отопления?")
        await desk.until(lambda c: question in c.items)
        await store.staff.set_role("aliya", Role.PRODUCER)
        await desk.send("late", "approve", question, 1)
        with pytest.raises(ConnectionClosed) as closed:
            await desk.until(lambda c: False, timeout=5.0)
        assert desk.answers["late"]["error"] == "forbidden"
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403
        assert (await store.board.items(live_meeting.id, [question]))[
            question
        ].status.value == "new"


async def test_an_admin_sees_contact_details_a_moderator_does_not(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    admin = await open_session(store, "root", Role.ADMIN)
    moderator = await open_session(store, "aliya", Role.MODERATOR)
    async with server.socket(live_meeting.id) as viewer:
        await catch_up(viewer)
        await viewer.send(comment("c1", "Пишите: aigul.n@mail.kz или 8 (701) 234-56-78"))
        await recv_until(viewer, lambda f: f["type"] == "ack")
    texts = []
    for session in (admin, moderator):
        async with console(server.url, live_meeting.id, session) as ws:
            desk = await Console(ws).start()
            texts.append(next(iter(desk.items.values()))["text"])
    assert "aigul.n@mail.kz" in texts[0]
    assert "234-56-78" in texts[0]
    assert "aigul" not in texts[1]
    assert "234-56" not in texts[1]
    assert "@mail.kz" in texts[1]


async def test_an_unknown_meeting_closes_4404(server: LiveServer, store: Store) -> None:
    session = await open_session(store, "aliya", Role.MODERATOR)
    async with console(server.url, "no-such-meeting", session) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await recv_json(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4404


async def test_duplicates_are_looked_for_among_questions_that_may_still_be_repeated(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with desk_and_viewer(server, store, live_meeting.id, "aliya", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        kept = await ask(viewer, "q1", "Когда отремонтируют дорогу на улице Абая?")
        rejected = await ask(viewer, "q2", "Когда построят новую школу в Акбулаке?")
        merged = await ask(viewer, "q3", "Когда отремонтируют дорогу по улице Абая")
        await viewer.send(comment("c1", "Когда откроют поликлинику на Жандосова?"))
        ack, _ = await recv_until(viewer, lambda f: f["type"] == "ack")
        await desk.sees(ack["id"])
        await desk.sees(merged)
        assert desk.items[merged]["similar"] == [kept]
        assert (await desk.act("reject", rejected, reason="out_of_scope"))["type"] == "result"
        assert (await desk.act("merge", merged, into=kept))["type"] == "result"
        assert (await desk.act("promote", ack["id"]))["type"] == "result"
        await desk.until(lambda c: len(c.items) == 5)
        promoted = next(i for i, item in desk.items.items() if item["source"] == ack["id"])
        texts = (await UseCases(store=store).questions.of(live_meeting.id)).entries()
        assert texts == [
            (kept, "Когда отремонтируют дорогу на улице Абая?"),
            (promoted, "Когда откроют поликлинику на Жандосова?"),
        ]
        again = await ask(viewer, "q4", "Когда построят новую школу в Акбулаке?")
        await desk.sees(again)
        assert desk.items[again]["similar"] == []  # the rejected one is not suggested


async def test_a_hidden_comment_is_left_out_of_the_history_new_viewers_get(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    secret = "Мой адрес Абая 10 квартира 5, приходите"
    async with desk_and_viewer(server, store, live_meeting.id, "aliya", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        await viewer.send(comment("c1", secret))
        ack, _ = await recv_until(viewer, lambda f: f["type"] == "ack")
        await viewer.send(comment("c2", "Спасибо за встречу"))
        await recv_until(viewer, lambda f: f["type"] == "ack")
        await desk.sees(ack["id"])
        assert (await desk.act("hide", ack["id"], reason="personal_data"))["type"] == "result"
        for after in (None, "0"):
            async with server.socket(live_meeting.id, after=after) as late:
                _, history = await catch_up(late)
            assert secret not in json.dumps(history, ensure_ascii=False)
            hidden = [e for e in history if e.get("kind") == "comment.hidden"]
            assert [(e["comment"], e["reason"]) for e in hidden] == [(ack["id"], "personal_data")]
            assert any(e.get("text") == "Спасибо за встречу" for e in history)
        assert (await desk.act("release", ack["id"]))["type"] == "result"
        async with server.socket(live_meeting.id) as late:
            _, history = await catch_up(late)
        assert [e["kind"] for e in history if secret in str(e.get("text"))] == [
            "comment.posted",
            "comment.released",
        ]


async def test_a_vote_after_the_meeting_ended_is_refused_and_not_counted(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    """R4: votes are taken while live; the viewer is told `meeting_closed`."""
    async with desk_and_viewer(server, store, live_meeting.id, "aliya", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        question = await ask(viewer, "q1", "Когда откроют бассейн в Алмалинском районе?")
        await desk.sees(question)
        assert (await desk.act("approve", question))["type"] == "result"
        await change_meeting(UseCases(store=store), live_meeting.id, EndMeeting())
        await recv_until(viewer, lambda f: f["type"] == "events" and any(
            e["kind"] == "meeting.ended" for e in f["events"]))  # fmt: skip
        await viewer.send(json.dumps({"type": "vote", "question": question}))
        refused, _ = await recv_until(viewer, lambda f: f["type"] in ("error", "voted"))
        assert (refused["type"], refused["error"]) == ("error", "meeting_closed")
    assert (await store.board.items(live_meeting.id, [question]))[question].votes == 0


# Bad frames and ended sessions on the console (INP-1, AUTH-2, AUTH-5)


MALFORMED = [
    ('{"type": "vote", "question": "1-0"}', "", "unknown_type"),
    ('{"type": "command", "cmd": "no spaces", "action": "approve"}', "", "invalid"),
    ('{"type": "command", "cmd": "c1", "action": "approve", "version": 1}', "c1", "invalid"),
    ('{"type": "command", "cmd": "c2", "action": "approve", "item": "x", "version": 1}', "c2",
     "invalid"),
    ('{"type": "command", "cmd": "c3", "action": "reject", "item": "1-0", "version": 1, '
     '"reason": "' + "x" * 201 + '"}', "c3", "invalid"),
    ('{"type": "command", "cmd": "c4", "action": "tag", "item": "1-0", "version": 1, '
     '"topic": ["roads"]}', "c4", "invalid"),
]  # fmt: skip


async def test_malformed_commands_are_refused_and_the_console_keeps_working(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with desk_and_viewer(server, store, live_meeting.id, "aliya", Role.MODERATOR) as (
        desk,
        viewer,
    ):
        for frame, cmd, error in MALFORMED:
            await desk.ws.send(frame)
            refused, _ = await recv_until(desk.ws, lambda f: f["type"] == "refused")
            assert (refused["cmd"], refused["error"]) == (cmd, error), frame
        question = await ask(viewer, "q1", "Когда уберут снег во дворах?")
        await desk.sees(question)
        assert (await desk.act("approve", question))["type"] == "result"


async def test_a_binary_frame_to_the_console_gets_an_error(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    session = await open_session(store, "aliya", Role.MODERATOR)
    async with console(server.url, live_meeting.id, session) as ws:
        await Console(ws).start()
        await ws.send(b"\x01\x02")
        answer, _ = await recv_until(ws, lambda f: f["type"] == "error")
        assert (answer["error"], answer["detail"]) == ("binary", "JSON")
        await ws.send(b"again")  # still open
        assert (await recv_until(ws, lambda f: f["type"] == "error"))[0]["error"] == "binary"


async def test_a_command_after_the_session_ended_is_refused_and_the_console_closes_4401(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    """AUTH-5: the session is checked at every command, not only every 2 s."""
    session = await open_session(store, "aliya", Role.MODERATOR)
    async with console(server.url, live_meeting.id, session) as ws:
        desk = await Console(ws).start()
        await store.staff.delete_session(session)  # signed out elsewhere, or expired
        await desk.send("late", "approve", "1-0", 1)
        with pytest.raises(ConnectionClosed) as closed:
            await desk.until(lambda c: False)
        assert desk.answers["late"]["error"] == "signed_out"
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


async def test_a_role_change_closes_an_idle_console_within_five_seconds(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    """AUTH-2: a moderator made producer is cut off even without sending anything (4403, so
    that the console reconnects with the new rights)."""
    session = await open_session(store, "aliya", Role.MODERATOR)
    async with console(server.url, live_meeting.id, session) as ws:
        desk = await Console(ws).start()
        await store.staff.set_role("aliya", Role.PRODUCER)
        with pytest.raises(ConnectionClosed) as closed:
            await desk.until(lambda c: False, timeout=5.0)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403
    async with console(server.url, live_meeting.id, session) as ws:
        again = await Console(ws).start()
        assert again.hello["me"]["moderate"] is False


async def test_the_console_and_audit_pages_of_an_unknown_meeting_are_404(
    server: LiveServer, store: Store
) -> None:
    session = await open_session(store, "root", Role.ADMIN)
    cookie = {"Cookie": f"halyq_session={session}"}
    async with httpx.AsyncClient(base_url=server.url, headers=cookie) as http:
        for path in ("/console/no-such-meeting", "/console/no-such-meeting/audit"):
            page = await http.get(path)
            assert page.status_code == 404, path
            assert "text/html" in page.headers["content-type"]


# Issue 14: the hello carries each lane's first page; the rest follows in `page` frames.


async def test_a_big_board_comes_as_lanes_first_pages_then_pages_and_nothing_is_lost(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    questions, comments, held = 300, 2400, 5
    await seed_board(store, live_meeting.id, questions=questions, comments=comments, held=held)
    session = await open_session(store, "aliya", Role.MODERATOR)
    async with console(server.url, live_meeting.id, session) as ws:
        hello = await recv_json(ws)
        assert hello["lanes"] == {"incoming": questions, "approved": 0, "on_air": 0,
                                  "comments": comments, "done": 0}  # fmt: skip
        first = hello["items"]
        assert len(first) == 2 * FIRST_PAGE  # a first page of each lane that has items
        incoming = [i["text"].split(":")[0] for i in first if i["kind"] == "question"]
        assert incoming[:3] == ["Q0", "Q1", "Q2"]  # oldest first: nothing waits forever
        shown = [i for i in first if i["kind"] == "comment"]
        assert [i["status"] for i in shown[: held + 1]] == ["held"] * held + ["shown"]
        assert shown[held]["text"].startswith(f"C{comments - 1}:")  # then newest first
        assert hello["more"] == questions + comments - 2 * FIRST_PAGE
        desk = Console(ws)
        desk.hello, desk.items = hello, {i["id"]: i for i in first}
        more, pages = hello["more"], 0
        while more:
            page = await recv_json(ws)
            assert page["type"] == "page", page
            assert len(page["items"]) <= PAGE_SIZE
            desk.items |= {i["id"]: i for i in page["items"]}
            more, pages = page["more"], pages + 1
        assert pages == 2
        assert len(desk.items) == questions + comments
        # An event after the snapshot comes after every page, and applies in order.
        oldest = next(i["id"] for i in first if i["text"].startswith("Q0:"))
        answer = await desk.act("approve", oldest)
        assert answer["type"] == "result", answer
        assert desk.items[oldest]["status"] == "approved"
        q1, q2 = (next(i["id"] for i in first if i["text"].startswith(f"Q{n}:")) for n in (1, 2))
        assert (await desk.act("reject", q1, reason="spam"))["type"] == "result"
        for action in ("approve", "queue", "on_air"):
            assert (await desk.act(action, q2))["type"] == "result", action
    # A console opened now finds each question in its lane, the counts right.
    async with console(server.url, live_meeting.id, session) as ws:
        later = await Console(ws).start()
        assert later.hello["lanes"] == {"incoming": questions - 3, "approved": 1, "on_air": 1,
                                        "comments": comments, "done": 1}  # fmt: skip
        assert len(later.items) == questions + comments
        statuses = {later.items[i]["status"] for i in (oldest, q1, q2)}
        assert statuses == {"approved", "rejected", "on_air"}


async def test_the_console_header_links_only_pages_the_role_may_open(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    """Issue 14: the audit trail needs `view_audit`; a producer's or an operator's console
    does not link to it (it would answer 403), a moderator's does."""
    for name, role, linked in (("aliya", Role.MODERATOR, True), ("dana", Role.PRODUCER, False),
                               ("olzhas", Role.OPERATOR, False)):  # fmt: skip
        session = await open_session(store, name, role)
        cookie = {"Cookie": f"halyq_session={session}"}
        async with httpx.AsyncClient(base_url=server.url, headers=cookie) as http:
            page = await http.get(f"/console/{live_meeting.id}")
            assert page.status_code == 200, role
            assert ('data-link="audit"' in page.text) is linked, role
            assert 'data-link="transparency"' in page.text
            audit = await http.get(f"/console/{live_meeting.id}/audit")
            assert (audit.status_code == 200) is linked, (role, audit.status_code)
