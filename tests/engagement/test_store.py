"""The engagement store and ledger on a real SQLite file: idempotency, counters equal to rows, events, lists."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from chirp.engagement.v1 import engagement_events_pb2 as events_pb2

from services.engagement.ledger import Ledger, TweetRef
from services.engagement.store import MIGRATIONS, Engagement, EngagementStore, StoredRetweet
from services.kit.errors import NotFound
from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Database

TWEET = TweetRef(id=1_000, author_id=7)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "engagement.db", MIGRATIONS)
    yield database
    await database.close()


@pytest.fixture
def store(db: Database) -> EngagementStore:
    return EngagementStore(db)


def ledger_on(db: Database, *, worker_id: int = 1) -> Ledger:
    # The relay is not started: events stay in the outbox table, where the tests read them.
    return Ledger(EngagementStore(db), Outbox(db, events=None), Snowflake(worker_id))  # type: ignore[arg-type]


@pytest.fixture
def ledger(db: Database) -> Ledger:
    return ledger_on(db)


async def rows(db: Database, table: str, tweet_id: int = TWEET.id) -> int:
    row = await db.fetch_one(f"SELECT count(*) FROM {table} WHERE tweet_id = ?", (tweet_id,))
    assert row is not None
    return int(row[0])


async def counters(store: EngagementStore, tweet_id: int = TWEET.id) -> tuple[int, int]:
    found = (await store.engagements([tweet_id], viewer_id=None))[tweet_id]
    return found.like_count, found.retweet_count


async def outbox(db: Database, subject: str) -> list[bytes]:
    found = await db.fetch_all("SELECT payload FROM kit_outbox WHERE subject = ? ORDER BY id", (subject,))
    return [r[0] for r in found]


async def msg_ids(db: Database) -> list[str]:
    return [r[0] for r in await db.fetch_all("SELECT msg_id FROM kit_outbox ORDER BY id")]


async def test_a_like_is_recorded_once_and_announced_once(db: Database, store: EngagementStore, ledger: Ledger) -> None:
    assert await ledger.like(42, TWEET) is True
    assert await ledger.like(42, TWEET) is False
    assert await counters(store) == (1, 0)
    assert await rows(db, "likes") == 1
    [payload] = await outbox(db, "chirp.engagement.liked")
    event = events_pb2.TweetLiked.FromString(payload)
    assert (event.actor_user_id, event.tweet_id, event.tweet_author_id) == (42, TWEET.id, TWEET.author_id)
    assert event.occurred_at.seconds > 0


async def test_unlike_removes_the_like_once_and_announces_it_once(
    db: Database, store: EngagementStore, ledger: Ledger
) -> None:
    assert await ledger.unlike(42, TWEET) is False  # nothing to undo: no event
    await ledger.like(42, TWEET)
    assert await ledger.unlike(42, TWEET) is True
    assert await ledger.unlike(42, TWEET) is False
    assert await counters(store) == (0, 0)
    assert await rows(db, "likes") == 0
    [payload] = await outbox(db, "chirp.engagement.unliked")
    assert events_pb2.TweetUnliked.FromString(payload).actor_user_id == 42


async def test_liking_again_after_unliking_makes_new_events_not_duplicates(db: Database, ledger: Ledger) -> None:
    for _ in range(2):
        await ledger.like(42, TWEET)
        await ledger.unlike(42, TWEET)
    ids = await msg_ids(db)
    assert len(ids) == 4 and len(set(ids)) == 4  # JetStream would drop a repeated Nats-Msg-Id as a duplicate


async def test_concurrent_likes_by_different_users_count_exactly(
    db: Database, store: EngagementStore, ledger: Ledger
) -> None:
    users = range(1, 201)
    results = await asyncio.gather(*(ledger.like(u, TWEET) for u in users))
    assert all(results)
    assert await counters(store) == (200, 0)
    assert await rows(db, "likes") == 200
    assert len(await outbox(db, "chirp.engagement.liked")) == 200


async def test_concurrent_likes_by_one_user_make_exactly_one_like(
    db: Database, store: EngagementStore, ledger: Ledger
) -> None:
    results = await asyncio.gather(*(ledger.like(42, TWEET) for _ in range(100)))
    assert results.count(True) == 1
    assert await counters(store) == (1, 0)
    assert await rows(db, "likes") == 1
    assert len(await outbox(db, "chirp.engagement.liked")) == 1


async def test_concurrent_likes_through_two_connections_count_exactly(tmp_path: Path) -> None:
    """Two Database objects on one file stand for two processes: SQLite's own locking keeps the invariant."""
    first = await Database.open(tmp_path / "shared.db", MIGRATIONS)
    second = await Database.open(tmp_path / "shared.db", MIGRATIONS)
    try:
        a, b = ledger_on(first, worker_id=1), ledger_on(second, worker_id=2)
        same_user = [ledger.like(42, TWEET) for ledger in (a, b) for _ in range(25)]
        different = [(a if u % 2 else b).like(u, TWEET) for u in range(100, 160)]
        results = await asyncio.gather(*same_user, *different)
        assert results[: len(same_user)].count(True) == 1
        assert all(results[len(same_user) :])
        store = EngagementStore(first)
        assert await counters(store) == (61, 0)
        assert await rows(first, "likes") == 61
        assert len(await outbox(first, "chirp.engagement.liked")) == 61
    finally:
        await first.close()
        await second.close()


