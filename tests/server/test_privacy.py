"""Privacy (issue 10, point 8 and its acceptance): residents' contacts never leave the contact
store. 50 messages from 50 distinct senders, through every channel's real entrance (the
WhatsApp Cloud API, Twilio SMS and WhatsApp and Telegram webhooks, SMTP), each text carrying a
phone number in one of its written forms, an e-mail address and an IIN; web questions too.
Moderators approve, reject and merge, the producer takes questions on air, answers go out to
fake providers (and some cannot). Then everything viewers, the producer and the studio get, and
every log line and metric, is read: no raw number, e-mail or IIN in any of it. After the
retention period, every key of the installation is read: no raw contact is left in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import json
import logging
import random
import re
import smtplib
import urllib.parse
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from moderation import AkimLevel, Meeting, StartMeeting
from server.auth.accounts import Role
from server.auth.keys import KeyKind, current_key
from server.channels.twilio import signature
from server.settings import Settings
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from server.usecases.intake import NO_MEETING
from server.usecases.retention import DAY_MS, sweep
from tests.conftest import meeting_command
from tests.consoles import Console, ask, console, open_session
from tests.fakes import Providers, fake_providers
from tests.helpers import (
    TIMEOUT,
    LiveServer,
    catch_up,
    free_port,
    live_server,
    raw_reply,
    redis_commands,
    wait_for,
)

pytestmark = pytest.mark.anyio

APP_SECRET = "privacy-app-secret"
VERIFY_TOKEN = "privacy-verify-token"
TWILIO_TOKEN = "privacy-twilio-token"
TELEGRAM_SECRET = "privacy-telegram-secret"
PUBLIC_URL = "https://halyq.test"
REDELIVERIES = 5  # times a provider delivers a webhook answered 503 (see `Senders.send`)
OURS = "questions@akimat.kz"
NUMBER_ID = "106540352242922"
ADMIN = {"Authorization": "Bearer test-admin-token"}
OPERATORS = ("700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778")
SEPARATORS = r"[\s\-().]*"
CHANNELS = {"whatsapp": 14, "sms": 10, "twilio-whatsapp": 6, "telegram": 12, "email": 8}
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "mail.log")


# What the residents write, and the written forms to look for


@dataclass
class Contacts:
    """Every contact the test hands the server: the senders' numbers (10 national digits),
    e-mail addresses and Telegram chat ids, and the numbers, e-mails and IINs in the texts."""

    numbers: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    chats: list[int] = field(default_factory=list)
    iins: list[str] = field(default_factory=list)

    def pattern(self) -> re.Pattern[str]:
        """Any of them in any written form: E.164 with or without "+", the national "8...",
        the 10 digits alone, spaced, dashed or bracketed; the e-mails whole or their mailbox."""
        forms = [
            r"(?<!\d)(?:(?:\+?7|8)" + SEPARATORS + ")?" + SEPARATORS.join(n) + r"(?!\d)"
            for n in self.numbers
        ]
        forms += [r"(?<!\d)" + SEPARATORS.join(iin) + r"(?!\d)" for iin in self.iins]
        forms += [rf"(?<!\d){chat}(?!\d)" for chat in self.chats]
        forms += [re.escape(address) for address in self.emails]
        forms += [re.escape(address.partition("@")[0]) + "@" for address in self.emails]
        return re.compile("|".join(forms), re.IGNORECASE)


def national(rng: random.Random, taken: set[str]) -> str:
    while True:
        number = f"{rng.choice(OPERATORS)}{rng.randrange(10**7):07d}"
        if number not in taken:
            taken.add(number)
            return number


def written(number: str, form: int) -> str:
    """A number as residents write it (integrations.md 6.1)."""
    n = number
    return [
        f"+7 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}",
        f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
        f"8{n}",
        f"7{n}",
        f"+7{n}",
        f"8-{n[:3]}-{n[3:6]}-{n[6:]}",
    ][form % 6]


@dataclass
class Message:
    channel: str
    sender: str  # the national digits, an e-mail address or a chat id
    text: str
    name: str = "Айгүл"


def residents(contacts: Contacts, rng: random.Random) -> list[Message]:
    """50 messages from 50 distinct senders, each with a number, an e-mail and an IIN inside."""
    taken: set[str] = set()
    messages: list[Message] = []
    for channel, count in CHANNELS.items():
        for _ in range(count):
            n = len(messages)
            if channel == "telegram":
                sender = str(6_100_000_000 + rng.randrange(10**8))
                contacts.chats.append(int(sender))
            elif channel == "email":
                sender = f"sender{n}.{rng.randrange(10**6)}@mail.kz"
                contacts.emails.append(sender)
            else:
                sender = national(rng, taken)
                contacts.numbers.append(sender)
            messages.append(Message(channel, sender, question(contacts, rng, taken, n)))
    # Names that carry contacts too: a profile named by its number, a From named by its address.
    messages[0].name = "+7" + messages[0].sender
    first_mail = next(m for m in messages if m.channel == "email")
    first_mail.name = first_mail.sender
    return messages


def question(contacts: Contacts, rng: random.Random, taken: set[str], n: int) -> str:
    phone = national(rng, taken)
    address = f"resident{n}.x{rng.randrange(10**6)}@gmail.com"
    iin = f"{rng.randrange(50, 99)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    iin += f"{rng.randrange(10**6):06d}"
    contacts.numbers.append(phone)
    contacts.emails.append(address)
    contacts.iins.append(iin)
    if n % 2:
        return (
            f"Здравствуйте! Мой номер {written(phone, n)}, почта {address}, ИИН {iin}. "
            f"Когда отремонтируют дорогу у дома {n} по улице Абая?"
        )
    return (
        f"Сәлеметсіз бе! Нөмірім {written(phone, n)}, поштам {address}, ЖСН {iin}. "
        f"Біздің ауладағы жарық қашан жөнделеді, {n} үй?"
    )


# The channels' entrances, as the providers call them


@dataclass
class Senders:
    http: httpx.AsyncClient
    smtp_port: int
    sequence: int = 0

    def next_id(self) -> int:
        self.sequence += 1
        return self.sequence

    async def send(self, message: Message) -> None:
        if message.channel == "email":
            await asyncio.to_thread(self._mail, message)
            return
        deliver = {
            "whatsapp": self._whatsapp,
            "sms": self._twilio,
            "twilio-whatsapp": self._twilio,
            "telegram": self._telegram,
        }[message.channel]
        number = self.next_id()
        # A 503 (`retry`: the record did not answer in time on a loaded machine) is delivered
        # again with the same provider id, as WhatsApp, Twilio and Telegram redeliver.
        for _ in range(REDELIVERIES):
            answer = await deliver(message, number)
            if answer.status_code != 503:
                break
        assert answer.status_code == 200, (message.channel, answer.status_code, answer.text)

    async def _whatsapp(self, message: Message, number: int) -> httpx.Response:
        wa_id = "7" + message.sender
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "77010000000", "phone_number_id": NUMBER_ID},
            "contacts": [{"profile": {"name": message.name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": f"wamid.P{number}", "type": "text",
                          "timestamp": "1764460800", "text": {"body": message.text}}],
        }  # fmt: skip
        body = json.dumps(
            {"object": "whatsapp_business_account",
             "entry": [{"id": "WABA", "changes": [{"value": value, "field": "messages"}]}]}
        ).encode()  # fmt: skip
        digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"x-hub-signature-256": f"sha256={digest}", "content-type": "application/json"}
        return await self.http.post("/webhooks/whatsapp", content=body, headers=headers)

    async def _twilio(self, message: Message, number: int) -> httpx.Response:
        whatsapp = message.channel == "twilio-whatsapp"
        prefix = "whatsapp:" if whatsapp else ""
        form = [
            ("MessageSid", f"SM{number:032x}"),
            ("AccountSid", "AC" + "0" * 32),
            ("From", f"{prefix}+7{message.sender}"),
            ("To", f"{prefix}+77172705050"),
            ("Body", message.text),
            ("NumMedia", "0"),
        ]
        if whatsapp:
            form.append(("ProfileName", message.name))
        url = PUBLIC_URL + "/webhooks/twilio"
        headers = {
            "x-twilio-signature": signature(url, form, TWILIO_TOKEN),
            "content-type": "application/x-www-form-urlencoded",
        }
        body = urllib.parse.urlencode(form).encode()
        return await self.http.post("/webhooks/twilio", content=body, headers=headers)

    async def _telegram(self, message: Message, number: int) -> httpx.Response:
        chat = int(message.sender)
        person = {"id": chat, "is_bot": False, "first_name": message.name, "language_code": "kk"}
        update = {
            "update_id": 900_000 + number,
            "message": {
                "message_id": number,
                "from": person,
                "chat": {"id": chat, "first_name": message.name, "type": "private"},
                "date": 1764460800,
                "text": message.text,
            },
        }
        headers = {"x-telegram-bot-api-secret-token": TELEGRAM_SECRET}
        return await self.http.post("/webhooks/telegram", json=update, headers=headers)

    def _mail(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = f'"{message.name}" <{message.sender}>'
        mail["To"] = OURS
        mail["Subject"] = "Вопрос акиму"
        mail["Message-ID"] = f"<p{self.next_id()}@mail.kz>"
        mail.set_content(message.text)
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=TIMEOUT) as smtp:
            smtp.send_message(mail)


# What viewers, the producer and the studio are given


class Tap:
    """Every frame a socket receives, read in the background until it closes."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[str] = []
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for frame in self.ws:
                self.frames.append(frame if isinstance(frame, str) else frame.decode())


