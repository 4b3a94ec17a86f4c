"""What `make demo` serves: a live Almaty district meeting, and a demo staff user per role.

Its comments and questions go in through `submit`, as every channel's do.
"""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from moderation import (
    AkimLevel,
    AskQuestion,
    Channel,
    CreateMeeting,
    EndMeeting,
    Meeting,
    MeetingStatus,
    Moderate,
    PostComment,
    StartMeeting,
    Submission,
)
from moderation.deadlines import ALMATY
from moderation.events import (
    MeetingStarted,
    Phase,
    QuestionAnswered,
    QuestionDeferred,
    QuestionOnAir,
)
from moderation.model import Action, ModerationReason
from moderation.pool import Filters, listed
from moderation.promises import Pledge
from recordings.ytdlp import ffmpeg
from server.auth.accounts import AuditKind, Role, User, generate_password, hash_password
from server.cli.calendar import ensure_almaty_calendar
from server.cli.offices import ALMATY as ALMATY_OFFICE
from server.cli.offices import ensure_almaty
from server.store.staff import StaffStore
from server.usecases import (
    Asked,
    Held,
    Posted,
    Rejected,
    UseCases,
    act,
    change_meeting,
    create_meeting,
    offices,
    pool,
    submit,
)
from server.usecases.clock import change_phase
from server.usecases.rundown import finish, take

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
    await ensure_almaty(cases)  # issue 12: Almaty's offices; this meeting is almaty-almaly's
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
            office="almaty-almaly",
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


# The finished demo meeting (issue 12): the Almaty city akim's meeting of a few days ago, run
# through the real use cases on a scripted clock, so its results page has a report to show.

RESULTS_ID = "almaty-results-demo"
MINUTE = 60_000
PLANNED_MINUTES = 90  # R4: a budget of 22:30 for the presentation
PRESENTATION_MINUTES = 24  # a little over the budget, so the chart shows it
DAYS_AGO = 3
PRODUCER, MODERATOR = "demo-producer", "demo-moderator"
C = Channel


@dataclass(frozen=True, slots=True)
class Scripted:
    """A question of the finished demo meeting and what became of it: answered or deferred
    on air (in this order), merged into an earlier one (`into`, its index), rejected with a
    reason, or approved and never reached (`fate` "wait")."""

    channel: Channel
    name: str
    text: str
    topic: str = ""
    district: str = ""
    fate: str = "wait"
    into: int = -1
    answer: tuple[str, str] = ("", "")  # what the akim says on air: Kazakh, Russian captions


