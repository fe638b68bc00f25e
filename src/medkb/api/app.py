"""The FastAPI app factory: routes, the one error shape, request ids, metrics, limits.

``create_app(settings)`` builds the knowledge base at startup (``medkb.app.build``) and
closes it at shutdown, after in-flight background jobs finish.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from medkb import __version__, telemetry
from medkb.api import errors, logconfig, tracing
from medkb.api.routes import admin, documents, events, export, health, pairs, query
from medkb.api.schemas import ErrorResponse
from medkb.api.service import Service
from medkb.app import KnowledgeBase, build
from medkb.config import Settings

#: One line per request: method, route template, status, duration (never the query string).
access = logging.getLogger("medkb.api.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_UPLOAD_PATH = "/v1/documents"


def create_app(
    settings: Settings,
    *,
    auth: bool = True,
    kb: KnowledgeBase | None = None,
    redis_prefix: str = "medkb:",
) -> FastAPI:
    """The medkb HTTP API over the knowledge base ``settings`` describe.

    Args:
        settings: Read once by the caller (``medkb serve``) and passed down.
        auth: False only for the local ``--no-auth`` mode (every request acts as
            ``settings.tenant`` with every scope).
        kb: An already open knowledge base to serve (tests); built from ``settings``
            at startup otherwise, and closed at shutdown either way.
        redis_prefix: Prefix of every Redis key (rate limits, idempotency keys).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = Service(kb or build(settings), auth=auth, redis_prefix=redis_prefix)
        svc.jobs.resume()
        app.state.service = svc
        try:
            yield
        finally:
            svc.close()
            tracing.flush()

    app = FastAPI(
        title="medkb",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    errors.install(app)
    for module in (pairs, query, documents, admin, events, export, health):
        app.include_router(module.router)
    app.middleware("http")(_body_limit(settings))
    app.middleware("http")(_observe)
    _allow_origins(app, settings)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _allow_origins(app: FastAPI, settings: Settings) -> None:
    """Let the browsers of ``MEDKB_API__CORS_ORIGINS`` call the API (the web app of
    ``medkb ui`` is served from another origin than the API). Keys travel in headers, not
    cookies, so credentials are not allowed; added last, so it also answers preflights."""
    origins = settings.api.cors_origin_list()
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=[
            "Authorization",
            "X-API-Key",
            "Content-Type",
            "Idempotency-Key",
            "X-Request-ID",
        ],
        expose_headers=["X-Request-ID", "Retry-After", "Idempotent-Replayed"],
        max_age=600,
    )


async def _observe(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Give the request an id (or keep the caller's), count it, time it and log it."""
    given = request.headers.get("X-Request-ID", "")
    request.state.request_id = given if _REQUEST_ID.match(given) else secrets.token_hex(8)
    facts = logconfig.begin_request(request.state.request_id)
    started = time.perf_counter()
    with telemetry.span(
        f"{request.method} request",
        **{"http.request.method": request.method, "medkb.request_id": request.state.request_id},
    ) as current:
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        current.update_name(f"{request.method} {route}")  # the template: no ids in names
        current.set_attribute("http.route", route)
        current.set_attribute("http.response.status_code", response.status_code)
        if facts.get("tenant"):
            current.set_attribute("medkb.tenant", facts["tenant"])
    seconds = time.perf_counter() - started
    response.headers["X-Request-ID"] = request.state.request_id
    facts.update(route=route, method=request.method)
    svc = getattr(request.app.state, "service", None)
    if svc is not None:
        svc.metrics.observe_request(
            method=request.method,
            route=route,
            status=response.status_code,
            seconds=seconds,
            error_kind=getattr(request.state, "error_kind", None),
        )
    quiet = route.startswith("/health") or route == "/metrics"  # probes, scrapes
    access.log(
        logging.DEBUG if quiet and response.status_code < 400 else logging.INFO,
        "%s %s %d",
        request.method,
        route,
        response.status_code,
        extra={"status": response.status_code, "duration_ms": round(seconds * 1000, 2)},
    )
    return response


def _body_limit(
    settings: Settings,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    json_limit = settings.api.max_body_kb << 10
    upload_limit = (settings.api.max_upload_mb << 20) * 20  # several files per upload

    async def limit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Refuse bodies over the limit before reading them (413)."""
        cap = upload_limit if request.url.path == _UPLOAD_PATH else json_limit
        declared = request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            request.state.request_id = getattr(
                request.state, "request_id", None
            ) or secrets.token_hex(8)
            request.state.error_kind = "payload_too_large"
            return errors.error_response(
                request,
                413,
                "payload_too_large",
                f"The request body is over {cap >> 10} KB; send less "
                "(MEDKB_API__MAX_BODY_KB / MEDKB_API__MAX_UPLOAD_MB set the limits).",
            )
        return await call_next(request)

    return limit


def _openapi(app: FastAPI) -> dict[str, object]:
    """The schema, with the error shape as a component every error response refers to."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorResponse"] = ErrorResponse.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components.update(components["ErrorResponse"].pop("$defs", {}))
    for path in schema["paths"].values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in ("4XX", "5XX"):
                responses.setdefault(status, errors.ERROR_SCHEMA)
    app.openapi_schema = schema
    return schema


_DESCRIPTION = """A medical Q&A knowledge base: hybrid search, graph traversal and cited
answers. Every `/v1` route needs an API key (`Authorization: Bearer mk_...` or
`X-API-Key`), whose tenant decides which data the request sees; scopes `query`, `write`,
`admin`. Every error has the shape `{"error": {"type", "message", "request_id"}}`. POST
routes honour `Idempotency-Key`. See docs/api.md."""
