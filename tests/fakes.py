"""Fake providers for the answers to senders (issue 10): the only fakes the suite has, at the
edges it cannot reach offline. They speak the real formats: WhatsApp's Cloud API
(`POST /{phone_number_id}/messages`, JSON, a bearer token), Twilio's Messages resource
(`POST /2010-04-01/Accounts/{sid}/Messages.json`, a form, basic auth), Telegram's Bot API
(`POST /bot{token}/sendMessage`, JSON) and an SMTP relay (a real aiosmtpd server). Each
records what it was sent; `failing` makes the HTTP ones answer 503 until it is cleared,
`refusing` makes them answer that status (a 4xx) instead, and `gate`, while set and not open,
holds every HTTP request (a slow provider). `attempts` lists every HTTP request received, with
its time (`time.monotonic()`), served or not.

The other way round, `Delivery` and its builders are what the providers send us: webhook
bodies in their formats, signed as each provider signs them (written out here from the
providers' documentation, not taken from our code).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.policy
import hmac
import json
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.settings import Settings
from tests.helpers import environment, wait_for

TWILIO_SID = "AC" + "0" * 32
TELEGRAM_TOKEN = "123456:test-bot-token"
WHATSAPP_TOKEN = "test-whatsapp-access-token"
# What the providers hold to sign their deliveries to us (the server's incoming settings).
APP_SECRET = "test-whatsapp-app-secret"
VERIFY_TOKEN = "test-whatsapp-verify-token"
TWILIO_AUTH_TOKEN = "test-twilio-auth-token"
TELEGRAM_SECRET = "test-telegram-secret-token"
PUBLIC_URL = "https://halyq.example.kz"
NUMBER_ID = "113009874561234"  # our WhatsApp Cloud phone_number_id in the samples
OUR_NUMBER = "+77172705050"  # our Twilio number in the samples
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Sent:
    """One message a fake provider was asked to send: where to (`to`), the `text`, and the
    provider (`whatsapp`, `twilio`, `telegram`, `email`)."""

    provider: str
    to: str
    text: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Providers:
    """The fake providers' base URLs and everything they were sent."""

    url: str = ""
    relay: str = ""
    sent: list[Sent] = field(default_factory=list)
    failing: bool = False
    refusing: int = 0
    gate: asyncio.Event | None = None
    attempts: list[tuple[str, float]] = field(default_factory=list)

    def settings(self, settings: Settings, **more: Any) -> Settings:
        """`settings` with every channel's answers pointed at the fakes."""
        return settings.replace(
            whatsapp_access_token=WHATSAPP_TOKEN,
            whatsapp_api_base=f"{self.url}/graph",
            twilio_account_sid=TWILIO_SID,
            twilio_api_base=f"{self.url}/twilio",
            telegram_bot_token=TELEGRAM_TOKEN,
            telegram_api_base=f"{self.url}/telegram",
            smtp_relay=self.relay,
            smtp_from="akimat@halyq.test",
            **more,
        )

    def to(self, recipient: str) -> list[Sent]:
        return [s for s in self.sent if s.to == recipient]

    async def wait(self, recipient: str, count: int = 1) -> list[Sent]:
        """What `recipient` was sent, once at least `count` messages reached them."""
        await wait_for(lambda: len(self.to(recipient)) >= count, what=f"{count} to {recipient}")
        return self.to(recipient)


def _providers(request: Request) -> Providers:
    providers: Providers = request.app.state.providers
    return providers


async def _unavailable(request: Request, provider: str) -> Response | None:
    """The answer of a provider that is down (503) or refusing (`refusing`), after the
    `gate` (if any) let the request through; None when it serves."""
    providers = _providers(request)
    providers.attempts.append((provider, time.monotonic()))
    if providers.gate is not None:
        await providers.gate.wait()
    if providers.refusing:
        return JSONResponse({"error": "refused"}, status_code=providers.refusing)
    if providers.failing:
        return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
    return None


