"""The pure verify-and-parse halves of the WhatsApp, Twilio and Telegram channels (issue 10).

Every refusal the issue lists (missing, wrong, for another body, another algorithm, another
secret) and every shape of delivery, against payloads in the providers' real formats
(tests/fixtures/). No server, no Redis: bytes and headers in, records out.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.model import Channel
from server.channels import Ignored, Inbound, Unverified, telegram, twilio, whatsapp

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
APP_SECRET = "test-app-secret-not-real"
AUTH_TOKEN = "test-auth-token-not-real"
TWILIO_URL = "https://meeting.example.kz/webhooks/twilio/whatsapp"
TWILIO_SIGNATURE = "oHWhV7hByKp1ioZbyXwmkdmHdUs="
TELEGRAM_SECRET = "test-secret-token_not-real"
PHONE_NUMBER_ID = "113009874561234"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def loaded(name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(fixture(name))
    return value


def form(name: str) -> list[tuple[str, str]]:
    return parse_qsl(fixture(name).decode("ascii"), keep_blank_values=True)


def wire(payload: object) -> bytes:
    """The body as Meta sends it: compact, ASCII, every non-ASCII character a \\u escape."""
    return json.dumps(payload, separators=(",", ":")).encode()


def hub_signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# WhatsApp Cloud API: the handshake


def test_whatsapp_handshake_echoes_the_challenge() -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "tok"}
    assert whatsapp.challenge(params, "tok") == "1158201444"


@pytest.mark.parametrize(
    ("params", "token"),
    [
        ({"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "other"}, "tok"),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, "tok"),
        ({"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": "tok"}, "tok"),
        ({"hub.challenge": "1", "hub.verify_token": "tok"}, "tok"),
        ({"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}, ""),
        ({"hub.mode": "subscribe", "hub.verify_token": "tok"}, "tok"),
        ({"hub.mode": "subscribe", "hub.challenge": "<b>1</b>", "hub.verify_token": "tok"}, "tok"),
        ({"hub.mode": "subscribe", "hub.challenge": "1" * 257, "hub.verify_token": "tok"}, "tok"),
    ],
    ids=[
        "wrong-token",
        "no-token",
        "not-subscribe",
        "no-mode",
        "channel-off",
        "no-challenge",
        "markup-challenge",
        "long-challenge",
    ],
)
def test_whatsapp_handshake_refuses(params: dict[str, str], token: str) -> None:
    with pytest.raises(Unverified):
        whatsapp.challenge(params, token)


# WhatsApp Cloud API: the signature over the raw body


@pytest.mark.parametrize(
    ("name", "as_wire", "header"),
    [
        (
            "whatsapp_cloud_text.json",
            False,
            "7f846bfe48ba3442a5e9a9751e289e1dcb5d53c58c6251c978cecc62b717f6c2",
        ),
        (
            "whatsapp_cloud_text.json",
            True,
            "12fc5f583423886415489a270a31dc8c3028497eabf11cf27b4eb5d50a366553",
        ),
        (
            "whatsapp_cloud_status.json",
            False,
            "9f6d766a4e3003fcae510c9c2680456097d71db944a4d9d5d58f0950912516a1",
        ),
        (
            "whatsapp_cloud_status.json",
            True,
            "a578823a43f71af7aec2ca3aa56b9f1e54c4a016c1b987e9079669d2d31befa1",
        ),
    ],
)
def test_whatsapp_reference_signatures_verify(name: str, as_wire: bool, header: str) -> None:
    """The reference values of the fixtures, over the stored bytes and over the wire form."""
    body = wire(loaded(name)) if as_wire else fixture(name)
    whatsapp.verify(body, "sha256=" + header, APP_SECRET)


def test_whatsapp_cyrillic_arrives_escaped_and_is_signed_as_sent() -> None:
    """Meta signs the \\u-escaped bytes: the same text re-serialised in UTF-8 does not verify,
    and the parse reads the Cyrillic back from the escapes."""
    payload = loaded("whatsapp_cloud_text.json")
    body = wire(payload)
    assert body.isascii()
    assert b"\\u0421\\u04d9\\u043b\\u0435\\u043c" in body  # "Сәлем", lowercase hex as Meta sends
    whatsapp.verify(body, hub_signature(body), APP_SECRET)
    utf8 = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    with pytest.raises(Unverified):
        whatsapp.verify(utf8, hub_signature(body), APP_SECRET)
    [inbound] = whatsapp.parse(body)
    assert isinstance(inbound, Inbound)
    assert inbound.text.startswith("Сәлеметсіз бе! Әкімге сұрақ")


BODY = fixture("whatsapp_cloud_text.json")


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (BODY, None, APP_SECRET),
        (BODY, "", APP_SECRET),
        (BODY, "7f846bfe48ba3442a5e9a9751e289e1dcb5d53c58c6251c978cecc62b717f6c2", APP_SECRET),
        (BODY, "sha256=", APP_SECRET),
        (BODY, "sha256=not-hex", APP_SECRET),
        (
            BODY,
            "sha256=7f846bfe48ba3442a5e9a9751e289e1dcb5d53c58c6251c978cecc62b717f6c",
            APP_SECRET,
        ),
        (BODY, "sha256=" + "0" * 64, APP_SECRET),
        (BODY, "sha256=ё" + "0" * 63, APP_SECRET),
        (
            BODY,
            "sha1=" + hmac.new(APP_SECRET.encode(), BODY, hashlib.sha1).hexdigest(),
            APP_SECRET,
        ),
        (
            BODY,
            "SHA256=7f846bfe48ba3442a5e9a9751e289e1dcb5d53c58c6251c978cecc62b717f6c2",
            APP_SECRET,
        ),
        (fixture("whatsapp_cloud_status.json"), hub_signature(BODY), APP_SECRET),
        (BODY, hub_signature(BODY, "another-app-secret"), APP_SECRET),
        (BODY, hub_signature(BODY, ""), ""),
    ],
    ids=[
        "missing",
        "empty",
        "no-prefix",
        "no-digest",
        "not-hex",
        "truncated",
        "wrong",
        "not-ascii",
        "wrong-algorithm-sha1",
        "wrong-algorithm-case",
        "for-another-body",
        "wrong-secret",
        "channel-off",
    ],
)
def test_whatsapp_signature_refusals(body: bytes, header: str | None, secret: str) -> None:
    with pytest.raises(Unverified):
        whatsapp.verify(body, header, secret)


@given(body=st.binary(max_size=2048), secret=st.text(min_size=1, max_size=64))
def test_whatsapp_any_body_signed_with_the_secret_verifies(body: bytes, secret: str) -> None:
    whatsapp.verify(body, hub_signature(body, secret), secret)


@given(body=st.binary(min_size=1, max_size=2048), data=st.data())
def test_whatsapp_any_changed_byte_fails(body: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    with pytest.raises(Unverified):
        whatsapp.verify(changed, hub_signature(body), APP_SECRET)


# WhatsApp Cloud API: the parse


def test_whatsapp_text_message_is_one_inbound() -> None:
    assert whatsapp.parse(fixture("whatsapp_cloud_text.json")) == [
        Inbound(
            channel=Channel.WHATSAPP,
            key=f"wa:{PHONE_NUMBER_ID}:wamid.HBgLNzcwMTIzNDU2NzgVAgASGBQzRUIwQzJGMUE5RDg0RTdCNUM2MQA=",
            sender="+77012345678",
            reply_to="77012345678",
            via=PHONE_NUMBER_ID,
            name="Айгүл Қасымова",
            text=loaded("whatsapp_cloud_text.json")["entry"][0]["changes"][0]["value"]["messages"][
                0
            ]["text"]["body"],
            sent_at=1763615412000,
        )
    ]


def test_whatsapp_status_is_ignored_keyed_by_id_and_status() -> None:
    assert whatsapp.parse(fixture("whatsapp_cloud_status.json")) == [
        Ignored(
            channel=Channel.WHATSAPP,
            kind="status",
            key="wa-status:wamid.HBgLNzcwMTIzNDU2NzgVAgASGBRIQkVCN0YyNEMxOUEzRDBFOEY1NQA=:read",
        )
    ]


def test_whatsapp_batch_makes_one_result_per_message_in_order() -> None:
    """Two entries, eight messages: texts and captions become questions, media without a
    caption is noted, a reaction and a sticker are ignored, a message without a timestamp is
    taken at the intake's time (never dropped)."""
    found = whatsapp.parse(wire(loaded("whatsapp_cloud_batch.json")))
    summary = [
        (r.text, r.note, r.sender, r.name) if isinstance(r, Inbound) else r.kind for r in found
    ]
    assert summary == [
        ("Рахмет! Ал жылу қашан қосылады? 🙏", "", "+77012345678", "Айгүл Қасымова"),
        ("Вот так выглядит двор на Жетысу-2, яма уже месяц 👨‍👩‍👧", "", "+77751234567", "Бауыржан"),
        ("", "image", "+77751234567", "Бауыржан"),
        ("", "voice", "+77751234567", "Бауыржан"),
        "reaction",
        "sticker",
        ("сообщение без времени", "", "+77751234567", "Бауыржан"),
        ("Жалоба в акимат, скан", "", "+77751234567", "Бауыржан"),
    ]
    keys = [r.key for r in found]
    assert all(key.startswith(f"wa:{PHONE_NUMBER_ID}:wamid.") for key in keys)
    assert len(set(keys)) == len(keys)


