"""Territories end to end (issue 13.1): `halyq territory import|export|list` through the real
entry point (a file with bad rows imports nothing and names each by line; Kazakh and Russian
names round-trip), the CSV reader and writer under Hypothesis, the admin's page with a real
staff session and its CSRF token, the public JSON, offices attached to units, and the demo's
Almaty."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation import InvalidInput
from moderation.model import AkimLevel
from moderation.offices import OfficeFields
from moderation.territories import COLUMNS, ImportRefused, Problem, apply, import_rows, to_visit
from server.auth.accounts import Role
from server.cli.offices import ensure_almaty
from server.cli.territories import ALMATY_CSV
from server.settings import Settings
from server.store import Store
from server.usecases import UseCases, offices, territories
from tests.helpers import ROOT, TIMEOUT, LiveServer, environment
from tests.server.test_auth import CSRF_INPUT, add_user, login

pytestmark = [pytest.mark.anyio]
DISTRICTS = ("alatau", "almaly", "auezov", "bostandyk", "zhetysu", "medeu", "nauryzbay", "turksib")
# Every letter Kazakh adds to the Cyrillic alphabet, and Russian's own.
KAZAKH = "әғқңөұүһі" + "ӘҒҚҢӨҰҮҺІ"
RUSSIAN = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя" + "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
BAD = """id,kind,name_kk,name_ru,name_en,kato,parent
almaty,city,Алматы,Алматы,Almaty,750000000,
almaty-ok,city_district,Медеу ауданы,Медеуский район,,751710000,almaty
almaty-town,town,Қала,Город,,,almaty
almaty-empty,city_district,,Пусто,,,almaty
almaty-kato,city_district,Әуезов,Ауэзовский,,7513,almaty
almaty-ok,city_district,Қайта,Повтор,,,almaty

almaty-lost,city_district,Жоғалған,Потерянный,,,nowhere
almaty-wrong,oblast,Облыс,Область,,,almaty
"""
BAD_LINES = [
    "line 4: kind: 'town' is not one of oblast, district, city, rural_district, village, "
    "city_district, microdistrict",
    "line 5: name_kk is required",
    "line 6: kato: '7513' is not 9 digits",
    "line 7: id: almaty-ok is also on line 3",
    "line 9: parent: no unit 'nowhere'",
    "line 10: kind: a oblast cannot sit under a city (only under the top)",
]


def halyq(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`halyq ARGS` as a user runs it, on the tests' Redis under this test's prefix."""
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT * 3)  # fmt: skip


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_almaty_round_trips_through_the_shell(settings: Settings, tmp_path: Path) -> None:
    empty = halyq(settings, "territory", "list")
    assert empty.returncode == 0, empty.stderr
    assert "no units yet" in empty.stdout
    done = halyq(settings, "territory", "import", str(ALMATY_CSV))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "imported 9 unit(s)\n"
    listed = json.loads(halyq(settings, "territory", "list", "--json").stdout)
    assert [u["id"] for u in listed] == ["almaty", *sorted(f"almaty-{d}" for d in DISTRICTS)]
    assert listed[0]["children"] == sorted(f"almaty-{d}" for d in DISTRICTS)
    auezov = next(u for u in listed if u["id"] == "almaty-auezov")
    assert auezov == {"id": "almaty-auezov", "kind": "city_district",
                      "names": {"kk": "Әуезов ауданы", "ru": "Ауэзовский район",
                                "en": "Auezov district"},
                      "kato": "751310000", "parent": "almaty", "children": []}  # fmt: skip
    text = halyq(settings, "territory", "list").stdout
    assert "almaty-bostandyk  city_district  Бостандық ауданы / Бостандыкский район" in text
    exported = tmp_path / "out.csv"
    assert halyq(settings, "territory", "export", str(exported)).returncode == 0
    written = exported.read_bytes().decode("utf-8")
    assert written.startswith("\ufeffid,kind,name_kk,name_ru,name_en,kato,parent\r\n")
    assert sorted(map(sorted_row, rows_of(written))) == sorted(
        map(sorted_row, rows_of(ALMATY_CSV.read_text(encoding="utf-8")))
    )
    office = halyq(settings, "office", "add", "almaty", "--level", "city_republican",
                   "--territory", "Алматы", "--unit", "almaty", "--json")  # fmt: skip
    assert json.loads(office.stdout)["unit"] == "almaty", office.stderr
    lost = halyq(settings, "office", "add", "lost", "--level", "local", "--territory", "x",
                 "--unit", "nowhere")  # fmt: skip
    assert (lost.returncode, lost.stderr) == (
        1,
        "halyq: invalid: unit: no territory unit 'nowhere'\n",
    )
    again = halyq(settings, "territory", "import", str(exported))  # the same file, as it was
    assert again.returncode == 0, again.stderr
    assert halyq(settings, "territory", "export").stdout == written.replace("\r\n", "\n")


