"""Structured logging: one JSON object per line on stderr (or readable text), with the current trace ids.

Log records carry what happened and ids, never payloads: the kit logs no request bodies and no metadata
values, and `extra` fields whose names look like secrets are replaced by "[redacted]".
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from opentelemetry import trace

__all__ = ["JsonFormatter", "TextFormatter", "setup_logging"]

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_SECRET_WORDS = ("authorization", "password", "secret", "token", "cookie")


def setup_logging(service: str, *, level: str = "INFO", fmt: Literal["json", "text"] = "json") -> None:
    """Send every logger's records to stderr in `fmt`, at `level`, tagged with `chirp-<service>`.

    Replaces the root handlers, so calling it again (tests) reconfigures rather than duplicates.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service) if fmt == "json" else TextFormatter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Per-message chatter from client libraries would drown the service's own lines at INFO.
    for noisy in ("nats", "grpc._cython"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _trace_ids() -> tuple[str, str] | None:
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key in _STANDARD or key.startswith("_"):
            continue
        secret = any(word in key.lower() for word in _SECRET_WORDS)
        fields[key] = "[redacted]" if secret else value
    return fields


class JsonFormatter(logging.Formatter):
    """time, level, service, logger, message, trace_id/span_id when a span is active, extras, exception."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = f"chirp-{service}"

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids = _trace_ids()
        if ids:
            out["trace_id"], out["span_id"] = ids
        out.update(_extras(record))
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`HH:MM:SS.mmm LEVEL chirp-<service> logger: message key=value [trace=…]`, for a terminal."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = f"chirp-{service}"

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        line = f"{when} {record.levelname:<7} {self._service} {record.name}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        ids = _trace_ids()
        if ids:
            line += f" [trace={ids[0]}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line
