"""Meetings on demand (R2): residents ask for a meeting outside the calendar, others support the
request (one resident counts once), and the akimat's answer is recorded and shown.

The demands live in one stream of their own (`server/store/demands.py`); these are its events,
the decisions that build them and the fold that reads them back. Supporters are pseudonyms
(the signed viewer cookie's, or the client address's), never names or addresses.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import ClassVar

from moderation.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from moderation.filters import first_filter, mask_contacts
from moderation.model import HoldReason
from moderation.text import MAX_COMMENT_CHARS, clean_name, clean_text, is_blank

MAX_UNIT = 120  # characters of "which office or unit"
MAX_REASON = 500
REFUSED_HOLDS = frozenset({HoldReason.PROFANITY, HoldReason.LINK})  # contacts are only masked


class Answer(enum.StrEnum):
    """The akimat's answer to a demand (R2)."""

    ACCEPTED = "accepted"  # a meeting on `date`
    DECLINED = "declined"  # with a `reason`


@dataclass(frozen=True, slots=True, kw_only=True)
class DemandMade:
    """A resident asked for a meeting outside the calendar (R2); they are its first supporter."""

    kind: ClassVar[str] = "demand.made"
    demand: str
    at: int
    office: str  # an office's id, or "" when the resident named a unit only
    unit: str
    about: str  # masked: no phone number, e-mail or IIN
    supporter: str  # a pseudonym


@dataclass(frozen=True, slots=True, kw_only=True)
class DemandSupported:
    """Another resident supports a demand (R2): one pseudonym counts once."""

    kind: ClassVar[str] = "demand.supported"
    demand: str
    at: int
    supporter: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DemandAnswered:
    """Staff recorded the akimat's answer (R2): accepted with a `date`, declined with a
    `reason`; `by` is the staff member (kept out of the public JSON)."""

    kind: ClassVar[str] = "demand.answered"
    demand: str
    at: int
    by: str
    answer: str
    date: str = ""
    reason: str = ""


DemandEvent = DemandMade | DemandSupported | DemandAnswered
DEMAND_KINDS: dict[str, type[DemandEvent]] = {
    cls.kind: cls for cls in (DemandMade, DemandSupported, DemandAnswered)
}


@dataclass(frozen=True, slots=True)
class Demand:
    """A demand as its events left it."""

    id: str
    at: int
    office: str
    unit: str
    about: str
    supporters: frozenset[str] = field(default_factory=frozenset)
    answer: str = ""
    date: str = ""
    reason: str = ""
    answered_at: int = 0

    def public(self) -> dict[str, object]:
        """As anyone may see it: the count of supporters, never who."""
        return {
            "id": self.id,
            "at": self.at,
            "office": self.office,
            "unit": self.unit,
            "about": self.about,
            "supporters": len(self.supporters),
            "answer": self.answer or None,
            "date": self.date or None,
            "reason": self.reason or None,
            "answered_at": self.answered_at or None,
        }


def apply(demands: Mapping[str, Demand], event: DemandEvent) -> dict[str, Demand]:
    """The demands after one more event."""
    after = dict(demands)
    if isinstance(event, DemandMade):
        after[event.demand] = Demand(
            event.demand, event.at, event.office, event.unit, event.about,
            frozenset({event.supporter}),
        )  # fmt: skip
    elif isinstance(event, DemandSupported):
        demand = after[event.demand]
        after[event.demand] = replace(demand, supporters=demand.supporters | {event.supporter})
    else:
        after[event.demand] = replace(
            after[event.demand], answer=event.answer, date=event.date, reason=event.reason,
            answered_at=event.at,
        )  # fmt: skip
    return after


def fold(events: Iterable[DemandEvent]) -> dict[str, Demand]:
    demands: dict[str, Demand] = {}
    for event in events:
        demands = apply(demands, event)
    return demands


def listed(demands: Mapping[str, Demand]) -> list[Demand]:
    """Open demands first, the most supported first; then the answered, newest first."""
    return sorted(demands.values(), key=lambda d: (bool(d.answer), -len(d.supporters), -d.at))


def _text(body: Mapping[str, object], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    return value


def _about(raw: str) -> str:
    text = clean_text(raw)
    if is_blank(text):
        raise InvalidInput("about is required")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"about: {len(text)} characters, at most {MAX_COMMENT_CHARS}")
    held = first_filter(text)
    if held in REFUSED_HOLDS:
        raise InvalidInput(f"about: not accepted ({held})")
    return mask_contacts(text)


def make(
    demands: Mapping[str, Demand],
    body: Mapping[str, object],
    *,
    offices: Iterable[str],
    supporter: str,
    at: int,
) -> DemandMade:
    """A new demand: `office` (an office's id, optional), `unit` (which office or unit, in
    words; one of the two is needed) and `about`; 400 naming the field otherwise."""
    office = _text(body, "office").strip()
    if office and office not in set(offices):
        raise InvalidInput(f"office: no office {office[:40]!r}")
    unit = clean_name(_text(body, "unit"))
    if len(unit) > MAX_UNIT:
        raise InvalidInput(f"unit: at most {MAX_UNIT} characters")
    if not office and is_blank(unit):
        raise InvalidInput("unit is required when no office is chosen")
    about = _about(_text(body, "about"))
    return DemandMade(
        demand=f"d{len(demands) + 1}", at=at, office=office, unit=mask_contacts(unit),
        about=about, supporter=supporter,
    )  # fmt: skip


def get(demands: Mapping[str, Demand], demand_id: str) -> Demand:
    found = demands.get(demand_id)
    if found is None:
        raise NotFound(f"no demand {demand_id[:40]!r}")
    return found


def support(demand: Demand, *, supporter: str, at: int) -> DemandSupported:
    """One more supporter; the same one again is a `Conflict`, an answered demand takes none."""
    if demand.answer:
        raise InvalidTransition(f"demand {demand.id} was answered already")
    if supporter in demand.supporters:
        raise Conflict("one resident supports a demand once")
    return DemandSupported(demand=demand.id, at=at, supporter=supporter)


def answer(demand: Demand, body: Mapping[str, object], *, by: str, at: int) -> DemandAnswered:
    """The akimat's answer: `answer` `accepted` with a `date` (YYYY-MM-DD) or `declined` with a
    `reason`; an answered demand keeps its answer (`Conflict`)."""
    if demand.answer:
        raise Conflict(f"demand {demand.id} was answered already")
    choice = _text(body, "answer").strip()
    if choice not in set(Answer):
        raise InvalidInput("answer must be accepted or declined")
    if choice == Answer.ACCEPTED:
        day = _text(body, "date").strip()
        try:
            date.fromisoformat(day)
        except ValueError:
            raise InvalidInput("date must be YYYY-MM-DD") from None
        return DemandAnswered(demand=demand.id, at=at, by=by, answer=choice, date=day)
    reason = clean_text(_text(body, "reason"))
    if is_blank(reason) or len(reason) > MAX_REASON:
        raise InvalidInput(f"reason is required, at most {MAX_REASON} characters")
    return DemandAnswered(demand=demand.id, at=at, by=by, answer=choice, reason=reason)
