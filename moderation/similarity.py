"""Residents' questions compared across Russian, Kazakh Cyrillic and Kazakh Latin: the search
skeleton and near-duplicate scores (topics and districts are in `moderation/tagging.py`).

A question becomes terms (issue 14): Russian words by their Snowball stems and Kazakh words
without their endings (`moderation/morphology.py`), civic words in either language by the
concept they name (`moderation/glossary.py`), numbers in words, "№"/"номер"/"нөмірі",
ordinals and the hours of the day as digits (`moderation/numbers.py`), in any order. The hour
takes the part of the day beside it ("в восемь вечера", "кешкі сағат 8" are 20; "с восьми до
десяти вечера" is 20 to 22); greetings, thanks, introductions and the names of people
(a first name and patronymic, the name after "меня зовут") do not count, nor a floor or a
distance; what is to be done (come, open, build, install) weighs less than what it is done to,
and opposite concepts (open and close, new and old) keep two questions apart.

Known limits, measured on the frozen held-out set (tests/moderation/test_duplicate_heldout.py
writes the figures and every miss): recall about 0.85 with no false positives after the
second round; the misses are mostly paraphrases that say the problem with words outside the
glossary or describe it instead of naming it ("в ужасном состоянии" for a broken road), and
questions that add several new points to a short one. "Свет" and "жарық" are one concept, so a
power cut and dark street lamps on one street meet; so are a route and its bus. A street name
typed in lowercase with no "улица"/"көшесі" beside it weighs as an ordinary word. Districts:
"в районе Абая" (near Abay street) is not a district, and a bare Kazakh locative ("Медеуде")
is not taken for one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from moderation import numbers
from moderation.glossary import CONCEPTS
from moderation.language import KAZAKH, detect_language
from moderation.morphology import kazakh_stem, name_stem, russian_stem

# --- normalisation: one Cyrillic skeleton for every script (integrations.md 6.4) ----------
# 6.4 builds a Latin skeleton; this one is Cyrillic so Russian stemming stays readable, with
# the same folds: Kazakh letters to their Russian neighbours (6.2, "Russian keyboard"), and
# й->и, ё/э->е, щ->ш, ц->тс, ъ/ь dropped, because Latin spellings cannot tell them apart.

_CYRILLIC = re.compile("[\u0400-\u052f]")
# 6.2: Latin look-alikes inside a word that has Cyrillic letters (Аkим, Бiз, Caинa).
_HOMOGLYPHS = str.maketrans("ABCEHKMOPTXYIaceopxykihmtbıəƏ", "АВСЕНКМОРТХУІасеорхукіһмтьіәӘ")
# 6.3: the 2021 letters with no decomposition, the 2017 apostrophes, the 2018 ý (у).
_LATIN_SPECIAL = re.compile("ş|ç|ý|s['’ʼ`]|c['’ʼ`]|y['’ʼ`]")
_LATIN_SPECIAL_MAP = {"ş": "sh", "ç": "ch", "ý": "w", "s": "sh", "c": "ch", "y": "w"}
_LATIN_EXTRA = str.maketrans({"ı": "i", "ŋ": "n", "ə": "a", "'": "", "’": "", "ʼ": "", "`": ""})
# 6.3 table, plus the informal digraphs; ä ö ü ū ğ ñ á ó ú lose their marks first.
_LATIN_MAP = {
    **dict(zip("abcdefghijklmnopqrstuvwyz", "абсдефгхижклмнопкрстувуыз", strict=True)),
    "shch": "ш", "sh": "ш", "ch": "ч", "zh": "ж", "kh": "х", "gh": "г",
    "ya": "я", "ia": "я", "yu": "ю", "iu": "ю", "x": "кс",
}  # fmt: skip
_LATIN = re.compile("|".join(sorted(_LATIN_MAP, key=len, reverse=True)))
_FOLD = str.maketrans(
    {**dict(zip("әөүұқғңһіёйщэ", "аоуукгнхиеише", strict=True)), "ц": "тс", "ъ": "", "ь": ""}
)
_TOKEN = re.compile(r"[^\W_]+(?:['’ʼ`][^\W_]*)*")
_PIECES = re.compile(r"\d+|\D+")


def _bare(letter: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", letter) if not unicodedata.combining(c))


# The Kazakh-only letters of the 2021 alphabet (and q of the informal spellings) become the
# Kazakh Cyrillic ones, so that the word is stemmed as Kazakh (qalada, mektebınde); the
# skeleton folds them as it folds the Cyrillic letters.
_LATIN_KAZAKH = str.maketrans("qğñäöüūı", "қғңәөүұі")


def _latin_to_cyrillic(token: str) -> str:
    token = _LATIN_SPECIAL.sub(lambda m: _LATIN_SPECIAL_MAP[m.group()[0]], token)
    token = token.translate(_LATIN_KAZAKH)
    # Marks go from Latin letters only: й and ё stay for the stemmers (the skeleton folds them).
    token = "".join(c if _CYRILLIC.match(c) else _bare(c) for c in token).translate(_LATIN_EXTRA)
    return _LATIN.sub(lambda m: _LATIN_MAP[m.group()], token)


@functools.lru_cache(maxsize=1 << 14)
def _skeleton(token: str) -> str:
    return _unfolded(token).translate(_FOLD)


@dataclass(frozen=True, slots=True)
class _Word:
    text: str  # the skeleton
    is_name: bool  # capitalised inside a sentence: a street, a village, a person
    raw: str  # casefolded Cyrillic, Kazakh letters apart: what stems and numbers are read from
    is_tail: bool = False  # an ending or minutes hyphenated to a number: 5-ші, 25-я, 8:00


def _unfolded(token: str) -> str:
    if _CYRILLIC.search(token):
        token = token.translate(_HOMOGLYPHS)
    return _latin_to_cyrillic(token.casefold())


def _is_tail(text: str, start: int, raw: str) -> bool:
    joined = start >= 2 and text[start - 1] in "-:." and text[start - 2].isdigit()
    return joined and (raw == "00" or (raw.isalpha() and len(raw) <= 4))


def _words(text: str) -> Iterator[_Word]:
    text = unicodedata.normalize("NFC", text)
    sentence_start = True
    position = 0
    for match in _TOKEN.finditer(text):
        sentence_start = sentence_start or any(c in ".!?\n" for c in text[position : match.start()])
        position = match.end()
        raw = match.group()
        is_name = not sentence_start and raw[0].isupper() and not raw.isupper()
        sentence_start = False
        is_tail = _is_tail(text, match.start(), raw)
        for piece in _PIECES.findall(_unfolded(raw)):
            if skeleton := _skeleton(piece):  # "ъ" alone folds to nothing
                yield _Word(skeleton, is_name, piece, is_tail)


def normalise(text: str) -> str:
    """Text as a comparison skeleton: casefolded Cyrillic with Kazakh letters folded."""
    return " ".join(word.text for word in _words(text))


# --- word lists ---------------------------------------------------------------------------


def word_set(words: str) -> frozenset[str]:
    return frozenset(normalise(words).split())


class Lexicon:
    """Words to values by their longest known beginning; "word=" entries match only whole.
    A value of "" claims a beginning for nothing (деревня is not дерево)."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        self._whole: dict[str, str] = {}
        self._prefix: dict[str, str] = {}
        for words, value in entries:
            for word in words.split():
                table = self._whole if word.endswith("=") else self._prefix
                table[normalise(word.rstrip("="))] = value

    def get_whole(self, word: str) -> str:
        """The value of a word listed whole ("word="), or ""."""
        return self._whole.get(word, "")

    def get(self, word: str) -> str:
        if word in self._whole:
            return self._whole[word]
        for end in range(len(word), 1, -1):
            if word[:end] in self._prefix:
                return self._prefix[word[:end]]
        return ""


