"""Residents' comments and questions decided into events: R3 holds instead of dropping, R4 waits.

Pure functions, whole events compared; a refusal carries the reason its sender sees.
"""

from __future__ import annotations

import dataclasses

import pytest

from moderation import (
    Channel,
    CommentHeld,
    CommentPosted,
    CommentRejected,
    HoldReason,
    InvalidInput,
    MeetingStatus,
    PostComment,
    RejectReason,
    post_comment,
)
from moderation.commands import AskQuestion, Submission
from moderation.duplicates import QuestionIndex
from moderation.events import QuestionAsked, QuestionEdited
from moderation.model import Item, ItemKind, ItemStatus
from moderation.submissions import (
    Suggestions,
    accepted_text,
    ask_question,
    decide,
    edit_question,
    suggestions,
    valid_district,
)
from tests.moderation._records import MEETING, NOW, meeting

WATER_IN_MEDEU = "Когда дадут воду в Медеуском районе?"


def earlier_questions() -> QuestionIndex:
    earlier = QuestionIndex()
    earlier.add("1-0", WATER_IN_MEDEU)
    earlier.add("2-0", "Когда отремонтируют дорогу на улице Абая?")
    return earlier


def test_r3_a_live_meeting_takes_comments_and_the_filter_holds_instead_of_dropping() -> None:
    live = meeting(MeetingStatus.LIVE)
    posted = post_comment(
        live, PostComment(client_msg_id="a", name=" Айгерім\u202e ", text="Жол  қашан?"),
        viewer="v1", now=NOW,
    )  # fmt: skip
    assert posted == CommentPosted(
        at=NOW,
        channel=Channel.WEB,
        client_msg_id="a",
        viewer="v1",
        name="Айгерім",
        text="Жол қашан?",
    )
    held = post_comment(
        live,
        PostComment(client_msg_id="b", name="", text="Звоните 87012345678"),
        viewer="v1",
        now=NOW,
    )
    assert isinstance(held, CommentHeld)
    assert held.reason is HoldReason.PHONE


@pytest.mark.parametrize(
    ("status", "text", "name", "reason"),
    [
        (MeetingStatus.SCHEDULED, "Сұрақ", "", RejectReason.MEETING_CLOSED),
        (MeetingStatus.ENDED, "Сұрақ", "", RejectReason.MEETING_CLOSED),
        (MeetingStatus.LIVE, "ы" * 501, "", RejectReason.TOO_LONG),
        (MeetingStatus.LIVE, "\u200b\u2066 \n", "", RejectReason.INVALID),
        (MeetingStatus.LIVE, "Сұрақ", "Н" * 41, RejectReason.INVALID),
        # issue 8: blank-looking texts and names, and a name that reads as an official role
        (MeetingStatus.LIVE, "\u3164\u2800\uffa0", "", RejectReason.INVALID),
        (MeetingStatus.LIVE, "\u0301", "", RejectReason.INVALID),
        (MeetingStatus.LIVE, "Сұрақ", "\u115f\u1160", RejectReason.INVALID),
        (MeetingStatus.LIVE, "Сұрақ", "Әкім ✔", RejectReason.RESERVED_NAME),
    ],
)
def test_a_comment_is_rejected_with_its_reason(
    status: MeetingStatus, text: str, name: str, reason: RejectReason
) -> None:
    with pytest.raises(CommentRejected) as rejected:
        post_comment(
            meeting(status), PostComment(client_msg_id="x", name=name, text=text),
            viewer="v", now=NOW,
        )  # fmt: skip
    assert rejected.value.reason is reason


def test_500_characters_are_allowed_after_cleaning() -> None:
    text = "ы" * 500 + "\u200b" * 20  # zero-width characters do not count: they are removed
    event = post_comment(
        meeting(MeetingStatus.LIVE), PostComment(client_msg_id="x", name="", text=text),
        viewer="v", now=NOW,
    )  # fmt: skip
    assert event.text == "ы" * 500


def test_a_question_carries_its_suggestions() -> None:
    earlier = QuestionIndex()
    earlier.add("1-0", "Когда отремонтируют дорогу на улице Абая?")
    asked = ask_question(
        MEETING,
        AskQuestion(
            client_msg_id="q1", name="Ерлан", text="Когда отремонтируют дорогу по улице Абая"
        ),
        viewer="v9",
        now=NOW,
        earlier=earlier,
    )
    assert asked.similar == ("1-0",)
    assert asked.suggested_topic == "roads"
    assert asked.held == ""


