"""The stream player a meeting's URL gets."""

from __future__ import annotations

import pytest

from server.web.player import Player, player_for


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", Player("none")),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1",
         Player("youtube", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?playsinline=1")),
        ("https://youtu.be/dQw4w9WgXcQ",
         Player("youtube", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?playsinline=1")),
        ("https://www.youtube.com/live/dQw4w9WgXcQ?si=x",
         Player("youtube", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?playsinline=1")),
        ("https://www.youtube.com/watch?v=short",
         Player("link", "https://www.youtube.com/watch?v=short")),
        ("https://www.youtube.com/@akimat", Player("link", "https://www.youtube.com/@akimat")),
        ("https://www.facebook.com/almatyakimat/videos/123",
         Player("facebook", "https://www.facebook.com/plugins/video.php?href="
                "https%3A%2F%2Fwww.facebook.com%2Falmatyakimat%2Fvideos%2F123")),
        ("https://cdn.example.kz/live/stream.m3u8",
         Player("video", "https://cdn.example.kz/live/stream.m3u8",
                "application/vnd.apple.mpegurl")),
        ("https://cdn.example.kz/meeting.MP4",
         Player("video", "https://cdn.example.kz/meeting.MP4", "video/mp4")),
        ("https://akimat.almaty.kz/live", Player("link", "https://akimat.almaty.kz/live")),
    ],
)  # fmt: skip
def test_player_for(url: str, expected: Player) -> None:
    assert player_for(url) == expected
