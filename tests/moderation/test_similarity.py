"""Near-duplicate questions, topics and districts across Russian, Kazakh and Latin Kazakh."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.similarity import DUPLICATE_THRESHOLD, duplicates, normalise, similarity
from moderation.tagging import Topic, districts_of, suggest_district, suggest_topic
from tests.moderation.duplicate_pairs import PAIRS

# --- the labelled set ---------------------------------------------------------------------


def test_the_labelled_set_is_large_and_balanced() -> None:
    positives = sum(is_duplicate for _, _, is_duplicate in PAIRS)
    assert len(PAIRS) >= 70
    assert positives >= 35
    assert len(PAIRS) - positives >= 35


def test_duplicates_in_the_labelled_set_are_found() -> None:
    positives = [(a, b) for a, b, is_duplicate in PAIRS if is_duplicate]
    missed = [(round(similarity(a, b), 3), a, b) for a, b in positives]
    missed = [pair for pair in missed if pair[0] < DUPLICATE_THRESHOLD]
    recall = 1 - len(missed) / len(positives)
    found = len(positives) - len(missed)
    assert recall >= 0.90, f"recall {recall:.3f} ({found}/{len(positives)}), missed: {missed}"


def test_different_questions_in_the_labelled_set_are_told_apart() -> None:
    negatives = [(a, b) for a, b, is_duplicate in PAIRS if not is_duplicate]
    confused = [(round(similarity(a, b), 3), a, b) for a, b in negatives]
    confused = [pair for pair in confused if pair[0] >= DUPLICATE_THRESHOLD]
    rate = len(confused) / len(negatives)
    counts = f"{len(confused)}/{len(negatives)}"
    assert rate <= 0.05, f"false-positive rate {rate:.3f} ({counts}), confused: {confused}"


# --- duplicates() ---------------------------------------------------------------------------

EARLIER = [
    ("q1", "Когда отремонтируют дорогу на улице Жандосова?"),
    ("q2", "Почему в школе №45 нет отопления?"),
    ("q3", "Дорогу на Жандосова когда будут ремонтировать? Одни ямы"),
    ("q4", "Когда отремонтируют дорогу на улице Сейфуллина?"),
    ("q5", "Кагда отремантируют дорогу на улице Жандосова?"),
    ("q6", "Когда отремонтируют дорогу на улице Жандосова?"),
]


def test_duplicates_come_best_first_and_only_above_the_threshold() -> None:
    found = duplicates("Когда отремонтируют дорогу на Жандосова?", EARLIER, limit=10)
    ids = [item_id for item_id, _ in found]
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    assert all(score >= DUPLICATE_THRESHOLD for score in scores)
    assert ids[:2] == ["q1", "q6"]  # the same text twice: a tie kept in the given order
    assert set(ids) == {"q1", "q3", "q5", "q6"}  # not the school, not Сейфуллина


def test_duplicates_respect_the_limit() -> None:
    question = "Когда отремонтируют дорогу на Жандосова?"
    assert [item_id for item_id, _ in duplicates(question, EARLIER, limit=2)] == ["q1", "q6"]
    assert len(duplicates(question, EARLIER)) == 3
    assert duplicates(question, EARLIER, limit=0) == []


def test_duplicates_score_as_similarity_does() -> None:
    question = "Кoгдa пoчинят дopoгу нa Жaндocoвa?"  # Latin look-alikes
    found = dict(duplicates(question, EARLIER, limit=len(EARLIER)))
    for item_id, text in EARLIER:
        score = similarity(question, text)
        assert found.get(item_id) == (score if score >= DUPLICATE_THRESHOLD else None), text


def test_nothing_earlier_or_nothing_alike_gives_no_duplicates() -> None:
    assert duplicates("Когда отремонтируют дорогу?", []) == []
    assert duplicates("Мектепте орын жетпейді", EARLIER) == []
    assert duplicates("👍👍👍", [("q1", "👍👍👍"), ("q2", "!!!")]) == []


def test_duplicates_against_500_earlier_questions_are_fast() -> None:
    earlier = [(f"q{i}", f"{text} {i}") for i, text in enumerate([t for p in PAIRS for t in p[:2]])]
    earlier = (earlier * 4)[:500]
    duplicates(PAIRS[0][0], earlier)  # earlier questions are profiled once, as they arrive
    timings = []
    for a, _, _ in PAIRS[:5]:
        start = time.perf_counter()
        duplicates(a, earlier)
        timings.append(time.perf_counter() - start)
    # About 3 ms on a laptop; the bound leaves room for coverage tracing and a busy CI box.
    assert min(timings) < 0.05, f"{min(timings) * 1000:.1f} ms"


# --- normalise() ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variants", "skeleton"),
    [
        # integrations.md 6.4 prototype pairs, in this module's Cyrillic skeleton
        (("Қазақстан", "Qazaqstan", "Казакстан", "QAZAQSTAN"), "казакстан"),
        (("Әкім мырза", "Аkим мырза", "Akim myrza", "Äkım myrza"), "аким мырза"),
        (("Біздің", "Бiздiң", "Bızdıñ", "Bizdiñ", "Biz'din'"), "биздин"),
        (("Жаңбыр", "Jañbyr", "Jaŋbyr"), "жанбыр"),
        (("шаһар", "Şahar", "shahar", "шаhар"), "шахар"),
        (("Шымкент", "Shymkent", "Şymkent"), "шымкент"),
        (("Қашан жол жөнделеді?", "Qaşan jol jöndeledı?", "Qashan jol jóndeledi?"), None),
        (("Үйде ыстық су жоқ", "Üide ystyq su joq", "Uide ystyk su jok"), "уиде ыстык су жок"),
        # look-alike Latin letters inside Russian words
        (("Когда почините дорогу", "Кoгдa пoчинитe дopoгу", "КОГДА ПОЧИНИТЕ ДОРОГУ"), None),
        (("Холодной воды нет", "Xoлoднoй вoды нeт"), "холоднои воды нет"),  # й as и
        # ё, й, ъ, ь and punctuation, emoji and spacing
        (("Ещё подъезд", "Еще подъезд", "ещё   подьезд!!!"), "еше подезд"),
        (("Улица Абая, дом 5 🙏", "улица абая — дом 5", "  Улица\tАбая...дом\n5 "), None),
    ],
)
def test_spellings_of_one_text_share_a_skeleton(
    variants: tuple[str, ...], skeleton: str | None
) -> None:
    found = {normalise(variant) for variant in variants}
    assert len(found) == 1, found
    if skeleton is not None:
        assert found == {skeleton}


def test_normalise_keeps_digits_and_drops_punctuation_and_emoji() -> None:
    assert normalise("Автобус №32, 5мкр!!! 😡👍 (срочно)") == "автобус 32 5 мкр срочно"
    assert normalise("🙏🙏🙏 ... !!!") == ""


def test_russian_and_kazakh_stay_apart_where_they_differ() -> None:
    assert normalise("Казахстан") != normalise("Қазақстан")  # 6.4: Russian х stays х


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


# --- properties -----------------------------------------------------------------------------

# Russian, Kazakh and Latin letters, look-alikes, digits, punctuation and an emoji.
LETTERS = (
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
    "әғқңөұүһі"
    "abcdefghijklmnopqrstuvwxyzäöüūğñşıé"
    "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯӘҒҚҢӨҰҮҺІABCEHKMOPTXYİ"
    "0123456789 .,!?-'№😀"
)
QUESTIONS = st.text(alphabet=LETTERS, max_size=80) | st.sampled_from(
    [text for pair in PAIRS for text in pair[:2]]
)


@given(QUESTIONS, QUESTIONS)
def test_similarity_is_symmetric_and_between_zero_and_one(a: str, b: str) -> None:
    score = similarity(a, b)
    assert 0.0 <= score <= 1.0
    assert score == similarity(b, a)


@given(st.text())
def test_similarity_of_any_text_stays_in_range(text: str) -> None:
    assert 0.0 <= similarity(text, "Когда отремонтируют дорогу?") <= 1.0


@given(QUESTIONS)
def test_a_text_is_wholly_similar_to_itself(text: str) -> None:
    assert similarity(text, text) == (1.0 if normalise(text) else 0.0)


@given(QUESTIONS)
def test_normalising_twice_changes_nothing(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)
