"""Operations endpoints: liveness, readiness (the record's health) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from server.health import DRAINING, PING_TIMEOUT, Health, public
from server.services import Services
from server.store import Durability, StoreUnavailable


async def healthz(request: Request) -> Response:
    """`GET /healthz`: the process answers (liveness; it says nothing of Redis)."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """`GET /readyz`: 200 only if Redis answers, acknowledged comments are durable, the
    record is usable (while it is not: `state` degraded, with the `status` frame's `reason` and
    `detail`) and the node is not draining (`state` and `reason` draining). It names the node,
    and says how many replicas must confirm each append and how many can (issue 15: fewer is
    503). It is public: no file paths."""
    services: Services = request.app.state.services
    health: Health = request.app.state.health
    health.asked()  # a balancer checks: a drain gives it time to look elsewhere
    report: dict[str, object] = {"node": health.node}
    ready = health.status.ok and not health.draining
    if health.draining:  # SIGTERM (issue 15): the balancer sends new viewers elsewhere
        report |= {"state": DRAINING, "reason": DRAINING,
                   "detail": "this node is stopping: connect to another"}  # fmt: skip
    elif not ready:  # as the sockets are told (docs/protocol.md)
        report |= {"state": "degraded", "reason": health.status.reason,
                   "detail": health.status.detail}  # fmt: skip
    try:
        async with asyncio.timeout(PING_TIMEOUT):
            await services.store.ping()
        report["redis"] = "ok"
    except StoreUnavailable as error:
        report["redis"] = f"unreachable: {_kind(error)}"
        ready = False
    except TimeoutError:
        report["redis"] = f"unreachable: no answer within {PING_TIMEOUT:g} s"
        ready = False
    durability = services.store.durability
    report["durability"] = durability.mode.value
    report["durability_detail"] = public(durability.detail)
    if durability.mode is Durability.NONE:
        report["warning"] = "acknowledged comments can be lost: comments are refused" + (
            " (accepted anyway: HALYQ_ACCEPT_NONDURABLE)"
            if services.settings.accept_nondurable
            else ""
        )
        ready = False
    # Issue 15: the replicas that must confirm each append, and those that can now.
    report["replicas"] = {"required": durability.replicas_required,
                          "connected": durability.replicas_connected,
                          "detail": public(durability.replicas_detail)}  # fmt: skip
    if durability.replicas_missing:
        ready = False
    if services.hub.problems:
        report["problems"] = sorted(public(p) for p in services.hub.problems.values())
        ready = False
    # Issue 10: each channel's intake and answers, on or off (off: its settings are missing).
    report["channels"] = services.settings.channels()
    # Issue 16, with the ingest on: the RTMP port this process listens on (0: another worker
    # of the node has it) and the broadcasts it runs.
    ingest = request.app.state.ingest
    if ingest.broadcasts is not None:
        report["broadcast"] = {"rtmp": ingest.port, "live": len(ingest.broadcasts.live)}
    report["status"] = "ready" if ready else "not ready"
    return JSONResponse(report, status_code=200 if ready else 503)


def _kind(error: StoreUnavailable) -> str:
    """The kind of failure, without its message (which may name the socket's path)."""
    cause = error.__cause__
    return type(cause).__name__ if cause is not None else type(error).__name__


async def metrics(request: Request) -> Response:
    """`GET /metrics`: Prometheus text format."""
    services: Services = request.app.state.services
    return Response(services.metrics.render(), media_type="text/plain; version=0.0.4")
