"""The e-mail channel's parser: a raw RFC 5322 message in, one `Inbound` out (pure, no I/O).

Residents write from every kind of client: Outlook and Mail.ru in Windows-1251, old Linux
mailers in KOI8-R, phones that top-post above the whole thread. The question is the new part of
the body only; quoted replies, signatures and "Sent from my iPhone" are trimmed, and
attachments are counted, never stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import AddressHeader
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from moderation.model import Channel
from server.channels import Inbound

__all__ = ["html_to_text", "parse", "trim"]

# Charsets tried, in order, for a part that names none (or names one its bytes are not in).
FALLBACK_CHARSETS = ("utf-8", "cp1251")
_ADDRESS = re.compile(r"[^\s<>@(),;:\"\[\]\\]+@[\w-]+(?:\.[\w-]+)+")
_SURROGATES = re.compile(r"[\udc80-\udcff]")
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|ответ|отв|пересл|жауап)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE
)


def parse(raw: bytes, *, via: str) -> Inbound:
    """The resident's message in `raw`, as it came to our address `via`.

    Raises:
        ValueError: `raw` is not a mail at all (no headers, or no From address).
    """
    if not raw.strip():
        raise ValueError("not an e-mail: the message is empty")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not message.keys():
        raise ValueError("not an e-mail: no header could be read")
    name, sender = _address(message, "From")
    if not sender:
        raise ValueError("not an e-mail: no From address")
    reply_to = _address(message, "Reply-To")[1] or sender
    assert isinstance(message, EmailMessage)  # policy.default makes EmailMessage
    subject = _SUBJECT_PREFIX.sub("", _text_header(message, "Subject")).strip()
    return Inbound(
        channel=Channel.EMAIL,
        key=_key(message, raw),
        sender=sender,
        reply_to=reply_to,
        via=via,
        name=name,
        text=trim(_body(message)) or subject,
        sent_at=_sent_at(message),
        note=_note(_attachments(message)),
    )


# Headers


def _raw_header(message: Message, name: str) -> str:
    """The header as it came (unfolded), with bytes outside ASCII decoded as text."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return _decode_8bit(re.sub(r"\r?\n(?=[ \t])", "", str(value)))
    return ""


def _decode_8bit(value: str) -> str:
    """Raw 8-bit bytes in a header (the parser keeps them as surrogates) as UTF-8 or cp1251."""
    if not _SURROGATES.search(value):
        return value
    return _decode(value.encode("utf-8", "surrogateescape"), None)


def _text_header(message: Message, name: str) -> str:
    """An unstructured header (Subject) with RFC 2047 words decoded, in any charset."""
    raw = _raw_header(message, name)
    try:
        return str(make_header(decode_header(raw)))
    except Exception:  # a broken header: see _address
        return raw


def _address(message: Message, name: str) -> tuple[str, str]:
    """(display name, lower-cased address) of the first address in a header, or ("", "").

    policy.default reads RFC 2047 names in any charset Python knows; where its parser fails or
    finds no valid address, `parseaddr` on the raw header, then the first thing shaped like
    an address in it, are the fallbacks for broken headers. The stdlib's parsers have been seen
    to raise IndexError, AttributeError, TypeError and UnboundLocalError on hostile headers
    (`From: <"`, `From: é@[ `): any exception there means "broken", never a lost mail.
    """
    try:
        header = message[name]
        found = (
            [(a.display_name, a.addr_spec) for a in header.addresses[:1]]
            if isinstance(header, AddressHeader)
            else []
        )
    except Exception:  # a broken header: see _address
        found = []
    raw = _raw_header(message, name)
    anywhere = _ADDRESS.search(raw)  # last resort: the first thing shaped like an address
    candidates = [*found, parseaddr(raw), ("", anywhere.group() if anywhere else "")]
    for display, address in candidates:
        if _ADDRESS.fullmatch(address):
            return _decode_8bit(_words(display)).strip(), _decode_8bit(address).lower()
    return "", ""


def _words(value: str) -> str:
    """RFC 2047 words left in a display name (parseaddr does not decode them)."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # a broken header: see _address
        return value


def _key(message: Message, raw: bytes) -> str:
    """The idempotency key: the Message-ID, or a hash of the bytes (a mail sent twice dedupes)."""
    message_id = re.sub(r"[\s<>]", "", _raw_header(message, "Message-ID"))
    if message_id:
        return f"mail:{message_id}"
    return "mail:sha256:" + hashlib.sha256(raw).hexdigest()


def _sent_at(message: Message) -> int:
    """The Date header in ms since the epoch; 0 when missing or unparseable (never refused)."""
    try:
        when = parsedate_to_datetime(_raw_header(message, "Date"))
        return int(when.timestamp() * 1000)
    except (TypeError, ValueError, OverflowError, IndexError):
        return 0


# The body


def _body(message: EmailMessage) -> str:
    """The text of the best text part: text/plain, else text/html as text, else ""."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    payload = part.get_payload(decode=True)  # QP and base64 undone
    text = _decode(payload if isinstance(payload, bytes) else b"", part.get_content_charset())
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    return text


def _decode(data: bytes, charset: str | None) -> str:
    """`data` in its declared charset; when there is none or the bytes are not in it, UTF-8,
    then Windows-1251 (KOI8-R is always declared by the clients that use it)."""
    for candidate in (charset, *FALLBACK_CHARSETS):
        if candidate is None:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


