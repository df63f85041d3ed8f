"""Home timelines cached in Redis: one sorted set of tweet ids per user, newest kept, capped.

Snowflake ids reach 2^62, beyond what a sorted-set score (a double) holds exactly, so every member scores 0
and the set is ordered lexicographically by the id written as 19 zero-padded digits — exact ordering, exact
cursors, and trimming by rank still drops the oldest. The fan-out worker writes here; the timeline service
reads; both are the timeline domain, and no other service touches these keys.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

__all__ = ["CAPACITY", "TimelineCache"]

CAPACITY = 800
_WIDTH = 19
# Marks a timeline that was built but is empty, so an empty timeline is not mistaken for a missing one.
_SENTINEL = b"0" * _WIDTH


def _member(tweet_id: int) -> bytes:
    return str(tweet_id).zfill(_WIDTH).encode()


def _key(user_id: int) -> str:
    return f"timeline:home:{user_id}"


class TimelineCache:
    def __init__(self, redis: Redis, *, capacity: int = CAPACITY) -> None:
        self._redis = redis
        self._capacity = capacity

    async def push(self, user_ids: Iterable[int], tweet_id: int) -> None:
        """Add `tweet_id` to each user's timeline, trimming it to capacity; one round trip for the batch."""
        member = _member(tweet_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                key = _key(user_id)
                pipe.zadd(key, {member: 0})
                pipe.zremrangebyrank(key, 0, -self._capacity - 1)
            await pipe.execute()

    async def exists(self, user_id: int) -> bool:
        return bool(await self._redis.exists(_key(user_id)))

    async def fill(self, user_id: int, tweet_ids: Iterable[int]) -> None:
        """Merge rebuilt ids into a user's timeline. Merging (not replacing) keeps pushes that raced the rebuild."""
        members = {_member(t): 0 for t in tweet_ids}
        members[_SENTINEL] = 0
        key = _key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, members)
            pipe.zremrangebyrank(key, 0, -self._capacity - 1)
            await pipe.execute()

    async def page(self, user_id: int, *, before: int | None, limit: int) -> list[int]:
        """Up to `limit` ids older than `before` (or the newest when None), newest first."""
        top = b"+" if before is None else b"(" + _member(before)
        raw = await self._redis.zrevrangebylex(_key(user_id), top, b"(" + _SENTINEL, start=0, num=limit)
        return [int(m) for m in raw]

    async def remove(self, user_ids: Iterable[int], tweet_id: int) -> None:
        member = _member(tweet_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zrem(_key(user_id), member)
            await pipe.execute()
