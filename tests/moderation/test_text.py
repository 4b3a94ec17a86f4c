"""The sanitiser: what it removes, what it keeps, and that cleaning twice changes nothing."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import text
from moderation.text import MAX_COMMENT_CHARS, MAX_NAME_CHARS, clean_name, clean_text, is_blank

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
VS16 = "\ufe0f"
# Issue 8: invisible fillers that are letters or symbols to Unicode, and the default-ignorable
# code points that are not format characters (Other_Default_Ignorable, variation selectors).
FILLERS = [
    "\u3164",  # Hangul filler
    "\u2800",  # Braille pattern blank
    "\u115f",  # Hangul choseong filler
    "\u1160",  # Hangul jungseong filler
    "\uffa0",  # halfwidth Hangul filler
    "\u17b4",  # Khmer vowel inherent aq
    "\u17b5",  # Khmer vowel inherent aa
    "\u034f",  # combining grapheme joiner
]
IGNORABLE = [
    "\u2065",  # reserved, default ignorable
    "\ufe00",  # variation selector 1
    "\ufe0d",  # variation selector 14
    "\u180b",  # Mongolian free variation selector
    "\u180f",
    "\U000e0100",  # variation selector 17
    "\U000e01ef",
    "\U000e0080",  # unassigned, default ignorable
    "\U000e0fff",
    "\ufff0",
]

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
    *FILLERS,
    *IGNORABLE,
    ZWJ,
    ZWJ,
    "\ufe0f",
    "\ufe0f",
    "\ufe0e",
    "\u20e3",
    "1",
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


@pytest.mark.parametrize("char", FILLERS + IGNORABLE)
def test_fillers_and_default_ignorable_code_points_are_removed(char: str) -> None:
    assert clean_text(f"ab{char}cd") == "abcd"
    assert clean_name(f"Ак{char}им") == "Аким"


@pytest.mark.parametrize(
    "raw", [*FILLERS, *IGNORABLE, "".join(FILLERS + IGNORABLE), "\u3164 \u2800\n\uffa0", VS16]
)
def test_a_text_of_fillers_alone_is_left_blank(raw: str) -> None:
    """Issue 8: names and texts made only of invisible fillers were accepted."""
    assert clean_text(raw) == clean_name(raw) == ""
    assert is_blank(clean_text(raw))


@pytest.mark.parametrize(
    ("cleaned", "blank"),
    [
        ("", True),
        ("\u0301", True),  # a combining mark with nothing to sit on
        ("\u0301 \u0489\u0489", True),
        ("a", False),
        (".", False),
        ("👍", False),
        ("1", False),
        ("x\u0301", False),
    ],
)
def test_blank_means_nothing_a_reader_could_take_for_a_sign(cleaned: str, blank: bool) -> None:
    assert is_blank(cleaned) is blank


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\ufe0f", "a"),  # after a letter: nothing to select
        ("Ак\ufe0fим", "Аким"),
        ("1\ufe0f", "1"),  # a digit without the keycap
        ("\ufe0f👍", "👍"),
        ("👍 \ufe0f", "👍"),
        ("a\ufe0e", "a"),
        ("✔\ufe0f", "✔\ufe0f"),  # after an emoji: kept
        ("✔\ufe0e", "✔\ufe0e"),
        ("1\ufe0f\u20e3", "1\ufe0f\u20e3"),  # a keycap: kept
        ("#\ufe0f\u20e3", "#\ufe0f\u20e3"),
        ("a\ufe0f\u200d👩", "a👩"),  # a joiner after a dropped selector goes too
        ("👍\u200b\ufe0f", "👍\ufe0f"),  # once the invisible is gone, it selects the emoji
    ],
)
def test_a_presentation_selector_is_kept_only_where_it_selects(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


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
        assert not set(cleaned) & set(NONCHARACTERS + FILLERS + IGNORABLE)
        for index, char in enumerate(cleaned):
            if char in "\ufe0e\ufe0f":  # a selector never after a letter, digit or space...
                before = cleaned[index - 1] if index else " "
                keycap = before in "#*0123456789" and cleaned[index + 1 : index + 2] == "\u20e3"
                assert keycap or unicodedata.category(before)[0] not in "LMNZ"  # ...but a keycap
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


def test_the_kept_table_of_invisible_code_points_is_this_pythons_unicodedata() -> None:
    """The module keeps the scan's result, not the scan (a fifth of a second in every process):
    the two must agree, or a new Unicode version changed what is invisible."""
    assert text.invisible_ranges() == text.INVISIBLE_RANGES
