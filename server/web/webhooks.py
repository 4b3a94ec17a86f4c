"""The providers' webhooks (issue 10): WhatsApp Cloud API, Twilio (SMS and WhatsApp) and
Telegram. Each verifies the delivery (signature or secret) before anything else is done, so a
forged one is refused before Redis is touched; parses it; and hands each message to the intake
(`server.usecases.intake`). The answer is 200 only once every message of the delivery is
durably recorded, repeated, or refused for good (and answered): a provider's retry after a
crash then neither loses nor doubles a message. 503 asks the provider to deliver it again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from server.channels import Ignored, Inbound, Unverified, telegram, twilio, whatsapp
from server.services import Services
from server.usecases.intake import Receipt
from server.usecases.replies import Reply

logger = logging.getLogger(__name__)

MAX_WHATSAPP_BODY = 4 << 20  # Meta's payloads are up to 3 MB
MAX_BODY = 1 << 20
T = TypeVar("T")


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _body(request: Request, limit: int) -> bytes:
    """The raw body (signatures are over its exact bytes), refused past `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Refusal(413, f"the body is over {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _Refusal(413, f"the body is over {limit} bytes")
    return body


class _Refusal(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _refused(
    channel: str, refusal: _Refusal | Unverified | ValueError, status: int = 0
) -> Response:
    code = status or getattr(refusal, "status", 400)
    logger.warning("%s webhook refused (%d): %s", channel, code, refusal)
    return PlainTextResponse(f"{refusal}\n", status_code=code)


def _off(channel: str, settings: str) -> Response:
    return PlainTextResponse(f"the {channel} channel is off: set {settings}\n", status_code=404)


async def _receive(services: Services, found: list[Inbound | Ignored]) -> list[Receipt]:
    receipts = []
    for each in found:
        if isinstance(each, Ignored):
            services.metrics.intake.labels(each.channel.value, "ignored").inc()
            logger.info("%s: ignored a %s", each.channel.value, each.kind)
            continue
        receipt = await services.intake.receive(each)
        services.metrics.intake.labels(each.channel.value, receipt.outcome).inc()
        receipts.append(receipt)
    return receipts


def _status(receipts: list[Receipt]) -> int:
    return max((r.http_status for r in receipts), default=200)


# WhatsApp Cloud API


async def whatsapp_handshake(request: Request) -> Response:
    """`GET /webhooks/whatsapp`: Meta's verification handshake (`hub.challenge` back)."""
    settings = _services(request).settings
    if not settings.whatsapp_verify_token:
        return _off("WhatsApp", "HALYQ_WHATSAPP_VERIFY_TOKEN")
    try:
        answer = whatsapp.challenge(request.query_params, settings.whatsapp_verify_token)
    except Unverified as refusal:
        return _refused("whatsapp", refusal, 403)
    return PlainTextResponse(answer)


async def whatsapp_delivery(request: Request) -> Response:
    """`POST /webhooks/whatsapp`: messages (and statuses) from the Cloud API."""
    services = _services(request)
    settings = services.settings
    if not (settings.whatsapp_app_secret and settings.whatsapp_verify_token):
        return _off("WhatsApp", "HALYQ_WHATSAPP_APP_SECRET and HALYQ_WHATSAPP_VERIFY_TOKEN")

    async def verified() -> list[Inbound | Ignored]:
        body = await _body(request, MAX_WHATSAPP_BODY)
        header = request.headers.get("x-hub-signature-256")
        whatsapp.verify(body, header, settings.whatsapp_app_secret)
        return whatsapp.parse(body)

    found = await _checked("whatsapp", 401, verified)
    if isinstance(found, Response):
        return found
    return _plain(_status(await _receive(services, found)))


# Twilio: SMS and WhatsApp


async def twilio_delivery(request: Request) -> Response:
    """`POST /webhooks/twilio`: an SMS or WhatsApp message through Twilio; TwiML back."""
    services = _services(request)
    settings = services.settings
    if not (settings.twilio_auth_token and settings.public_url):
        return _off("Twilio", "HALYQ_TWILIO_AUTH_TOKEN and HALYQ_PUBLIC_URL")

    async def verified() -> Inbound:
        body = await _body(request, MAX_BODY)  # bounded before the form is parsed
        # Every pair, repeats too, as the signature covers them (no python-multipart needed).
        params = parse_qsl(body.decode(), keep_blank_values=True)
        url = settings.public_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("x-twilio-signature")
        algorithm = request.headers.get("x-twilio-webhooks-signature-settings")
        twilio.verify(url, params, signature, settings.twilio_auth_token, algorithm)
        return twilio.parse(params)

    inbound = await _checked("twilio", 403, verified)
    if isinstance(inbound, Response):
        return inbound
    status = _status(await _receive(services, [inbound]))
    if status != 200:
        return _plain(status)
    return Response(twilio.twiml(), media_type="text/xml")


# Telegram


async def telegram_delivery(request: Request) -> Response:
    """`POST /webhooks/telegram`: an update for the bot (`?bot=<name>` names which bot, for
    routing with `halyq meeting route --telegram`)."""
    services = _services(request)
    settings = services.settings
    if not settings.telegram_secret_token:
        return _off("Telegram", "HALYQ_TELEGRAM_SECRET_TOKEN")

    async def verified() -> Inbound | Ignored:
        header = request.headers.get("x-telegram-bot-api-secret-token")
        telegram.verify(header, settings.telegram_secret_token)
        return telegram.parse(await _body(request, MAX_BODY))

    found = await _checked("telegram", 401, verified)
    if isinstance(found, Response):
        return found
    if isinstance(found, Inbound):
        bot = request.query_params.get("bot", "")
        found = dataclasses.replace(found, via=bot) if bot else found
        if telegram.is_start(found):
            await services.intake.tell(found, Reply.START)
            return _plain(200)
    return _plain(_status(await _receive(services, [found])))


async def _checked(
    channel: str, unverified: int, verified: Callable[[], Awaitable[T]]
) -> T | Response:
    """What `verified` read from a delivery, or the refusal: 413 past the size limit,
    `unverified` (401 or 403) for a signature or secret that does not check out (before
    anything else is done), 400 for a body that does not parse."""
    try:
        return await verified()
    except _Refusal as refusal:
        return _refused(channel, refusal)
    except Unverified as refusal:
        return _refused(channel, refusal, unverified)
    except ValueError as refusal:
        return _refused(channel, refusal, 400)


def _plain(status: int) -> Response:
    return PlainTextResponse("ok\n" if status == 200 else "retry\n", status_code=status)
