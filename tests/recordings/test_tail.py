"""Following a file that grows (issue 11): complete lines only, each once and in order, while
another process appends, cuts lines in the middle of a character, replaces or truncates it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recordings.livechat import parse
from recordings.tail import complete_lines, follow
from tests.helpers import TIMEOUT, wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Another process, like yt-dlp: it keeps the file open for appending and flushes each write.
# One command a line on stdin ("append <hex>", "replace <hex>", "truncate"), "ok" once done.
WRITER = r"""
import os, sys
path, file = sys.argv[1], None
for command in sys.stdin:
    verb, _, data = command.strip().partition(" ")
    if verb == "append":
        file = file or open(path, "ab")
        file.write(bytes.fromhex(data))
        file.flush()
    elif verb == "replace":
        with open(path + ".new", "wb") as new:
            new.write(bytes.fromhex(data))
        os.replace(path + ".new", path)
        file = None
    elif verb == "truncate":
        os.truncate(path, 0)
    print("ok", flush=True)
"""


class Writer:
    """The writing process, driven one command at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def do(self, verb: str, data: bytes = b"") -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{verb} {data.hex()}\n".encode())
        await self.process.stdin.drain()
        async with asyncio.timeout(TIMEOUT):
            assert await self.process.stdout.readline() == b"ok\n"


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[Writer]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(tmp_path / "chat.live_chat.json.part"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield Writer(process)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        async with asyncio.timeout(TIMEOUT):
            assert await process.wait() == 0


class Follower:
    """`follow` in a task of its own, keeping what it yields."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.stop = asyncio.Event()
        self.got: list[tuple[bytes, int]] = []
        self.task = asyncio.create_task(self._run(path, offset))

    async def _run(self, path: Path, offset: int) -> None:
        async for line, after in follow(path, offset, poll=0.01, stop=self.stop):
            self.got.append((line, after))

    async def has(self, count: int) -> None:
        await wait_for(lambda: len(self.got) >= count, what=f"{count} lines")

    async def close(self) -> None:
        self.stop.set()
        async with asyncio.timeout(TIMEOUT):
            await self.task


def ends(lines: list[bytes]) -> list[int]:
    """The offset after each line."""
    offsets, offset = [], 0
    for line in lines:
        offset += len(line) + 1
        offsets.append(offset)
    return offsets


def cut_in_a_character(line: bytes) -> int:
    """A place in the middle of the line's first multi-byte character (the middle of the line
    when it is all ASCII, as a ticker's line is)."""
    inside = (i for i, byte in enumerate(line) if byte & 0b1100_0000 == 0b1000_0000)
    return next(inside, len(line) // 2)


@pytest.mark.anyio
async def test_a_file_another_process_appends_to_arrives_line_by_line_whole(
    tmp_path: Path, writer: Writer
) -> None:
    """Every line of the live sample, each write ending inside a character of the next line:
    each arrives once, whole and in order, and a partial line never arrives until complete."""
    path = tmp_path / "chat.live_chat.json.part"
    lines = (FIXTURES / "youtube_live_chat.jsonl").read_bytes().splitlines()
    data = b"".join(line + b"\n" for line in lines)
    cuts = [
        end - len(line) - 1 + cut_in_a_character(line)
        for line, end in zip(lines, ends(lines), strict=True)
    ]
    follower = Follower(path)  # before the file exists
    try:
        start = 0
        for count, cut in enumerate(cuts):
            # The rest of the line before (and its newline), then half of a character.
            await writer.do("append", data[start:cut])
            await follower.has(count)
            assert follower.got == list(zip(lines[:count], ends(lines)[:count], strict=True))
            complete = ends(lines)[count - 1] if count else 0
            assert complete_lines(path, complete) == ([], complete)
            start = cut
        await writer.do("append", data[start:])
        await follower.has(len(lines))
    finally:
        await follower.close()
    assert follower.got == list(zip(lines, ends(lines), strict=True))
    assert [event for line, _ in follower.got for event in parse(line)] == [
        event for line in lines for event in parse(line)
    ]


@pytest.mark.anyio
async def test_a_replaced_or_truncated_file_is_read_again_from_the_start(
    tmp_path: Path, writer: Writer
) -> None:
    path = tmp_path / "chat.live_chat.json.part"
    follower = Follower(path)
    try:
        await writer.do("append", "бір\nекі\n".encode())
        await follower.has(2)
        await writer.do("replace", b"c\n")  # another file, shorter
        await follower.has(3)
        await writer.do("replace", "төрт бес алты жеті\nсегіз\n".encode())  # another, longer
        await follower.has(5)
        await writer.do("truncate")
        await writer.do("append", b"f\n")  # the same file, shorter than before
        await follower.has(6)
    finally:
        await follower.close()
    assert [line.decode() for line, _ in follower.got] == [
        "бір", "екі", "c", "төрт бес алты жеті", "сегіз", "f"
    ]  # fmt: skip
    assert [after for _, after in follower.got] == [7, 14, 2, 34, 45, 2]


@pytest.mark.anyio
async def test_following_resumes_after_the_offset_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(b"one\ntwo\nthree\n")
    follower = Follower(path, offset=4)
    try:
        await follower.has(2)
    finally:
        await follower.close()
    assert follower.got == [(b"two", 8), (b"three", 14)]


@pytest.mark.anyio
async def test_following_ends_when_stopped_even_with_lines_left(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(b"a\nb\nc\n")
    stop = asyncio.Event()
    lines = follow(path, 0, stop=stop)
    assert await anext(lines) == (b"a", 2)
    stop.set()
    with pytest.raises(StopAsyncIteration):
        await anext(lines)


@pytest.mark.anyio
async def test_a_file_that_comes_late_is_read_when_it_comes(tmp_path: Path) -> None:
    path = tmp_path / "late.json"
    follower = Follower(path)
    path.write_bytes(b"late\n")
    await follower.has(1)
    await follower.close()
    assert follower.got == [(b"late", 5)]
    assert follower.task.done()


# complete_lines alone


def test_no_file_yet_has_no_lines(tmp_path: Path) -> None:
    assert complete_lines(tmp_path / "absent.json", 7) == ([], 7)


def test_a_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(b"one\ntwo\nthr")
    assert complete_lines(path, 0) == ([(b"one", 4), (b"two", 8)], 8)
    assert complete_lines(path, 8) == ([], 8)
    with path.open("ab") as file:
        file.write(b"ee\n")
    assert complete_lines(path, 8) == ([(b"three", 14)], 14)
    assert complete_lines(path, 14) == ([], 14)
    assert complete_lines(path, 99) == ([], 99)  # past the end: nothing, no error


def test_a_line_cut_inside_a_character_waits_whole(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    line = "Сәлем 😡".encode()
    path.write_bytes(line[:-2])  # half of the emoji
    assert complete_lines(path, 0) == ([], 0)
    with path.open("ab") as file:
        file.write(line[-2:] + b"\n")
    assert complete_lines(path, 0) == ([(line, len(line) + 1)], len(line) + 1)
    assert line.decode() == "Сәлем 😡"


def test_only_a_newline_byte_ends_a_line(tmp_path: Path) -> None:
    """yt-dlp writes JSON with ensure_ascii=False: U+2028, U+0085 and CR may be in a line."""
    path = tmp_path / "chat.json"
    line = "a\u2028b\u0085c\rd".encode()
    path.write_bytes(line + b"\n\n")
    assert complete_lines(path, 0) == ([(line, len(line) + 1), (b"", len(line) + 2)], len(line) + 2)


def test_reads_are_bounded_but_a_long_line_still_arrives(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(b"abcdef\nxy\nz")
    assert complete_lines(path, 0, limit=4) == ([(b"abcdef", 7)], 7)  # "abcd", then "ef\nx"
    assert complete_lines(path, 7, limit=4) == ([(b"xy", 10)], 10)
    assert complete_lines(path, 10, limit=4) == ([], 10)


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0)])
def test_a_negative_offset_or_an_empty_limit_is_refused(
    tmp_path: Path, offset: int, limit: int
) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(b"a\n")
    with pytest.raises(ValueError, match="an offset from 0 and a limit from 1"):
        complete_lines(path, offset, limit=limit)
