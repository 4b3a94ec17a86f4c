"""The sanitiser: what it removes, what it keeps, and that cleaning twice changes nothing."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.text import MAX_COMMENT_CHARS, MAX_NAME_CHARS, clean_name, clean_text

BIDI = (
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"]
)
FORMAT = [
    "\u200b",  # zero width space
    "\u200c",  # zero width non-joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u180e",  # Mongolian vowel separator
    "\u2061",  # function application
    "\U000e0001",  # language tag
    "\U000e0041",  # tag latin capital A
    "\U000e007f",  # cancel tag
]
CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x9b"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
NONCHARACTERS = ["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]
ZWJ = "\u200d"

EMOJI_SEQUENCES = [
    "👩\u200d⚕️",  # woman health worker
    "👨\u200d👩\u200d👧",  # family
    "🏳️\u200d🌈",  # rainbow flag: VS16 before the joiner
    "👩🏽\u200d⚕️",  # a skin tone before the joiner
    "❤️\u200d🔥",  # heart on fire
    "🧑\u200d🤝\u200d🧑",  # people holding hands
]

# Everything the cleaner treats specially, mixed into arbitrary text by Hypothesis.
SPECIAL = [
    *BIDI,
    *FORMAT,
    *CONTROLS,
    *SURROGATES,
    *NONCHARACTERS,
    ZWJ,
    ZWJ,
    "\ufe0f",
    "\u0301",
    "\u0306",
    "\u0308",
    " ",
    "\t",
    "\r",
    "\n",
    "\u2028",
    "\u2029",
    "\u00a0",
    "\u3000",
    "👩",
    "⚕",
    "🏽",
    "e",
    "и",
    "қ",
]
ANY_TEXT = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(SPECIAL)), max_size=60)


def test_the_limits_are_the_documented_ones() -> None:
    assert (MAX_COMMENT_CHARS, MAX_NAME_CHARS) == (500, 40)


@pytest.mark.parametrize("char", BIDI + FORMAT + CONTROLS + SURROGATES + NONCHARACTERS)
def test_invisible_characters_are_removed(char: str) -> None:
    assert clean_text(f"ab{char}cd") == "abcd"
    assert clean_name(f"ab{char}cd") == "abcd"


def test_a_bidi_override_cannot_reorder_a_comment() -> None:
    # U+202E would show "Аким молодец" while the text says the opposite.
    assert clean_text("\u202eцедолом микА\u202c") == "цедолом микА"


def test_a_lone_surrogate_from_json_is_removed() -> None:
    raw = json.loads('"su\\ud800 jo\\udfffq"')
    assert clean_text(raw) == "su joq"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Жол  жоқ  ", "Жол жоқ"),
        ("first\tsecond", "first second"),
        ("line one\r\nline two\nthree\rfour", "line one line two three four"),
        ("para\u2028graph\u2029end", "para graph end"),
        ("500\u00a0000 тенге", "500 000 тенге"),
        ("a\u3000b\u2003c\u202fd", "a b c d"),
        ("a \u200b b", "a b"),
        ("\n\n\t ", ""),
        ("", ""),
    ],
)
def test_whitespace_becomes_single_spaces_and_ends_are_stripped(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("e\u0301", "\u00e9"),  # decomposed é composes
        ("и\u0306", "й"),  # so does й, typed as и and a breve
        ("е\u0308", "ё"),
        ("e\u200b\u0301", "\u00e9"),  # and still composes once the invisible is gone
    ],
)
def test_text_comes_out_in_nfc(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "kept",
    [
        "Сәлеметсіз бе, әкім! Ауыз су жоқ.",
        "Sálemetsiz be, ákim! Aýyz sý joq.",
        "Добрый день, аким! Когда будет отопление?",
        "x\u0301q\u0323",  # combining marks that do not compose stay
        "✌\ufe0f",  # a variation selector stays
        "👍🏽",  # a skin tone modifier stays
        "你好",
        *EMOJI_SEQUENCES,
    ],
)
def test_ordinary_text_emoji_and_marks_are_kept(kept: str) -> None:
    assert clean_text(kept) == kept


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\u200db", "ab"),  # between letters
        ("\u200d👩", "👩"),  # at the start
        ("👩\u200d", "👩"),  # at the end
        ("👩\u200d\u200d⚕", "👩⚕"),  # doubled
        ("👩\u200da", "👩a"),  # emoji then letter
        ("a\u200d👩", "a👩"),  # letter then emoji
        ("👩 \u200d⚕", "👩 ⚕"),  # across a space
        ("👩\u200b\u200d⚕", "👩\u200d⚕"),  # an invisible in between goes, the joiner stays
    ],
)
def test_zero_width_joiner_is_kept_only_between_emoji(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize("sequence", EMOJI_SEQUENCES)
def test_names_never_keep_a_zero_width_joiner(sequence: str) -> None:
    assert clean_name(f"Айгүл {sequence}") == "Айгүл " + sequence.replace(ZWJ, "")


def test_names_are_cleaned_like_comments() -> None:
    assert clean_name("  Ай\u200bгүл\u202e \t Н.  ") == "Айгүл Н."


def test_nothing_is_truncated() -> None:
    long = "ж" * (MAX_COMMENT_CHARS + 100)
    assert clean_text(long) == long
    assert clean_name("ә" * (MAX_NAME_CHARS + 10)) == "ә" * (MAX_NAME_CHARS + 10)


@settings(max_examples=400)
@given(ANY_TEXT)
def test_cleaning_is_idempotent(raw: str) -> None:
    once = clean_text(raw)
    assert clean_text(once) == once
    name = clean_name(raw)
    assert clean_name(name) == name


@settings(max_examples=400)
@given(ANY_TEXT)
def test_output_has_no_bidi_invisible_or_stray_whitespace(raw: str) -> None:
    for cleaned in (clean_text(raw), clean_name(raw)):
        assert not set(cleaned) & set(BIDI)
        assert all(c == ZWJ or unicodedata.category(c) not in ("Cc", "Cf", "Cs") for c in cleaned)
        assert not set(cleaned) & set(NONCHARACTERS)
        assert cleaned == cleaned.strip()
        assert "  " not in cleaned
        assert all(not c.isspace() or c == " " for c in cleaned)
        assert unicodedata.is_normalized("NFC", cleaned)
    assert ZWJ not in clean_name(raw)


@given(ANY_TEXT)
def test_every_kept_joiner_sits_between_emoji(raw: str) -> None:
    cleaned = clean_text(raw)
    for index, char in enumerate(cleaned):
        if char == ZWJ:
            assert 0 < index < len(cleaned) - 1
            assert not cleaned[index - 1].isalnum()
            assert unicodedata.category(cleaned[index + 1]) in ("So", "Cn")
