"""The interface's words: every message in Kazakh, Russian and English, the .pot in step with the
code and templates, placeholders kept, and counts in the right plural form."""

from __future__ import annotations

import os
import re
import shutil
import string
from pathlib import Path
from typing import TypeAlias

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from moderation.model import LANGUAGES
from server.web.i18n import (
    CONSOLE_KEYS,
    EXTRACT_KEYWORDS,
    JS_KEYS,
    KEYS,
    LOCALE_DIR,
    console_strings,
    js_strings,
    load_catalog,
    translator,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = LOCALE_DIR / "halyq.pot"
PLURAL_FORMS = {
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4"
    " && (n%100<10 || n%100>=20) ? 1 : 2);",
    "kk": "nplurals=2; plural=(n != 1);",
    "en": "nplurals=2; plural=(n != 1);",
}
# The plural messages scripts get, as forms by CLDR category.
SCRIPT_PLURALS = sorted(k for k in {*JS_KEYS, *CONSOLE_KEYS} if KEYS[k].plural)

Ident: TypeAlias = tuple[str | None, str | tuple[str, ...]]


def read(path: Path, lang: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=lang, domain="halyq")


def po(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "halyq.po"


def idents(catalog: Catalog) -> set[Ident]:
    return {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)) for m in catalog if m.id}


def forms(message: Message) -> list[str]:
    """The msgstr, or every msgstr[i] of a plural message; a missing one is ""."""
    if isinstance(message.string, (list, tuple)):
        return [text or "" for text in message.string]
    return [message.string or ""]


def placeholders(text: str) -> set[str]:
    braces = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    return braces | set(re.findall(r"%\((\w+)\)[sdifr]", text))


def test_the_template_is_up_to_date_with_the_sources(tmp_path: Path) -> None:
    # As `pybabel extract -F babel.cfg -k NP_:1c,2 -k NN_:1,2 .` does (see the README).
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)  # type: ignore[no-untyped-call]
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(list(EXTRACT_KEYWORDS))}
    fresh = Catalog(domain="halyq")
    for filename, lineno, msgid, _, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        fresh.add(msgid, None, [(filename, lineno)], context=context)
    with (tmp_path / "fresh.pot").open("wb") as file:
        write_po(file, fresh)
    extracted = idents(read(tmp_path / "fresh.pot"))
    committed = idents(read(TEMPLATE))
    assert extracted - committed == set(), "new messages: run pybabel extract (README)"
    assert committed - extracted == set(), "messages gone from the code: run pybabel extract"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str) -> None:
    catalog = read(po(lang), lang)
    assert idents(catalog) == idents(read(TEMPLATE)), "run pybabel update (README)"
    assert not catalog.fuzzy
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{lang}: fuzzy {message.id!r}"
        translated = forms(message)
        expected = catalog.num_plurals if message.pluralizable else 1
        assert len(translated) == expected, f"{lang}: {message.id!r}"
        assert all(translated), f"{lang}: {message.id!r} lacks a translation"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogs_declare_their_plural_forms(lang: str) -> None:
    assert read(po(lang), lang).plural_forms == PLURAL_FORMS[lang]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang: str) -> None:
    for message in read(po(lang), lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        expected = set().union(*(placeholders(i) for i in ids))
        for form in forms(message):
            assert placeholders(form) == expected, f"{lang}: {form!r} for {message.id!r}"


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("ru", 1, "1 голос"), ("ru", 2, "2 голоса"), ("ru", 5, "5 голосов"),
        ("ru", 21, "21 голос"), ("ru", 11, "11 голосов"), ("ru", 12, "12 голосов"),
        ("ru", 22, "22 голоса"), ("ru", 4, "4 голоса"), ("ru", 0, "0 голосов"),
        ("ru", 111, "111 голосов"),
        ("kk", 1, "1 дауыс"), ("kk", 5, "5 дауыс"), ("kk", 21, "21 дауыс"),
        ("en", 1, "1 vote"), ("en", 0, "0 votes"), ("en", 21, "21 votes"),
    ],
)  # fmt: skip
def test_vote_counts_take_the_right_plural_form(lang: str, n: int, expected: str) -> None:
    assert translator(lang)("votes", n=n) == expected


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("ru", 1, "остался 1 символ"), ("ru", 3, "осталось 3 символа"),
        ("ru", 99, "осталось 99 символов"), ("ru", 41, "остался 41 символ"),
        ("kk", 1, "1 таңба қалды"), ("kk", 99, "99 таңба қалды"),
    ],
)  # fmt: skip
def test_characters_left_take_the_right_plural_form(lang: str, n: int, expected: str) -> None:
    assert translator(lang)("chars_left", n=n) == expected


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", SCRIPT_PLURALS)
def test_scripts_pick_the_form_the_catalog_would(lang: str, key: str) -> None:
    # Scripts choose by `Intl.PluralRules(lang).select(n)`, the CLDR rule; the catalog by its
    # Plural-Forms. They must agree for every count.
    rule = Locale.parse(lang).plural_form
    sent = {**js_strings(lang), **console_strings(lang)}[key]
    assert isinstance(sent, dict)
    for n in range(1000):
        assert sent[rule(n)].format(n=n) == translator(lang)(key, n=n), (key, n)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_scripts_get_every_word_they_name(lang: str) -> None:
    viewer, console = js_strings(lang), console_strings(lang)
    assert set(JS_KEYS) <= set(viewer)
    assert set(CONSOLE_KEYS) <= set(console)
    assert isinstance(viewer["chars_left"], dict)
    assert isinstance(console["votes"], dict)
    assert viewer["guest"] == translator(lang)("guest")


def test_templates_name_only_known_keys() -> None:
    for template in (ROOT / "frontend" / "templates").glob("*.html"):
        source = template.read_text()
        for key in re.findall(r"\bt\('([a-z_]+)'\)", source):
            assert key in KEYS, f"{template.name}: t('{key}')"
        for prefix in re.findall(r"\bt\('([a-z_]+_)' ~", source):
            assert any(k.startswith(prefix) for k in KEYS), f"{template.name}: {prefix}"


def test_a_missing_or_stale_mo_is_compiled_in_memory(tmp_path: Path) -> None:
    folder = tmp_path / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    shutil.copy(po("ru"), folder / "halyq.po")
    assert load_catalog("ru", tmp_path).ngettext("{n} vote", "{n} votes", 5) == "{n} голосов"

    stale = read(po("ru"), "ru")
    stale["Send"].string = "Старое слово"
    with (folder / "halyq.mo").open("wb") as file:
        write_mo(file, stale)
    os.utime(folder / "halyq.mo", (1, 1))  # older than the .po: not used
    assert load_catalog("ru", tmp_path).gettext("Send") == "Отправить"

    os.utime(folder / "halyq.mo")  # newer: used as compiled
    assert load_catalog("ru", tmp_path).gettext("Send") == "Старое слово"
