"""`halyq retention run`: delete the senders' raw contacts whose retention period is over.

Contacts, original texts and undelivered answers of a meeting are kept apart from the record
and deleted for good `--days` (`HALYQ_CONTACT_RETENTION_DAYS`, 30 by default) after the meeting
ended (issue 10). The server runs the same sweep daily; this runs it now.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from server.cli.shell import say, with_store
from server.settings import Settings
from server.store import Store
from server.usecases import now_ms
from server.usecases.retention import Swept, sweep


def add_parser(commands: Any) -> None:
    retention = commands.add_parser("retention", help="delete contacts past their retention")
    actions = retention.add_subparsers(title="actions", required=True)
    run = actions.add_parser("run", help="delete them now")
    run.add_argument("--days", type=_days, default=None,
                     help="days after a meeting ended (HALYQ_CONTACT_RETENTION_DAYS)")  # fmt: skip
    run.add_argument("--json", action="store_true", help="print JSON")
    run.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
    run.set_defaults(run=_run)


def _days(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days (0 or more)")
    return int(text)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    days = settings.contact_retention_days if args.days is None else args.days

    async def run(store: Store) -> Swept:
        return await sweep(store, days=days, now_ms=now_ms())

    swept = with_store(settings, run)
    if args.json:
        say(json.dumps({"days": days, "meetings": list(swept.meetings)}))
        return 0
    say(f"contacts of {len(swept.meetings)} meetings deleted (ended {days} or more days ago)")
    for meeting_id in swept.meetings:
        say(f"  {meeting_id}")
    return 0
