"""The first filter: what it holds and why, and the ordinary comments it must let through.

R3: commenting is mandatory, so the filter only ever *holds* a comment with a public reason;
a false positive is a resident silenced in public, so the clean cases matter as much.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.filters import first_filter, mask_contacts
from moderation.model import HoldReason
from moderation.text import clean_text

# Residents' comments about roads, water, heating, landscaping and transport, in Russian,
# Kazakh and Latin-script Kazakh, several with words that contain a profane-looking stem.
CLEAN_COMMENTS = [
    "Когда отремонтируют дорогу на улице Абая? Ямы уже третий год.",
    "В нашем доме нет горячей воды с понедельника, дом 12, кв 34.",
    "Прошу проверить отопление в школе № 45, дети сидят в куртках.",
    "Автобус 92 ходит раз в час, а обещали каждые 15 минут.",
    "Спасибо акимату за новый сквер, но скамеек мало.",
    "Хлеб в ауле подорожал, а зарплаты не растут.",
    "Небо над городом серое от смога, когда переведут ТЭЦ на газ?",
    "Требуем восстановить уличное освещение на проспекте Достык.",
    "Жители вынуждены употреблять воду из скважины, она мутная.",
    "Не надо оскорблять жителей, мы просто задаём вопросы.",
    "Это оскорбление для ветеранов: памятник не покрашен.",
    "На ремонт детской площадки выделили 500 000 тенге, где она?",
    "В 2024 году обещали асфальт, где он?",
    "Бюджет на благоустройство 1 500 000 тг, куда ушли деньги?",
    "Совещание было 15.01.2026, решения до сих пор нет.",
    "Маршрутка стоит 120 минут в пробке на выезде из города.",
    "Мандат депутата не даёт права игнорировать жителей.",
    "Команда коммунальщиков приехала только через неделю.",
    "Курс рубля упал, а тарифы на отопление растут.",
    "Учеба во вторую смену неудобна, нужна новая школа.",
    "Амбулатория в селе закрыта уже месяц.",
    "Застрахуйте хотя бы школы от паводка, страхуй не страхуй, а топит каждый год.",
    "Хулиганы сломали остановку, нужны камеры.",
    "Люди влюблены в свой город и хотят, чтобы он был чище.",
    "Снег не убирают, тротуары скользкие, т.е. пенсионеры падают.",
    "Трубы текут, подвал затоплен и т.д., сколько можно ждать?",
    "Ширина дороги 2.5 метра, две машины не разъедутся.",
    "Колебания напряжения сжигают технику, проверьте подстанцию.",
    "Секцию гребли закрыли, детям негде заниматься.",
    "Корабли на набережной красивые, но мусор не вывозят.",
    "Себе дороги сделали, а нам нет.",
    "Водитель автобуса психует и кричит на пассажиров.",
    "Отчёт прошёл без сучка и задоринки, а дорог нет.",
    "Во дворе нужно спилить сухие сучья, они падают на машины.",
    "Плохую дорогу так и не сделали, сухую траву не убрали.",
    "Разметку заштрихуют к маю? Переходов не видно.",
    "Хлебозавод дымит, жители жалуются на запах.",
    "Сукно на сцене дома культуры порвано, и сцена течёт.",
    "Командир ополчения — это не про нас, мы просто жители.",
    "Пешеходный переход у школы №3 стёрся, вчера чуть не сбили ребёнка!",
    "Сәлеметсіз бе, әкім мырза! Біздің көшеде жол жоқ.",
    "Ауыз су күніне екі сағат қана беріледі.",
    "Мектепке баратын жолда тротуар жоқ, балалар көшемен жүреді.",
    "Саябақтағы шамдар жанбайды, кешке қорқынышты.",
    "Балабақшаға кезек үш жыл, қашан жаңасы салынады?",
    "Жылу беру маусымы басталды, бірақ батареялар суық.",
    "Қаладағы автобустар сағатына бір рет қана жүреді.",
    "Әкімге сұрақ: ауылға газ қашан келеді?",
    "Ебін тауып, жолды тезірек жөндеңіздер.",
    "Себебі су құбыры ескірген, жөндеу керек.",
    "2024 жылы уәде бердіңіздер, әлі күнге дейін ештеңе жоқ.",
    "Маңдайымызға жазылған осы ма? Жол жоқ, жарық жоқ.",
    "Ебедейсіз жұмыс: жол бір айда қайта бұзылды.",
    "Аман-есен жеттік, рахмет, бірақ көпір апатты жағдайда.",
    "Алматы.Жол жөндеу керек, сұрақ сол.",
    # Kazakh typed on a Russian keyboard: маңда (around here) and ебін (a knack) lose their letters.
    "Осы манда жол жок, ебин тауып жондениздер.",
    "Salemetsiz be, ákim myrza! Bizdiń kóshede jol joq.",
    "Aýyz sý joq, qashan beresizder?",
    "Mektep janynda jaıaý júrginshi ótkeli kerek.",
    "Avtobýs keshke júrmeıdi, halyq taksıge aqsha tóleıdi.",
    "Saıabaqty abattandyrý úshin rahmet!",
    "Ebin taýyp, jyly jaýap berińiz.",
    "Thanks for the new bus route to the hospital!",
]

# Single words a naive stem list holds: each must pass.
CLEAN_WORDS = [
    "хлеб", "небо", "требовать", "употреблять", "оскорблять", "сукно", "мандат", "команда",
    "рубль", "влюблять", "себе", "учеба", "амбулатория", "Алматы", "Әкім", "сұрақ", "жол",
    "қала", "мектеп", "ауыз су", "көше", "тротуар", "саябақ", "балабақша", "аман", "рахмет",
    "сәлеметсіз бе", "оскорбление", "корабль", "гребля", "колебаться", "хулиган", "страхуй",
    "застрахуйте", "психует", "мандарин", "бляха", "бляшка", "сигнал", "сигарета", "мебель",
    "ребенок", "серебро", "погреб", "жеребьевка", "вебинар", "обед", "подебоширить", "сучок",
    "эпидермис", "спидран", "гидроочистка", "маңдай", "штрихуй", "шахует", "катаклизм",
    "ебелек", "ебдейлі", "ебетейсіз", "Huygens", "ebay", "ebin",
]  # fmt: skip

PROFANE_COMMENTS = [
    "Дороги хуёвые, сделайте уже",
    "Сколько можно, пиздец какой-то",
    "Заебали обещаниями",
    "Аким, иди на хуй",
    "Ну бля, опять свет отключили",
    "Блять, где автобус?",
    "Сука, трубы опять прорвало",
    "Вы все мудаки",
    "Чиновники пидорасы",
    "Уёбки, верните деньги",
    "Нахуя нам этот фонтан?",
    "Похуй им на людей",
    "Разъебали всю дорогу тракторами",
    "Съебался аким со встречи",
    "Долбоёбы делали ремонт",
    "Это ебаный позор",
    "Ёб твою мать, сколько ждать",
    "Хуйня, а не ремонт",
    "Проебали весь бюджет",
    "Уебище, а не подрядчик",
    "Мандавошки в акимате",
    "Хватит дрочить на отчёты",
    "Гандон этот подрядчик",
    "Иди в пизду со своими обещаниями",
    "Сігейін сендердің жолдарыңды",
    "Қотақбас әкім",
    "Көтақ сияқты жұмыс",
    "Сіктір, жұмыс істемейсіңдер",
    "Қаншық, жауап бер",
    "Шешеңді, жол қашан болады",
    "Амыңды",
    # Obfuscated.
    "х*й вам, а не дорога",
    "х.у.й",
    "Х У Й",
    "х-у-й",
    "бл@",
    "бл*ть, опять",
    "бл9ть",
    "п1зда",
    "пи*дец",
    "СУУУУКА",
    "ПИЗДЕЦ!!!",
    "е*ать",
    "с*ка",
    "пизд\u0301ец",  # a stress mark in the middle
    # Latin look-alikes inside Cyrillic words, and Latin i in Kazakh.
    "xуйня какая-то",
    "cуkа",
    "сiгейiн",
    "сигейин",
    # Wholly Latin.
    "blyat",
    "nahui",
    "suka",
    "pizdec",
    "ebat",
    "siktir",
    "sigeyin",
    "pohuy",
]


@pytest.mark.parametrize("comment", CLEAN_COMMENTS)
def test_ordinary_comments_are_not_held(comment: str) -> None:
    assert first_filter(clean_text(comment)) is None


@pytest.mark.parametrize("word", CLEAN_WORDS)
def test_ordinary_words_with_a_profane_looking_stem_are_not_held(word: str) -> None:
    assert first_filter(word) is None


@pytest.mark.parametrize("comment", PROFANE_COMMENTS)
def test_profanity_is_held(comment: str) -> None:
    assert first_filter(clean_text(comment)) is HoldReason.PROFANITY


def test_invisible_characters_cannot_split_a_profane_word() -> None:
    # The caller cleans first, so a zero width space inside a word is gone before the filter.
    assert first_filter(clean_text("х\u200bу\u200cй\u2060")) is HoldReason.PROFANITY


@pytest.mark.parametrize("comment", ["х у й вам всем", "ну х у й", "бля@ть", "бля*ский"])
def test_spelled_out_and_half_masked_profanity_is_held_wherever_it_stands(comment: str) -> None:
    # A run of single letters is joined when a word follows it too; a mask after a profane
    # beginning hides nothing.
    assert first_filter(comment) is HoldReason.PROFANITY


@pytest.mark.parametrize("comment", ["п*з*д*ц", "х* вам"])
def test_words_with_more_than_two_masks_or_one_letter_left_are_not_guessed(comment: str) -> None:
    # A known limit, on purpose (see moderation/filters.py): guessing those holds residents.
    assert first_filter(comment) is None


def test_profanity_after_many_masked_words_is_still_found() -> None:
    # Guessing the letters behind masks has a budget; plain words are all checked first.
    comment = "а*б* " * 90 + "пиздец"
    assert first_filter(comment) is HoldReason.PROFANITY


@pytest.mark.parametrize(
    "comment",
    [
        "+77012345678",
        "87012345678",
        "8 (701) 234-56-78",
        "+7 701 234 5678",
        "7 701 234 56 78",
        "8-701-234-56-78",
        "звоните 8 701 234 56 78 после обеда",
        "(727) 123-45-67",
        "8 (7172) 12-34-56",
        "701 234 56 78",
        "234-56-78",
        "+44 20 7946 0958",
        "+49 (30) 1234-5678",
        "пишите на ватсап +7(777)1234567",
        "мой ИИН 900101300123, помогите",
        "номер 1234567",
    ],
)
def test_phone_numbers_and_long_digit_runs_are_held(comment: str) -> None:
    assert first_filter(comment) is HoldReason.PHONE


@pytest.mark.parametrize(
    "comment",
    [
        "2024 жылы",
        "500 000 тенге",
        "1 500 000 тг",
        "бюджет 12 500 000 000 тенге",
        "+25 000 000 тенге в бюджет",
        "15.01.2026",
        "№ 45",
        "120 минут",
        "дом 12, кв 34",
        "в 2023-2024 годах",
        "с 8.00 до 20.00",
        "приём с 8.01.2026 12.00",
        "дома 7 12 14 16 18 20 без света",
        "температура +18, давление 760",
        "индекс 050000",
    ],
)
def test_amounts_dates_and_addresses_are_not_phones(comment: str) -> None:
    assert first_filter(comment) is None


@pytest.mark.parametrize(
    "comment", ["name@mail.kz", "a.b-c@gov.kz", "пишите: aigul.n+akimat@gmail.com", "иван@почта.рф"]
)
def test_email_addresses_are_held(comment: str) -> None:
    assert first_filter(comment) is HoldReason.EMAIL


@pytest.mark.parametrize(
    "comment",
    [
        "http://example.com",
        "смотрите https://egov.kz/services",
        "www.akimat",
        "t.me/halyq",
        "example.kz",
        "bit.ly/xyz",
        "сайт.рф",
        "подробнее на EGOV.KZ",
        "vk.com/club1",
    ],
)
def test_links_are_held(comment: str) -> None:
    assert first_filter(comment) is HoldReason.LINK


@pytest.mark.parametrize(
    "comment",
    ["Алматы.Жол", "т.е. дороги нет", "и т.д.", "2.5 километра", "жоқ.Су жоқ", "г.Алматы, ул.Абая"],
)
def test_sentence_punctuation_is_not_a_link(comment: str) -> None:
    assert first_filter(comment) is None


@pytest.mark.parametrize(
    ("comment", "reason"),
    [
        ("бля, звоните 87012345678 или name@mail.kz, сайт example.kz", HoldReason.PROFANITY),
        ("звоните 87012345678 или name@mail.kz, сайт example.kz", HoldReason.PHONE),
        ("пишите name@mail.kz, сайт example.kz", HoldReason.EMAIL),
        ("сайт example.kz", HoldReason.LINK),
    ],
)
def test_reasons_are_taken_in_order_of_precedence(comment: str, reason: HoldReason) -> None:
    assert first_filter(comment) is reason


@given(st.text(max_size=200))
def test_any_cleaned_text_gets_a_reason_or_none(raw: str) -> None:
    assert first_filter(clean_text(raw)) in (None, *HoldReason)


# --- masking contacts for staff who may not see them (PRIV-1) --------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("звоните 8 (701) 234-56-78 после обеда", "звоните ••• ••• ••78 после обеда"),
        ("+77012345678", "••• ••• ••78"),
        ("мой ИИН 900101300123", "мой ИИН ••• ••• ••23"),
        ("ЖСН 900101 300123, жауап беріңіз", "ЖСН ••• ••• ••23, жауап беріңіз"),
        ("ИИН: 9001-0130-0123.", "ИИН: ••• ••• ••23."),
        ("234-56-78", "••• ••• ••78"),
        ("пишите: aigul.n+akimat@gmail.com", "пишите: •••@gmail.com"),
        ("иван@почта.рф или 87012345678", "•••@почта.рф или ••• ••• ••78"),
    ],
)
def test_phones_and_emails_are_masked_but_show_that_one_was_there(text: str, masked: str) -> None:
    assert mask_contacts(text) == masked
    assert mask_contacts(masked) == masked


@pytest.mark.parametrize(
    "text",
    [
        "+25 000 000 тенге в бюджет",
        "Бюджет 1 500 000 тг",
        "Бюджет 100 000 000 000 тг",
        "8.01.2026 12.00",
        "Жол қашан?",
        "сайт example.kz",
    ],
)
def test_amounts_and_text_without_contacts_are_left_as_they_are(text: str) -> None:
    assert mask_contacts(text) == text


# --- mask_contacts: properties (issue 10: no number or IIN survives in what viewers see) ---

_OPERATORS = [
    "700", "701", "702", "705", "706", "707", "708", "747", "760", "761", "762", "763", "764",
    "771", "775", "776", "777", "778", "785",
]  # fmt: skip
_FORMS = [
    "+7{o}{a}{b}{c}",
    "8{o}{a}{b}{c}",
    "8 ({o}) {a}-{b}-{c}",
    "+7 {o} {a} {b}{c}",
    "7{o}{a}{b}{c}",
    "7 {o} {a} {b} {c}",
    "whatsapp:+7{o}{a}{b}{c}",
    "8-{o}-{a}-{b}-{c}",
    "+7 ({o}) {a}-{b}-{c}",
    "{o} {a} {b} {c}",
]
# Text around personal data: letters of both scripts, emoji, ZWJ, punctuation; no digits.
_AROUND = st.text(alphabet=st.sampled_from(list("абвқңәіүaqz ,.!?:()-😀👍\u200d🇰🇿\n")), max_size=20)


@st.composite
def kazakh_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A generated Kazakh mobile number in one of 6.1's forms, and its 10 national digits."""
    operator = draw(st.sampled_from(_OPERATORS))
    a, b, c = (draw(st.from_regex(rf"\d{{{n}}}", fullmatch=True)) for n in (3, 2, 2))
    form = draw(st.sampled_from(_FORMS))
    return form.format(o=operator, a=a, b=b, c=c), f"{operator}{a}{b}{c}"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@settings(max_examples=300)
