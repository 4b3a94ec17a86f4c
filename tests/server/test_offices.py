"""Offices end to end (issue 12.2): `halyq office add|list|holder` through the real entry point,
the admin's page with a real staff session and its CSRF token, the JSON API and its errors,
meetings that belong to an office, and Almaty's offices in the demo."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import httpx
import pytest

from moderation import InvalidInput
from moderation.model import AkimLevel
from moderation.offices import OfficeFields
from server.auth.accounts import Role
from server.cli.demo import DEMO_ID, ensure_demo
from server.cli.offices import DISTRICTS, ensure_almaty
from server.settings import Settings
from server.store import Store
from server.store.offices import KINDS
from server.usecases import UseCases, create_meeting, offices
from tests.conftest import meeting_command
from tests.helpers import ROOT, TIMEOUT, LiveServer, environment
from tests.server.test_auth import CSRF_INPUT, add_user, login

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_hashing")]
ADMIN = {"Authorization": "Bearer test-admin-token"}
CITY = {"id": "almaty", "level": "city_republican", "territory": "Алматы",
        "territories": {"en": "Almaty"}, "kato": "750000000"}  # fmt: skip


def halyq(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`halyq ARGS` as a user runs it, on the tests' Redis under this test's prefix."""
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT * 3)  # fmt: skip


def test_offices_from_the_shell(settings: Settings) -> None:
    empty = halyq(settings, "office", "list")
    assert empty.returncode == 0, empty.stderr
    assert "no offices yet" in empty.stdout
    city = halyq(settings, "office", "add", "almaty", "--level", "city_republican",
                 "--territory", "Алматы", "--territory-en", "Almaty", "--kato", "750000000",
                 "--json")  # fmt: skip
    assert city.returncode == 0, city.stderr
    assert json.loads(city.stdout)["territories"] == {"en": "Almaty"}
    district = halyq(settings, "office", "add", "almaty-medeu", "--level", "local",
                     "--territory", "Медеу ауданы", "--parent", "almaty")  # fmt: skip
    assert district.returncode == 0, district.stderr
    assert "almaty-medeu  local  Медеу ауданы  in almaty  holder: -" in district.stdout
    holder = halyq(settings, "office", "holder", "almaty-medeu", "Бірінші Әкім", "--since",
                   "2025-02-01")  # fmt: skip
    assert "holder: Бірінші Әкім (since 2025-02-01)" in holder.stdout
    second = halyq(settings, "office", "holder", "almaty-medeu", "Екінші Әкім", "--since",
                   "2026-03-01", "--json")  # fmt: skip
    assert json.loads(second.stdout)["holders"] == [
        {"name": "Бірінші Әкім", "since": "2025-02-01", "until": "2026-02-28"},
        {"name": "Екінші Әкім", "since": "2026-03-01", "until": None},
    ]
    listed = halyq(settings, "office", "list", "--json")
    assert [o["id"] for o in json.loads(listed.stdout)] == ["almaty", "almaty-medeu"]
    text = halyq(settings, "office", "list").stdout.splitlines()
    assert text[0].startswith("almaty  city_republican  Алматы  holder: -")
    created = halyq(settings, "meeting", "create", "--title", "Медеу", "--akim", "Екінші Әкім",
                    "--level", "local", "--territory", "Медеу", "--planned-minutes", "90",
                    "--office", "almaty-medeu", "--json")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["office"] == "almaty-medeu"


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (("office", "add", "almaty", "--level", "local", "--territory", "x"), 1, "conflict: id"),
        (("office", "add", "b", "--level", "local", "--territory", "x"), 1, "invalid: id"),
        (("office", "add", "bb", "--level", "local", "--territory", "x", "--parent", "nowhere"),
         1, "invalid: parent: no office 'nowhere'"),
        (("office", "add", "bb", "--level", "local", "--territory", "x", "--kato", "12"), 1,
         "invalid: kato"),
        (("office", "add", "bb", "--level", "county", "--territory", "x"), 2, "--level"),
        (("office", "holder", "nowhere", "A", "--since", "2026-01-01"), 1,
         "not_found: no office 'nowhere'"),
        (("office", "holder", "almaty", "A", "--since", "2026-13-01"), 1,
         "invalid: since must be a date"),
        (("office", "holder", "almaty", "A", "--since", "2024-12-31"), 1,
         "invalid: since: Әкім holds the office from 2025-01-01"),
        (("meeting", "create", "--title", "x", "--akim", "x", "--level", "local", "--territory",
          "x", "--planned-minutes", "90", "--office", "nowhere"), 1,
         "invalid: office: no office 'nowhere'"),
    ],
)  # fmt: skip
async def test_the_shell_refuses_bad_offices_clearly(
    settings: Settings, store: Store, args: tuple[str, ...], code: int, error: str
) -> None:
    cases = UseCases(store=store)
    fields = OfficeFields(level=AkimLevel.CITY_REPUBLICAN, territory="Алматы")
    await offices.add(cases, "almaty", fields, by="root")
    await offices.set_holder(cases, "almaty", "Әкім", "2025-01-01", by="root")
    done = await asyncio.to_thread(halyq, settings, *args)
    assert done.returncode == code
    assert error in done.stderr
    assert done.stdout == ""
    assert (await offices.ledger(cases)).count == 2  # nothing changed


