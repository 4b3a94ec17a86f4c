"""The documentation says what the code does: every event kind, setting and protocol answer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from moderation import KINDS, HoldReason, RejectReason
from server.settings import Settings, variable_of
from server.web.viewer import CLOSE_UNKNOWN_MEETING

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text()


def test_the_readme_starts_with_the_two_commands() -> None:
    first_section = README.split("\n## ", 2)[1]
    assert "make demo" in first_section
    assert "make test" in first_section


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_event_kind_is_in_the_readme(kind: str) -> None:
    assert f"`{kind}`" in README


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Settings)])
def test_every_setting_is_in_the_readme(name: str) -> None:
    assert f"`{variable_of(name)}`" in README


@pytest.mark.parametrize(
    "word",
    [*(r.value for r in RejectReason), *(h.value for h in HoldReason), "hello", "reload",
     "ack", "rejected", "events", "error", str(CLOSE_UNKNOWN_MEETING), "1013", "1009", "1007",
     "invalid_json", "unknown_type", "binary", "invalid_after", "retry_after", "as_of"],
)  # fmt: skip
def test_the_protocol_document_names_every_answer(word: str) -> None:
    assert word in PROTOCOL
