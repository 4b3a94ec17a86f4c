"""The providers' webhooks against a real server (issue 10, acceptance): WhatsApp Cloud API,
Twilio (SMS and WhatsApp) and Telegram. Forged deliveries are refused before Redis is touched;
a delivery however often replayed, even after a crash between its append and its 200, makes one
question; what is not a question is recorded and ignored; messages are routed to the meeting
they belong to. The deliveries are the providers' formats, signed as they sign them
(tests/fakes.py); the answers go to the fake providers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from moderation import Meeting, Moderate, StartMeeting
from moderation.model import Channel, Item
from server.auth.accounts import Role
from server.settings import Settings
from server.store import Store
from server.usecases import UseCases, act, change_meeting, create_meeting
from tests import fakes
from tests.conftest import meeting_command
from tests.consoles import Console, console, open_session
from tests.fakes import Delivery, Providers
from tests.helpers import (
    LiveServer,
    PrivateRedis,
    ServerProcess,
    free_port,
    live_server,
    start_server,
)

pytestmark = pytest.mark.anyio

KAZAKH = "Біздің ауылға жол қашан салынады? 🙏"
RUSSIAN = "Когда дадут горячую воду на Абая 10? 👨\u200d👩\u200d👧"


# Helpers


async def events(store: Store, meeting_id: str, kind: str = "question.asked") -> list[Any]:
    entries = await store.record.range(meeting_id, "-", "+", count=10_000)
    return [event for _, event in entries if event.kind == kind]


async def items(live: LiveServer, meeting_id: str) -> dict[str, Item]:
    return dict((await live.services.usecases.rundowns.of(meeting_id)).board.items)


async def live_meeting_in(store: Store, **changes: object) -> Meeting:
    cases = UseCases(store=store)
    meeting = await create_meeting(cases, meeting_command(**changes))
    return await change_meeting(cases, meeting.id, StartMeeting())


def send_mail(port: int, to: str, text: str, message_id: str, sender: str) -> None:
    raw = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: =?utf-8?b?0JLQvtC/0YDQvtGB?=\r\n"
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(text.encode())
    with smtplib.SMTP("127.0.0.1", port, local_hostname="test", timeout=10) as smtp:
        smtp.sendmail(sender, [to], raw)


def the_four(tag: str, **to: str) -> dict[str, Delivery]:
    """One valid delivery for each webhook (Twilio twice: SMS and WhatsApp); `to` overrides
    the addresses they come to: `whatsapp` (phone_number_id), `sms` (Twilio number), `bot`."""
    sms, bot = to.get("sms", fakes.OUR_NUMBER), to.get("bot", "")
    return {
        "whatsapp": fakes.whatsapp(
            fakes.whatsapp_body(
                fakes.whatsapp_text(f"wamid.{tag}", f"{RUSSIAN} ({tag})"),
                number_id=to.get("whatsapp", fakes.NUMBER_ID),
            )
        ),
        "sms": fakes.twilio(fakes.twilio_message(f"SM{tag:0>32}", f"{KAZAKH} ({tag})", to=sms)),
        "twilio-whatsapp": fakes.twilio(
            fakes.twilio_message(
                f"SM{tag:9>32}", f"{RUSSIAN} ({tag})", "whatsapp:+77771234567", f"whatsapp:{sms}"
            )
        ),
        "telegram": fakes.telegram(
            fakes.telegram_message(700 + len(tag) * 1000 + sum(map(ord, tag)), f"{KAZAKH} ({tag})"),
            bot=bot,
        ),
    }


CHANNELS = {"whatsapp": Channel.WHATSAPP, "sms": Channel.SMS,
            "twilio-whatsapp": Channel.WHATSAPP, "telegram": Channel.TELEGRAM}  # fmt: skip


# Signatures: forged deliveries are refused before Redis is touched


def forgeries() -> list[tuple[str, Delivery, int]]:
    """(what, delivery, the status it must get) for every way a delivery can be forged."""
    body = fakes.whatsapp_body(fakes.whatsapp_text("wamid.F1", RUSSIAN))
    other = fakes.whatsapp_body(fakes.whatsapp_text("wamid.F2", "Другой текст"))
    wa = fakes.whatsapp(body)
    sha1 = fakes.whatsapp_signature(body, algorithm="sha1")
    form = fakes.twilio_message("SM" + "f" * 32, KAZAKH)
    tw = fakes.twilio(form)
    url = fakes.PUBLIC_URL + "/webhooks/twilio"
    another_form = fakes.twilio(fakes.twilio_message("SM" + "e" * 32, "Басқа мәтін"))
    tg = fakes.telegram(fakes.telegram_message(1, KAZAKH))
    header = "x-hub-signature-256"
    return [
        ("whatsapp: missing", wa.but(x_hub_signature_256=None), 401),
        ("whatsapp: wrong", wa.but(x_hub_signature_256="sha256=" + "0" * 64), 401),
        (
            "whatsapp: another body's",
            wa.but(**{header: fakes.whatsapp(other).headers[header]}),
            401,
        ),
        ("whatsapp: sha1", wa.but(x_hub_signature_256=sha1), 401),
        ("whatsapp: wrong secret", fakes.whatsapp(body, secret="another-app-secret"), 401),
        ("twilio: missing", tw.but(x_twilio_signature=None), 403),
        ("twilio: wrong", tw.but(x_twilio_signature="A" * 27 + "="), 403),
        (
            "twilio: another form's",
            tw.but(x_twilio_signature=another_form.headers["x-twilio-signature"]),
            403,
        ),
        (
            "twilio: sha256",
            tw.but(x_twilio_signature=fakes.twilio_signature(url, form, algorithm="sha256")),
            403,
        ),
        (
            "twilio: settings name HMAC_SHA256",
            tw.but(x_twilio_webhooks_signature_settings="key=KS1,algorithm=HMAC_SHA256"),
            403,
        ),
        ("twilio: wrong secret", fakes.twilio(form, token="another-auth-token"), 403),
        (
            "twilio: another URL",
            tw.but(
                x_twilio_signature=fakes.twilio_signature(
                    "https://evil.example/webhooks/twilio", form
                )
            ),
            403,
        ),
        ("telegram: missing", tg.but(x_telegram_bot_api_secret_token=None), 401),
        (
            "telegram: wrong",
            tg.but(x_telegram_bot_api_secret_token=fakes.TELEGRAM_SECRET + "x"),
            401,
        ),
        (
            "telegram: wrong secret",
            fakes.telegram(fakes.telegram_message(1, KAZAKH), secret="another"),
            401,
        ),
        ("telegram: empty", tg.but(x_telegram_bot_api_secret_token=""), 401),
    ]


def command_counts(redis: PrivateRedis) -> dict[str, int]:
    """Redis's own count of each command it ran (INFO commandstats)."""
    counts = {}
    for line in redis.cli("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line.partition(":")
            calls = dict(pair.split("=") for pair in rest.split(","))["calls"]
            counts[name.removeprefix("cmdstat_")] = int(calls)
    return counts


def moved(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {name for name, calls in after.items() if calls != before.get(name, 0)}


# What the server does on its own meanwhile (health checks, the postman's look at the
# outboxes (EXISTS of each meeting's, issue 15), the clock's warnings and retention listing
# the meetings, the meetings index's repair at start (SCAN, issue 15), the test's own INFO):
# none of them is a delivery's (a delivery's first command is a GET of its routing).
BACKGROUND = {"ping", "info", "time", "hget", "smembers", "xtrim", "config", "xreadgroup", "zrange",
              "xpending", "xclaim", "xautoclaim", "xgroup", "xinfo", "client", "hello",
              "select", "exists", "scan"}  # fmt: skip


async def test_forged_deliveries_are_refused_before_redis_is_touched(
    settings: Settings, private_redis: PrivateRedis, providers: Providers
) -> None:
    configured = fakes.incoming(providers.settings(settings.replace(redis_url=private_redis.url)))
    store = Store(configured.redis_url, configured.redis_prefix)
    meeting = await live_meeting_in(store)
    try:
        async with live_server(configured) as live:
            before = command_counts(private_redis)
            for what, forged, status in forgeries():
                answer = await forged.post(live.url)
                assert answer.status_code == status, (what, answer.status_code, answer.text)
            during = moved(before, command_counts(private_redis))
            assert during <= BACKGROUND, f"forged deliveries reached Redis: {during - BACKGROUND}"
            # The measure sees a delivery: each valid one runs commands no forged one ran.
            for name, valid in the_four("V1").items():
                before = command_counts(private_redis)
                assert (await valid.post(live.url)).status_code == 200, name
                assert {"get", "evalsha"} <= moved(before, command_counts(private_redis)), name
            assert len(await events(store, meeting.id)) == 4
    finally:
        await store.close()


# Replays, crashes and retries: one question per message


@pytest.mark.parametrize("name", list(CHANNELS))
async def test_five_replays_of_a_delivery_make_one_question(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, name: str
) -> None:
    delivery = the_four("R1")[name]
    answers = [await delivery.post(webhooks.url) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    (asked,) = await events(store, live_meeting.id)
    assert asked.channel is CHANNELS[name]
    assert asked.text == (KAZAKH if name in ("sms", "telegram") else RUSSIAN) + " (R1)"
    if name in ("sms", "twilio-whatsapp"):  # Twilio is answered in TwiML
        assert answers[0].headers["content-type"].startswith("text/xml")
        assert answers[0].text == '<?xml version="1.0" encoding="UTF-8"?><Response />'


@contextlib.asynccontextmanager
async def cutting_proxy(upstream: str) -> AsyncIterator[tuple[str, list[int]]]:
    """A TCP proxy to `upstream` that forwards requests whole and cuts each connection the
    moment the server starts to answer: the server did its work, its answer never arrives (as
    when it crashes between the append and the 200). Yields its URL and the count of cuts."""
    port = int(upstream.rsplit(":", 1)[1])
    cuts: list[int] = []

    async def link(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)

        async def forward() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()

        forwarding = asyncio.get_running_loop().create_task(forward())
        if await up_reader.read(1):
            cuts.append(1)
        writer.transport.abort()
        up_writer.close()
        forwarding.cancel()

    server = await asyncio.start_server(link, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", cuts
    finally:
        server.close()


def kill_9(server: ServerProcess) -> None:
    server.process.kill()
    server.process.wait()


async def test_a_crash_between_the_append_and_the_200_then_the_retry_leaves_one_question(
    tmp_path: Path, settings: Settings, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    env = fakes.process_environment(settings, providers)
    deliveries = the_four("C1")
    server = await asyncio.to_thread(start_server, tmp_path, env=env)
    try:
        async with cutting_proxy(server.url) as (url, cuts):
            for name, delivery in deliveries.items():
                with pytest.raises(httpx.TransportError):
                    await delivery.post(url)
                assert len(cuts) == list(deliveries).index(name) + 1, "the answer was cut"
        assert len(await events(store, live_meeting.id)) == 4  # appended, never answered
        kill_9(server)  # and the process dies before anything else
        server = await asyncio.to_thread(start_server, tmp_path, env=env)
        for name, delivery in deliveries.items():  # the providers' retries
            assert (await delivery.post(server.url)).status_code == 200, name
    finally:
        server.stop()
    asked = await events(store, live_meeting.id)
    assert sorted(e.channel.value for e in asked) == ["sms", "telegram", "whatsapp", "whatsapp"]


# What a delivery carries


async def test_a_whatsapp_batch_makes_each_message_and_ignores_reactions_and_stickers(
    settings: Settings, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    configured = fakes.incoming(providers.settings(settings), sender_burst=10)
    async with live_server(configured) as live:
        answer = await fakes.whatsapp(fakes.fixture("whatsapp_cloud_batch.json")).post(live.url)
        assert answer.status_code == 200
        again = await fakes.whatsapp(fakes.fixture("whatsapp_cloud_batch.json")).post(live.url)
        assert again.status_code == 200
        await providers.wait("77012345678")  # each sender is told it arrived
        await providers.wait("77751234567", 5)
    asked = await events(store, live_meeting.id)
    assert [(e.text, e.note) for e in asked] == [
        ("Рахмет! Ал жылу қашан қосылады? 🙏", ""),
        ("Вот так выглядит двор на Жетысу-2, яма уже месяц 👨\u200d👩\u200d👧", ""),
        ("[image]", "image"),  # media without a caption: recorded as such, never empty
        ("[voice]", "voice"),
        ("сообщение без времени", ""),  # no timestamp: taken at the intake's time
        ("Жалоба в акимат, скан", ""),  # a document's caption is a question too
    ]  # the reaction and the sticker make none
    assert {e.channel for e in asked} == {Channel.WHATSAPP}
    assert [e.name for e in asked[:2]] == ["Айгүл Қасымова", "Бауыржан"]
    assert asked[0].received_at == 1763615600_000


async def test_statuses_make_no_question_and_are_answered_200(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    for _ in range(2):  # statuses repeat
        answer = await fakes.whatsapp(fakes.fixture("whatsapp_cloud_status.json")).post(
            webhooks.url
        )
        assert (answer.status_code, answer.text) == (200, "ok\n")
    assert await events(store, live_meeting.id) == []
    assert providers.attempts == []


async def test_a_username_only_whatsapp_sender_is_taken_and_answered_by_user_id(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    answer = await fakes.whatsapp(fakes.fixture("whatsapp_cloud_username.json")).post(webhooks.url)
    assert answer.status_code == 200
    (asked,) = await events(store, live_meeting.id)
    assert asked.text == "Мектепке баратын жолда жарық жоқ, балалар қараңғыда жүреді."
    assert asked.name == "@saule_almaty"
    (arrived,) = await providers.wait("KZ.13491208655302741918")
    assert arrived.raw["recipient"] == "KZ.13491208655302741918"
    assert "to" not in arrived.raw
    assert "келіп түсті" in arrived.text


async def test_the_whatsapp_handshake_echoes_the_challenge_and_refuses_a_wrong_token(
    webhooks: LiveServer,
) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": fakes.VERIFY_TOKEN,
             "hub.challenge": "1158201444"}  # fmt: skip
    async with httpx.AsyncClient(base_url=webhooks.url) as client:
        good = await client.get("/webhooks/whatsapp", params=query)
        wrong = await client.get("/webhooks/whatsapp", params=query | {"hub.verify_token": "x"})
        unsubscribed = await client.get("/webhooks/whatsapp", params=query | {"hub.mode": "x"})
    assert (good.status_code, good.text) == (200, "1158201444")
    assert wrong.status_code == unsubscribed.status_code == 403
    assert "1158201444" not in wrong.text


@pytest.mark.parametrize(
    ("sample", "note"), [("twilio_whatsapp_voice.form", "voice"), ("image", "image")]
)
async def test_a_twilio_media_only_message_is_recorded_as_such_never_as_an_empty_question(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, sample: str, note: str
) -> None:
    if sample.endswith(".form"):
        form = [tuple(pair.split("=", 1)) for pair in fakes.fixture(sample).decode().split("&")]
        params = [(k, httpx.QueryParams(f"v={v}")["v"]) for k, v in form]
    else:
        params = fakes.twilio_message("MM" + "1" * 32, "", NumMedia="1",
                                      MediaContentType0="image/jpeg")  # fmt: skip
    answer = await fakes.twilio(params).post(webhooks.url)
    assert answer.status_code == 200
    assert "<Response" in answer.text
    (asked,) = await events(store, live_meeting.id)
    assert (asked.note, asked.text) == (note, f"[{note}]")


async def test_telegram_start_is_answered_with_how_to_ask_and_makes_no_question(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    answer = await fakes.telegram(fakes.fixture("telegram_start.json")).post(webhooks.url)
    assert answer.status_code == 200
    (told,) = await providers.wait("5127734091")
    assert told.text.startswith("Сәлеметсіз бе! Әкімге сұрағыңызды осында бір хабарламамен")
    assert await events(store, live_meeting.id) == []


async def test_a_telegram_edit_updates_a_new_question_and_is_refused_once_decided(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    original = json.loads(fakes.fixture("telegram_update.json"))
    edited = json.loads(fakes.fixture("telegram_edited_message.json"))
    assert (await fakes.telegram(original).post(webhooks.url)).status_code == 200
    for _ in range(2):  # a replayed edit changes it once
        assert (await fakes.telegram(edited).post(webhooks.url)).status_code == 200
    (asked,) = await events(store, live_meeting.id)
    assert asked.text == original["message"]["text"]
    assert len(await events(store, live_meeting.id, "question.edited")) == 1
    board = await items(webhooks, live_meeting.id)
    (item,) = board.values()
    assert item.text == edited["edited_message"]["text"]

    await act(webhooks.services.usecases, live_meeting,
              Moderate(action="approve", item=item.id, version=item.version), by="mod")  # fmt: skip
    late = json.loads(json.dumps(edited))
    late["update_id"] += 10
    late["edited_message"]["text"] = "Мүлде басқа сұрақ"
    assert (await fakes.telegram(late).post(webhooks.url)).status_code == 200
    told = await providers.wait("5127734091", 3)  # arrived, approved, and the refused edit
    assert any(t.text.startswith("Модераторлар сұрағыңызды қарап қойды") for t in told), told
    (after,) = (await items(webhooks, live_meeting.id)).values()
    assert after.text == edited["edited_message"]["text"]
    assert len(await events(store, live_meeting.id, "question.edited")) == 1


async def test_telegram_channel_posts_stickers_and_service_messages_make_no_question(
    webhooks: LiveServer, store: Store, live_meeting: Meeting, providers: Providers
) -> None:
    sticker = fakes.telegram_message(11, "", sticker={"file_id": "CAAC", "emoji": "👍"})
    service = fakes.telegram_message(12, "", new_chat_title="Жаңа атау")
    for update in (sticker, service):
        del update["message"]["text"]
    for ignored in (fakes.fixture("telegram_channel_post.json"), sticker, service):
        answer = await fakes.telegram(ignored).post(webhooks.url)
        assert (answer.status_code, answer.text) == (200, "ok\n")
    assert await events(store, live_meeting.id) == []
    assert providers.attempts == []


def utf16_offset(text: str, part: str) -> int:
    return len(text[: text.index(part)].encode("utf-16-le")) // 2


async def test_telegram_texts_keep_their_emoji_and_entities_count_utf16(
    webhooks: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    caption = await fakes.telegram(fakes.fixture("telegram_photo_caption.json")).post(webhooks.url)
    assert caption.status_code == 200
    text = "/ask@HalyqBot 👨\u200d👩\u200d👧🇰🇿 Аулада ойын алаңы қашан салынады? #аула"
    hashtag = utf16_offset(text, "#аула")
    entities = [{"type": "bot_command", "offset": 0, "length": 13},
                {"type": "hashtag", "offset": hashtag, "length": 5}]  # fmt: skip
    command = fakes.telegram_message(21, text, chat_id=777001, entities=entities)
    assert (await fakes.telegram(command).post(webhooks.url)).status_code == 200
    photo, asked = await events(store, live_meeting.id)
    assert photo.text == "👨\u200d👩\u200d👧 Біз көп балалы отбасымыз, аулада ойын алаңы жоқ. #аула"
    assert asked.text == "/ask 👨\u200d👩\u200d👧🇰🇿 Аулада ойын алаңы қашан салынады? #аула"


async def test_an_old_delivery_is_recorded_with_the_time_it_was_sent(
    webhooks: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    old = fakes.whatsapp_text("wamid.OLD", "Письмо трёхдневной давности", timestamp=1764201600)
    assert (await fakes.whatsapp(fakes.whatsapp_body(old)).post(webhooks.url)).status_code == 200
    update = json.loads(fakes.fixture("telegram_update.json"))  # sent a year before the test
    assert (await fakes.telegram(update).post(webhooks.url)).status_code == 200
    whatsapp_one, telegram_one = await events(store, live_meeting.id)
    assert whatsapp_one.received_at == 1764201600_000
    assert telegram_one.received_at == 1763615533_000


async def test_a_channel_without_its_settings_answers_404_and_readyz_says_it_is_off(
    server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        for delivery in the_four("OFF").values():
            answer = await delivery.post(server.url)
            assert answer.status_code == 404, delivery.path
            assert "is off" in answer.text
        handshake = await client.get("/webhooks/whatsapp", params={"hub.mode": "subscribe"})
        assert handshake.status_code == 404
        channels = (await client.get("/readyz")).json()["channels"]
    off = {name: state["in"] for name, state in channels.items() if name != "phone"}
    assert off == {"whatsapp": False, "twilio": False, "telegram": False, "email": False}


# Routing (issue 10.6)


async def test_a_message_during_a_live_meeting_reaches_its_console(
    webhooks: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    session = await open_session(store, "aliya", Role.MODERATOR)
    async with console(webhooks.url, live_meeting.id, session) as ws:
        desk = await Console(ws).start()
        for delivery in the_four("L1").values():
            assert (await delivery.post(webhooks.url)).status_code == 200
        await desk.until(lambda c: len(c.items) == 4)
    shown = sorted((i["channel"], i["text"]) for i in desk.items.values())
    assert shown == sorted((c.value, (KAZAKH if n in ("sms", "telegram") else RUSSIAN) + " (L1)")
                           for n, c in CHANNELS.items())  # fmt: skip
    assert {i["status"] for i in desk.items.values()} == {"new"}


async def test_with_two_live_meetings_each_routed_address_reaches_its_own(
    settings: Settings, store: Store, providers: Providers
) -> None:
    smtp = free_port()
    configured = fakes.incoming(
        providers.settings(settings), smtp_port=smtp, smtp_addresses=("questions@akimat.kz",)
    )
    first = await live_meeting_in(store, title="Бірінші кездесу")
    second = await live_meeting_in(store, title="Екінші кездесу")
    addresses = {
        first.id: {"whatsapp": "111000111", "telegram": "FirstBot", "email": "first@akimat.kz",
                   "sms": "+77172700001"},
        second.id: {"whatsapp": "222000222", "telegram": "SecondBot",
                    "email": "second@akimat.kz", "sms": "+77172700002"},
    }  # fmt: skip
    for meeting_id, routes in addresses.items():
        await store.intake.set_routes(meeting_id, routes)
    async with live_server(configured) as live:
        for n, (meeting_id, routes) in enumerate(addresses.items()):
            tag = meeting_id[-6:]
            to = {"whatsapp": routes["whatsapp"], "sms": routes["sms"], "bot": routes["telegram"]}
            for name, delivery in the_four(tag, **to).items():
                assert (await delivery.post(live.url)).status_code == 200, name
            await asyncio.to_thread(
                send_mail, smtp, routes["email"].upper(), f"{RUSSIAN} ({tag})",
                f"<{tag}@mail.kz>", f"resident{n}@mail.kz",
            )  # fmt: skip
    for meeting_id in addresses:
        asked = await events(store, meeting_id)
        assert sorted(e.channel.value for e in asked) == sorted(
            ["whatsapp", "sms", "whatsapp", "telegram", "email"]
        ), meeting_id
        assert all(e.text.endswith(f"({meeting_id[-6:]})") for e in asked), meeting_id


async def test_outside_any_live_meeting_a_message_joins_the_next_meetings_requests(
    webhooks: LiveServer, store: Store, providers: Providers
) -> None:
    cases = UseCases(store=store)
    await create_meeting(cases, meeting_command(starts_at="2026-12-15T18:00:00+05:00"))
    sooner = await create_meeting(cases, meeting_command(starts_at="2026-12-10T18:00:00+05:00"))
    update = fakes.telegram_message(31, KAZAKH, chat_id=777002)
    assert (await fakes.telegram(update).post(webhooks.url)).status_code == 200
    sms = fakes.twilio(fakes.twilio_message("SM" + "3" * 32, "Когда починят дорогу на Абая?"))
    assert (await sms.post(webhooks.url)).status_code == 200
    assert [e.text for e in await events(store, sooner.id)] == [
        KAZAKH,
        "Когда починят дорогу на Абая?",
    ]
    board = await items(webhooks, sooner.id)
    assert {i.status.value for i in board.values()} == {"new"}  # moderators see them
    (kazakh,) = await providers.wait("777002")
    assert "10 желтоқсан 2026" in kazakh.text, kazakh.text
    assert "өтініштер" in kazakh.text, kazakh.text
    (russian,) = await providers.wait("+77012345678")
    assert "10 декабря 2026" in russian.text, russian.text
    assert "обращения" in russian.text, russian.text
