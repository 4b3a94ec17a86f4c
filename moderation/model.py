"""The domain's enums and records: meetings, comments and questions as items, and their states.

Every enum here is a vocabulary the record, the wire and the interface share; every record is
frozen. Meetings' fields are declared once, in `MeetingFields`: the command that announces a
meeting, the event that records it and the meeting itself all derive from it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from types import MappingProxyType

# The interface's languages; titles and the meeting page come in these (R3: Kazakh and Russian).
LANGUAGES = ("kk", "ru", "en")


class MeetingStatus(enum.StrEnum):
    """Where a meeting is in its life: announced, on air, over."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


class AkimLevel(enum.StrEnum):
    """The akim's level, as in the decree's table (used by R1 and R5)."""

    OBLAST = "oblast"
    CITY_REPUBLICAN = "city_republican"
    DISTRICT = "district"
    CITY_LOCAL = "city_local"
    LOCAL = "local"


class Channel(enum.StrEnum):
    """Where a comment or question came from (issue 10: every channel into one queue)."""

    WEB = "web"
    PHONE = "phone"  # the phone desk: an operator types what a caller asks
    WHATSAPP = "whatsapp"  # the WhatsApp Cloud API, and WhatsApp through Twilio
    SMS = "sms"  # SMS through Twilio
    TELEGRAM = "telegram"
    EMAIL = "email"
    YOUTUBE = "youtube"  # the live chat of the official YouTube broadcast (issue 11)
    FACEBOOK = "facebook"  # comments under the official Facebook Live video (issue 16)
    INSTAGRAM = "instagram"  # comments on the official Instagram Live broadcast (issue 16)
    # The meeting page's request form while the meeting is announced (R5, issue 13): the web
    # viewer's own channel takes no questions before the meeting starts.
    REQUEST = "request"
    # A moderator speaking as staff, from the console: the chat shows the comment with a staff
    # badge that no viewer can get, whatever name he types (issue 8). No viewer frame sets it.
    STAFF = "staff"


# The official broadcasts' own comments (issues 11, 16): their platform paces its viewers, so our
# slow mode does not apply (it would only lose them), and a comment read just after the meeting
# ended (a reader polls) is still taken.
BROADCAST_CHANNELS = frozenset({Channel.YOUTUBE, Channel.FACEBOOK, Channel.INSTAGRAM})


class HoldReason(enum.StrEnum):
    """Why the automatic first filter held a comment back from the public chat.

    A held comment is kept in the record, its author is told, and the public count of held
    comments by reason goes up: hiding needs a public reason.
    """

    PROFANITY = "profanity"
    PHONE = "phone"
    EMAIL = "email"
    LINK = "link"


class ModerationReason(enum.StrEnum):
    """Why a moderator hid a comment or rejected a question: published in the counts (R3)."""

    SPAM = "spam"
    ABUSE = "abuse"
    PERSONAL_DATA = "personal_data"
    OFF_TOPIC = "off_topic"
    NOT_A_QUESTION = "not_a_question"
    OUT_OF_SCOPE = "out_of_scope"
    ADVERTISING = "advertising"
    # YouTube's own moderators deleted it, or banned its author (issue 11): we respect that.
    # Only the YouTube reader gives it; staff choose among `STAFF_REASONS`.
    REMOVED_ON_YOUTUBE = "removed_on_youtube"


# The reasons a moderator may give (the console's choices); YouTube's deletions are not ours.
STAFF_REASONS = tuple(r for r in ModerationReason if r is not ModerationReason.REMOVED_ON_YOUTUBE)


class RejectReason(enum.StrEnum):
    """Why a submission was not accepted at all; the sender always sees it (R3, G3)."""

    RATE_LIMITED = "rate_limited"
    TOO_LONG = "too_long"
    INVALID = "invalid"
    MEETING_CLOSED = "meeting_closed"
    UNAVAILABLE = "unavailable"
    OVERLOADED = "overloaded"  # the server is past its capacity: send again after retry_after
    RESERVED_NAME = "reserved_name"  # the display name reads as an official role (R3, INP-4)


class ItemKind(enum.StrEnum):
    """What is on a meeting's board: comments and questions."""

    COMMENT = "comment"
    QUESTION = "question"


class ItemStatus(enum.StrEnum):
    """Where an item is in its lifecycle (the table is `moderation.lifecycle.TRANSITIONS`)."""

    # comments
    SHOWN = "shown"
    HELD = "held"
    HIDDEN = "hidden"
    # questions
    NEW = "new"
    APPROVED = "approved"
    REJECTED = "rejected"
    MERGED = "merged"
    QUEUED = "queued"
    ON_AIR = "on_air"
    ANSWERED = "answered"
    DEFERRED = "deferred"


class Action(enum.StrEnum):
    """What staff may do to an item."""

    HIDE = "hide"
    RELEASE = "release"
    APPROVE = "approve"
    REJECT = "reject"
    MERGE = "merge"
    QUEUE = "queue"
    ON_AIR = "on_air"
    ANSWER = "answer"
    DEFER = "defer"
    TAG = "tag"
    PROMOTE = "promote"


