"""The rundown and the air (R4: the meeting's time is residents' questions and the answers):
what is on air, the order of what waits, and the producer's take, clear, next and move.

Decisions are folded into the board as the record would fold them, so each test reads the
board the next decision sees.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.board import Board
from moderation.errors import InvalidInput, InvalidTransition, NotFound
from moderation.events import (
    Event,
    QuestionAnswered,
    QuestionDeferred,
    QuestionOffAir,
    QuestionOnAir,
    RundownMoved,
)
from moderation.model import Item, ItemKind, ItemStatus
from moderation.rundown import clear, finish, move, next, on_air, rundown, take
from tests.moderation._records import NOW, board_with, item

S = ItemStatus
Q = ItemKind.QUESTION


def question(item_id: str, status: ItemStatus, *, at: int = NOW) -> Item:
    return dataclasses.replace(item(item_id, Q, status), at=at)


def fold(board: Board, events: Sequence[Event], *, first: int = 100) -> Board:
    for n, event in enumerate(events, start=first):
        board.apply(f"{n}-0", event)
    return board


def ids(items: Sequence[Item]) -> list[str]:
    return [i.id for i in items]


def three_waiting() -> Board:
    """Approved 1 (oldest), queued 2, approved 3, queued 4 (newest), and new 5."""
    return board_with(
        question("1", S.APPROVED, at=NOW + 1),
        question("2", S.QUEUED, at=NOW + 2),
        question("3", S.APPROVED, at=NOW + 3),
        question("4", S.QUEUED, at=NOW + 4),
        question("5", S.NEW, at=NOW + 5),
        item("6", ItemKind.COMMENT, S.SHOWN),
    )


# What is on air, what waits


def test_nothing_is_on_air_on_a_board_without_one() -> None:
    assert on_air(three_waiting()) is None


def test_on_air_is_the_question_put_there_last() -> None:
    first = dataclasses.replace(question("1", S.ON_AIR), changed_at=NOW + 1)
    last = dataclasses.replace(question("2", S.ON_AIR), changed_at=NOW + 2)
    assert on_air(board_with(first, last)) == last


def test_r4_the_rundown_is_queued_then_approved_each_oldest_first_until_ordered() -> None:
    assert ids(rundown(three_waiting())) == ["2", "4", "1", "3"]


def test_the_rundown_leaves_out_new_answered_deferred_and_on_air_questions() -> None:
    board = board_with(
        question("1", S.NEW),
        question("2", S.ON_AIR),
        question("3", S.ANSWERED),
        question("4", S.DEFERRED),
        question("5", S.REJECTED),
        question("6", S.APPROVED),
    )
    assert ids(rundown(board)) == ["6"]


def test_placed_questions_come_first_and_later_ones_follow_in_the_default_order() -> None:
    board = three_waiting()
    board.placed = ("3", "gone", "1", "3")
    assert ids(rundown(board)) == ["3", "1", "2", "4"]


# take


def test_a_take_puts_a_waiting_question_on_air_at_its_moment() -> None:
    board = three_waiting()
    events = take(board, "1", by="producer", now=NOW + 50)
    assert events == [QuestionOnAir(at=NOW + 50, by="producer", item="1", version=2)]
    fold(board, events)
    assert on_air(board) is not None
    assert on_air(board) == board.items["1"]
    assert ids(rundown(board)) == ["2", "4", "3"]


def test_a_take_replaces_what_is_on_air_and_the_replaced_goes_back_to_the_top() -> None:
    board = fold(three_waiting(), take(three_waiting(), "4", by="p", now=NOW + 10))
    events = take(board, "3", by="p", now=NOW + 20)
    assert events == [
        QuestionOffAir(at=NOW + 20, by="p", item="4", version=3),
        QuestionOnAir(at=NOW + 20, by="p", item="3", version=2),
    ]
    fold(board, events, first=200)
    assert on_air(board) == board.items["3"]
    assert ids(rundown(board)) == ["4", "2", "1"]
    assert board.items["4"].status is S.QUEUED


def test_a_take_after_an_answer_puts_nothing_back() -> None:
    board = fold(three_waiting(), take(three_waiting(), "4", by="p", now=NOW + 10))
    fold(board, [QuestionAnswered(at=NOW + 15, by="mod", item="4", version=3)], first=150)
    events = take(board, "3", by="p", now=NOW + 20)
    assert events == [QuestionOnAir(at=NOW + 20, by="p", item="3", version=2)]
    fold(board, events, first=200)
    assert ids(rundown(board)) == ["2", "1"]


@pytest.mark.parametrize("status", [S.NEW, S.ON_AIR, S.ANSWERED, S.DEFERRED, S.REJECTED])
def test_a_take_of_a_question_not_waiting_is_refused(status: ItemStatus) -> None:
    with pytest.raises(InvalidTransition, match=f"is {status}"):
        take(board_with(question("1", status)), "1", by="p", now=NOW)


@pytest.mark.parametrize("subject", ["nope", "6"])
def test_a_take_of_an_unknown_question_or_a_comment_is_not_found(subject: str) -> None:
    with pytest.raises(NotFound, match="no question"):
        take(three_waiting(), subject, by="p", now=NOW)


# clear


def test_clear_leaves_nothing_on_air_and_the_cleared_goes_back_to_the_top() -> None:
    board = fold(three_waiting(), take(three_waiting(), "3", by="p", now=NOW + 10))
    events = clear(board, by="p", now=NOW + 30)
    assert events == [QuestionOffAir(at=NOW + 30, by="p", item="3", version=3)]
    fold(board, events, first=200)
    assert on_air(board) is None
    assert ids(rundown(board)) == ["3", "2", "4", "1"]


def test_clear_takes_every_question_off_the_air_the_last_put_there_ending_on_top() -> None:
    older = dataclasses.replace(question("1", S.ON_AIR), changed_at=NOW + 1)
    newer = dataclasses.replace(question("2", S.ON_AIR), changed_at=NOW + 2)
    board = board_with(newer, older, question("3", S.QUEUED))
    events = clear(board, by="p", now=NOW + 9)
    assert [e.item for e in events] == ["1", "2"]
    fold(board, events)
    assert on_air(board) is None
    assert ids(rundown(board)) == ["2", "1", "3"]


def test_clear_with_nothing_on_air_decides_nothing() -> None:
    assert clear(three_waiting(), by="p", now=NOW) == []


# next


@pytest.mark.parametrize(
    ("answered", "kind"), [(True, QuestionAnswered), (False, QuestionDeferred)]
)
def test_r4_the_question_on_air_leaves_it_answered_or_deferred_for_good(
    answered: bool, kind: type[QuestionAnswered | QuestionDeferred]
) -> None:
    board = fold(three_waiting(), take(three_waiting(), "4", by="p", now=NOW + 10))
    events = finish(board, answered=answered, by="p", now=NOW + 30)
    assert events == [kind(at=NOW + 30, by="p", item="4", version=3)]
    fold(board, events, first=300)
    assert on_air(board) is None
    assert "4" not in ids(rundown(board))  # never back in the rundown


def test_nothing_on_air_cannot_be_answered_or_deferred() -> None:
    with pytest.raises(InvalidTransition, match="nothing is on air"):
        finish(three_waiting(), answered=True, by="p", now=NOW)


def test_next_takes_the_first_of_the_rundown() -> None:
    board = three_waiting()
    assert next(board, by="p", now=NOW + 5) == [
        QuestionOnAir(at=NOW + 5, by="p", item="2", version=2)
    ]


def test_next_on_an_empty_rundown_is_refused_clearly() -> None:
    with pytest.raises(InvalidTransition, match="the rundown is empty"):
        next(board_with(question("1", S.ANSWERED)), by="p", now=NOW)


# move


def test_a_move_fixes_the_whole_order_and_next_follows_it() -> None:
    board = three_waiting()
    moved = move(board, "3", 0, by="p", now=NOW + 5)
    assert moved == RundownMoved(
        at=NOW + 5, by="p", question="3", position=0, order=("3", "2", "4", "1")
    )
    fold(board, [moved])
    assert ids(rundown(board)) == ["3", "2", "4", "1"]
    assert next(board, by="p", now=NOW + 6)[-1].item == "3"


def test_a_move_past_the_end_goes_to_the_end() -> None:
    moved = move(three_waiting(), "2", 99, by="p", now=NOW)
    assert (moved.position, moved.order) == (3, ("4", "1", "3", "2"))


def test_a_question_approved_after_a_move_joins_after_the_placed_ones() -> None:
    board = fold(three_waiting(), [move(three_waiting(), "1", 0, by="p", now=NOW)])
    board.items["7"] = question("7", S.QUEUED, at=NOW - 5)
    assert ids(rundown(board)) == ["1", "2", "4", "3", "7"]


def test_a_move_to_a_negative_position_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="position"):
        move(three_waiting(), "1", -1, by="p", now=NOW)


@pytest.mark.parametrize("status", [S.NEW, S.ON_AIR, S.ANSWERED])
def test_a_move_of_a_question_not_in_the_rundown_is_refused(status: ItemStatus) -> None:
    with pytest.raises(InvalidTransition, match="not in the rundown"):
        move(board_with(question("1", status)), "1", 0, by="p", now=NOW)


def test_a_move_of_an_unknown_question_is_not_found() -> None:
    with pytest.raises(NotFound):
        move(three_waiting(), "nope", 0, by="p", now=NOW)


# Properties: whatever the producer does, the air and the rundown stay whole (R4)

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("take"), st.integers(0, 7)),
        st.tuples(st.just("clear"), st.just(0)),
        st.tuples(st.just("next"), st.just(0)),
        st.tuples(st.just("move"), st.integers(0, 7), st.integers(0, 9)),
        st.tuples(st.just("answer"), st.just(0)),
        st.tuples(st.just("defer"), st.just(0)),
    ),
    max_size=40,
)


def decide(board: Board, step: tuple[int | str, ...], now: int) -> list[Event]:
    """One step of the producer (or a moderator answering); a refused one decides nothing."""
    name, *args = step
    subject = str(args[0])
    current = on_air(board)
    try:
        if name == "take":
            return list(take(board, subject, by="p", now=now))
        if name == "clear":
            return list(clear(board, by="p", now=now))
        if name == "next":
            return list(next(board, by="p", now=now))
        if name == "move":
            return [move(board, subject, int(args[1]), by="p", now=now)]
    except (InvalidTransition, NotFound):
        return []
    if current is None:
        return []
    kind = QuestionAnswered if name == "answer" else QuestionDeferred
    return [kind(at=now, by="mod", item=current.id, version=current.version + 1)]


def eight() -> Board:
    statuses = [S.APPROVED, S.QUEUED, S.NEW, S.APPROVED, S.QUEUED, S.APPROVED, S.NEW, S.QUEUED]
    return board_with(*(question(str(n), s, at=NOW + n) for n, s in enumerate(statuses)))


@settings(max_examples=300, deadline=None)
@given(STEPS)
def test_r4_whatever_the_steps_one_on_air_at_most_and_none_lost_doubled_or_back(
    steps: list[tuple[int | str, ...]],
) -> None:
    board = eight()
    gone: set[str] = set()
    for n, step in enumerate(steps):
        fold(board, decide(board, step, NOW + 100 + n), first=100 + 10 * n)
        shown = [i for i in board.questions() if i.status is S.ON_AIR]
        assert len(shown) <= 1
        waiting = ids(rundown(board))
        assert len(waiting) == len(set(waiting))  # none doubled
        live = {i.id for i in board.questions() if i.status in (S.APPROVED, S.QUEUED)}
        assert set(waiting) == live  # none lost
        gone |= {i.id for i in board.questions() if i.status is S.ANSWERED}
        assert not gone & (set(waiting) | set(ids(shown)))  # an answered one never comes back
        assert {i.id for i in board.questions() if i.status is S.NEW} == {"2", "6"}


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_r4_a_take_replaces_what_is_on_air_and_puts_it_on_top(
    steps: list[tuple[int | str, ...]],
) -> None:
    board = eight()
    for n, step in enumerate(steps):
        fold(board, decide(board, step, NOW + n), first=100 + 10 * n)
    before, waiting = on_air(board), rundown(board)
    if not waiting:
        return
    taken = waiting[-1]
    fold(board, take(board, taken.id, by="p", now=NOW + 999), first=9000)
    assert on_air(board) == board.items[taken.id]
    after = ids(rundown(board))
    assert taken.id not in after
    if before is not None:
        assert after[0] == before.id
