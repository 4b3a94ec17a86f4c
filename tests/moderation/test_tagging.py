"""Suggested tags of a question: its topic from Russian and Kazakh keywords, and the district of
the meeting's territory it names (R1: every district of a city is visited), in any script."""

from __future__ import annotations

import pytest

from moderation.tagging import (
    Topic,
    asks_the_akim,
    districts_of,
    suggest_district,
    suggest_topic,
)

# --- suggest_topic() ------------------------------------------------------------------------

TOPIC_EXAMPLES = {
    Topic.ROADS: [
        "Когда отремонтируют дорогу на Абая?",
        "На улице Саина огромные ямы, машины ломаются",
        "Почему тротуары не посыпают от гололёда?",
        "Абай көшесіндегі жол қашан жөнделеді?",
        "Көпірдің жанында шұңқыр көп",
        "Qashan jol jóndeledi?",
    ],
    Topic.WATER: [
        "Третий день нет холодной воды в доме",
        "Когда проведут водопровод в посёлок?",
        "Канализация во дворе переполнена",
        "Ауылда ауыз су жоқ",
        "Кәріз құбыры жарылды",
        "Bızdıñ üide ystyq su joq",
    ],
    Topic.HEATING: [
        "В квартире холодно, батареи еле тёплые",
        "Когда дадут отопление?",
        "Когда проведут газ в посёлок Кемертоган?",
        "Жылу қашан беріледі?",
        "Қазандық жұмыс істемейді, үйде суық",
        "Jylu qashan beriledi? Uide suyk",
    ],
    Topic.LANDSCAPING: [
        "Во дворе нет детской площадки",
        "Когда установят фонари в сквере?",
        "Мусор не вывозят уже неделю",
        "Аулада ойын алаңы жоқ",
        "Саябақтағы ағаштарды кесіп жатыр",
        "Қоқыс үш күннен бері шығарылмады",
    ],
    Topic.TRANSPORT: [
        "Автобус 32 ходит раз в час",
        "Почему убрали остановку на Абая?",
        "Маршрутки переполнены, нужен новый маршрут",
        "45 автобус неге сирек жүреді?",
        "Аялдама қашан салынады?",
        "Жаңа бағыт ашу керек, автобустар толы",
    ],
    Topic.HOUSING: [
        "Лифт в подъезде не работает месяц",
        "Почему выросли тарифы на коммунальные услуги?",
        "Крыша течёт, когда капремонт?",
        "Пәтерге коммуналдық төлемдер қымбат",
        "Үйдің шатыры ағып тұр",
        "Тұрғын үй кезегі жылжымайды",
    ],
    Topic.EDUCATION: [
        "Дети учатся в три смены, нужна новая школа",
        "Не хватает мест в детском саду",
        "В колледже нет учителей физики",
        "Мектепте орын жетпейді",
        "Балабақшаға кезек қашан келеді?",
        "Мұғалімдер жетіспейді",
    ],
    Topic.HEALTH: [
        "В поликлинике невозможно записаться к врачу",
        "Скорая едет по два часа",
        "В аптеках нет лекарств",
        "Емханада дәрігер жетіспейді",
        "Ауруханада орын жоқ",
        "Жедел жәрдем кешігіп келеді",
    ],
    Topic.LAND: [
        "Как получить земельный участок под ИЖС?",
        "Жду акт на землю три года",
        "Пастбища раздали частникам",
        "Жер телімін қалай алуға болады?",
        "Жайылым жоқ, мал бағатын жер жоқ",
        "Jer telimi qashan beriledi?",
    ],
    Topic.SAFETY: [
        "Бродячие собаки нападают на детей",
        "Ночью на Райымбека гонки, где полиция?",
        "Нужны камеры видеонаблюдения, участились кражи",
        "Көшеде қаңғыбас иттер көп",
        "Полиция түнде патрульдеу жасамайды",
        "Есірткі сататындар бар, қауіпсіздік жоқ",
    ],
    Topic.OTHER: [
        "Спасибо за прямой эфир!",
        "Рахмет, әкім мырза!",
        "Hello from Astana",
        "Когда будет следующая встреча?",
        "",
    ],
}


@pytest.mark.parametrize(
    ("topic", "text"),
    [(topic, text) for topic, texts in TOPIC_EXAMPLES.items() for text in texts],
)
def test_topic_is_suggested_from_russian_and_kazakh_keywords(topic: Topic, text: str) -> None:
    assert suggest_topic(text) == topic


def test_every_topic_has_three_russian_and_three_kazakh_examples() -> None:
    assert set(TOPIC_EXAMPLES) == set(Topic)
    for topic in set(Topic) - {Topic.OTHER}:
        assert len(TOPIC_EXAMPLES[topic]) >= 6, topic


ENGLISH_EXAMPLES = {
    Topic.ROADS: "When will the potholes on Abay street be fixed?",
    Topic.WATER: "There is no drinking water in our village",
    Topic.HEATING: "The radiators are cold, when will the heating come on?",
    Topic.LANDSCAPING: "The rubbish bins in our courtyard are never emptied",
    Topic.TRANSPORT: "Bus 32 comes once an hour, please add buses to the route",
    Topic.HOUSING: "The lift in our block of flats has been broken for a month",
    Topic.EDUCATION: "Our school has no teachers of physics",
    Topic.HEALTH: "You cannot get an appointment with a doctor at the clinic",
    Topic.LAND: "When will I get the land plot I applied for?",
    Topic.SAFETY: "Stray dogs attack children, where are the police?",
}


