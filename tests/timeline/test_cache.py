"""The timeline cache against a real Valkey server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from services.timeline.cache import TimelineCache

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Snowflake-sized ids: beyond 2**53, where a float score would round neighbours together.
BASE = 2**62


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


async def test_pages_are_newest_first_and_exact_for_snowflake_sized_ids(redis: Redis) -> None:
    cache = TimelineCache(redis)
    for offset in range(5):
        await cache.push([1], BASE + offset)
    assert await cache.page(1, before=None, limit=3) == [BASE + 4, BASE + 3, BASE + 2]
    assert await cache.page(1, before=BASE + 2, limit=3) == [BASE + 1, BASE]


async def test_capacity_drops_the_oldest(redis: Redis) -> None:
    cache = TimelineCache(redis, capacity=3)
    for offset in range(5):
        await cache.push([2], BASE + offset)
    assert await cache.page(2, before=None, limit=10) == [BASE + 4, BASE + 3, BASE + 2]


async def test_a_pushed_id_appears_once_however_often_it_is_delivered(redis: Redis) -> None:
    cache = TimelineCache(redis)
    for _ in range(3):
        await cache.push([3, 4], BASE)
    assert await cache.page(3, before=None, limit=10) == [BASE]
    assert await cache.page(4, before=None, limit=10) == [BASE]


async def test_an_empty_rebuilt_timeline_exists_and_reads_empty(redis: Redis) -> None:
    cache = TimelineCache(redis)
    assert not await cache.exists(5)
    await cache.fill(5, [])
    assert await cache.exists(5)
    assert await cache.page(5, before=None, limit=10) == []


async def test_fill_merges_with_pushes_that_raced_it(redis: Redis) -> None:
    cache = TimelineCache(redis)
    await cache.push([6], BASE + 9)
    await cache.fill(6, [BASE + 1, BASE + 2])
    assert await cache.page(6, before=None, limit=10) == [BASE + 9, BASE + 2, BASE + 1]


async def test_remove_takes_the_id_out(redis: Redis) -> None:
    cache = TimelineCache(redis)
    await cache.push([7], BASE + 1)
    await cache.push([7], BASE + 2)
    await cache.remove([7], BASE + 1)
    assert await cache.page(7, before=None, limit=10) == [BASE + 2]