async def test_the_admin_page_adds_offices_and_changes_holders(server: LiveServer) -> None:
    await add_user(server.services, "root", Role.ADMIN)
    async with httpx.AsyncClient(base_url=server.url) as http:
        await login(http, "root")
        page = await http.get("/console/offices")
        assert page.status_code == 200
        token = CSRF_INPUT.search(page.text)
        assert token
        csrf = token[1]
        form = {"csrf": csrf, "id": "almaty", "level": "city_republican", "territory": "Алматы",
                "territory_en": "Almaty", "territory_kk": "", "parent": "",
                "kato": "750000000"}  # fmt: skip
        added = await http.post("/console/offices", data=form)
        assert added.status_code == 303
        assert added.headers["location"] == "/console/offices?done=almaty"
        district = form | {"id": "almaty-almaly", "level": "local", "territory": "Алмалы",
                           "territory_en": "Almaly", "parent": "almaty", "kato": ""}  # fmt: skip
        assert (await http.post("/console/offices", data=district)).status_code == 303
        holder = {"csrf": csrf, "name": "Ерлан Сапаров", "since": "2025-01-01"}
        changed = await http.post("/console/offices/almaty-almaly/holder", data=holder)
        assert changed.status_code == 303
        shown = (await http.get(changed.headers["location"])).text
        assert 'data-done="almaty-almaly"' in shown
        assert "<bdi data-holder>Ерлан Сапаров</bdi>" in shown
        # Refusals keep the page, say why, and change nothing.
        bad = await http.post("/console/offices", data=form | {"id": "astana", "kato": "7"})
        assert bad.status_code == 400
        assert "kato: a KATO code is 9 digits" in bad.text
        again = await http.post("/console/offices", data=form)
        assert again.status_code == 409
        early = await http.post("/console/offices/almaty-almaly/holder",
                                data=holder | {"since": "2024-01-01"})  # fmt: skip
        assert early.status_code == 400
        assert "since: Ерлан Сапаров holds the office from 2025-01-01" in early.text
        missing = await http.post("/console/offices/nowhere/holder", data=holder)
        assert missing.status_code == 404
        forged = await http.post("/console/offices", data=form | {"csrf": "x", "id": "astana"})
        assert forged.status_code == 403
    ledger = await offices.ledger(server.services.usecases)
    assert sorted(ledger.offices) == ["almaty", "almaty-almaly"]
    assert ledger.offices["almaty-almaly"].territories == {"en": "Almaly"}
    assert ledger.count == 3


async def test_only_the_admin_manages_offices(server: LiveServer) -> None:
    await add_user(server.services, "mod", Role.MODERATOR)
    async with httpx.AsyncClient(base_url=server.url) as http:
        await login(http, "mod")
        assert (await http.get("/console/offices")).status_code == 403
        body = {k: v for k, v in CITY.items() if k != "territories"}
        refused = await http.post("/api/offices", json=body, headers={"X-CSRF-Token": "x"})
        assert refused.status_code == 403
    assert (await offices.ledger(server.services.usecases)).offices == {}


