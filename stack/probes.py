"""Readiness checks, one per kind of server, and a deadline-bound wait built on them.

A probe answers "ready yet?" once, quickly, and never raises for a server that is merely not up yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import grpc
import httpx
from grpc_health.v1 import health_pb2

from services.kit.clients import RECONNECT_BACKOFF

from .processes import Process

__all__ = ["GrpcHealth", "NotReady", "Probe", "grpc_serving", "http_ok", "jwks_fetched", "valkey_ping", "wait_ready"]

Probe = Callable[[], Awaitable[bool]]

_TIMEOUT = 1.0


class NotReady(RuntimeError):
    """A process exited or did not become ready in time; the message ends with its last log lines."""


async def http_ok(url: str) -> bool:
    """GET `url` answers 200."""
    try:
        async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def valkey_ping(port: int) -> bool:
    """Valkey answers PING with PONG (it answers -LOADING while replaying its append-only file)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), _TIMEOUT)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), _TIMEOUT) == b"+PONG\r\n"
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()


class GrpcHealth:
    """`grpc_serving` over one long-lived channel, for a probe asked every second (a new channel per question
    costs a connection and its HTTP/2 handshake each time). The channel reconnects by itself after a restart."""

    def __init__(self, port: int, service: str = "") -> None:
        self._request = health_pb2.HealthCheckRequest(service=service)
        self._channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=RECONNECT_BACKOFF)
        self._check = self._channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )

    async def __call__(self) -> bool:
        try:
            reply = await self._check(self._request, timeout=_TIMEOUT)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    async def close(self) -> None:
        await self._channel.close()


async def grpc_serving(port: int, service: str = "") -> bool:
    """grpc.health.v1 on `port` reports SERVING for `service` ("" is the whole server)."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        try:
            reply = await check(health_pb2.HealthCheckRequest(service=service), timeout=_TIMEOUT)
        except grpc.aio.AioRpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def jwks_fetched(admin_port: int) -> bool:
    """The edge has fetched the JWKS at least once (so tokens can be verified)."""
    url = f"http://127.0.0.1:{admin_port}/stats?filter=jwt_authn.jwks_fetch_success$"
    try:
        async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
            reply = await client.get(url)
    except httpx.HTTPError:
        return False
    for line in reply.text.splitlines():
        _, _, value = line.partition(": ")
        if value.strip().isdigit() and int(value) > 0:
            return True
    return False


async def wait_ready(what: str, probe: Probe, *, deadline: float, process: Process | None = None) -> float:
    """Poll `probe` until it passes; return the seconds waited.

    Raises NotReady when `process` exits first or the monotonic `deadline` passes, with the process's last
    log lines so the cause is on screen.
    """
    started = time.monotonic()
    pause = 0.02
    while True:
        if await probe():
            return time.monotonic() - started
        if process is not None and not process.running:
            raise NotReady(_explain(f"{what} exited with status {process.returncode}", process))
        if time.monotonic() >= deadline:
            raise NotReady(_explain(f"{what} was not ready after {time.monotonic() - started:.1f}s", process))
        # Readiness has no event to await; poll quickly at first, then back off.
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 0.25)


def _explain(headline: str, process: Process | None) -> str:
    if process is None:
        return headline
    tail = process.tail(25)
    shown = "\n".join(f"    {line}" for line in tail.splitlines()) or "    (nothing logged)"
    return f"{headline}; last lines of {process.log_path}:\n{shown}"
