"""Numbers written in words, Russian and Kazakh, cardinal and ordinal, read as the digits a
resident might have typed instead: "двадцать пятую школу" is school 25, "он екінші үй" house 12,
"в семь утра" and "сағат жетіде" are 7 (issue 14).

Words come casefolded, in Cyrillic with the Kazakh letters still apart. Numbers stay apart from
each other: 25 and 26 are two schools, so a number is never near another.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# Russian cardinals in their cases; each line is one number, its first word the nominative.
_RUSSIAN_CARDINALS = """
1 один одна одно одного одной одному одним одном одну одни
2 два две двух двум двумя
3 три трех трёх трем трём тремя
4 четыре четырех четырёх четырем четырём четырьмя
5 пять пяти пятью
6 шесть шести шестью
7 семь семи
8 восемь восьми восемью
9 девять девяти девятью
10 десять десяти десятью
11 одиннадцать одиннадцати
12 двенадцать двенадцати полдень полудня
13 тринадцать тринадцати
14 четырнадцать четырнадцати
15 пятнадцать пятнадцати
16 шестнадцать шестнадцати
17 семнадцать семнадцати
18 восемнадцать восемнадцати
19 девятнадцать девятнадцати
20 двадцать двадцати
30 тридцать тридцати
40 сорок сорока
50 пятьдесят пятидесяти
60 шестьдесят шестидесяти
70 семьдесят семидесяти
80 восемьдесят восьмидесяти
90 девяносто девяноста
100 сто ста
200 двести двухсот
300 триста трехсот трёхсот
400 четыреста четырехсот четырёхсот
500 пятьсот пятисот
600 шестьсот шестисот
700 семьсот семисот
800 восемьсот восьмисот
900 девятьсот девятисот
"""
# Russian ordinals: the stem, and the adjective's endings ("третий" has its own).
_RUSSIAN_ORDINALS = """
1 перв
2 втор
4 четверт
5 пят
6 шест
7 седьм
8 восьм
9 девят
10 десят
11 одиннадцат
12 двенадцат
13 тринадцат
14 четырнадцат
15 пятнадцат
16 шестнадцат
17 семнадцат
18 восемнадцат
19 девятнадцат
20 двадцат
30 тридцат
40 сороков
50 пятидесят
60 шестидесят
70 семидесят
80 восьмидесят
90 девяност
100 сот
200 двухсот
300 трехсот
400 четырехсот
500 пятисот
600 шестисот
700 семисот
800 восьмисот
900 девятисот
"""
_ADJECTIVE_ENDINGS = [
    "ый",
    "ой",
    "ий",
    "ая",
    "ое",
    "ые",
    "ого",
    "ому",
    "ым",
    "ом",
    "ую",
    "ых",
    "ыми",
]
_THIRD = "третий третья третье третьего третьей третьему третьим третьем третью третьи третьих"
# Kazakh roots; a root takes the ordinal -ыншы/-інші and the case endings after it.
_KAZAKH_ROOTS = """
1 бір
2 екі
3 үш
4 төрт
5 бес
6 алты
7 жеті
8 сегіз
9 тоғыз
10 он
20 жиырма
30 отыз
40 қырық қырқ
50 елу
60 алпыс
70 жетпіс
80 сексен
90 тоқсан
100 жүз
"""
_KAZAKH_ORDINAL = ("", "ншы", "нші", "ыншы", "інші")
_KAZAKH_CASES = (
    "", "де", "да", "те", "та", "ге", "ға", "ке", "қа", "ден", "дан", "тен", "тан", "нен", "нан",
    "ні", "ны", "ді", "ды", "ті", "ты", "нің", "ның", "дің", "дың", "тің", "тың", "мен", "бен",
    "пен", "сі", "сы",
)  # fmt: skip
# Words that look like a number with an ending but are not: "онда" (there), "семью" (family).
_NOT_NUMBERS = frozenset(("онда", "семью"))


def _table(lines: str) -> Iterator[tuple[int, list[str]]]:
    for line in lines.strip().splitlines():
        number, *words = line.split()
        yield int(number), words


def _russian() -> dict[str, int]:
    values = {word: number for number, words in _table(_RUSSIAN_CARDINALS) for word in words}
    for number, (stem,) in _table(_RUSSIAN_ORDINALS):
        values.update((stem + ending, number) for ending in _ADJECTIVE_ENDINGS)
    values.update((word, 3) for word in _THIRD.split())
    return values


def _kazakh() -> dict[str, int]:
    return {
        root + ordinal + case: number
        for number, roots in _table(_KAZAKH_ROOTS)
        for root in roots
        for ordinal in _KAZAKH_ORDINAL
        for case in _KAZAKH_CASES
    }


_RUSSIAN_VALUES = _russian()
_KAZAKH_VALUES = _kazakh()


def value(word: str, *, kazakh: bool, after_hour: bool = False) -> int | None:
    """The number a word names, or None; Kazakh words are read as Kazakh, the rest as Russian.
    After "сағат" (o'clock) "онда" is "at ten", not "there"."""
    if word in _NOT_NUMBERS and not after_hour:
        return None
    return (_KAZAKH_VALUES if kazakh or after_hour else _RUSSIAN_VALUES).get(word)


def _joins(total: int, following: int) -> bool:
    """Whether a number word continues the number so far: 20 then 5, 100 then 20, 10 then 2."""
    place = 1
    while total % (place * 10) == 0:
        place *= 10
    return following < place


def read(values: Iterable[int | None]) -> list[tuple[int, int, int]]:
    """The numbers in a run of words' values: (first word, past the last word, the number)."""
    found: list[tuple[int, int, int]] = []
    for i, number in enumerate(values):
        if number is None:
            continue
        if found and found[-1][1] == i and _joins(found[-1][2], number):
            start, _, total = found[-1]
            found[-1] = (start, i + 1, total + number)
        else:
            found.append((i, i + 1, number))
    return found
