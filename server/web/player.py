"""Which player a stream URL gets on the viewer page: an embed, a <video>, a link, or nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "www.youtu.be"}
FACEBOOK_HOSTS = {"facebook.com", "www.facebook.com", "m.facebook.com", "fb.watch"}
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
HLS_TYPE = "application/vnd.apple.mpegurl"
VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".m3u8": HLS_TYPE}

# The origins the page's Content-Security-Policy lets frames come from.
FRAME_ORIGINS = ("https://www.youtube-nocookie.com", "https://www.facebook.com")


@dataclass(frozen=True, slots=True)
class Player:
    """`kind` is youtube, facebook, video, link or none; `src` what the page loads; `own`: our
    own broadcast (issue 16), whose state the record says (`broadcast.changed`)."""

    kind: str
    src: str = ""
    type: str = ""
    own: bool = False


def own_playlist(meeting_id: str) -> str:
    """Where the server serves a meeting's own HLS playlist (`GET /m/{id}/live.m3u8`)."""
    return f"/m/{meeting_id}/live.m3u8"


def player_for(url: str, *, own: str = "") -> Player:
    """The player for a meeting's stream URL; with no URL, the playlist `own` of our own
    broadcast (issue 16: given when the server's ingest is on), else none."""
    if not url:
        return Player("video", own, HLS_TYPE, own=True) if own else Player("none")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in YOUTUBE_HOSTS and (video := _youtube_id(host, parts.path, parts.query)):
        return Player("youtube", f"https://www.youtube-nocookie.com/embed/{video}?playsinline=1")
    if host in FACEBOOK_HOSTS:
        href = quote(url, safe="")
        return Player("facebook", f"https://www.facebook.com/plugins/video.php?href={href}")
    for suffix, mime in VIDEO_TYPES.items():
        if parts.path.lower().endswith(suffix):
            return Player("video", url, mime)
    return Player("link", url)


def _youtube_id(host: str, path: str, query: str) -> str:
    if host.endswith("youtu.be"):
        candidate = path.strip("/").split("/")[0]
    elif path == "/watch":
        candidate = parse_qs(query).get("v", [""])[0]
    else:
        segments = [s for s in path.split("/") if s]
        is_embed = len(segments) == 2 and segments[0] in ("live", "embed", "shorts", "v")
        candidate = segments[1] if is_embed else ""
    return candidate if YOUTUBE_ID.fullmatch(candidate) else ""