# Words that carry no question of their own: they do not count at all.
_STOP_WORDS = word_set(
    "и в во на по с со к ко у о об обо от до за из для при про а но или же ли бы то что это"
    " как так когда почему зачем где куда откуда какой какая какие каким кто мы вы я они он она"
    " оно нас нам нами вас вам мне меня мой моя наш наша наше наши нашем нашей ваш весь все всё"
    " уже ещё еще очень просто тоже там тут здесь этот эта эти этом этой его ее их был была были"
    " есть будет будут быть можно нужно надо пожалуйста скажите подскажите здравствуйте добрый"
    " день вечер уважаемый аким акимат господин спасибо вопрос хотел хотела хочу узнать наконец"
    " сколько сих пор никто ничего сильно номер через чем без вся сплошные дня дней дни суток"
    " возле около рядом"
    " планируется планируют собираются собирается всегда опять снова регулярно часто давно"
    " және мен бен пен да де та те ма ме ба бе па пе ғой қашан неге неліктен қалай қайда не"
    " бұл осы сол біз біздің бізде сіз сіздер сіздің сіздерден менің олар әлі енді тағы өте"
    " керек болады бола еді екен ғана ше деп үшін туралы сәлеметсіз сәлем құрметті әкім мырза"
    " рахмет сұрақ өтініш өтінемін кетті бойы арқылы кейін бері сияқты тұр отыр жатыр күн күні"
    " нөмір нөмірі нөмірлі нөмірдегі қандай кім болмайды үнемі жиі көптен"
    " необходимо требуется нужен нужна нужны нужно внимание обратите сделайте решите"
    " қажет қажетті тиіс беріңіз беріңіздер берсеңіз емес көп много ноль нөл"
    " please the a an when is are why what how hello sir thank thanks"
    # introductions and thanks: who asks and how politely is no part of the question
    " зовут имя живу живём живем проживаю проживаем заранее благодарю благодарим благодарны"
    " вашу вашей работу хотелось бы прошу просим разобраться принять примите меры чтобы"
    " атым тұрамын тұрамыз тұратын алғыс отырмыз отырамыз жатырмыз"
)
# Words many questions share: they count a little, so that the rest decides.
_GENERIC_WORDS = (
    "улица улице улицы ул дом доме дома район районе микрорайон микрорайоне мкр город городе"
    " посёлок поселке село селе нет нету не работает сделают сделать решат решить"
    " неделю месяц год года лет постоянно каждый раз делать люди людям жители"
    " жителям көше көшесі көшесінде үй үйде аудан ауданы ауданында шағын ауыл ауылда жоқ бар"
    " жасалады шешіледі мәселе алу тұрғындар халық проблема проблемы проблему помогите"
    " помочь разберитесь"
    " жасау жасаңыздар көмектесіңіз көмектесіңіздер шешу шешіңіздер қала қаласы қалада облыс"
    " установить построить центр населения ждём ждем"
    " час часа часов утра утром вечера вечером ночи ночью сағат таңертең кешке кешкі түнде"
)
# A proper name follows a Russian place word and precedes a Kazakh one (улица Саина, Абай
# көшесі, Samal-2 shaǵyn audany): the name tells where, not what.
_NAME_FOLLOWS = word_set(
    "улица улице улицы ул проспект проспекте пр микрорайон микрорайоне мкр переулок посёлок"
    " поселке село селе"
)
_NAME_PRECEDES = tuple(normalise("көше даңғыл шағын ауылы ауылын").split())
# Synonyms and translations of the words residents' questions turn on (moderation/glossary.py):
# a paraphrase or a translation swaps these, a different question swaps something else.
_CONCEPTS = Lexicon((f"{concept.ru} {concept.kk}", concept.id) for concept in CONCEPTS)

