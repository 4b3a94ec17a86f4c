"""The audit page says what each staff action was about, filters and exports it; every error
page is a real page in the reader's language (issue 14)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.requests import Request

from moderation import Meeting
from server.auth.accounts import Role
from server.settings import Settings
from server.store import Store
from server.web import errors
from server.web.audit import EXCERPT, excerpt
from tests.consoles import ask, desk_and_viewer, open_session
from tests.helpers import LiveServer, PrivateRedis, comment, live_server, recv_until

pytestmark = pytest.mark.anyio

HIDDEN = (
    "Позвоните мне 8 701 234 56 67: у нас во дворе на улице Абая третью неделю не горят "
    "фонари, дети ходят в темноте"
)
ROADS = "Когда отремонтируют дорогу на улице Толе би возле школы номер 12?"
FORMULA = '=HYPERLINK("http://evil.example") когда отремонтируют дорогу на Толе би?'


async def post(viewer: object, key: str, text: str, name: str) -> str:
    await viewer.send(comment(key, text, name))  # type: ignore[attr-defined]
    ack, _ = await recv_until(viewer, lambda f: f.get("client_msg_id") == key)  # type: ignore[arg-type]
    assert ack["type"] == "ack", ack
    return str(ack["id"])


async def seed(server: LiveServer, store: Store, meeting: Meeting) -> dict[str, str]:
    """A comment hidden by `aliya`; questions approved, merged and tagged by `bolat`."""
    ids: dict[str, str] = {}
    async with desk_and_viewer(server, store, meeting.id, "aliya", Role.MODERATOR) as (a, viewer):
        ids["hidden"] = await post(viewer, "c1", HIDDEN, "Айгерім +77012345667")
        await a.sees(ids["hidden"])
        assert (await a.act("hide", ids["hidden"], reason="personal_data"))["type"] == "result"
        ids["roads"] = await ask(viewer, "q1", ROADS)
        ids["formula"] = await ask(viewer, "q2", FORMULA)
    async with desk_and_viewer(server, store, meeting.id, "bolat", Role.MODERATOR) as (b, _):
        await b.sees(ids["formula"])
        assert (await b.act("approve", ids["roads"]))["type"] == "result"
        assert (await b.act("merge", ids["formula"], into=ids["roads"]))["type"] == "result"
        tagged = await b.act("tag", ids["roads"], topic="roads", district="")
        assert tagged["type"] == "result", tagged
    return ids


async def staff_client(
    server: LiveServer, store: Store, name: str, role: Role
) -> httpx.AsyncClient:
    session = await open_session(store, name, role)
    return httpx.AsyncClient(base_url=server.url, cookies={"halyq_session": session})


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-id="[^"]+" data-kind="([a-z_.]+)"', html)


async def test_the_audit_page_says_what_each_action_was_about_and_filters_it(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    ids = await seed(server, store, live_meeting)
    async with await staff_client(server, store, "root", Role.ADMIN) as http:
        page = await http.get(f"/console/{live_meeting.id}/audit", params={"lang": "ru"})
        assert page.status_code == 200
        html = page.text
        assert rows(html) == [
            "question.tagged",
            "question.merged",
            "question.approved",
            "comment.hidden",
        ]
        # The hidden comment: its excerpt and author with the phone masked, the reason in Russian.
        hidden = html[html.index('data-kind="comment.hidden"') :]
        hidden = hidden[: hidden.index("</tr>")]
        assert excerpt(HIDDEN) in hidden
        assert "••• ••• ••67" in hidden
        assert "234 56" not in html
        assert "77012345667" not in html
        assert "Айгерім ••• ••• ••67" in hidden
        assert "Причина: персональные данные" in hidden
        assert ">aliya<" in hidden
        # Almaty's local time, with the date.
        entries = await store.record.range(live_meeting.id, "-", "+", count=100)
        hid_at = next(e.at for _, e in entries if e.kind == "comment.hidden")
        local = datetime.fromtimestamp(hid_at / 1000, UTC) + timedelta(hours=5)
        assert local.strftime("%d.%m.%Y %H:%M:%S") in hidden
        # A merge names the question it joined by its text, a tag its topic in Russian.
        assert f'data-into="{ids["roads"]}"' in html
        assert f"<q>{ROADS}</q>" in html
        assert "Тема: дороги" in html

        by_aliya = await http.get(f"/console/{live_meeting.id}/audit?by=aliya&lang=ru")
        assert rows(by_aliya.text) == ["comment.hidden"]
        by_bolat = await http.get(f"/console/{live_meeting.id}/audit?by=bolat&lang=ru")
        assert rows(by_bolat.text) == ["question.tagged", "question.merged", "question.approved"]
        assert f'href="/console/{live_meeting.id}/audit.csv?by=bolat"' in by_bolat.text
        merged = await http.get(
            f"/console/{live_meeting.id}/audit", params={"by": "bolat", "action": "question.merged"}
        )
        assert rows(merged.text) == ["question.merged"]
        assert '<option value="question.merged" selected>' in merged.text
        assert "audit.csv?by=bolat&amp;action=question.merged" in merged.text
        nobody = await http.get(f"/console/{live_meeting.id}/audit?by=nobody")
        assert rows(nobody.text) == []
        assert '<option value="nobody" selected>' in nobody.text


async def test_the_audit_csv_has_the_same_rows_with_no_formula(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    ids = await seed(server, store, live_meeting)
    async with await staff_client(server, store, "mira", Role.MODERATOR) as http:
        answer = await http.get(f"/console/{live_meeting.id}/audit.csv?by=bolat&lang=en")
        everything = await http.get(f"/console/{live_meeting.id}/audit.csv?lang=kk")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [r["action"] for r in table] == ["Tagged", "Question merged", "Question approved"]
    assert {r["by"] for r in table} == {"bolat"}
    merged = table[1]
    assert merged["item"] == ids["formula"]
    assert merged["into"] == ids["roads"]
    assert merged["excerpt"].startswith("'=HYPERLINK(")  # neutralised (CWE-1236)
    assert merged["into_excerpt"] == ROADS
    assert table[0]["topic"] == "roads"
    kk = list(csv.DictReader(io.StringIO(everything.text.removeprefix("\ufeff"))))
    assert len(kk) == 4
    assert kk[-1]["reason"] == "жеке деректер"
    assert "234 56" not in everything.text


async def test_bad_filters_are_400_naming_the_field(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with await staff_client(server, store, "root", Role.ADMIN) as http:
        for query, field in (("action=comment.deleted", "action"), ("by=" + "x" * 101, "by")):
            for path in ("audit", "audit.csv"):
                answer = await http.get(f"/console/{live_meeting.id}/{path}?{query}&lang=en")
                assert answer.status_code == 400
                assert "Bad request" in answer.text
                assert re.search(rf"<code data-detail>{field}: ", answer.text), answer.text


def test_an_excerpt_is_about_80_characters_cut_at_a_word() -> None:
    assert excerpt("  Коротко \n и ясно ") == "Коротко и ясно"
    long = excerpt(HIDDEN * 2)
    assert len(long) <= EXCERPT + 1
    assert long.endswith("…")
    assert not long[:-1].endswith(" ")
    assert excerpt("x" * 200) == "x" * EXCERPT + "…"  # no word to cut at


@pytest.mark.parametrize(
    ("role", "lang", "heading", "sentence"),
    [
        (Role.PRODUCER, "kk", "Кіруге рұқсат жоқ", "Сіздің рөліңіз бұл бетті аша алмайды."),
        (Role.OPERATOR, "ru", "Доступ запрещён", "Вашей роли эта страница недоступна."),
        (Role.COMMISSION, "en", "Access denied", "Your role may not open this page."),
    ],
)
async def test_a_role_without_the_audit_gets_a_real_403_page_in_its_language(
    server: LiveServer, store: Store, live_meeting: Meeting,
    role: Role, lang: str, heading: str, sentence: str,
) -> None:  # fmt: skip
    async with await staff_client(server, store, f"s-{role}", role) as http:
        for path in ("audit", "audit.csv"):
            answer = await http.get(
                f"/console/{live_meeting.id}/{path}", headers={"Accept-Language": lang}
            )
            assert answer.status_code == 403
            assert f"<h1>{heading}</h1>" in answer.text
            assert sentence in answer.text
            assert 'action="/logout"' in answer.text  # the header, signed in
            assert 'href="/console" data-link="console"' in answer.text
            assert f'<html lang="{lang}">' in answer.text


async def test_404_and_405_pages_are_real_pages_and_apis_keep_json(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        missing = await http.get("/no/such/page", headers={"Accept-Language": "ru"})
        assert missing.status_code == 404
        assert "<h1>Страница не найдена</h1>" in missing.text
        assert "Такой страницы здесь нет." in missing.text
        assert 'href="/"' in missing.text
        meeting = await http.get("/m/no-such-meeting?lang=kk")
        assert meeting.status_code == 404
        assert "<h1>Бет табылмады</h1>" in meeting.text
        wrong = await http.post("/calendar", headers={"Accept-Language": "en"})
        assert wrong.status_code == 405
        assert "<h1>Method not allowed</h1>" in wrong.text
        assert "This page cannot be used that way." in wrong.text
        api = await http.get("/api/meetings/no-such-meeting")
        assert api.status_code == 404
        assert api.json()["error"] == "not_found"


async def test_a_crash_answers_a_500_page_in_the_readers_language(server: LiveServer) -> None:
    scope = {
        "type": "http", "method": "GET", "path": "/offices", "raw_path": b"/offices",
        "query_string": b"", "headers": [(b"accept-language", b"kk")], "app": server.app,
        "scheme": "http", "server": ("127.0.0.1", 80), "root_path": "",
    }  # fmt: skip
    answer = await errors.on_crash(Request(scope), RuntimeError("boom"))
    assert answer.status_code == 500
    body = bytes(answer.body).decode()
    assert "<h1>Сервер қатесі</h1>" in body
    assert "boom" not in body
    api = await errors.on_crash(Request(scope | {"path": "/api/offices"}), RuntimeError("boom"))
    assert (api.status_code, bytes(api.body)) == (
        500,
        b'{"error":"internal","detail":"internal server error"}',
    )


async def test_with_redis_away_a_page_answers_a_503_page(
    private_redis: PrivateRedis, settings: Settings
) -> None:
    async with (
        live_server(settings.replace(redis_url=private_redis.url)) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        private_redis.kill()
        answer = await http.get("/offices?lang=ru")
        assert answer.status_code == 503
        assert "<h1>Сервис временно недоступен</h1>" in answer.text
        assert '<html lang="ru">' in answer.text


async def test_the_audit_of_an_unknown_meeting_is_404(server: LiveServer, store: Store) -> None:
    async with await staff_client(server, store, "root", Role.ADMIN) as http:
        for path in ("/console/no-such-meeting/audit", "/console/no-such-meeting/audit.csv"):
            answer = await http.get(path, params={"lang": "en"})
            assert answer.status_code == 404
            assert "<h1>Page not found</h1>" in answer.text
