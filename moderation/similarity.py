"""Residents' questions compared across Russian, Kazakh Cyrillic and Kazakh Latin: the search
skeleton and near-duplicate scores (topics and districts are in `moderation/tagging.py`).

Known limits, measured on tests/moderation/duplicate_pairs.py: a short question against a long
one that adds new points ("в квартирах холодно", "можно добавить машин") scores under the
threshold; synonyms outside the small concept list ("раз в час" and "редко"), numbers written
in words ("три года" and "3 года") and Russian-Kazakh translations beyond that list count as
different words; a street name typed in lowercase with no "улица"/"көшесі" beside it weighs
as an ordinary word. Districts: "в районе Абая" (near Abay street) is not a district, and a
bare Kazakh locative ("Медеуде") is not taken for one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

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


def _latin_to_cyrillic(token: str) -> str:
    token = _LATIN_SPECIAL.sub(lambda m: _LATIN_SPECIAL_MAP[m.group()[0]], token)
    decomposed = unicodedata.normalize("NFKD", token)
    token = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LATIN_EXTRA)
    return _LATIN.sub(lambda m: _LATIN_MAP[m.group()], token)


@functools.lru_cache(maxsize=1 << 14)
def _skeleton(token: str) -> str:
    if _CYRILLIC.search(token):
        token = token.translate(_HOMOGLYPHS)
    return _latin_to_cyrillic(token.casefold()).translate(_FOLD)


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    is_name: bool  # capitalised inside a sentence: a street, a village, a person


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
        for piece in _PIECES.findall(_skeleton(raw)):
            yield _Word(piece, is_name)


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
    " сколько сих пор никто ничего сильно номер через чем"
    " және мен бен пен да де та те ма ме ба бе па пе ғой қашан неге неліктен қалай қайда не"
    " бұл осы сол біз біздің бізде сіз сіздер сіздің сіздерден менің олар әлі енді тағы өте"
    " керек болады бола еді екен ғана ше деп үшін туралы сәлеметсіз сәлем құрметті әкім мырза"
    " рахмет сұрақ өтініш өтінемін кетті бойы арқылы кейін бері сияқты"
    " please the a an when is are why what how hello sir thank thanks"
)
# Words many questions share: they count a little, so that the rest decides.
_GENERIC_WORDS = word_set(
    "улица улице улицы ул дом доме дома район районе микрорайон микрорайоне мкр город городе"
    " посёлок поселке село селе нет нету не работает сделают сделать решат решить прошу просим"
    " примите меры неделю месяц год года лет постоянно каждый раз делать люди людям жители"
    " жителям көше көшесі көшесінде үй үйде аудан ауданы ауданында шағын ауыл ауылда жоқ бар"
    " жасалады шешіледі мәселе алу тұрғындар халық"
)
# A proper name follows a Russian place word and precedes a Kazakh one (улица Саина, Абай
# көшесі, Samal-2 shaǵyn audany): the name tells where, not what.
_NAME_FOLLOWS = word_set(
    "улица улице улицы ул проспект проспекте пр микрорайон микрорайоне мкр переулок посёлок"
    " поселке село селе"
)
_NAME_PRECEDES = tuple(normalise("көше даңғыл шағын ауылы ауылын").split())
# Synonyms and translations of the words residents' questions turn on, a concept a line:
# a paraphrase swaps these, a different question swaps something else.
_CONCEPTS = Lexicon(
    (
        ("ремонт отремонт почин чинит= чинят= жөнде жөнд", "ремонт"),
        ("дорог жол трасс", "дорога"),
        ("освещ фонар шам= шамы= шамдар жарықтандыр", "освещение"),
        ("установ постав орнат", "поставить"),
        ("повыс вырос подорож растут= өсті= өсіп=", "повысить"),
        ("редк сирек", "редко"),
        ("ходит= ходят= ездит= ездят= едет= едут= ехать= приезж приед жүр", "ходить"),
        ("дадут= дать= даст= включ подключ беріл береді=", "дать"),
        ("невозможн нельзя= мүмкін", "нельзя"),
        ("улиц ул= коше", "улица"),
        ("вод су= суы= суды= суға= сумен= судың= сусыз=", "вода"),
        ("водител жүргізуші", "водитель"),
        ("отопл отапл тепл жылу жылыт", "отопление"),
        ("школ мектеп", "школа"),
        ("поликлин емхан", "поликлиника"),
        ("больниц аурухан", "больница"),
        ("врач дәрігер терапевт=", "врач"),
        ("свет= света= светом= электр жарық", "электричество"),
        ("двор аула", "двор"),
        ("земл земел жер= жерді= жерге=", "земля"),
        ("участ телім", "участок"),
        ("очеред кезек кезег", "очередь"),
        ("мусор қоқыс", "мусор"),
        ("дет дети бала балалар", "дети"),
        ("детсад садик балабақша", "детсад"),
        ("пересеч перекрест қиылыс", "перекресток"),
        ("дорого= дорогие= дорогая= дороже= жолдас водк", ""),
    )
)

# --- stems and profiles -------------------------------------------------------------------

# Endings of Russian and Kazakh words, stripped up to three times, longest first, leaving at
# least three letters; normalised like the words (ей is еи, ать is ат).
_SUFFIXES = word_set(
    # Russian: adjectives, nouns, verbs
    "ого его ому ему ыми ими ая яя ое ее ые ие ыи ии ои ую юю ых их ым им ом ем ами ями"
    " ах ях ам ям ов ев ию ия ей ью а я у ю е о ы и ут ют ать ять ет ит ешь ишь ете ите ал ала"
    " али ало ил ила или ило ел ела ели уют ует ся с ения ение ании ание тся ются ется ится"
    # Kazakh: plural, possessive, cases, common verb endings
    " лар лер дар дер тар тер ым им ын ин сы си мыз миз ымыз имиз ныз низ да де нда нде"
    " дан ден тан тен нан нен га ге ка ке на не ды ди ты ти ны ни дын дин тын тин нын нин"
    " мен бен пен дагы деги тагы теги ады еди иды ыды мады меди маиды меиди ып ип"
    " уге уга ган ген кан кен"
)
_SUFFIX_LENGTHS = sorted({len(suffix) for suffix in _SUFFIXES}, reverse=True)
# Kazakh voices a final к, қ or п before a vowel ending (кезек, кезегі; мектеп, мектебі).
_DEVOICED = str.maketrans("гб", "кп")


def _stem(word: str) -> str:
    if word.isdigit():
        return word
    for _ in range(3):
        for length in _SUFFIX_LENGTHS:
            if len(word) - length >= 3 and word[-length:] in _SUFFIXES:
                word = word[:-length]
                break
        else:
            break
    return word[:-1] + word[-1].translate(_DEVOICED)


def _sound(word: str) -> str:
    """A word as heard: unstressed о is written а by ear (вадаснабжение, атключают, кагда)."""
    return word.replace("о", "а")


_STOP_SOUNDS = frozenset(_sound(word) for word in _STOP_WORDS)
_LONG_STOP_SOUNDS = tuple(sorted(sound for sound in _STOP_SOUNDS if len(sound) >= 5))
_GENERIC_STEMS = frozenset(_stem(word) for word in _GENERIC_WORDS)
WORD_WEIGHT = 1.0
GENERIC_WEIGHT = 0.4
PLACE_WEIGHT = 2.0


@functools.lru_cache(maxsize=1 << 14)
def _is_stop_word(word: str) -> bool:
    sound = _sound(word)
    if sound in _STOP_SOUNDS:
        return True
    # One typo in a long stop word ("пачиму", "пожалуста") still makes a stop word; a looser
    # match would take street names for stop words (Саина ~ сильно, Аксай ~ какой).
    return len(word) >= 5 and bool(
        process.extractOne(sound, _LONG_STOP_SOUNDS, scorer=Levenshtein.distance, score_cutoff=1)
    )


@dataclass(frozen=True, slots=True)
class Term:
    """A word that counts, once per key: place terms weigh PLACE_WEIGHT, the others 1 or less."""

    key: str  # the concept, or the stem
    sound: str  # the stem as heard, for typos
    weight: float
    is_place: bool  # a name or a number: where, not what


@functools.lru_cache(maxsize=1 << 14)
def _term(word: _Word, is_named: bool) -> Term:
    stem = _stem(word.text)
    key = _CONCEPTS.get(word.text) or stem
    if stem.isdigit():
        return Term(key, stem, PLACE_WEIGHT, is_place=True)
    if stem in _GENERIC_STEMS:
        return Term(key, _sound(stem), GENERIC_WEIGHT, is_place=False)
    is_place = word.is_name or is_named
    return Term(key, _sound(stem), PLACE_WEIGHT if is_place else WORD_WEIGHT, is_place)


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
    words = [word for word in every if not _is_stop_word(word.text)]
    terms: dict[str, Term] = {}
    for i, word in enumerate(words):
        after_marker = i > 0 and words[i - 1].text in _NAME_FOLLOWS
        before_marker = i + 1 < len(words) and words[i + 1].text.startswith(_NAME_PRECEDES)
        term = _term(word, after_marker or before_marker)
        if term.key not in terms or terms[term.key].weight < term.weight:
            terms[term.key] = term
    return Profile(
        text=" ".join(word.text for word in every),
        terms=tuple(terms.values()),
        keys=frozenset(terms),
        places=frozenset(key for key, term in terms.items() if term.is_place),
        sounds=frozenset(term.sound for term in terms.values() if not term.sound.isdigit()),
    )


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
# relies on places weighing PLACE_WEIGHT, other terms at most WORD_WEIGHT or GENERIC_WEIGHT,
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
_ADD_COST = 0.3


def agreement(shared: float, left: float, right: float) -> float:
    """Shared weight against what differs: a word swapped costs more than a word added."""
    cost = _SWAP_COST * min(left, right) + _ADD_COST * abs(left - right)
    return shared / (shared + cost) if shared else 0.0


def profile_score(first: Profile, second: Profile, near: Near) -> float:
    """`similarity` of two profiles; `near` is `alike_sounds(first.sounds, others)` for any
    `others` that hold each of second's sounds alike to one of first's."""
    if not first.terms or not second.terms:
        return 1.0 if first.text == second.text != "" else 0.0
    if first.keys == second.keys:
        return 1.0
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


# Measured on tests/moderation/duplicate_pairs.py: every threshold from 0.65 to 0.75 keeps the
# false-positive rate under 5%; 0.7 keeps recall over 90% with a margin on both.
DUPLICATE_THRESHOLD = 0.7


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
