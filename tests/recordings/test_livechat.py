"""The live-chat reader (issue 11): every line of yt-dlp's sample files against a table, each
renderer and action, emoji, names, amounts, and lines it does not understand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recordings.livechat import (
    AuthorBan,
    ChatEvent,
    ChatMessage,
    ChatRemoval,
    Kind,
    Unreadable,
    parse,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def text(id: str, channel: str, usec: int, author: str, words: str) -> ChatMessage:
    """A text message, as the tables below write it."""
    return ChatMessage(
        id=id, author=author, author_channel=channel, timestamp_usec=usec, text=words, kind="text"
    )


# Every line of tests/fixtures/youtube_live_chat.jsonl (yt-dlp's live shape): (line, its events).
LIVE: list[tuple[int, list[ChatEvent]]] = [
    # 1: the welcome notice
    (1, []),
    # 2: the backlog: negative offsets, real times
    (2, [text("ChwKGkNVTEdwZ25fYWFEcEdjbVRKUm1hd0VfcjZW", "UCf0ND8O7mtWi7E1FeO4iqW3",
              1763614841467811, "Айгерим Сейтқали",
              "Сәлеметсіздер ме! Трансляция басталды ма?")]),
    (3, [text("ChwKGkNmY1JYTXdQMElBdW1CUWJJTU5NLTQ0NHlY", "UCOp6Bk-AY2sN1nDGcx28pWB",
              1763614865804659, "@nurlan.astana",
              "Всем привет из Сарыарки 👍")]),
    (4, [text("ChwKGkNzanJueXRaWFUyblBmeE5hb1dCMmpMU0p6", "UCs5I7-H1jq0bVCJlScmZjSB",
              1763614890857501, "Модератор Акимата",
              "Уважаемые зрители! Вопросы акиму пишите в чат, модераторы "
              "передадут их в студию. Құрметті көрермендер, сұрақтарыңызды "
              "чатқа жазыңыздар.")]),
    (5, [text("ChwKGkMtcGc1TlEwLUpNN3pvUUtFY3czWVBjeE5T", "UC0zgnPBv0M18a03YdNs_13I",
              1763614932918760, "Ерлан Жақсылықов",
              "Когда отремонтируют дорогу по улице Абая от Кенесары до "
              "Бейбітшілік? Ямы по колено 😡")]),
    (6, [text("ChwKGkM2UERlZnMzMU9XSzUtYkVRLURCVTVpYVVl", "UCC4spxo2P2bMBO1KYaP351P",
              1763614967575139, "Гүлнар Әбенова",
              "Әкім мырза, Сайран шағын ауданында үш күннен бері ыстық су "
              "жоқ. Қашан береді?")]),
    # 7: two Unicode emoji, one with a variation selector
    (7, [text("ChwKGkNXNnFCdk1jck9nb1ZXdzZEY0dvWEJkTnZ4", "UCppCnM6k-rRB_weEIOU5mP9",
              1763615011567859, "Марина Петрова",
              "Автобус №37 ходит раз в 40 минут, люди мёрзнут на остановке у "
              "ТРЦ 🚌❄️")]),
    (8, [text("ChwKGkNuRkJvMDBmRnJHSUlXZGp1dDZFS19YY0xX", "UCfJPxp-h6Mj_agLTmVAeNvt",
              1763615038924695, "Дәурен Омаров",
              "Біздің аулада балалар алаңы сынған, абаттандыру жоспарында "
              "бар ма? Мекенжай: Тәуелсіздік 34")]),
    (9, [text("ChwKGkM4b2xXay1MN25Hcy1US1RTdU1ySjdqRXl5", "UCG-0OcS-t0o1PCrfLsjullI",
              1763615060338558, "Ольга Ким",
              "В доме по Сейфуллина 12 батареи еле тёплые, в квартире +14. "
              "Куда жаловаться?")]),
    # 10: a pinned message (a banner), not a comment
    (10, []),
    (11, [text("ChwKGkN4SzdSb2lIYy1aS1RRblFuWjhsNmVrX25v", "UCxRF5aLQjztwuy3VPr88NGv",
              1763615102632546, "Асхат Байжанов",
              "Қыста жылу беру маусымы қашан толық іске қосылады? Біздің "
              "үйде әлі суық")]),
    # 12: spam, deleted on line 13
    (12, [text("ChwKGkN6bW82SVlIWlRaeFRuRlRyaGh5Z3k0MENW", "UCHdNMP1xJzr77sy5zV-pz76",
              1763615115261631, "Заработок Онлайн 24",
              "Заработок от 50 000 тг в день без вложений, пиши в тг "
              "@easy_money_kz")]),
    # 13: YouTube deletes line 12
    (13, [ChatRemoval(id="ChwKGkN6bW82SVlIWlRaeFRuRlRyaGh5Z3k0MENW")]),
    (14, [text("ChwKGkMyM2VwTUJIVDhzTjZ4QXV4TzdVVG9talo3", "UCOnTv17JBwAQhujObsf3-VS",
              1763615149408168, "Салтанат Нұрланқызы",
              "Почему асфальт на Кабанбай батыра положили прямо в дождь? "
              "Через месяц всё развалилось")]),
    (15, [text("ChwKGkNrNFB5eFdJS2xUdHZMeXZRQ3Y4UnVSdS1V", "UChHSynEc3LBHP2fLmiq1q14",
              1763615180384986, "Бауыржан",
              "Су құбыры жарылып, Төле би 250 маңындағы көше су астында "
              "қалды 🙏 тезірек келіңіздерші")]),
    (16, [text("ChwKGkNOYkl4TjZyRXlaRXNtaTgwVlY3S0xaNUtM", "UCJxBBSIJ_K1m5eIrOdQ0VTM",
              1763615204049057, "Людмила Сергеевна",
              "Мой номер 8 701 234 56 78, перезвоните пожалуйста по поводу "
              "отопления в 5 школе")]),
    (17, [text("ChwKGkNxbEdYelBfN0NqbmZ3Q2N3b0NuRUdjZkxY", "UC-RkKewxeyXbvdMJu196Nak",
              1763615229380759, "Aidana Qairat",
              "Aulamyzdağy jol qaşan jöndeledı? Jaŋbyr jauğanda ötuge "
              "bolmaidy")]),
    # 18: Latin k and i among Cyrillic letters: kept as written
    (18, [text("ChwKGkNsSzBZQzg5OGJWRTN1eTNFbXlFWmxFWERp", "UC6Na2HsvDs-lCOrzm7rBLKu",
              1763615260197740, "Serik",
              "Аkим мырза, 12 автобус кашан келеди? Бiз аялдамада 30 минут "
              "турмыз")]),
    # 19: the slow-mode notice
    (19, []),
    (20, [text("ChwKGkNSelo2X1VYQlZrUG9FT3JOQ1JrNUs5Szh6", "UCBoVJ3sWGvYjzfOeCRLW1K2",
              1763615291908725, "Данияр",
              "LRT когда запустят уже? Обещали в 2024 году")]),
    (21, [text("ChwKGkMzOVFLVm51aVhVeEI5c2RHUGRZQkY3YWtC", "UCae-xEzjI0mDPafCsBug3pp",
              1763615318230007, "Жанар Тоқтарова",
              "Спасибо за новый сквер на Шарля де Голля, но там нет урн и "
              "освещения")]),
    (22, [text("ChwKGkNYT25DN24xanl0Zi1rSDBSWTRCMVoySW9s", "UCen8MvJiLUyoEK8CEXsSzKX",
              1763615332642839, "@aset_kz",
              "+++ поддерживаю про автобусы")]),
    (23, [text("ChwKGkNYeUZJVDByblA3dFRMX3AyNG5GeFZPV2FW", "UCCBiZkWmDLdbNEtndpdlBOF",
              1763615360544717, "Нұржан Есенов",
              "Қала шетіндегі Ақбұлақ ауылына баратын жолға қашан асфальт "
              "төселеді? Күзде жол батпаққа айналады")]),
    # 24: a super chat in tenge
    (24, [ChatMessage(id="ChwKGkNTZ1FsQnNmQ1UwaHZ0QmFJSUZ1X2hLUmxh",
              author_channel="UCkstY9abZ470UrZvLhvf2mY", timestamp_usec=1763615387219417,
              author="Бекзат Тұрсынов",
              text="Прошу озвучить вопрос: когда заменят трубы теплосети по улице "
                   "Пушкина? Каждую зиму аварии",
              kind="superchat", amount="2000.00", currency="KZT")]),
    # 25: its ticker: the same id, no second message
    (25, []),
    (26, [text("ChwKGkNpVlMyZ0hDZC1wVkFDMl9tYTM1X2ctNUxQ", "UCmaZ_Ez2tdFVUVukgYetoK3",
              1763615415507160, "Акимат города Астаны",
              "Благодарим за вопросы! Ответы на вопросы о теплоснабжении "
              "прозвучат в следующем блоке.")]),
    (27, [text("ChwKGkNVSjRUQlM2WkZaUDNfWkhZRHpDNkpsM0Y2", "UCM4YqcTG9Qnt5fdmGeFanov",
              1763615441931692, "Меруерт",
              "Оқушыларға арналған тегін жол жүру картасы қашан қайта іске "
              "қосылады?")]),
    (28, [text("ChwKGkNRVHpYd2RqdFFiMjlaTzBrN09IUWRuY2Mz", "UCFucHc58lYgKZ078fRhA7vJ",
              1763615462159748, "Игорь Власов",
              "Вода из крана ржавая уже неделю, ЖК Хайвил, блок Б. Это "
              "вообще безопасно?")]),
    (29, [text("ChwKGkNzYjljVTJ4U0lCeGRNbjMyM0s5X0lhV2R4", "UCKPiUWNPBjKWVv5msVUpnSu",
              1763615490740333, "Камила",
              "Балабақша №45-те жылу жоқ, балалар күртешемен отыр ❄️")]),
    # 30: emoji only
    (30, [text("ChwKGkNjelpfNUdIQS0tVkxEeDVpYmFCd2k1RXRN", "UCgvCVDqLynAutSWvJnEKj2y",
              1763615504970237, "@dias_007",
              "👍👍👍")]),
    # 31: a channel's own emoji: its first shortcut
    (31, [text("ChwKGkNEM3pZUVFVcmhRbmp6R0lLX1BXd0VpRFp1", "UC42ATKjfmp5rE4uY6QQYRJN",
              1763615523419097, "Асель",
              ":_astana: Тротуар по Мәңгілік Ел после ремонта уже треснул")]),
    (32, [text("ChwKGkMzV1I0NWhEU1p0QXNaRFdWcTctUWluYzdv", "UCvUzwLOoRGZpkcVHiiQetfK",
              1763615547911924, "Нурсултан",
              "Светофор на пересечении Республики и Богенбай батыра не "
              "работает вторую неделю")]),
    (33, [text("ChwKGkNwT0RhSnNhLVRRN2JxTF9udC1PbGNRQjFX", "UCen8MvJiLUyoEK8CEXsSzKX",
              1763615570259695, "@aset_kz",
              "Автобус №37 ходит раз в 40 минут!!! Люди мерзнут")]),
    (34, [text("ChwKGkNDTzlkeGlIT3o5RGFXZTBVcHQ4WWdNRldw", "UCiwrjh4ARL1ulkokVHyFr-L",
              1763615594950064, "Әлия Мұратқызы",
              "Ағаштарды неге кесіп жатыр? Мұхтар Әуезов көшесінде 20 терек "
              "кесілді")]),
    (35, [text("ChwKGkNDbXRjR29LUVBqR1pKOGtyZ2ZfUTBOT1ZD", "UCKLnuQu2aO5yUIviNPRxISg",
              1763615620560187, "Виктор",
              "Пишите мне на почту viktor.p1978@mail.kz или звоните +7 (777) "
              "123-45-67, у меня фото ям")]),
    (36, [text("ChwKGkNGRXNYRjJ1Q0hyeFlTb2cycmlFSzYzdE1u", "UCVIYX1JQv3Q4BKE7LpW7MCB",
              1763615645863976, "Ақжол",
              "Түнгі автобустар маршруты бола ма? 23:00-ден кейін үйге жету "
              "мүмкін емес")]),
    # 37: YouTube bans the spammer of line 12
    (37, [AuthorBan(author_channel="UCHdNMP1xJzr77sy5zV-pz76")]),
    (38, [text("ChwKGkNSNDBNcExsQWwwQlNyNGlmSUZ0TzBnWlVC", "UCs-S99n2lzuDd5oRs2uRfVp",
              1763615673976450, "Татьяна",
              "Когда сделают перерасчёт за отопление? В октябре тепла не "
              "было две недели")]),
    (39, [text("ChwKGkNGUUswc0ZWRno4WDFDdlYxa3JDajZmVTVn", "UCrLc1zNjqdSxN4EzdrJyV3F",
              1763615701297717, "Ернар",
              "Паркке арналған ақша қайда кетті? Ағаштар отырғызылды, бірақ "
              "бәрі қурап қалды")]),
    (40, [text("ChwKGkNFUFZWOTBQa2piWFZrLS1Lc2Vkc2Z3M1Ft", "UCeVWpQs79ND2Tt8uBKDHByT",
              1763615726888503, "Сәуле",
              "Канализация переполнена во дворе по Иманова 19, запах "
              "невозможный")]),
    (41, [text("ChwKGkNjTGJ5OF9UU2p3T0FIOG9UcjY4Q1VrRHlH", "UC00-wb6u63Z87aTAIjVRYme",
              1763615758436600, "Мирас",
              "Қар тазалау техникасы біздің көшеге ешқашан келмейді, Жұбанов "
              "көшесі")]),
    (42, [text("ChwKGkNJUmlBOGVSOHhSY2ZUODQyYTh3N1BwaEtW", "UCCsRToI0xqZqgLYmHutkNpg",
              1763615782399096, "Галина Петровна",
              "Спасибо, что отвечаете в прямом эфире 🙏")]),
    (43, [text("ChwKGkM5OWxYeDNFZXptVlBIZEFBTGpGQjRTS3V3", "UCuIx27SbcjdXCc6H6KicInq",
              1763615810467067, "Ильяс",
              "Можно ли вернуть маршрут 21 через Левый берег? После "
              "изменения схемы добираюсь с двумя пересадками")]),
    (44, [text("ChwKGkNpX01SNjRqOV94UEV1OHVXWXB4TjYyMElp", "UCaYHIJbU6-fWVCLPRyH6Vcj",
              1763615833373345, "Жансая",
              "Әкім мырза, жауап беріңізші: Сарыарқа ауданындағы жол жөндеу "
              "жұмыстары қашан аяқталады?")]),
]  # fmt: skip

# Every line of tests/fixtures/youtube_live_chat_replay.jsonl (the replay shape).
REPLAY: list[tuple[int, list[ChatEvent]]] = [
    (1, [text("ChwKGkNUYUFfaENDUkpCWVp0LVFRcWc5VG9HMzFa", "UC0zgnPBv0M18a03YdNs_13I",
              1763614932927997, "Ерлан Жақсылықов",
              "Когда отремонтируют дорогу по улице Абая? Ямы по колено 😡")]),
    (2, [text("ChwKGkNOaFpmWW02UlhBWWJ5dU1tN1R5eURsMWF3", "UCC4spxo2P2bMBO1KYaP351P",
              1763614967803126, "Гүлнар Әбенова",
              "Әкім мырза, Сайран шағын ауданында ыстық су жоқ")]),
    (3, [text("ChwKGkNLeHdmV2lfYmh1TmJxdlZEZGZIMHhaRm94", "UCppCnM6k-rRB_weEIOU5mP9",
              1763615011294924, "Марина Петрова",
              "Автобус №37 ходит раз в 40 минут 🚌")]),
    (4, [text("ChwKGkM4RzhxLWFYU1dfY1BvdzNuS2pjeTJYLUky", "UCfJPxp-h6Mj_agLTmVAeNvt",
              1763615038881937, "Дәурен Омаров",
              "Балалар алаңы сынған, Тәуелсіздік 34")]),
    (5, [text("ChwKGkNKUndJR3dZS2QyU2ppSWVDSVIwMEF3TUVE", "UCG-0OcS-t0o1PCrfLsjullI",
              1763615060988767, "Ольга Ким",
              "В доме по Сейфуллина 12 батареи еле тёплые")]),
    (6, [text("ChwKGkNQY092ZUhaM3kzVTcwdGoteXZWYWVuRFFQ", "UCs5I7-H1jq0bVCJlScmZjSB",
              1763615071678751, "Модератор Акимата",
              "Вопросы принимаются до 11:30")]),
    (7, [text("ChwKGkNIaVN0dk5IaVo0M3oxYWoxbXdQV29fQ203", "UCxRF5aLQjztwuy3VPr88NGv",
              1763615102836062, "Асхат Байжанов",
              "Жылу беру маусымы қашан толық іске қосылады?")]),
    (8, [text("ChwKGkM2Y2xjeENqdkV4RWhBZ1NnSXNTbTdwa2Fh", "UChHSynEc3LBHP2fLmiq1q14",
              1763615180134561, "Бауыржан",
              "Су құбыры жарылды, Төле би 250")]),
]  # fmt: skip

LIVE_FILE = "youtube_live_chat.jsonl"
REPLAY_FILE = "youtube_live_chat_replay.jsonl"


def lines_of(name: str) -> list[bytes]:
    return (FIXTURES / name).read_bytes().splitlines()


def test_the_tables_name_every_line_of_both_files_once() -> None:
    assert [number for number, _ in LIVE] == list(range(1, len(lines_of(LIVE_FILE)) + 1))
    assert [number for number, _ in REPLAY] == list(range(1, len(lines_of(REPLAY_FILE)) + 1))


@pytest.mark.parametrize(("number", "expected"), LIVE, ids=lambda v: str(v)[:2])
def test_each_line_of_the_live_file_is_read_as_the_table_says(
    number: int, expected: list[ChatEvent]
) -> None:
    assert parse(lines_of(LIVE_FILE)[number - 1]) == expected


@pytest.mark.parametrize(("number", "expected"), REPLAY, ids=lambda v: str(v)[:2])
def test_each_line_of_the_replay_file_is_read_as_the_table_says(
    number: int, expected: list[ChatEvent]
) -> None:
    assert parse(lines_of(REPLAY_FILE)[number - 1]) == expected


def test_the_live_file_holds_the_messages_its_readme_counts() -> None:
    events = [event for line in lines_of(LIVE_FILE) for event in parse(line)]
    messages = [event for event in events if isinstance(event, ChatMessage)]
    assert [m.kind for m in messages].count("text") == 37  # the pinned one (10) is a banner
    assert [(m.amount, m.currency) for m in messages if m.kind == "superchat"] == [
        ("2000.00", "KZT")
    ]
    assert len({m.id for m in messages}) == len(messages)
    assert [e for e in events if not isinstance(e, ChatMessage)] == [
        ChatRemoval(id="ChwKGkN6bW82SVlIWlRaeFRuRlRyaGh5Z3k0MENW"),
        AuthorBan(author_channel="UCHdNMP1xJzr77sy5zV-pz76"),
    ]


# Unit cases: one action or renderer at a time, in lines built here.

USEC = 1763615000123456


def line(*actions: object, live: bool = True) -> str:
    """A line as yt-dlp writes it: the live shape, or the replay shape (offset inside)."""
    if live:
        wrapped: dict[str, object] = {"replayChatItemAction": {"actions": list(actions)}}
        return json.dumps({**wrapped, "videoOffsetTimeMsec": "-1200", "isLive": True})
    replay = {"actions": list(actions), "videoOffsetTimeMsec": "37072"}
    return json.dumps({"clickTrackingParams": "CAEQ", "replayChatItemAction": replay})


def runs(*items: object) -> dict[str, object]:
    return {"runs": [{"text": item} if isinstance(item, str) else item for item in items]}


def body(**fields: object) -> dict[str, object]:
    """A message renderer's fields, with an author, an id and a time unless given."""
    base: dict[str, object] = {
        "id": "ChwKGkNhYmM",
        "timestampUsec": str(USEC),
        "authorName": {"simpleText": "Айгерим"},
        "authorExternalChannelId": "UCaigerim",
        "message": runs("Сәлем"),
    }
    return {key: value for key, value in (base | fields).items() if value is not None}


