"""The questions of a meeting that may still be repeated, indexed for duplicate suggestions.

`QuestionIndex.duplicates(text)` answers exactly what `similarity.duplicates(text, entries)`
answers (the same ids, scores and order) but scores only the questions that can still make
the list. Every cut is exact; none is a heuristic:

- Questions with one profile score alike: each distinct profile (a group) is scored once.
  Those with the new question's keys score 1.0; with no terms, only the same text scores.
- An earlier question scores 0 unless it shares a key with the new one or has a stem alike to
  one of its stems. Alike stems are looked up (deletions of their first letters, pieces of
  five letters) and confirmed by `similarity.alike_sounds`, on those stems only.
- A key of the new question held as a place or not, or an alike stem under another key, is a
  *channel*; an earlier question fills a channel with one term at most, and each of its terms
  fills one channel at most. `ranking.Plan.bound` bounds the score of any question of a given shape
  (own places, other terms) that fills no channel but a given set.
- Per shape, the largest channels are skipped while a question filling only those stays under
  the bar: the threshold, or the last score of a full list (prefix filtering). A question read
  is passed over if the number of channels it fills keeps it under the bar, or their set does,
  or a bound that takes each of its possible matches as perfect does (`ranking.Question.bound`); the
  rest are scored, best bound first.
"""

from __future__ import annotations

from moderation.candidates import Group, Tables, signature
from moderation.ranking import Plan, Question, Ranking
from moderation.similarity import profile_of


class QuestionIndex:
    """The questions of a meeting that may still be repeated, indexed for duplicate suggestions."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}  # id -> text, oldest first
        self._groups: dict[str, Group] = {}  # id -> group (apart: fewer objects to collect)
        self._added = 0
        self._tables = Tables()

    def add(self, item_id: str, text: str) -> None:
        """A question joins; an id added again is replaced, and counts as added last."""
        self.remove(item_id)
        group = self._groups[item_id] = self._tables.group(profile_of(text))
        group.members[item_id] = self._added
        self._texts[item_id] = text
        self._added += 1

    def remove(self, item_id: str) -> None:
        """A question leaves (merged or rejected); an unknown id is ignored."""
        if item_id not in self._texts:
            return
        del self._texts[item_id]
        group = self._groups.pop(item_id)
        if group.leave(item_id):
            self._tables.drop(group)

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._texts

    def entries(self) -> list[tuple[str, str]]:
        """(item_id, text) of every question, in the order they were added, oldest first."""
        return list(self._texts.items())

    def duplicates(self, text: str, *, limit: int = 3) -> list[tuple[str, float]]:
        """`similarity.duplicates(text, self.entries(), limit=limit)`, found through the index."""
        if limit == 0:
            return []
        ranking = Ranking(limit if limit > 0 else None)  # below 0 it cuts a whole list
        profile = profile_of(text)
        if profile.terms:
            near = self._tables.alike.near(profile.sounds)
            Plan(Question(profile, near, self._tables.stems), self._tables).run(ranking)
        elif profile.text and signature(profile) in self._tables.groups:
            ranking.add(self._tables.groups[signature(profile)], 1.0)  # the same text
        found = ranking.found()
        return found if limit > 0 else found[:limit]
