"""Answers to senders (issue 10.7), end to end: a message comes in through a channel's webhook
(or SMTP), the fake provider of that channel receives "arrived", then the moderators' decision
("approved", or "rejected" with the reason), in the language the sender wrote in. A provider
that is down is retried with a growing backoff until the answer goes, once; one that refuses
the answer for good makes a dead letter, logged without the contact; and intake never waits
for any provider.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import smtplib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from moderation import Meeting, Moderate
from moderation.model import Channel, Item
from server.settings import Settings
from server.store import Store
from server.usecases import act
from tests import fakes
from tests.fakes import Providers, fake_providers
from tests.helpers import LiveServer, free_port, live_server, wait_for

pytestmark = pytest.mark.anyio

OURS = "questions@akimat.kz"
KAZAKH = "Біздің ауладағы балалар алаңын қашан жөндейді? 🙏"
RUSSIAN = "Когда отремонтируют детскую площадку в нашем дворе? 👨\u200d👩\u200d👧"
ARRIVED = {"kk": "келіп түсті", "ru": "получен"}
APPROVED = {"kk": "Сұрағыңыз мақұлданды", "ru": "Ваш вопрос одобрен"}


@dataclass
class Channels:
    """A server with every channel on (e-mail too, on `smtp`), its answers at the fakes."""

    live: LiveServer
    providers: Providers
    smtp: int


@pytest.fixture
async def channels(settings: Settings) -> AsyncIterator[Channels]:
    async with fake_providers(twilio_token=fakes.TWILIO_AUTH_TOKEN) as providers:
        smtp = free_port()
        configured = fakes.incoming(
            providers.settings(settings), smtp_port=smtp, smtp_addresses=(OURS,)
        )
        async with live_server(configured) as live:
            yield Channels(live, providers, smtp)
        if providers.gate is not None:
            providers.gate.set()


def mail(sender: str, text: str, message_id: str) -> bytes:
    return (
        f"From: Resident <{sender}>\r\nTo: {OURS}\r\nSubject: Question\r\n"
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(text.encode())


def send_mail(port: int, sender: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, local_hostname="test", timeout=10) as smtp:
        smtp.sendmail(sender, [OURS], raw)


Send = Callable[[Channels, str], Awaitable[None]]


def by_webhook(make: Callable[[str], fakes.Delivery]) -> Send:
    async def send(channels: Channels, text: str) -> None:
        assert (await make(text).post(channels.live.url)).status_code == 200

    return send


async def by_mail(channels: Channels, text: str) -> None:
    raw = mail("resident@mail.kz", text, "<a1@mail.kz>")
    await asyncio.to_thread(send_mail, channels.smtp, "resident@mail.kz", raw)


def cloud(text: str) -> fakes.Delivery:
    message = fakes.whatsapp_text("wamid.ANS1", text, sender="77011112233")
    return fakes.whatsapp(fakes.whatsapp_body(message))


def sms(text: str) -> fakes.Delivery:
    return fakes.twilio(fakes.twilio_message("SM" + "a" * 32, text, "+77012223344"))


def twilio_whatsapp(text: str) -> fakes.Delivery:
    form = fakes.twilio_message(
        "SM" + "b" * 32, text, "whatsapp:+77773334455", f"whatsapp:{fakes.OUR_NUMBER}"
    )
    return fakes.twilio(form)


def telegram(text: str) -> fakes.Delivery:
    return fakes.telegram(fakes.telegram_message(4001, text, chat_id=5550001))


CASES = {
    # name: (send, recipient at the fake, provider, channel, language, reason or "" to approve)
    "whatsapp-cloud": (by_webhook(cloud), "77011112233", "whatsapp", Channel.WHATSAPP, "ru", ""),
    "twilio-sms": (by_webhook(sms), "+77012223344", "twilio", Channel.SMS, "kk", "off_topic"),
    "twilio-whatsapp": (by_webhook(twilio_whatsapp), "whatsapp:+77773334455", "twilio",
                        Channel.WHATSAPP, "ru", "spam"),
    "telegram": (by_webhook(telegram), "5550001", "telegram", Channel.TELEGRAM, "kk", ""),
    "email": (by_mail, "resident@mail.kz", "email", Channel.EMAIL, "ru", "out_of_scope"),
}  # fmt: skip
REJECTED = {
    "off_topic": "Сұрағыңыз қабылданбады: тақырыптан тыс.",
    "spam": "Ваш вопрос не принят: спам.",
    "out_of_scope": "Ваш вопрос не принят: вне компетенции акима.",
}


async def the_question(live: LiveServer, meeting_id: str, channel: Channel) -> Item:
    board = (await live.services.usecases.rundowns.of(meeting_id)).board
    (item,) = [i for i in board.items.values() if i.channel is channel]
    return item


@pytest.mark.parametrize("case", list(CASES))
async def test_each_channel_tells_its_sender_it_arrived_then_the_decision_in_their_language(
    channels: Channels, store: Store, live_meeting: Meeting, case: str
) -> None:
    send, recipient, provider, channel, language, reason = CASES[case]
    await send(channels, KAZAKH if language == "kk" else RUSSIAN)
    (arrived,) = await channels.providers.wait(recipient)
    assert arrived.provider == provider
    assert ARRIVED[language] in arrived.text, arrived.text
    item = await the_question(channels.live, live_meeting.id, channel)
    assert item.language == language
    action = "reject" if reason else "approve"
    decision = Moderate(action=action, item=item.id, version=item.version, reason=reason)
    await act(channels.live.services.usecases, live_meeting, decision, by="mod")
    _, told = await channels.providers.wait(recipient, 2)
    assert told.provider == provider
    if reason:
        assert told.text == REJECTED[reason]
    else:
        assert told.text.startswith(APPROVED[language]), told.text
    assert len(channels.providers.to(recipient)) == 2


async def test_a_provider_answering_503_is_retried_with_backoff_until_the_answer_goes_once(
    channels: Channels, store: Store, live_meeting: Meeting
) -> None:
    providers = channels.providers
    providers.failing = True
    update = fakes.telegram_message(4101, KAZAKH, chat_id=5550002)
    assert (await fakes.telegram(update).post(channels.live.url)).status_code == 200
    await wait_for(lambda: len(providers.attempts) >= 1, what="a first attempt")
    assert providers.to("5550002") == []
    providers.failing = False
    (arrived,) = await providers.wait("5550002")
    assert ARRIVED["kk"] in arrived.text
    first, second = providers.attempts[:2]
    assert second[1] - first[1] >= 0.9, "the second attempt waited for its backoff (1 s)"

    async def delivered() -> bool:
        return await store.outbox.size(live_meeting.id) == 0

    await wait_for(delivered, what="the outbox emptied")
    assert len(providers.to("5550002")) == 1
    assert await store.outbox.dead_letters() == []


async def test_a_provider_refusing_an_answer_makes_a_dead_letter_logged_without_the_contact(
    channels: Channels, store: Store, live_meeting: Meeting, caplog: pytest.LogCaptureFixture
) -> None:
    providers = channels.providers
    providers.refusing = 400
    body = fakes.whatsapp_body(fakes.whatsapp_text("wamid.DEAD", RUSSIAN, sender="77019998877"))
    with caplog.at_level(logging.INFO):
        assert (await fakes.whatsapp(body).post(channels.live.url)).status_code == 200

        async def dead() -> bool:
            return len(await store.outbox.dead_letters()) == 1

        await wait_for(dead, what="a dead letter")
    (letter,) = await store.outbox.dead_letters()
    assert letter["why"] == "HTTP 400"
    assert letter["data"]["reply"] == "arrived"
    assert len(providers.attempts) == 1, "a 4xx is final: not retried"
    assert await store.outbox.size(live_meeting.id) == 0
    logged = [r.getMessage() for r in caplog.records if "given up" in r.getMessage()]
    assert len(logged) == 1, logged
    for text in (*logged, json.dumps(letter, ensure_ascii=False)):
        assert "77019998877" not in text
        assert "9998877" not in text


async def test_intake_never_waits_for_a_slow_provider(
    channels: Channels, store: Store, live_meeting: Meeting
) -> None:
    providers = channels.providers
    providers.gate = asyncio.Event()  # every provider holds every request until opened
    for case in ("whatsapp-cloud", "twilio-sms", "telegram"):
        send = CASES[case][0]
        await asyncio.wait_for(send(channels, RUSSIAN), 5)
    await asyncio.wait_for(by_mail(channels, KAZAKH), 5)
    entries = await store.record.range(live_meeting.id, "-", "+", count=100)
    assert sum(event.kind == "question.asked" for _, event in entries) == 4
    await wait_for(lambda: len(providers.attempts) >= 1, what="the postman at a provider")
    assert providers.sent == []
    providers.gate.set()
    for recipient in ("77011112233", "+77012223344", "5550001", "resident@mail.kz"):
        await providers.wait(recipient)
