"""`GET /m/{meeting_id}/results`: the public results page of a meeting (issue 12.6, R4, R6).

The report (`moderation.results`) is folded from the meeting's whole record at each request and
shown twice, as SVG charts (`server/web/charts.py`) and as tables of the same numbers, with the
R6 deadlines of `GET /api/meetings/{id}/deadlines`. A meeting not ended yet gets its report so
far, saying so.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from moderation import Meeting
from moderation.deadlines import meeting_day
from moderation.events import Event
from moderation.results import NONE, OUTCOMES, Results, results
from server.services import Services
from server.usecases.pool import meeting_deadlines
from server.usecases.transcript import transcript_of
from server.web.charts import Bar, Budget, bar_chart, time_chart
from server.web.i18n import translator
from server.web.meeting import duration
from server.web.offices import meeting_promises
from server.web.pool import issues_of
from server.web.templating import meeting_or_404, page_context, render

Translate = Callable[..., str]


async def meeting_results(services: Services, meeting_id: str) -> Results:
    """The report of the meeting's record as it is now (read a chunk at a time)."""
    entries: list[tuple[str, Event]] = []
    async for chunk in services.store.record.replay(meeting_id, "0-0"):
        entries.extend(chunk)
    return results(meeting_id, entries, services.usecases.clock())


async def results_page(request: Request) -> Response:
    """`GET /m/{meeting_id}/results` (public): the report as charts and numbers, the R6
    deadlines, and room for the transcript, the issue pool and the promises."""
    found = await meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    services: Services = request.app.state.services
    report = await meeting_results(services, found.id)
    context = page_context(request)
    t = translator(str(context["lang"]))
    context |= {
        "meeting": found,
        "title": found.title_in(str(context["lang"])),
        "day": meeting_day(found),
        "report": report,
        "charts": charts(report, t),
        "labels": labels(report, t),
        # R6: as `GET /api/meetings/{id}/deadlines` gives them (met ones not overdue).
        "deadlines": await meeting_deadlines(services.usecases, found),
        "duration": duration,
        "outcomes": OUTCOMES,
        # Issue 12: what the meeting left on record, as its own pages show each.
        "transcript": await transcript_of(services, found.id),
        "issues": await issues_of(services.usecases, found.id),
        "promises": await meeting_promises(services.usecases, found.id),
        "titles": {found.id: found.title_in(str(context["lang"]))},
    }
    return render(request, "results.html", context)


def labels(report: Results, t: Translate) -> dict[str, dict[str, str]]:
    """Each split's keys as the page names them: topics and channels translated, districts as
    the territory names them, questions with none set as such."""
    return {
        "topics": {key: t(f"topic_{key or 'none'}") for key in report.topics},
        "districts": {key: key if key != NONE else t("district_none") for key in report.districts},
        "channels": {key: t(f"channel_{key}") for key in report.channels},
        "outcomes": {key: t(f"outcome_{key}") for key in OUTCOMES},
    }


def charts(report: Results, t: Translate) -> dict[str, Markup]:
    """The report's charts, in the page's language."""
    named = labels(report, t)
    empty = t("results_none")

    def bars(split: str, counts: dict[str, int]) -> list[Bar]:
        return [Bar(key, named[split][key], n, str(n)) for key, n in counts.items()]

    return {
        "time": _time(report, t),
        "topics": bar_chart(
            "chart-topics", t("results_topics"), bars("topics", report.topics), empty=empty
        ),
        "districts": bar_chart(
            "chart-districts",
            t("results_districts"),
            bars("districts", report.districts),
            empty=empty,
        ),
        "channels": bar_chart(
            "chart-channels", t("results_channels"), bars("channels", report.channels), empty=empty
        ),
        "outcomes": bar_chart(
            "chart-outcomes",
            t("results_outcomes"),
            bars("outcomes", report.outcomes) if report.questions else [],
            empty=empty,
        ),
    }


def _time(report: Results, t: Translate) -> Markup:
    """R4: the presentation within its budget, its overrun, the Q&A, breaks and unmarked time,
    end to end against the budget line."""
    time = report.time
    within = min(time.presentation_ms, time.budget_ms)
    pieces = [
        ("presentation", within, time.presentation_ms),
        ("overrun", time.overrun_ms, time.overrun_ms),
        ("qa", time.qa_ms, time.qa_ms),
        ("break", time.break_ms, time.break_ms),
        ("other", time.other_ms, time.other_ms),
    ]
    parts = [
        Bar(key, t(f"results_part_{key}"), drawn, _share(report, shown))
        for key, drawn, shown in pieces
        if shown or key in ("presentation", "qa")
    ]
    budget = Budget(time.budget_ms, t("results_budget", time=duration(time.budget_ms)))
    scale = max(time.planned_ms, time.actual_ms)
    return time_chart("chart-time", t("results_time"), parts, budget, scale=scale)


def _share(report: Results, ms: int) -> str:
    """A part's time and its share of the actual length: `0:16:00 (26%)`."""
    return f"{duration(ms)} ({round(report.time.share(ms) * 100)}%)"
