"""The e-mail channel's SMTP listener: aiosmtpd's protocol on our own event loop, limited in
size, recipients and rate, handing each accepted mail to the intake once.

The sending MTA keeps a mail until we answer 250, so every answer is a promise: 250 only after
`receive` said so (after the durable append), 4xx (it retries later, nothing is lost) when we
cannot take it now, 5xx only for what will never be taken (not ours, too big, not a mail).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from aiosmtpd.smtp import SMTP, Envelope, Session

from server.channels import Inbound
from server.channels.email import parse

__all__ = ["PeerRate", "SmtpIntake", "mask"]

log = logging.getLogger(__name__)

NO_MAILBOX = "550 5.1.1 no such mailbox here"
TOO_MANY_RECIPIENTS = "452 4.5.3 too many recipients"
RATE_LIMITED = "450 4.7.0 rate limited, try later"
UNPARSEABLE = "550 5.6.0 cannot parse this message"
TRY_LATER = "451 4.3.0 try again later"
WINDOW_SECONDS = 60.0
# Past this many peers remembered, those with no mail in the window are forgotten.
MAX_PEERS = 4096


def mask(address: str) -> str:
    """An address as logs may show it: its first character and its domain ("i•••@mail.kz")."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}•••@{domain}" if local else "•••"


class SmtpIntake:
    """A built-in SMTP server for the e-mail channel (issue 10), run on the running loop.

    `accepts(address)` says whether a recipient (lower-cased) is one of ours (it may ask Redis:
    a meeting's routed address counts); `receive(inbound)`
    is the intake and returns the SMTP reply line ("250 OK: queued", "451 4.3.0 ..."). A peer
    address may start `per_minute` mails a minute; a mail is at most `max_bytes` long.
    """

    def __init__(
        self,
        *,
        accepts: Callable[[str], Awaitable[bool]],
        receive: Callable[[Inbound], Awaitable[str]],
        max_bytes: int = 10_000_000,
        per_minute: int = 30,
        max_recipients: int = 20,
        hostname: str = "halyq",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.hostname = hostname
        self._handler = _Handler(accepts, receive, per_minute, max_recipients, clock)
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._all_closed = asyncio.Event()

    async def start(self, host: str, port: int) -> int:
        """Listen on `host:port` (0 picks a free port) and return the port bound."""
        # aiosmtpd logs every command line, addresses included, at INFO: keep it to warnings.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: self._connect(loop), host, port)
        port_bound: int = self._server.sockets[0].getsockname()[1]
        log.info("SMTP intake listening on %s:%d", host, port_bound)
        return port_bound

    async def stop(self) -> None:
        """Stop listening and close every connection (a mail not yet answered 250 stays with
        its sender, which retries)."""
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        for connection in list(self._connections):
            assert connection.transport is not None  # set to None only once it is lost
            connection.transport.close()
        if self._connections:
            await self._all_closed.wait()

    def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        connection = _Connection(
            self._handler,
            data_size_limit=self.max_bytes,
            enable_SMTPUTF8=True,
            hostname=self.hostname,
            ident="Halyq",
            loop=loop,
        )
        connection.on_lost = self._lost
        self._connections.add(connection)
        self._all_closed.clear()
        return connection

    def _lost(self, connection: _Connection) -> None:
        self._connections.discard(connection)
        if not self._connections:
            self._all_closed.set()


class _Connection(SMTP):
    """One SMTP session; tells the intake when its socket is gone."""

    on_lost: Callable[[_Connection], None]

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        self.on_lost(self)


class _Handler:
    """aiosmtpd's hooks: who may send (rate), to whom (our addresses), and what (a mail)."""

    def __init__(
        self,
        accepts: Callable[[str], Awaitable[bool]],
        receive: Callable[[Inbound], Awaitable[str]],
        per_minute: int,
        max_recipients: int,
        clock: Callable[[], float],
    ) -> None:
        self.accepts = accepts
        self.receive = receive
        self.rate = PeerRate(per_minute, clock)
        self.max_recipients = max_recipients

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self.rate.admit(_host(session.peer)):
            log.warning(
                "SMTP intake: a peer sent more than %d mails a minute", self.rate.per_minute
            )
            return RATE_LIMITED
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return TOO_MANY_RECIPIENTS
        address = address.lower()
        if not await self.accepts(address):
            log.info("SMTP intake: refused a mail to %s (not ours)", mask(address))
            return NO_MAILBOX
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        via = envelope.rcpt_tos[0]
        try:
            inbound = parse(envelope.original_content or b"", via=via)
        except ValueError as error:
            log.info("SMTP intake: refused a mail to %s: %s", mask(via), error)
            return UNPARSEABLE
        try:
            reply = await self.receive(inbound)
        except Exception as error:  # the root of this mail: the sender keeps it and retries
            # Only the type: an exception's message may quote the mail or its sender.
            log.error("SMTP intake: the intake failed (%s); answered 451", type(error).__name__)
            return TRY_LATER
        log.info("SMTP intake: a mail to %s from %s: %s", mask(via), mask(inbound.sender), reply)
        return reply


class PeerRate:
    """How many mails each peer address started in the last minute, and whether one more may
    start. Memory stays bounded: past `max_peers` addresses, those quiet for a minute go."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float], max_peers: int = MAX_PEERS
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.max_peers = max_peers
        self.recent: dict[str, deque[float]] = {}

    def __len__(self) -> int:
        return len(self.recent)

    def admit(self, host: str) -> bool:
        """Whether `host` may start one more mail now (and count it if so)."""
        now = self.clock()
        stamps = self.recent.setdefault(host, deque())
        while stamps and stamps[0] <= now - WINDOW_SECONDS:
            stamps.popleft()
        if len(stamps) >= self.per_minute:
            return False
        stamps.append(now)
        if len(self.recent) > self.max_peers:
            self.recent = {
                peer: times
                for peer, times in self.recent.items()
                if times and times[-1] > now - WINDOW_SECONDS
            }
        return True


def _host(peer: object) -> str:
    """The IP address of a peer (aiosmtpd gives the socket's (host, port, ...) tuple)."""
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer)
