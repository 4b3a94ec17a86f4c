"""Drawing up the list of duplicates: bounds on what a question can still score, and the search
that reads the candidates best bound first and stops when none can enter (see
`moderation.duplicates` for why every cut is exact).
"""

from __future__ import annotations

from dataclasses import dataclass

from moderation.candidates import Group, Postings, Shape, Slot, Tables
from moderation.similarity import (
    ACTION_WEIGHT,
    DUPLICATE_THRESHOLD,
    GENERIC_WEIGHT,
    PLACE_WEIGHT,
    PLAIN_WEIGHT,
    WORD_WEIGHT,
    Near,
    Profile,
    agreement,
    profile_score,
)

# Bounds add weights up in another order than the scorer does: a margin keeps rounding from
# cutting a question whose score equals the bar.
MARGIN = 1e-9
_HEAVIEST_WORD = max(WORD_WEIGHT, ACTION_WEIGHT, GENERIC_WEIGHT, PLAIN_WEIGHT)
_LIGHTEST_WORD = min(WORD_WEIGHT, ACTION_WEIGHT, GENERIC_WEIGHT, PLAIN_WEIGHT)
# Tuning, not exactness: a shape with at most _READ_WHOLE questions in our channels is read
# whole, choosing channels to skip would cost more; a channel with at most _SMALL questions of
# a shape is read rather than weighed for skipping.
_READ_WHOLE = 48
_SMALL = 8
_TERMS_PER_GROUP = 8  # about: finding a group's channels by its terms costs this many lookups


class Ranking:
    """The best (score, order added, id) so far, and the bar a group must clear to enter."""

    def __init__(self, limit: int | None) -> None:
        self._limit = limit  # None: every question at the threshold or above
        self._found: list[tuple[float, int, str]] = []  # best first, then oldest first

    def _is_full(self) -> bool:
        return self._limit is not None and len(self._found) >= self._limit

    def cut(self) -> float:
        """A group whose score is at most a bound under this cannot enter."""
        return (self._found[-1][0] if self._is_full() else DUPLICATE_THRESHOLD) - MARGIN

    def admits(self, first: int) -> bool:
        """Whether a group whose bound reaches the cut, its first question added `first`, may
        still enter: nothing scores above 1.0, so at a bar of 1.0 only an older one may."""
        return not self._is_full() or self._found[-1][0] < 1.0 or first < self._found[-1][1]

    def add(self, group: Group, score: float) -> None:
        if score < DUPLICATE_THRESHOLD:
            return
        found = self._found
        if self._limit is None:
            found.extend((score, added, item_id) for item_id, added in group.members.items())
            return
        for item_id, added in group.members.items():
            if self._is_full():
                if (-score, added) >= (-found[-1][0], found[-1][1]):
                    return  # and the group's later members come later still
                found.pop()
            at = len(found)
            while at and (-found[at - 1][0], found[at - 1][1]) > (-score, added):
                at -= 1
            found.insert(at, (score, added, item_id))

    def found(self) -> list[tuple[str, float]]:
        ranked = sorted(self._found, key=lambda found: (-found[0], found[1]))
        return [(item_id, score) for score, _, item_id in ranked]


# --- bounds -----------------------------------------------------------------------------------