def add(renderer: str, fields: object) -> dict[str, object]:
    return {"clickTrackingParams": "CAEQ", "addChatItemAction": {"item": {renderer: fields}}}


def message(
    *,
    id: str = "ChwKGkNhYmM",
    author: str = "Айгерим",
    author_channel: str = "UCaigerim",
    text: str = "Сәлем",
    kind: Kind = "text",
    amount: str = "",
    currency: str = "",
) -> ChatMessage:
    """The message `body()` reads as, with some fields changed."""
    return ChatMessage(
        id=id,
        author=author,
        author_channel=author_channel,
        timestamp_usec=USEC,
        text=text,
        kind=kind,
        amount=amount,
        currency=currency,
    )


def emoji(emoji_id: str, *shortcuts: str, **more: object) -> dict[str, object]:
    return {"emoji": {"emojiId": emoji_id, "shortcuts": list(shortcuts), **more}}


@pytest.mark.parametrize("live", [True, False], ids=["live", "replay"])
def test_a_text_message_in_either_shape(live: bool) -> None:
    assert parse(line(add("liveChatTextMessageRenderer", body()), live=live)) == [message()]


def test_str_and_bytes_read_alike() -> None:
    built = line(add("liveChatTextMessageRenderer", body(message=runs("Қала 😡"))))
    assert parse(built) == parse(built.encode()) == [message(text="Қала 😡")]


