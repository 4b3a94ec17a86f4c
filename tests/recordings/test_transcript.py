"""The transcript of questions (issue 12), pure: captions read (YouTube's rolling ones too),
questions folded from the record with all their times on air, captions aligned to each, links
into the recording, and WebVTT chapters that webvtt-py reads back."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
import webvtt
from hypothesis import given
from hypothesis import strategies as st

from moderation.events import (
    Event,
    MeetingEnded,
    MeetingStarted,
    QuestionAnswered,
    QuestionApproved,
    QuestionDeferred,
    QuestionMerged,
    QuestionOffAir,
    QuestionOnAir,
    QuestionQueued,
    QuestionTagged,
)
from moderation.model import Channel
from recordings.transcript import (
    Air,
    Line,
    Question,
    Recording,
    UnreadableCaptions,
    language_of,
    read_captions,
    recording_for,
    spoken,
    transcript,
    youtube_id,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
START = 1_763_614_800_000  # the meeting started (ms since the epoch): the recording's origin
YOUTUBE = Recording("youtube", "https://www.youtube.com/watch?v=dQw4w9WgXcQ")


def approved(item: str, at: int, text: str = "Когда починят дорогу?", **more: object) -> Event:
    fields: dict[str, object] = {
        "at": at, "by": "mod", "item": item, "version": 2, "asked_at": at - 1000,
        "channel": Channel.TELEGRAM, "name": "Айгүл", "text": text, "topic": "roads",
        "district": "Алмалинский",
    }  # fmt: skip
    return QuestionApproved(**(fields | more))  # type: ignore[arg-type]


def change(kind: type, item: str, at: int, **more: object) -> Event:
    event: Event = kind(at=at, by="producer", item=item, version=3, **more)
    return event


def fold(*events: Event) -> Air:
    air = Air()
    air.add(events)
    return air


def lines(*spans: tuple[int, int, str]) -> tuple[Line, ...]:
    return tuple(Line(start, end, text) for start, end, text in spans)


# Captions


def test_youtube_rolling_captions_are_read_once_each_with_their_spoken_times() -> None:
    text = (FIXTURES / "youtube_auto_captions.ru.vtt").read_text()
    assert read_captions(text) == lines(
        (0, 2360, "Добрый день, уважаемые"),  # the 10 ms repeat extends it; the next cue does not
        (2360, 5010, "жители города."),
        (5010, 8010, "Дороги & мосты"),  # inline word times and <c> tags gone, &amp; read
        (20_000, 22_000, "Да."),  # said again later: a repetition, not a rolling repeat
        (30_000, 32_000, "Да."),
    )


def test_plain_captions_keep_every_line_and_fold_spaces() -> None:
    text = "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\n<v Аким>Мы  отремонтируем</v>\nдорогу\n"
    assert read_captions(text) == lines((1000, 3000, "Мы отремонтируем"), (1000, 3000, "дорогу"))


def test_a_file_that_is_not_webvtt_is_refused_with_a_reason() -> None:
    with pytest.raises(UnreadableCaptions):
        read_captions("1\n00:00:01,000 --> 00:00:02,000\nan SRT file\n")


@pytest.mark.parametrize(
    ("name", "lang"),
    [
        ("dQw4w9WgXcQ.kk.vtt", "kk"),
        ("recording.ru.vtt", "ru"),
        ("a.b.RU-ru.vtt", "ru-ru"),
        ("captions.vtt", "und"),
        ("x.12.vtt", "und"),
        ("x.ru.srt", "und"),
    ],
)
def test_the_language_of_a_caption_file_is_in_its_name(name: str, lang: str) -> None:
    assert language_of(name) == lang


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (2000, 4000, ["a", "b"]),  # b straddles the end: it counts
        (3000, 4000, ["a", "b"]),  # a straddles the start: it counts
        (5000, 6000, []),  # b ends where it begins: only touching
        (4500, 6000, ["b"]),
        (6000, None, ["c"]),  # still on air: everything after
        (0, 1000, []),  # a starts where it ends: only touching
    ],
)
def test_a_line_counts_when_it_overlaps_the_interval(
    start: int, end: int | None, expected: list[str]
) -> None:
    said = lines((1000, 3500, "a"), (3900, 5000, "b"), (7000, 9000, "c"))
    assert [line.text for line in spoken(said, start, end)] == expected


# Links


@pytest.mark.parametrize(
    ("url", "video"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=x", "dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ?t=3", "dQw4w9WgXcQ"),
        ("https://www.youtube.com/live/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://m.youtube.com/embed/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://www.youtube.com/channel/UC1234567890", ""),
        ("https://www.youtube.com/watch?v=short", ""),
        ("https://example.kz/live.m3u8", ""),
        ("", ""),
    ],
)
def test_youtube_urls_give_their_video(url: str, video: str) -> None:
    assert youtube_id(url) == video


def test_the_link_opens_our_archive_else_youtube_else_the_page() -> None:
    archive = recording_for("m1", "https://youtu.be/dQw4w9WgXcQ", archived=True)
    assert archive.at(75.9) == "/m/m1/recording#t=75"
    youtube = recording_for("m1", "https://youtu.be/dQw4w9WgXcQ", archived=False)
    assert youtube.at(75.9) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=75s"
    page = recording_for("m1", "https://example.kz/stream.m3u8", archived=False)
    assert (page.kind, page.at(75.9)) == ("page", "/m/m1")


# The record folded


def test_an_answered_question_holds_the_captions_of_its_interval_and_a_link_to_it() -> None:
    air = fold(
        MeetingStarted(at=START),
        approved("q1", START + 5_000),
        change(QuestionQueued, "q1", START + 6_000),
        change(QuestionOnAir, "q1", START + 60_000),
        change(QuestionAnswered, "q1", START + 90_000),
    )
    captions = {
        "ru": lines(
            (55_000, 59_000, "до"),
            (59_500, 61_000, "начало"),
            (70_000, 80_000, "ответ"),
            (89_000, 91_000, "конец"),
            (91_000, 95_000, "после"),
        ),
        "kk": lines((65_000, 70_000, "жауап")),
    }
    made = transcript(air, captions, meeting_id="m1", recording=YOUTUBE, now_ms=START + 100_000)
    (question,) = made.aired
    assert (question.status, question.channel, question.name) == ("answered", "telegram", "Айгүл")
    assert (question.topic, question.district) == ("roads", "Алмалинский")
    (interval,) = question.intervals
    assert (interval.on, interval.off) == (60.0, 90.0)
    assert (interval.on_at, interval.off_at) == (START + 60_000, START + 90_000)
    assert interval.captions == {"ru": "начало ответ конец", "kk": "жауап"}
    assert question.captions == interval.captions
    assert question.link == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=60s"
    assert (made.origin_at, made.origin, made.languages) == (START, "started_at", ("kk", "ru"))
    assert made.not_reached == ()


def test_a_question_back_on_air_keeps_each_of_its_intervals() -> None:
    air = fold(
        MeetingStarted(at=START),
        approved("q1", START + 1_000),
        change(QuestionQueued, "q1", START + 2_000),
        change(QuestionOnAir, "q1", START + 10_000),
        change(QuestionOffAir, "q1", START + 20_000),  # cleared unanswered: queued again
        change(QuestionOnAir, "q1", START + 40_000),
        change(QuestionDeferred, "q1", START + 45_500),
    )
    said = lines((12_000, 14_000, "первый"), (19_000, 21_000, "на краю"), (30_000, 31_000, "между"),
                 (44_000, 47_000, "второй"))  # fmt: skip
    (question,) = transcript(
        air, {"ru": said}, meeting_id="m1", recording=YOUTUBE, now_ms=START + 50_000
    ).aired
    assert [(i.on, i.off) for i in question.intervals] == [(10.0, 20.0), (40.0, 45.5)]
    assert [i.captions["ru"] for i in question.intervals] == ["первый на краю", "второй"]
    assert question.captions == {"ru": "первый на краю второй"}  # not what was said between
    assert question.status == "deferred"
    assert question.link.endswith("&t=10s")  # the first time on air


def test_a_line_straddling_two_intervals_is_in_the_whole_captions_once() -> None:
    air = fold(
        MeetingStarted(at=START),
        approved("q1", START),
        change(QuestionOnAir, "q1", START + 10_000),
        change(QuestionOffAir, "q1", START + 11_000),
        change(QuestionOnAir, "q1", START + 12_000),
        change(QuestionAnswered, "q1", START + 13_000),
    )
    said = lines((10_500, 12_500, "одна строка"))
    (question,) = transcript(air, {"ru": said}, meeting_id="m", recording=YOUTUBE, now_ms=0).aired
    assert [i.captions["ru"] for i in question.intervals] == ["одна строка", "одна строка"]
    assert question.captions == {"ru": "одна строка"}


def test_questions_not_reached_are_listed_with_their_final_status() -> None:
    air = fold(
        MeetingStarted(at=START),
        approved("q1", START + 1_000, text="Первый"),
        approved("q2", START + 2_000, text="Второй, звоните +7 701 234 56 78", name="a@b.kz"),
        approved("q3", START + 3_000, text="Третий"),
        change(QuestionQueued, "q2", START + 4_000),
        change(QuestionMerged, "q3", START + 5_000, into="q1", into_version=3),
        change(QuestionOnAir, "q1", START + 6_000),
        MeetingEnded(at=START + 9_000),  # q1 was still on air: its interval ends with the meeting
    )
    made = transcript(air, {}, meeting_id="m", recording=YOUTUBE, now_ms=START + 10_000)
    (aired,) = made.aired
    assert (aired.id, aired.status, aired.intervals[0].off, aired.captions) == (
        "q1",
        "on_air",
        9.0,
        {},
    )
    assert [(q.id, q.status, q.merged_into) for q in made.not_reached] == [
        ("q2", "queued", ""), ("q3", "merged", "q1"),
    ]  # fmt: skip
    waiting = made.not_reached[0]
    assert "234 56 78" not in waiting.text  # masked (PRIV-1)
    assert "a@b.kz" not in waiting.name
    assert (waiting.intervals, waiting.link) == ((), "")


def tagged(item: str, at: int, topic: str, district: str) -> Event:
    return QuestionTagged(at=at, by="mod", item=item, version=2, topic=topic, district=district)


def test_a_tag_after_approval_is_the_question_s_and_one_before_is_in_the_approval() -> None:
    air = fold(
        tagged("q1", START, "water", "Бостандык"),  # not approved yet: the approval carries it
        approved("q1", START + 1_000, topic="water", district="Бостандык"),
        approved("q2", START + 3_000),
        tagged("q2", START + 4_000, "land", "Ауэзов"),
    )
    made = transcript(air, {}, meeting_id="m", recording=YOUTUBE, now_ms=0)
    assert [(q.topic, q.district) for q in made.not_reached] == [
        ("water", "Бостандык"), ("land", "Ауэзов"),
    ]  # fmt: skip


def test_events_on_questions_never_approved_are_left_out() -> None:
    air = fold(MeetingStarted(at=START), change(QuestionOnAir, "ghost", START + 1_000))
    made = transcript(air, {}, meeting_id="m", recording=YOUTUBE, now_ms=0)
    assert (made.aired, made.not_reached) == ((), ())


# Offsets and the origin


def test_offsets_count_from_a_better_origin_and_are_never_negative() -> None:
    air = fold(
        MeetingStarted(at=START),
        approved("q1", START),
        change(QuestionOnAir, "q1", START + 5_000),  # before the recording began
        change(QuestionAnswered, "q1", START + 30_000),
    )
    said = {"kk": lines((0, 4_000, "басы"), (9_000, 12_000, "кейін"))}
    made = transcript(
        air, said, meeting_id="m", recording=YOUTUBE, now_ms=0, origin_ms=START + 10_000
    )
    (interval,) = made.aired[0].intervals
    assert (interval.on, interval.off) == (0.0, 20.0)
    assert interval.captions == {"kk": "басы кейін"}
    assert (made.origin_at, made.origin) == (START + 10_000, "release_timestamp")


def test_a_meeting_never_started_counts_from_its_first_event() -> None:
    air = fold(approved("q1", START + 500))
    made = transcript(air, {}, meeting_id="m", recording=YOUTUBE, now_ms=0)
    assert (made.origin_at, made.origin) == (START + 500, "first_event")
    assert transcript(Air(), {}, meeting_id="m", recording=YOUTUBE, now_ms=0).origin_at == 0


# JSON and chapters


def test_the_chapters_are_webvtt_with_a_cue_per_time_on_air(tmp_path: Path) -> None:
    air = fold(
        MeetingStarted(at=START),
        approved("q1", START, text="Дороги <и> мосты --> & свет\nи вода", name=""),
        approved("q2", START, text="Второй", channel=Channel.WEB),
        change(QuestionOnAir, "q1", START + 3_723_004),  # 1:02:03.004
        change(QuestionOffAir, "q1", START + 3_723_004),  # zero length: still a valid cue
        change(QuestionOnAir, "q2", START + 3_800_000),
        change(QuestionAnswered, "q2", START + 3_810_000),
        change(QuestionOnAir, "q1", START + 3_900_000),  # on air still
    )
    made = transcript(air, {}, meeting_id="m", recording=YOUTUBE, now_ms=START + 3_960_000)
    cues = webvtt.from_string(made.chapters()).captions
    assert [(c.start, c.end) for c in cues] == [
        ("01:02:03.004", "01:02:03.005"),
        ("01:03:20.000", "01:03:30.000"),
        ("01:05:00.000", "01:06:00.000"),  # until now
    ]
    assert html.unescape(cues[0].raw_text) == "Дороги <и> мосты --> & свет и вода (telegram)"
    assert cues[1].text == "Второй (web, Айгүл)"
    (tmp_path / "chapters.vtt").write_text(made.chapters(), encoding="utf-8")
    assert webvtt.read(str(tmp_path / "chapters.vtt")).captions == cues


def test_the_json_names_every_field() -> None:
    air = fold(
        MeetingStarted(at=START),
        approved("q1", START),
        approved("q2", START),
        change(QuestionOnAir, "q1", START + 1_000),
    )
    archive = recording_for("m", "", archived=True)
    body = transcript(air, {"ru": ()}, meeting_id="m", recording=archive, now_ms=0).as_json()
    assert body["recording"] == {"kind": "archive", "url": "/m/m/recording"}
    assert (body["origin_at"], body["origin"], body["languages"]) == (START, "started_at", ["ru"])
    assert body["chapters"] == "/m/m/transcript.vtt"
    assert body["aired"] == [{
        "id": "q1", "text": "Когда починят дорогу?", "channel": "telegram", "name": "Айгүл",
        "topic": "roads", "district": "Алмалинский", "status": "on_air", "merged_into": None,
        "intervals": [{"on": 1.0, "off": None, "on_at": START + 1_000, "off_at": None,
                       "part": None, "captions": {"ru": ""}}],
        "captions": {"ru": ""}, "link": "/m/m/recording#t=1",
    }]  # fmt: skip
    assert body["parts"] == []  # not recorded at the source (issue 16)
    waiting = Question(id="q2", text="Когда починят дорогу?", channel="telegram", name="Айгүл",
                       topic="roads", district="Алмалинский", status="approved")  # fmt: skip
    assert body["not_reached"] == [waiting.as_json()]
    assert (waiting.as_json()["intervals"], waiting.as_json()["link"]) == ([], None)


@given(
    st.lists(
        st.tuples(st.integers(-60_000, 7_200_000), st.integers(0, 600_000)), min_size=1, max_size=8
    ),
    st.integers(0, 120_000),
)
def test_every_time_on_air_is_a_chapter_from_a_non_negative_offset(
    times: list[tuple[int, int]], shift: int
) -> None:
    events: list[Event] = [MeetingStarted(at=START)]
    for number, (on, length) in enumerate(sorted(times)):
        item = f"q{number}"
        events += [
            approved(item, START),
            change(QuestionOnAir, item, START + on),
            change(QuestionAnswered, item, START + on + length),
        ]
    made = transcript(
        fold(*events), {}, meeting_id="m", recording=YOUTUBE, now_ms=0, origin_ms=START + shift
    )
    intervals = [i for q in made.aired for i in q.intervals]
    assert len(intervals) == len(times)
    assert all(i.on >= 0 and i.off is not None and i.off >= i.on for i in intervals)
    cues = webvtt.from_string(made.chapters()).captions
    assert len(cues) == len(times)
    assert all(c.end_time.in_milliseconds() > c.start_time.in_milliseconds() for c in cues)
