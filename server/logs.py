"""Log lines: JSON (one object per line) or text, for every logger.

Each line written while a request runs carries its request id, operation, duration so far and
error codes (from `server.request_scope`). The access line is the app's (`server.access_log`,
in the same layout); uvicorn's, where uvicorn writes one anyway, is given the same fields.
Secrets stay out: access lines drop the query string (a GET may carry variables), and
botocore, boto3 and urllib3 never log below INFO (botocore's DEBUG lines hold request bodies,
password hashes and token hashes included).
"""

from __future__ import annotations

import logging
import logging.config
import time
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from server.request_scope import RequestScope, current_scope

LogFormat = Literal["json", "text"]
_FIELDS = ("request_id", "operation_type", "operation", "duration_ms", "error_codes")
"""What `request_fields` adds to every line."""
QUIET_BELOW_INFO = ("botocore", "boto3", "urllib3", "s3transfer", "moto", "opentelemetry")
"""Loggers whose DEBUG lines carry request or response bodies."""


def request_fields(scope: RequestScope | None) -> dict[str, Any]:
    """The fields a line written during the request `scope` carries (None outside one)."""
    if scope is None:
        return dict.fromkeys(_FIELDS)
    return {
        "request_id": scope.request_id,
        "operation_type": scope.operation_type,
        "operation": scope.operation_name,
        "duration_ms": round(scope.duration_seconds * 1000, 1),
        "error_codes": list(scope.error_codes),
    }


class RequestFields(logging.Filter):
    """Adds the current request's fields to a record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.update(request_fields(current_scope()))
        return True


_ACCESS_FIELDS = ("client", "method", "path", "status")
_EXTRA_SKIP = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "color_message", *_FIELDS, *_ACCESS_FIELDS}
)


def json_head(
    created: float, level: str, logger: str, pid: int | None, message: str
) -> dict[str, Any]:
    """The fields every JSON line starts with."""
    return {
        "time": json_time(created),
        "level": level,
        "logger": logger,
        "pid": pid,
        "message": message,
    }


def add_fields(line: dict[str, Any], fields: dict[str, Any]) -> None:
    """Adds the `fields` that hold something (not None, not an empty list) to a JSON line."""
    for name, value in fields.items():
        if value is not None and value != []:
            line[name] = value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = json_head(
            record.created, record.levelname, record.name, record.process, record.getMessage()
        )
        add_fields(
            line, {name: getattr(record, name, None) for name in (*_FIELDS, *_ACCESS_FIELDS)}
        )
        for name, value in record.__dict__.items():  # `extra=` fields, e.g. audit events
            if name not in _EXTRA_SKIP and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def json_time(created: float) -> str:
    """A JSON line's `time`: UTC, ISO 8601, milliseconds."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


_last_second: tuple[int, str] = (-1, "")


def text_time(created: float, msecs: float | None = None) -> str:
    """A text line's time, in `logging`'s default layout (local time, `,` milliseconds;
    `msecs` as a log record has them, else from `created`). The seconds are formatted once per
    second: most lines share them with the line before."""
    global _last_second
    second = int(created)
    last, formatted = _last_second
    if second != last:
        formatted = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        _last_second = (second, formatted)
    if msecs is None:
        msecs = (created - second) * 1000
    return f"{formatted},{int(msecs):03d}"


def text_suffix(fields: dict[str, Any]) -> str:
    """A text line's request fields, ` [request=... operation=... ...]` ("" outside one)."""
    request_id = fields.get("request_id")
    if request_id is None:
        return ""
    parts = [f"request={request_id}"]
    operation = fields.get("operation")
    duration_ms = fields.get("duration_ms")
    error_codes = fields.get("error_codes")
    if operation:
        parts.append(f"operation={operation}")
    if duration_ms is not None:
        parts.append(f"duration_ms={duration_ms}")
    if error_codes:
        parts.append("errors=" + ",".join(error_codes))
    return f" [{' '.join(parts)}]"


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return text_time(record.created, record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record) + text_suffix(record.__dict__)


def logging_config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary, also given to uvicorn as its `log_config`
    (so every worker process configures itself the same way)."""
    level = level.upper()
    quiet = "INFO" if logging.getLevelName(level) == logging.DEBUG else level
    formatter = "server.logs.JsonFormatter" if log_format == "json" else "server.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "server.logs.RequestFields"}},
        "formatters": {"line": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["request"],
            },
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"level": level},
            # The app writes the access line (server/access_log.py), so uvicorn's is off here.
            # uvicorn's own `access_log=False` is not enough: a worker process (`serve
            # --workers`, `uvicorn --factory`, gunicorn) applies this configuration again when
            # it builds the app, after uvicorn applied that switch.
            "uvicorn.access": {"handlers": [], "level": "INFO", "propagate": False},
            **{name: {"level": quiet} for name in QUIET_BELOW_INFO},
        },
    }


def skip_unused_record_fields() -> None:
    """No log record looks up its caller's file, line and function, or its thread and
    multiprocessing names: no line here prints them, and finding the caller walks the stack
    for every record, access lines included (the switches of the logging HOWTO's
    "Optimization" section). The process id stays: JSON lines carry it."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


def configure_logging(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    skip_unused_record_fields()
    config = logging_config(log_format, level)
    logging.config.dictConfig(config)
    return config
