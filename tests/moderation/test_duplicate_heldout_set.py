"""The shape of the frozen held-out duplicate set (issue 14): large enough, every kind present.

This checks only the set itself, never the method (it imports nothing from moderation/), so
the set's size and balance cannot drift while the method is tuned on duplicate_pairs.py.
"""

from __future__ import annotations

import datetime
from collections import Counter

from tests.moderation.duplicate_heldout import FROZEN, KINDS, PAIRS

# The issue's floors for each kind (issue 14, "Write a new labelled set of at least 300 pairs").
MINIMUM = {
    "paraphrase_ru": 25,
    "paraphrase_kk": 20,
    "inflection": 15,
    "number_words": 20,
    "word_order": 15,
    "time_words": 12,
    "translation": 36,
    "other_same": 10,
    "hard_street": 50,
    "hard_number": 50,
    "unrelated": 20,
}
NEGATIVE_KINDS = {"hard_street", "hard_number", "unrelated"}


def test_the_set_is_large_enough() -> None:
    assert len(PAIRS) >= 320
    assert sum(not pair.same for pair in PAIRS) >= 130


def test_every_kind_reaches_its_minimum() -> None:
    counts = Counter(pair.kind for pair in PAIRS)
    assert set(counts) == set(KINDS) == set(MINIMUM)
    short = {kind: counts[kind] for kind, floor in MINIMUM.items() if counts[kind] < floor}
    assert not short, f"kinds below their minimum: {short}"


def test_translations_and_hard_negatives_meet_the_issue_floors() -> None:
    counts = Counter(pair.kind for pair in PAIRS)
    assert counts["translation"] >= 30
    assert counts["hard_street"] + counts["hard_number"] >= 100


def test_each_kind_carries_one_label() -> None:
    """Negatives are exactly the three negative kinds; every other kind is a merge."""
    wrong = [pair for pair in PAIRS if pair.same == (pair.kind in NEGATIVE_KINDS)]
    assert not wrong


def test_no_pair_is_repeated_or_empty() -> None:
    keys = [frozenset((pair.a.strip().casefold(), pair.b.strip().casefold())) for pair in PAIRS]
    assert len(set(keys)) == len(keys)
    assert all(pair.a.strip() and pair.b.strip() for pair in PAIRS)
    assert all(pair.a != pair.b for pair in PAIRS)


def test_frozen_is_a_date() -> None:
    assert datetime.date.fromisoformat(FROZEN) == datetime.date(2026, 11, 30)
