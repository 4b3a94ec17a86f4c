"""YouTube's live chat into a live meeting (issue 11): 100,000 chat lines ingested with 1,000
viewers connected, reading every frame. Throughput of the ingest and delivery to the viewers.

`python -m bench.youtube_ingest` generates a yt-dlp live-chat file of `--lines` lines (the live
shape, built from the line shapes of tests/fixtures/youtube_live_chat.jsonl: unique ids,
increasing `timestampUsec`, thousands of authors, Kazakh and Russian texts, emoji, a super chat
every 997 lines, a YouTube deletion every 400, a ban every 25,000), starts a real `halyq serve`
(embedded Redis, a meeting created and started from the shell, slow mode 0), connects the
viewers, and runs the reader as a user would: `halyq youtube ingest MEETING FILE` in a process
of its own joining the server's embedded Redis through `--data-dir`. `--quick` is a smoke run
(2,000 lines, 100 viewers). It prints a JSON summary, writes it to
bench/out/<time>-youtube-ingest.json and exits 1 if a criterion failed.

Two phases, measured differently because `timestampUsec` is YouTube's clock, not ours:

- bulk: the whole file, already written, read by `ingest` at full speed. Throughput is the
  number of lines over the ingest process's wall time (start to exit, Python's start-up and
  joining Redis included), and the steady rate over the middle 80 % of the comments by the
  server's own `at` (its clock when it took each one). Delivery is the timed viewer's receive
  wall clock minus the comment's `at` (one clock: the same machine): the server's path from
  taking a comment to a viewer's socket while it takes hundreds a second.
- paced: `ingest --follow` on a second file that the bench appends to as yt-dlp does (a batch
  of lines every 50 ms, flushed), recording the wall clock of each append. The reader is
  sequential and every message becomes exactly one `comment.posted` or `comment.held` event in
  stream order, so the k-th comment event a viewer gets after the bulk is the k-th line
  appended: its delivery is receive minus append, the whole path (the reader's 200 ms poll
  included).

Every viewer counts its comment events (bytes counted in place, as bench/viewer.py does); every
`--timed-every`-th viewer also parses each frame and keeps each event's receive time and `at`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import math
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import uvloop

from bench.histogram import Histogram
from bench.loadgen import ensure_file_limit
from bench.questions import corpus
from bench.reliability.report import OUT, Result, utc_stamp
from bench.servers import (
    ROOT,
    ServerProcess,
    die_with_parent,
    pinned,
    server_environment,
    start_halyq,
)
from bench.viewer import Tally, Viewer, handshake_request

FIXTURE = ROOT / "tests" / "fixtures" / "youtube_live_chat.jsonl"
TARGET_P99_MS = 1000.0  # delivery p99 while ingesting, bulk and paced
MIN_RATE = 100.0  # lines a second at least: far above the busiest live chat
SERVER_CPUS, OTHER_CPUS = "0", "1"  # server on core 0; Redis, viewers and the reader on core 1
CONNECT_RATE = 300.0  # viewer connections a second
STEP_TIMEOUT = 60.0  # seconds for the viewers to catch up after a phase, and for connecting
APPEND_EVERY = 0.05  # seconds between appended batches in the paced phase
POSTED, HELD = b'"comment.posted"', b'"comment.held"'
COMMENT_KINDS = ("comment.posted", "comment.held")
BASE_USEC = 1_763_614_800_000_000  # the chat's first timestampUsec

# --- the chat file -------------------------------------------------------------------------

FIRST = ["Айгерим", "Нұрлан", "Ерлан", "Гүлнар", "Дәурен", "Ольга", "Асхат", "Салтанат",
         "Бауыржан", "Людмила", "Aidana", "Serik", "Данияр", "Жанар", "Нұржан", "Бекзат",
         "Меруерт", "Игорь", "Камила", "Нурсултан", "Әлия", "Виктор", "Ақжол", "Татьяна",
         "Ернар", "Сәуле", "Мирас", "Галина", "Ильяс", "Жансая", "Арман", "Динара", "Сергей",
         "Айдос", "Madina", "Елена"]  # fmt: skip
# An empty surname: a first name alone, as many write.
LAST = ["Сейтқали", "Жақсылықов", "Әбенова", "Омаров", "Ким", "Байжанов", "Нұрланқызы",
        "Есенов", "Тұрсынов", "Власов", "Мұратқызы", "Qairat", "Петрова", "Ахметов",
        "Смағұлова", "Иванов", "Абдрахманов", "Төлеуова", "Сагындыков", "Кузнецова",
        "", "", ""]  # fmt: skip
CHATTER = ["Сәлеметсіздер ме!", "Всем привет из Сарыарки", "+++ поддерживаю",
           "Дұрыс айтасыз", "Спасибо за эфир", "Рахмет!", "Когда ответят на вопросы из чата?",
           "Жарайсыз", "Звук пропал", "Қайталаңызшы, естілмеді", "Согласна с предыдущим",
           "Бұл мәселе бізде де бар", "У нас то же самое", "Әкім мырза, рахмет",
           "Молодцы, что проводите встречи"]  # fmt: skip
AMOUNTS = ["₸1,000.00", "₸2,000.00", "₸5,000.00", "$5.00", "₽500.00"]


@dataclass(frozen=True, slots=True)
class Shapes:
    """The fixture's line shapes, as JSON text with placeholders to fill (fast: no dict copies)."""

    text: str
    paid: str
    removal: str
    ban: str
    emoji: list[dict[str, object]]