def test_every_action_of_a_replay_line_is_read_in_order() -> None:
    first = add("liveChatTextMessageRenderer", body(id="A1", message=runs("бір")))
    second = add("liveChatTextMessageRenderer", body(id="A2", message=runs("екі")))
    removal = {"removeChatItemAction": {"targetItemId": "A1"}}
    assert parse(line(first, removal, second, live=False)) == [
        message(id="A1", text="бір"),
        ChatRemoval(id="A1"),
        message(id="A2", text="екі"),
    ]


def test_a_raw_replay_action_without_the_wrapper_is_read_too() -> None:
    """yt-dlp's replay writer writes every action as it comes, wrapped or not."""
    raw = add("liveChatTextMessageRenderer", body())
    assert parse(json.dumps(raw)) == [message()]
    assert parse(json.dumps({"clickTrackingParams": "x", "showLiveChatTooltipCommand": {}})) == []


def test_a_super_chat_carries_its_amount_and_currency() -> None:
    paid = body(purchaseAmountText={"simpleText": "$5.00"}, message=runs("Сұрақ"))
    assert parse(line(add("liveChatPaidMessageRenderer", paid))) == [
        message(text="Сұрақ", kind="superchat", amount="5.00", currency="USD")
    ]


def test_a_super_chat_without_words_is_still_a_message() -> None:
    paid = body(purchaseAmountText={"simpleText": "₸2,000.00"}, message=None)
    assert parse(line(add("liveChatPaidMessageRenderer", paid))) == [
        message(text="", kind="superchat", amount="2000.00", currency="KZT")
    ]


