"""The e-mail channel end to end (issue 10.5, acceptance): a real server with its SMTP listener
on (`HALYQ_SMTP_PORT`), mail sent with `smtplib` from the test. Each mail, whatever its charset
and transfer encoding, multipart or a quoted reply with a signature, becomes one question
(channel `email`) with exactly the resident's new text; the same Message-ID twice makes one;
mail for an address that is neither ours nor a meeting's routed one is refused (550).
"""

from __future__ import annotations

import asyncio
import base64
import quopri
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from moderation import Meeting
from moderation.model import Channel
from server.settings import Settings
from server.store import Store
from tests.helpers import LiveServer, free_port, live_server

pytestmark = pytest.mark.anyio

OURS = "questions@akimat.kz"
FAMILY = "👨\u200d👩\u200d👧"


@dataclass
class Mailbox:
    live: LiveServer
    port: int

    async def send(self, raw: bytes, sender: str, to: str = OURS) -> None:
        await asyncio.to_thread(self._send, raw, sender, to)

    def _send(self, raw: bytes, sender: str, to: str) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="test", timeout=10) as smtp:
            smtp.sendmail(sender, [to], raw)


@pytest.fixture
async def mailbox(settings: Settings) -> AsyncIterator[Mailbox]:
    port = free_port()
    configured = settings.replace(smtp_port=port, smtp_addresses=(OURS,))
    async with live_server(configured) as live:
        yield Mailbox(live, port)


def headers(sender: str, message_id: str, content_type: str, encoding: str = "") -> bytes:
    head = (
        f"From: {sender}\r\nTo: {OURS}\r\nSubject: =?utf-8?b?0JLQvtC/0YDQvtGBINCw0LrQuNC80YM=?=\r\n"
        f"Date: Mon, 30 Nov 2026 10:00:00 +0500\r\nMessage-ID: {message_id}\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
    )
    if encoding:
        head += f"Content-Transfer-Encoding: {encoding}\r\n"
    return head.encode()


def single(text: str, charset: str, encoding: str, sender: str, message_id: str) -> bytes:
    data = text.encode(charset)
    body = base64.encodebytes(data) if encoding == "base64" else quopri.encodestring(data)
    head = headers(sender, message_id, f"text/plain; charset={charset}", encoding)
    return head + b"\r\n" + body.replace(b"\n", b"\r\n")


def part(content_type: str, data: bytes, extra: str = "") -> bytes:
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n{extra}\r\n"
    return head.encode() + base64.encodebytes(data).replace(b"\n", b"\r\n")


def multipart(boundary: str, subtype: str, *parts: bytes) -> bytes:
    body = b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts)
    return body + f"--{boundary}--\r\n".encode()


async def questions(store: Store, meeting_id: str) -> list[Any]:
    entries = await store.record.range(meeting_id, "-", "+", count=1000)
    return [event for _, event in entries if event.kind == "question.asked"]


KAZAKH = f"Сәлеметсіз бе! Біздің ауладағы жолды қашан жөндейді? {FAMILY}"
RUSSIAN = "Здравствуйте! Когда отремонтируют дорогу во дворе на улице Абая, 15?"
KOI8 = "Добрый день. Почему во дворе дома 7 по улице Гоголя не вывозят мусор?"


@pytest.mark.parametrize(
    ("charset", "encoding", "text"),
    [("utf-8", "quoted-printable", KAZAKH), ("windows-1251", "base64", RUSSIAN),
     ("koi8-r", "quoted-printable", KOI8), ("koi8-r", "base64", KOI8)],
)  # fmt: skip
async def test_a_mail_in_each_charset_becomes_one_question_with_its_text(
    mailbox: Mailbox, store: Store, live_meeting: Meeting, charset: str, encoding: str, text: str
) -> None:
    sender = f"{charset}@mail.kz"
    await mailbox.send(single(text, charset, encoding, sender, f"<{charset}@mail.kz>"), sender)
    (asked,) = await questions(store, live_meeting.id)
    assert (asked.channel, asked.text, asked.note) == (Channel.EMAIL, text, "")
    assert asked.received_at == 1796014800_000  # its Date header


