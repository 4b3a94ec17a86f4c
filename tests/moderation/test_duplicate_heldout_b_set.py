"""The shape of held-out set B (issue 14, "Duplicates"): the set is frozen, so these checks guard
that it keeps the size and the mix of kinds the issue asks for; they say nothing about the method
(no import of moderation/), whose score on the set is measured elsewhere."""

from __future__ import annotations

import datetime
from collections import Counter

from tests.moderation.duplicate_heldout_b import FROZEN, KINDS, PAIRS

# The issue's minimums per kind (positives and the three kinds of negatives).
MINIMUMS = {
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


def test_the_set_has_at_least_320_pairs_and_130_negatives() -> None:
    assert len(PAIRS) >= 320
    assert sum(not pair.same for pair in PAIRS) >= 130


def test_every_kind_reaches_its_minimum() -> None:
    counts = Counter(pair.kind for pair in PAIRS)
    short = {kind: counts[kind] for kind, least in MINIMUMS.items() if counts[kind] < least}
    assert short == {}
    assert set(MINIMUMS) == set(KINDS)


def test_translations_and_hard_negatives_meet_the_issue() -> None:
    counts = Counter(pair.kind for pair in PAIRS)
    assert counts["translation"] >= 30
    assert counts["hard_street"] + counts["hard_number"] >= 100


def test_every_pair_has_a_known_kind_and_the_label_its_kind_implies() -> None:
    assert all(pair.kind in KINDS for pair in PAIRS)
    assert all(pair.same == (pair.kind not in NEGATIVE_KINDS) for pair in PAIRS)


def test_no_pair_is_repeated_either_way_round() -> None:
    keys = [frozenset((pair.a.casefold(), pair.b.casefold())) for pair in PAIRS]
    assert len(keys) == len(set(keys))
    assert all(pair.a.casefold() != pair.b.casefold() for pair in PAIRS)


def test_no_text_is_empty_or_padded() -> None:
    texts = [text for pair in PAIRS for text in (pair.a, pair.b)]
    assert all(text.strip() == text and text for text in texts)
    assert all(3 <= len(text.split()) <= 40 for text in texts)


def test_frozen_is_the_date_the_set_was_written() -> None:
    frozen = datetime.date.fromisoformat(FROZEN)
    assert frozen == datetime.date(2026, 11, 30)
