"""The audit trail of a meeting, for staff: who did what to which item, when and why.

Each action is shown with what it was about, read from the board: the item's text (an excerpt)
and its author's name, both with phone numbers and e-mails masked as the public pages mask them
(`mask_contacts`, issue 10.8), the reason and the topic in the reader's language, and for a
merge the excerpt of the question it joined (issue 14). `?by=` and `?action=` filter it, and
`/console/{meeting_id}/audit.csv` exports the same rows, every cell neutralised (CWE-1236).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from moderation import Meeting
from moderation.deadlines import ALMATY
from moderation.filters import mask_contacts
from moderation.model import Item
from recordings.exports import BOM, neutralised
from server.auth.accounts import Permission
from server.auth.sessions import require, staff_context
from server.services import Services
from server.web.i18n import KEYS
from server.web.templating import meeting_or_404, page_context, render

AUDIT_LIMIT = 500  # rows shown (and exported) at most, newest first
SCANNED = 20 * AUDIT_LIMIT  # entries of the record read to find them
EXCERPT = 80  # characters of an item's text shown
MAX_BY = 100  # a `by` longer than any staff name or pseudonym is a mistake (400)
CSV_COLUMNS = (
    "time", "action", "item", "excerpt", "author", "by", "reason", "into", "into_excerpt",
    "topic", "district", "phase",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Row:
    """One staff action as the page and the CSV show it, in the reader's language."""

    id: str
    kind: str
    at: int
    when: str  # local time in Almaty, with the date
    action: str
    item: str
    excerpt: str
    author: str
    by: str
    reason: str  # its code ("" for none)
    reason_text: str
    into: str
    into_excerpt: str
    topic: str
    topic_text: str
    district: str
    phase: str
    phase_text: str


@dataclass(frozen=True, slots=True)
class Filters:
    """`?by=` (who acted) and `?action=` (an event kind); "" for any."""

    by: str = ""
    action: str = ""

    def query(self) -> str:
        """The filters as a query string ("" for none), for the CSV link."""
        given = {name: value for name, value in (("by", self.by), ("action", self.action)) if value}
        return "?" + urlencode(given) if given else ""

    def keep(self, row: Row) -> bool:
        return (not self.by or row.by == self.by) and (not self.action or row.kind == self.action)


def filters_of(request: Request) -> Filters:
    """The query's filters; 400 naming the field for a `by` too long or an unknown `action`."""
    by = request.query_params.get("by", "").strip()
    action = request.query_params.get("action", "").strip()
    if len(by) > MAX_BY:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"by: at most {MAX_BY} characters")
    if action and _event_key(action) not in KEYS:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"action: unknown action {action!r}")
    return Filters(by=by, action=action)


def _event_key(kind: str) -> str:
    return "event_" + kind.replace(".", "_")


