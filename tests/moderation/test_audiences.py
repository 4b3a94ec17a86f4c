"""Audiences: what viewers, staff with and without contacts, and the public report receive of
each event. Whole projections compared; R3 (hiding needs a public reason) throughout."""

from __future__ import annotations

import dataclasses

import pytest

from moderation import (
    Channel,
    ClockOverrun,
    ClockWarned,
    CommentHeld,
    CommentPosted,
    HoldReason,
    MeetingEnded,
    MeetingStarted,
    MeetingStatus,
    Phase,
    PhaseChanged,
    create_meeting,
)
from moderation.audiences import (
    broadcast_event,
    clock_event,
    for_staff,
    for_viewer,
    held_counts,
    meeting_for_viewer,
    overlay,
    public_question,
    public_report,
    sent_item,
    staff_with_contacts,
    staff_without_contacts,
    studio_question,
    viewer,
    viewer_history,
)
from moderation.board import Board, Update
from moderation.events import (
    BroadcastChanged,
    CommentHidden,
    CommentReleased,
    Event,
    QuestionAnswered,
    QuestionApproved,
    QuestionAsked,
    QuestionDeferred,
    QuestionMerged,
    QuestionOffAir,
    QuestionOnAir,
    QuestionPromoted,
    QuestionQueued,
    QuestionRejected,
    QuestionTagged,
    QuestionVoted,
    RundownMoved,
)
from moderation.model import ItemKind, ItemStatus, ModerationReason
from tests.moderation._records import (
    MEETING,
    NOW,
    QUESTION_STATUSES,
    announcement,
    held,
    item,
    meeting,
    posted,
)

SPAM = ModerationReason.SPAM
WATER = "Когда дадут воду в Медеуском районе?"


def asked(text: str = WATER, *, viewer: str = "v1") -> QuestionAsked:
    return QuestionAsked(
        at=NOW, channel=Channel.WEB, client_msg_id=f"q-{viewer}", viewer=viewer, name="Ерлан",
        text=text, suggested_topic="water", suggested_district="Медеу",
    )  # fmt: skip


def approved(question: str, version: int = 2, votes: int = 0) -> QuestionApproved:
    return QuestionApproved(
        at=NOW + 10, by="mod", item=question, version=version, asked_at=NOW,
        channel=Channel.WEB, name="Ерлан", text=WATER, topic="water", district="Медеу",
        votes=votes,
    )  # fmt: skip


# Viewers


def test_viewers_see_no_held_text_no_pseudonym_and_no_message_id() -> None:
    posted = CommentPosted(
        at=NOW, channel=Channel.WEB, client_msg_id="m", viewer="v9", name="Аян", text="Сәлем"
    )
    held = CommentHeld(
        at=NOW, channel=Channel.WEB, client_msg_id="n", viewer="v9", name="Аян",
        text="mail@example.kz", reason=HoldReason.EMAIL,
    )  # fmt: skip
    assert for_viewer("1-0", posted) == {
        "id": "1-0", "kind": "comment.posted", "at": NOW, "channel": "web", "name": "Аян",
        "text": "Сәлем",
    }  # fmt: skip
    assert for_viewer("2-0", held) == {
        "id": "2-0", "kind": "comment.held", "at": NOW, "channel": "web", "reason": "email"
    }  # fmt: skip
    assert for_viewer("3-0", create_meeting(announcement(), now=NOW)) is None
    assert for_viewer("4-0", MeetingEnded(at=NOW)) == {
        "id": "4-0",
        "kind": "meeting.ended",
        "at": NOW,
    }
    assert held_counts([posted, held, held]) == {"email": 2}


def test_the_public_meeting_has_no_internal_fields() -> None:
    shown = meeting_for_viewer(meeting(MeetingStatus.LIVE))
    assert shown["status"] == "live"
    assert not {"slow_mode_seconds", "slow_mode_burst", "created_at"} & shown.keys()
    assert "stream_url" not in shown
    assert meeting(MeetingStatus.LIVE).title_in("kk") == "Встреча акима Медеуского района"


