"""Numbers in words, Russian and Kazakh, read as digits (issue 14); never near each other."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.numbers import read, value


def _number(words: str, *, kazakh: bool = False) -> list[int]:
    values = [value(word, kazakh=kazakh) for word in words.split()]
    return [number for _, _, number in read(values)]


@pytest.mark.parametrize(
    ("words", "number"),
    [
        ("пять", 5),
        ("пятую", 5),
        ("двадцать пятую", 25),
        ("двадцать пять", 25),
        ("третьей", 3),
        ("сто один", 101),
        ("девятьсот девяносто девять", 999),
        ("двухсотый", 200),
        ("восьми", 8),
        ("двенадцатом", 12),
        ("сорок", 40),
    ],
)
def test_russian_cardinals_and_ordinals(words: str, number: int) -> None:
    assert _number(words) == [number]


@pytest.mark.parametrize(
    ("words", "number"),
    [
        ("бес", 5),
        ("бесінші", 5),
        ("он екінші", 12),
        ("жиырма бесінші", 25),
        ("жетіде", 7),
        ("оннан", 10),
        ("алтыншы", 6),
        ("жүз бір", 101),
        ("тоғыз жүз", 9),  # 9 then 100 is not one number read left to right
    ],
)
def test_kazakh_cardinals_ordinals_and_case_endings(words: str, number: int) -> None:
    assert _number(words, kazakh=True)[0] == number


def test_words_that_only_look_like_numbers_are_not() -> None:
    assert value("онда", kazakh=True) is None  # "there"
    assert value("онда", kazakh=True, after_hour=True) == 10  # "сағат онда": at ten
    assert value("онда", kazakh=False, after_hour=True) == 10
    assert value("семью", kazakh=False) is None  # "family"
    assert value("бес", kazakh=False) is None  # a Kazakh number, in a Russian question
    assert value("школа", kazakh=False) is None


def test_two_numbers_apart_stay_two_numbers() -> None:
    # "25 and 3": 25 ends in a unit, so 3 does not join it; words between keep numbers apart.
    assert read([20, 5, 3]) == [(0, 2, 25), (2, 3, 3)]
    assert read([5, None, 6]) == [(0, 1, 5), (2, 3, 6)]
    assert read([]) == []


@given(st.integers(min_value=1, max_value=999))
def test_every_number_to_999_is_read_back_from_its_russian_words(number: int) -> None:
    hundreds = ["", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот",
                "восемьсот", "девятьсот"]  # fmt: skip
    tens = ["", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
            "восемьдесят", "девяносто"]  # fmt: skip
    units = ["", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять",
             "десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
             "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать"]  # fmt: skip
    rest = number % 100
    words = [hundreds[number // 100]]
    words += [units[rest]] if rest < 20 else [tens[rest // 10], units[rest % 10]]
    assert _number(" ".join(word for word in words if word)) == [number]
