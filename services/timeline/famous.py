"""Famous accounts as the timeline domain sees them: whose tweets are pulled at read time instead of pushed.

    timeline:famous           hash: famous user id → the smallest tweet id made after it became famous here
    timeline:famous:pending   hash: user id → "up" or "down", a promotion or demotion not yet finished
    timeline:{f}:authored     sorted set: the famous user's newest tweet ids (encoded like a home timeline)

Which users are famous is the classification service's call; this registry is the fan-out's record of which
authors it has *stopped pushing*, the only thing timelines must agree with. The fan-out worker writes it; the
timeline service reads it (rebuilds take the famous followees from it, reads pull from the authored lists).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from services.timeline.cache import CAPACITY, member
from services.timeline.scripts import SENTINEL

__all__ = ["Authored", "FamousRegistry", "Transition"]

Transition = Literal["up", "down"]

_FAMOUS = "timeline:famous"
_PENDING = "timeline:famous:pending"
_SENTINEL = SENTINEL.encode()
_FLOOR = b"(" + _SENTINEL


# KEYS: an authored list. ARGV: a tweet id, the capacity. Adds only to a list that exists (rank 0 is the
# sentinel, kept by the trim).
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 1, -tonumber(ARGV[2]) - 1)
return 1
"""

# KEYS: the pending hash. ARGV: a user id, the transition that finished.
_END = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


def _transition(value: bytes | str | None) -> Transition | None:
    if value in (b"up", "up"):
        return "up"
    if value in (b"down", "down"):
        return "down"
    return None


def _authored(user_id: int) -> str:
    return f"timeline:{{{user_id}}}:authored"


@dataclass(frozen=True, slots=True)
class Authored:
    """Famous authors' newest ids below a cursor, and the authors whose list is not cached (ask the store)."""

    tweet_ids: list[int]
    missing: list[int]


class FamousRegistry:
    def __init__(self, redis: Redis, *, capacity: int = CAPACITY) -> None:
        self._redis = redis
        self._capacity = capacity
        self._add = redis.register_script(_ADD)
        self._end = redis.register_script(_END)

    # --- who is famous --------------------------------------------------------------------------------------

    async def since(self, user_id: int) -> int | None:
        """The smallest tweet id made since the user became famous here (their tweets from this id on were
        never pushed); None if they are not famous."""
        found = await self._redis.hget(_FAMOUS, str(user_id))
        return int(found) if found is not None else None

    async def among(self, user_ids: Sequence[int]) -> set[int]:
        """Those of `user_ids` who are famous."""
        if not user_ids:
            return set()
        found = await self._redis.hmget(_FAMOUS, [str(u) for u in user_ids])
        return {u for u, since in zip(user_ids, found, strict=True) if since is not None}

    async def mark(self, user_id: int, *, since_id: int) -> None:
        await self._redis.hsetnx(_FAMOUS, str(user_id), since_id)

    async def unmark(self, user_id: int) -> None:
        await self._redis.hdel(_FAMOUS, str(user_id))

    async def state(self, user_id: int) -> tuple[int | None, Transition | None]:
        """`since(user_id)` and `pending(user_id)` in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(_FAMOUS, str(user_id))
            pipe.hget(_PENDING, str(user_id))
            since, pending = await pipe.execute()
        return (int(since) if since is not None else None), _transition(pending)

    async def pending(self, user_id: int) -> Transition | None:
        return _transition(await self._redis.hget(_PENDING, str(user_id)))

    async def begin(self, user_id: int, transition: Transition) -> None:
        await self._redis.hset(_PENDING, str(user_id), transition)

    async def end(self, user_id: int, transition: Transition) -> None:
        """Clear the pending mark, unless a later transition replaced it."""
        await self._end(keys=[_PENDING], args=[str(user_id), transition])

    # --- their tweets ---------------------------------------------------------------------------------------

    async def add_tweet(self, user_id: int, tweet_id: int) -> bool:
        """Add to the author's list if it is cached (False if not: fill it from the store)."""
        added = await self._add(keys=[_authored(user_id)], args=[member(tweet_id), self._capacity])
        return bool(added)

    async def fill(self, user_id: int, tweet_ids: Iterable[int]) -> None:
        """Cache the author's newest ids (merging with what raced the fill)."""
        members = {member(t): 0 for t in tweet_ids}
        members[_SENTINEL] = 0
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(_authored(user_id), members)
            pipe.zremrangebyrank(_authored(user_id), 1, -self._capacity - 1)
            await pipe.execute()

    async def remove_tweet(self, user_id: int, tweet_id: int) -> None:
        await self._redis.zrem(_authored(user_id), member(tweet_id))

    async def forget(self, user_id: int) -> None:
        await self._redis.delete(_authored(user_id))

    async def newest(self, user_ids: Sequence[int], *, before: int | None, limit: int) -> Authored:
        """The newest ids of these authors older than `before`, newest first, at most `limit`."""
        if not user_ids:
            return Authored([], [])
        top = b"+" if before is None else b"(" + member(before)
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.exists(_authored(user_id))
                pipe.zrevrangebylex(_authored(user_id), top, _FLOOR, start=0, num=limit)
            answers = await pipe.execute()
        ids: set[int] = set()
        missing: list[int] = []
        for i, user_id in enumerate(user_ids):
            if not answers[2 * i]:
                missing.append(user_id)
            ids.update(int(m) for m in answers[2 * i + 1])
        return Authored(sorted(ids, reverse=True)[:limit], missing)
