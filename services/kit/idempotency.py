"""Making a consumer's effect happen once although JetStream delivers at least once.

Prefer effects that are idempotent by nature (upsert a row, ZADD an id, set a flag). When an effect is not
(increment a counter, send an e-mail), key it by the event's `delivery.msg_id`, prefixed with the consumer's
durable name when several consumers in one service handle the same event:

* The effect writes to the service's SQLite database — check and mark in the *same* transaction, so the mark
  commits exactly when the effect does:

      async with db.transaction() as tx:
          if await first_time(tx, f"user-counters:{delivery.msg_id}"):
              await tx.execute("UPDATE users SET followers = followers + 1 WHERE id = ?", (event.followee_id,))

* The effect is elsewhere (Redis, a mail relay) — hold a Redis mark around it:

      async with once(redis, f"notify-mail:{delivery.msg_id}", ttl=timedelta(days=2)) as first:
          if first:
              await send_mail(...)

  `once` marks the key "running" (a lease), runs the block, then marks it "done" for `ttl`. If the block
  raises, the mark is removed so the redelivery runs it again. If another worker holds the lease, `once`
  raises `AlreadyRunning`, which fails the delivery so it is retried after the other worker finished. A lease
  outlived by its block (a worker frozen past `lease`) can let a second run start: keep blocks short.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from redis.asyncio import Redis

from services.kit.sqlite import Transaction

__all__ = ["AlreadyRunning", "first_time", "once"]

_PREFIX = "chirp:once:"
_DONE = b"done"
# Delete the key only if it still holds our lease token: after an expired lease, it may be someone else's.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class AlreadyRunning(RuntimeError):
    """Another worker is running the block for this key right now; retry later."""


async def first_time(tx: Transaction, key: str) -> bool:
    """True the first time `key` is marked in this database (the mark is part of `tx`), False ever after.

    Marks are kept for 7 days (pruned when the database opens), far beyond any redelivery.
    """
    changed = await tx.execute(
        "INSERT INTO kit_processed (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, time.time())
    )
    return changed == 1


@asynccontextmanager
async def once(
    redis: Redis, key: str, *, ttl: timedelta | float, lease: timedelta | float = 60.0
) -> AsyncIterator[bool]:
    """Yields True if the block should run (nobody completed it within `ttl`), False if it already ran.

    Raises AlreadyRunning if another worker holds the key's lease.
    """
    full_key = _PREFIX + key
    token = b"running:" + uuid.uuid4().hex.encode()
    if not await redis.set(full_key, token, nx=True, px=_ms(lease)):
        state = await redis.get(full_key)
        if state == _DONE:
            yield False
            return
        if state is not None or not await redis.set(full_key, token, nx=True, px=_ms(lease)):
            raise AlreadyRunning(f"{key} is being handled by another worker")
    try:
        yield True
    except BaseException:
        await redis.eval(_RELEASE, 1, full_key, token)
        raise
    await redis.set(full_key, _DONE, px=_ms(ttl))


def _ms(duration: timedelta | float) -> int:
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
    return max(1, int(seconds * 1000))
