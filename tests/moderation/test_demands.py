"""Meetings on demand (R2, issue 13): a resident asks for a meeting outside the calendar, others
support it (one resident counts once), and the akimat's answer is recorded and shown."""

from __future__ import annotations

from typing import Any

import pytest

from moderation.demands import (
    Demand,
    DemandAnswered,
    DemandEvent,
    DemandMade,
    DemandSupported,
    answer,
    fold,
    get,
    listed,
    make,
    support,
)
from moderation.errors import Conflict, InvalidInput, InvalidTransition, NotFound

NOW = 1_763_614_800_000
OFFICES = ("almaty", "almaty-medeu")
ABOUT = "Просим встречу с акимом о застройке сквера на Абая"


def made(demands: dict[str, Demand] | None = None, **body: Any) -> DemandMade:
    values: dict[str, object] = {"office": "almaty-medeu", "about": ABOUT, **body}
    return make(demands or {}, values, offices=OFFICES, supporter="v1", at=NOW)


def test_r2_a_demand_is_made_by_its_first_supporter() -> None:
    event = made(unit=" Самал-2 ")
    assert event == DemandMade(
        demand="d1", at=NOW, office="almaty-medeu", unit="Самал-2", about=ABOUT, supporter="v1"
    )
    (demand,) = fold([event]).values()
    assert demand.public() == {
        "id": "d1", "at": NOW, "office": "almaty-medeu", "unit": "Самал-2", "about": ABOUT,
        "supporters": 1, "answer": None, "date": None, "reason": None, "answered_at": None,
    }  # fmt: skip
    assert made(fold([event]), office="", unit="мкр Самал").demand == "d2"


def test_contacts_in_a_demand_are_masked() -> None:
    event = made(about="Звоните 87012345678 по поводу сквера")
    assert "87012345678" not in event.about
    assert "••78" in event.about


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"office": 5}, "office must be text"),
        ({"office": "astana"}, "office: no office 'astana'"),
        ({"office": "", "unit": "   "}, "unit is required"),
        ({"unit": "ы" * 121}, "unit: at most 120"),
        ({"about": ""}, "about is required"),
        ({"about": "ы" * 501}, "about: 501 characters, at most 500"),
        ({"about": "Аким — сука, встреча нужна"}, r"about: not accepted \(profanity\)"),
        ({"about": "Смотрите https://example.com/x"}, r"about: not accepted \(link\)"),
    ],
)
def test_a_bad_demand_names_its_field(body: dict[str, object], error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        made(None, **body)


def test_r2_one_resident_counts_once() -> None:
    demands = fold([made()])
    event = support(demands["d1"], supporter="v2", at=NOW + 1)
    assert event == DemandSupported(demand="d1", at=NOW + 1, supporter="v2")
    demands = fold([made(), event])
    assert len(demands["d1"].supporters) == 2
    for again in ("v1", "v2"):
        with pytest.raises(Conflict, match="once"):
            support(demands["d1"], supporter=again, at=NOW + 2)


def test_r2_the_akimats_answer_is_recorded_once_and_shown() -> None:
    demands = fold([made()])
    accepted = answer(demands["d1"], {"answer": "accepted", "date": "2026-12-20"}, by="kom",
                      at=NOW + 9)  # fmt: skip
    assert accepted == DemandAnswered(
        demand="d1", at=NOW + 9, by="kom", answer="accepted", date="2026-12-20"
    )
    done = fold([made(), accepted])["d1"]
    assert (done.public()["answer"], done.public()["date"]) == ("accepted", "2026-12-20")
    assert "kom" not in repr(done.public())
    with pytest.raises(Conflict, match="answered already"):
        answer(done, {"answer": "declined", "reason": "нет"}, by="kom", at=NOW)
    with pytest.raises(InvalidTransition, match="answered already"):
        support(done, supporter="v9", at=NOW)
    declined = answer(demands["d1"], {"answer": "declined", "reason": " Вопрос решён "},
                      by="kom", at=NOW)  # fmt: skip
    assert (declined.answer, declined.reason, declined.date) == ("declined", "Вопрос решён", "")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "answer must be accepted or declined"),
        ({"answer": "maybe"}, "answer must be accepted or declined"),
        ({"answer": "accepted"}, "date must be YYYY-MM-DD"),
        ({"answer": "accepted", "date": "20 декабря"}, "date must be YYYY-MM-DD"),
        ({"answer": "declined"}, "reason is required"),
        ({"answer": "declined", "reason": "ы" * 501}, "reason is required"),
    ],
)
def test_a_bad_answer_names_its_field(body: dict[str, object], error: str) -> None:
    demand = fold([made()])["d1"]
    with pytest.raises(InvalidInput, match=error):
        answer(demand, body, by="kom", at=NOW)


def test_open_demands_come_first_the_most_supported_first() -> None:
    first, second = made(), made(fold([made()]))
    third = made(fold([first, second]))
    declined = {"answer": "declined", "reason": "нет"}
    events: list[DemandEvent] = [
        first, second, third, support(fold([second])["d2"], supporter="v2", at=NOW),
        answer(fold([third])["d3"], declined, by="kom", at=NOW),
    ]  # fmt: skip
    assert [d.id for d in listed(fold(events))] == ["d2", "d1", "d3"]
    assert get(fold(events), "d1").id == "d1"
    with pytest.raises(NotFound):
        get(fold(events), "d9")