# --- stems and profiles -------------------------------------------------------------------

# Kazakh letters, and the Russian ones no Kazakh word has: which stemmer a word gets.
_KAZAKH_LETTERS = frozenset("әғқңөұүһі")
_RUSSIAN_LETTERS = frozenset("ёъьэщц")


def _is_kazakh(raw: str, language: str) -> bool:
    """A word is Kazakh by its letters, or in a question guessed Kazakh (language.py)."""
    if not _KAZAKH_LETTERS.isdisjoint(raw):
        return True
    return language == KAZAKH and _RUSSIAN_LETTERS.isdisjoint(raw)


@functools.lru_cache(maxsize=1 << 14)
def _stem(raw: str, is_kazakh: bool) -> str:
    """The skeleton of a word's stem: Kazakh endings by rule, Russian ones by Snowball."""
    return _skeleton(kazakh_stem(raw) if is_kazakh else russian_stem(raw))


def _sound(word: str) -> str:
    """A word as heard: unstressed о is written а by ear (вадаснабжение, атключают, кагда)."""
    return word.replace("о", "а")


_STOP_SOUNDS = frozenset(_sound(word) for word in _STOP_WORDS)
_LONG_STOP_SOUNDS = tuple(sorted(sound for sound in _STOP_SOUNDS if len(sound) >= 5))
# A generic word's concept, or its stem in either language, marks every word that has it.
_GENERIC_KEYS = frozenset(
    _CONCEPTS.get(word.text) or _stem(word.raw, is_kazakh)
    for word in _words(_GENERIC_WORDS)
    for is_kazakh in (True, False)
)
WORD_WEIGHT = 1.0  # a word of the glossary: what the question is about
GENERIC_WEIGHT = 0.4
PLAIN_WEIGHT = 0.3  # a word outside the glossary: a paraphrase swaps such words freely
PLACE_WEIGHT = 2.0
# What is to be done weighs less than what it is done to: "когда проведут газ", "когда дадут
# газ" and "нет газа" ask one thing; the object decides (газ, not свет).
ACTION_WEIGHT = 0.6
_ACTIONS = frozenset(("come", "open", "build", "install", "new"))


