"""The backfill: it pages through the stores' scans in id order (the tweet and user services' own scan modules,
over real SQLite files) and rebuilds the real Typesense collections, keeping deletions it races with."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest_asyncio
from chirp.engagement.v1 import engagement_pb2
from chirp.tweet.v1 import tweet_pb2, tweet_service_pb2
from chirp.user.v1 import user_pb2, user_service_pb2

from services.kit.sqlite import Database
from services.search.backfill import Backfill
from services.search.hashtag_index import HashtagMatch
from services.search.peers import Peers
from services.search.tweet_index import TweetFilter
from services.tweet.scan import TweetScan
from services.tweet.store import MIGRATIONS as TWEET_MIGRATIONS
from services.tweet.store import StoredTweet, TweetStore
from services.user.scan import UserScan
from services.user.store import MIGRATIONS as USER_MIGRATIONS
from services.user.store import Profile, UserStore
from tests.search.conftest import Indexes


class Stores:
    def __init__(self, tweet_db: Database, user_db: Database) -> None:
        self.tweet_db, self.user_db = tweet_db, user_db
        self.tweets = TweetStore(tweet_db)
        self.users = UserStore(user_db)
        self.likes: dict[int, int] = {}
        self.scans: list[tuple[str, int, int]] = []

    async def add_user(self, user_id: int, username: str, *, protected: bool = False) -> None:
        profile = Profile(
            id=user_id, username=username, email=f"{username}@example.com", display_name=username.title(), bio="",
            avatar_url="", protected=protected, discoverable=True, created_at=time.time(), follower_count=0,
            following_count=0, tweet_count=0,
        )  # fmt: skip
        async with self.users.transaction() as tx:
            await self.users.insert(tx, profile, username_key=username, email_key=profile.email, request_id="")

    async def add_tweet(
        self, tweet_id: int, author_id: int, text: str, *, tags: tuple[str, ...] = (), of: int = 0
    ) -> None:
        entities = tweet_pb2.TweetEntities(hashtags=[tweet_pb2.HashtagEntity(tag=t) for t in tags])
        stored = StoredTweet(
            id=tweet_id, author_id=author_id, text=text, reply_to_tweet_id=0, reply_to_user_id=0,
            conversation_id=tweet_id, quote_tweet_id=0, retweet_of_id=of, entities=entities.SerializeToString(),
            created_at=time.time(),
        )  # fmt: skip
        async with self.tweets.write() as w:
            await w.insert(stored, request_id=None)

    # What the services answer over the mesh: their scan modules, and BatchGetUsers / BatchGetEngagement.

    async def ScanTweets(self, request: tweet_service_pb2.ScanTweetsRequest) -> tweet_service_pb2.ScanTweetsResponse:
        self.scans.append(("tweets", request.after_id, request.limit))
        page = await TweetScan(self.tweet_db, self.tweets).page(after_id=request.after_id, limit=request.limit)
        return tweet_service_pb2.ScanTweetsResponse(tweets=page)

    async def ScanUsers(self, request: user_service_pb2.ScanUsersRequest) -> user_service_pb2.ScanUsersResponse:
        self.scans.append(("users", request.after_id, request.limit))
        page = await UserScan(self.user_db).page(after_id=request.after_id, limit=request.limit)
        return user_service_pb2.ScanUsersResponse(users=page)

    async def users_by_id(self, ids: list[int]) -> list[user_pb2.User]:
        found = await UserScan(self.user_db).page(after_id=0, limit=1000)
        return [u for u in found if u.id in ids]

    async def engagement(self, ids: list[int]) -> dict[int, engagement_pb2.TweetEngagement]:
        return {i: engagement_pb2.TweetEngagement(tweet_id=i, like_count=self.likes.get(i, 0)) for i in ids}


class FakePeers:
    def __init__(self, stores: Stores) -> None:
        self.users = stores.users_by_id
        self.engagement = stores.engagement


@pytest_asyncio.fixture(loop_scope="session")
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    tweet_db = await Database.open(tmp_path / "tweet.db", TWEET_MIGRATIONS)
    user_db = await Database.open(tmp_path / "user.db", USER_MIGRATIONS)
    try:
        yield Stores(tweet_db, user_db)
    finally:
        await tweet_db.close()
        await user_db.close()


def _backfill(stores: Stores, indexes: Indexes, *, batch: int) -> tuple[Backfill, io.StringIO]:
    out = io.StringIO()
    backfill = Backfill(
        tweet_service=cast(Any, stores),
        user_service=cast(Any, stores),
        peers=cast(Peers, FakePeers(stores)),
        tweets=indexes.tweets,
        users=indexes.users,
        hashtags=indexes.hashtags,
        batch=batch,
        out=out,
    )
    return backfill, out


async def _ids(indexes: Indexes, **where: Any) -> list[int]:
    hits, _ = await indexes.tweets.latest(TweetFilter(**where), before=None, limit=100)
    return [h.tweet_id for h in hits]


async def test_scans_page_in_id_order_and_the_index_is_rebuilt(stores: Stores, indexes: Indexes) -> None:
    await stores.add_user(1, "ann")
    await stores.add_user(2, "ben", protected=True)
    for i in range(10, 17):
        await stores.add_tweet(i, 1 if i % 2 else 2, f"rebuilt tweet {i}", tags=("old",))
    await stores.add_tweet(20, 1, "", of=10)  # a retweet row: not a result
    stores.likes[11] = 4

    backfill, out = _backfill(stores, indexes, batch=3)
    progress = await backfill.run()

    assert (progress.users, progress.tweets, progress.skipped_retweets, progress.hashtags) == (2, 7, 1, 1)
    assert stores.scans == [
        ("users", 0, 3),
        ("tweets", 0, 3), ("tweets", 12, 3), ("tweets", 15, 3),
    ]  # fmt: skip
    assert out.getvalue().splitlines()[-1].startswith("backfill done: 2 users, 7 tweets (1 retweet rows skipped)")
    assert await _ids(indexes, text="rebuilt") == [16, 15, 14, 13, 12, 11, 10]
    assert await _ids(indexes, text="rebuilt", public_only=True) == [15, 13, 11]  # ben is protected
    document = await indexes.tweets.get(11)
    assert document is not None and document["like_count"] == 4
    assert (await indexes.hashtags.prefix("old", page=1, per_page=5))[0] == [HashtagMatch("old", 3)]
    assert await indexes.users.exact("BEN") is not None

    # Run again: the same index, nothing doubled; a tweet deleted meanwhile stays deleted.
    await indexes.tweets.tombstone(16)
    backfill, _ = _backfill(stores, indexes, batch=100)
    await backfill.run()
    assert await _ids(indexes, text="rebuilt") == [15, 14, 13, 12, 11, 10]
    assert (await indexes.hashtags.prefix("old", page=1, per_page=5))[0] == [HashtagMatch("old", 3)]