async def test_a_multipart_mail_becomes_its_plain_text_and_notes_its_attachment(
    mailbox: Mailbox, store: Store, live_meeting: Meeting
) -> None:
    plain = part("text/plain; charset=utf-8", RUSSIAN.encode())
    html = part("text/html; charset=utf-8", f"<p><b>{RUSSIAN}</b></p>".encode())
    scan = part("application/pdf", b"%PDF-1.4 scan",
                'Content-Disposition: attachment; filename="shagym.pdf"\r\n')  # fmt: skip
    alternative = b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n' + multipart(
        "alt", "alternative", plain, html
    )
    sender = "multi@mail.kz"
    raw = headers(sender, "<multi@mail.kz>", 'multipart/mixed; boundary="mix"')
    raw += b"\r\n" + multipart("mix", "mixed", alternative, scan)
    await mailbox.send(raw, sender)
    (asked,) = await questions(store, live_meeting.id)
    assert (asked.channel, asked.text, asked.note) == (Channel.EMAIL, RUSSIAN, "1 attachment")


async def test_a_quoted_reply_with_a_signature_becomes_only_the_new_text(
    mailbox: Mailbox, store: Store, live_meeting: Meeting
) -> None:
    body = (
        "Когда заработает лифт в доме 12 по Абая?\n"
        "Уже месяц не работает.\n"
        "\n"
        "-- \n"
        "Айгерим Сапарова\n"
        "\n"
        "30.11.2026, 10:00, Акимат Алмалинского района пишет:\n"
        "> Ваш вопрос получен.\n"
        "> Модераторы его прочитают.\n"
    )
    sender = "reply@mail.kz"
    await mailbox.send(single(body, "utf-8", "base64", sender, "<reply@mail.kz>"), sender)
    (asked,) = await questions(store, live_meeting.id)
    # The record keeps a question on one line (the domain joins its lines).
    assert asked.text == "Когда заработает лифт в доме 12 по Абая? Уже месяц не работает."


async def test_the_same_message_id_twice_makes_one_question(
    mailbox: Mailbox, store: Store, live_meeting: Meeting
) -> None:
    sender = "twice@mail.kz"
    raw = single(RUSSIAN, "utf-8", "quoted-printable", sender, "<twice@mail.kz>")
    await mailbox.send(raw, sender)
    await mailbox.send(raw, sender)  # the sending MTA retried: it never saw our 250
    assert [q.text for q in await questions(store, live_meeting.id)] == [RUSSIAN]


async def test_mail_for_an_address_neither_ours_nor_routed_is_refused(
    mailbox: Mailbox, store: Store, live_meeting: Meeting
) -> None:
    sender = "someone@mail.kz"
    raw = single(RUSSIAN, "utf-8", "base64", sender, "<route@mail.kz>")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await mailbox.send(raw, sender, to="stranger@akimat.kz")
    assert refused.value.recipients["stranger@akimat.kz"][0] == 550
    assert await questions(store, live_meeting.id) == []
    await store.intake.set_routes(live_meeting.id, {"email": "almaly@akimat.kz"})
    await mailbox.send(raw, sender, to="Almaly@Akimat.kz")
    (asked,) = await questions(store, live_meeting.id)
    assert asked.text == RUSSIAN


async def test_a_top_posted_reply_from_a_phone_loses_the_thread_and_the_footer(
    mailbox: Mailbox, store: Store, live_meeting: Meeting
) -> None:
    body = (
        "Рахмет! Ал жылу қашан қосылады?\n"
        "\n"
        "Sent from my iPhone\n"
        "\n"
        "On Mon, 30 Nov 2026 at 10:00, Akimat <questions@akimat.kz> wrote:\n"
        "> Сұрағыңыз келіп түсті.\n"
    )
    sender = "phone@mail.kz"
    await mailbox.send(single(body, "utf-8", "quoted-printable", sender, "<ph@mail.kz>"), sender)
    (asked,) = await questions(store, live_meeting.id)
    assert (asked.text, asked.language) == ("Рахмет! Ал жылу қашан қосылады?", "kk")
