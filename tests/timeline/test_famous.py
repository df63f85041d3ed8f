"""The registry of famous accounts and their pulled lists, against a real Valkey server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import count

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from services.timeline.famous import Authored, FamousRegistry

pytestmark = pytest.mark.asyncio(loop_scope="session")

BASE = 2**62
_users = count(2_000_000)


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_marking_records_since_when(redis: Redis) -> None:
    registry = FamousRegistry(redis)
    star, plain = next(_users), next(_users)
    await registry.mark(star, since_id=BASE + 5)
    await registry.mark(star, since_id=BASE + 9)  # marking again keeps the first
    assert await registry.since(star) == BASE + 5
    assert await registry.since(plain) is None
    assert await registry.among([plain, star]) == {star}
    await registry.unmark(star)
    assert await registry.among([plain, star]) == set()


async def test_a_pending_mark_is_cleared_only_by_its_own_transition(redis: Redis) -> None:
    registry = FamousRegistry(redis)
    user = next(_users)
    await registry.begin(user, "up")
    await registry.begin(user, "down")  # a demotion started before the promotion finished
    await registry.end(user, "up")
    assert await registry.pending(user) == "down"
    await registry.end(user, "down")
    assert await registry.pending(user) is None


async def test_tweets_join_a_cached_list_only(redis: Redis) -> None:
    registry = FamousRegistry(redis, capacity=3)
    star = next(_users)
    assert not await registry.add_tweet(star, BASE + 1)
    assert await registry.newest([star], before=None, limit=10) == Authored([], [star])
    await registry.fill(star, [BASE + 1, BASE + 2])
    for offset in (3, 4):
        assert await registry.add_tweet(star, BASE + offset)
    assert await registry.newest([star], before=None, limit=10) == Authored([BASE + 4, BASE + 3, BASE + 2], [])
    await registry.remove_tweet(star, BASE + 3)
    assert await registry.newest([star], before=BASE + 4, limit=10) == Authored([BASE + 2], [])


async def test_newest_merges_authors_below_the_cursor(redis: Redis) -> None:
    registry = FamousRegistry(redis)
    a, b, gone = next(_users), next(_users), next(_users)
    await registry.fill(a, [BASE + 1, BASE + 4, BASE + 6])
    await registry.fill(b, [BASE + 2, BASE + 5])
    await registry.fill(gone, [])
    await registry.forget(gone)
    found = await registry.newest([a, b, gone], before=BASE + 6, limit=3)
    assert found == Authored([BASE + 5, BASE + 4, BASE + 2], [gone])
