"""The issue pool (R6, issue 12): questions become problem issues with an executor, a plan and
deadlines; status changes, progress and merges are events with who and when; what is overdue;
which of a meeting's R6 due dates its issues met."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.deadlines import Deadlines, progress_due
from moderation.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from moderation.model import Channel, Item, ItemKind, ItemStatus
from moderation.pool import (
    TRANSITIONS,
    Filters,
    Issue,
    IssueEdited,
    IssueMerged,
    IssueOpened,
    IssueProgress,
    IssueStatus,
    IssueStatusChanged,
    Pool,
    Step,
    add_progress,
    change_status,
    default_place,
    draft,
    edit,
    fold,
    listed,
    merge,
    met,
    open_issue,
    questions_of,
)

D = date.fromisoformat
ALMATY = timezone(timedelta(hours=5))
BODY: dict[str, object] = {
    "title": "Lights on Abay",
    "executor": "Energy dept",
    "deadline": "2027-03-01",
}


def at(day: str, hour: int = 12) -> int:
    """Noon of `day` in Almaty, in ms."""
    return int(datetime.fromisoformat(f"{day}T{hour:02d}:00:00+05:00").timestamp() * 1000)


def question(qid: str, status: ItemStatus = ItemStatus.APPROVED, **fields: object) -> Item:
    return Item(
        id=qid, kind=ItemKind.QUESTION, status=status, at=1, channel=Channel.WEB, viewer="v",
        name="Aigerim", text="When?", **fields,  # type: ignore[arg-type]
    )  # fmt: skip


ITEMS = {
    "1-0": question("1-0", topic="roads", district="Almaly"),
    "2-0": question("2-0", ItemStatus.MERGED, merged_into="1-0"),
    "3-0": question(
        "3-0", ItemStatus.ANSWERED, suggested_topic="light", suggested_district="Medeu"
    ),
    "4-0": question("4-0", ItemStatus.NEW),
    "5-0": Item(
        id="5-0",
        kind=ItemKind.COMMENT,
        status=ItemStatus.SHOWN,
        at=1,
        channel=Channel.WEB,
        viewer="v",
        name="x",
        text="hi",
    ),
    "6-0": question("6-0", ItemStatus.DEFERRED),
}


def opened(
    pool: Pool, questions: tuple[str, ...] = ("1-0",), meeting: str = "m1", **body: object
) -> IssueOpened:
    event = open_issue(
        pool, meeting, questions, draft(BODY | body), at=at("2027-01-05"), by="aigerim"
    )
    pool.apply(event)
    return event


# Making an issue


def test_a_question_and_those_merged_into_it_become_one_issue() -> None:
    linked = questions_of(ITEMS, ["1-0", "3-0"])
    assert linked == ("1-0", "2-0", "3-0")
    assert default_place(ITEMS, linked) == ("roads", "Almaly")
    assert default_place(ITEMS, ("3-0",)) == ("light", "Medeu")  # the suggested ones
    assert default_place(ITEMS, ("9-9",)) == ("", "")
    assert questions_of(ITEMS, ["1-0", "1-0"]) == ("1-0", "2-0")


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([], "questions must be a list of 1-100 question ids"),
        ("1-0", "questions must be a list"),
        (["x"] * 101, "questions must be a list"),
        (["9-9"], "questions: no question '9-9' in this meeting"),
        ([7], "questions: no question '7' in this meeting"),
        (["5-0"], "no question '5-0'"),
        (["2-0"], "questions: 2-0 was merged into 1-0: name that one"),
        (["4-0"], "questions: 4-0 is new, not approved"),
    ],
)
def test_only_approved_questions_of_the_meeting_make_an_issue(ids: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        questions_of(ITEMS, ids)


def test_an_issue_opened_is_an_event_with_who_and_when() -> None:
    pool = Pool()
    executor = {"organisation": "Energy dept", "official": "B. Nurlan"}
    plan = [{"text": "Survey", "deadline": "2027-02-01"}]
    event = opened(
        pool, ("1-0", "2-0"), executor=executor, plan=plan, topic="light", address="Abay 10"
    )
    assert event == IssueOpened(
        issue="1", at=at("2027-01-05"), by="aigerim", meeting_id="m1", questions=("1-0", "2-0"),
        title="Lights on Abay", organisation="Energy dept", official="B. Nurlan",
        deadline="2027-03-01", topic="light", address="Abay 10",
        plan=(Step(text="Survey", deadline="2027-02-01"),),
    )  # fmt: skip
    issue = pool.get("1")
    assert (issue.status, issue.version, issue.opened_by, issue.changed_at) == (
        IssueStatus.OPEN, 1, "aigerim", at("2027-01-05"),
    )  # fmt: skip
    assert pool.claimed == {("m1", "1-0"): "1", ("m1", "2-0"): "1"}
    assert pool.next_id() == "2"


def test_a_question_already_in_an_issue_is_a_conflict() -> None:
    pool = Pool()
    opened(pool)
    with pytest.raises(Conflict, match="question 1-0 is already in issue 1"):
        opened(pool, ("3-0", "1-0"))
    opened(pool, ("1-0",), meeting="m2")  # the same id in another meeting is another question


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"executor": "x", "deadline": "2027-01-01"}, "title is required"),
        (BODY | {"title": "   "}, "title is required"),
        (BODY | {"title": 5}, "title must be a string"),
        (BODY | {"title": "t" * 201}, "title must be at most 200 characters"),
        ({"title": "t", "deadline": "2027-01-01"}, "executor is required"),
        (BODY | {"executor": ["x"]}, "executor must be a string or {organisation, official}"),
        (BODY | {"executor": ""}, "organisation is required"),
        (BODY | {"executor": {"official": "x"}}, "organisation is required"),
        ({"title": "t", "executor": "x"}, "deadline must be a date, YYYY-MM-DD"),
        (BODY | {"deadline": "01.03.2027"}, "deadline must be a date, YYYY-MM-DD"),
        (BODY | {"plan": {}}, "plan must be a list of at most 50 steps"),
        (BODY | {"plan": [{}] * 51}, "plan must be a list of at most 50 steps"),
        (BODY | {"plan": ["x"]}, "plan[0] must be {text, deadline, done}"),
        (BODY | {"plan": [{"text": "a"}]}, "plan[0].deadline must be a date"),
        (
            BODY | {"plan": [{"text": "a", "deadline": "2027-01-01", "done": "no"}]},
            "plan[0].done must be true or false",
        ),
        (BODY | {"plan": [{"deadline": "2027-01-01"}]}, "text is required"),
        (BODY | {"district": "d" * 201}, "district must be at most 200 characters"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(body: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        draft(body)


# Changing an issue


def test_edits_status_changes_progress_are_events_folded_with_who_and_when() -> None:
    pool = Pool()
    opened(pool)
    issue = pool.get("1")
    plan = [{"text": "Poles", "deadline": "2027-02-01", "done": True}]
    body = {"title": " New title ", "plan": plan}
    edited = edit(issue, body, at=at("2027-01-06"), by="bek", version=1)
    assert isinstance(edited, IssueEdited)
    assert (edited.title, edited.organisation, edited.deadline) == (
        "New title",
        "Energy dept",
        "2027-03-01",
    )
    issue = pool.apply(edited)
    assert (issue.version, issue.plan[0].done, issue.changed_at) == (2, True, at("2027-01-06"))
    started = change_status(issue, "in_progress", at=at("2027-01-07"), by="bek")
    issue = pool.apply(started)
    progress = add_progress(issue, "Poles ordered", at=at("2027-01-08"), by="aigerim", version=3)
    assert progress == IssueProgress(
        issue="1", at=at("2027-01-08"), by="aigerim", text="Poles ordered"
    )
    issue = pool.apply(progress)
    rejected = change_status(issue, "rejected", " no budget ", at=at("2027-01-09"), by="bek")
    assert rejected == IssueStatusChanged(
        issue="1", at=at("2027-01-09"), by="bek", status=IssueStatus.REJECTED, reason="no budget"
    )
    issue = pool.apply(rejected)
    assert (issue.status, issue.reason, issue.version) == (IssueStatus.REJECTED, "no budget", 5)
    assert [(d.status, d.by, d.at) for d in issue.history] == [
        ("in_progress", "bek", at("2027-01-07")), ("rejected", "bek", at("2027-01-09")),
    ]  # fmt: skip
    assert [(d.text, d.by) for d in issue.updates] == [("Poles ordered", "aigerim")]
    assert fold([opened(Pool()), edited, started, progress, rejected]) == pool


def test_a_rejection_needs_its_reason_and_the_table_forbids_the_rest() -> None:
    pool = Pool()
    opened(pool)
    issue = pool.get("1")
    with pytest.raises(InvalidInput, match="reason is required"):
        change_status(issue, "rejected", at=1, by="b")
    with pytest.raises(InvalidInput, match="status must be one of open, in_progress"):
        change_status(issue, "done", at=1, by="b")
    with pytest.raises(InvalidInput, match="status must be one of"):
        change_status(issue, None, at=1, by="b")
    with pytest.raises(InvalidTransition, match="issue 1 is open: it cannot become open"):
        change_status(issue, "open", at=1, by="b")
    with pytest.raises(Conflict, match="issue 1 is at version 1, not 7"):
        change_status(issue, "resolved", at=1, by="b", version=7)
    with pytest.raises(InvalidInput, match="text is required"):
        add_progress(issue, " ", at=1, by="b")
    with pytest.raises(InvalidInput, match="nothing to change"):
        edit(issue, {"title": "Lights on Abay ", "questions": ["9-9"]}, at=1, by="b")


@pytest.mark.parametrize("start", list(IssueStatus))
@pytest.mark.parametrize("target", list(IssueStatus))
def test_every_cell_of_the_status_table(start: IssueStatus, target: IssueStatus) -> None:
    pool = Pool()
    opened(pool)
    issue = pool.get("1")
    if start is not IssueStatus.OPEN:
        issue = pool.apply(IssueStatusChanged(issue="1", at=2, by="b", status=start, reason="r"))
    if target in TRANSITIONS[start]:
        assert change_status(issue, target, "why", at=3, by="b").status is target
    else:
        with pytest.raises(InvalidTransition):
            change_status(issue, target, "why", at=3, by="b")


def test_merging_moves_the_questions_and_unlists_the_issue() -> None:
    pool = Pool()
    opened(pool, ("1-0", "2-0"))
    opened(pool, ("3-0", "1-0"), meeting="m2")
    opened(pool, ("3-0",))
    event = merge(pool.get("3"), pool.get("1"), at=at("2027-01-10"), by="bek", version=1)
    assert event == IssueMerged(
        issue="3", at=at("2027-01-10"), by="bek", into="1", questions=("1-0", "2-0", "3-0")
    )
    into = pool.apply(event)
    assert (into.id, into.questions, into.merged, into.version) == (
        "1",
        ("1-0", "2-0", "3-0"),
        ("3",),
        2,
    )
    gone = pool.get("3")
    assert (gone.merged_into, gone.is_listed, gone.version) == ("1", False, 2)
    assert pool.claimed[("m1", "3-0")] == "1"
    assert [i.id for i in listed(pool, Filters())] == ["1", "2"]
    with pytest.raises(InvalidTransition, match="issue 3 was merged into 1"):
        add_progress(gone, "x", at=1, by="b")
    with pytest.raises(InvalidTransition):
        merge(pool.get("1"), gone, at=1, by="b")
    with pytest.raises(InvalidInput, match="into must be another issue"):
        merge(pool.get("1"), pool.get("1"), at=1, by="b")
    with pytest.raises(InvalidInput, match="into must be an issue of the same meeting"):
        merge(pool.get("2"), pool.get("1"), at=1, by="b")
    with pytest.raises(NotFound, match="no issue '9'"):
        pool.get("9")


# Reading


def test_lists_are_filtered_by_meeting_status_district_topic_and_executor() -> None:
    pool = Pool()
    opened(pool, district="Almaly", topic="roads")
    opened(pool, ("3-0",), district="Medeu", executor="Roads dept")
    opened(pool, ("1-0",), meeting="m2")
    pool.apply(IssueStatusChanged(issue="2", at=2, by="b", status=IssueStatus.IN_PROGRESS))

    def ids(**filters: str) -> list[str]:
        return [i.id for i in listed(pool, Filters(**filters))]

    assert ids() == ["1", "2", "3"]
    assert ids(meeting="m1") == ["1", "2"]
    assert ids(status="in_progress") == ["2"]
    assert ids(district="Almaly") == ["1"]
    assert ids(topic="roads") == ["1"]
    assert ids(executor="Roads dept", meeting="m1") == ["2"]
    assert ids(meeting="m1", status="open") == ["1"]
    with pytest.raises(InvalidInput, match="status must be one of"):
        ids(status="closed")


def test_an_issue_is_overdue_past_its_deadline_or_a_steps_until_resolved_or_rejected() -> None:
    pool = Pool()
    opened(
        pool,
        plan=[
            {"text": "a", "deadline": "2027-02-01"},
            {"text": "b", "deadline": "2027-01-20", "done": True},
        ],
    )
    issue = pool.get("1")
    assert not issue.is_overdue(D("2027-02-01"))  # due today is not late
    assert issue.late_steps(D("2027-02-02")) == (Step(text="a", deadline="2027-02-01"),)
    assert issue.is_overdue(D("2027-02-02"))  # a step is late
    assert issue.is_overdue(D("2027-03-02"))
    nostep = pool.apply(edit(issue, {"plan": []}, at=3, by="b"))
    assert not nostep.is_overdue(D("2027-03-01"))
    assert nostep.is_overdue(D("2027-03-02"))
    for status in (IssueStatus.NEEDS_FINANCING, IssueStatus.IN_PROGRESS):
        changed = pool.apply(IssueStatusChanged(issue="1", at=4, by="b", status=status))
        assert changed.is_overdue(D("2027-03-02"))
    resolved = pool.apply(IssueStatusChanged(issue="1", at=5, by="b", status=IssueStatus.RESOLVED))
    assert not resolved.is_overdue(D("2028-01-01"))
    opened(pool, ("3-0",))
    pool.apply(merge(pool.get("2"), pool.get("1"), at=6, by="b"))
    assert not pool.get("2").is_overdue(D("2028-01-01"))  # merged away: the other one counts


# R6: which due dates the issues met


DUE = Deadlines(D("2027-01-08"), progress_due(D("2027-01-08"), 2))  # 2027-04-25, 2027-07-25


def test_r6_publication_is_met_by_an_issue_opened_on_or_before_its_due_date() -> None:
    assert met(Deadlines(None), [], ALMATY) == frozenset()
    pool = Pool()
    assert D("2027-01-08") not in met(DUE, [], ALMATY)
    late = fold(
        [IssueOpened(issue="1", at=at("2027-01-09"), by="b", meeting_id="m", questions=("1-0",))]
    )
    assert D("2027-01-08") not in met(DUE, list(late.issues.values()), ALMATY)
    # Late in the evening of the 8th in Almaty is still the 8th (the meeting's own dates).
    pool.apply(
        IssueOpened(issue="1", at=at("2027-01-08", 23), by="b", meeting_id="m", questions=("1-0",))
    )
    assert met(DUE, list(pool.issues.values()), ALMATY) >= {D("2027-01-08")}


def test_r6_a_quarters_progress_is_met_when_every_open_issue_got_an_update_in_it() -> None:
    pool = Pool()
    pool.apply(
        IssueOpened(issue="1", at=at("2027-01-05"), by="b", meeting_id="m", questions=("1-0",))
    )
    pool.apply(
        IssueOpened(issue="2", at=at("2027-02-05"), by="b", meeting_id="m", questions=("3-0",))
    )

    def issues() -> list[Issue]:
        return list(pool.issues.values())

    # Q1 2027 (January-March), due 2027-04-25: neither has an update yet.
    assert met(DUE, issues(), ALMATY) == {D("2027-01-08")}
    pool.apply(IssueProgress(issue="1", at=at("2027-04-25"), by="b", text="x"))  # on the due day
    assert D("2027-04-25") not in met(DUE, issues(), ALMATY)  # issue 2 still lacks one
    pool.apply(
        IssueStatusChanged(issue="2", at=at("2027-03-30"), by="b", status=IssueStatus.RESOLVED)
    )
    assert D("2027-04-25") in met(DUE, issues(), ALMATY)  # a status change reports progress
    # Q2 (April-June), due 2027-07-25: issue 2 was resolved before Q2 began, so only issue 1
    # counts, and its update of 25 April falls in Q2.
    assert D("2027-07-25") in met(DUE, issues(), ALMATY)
    pool.apply(
        IssueOpened(issue="3", at=at("2027-05-10"), by="b", meeting_id="m", questions=("6-0",))
    )
    assert D("2027-07-25") not in met(DUE, issues(), ALMATY)  # opened in Q2, no update yet
    # A merged-away issue never counts: the one it joined reports for both.
    pool.apply(
        IssueMerged(issue="3", at=at("2027-05-11"), by="b", into="1", questions=("1-0", "6-0"))
    )
    assert D("2027-07-25") in met(DUE, issues(), ALMATY)


def test_r6_quarters_across_a_year_end() -> None:
    due = Deadlines(D("2027-12-30"), progress_due(D("2027-12-30"), 1))  # 2028-01-25 for Q4
    pool = Pool()
    pool.apply(
        IssueOpened(issue="1", at=at("2027-12-29"), by="b", meeting_id="m", questions=("1-0",))
    )
    assert met(due, list(pool.issues.values()), ALMATY) == {D("2027-12-30")}
    pool.apply(IssueProgress(issue="1", at=at("2027-10-01"), by="b", text="q4"))
    assert met(due, list(pool.issues.values()), ALMATY) == {D("2027-12-30"), D("2028-01-25")}


@given(st.lists(st.sampled_from(list(IssueStatus)), max_size=12))
def test_any_walk_along_the_table_folds_to_its_last_status(walk: list[IssueStatus]) -> None:
    """Whatever staff try, the issue's status is the last allowed move and its history lists
    exactly the moves made, each with who and when."""
    pool = Pool()
    opened(pool)
    made = []
    for n, target in enumerate(walk):
        issue = pool.get("1")
        try:
            event = change_status(issue, target, "why", at=n, by=f"s{n}", version=issue.version)
        except InvalidTransition:
            assert target not in TRANSITIONS[issue.status]
            continue
        pool.apply(event)
        made.append((target, f"s{n}", n))
    issue = pool.get("1")
    assert issue.status == (made[-1][0] if made else IssueStatus.OPEN)
    assert [(d.status, d.by, d.at) for d in issue.history] == made
    assert issue.version == 1 + len(made)