def excerpt(text: str) -> str:
    """About `EXCERPT` characters of `text`, contacts masked, cut at a word when one is near."""
    shown = " ".join(mask_contacts(text).split())
    if len(shown) <= EXCERPT:
        return shown
    cut = shown[:EXCERPT]
    space = cut.rfind(" ")
    return (cut[:space] if space > EXCERPT // 2 else cut).rstrip(" ,.;:") + "…"


def local_time(at_ms: int) -> str:
    """When, as Almaty's clocks showed it: "30.11.2026 16:05:09"."""
    return (
        datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(ALMATY).strftime("%d.%m.%Y %H:%M:%S")
    )


def _code(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _word(t: Callable[..., str], prefix: str, code: str) -> str:
    """The code's word in the reader's language, the code itself when none is known."""
    return t(prefix + code) if code and prefix + code in KEYS else code


def _subject(event: Any) -> str:
    """The item an action was about (a moved question of the rundown too)."""
    return str(getattr(event, "item", "") or getattr(event, "question", "") or "")


def _text_of(item_id: str, items: dict[str, Item]) -> tuple[str, str]:
    """The excerpt and masked author of an item ("" for an item the board no longer holds)."""
    item = items.get(item_id)
    return (excerpt(item.text), mask_contacts(item.name)) if item is not None else ("", "")


def to_row(event_id: str, event: Any, items: dict[str, Item], t: Callable[..., str]) -> Row:
    """A staff action as the page shows it: what it was about, why, who, when."""
    item = _subject(event)
    text, author = _text_of(item, items)
    into = str(getattr(event, "into", "") or "")
    reason, topic = _code(getattr(event, "reason", "")), _code(getattr(event, "topic", ""))
    phase = _code(getattr(event, "phase", ""))
    return Row(
        id=event_id,
        kind=event.kind,
        at=event.at,
        when=local_time(event.at),
        action=_word(t, "event_", event.kind.replace(".", "_")),
        item=item,
        excerpt=text,
        author=author,
        by=event.by,
        reason=reason,
        reason_text=_word(t, "reason_", reason),
        into=into,
        into_excerpt=_text_of(into, items)[0] if into else "",
        topic=topic,
        topic_text=_word(t, "topic_", topic),
        district=str(getattr(event, "district", "") or ""),
        phase=phase,
        phase_text=_word(t, "phase_", phase),
    )


async def audit_rows(services: Services, meeting_id: str, t: Callable[..., str]) -> list[Row]:
    """The staff actions among the record's last `SCANNED` entries, newest first, with the
    items they were about read from the board in one go."""
    entries = await services.store.record.recent(meeting_id, "+", count=SCANNED)
    actions = [
        (event_id, event) for event_id, event in reversed(entries) if getattr(event, "by", "")
    ]
    ids = {_subject(e) for _, e in actions} | {str(getattr(e, "into", "")) for _, e in actions}
    items = await services.store.board.items(meeting_id, sorted(i for i in ids if i))
    return [to_row(event_id, event, items, t) for event_id, event in actions]


def _choices(rows: Iterable[Row]) -> tuple[list[str], list[tuple[str, str]]]:
    """Who acted and which actions were taken, for the filters' two selects."""
    rows = list(rows)
    people = sorted({row.by for row in rows})
    actions = sorted({(row.kind, row.action) for row in rows}, key=lambda pair: pair[1])
    return people, actions


async def _load(
    request: Request,
) -> tuple[Meeting, dict[str, object], list[Row], Filters] | Response:
    found = await meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    chosen = filters_of(request)
    context = page_context(request) | staff_context(request.state.staff)
    t = context["t"]
    assert callable(t)
    rows = await audit_rows(request.app.state.services, found.id, t)
    return found, context, rows, chosen


@require(Permission.VIEW_AUDIT)
async def audit_page(request: Request) -> Response:
    """`GET /console/{meeting_id}/audit`: the latest staff actions, newest first, filtered by
    `?by=` and `?action=`."""
    loaded = await _load(request)
    if isinstance(loaded, Response):
        return loaded
    meeting, context, rows, chosen = loaded
    services: Services = request.app.state.services
    people, actions = _choices(rows)
    jobs = await services.store.jobs.all(meeting.id)  # the recording's archive (issue 11)
    context |= {
        "meeting": meeting,
        "actions": [row for row in rows if chosen.keep(row)][:AUDIT_LIMIT],
        "people": people,
        "kinds": actions,
        "filters": chosen,
        "csv_url": f"/console/{meeting.id}/audit.csv{chosen.query()}",
        "jobs": jobs,
    }
    return render(request, "audit.html", context)


@require(Permission.VIEW_AUDIT)
async def audit_csv(request: Request) -> Response:
    """`GET /console/{meeting_id}/audit.csv`: the page's rows (same filters) as CSV."""
    loaded = await _load(request)
    if isinstance(loaded, Response):
        return loaded
    meeting, _, rows, chosen = loaded
    return Response(
        rows_csv([row for row in rows if chosen.keep(row)][:AUDIT_LIMIT]).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{meeting.id}.csv"',
            "Cache-Control": "no-store",
        },
    )


def rows_csv(rows: Iterable[Row]) -> str:
    """A BOM (spreadsheets then read Cyrillic right), a header, a row per action; every cell
    neutralised, so no text a resident wrote becomes a formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        cells = (
            row.when, row.action, row.item, row.excerpt, row.author, row.by, row.reason_text,
            row.into, row.into_excerpt, row.topic_text, row.district, row.phase_text,
        )  # fmt: skip
        writer.writerow([neutralised(cell) for cell in cells])
    return BOM + out.getvalue()