def test_the_public_meeting_is_plain_values_only() -> None:
    titled = dataclasses.replace(
        MEETING, titles={"kk": "Алматы қаласы әкімінің кездесуі"}, stream_url="https://a.kz/live"
    )
    shown = meeting_for_viewer(titled)
    assert shown == {
        "title": "Встреча акима города Алматы", "akim": "Аким", "level": "city_republican",
        "territory": "Алматы", "planned_minutes": 120,
        "titles": {"kk": "Алматы қаласы әкімінің кездесуі"}, "starts_at": "", "office": "",
        "id": "almaly",
        "status": "live", "started_at": 0, "ended_at": 0, "receptions_until": "",
        "broadcast": "waiting",
    }  # fmt: skip
    assert type(shown["level"]) is str
    assert shown["titles"] is not titled.titles  # a copy: the record is never handed out


VIEWER_CASES: list[tuple[Event, dict[str, object] | None]] = [
    (MeetingStarted(at=NOW), {"id": "9-0", "kind": "meeting.started", "at": NOW}),
    (
        CommentHidden(at=NOW + 1, by="mod", item="1-0", version=2, reason=SPAM),
        {"id": "9-0", "kind": "comment.hidden", "at": NOW + 1, "comment": "1-0", "reason": "spam"},
    ),
    (
        CommentReleased(at=NOW + 2, by="mod", item="1-0", version=3, posted_at=NOW,
                        channel=Channel.WEB, name="Аян", text="Сәлем"),
        {"id": "9-0", "kind": "comment.released", "at": NOW + 2, "comment": "1-0",
         "posted_at": NOW, "channel": "web", "name": "Аян", "text": "Сәлем"},
    ),
    (
        approved("5-0", votes=2),
        {"id": "9-0", "kind": "question.approved", "question": "5-0", "at": NOW,
         "channel": "web", "name": "Ерлан", "text": WATER, "topic": "water",
         "district": "Медеу", "votes": 2, "status": "approved"},
    ),
    (
        QuestionQueued(at=NOW, by="producer", item="5-0", version=3),
        {"id": "9-0", "kind": "question.queued", "question": "5-0", "status": "queued"},
    ),
    (
        QuestionOnAir(at=NOW, by="producer", item="5-0", version=4),
        {"id": "9-0", "kind": "question.on_air", "question": "5-0", "status": "on_air"},
    ),
    (
        QuestionOffAir(at=NOW, by="producer", item="5-0", version=5),
        {"id": "9-0", "kind": "question.off_air", "question": "5-0", "status": "queued"},
    ),
    (RundownMoved(at=NOW, by="producer", question="5-0", position=0, order=("5-0",)), None),
    (
        QuestionAnswered(at=NOW, by="producer", item="5-0", version=5),
        {"id": "9-0", "kind": "question.answered", "question": "5-0", "status": "answered"},
    ),
    (
        QuestionDeferred(at=NOW, by="producer", item="5-0", version=5),
        {"id": "9-0", "kind": "question.deferred", "question": "5-0", "status": "deferred"},
    ),
    (
        QuestionVoted(at=NOW, question="5-0", viewer="v7", votes=3),
        {"id": "9-0", "kind": "question.voted", "question": "5-0", "votes": 3},
    ),
    (
        QuestionMerged(at=NOW, by="mod", item="6-0", version=2, into="5-0", into_version=4,
                       votes=4),
        {"id": "9-0", "kind": "question.merged", "question": "5-0", "votes": 4, "merged": "6-0"},
    ),
    (
        QuestionTagged(at=NOW, by="mod", item="5-0", version=3, topic="roads", district=""),
        {"id": "9-0", "kind": "question.tagged", "question": "5-0", "topic": "roads",
         "district": ""},
    ),
    # R4: viewers learn nothing of questions before approval, nor of refusals and promotions.
    (asked(), None),
    (QuestionRejected(at=NOW, by="mod", item="5-0", version=2, reason=SPAM), None),
    (QuestionPromoted(at=NOW, by="mod", item="1-0", version=2, channel=Channel.WEB,
                      viewer="v9", name="Аян", text="Сәлем"), None),
    (create_meeting(announcement(), now=NOW), None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "expected"), VIEWER_CASES, ids=[event.kind for event, _ in VIEWER_CASES]
)
def test_what_a_viewer_receives_of_each_event(
    event: Event, expected: dict[str, object] | None
) -> None:
    assert viewer(Update("9-0", event)) == expected
    assert for_viewer("9-0", event) == expected


