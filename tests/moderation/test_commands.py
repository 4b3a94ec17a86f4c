"""Commands: what users ask of the domain, declared once and defaulting to "nothing more"."""

from __future__ import annotations

import dataclasses

import pytest

from moderation import (
    AskQuestion,
    Channel,
    CreateMeeting,
    EndMeeting,
    Moderate,
    PostComment,
    StartMeeting,
    Submission,
    Vote,
)
from moderation.model import MeetingFields


def test_r5_an_announcement_asks_for_exactly_the_fields_a_meeting_is_announced_with() -> None:
    wanted = [(f.name, f.type, f.default) for f in dataclasses.fields(MeetingFields)]
    assert [(f.name, f.type, f.default) for f in dataclasses.fields(CreateMeeting)] == wanted


def test_r3_comments_and_questions_come_from_the_web_unless_a_channel_says_otherwise() -> None:
    comment = PostComment(client_msg_id="a", name="Аян", text="Сәлем")
    question = AskQuestion(client_msg_id="b", name="Аян", text="Жол қашан?")
    assert (comment.channel, question.channel, question.district) == (Channel.WEB, Channel.WEB, "")
    sent = Submission(what=question, sender="tg:5")
    assert (sent.what, sent.sender) == (question, "tg:5")


def test_a_staff_action_names_only_what_it_needs() -> None:
    """Reason (hide, reject), target (merge), topic and district (tag) default to none."""
    approve = Moderate(action="approve", item="1-0", version=3)
    assert dataclasses.asdict(approve) == {
        "action": "approve", "item": "1-0", "version": 3, "reason": "", "into": "", "topic": "",
        "district": "",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (Vote(question="1-0"), "question"),
        (Moderate(action="approve", item="1-0", version=1), "version"),
        (PostComment(client_msg_id="a", name="", text="Сәлем"), "text"),
        (AskQuestion(client_msg_id="a", name="", text="Жол қашан?"), "district"),
        (Submission(what=PostComment(client_msg_id="a", name="", text="Сәлем"), sender="v"),
         "sender"),
    ],
    ids=lambda value: type(value).__name__,
)  # fmt: skip
def test_a_command_cannot_change_once_formed(command: object, field: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(command, field, "changed")


def test_starting_and_ending_a_meeting_need_no_arguments() -> None:
    assert dataclasses.fields(StartMeeting) == dataclasses.fields(EndMeeting) == ()
