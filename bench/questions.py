"""A seeded generator of residents' questions for the duplicate-suggestion benchmark: Russian,
Kazakh Cyrillic and Kazakh Latin (2021 alphabet), with streets, microdistricts, house and bus
numbers, typos, paraphrases and a share of questions that ask an earlier one again.

`questions(seed)` yields an endless stream; the same seed gives the same stream on any machine
(`random.Random` with an integer seed, no hash-ordered iteration).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

# --- places and numbers -------------------------------------------------------------------

# A street as Russian says it after "улица"/"на"/"по" (genitive) and as Kazakh says it before
# "көшесі" (nominative).
STREETS = [
    ("Абая", "Абай"), ("Жандосова", "Жандосов"), ("Сейфуллина", "Сейфуллин"),
    ("Толе би", "Төле би"), ("Райымбека", "Райымбек"), ("Саина", "Сайын"),
    ("Момышулы", "Момышұлы"), ("Рыскулова", "Рысқұлов"), ("Гагарина", "Гагарин"),
    ("Достык", "Достық"), ("Байтурсынова", "Байтұрсынов"), ("Шевченко", "Шевченко"),
    ("Тимирязева", "Тимирязев"), ("Жибек Жолы", "Жібек жолы"), ("Аль-Фараби", "Әл-Фараби"),
    ("Розыбакиева", "Розыбакиев"), ("Утеген батыра", "Өтеген батыр"),
    ("Бокейханова", "Бөкейханов"), ("Кабанбай батыра", "Қабанбай батыр"),
    ("Курмангазы", "Құрманғазы"), ("Манаса", "Манас"), ("Навои", "Науаи"),
    ("Сатпаева", "Сәтбаев"), ("Жарокова", "Жароков"), ("Ауэзова", "Әуезов"),
    ("Муканова", "Мұқанов"), ("Пушкина", "Пушкин"), ("Желтоксан", "Желтоқсан"),
    ("Кунаева", "Қонаев"), ("Маметовой", "Мәметова"), ("Суюнбая", "Сүйінбай"),
    ("Туркебаева", "Түркебаев"), ("Жансугурова", "Жансүгіров"), ("Шолохова", "Шолохов"),
    ("Бекмаханова", "Бекмаханов"), ("Майлина", "Майлин"), ("Богенбай батыра", "Бөгенбай батыр"),
    ("Назарбаева", "Назарбаев"), ("Есенова", "Есенов"), ("Серикова", "Сериков"),
    ("Ахметова", "Ахметов"), ("Казыбек би", "Қазыбек би"), ("Байзакова", "Байзақов"),
    ("Мынбаева", "Мыңбаев"), ("Чайковского", "Чайковский"), ("Жумабаева", "Жұмабаев"),
]  # fmt: skip
MICRODISTRICTS = [
    ("Аксай-4", "Ақсай-4"), ("Самал-2", "Самал-2"), ("Орбита-3", "Орбита-3"),
    ("Мамыр-4", "Мамыр-4"), ("Жетысу-2", "Жетісу-2"), ("Шанырак-2", "Шаңырақ-2"),
    ("Алгабас", "Алғабас"), ("Калкаман", "Қалқаман"), ("Тастак-1", "Тастақ-1"),
    ("Кокжиек", "Көкжиек"), ("Айнабулак", "Айнабұлақ"), ("Таугуль", "Таугүл"),
    ("Коктем-2", "Көктем-2"), ("Нуркент", "Нұркент"), ("Зердели", "Зерделі"),
    ("Акбулак", "Ақбұлақ"), ("Аксай-1", "Ақсай-1"), ("Орбита-1", "Орбита-1"),
    ("Мамыр-1", "Мамыр-1"), ("Жулдыз", "Жұлдыз"), ("Дорожник", "Дорожник"),
]  # fmt: skip
VILLAGES = [
    ("Кемертоган", "Кемертоған"), ("Боралдай", "Боралдай"), ("Шамалган", "Шамалған"),
    ("Каскелен", "Қаскелең"), ("Талгар", "Талғар"), ("Иргели", "Іргелі"),
    ("Жандосов", "Жандосов"), ("Узынагаш", "Ұзынағаш"), ("Кыргауылды", "Қырғауылды"),
    ("Туздыбастау", "Тұздыбастау"), ("Отеген батыр", "Өтеген батыр"), ("Бесагаш", "Бесағаш"),
]  # fmt: skip
BUSES = [str(n) for n in (2, 5, 12, 17, 23, 29, 32, 37, 45, 48, 54, 63, 66, 79, 86, 92, 99)] + [
    str(n) for n in range(100, 160, 3)
]
DAYS_RU = ["неделю", "третий день", "два дня", "пятый день", "месяц", "две недели"]
DAYS_KK = ["бір апта", "үш күн", "екі күн", "бес күн", "бір ай", "екі апта"]

# --- the questions, a kind per line of thought --------------------------------------------

# Each kind is one question residents ask, in Russian and Kazakh paraphrases with the same
# slots: {street} {street2} {mkr} {village} {house} {bus} {school} {clinic} {years} {days}.
Kind = tuple[str, tuple[str, ...], tuple[str, ...]]  # (topic, Russian, Kazakh)
KINDS: list[Kind] = [
    ("roads", (
        "Когда отремонтируют дорогу на улице {street}?",
        "Дорогу по улице {street} когда будут ремонтировать? Одни ямы",
        "На {street} вся дорога в ямах, когда будет ремонт?",
    ), (
        "{street} көшесіндегі жол қашан жөнделеді?",
        "Қашан {street} көшесінің жолын жөндейсіздер?",
    )),
    ("roads", (
        "Когда заасфальтируют дороги в микрорайоне {mkr}? Весной грязь по колено",
        "В микрорайоне {mkr} до сих пор нет асфальта, когда заасфальтируют?",
    ), (
        "{mkr} шағын ауданында жол қашан салынады?",
        "{mkr} шағын ауданында асфальт жоқ, көктемде балшық",
    )),
    ("roads", (
        "На пересечении {street} и {street2} нужен светофор, когда поставят?",
        "Когда поставят светофор на перекрёстке {street} и {street2}?",
    ), (
        "{street} мен {street2} қиылысына бағдаршам қашан қойылады?",
    )),
    ("water", (
        "Почему в доме {house} по {street} уже {days} нет горячей воды?",
        "Уже {days} нет горячей воды в доме {house} на {street}, почему?",
    ), (
        "{street} көшесі {house} үйде {days} ыстық су жоқ",
        "Неге {street} көшесіндегі {house} үйде ыстық су жоқ?",
    )),
    ("water", (
        "Когда проведут водопровод в посёлок {village}?",
        "В посёлке {village} нет питьевой воды, когда проведут водопровод?",
    ), (
        "{village} ауылында ауыз су жоқ, қашан шешіледі?",
        "{village} ауылына ауыз су қашан тартылады?",
    )),
    ("water", (
        "Почему на {street} постоянно прорывает трубу водопровода?",
        "Водопровод на улице {street} постоянно прорывает, почему не заменят трубы?",
    ), (
        "{street} көшесінде су құбыры үнемі жарылады, қашан ауыстырылады?",
    )),
    ("heating", (
        "Когда дадут отопление в доме {house} на {street}? В квартирах холодно",
        "В доме {house} по улице {street} до сих пор нет отопления, когда включат?",
    ), (
        "{street} көшесі {house} үйге жылу қашан беріледі? Пәтерде суық",
        "{street} көшесіндегі {house} үйде жылу жоқ, қашан қосылады?",
    )),
    ("heating", (
        "Когда проведут газ в посёлок {village}?",
        "Когда в посёлке {village} будет газ? Топим углём",
    ), (
        "{village} ауылына газ қашан келеді?",
        "{village} ауылында газ жоқ, көмірмен жағамыз",
    )),
    ("heating", (
        "Почему в школе №{school} холодно, батареи еле тёплые?",
        "В школе {school} дети сидят в куртках, батареи холодные",
    ), (
        "{school} мектепте суық, балалар күртешемен отырады",
    )),
    ("transport", (
        "Почему автобус {bus} ходит раз в час?",
        "Автобус номер {bus} ходит очень редко, можно добавить машин на маршрут?",
        "Автобус {bus} ждём по часу, почему так редко?",
    ), (
        "{bus} автобус неге сирек жүреді?",
        "Неге {bus} автобус өте сирек жүреді?",
    )),
    ("transport", (
        "Почему маршрут {bus} убрали с улицы {street}?",
        "Зачем убрали {bus} маршрут с {street}? Людям не на чем ехать",
    ), (
        "{bus} автобус неге {street} көшесінен алынды?",
    )),
    ("transport", (
        "Когда пустят автобус до микрорайона {mkr}?",
        "В микрорайон {mkr} не ходит ни один автобус, когда пустят маршрут?",
    ), (
        "{mkr} шағын ауданына автобус қатынамайды, қашан жол ашылады?",
    )),
    ("schools", (
        "Когда построят новую школу в микрорайоне {mkr}? Дети учатся в три смены",
        "Дети в микрорайоне {mkr} учатся в три смены, когда будет новая школа?",
    ), (
        "{mkr} шағын ауданында мектеп қашан салынады? Балалар үш ауысымда оқиды",
        "{mkr} шағын ауданында балалар үш ауысымда оқиды, жаңа мектеп керек",
    )),
    ("schools", (
        "Почему в школе №{school} нет учителя математики с сентября?",
        "С сентября в {school} школе нет учителя по математике, почему?",
    ), (
        "{school} мектепте қыркүйектен бері математика мұғалімі жоқ",
    )),
    ("schools", (
        "Когда будет место в детском саду? Стоим в очереди {years} года",
        "{years} года ждём очередь в детский сад, когда дадут место?",
    ), (
        "Балабақшаға кезек қашан келеді? {years} жыл күтіп жүрміз",
        "{years} жыл балабақша кезегін күтіп жүрміз, қашан келеді?",
    )),
    ("clinics", (
        "В поликлинике №{clinic} невозможно записаться к терапевту",
        "Нельзя записаться к терапевту в поликлинике номер {clinic}, что делать?",
    ), (
        "{clinic} емханада дәрігерге жазылу мүмкін емес",
        "{clinic} емханада терапевтке жазылу мүмкін емес, не істеу керек?",
    )),
    ("clinics", (
        "Когда откроют поликлинику в посёлке {village}?",
        "В посёлке {village} нет поликлиники, ездим в город, когда построят?",
    ), (
        "{village} ауылында емхана жоқ, қашан салынады?",
    )),
    ("clinics", (
        "Почему скорая едет в посёлок {village} по два часа?",
        "В посёлок {village} скорая приезжает через два часа, почему?",
    ), (
        "{village} ауылына жедел жәрдем екі сағатта келеді, неге?",
    )),
    ("lighting", (
        "Когда установят уличное освещение на улице {street}?",
        "На улице {street} нет фонарей, когда поставят освещение?",
        "Вечером на {street} темно, фонари не горят",
    ), (
        "{street} көшесінде шамдар жанбайды, кешке қараңғы",
        "{street} көшесіне жарық қашан орнатылады?",
    )),
    ("lighting", (
        "Во дворе дома {house} по {street} нет освещения, дети ходят в темноте",
        "Просим поставить фонарь во дворе дома {house} на {street}",
    ), (
        "{street} көшесі {house} үйдің ауласында жарық жоқ",
    )),
    ("rubbish", (
        "Почему мусор не вывозят уже {days} на улице {street}?",
        "На {street} мусор не вывозят {days}, контейнеры переполнены",
    ), (
        "{street} көшесінде қоқыс {days} шығарылмады",
        "{street} көшесінде қоқыс толып кетті, қашан шығарылады?",
    )),
    ("rubbish", (
        "В микрорайоне {mkr} стихийная свалка возле арыка, примите меры",
        "Возле арыка в микрорайоне {mkr} свалка мусора, кто уберёт?",
    ), (
        "{mkr} шағын ауданында арықтың жанында қоқыс үйіндісі бар",
    )),
    ("yards", (
        "Во дворе дома {house} по улице {street} нет детской площадки",
        "Просим установить детскую площадку во дворе дома {house} на {street}",
    ), (
        "{street} көшесі {house} үйдің ауласында балалар алаңы жоқ",
        "{street} көшесіндегі {house} үйдің ауласына ойын алаңын орнатыңыздар",
    )),
    ("yards", (
        "Во дворе дома {house} на {street} машины паркуются на газоне",
        "Машины стоят на газоне во дворе дома {house} по {street}, примите меры",
    ), (
        "{street} көшесі {house} үйдің ауласында көліктер көгалға тұрады",
    )),
    ("land", (
        "Когда выдадут акт на земельный участок? Жду уже {years} года",
        "{years} года жду акт на земельный участок, когда наконец выдадут?",
    ), (
        "Жер телімін алу үшін кезекте {years} жыл тұрмын",
        "{years} жыл бойы жер телімі кезегінде тұрмын",
    )),
    ("land", (
        "Как получить земельный участок под ИЖС в посёлке {village}?",
        "В посёлке {village} дают участки под ИЖС? Куда обращаться?",
    ), (
        "{village} ауылында жеке үй салуға жер телімін қалай алуға болады?",
    )),
    ("housing", (
        "Сколько ещё ждать очередь на жильё? Стою {years} лет",
        "Стою в очереди на жильё {years} лет, очередь не двигается",
    ), (
        "Тұрғын үй кезегі жылжымайды, {years} жыл күтіп жүрміз",
        "Баспанаға кезек қашан келеді? {years} жыл күттік",
    )),
    ("housing", (
        "Когда сделают капремонт дома по {street} {house}? Крыша течёт",
        "Крыша течёт, дом {house} по {street}, когда будет капремонт?",
    ), (
        "{street} көшесі {house} үйдің шатыры ағып тұр, күрделі жөндеу қашан?",
    )),
    ("housing", (
        "Почему в доме {house} на {street} не работает лифт уже {days}?",
        "Лифт в доме {house} по {street} не работает {days}, почему никто не чинит?",
    ), (
        "{street} көшесі {house} үйде лифт {days} істемейді",
    )),
    ("housing", (
        "Почему выросли тарифы на коммунальные услуги?",
        "Почему так сильно повысили тарифы за коммунальные услуги?",
    ), (
        "Коммуналдық төлемдердің тарифі неге өсті?",
        "Неге коммуналдық тарифтер өсіп кетті?",
    )),
]  # fmt: skip

GREETINGS_RU = ["Здравствуйте!", "Добрый день.", "Уважаемый аким,", "Господин аким,"]
GREETINGS_KK = ["Сәлеметсіз бе!", "Құрметті әкім,", "Әкім мырза,"]
ADDITIONS_RU = [
    "Сколько можно ждать?", "Примите меры!", "Жители устали жаловаться.",
    "Писали в акимат, ответа нет.", "Это уже не первый год.", "Спасибо.",
]  # fmt: skip
ADDITIONS_KK = [
    "Қашан шешіледі?", "Шара қолданыңыздар!", "Тұрғындар шаршады.",
    "Әкімдікке жаздық, жауап жоқ.", "Рахмет.",
]  # fmt: skip
EMOJI = ["😡", "🙏", "👍", "😢", "!!!", "??"]

# --- Kazakh in the 2021 Latin alphabet, and as typed on a phone ----------------------------

_LATIN_2021 = {
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io",
    "ж": "j", "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n",
    "ң": "ñ", "о": "o", "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū",
    "ү": "ü", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ç", "ш": "ş", "щ": "şş", "ъ": "",
    "ы": "y", "і": "ı", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
_ASCII = str.maketrans({"ä": "a", "ğ": "g", "ñ": "n", "ö": "o", "ū": "u", "ü": "u", "ı": "i"})
_ASCII_DIGRAPHS = {"ş": "sh", "ç": "ch"}


def to_latin(text: str, *, informal: bool = False) -> str:
    """Kazakh Cyrillic in the 2021 Latin alphabet, or as typed without its letters."""
    out = []
    for char in text:
        latin = _LATIN_2021.get(char.lower(), char)
        out.append(latin.capitalize() if char.isupper() else latin)
    latin = "".join(out)
    if informal:
        for letter, digraph in _ASCII_DIGRAPHS.items():
            latin = latin.replace(letter, digraph).replace(letter.upper(), digraph.capitalize())
        latin = latin.translate(_ASCII)
    return latin


# --- typos --------------------------------------------------------------------------------

_KEYS = {True: "йцукенгшщзхфывапролджэячсмитьбю", False: "qwertyuiopasdfghjklzxcvbnm"}
_LOOK_ALIKES = str.maketrans("аеорсухАВЕКМНОРСТХ", "aeopcyxABEKMHOPCTX")


def _typo(word: str, rng: random.Random, *, cyrillic: bool) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    match rng.randrange(4):
        case 0:
            return word[:i] + word[i + 1 :]  # a letter dropped
        case 1:
            return word[:i] + word[i] + word[i:]  # a letter doubled
        case 2:
            return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]  # two swapped
        case _:
            return word[:i] + rng.choice(_KEYS[cyrillic]) + word[i + 1 :]  # a wrong key


def _noisy(text: str, rng: random.Random, *, cyrillic: bool) -> str:
    words = text.split(" ")
    words = [_typo(w, rng, cyrillic=cyrillic) if rng.random() < 0.04 else w for w in words]
    if cyrillic and rng.random() < 0.1:  # written by ear: unstressed о as а
        i = rng.randrange(len(words))
        words[i] = words[i].replace("о", "а")
    text = " ".join(words)
    roll = rng.random()
    if roll < 0.08:
        text = text.lower()
    elif roll < 0.1:
        text = text.upper()
    elif cyrillic and roll < 0.13:
        text = text.translate(_LOOK_ALIKES)
    if rng.random() < 0.15:
        text = text.rstrip("?.!") + " " + rng.choice(EMOJI)
    elif rng.random() < 0.1:
        text = text.rstrip("?.!")
    return text


# --- the stream ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Question:
    """A generated question; `repeats` is the index of the earlier question it asks again."""

    text: str
    topic: str
    language: str  # "ru", "kk" (Cyrillic) or "kk-latn" (2021 Latin or informal ASCII)
    repeats: int | None


@dataclass(frozen=True, slots=True)
class _Fact:
    kind: int
    slots: tuple[tuple[str, str], ...]  # (name, value) for Russian; Kazakh forms beside


def _fact(rng: random.Random) -> tuple[_Fact, _Fact]:
    street, street2 = rng.sample(STREETS, 2)
    mkr, village = rng.choice(MICRODISTRICTS), rng.choice(VILLAGES)
    days = rng.randrange(len(DAYS_RU))
    numbers = {
        "house": str(rng.choice([rng.randint(1, 40), rng.randint(1, 200)])),
        "bus": rng.choice(BUSES),
        "school": str(rng.randint(1, 180)),
        "clinic": str(rng.randint(1, 36)),
        "years": str(rng.randint(2, 12)),
    }
    kind = rng.randrange(len(KINDS))
    russian = {"street": street[0], "street2": street2[0], "mkr": mkr[0], "village": village[0]}
    kazakh = {"street": street[1], "street2": street2[1], "mkr": mkr[1], "village": village[1]}
    russian["days"], kazakh["days"] = DAYS_RU[days], DAYS_KK[days]
    return (
        _Fact(kind, tuple(sorted({**russian, **numbers}.items()))),
        _Fact(kind, tuple(sorted({**kazakh, **numbers}.items()))),
    )


def _render(facts: tuple[_Fact, _Fact], rng: random.Random) -> tuple[str, str, str]:
    russian, kazakh = facts
    topic, ru_forms, kk_forms = KINDS[russian.kind]
    roll = rng.random()
    language = "ru" if roll < 0.6 else "kk" if roll < 0.86 else "kk-latn"
    fact, forms = (russian, ru_forms) if language == "ru" else (kazakh, kk_forms)
    text = rng.choice(forms).format(**dict(fact.slots))
    greetings, additions = (
        (GREETINGS_RU, ADDITIONS_RU) if language == "ru" else (GREETINGS_KK, ADDITIONS_KK)
    )
    if rng.random() < 0.15:
        greeting = rng.choice(greetings)
        text = f"{greeting} {text[0].lower() + text[1:] if greeting.endswith(',') else text}"
    if rng.random() < 0.2:
        text = f"{text} {rng.choice(additions)}"
    if language == "kk-latn":
        text = to_latin(text, informal=rng.random() < 0.4)
    return _noisy(text, rng, cyrillic=language != "kk-latn"), topic, language


def questions(seed: int = 0, *, repeat_share: float = 0.15) -> Iterator[Question]:
    """An endless stream of questions; about `repeat_share` of them repeat an earlier one
    (half of those one of the last 500, as repeats cluster while a topic is on air)."""
    rng = random.Random(seed)
    asked: list[tuple[_Fact, _Fact]] = []
    while True:
        repeats = None
        if asked and rng.random() < repeat_share:
            recent = rng.random() < 0.5
            repeats = rng.randrange(max(0, len(asked) - 500) if recent else 0, len(asked))
            facts = asked[repeats]
        else:
            facts = _fact(rng)
        asked.append(facts)
        text, topic, language = _render(facts, rng)
        yield Question(text, topic, language, repeats)


def corpus(size: int, seed: int = 0) -> list[Question]:
    """The first `size` questions of the stream for `seed`."""
    return list(islice(questions(seed), size))


if __name__ == "__main__":
    for question in corpus(40):
        print(f"{question.language:8} {question.repeats or '':>4} {question.text}")
