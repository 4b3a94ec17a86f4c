"""AUTH-6 of the reliability catalogue at its scale: credential attacks on staff sign-in.

A real `halyq serve` (argon2id with its production parameters, embedded Redis) and real HTTP
clients, each bound to its own loopback address (127.0.0.x), sign in as a browser does:

- one_ip: 200 wrong passwords against one account from 1 address;
- many_ips: 200 wrong passwords against another account from 20 addresses, 10 each;
- spray: 200 wrong passwords over 200 names from 1 address, each with another
  `X-Forwarded-For` and `X-Real-IP` (issue 8: they met no 429);
- probe: a valid name and unknown names with wrong passwords from fresh addresses: the answers'
  bodies and times, first 401, then 429;
- owners: each attacked account's right password from an address with no failure, halfway
  through the attacks and after them.

The attackers ignore `Retry-After` and send at an even pace over the run (75 s: the pair's waits
grow 10, 20, 40 s), then, where a pair's last answer was a failure, at once until refused, so
that every wait that started was seen.

    .venv/bin/python -m bench.reliability.auth            # the catalogue's numbers (~2 min)
    .venv/bin/python -m bench.reliability.auth --quick    # a smoke run (~1 min)

It prints a JSON summary and writes it to bench/out/<time>-auth.json; exit status 1 if a
criterion failed. Run it alone on the machine (`flock /tmp/halyq-heavy.lock ...`).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.console_run import add_moderator
from bench.reliability import report
from bench.reliability.report import Result
from bench.servers import ServerProcess, start_halyq
from server.auth.accounts import (
    ADDRESS_FAILURES,
    ADDRESS_WINDOW,
    FIRST_DELAY,
    FREE_TRIES,
    AuditEntry,
    AuditKind,
)
from server.store import Store
from server.store.embedded import socket_path

CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')
LOCKOUT = re.compile(r"(pair|address) (\d+)s from ([0-9a-f]{8})")
WRONG = "not the password"
PER_MINUTE = {"pair": 5, "address": ADDRESS_FAILURES}  # the catalogue's AUTH-6 limits
TIMING_GAP = 0.05  # seconds between the medians of a valid and an unknown name, at most

Span = tuple[float, int, str]  # a lockout in the audit log: at, seconds, source
KINDS = ("valid", "unknown")  # the names a probe tries
ONE, MANY, PROBED = "one-ip-target", "many-ips-target", "probe-target"  # the staff accounts


@dataclass(frozen=True, slots=True)
class Scale:
    tries: int = 200  # per attack
    addresses: int = 20  # of the many_ips attack
    duration: float = 75.0  # seconds each attack's even pace spans
    probe_addresses: int = 10  # each fails FREE_TRIES times on a valid and an unknown name


FULL = Scale()
QUICK = Scale(tries=40, addresses=5, duration=20.0, probe_addresses=3)


@dataclass(frozen=True, slots=True)
class Answer:
    sent: float  # wall clock (time.time), as the server's audit entries
    took: float
    status: int
    retry_after: int | None
    body: str


class Browser:
    """The sign-in form from one loopback address; the form's token holds as long as its
    `halyq_login` cookie does."""

    def __init__(self, url: str, address: str) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        self.http = httpx.AsyncClient(base_url=url, transport=transport, timeout=60)
        self.token = ""

    async def sign_in(
        self, name: str, password: str = WRONG, headers: dict[str, str] | None = None
    ) -> Answer:
        if not self.token:
            found = CSRF_INPUT.search((await self.http.get("/login")).text)
            assert found, "no sign-in form"
            self.token = found[1]
        form = {"name": name, "password": password, "csrf": self.token, "next": ""}
        sent, started = time.time(), time.perf_counter()
        answer = await self.http.post("/login", data=form, headers=headers)
        took = time.perf_counter() - started
        if answer.status_code == 303:
            self.token = ""
        wait = answer.headers.get("retry-after")
        return Answer(
            sent, took, answer.status_code, None if wait is None else int(wait), answer.text
        )

    async def close(self) -> None:
        await self.http.aclose()


# Attacks


async def paced(
    count: int, interval: float, send: Callable[[int], Awaitable[Answer]]
) -> list[Answer]:
    """`count` tries `interval` apart whatever the answers; then, while the last one failed,
    tries at once until refused (so every wait that started shows as a 429)."""
    began = time.monotonic()
    answers = []
    for number in range(count):
        await asyncio.sleep(max(0.0, began + number * interval - time.monotonic()))
        answers.append(await send(number))
    for extra in range(FREE_TRIES + 1):
        if answers[-1].status != 401:
            break
        answers.append(await send(count + extra))
    return answers


async def attack(url: str, name: str, addresses: list[str], scale: Scale) -> list[list[Answer]]:
    """`scale.tries` wrong passwords on `name`, shared by `addresses` (one pair each)."""
    each = scale.tries // len(addresses)
    interval = min(scale.duration / each, FIRST_DELAY * 0.8)  # < the shortest wait: all seen
    browsers = [Browser(url, address) for address in addresses]

    def wrong(browser: Browser) -> Callable[[int], Awaitable[Answer]]:
        return lambda n: browser.sign_in(name, f"{WRONG} {n}")

    try:
        return list(await asyncio.gather(*(paced(each, interval, wrong(b)) for b in browsers)))
    finally:
        for browser in browsers:
            await browser.close()


async def spray(url: str, scale: Scale) -> list[Answer]:
    """One address, a new name each try, each with forged forwarding headers."""
    browser = Browser(url, "127.0.0.3")

    async def send(n: int) -> Answer:
        forged = {"X-Forwarded-For": f"10.{n // 250}.{n % 250}.1", "X-Real-IP": f"10.9.{n}.1"}
        return await browser.sign_in(f"sprayed{n}", headers=forged)

    try:
        return await paced(scale.tries, scale.duration / scale.tries, send)
    finally:
        await browser.close()


async def owner(url: str, address: str, name: str, password: str) -> Answer:
    browser = Browser(url, address)
    try:
        return await browser.sign_in(name, password)
    finally:
        await browser.close()


async def probe(url: str, valid: str, addresses: list[str]) -> list[tuple[str, Answer]]:
    """From each address: the valid name and an unknown one in turn, FREE_TRIES failures each,
    then one more of each (refused)."""
    found: list[tuple[str, Answer]] = []
    for number, address in enumerate(addresses):
        browser = Browser(url, address)
        try:
            for _ in range(FREE_TRIES + 1):
                found.append(("valid", await browser.sign_in(valid)))
                found.append(("unknown", await browser.sign_in(f"nobody{number}")))
        finally:
            await browser.close()
    return found


# What was seen


def most_in_a_minute(answers: list[Answer]) -> int:
    """The most tries that were not refused (checked a password) in any 60 s."""
    times = sorted(a.sent for a in answers if a.status != 429)
    return max((sum(t <= u < t + 60 for u in times) for t in times), default=0)


def waits_started(answers: list[Answer]) -> int:
    """Failures followed by a refusal: each started a wait (a lockout)."""
    return sum(a.status == 401 and b.status == 429 for a, b in itertools.pairwise(answers))


def lockouts(trail: list[AuditEntry], actor: str, throttle: str) -> list[Span]:
    """(at, seconds, source) of the audit log's lockouts of `actor` by `throttle`."""
    found = []
    for entry in trail:
        match = LOCKOUT.fullmatch(entry.detail)
        if (
            entry.kind is AuditKind.LOCKOUT
            and entry.actor == actor
            and match
            and match[1] == throttle
        ):
            found.append((entry.at, int(match[2]), match[3]))
    return found


