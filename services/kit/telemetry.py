"""Tracing and metrics set-up, once per process.

Spans are always created and propagated (W3C `traceparent`, or whatever `OTEL_PROPAGATORS` says), so trace ids
show in logs and travel through gRPC metadata and NATS headers even when nothing collects them. They are
exported over OTLP/gRPC only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set; the exporter
reads the other standard `OTEL_EXPORTER_OTLP_*` variables itself.

Without an exporter spans are not *recorded* (sampled out, unless `OTEL_TRACES_SAMPLER` says otherwise): a
recorded span nobody collects costs attributes, events and exception formatting on every call — a tenth of a
service's CPU under load — for nothing. Their ids are still made and propagated. With an exporter the SDK's
default sampler (`parentbased_always_on`) or `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` decide.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from prometheus_client import start_http_server

from services.kit.config import StartupError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

__all__ = ["setup_tracing", "start_metrics_server"]

log = logging.getLogger(__name__)


def setup_tracing(service: str) -> TracerProvider | None:
    """Install the process's TracerProvider with service.name `chirp-<service>`; returns it (None if one exists).

    Shut the returned provider down at exit so batched spans are flushed.
    """
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return None  # a test or an embedding process already chose one; the global can only be set once
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: f"chirp-{service}"}
    exporting = any(os.environ.get(v) for v in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    sampler = None if exporting or os.environ.get("OTEL_TRACES_SAMPLER") else ParentBased(ALWAYS_OFF)
    provider = TracerProvider(resource=Resource.create(attributes), sampler=sampler)
    if exporting:
        # Imported here: the exporter pulls in its own gRPC channel machinery only a collector needs.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        log.info("exporting traces over OTLP")
    trace.set_tracer_provider(provider)
    return provider


def start_metrics_server(port: int) -> WSGIServer | None:
    """Serve Prometheus `/metrics` on 127.0.0.1:`port` from a thread; 0 means off. Returns the server to close."""
    if port == 0:
        return None
    try:
        server, _thread = start_http_server(port, addr="127.0.0.1")
    except OSError as exc:
        raise StartupError(f"CHIRP_METRICS_PORT={port}: cannot listen: {exc.strerror}") from exc
    log.info("metrics on http://127.0.0.1:%d/metrics", port)
    return server
