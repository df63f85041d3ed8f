"""The events classification learns facts from: one durable consumer per subject (see rules for what counts).

Most facts are idempotent by nature — a time only moves to the later of two, a presence change is ignored if
an older one than the one on record — so a redelivered event changes nothing. Follower counts are sums, so
each graph event is counted under its msg id once (the mark commits with the count, see Classifier.apply).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from chirp.engagement.v1 import engagement_events_pb2
from chirp.graph.v1 import graph_events_pb2
from chirp.presence.v1 import presence_events_pb2, presence_pb2
from chirp.tweet.v1 import tweet_events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.classification.classifier import Classifier
from services.classification.rules import with_followers, with_presence, with_write
from services.kit.events import Delivery, Events

__all__ = ["CONCURRENCY", "STREAMS", "Learner", "consumers"]

# The streams the consumers read (ensured at start: their publishers may not have created them yet).
STREAMS = ("tweet", "engagement", "graph", "presence")
_LIVE_STATES = (presence_pb2.PRESENCE_STATE_ONLINE, presence_pb2.PRESENCE_STATE_IDLE)
# Events handled at once per consumer. Order within a subject does not matter (see above), and the classifier
# commits the changes of events handled together in one transaction: a flood (a graph being seeded) costs one
# commit per batch.
CONCURRENCY = 64


def _at(occurred_at: Timestamp, delivery: Delivery) -> float:
    """The event's own time; the publish time for an event without one."""
    if occurred_at.seconds or occurred_at.nanos:
        return occurred_at.ToNanoseconds() / 1e9
    return delivery.published_at.timestamp()


def _once_key(delivery: Delivery) -> str:
    # The stream sequence stands in for an event published without a msg id (the same on every redelivery).
    return f"classification:{delivery.subject}:{delivery.msg_id or f'seq:{delivery.stream_sequence}'}"


class Learner:
    """Event handlers that turn events into facts for the classifier."""

    def __init__(self, classifier: Classifier) -> None:
        self._classifier = classifier

    async def on_tweet_created(self, event: tweet_events_pb2.TweetCreated, delivery: Delivery) -> None:
        at = _at(event.occurred_at, delivery)
        await self._classifier.apply({event.author_id: lambda f: with_write(f, at)}, at=at)

    async def on_liked(self, event: engagement_events_pb2.TweetLiked, delivery: Delivery) -> None:
        at = _at(event.occurred_at, delivery)
        await self._classifier.apply({event.actor_user_id: lambda f: with_write(f, at)}, at=at)

    async def on_retweeted(self, event: engagement_events_pb2.TweetRetweeted, delivery: Delivery) -> None:
        at = _at(event.occurred_at, delivery)
        await self._classifier.apply({event.actor_user_id: lambda f: with_write(f, at)}, at=at)

    async def on_followed(self, event: graph_events_pb2.Followed, delivery: Delivery) -> None:
        at = _at(event.occurred_at, delivery)
        await self._classifier.apply(
            {
                event.actor_user_id: lambda f: with_write(f, at),
                event.target_user_id: lambda f: with_followers(f, +1),
            },
            at=at,
            once=_once_key(delivery),
        )

    async def on_unfollowed(self, event: graph_events_pb2.Unfollowed, delivery: Delivery) -> None:
        at = _at(event.occurred_at, delivery)
        await self._classifier.apply(
            {event.target_user_id: lambda f: with_followers(f, -1)}, at=at, once=_once_key(delivery)
        )

    async def on_presence_changed(self, event: presence_events_pb2.PresenceChanged, delivery: Delivery) -> None:
        at = _at(event.occurred_at, delivery)
        live = event.state in _LIVE_STATES
        await self._classifier.apply({event.user_id: lambda f: with_presence(f, live=live, at=at)}, at=at)


# (subject, event type, handler name): one durable consumer each.
_SUBSCRIPTIONS = (
    ("chirp.tweet.created", tweet_events_pb2.TweetCreated, "on_tweet_created"),
    ("chirp.engagement.liked", engagement_events_pb2.TweetLiked, "on_liked"),
    ("chirp.engagement.retweeted", engagement_events_pb2.TweetRetweeted, "on_retweeted"),
    ("chirp.graph.followed", graph_events_pb2.Followed, "on_followed"),
    ("chirp.graph.unfollowed", graph_events_pb2.Unfollowed, "on_unfollowed"),
    ("chirp.presence.changed", presence_events_pb2.PresenceChanged, "on_presence_changed"),
)


def consumers(
    events: Events, learner: Learner, *, prefix: str = "classification"
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """The (durable name, consume loop) pairs, for `rt.spawn`; durables are `<prefix>-<domain>-<event>`."""
    loops: list[tuple[str, Coroutine[Any, Any, None]]] = []
    for subject, event_type, handler in _SUBSCRIPTIONS:
        durable = f"{prefix}-{subject.removeprefix('chirp.').replace('.', '-')}"
        handle = getattr(learner, handler)
        loops.append((durable, events.consume(subject, event_type, handle, durable=durable, concurrency=CONCURRENCY)))
    return loops
