"""The notification service's storage (SQLite): notifications, their actors, read marks and digest state.

Designed from the queries, like its Cassandra twin: each read is served by one table keyed by the id it is
read by, clustered by a Snowflake descending. Query: table (partition; clustering):

    a user's notifications, newest first; one by id; the unread count (ids above the read mark):
        notifications (recipient_id; id DESC)
    the open group a new like / retweet / follow / request folds into:
        notifications_by_group (recipient_id, kind, tweet_id; id DESC)
    the notifications about a deleted tweet:
        notifications_by_tweet (tweet_id)
    the latest actors of a page of notifications:
        notification_actors (notification_id; acted_us DESC)
    what a user just blocked or muted did to them (to take it out):
        notification_actors_by_recipient (recipient_id, actor_id)
    did this actor already notify this recipient of this (within the window):
        actions (recipient_id, kind, tweet_id, actor_id)
    a user's read mark and digest state; who is due a digest:
        recipients (user_id), recipients_due (pending_since)

Read state is a mark per user rather than a flag per notification: MarkRead(up_to_id) is one write however
many notifications it covers, "read" is `id <= read_up_to`, and the unread count is a range count above the
mark. The mark only moves up, and never past the user's newest notification, so notifications made later
are unread whatever `up_to_id` a client sent.

The Cassandra twin would keep `actor_count` and the unread count as plain ints moved in the same logged batch
as the rows (counter columns cannot share a batch with regular ones), `actions` with a TTL of the grouping
window, and `recipients_due` as a table partitioned by hour bucket that the digest scheduler walks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager

from services.kit.sqlite import Database, Row, Transaction
from services.notification.model import Action, Kind, Stored

__all__ = ["MIGRATIONS", "RECENT_ACTORS", "NotificationStore"]

MIGRATIONS = [
    """
    CREATE TABLE notifications (
        recipient_id INTEGER NOT NULL,
        id           INTEGER NOT NULL,   -- a Snowflake: newest first, the page cursor
        kind         INTEGER NOT NULL,   -- chirp.notification.v1.NotificationType
        tweet_id     INTEGER NOT NULL,   -- 0 for follows and follow requests
        actor_count  INTEGER NOT NULL CHECK (actor_count >= 1),
        created_at   REAL NOT NULL,
        updated_at   REAL NOT NULL,
        PRIMARY KEY (recipient_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX notifications_by_group ON notifications (recipient_id, kind, tweet_id, id);
    CREATE INDEX notifications_by_tweet ON notifications (tweet_id) WHERE tweet_id != 0;

    CREATE TABLE notification_actors (
        notification_id INTEGER NOT NULL,
        actor_id        INTEGER NOT NULL,
        recipient_id    INTEGER NOT NULL,
        acted_us        INTEGER NOT NULL,  -- when the actor acted (microseconds): the latest actors first
        PRIMARY KEY (notification_id, actor_id)
    ) WITHOUT ROWID;
    CREATE INDEX notification_actors_recent ON notification_actors (notification_id, acted_us);
    CREATE INDEX notification_actors_by_recipient ON notification_actors (recipient_id, actor_id);

    -- The latest time an actor did a kind of thing to a recipient's tweet (or account): liking, unliking and
    -- liking again notifies once per grouping window, and a follow after an accepted request not at all.
    CREATE TABLE actions (
        recipient_id INTEGER NOT NULL,
        kind         INTEGER NOT NULL,
        tweet_id     INTEGER NOT NULL,
        actor_id     INTEGER NOT NULL,
        at           REAL NOT NULL,
        PRIMARY KEY (recipient_id, kind, tweet_id, actor_id)
    ) WITHOUT ROWID;

    CREATE TABLE recipients (
        user_id       INTEGER PRIMARY KEY,
        read_up_to    INTEGER NOT NULL DEFAULT 0,  -- notifications with ids up to this are read
        digest_at     REAL NOT NULL DEFAULT 0,     -- when the last digest was sent
        pending_since REAL,                        -- the first activity since then not read nor mailed
        latest_at     REAL NOT NULL DEFAULT 0      -- the latest activity
    );
    CREATE INDEX recipients_due ON recipients (pending_since, user_id) WHERE pending_since IS NOT NULL;
    """,
]

# How many of a notification's latest actors a read loads: three are shown, the spare stands in for an actor
# the reader blocked or muted since (filtered at read time). A full page (100) then asks the user and graph
# services about at most 400 users, within their 500-id batch limit.
RECENT_ACTORS = 4

_COLUMNS = "recipient_id, id, kind, tweet_id, actor_count, created_at, updated_at"


class NotificationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self.db.transaction() as tx:
            yield tx

    # --- reads ----------------------------------------------------------------------------------------------

    async def page(
        self, recipient_id: int, *, before: int | None, limit: int, kinds: Collection[Kind] = ()
    ) -> list[Stored]:
        """The recipient's notifications with ids below `before` (None: from the newest), newest first."""
        sql = f"SELECT {_COLUMNS} FROM notifications WHERE recipient_id = ?"
        params: list[int] = [recipient_id]
        if before is not None:
            sql += " AND id < ?"
            params.append(before)
        if kinds:
            sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
            params += [int(k) for k in kinds]
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        rows = await self.db.fetch_all(sql, params)
        return await self._with_actors(rows, await self.read_mark(recipient_id))

    async def get(self, recipient_id: int, notification_id: int) -> Stored | None:
        row = await self.db.fetch_one(
            f"SELECT {_COLUMNS} FROM notifications WHERE recipient_id = ? AND id = ?", (recipient_id, notification_id)
        )
        if row is None:
            return None
        return (await self._with_actors([row], await self.read_mark(recipient_id)))[0]

    async def unread(self, recipient_id: int, *, limit: int) -> list[Stored]:
        """The recipient's unread notifications, newest first."""
        mark = await self.read_mark(recipient_id)
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM notifications WHERE recipient_id = ? AND id > ? ORDER BY id DESC LIMIT ?",
            (recipient_id, mark, limit),
        )
        return await self._with_actors(rows, mark)

    async def read_mark(self, recipient_id: int) -> int:
        row = await self.db.fetch_one("SELECT read_up_to FROM recipients WHERE user_id = ?", (recipient_id,))
        return int(row[0]) if row else 0

    async def unread_count(self, recipient_id: int) -> int:
        row = await self.db.fetch_one(
            """
            SELECT count(*) FROM notifications
            WHERE recipient_id = ? AND id > coalesce((SELECT read_up_to FROM recipients WHERE user_id = ?), 0)
            """,
            (recipient_id, recipient_id),
        )
        return int(row[0]) if row else 0

    async def due_for_digest(
        self, *, pending_before: float, last_digest_before: float, limit: int, after: tuple[float, int] | None = None
    ) -> list[tuple[float, int]]:
        """(pending_since, user_id) of users with activity pending since before `pending_before` and no digest
        since `last_digest_before`, the longest waiting first, from after the cursor `after` (a previous last)."""
        since, user_id = after if after is not None else (float("-inf"), 0)
        rows = await self.db.fetch_all(
            """
            SELECT pending_since, user_id FROM recipients
            WHERE pending_since IS NOT NULL AND pending_since <= ? AND digest_at <= ?
              AND (pending_since > ? OR (pending_since = ? AND user_id > ?))
            ORDER BY pending_since, user_id LIMIT ?
            """,
            (pending_before, last_digest_before, since, since, user_id, limit),
        )
        return [(float(r[0]), int(r[1])) for r in rows]

    async def _with_actors(self, rows: Sequence[Row], read_mark: int) -> list[Stored]:
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        actors: dict[int, list[int]] = defaultdict(list)
        found = await self.db.fetch_all(
            f"""
            SELECT notification_id, actor_id FROM (
                SELECT notification_id, actor_id,
                       row_number() OVER (PARTITION BY notification_id ORDER BY acted_us DESC, actor_id DESC) AS rank
                FROM notification_actors WHERE notification_id IN ({", ".join("?" * len(ids))})
            ) WHERE rank <= ? ORDER BY notification_id, rank
            """,
            [*ids, RECENT_ACTORS],
        )
        for row in found:
            actors[int(row[0])].append(int(row[1]))
        return [
            Stored(
                id=int(r["id"]),
                recipient_id=int(r["recipient_id"]),
                kind=Kind(int(r["kind"])),
                tweet_id=int(r["tweet_id"]),
                actor_count=int(r["actor_count"]),
                created_at=float(r["created_at"]),
                updated_at=float(r["updated_at"]),
                read=int(r["id"]) <= read_mark,
                actors=tuple(actors[int(r["id"])]),
            )
            for r in rows
        ]

    # --- writes, inside a transaction -------------------------------------------------------------------------

    async def last_action(self, tx: Transaction, action: Action, *, kind: Kind | None = None) -> float | None:
        """When the action's actor last did its kind (or `kind`) to its recipient's tweet (or account)."""
        row = await tx.fetch_one(
            "SELECT at FROM actions WHERE recipient_id = ? AND kind = ? AND tweet_id = ? AND actor_id = ?",
            (action.recipient_id, int(kind or action.kind), action.tweet_id, action.actor_id),
        )
        return float(row[0]) if row else None

    async def remember_action(self, tx: Transaction, action: Action) -> None:
        await tx.execute(
            """
            INSERT INTO actions (recipient_id, kind, tweet_id, actor_id, at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (recipient_id, kind, tweet_id, actor_id) DO UPDATE SET at = max(at, excluded.at)
            """,
            (action.recipient_id, int(action.kind), action.tweet_id, action.actor_id, action.at),
        )

    async def open_group(
        self, tx: Transaction, *, recipient_id: int, kind: Kind, tweet_id: int, since: float
    ) -> int | None:
        """The id of the recipient's newest unread notification of `kind` about `tweet_id` made at `since` or
        later, if any."""
        row = await tx.fetch_one(
            """
            SELECT id FROM notifications
            WHERE recipient_id = ? AND kind = ? AND tweet_id = ? AND created_at >= ?
              AND id > coalesce((SELECT read_up_to FROM recipients WHERE user_id = ?), 0)
            ORDER BY id DESC LIMIT 1
            """,
            (recipient_id, int(kind), tweet_id, since, recipient_id),
        )
        return int(row[0]) if row else None

    async def create(
        self, tx: Transaction, *, notification_id: int, recipient_id: int, kind: Kind, tweet_id: int, actor_id: int,
        acted_us: int, at: float,
    ) -> None:  # fmt: skip
        """A new notification with its first actor."""
        await tx.execute(
            f"INSERT INTO notifications ({_COLUMNS}) VALUES (?, ?, ?, ?, 1, ?, ?)",
            (recipient_id, notification_id, int(kind), tweet_id, at, at),
        )
        await tx.execute(
            "INSERT INTO notification_actors (notification_id, actor_id, recipient_id, acted_us) VALUES (?, ?, ?, ?)",
            (notification_id, actor_id, recipient_id, acted_us),
        )

    async def add_actor(
        self, tx: Transaction, *, recipient_id: int, notification_id: int, actor_id: int, acted_us: int, at: float
    ) -> None:
        """Folds the actor into the notification: counted once, and its latest actor from now."""
        known = await tx.fetch_one(
            "SELECT 1 FROM notification_actors WHERE notification_id = ? AND actor_id = ?", (notification_id, actor_id)
        )
        if known:
            await tx.execute(
                "UPDATE notification_actors SET acted_us = max(acted_us, ?) WHERE notification_id = ? AND actor_id = ?",
                (acted_us, notification_id, actor_id),
            )
        else:
            await tx.execute(
                "INSERT INTO notification_actors (notification_id, actor_id, recipient_id, acted_us) "
                "VALUES (?, ?, ?, ?)",
                (notification_id, actor_id, recipient_id, acted_us),
            )
        await tx.execute(
            "UPDATE notifications SET actor_count = actor_count + ?, updated_at = max(updated_at, ?) "
            "WHERE recipient_id = ? AND id = ?",
            (0 if known else 1, at, recipient_id, notification_id),
        )

    async def note_activity(self, tx: Transaction, recipient_id: int, *, at: float) -> None:
        """Something new for the recipient: it is pending for a digest from now unless it already was."""
        await tx.execute(
            """
            INSERT INTO recipients (user_id, pending_since, latest_at) VALUES (?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                pending_since = coalesce(pending_since, excluded.pending_since),
                latest_at = max(latest_at, excluded.latest_at)
            """,
            (recipient_id, at, at),
        )

    async def remove_actor(self, tx: Transaction, *, recipient_id: int, actor_id: int) -> bool:
        """Takes everything `actor_id` did out of the recipient's notifications; a notification left without
        actors is deleted. Answers whether anything changed."""
        rows = await tx.fetch_all(
            "SELECT notification_id FROM notification_actors WHERE recipient_id = ? AND actor_id = ?",
            (recipient_id, actor_id),
        )
        if not rows:
            return False
        await tx.execute(
            "DELETE FROM notification_actors WHERE recipient_id = ? AND actor_id = ?", (recipient_id, actor_id)
        )
        for (notification_id,) in rows:
            await tx.execute(
                "UPDATE notifications SET actor_count = actor_count - 1 WHERE recipient_id = ? AND id = ? "
                "AND actor_count > 1",
                (recipient_id, notification_id),
            )
            await tx.execute(
                "DELETE FROM notifications WHERE recipient_id = ? AND id = ? AND NOT EXISTS "
                "(SELECT 1 FROM notification_actors WHERE notification_id = ?)",
                (recipient_id, notification_id, notification_id),
            )
        return True

    async def remove_tweet(self, tx: Transaction, tweet_id: int) -> list[int]:
        """Deletes the notifications about `tweet_id`; answers their recipients."""
        rows = await tx.fetch_all("SELECT recipient_id, id FROM notifications WHERE tweet_id = ?", (tweet_id,))
        if not rows:
            return []
        await tx.execute_many("DELETE FROM notification_actors WHERE notification_id = ?", [(int(r[1]),) for r in rows])
        await tx.execute("DELETE FROM notifications WHERE tweet_id = ?", (tweet_id,))
        return sorted({int(r[0]) for r in rows})

    async def mark_read(self, tx: Transaction, recipient_id: int, *, up_to_id: int) -> None:
        """Moves the read mark up to `up_to_id`, but never past the recipient's newest notification."""
        await tx.execute(
            """
            INSERT INTO recipients (user_id, read_up_to) VALUES (?, 0) ON CONFLICT (user_id) DO NOTHING
            """,
            (recipient_id,),
        )
        await tx.execute(
            """
            UPDATE recipients SET read_up_to = max(read_up_to, min(?, coalesce(
                (SELECT max(id) FROM notifications WHERE recipient_id = ?), 0)))
            WHERE user_id = ?
            """,
            (up_to_id, recipient_id, recipient_id),
        )
        # Everything read: nothing is waiting for a digest any more.
        await tx.execute(
            """
            UPDATE recipients SET pending_since = NULL
            WHERE user_id = ? AND NOT EXISTS (SELECT 1 FROM notifications WHERE recipient_id = ? AND id > read_up_to)
            """,
            (recipient_id, recipient_id),
        )

    async def finish_digest(
        self, tx: Transaction, recipient_id: int, *, sent_at: float | None, covered_up_to: float
    ) -> None:
        """The activity up to `covered_up_to` was dealt with: mailed at `sent_at`, or (None) found to need no
        mail. Later activity stays pending."""
        await tx.execute(
            """
            UPDATE recipients
            SET digest_at = coalesce(?, digest_at),
                pending_since = CASE WHEN latest_at > ? THEN latest_at ELSE NULL END
            WHERE user_id = ?
            """,
            (sent_at, covered_up_to, recipient_id),
        )

    async def pending_state(self, recipient_id: int) -> tuple[float | None, float]:
        """(pending_since, latest_at) of the recipient."""
        row = await self.db.fetch_one(
            "SELECT pending_since, latest_at FROM recipients WHERE user_id = ?", (recipient_id,)
        )
        if row is None:
            return None, 0.0
        return (float(row[0]) if row[0] is not None else None), float(row[1])
