"""Calling other services: one grpc.aio channel to the Envoy mesh listener, and typed stubs on it.

Envoy routes each call by its gRPC path (`/chirp.tweet.v1.TweetService/...`) to the owning service and applies
timeouts, retries, outlier detection and circuit breaking, so the channel does none of that itself (gRPC's own
retries are off, lest the two multiply). Every call made through `stub(...)` carries the current caller's
`x-chirp-user-id` and the trace context (`traceparent`), and a unary call gets a CLIENT span.

That is done by the stubs' callables, not by grpc.aio client interceptors: an intercepted call runs in a task
of its own and through the interceptors' call wrappers, which with OpenTelemetry's interceptor cost more CPU
than the RPC itself in the services that fan out to several others (py-spy under `make bench`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.kit import identity

__all__ = ["RECONNECT_BACKOFF", "mesh_channel", "stub"]

T = TypeVar("T")

Metadata = Sequence[tuple[str, str | bytes]]

_tracer = trace.get_tracer(__name__)


def mesh_channel(address: str, *, service: str) -> grpc.aio.Channel:
    """A channel to the mesh listener at `address` ("host:port") for calls made by `service`."""
    return grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.enable_retries", 0),
            ("grpc.primary_user_agent", f"chirp-{service}"),
            ("grpc.keepalive_time_ms", 30_000),
            *RECONNECT_BACKOFF,
        ],
    )


# After the mesh restarts, calls flow again within a second: grpc's default reconnect backoff grows to two
# minutes, which would keep a service failing long after the proxy next to it is back.
RECONNECT_BACKOFF: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


def stub(channel: grpc.aio.Channel, stub_class: Callable[[Any], T]) -> T:
    """`stub_class(channel)` whose calls carry the caller and the trace: `stub(channel, TweetServiceStub)`.

    `stub_class` is typed loosely on purpose: generated stubs annotate their channel as `grpc.Channel` although
    they work on a grpc.aio one.
    """
    return stub_class(_PropagatingChannel(channel))


def _outgoing_metadata(metadata: Metadata | None = None) -> list[tuple[str, str | bytes]]:
    """`metadata` plus the current caller's `x-chirp-user-id` (unless set explicitly) and the trace context."""
    out = list(metadata or ())
    user_id = identity.current_user_id()
    if user_id is not None and all(key != identity.USER_ID_HEADER for key, _ in out):
        out.append((identity.USER_ID_HEADER, str(user_id)))
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    out.extend(carrier.items())
    return out


class _PropagatingChannel:
    """What a generated stub needs of a channel, handing out callables that add `_outgoing_metadata`."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._channel = channel

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> _TracedUnary:
        return _TracedUnary(method, self._channel.unary_unary(method, *args, **kwargs))

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> _Propagating:
        return _Propagating(self._channel.unary_stream(method, *args, **kwargs))

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> _Propagating:
        return _Propagating(self._channel.stream_unary(method, *args, **kwargs))

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> _Propagating:
        return _Propagating(self._channel.stream_stream(method, *args, **kwargs))


class _TracedUnary:
    """A unary call: awaited inside a CLIENT span named for the method, which the callee's span continues."""

    __slots__ = ("_attributes", "_inner", "_method")

    def __init__(self, method: str, inner: grpc.aio.UnaryUnaryMultiCallable[Any, Any]) -> None:
        service, _, name = method.lstrip("/").partition("/")
        self._method = method
        self._inner = inner
        self._attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}

    async def __call__(self, request: Any, *, metadata: Metadata | None = None, **kwargs: Any) -> Any:
        span = _tracer.start_span(self._method, kind=SpanKind.CLIENT, attributes=self._attributes)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            return await self._inner(request, metadata=_outgoing_metadata(metadata), **kwargs)
        except grpc.aio.AioRpcError as exc:
            if span.is_recording():
                span.set_attribute("rpc.grpc.status_code", exc.code().value[0])
                span.set_status(Status(StatusCode.ERROR, exc.code().name))
            raise
        finally:
            otel_context.detach(token)
            span.end()


class _Propagating:
    """A streaming call: the metadata added, the call object itself answered (callers iterate or write it)."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __call__(self, *args: Any, metadata: Metadata | None = None, **kwargs: Any) -> Any:
        return self._inner(*args, metadata=_outgoing_metadata(metadata), **kwargs)
