"""A stand-in for yt-dlp's live-chat download (issue 11): the one edge the tests cannot reach
offline is YouTube itself. Run as `python tests/fake_ytdlp.py [--fake-...] <yt-dlp's arguments>`
(HALYQ_YTDLP_COMMAND), it writes the real live-chat lines of a fixture file where yt-dlp would:
to `<-o>.live_chat.json.part`, a line at a time and flushed, renamed to `<-o>.live_chat.json`
when it ends. Then, as the test asks:

- `--fake-end exit` (the default): prints yt-dlp's error line and exits with 1;
- `--fake-end hang`: stays running, writing nothing more (a feed that went quiet), until stopped;
- `--fake-end cut`: writes half of the next line, cut inside a multi-byte character, then hangs.

`--fake-lines N` writes only the first N lines; `--fake-fixture PATH` picks the lines.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "youtube_live_chat.jsonl"
ERROR = "ERROR: [youtube] fake0000001: This live event has ended."


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fake-end", choices=("exit", "hang", "cut"), default="exit")
    parser.add_argument("--fake-lines", type=int, default=None)
    parser.add_argument("--fake-fixture", type=Path, default=FIXTURE)
    parser.add_argument("-o", dest="output", required=True)
    args, rest = parser.parse_known_args()
    assert rest[:5] == ["--skip-download", "--write-subs", "--sub-langs", "live_chat", rest[-1]]
    lines = args.fake_fixture.read_bytes().splitlines(keepends=True)[: args.fake_lines]
    partial = Path(args.output + ".live_chat.json.part")
    with open(partial, "wb") as out:
        for line in lines:
            out.write(line)
            out.flush()
        if args.fake_end == "cut":
            cut = "Сұрақ".encode()
            out.write(b'{"replayChatItemAction": {"actions": [], "text": "' + cut[:3])
            out.flush()
    say(f"[youtube] Extracting URL: {rest[-1]}")
    if args.fake_end != "exit":
        threading.Event().wait()  # until SIGTERM or SIGKILL
    os.replace(partial, args.output + ".live_chat.json")
    say(ERROR)
    return 1


def say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