def test_r3_a_viewer_catching_up_misses_a_hidden_comment_but_not_that_it_was_hidden() -> None:
    hidden = CommentHidden(at=NOW + 5, by="mod", item="1-0", version=2, reason=SPAM)
    entries: list[tuple[str, Event]] = [
        ("1-0", posted("Купите slot-казино", at=NOW)),
        ("2-0", posted("Сәлем", at=NOW + 1)),
        ("3-0", asked()),
        ("4-0", held(at=NOW + 2)),
        ("5-0", hidden),
    ]
    assert viewer_history(entries, hidden={"1-0", "4-0"}) == [
        for_viewer("2-0", posted("Сәлем", at=NOW + 1)),
        {"id": "4-0", "kind": "comment.held", "at": NOW + 2, "channel": "web", "reason": "email"},
        {"id": "5-0", "kind": "comment.hidden", "at": NOW + 5, "comment": "1-0", "reason": "spam"},
    ]
    assert viewer_history(entries, hidden=set()) == [
        shown for event_id, event in entries if (shown := for_viewer(event_id, event))
    ]


@pytest.mark.parametrize("status", QUESTION_STATUSES)
def test_r4_the_public_list_shows_a_question_only_from_its_approval_on(status: ItemStatus) -> None:
    question = dataclasses.replace(
        item("5-0", ItemKind.QUESTION, status), topic="roads", district="Медеу", votes=7
    )
    expected = {
        "id": "5-0", "at": NOW, "channel": "web", "name": "Айгүл",
        "text": "Когда отремонтируют дорогу на улице Абая?", "topic": "roads",
        "district": "Медеу", "status": status.value,
    }  # fmt: skip
    public = status.value in ("approved", "queued", "on_air", "answered", "deferred")
    assert public_question(question) == (expected if public else None)


def test_a_comment_is_never_on_the_public_list() -> None:
    assert public_question(item("1-0", ItemKind.COMMENT, ItemStatus.SHOWN)) is None


# Staff


CONTACTS = dataclasses.replace(
    item("5-0", ItemKind.QUESTION, ItemStatus.NEW, version=3),
    name="Ерлан +7 701 234 56 78",
    text="Звоните 87012345678 или mail@example.kz",
    held="phone",
    suggested_topic="water",
    suggested_district="Медеу",
    similar=("2-0", "3-0"),
    askers=("v1", "v4"),
    votes=0,
    by="mod",
    changed_at=NOW + 3,
)


def test_staff_who_may_see_contacts_see_the_item_whole_with_what_they_may_do() -> None:
    assert for_staff(CONTACTS, contacts=True) == {
        "id": "5-0", "kind": "question", "status": "new", "version": 3, "at": NOW,
        "channel": "web", "name": "Ерлан +7 701 234 56 78",
        "text": "Звоните 87012345678 или mail@example.kz", "held": "phone", "reason": "",
        "topic": "", "district": "", "suggested_topic": "water", "suggested_district": "Медеу",
        "similar": ["2-0", "3-0"], "merged_into": "", "source": "", "promoted": False,
        "askers": 2, "votes": 0, "by": "mod", "changed_at": NOW + 3,
        "asks": False, "amount": "", "currency": "",
        "actions": ["approve", "reject", "merge", "tag"], "merge_target": True,
    }  # fmt: skip


def test_staff_who_may_not_see_contacts_get_phones_and_emails_masked() -> None:
    masked = for_staff(CONTACTS, contacts=False)
    assert (masked["name"], masked["text"]) == (
        "Ерлан ••• ••• ••78", "Звоните ••• ••• ••78 или •••@example.kz",
    )  # fmt: skip
    whole = for_staff(CONTACTS, contacts=True)
    assert {k: v for k, v in masked.items() if k not in ("name", "text")} == {
        k: v for k, v in whole.items() if k not in ("name", "text")
    }


