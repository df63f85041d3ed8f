"""Transactional outbox: an event is written in the same SQLite transaction as the change it announces.

    outbox = await rt.outbox(db)                 # starts the relay
    async with db.transaction() as tx:
        await store.insert(tx, tweet)
        await outbox.add(tx, "chirp.tweet.created", TweetCreated(...), msg_id=f"tweet-created-{tweet.id}")

Publishing after commit could be lost to a crash in between; publishing before commit could announce a change
that then rolls back. With the outbox the event row commits exactly when the change does. The relay publishes
pending rows in order right after each commit, and again at start for rows a crash left behind, deleting
each after JetStream's ack. A crash between the ack and the delete republishes the row with the same
`Nats-Msg-Id`; inside the stream's duplicate window JetStream stores it once, and consumers are idempotent
anyway. So every acknowledged write's event is published at least once, in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

import nats.errors
from google.protobuf.message import Message
from opentelemetry import propagate

from services.kit.events import Events, stream_name
from services.kit.sqlite import Database, Transaction

__all__ = ["Outbox"]

log = logging.getLogger(__name__)

_BATCH = 256
_MAX_RETRY_DELAY_S = 30.0


class Outbox:
    """The outbox of one database; `add` events inside transactions, run `relay()` as a background task."""

    def __init__(self, db: Database, events: Events) -> None:
        self._db = db
        self._events = events
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()

    async def add(self, tx: Transaction, subject: str, message: Message, *, msg_id: str) -> None:
        """Queue `message` for `subject` as part of `tx`; it is published once `tx` commits.

        `msg_id` identifies the event itself (e.g. `tweet-created-<id>`), see `Events.publish`.
        """
        stream_name(subject)  # a bad subject fails the write now, not the relay forever after
        if not msg_id:
            raise ValueError("an event needs a msg_id")
        headers: dict[str, str] = {}
        propagate.inject(headers)  # the writing call's trace, so consumers' spans join it
        await tx.execute(
            "INSERT INTO kit_outbox (subject, msg_id, payload, headers, added_at) VALUES (?, ?, ?, ?, ?)",
            (subject, msg_id, message.SerializeToString(), json.dumps(headers), time.time()),
        )
        tx.after_commit(self._wake.set)

    async def pending(self) -> int:
        """How many events wait to be published."""
        row = await self._db.fetch_one("SELECT count(*) FROM kit_outbox")
        return int(row[0]) if row else 0

    async def flush(self) -> int:
        """Publish every pending event, oldest first; returns how many. Raises if NATS fails (rows stay)."""
        published = 0
        async with self._flushing:
            while True:
                rows = await self._db.fetch_all(
                    "SELECT id, subject, msg_id, payload, headers FROM kit_outbox ORDER BY id LIMIT ?", (_BATCH,)
                )
                if not rows:
                    return published
                done: list[int] = []
                try:
                    for row in rows:
                        await self._events.publish_bytes(
                            row["subject"], row["payload"], msg_id=row["msg_id"],
                            trace_headers=json.loads(row["headers"]),
                        )  # fmt: skip
                        done.append(row["id"])
                finally:
                    if done:
                        marks = ",".join("?" * len(done))
                        await self._db.execute(f"DELETE FROM kit_outbox WHERE id IN ({marks})", done)
                        published += len(done)

    async def relay(self, *, poll_interval: float = 5.0) -> None:
        """Publish pending events now, then after every commit that adds some; runs until cancelled.

        `poll_interval` bounds how long a row waits if a wake-up is missed (another process wrote the file).
        While NATS is unreachable, retries with a growing delay; the rows wait safely in the database.
        """
        delay = 0.5
        while True:
            self._wake.clear()
            try:
                count = await self.flush()
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                log.warning("outbox of %s: publishing failed (%s); retrying in %gs", self._db.path.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_RETRY_DELAY_S)
                continue
            delay = 0.5
            if count:
                log.debug("outbox of %s: published %d events", self._db.path.name, count)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll_interval)
