"""The transcript of questions on a real server and Redis (issue 12, acceptance): a meeting
scripted at set times through the real use cases and the rundown's HTTP API, a captions file in
its archive folder; each answered question holds exactly the captions of its time on air and a
link with the right offset, the chapters parse with webvtt-py, and the page lists the same."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import webvtt

from moderation import Meeting, Moderate
from moderation.commands import AskQuestion, Submission
from recordings.archive import folder_of
from server.usecases import Asked, act, create_meeting, now_ms, submit
from server.usecases.transcript import transcript_of
from tests.conftest import meeting_command
from tests.helpers import LiveServer

pytestmark = pytest.mark.anyio

ADMIN = {"Authorization": "Bearer test-admin-token"}
VIDEO = "dQw4w9WgXcQ"
QUESTIONS = [
    "Когда отремонтируют дорогу на улице Толе би?",
    "Қашан ыстық су береді? Менің нөмірім +7 701 234 56 78",
    "Будет ли новая школа в микрорайоне?",
    "Почему не убирают снег во дворах?",
]
# The captions, in seconds from the meeting's start (the recording's origin): what is said while
# each question is on air, what is said between, and lines straddling the edges.
RU = """WEBVTT

00:00:50.000 --> 00:00:58.000
Переходим к вопросам жителей.

00:00:59.000 --> 00:01:02.000
Первый вопрос про дорогу.

00:01:10.000 --> 00:01:30.000
Дорогу на Толе би отремонтируем до конца августа.

00:01:34.000 --> 00:01:36.000
Следующий вопрос.

00:01:36.000 --> 00:01:40.000
Пауза без вопроса.

00:01:44.000 --> 00:01:45.000
Начинаем ответ про воду.

00:01:55.000 --> 00:02:00.000
Это между эфирами.

00:02:35.000 --> 00:02:45.000
Ответ про воду: ремонт труб.

00:03:20.000 --> 00:03:40.000
Школу построим в следующем году.

00:03:49.000 --> 00:03:52.000
Спасибо за вопросы.
"""
KK = """WEBVTT

00:01:15.000 --> 00:01:20.000
Жол <b>тамыз</b> айының соңына дейін жөнделеді &amp; тексеріледі.

