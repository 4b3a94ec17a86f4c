"""The on-air path (issue 9): a producer's "take" over the HTTP API until the lower-third
overlay's DOM shows the question, p99 over 200 takes with 1,000 viewers connected (target
<= 200 ms on the reference machine).

`python -m bench.on_air --viewers 1000 --takes 200` starts a real `halyq serve` (its embedded
Redis, `HALYQ_ADMIN_TOKEN` set), creates and starts a meeting over the admin API, asks questions
on viewer sockets and approves them on a signed-in moderator's console socket, connects the
viewers (they stay connected and read every frame), opens the lower third in headless Chromium
with the meeting's overlay key, and times each take. `--quick` is a smoke run (100 viewers, 20
takes). It prints a JSON summary, writes it to bench/out/<time>-on-air.json and exits 1 if a
criterion failed.

How a take is timed: a MutationObserver on the overlay's `#text` records
`performance.timeOrigin + performance.now()` (this machine's wall clock, in the page) when the
text changes; the bench takes `time.time()` just before the POST. Each take starts from an empty
lower third (the one before was cleared and has animated out), as a producer takes a question
into a clear strap: a take that replaces a question on air first plays the old one out (the
overlay's 360 ms transition), which is a choice of the graphic, not the time of the path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from playwright.async_api import Page, async_playwright
from websockets.asyncio.client import ClientConnection, connect

from bench.console import SESSION_COOKIE, sign_in
from bench.console_run import add_moderator
from bench.loadgen import LoadConfig, close_viewers, ensure_file_limit, open_viewers
from bench.reliability.report import OUT, Result, utc_stamp
from bench.servers import ROOT, ServerProcess, die_with_parent, pinned, server_environment
from bench.viewer import Tally
from server.store.embedded import redis_binary

TARGET_MS = 200.0
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"]  # fmt: skip
READY_TIMEOUT = 60.0
STEP_TIMEOUT = 10.0  # seconds for any one step: an answer, a frame, a take to show
OUT_OF_AIR_S = 0.45  # the lower third's out-transition (SWAP_MS, 360 ms) and a margin
QUESTIONS = 10  # distinct questions the takes cycle through, so every take changes the text
MODERATOR = "bench-producer-moderator"
SERVER_CPUS, REDIS_CPUS, CLIENT_CPUS = "0", "1", "1"  # as the other benches pin

# Records every change of the overlay's #text with the page's wall clock, and resolves
# `__until(marker)` at the first change whose text holds the marker.
OBSERVER = """() => {
  const text = document.getElementById("text");
  window.__shown = [];
  window.__waiting = [];
  new MutationObserver(() => {
    const at = performance.timeOrigin + performance.now();
    const shown = text.textContent;
    window.__shown.push([at, shown]);
    window.__waiting = window.__waiting.filter(([marker, resolve]) => {
      if (!shown.includes(marker)) return true;
      resolve(at);
      return false;
    });
  }).observe(text, { childList: true, characterData: true, subtree: true });
  window.__until = (marker) => new Promise((resolve) => {
    const hit = window.__shown.find(([, shown]) => shown.includes(marker));
    if (hit) resolve(hit[0]);
    else window.__waiting.push([marker, resolve]);
  });
}"""

# Resolves once the page is in the named state: its socket connected, or the graphic out.
WHEN = """(state) => new Promise((resolve) => {
  const holds = {
    connected: () => document.documentElement.dataset.connected === "true",
    out: () => !document.getElementById("graphic").classList.contains("in"),
  }[state];
  if (holds()) return resolve(true);
  const watch = new MutationObserver(() => {
    if (!holds()) return;
    watch.disconnect();
    resolve(true);
  });
  watch.observe(document.documentElement, { attributes: true, subtree: true });
})"""


@dataclass(frozen=True, slots=True, kw_only=True)
class OnAir:
    """The scenario's scale; `pin` puts the server on core 0, Redis and the clients on core 1."""

    viewers: int = 1000
    takes: int = 200
    pin: bool = True
    target_ms: float = TARGET_MS

    def __post_init__(self) -> None:
        if self.viewers < 0 or self.takes < 1:
            raise ValueError("viewers cannot be negative and takes must be at least 1")


