"""Presence test fixtures: a Redis client on the session's Valkey, and a store under a prefix of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest_asyncio
from redis.asyncio import Redis

from services.presence.store import PresenceStore

# Short enough for tests to watch states lapse, long enough that a slow machine does not lapse them early.
TTL = 0.4


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def make_store(redis: Redis) -> Callable[..., PresenceStore]:
    """Stores on the shared Valkey, each under a prefix no other test uses."""

    def make(*, ttl: float = TTL, retention: float = 3600.0) -> PresenceStore:
        return PresenceStore(redis, ttl=ttl, retention=retention, prefix=f"presence-test-{uuid.uuid4().hex[:12]}")

    return make


@pytest_asyncio.fixture(loop_scope="session")
async def store(make_store: Callable[..., PresenceStore]) -> PresenceStore:
    return make_store()