@functools.lru_cache(maxsize=1 << 14)
def _is_stop_word(word: str) -> bool:
    sound = _sound(word)
    if sound in _STOP_SOUNDS:
        return True
    # One typo in a long stop word ("пачиму", "пожалуста") still makes a stop word; a looser
    # match would take street names for stop words (Саина ~ сильно, Аксай ~ какой), and a
    # word of the glossary is what it says (школа is no typo of a stop word).
    return (
        len(word) >= 5
        and not _CONCEPTS.get(word)
        and bool(
            process.extractOne(
                sound, _LONG_STOP_SOUNDS, scorer=Levenshtein.distance, score_cutoff=1
            )
        )
    )


@dataclass(frozen=True, slots=True)
class Term:
    """A word that counts, once per key: place terms weigh PLACE_WEIGHT, the others 1 or less."""

    key: str  # the concept, or the stem
    sound: str  # the stem as heard, for typos
    weight: float
    is_place: bool  # a name or a number: where, not what


@functools.lru_cache(maxsize=1 << 14)
def _term(word: _Word, is_named: bool, is_kazakh: bool) -> Term:
    if word.raw.isdigit():
        return Term(word.raw, word.raw, PLACE_WEIGHT, is_place=True)
    if word.is_name:  # a name is no concept: "Жибек Жолы" is a street, not a road
        stem = _skeleton(name_stem(word.raw, is_kazakh))
        return Term(stem, _sound(stem), PLACE_WEIGHT, is_place=True)
    stem = _stem(word.raw, is_kazakh)
    # "су=" is a whole word, and so is the stem of "суы", "суға".
    key = _CONCEPTS.get(word.text) or _CONCEPTS.get_whole(stem) or stem
    if key in _GENERIC_KEYS:
        return Term(key, _sound(stem), GENERIC_WEIGHT, is_place=False)
    if is_named:
        stem = _skeleton(name_stem(word.raw, is_kazakh))
        return Term(stem, _sound(stem), PLACE_WEIGHT, is_place=True)
    weight = ACTION_WEIGHT if key in _ACTIONS else WORD_WEIGHT if key != stem else PLAIN_WEIGHT
    return Term(key, _sound(stem), weight, is_place=False)