def shapes() -> Shapes:
    """A text message, a super chat, a deletion and a ban from the fixture, made templates."""
    lines = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    found: dict[str, str] = {}
    emoji: list[dict[str, object]] = []
    for line in lines:
        action = line["replayChatItemAction"]["actions"][0]
        item = action.get("addChatItemAction", {}).get("item", {})
        for kind, key in (("liveChatTextMessageRenderer", "text"),
                          ("liveChatPaidMessageRenderer", "paid")):  # fmt: skip
            body = item.get(kind)
            if body is None:
                continue
            emoji += [run for run in body["message"]["runs"] if "emoji" in run
                      and not run["emoji"].get("isCustomEmoji")]  # fmt: skip
            if key not in found and "emoji" not in json.dumps(body["message"]):
                found[key] = template(line, action, body)
        if "removeChatItemAction" in action and "removal" not in found:
            action["removeChatItemAction"]["targetItemId"] = "@@ID@@"
            found["removal"] = json.dumps(line, ensure_ascii=False)
        if "removeChatItemByAuthorAction" in action and "ban" not in found:
            action["removeChatItemByAuthorAction"]["externalChannelId"] = "@@CH@@"
            found["ban"] = json.dumps(line, ensure_ascii=False)
    return Shapes(emoji=emoji, **found)


def template(line: dict[str, object], action: dict[str, object], body: dict[str, object]) -> str:
    body.update(id="@@ID@@", timestampUsec="@@TS@@", authorExternalChannelId="@@CH@@",
                authorName={"simpleText": "@@NAME@@"}, message={"runs": "@@RUNS@@"})  # fmt: skip
    if "purchaseAmountText" in body:
        body["purchaseAmountText"] = {"simpleText": "@@AMOUNT@@"}
    action["clickTrackingParams"] = "@@ID@@"
    return json.dumps(line, ensure_ascii=False)


def fill(shape: str, **values: str) -> str:
    """A template with its placeholders replaced; RUNS is JSON, the others string contents."""
    for key, value in values.items():
        if key == "RUNS":
            shape = shape.replace('"@@RUNS@@"', value)
        else:
            shape = shape.replace(f"@@{key}@@", json.dumps(value, ensure_ascii=False)[1:-1])
    return shape


def youtube_id(number: int, salt: str) -> str:
    """An id in YouTube's look (base64 of a few bytes), unique per number and salt."""
    digest = hashlib.sha1(f"{salt}:{number}".encode()).digest()
    return "ChwKGk" + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:34]


def channel_id(number: int) -> str:
    digest = hashlib.sha1(f"author:{number}".encode()).digest()
    return "UC" + base64.urlsafe_b64encode(digest).decode()[:22]


