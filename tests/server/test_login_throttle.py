"""Failed staff sign-ins against a live server: throttled per account and address pair with
growing waits, per address, and never in a way that keeps staff out (AUTH-6, issue 8 item 5)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from server.auth.accounts import (
    ACCOUNT_FAILURES,
    ACCOUNT_WINDOW,
    ADDRESS_FAILURES,
    FREE_TRIES,
    MAX_DELAY,
    PAIR_MEMORY,
    AuditKind,
    failure_delay,
)
from tests.helpers import LiveServer
from tests.server.test_auth import CSRF_INPUT, PASSWORD, FakeClock, add_user

# Few real checks are made (a throttled attempt checks no password), but each is cheap.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_hashing")]

WRONG = "not the password"
DETAIL = re.compile(r"(pair|address) (\d+)s from ([0-9a-f]{8})")


@pytest.fixture
def clock(server: LiveServer) -> FakeClock:
    fake = FakeClock()
    server.services.clock = fake
    return fake


class Browser:
    """A sign-in form from one client address (127.0.0.x), sent as often as a test likes."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token = ""

    async def sign_in(
        self, name: str, password: str = WRONG, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        if not self.token:  # the form's token holds while the halyq_login cookie does
            page = await self.http.get("/login")
            found = CSRF_INPUT.search(page.text)
            assert found, page.text
            self.token = found[1]
        form = {"name": name, "password": password, "csrf": self.token, "next": ""}
        answer = await self.http.post("/login", data=form, headers=headers)
        if answer.status_code == 303:
            self.token = ""  # signed in: the login cookie is gone
        return answer


@pytest.fixture
async def browsers(server: LiveServer) -> AsyncIterator[dict[str, Browser]]:
    """`browsers[address]`: a client bound to that loopback address, opened on first use."""
    opened: dict[str, httpx.AsyncClient] = {}

    class Browsers(dict[str, Browser]):
        def __missing__(self, address: str) -> Browser:
            transport = httpx.AsyncHTTPTransport(local_address=address)
            opened[address] = httpx.AsyncClient(base_url=server.url, transport=transport)
            self[address] = Browser(opened[address])
            return self[address]

    yield Browsers()
    for http in opened.values():
        await http.aclose()


async def lockouts(server: LiveServer) -> list[tuple[str, str, int, str]]:
    """The lockouts in the staff audit log, oldest first: (actor, throttle, seconds, source)."""
    found = []
    for entry in reversed(await server.services.staff.audit_trail(count=1000)):
        if entry.kind is AuditKind.LOCKOUT:
            match = DETAIL.fullmatch(entry.detail)
            assert match, entry.detail
            assert "127.0" not in f"{entry}"  # no address in the record, only a pseudonym
            found.append((entry.actor, match[1], int(match[2]), match[3]))
    return found


def statuses(answers: list[httpx.Response]) -> list[int]:
    return [answer.status_code for answer in answers]


# The schedule


@pytest.mark.parametrize(
    ("attacked", "waits"),
    [(False, [0, 0, 10, 20, 40, 80, 160, 300, 300]), (True, [10, 20, 40, 80, 160, 300, 300])],
)
def test_a_pair_waits_longer_after_each_failure_and_never_tries_more_than_5_a_minute(
    attacked: bool, waits: list[float]
) -> None:
    assert [failure_delay(n, attacked=attacked) for n in range(1, len(waits) + 1)] == waits
    tries, now = [], 0.0
    for failures in range(1, 50):  # each try as early as the throttle allows, all failing
        tries.append(now)
        now += failure_delay(failures, attacked=attacked)
    assert max(sum(start <= t < start + 60 for t in tries) for start in tries) <= 5  # AUTH-6
    assert failure_delay(FREE_TRIES) > 0
    assert failure_delay(1000) == MAX_DELAY


# Against a live server


async def test_200_wrong_passwords_from_one_address_leave_the_owner_signing_in_from_another(
    server: LiveServer, browsers: dict[str, Browser], clock: FakeClock
) -> None:
    """Issue 8 acceptance: 200 wrong passwords on one account from 127.0.0.1, then the right
    password from 127.0.0.2 signs in at once."""
    await add_user(server.services, "aigerim")
    attacker = browsers["127.0.0.1"]
    answers = [await attacker.sign_in("aigerim", f"{WRONG} {n}") for n in range(200)]
    assert statuses(answers) == [401] * FREE_TRIES + [429] * (200 - FREE_TRIES)
    assert {answer.headers["retry-after"] for answer in answers[FREE_TRIES:]} == {"10"}
    unknown = [await attacker.sign_in("nobody") for _ in range(FREE_TRIES + 1)]
    assert statuses(unknown) == [401] * FREE_TRIES + [429]
    assert unknown[0].text == answers[0].text  # AUTH-6: a name that exists does not show
    assert unknown[-1].text == answers[-1].text
    assert "Осы жерден әрекет тым көп" in answers[-1].text
    assert (await attacker.sign_in("aigerim", PASSWORD)).status_code == 429  # the pair waits
    owner = await browsers["127.0.0.2"].sign_in("aigerim", PASSWORD)
    assert (owner.status_code, owner.headers["location"]) == (303, "/console")
    assert "halyq_session" in browsers["127.0.0.2"].http.cookies
    assert (await attacker.sign_in("aigerim", PASSWORD)).status_code == 429  # still waits
    found = await lockouts(server)
    assert [(actor, throttle, seconds) for actor, throttle, seconds, _ in found] == [
        ("aigerim", "pair", 10),
        ("?", "pair", 10),
    ]
    assert found[0][3] == found[1][3]  # one source
    kinds = [e.kind for e in await server.services.staff.audit_trail()]
    assert kinds.count(AuditKind.LOGIN_FAILED) == 2 * FREE_TRIES  # a refused try is no failure
    assert kinds[0] is AuditKind.LOGIN


async def test_a_throttled_pair_waits_10_20_40_80_seconds_and_a_success_starts_it_afresh(
    server: LiveServer, browsers: dict[str, Browser], clock: FakeClock
) -> None:
    await add_user(server.services, "aigerim")
    http = browsers["127.0.0.1"]
    for _ in range(FREE_TRIES):
        assert (await http.sign_in("aigerim")).status_code == 401
    waits = []
    for _ in range(4):
        refused = await http.sign_in("aigerim", PASSWORD)  # even the right password waits
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        clock.advance(waits[-1] - 1)
        almost = await http.sign_in("aigerim")
        assert (almost.status_code, almost.headers["retry-after"]) == (429, "1")
        clock.advance(1)
        if len(waits) < 4:
            assert (await http.sign_in("aigerim")).status_code == 401
    assert waits == [10, 20, 40, 80]
    assert (await http.sign_in("aigerim", PASSWORD)).status_code == 303
    again = [await http.sign_in("aigerim") for _ in range(FREE_TRIES + 1)]
    assert statuses(again) == [401] * FREE_TRIES + [429]
    assert again[-1].headers["retry-after"] == "10"
    found = await lockouts(server)
    assert [(throttle, seconds) for _, throttle, seconds, _ in found] == [
        ("pair", 10), ("pair", 20), ("pair", 40), ("pair", 80), ("pair", 10)
    ]  # fmt: skip


async def test_a_pair_s_failures_are_forgotten_a_while_after_its_wait(
    server: LiveServer, browsers: dict[str, Browser], clock: FakeClock
) -> None:
    http = browsers["127.0.0.1"]
    first = [await http.sign_in("aigerim") for _ in range(FREE_TRIES + 1)]
    assert statuses(first) == [401] * FREE_TRIES + [429]
    clock.advance(10 + PAIR_MEMORY - 1)
    assert (await http.sign_in("aigerim")).status_code == 401  # remembered: the next one waits
    assert (await http.sign_in("aigerim")).headers["retry-after"] == "20"
    clock.advance(20 + PAIR_MEMORY)
    later = [await http.sign_in("aigerim") for _ in range(FREE_TRIES + 1)]
    assert statuses(later) == [401] * FREE_TRIES + [429]
    assert later[-1].headers["retry-after"] == "10"


async def test_forwarded_for_from_an_untrusted_client_does_not_change_its_address(
    server: LiveServer, browsers: dict[str, Browser], clock: FakeClock
) -> None:
    """Issue 8: 200 sprays over as many names, each with another `X-Forwarded-For` and
    `X-Real-IP`, from one client that is no trusted proxy (HALYQ_TRUSTED_PROXIES is empty)."""
    sprayer = browsers["127.0.0.1"]
    answers = []
    for n in range(200):
        forged = {"X-Forwarded-For": f"10.0.{n}.1", "X-Real-IP": f"10.1.{n}.1"}
        answers.append(await sprayer.sign_in(f"guess{n}", headers=forged))
    assert statuses(answers) == [401] * ADDRESS_FAILURES + [429] * (200 - ADDRESS_FAILURES)
    assert {answer.headers["retry-after"] for answer in answers[ADDRESS_FAILURES:]} == {"60"}
    assert (await browsers["127.0.0.3"].sign_in("guess-new")).status_code == 401  # not this one
    assert [found[:3] for found in await lockouts(server)] == [("?", "address", 60)]
    clock.advance(60)
    assert (await sprayer.sign_in("guess-later")).status_code == 401
    metrics = (await sprayer.http.get("/metrics")).text
    assert 'halyq_refusals_total{kind="sign_in"} 180.0' in metrics


async def test_past_the_account_ceiling_only_addresses_without_failures_keep_a_free_try(
    server: LiveServer, browsers: dict[str, Browser], clock: FakeClock
) -> None:
    await add_user(server.services, "aigerim")
    per_address = [ACCOUNT_FAILURES // 10] * 10  # an attack spread over 10 addresses
    for number, count in enumerate(per_address):
        for _ in range(count):
            assert (await browsers[f"127.0.0.{10 + number}"].sign_in("aigerim")).status_code == 401
    newcomer = browsers["127.0.0.30"]
    assert (await newcomer.sign_in("aigerim")).status_code == 401  # its first try still counts
    refused = await newcomer.sign_in("aigerim")
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "10")
    owner = await browsers["127.0.0.31"].sign_in("aigerim", PASSWORD)
    assert owner.status_code == 303  # a clean address signs in at once
    clock.advance(ACCOUNT_WINDOW)
    calm = [await browsers["127.0.0.32"].sign_in("aigerim") for _ in range(FREE_TRIES + 1)]
    assert statuses(calm) == [401] * FREE_TRIES + [429]  # the free tries are back
    found = await lockouts(server)
    assert len(found) == 10 + 1 + 1  # one per address that waited, each from its own source
    assert len({source for *_, source in found}) == 12