async def test_the_offices_api(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.post("/api/offices", json=CITY)).status_code == 401
        wrong = await http.post("/api/offices", json=CITY, headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 403
        basic = await http.post("/api/offices", json=CITY, headers={"Authorization": "Basic eDp4"})
        assert basic.status_code == 401
        added = await http.post("/api/offices", json=CITY, headers=ADMIN)
        assert added.status_code == 201, added.text
        assert added.json()["kato"] == "750000000"
        district = {"id": "almaty-medeu", "level": "local", "territory": "Медеу",
                    "parent": "almaty", "kato": None}  # fmt: skip
        assert (await http.post("/api/offices", json=district, headers=ADMIN)).status_code == 201
        holder = {"name": "Сәуле Қасымова", "since": "2025-05-05"}
        changed = await http.post("/api/offices/almaty-medeu/holder", json=holder, headers=ADMIN)
        assert changed.json()["holder"] == {"name": "Сәуле Қасымова", "since": "2025-05-05",
                                            "until": None}  # fmt: skip
        listed = (await http.get("/api/offices")).json()["offices"]
        assert [o["id"] for o in listed] == ["almaty", "almaty-medeu"]
        assert listed[0]["districts"] == ["almaty-medeu"]
        one = (await http.get("/api/offices/almaty-medeu")).json()
        assert one["parent"] == "almaty"
        assert one["holders"] == [holder | {"until": None}]
        assert (await http.get("/api/offices/nowhere")).status_code == 404
        assert (await http.get("/api/offices/nowhere/promises")).status_code == 404
        # A meeting belongs to an office that exists.
        meeting = {"title": "Медеу", "akim": "Сәуле Қасымова", "level": "local",
                   "territory": "Медеу", "planned_minutes": 90}  # fmt: skip
        unknown = await http.post("/api/meetings", json=meeting | {"office": "x"}, headers=ADMIN)
        assert unknown.status_code == 400
        assert unknown.json()["detail"].startswith("office: no office 'x'")
        made = await http.post("/api/meetings", json=meeting | {"office": "almaty-medeu"},
                               headers=ADMIN)  # fmt: skip
        assert made.status_code == 201
        assert made.json()["office"] == "almaty-medeu"
        assert (await http.get(f"/api/meetings/{made.json()['id']}")).json()["office"] == (
            "almaty-medeu"
        )


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (CITY | {"id": ""}, 400, "id is required"),
        (CITY | {"id": "astana", "level": "county"}, 400, "level is one of"),
        (CITY | {"id": "astana", "territory": 5}, 400, "territory must be text"),
        (CITY | {"id": "astana", "territories": ["Almaty"]}, 400, "territories must be an object"),
        (CITY | {"id": "astana", "territories": {"de": "Almaty"}}, 400, "territories are in"),
        (CITY | {"id": "astana", "parent": "nowhere"}, 400, "parent: no office"),
        (CITY | {"id": "astana", "kato": "75"}, 400, "kato"),
        (CITY, 409, "id: office almaty already exists"),
    ],
)
async def test_the_offices_api_refuses_bad_input_naming_the_field(
    server: LiveServer, body: dict[str, object], status: int, detail: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.post("/api/offices", json=CITY, headers=ADMIN)).status_code == 201
        refused = await http.post("/api/offices", json=body, headers=ADMIN)
        assert refused.status_code == status
        assert detail in refused.json()["detail"]
        not_json = await http.post("/api/offices", content=b"[1]", headers=ADMIN)
        assert not_json.status_code == 400
        holder = await http.post("/api/offices/almaty/holder", json={"name": "A"}, headers=ADMIN)
        assert holder.json()["detail"] == "since is required"
    assert len((await offices.ledger(server.services.usecases)).offices) == 1


async def test_concurrent_writers_each_land_once(server: LiveServer) -> None:
    cases = server.services.usecases

    async def add(number: int) -> None:
        fields = OfficeFields(level=AkimLevel.LOCAL, territory=f"Village {number}")
        await offices.add(cases, f"village-{number}", fields, by="root")

    await asyncio.gather(*(add(n) for n in range(4)))
    ledger = await offices.ledger(cases)
    assert sorted(ledger.offices) == [f"village-{n}" for n in range(4)]
    assert ledger.count == 4


async def test_the_public_pages_list_the_offices(server: LiveServer) -> None:
    cases = server.services.usecases
    await ensure_almaty(cases)
    async with httpx.AsyncClient(base_url=server.url) as http:
        index = await http.get("/offices?lang=en")
        assert index.status_code == 200
        assert index.text.count('class="office-card') == 9
        assert ">Almaty</bdi>" in index.text
        page = await http.get("/offices/almaty?lang=ru")
        assert page.status_code == 200
        assert page.text.count("/offices/almaty-") == len(DISTRICTS)
        assert "Алмалинский район" in page.text
        assert (await http.get("/offices/nowhere")).status_code == 404


async def test_the_demo_seeds_almatys_offices_once(server: LiveServer) -> None:
    cases = UseCases(store=server.services.store)
    meeting = await ensure_demo(cases)
    assert meeting.id == DEMO_ID
    assert meeting.office == "almaty-almaly"
    first = await offices.ledger(cases)
    await ensure_almaty(cases)
    again = await offices.ledger(cases)
    assert again.count == first.count == 18  # nine offices, each with its holder
    city = again.offices["almaty"]
    assert city.level is AkimLevel.CITY_REPUBLICAN
    assert city.kato == "750000000"
    districts = sorted(
        (o for o in again.offices.values() if o.parent == "almaty"), key=lambda o: o.id
    )
    assert [o.id for o in districts] == sorted(f"almaty-{d[0]}" for d in DISTRICTS)
    assert all(o.level is AkimLevel.LOCAL and o.holder for o in districts)
    assert again.offices["almaty-almaly"].holder.name == meeting.akim  # type: ignore[union-attr]


async def test_a_meeting_with_no_such_office_is_refused(server: LiveServer) -> None:
    with pytest.raises(InvalidInput, match="office: no office 'x'"):
        await create_meeting(server.services.usecases, meeting_command(office="x"))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_office_and_promise_event_is_in_the_readme(kind: str) -> None:
    assert f"`{kind}`" in (ROOT / "README.md").read_text()
