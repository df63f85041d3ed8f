"""The indexer against the real Typesense (and, once, real NATS): every handler idempotent and safe in any
order. The owning services are a fake of our own `Peers` interface, holding what they would answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from chirp.engagement.v1 import engagement_events_pb2
from chirp.graph.v1 import graph_events_pb2
from chirp.tweet.v1 import tweet_events_pb2, tweet_pb2
from chirp.user.v1 import user_events_pb2, user_pb2

from services.kit.events import Delivery, Events
from services.kit.timestamps import to_timestamp
from services.search.hashtag_index import HashtagMatch
from services.search.indexer import FollowerCounts, Indexer, consumers
from services.search.peers import Peers
from services.search.tweet_index import TweetFilter
from services.search.user_index import UserHit
from tests.search.conftest import Indexes

DELIVERY = Delivery(subject="test", msg_id="m", num_delivered=1, stream_sequence=1, published_at=datetime.now(UTC))


class FakePeers:
    """What the tweet and user services would answer: tweets as their authors see them, and users."""

    def __init__(self) -> None:
        self.tweets: dict[int, tweet_pb2.Tweet] = {}
        self.profiles: dict[int, user_pb2.User] = {}
        self.asked_as: list[tuple[int, int]] = []
        self.user_lookups: list[list[int]] = []

    async def tweet_as_author(self, tweet_id: int, author_id: int) -> tweet_pb2.Tweet | None:
        self.asked_as.append((tweet_id, author_id))
        tweet = self.tweets.get(tweet_id)
        return tweet if tweet is not None and tweet.author.id == author_id else None

    async def users(self, user_ids: list[int]) -> list[user_pb2.User]:
        self.user_lookups.append(list(user_ids))
        return [self.profiles[i] for i in user_ids if i in self.profiles]


def _peers(fake: FakePeers) -> Peers:
    return cast(Peers, fake)


def created(
    tweet_id: int, author_id: int = 1, text: str = "hello", *, tags: tuple[str, ...] = (), **more: Any
) -> tweet_events_pb2.TweetCreated:
    return tweet_events_pb2.TweetCreated(
        tweet_id=tweet_id,
        author_id=author_id,
        text=text,
        entities=tweet_pb2.TweetEntities(hashtags=[tweet_pb2.HashtagEntity(tag=t) for t in tags]),
        created_at=to_timestamp(time.time()),
        **more,
    )


def stored(
    tweet_id: int, author_id: int = 1, text: str = "hello", *, likes: int = 0, replies: int = 0
) -> tweet_pb2.Tweet:
    tweet = tweet_pb2.Tweet(
        id=tweet_id, text=text, like_count=likes, reply_count=replies, created_at=to_timestamp(time.time())
    )
    tweet.author.id = author_id
    return tweet


@pytest.fixture
def fake() -> FakePeers:
    return FakePeers()


@pytest.fixture
def indexer(indexes: Indexes, fake: FakePeers) -> Indexer:
    return Indexer(tweets=indexes.tweets, users=indexes.users, hashtags=indexes.hashtags, peers=_peers(fake))


async def _ids(indexes: Indexes, **where: Any) -> list[int]:
    hits, _ = await indexes.tweets.latest(TweetFilter(**where), before=None, limit=100)
    return [h.tweet_id for h in hits]


async def _tags(indexes: Indexes, prefix: str) -> list[HashtagMatch]:
    return (await indexes.hashtags.prefix(prefix, page=1, per_page=20))[0]


async def test_created_indexes_once_and_counts_hashtags(indexes: Indexes, indexer: Indexer) -> None:
    event = created(1, tags=("Chirp", "news"))
    for _ in range(3):  # redelivered
        await indexer.on_tweet_created(event, DELIVERY)
    await indexer.on_tweet_created(created(2, tags=("chirp",)), DELIVERY)
    assert await _ids(indexes, text="hello") == [2, 1]
    assert await _tags(indexes, "chirp") == [HashtagMatch("chirp", 2)]
    assert await _tags(indexes, "news") == [HashtagMatch("news", 1)]


async def test_retweet_rows_are_not_results(indexes: Indexes, indexer: Indexer) -> None:
    await indexer.on_tweet_created(created(3, text="", retweeted_tweet_id=1, retweeted_tweet_author_id=9), DELIVERY)
    await indexer.on_tweet_deleted(tweet_events_pb2.TweetDeleted(tweet_id=3, retweeted_tweet_id=1), DELIVERY)
    assert await indexes.tweets.get(3) is None
    assert await indexes.typesense.get_document(indexes.collections.tweets, "3") is None  # not even a tombstone


@pytest.mark.parametrize("deleted_first", [False, True])
async def test_deleted_in_either_order_stays_deleted_and_uncounted(
    indexes: Indexes, indexer: Indexer, deleted_first: bool
) -> None:
    deletion = tweet_events_pb2.TweetDeleted(tweet_id=5, author_id=1, hashtags=["gone"])
    if deleted_first:
        await indexer.on_tweet_deleted(deletion, DELIVERY)
    await indexer.on_tweet_created(created(5, text="ephemeral", tags=("gone",)), DELIVERY)
    await indexer.on_tweet_deleted(deletion, DELIVERY)
    await indexer.on_tweet_deleted(deletion, DELIVERY)
    assert await _ids(indexes, text="ephemeral") == []
    assert await _tags(indexes, "gone") == []


async def test_engagement_sets_counts_from_the_owner_whatever_the_order(
    indexes: Indexes, indexer: Indexer, fake: FakePeers
) -> None:
    like = engagement_events_pb2.TweetLiked(actor_user_id=2, tweet_id=7, tweet_author_id=1)
    fake.tweets[7] = stored(7, likes=1)
    await indexer.on_engagement(like, DELIVERY)  # before the tweet was indexed: the refresh creates it
    await indexer.on_tweet_created(created(7), DELIVERY)  # its zero counts do not overwrite the like
    document = await indexes.tweets.get(7)
    assert document is not None and document["like_count"] == 1
    fake.tweets[7] = stored(7, likes=2)
    for _ in range(3):
        await indexer.on_engagement(like, DELIVERY)
    document = await indexes.tweets.get(7)
    assert document is not None and document["like_count"] == 2  # set, however often delivered
    assert fake.asked_as[-1] == (7, 1)  # read as its author, who sees it whatever their settings


async def test_engagement_with_a_deleted_tweet_changes_nothing(
    indexes: Indexes, indexer: Indexer, fake: FakePeers
) -> None:
    await indexer.on_tweet_created(created(8, text="doomed"), DELIVERY)
    await indexer.on_tweet_deleted(tweet_events_pb2.TweetDeleted(tweet_id=8, author_id=1), DELIVERY)
    fake.tweets[8] = stored(8, text="doomed", likes=4)  # read just before the deletion
    await indexer.on_engagement(engagement_events_pb2.TweetLiked(tweet_id=8, tweet_author_id=1), DELIVERY)
    assert await _ids(indexes, text="doomed") == []


async def test_replies_and_quotes_refresh_their_parents_counts(
    indexes: Indexes, indexer: Indexer, fake: FakePeers
) -> None:
    await indexer.on_tweet_created(created(10, author_id=4, text="parent"), DELIVERY)
    fake.tweets[10] = stored(10, author_id=4, text="parent", replies=1)
    reply = created(11, author_id=5, text="child", reply_to_tweet_id=10, reply_to_user_id=4)
    await indexer.on_reply_or_quote_created(reply, DELIVERY)
    assert (await indexes.tweets.get(10) or {}).get("reply_count") == 1
    fake.tweets[10] = stored(10, author_id=4, text="parent", replies=0)
    await indexer.on_reply_or_quote_deleted(tweet_events_pb2.TweetDeleted(tweet_id=11, reply_to_tweet_id=10), DELIVERY)
    assert (await indexes.tweets.get(10) or {}).get("reply_count") == 0
    assert fake.asked_as[-1] == (10, 4)  # the parent's author, found in the index


async def test_profile_changes_and_protection_reach_users_and_tweets(
    indexes: Indexes, indexer: Indexer, fake: FakePeers
) -> None:
    fake.profiles[20] = user_pb2.User(id=20, username="dora", display_name="Dora", discoverable=True)
    await indexer.on_user_changed(user_events_pb2.UserCreated(user=user_pb2.User(id=20)), DELIVERY)
    await indexer.on_tweet_created(created(21, author_id=20, text="secretive", tags=("hush",)), DELIVERY)
    assert await _ids(indexes, text="secretive", public_only=True) == [21]
    assert await _tags(indexes, "hush") == [HashtagMatch("hush", 1)]

    fake.profiles[20] = user_pb2.User(id=20, username="dora", display_name="Dora Explorer", protected=True)
    update = user_events_pb2.UserUpdated(user=user_pb2.User(id=20, display_name="stale"))
    await indexer.on_user_changed(update, DELIVERY)
    await indexer.on_user_changed(update, DELIVERY)
    assert await _ids(indexes, text="secretive", public_only=True) == []
    assert await _ids(indexes, text="secretive") == [21]
    assert await _tags(indexes, "hush") == []
    hits, _ = await indexes.users.prefix("explorer", page=1, per_page=5)
    assert hits == []  # not discoverable any more: the profile was read from the owner, not the event
    assert await indexes.users.exact("dora") is not None


async def test_a_burst_of_sign_ups_is_one_lookup_and_one_import(
    indexes: Indexes, indexer: Indexer, fake: FakePeers
) -> None:
    ids = range(50, 80)
    for n in ids:
        fake.profiles[n] = user_pb2.User(id=n, username=f"burst{n}", display_name="Burst", discoverable=True)
    # As a consumer handles one fetch of events: all at once, one of them twice (a redelivery).
    events = [user_events_pb2.UserCreated(user=user_pb2.User(id=n)) for n in (*ids, 50)]
    await asyncio.gather(*(indexer.on_user_changed(e, DELIVERY) for e in events))
    assert fake.user_lookups == [list(ids)]
    assert [await indexes.users.exact(f"burst{n}") for n in ids] == [UserHit(n) for n in ids]


async def test_follower_counts_settle_then_refresh_in_one_batch(indexes: Indexes, fake: FakePeers) -> None:
    followers = FollowerCounts(indexes.users, _peers(fake), settle=0.2)
    task = asyncio.create_task(followers.run())
    try:
        fake.profiles[30] = user_pb2.User(id=30, username="famous", display_name="Famous", discoverable=True)
        fake.profiles[31] = user_pb2.User(id=31, username="famed", display_name="Famed", discoverable=True)
        await indexes.users.put(list(fake.profiles.values()))
        for target in (30, 30, 31):
            await followers.on_follow_changed(graph_events_pb2.Followed(target_user_id=target), DELIVERY)
        fake.profiles[30].follower_count = 2  # counted by the user service meanwhile
        fake.profiles[31].follower_count = 1
        deadline = time.monotonic() + 5
        while True:
            hits, _ = await indexes.users.prefix("fam", page=1, per_page=5)
            if [h.user_id for h in hits] == [30, 31]:
                break
            assert time.monotonic() < deadline, hits
            await asyncio.sleep(0.05)
    finally:
        task.cancel()


async def test_events_on_jetstream_reach_the_index(indexes: Indexes, indexer: Indexer, nats_url: str) -> None:
    events = await Events.connect(nats_url, service="search-test")
    try:
        for domain in ("tweet", "user", "engagement", "graph"):
            await events.ensure_stream(domain)
        followers = FollowerCounts(indexes.users, _peers(FakePeers()))
        tasks = [asyncio.create_task(loop) for _, loop in consumers(events, indexer, followers)]
        tweet_id = int(time.time() * 1000) * 1000 + uuid.uuid4().int % 1000
        text = f"jetstream{uuid.uuid4().hex[:8]}"
        await events.publish("chirp.tweet.created", created(tweet_id, text=text), msg_id=f"t{tweet_id}")
        deadline = time.monotonic() + 10
        while await _ids(indexes, text=text) != [tweet_id]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await events.publish(
            "chirp.tweet.deleted", tweet_events_pb2.TweetDeleted(tweet_id=tweet_id), msg_id=f"d{tweet_id}"
        )
        while await _ids(indexes, text=text):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await events.stop_consuming(within=6)
        for task in tasks:
            task.cancel()
    finally:
        await events.close()


async def test_follower_counts_retry_when_the_user_service_fails(indexes: Indexes, fake: FakePeers) -> None:
    class Flaky(FakePeers):
        calls = 0

        async def users(self, user_ids: list[int]) -> list[user_pb2.User]:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise ConnectionError("user service down")
            return await super().users(user_ids)

    flaky = Flaky()
    flaky.profiles[40] = user_pb2.User(id=40, username="later", display_name="Later", discoverable=True)
    followers = FollowerCounts(indexes.users, _peers(flaky), settle=0.05, retry=0.1)
    task = asyncio.create_task(followers.run())
    try:
        await followers.on_follow_changed(graph_events_pb2.Followed(target_user_id=40), DELIVERY)
        deadline = time.monotonic() + 5
        while await indexes.users.exact("later") is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert Flaky.calls == 2
    finally:
        task.cancel()