def test_a_super_chat_whose_amount_is_missing_has_none() -> None:
    paid = body(message=runs("Сұрақ"))
    assert parse(line(add("liveChatPaidMessageRenderer", paid))) == [
        message(text="Сұрақ", kind="superchat")
    ]


def test_a_super_sticker_reads_as_its_label() -> None:
    label = {"accessibility": {"accessibilityData": {"label": "Rocket launch"}}}
    sticker = body(message=None, purchaseAmountText={"simpleText": "€2.00"}, sticker=label)
    assert parse(line(add("liveChatPaidStickerRenderer", sticker))) == [
        message(text="Rocket launch", kind="supersticker", amount="2.00", currency="EUR")
    ]


def test_a_super_sticker_without_a_label_has_no_words() -> None:
    sticker = body(message=None, purchaseAmountText={"simpleText": "£1.00"}, sticker={})
    assert parse(line(add("liveChatPaidStickerRenderer", sticker))) == [
        message(text="", kind="supersticker", amount="1.00", currency="GBP")
    ]


def test_a_membership_milestone_with_words_is_a_message() -> None:
    milestone = body(headerPrimaryText=runs("Member for 6 months"), message=runs("Рахмет!"))
    assert parse(line(add("liveChatMembershipItemRenderer", milestone))) == [
        message(text="Рахмет!", kind="membership")
    ]


