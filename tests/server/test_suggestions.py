"""Asking and promoting suggest alike (R4): the same duplicates, topic and district for the same
text against the same board, whichever way a question comes in.

Regression for the seams issue: a question promoted from a comment on the console used to be
compared with nothing, because the action saw only the items it named.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from moderation import AkimLevel, AskQuestion, Meeting, StartMeeting, Submission
from server.auth.accounts import Role
from server.store import Store
from server.usecases import Asked, UseCases, change_meeting, create_meeting, submit
from tests.conftest import meeting_command
from tests.consoles import Console, ask, console, open_session
from tests.helpers import LiveServer, catch_up, comment, recv_until

pytestmark = pytest.mark.anyio

# The board both paths start from: earlier questions of a city meeting.
EARLIER = (
    "Когда отремонтируют дорогу на улице Жандосова?",
    "Почему в школе №45 нет отопления уже неделю?",
    "Когда в Медеуском районе дадут горячую воду?",
    "Автобус 32 ходит раз в час, можно чаще?",
    "Абай көшесіндегі жол қашан жөнделеді?",
    "Когда установят фонари во дворе дома 12 на Сатпаева?",
    "Мусор не вывозят уже неделю в Турксибском районе",
    "Бостандық ауданында жаңа мектеп қашан салынады?",
)
# What arrives next, asked on one path and promoted from a comment on the other, in this order:
# repeats in other words, scripts and languages, new problems, and districts named or not.
TEXTS = (
    "Кагда отремантируют дорогу на Жандосова?",
    "Tole bi koshesindegi jol qashan jondeledi?",
    "Абай көшесіндегі жол қашан жөнделеді",
    "В школе 45 холодно, когда дадут отопление?",
    "Горячей воды нет в Медеуском районе, когда дадут?",
    "Почему автобус №32 так редко ходит?",
    "Во дворе дома 12 по Сатпаева темно, когда поставят фонари?",
    "Когда в Алатауском районе построят поликлинику?",
    "Турксибский район завален мусором, вывезите пожалуйста",
    "Когда отремонтируют дорогу на улице Жандосова?",
    "Бостандық ауданында мектеп қашан салынады?",
    "Почему выросли тарифы на коммунальные услуги?",
)


async def new_meeting(store: Store) -> Meeting:
    """A live city meeting (so districts are known) seeded with `EARLIER`, through `submit`."""
    cases = UseCases(store=store)
    created = await create_meeting(
        cases, meeting_command(territory="Алматы", level=AkimLevel.CITY_REPUBLICAN)
    )
    meeting = await change_meeting(cases, created.id, StartMeeting())
    for number, text in enumerate(EARLIER):
        what = AskQuestion(client_msg_id=f"seed{number}", name="", text=text)
        outcome = await submit(cases, meeting, Submission(what=what, sender=f"s{number}"))
        assert isinstance(outcome, Asked), outcome
    return meeting


def hints(desk: Console, question: dict[str, Any]) -> tuple[list[str], str, str]:
    """A question's suggestions, its duplicates named by their text (ids differ per meeting)."""
    similar = [desk.items[i]["text"] for i in question["similar"]]
    return similar, question["suggested_topic"], question["suggested_district"]


async def asked(desk: Console, viewer: ClientConnection, text: str) -> tuple[list[str], str, str]:
    question = await ask(viewer, "q" + secrets.token_hex(6), text)
    await desk.sees(question)
    return hints(desk, desk.items[question])


async def promoted(
    desk: Console, viewer: ClientConnection, text: str
) -> tuple[list[str], str, str]:
    await viewer.send(comment("c" + secrets.token_hex(6), text))
    ack, _ = await recv_until(viewer, lambda f: f["type"] == "ack")
    await desk.sees(ack["id"])
    assert (await desk.act("promote", ack["id"]))["type"] == "result"
    await desk.until(lambda c: any(i["source"] == ack["id"] for i in c.items.values()))
    question = next(i for i in desk.items.values() if i["source"] == ack["id"])
    return hints(desk, question)


async def test_asking_and_promoting_give_the_same_suggestions(
    server: LiveServer, store: Store
) -> None:
    first, second = await new_meeting(store), await new_meeting(store)
    session = await open_session(store, "aliya", Role.MODERATOR)
    async with (
        console(server.url, first.id, session) as ask_ws,
        console(server.url, second.id, session) as promote_ws,
        server.socket(first.id) as asker,
        server.socket(second.id) as commenter,
    ):
        ask_desk, promote_desk = await Console(ask_ws).start(), await Console(promote_ws).start()
        await catch_up(asker)
        await catch_up(commenter)
        table = []
        for text in TEXTS:
            by_asking = await asked(ask_desk, asker, text)
            by_promoting = await promoted(promote_desk, commenter, text)
            table.append((text, by_asking, by_promoting))
    for text, by_asking, by_promoting in table:
        assert by_promoting == by_asking, text
    # The table is worth comparing: half the texts repeat an earlier question, and the paths
    # agree on real topics and districts, not only on empty answers.
    assert sum(bool(a[0]) for _, a, _ in table) >= 6
    assert sum(a[1] != "other" for _, a, _ in table) >= 10
    assert sum(bool(a[2]) for _, a, _ in table) >= 4
