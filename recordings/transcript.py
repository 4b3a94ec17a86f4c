"""The transcript of questions (issue 12): which questions went on air and when, as offsets in
the recording, what was said meanwhile (the captions, aligned by time), a link into the
recording at each, and the WebVTT chapters file.

Pure: the caller reads the record and the caption files and passes them in, with the time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

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
from moderation.filters import mask_contacts
from moderation.model import ItemStatus
from recordings.source import Part, Source

UNDETERMINED = "und"  # BCP 47: a caption file whose name says no language
LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
# A repeated line this close after the last one is YouTube's rolling caption, not a repetition.
ROLLING_GAP_MS = 50
SPACES = re.compile(r"\s+")
YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "www.youtu.be"}
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
# The events that move an approved question, and what each makes of its status (the console's
# words, `ItemStatus`).
Moved = (
    QuestionQueued
    | QuestionOnAir
    | QuestionOffAir
    | QuestionAnswered
    | QuestionDeferred
    | QuestionMerged
)
STATUS_AFTER: dict[type[Moved], ItemStatus] = {
    QuestionQueued: ItemStatus.QUEUED,
    QuestionOnAir: ItemStatus.ON_AIR,
    QuestionOffAir: ItemStatus.QUEUED,  # back to the top of the rundown
    QuestionAnswered: ItemStatus.ANSWERED,
    QuestionDeferred: ItemStatus.DEFERRED,
    QuestionMerged: ItemStatus.MERGED,
}


class UnreadableCaptions(ValueError):
    """A caption file that is not WebVTT; the message says why."""


# Captions


@dataclass(frozen=True, slots=True)
class Line:
    """One line of captions as it was spoken, in ms from the recording's start."""

    start_ms: int
    end_ms: int
    text: str


def language_of(filename: str) -> str:
    """The language a caption file is in: `<anything>.<lang>.vtt` (yt-dlp's names, such as
    `abc.kk.vtt` or `abc.ru-RU.vtt`), else `und`."""
    parts = filename.lower().split(".")
    if len(parts) >= 3 and parts[-1] == "vtt" and LANGUAGE.fullmatch(parts[-2]):
        return parts[-2]
    return UNDETERMINED


def read_captions(text: str) -> tuple[Line, ...]:
    """The lines of a WebVTT file, in order, each once.

    Cue tags and YouTube's inline word times go; entities are read (`&amp;` is `&`). YouTube's
    automatic captions roll: each cue shows the line before again above the line being spoken,
    and a 10 ms cue repeats what was just said; such a repeat, in a cue that follows at once,
    is the same line (its end moves on when it is still the line spoken), never a new one.
    """
    try:
        cues = webvtt.from_string(text).captions
    except (MalformedFileError, MalformedCaptionError) as error:
        raise UnreadableCaptions(str(error) or "not WebVTT") from None
    lines: list[Line] = []
    for cue in cues:
        start, end = cue.start_time.in_milliseconds(), cue.end_time.in_milliseconds()
        said = [s for s in (_clean(raw) for raw in cue.text.split("\n")) if s]
        rolling = bool(lines) and start <= lines[-1].end_ms + ROLLING_GAP_MS
        recent = [line.text for line in lines[-2:]] if rolling else []
        for number, words in enumerate(said):
            if words not in recent:
                lines.append(Line(start, end, words))
            elif words == lines[-1].text and number == len(said) - 1:
                lines[-1] = Line(lines[-1].start_ms, max(end, lines[-1].end_ms), words)
    return tuple(lines)


def _clean(raw: str) -> str:
    return SPACES.sub(" ", html.unescape(raw)).strip()


def spoken(lines: Sequence[Line], start_ms: int, end_ms: int | None) -> list[Line]:
    """The lines overlapping [start_ms, end_ms) (None: to the end); a line straddling an edge
    counts, one that only touches it does not."""
    return [
        line
        for line in lines
        if line.end_ms > start_ms and (end_ms is None or line.start_ms < end_ms)
    ]


# Where the recording is


