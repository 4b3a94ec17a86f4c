"""Answers to senders, delivered (issue 10): one small client for WhatsApp's Cloud API, Twilio
and Telegram (and e-mail through an SMTP relay), and the postman that empties the outboxes.

The postman never blocks intake: answers are queued in the record's writes
(`server.usecases.replies`) and delivered here, in the background, with retries and a backoff
that grows with each failed delivery. An answer the provider refuses for good (a 4xx other
than 429), or that failed `MAX_DELIVERIES` times, is logged apart as a dead letter, without
its contact. A contact is looked up at delivery time: once the retention period deleted it,
an answer can no longer be sent (and is dropped, counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import smtplib
import socket
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx
from babel.dates import format_datetime

from moderation.contacts import mask_contact
from moderation.text import MAX_COMMENT_CHARS
from server.metrics import Metrics
from server.settings import Settings
from server.store import StoreUnavailable
from server.store.intake import IntakeStore
from server.store.outbox import Letter, OutboxStore
from server.web.i18n import KEYS, translator

logger = logging.getLogger(__name__)

MAX_DELIVERIES = 12  # then a dead letter
FIRST_BACKOFF_MS = 1000
MAX_BACKOFF_MS = 5 * 60_000
BATCH = 50
IDLE_TICK = 0.5  # seconds between looks at the outboxes when nothing woke the postman
HTTP_TIMEOUT = 5.0
# An answer another process was handed is claimed only this long after: by then its delivery
# is over (the client's timeout), or that process is gone.
STALE_MS = int(HTTP_TIMEOUT * 1000) + 3000


class Undelivered(Exception):
    """A delivery that failed; `final` when trying again cannot help."""

    def __init__(self, why: str, *, final: bool = False) -> None:
        super().__init__(why)
        self.final = final


def backoff(deliveries: int) -> int:
    """Milliseconds to wait before handing out again an answer handed out `deliveries` times."""
    return int(min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** max(0, deliveries - 1)))


def words(data: dict[str, Any]) -> str:
    """The answer's text, in the sender's language (kk or ru; en for tests and staff)."""
    lang = str(data.get("lang") or "kk")
    t = translator(lang if lang in ("kk", "ru", "en") else "kk")
    reply = str(data["reply"])
    values = dict(data.get("values") or {})
    titles = values.get("titles") or {}
    title = str(titles.get(lang) or values.get("title") or "")
    filled: dict[str, object] = {"title": title}
    if reply == "arrived_early":
        filled["date"] = _date(str(values.get("starts_at") or ""), lang) or t("reply_date_unknown")
    if reply == "rejected":
        reason = str(values.get("reason") or "")
        filled["reason"] = t(f"reason_{reason}") if f"reason_{reason}" in KEYS else reason
    if reply == "rate_limited":
        filled["n"] = int(values.get("seconds") or 1)
    if reply == "refused":
        filled["reason"] = _refusal(t, str(values.get("reason") or ""))
    return t(f"reply_{reply}", **filled)


def _refusal(t: Callable[..., str], reason: str) -> str:
    if reason == "too_long":
        return t("rejected_too_long", n=MAX_COMMENT_CHARS)
    key = f"rejected_{reason}"
    return t(key) if key in KEYS and not KEYS[key].plural else t("rejected_invalid")


def _date(starts_at: str, lang: str) -> str:
    try:
        when = datetime.fromisoformat(starts_at)
    except ValueError:
        return ""
    pattern = "d MMMM y, HH:mm" if when.tzinfo is not None else "d MMMM y"
    return format_datetime(when, pattern, tzinfo=when.tzinfo, locale=lang)


class Client:
    """The one small client of the providers' send APIs; base URLs come from the settings, so
    tests point them at fake local endpoints that speak the real formats."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._http = http or httpx.AsyncClient(timeout=HTTP_TIMEOUT)
        # httpx logs each request's URL at INFO: Telegram's carries the bot's token.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, contact: dict[str, str], text: str) -> None:
        """Send `text` to `contact` on its channel; `Undelivered` when it did not go."""
        channel = contact.get("channel", "")
        if channel == "telegram":
            await self._telegram(contact, text)
        elif channel == "email":
            await self._email(contact, text)
        elif contact.get("reply_to", "").startswith("whatsapp:") or channel == "sms":
            await self._twilio(contact, text)
        elif channel == "whatsapp":
            await self._whatsapp(contact, text)
        else:
            raise Undelivered(f"no way to answer on {channel!r}", final=True)

    async def _whatsapp(self, contact: dict[str, str], text: str) -> None:
        s = self.settings
        if not s.whatsapp_access_token:
            raise Undelivered("HALYQ_WHATSAPP_ACCESS_TOKEN is not set", final=True)
        number_id = contact.get("via") or s.whatsapp_phone_number_id
        to = contact["reply_to"]
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        # A username-only sender has a business-scoped user id instead of a number.
        body |= {"to": to} if to.isdigit() else {"recipient": to}
        body |= {"type": "text", "text": {"preview_url": False, "body": text}}
        url = f"{s.whatsapp_api_base.rstrip('/')}/{number_id}/messages"
        headers = {"Authorization": f"Bearer {s.whatsapp_access_token}"}
        await self._post(url, json=body, headers=headers)

    async def _twilio(self, contact: dict[str, str], text: str) -> None:
        s = self.settings
        if not (s.twilio_account_sid and s.twilio_auth_token):
            raise Undelivered("HALYQ_TWILIO_ACCOUNT_SID is not set", final=True)
        base = s.twilio_api_base.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{s.twilio_account_sid}/Messages.json"
        form = {"To": contact["reply_to"], "From": contact.get("via", ""), "Body": text}
        await self._post(url, data=form, auth=(s.twilio_account_sid, s.twilio_auth_token))

    async def _telegram(self, contact: dict[str, str], text: str) -> None:
        s = self.settings
        if not s.telegram_bot_token:
            raise Undelivered("HALYQ_TELEGRAM_BOT_TOKEN is not set", final=True)
        url = f"{s.telegram_api_base.rstrip('/')}/bot{s.telegram_bot_token}/sendMessage"
        await self._post(url, json={"chat_id": contact["reply_to"], "text": text})

    async def _post(self, url: str, **request: Any) -> None:
        try:
            response = await self._http.post(url, **request)
        except httpx.HTTPError as error:
            raise Undelivered(f"{type(error).__name__}") from None
        if response.status_code < 300:
            return
        final = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        raise Undelivered(f"HTTP {response.status_code}", final=final)

    async def _email(self, contact: dict[str, str], text: str) -> None:
        s = self.settings
        if not s.smtp_relay:
            raise Undelivered("HALYQ_SMTP_RELAY is not set", final=True)
        host, _, port = s.smtp_relay.rpartition(":")
        sender = s.smtp_from or (s.smtp_addresses[0] if s.smtp_addresses else "")
        message = EmailMessage()
        message["From"] = contact.get("via") or sender
        message["To"] = contact["reply_to"]
        message["Subject"] = text.split("\n", 1)[0][:120]
        message["Message-ID"] = make_msgid(domain=(sender.rpartition("@")[2] or None))
        message.set_content(text)
        try:
            await asyncio.to_thread(_smtp_send, host or "127.0.0.1", int(port), message)
        except (OSError, smtplib.SMTPException) as error:
            final = isinstance(error, smtplib.SMTPRecipientsRefused)
            raise Undelivered(type(error).__name__, final=final) from None


