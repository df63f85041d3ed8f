"""The engagement service's storage: likes, retweets, bookmarks and the per-tweet counters (SQLite).

Designed from the queries, like its Cassandra twin — no joins across partitions, each read served by one
table keyed by the id it reads by, clustered by a Snowflake descending. Query: SQLite → Cassandra table
(partition key; clustering):

    does a user like / retweet / bookmark these tweets (viewer state, uniqueness):
        likes, retweets, bookmarks (user_id, tweet_id) → likes_by_user, retweets_by_user (user_id; tweet_id)
    who likes / retweeted a tweet, newest first:
        likes_by_tweet, retweets_by_tweet → likes_by_tweet (tweet_id; like_id DESC), retweets_by_tweet (…)
    a user's bookmarks, newest first:
        bookmarks_by_user → bookmarks_by_user (user_id; bookmark_id DESC)
    the bookmarks of a deleted tweet:
        bookmarks_by_tweet → bookmarks_by_tweet (tweet_id; user_id)
    the counters of many tweets:
        counters → engagement_counters (tweet_id)
    was a tweet deleted (no engagement may outlive its deletion):
        deleted_tweets → deleted_tweets (tweet_id)

The ids that order the lists (like_id, bookmark_id: this service's Snowflakes; retweet_id: the tweet service's
retweet row) are also the page cursors.

Consistency — exactly one like per (user, tweet), and every counter equal to its rows after any interleaving:
each write inserts or deletes the row and, only if that changed a row, moves the counter, in one SQLite
transaction (BEGIN IMMEDIATE: writers are serialized, across connections and processes too). Callers pass
the open transaction so that the event announcing the change commits with it (the outbox). A counter can
never go below zero (CHECK), so a bug shows as a failed write, not as a wrong count.

The Cassandra twin has no multi-partition transactions, so lightweight transactions (Paxos) do what the
SQLite transaction does. A like is three steps: (1) `INSERT INTO likes_by_user (…, counted) VALUES (…, false)
IF NOT EXISTS` decides which of concurrent likes by the same user wins — only `[applied] = true` goes on;
(2) the winner moves the counter by compare-and-set, `UPDATE engagement_counters SET like_count = :n + 1
WHERE tweet_id = ? IF like_count = :n`, re-reading and retrying when another like won the race (counter
columns cannot take part in an LWT and are not idempotent under retries, so the count is a plain int);
(3) a logged batch writes the likes_by_tweet row and the outbox row and sets `counted = true`. A crash
between the steps leaves `counted = false`, which a repair job finds and finishes by recounting the tweet's
partition. Unlike is the mirror image (`DELETE … IF EXISTS`, then the counter CAS).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from services.kit.sqlite import Database, Transaction

__all__ = ["MIGRATIONS", "Engagement", "EngagementStore", "ListEntry", "StoredRetweet"]

MIGRATIONS = [
    """
    CREATE TABLE likes (
        user_id    INTEGER NOT NULL,
        tweet_id   INTEGER NOT NULL,
        like_id    INTEGER NOT NULL,   -- a Snowflake: orders the likers, newest first
        created_at REAL NOT NULL,
        PRIMARY KEY (user_id, tweet_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX likes_by_tweet ON likes (tweet_id, like_id DESC);

    CREATE TABLE retweets (
        user_id         INTEGER NOT NULL,
        tweet_id        INTEGER NOT NULL,  -- the original tweet, never a retweet row
        retweet_id      INTEGER NOT NULL,  -- the tweet service's retweet row (a Snowflake)
        tweet_author_id INTEGER NOT NULL,  -- for the unretweeted event when the row disappears on its own
        created_at      REAL NOT NULL,
        PRIMARY KEY (user_id, tweet_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX retweets_by_tweet ON retweets (tweet_id, retweet_id DESC);

    CREATE TABLE bookmarks (
        user_id     INTEGER NOT NULL,
        tweet_id    INTEGER NOT NULL,
        bookmark_id INTEGER NOT NULL,      -- a Snowflake: orders the user's bookmarks, newest first
        created_at  REAL NOT NULL,
        PRIMARY KEY (user_id, tweet_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX bookmarks_by_user ON bookmarks (user_id, bookmark_id DESC);
    CREATE INDEX bookmarks_by_tweet ON bookmarks (tweet_id);  -- to drop the bookmarks of a deleted tweet

    CREATE TABLE counters (
        tweet_id      INTEGER PRIMARY KEY,
        like_count    INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0),
        retweet_count INTEGER NOT NULL DEFAULT 0 CHECK (retweet_count >= 0)
    );

    -- Tweets whose deletion was processed: a like racing the deletion must not outlive it.
    CREATE TABLE deleted_tweets (
        tweet_id   INTEGER PRIMARY KEY,
        deleted_at REAL NOT NULL
    );
    """,
]

_Counter = Literal["like_count", "retweet_count"]


@dataclass(frozen=True, slots=True)
class Engagement:
    """One tweet's counters and one reader's engagement with it (all False for anonymous readers)."""

    tweet_id: int
    like_count: int = 0
    retweet_count: int = 0
    liked: bool = False
    retweeted: bool = False
    bookmarked: bool = False


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One row of a list: the user (likers, retweeters) or tweet (bookmarks), and its page cursor."""

    id: int
    cursor: int


@dataclass(frozen=True, slots=True)
class StoredRetweet:
    user_id: int
    tweet_id: int
    retweet_id: int
    tweet_author_id: int


class EngagementStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        return self._db

    # Writes: each takes the caller's open transaction and answers whether it changed anything.

    async def add_like(self, tx: Transaction, *, user_id: int, tweet_id: int, like_id: int, at: float) -> bool:
        inserted = await tx.execute(
            "INSERT INTO likes (user_id, tweet_id, like_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (user_id, tweet_id, like_id, at),
        )
        if inserted:
            await self._count(tx, tweet_id, "like_count", +1)
        return inserted == 1

    async def remove_like(self, tx: Transaction, *, user_id: int, tweet_id: int) -> int | None:
        """Deletes the like; answers its like_id, or None if there was none."""
        row = await tx.fetch_one(
            "DELETE FROM likes WHERE user_id = ? AND tweet_id = ? RETURNING like_id", (user_id, tweet_id)
        )
        if row is None:
            return None
        await self._count(tx, tweet_id, "like_count", -1)
        return int(row[0])

    async def add_retweet(self, tx: Transaction, retweet: StoredRetweet, *, at: float) -> bool:
        """Records the retweet; answers False (and only re-points it at `retweet_id`) if it was recorded already."""
        known = await tx.fetch_one(
            "SELECT retweet_id FROM retweets WHERE user_id = ? AND tweet_id = ?", (retweet.user_id, retweet.tweet_id)
        )
        if known is not None:
            if known[0] != retweet.retweet_id:
                # The tweet service made a new row (ours pointed at one it no longer has): follow it, so the
                # deletion of the new row is recognised later.
                await tx.execute(
                    "UPDATE retweets SET retweet_id = ? WHERE user_id = ? AND tweet_id = ?",
                    (retweet.retweet_id, retweet.user_id, retweet.tweet_id),
                )
            return False
        await tx.execute(
            "INSERT INTO retweets (user_id, tweet_id, retweet_id, tweet_author_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (retweet.user_id, retweet.tweet_id, retweet.retweet_id, retweet.tweet_author_id, at),
        )
        await self._count(tx, retweet.tweet_id, "retweet_count", +1)
        return True

    async def remove_retweet(
        self, tx: Transaction, *, user_id: int, tweet_id: int, retweet_id: int | None = None
    ) -> StoredRetweet | None:
        """Deletes the user's retweet of the tweet — only if it is of the row `retweet_id`, when given."""
        sql = "DELETE FROM retweets WHERE user_id = ? AND tweet_id = ?"
        params: tuple[int, ...] = (user_id, tweet_id)
        if retweet_id is not None:
            sql, params = sql + " AND retweet_id = ?", (*params, retweet_id)
        row = await tx.fetch_one(sql + " RETURNING retweet_id, tweet_author_id", params)
        if row is None:
            return None
        await self._count(tx, tweet_id, "retweet_count", -1)
        return StoredRetweet(user_id=user_id, tweet_id=tweet_id, retweet_id=row[0], tweet_author_id=row[1])

    async def add_bookmark(
        self, tx: Transaction, *, user_id: int, tweet_id: int, bookmark_id: int, at: float
    ) -> bool:
        inserted = await tx.execute(
            "INSERT INTO bookmarks (user_id, tweet_id, bookmark_id, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (user_id, tweet_id, bookmark_id, at),
        )
        return inserted == 1

    async def remove_bookmark(self, tx: Transaction, *, user_id: int, tweet_id: int) -> bool:
        deleted = await tx.execute("DELETE FROM bookmarks WHERE user_id = ? AND tweet_id = ?", (user_id, tweet_id))
        return deleted == 1

    async def is_deleted(self, tx: Transaction, tweet_id: int) -> bool:
        return await tx.fetch_one("SELECT 1 FROM deleted_tweets WHERE tweet_id = ?", (tweet_id,)) is not None

    async def forget_tweet(self, tx: Transaction, tweet_id: int, *, at: float) -> bool:
        """Marks the tweet deleted and drops everything about it; answers False if it was done before."""
        marked = await tx.execute(
            "INSERT INTO deleted_tweets (tweet_id, deleted_at) VALUES (?, ?) ON CONFLICT DO NOTHING", (tweet_id, at)
        )
        for table in ("likes", "retweets", "bookmarks", "counters"):
            await tx.execute(f"DELETE FROM {table} WHERE tweet_id = ?", (tweet_id,))
        return marked == 1

    async def _count(self, tx: Transaction, tweet_id: int, counter: _Counter, delta: Literal[1, -1]) -> None:
        if delta > 0:
            await tx.execute(
                f"INSERT INTO counters (tweet_id, {counter}) VALUES (?, 1)"
                f" ON CONFLICT (tweet_id) DO UPDATE SET {counter} = {counter} + 1",
                (tweet_id,),
            )
            return
        # A plain UPDATE: SQLite checks an upsert's VALUES row (-1) against the CHECK before resolving the
        # conflict. A missing counter row under an existing engagement row fails the CHECK just the same.
        changed = await tx.execute(f"UPDATE counters SET {counter} = {counter} - 1 WHERE tweet_id = ?", (tweet_id,))
        if changed != 1:
            raise sqlite3.IntegrityError(f"CHECK constraint failed: {counter} of tweet {tweet_id} has no row")

    # Reads: the last committed state, never waiting for a writer.

    async def engagements(self, tweet_ids: Iterable[int], *, viewer_id: int | None) -> dict[int, Engagement]:
        """The counters of the tweets and the viewer's engagement with each, in one query (tweet hydration)."""
        ids = list(dict.fromkeys(tweet_ids))
        if not ids:
            return {}
        # One statement whatever the batch size: the ids travel as one JSON array, so the SQL text (and its
        # prepared statement) is the same for every batch and no parameter limit applies.
        rows = await self._db.fetch_all(
            """
            SELECT ids.value,
                   coalesce(c.like_count, 0),
                   coalesce(c.retweet_count, 0),
                   EXISTS (SELECT 1 FROM likes WHERE user_id = :viewer AND tweet_id = ids.value),
                   EXISTS (SELECT 1 FROM retweets WHERE user_id = :viewer AND tweet_id = ids.value),
                   EXISTS (SELECT 1 FROM bookmarks WHERE user_id = :viewer AND tweet_id = ids.value)
            FROM json_each(:ids) AS ids
            LEFT JOIN counters AS c ON c.tweet_id = ids.value
            """,
            {"ids": json.dumps(ids), "viewer": viewer_id or 0},
        )
        return {
            r[0]: Engagement(r[0], r[1], r[2], liked=bool(r[3]), retweeted=bool(r[4]), bookmarked=bool(r[5]))
            for r in rows
        }

    async def likers(self, tweet_id: int, *, before: int, limit: int) -> list[ListEntry]:
        rows = await self._db.fetch_all(
            "SELECT user_id, like_id FROM likes WHERE tweet_id = ? AND like_id < ? ORDER BY like_id DESC LIMIT ?",
            (tweet_id, before, limit),
        )
        return [ListEntry(id=r[0], cursor=r[1]) for r in rows]

    async def retweeters(self, tweet_id: int, *, before: int, limit: int) -> list[ListEntry]:
        rows = await self._db.fetch_all(
            "SELECT user_id, retweet_id FROM retweets WHERE tweet_id = ? AND retweet_id < ?"
            " ORDER BY retweet_id DESC LIMIT ?",
            (tweet_id, before, limit),
        )
        return [ListEntry(id=r[0], cursor=r[1]) for r in rows]

    async def bookmarks(self, user_id: int, *, before: int, limit: int) -> list[ListEntry]:
        rows = await self._db.fetch_all(
            "SELECT tweet_id, bookmark_id FROM bookmarks WHERE user_id = ? AND bookmark_id < ?"
            " ORDER BY bookmark_id DESC LIMIT ?",
            (user_id, before, limit),
        )
        return [ListEntry(id=r[0], cursor=r[1]) for r in rows]
