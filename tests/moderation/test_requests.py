"""Requests before a meeting (R5, issue 13): a resident's request from the meeting page's form,
what was collected (counts by topic and district, never the senders), and the commission's
actions as the moderation commands they are."""

from __future__ import annotations

import dataclasses

import pytest

from moderation.commands import Moderate
from moderation.duplicates import QuestionIndex
from moderation.errors import InvalidInput
from moderation.model import Action, Channel, Item, ItemKind, ItemStatus, MeetingStatus
from moderation.pool import questions_of
from moderation.requests import collection, commission_command, is_request, request_of
from moderation.submissions import ask_question
from tests.moderation._records import MEETING, NOW


def question(qid: str, at: int, status: ItemStatus = ItemStatus.NEW, **fields: object) -> Item:
    values: dict[str, object] = {"name": "Айгерім", "text": "Жол қашан?", **fields}
    return Item(
        id=qid, kind=ItemKind.QUESTION, status=status, at=at, channel=Channel.REQUEST,
        viewer="v-secret", **values,  # type: ignore[arg-type]
    )  # fmt: skip


SCHEDULED = dataclasses.replace(MEETING, status=MeetingStatus.SCHEDULED)
STARTED = dataclasses.replace(MEETING, started_at=NOW)


def test_r5_a_request_from_the_page_is_a_question_of_the_request_channel() -> None:
    body = {"name": " Айгерім ", "text": " Жол қашан? ", "district": "Медеу", "topic": "roads"}
    asked = request_of(body, client_msg_id="k1")
    assert (asked.client_msg_id, asked.name, asked.text) == ("k1", "Айгерім", "Жол қашан?")
    assert (asked.district, asked.topic, asked.channel) == ("Медеу", "roads", Channel.REQUEST)
    bare = request_of({"text": "Су?"}, client_msg_id="k2")
    assert (bare.name, bare.district, bare.topic) == ("", "", "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": 5}, "text must be text"),
        ({"text": "Су?", "name": ["x"]}, "name must be text"),
        ({"text": "   "}, "text is required"),
        ({}, "text is required"),
        ({"text": "Су?", "topic": "weather"}, "topic must be one of"),
    ],
)
def test_a_bad_request_names_its_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        request_of(body, client_msg_id="k")


def test_r5_a_request_is_a_question_asked_before_the_meeting_started() -> None:
    assert is_request(question("1-0", NOW - 1), SCHEDULED)
    assert is_request(question("1-0", NOW - 1), STARTED)
    assert not is_request(question("2-0", NOW + 1), STARTED)
    comment = dataclasses.replace(question("3-0", 1), kind=ItemKind.COMMENT)
    assert not is_request(comment, SCHEDULED)


def test_r5_the_collection_counts_by_topic_and_district_and_shows_no_sender() -> None:
    items = [
        question("1-0", 1, suggested_topic="roads", suggested_district="Медеу"),
        question("2-0", 2, topic="water", suggested_topic="roads", district="Алмалы"),
        question(
            "3-0", 3, ItemStatus.APPROVED, suggested_topic="roads", text="Звоните 87012345678"
        ),
        question("4-0", 4, ItemStatus.MERGED, merged_into="1-0"),
        question("5-0", NOW + 5, ItemStatus.APPROVED, suggested_topic="heating"),  # asked live
    ]
    collected = collection(STARTED, reversed(items))
    assert collected.total == 4
    assert collected.by_topic == {"roads": 2, "water": 1, "other": 1}
    assert collected.by_district == {"": 2, "Медеу": 1, "Алмалы": 1}
    assert [q["id"] for q in collected.accepted] == ["3-0"]
    assert collected.accepted[0]["text"] == "Звоните ••• ••• ••78"  # masked, as the record is
    assert [q["id"] for q in collected.agenda] == ["3-0", "5-0"]
    public = collected.public()
    assert set(public) == {"total", "by_topic", "by_district", "accepted", "agenda"}
    assert "v-secret" not in repr(public)
    assert "Айгерім" not in repr(public)


def test_the_commissions_actions_are_moderation_commands() -> None:
    assert commission_command("group", {"item": "2-0", "version": "1", "into": "1-0"}) == (
        Moderate(action=Action.MERGE, item="2-0", version=1, into="1-0")
    )
    tagged = commission_command(
        "tag", {"item": "2-0", "version": 3, "topic": "water", "district": " Медеу "}
    )
    assert tagged == Moderate(
        action=Action.TAG, item="2-0", version=3, topic="water", district="Медеу"
    )
    assert commission_command("agenda", {"item": "2-0", "version": 2, "into": "x"}) == (
        Moderate(action=Action.APPROVE, item="2-0", version=2)
    )


@pytest.mark.parametrize(
    ("action", "body", "error"),
    [
        ("approve", {"item": "1-0", "version": 1}, "action must be one of agenda, group, tag"),
        ("agenda", {"version": 1}, "item is required"),
        ("agenda", {"item": 7, "version": 1}, "item must be text"),
        ("agenda", {"item": "1-0"}, "version must be a positive integer"),
        ("agenda", {"item": "1-0", "version": True}, "version must be a positive integer"),
        ("agenda", {"item": "1-0", "version": "0"}, "version must be a positive integer"),
        ("group", {"item": "1-0", "version": 1}, "into is required"),
        ("tag", {"item": "1-0", "version": 1, "topic": "weather"}, "topic must be one of"),
    ],
)
def test_a_bad_commission_action_names_its_field(
    action: str, body: dict[str, object], error: str
) -> None:
    with pytest.raises(InvalidInput, match=error):
        commission_command(action, body)


def test_r5_a_scheduled_meeting_takes_a_request_from_the_form_with_its_own_topic() -> None:

    asked = ask_question(
        SCHEDULED,
        request_of({"text": "Когда починят дорогу?", "topic": "water"}, client_msg_id="k"),
        viewer="v",
        now=NOW,
        earlier=QuestionIndex(),
    )
    assert (asked.channel, asked.suggested_topic) == (Channel.REQUEST, "water")


def test_r5_the_commission_makes_issues_of_new_requests_too() -> None:

    items = {"1-0": question("1-0", 1), "2-0": question("2-0", 2, merged_into="1-0")}
    assert questions_of(items, ["1-0"], requests=True) == ("1-0", "2-0")
    with pytest.raises(InvalidInput, match="not approved"):
        questions_of(items, ["1-0"])