def sorted_row(row: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(row.items()))


async def test_a_file_with_bad_rows_imports_nothing_and_names_each(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    done = await asyncio.to_thread(halyq, settings, "territory", "import", str(bad))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [*BAD_LINES, "halyq: nothing imported: 6 bad row(s)"]
    found = await territories.territory(UseCases(store=store))
    assert (found.count, found.units) == (0, {})  # the good rows did not go in either


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", Problem(1, "header: no column id, kind, name_kk, name_ru (the columns: "
                         "id,kind,name_kk,name_ru,name_en,kato,parent)")),
        (b"id,kind,name_kk,name_ru,county\n", Problem(1, "header: unknown column county (the "
                                                        "columns: id,kind,name_kk,name_ru,"
                                                        "name_en,kato,parent)")),
        (b"id,kind,name_kk,name_ru,id\n", Problem(1, "header: a column is named twice")),
        (b"id,kind,name_kk,name_ru\n", Problem(1, "no rows: the file has only its header")),
        (b"id,kind,name_kk,name_ru\nx1,city,\xc3\x28,y\n", Problem(2, "not UTF-8 text: save "
                                                                     "the file as UTF-8")),
        (b"id,kind,name_kk,name_ru\nx1,city,a\n", Problem(2, "3 fields, where the header has 4")),
        ('\ufeffid,kind,name_kk,name_ru\n"x1",city,"a\nb",c\nx1,city,d,e\n'.encode(),
         Problem(4, "id: x1 is also on line 2")),
    ],
)  # fmt: skip
async def test_the_reader_names_the_line_of_what_is_wrong(
    store: Store, data: bytes, problem: Problem
) -> None:
    cases = UseCases(store=store)
    with pytest.raises(ImportRefused) as refused:
        await territories.import_csv(cases, data, by="test")
    assert refused.value.problems == (problem,)
    assert (await territories.territory(cases)).count == 0


names = st.text(alphabet=KAZAKH + RUSSIAN + " -'(),.\"", min_size=1, max_size=40).filter(
    lambda s: s.strip()[:1].isalpha()
)


@given(st.lists(st.tuples(names, names, names), min_size=1, max_size=8))
def test_any_kazakh_and_russian_names_round_trip_through_the_csv(
    units: list[tuple[str, str, str]],
) -> None:
    rows = [(n + 2, {"id": f"unit-{n}", "kind": "city", "name_kk": kk, "name_ru": ru,
                     "name_en": en, "kato": "", "parent": ""})
            for n, (kk, ru, en) in enumerate(units)]  # fmt: skip
    first = apply({}, import_rows({}, rows, by="test", now=0))
    text = territories.write_csv(first)
    again = apply({}, import_rows({}, territories.read_csv(text), by="test", now=0))
    assert again == first
    assert territories.write_csv(again) == text
    assert territories.read_csv(text.encode("utf-8"))[0][1].keys() == set(COLUMNS)


async def test_offices_attach_to_units_that_exist(store: Store) -> None:
    cases = UseCases(store=store)
    city = OfficeFields(level=AkimLevel.CITY_REPUBLICAN, territory="Алматы", unit="anywhere")
    # Before any unit exists, an office may name one (the territory is imported later).
    assert (await offices.add(cases, "early", city, by="test")).unit == "anywhere"
    await territories.import_csv(cases, ALMATY_CSV.read_bytes(), by="test")
    with pytest.raises(InvalidInput, match="unit: no territory unit 'nowhere'"):
        await offices.add(cases, "late", OfficeFields(level=AkimLevel.LOCAL, territory="x",
                                                      unit="nowhere"), by="test")  # fmt: skip
    added = await offices.add(cases, "almaty", OfficeFields(level=AkimLevel.CITY_REPUBLICAN,
                                                           territory="Алматы", unit="almaty"),
                              by="test")  # fmt: skip
    assert added.public()["unit"] == "almaty"


