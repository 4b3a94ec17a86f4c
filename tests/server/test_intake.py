"""Every channel into one queue (issue 10): the intake's own guarantees, seen through the
WhatsApp webhook (the other webhooks have their own tests): one question per delivery however
often it comes, routing, the answers to senders, refusals that are never silent."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from moderation import Meeting, Moderate, StartMeeting
from moderation.model import Channel, ItemStatus
from server.store import Store
from server.usecases import UseCases, act, change_meeting, create_meeting
from tests import fakes
from tests.conftest import meeting_command
from tests.fakes import Providers
from tests.helpers import LiveServer

pytestmark = pytest.mark.anyio


async def deliver(server: LiveServer, body: bytes) -> httpx.Response:
    return await fakes.whatsapp(body).post(server.url)


def whatsapp_body(*messages: dict[str, Any]) -> bytes:
    return fakes.whatsapp_body(*messages)


def text_message(wamid: str, text: str, sender: str = "77011234567") -> dict[str, Any]:
    return fakes.whatsapp_text(wamid, text, sender)


async def questions(store: Store, meeting: Meeting) -> list[Any]:
    entries = await store.record.range(meeting.id, "-", "+", count=10_000)
    return [event for _, event in entries if event.kind == "question.asked"]


async def test_a_whatsapp_question_lands_once_and_its_sender_is_told_it_arrived(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    body = whatsapp_body(text_message("wamid.A1", "Когда дадут горячую воду на Абая 10?"))
    for _ in range(5):  # the provider's replays make no second question
        assert (await deliver(webhooks, body)).status_code == 200
    (asked,) = await questions(store, live_meeting)
    assert (asked.channel, asked.language, asked.name) == (Channel.WHATSAPP, "ru", "Айгүл")
    assert asked.received_at == 1764460800_000
    (arrived,) = await providers.wait("77011234567")
    assert "получен" in arrived.text


async def test_a_moderators_decision_reaches_the_sender_in_their_language(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    body = whatsapp_body(text_message("wamid.K1", "Біздің ауылға жол қашан салынады?"))
    assert (await deliver(webhooks, body)).status_code == 200
    (arrived,) = await providers.wait("77011234567")
    assert "келіп түсті" in arrived.text
    services = webhooks.services
    board = await services.usecases.rundowns.of(live_meeting.id)
    (item,) = [i for i in board.board.items.values() if i.channel is Channel.WHATSAPP]

    await act(
        services.usecases,
        live_meeting,
        Moderate(action="approve", item=item.id, version=1),
        by="mod",
    )
    _, approved = await providers.wait("77011234567", 2)
    assert "мақұлданды" in approved.text
    items = await store.board.items(live_meeting.id, [item.id])
    assert items[item.id].status is ItemStatus.APPROVED


async def test_outside_any_live_meeting_a_question_joins_the_next_meetings_requests(
    webhooks: LiveServer, store: Store, providers: Providers
) -> None:
    cases = UseCases(store=store)
    await create_meeting(cases, meeting_command(starts_at="2026-12-15T18:00:00+05:00"))
    sooner = await create_meeting(cases, meeting_command(starts_at="2026-12-10T18:00:00+05:00"))
    body = whatsapp_body(text_message("wamid.E1", "Когда починят дорогу?"))
    assert (await deliver(webhooks, body)).status_code == 200
    (asked,) = await questions(store, sooner)
    assert asked.text == "Когда починят дорогу?"
    (arrived,) = await providers.wait("77011234567")
    assert "10 декабря 2026" in arrived.text, arrived.text
    await change_meeting(cases, sooner.id, StartMeeting())


async def test_a_sender_past_the_rate_limit_is_told_and_the_refusal_is_logged(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    for n in range(4):  # a burst of 3 is allowed
        body = whatsapp_body(text_message(f"wamid.R{n}", f"Вопрос номер {n}: когда?"))
        assert (await deliver(webhooks, body)).status_code == 200
    assert len(await questions(store, live_meeting)) == 3
    sent = await providers.wait("77011234567", 4)
    assert any("Слишком много сообщений" in s.text for s in sent)
    (refusal,) = await store.intake.refusals()
    assert refusal["why"] == "rate_limited"
    assert "77011234567" not in json.dumps(refusal)


async def test_a_message_the_meeting_cannot_take_is_answered_with_why_and_logged(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    """Every refusal is explicit (10.8): a text over the limit is answered with the limit, and
    the refusal is in the log; the provider gets its 200 (a retry would not help)."""
    body = whatsapp_body(text_message("wamid.L1", "Жол " * 400))
    assert (await deliver(webhooks, body)).status_code == 200
    assert await questions(store, live_meeting) == []
    (told,) = await providers.wait("77011234567")
    assert "сообщение не принято" in told.text or "қабылданбады" in told.text, told.text
    assert "500" in told.text, told.text  # the limit, in the sender's language (Kazakh here)
    (refusal,) = await store.intake.refusals()
    assert (refusal["why"], refusal["detail"]) == ("refused", "1599 characters, at most 500")


async def test_the_meetings_slow_mode_holds_channels_to_it_too(
    webhooks: LiveServer, store: Store, providers: Providers
) -> None:
    """R3's slow mode applies to a channel's sender as to a viewer: the second message within
    it is refused with the wait, and its sender is told."""
    cases = UseCases(store=store)
    slow = await create_meeting(cases, meeting_command(slow_mode_seconds=60.0, slow_mode_burst=1))
    await change_meeting(cases, slow.id, StartMeeting())
    for n in range(2):
        body = whatsapp_body(text_message(f"wamid.S{n}", f"Когда починят дорогу номер {n}?"))
        assert (await deliver(webhooks, body)).status_code == 200
    assert len(await questions(store, slow)) == 1
    told = await providers.wait("77011234567", 2)  # "arrived" and the refusal, in any order
    assert sum("Слишком много сообщений" in t.text for t in told) == 1


async def test_with_no_meeting_at_all_the_sender_is_told_nothing_was_recorded(
    webhooks: LiveServer, store: Store, providers: Providers
) -> None:
    body = whatsapp_body(text_message("wamid.N1", "Есть кто-нибудь?"))
    assert (await deliver(webhooks, body)).status_code == 200
    (told,) = await providers.wait("77011234567")
    assert "не записано" in told.text
    (refusal,) = await store.intake.refusals()
    assert (refusal["why"], refusal["meeting"]) == ("no_meeting", "")