class Question:
    """The new question: its terms as bits, the stems alike to them, and a bound on its score
    against a group that takes each possible match as perfect."""

    def __init__(
        self, profile: Profile, near: Near, stems: dict[str, dict[Slot, Postings]]
    ) -> None:
        self.profile, self.near = profile, near
        self.bits = {term.key: 1 << i for i, term in enumerate(profile.terms)}
        self.alike: dict[str, int] = {}  # an indexed stem -> the terms it is alike to
        for i, term in enumerate(profile.terms):
            for sound in near.get(term.sound, ()):
                if sound in stems:
                    self.alike[sound] = self.alike.get(sound, 0) | 1 << i
        self.words = sum(term.weight for term in profile.terms if not term.is_place)
        self._sides: dict[tuple[int, int], tuple[float, float, float, float]] = {}

    def bound(self, group: Group) -> float:
        """`profile_score` with closeness 1 wherever a key or an alike stem is shared: the
        tallies of `similarity._tally` with every possible match perfect, then the same
        agreements, which grow with what is shared and shrink with what differs."""
        reached = moved = 0
        matched = rest = where = elsewhere = 0.0
        places = self.profile.places
        for term in group.profile.terms:
            bit = self.bits.get(term.key, 0)
            alike = self.alike.get(term.sound, 0)
            reached |= bit | alike
            if not (bit or alike):
                if term.is_place:
                    elsewhere += PLACE_WEIGHT
                else:
                    rest += term.weight
            elif term.is_place or term.key in places:
                where += PLACE_WEIGHT
                if term.is_place and term.key not in places:
                    moved |= bit  # a plain word of ours, its place: a place on both sides
            else:
                matched += term.weight
        if (reached, moved) not in self._sides:
            self._sides[reached, moved] = self._side(reached, moved)
        our_matched, our_rest, our_where, our_elsewhere = self._sides[reached, moved]
        what = agreement((our_matched + matched) / 2, our_rest, rest)
        if not (our_where + our_elsewhere and where + elsewhere):
            return what
        return min(what, agreement((our_where + where) / 2, our_elsewhere, elsewhere))

    def _side(self, reached: int, moved: int) -> tuple[float, float, float, float]:
        matched = rest = where = elsewhere = 0.0
        for i, term in enumerate(self.profile.terms):
            if moved >> i & 1 or (term.is_place and reached >> i & 1):
                where += PLACE_WEIGHT
            elif term.is_place:
                elsewhere += PLACE_WEIGHT
            elif reached >> i & 1:
                matched += term.weight
            else:
                rest += term.weight
        return matched, rest, where, elsewhere


@dataclass(slots=True)
class Channel:
    """The groups that can match the new question one way: by one of its keys in a slot, or
    by a stem alike to one of its stems in the slot of another key."""

    postings: Postings
    reach: int  # the new question's terms that a group's term in it may match
    is_place: bool  # the group's term is a place of its own
    is_moved: bool  # the group's term is a plain word that the new question has as a place
    is_moving: bool  # the group's term is a place that the new question has as a plain word

    @property
    def is_word(self) -> bool:
        return not (self.is_place or self.is_moved)