@dataclass(slots=True)
class Chat:
    """A generated chat: its lines, and how many are messages (each one comment event)."""

    lines: list[str] = field(default_factory=list)
    messages: int = 0
    removed: set[str] = field(default_factory=set)  # ids YouTube deleted or banned: hidden

    @property
    def hidden(self) -> int:
        return len(self.removed)


def generate(count: int, *, seed: int, salt: str, start_usec: int = BASE_USEC) -> Chat:
    """`count` live-shape lines: messages, super chats, deletions and bans."""
    rng = random.Random(seed)
    shape = shapes()
    questions = [q.text for q in corpus(min(count, 5000), seed)]
    authors = max(50, min(20_000, count // 8))
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)}".strip() for _ in range(authors)]
    chat, recent = Chat(), list[str]()
    usec = start_usec
    for number in range(count):
        usec += rng.randint(1_000, 40_000)
        if number % 25_000 == 24_999:
            spammer = authors + number  # an author of their own, banned after three lines
            chat.lines.append(fill(shape.ban, CH=channel_id(spammer)))
            continue
        if number % 400 == 399 and recent:
            chat.removed.add(target := rng.choice(recent[-200:]))
            chat.lines.append(fill(shape.removal, ID=target))
            continue
        item = youtube_id(number, salt)
        recent.append(item)
        spam = number % 25_000 in (24_990, 24_993, 24_996)
        if spam and number - number % 25_000 + 24_999 < count:  # its author's ban will come
            chat.removed.add(item)
        author = authors + number - number % 25_000 + 24_999 if spam else rng.randrange(authors)
        name = "Заработок Онлайн 24" if spam else names[author]
        runs = message_runs(rng, questions, shape.emoji, spam)
        values = {"ID": item, "TS": str(usec), "CH": channel_id(author), "NAME": name,
                  "RUNS": json.dumps(runs, ensure_ascii=False)}  # fmt: skip
        if number % 997 == 996:
            chat.lines.append(fill(shape.paid, AMOUNT=rng.choice(AMOUNTS), **values))
        else:
            chat.lines.append(fill(shape.text, **values))
        chat.messages += 1
    return chat


def message_runs(
    rng: random.Random, questions: list[str], emoji: list[dict[str, object]], spam: bool
) -> list[dict[str, object]]:
    """A message's runs: a question or chatter, sometimes with emoji after it."""
    if spam:
        text = "Заработок от 50 000 тг в день без вложений, пиши в тг"
    elif rng.random() < 0.55:
        text = rng.choice(questions)[:300]
    else:
        text = rng.choice(CHATTER)
    runs: list[dict[str, object]] = [{"text": text}]
    if emoji and rng.random() < 0.15:
        runs[0]["text"] = text + " "
        runs += rng.sample(emoji, min(len(emoji), rng.randint(1, 2)))
    return runs


def write(path: Path, lines: list[str]) -> None:
    with path.open("w", encoding="utf-8") as file:
        for line in lines:
            file.write(line + "\n")


# --- the viewers ---------------------------------------------------------------------------


class Seen(Tally):
    """One viewer's own tally: its comment events counted; if timed, each one's receive wall
    clock (ns) and the server's `at` (ms), in the order received."""

    __slots__ = ("at", "comments", "hidden", "received", "timed")

    def __init__(self, *, timed: bool) -> None:
        super().__init__()
        self.timed = timed
        self.comments = 0
        self.hidden = 0
        self.received: list[int] = []
        self.at: list[int] = []

    def sample(self, data: bytes, start: int, stop: int) -> None:
        """Called by the Viewer with every frame after the hello."""
        if not self.timed:
            self.comments += data.count(POSTED, start, stop) + data.count(HELD, start, stop)
            return
        now = time.time_ns()
        frame = json.loads(data[start:stop])
        for event in frame.get("events", ()) if frame.get("type") == "events" else ():
            kind = event.get("kind")
            if kind in COMMENT_KINDS:
                self.received.append(now)
                self.at.append(int(event["at"]))
            elif kind == "comment.hidden":
                self.hidden += 1
        self.comments = len(self.received)


@dataclass(slots=True)
class Crowd:
    viewers: list[Viewer] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    failed: int = 0

    @property
    def timed(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.timed]

    @property
    def dropped(self) -> int:
        return sum(seen.dropped for seen in self.seen)

    def counts(self) -> list[int]:
        return [seen.comments for seen in self.seen]


