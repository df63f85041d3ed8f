"""Notifications from events: one durable JetStream consumer per subject, each handler idempotent.

    chirp.engagement.liked / retweeted   LIKE / RETWEET for the tweet's author
    chirp.graph.followed                 FOLLOW for the user followed
    chirp.graph.follow_requested         FOLLOW_REQUEST for the protected account asked
    chirp.tweet.created                  REPLY for the author replied to, QUOTE for the author quoted, MENTION for
                                         every other user mentioned (one notification per user per tweet)
    chirp.dm.message_sent                DIRECT_MESSAGE for every recipient of the message
    chirp.graph.blocked / muted          what the blocked or muted user did leaves the notifications
    chirp.tweet.deleted                  the notifications about the tweet go

Whether the recipient hears from the actor is asked of the graph service as the event is handled (blocks
either way, mutes), before the write transaction, so that no lock is held across a call. A handler that fails
(the graph is down) raises, and JetStream redelivers the event later; the write and its `first_time` mark
commit together, so a redelivery after a lost ack changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

from chirp.dm.v1 import dm_events_pb2
from chirp.engagement.v1 import engagement_events_pb2
from chirp.graph.v1 import graph_events_pb2
from chirp.tweet.v1 import tweet_events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.kit.events import Delivery, Events
from services.notification.inbox import Inbox
from services.notification.metrics import EVENT_LAG
from services.notification.model import Action, Kind
from services.notification.people import Relations

__all__ = ["DOMAINS", "Intake", "consumers"]

log = logging.getLogger(__name__)


class Intake:
    def __init__(self, inbox: Inbox, relations: Relations) -> None:
        self._inbox = inbox
        self._relations = relations

    async def on_liked(self, event: engagement_events_pb2.TweetLiked, delivery: Delivery) -> None:
        await self._notify(
            event.actor_user_id, [event.tweet_author_id], Kind.LIKE, event.tweet_id, event.occurred_at, delivery
        )

    async def on_retweeted(self, event: engagement_events_pb2.TweetRetweeted, delivery: Delivery) -> None:
        await self._notify(
            event.actor_user_id, [event.tweet_author_id], Kind.RETWEET, event.tweet_id, event.occurred_at, delivery
        )

    async def on_followed(self, event: graph_events_pb2.Followed, delivery: Delivery) -> None:
        await self._notify(event.actor_user_id, [event.target_user_id], Kind.FOLLOW, 0, event.occurred_at, delivery)

    async def on_follow_requested(self, event: graph_events_pb2.FollowRequested, delivery: Delivery) -> None:
        await self._notify(
            event.actor_user_id, [event.target_user_id], Kind.FOLLOW_REQUEST, 0, event.occurred_at, delivery
        )

    async def on_message_sent(self, event: dm_events_pb2.MessageSent, delivery: Delivery) -> None:
        await self._notify(event.sender_id, event.recipient_ids, Kind.DIRECT_MESSAGE, 0, event.occurred_at, delivery)

    async def on_tweet_created(self, event: tweet_events_pb2.TweetCreated, delivery: Delivery) -> None:
        if event.retweeted_tweet_id:
            return  # a retweet row: chirp.engagement.retweeted notifies of the retweet
        author = event.author_id
        by_kind: list[tuple[Kind, list[int]]] = []
        told = {author}
        if event.reply_to_user_id and event.reply_to_user_id not in told:
            by_kind.append((Kind.REPLY, [event.reply_to_user_id]))
            told.add(event.reply_to_user_id)
        if event.quote_tweet_author_id and event.quote_tweet_author_id not in told:
            by_kind.append((Kind.QUOTE, [event.quote_tweet_author_id]))
            told.add(event.quote_tweet_author_id)
        mentioned = [m.user_id for m in event.entities.mentions if m.user_id and m.user_id not in told]
        if mentioned:
            by_kind.append((Kind.MENTION, list(dict.fromkeys(mentioned))))
        if not by_kind:
            return
        at = _seconds(event.occurred_at)
        actions: list[Action] = []
        for kind, recipients in by_kind:
            # A protected account's tweet reaches only its approved followers: the others could not open it.
            hearing = await self._relations.who_hears(author, recipients, followers_only=event.author_protected)
            actions += [Action(r, kind, author, event.tweet_id, at) for r in hearing]
        await self._inbox.record(actions, event_key=_event_key(delivery))
        _lag(delivery)

    async def on_blocked(self, event: graph_events_pb2.Blocked, delivery: Delivery) -> None:
        a, b = event.actor_user_id, event.target_user_id
        await self._inbox.forget_actor([(a, b), (b, a)], event_key=_event_key(delivery))

    async def on_muted(self, event: graph_events_pb2.Muted, delivery: Delivery) -> None:
        await self._inbox.forget_actor([(event.actor_user_id, event.target_user_id)], event_key=_event_key(delivery))

    async def on_tweet_deleted(self, event: tweet_events_pb2.TweetDeleted, delivery: Delivery) -> None:
        await self._inbox.forget_tweet(event.tweet_id, event_key=_event_key(delivery))

    async def _notify(
        self, actor: int, recipients: Sequence[int], kind: Kind, tweet_id: int, occurred_at: Timestamp,
        delivery: Delivery,
    ) -> None:  # fmt: skip
        recipients = [r for r in recipients if r and r != actor]
        if not actor or not recipients:
            return
        hearing = await self._relations.who_hears(actor, recipients)
        at = _seconds(occurred_at)
        actions = [Action(r, kind, actor, tweet_id, at) for r in hearing]
        await self._inbox.record(actions, event_key=_event_key(delivery))
        _lag(delivery)


def _lag(delivery: Delivery) -> None:
    lag = max(0.0, time.time() - delivery.published_at.timestamp())
    EVENT_LAG.labels(delivery.subject).observe(lag)
    log.debug("%s %s handled %.0f ms after publication", delivery.subject, delivery.msg_id, lag * 1000)


def _event_key(delivery: Delivery) -> str:
    # The publisher's Nats-Msg-Id names the event; the stream sequence stands in for an event without one
    # (the same on every redelivery of that message).
    return f"notification:{delivery.subject}:{delivery.msg_id or f'seq:{delivery.stream_sequence}'}"


def _seconds(timestamp: Timestamp) -> float:
    # An event without a time (never from our publishers) is taken as happening now.
    if timestamp.seconds == 0 and timestamp.nanos == 0:
        return time.time()
    return timestamp.seconds + timestamp.nanos / 1e9


# (subject, event type, handler name, in flood): one durable consumer each. The subjects that come in floods
# (a popular account's follows, a viral tweet's likes and retweets, a graph being seeded) are handled many at
# once, and their graph lookups batched (see Relations): one recipient's flood — a celebrity gaining followers
# — is the usual shape, and handled one at a time, at one graph call each, the benchmark's seeding fell behind
# at ~100 a second. Order does not matter there: a notification lists its actors by when they acted, whatever
# order their events are handled in. The other subjects stay one at a time, in stream order.
_SUBSCRIPTIONS: tuple[tuple[str, Any, str, bool], ...] = (
    ("chirp.engagement.liked", engagement_events_pb2.TweetLiked, "on_liked", True),
    ("chirp.engagement.retweeted", engagement_events_pb2.TweetRetweeted, "on_retweeted", True),
    ("chirp.graph.followed", graph_events_pb2.Followed, "on_followed", True),
    ("chirp.graph.follow_requested", graph_events_pb2.FollowRequested, "on_follow_requested", False),
    ("chirp.graph.blocked", graph_events_pb2.Blocked, "on_blocked", False),
    ("chirp.graph.muted", graph_events_pb2.Muted, "on_muted", False),
    ("chirp.tweet.created", tweet_events_pb2.TweetCreated, "on_tweet_created", False),
    ("chirp.tweet.deleted", tweet_events_pb2.TweetDeleted, "on_tweet_deleted", False),
    ("chirp.dm.message_sent", dm_events_pb2.MessageSent, "on_message_sent", False),
)
_PARALLEL = 64  # events in flight on a subject that comes in floods

DOMAINS = ("engagement", "graph", "tweet", "dm")


def consumers(
    events: Events, intake: Intake, *, prefix: str = "notification"
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """The (durable name, consume loop) pairs, for `rt.spawn`. Durable names are `<prefix>-<domain>-<event>`,
    e.g. `notification-engagement-liked`."""
    loops: list[tuple[str, Coroutine[Any, Any, None]]] = []
    for subject, event_type, handler, flood in _SUBSCRIPTIONS:
        durable = f"{prefix}-{subject.removeprefix('chirp.').replace('.', '-')}"
        loop = events.consume(
            subject,
            event_type,
            getattr(intake, handler),
            durable=durable,
            concurrency=_PARALLEL if flood else 1,
        )
        loops.append((durable, loop))
    return loops
