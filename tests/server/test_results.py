"""The public results page `/m/{id}/results` (issue 12.6) against meetings scripted through the
real use cases and served by a real server: its numbers are the fold's (`moderation.results`),
its charts are SVG a reader without JavaScript can read, and the finished demo meeting (with
its captions, R6's record of what was said) is made once however often the demo starts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
import webvtt

from moderation import (
    AskQuestion,
    EndMeeting,
    Meeting,
    MeetingStatus,
    Moderate,
    StartMeeting,
    Submission,
)
from moderation.events import Event, Phase
from moderation.model import Action
from moderation.results import Results, results
from server.cli.demo import (
    AIR_MINUTES,
    PRESENTATION_MINUTES,
    RESULTS_ID,
    ensure_results_demo,
    on_air_intervals,
)
from server.usecases import Asked, UseCases, act, change_meeting, create_meeting, submit
from server.usecases.clock import change_phase
from server.web.charts import LABEL_CHARS, Bar, Budget, bar_chart, time_chart
from server.web.i18n import translator
from server.web.meeting import duration
from tests.conftest import meeting_command
from tests.helpers import LiveServer

pytestmark = pytest.mark.anyio
SVG = "{http://www.w3.org/2000/svg}"
COUNT = re.compile(r'data-count="([^"]+)">([^<]*)<')


async def record_of(cases: UseCases, meeting_id: str) -> list[tuple[str, Event]]:
    entries: list[tuple[str, Event]] = []
    async for chunk in cases.store.record.replay(meeting_id, "0-0"):
        entries.extend(chunk)
    return entries


async def fold(server: LiveServer, meeting_id: str) -> Results:
    cases = server.services.usecases
    return results(meeting_id, await record_of(cases, meeting_id), cases.clock())


async def page(server: LiveServer, meeting_id: str, lang: str = "en") -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return await client.get(f"/m/{meeting_id}/results", params={"lang": lang})


def counts(html: str) -> dict[str, str]:
    return dict(COUNT.findall(html))


def expected_counts(report: Results) -> dict[str, str]:
    """Every number the page prints, as the fold gives it."""
    time = report.time
    shown = {
        f"time.{name}": duration(getattr(time, f"{name}_ms"))
        for name in ("planned", "budget", "actual", "presentation", "overrun", "qa", "break")
    }
    shown |= {"time.other": duration(time.other_ms), "questions": str(report.questions)}
    shown["merged"] = str(report.merged)
    for split in ("outcomes", "topics", "districts", "channels"):
        shown |= {f"{split}.{key}": str(n) for key, n in getattr(report, split).items()}
    moderation = report.moderation
    for key in ("received", "shown", "held", "hidden"):
        shown[f"moderation.comments.{key}"] = str(moderation["comments"][key])
    for key in ("received", "approved", "rejected", "merged", "answered", "deferred"):
        shown[f"moderation.questions.{key}"] = str(moderation["questions"][key])
    return shown


def charts(html: str) -> dict[str, ET.Element]:
    """Each chart of the page, parsed as XML: an SVG must be well-formed to be drawn at all."""
    found = {}
    for source in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
        svg = ET.fromstring(source)
        found[svg.attrib["id"]] = svg
    return found


def texts(svg: ET.Element) -> str:
    return " ".join("".join(node.itertext()) for node in svg.iter(f"{SVG}text"))


async def test_r4_r6_the_finished_demo_meeting_shows_the_fold_as_charts_and_numbers(
    server: LiveServer, tmp_path: Path
) -> None:
    await ensure_results_demo(server.services.usecases, tmp_path)
    report = await fold(server, RESULTS_ID)
    response = await page(server, RESULTS_ID)
    assert response.status_code == 200
    html = response.text
    assert counts(html) == expected_counts(report)  # the page's numbers are the fold's
    assert 'data-final="true"' in html
    assert 'id="so-far"' not in html
    # The demo's script: 10 groups approved, 2 merged into them, one rejected; 6 answered, 1
    # deferred, 3 never reached; a presentation 1:30 over its 22:30 budget (R4).
    assert (report.questions, report.merged) == (10, 2)
    assert report.outcomes == {"answered": 6, "deferred": 1, "not_reached": 3}
    assert report.time.budget_ms == 22 * 60_000 + 30_000
    assert report.time.overrun_ms == (PRESENTATION_MINUTES * 60_000) - report.time.budget_ms
    assert set(report.channels) == {"web", "phone", "whatsapp", "telegram", "youtube", "email"}
    assert report.moderation["comments"]["hidden_by_reason"] == {
        "abuse": 1, "off_topic": 1, "spam": 1
    }  # fmt: skip
    # R6: the deadlines as `GET /api/meetings/{id}/deadlines` gives them, and the way to the
    # whole moderation report.
    async with httpx.AsyncClient(base_url=server.url) as client:
        due = (await client.get(f"/api/meetings/{RESULTS_ID}/deadlines")).json()
    assert f'<time datetime="{due["publication_due"]}">' in html
    assert all(f'<time datetime="{day}">' in html for day in due["progress_due"])
    assert f'href="/m/{RESULTS_ID}/transparency"' in html
    for place in ("transcript", "issues", "promises"):
        assert f"lead: {place}" not in html  # the lead's places are comments, not output


async def test_each_chart_is_svg_with_its_title_and_its_labels_in_words(
    server: LiveServer, tmp_path: Path
) -> None:
    await ensure_results_demo(server.services.usecases, tmp_path)
    report = await fold(server, RESULTS_ID)
    html = (await page(server, RESULTS_ID, "ru")).text
    t = translator("ru")
    drawn = charts(html)
    assert set(drawn) == {
        "chart-time", "chart-outcomes", "chart-topics", "chart-districts", "chart-channels"
    }  # fmt: skip
    for svg in drawn.values():
        assert svg.attrib["role"] == "img"
        title = svg.find(f"{SVG}title")
        assert title is not None
        assert title.text
        assert svg.attrib["aria-label"].startswith(title.text)
        assert svg.attrib["viewBox"].startswith("0 0 360 ")  # a phone's width, scaled
        assert "style" not in svg.attrib  # the CSP allows no inline style
    # Every bar has its label and its number as text, not only a colour and a length.
    topics = texts(drawn["chart-topics"])
    for key, n in report.topics.items():
        assert t(f"topic_{key or 'none'}") in topics
        assert str(n) in topics
    channels = texts(drawn["chart-channels"])
    assert all(t(f"channel_{key}") in channels for key in report.channels)
    districts = texts(drawn["chart-districts"])
    assert all(key in districts for key in report.districts)
    outcomes = texts(drawn["chart-outcomes"])
    assert all(t(f"outcome_{key}") in outcomes for key in report.outcomes)
    # R4: the budget line, and the overrun as a part of its own.
    time = drawn["chart-time"]
    assert t("results_budget", time=duration(report.time.budget_ms)) in texts(time)
    assert t("results_part_overrun") in texts(time)
    assert time.find(f".//{SVG}line") is not None


async def test_the_demo_meeting_is_made_once_and_its_captions_fall_on_the_air(
    server: LiveServer, tmp_path: Path
) -> None:
    """A second `make demo` start adds nothing; the captions (Kazakh and Russian) parse with
    webvtt-py and each answer's cues lie inside its question's on-air interval."""
    cases = server.services.usecases
    first = await ensure_results_demo(cases, tmp_path)
    length = len(await record_of(cases, RESULTS_ID))
    again = await ensure_results_demo(cases, tmp_path)
    assert again == first
    assert len(await record_of(cases, RESULTS_ID)) == length
    intervals = await on_air_intervals(cases, RESULTS_ID)
    assert len(intervals) == 7
    assert all(end - begin == AIR_MINUTES * 60_000 for begin, end in intervals)
    for lang in ("kk", "ru"):
        path = tmp_path / "recordings" / RESULTS_ID / f"{RESULTS_ID}.{lang}.vtt"
        cues = webvtt.read(str(path)).captions
        assert len(cues) == 2 * len(intervals)
        for n, cue in enumerate(cues):
            begin, end = intervals[n // 2]
            assert begin <= cue.start_in_seconds * 1000 < cue.end_in_seconds * 1000 <= end
            assert cue.text.strip()


async def test_a_meeting_not_ended_shows_its_report_so_far_and_links_come_at_the_end(
    server: LiveServer, live_meeting: Meeting
) -> None:
    cases = server.services.usecases
    await change_phase(cases, live_meeting.id, Phase.PRESENTATION, by="producer")
    ask = AskQuestion(client_msg_id="q1", name="Аян", text="Когда починят дорогу на Абая?")
    asked = await submit(cases, live_meeting, Submission(what=ask, sender="v1"))
    assert isinstance(asked, Asked)
    command = Moderate(action=Action.APPROVE, item=asked.id, version=1)
    await act(cases, live_meeting, command, by="moderator")
    html = (await page(server, live_meeting.id)).text
    assert 'data-final="false"' in html
    assert 'id="so-far"' in html
    assert counts(html) == expected_counts(await fold(server, live_meeting.id))
    assert counts(html)["outcomes.not_reached"] == "1"
    async with httpx.AsyncClient(base_url=server.url) as client:
        viewer = (await client.get(f"/m/{live_meeting.id}")).text
        assert f'href="/m/{live_meeting.id}/results"' not in viewer
        await change_meeting(cases, live_meeting.id, EndMeeting())
        viewer = (await client.get(f"/m/{live_meeting.id}")).text
        assert f'href="/m/{live_meeting.id}/results"' in viewer
    html = (await page(server, live_meeting.id)).text
    assert 'data-final="true"' in html
    assert 'id="so-far"' not in html


@pytest.mark.parametrize(
    ("lang", "heading"),
    [("kk", "Кездесудің қорытындысы"), ("ru", "Итоги встречи"), ("en", "Meeting results")],
    ids=["kk", "ru", "en"],
)
async def test_the_page_speaks_kazakh_russian_and_english(
    server: LiveServer, live_meeting: Meeting, lang: str, heading: str
) -> None:
    response = await page(server, live_meeting.id, lang)
    assert f"<h1>{heading}</h1>" in response.text
    assert f'<html lang="{lang}">' in response.text
    assert translator(lang)("results_none") in response.text  # no approved questions yet


@pytest.mark.parametrize("meeting_id", ["no-such-meeting", "NOT_AN_ID", "x"])
async def test_an_unknown_meeting_is_404(server: LiveServer, meeting_id: str) -> None:
    response = await page(server, meeting_id)
    assert response.status_code == 404
    assert "<svg" not in response.text


async def test_an_interrupted_demo_script_is_ended_where_it_stopped(
    server: LiveServer, tmp_path: Path
) -> None:
    """A demo stopped in the middle of its script (the meeting live) is ended at the next
    start, not scripted again over what it had."""
    cases = server.services.usecases
    await create_meeting(cases, meeting_command(), meeting_id=RESULTS_ID)
    await change_meeting(cases, RESULTS_ID, StartMeeting())
    length = len(await record_of(cases, RESULTS_ID))
    meeting = await ensure_results_demo(cases, tmp_path)
    assert meeting.status is MeetingStatus.ENDED
    assert len(await record_of(cases, RESULTS_ID)) == length + 1  # its `meeting.ended`
    assert (tmp_path / "recordings" / RESULTS_ID / f"{RESULTS_ID}.ru.vtt").exists()


def test_charts_escape_their_words_cut_long_labels_and_place_the_budget_line() -> None:
    """Labels are text (escaped, never markup); a label too long for a phone is cut with an
    ellipsis but whole in its title; a budget line past the middle is labelled to its left."""
    long = "Жилищно-коммунальное хозяйство и благоустройство дворов <b>"
    chart = bar_chart("c", "T <i>", [Bar("k", long, 3, "3"), Bar("z", "zero", 0, "0")], empty="-")
    svg = ET.fromstring(str(chart))
    assert "<b>" not in str(chart)
    assert svg.find(f"{SVG}title").text == "T <i>"  # type: ignore[union-attr]
    label = svg.find(f".//{SVG}text")
    assert label is not None
    assert label.text == long[: LABEL_CHARS - 1] + "…"
    assert any(long in (title.text or "") for title in svg.iter(f"{SVG}title"))
    parts = [Bar("presentation", "P", 40, "40"), Bar("mystery", "M", 10, "10")]
    timed = ET.fromstring(str(time_chart("t", "Time", parts, Budget(30, "B"), scale=0)))
    budget = timed.find(f".//{SVG}g[@class='chart-budget']/{SVG}text")
    assert budget is not None
    assert budget.attrib["text-anchor"] == "end"
    empty = ET.fromstring(str(bar_chart("e", "Empty", [], empty="nothing")))
    assert "nothing" in texts(empty)


async def test_the_finished_demo_leaves_issues_and_promises_on_record_linked_to_its_transcript(
    server: LiveServer,
) -> None:
    """R6 and issue 12: the demo meeting's problem issues (executors, deadlines) and the
    promises made on air are on its results page, made once; an issue's question links to its
    moment in the transcript and to the recording there."""
    cases = server.services.usecases
    data = server.services.settings.data_dir
    await ensure_results_demo(cases, data)
    await ensure_results_demo(cases, data)  # a second start adds nothing
    async with httpx.AsyncClient(base_url=server.url) as http:
        issues = (await http.get("/api/issues", params={"meeting": RESULTS_ID})).json()["issues"]
        transcript = (await http.get(f"/api/meetings/{RESULTS_ID}/transcript")).json()
        tracker = (await http.get("/api/offices/almaty/promises")).json()
        results_page = (await http.get(f"/m/{RESULTS_ID}/results?lang=en")).text
        roads = next(i for i in issues if len(i["questions"]) == 2)  # a question and its repeat
        issue_page = (await http.get(f"/issues/{roads['id']}?lang=en")).text
    assert len(issues) == 5
    assert all(i["executor"]["organisation"] and i["deadline"] for i in issues)
    promises = [p for p in tracker["promises"] if p["meeting"] == RESULTS_ID]
    assert len(promises) == 4
    assert {p["status"] for p in promises} == {"pending", "in_progress", "kept"}
    for issue in issues:
        assert f'data-issue="{issue["id"]}"' in results_page
    for promise in promises:
        assert f'data-promise="{promise["id"]}"' in results_page
    aired = {q["id"]: q for q in transcript["aired"]}
    leader, repeat = roads["questions"]
    assert leader in aired
    assert repeat not in aired  # merged into the leader before it went on air
    moment = int(aired[leader]["intervals"][0]["on"])
    assert f'href="/m/{RESULTS_ID}/transcript#q-{leader}" data-moment="{moment}"' in issue_page
    assert f'href="{aired[leader]["link"]}" data-recording' in issue_page
    # The demo's stand-in recording is served from that moment on (HTTP Range).
    assert aired[leader]["link"] == f"/m/{RESULTS_ID}/recording#t={moment}"
    async with httpx.AsyncClient(base_url=server.url) as http:
        part = await http.get(f"/m/{RESULTS_ID}/recording", headers={"Range": "bytes=0-7"})
    assert part.status_code == 206
    assert part.content[4:8] == b"ftyp"  # an MP4