@pytest.mark.parametrize(("topic", "text"), ENGLISH_EXAMPLES.items())
def test_topic_is_suggested_from_english_keywords(topic: Topic, text: str) -> None:
    """Issue 14: an English question gets the topic its Russian and Kazakh versions get."""
    assert suggest_topic(text) == topic


def test_a_question_in_three_languages_gets_one_topic() -> None:
    versions = (
        "В поликлинике номер 5 не хватает врачей",
        "5-ші емханада дәрігерлер жетіспейді",
        "Clinic number 5 does not have enough doctors",
    )
    assert {suggest_topic(text) for text in versions} == {Topic.HEALTH}


def test_a_longer_word_wins_over_its_beginning() -> None:
    assert suggest_topic("Водитель автобуса грубит") == Topic.TRANSPORT  # not вод-, water
    assert suggest_topic("Участковый не приходит") == Topic.SAFETY  # not участок, land
    assert suggest_topic("В деревне все хорошо") == Topic.OTHER  # not дерево, landscaping


# --- districts ----------------------------------------------------------------------------

ALMATY = ("Алатау", "Алмалы", "Ауэзов", "Бостандык", "Жетысу", "Медеу", "Наурызбай", "Турксиб")


@pytest.mark.parametrize(
    "territory",
    ["Алматы", "Almaty", "г. Алматы", "Алматы қаласы", "город Алматы", "ALMATY city", "Алма-Ата"],
)
def test_almaty_has_eight_districts_however_it_is_spelled(territory: str) -> None:
    assert districts_of(territory) == ALMATY


def test_astana_and_shymkent_districts() -> None:
    astana = ("Алматы", "Байконыр", "Есиль", "Сарыарка", "Нура")
    assert districts_of("Астана") == districts_of("Astana") == districts_of("Нур-Султан") == astana
    shymkent = ("Абай", "Аль-Фараби", "Енбекши", "Каратау", "Туран")
    assert districts_of("Шымкент қаласы") == districts_of("Shymkent") == shymkent


@pytest.mark.parametrize(
    "territory", ["Караганда", "Алматинская область", "Алматы облысы", "", "Almaty region"]
)
def test_an_unknown_territory_has_no_districts(territory: str) -> None:
    assert districts_of(territory) == ()
    assert suggest_district("Нет воды в Ауэзовском районе", territory) is None


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("Когда дадут воду в Ауэзовском районе?", "Ауэзов"),
        ("В Бостандыкском районе нет света", "Бостандык"),
        ("Турксибский район, улица Бекмаханова, ямы", "Турксиб"),
        ("Живу в районе Медеу, нет автобусов", "Медеу"),
        ("Әуезов ауданында су жоқ", "Ауэзов"),
        ("Жетісу ауданының мектептері", "Жетысу"),
        ("Наурызбай ауданы, жол жоқ", "Наурызбай"),
        ("Bostandyq audany, jol qashan jóndeledi?", "Бостандык"),
        ("Äuezov audanynda su joq", "Ауэзов"),
        ("Nauryzbay district needs a clinic", "Наурызбай"),
        ("Aлмaлинский paйoн", "Алмалы"),  # Latin look-alikes
        ("В Алмалинском районе лучше, чем в Медеуском", "Алмалы"),  # the first named
    ],
)
def test_a_district_of_almaty_is_found_in_any_script_and_case(text: str, district: str) -> None:
    assert district in ALMATY
    assert suggest_district(text, "Алматы") == district


@pytest.mark.parametrize(
    "text",
    [
        "Когда отремонтируют дорогу на улице Ауэзова?",  # the street, not the district
        "Пробки в районе Ауэзова и Абая",  # "near", not a district
        "Есиль ауданында жол жоқ",  # a district of Astana
        "Просто вопрос без района",
    ],
)
def test_no_district_of_almaty_is_named(text: str) -> None:
    assert suggest_district(text, "Almaty") is None


def test_districts_of_astana_and_shymkent_are_found() -> None:
    assert suggest_district("Есіл ауданында жол жоқ", "Астана") == "Есиль"
    assert suggest_district("в районе Байконур", "Astana") == "Байконыр"
    assert suggest_district("Переехал из Алматинской области", "Астана") is None
    assert suggest_district("Әл-Фараби ауданы", "Шымкент") == "Аль-Фараби"
    assert suggest_district("Енбекшинский район, нет воды", "Shymkent") == "Енбекши"


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("Когда починят дорогу на Абая?", True),  # a question mark
        ("Жол қашан жөнделеді", True),  # a Kazakh question word, no mark
        ("Аким, будет ли ремонт дороги", True),  # a Russian particle
        ("Спасибо аким за встречу", False),
        ("Су?", False),  # too short to be a question to the akim
        ("Сәлем бәріне!", False),
        ("Привет всем из Алматы 👋", False),
    ],
)
def test_comments_that_read_as_questions_to_the_akim_are_marked(text: str, asks: bool) -> None:
    """Issue 11: YouTube's chat is comments; those that read as questions are marked for the
    moderators to promote (R4)."""
    assert asks_the_akim(text) is asks
