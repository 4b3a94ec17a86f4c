"""The duplicate index answers exactly as `similarity.duplicates` over its entries does."""

from __future__ import annotations

import functools
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from bench.questions import corpus
from moderation.duplicates import QuestionIndex
from moderation.similarity import duplicates
from tests.moderation.duplicate_pairs import PAIRS

LIMITS = (0, 1, 3, 10)


def assert_as_brute_force(index: QuestionIndex, text: str, limits: tuple[int, ...]) -> None:
    # similarity.duplicates cuts one sorted list: one call gives every limit's answer.
    everything = duplicates(text, index.entries(), limit=len(index) + 1)
    for limit in limits:
        assert index.duplicates(text, limit=limit) == everything[:limit], (text, limit)


# --- the index as a collection ------------------------------------------------------------


def test_entries_are_kept_in_the_order_they_were_added() -> None:
    index = QuestionIndex()
    index.add("q1", "Когда отремонтируют дорогу на улице Жандосова?")
    index.add("q2", "Почему в школе №45 нет отопления?")
    index.add("q3", "👍👍👍")
    assert index.entries() == [
        ("q1", "Когда отремонтируют дорогу на улице Жандосова?"),
        ("q2", "Почему в школе №45 нет отопления?"),
        ("q3", "👍👍👍"),
    ]
    assert len(index) == 3
    assert "q2" in index
    assert "q4" not in index
    assert 2 not in index


def test_an_id_added_again_is_replaced_and_counts_as_added_last() -> None:
    index = QuestionIndex()
    index.add("q1", "Когда отремонтируют дорогу на улице Жандосова?")
    index.add("q2", "Когда отремонтируют дорогу на улице Жандосова?")
    index.add("q1", "Почему в школе №45 нет отопления?")
    assert index.entries() == [
        ("q2", "Когда отремонтируют дорогу на улице Жандосова?"),
        ("q1", "Почему в школе №45 нет отопления?"),
    ]
    assert index.duplicates("Когда отремонтируют дорогу на улице Жандосова?") == [("q2", 1.0)]
    assert [item_id for item_id, _ in index.duplicates("Нет отопления в школе №45")] == ["q1"]


def test_removed_questions_are_no_longer_suggested_and_unknown_ids_are_ignored() -> None:
    index = QuestionIndex()
    index.add("q1", "Когда отремонтируют дорогу на улице Жандосова?")
    index.add("q2", "Дорогу на Жандосова когда будут ремонтировать? Одни ямы")
    index.remove("q1")
    index.remove("q1")
    index.remove("never")
    assert index.entries() == [("q2", "Дорогу на Жандосова когда будут ремонтировать? Одни ямы")]
    assert [i for i, _ in index.duplicates("Когда отремонтируют дорогу на Жандосова?")] == ["q2"]
    index.remove("q2")
    assert len(index) == 0
    assert index.duplicates("Когда отремонтируют дорогу на Жандосова?") == []


def test_repeats_merged_away_leave_the_oldest_of_the_rest_first() -> None:
    index = QuestionIndex()
    for i in range(100):
        index.add(f"r{i}", "Почему выросли тарифы на коммунальные услуги?")
    for i in range(90):
        index.remove(f"r{i}")
    question = "Почему так выросли тарифы на коммунальные услуги?"
    assert index.duplicates(question) == [("r90", 1.0), ("r91", 1.0), ("r92", 1.0)]
    assert_as_brute_force(index, question, (*LIMITS, -1))


def test_texts_with_no_words_that_count_match_only_the_same_text() -> None:
    index = QuestionIndex()
    for item_id, text in [("q1", "👍👍👍"), ("q2", "!!!"), ("q3", "👍 👍👍"), ("q4", "Спасибо!")]:
        index.add(item_id, text)
    assert index.duplicates("👍👍👍", limit=10) == []  # emoji leave no text at all
    assert index.duplicates("спасибо", limit=10) == [("q4", 1.0)]
    assert index.duplicates("Спасибо, аким", limit=10) == []
    index.remove("q4")
    assert index.duplicates("спасибо") == []


# --- the same answers as brute force ------------------------------------------------------


