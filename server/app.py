"""The application: routes, and a lifespan that owns Redis, the hub and background checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from server.channels import Inbound
from server.channels.graph_live import LiveReaders
from server.channels.outbound import Client, Postman
from server.channels.smtp import SmtpIntake
from server.fanout.hub import Hub
from server.fanout.uvicorn import FastPath
from server.health import Health, announce
from server.ingest import Ingest
from server.metrics import Metrics
from server.services import Services
from server.settings import Settings
from server.store import Store, StoreUnavailable
from server.store.embedded import EmbeddedRedis
from server.usecases import UseCases, now_ms
from server.usecases.retention import sweep
from server.web import (
    api,
    audit,
    broadcast,
    calendar,
    central,
    clock,
    compliance,
    console,
    demands,
    desk,
    feeds,
    index,
    items,
    login,
    meeting,
    mine,
    offices,
    ops,
    overlay,
    pool,
    producer,
    requests,
    results,
    rundown,
    templating,
    territories,
    transcript,
    transparency,
    webhooks,
    youtube,
)
from server.web.errors import HANDLERS
from server.web.live_comments import follow_facebook, follow_instagram
from server.web.security import SecurityHeaders
from server.web.viewer import viewer_socket
from server.youtube.follower import Followers

logger = logging.getLogger(__name__)

STARTUP_ATTEMPTS = 50
SHUTDOWN_WAIT = 5.0  # seconds the background tasks get to end once cancelled
# Viewer sockets are nearly all connections: they skip Starlette's layers (see `FastPath`).
FAST_SOCKETS = {r"/ws/meetings/([^/]+)": (viewer_socket, ("meeting_id",))}


def routes() -> list[BaseRoute]:
    """Every route; each has a policy in `server/auth/access.py` (a test checks)."""
    return [
        Route("/", index.index, name="index"),
        Route("/m/{meeting_id}", meeting.meeting_page, name="meeting"),
        Route("/m/{meeting_id}/calendar.ics", meeting.meeting_ics, methods=["GET"]),
        # The broadcast (issue 16): our HLS, and the ingest's status for staff
        Route("/m/{meeting_id}/live.m3u8", broadcast.playlist, methods=["GET"]),
        Route("/m/{meeting_id}/live/{segment}", broadcast.segment, methods=["GET"]),
        Route("/api/meetings/{meeting_id}/broadcast", broadcast.status_json, methods=["GET"]),
        WebSocketRoute("/ws/meetings/{meeting_id}", viewer_socket, name="viewer_socket"),
        Route("/api/meetings", api.list_meetings, methods=["GET"]),
        Route("/api/meetings", api.post_meeting, methods=["POST"]),
        Route("/api/meetings/{meeting_id}", api.get_meeting, methods=["GET"]),
        Route("/api/meetings/{meeting_id}/start", api.start_meeting, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/end", api.end_meeting, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/clock", clock.clock_json, methods=["GET"]),
        Route("/api/meetings/{meeting_id}/deadlines", api.get_deadlines, methods=["GET"]),
        Route("/api/meetings/{meeting_id}/mine", mine.mine_json, methods=["GET"]),
        Route("/api/meetings/{meeting_id}/phase", clock.phase_json, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/rundown/take", rundown.take, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/rundown/clear", rundown.clear, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/rundown/next", rundown.take_next, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/rundown/move", rundown.move, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/rundown/answered", rundown.answered, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/rundown/deferred", rundown.deferred, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/rundown", rundown.air, methods=["GET"]),
        Route("/healthz", ops.healthz),
        Route("/readyz", ops.readyz),
        Route("/metrics", ops.metrics),
        *login.ROUTES,
        Route("/console", console.console_index, name="console_index"),
        # Offices and promises (issue 12): before /console/{meeting_id}, which would take them
        Route("/console/offices", offices.admin_page, methods=["GET"], name="office_admin"),
        Route("/console/offices", offices.admin_add, methods=["POST"]),
        Route("/console/offices/{office_id}/holder", offices.admin_holder, methods=["POST"]),
        # Territories (issue 13.1): the admin's page, before /console/{meeting_id} too
        Route("/console/territories", territories.admin_page, methods=["GET"]),
        Route("/console/territories", territories.admin_add, methods=["POST"]),
        Route("/console/territories/import", territories.admin_import, methods=["POST"]),
        Route("/console/territories/{unit_id}", territories.admin_change, methods=["POST"]),
        Route("/api/territories", territories.territories_json, methods=["GET"]),
        Route("/api/territories.csv", territories.territories_csv, methods=["GET"]),
        # The central level (R8, issue 13.6): the lists of issues that need central bodies
        Route("/api/central", central.central_api, methods=["GET"]),
        Route("/api/central.csv", central.central_csv_export, methods=["GET"]),
        # The annual calendar and its compliance (R1, R5, R6: issue 13)
        Route("/calendar", calendar.calendar_page, methods=["GET"], name="calendar"),
        Route("/calendar.ics", calendar.calendar_ics, methods=["GET"]),
        Route("/calendar/offices/{office_id}.ics", calendar.office_ics, methods=["GET"]),
        Route("/calendar/units/{unit_id}.ics", calendar.unit_ics, methods=["GET"]),
        Route("/api/compliance", compliance.compliance_json, methods=["GET"]),
        Route("/compliance", compliance.compliance_page, methods=["GET"], name="compliance"),
        Route("/offices", offices.offices_page, name="offices"),
        Route("/offices/{office_id}", offices.office_page, name="office"),
        Route("/api/offices", offices.offices_json, methods=["GET"]),
        Route("/api/offices", offices.post_office, methods=["POST"]),
        Route("/api/offices/{office_id}", offices.office_detail_json, methods=["GET"]),
        Route("/api/offices/{office_id}/promises", offices.promises_json, methods=["GET"]),
        Route("/api/offices/{office_id}/holder", offices.post_holder, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/promises", offices.post_promise, methods=["POST"]),
        Route("/api/promises/{promise_id}", offices.post_promise_status, methods=["POST"]),
        Route("/console/{meeting_id}", console.console_page, name="console"),
        Route("/producer/{meeting_id}", producer.producer_page, name="producer"),
        Route("/console/{meeting_id}/audit", audit.audit_page, name="audit"),
        Route("/console/{meeting_id}/audit.csv", audit.audit_csv, methods=["GET"]),
        WebSocketRoute("/ws/console/{meeting_id}", console.console_socket, name="console_socket"),
        Route("/m/{meeting_id}/transparency", transparency.transparency_page, name="transparency"),
        Route("/api/meetings/{meeting_id}/transparency", transparency.transparency_json),
        # The issue pool (issue 12.3)
        Route("/api/meetings/{meeting_id}/issues", pool.post_issue, methods=["POST"]),
        Route("/api/issues", pool.issues_api, methods=["GET"]),
        Route("/api/issues.csv", pool.issues_csv_export, methods=["GET"]),
        Route("/api/issues/{issue_id}", pool.issue_api, methods=["GET"]),
        Route("/api/issues/{issue_id}", pool.edit_issue, methods=["POST"]),
        Route("/api/issues/{issue_id}/status", pool.change_status, methods=["POST"]),
        Route("/api/issues/{issue_id}/progress", pool.add_progress, methods=["POST"]),
        Route("/api/issues/{issue_id}/merge", pool.merge_issue, methods=["POST"]),
        Route("/issues", pool.issues_page, name="issues"),
        Route("/issues/{issue_id}", pool.issue_page, name="issue"),
        Route("/m/{meeting_id}/results", results.results_page, name="results"),  # issue 12.6
        # Requests before a meeting and meetings on demand (R5, R2: issue 13)
        Route("/m/{meeting_id}/requests", requests.requests_page, methods=["GET"]),
        Route("/m/{meeting_id}/requests", requests.post_request, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/requests", requests.requests_json, methods=["GET"]),
        Route("/console/{meeting_id}/requests", requests.console_page, methods=["GET"]),
        Route("/console/{meeting_id}/requests", requests.console_act, methods=["POST"]),
        Route("/demands", demands.demands_page, methods=["GET"], name="demands"),
        Route("/demands", demands.post_demand, methods=["POST"]),
        Route("/demands/{demand_id}/support", demands.post_support, methods=["POST"]),
        Route("/demands/{demand_id}/answer", demands.post_answer, methods=["POST"]),
        Route("/api/demands", demands.demands_json, methods=["GET"]),
        # The transcript of questions (issue 12)
        Route("/m/{meeting_id}/transcript", transcript.transcript_page, name="transcript"),
        Route("/m/{meeting_id}/transcript.vtt", transcript.transcript_vtt),
        Route("/m/{meeting_id}/recording", transcript.recording),
        Route("/api/meetings/{meeting_id}/transcript", transcript.transcript_json),
        Route("/overlay/{meeting_id}/lower-third", overlay.lower_third, name="lower_third"),
        Route("/overlay/{meeting_id}/clock", overlay.clock, name="clock_overlay"),
        Route("/overlay/{meeting_id}/ticker", overlay.ticker, name="ticker"),
        WebSocketRoute("/ws/overlay/{meeting_id}", overlay.overlay_socket, name="overlay_socket"),
        Route("/feeds/{meeting_id}/vmix.json", feeds.vmix_json, name="vmix_json"),
        Route("/feeds/{meeting_id}/vmix.xml", feeds.vmix_xml, name="vmix_xml"),
        # Every channel into one queue (issue 10)
        Route("/webhooks/whatsapp", webhooks.whatsapp_handshake, methods=["GET"]),
        Route("/webhooks/whatsapp", webhooks.whatsapp_delivery, methods=["POST"]),
        Route("/webhooks/twilio", webhooks.twilio_delivery, methods=["POST"]),
        Route("/webhooks/telegram", webhooks.telegram_delivery, methods=["POST"]),
        Route("/desk", desk.desk_page, name="desk"),
        Route("/api/desk/calls", desk.post_call, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/items", items.list_items, methods=["GET"]),
        Route("/api/meetings/{meeting_id}/feeds", youtube.feeds_json, methods=["GET"]),
        Route("/api/meetings/{meeting_id}/feeds/youtube", youtube.follow_youtube, methods=["POST"]),
        # Facebook Live and Instagram Live comments (issue 16)
        Route("/api/meetings/{meeting_id}/feeds/facebook", follow_facebook, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/feeds/instagram", follow_instagram, methods=["POST"]),
        Mount("/static", templating.static_files(), name="static"),
    ]


def create_app(settings: Settings | None = None) -> FastPath:
    """The ASGI app; with no settings it reads the environment (`uvicorn --factory`)."""
    settings = settings or Settings.from_env(os.environ)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with _running(settings) as (services, health):
            app.state.services = services
            app.state.health = health  # viewer and console sockets greet with its status
            # YouTube chat followers started from the console (issue 11): stopped with the app.
            app.state.followers = followers = Followers()
            # Facebook and Instagram Live readers started from the console (issue 16): the same.
            app.state.live_readers = live_readers = LiveReaders()
            # The studio's ingest and its ffmpeg (issue 16), when HALYQ_RTMP_PORT is set.
            app.state.ingest = ingest = Ingest(services)
            try:
                await ingest.start()
                yield
            finally:
                await followers.stop()
                await live_readers.stop()
                await ingest.stop()

    app = Starlette(routes=routes(), exception_handlers=HANDLERS, lifespan=lifespan)
    app.state.templates = templating.templates()
    app.add_middleware(SecurityHeaders)
    return FastPath(app, FAST_SOCKETS)


@contextlib.asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[tuple[Services, Health]]:
    embedded = None
    url = settings.store_url()
    if not url:
        embedded = EmbeddedRedis(settings.data_dir).start()
        url = embedded.url
    # `halyq serve` starts the embedded Redis before the app and hands over only its URL.
    supervised = embedded or EmbeddedRedis.serving(url)
    if supervised is not None:
        supervised.supervise()  # restarted whenever it dies, from now until it is stopped
    store = Store(url, settings.redis_prefix, replicas=settings.required_replicas())
    metrics = Metrics(node=settings.node_name)  # the `node` label, when it is named
    hub = Hub(store, metrics, max_delay=settings.fanout_max_delay)
    cases = UseCases(
        store=store,
        metrics=metrics,
        accept_nondurable=settings.accept_nondurable,
        ack_timeout=settings.ack_timeout,
        address_comments_per_minute=settings.address_comments_per_minute,
        address_comment_burst=settings.address_comment_burst,
    )
    health = Health(
        store,
        hub,
        metrics,
        supervisor=supervised,
        accept_nondurable=settings.accept_nondurable,
        node=node_name(settings),
    )
    tasks: list[asyncio.Task[None]] = []
    client = Client(settings)
    smtp = Mail()
    try:
        await _first_contact(store)
        secret = await store.shared_secret(settings.secret)
        services = Services(
            settings=settings,
            store=store,
            usecases=cases,
            hub=hub,
            metrics=metrics,
            secret=secret.encode(),
        )
        loop = asyncio.get_running_loop()
        postman = Postman(store.outbox, store.intake, client, metrics)
        tasks += [
            loop.create_task(health.watch()),
            loop.create_task(_watch_lag(metrics)),
            loop.create_task(cases.warner.run()),  # R4: the clock's warnings, when due
            loop.create_task(postman.run()),  # answers to senders (issue 10)
            loop.create_task(_retention(store, settings)),
            loop.create_task(_repair(store)),  # the meetings index (issue 15)
        ]
        if settings.smtp_port:
            await smtp.start(services)
        yield services, health
    finally:
        await smtp.stop()
        for task in tasks:
            task.cancel()
        # Each ends before the store closes: a task cancelled in the middle of a command must
        # give its Redis connection back, not leave it to the garbage collector.
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_WAIT)
        await client.close()
        await cases.warner.close()
        await hub.close()
        await store.close()
        if embedded is not None:
            embedded.stop()


def node_name(settings: Settings) -> str:
    """HALYQ_NODE_NAME, or this machine's host name and the port (issue 15)."""
    return settings.node_name or f"{socket.gethostname()}:{settings.port}"


