"""The graph service's storage: who follows whom (SQLite).

Shaped like its Cassandra twin: the two read directions (a user's followees, a user's followers) each have
their own index, keyed by the user read by and ordered by the other user's id, which is also the page cursor.
"""

from __future__ import annotations

from services.kit.sqlite import Database

__all__ = ["MIGRATIONS", "GraphStore"]

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
]


class GraphStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        return self._db

    async def is_following(self, follower_id: int, followee_id: int) -> bool:
        row = await self._db.fetch_one(
            "SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?", (follower_id, followee_id)
        )
        return row is not None

    async def follower_ids(self, user_id: int, *, after: int, limit: int) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT follower_id FROM follows WHERE followee_id = ? AND follower_id > ?"
            " ORDER BY follower_id LIMIT ?",
            (user_id, after, limit),
        )
        return [r[0] for r in rows]

    async def following_ids(self, user_id: int, *, after: int, limit: int) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT followee_id FROM follows WHERE follower_id = ? AND followee_id > ?"
            " ORDER BY followee_id LIMIT ?",
            (user_id, after, limit),
        )
        return [r[0] for r in rows]
