"""The tweet service's storage (SQLite).

Read by id (single tweet, batches for hydration) and by author newest-first (user timeline, timeline rebuild);
the author index is the partition-by-author, cluster-by-id-descending table of the Cassandra twin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from services.kit.sqlite import Database, Row, Transaction

__all__ = ["MIGRATIONS", "StoredTweet", "TweetStore"]

MIGRATIONS = [
    """
    CREATE TABLE tweets (
        id                INTEGER PRIMARY KEY,
        author_id         INTEGER NOT NULL,
        text              TEXT NOT NULL,
        reply_to_tweet_id INTEGER NOT NULL DEFAULT 0,
        conversation_id   INTEGER NOT NULL,
        quote_tweet_id    INTEGER NOT NULL DEFAULT 0,
        retweet_of_id     INTEGER NOT NULL DEFAULT 0,
        entities          BLOB NOT NULL,   -- chirp.tweet.v1.Entities, serialized
        created_at        REAL NOT NULL,
        request_id        TEXT
    );
    CREATE INDEX tweets_by_author ON tweets (author_id, id DESC);
    -- Idempotent create: one tweet per author and request id.
    CREATE UNIQUE INDEX tweets_by_request ON tweets (author_id, request_id) WHERE request_id IS NOT NULL;
    """,
]


@dataclass(frozen=True, slots=True)
class StoredTweet:
    id: int
    author_id: int
    text: str
    reply_to_tweet_id: int
    conversation_id: int
    quote_tweet_id: int
    retweet_of_id: int
    entities: bytes
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> StoredTweet:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


_COLUMNS = ", ".join(f.name for f in fields(StoredTweet))


class TweetStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        return self._db

    async def insert(self, tx: Transaction, tweet: StoredTweet, *, request_id: str | None) -> None:
        await tx.execute(
            f"INSERT INTO tweets ({_COLUMNS}, request_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                tweet.id, tweet.author_id, tweet.text, tweet.reply_to_tweet_id, tweet.conversation_id,
                tweet.quote_tweet_id, tweet.retweet_of_id, tweet.entities, tweet.created_at, request_id,
            ),
        )  # fmt: skip

    async def by_request(self, tx: Transaction, author_id: int, request_id: str) -> StoredTweet | None:
        row = await tx.fetch_one(
            f"SELECT {_COLUMNS} FROM tweets WHERE author_id = ? AND request_id = ?", (author_id, request_id)
        )
        return None if row is None else StoredTweet.from_row(row)

    async def by_id(self, tweet_id: int) -> StoredTweet | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM tweets WHERE id = ?", (tweet_id,))
        return None if row is None else StoredTweet.from_row(row)

    async def by_ids(self, tweet_ids: Iterable[int]) -> dict[int, StoredTweet]:
        ids = list(dict.fromkeys(tweet_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetch_all(f"SELECT {_COLUMNS} FROM tweets WHERE id IN ({marks})", ids)
        return {row["id"]: StoredTweet.from_row(row) for row in rows}

    async def ids_by_authors(self, author_ids: list[int], *, before: int, limit: int) -> list[int]:
        """The newest tweet ids of these authors older than `before`, newest first."""
        if not author_ids:
            return []
        marks = ",".join("?" * len(author_ids))
        rows = await self._db.fetch_all(
            f"SELECT id FROM tweets WHERE author_id IN ({marks}) AND id < ? ORDER BY id DESC LIMIT ?",
            (*author_ids, before, limit),
        )
        return [r[0] for r in rows]

    async def by_author(self, author_id: int, *, before: int, limit: int) -> list[StoredTweet]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM tweets WHERE author_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (author_id, before, limit),
        )
        return [StoredTweet.from_row(r) for r in rows]