async def test_interleaved_likes_and_unlikes_leave_the_counter_equal_to_the_rows(
    db: Database, store: EngagementStore, ledger: Ledger
) -> None:
    rng = random.Random(20240501)
    ops = [(rng.choice(range(1, 21)), rng.random() < 0.5) for _ in range(600)]
    await asyncio.gather(*((ledger.like if like else ledger.unlike)(user, TWEET) for user, like in ops))
    likes, _ = await counters(store)
    assert likes == await rows(db, "likes")
    # And the events tell the same story: every like that is still there was announced once more than undone.
    liked = len(await outbox(db, "chirp.engagement.liked"))
    unliked = len(await outbox(db, "chirp.engagement.unliked"))
    assert liked - unliked == likes
    assert liked > likes and unliked > 0  # the run really interleaved: likes were undone and redone


async def test_retweets_count_once_and_follow_the_row(db: Database, store: EngagementStore, ledger: Ledger) -> None:
    assert await ledger.retweet(42, TWEET, retweet_id=501) is True
    assert await ledger.retweet(42, TWEET, retweet_id=501) is False
    # The tweet service answered a different row (ours pointed at one it lost): still one retweet, now of it.
    assert await ledger.retweet(42, TWEET, retweet_id=502) is False
    assert await counters(store) == (0, 1)
    # The deletion of the old row is stale and must not remove the retweet; the current row's deletion does.
    assert await ledger.unretweet(42, TWEET.id, retweet_id=501) is False
    assert await counters(store) == (0, 1)
    assert await ledger.unretweet(42, TWEET.id, retweet_id=502) is True
    assert await counters(store) == (0, 0)
    [payload] = await outbox(db, "chirp.engagement.unretweeted")
    event = events_pb2.TweetUnretweeted.FromString(payload)
    assert (event.actor_user_id, event.tweet_id, event.tweet_author_id) == (42, TWEET.id, TWEET.author_id)
    assert len(await outbox(db, "chirp.engagement.retweeted")) == 1


async def test_concurrent_retweets_by_many_users_count_exactly(store: EngagementStore, ledger: Ledger) -> None:
    await asyncio.gather(
        *(ledger.retweet(u, TWEET, retweet_id=10_000 + u) for u in range(1, 51)),
        *(ledger.retweet(4242, TWEET, retweet_id=999) for _ in range(20)),
    )
    assert await counters(store) == (0, 51)
    entries = await store.retweeters(TWEET.id, before=2**63 - 1, limit=100)
    assert [e.id for e in entries] == [*range(50, 0, -1), 4242]  # newest row first (row ids are Snowflakes)


async def test_bookmarks_are_private_and_listed_newest_first(
    db: Database, store: EngagementStore, ledger: Ledger
) -> None:
    for tweet_id in (11, 12, 13):
        assert await ledger.bookmark(42, tweet_id) is True
    assert await ledger.bookmark(42, 12) is False
    assert await ledger.unbookmark(42, 11) is True
    assert await ledger.unbookmark(42, 11) is False
    page = await store.bookmarks(42, before=2**63 - 1, limit=10)
    assert [e.id for e in page] == [13, 12]
    assert await store.bookmarks(43, before=2**63 - 1, limit=10) == []
    assert await msg_ids(db) == []  # bookmarks publish nothing