def _numbered(words: list[_Word], language: str) -> list[_Word]:
    """Numbers in words read as digits (numbers.py), endings hyphenated to digits dropped, and
    the hours of the afternoon and evening on the 24-hour clock ("в семь вечера" is 19:00)."""
    words = _halves(_midnights(words))
    values = [
        numbers.value(
            word.raw,
            kazakh=_is_kazakh(word.raw, language),
            after_hour=i > 0 and words[i - 1].text in _HOUR_WORDS,
        )
        for i, word in enumerate(words)
    ]
    for start, end, number in reversed(numbers.read(values)):
        words[start:end] = [_digits(number)]
    # How long something has lasted is no place: "уже 2 недели" and "15 дней" ask one thing;
    # nor is a floor or a distance.
    return _hours(
        [
            word
            for i, word in enumerate(words)
            if not (word.raw.isdigit() and i + 1 < len(words) and words[i + 1].text in _DURATIONS)
        ]
    )


_HOUR_WORDS = word_set("сағат сағаты")


def _midnights(words: list[_Word]) -> list[_Word]:
    """Endings and minutes hyphenated to a number dropped, and midnight as 0 however written:
    "00:00", "24:00" ("двенадцать ночи" is read as 0 by `_hours`)."""
    kept: list[_Word] = []
    for i, word in enumerate(words):
        if word.is_tail:
            continue
        tail = i + 1 < len(words) and words[i + 1].is_tail and words[i + 1].raw == "00"
        kept.append(_digits(0) if word.raw == "00" or (word.raw == "24" and tail) else word)
    return kept


def _digits(number: int) -> _Word:
    return _Word(str(number), False, str(number))


_DURATIONS = word_set(
    "день дня дней сутки суток неделю недели недель месяц месяца месяцев год года лет"
    " күн күннен апта аптадан ай айдан жыл жылдан"
    " минут минуты минуту минутами минуттай минуттан"
    # a floor or a distance is no address either: "на 12 этаже", "10 км"
    " этаж этаже этажа этажей этажах этажом қабат қабатта қабатқа қабаттан км километр"
    " километров километра метр метров метра"
)
_HALF = frozenset(("пол", "половина", "половине", "половину"))


def _halves(words: list[_Word]) -> list[_Word]:
    """Half hours as digits: "половина восьмого", "полвосьмого" are 7 30, "жеті жарым" 7 30."""
    halves: list[_Word] = []
    for word in words:
        hour = numbers.value(word.raw[3:], kazakh=False) if word.raw.startswith("пол") else None
        if halves and halves[-1].raw in _HALF and (after := numbers.value(word.raw, kazakh=False)):
            halves[-1:] = [_digits(after - 1), _digits(30)]
        elif hour:
            halves += [_digits(hour - 1), _digits(30)]
        elif word.raw.startswith("жарым"):
            halves.append(_digits(30))
        else:
            halves.append(word)
    return halves


# A part of the day names the hour next to it. Russian genitives follow it ("в 9 вечера"),
# Kazakh attributives precede it ("кешкі сағат 9"), adverbs stand on either side ("вечером в 9",
# "түнде сағат 2").
_AFTER, _BEFORE, _EITHER = "after", "before", "either"
_PARTS_OF_DAY = {
    word: (part, side)
    for part, side, words in (
        ("morning", _AFTER, "утра"),
        ("morning", _BEFORE, "таңғы"),
        ("morning", _EITHER, "утром таңертең"),
        ("day", _AFTER, "дня"),
        ("day", _BEFORE, "күндізгі түскі"),
        ("day", _EITHER, "днем днём күндіз"),
        ("evening", _AFTER, "вечера"),
        ("evening", _BEFORE, "кешкі"),
        ("evening", _EITHER, "вечером кешке кешкісін"),
        ("night", _AFTER, "ночи"),
        ("night", _BEFORE, "түнгі"),
        ("night", _EITHER, "ночью түнде"),
    )
    for word in normalise(words).split()
}
# "с 8 до 10 вечера", "кешкі сегізден онға дейін": one part of the day for both ends.
_RANGE_BETWEEN = word_set("до по")
_RANGE_AFTER = word_set("дейін")


