"""A feed's window of the record and its shared reads (FLT-4), on their own: no Redis needed."""

from __future__ import annotations

import asyncio

import pytest

from moderation import MeetingStarted
from server.fanout.window import SLACK, Gather, Window
from server.store import Entry
from tests.helpers import wait_for

pytestmark = pytest.mark.anyio


def entries(*ids: str) -> list[Entry]:
    return [(i, MeetingStarted(at=1)) for i in ids]


def ids(found: list[Entry] | None) -> list[str] | None:
    return None if found is None else [i for i, _ in found]


def test_a_window_answers_a_resume_from_any_event_it_holds_and_from_its_floor() -> None:
    window = Window("5-0")  # the record ended at 5-0 when the feed started
    window.add(entries("6-0", "7-0", "7-1", "9-0"))
    assert ids(window.missed("5-0", 10)) == ["6-0", "7-0", "7-1", "9-0"]
    assert ids(window.missed("7-0", 10)) == ["7-1", "9-0"]
    assert ids(window.missed("9-0", 10)) == []
    assert window.missed("7-0", 1) is None  # more than the limit missed: reload
    assert window.knows("8-0", 10)
    assert window.missed("8-0", 10) is None  # within the window, and no event: reload


def test_a_resume_from_before_the_window_needs_a_fill_unless_the_answer_is_plain() -> None:
    window = Window("5-0")
    window.add(entries("6-0", "7-0", "8-0"))
    assert not window.knows("4-0", 10)  # three held, the limit is ten: read further back
    assert window.knows("4-0", 2)  # more than two missed whatever lies before: reload
    assert window.missed("4-0", 2) is None
    empty = Window("0-0")  # the record was empty: the window holds all of it
    assert empty.whole
    assert empty.knows("0-0", 10)
    assert empty.missed("0-0", 10) is None  # 0-0 is no event
    assert empty.recent(5) == []


def test_a_fill_extends_the_window_down_and_finds_the_start_of_the_record() -> None:
    window = Window("5-0")
    window.add(entries("6-0"))
    window.want(3)
    assert window.shortfall() == 3  # two more to hold three, and one to be the new floor
    window.prepend(entries("3-0", "4-0", "5-0"), 3, window.floor, window.generation)
    assert (window.floor_id, ids(window.entries)) == ("3-0", ["4-0", "5-0", "6-0"])
    assert ids(window.missed("3-0", 10)) == ["4-0", "5-0", "6-0"]
    assert window.recent(5) is None  # five asked, three held, more may lie below
    window.want(5)
    window.prepend(entries("1-0", "2-0"), window.shortfall(), window.floor, window.generation)
    assert window.whole
    assert ids(window.recent(5)) == ["1-0", "2-0", "4-0", "5-0", "6-0"]
    assert window.missed("0-1", 10) is None  # before the record's first event


def test_a_fill_that_raced_a_trim_or_a_loss_is_left_out() -> None:
    window = Window("5-0")
    floor, generation = window.floor, window.generation
    window.reset("9-0")  # the record lost history meanwhile
    window.prepend(entries("4-0", "5-0"), 2, floor, generation)
    assert (window.floor_id, window.entries) == ("9-0", [])
    assert not window.knows("9-0", 10)  # 9-0 is no event of the record any more


def test_a_window_keeps_what_was_asked_for_and_trims_the_rest_in_chunks() -> None:
    window = Window("0-0")
    window.want(10)
    window.add(entries(*(f"{n}-0" for n in range(1, 10 + SLACK + 2))))
    assert len(window.entries) == 10
    assert window.floor_id == f"{SLACK + 1}-0"
    assert ids(window.missed(window.floor_id, 10)) == ids(window.entries)
    assert ids(window.recent(2)) == [f"{10 + SLACK}-0", f"{11 + SLACK}-0"]
    assert window.recent(0) == []


async def test_callers_that_ask_together_share_one_read_each_fresh_enough() -> None:
    reads: list[int] = []
    release = asyncio.Event()

    async def read() -> int:
        reads.append(len(reads))
        await release.wait()
        return len(reads)

    shared = Gather(read)
    first = asyncio.create_task(shared.get())
    await wait_for(lambda: reads == [0], what="the first read")
    later = [asyncio.create_task(shared.get()) for _ in range(50)]
    waiting = asyncio.Event()

    async def leaves() -> int:
        waiting.set()
        return await shared.get()

    gone = asyncio.create_task(leaves())
    await waiting.wait()
    gone.cancel()  # a client that left: the others still get their read
    release.set()
    assert await first == 1
    assert set(await asyncio.gather(*later)) == {2}  # one read, begun after they asked
    assert reads == [0, 1]


async def test_a_failed_read_reaches_everyone_waiting_and_the_next_ask_reads_again() -> None:
    failures = [ConnectionError("down")]

    async def read() -> int:
        if failures:
            raise failures.pop()
        return 3

    shared = Gather(read)
    results = await asyncio.gather(*(shared.get() for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await shared.get() == 3


async def test_without_fresh_callers_share_the_read_under_way() -> None:
    reads: list[int] = []
    release = asyncio.Event()

    async def read() -> int:
        reads.append(1)
        await release.wait()
        return len(reads)

    shared = Gather(read, fresh=False)
    first = asyncio.create_task(shared.get())
    await wait_for(lambda: reads == [1], what="the read")
    later = [asyncio.create_task(shared.get()) for _ in range(10)]
    release.set()
    assert {await first, *await asyncio.gather(*later)} == {1}
