"""Territories (issue 13.1): an akimat's territory as a tree of units (oblast, district, city,
rural district, village, city district, microdistrict), each with its Kazakh and Russian names
and its KATO code where known, and which units an office must visit (R1).

Sans-I/O: rows arrive already split into fields (the CSV is read in `server/usecases`), `now`
and `by` are passed in, and the fold rebuilds the units from their events. A batch of rows is
checked whole: any bad row and nothing is imported, with every bad row named by its line.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from moderation.errors import InvalidInput, NotFound
from moderation.model import AkimLevel, about
from moderation.text import clean_name

UNIT_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
KATO = re.compile(r"[0-9]{9}")  # the statistics bureau's territory code: 9 digits
MAX_NAME_CHARS = 120
# A name that a spreadsheet would take for a formula is refused rather than altered, so that
# an export opens safely and still imports back to the same names (CWE-1236).
FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
COLUMNS = ("id", "kind", "name_kk", "name_ru", "name_en", "kato", "parent")


class UnitKind(enum.StrEnum):
    """What a unit is, as the decree's levels table names them (`domain.md`)."""

    OBLAST = "oblast"
    DISTRICT = "district"
    CITY = "city"
    RURAL_DISTRICT = "rural_district"
    VILLAGE = "village"
    CITY_DISTRICT = "city_district"
    MICRODISTRICT = "microdistrict"


