"""A meeting's territory in the reader's language: the cities of republican significance and
their districts (the ones `moderation.tagging` knows), in Kazakh, Russian and English.

A territory is free text ("Алматы, Алмалы ауданы", "г. Алматы"): each comma-separated part that
names a known city or district, in any of the three languages, is shown in the page's language;
a part not known stays as it was written.
"""

from __future__ import annotations

import re

# The city (kk, ru, en), then its districts (kk, ru, en, and the name `moderation.tagging`'s
# `districts_of` gives it: the value of the viewer's district choice).
_CITIES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (
        ("Алматы", "Алматы", "Almaty"),
        ("Алатау ауданы", "Алатауский район", "Alatau district", "Алатау"),
        ("Алмалы ауданы", "Алмалинский район", "Almaly district", "Алмалы"),
        ("Әуезов ауданы", "Ауэзовский район", "Auezov district", "Ауэзов"),
        ("Бостандық ауданы", "Бостандыкский район", "Bostandyk district", "Бостандык"),
        ("Жетісу ауданы", "Жетысуский район", "Zhetysu district", "Жетысу"),
        ("Медеу ауданы", "Медеуский район", "Medeu district", "Медеу"),
        ("Наурызбай ауданы", "Наурызбайский район", "Nauryzbay district", "Наурызбай"),
        ("Түрксіб ауданы", "Турксибский район", "Turksib district", "Турксиб"),
    ),
    (
        ("Астана", "Астана", "Astana"),
        ("Алматы ауданы", "Алматинский район", "Almaty district", "Алматы"),
        ("Байқоңыр ауданы", "район Байконыр", "Baikonyr district", "Байконыр"),
        ("Есіл ауданы", "район Есиль", "Yesil district", "Есиль"),
        ("Сарыарқа ауданы", "район Сарыарка", "Saryarka district", "Сарыарка"),
        ("Нұра ауданы", "район Нура", "Nura district", "Нура"),
    ),
    (
        ("Шымкент", "Шымкент", "Shymkent"),
        ("Абай ауданы", "Абайский район", "Abay district", "Абай"),
        ("Әл-Фараби ауданы", "Аль-Фарабийский район", "Al-Farabi district", "Аль-Фараби"),
        ("Еңбекші ауданы", "Енбекшинский район", "Enbekshi district", "Енбекши"),
        ("Қаратау ауданы", "Каратауский район", "Karatau district", "Каратау"),
        ("Тұран ауданы", "Туранский район", "Turan district", "Туран"),
    ),
)
_LANGS = ("kk", "ru", "en")
# How a city is also written: "г. Алматы", "город Алматы", "Алматы қаласы", "Almaty city".
_CITY_FORMS = ("г. {}", "г.{}", "город {}", "{} қаласы", "{} city", "city of {}")


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().casefold())


def _spellings() -> dict[str, tuple[str, ...]]:
    known: dict[str, tuple[str, ...]] = {}
    for city, *districts in _CITIES:
        for names in districts:
            kk, ru, en, _ = names
            # "Есиль району", "район Есиль" and "Есильский район" are all heard; the table's
            # forms and their reversed word orders are recognised.
            for spelling in (kk, ru, en, " ".join(reversed(ru.split(" ", 1)))):
                known[_key(spelling)] = names
        for name in city:
            known[_key(name)] = city
            for form in _CITY_FORMS:
                known[_key(form.format(name))] = city
    return known


_KNOWN = _spellings()


def territory_in(territory: str, lang: str) -> str:
    """`territory` with each part the table knows in `lang` (kk, ru or en; else as written)."""
    if lang not in _LANGS:
        return territory
    index = _LANGS.index(lang)
    parts = [part.strip() for part in territory.split(",")]
    return ", ".join(_KNOWN[_key(part)][index] if _key(part) in _KNOWN else part for part in parts)


def _districts() -> dict[tuple[str, str], tuple[str, ...]]:
    return {(city[0], names[3]): names for city, *districts in _CITIES for names in districts}


_DISTRICTS = _districts()


def district_in(territory: str, district: str, lang: str) -> str:
    """A district of the territory's city, as `districts_of` names it ("Алмалы"), by its name in
    `lang` ("Almaly district"); as given when the table does not know it."""
    cities = [_KNOWN[_key(part)] for part in territory.split(",") if _key(part) in _KNOWN]
    names = next(
        (_DISTRICTS[c[0], district] for c in cities if (c[0], district) in _DISTRICTS), None
    )
    return names[_LANGS.index(lang)] if names and lang in _LANGS else district
