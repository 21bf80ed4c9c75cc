"""Log lines: JSON (one object per line) or text, for every logger, uvicorn's access log too.

Each line written while a request runs carries its request id, operation, duration so far and
error codes (from `server.request_scope`). Secrets stay out: the access line drops the query
string (a GET may carry variables), and botocore, boto3 and urllib3 never log below INFO
(botocore's DEBUG lines hold request bodies, password hashes and token hashes included).
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from server.request_scope import current_scope

LogFormat = Literal["json", "text"]
QUIET_BELOW_INFO = ("botocore", "boto3", "urllib3", "s3transfer", "moto", "opentelemetry")
"""Loggers whose DEBUG lines carry request or response bodies."""


class RequestFields(logging.Filter):
    """Adds the current request's fields to a record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = current_scope()
        record.request_id = scope.request_id if scope else None
        record.operation = scope.operation_name if scope else None
        record.operation_type = scope.operation_type if scope else None
        record.duration_ms = round(scope.duration_seconds * 1000, 1) if scope else None
        record.error_codes = list(scope.error_codes) if scope else None
        return True


class AccessLine(logging.Filter):
    """uvicorn's access record `(client, method, path?query, http version, status)`: the
    query string is dropped and the parts become fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            path = str(path).split("?", 1)[0]
            record.args = (client, method, path, version, status)
            record.client = client
            record.method = method
            record.path = path
            record.status = status
        return True


_FIELDS = ("request_id", "operation_type", "operation", "duration_ms", "error_codes")
_ACCESS_FIELDS = ("client", "method", "path", "status")
_EXTRA_SKIP = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "color_message", *_FIELDS, *_ACCESS_FIELDS}
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for name in (*_FIELDS, *_ACCESS_FIELDS):
            value = getattr(record, name, None)
            if value is not None and value != []:
                line[name] = value
        for name, value in record.__dict__.items():  # `extra=` fields, e.g. audit events
            if name not in _EXTRA_SKIP and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id is None:
            return text
        parts = [f"request={request_id}"]
        operation = getattr(record, "operation", None)
        duration_ms = getattr(record, "duration_ms", None)
        error_codes = getattr(record, "error_codes", None)
        if operation:
            parts.append(f"operation={operation}")
        if duration_ms is not None:
            parts.append(f"duration_ms={duration_ms}")
        if error_codes:
            parts.append("errors=" + ",".join(error_codes))
        return f"{text} [{' '.join(parts)}]"


def logging_config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary, also given to uvicorn as its `log_config`
    (so every worker process configures itself the same way)."""
    level = level.upper()
    quiet = "INFO" if logging.getLevelName(level) == logging.DEBUG else level
    formatter = "server.logs.JsonFormatter" if log_format == "json" else "server.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request": {"()": "server.logs.RequestFields"},
            "access": {"()": "server.logs.AccessLine"},
        },
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
            "uvicorn.access": {"level": "INFO", "filters": ["access"], "propagate": True},
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