def test_whatsapp_username_only_sender_is_keyed_by_the_bsuid() -> None:
    [inbound] = whatsapp.parse(fixture("whatsapp_cloud_username.json"))
    assert isinstance(inbound, Inbound)
    assert inbound.sender == "wa-user:KZ.13491208655302741918"
    assert inbound.reply_to == "KZ.13491208655302741918"
    assert inbound.name == "@saule_almaty"
    assert inbound.text == "Мектепке баратын жолда жарық жоқ, балалар қараңғыда жүреді."


def test_whatsapp_username_only_sender_without_from_user_id_takes_the_contacts() -> None:
    payload = loaded("whatsapp_cloud_username.json")
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from_user_id"]
    [inbound] = whatsapp.parse(wire(payload))
    assert isinstance(inbound, Inbound)
    assert inbound.sender == "wa-user:KZ.13491208655302741918"


def batch_of(message: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> bytes:
    payload = loaded("whatsapp_cloud_text.json")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [message]
    if contacts is not None:
        value["contacts"] = contacts
    return wire(payload)


TEXT = loaded("whatsapp_cloud_text.json")["entry"][0]["changes"][0]["value"]["messages"][0]


def message(**changes: Any) -> dict[str, Any]:
    """The fixture's text message with some fields changed (None removes one)."""
    changed: dict[str, Any] = copy.deepcopy(TEXT)
    changed.update(changes)
    return {name: value for name, value in changed.items() if value is not None}


@pytest.mark.parametrize(
    "kind",
    [
        "reaction",
        "sticker",
        "location",
        "contacts",
        "button",
        "interactive",
        "order",
        "system",
        "unsupported",
        "a_type_meta_adds_later",
    ],
)
def test_whatsapp_types_without_a_question_are_ignored(kind: str) -> None:
    [ignored] = whatsapp.parse(batch_of(message(type=kind, text=None, **{kind: {}})))
    assert ignored == Ignored(
        channel=Channel.WHATSAPP, kind=kind, key=f"wa:{PHONE_NUMBER_ID}:{TEXT['id']}"
    )


@pytest.mark.parametrize(
    ("kind", "part", "text", "note"),
    [
        (
            "image",
            {"caption": "Аялдама қираған", "mime_type": "image/jpeg", "id": "1"},
            "Аялдама қираған",
            "",
        ),
        ("image", {"mime_type": "image/jpeg", "id": "1"}, "", "image"),
        ("image", {"caption": "  ", "id": "1"}, "", "image"),
        ("video", {"caption": "Видео с места", "id": "2"}, "Видео с места", ""),
        ("video", {"id": "2"}, "", "video"),
        ("document", {"caption": "Өтініш", "filename": "a.pdf", "id": "3"}, "Өтініш", ""),
        ("document", {"filename": "a.pdf", "id": "3"}, "", "document"),
        ("audio", {"mime_type": "audio/ogg; codecs=opus", "voice": True, "id": "4"}, "", "voice"),
        ("audio", {"mime_type": "audio/mpeg", "id": "4"}, "", "audio"),
    ],
)
def test_whatsapp_captions_are_questions_and_bare_media_is_noted(
    kind: str, part: dict[str, Any], text: str, note: str
) -> None:
    [inbound] = whatsapp.parse(batch_of(message(type=kind, text=None, **{kind: part})))
    assert isinstance(inbound, Inbound)
    assert (inbound.text, inbound.note) == (text, note)


@pytest.mark.parametrize(
    "broken",
    [
        "not a message",
        message(id=None),
        message(id=""),
        message(type=None),
        message(timestamp="yesterday"),
        message(timestamp=True),
        message(timestamp=-1),
        message(**{"from": "+77012345678"}),
        message(**{"from": "999"}),
        message(**{"from": 77012345678}),
        message(**{"from": "", "from_user_id": None}),
        message(text=None),
        message(text={"body": " "}),
        message(type="image", text=None, image="a picture"),
    ],
    ids=[
        "not-an-object",
        "no-id",
        "empty-id",
        "no-type",
        "word-timestamp",
        "bool-timestamp",
        "negative-timestamp",
        "from-with-plus",
        "from-no-country",
        "from-not-a-string",
        "no-sender-at-all",
        "no-text",
        "blank-text",
        "image-not-an-object",
    ],
)
def test_whatsapp_a_malformed_message_is_ignored_and_its_batch_still_parses(broken: object) -> None:
    payload = loaded("whatsapp_cloud_text.json")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [broken, *value["messages"]]
    first, second = whatsapp.parse(wire(payload))
    assert isinstance(first, Ignored)
    assert first.kind == "malformed"
    assert isinstance(second, Inbound)
    assert second.sender == "+77012345678"


def test_whatsapp_timestamp_as_a_number_and_names_by_contact() -> None:
    """Unix seconds as an int are read too; the name is the matching contact's, else the only
    contact's, else ""; a profile without a name gives the username."""
    contacts = [
        {"profile": {"name": "Другой"}, "wa_id": "77750000000"},
        {"profile": {"name": "Айгүл"}, "wa_id": "77012345678"},
    ]
    [matched] = whatsapp.parse(batch_of(message(timestamp=1763615412), contacts))
    # No timestamp: taken all the same, at the intake's time (a message is never dropped).
    [untimed] = whatsapp.parse(batch_of(message(timestamp=None), contacts))
    assert isinstance(untimed, Inbound)
    assert untimed.sent_at == 0
    [only] = whatsapp.parse(batch_of(message(), [{"profile": {"name": "Жалғыз"}, "wa_id": "0"}]))
    [several] = whatsapp.parse(batch_of(message(), contacts[:1] * 2))
    [no_profile] = whatsapp.parse(batch_of(message(), [{"wa_id": "77012345678"}]))
    [username] = whatsapp.parse(
        batch_of(
            message(), [{"profile": {"name": " ", "username": "@aigul"}, "wa_id": "77012345678"}]
        )
    )
    [blank] = whatsapp.parse(
        batch_of(message(), [{"profile": {"name": ""}, "wa_id": "77012345678"}])
    )
    results = [matched, only, several, no_profile, username, blank]
    assert all(isinstance(r, Inbound) for r in results)
    assert [r.name for r in results if isinstance(r, Inbound)] == [
        "Айгүл",
        "Жалғыз",
        "",
        "",
        "@aigul",
        "",
    ]
    assert isinstance(matched, Inbound)
    assert matched.sent_at == 1763615412000


def test_whatsapp_other_fields_and_malformed_changes_are_ignored() -> None:
    payload = loaded("whatsapp_cloud_text.json")
    changes = payload["entry"][0]["changes"]
    good = changes[0]
    changes[:] = [
        {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
        {"value": {}},
        {"field": "messages", "value": {"messages": []}},
        {"field": "messages", "value": "not an object"},
        {
            "field": "messages",
            "value": {**good["value"], "messages": "not a list", "statuses": [1]},
        },
        good,
    ]
    found = whatsapp.parse(wire(payload))
    assert [r.kind if isinstance(r, Ignored) else "inbound" for r in found] == [
        "account_update",
        "field",
        "malformed",
        "malformed",
        "malformed",
        "malformed",
        "inbound",
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"object": "page", "entry": []}',
        b'{"object": "whatsapp_business_account"}',
        b'{"object": "whatsapp_business_account", "entry": {}}',
        b'{"object": "whatsapp_business_account", "entry": [1]}',
        b'{"object": "whatsapp_business_account", "entry": [{"id": "1"}]}',
    ],
    ids=[
        "empty",
        "not-json",
        "not-utf8",
        "not-an-object",
        "another-object",
        "no-entry",
        "entry-not-a-list",
        "entry-not-objects",
        "no-changes",
    ],
)
def test_whatsapp_a_body_that_is_not_the_envelope_is_a_clear_error(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"JSON|object|entry|changes"):
        whatsapp.parse(body)


