"""Hybrid fan-out against a real Valkey, with the graph, tweet, user and classification services faked in
memory (tests.timeline.fakes): push for ordinary authors, pull for famous ones, nothing for inactive readers,
the graph and class changes, and the equivalence of a rebuilt timeline with a pushed one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from chirp.classification.v1 import classification_events_pb2, classification_pb2
from chirp.graph.v1 import graph_events_pb2
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from tests.timeline.fakes import DELIVERY, Timelines, World, timelines

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def t(redis: Redis) -> Timelines:
    return timelines(redis, World(), famous_followers=3)


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_ordinary_tweet_reaches_the_author_and_active_followers_only(t: Timelines, redis: Redis) -> None:
    author, active, inactive = t.world.person(), t.world.person(), t.world.person()
    t.world.follow(active, author)
    t.world.follow(inactive, author)
    await t.built(author, active)
    written, skipped = (
        _metric("chirp_fanout_timelines_total", outcome="written"),
        _metric("chirp_fanout_timelines_total", outcome="inactive"),
    )
    lags = _metric("chirp_fanout_lag_seconds_count", path="push")

    tweet = t.world.post(author)
    await t.deliver(tweet)

    assert await t.cache.members(active) == [tweet.tweet_id]
    assert await t.cache.members(author) == [tweet.tweet_id]
    assert not await t.cache.exists(inactive)  # not created by the push: rebuilt when they read
    assert _metric("chirp_fanout_timelines_total", outcome="written") == written + 2  # the author's own too
    assert _metric("chirp_fanout_timelines_total", outcome="inactive") == skipped + 1
    assert _metric("chirp_fanout_lag_seconds_count", path="push") == lags + 1
    # The inactive follower's first read rebuilds their timeline with the tweet in it.
    assert (await t.read(inactive))[0] == [tweet.tweet_id]


async def test_delivering_an_event_twice_delivers_once(t: Timelines) -> None:
    author, reader = t.world.person(), t.world.person()
    t.world.follow(reader, author)
    await t.built(reader)
    original = t.world.post(author)
    retweet = t.world.post(author, retweet_of=t.world.post(t.world.person()).tweet_id)
    await t.deliver(original, original, retweet, retweet)
    assert await t.cache.members(reader) == [retweet.tweet_id, original.tweet_id]
    deleted = t.world.delete(original.tweet_id)
    for _ in range(2):
        await t.fanout.on_tweet_deleted(deleted, DELIVERY)
    assert await t.cache.members(reader) == [retweet.tweet_id]


async def test_a_famous_authors_tweet_is_pulled_not_pushed(t: Timelines) -> None:
    star = t.world.person()
    fans = [t.world.person() for _ in range(3)]  # CHIRP_FAMOUS_FOLLOWERS=3 here
    for fan in fans:
        t.world.follow(fan, star)
    await t.built(star, *fans[:2])
    pulls = _metric("chirp_fanout_lag_seconds_count", path="pull")

    tweet = t.world.post(star)
    await t.deliver(tweet)

    assert await t.registry.since(star) is not None
    assert await t.cache.members(fans[0]) == []  # not pushed
    assert _metric("chirp_fanout_lag_seconds_count", path="pull") == pulls + 1
    for fan in fans:  # built before the promotion, and rebuilt after it
        assert (await t.read(fan))[0] == [tweet.tweet_id]
    assert await t.cache.members(fans[2]) == []
    assert await t.cache.members(star) == [tweet.tweet_id]  # the author's own timeline still gets it


async def test_a_famous_authors_deleted_tweet_leaves_the_pulled_list(t: Timelines) -> None:
    star = t.world.person()
    fans = [t.world.person() for _ in range(3)]
    for fan in fans:
        t.world.follow(fan, star)
    await t.built(fans[0])
    old, new = t.world.post(star), t.world.post(star)
    await t.deliver(old, new)
    await t.fanout.on_tweet_deleted(t.world.delete(new.tweet_id), DELIVERY)
    assert (await t.registry.newest([star], before=None, limit=10)).tweet_ids == [old.tweet_id]
    assert (await t.read(fans[0]))[0] == [old.tweet_id]


async def test_tweets_pushed_before_a_promotion_stay_and_are_not_shown_twice(t: Timelines) -> None:
    star, reader = t.world.person(), t.world.person()
    t.world.follow(reader, star)
    await t.built(reader)
    early = t.world.post(star)
    await t.deliver(early)  # one follower: ordinary, pushed
    for _ in range(2):
        t.world.follow(t.world.person(), star)
    late = t.world.post(star)
    await t.deliver(late)  # three followers: famous, pulled
    assert await t.cache.members(reader) == [early.tweet_id]
    assert (await t.read(reader))[0] == [late.tweet_id, early.tweet_id]
    # Deleting a tweet from before the promotion still reaches the followers' timelines.
    await t.fanout.on_tweet_deleted(t.world.delete(early.tweet_id), DELIVERY)
    assert await t.cache.members(reader) == []


async def test_a_demoted_author_is_pushed_again_and_their_recent_tweets_move_into_timelines(t: Timelines) -> None:
    star, reader = t.world.person(), t.world.person()
    others = [t.world.person() for _ in range(2)]
    for fan in (reader, *others):
        t.world.follow(fan, star)
    await t.built(reader)
    pulled = t.world.post(star)
    await t.deliver(pulled)
    assert await t.cache.members(reader) == []

    t.world.follows.discard((others[0], star))  # down to two followers: ordinary again
    pushed = t.world.post(star)
    await t.deliver(pushed)

    assert await t.registry.since(star) is None
    assert await t.cache.members(reader) == [pushed.tweet_id, pulled.tweet_id]
    page = await t.cache.read(reader, before=None, limit=10)
    assert page is not None and page.famous == []
    assert (await t.read(reader))[0] == [pushed.tweet_id, pulled.tweet_id]


async def test_the_classification_service_decides_when_it_answers(redis: Redis) -> None:
    world = World(classes={})
    t = timelines(redis, world, famous_followers=1)  # the fallback rule would call everyone famous
    author, reader = world.person(), world.person()
    world.follow(reader, author)
    await t.built(reader)
    tweet = world.post(author)
    await t.deliver(tweet)
    assert await t.cache.members(reader) == [tweet.tweet_id]  # ACTIVE: pushed

    assert world.classes is not None
    world.classes[author] = classification_pb2.USER_CLASS_FAMOUS
    await t.classes.on_changed(
        classification_events_pb2.UserClassChanged(
            user_id=author,
            previous_class=classification_pb2.USER_CLASS_ACTIVE,
            user_class=classification_pb2.USER_CLASS_FAMOUS,
        ),
        DELIVERY,
    )
    page = await t.cache.read(reader, before=None, limit=10)
    assert page is not None and page.famous == [author]


async def test_becoming_inactive_drops_the_timeline_unless_the_user_is_back_already(redis: Redis) -> None:
    world = World(classes={})
    t = timelines(redis, world)
    author, reader, back = world.person(), world.person(), world.person()
    world.follow(reader, author)
    world.follow(back, author)
    await t.built(reader, back)
    assert world.classes is not None
    world.classes[reader] = classification_pb2.USER_CLASS_INACTIVE
    world.classes[back] = classification_pb2.USER_CLASS_PASSIVE  # the event is late: they read since
    for user in (reader, back):
        await t.classes.on_changed(
            classification_events_pb2.UserClassChanged(
                user_id=user,
                previous_class=classification_pb2.USER_CLASS_PASSIVE,
                user_class=classification_pb2.USER_CLASS_INACTIVE,
            ),
            DELIVERY,
        )
    tweet = world.post(author)
    await t.deliver(tweet)
    assert not await t.cache.exists(reader)
    assert await t.cache.members(back) == [tweet.tweet_id]
    assert world.visits == []
    assert (await t.read(reader))[0] == [tweet.tweet_id]  # rebuilt on return
    assert world.visits == [reader]  # reported before the rebuild: PASSIVE again, pushes reach it


# --- follows, unfollows, blocks -------------------------------------------------------------------------------


async def test_a_follow_merges_the_followees_recent_tweets(t: Timelines) -> None:
    author, reader, other = t.world.person(), t.world.person(), t.world.person()
    t.world.follow(reader, other)
    await t.built(reader)
    before = t.world.post(author)
    mine = t.world.post(other)
    await t.deliver(before, mine)
    assert await t.cache.members(reader) == [mine.tweet_id]

    t.world.follow(reader, author)
    await t.graph.on_followed(graph_events_pb2.Followed(actor_user_id=reader, target_user_id=author), DELIVERY)
    assert await t.cache.members(reader) == [mine.tweet_id, before.tweet_id]


async def test_following_a_famous_account_adds_it_to_the_pulled_accounts(t: Timelines) -> None:
    star, reader = t.world.person(), t.world.person()
    for _ in range(3):
        t.world.follow(t.world.person(), star)
    await t.built(reader)
    tweet = t.world.post(star)
    await t.deliver(tweet)
    t.world.follow(reader, star)
    await t.graph.on_followed(graph_events_pb2.Followed(actor_user_id=reader, target_user_id=star), DELIVERY)
    assert await t.cache.members(reader) == []
    assert (await t.read(reader))[0] == [tweet.tweet_id]


async def test_an_unfollow_takes_the_authors_tweets_and_retweets_out(t: Timelines) -> None:
    author, reader, friend = t.world.person(), t.world.person(), t.world.person()
    t.world.follow(reader, author, friend)
    await t.built(reader)
    original = t.world.post(friend)
    retweet = t.world.post(author, retweet_of=original.tweet_id)
    own = t.world.post(author)
    liked = t.world.post(t.world.person())
    retweet_of_other = t.world.post(author, retweet_of=liked.tweet_id)
    friends_retweet = t.world.post(friend, retweet_of=liked.tweet_id)
    await t.deliver(original, retweet, own, retweet_of_other, friends_retweet)
    assert await t.cache.members(reader) == [retweet_of_other.tweet_id, own.tweet_id, original.tweet_id]

    t.world.follows.discard((reader, author))
    for _ in range(2):  # and once more, redelivered
        await t.graph.on_unfollowed(graph_events_pb2.Unfollowed(actor_user_id=reader, target_user_id=author), DELIVERY)
    # The friend's retweet of the same tweet takes the place of the author's.
    assert await t.cache.members(reader) == [friends_retweet.tweet_id, original.tweet_id]


async def test_a_block_takes_each_ones_tweets_out_of_the_others_timeline(t: Timelines) -> None:
    a, b = t.world.person(), t.world.person()
    t.world.follow(a, b)
    t.world.follow(b, a)
    await t.built(a, b)
    from_a, from_b = t.world.post(a), t.world.post(b)
    await t.deliver(from_a, from_b)
    t.world.follows -= {(a, b), (b, a)}
    t.world.blocks.add((a, b))
    await t.graph.on_blocked(graph_events_pb2.Blocked(actor_user_id=a, target_user_id=b), DELIVERY)
    assert await t.cache.members(a) == [from_a.tweet_id]
    assert await t.cache.members(b) == [from_b.tweet_id]


# --- rebuild equivalence --------------------------------------------------------------------------------------


async def test_a_rebuilt_timeline_equals_the_pushed_one(t: Timelines) -> None:
    """Two readers following the same accounts: one built before everything was posted (so filled by pushes,
    promotions, follows and deletes), the other rebuilt from the stores afterwards."""
    world = t.world
    pushed, rebuilt = world.person(), world.person()
    authors = [world.person() for _ in range(4)]
    star, stranger = world.person(), world.person()
    for reader in (pushed, rebuilt):
        world.follow(reader, *authors[:3], star)  # the star has two followers: ordinary for now
    await t.built(pushed)

    events = []
    for round_ in range(6):
        posted = {who: world.post(who) for who in (*authors, star, stranger, pushed, rebuilt)}
        events += posted.values()
        events.append(world.post(authors[round_ % 3], retweet_of=posted[authors[1]].tweet_id))  # a followee's
        events.append(world.post(authors[(round_ + 1) % 3], retweet_of=posted[stranger].tweet_id))  # a stranger's
        events.append(world.post(authors[(round_ + 2) % 3], retweet_of=posted[stranger].tweet_id))  # the same
        events.append(world.post(star, retweet_of=posted[authors[0]].tweet_id))
    await t.deliver(*events)
    # The third follower arrives midway: the star is promoted and pulled from then on.
    world.follow(world.person(), star)
    later = [world.post(star), world.post(authors[0], retweet_of=events[0].tweet_id), world.post(authors[1])]
    await t.deliver(*later)
    # A follow of the fourth author, an unfollow of the third, a delete.
    world.follow(pushed, authors[3])
    world.follow(rebuilt, authors[3])
    await t.graph.on_followed(graph_events_pb2.Followed(actor_user_id=pushed, target_user_id=authors[3]), DELIVERY)
    world.follows -= {(pushed, authors[2]), (rebuilt, authors[2])}
    await t.graph.on_unfollowed(graph_events_pb2.Unfollowed(actor_user_id=pushed, target_user_id=authors[2]), DELIVERY)
    await t.fanout.on_tweet_deleted(world.delete(events[3].tweet_id), DELIVERY)

    await t.built(rebuilt)
    # Own tweets differ by reader, so the timelines are compared without them. The star's tweets from before
    # the promotion were pushed, while a rebuild leaves a famous account's tweets to the pull: the caches
    # differ by those, and the pages read do not.
    own = {e.tweet_id for e in (*events, *later) if e.author_id in (pushed, rebuilt)}
    stars = {e.tweet_id for e in (*events, *later) if e.author_id == star}
    pushed_ids = [i for i in await t.cache.members(pushed) if i not in own]
    rebuilt_ids = [i for i in await t.cache.members(rebuilt) if i not in own]
    assert [i for i in pushed_ids if i not in stars] == rebuilt_ids
    assert len(rebuilt_ids) > 20
    pushed_page = await t.cache.read(pushed, before=None, limit=1)
    rebuilt_page = await t.cache.read(rebuilt, before=None, limit=1)
    assert pushed_page is not None and rebuilt_page is not None
    assert pushed_page.famous == rebuilt_page.famous == [star]
    pushed_read = [i for i in await t.read_all(pushed, size=7) if i not in own]
    rebuilt_read = [i for i in await t.read_all(rebuilt, size=7) if i not in own]
    assert pushed_read == rebuilt_read
    assert stars & set(pushed_read) == {
        e.tweet_id for e in (*events, *later) if e.author_id == star and not e.retweeted_tweet_id
    }
    assert later[0].tweet_id in pushed_read  # pulled


async def test_an_evicted_timeline_rebuilds_to_the_same_content(t: Timelines, redis: Redis) -> None:
    author, reader, friend = t.world.person(), t.world.person(), t.world.person()
    t.world.follow(reader, author, friend)
    await t.built(reader)
    events = [t.world.post(author), t.world.post(friend)]
    events += [t.world.post(friend, retweet_of=events[0].tweet_id), t.world.post(author, retweet_of=events[1].tweet_id)]
    events += [t.world.post(author, retweet_of=t.world.post(t.world.person()).tweet_id) for _ in range(3)]
    await t.deliver(*events)
    before_eviction = await t.read_all(reader, size=4)
    await t.cache.drop(reader)
    assert await t.read_all(reader, size=4) == before_eviction
