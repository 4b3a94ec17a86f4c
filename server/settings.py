"""Settings: read once from the environment at start-up, frozen, secrets masked."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moderation.model import LANGUAGES, SlowMode

ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?")


# Where Akimat broadcasts are: YouTube, Facebook and Instagram (HALYQ_ARCHIVE_HOSTS).
ARCHIVE_HOSTS = ("youtube.com", "www.youtube.com", "youtu.be", "m.youtube.com", "facebook.com",
                 "www.facebook.com", "fb.watch", "instagram.com", "www.instagram.com")  # fmt: skip
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"
UNPREFIXED = frozenset(
    {"redis_url", "redis_sentinels", "redis_sentinel_master", "redis_cluster_nodes"}
)


class SettingsError(ValueError):
    """A setting has a value the server cannot run with; the message names the variable."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the server can be told; each field has an environment variable (see README)."""

    redis_url: str = ""
    # Past one machine (issue 15): a Redis behind Sentinel, or a Redis Cluster, instead of
    # REDIS_URL; `store_url()` says which one a store connects to.
    redis_sentinels: tuple[str, ...] = ()  # host:port of each Sentinel
    redis_sentinel_master: str = ""  # the name the Sentinels monitor the primary by
    redis_cluster_nodes: tuple[str, ...] = ()  # host:port of some of the cluster's nodes
    min_replicas: int = -1  # replicas that must confirm an append before its ack; -1: auto
    node_name: str = ""  # this node's name in metrics and logs; "": host name and port
    data_dir: Path = Path("data")
    redis_prefix: str = "halyq:"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    admin_token: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    default_lang: str = "kk"
    history_limit: int = 100
    resume_limit: int = 1000
    outbox_bytes: int = 1 << 20
    fanout_max_delay: float = 0.1
    slow_mode_seconds: float = 5.0
    slow_mode_burst: int = 2
    accept_nondurable: bool = False
    allowed_origins: tuple[str, ...] = ()
    staff_origins: tuple[str, ...] = ()
    log_level: str = "info"
    # Faults, floods and impostors (issue 8); the README's settings table explains each.
    ack_timeout: float = 2.0
    trusted_proxies: tuple[str, ...] = ()
    max_connections_per_address: int = 256
    handshake_timeout: float = 10.0
    max_handshakes: int = 64
    address_comments_per_minute: int = 120
    address_comment_burst: int = 30
    cookies_per_minute: int = 30
    viewer_warmup_seconds: float = 5.0
    # Every channel into one queue (issue 10). A channel whose settings are missing is off.
    public_url: str = ""  # how providers reach us: Twilio's signatures are over it
    whatsapp_app_secret: str = field(default="", repr=False)
    whatsapp_verify_token: str = field(default="", repr=False)
    whatsapp_access_token: str = field(default="", repr=False)
    whatsapp_phone_number_id: str = ""
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    twilio_auth_token: str = field(default="", repr=False)
    twilio_account_sid: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    telegram_secret_token: str = field(default="", repr=False)
    telegram_bot_token: str = field(default="", repr=False)
    telegram_api_base: str = "https://api.telegram.org"
    smtp_port: int = 0  # the e-mail intake's SMTP listener; 0: off
    smtp_host: str = "127.0.0.1"
    smtp_addresses: tuple[str, ...] = ()
    smtp_max_bytes: int = 1 << 20
    smtp_per_minute: int = 30
    smtp_relay: str = ""  # host:port that answers to e-mail senders go through; "": none
    smtp_from: str = ""  # the address answers come from (default: the first of smtp_addresses)
    sender_messages_per_minute: int = 6
    sender_burst: int = 3
    contact_retention_days: int = 30
    # The archive of recordings (issue 11): `halyq archive`, `halyq worker`.
    archive_hosts: tuple[str, ...] = ARCHIVE_HOSTS
    archive_max_bytes: int = 8 << 30
    archive_attempts: int = 3
    archive_backoff_seconds: float = 10.0
    archive_reclaim_seconds: float = 120.0
    worker: bool = False  # `halyq serve` runs an archive worker in-process
    # YouTube's live chat (issue 11): `halyq youtube follow` and the console's button.
    ytdlp_command: str = ""  # the program yt-dlp is run as; "": this Python's `-m yt_dlp`
    youtube_stall_seconds: float = 60.0  # a live feed silent this long raises the banner
    # The broadcast itself (issue 16): studio ingest, our HLS, restream, the source recording.
    rtmp_port: int = 0  # the studio's RTMP ingest; 0 (or empty): off
    rtmp_host: str = ""  # where the ingest listens; "": HALYQ_HOST
    ffmpeg: str = ""  # the ffmpeg program; "": ffmpeg on PATH, else the imageio-ffmpeg wheel's
    broadcast_grace_seconds: float = 30.0  # a studio back within this continues the broadcast
    hls_segment_seconds: float = 1.0  # target segment length (cut at the studio's keyframes)
    hls_list_size: int = 6  # segments in the live playlist
    hls_low_rendition: int = 0  # height of one lower rendition for slow phones; 0: none
    facebook_page_token: str = field(default="", repr=False)  # Graph API, live comments
    facebook_api_base: str = "https://graph.facebook.com/v21.0"
    facebook_poll_seconds: float = 2.0  # between two reads of a live video's comments

    def __post_init__(self) -> None:
        if self.default_lang not in LANGUAGES:
            raise SettingsError(f"HALYQ_DEFAULT_LANG must be one of {', '.join(LANGUAGES)}")
        for name, low in (
            ("history_limit", 1),
            ("resume_limit", 1),
            ("outbox_bytes", 4096),
            ("max_connections_per_address", 1),
            ("max_handshakes", 1),
            ("address_comments_per_minute", 1),
            ("address_comment_burst", 1),
            ("cookies_per_minute", 1),
            ("smtp_port", 0),
            ("smtp_max_bytes", 1024),
            ("smtp_per_minute", 1),
            ("sender_messages_per_minute", 1),
            ("sender_burst", 1),
            ("contact_retention_days", 0),
            ("archive_max_bytes", 1),
            ("archive_attempts", 1),
            ("rtmp_port", 0),
            ("hls_list_size", 3),
            ("hls_low_rendition", 0),
        ):
            if getattr(self, name) < low:
                raise SettingsError(f"HALYQ_{name.upper()} must be at least {low}")
        if not 0 <= self.fanout_max_delay <= 1:
            raise SettingsError("HALYQ_FANOUT_MAX_DELAY must be between 0 and 1 second")
        if not 0 < self.port < 65536 and self.port != 0:
            raise SettingsError("HALYQ_PORT must be a TCP port")
        self._check_channels()
        self._check_redis()
        if self.workers < 1:
            raise SettingsError("HALYQ_WORKERS must be at least 1")
        self._check_defaults()
        for origin in self.staff_origins:
            if not ORIGIN.fullmatch(origin):
                raise SettingsError(
                    f"HALYQ_STAFF_ORIGINS: {origin!r} is not an origin like https://example.kz"
                )

    def _check_redis(self) -> None:
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise SettingsError("REDIS_SENTINELS needs REDIS_SENTINEL_MASTER: the name to follow")
        if self.redis_sentinel_master and not self.redis_sentinels:
            raise SettingsError("REDIS_SENTINEL_MASTER needs REDIS_SENTINELS")
        if sum(map(bool, (self.redis_url, self.redis_sentinels, self.redis_cluster_nodes))) > 1:
            raise SettingsError(
                "set one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES, not several"
            )
        for variable, addresses in (
            ("REDIS_SENTINELS", self.redis_sentinels),
            ("REDIS_CLUSTER_NODES", self.redis_cluster_nodes),
        ):
            for address in addresses:
                host, _, port = address.rpartition(":")
                if not host or not port.isdigit() or not 0 < int(port) < 65536:
                    raise SettingsError(f"{variable}: {address!r} is not a host:port")
        if self.min_replicas < -1:
            raise SettingsError("HALYQ_MIN_REPLICAS must be at least 0")

    def _check_channels(self) -> None:
        for name in ("smtp_port", "rtmp_port"):
            if getattr(self, name) > 65535:
                raise SettingsError(f"HALYQ_{name.upper()} must be a TCP port")
        if self.hls_low_rendition and not 144 <= self.hls_low_rendition <= 1080:
            raise SettingsError("HALYQ_HLS_LOW_RENDITION must be 0 (none) or a height 144-1080")
        if self.public_url and not ORIGIN.fullmatch(self.public_url.rstrip("/")):
            raise SettingsError(
                f"HALYQ_PUBLIC_URL: {self.public_url!r} is not a URL like https://halyq.example.kz"
            )

    def _check_defaults(self) -> None:
        for name, low, high in (
            ("ack_timeout", 0.1, 60.0),
            ("handshake_timeout", 0.1, 300.0),
            ("viewer_warmup_seconds", 0.0, 300.0),
            ("archive_backoff_seconds", 0.0, 3600.0),
            ("archive_reclaim_seconds", 0.5, 86400.0),
            ("youtube_stall_seconds", 0.5, 3600.0),
            ("broadcast_grace_seconds", 0.0, 3600.0),
            ("hls_segment_seconds", 0.2, 10.0),
            ("facebook_poll_seconds", 0.05, 300.0),
        ):
            if not low <= getattr(self, name) <= high:
                raise SettingsError(f"HALYQ_{name.upper()} must be between {low} and {high}")
        try:  # R3: slow mode may slow commenting down, never close it
            SlowMode(seconds=self.slow_mode_seconds, burst=self.slow_mode_burst)
        except ValueError as error:
            variable = "SECONDS" if "seconds" in str(error) else "BURST"
            raise SettingsError(f"HALYQ_SLOW_MODE_{variable}: {error}") from None
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError(f"HALYQ_LOG_LEVEL must be one of {', '.join(LOG_LEVELS).lower()}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from `environ` (REDIS_URL and HALYQ_* variables), then `overrides`."""
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            variable = variable_of(item.name)
            raw = environ.get(variable)
            if raw is not None and raw != "":
                values[item.name] = _parse(variable, raw, item.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def store_url(self) -> str:
        """Where the store connects: REDIS_URL, or the Sentinels' or the cluster's address as
        one URL (`redis+sentinel://host:port,host:port/master`,
        `redis+cluster://host:port,host:port`); "" for the embedded Redis."""
        if self.redis_sentinels:
            return (
                f"{SENTINEL_SCHEME}://{','.join(self.redis_sentinels)}/{self.redis_sentinel_master}"
            )
        if self.redis_cluster_nodes:
            return f"{CLUSTER_SCHEME}://{','.join(self.redis_cluster_nodes)}"
        return self.redis_url

    def required_replicas(self) -> int:
        """HALYQ_MIN_REPLICAS, or by default 1 behind Sentinel (a failover must not lose an
        ack) and 0 otherwise."""
        if self.min_replicas >= 0:
            return self.min_replicas
        return 1 if self.redis_sentinels else 0

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def channels(self) -> dict[str, dict[str, bool]]:
        """Each channel's intake (`in`) and answers (`out`): on when its settings are there
        (issue 10); `/readyz` and the admin console say which are off."""
        twilio_in = bool(self.twilio_auth_token and self.public_url)
        twilio_out = bool(self.twilio_account_sid and self.twilio_auth_token)
        return {
            "phone": {"in": True, "out": False},
            "whatsapp": {
                "in": bool(self.whatsapp_app_secret and self.whatsapp_verify_token),
                "out": bool(self.whatsapp_access_token),
            },
            "twilio": {"in": twilio_in, "out": twilio_out},
            "telegram": {
                "in": bool(self.telegram_secret_token),
                "out": bool(self.telegram_bot_token),
            },
            "email": {"in": self.smtp_port > 0, "out": bool(self.smtp_relay)},
        }


def variable_of(name: str) -> str:
    """The environment variable of the setting `name`: REDIS_* for where Redis is, HALYQ_*
    for the rest."""
    return name.upper() if name in UNPREFIXED else f"HALYQ_{name.upper()}"


def _parse(variable: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
        if isinstance(default, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError:
        raise SettingsError(f"{variable}={raw!r} is not a valid {type(default).__name__}") from None
    return raw