async def _whatsapp(request: Request) -> Response:
    if request.headers.get("authorization") != f"Bearer {WHATSAPP_TOKEN}":
        return JSONResponse({"error": {"code": 190}}, status_code=401)
    if (failed := await _unavailable(request, "whatsapp")) is not None:
        return failed
    body = await request.json()
    sent = _providers(request).sent
    sent.append(
        Sent("whatsapp", body.get("to") or body.get("recipient", ""), body["text"]["body"], body)
    )
    return JSONResponse(
        {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.OUT{len(sent)}"}]}
    )


async def _twilio(request: Request) -> Response:
    secret = f"{TWILIO_SID}:{request.app.state.token}".encode()
    if request.headers.get("authorization") != "Basic " + base64.b64encode(secret).decode():
        return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
    if (failed := await _unavailable(request, "twilio")) is not None:
        return failed
    form = dict(urllib.parse.parse_qsl((await request.body()).decode()))  # no python-multipart
    sent = _providers(request).sent
    sent.append(Sent("twilio", form["To"], form["Body"], form))
    return JSONResponse({"sid": f"SM{len(sent):032d}", "status": "queued"}, status_code=201)


async def _telegram(request: Request) -> Response:
    if request.path_params["token"] != TELEGRAM_TOKEN:
        return JSONResponse({"ok": False, "error_code": 401}, status_code=401)
    if (failed := await _unavailable(request, "telegram")) is not None:
        return failed
    body = await request.json()
    sent = _providers(request).sent
    sent.append(Sent("telegram", str(body["chat_id"]), body["text"], body))
    return JSONResponse({"ok": True, "result": {"message_id": len(sent)}})


def _app(providers: Providers, twilio_token: str) -> Starlette:
    app = Starlette(
        routes=[
            Route("/graph/{number}/messages", _whatsapp, methods=["POST"]),
            Route("/twilio/2010-04-01/Accounts/{sid}/Messages.json", _twilio, methods=["POST"]),
            Route("/telegram/bot{token}/sendMessage", _telegram, methods=["POST"]),
        ]
    )
    app.state.providers = providers
    app.state.token = twilio_token
    return app


class _Relay:
    """The SMTP relay answers to e-mail senders go through."""

    def __init__(self, providers: Providers) -> None:
        self.providers = providers

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        body = message.get_body(("plain",))
        text = body.get_content().strip() if body is not None else ""
        for to in envelope.rcpt_tos:
            self.providers.sent.append(
                Sent("email", to, text, {"subject": str(message["subject"])})
            )
        return "250 OK"


@contextlib.asynccontextmanager
async def fake_providers(twilio_token: str = "") -> AsyncIterator[Providers]:
    """The fake providers on loopback ports of their own; `twilio_token` is the auth token
    Twilio's fake checks (the server's `HALYQ_TWILIO_AUTH_TOKEN`)."""
    providers = Providers()
    app = _app(providers, twilio_token)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[listener]))
    loop = asyncio.get_running_loop()
    relay = await loop.create_server(
        lambda: SMTP(_Relay(providers), hostname="relay", loop=loop), "127.0.0.1", 0
    )
    try:
        await wait_for(lambda: server.started or task.done(), what="fake providers")
        providers.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        providers.relay = f"127.0.0.1:{relay.sockets[0].getsockname()[1]}"
        yield providers
    finally:
        relay.close()
        await relay.wait_closed()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        listener.close()


# What the providers send us


def incoming(settings: Settings, **more: Any) -> Settings:
    """`settings` with every webhook on (the secrets the deliveries below are signed with)."""
    return settings.replace(
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token=VERIFY_TOKEN,
        twilio_auth_token=TWILIO_AUTH_TOKEN,
        public_url=PUBLIC_URL,
        telegram_secret_token=TELEGRAM_SECRET,
        **more,
    )