def test_whatsapp_an_empty_envelope_has_nothing_in_it() -> None:
    assert whatsapp.parse(b'{"object": "whatsapp_business_account", "entry": []}') == []


# Twilio: the signature


DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
    ("To", "+18005551212"),
]


def test_twilio_signature_reproduces_the_docs_test_vector() -> None:
    assert twilio.signature(DOCS_URL, DOCS_PARAMS, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    twilio.verify(DOCS_URL, dict(DOCS_PARAMS), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345")


def test_twilio_signature_sorts_names_and_repeated_values() -> None:
    """As RequestValidator: names sorted, a repeated name's values sorted, each pair once."""
    expected = base64.b64encode(
        hmac.new(b"t", b"https://h/pa1a2b0", hashlib.sha1).digest()
    ).decode()
    pairs = [("b", "0"), ("a", "2"), ("a", "1"), ("a", "2")]
    assert twilio.signature("https://h/p", pairs, "t") == expected
    assert twilio.signature("https://h/p", list(reversed(pairs)), "t") == expected


@pytest.mark.parametrize(
    ("configured", "signed"),
    [
        (TWILIO_URL, TWILIO_URL),
        (TWILIO_URL, "https://meeting.example.kz:443/webhooks/twilio/whatsapp"),
        ("https://meeting.example.kz:443/webhooks/twilio/whatsapp", TWILIO_URL),
        ("http://meeting.example.kz/hook?x=1", "http://meeting.example.kz:80/hook?x=1"),
        ("http://meeting.example.kz:8080/hook", "http://meeting.example.kz/hook"),
    ],
    ids=["as-is", "signed-with-port", "configured-with-port", "http-port", "other-port-dropped"],
)
def test_twilio_verify_accepts_the_url_with_and_without_its_port(
    configured: str, signed: str
) -> None:
    params = form("twilio_whatsapp.form")
    twilio.verify(configured, params, twilio.signature(signed, params, AUTH_TOKEN), AUTH_TOKEN)


def test_twilio_fixture_signature_verifies() -> None:
    twilio.verify(TWILIO_URL, form("twilio_whatsapp.form"), TWILIO_SIGNATURE, AUTH_TOKEN)
    twilio.verify(
        TWILIO_URL,
        form("twilio_whatsapp.form"),
        TWILIO_SIGNATURE,
        AUTH_TOKEN,
        settings_header="algorithm=HMAC_SHA1",
    )


SMS_FORM = form("twilio_sms.form")
SHA256_SIGNATURE = twilio.signature(TWILIO_URL, form("twilio_whatsapp.form"), AUTH_TOKEN, "sha256")


@pytest.mark.parametrize(
    ("params", "header", "token", "settings"),
    [
        (form("twilio_whatsapp.form"), None, AUTH_TOKEN, None),
        (form("twilio_whatsapp.form"), "", AUTH_TOKEN, None),
        (form("twilio_whatsapp.form"), "oHWhV7hByKp1ioZbyXwmkdmHdUs", AUTH_TOKEN, None),
        (form("twilio_whatsapp.form"), "ё" + TWILIO_SIGNATURE, AUTH_TOKEN, None),
        (SMS_FORM, TWILIO_SIGNATURE, AUTH_TOKEN, None),
        ([*form("twilio_whatsapp.form"), ("Extra", "1")], TWILIO_SIGNATURE, AUTH_TOKEN, None),
        (form("twilio_whatsapp.form"), SHA256_SIGNATURE, AUTH_TOKEN, None),
        (
            form("twilio_whatsapp.form"),
            SHA256_SIGNATURE,
            AUTH_TOKEN,
            "key=KS0123456789abcdef0123456789abcdef,algorithm=HMAC_SHA256",
        ),
        (form("twilio_whatsapp.form"), TWILIO_SIGNATURE, AUTH_TOKEN, "algorithm=HMAC_SHA256"),
        (form("twilio_whatsapp.form"), TWILIO_SIGNATURE, AUTH_TOKEN, "key=KS01"),
        (
            form("twilio_whatsapp.form"),
            twilio.signature(TWILIO_URL, form("twilio_whatsapp.form"), "another-token"),
            AUTH_TOKEN,
            None,
        ),
        (
            form("twilio_whatsapp.form"),
            twilio.signature(TWILIO_URL, form("twilio_whatsapp.form"), ""),
            "",
            None,
        ),
    ],
    ids=[
        "missing",
        "empty",
        "wrong",
        "not-ascii",
        "for-another-body",
        "another-field-added",
        "wrong-algorithm-sha256",
        "wrong-algorithm-shared-key",
        "settings-name-sha256",
        "settings-name-no-algorithm",
        "wrong-secret",
        "channel-off",
    ],
)
def test_twilio_signature_refusals(
    params: list[tuple[str, str]], header: str | None, token: str, settings: str | None
) -> None:
    with pytest.raises(Unverified):
        twilio.verify(TWILIO_URL, params, header, token, settings)


def test_twilio_a_signature_for_another_url_is_refused() -> None:
    params = form("twilio_whatsapp.form")
    with pytest.raises(Unverified):
        twilio.verify(
            "https://meeting.example.kz/webhooks/twilio", params, TWILIO_SIGNATURE, AUTH_TOKEN
        )


FORM_TEXT = st.text(st.characters(codec="utf-8"), max_size=30)


@given(params=st.lists(st.tuples(FORM_TEXT, FORM_TEXT), min_size=1, max_size=8), data=st.data())
def test_twilio_any_signed_form_verifies_and_any_changed_value_fails(
    params: list[tuple[str, str]], data: st.DataObject
) -> None:
    header = twilio.signature(TWILIO_URL, params, AUTH_TOKEN)
    twilio.verify(TWILIO_URL, params, header, AUTH_TOKEN)
    index = data.draw(st.integers(0, len(params) - 1))
    name, value = params[index]
    changed = [*params[:index], (name, value + "x"), *params[index + 1 :]]
    if sorted(set(changed)) != sorted(set(params)):  # unless another pair was already that one
        with pytest.raises(Unverified):
            twilio.verify(TWILIO_URL, changed, header, AUTH_TOKEN)


# Twilio: the parse and the TwiML


def test_twilio_whatsapp_message_parses() -> None:
    assert twilio.parse(form("twilio_whatsapp.form")) == Inbound(
        channel=Channel.WHATSAPP,
        key="tw:SM7d1c3e9a2b4f60158e7a9c0d2b3f4a51",
        sender="+77771234567",
        reply_to="whatsapp:+77771234567",
        via="whatsapp:+77172705050",
        name="Ерболат",
        text=(
            "Здравствуйте! Автобус №12 по проспекту Абая не ходит после 21:00, Кешкі "
            "21:00-ден кейін аялдамада 40 минут күттік. Прошу передать вопрос акиму."
        ),
        sent_at=0,
    )


def test_twilio_sms_parses_from_a_mapping() -> None:
    assert twilio.parse(dict(SMS_FORM)) == Inbound(
        channel=Channel.SMS,
        key="tw:SM2b8e4f1a7c9d03e5f6a1b2c3d4e5f6a7",
        sender="+77012345678",
        reply_to="+77012345678",
        via="+77172705050",
        text="Қайырлы күн! Абай даңғылы 44 үйдің жанындағы бағдаршам екі аптадан бері істемейді.",
    )


def test_twilio_voice_message_is_recorded_as_a_voice_not_an_empty_question() -> None:
    inbound = twilio.parse(form("twilio_whatsapp_voice.form"))
    assert (inbound.channel, inbound.text, inbound.note) == (Channel.WHATSAPP, "", "voice")
    assert inbound.sender == "+77051112233"


@pytest.mark.parametrize(
    ("fields", "text", "note"),
    [
        ({"NumMedia": "1", "MediaContentType0": "image/jpeg", "Body": "Яма"}, "Яма", "image"),
        ({"NumMedia": "1", "MediaContentType0": "image/png", "Body": ""}, "", "image"),
        ({"NumMedia": "1", "MediaContentType0": "video/mp4"}, "", "video"),
        ({"NumMedia": "1", "MediaContentType0": "audio/mpeg"}, "", "audio"),
        ({"NumMedia": "1", "MediaContentType0": "audio/ogg; codecs=opus"}, "", "voice"),
        ({"NumMedia": "1", "MediaContentType0": "audio/mp4", "MessageType": "audio"}, "", "voice"),
        ({"NumMedia": "1", "MediaContentType0": "application/pdf"}, "", "document"),
        ({"NumMedia": "2", "MediaContentType0": "text/vcard"}, "", "document"),
        ({"NumMedia": "", "MessageType": "location", "Latitude": "43.2"}, "", "location"),
        ({"NumMedia": "0", "Body": "  ", "MessageType": "text"}, "", "empty"),
        ({}, "", "empty"),
    ],
)
def test_twilio_media_and_empty_messages_get_a_note(
    fields: dict[str, str], text: str, note: str
) -> None:
    params = {"MessageSid": "MM1", "From": "+77012345678", "To": "+77172705050", **fields}
    inbound = twilio.parse(params)
    assert (inbound.text, inbound.note) == (text, note)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"From": "+77012345678"}, "MessageSid"),
        ({"MessageSid": "", "From": "+77012345678"}, "MessageSid"),
        ({"MessageSid": "SM1"}, "From"),
        ({"MessageSid": "SM1", "From": "Kcell"}, "From"),
        ({"MessageSid": "SM1", "From": "+77012345678", "NumMedia": "one"}, "NumMedia"),
    ],
)
def test_twilio_parse_names_the_missing_or_bad_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        twilio.parse(params)