class TappedConsole(Console):
    """A moderator's console that keeps every frame it read."""

    frames: list[dict[str, Any]]

    def take(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        super().take(frame)


def readable(text: str) -> str:
    """`text` as a person would read it: HTML entities and JSON escapes undone."""
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), ensure_ascii=False)
    return html.unescape(text)


def leaks(pattern: re.Pattern[str], where: str, texts: Iterable[str]) -> list[str]:
    found = []
    for text in texts:
        for match in pattern.finditer(readable(text)):
            around = text[max(0, match.start() - 80) : match.end() + 40]
            found.append(f"{where}: {match.group()!r} in ...{around!r}")
    return found


async def pages(
    http: httpx.AsyncClient, meeting: Meeting, overlay_key: str, sessions: dict[str, str]
) -> dict[str, str]:
    """Every page and JSON document of the meeting a viewer, the producer or the studio reads."""
    m = meeting.id
    public = [f"/m/{m}", f"/api/meetings/{m}", f"/api/meetings/{m}/clock",
              f"/api/meetings/{m}/transparency", f"/m/{m}/transparency", "/api/meetings", "/",
              "/metrics", "/readyz"]  # fmt: skip
    studio = [f"/overlay/{m}/lower-third", f"/overlay/{m}/clock", f"/overlay/{m}/ticker",
              f"/feeds/{m}/vmix.json", f"/feeds/{m}/vmix.xml"]  # fmt: skip
    found: dict[str, str] = {}
    for path in public:
        found[path] = (await http.get(path)).text
    for path in studio:
        answer = await http.get(path, params={"key": overlay_key})
        assert answer.status_code == 200, (path, answer.status_code)
        found[path] = answer.text
    found["rundown"] = (await http.get(f"/api/meetings/{m}/rundown", headers=ADMIN)).text
    for role, session in sessions.items():
        cookies = {"Cookie": f"halyq_session={session}"}
        for path in (f"/producer/{m}", f"/console/{m}", f"/api/meetings/{m}/items"):
            answer = await http.get(path, headers=cookies)
            if answer.status_code == 200:
                found[f"{path} as {role}"] = answer.text
    assert f"/producer/{m} as producer" in found
    return found


