"""The automatic first filter: why a cleaned comment is held back from the public chat, if it is.
R3: commenting is mandatory, so the filter never drops a comment: it only names why to hold it.
"""

# Known limits, accepted on purpose (precision over recall: a held comment is a resident
# silenced in public). Held although harmless: "Ебург", "шешенді" (also "orator"), "қаншық"
# meaning a dog, "Kaspi.kz" and "egov.kz" (links), "1000000 тенге" written without spaces and
# number lists like "+25 30 35 40" (phones), any masked word guessed into profanity ("с*ка").
# Not held: "хер", "жопа", "говно" (blunt, not mat), "сучка" (also "сучок"), bare "манда" (Kazakh
# "маңда" typed on a Russian keyboard), "жалап" (also "to lick"), compounds such as
# "хитровыебанный", words with more than two masks, card numbers and IINs written with spaces,
# 6-digit local numbers, IP addresses, domains with a title-case ending ("Example.Kz").

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator

from moderation.model import HoldReason
from moderation.wordlists import KAZAKH, LATIN, RUSSIAN, TOP_LEVEL_DOMAINS


def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_RUSSIAN = _any_of(RUSSIAN)
_KAZAKH = _any_of(KAZAKH)
_LATIN = _any_of(LATIN)

# --- profanity: from a comment to normalised words ---------------------------------------

_CYRILLIC = re.compile("[\u0400-\u04ff]")
# Look-alikes inside a word that has Cyrillic letters: Latin letters and digits typed to get
# past a filter (xуй, пiзда, бл9, п1зда). Words wholly in Latin are left to LATIN.
_LOOKALIKES = str.maketrans("aeopcxykihmtb01369", "аеорсхукіһмтвоізбя")
_KAZAKH_FOLD = str.maketrans("іқғңөұүһә", "икгноууха")
# Masks stand for one hidden letter or more: х*й, бл@, п#зда; "!" and "?" only mid-word.
_INNER_MARKS = re.compile(r"(?<=\w)[!?]+(?=\w)")
_MASKS = re.compile(r"[*@#$%&]+")
_SEPARATORS = re.compile(r"[^\w*]+|_+")
_DIGITS = re.compile(r"\d+")
_DIGITS_OR_MASKS = re.compile(r"[\d*]+")
_REPEATS = re.compile(r"(.)\1+")
# The letters tried for a mask: those of the Russian patterns (no ё: it is folded to е).
_ALPHABET = "абвгдезийклмнопрстухчшъыьюя"
# A comment can hold many masked words; past this many guesses the rest are not expanded, so
# one comment costs a bounded time (a few ms). Unmasked words are always all checked first.
_MAX_GUESSES = 1024
_MAX_MASKS_PER_WORD = 2


def _fold(text: str) -> str:
    """Casefolded, ё as е, combining marks (stress, strike-through) removed."""
    folded = unicodedata.normalize("NFC", text.casefold()).replace("ё", "е")
    return "".join(c for c in folded if not unicodedata.combining(c))


def _pieces(token: str) -> list[str]:
    """The word pieces of one space-free token, look-alikes mapped and masks as "*"."""
    token = _MASKS.sub("*", _INNER_MARKS.sub("*", token.lstrip("#@")))
    pieces: list[str] = []
    for part in _SEPARATORS.split(token):
        if _CYRILLIC.search(part):
            pieces.extend(_DIGITS.split(part.translate(_LOOKALIKES)))
        else:
            pieces.extend(_DIGITS_OR_MASKS.split(part))
    return [piece for piece in pieces if piece.strip("*")]


def _words(text: str) -> Iterator[str]:
    """Each token's pieces, their join (х.у.й), and runs of single letters (х у й)."""
    letters: list[str] = []
    for token in _fold(text).split():
        pieces = _pieces(token)
        yield from pieces
        if len(pieces) > 1:
            yield "".join(pieces)
        if len(pieces) == 1 and len(pieces[0]) == 1:
            letters.append(pieces[0])
            continue
        if len(letters) >= 3:
            yield "".join(letters)
        letters = []
    if len(letters) >= 3:
        yield "".join(letters)


def _is_profane(word: str) -> bool:
    for form in {word, _REPEATS.sub(r"\1", word)}:
        if not _CYRILLIC.search(form):
            if _LATIN.search(form):
                return True
        elif _RUSSIAN.search(form) or _KAZAKH.search(form.translate(_KAZAKH_FOLD)):
            return True
    return False


