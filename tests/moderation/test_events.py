"""The record's events: one registry of kinds, frozen keyword-only records, fields declared once."""

from __future__ import annotations

import dataclasses
import re
import typing

import pytest

from moderation import events
from moderation.events import KINDS, Change, Comment, Event
from moderation.model import MeetingFields

EVENTS = typing.get_args(Event)


def test_the_registry_holds_every_event_under_its_own_kind() -> None:
    assert set(KINDS.values()) == set(EVENTS)
    assert len(KINDS) == len(EVENTS)  # no two events share a kind
    for kind, cls in KINDS.items():
        assert cls.kind == kind


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_kind_is_lowercase_and_dotted(kind: str) -> None:
    assert re.fullmatch(r"[a-z]+\.[a-z_]+", kind), kind


@pytest.mark.parametrize("cls", EVENTS, ids=lambda cls: cls.kind)
def test_an_event_is_a_frozen_keyword_only_record(cls: type[Event]) -> None:
    params = cls.__dataclass_params__  # type: ignore[union-attr]
    assert params.frozen
    assert all(f.kw_only for f in dataclasses.fields(cls))
    assert "__slots__" in vars(cls)


@pytest.mark.parametrize("cls", typing.get_args(Change), ids=lambda cls: cls.kind)
def test_a_staff_change_names_who_changed_which_item_when_and_its_version_after(
    cls: type[Change],
) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    assert names[:4] == ["at", "by", "item", "version"]


def test_comments_are_the_posted_and_the_held_ones() -> None:
    assert typing.get_args(Comment) == (events.CommentPosted, events.CommentHeld)
    posted = {f.name for f in dataclasses.fields(events.CommentPosted)}
    held = {f.name for f in dataclasses.fields(events.CommentHeld)}
    assert held - posted == {"reason"}  # R3: a held comment keeps its text, with a reason


def test_r5_the_announcement_is_recorded_with_the_fields_it_was_made_with() -> None:
    announced = [(f.name, f.type, f.default) for f in dataclasses.fields(MeetingFields)]
    recorded = [(f.name, f.type, f.default) for f in dataclasses.fields(events.MeetingCreated)]
    assert recorded == [*announced, ("at", "int", dataclasses.MISSING)]
