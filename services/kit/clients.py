"""Calling other services: one grpc.aio channel to the Envoy mesh listener, and typed stubs on it.

Envoy routes each call by its gRPC path (`/chirp.tweet.v1.TweetService/...`) to the owning service and applies
timeouts, retries, outlier detection and circuit breaking, so the channel does none of that itself (gRPC's own
retries are off, lest the two multiply). The channel's interceptors start a client span whose `traceparent`
travels in the metadata, and forward the current caller's `x-chirp-user-id`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from services.kit import identity

__all__ = ["identity_interceptors", "mesh_channel", "stub"]

T = TypeVar("T")


def mesh_channel(address: str, *, service: str) -> grpc.aio.Channel:
    """A channel to the mesh listener at `address` ("host:port") for calls made by `service`."""
    tracing: list[grpc.aio.ClientInterceptor] = aio_client_interceptors()  # type: ignore[no-untyped-call]
    interceptors = [*tracing, *identity_interceptors()]
    return grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.enable_retries", 0),
            ("grpc.primary_user_agent", f"chirp-{service}"),
            ("grpc.keepalive_time_ms", 30_000),
        ],
        interceptors=interceptors,
    )


def stub(channel: grpc.aio.Channel, stub_class: Callable[[Any], T]) -> T:
    """`stub_class(channel)`, typed: `stub(channel, TweetServiceStub).GetTweet(...)`.

    `stub_class` is typed loosely on purpose: generated stubs annotate their channel as `grpc.Channel` although
    they work on a grpc.aio one.
    """
    return stub_class(channel)


def _with_identity(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    user_id = identity.current_user_id()
    if user_id is None:
        return details
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    if metadata.get_all(identity.USER_ID_HEADER):
        return details  # the caller chose explicitly
    metadata.add(identity.USER_ID_HEADER, str(user_id))
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


# grpc.aio files each interceptor under the first call kind it implements, so one class per kind.
class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(_with_identity(client_call_details), request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(_with_identity(client_call_details), request)


class _StreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        return await continuation(_with_identity(client_call_details), request_iterator)


class _StreamStream(grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        return await continuation(_with_identity(client_call_details), request_iterator)


def identity_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """Client interceptors that add `x-chirp-user-id` of `current_user_id()` to every call."""
    return [_UnaryUnary(), _UnaryStream(), _StreamUnary(), _StreamStream()]
