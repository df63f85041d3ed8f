"""Email digests for users who are away: "live versus later".

A user with an open stream here, or whom the presence service reports ONLINE or IDLE (or seen within
`after` seconds), is *live*: notifications reach them on the stream or when their client next lists them.
Everyone else is *away*, and their unread notifications wait for a digest:

- the first notification (or grouped update) since the user last read everything or was last mailed starts
  a clock (`pending_since` in the store);
- once it has run `after` seconds, the scheduler (every `interval` seconds) checks presence, and mails each
  user still away one digest of their unread notifications, newest first, hydrated as the list shows them;
- at most one digest per `period` per user; activity after a digest starts the clock again.

Sending is guarded by a Redis mark per (user, pending batch) (kit `once`), so a crash between the mail going
out and the store recording it, or two instances scanning at once, does not mail twice. A mail server that
refuses or cannot be reached leaves the batch pending; the next scan tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiosmtplib
import grpc
from chirp.user.v1 import user_service_pb2, user_service_pb2_grpc
from redis.asyncio import Redis

from services.kit.idempotency import AlreadyRunning, once
from services.kit.identity import acting_as
from services.notification.hub import Hub
from services.notification.mail import Mailer, digest_message
from services.notification.metrics import DIGESTS
from services.notification.presence import PresenceBook
from services.notification.store import NotificationStore
from services.notification.views import Views

__all__ = ["Digests"]

log = logging.getLogger(__name__)

# Users looked at per page, and pages per scan: users who are due but present stay due (their clock keeps
# running), so a scan walks past them instead of stopping at the first page.
_PAGE = 500
_PAGES_PER_SCAN = 20


class Digests:
    def __init__(
        self,
        *,
        store: NotificationStore,
        views: Views,
        users: user_service_pb2_grpc.UserServiceStub,
        presence: PresenceBook,
        hub: Hub,
        mailer: Mailer,
        redis: Redis,
        sender: str,
        after: float,
        period: float,
        interval: float,
        max_items: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._views = views
        self._users = users
        self._presence = presence
        self._hub = hub
        self._mailer = mailer
        self._redis = redis
        self._sender = sender
        self._after = after
        self._period = period
        self._interval = interval
        self._max_items = max_items
        self._clock = clock

    async def run(self) -> None:
        """Scan every `interval` seconds until cancelled; a failed scan is logged and the next one tries again."""
        log.info("digests on: after %gs away, at most one per %gs", self._after, self._period)
        while True:
            try:
                await self.scan()
            except Exception:
                log.exception("digest scan failed; retrying in %gs", self._interval)
            await asyncio.sleep(self._interval)

    async def scan(self) -> int:
        """Mail every user who is due a digest now; answers how many were mailed."""
        now = self._clock()
        sent = 0
        cursor: tuple[float, int] | None = None
        for _ in range(_PAGES_PER_SCAN):
            page = await self._store.due_for_digest(
                pending_before=now - self._after, last_digest_before=now - self._period, limit=_PAGE, after=cursor
            )
            if not page:
                break
            cursor = page[-1]
            sent += await self._mail_away([user_id for _, user_id in page], now)
        return sent

    async def _mail_away(self, due: list[int], now: float) -> int:
        due = [u for u in due if not self._hub.connected(u)]  # live: reading the stream
        if not due:
            return 0
        away = await self._presence.away(due, now=now, after=self._after)
        sent = 0
        for user_id in due:
            if user_id not in away:
                continue
            try:
                sent += await self._mail(user_id, now)
            except AlreadyRunning:
                log.debug("digest for %d is being sent by another instance", user_id)
            except (OSError, aiosmtplib.SMTPException, grpc.aio.AioRpcError) as exc:
                DIGESTS.labels("failed").inc()
                log.warning("digest for %d not sent (%s: %s); will retry", user_id, type(exc).__name__, exc)
        return sent

    async def _mail(self, user_id: int, now: float) -> int:
        pending_since, _ = await self._store.pending_state(user_id)
        if pending_since is None:
            return 0
        with acting_as(user_id):  # tweets are hydrated as the user sees them
            unread = await self._store.unread(user_id, limit=self._max_items)
            shown = await self._views.render(user_id, unread) if unread else []
        if not shown:
            await self._finish(user_id, now, sent=False)
            return 0
        try:
            found = await self._users.LookupUser(user_service_pb2.LookupUserRequest(id=user_id))
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            await self._finish(user_id, now, sent=False)  # the account is gone
            return 0
        account = found.user
        if not account.email:
            await self._finish(user_id, now, sent=False)
            return 0
        message = digest_message(
            sender=self._sender,
            to=account.email,
            name=account.display_name or account.username,
            notifications=shown,
            unread_count=await self._store.unread_count(user_id),
        )
        async with once(self._redis, f"notification-digest:{user_id}:{pending_since!r}", ttl=self._period) as first:
            if first:
                await self._mailer.send(message)
                DIGESTS.labels("sent").inc()
                log.info("digest of %d notifications sent to user %d", len(shown), user_id)
        await self._finish(user_id, now, sent=True)
        return 1 if first else 0

    async def _finish(self, user_id: int, now: float, *, sent: bool) -> None:
        async with self._store.transaction() as tx:
            await self._store.finish_digest(tx, user_id, sent_at=now if sent else None, covered_up_to=now)
