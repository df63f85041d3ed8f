"""Helpers for kit tests: an in-process service made of plain handler functions, served by `serving`.

Handlers are registered with grpc's generic handlers on well-known-type messages (or messages built at test
time), so these tests need none of the generated chirp protos.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from services.kit.config import KitSettings
from services.kit.server import Runtime, serving

__all__ = ["SERVICE", "call", "eventually", "running", "settings", "stream", "unary", "unary_stream"]

SERVICE = "kittest.v1.TestService"
M = TypeVar("M", bound=Message)


def settings(tmp_path: Path, **overrides: Any) -> KitSettings:
    values: dict[str, Any] = {"grpc_port": 0, "data_dir": tmp_path / "data", "shutdown_grace": 0.5, **overrides}
    return KitSettings(**values)


def unary(fn: Callable[..., Any], request: type[Message], response: type[Message]) -> grpc.RpcMethodHandler[Any, Any]:
    return grpc.unary_unary_rpc_method_handler(
        fn, request_deserializer=request.FromString, response_serializer=response.SerializeToString
    )


def unary_stream(
    fn: Callable[..., Any], request: type[Message], response: type[Message]
) -> grpc.RpcMethodHandler[Any, Any]:
    return grpc.unary_stream_rpc_method_handler(
        fn, request_deserializer=request.FromString, response_serializer=response.SerializeToString
    )


@asynccontextmanager
async def running(
    tmp_path: Path,
    methods: dict[str, grpc.RpcMethodHandler[Any, Any]],
    *,
    service: str = "test",
    setup: Callable[[Runtime[KitSettings]], Awaitable[None]] | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[Runtime[KitSettings], grpc.aio.Channel]]:
    """Serve `methods` under SERVICE with the kit's full interceptor chain; yields the runtime and a channel."""

    async def wire(rt: Runtime[KitSettings]) -> None:
        rt.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, methods),))
        rt.add_service(SERVICE)
        if setup is not None:
            await setup(rt)

    async with serving(service, settings(tmp_path, **overrides), wire) as rt:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.port}") as channel:
            yield rt, channel


async def call(
    channel: grpc.aio.Channel,
    method: str,
    request: Message,
    response: type[M],
    *,
    metadata: tuple[tuple[str, str], ...] = (),
) -> M:
    stub = channel.unary_unary(
        f"/{SERVICE}/{method}",
        request_serializer=type(request).SerializeToString,
        response_deserializer=response.FromString,
    )
    result: M = await stub(request, metadata=metadata, timeout=10)
    return result


def stream(channel: grpc.aio.Channel, method: str, request: Message, response: type[M]) -> Any:
    return channel.unary_stream(
        f"/{SERVICE}/{method}",
        request_serializer=type(request).SerializeToString,
        response_deserializer=response.FromString,
    )(request, timeout=10)


async def eventually(check: Callable[[], Any], *, within: float = 5.0, interval: float = 0.01) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last result: {result!r})")
        await asyncio.sleep(interval)
