"""What arrives from residents, on any channel: comments and questions, decided into events.

R3: commenting is mandatory while a meeting is live, so the first filter *holds* a comment with
a public reason instead of dropping it; a question waits for the moderators (R4) and arrives
with suggestions: which earlier questions it may repeat, its topic and its district.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from moderation.commands import AskQuestion, PostComment, Submission
from moderation.duplicates import QuestionIndex
from moderation.errors import CommentRejected, InvalidInput
from moderation.events import CommentHeld, CommentPosted, QuestionAsked, QuestionEdited
from moderation.filters import first_filter, mask_contacts
from moderation.language import detect_language
from moderation.model import (
    BROADCAST_CHANNELS,
    Channel,
    Item,
    ItemKind,
    ItemStatus,
    Meeting,
    MeetingStatus,
    RejectReason,
)
from moderation.names import is_reserved
from moderation.tagging import districts_of, suggest_district, suggest_topic
from moderation.text import MAX_COMMENT_CHARS, MAX_NAME_CHARS, clean_name, clean_text, is_blank

MAX_DISTRICT_CHARS = 60
# R5: before a meeting starts, its collection of requests takes questions from these channels
# (a resident who writes outside any live meeting is told when the next one is, issue 10).
REQUEST_CHANNELS = frozenset(
    {Channel.PHONE, Channel.WHATSAPP, Channel.SMS, Channel.TELEGRAM, Channel.EMAIL, Channel.REQUEST}
)
SPOKEN = ("kk", "ru")  # the languages a sender is answered in


def decide(
    meeting: Meeting, submission: Submission, *, now: int, earlier: QuestionIndex
) -> CommentPosted | CommentHeld | QuestionAsked:
    """The event a submission makes, or `CommentRejected` with the reason its sender sees."""
    what = submission.what
    if isinstance(what, AskQuestion):
        return ask_question(meeting, what, viewer=submission.sender, now=now, earlier=earlier)
    if what.channel is Channel.STAFF:
        return post_as_staff(meeting, what, staff=submission.sender, now=now)
    return post_comment(meeting, what, viewer=submission.sender, now=now)


def post_comment(
    meeting: Meeting, command: PostComment, *, viewer: str, now: int
) -> CommentPosted | CommentHeld:
    """Accept a comment into the record, holding it when the first filter objects (R3).

    YouTube's chat (issue 11), Facebook's and Instagram's comments (issue 16) are the official
    broadcasts' own record: they are taken after the meeting ended too (a replay, a reader's
    last poll), with the time the platform gives and a super chat's amount.
    """
    late = meeting.status is MeetingStatus.ENDED and command.channel in BROADCAST_CHANNELS
    text, name = accepted_text(meeting, command.text, command.name, early=late)
    reason = first_filter(text)
    event = CommentPosted if reason is None else functools.partial(CommentHeld, reason=reason)
    return event(
        at=now, channel=command.channel, client_msg_id=command.client_msg_id, viewer=viewer,
        name=name, text=text, received_at=command.received_at, amount=command.amount,
        currency=command.currency,
    )  # fmt: skip


def post_as_staff(meeting: Meeting, command: PostComment, *, staff: str, now: int) -> CommentPosted:
    """A moderator's comment as staff, from the console: public at once, and shown with the
    staff badge its channel gives it (issue 8). Only the console makes one, for a role that may
    moderate; the name is the account's own, so it is not held to the reserved words, and the
    first filter, which is for residents, does not hold it (staff give services' numbers)."""
    text = accepted_body(meeting, command.text)
    return CommentPosted(at=now, channel=Channel.STAFF, client_msg_id=command.client_msg_id,
                         viewer=staff, name=clean_name(command.name), text=text)  # fmt: skip


def ask_question(
    meeting: Meeting, command: AskQuestion, *, viewer: str, now: int, earlier: QuestionIndex
) -> QuestionAsked:
    """Accept a viewer's question for moderation, with its suggestions (R4).

    `earlier` is the meeting's questions that may still be repeated.
    """
    early = meeting.status is MeetingStatus.SCHEDULED and command.channel in REQUEST_CHANNELS
    text, name = accepted_text(meeting, command.text, command.name, what="question", early=early)
    try:
        district = valid_district(meeting, command.district)
    except InvalidInput as error:
        raise CommentRejected(RejectReason.INVALID, error.detail) from None
    held = first_filter(text)
    hints = suggestions(meeting, text, earlier)
    return QuestionAsked(
        at=now,
        channel=command.channel,
        client_msg_id=command.client_msg_id,
        viewer=viewer,
        # Issue 10.8: the record keeps no phone number, e-mail or IIN of a question (it
        # outlives the contacts' retention); the filter's warning is decided on the text as
        # written, and the server keeps that text apart for staff allowed to see contacts.
        name=mask_contacts(name),
        text=mask_contacts(text),
        district=district,
        held=held.value if held else "",
        suggested_topic=command.topic or hints.topic,
        suggested_district=district or hints.district,
        similar=hints.similar,
        language=command.language if command.language in SPOKEN else detect_language(text),
        received_at=command.received_at,
        note=command.note,
    )


def edit_question(
    meeting: Meeting, item: Item, text: str, *, sender: str, now: int
) -> QuestionEdited:
    """The sender's new text for their question (a Telegram edit, issue 10), while it is still
    new: once moderators decided on it, the decision stands on the text they read, and the
    sender is told to send a new question instead."""
    if item.kind is not ItemKind.QUESTION or item.viewer != sender:
        raise CommentRejected(RejectReason.INVALID, "only its sender may edit a question")
    if item.status is not ItemStatus.NEW:
        raise CommentRejected(
            RejectReason.INVALID, f"the question is {item.status} already; send a new one"
        )
    early = meeting.status is MeetingStatus.SCHEDULED and item.channel in REQUEST_CHANNELS
    body = accepted_body(meeting, text, what="question", early=early)
    held = first_filter(body)
    return QuestionEdited(
        at=now,
        by=sender,
        item=item.id,
        version=item.version + 1,
        text=mask_contacts(body),
        language=detect_language(body),
        held=held.value if held else "",
    )


@dataclass(frozen=True, slots=True)
class Suggestions:
    """What moderators are told of a new question: its likely topic, district and repeats."""

    topic: str
    district: str
    similar: tuple[str, ...]


def suggestions(meeting: Meeting, text: str, earlier: QuestionIndex) -> Suggestions:
    """The one way a question gets its suggestions, asked or promoted from a comment."""
    return Suggestions(
        topic=suggest_topic(text).value,
        district=suggest_district(text, meeting.territory) or "",
        similar=tuple(item_id for item_id, _ in earlier.duplicates(text)),
    )


def accepted_text(
    meeting: Meeting, text: str, name: str, *, what: str = "comment", early: bool = False
) -> tuple[str, str]:
    """A submission's cleaned text and name, if the meeting is live and they are within limits.

    Comments and questions both come through here; refusals carry the reason the sender sees.
    A text, or a name that was typed, left blank once invisible fillers are gone is refused
    (issue 8); so is a name that reads as an official role (`reserved_name`, INP-4).
    """
    return accepted_body(meeting, text, what=what, early=early), accepted_name(name)


def accepted_body(meeting: Meeting, raw: str, *, what: str = "comment", early: bool = False) -> str:
    """A comment's or question's text, cleaned, if the meeting is live (or, `early`, takes
    requests before it starts, R5) and it is within limits."""
    if not (meeting.is_live or early):
        raise CommentRejected(RejectReason.MEETING_CLOSED, f"the meeting is {meeting.status}")
    text = clean_text(raw)
    if len(text) > MAX_COMMENT_CHARS:
        raise CommentRejected(
            RejectReason.TOO_LONG, f"{len(text)} characters, at most {MAX_COMMENT_CHARS}"
        )
    if is_blank(text):
        raise CommentRejected(RejectReason.INVALID, f"the {what} is empty")
    return text


def accepted_name(raw: str) -> str:
    """A viewer's display name, cleaned; "" (no name typed) stays anonymous."""
    name = clean_name(raw)
    if len(name) > MAX_NAME_CHARS:
        raise CommentRejected(RejectReason.INVALID, f"the name is over {MAX_NAME_CHARS} characters")
    if is_blank(name):
        if raw.strip():  # typed, but nothing visible is left: a blank-looking name
            raise CommentRejected(RejectReason.INVALID, "the name is empty")
        return ""
    if is_reserved(name):
        raise CommentRejected(
            RejectReason.RESERVED_NAME, "the name reads as an official role; choose another"
        )
    return name


def valid_district(meeting: Meeting, value: str) -> str:
    """`value` as a district of the meeting's territory ("" for none)."""
    district = clean_name(value)
    if not district:
        return ""
    known = districts_of(meeting.territory)
    if known and district not in known:
        raise InvalidInput(f"{district!r} is not a district of {meeting.territory}")
    if len(district) > MAX_DISTRICT_CHARS:
        raise InvalidInput(f"a district name is at most {MAX_DISTRICT_CHARS} characters")
    return district
