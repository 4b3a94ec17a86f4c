"""The domain's records: slow mode's bounds (R3), what a meeting shows, which items are public."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from moderation import MeetingStatus, SlowMode
from moderation.model import (
    ItemKind,
    ItemStatus,
    Meeting,
    MeetingFields,
    about,
    public_fields,
)
from tests.moderation._records import MEETING, STATUSES, item, meeting


@pytest.mark.parametrize(("seconds", "burst"), [(-1.0, 2), (300.5, 2), (5.0, 0), (5.0, 21)])
def test_r3_slow_mode_can_never_close_commenting(seconds: float, burst: int) -> None:
    with pytest.raises(ValueError, match="between"):
        SlowMode(seconds=seconds, burst=burst)


@pytest.mark.parametrize(("seconds", "burst"), [(0.0, 1), (300.0, 20), (5.0, 2)])
def test_r3_slow_mode_takes_every_value_within_its_bounds(seconds: float, burst: int) -> None:
    mode = SlowMode(seconds=seconds, burst=burst)  # the bounds themselves are allowed
    assert (mode.seconds, mode.burst) == (seconds, burst)


def test_a_meeting_has_the_slow_mode_it_was_announced_with() -> None:
    slowed = dataclasses.replace(MEETING, slow_mode_seconds=30.0, slow_mode_burst=1)
    assert slowed.slow_mode == SlowMode(seconds=30.0, burst=1)
    assert MEETING.slow_mode == SlowMode()  # R3: 5 seconds, bursts of 2, unless announced


@pytest.mark.parametrize(
    ("status", "is_live"),
    [(MeetingStatus.SCHEDULED, False), (MeetingStatus.LIVE, True), (MeetingStatus.ENDED, False)],
)
def test_only_a_meeting_on_air_is_live(status: MeetingStatus, is_live: bool) -> None:
    assert meeting(status).is_live is is_live


def test_r3_a_title_is_shown_in_the_viewers_language_when_the_meeting_has_it() -> None:
    titled = dataclasses.replace(
        MEETING, titles={"kk": "Алматы қаласы әкімінің кездесуі", "ru": ""}
    )
    assert titled.title_in("kk") == "Алматы қаласы әкімінің кездесуі"
    assert titled.title_in("ru") == "Встреча акима города Алматы"  # empty: the main title
    assert titled.title_in("en") == "Встреча акима города Алматы"  # none: the main title
    assert meeting(MeetingStatus.LIVE).title_in("kk") == "Встреча акима Медеуского района"


def test_the_public_fields_of_a_meeting_leave_out_the_staff_only_ones() -> None:
    assert public_fields(Meeting) == (
        "title", "akim", "level", "territory", "planned_minutes", "titles", "starts_at",
        "office", "id", "status", "started_at", "ended_at", "receptions_until", "broadcast",
    )  # fmt: skip
    staff_only = {f.name for f in dataclasses.fields(Meeting)} - set(public_fields(Meeting))
    assert staff_only == {"stream_url", "slow_mode_seconds", "slow_mode_burst", "created_at"}
    assert public_fields(MeetingFields) == public_fields(Meeting)[:8]


def test_a_fields_metadata_says_what_it_means_and_cannot_be_changed() -> None:
    meant = about("the broadcast", staff_only=True)
    assert dict(meant) == {"help": "the broadcast", "staff_only": True}
    assert dict(about()) == {"help": "", "staff_only": False}
    with pytest.raises(TypeError):
        meant["staff_only"] = False  # type: ignore[index]


@pytest.mark.parametrize(
    ("kind", "status"),
    [(kind, status) for kind, statuses in STATUSES.items() for status in statuses],
    ids=str,
)
def test_r4_viewers_see_approved_questions_and_what_became_of_them(
    kind: ItemKind, status: ItemStatus
) -> None:
    public = {"approved", "queued", "on_air", "answered", "deferred"}
    expected = kind is ItemKind.QUESTION and status.value in public
    assert item("1-0", kind, status).public is expected


def test_the_cases_above_take_every_status_once() -> None:
    kinds = [STATUSES[ItemKind.COMMENT], STATUSES[ItemKind.QUESTION]]
    assert sorted(itertools.chain(*kinds)) == sorted(ItemStatus)
