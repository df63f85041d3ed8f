"""The home-timeline read path against a real Valkey, with the services it reads faked (tests.timeline.fakes):
merging pulled tweets, what is left out (mutes, blocks, unfollows, deletes, duplicates), and paging."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from tests.timeline.fakes import Timelines, World, ids_of, timelines

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def t(redis: Redis) -> Timelines:
    return timelines(redis, World(), famous_followers=3)


async def _star(t: Timelines) -> int:
    """An account with three followers: famous at CHIRP_FAMOUS_FOLLOWERS=3."""
    star = t.world.person()
    for _ in range(3):
        t.world.follow(t.world.person(), star)
    return star


async def test_a_first_read_rebuilds_and_the_rebuild_is_kept(t: Timelines) -> None:
    author, reader = t.world.person(), t.world.person()
    t.world.follow(reader, author)
    tweets = [t.world.post(author) for _ in range(3)]
    assert (await t.read(reader))[0] == ids_of(tweets)
    calls = t.world.calls.get("ListFollowingIds", 0)
    assert (await t.read(reader))[0] == ids_of(tweets)
    assert t.world.calls.get("ListFollowingIds", 0) == calls  # served from the cache


async def test_muted_authors_and_retweets_of_them_are_left_out(t: Timelines) -> None:
    reader, friend, muted = t.world.person(), t.world.person(), t.world.person()
    t.world.follow(reader, friend, muted)
    await t.built(reader)
    by_muted = t.world.post(muted)
    by_friend = t.world.post(friend)
    stranger_tweet = t.world.post(t.world.person())
    retweet_by_muted = t.world.post(muted, retweet_of=stranger_tweet.tweet_id)
    muted_elsewhere = t.world.post(t.world.person())
    await t.deliver(by_muted, by_friend, retweet_by_muted)
    t.world.mutes.add((reader, muted))
    assert (await t.read(reader))[0] == [by_friend.tweet_id]
    # A friend's retweet of a muted author's tweet is left out too.
    t.world.tweets[muted_elsewhere.tweet_id].author = muted
    retweet_of_muted = t.world.post(friend, retweet_of=muted_elsewhere.tweet_id)
    await t.deliver(retweet_of_muted)
    assert (await t.read(reader))[0] == [by_friend.tweet_id]
    t.world.mutes.clear()
    assert by_muted.tweet_id in (await t.read(reader))[0]


async def test_an_unfollowed_authors_tweets_leave_at_once_before_the_event_is_applied(t: Timelines) -> None:
    reader, author, friend = t.world.person(), t.world.person(), t.world.person()
    t.world.follow(reader, author, friend)
    await t.built(reader)
    await t.deliver(first := t.world.post(author), second := t.world.post(friend))
    t.world.follows.discard((reader, author))
    assert (await t.read(reader))[0] == [second.tweet_id]
    assert first.tweet_id in await t.cache.members(reader)


async def test_blocked_and_deleted_tweets_are_left_out_by_hydration(t: Timelines) -> None:
    reader, friend, blocker = t.world.person(), t.world.person(), t.world.person()
    t.world.follow(reader, friend, blocker)
    await t.built(reader)
    deleted, kept = t.world.post(friend), t.world.post(friend)
    blocked_tweet = t.world.post(blocker)
    retweet_of_blocked = t.world.post(friend, retweet_of=blocked_tweet.tweet_id)
    await t.deliver(deleted, kept, retweet_of_blocked)
    t.world.delete(deleted.tweet_id)  # before the fan-out hears of it
    t.world.blocks.add((blocker, reader))
    assert (await t.read(reader))[0] == [kept.tweet_id]


async def test_a_famous_accounts_tweets_are_merged_in_order(t: Timelines) -> None:
    star = await _star(t)
    reader, friend = t.world.person(), t.world.person()
    t.world.follow(reader, star, friend)
    await t.built(reader)
    events = [t.world.post(who) for who in (friend, star, friend, star, star, friend)]
    await t.deliver(*events)
    assert (await t.read(reader))[0] == ids_of(events)
    assert await t.read_all(reader, size=2) == ids_of(events)


async def test_a_famous_retweet_of_a_tweet_already_shown_is_not_shown_again(t: Timelines) -> None:
    star, other_star = await _star(t), await _star(t)
    reader, friend = t.world.person(), t.world.person()
    t.world.follow(reader, star, other_star, friend)
    await t.built(reader)
    original = t.world.post(friend)
    by_star = t.world.post(star, retweet_of=original.tweet_id)
    own = t.world.post(other_star)
    by_friend = t.world.post(friend, retweet_of=own.tweet_id)
    await t.deliver(original, by_star, own, by_friend)
    # The friend's tweet once (not the star's retweet); the other star's tweet once (not the friend's retweet).
    assert (await t.read(reader))[0] == [own.tweet_id, original.tweet_id]


async def test_two_famous_retweets_of_one_tweet_show_once(t: Timelines) -> None:
    star, other_star = await _star(t), await _star(t)
    reader = t.world.person()
    t.world.follow(reader, star, other_star)
    await t.built(reader)
    original = t.world.post(t.world.person())
    first, second = (
        t.world.post(star, retweet_of=original.tweet_id),
        t.world.post(other_star, retweet_of=original.tweet_id),
    )
    await t.deliver(original, first, second)
    assert (await t.read(reader))[0] == [first.tweet_id]


async def test_paging_while_tweets_arrive_neither_skips_nor_repeats(t: Timelines) -> None:
    star = await _star(t)
    reader, friend = t.world.person(), t.world.person()
    t.world.follow(reader, star, friend)
    await t.built(reader)
    before = [t.world.post(who) for who in (friend, star) * 10]
    await t.deliver(*before)
    seen: list[int] = []
    cursor: int | None = None
    arrived = []
    while True:
        ids, token = await t.read(reader, size=3, before=cursor)
        seen += ids
        arrived += [t.world.post(friend), t.world.post(star)]  # newer than any cursor
        await t.deliver(*arrived[-2:])
        if not token:
            break
        cursor = int(token)
    assert seen == ids_of(before)
    assert (await t.read(reader, size=100))[0] == ids_of(before + arrived)


async def test_the_cursor_moves_past_entries_that_are_left_out(t: Timelines) -> None:
    reader, friend, muted = t.world.person(), t.world.person(), t.world.person()
    t.world.follow(reader, friend, muted)
    await t.built(reader)
    events = [t.world.post(muted) for _ in range(3)] + [t.world.post(friend)]
    await t.deliver(*events)
    t.world.mutes.add((reader, muted))
    ids, token = await t.read(reader, size=2)
    assert ids == [events[3].tweet_id]
    assert token == str(events[2].tweet_id)  # a short page, and more to come
    ids, token = await t.read(reader, size=2, before=int(token))
    assert (ids, token) == ([], str(events[0].tweet_id))  # an empty page, not the end
    assert await t.read(reader, size=2, before=int(token)) == ([], "")


async def test_a_famous_account_whose_list_is_evicted_is_read_from_the_store(t: Timelines) -> None:
    star = await _star(t)
    reader = t.world.person()
    t.world.follow(reader, star)
    await t.built(reader)
    tweet = t.world.post(star)
    await t.deliver(tweet)
    await t.registry.forget(star)  # evicted
    calls = t.world.calls.get("ListAuthorTweetIds", 0)
    assert (await t.read(reader))[0] == [tweet.tweet_id]
    assert t.world.calls.get("ListAuthorTweetIds", 0) == calls + 1


async def test_a_former_famous_account_left_among_the_pulled_ones_is_dropped_from_them(t: Timelines) -> None:
    reader, former = t.world.person(), t.world.person()
    t.world.follow(reader, former)
    await t.built(reader)
    await t.cache.add_famous([reader], former)  # as a rebuild racing a demotion can leave it
    tweet = t.world.post(former)
    await t.deliver(tweet)  # ordinary: pushed
    assert (await t.read(reader))[0] == [tweet.tweet_id]
    page = await t.cache.read(reader, before=None, limit=1)
    assert page is not None and page.famous == []
