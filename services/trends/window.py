"""The trends state in Redis: per-bucket hashtag counts, the authors behind them, baselines and the answer.

Everything lives in Redis, so a restarted (or second) trends process carries on where the last one stopped,
and a redelivered event changes nothing. Keys, designed from the queries (`<p>` is `chirp:trends:<B>s:`, the
bucket size in the prefix so that a changed CHIRP_TRENDS_BUCKET_SECONDS starts afresh instead of misreading):

    <p>b:<bucket>              HASH  tag -> tweets with the tag in the bucket     (the window's tags and counts)
    <p>a:<bucket>:<tag>        HASH  author id -> their tweets with the tag there  (distinct authors, exact
                                                                                   under deletions)
    <p>t:<tweet id>            STRING "c" counted / "d" deleted                    (idempotency; a deletion seen
                                                                                   first keeps a later or
                                                                                   redelivered creation out)
    <p>base:<tag>              STRING "total at first last"                        (the tag's baseline, see scoring)
    <p>sampled                 STRING the bucket of the last baseline sample       (one sample per bucket)
    <p>top                     STRING a serialized ListTrendsResponse              (what ListTrends answers)

A tweet counts in the bucket of its Snowflake id's time, not of its event's arrival, so a late or redelivered
event lands where it belongs. Bucket keys expire once their bucket has left the window (EXPIREAT, from the
bucket's own time), the tweet markers with them; baselines expire after ten baseline half-lives without a
sample. Each event is applied by one Lua script, atomically: the marker and the counts change together.

All of it is derived from the `chirp.tweet.*` stream (kept 7 days): should Redis lose it, deleting the
trends consumers makes them replay the stream, and everything older than the window is skipped cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chirp.trends.v1 import trends_service_pb2
from google.protobuf.message import DecodeError
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from services.trends.scoring import Baseline, Params, TagWindow

__all__ = ["TrendWindows", "Use", "normalized_tags"]

# KEYS: marker, bucket hash, one author hash per tag.  ARGV: author, expire_at, now, the tags in KEYS' order.
_CREATED = """
if tonumber(ARGV[2]) <= tonumber(ARGV[3]) then return 0 end
if not redis.call('SET', KEYS[1], 'c', 'NX', 'EXAT', ARGV[2]) then return 0 end
for i = 4, #ARGV do
  redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
  redis.call('HINCRBY', KEYS[i - 1], ARGV[1], 1)
  redis.call('EXPIREAT', KEYS[i - 1], ARGV[2])
end
redis.call('EXPIREAT', KEYS[2], ARGV[2])
return 1
"""

_DELETED = """
if tonumber(ARGV[2]) <= tonumber(ARGV[3]) then return 0 end
local state = redis.call('GET', KEYS[1])
if state == 'd' then return 0 end
redis.call('SET', KEYS[1], 'd', 'EXAT', ARGV[2])
if state ~= 'c' then return 0 end
for i = 4, #ARGV do
  if redis.call('HINCRBY', KEYS[2], ARGV[i], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[i]) end
  if redis.call('HINCRBY', KEYS[i - 1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[i - 1], ARGV[1]) end
end
return 1
"""

# KEYS: the tag's author hashes, newest bucket first. Returns, per key, how many authors appear there for the
# first time (that is, whose latest use is in that bucket).
_LAST_USES = """
local seen, out = {}, {}
for i = 1, #KEYS do
  local n = 0
  for _, author in ipairs(redis.call('HKEYS', KEYS[i])) do
    if not seen[author] then seen[author] = true; n = n + 1 end
  end
  out[i] = n
end
return out
"""

# KEYS: the sample cursor, then one baseline key per tag.  ARGV: the cursor value read with the baselines, the
# new cursor (bucket), the baselines' ttl in seconds, then the new baseline values in KEYS' order. Applies
# only if nobody sampled since the read (compare-and-set), so two processes never both sample a bucket.
_SAMPLE = """
local cursor = redis.call('GET', KEYS[1]) or ''
if cursor ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 2], 'EX', ARGV[3])
end
return 1
"""

_CONSISTENT_TRIES = 3  # reads of a window while tweets keep arriving between its two round trips

# Scripts and pipelines are sent in chunks, so one huge window never blocks Redis for long.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Use:
    """A tweet's hashtags, as counted: what a creation adds and its deletion takes back."""

    tweet_id: int
    author_id: int
    at: float  # Unix seconds: the tweet's creation time
    tags: Sequence[str]  # lower case, each once


