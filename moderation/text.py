"""The Unicode sanitiser for user text: comments and display names, before any check or storage.
It removes what can hide, reorder or spoof text, and settles whitespace.
"""

from __future__ import annotations

import re
import unicodedata

# Limits the caller checks, in code points after cleaning; cleaning itself never truncates.
MAX_COMMENT_CHARS = 500
MAX_NAME_CHARS = 40

_ZWJ = "\u200d"
_VS16 = "\ufe0f"
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
_WHITESPACE = re.compile(r"\s+")


def _is_noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def _is_invisible(code: int) -> bool:
    char = chr(code)
    if char == _ZWJ or char.isspace():
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Cs") or _is_noncharacter(code)


# Controls, formats and surrogates live only in planes 0, 1 and 14; planes 2-13 and 15-16
# add only their two noncharacters each. Scanning just those keeps the import fast.
_SCANNED = (range(0x20000), range(0xE0000, 0xF0000))
_PLANE_ENDS = tuple(plane << 16 | low for plane in range(2, 17) for low in (0xFFFE, 0xFFFF))


def _invisible_class() -> str:
    """A character class body for every code point to remove, built once from unicodedata."""
    codes = sorted({c for r in _SCANNED for c in r if _is_invisible(c)} | set(_PLANE_ENDS))
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


# Control (Cc, except whitespace such as tab and CR/LF, which become a space below), format
# (Cf: bidi controls, zero-width characters, soft hyphen, BOM, tags), lone surrogates (Cs,
# which json.loads makes from "\ud800") and noncharacters. ZWJ is decided separately.
_INVISIBLE = re.compile(f"[{_invisible_class()}]")


def _clean(raw: str, *, keep_emoji_zwj: bool) -> str:
    text = _INVISIBLE.sub("", raw)
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
