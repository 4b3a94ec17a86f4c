"""What senders are told, queued with the decision it reports (issue 10).

A resident who wrote from WhatsApp, SMS, Telegram or e-mail learns that the question arrived,
then what became of it: approved, rejected with the reason, merged, on air now, answered, or
sent to the issue pool. Each answer is queued in the outbox in the same atomic write as the
event it reports (`server.store.outbox`), so a crash between a decision and its answer still
delivers the answer, once, after the restart. `server.channels.outbound` delivers them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from moderation.model import Channel, Item, ItemKind, ItemStatus
from server.store import Write
from server.store.outbox import OutboxStore
from server.store.record import Appended

# The channels that can carry an answer back. The web page shows the asker's own questions
# ("my questions"); a caller at the phone desk hears it from the operator.
REPLYING = frozenset({Channel.WHATSAPP, Channel.SMS, Channel.TELEGRAM, Channel.EMAIL})


class Reply(enum.StrEnum):
    """An answer's kind: its words are `reply_<kind>` in the catalogs, in kk, ru and en."""

    ARRIVED = "arrived"  # recorded for the live meeting
    ARRIVED_EARLY = "arrived_early"  # recorded for the next meeting's requests (R5): its date
    APPROVED = "approved"
    REJECTED = "rejected"  # with the reason
    MERGED = "merged"
    ON_AIR = "on_air"
    ANSWERED = "answered"
    DEFERRED = "deferred"  # not answered on air: it goes to the issue pool (R6)
    RATE_LIMITED = "rate_limited"  # too many messages: with the wait
    REFUSED = "refused"  # not taken: with the reason (too long, empty...)
    NO_MEETING = "no_meeting"  # no meeting live or announced to take it
    NOT_EDITABLE = "not_editable"  # an edit of a question moderators decided on
    START = "start"  # how to ask (Telegram's /start)


FATES = {
    ItemStatus.APPROVED: Reply.APPROVED,
    ItemStatus.REJECTED: Reply.REJECTED,
    ItemStatus.MERGED: Reply.MERGED,
    ItemStatus.ON_AIR: Reply.ON_AIR,
    ItemStatus.ANSWERED: Reply.ANSWERED,
    ItemStatus.DEFERRED: Reply.DEFERRED,
}


def letter(reply: Reply, sender: str, language: str, **values: Any) -> dict[str, Any]:
    """An outbox entry: what to tell whom (a pseudonym: the contact is looked up at delivery,
    so that none is copied into the outbox), in which language."""
    return {"reply": reply.value, "sender": sender, "lang": language, "values": values}


def queue_fates(
    outbox: OutboxStore,
    write: Write,
    meeting_id: str,
    changes: Iterable[tuple[Item | None, Item]],
    at: Appended,
) -> None:
    """Queue the answers a decision owes: one to the sender of each question from a replying
    channel whose status it changed into a fate."""
    for before, after in changes:
        if after.kind is not ItemKind.QUESTION or after.channel not in REPLYING:
            continue
        if before is not None and before.status is after.status:
            continue
        reply = FATES.get(after.status)
        if reply is None:
            continue
        values = {"item": after.id, "reason": after.reason, "into": after.merged_into}
        outbox.queue(write, meeting_id, letter(reply, after.viewer, after.language, **values), at)