@pytest.mark.parametrize(
    ("kind", "status", "promoted", "actions", "merge_target"),
    [
        (ItemKind.COMMENT, ItemStatus.SHOWN, False, ["hide", "promote"], False),
        (ItemKind.COMMENT, ItemStatus.HELD, False, ["hide", "release", "promote"], False),
        (ItemKind.COMMENT, ItemStatus.HIDDEN, True, ["release"], False),
        (ItemKind.QUESTION, ItemStatus.APPROVED, False, ["merge", "queue", "tag"], True),
        (ItemKind.QUESTION, ItemStatus.ON_AIR, False, ["answer", "defer", "tag"], True),
        (ItemKind.QUESTION, ItemStatus.ANSWERED, False, ["tag"], True),
        (ItemKind.QUESTION, ItemStatus.REJECTED, False, ["tag"], False),
        (ItemKind.QUESTION, ItemStatus.MERGED, False, [], False),
    ],
)
def test_a_console_is_offered_what_the_lifecycle_allows_now(
    kind: ItemKind, status: ItemStatus, promoted: bool, actions: list[str], merge_target: bool
) -> None:
    found = dataclasses.replace(item("1-0", kind, status), promoted=promoted)
    shown = for_staff(found, contacts=False)
    assert (shown["actions"], shown["merge_target"]) == (actions, merge_target)


def test_staff_receive_every_item_an_event_changed_and_nothing_of_one_that_changed_none() -> None:
    board = Board()
    board.fold("1-0", held("Су жоқ, 87012345678", HoldReason.PHONE))
    promote = QuestionPromoted(
        at=NOW + 5, by="mod", item="1-0", version=2, channel=Channel.WEB, viewer="v9",
        name="Аян", text="Су жоқ, 87012345678",
    )  # fmt: skip
    update = board.fold("2-0", promote)
    comment, question = update.items
    assert staff_with_contacts(update) == {
        "id": "2-0",
        "kind": "question.promoted",
        "items": [for_staff(comment, contacts=True), for_staff(question, contacts=True)],
    }
    assert staff_without_contacts(update) == {
        "id": "2-0",
        "kind": "question.promoted",
        "items": [for_staff(comment, contacts=False), for_staff(question, contacts=False)],
    }
    quiet = board.fold("3-0", MeetingStarted(at=NOW + 6))
    assert staff_with_contacts(quiet) is None
    assert staff_without_contacts(quiet) is None


def test_r4_consoles_get_a_producers_move_with_the_order_after_it() -> None:
    moved = RundownMoved(at=NOW, by="producer", question="5-0", position=1, order=("4-0", "5-0"))
    expected = {
        "id": "9-0",
        "kind": "rundown.moved",
        "at": NOW,
        "by": "producer",
        "question": "5-0",
        "position": 1,
        "order": ["4-0", "5-0"],
        "items": [],
    }
    assert staff_with_contacts(Update("9-0", moved)) == expected
    assert staff_without_contacts(Update("9-0", moved)) == expected


# The public report: how each event moves the counts