def test_a_new_member_welcome_without_words_is_no_message() -> None:
    welcome = body(headerSubtext=runs("Welcome to Akimat Live!"), message=None)
    assert parse(line(add("liveChatMembershipItemRenderer", welcome))) == []


@pytest.mark.parametrize(
    "action",
    [
        {"removeChatItemAction": {"targetItemId": "ChwKGkNhYmM"}},
        {"markChatItemAsDeletedAction": {"deletedStateMessage": runs("[message deleted]"),
                                         "targetItemId": "ChwKGkNhYmM"}},
    ],
    ids=["remove", "mark-deleted"],
)  # fmt: skip
def test_youtube_deletions_name_the_message(action: dict[str, object]) -> None:
    assert parse(line(action)) == [ChatRemoval(id="ChwKGkNhYmM")]


@pytest.mark.parametrize(
    "action",
    [
        {"removeChatItemByAuthorAction": {"externalChannelId": "UCspam"}},
        {"markChatItemsByAuthorAsDeletedAction": {"deletedStateMessage": runs("[removed]"),
                                                  "externalChannelId": "UCspam"}},
    ],
    ids=["remove-by-author", "mark-by-author"],
)  # fmt: skip
def test_youtube_bans_name_the_channel(action: dict[str, object]) -> None:
    assert parse(line(action)) == [AuthorBan(author_channel="UCspam")]


