"""A service's SQLite database: one file, migrations, serialized write transactions, concurrent reads.

    db = await Database.open(data_dir / "tweet.db", MIGRATIONS)
    async with db.transaction() as tx:             # BEGIN IMMEDIATE … COMMIT, ROLLBACK on any exception
        await tx.execute("INSERT INTO tweets …", (...))
    row = await db.fetch_one("SELECT … WHERE id = ?", (tweet_id,))

Writes go through one connection, one transaction at a time (an asyncio lock), so concurrent handlers never
interleave statements inside each other's transactions. Reads outside a transaction use a second, read-only
connection: under WAL they see the last committed state and never wait for a writer.

Statements run on the event loop's own thread. A service's statements are indexed lookups of microseconds;
handing each to a worker thread (as aiosqlite does) cost ~250 µs of CPU per statement in thread hand-offs,
twenty times the query itself, and was the largest single cost of a timeline read. What could stall the loop
is kept off it: commits do not fsync (below), and checkpoints — the one step that does — run in a worker
thread on their own connection, once a second or every thousand commits, whichever comes first (automatic
checkpoints, which would run inside a commit, are off). The methods stay coroutines so a store can move to a
server database (Cassandra) without its callers changing.

Durability: WAL with synchronous=NORMAL loses no committed transaction when the *process* crashes (the WAL
is in the OS page cache and is replayed on open); only an OS crash or power cut can drop the last commits.
A Chirp service acknowledges a write after COMMIT, so every acknowledged write survives a process crash.

Besides the service's own tables, every database carries the kit's `kit_outbox` (events waiting to be
published, see outbox) and `kit_processed` (event ids already handled, see idempotency).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

__all__ = ["Database", "MigrationError", "Params", "Row", "Transaction"]

log = logging.getLogger(__name__)

Row = sqlite3.Row
Params = Sequence[Any] | Mapping[str, Any]

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",  # with WAL: durable across process crashes, see the module docstring
    "PRAGMA foreign_keys = ON",
)

_KIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS kit_outbox (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,  -- publish order
    subject  TEXT NOT NULL,
    msg_id   TEXT NOT NULL,
    payload  BLOB NOT NULL,
    headers  TEXT NOT NULL,                      -- JSON object: the trace context of the writing call
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kit_processed (
    key      TEXT PRIMARY KEY,
    at       REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS kit_processed_by_time ON kit_processed (at);
"""

# As long as an event stays in its stream (events.STREAM_MAX_AGE), so pruning never forgets an event that may
# still come back: an event waiting out a dependency's outage is redelivered for as long as the outage lasts.
_PROCESSED_RETENTION_S = 7 * 24 * 3600


class MigrationError(RuntimeError):
    """A migration failed (it was rolled back), or the file is newer than the code."""


