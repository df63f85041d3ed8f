"""Structured log lines: JSON fields, trace ids of the active span, secrets in extras redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace

from services.kit.logs import JsonFormatter, TextFormatter, setup_logging


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    log = logging.getLogger("chirp.test.logs")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log, out, handler
    log.removeHandler(handler)


def test_json_line_has_the_fields_and_the_trace(logger: tuple[logging.Logger, io.StringIO, logging.Handler]) -> None:
    log, out, handler = logger
    handler.setFormatter(JsonFormatter("tweet"))
    log.info("posted %s", 42)
    with trace.get_tracer("test").start_as_current_span("rpc") as span:
        log.warning("inside", extra={"tweet_id": 7, "authorization": "Bearer abc", "refresh_token": "r"})
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "posted 42"
    assert (first["level"], first["service"], first["logger"]) == ("INFO", "chirp-tweet", "chirp.test.logs")
    assert first["time"].endswith("+00:00") and "trace_id" not in first
    ctx = span.get_span_context()
    assert (second["trace_id"], second["span_id"]) == (format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"))
    assert second["tweet_id"] == 7
    assert second["authorization"] == "[redacted]" and second["refresh_token"] == "[redacted]"
    assert "abc" not in out.getvalue()


def test_exceptions_are_one_json_line(logger: tuple[logging.Logger, io.StringIO, logging.Handler]) -> None:
    log, out, handler = logger
    handler.setFormatter(JsonFormatter("tweet"))
    try:
        raise KeyError("k")
    except KeyError:
        log.exception("failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert "KeyError" in json.loads(lines[0])["exception"]


def test_text_format_is_readable(logger: tuple[logging.Logger, io.StringIO, logging.Handler]) -> None:
    log, out, handler = logger
    handler.setFormatter(TextFormatter("user"))
    log.info("hello %s", "there", extra={"user_id": 3, "password": "p"})
    line = out.getvalue().strip()
    assert " INFO    chirp-user chirp.test.logs: hello there" in line
    assert "user_id=3" in line and "password=[redacted]" in line


def test_setup_logging_sets_level_and_one_handler() -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        setup_logging("tweet", level="WARNING", fmt="text")
        setup_logging("tweet", level="DEBUG", fmt="json")  # again: reconfigures, does not add
        assert len(root.handlers) == 1 and isinstance(root.handlers[0].formatter, JsonFormatter)
        assert root.level == logging.DEBUG
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
