"""`halyq facebook` and `halyq instagram`: the official broadcasts' comments into a meeting's
queue (issue 16).

`halyq facebook follow MEETING_ID LIVE_VIDEO_ID` reads the Facebook live video's comments
through the Graph API (`HALYQ_FACEBOOK_API_BASE`, with the Page token
`HALYQ_FACEBOOK_PAGE_TOKEN`) every `HALYQ_FACEBOOK_POLL_SECONDS`, until Ctrl+C or SIGTERM;
`halyq instagram follow MEETING_ID IG_USER_ID` does the same for the Instagram account's live
broadcast (found while it is live). Each reports its health to the console, and resumes where it
stopped: killed at any moment and run again, it adds nothing twice. `--once` reads what is
there now and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from server.channels.graph_live import FACEBOOK, INSTAGRAM, GraphApi, GraphError, Later, Platform
from server.cli.shell import say, with_usecases
from server.fanout.hub import Hub
from server.metrics import Metrics
from server.services import Services
from server.settings import Settings
from server.usecases import UseCases
from server.usecases.graph_live import live_reader

TARGETS = {FACEBOOK.name: "live_video_id", INSTAGRAM.name: "ig_user_id"}
HELP = {
    FACEBOOK.name: "the live video's id (Graph API's LiveVideo, not the post's)",
    INSTAGRAM.name: "the Instagram Business or Creator account's id (its IG User id)",
}


def add_parser(commands: Any) -> None:
    for platform in (FACEBOOK, INSTAGRAM):
        name = platform.name
        parser = commands.add_parser(
            name, help=f"{name.title()} Live comments into a meeting's queue", description=__doc__
        )
        parser.set_defaults(run=lambda args, settings, parser=parser: _usage(parser))
        actions = parser.add_subparsers(title=f"{name} commands")
        follow = actions.add_parser("follow", help=f"read the {name.title()} Live comments")
        follow.add_argument("meeting_id", help="the meeting")
        follow.add_argument("target", metavar=TARGETS[name].upper(), help=HELP[name])
        follow.add_argument("--once", action="store_true",
                            help="read the comments there are now, then exit")  # fmt: skip
        follow.add_argument("--data-dir", default=argparse.SUPPRESS)
        follow.set_defaults(run=lambda args, settings, platform=platform:
                            _follow(args, settings, platform))  # fmt: skip


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _follow(args: argparse.Namespace, settings: Settings, platform: Platform) -> int:
    if not settings.facebook_page_token:
        sys.stderr.write(f"halyq: {platform.name} follow: set HALYQ_FACEBOOK_PAGE_TOKEN\n")
        return 1
    if not args.target.isdigit():
        sys.stderr.write(f"halyq: {platform.name} follow: {TARGETS[platform.name]} is a number "
                         f"(Graph API's id), not {args.target[:40]!r}\n")  # fmt: skip
        return 1
    return with_usecases(settings, lambda cases: _run(args, settings, cases, platform))


async def _run(
    args: argparse.Namespace, settings: Settings, cases: UseCases, platform: Platform
) -> int:
    if await cases.store.meetings.get(args.meeting_id) is None:
        sys.stderr.write(f"halyq: no meeting {args.meeting_id!r}\n")
        return 1
    api = GraphApi(settings.facebook_api_base, settings.facebook_page_token)
    reader = live_reader(
        cases,
        await _pseudonym(settings, cases),
        platform=platform,
        meeting_id=args.meeting_id,
        target=args.target,
        api=api,
        poll_seconds=settings.facebook_poll_seconds,
    )
    try:
        if args.once:
            while await reader.poll():
                pass
        else:
            say(f"reading the {platform.name.title()} Live comments of {args.target} "
                "(Ctrl+C stops)")  # fmt: skip
            await reader.run(_stopped_by_signals())
    except (GraphError, Later) as error:  # --once: said, and nothing stored past what was taken
        sys.stderr.write(f"halyq: {platform.name} follow: {error}\n")
        return 1
    finally:
        await api.close()
    say(", ".join(f"{name} {count}" for name, count in sorted(reader.tally.items())) or "nothing")
    return 0


async def _pseudonym(settings: Settings, cases: UseCases) -> Any:
    """Commenters known by the server's keyed pseudonyms (the installation's shared secret)."""
    secret = await cases.store.shared_secret(settings.secret)
    metrics = Metrics()
    services = Services(settings=settings, store=cases.store, usecases=cases,
                        hub=Hub(cases.store, metrics), metrics=metrics,
                        secret=secret.encode())  # fmt: skip
    return services.sender_pseudonym


def _stopped_by_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    return stop
