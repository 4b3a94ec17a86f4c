"""`receive`: one resident's message from any channel but the web page, into the one queue.

Every channel adapter (the phone desk, WhatsApp, Twilio, Telegram, e-mail) verifies and
parses, then hands each message here as an `Inbound` (issue 10). This use case:
- dedupes on the provider's key: a replayed delivery, even after a crash between the append
  and the provider's 200, makes no second question (`Receipt.repeated`);
- limits each sender, keyed by a keyed hash of their number or handle, never the number; a
  refusal is answered and logged, never silent;
- routes it: to the live meeting; among several live, to the one whose routing names the
  address it came to; outside any, to the requests of the next scheduled meeting (R5);
- records it through `submit`, with the sender's raw contact kept apart (personal data, with a
  retention period), the text masked in the record (the original kept with the contact), and
  the "arrived" answer queued in the same atomic write.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moderation import (
    AskQuestion,
    CommentRejected,
    Meeting,
    MeetingStatus,
    RejectReason,
    Submission,
)
from moderation.board import Board
from moderation.events import CommentHeld, CommentPosted, QuestionAsked
from moderation.filters import mask_contacts
from moderation.language import detect_language
from moderation.model import Channel
from moderation.submissions import REQUEST_CHANNELS, SPOKEN, accepted_name, edit_question
from server.channels import Inbound
from server.store import Refused, StoreUnavailable, Write
from server.store.record import Appended
from server.usecases.context import UseCases
from server.usecases.outcomes import Asked, Outcome, Rejected, Repeated, Unconfirmed
from server.usecases.replies import REPLYING, Reply, letter
from server.usecases.submit import submit

logger = logging.getLogger(__name__)

ROUTE_MEMORY = 8 * 24 * 3600  # seconds: providers retry for up to 7 days (Meta)
at_pending = "0-0"  # the id an edit has in the board's fold until it is appended
NO_MEETING = "-"  # the outbox of answers that follow no meeting (nothing to route to)
MAX_ATTEMPTS = 3  # routings of one message whose meeting changed status meanwhile


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of one message: `recorded` (a new question), `repeated` (recorded
    before: a replay), `refused` (answered and logged: rate limit, no meeting, invalid),
    `retry` (the record cannot take it now: the provider must deliver it again)."""

    outcome: str
    meeting_id: str = ""
    item_id: str = ""
    detail: str = ""

    @property
    def http_status(self) -> int:
        """200 once the message is recorded, repeated or refused for good (the provider must
        stop); 503 when it must come again (nothing is lost: it was not recorded)."""
        return 503 if self.outcome == "retry" else 200


