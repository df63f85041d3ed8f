"""Follower, following and tweet counters, kept from the graph and tweet services' events.

Each event moves one or two counters by one, in the same SQLite transaction that marks the event handled
(`first_time`), so a redelivered event — JetStream delivers at least once — moves nothing a second time, and
a crash between the two cannot happen. Counters are plain sums of +1 and -1 (see store.COUNTERS), so the order
the events are handled in does not matter: after every event is handled once, each counter equals the truth.

What counts: a follow (`chirp.graph.followed`) and its end (`chirp.graph.unfollowed`, also published for the
follows a block removes); a tweet, reply or quote (`chirp.tweet.created` / `chirp.tweet.deleted`). Retweets
are not counted as the user's tweets: events with `retweeted_tweet_id` set are acknowledged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from chirp.graph.v1 import graph_events_pb2
from chirp.tweet.v1 import tweet_events_pb2

from services.kit.events import Delivery, Events
from services.kit.idempotency import first_time
from services.user.store import UserStore

__all__ = ["Counters", "consumers"]

log = logging.getLogger(__name__)


class Counters:
    def __init__(self, store: UserStore) -> None:
        self._store = store

    async def on_followed(self, event: graph_events_pb2.Followed, delivery: Delivery) -> None:
        await self._apply(
            delivery, (event.actor_user_id, "following_count", +1), (event.target_user_id, "follower_count", +1)
        )

    async def on_unfollowed(self, event: graph_events_pb2.Unfollowed, delivery: Delivery) -> None:
        await self._apply(
            delivery, (event.actor_user_id, "following_count", -1), (event.target_user_id, "follower_count", -1)
        )

    async def on_tweet_created(self, event: tweet_events_pb2.TweetCreated, delivery: Delivery) -> None:
        if event.retweeted_tweet_id:
            return
        await self._apply(delivery, (event.author_id, "tweet_count", +1))

    async def on_tweet_deleted(self, event: tweet_events_pb2.TweetDeleted, delivery: Delivery) -> None:
        if event.retweeted_tweet_id:
            return
        await self._apply(delivery, (event.author_id, "tweet_count", -1))

    async def _apply(self, delivery: Delivery, *moves: tuple[int, str, int]) -> None:
        # The publisher's Nats-Msg-Id names the event; the stream sequence is the fallback for one without
        # (still the same on every redelivery of that message).
        event_id = delivery.msg_id or f"seq:{delivery.stream_sequence}"
        async with self._store.transaction() as tx:
            if not await first_time(tx, f"user-counters:{delivery.subject}:{event_id}"):
                log.debug("%s %s already counted", delivery.subject, event_id)
                return
            for user_id, counter, delta in moves:
                if not await self._store.add_to_counter(tx, user_id, counter, delta):
                    # Only a user that does not exist here; nothing to count, and retrying will not change that.
                    log.warning("%s %s: no user %d to count for", delivery.subject, event_id, user_id)


# (subject, event type, handler name): one durable consumer each.
_SUBSCRIPTIONS = (
    ("chirp.graph.followed", graph_events_pb2.Followed, "on_followed"),
    ("chirp.graph.unfollowed", graph_events_pb2.Unfollowed, "on_unfollowed"),
    ("chirp.tweet.created", tweet_events_pb2.TweetCreated, "on_tweet_created"),
    ("chirp.tweet.deleted", tweet_events_pb2.TweetDeleted, "on_tweet_deleted"),
)


def consumers(
    events: Events, counters: Counters, *, prefix: str = "user"
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """The (durable name, consume loop) pairs that keep the counters, for `rt.spawn`.

    Durable names are `<prefix>-<domain>-<event>`, e.g. `user-graph-followed`.
    """
    loops: list[tuple[str, Coroutine[Any, Any, None]]] = []
    for subject, event_type, handler in _SUBSCRIPTIONS:
        durable = f"{prefix}-{subject.removeprefix('chirp.').replace('.', '-')}"
        loops.append((durable, events.consume(subject, event_type, getattr(counters, handler), durable=durable)))
    return loops
