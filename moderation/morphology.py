"""Stems of residents' words for duplicate suggestions: Snowball for Russian (PyStemmer), and
suffix rules for Kazakh, whose plural, possessive and case endings stack (issue 14).

Words come casefolded, in Cyrillic with the Kazakh letters still apart (ә, ө, ү, ұ, і, қ, ғ,
ң), so that a Kazakh ending is told by its vowel harmony and a Russian stem is Snowball's.
"""

from __future__ import annotations

import functools

import Stemmer

_RUSSIAN = Stemmer.Stemmer("russian")

# Kazakh endings, in both harmonies and after both voiced and voiceless sounds: plural,
# possessive, the cases (genitive, dative, accusative, locative, ablative, instrumental), the
# attributive -дағы, and the verb endings a question's verbs take most.
_ENDINGS = """
лар лер дар дер тар тер
ым ім ың ің ы і сы сі мыз міз ымыз іміз ңыз ңіз ыңыз іңіз сыз сіз сыздар сіздер
ңыздар ңіздер ыңыздар іңіздер
ның нің дың дің тың тің
ға ге қа ке на не
ны ні ды ді ты ті н
да де та те нда нде
дан ден тан тен нан нен
мен бен пен
дағы дегі тағы тегі ндағы ндегі
"""
# A verb's endings come last and no case follows them: once one is gone, the stem is left
# (қатына-майды, not қа-).
_VERB_ENDINGS = "ған ген қан кен ады еді йды йді майды мейді байды бейді пайды пейді"
_KAZAKH_ENDINGS = frozenset(_ENDINGS.split())
# Latin spellings write й as и (qatynamaidy).
_KAZAKH_VERB_ENDINGS = frozenset(
    ending.replace("й", letter) for ending in _VERB_ENDINGS.split() for letter in "йи"
)
# Kazakh typed on a Russian keyboard writes і as и, ң as н, ғ as г... (integrations.md 6.2)
_RUSSIAN_KEYBOARD = str.maketrans("әғқңөұүһі", "агкноуухи")
_KAZAKH_VERB_ENDINGS |= {ending.translate(_RUSSIAN_KEYBOARD) for ending in _KAZAKH_VERB_ENDINGS}
_KAZAKH_ENDINGS |= _KAZAKH_VERB_ENDINGS
_KAZAKH_ENDINGS |= {ending.translate(_RUSSIAN_KEYBOARD) for ending in _KAZAKH_ENDINGS}
_KAZAKH_LENGTHS = sorted({len(ending) for ending in _KAZAKH_ENDINGS}, reverse=True)
# A root keeps two letters before an ending of two or more (үй-дің, су-ға), three before one.
_SHORTEST_STEM = 2
# Kazakh voices a final к, қ or п before a vowel ending (кезек, кезегі; мектеп, мектебі).
_VOICED = str.maketrans("гғб", "кқп")


# Snowball leaves the -ова- of -овать verbs: "отремонтирова(ть)" but "отремонтир(уют)".
_VERB_SUFFIXES = ("ова", "ева", "ыва", "ива")


@functools.lru_cache(maxsize=1 << 14)
def russian_stem(word: str) -> str:
    """Snowball's Russian stem of a casefolded word, with a verb's -ова- gone."""
    stem = str(_RUSSIAN.stemWord(word))
    if stem.endswith(_VERB_SUFFIXES) and len(stem) > 6:
        return stem[:-3]
    return stem


@functools.lru_cache(maxsize=1 << 14)
def kazakh_stem(word: str) -> str:
    """A Kazakh word without its endings, up to four, longest first, keeping three letters;
    a final г, ғ or б left bare is devoiced again."""
    stripped = False
    for _ in range(4):
        ending = _ending(word)
        if not ending:
            break
        word = word[: -len(ending)]
        stripped = True
        if ending in _KAZAKH_VERB_ENDINGS:
            break
    return word[:-1] + word[-1].translate(_VOICED) if stripped else word


def _ending(word: str) -> str:
    for length in _KAZAKH_LENGTHS:
        shortest = _SHORTEST_STEM + (length == 1)
        if len(word) - length >= shortest and word[-length:] in _KAZAKH_ENDINGS:
            return word[-length:]
    return ""


# Russian case endings of the names streets, districts and villages carry (Абая, Сатпаеву,
# Аксае-4, Турксибского): Snowball would cut a name to nothing ("Абая" to "аб").
_ADJECTIVE_NAME_ENDINGS = ("ского", "скому", "ском", "ской", "ская", "ский", "ское")
_Y_NAME_ENDINGS = ("ая", "аю", "аем", "ае")  # Абая, Абаю: Абай
_NAME_ENDINGS = ("ыми", "ым", "ом", "ой", "ем", "а", "у", "е", "ы", "я", "ю")


@functools.lru_cache(maxsize=1 << 14)
def name_stem(word: str, is_kazakh: bool) -> str:
    """A place name without its one case ending: "Абая", "Абаю" and "Абай" are one street,
    "Турксибского" and "Турксиб" one district; Kazakh names lose their Kazakh endings."""
    if is_kazakh:
        return kazakh_stem(word)
    for ending in _ADJECTIVE_NAME_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _SHORTEST_STEM + 1:
            return word[: -len(ending)]
    for ending in _Y_NAME_ENDINGS:
        if word.endswith(ending):
            return word[: -len(ending)] + "ай"
    for ending in _NAME_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _SHORTEST_STEM + 1:
            return word[: -len(ending)]
    return word
