"""The tweet service's storage: a repository designed from its queries (SQLite; a Cassandra twin can follow).

The queries, and the table each one reads in the Cassandra design (partition key | clustering order):

    one tweet, a batch for hydration      tweets by id                     id |
    a user's tweets, timeline rebuilds    tweets by author                 author_id | id DESC
    the replies below a tweet (context)   replies by parent                reply_to_tweet_id | id ASC
    a user's retweet of a tweet           retweets by user and original    (author_id, retweet_of_id) |
    the retweets of a tweet (deletion)    retweets by original             retweet_of_id | id
    reply and quote counts                counters by tweet                tweet_id |  (a counter table)
    a retried create                      requests by author and id        (author_id, request_id) |

There are no joins: ancestors for the thread view are kept on each reply (`ancestor_ids`, the nearest 100,
root first), so a context page reads them by id in one query, even when some were deleted since. Deleted
tweets are removed; their replies and quotes keep pointing at them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields

from services.kit.batching import chunks
from services.kit.sqlite import Database, Row, Transaction

__all__ = ["MAX_ANCESTORS", "MIGRATIONS", "Counters", "StoredTweet", "TweetStore", "TweetWriter"]

MAX_ANCESTORS = 100
# SQLite binds at most 999 parameters in older builds; 500 keeps every IN list well under it.
_IN_LIST = 500

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
    """
    -- Replies, quotes, retweets and threads.
    ALTER TABLE tweets ADD COLUMN reply_to_user_id INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tweets ADD COLUMN ancestor_ids TEXT NOT NULL DEFAULT '[]';  -- JSON: nearest 100, root first
    ALTER TABLE tweets ADD COLUMN media_ids TEXT NOT NULL DEFAULT '[]';     -- JSON, in attachment order
    CREATE INDEX tweets_by_parent ON tweets (reply_to_tweet_id, id) WHERE reply_to_tweet_id != 0;
    -- One retweet row per user and original; concurrent retweets of the same tweet by one user meet here.
    CREATE UNIQUE INDEX retweets_by_user ON tweets (author_id, retweet_of_id) WHERE retweet_of_id != 0;
    CREATE INDEX retweets_by_original ON tweets (retweet_of_id, id) WHERE retweet_of_id != 0;
    -- Idempotent create, remembered beyond the tweet: a retry after a delete must not post it again.
    CREATE TABLE tweet_requests (
        author_id  INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        tweet_id   INTEGER NOT NULL,
        PRIMARY KEY (author_id, request_id)
    ) WITHOUT ROWID;
    INSERT INTO tweet_requests (author_id, request_id, tweet_id)
        SELECT author_id, request_id, id FROM tweets WHERE request_id IS NOT NULL;
    CREATE TABLE tweet_counters (
        tweet_id INTEGER PRIMARY KEY,
        replies  INTEGER NOT NULL DEFAULT 0 CHECK (replies >= 0),
        quotes   INTEGER NOT NULL DEFAULT 0 CHECK (quotes >= 0)
    );
    -- Tweets stored before this migration: their reply and quote counts, and their replies' ancestors.
    INSERT INTO tweet_counters (tweet_id, replies, quotes)
        SELECT t.id,
               (SELECT count(*) FROM tweets r WHERE r.reply_to_tweet_id = t.id),
               (SELECT count(*) FROM tweets q WHERE q.quote_tweet_id = t.id)
        FROM tweets t;
    UPDATE tweets SET reply_to_user_id = coalesce(
        (SELECT p.author_id FROM tweets p WHERE p.id = tweets.reply_to_tweet_id), 0)
        WHERE reply_to_tweet_id != 0;
    WITH RECURSIVE chain (id, ancestor, depth) AS (
        SELECT id, reply_to_tweet_id, 1 FROM tweets WHERE reply_to_tweet_id != 0
        UNION ALL
        SELECT chain.id, parent.reply_to_tweet_id, chain.depth + 1
        FROM chain JOIN tweets parent ON parent.id = chain.ancestor
        WHERE parent.reply_to_tweet_id != 0 AND chain.depth < 100
    )
    UPDATE tweets SET ancestor_ids = (
        SELECT json_group_array(ancestor) FROM (
            SELECT ancestor FROM chain WHERE chain.id = tweets.id ORDER BY depth DESC
        )
    ) WHERE reply_to_tweet_id != 0;
    """,
]


@dataclass(frozen=True, slots=True)
class StoredTweet:
    """A tweet as stored: an original, a reply and/or quote, or a retweet row (`retweet_of_id`, no text)."""

    id: int
    author_id: int
    text: str
    reply_to_tweet_id: int
    reply_to_user_id: int
    conversation_id: int
    quote_tweet_id: int
    retweet_of_id: int
    entities: bytes  # chirp.tweet.v1.TweetEntities, serialized
    created_at: float
    ancestor_ids: tuple[int, ...] = field(default=())  # the nearest MAX_ANCESTORS, root first
    media_ids: tuple[int, ...] = field(default=())

    @property
    def is_retweet(self) -> bool:
        return self.retweet_of_id != 0

    @classmethod
    def from_row(cls, row: Row) -> StoredTweet:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["ancestor_ids"] = tuple(json.loads(row["ancestor_ids"]))
        values["media_ids"] = tuple(json.loads(row["media_ids"]))
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Counters:
    replies: int = 0
    quotes: int = 0


_COLUMNS = ", ".join(f.name for f in fields(StoredTweet))
_NEWEST = 2**63 - 1


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


class TweetWriter:
    """The writes of one transaction (`async with store.write() as w:`); `w.tx` is for the outbox."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def insert(self, tweet: StoredTweet, *, request_id: str | None) -> None:
        await self.tx.execute(
            f"INSERT INTO tweets ({_COLUMNS}, request_id) VALUES ({_marks(range(13))})",
            (
                tweet.id, tweet.author_id, tweet.text, tweet.reply_to_tweet_id, tweet.reply_to_user_id,
                tweet.conversation_id, tweet.quote_tweet_id, tweet.retweet_of_id, tweet.entities, tweet.created_at,
                json.dumps(tweet.ancestor_ids), json.dumps(tweet.media_ids), request_id,
            ),
        )  # fmt: skip
        await self.tx.execute("INSERT INTO tweet_counters (tweet_id) VALUES (?)", (tweet.id,))
        if request_id is not None:
            await self.tx.execute(
                "INSERT INTO tweet_requests (author_id, request_id, tweet_id) VALUES (?, ?, ?)",
                (tweet.author_id, request_id, tweet.id),
            )

    async def get(self, tweet_id: int) -> StoredTweet | None:
        """A tweet as this transaction sees it (a concurrent delete may have removed it since a read)."""
        row = await self.tx.fetch_one(f"SELECT {_COLUMNS} FROM tweets WHERE id = ?", (tweet_id,))
        return None if row is None else StoredTweet.from_row(row)

    async def created_by_request(self, author_id: int, request_id: str) -> int | None:
        """The id of the tweet `request_id` of `author_id` created (it may have been deleted since)."""
        row = await self.tx.fetch_one(
            "SELECT tweet_id FROM tweet_requests WHERE author_id = ? AND request_id = ?", (author_id, request_id)
        )
        return None if row is None else int(row["tweet_id"])

    async def retweet_by(self, user_id: int, original_id: int) -> StoredTweet | None:
        row = await self.tx.fetch_one(
            f"SELECT {_COLUMNS} FROM tweets WHERE author_id = ? AND retweet_of_id = ?", (user_id, original_id)
        )
        return None if row is None else StoredTweet.from_row(row)

    async def retweets_of(self, original_id: int) -> list[StoredTweet]:
        rows = await self.tx.fetch_all(
            f"SELECT {_COLUMNS} FROM tweets WHERE retweet_of_id = ? ORDER BY id", (original_id,)
        )
        return [StoredTweet.from_row(r) for r in rows]

    async def count(self, tweet_id: int, *, replies: int = 0, quotes: int = 0) -> bool:
        """Add to a tweet's counters (never below zero); False when the tweet is gone."""
        changed = await self.tx.execute(
            "UPDATE tweet_counters SET replies = max(replies + ?, 0), quotes = max(quotes + ?, 0) WHERE tweet_id = ?",
            (replies, quotes, tweet_id),
        )
        return changed > 0

    async def delete(self, tweet_id: int) -> None:
        await self.tx.execute("DELETE FROM tweets WHERE id = ?", (tweet_id,))
        await self.tx.execute("DELETE FROM tweet_counters WHERE tweet_id = ?", (tweet_id,))


class TweetStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def write(self) -> AsyncIterator[TweetWriter]:
        """One write transaction: committed at the end of the block, rolled back on any exception."""
        async with self._db.transaction() as tx:
            yield TweetWriter(tx)

    async def get(self, tweet_id: int) -> StoredTweet | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM tweets WHERE id = ?", (tweet_id,))
        return None if row is None else StoredTweet.from_row(row)

    async def created_by_request(self, author_id: int, request_id: str) -> int | None:
        """The id of the tweet `request_id` of `author_id` created (it may have been deleted since)."""
        row = await self._db.fetch_one(
            "SELECT tweet_id FROM tweet_requests WHERE author_id = ? AND request_id = ?", (author_id, request_id)
        )
        return None if row is None else int(row["tweet_id"])

    async def get_many(self, tweet_ids: Iterable[int]) -> dict[int, StoredTweet]:
        ids = list(dict.fromkeys(tweet_ids))
        found: dict[int, StoredTweet] = {}
        for chunk in chunks(ids, _IN_LIST):
            rows = await self._db.fetch_all(f"SELECT {_COLUMNS} FROM tweets WHERE id IN ({_marks(chunk)})", chunk)
            found.update((row["id"], StoredTweet.from_row(row)) for row in rows)
        return found

    async def counters(self, tweet_ids: Iterable[int]) -> dict[int, Counters]:
        ids = list(dict.fromkeys(tweet_ids))
        found: dict[int, Counters] = {}
        for chunk in chunks(ids, _IN_LIST):
            rows = await self._db.fetch_all(
                f"SELECT tweet_id, replies, quotes FROM tweet_counters WHERE tweet_id IN ({_marks(chunk)})", chunk
            )
            found.update((r["tweet_id"], Counters(replies=r["replies"], quotes=r["quotes"])) for r in rows)
        return found

    async def by_author(self, author_id: int, *, before: int | None, limit: int) -> list[StoredTweet]:
        """The author's tweets (retweet rows included) older than `before`, newest first."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM tweets WHERE author_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (author_id, before or _NEWEST, limit),
        )
        return [StoredTweet.from_row(r) for r in rows]

    async def ids_by_authors(self, author_ids: Sequence[int], *, before: int | None, limit: int) -> list[int]:
        """The newest tweet ids of any of these authors older than `before`, newest first."""
        if not author_ids:
            return []
        ids: list[int] = []
        for chunk in chunks(list(dict.fromkeys(author_ids)), _IN_LIST):
            rows = await self._db.fetch_all(
                f"SELECT id FROM tweets WHERE author_id IN ({_marks(chunk)}) AND id < ? ORDER BY id DESC LIMIT ?",
                (*chunk, before or _NEWEST, limit),
            )
            ids.extend(r["id"] for r in rows)
        return sorted(ids, reverse=True)[:limit]

    async def replies(self, parent_id: int, *, limit: int) -> list[StoredTweet]:
        """The direct replies to `parent_id`, oldest first."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM tweets WHERE reply_to_tweet_id = ? ORDER BY id LIMIT ?", (parent_id, limit)
        )
        return [StoredTweet.from_row(r) for r in rows]
