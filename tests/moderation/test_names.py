"""Reserved names (issue 8, INP-4): impostors of an official role are refused, real names pass.

The tables are frozen (`impostor_names.py`) and held out (`impostor_names_heldout.py`); every row
goes through `decide`, as a viewer's comment would.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import CommentPosted, CommentRejected, PostComment, RejectReason
from moderation.commands import Submission
from moderation.duplicates import QuestionIndex
from moderation.names import RESERVED, is_reserved, reserved_words
from moderation.submissions import decide
from moderation.text import clean_name
from tests.moderation import impostor_names, impostor_names_heldout
from tests.moderation._records import MEETING, NOW

TRICKS = {
    "exact", "case", "latin", "cyrillic", "greek", "kazakh", "fullwidth", "styled", "digits",
    "symbols", "decoration", "invisible", "bidi", "spaced", "phrase", "mixed",
}  # fmt: skip
DETAIL = "the name reads as an official role; choose another"


def comment_as(name: str) -> CommentPosted:
    """The event a viewer's comment signed `name` makes, or `CommentRejected`."""
    what = PostComment(client_msg_id="c1", name=name, text="Сәлеметсіз бе!")
    event = decide(MEETING, Submission(what=what, sender="v1"), now=NOW, earlier=QuestionIndex())
    assert isinstance(event, CommentPosted)
    return event


def refusal(name: str) -> tuple[RejectReason, str]:
    with pytest.raises(CommentRejected) as refused:
        comment_as(name)
    return refused.value.reason, refused.value.detail


def test_the_tables_are_as_large_as_the_issue_asks_and_cover_every_trick() -> None:
    assert len(impostor_names.HOSTILE) >= 60
    assert len(impostor_names.REAL) >= 40
    assert len(impostor_names_heldout.HOSTILE) >= 20
    assert len(impostor_names_heldout.REAL) >= 20
    assert {trick for _, trick in impostor_names.HOSTILE} == TRICKS
    assert {trick for _, trick in impostor_names_heldout.HOSTILE} <= TRICKS
    every = [name for name, _ in impostor_names.HOSTILE + impostor_names_heldout.HOSTILE]
    every += impostor_names.REAL + impostor_names_heldout.REAL
    assert not [name for name, n in Counter(every).items() if n > 1]


@pytest.mark.parametrize(("name", "trick"), impostor_names.HOSTILE)
def test_inp4_an_impostor_name_is_refused_reserved_name(name: str, trick: str) -> None:
    assert refusal(name) == (RejectReason.RESERVED_NAME, DETAIL), trick


@pytest.mark.parametrize("name", impostor_names.REAL)
def test_inp4_a_real_name_with_the_same_letters_passes_as_typed(name: str) -> None:
    assert comment_as(name).name == name


@pytest.mark.parametrize(("name", "trick"), impostor_names_heldout.HOSTILE)
def test_inp4_held_out_impostors_are_refused(name: str, trick: str) -> None:
    assert refusal(name) == (RejectReason.RESERVED_NAME, DETAIL), trick


@pytest.mark.parametrize("name", impostor_names_heldout.REAL)
def test_inp4_held_out_real_names_pass_as_typed(name: str) -> None:
    assert comment_as(name).name == name


@pytest.mark.parametrize("word", reserved_words())
def test_every_reserved_form_is_refused_in_any_case_and_in_a_phrase(word: str) -> None:
    for name in (word, word.upper(), word.capitalize(), f"{word} района", f"✔{word}✔"):
        assert is_reserved(name), name


def test_the_list_has_the_words_the_issue_names_in_kazakh_russian_and_latin() -> None:
    words = set(reserved_words())
    named = {"аким", "әкім", "әкімдік", "акимат", "модератор", "администратор", "админ"}
    assert named | {"admin", "moderator", "administrator"} <= words
    # The Latin spelling of a Cyrillic form is reserved with it.
    assert all(is_reserved(latin) for latin in ("Akim", "Akimat", "Akimdik", "Ákimshilik"))
    assert all(stem == stem.lower() and endings for stem, endings in RESERVED.items())


@pytest.mark.parametrize(
    "name",
    [
        "Акимов",  # the surname, not the genitive plural of «аким»
        "А. Ким",  # an initial and a surname are not «Аким» glued
        "А.Ким",
        "Ак им",  # a word cut in two is not caught: see the module's docstring
        "Акимрайона",  # nor one glued to the next in one case
        "Акимжанова",  # a word that only begins with a reserved one
        "Мира Мира",
        "ß",  # upper-cases to two letters
        "你好",  # letters we do not read
        "Ab Cd",
        "А Б В Г",  # letters spaced out that spell nothing
        "x\u0334",  # a mark on its own reads as nothing
    ],
)
def test_names_that_only_begin_with_or_split_a_word_pass(name: str) -> None:
    assert not is_reserved(name)


@pytest.mark.parametrize(
    "name",
    [
        "Akirn",  # «rn» looks like «m» (TR39)
        "OfficialAkim",  # a capital starts the next word
        "ΑΚΙΜ",
        "Аkіm",  # Cyrillic А and і in a Latin word
        "Акѝм",  # a Cyrillic letter with a grave reads as its base
        "А. К. И. М.",
        "✔ А к и м ✔",
        "Жанна А к и м",
        "Ж А к и м",  # the stretch spells it from its second letter
        "ӘКІМ ӘКІМ",
        "Модератор1",
        "1Модератор",
        "@dmin",
        "Ａｄｍｉｎ",
        "ᴬᴰᴹᴵᴺ",
        "Ad\u0301min",  # a mark on a letter does not hide it
        "Акимъ",  # a hard sign reads as nothing
    ],
)
def test_more_impostors_are_refused(name: str) -> None:
    assert is_reserved(clean_name(name))


@pytest.mark.parametrize(
    "name",
    [
        "محمد", "أحمد علي", "יוסף", "דוד כהן", "राहुल", "प्रिया शर्मा", "王伟", "张敏",
        "Nguyễn Văn An", "Jürgen Müller", "Олександр", "Łukasz", "Admir", "Hakimi", "Akiko",
        "Akimitsu", "Modou", "Kimi",
    ],
)  # fmt: skip
def test_inp4_benign_names_in_other_scripts_pass(name: str) -> None:
    assert comment_as(name).name == name


def test_a_blank_looking_name_is_refused_and_no_name_is_anonymous() -> None:
    assert refusal("\u3164") == (RejectReason.INVALID, "the name is empty")
    assert comment_as("").name == ""
    assert comment_as("   ").name == ""


@settings(max_examples=300)
@given(st.text(max_size=30), st.sampled_from(reserved_words()))
def test_a_reserved_word_as_a_word_of_its_own_is_refused_after_anything(
    before: str, word: str
) -> None:
    assert is_reserved(f"{before} {word}")
    assert is_reserved(f"{word} {before}")


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_a_fullwidth_or_styled_form_is_decided_like_the_plain_one(name: str) -> None:
    assert is_reserved(unicodedata.normalize("NFKC", name)) == is_reserved(name)