def covered(answers: list[Answer], spans: list[Span]) -> bool:
    """Whether every refusal falls in a lockout that the audit log holds."""
    return all(
        any(at <= a.sent + a.took and a.sent <= at + seconds for at, seconds, _ in spans)
        for a in answers
        if a.status == 429
    )


async def audit_trail(server: ServerProcess) -> list[AuditEntry]:
    store = Store(f"unix://{socket_path(server.workdir / 'data')}", "halyq:")
    try:
        return await store.staff.audit_trail(count=1000)
    finally:
        await store.close()


# Judging


def judge_attack(run: Result, label: str, pairs: list[list[Answer]], audited: list[Span]) -> None:
    flat = [a for pair in pairs for a in pair]
    refused = [a for a in flat if a.status == 429]
    seen = sum(waits_started(pair) for pair in pairs)
    first = [next((i for i, a in enumerate(p) if a.status == 429), len(p)) for p in pairs]
    run.figures[label] = {
        "tries": len(flat),
        "refused": len(refused),
        "lockouts_seen": seen,
        "lockouts_audited": len(audited),
        "tries_before_429": max(first),
        "account_tries_in_a_minute": most_in_a_minute(flat),  # all pairs: not a criterion
    }
    most = max(most_in_a_minute(pair) for pair in pairs)
    run.check(f"{label}: tries a minute per pair", most <= PER_MINUTE["pair"], most, "<= 5")
    run.check(
        f"{label}: then 429",
        bool(refused) and all(a.retry_after for a in refused),
        len(refused),
        "429 with Retry-After",
    )
    run.check(
        f"{label}: a lockout in the audit log for each",
        seen == len(audited) > 0,
        {"seen": seen, "audited": len(audited)},
        "equal",
    )
    sources = len({source for *_, source in audited})
    locked = sum(waits_started(pair) > 0 for pair in pairs)
    run.check(
        f"{label}: one source per address",
        sources == locked,
        {"sources": sources, "addresses locked": locked},
        "equal",
    )


