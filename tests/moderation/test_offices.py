"""Offices and their holders (issue 12): validation, the fold, who held an office when."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.errors import Conflict, InvalidInput, NotFound
from moderation.model import AkimLevel
from moderation.offices import (
    OFFICE_KINDS,
    Holding,
    Office,
    OfficeAdded,
    OfficeFields,
    OfficeHolderChanged,
    add_office,
    apply,
    change_holder,
    find,
)

CITY = OfficeFields(level=AkimLevel.CITY_REPUBLICAN, territory="Алматы",
                    territories={"kk": "Алматы", "ru": "Алматы", "en": "Almaty"},
                    kato="750000000")  # fmt: skip


def city() -> dict[str, Office]:
    return apply({}, add_office({}, "almaty", CITY, by="root", now=1))


def held(offices: dict[str, Office], *holders: tuple[str, str]) -> dict[str, Office]:
    for name, since in holders:
        offices = apply(offices, change_holder(offices, "almaty", name, since, by="root", now=2))
    return offices


def test_an_office_is_added_with_its_names_and_code() -> None:
    event = add_office({}, "almaty", CITY, by="root", now=1)
    assert event == OfficeAdded(at=1, by="root", office="almaty", level=AkimLevel.CITY_REPUBLICAN,
                                territory="Алматы", territories=dict(CITY.territories),
                                kato="750000000")  # fmt: skip
    office = apply({}, event)["almaty"]
    assert office.id == "almaty"
    assert office.added_at == 1
    assert office.holder is None
    assert office.territory_in("en") == "Almaty"
    assert office.territory_in("de") == "Алматы"


def test_a_district_office_names_its_parent() -> None:
    offices = city()
    fields = OfficeFields(level=AkimLevel.LOCAL, territory=" Алмалы  ауданы ", parent="almaty",
                          territories={"en": "Almaly", "ru": ""})  # fmt: skip
    event = add_office(offices, "almaty-almaly", fields, by="root", now=3)
    assert event.parent == "almaty"
    assert event.territory == "Алмалы ауданы"
    assert event.territories == {"en": "Almaly"}  # an empty name is left out


@pytest.mark.parametrize(
    ("office_id", "fields", "error"),
    [
        ("A!", CITY, "id"),
        ("-x", CITY, "id"),
        ("x", CITY, "id"),
        ("district", OfficeFields(level=AkimLevel.LOCAL, territory=""), "territory is required"),
        ("district", OfficeFields(level=AkimLevel.LOCAL, territory="x" * 121), "territory is over"),
        ("district", OfficeFields(level=AkimLevel.LOCAL, territory="x", territories={"de": "x"}),
         "territories are in"),
        ("district", OfficeFields(level=AkimLevel.LOCAL, territory="x", parent="astana"), "parent"),
        ("district", OfficeFields(level=AkimLevel.LOCAL, territory="x", kato="75111"), "kato"),
        ("district", OfficeFields(level="county", territory="x"), "level"),  # type: ignore[arg-type]
    ],
)  # fmt: skip
def test_bad_offices_are_refused_naming_the_field(
    office_id: str, fields: OfficeFields, error: str
) -> None:
    with pytest.raises(InvalidInput, match=error):
        add_office(city(), office_id, fields, by="root", now=1)


def test_an_office_id_is_added_once() -> None:
    with pytest.raises(Conflict, match="already exists"):
        add_office(city(), "almaty", CITY, by="root", now=2)


def test_holders_change_and_each_holding_has_its_dates() -> None:
    offices = held(city(), ("Бірінші Әкім", "2024-01-10"), ("Екінші Әкім", "2026-03-01"))
    office = offices["almaty"]
    assert office.holders == (
        Holding(name="Бірінші Әкім", since="2024-01-10", until="2026-02-28"),
        Holding(name="Екінші Әкім", since="2026-03-01"),
    )
    assert office.holder == office.holders[-1]
    assert office.holder_on(date(2026, 2, 28)) == office.holders[0]
    assert office.holder_on(date(2026, 3, 1)) == office.holders[1]
    assert office.holder_on(date(2024, 1, 9)) is None


def test_the_event_of_a_new_holder() -> None:
    event = change_holder(city(), "almaty", "  Жаңа  Әкім ", "2026-03-01 ", by="root", now=5)
    assert event == OfficeHolderChanged(at=5, by="root", office="almaty", name="Жаңа Әкім",
                                        since="2026-03-01")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "since", "error"),
    [
        ("", "2026-03-01", "name is required"),
        ("Someone", "1 March", "since must be a date"),
        ("Someone", "2024-01-10", "since: Бірінші Әкім holds the office from 2024-01-10"),
        ("Someone", "2023-12-31", "since"),
    ],
)
def test_a_holder_cannot_start_before_the_current_one(name: str, since: str, error: str) -> None:
    offices = held(city(), ("Бірінші Әкім", "2024-01-10"))
    with pytest.raises(InvalidInput, match=error):
        change_holder(offices, "almaty", name, since, by="root", now=3)


def test_an_unknown_office_is_not_found() -> None:
    with pytest.raises(NotFound):
        change_holder({}, "astana", "Someone", "2026-01-01", by="root", now=1)
    with pytest.raises(NotFound):
        find({}, "astana")


def test_the_registry_names_each_event_by_its_kind() -> None:
    kinds = {"office.added": OfficeAdded, "office.holder_changed": OfficeHolderChanged}
    assert kinds == OFFICE_KINDS


@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=12))
def test_holdings_never_overlap_and_leave_no_gap(gaps: list[int]) -> None:
    offices, day = city(), date(2020, 1, 1)
    for number, gap in enumerate(gaps):
        day += timedelta(days=gap)
        offices = held(offices, (f"Holder {number}", day.isoformat()))
    holders = offices["almaty"].holders
    assert holders[-1].until == ""
    for before, after in itertools.pairwise(holders):
        end = date.fromisoformat(before.until)
        assert end + timedelta(days=1) == date.fromisoformat(after.since)
    for holding in holders:  # on each holder's first day, the office is theirs alone
        first = date.fromisoformat(holding.since)
        assert offices["almaty"].holder_on(first) == holding


def test_the_public_shape_of_an_office() -> None:
    office = held(city(), ("Бірінші Әкім", "2024-01-10"), ("Екінші Әкім", "2026-03-01"))["almaty"]
    shown = office.public(["almaty-almaly"])
    assert shown == {
        "id": "almaty",
        "level": "city_republican",
        "territory": "Алматы",
        "territories": {"kk": "Алматы", "ru": "Алматы", "en": "Almaty"},
        "parent": None,
        "kato": "750000000",
        "unit": None,  # issue 13: the territory unit, when the office is attached to one
        "holder": {"name": "Екінші Әкім", "since": "2026-03-01", "until": None},
        "holders": [
            {"name": "Бірінші Әкім", "since": "2024-01-10", "until": "2026-02-28"},
            {"name": "Екінші Әкім", "since": "2026-03-01", "until": None},
        ],
        "districts": ["almaty-almaly"],
    }
    bare = city()["almaty"].public()
    assert bare["holder"] is None
    assert "districts" not in bare
