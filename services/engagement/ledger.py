"""The engagement writes: each changes one row and its counter and queues its event, in one transaction.

Plain domain code: it knows nothing of gRPC. Tweets arrive already resolved to the original (never a retweet
row) and checked visible to the actor by the caller; what this module adds is idempotency (a write that
changes nothing publishes nothing), the counters, the events, and the rule that nothing may be added to a
tweet whose deletion was already processed (a like racing the deletion would otherwise outlive it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from chirp.engagement.v1 import engagement_events_pb2 as events_pb2

from services.engagement.store import EngagementStore, StoredRetweet
from services.kit import errors
from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Transaction
from services.kit.timestamps import to_timestamp

__all__ = ["Ledger", "TweetRef"]


@dataclass(frozen=True, slots=True)
class TweetRef:
    """An original tweet and its author (whom the events are routed to)."""

    id: int
    author_id: int


class Ledger:
    def __init__(
        self, store: EngagementStore, outbox: Outbox, ids: Snowflake, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._ids = ids
        self._clock = clock

    async def like(self, user_id: int, tweet: TweetRef) -> bool:
        """Answers whether the like is new (False: it existed already, nothing changed)."""
        now = self._clock()
        async with self._store.db.transaction() as tx:
            await self._not_deleted(tx, tweet.id)
            like_id = self._ids.next_id()
            if not await self._store.add_like(tx, user_id=user_id, tweet_id=tweet.id, like_id=like_id, at=now):
                return False
            event = events_pb2.TweetLiked(
                actor_user_id=user_id, tweet_id=tweet.id, tweet_author_id=tweet.author_id, occurred_at=to_timestamp(now)
            )
            await self._outbox.add(tx, "chirp.engagement.liked", event, msg_id=f"liked:{user_id}:{tweet.id}:{like_id}")
        return True

    async def unlike(self, user_id: int, tweet: TweetRef) -> bool:
        """Answers whether a like was removed."""
        now = self._clock()
        async with self._store.db.transaction() as tx:
            like_id = await self._store.remove_like(tx, user_id=user_id, tweet_id=tweet.id)
            if like_id is None:
                return False
            event = events_pb2.TweetUnliked(
                actor_user_id=user_id, tweet_id=tweet.id, tweet_author_id=tweet.author_id, occurred_at=to_timestamp(now)
            )
            # Keyed by the like it undoes: liking again makes a new like id, so a new pair of events.
            await self._outbox.add(
                tx, "chirp.engagement.unliked", event, msg_id=f"unliked:{user_id}:{tweet.id}:{like_id}"
            )
        return True

    async def retweet(self, user_id: int, tweet: TweetRef, *, retweet_id: int) -> bool:
        """Records that `user_id` retweeted `tweet` with the tweet service's row `retweet_id`; answers if new."""
        now = self._clock()
        row = StoredRetweet(user_id=user_id, tweet_id=tweet.id, retweet_id=retweet_id, tweet_author_id=tweet.author_id)
        async with self._store.db.transaction() as tx:
            await self._not_deleted(tx, tweet.id)
            if not await self._store.add_retweet(tx, row, at=now):
                return False
            event = events_pb2.TweetRetweeted(
                actor_user_id=user_id, tweet_id=tweet.id, tweet_author_id=tweet.author_id, occurred_at=to_timestamp(now)
            )
            await self._outbox.add(
                tx, "chirp.engagement.retweeted", event, msg_id=f"retweeted:{user_id}:{tweet.id}:{retweet_id}"
            )
        return True

    async def unretweet(self, user_id: int, tweet_id: int, *, retweet_id: int | None = None) -> bool:
        """Removes the record of the retweet (only if it is of the row `retweet_id`, when given); answers if so.

        Called both for the user's own unretweet and when the tweet service reports a retweet row deleted:
        whichever comes first removes the record and publishes the event, under the same message id.
        """
        now = self._clock()
        async with self._store.db.transaction() as tx:
            removed = await self._store.remove_retweet(tx, user_id=user_id, tweet_id=tweet_id, retweet_id=retweet_id)
            if removed is None:
                return False
            event = events_pb2.TweetUnretweeted(
                actor_user_id=user_id,
                tweet_id=tweet_id,
                tweet_author_id=removed.tweet_author_id,
                occurred_at=to_timestamp(now),
            )
            await self._outbox.add(
                tx,
                "chirp.engagement.unretweeted",
                event,
                msg_id=f"unretweeted:{user_id}:{tweet_id}:{removed.retweet_id}",
            )
        return True

    async def bookmark(self, user_id: int, tweet_id: int) -> bool:
        """Bookmarks are private: nothing is published."""
        now = self._clock()
        async with self._store.db.transaction() as tx:
            await self._not_deleted(tx, tweet_id)
            return await self._store.add_bookmark(
                tx, user_id=user_id, tweet_id=tweet_id, bookmark_id=self._ids.next_id(), at=now
            )

    async def unbookmark(self, user_id: int, tweet_id: int) -> bool:
        async with self._store.db.transaction() as tx:
            return await self._store.remove_bookmark(tx, user_id=user_id, tweet_id=tweet_id)

    async def forget_tweet(self, tweet_id: int) -> bool:
        """The tweet was deleted: drop its likes, retweets, bookmarks and counters, and refuse new ones.

        Publishes nothing: `chirp.tweet.deleted` already told everyone, and the likes did not end by choice.
        """
        async with self._store.db.transaction() as tx:
            return await self._store.forget_tweet(tx, tweet_id, at=self._clock())

    async def _not_deleted(self, tx: Transaction, tweet_id: int) -> None:
        if await self._store.is_deleted(tx, tweet_id):
            raise errors.NotFound("TWEET_NOT_FOUND", f"tweet {tweet_id} was deleted")
