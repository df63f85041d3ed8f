"""The auth service's storage: credentials, refresh-token families and signing keys (SQLite)."""

from __future__ import annotations

from dataclasses import dataclass

from services.auth.keys import SigningKey
from services.kit.sqlite import Database

__all__ = ["MIGRATIONS", "AuthStore", "RefreshToken"]

MIGRATIONS = [
    """
    CREATE TABLE credentials (
        user_id       INTEGER PRIMARY KEY,
        password_hash TEXT NOT NULL,
        updated_at    REAL NOT NULL
    );
    -- Refresh tokens are stored hashed. A family is one log-in; rotation adds a token to the family and marks
    -- the previous one used. Presenting a used token again means it was stolen: the family is revoked.
    CREATE TABLE refresh_tokens (
        token_hash  TEXT PRIMARY KEY,
        family_id   TEXT NOT NULL,
        user_id     INTEGER NOT NULL,
        expires_at  REAL NOT NULL,
        used_at     REAL,
        revoked_at  REAL
    );
    CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
    CREATE TABLE signing_keys (
        kid         TEXT PRIMARY KEY,
        private_pem BLOB NOT NULL,
        created_at  REAL NOT NULL,
        retired_at  REAL
    );
    """,
]


@dataclass(frozen=True, slots=True)
class RefreshToken:
    token_hash: str
    family_id: str
    user_id: int
    expires_at: float
    used_at: float | None
    revoked_at: float | None


class AuthStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put_credentials(self, user_id: int, password_hash: str, *, now: float) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO credentials (user_id, password_hash, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash,"
                " updated_at = excluded.updated_at",
                (user_id, password_hash, now),
            )

    async def password_hash(self, user_id: int) -> str | None:
        row = await self._db.fetch_one("SELECT password_hash FROM credentials WHERE user_id = ?", (user_id,))
        return None if row is None else str(row["password_hash"])

    async def add_refresh_token(self, token: RefreshToken) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) VALUES (?, ?, ?, ?)",
                (token.token_hash, token.family_id, token.user_id, token.expires_at),
            )

    async def rotate_refresh_token(self, old_hash: str, new: RefreshToken, *, now: float) -> RefreshToken | None:
        """Mark `old_hash` used and add `new` to its family, atomically.

        Returns the old token's row as it was before (None if unknown). The caller decides from it whether the
        rotation was legitimate; when it was not (reused, revoked or expired) nothing is added and the family
        is revoked if the token had been used before.
        """
        async with self._db.transaction() as tx:
            row = await tx.fetch_one("SELECT * FROM refresh_tokens WHERE token_hash = ?", (old_hash,))
            if row is None:
                return None
            old = RefreshToken(**dict(row))
            if old.used_at is not None and old.revoked_at is None:
                await tx.execute(
                    "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
                    (now, old.family_id),
                )
            if old.used_at is None and old.revoked_at is None and old.expires_at > now:
                await tx.execute("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", (now, old_hash))
                await tx.execute(
                    "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)"
                    " VALUES (?, ?, ?, ?)",
                    (new.token_hash, old.family_id, old.user_id, new.expires_at),
                )
            return old

    async def revoke_family_of(self, token_hash: str, *, now: float) -> bool:
        """Revoke the family the token belongs to. Returns False if the token is unknown."""
        async with self._db.transaction() as tx:
            row = await tx.fetch_one("SELECT family_id FROM refresh_tokens WHERE token_hash = ?", (token_hash,))
            if row is None:
                return False
            await tx.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
                (now, row["family_id"]),
            )
            return True

    async def signing_keys(self) -> list[SigningKey]:
        rows = await self._db.fetch_all("SELECT * FROM signing_keys ORDER BY created_at")
        return [
            SigningKey.from_pem(
                kid=r["kid"], pem=r["private_pem"], created_at=r["created_at"], retired_at=r["retired_at"]
            )
            for r in rows
        ]

    async def add_signing_key(self, key: SigningKey, *, now: float) -> None:
        """Make `key` the active key; the previously active keys are retired now (but stay published)."""
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL", (now,))
            await tx.execute(
                "INSERT INTO signing_keys (kid, private_pem, created_at) VALUES (?, ?, ?)",
                (key.kid, key.private_pem, key.created_at),
            )
