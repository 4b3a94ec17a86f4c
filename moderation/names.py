"""Reserved names (issue 8, INP-4): a viewer's display name may not read as an official role.

R3 makes the chat public, so a resident who calls himself «Аким» or «Модератор» speaks with an
authority he does not have. A display name is refused `reserved_name` when one of its words can
be *read* as a reserved word: letter by letter, each character may stand for any letter it
looks like (Unicode TR39's confusables: Latin, Cyrillic and Greek look-alikes, from the
`confusable-homoglyphs` package's copy of confusables.txt) or sounds like (Kazakh and Russian
letters transliterated, so «Әкім», «Акім», «Аким» and «Akim» are one word), a digit or symbol
for a letter (4 for А, 0 for О, 1 for I), fullwidth and styled letters folded by NFKC.

Whole words only: «Акимжан», «Акимова» and «Akimov» pass, «Аким района» does not. Decorations
(✔, brackets, emoji), digits around a word and letters spaced out one by one («А к и м»,
«A.K.I.M») do not hide a word. Not caught, by choice: a word cut in two («Ак им»), because
«А. Ким» is a real name; a role word glued to another in one case («Акимрайона»).
Invisible and bidi characters are gone before this runs (`moderation.text`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator

from confusable_homoglyphs import confusables

# The reserved words, in one place: a word and the endings it takes. Kazakh, Russian and
# Latin forms; the Latin spelling of a Cyrillic form is reserved with it (see `_spelling`).
# The genitive plural «-ов» of «аким» and «акимат» is left out on purpose: «Акимов» is a surname.
# To reserve another word, add it here with its endings and a row in test_names.py.
_RUSSIAN_NOUN = ("", "а", "у", "ом", "е", "ы", "ов", "ам", "ами", "ах")
RESERVED: dict[str, tuple[str, ...]] = {
    # the akim and the akimat (Russian)
    "аким": ("", "а", "у", "ом", "е", "ы", "ам", "ами", "ах"),
    "акимат": ("", "а", "у", "ом", "е", "ы", "ам", "ами", "ах"),
    # әкім, әкімдік (akimat), әкімшілік (administration), әкімші (administrator): Kazakh
    "әкім": ("", "і", "нің", "ге", "ді", "де", "нен", "мен", "дер", "дері", "інің", "іне"),
    "әкімдік": ("", "ке", "ті", "те", "тен", "пен", "тің"),
    "әкімдіг": ("і", "інің", "іне", "ін"),
    "әкімшілік": ("", "ке", "ті", "тің"),
    "әкімшіліг": ("і", "інің", "іне"),
    "әкімші": ("", "сі", "лер"),
    # the platform's own roles (Russian and Kazakh share «модератор»)
    "модератор": (*_RUSSIAN_NOUN, "лар", "ы"),
    "модераци": ("я", "и", "ю", "ей"),
    "администратор": _RUSSIAN_NOUN,
    "администраци": ("я", "и", "ю", "ей"),
    "админ": (*_RUSSIAN_NOUN, "ка", "ки", "ке", "ку"),
    # the akim's usual English title, and its Russian form
    "мэр": ("", "а", "у", "ом"),
    "mayor": ("", "s"),
    # official (Russian, Kazakh)
    "официальн": ("ый", "ая", "ое", "ые", "о"),
    "ресми": ("",),
    # Latin forms that are not a transliteration of one above
    "admin": ("", "s"),
    "administrator": ("", "s"),
    "administration": ("",),
    "moderator": ("", "s"),
    "moderation": ("",),
    "official": ("",),
}


def reserved_words() -> tuple[str, ...]:
    """Every reserved form, as listed (README, docs)."""
    return tuple(stem + ending for stem, endings in RESERVED.items() for ending in endings)


# How Kazakh, Russian and Greek letters are read in Latin letters, the usual spelling first
# (it spells the reserved forms); a name may use any of them.
_READ_AS: dict[str, tuple[str, ...]] = {
    "а": ("a",), "ә": ("a",), "б": ("b",), "в": ("v",), "г": ("g",), "ғ": ("g", "gh"),
    "д": ("d",), "е": ("e",), "ё": ("e", "yo"), "ж": ("zh", "j"), "з": ("z",),
    "и": ("i",), "й": ("y", "i", "j"), "і": ("i",), "к": ("k",), "қ": ("k", "q"),
    "л": ("l",), "м": ("m",), "н": ("n",), "ң": ("n", "ng"), "о": ("o",), "ө": ("o",),
    "п": ("p",), "р": ("r",), "с": ("s",), "т": ("t",), "у": ("u", "y"), "ұ": ("u",),
    "ү": ("u", "y"), "ф": ("f",), "х": ("kh", "h", "x"), "һ": ("h",), "ц": ("ts", "c"),
    "ч": ("ch",), "ш": ("sh",), "щ": ("shch", "sch"), "ъ": ("",), "ы": ("y", "i"),
    "ь": ("",), "э": ("e",), "ю": ("yu", "iu"), "я": ("ya", "ia"),
    "α": ("a",), "β": ("b", "v"), "γ": ("g",), "δ": ("d",), "ε": ("e",), "ζ": ("z",),
    "η": ("i", "e"), "θ": ("th",), "ι": ("i",), "κ": ("k",), "λ": ("l",), "μ": ("m",),
    "ν": ("n",), "ξ": ("x", "ks"), "ο": ("o",), "π": ("p",), "ρ": ("r",), "σ": ("s",),
    "ς": ("s",), "τ": ("t",), "υ": ("u", "y"), "φ": ("f",), "χ": ("kh", "h", "ch"),
    "ψ": ("ps",), "ω": ("o",),
}  # fmt: skip

# Digits and symbols written for letters, beyond what TR39 says they look like (it has 0 for O
# and 1 for l, not 4 for A): inside a word they may be letters, around it they are decoration.
_LEET: dict[str, tuple[str, ...]] = {
    "0": ("o",), "1": ("i", "l"), "2": ("z",), "3": ("e", "z"), "4": ("a",), "5": ("s",),
    "6": ("b",), "7": ("t",), "8": ("b",), "9": ("g",), "@": ("a",), "$": ("s",),
    "!": ("i",), "|": ("i", "l"), "€": ("e",),
}  # fmt: skip

_SMALL_CAPITAL = re.compile(r"LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?([A-Z])")


def _strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _spoken(char: str) -> tuple[str, ...]:
    """How one character reads in Latin letters by itself, if it is a letter we read."""
    lower = char.lower()
    if lower in _READ_AS:
        return _READ_AS[lower]
    base = _strip_marks(lower)
    if base in _READ_AS:
        return _READ_AS[base]
    if base.isascii() and base.isalpha():
        return (base,)
    named = _SMALL_CAPITAL.fullmatch(unicodedata.name(char, ""))
    return (named.group(1).lower(),) if named else ()


def _spelling(word: str) -> str:
    """A reserved form in Latin letters, the usual way: «әкімдік» is «akimdik»."""
    return "".join(_spoken(char)[0] for char in word)


# TR39's look-alikes, as classes: each line of confusables.txt joins a character to its
# prototype, and the package keeps both directions, so a walk from a character finds all of
# its class («a», Cyrillic «а», Greek «α», «ɑ», and the styled forms).
_PAIRS: dict[str, list[dict[str, str]]] = confusables.confusables_data


@functools.cache
def _look_alikes(char: str) -> frozenset[str]:
    found, todo = {char}, [char]
    while todo:
        for pair in _PAIRS.get(todo.pop(), ()):
            if pair["c"] not in found:
                found.add(pair["c"])
                todo.append(pair["c"])
    return frozenset(found)


@functools.cache
def _readings(char: str) -> frozenset[str]:
    """Every Latin spelling `char` can be read as: its own, that of every character it looks
    like (in either case), and a digit's or symbol's letter. A combining mark reads as nothing."""
    if unicodedata.combining(char):
        return frozenset({""})
    found = set(_LEET.get(char, ()))
    for case in {char, char.lower(), char.upper()}:
        for alike in _look_alikes(case) if len(case) == 1 else ():
            if len(alike) == 1:
                found.update(_spoken(alike))
            elif alike.isascii() and alike.isalpha():
                found.add(alike.lower())  # a ligature reads as its letters: "ﬁ" is "fi"
    return frozenset(found)


def _sequences() -> dict[str, frozenset[str]]:
    """Letter pairs TR39 says look like one letter («rn» for «m»), with what they read as."""
    found: dict[str, set[str]] = {}
    for key, pairs in _PAIRS.items():
        if len(key) > 1 and key.isascii() and key.isalpha():
            for pair in pairs:
                if len(pair["c"]) == 1:
                    found.setdefault(key.lower(), set()).update(_spoken(pair["c"]))
    return {key: frozenset(readings) for key, readings in found.items() if readings}


_SEQUENCES = _sequences()
_TARGETS = frozenset(_spelling(word) for word in reserved_words())
_PREFIXES = frozenset(target[:end] for target in _TARGETS for end in range(len(target) + 1))


def _reads_as_reserved(word: str) -> bool:
    """Whether some reading of `word`, character by character, is a reserved form's spelling."""
    return len(word) in _reserved_ends(word)


