"""An in-memory stand-in for the services the tweet service reads (users, graph, engagement, media), and a
tweet service's domain on a real SQLite store wired to it, for unit tests of the domain."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from chirp.engagement.v1 import engagement_pb2
from chirp.media.v1 import media_pb2
from chirp.tweet.v1 import tweet_events_pb2, tweet_pb2
from chirp.user.v1 import user_pb2

from services.kit import errors
from services.kit.events import Events
from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Database
from services.tweet.peers import Peers
from services.tweet.reading import Reader
from services.tweet.store import MIGRATIONS, TweetStore
from services.tweet.writing import Writer

__all__ = ["Domain", "FakePeers", "domain"]


class FakePeers(Peers):
    """Users, follows and blocks held in memory; `calls` counts the batched calls made, by kind."""

    def __init__(self) -> None:
        self.people: dict[int, user_pb2.User] = {}
        self.follows: set[tuple[int, int]] = set()
        self.blocks: set[tuple[int, int]] = set()
        self.likes: Counter[int] = Counter()
        self.media_items: dict[int, media_pb2.Media] = {}
        self.engagement_deployed = True
        self.calls: Counter[str] = Counter()

    def add(self, user_id: int, username: str, *, protected: bool = False) -> user_pb2.User:
        user = user_pb2.User(id=user_id, username=username, display_name=username.title(), protected=protected)
        self.people[user_id] = user
        return user

    async def user_named(self, username: str) -> user_pb2.User:
        self.calls["user_named"] += 1
        for user in self.people.values():
            if user.username.lower() == username.lower():
                return user
        raise errors.NotFound("USER_NOT_FOUND", f"there is no user @{username}")

    async def users(self, user_ids: Iterable[int]) -> dict[int, user_pb2.User]:
        self.calls["users"] += 1
        return {i: self.people[i] for i in user_ids if i in self.people}

    async def users_named(self, usernames: Iterable[str]) -> dict[str, user_pb2.User]:
        names = list(usernames)
        self.calls["users_named"] += len(names)
        by_name = {u.username.lower(): u for u in self.people.values()}
        return {n: by_name[n.lower()] for n in names if n.lower() in by_name}

    async def relationships(self, viewer_id: int, user_ids: Iterable[int]) -> dict[int, user_pb2.Relationship]:
        self.calls["relationships"] += 1
        return {
            i: user_pb2.Relationship(
                following=(viewer_id, i) in self.follows,
                followed_by=(i, viewer_id) in self.follows,
                blocking=(viewer_id, i) in self.blocks,
                blocked_by=(i, viewer_id) in self.blocks,
            )
            for i in user_ids
            if i != viewer_id
        }

    async def engagement(self, tweet_ids: Iterable[int]) -> dict[int, engagement_pb2.TweetEngagement]:
        self.calls["engagement"] += 1
        if not self.engagement_deployed:
            return {}
        return {i: engagement_pb2.TweetEngagement(tweet_id=i, like_count=self.likes[i]) for i in tweet_ids}

    async def media(self, media_ids: Iterable[int]) -> dict[int, media_pb2.Media]:
        self.calls["media"] += 1
        return {i: self.media_items[i] for i in media_ids if i in self.media_items}


@dataclass
class Domain:
    peers: FakePeers
    store: TweetStore
    writer: Writer
    reader: Reader
    db: Database

    async def events(self) -> list[tuple[str, Any]]:
        """The events queued in the outbox so far, decoded: (subject, message)."""
        rows = await self.db.fetch_all("SELECT subject, payload FROM kit_outbox ORDER BY id")
        kinds: dict[str, Any] = {
            "chirp.tweet.created": tweet_events_pb2.TweetCreated,
            "chirp.tweet.deleted": tweet_events_pb2.TweetDeleted,
        }
        return [(r["subject"], kinds[r["subject"]].FromString(r["payload"])) for r in rows]

    async def raw(self, tweet_id: int) -> dict[str, Any] | None:
        row = await self.db.fetch_one("SELECT * FROM tweets WHERE id = ?", (tweet_id,))
        return None if row is None else {k: row[k] for k in row.keys()}

    async def ancestors_of(self, tweet_id: int) -> list[int]:
        row = await self.db.fetch_one("SELECT ancestor_ids FROM tweets WHERE id = ?", (tweet_id,))
        assert row is not None
        return list(json.loads(row["ancestor_ids"]))


@asynccontextmanager
async def domain(path: Path) -> AsyncIterator[Domain]:
    db = await Database.open(path / "tweet.db", MIGRATIONS)
    try:
        peers = FakePeers()
        store = TweetStore(db)
        # The outbox only queues rows here; nothing relays them (no NATS), the tests read the rows.
        outbox = Outbox(db, cast(Events, None))
        writer = Writer(store=store, peers=peers, outbox=outbox, ids=Snowflake(1))
        yield Domain(peers=peers, store=store, writer=writer, reader=Reader(store=store, peers=peers), db=db)
    finally:
        await db.close()


def tweet_text(tweet: tweet_pb2.Tweet) -> str:
    return tweet.retweeted_tweet.text if tweet.HasField("retweeted_tweet") else tweet.text