def test_twilio_twiml_is_exactly_what_messaging_response_writes() -> None:
    assert twilio.twiml() == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    assert twilio.twiml("Спасибо! Ваш вопрос принят.") == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<Response><Message>Спасибо! Ваш вопрос принят.</Message></Response>"
    )


def test_twilio_twiml_escapes_markup_and_drops_what_xml_cannot_carry() -> None:
    assert twilio.twiml('<b>"A" & B</b>\x00\x07 🙏') == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Response><Message>&lt;b&gt;"A" &amp; B&lt;/b&gt; 🙏</Message></Response>'
    )


# Telegram: the secret token


def test_telegram_the_secret_token_verifies() -> None:
    telegram.verify(TELEGRAM_SECRET, TELEGRAM_SECRET)


@pytest.mark.parametrize(
    ("header", "secret"),
    [
        (None, TELEGRAM_SECRET),
        ("", TELEGRAM_SECRET),
        ("another-secret", TELEGRAM_SECRET),
        (TELEGRAM_SECRET[:-1], TELEGRAM_SECRET),
        (TELEGRAM_SECRET + "ё", TELEGRAM_SECRET),
        ("anything", ""),
    ],
    ids=["missing", "empty", "wrong-secret", "prefix", "not-ascii", "channel-off"],
)
def test_telegram_secret_token_refusals(header: str | None, secret: str) -> None:
    with pytest.raises(Unverified):
        telegram.verify(header, secret)


