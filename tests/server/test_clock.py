"""The quarter-of-time clock on a real server and Redis (R4, issue 9): the API's contract, phase
changes reaching every socket, warnings appended once by several servers, a restart that loses
no time, the per-meeting keys, and the compliance summary after the meeting.

The server's time is `UseCases.clock`, set here to a clock that moves only when a test says.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from moderation import (
    ClockOverrun,
    ClockWarned,
    Event,
    Meeting,
    MeetingEnded,
    Moderate,
    Phase,
    PhaseChanged,
)
from moderation import clock as domain
from server.auth.accounts import Role
from server.auth.keys import (
    BY_ADMIN_TOKEN,
    BY_PRODUCER_KEY,
    KeyKind,
    current_key,
    overlay_key_matches,
    producer_key_matches,
    rotate_key,
)
from server.settings import Settings
from server.store import Refused, Store, StoreUnavailable, Write, Written
from server.usecases import UseCases, act, create_meeting, now_ms
from server.usecases import clock as cases
from tests.conftest import meeting_command
from tests.consoles import Console, ask, console, open_session
from tests.helpers import (
    TIMEOUT,
    LiveServer,
    PrivateRedis,
    catch_up,
    live_server,
    recv_until,
    unique_prefix,
    wait_for,
)
from tests.server.test_users_cli import halyq

pytestmark = pytest.mark.anyio

ADMIN = {"Authorization": "Bearer test-admin-token"}
FIELDS = ["phase", "budget_s", "presentation_s", "qa_s", "remaining_s", "overrun_s", "as_of"]


class MsClock:
    """`UseCases.clock` (ms since the epoch) that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = now_ms()

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * 1000)


@pytest.fixture
def clock(server: LiveServer) -> MsClock:
    fake = MsClock()
    server.services.usecases.clock = fake
    return fake


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def scheduled(store: Store, planned_minutes: int = 120) -> Meeting:
    """An announced meeting, not started: a phase change starts it."""
    return await create_meeting(
        UseCases(store=store), meeting_command(planned_minutes=planned_minutes)
    )


async def record(store: Store, meeting_id: str) -> list[Event]:
    return [event for _, event in await store.record.range(meeting_id, "-", "+", count=10_000)]


