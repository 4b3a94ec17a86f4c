"""The bilingual civic glossary: every concept is named in both languages, no beginning is
claimed twice, and a Russian question meets its Kazakh translation on the same concepts."""

from __future__ import annotations

import pytest

from moderation.glossary import CONCEPTS
from moderation.similarity import Lexicon, normalise

GLOSSARY = Lexicon((f"{concept.ru} {concept.kk}", concept.id) for concept in CONCEPTS)


def test_every_concept_has_russian_and_kazakh_words() -> None:
    for concept in CONCEPTS:
        assert concept.ru.split(), concept.id
        assert concept.kk.split(), concept.id


def test_concept_ids_are_unique() -> None:
    ids = [concept.id for concept in CONCEPTS]
    assert len(ids) == len(set(ids))


def test_no_beginning_is_claimed_by_two_concepts() -> None:
    claimed: dict[str, str] = {}
    for concept in CONCEPTS:
        for word in f"{concept.ru} {concept.kk}".split():
            skeleton = normalise(word.rstrip("=")) + ("=" if word.endswith("=") else "")
            assert claimed.setdefault(skeleton, concept.id) == concept.id, word


@pytest.mark.parametrize(
    ("russian", "kazakh", "concept"),
    [
        ("водой", "суға", "water"),
        ("горячей", "ыстық", "hot"),
        ("отопления", "жылыту", "heating"),
        ("газификации", "газдандыру", "gas"),
        ("электричества", "жарық", "light"),
        ("канализации", "кәрізі", "sewerage"),
        ("дорогу", "жолды", "road"),
        ("выбоины", "шұңқырлар", "road"),
        ("тротуара", "тротуар", "pavement"),
        ("пешеходного", "өткел", "crossing"),
        ("светофора", "бағдаршам", "traffic_light"),
        ("мост", "көпірді", "bridge"),
        ("автобуса", "автобус", "bus"),
        ("остановки", "аялдама", "stop"),
        ("интервал", "сирек", "rarely"),
        ("школе", "мектепте", "school"),
        ("садике", "балабақшада", "kindergarten"),
        ("поликлинике", "емханада", "clinic"),
        ("больнице", "ауруханада", "hospital"),
        ("врачей", "дәрігерлер", "doctor"),
        ("квартире", "пәтерде", "flat"),
        ("подъезде", "кіреберісте", "entrance"),
        ("крыша", "шатыр", "roof"),
        ("лифт", "лифт", "lift"),
        ("подвале", "жертөледе", "basement"),
        ("ремонт", "жөндеу", "repair"),
        ("аварийного", "апатты", "emergency"),
        ("дворе", "аулада", "courtyard"),
        ("площадки", "алаңы", "playground"),
        ("парковки", "тұрақ", "parking"),
        ("фонари", "шамдар", "light"),
        ("мусор", "қоқыс", "rubbish"),
        ("вывоз", "шығарылмайды", "collect"),
        ("парке", "саябақта", "park"),
        ("деревья", "ағаштар", "tree"),
        ("земли", "жерді", "land"),
        ("районе", "ауданында", "district"),
        ("микрорайоне", "шағын", "microdistrict"),
        # issue 14, second round: weather, animals, noise, smells, water, transport, health
        ("сугробы", "күртік", "snow"),
        ("гололёд", "көктайғақ", "snow"),
        ("лужи", "шалшық", "flood"),
        ("бродячие", "қаңғыбас", "dog"),
        ("шумно", "шулы", "noise"),
        ("вонь", "сасық", "smell"),
        ("ржавая", "тот", "rust"),
        ("этаже", "қабатта", "floor"),
        ("переполнен", "толы", "crowded"),
        ("опаздывает", "кешігеді", "schedule"),
        ("педиатра", "педиатрға", "paediatrician"),
        ("стоматолог", "тіс", "dentist"),
        ("многодетным", "көпбалалы", "large_family"),
        ("пенсию", "зейнетақы", "pension"),
        ("пособие", "жәрдемақы", "benefit"),
        ("ЦОН", "ХҚКО", "service_centre"),
        ("тараканы", "тарақандар", "pests"),
        ("ветер", "жел", "wind"),
        ("стенах", "қабырғалары", "wall"),
    ],
)
def test_a_russian_word_and_its_kazakh_translation_share_a_concept(
    russian: str, kazakh: str, concept: str
) -> None:
    assert GLOSSARY.get(normalise(russian)) == concept
    assert GLOSSARY.get(normalise(kazakh)) == concept


@pytest.mark.parametrize(
    ("words", "concept"),
    [
        (("ямы", "выбоины", "асфальт"), "road"),
        (("садик", "детсад", "сад"), "kindergarten"),
        (("нет", "отключили", "пропала", "сломан", "работает"), "none"),
        (("дадут", "проведут", "ходит"), "come"),
        (("отремонтируют", "починят", "замените"), "repair"),
        (("нет", "слабый", "стоит", "засор", "прорыв", "гаснут"), "none"),
        (("уберут", "чистят", "вывоз"), "collect"),
        (("дорого", "подорожал", "дороже"), "raise"),
    ],
)
def test_synonyms_in_one_language_share_a_concept(words: tuple[str, ...], concept: str) -> None:
    assert {GLOSSARY.get(normalise(word)) for word in words} == {concept}


def test_words_that_only_begin_like_a_concept_claim_nothing() -> None:
    assert GLOSSARY.get(normalise("жолдас")) == ""  # comrade, not a road
    assert GLOSSARY.get(normalise("дороже")) == "raise"  # dearer, not a road
    assert GLOSSARY.get(normalise("водка")) == ""
