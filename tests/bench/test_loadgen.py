"""The load generator against a real local HTTP server of known behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio
from aiohttp import web

from bench.loadgen import Mix, run_open_loop, schedule

SERVICE_MS = 20


@pytest_asyncio.fixture(loop_scope="session")
async def one_at_a_time_server() -> AsyncIterator[str]:
    """Answers one request at a time, each taking SERVICE_MS: a capacity of 50 requests per second."""
    lock = asyncio.Lock()

    async def handle(request: web.Request) -> web.Response:
        async with lock:
            await asyncio.sleep(SERVICE_MS / 1000)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()


def _get(url: str) -> Mix:
    async def action(session: aiohttp.ClientSession) -> int:
        async with session.get(url) as answer:
            await answer.read()
            return answer.status

    return Mix([("get", 1.0, action)])


def test_the_schedule_is_evenly_spaced() -> None:
    assert schedule(4, 1.0) == [0.0, 0.25, 0.5, 0.75]


async def test_below_capacity_latency_is_the_service_time(one_at_a_time_server: str) -> None:
    async with aiohttp.ClientSession() as session:
        result = await run_open_loop(session, _get(one_at_a_time_server), rate=20, duration_s=1.0)
    stats = result.summary()["endpoints"]["get"]  # type: ignore[index]
    assert stats["requests"] == 20 and stats["errors"] == 0
    assert SERVICE_MS <= stats["p50_ms"] < SERVICE_MS * 5


async def test_overload_shows_up_as_queueing_not_as_a_slower_arrival_rate(one_at_a_time_server: str) -> None:
    # Offered 100/s against a capacity of 50/s for one second: arrivals keep coming on schedule, so the queue
    # grows to ~50 requests and the last ones wait ~1 s. A closed-loop client would report ~20 ms instead.
    async with aiohttp.ClientSession() as session:
        result = await run_open_loop(session, _get(one_at_a_time_server), rate=100, duration_s=1.0)
    stats = result.summary()["endpoints"]["get"]  # type: ignore[index]
    assert stats["requests"] == 100
    assert stats["max_ms"] > 500
    assert stats["p50_ms"] > 5 * SERVICE_MS
