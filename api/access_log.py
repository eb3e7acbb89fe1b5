"""One log line per request (logger `comptoir.access`) and the request ID that ties a client's
report to it. Nothing secret is ever logged: no header but the request ID, no variables, no
token (routes that carry one in their path are logged by their template)."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("comptoir.access")

# An incoming ID is kept when it is a plain token (a proxy's or a client's UUID, say): anything
# else could forge log lines or carry a secret, so a fresh one replaces it.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
RECORD_KEY = "comptoir.request"


@dataclass
class RequestRecord:
    """What the layers below learn about a request and the access line reports."""

    request_id: str
    method: str
    route: str = ""
    status: int = 0
    duration_ms: float = 0.0
    user_id: int | None = None
    operation: str | None = None
    error_codes: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """`ok`, or the error codes of the answer (else the HTTP status, e.g. `HTTP_413`)."""
        if self.error_codes:
            return ",".join(dict.fromkeys(self.error_codes))
        return "ok" if self.status < 400 else f"HTTP_{self.status}"

    def fields(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 2),
            "user_id": self.user_id,
            "operation": self.operation,
            "outcome": self.outcome,
        }


def record_of(connection: HTTPConnection) -> RequestRecord | None:
    """The record of the request being served (None outside the access-log middleware)."""
    record = connection.scope.get(RECORD_KEY)
    return record if isinstance(record, RequestRecord) else None


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = str(value.decode("latin-1"))
            if SANE_REQUEST_ID.match(candidate):
                return candidate
            break
    return secrets.token_hex(16)


def _route(scope: Scope) -> str:
    # The matched route's template: `/files/{token}`, never the token itself.
    route = scope.get("route")
    return str(getattr(route, "path", "")) or "(no route)"


class AccessLog:
    """Gives each request an ID (echoed in `X-Request-ID`), times it and writes its line once
    it is answered; `observers` (the metrics) see the same record."""

    def __init__(
        self, app: ASGIApp, *, observers: Sequence[Callable[[RequestRecord], None]] = ()
    ) -> None:
        self.app = app
        self.observers = observers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(request_id=_request_id(scope), method=scope["method"])
        scope[RECORD_KEY] = record
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = record.request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            record.status = record.status or 500
            raise
        finally:
            record.duration_ms = (time.perf_counter() - started) * 1000
            record.route = _route(scope)
            fields = record.fields()
            log.info(
                "%s %s %s %s %s %.1f ms request_id=%s user_id=%s",
                record.method,
                record.route,
                record.status,
                record.operation or "-",
                record.outcome,
                record.duration_ms,
                record.request_id,
                record.user_id if record.user_id is not None else "-",
                extra={"access": fields},
            )
            for observe in self.observers:
                observe(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the access fields if any, and
    the traceback of a bug."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            line.update(access)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(*, level: str, as_json: bool) -> dict[str, Any]:
    """A `logging.config.dictConfig` for a process (uvicorn's `log_config`): one handler on
    stderr, JSON or plain text. uvicorn's own access log is replaced by `comptoir.access`."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if as_json
        else {"format": "%(asctime)s %(levelname)s %(name)s : %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }
