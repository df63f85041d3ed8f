"""A stand-in service process for the stack tests: `python -m tests.stack.fake_service`.

It reads the same environment as a real service (CHIRP_GRPC_HOST, CHIRP_GRPC_PORT, CHIRP_DATA_DIR), serves
grpc.health.v1 (SERVING once started) and the test RPCs of `tests.stack.protos`, encoding the few tiny
messages by hand so that no generated code is needed. It exits cleanly on SIGTERM.

    GetJwks               the JWKS in <CHIRP_DATA_DIR>/fake_jwks.json, as an HttpBody
    CreateAccount         echoes its request
    PostTweet, GetMe      answer Echo{user_id: <x-chirp-user-id metadata or "">}
    GetTweet              fails NOT_FOUND "tweet not found"
    StreamNotifications   streams Echo{text: "1"}, Echo{text: "2"}, Echo{text: "3"}
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.kit import registry
from tests.stack.protos import FAKE_SERVICE

__all__ = ["main"]

USER_ID_HEADER = "x-chirp-user-id"


def _field(number: int, value: bytes) -> bytes:
    # A length-delimited protobuf field; every field of the test messages is a string or bytes.
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _echo(*, text: str = "", user_id: str = "") -> bytes:
    return _field(1, text.encode()) + _field(2, user_id.encode())


def _user_id(context: grpc.aio.ServicerContext[bytes, bytes]) -> str:
    return next((str(v) for k, v in context.invocation_metadata() or () if k == USER_ID_HEADER), "")


def _handlers(data_dir: Path) -> grpc.GenericRpcHandler:
    async def get_jwks(_: bytes, __: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        jwks = (data_dir / "fake_jwks.json").read_bytes()
        return _field(1, b"application/json") + _field(2, jwks)

    async def echo(request: bytes, _: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    async def whoami(_: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return _echo(user_id=_user_id(context))

    async def get_tweet(_: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        await context.abort(grpc.StatusCode.NOT_FOUND, "tweet not found")
        raise AssertionError("abort returned")

    async def stream(_: bytes, __: grpc.aio.ServicerContext[bytes, bytes]) -> AsyncIterator[bytes]:
        for n in (1, 2, 3):
            yield _echo(text=str(n))

    unary: dict[str, Callable[[bytes, grpc.aio.ServicerContext[bytes, bytes]], Awaitable[bytes]]] = {
        "GetJwks": get_jwks,
        "CreateAccount": echo,
        "PostTweet": whoami,
        "GetMe": whoami,
        "GetTweet": get_tweet,
        "Search": echo,
    }
    methods: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
        name: grpc.unary_unary_rpc_method_handler(fn) for name, fn in unary.items()
    }
    methods["StreamNotifications"] = grpc.unary_stream_rpc_method_handler(stream)
    return grpc.method_handlers_generic_handler(registry.entry(FAKE_SERVICE).proto, methods)


async def main() -> None:
    host = os.environ["CHIRP_GRPC_HOST"]
    port = int(os.environ["CHIRP_GRPC_PORT"])
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_handlers(Path(os.environ["CHIRP_DATA_DIR"])),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_insecure_port(f"{host}:{port}")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1)


if __name__ == "__main__":
    asyncio.run(main())
