"""`halyq youtube`: YouTube's live chat into a meeting's queue (issue 11).

`halyq youtube ingest MEETING_ID FILE [--follow]` reads a yt-dlp live-chat file (the live or the
replay shape) from where it was last read, and with `--follow` keeps reading as it grows until
Ctrl+C or SIGTERM. `halyq youtube follow MEETING_ID URL` runs yt-dlp's live-chat download for
the stream (restarted when it exits), reads what it writes, and reports the feed's health to the
console. Either may be killed at any moment: run again, it adds nothing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from recordings.archive import UrlRefused
from recordings.tail import complete_lines, follow
from server.cli.shell import say, with_usecases
from server.fanout.hub import Hub
from server.metrics import Metrics
from server.services import Services
from server.settings import Settings
from server.usecases import UseCases
from server.usecases.youtube import YouTubeChat
from server.youtube.follower import Follower, chat_folder, stream_url, ytdlp_command
from server.youtube.reader import Reader


def add_parser(commands: Any) -> None:
    youtube = commands.add_parser(
        "youtube", help="YouTube's live chat into a meeting's queue", description=__doc__
    )
    youtube.set_defaults(run=lambda args, settings: _usage(youtube))
    actions = youtube.add_subparsers(title="youtube commands")
    ingest = actions.add_parser("ingest", help="read a yt-dlp live-chat file into the meeting")
    ingest.add_argument("meeting_id", help="the meeting")
    ingest.add_argument("file", type=Path, help="the .live_chat.json file yt-dlp writes")
    ingest.add_argument("--follow", action="store_true",
                        help="keep reading as the file grows, until Ctrl+C")  # fmt: skip
    ingest.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
    ingest.set_defaults(run=_ingest)
    follow_ = actions.add_parser("follow", help="run yt-dlp on a stream and read its live chat")
    follow_.add_argument("meeting_id", help="the meeting")
    follow_.add_argument("url", help="the stream's URL (a host in HALYQ_ARCHIVE_HOSTS)")
    follow_.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
    follow_.set_defaults(run=_follow)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    if not args.follow and not args.file.is_file():
        sys.stderr.write(f"halyq: youtube ingest: no file {str(args.file)!r}\n")
        return 1
    return with_usecases(settings, lambda cases: _read(args, settings, cases))


async def _read(args: argparse.Namespace, settings: Settings, cases: UseCases) -> int:
    if await cases.store.meetings.get(args.meeting_id) is None:
        sys.stderr.write(f"halyq: no meeting {args.meeting_id!r}\n")
        return 1
    path: Path = args.file.resolve()
    if not args.follow:
        reader, offset = await ingest_file(settings, cases, args.meeting_id, path)
        say(f"{reader.tally.summary()} (read up to byte {offset})")
        return 0
    reader = Reader(
        chat=await youtube_chat(settings, cases),
        meeting_id=args.meeting_id,
        source=f"file:{path}",
    )
    offset = await reader.position()
    stop = _stopped_by_signals()
    say(f"reading {path} as it grows (Ctrl+C stops)")
    async for line, after in follow(path, offset, stop=stop):
        await reader.take(line, after)
        offset = after
    say(f"{reader.tally.summary()} (read up to byte {offset})")
    return 0


async def ingest_file(
    settings: Settings, cases: UseCases, meeting_id: str, path: Path
) -> tuple[Reader, int]:
    """Read a whole chat file into the meeting (from where it was last read up to): the
    reader, with its tally, and the byte offset it read up to. The archive reads YouTube's
    live-chat replay with it too: items taken while live count as repeated."""
    reader = Reader(
        chat=await youtube_chat(settings, cases), meeting_id=meeting_id, source=f"file:{path}"
    )
    offset = await reader.position()
    while lines := (await asyncio.to_thread(complete_lines, path, offset))[0]:
        for line, after in lines:
            await reader.take(line, after)
            offset = after
    return reader, offset


def _follow(args: argparse.Namespace, settings: Settings) -> int:
    try:
        url = stream_url(args.url, settings)
    except UrlRefused as error:
        sys.stderr.write(f"halyq: youtube follow: {error}\n")
        return 1
    return with_usecases(settings, lambda cases: _run_follower(args, url, settings, cases))


async def _run_follower(
    args: argparse.Namespace, url: str, settings: Settings, cases: UseCases
) -> int:
    if await cases.store.meetings.get(args.meeting_id) is None:
        sys.stderr.write(f"halyq: no meeting {args.meeting_id!r}\n")
        return 1
    follower = Follower(
        chat=await youtube_chat(settings, cases),
        meeting_id=args.meeting_id,
        url=url,
        folder=chat_folder(settings.data_dir, args.meeting_id),
        program=ytdlp_command(settings),
    )
    stop = _stopped_by_signals()
    say(f"following the live chat of {url} (Ctrl+C stops)")
    await follower.run(stop)
    say(follower.reader.tally.summary())
    return 0


async def youtube_chat(settings: Settings, cases: UseCases) -> YouTubeChat:
    """The YouTube use case as the server has it: authors known by the same keyed pseudonyms
    (the installation's shared secret), so that a ban found by any reader hides them all."""
    secret = await cases.store.shared_secret(settings.secret)
    metrics = Metrics()
    services = Services(
        settings=settings,
        store=cases.store,
        usecases=cases,
        hub=Hub(cases.store, metrics),
        metrics=metrics,
        secret=secret.encode(),
    )
    return YouTubeChat(cases=cases, pseudonym=services.sender_pseudonym)


def _stopped_by_signals() -> asyncio.Event:
    """An event set by Ctrl+C or SIGTERM: the line being taken is finished first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    return stop
