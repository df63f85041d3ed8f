"""Live delivery inside one process: the open notification streams of each user, and what to tell them.

The consumer that makes a notification and the stream that shows it run in the same process, so a change is
handed over in memory: `publish` marks it on every subscription of the recipient and wakes them, and each
stream reads the notification back from the store and sends it. Marks coalesce — a subscription holds the ids
of the notifications that changed since it last looked, and a flag for "the unread count may have moved" —
so a slow client never makes the hub buffer without bound, and a burst of likes on one grouped notification
is sent once, in its latest state.

With several instances of the service behind the edge, a user's stream and the consumer that handles the
event may be in different processes. Each instance would then publish every change on a NATS core subject
(`chirp.live.notification.<user_id>`, fire and forget: a stream that misses one resynchronizes from
ListNotifications, as any reconnecting client does) and subscribe, for each user with an open stream, to that
user's subject, feeding `publish` from there. JetStream is not needed for it: live delivery is best effort,
the store is the record.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

from services.kit.errors import ResourceExhausted, Unavailable
from services.notification.model import Change

__all__ = ["Hub", "Subscription", "Update"]


@dataclass(frozen=True, slots=True)
class Update:
    """What changed for a subscriber since it last looked: notifications made or updated (oldest first), and
    whether anything else may have moved the unread count (a mark-read, a removal)."""

    notification_ids: tuple[int, ...]
    count_changed: bool


class Subscription:
    """One open stream of a user."""

    def __init__(self, hub: Hub, user_id: int) -> None:
        self.user_id = user_id
        self._hub = hub
        self._ids: dict[int, None] = {}  # an ordered set
        self._count_changed = False
        self._wake = asyncio.Event()

    def _mark(self, change: Change) -> None:
        if change.notification_id:
            self._ids.pop(change.notification_id, None)
            self._ids[change.notification_id] = None  # moved to the end: sent in the order they last changed
        else:
            self._count_changed = True
        self._wake.set()

    async def next(self, *, within: float) -> Update | None:
        """The next update, or None if nothing happened for `within` seconds.

        Raises Unavailable (SHUTTING_DOWN) once the hub is closed.
        """
        if not self._wake.is_set():
            try:
                await asyncio.wait_for(self._wake.wait(), within)
            except TimeoutError:
                return None
        if self._hub.closed:
            raise Unavailable("SHUTTING_DOWN", "the notification service is shutting down; reconnect")
        update = Update(tuple(self._ids), self._count_changed)
        self._ids.clear()
        self._count_changed = False
        self._wake.clear()
        return update

    def close(self) -> None:
        self._hub._remove(self)


class Hub:
    def __init__(self, *, max_streams_per_user: int) -> None:
        self._max = max_streams_per_user
        self._subscriptions: defaultdict[int, set[Subscription]] = defaultdict(set)
        self.closed = False

    def subscribe(self, user_id: int) -> Subscription:
        """A new subscription for one stream of `user_id`; `close()` it when the stream ends.

        Raises ResourceExhausted (TOO_MANY_STREAMS) beyond the streams allowed per user, and Unavailable once
        the hub is closed.
        """
        if self.closed:
            raise Unavailable("SHUTTING_DOWN", "the notification service is shutting down; reconnect")
        mine = self._subscriptions[user_id]
        if len(mine) >= self._max:
            raise ResourceExhausted(
                "TOO_MANY_STREAMS",
                f"you already have {len(mine)} open notification streams; close one first",
                metadata={"max_streams": str(self._max)},
            )
        subscription = Subscription(self, user_id)
        mine.add(subscription)
        return subscription

    def publish(self, change: Change) -> None:
        """Tell every open stream of the change's recipient."""
        for subscription in self._subscriptions.get(change.recipient_id, ()):
            subscription._mark(change)

    def connected(self, user_id: int) -> bool:
        """Whether `user_id` has a stream open here."""
        return bool(self._subscriptions.get(user_id))

    def stream_count(self) -> int:
        return sum(len(s) for s in self._subscriptions.values())

    def close(self) -> None:
        """End every stream (they raise Unavailable) and refuse new ones: the process is stopping."""
        self.closed = True
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription._wake.set()

    def _remove(self, subscription: Subscription) -> None:
        mine = self._subscriptions.get(subscription.user_id)
        if mine is None:
            return
        mine.discard(subscription)
        if not mine:
            del self._subscriptions[subscription.user_id]
