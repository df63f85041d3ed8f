"""The follower, following and tweet counters, kept from graph and tweet events on a real JetStream into a real
SQLite store: exact after any order of events, unmoved by redelivery, never shown below zero."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chirp.graph.v1 import graph_events_pb2
from chirp.tweet.v1 import tweet_events_pb2
from google.protobuf.message import Message

from services.kit.events import Delivery, Events
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Database
from services.user.counters import Counters, consumers
from services.user.store import MIGRATIONS, Profile, UserStore

Followed, Unfollowed = graph_events_pb2.Followed, graph_events_pb2.Unfollowed
TweetCreated, TweetDeleted = tweet_events_pb2.TweetCreated, tweet_events_pb2.TweetDeleted

_ids = Snowflake(7)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[UserStore]:
    db = await Database.open(tmp_path / "user.db", MIGRATIONS)
    yield UserStore(db)
    await db.close()


async def _user(store: UserStore) -> int:
    user_id = _ids.next_id()
    name = f"u{user_id}"[-15:]
    profile = Profile(
        id=user_id, username=name, email=f"{name}@example.com", display_name=name, bio="", avatar_url="",
        protected=False, discoverable=True, created_at=0.0, follower_count=0, following_count=0, tweet_count=0,
    )  # fmt: skip
    async with store.transaction() as tx:
        await store.insert(tx, profile, username_key=name, email_key=f"{name}@example.com", request_id="")
    return user_id


async def _counts(store: UserStore, user_id: int) -> tuple[int, int, int]:
    profile = await store.by_id(user_id)
    assert profile is not None
    return profile.follower_count, profile.following_count, profile.tweet_count


def _delivery(subject: str, msg_id: str, n: int = 1) -> Delivery:
    return Delivery(subject, msg_id, n, stream_sequence=1, published_at=datetime.now(UTC))


# --- the handlers, called directly: order and redelivery ------------------------------------------------------


async def test_follow_unfollow_and_tweets_move_the_right_counters(store: UserStore) -> None:
    counters = Counters(store)
    alice, bob = await _user(store), await _user(store)
    await counters.on_followed(
        Followed(actor_user_id=bob, target_user_id=alice), _delivery("chirp.graph.followed", "f1")
    )
    assert await _counts(store, alice) == (1, 0, 0)
    assert await _counts(store, bob) == (0, 1, 0)
    await counters.on_tweet_created(TweetCreated(tweet_id=1, author_id=alice), _delivery("chirp.tweet.created", "t1"))
    await counters.on_tweet_created(  # a reply and a quote count
        TweetCreated(tweet_id=2, author_id=alice, reply_to_tweet_id=1), _delivery("chirp.tweet.created", "t2")
    )
    await counters.on_tweet_created(
        TweetCreated(tweet_id=3, author_id=alice, quote_tweet_id=1), _delivery("chirp.tweet.created", "t3")
    )
    await counters.on_tweet_created(  # a retweet does not
        TweetCreated(tweet_id=4, author_id=alice, retweeted_tweet_id=99), _delivery("chirp.tweet.created", "t4")
    )
    assert await _counts(store, alice) == (1, 0, 3)
    await counters.on_tweet_deleted(
        TweetDeleted(tweet_id=4, author_id=alice, retweeted_tweet_id=99), _delivery("chirp.tweet.deleted", "d4")
    )
    await counters.on_tweet_deleted(TweetDeleted(tweet_id=2, author_id=alice), _delivery("chirp.tweet.deleted", "d2"))
    await counters.on_unfollowed(
        Unfollowed(actor_user_id=bob, target_user_id=alice), _delivery("chirp.graph.unfollowed", "u1")
    )
    assert await _counts(store, alice) == (0, 0, 2)
    assert await _counts(store, bob) == (0, 0, 0)


async def test_a_redelivered_event_counts_once(store: UserStore) -> None:
    counters = Counters(store)
    alice, bob = await _user(store), await _user(store)
    event = Followed(actor_user_id=bob, target_user_id=alice)
    for n in (1, 2, 3):
        await counters.on_followed(event, _delivery("chirp.graph.followed", "same-event", n))
    await counters.on_followed(event, _delivery("chirp.graph.followed", "a-later-follow"))
    assert await _counts(store, alice) == (2, 0, 0)


async def test_events_out_of_order_end_exact_and_never_show_below_zero(store: UserStore) -> None:
    counters = Counters(store)
    alice, bob = await _user(store), await _user(store)
    # The unfollow is handled before the follow it ends (another consumer, or a retried delivery).
    await counters.on_unfollowed(
        Unfollowed(actor_user_id=bob, target_user_id=alice), _delivery("chirp.graph.unfollowed", "u1")
    )
    await counters.on_tweet_deleted(TweetDeleted(tweet_id=1, author_id=alice), _delivery("chirp.tweet.deleted", "d1"))
    assert await _counts(store, alice) == (0, 0, 0)  # -1 inside, shown as 0
    assert await _counts(store, bob) == (0, 0, 0)
    await counters.on_followed(
        Followed(actor_user_id=bob, target_user_id=alice), _delivery("chirp.graph.followed", "f1")
    )
    await counters.on_tweet_created(TweetCreated(tweet_id=1, author_id=alice), _delivery("chirp.tweet.created", "t1"))
    assert await _counts(store, alice) == (0, 0, 0)  # exact: follow and unfollow cancel out, and so do the tweets
    await counters.on_followed(
        Followed(actor_user_id=bob, target_user_id=alice), _delivery("chirp.graph.followed", "f2")
    )
    assert await _counts(store, alice) == (1, 0, 0)


async def test_an_event_for_an_unknown_user_is_skipped(store: UserStore) -> None:
    counters = Counters(store)
    alice = await _user(store)
    await counters.on_followed(
        Followed(actor_user_id=123, target_user_id=alice), _delivery("chirp.graph.followed", "f1")
    )
    assert await _counts(store, alice) == (1, 0, 0)


# --- through JetStream: durable consumers -----------------------------------------------------------------------


@pytest.fixture
async def events(nats_url: str) -> AsyncIterator[Events]:
    client = await Events.connect(nats_url, service="user-test")
    await client.ensure_stream("graph")
    await client.ensure_stream("tweet")
    yield client
    await client.close()


async def _publish(events: Events, subject: str, message: Message) -> None:
    await events.publish(subject, message, msg_id=f"{subject}:{uuid.uuid4().hex}")


async def _until(store: UserStore, user_id: int, expected: tuple[int, int, int], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (counts := await _counts(store, user_id)) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"counts {counts}, expected {expected}"
        await asyncio.sleep(0.02)


async def test_the_consumers_keep_the_counters_from_the_streams(store: UserStore, events: Events) -> None:
    alice, bob, carol = await _user(store), await _user(store), await _user(store)
    loops = [
        asyncio.create_task(loop) for _, loop in consumers(events, Counters(store), prefix=f"t{uuid.uuid4().hex[:8]}")
    ]
    try:
        for follower in (bob, carol):
            await _publish(events, "chirp.graph.followed", Followed(actor_user_id=follower, target_user_id=alice))
        await _publish(events, "chirp.graph.unfollowed", Unfollowed(actor_user_id=carol, target_user_id=alice))
        for tweet_id in (1, 2):
            await _publish(events, "chirp.tweet.created", TweetCreated(tweet_id=tweet_id, author_id=alice))
        await _publish(events, "chirp.tweet.created", TweetCreated(tweet_id=3, author_id=alice, retweeted_tweet_id=9))
        await _publish(events, "chirp.tweet.deleted", TweetDeleted(tweet_id=1, author_id=alice))
        await _until(store, alice, (1, 0, 1))
        await _until(store, bob, (0, 1, 0))
        await _until(store, carol, (0, 0, 0))
    finally:
        await events.stop_consuming(within=5)
        await asyncio.gather(*loops, return_exceptions=True)


class FailingOnce(Counters):
    """Fails the first delivery of a follow of `target` *after* counting it, as a crash between the commit and
    the ack would."""

    def __init__(self, store: UserStore, target: int) -> None:
        super().__init__(store)
        self.target = target
        self.deliveries: list[int] = []

    async def on_followed(self, event: graph_events_pb2.Followed, delivery: Delivery) -> None:
        await super().on_followed(event, delivery)
        if event.target_user_id == self.target:  # the stream holds other tests' events too
            self.deliveries.append(delivery.num_delivered)
            if delivery.num_delivered == 1:
                raise RuntimeError("lost the ack")


async def test_a_redelivery_after_a_lost_ack_counts_nothing(store: UserStore, events: Events) -> None:
    alice, bob = await _user(store), await _user(store)
    counters = FailingOnce(store, target=alice)
    prefix = f"t{uuid.uuid4().hex[:8]}"
    await _publish(events, "chirp.graph.followed", Followed(actor_user_id=bob, target_user_id=alice))
    loops = [asyncio.create_task(loop) for _, loop in consumers(events, counters, prefix=prefix)]
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while counters.deliveries != [1, 2]:  # the first delivery, and the redelivery a second later
            assert asyncio.get_running_loop().time() < deadline, f"deliveries {counters.deliveries}"
            await asyncio.sleep(0.05)
        assert await _counts(store, alice) == (1, 0, 0)
    finally:
        await events.stop_consuming(within=5)
        await asyncio.gather(*loops, return_exceptions=True)