# Telegram: the parse


def update(**fields: Any) -> bytes:
    """The fixture's update with message fields changed (None removes one)."""
    payload = loaded("telegram_update.json")
    payload["message"].update(fields)
    payload["message"] = {k: v for k, v in payload["message"].items() if v is not None}
    return json.dumps(payload).encode()


def test_telegram_private_message_is_an_inbound_keyed_by_chat_and_message() -> None:
    assert telegram.parse(fixture("telegram_update.json")) == Inbound(
        channel=Channel.TELEGRAM,
        key="tg:5127734091:4187",
        sender="tg:5127734091",
        reply_to="5127734091",
        name="Дана Ахметова",
        text="Сәлеметсіз бе! 🙏 Біздің ауладағы жол бұзылған, Жетісу-2, 15 үй. #жол #аула",
        sent_at=1763615533000,
    )


def test_telegram_a_replayed_update_has_the_same_key() -> None:
    """Telegram retries an update with its update_id and the same message: one key."""
    first = telegram.parse(fixture("telegram_update.json"))
    payload = loaded("telegram_update.json")
    replay = telegram.parse(json.dumps(payload, indent=4, ensure_ascii=True).encode())
    assert first == replay
    assert first.key == "tg:5127734091:4187"


def test_telegram_entity_offsets_count_utf16_units() -> None:
    """The 🙏 before the hashtags counts 2 units: Python's indices would be one off."""
    inbound = telegram.parse(fixture("telegram_update.json"))
    assert isinstance(inbound, Inbound)
    entities = loaded("telegram_update.json")["message"]["entities"]
    tags = [telegram.utf16_slice(inbound.text, e["offset"], e["length"]) for e in entities]
    assert tags == ["#жол", "#аула"]
    assert inbound.text[65:69] != "#жол"