def test_a_placeholder_replaced_by_the_real_message_is_the_message() -> None:
    placeholder = add(
        "liveChatPlaceholderItemRenderer", {"id": "ChwKGkNhYmM", "timestampUsec": str(USEC)}
    )
    replaced = {"replaceChatItemAction": {
        "targetItemId": "ChwKGkNhYmM",
        "replacementItem": {"liveChatTextMessageRenderer": body()},
    }}  # fmt: skip
    assert parse(line(placeholder)) == []
    assert parse(line(replaced)) == [message()]


def test_a_placeholder_replaced_by_another_placeholder_is_nothing() -> None:
    replaced = {"replaceChatItemAction": {
        "targetItemId": "ChwKGkNhYmM",
        "replacementItem": {"liveChatPlaceholderItemRenderer": {"id": "ChwKGkNhYmM"}},
    }}  # fmt: skip
    assert parse(line(replaced)) == []


@pytest.mark.parametrize(
    "action",
    [
        {"addLiveChatTickerItemAction": {"item": {"liveChatTickerSponsorItemRenderer": {
            "id": "T1", "showItemEndpoint": {"showLiveChatItemEndpoint": {"renderer": {
                "liveChatMembershipItemRenderer": body(message=runs("hidden"))}}}}},
            "durationSec": "120"}},
        {"addBannerToLiveChatCommand": {"bannerRenderer": {"liveChatBannerRenderer": {
            "contents": {"liveChatTextMessageRenderer": body()}, "actionId": "B1"}}}},
        {"removeBannerForLiveChatCommand": {"targetActionId": "B1"}},
        {"updateLiveChatPollAction": {"pollToUpdate": {"pollRenderer": {"choices": []}}}},
        {"showLiveChatActionPanelAction": {"panelToShow": {}}},
        {"closeLiveChatActionPanelAction": {"targetPanelId": "P1"}},
        {"liveChatReportModerationStateCommand": {}},
        add("liveChatViewerEngagementMessageRenderer", body(message=runs("Welcome!"))),
        add("liveChatModeChangeMessageRenderer", {"text": runs("Slow mode is on")}),
        add("liveChatPlaceholderItemRenderer", {"id": "P1"}),
        add("liveChatSponsorshipsGiftPurchaseAnnouncementRenderer", {"id": "G1"}),
        add("liveChatDonationAnnouncementRenderer", {"id": "D1"}),
    ],
    ids=["ticker", "banner", "unpin", "poll", "panel", "close-panel", "report-state",
         "engagement", "mode-change", "placeholder", "gift", "donation"],
)  # fmt: skip
def test_what_is_not_a_message_gives_nothing(action: dict[str, object]) -> None:
    assert parse(line(action)) == []


def test_a_blank_line_gives_nothing() -> None:
    assert parse(b"") == parse("  \t") == []


# Text as YouTube renders the runs