async def connect(url: str, path: str, count: int, timed_every: int) -> Crowd:
    """`count` viewers at CONNECT_RATE a second; each has its own Seen (every viewer counts)."""
    loop = asyncio.get_running_loop()
    host, port = url.removeprefix("http://").split(":")
    audience = Crowd()
    tasks = []
    began = loop.time()
    for index in range(count):
        delay = began + index / CONNECT_RATE - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        seen = Seen(timed=index % timed_every == 0)
        ready: asyncio.Future[None] = loop.create_future()
        viewer = Viewer(seen, handshake_request(host, int(port), path), ready, sampled=True)
        audience.viewers.append(viewer)
        audience.seen.append(seen)
        tasks.append(loop.create_task(open_one(viewer, ready, host, int(port))))
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    audience.failed = sum(1 for outcome in outcomes if outcome is not None)
    return audience


async def open_one(viewer: Viewer, ready: asyncio.Future[None], host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(STEP_TIMEOUT):
        await loop.create_connection(lambda: viewer, host, port)
        await ready


async def caught_up(audience: Crowd, expected: int, within: float) -> bool:
    """Wait until every viewer has `expected` comment events (False: not `within` seconds)."""
    deadline = time.monotonic() + within
    while min(audience.counts(), default=expected) < expected:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def close(audience: Crowd) -> None:
    for viewer in audience.viewers:
        viewer.close()


# --- the reader, as a user runs it ---------------------------------------------------------


def ingest_command(server: ServerProcess, meeting: str, file: Path, *, follow: bool,
                   pin: bool) -> list[str]:  # fmt: skip
    data = str(server.workdir / "data")
    command = [sys.executable, "-m", "server", "--data-dir", data, "youtube", "ingest", meeting,
               str(file), *(["--follow"] if follow else [])]  # fmt: skip
    return pinned(command, OTHER_CPUS if pin else None)


def start_reader(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=server_environment(),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=die_with_parent)  # fmt: skip


def summary_counts(log: Path) -> dict[str, int]:
    """The reader's last summary line (`added N, repeated N, ...`) as numbers."""
    counts: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("added "):
            head = line.split(" (")[0]
            counts = {k: int(v) for k, v in (part.split(" ") for part in head.split(", "))}
    return counts


class Memory:
    """The server's RSS (with its Redis child) read every 0.2 s in a thread: the peak."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.peak = server.rss()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        while not self.stop.wait(0.2):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.server.rss())

    def __enter__(self) -> Memory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


# --- the scenario --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class YouTubeIngest:
    """The scenario's scale; `pin` puts the server on core 0, the rest on core 1."""

    lines: int = 100_000
    viewers: int = 1000
    paced_lines: int = 1000
    paced_rate: float = 50.0  # lines a second appended in the paced phase (a very busy chat)
    timed_every: int = 50  # every k-th viewer parses and times each frame
    pin: bool = True
    target_p99_ms: float = TARGET_P99_MS
    min_rate: float = MIN_RATE

    def __post_init__(self) -> None:
        if min(self.lines, self.viewers, self.paced_lines, self.timed_every) < 1:
            raise ValueError("lines, viewers, paced lines and timed_every must be at least 1")
        if self.paced_rate <= 0:
            raise ValueError("the paced rate must be positive")


@dataclass(slots=True)
class Measured:
    """What the phases measured, for the verdict."""

    bulk: Chat
    paced: Chat
    bulk_wall_s: float = 0.0
    bulk_counts: dict[str, int] = field(default_factory=dict)
    paced_counts: dict[str, int] = field(default_factory=dict)
    appended_ns: list[int] = field(default_factory=list)
    bulk_caught_up: bool = False
    paced_caught_up: bool = False
    rss: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    file_mb: float = 0.0
    bulk_exit: int | None = None

    @property
    def removed(self) -> int:
        """Comments YouTube deleted or banned, in both files: each hidden once."""
        return self.bulk.hidden + self.paced.hidden


async def scenario_async(scenario: YouTubeIngest) -> Result:
    with tempfile.TemporaryDirectory(prefix="halyq-youtube-") as folder:
        work = Path(folder)
        bulk = generate(scenario.lines, seed=1, salt="bulk")
        paced = generate(scenario.paced_lines, seed=2, salt="paced",
                         start_usec=BASE_USEC + 10**12)  # fmt: skip
        write(work / "bulk.live_chat.json", bulk.lines)
        measured = Measured(bulk, paced)
        measured.file_mb = (work / "bulk.live_chat.json").stat().st_size / 1e6
        server = await asyncio.to_thread(start_halyq, work, SERVER_CPUS if scenario.pin else None,
                                         OTHER_CPUS if scenario.pin else None)  # fmt: skip
        try:
            audience = await with_server(server, scenario, measured, work)
        finally:
            await asyncio.to_thread(server.stop)
    return verdict(scenario, measured, audience)


async def with_server(server: ServerProcess, scenario: YouTubeIngest, measured: Measured,
                      work: Path) -> Crowd:  # fmt: skip
    meeting = server.path.rsplit("/", 1)[1]
    measured.rss["before_viewers_mb"] = server.rss() / 1e6
    ensure_file_limit(scenario.viewers + 256)
    audience = await connect(server.url, server.path, scenario.viewers, scenario.timed_every)
    try:
        await asyncio.sleep(1.0)  # quiet, then read the memory the connections hold
        measured.rss["with_viewers_mb"] = server.rss() / 1e6
        cpu_before = sum(server.cpu_seconds().values())
        with Memory(server) as memory:
            await bulk_phase(server, scenario, measured, audience, meeting, work)
            await paced_phase(server, scenario, measured, audience, meeting, work)
        measured.rss["peak_mb"] = memory.peak / 1e6
        measured.rss["end_mb"] = server.rss() / 1e6
        measured.cpu["server_s"] = sum(server.cpu_seconds().values()) - cpu_before
    finally:
        close(audience)
        await asyncio.sleep(0.5)
        for viewer in audience.viewers:
            viewer.abort()
    return audience


async def bulk_phase(server: ServerProcess, scenario: YouTubeIngest, measured: Measured,
                     audience: Crowd, meeting: str, work: Path) -> None:  # fmt: skip
    """The whole file through `halyq youtube ingest` at full speed."""
    log = work / "ingest-bulk.log"
    command = ingest_command(server, meeting, work / "bulk.live_chat.json", follow=False,
                             pin=scenario.pin)  # fmt: skip
    began, cpu, busy = time.monotonic(), children_cpu(), machine_busy()
    reader = start_reader(command, log)
    limit = 120 + scenario.lines / 20  # 20 lines a second at the very least
    measured.bulk_exit = await asyncio.to_thread(wait_exit, reader, limit)
    measured.bulk_wall_s = time.monotonic() - began
    measured.cpu["reader_s"] = children_cpu() - cpu
    measured.cpu["machine"] = (machine_busy() - busy) / measured.bulk_wall_s
    measured.bulk_counts = summary_counts(log)
    if measured.bulk_exit != 0:
        sys.stderr.write(log.read_text(errors="replace")[-3000:])
    measured.bulk_caught_up = await caught_up(audience, measured.bulk.messages, STEP_TIMEOUT)


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every process's, ours and others')."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def children_cpu() -> float:
    """CPU seconds of the waited-for child processes (the bulk reader's, once it has exited)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def wait_exit(process: subprocess.Popen[bytes], limit: float) -> int | None:
    """The process's exit code, or None after SIGTERM (then SIGKILL) past `limit` seconds."""
    try:
        return process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return None


