"""The graph service's storage (SQLite): follows, follow requests, blocks and mutes.

Shaped like its Cassandra twin, one table (or index) per query, each keyed by the user it is read by:

    follows            (follower_id, followee_id)   is A following B; a user's followee ids (fan-out, rebuilds)
    followers_by_followee (followee_id, follower_id) a user's follower ids
    follows_by_follower_recent / _by_followee_recent (user, follow_id)   the public lists, newest first
    follow_requests    (requester_id, target_id)    has A asked B
    follow_requests_by_target (target_id, request_id)   a user's pending requests, newest first
    blocks             (blocker_id, blocked_id)  and  blocks_by_blocked (blocked_id, blocker_id)
    mutes              (muter_id, muted_id)

A relationship is six point reads from the viewer's partitions, batched with IN for many targets. Follows and
requests carry a Snowflake id (`follow_id`, `request_id`): the newest-first lists cluster by it and page by it.
The one query that is not a partition read is the who-to-follow ranking, a join over `follows` (friends of
friends); a Cassandra deployment would precompute it instead.

Reads go to the last committed state; writes go through `GraphWrites`, bound to one transaction so that a
change and the events announcing it (the outbox) commit together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

from services.graph.model import NO_RELATION, Candidate, Edge, Relation
from services.kit.sqlite import Database, Transaction

__all__ = ["MIGRATIONS", "GraphStore", "GraphWrites"]

MIGRATIONS = [
    """
    CREATE TABLE follows (
        follower_id INTEGER NOT NULL,
        followee_id INTEGER NOT NULL,
        created_at  REAL NOT NULL,
        PRIMARY KEY (follower_id, followee_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX followers_by_followee ON follows (followee_id, follower_id);
    """,
    # Newest-first lists, follow requests, blocks, mutes. Follows made before this migration get a follow_id
    # built like a Snowflake from their created_at (milliseconds since the Chirp epoch, 2025-01-01, in the
    # time bits), numbered in the low bits so that no two share one; newer follows get real Snowflakes.
    """
    ALTER TABLE follows ADD COLUMN follow_id INTEGER NOT NULL DEFAULT 0;
    UPDATE follows SET follow_id = numbered.follow_id
    FROM (
        SELECT follower_id, followee_id,
               (max(CAST(created_at * 1000 AS INTEGER) - 1735689600000, 0) << 22)
               + (row_number() OVER (ORDER BY created_at, follower_id, followee_id) % 4194304) AS follow_id
        FROM follows
    ) AS numbered
    WHERE follows.follower_id = numbered.follower_id AND follows.followee_id = numbered.followee_id;
    CREATE INDEX follows_by_follower_recent ON follows (follower_id, follow_id);
    CREATE INDEX follows_by_followee_recent ON follows (followee_id, follow_id);

    CREATE TABLE follow_requests (
        requester_id INTEGER NOT NULL,
        target_id    INTEGER NOT NULL,
        request_id   INTEGER NOT NULL,  -- Snowflake: orders and pages the target's list
        created_at   REAL NOT NULL,
        PRIMARY KEY (requester_id, target_id)
    ) WITHOUT ROWID;
    CREATE INDEX follow_requests_by_target ON follow_requests (target_id, request_id);

    CREATE TABLE blocks (
        blocker_id INTEGER NOT NULL,
        blocked_id INTEGER NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (blocker_id, blocked_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX blocks_by_blocked ON blocks (blocked_id, blocker_id);

    CREATE TABLE mutes (
        muter_id   INTEGER NOT NULL,
        muted_id   INTEGER NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (muter_id, muted_id)
    ) WITHOUT ROWID;
    """,
]

# Below SQLite's smallest default limit of bound parameters (999 before 3.32), with room for the others.
_IN_CHUNK = 500

# The six flags of a relationship, each one partition read: (flag, table, column read by, column matched).
# The source is bound to the first column, the targets to the second.
_FLAG_QUERIES = (
    ("following", "follows", "follower_id", "followee_id"),
    ("followed_by", "follows", "followee_id", "follower_id"),
    ("follow_requested", "follow_requests", "requester_id", "target_id"),
    ("blocking", "blocks", "blocker_id", "blocked_id"),
    ("blocked_by", "blocks", "blocked_id", "blocker_id"),
    ("muting", "mutes", "muter_id", "muted_id"),
)

_SUGGESTIONS = """
WITH followees AS (
    SELECT followee_id AS id FROM follows WHERE follower_id = :me ORDER BY follow_id DESC LIMIT :sample
),
candidates AS (
    SELECT f.followee_id AS id, count(*) AS mutual
    FROM followees JOIN follows AS f ON f.follower_id = followees.id
    WHERE f.followee_id != :me
    GROUP BY f.followee_id
),
ranked AS (
    SELECT c.id, c.mutual, (SELECT count(*) FROM follows AS r WHERE r.followee_id = c.id) AS followers
    FROM candidates AS c
    WHERE NOT EXISTS (SELECT 1 FROM follows WHERE follower_id = :me AND followee_id = c.id)
      AND NOT EXISTS (SELECT 1 FROM follow_requests WHERE requester_id = :me AND target_id = c.id)
      AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = :me AND blocked_id = c.id)
      AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = c.id AND blocked_id = :me)
      AND NOT EXISTS (SELECT 1 FROM mutes WHERE muter_id = :me AND muted_id = c.id)
)
SELECT id, mutual, followers FROM ranked
WHERE :first OR (mutual, followers, -id) < (:mutual, :followers, -:id)
ORDER BY mutual DESC, followers DESC, id
LIMIT :limit
"""


class GraphStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[GraphWrites]:
        """`async with store.writing() as w:` one write transaction; `w.tx` is for the outbox."""
        async with self._db.transaction() as tx:
            yield GraphWrites(tx)

    async def relationship(self, source: int, target: int) -> Relation:
        return (await self.relationships(source, [target]))[target]

    async def relationships(self, source: int, targets: Collection[int]) -> dict[int, Relation]:
        """The relation of `source` to each of `targets` (every one gets an entry; the source itself none set)."""
        wanted = sorted({t for t in targets if t != source})
        flags: dict[int, dict[str, bool]] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for flag, table, by, match in _FLAG_QUERIES:
                rows = await self._db.fetch_all(
                    f"SELECT {match} FROM {table} WHERE {by} = ? AND {match} IN ({marks})", (source, *chunk)
                )
                for row in rows:
                    flags.setdefault(row[0], {})[flag] = True
        return {t: Relation(**flags[t]) if t in flags else NO_RELATION for t in targets}

    async def followers(self, user_id: int, *, before: int | None, limit: int) -> list[Edge]:
        """The users following `user_id`, newest follow first, starting after the follow `before`."""
        return await self._edges(
            "SELECT follower_id, follow_id FROM follows WHERE followee_id = ? AND follow_id < ?"
            " ORDER BY follow_id DESC LIMIT ?",
            user_id, before, limit,
        )  # fmt: skip

    async def followees(self, user_id: int, *, before: int | None, limit: int) -> list[Edge]:
        """The users `user_id` follows, newest follow first, starting after the follow `before`."""
        return await self._edges(
            "SELECT followee_id, follow_id FROM follows WHERE follower_id = ? AND follow_id < ?"
            " ORDER BY follow_id DESC LIMIT ?",
            user_id, before, limit,
        )  # fmt: skip

    async def follow_requests(self, target_id: int, *, before: int | None, limit: int) -> list[Edge]:
        """The users asking to follow `target_id`, newest request first, starting after the request `before`."""
        return await self._edges(
            "SELECT requester_id, request_id FROM follow_requests WHERE target_id = ? AND request_id < ?"
            " ORDER BY request_id DESC LIMIT ?",
            target_id, before, limit,
        )  # fmt: skip

    async def follower_ids(self, user_id: int, *, after: int, limit: int) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT follower_id FROM follows WHERE followee_id = ? AND follower_id > ? ORDER BY follower_id LIMIT ?",
            (user_id, after, limit),
        )
        return [r[0] for r in rows]

    async def following_ids(self, user_id: int, *, after: int, limit: int) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT followee_id FROM follows WHERE follower_id = ? AND followee_id > ? ORDER BY followee_id LIMIT ?",
            (user_id, after, limit),
        )
        return [r[0] for r in rows]

    async def suggestions(
        self, user_id: int, *, after: Candidate | None, limit: int, followee_sample: int
    ) -> list[Candidate]:
        """Friends of friends of `user_id` in rank order (see Candidate), after the candidate `after`.

        Leaves out the user, whom they follow or asked to follow, block, are blocked by or mute;
        discoverability is the user service's to know, so the caller filters that. Only the user's
        `followee_sample` most recent followees count, which bounds the work for users who follow many.
        """
        rows = await self._db.fetch_all(
            _SUGGESTIONS,
            {
                "me": user_id,
                "sample": followee_sample,
                "first": after is None,
                "mutual": after.mutual if after else 0,
                "followers": after.followers if after else 0,
                "id": after.user_id if after else 0,
                "limit": limit,
            },
        )
        return [Candidate(user_id=r[0], mutual=r[1], followers=r[2]) for r in rows]

    async def _edges(self, sql: str, user_id: int, before: int | None, limit: int) -> list[Edge]:
        rows = await self._db.fetch_all(sql, (user_id, _NO_CURSOR if before is None else before, limit))
        return [Edge(user_id=r[0], edge_id=r[1]) for r in rows]


# Above every Snowflake: the first page of a newest-first list starts below it.
_NO_CURSOR = 2**63 - 1


class GraphWrites:
    """The writes of one transaction, and the reads that must see them (decisions made under the write lock)."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def is_following(self, follower_id: int, followee_id: int) -> bool:
        return await self._exists("follows", "follower_id", "followee_id", follower_id, followee_id)

    async def has_requested(self, requester_id: int, target_id: int) -> bool:
        return await self._exists("follow_requests", "requester_id", "target_id", requester_id, target_id)

    async def is_blocking(self, blocker_id: int, blocked_id: int) -> bool:
        return await self._exists("blocks", "blocker_id", "blocked_id", blocker_id, blocked_id)

    async def add_follow(self, follower_id: int, followee_id: int, *, follow_id: int, at: float) -> bool:
        """Record the follow; False if it existed already (left unchanged)."""
        return await self._insert(
            "INSERT INTO follows (follower_id, followee_id, follow_id, created_at) VALUES (?, ?, ?, ?)",
            (follower_id, followee_id, follow_id, at),
        )

    async def remove_follow(self, follower_id: int, followee_id: int) -> bool:
        """Remove the follow; False if there was none."""
        return await self._delete("follows", "follower_id", "followee_id", follower_id, followee_id)

    async def add_request(self, requester_id: int, target_id: int, *, request_id: int, at: float) -> bool:
        return await self._insert(
            "INSERT INTO follow_requests (requester_id, target_id, request_id, created_at) VALUES (?, ?, ?, ?)",
            (requester_id, target_id, request_id, at),
        )

    async def remove_request(self, requester_id: int, target_id: int) -> bool:
        return await self._delete("follow_requests", "requester_id", "target_id", requester_id, target_id)

    async def add_block(self, blocker_id: int, blocked_id: int, *, at: float) -> bool:
        return await self._insert(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)", (blocker_id, blocked_id, at)
        )

    async def remove_block(self, blocker_id: int, blocked_id: int) -> bool:
        return await self._delete("blocks", "blocker_id", "blocked_id", blocker_id, blocked_id)

    async def add_mute(self, muter_id: int, muted_id: int, *, at: float) -> bool:
        return await self._insert(
            "INSERT INTO mutes (muter_id, muted_id, created_at) VALUES (?, ?, ?)", (muter_id, muted_id, at)
        )

    async def remove_mute(self, muter_id: int, muted_id: int) -> bool:
        return await self._delete("mutes", "muter_id", "muted_id", muter_id, muted_id)

    async def _exists(self, table: str, first: str, second: str, a: int, b: int) -> bool:
        row = await self.tx.fetch_one(f"SELECT 1 FROM {table} WHERE {first} = ? AND {second} = ?", (a, b))
        return row is not None

    async def _insert(self, sql: str, params: tuple[int | float, ...]) -> bool:
        # The primary key makes a repeat a no-op, which is what makes every graph action idempotent.
        return await self.tx.execute(f"{sql} ON CONFLICT DO NOTHING", params) > 0

    async def _delete(self, table: str, first: str, second: str, a: int, b: int) -> bool:
        return await self.tx.execute(f"DELETE FROM {table} WHERE {first} = ? AND {second} = ?", (a, b)) > 0