@dataclass(frozen=True, slots=True, kw_only=True)
class SlowMode:
    """Per-viewer comment rate: one comment per `seconds`, with bursts of `burst`.

    R3: commenting is mandatory, so slow mode can slow viewers down but never close commenting:
    the interval is capped and the burst is at least one.
    """

    seconds: float = 5.0
    burst: int = 2

    MAX_SECONDS = 300.0
    MAX_BURST = 20

    def __post_init__(self) -> None:
        if not 0 <= self.seconds <= self.MAX_SECONDS:
            raise ValueError(f"slow mode must be between 0 and {self.MAX_SECONDS:g} seconds (R3)")
        if not 1 <= self.burst <= self.MAX_BURST:
            raise ValueError(f"slow mode burst must be between 1 and {self.MAX_BURST}")


def about(text: str = "", *, staff_only: bool = False) -> MappingProxyType[str, object]:
    """A field's metadata: what it means (`halyq meeting create --help` shows it), and
    whether only staff may see it (`public_fields` leaves such fields out)."""
    return MappingProxyType({"help": text, "staff_only": staff_only})


def public_fields(record: type) -> tuple[str, ...]:
    """The fields of a record the public may see, in declaration order."""
    return tuple(f.name for f in fields(record) if not f.metadata.get("staff_only"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingFields:
    """What an announcement says about a meeting; declared once for command, event and record."""

    title: str
    akim: str = field(metadata=about("the akim's name"))
    level: AkimLevel
    territory: str = field(metadata=about("the city, district or village"))
    planned_minutes: int = field(metadata=about("R4: the presentation gets a quarter of it"))
    stream_url: str = field(default="", metadata=about("the broadcast", staff_only=True))
    titles: dict[str, str] = field(default_factory=dict, metadata=about("the title by language"))
    starts_at: str = field(default="", metadata=about("ISO 8601 with offset, e.g. +05:00"))
    # Issue 12: the meeting belongs to an office (`moderation.offices`); its promises too.
    office: str = field(default="", metadata=about("the office's id (halyq office list)"))
    slow_mode_seconds: float = field(
        default=5.0, metadata=about("seconds between comments", staff_only=True)
    )
    slow_mode_burst: int = field(default=2, metadata=about(staff_only=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class Meeting(MeetingFields):
    """An akim's meeting with the population: what viewers and staff know about it."""

    id: str
    status: MeetingStatus = MeetingStatus.SCHEDULED
    created_at: int = field(default=0, metadata=about(staff_only=True))
    started_at: int = 0
    ended_at: int = 0
    receptions_until: str = ""  # R6: when its personal receptions end (an ISO date), if said
    # Issue 16: the studio's broadcast to our ingest, as the record last said (`broadcast.changed`):
    # waiting, live, reconnecting or ended; a page opened mid-broadcast shows it.
    broadcast: str = "waiting"

    @property
    def is_live(self) -> bool:
        return self.status is MeetingStatus.LIVE

    @property
    def slow_mode(self) -> SlowMode:
        return SlowMode(seconds=self.slow_mode_seconds, burst=self.slow_mode_burst)

    def title_in(self, lang: str) -> str:
        """The title in `lang` when the meeting has one, else the main title."""
        return self.titles.get(lang) or self.title


# A question in one of these is on the public list: viewers see it and vote for it (R4).
PUBLIC_STATUSES = frozenset(
    {
        ItemStatus.APPROVED,
        ItemStatus.QUEUED,
        ItemStatus.ON_AIR,
        ItemStatus.ANSWERED,
        ItemStatus.DEFERRED,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """A comment or a question as moderators see it; `version` grows with every staff action."""

    id: str
    kind: ItemKind
    status: ItemStatus
    version: int = 1
    at: int
    channel: Channel
    viewer: str
    name: str
    text: str
    held: str = ""  # the first filter's reason
    reason: str = ""  # the moderator's reason (hide, reject)
    topic: str = ""
    district: str = ""
    suggested_topic: str = ""
    suggested_district: str = ""
    similar: tuple[str, ...] = ()
    merged_into: str = ""
    source: str = ""  # the comment a promoted question came from
    promoted: bool = False
    askers: tuple[str, ...] = ()
    votes: int = 0
    by: str = ""
    changed_at: int = 0
    # Issue 10: the language it was written in, when its channel says it was sent (ms), and
    # what its channel carried that is not stored.
    language: str = ""
    received_at: int = 0
    note: str = ""
    # Issue 11: a YouTube super chat's amount ("5000.00") and ISO currency ("KZT"), and whether
    # a comment reads as a question to the akim (marked for the moderators to promote).
    amount: str = ""
    currency: str = ""
    asks: bool = False

    @property
    def public(self) -> bool:
        return self.kind is ItemKind.QUESTION and self.status in PUBLIC_STATUSES