@dataclass(frozen=True, slots=True)
class Recording:
    """Where a link opens the recording: `archive` (our copy, `/m/{id}/recording`, with a media
    fragment), `youtube` (the watch page with `t=`) or `page` (the meeting's page: no
    recording is known, so no moment either)."""

    kind: str
    url: str

    def at(self, seconds: float, part: int | None = None) -> str:
        """The link opening the recording `seconds` into it (whole seconds, rounded down); into
        our archive's part `part` when it was recorded at the source (issue 16)."""
        whole = int(seconds)
        if self.kind == "archive":
            return f"{self.url}{'' if part is None else f'?part={part}'}#t={whole}"
        if self.kind == "youtube":
            return f"{self.url}&t={whole}s"
        return self.url


def recording_for(meeting_id: str, stream_url: str, *, archived: bool) -> Recording:
    """Our archived copy when there is one, else the YouTube broadcast, else the page."""
    if archived:
        return Recording("archive", f"/m/{meeting_id}/recording")
    if video := youtube_id(stream_url):
        return Recording("youtube", f"https://www.youtube.com/watch?v={video}")
    return Recording("page", f"/m/{meeting_id}")


def youtube_id(url: str) -> str:
    """The video id of a YouTube URL (watch, youtu.be, live, embed, shorts), else ""; the same
    reading as the viewer page's player (`server/web/player.py`)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in YOUTUBE_HOSTS:
        return ""
    if host.endswith("youtu.be"):
        candidate = parts.path.strip("/").split("/")[0]
    elif parts.path == "/watch":
        candidate = parse_qs(parts.query).get("v", [""])[0]
    else:
        segments = [s for s in parts.path.split("/") if s]
        is_embed = len(segments) == 2 and segments[0] in ("live", "embed", "shorts", "v")
        candidate = segments[1] if is_embed else ""
    return candidate if YOUTUBE_ID.fullmatch(candidate) else ""


# The record, folded


@dataclass(slots=True)
class Asked:
    """An approved question as the record tells it so far; `aired` holds its on-air moments
    (ms since the epoch), each closed by the moment it left the air (None while on)."""

    id: str
    text: str
    channel: str
    name: str
    topic: str
    district: str
    status: ItemStatus
    merged_into: str = ""
    aired: list[tuple[int, int | None]] = field(default_factory=list)


class Air:
    """The record folded into its questions' times on air: fed chunk by chunk (`add`)."""

    def __init__(self) -> None:
        self.questions: dict[str, Asked] = {}
        self.started_at: int | None = None
        self.first_at: int | None = None

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            self._add(event)

    def _add(self, event: Event) -> None:
        if self.first_at is None:
            self.first_at = event.at
        if isinstance(event, MeetingStarted) and self.started_at is None:
            self.started_at = event.at
        elif isinstance(event, MeetingEnded):
            for question in self.questions.values():
                _close(question, event.at)
        elif isinstance(event, QuestionApproved):  # with the tags it had by then
            self.questions[event.item] = Asked(
                id=event.item, text=event.text, channel=event.channel.value, name=event.name,
                topic=event.topic, district=event.district, status=ItemStatus.APPROVED,
            )  # fmt: skip
        elif isinstance(event, QuestionTagged) and (tagged := self.questions.get(event.item)):
            tagged.topic, tagged.district = event.topic, event.district
        elif isinstance(event, Moved) and (asked := self.questions.get(event.item)):
            _move(asked, event)

    def starts(self, origin_ms: int | None, rule: str = "release_timestamp") -> tuple[int, str]:
        """The recording's origin and the rule that gave it: the one the caller knows better
        (`release_timestamp`, or `source`: the first part of the recording made at the source,
        exact), else the meeting's start, else its first event."""
        if origin_ms is not None:
            return origin_ms, rule
        if self.started_at is not None:
            return self.started_at, "started_at"
        return self.first_at or 0, "first_event"


def _move(asked: Asked, event: Moved) -> None:
    asked.status = STATUS_AFTER[type(event)]
    if isinstance(event, QuestionOnAir):
        _close(asked, event.at)
        asked.aired.append((event.at, None))
    elif isinstance(event, QuestionMerged):
        asked.merged_into = event.into
    else:
        _close(asked, event.at)