RESULTS_QUESTIONS = (
    Scripted(C.WEB, "Айгерім", "Төле би көшесіндегі жол қашан жөнделеді? Шұңқырлар көп.",
             "roads", "Алмалы", "answered",
             answer=("Төле би көшесін жөндеу мамыр айында басталады.",
                     "Ремонт улицы Толе би начнётся в мае.")),
    Scripted(C.PHONE, "Сергей", "Когда в Ауэзовском районе дадут горячую воду? Третий день нет.",
             "water", "Ауэзов", "answered",
             answer=("Ауэзов ауданында ыстық су ертең беріледі.",
                     "Горячую воду в Ауэзовском районе дадут завтра.")),
    Scripted(C.WHATSAPP, "Нұрлан",
             "Наурызбай ауданында жаңа мектеп салына ма? Балалар алысқа барады",
             "education", "Наурызбай", "answered",
             answer=("Наурызбай ауданында екі мектеп салынады.",
                     "В Наурызбайском районе построят две школы.")),
    Scripted(C.TELEGRAM, "Марина", "Почему автобус №32 в Турксибском районе ходит раз в 40 минут?",
             "transport", "Турксиб", "deferred",
             answer=("Бұл сұрақты көлік басқармасы қарайды.",
                     "Этот вопрос рассмотрит управление транспорта.")),
    Scripted(C.YOUTUBE, "Данияр", "Алатау ауданындағы саябақта жарық жоқ, қашан орнатады?",
             "landscaping", "Алатау", "answered",
             answer=("Саябаққа шамдар осы айда орнатылады.",
                     "Фонари в парке установят в этом месяце.")),
    Scripted(C.EMAIL, "Гүлнар", "Когда в Медеуском районе откроют новую поликлинику?",
             "health", "Медеу", "answered",
             answer=("Медеу ауданындағы емхана күзде ашылады.",
                     "Поликлиника в Медеуском районе откроется осенью.")),
    Scripted(C.WEB, "Ерлан", "Жетісу ауданындағы үйлердің жылу жүйесін қашан жөндейді?",
             "heating", "Жетысу", "answered",
             answer=("Жылу желілері жазда жөнделеді.",
                     "Тепловые сети отремонтируют летом.")),
    Scripted(C.PHONE, "Виктор", "Когда заменят лифты в домах Бостандыкского района?",
             "housing", "Бостандык"),
    Scripted(C.TELEGRAM, "Асель", "Медеу ауданында жер телімін алу кезегі қашан жылжиды?",
             "land", "Медеу"),
    Scripted(C.YOUTUBE, "Бауыржан", "Турксиб ауданында қоқыс шығару қашан реттеледі?",
             "landscaping", "Турксиб"),
    Scripted(C.WHATSAPP, "Ольга", "Когда починят дорогу на Толе би? Ямы огромные.",
             fate="merge", into=0),
    Scripted(C.WEB, "Asel", "Auezov audanynda ystyq su qashan beriledi?", fate="merge", into=1),
    Scripted(C.EMAIL, "Тимур", "Продвижение вашего канала недорого, пишите", fate="advertising"),
)  # fmt: skip
# Comments of the chat, and the reason a moderator hid each hidden one ("" shown).
RESULTS_COMMENTS = (
    (C.WEB, "Айжан", "Сәлеметсіз бе! Кездесу басталды ма?", ""),
    (C.YOUTUBE, "Олжас", "Добрый вечер из Алатауского района", ""),
    (C.WEB, "Продавец", "Звоните 8 701 234 56 78, продаю квартиры недорого", "spam"),
    (C.YOUTUBE, "Гость", "Вы все бездельники и лжецы", "abuse"),
    (C.WEB, "Арман", "Кто сегодня смотрит футбол?", "off_topic"),
    (C.WEB, "Сәуле", "Жарық мәселесі өте өзекті, рахмет!", ""),
)  # fmt: skip
REASONS = {reason.value for reason in ModerationReason}
AIR_MINUTES = 6  # each question on air for this long, the first from the start of the Q&A
CITY_AKIM = "Нұржан Төлегенов"  # the holder of the `almaty` office the demo seeds
DAY = 24 * 60  # minutes


class ScriptedClock:
    """The demo's clock: the use cases read it, the script moves it (minutes from the start)."""

    def __init__(self, start_ms: int) -> None:
        self.start_ms = self.now_ms = start_ms

    def __call__(self) -> int:
        return self.now_ms

    def at(self, minutes: float) -> None:
        self.now_ms = self.start_ms + round(minutes * MINUTE)


def results_start(now_ms: int) -> datetime:
    """When the finished demo meeting began: 18:00 in Almaty, `DAYS_AGO` days before now."""
    today = datetime.fromtimestamp(now_ms / 1000, ALMATY).date()
    return datetime.combine(today - timedelta(days=DAYS_AGO), time(18), ALMATY)


async def ensure_results_demo(cases: UseCases, data_dir: Path) -> Meeting:
    """The finished demo meeting: scripted the first time, left as it is after (an interrupted
    script is ended where it stopped); its captions are written every time."""
    await ensure_almaty(cases)  # the meeting is the Almaty city office's (issue 12)
    await ensure_almaty_calendar(cases)  # issue 13: Almaty's calendar of the year (R1)
    meeting = await cases.store.meetings.get(RESULTS_ID)
    if meeting is None:
        meeting = await _script_results(cases)
    elif meeting.status is not MeetingStatus.ENDED:
        clock = ScriptedClock(meeting.started_at or cases.clock())
        clock.at(PLANNED_MINUTES)
        scripted = UseCases(store=cases.store, clock=clock)
        meeting = await change_meeting(scripted, RESULTS_ID, EndMeeting())
    await write_captions(cases, data_dir)
    if meeting.status is MeetingStatus.ENDED:
        length_s = (meeting.ended_at - meeting.started_at) // 1000
        await asyncio.to_thread(write_recording, data_dir / "recordings" / RESULTS_ID, length_s)
    await _ensure_follow_up(cases, meeting)
    return meeting