def test_every_labelled_question_against_the_others() -> None:
    texts = [text for pair in PAIRS for text in pair[:2]]
    index = QuestionIndex()
    for i, text in enumerate(texts):
        index.add(f"p{i}", text)
    for i, text in enumerate(texts):
        index.remove(f"p{i}")
        assert_as_brute_force(index, text, (*LIMITS, -1))
        index.add(f"p{i}", text)


def test_a_long_question_sharing_many_words_with_one_earlier_question() -> None:
    # One earlier question fills ten of the new one's channels: its channels are found from
    # its terms rather than from the channels' postings (ranking.Plan._filled_by).
    # Its one term the new question lacks (мост) fills no channel.
    shared = "дорога школа больница лифт крыша мусор автобус парк газ тротуар на Абая 12"
    index = QuestionIndex()
    index.add("long", shared + " мост")
    index.add("other", "Когда откроют новую поликлинику?")
    assert_as_brute_force(index, shared + " светофор", LIMITS)
    assert [item_id for item_id, _ in index.duplicates(shared + " светофор")] == ["long"]


def test_a_question_with_two_spellings_of_one_indexed_name() -> None:
    # "Сейфулина" is alike to the indexed "Сейфуллина", and so to the question's own other
    # spelling: a stem alike to ours that no indexed question has is passed over.
    index = QuestionIndex()
    index.add("e", "Сейфуллина")
    assert_as_brute_force(index, "Сейфуллина Сейфулина", LIMITS)


@pytest.fixture(scope="module")
def generated() -> tuple[QuestionIndex, list[str]]:
    """3,000 generated questions indexed, and 300 asked after them (about 15% repeats)."""
    questions = [question.text for question in corpus(3_300, seed=7)]
    index = QuestionIndex()
    for i, text in enumerate(questions[:3_000]):
        index.add(f"g{i}", text)
    return index, questions[3_000:]


def test_generated_questions_against_thousands(generated: tuple[QuestionIndex, list[str]]) -> None:
    index, asked = generated
    for text in asked:
        assert_as_brute_force(index, text, LIMITS)


def test_long_questions_that_run_several_together(
    generated: tuple[QuestionIndex, list[str]],
) -> None:
    index, asked = generated
    for start in range(0, 60, 6):
        text = " ".join(asked[start : start + 6])[:500]  # as long as a question may be
        assert_as_brute_force(index, text, LIMITS)


def test_generated_questions_after_removals_and_replacements() -> None:
    questions = [question.text for question in corpus(2_200, seed=11)]
    index = QuestionIndex()
    for i, text in enumerate(questions[:2_000]):
        index.add(f"g{i}", text)
    draw = random.Random(3)
    for i in draw.sample(range(2_000), 700):
        index.remove(f"g{i}")
    for i in draw.sample(range(2_000), 200):
        index.add(f"g{i}", questions[draw.randrange(2_200)])
    for text in questions[2_000:]:
        assert_as_brute_force(index, text, (*LIMITS, -1))


def test_a_sanity_bound_on_time(generated: tuple[QuestionIndex, list[str]]) -> None:
    index, asked = generated
    timings = []
    for text in asked[:50]:
        start = time.perf_counter()
        index.duplicates(text)
        timings.append(time.perf_counter() - start)
    # About 1 ms on a laptop; the bound leaves room for coverage tracing and a busy CI box.
    assert sorted(timings)[25] < 0.05, f"median {sorted(timings)[25] * 1000:.1f} ms"


# --- random texts from a small vocabulary ---------------------------------------------------

