"""Logs carry no personal data: no names, comment texts, phone numbers, addresses or cookies."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from moderation import Meeting
from server.settings import Settings
from tests.helpers import catch_up, comment, environment, recv_until, running_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

NAME = "Sentinelname Q7"
TEXT = "Sentineltext Z9 +7 701 987 65 43"


async def test_debug_logs_hold_no_personal_data(
    settings: Settings, live_meeting: Meeting, tmp_path: Path
) -> None:
    env = environment(
        REDIS_URL=settings.redis_url,
        HALYQ_REDIS_PREFIX=settings.redis_prefix,
        HALYQ_LOG_LEVEL="debug",
    )
    with running_server(tmp_path, env=env) as server:
        url = server.ws(f"/ws/meetings/{live_meeting.id}")
        headers = {"Cookie": "halyq_viewer=Sentinelcookie.0000"}
        async with connect(url, additional_headers=headers) as ws:
            port = ws.local_address[1]
            await catch_up(ws)
            await ws.send(comment("log-1", TEXT, NAME))
            await recv_until(ws, lambda f: f["type"] == "ack")
            await ws.send("Sentinelbad frame")
            await recv_until(ws, lambda f: f["type"] == "error")
    log = server.log.read_text()
    assert "DEBUG" in log  # debug logging was really on
    for secret in ("Sentinelname", "Sentineltext", "987 65 43", "Sentinelcookie", "Sentinelbad",
                   f":{port}"):  # fmt: skip
        assert secret not in log