def write_recording(folder: Path, length_s: int) -> Path:
    """A stand-in for the meeting's archived recording, made once with ffmpeg: a test card
    whose counter shows the seconds from the start, a frame every 5 s (under 1 MB), so a
    transcript link opening it "at 0:25:00" visibly lands on 1500."""
    path = folder / f"{RESULTS_ID}.mp4"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")  # never taken for the recording (transcript)
    card = f"testsrc=size=320x180:rate=0.2:duration={length_s}"
    subprocess.run(
        [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", card,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "35", "-pix_fmt", "yuv420p",
         "-g", "6", "-movflags", "+faststart", "-f", "mp4", str(part)],
        check=True, timeout=120,
    )  # fmt: skip
    part.replace(path)
    return path


async def _script_results(cases: UseCases) -> Meeting:
    start = results_start(cases.clock())
    clock = ScriptedClock(int(start.timestamp() * 1000))
    scripted = UseCases(store=cases.store, clock=clock)
    clock.at(-15 * 24 * 60)  # announced 15 days ahead (R5: 14 at least)
    command = CreateMeeting(
        title="Алматы қаласы әкімінің халықпен кездесуі",
        titles={
            "kk": "Алматы қаласы әкімінің халықпен кездесуі",
            "ru": "Встреча акима города Алматы с населением",
            "en": "The akim of Almaty meets residents",
        },
        akim=CITY_AKIM,
        level=AkimLevel.CITY_REPUBLICAN,
        territory="Алматы",
        office=ALMATY_OFFICE,
        planned_minutes=PLANNED_MINUTES,
        starts_at=start.isoformat(),
        slow_mode_seconds=0,
    )
    meeting = await create_meeting(scripted, command, meeting_id=RESULTS_ID)
    clock.at(0)
    await change_phase(scripted, RESULTS_ID, Phase.PRESENTATION, by=PRODUCER)
    meeting = await _meeting(scripted)
    questions = await _ask(scripted, meeting, clock)
    await _chat(scripted, meeting, clock)
    clock.at(PRESENTATION_MINUTES)
    await change_phase(scripted, RESULTS_ID, Phase.QA, by=PRODUCER)
    await _air(scripted, questions, clock)
    await change_phase(scripted, RESULTS_ID, Phase.ENDED, by=PRODUCER)
    return await _meeting(scripted)


async def _meeting(cases: UseCases) -> Meeting:
    meeting = await cases.store.meetings.get(RESULTS_ID)
    assert meeting is not None
    return meeting


async def _ask(cases: UseCases, meeting: Meeting, clock: ScriptedClock) -> list[str]:
    """Every channel's questions during the presentation; moderators approve, tag, merge and
    reject them as they come."""
    ids: list[str] = []
    for n, question in enumerate(RESULTS_QUESTIONS):
        clock.at(1 + n * 1.5)
        ask = AskQuestion(client_msg_id=f"results-q{n}", name=question.name,
                          text=question.text, channel=question.channel)  # fmt: skip
        outcome = await submit(cases, meeting, Submission(what=ask, sender=f"results-s{n}"))
        assert isinstance(outcome, Asked), outcome
        ids.append(outcome.id)
        clock.at(1.5 + n * 1.5)
        if question.fate == "merge":
            await _act(cases, meeting, Action.MERGE, outcome.id, into=ids[question.into])
        elif question.fate in REASONS:
            await _act(cases, meeting, Action.REJECT, outcome.id, reason=question.fate)
        else:
            await _act(cases, meeting, Action.APPROVE, outcome.id)
            await _act(cases, meeting, Action.TAG, outcome.id, topic=question.topic,
                       district=question.district)  # fmt: skip
    return ids


async def _chat(cases: UseCases, meeting: Meeting, clock: ScriptedClock) -> None:
    """The chat, with a few comments hidden for a public reason (R3)."""
    for n, (channel, name, text, reason) in enumerate(RESULTS_COMMENTS):
        clock.at(2 + n * 3)
        post = PostComment(client_msg_id=f"results-c{n}", name=name, text=text, channel=channel)
        outcome = await submit(cases, meeting, Submission(what=post, sender=f"results-v{n}"))
        assert isinstance(outcome, Posted | Held), outcome
        if reason:
            clock.at(3 + n * 3)
            await _act(cases, meeting, Action.HIDE, outcome.id, reason=reason)


