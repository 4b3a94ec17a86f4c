"""Duplicate suggestions scored on the frozen held-out set (issue 14), on the development set
they were tuned against, and on the first labelled set: recall, false positives, translations.

A pair counts as found when the later question's suggestions, as the console gets them
(`QuestionIndex.duplicates`, moderation/submissions.py), name the earlier one. The figures and
every miss go to the terminal, so a run shows where the method stands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest

from moderation.duplicates import QuestionIndex
from tests.moderation import duplicate_dev, duplicate_heldout, duplicate_heldout_b
from tests.moderation.duplicate_pairs import PAIRS as FIRST_PAIRS

Labelled = tuple[str, str, bool, str]  # earlier, later, the same request, kind


def is_suggested(earlier: str, later: str) -> bool:
    """Whether asking `later` after `earlier` suggests it, as a meeting's index would."""
    index = QuestionIndex()
    index.add("earlier", earlier)
    return [item_id for item_id, _ in index.duplicates(later)] == ["earlier"]


@dataclass(repr=False)  # a failed assert names the figure, not every miss
class Score:
    """The decisions on a labelled set, by kind."""

    found: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    misses: list[Labelled] = field(default_factory=list)
    true_pairs: int = 0
    recalled: int = 0
    negatives: int = 0
    flagged: int = 0

    def add(self, pair: Labelled) -> None:
        earlier, later, same, kind = pair
        suggested = is_suggested(earlier, later)
        self.total[kind] = self.total.get(kind, 0) + 1
        self.found[kind] = self.found.get(kind, 0) + (suggested == same)
        if suggested != same:
            self.misses.append(pair)
        self.true_pairs += same
        self.recalled += same and suggested
        self.negatives += not same
        self.flagged += not same and suggested

    @property
    def recall(self) -> float:
        return self.recalled / self.true_pairs

    @property
    def false_positives(self) -> float:
        return self.flagged / self.negatives

    def report(self, title: str) -> str:
        lines = [
            f"\n{title}",
            f"  recall {self.recalled}/{self.true_pairs} = {self.recall:.3f}",
            f"  false positives {self.flagged}/{self.negatives} = {self.false_positives:.3f}",
        ]
        lines += [f"  {kind:14} {self.found[kind]}/{self.total[kind]}" for kind in self.total]
        lines += [
            f"  MISS {kind}{'' if same else ' (flagged)'}: {earlier!r} | {later!r}"
            for earlier, later, same, kind in self.misses
        ]
        return "\n".join(lines) + "\n"


def scored(pairs: Iterable[Labelled]) -> Score:
    score = Score()
    for pair in pairs:
        score.add(pair)
    return score


@pytest.fixture(scope="module")
def heldout() -> Score:
    return scored((p.a, p.b, p.same, p.kind) for p in duplicate_heldout.PAIRS)


def test_heldout_figures_and_misses_are_written(
    heldout: Score, capsys: pytest.CaptureFixture[str]
) -> None:
    report = heldout.report(f"held-out set, frozen {duplicate_heldout.FROZEN}")
    with capsys.disabled():
        sys.stdout.write(report)
    assert len(heldout.misses) == report.count("MISS")
    assert sum(heldout.total.values()) == len(duplicate_heldout.PAIRS)


def test_the_heldout_set_is_frozen_and_large() -> None:
    assert duplicate_heldout.FROZEN == "2026-11-30"
    assert len(duplicate_heldout.PAIRS) >= 300


def test_heldout_recall_is_at_least_85_percent(heldout: Score) -> None:
    assert heldout.recall >= 0.85, f"recall {heldout.recall:.3f}"


def test_heldout_false_positives_are_at_most_5_percent(heldout: Score) -> None:
    assert heldout.false_positives <= 0.05, f"false positives {heldout.false_positives:.3f}"


def test_heldout_translations_are_found_four_times_in_six(heldout: Score) -> None:
    found, total = heldout.found["translation"], heldout.total["translation"]
    assert found * 6 >= total * 4, f"translations {found}/{total}"


def test_the_second_heldout_set_is_reported_and_holds_the_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Set B (tests/moderation/duplicate_heldout_b.py), written by another author after the
    first round of tuning, seen by nobody who tuned, scored once: its figures are reported
    beside set A's. It meets the false-positive and translation targets; its recall (0.811
    when it was first scored, against 0.276 before issue 14) is under set A's 0.85 target, so
    here it only keeps its floor against regressions."""
    score = scored((p.a, p.b, p.same, p.kind) for p in duplicate_heldout_b.PAIRS)
    with capsys.disabled():
        sys.stdout.write(score.report(f"held-out set B, frozen {duplicate_heldout_b.FROZEN}"))
    found, total = score.found["translation"], score.total["translation"]
    assert found * 6 >= total * 4, f"translations {found}/{total}"
    assert score.false_positives <= 0.05, f"false positives {score.false_positives:.3f}"
    assert score.recall >= 0.8, f"recall {score.recall:.3f}"


def test_the_development_set_is_found(capsys: pytest.CaptureFixture[str]) -> None:
    score = scored(duplicate_dev.PAIRS)
    with capsys.disabled():
        sys.stdout.write(score.report("development set"))
    assert len(duplicate_dev.PAIRS) >= 120
    assert score.recall >= 0.9
    assert score.false_positives <= 0.05


def test_the_first_labelled_set_still_passes(capsys: pytest.CaptureFixture[str]) -> None:
    kind = {True: "same", False: "different"}
    score = scored((a, b, same, kind[same]) for a, b, same in FIRST_PAIRS)
    with capsys.disabled():
        sys.stdout.write(score.report("first labelled set (duplicate_pairs.py)"))
    assert len(FIRST_PAIRS) == 110
    assert score.recall >= 0.9
    assert score.false_positives <= 0.05