class Transaction:
    """An open write transaction; valid only inside its `async with db.transaction()` block."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._after_commit: list[Callable[[], None]] = []

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("transaction used after its block ended")
        return self._conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        return self._live().execute(sql, params).rowcount

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement per parameter set; returns the number of rows changed in all."""
        return self._live().executemany(sql, rows).rowcount

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, seeing this transaction's own writes."""
        row: Row | None = self._live().execute(sql, params).fetchone()
        return row

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a query, seeing this transaction's own writes."""
        return self._live().execute(sql, params).fetchall()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once the transaction has committed (never if it rolls back)."""
        self._after_commit.append(callback)


class Database:
    """One SQLite file of one service. Create with `await Database.open(path, migrations)`; `close()` at exit."""

    def __init__(self, path: Path, writer: sqlite3.Connection, reader: sqlite3.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._writer_task: asyncio.Task[Any] | None = None
        self._commits = 0  # since the last checkpoint
        self._checkpoint_due = asyncio.Event()  # set after _CHECKPOINT_COMMITS commits
        self._checkpointer = asyncio.create_task(self._checkpoint_every(_CHECKPOINT_INTERVAL_S))

    @classmethod
    async def open(cls, path: Path | str, migrations: Sequence[str], *, busy_timeout: float = 5.0) -> Database:
        """Open (creating it and its directory if needed) and migrate the database at `path`.

        `migrations` is the service's whole schema history, oldest first, each an SQL script; the file
        remembers how many it has applied (PRAGMA user_version) and runs the rest, each in its own
        transaction. Never edit or reorder a released migration: append a new one.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = _connect(path, busy_timeout)
        try:
            with _migrating(path):
                _migrate(writer, path, migrations)
                writer.executescript(_KIT_SCHEMA)
            writer.execute("DELETE FROM kit_processed WHERE at < ?", (time.time() - _PROCESSED_RETENTION_S,))
            writer.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints run off the loop, see the docstring
            writer.execute(f"PRAGMA journal_size_limit = {_WAL_SIZE_LIMIT}")
            reader = _connect(path, busy_timeout)
        except BaseException:
            writer.close()
            raise
        reader.execute("PRAGMA query_only = ON")
        return cls(path, writer, reader)

    async def close(self) -> None:
        """Close both connections, after waiting for a running transaction to end and checkpointing the WAL."""
        self._checkpointer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._checkpointer
        async with self._write_lock:
            self._reader.close()
            with contextlib.suppress(sqlite3.Error):  # best effort: the WAL is replayed on the next open anyway
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """`async with db.transaction() as tx:` — BEGIN IMMEDIATE, COMMIT at the end, ROLLBACK on any exception.

        IMMEDIATE takes the write lock up front, so a transaction that reads then writes cannot fail half-way
        on a lock upgrade.
        """
        me = asyncio.current_task()
        if me is not None and self._writer_task is me:
            # Waiting for the lock this task holds would hang forever: fail loudly instead.
            raise RuntimeError("transaction inside a transaction: use the open `tx` instead")
        async with self._write_lock:
            tx = Transaction(self._writer)
            self._writer.execute("BEGIN IMMEDIATE")  # if this fails (busy), nothing was begun
            self._writer_task = me
            try:
                yield tx
            except BaseException:
                _rollback(self._writer)
                raise
            finally:
                tx._conn = None
                self._writer_task = None
            # COMMIT runs to its end on this thread: a cancellation can no longer come between it and us.
            try:
                self._writer.commit()
            except BaseException:
                _rollback(self._writer)
                raise
            self._commits += 1
            if self._commits >= _CHECKPOINT_COMMITS:
                self._checkpoint_due.set()
        for callback in tx._after_commit:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback failed on %s", self.path.name)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the number of rows it changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a read-only query against the last committed state."""
        row: Row | None = self._reader.execute(sql, params).fetchone()
        return row

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a read-only query against the last committed state."""
        return self._reader.execute(sql, params).fetchall()

    async def _checkpoint_every(self, interval: float) -> None:
        """Copy the WAL back into the database file now and then, in a worker thread (it fsyncs)."""
        checkpointer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        running: asyncio.Future[None] | None = None
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._checkpoint_due.wait(), interval)
                self._checkpoint_due.clear()
                if not self._commits:
                    continue
                # Under the write lock: a checkpoint racing a steady stream of commits never copies the last
                # frame, and SQLite starts the WAL over only once one has, so the file grew without bound
                # (2 GB in 8 s of small writes). Writers wait (asynchronously) for the few milliseconds it
                # takes; readers do not.
                async with self._write_lock:
                    self._commits = 0
                    running = asyncio.ensure_future(asyncio.to_thread(_checkpoint, checkpointer))
                    try:
                        await asyncio.shield(running)
                    except sqlite3.Error as exc:
                        log.warning("checkpoint of %s failed (retried in %.0f s): %s", self.path.name, interval, exc)
                        self._commits += 1
        finally:
            if running is not None and not running.done():
                # Cancelled (closing) while the thread checkpoints: a thread cannot be stopped, and closing the
                # connection under it crashed the process (a segfault in a test run). Let it finish first.
                await asyncio.wait({running})
            checkpointer.close()


_CHECKPOINT_INTERVAL_S = 1.0
_CHECKPOINT_COMMITS = 1000  # or sooner: a few MB of WAL
_WAL_SIZE_LIMIT = 64 << 20  # what a restarted WAL is cut back to


def _checkpoint(conn: sqlite3.Connection) -> None:
    # PASSIVE: does not wait for readers; pages a reader still needs are copied next time.
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    # isolation_level=None: the sqlite3 module opens no implicit transactions; BEGIN/COMMIT are ours.
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout)
    conn.row_factory = sqlite3.Row
    for pragma in (*_PRAGMAS, f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}"):
        conn.execute(pragma)
    return conn


@contextlib.contextmanager
def _migrating(path: Path) -> Iterator[None]:
    """Hold `<path>.migrate.lock` exclusively: the processes of one service open the same file at the same time,
    and two that both read schema version 0 would both run migration 1, the second failing on what the first
    created. The lock is the file's, so it is released when its holder dies, too."""
    with open(path.with_name(path.name + ".migrate.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _migrate(conn: sqlite3.Connection, path: Path, migrations: Sequence[str]) -> None:
    row = conn.execute("PRAGMA user_version").fetchone()
    version = int(row[0]) if row else 0
    if version > len(migrations):
        raise MigrationError(
            f"{path} is at schema version {version} but this code has only {len(migrations)} migrations"
        )
    for number, script in enumerate(migrations[version:], start=version + 1):
        # One script so the migration and its version bump commit together; executescript would otherwise
        # commit an open transaction before running.
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\n;\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise MigrationError(f"{path}: migration {number} failed and was rolled back: {exc}") from exc
        log.info("%s: applied migration %d", path.name, number)


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        conn.rollback()
    except sqlite3.OperationalError:
        pass  # nothing to roll back: the failure came before BEGIN took effect, or SQLite already rolled back