REPORT_STEPS: list[tuple[str, Event, dict[str, int] | None]] = [
    ("1-0", posted(at=NOW),
     {"comments.received": 1, "comments.shown": 1, "comments.by_channel.web": 1}),
    ("2-0", held("87012345678", HoldReason.PHONE, at=NOW + 1),
     {"comments.received": 1, "comments.held": 1, "comments.by_channel.web": 1,
      "comments.held_by_filter.phone": 1}),
    ("3-0", CommentHidden(at=NOW + 2, by="mod", item="1-0", version=2, reason=SPAM),
     {"comments.shown": -1, "comments.hidden": 1, "comments.hidden_by_reason.spam": 1}),
    ("4-0", CommentReleased(at=NOW + 3, by="mod", item="1-0", version=3, posted_at=NOW,
                            channel=Channel.WEB, name="Аян", text="Сәлем"),
     {"comments.shown": 1, "comments.hidden": -1, "comments.hidden_by_reason.spam": -1}),
    ("5-0", asked(), {"questions.received": 1, "questions.new": 1, "questions.by_channel.web": 1}),
    ("6-0", approved("5-0"), {"questions.new": -1, "questions.approved": 1, "questions.public": 1}),
    ("7-0", QuestionVoted(at=NOW, question="5-0", viewer="v7", votes=1), {"questions.votes": 1}),
    ("8-0", QuestionTagged(at=NOW, by="mod", item="5-0", version=3, topic="roads", district=""),
     None),
    ("9-0", QuestionPromoted(at=NOW, by="mod", item="2-0", version=2, channel=Channel.WEB,
                             viewer="v9", name="Аян", text="87012345678"),
     {"comments.promoted": 1, "questions.received": 1, "questions.new": 1,
      "questions.by_channel.web": 1}),
    ("10-0", QuestionMerged(at=NOW, by="mod", item="9-0", version=2, into="5-0", into_version=4,
                            votes=2),
     {"questions.new": -1, "questions.merged": 1, "questions.votes": 1}),
    ("11-0", asked("Жол қашан?", viewer="v2"),
     {"questions.received": 1, "questions.new": 1, "questions.by_channel.web": 1}),
    ("12-0", QuestionRejected(at=NOW, by="mod", item="11-0", version=2, reason=SPAM),
     {"questions.new": -1, "questions.rejected": 1, "questions.rejected_by_reason.spam": 1}),
    ("13-0", QuestionQueued(at=NOW, by="producer", item="5-0", version=5),
     {"questions.approved": -1, "questions.queued": 1}),
    ("14-0", MeetingEnded(at=NOW + 99), None),
]  # fmt: skip


def test_r3_the_public_report_moves_by_what_each_event_changed() -> None:
    """Counts are of each item's state now: a hide moves a comment from shown to hidden with
    its reason, a release moves it back; a held arrival and a promotion are counted apart."""
    board = Board()
    for event_id, event, moved in REPORT_STEPS:
        expected = None if moved is None else {"id": event_id, "kind": event.kind, **moved}
        assert public_report(board.fold(event_id, event)) == expected, event.kind


def test_the_public_report_names_its_counts_in_order() -> None:
    board = Board()
    report = public_report(board.fold("2-0", held("87012345678", HoldReason.PHONE)))
    assert report is not None
    assert list(report) == [
        "id", "kind", "comments.by_channel.web", "comments.held",
        "comments.held_by_filter.phone", "comments.received",
    ]  # fmt: skip


# The clock (R4): every screen shows the countdown from the events alone


CLOCK_EVENTS: list[tuple[Event, dict[str, object]]] = [
    (
        PhaseChanged(at=NOW, by="aliya", phase=Phase.QA, presentation_ms=1_830_500, qa_ms=0,
                     budget_ms=1_800_000),
        {"id": "9-0", "kind": "meeting.phase_changed", "at": NOW, "phase": "qa",
         "clock": {"phase": "qa", "budget_s": 1800.0, "presentation_s": 1830.5, "qa_s": 0.0,
                   "remaining_s": 0.0, "overrun_s": 30.5, "as_of": NOW}},
    ),
    (
        ClockWarned(at=NOW, percent=80, used_ms=1_440_000, budget_ms=1_800_000),
        {"id": "9-0", "kind": "clock.warned", "at": NOW, "percent": 80, "used_s": 1440.0,
         "budget_s": 1800.0},
    ),
    (
        ClockOverrun(at=NOW, overrun_ms=30_500),
        {"id": "9-0", "kind": "clock.overrun", "at": NOW, "overrun_s": 30.5},
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "expected"), CLOCK_EVENTS, ids=[event.kind for event, _ in CLOCK_EVENTS]
)
def test_r4_viewers_and_consoles_get_the_clock_events_and_the_report_counts_none(
    event: Event, expected: dict[str, object]
) -> None:
    assert viewer(Update("9-0", event)) == expected
    assert clock_event("9-0", event) == expected
    by = {"by": "aliya"} if isinstance(event, PhaseChanged) else {}
    for staff in (staff_with_contacts, staff_without_contacts):
        assert staff(Update("9-0", event)) == expected | by | {"items": []}
    assert public_report(Board().fold("9-0", event)) is None  # counts of moderation only
    assert clock_event("9-0", MeetingStarted(at=NOW)) is None