@dataclass(slots=True)
class Takes:
    """Each take's time from the POST to the overlay's DOM showing it, in ms (None: not shown)."""

    shown_ms: list[float | None] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)  # the POST's own round trip

    @property
    def times(self) -> list[float]:
        return [ms for ms in self.shown_ms if ms is not None]

    def percentile(self, share: float) -> float | None:
        return percentile(self.times, share)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile, rounded to 0.1 ms (None when there is nothing to rank)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 1)


# The server


def start_server(workdir: Path, token: str, pin: bool) -> ServerProcess:
    """`halyq serve` on a free port with its embedded Redis and the admin API on."""
    data, ready = workdir / "data", workdir / "ready.json"
    command = [sys.executable, "-m", "server", "serve", "--port", "0", "--data-dir", str(data),
               "--ready-file", str(ready)]  # fmt: skip
    env = server_environment() | {"HALYQ_ADMIN_TOKEN": token}
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(
            pinned(command, SERVER_CPUS if pin else None),
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )  # fmt: skip
    server = ServerProcess("halyq", process, "", workdir)
    try:
        server.url = wait_ready(server, ready)
    except BaseException:
        server.stop()
        raise
    root = psutil.Process(process.pid)
    server.family = [root, *root.children(recursive=True)]
    for child in server.family[1:] if pin else []:
        if child.name() == Path(redis_binary()).name:  # the embedded valkey-server
            child.cpu_affinity([int(REDIS_CPUS)])
    return server


def wait_ready(server: ServerProcess, ready: Path) -> str:
    """The server's URL from its ready file, once it is there."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"halyq exited at start:\n{server.log_tail()}")
        with contextlib.suppress(FileNotFoundError, ValueError):
            info = json.loads(ready.read_text())
            if info.get("pid") == server.pid:
                return str(info["url"])
        time.sleep(0.05)
    raise RuntimeError(f"halyq was not ready within {READY_TIMEOUT}s")


def overlay_key(server: ServerProcess, meeting_id: str) -> str:
    """`halyq meeting keys ID --json`: the meeting's overlay key (made now if it has none)."""
    command = [sys.executable, "-m", "server", "--data-dir", str(server.workdir / "data"),
               "meeting", "keys", meeting_id, "--json"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=server_environment(), capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return str(json.loads(done.stdout)["overlay_key"])


async def new_meeting(http: httpx.AsyncClient) -> str:
    """A meeting created and started over the admin API, slow mode off."""
    body = {"title": "Бенчмарк: эфир", "akim": "Бенчмарк Әкім", "level": "local",
            "territory": "Бенчмарк ауданы", "planned_minutes": 60,
            "slow_mode_seconds": 0}  # fmt: skip
    created = await http.post("/api/meetings", json=body)
    created.raise_for_status()
    meeting_id = str(created.json()["id"])
    (await http.post(f"/api/meetings/{meeting_id}/start")).raise_for_status()
    return meeting_id


# Questions: asked by viewers, approved on a moderator's console


def socket_url(base: str, path: str) -> str:
    return "ws" + base.removeprefix("http") + path


async def frame(ws: ClientConnection) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT))
    return found


async def ask(base: str, meeting_id: str, text: str) -> str:
    """A question asked on a viewer socket of its own; its id once acknowledged."""
    async with connect(socket_url(base, f"/ws/meetings/{meeting_id}"), compression=None,
                       max_size=None) as ws:  # fmt: skip
        cmid = "onair-" + secrets.token_hex(6)
        await ws.send(json.dumps({"type": "question", "client_msg_id": cmid,
                                  "name": "Бенчмарк", "text": text}))  # fmt: skip
        while (answer := await frame(ws)).get("client_msg_id") != cmid:
            pass
    if answer.get("type") != "ack":
        raise RuntimeError(f"question refused: {answer}")
    return str(answer["id"])


async def approve(base: str, meeting_id: str, session: str, questions: list[str]) -> None:
    """Approve each question on a console socket, at the version the console shows."""
    async with connect(socket_url(base, f"/ws/console/{meeting_id}"), origin=base,  # type: ignore[arg-type]
                       additional_headers={"Cookie": f"{SESSION_COOKIE}={session}"},
                       compression=None, max_size=None) as ws:  # fmt: skip
        hello = await frame(ws)
        items = {item["id"]: item for item in hello["items"]}
        for question in questions:
            while question not in items:
                items |= await console_items(ws)
            cmd = "a" + secrets.token_hex(6)
            await ws.send(json.dumps({"type": "command", "cmd": cmd, "action": "approve",
                                      "item": question,
                                      "version": items[question]["version"]}))  # fmt: skip
            while (answer := await frame(ws)).get("cmd") != cmd:
                pass
            if answer["type"] != "result":
                raise RuntimeError(f"approve refused: {answer}")