# Every value under the test's prefix, read from Redis as an operator would


def redis_cli(redis_url: str, commands: list[list[str]]) -> str:
    """What `redis-cli --raw` prints for `commands` against the test's Redis, one after another
    on one connection."""
    return "".join(raw_reply(reply) + "\n" for reply in redis_commands(redis_url, *commands))


def everything_in_redis(redis_url: str, prefix: str) -> tuple[list[str], str]:
    """Every key of `prefix` and every value of every type behind them: strings, hashes, sets,
    sorted sets, lists, streams with their entries, consumer groups and pending lists."""
    found: set[str] = set()
    cursor = "0"
    while True:  # SCAN as `redis-cli --scan` runs it, to the end of the cursor
        [reply] = redis_commands(
            redis_url, ["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"]
        )
        assert isinstance(reply, list), reply
        cursor, batch = raw_reply(reply[0]), reply[1]
        assert isinstance(batch, list), reply
        found.update(raw_reply(key) for key in batch)
        if cursor == "0":
            break
    keys = sorted(found)
    types = redis_cli(redis_url, [["TYPE", key] for key in keys]).split()
    assert len(types) == len(keys), (keys, types)
    reads = {
        "string": lambda k: [["GET", k]],
        "hash": lambda k: [["HGETALL", k]],
        "set": lambda k: [["SMEMBERS", k]],
        "zset": lambda k: [["ZRANGE", k, "0", "-1", "WITHSCORES"]],
        "list": lambda k: [["LRANGE", k, "0", "-1"]],
        "stream": lambda k: [["XRANGE", k, "-", "+"], ["XINFO", "STREAM", k, "FULL"]],
    }
    commands = [  # a key that expired meanwhile (a rate limit's bucket) is "none": gone
        command
        for key, kind in zip(keys, types, strict=True)
        if kind != "none"
        for command in reads[kind](key)
    ]
    return keys, redis_cli(redis_url, commands) if commands else ""