def fixture(name: str) -> bytes:
    """A provider's sample payload, as it came (tests/fixtures)."""
    return (FIXTURES / name).read_bytes()


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: where it is posted, its exact bytes and its headers."""

    path: str
    body: bytes
    headers: dict[str, str]

    def but(self, **headers: str | None) -> Delivery:
        """The same delivery with headers changed (None removes one; `_` in names is `-`)."""
        changed = dict(self.headers)
        for name, value in headers.items():
            name = name.replace("_", "-")
            if value is None:
                changed.pop(name, None)
            else:
                changed[name] = value
        return Delivery(self.path, self.body, changed)

    async def post(self, base_url: str, timeout: float = 10.0) -> httpx.Response:
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as client:
            return await client.post(self.path, content=self.body, headers=self.headers)


def whatsapp_signature(body: bytes, secret: str = APP_SECRET, algorithm: str = "sha256") -> str:
    """`X-Hub-Signature-256` as Meta computes it: the hex HMAC of the raw body."""
    return f"{algorithm}={hmac.new(secret.encode(), body, algorithm).hexdigest()}"


def whatsapp(body: bytes, secret: str = APP_SECRET) -> Delivery:
    headers = {"x-hub-signature-256": whatsapp_signature(body, secret),
               "content-type": "application/json"}  # fmt: skip
    return Delivery("/webhooks/whatsapp", body, headers)


def whatsapp_body(*messages: dict[str, Any], number_id: str = NUMBER_ID) -> bytes:
    """A Cloud API `messages` delivery of `messages` (each may carry `_name`, its profile)."""
    contacts = [
        {"profile": {"name": m.get("_name", "Айгүл")}, "wa_id": m["from"]} for m in messages
    ]
    plain = [{k: v for k, v in m.items() if not k.startswith("_")} for m in messages]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "77172705050", "phone_number_id": number_id},
        "contacts": contacts,
        "messages": plain,
    }
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(envelope).encode()  # ensure_ascii: Meta sends Cyrillic as \\u escapes


def whatsapp_text(
    wamid: str, text: str, sender: str = "77011234567", timestamp: int = 1764460800
) -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": str(timestamp), "type": "text",
            "text": {"body": text}}  # fmt: skip


def twilio_signature(
    url: str, params: list[tuple[str, str]], token: str = TWILIO_AUTH_TOKEN, algorithm: str = "sha1"
) -> str:
    """`X-Twilio-Signature` as Twilio computes it: the URL, then each form name and value in
    name order, HMAC'd with the auth token, base64."""
    signed = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), algorithm).digest()).decode()


def twilio(
    params: list[tuple[str, str]], token: str = TWILIO_AUTH_TOKEN, query: str = ""
) -> Delivery:
    path = "/webhooks/twilio" + (f"?{query}" if query else "")
    headers = {"x-twilio-signature": twilio_signature(PUBLIC_URL + path, params, token),
               "content-type": "application/x-www-form-urlencoded"}  # fmt: skip
    return Delivery(path, urlencode(params).encode(), headers)


def twilio_message(
    sid: str, text: str, sender: str = "+77012345678", to: str = OUR_NUMBER, **more: str
) -> list[tuple[str, str]]:
    """An incoming message's form; `sender` "whatsapp:+7..." makes it Twilio WhatsApp."""
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": TWILIO_SID, "From": sender,
            "To": to, "Body": text, "NumMedia": "0", **more}  # fmt: skip
    return list(form.items())


def telegram(
    update: dict[str, Any] | bytes, secret: str = TELEGRAM_SECRET, bot: str = ""
) -> Delivery:
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    path = "/webhooks/telegram" + (f"?bot={bot}" if bot else "")
    headers = {"x-telegram-bot-api-secret-token": secret, "content-type": "application/json"}
    return Delivery(path, body, headers)


def telegram_message(
    update_id: int, text: str, chat_id: int = 5127734091, message_id: int = 0, **more: Any
) -> dict[str, Any]:
    """A private chat's `message` update."""
    person = {"id": chat_id, "is_bot": False, "first_name": "Дана"}
    message = {"message_id": message_id or update_id % 100_000, "from": person,
               "chat": {"id": chat_id, "first_name": "Дана", "type": "private"},
               "date": 1764460800, "text": text, **more}  # fmt: skip
    return {"update_id": update_id, "message": message}


def process_environment(settings: Settings, providers: Providers) -> dict[str, str]:
    """A server process's environment: `settings`' Redis and prefix, every channel on and
    answering through `providers`."""
    return environment(
        REDIS_URL=settings.redis_url,
        HALYQ_REDIS_PREFIX=settings.redis_prefix,
        HALYQ_DATA_DIR=str(settings.data_dir),
        HALYQ_WHATSAPP_APP_SECRET=APP_SECRET,
        HALYQ_WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        HALYQ_WHATSAPP_ACCESS_TOKEN=WHATSAPP_TOKEN,
        HALYQ_WHATSAPP_API_BASE=f"{providers.url}/graph",
        HALYQ_TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN,
        HALYQ_TWILIO_ACCOUNT_SID=TWILIO_SID,
        HALYQ_TWILIO_API_BASE=f"{providers.url}/twilio",
        HALYQ_PUBLIC_URL=PUBLIC_URL,
        HALYQ_TELEGRAM_SECRET_TOKEN=TELEGRAM_SECRET,
        HALYQ_TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        HALYQ_TELEGRAM_API_BASE=f"{providers.url}/telegram",
    )
