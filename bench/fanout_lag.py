"""Fan-out lag: how long after an author posts the tweet is in the home timeline of every active follower.

Active followers are those with a built home timeline (services/timeline/cache.py: the fan-out worker pushes
only into existing timelines; anyone else's is rebuilt from the stores when they read again, so they cannot
be late). Before the post, the chosen share of the author's followers gets a built timeline through the
timeline cache's own rebuild steps; then the post goes through REST and the followers' timeline keys in
Redis are polled until each holds the id.

When the author has at least CHIRP_FAMOUS_FOLLOWERS followers their tweets are not pushed but merged at
read time; then the lag is the time until a reader who follows them sees it through REST.

The fan-out worker's own view, the histogram `chirp_fanout_lag_seconds` (event to last follower), is read
from its metrics endpoint before and after, when it exists.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from bench import rest
from bench.rest import Reader
from services.timeline.cache import TimelineCache, member

__all__ = ["LAG_METRIC", "Lag", "activate", "measure", "scrape_histogram"]

LAG_METRIC = "chirp_fanout_lag_seconds"
# The timeline cache's layout (services/timeline/cache.py): one sorted set per user, members the tweet ids
# as `cache.member` writes them. The smoke test fails (delivery times out) if this drifts from the cache.
_KEY = "timeline:{{{}}}:home"
_CHUNK = 5000
_MILESTONES = (0.5, 0.9, 0.99, 1.0)


@dataclass
class Lag:
    author: str
    followers: int
    active: int
    mode: str  # "push" (timed in Redis) or "pull" (famous: timed through a follower's REST read)
    post_ms: float  # the POST's own latency
    # Milliseconds from sending the POST until this share of the active followers held the tweet.
    delivered_ms: dict[str, float | None]
    delivered: int
    timed_out: bool
    # The fan-out worker's histogram: the mean of the observations this post added, in ms, when present.
    metric_ms: float | None

    def summary(self) -> dict[str, object]:
        return asdict(self)


async def activate(redis: Redis, user_ids: Sequence[int], *, concurrency: int = 64) -> int:
    """Give every user without one a built (empty) home timeline; returns how many were built.

    Builds through the timeline cache's own rebuild steps with nothing to merge: what a returning reader's
    rebuild leaves, minus the followees' old tweets, which do not matter here.
    """
    missing: list[int] = []
    for start in range(0, len(user_ids), _CHUNK):
        chunk = user_ids[start : start + _CHUNK]
        async with redis.pipeline(transaction=False) as pipe:
            for uid in chunk:
                pipe.exists(_KEY.format(uid))
            found = await pipe.execute()
        missing += [uid for uid, there in zip(chunk, found, strict=True) if not there]
    cache = TimelineCache(redis)
    queue = iter(missing)

    async def worker() -> None:
        for uid in queue:
            await cache.begin_build(uid)
            await cache.finish_build(uid, [], [])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(missing)


async def scrape_histogram(session: aiohttp.ClientSession, url: str, name: str) -> tuple[float, float] | None:
    """(sum, count) of histogram `name` over all its labels at a Prometheus endpoint; None if it is absent."""
    try:
        async with session.get(url) as answer:
            if answer.status != 200:
                return None
            body = await answer.text()
    except (aiohttp.ClientError, TimeoutError):
        return None
    total, count, seen = 0.0, 0.0, False
    for family in text_string_to_metric_families(body):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_sum":
                total += sample.value
                seen = True
            elif sample.name == f"{name}_count":
                count += sample.value
    return (total, count) if seen else None


async def _pending(redis: Redis, user_ids: list[int], member: bytes) -> list[int]:
    still: list[int] = []
    for start in range(0, len(user_ids), _CHUNK):
        chunk = user_ids[start : start + _CHUNK]
        async with redis.pipeline(transaction=False) as pipe:
            for uid in chunk:
                pipe.zscore(_KEY.format(uid), member)
            scores = await pipe.execute()
        still += [uid for uid, score in zip(chunk, scores, strict=True) if score is None]
    return still


async def measure(
    *,
    session: aiohttp.ClientSession,
    edge_url: str,
    redis: Redis,
    author: Reader,
    followers: Sequence[int],
    follower_reader: Reader | None,
    famous: bool,
    active_fraction: float,
    metrics_url: str | None,
    within: float = 60.0,
    seed: int = 0,
) -> Lag:
    """Post as `author` and time delivery to the active share of `followers` (see the module docstring)."""
    rng = random.Random(seed)
    active = sorted(rng.sample(list(followers), round(len(followers) * active_fraction)))
    if not famous:
        await activate(redis, active)
    before = await scrape_histogram(session, metrics_url, LAG_METRIC) if metrics_url else None

    sent = time.perf_counter()
    tweet_id = await rest.post_tweet(session, edge_url, author, f"fan-out lag probe to {len(followers)} followers")
    post_ms = (time.perf_counter() - sent) * 1000
    marks: dict[str, float | None] = {f"{m:.0%}": None for m in _MILESTONES}
    deadline = sent + within
    delivered = 0
    if famous:
        target = 1 if follower_reader is not None else 0
        while follower_reader is not None and time.perf_counter() < deadline:
            async with session.get(f"{edge_url}/v1/timelines/home", headers=follower_reader.headers) as answer:
                body = await answer.json()
            if any(int(t["id"]) == tweet_id for t in body.get("tweets", [])):
                delivered = 1
                break
            await asyncio.sleep(0.01)
        if delivered:
            now = (time.perf_counter() - sent) * 1000
            marks = dict.fromkeys(marks, now)
        active_count = target
    else:
        wanted = member(tweet_id)
        remaining = list(active)
        while remaining and time.perf_counter() < deadline:
            remaining = await _pending(redis, remaining, wanted)
            now = (time.perf_counter() - sent) * 1000
            delivered = len(active) - len(remaining)
            for m in _MILESTONES:
                key = f"{m:.0%}"
                if marks[key] is None and delivered >= m * len(active):
                    marks[key] = now
            if remaining:
                await asyncio.sleep(0.005)
        active_count = len(active)

    metric_ms = None
    if metrics_url:
        # The worker observes once it is done, a moment after our own view. A histogram with labels appears
        # only at its first observation, so absent before is not absent for good — but do not wait long.
        base = before or (0.0, 0.0)
        for _ in range(100 if before is not None else 20):
            after = await scrape_histogram(session, metrics_url, LAG_METRIC)
            if after is not None and after[1] > base[1]:
                metric_ms = (after[0] - base[0]) / (after[1] - base[1]) * 1000
                break
            await asyncio.sleep(0.05)
    return Lag(
        author=author.username,
        followers=len(followers),
        active=active_count,
        mode="pull" if famous else "push",
        post_ms=post_ms,
        delivered_ms=marks,
        delivered=delivered,
        timed_out=delivered < active_count,
        metric_ms=metric_ms,
    )