def test_telegram_photo_caption_is_the_question_and_zwj_emoji_survive() -> None:
    inbound = telegram.parse(fixture("telegram_photo_caption.json"))
    assert isinstance(inbound, Inbound)
    assert inbound.text == "👨‍👩‍👧 Біз көп балалы отбасымыз, аулада ойын алаңы жоқ. #аула"
    assert inbound.text.startswith("\U0001f468\u200d\U0001f469\u200d\U0001f467 ")
    assert (inbound.note, inbound.key) == ("", "tg:5127734091:4188")
    [entity] = loaded("telegram_photo_caption.json")["message"]["caption_entities"]
    assert telegram.utf16_slice(inbound.text, entity["offset"], entity["length"]) == "#аула"


@pytest.mark.parametrize(
    ("media", "note"),
    [
        ({"photo": [{"file_id": "A", "file_unique_id": "a", "width": 90, "height": 67}]}, "photo"),
        ({"voice": {"file_id": "V", "file_unique_id": "v", "duration": 7}}, "voice"),
        ({"video": {"file_id": "W", "file_unique_id": "w", "duration": 9}}, "video"),
        ({"video_note": {"file_id": "N", "file_unique_id": "n", "length": 240}}, "video"),
        ({"animation": {"file_id": "G"}, "document": {"file_id": "G"}}, "video"),
        ({"audio": {"file_id": "M", "file_unique_id": "m", "duration": 180}}, "audio"),
        ({"document": {"file_id": "D", "file_name": "shagym.pdf"}}, "document"),
    ],
)
def test_telegram_media_without_a_caption_is_noted(media: dict[str, Any], note: str) -> None:
    inbound = telegram.parse(update(text=None, entities=None, **media))
    assert isinstance(inbound, Inbound)
    assert (inbound.text, inbound.note) == ("", note)