async def console_items(ws: ClientConnection) -> dict[str, dict[str, Any]]:
    """The items of the console's next frame (none if it is not an events frame)."""
    found = await frame(ws)
    events = found.get("events", []) if found.get("type") == "events" else []
    return {item["id"]: item for event in events for item in event.get("items", [])}


def question_text(index: int) -> str:
    """A short question (shown whole) with a marker the overlay's text is searched for."""
    return f"Бенчмарк-{index:02d}: аулаға жарық қашан орнатылады? Когда поставят свет во дворе?"


def marker(index: int) -> str:
    return f"Бенчмарк-{index:02d}:"


# The takes


async def until(page: Page, state: str) -> None:
    """Wait until the page is in `state` (WHEN), watched by a MutationObserver: the overlay's
    Content-Security-Policy forbids the string evaluation `page.wait_for_function` polls with."""
    await asyncio.wait_for(page.evaluate(WHEN, state), STEP_TIMEOUT)


@contextlib.asynccontextmanager
async def lower_third(url: str) -> AsyncIterator[Page]:
    """The lower third in headless Chromium, connected, with the #text observer installed."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                   args=CHROMIUM_FLAGS)  # fmt: skip
        try:
            page = await browser.new_page(viewport={"width": 1920, "height": 1080})
            await page.goto(url)
            await until(page, "connected")
            await page.evaluate(OBSERVER)
            yield page
        finally:
            await browser.close()


async def take_all(http: httpx.AsyncClient, page: Page, meeting_id: str,
                   questions: list[str], takes: int) -> Takes:  # fmt: skip
    """Each take: clear the page's record, POST take, wait for the text, then clear the air and
    let the graphic animate out before the next."""
    timed = Takes()
    for number in range(takes):
        index = number % len(questions)
        await page.evaluate("() => { window.__shown = []; }")
        t0 = time.time() * 1000
        answer = await http.post(f"/api/meetings/{meeting_id}/rundown/take",
                                 json={"question": questions[index]})  # fmt: skip
        timed.answer_ms.append(time.time() * 1000 - t0)
        answer.raise_for_status()
        try:
            shown = await asyncio.wait_for(
                page.evaluate("(m) => window.__until(m)", marker(index)), STEP_TIMEOUT
            )
            timed.shown_ms.append(float(shown) - t0)
        except TimeoutError:
            timed.shown_ms.append(None)
        (await http.post(f"/api/meetings/{meeting_id}/rundown/clear")).raise_for_status()
        await until(page, "out")
        await asyncio.sleep(OUT_OF_AIR_S)  # the out-transition's timer, not observable in the DOM
    return timed


def cpu_used(server: ServerProcess) -> dict[str, float]:
    """CPU seconds used so far by the server (with Redis) and by the whole machine: a busy
    machine makes the takes' times noisy."""
    times = psutil.cpu_times()
    busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    return {"server": sum(server.cpu_seconds().values()), "machine": busy}


async def page_clock_skew(page: Page) -> float:
    """How far the page's `performance.timeOrigin + performance.now()` is from `time.time()`
    after the takes (both should read this machine's wall clock)."""
    before = time.time() * 1000
    page_ms = float(await page.evaluate("() => performance.timeOrigin + performance.now()"))
    return page_ms - (before + time.time() * 1000) / 2


# The scenario


async def on_air_async(scenario: OnAir) -> Result:
    """Run the scenario: one server, its questions, the viewers, the overlay, the takes."""
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="halyq-on-air-") as folder:
        server = await asyncio.to_thread(start_server, Path(folder), token, scenario.pin)
        try:
            return await with_server(server, token, scenario)
        finally:
            await asyncio.to_thread(server.stop)


