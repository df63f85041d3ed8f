"""The classification consumers on a real NATS JetStream: durable consumers from the publishers' streams to the
classifier, and the outbox relay publishing `chirp.classification.changed`."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
import pytest_asyncio
from chirp.classification.v1 import classification_events_pb2
from chirp.engagement.v1 import engagement_events_pb2
from chirp.graph.v1 import graph_events_pb2
from chirp.presence.v1 import presence_events_pb2, presence_pb2
from chirp.tweet.v1 import tweet_events_pb2

from services.classification.classifier import SUBJECT, Classifier
from services.classification.consumers import STREAMS, Learner, consumers
from services.classification.rules import UserClass
from services.classification.store import ClassificationStore
from services.kit.events import Delivery, Events
from services.kit.outbox import Outbox
from services.kit.sqlite import Database
from services.kit.timestamps import to_timestamp
from tests.classification.conftest import RULES
from tests.kit.support import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def events(nats_url: str) -> AsyncIterator[Events]:
    connected = await Events.connect(nats_url, service="classification-test")
    for domain in ("classification", *STREAMS):
        await connected.ensure_stream(domain)
    yield connected
    await connected.close()


@pytest_asyncio.fixture(loop_scope="session")
async def running(db: Database, events: Events) -> AsyncIterator[Classifier]:
    """A classifier fed by its real consumers (durables of this test's own) and relaying its outbox."""
    outbox = Outbox(db, events)
    classifier = Classifier(store=ClassificationStore(db), outbox=outbox, rules=RULES)
    await classifier.load()
    prefix = f"cls-test-{uuid.uuid4().hex[:8]}"
    tasks = [asyncio.create_task(loop) for _, loop in consumers(events, Learner(classifier), prefix=prefix)]
    tasks.append(asyncio.create_task(outbox.relay(poll_interval=0.1)))
    yield classifier
    for task in tasks:
        task.cancel()
    # Bounded: a NATS fetch can swallow one cancellation and go round again; the session loop outlives it.
    await asyncio.wait(tasks, timeout=5)


def _user() -> int:
    return random.randrange(1, 2**62)


def _now() -> Any:
    return to_timestamp(datetime.now(UTC).timestamp())


async def test_events_from_every_subject_reach_the_classes_and_changes_are_published(
    running: Classifier, events: Events, nats_url: str
) -> None:
    heard: list[classification_events_pb2.UserClassChanged] = []

    async def on_message(msg: Any) -> None:
        heard.append(classification_events_pb2.UserClassChanged.FromString(msg.data))

    nc = await nats.connect(nats_url)
    await nc.subscribe(SUBJECT, cb=on_message)
    await nc.flush()
    try:
        poster, liker, retweeter, star, online = (_user() for _ in range(5))
        fans = [_user() for _ in range(RULES.famous_followers)]
        await events.publish(
            "chirp.tweet.created",
            tweet_events_pb2.TweetCreated(tweet_id=_user(), author_id=poster, occurred_at=_now()),
            msg_id=f"t-{poster}",
        )
        await events.publish(
            "chirp.engagement.liked",
            engagement_events_pb2.TweetLiked(actor_user_id=liker, tweet_id=1, occurred_at=_now()),
            msg_id=f"l-{liker}",
        )
        await events.publish(
            "chirp.engagement.retweeted",
            engagement_events_pb2.TweetRetweeted(actor_user_id=retweeter, tweet_id=1, occurred_at=_now()),
            msg_id=f"r-{retweeter}",
        )
        for fan in fans:
            followed = graph_events_pb2.Followed(actor_user_id=fan, target_user_id=star, occurred_at=_now())
            for _ in range(2):  # a publisher retrying: JetStream stores it once, and it would count once anyway
                await events.publish("chirp.graph.followed", followed, msg_id=f"f-{fan}-{star}")
        await events.publish(
            "chirp.presence.changed",
            presence_events_pb2.PresenceChanged(
                user_id=online, state=presence_pb2.PRESENCE_STATE_ONLINE, occurred_at=_now()
            ),
            msg_id=f"p-{online}",
        )

        expected = {
            poster: UserClass.ACTIVE,
            liker: UserClass.ACTIVE,
            retweeter: UserClass.ACTIVE,
            star: UserClass.FAMOUS,
            online: UserClass.LIVE,
            **dict.fromkeys(fans, UserClass.ACTIVE),
        }

        def classified() -> bool:
            return all(running.view(u).user_class == c for u, c in expected.items())

        await eventually(classified, within=10)
        assert running.view(star).follower_count == len(fans)
        await eventually(lambda: {e.user_id for e in heard} >= set(expected), within=5)
        assert [(e.previous_class, e.user_class) for e in heard if e.user_id == star] == [
            (UserClass.INACTIVE, UserClass.FAMOUS)
        ]
        await events.publish(
            "chirp.graph.unfollowed",
            graph_events_pb2.Unfollowed(actor_user_id=fans[0], target_user_id=star, occurred_at=_now()),
            msg_id=f"u-{fans[0]}-{star}",
        )
        await eventually(lambda: running.view(star).user_class == UserClass.INACTIVE, within=10)
    finally:
        await nc.close()


async def test_an_event_without_its_own_time_counts_at_its_publish_time(running: Classifier) -> None:
    published_at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    delivery = Delivery("chirp.tweet.created", "t-1", 1, 1, published_at)
    user = _user()
    await Learner(running).on_tweet_created(tweet_events_pb2.TweetCreated(author_id=user), delivery)
    assert running.view(user).last_active_at == published_at.timestamp()
