from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.kit.servers import nats_server, valkey_server  # noqa: F401  (fixtures, found by name)

# Spans are recorded in memory so tests can check that trace context really travels (gRPC, NATS, outbox).
# The global provider can be set once per process; the kit's setup_tracing leaves an existing one alone.
_EXPORTER = InMemorySpanExporter()
if not isinstance(trace.get_tracer_provider(), TracerProvider):
    _provider = TracerProvider()
    _provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(_provider)
else:
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(_EXPORTER))  # type: ignore[attr-defined]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The finished spans of this test."""
    _EXPORTER.clear()
    yield _EXPORTER
