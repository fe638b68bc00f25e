"""One JSON error shape for every error the API returns:

    {"error": {"type": "not_found", "message": "...", "request_id": "..."}}

``MedkbError`` subclasses map to their ``http_status``; framework errors (404 for an
unknown path, 405, 422 validation) and unexpected ones (500) take the same shape.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from medkb.errors import MedkbError
from medkb.redact import redact
from medkb.resilience.breaker import CircuitOpen

log = logging.getLogger("medkb.api")

#: ``type`` of framework errors, by status.
_STATUS_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the edge itself raises (auth, scopes, rate limits, idempotency)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.headers = (
            status,
            kind or _STATUS_TYPES.get(status, "error"),
            headers,
        )


def snake(name: str) -> str:
    """``NotFound`` → ``not_found``: the ``type`` of a medkb error."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def request_id(request: Request) -> str | None:
    """The id the request-id middleware gave this request."""
    return getattr(request.state, "request_id", None)


def error_response(
    request: Request, status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error shape."""
    body = {"error": {"type": kind, "message": message, "request_id": request_id(request)}}
    response = JSONResponse(body, status_code=status, headers=headers)
    rid = request_id(request)
    if rid:
        response.headers["X-Request-ID"] = rid
    return response


def _medkb(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MedkbError)
    request.state.error_kind = snake(type(exc).__name__)
    if exc.http_status >= 500:
        log.error("request %s failed: %s", request_id(request), exc)
    return error_response(request, exc.http_status, snake(type(exc).__name__), redact(str(exc)))


def _circuit_open(request: Request, exc: Exception) -> JSONResponse:
    """503 at once, naming the dependency and when it is tried again (``Retry-After``)."""
    assert isinstance(exc, CircuitOpen)
    request.state.error_kind = "circuit_open"
    wait = max(math.ceil(exc.retry_after_s), 1)
    message = (
        f"The {exc.name} is unavailable: it failed repeatedly, so medkb stopped calling it "
        f"(circuit open) and tries it again in {wait} s. Retry this request after that; "
        "GET /health/ready shows each dependency's circuit."
    )
    return error_response(request, 503, "circuit_open", message, {"Retry-After": str(wait)})


def _api(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    request.state.error_kind = exc.kind
    return error_response(request, exc.status, exc.kind, str(exc), exc.headers)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = _STATUS_TYPES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"No route {request.url.path!r}; GET /docs lists the routes."
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path!r}; see /docs."
    request.state.error_kind = kind
    headers = dict(exc.headers) if exc.headers else None
    return error_response(request, exc.status_code, kind, message, headers)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(_problem(e) for e in exc.errors())
    request.state.error_kind = "validation_error"
    return error_response(request, 422, "validation_error", f"Invalid request: {problems}.")


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where or 'body'}: {error.get('msg', 'invalid')}"


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request %s failed", request_id(request), exc_info=exc)
    request.state.error_kind = "internal_error"
    return error_response(
        request,
        500,
        "internal_error",
        "The server failed to handle this request; report the request_id to the operator.",
    )


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""
    app.add_exception_handler(MedkbError, _medkb)
    app.add_exception_handler(CircuitOpen, _circuit_open)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)


#: OpenAPI description of the error shape, used by every route's error responses.
ERROR_SCHEMA = {
    "description": "An error, in the one error shape.",
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorResponse"},
            "example": {
                "error": {
                    "type": "not_found",
                    "message": "No Q&A pair 'qa-0123'. 'medkb query' or 'medkb stats' lists ids.",
                    "request_id": "5f0c8a9e2b6d4f1e",
                }
            },
        }
    },
}