def test_a_submission_from_any_channel_is_decided_as_a_comment_or_a_question() -> None:
    """The sender's pseudonym is who the record knows; the text is cleaned as for the web."""
    question = AskQuestion(
        client_msg_id="q", name=" Ерлан ", text=f"  {WATER_IN_MEDEU}  ", district=" Медеу "
    )
    asked = decide(
        MEETING, Submission(what=question, sender="tg:1"), now=NOW, earlier=earlier_questions()
    )
    assert asked == QuestionAsked(
        at=NOW,
        channel=Channel.WEB,
        client_msg_id="q",
        viewer="tg:1",
        name="Ерлан",
        text=WATER_IN_MEDEU,
        district="Медеу",
        suggested_topic="water",
        suggested_district="Медеу",
        similar=("1-0",),  # R4: moderators are told it repeats an earlier question
        language="ru",  # detected: its sender is answered in it (issue 10)
    )
    comment = PostComment(client_msg_id="c", name="Аян", text="Сәлем бәріне!")
    posted = decide(
        MEETING, Submission(what=comment, sender="tg:2"), now=NOW + 1, earlier=earlier_questions()
    )
    assert posted == CommentPosted(
        at=NOW + 1, channel=Channel.WEB, client_msg_id="c", viewer="tg:2", name="Аян",
        text="Сәлем бәріне!",
    )  # fmt: skip


def test_staff_post_as_staff_with_their_own_name_and_no_filter() -> None:
    """Issue 8: only the console sends the staff channel; its badge is the channel, so the
    account's name is not held to the reserved words, and a service's number is not held."""
    what = PostComment(client_msg_id="s", name=" Модератор ", text=" Звоните 109 ",
                       channel=Channel.STAFF)  # fmt: skip
    posted = decide(
        MEETING, Submission(what=what, sender="staff:aigul"), now=NOW, earlier=QuestionIndex()
    )
    assert posted == CommentPosted(
        at=NOW, channel=Channel.STAFF, client_msg_id="s", viewer="staff:aigul",
        name="Модератор", text="Звоните 109",
    )  # fmt: skip
    for status, text, reason in (
        (MeetingStatus.ENDED, "Сау болыңыз", RejectReason.MEETING_CLOSED),
        (MeetingStatus.LIVE, "\u3164", RejectReason.INVALID),
    ):
        blank = dataclasses.replace(what, text=text)
        with pytest.raises(CommentRejected) as refused:
            decide(meeting(status), Submission(what=blank, sender="staff:aigul"), now=NOW,
                   earlier=QuestionIndex())  # fmt: skip
        assert refused.value.reason is reason


def test_r4_the_filter_only_warns_moderators_of_a_question_it_would_hold() -> None:
    """A question is never public before approval, so it is asked, with the filter's reason;
    the record keeps it with the number masked (issue 10.8), the name too."""
    text = "Нет воды в Ауэзовском районе, звоните 87012345678"
    asked = ask_question(
        MEETING, AskQuestion(client_msg_id="q", name="Ерлан 87012345678", text=text),
        viewer="v2", now=NOW, earlier=earlier_questions(),
    )  # fmt: skip
    assert asked == QuestionAsked(
        at=NOW,
        channel=Channel.WEB,
        client_msg_id="q",
        viewer="v2",
        name="Ерлан ••• ••• ••78",
        text="Нет воды в Ауэзовском районе, звоните ••• ••• ••78",
        held="phone",
        suggested_topic="water",
        suggested_district="Ауэзов",  # named in the text, not chosen by the asker
        language="ru",
    )


def test_the_district_an_asker_names_wins_over_the_one_the_text_suggests() -> None:
    asked = ask_question(
        MEETING,
        AskQuestion(client_msg_id="q", name="", text=WATER_IN_MEDEU, district="Алмалы"),
        viewer="v3",
        now=NOW,
        earlier=QuestionIndex(),
    )
    assert (asked.district, asked.suggested_district, asked.similar) == ("Алмалы", "Алмалы", ())


