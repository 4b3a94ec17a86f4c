"""The e-mail channel (issue 10, point 5): real SMTP over loopback with `smtplib`, and the
parser's decoding, trimming and HTML on their own.

The `receive` given to the listener collects what the intake would get: that is the edge the
listener hands over at, not a mock of our code (the lead's intake is tested on its own).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import quopri
import smtplib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.model import Channel
from server.channels import Inbound
from server.channels.email import html_to_text, parse, trim
from server.channels.smtp import PeerRate, SmtpIntake, mask

pytestmark = pytest.mark.anyio

OURS = "questions@akimat.kz"
SENDER = "aigerim.s@mail.kz"
FAMILY = "👨\u200d👩\u200d👧 семья, 🇰🇿, 👍🏽"  # ZWJ sequence, a flag, a skin tone
KAZAKH = "Сәлеметсіз бе! Біздің ауладағы жолды қашан жөндейді?"
RUSSIAN = "Здравствуйте! Когда отремонтируют дорогу во дворе на улице Абая, 15?"


def mail(
    body: str,
    *,
    charset: str | None = "utf-8",
    encoding: str = "quoted-printable",
    subtype: str = "plain",
    headers: str = "",
    message_id: str | None = "<q1@mail.kz>",
) -> bytes:
    """A single-part mail as a client writes it: the body in `charset`, then QP or base64."""
    data = body.encode(charset or "utf-8")
    if encoding == "base64":
        encoded = base64.encodebytes(data)
    elif encoding == "quoted-printable":
        encoded = quopri.encodestring(data)
    else:
        encoded = data
    label = f"; charset={charset}" if charset else ""
    head = (
        f"From: Aigerim S. <{SENDER}>\r\nTo: {OURS}\r\nSubject: Question\r\n"
        "Date: Mon, 30 Nov 2026 10:00:00 +0500\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/{subtype}{label}\r\nContent-Transfer-Encoding: {encoding}\r\n"
    )
    if message_id is not None:
        head += f"Message-ID: {message_id}\r\n"
    return (head + headers + "\r\n").encode() + encoded.replace(b"\n", b"\r\n")


def multipart(*parts: bytes, subtype: str = "mixed", headers: str = "") -> bytes:
    """A multipart mail of `parts` (each its own headers and body)."""
    head = (
        f"From: {SENDER}\r\nTo: {OURS}\r\nSubject: Re: Question\r\nMessage-ID: <m@mail.kz>\r\n"
        f'MIME-Version: 1.0\r\nContent-Type: multipart/{subtype}; boundary="b0"\r\n'
    )
    body = b"".join(b"--b0\r\n" + part + b"\r\n" for part in parts) + b"--b0--\r\n"
    return (head + headers + "\r\n").encode() + body


def part(body: str, content_type: str = "text/plain; charset=utf-8", headers: str = "") -> bytes:
    encoded = base64.encodebytes(body.encode()).replace(b"\n", b"\r\n")
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n{headers}\r\n"
    return head.encode() + encoded


@dataclass
class Listener:
    intake: SmtpIntake
    port: int
    received: list[Inbound] = field(default_factory=list)

    def client(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="test", timeout=10)

    async def send(self, raw: bytes, to: str = OURS, sender: str = SENDER) -> Inbound:
        """Send one mail on a connection of its own; the Inbound the intake got for it."""
        before = len(self.received)
        await asyncio.to_thread(_send, self.client, raw, to, sender)
        assert len(self.received) == before + 1, "one mail, handed to the intake once"
        return self.received[-1]


def _send(client: Callable[[], smtplib.SMTP], raw: bytes, to: str, sender: str) -> None:
    with client() as smtp:
        smtp.sendmail(sender, [to], raw)


@asynccontextmanager
async def listening(
    failures: int = 0,
    clock: Callable[[], float] = time.monotonic,
    per_minute: int = 100,
    max_bytes: int = 100_000,
    max_recipients: int = 5,
) -> AsyncIterator[Listener]:
    """An SmtpIntake on a free loopback port whose intake collects what it is given (and fails
    the first `failures` times, as an intake whose Redis is away would)."""
    received: list[Inbound] = []
    left = [failures]

    async def receive(inbound: Inbound) -> str:
        if left[0] > 0:
            left[0] -= 1
            raise ConnectionError(f"Redis is away (for {inbound.sender})")
        received.append(inbound)
        return "250 OK: queued"

    async def accepts(address: str) -> bool:
        return address == OURS

    intake = SmtpIntake(
        accepts=accepts,
        receive=receive,
        max_bytes=max_bytes,
        per_minute=per_minute,
        max_recipients=max_recipients,
        clock=clock,
    )
    port = await intake.start("127.0.0.1", 0)
    try:
        yield Listener(intake, port, received)
    finally:
        await intake.stop()


# Over SMTP


@pytest.mark.parametrize("charset", ["utf-8", "windows-1251", "koi8-r"])
@pytest.mark.parametrize("encoding", ["quoted-printable", "base64"])
async def test_plain_text_in_each_charset_and_transfer_encoding_arrives_decoded(
    charset: str, encoding: str
) -> None:
    async with listening() as listener:
        inbound = await listener.send(mail(RUSSIAN, charset=charset, encoding=encoding))
    assert inbound == Inbound(
        channel=Channel.EMAIL,
        key="mail:q1@mail.kz",
        sender=SENDER,
        reply_to=SENDER,
        via=OURS,
        name="Aigerim S.",
        text=RUSSIAN,
        sent_at=int(datetime(2026, 11, 30, 5, tzinfo=UTC).timestamp() * 1000),
    )


async def test_kazakh_letters_and_emoji_with_zwj_survive_the_trip() -> None:
    async with listening() as listener:
        inbound = await listener.send(mail(f"{KAZAKH}\n{FAMILY}", encoding="base64"))
    assert inbound.text == f"{KAZAKH}\n{FAMILY}"


async def test_multipart_alternative_takes_the_plain_part_and_html_only_is_made_text() -> None:
    html = f"<html><head><style>p {{color: red}}</style></head><body><p>{RUSSIAN}</p></body>"
    alternative = multipart(
        part(RUSSIAN), part(html, "text/html; charset=utf-8"), subtype="alternative"
    )
    html_only = mail(
        "<div>Сәлем!<br>Жол&nbsp;қашан&nbsp;жөнделеді?</div><script>alert(1)</script>",
        subtype="html",
    )
    async with listening() as listener:
        assert (await listener.send(alternative)).text == RUSSIAN
        assert (await listener.send(html_only)).text == "Сәлем!\nЖол қашан жөнделеді?"


async def test_a_reply_keeps_only_the_new_part_above_the_quote_and_the_signature() -> None:
    body = (
        f"{RUSSIAN}\n\n-- \nАйгерим Серикова\n+7 701 234 56 78\n\n"
        "On Mon, 30 Nov 2026 at 09:00, Akimat <questions@akimat.kz> wrote:\n"
        "> Ваш вопрос получен.\n> Спасибо!\n"
    )
    async with listening() as listener:
        inbound = await listener.send(mail(body, charset="windows-1251"))
    assert inbound.text == RUSSIAN


async def test_attachments_are_noted_not_stored() -> None:
    raw = multipart(
        part(RUSSIAN),
        part(
            "%PDF-1.4 ...",
            "application/pdf",
            'Content-Disposition: attachment; filename="a.pdf"\r\n',
        ),
        part("GIF89a", "image/gif", 'Content-Disposition: inline; filename="yard.gif"\r\n'),
    )
    async with listening() as listener:
        inbound = await listener.send(raw)
    assert (inbound.text, inbound.note) == (RUSSIAN, "2 attachments")
    assert "PDF" not in repr(inbound)
    assert "GIF" not in repr(inbound)


async def test_the_same_message_id_twice_gives_the_same_key() -> None:
    async with listening() as listener:
        first = await listener.send(mail(RUSSIAN, message_id="<same@mail.kz>"))
        again = await listener.send(mail(RUSSIAN, message_id=" <same@mail.kz> "))
        other = await listener.send(mail(RUSSIAN, message_id="<other@mail.kz>"))
        bare = [await listener.send(mail(KAZAKH, message_id=None)) for _ in range(2)]
    assert first.key == again.key == "mail:same@mail.kz" != other.key
    assert bare[0].key == bare[1].key
    assert bare[0].key.startswith("mail:sha256:")


async def test_a_recipient_not_ours_is_refused_with_550() -> None:
    async with listening() as listener:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await asyncio.to_thread(_send, listener.client, mail(RUSSIAN), "x@akimat.kz", SENDER)
        assert listener.received == []
    code, reply = refused.value.recipients["x@akimat.kz"]
    assert (code, reply) == (550, b"5.1.1 no such mailbox here")


async def test_too_many_recipients_are_refused_past_the_limit() -> None:
    def send_to_many() -> dict[str, tuple[int, bytes]]:
        with listener.client() as smtp:
            return smtp.sendmail(SENDER, [OURS, OURS.upper(), OURS], mail(RUSSIAN))

    async with listening(max_recipients=2) as listener:
        refused = await asyncio.to_thread(send_to_many)
        assert refused == {OURS: (452, b"4.5.3 too many recipients")}
        assert [i.via for i in listener.received] == [OURS]


async def test_a_mail_over_the_size_limit_is_refused_with_552() -> None:
    big = mail(RUSSIAN * 100)

    def without_size_announced() -> tuple[int, bytes]:
        with listener.client() as smtp:
            smtp.ehlo()
            smtp.mail(SENDER)
            smtp.rcpt(OURS)
            return smtp.data(big)

    async with listening(max_bytes=2000) as listener:
        # smtplib announces SIZE (aiosmtpd advertises its limit): refused at MAIL FROM.
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await asyncio.to_thread(_send, listener.client, big, OURS, SENDER)
        assert refused.value.smtp_code == 552
        # A client that does not announce it is refused once the data passes the limit.
        code, _ = await asyncio.to_thread(without_size_announced)
        assert code == 552
        assert (await listener.send(mail(RUSSIAN))).text == RUSSIAN  # a small one still goes
    assert len(listener.received) == 1


async def test_a_peer_past_its_rate_is_told_to_try_later_and_may_after_a_minute() -> None:
    now = [1000.0]
    async with listening(clock=lambda: now[0], per_minute=2) as listener:
        await listener.send(mail(RUSSIAN))
        await listener.send(mail(KAZAKH))
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await asyncio.to_thread(_send, listener.client, mail(FAMILY), OURS, SENDER)
        assert (refused.value.smtp_code, refused.value.smtp_error) == (
            450,
            b"4.7.0 rate limited, try later",
        )
        now[0] += 60.5
        assert (await listener.send(mail(FAMILY))).text == FAMILY
    assert [i.text for i in listener.received] == [RUSSIAN, KAZAKH, FAMILY]


async def test_unparseable_data_is_refused_and_the_next_mail_on_the_connection_goes() -> None:
    def junk_then_mail() -> int:
        with listener.client() as smtp:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.sendmail(SENDER, [OURS], b"this is not a mail\r\nat all\r\n")
            smtp.sendmail(SENDER, [OURS], mail(RUSSIAN))
            return refused.value.smtp_code

    async with listening() as listener:
        assert await asyncio.to_thread(junk_then_mail) == 550
    assert [i.text for i in listener.received] == [RUSSIAN]


async def test_an_intake_failure_answers_451_and_the_senders_retry_arrives() -> None:
    async with listening(failures=1) as listener:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            await asyncio.to_thread(_send, listener.client, mail(RUSSIAN), OURS, SENDER)
        assert (failed.value.smtp_code, failed.value.smtp_error) == (
            451,
            b"4.3.0 try again later",
        )
        assert (await listener.send(mail(RUSSIAN))).key == "mail:q1@mail.kz"  # the MTA's retry


async def test_logs_name_no_full_address_and_no_body(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with listening(failures=1) as listener:
        with pytest.raises(smtplib.SMTPDataError):
            await asyncio.to_thread(_send, listener.client, mail(RUSSIAN), OURS, SENDER)
        await listener.send(mail(RUSSIAN))
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await asyncio.to_thread(_send, listener.client, mail(RUSSIAN), "x@akimat.kz", SENDER)
    assert "a•••@mail.kz" in caplog.text  # the mail was logged, masked
    for secret in (SENDER, OURS, "x@akimat.kz", "Здравствуйте", "Redis is away"):
        assert secret not in caplog.text


async def test_stop_closes_open_connections_and_a_stopped_intake_stops_again() -> None:
    async with listening() as listener:
        clients = [await asyncio.to_thread(listener.client) for _ in range(2)]
        for client in clients:
            await asyncio.to_thread(client.ehlo)
        await listener.intake.stop()
        for client in clients:
            with pytest.raises(smtplib.SMTPServerDisconnected):
                await asyncio.to_thread(client.noop)
            await asyncio.to_thread(client.close)
    await listener.intake.stop()  # and once more, from the context: nothing left to stop


def test_the_rate_per_peer_forgets_quiet_peers_past_its_bound() -> None:
    now = [0.0]
    rate = PeerRate(per_minute=1, clock=lambda: now[0], max_peers=3)
    assert [rate.admit(f"10.0.0.{n}") for n in range(3)] == [True, True, True]
    assert not rate.admit("10.0.0.1")  # its one mail this minute is spent
    now[0] = 61.0
    assert rate.admit("10.0.0.1")
    assert len(rate) == 3  # at the bound: nothing forgotten yet
    assert rate.admit("10.0.0.9")
    assert len(rate) == 2  # past it: the two quiet for a minute are gone


# The parser on its own


def test_display_names_in_rfc_2047_windows_1251_koi8_r_and_raw_8bit_are_decoded() -> None:
    def sender_name(header: bytes) -> str:
        return parse(b"From: " + header + b"\r\n\r\nText", via=OURS).name

    cp1251 = base64.b64encode("Айгерим".encode("cp1251")).decode()
    koi8 = base64.b64encode("Ерлан".encode("koi8-r")).decode()
    assert sender_name(f"=?windows-1251?B?{cp1251}?= <a@b.kz>".encode()) == "Айгерим"
    assert sender_name(f"=?koi8-r?B?{koi8}?= <a@b.kz>".encode()) == "Ерлан"
    assert sender_name('"Әсел" <a@b.kz>'.encode()) == "Әсел"  # raw UTF-8 (RFC 6532)
    assert sender_name('"Иван" <a@b.kz>'.encode("cp1251")) == "Иван"  # raw cp1251


def test_sender_is_lower_cased_and_answers_go_to_reply_to() -> None:
    raw = b"From: Aigerim <Aigerim@Mail.KZ>\r\nReply-To: <Answers@Mail.KZ>\r\n\r\nText"
    inbound = parse(raw, via=OURS)
    assert (inbound.sender, inbound.reply_to, inbound.via) == (
        "aigerim@mail.kz",
        "answers@mail.kz",
        OURS,
    )


@pytest.mark.parametrize(
    "header",
    [
        b'From: "unterminated <a@b.kz>',
        b"From: a@b.kz (comment",
        b"From: <a@b.kz>, ,",
        # each of these makes the stdlib's parser raise (IndexError, AttributeError,
        # TypeError, UnboundLocalError)
        b'From: a@b.kz <"',
        b"From: .<>.?b? =?, a@b.kz",
        b'From: a@b.kz (").;?=',
        "From: é@[ a@b.kz".encode(),
    ],
)
def test_a_broken_from_header_falls_back_to_a_lenient_reading(header: bytes) -> None:
    assert parse(header + b"\r\n\r\nText", via=OURS).sender == "a@b.kz"


@pytest.mark.parametrize(
    "raw",
    [b"", b" \r\n", b"this is not a mail\r\nat all\r\n", b"Subject: hi\r\n\r\nno sender"],
)
def test_something_that_is_not_a_mail_is_a_clear_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError, match="not an e-mail"):
        parse(raw, via=OURS)


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Mon, 30 Nov 2026 10:00:00 +0500", 1_796_014_800_000),
        ("Mon, 30 Nov 2026 05:00:00 -0000", 1_796_014_800_000),  # no zone: taken as UTC
        ("yesterday", 0),
        ("Mon, 32 Nov 2026 10:00:00 +0500", 0),
    ],
)
def test_sent_at_is_the_date_header_or_zero(date: str, expected: int) -> None:
    raw = f"From: a@b.kz\r\nDate: {date}\r\n\r\nText".encode()
    assert parse(raw, via=OURS).sent_at == expected
    assert parse(b"From: a@b.kz\r\n\r\nText", via=OURS).sent_at == 0


@pytest.mark.parametrize(
    ("data", "charset"),
    [
        (RUSSIAN.encode("utf-8"), None),  # no charset: UTF-8 first
        (RUSSIAN.encode("cp1251"), None),  # then Windows-1251
        (RUSSIAN.encode("cp1251"), "us-ascii"),  # a wrong label is not believed
        (RUSSIAN.encode("utf-8"), "x-unknown-charset"),
    ],
)
def test_a_missing_or_wrong_charset_falls_back_to_utf8_then_cp1251(
    data: bytes, charset: str | None
) -> None:
    label = f"; charset={charset}" if charset else ""
    raw = f"From: a@b.kz\r\nContent-Type: text/plain{label}\r\n\r\n".encode() + data
    assert parse(raw, via=OURS).text == RUSSIAN


def test_an_empty_body_gives_the_subject_without_reply_prefixes() -> None:
    subject = base64.b64encode("Ответ: Re[2]: Fwd: Жол жөндеу".encode()).decode()
    raw = f"From: a@b.kz\r\nSubject: =?utf-8?B?{subject}?=\r\n\r\n\r\n> quoted\r\n".encode()
    assert parse(raw, via=OURS).text == "Жол жөндеу"


def test_a_broken_from_header_still_gives_its_encoded_name() -> None:
    name = "=?utf-8?q?=D0=90=D0=B9=D0=B3=D0=B5=D1=80=D0=B8=D0=BC?="
    raw = f"From: {name} <a@b.kz>, .<>.?b? =?,\r\n\r\nText".encode()  # the parser raises
    inbound = parse(raw, via=OURS)
    assert (inbound.name, inbound.sender) == ("Айгерим", "a@b.kz")


def test_a_subject_in_an_unknown_charset_is_kept_as_it_came() -> None:
    raw = b"From: a@b.kz\r\nSubject: =?x-unknown?q?road?=\r\n\r\n"
    assert parse(raw, via=OURS).text == "=?x-unknown?q?road?="


def test_a_mail_of_only_an_image_is_its_subject_and_one_attachment() -> None:
    raw = multipart(
        part("GIF89a", "image/gif", 'Content-Disposition: attachment; filename="a.gif"\r\n'),
        part("inline, no name: an image in the text", "image/png"),
    )
    inbound = parse(raw, via=OURS)
    assert (inbound.text, inbound.note) == ("Question", "1 attachment")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # English and Gmail's attribution wrapped over two lines
        ("Question\n\nOn Mon, 30 Nov 2026, Akimat wrote:\n> old", "Question"),
        (
            "Question\nOn Mon, 30 Nov 2026 at 09:00, Akimat <\nq@akimat.kz> wrote:\n> old",
            "Question",
        ),
        # Russian and Kazakh clients
        ("Вопрос\n30.11.2026, 09:00, Акимат пишет:\n> старое", "Вопрос"),
        # Gmail in Russian names no verb: the date, then the address in brackets
        ("Вопрос\nпн, 30 нояб. 2026 г. в 10:00, Акимат <q@akimat.kz>:\n> старое", "Вопрос"),
        ("Сұрақ\n30.11.2026 09:00 Әкімдік жазды:\n> ескі", "Сұрақ"),
        ("Вопрос\nПонедельник, 30 ноября 2026, 9:00 +05:00 от q@akimat.kz:\n> x", "Вопрос"),
        # Outlook: a rule, a header block, the old mail unquoted
        ("Вопрос\n________________\nОт: Акимат\nОтправлено: 30 ноября 2026 г.\nold", "Вопрос"),
        ("Question\n\nFrom: Akimat\nSent: Monday\nTo: me\nSubject: x\n\nold", "Question"),
        ("Вопрос\n-----Исходное сообщение-----\nОт: Акимат\nold", "Вопрос"),
        ("Question\n-----Original Message-----\nold", "Question"),
        # inline replies keep the new lines between the quotes
        ("> Your district?\nAlmaly\n> And the street?\nAbai 15", "Almaly\nAbai 15"),
        # signatures and phone footers
        ("Question\n--\nAigerim", "Question"),
        ("Question\n\nSent from my iPhone", "Question"),
        ("Вопрос\n\nОтправлено с iPhone", "Вопрос"),
        ("Вопрос\n\nОтправлено из мобильной Почты Mail.ru", "Вопрос"),
        # not a footer when the words are the question's own, early in it
        ("Отправлено с опозданием письмо\nпро дорогу\nи про свет", None),
        ("From: me, a resident\nof Almaly", None),
        # blank runs collapse, emoji and ZWJ survive
        (f"Line one\n\n\n\nLine two {FAMILY}\n\n", f"Line one\n\nLine two {FAMILY}"),
    ],
)
def test_trim_keeps_only_the_new_part(body: str, expected: str | None) -> None:
    assert trim(body) == (body if expected is None else expected)


def test_html_is_made_text_without_scripts_styles_or_quoted_thread() -> None:
    html = (
        "<html><head><title>t</title><style>.a{}</style></head><body>"
        "<p>Сәлем,&nbsp;әкім!</p><p>Два  вопроса:</p><ul><li>дорога &amp; свет</li>"
        "<li>вода &lt;3 дня&gt;</li></ul><br/><br><br><div>Спасибо</div>"
        "<script>var x = '<p>no</p>';</script><blockquote>old thread</blockquote>"
        "</body></html>"
    )
    assert html_to_text(html) == (
        "Сәлем, әкім!\n\nДва вопроса:\n\nдорога & свет\nвода <3 дня>\n\nСпасибо"
    )
    assert html_to_text("</blockquote>text") == "text"  # a stray end tag breaks nothing


@pytest.mark.parametrize(
    "html",
    [
        # Gmail: the attribution in its own div, the thread in a blockquote
        '<div dir="ltr">Когда починят свет?<br></div><br><div class="gmail_quote">'
        '<div class="gmail_attr">On Mon, 30 Nov 2026 at 09:00, Akimat &lt;q@akimat.kz&gt; '
        'wrote:<br></div><blockquote class="gmail_quote">Ваш вопрос</blockquote></div>',
        # Outlook: a header block in bold, the old mail unquoted below it
        "<html><body><p>Когда починят свет?</p><p>&nbsp;</p><div><p><b>От:</b> Акимат "
        "&lt;q@akimat.kz&gt;<br><b>Отправлено:</b> 30 ноября 2026 г. 9:00<br><b>Кому:</b> me"
        "</p></div><p>Ваш вопрос получен</p></body></html>",
    ],
)
def test_an_html_only_reply_keeps_only_the_new_part(html: str) -> None:
    raw = mail(html, charset="windows-1251", encoding="base64", subtype="html")
    assert parse(raw, via=OURS).text == "Когда починят свет?"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_are_refused_as_not_a_mail(raw: bytes) -> None:
    try:
        inbound = parse(b"From: a@b.kz\r\n" + raw, via=OURS)
    except ValueError:
        return
    for text in (inbound.key, inbound.sender, inbound.name, inbound.text, inbound.note):
        text.encode("utf-8")  # no lone surrogate can reach Redis


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_any_header_bytes_parse_or_are_refused_as_not_a_mail(head: bytes, body: bytes) -> None:
    try:
        inbound = parse(b"From: " + head + b"\r\nSubject: " + head + b"\r\n\r\n" + body, via=OURS)
    except ValueError:
        return
    assert inbound.sender == inbound.sender.lower()
    for text in (inbound.key, inbound.sender, inbound.name, inbound.text, inbound.reply_to):
        text.encode("utf-8")


def test_mask_keeps_one_letter_and_the_domain() -> None:
    assert mask("aigerim@mail.kz") == "a•••@mail.kz"
    assert mask("not an address") == "•••"