async def with_server(server: ServerProcess, token: str, scenario: OnAir) -> Result:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=server.url, headers=headers, timeout=STEP_TIMEOUT
    ) as http:
        meeting_id = await new_meeting(http)
        password = secrets.token_urlsafe(18)
        await asyncio.to_thread(add_moderator, server, MODERATOR, password)
        session = await sign_in(server.url, MODERATOR, password)
        count = min(QUESTIONS, max(2, scenario.takes))
        questions = [await ask(server.url, meeting_id, question_text(i)) for i in range(count)]
        await approve(server.url, meeting_id, session, questions)
        key = await asyncio.to_thread(overlay_key, server, meeting_id)
        url = f"{server.url}/overlay/{meeting_id}/lower-third?key={key}"
        config = LoadConfig(url=server.url, path=f"/ws/meetings/{meeting_id}",
                            viewers=scenario.viewers, rate=0)  # fmt: skip
        ensure_file_limit(scenario.viewers + 256)
        tally = Tally()
        viewers, failures = await open_viewers(config, tally)
        try:
            async with lower_third(url) as page:
                before, began = cpu_used(server), time.monotonic()
                timed = await take_all(http, page, meeting_id, questions, scenario.takes)
                window = time.monotonic() - began
                skew = await page_clock_skew(page)
                cpu = {k: (v - before[k]) / window for k, v in cpu_used(server).items()}
            dropped = tally.dropped
        finally:
            await close_viewers(viewers, tally)
    return verdict(scenario, timed, len(viewers), dropped, dict(failures), cpu, skew)


def verdict(scenario: OnAir, timed: Takes, connected: int, dropped: int,
            failures: dict[str, int], cpu: dict[str, float], skew: float) -> Result:  # fmt: skip
    """The criteria and figures of a run."""
    result = Result("on-air", scale={"viewers": scenario.viewers, "takes": scenario.takes,
                                     "pinned": scenario.pin})  # fmt: skip
    p99 = timed.percentile(0.99)
    shown = len(timed.times)
    result.check("every take shown on the lower third", shown == scenario.takes,
                 f"{shown} of {scenario.takes}", "all")  # fmt: skip
    result.check("viewers connected", connected == scenario.viewers,
                 connected, scenario.viewers)  # fmt: skip
    result.check("viewers dropped during the takes", dropped == 0, dropped, 0)
    result.check("take to overlay DOM p99 ms", p99 is not None and p99 <= scenario.target_ms,
                 p99, f"<= {scenario.target_ms:g}")  # fmt: skip
    result.figures = {
        "takes": scenario.takes,
        "shown": shown,
        "viewers_connected": connected,
        "viewers_failed": failures,
        "viewers_dropped": dropped,
        "p50_ms": timed.percentile(0.50),
        "p95_ms": timed.percentile(0.95),
        "p99_ms": p99,
        "max_ms": round(max(timed.times), 1) if timed.times else None,
        "mean_ms": round(statistics.fmean(timed.times), 1) if timed.times else None,
        "take_answer_p50_ms": round(statistics.median(timed.answer_ms), 1),
        "take_answer_p99_ms": percentile(timed.answer_ms, 0.99),
        "server_cpu": round(cpu["server"], 3),  # server + Redis CPU seconds a second, the takes
        "machine_cpu": round(cpu["machine"], 3),  # every process's, out of os.cpu_count()
        "page_clock_skew_ms": round(skew, 1),  # the page's clock minus the bench's, at the end
        "shown_ms": [None if ms is None else round(ms, 1) for ms in timed.shown_ms],
    }
    return result


def run_on_air(scenario: OnAir) -> Result:
    """The scenario, blocking (it calls `asyncio.run`)."""
    return asyncio.run(on_air_async(scenario))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.on_air",
                                     description=(__doc__ or "").split("\n\n")[0])  # fmt: skip
    parser.add_argument("--viewers", type=int, help="viewers connected (1000; --quick: 100)")
    parser.add_argument("--takes", type=int, help="takes timed (200; --quick: 20)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to cores")
    args = parser.parse_args(argv)
    viewers = args.viewers if args.viewers is not None else (100 if args.quick else 1000)
    takes = args.takes if args.takes is not None else (20 if args.quick else 200)
    pin = not args.no_pin and (os.cpu_count() or 1) > 1
    if pin:
        os.sched_setaffinity(0, {int(CLIENT_CPUS)})  # the viewers and Chromium on core 1
    result = run_on_air(OnAir(viewers=viewers, takes=takes, pin=pin))
    document = {"quick": args.quick, "passed": result.passed, **result.as_dict()}
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{utc_stamp()}-on-air.json").write_text(text)
    sys.stdout.write(text + "\n")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
