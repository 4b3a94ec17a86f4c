"""The `halyq` command: serve, demo, and meeting, staff and retention administration from the
shell; the archive of recordings and its worker; YouTube's live chat."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from moderation import ModerationError
from server.auth.accounts import AccountError
from server.cli import (
    archive,
    calendar,
    facebook,
    meetings,
    offices,
    retention,
    serve,
    territories,
    users,
    youtube,
)
from server.settings import Settings, SettingsError
from server.store import StoreUnavailable
from server.store.embedded import EmbeddedRedisError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env(
            os.environ,
            data_dir=args.data_dir,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            workers=getattr(args, "workers", None),
        )
        _configure_logging(settings.log_level)
        result: int = args.run(args, settings)
        return result
    except (SettingsError, EmbeddedRedisError, StoreUnavailable, AccountError) as error:
        sys.stderr.write(f"halyq: {error}\n")
        return 1
    except ModerationError as error:
        sys.stderr.write(f"halyq: {error.code}: {error.detail or error}\n")
        return 1
    except OSError as error:  # a folder that cannot be written, a port in use...
        sys.stderr.write(f"halyq: {error}\n")
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="halyq", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="data folder of the embedded Redis (./data)")
    commands = parser.add_subparsers(title="commands")
    serve.add_parsers(commands)
    meetings.add_parser(commands)
    offices.add_parser(commands)
    territories.add_parser(commands)  # issue 13
    calendar.add_parser(commands)  # issue 13: the annual calendar (R1)
    users.add_parser(commands)
    retention.add_parser(commands)
    archive.add_parser(commands)
    youtube.add_parser(commands)
    facebook.add_parser(commands)  # issue 16: `halyq facebook`, `halyq instagram`
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Personal data stays out of logs: uvicorn names the client's address in its WebSocket
    # lines, and the websockets library logs frames and headers (cookies too) at debug level.
    logging.getLogger("uvicorn.error").addFilter(_without_personal_data)


def _without_personal_data(record: logging.LogRecord) -> bool:
    from_websockets = f"{os.sep}websockets{os.sep}" in record.pathname
    return not from_websockets and '"WebSocket %s"' not in str(record.msg)
