"""Home timelines cached in Redis: per user, the tweet ids shown, the retweet groups, and the famous followees.

Keys of one user share a hash tag (`timeline:{<user>}:…`), so each user's scripts stay on one slot:

    timeline:{u}:home     sorted set of tweet ids, newest kept, capped (see scripts for the encoding)
    timeline:{u}:groups   the retweet groups delivered to it (see scripts)
    timeline:{u}:famous   the famous accounts u follows, whose tweets are pulled at read time, not pushed

A timeline is *built* when `home` and `famous` both exist. A rebuild creates `home` first (so pushes that race
it are kept) and `famous` last, so a reader never takes a half-built timeline for a built one. A user without
a built timeline is inactive: pushes skip them, and their timeline is rebuilt when they read it. Timelines
expire after an idle TTL that every read renews, which is how a user who stops reading becomes inactive.

Snowflake ids reach 2^62, beyond what a sorted-set score (a double) holds exactly, so every member scores 0
and the set is ordered lexicographically by the id written as 19 zero-padded digits — exact ordering, exact
cursors, and trimming by rank still drops the oldest.

The fan-out worker writes here; the timeline service reads and rebuilds; both are the timeline domain, and no
other service touches these keys. A multi-timeline script touches many users' keys at once: fine on one
Redis, while a Redis Cluster deployment would group each batch by slot first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from services.kit.batching import chunks
from services.timeline import scripts

__all__ = ["CAPACITY", "CachedPage", "Entry", "TimelineCache", "member"]

CAPACITY = 800
_SENTINEL = scripts.SENTINEL.encode()
_FLOOR = b"(" + _SENTINEL
# Timelines per script call: one call blocks Redis for its duration, so a big fan-out is cut into calls
# short enough (a few milliseconds) not to hold up the reads between them.
_BATCH = 500
# A read renews a timeline's idle TTL once this much of it has run down.
_RENEW_AFTER_MS = 3600 * 1000


@dataclass(frozen=True, slots=True)
class Entry:
    """A tweet as a timeline keeps it: its id and, for a retweet, the id of the original (0 otherwise)."""

    tweet_id: int
    retweet_of: int = 0


@dataclass(frozen=True, slots=True)
class CachedPage:
    """What a read finds in a built timeline; `renewed` when the read renewed its idle TTL."""

    tweet_ids: list[int]
    famous: list[int]
    renewed: bool = False


def member(tweet_id: int) -> bytes:
    return str(tweet_id).zfill(19).encode()


def _home(user_id: int) -> str:
    return f"timeline:{{{user_id}}}:home"


def _groups(user_id: int) -> str:
    return f"timeline:{{{user_id}}}:groups"


def _famous(user_id: int) -> str:
    return f"timeline:{{{user_id}}}:famous"


def _orig(entry: Entry) -> bytes:
    return member(entry.retweet_of) if entry.retweet_of else b""


def _pairs(entries: Iterable[Entry]) -> list[bytes]:
    args: list[bytes] = []
    for entry in entries:
        args += (member(entry.tweet_id), _orig(entry))
    return args


def _joined(user_ids: Iterable[int]) -> str:
    return ",".join(map(str, user_ids))


class TimelineCache:
    def __init__(self, redis: Redis, *, capacity: int = CAPACITY, idle_ttl: float | None = None) -> None:
        self._redis = redis
        self._capacity = capacity
        self._ttl_ms = int(idle_ttl * 1000) if idle_ttl else None
        self._push = redis.register_script(scripts.PUSH)
        self._remove = redis.register_script(scripts.REMOVE)
        self._merge = redis.register_script(scripts.MERGE)
        self._remove_ids = redis.register_script(scripts.REMOVE_IDS)
        self._famous_add = redis.register_script(scripts.FAMOUS_ADD)
        self._demote = redis.register_script(scripts.DEMOTE)

    @property
    def capacity(self) -> int:
        return self._capacity

    # --- fan-out: many timelines, one entry -----------------------------------------------------------------

    async def push(self, user_ids: Sequence[int], entry: Entry) -> int:
        """Deliver `entry` to each user's timeline that exists, in one round trip; how many exist.

        Delivering the same entry again changes nothing, so a redelivered event is harmless.
        """
        if not user_ids:
            return 0
        args = (self._capacity, member(entry.tweet_id), _orig(entry))
        async with self._redis.pipeline(transaction=False) as pipe:
            for chunk in chunks(user_ids, _BATCH):
                await self._push(args=[_joined(chunk), *args], client=pipe)
            results = await pipe.execute()
        return sum(int(r) for r in results)

    async def remove(self, user_ids: Sequence[int], tweet_id: int) -> None:
        """Take `tweet_id` out of each user's timeline, in one round trip. Idempotent."""
        if not user_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for chunk in chunks(user_ids, _BATCH):
                await self._remove(args=[_joined(chunk), member(tweet_id)], client=pipe)
            await pipe.execute()

    # --- one timeline, many entries -------------------------------------------------------------------------

    async def merge(self, user_id: int, entries: Sequence[Entry]) -> bool:
        """Deliver `entries` to the user's timeline if it exists (False if not)."""
        found = await self._merge(keys=[_home(user_id), _groups(user_id)], args=[self._capacity, *_pairs(entries)])
        return bool(found)

    async def remove_ids(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        """Take these ids out of the user's timeline, if it exists. Idempotent."""
        if tweet_ids:
            await self._remove_ids(keys=[_home(user_id), _groups(user_id)], args=[member(t) for t in tweet_ids])

    async def oldest(self, user_id: int) -> int | None:
        """The oldest id in the user's timeline; None if it is missing or empty."""
        found = await self._redis.zrangebylex(_home(user_id), _FLOOR, b"+", start=0, num=1)
        return int(found[0]) if found else None

    async def exists(self, user_id: int) -> bool:
        """Whether the user's timeline exists (built, or being built)."""
        return bool(await self._redis.exists(_home(user_id)))

    async def drop(self, user_id: int) -> None:
        """Forget the user's timeline: they are inactive until they read again."""
        await self._redis.delete(_home(user_id), _groups(user_id), _famous(user_id))

    # --- famous followees -----------------------------------------------------------------------------------

    async def add_famous(self, user_ids: Sequence[int], famous_id: int) -> None:
        """Record that these users follow the famous `famous_id` (in the timelines that are built)."""
        if not user_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for chunk in chunks(user_ids, _BATCH):
                await self._famous_add(args=[_joined(chunk), famous_id], client=pipe)
            await pipe.execute()

    async def remove_famous(self, user_id: int, famous_id: int) -> None:
        await self._redis.srem(_famous(user_id), famous_id)

    async def demote(self, user_ids: Sequence[int], famous_id: int, entries: Sequence[Entry]) -> None:
        """`famous_id` is pushed again: merge their recent `entries` into these timelines, then stop pulling."""
        if not user_ids:
            return
        args: list[int | bytes] = [self._capacity, famous_id, *_pairs(entries)]
        # Each timeline takes every entry: fewer timelines per call keep each call short.
        per_call = max(1, _BATCH // max(1, len(entries)))
        async with self._redis.pipeline(transaction=False) as pipe:
            for chunk in chunks(user_ids, per_call):
                await self._demote(args=[_joined(chunk), *args], client=pipe)
            await pipe.execute()

    # --- rebuild --------------------------------------------------------------------------------------------

    async def begin_build(self, user_id: int) -> None:
        """Create the user's (empty) timeline so that pushes land in it while it is rebuilt."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(_home(user_id), {_SENTINEL: 0})
            self._expire(pipe, user_id)
            await pipe.execute()

    async def finish_build(self, user_id: int, entries: Sequence[Entry], famous: Iterable[int]) -> None:
        """Merge the rebuilt `entries` (keeping pushes that raced the rebuild) and mark the timeline built."""
        await self._merge(keys=[_home(user_id), _groups(user_id)], args=[self._capacity, *_pairs(entries)])
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(_famous(user_id), 0, *famous)
            self._expire(pipe, user_id)
            await pipe.execute()

    # --- read -----------------------------------------------------------------------------------------------

    async def read(self, user_id: int, *, before: int | None, limit: int) -> CachedPage | None:
        """Up to `limit` ids older than `before` (or the newest), newest first, and the famous followees.

        None if the timeline is not built. Renews the idle TTL (at most once per `_RENEW_AFTER`, so that
        reads stay reads).
        """
        top = b"+" if before is None else b"(" + member(before)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(_home(user_id), _famous(user_id))
            pipe.zrevrangebylex(_home(user_id), top, _FLOOR, start=0, num=limit)
            pipe.smembers(_famous(user_id))
            pipe.pttl(_home(user_id))
            found, ids, famous, ttl_ms = await pipe.execute()
        if found < 2:
            return None
        renew = self._ttl_ms is not None and 0 <= ttl_ms < self._ttl_ms - _RENEW_AFTER_MS
        if renew:
            async with self._redis.pipeline(transaction=False) as pipe:
                self._expire(pipe, user_id)
                await pipe.execute()
        return CachedPage(
            tweet_ids=[int(m) for m in ids], famous=sorted(int(f) for f in famous if f != b"0"), renewed=renew
        )

    async def grouped(self, user_id: int, originals: Sequence[int]) -> set[int]:
        """Those of `originals` that the user's timeline shows already: the tweet itself or a retweet of it."""
        if not originals:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for original in originals:
                pipe.zscore(_home(user_id), member(original))
                pipe.hexists(_groups(user_id), b"o" + member(original))
            answers = await pipe.execute()
        return {o for i, o in enumerate(originals) if answers[2 * i] is not None or answers[2 * i + 1]}

    async def members(self, user_id: int) -> list[int]:
        """Every id in the user's timeline, newest first (for tests and tools)."""
        found = await self._redis.zrevrangebylex(_home(user_id), b"+", _FLOOR)
        return [int(m) for m in found]

    def _expire(self, pipe: Pipeline, user_id: int) -> None:
        if self._ttl_ms is None:
            return
        for key in (_home(user_id), _groups(user_id), _famous(user_id)):
            pipe.pexpire(key, self._ttl_ms)