def _hours(words: list[_Word]) -> list[_Word]:
    """The hours of the afternoon, evening and night on the 24-hour clock, by the part of the
    day beside them or beside the other end of their range."""
    parts = [_part_of_day(words, i) if word.raw.isdigit() else "" for i, word in enumerate(words)]
    for i in range(len(words) - 2):
        first, second = _range_ends(words, i)
        if first >= 0:
            parts[first] = parts[second] = parts[first] or parts[second]
    return [_on_the_clock(word, part) for word, part in zip(words, parts, strict=True)]


def _range_ends(words: list[_Word], i: int) -> tuple[int, int]:
    """The two numbers of a range starting at word i ("8 до 10", "8 10 дейін"), or (-1, -1)."""
    if not words[i].raw.isdigit():
        return -1, -1
    if words[i + 1].text in _RANGE_BETWEEN and words[i + 2].raw.isdigit():
        return i, i + 2
    if words[i + 1].raw.isdigit() and words[i + 2].text in _RANGE_AFTER:
        return i, i + 1
    return -1, -1


def _part_of_day(words: list[_Word], i: int) -> str:
    """The part of the day two words away at most, after the hour first; another number stops
    the search on that side."""
    after = _side(words[i + 1 : i + 3], _BEFORE)
    return after or _side(reversed(words[max(0, i - 2) : i]), _AFTER)


def _side(words: Iterable[_Word], wrong_side: str) -> str:
    for word in words:
        if word.raw.isdigit():
            return ""
        part, side = _PARTS_OF_DAY.get(word.text, ("", ""))
        if part and side != wrong_side:
            return part
    return ""


def _on_the_clock(word: _Word, part: str) -> _Word:
    """The hour on the 24-hour clock: "11 ночи" is 23, "12 ночи" 0, "3 дня" 15; "2 ночи" and
    "7 утра" stay."""
    hour = int(word.raw) if part else 0
    if not 1 <= hour <= 12:
        return word
    if hour == 12:
        return _digits(0) if part in ("evening", "night") else word
    if part == "evening" or (part == "night" and hour >= 9) or (part == "day" and hour <= 6):
        return _digits(hour + 12)
    return word


@dataclass(frozen=True, slots=True)
class Profile:
    """A question as similarity sees it; `QuestionIndex` keeps one per distinct question."""

    text: str  # normalised
    terms: tuple[Term, ...]
    keys: frozenset[str]
    places: frozenset[str]
    sounds: frozenset[str]  # of the terms that are not numbers: a number never matches by typo


def profile_of(text: str) -> Profile:
    """The terms of a question that similarity compares, uncached."""
    every = list(_words(text))
    language = detect_language(text)
    words = [
        word for word in _numbered(_without_people(every), language) if not _is_stop_word(word.text)
    ]
    terms: dict[str, Term] = {}
    for i, word in enumerate(words):
        after_marker = i > 0 and words[i - 1].text in _NAME_FOLLOWS
        before_marker = i + 1 < len(words) and words[i + 1].text.startswith(_NAME_PRECEDES)
        term = _term(word, after_marker or before_marker, _is_kazakh(word.raw, language))
        if term.key in _MARKERS:
            continue  # "улица", "көшесі", "микрорайон" mark a name; the name tells where
        if term.key not in terms or terms[term.key].weight < term.weight:
            terms[term.key] = term
    return Profile(
        text=" ".join(word.text for word in every),
        terms=tuple(terms.values()),
        keys=frozenset(terms),
        places=frozenset(key for key, term in terms.items() if term.is_place),
        sounds=frozenset(term.sound for term in terms.values() if not term.sound.isdigit()),
    )


