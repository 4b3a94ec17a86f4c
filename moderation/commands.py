"""What users ask the domain to do; each is decided into events or refused."""

from __future__ import annotations

from dataclasses import dataclass

from moderation.model import Channel, MeetingFields


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateMeeting(MeetingFields):
    """Announce a meeting."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartMeeting:
    """Go on air."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EndMeeting:
    """Go off air."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PostComment:
    """A viewer comments; `client_msg_id` makes retries safe."""

    client_msg_id: str
    name: str
    text: str
    channel: Channel = Channel.WEB
    # Issue 11 (YouTube's chat): when it was sent (ms) and a super chat's amount and currency.
    received_at: int = 0
    amount: str = ""
    currency: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AskQuestion:
    """A viewer asks the akim a question, optionally naming a district of the territory."""

    client_msg_id: str
    name: str
    text: str
    district: str = ""
    channel: Channel = Channel.WEB
    # Issue 10: the language the sender spoke ("" to detect it from the text), when the
    # channel says it was sent (ms since the epoch, 0 if it says nothing), and what the
    # channel carried that is not stored ("voice", "2 attachments").
    language: str = ""
    received_at: int = 0
    note: str = ""
    topic: str = ""  # the sender's own topic (a request's form, issue 13), else suggested


@dataclass(frozen=True, slots=True, kw_only=True)
class Moderate:
    """A staff action on one item, formed against the item's `version` as the console showed it.

    `reason` is for hide and reject, `into` for merge, `topic` and `district` for tag.
    """

    action: str
    item: str
    version: int
    reason: str = ""
    into: str = ""
    topic: str = ""
    district: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Vote:
    """A viewer up-votes a public question."""

    question: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """A comment or question from any channel, with the pseudonym of who sent it.

    `sender` is the channel's own stable pseudonym of the person (never a raw address): slow
    mode, votes and the record know people only by it. `address` is the pseudonym of the
    network address it came from ("" when the channel has none): one address cannot post
    faster than its own bucket, however many senders it holds. A `young` sender (an identity
    minted seconds ago) gets no burst.
    """

    what: PostComment | AskQuestion
    sender: str
    address: str = ""
    young: bool = False