def _close(asked: Asked, at: int) -> None:
    if asked.aired and asked.aired[-1][1] is None:
        asked.aired[-1] = (asked.aired[-1][0], max(at, asked.aired[-1][0]))


# The transcript


@dataclass(frozen=True, slots=True)
class Interval:
    """One time on air: from `on` to `off` seconds into the recording (`off` None while it
    is on air still), the moments themselves (ms since the epoch), and the captions spoken
    meanwhile by language. Recorded at the source (issue 16), `part` is the part that holds
    `on_at` and `on`/`off` count from that part's start (`off` no later than its end); None
    when no part holds it (the studio was away), and then they count from the origin."""

    on: float
    off: float | None
    on_at: int
    off_at: int | None
    captions: dict[str, str]
    part: int | None = None


@dataclass(frozen=True, slots=True)
class Question:
    """A question as the transcript shows it: masked (`mask_contacts`), with its times on air
    (none for one never reached), the captions of all of them, and the link to its first."""

    id: str
    text: str
    channel: str
    name: str
    topic: str
    district: str
    status: str
    merged_into: str = ""
    intervals: tuple[Interval, ...] = ()
    captions: dict[str, str] = field(default_factory=dict)
    link: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id, "text": self.text, "channel": self.channel, "name": self.name,
            "topic": self.topic, "district": self.district, "status": self.status,
            "merged_into": self.merged_into or None,
            "intervals": [
                {"on": i.on, "off": i.off, "on_at": i.on_at, "off_at": i.off_at,
                 "part": i.part, "captions": i.captions}
                for i in self.intervals
            ],
            "captions": self.captions, "link": self.link or None,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Transcript:
    """A meeting's transcript of questions: those that went on air, in the order they first
    did, and the approved ones never reached, in the order they were approved."""

    meeting_id: str
    origin_at: int
    origin: str
    recording: Recording
    languages: tuple[str, ...]
    aired: tuple[Question, ...]
    not_reached: tuple[Question, ...]
    until_at: int = 0  # the time it was made: where an interval still open ends in chapters
    parts: tuple[Part, ...] = ()  # the source recording's (issue 16), else none

    def as_json(self) -> dict[str, object]:
        """The JSON of `GET /api/meetings/{id}/transcript` (README, "The transcript")."""
        return {
            "meeting_id": self.meeting_id,
            "origin_at": self.origin_at,
            "origin": self.origin,
            "recording": {"kind": self.recording.kind, "url": self.recording.url},
            "parts": [self._part_json(part) for part in self.parts],
            "languages": list(self.languages),
            "aired": [q.as_json() for q in self.aired],
            "not_reached": [q.as_json() for q in self.not_reached],
            "chapters": f"/m/{self.meeting_id}/transcript.vtt",
        }

    def _part_json(self, part: Part) -> dict[str, object]:
        return {
            "part": part.part, "started_at": part.started_at, "ended_at": part.ended_at,
            "duration_ms": part.duration_ms, "url": f"{self.recording.url}?part={part.part}",
        }  # fmt: skip

    def chapters(self) -> str:
        """The WebVTT chapters: a cue per time on air, "question (channel, name)"."""
        cues = _cues(self.aired, self.origin_at, self.until_at)
        captions = [
            webvtt.Caption(_stamp(on), _stamp(max(off, on + 0.001)), _cue_text(question))
            for on, off, question in cues
        ]
        return webvtt.WebVTT(captions=captions).content


def _cues(
    aired: Sequence[Question], origin: int, until: int
) -> list[tuple[float, float, Question]]:
    """Each time on air from the origin (across the parts of a source recording: the chapters
    are one timeline, the wall clock's since its first part began)."""
    found = [
        (_seconds(i.on_at - origin), _seconds((until if i.off_at is None else i.off_at) - origin),
         question)
        for question in aired
        for i in question.intervals
    ]  # fmt: skip
    return sorted(found, key=lambda cue: (cue[0], cue[1]))