def test_telegram_an_edit_names_the_message_it_changes() -> None:
    assert telegram.parse(fixture("telegram_edited_message.json")) == Inbound(
        channel=Channel.TELEGRAM,
        key="tg-edit:734561205",
        sender="tg:5127734091",
        reply_to="5127734091",
        name="Дана Ахметова",
        text=(
            "Сәлеметсіз бе! 🙏 Біздің ауладағы жол бұзылған, Жетісу-2, 15 үй, 3-подъезд. #жол #аула"
        ),
        sent_at=1763615533000,
        edit_of="tg:5127734091:4187",
    )


def test_telegram_start_reads_without_the_bot_name() -> None:
    inbound = telegram.parse(fixture("telegram_start.json"))
    assert isinstance(inbound, Inbound)
    assert inbound.text == "/start"
    assert telegram.is_start(inbound)


@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [
        ("/start@HalyqBot kk", [{"offset": 0, "length": 15, "type": "bot_command"}], "/start kk"),
        ("/help@HalyqBot 🙏", [{"offset": 0, "length": 14, "type": "bot_command"}], "/help 🙏"),
        (
            "🙏 /help@HalyqBot",
            [{"offset": 3, "length": 14, "type": "bot_command"}],
            "🙏 /help@HalyqBot",
        ),
        (
            "/start@HalyqBot",
            [{"offset": 0, "length": 99, "type": "bot_command"}],
            "/start@HalyqBot",
        ),
        ("🙏/start@Bot", [{"offset": 0, "length": 1, "type": "bot_command"}], "🙏/start@Bot"),
        (
            "/start@HalyqBot",
            [{"offset": 0, "length": "15", "type": "bot_command"}],
            "/start@HalyqBot",
        ),
        ("/start@HalyqBot", [{"offset": 0, "length": 15, "type": "mention"}], "/start@HalyqBot"),
        ("/start@HalyqBot", ["not an entity"], "/start@HalyqBot"),
        ("/start@HalyqBot", "not a list", "/start@HalyqBot"),
        (
            "Почта a@b.kz, @akimat",
            [{"offset": 6, "length": 6, "type": "email"}],
            "Почта a@b.kz, @akimat",
        ),
    ],
    ids=[
        "payload",
        "emoji-after",
        "not-leading",
        "too-long",
        "splits-emoji",
        "length-not-int",
        "not-a-command",
        "entity-not-an-object",
        "entities-not-a-list",
        "other-entities-kept",
    ],
)
def test_telegram_only_a_leading_command_loses_the_bot_name(
    text: str, entities: object, expected: str
) -> None:
    inbound = telegram.parse(update(text=text, entities=entities))
    assert isinstance(inbound, Inbound)
    assert inbound.text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", True),
        ("/start@HalyqBot", True),
        ("/start meeting-42", True),
        ("/start@HalyqBot meeting-42", True),
        (" /start\n", True),
        ("/starting", False),
        ("start", False),
        ("Please /start", False),
        ("/help", False),
        ("", False),
    ],
)
def test_telegram_is_start(text: str, expected: bool) -> None:
    inbound = Inbound(channel=Channel.TELEGRAM, key="tg:1:1", sender="tg:1", text=text)
    assert telegram.is_start(inbound) is expected


