"""The timeline cache and its scripts against a real Valkey server."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from itertools import count

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from services.timeline.cache import CachedPage, Entry, TimelineCache

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Snowflake-sized ids: beyond 2**53, where a float score (or a Lua number) would round neighbours together.
BASE = 2**62
_users = count(1_000_000)


def user() -> int:
    """A user id no other test uses (the server is shared by the session)."""
    return next(_users)


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def built(cache: TimelineCache, *, famous: tuple[int, ...] = ()) -> int:
    """A fresh user with an (empty) built timeline."""
    u = user()
    await cache.begin_build(u)
    await cache.finish_build(u, [], famous)
    return u


async def test_pages_are_newest_first_and_exact_for_snowflake_sized_ids(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache)
    for offset in range(5):
        await cache.push([u], Entry(BASE + offset))
    assert await cache.read(u, before=None, limit=3) == CachedPage([BASE + 4, BASE + 3, BASE + 2], [])
    page = await cache.read(u, before=BASE + 2, limit=3)
    assert page is not None and page.tweet_ids == [BASE + 1, BASE]


async def test_a_timeline_that_is_not_built_reads_as_none_and_takes_no_pushes(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = user()
    assert await cache.push([u], Entry(BASE)) == 0
    assert await cache.read(u, before=None, limit=10) is None
    assert not await cache.exists(u)


async def test_push_writes_only_existing_timelines_and_counts_them(redis: Redis) -> None:
    cache = TimelineCache(redis)
    active = [await built(cache) for _ in range(3)]
    inactive = [user() for _ in range(1200)]  # more than one script call's worth
    mixed = [*inactive[:600], *active, *inactive[600:]]
    assert await cache.push(mixed, Entry(BASE + 1)) == 3
    for u in active:
        assert await cache.members(u) == [BASE + 1]
    assert await redis.exists(*(f"timeline:{{{u}}}:home" for u in inactive)) == 0


async def test_a_timeline_being_built_takes_pushes_but_does_not_read_as_built(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = user()
    await cache.begin_build(u)
    assert await cache.push([u], Entry(BASE + 9)) == 1
    assert await cache.read(u, before=None, limit=10) is None
    await cache.finish_build(u, [Entry(BASE + 1), Entry(BASE + 2)], famous=[42])
    assert await cache.read(u, before=None, limit=10) == CachedPage([BASE + 9, BASE + 2, BASE + 1], [42])


async def test_capacity_drops_the_oldest(redis: Redis) -> None:
    cache = TimelineCache(redis, capacity=3)
    u = await built(cache)
    for offset in range(5):
        await cache.push([u], Entry(BASE + offset))
    assert await cache.members(u) == [BASE + 4, BASE + 3, BASE + 2]
    assert await cache.exists(u)  # the sentinel stays


async def test_a_pushed_id_appears_once_however_often_it_is_delivered(redis: Redis) -> None:
    cache = TimelineCache(redis)
    a, b = await built(cache), await built(cache)
    for _ in range(3):
        await cache.push([a, b], Entry(BASE))
        await cache.push([a], Entry(BASE + 5, retweet_of=BASE - 7))
    assert await cache.members(a) == [BASE + 5, BASE]
    assert await cache.members(b) == [BASE]


async def test_an_empty_built_timeline_reads_empty(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache)
    assert await cache.read(u, before=None, limit=10) == CachedPage([], [])


async def test_remove_takes_the_id_out_idempotently(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache)
    await cache.push([u], Entry(BASE + 1))
    await cache.push([u], Entry(BASE + 2))
    for _ in range(2):
        await cache.remove([u], BASE + 1)
    assert await cache.members(u) == [BASE + 2]


# --- retweets: one entry per tweet ----------------------------------------------------------------------------


async def test_a_retweet_of_a_tweet_already_shown_is_not_shown_again(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache)
    await cache.push([u], Entry(BASE + 1))
    await cache.push([u], Entry(BASE + 2, retweet_of=BASE + 1))
    assert await cache.members(u) == [BASE + 1]


async def test_two_retweets_of_one_tweet_show_once_as_the_oldest(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache)
    await cache.push([u], Entry(BASE + 3, retweet_of=BASE + 1))
    await cache.push([u], Entry(BASE + 2, retweet_of=BASE + 1))  # older, delivered later
    await cache.push([u], Entry(BASE + 4, retweet_of=BASE + 1))
    assert await cache.members(u) == [BASE + 2]


async def test_the_original_arriving_after_its_retweet_replaces_it(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache)
    await cache.push([u], Entry(BASE + 3, retweet_of=BASE + 1))
    await cache.merge(u, [Entry(BASE + 1)])  # a follow of the original's author
    assert await cache.members(u) == [BASE + 1]


async def test_when_the_shown_entry_goes_the_next_of_its_group_is_shown(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache)
    await cache.push([u], Entry(BASE + 1))
    await cache.push([u], Entry(BASE + 2, retweet_of=BASE + 1))
    await cache.push([u], Entry(BASE + 3, retweet_of=BASE + 1))
    await cache.remove_ids(u, [BASE + 1])  # unfollowed the original's author
    assert await cache.members(u) == [BASE + 2]
    await cache.remove([u], BASE + 2)  # that retweet undone
    assert await cache.members(u) == [BASE + 3]
    await cache.remove([u], BASE + 3)
    assert await cache.members(u) == []
    assert await cache.read(u, before=None, limit=5) == CachedPage([], [])


async def test_removing_a_retweet_that_is_not_shown_keeps_the_shown_one(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache)
    await cache.push([u], Entry(BASE + 2, retweet_of=BASE + 1))
    await cache.push([u], Entry(BASE + 3, retweet_of=BASE + 1))
    await cache.remove([u], BASE + 3)
    assert await cache.members(u) == [BASE + 2]
    await cache.remove([u], BASE + 2)
    assert await cache.members(u) == []


async def test_trimming_the_shown_entry_of_a_group_shows_the_next_in_the_window(redis: Redis) -> None:
    cache = TimelineCache(redis, capacity=3)
    u = await built(cache)
    await cache.push([u], Entry(BASE + 1))
    await cache.push([u], Entry(BASE + 2))
    await cache.push([u], Entry(BASE + 3))
    await cache.push([u], Entry(BASE + 4, retweet_of=BASE + 1))  # absorbed: the original is shown
    assert await cache.members(u) == [BASE + 3, BASE + 2, BASE + 1]
    await cache.push([u], Entry(BASE + 5))  # the original is trimmed; its retweet is in the window
    assert await cache.members(u) == [BASE + 5, BASE + 4, BASE + 3]


def _scenario(rng: random.Random) -> list[Entry]:
    """Originals and retweets of them (and of tweets from outside), in id order."""
    entries: list[Entry] = []
    for i in range(rng.randrange(20, 60)):
        tweet_id = BASE + 100 + i
        if entries and rng.random() < 0.4:
            target = rng.choice(entries)
            original = target.retweet_of or target.tweet_id
            entries.append(Entry(tweet_id, original if rng.random() < 0.7 else BASE + rng.randrange(0, 50)))
        else:
            entries.append(Entry(tweet_id))
    return entries


@pytest.mark.parametrize("seed", range(8))
async def test_the_content_does_not_depend_on_delivery_order_or_path(redis: Redis, seed: int) -> None:
    """Pushed one by one in any order, redelivered, merged at once as a rebuild does: the same timeline."""
    rng = random.Random(seed)
    cache = TimelineCache(redis, capacity=1000)
    entries = _scenario(rng)
    pushed = await built(cache)
    for entry in entries:
        await cache.push([pushed], entry)
    shuffled = await built(cache)
    for entry in rng.sample(entries, len(entries)) + rng.sample(entries, len(entries) // 3):
        await cache.push([shuffled], entry)
    rebuilt = user()
    await cache.begin_build(rebuilt)
    await cache.finish_build(rebuilt, entries, [])
    expected = await cache.members(pushed)
    assert await cache.members(shuffled) == expected
    assert await cache.members(rebuilt) == expected
    # One entry per tweet: the original if delivered, else its oldest retweet.
    shown_originals = [next(e.retweet_of or e.tweet_id for e in entries if e.tweet_id == m) for m in expected]
    assert len(shown_originals) == len(set(shown_originals))
    delivered = {e.retweet_of or e.tweet_id for e in entries}
    assert set(shown_originals) == delivered


# --- famous followees ---------------------------------------------------------------------------------------


async def test_famous_followees_are_added_only_to_built_timelines(redis: Redis) -> None:
    cache = TimelineCache(redis)
    ready, unbuilt = await built(cache, famous=(7,)), user()
    await cache.add_famous([ready, unbuilt], 9)
    page = await cache.read(ready, before=None, limit=1)
    assert page is not None and page.famous == [7, 9]
    assert not await redis.exists(f"timeline:{{{unbuilt}}}:famous")
    await cache.remove_famous(ready, 7)
    page = await cache.read(ready, before=None, limit=1)
    assert page is not None and page.famous == [9]


async def test_demote_merges_the_recent_tweets_then_stops_pulling(redis: Redis) -> None:
    cache = TimelineCache(redis)
    star = 77
    ready, unbuilt = await built(cache, famous=(star,)), user()
    await cache.push([ready], Entry(BASE + 5, retweet_of=BASE + 1))
    await cache.demote([ready, unbuilt], star, [Entry(BASE + 1), Entry(BASE + 3)])
    assert await cache.read(ready, before=None, limit=10) == CachedPage([BASE + 3, BASE + 1], [])
    assert not await cache.exists(unbuilt)


async def test_grouped_finds_tweets_shown_as_themselves_or_as_a_retweet(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache)
    await cache.push([u], Entry(BASE + 1))
    await cache.push([u], Entry(BASE + 4, retweet_of=BASE + 2))
    assert await cache.grouped(u, [BASE + 1, BASE + 2, BASE + 3]) == {BASE + 1, BASE + 2}


async def test_drop_makes_the_user_inactive(redis: Redis) -> None:
    cache = TimelineCache(redis)
    u = await built(cache, famous=(3,))
    await cache.push([u], Entry(BASE + 4, retweet_of=BASE + 2))
    await cache.drop(u)
    assert await cache.read(u, before=None, limit=10) is None
    assert await cache.push([u], Entry(BASE + 9)) == 0


async def test_reads_renew_the_idle_ttl_once_it_has_run_down_an_hour(redis: Redis) -> None:
    cache = TimelineCache(redis, idle_ttl=7200.0)
    u = await built(cache)
    await redis.pexpire(f"timeline:{{{u}}}:home", 7_000_000)
    await cache.read(u, before=None, limit=1)
    assert await redis.pttl(f"timeline:{{{u}}}:home") <= 7_000_000  # not yet
    await redis.pexpire(f"timeline:{{{u}}}:home", 3_000_000)
    await cache.read(u, before=None, limit=1)
    for part in ("home", "famous"):  # (no groups: a hash with no retweets delivered does not exist)
        assert 7_000_000 < await redis.pttl(f"timeline:{{{u}}}:{part}") <= 7_200_000


async def test_the_groups_of_a_timeline_expire_with_it(redis: Redis) -> None:
    cache = TimelineCache(redis, idle_ttl=100.0)
    u = await built(cache)
    await cache.push([u], Entry(BASE + 4, retweet_of=BASE + 2))
    assert 90_000 < await redis.pttl(f"timeline:{{{u}}}:groups") <= 100_000