async def test_the_demo_seeds_almaty_and_attaches_its_offices(store: Store) -> None:
    cases = UseCases(store=store)
    await ensure_almaty(cases)
    await ensure_almaty(cases)  # a second time changes nothing
    found = await territories.territory(cases)
    assert found.count == 1
    assert found.units["almaty"].kato == "750000000"
    assert found.units["almaty-medeu"].kato == "751710000"
    ledger = await offices.ledger(cases)
    assert {o.id: o.unit for o in ledger.offices.values()} == {
        "almaty": "almaty", **{f"almaty-{d}": f"almaty-{d}" for d in DISTRICTS}}  # fmt: skip
    # R1: the city's akim must visit its eight districts; a district's akim its own district.
    city = ledger.offices["almaty"]
    visited = to_visit(found.units, city.unit, city.level)
    assert [u.id for u in visited] == sorted(f"almaty-{d}" for d in DISTRICTS)
    medeu = ledger.offices["almaty-medeu"]
    assert [u.id for u in to_visit(found.units, medeu.unit, medeu.level)] == ["almaty-medeu"]


async def test_the_admin_page_adds_renames_and_imports(server: LiveServer) -> None:
    await add_user(server.services, "root", Role.ADMIN)
    await add_user(server.services, "mod", Role.MODERATOR)
    async with httpx.AsyncClient(base_url=server.url) as http:
        await login(http, "root")
        page = await http.get("/console/territories")
        assert page.status_code == 200
        token = CSRF_INPUT.search(page.text)
        assert token
        csrf = token[1]
        bad = await http.post("/console/territories/import", data={"csrf": csrf, "csv": BAD})
        assert bad.status_code == 400
        for line in BAD_LINES:
            number, _, reason = line.partition(": ")
            assert f'data-line="{number.removeprefix("line ")}"' in bad.text
            assert reason.replace("'", "&#39;") in bad.text
        assert "nothing imported: 6 bad row(s)" in bad.text
        good = ALMATY_CSV.read_text(encoding="utf-8")
        imported = await http.post("/console/territories/import", content=good.encode(),
                                   headers={"Content-Type": "text/csv",
                                            "X-CSRF-Token": csrf})  # fmt: skip
        assert imported.status_code == 303
        assert imported.headers["location"] == "/console/territories?done=9+units"
        as_csv = {"Content-Type": "text/csv", "X-CSRF-Token": csrf}
        huge = await http.post("/console/territories/import", content=b"x" * (1024 * 1024 + 1),
                               headers=as_csv)  # fmt: skip
        assert huge.status_code == 413
        unit = {
            "csrf": csrf,
            "id": "almaty-samal",
            "kind": "microdistrict",
            "name_kk": "Самал",
            "name_ru": "Самал",
            "name_en": "",
            "kato": "",
            "parent": "almaty-medeu",
        }
        added = await http.post("/console/territories", data=unit)
        assert added.status_code == 303, added.text
        again = await http.post("/console/territories", data=unit)
        assert again.status_code == 400
        assert "id: unit almaty-samal already exists" in again.text
        renamed = await http.post("/console/territories/almaty-samal",
                                  data={"csrf": csrf, "name_kk": "Самал-2", "name_ru": "Самал-2",
                                        "name_en": "Samal-2", "kato": ""})  # fmt: skip
        assert renamed.status_code == 303
        shown = (await http.get(renamed.headers["location"])).text
        assert 'data-done="almaty-samal"' in shown
        missing = await http.post("/console/territories/nowhere", data={"csrf": csrf})
        assert missing.status_code == 404
        forged = await http.post("/console/territories", data=unit | {"csrf": "x", "id": "b2"})
        assert forged.status_code == 403
        exported = await http.get("/api/territories.csv")
        assert "almaty-samal,microdistrict,Самал-2,Самал-2,Samal-2,,almaty-medeu" in (exported.text)
        tree = (await http.get("/api/territories")).json()["units"]
        medeu = next(u for u in tree if u["id"] == "almaty-medeu")
        assert medeu["children"] == ["almaty-samal"]
    async with httpx.AsyncClient(base_url=server.url) as http:
        await login(http, "mod")
        assert (await http.get("/console/territories")).status_code == 403
    found = await territories.territory(server.services.usecases)
    assert found.count == 3  # the import, the unit, the rename: nothing of the bad file
