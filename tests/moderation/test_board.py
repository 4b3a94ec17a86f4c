"""The board folded from the record: each event's items before and after, votes, merges, and the
questions later ones may repeat (R4). Events are written out, so the fold is tested on its own."""

from __future__ import annotations

import dataclasses

import pytest

from moderation import Channel, HoldReason, MeetingEnded, MeetingStarted
from moderation.board import (
    NOT_REPEATABLE,
    STATUS_AFTER,
    Board,
    Repeatable,
    Update,
    comment_item,
    may_be_repeated,
    question_item,
)
from moderation.events import (
    Change,
    CommentHidden,
    CommentReleased,
    Event,
    QuestionAnswered,
    QuestionApproved,
    QuestionAsked,
    QuestionDeferred,
    QuestionEdited,
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
from moderation.model import Item, ItemKind, ItemStatus, ModerationReason
from tests.moderation._records import NOW, STATUSES, held, item, posted

WATER = "Когда дадут воду в Медеуском районе?"


def asked(viewer: str = "v1", text: str = WATER, **fields: object) -> QuestionAsked:
    return QuestionAsked(
        at=NOW, channel=Channel.WEB, client_msg_id=f"c-{viewer}", viewer=viewer, name="Ерлан",
        text=text, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def approved(question: str, version: int, *, at: int = NOW + 10) -> QuestionApproved:
    return QuestionApproved(
        at=at, by="mod", item=question, version=version, asked_at=NOW, channel=Channel.WEB,
        name="Ерлан", text=WATER,
    )  # fmt: skip


def folded(*entries: tuple[str, Event]) -> Board:
    board = Board()
    for event_id, event in entries:
        board.fold(event_id, event)
    return board


# Items made by events


def test_a_comment_is_an_item_shown_or_held_with_the_filters_reason() -> None:
    assert comment_item("1-0", posted("Сәлем", at=NOW)) == Item(
        id="1-0", kind=ItemKind.COMMENT, status=ItemStatus.SHOWN, at=NOW, channel=Channel.WEB,
        viewer="v9", name="Аян", text="Сәлем", changed_at=NOW,
    )  # fmt: skip
    assert comment_item("2-0", held("87012345678", HoldReason.PHONE, at=NOW + 1)) == Item(
        id="2-0", kind=ItemKind.COMMENT, status=ItemStatus.HELD, at=NOW + 1, channel=Channel.WEB,
        viewer="v9", name="Аян", text="87012345678", held="phone", changed_at=NOW + 1,
    )  # fmt: skip


def test_r4_an_asked_question_is_new_with_its_asker_and_suggestions() -> None:
    event = asked(district="Медеу", held="phone", suggested_topic="water",
                  suggested_district="Медеу", similar=("1-0",))  # fmt: skip
    assert question_item("3-0", event) == Item(
        id="3-0", kind=ItemKind.QUESTION, status=ItemStatus.NEW, at=NOW, channel=Channel.WEB,
        viewer="v1", name="Ерлан", text=WATER, held="phone", district="Медеу",
        suggested_topic="water", suggested_district="Медеу", similar=("1-0",), askers=("v1",),
        changed_at=NOW,
    )  # fmt: skip


# fold: the items an event changed, before and after


def test_fold_names_a_created_item_with_nothing_before_it() -> None:
    board = Board()
    update = board.fold("1-0", asked())
    assert update == Update("1-0", asked(), (question_item("1-0", asked()),), (None,))
    assert board.items == {"1-0": question_item("1-0", asked())}


def test_fold_names_a_changed_item_as_it_was_and_as_it_is() -> None:
    board = folded(("1-0", asked()))
    before = board.items["1-0"]
    update = board.fold("2-0", approved("1-0", 2))
    after = dataclasses.replace(
        before, status=ItemStatus.APPROVED, version=2, by="mod", changed_at=NOW + 10
    )
    assert update == Update("2-0", approved("1-0", 2), (after,), (before,))
    assert board.items["1-0"] == after


def test_apply_returns_the_items_fold_names() -> None:
    board = folded(("1-0", asked()))
    assert board.apply("2-0", approved("1-0", 2)) == [board.items["1-0"]]
    assert board.apply("3-0", MeetingEnded(at=NOW)) == []


@pytest.mark.parametrize(
    "event",
    [
        MeetingStarted(at=NOW),
        MeetingEnded(at=NOW),
        CommentHidden(at=NOW, by="mod", item="404-0", version=2, reason=ModerationReason.SPAM),
        approved("404-0", 2),
        QuestionMerged(at=NOW, by="mod", item="404-0", version=2, into="1-0", into_version=2),
        QuestionVoted(at=NOW, question="404-0", viewer="v2", votes=1),
    ],
    ids=lambda event: event.kind,
)
def test_events_of_no_item_on_the_board_change_no_item(event: Event) -> None:
    board = folded(("1-0", asked()))
    items = dict(board.items)
    assert board.fold("9-0", event) == Update("9-0", event)
    assert board.items == items


def test_a_vote_for_a_question_not_on_the_board_still_counts_its_voter() -> None:
    """One vote per viewer holds even on a board that holds only some of the items (R4)."""
    board = Board()
    board.fold("2-0", QuestionVoted(at=NOW, question="1-0", viewer="v2", votes=1))
    assert board.voters == {"1-0": {"v2"}}


def test_r4_a_vote_sets_the_count_the_event_recorded() -> None:
    board = folded(("1-0", asked()), ("2-0", approved("1-0", 2)))
    before = board.items["1-0"]
    update = board.fold("3-0", QuestionVoted(at=NOW + 20, question="1-0", viewer="v2", votes=1))
    assert update.items == (dataclasses.replace(before, votes=1),)
    assert board.voters == {"1-0": {"v2"}}


def test_r3_hiding_and_rejecting_keep_the_reason_and_releasing_clears_it() -> None:
    board = folded(("1-0", posted()), ("2-0", asked()))
    hide = CommentHidden(at=NOW + 1, by="mod", item="1-0", version=2, reason=ModerationReason.ABUSE)
    reject = QuestionRejected(
        at=NOW + 2, by="mod", item="2-0", version=2, reason=ModerationReason.NOT_A_QUESTION
    )
    board.fold("3-0", hide)
    board.fold("4-0", reject)
    assert (board.items["1-0"].status, board.items["1-0"].reason) == (ItemStatus.HIDDEN, "abuse")
    assert (board.items["2-0"].status, board.items["2-0"].reason) == (
        ItemStatus.REJECTED, "not_a_question",
    )  # fmt: skip
    release = CommentReleased(
        at=NOW + 3, by="mod", item="1-0", version=3, posted_at=NOW, channel=Channel.WEB,
        name="Аян", text="Сәлем",
    )  # fmt: skip
    assert board.apply("5-0", release) == [
        dataclasses.replace(comment_item("1-0", posted()), version=3, by="mod", changed_at=NOW + 3)
    ]


def test_a_tag_sets_the_topic_and_district_and_keeps_the_status() -> None:
    board = folded(("1-0", asked()), ("2-0", approved("1-0", 2)))
    tag = QuestionTagged(at=NOW + 30, by="lead", item="1-0", version=3, topic="water",
                         district="Медеу")  # fmt: skip
    (after,) = board.apply("3-0", tag)
    assert (after.status, after.topic, after.district, after.version, after.by) == (
        ItemStatus.APPROVED, "water", "Медеу", 3, "lead",
    )  # fmt: skip


def test_an_edit_by_its_sender_changes_the_text_and_keeps_the_status() -> None:
    """Issue 10: a Telegram edit of a new question; a language left unknown stays as it was."""
    board = folded(("1-0", asked()))
    edit = QuestionEdited(at=NOW + 30, by="s1", item="1-0", version=2, text="Су жоқ",
                          language="kk", held="")  # fmt: skip
    (after,) = board.apply("2-0", edit)
    assert (after.status, after.text, after.language, after.version) == (
        ItemStatus.NEW, "Су жоқ", "kk", 2,
    )  # fmt: skip
    again = QuestionEdited(at=NOW + 40, by="s1", item="1-0", version=3, text="Су жоқ!")
    (last,) = board.apply("3-0", again)
    assert (last.text, last.language) == ("Су жоқ!", "kk")


def test_a_promoted_comment_stays_and_a_new_question_points_back_to_it() -> None:
    board = folded(("1-0", held("Су жоқ, 87012345678", HoldReason.PHONE)))
    promote = QuestionPromoted(
        at=NOW + 5, by="mod", item="1-0", version=2, channel=Channel.WEB, viewer="v9",
        name="Аян", text="Су жоқ, 87012345678", suggested_topic="water",
    )  # fmt: skip
    comment, question = board.apply("2-0", promote)
    assert comment == dataclasses.replace(
        board.items["1-0"], promoted=True, version=2, by="mod", changed_at=NOW + 5
    )
    assert comment.status is ItemStatus.HELD  # promoting keeps the comment where it was
    assert question == Item(
        id="2-0", kind=ItemKind.QUESTION, status=ItemStatus.NEW, at=NOW + 5, channel=Channel.WEB,
        viewer="v9", name="Аян", text="Су жоқ, 87012345678", held="phone",
        suggested_topic="water", source="1-0", askers=("v9",), by="mod", changed_at=NOW + 5,
    )  # fmt: skip


def test_r4_a_merge_joins_askers_once_and_moves_the_voters_to_the_target() -> None:
    board = folded(
        ("1-0", asked("v1")),
        ("2-0", asked("v2")),
        ("3-0", approved("1-0", 2)),
        ("4-0", approved("2-0", 2)),
        ("5-0", QuestionVoted(at=NOW, question="1-0", viewer="v3", votes=1)),
        ("6-0", QuestionVoted(at=NOW, question="2-0", viewer="v3", votes=1)),
        ("7-0", QuestionVoted(at=NOW, question="2-0", viewer="v4", votes=2)),
    )
    board.items["1-0"] = dataclasses.replace(board.items["1-0"], askers=("v1", "v2"))
    merge = QuestionMerged(
        at=NOW + 40, by="mod", item="2-0", version=3, into="1-0", into_version=3, votes=2
    )
    source_before, target_before = board.items["2-0"], board.items["1-0"]
    update = board.fold("8-0", merge)
    source = dataclasses.replace(
        source_before, status=ItemStatus.MERGED, merged_into="1-0", version=3, by="mod",
        changed_at=NOW + 40,
    )  # fmt: skip
    target = dataclasses.replace(
        target_before, askers=("v1", "v2"), votes=2, version=3, by="mod", changed_at=NOW + 40
    )
    assert update == Update("8-0", merge, (source, target), (source_before, target_before))
    assert board.voters["1-0"] == {"v3", "v4"}


def test_a_merge_into_a_question_not_on_the_board_changes_only_the_merged_one() -> None:
    board = folded(
        ("1-0", asked("v1")), ("2-0", QuestionVoted(at=NOW, question="1-0", viewer="v5", votes=1))
    )
    merge = QuestionMerged(at=NOW + 1, by="mod", item="1-0", version=2, into="0-1", into_version=9)
    (source,) = board.apply("3-0", merge)
    assert (source.status, source.merged_into) == (ItemStatus.MERGED, "0-1")
    assert board.voters == {"1-0": {"v5"}, "0-1": {"v5"}}


STAFF_CHANGES: list[tuple[str, Change, ItemStatus]] = [
    ("1-0", CommentHidden(at=NOW, by="mod", item="1-0", version=2, reason=ModerationReason.SPAM),
     ItemStatus.HIDDEN),
    ("1-0", CommentReleased(at=NOW, by="mod", item="1-0", version=2, posted_at=NOW,
                            channel=Channel.WEB, name="Аян", text="Сәлем"), ItemStatus.SHOWN),
    ("2-0", approved("2-0", 2), ItemStatus.APPROVED),
    ("2-0", QuestionRejected(at=NOW, by="mod", item="2-0", version=2,
                             reason=ModerationReason.OUT_OF_SCOPE), ItemStatus.REJECTED),
    ("2-0", QuestionMerged(at=NOW, by="mod", item="2-0", version=2, into="3-0",
                           into_version=2), ItemStatus.MERGED),
    ("2-0", QuestionQueued(at=NOW, by="mod", item="2-0", version=2), ItemStatus.QUEUED),
    ("2-0", QuestionOnAir(at=NOW, by="mod", item="2-0", version=2), ItemStatus.ON_AIR),
    ("2-0", QuestionOffAir(at=NOW, by="p", item="2-0", version=2), ItemStatus.QUEUED),
    ("2-0", QuestionAnswered(at=NOW, by="mod", item="2-0", version=2), ItemStatus.ANSWERED),
    ("2-0", QuestionDeferred(at=NOW, by="mod", item="2-0", version=2), ItemStatus.DEFERRED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("subject", "event", "status"), STAFF_CHANGES, ids=[e.kind for _, e, _ in STAFF_CHANGES]
)
def test_a_staff_event_leaves_its_item_in_its_status_at_its_version(
    subject: str, event: Change, status: ItemStatus
) -> None:
    board = folded(("1-0", held()), ("2-0", asked("v1")), ("3-0", asked("v2")))
    changed = {i.id: i for i in board.apply("9-0", event)}
    assert (changed[subject].status, changed[subject].version) == (status, 2)
    assert STATUS_AFTER[type(event)] is status


def test_r4_a_move_sets_the_producers_order_and_changes_no_item() -> None:
    board = folded(("2-0", asked("v1")), ("3-0", asked("v2")))
    moved = RundownMoved(at=NOW, by="p", question="3-0", position=0, order=("3-0", "2-0"))
    assert board.fold("4-0", moved) == Update("4-0", moved)
    assert board.placed == ("3-0", "2-0")


def test_r4_a_question_off_the_air_goes_to_the_top_of_the_producers_order_once() -> None:
    board = folded(("2-0", asked("v1")), ("3-0", asked("v2")))
    board.placed = ("3-0", "2-0")
    board.apply("4-0", QuestionOffAir(at=NOW, by="p", item="2-0", version=2))
    assert board.placed == ("2-0", "3-0")
    assert board.items["2-0"].status is ItemStatus.QUEUED


def test_the_board_can_start_from_items_and_lists_its_questions() -> None:
    comment = item("1-0", ItemKind.COMMENT, ItemStatus.SHOWN)
    question = item("2-0", ItemKind.QUESTION, ItemStatus.NEW)
    board = Board([comment, question])
    assert board.items == {"1-0": comment, "2-0": question}
    assert board.questions() == [question]
    assert board.voters == {}


# The questions later ones may repeat (R4)


@pytest.mark.parametrize(
    ("kind", "status"),
    [(kind, status) for kind, statuses in STATUSES.items() for status in statuses],
    ids=str,
)
def test_r4_a_question_may_be_repeated_unless_it_was_rejected_or_merged(
    kind: ItemKind, status: ItemStatus
) -> None:
    expected = kind is ItemKind.QUESTION and status.value not in ("rejected", "merged")
    assert may_be_repeated(item("1-0", kind, status)) is expected
    assert (status in NOT_REPEATABLE) is (status.value in ("rejected", "merged"))


ROADS = "Когда отремонтируют дорогу на улице Абая?"
RECORD: list[tuple[str, Event]] = [
    ("1-0", asked("v1", WATER)),
    ("2-0", asked("v2", ROADS)),
    ("3-0", asked("v3", "Когда починят дорогу на Абая?")),
    ("4-0", posted(ROADS)),
    ("5-0", approved("1-0", 2)),
    ("6-0", QuestionRejected(at=NOW, by="mod", item="2-0", version=2,
                             reason=ModerationReason.OFF_TOPIC)),
    ("7-0", QuestionPromoted(at=NOW, by="mod", item="4-0", version=2, channel=Channel.WEB,
                             viewer="v9", name="Аян", text=ROADS)),
    ("8-0", QuestionMerged(at=NOW, by="mod", item="3-0", version=2, into="7-0",
                           into_version=2)),
    ("9-0", QuestionOnAir(at=NOW, by="mod", item="1-0", version=3)),
    ("10-0", QuestionVoted(at=NOW, question="1-0", viewer="v4", votes=1)),
    ("11-0", CommentHidden(at=NOW, by="mod", item="4-0", version=3,
                           reason=ModerationReason.SPAM)),
]  # fmt: skip


def test_r4_repeatable_indexes_the_questions_the_board_says_may_be_repeated() -> None:
    board, repeatable = Board(), Repeatable()
    for step, (event_id, event) in enumerate(RECORD, start=1):
        board.fold(event_id, event)
        repeatable.apply(event_id, event)
        expected = [(q.id, q.text) for q in board.questions() if may_be_repeated(q)]
        assert sorted(repeatable.index.entries()) == sorted(expected), f"after {step} events"
    assert repeatable.index.entries() == [("1-0", WATER), ("7-0", ROADS)]
    assert repeatable.index.duplicates(ROADS) == [("7-0", 1.0)]