def judge_growth(run: Result, answers: list[Answer]) -> None:
    """The first Retry-After of each wait, in a pair that kept failing: growing."""
    waits = [
        b.retry_after or 0
        for a, b in itertools.pairwise(answers)
        if a.status == 401 and b.status == 429
    ]
    run.figures["one_ip"]["waits"] = waits
    growing = len(waits) >= 2 and all(x < y for x, y in itertools.pairwise(waits))
    run.check("one_ip: growing waits", growing, waits, "each longer than the one before")


def judge_spray(run: Result, answers: list[Answer], audited: list[Span]) -> None:
    refused = [a for a in answers if a.status == 429]
    most = most_in_a_minute(answers)
    first = next((i for i, a in enumerate(answers) if a.status == 429), len(answers))
    run.figures["spray"] = {
        "tries": len(answers),
        "refused": len(refused),
        "tries_before_429": first,
        "lockouts_audited": len(audited),
    }
    run.check(
        "spray: tries a minute per address (X-Forwarded-For ignored)",
        most <= PER_MINUTE["address"] and first == ADDRESS_FAILURES,
        most,
        "<= 20",
    )
    run.check(
        "spray: every 429 in an audited address lockout",
        bool(refused) and covered(answers, audited),
        len(audited),
        ">= 1, covering every 429",
    )


def judge_probe(run: Result, found: list[tuple[str, Answer]]) -> None:
    def bodies(kind: str, status: int) -> set[str]:
        return {a.body for k, a in found if k == kind and a.status == status}

    # Bodies differ between clients only (each has its own form token): one set for each name.
    same = all(bodies("valid", s) == bodies("unknown", s) != set() for s in (401, 429))
    run.check(
        "probe: identical bodies, valid and unknown names",
        same,
        {s: len(bodies("valid", s) | bodies("unknown", s)) for s in (401, 429)},
        "the same set of bodies for both",
    )
    took = {k: [a.took for kk, a in found if kk == k and a.status == 401] for k in KINDS}
    medians = {k: statistics.median(v) for k, v in took.items()}
    gap = abs(medians["valid"] - medians["unknown"])
    paired = statistics.median(v - u for v, u in zip(*took.values(), strict=True))  # in turn
    run.figures["probe"] = {
        "failures_timed": {k: len(v) for k, v in took.items()},
        "median_ms": {k: round(v * 1000, 1) for k, v in medians.items()},
        "median_of_paired_gaps_ms": round(paired * 1000, 1),
    }
    run.check("probe: median time gap", gap <= TIMING_GAP, round(gap * 1000, 1), "<= 50 ms")