# A patronymic (Болатович, Петровна, Асылбекұлы) and the first name before it, and the name
# after "меня зовут", "менің атым": whom a resident greets, or who they are, is not what they ask.
_PATRONYMIC = re.compile(r"\w{3,}(?:ович|евич|овн|евн|ичн)\w{0,3}|\w{3,}(?:ұлы|қызы)")
_NAMED_BY = word_set("зовут атым имя")


def _without_people(words: list[_Word]) -> list[_Word]:
    people: set[int] = set()
    for i, word in enumerate(words):
        if _PATRONYMIC.fullmatch(word.raw):
            people.update((i - 1, i) if i and words[i - 1].raw.isalpha() else (i,))
        elif i and words[i - 1].text in _NAMED_BY and word.raw.isalpha():
            people.add(i)
    return [word for i, word in enumerate(words) if i not in people]


_MARKERS = frozenset(_CONCEPTS.get(normalise(word)) for word in ("улица", "микрорайон"))
# Cached by text: a meeting's earlier questions are compared again with every new one.
_profile = functools.lru_cache(maxsize=1 << 13)(profile_of)


# --- similarity and duplicates ------------------------------------------------------------

TOKEN_CUTOFF = 80.0  # rapidfuzz ratio of two stems' first letters: one typo in five or six
STEM_LENGTH = 6
CONTAINED = 5  # stems this long or longer are alike when one is inside the other


def _likeness(sound: str, other: str) -> float:
    """Two stems that are not the same concept: one inside the other, or one typo apart."""
    if len(sound) >= CONTAINED and len(other) >= CONTAINED and (sound in other or other in sound):
        return 0.9
    short, other_short = sound[:STEM_LENGTH], other[:STEM_LENGTH]
    return fuzz.ratio(short, other_short, score_cutoff=TOKEN_CUTOFF) / 100


# Each stem's alike stems (typos, one inside the other) with their likeness, both ways.
Near = dict[str, dict[str, float]]


def alike_sounds(sounds: Iterable[str], others: Iterable[str]) -> Near:
    """The alike pairs of a stem from `sounds` and one from `others`, found by rapidfuzz in C."""
    choices = sorted(set(others))
    shorts = [choice[:STEM_LENGTH] for choice in choices]
    longs = [choice if len(choice) >= CONTAINED else "" for choice in choices]
    near: Near = {}
    for sound in set(sounds):
        found = process.extract(
            sound[:STEM_LENGTH], shorts, scorer=fuzz.ratio, score_cutoff=TOKEN_CUTOFF, limit=None
        )
        if len(sound) >= CONTAINED:
            # partial_ratio is 100 when one is inside the other.
            found += process.extract(
                sound, longs, scorer=fuzz.partial_ratio, score_cutoff=100, limit=None
            )
        for _, _, index in found:
            other = choices[index]
            likeness = _likeness(sound, other)
            near.setdefault(sound, {})[other] = likeness
            near.setdefault(other, {})[sound] = likeness
    return near


def _closeness(term: Term, other: Profile, near: Near) -> float:
    """How well a term is matched in the other text: same concept, a typo, or contained."""
    if term.key in other.keys:
        return 1.0
    alike = near.get(term.sound)
    if not alike:
        return 0.0
    return max([score for sound, score in alike.items() if sound in other.sounds], default=0.0)


# QuestionIndex (moderation/duplicates.py) bounds these tallies to skip questions unscored: it
# relies on places weighing PLACE_WEIGHT, other terms WORD_WEIGHT, GENERIC_WEIGHT or PLAIN_WEIGHT,
# closeness 0 without a shared key or alike stem, and `agreement` growing with what is shared.
def _tally(profile: Profile, other: Profile, near: Near, places: frozenset[str]) -> list[float]:
    """Matched and unmatched weight of a profile's problem terms, then of its place terms."""
    tally = [0.0, 0.0, 0.0, 0.0]
    for term in profile.terms:
        closeness = _closeness(term, other, near)
        is_place = term.key in places
        weight = PLACE_WEIGHT if is_place else term.weight
        tally[2 * is_place] += weight * closeness
        tally[2 * is_place + 1] += weight * (1 - closeness)
    return tally


