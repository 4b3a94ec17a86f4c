"""Suggested tags for a resident's question: its topic from Russian, Kazakh and English keywords,
and the district of the meeting's territory it names (moderators confirm or change both).

Words are compared through `moderation.similarity.normalise`, so Kazakh Latin, Cyrillic and
look-alike letters all match the same keyword.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

from moderation.similarity import Lexicon, normalise, word_set

# --- topics -------------------------------------------------------------------------------


class Topic(enum.StrEnum):
    """What a question is about, as suggested to moderators from its words."""

    ROADS = "roads"
    WATER = "water"  # water supply and sewerage
    HEATING = "heating"
    LANDSCAPING = "landscaping"  # courtyards, parks, street lights, rubbish
    TRANSPORT = "transport"  # public transport
    HOUSING = "housing"  # housing and utilities (ЖКХ / ТКШ)
    EDUCATION = "education"
    HEALTH = "health"
    LAND = "land"
    SAFETY = "safety"
    OTHER = "other"


# English words, whole (issue 14): normalised like the rest, so to Cyrillic letters; a whole
# word cannot take a Russian or Kazakh word for its beginning.
_ENGLISH = (
    (
        "road= roads= pothole= potholes= asphalt= pavement= sidewalk= crossing= crosswalk="
        " bridge= traffic= junction=",
        Topic.ROADS,
    ),
    ("water= sewage= sewer= sewerage= drinking= tap= pipe= pipes=", Topic.WATER),
    ("heating= heat= radiator= radiators= boiler= gas=", Topic.HEATING),
    (
        "park= parks= courtyard= yard= playground= tree= trees= streetlight= streetlights="
        " lights= lighting= lamps= rubbish= garbage= trash= bins= litter= snow= bench= benches=",
        Topic.LANDSCAPING,
    ),
    (
        "bus= buses= route= routes= stop= stops= transport= driver= drivers= minibus=",
        Topic.TRANSPORT,
    ),
    (
        "flat= flats= apartment= apartments= roof= lift= elevator= entrance= basement= tariff="
        " tariffs= bills= electricity= power= housing=",
        Topic.HOUSING,
    ),
    (
        "school= schools= teacher= teachers= pupils= students= kindergarten= kindergartens="
        " class= classes= lessons=",
        Topic.EDUCATION,
    ),
    (
        "clinic= clinics= polyclinic= hospital= hospitals= doctor= doctors= ambulance="
        " medicine= medicines= pharmacy= nurse= health=",
        Topic.HEALTH,
    ),
    ("land= plot= plots= cadastre=", Topic.LAND),
    ("police= safety= dog= dogs= crime= theft= fire= cameras= fights=", Topic.SAFETY),
)

# Word beginnings in Russian and Kazakh (Latin Kazakh is normalised to the same).
_TOPICS = Lexicon(
    (
        (
            "дорог асфальт ям= ямы= яма= ямами= ямах= выбоин колдобин тротуар бордюр обочин"
            " мост развязк шоссе трасс проезжая= светофор пешеходн разметк гололед"
            " жол= жолы= жолды= жолға= жолдың= жолын= жолда= жолдар шұңқыр көпір бағдаршам"
            " өткел",
            Topic.ROADS,
        ),
        (
            "вод водоснабж водопровод канализ напор скважин колонк арык питьев"
            " су= суы= суды= суға= сумен= судың= сусыз= суымен= ауызсу кәріз",
            Topic.WATER,
        ),
        (
            "отоплен отапл тепл батаре радиатор котельн котел котл газ газифик тэц"
            " жылу жылыт қазандық пеш көмір отын суық=",
            Topic.HEATING,
        ),
        (
            "благоустр двор площадк сквер парк озелен дерев клумб скамейк лавочк освещ фонар"
            " мусор уборк газон снег субботник контейнер урн"
            " аула абаттандыр көгалд ағаш саябақ алаң шам= шамы= шамдар жарықтандыр қоқыс"
            " орындық гүл",
            Topic.LANDSCAPING,
        ),
        (
            "автобус маршрут остановк проезд транспорт такси метро троллейбус трамва водител"
            " кондуктор валидатор онай= интервал парковк бағыт аялдама көлік жүргізуші",
            Topic.TRANSPORT,
        ),
        (
            "жкх кск оси= осмд лифт крыш кровл подъезд подвал квартир жиль жилищ аварийн"
            " капремонт коммунал тариф квитанц счет= счета= счетчик свет= света= светом= электр"
            " домофон тұрғын баспана пәтер шатыр кіреберіс төлем жарық= жарығы= жарықсыз=",
            Topic.HOUSING,
        ),
        (
            "школ учител ученик образован колледж университет урок гимнази лицей ент= детсад"
            " сад= саду= сада= садик класс= класса= классе= кружк"
            " мектеп мұғалім оқушы оқу= оқыту білім ұстаз балабақша сынып",
            Topic.EDUCATION,
        ),
        (
            "поликлиник больниц врач медиц скорая= скорой= скорую= лекарств аптек амбулатор"
            " фап= осмс страховк терапевт педиатр стоматолог госпитал медпункт прививк"
            " емхана аурухана дәрігер дәрі= дәрілер дәріхана жәрдем денсаулық науқас",
            Topic.HEALTH,
        ),
        (
            "земел земл участк участок= ижс кадастр межеван гектар пастбищ сотк огород"
            " жер= жерді= жерге= жерін= телім жайылым егістік",
            Topic.LAND,
        ),
        (
            "полиц безопасн хулиган краж вор= воры= воров= преступ видеокамер камер наркот"
            " участков драк бродяч собак пожар патрул грабеж гонк"
            " қауіпсіз ұры ұрлық бұзақы есірткі ит= иттер өрт төбелес",
            Topic.SAFETY,
        ),
        ("деревн водк газет шамамен жолдас дорого= дорогие= дорогая= дороже=", ""),
        *_ENGLISH,
    )
)


def suggest_topic(text: str) -> Topic:
    """The topic most of a question's keywords point to (the first named on a tie), or OTHER;
    in Russian, Kazakh or English."""
    counts: dict[str, int] = {}
    for word in normalise(text).split():
        if topic := _TOPICS.get(word):
            counts[topic] = counts.get(topic, 0) + 1
    if not counts:
        return Topic.OTHER
    # dicts keep insertion order and max() keeps the first of equals: the first topic named.
    return Topic(max(counts, key=lambda topic: counts[topic]))


# --- districts ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _District:
    name: str
    adjectives: str  # beginnings of the Russian adjective: a district on its own (Ауэзовском)
    names: str  # the name's spellings: a district only beside "район"/"ауданы"/"district"


_DISTRICTS = {
    "алматы": (
        _District("Алатау", "алатауск", "алатау"),
        _District("Алмалы", "алмалинск", "алмалы"),
        _District("Ауэзов", "ауэзовск", "ауэзов"),
        _District("Бостандык", "бостандыкск", "бостандык"),
        _District("Жетысу", "жетысуск жетісуск", "жетысу жетісу"),
        _District("Медеу", "медеуск", "медеу"),
        _District("Наурызбай", "наурызбайск наурызбаевск", "наурызбай nauryzbay"),
        _District("Турксиб", "турксибск", "турксиб"),
    ),
    "астана": (
        # "Алматинский" is also the Almaty region's adjective: here it needs "район".
        _District("Алматы", "", "алматы алматинский алматинском алматинского"),
        _District("Байконыр", "байконырск байконурск", "байқоңыр байконур"),
        _District("Есиль", "есильск", "есиль"),
        _District("Сарыарка", "сарыаркинск", "сарыарка"),
        _District("Нура", "нуринск", "нура"),
    ),
    "шымкент": (
        _District("Абай", "абайск", "абай"),
        _District("Аль-Фараби", "фарабийск", "аль-фараби фараби"),
        _District("Енбекши", "енбекшинск", "еңбекші"),
        _District("Каратау", "каратауск", "каратау"),
        _District("Туран", "туранск", "туран"),
    ),
}
_CITIES = {
    normalise(spelling).replace(" ", ""): city
    for spellings, city in (
        ("алматы алма-ата", "алматы"),
        ("астана нур-султан целиноград", "астана"),
        ("шымкент чимкент", "шымкент"),
    )
    for spelling in spellings.split()
}
_CITY_WORDS = word_set("г гор город города қаласы қала city of the")
_MARKER = "(?:" + "|".join(normalise(w) + r"\w*" for w in ("район", "аудан", "district")) + "|р н)"


def _city(territory: str) -> str | None:
    words = [word for word in normalise(territory).split() if word not in _CITY_WORDS]
    return _CITIES.get("".join(words))


def districts_of(territory: str) -> tuple[str, ...]:
    """The districts of a city named in any script or language ("г. Алматы", "Almaty"), or ().

    Districts are named in Russian without "район": Алатау for Алатауский район, Есиль for
    район Есиль, Аль-Фараби for Аль-Фарабийский район.
    """
    city = _city(territory)
    return tuple(district.name for district in _DISTRICTS[city]) if city else ()


@functools.cache
def _mention(district: _District) -> re.Pattern[str]:
    names = "|".join(normalise(name) for name in district.names.split())
    alone = [rf"\b{normalise(adjective)}\w*" for adjective in district.adjectives.split()]
    beside = [rf"\b(?:{names})\s{_MARKER}", rf"\b{_MARKER}\s(?:{names})\b"]
    return re.compile("|".join(alone + beside))


def suggest_district(text: str, territory: str) -> str | None:
    """The territory's district a question names first (as `districts_of` names it), or None."""
    city = _city(territory)
    if city is None:
        return None
    normalised = normalise(text)
    found = [
        (match.start(), district.name)
        for district in _DISTRICTS[city]
        if (match := _mention(district).search(normalised))
    ]
    return min(found)[1] if found else None


# Comments that read as questions to the akim (issue 11): marked for the moderators, who may
# promote them (R4: the meeting is questions). A question mark, or a question word or particle
# of Kazakh or Russian, in a comment of at least three words.
_QUESTION_WORDS = frozenset(
    {
        # Kazakh
        "қашан", "неге", "неліктен", "қайда", "қалай", "қанша", "қандай", "кім", "не", "ма",
        "ме", "ба", "бе", "па", "пе", "мүмкін", "бола",
        # Russian
        "когда", "почему", "зачем", "где", "как", "сколько", "кто", "что", "ли", "куда",
        "какой", "какая", "какие", "доколе", "будет", "будут", "можно",
    }
)  # fmt: skip
_WORDS = re.compile(r"[^\W\d_]+")


def asks_the_akim(text: str) -> bool:
    """Whether a comment reads as a question (to the akim, whose meeting it is)."""
    words = [w.lower() for w in _WORDS.findall(text)]
    if len(words) < 3:
        return False
    return "?" in text or any(word in _QUESTION_WORDS for word in words)