# The broadcast's state (issue 16)


@pytest.mark.parametrize("state", ["live", "reconnecting", "ended"])
def test_r3_viewers_and_staff_get_the_broadcasts_state_and_overlays_and_the_report_nothing(
    state: str,
) -> None:
    """The player's badge and the producer's panel follow it; the overlays need nothing."""
    event = BroadcastChanged(at=NOW, state=state, part=2)
    expected = {"id": "9-0", "kind": "broadcast.changed", "at": NOW, "state": state, "part": 2}
    assert viewer(Update("9-0", event)) == expected
    assert viewer_history([("9-0", event)], hidden=set()) == [expected]
    for staff in (staff_with_contacts, staff_without_contacts):
        assert staff(Board().fold("9-0", event)) == expected | {"items": []}
    assert overlay(Board().fold("9-0", event)) is None
    assert public_report(Board().fold("9-0", event)) is None
    assert broadcast_event("9-0", MeetingStarted(at=NOW)) is None


# The studio's overlays (issue 9.3, 9.5)

ON_AIR_CONTACTS = "Су жоқ: +7 701 234 56 78, aigul@mail.kz, ЖСН 900101300123"


def test_the_overlays_get_public_questions_with_contacts_masked_and_never_a_new_one() -> None:
    board = Board()
    ask = QuestionAsked(
        at=NOW, channel=Channel.WEB, client_msg_id="q-1", viewer="v1", name="Ерлан 87012345678",
        text=ON_AIR_CONTACTS, suggested_topic="water", suggested_district="Медеу",
    )  # fmt: skip
    assert overlay(board.fold("1-0", ask)) is None  # moderators see it first
    update = board.fold("2-0", approved("1-0"))
    assert overlay(update) == {
        "id": "2-0",
        "kind": "question.approved",
        "questions": [
            {"question": "1-0", "status": "approved",
             "text": "Су жоқ: ••• ••• ••78, •••@mail.kz, ЖСН ••• ••• ••23",
             "name": "Ерлан ••• ••• ••78", "district": "", "channel": "web", "votes": 0,
             "at": NOW},
        ],
    }  # fmt: skip
    on_air = board.fold("3-0", QuestionQueued(at=NOW, by="mod", item="1-0", version=3))
    assert overlay(on_air) == {
        "id": "3-0",
        "kind": "question.queued",
        "questions": [studio_question(board.items["1-0"])],
    }
    assert studio_question(board.items["1-0"])["status"] == "queued"


# Issue 10.8: no phone, e-mail or IIN reaches a viewer, also inside a text or a name

MASKED_CONTACTS = "Су жоқ: ••• ••• ••78, •••@mail.kz, ЖСН ••• ••• ••23"


def test_a_web_question_reaches_viewers_with_contacts_masked_in_its_text_and_name() -> None:
    board = Board()
    ask = QuestionAsked(
        at=NOW, channel=Channel.WEB, client_msg_id="q-1", viewer="v1", name="Ерлан 87012345678",
        text=ON_AIR_CONTACTS,
    )  # fmt: skip
    board.fold("1-0", ask)
    event = dataclasses.replace(approved("1-0"), name=ask.name, text=ON_AIR_CONTACTS)
    shown = viewer(board.fold("2-0", event))
    assert shown is not None
    assert (shown["text"], shown["name"]) == (MASKED_CONTACTS, "Ерлан ••• ••• ••78")
    listed = public_question(board.items["1-0"])
    assert listed is not None
    assert (listed["text"], listed["name"]) == (MASKED_CONTACTS, "Ерлан ••• ••• ••78")