_SWAP_COST = 1.5
_ADD_COST = 0.2


def agreement(shared: float, left: float, right: float) -> float:
    """Shared weight against what differs: a word swapped costs more than a word added."""
    cost = _SWAP_COST * min(left, right) + _ADD_COST * abs(left - right)
    return shared / (shared + cost) if shared else 0.0


# Concepts that contradict each other: opening is not closing, a new clinic not an old one.
_OPPOSITES = (("open", "close"), ("new", "old"), ("build", "felling"))


def _opposed(keys: frozenset[str], other: frozenset[str]) -> bool:
    """Whether one side names a concept only and the other its opposite only."""
    return any(
        one in keys and two in other and two not in keys and one not in other
        for one, two in _OPPOSITES
    )


def profile_score(first: Profile, second: Profile, near: Near) -> float:
    """`similarity` of two profiles; `near` is `alike_sounds(first.sounds, others)` for any
    `others` that hold each of second's sounds alike to one of first's."""
    if not first.terms or not second.terms:
        return 1.0 if first.text == second.text != "" else 0.0
    if first.keys == second.keys:
        return 1.0
    if _opposed(first.keys, second.keys) or _opposed(second.keys, first.keys):
        return 0.0  # "когда откроют" and "когда закроют" are two questions, however alike
    if first.keys.isdisjoint(second.keys) and second.sounds.isdisjoint(near):
        return 0.0  # nothing alike at all: the common case, answered without a loop
    # A name is a place on both sides when one side shows it is (capitalised, after "улица").
    places = first.places | second.places
    what_a, other_a, where_a, elsewhere_a = _tally(first, second, near, places)
    what_b, other_b, where_b, elsewhere_b = _tally(second, first, near, places)
    # The problem and the place are scored apart, so a long shared address cannot outweigh
    # a different problem (лифт / домофон в доме 3 на Гагарина), nor the reverse.
    what = agreement((what_a + what_b) / 2, other_a, other_b)
    if where_a + elsewhere_a == 0 or where_b + elsewhere_b == 0:
        return what  # a place named on one side only does not contradict the other
    return min(what, agreement((where_a + where_b) / 2, elsewhere_a, elsewhere_b))


def similarity(a: str, b: str) -> float:
    """How alike two questions are, 0.0 to 1.0, symmetric; 1.0 for the same normalised text."""
    first, second = _profile(a), _profile(b)
    return profile_score(first, second, alike_sounds(first.sounds, second.sounds))


# Measured on tests/moderation/duplicate_pairs.py and duplicate_dev.py (issue 14, second
# round): different questions that share all but one word, or an address one number apart,
# score up to about 0.59; from 0.6 to 0.65 the false positives stay the same (2 of 145) and
# 0.6 finds the most paraphrases.
DUPLICATE_THRESHOLD = 0.6


def duplicates(
    text: str, earlier: Iterable[tuple[str, str]], *, limit: int = 3
) -> list[tuple[str, float]]:
    """The earlier (item_id, text) questions this one repeats, best first, at most `limit`."""
    question = _profile(text)
    profiles = [(item_id, _profile(other)) for item_id, other in earlier]
    # One search of the whole earlier vocabulary instead of one per pair keeps this fast.
    near = alike_sounds(question.sounds, (s for _, profile in profiles for s in profile.sounds))
    scored = [(item_id, profile_score(question, profile, near)) for item_id, profile in profiles]
    found = [pair for pair in scored if pair[1] >= DUPLICATE_THRESHOLD]
    # sorted() is stable: equal scores keep the order they were given in.
    return sorted(found, key=lambda pair: -pair[1])[:limit]
