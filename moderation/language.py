"""Which language a resident wrote in, Kazakh or Russian, so that the answers to a sender come
in it (issue 10). Evidence is counted word by word; the stronger side wins.

Evidence for Kazakh: the nine Kazakh letters (integrations.md 6.2), the letters of the Latin
alphabets of 2017-2021 (6.3), frequent Kazakh words and endings that survive typing on a
Russian keyboard ("рахмет", "жок", "кашан", "-сиз", "-йды"). Evidence for Russian: the letters
Kazakh words use only in loans (ё ъ э щ ц ф ч ь ю я в х), and frequent Russian words.
Cyrillic text with no evidence either way is Russian. Latin text is Kazakh only with Kazakh
evidence; English, German or Russian written in Latin letters is "" (unknown), as is Ukrainian.

Known limits, measured on tests/moderation/language_heldout.py: see test_language.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

KAZAKH = "kk"
RUSSIAN = "ru"
UNKNOWN = ""

_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ`][^\W\d_]+)*")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN = re.compile("[a-zA-Z\u00c0-\u024f\u0259\u018f]")
# 6.2: a Latin look-alike inside a Cyrillic word ("Бiз", "Аkим") counts as its Cyrillic twin.
_HOMOGLYPHS = str.maketrans("aceopxykihmtbıə", "асеорхукіһмтьіә")

_KAZAKH_LETTERS = frozenset("әғқңөұүһі")
# Ukrainian's own letters: і is Kazakh too, so only these tell Ukrainian apart.
_UKRAINIAN_LETTERS = frozenset("їєґ")
# Letters a Kazakh word has only in Russian loans: a word with one leans Russian.
_LOAN_LETTERS = frozenset("ёъэщцфчьюявх")
# 6.3: 2021 (ä ö ü ğ ū ñ ş ı), 2018 acutes (á ǵ ń ó ú ý), and ŋ.
_LATIN_KAZAKH = frozenset("äöüğūñşıáǵńóúýŋ")
# Of those, the ones German and Turkish also write weigh less.
_LATIN_SHARED = frozenset("äöüş")


def _words(listed: str) -> frozenset[str]:
    return frozenset(listed.split())


# Kazakh words with no Kazakh letter, or as typed on a Russian keyboard (ә->а, қ->к, ң->н,
# ө->о, ұ/ү->у, і->и, ғ->г): none is a Russian word.
_KAZAKH_WORDS = _words(
    """
    мен сен биз сиз олар бар жок жоқ жол су уй ма ме ба бе па пе мектеп ауыл рахмет рақмет салем
    салеметсиз сәлем кашан калай неге керек жане ушин уш мырза жарык кун бул ия иа жаксы дурыс
    коше балалар бала биздин бизде кайырлы кеш акимдик аулада аула жумыс комек бойынша
    туралы сурак сурагым канша жауап жауабыныз ендеше орын жетпейди тазаланбайды
    жанбайды келеди басталады салынады уйге уйде коп аз жаяу
    """
)
_RUSSIAN_WORDS = _words(
    """
    и в во на не что как когда почему где кто нет по за с со у к о об а но это уже ещё еще будет
    будут есть вопрос спасибо улица улице улицы дома дорогу дороги воды воду свет нас нам мы вы
    я мой наш нашей ли же или так очень можно нужно нужен прошу пожалуйста здравствуйте добрый
    день вечер работает сколько из от до для при без про год лет который которые они он она его
    её их все всё сделайте хорошо понял ок да там тут сейчас почти район районе
    """
)
_UKRAINIAN_WORDS = _words("привіт коли буде дякую що вже також будь ласка")
_LATIN_KAZAKH_WORDS = _words(
    """
    men biz siz bar joq jok jol su ma me ba be mektep auyl auylda rahmet raqmet salem
    salemetsiz qashan kashan qalai kalai nege kerek jane ushin myrza jaryq jaryk bul ia
    jaqsy zhok zhol
    """
)
# "q" without "u" is Kazakh Latin (qashan, jaryq); endings: "-edi/-adi" (keledi), "-syz/-siz",
# "-myz/-miz", the dative "-ga" after l, r, u, y (auylga), "-dagy/-degi".
_LATIN_Q = re.compile("q(?!u)")
_LATIN_KAZAKH_ENDINGS = re.compile(r"(?:[lnr][ae]di|syz|siz|myz|miz|[lruy]ga|[dt][ae]g[yi])$")
# Kazakh endings as typed on either keyboard: "-сыз/-сиз/-ныз/-мыз" (you, we), the negative
# present "-байды/-пейди/-майды", "-дағы/-дагы", a plural with a case ending ("-лардың" aside,
# "-ларга", "-дарды", "-терде"). Russian words that end so are rare ("удары", "доллары").
_KAZAKH_ENDINGS = re.compile(
    r"(?:[нңсм][ыиі]з|[бпм][аеә]йд[ыиі]|[дт][аеә][гғ][ыиі]"
    r"|[лдт][аеә]р(?:[гғк][аеә]|[дт][ыиі]|[дт][аеә]н?|[ыі]))$"
)

_STRONG = 2
_WEAK = 1
_FEWEST_LETTERS = 2


def detect_language(text: str) -> str:
    """The code "kk" or "ru", or "" when the text is too short, has no letters, or is neither."""
    words = [_fold(word) for word in _WORD.findall(text)]
    if sum(len(word) for word in words) < _FEWEST_LETTERS:
        return UNKNOWN
    kazakh, russian, other = _tally(words)
    if other and other >= kazakh + russian:
        return UNKNOWN  # English, German, Ukrainian, Russian in Latin letters
    if kazakh > russian:
        return KAZAKH
    if any(_CYRILLIC.search(word) for word in words):
        return RUSSIAN  # Cyrillic with no stronger Kazakh evidence
    return UNKNOWN


def _fold(word: str) -> str:
    word = unicodedata.normalize("NFC", word).lower()
    if _CYRILLIC.search(word):
        return word.translate(_HOMOGLYPHS)
    return word


def _tally(words: Iterable[str]) -> tuple[int, int, int]:
    kazakh = russian = other = 0
    for word in words:
        side, weight = _weigh(word)
        if side == KAZAKH:
            kazakh += weight
        elif side == RUSSIAN:
            russian += weight
        else:
            other += weight
    return kazakh, russian, other


def _weigh(word: str) -> tuple[str, int]:
    """One word's evidence: which side, how strongly (0: none)."""
    letters = set(word)
    if letters & _UKRAINIAN_LETTERS or word in _UKRAINIAN_WORDS:
        return UNKNOWN, _STRONG
    if _CYRILLIC.search(word):
        return _weigh_cyrillic(word, letters)
    if _LATIN.search(word):
        return _weigh_latin(word, letters)
    return UNKNOWN, 0


def _weigh_cyrillic(word: str, letters: set[str]) -> tuple[str, int]:
    if letters & _KAZAKH_LETTERS or word in _KAZAKH_WORDS:
        return KAZAKH, _STRONG
    if word in _RUSSIAN_WORDS:
        return RUSSIAN, _STRONG
    if _KAZAKH_ENDINGS.search(word):
        return KAZAKH, _WEAK
    if letters & _LOAN_LETTERS:
        return RUSSIAN, _WEAK
    return RUSSIAN, 0


def _weigh_latin(word: str, letters: set[str]) -> tuple[str, int]:
    special = letters & _LATIN_KAZAKH
    if special - _LATIN_SHARED or word in _LATIN_KAZAKH_WORDS:
        return KAZAKH, _STRONG
    if special or _LATIN_Q.search(word) or _LATIN_KAZAKH_ENDINGS.search(word):
        return KAZAKH, _WEAK
    return UNKNOWN, _WEAK
