"""`halyq meeting outputs ID add|list|remove` (issue 16): a meeting's restream destinations, the
official accounts' RTMP(S) URLs that the broadcast is copied to, and the studio's RTMP URL that
`halyq meeting keys` prints.

A destination's URL holds its stream key: a secret, shown masked everywhere (`masked`), never
printed or logged whole; only `add`'s own command line has it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from server.broadcast.ffmpeg import NAME, masked
from server.cli.shell import say, with_store
from server.settings import Settings
from server.store import Store

SCHEMES = ("rtmp", "rtmps")
DEFAULT_RTMP_PORT = 1935  # what the studio's software assumes; printed while the ingest is off
BAD_INPUT = 2  # as argparse exits on a bad option


def add_parser(actions: Any) -> None:
    """`outputs` under `halyq meeting`, with its three actions."""
    outputs = actions.add_parser("outputs", help="restream destinations (YouTube, Facebook...)")
    outputs.add_argument("meeting_id")
    verbs = outputs.add_subparsers(title="actions", required=True)
    add = verbs.add_parser("add", help="add a destination: its RTMP(S) URL with the stream key")
    add.add_argument("--name", required=True, help="its name: 1-32 of a-z, 0-9, _ and -")
    add.add_argument("--url", required=True, help="rtmp:// or rtmps://host/path/<stream key>")
    add.add_argument("--replace", action="store_true", help="replace a destination of that name")
    add.set_defaults(run=_add)
    listed = verbs.add_parser("list", help="the destinations, their URLs masked")
    listed.set_defaults(run=_list)
    remove = verbs.add_parser("remove", help="remove a destination")
    remove.add_argument("name")
    remove.set_defaults(run=_remove)
    for verb in verbs.choices.values():
        verb.add_argument("--json", action="store_true", help="print JSON")
        verb.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)


def rtmp_url(base_url: str, settings: Settings, stream_key: str) -> str:
    """Where the studio pushes: `rtmp://HOST:PORT/live/<stream key>`, HOST the public URL's,
    PORT `HALYQ_RTMP_PORT` (1935, with a warning, while the ingest is off)."""
    host = urlsplit(base_url).hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    port = settings.rtmp_port
    if not port:
        sys.stderr.write(
            "halyq: HALYQ_RTMP_PORT is not set (the ingest is off):"
            f" the URL says port {DEFAULT_RTMP_PORT}\n"
        )
        port = DEFAULT_RTMP_PORT
    return f"rtmp://{host}:{port}/live/{stream_key}"


def problem(name: str, url: str) -> str:
    """What is wrong with a destination (a name, an RTMP(S) URL with a host and a path), or ""."""
    if not NAME.fullmatch(name):
        return f"--name: {name!r} is not 1-32 of a-z, 0-9, _ and -"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        return "--url: not a URL"
    if parts.scheme.lower() not in SCHEMES:
        return "--url: must start with rtmp:// or rtmps://"
    if not parts.hostname:
        return "--url: names no host"
    if parts.path.strip("/") == "":
        return "--url: has no path (the app and the stream key: /live2/KEY)"
    if any(c.isspace() for c in url):
        return "--url: has a space in it"
    return ""


def _add(args: argparse.Namespace, settings: Settings) -> int:
    if wrong := problem(args.name, args.url):
        sys.stderr.write(f"halyq: {wrong}\n")
        return BAD_INPUT

    async def add(store: Store) -> tuple[bool, dict[str, str]] | None:
        if await store.meetings.get(args.meeting_id) is None:
            return None
        meeting_id = args.meeting_id
        added = await store.broadcasts.add_output(
            meeting_id, args.name, args.url, replace=args.replace
        )
        return added, await store.broadcasts.outputs(meeting_id)

    found = with_store(settings, add)
    if found is None:
        return _no_meeting(args.meeting_id)
    if not found[0]:
        sys.stderr.write(
            f"halyq: the meeting already has an output {args.name!r} (--replace replaces it)\n"
        )
        return 1
    return _show(args, found[1])


def _list(args: argparse.Namespace, settings: Settings) -> int:
    async def listed(store: Store) -> dict[str, str] | None:
        if await store.meetings.get(args.meeting_id) is None:
            return None
        return await store.broadcasts.outputs(args.meeting_id)

    found = with_store(settings, listed)
    return _no_meeting(args.meeting_id) if found is None else _show(args, found)


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    async def remove(store: Store) -> tuple[bool, dict[str, str]] | None:
        if await store.meetings.get(args.meeting_id) is None:
            return None
        removed = await store.broadcasts.remove_output(args.meeting_id, args.name)
        return removed, await store.broadcasts.outputs(args.meeting_id)

    found = with_store(settings, remove)
    if found is None:
        return _no_meeting(args.meeting_id)
    if not found[0]:
        sys.stderr.write(f"halyq: the meeting has no output {args.name!r}\n")
        return 1
    return _show(args, found[1])


def _show(args: argparse.Namespace, outputs: dict[str, str]) -> int:
    """Every destination of the meeting (after an `add` or a `remove` too, as `route` prints
    every address), their URLs masked: the stream keys are secrets."""
    shown = [{"name": name, "url": masked(url)} for name, url in outputs.items()]
    if args.json:
        say(json.dumps({"meeting": args.meeting_id, "outputs": shown}, ensure_ascii=False))
    for output in [] if args.json else shown:
        say(f"{output['name']:16} {output['url']}")
    return 0


def _no_meeting(meeting_id: str) -> int:
    sys.stderr.write(f"halyq: no meeting {meeting_id!r}\n")
    return 1
