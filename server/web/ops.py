"""Operations endpoints: liveness, readiness (Redis and durability) and Prometheus metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from server.services import Services
from server.store import Durability, StoreUnavailable


async def healthz(request: Request) -> Response:
    """`GET /healthz`: the process answers."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """`GET /readyz`: 200 only if Redis answers and acknowledged comments are durable."""
    services: Services = request.app.state.services
    report: dict[str, object] = {}
    ready = True
    try:
        await services.store.ping()
        report["redis"] = "ok"
    except StoreUnavailable as error:
        report["redis"] = f"unreachable: {error}"
        ready = False
    durability = services.store.durability
    report["durability"] = durability.mode.value
    report["durability_detail"] = durability.detail
    if durability.mode is Durability.NONE:
        report["warning"] = "acknowledged comments can be lost: comments are refused" + (
            " (accepted anyway: HALYQ_ACCEPT_NONDURABLE)"
            if services.settings.accept_nondurable
            else ""
        )
        ready = False
    if services.hub.problems:
        report["problems"] = sorted(services.hub.problems.values())
        ready = False
    report["status"] = "ready" if ready else "not ready"
    return JSONResponse(report, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    """`GET /metrics`: Prometheus text format."""
    services: Services = request.app.state.services
    return Response(services.metrics.render(), media_type="text/plain; version=0.0.4")