def judge_owners(run: Result, answers: dict[str, Answer]) -> None:
    run.figures["owners"] = {
        k: {"status": a.status, "ms": round(a.took * 1000, 1)} for k, a in answers.items()
    }
    run.check(
        "owners: the right password from a clean address signs in at once",
        all(a.status == 303 for a in answers.values()),
        {k: a.status for k, a in answers.items()},
        "303 at the first try",
    )


# The run


async def attacks(
    server: ServerProcess, scale: Scale, passwords: dict[str, str], run: Result
) -> None:
    url = server.url
    many = [f"127.0.0.{11 + n}" for n in range(scale.addresses)]
    started = asyncio.gather(
        attack(url, ONE, ["127.0.0.2"], scale), attack(url, MANY, many, scale), spray(url, scale)
    )
    await asyncio.sleep(scale.duration / 2)
    owners = {
        "one_ip_halfway": await owner(url, "127.0.0.200", ONE, passwords[ONE]),
        "many_ips_halfway": await owner(url, "127.0.0.201", MANY, passwords[MANY]),
    }
    one_ip, many_ips, sprayed = await started
    owners["one_ip_after"] = await owner(url, "127.0.0.202", ONE, passwords[ONE])
    owners["many_ips_after"] = await owner(url, "127.0.0.203", MANY, passwords[MANY])
    trail = await audit_trail(server)
    judge_attack(run, "one_ip", one_ip, lockouts(trail, ONE, "pair"))
    judge_growth(run, one_ip[0])
    judge_attack(run, "many_ips", many_ips, lockouts(trail, MANY, "pair"))
    judge_spray(run, sprayed, lockouts(trail, "?", "address"))
    judge_owners(run, owners)
    refused = sum(
        a.status == 429 for pairs in (one_ip, many_ips, [sprayed]) for p in pairs for a in p
    )
    run.figures["refused_total"] = refused


async def main_async(scale: Scale) -> Result:
    run = Result("AUTH-6", asdict(scale))
    with tempfile.TemporaryDirectory(prefix="halyq-auth-") as folder:
        server = start_halyq(Path(folder), cpus=None)
        try:
            passwords = {name: secrets.token_urlsafe(12) for name in (ONE, MANY, PROBED)}
            for name, password in passwords.items():
                add_moderator(server, name, password)
            probes = [f"127.0.0.{101 + n}" for n in range(scale.probe_addresses)]
            judge_probe(run, await probe(server.url, PROBED, probes))
            await attacks(server, scale, passwords, run)
            samples = await asyncio.to_thread(server.metrics)
            counted = samples.get('halyq_refusals_total{kind="sign_in"}', 0.0)
            expected = run.figures["refused_total"] + 2 * scale.probe_addresses
            run.check("metrics: every refusal counted", counted == expected, counted, str(expected))
        finally:
            server.stop()
    return run


def _summary(quick: bool, results: list[Result], seconds: float) -> dict[str, Any]:
    (run,) = results
    return {
        "test": run.scenario,
        "quick": quick,
        "passed": run.passed,
        "seconds": round(seconds, 1),
        "scale": run.scale,
        "limits": {
            "free_tries_per_pair": FREE_TRIES,
            "first_wait_s": FIRST_DELAY,
            "address_failures": ADDRESS_FAILURES,
            "address_window_s": ADDRESS_WINDOW,
        },
        "criteria": [asdict(c) for c in run.criteria],
        "figures": run.figures,
    }


def main(argv: list[str] | None = None) -> int:
    return report.main(
        argv,
        prog="python -m bench.reliability.auth",
        description=report.headline(__doc__),
        out="auth",
        run=lambda _, quick: [asyncio.run(main_async(QUICK if quick else FULL))],
        summary=_summary,
    )


if __name__ == "__main__":
    raise SystemExit(main())
