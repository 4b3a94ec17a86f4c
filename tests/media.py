"""A recording to archive, and a local HTTP server that serves it as a page with a player, the way
yt-dlp's generic extractor reads one (`<video><source>` and `<track>` captions), issue 11.

The server can hold the recording at its middle until `gate` is set (so a worker can be killed
mid-download), or answer every request with 500 (`failing`). It counts requests by path.
"""

from __future__ import annotations

import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]

from server.broadcast.flv import Tag
from tests.helpers import TIMEOUT

PAGE = """<!doctype html><html><head><title>Meeting</title></head><body>
<video controls><source src="talk.mp4" type="video/mp4">
<track kind="captions" srclang="kk" src="kk.vtt" label="Қазақша">
<track kind="captions" srclang="ru" src="ru.vtt" label="Русский">
</video></body></html>
"""
CAPTIONS = {
    "kk.vtt": "WEBVTT\n\n00:00.000 --> 00:02.000\nСәлеметсіздер ме, құрметті тұрғындар!\n",
    "ru.vtt": "WEBVTT\n\n00:00.000 --> 00:02.000\nЗдравствуйте, уважаемые жители!\n",
}
TYPES = {".html": "text/html; charset=utf-8", ".mp4": "video/mp4", ".vtt": "text/vtt"}


def make_mp4(path: Path, seconds: int = 3) -> Path:
    """A small MP4 (testsrc and a sine tone) made with the imageio-ffmpeg binary."""
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=160x120:rate=10",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-shortest", "-movflags", "+faststart", str(path)],
        check=True, timeout=TIMEOUT * 3,
    )  # fmt: skip
    return path


class MediaSite:
    """The files of the page, and how the server behaves."""

    def __init__(self, folder: Path) -> None:
        self.files = {"index.html": PAGE.encode(), **{k: v.encode() for k, v in CAPTIONS.items()}}
        self.files["talk.mp4"] = make_mp4(folder / "talk.mp4").read_bytes()
        self.gate = threading.Event()
        self.gate.set()
        self.failing = False
        self.requests: Counter[str] = Counter()
        self.url = ""

    @property
    def page(self) -> str:
        return f"{self.url}/index.html"


@contextmanager
def media_site(folder: Path) -> Iterator[MediaSite]:
    site = MediaSite(folder)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.split("?", 1)[0].lstrip("/")
            site.requests[name] += 1
            body = site.files.get(name)
            if site.failing or body is None:
                self.send_error(500 if site.failing else 404)
                return
            self.send_response(200)
            self.send_header("Content-Type", TYPES[Path(name).suffix])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            half = len(body) // 2 if name.endswith(".mp4") else len(body)
            try:
                self.wfile.write(body[:half])
                self.wfile.flush()
                site.gate.wait(TIMEOUT * 3)  # held at the middle until the test lets it go
                self.wfile.write(body[half:])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the worker was killed mid-download

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.gate.set()
        server.shutdown()
        server.server_close()


class Session:
    """A studio's session that keeps what the ingest gave it (issue 16's RTMP and SRT tests)."""

    def __init__(self) -> None:
        self.tags: list[Tag] = []
        self.reasons: list[str] = []

    async def tag(self, tag: Tag) -> None:
        self.tags.append(tag)

    async def closed(self, error: str) -> None:
        self.reasons.append(error)

    def kinds(self, kind: int) -> list[Tag]:
        return [tag for tag in self.tags if tag.kind == kind]
