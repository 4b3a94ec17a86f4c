"""Staff sessions and console sockets for tests: real sessions in the real store."""

from __future__ import annotations

import contextlib
import functools
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from moderation.board import question_item
from moderation.events import CommentHeld, CommentPosted, QuestionAsked
from moderation.model import Channel, HoldReason
from server.auth.accounts import Role, Session, User, hash_password
from server.store import Store
from server.store.record import Refused, Write
from tests.helpers import TIMEOUT, LiveServer, catch_up, recv_json, recv_until

PASSWORD = "correct horse battery staple"


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


async def open_session(store: Store, name: str, role: Role) -> str:
    """A staff user `name` with `role` (created if missing) and a new session's id."""
    staff = store.staff
    now = time.time()
    await staff.add_user(User(name=name, role=role, password_hash=password_hash(), created=now))
    session_id = secrets.token_urlsafe(32)
    await staff.create_session(
        session_id,
        Session(name=name, role=role, created=now, last_seen=now, csrf=secrets.token_urlsafe(32)),
    )
    return session_id


def console(base_url: str, meeting_id: str, session_id: str, *, origin: str | None = None) -> Any:
    """A console socket, as a browser on `base_url` opens it (same Origin, session cookie)."""
    return connect(
        "ws" + base_url.removeprefix("http") + f"/ws/console/{meeting_id}",
        origin=origin or base_url,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"halyq_session={session_id}"},
        compression=None,
        max_size=None,
        open_timeout=TIMEOUT,
    )


class Console:
    """The items a console shows, kept up to date from its frames."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.items: dict[str, dict[str, Any]] = {}
        self.answers: dict[str, dict[str, Any]] = {}
        self.hello: dict[str, Any] = {}

    async def start(self) -> Console:
        self.hello = await recv_json(self.ws)
        assert self.hello["type"] == "hello", self.hello
        self.items = {item["id"]: item for item in self.hello["items"]}
        more = self.hello["more"]
        while more:  # issue 14: the rest of the snapshot comes in `page` frames, before events
            page = await recv_json(self.ws)
            assert page["type"] == "page", page
            self.items |= {item["id"]: item for item in page["items"]}
            more = page["more"]
        return self

    def take(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "events":
            for event in frame["events"]:
                for item in event["items"]:
                    self.items[item["id"]] = item
        elif frame["type"] in ("result", "refused"):
            self.answers[frame["cmd"]] = frame

    async def until(self, accept: Callable[[Console], bool], timeout: float = TIMEOUT) -> None:
        """Read frames until `accept(self)` holds."""
        deadline = time.monotonic() + timeout
        while not accept(self):
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the console did not get there in time"
            self.take(await recv_json(self.ws, remaining))

    async def sees(self, item: str) -> None:
        """Read frames until the item is shown."""
        await self.until(lambda c: item in c.items)

    async def send(self, cmd: str, action: str, item: str, version: int, **extra: str) -> None:
        frame = {"type": "command", "cmd": cmd, "action": action, "item": item,
                 "version": version, **extra}  # fmt: skip
        await self.ws.send(json.dumps(frame))

    async def act(self, action: str, item: str, **extra: str) -> dict[str, Any]:
        """Send an action on `item` at the version shown and wait for its answer and, when it
        applied, for the change to show here (as a moderator's next action would)."""
        cmd = "c" + secrets.token_hex(6)
        before = self.items[item]["version"]
        await self.send(cmd, action, item, before, **extra)
        await self.until(lambda c: cmd in c.answers)
        answer = self.answers[cmd]
        if answer["type"] == "result":
            await self.until(lambda c: c.items[item]["version"] > before)
        return answer


@contextlib.asynccontextmanager
async def desk_and_viewer(
    server: LiveServer, store: Store, meeting_id: str, name: str, role: Role
) -> AsyncIterator[tuple[Console, ClientConnection]]:
    """A console of staff member `name` with `role`, and a viewer, both caught up."""
    session = await open_session(store, name, role)
    async with (
        console(server.url, meeting_id, session) as ws,
        server.socket(meeting_id) as viewer,
    ):
        desk = await Console(ws).start()
        await catch_up(viewer)
        yield desk, viewer


async def ask(ws: ClientConnection, client_msg_id: str, text: str, **extra: str) -> str:
    """Ask a question on a viewer socket; returns its id once acknowledged."""
    frame = {"type": "question", "client_msg_id": client_msg_id, "name": "Айгүл", "text": text,
             **extra}  # fmt: skip
    for _ in range(RESENDS):
        await ws.send(json.dumps(frame))
        ack, _ = await recv_until(ws, lambda f: f.get("client_msg_id") == client_msg_id)
        # OVL-2 on a loaded machine: refused `overloaded` (never recorded); a client sends it
        # again, as the viewer page does, and the same client_msg_id makes it once at most.
        if ack.get("reason") != "overloaded":
            break
    assert (ack["type"], ack.get("status")) == ("ack", "pending"), ack  # a `retry` shows whole
    return str(ack["id"])


RESENDS = 20  # sends of one question refused `overloaded` before a test gives up


SEED_BATCH = 500  # events in one atomic write: 20,000 items take a few seconds


async def seed_board(
    store: Store,
    meeting_id: str,
    *,
    questions: int,
    comments: int,
    held: int = 0,
    start: int = 1_700_000_000_000,
) -> None:
    """A board seeded in bulk straight into the record (as `submit` writes each item: the
    event, and for a question its item): `questions` new questions, oldest first, numbered
    `Q<n>`, then `comments` comments (`held` of them held by the first filter), one ms apart."""
    events: list[CommentPosted | CommentHeld | QuestionAsked] = []
    for n in range(questions):
        fields = _fields(f"sq{n}", f"Q{n}: когда отремонтируют дорогу на улице {n}?", start + n)
        events.append(QuestionAsked(**fields))
    for n in range(comments):
        fields = _fields(f"sc{n}", f"C{n}: комментарий жителя номер {n}", start + questions + n)
        if n < held:
            events.append(CommentHeld(**fields, reason=HoldReason.LINK))
        else:
            events.append(CommentPosted(**fields))
    for begin in range(0, len(events), SEED_BATCH):
        write = Write()
        for event in events[begin : begin + SEED_BATCH]:
            at = store.record.append(write, meeting_id, event)
            if isinstance(event, CommentHeld):
                store.board.count_held(write, meeting_id, event.reason)
            if isinstance(event, QuestionAsked):
                store.board.create(write, meeting_id, at, question_item("", event))
        assert not isinstance(await store.record.run(write), Refused)


def _fields(key: str, text: str, at: int) -> dict[str, Any]:
    return {"at": at, "channel": Channel.WEB, "client_msg_id": key, "viewer": key,
            "name": "Тұрғын", "text": text}  # fmt: skip