def _reserved_ends(word: str) -> set[int]:
    """Each `end` where some reading of `word[:end]` spells a reserved form.

    `reach[i]` holds the beginnings of reserved spellings that `word[:i]` can be read as; the
    walk stops as soon as nothing is reachable, so it costs at most a reserved word's length.
    """
    lower = word.lower()
    reach: list[set[str]] = [set() for _ in range(len(word) + 1)]
    reach[0].add("")
    for at, char in enumerate(word):
        if not any(reach[at:]):
            break
        steps = [(at + 1, _readings(char))]
        steps += [(at + len(seq), readings) for seq, readings in _SEQUENCES.items()
                  if lower.startswith(seq, at)]  # fmt: skip
        for begun in reach[at]:
            for end, readings in steps:
                reach[end].update(r for r in (begun + x for x in readings) if r in _PREFIXES)
    return {end for end, reached in enumerate(reach) if not reached.isdisjoint(_TARGETS)}


# Splitting a name into the words to check


def _is_letter(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM"


def _is_letterlike(char: str) -> bool:
    """A digit or a symbol that may stand for a letter («4ким», «Adm|n»)."""
    return not _is_letter(char) and char != " " and bool(_readings(char))


def _runs(word: str, keep: str) -> list[tuple[str, str]]:
    """`word` cut into runs of letters (and letter-like characters, if `keep` says so), each
    with the character that ended it ("" at the end)."""
    runs: list[tuple[str, str]] = []
    current = ""
    for char in word:
        if _is_letter(char) or (keep == "letterlike" and _is_letterlike(char)):
            current += char
            continue
        if current:
            runs.append((current, char))
        current = ""
    if current:
        runs.append((current, ""))
    return runs


def _trimmed(run: str) -> Iterator[str]:
    """A run as it is, and without the digits or symbols at either end («Akim2024», «@kim»)."""
    start, end = 0, len(run)
    while start < end and not _is_letter(run[start]):
        start += 1
    while end > start and not _is_letter(run[end - 1]):
        end -= 1
    yield from {run, run[start:], run[:end], run[start:end]}


def _glued(runs: list[tuple[str, str]]) -> Iterator[str]:
    """The runs of a word joined, «A-d-m-i-n» as «Admin»; an initial stays apart from the
    name after it («А.Ким» is a name, not «Аким»)."""
    part = ""
    for index, (run, ended_by) in enumerate(runs):
        part += run
        following = runs[index + 1][0] if index + 1 < len(runs) else ""
        if len(run) == 1 and ended_by == "." and len(following) > 1:
            yield part
            part = ""
    if part:
        yield part


_CASE_CHANGE = re.compile(r"(?<=[^\W\d_])(?=[A-ZА-ЯӘҒҚҢӨҰҮҺІ][a-zа-яәғқңөұүһі])")


def _candidates(name: str) -> Iterator[str]:
    """Every piece of a name that must not read as a reserved word."""
    for word in name.split(" "):
        for keep in ("letters", "letterlike"):
            runs = _runs(word, keep)
            for run, _ in runs:
                yield from _trimmed(run)
                yield from _CASE_CHANGE.split(run)  # «OfficialAkim»
            for glued in _glued(runs):
                yield from _trimmed(glued)


def _spaced_out(words: list[str]) -> bool:
    """Letters spaced out one by one, «А к и м»: whether a stretch of one-letter words, from
    any of them on, spells a reserved form."""
    letters = ["".join(run for run, _ in _runs(word, "letterlike")) for word in words]
    stretch = ""
    for letter in [*letters, ""]:
        if len(letter) == 1:
            stretch += letter
            continue
        for start in range(len(stretch) - 1):
            if max(_reserved_ends(stretch[start:]), default=0) > 1:
                return True
        stretch = ""
    return False


@functools.lru_cache(maxsize=4096)
def is_reserved(name: str) -> bool:
    """Whether a cleaned display name reads as an official role (issue 8, INP-4).

    Cached: a viewer sends many comments under one name.
    """
    folded = unicodedata.normalize("NFKC", name)
    pieces = set(_candidates(folded)) - {""}
    return any(_reads_as_reserved(piece) for piece in pieces) or _spaced_out(folded.split(" "))
