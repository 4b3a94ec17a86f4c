"""Offices: the akim of a territory at a level, and who held it when (issue 12).

An office outlives its holders: meetings and promises belong to the office, so that what an
akim promised passes to the successor (`../shared/domain.md`: "promises vanish"). Holders
change over time, one at a time: a holding runs from its `since` to the day before the next
holder's. Sans-I/O: `now` and `by` are passed in; the fold rebuilds the offices from their
events.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import ClassVar

from moderation.errors import Conflict, InvalidInput, NotFound
from moderation.model import LANGUAGES, AkimLevel, about
from moderation.text import clean_name

OFFICE_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
KATO = re.compile(r"[0-9]{9}")  # the statistics bureau's territory code: 9 digits
MAX_NAME_CHARS = 120


@dataclass(frozen=True, slots=True, kw_only=True)
class Holding:
    """One holder of an office: from `since` to `until` (ISO dates; `until` "" while it lasts)."""

    name: str
    since: str
    until: str = ""

    def covers(self, day: date) -> bool:
        """Whether this holder held the office on `day`."""
        start = date.fromisoformat(self.since)
        end = date.fromisoformat(self.until) if self.until else date.max
        return start <= day <= end

    def public(self) -> dict[str, object]:
        return {"name": self.name, "since": self.since, "until": self.until or None}


@dataclass(frozen=True, slots=True, kw_only=True)
class OfficeFields:
    """What describes an office; declared once for the event that adds it and the office."""

    level: AkimLevel = field(metadata=about("the akim's level (R1, R5)"))
    territory: str = field(metadata=about("the city, district or village"))
    territories: dict[str, str] = field(
        default_factory=dict, metadata=about("the territory's name by language")
    )
    parent: str = field(default="", metadata=about("the office above it, if any"))
    kato: str = field(default="", metadata=about("the territory's 9-digit KATO code"))
    unit: str = field(default="", metadata=about("the territory unit it governs (issue 13)"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Office(OfficeFields):
    """An akim's office and its holders, oldest first (the last one holds it now)."""

    id: str
    added_at: int = 0
    holders: tuple[Holding, ...] = ()

    @property
    def holder(self) -> Holding | None:
        """Who holds the office now (None before its first holder)."""
        return self.holders[-1] if self.holders else None

    def holder_on(self, day: date) -> Holding | None:
        """Who held the office on `day`, if anyone did."""
        return next((h for h in self.holders if h.covers(day)), None)

    def territory_in(self, lang: str) -> str:
        """The territory's name in `lang` when it has one, else the main name."""
        return self.territories.get(lang) or self.territory

    def public(self, districts: list[str] | None = None) -> dict[str, object]:
        """As the API shows it (`GET /api/offices/{id}`): what it is, who holds it, who held
        it; with `districts`, the ids of the offices under it."""
        shown: dict[str, object] = {
            "id": self.id,
            "level": self.level.value,
            "territory": self.territory,
            "territories": dict(self.territories),
            "parent": self.parent or None,
            "kato": self.kato or None,
            "unit": self.unit or None,
            "holder": self.holder.public() if self.holder else None,
            "holders": [h.public() for h in self.holders],
        }
        if districts is not None:
            shown["districts"] = districts
        return shown


@dataclass(frozen=True, slots=True, kw_only=True)
class OfficeAdded(OfficeFields):
    """Staff (`by`) added the office `office` (issue 12): meetings and promises may name it."""

    kind: ClassVar[str] = "office.added"
    at: int
    by: str
    office: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OfficeHolderChanged:
    """Staff (`by`) recorded that `name` holds the office from `since` (an ISO date); the
    previous holder's holding ends the day before. Promises stay with the office."""

    kind: ClassVar[str] = "office.holder_changed"
    at: int
    by: str
    office: str
    name: str
    since: str


OfficeEvent = OfficeAdded | OfficeHolderChanged
OFFICE_KINDS: dict[str, type[OfficeEvent]] = {
    cls.kind: cls for cls in (OfficeAdded, OfficeHolderChanged)
}
Offices = Mapping[str, Office]


def add_office(
    offices: Offices, office_id: str, fields: OfficeFields, *, by: str, now: int
) -> OfficeAdded:
    """Validate a new office; its id must be free and its parent known."""
    if not OFFICE_ID.fullmatch(office_id):
        raise InvalidInput("id: an office id is 2-64 of a-z, 0-9 and '-', not starting with '-'")
    if office_id in offices:
        raise Conflict(f"id: office {office_id} already exists")
    territories = {
        lang: label(f"territory ({lang})", text, required=False)
        for lang, text in fields.territories.items()
    }
    if unknown := sorted(set(territories) - set(LANGUAGES)):
        raise InvalidInput(f"territories are in {', '.join(LANGUAGES)}, not {', '.join(unknown)}")
    parent = fields.parent.strip()
    if parent and parent not in offices:
        raise InvalidInput(f"parent: no office {parent!r}")
    kato = fields.kato.strip()
    if kato and not KATO.fullmatch(kato):
        raise InvalidInput("kato: a KATO code is 9 digits")
    try:
        level = AkimLevel(fields.level)
    except ValueError:
        raise InvalidInput(f"level is one of {', '.join(AkimLevel)}") from None
    return OfficeAdded(
        at=now,
        by=by,
        office=office_id,
        level=level,
        territory=label("territory", fields.territory),
        territories={lang: text for lang, text in territories.items() if text},
        parent=parent,
        kato=kato,
        unit=fields.unit.strip(),
    )


def change_holder(
    offices: Offices, office_id: str, name: str, since: str, *, by: str, now: int
) -> OfficeHolderChanged:
    """Record a new holder from `since`: one holder at a time, so not before the current
    holder's own `since` (the same day replaces nobody: it is refused as a repeat)."""
    office = find(offices, office_id)
    day = parse_day("since", since)
    current = office.holder
    if current is not None and day <= date.fromisoformat(current.since):
        raise InvalidInput(f"since: {current.name} holds the office from {current.since}")
    return OfficeHolderChanged(
        at=now, by=by, office=office.id, name=label("name", name), since=day.isoformat()
    )


def apply(offices: Offices, event: OfficeEvent) -> dict[str, Office]:
    """The offices after `event`; replaying the events from the start rebuilds them."""
    after = dict(offices)
    if isinstance(event, OfficeAdded):
        described = {name: getattr(event, name) for name in OfficeFields.__dataclass_fields__}
        after[event.office] = Office(id=event.office, added_at=event.at, **described)
        return after
    office = after[event.office]
    holders = list(office.holders)
    if holders:
        end = date.fromisoformat(event.since) - timedelta(days=1)
        holders[-1] = replace(holders[-1], until=end.isoformat())
    holders.append(Holding(name=event.name, since=event.since))
    after[event.office] = replace(office, holders=tuple(holders))
    return after


def find(offices: Offices, office_id: str) -> Office:
    """The office `office_id`, or `NotFound`."""
    found = offices.get(office_id)
    if found is None:
        raise NotFound(f"no office {office_id!r}")
    return found


def parse_day(what: str, value: str) -> date:
    """An ISO date (YYYY-MM-DD), or `InvalidInput` naming `what`."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{what} must be a date, YYYY-MM-DD") from None


def label(what: str, value: str, *, required: bool = True) -> str:
    """A name as shown (spaces tidied), or `InvalidInput` naming `what`."""
    text = clean_name(value)
    if required and not text:
        raise InvalidInput(f"{what} is required")
    if len(text) > MAX_NAME_CHARS:
        raise InvalidInput(f"{what} is over {MAX_NAME_CHARS} characters")
    return text
