"""The domain's exception tree: one root, and a stable code per error that transports show as is."""

from __future__ import annotations

import pytest

from moderation import (
    CommentRejected,
    Conflict,
    InvalidInput,
    InvalidTransition,
    ModerationError,
    NotFound,
    RejectReason,
)

CODES: list[tuple[type[ModerationError], str]] = [
    (ModerationError, "error"),
    (NotFound, "not_found"),
    (Conflict, "conflict"),
    (InvalidTransition, "invalid_transition"),
    (InvalidInput, "invalid"),
]


def test_every_error_the_domain_raises_has_its_own_stable_code() -> None:
    assert {cls: cls.code for cls in ModerationError.__subclasses__()} == {
        NotFound: "not_found",
        Conflict: "conflict",
        InvalidTransition: "invalid_transition",
        InvalidInput: "invalid",
        CommentRejected: "rejected",
    }


@pytest.mark.parametrize(("cls", "code"), CODES, ids=[cls.__name__ for cls, _ in CODES])
def test_an_error_says_its_detail_or_else_its_code(cls: type[ModerationError], code: str) -> None:
    explained = cls("no item 7-0")
    assert (str(explained), explained.detail) == ("no item 7-0", "no item 7-0")
    assert explained.code == code
    bare = cls()
    assert (str(bare), bare.detail) == (code, "")


@pytest.mark.parametrize("reason", list(RejectReason))
def test_r3_a_refused_comment_carries_the_reason_its_sender_sees(reason: RejectReason) -> None:
    refused = CommentRejected(reason)
    assert (refused.reason, str(refused), refused.detail, refused.code) == (
        reason, reason.value, reason.value, "rejected",
    )  # fmt: skip
    explained = CommentRejected(reason, "the meeting is ended")
    assert (explained.reason, str(explained), explained.detail) == (
        reason, "the meeting is ended", "the meeting is ended",
    )  # fmt: skip
    assert isinstance(explained, ModerationError)