async def _air(cases: UseCases, questions: list[str], clock: ScriptedClock) -> None:
    """Q&A: the producer takes each question to be answered or deferred to air in turn, with
    a break after the fourth; the rest are never reached."""
    minute = float(PRESENTATION_MINUTES) + 1
    aired = [(n, q) for n, q in enumerate(RESULTS_QUESTIONS) if q.fate in ("answered", "deferred")]
    for turn, (n, question) in enumerate(aired):
        if turn == 4:
            clock.at(minute)
            await change_phase(cases, RESULTS_ID, Phase.BREAK, by=PRODUCER)
            minute += 5
            clock.at(minute)
            await change_phase(cases, RESULTS_ID, Phase.QA, by=PRODUCER)
        clock.at(minute)
        await take(cases, RESULTS_ID, questions[n], by=PRODUCER)
        minute += AIR_MINUTES
        clock.at(minute)
        await finish(cases, RESULTS_ID, answered=question.fate == "answered", by=PRODUCER)
    clock.at(minute + 2)


async def _act(
    cases: UseCases, meeting: Meeting, action: Action, item: str, **options: str
) -> None:
    found = await cases.store.board.items(meeting.id, [item])
    version = found[item].version if item in found else 1
    command = Moderate(action=action, item=item, version=version, **options)
    await act(cases, meeting, command, by=MODERATOR)


async def write_captions(cases: UseCases, data_dir: Path) -> list[Path]:
    """The recording's captions in Kazakh and Russian, as the archive would keep them
    (`<data dir>/recordings/<id>/<id>.kk.vtt`): the akim's answer to each question spoken while
    that question was on air, at offsets from the meeting's start."""
    intervals = await on_air_intervals(cases, RESULTS_ID)
    folder = data_dir / "recordings" / RESULTS_ID
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for column, lang in enumerate(("kk", "ru")):
        cues = ["WEBVTT", ""]
        for (begin, end), question in zip(intervals, _aired(), strict=False):
            middle = (begin + end) // 2  # the question read out, then the answer
            cues += [f"{_vtt(begin + 5_000)} --> {_vtt(middle)}", question.text, ""]
            cues += [f"{_vtt(middle)} --> {_vtt(end - 5_000)}", question.answer[column], ""]
        path = folder / f"{RESULTS_ID}.{lang}.vtt"
        path.write_text("\n".join(cues), encoding="utf-8")
        written.append(path)
    return written


def _aired() -> list[Scripted]:
    return [q for q in RESULTS_QUESTIONS if q.fate in ("answered", "deferred")]


async def on_air_intervals(cases: UseCases, meeting_id: str) -> list[tuple[int, int]]:
    """Each time a question was on air, in order, as ms from the meeting's start: from its
    `question.on_air` to the `question.answered` or `question.deferred` that followed."""
    start, opened, intervals = 0, 0, []
    async for chunk in cases.store.record.replay(meeting_id, "0-0"):
        for _, event in chunk:
            if isinstance(event, MeetingStarted):
                start = event.at
            elif isinstance(event, QuestionOnAir):
                opened = event.at
            elif isinstance(event, QuestionAnswered | QuestionDeferred):
                intervals.append((opened - start, event.at - start))
    return intervals