def _guesses(masked: str) -> Iterator[str]:
    """Each way to fill the masks of a word with one letter each."""
    parts = masked.split("*")
    for fill in itertools.product(_ALPHABET, repeat=len(parts) - 1):
        yield "".join(itertools.chain.from_iterable(zip(parts, (*fill, ""), strict=True)))


def _has_profanity(text: str) -> bool:
    masked: list[str] = []
    for word in _words(text):
        if "*" not in word:
            if _is_profane(word):
                return True
            continue
        if any(_is_profane(part) for part in word.split("*") if part):
            return True
        if word.count("*") <= _MAX_MASKS_PER_WORD and len(word) - word.count("*") >= 2:
            masked.append(word)
    guesses = itertools.chain.from_iterable(_guesses(word) for word in masked)
    return any(_is_profane(guess) for guess in itertools.islice(guesses, _MAX_GUESSES))


# --- contact details and links ------------------------------------------------------------

_SEP = r"[\s\-()]"
_PHONE = re.compile(
    "|".join(
        (
            # Any 7 digits in a row: a phone written solid, and the 12-digit IIN.
            r"\d{7,}",
            # An international number: + and 8 to 15 digits, with separators.
            rf"\+\s?\d(?:{_SEP}{{0,3}}\d){{7,14}}(?!\d)",
            # Kazakh and Russian numbers: 7 or 8, a 3 or 4 digit code, then any grouping up to
            # 11 digits. Dots are left out: "8.01.2026 12.00" is a date and a time.
            rf"(?<![\d+])[78][\s\-]{{0,2}}\(?\d{{3}}(?:{_SEP}{{0,3}}\d){{7}}(?!\d)",
            # Without the country prefix: (701) 234-56-78, 701 234 56 78.
            r"(?<![\d+])\(?\d{3}\)?[\s\-.]{0,2}\d{3}[\s\-.]?\d{2}[\s\-.]?\d{2}(?!\d)",
            # A local number: 234-56-78.
            r"(?<![\d\-])\d{3}-\d{2}-\d{2}(?![\d\-])",
        )
    )
)
# A 12-digit IIN written in groups (900101 300123, 9001-0130-0123): masked wherever contacts
# are (issue 9.5). Written solid, `_PHONE` already finds it.
_IIN = re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){11}(?![\d\-])")
# Amounts grouped by thousands (1 500 000, 12.500.000) look like digit runs but are not phones.
_THOUSANDS = re.compile(r"[+]?\s?\d{1,3}(?:[ .,]\d{3})+")

_EMAIL = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}")

_TLD = "|".join(
    sorted({t for tld in TOP_LEVEL_DOMAINS for t in (tld, tld.upper())}, key=lambda t: (-len(t), t))
)
_LINK = re.compile(
    "|".join(
        (
            r"(?i:\b(?:https?|ftp)://)",
            r"(?i:\bwww\.\w)",
            r"(?i:\bt\.me/\w)",
            # A bare domain: name.kz, bit.ly/x, but not Алматы.Жол, т.е., 2.5 or жоқ.Су.
            rf"(?<![\w@.\-])(?:[^\W_][\w\-]*\.)+(?:{_TLD})(?![\w\-])",
        )
    )
)


def _has_phone(text: str) -> bool:
    return any(not _THOUSANDS.fullmatch(m.group()) for m in _PHONE.finditer(text))


def first_filter(text: str) -> HoldReason | None:
    """Why a cleaned comment is held back (profanity, then phone, email, link), or None."""
    if _has_profanity(text):
        return HoldReason.PROFANITY
    if _has_phone(text):
        return HoldReason.PHONE
    if _EMAIL.search(text):
        return HoldReason.EMAIL
    if _LINK.search(text):
        return HoldReason.LINK
    return None


def mask_contacts(text: str) -> str:
    """`text` with phone numbers, e-mail addresses and IINs masked, keeping the last two digits.

    Staff whose role may not see contact details (PRIV-1) read comments through this: the
    masked form shows that a number was there (`••• ••• ••67` for +7 701 234 56 67) without
    giving it away.
    """

    def phone(match: re.Match[str]) -> str:
        found = match.group()
        if _THOUSANDS.fullmatch(found):
            return found
        digits = re.sub(r"\D", "", found)
        return "••• ••• ••" + digits[-2:]

    def email(match: re.Match[str]) -> str:
        return "•••@" + match.group().rpartition("@")[2]

    return _PHONE.sub(phone, _IIN.sub(phone, _EMAIL.sub(email, text)))
