"""The trends state in a real Valkey: counting, idempotency under redelivery, deletions, restarts, and the
ranker's answer and baseline samples, with a clock the tests move.

Each test has its own key prefix (the server is shared by the session).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from chirp.trends.v1 import trends_service_pb2
from chirp.tweet.v1 import tweet_events_pb2, tweet_pb2
from redis.asyncio import Redis

from services.kit.events import Delivery
from services.kit.snowflake import EPOCH, min_id_at
from services.trends.counting import HashtagCounter
from services.trends.ranking import Ranker
from services.trends.scoring import Params
from services.trends.service import TrendsService
from services.trends.window import TrendWindows, Use

pytestmark = pytest.mark.asyncio(loop_scope="session")

PARAMS = Params(bucket_seconds=60, window_seconds=600, half_life_seconds=300, baseline_prior_seconds=600)
T0 = 1_800_000_000.0  # a fixed "now" (2027), on a bucket boundary: 30_000_000 * 60
DELIVERY = Delivery(subject="chirp.tweet.created", msg_id="m", num_delivered=1, stream_sequence=1, published_at=EPOCH)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"test:trends:{uuid.uuid4().hex}:"


_ids = iter(range(1, 10**9))


def use(author: int, *tags: str, at: float = T0) -> Use:
    return Use(tweet_id=next(_ids), author_id=author, at=at, tags=list(tags))


async def counts(windows: TrendWindows, now: float = T0) -> dict[str, tuple[int, int]]:
    """tag -> (tweets, distinct authors) in the window ending now."""
    return {w.tag: (w.tweet_count, w.author_count) for w in await windows.window(PARAMS.bucket_of(now))}


async def test_a_redelivered_tweet_counts_once(redis: Redis, prefix: str) -> None:
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    tweet = use(1, "a", "b")
    assert await windows.add(tweet, now=T0)
    for _ in range(3):
        assert not await windows.add(tweet, now=T0)
    assert await counts(windows) == {"a": (1, 1), "b": (1, 1)}


async def test_distinct_authors_across_buckets_and_exact_under_deletions(redis: Redis, prefix: str) -> None:
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    early = [use(1, "x", at=T0 - 300), use(2, "x", at=T0 - 300)]
    late = [use(1, "x", at=T0), use(1, "x", at=T0 + 1), use(3, "x", at=T0 + 2)]
    for tweet in early + late:
        await windows.add(tweet, now=T0 + 2)
    assert await counts(windows) == {"x": (5, 3)}
    window = (await windows.window(PARAMS.bucket_of(T0)))[0]
    assert dict(window.last_uses) == {0: 2, 5: 1}  # authors 1 and 3 last now, author 2 five buckets ago

    assert await windows.remove(late[0], now=T0 + 3)
    assert await counts(windows) == {"x": (4, 3)}  # author 1 still has another tweet now
    assert await windows.remove(early[1], now=T0 + 3)
    assert not await windows.remove(early[1], now=T0 + 3)  # a redelivered deletion
    assert await counts(windows) == {"x": (3, 2)}
    for tweet in late[1:] + early[:1]:
        await windows.remove(tweet, now=T0 + 3)
    assert await counts(windows) == {}


async def test_a_deletion_seen_first_keeps_the_creation_out(redis: Redis, prefix: str) -> None:
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    tweet = use(1, "late")
    assert not await windows.remove(tweet, now=T0)  # nothing counted yet: only remembered
    assert not await windows.add(tweet, now=T0)
    assert await counts(windows) == {}


async def test_tweets_older_than_the_window_are_not_counted(redis: Redis, prefix: str) -> None:
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    assert not await windows.add(use(1, "old", at=T0 - 2 * PARAMS.window_seconds), now=T0)
    assert await windows.add(use(1, "new", at=T0 - 60), now=T0)
    assert await counts(windows) == {"new": (1, 1)}
    # Once its bucket has left the window, a tweet no longer counts (and its keys expire).
    assert await counts(windows, now=T0 + PARAMS.window_seconds) == {}


async def test_the_counter_skips_retweets_and_protected_authors_and_normalizes_tags(redis: Redis, prefix: str) -> None:
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    counter = HashtagCounter(windows, clock=Clock())
    tweet_id = _snowflake_at(T0)

    def created(tweet_id: int, author: int, *tags: str, **fields: Any) -> tweet_events_pb2.TweetCreated:
        entities = tweet_pb2.TweetEntities(hashtags=[tweet_pb2.HashtagEntity(tag=t) for t in tags])
        return tweet_events_pb2.TweetCreated(tweet_id=tweet_id, author_id=author, entities=entities, **fields)

    await counter.on_created(created(tweet_id, 1, "Chirp", "CHIRP", "other"), DELIVERY)
    await counter.on_created(created(tweet_id + 1, 2, "chirp", retweeted_tweet_id=tweet_id), DELIVERY)
    await counter.on_created(created(tweet_id + 2, 3, "chirp", author_protected=True), DELIVERY)
    assert await counts(windows) == {"chirp": (1, 1), "other": (1, 1)}
    deleted = tweet_events_pb2.TweetDeleted(tweet_id=tweet_id, author_id=1, hashtags=["chirp", "other"])
    await counter.on_deleted(deleted, DELIVERY)
    await counter.on_deleted(deleted, DELIVERY)
    assert await counts(windows) == {}


async def test_the_state_survives_a_restart(redis: Redis, prefix: str) -> None:
    clock = Clock()
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    for author in range(1, 5):
        await windows.add(use(author, "survivor"), now=T0)
    first = await Ranker(windows, clock=clock).refresh()
    # A new process: new objects, the same Redis.
    again = TrendWindows(redis, PARAMS, prefix=prefix)
    served = await TrendsService(again, clock=clock).ListTrends(_request(), None)  # type: ignore[arg-type]
    assert served == first
    assert [(t.hashtag, t.tweet_count, t.author_count) for t in served.trends] == [("survivor", 4, 4)]
    assert await again.sampled_bucket() == PARAMS.bucket_of(T0)
    _, baselines = await again.baselines(["survivor"])
    assert baselines["survivor"].last == pytest.approx(4.0)


async def test_one_baseline_sample_per_bucket_whoever_computes(redis: Redis, prefix: str) -> None:
    clock = Clock()
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    for author in range(1, 4):
        await windows.add(use(author, "t"), now=T0)
    one, two = Ranker(windows, clock=clock), Ranker(TrendWindows(redis, PARAMS, prefix=prefix), clock=clock)
    await one.refresh()
    await windows.add(use(9, "t"), now=T0)
    await two.refresh()  # same bucket: scores again, but does not sample again
    _, baselines = await windows.baselines(["t"])
    assert baselines["t"].last == pytest.approx(3.0)
    assert baselines["t"].at == PARAMS.bucket_of(T0)
    # A stale read loses the compare-and-set.
    cursor, _ = await windows.baselines([])
    clock.now += PARAMS.bucket_seconds
    await one.refresh()
    assert not await windows.save_sample(read_cursor=cursor, bucket=PARAMS.bucket_of(clock.now) + 1, baselines={})


async def test_a_burst_ranks_above_a_steady_tag_through_redis(redis: Redis, prefix: str) -> None:
    """The whole pipeline with a moving clock: two hours of a steady tag, then a burst of a new one."""
    clock = Clock()
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    ranker = Ranker(windows, clock=clock)
    author = 1000
    for _ in range(120):
        for _ in range(6):
            author += 1
            await windows.add(use(author, "steady", at=clock.now), now=clock.now)
        await ranker.refresh()
        clock.now += PARAMS.bucket_seconds
    for burst_author in range(1, 6):
        await windows.add(use(burst_author, "burst", at=clock.now), now=clock.now)
    await windows.add(use(author + 1, "steady", at=clock.now), now=clock.now)
    answer = await ranker.refresh()
    ranked = {t.hashtag: t for t in answer.trends}
    assert [t.hashtag for t in answer.trends] == ["burst"]
    assert ranked["burst"].tweet_count == 5 and ranked["burst"].score == pytest.approx(5.0)
    assert "steady" not in ranked
    steady = {w.tag: w for w in await windows.window(PARAMS.bucket_of(clock.now))}["steady"]
    assert steady.tweet_count == 6 * 9 + 1  # far more tweets in the window than the burst
    assert answer.window_end.seconds == int(clock.now)
    assert answer.window_start.seconds == int(clock.now) - PARAMS.window_seconds + PARAMS.bucket_seconds


async def test_list_trends_limits_and_answers_empty_before_the_first_computation(redis: Redis, prefix: str) -> None:
    clock = Clock()
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    service = TrendsService(windows, clock=clock)
    empty = await service.ListTrends(_request(), None)  # type: ignore[arg-type]
    assert list(empty.trends) == [] and empty.window_end.seconds == int(T0)
    for n in range(12):
        for author in range(3 + n):
            await windows.add(use(author, f"tag{n}"), now=T0)
    await Ranker(windows, clock=clock).refresh()
    assert len((await service.ListTrends(_request(), None)).trends) == 10  # type: ignore[arg-type]
    three = await service.ListTrends(_request(limit=3), None)  # type: ignore[arg-type]
    assert [t.hashtag for t in three.trends] == ["tag11", "tag10", "tag9"]


def _request(limit: int = 0) -> trends_service_pb2.ListTrendsRequest:
    return trends_service_pb2.ListTrendsRequest(limit=limit)


def _snowflake_at(seconds: float) -> int:
    return min_id_at(datetime.fromtimestamp(seconds, UTC))


async def test_a_tweet_counted_between_the_two_reads_of_a_window_is_seen_whole(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows = TrendWindows(redis, PARAMS, prefix=prefix)
    for author in (1, 2, 3):
        await windows.add(use(author, "race"), now=T0)
    read_windows = windows._windows
    arrived: list[bool] = []

    async def with_a_tweet_arriving(bucket: int, counts: Any) -> Any:
        if not arrived:  # between the first read of the counts and the read of the author sets
            arrived.append(True)
            await windows.add(use(4, "race"), now=T0)
        return await read_windows(bucket, counts)

    monkeypatch.setattr(windows, "_windows", with_a_tweet_arriving)
    assert await counts(windows) == {"race": (4, 4)}
