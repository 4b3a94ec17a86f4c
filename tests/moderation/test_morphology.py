"""Stems of residents' words: Snowball for Russian, suffix rules for Kazakh (issue 14)."""

from __future__ import annotations

import pytest

from moderation.morphology import kazakh_stem, name_stem, russian_stem


@pytest.mark.parametrize(
    "forms",
    [
        ("дорога", "дороги", "дорогу", "дорогой", "дорогах"),
        ("отремонтируют", "отремонтировать", "отремонтировали"),
        ("поликлиника", "поликлинике", "поликлиники"),
        ("освещение", "освещения", "освещением"),
    ],
)
def test_russian_forms_of_a_word_share_a_snowball_stem(forms: tuple[str, ...]) -> None:
    assert len({russian_stem(form) for form in forms}) == 1


@pytest.mark.parametrize(
    ("forms", "stem"),
    [
        (("көше", "көшесі", "көшесінде", "көшесіндегі", "көшелер"), "көше"),
        (("мектеп", "мектепте", "мектебі", "мектебіне", "мектептер"), "мектеп"),  # б is п
        (("кезек", "кезегі", "кезекте"), "кезек"),  # г is к again
        (("бала", "балалар", "балаларға", "балалардың"), "бала"),
        (("үй", "үйде", "үйдің"), "үй"),  # a root of two letters before a longer ending
        (("алаң", "алаңы", "алаңын", "алаңдар"), "алаң"),
        (("автобус", "автобустардың", "автобустың"), "автобус"),
    ],
)
def test_kazakh_endings_come_off_in_both_harmonies(forms: tuple[str, ...], stem: str) -> None:
    assert {kazakh_stem(form) for form in forms} == {stem}


def test_a_kazakh_verb_keeps_its_stem_once_its_ending_is_gone() -> None:
    # -майды is the verb's ending: "қатына" is not cut further to "қа" as a noun would be.
    assert kazakh_stem("қатынамайды") == "қатына"
    assert kazakh_stem("қатынамаиды") == "қатына"  # Latin spelling: й written и


def test_short_words_keep_their_letters() -> None:
    assert kazakh_stem("су") == "су"
    assert kazakh_stem("суы") == "суы"  # a one-letter ending needs three letters before it
    assert kazakh_stem("жол") == "жол"


def test_at_most_four_kazakh_endings_come_off() -> None:
    # -ге, -лер, -дегі, -іміз: four are gone, and the plural -тер before them stays.
    assert kazakh_stem("мектептеріміздегілерге") == "мектептер"


@pytest.mark.parametrize(
    ("forms", "stem"),
    [
        (("Абая", "Абаю", "Абаем", "Абай"), "абай"),
        (("Сатпаева", "Сатпаеву", "Сатпаевым", "Сатпаев"), "сатпаев"),
        (("Турксибского", "Турксибском", "Турксиб"), "турксиб"),
        (("Аксае", "Аксай"), "аксай"),
    ],
)
def test_a_russian_place_name_loses_one_case_ending(forms: tuple[str, ...], stem: str) -> None:
    assert {name_stem(form.casefold(), False) for form in forms} == {stem}


def test_a_kazakh_place_name_loses_its_kazakh_endings() -> None:
    assert name_stem("сәтбаевтың", True) == "сәтбаев"
    assert name_stem("ом", False) == "ом"  # too short to lose anything