async def paced_phase(server: ServerProcess, scenario: YouTubeIngest, measured: Measured,
                      audience: Crowd, meeting: str, work: Path) -> None:  # fmt: skip
    """`ingest --follow` on a file appended to as yt-dlp does, each append's time kept."""
    path, log = work / "paced.live_chat.json", work / "ingest-paced.log"
    path.touch()
    reader = start_reader(ingest_command(server, meeting, path, follow=True, pin=scenario.pin),
                          log)  # fmt: skip
    try:
        await until_reading(log, reader)
        batch = max(1, round(scenario.paced_rate * APPEND_EVERY))
        with path.open("a", encoding="utf-8") as file:
            began = time.monotonic()
            for start in range(0, len(measured.paced.lines), batch):
                delay = began + start / scenario.paced_rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                lines = measured.paced.lines[start : start + batch]
                file.write("".join(line + "\n" for line in lines))
                file.flush()
                now = time.time_ns()
                measured.appended_ns += [now] * sum(1 for line in lines if is_message(line))
        total = measured.bulk.messages + measured.paced.messages
        measured.paced_caught_up = await caught_up(audience, total, STEP_TIMEOUT)
    finally:
        reader.send_signal(signal.SIGTERM)
        await asyncio.to_thread(wait_exit, reader, 30)
    measured.paced_counts = summary_counts(log)