WORDS = [
    # Russian, with typos and inflections
    "когда", "почему", "дорогу", "дорога", "дорого", "дарогу", "ремонт", "отремонтируют",
    "ремантируют", "нет", "горячей", "воды", "вадаснабжение", "отопления", "отопление",
    "школе", "школа", "автобус", "автобуса", "ходит", "редко", "фонари", "освещение", "мусор",
    "двор", "дворе", "площадку", "участок", "очередь", "жильё", "улице", "улица", "дом", "доме",
    "в", "на", "по", "и", "пожалуйста", "уже", "неделю",
    # Kazakh Cyrillic and Latin
    "жол", "жолы", "жөнделеді", "жонделеди", "қашан", "кашан", "су", "суы", "жоқ", "жок",
    "көшесі", "көшесінде", "үйде", "мектеп", "мектепте", "жылу", "jol", "qashan", "qaşan",
    "su", "joq", "köşesı", "koshesi", "mektep", "jylu", "üide", "uide", "aulada", "аулада",
    # streets and districts, written as names or not
    "Абая", "абая", "Абай", "Abai", "Жандосова", "жандосова", "Жандосава", "Саина", "Сайын",
    "Sätbaev", "Сатпаева", "Аксай-4", "Самал-2", "батыра", "Кабанбай", "Толе", "би",
    # numbers, emoji and punctuation
    "5", "12", "45", "№45", "2021", "32", "👍", "😡", "?", "!!!", ",", ".", "—",
]  # fmt: skip
QUESTIONS = st.lists(st.sampled_from(WORDS), min_size=0, max_size=9).map(" ".join)
ITEM_IDS = st.sampled_from([f"q{i}" for i in range(12)])


class IndexAgainstBruteForce(RuleBasedStateMachine):
    """Questions join, leave and are replaced; every answer is the brute force's."""

    def __init__(self) -> None:
        super().__init__()
        self.index = QuestionIndex()
        self.texts: dict[str, str] = {}

    @rule(item_id=ITEM_IDS, text=QUESTIONS)
    def add(self, item_id: str, text: str) -> None:
        self.index.add(item_id, text)
        self.texts.pop(item_id, None)
        self.texts[item_id] = text

    @rule(item_id=ITEM_IDS)
    def remove(self, item_id: str) -> None:
        self.index.remove(item_id)
        self.texts.pop(item_id, None)

    @rule(text=QUESTIONS, limit=st.sampled_from((0, 1, 2, 3, 10, -1)))
    def ask(self, text: str, limit: int) -> None:
        assert self.index.duplicates(text, limit=limit) == duplicates(
            text, list(self.texts.items()), limit=limit
        )

    @rule(item_id=ITEM_IDS, limit=st.sampled_from((1, 3)))
    def ask_an_indexed_question_again(self, item_id: str, limit: int) -> None:
        text = self.texts.get(item_id, "")
        assert self.index.duplicates(text, limit=limit) == duplicates(
            text, list(self.texts.items()), limit=limit
        )

    @invariant()
    def entries_are_the_texts_in_the_order_added(self) -> None:
        assert self.index.entries() == list(self.texts.items())
        assert len(self.index) == len(self.texts)


IndexAgainstBruteForce.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestIndexAgainstBruteForce = IndexAgainstBruteForce.TestCase


@given(QUESTIONS | st.text(max_size=40), st.sampled_from(LIMITS))
@settings(deadline=None)
def test_any_text_against_the_labelled_questions(text: str, limit: int) -> None:
    index = labelled_index()
    assert index.duplicates(text, limit=limit) == duplicates(text, index.entries(), limit=limit)


# Words of five letters from six: most are a typo or two apart, or one inside another, which
# is where finding alike stems without comparing them all could miss one.
TYPO_WORDS = st.text(alphabet="бвдкрт", min_size=3, max_size=9).map(lambda word: "о" + word)
TYPO_QUESTIONS = st.lists(TYPO_WORDS, min_size=1, max_size=4).map(" ".join)


@given(st.lists(TYPO_QUESTIONS, max_size=20), TYPO_QUESTIONS)
@settings(deadline=None)
def test_questions_of_words_a_typo_apart(earlier: list[str], text: str) -> None:
    index = QuestionIndex()
    for i, other in enumerate(earlier):
        index.add(f"t{i}", other)
    assert index.duplicates(text, limit=10) == duplicates(text, index.entries(), limit=10)


@functools.cache
def labelled_index() -> QuestionIndex:
    """Every text of the labelled pairs, indexed once for all examples (none changes it)."""
    index = QuestionIndex()
    for i, text in enumerate(text for pair in PAIRS for text in pair[:2]):
        index.add(f"p{i}", text)
    return index