def _smtp_send(host: str, port: int, message: EmailMessage) -> None:
    with smtplib.SMTP(host, port, timeout=HTTP_TIMEOUT) as smtp:
        smtp.send_message(message)


class Postman:
    """Empties every outbox: new answers first, then the ones whose backoff is over."""

    def __init__(
        self,
        outbox: OutboxStore,
        intake: IntakeStore,
        client: Client,
        metrics: Metrics,
        *,
        consumer: str = "",
    ) -> None:
        self.outbox = outbox
        self.intake = intake
        self.client = client
        self.metrics = metrics
        # A name of its own: a restarted process must not take a dead one's answers for its
        # own (they are claimed once `STALE_MS` old, `OutboxStore.due`).
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self._wake = asyncio.Event()
        self.delivered = 0

    def wake(self) -> None:
        """Look at the outboxes now (an answer was just queued by this process)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled; a Redis outage only pauses it."""
        while True:
            try:
                busy = await self.round()
            except StoreUnavailable as error:
                logger.warning("postman: the outbox cannot be read (%s)", error)
                busy = False
            if not busy:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_TICK)

    async def round(self) -> bool:
        """One look at every outbox; whether there was anything to deliver."""
        busy = False
        for meeting_id in await self.outbox.meetings():
            letters = await self.outbox.new(meeting_id, self.consumer, BATCH)
            letters += await self.outbox.due(meeting_id, self.consumer, BATCH, backoff, STALE_MS)
            for letter in letters:
                await self.deliver(letter)
            busy = busy or bool(letters)
        return busy

    async def deliver(self, letter: Letter) -> None:
        data = letter.data
        contact = data.get("to") or await self.intake.contact(letter.meeting_id, data["sender"])
        if not contact:  # a web viewer, a caller, or a contact the retention period deleted
            self._count({}, "no_contact")
            await self.outbox.done(letter)
            return
        try:
            await self.client.send(contact, words(data))
        except Undelivered as failure:
            await self._failed(letter, contact, failure)
            return
        self._count(contact, "sent")
        self.delivered += 1
        await self.outbox.done(letter)

    async def _failed(self, letter: Letter, contact: dict[str, str], failure: Undelivered) -> None:
        who = mask_contact(contact.get("contact", ""))
        if failure.final or letter.deliveries + 1 >= MAX_DELIVERIES:
            logger.warning("answer %s to %s not delivered, given up: %s", letter.id, who, failure)
            self._count(contact, "dead")
            await self.outbox.dead(letter, str(failure))
            return
        logger.info("answer %s to %s not delivered yet: %s", letter.id, who, failure)
        self._count(contact, "retry")  # stays pending: claimed again after its backoff

    def _count(self, contact: dict[str, str], outcome: str) -> None:
        self.metrics.replies.labels(contact.get("channel", ""), outcome).inc()