class TrendWindows:
    def __init__(self, redis: Redis, params: Params, *, prefix: str = "chirp:trends:") -> None:
        self._redis = redis
        self._params = params
        self._prefix = f"{prefix}{params.bucket_seconds}s:"
        self._created = redis.register_script(_CREATED)
        self._deleted = redis.register_script(_DELETED)
        self._last_uses = redis.register_script(_LAST_USES)
        self._sample = redis.register_script(_SAMPLE)

    @property
    def params(self) -> Params:
        return self._params

    # -- events ------------------------------------------------------------------------------------------

    async def add(self, use: Use, *, now: float) -> bool:
        """Counts the tweet's hashtags; False if it was counted (or its deletion seen) before, or is too old."""
        return await self._apply(self._created, use, now=now)

    async def remove(self, use: Use, *, now: float) -> bool:
        """Takes back what `add` counted for the tweet; False if there was nothing to take back."""
        return await self._apply(self._deleted, use, now=now)

    async def _apply(self, script: AsyncScript, use: Use, *, now: float) -> bool:
        bucket = self._params.bucket_of(use.at)
        keys = [self._key("t", use.tweet_id), self._key("b", bucket), *(self._authors_key(bucket, t) for t in use.tags)]
        args: list[str | int] = [use.author_id, self._expiry(bucket), math.floor(now), *use.tags]
        done = await script(keys=keys, args=args)
        return bool(done)

    # -- the window --------------------------------------------------------------------------------------

    async def window(self, bucket: int) -> list[TagWindow]:
        """Every tag used in the window ending with `bucket`: its tweets and its authors' latest uses.

        The counts and the author sets are read in separate round trips, so a tweet counted between them
        would show in one and not the other (four authors of three tweets). The counts are read again
        after the authors, and the window read anew if they moved; after a few tries the last read stands
        (the next recomputation catches up).
        """
        buckets = [bucket - ago for ago in range(self._params.window_buckets)]
        counts = await self._counts(buckets)
        for _ in range(_CONSISTENT_TRIES):
            windows = await self._windows(bucket, counts)
            again = await self._counts(buckets)
            if again == counts:
                break
            counts = again
        return windows

    async def _counts(self, buckets: Sequence[int]) -> list[dict[bytes, bytes]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for b in buckets:
                pipe.hgetall(self._key("b", b))
            counts: list[dict[bytes, bytes]] = await pipe.execute()
        return counts

    async def _windows(self, bucket: int, counts: list[dict[bytes, bytes]]) -> list[TagWindow]:
        tweets: dict[str, int] = {}
        seen_in: dict[str, list[int]] = {}  # tag -> buckets ago it was used, newest first
        for ago, bucket_counts in enumerate(counts):
            for raw_tag, raw_count in bucket_counts.items():
                count = int(raw_count)
                if count <= 0:
                    continue
                tag = raw_tag.decode()
                tweets[tag] = tweets.get(tag, 0) + count
                seen_in.setdefault(tag, []).append(ago)
        windows: list[TagWindow] = []
        several: list[str] = []
        for tag, agos in seen_in.items():
            if tweets[tag] == 1:
                windows.append(TagWindow(tag, 1, {agos[0]: 1}))  # one tweet: one author, no need to ask
            else:
                several.append(tag)
        for start in range(0, len(several), _CHUNK):
            chunk = several[start : start + _CHUNK]
            async with self._redis.pipeline(transaction=False) as pipe:
                for tag in chunk:
                    keys = [self._authors_key(bucket - ago, tag) for ago in seen_in[tag]]
                    await self._last_uses(keys=keys, client=pipe)
                answers: list[list[int]] = await pipe.execute()
            for tag, firsts in zip(chunk, answers, strict=True):
                last_uses = {ago: int(n) for ago, n in zip(seen_in[tag], firsts, strict=True) if int(n)}
                windows.append(TagWindow(tag, tweets[tag], last_uses))
        return windows

    # -- baselines ---------------------------------------------------------------------------------------

    async def baselines(self, tags: Sequence[str]) -> tuple[str, dict[str, Baseline]]:
        """The sample cursor and the baselines of `tags` (tags without one are left out), read together."""
        found: dict[str, Baseline] = {}
        cursor = ""
        for start in range(0, max(len(tags), 1), _CHUNK):
            chunk = list(tags[start : start + _CHUNK])
            values = await self._redis.mget([self._key("sampled"), *(self._key("base", t) for t in chunk)])
            if start == 0:
                cursor = _text(values[0]) if values[0] is not None else ""
            for tag, raw in zip(chunk, values[1:], strict=True):
                baseline = _parse_baseline(raw) if raw is not None else None
                if baseline is not None:
                    found[tag] = baseline
        return cursor, found

    async def sampled_bucket(self) -> int | None:
        raw = await self._redis.get(self._key("sampled"))
        return int(raw) if raw is not None else None

    async def save_sample(self, *, read_cursor: str, bucket: int, baselines: dict[str, Baseline]) -> bool:
        """Stores the baselines sampled in `bucket`, unless someone sampled since `read_cursor` was read."""
        ttl = max(1, math.ceil(10 * self._params.baseline_half_life_seconds))
        items = list(baselines.items())
        # The cursor moves with the first chunk; later chunks are guarded by the new cursor.
        cursor = read_cursor
        for start in range(0, max(len(items), 1), _CHUNK):
            chunk = items[start : start + _CHUNK]
            keys = [self._key("sampled"), *(self._key("base", tag) for tag, _ in chunk)]
            args: list[str | int] = [cursor, bucket, ttl, *(_format_baseline(b) for _, b in chunk)]
            if not await self._sample(keys=keys, args=args):
                return False
            cursor = str(bucket)
        return True

    # -- the answer --------------------------------------------------------------------------------------

    async def save_top(self, answer: trends_service_pb2.ListTrendsResponse) -> None:
        ttl = max(1, self._params.window_seconds)  # older than a window, the answer means nothing
        await self._redis.set(self._key("top"), answer.SerializeToString(), ex=ttl)

    async def top(self) -> trends_service_pb2.ListTrendsResponse | None:
        raw = await self._redis.get(self._key("top"))
        if raw is None:
            return None
        try:
            return trends_service_pb2.ListTrendsResponse.FromString(raw if isinstance(raw, bytes) else raw.encode())
        except DecodeError:
            return None  # not ours: the next refresh (seconds away) overwrites it

    # -- keys --------------------------------------------------------------------------------------------

    def _key(self, *parts: object) -> str:
        return self._prefix + ":".join(str(p) for p in parts)

    def _authors_key(self, bucket: int, tag: str) -> str:
        return self._key("a", bucket, tag)

    def _expiry(self, bucket: int) -> int:
        """When a bucket's keys go: once the bucket has left the window, plus one bucket of slack."""
        return (bucket + self._params.window_buckets + 1) * self._params.bucket_seconds


def _format_baseline(b: Baseline) -> str:
    return f"{b.total!r} {b.at} {b.first} {b.last!r}"


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _parse_baseline(raw: bytes | str) -> Baseline | None:
    """The stored baseline, or None (a fresh start for the tag) if the value is not one `_format_baseline` wrote."""
    try:
        total, at, first, last = _text(raw).split()
        return Baseline(total=float(total), at=int(at), first=int(first), last=float(last))
    except (ValueError, UnicodeDecodeError):
        return None


def normalized_tags(tags: Iterable[str]) -> list[str]:
    """Lower case, each once, in order of first appearance; empty ones dropped."""
    return list(dict.fromkeys(t.lower() for t in tags if t))
