"""`halyq meeting create|list|show|start|end|keys|route|outputs`: meetings from the shell.

The options of `create` are the fields of `moderation.model.MeetingFields`, declared there once.
`keys` prints the meeting's producer key, its overlays' and feeds' URLs (issue 9) and the
studio's RTMP URL with its stream key (issue 16); `route` routes channel addresses to the meeting
(issue 10); `outputs` (`server/cli/outputs.py`) manages its restream destinations (issue 16).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import sys
from pathlib import Path
from typing import Any, get_origin, get_type_hints

from moderation import CreateMeeting, EndMeeting, InvalidInput, Meeting, StartMeeting
from moderation.audiences import meeting_for_viewer
from moderation.contacts import normalise_phone
from moderation.deadlines import deadlines
from moderation.model import LANGUAGES, MeetingFields
from server.auth.keys import KeyKind, current_key, rotate_key, studio_urls
from server.cli import outputs
from server.cli.shell import say, with_store, with_usecases
from server.settings import Settings
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from server.usecases.meetings import set_receptions
from server.usecases.pool import meeting_deadlines
from server.wire import parse_record

# Option names that differ from their field's; settings that give a field its default.
FLAGS = {"slow_mode_seconds": "--slow-mode", "titles": "--title"}
BASE_URL = "http://127.0.0.1:8000"  # where the overlays' URLs point unless --base-url says
DEFAULTS = {"slow_mode_seconds": "slow_mode_seconds", "slow_mode_burst": "slow_mode_burst"}
# `halyq meeting route`: the channel addresses a message came to that pick this meeting when
# several are live (issue 10.6).
ROUTES = {
    "whatsapp": "the WhatsApp Cloud API phone_number_id",
    "telegram": "the Telegram bot's name",
    "email": "an e-mail address (the SMTP listener accepts it too)",
    "sms": "a Twilio number (SMS or WhatsApp through Twilio)",
}


def add_parser(commands: Any) -> None:
    meeting = commands.add_parser("meeting", help="create, list, start and end meetings")
    actions = meeting.add_subparsers(title="actions", required=True)
    create = actions.add_parser("create", help="announce a meeting")
    create.add_argument("--id", default="", help="an id of your own (a-z, 0-9, -)")
    _field_options(create)
    create.set_defaults(run=_create)
    for name, run in (("list", _list), ("show", _show), ("start", _start), ("end", _end)):
        sub = actions.add_parser(name, help=f"{name} meeting(s)")
        if name != "list":
            sub.add_argument("meeting_id")
        sub.set_defaults(run=run)
    keys = actions.add_parser("keys", help="print the producer key and the studio's URLs")
    keys.add_argument("meeting_id")
    keys.add_argument("--rotate", action="store_true", help="make new keys first (revokes the old)")
    keys.add_argument("--base-url", default=BASE_URL, help=f"the server's public URL ({BASE_URL})")
    keys.set_defaults(run=_keys)
    route = actions.add_parser("route", help="route channel addresses to a meeting (issue 10)")
    route.add_argument("meeting_id")
    for flag, meaning in ROUTES.items():
        route.add_argument(f"--{flag}", default=None, help=meaning)
    route.set_defaults(run=_route)
    receptions = actions.add_parser(
        "receptions", help="record when the personal receptions end (R6: results are due after)"
    )
    receptions.add_argument("meeting_id")
    receptions.add_argument("--until", required=True, help="the last day, YYYY-MM-DD")
    receptions.set_defaults(run=_receptions)
    outputs.add_parser(actions)  # issue 16: restream destinations
    for sub in actions.choices.values():
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)


def _field_options(parser: argparse.ArgumentParser) -> None:
    """One option per announcement field (a `titles` map is one option per language)."""
    hints = get_type_hints(MeetingFields)
    for item in dataclasses.fields(MeetingFields):
        hint, flag = hints[item.name], FLAGS.get(item.name, "--" + item.name.replace("_", "-"))
        help_text = item.metadata.get("help") or None
        if get_origin(hint) is dict:
            for lang in LANGUAGES:
                parser.add_argument(f"{flag}-{lang}", dest=f"{item.name}_{lang}", default="")
            continue
        required = item.default is dataclasses.MISSING
        options: dict[str, Any] = {"dest": item.name, "required": required, "help": help_text,
                                   "default": None}  # fmt: skip
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            options["choices"] = [member.value for member in hint]
        elif hint in (int, float):
            options["type"] = hint
        parser.add_argument(flag, **options)


def _command(args: argparse.Namespace, settings: Settings) -> CreateMeeting:
    raw: dict[str, object] = {}
    hints = get_type_hints(MeetingFields)
    for item in dataclasses.fields(MeetingFields):
        if get_origin(hints[item.name]) is dict:
            values = {lang: getattr(args, f"{item.name}_{lang}") for lang in LANGUAGES}
            raw[item.name] = {lang: text for lang, text in values.items() if text}
        elif (value := getattr(args, item.name)) is not None:
            raw[item.name] = value
        elif item.name in DEFAULTS:
            raw[item.name] = getattr(settings, DEFAULTS[item.name])
    return parse_record(CreateMeeting, raw)


def _print_meeting(meeting: Meeting, as_json: bool) -> None:
    if as_json:
        shown = meeting_for_viewer(meeting) | {"stream_url": meeting.stream_url}
        say(json.dumps(shown, ensure_ascii=False))
    else:
        say(f"{meeting.id}  {meeting.status.value:9}  {meeting.title}")


def _create(args: argparse.Namespace, settings: Settings) -> int:
    command = _command(args, settings)
    meeting = with_usecases(
        settings, lambda cases: create_meeting(cases, command, meeting_id=args.id)
    )
    _print_meeting(meeting, args.json)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    found = with_store(settings, lambda store: store.meetings.all())
    if args.json:
        say(json.dumps([meeting_for_viewer(m) for m in found], ensure_ascii=False))
    for meeting in [] if args.json else found:
        _print_meeting(meeting, False)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    found = with_store(settings, lambda store: store.meetings.get(args.meeting_id))
    if found is None:
        sys.stderr.write(f"halyq: no meeting {args.meeting_id!r}\n")
        return 1
    _print_meeting(found, args.json)
    return 0


def _start(args: argparse.Namespace, settings: Settings) -> int:
    return _change(args, settings, StartMeeting())


def _end(args: argparse.Namespace, settings: Settings) -> int:
    return _change(args, settings, EndMeeting())


def _change(
    args: argparse.Namespace, settings: Settings, command: StartMeeting | EndMeeting
) -> int:
    meeting = with_usecases(settings, lambda cases: change_meeting(cases, args.meeting_id, command))
    _print_meeting(meeting, args.json)
    return 0


def _receptions(args: argparse.Namespace, settings: Settings) -> int:
    """`halyq meeting receptions ID --until YYYY-MM-DD` (issue 12): the meeting, with its R6
    due dates."""

    async def receptions(cases: UseCases) -> tuple[Meeting, dict[str, object]]:
        meeting = await set_receptions(cases, args.meeting_id, args.until)
        return meeting, await meeting_deadlines(cases, meeting)  # R6: what the pool met too

    meeting, due = with_usecases(settings, receptions)
    found = deadlines(meeting)
    if args.json:
        say(json.dumps({"meeting": meeting_for_viewer(meeting), "deadlines": due}))
        return 0
    progress = ", ".join(d.isoformat() for d in found.progress_due)
    say(f"{meeting.id}: receptions end {meeting.receptions_until}")
    say(f"  results due {found.publication_due}; progress due {progress}")
    return 0


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    """The producer key and the overlays' and feeds' URLs (with the overlay key), made now if
    the meeting has none; `--rotate` replaces both first, and the old ones stop working."""

    async def keys(store: Store) -> dict[KeyKind, str] | None:
        if await store.meetings.get(args.meeting_id) is None:
            return None
        pick = rotate_key if args.rotate else current_key
        return {kind: await pick(store, args.meeting_id, kind) for kind in KeyKind}

    found = with_store(settings, keys)
    if found is None:
        sys.stderr.write(f"halyq: no meeting {args.meeting_id!r}\n")
        return 1
    producer, stream = found[KeyKind.PRODUCER], found[KeyKind.STREAM]
    rtmp = outputs.rtmp_url(args.base_url, settings, stream)
    urls = studio_urls(args.base_url, args.meeting_id, found[KeyKind.OVERLAY]) | {"rtmp_url": rtmp}
    if args.json:
        shown = {"producer_key": producer, "overlay_key": found[KeyKind.OVERLAY],
                 "stream_key": stream, "rtmp_url": rtmp, "urls": urls}  # fmt: skip
        say(json.dumps(shown, ensure_ascii=False))
        return 0
    say(f"producer key:  {producer}")
    say(f"  (Authorization: Bearer <key> on {args.base_url.rstrip('/')}"
        f"/api/meetings/{args.meeting_id}/phase)")  # fmt: skip
    say(f"stream key:    {stream}")
    for name, url in urls.items():
        say(f"{name + ':':14} {url}")
    return 0


def _route(args: argparse.Namespace, settings: Settings) -> int:
    """Route the given channel addresses to the meeting (each replaces the meeting's earlier
    address on its channel), then print every address routed to it."""
    routes = _routes(args)

    async def route(store: Store) -> dict[str, str] | None:
        if await store.meetings.get(args.meeting_id) is None:
            return None
        await store.intake.set_routes(args.meeting_id, routes)
        return {k: v for k, v in (await store.intake.routes()).items() if v == args.meeting_id}

    found = with_store(settings, route)
    if found is None:
        sys.stderr.write(f"halyq: no meeting {args.meeting_id!r}\n")
        return 1
    routed = dict(sorted(name.partition(":")[::2] for name in found))  # one per channel
    if args.json:
        say(json.dumps({"meeting": args.meeting_id, "routes": routed}, ensure_ascii=False))
        return 0
    for channel, address in routed.items():
        say(f"{channel:9} {address}")
    return 0


def _routes(args: argparse.Namespace) -> dict[str, str]:
    """The addresses given, as the intake matches them: e-mail lower-cased, a number in E.164
    (`InvalidInput` for one that is not a number); at least one."""
    given = {name: str(value).strip() for name in ROUTES if (value := getattr(args, name))}
    if not given:
        raise InvalidInput(f"give at least one of {', '.join('--' + name for name in ROUTES)}")
    if "email" in given:
        given["email"] = given["email"].lower()
        if given["email"].count("@") != 1 or given["email"].startswith("@"):
            raise InvalidInput(f"email: {given['email']!r} is not an e-mail address")
    if "sms" in given:
        given["sms"] = normalise_phone(given["sms"])
    for name, value in given.items():
        if not value or any(c.isspace() for c in value):
            raise InvalidInput(f"{name}: {value!r} is not an address")
    return given