@given(kazakh_numbers(), _AROUND, _AROUND)
def test_mask_contacts_never_leaves_a_kazakh_number(
    number: tuple[str, str], before: str, after: str
) -> None:
    written, national = number
    scrubbed = mask_contacts(f"{before} {written} {after}")
    assert national not in _digits(scrubbed)
    assert len(_digits(scrubbed)) <= 2  # the last two digits
    assert scrubbed.startswith(f"{before} ")
    assert scrubbed.endswith(f" {after}")


@settings(max_examples=200)
@given(st.from_regex(r"\d{12}", fullmatch=True), _AROUND, _AROUND)
def test_mask_contacts_never_leaves_an_iin(iin: str, before: str, after: str) -> None:
    scrubbed = mask_contacts(f"{before} {iin} {after}")
    assert iin[:10] not in _digits(scrubbed)
    assert re.search(r"\d{3}", scrubbed) is None


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_mask_contacts_is_idempotent(text: str) -> None:
    once = mask_contacts(text)
    assert mask_contacts(once) == once


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(
            _AROUND,
            st.integers(0, 9999).map(str),  # years, house numbers, small sums
            st.integers(1, 999).map(lambda n: f"{n} 000 тенге"),
            st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
            st.times().map(lambda t: t.strftime("%H:%M")),
        ),
        max_size=8,
    ).map(" · ".join)
)
def test_text_without_personal_data_is_unchanged(text: str) -> None:
    assert mask_contacts(text) == text