# The test


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    async with fake_providers(TWILIO_TOKEN) as fakes:
        yield fakes


@pytest.fixture
def channels_on(settings: Settings, providers: Providers) -> Settings:
    return providers.settings(
        settings,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token=VERIFY_TOKEN,
        whatsapp_phone_number_id=NUMBER_ID,
        twilio_auth_token=TWILIO_TOKEN,
        public_url=PUBLIC_URL,
        telegram_secret_token=TELEGRAM_SECRET,
        smtp_port=free_port(),
        smtp_addresses=(OURS,),
        smtp_per_minute=1000,
    )


@contextlib.contextmanager
def every_log_line(caplog: pytest.LogCaptureFixture) -> Any:
    """caplog at DEBUG for our loggers and for uvicorn's and aiosmtpd's (which do not
    propagate to the root logger under uvicorn's logging configuration)."""
    caplog.set_level(logging.DEBUG)
    attached = [logging.getLogger(name) for name in LOGGERS]
    for logger in attached:
        logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        for logger in attached:
            logger.removeHandler(caplog.handler)


async def test_privacy_no_raw_contact_reaches_anyone_and_none_outlives_its_retention(
    channels_on: Settings,
    store: Store,
    providers: Providers,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = random.Random(20261130)
    contacts = Contacts()
    messages = residents(contacts, rng)
    assert len({m.sender for m in messages}) == 50
    extra = Contacts()  # a sender past the rate limit, and a Telegram /start
    limited = Message("whatsapp", national(rng, set(contacts.numbers)), "")
    extra.numbers.append(limited.sender)
    starter = 6_900_000_000 + rng.randrange(10**8)
    extra.chats.append(starter)
    web_texts = [question(extra, rng, set(contacts.numbers), 100 + n) for n in range(3)]
    everyone = Contacts(
        contacts.numbers + extra.numbers, contacts.emails + extra.emails,
        contacts.chats + extra.chats, contacts.iins + extra.iins,
    )  # fmt: skip
    pattern = everyone.pattern()
    for message in messages:  # the pattern finds every contact in every form used
        assert len(pattern.findall(message.text)) == 3, message.text
        assert pattern.search(message.sender)
        if message.channel not in ("telegram", "email"):
            assert pattern.fullmatch(f"+7{message.sender}")

    cases = UseCases(store=store)
    meeting = await create_meeting(
        cases, meeting_command(starts_at="2026-12-10T18:00:00+05:00", level=AkimLevel.LOCAL)
    )
    with every_log_line(caplog):
        for logger in LOGGERS:
            caplog.set_level(logging.DEBUG, logger=logger)
        found = await run_the_meeting(
            channels_on, store, providers, meeting, messages, limited, starter, web_texts
        )
        for where, texts in found.items():
            assert not (bad := leaks(pattern, where, texts)), "\n".join(bad[:20])
        log = caplog.text
        assert "webhook" in log or "SMTP" in log  # the loggers were heard
    assert not (bad := leaks(pattern, "log", [log])), "\n".join(bad[:20])

    # After the retention period, nothing of theirs is left anywhere in Redis.
    ended = await store.meetings.get(meeting.id)
    assert ended is not None
    assert ended.ended_at
    keys, before = everything_in_redis(redis_url, channels_on.redis_prefix)
    assert leaks(pattern, "redis before the retention", [before])  # the contacts were kept
    days = channels_on.contact_retention_days
    early = await sweep(store, days=days, now_ms=ended.ended_at + days * DAY_MS - 1)
    assert early.meetings == ()
    swept = await sweep(store, days=days, now_ms=ended.ended_at + days * DAY_MS)
    assert swept.meetings == (meeting.id,)
    keys, after = everything_in_redis(redis_url, channels_on.redis_prefix)
    assert f"{channels_on.redis_prefix}m:{{{meeting.id}}}:log" in keys  # the record stays
    assert "••• ••• ••" in after
    assert "•••@gmail.com" in after
    assert not (bad := leaks(pattern, "redis", [after])), "\n".join(bad[:20])


async def run_the_meeting(
    settings: Settings,
    store: Store,
    providers: Providers,
    meeting: Meeting,
    messages: list[Message],
    limited: Message,
    starter: int,
    web_texts: list[str],
) -> dict[str, list[str]]:
    """The meeting from its requests to its end; what everyone was given, by where."""
    found: dict[str, list[str]] = {}
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
    ):
        senders = Senders(http, settings.smtp_port)
        for message in messages[:5]:  # before the meeting: its requests (R5)
            await senders.send(message)
        await change_meeting(server.services.usecases, meeting.id, StartMeeting())
        key = await current_key(store, meeting.id, KeyKind.OVERLAY)
        sessions = {role.value: await open_session(store, role.value + "-1", role)
                    for role in (Role.MODERATOR, Role.PRODUCER)}  # fmt: skip
        async with (
            server.socket(meeting.id) as viewer,
            console(server.url, meeting.id, sessions["moderator"]) as desk_ws,
            overlay(server, meeting.id, key) as studio,
        ):
            hello, _ = await catch_up(viewer)
            viewer_tap, studio_tap = Tap(viewer), Tap(studio)
            desk = TappedConsole(desk_ws)
            desk.frames = []
            await desk.start()
            desk.frames.append(desk.hello)
            await asyncio.gather(*(senders.send(m) for m in messages[5:]))
            async with server.socket(meeting.id) as asker:
                await catch_up(asker)
                for n, text in enumerate(web_texts):
                    await ask(asker, f"web{n}", text)
            await desk.until(lambda c: len(c.items) == 53)
            await decide(desk, http, meeting)
            await wait_for(lambda: delivered(store, meeting), what="the answers delivered")
            providers.failing = True  # what follows stays in the outboxes until retention
            for _ in range(4):
                await senders.send(Message("whatsapp", limited.sender, web_texts[0]))
            await senders._telegram(Message("telegram", str(starter), "/start"), senders.next_id())
            await desk.until(lambda c: len(c.items) == 56)
            await wait_for(lambda: refused(store), what="the refusal logged")
            found |= {k: [v] for k, v in (await pages(http, meeting, key, sessions)).items()}
            async with server.socket(meeting.id) as late:
                found["late viewer"] = [json.dumps(f) for f in (await catch_up(late))]
            answer = await http.post(f"/api/meetings/{meeting.id}/end", headers=ADMIN)
            assert answer.status_code == 200, answer.text
            found |= {
                f"{k} (ended)": [v] for k, v in (await pages(http, meeting, key, sessions)).items()
            }
            await viewer.close()
            await studio.close()
            await asyncio.gather(viewer_tap.task, studio_tap.task)
        found["viewer socket"] = [json.dumps(hello), *viewer_tap.frames]
        found["overlay socket"] = studio_tap.frames
        found["moderator console"] = [json.dumps(f) for f in desk.frames]
        assert any("question.approved" in f for f in viewer_tap.frames)
        assert sum("••• ••• ••" in readable(f) for f in viewer_tap.frames) >= 40  # texts went
        assert any("on_air" in f for f in studio_tap.frames)
        assert len(providers.sent) >= 50 * 2
    return found


