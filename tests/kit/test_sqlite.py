"""SQLite: migrations by user_version, transactions that commit or roll back whole, serialized writers."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from services.kit import sqlite as kit_sqlite
from services.kit.idempotency import first_time
from services.kit.sqlite import Database, MigrationError

MIGRATIONS = [
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
    "ALTER TABLE counters ADD COLUMN note TEXT; CREATE TABLE notes (id INTEGER PRIMARY KEY, counter TEXT"
    " NOT NULL REFERENCES counters (name));",
]


async def _version(db: Database) -> int:
    row = await db.fetch_one("PRAGMA user_version")
    assert row is not None
    return int(row[0])


async def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "svc.db"
    db = await Database.open(path, MIGRATIONS[:1])
    assert await _version(db) == 1
    await db.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
    await db.close()

    db = await Database.open(path, MIGRATIONS)  # a release adds migration 2; the data stays
    assert await _version(db) == 2
    row = await db.fetch_one("SELECT name, value, note FROM counters")
    assert row is not None and (row["name"], row["value"], row["note"]) == ("a", 1, None)
    await db.close()

    db = await Database.open(path, MIGRATIONS)  # nothing left to apply
    assert await _version(db) == 2
    journal = await db.fetch_one("PRAGMA journal_mode")
    fk = await db.fetch_one("PRAGMA foreign_keys")
    assert journal is not None and journal[0] == "wal"
    assert fk is not None and fk[0] == 1
    await db.close()


async def test_processes_opening_one_new_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    # The processes of one service start together and open the same file (CHIRP_<NAME>_PROCESSES).
    path = tmp_path / "shared.db"
    many = [f"CREATE TABLE t{n} (id INTEGER PRIMARY KEY); INSERT INTO t{n} VALUES (1);" for n in range(40)]
    script = (
        "import asyncio, sys\n"
        "from services.kit.sqlite import Database\n"
        f"async def main():\n    db = await Database.open({str(path)!r}, {many!r})\n    await db.close()\n"
        "asyncio.run(main())\n"
    )
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, stderr=asyncio.subprocess.PIPE)
        for _ in range(6)
    ]
    results = [await p.communicate() for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, [err.decode()[-500:] for _, err in results]
    db = await Database.open(path, many)
    try:
        row = await db.fetch_one("PRAGMA user_version")
        assert row is not None and tuple(row) == (40,)
    finally:
        await db.close()


async def test_failed_migration_rolls_back_entirely(tmp_path: Path) -> None:
    path = tmp_path / "svc.db"
    await (await Database.open(path, MIGRATIONS[:1])).close()
    broken = [*MIGRATIONS[:1], "CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);"]
    with pytest.raises(MigrationError, match="migration 2 failed"):
        await Database.open(path, broken)
    db = await Database.open(path, MIGRATIONS[:1])
    assert await _version(db) == 1
    assert await db.fetch_one("SELECT name FROM sqlite_master WHERE name = 'half'") is None
    await db.close()


async def test_file_newer_than_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "svc.db"
    await (await Database.open(path, MIGRATIONS)).close()
    with pytest.raises(MigrationError, match="schema version 2"):
        await Database.open(path, MIGRATIONS[:1])


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "svc.db", MIGRATIONS)
    committed: list[str] = []
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
            assert await tx.fetch_one("SELECT value FROM counters WHERE name = 'a'") is not None
            assert await db.fetch_one("SELECT value FROM counters WHERE name = 'a'") is None, "readers see commits"
            tx.after_commit(lambda: committed.append("a"))
            raise RuntimeError("changed my mind")
    assert await db.fetch_all("SELECT * FROM counters") == []
    assert committed == []

    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO counters (name, value) VALUES ('b', 1)")
            await tx.execute("INSERT INTO notes (id, counter) VALUES (1, 'no such counter')")  # foreign key
    assert await db.fetch_all("SELECT * FROM counters") == []

    async with db.transaction() as tx:
        changed = await tx.execute("INSERT INTO counters (name, value) VALUES ('c', 1)")
        tx.after_commit(lambda: committed.append("c"))
    assert changed == 1 and committed == ["c"]
    with pytest.raises(RuntimeError, match="after its block"):
        await tx.execute("DELETE FROM counters")
    await db.close()


async def test_concurrent_transactions_do_not_interleave(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "svc.db", MIGRATIONS)
    await db.execute("INSERT INTO counters (name, value) VALUES ('n', 0)")

    async def increment() -> None:
        # Read, yield to other tasks, write: lost updates if two transactions shared the connection at once.
        async with db.transaction() as tx:
            row = await tx.fetch_one("SELECT value FROM counters WHERE name = 'n'")
            assert row is not None
            await asyncio.sleep(0)
            await tx.execute("UPDATE counters SET value = ? WHERE name = 'n'", (row["value"] + 1,))

    await asyncio.gather(*(increment() for _ in range(50)))
    row = await db.fetch_one("SELECT value FROM counters WHERE name = 'n'")
    assert row is not None and row["value"] == 50
    await db.close()


async def test_committed_writes_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "svc.db"
    db = await Database.open(path, MIGRATIONS)
    async with db.transaction() as tx:
        await tx.execute_many("INSERT INTO counters (name, value) VALUES (?, ?)", [("x", 1), ("y", 2)])
    await db.close()
    db = await Database.open(path, MIGRATIONS)
    assert [tuple(r) for r in await db.fetch_all("SELECT name, value FROM counters ORDER BY name")] == [
        ("x", 1),
        ("y", 2),
    ]
    await db.close()


async def test_first_time_marks_commit_with_the_effect(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "svc.db", MIGRATIONS)
    await db.execute("INSERT INTO counters (name, value) VALUES ('followers', 0)")

    async def on_event(msg_id: str, *, fail: bool = False) -> None:
        async with db.transaction() as tx:
            if await first_time(tx, f"counters:{msg_id}"):
                await tx.execute("UPDATE counters SET value = value + 1 WHERE name = 'followers'")
            if fail:
                raise RuntimeError("crash after the effect, before commit")

    with pytest.raises(RuntimeError):
        await on_event("e1", fail=True)  # rolled back: neither the increment nor the mark
    await on_event("e1")  # the redelivery applies it
    await on_event("e1")  # a duplicate does nothing
    await on_event("e2")
    row = await db.fetch_one("SELECT value FROM counters WHERE name = 'followers'")
    assert row is not None and row["value"] == 2
    await db.close()


async def test_nested_transaction_fails_instead_of_hanging(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "svc.db", MIGRATIONS)
    with pytest.raises(RuntimeError, match="inside a transaction"):
        async with db.transaction():
            await db.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
    assert await db.fetch_all("SELECT * FROM counters") == []
    await db.execute("INSERT INTO counters (name, value) VALUES ('b', 1)")  # the lock was released
    await db.close()


async def test_a_write_cancelled_while_it_begins_leaves_the_database_writable(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "cancel.db", ["CREATE TABLE t (x INTEGER)"])
    try:
        for _ in range(30):
            task = asyncio.create_task(db.execute("INSERT INTO t VALUES (1)"))
            await asyncio.sleep(0)  # the task is inside transaction(): waiting for the lock or on BEGIN
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert await db.execute("INSERT INTO t VALUES (2)") == 1
    finally:
        await db.close()


async def test_the_wal_stays_small_under_a_steady_stream_of_commits(tmp_path: Path) -> None:
    # Checkpoints run beside the writer; one that raced every commit never finished, and SQLite restarts the
    # WAL only after one has: the file grew by every write (2 GB in 8 s of these).
    db = await Database.open(tmp_path / "busy.db", ["CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"])
    try:
        for i in range(20_000):
            await db.execute("INSERT INTO t (v) VALUES (?)", (b"x" * 2000,))
            if i % 10 == 0:
                await asyncio.sleep(0)  # as a service does between requests: the checkpointer gets its turn
        wal = (tmp_path / "busy.db-wal").stat().st_size
        assert wal < 32 << 20, f"WAL at {wal / 1e6:.0f} MB after 20,000 commits of 2 KB"
        row = await db.fetch_one("SELECT count(*) FROM t")
        assert row is not None and row[0] == 20_000
    finally:
        await db.close()


async def test_a_begin_that_times_out_leaves_the_task_free_to_write_again(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    db = await Database.open(path, MIGRATIONS, busy_timeout=0.1)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await db.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
        other.execute("ROLLBACK")
        assert await db.execute("INSERT INTO counters (name, value) VALUES ('a', 1)") == 1
    finally:
        other.close()
        await db.close()


async def test_close_waits_for_a_checkpoint_under_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A checkpoint runs in a worker thread on its own connection; closing that connection under the thread
    # crashed a test process (a segfault). Closing now waits for the thread.
    started, finished = threading.Event(), threading.Event()

    def slow_checkpoint(conn: sqlite3.Connection) -> None:
        started.set()
        time.sleep(0.3)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finished.set()

    monkeypatch.setattr(kit_sqlite, "_checkpoint", slow_checkpoint)
    db = await Database.open(tmp_path / "svc.db", MIGRATIONS)
    await db.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
    db._checkpoint_due.set()  # due now, not in a second
    await asyncio.to_thread(started.wait, 5)
    await db.close()
    assert finished.is_set()
