"""The recording made at the source (issue 16, item 4), pure parts: `recording.json` read and
refused, a part still being written, and the transcript's offsets counted in the part that holds
each moment, exactly (`T - started_at`), with moments between parts in no part."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.events import Event, MeetingStarted, QuestionAnswered, QuestionOnAir
from recordings.archive import check_closed, recorded_at_source, source_of
from recordings.source import (
    Part,
    Source,
    SourceUnreadable,
    StillRecording,
    parts_of,
    read,
)
from recordings.transcript import recording_for, transcript
from tests.recordings.test_transcript import approved, change, fold

START = 1_796_050_000_000  # the meeting started (ms since the epoch)
ARCHIVE = recording_for("m", "", archived=True)


def part(number: int, started_at: int, ended_at: int, **more: object) -> dict[str, object]:
    return {
        "part": number, "file": f"part-{number:04d}.ts", "started_at": started_at,
        "ended_at": ended_at, "duration_ms": ended_at - started_at, "bytes": 1000, **more,
    }  # fmt: skip


def index(folder: Path, *parts: dict[str, object], name: str = "recording.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({"meeting": "m", "parts": list(parts)}), encoding="utf-8")
    return path


def source(*spans: tuple[int, int]) -> Source:
    made = [Part(n, f"part-{n:04d}.ts", a, b, b - a, 1) for n, (a, b) in enumerate(spans, 1)]
    return Source("m", tuple(made))


def test_recording_json_is_read_with_its_parts_in_order(tmp_path: Path) -> None:
    path = index(tmp_path, part(2, START + 90_000, START + 120_000), part(1, START, START + 60_000))
    found = read(path)
    assert found is not None
    assert found.meeting == "m"
    assert [p.part for p in found.parts] == [1, 2]
    assert found.parts[0] == Part(1, "part-0001.ts", START, START + 60_000, 60_000, 1000)
    assert found.parts[0].as_json() == part(1, START, START + 60_000)  # no "media" until archived
    assert read(tmp_path / "absent.json") is None


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{", "not a recording index"),
        ('{"meeting": "m"}', "'parts'"),
        (json.dumps({"parts": [part(1, START, START + 1) | {"file": "../../etc/passwd"}]}),
         "is not a part's name"),
        (json.dumps({"parts": [part(0, START, START + 1)]}), "part is not a number from 1"),
        (json.dumps({"parts": [part(1, START, START + 1) | {"bytes": "9"}]}),
         "bytes is not a whole number"),
        (json.dumps({"parts": [part(1, START, START + 1) | {"ended_at": True}]}),
         "ended_at is not a whole number"),
        (json.dumps({"parts": [part(1, START, START + 1, media="part-0002.mp4")]}),
         "is not the part's MP4"),
        (json.dumps({"parts": ["part-0001.ts"]}), "not a recording index"),
    ],
)  # fmt: skip
def test_an_index_that_says_no_usable_parts_is_refused_with_the_reason(
    tmp_path: Path, body: str, says: str
) -> None:
    (tmp_path / "recording.json").write_text(body, encoding="utf-8")
    with pytest.raises(
        SourceUnreadable, match=r"recording\.json is not a recording index"
    ) as error:
        read(tmp_path / "recording.json")
    assert says in str(error.value)
    assert parts_of([tmp_path / "recording.json"]) is None  # not the archive's source.json
    (tmp_path / "source.json").write_text(body, encoding="utf-8")
    assert parts_of([tmp_path / "source.json"]) is None  # unreadable: logged, left out


def test_an_index_that_cannot_be_read_says_why(tmp_path: Path) -> None:
    (tmp_path / "recording.json").mkdir()
    with pytest.raises(SourceUnreadable, match=r"recording\.json: Is a directory"):
        read(tmp_path / "recording.json")


def test_a_meeting_s_source_recording_counts_only_with_parts(tmp_path: Path) -> None:
    assert source_of(tmp_path, "m-1") == tmp_path / "broadcast" / "m-1" / "recording"
    with pytest.raises(ValueError, match="is not a meeting id"):
        source_of(tmp_path, "../m")
    assert recorded_at_source(tmp_path, "m-1") is None
    index(source_of(tmp_path, "m-1"))  # the studio never sent media: no part
    assert recorded_at_source(tmp_path, "m-1") is None
    index(source_of(tmp_path, "m-1"), part(1, START, START + 5_000))
    found = recorded_at_source(tmp_path, "m-1")
    assert found is not None
    assert [p.part for p in found.parts] == [1]


def test_a_part_being_written_is_not_archived_yet() -> None:
    live = source((START, START + 60_000), (START + 90_000, 0))
    assert live.still_recording() == live.parts[1]
    with pytest.raises(StillRecording, match=r"part 2 is being written.*after its broadcast ends"):
        check_closed(live)
    check_closed(source((START, START + 60_000)))  # every part closed: nothing raised
    on_air = source((START, START + 60_000), (START + 90_000, START + 95_000))
    with pytest.raises(StillRecording, match=r"part 2 is being written"):
        check_closed(on_air, broadcasting=True)  # the record says the studio is on air
    check_closed(Source("m", ()), broadcasting=True)  # no part yet: nothing being written


# The transcript's offsets


def test_offsets_count_from_the_part_that_holds_each_moment_exactly() -> None:
    parts = source((START + 2_000, START + 60_000), (START + 90_000, START + 200_000))
    air = fold(
        MeetingStarted(at=START),
        approved("q1", START), approved("q2", START), approved("q3", START), approved("q4", START),
        change(QuestionOnAir, "q1", START + 10_123),
        change(QuestionAnswered, "q1", START + 70_000),  # after part 1 ended: ends with it
        change(QuestionOnAir, "q2", START + 75_000),  # the studio was away: no part
        change(QuestionAnswered, "q2", START + 80_000),
        change(QuestionOnAir, "q3", START + 95_456),
        change(QuestionAnswered, "q3", START + 100_000),
        change(QuestionOnAir, "q4", START + 300_000),  # after the last part
    )  # fmt: skip
    made = transcript(air, {}, meeting_id="m", recording=ARCHIVE, now_ms=0, source=parts)
    assert (made.origin_at, made.origin) == (START + 2_000, "source")
    by_id = {q.id: q for q in made.aired}
    (q1,) = by_id["q1"].intervals
    assert (q1.part, q1.on, q1.off) == (1, 8.123, 58.0)
    assert by_id["q1"].link == "/m/m/recording?part=1#t=8"
    (q2,) = by_id["q2"].intervals
    assert (q2.part, q2.on, q2.off) == (None, 73.0, 78.0)  # from the origin
    assert by_id["q2"].link == "/m/m/recording?part=2#t=0"  # where the broadcast came back
    (q3,) = by_id["q3"].intervals
    assert (q3.part, q3.on, q3.off) == (2, 5.456, 10.0)
    assert by_id["q3"].link == "/m/m/recording?part=2#t=5"
    assert by_id["q4"].intervals[0].part is None
    assert by_id["q4"].link == "/m/m/recording?part=2#t=110"  # the last part, at its end
    body = made.as_json()
    assert body["origin"] == "source"
    assert body["parts"] == [
        {"part": 1, "started_at": START + 2_000, "ended_at": START + 60_000,
         "duration_ms": 58_000, "url": "/m/m/recording?part=1"},
        {"part": 2, "started_at": START + 90_000, "ended_at": START + 200_000,
         "duration_ms": 110_000, "url": "/m/m/recording?part=2"},
    ]  # fmt: skip
    aired = body["aired"]
    assert isinstance(aired, list)
    assert [i["part"] for q in aired for i in q["intervals"]] == [1, None, 2, None]


def test_the_chapters_are_one_timeline_from_the_first_part() -> None:
    parts = source((START, START + 60_000), (START + 90_000, START + 200_000))
    air = fold(
        MeetingStarted(at=START),
        approved("q1", START),
        change(QuestionOnAir, "q1", START + 95_000),
        change(QuestionAnswered, "q1", START + 100_000),
    )
    made = transcript(air, {}, meeting_id="m", recording=ARCHIVE, now_ms=0, source=parts)
    assert "00:01:35.000 --> 00:01:40.000" in made.chapters()
    assert made.aired[0].intervals[0].on == 5.0  # in part 2


def test_an_empty_source_changes_nothing() -> None:
    air = fold(MeetingStarted(at=START), approved("q1", START),
               change(QuestionOnAir, "q1", START + 1_000))  # fmt: skip
    made = transcript(air, {}, meeting_id="m", recording=ARCHIVE, now_ms=0, source=Source("m", ()))
    assert (made.origin, made.parts, made.aired[0].link) == ("started_at", (), "/m/m/recording#t=1")


@given(
    st.lists(st.tuples(st.integers(0, 100_000), st.integers(1, 600_000)), min_size=1, max_size=5),
    st.lists(st.integers(-10_000, 4_000_000), min_size=1, max_size=8),
)
def test_every_moment_is_in_the_part_that_holds_it_at_its_exact_offset(
    gaps: list[tuple[int, int]], moments: list[int]
) -> None:
    spans, at = [], START
    for gap, length in gaps:  # parts in order, apart by `gap`
        spans.append((at + gap, at + gap + length))
        at += gap + length + 1
    parts = source(*spans)
    events: list[Event] = [MeetingStarted(at=START)]
    for number, moment in enumerate(sorted(moments)):
        item = f"q{number}"
        events += [approved(item, START), change(QuestionOnAir, item, START + moment),
                   change(QuestionAnswered, item, START + moment + 1)]  # fmt: skip
    made = transcript(fold(*events), {}, meeting_id="m", recording=ARCHIVE, now_ms=0, source=parts)
    for question in made.aired:
        (interval,) = question.intervals
        holder = parts.part_at(interval.on_at)
        if holder is None:
            assert interval.part is None
            assert all(not p.holds(interval.on_at) for p in parts.parts)
        else:
            assert interval.part == holder.part
            assert round(interval.on * 1000) == interval.on_at - holder.started_at
            assert interval.off is not None
            assert interval.on <= interval.off <= holder.duration_ms / 1000
            assert question.link.startswith(f"/m/m/recording?part={holder.part}#t=")