def _cue_text(question: Question) -> str:
    about = ", ".join(part for part in (question.channel, question.name) if part)
    text = SPACES.sub(" ", f"{question.text} ({about})").strip()
    return html.escape(text, quote=False)


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _seconds(ms: int) -> float:
    return max(0, ms) / 1000


def transcript(
    air: Air,
    captions: Mapping[str, Sequence[Line]],
    *,
    meeting_id: str,
    recording: Recording,
    now_ms: int,
    origin_ms: int | None = None,
    source: Source | None = None,
) -> Transcript:
    """The transcript of the folded record, with `captions` (lines by language) aligned to
    the recording, whose start is `origin_ms` when the caller knows it (see `Air.starts`), or
    the first part's start when it was recorded at the source (`source`, issue 16)."""
    parts = source.parts if source is not None else ()
    origin, rule = air.starts(parts[0].started_at, "source") if parts else air.starts(origin_ms)
    aired, waiting = [], []
    for asked in air.questions.values():
        if asked.aired:
            aired.append(_aired(asked, captions, origin, recording, source if parts else None))
        else:
            waiting.append(_question(asked))
    aired.sort(key=lambda q: q.intervals[0].on_at)
    return Transcript(
        meeting_id=meeting_id, origin_at=origin, origin=rule, recording=recording,
        languages=tuple(sorted(captions)), aired=tuple(aired), not_reached=tuple(waiting),
        until_at=now_ms, parts=parts,
    )  # fmt: skip


def _question(
    asked: Asked,
    intervals: tuple[Interval, ...] = (),
    captions: dict[str, str] | None = None,
    link: str = "",
) -> Question:
    return Question(
        id=asked.id, text=mask_contacts(asked.text), channel=asked.channel,
        name=mask_contacts(asked.name), topic=asked.topic, district=asked.district,
        status=asked.status.value, merged_into=asked.merged_into, intervals=intervals,
        captions=captions or {}, link=link,
    )  # fmt: skip


def _aired(
    asked: Asked,
    captions: Mapping[str, Sequence[Line]],
    origin: int,
    recording: Recording,
    source: Source | None,
) -> Question:
    intervals = []
    heard: dict[str, list[Line]] = {lang: [] for lang in captions}
    for on_at, off_at in asked.aired:
        start = max(0, on_at - origin)
        end = None if off_at is None else max(0, off_at - origin)
        said = {lang: spoken(lines, start, end) for lang, lines in captions.items()}
        for lang, lines in said.items():
            heard[lang] += [line for line in lines if line not in heard[lang]]
        part = source.part_at(on_at) if source is not None else None
        on, off = _in_part(part, on_at, off_at) if part else (start, end)
        intervals.append(
            Interval(
                on=_seconds(on),
                off=None if off is None else _seconds(off),
                on_at=on_at,
                off_at=off_at,
                captions=_texts(said),
                part=part.part if part else None,
            )
        )
    return _question(
        asked, intervals=tuple(intervals), captions=_texts(heard),
        link=_link(recording, source, intervals[0]),
    )  # fmt: skip


def _in_part(part: Part, on_at: int, off_at: int | None) -> tuple[int, int | None]:
    """Offsets (ms) in the part holding `on_at`: exact, since the part's `started_at` is its
    first media tag on the events' clock; a time on air past the part's end ends with it."""
    off = None if off_at is None else min(off_at, part.ended_at) - part.started_at
    return on_at - part.started_at, off


def _link(recording: Recording, source: Source | None, first: Interval) -> str:
    """Into the part holding the first time on air; one that fell between parts (the studio
    was away) opens the part that followed at its start, or the last part at its end."""
    if source is None:
        return recording.at(first.on)
    if first.part is not None:
        return recording.at(first.on, first.part)
    after = next((p for p in source.parts if p.started_at > first.on_at), None)
    if after is not None:
        return recording.at(0, after.part)
    last = source.parts[-1]
    return recording.at(_seconds(last.ended_at - last.started_at), last.part)


def _texts(lines: Mapping[str, Sequence[Line]]) -> dict[str, str]:
    return {lang: " ".join(line.text for line in found) for lang, found in lines.items()}