def test_a_comment_reaches_viewers_with_contacts_masked_also_once_released() -> None:
    name, text = "Аян aigul@mail.kz", "ЖСН 900101300123"
    shown = for_viewer("1-0", dataclasses.replace(posted(), name=name, text=text))
    assert shown is not None
    assert (shown["name"], shown["text"]) == ("Аян •••@mail.kz", "ЖСН ••• ••• ••23")
    released = CommentReleased(
        at=NOW + 5, by="mod", item="2-0", version=2, posted_at=NOW, channel=Channel.WEB,
        name="Аян", text="Звоните 87012345678",
    )  # fmt: skip
    again = for_viewer("3-0", released)
    assert again is not None
    assert again["text"] == "Звоните ••• ••• ••78"


# Issue 10.7: a sender's own items and their fates ("my questions")


@pytest.mark.parametrize(
    ("kind", "status", "word"),
    [
        (ItemKind.QUESTION, ItemStatus.NEW, "sent"),
        (ItemKind.QUESTION, ItemStatus.APPROVED, "approved"),
        (ItemKind.QUESTION, ItemStatus.MERGED, "merged"),
        (ItemKind.QUESTION, ItemStatus.ON_AIR, "on_air"),
        (ItemKind.QUESTION, ItemStatus.ANSWERED, "answered"),
        (ItemKind.QUESTION, ItemStatus.DEFERRED, "deferred"),
        (ItemKind.COMMENT, ItemStatus.SHOWN, "shown"),
    ],
)
def test_a_sender_sees_the_fate_of_what_they_sent(
    kind: ItemKind, status: ItemStatus, word: str
) -> None:
    own = dataclasses.replace(item("4-0", kind, status), text="Мой номер 87012345678")
    assert sent_item(own) == {
        "id": "4-0", "kind": kind.value, "text": "Мой номер ••• ••• ••78", "at": NOW,
        "status": word, "reason": "",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        (ItemKind.QUESTION, ItemStatus.REJECTED, "advertising"),  # R3: the moderator's reason
        (ItemKind.COMMENT, ItemStatus.HIDDEN, "spam"),
        (ItemKind.COMMENT, ItemStatus.HELD, "phone"),  # the first filter's reason
    ],
)
def test_r3_a_sender_learns_the_public_reason_of_a_hold_a_hide_or_a_rejection(
    kind: ItemKind, status: ItemStatus, reason: str
) -> None:
    own = item("5-0", kind, status)
    own = dataclasses.replace(own, held="phone", reason="" if status is ItemStatus.HELD else reason)
    shown = sent_item(own)
    assert (shown["status"], shown["reason"]) == (status.value, reason)


def test_the_overlays_learn_that_a_question_left_the_list_and_nothing_of_a_rejected_one() -> None:
    board = Board()
    board.fold("1-0", asked())
    board.fold("2-0", asked("Жол қашан жөнделеді?", viewer="v2"))
    board.fold("3-0", approved("1-0"))
    board.fold("4-0", approved("2-0"))
    merge = QuestionMerged(at=NOW, by="mod", item="2-0", version=3, into="1-0", into_version=3,
                           votes=2)  # fmt: skip
    update = board.fold("5-0", merge)
    assert overlay(update) == {
        "id": "5-0",
        "kind": "question.merged",
        "questions": [
            {"question": "2-0", "status": "gone"},
            studio_question(board.items["1-0"]),
        ],
    }
    board.fold("6-0", asked("Жарнама", viewer="v3"))
    rejected = QuestionRejected(at=NOW, by="mod", item="6-0", version=2, reason=SPAM)
    assert overlay(board.fold("7-0", rejected)) is None
    assert overlay(board.fold("8-0", posted(at=NOW))) is None  # the chat is not on air


def test_r4_the_overlays_get_the_clock_the_meeting_and_the_producers_order() -> None:
    for event, expected in CLOCK_EVENTS:
        assert overlay(Update("9-0", event)) == expected
    for event in (MeetingStarted(at=NOW), MeetingEnded(at=NOW + 5)):
        assert overlay(Update("9-0", event)) == {"id": "9-0", "kind": event.kind, "at": event.at}
    moved = RundownMoved(at=NOW, by="producer", question="5-0", position=0, order=("5-0", "4-0"))
    assert overlay(Update("9-0", moved)) == {
        "id": "9-0",
        "kind": "rundown.moved",
        "order": ["5-0", "4-0"],
    }