@pytest.mark.parametrize(
    ("runs_of", "rendered"),
    [
        ((emoji("👍", ":thumbs_up:"),), "👍"),
        (("Алло ", emoji("👨‍👩‍👧‍👦", ":family:"), "!"), "Алло 👨‍👩‍👧‍👦!"),
        ((emoji("🏳️‍🌈", ":rainbow_flag:"), emoji("🇰🇿", ":flag_kazakhstan:")), "🏳️‍🌈🇰🇿"),
        ((emoji("👋🏽", ":waving_hand_medium_skin_tone:"),), "👋🏽"),
        ((emoji("UCchan/hpw", ":hand-pink-waving:", ":wave:", isCustomEmoji=True), " Сәлем"),
         ":hand-pink-waving: Сәлем"),
        ((emoji("UCchan/abc", ":_astana:"),), ":_astana:"),  # custom, flag absent
        (({"emoji": {"emojiId": "UCchan/x", "searchTerms": ["astana"], "isCustomEmoji": True}},),
         ":astana:"),
        (({"emoji": {"shortcuts": [":smile:"]}},), ":smile:"),  # no id: its shortcut
        (({"text": "akimat.kz", "navigationEndpoint": {"urlEndpoint": {
            "url": "https://www.youtube.com/redirect?q=https%3A%2F%2Fakimat.kz"}}},), "akimat.kz"),
        (({"text": "Маңызды", "bold": True}, {"text": " сұрақ", "italics": True}),
         "Маңызды сұрақ"),
        (("  бос  орын  ",), "  бос  орын  "),
        (("жол\u2028бөлгіш",), "жол\u2028бөлгіш"),
    ],
    ids=["unicode", "zwj-family", "zwj-flag-and-flag", "skin-tone", "custom", "custom-by-id",
         "custom-search-term", "no-id", "link", "bold-italics", "spaces", "line-separator"],
)  # fmt: skip
def test_runs_render_as_youtube_shows_them(runs_of: tuple[object, ...], rendered: str) -> None:
    built = line(add("liveChatTextMessageRenderer", body(message=runs(*runs_of))))
    assert parse(built) == [message(text=rendered)]


@pytest.mark.parametrize(
    "control", ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                "\u2066", "\u2067", "\u2068", "\u2069", "\u061c"],
)  # fmt: skip
def test_bidi_controls_are_removed_from_names(control: str) -> None:
    named = body(authorName={"simpleText": f"{control}Ерлан{control} Б.{control}"})
    assert parse(line(add("liveChatTextMessageRenderer", named))) == [message(author="Ерлан Б.")]


def test_a_name_in_runs_is_read_and_a_missing_name_or_channel_is_empty() -> None:
    named = body(authorName=runs("\u202eАсель"), authorExternalChannelId=None)
    nameless = body(authorName=None)
    assert parse(line(add("liveChatTextMessageRenderer", named))) == [
        message(author="Асель", author_channel="")
    ]
    assert parse(line(add("liveChatTextMessageRenderer", nameless))) == [message(author="")]
    odd = body(authorName={"accessibility": {}})
    assert parse(line(add("liveChatTextMessageRenderer", odd))) == [message(author="")]


def test_the_time_may_be_a_number() -> None:
    timed = body(timestampUsec=USEC)
    assert parse(line(add("liveChatTextMessageRenderer", timed))) == [message()]


# Amounts: two decimals, the ISO code of the symbol or the code


@pytest.mark.parametrize(
    ("written", "amount", "currency"),
    [
        ("₸2,000.00", "2000.00", "KZT"), ("KZT 2,000.00", "2000.00", "KZT"),
        ("2 000,00 ₸", "2000.00", "KZT"), ("$5.00", "5.00", "USD"), ("US$5", "5.00", "USD"),
        ("RUB 500.00", "500.00", "RUB"), ("₽500.00", "500.00", "RUB"),
        ("500,00\u00a0₽", "500.00", "RUB"), ("€5,00", "5.00", "EUR"),
        ("£1,234.5", "1234.50", "GBP"), ("¥200", "200.00", "JPY"),
        ("JP¥1,000", "1000.00", "JPY"), ("A$5.00", "5.00", "AUD"),
        ("CA$10.99", "10.99", "CAD"), ("₹100.00", "100.00", "INR"),
        ("₩10,000", "10000.00", "KRW"), ("TRY 50.00", "50.00", "TRY"),
        ("₺50.00", "50.00", "TRY"), ("1.000.000,5 €", "1000000.50", "EUR"),
        ("\u200e₸1,000\u200f", "1000.00", "KZT"), ("$0.995", "1.00", "USD"),
        ("฿100.00", "100.00", ""), ("kr 50", "50.00", ""), ("Usd 5", "5.00", ""),
        ("free", "", ""), ("", "", ""), ("$" + "9" * 40, "", "USD"),
    ],
)  # fmt: skip
def test_purchase_amounts(written: str, amount: str, currency: str) -> None:
    paid = body(purchaseAmountText={"simpleText": written})
    assert parse(line(add("liveChatPaidMessageRenderer", paid))) == [
        message(kind="superchat", amount=amount, currency=currency)
    ]