def _attachments(part: Message) -> int:
    """Parts with Content-Disposition attachment, or inline non-text parts with a file name."""
    disposition = part.get_content_disposition()
    maintype = part.get_content_maintype()
    if disposition == "attachment":
        return 1
    if maintype not in ("text", "multipart") and part.get_filename():
        return 1
    if maintype != "multipart":
        return 0
    return sum(_attachments(p) for p in part.get_payload() if isinstance(p, Message))


def _note(attachments: int) -> str:
    if attachments == 0:
        return ""
    return "1 attachment" if attachments == 1 else f"{attachments} attachments"


# HTML to text


# A block ends a line; a paragraph-like block also leaves a blank one. Breaks from tags next to
# each other count once ("</li><li>" is one line break); each <br> is a line break of its own.
_LINE, _PARAGRAPH = "\x00", "\x01"
_BLOCKS = {"div": _LINE, "li": _LINE, "tr": _LINE, "p": _PARAGRAPH, "table": _PARAGRAPH}
_BLOCKS |= {tag: _PARAGRAPH for tag in ("ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6")}
_BREAKS = re.compile(f"[{_LINE}{_PARAGRAPH}](?:[ \t]*[{_LINE}{_PARAGRAPH}])*")
# Not text at all, or (blockquote) the quoted thread a mail client puts under a reply.
_SKIPPED = {"script", "style", "head", "title", "template", "blockquote"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        else:
            self.handle_startendtag(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.chunks.append("\n")
        elif tag in _BLOCKS:
            self.chunks.append(_BLOCKS[tag])

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.chunks.append(_BLOCKS[tag])

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.chunks.append(re.sub(r"\s+", " ", data.replace(_LINE, "").replace(_PARAGRAPH, "")))


def html_to_text(html: str) -> str:
    """The text a reader sees in `html`: no scripts or styles, blocks and <br> as line breaks,
    entities unescaped, runs of blank lines collapsed to one."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = _BREAKS.sub(
        lambda m: "\n\n" if _PARAGRAPH in m.group() else "\n", "".join(parser.chunks)
    )
    return _collapse(text.splitlines())


def _collapse(lines: list[str]) -> str:
    """Lines stripped, runs of blank lines made one, no blank lines at either end."""
    kept: list[str] = []
    for line in (line.strip() for line in lines):
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()


# Trimming: only the new part is the question


_ATTRIBUTION = re.compile(
    r"""^(?:
        on\s.+\swrote:                                # On Mon, 1 Dec 2026, X wrote:
        | .+\s(?:пишет|написал|написала|жазды)\s?:     # ... пишет: / ... жазды:
        | -{2,}\s*(?:original\smessage|исходное\sсообщение|пересылаемое\sсообщение)\s*-{2,}
        | .*\sот\s.*@.*:                               # Mail.ru: "..., 10:00 +05:00 от X <x@y>:"
        # Gmail, ru: "пн, 30 нояб. 2026 г. в 10:00, X <x@y>:"
        | .*\d{4}.*<[^<>\s]+@[^<>\s]+>\s?:
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Outlook's header block: "От: X" / "From: X" with "Отправлено:" / "Sent:" in the next lines.
_OUTLOOK_FROM = re.compile(r"^\**(?:от|from|кімнен)\s*:\**\s", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\**(?:отправлено|sent|дата|date|жіберілді)\s*:", re.IGNORECASE)
_SIGNATURE = re.compile(r"^--\s?$")
_FOOTER = re.compile(
    r"^(?:sent\s(?:from|with)\s|get\soutlook\sfor\s|отправлено\s(?:с|со|из)\s).{0,60}$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^[-_=*\s]+$")


def trim(text: str) -> str:
    """The new part of a mail's text: quoted replies and everything from an attribution line
    or an Outlook header block, the signature ("-- ") and a phone's footer taken away."""
    lines = text.splitlines()
    lines = lines[: _first(lines, _starts_quote)]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    lines = lines[: _first(lines, lambda ls, i: bool(_SIGNATURE.match(ls[i])))]
    lines = _without_footer(lines)
    while lines and _RULE.match(lines[-1]):
        lines.pop()
    return _collapse(lines)


def _first(lines: list[str], found: Callable[[list[str], int], bool]) -> int:
    return next((i for i in range(len(lines)) if found(lines, i)), len(lines))


def _starts_quote(lines: list[str], i: int) -> bool:
    """Whether line `i` begins the quoted thread (an attribution, maybe wrapped over two
    lines, or an Outlook header block)."""
    line = lines[i].strip()
    if _ATTRIBUTION.match(line):
        return True
    following = [rest.strip() for rest in lines[i + 1 : i + 4]]
    if line.lower().startswith("on ") and following and following[0].lower().endswith("wrote:"):
        return bool(_ATTRIBUTION.match(f"{line} {following[0]}"))
    return bool(_OUTLOOK_FROM.match(line)) and any(_OUTLOOK_SENT.match(f) for f in following)


def _without_footer(lines: list[str]) -> list[str]:
    """Up to a "Sent from my iPhone" footer among the last two non-blank lines."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for i in filled[-2:]:
        if _FOOTER.match(lines[i].strip()):
            return lines[:i]
    return lines
