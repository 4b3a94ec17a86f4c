"""What users ask the domain to do; each is decided into events or refused."""

from __future__ import annotations

from dataclasses import dataclass, field

from moderation.model import AkimLevel, Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateMeeting:
    """Announce a meeting."""

    title: str
    akim: str
    level: AkimLevel
    territory: str
    planned_minutes: int
    stream_url: str = ""
    titles: dict[str, str] = field(default_factory=dict)
    starts_at: str = ""
    slow_mode_seconds: float = 5.0
    slow_mode_burst: int = 2


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
