"""Promises made on air (issue 12): who promised, their status, inherited and overdue."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from moderation.errors import InvalidInput, InvalidTransition, NotFound
from moderation.model import AkimLevel
from moderation.offices import Office, OfficeFields, add_office, change_holder
from moderation.offices import apply as apply_office
from moderation.promises import (
    PROMISE_KINDS,
    Pledge,
    Promise,
    PromiseMade,
    PromiseStatus,
    PromiseUpdated,
    StatusUpdate,
    apply,
    make_promise,
    tracker,
    update_promise,
)

DAY = date(2026, 3, 10)


def office(*holders: tuple[str, str]) -> dict[str, Office]:
    fields = OfficeFields(level=AkimLevel.LOCAL, territory="Алмалы")
    offices = apply_office({}, add_office({}, "almaly", fields, by="root", now=1))
    for name, since in holders:
        event = change_holder(offices, "almaly", name, since, by="root", now=2)
        offices = apply_office(offices, event)
    return offices


def made(offices: dict[str, Office], pledge: Pledge, promise_id: str = "p0001",
         today: date = DAY) -> PromiseMade:  # fmt: skip
    return make_promise(offices, pledge, promise_id=promise_id, office="almaly",
                        meeting="almaly-demo", today=today, by="producer", now=100)  # fmt: skip


def test_a_promise_is_made_by_the_holder_of_the_day_by_default() -> None:
    offices = office(("Бірінші", "2025-01-01"))
    event = made(offices, Pledge(what=" Жолды  жөндеу ", due="2026-06-01", question="17-0"))
    assert event == PromiseMade(at=100, by="producer", promise="p0001", office="almaly",
                                meeting="almaly-demo", question="17-0", what="Жолды жөндеу",
                                due="2026-06-01", promised_by="Бірінші",
                                made_on="2026-03-10")  # fmt: skip
    promise = apply({}, event)["p0001"]
    assert promise.status is PromiseStatus.PENDING
    assert promise.made_at == 100
    assert promise.updates == ()


def test_someone_else_may_promise() -> None:
    event = made(office(), Pledge(what="x", due="2026-06-01", promised_by="Head of roads"))
    assert event.promised_by == "Head of roads"


@pytest.mark.parametrize(
    ("pledge", "error"),
    [
        (Pledge(what="  ", due="2026-06-01"), "what is required"),
        (Pledge(what="x" * 501, due="2026-06-01"), "what is over"),
        (Pledge(what="x", due="June"), "due must be a date"),
        (Pledge(what="x", due="2026-06-01", question="q1"), "question must be"),
        (Pledge(what="x", due="2026-06-01", promised_by="x" * 121), "promised_by is over"),
    ],
)
def test_bad_promises_are_refused_naming_the_field(pledge: Pledge, error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        made(office(("Бірінші", "2025-01-01")), pledge)


def test_with_no_holder_that_day_someone_must_be_named() -> None:
    with pytest.raises(InvalidInput, match="promised_by is required"):
        made(office(("Бірінші", "2026-04-01")), Pledge(what="x", due="2026-06-01"))


def test_a_promise_needs_a_known_office() -> None:
    with pytest.raises(NotFound):
        make_promise({}, Pledge(what="x", due="2026-06-01"), promise_id="p0001", office="x",
                     meeting="m", today=DAY, by="b", now=1)  # fmt: skip


def promises(*pledges: Pledge) -> dict[str, Promise]:
    offices = office(("Бірінші", "2025-01-01"))
    found: dict[str, Promise] = {}
    for number, pledge in enumerate(pledges):
        found = apply(found, made(offices, pledge, promise_id=f"p{number:04}"))
    return found


def test_dated_status_updates_are_kept_in_order() -> None:
    found = promises(Pledge(what="x", due="2026-06-01"))
    first = update_promise(found, "p0000", "in_progress", " started ", today=DAY, by="mod", now=5)
    assert first == PromiseUpdated(at=5, by="mod", promise="p0000",
                                   status=PromiseStatus.IN_PROGRESS, on="2026-03-10",
                                   note="started")  # fmt: skip
    found = apply(found, first)
    again = update_promise(found, "p0000", "in_progress", "half done", today=DAY, by="mod", now=6)
    found = apply(found, again)
    kept = update_promise(found, "p0000", "kept", "", today=DAY, by="mod", now=7)
    found = apply(found, kept)
    assert found["p0000"].status is PromiseStatus.KEPT
    assert [u.note for u in found["p0000"].updates] == ["started", "half done", ""]
    assert found["p0000"].updates[-1] == StatusUpdate(at=7, by="mod", on="2026-03-10",
                                                      status=PromiseStatus.KEPT)  # fmt: skip


def test_bad_updates_are_refused() -> None:
    found = promises(Pledge(what="x", due="2026-06-01"))
    with pytest.raises(NotFound):
        update_promise(found, "p9999", "kept", "", today=DAY, by="m", now=1)
    with pytest.raises(InvalidInput, match="status is one of"):
        update_promise(found, "p0000", "forgotten", "", today=DAY, by="m", now=1)
    with pytest.raises(InvalidInput, match="note is over"):
        update_promise(found, "p0000", "kept", "x" * 501, today=DAY, by="m", now=1)
    with pytest.raises(InvalidInput, match="note is required"):
        update_promise(found, "p0000", "pending", "", today=DAY, by="m", now=1)


def test_a_verdict_is_final() -> None:
    found = promises(Pledge(what="x", due="2026-06-01"))
    found = apply(found, update_promise(found, "p0000", "broken", "", today=DAY, by="m", now=1))
    with pytest.raises(InvalidTransition, match="final"):
        update_promise(found, "p0000", "kept", "it was done after all", today=DAY, by="m", now=2)


def test_overdue_is_past_its_date_and_not_settled() -> None:
    promise = promises(Pledge(what="x", due="2026-06-01"))["p0000"]
    assert not promise.is_overdue(date(2026, 6, 1))  # due that day: not late yet
    assert promise.is_overdue(date(2026, 6, 2))
    kept = dataclasses.replace(promise, status=PromiseStatus.KEPT)
    assert not kept.is_overdue(date(2026, 6, 2))


def test_promises_made_under_an_earlier_holder_are_inherited() -> None:
    offices = office(("Бірінші", "2025-01-01"))
    promise = apply({}, made(offices, Pledge(what="x", due="2026-06-01")))["p0001"]
    assert not promise.is_inherited(offices["almaly"])
    later = apply_office(offices, change_holder(offices, "almaly", "Екінші", "2026-04-01",
                                                by="root", now=3))  # fmt: skip
    assert promise.is_inherited(later["almaly"])
    assert not promise.is_inherited(office()["almaly"])  # no holder: nobody inherits


def test_the_tracker_lists_overdue_first_then_by_due_date_settled_last() -> None:
    found = promises(
        Pledge(what="later", due="2026-09-01"),
        Pledge(what="late a little", due="2026-05-01"),
        Pledge(what="kept", due="2026-04-01"),
        Pledge(what="late a lot", due="2026-04-15"),
        Pledge(what="sooner", due="2026-07-01"),
    )
    found = apply(found, update_promise(found, "p0002", "kept", "", today=DAY, by="m", now=2))
    other = Promise(id="x0001", office="elsewhere", meeting="m", what="not ours", due="2026-01-01",
                    promised_by="x", made_on="2026-01-01", made_at=1, by="b")  # fmt: skip
    listed = tracker(office()["almaly"], [*found.values(), other], date(2026, 6, 1))
    assert [p.what for p in listed] == ["late a lot", "late a little", "sooner", "later", "kept"]


def test_the_registry_names_each_event_by_its_kind() -> None:
    kinds = {"promise.made": PromiseMade, "promise.updated": PromiseUpdated}
    assert kinds == PROMISE_KINDS


def test_the_public_shape_of_a_promise() -> None:
    offices = office(("Бірінші", "2025-01-01"))
    found = apply({}, made(offices, Pledge(what="Жол", due="2026-03-01")))
    found = apply(found, update_promise(found, "p0001", "in_progress", "басталды", today=DAY,
                                        by="mod", now=5))  # fmt: skip
    later = apply_office(offices, change_holder(offices, "almaly", "Екінші", "2026-04-01",
                                                by="root", now=6))  # fmt: skip
    assert found["p0001"].public(later["almaly"], date(2026, 4, 2)) == {
        "id": "p0001",
        "what": "Жол",
        "due": "2026-03-01",
        "status": "in_progress",
        "promised_by": "Бірінші",
        "office": "almaly",
        "meeting": "almaly-demo",
        "question": None,
        "made_on": "2026-03-10",
        "inherited": True,
        "overdue": True,
        "updates": [{"on": "2026-03-10", "status": "in_progress", "note": "басталды"}],
    }