class Plan:
    """Which groups one question reads, and in which order it scores them.

    A set of channels is a bit mask over `channels`.
    """

    def __init__(self, question: Question, tables: Tables) -> None:
        self.question, self.tables = question, tables
        self._reached: dict[int, tuple[float, int]] = {}  # reach -> our words' weight, places
        self._filled: dict[int, tuple[int, list[float]]] = {0: (0, [])}  # channels -> reach, gains
        self._bests: dict[int, float] = {}  # channels -> `_best`
        self._mosts: list[float] = []  # a number of channels -> `_most`
        self.channels = self._channels()
        self.gains = [self._reach(channel.reach)[0] for channel in self.channels]
        self.words = self.places = self.moved = self.moving = 0
        self.by_shape: dict[Shape, list[tuple[int, set[Group]]]] = {}
        for i, channel in enumerate(self.channels):
            self.words |= channel.is_word << i
            self.places |= channel.is_place << i
            self.moved |= channel.is_moved << i
            self.moving |= channel.is_moving << i
            for shape, bucket in channel.postings.shapes.items():
                self.by_shape.setdefault(shape, []).append((i, bucket))
        self.scored: set[Group] = set()

    def _channels(self) -> list[Channel]:
        """The channels, numbered: our keys' slots (`numbers`), then alike stems' slots."""
        profile, bits = self.question.profile, self.question.bits
        slots: dict[Slot, Channel] = {}
        for key in profile.keys:
            for is_place in (False, True):
                if (key, is_place) in self.tables.slots:
                    ours = key in profile.places
                    slots[key, is_place] = Channel(
                        self.tables.slots[key, is_place],
                        bits[key],
                        is_place,
                        is_moved=ours and not is_place,
                        is_moving=is_place and not ours,
                    )
        stems: dict[tuple[str, Slot], Channel] = {}
        for sound, reach in self.question.alike.items():
            for slot, postings in self.tables.stems[sound].items():
                if slot in slots:
                    slots[slot].reach |= reach
                else:
                    stems[sound, slot] = Channel(postings, reach, slot[1], False, False)
        self.numbers = {slot: i for i, slot in enumerate(slots)}
        self.stem_numbers = {stem: i + len(slots) for i, stem in enumerate(stems)}
        return [*slots.values(), *stems.values()]

    def _reach(self, reach: int) -> tuple[float, int]:
        """The weight of our plain words among the terms `reach` holds, and our places there."""
        if reach not in self._reached:
            words, places, rest = 0.0, 0, reach
            while rest:
                term = self.question.profile.terms[(rest & -rest).bit_length() - 1]
                if term.is_place:
                    places += 1
                else:
                    words += term.weight
                rest &= rest - 1
            self._reached[reach] = words, places
        return self._reached[reach]

    def _fill(self, channels: int, known: int = 0) -> tuple[int, list[float]]:
        """What the channels reach, and the weight of our words each reaches, largest first;
        `known` is a subset filled before."""
        if channels not in self._filled:
            reach, gains = self._filled[known]
            gains, rest = list(gains), channels & ~known
            while rest:
                i = (rest & -rest).bit_length() - 1
                reach |= self.channels[i].reach
                gains.append(self.gains[i])
                rest &= rest - 1
            self._filled[channels] = reach, sorted(gains, reverse=True)
        return self._filled[channels]

    def bound(self, channels: int, shape: Shape) -> float:
        """The best score of a group of this shape that fills no channel but these.

        Each of its terms fills one channel at most, weighs PLACE_WEIGHT as a place and at most
        _HEAVIEST_WORD otherwise; the words it leaves unmatched weigh _LIGHTEST_WORD or more.
        """
        places, words = shape
        reach, gains = self._fill(channels)
        our_words, our_places = self._reach(reach)
        matched = min(our_words, sum(gains[: places + words]))
        filled_words = (channels & self.words).bit_count()
        moved = (channels & self.moved).bit_count()
        what = agreement(
            (matched + min(words, filled_words) * _HEAVIEST_WORD) / 2,
            self.question.words - matched,
            max(0, words - filled_words - moved) * _LIGHTEST_WORD,
        )
        ours = len(self.question.profile.places)
        if not (ours and places):
            return what  # where is not scored, or is at most what
        filled_places = (channels & self.places).bit_count()
        our_where = our_places + min((channels & self.moving).bit_count(), places)
        where = min(places, filled_places) + min(words, moved)
        return min(
            what,
            agreement(
                PLACE_WEIGHT * (our_where + where) / 2,
                PLACE_WEIGHT * (ours - our_places),
                PLACE_WEIGHT * max(0, places - filled_places),
            ),
        )

    def run(self, ranking: Ranking) -> None:
        same_keys = self.tables.by_keys.get(self.question.profile.keys, set())
        for group in sorted(same_keys, key=lambda group: group.first):
            self._score(group, ranking)  # 1.0 whatever the weights (profile_score)
        everything = (1 << len(self.channels)) - 1
        shapes = sorted(
            ((self.bound(everything, shape), shape) for shape in self.by_shape), reverse=True
        )
        for top, shape in shapes:
            if top < ranking.cut():
                return
            groups = set().union(*self._to_read(shape, ranking.cut())) - self.scored
            bounds = sorted(
                (
                    (self.question.bound(group), group)
                    for group in self._filling_enough(groups, shape, ranking.cut())
                ),
                key=lambda pair: (-pair[0], pair[1].first),
            )
            for bound, group in bounds:
                if bound < ranking.cut():
                    break
                self._score(group, ranking)

    def _to_read(self, shape: Shape, cut: float) -> list[set[Group]]:
        """The channels' groups of this shape to read: the largest channels are skipped while
        a group filling only skipped channels stays under the cut."""
        buckets = self.by_shape[shape]
        if sum(len(bucket) for _, bucket in buckets) <= _READ_WHOLE:
            return [bucket for _, bucket in buckets]
        skipped, read = 0, []
        for i, bucket in sorted(buckets, key=lambda pair: -len(pair[1])):
            if len(bucket) > _SMALL:
                self._fill(skipped | 1 << i, skipped)
                if self.bound(skipped | 1 << i, shape) < cut:
                    skipped |= 1 << i
                    continue
            read.append(bucket)
        return read

    def _filling_enough(self, groups: set[Group], shape: Shape, cut: float) -> list[Group]:
        """The groups whose channels, all of them, may take a group of this shape to the cut."""
        if len(self.by_shape[shape]) > _TERMS_PER_GROUP * len(groups):
            filled = {group: self._filled_by(group) for group in groups}
        else:  # fewer channels than terms to look up: intersect them with the groups
            filled = dict.fromkeys(groups, 0)
            for i, bucket in self.by_shape[shape]:
                for group in groups & bucket:
                    filled[group] |= 1 << i
        bounds: dict[int, float] = {}
        enough = []
        for group, channels in filled.items():
            if channels not in bounds:
                best = self._most(channels.bit_count())
                if best >= cut:
                    best = self._best(channels)
                bounds[channels] = best if best < cut else self.bound(channels, shape)
            if bounds[channels] >= cut:
                enough.append(group)
        return enough

    def _most(self, count: int) -> float:
        """A bound for a group filling `count` channels, whichever: as `_best`, with every
        channel's gain, place and kind at its most."""
        while len(self._mosts) <= count:
            self._mosts.append(self._most_of(len(self._mosts)))
        return self._mosts[count]

    def _most_of(self, count: int) -> float:
        reach, gains = self._fill((1 << len(self.channels)) - 1)
        our_words, our_places = self._reach(reach)
        matched = min(our_words, sum(gains[:count]))
        ours = len(self.question.profile.places)
        most = 0.0
        for places in range(count + 1):
            words = count - places
            bound = agreement(
                (matched + min(words, self.words.bit_count()) * _HEAVIEST_WORD) / 2,
                self.question.words - matched,
                0.0,
            )
            if ours and places:
                moved = min(words, self.moved.bit_count())
                shared = our_places + min(self.moving.bit_count(), places) + places + moved
                unmatched = PLACE_WEIGHT * (ours - our_places)
                bound = min(bound, agreement(PLACE_WEIGHT * shared / 2, unmatched, 0.0))
            most = max(most, bound)
        return most

    def _best(self, channels: int) -> float:
        """The bound for a group filling exactly these channels, whatever its shape: the
        smallest shape that holds their terms has the highest (more terms only differ more)."""
        if channels not in self._bests:
            places = (channels & self.places).bit_count()
            words = (channels & (self.words | self.moved)).bit_count()
            self._bests[channels] = self.bound(channels, (places, words))
        return self._bests[channels]

    def _filled_by(self, group: Group) -> int:
        """The channels the group fills, found by its terms."""
        channels = 0
        for term in group.profile.terms:
            slot = (term.key, term.is_place)
            i = self.numbers.get(slot, self.stem_numbers.get((term.sound, slot)))
            if i is not None:
                channels |= 1 << i
        return channels

    def _score(self, group: Group, ranking: Ranking) -> None:
        if ranking.admits(group.first):
            self.scored.add(group)
            score = profile_score(self.question.profile, group.profile, self.question.near)
            ranking.add(group, score)