def _vtt(ms: int) -> str:
    seconds, millis = divmod(max(0, ms), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


# What the finished demo meeting left on record (issue 12): the problem issues the akimat
# published from its questions (R6) and the promises the akim made on air.

# (question index, title, executor organisation, official, deadline in days after the meeting,
#  plan steps as (text, days, done), status after, progress update or rejection reason)
RESULTS_ISSUES = (
    (0, "Төле би көшесінің жөндеуі",
     "Алматы қаласының Жолаушылар көлігі және автомобиль жолдары басқармасы", "Ә. Серіков", 120,
     (("Жобалық-сметалық құжаттама", 30, True), ("Жөндеу жұмыстары", 110, False)),
     "in_progress", "Мердігер анықталды, жұмыс мамырда басталады."),
    (1, "Ауэзов ауданында ыстық судың болмауы", "«Алматы жылу желілері» ЖШС", "Р. Омаров", 2,
     (("Құбырды жөндеу", 1, True),), "resolved", "Ыстық су берілді."),
    (2, "Наурызбай ауданында жаңа мектептер", "Алматы қаласының Білім басқармасы", "Г. Жұмабаева",
     400, (("Жер телімдерін бөлу", 60, False), ("Құрылыс", 380, False)), "needs_financing",
     "Мәслихат сессиясында қаржыландыру қаралады."),
    (3, "№32 автобустың жүру аралығы", "Алматы қаласының Жолаушылар көлігі басқармасы", "", 1,
     (("Кестені қайта қарау", 1, False),), "open", ""),
    (4, "Алатау ауданындағы саябақтың жарығы", "Алатау ауданы әкімдігі", "Д. Әлиев", 30,
     (("Шамдар сатып алу", 14, True), ("Орнату", 28, False)), "in_progress",
     "Шамдар сатып алынды."),
)  # fmt: skip
# (question index, what the akim promised, due in days after the meeting, status after, note)
RESULTS_PROMISES = (
    (0, "Төле би көшесін жөндеу мамыр айында басталады", 150, "in_progress", "Мердігер анықталды"),
    (1, "Ауэзов ауданында ыстық су ертең беріледі", 1, "kept", "Су берілді"),
    (2, "Наурызбай ауданында екі мектеп салынады", 700, "pending", ""),
    (4, "Саябаққа шамдар осы айда орнатылады", 2, "pending", ""),
)  # fmt: skip


async def _ensure_follow_up(cases: UseCases, meeting: Meeting) -> None:
    """The issues and promises of the finished demo meeting, each made once: the promises as
    the meeting ended, the issues the day after, their progress on the second day."""
    if meeting.status is not MeetingStatus.ENDED:
        return
    clock = ScriptedClock(meeting.started_at)
    scripted = UseCases(store=cases.store, clock=clock)
    questions = [await _question_id(cases, n) for n in range(len(RESULTS_QUESTIONS))]
    if "" in questions:  # a script interrupted before its questions were all asked
        return
    ledger = await offices.ledger(cases)
    if not any(p.meeting == meeting.id for p in ledger.promises.values()):
        for n, what, days, status, note in RESULTS_PROMISES:
            clock.now_ms = meeting.ended_at
            pledge = Pledge(what=what, due=_day_after(meeting, days), question=questions[n])
            promise = await offices.record_promise(scripted, meeting.id, pledge, by=PRODUCER)
            if status != "pending":
                clock.at(2 * DAY)
                await offices.update(scripted, promise.id, status, note, by=MODERATOR)
    if listed(await cases.store.pool.pool(), Filters(meeting=meeting.id)):
        return
    for n, title, organisation, official, days, steps, status, text in RESULTS_ISSUES:
        clock.at(DAY)
        plan = [{"text": step, "deadline": _day_after(meeting, d), "done": done}
                for step, d, done in steps]  # fmt: skip
        executor = {"organisation": organisation, "official": official}
        body = {"questions": [questions[n]], "title": title, "executor": executor,
                "deadline": _day_after(meeting, days), "plan": plan}  # fmt: skip
        issue = await pool.open_issue(scripted, meeting.id, body, by=MODERATOR)
        clock.at(2 * DAY)
        if status != "open":
            change = {"status": status} | ({"reason": text} if status == "rejected" else {})
            issue = await pool.change_status(scripted, issue.id, change, by=MODERATOR)
        if text:
            await pool.add_progress(scripted, issue.id, {"text": text}, by=MODERATOR)


async def _question_id(cases: UseCases, n: int) -> str:
    """The id the finished demo meeting's `n`-th question was recorded with ("" if not)."""
    recorded = await cases.store.record.seen(RESULTS_ID, f"results-q{n}")
    return recorded.id if recorded else ""


def _day_after(meeting: Meeting, days: int) -> str:
    """The meeting's local date plus `days`, as an ISO date."""
    return (datetime.fromtimestamp(meeting.started_at / 1000, ALMATY).date()
            + timedelta(days=days)).isoformat()  # fmt: skip