def overlay(server: LiveServer, meeting_id: str, key: str) -> Any:
    """The studio's overlay socket, as a lower third opens it."""
    return connect(
        server.ws(f"/ws/overlay/{meeting_id}?key={key}"), compression=None, open_timeout=TIMEOUT
    )


async def delivered(store: Store, meeting: Meeting) -> bool:
    return not await store.outbox.size(meeting.id) and not await store.outbox.size(NO_MEETING)


async def refused(store: Store) -> bool:
    return any(r["why"] == "rate_limited" for r in await store.intake.refusals())


async def decide(desk: Console, http: httpx.AsyncClient, meeting: Meeting) -> None:
    """Moderators approve most, reject some with a reason, merge one; the producer takes some
    on air, marks one answered and one deferred, and leaves one on air."""
    reasons = ["personal_data", "off_topic", "out_of_scope"]
    ids = sorted(desk.items, key=lambda i: tuple(int(p) for p in i.split("-")))
    approved: list[str] = []
    for n, item in enumerate(ids):
        if n % 7 == 3:
            answer = await desk.act("reject", item, reason=reasons[n % 3])
        elif n == 10:
            answer = await desk.act("merge", item, into=approved[0])
        else:
            answer = await desk.act("approve", item)
            approved.append(item)
        assert answer["type"] == "result", answer
    rundown = f"/api/meetings/{meeting.id}/rundown"
    for verb, body in (("take", {"question": approved[1]}), ("answered", None), ("next", None),
                       ("deferred", None), ("take", {"question": approved[5]})):  # fmt: skip
        posted = await http.post(f"{rundown}/{verb}", json=body, headers=ADMIN)
        assert posted.status_code == 200, (verb, posted.text)