POST = loaded("telegram_channel_post.json")["channel_post"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (fixture("telegram_channel_post.json"), "channel_post"),
        (json.dumps({"update_id": 8, "edited_channel_post": POST}).encode(), "edited_channel_post"),
        (b'{"update_id": 9, "callback_query": {"id": "4382", "data": "yes"}}', "callback_query"),
        (b'{"update_id": 10, "my_chat_member": {"chat": {"id": 1}}}', "my_chat_member"),
        (b'{"update_id": 11}', "empty"),
        (update(text=None, entities=None, sticker={"file_id": "S", "emoji": "👍"}), "sticker"),
        (
            update(text=None, entities=None, new_chat_members=[{"id": 1, "is_bot": False}]),
            "service",
        ),
        (update(text=None, entities=None, left_chat_member={"id": 1, "is_bot": False}), "service"),
        (update(text=None, entities=None, pinned_message={"message_id": 1}), "service"),
        (update(text=None, entities=None, new_chat_title="Аула"), "service"),
        (update(text="   "), "service"),
        (update(chat={"id": -100123, "title": "Аула", "type": "group"}), "group"),
        (update(chat={"id": -100123, "title": "Аула", "type": "supergroup"}), "group"),
        (update(chat={"id": -100123, "title": "Арна", "type": "channel"}), "channel_post"),
        (update(**{"from": {"id": 42, "is_bot": True, "first_name": "Spam"}}), "bot"),
    ],
    ids=[
        "channel-post",
        "edited-channel-post",
        "callback-query",
        "other-kind",
        "nothing",
        "sticker",
        "new-members",
        "left-member",
        "pinned",
        "new-title",
        "blank-text",
        "group",
        "supergroup",
        "channel-chat",
        "from-a-bot",
    ],
)
def test_telegram_what_makes_no_question_is_ignored(body: bytes, kind: str) -> None:
    ignored = telegram.parse(body)
    assert isinstance(ignored, Ignored)
    assert (ignored.channel, ignored.kind) == (Channel.TELEGRAM, kind)
    assert ignored.key


def test_telegram_names_and_senders() -> None:
    """The name is first and last name, else the username; a message without `from` (never in a
    private chat, but not trusted) is the chat's."""
    only_username = telegram.parse(
        update(**{"from": {"id": 7, "is_bot": False, "username": "aset"}})
    )
    only_first = telegram.parse(
        update(**{"from": {"id": 7, "is_bot": False, "first_name": "Асет "}})
    )
    no_author = telegram.parse(update(**{"from": None}))
    assert isinstance(only_username, Inbound)
    assert isinstance(only_first, Inbound)
    assert isinstance(no_author, Inbound)
    assert (only_username.name, only_username.sender) == ("aset", "tg:7")
    assert only_first.name == "Асет"
    assert (no_author.name, no_author.sender) == ("", "tg:5127734091")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "JSON"),
        (b"\xff", "JSON"),
        (b"[1]", "object"),
        (b'{"message": {}}', "update_id"),
        (b'{"update_id": "734561203"}', "update_id"),
        (b'{"update_id": true}', "update_id"),
        (b'{"update_id": 1, "message": "hi"}', "message"),
        (update(chat=None), "chat"),
        (update(chat={"type": "private"}), "chat.id"),
        (update(message_id=None), "message_id"),
        (update(date="today"), "date"),
    ],
)
def test_telegram_a_bad_update_is_a_clear_error(body: bytes, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        telegram.parse(body)


@pytest.mark.parametrize(
    ("offset", "length"),
    [(-1, 1), (0, -1), (0, 200), (1, 1)],
    ids=["negative-offset", "negative-length", "past-the-end", "splits-a-pair"],
)
def test_telegram_utf16_slice_refuses_a_range_that_does_not_fit(offset: int, length: int) -> None:
    with pytest.raises(ValueError, match="entity"):
        telegram.utf16_slice("🙏 Рахмет", offset, length)


@given(
    head=st.text(st.characters(codec="utf-8")),
    middle=st.text(st.characters(codec="utf-8")),
    tail=st.text(st.characters(codec="utf-8")),
)
def test_telegram_utf16_slice_finds_any_part_by_its_utf16_units(
    head: str, middle: str, tail: str
) -> None:
    def units(text: str) -> int:
        return len(text.encode("utf-16-le")) // 2

    text = head + middle + tail
    assert telegram.utf16_slice(text, units(head), units(middle)) == middle