K = UnitKind
ROOT = ""  # the parent of a unit at the top of the tree
# Where each kind may sit (the kind of its parent; ROOT for none), from `domain.md`'s levels:
# an oblast is at the top; a city is of republican significance (top), of oblast significance
# (under an oblast) or of district significance (under a district); a district is an oblast's;
# a rural district is a district's or a city's; a village a rural district's, a district's or
# a city's; a city district a city's; a microdistrict a city's or a city district's.
PARENTS: dict[UnitKind, frozenset[str]] = {
    K.OBLAST: frozenset({ROOT}),
    K.CITY: frozenset({ROOT, K.OBLAST, K.DISTRICT}),
    K.DISTRICT: frozenset({K.OBLAST}),
    K.RURAL_DISTRICT: frozenset({K.DISTRICT, K.CITY}),
    K.VILLAGE: frozenset({K.RURAL_DISTRICT, K.DISTRICT, K.CITY}),
    K.CITY_DISTRICT: frozenset({K.CITY}),
    K.MICRODISTRICT: frozenset({K.CITY, K.CITY_DISTRICT}),
}
# R1: the kinds of the units directly under its own unit that an office of each level must
# visit (`domain.md`'s "the units it must visit"); `local` visits its own territory (None).
VISITED: dict[AkimLevel, frozenset[UnitKind] | None] = {
    AkimLevel.OBLAST: frozenset({K.DISTRICT, K.CITY}),
    AkimLevel.CITY_REPUBLICAN: frozenset({K.CITY_DISTRICT}),
    AkimLevel.DISTRICT: frozenset({K.VILLAGE, K.RURAL_DISTRICT, K.CITY}),
    AkimLevel.CITY_LOCAL: frozenset({K.CITY_DISTRICT, K.MICRODISTRICT, K.VILLAGE}),
    AkimLevel.LOCAL: None,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitFields:
    """What describes a unit; declared once for the events, the unit and the CSV's columns."""

    unit_kind: UnitKind = field(metadata=about("oblast, district, city, ... (`UnitKind`)"))
    name_kk: str = field(metadata=about("the name in Kazakh"))
    name_ru: str = field(metadata=about("the name in Russian"))
    name_en: str = field(default="", metadata=about("the name in English, if any"))
    kato: str = field(default="", metadata=about("the 9-digit KATO code, where known"))
    parent: str = field(default="", metadata=about("the id of the unit it belongs to"))


FIELDS = tuple(UnitFields.__dataclass_fields__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit(UnitFields):
    """A unit of the territory, as the fold holds it."""

    id: str

    def name(self, lang: str) -> str:
        """The name in `lang` (Kazakh, Russian, English when given), else the Russian one."""
        return {"kk": self.name_kk, "en": self.name_en}.get(lang) or self.name_ru

    def row(self) -> dict[str, str]:
        """The unit as a CSV row (`COLUMNS`)."""
        return {"id": self.id, "kind": self.unit_kind.value, "name_kk": self.name_kk,
                "name_ru": self.name_ru, "name_en": self.name_en, "kato": self.kato,
                "parent": self.parent}  # fmt: skip

    def public(self, children: Sequence[str] = ()) -> dict[str, object]:
        """As `GET /api/territories` shows it, with the ids of the units under it."""
        return {"id": self.id, "kind": self.unit_kind.value,
                "names": {"kk": self.name_kk, "ru": self.name_ru, "en": self.name_en or None},
                "kato": self.kato or None, "parent": self.parent or None,
                "children": list(children)}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitAdded(UnitFields):
    """Staff (`by`) added the unit `unit` to the territory (issue 13.1)."""

    kind: ClassVar[str] = "territory.unit_added"
    at: int
    by: str
    unit: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitChanged(UnitFields):
    """Staff (`by`) changed the unit `unit`: the event holds all its fields as they are after
    (a rename, a KATO code found, a new parent)."""

    kind: ClassVar[str] = "territory.unit_changed"
    at: int
    by: str
    unit: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TerritoryImported:
    """Staff (`by`) imported a file of units (`halyq territory import`, the admin's upload):
    each unit is added, or replaces the unit with its id. Only a file with no bad row is."""

    kind: ClassVar[str] = "territory.imported"
    at: int
    by: str
    units: tuple[Unit, ...]


TerritoryEvent = UnitAdded | UnitChanged | TerritoryImported
TERRITORY_KINDS: dict[str, type[TerritoryEvent]] = {
    cls.kind: cls for cls in (UnitAdded, UnitChanged, TerritoryImported)
}
Units = Mapping[str, Unit]


@dataclass(frozen=True, slots=True)
class Problem:
    """A bad row: its line in the file (1-based, the header is line 1) and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportRefused(InvalidInput):
    """A file with bad rows: nothing of it was imported; `problems` names every bad row."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = tuple(problems)


# Checking one unit


def _name(what: str, value: str, *, required: bool) -> str:
    text = clean_name(value)
    if required and not text:
        raise InvalidInput(f"{what} is required")
    if len(text) > MAX_NAME_CHARS:
        raise InvalidInput(f"{what} is over {MAX_NAME_CHARS} characters")
    if text.startswith(FORMULA_STARTS):
        raise InvalidInput(f"{what} must not start with {' '.join(FORMULA_STARTS[:4])}")
    return text


def _kind(value: object) -> UnitKind:
    try:
        return UnitKind(str(value).strip())
    except ValueError:
        raise InvalidInput(f"kind: {str(value)[:40]!r} is not one of {', '.join(K)}") from None


def checked(unit_id: str, fields: UnitFields) -> Unit:
    """The unit with its values tidied, or `InvalidInput` naming the field (its place in the
    tree is checked by `_check_tree`, against the others)."""
    unit_id = unit_id.strip()
    if not UNIT_ID.fullmatch(unit_id):
        raise InvalidInput(
            f"id: {unit_id[:40]!r} is not 2-64 of a-z, 0-9 and '-' (not starting with '-')"
        )
    kato = fields.kato.strip()
    if kato and not KATO.fullmatch(kato):
        raise InvalidInput(f"kato: {kato[:40]!r} is not 9 digits")
    return Unit(id=unit_id, unit_kind=_kind(fields.unit_kind),
                name_kk=_name("name_kk", fields.name_kk, required=True),
                name_ru=_name("name_ru", fields.name_ru, required=True),
                name_en=_name("name_en", fields.name_en, required=False),
                kato=kato, parent=fields.parent.strip())  # fmt: skip


def _place(units: Units, unit: Unit) -> str:
    """Why `unit` cannot sit where it says, among `units` (which hold it), or ""."""
    parent = units.get(unit.parent) if unit.parent else None
    if unit.parent and parent is None:
        return f"parent: no unit {unit.parent!r}"
    seen, above = {unit.id}, parent
    while above is not None:
        if above.id in seen:
            return f"parent: going up from {unit.id} through {unit.parent} comes back to {above.id}"
        seen.add(above.id)
        above = units.get(above.parent)
    kind = parent.unit_kind.value if parent else ROOT
    if kind not in PARENTS[unit.unit_kind]:
        where = f"under a {kind}" if parent else "at the top"
        allowed = ", ".join(sorted(p or "the top" for p in PARENTS[unit.unit_kind]))
        return f"kind: a {unit.unit_kind} cannot sit {where} (only under {allowed})"
    return ""


def _kato_owner(units: Units, unit: Unit) -> str:
    return next(
        (u.id for u in units.values() if unit.kato and u.kato == unit.kato and u.id != unit.id), ""
    )


def _check_tree(units: Units, unit: Unit) -> None:
    if reason := _place(units, unit):
        raise InvalidInput(reason)
    if owner := _kato_owner(units, unit):
        raise InvalidInput(f"kato: {unit.kato} is also unit {owner}'s")


# Decisions


def add_unit(units: Units, unit_id: str, fields: UnitFields, *, by: str, now: int) -> UnitAdded:
    """A new unit: its id free, its parent known and of a kind it may sit under."""
    unit = checked(unit_id, fields)
    if unit.id in units:
        raise InvalidInput(f"id: unit {unit.id} already exists")
    _check_tree({**units, unit.id: unit}, unit)
    return UnitAdded(at=now, by=by, unit=unit.id, **_fields(unit))  # type: ignore[arg-type]


def change_unit(
    units: Units, unit_id: str, fields: UnitFields, *, by: str, now: int
) -> UnitChanged:
    """A unit renamed, given a KATO code or moved; a move that would make a cycle, or leave a
    unit under a parent of a kind it cannot sit under, is refused."""
    before = find(units, unit_id)
    unit = checked(before.id, fields)
    if unit == before:
        raise InvalidInput("nothing to change: give a field with a new value")
    after = {**units, unit.id: unit}
    _check_tree(after, unit)
    for child in children(after, unit.id):
        if reason := _place(after, child):
            raise InvalidInput(f"{child.id}: {reason}")
    return UnitChanged(at=now, by=by, unit=unit.id, **_fields(unit))  # type: ignore[arg-type]


def import_rows(
    units: Units, rows: Iterable[tuple[int, Mapping[str, str]]], *, by: str, now: int
) -> TerritoryImported:
    """The units of a file's rows (`(line, {column: value})`), each added or replacing the
    unit with its id, checked together with the units there are; `ImportRefused` with every
    bad row (nothing imported) if any is bad, or if there is no row at all."""
    problems: list[Problem] = []
    read: dict[str, tuple[int, Unit]] = {}
    for line, row in rows:
        try:
            unit = checked(row.get("id", ""), _row_fields(row))
        except InvalidInput as error:
            problems.append(Problem(line, error.detail))
            continue
        if unit.id in read:
            problems.append(Problem(line, f"id: {unit.id} is also on line {read[unit.id][0]}"))
            continue
        read[unit.id] = (line, unit)
    if not read and not problems:
        raise ImportRefused([Problem(1, "no rows: the file has only its header")])
    after = {**units, **{unit_id: unit for unit_id, (_, unit) in read.items()}}
    for line, unit in read.values():
        try:
            _check_tree(after, unit)
        except InvalidInput as error:
            problems.append(Problem(line, error.detail))
    if problems:
        raise ImportRefused(sorted(problems, key=lambda p: p.line))
    return TerritoryImported(at=now, by=by, units=tuple(unit for _, unit in read.values()))


def _row_fields(row: Mapping[str, str]) -> UnitFields:
    return UnitFields(unit_kind=_kind(row.get("kind", "")), name_kk=row.get("name_kk", ""),
                      name_ru=row.get("name_ru", ""), name_en=row.get("name_en", ""),
                      kato=row.get("kato", ""), parent=row.get("parent", ""))  # fmt: skip


def _fields(unit: UnitFields) -> dict[str, str]:
    """A unit's fields by name (`unit_kind` is a `str` enum), for an event or a unit."""
    return {name: getattr(unit, name) for name in FIELDS}


def apply(units: Units, event: TerritoryEvent) -> dict[str, Unit]:
    """The units after `event`; replaying the events from the start rebuilds them."""
    after = dict(units)
    if isinstance(event, TerritoryImported):
        after.update((unit.id, unit) for unit in event.units)
        return after
    after[event.unit] = Unit(id=event.unit, **_fields(event))  # type: ignore[arg-type]
    return after


# Reading


def find(units: Units, unit_id: str) -> Unit:
    """The unit `unit_id`, or `NotFound`."""
    found = units.get(unit_id)
    if found is None:
        raise NotFound(f"no unit {unit_id[:40]!r}")
    return found


def children(units: Units, unit_id: str) -> list[Unit]:
    """The units directly under `unit_id`, by id."""
    return sorted((u for u in units.values() if u.parent == unit_id), key=lambda u: u.id)


def ordered(units: Units) -> list[Unit]:
    """Every unit with each parent before the units under it: roots by id, then depth first
    (what an export lists, so that a reader meets a parent before its children)."""
    shown: list[Unit] = []

    def visit(parent: str) -> None:
        for unit in children(units, parent):
            shown.append(unit)
            visit(unit.id)

    visit(ROOT)
    return shown


def to_visit(units: Units, unit_id: str, level: AkimLevel) -> list[Unit]:
    """R1: the units an office of `level` attached to `unit_id` must visit: the units directly
    under it of the kinds `VISITED` names for its level, by id; for `local`, its own unit
    ("(own territory)"). No unit (an office not attached, or an unknown unit): none.
    """
    unit = units.get(unit_id)
    if unit is None:
        return []
    kinds = VISITED[AkimLevel(level)]
    if kinds is None:
        return [unit]
    return [u for u in children(units, unit_id) if u.unit_kind in kinds]


def tree(units: Units) -> list[dict[str, object]]:
    """Every unit as `GET /api/territories` lists them (parents first), with its children."""
    return [u.public([c.id for c in children(units, u.id)]) for u in ordered(units)]


def with_changes(unit: Unit, **changes: str) -> UnitFields:
    """A unit's fields with `changes` (the admin's rename: only the names it sends)."""
    fields = _fields(unit) | {k: v for k, v in changes.items() if k in FIELDS}
    fields["unit_kind"] = _kind(fields["unit_kind"])
    return UnitFields(**fields)  # type: ignore[arg-type]