async def test_likers_page_newest_first_by_cursor(store: EngagementStore, ledger: Ledger) -> None:
    for user in range(1, 8):
        await ledger.like(user, TWEET)
    first = await store.likers(TWEET.id, before=2**63 - 1, limit=3)
    second = await store.likers(TWEET.id, before=first[-1].cursor, limit=3)
    third = await store.likers(TWEET.id, before=second[-1].cursor, limit=3)
    assert [e.id for e in first + second + third] == [7, 6, 5, 4, 3, 2, 1]
    assert await store.likers(TWEET.id, before=third[-1].cursor, limit=3) == []


async def test_engagements_answer_counters_and_the_viewers_own_state(store: EngagementStore, ledger: Ledger) -> None:
    other = TweetRef(id=2_000, author_id=8)
    await ledger.like(42, TWEET)
    await ledger.like(43, TWEET)
    await ledger.retweet(43, TWEET, retweet_id=77)
    await ledger.bookmark(42, other.id)
    found = await store.engagements([TWEET.id, other.id, 3_000, TWEET.id], viewer_id=42)
    assert found == {
        TWEET.id: Engagement(TWEET.id, like_count=2, retweet_count=1, liked=True),
        other.id: Engagement(other.id, bookmarked=True),
        3_000: Engagement(3_000),
    }
    anonymous = await store.engagements([TWEET.id], viewer_id=None)
    assert anonymous[TWEET.id] == Engagement(TWEET.id, like_count=2, retweet_count=1)
    assert await store.engagements([], viewer_id=42) == {}


async def test_engagements_of_a_batch_are_one_query(db: Database, store: EngagementStore, ledger: Ledger) -> None:
    for tweet_id in range(1, 501):
        await ledger.like(42, TweetRef(tweet_id, 7))
    statements: list[str] = []
    db._reader.set_trace_callback(statements.append)
    try:
        found = await store.engagements(range(1, 501), viewer_id=42)
    finally:
        db._reader.set_trace_callback(None)
    assert len(found) == 500 and all(e.liked and e.like_count == 1 for e in found.values())
    assert len(statements) == 1


async def test_a_deleted_tweet_loses_its_engagements_and_takes_no_new_ones(
    db: Database, store: EngagementStore, ledger: Ledger
) -> None:
    await ledger.like(42, TWEET)
    await ledger.retweet(43, TWEET, retweet_id=77)
    await ledger.bookmark(44, TWEET.id)
    survivor = TweetRef(id=2_000, author_id=7)
    await ledger.like(42, survivor)

    assert await ledger.forget_tweet(TWEET.id) is True
    assert await ledger.forget_tweet(TWEET.id) is False  # a redelivery changes nothing
    for table in ("likes", "retweets", "bookmarks", "counters"):
        assert await rows(db, table) == 0, table
    assert await store.bookmarks(44, before=2**63 - 1, limit=10) == []
    assert await counters(store, survivor.id) == (1, 0)

    # A like that was in flight when the tweet was deleted must not bring it back.
    with pytest.raises(NotFound):
        await ledger.like(45, TWEET)
    with pytest.raises(NotFound):
        await ledger.retweet(45, TWEET, retweet_id=78)
    with pytest.raises(NotFound):
        await ledger.bookmark(45, TWEET.id)
    assert await counters(store) == (0, 0)


async def test_a_counter_cannot_go_below_zero(db: Database, store: EngagementStore) -> None:
    """The CHECK constraint turns a broken invariant into a failed write instead of a negative count."""
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await store._count(tx, TWEET.id, "like_count", -1)
    assert await counters(store) == (0, 0)


async def test_a_retweet_record_keeps_the_author_for_later_events(store: EngagementStore, db: Database) -> None:
    async with db.transaction() as tx:
        assert await store.add_retweet(tx, StoredRetweet(42, TWEET.id, 77, TWEET.author_id), at=1.0)
    async with db.transaction() as tx:
        removed = await store.remove_retweet(tx, user_id=42, tweet_id=TWEET.id)
    assert removed == StoredRetweet(42, TWEET.id, 77, TWEET.author_id)