@dataclass(slots=True, kw_only=True)
class Intake:
    """The intake use case, with what it needs beyond the use cases: how to make a sender's
    pseudonym (a keyed hash), the per-sender rate limit and the default answer language."""

    cases: UseCases
    pseudonym: Callable[[str], str]
    per_minute: int = 6
    burst: int = 3
    default_lang: str = "kk"

    async def receive(self, inbound: Inbound, *, meeting_id: str = "") -> Receipt:
        """Record `inbound` once, or refuse it with an answer; see the module's docstring.

        `meeting_id` is the meeting the sender chose (the phone desk's operator), if it takes
        the message; else the routing decides. The provider's key is kept only as a keyed
        hash: a WhatsApp message id encodes the sender's number, a Telegram key their chat.
        """
        sender = self.pseudonym(f"{inbound.channel.value}:{inbound.sender}")
        edit_of = self._hashed(inbound.edit_of) if inbound.edit_of else ""
        inbound = dataclasses.replace(inbound, key=self._hashed(inbound.key), edit_of=edit_of)
        try:
            if inbound.edit_of and (receipt := await self._edit(inbound, sender)) is not None:
                return receipt
            return await self._receive(inbound, sender, meeting_id)
        except StoreUnavailable as error:
            logger.warning("intake: the record cannot be reached (%s); the provider retries", error)
            return Receipt("retry", detail="the record cannot be reached")

    def _hashed(self, key: str) -> str:
        """A provider's key as the record keeps it: its channel prefix, then a keyed hash."""
        prefix = key.partition(":")[0]
        return f"{prefix}:{self.pseudonym('key:' + key)}"

    async def _receive(self, inbound: Inbound, sender: str, chosen: str) -> Receipt:
        store = self.cases.store
        known = await store.intake.routed(inbound.key)
        if known is not None and (seen := await store.record.seen(known, inbound.key)):
            return Receipt("repeated", known, seen.id)
        language = self._language(inbound)
        wait = await store.record.spend(
            "sender:" + self.pseudonym("limit:" + inbound.sender),
            max(1, 60_000 // self.per_minute),
            self.burst,
        )
        if wait:
            return await self._refuse(
                inbound, sender, language, Reply.RATE_LIMITED, seconds=-(-wait // 1000)
            )
        for _ in range(MAX_ATTEMPTS):
            meeting = await self._meeting(inbound, known or chosen or None)
            if meeting is None:
                return await self._refuse(inbound, sender, language, Reply.NO_MEETING)
            routed = await store.intake.route_once(inbound.key, meeting.id, ROUTE_MEMORY)
            if routed != meeting.id:  # a concurrent delivery of it routed it first
                meeting = await store.meetings.get(routed) or meeting
            outcome = await self._submit(inbound, sender, meeting)
            receipt = await self._settled(inbound, sender, language, meeting, outcome)
            if receipt is not None:
                return receipt
            await store.intake.forget_route(inbound.key)  # its meeting started or ended
            known = None
        return Receipt("retry", detail="the meetings changed while it was routed")

    def _language(self, inbound: Inbound) -> str:
        found = inbound.language if inbound.language in SPOKEN else detect_language(inbound.text)
        return found or (self.default_lang if self.default_lang in SPOKEN else "kk")

    async def _meeting(self, inbound: Inbound, known: str | None) -> Meeting | None:
        """The meeting `inbound` goes to (issue 10.6)."""
        store = self.cases.store
        if known is not None:
            found = await store.meetings.get(known)
            if found is not None and _takes(found, inbound.channel):
                return found
        meetings = await store.meetings.all()
        named = (await store.intake.routes()).get(f"{_route_channel(inbound)}:{_address(inbound)}")
        return choose(meetings, named, inbound.channel)

    async def _submit(self, inbound: Inbound, sender: str, meeting: Meeting) -> Outcome:
        text = inbound.text.strip() or f"[{inbound.note or 'empty'}]"
        try:
            name = accepted_name(inbound.name)
        except CommentRejected:  # a profile name that reads as an official role: anonymous
            name = ""
        question = AskQuestion(
            client_msg_id=inbound.key,
            name=name,
            text=text,
            district=inbound.district,
            channel=inbound.channel,
            language=inbound.language,
            received_at=inbound.sent_at,
            note=inbound.note,
        )
        keep = self._keeper(inbound, sender, meeting)
        return await submit(
            self.cases, meeting, Submission(what=question, sender=sender), extra=keep
        )

    def _keeper(
        self, inbound: Inbound, sender: str, meeting: Meeting
    ) -> Callable[[Write, Appended, CommentPosted | CommentHeld | QuestionAsked], None]:
        """What goes into the write that records the question: the sender's contact and the
        "arrived" answer (`submit` keeps the text as written when the record has it
        masked)."""
        store = self.cases.store

        def keep(
            write: Write, at: Appended, event: CommentPosted | CommentHeld | QuestionAsked
        ) -> None:
            contact = {
                "channel": inbound.channel.value,
                "contact": inbound.sender,
                "reply_to": inbound.reply_to,
                "via": inbound.via,
                "name": inbound.name,
            }
            store.intake.keep_contact(write, meeting.id, sender, contact)
            if inbound.channel in REPLYING and inbound.reply_to:
                language = getattr(event, "language", "") or self.default_lang
                reply = Reply.ARRIVED if meeting.is_live else Reply.ARRIVED_EARLY
                values = _meeting_values(meeting)
                store.outbox.queue(write, meeting.id, letter(reply, sender, language, **values), at)

        return keep

    async def _settled(
        self, inbound: Inbound, sender: str, language: str, meeting: Meeting, outcome: Outcome
    ) -> Receipt | None:
        """The receipt of a submission's outcome; None to route it again."""
        if isinstance(outcome, Asked):
            return Receipt("recorded", meeting.id, outcome.id)
        if isinstance(outcome, Repeated):
            return Receipt("repeated", meeting.id, outcome.id)
        if isinstance(outcome, Unconfirmed):  # the provider sends it again
            return Receipt("retry", meeting.id, detail=outcome.detail)
        assert isinstance(outcome, Rejected), outcome  # a question is never a comment
        reason = outcome.reason
        if reason is RejectReason.MEETING_CLOSED:
            return None
        if reason in (RejectReason.UNAVAILABLE, RejectReason.OVERLOADED):
            return Receipt("retry", meeting.id, detail=outcome.detail)
        if reason is RejectReason.RATE_LIMITED:  # the meeting's slow mode (R3)
            seconds = max(1, -(-outcome.retry_after_ms // 1000))
            return await self._refuse(
                inbound, sender, language, Reply.RATE_LIMITED, meeting, seconds=seconds
            )
        return await self._refuse(
            inbound,
            sender,
            language,
            Reply.REFUSED,
            meeting,
            reason=reason.value,
            detail=outcome.detail,
        )

    async def _refuse(
        self,
        inbound: Inbound,
        sender: str,
        language: str,
        reply: Reply,
        meeting: Meeting | None = None,
        **values: Any,
    ) -> Receipt:
        """Answer the sender why their message was not taken, and log the refusal (never
        silent, never with the contact)."""
        store = self.cases.store
        meeting_id = meeting.id if meeting is not None else ""
        await store.intake.refused(
            {
                "at": self.cases.clock(),
                "channel": inbound.channel.value,
                "key": inbound.key,  # hashed: no contact in it
                "sender": sender,
                "meeting": meeting_id,
                "why": reply.value,
                "detail": str(values.get("detail", "")),
            }
        )
        self.cases.metrics.intake.labels(inbound.channel.value, reply.value).inc()
        if inbound.channel in REPLYING and inbound.reply_to:
            entry = letter(reply, sender, language, **values)
            entry["to"] = _contact(inbound)  # no meeting keeps it: delivered, then deleted
            await store.outbox.send_now(NO_MEETING, entry)
        return Receipt("refused", meeting_id, detail=reply.value)

    async def tell(self, inbound: Inbound, reply: Reply) -> None:
        """Answer `inbound`'s sender with `reply` alone (Telegram's /start): nothing recorded."""
        sender = self.pseudonym(f"{inbound.channel.value}:{inbound.sender}")
        if inbound.channel in REPLYING and inbound.reply_to:
            entry = letter(reply, sender, self._language(inbound))
            entry["to"] = _contact(inbound)
            await self.cases.store.outbox.send_now(NO_MEETING, entry)

    async def _edit(self, inbound: Inbound, sender: str) -> Receipt | None:
        """A Telegram edit: the question's new text while it is still new; None when the
        original never reached us (the edit is then taken as a new message)."""
        store = self.cases.store
        meeting_id = await store.intake.routed(inbound.edit_of)
        seen = await store.record.seen(meeting_id, inbound.edit_of) if meeting_id else None
        meeting = await store.meetings.get(meeting_id) if meeting_id else None
        if meeting is None or seen is None:
            return None
        if await store.record.seen(meeting.id, inbound.key):
            return Receipt("repeated", meeting.id, seen.id)
        item = (await store.board.items(meeting.id, [seen.id])).get(seen.id)
        language = self._language(inbound)
        if item is None:
            return None
        try:
            event = edit_question(
                meeting, item, inbound.text, sender=sender, now=self.cases.clock()
            )
        except CommentRejected as refusal:
            return await self._refuse(
                inbound, sender, language, Reply.NOT_EDITABLE, meeting, detail=refusal.detail
            )
        write = Write()
        store.record.first_time(write, meeting.id, inbound.key)
        store.board.at_version(write, meeting.id, item)
        at = store.record.append(write, meeting.id, event)
        store.record.remember(write, meeting.id, inbound.key, at)
        store.board.store(write, meeting.id, list(Board([item]).fold(at_pending, event).items))
        if mask_contacts(inbound.text) != inbound.text:
            store.intake.keep_original(write, meeting.id, item.id, inbound.text)
        result = await store.record.run(write)
        if isinstance(result, Refused):
            return Receipt("repeated", meeting.id, seen.id)
        return Receipt("recorded", meeting.id, seen.id)


def choose(meetings: list[Meeting], named: str | None, channel: Channel) -> Meeting | None:
    """The meeting a message goes to: the live one; among several live, the one its address
    is routed to (else the latest started); outside any, the next scheduled one that takes
    requests (R5), the routed one first."""
    live = [m for m in meetings if m.is_live]
    if live:
        routed = [m for m in live if m.id == named]
        return routed[0] if routed else max(live, key=lambda m: m.started_at)
    if channel not in REQUEST_CHANNELS:
        return None
    scheduled = [m for m in meetings if m.status is MeetingStatus.SCHEDULED]
    routed = [m for m in scheduled if m.id == named]
    if routed:
        return routed[0]
    return min(scheduled, key=lambda m: (m.starts_at or "9999", m.created_at), default=None)


def _takes(meeting: Meeting, channel: Channel) -> bool:
    return meeting.is_live or (
        meeting.status is MeetingStatus.SCHEDULED and channel in REQUEST_CHANNELS
    )


def _route_channel(inbound: Inbound) -> str:
    """The routing's channel name: `halyq meeting route --whatsapp` names WhatsApp's
    phone_number_id, `--sms` a Twilio number (SMS or WhatsApp through Twilio)."""
    if inbound.key.startswith("tw:"):
        return "sms"
    return inbound.channel.value


def _address(inbound: Inbound) -> str:
    via = inbound.via.strip()
    if via.startswith("whatsapp:"):
        via = via.removeprefix("whatsapp:")
    return via.lower() if inbound.channel is Channel.EMAIL else via


def _contact(inbound: Inbound) -> dict[str, str]:
    return {"channel": inbound.channel.value, "contact": inbound.sender,
            "reply_to": inbound.reply_to, "via": inbound.via, "name": inbound.name}  # fmt: skip


def _meeting_values(meeting: Meeting) -> dict[str, Any]:
    return {"title": meeting.title, "titles": dict(meeting.titles), "starts_at": meeting.starts_at}
