"""The Unicode sanitiser for user text: comments and display names, before any check or storage.
It removes what can hide, reorder or spoof text, including every default-ignorable code point
and the fillers that draw as a blank (issue 8), and settles whitespace.
"""

from __future__ import annotations

import re
import unicodedata

# Limits the caller checks, in code points after cleaning; cleaning itself never truncates.
MAX_COMMENT_CHARS = 500
MAX_NAME_CHARS = 40

_ZWJ = "\u200d"
_VS15 = "\ufe0e"
_VS16 = "\ufe0f"
_KEYCAP = "\u20e3"
_SKIN_TONES = "\U0001f3fb-\U0001f3ff"

# Pictographs by block rather than by Emoji property (which unicodedata lacks); the whole
# 1F000-1FAFF range counts so emoji newer than this Python's Unicode tables still do.
_EMOJI = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21ff\u2300-\u23ff\u24c2\u25a0-\u27bf"
    "\u2934\u2935\u2b00-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
)

# A ZWJ survives only when an emoji (or the VS16 / skin tone closing one) is on its left and
# an emoji on its right: that is what keeps 👩‍⚕️ and 👨‍👩‍👧 whole and nothing else joined.
_STRAY_ZWJ = re.compile(f"(?<![{_EMOJI}{_VS16}{_SKIN_TONES}]){_ZWJ}|{_ZWJ}(?![{_EMOJI}])")
# A presentation selector (VS15 text, VS16 emoji) survives only where it selects something: after
# an emoji, or in a keycap (1️⃣ is "1", VS16, U+20E3). After a letter it is an invisible that
# lets «Ак\ufe0fим» pass for «Аким», so it goes.
_STRAY_VS = re.compile(
    f"(?<![{_EMOJI}#*0-9])[{_VS15}{_VS16}]|(?<=[#*0-9])[{_VS15}{_VS16}](?!{_KEYCAP})"
)
_WHITESPACE = re.compile(r"\s+")

# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt) is the format characters
# (Cf), the variation selectors and Other_Default_Ignorable_Code_Point (PropList.txt), less
# whitespace. unicodedata knows only the categories, so the other two are listed here, from
# Unicode 15.1: the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, the Khmer inherent
# vowels U+17B4 and U+17B5, the combining grapheme joiner U+034F and unassigned reserves.
_VARIATION_SELECTORS = ((0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0D), (0xE0100, 0xE01EF))
_OTHER_IGNORABLE = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x2065, 0x2065), (0x3164, 0x3164),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0000), (0xE0002, 0xE001F),
    (0xE0080, 0xE00FF), (0xE01F0, 0xE0FFF),
)  # fmt: skip
# Not ignorable to Unicode, but drawn as nothing but a blank, and used for nothing else here.
_BLANK_FILLERS = ((0x2800, 0x2800),)  # the Braille pattern blank
_LISTED = frozenset(
    code
    for low, high in (*_VARIATION_SELECTORS, *_OTHER_IGNORABLE, *_BLANK_FILLERS)
    for code in range(low, high + 1)
)


def _is_noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def _is_invisible(code: int) -> bool:
    char = chr(code)
    if char == _ZWJ or char.isspace():
        return False
    category = unicodedata.category(char)
    return category in ("Cc", "Cf", "Cs") or _is_noncharacter(code) or code in _LISTED


# Controls, formats and surrogates live only in planes 0, 1 and 14; planes 2-13 and 15-16
# add only their two noncharacters each. Scanning just those keeps the import fast.
_SCANNED = (range(0x20000), range(0xE0000, 0xF0000))
_PLANE_ENDS = tuple(plane << 16 | low for plane in range(2, 17) for low in (0xFFFE, 0xFFFF))


def invisible_ranges() -> tuple[tuple[int, int], ...]:
    """Every code point to remove, as (first, last) runs, from this Python's unicodedata.
    Scanning takes a fifth of a second (much more under coverage, in every process the tests
    start), so the module keeps the result as `INVISIBLE_RANGES`; tests/moderation/test_text.py
    checks that the two agree."""
    codes = sorted({c for r in _SCANNED for c in r if _is_invisible(c)} | set(_PLANE_ENDS))
    ranges: list[tuple[int, int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return tuple(ranges)


# `invisible_ranges()` under Unicode 14.0 (Python 3.11's unicodedata).
INVISIBLE_RANGES = (
    (0x0000, 0x0008), (0x000E, 0x001B), (0x007F, 0x0084), (0x0086, 0x009F), (0x00AD, 0x00AD),
    (0x034F, 0x034F), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
    (0x200B, 0x200C), (0x200E, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xD800, 0xDFFF), (0xFDD0, 0xFDEF), (0xFE00, 0xFE0D), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFFB), (0xFFFE, 0xFFFF), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0x1FFFE, 0x1FFFF),
    (0x2FFFE, 0x2FFFF), (0x3FFFE, 0x3FFFF), (0x4FFFE, 0x4FFFF), (0x5FFFE, 0x5FFFF),
    (0x6FFFE, 0x6FFFF), (0x7FFFE, 0x7FFFF), (0x8FFFE, 0x8FFFF), (0x9FFFE, 0x9FFFF),
    (0xAFFFE, 0xAFFFF), (0xBFFFE, 0xBFFFF), (0xCFFFE, 0xCFFFF), (0xDFFFE, 0xE0FFF),
    (0xEFFFE, 0xEFFFF), (0xFFFFE, 0xFFFFF), (0x10FFFE, 0x10FFFF),
)  # fmt: skip


_INVISIBLE = re.compile(
    "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in INVISIBLE_RANGES) + "]"
)


def _clean(raw: str, *, keep_emoji_zwj: bool) -> str:
    text = _INVISIBLE.sub("", raw)
    # Selectors before joiners: a joiner is kept after a VS16 only if that VS16 stays.
    text = _STRAY_VS.sub("", text)
    text = _STRAY_ZWJ.sub("", text) if keep_emoji_zwj else text.replace(_ZWJ, "")
    # NFC comes after the removals: taking out a character between a letter and a combining
    # mark lets them compose, and doing it last is what makes cleaning idempotent.
    text = unicodedata.normalize("NFC", text)
    return _WHITESPACE.sub(" ", text).strip()


def clean_text(raw: str) -> str:
    """A comment as NFC text with no invisible or bidi characters and single spaces."""
    return _clean(raw, keep_emoji_zwj=True)


def clean_name(raw: str) -> str:
    """A display name cleaned like a comment, with no zero width joiner at all."""
    return _clean(raw, keep_emoji_zwj=False)


def is_blank(cleaned: str) -> bool:
    """Whether cleaned text shows nothing a reader could take for a word or a sign: it is
    empty, or only spaces and combining marks with no letter, digit or symbol to sit on."""
    return all(char == " " or unicodedata.category(char).startswith("M") for char in cleaned)