def is_message(line: str) -> bool:
    return '"addChatItemAction"' in line


async def until_reading(log: Path, reader: subprocess.Popen[bytes]) -> None:
    """Wait until the follower says it reads (it has joined Redis and found the meeting)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while b"as it grows" not in (said := await asyncio.to_thread(log.read_bytes)):
        if reader.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"ingest --follow did not start:\n{said[-2000:]!r}")
        await asyncio.sleep(0.05)


# --- the verdict ---------------------------------------------------------------------------


def latencies(audience: Crowd, bulk: int, appended_ns: list[int]) -> tuple[Histogram, Histogram]:
    """Bulk: receive minus the server's `at`; paced: receive minus the line's append."""
    by_at, by_append = Histogram(), Histogram()
    for seen in audience.timed:
        for received, at in zip(seen.received[:bulk], seen.at[:bulk], strict=True):
            by_at.record(received // 1000 - at * 1000)
        for received, appended in zip(seen.received[bulk:], appended_ns, strict=False):
            by_append.record((received - appended) // 1000)
    return by_at, by_append


def steady_rate(audience: Crowd, messages: int) -> float | None:
    """Comments a second the server took over the middle 80 % of the bulk (its `at` clock)."""
    timed = audience.timed
    if not timed or len(timed[0].at) < messages or messages < 10:
        return None
    at = timed[0].at[:messages]
    low, high = math.floor(messages * 0.1), math.ceil(messages * 0.9) - 1
    span = (at[high] - at[low]) / 1000
    return (high - low) / span if span > 0 else None


def spread(histogram: Histogram) -> dict[str, float | int | None]:
    return {"p50_ms": histogram.percentile_ms(0.50), "p99_ms": histogram.percentile_ms(0.99),
            "max_ms": histogram.max_ms(), "samples": histogram.total}  # fmt: skip


def verdict(scenario: YouTubeIngest, measured: Measured, audience: Crowd) -> Result:
    result = Result("youtube-ingest", scale={"lines": scenario.lines, "viewers": scenario.viewers,
                                             "paced_lines": scenario.paced_lines,
                                             "paced_rate": scenario.paced_rate,
                                             "pinned": scenario.pin})  # fmt: skip
    bulk, paced = measured.bulk.messages, measured.paced.messages
    by_at, by_append = latencies(audience, bulk, measured.appended_ns)
    rate = scenario.lines / measured.bulk_wall_s if measured.bulk_wall_s else 0.0
    steady = steady_rate(audience, bulk)
    counts = audience.counts()
    complete = sum(1 for count in counts if count == bulk + paced)
    taken = measured.bulk_counts.get("added", 0) + measured.bulk_counts.get("hidden", 0)
    result.check("ingest exited 0", measured.bulk_exit == 0, measured.bulk_exit, 0)
    result.check("every message taken (added + hidden)", taken == bulk, taken, bulk)
    result.check("lines not understood", measured.bulk_counts.get("unreadable") == 0,
                 measured.bulk_counts.get("unreadable"), 0)  # fmt: skip
    result.check("viewers connected", len(audience.viewers) - audience.failed == scenario.viewers,
                 len(audience.viewers) - audience.failed, scenario.viewers)  # fmt: skip
    result.check("viewers dropped", audience.dropped == 0, audience.dropped, 0)
    result.check("viewers with every comment, no gaps", complete == scenario.viewers,
                 complete, scenario.viewers)  # fmt: skip
    hidden, removed = sorted({seen.hidden for seen in audience.timed}), [measured.removed]
    result.check("YouTube deletions and bans hidden for timed viewers", hidden == removed,
                 hidden, removed)  # fmt: skip
    result.check("ingest lines/s (wall time)", rate >= scenario.min_rate, round(rate, 1),
                 f">= {scenario.min_rate:g}")  # fmt: skip
    p99_at, p99_append = by_at.percentile_ms(0.99), by_append.percentile_ms(0.99)
    result.check("bulk: server at -> viewer p99 ms",
                 p99_at is not None and p99_at <= scenario.target_p99_ms,
                 p99_at, f"<= {scenario.target_p99_ms:g}")  # fmt: skip
    result.check("paced: append -> viewer p99 ms",
                 p99_append is not None and p99_append <= scenario.target_p99_ms,
                 p99_append, f"<= {scenario.target_p99_ms:g}")  # fmt: skip
    result.figures = {
        "machine": machine(),
        "file_mb": round(measured.file_mb, 1),
        "messages": {"bulk": bulk, "paced": paced, "hidden_by_youtube": measured.removed},
        "ingest_wall_s": round(measured.bulk_wall_s, 2),
        "ingest_lines_per_s": round(rate, 1),
        "steady_comments_per_s": round(steady, 1) if steady else None,
        "reader_bulk": measured.bulk_counts,
        "reader_paced": measured.paced_counts,
        "bulk_at_to_viewer": spread(by_at),
        "paced_append_to_viewer": spread(by_append),
        "paced_appended": len(measured.appended_ns),
        "caught_up": {"bulk": measured.bulk_caught_up, "paced": measured.paced_caught_up},
        "viewers_connected": len(audience.viewers) - audience.failed,
        "viewers_timed": len(audience.timed),
        "viewers_dropped": audience.dropped,
        "viewer_comments_min_max": [min(counts, default=0), max(counts, default=0)],
        "viewers_complete": complete,
        "rss_mb": {k: round(v, 1) for k, v in measured.rss.items()},
        "server_cpu_s": round(measured.cpu.get("server_s", 0.0), 1),  # with Redis, both phases
        "reader_cpu_s": round(measured.cpu.get("reader_s", 0.0), 1),  # the bulk ingest process
        # Busy cores over the bulk phase, out of os.cpu_count(): other work makes it noisy.
        "machine_cpu_bulk": round(measured.cpu.get("machine", 0.0), 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    return result


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores, {memory:.1f} GiB"


def run_youtube_ingest(scenario: YouTubeIngest) -> Result:
    """The scenario, blocking."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(scenario_async(scenario))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.youtube_ingest",
                                     description=(__doc__ or "").split("\n\n")[0])  # fmt: skip
    parser.add_argument("--lines", type=int, help="chat lines ingested (100000; --quick: 2000)")
    parser.add_argument("--viewers", type=int, help="viewers connected (1000; --quick: 100)")
    parser.add_argument("--paced-lines", type=int, help="lines appended under --follow (1000)")
    parser.add_argument("--paced-rate", type=float, default=50.0, help="appended lines/s")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to cores")
    args = parser.parse_args(argv)

    def pick(given: int | None, full: int, quick: int) -> int:
        return given if given is not None else quick if args.quick else full

    pin = not args.no_pin and (os.cpu_count() or 1) > 1
    if pin:
        os.sched_setaffinity(0, {int(OTHER_CPUS)})  # the viewers beside Redis on core 1
    viewers = pick(args.viewers, 1000, 100)
    scenario = YouTubeIngest(lines=pick(args.lines, 100_000, 2000), viewers=viewers,
                             paced_lines=pick(args.paced_lines, 1000, 100),
                             paced_rate=args.paced_rate, timed_every=max(1, viewers // 20),
                             pin=pin)  # fmt: skip
    result = run_youtube_ingest(scenario)
    document = {"quick": args.quick, "passed": result.passed, **result.as_dict()}
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{utc_stamp()}-youtube-ingest.json").write_text(text)
    sys.stdout.write(text + "\n")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
