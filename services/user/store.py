"""The user service's storage: profiles, their settings and counters (SQLite).

Writes that must commit together with their event (a new profile, a profile change, a counter move and its
idempotency mark) take the caller's transaction: `async with store.transaction() as tx:`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from typing import Any

from services.kit.sqlite import Database, Row, Transaction

__all__ = ["COUNTERS", "MIGRATIONS", "DuplicateUser", "Profile", "UserStore"]

MIGRATIONS = [
    """
    CREATE TABLE users (
        id              INTEGER PRIMARY KEY,
        username        TEXT NOT NULL,
        username_key    TEXT NOT NULL UNIQUE,  -- casefolded: usernames are unique case-insensitively
        email           TEXT NOT NULL,
        email_key       TEXT NOT NULL UNIQUE,
        display_name    TEXT NOT NULL DEFAULT '',
        bio             TEXT NOT NULL DEFAULT '',
        avatar_url      TEXT NOT NULL DEFAULT '',
        protected       INTEGER NOT NULL DEFAULT 0,
        discoverable    INTEGER NOT NULL DEFAULT 1,
        created_at      REAL NOT NULL,
        follower_count  INTEGER NOT NULL DEFAULT 0,
        following_count INTEGER NOT NULL DEFAULT 0,
        tweet_count     INTEGER NOT NULL DEFAULT 0
    );
    """,
    """
    -- The request_id of the registration that created the row, so a retried registration finds it.
    ALTER TABLE users ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
    """,
]

# The counter columns, which only `add_to_counter` moves. They hold the exact sum of every +1 and -1 applied,
# and may dip below zero for a moment when a decrement is handled before its increment (events of different
# subjects, or a redelivery, arrive out of order); `Profile` shows such a value as 0. Clamping the stored sum
# instead would lose the increment for good.
COUNTERS = frozenset({"follower_count", "following_count", "tweet_count"})
# The settings a user may change.
_UPDATABLE = frozenset({"display_name", "bio", "protected", "discoverable"})


@dataclass(frozen=True, slots=True)
class Profile:
    id: int
    username: str
    email: str
    display_name: str
    bio: str
    avatar_url: str
    protected: bool
    discoverable: bool
    created_at: float
    follower_count: int
    following_count: int
    tweet_count: int

    @classmethod
    def from_row(cls, row: Row) -> Profile:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["protected"] = bool(values["protected"])
        values["discoverable"] = bool(values["discoverable"])
        for counter in COUNTERS:
            values[counter] = max(0, int(values[counter]))
        return cls(**values)


class DuplicateUser(Exception):
    """The username or the email is taken; `field` says which."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is taken")
        self.field = field


class UserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._db.transaction() as tx:
            yield tx

    async def registered_by(
        self, tx: Transaction, *, request_id: str, username_key: str, email_key: str
    ) -> Profile | None:
        """The profile an earlier registration with the same request id, username and email created."""
        if not request_id:
            return None
        row = await tx.fetch_one(
            "SELECT * FROM users WHERE username_key = ? AND email_key = ? AND request_id = ?",
            (username_key, email_key, request_id),
        )
        return None if row is None else Profile.from_row(row)

    async def insert(
        self, tx: Transaction, profile: Profile, *, username_key: str, email_key: str, request_id: str
    ) -> None:
        """Raises DuplicateUser naming the field that collides (the transaction stays usable)."""
        for column, key, field in (("username_key", username_key, "username"), ("email_key", email_key, "email")):
            if await tx.fetch_one(f"SELECT 1 FROM users WHERE {column} = ?", (key,)):
                raise DuplicateUser(field)
        try:
            await tx.execute(
                "INSERT INTO users (id, username, username_key, email, email_key, display_name, bio,"
                " avatar_url, protected, discoverable, created_at, request_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    profile.id, profile.username, username_key, profile.email, email_key, profile.display_name,
                    profile.bio, profile.avatar_url, int(profile.protected), int(profile.discoverable),
                    profile.created_at, request_id,
                ),
            )  # fmt: skip
        except sqlite3.IntegrityError as exc:  # cannot happen behind the checks above while writes are serial
            raise DuplicateUser("username" if "username" in str(exc) else "email") from exc

    async def for_update(self, tx: Transaction, user_id: int) -> Profile | None:
        """The profile as of this transaction, which holds the write lock until it ends."""
        row = await tx.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else Profile.from_row(row)

    async def update_settings(self, tx: Transaction, user_id: int, changes: dict[str, Any]) -> None:
        """Set the given settings (`display_name`, `bio`, `protected`, `discoverable`) of one user."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if not changes:
            return
        columns = sorted(changes)
        assignments = ", ".join(f"{c} = ?" for c in columns)
        values = [int(v) if isinstance(v, bool) else v for v in (changes[c] for c in columns)]
        await tx.execute(f"UPDATE users SET {assignments} WHERE id = ?", (*values, user_id))

    async def add_to_counter(self, tx: Transaction, user_id: int, counter: str, delta: int) -> bool:
        """Add `delta` to one counter of one user; False if there is no such user."""
        if counter not in COUNTERS:
            raise ValueError(f"not a counter: {counter!r}")
        changed = await tx.execute(f"UPDATE users SET {counter} = {counter} + ? WHERE id = ?", (delta, user_id))
        return changed == 1

    async def by_id(self, user_id: int) -> Profile | None:
        row = await self._db.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else Profile.from_row(row)

    async def by_username(self, username: str) -> Profile | None:
        row = await self._db.fetch_one("SELECT * FROM users WHERE username_key = ?", (username.casefold(),))
        return None if row is None else Profile.from_row(row)

    async def by_email(self, email_key: str) -> Profile | None:
        row = await self._db.fetch_one("SELECT * FROM users WHERE email_key = ?", (email_key,))
        return None if row is None else Profile.from_row(row)

    async def by_ids(self, user_ids: Iterable[int]) -> dict[int, Profile]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetch_all(f"SELECT * FROM users WHERE id IN ({marks})", ids)
        return {row["id"]: Profile.from_row(row) for row in rows}