00:03:25.000 --> 00:03:30.000
Мектеп келесі жылы салынады.
"""
# The script: (seconds after the start, what happens).
ON_AIR = {0: (60, 95), 2: (200, 230)}  # answered: on and off air
BACK_ON = (100, 110, 150, 170)  # question 1: on, cleared, on again, deferred
EXPECTED_RU = {
    0: "Первый вопрос про дорогу. Дорогу на Толе би отремонтируем до конца августа. "
    "Следующий вопрос.",
    2: "Школу построим в следующем году. Спасибо за вопросы.",  # the last straddles the end
}
EXPECTED_KK = {
    0: "Жол тамыз айының соңына дейін жөнделеді & тексеріледі.",
    2: "Мектеп келесі жылы салынады.",
}


class MsClock:
    """`UseCases.clock` (ms since the epoch) that moves only when the test says so."""

    def __init__(self) -> None:
        self.start = self.now = now_ms()

    def __call__(self) -> int:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = self.start + round(seconds * 1000)


@pytest.fixture
def clock(server: LiveServer) -> MsClock:
    fake = MsClock()
    server.services.usecases.clock = fake
    return fake


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def scheduled(server: LiveServer, stream_url: str) -> Meeting:
    cases = server.services.usecases
    return await create_meeting(cases, meeting_command(stream_url=stream_url))


async def approve_all(server: LiveServer, meeting: Meeting) -> list[str]:
    """The questions asked on the web and approved, by the real use cases."""
    cases, ids = server.services.usecases, []
    for n, text in enumerate(QUESTIONS):
        command = AskQuestion(client_msg_id=f"t{n}", name=f"Тұрғын {n}", text=text)
        outcome = await submit(cases, meeting, Submission(what=command, sender=f"v{n}"))
        assert isinstance(outcome, Asked), outcome
        await act(cases, meeting, Moderate(action="approve", item=outcome.id, version=1), by="m")
        ids.append(outcome.id)
    return ids


async def studio(http: httpx.AsyncClient, meeting_id: str, verb: str, body: object = None) -> None:
    answer = await http.post(
        f"/api/meetings/{meeting_id}/{verb}",
        content=b"" if body is None else json.dumps(body).encode(),
        headers=ADMIN,
    )
    assert answer.status_code == 200, answer.text


async def scripted_meeting(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock, stream_url: str
) -> tuple[Meeting, list[str]]:
    """Started at 0 s; the rundown's API puts questions on and off air at the script's times."""
    meeting = await scheduled(server, stream_url)
    clock.at(0)
    await studio(http, meeting.id, "start")
    ids = await approve_all(server, meeting)
    steps = [
        (ON_AIR[0][0], "rundown/take", {"question": ids[0]}),
        (ON_AIR[0][1], "rundown/answered", None),
        (BACK_ON[0], "rundown/take", {"question": ids[1]}),
        (BACK_ON[1], "rundown/clear", None),  # off air unanswered: back on top of the rundown
        (BACK_ON[2], "rundown/take", {"question": ids[1]}),
        (BACK_ON[3], "rundown/deferred", None),
        (ON_AIR[2][0], "rundown/take", {"question": ids[2]}),
        (ON_AIR[2][1], "rundown/answered", None),
        (300, "end", None),
    ]
    for seconds, verb, body in steps:
        clock.at(seconds)
        await studio(http, meeting.id, verb, body)
    return meeting, ids


def archive(server: LiveServer, meeting_id: str) -> Path:
    folder = folder_of(server.services.settings.data_dir, meeting_id)
    folder.mkdir(parents=True)
    return folder


async def test_each_answered_question_holds_the_captions_of_its_time_on_air_and_a_link(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock
) -> None:
    meeting, ids = await scripted_meeting(server, http, clock, f"https://youtu.be/{VIDEO}")
    folder = archive(server, meeting.id)
    (folder / f"{VIDEO}.ru.vtt").write_text(RU, encoding="utf-8")
    (folder / f"{VIDEO}.kk.vtt").write_text(KK, encoding="utf-8")
    (folder / f"{VIDEO}.mp4.part").write_bytes(b"a download cut short is not a recording")
    (folder / "a.info.json").write_text("not JSON", encoding="utf-8")  # left out
    (folder / "b.info.json").write_text('{"id": "x"}', encoding="utf-8")  # says no start

    answer = await http.get(f"/api/meetings/{meeting.id}/transcript")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert (body["origin"], body["origin_at"], body["languages"]) == (
        "started_at", clock.start, ["kk", "ru"]
    )  # fmt: skip
    assert body["recording"] == {
        "kind": "youtube",
        "url": f"https://www.youtube.com/watch?v={VIDEO}",
    }
    aired = {q["id"]: q for q in body["aired"]}
    assert list(aired) == ids[:3]  # in the order they first went on air
    for n in (0, 2):
        question = aired[ids[n]]
        on, off = ON_AIR[n]
        assert question["status"] == "answered"
        assert [(i["on"], i["off"]) for i in question["intervals"]] == [(on, off)]
        assert question["intervals"][0]["on_at"] == clock.start + on * 1000
        assert question["captions"] == {"ru": EXPECTED_RU[n], "kk": EXPECTED_KK[n]}
        assert question["intervals"][0]["captions"] == question["captions"]
        assert question["link"] == f"https://www.youtube.com/watch?v={VIDEO}&t={on}s"
        assert (question["text"], question["channel"]) == (QUESTIONS[n], "web")
        assert question["name"] == f"Тұрғын {n}"
    twice = aired[ids[1]]
    assert twice["status"] == "deferred"
    assert [(i["on"], i["off"]) for i in twice["intervals"]] == [(100, 110), (150, 170)]
    assert [i["captions"]["ru"] for i in twice["intervals"]] == [
        "Начинаем ответ про воду.",
        "Ответ про воду: ремонт труб.",
    ]  # fmt: skip
    # (the pause ends as it goes on air: touching is not overlapping)
    assert "234 56 78" not in twice["text"]  # contacts masked, as everywhere public (PRIV-1)
    assert [(q["id"], q["status"]) for q in body["not_reached"]] == [(ids[3], "approved")]

    chapters = await http.get(f"/m/{meeting.id}/transcript.vtt")
    assert chapters.headers["content-type"] == "text/vtt; charset=utf-8"
    cues = webvtt.from_string(chapters.text).captions
    assert [(c.start, c.end) for c in cues] == [
        ("00:01:00.000", "00:01:35.000"), ("00:01:40.000", "00:01:50.000"),
        ("00:02:30.000", "00:02:50.000"), ("00:03:20.000", "00:03:50.000"),
    ]  # fmt: skip
    assert cues[0].text == f"{QUESTIONS[0]} (web, Тұрғын 0)"

    page = await http.get(f"/m/{meeting.id}/transcript?lang=ru")
    assert page.status_code == 200
    listed = page.text.split('id="transcript-waiting"')
    for n in (0, 1, 2):
        question = aired[ids[n]]
        block = listed[0].split(f'data-question="{ids[n]}"', 1)[1].split("</li>\n    \n", 1)[0]
        assert html.escape(question["text"], quote=False) in block
        assert html.escape(question["link"]) in block
        for text in question["captions"].values():
            assert html.escape(text, quote=False) in block
    assert f'data-question="{ids[3]}"' in listed[1]
    assert f"https://www.youtube-nocookie.com/embed/{VIDEO}" in page.text
    assert "Стенограмма вопросов" in page.text
    assert (await http.get(f"/m/{meeting.id}/recording")).status_code == 404  # no whole file


async def test_an_archived_recording_is_served_with_ranges_and_the_links_open_it(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock
) -> None:
    meeting, _ = await scripted_meeting(server, http, clock, f"https://youtu.be/{VIDEO}")
    folder = archive(server, meeting.id)
    media = bytes(range(256)) * 40
    (folder / f"{VIDEO}.mp4").write_bytes(media)
    (folder / f"{VIDEO}.ru.vtt").write_text(RU, encoding="utf-8")
    (folder / "broken.kk.vtt").write_text("not captions at all", encoding="utf-8")
    later = clock.start + 30_000  # the live stream began 30 s after the meeting started
    info = {"id": VIDEO, "release_timestamp": later / 1000}
    (folder / f"{VIDEO}.info.json").write_text(json.dumps(info), encoding="utf-8")

    body = (await http.get(f"/api/meetings/{meeting.id}/transcript")).json()
    assert body["recording"] == {"kind": "archive", "url": f"/m/{meeting.id}/recording"}
    assert (body["origin"], body["origin_at"], body["languages"]) == (
        "release_timestamp",
        later,
        ["ru"],
    )  # fmt: skip
    # (broken.kk.vtt is not WebVTT: left out)
    first = body["aired"][0]
    assert [(i["on"], i["off"]) for i in first["intervals"]] == [(30, 65)]
    assert first["link"] == f"/m/{meeting.id}/recording#t=30"

    whole = await http.get(f"/m/{meeting.id}/recording")
    assert (whole.status_code, whole.content) == (200, media)
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = await http.get(f"/m/{meeting.id}/recording", headers={"Range": "bytes=1000-1099"})
    assert (part.status_code, part.content) == (206, media[1000:1100])
    assert part.headers["content-range"] == f"bytes 1000-1099/{len(media)}"

    page = (await http.get(f"/m/{meeting.id}/transcript")).text
    assert (
        f'<video controls playsinline preload="metadata" src="/m/{meeting.id}/recording">' in page
    )
    assert f'href="/m/{meeting.id}/recording#t=30"' in page


async def test_a_meeting_with_no_captions_and_no_recording_still_has_its_transcript(
    server: LiveServer, http: httpx.AsyncClient, clock: MsClock
) -> None:
    meeting, ids = await scripted_meeting(server, http, clock, "https://example.kz/live.m3u8")
    body = (await http.get(f"/api/meetings/{meeting.id}/transcript")).json()
    assert (body["languages"], body["recording"]["kind"]) == ([], "page")
    assert [q["id"] for q in body["aired"]] == ids[:3]
    assert all(q["captions"] == {} and q["link"] == f"/m/{meeting.id}" for q in body["aired"])
    cues = webvtt.from_string((await http.get(f"/m/{meeting.id}/transcript.vtt")).text).captions
    assert len(cues) == 4
    page = (await http.get(f"/m/{meeting.id}/transcript?lang=en")).text
    assert "No recording is available yet." in page
    assert page.count("No captions for this moment.") == 3
    direct = await transcript_of(server.services, meeting.id)  # as the results page calls it
    assert direct is not None
    assert direct.as_json() == body


async def test_a_meeting_with_no_question_on_air_says_so(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await scheduled(server, "")
    body = (await http.get(f"/api/meetings/{meeting.id}/transcript")).json()
    assert (body["aired"], body["not_reached"]) == ([], [])
    assert (
        webvtt.from_string((await http.get(f"/m/{meeting.id}/transcript.vtt")).text).captions == []
    )
    page = (await http.get(f"/m/{meeting.id}/transcript?lang=en")).text
    assert "No question went on air." in page
    assert "Every approved question went on air." in page


@pytest.mark.parametrize(
    "path",
    [
        "/api/meetings/{id}/transcript",
        "/m/{id}/transcript",
        "/m/{id}/transcript.vtt",
        "/m/{id}/recording",
    ],
)
@pytest.mark.parametrize("meeting_id", ["nosuchmeeting", "bad%20id"])
async def test_an_unknown_meeting_is_404(
    server: LiveServer, http: httpx.AsyncClient, path: str, meeting_id: str
) -> None:
    answer = await http.get(path.format(id=meeting_id))
    assert answer.status_code == 404
    if path.startswith("/api/"):
        assert answer.json() == {"error": "not_found"}
