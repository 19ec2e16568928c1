"""The ASGI application over built services: routes, middleware, and a lifespan that adds
this app's socket hub and its event relay."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi

from ccsync import __version__
from ccsync.api import errors, typed
from ccsync.api.guard import HostPolicy, RequestGuard
from ccsync.api.hub import SocketHub
from ccsync.api.rest import (
    config,
    cron,
    dashboard,
    docs,
    limits,
    live,
    otlp,
    system,
    tokens,
    usage,
)
from ccsync.api.throttle import BodySizeLimit
from ccsync.api.ws import router as ws_router
from ccsync.server.initial_data import InitialData
from ccsync.server.telemetry import Telemetry
from ccsync.services import Services
from ccsync.storage import StorageUnavailableError
from ccsync.storage.live.base import EventBus

log = logging.getLogger("ccsync.app")

ERROR_STATUSES = {
    "400": "Malformed request",
    "401": "Missing or invalid token",
    "403": "Not allowed for this token",
    "404": "Not found",
    "409": "Conflicts with how the server runs",
    "413": "Body too large",
    "415": "The body is not application/json (nor, on /v1/*, application/x-protobuf)",
    "421": "Not a name this server answers to",
    "422": "Invalid request",
    "429": "Too many requests",
    "503": "A backend is unavailable",
}
RELAY_RETRY_SECONDS = (0.5, 1, 2, 5)
RELAY_TASK = "relay"
LINKS = (
    ("post", "/api/cron", "201", "/api/cron/{job_id}", {"job_id": "$response.body#/job/id"}),
    ("post", "/api/tokens", "201", "/api/tokens/{token_id}", {"token_id": "$response.body#/id"}),
    (
        "post",
        "/api/usage/{deviceId}",
        "200",
        "/api/usage/{deviceId}",
        {"deviceId": "$request.path.deviceId"},
    ),
    ("post", "/api/metrics/{key}", "200", "/api/metrics/{key}", {"key": "$request.path.key"}),
)
"""OpenAPI links: what a created thing's id leads to (every operation under that path).
Clients and stateful testers (schemathesis) follow them."""


async def relay_events(bus: EventBus, hub: SocketHub, telemetry: Telemetry) -> None:
    """Deliver every event of the live store's channel to this process's sockets, forever
    (a store that does not answer is subscribed to again; anything else ends it, and the
    supervisor restarts it)."""
    failures = 0
    while True:
        try:
            async with bus.subscribe() as stream:
                failures = 0
                async for event in stream:
                    telemetry.events.labels(str(event.get("type"))).inc()
                    hub.deliver(event)
        except StorageUnavailableError as exc:
            log.warning("events.relay_lost", extra={"error": str(exc)})
        delay = RELAY_RETRY_SECONDS[min(failures, len(RELAY_RETRY_SECONDS) - 1)]
        failures += 1
        await asyncio.sleep(delay)


def create_app(services: Services) -> FastAPI:
    """The app over built services (``services.build_services``). Its lifespan adds what
    is this app's own: the socket hub and the relay of events to it (a supervised task)."""
    settings = services.settings
    telemetry = services.telemetry

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        hub = SocketHub()
        services.supervisor.start(
            RELAY_TASK, lambda: relay_events(services.live.events, hub, telemetry)
        )
        try:
            yield {
                "services": services,
                "hub": hub,
                "initial_data": InitialData(services.live.values, settings.initial_data_bytes),
            }
        finally:
            hub.close_all()
            await services.supervisor.stop(RELAY_TASK)

    app = FastAPI(
        title="ccsync",
        version=__version__,
        summary="Claude Code token usage across every device: ccusage-identical reports and the live 5-hour window.",
        lifespan=lifespan,
        # Served by api/rest/docs.py, behind a token off local mode.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestGuard, hosts=HostPolicy.of(settings.host_names))

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        telemetry.http_requests.labels(request.method, route, str(response.status_code)).inc()
        telemetry.http_seconds.labels(route).observe(time.perf_counter() - started)
        return response

    for router in (
        system.router,
        live.router,
        usage.router,
        otlp.router,
        limits.router,
        config.router,
        tokens.router,
        cron.aliases,
        cron.router,
        dashboard.router,
        docs.router,
        ws_router,
    ):
        app.include_router(router)
    app.mount("/static", dashboard.assets(), name="static")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with every body and answer described by its msgspec type
    (``api.typed``) and the one error shape on every operation."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    operations = [
        operation for path in schema.get("paths", {}).values() for operation in path.values()
    ]
    keys = {typed.response_doc(errors.ErrorBody)[typed.MODEL_KEY]}
    for operation in operations:
        keys.update(_markers(operation))
    documented, components = typed.components(keys)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):  # 422s are ErrorBody here
        schemas.pop(unused, None)
    schemas.update(components)
    error = documented[typed.response_doc(errors.ErrorBody)[typed.MODEL_KEY]]
    for operation in operations:
        body = operation.pop(typed.BODY_KEY, None)
        optional = operation.pop(typed.OPTIONAL_BODY_KEY, False)
        if body is not None:
            operation["requestBody"] = {
                "required": not optional,
                "content": {"application/json": {"schema": documented[body]}},
            }
        responses = operation.setdefault("responses", {})
        for response in responses.values():
            model = response.pop(typed.MODEL_KEY, None)
            if model is not None:
                response["content"] = {"application/json": {"schema": documented[model]}}
        for status, description in ERROR_STATUSES.items():
            responses[status] = {
                "description": description,
                "content": {"application/json": {"schema": error}},
            }
    _add_links(schema)
    app.openapi_schema = schema
    return schema


def _markers(operation: dict[str, Any]) -> set[str]:
    """The documented types an operation names (its body's and its answers')."""
    found = {operation.get(typed.BODY_KEY)}
    found.update(response.get(typed.MODEL_KEY) for response in operation["responses"].values())
    return {key for key in found if isinstance(key, str)}


def _add_links(schema: dict[str, Any]) -> None:
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for method, path, status, target, parameters in LINKS:
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        links = response.setdefault("links", {})
        for other, operations in paths.items():
            if other != target and not other.startswith(target + "/"):
                continue
            for verb, operation in operations.items():
                if "operationId" in operation and (other, verb) != (path, method):
                    links[operation["operationId"]] = {
                        "operationId": operation["operationId"],
                        "parameters": parameters,
                    }