async def _first_contact(store: Store) -> None:
    """Reach Redis (it may still be loading its file) and say how durable acks are there."""
    for attempt in range(STARTUP_ATTEMPTS):
        try:
            await store.ping()
            break
        except StoreUnavailable:
            if attempt == STARTUP_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.2)
    announce(await store.check_durability())


async def _repair(store: Store) -> None:
    """List in the index any meeting a process wrote and stopped before listing (issue 15)."""
    try:
        found = await store.meetings.repair()
    except StoreUnavailable as error:
        logger.warning("the meetings index was not checked (%s)", error)
        return
    if found:
        logger.warning("the meetings index missed %s: listed again", ", ".join(found))


class Mail:
    """The e-mail intake's SMTP listener (issue 10), when `HALYQ_SMTP_PORT` is set: it takes
    mail for `HALYQ_SMTP_ADDRESSES` and for every meeting's routed `--email` address."""

    def __init__(self) -> None:
        self.listener: SmtpIntake | None = None

    async def start(self, services: Services) -> None:
        settings = services.settings
        ours = {address.lower() for address in settings.smtp_addresses}

        async def accepts(address: str) -> bool:
            return address in ours or f"email:{address}" in await services.store.intake.routes()

        async def receive(inbound: Inbound) -> str:
            receipt = await services.intake.receive(inbound)
            services.metrics.intake.labels(inbound.channel.value, receipt.outcome).inc()
            return "250 OK: recorded" if receipt.http_status == 200 else "451 4.3.0 try again later"

        self.listener = SmtpIntake(
            accepts=accepts,
            receive=receive,
            max_bytes=settings.smtp_max_bytes,
            per_minute=settings.smtp_per_minute,
        )
        await self.listener.start(settings.smtp_host, settings.smtp_port)

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()


LAG_TICK = 0.05
RETENTION_EVERY = 24 * 3600.0  # seconds


async def _retention(store: Store, settings: Settings) -> None:
    """Delete the raw contacts whose retention period is over: at start, then daily."""
    while True:
        try:
            swept = await sweep(store, days=settings.contact_retention_days, now_ms=now_ms())
            if swept.meetings:
                logger.info("retention: contacts of %d meetings deleted", len(swept.meetings))
        except StoreUnavailable as error:
            logger.warning("retention: not run now (%s)", error)
        await asyncio.sleep(RETENTION_EVERY)


async def _watch_lag(metrics: Metrics) -> None:
    """Measure how late the loop runs a timer: nothing may hold it for long (a slow client, a
    big board, a long history are all worked through in slices)."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LAG_TICK
        await asyncio.sleep(LAG_TICK)
        metrics.loop_lag.observe(max(0.0, loop.time() - due))
