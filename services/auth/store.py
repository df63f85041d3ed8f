"""The auth service's storage: credentials, refresh-token families and signing keys (SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.auth.keys import SigningKey
from services.kit.sqlite import Database, Transaction

__all__ = ["MIGRATIONS", "AuthStore", "FailureBook", "FailureCount", "RefreshToken"]

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
    """
    -- A key is published before it signs (see keys.py); until now keys signed from their creation.
    ALTER TABLE signing_keys ADD COLUMN active_from REAL;
    UPDATE signing_keys SET active_from = created_at;
    -- Failed log-ins, per subject ("account:<user id>", "login:<unknown login>", "address:<client address>").
    -- In SQLite, not Redis: a restart must not hand an attacker a fresh set of guesses.
    CREATE TABLE login_failures (
        subject         TEXT PRIMARY KEY,
        failures        INTEGER NOT NULL,
        last_failure_at REAL NOT NULL
    );
    CREATE INDEX login_failures_by_time ON login_failures (last_failure_at);
    CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
    """,
]


@dataclass(frozen=True, slots=True)
class FailureCount:
    """The remembered failed log-ins of one subject."""

    failures: int
    last_failure_at: float


class FailureBook:
    """The failure counts, read and written inside one write transaction (see `AuthStore.failure_book`)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, subject: str) -> FailureCount | None:
        row = await self._tx.fetch_one(
            "SELECT failures, last_failure_at FROM login_failures WHERE subject = ?", (subject,)
        )
        return None if row is None else FailureCount(int(row["failures"]), float(row["last_failure_at"]))

    async def put(self, subject: str, count: FailureCount) -> None:
        """Store `count` for `subject`; a count of zero or less forgets the subject."""
        if count.failures <= 0:
            await self.forget(subject)
            return
        await self._tx.execute(
            "INSERT INTO login_failures (subject, failures, last_failure_at) VALUES (?, ?, ?)"
            " ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures,"
            " last_failure_at = excluded.last_failure_at",
            (subject, count.failures, count.last_failure_at),
        )

    async def forget(self, subject: str) -> None:
        await self._tx.execute("DELETE FROM login_failures WHERE subject = ?", (subject,))


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

    async def add_credentials(self, user_id: int, password_hash: str, *, now: float) -> bool:
        """Store the password of a new account; False (and nothing changed) if it already has one.

        Never overwrites: a replayed registration must not be a way to change someone's password.
        """
        changed = await self._db.execute(
            "INSERT INTO credentials (user_id, password_hash, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO NOTHING",
            (user_id, password_hash, now),
        )
        return changed == 1

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
                    "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) VALUES (?, ?, ?, ?)",
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

    async def prune_refresh_tokens(self, *, now: float) -> int:
        """Delete expired refresh tokens (they answer INVALID_REFRESH_TOKEN either way); returns how many."""
        return await self._db.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?", (now,))

    async def signing_keys(self) -> list[SigningKey]:
        rows = await self._db.fetch_all("SELECT * FROM signing_keys ORDER BY active_from, created_at")
        return [
            SigningKey.from_pem(
                kid=r["kid"],
                pem=r["private_pem"],
                created_at=r["created_at"],
                retired_at=r["retired_at"],
                active_from=r["active_from"],
            )
            for r in rows
        ]

    async def add_signing_key(self, key: SigningKey, *, newest_kid: str | None) -> bool:
        """Add `key`, retiring every unretired key at the moment `key` becomes active.

        Only if the newest key is still `newest_kid` (None: there is no key): when two instances decide to
        rotate at once, one adds its key and the other gets False and keeps the winner's.
        """
        async with self._db.transaction() as tx:
            row = await tx.fetch_one("SELECT kid FROM signing_keys ORDER BY active_from DESC, created_at DESC LIMIT 1")
            if (None if row is None else row["kid"]) != newest_kid:
                return False
            await tx.execute("UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL", (key.activation,))
            await tx.execute(
                "INSERT INTO signing_keys (kid, private_pem, created_at, active_from) VALUES (?, ?, ?, ?)",
                (key.kid, key.private_pem, key.created_at, key.activation),
            )
            return True

    async def delete_signing_keys(self, kids: Iterable[str]) -> None:
        async with self._db.transaction() as tx:
            await tx.execute_many("DELETE FROM signing_keys WHERE kid = ?", [(kid,) for kid in kids])

    @asynccontextmanager
    async def failure_book(self) -> AsyncIterator[FailureBook]:
        """The log-in failure counts in one write transaction: whoever holds it reads and writes them alone,
        so concurrent log-ins are counted exactly. An exception rolls every change back."""
        async with self._db.transaction() as tx:
            yield FailureBook(tx)

    async def forget_failures(self, *, up_to: float) -> int:
        """Delete failure counts last touched at or before `up_to`; returns how many."""
        return await self._db.execute("DELETE FROM login_failures WHERE last_failure_at <= ?", (up_to,))