def test_a_purchase_amount_in_runs() -> None:
    paid = body(purchaseAmountText=runs("₸", "5,000.00"))
    assert parse(line(add("liveChatPaidMessageRenderer", paid))) == [
        message(kind="superchat", amount="5000.00", currency="KZT")
    ]


# Lines not understood: Unreadable, with a reason

TEXT = "liveChatTextMessageRenderer"


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"replayChatItemAction": {"actions": [', "not JSON"),
        ("[" * 100_000, "not JSON"),
        ("[1, 2]", "the line is not an object"),
        ('"text"', "the line is not an object"),
        ('{"videoOffsetTimeMsec": "0", "isLive": true}', "neither a live nor a replay chat line"),
        ('{"replayChatItemAction": []}', "replayChatItemAction is not an object"),
        ('{"replayChatItemAction": {"videoOffsetTimeMsec": "1"}}',
         "replayChatItemAction has no list of actions"),
        (line("add"), "an action is not an object"),
        (line({"addChatItemAction": []}), "addChatItemAction is not an object"),
        (line({"addChatItemAction": {}}), "addChatItemAction.item is not an object"),
        (line({"replaceChatItemAction": {"targetItemId": "x"}}),
         "replaceChatItemAction.replacementItem is not an object"),
        (line(add(TEXT, "text")), "liveChatTextMessageRenderer is not an object"),
        (line(add(TEXT, body(message=None))), "no message"),
        (line(add(TEXT, body(message="Сәлем"))), "a message is not an object"),
        (line(add(TEXT, body(message={"simpleText": "Сәлем"}))), "a message without runs"),
        (line(add(TEXT, body(message={"runs": ["Сәлем"]}))), "a run is not an object"),
        (line(add(TEXT, body(message={"runs": [{"image": {}}]}))),
         "a run that is neither text nor emoji"),
        (line(add(TEXT, body(message={"runs": [{"emoji": "😀"}]}))), "an emoji is not an object"),
        (line(add(TEXT, body(message=runs({"emoji": {"emojiId": "UCc/x", "shortcuts": []}})))),
         "an emoji without a name"),
        (line(add(TEXT, body(id=None))), "no id"),
        (line(add(TEXT, body(id=""))), "no id"),
        (line(add(TEXT, body(timestampUsec=None))), "a message without a timestampUsec"),
        (line(add(TEXT, body(timestampUsec="1.5"))), "a message without a timestampUsec"),
        (line(add(TEXT, body(timestampUsec="-1"))), "a message without a timestampUsec"),
        (line(add(TEXT, body(timestampUsec="١٢٣"))), "a message without a timestampUsec"),
        (line(add(TEXT, body(timestampUsec="9" * 5000))), "a message without a timestampUsec"),
        (line(add(TEXT, body(timestampUsec=-5))), "a message without a timestampUsec"),
        (line(add(TEXT, body(timestampUsec=True))), "a message without a timestampUsec"),
        (line({"removeChatItemAction": {}}), "no targetItemId"),
        (line({"removeChatItemByAuthorAction": {"externalChannelId": 7}}),
         "no externalChannelId"),
        (line(add(TEXT, body(message=runs("half \ud83d")))), "a lone surrogate in the text"),
    ],
)  # fmt: skip
def test_lines_not_understood_are_unreadable_with_a_reason(
    written: str | bytes, reason: str
) -> None:
    with pytest.raises(Unreadable) as raised:
        parse(written)
    assert raised.value.reason == reason
    assert isinstance(raised.value, ValueError)


@given(st.binary(max_size=400))
def test_any_bytes_are_read_or_unreadable(data: bytes) -> None:
    try:
        events = parse(data)
    except Unreadable:
        return
    assert all(isinstance(e, ChatMessage | ChatRemoval | AuthorBan) for e in events)


# JSON made of the words the reader looks for, nested anyhow: read or Unreadable, nothing else.
WORDS = st.sampled_from([
    "replayChatItemAction", "actions", "addChatItemAction", "replaceChatItemAction",
    "replacementItem", "item", "removeChatItemAction", "markChatItemAsDeletedAction",
    "removeChatItemByAuthorAction", "markChatItemsByAuthorAsDeletedAction", "targetItemId",
    "externalChannelId", TEXT, "liveChatPaidMessageRenderer", "liveChatPaidStickerRenderer",
    "liveChatMembershipItemRenderer", "id", "timestampUsec", "authorName", "simpleText", "runs",
    "text", "emoji", "emojiId", "shortcuts", "searchTerms", "isCustomEmoji", "message",
    "purchaseAmountText", "sticker", "accessibility", "accessibilityData", "label",
    "authorExternalChannelId", "showLiveChatTooltipCommand",
])  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["12", "$5"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=4),
    max_leaves=30,
)


@given(JSON)
def test_any_json_of_its_words_is_read_or_unreadable(value: object) -> None:
    try:
        events = parse(json.dumps(value))
    except Unreadable:
        return
    for event in events:
        if isinstance(event, ChatMessage):
            assert event.timestamp_usec >= 0
            assert event.id
