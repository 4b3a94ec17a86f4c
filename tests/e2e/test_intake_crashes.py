"""A decision's answer to its sender survives a crash (issue 10.7, acceptance): the answer is
queued in the same atomic write as the decision, and the outbox is a Redis stream read by a
consumer group, so a server killed with SIGKILL between a moderator's decision and the
delivery of its answer delivers it, exactly once, after the restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from moderation import Meeting
from server.auth.accounts import Role
from server.settings import Settings
from server.store import Store
from tests import fakes
from tests.consoles import Console, console, open_session
from tests.fakes import Providers, fake_providers
from tests.helpers import start_server, wait_for

pytestmark = pytest.mark.anyio

SENDER = "77014445566"
APPROVED = "Ваш вопрос одобрен"


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    async with fake_providers(twilio_token=fakes.TWILIO_AUTH_TOKEN) as fake:
        yield fake


async def test_kill_9_between_a_decision_and_its_answer_still_delivers_it_once(
    tmp_path: Path, settings: Settings, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    env = fakes.process_environment(settings, providers)
    server = await asyncio.to_thread(start_server, tmp_path, env=env)
    try:
        body = fakes.whatsapp_body(
            fakes.whatsapp_text("wamid.CRASH", "Когда откроют поликлинику?", sender=SENDER)
        )
        assert (await fakes.whatsapp(body).post(server.url)).status_code == 200
        (arrived,) = await providers.wait(SENDER)
        assert "получен" in arrived.text

        providers.failing = True  # the provider is down while the moderator decides
        tried = len(providers.attempts)
        session = await open_session(store, "aliya", Role.MODERATOR)
        async with console(server.url, live_meeting.id, session) as ws:
            desk = await Console(ws).start()
            (item,) = desk.items
            answer = await desk.act("approve", item)
            assert answer["type"] == "result", answer
        await wait_for(lambda: len(providers.attempts) > tried, what="an attempt at the answer")
        server.process.kill()  # SIGKILL: no shutdown, the answer is pending in the outbox
        server.process.wait()
        assert [s.text for s in providers.to(SENDER)] == [arrived.text]

        providers.failing = False
        server = await asyncio.to_thread(start_server, tmp_path, env=env)
        _, approved = await providers.wait(SENDER, 2)
        assert approved.text.startswith(APPROVED), approved.text

        async def delivered() -> bool:
            return await store.outbox.size(live_meeting.id) == 0

        await wait_for(delivered, what="the outbox emptied")
    finally:
        server.stop()
    assert [s.text.startswith(APPROVED) for s in providers.to(SENDER)] == [False, True]
    assert await store.outbox.dead_letters() == []