@pytest.mark.parametrize(
    ("territory", "district", "detail"),
    [
        ("Алматы", "Нарния", "'Нарния' is not a district of Алматы"),
        ("Алматы", "Есиль", "'Есиль' is not a district of Алматы"),  # a district of Astana
        ("село Жаркент", "Ж" * 61, "a district name is at most 60 characters"),
    ],
)
def test_a_question_naming_no_district_of_the_territory_is_refused(
    territory: str, district: str, detail: str
) -> None:
    there = dataclasses.replace(MEETING, territory=territory)
    question = AskQuestion(client_msg_id="q", name="", text="Жол қашан?", district=district)
    with pytest.raises(CommentRejected) as refused:
        ask_question(there, question, viewer="v", now=NOW, earlier=QuestionIndex())
    assert (refused.value.reason, refused.value.detail) == (RejectReason.INVALID, detail)
    with pytest.raises(InvalidInput, match=detail):
        valid_district(there, district)


@pytest.mark.parametrize(
    ("territory", "value", "district"),
    [
        ("Алматы", "", ""),
        ("Алматы", " \u200b ", ""),
        ("Алматы", " Турксиб ", "Турксиб"),
        ("село Жаркент", "Ж" * 60, "Ж" * 60),  # a territory with no known districts
        ("село Жаркент", "Шолаққорған", "Шолаққорған"),
    ],
)
def test_a_valid_district_is_cleaned_and_kept(territory: str, value: str, district: str) -> None:
    there = dataclasses.replace(MEETING, territory=territory)
    assert valid_district(there, value) == district


def test_a_question_is_refused_like_a_comment_but_named_a_question() -> None:
    for status in (MeetingStatus.SCHEDULED, MeetingStatus.ENDED):
        with pytest.raises(CommentRejected) as closed:
            accepted_text(meeting(status), "Жол қашан?", "", what="question")
        assert (closed.value.reason, closed.value.detail) == (
            RejectReason.MEETING_CLOSED, f"the meeting is {status}",
        )  # fmt: skip
    with pytest.raises(CommentRejected) as empty:
        ask_question(
            MEETING, AskQuestion(client_msg_id="q", name="", text=" \u2066 "),
            viewer="v", now=NOW, earlier=QuestionIndex(),
        )  # fmt: skip
    assert (empty.value.reason, empty.value.detail) == (
        RejectReason.INVALID, "the question is empty",
    )  # fmt: skip
    live = meeting(MeetingStatus.LIVE)
    assert accepted_text(live, " Жол\tқашан? ", " Аян\u200d ") == ("Жол қашан?", "Аян")


def test_suggestions_are_the_topic_the_district_and_the_repeats_of_a_text() -> None:
    assert suggestions(MEETING, WATER_IN_MEDEU, earlier_questions()) == Suggestions(
        topic="water", district="Медеу", similar=("1-0",)
    )
    assert suggestions(MEETING, "Рахмет!", earlier_questions()) == Suggestions(
        topic="other", district="", similar=()
    )
    elsewhere = dataclasses.replace(MEETING, territory="Караганда")
    assert suggestions(elsewhere, WATER_IN_MEDEU, QuestionIndex()) == Suggestions(
        topic="water", district="", similar=()
    )


# Issue 10: every channel into one queue


@pytest.mark.parametrize(
    "channel",
    [Channel.PHONE, Channel.WHATSAPP, Channel.SMS, Channel.TELEGRAM, Channel.EMAIL],
)
def test_r5_a_scheduled_meeting_collects_requests_from_the_channels(channel: Channel) -> None:
    """Outside any live meeting a channel's question joins the next meeting's requests (R5),
    with the language it was written in and when the channel says it was sent."""
    scheduled = meeting(MeetingStatus.SCHEDULED)
    question = AskQuestion(
        client_msg_id="wa:1", name="", text="Жолды қашан жөндейді?", channel=channel,
        received_at=NOW - 5_000, note="image",
    )  # fmt: skip
    asked = ask_question(scheduled, question, viewer="s1", now=NOW, earlier=QuestionIndex())
    assert (asked.channel, asked.language, asked.received_at, asked.note) == (
        channel, "kk", NOW - 5_000, "image",
    )  # fmt: skip


