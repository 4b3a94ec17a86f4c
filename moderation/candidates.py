"""The tables behind `QuestionIndex`: questions grouped by profile, the postings of their keys
by shape, and the lookup of stems alike to a new question's (typos, one inside the other).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from moderation.similarity import (
    CONTAINED,
    STEM_LENGTH,
    Near,
    Profile,
    Term,
    alike_sounds,
)

Shape = tuple[int, int]  # a question's own places, and its other terms
Slot = tuple[str, bool]  # a key, and whether a question has it as a place
Signature = tuple[Term, ...] | str  # the terms, or with none the text


def _deletions(beginning: str) -> set[str]:
    """The beginning with up to one letter left out, or two when it is STEM_LENGTH long.

    Beginnings that fuzz.ratio puts at TOKEN_CUTOFF or above are at most two insertions or
    deletions apart: one letter out of each when both have five or six letters, two out of
    the longer when one has six and the other four, else at most one in all. So they always
    share one of these.
    """
    found = {beginning}
    once = {beginning[:i] + beginning[i + 1 :] for i in range(len(beginning))}
    found |= once
    if len(beginning) == STEM_LENGTH:
        found |= {short[:i] + short[i + 1 :] for short in once for i in range(len(short))}
    return found


def _pieces(sound: str) -> set[str]:
    return {sound[i : i + CONTAINED] for i in range(len(sound) - CONTAINED + 1)}


class AlikeStems:
    """The stems of the indexed questions, found again give or take a typo, or by containment."""

    def __init__(self) -> None:
        self._by_variant: dict[str, set[str]] = {}  # a deletion of a beginning -> beginnings
        self._by_beginning: dict[str, set[str]] = {}  # first STEM_LENGTH letters -> stems
        self._by_piece: dict[str, set[str]] = {}  # CONTAINED letters -> stems holding them
        self._all: set[str] = set()

    def add(self, sound: str) -> None:
        self._all.add(sound)
        beginning = sound[:STEM_LENGTH]
        if beginning not in self._by_beginning:
            for variant in _deletions(beginning):
                self._by_variant.setdefault(variant, set()).add(beginning)
        self._by_beginning.setdefault(beginning, set()).add(sound)
        for piece in _pieces(sound):
            self._by_piece.setdefault(piece, set()).add(sound)

    def remove(self, sound: str) -> None:
        self._all.remove(sound)
        beginning = sound[:STEM_LENGTH]
        _drop(self._by_beginning, beginning, sound)
        if beginning not in self._by_beginning:
            for variant in _deletions(beginning):
                _drop(self._by_variant, variant, beginning)
        for piece in _pieces(sound):
            _drop(self._by_piece, piece, sound)

    def near(self, sounds: Iterable[str]) -> Near:
        """`alike_sounds(sounds, all the stems)`: the same pairs, each stem of `sounds` compared
        with those found around it only."""
        near: Near = {}
        for sound in sounds:
            for stem, alike in alike_sounds((sound,), self._around(sound)).items():
                near.setdefault(stem, {}).update(alike)
        return near

    def _around(self, sound: str) -> set[str]:
        """Stems among which are all those alike to `sound` (and a few more)."""
        found: set[str] = set()
        for variant in _deletions(sound[:STEM_LENGTH]):
            for beginning in self._by_variant.get(variant, ()):
                found |= self._by_beginning[beginning]
        if len(sound) >= CONTAINED:
            found |= self._by_piece.get(sound[:CONTAINED], set())  # holding the stem
            found.update(  # held by the stem
                sound[i:j]
                for i in range(len(sound) - CONTAINED + 1)
                for j in range(i + CONTAINED, len(sound) + 1)
                if sound[i:j] in self._all
            )
        return found


def _drop(table: dict[Any, set[Any]], key: object, value: object) -> None:
    values = table[key]
    values.remove(value)
    if not values:
        del table[key]


# --- questions by profile ---------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Group:
    """The indexed questions with one profile: they score alike against any question."""

    profile: Profile
    shape: Shape
    members: dict[str, int] = field(default_factory=dict)  # item id -> order added, oldest first
    left: int = 0  # members removed since `members` was last rebuilt

    @property
    def first(self) -> int:
        return next(iter(self.members.values()))

    def leave(self, item_id: str) -> bool:
        """Take a member out; whether none is left."""
        del self.members[item_id]
        self.left += 1
        if self.left > len(self.members):
            # A dict keeps a hole where each key was, and `first` steps over them: when most
            # repeats of one question are merged, it would step over thousands.
            self.members, self.left = dict(self.members), 0
        return not self.members


def signature(profile: Profile) -> Signature:
    # The text counts only where there are no terms: it decides nothing else (profile_score).
    return profile.terms or profile.text


class Postings:
    """The groups holding a slot (or a stem in a slot), by shape."""

    __slots__ = ("shapes", "size")

    def __init__(self) -> None:
        self.shapes: dict[Shape, set[Group]] = {}
        self.size = 0

    def add(self, group: Group) -> None:
        self.shapes.setdefault(group.shape, set()).add(group)
        self.size += 1

    def remove(self, group: Group) -> bool:
        """Take the group out; whether none is left."""
        _drop(self.shapes, group.shape, group)
        self.size -= 1
        return not self.size


class Tables:
    """The groups, and the tables that find them by keys, slots and stems."""

    def __init__(self) -> None:
        self.groups: dict[Signature, Group] = {}
        self.by_keys: dict[frozenset[str], set[Group]] = {}
        self.slots: dict[Slot, Postings] = {}
        self.stems: dict[str, dict[Slot, Postings]] = {}  # a stem -> the slots it is in
        self.alike = AlikeStems()

    def group(self, profile: Profile) -> Group:
        """The group of this profile, made if need be."""
        key = signature(profile)
        if key not in self.groups:
            places = sum(term.is_place for term in profile.terms)
            group = self.groups[key] = Group(profile, (places, len(profile.terms) - places))
            if profile.terms:  # with none it is found by its text alone
                self._register(group)
        return self.groups[key]

    def drop(self, group: Group) -> None:
        del self.groups[signature(group.profile)]
        if group.profile.terms:
            self._unregister(group)

    def _register(self, group: Group) -> None:
        self.by_keys.setdefault(group.profile.keys, set()).add(group)
        for term in group.profile.terms:
            slot = (term.key, term.is_place)
            self.slots.setdefault(slot, Postings()).add(group)
            if term.sound in group.profile.sounds:
                if term.sound not in self.stems:
                    self.stems[term.sound] = {}
                    self.alike.add(term.sound)
                self.stems[term.sound].setdefault(slot, Postings()).add(group)

    def _unregister(self, group: Group) -> None:
        _drop(self.by_keys, group.profile.keys, group)
        for term in group.profile.terms:
            slot = (term.key, term.is_place)
            if self.slots[slot].remove(group):
                del self.slots[slot]
            if term.sound in group.profile.sounds:
                slots = self.stems[term.sound]
                if slots[slot].remove(group):
                    del slots[slot]
                if not slots:
                    del self.stems[term.sound]
                    self.alike.remove(term.sound)
