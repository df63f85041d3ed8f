"""The classification repository (SQLite): one row per user the service has heard of, read whole at start.

The only queries are "every row" (at start, into memory) and "write this row" (in the transaction that also
marks the event handled and queues the change event), so the table is keyed by user id and nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.classification.rules import Facts, UserClass
from services.kit.sqlite import Database, Row, Transaction

__all__ = ["MIGRATIONS", "ClassificationStore", "Record"]

MIGRATIONS = [
    """
    CREATE TABLE users (
        user_id        INTEGER PRIMARY KEY,
        follower_count INTEGER NOT NULL DEFAULT 0,
        last_active_at REAL,                       -- Unix seconds; NULL: never
        last_seen_at   REAL,
        live           INTEGER NOT NULL DEFAULT 0,
        presence_at    REAL,
        user_class     INTEGER NOT NULL,           -- the class last announced
        updated_at     REAL,                       -- when the user entered it
        changes        INTEGER NOT NULL DEFAULT 0  -- how many changes were announced: the last event's number
    );
    """
]


@dataclass(frozen=True, slots=True)
class Record:
    """A user's facts, and the class last announced for them (the chain of `chirp.classification.changed`)."""

    user_id: int
    facts: Facts
    user_class: UserClass = UserClass.INACTIVE
    updated_at: float | None = None
    changes: int = 0


def _record(row: Row) -> Record:
    facts = Facts(
        follower_count=row["follower_count"],
        last_active_at=row["last_active_at"],
        last_seen_at=row["last_seen_at"],
        live=bool(row["live"]),
        presence_at=row["presence_at"],
    )
    return Record(row["user_id"], facts, UserClass(row["user_class"]), row["updated_at"], row["changes"])


class ClassificationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._db.transaction() as tx:
            yield tx

    async def all(self) -> list[Record]:
        return [_record(row) for row in await self._db.fetch_all("SELECT * FROM users")]

    async def save(self, tx: Transaction, record: Record) -> None:
        f = record.facts
        await tx.execute(
            """
            INSERT INTO users (user_id, follower_count, last_active_at, last_seen_at, live, presence_at,
                               user_class, updated_at, changes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                follower_count = excluded.follower_count, last_active_at = excluded.last_active_at,
                last_seen_at = excluded.last_seen_at, live = excluded.live, presence_at = excluded.presence_at,
                user_class = excluded.user_class, updated_at = excluded.updated_at, changes = excluded.changes
            """,
            (
                record.user_id, f.follower_count, f.last_active_at, f.last_seen_at, int(f.live), f.presence_at,
                int(record.user_class), record.updated_at, record.changes,
            ),
        )  # fmt: skip
