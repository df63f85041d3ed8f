"""The user service's storage: profiles and their counters (SQLite)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, fields

from services.kit.sqlite import Database, Row

__all__ = ["MIGRATIONS", "DuplicateUser", "Profile", "UserStore"]

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
]


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
        return cls(**values)


class DuplicateUser(Exception):
    """The username or the email is taken; `field` says which."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is taken")
        self.field = field


class UserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, profile: Profile, *, username_key: str, email_key: str) -> None:
        """Raises DuplicateUser naming the field that collides."""
        async with self._db.transaction() as tx:
            for column, key, field in (("username_key", username_key, "username"), ("email_key", email_key, "email")):
                if await tx.fetch_one(f"SELECT 1 FROM users WHERE {column} = ?", (key,)):
                    raise DuplicateUser(field)
            try:
                await tx.execute(
                    "INSERT INTO users (id, username, username_key, email, email_key, display_name, bio,"
                    " avatar_url, protected, discoverable, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        profile.id, profile.username, username_key, profile.email, email_key,
                        profile.display_name, profile.bio, profile.avatar_url, int(profile.protected),
                        int(profile.discoverable), profile.created_at,
                    ),
                )  # fmt: skip
            except sqlite3.IntegrityError as exc:  # a concurrent twin won the race between check and insert
                raise DuplicateUser("username" if "username" in str(exc) else "email") from exc

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
