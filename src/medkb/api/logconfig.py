"""The server's logs: one JSON object per line (``MEDKB_LOG_FORMAT=json``, the default of
``medkb serve``) or plain text (``text``), each carrying its request's id, tenant and route.

Every line passes through :func:`medkb.redact.redact` (credentials) and
:func:`medkb.search.pii.redact_pii` (e-mail addresses, phone numbers, ID and card
numbers), message and traceback alike, so neither reaches a log collector.

The request facts live in a context variable the middleware sets for each request
(:func:`begin_request`); the API-key dependency adds the tenant (:func:`set_tenant`).
Records logged while a request is handled, in any thread it uses, carry them.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from medkb.redact import redact
from medkb.search.pii import redact_pii

LogFormat = Literal["json", "text"]

#: The facts of the request being handled (a dict shared with the threads it uses).
_REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("medkb_request", default=None)

#: Fields a record may carry (``extra={...}``) into its JSON line.
FIELDS = ("request_id", "tenant", "route", "method", "status", "duration_ms")

_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access")


def begin_request(request_id: str) -> dict[str, Any]:
    """Start a request's log context; the returned dict is filled in as it goes on."""
    facts: dict[str, Any] = {"request_id": request_id}
    _REQUEST.set(facts)
    return facts


def set_tenant(tenant_id: str) -> None:
    """Name the tenant of the request being handled (after its key is checked)."""
    facts = _REQUEST.get()
    if facts is not None:
        facts["tenant"] = tenant_id


def scrub(text: str) -> str:
    """``text`` without credentials or personal identifiers."""
    return redact_pii(redact(text))


class _Formatter(logging.Formatter):
    def facts(self, record: logging.LogRecord) -> dict[str, Any]:
        """The request facts of ``record``: its own ``extra`` first, then the context."""
        found = dict(_REQUEST.get() or {})
        found.update({name: getattr(record, name) for name in FIELDS if hasattr(record, name)})
        return found

    def details(self, record: logging.LogRecord) -> str | None:
        if record.exc_info:
            return scrub(self.formatException(record.exc_info))
        return scrub(record.stack_info) if record.stack_info else None


class JsonFormatter(_Formatter):
    """One JSON object per record: time, level, logger, message and the request facts."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            **{name: None for name in FIELDS},
            **self.facts(record),
        }
        details = self.details(record)
        if details:
            line["exception"] = details
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(_Formatter):
    """``time level logger [request_id tenant] message``, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        facts = self.facts(record)
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        tags = " ".join(str(facts[k]) for k in ("request_id", "tenant") if facts.get(k))
        text = f"{when} {record.levelname} {record.name} [{tags}] {scrub(record.getMessage())}"
        details = self.details(record)
        return f"{text}\n{details}" if details else text


def configure(fmt: LogFormat, *, level: int = logging.INFO) -> None:
    """Send every log record of this process to stderr in ``fmt``, Uvicorn's included."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # medkb.api.access logs each request
