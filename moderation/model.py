"""Records of the domain: meetings, their states, akim levels, channels and hold reasons."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


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
    """Where a comment came from."""

    WEB = "web"


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


class RejectReason(enum.StrEnum):
    """Why a submission was not accepted at all; the sender always sees it (R3, G3)."""

    RATE_LIMITED = "rate_limited"
    TOO_LONG = "too_long"
    INVALID = "invalid"
    MEETING_CLOSED = "meeting_closed"
    UNAVAILABLE = "unavailable"


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Meeting:
    """An akim's meeting with the population: what viewers and staff know about it."""

    id: str
    title: str
    akim: str
    level: AkimLevel
    territory: str
    planned_minutes: int
    stream_url: str = ""
    titles: dict[str, str] = field(default_factory=dict)
    starts_at: str = ""
    status: MeetingStatus = MeetingStatus.SCHEDULED
    created_at: int = 0
    started_at: int = 0
    ended_at: int = 0
    slow_mode: SlowMode = field(default_factory=SlowMode)

    @property
    def is_live(self) -> bool:
        return self.status is MeetingStatus.LIVE

    def title_in(self, lang: str) -> str:
        """The title in `lang` when the meeting has one, else the main title."""
        return self.titles.get(lang) or self.title
