"""The rules of a user's notifications, as plain domain code over the store: what makes a notification, what
folds into one, what takes one away, and when notifications are read.

- Nobody is notified of their own actions.
- Likes, retweets, follows and follow requests fold into the recipient's newest unread notification of the
  same kind (and tweet) made within the grouping window; once read, a notification takes no more actors.
- An actor notifies a recipient of the same thing (the same kind on the same tweet) once per window: liking,
  unliking and liking again is one like, and a redelivered event changes nothing (`first_time`, in the same
  transaction as the change).
- A follow that follows an accepted follow request is not news to the recipient, who accepted it.
- Blocking or muting someone takes what they did out of the blocker's or muter's notifications (and a block
  out of the blocked user's too); deleting a tweet removes the notifications about it.

Every change is announced to `on_change` once its transaction has committed (the live streams listen).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from services.kit.idempotency import first_time
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Transaction
from services.notification.model import GROUPED, Action, Change, Kind
from services.notification.store import NotificationStore

__all__ = ["Inbox"]

log = logging.getLogger(__name__)


def _ignore(change: Change) -> None:
    pass


class Inbox:
    def __init__(
        self,
        store: NotificationStore,
        ids: Snowflake,
        *,
        group_window: float,
        on_change: Callable[[Change], None] = _ignore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids
        self._window = group_window
        self._on_change = on_change

    async def record(self, actions: Sequence[Action], *, event_key: str) -> list[Change]:
        """Records the actions of one event (`event_key` names it, for idempotency); answers what changed."""
        async with self._store.transaction() as tx:
            if not await first_time(tx, event_key):
                log.debug("%s already handled", event_key)
                return []
            changes = [change for action in actions if (change := await self._record(tx, action)) is not None]
            self._announce(tx, changes)
        return changes

    async def forget_actor(self, pairs: Sequence[tuple[int, int]], *, event_key: str) -> list[Change]:
        """For each (recipient, actor), takes what the actor did out of the recipient's notifications."""
        async with self._store.transaction() as tx:
            if not await first_time(tx, event_key):
                return []
            changes = [
                Change(recipient)
                for recipient, actor in pairs
                if await self._store.remove_actor(tx, recipient_id=recipient, actor_id=actor)
            ]
            self._announce(tx, changes)
        return changes

    async def forget_tweet(self, tweet_id: int, *, event_key: str) -> list[Change]:
        """The tweet was deleted: the notifications about it go."""
        async with self._store.transaction() as tx:
            if not await first_time(tx, event_key):
                return []
            changes = [Change(recipient) for recipient in await self._store.remove_tweet(tx, tweet_id)]
            self._announce(tx, changes)
        return changes

    async def mark_read(self, recipient_id: int, *, up_to_id: int) -> int:
        """Marks read the recipient's notifications with ids up to `up_to_id`; answers the unread count."""
        async with self._store.transaction() as tx:
            await self._store.mark_read(tx, recipient_id, up_to_id=up_to_id)
            self._announce(tx, [Change(recipient_id)])
        return await self._store.unread_count(recipient_id)

    def _announce(self, tx: Transaction, changes: list[Change]) -> None:
        def announce() -> None:
            for change in changes:
                self._on_change(change)

        if changes:
            tx.after_commit(announce)

    async def _record(self, tx: Transaction, action: Action) -> Change | None:
        if action.actor_id == action.recipient_id:
            return None
        store = self._store
        last = await store.last_action(tx, action)
        if last is not None and (action.kind not in GROUPED or last > action.at - self._window):
            return None  # already notified of this
        if action.kind == Kind.FOLLOW and await store.last_action(tx, action, kind=Kind.FOLLOW_REQUEST) is not None:
            return None  # the recipient accepted this user's request: they know
        await store.remember_action(tx, action)
        # Actors are ordered by when they acted, not by when their events were handled (handled concurrently).
        acted_us = round(action.at * 1_000_000)
        group = None
        if action.kind in GROUPED:
            group = await store.open_group(
                tx,
                recipient_id=action.recipient_id,
                kind=action.kind,
                tweet_id=action.tweet_id,
                since=action.at - self._window,
            )
        if group is not None:
            await store.add_actor(
                tx, recipient_id=action.recipient_id, notification_id=group, actor_id=action.actor_id,
                acted_us=acted_us, at=action.at,
            )  # fmt: skip
            notification_id = group
        else:
            notification_id = self._ids.next_id()
            await store.create(
                tx, notification_id=notification_id, recipient_id=action.recipient_id, kind=action.kind,
                tweet_id=action.tweet_id, actor_id=action.actor_id, acted_us=acted_us, at=action.at,
            )  # fmt: skip
        # Digest timing runs on the time we learnt of it, so a late event still waits its turn.
        await store.note_activity(tx, action.recipient_id, at=self._clock())
        return Change(action.recipient_id, notification_id)