@pytest.mark.parametrize("channel", [Channel.WEB, Channel.YOUTUBE])
def test_the_web_page_and_youtube_take_no_requests_before_the_meeting(channel: Channel) -> None:
    question = AskQuestion(client_msg_id="q", name="", text="Когда?", channel=channel)
    with pytest.raises(CommentRejected) as refused:
        ask_question(
            meeting(MeetingStatus.SCHEDULED), question, viewer="v", now=NOW, earlier=QuestionIndex()
        )
    assert refused.value.reason is RejectReason.MEETING_CLOSED


@pytest.mark.parametrize("channel", [Channel.YOUTUBE, Channel.FACEBOOK, Channel.INSTAGRAM])
def test_r3_an_official_broadcasts_comment_is_taken_after_the_meeting_ended(
    channel: Channel,
) -> None:
    """Issue 16: the platforms' readers poll, so a comment written on Facebook or Instagram
    while the meeting was live may be read just after it ended; the web page's is refused."""
    ended = meeting(MeetingStatus.ENDED)
    late = PostComment(client_msg_id="fb:1", name="Ерлан", text="Рахмет!", channel=channel,
                       received_at=NOW - 2_000)  # fmt: skip
    posted = post_comment(ended, late, viewer="s1", now=NOW)
    assert (posted.channel, posted.text, posted.received_at) == (channel, "Рахмет!", NOW - 2_000)
    with pytest.raises(CommentRejected) as refused:
        post_comment(ended, dataclasses.replace(late, channel=Channel.WEB), viewer="v", now=NOW)
    assert refused.value.reason is RejectReason.MEETING_CLOSED


def test_the_language_a_channel_states_wins_over_the_detected_one() -> None:
    """The phone desk says what the caller spoke; anything but kk or ru is detected instead."""
    said = AskQuestion(client_msg_id="d", name="", text="Когда дадут воду?", language="kk")
    assert (
        ask_question(MEETING, said, viewer="s", now=NOW, earlier=QuestionIndex()).language == "kk"
    )
    odd = dataclasses.replace(said, language="en")
    assert ask_question(MEETING, odd, viewer="s", now=NOW, earlier=QuestionIndex()).language == "ru"


def _new_question(**changes: object) -> Item:
    base = Item(
        id="5-0", kind=ItemKind.QUESTION, status=ItemStatus.NEW, version=1, at=NOW,
        channel=Channel.TELEGRAM, viewer="s1", name="", text="Су қашан болады?", language="kk",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_sender_edits_a_question_while_it_is_new() -> None:
    """A Telegram edit: the moderators see the new text, filtered again, in its language."""
    edited = edit_question(
        MEETING, _new_question(), "Нет воды, звоните 87012345678", sender="s1", now=NOW + 9
    )
    assert edited == QuestionEdited(
        at=NOW + 9, by="s1", item="5-0", version=2, text="Нет воды, звоните ••• ••• ••78",
        language="ru", held="phone",
    )  # fmt: skip
    clean = edit_question(MEETING, _new_question(), "Су қашан?", sender="s1", now=NOW)
    assert clean.held == ""


def test_a_request_before_the_meeting_may_be_edited_too() -> None:
    scheduled = meeting(MeetingStatus.SCHEDULED)
    assert (
        edit_question(scheduled, _new_question(), "Жаңа мәтін", sender="s1", now=NOW).version == 2
    )
    web = _new_question(channel=Channel.WEB)
    with pytest.raises(CommentRejected) as refused:
        edit_question(scheduled, web, "Жаңа мәтін", sender="s1", now=NOW)
    assert refused.value.reason is RejectReason.MEETING_CLOSED


@pytest.mark.parametrize(
    ("item", "sender", "detail"),
    [
        (_new_question(status=ItemStatus.APPROVED), "s1", "the question is approved already"),
        (_new_question(), "s2", "only its sender may edit a question"),
        (_new_question(kind=ItemKind.COMMENT), "s1", "only its sender may edit a question"),
    ],
)
def test_a_decided_or_someone_elses_question_is_not_edited(
    item: Item, sender: str, detail: str
) -> None:
    with pytest.raises(CommentRejected) as refused:
        edit_question(MEETING, item, "Жаңа мәтін", sender=sender, now=NOW)
    assert refused.value.reason is RejectReason.INVALID
    assert refused.value.detail.startswith(detail)
