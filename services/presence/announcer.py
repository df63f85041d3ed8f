"""Publishing presence changes as `chirp.presence.changed`, and the sweeper that makes the changes time causes.

A heartbeat's change is published by the request that made it; the sweeper publishes the IDLE and OFFLINE
changes it finds when TTLs lapse, and anything a failed publish left pending (see store). Every change has a
msg id of its own, so publishing one twice — the request and a sweep racing, or a crash after the ack —
stores it once in JetStream, and a consumer that sees it twice sees the same event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import nats.errors
import redis.exceptions
from chirp.presence.v1 import presence_events_pb2

from services.kit.events import Events
from services.presence.model import Change, ms_timestamp, to_proto_state
from services.presence.store import PresenceStore

__all__ = ["SUBJECT", "Announcer", "stop_if_cancelled", "to_event"]

log = logging.getLogger(__name__)

SUBJECT = "chirp.presence.changed"
# Users settled per sweep script: keeps each script (which blocks Redis while it runs) short.
_SWEEP_BATCH = 500
_TRANSIENT = (nats.errors.Error, redis.exceptions.RedisError, OSError, TimeoutError)


def to_event(change: Change) -> presence_events_pb2.PresenceChanged:
    return presence_events_pb2.PresenceChanged(
        user_id=change.user_id,
        previous_state=to_proto_state(change.previous),
        state=to_proto_state(change.state),
        occurred_at=ms_timestamp(change.at_ms),
    )


class Announcer:
    def __init__(self, store: PresenceStore, events: Events) -> None:
        self._store = store
        self._events = events

    async def publish(self, changes: Sequence[Change]) -> None:
        """Publish `changes` in order and forget them; raises if NATS or Redis fails (they stay pending)."""
        done: list[Change] = []
        try:
            for change in changes:
                await self._events.publish(SUBJECT, to_event(change), msg_id=change.msg_id)
                done.append(change)
        finally:
            await self._store.forget(done)

    async def publish_soon(self, change: Change) -> None:
        """Publish one change now if possible; if not, the next sweep will (the heartbeat need not fail)."""
        try:
            await self.publish([change])
        except _TRANSIENT as exc:
            log.warning("publishing %s failed (%s); the sweeper will retry", change.msg_id, exc)

    async def sweep(self) -> int:
        """Settle every user whose change is due and publish all pending changes; returns how many published."""
        while len(await self._store.sweep(limit=_SWEEP_BATCH)) == _SWEEP_BATCH:
            pass
        pending = await self._store.pending()
        await self.publish(pending)
        return len(pending)

    async def run(self, *, interval: float) -> None:
        """Sweep every `interval` seconds until cancelled; Redis or NATS outages are logged and outlived."""
        while True:
            stop_if_cancelled()
            try:
                count = await self.sweep()
                if count:
                    log.debug("published %d presence changes", count)
            except _TRANSIENT as exc:
                log.warning("presence sweep failed (%s); retrying in %gs", exc, interval)
            await asyncio.sleep(interval)


def stop_if_cancelled() -> None:
    """Raise CancelledError if this task was asked to stop. A cancellation that lands inside a Redis or NATS
    call can be swallowed by the client library (seen about one run in ten: the call returns or fails as if
    nothing happened), and a loop that goes on after it would never stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