async def phase(
    http: httpx.AsyncClient, meeting_id: str, body: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await http.post(
        f"/api/meetings/{meeting_id}/phase",
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers=ADMIN if headers is None else headers,
    )


async def clock_event(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next event of `kind` a socket receives."""

    def has(frame: dict[str, Any]) -> bool:
        return frame["type"] == "events" and any(e["kind"] == kind for e in frame["events"])

    frame, _ = await recv_until(ws, has)
    found: dict[str, Any] = next(e for e in frame["events"] if e["kind"] == kind)
    return found


# The API's contract


async def test_r4_the_clock_api_answers_the_contract(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting, clock: MsClock
) -> None:
    # (the clock is made after the meeting started: the server's time never goes back)
    url = f"/api/meetings/{live_meeting.id}/clock"
    before = await http.get(url)
    assert before.status_code == 200
    assert before.headers["cache-control"] == "no-store"
    assert list(before.json()) == FIELDS
    assert before.json() == {
        "phase": "not_started", "budget_s": 1800.0, "presentation_s": 0.0, "qa_s": 0.0,
        "remaining_s": 1800.0, "overrun_s": 0.0, "as_of": clock.now,
    }  # fmt: skip
    changed = await phase(http, live_meeting.id, {"phase": "presentation"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == before.json() | {"phase": "presentation"}
    clock.advance(61.5)
    assert (await http.get(url)).json() == {
        "phase": "presentation", "budget_s": 1800.0, "presentation_s": 61.5, "qa_s": 0.0,
        "remaining_s": 1738.5, "overrun_s": 0.0, "as_of": clock.now,
    }  # fmt: skip
    after = await phase(http, live_meeting.id, {"phase": "qa"})
    assert after.json()["phase"] == "qa"
    assert after.json()["presentation_s"] == 61.5
    clock.advance(10)
    assert (await http.get(url)).json()["qa_s"] == 10.0


async def test_the_phase_api_refuses_clearly_and_changes_nothing(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store
) -> None:
    meeting = await scheduled(store)
    cases_of = [
        ({}, {"phase": "qa"}, 401, "unauthorized"),
        ({"Authorization": "Basic dGVzdA=="}, {"phase": "qa"}, 401, "unauthorized"),
        ({"Authorization": "Bearer nope"}, {"phase": "qa"}, 403, "forbidden"),
        ({"Authorization": "Bearer"}, {"phase": "qa"}, 401, "unauthorized"),
        (ADMIN, b"{not json", 400, "bad_request"),
        (ADMIN, ["qa"], 400, "bad_request"),
        (ADMIN, {}, 400, "invalid"),
        (ADMIN, {"phase": "lunch"}, 400, "invalid"),
        (ADMIN, {"phase": "not_started"}, 400, "invalid"),
        (ADMIN, {"phase": 3}, 400, "invalid"),
        (ADMIN, {"phase": "ended"}, 409, "invalid_transition"),  # never started
        (ADMIN, b" " * 5000, 413, "too_large"),
    ]
    for headers, body, status, code in cases_of:
        answer = await phase(http, meeting.id, body, headers)
        assert (answer.status_code, answer.json()["error"]) == (status, code), (headers, body)
        if status == 400 and code == "invalid":
            assert answer.json()["detail"] == "phase must be one of presentation, qa, break, ended"
    assert [e.kind for e in await record(store, meeting.id)] == ["meeting.created"]
    started = await phase(http, meeting.id, {"phase": "qa"})
    assert started.status_code == 200
    again = await phase(http, meeting.id, {"phase": "qa"})
    assert (again.status_code, again.json()["error"]) == (409, "invalid_transition")
    for missing in ("no-such-meeting", "UPPER"):
        assert (await phase(http, missing, {"phase": "qa"})).status_code == 404
        assert (await http.get(f"/api/meetings/{missing}/clock")).status_code == 404
    kinds = [e.kind for e in await record(store, meeting.id)]
    assert kinds == ["meeting.created", "meeting.started", "meeting.phase_changed"]
    assert (await store.meetings.get(meeting.id) or meeting).is_live  # R3: commenting opens


async def test_a_producer_key_or_a_producer_session_may_change_the_phase(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store
) -> None:
    meeting = await scheduled(store)
    assert not await producer_key_matches(store, meeting.id, "")  # no key before the first use
    key = await current_key(store, meeting.id, KeyKind.PRODUCER)
    assert await current_key(store, meeting.id, KeyKind.PRODUCER) == key  # made once
    other = await scheduled(store)
    other_key = await current_key(store, other.id, KeyKind.PRODUCER)
    refused = await phase(
        http, meeting.id, {"phase": "qa"}, {"Authorization": f"Bearer {other_key}"}
    )
    assert refused.status_code == 403  # another meeting's key opens nothing here
    bearer = await phase(
        http, meeting.id, {"phase": "presentation"}, {"Authorization": f"Bearer {key}"}
    )
    assert bearer.status_code == 200, bearer.text

    producer = await open_session(store, "dana", Role.PRODUCER)
    moderator = await open_session(store, "aliya", Role.MODERATOR)
    admin = await open_session(store, "root", Role.ADMIN)
    tried: list[tuple[str, dict[str, str], int]] = [
        (moderator, {}, 403),  # a moderator may not produce
        (producer, {}, 403),  # no CSRF token
        (producer, {"Sec-Fetch-Site": "cross-site"}, 403),
        (producer, {"X-CSRF-Token": "x" * 43}, 403),
        (producer, {}, 200),
        (admin, {}, 200),
    ]
    for i, (session_id, extra, status) in enumerate(tried):
        found = await store.staff.session(session_id, server.services.clock())
        assert found is not None
        headers = {"X-CSRF-Token": found.csrf} if status == 200 else {}
        headers |= extra
        http.cookies.set("halyq_session", session_id)
        wanted = ("break", "qa")[i % 2]
        answer = await phase(http, meeting.id, {"phase": wanted}, headers)
        assert answer.status_code == status, (i, answer.text)
    http.cookies.clear()
    changes = [e for e in await record(store, meeting.id) if isinstance(e, PhaseChanged)]
    assert [(c.by, c.phase) for c in changes] == [
        (BY_PRODUCER_KEY, Phase.PRESENTATION), ("dana", Phase.BREAK), ("root", Phase.QA),
    ]  # fmt: skip


async def test_racing_phase_changes_apply_one_and_refuse_the_other(store: Store) -> None:
    # Two processes that both read the clock before either wrote: the record takes the first
    # change and refuses the second (the use case answers 409 `conflict`).
    fake = MsClock()
    one, two = UseCases(store=store, clock=fake), UseCases(store=store, clock=fake)
    meeting = await scheduled(store)
    await cases.change_phase(one, meeting.id, Phase.PRESENTATION, by="dana")
    seen = [await one.clocks.of(meeting.id), await two.clocks.of(meeting.id)]
    decided = [
        domain.change_phase(seen[0], Phase.QA, by="dana", now=fake.now),
        domain.change_phase(seen[1], Phase.BREAK, by="root", now=fake.now),
    ]
    results = []
    for state, events in zip(seen, decided, strict=True):
        write = Write()
        assert state.meeting is not None
        store.meetings.in_status(write, state.meeting)
        guard = cases.append_clock(store, write, meeting.id, state, events)
        results.append((guard, await store.record.run(write)))
    assert isinstance(results[0][1], Written)
    refused = results[1][1]
    assert isinstance(refused, Refused)
    assert refused.guard is results[1][0]  # the phase changed meanwhile: a conflict
    shown = await cases.reading(two, meeting.id)
    assert shown is not None
    assert shown.phase is Phase.QA


async def test_concurrent_phase_changes_each_apply_or_are_refused(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store
) -> None:
    meeting = await scheduled(store)
    assert (await phase(http, meeting.id, {"phase": "presentation"})).status_code == 200
    wanted = ["qa", "break"] * 6
    answers = await asyncio.gather(*(phase(http, meeting.id, {"phase": w}) for w in wanted))
    applied = [w for w, answer in zip(wanted, answers, strict=True) if answer.status_code == 200]
    refused = [a.json()["error"] for a in answers if a.status_code != 200]
    assert applied
    assert set(refused) <= {"conflict", "invalid_transition"}  # a race, or that phase already
    assert len(applied) + len(refused) == len(wanted)
    changes = [e.phase for e in await record(store, meeting.id) if isinstance(e, PhaseChanged)]
    assert changes[0] is Phase.PRESENTATION
    assert Counter(changes[1:]) == Counter(map(Phase, applied))  # each applied one, once
    assert all(a is not b for a, b in itertools.pairwise(changes))  # never into the same phase


async def test_the_clocks_of_a_process_share_catch_ups_and_forget_the_least_used(
    store: Store,
) -> None:
    meeting = await scheduled(store)
    clocks = cases.Clocks(store.record)
    together = await asyncio.gather(*(clocks.of(meeting.id) for _ in range(5)))
    assert all(state is together[0] for state in together)
    assert together[0].meeting == meeting
    for n in range(cases.KEPT):
        assert (await clocks.of(f"not-a-meeting-{n}")).meeting is None
    again = await clocks.of(meeting.id)
    assert again is not together[0]  # forgotten, and folded again from the record
    assert again.meeting == meeting


# Every socket


async def test_r4_phase_changes_and_warnings_reach_viewers_and_consoles(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store
) -> None:
    meeting = await scheduled(store, planned_minutes=10)  # a budget of 150 s
    session = await open_session(store, "dana", Role.PRODUCER)
    async with (
        server.socket(meeting.id) as viewer,
        console(server.url, meeting.id, session) as ws,
    ):
        hello, _ = await catch_up(viewer)
        assert hello["clock"] == {
            "phase": "not_started", "budget_s": 150.0, "presentation_s": 0.0, "qa_s": 0.0,
            "remaining_s": 150.0, "overrun_s": 0.0, "as_of": clock.now,
        }  # fmt: skip
        desk = await Console(ws).start()
        assert desk.hello["clock"] == hello["clock"]
        assert (await phase(http, meeting.id, {"phase": "presentation"})).status_code == 200
        started = clock.now
        for socket in (viewer, ws):
            changed = await clock_event(socket, "meeting.phase_changed")
            assert changed["phase"] == "presentation"
            assert changed["at"] == started
            assert changed["clock"] == hello["clock"] | {"phase": "presentation"}
            assert changed.get("by") == (BY_ADMIN_TOKEN if socket is ws else None)
            assert changed.get("items") == ([] if socket is ws else None)
        clock.advance(121)  # past 80% of 150 s: the warner appends the warning by itself
        for socket in (viewer, ws):
            warned = await clock_event(socket, "clock.warned")
            assert (warned["percent"], warned["used_s"], warned["budget_s"]) == (80, 121.0, 150.0)
        clock.advance(39)  # past the budget: then the presentation ends, 10 s over
        assert (await phase(http, meeting.id, {"phase": "qa"})).status_code == 200
        for socket in (viewer, ws):
            overrun = await clock_event(socket, "clock.overrun")
            assert overrun["overrun_s"] == 10.0


async def test_r4_a_socket_that_connects_mid_phase_counts_from_its_hello(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store
) -> None:
    meeting = await scheduled(store)
    assert (await phase(http, meeting.id, {"phase": "presentation"})).status_code == 200
    clock.advance(90)
    session = await open_session(store, "aliya", Role.MODERATOR)
    async with (
        server.socket(meeting.id) as viewer,
        console(server.url, meeting.id, session) as ws,
    ):
        hello, _ = await catch_up(viewer)
        desk = await Console(ws).start()
        for shown in (hello["clock"], desk.hello["clock"]):
            assert shown == {
                "phase": "presentation", "budget_s": 1800.0, "presentation_s": 90.0,
                "qa_s": 0.0, "remaining_s": 1710.0, "overrun_s": 0.0, "as_of": clock.now,
            }  # fmt: skip


# Warnings: once, whichever server sees them due


async def test_r4_two_servers_on_one_redis_append_each_warning_once(
    settings: Settings, store: Store
) -> None:
    meeting = await scheduled(store, planned_minutes=10)  # a budget of 150 s
    fake = MsClock()
    async with live_server(settings) as one, live_server(settings) as two:
        for live in (one, two):
            live.services.usecases.clock = fake
        async with (
            httpx.AsyncClient(base_url=one.url) as first,
            httpx.AsyncClient(base_url=two.url) as second,
            two.socket(meeting.id) as viewer,
        ):
            await catch_up(viewer)
            # Each server watches the meetings it changed the phase of (and, within 5 s, every
            # live one): both watch this one now.
            for http, wanted in (
                (first, "presentation"),
                (second, "break"),
                (first, "presentation"),
            ):
                assert (await phase(http, meeting.id, {"phase": wanted})).status_code == 200
            assert meeting.id in one.services.usecases.warner.watching
            assert meeting.id in two.services.usecases.warner.watching
            fake.advance(120)
            assert (await clock_event(viewer, "clock.warned"))["percent"] == 80
            fake.advance(30)
            assert (await clock_event(viewer, "clock.warned"))["percent"] == 100
            fake.advance(60)
            assert (await phase(second, meeting.id, {"phase": "qa"})).status_code == 200

            async def both_caught_up() -> bool:
                states = [await s.services.usecases.clocks.of(meeting.id) for s in (one, two)]
                return all(state.phase is Phase.QA for state in states)

            await wait_for(both_caught_up, what="both servers to see the Q&A")
    events = await record(store, meeting.id)
    fired = Counter(e.percent for e in events if isinstance(e, ClockWarned))
    assert fired == {80: 1, 100: 1}
    assert [e.overrun_ms for e in events if isinstance(e, ClockOverrun)] == [60_000]


async def test_r4_warnings_found_due_by_two_processes_at_once_are_recorded_once(
    store: Store,
) -> None:
    fake = MsClock()
    one, two = UseCases(store=store, clock=fake), UseCases(store=store, clock=fake)
    meeting = await scheduled(store, planned_minutes=10)
    await cases.change_phase(one, meeting.id, Phase.PRESENTATION, by="dana")
    fake.advance(150)  # both warnings due at once
    seen = [await one.clocks.of(meeting.id), await two.clocks.of(meeting.id)]
    results = []
    for state in seen:  # both decided on the same record: the second write is refused
        due = domain.due_warnings(state, fake.now)
        assert [w.percent for w in due] == [80, 100]
        write = Write()
        cases.append_clock(store, write, meeting.id, state, due)
        results.append(await store.record.run(write))
    assert isinstance(results[0], Written)
    assert isinstance(results[1], Refused)
    again = await asyncio.gather(cases.warn(one, meeting.id), cases.warn(two, meeting.id))
    assert list(again) == [[], []]  # nothing due any more, in either process
    fired = [e.percent for e in await record(store, meeting.id) if isinstance(e, ClockWarned)]
    assert fired == [80, 100]


async def test_r4_a_restarted_server_loses_no_time(settings: Settings, store: Store) -> None:
    meeting = await scheduled(store)
    fake = MsClock()
    async with live_server(settings) as first, httpx.AsyncClient(base_url=first.url) as http:
        first.services.usecases.clock = fake
        assert (await phase(http, meeting.id, {"phase": "presentation"})).status_code == 200
        fake.advance(60)
    fake.advance(30)  # the 30 s the server was down count too: the presentation went on
    async with live_server(settings) as second, httpx.AsyncClient(base_url=second.url) as http:
        second.services.usecases.clock = fake
        shown = (await http.get(f"/api/meetings/{meeting.id}/clock")).json()
        assert (shown["presentation_s"], shown["remaining_s"]) == (90.0, 1710.0)
        async with second.socket(meeting.id) as viewer:
            hello, _ = await catch_up(viewer)
            assert hello["clock"] == shown
        fake.advance(10)
        after = await phase(http, meeting.id, {"phase": "qa"})
        assert after.json()["presentation_s"] == 100.0


async def test_r4_the_warner_outlives_an_outage_of_redis(
    private_redis: PrivateRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        redis_url=private_redis.url,
        redis_prefix=unique_prefix(),
        data_dir=tmp_path / "data",
        admin_token="test-admin-token",
    )
    store = Store(settings.redis_url, settings.redis_prefix)
    await store.check_durability()
    fake = MsClock()
    try:
        meeting = await scheduled(store, planned_minutes=10)
        async with live_server(settings) as live, httpx.AsyncClient(base_url=live.url) as http:
            live.services.usecases.clock = fake
            assert (await phase(http, meeting.id, {"phase": "presentation"})).status_code == 200
            private_redis.kill()
            fake.advance(130)  # the 80% warning falls due while Redis is away

            def complained() -> bool:
                return any("clock warner of meeting" in r.getMessage() for r in caplog.records)

            await wait_for(complained, what="the warner to find Redis away")
            private_redis.start()

            async def warned() -> bool:
                try:
                    events = await record(store, meeting.id)
                except StoreUnavailable:
                    return False
                return [e.percent for e in events if isinstance(e, ClockWarned)] == [80]

            await wait_for(warned, timeout=TIMEOUT * 2, what="the warning once Redis is back")
            assert meeting.id in live.services.usecases.warner.watching
    finally:
        await store.close()


# The end of the meeting


async def test_r4_the_end_route_closes_the_clock(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store
) -> None:
    meeting = await scheduled(store, planned_minutes=10)
    assert (await phase(http, meeting.id, {"phase": "presentation"})).status_code == 200
    clock.advance(200)
    ended = await http.post(f"/api/meetings/{meeting.id}/end", headers=ADMIN)
    assert ended.status_code == 200
    events = await record(store, meeting.id)
    assert events[-2:] == [
        ClockOverrun(at=clock.now, overrun_ms=50_000),
        MeetingEnded(at=clock.now),
    ]
    assert Counter(e.percent for e in events if isinstance(e, ClockWarned)) == {80: 1, 100: 1}
    shown = (await http.get(f"/api/meetings/{meeting.id}/clock")).json()
    assert (shown["phase"], shown["presentation_s"], shown["overrun_s"]) == ("ended", 200.0, 50.0)
    refused = await phase(http, meeting.id, {"phase": "qa"})
    assert (refused.status_code, refused.json()["error"]) == (409, "invalid_transition")
    clock.advance(3600)
    assert (await http.get(f"/api/meetings/{meeting.id}/clock")).json()["presentation_s"] == 200.0


async def test_r4_the_compliance_summary_in_the_meeting_json_and_page(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store
) -> None:
    meeting = await scheduled(store, planned_minutes=60)  # a budget of 15 minutes
    assert (await phase(http, meeting.id, {"phase": "presentation"})).status_code == 200
    async with server.socket(meeting.id) as viewer:
        await catch_up(viewer)
        question = await ask(viewer, "q1", "Когда отремонтируют дорогу на улице Абая?")
    live = await store.meetings.get(meeting.id)
    assert live is not None
    for version, action in enumerate(("approve", "queue", "on_air", "answer"), start=1):
        command = Moderate(action=action, item=question, version=version)
        await act(server.services.usecases, live, command, by="aliya")
    clock.advance(20 * 60)
    assert (await phase(http, meeting.id, {"phase": "qa"})).status_code == 200
    clock.advance(25 * 60)
    shown = (await http.get(f"/api/meetings/{meeting.id}")).json()
    assert shown["compliance"] is None  # until the meeting ended
    assert await cases.compliance(server.services.usecases, meeting.id) is None
    page = await http.get(f"/m/{meeting.id}", params={"lang": "ru"})
    assert 'id="compliance"' not in page.text
    assert (await phase(http, meeting.id, {"phase": "ended"})).status_code == 200
    shown = (await http.get(f"/api/meetings/{meeting.id}")).json()
    assert shown["status"] == "ended"
    assert shown["compliance"] == {
        "planned_s": 3600.0, "budget_s": 900.0, "actual_s": 2700.0,
        "presentation_s": 1200.0, "presentation_share": 0.4444,
        "qa_s": 1500.0, "qa_share": 0.5556,
        "break_s": 0.0, "break_share": 0.0,
        "other_s": 0.0, "other_share": 0.0,
        "overrun_s": 300.0, "within_budget": False,
        "answered": 1, "answered_by_channel": {"web": 1},
    }  # fmt: skip
    words = {
        "ru": ("Как использовано время", "доклад превысил отведённое время на 0:05:00",
               "Отвечено вопросов: 1"),
        "kk": ("Уақыт қалай пайдаланылды", "баяндама белгіленген уақыттан 0:05:00 асып кетті",
               "Жауап берілген сұрақтар: 1"),
        "en": ("How the time was used", "the presentation went over its limit by 0:05:00",
               "Questions answered: 1"),
    }  # fmt: skip
    for lang, expected in words.items():
        page = await http.get(f"/m/{meeting.id}", params={"lang": lang})
        assert page.status_code == 200
        text = re.sub(r"\s+", " ", page.text)
        for phrase in expected:
            assert phrase in text, (lang, phrase)
        assert "0:20:00 · 44%" in text  # the presentation and its share
        assert "0:25:00 · 56%" in text  # the Q&A


async def test_a_meeting_within_its_budget_says_so(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store
) -> None:
    meeting = await scheduled(store, planned_minutes=60)
    assert (await phase(http, meeting.id, {"phase": "presentation"})).status_code == 200
    clock.advance(600)
    assert (await phase(http, meeting.id, {"phase": "break"})).status_code == 200
    clock.advance(300)
    assert (await phase(http, meeting.id, {"phase": "ended"})).status_code == 200
    shown = (await http.get(f"/api/meetings/{meeting.id}")).json()["compliance"]
    assert (shown["within_budget"], shown["break_s"], shown["actual_s"]) == (True, 300.0, 900.0)
    page = re.sub(r"\s+", " ", (await http.get(f"/m/{meeting.id}?lang=en")).text)
    assert "the presentation kept within its limit" in page
    assert "Breaks: 0:05:00 · 33%" in page


async def test_the_audit_trail_shows_who_changed_the_phase(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store
) -> None:
    meeting = await scheduled(store)
    assert (await phase(http, meeting.id, {"phase": "presentation"})).status_code == 200
    http.cookies.set("halyq_session", await open_session(store, "root", Role.ADMIN))
    page = await http.get(f"/console/{meeting.id}/audit", params={"lang": "ru"})
    assert page.status_code == 200
    assert 'data-kind="meeting.phase_changed"' in page.text
    assert "Этап изменён" in page.text
    assert 'data-phase="presentation"' in page.text
    assert BY_ADMIN_TOKEN in page.text


# The keys


async def test_keys_are_printed_and_rotated_and_the_old_ones_refused(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, store: Store, settings: Settings
) -> None:
    meeting = await scheduled(store)
    shown = await asyncio.to_thread(halyq, settings, "meeting", "keys", meeting.id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    producer = lines[0].removeprefix("producer key:").strip()
    overlay = await current_key(store, meeting.id, KeyKind.OVERLAY)
    base = "http://127.0.0.1:8000"
    for path in ("overlay/{}/lower-third", "overlay/{}/clock", "overlay/{}/ticker",
                 "feeds/{}/vmix.json", "feeds/{}/vmix.xml"):  # fmt: skip
        url = f"{base}/{path.format(meeting.id)}?key={overlay}"
        assert any(line.endswith(" " + url) for line in lines), (url, shown.stdout)
    assert await producer_key_matches(store, meeting.id, producer)
    again = await asyncio.to_thread(halyq, settings, "meeting", "keys", meeting.id, "--json")
    assert json.loads(again.stdout)["producer_key"] == producer  # the same until rotated
    assert (
        await phase(http, meeting.id, {"phase": "qa"}, {"Authorization": f"Bearer {producer}"})
    ).status_code == 200

    rotated = await asyncio.to_thread(
        halyq, settings, "meeting", "keys", meeting.id, "--rotate", "--json",
        "--base-url", "https://halyq.example.kz/",
    )  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)
    assert new["producer_key"] != producer
    assert new["overlay_key"] != overlay
    assert new["urls"]["clock"] == (
        f"https://halyq.example.kz/overlay/{meeting.id}/clock?key={new['overlay_key']}"
    )
    old = await phase(http, meeting.id, {"phase": "break"}, {"Authorization": f"Bearer {producer}"})
    assert old.status_code == 403  # revoked at once
    fresh = await phase(
        http, meeting.id, {"phase": "break"}, {"Authorization": f"Bearer {new['producer_key']}"}
    )
    assert fresh.status_code == 200
    assert not await overlay_key_matches(store, meeting.id, overlay)
    assert await overlay_key_matches(store, meeting.id, new["overlay_key"])
    assert await rotate_key(store, meeting.id, KeyKind.OVERLAY) != new["overlay_key"]

    unknown = await asyncio.to_thread(halyq, settings, "meeting", "keys", "no-such-meeting")
    assert (unknown.returncode, unknown.stderr) == (1, "halyq: no meeting 'no-such-meeting'\n")
    assert await store.tokens.get("no-such-meeting", "producer") is None  # nothing made for it
