"""What `make demo` serves: a live Almaty district meeting, and a demo staff user per role.

Its comments and questions go in through `submit`, as every channel's do.
"""

from __future__ import annotations

import asyncio

from moderation import (
    AkimLevel,
    AskQuestion,
    CreateMeeting,
    Meeting,
    MeetingStatus,
    PostComment,
    StartMeeting,
    Submission,
)
from server.auth.accounts import AuditKind, Role, User, generate_password, hash_password
from server.store.staff import StaffStore
from server.usecases import Rejected, UseCases, change_meeting, create_meeting, submit

DEMO_ID = "almaly-demo"

SEED = (
    ("Айгерім", "Сәлеметсіз бе! Абай даңғылындағы жол жөндеуі қашан аяқталады?"),
    ("Сергей", "Добрый вечер. Когда во дворах по улице Толе би починят освещение?"),
    ("Нұрлан", "Біздің ауланы абаттандыру жоспарда бар ма? Балалар алаңы жоқ."),
    ("Марина", "Почему автобус №32 на Жибек Жолы ходит раз в 40 минут?"),
    ("Ерлан", "Позвоните мне 8 701 234 56 78, расскажу про свалку у арыка"),
    ("Данияр", "Ыстық су үш күннен бері жоқ. Қашан береді?"),
)
# Questions for the console: the second repeats the first in Kazakh Latin letters.
QUESTIONS = (
    ("Әсел", "Төле би көшесіндегі жол қашан жөнделеді?"),
    ("Asel", "Tole bi koshesindegi jol qashan jondeledi?"),
    ("Виктор", "Когда заменят трубы отопления в домах по улице Байзакова?"),
    ("Гүлнар", "Мектепке жақын жерде бағдаршам орнатыла ма?"),
)


async def ensure_demo(cases: UseCases) -> Meeting:
    """The live demo meeting, created and seeded with a few comments the first time."""
    meeting = await cases.store.meetings.get(DEMO_ID)
    if meeting is None:
        command = CreateMeeting(
            title="Алмалы ауданы әкімінің халықпен кездесуі",
            titles={
                "kk": "Алмалы ауданы әкімінің халықпен кездесуі",
                "ru": "Встреча акима Алмалинского района с населением",
                "en": "The Almaly district akim meets residents",
            },
            akim="Ерлан Сапаров",
            level=AkimLevel.LOCAL,
            territory="Алматы, Алмалы ауданы",
            planned_minutes=120,
        )
        meeting = await create_meeting(cases, command, meeting_id=DEMO_ID)
    if meeting.status is MeetingStatus.SCHEDULED:
        meeting = await change_meeting(cases, DEMO_ID, StartMeeting())
        seeds = [
            Submission(what=PostComment(client_msg_id=f"demo-seed-{n}", name=name, text=text),
                       sender=f"demo{n}")
            for n, (name, text) in enumerate(SEED, start=1)
        ]  # fmt: skip
        seeds += [
            Submission(what=AskQuestion(client_msg_id=f"demo-question-{n}", name=name, text=text),
                       sender=f"demoq{n}")
            for n, (name, text) in enumerate(QUESTIONS, start=1)
        ]  # fmt: skip
        for submission in seeds:
            outcome = await submit(cases, meeting, submission)
            assert not isinstance(outcome, Rejected), outcome
    return meeting


async def ensure_demo_users(staff: StaffStore, now: float) -> dict[str, str]:
    """`demo-admin`, `demo-moderator`, ...: made if missing, with new passwords at each start.

    Returns each name's password; they are printed once, so a demo restart resets them.
    """
    passwords = {}
    for role in Role:
        name, password = f"demo-{role.value}", generate_password()
        password_hash = await asyncio.to_thread(hash_password, password)
        user = User(name=name, role=role, password_hash=password_hash, created=now)
        if await staff.add_user(user):
            await staff.audit(AuditKind.USER_ADDED, "demo", now, subject=name, detail=role.value)
        else:
            await staff.set_password_hash(name, password_hash)
            await staff.set_role(name, role)
        passwords[name] = password
    return passwords
