"""The fan-out worker process: `python -m services.timeline.fanout`. Serves health only; works from JetStream."""

from __future__ import annotations

from typing import TypeVar

from chirp.classification.v1.classification_events_pb2 import UserClassChanged
from chirp.classification.v1.classification_service_pb2_grpc import ClassificationServiceStub
from chirp.graph.v1.graph_events_pb2 import Blocked, Followed, Unfollowed
from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.tweet.v1.tweet_events_pb2 import TweetCreated, TweetDeleted
from chirp.tweet.v1.tweet_service_pb2_grpc import TweetServiceStub
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub
from google.protobuf.message import Message

from services.kit.events import Handler
from services.kit.server import Runtime, run
from services.timeline.cache import TimelineCache
from services.timeline.famous import FamousRegistry
from services.timeline.fanout.classes import ClassChanges
from services.timeline.fanout.classify import Classifier
from services.timeline.fanout.delivery import Fanout
from services.timeline.fanout.famous import Transitions
from services.timeline.fanout.graph_events import GraphChanges
from services.timeline.fanout.settings import FanoutSettings
from services.timeline.sources import Sources

# Graph and class changes touch one or two timelines each: a few at once is plenty.
_CHANGES = 4

M = TypeVar("M", bound=Message)


async def setup(rt: Runtime[FanoutSettings]) -> None:
    events = await rt.events()
    for domain in ("tweet", "graph", "classification"):
        await events.ensure_stream(domain)
    redis = await rt.redis()
    cache = TimelineCache(redis)
    registry = FamousRegistry(redis)
    sources = Sources(graph=rt.stub(GraphServiceStub), tweets=rt.stub(TweetServiceStub))
    classifier = Classifier(
        classification=rt.stub(ClassificationServiceStub),
        users=rt.stub(UserServiceStub),
        famous_followers=rt.settings.famous_followers,
    )
    transitions = Transitions(cache=cache, registry=registry, sources=sources)
    fanout = Fanout(cache=cache, registry=registry, sources=sources, classifier=classifier, transitions=transitions)
    graph = GraphChanges(cache=cache, registry=registry, sources=sources)
    classes = ClassChanges(cache=cache, classifier=classifier, transitions=transitions)

    def consume(
        subject: str, message: type[M], handler: Handler[M], durable: str, *, copies: int = 1, concurrency: int
    ) -> None:
        for n in range(copies):
            loop = events.consume(subject, message, handler, durable=durable, concurrency=concurrency)
            rt.spawn(loop, name=f"{durable}-{n}")

    # Several pullers on one durable consumer, one tweet each: a slow delivery (a 100k-follower author) holds
    # up only its own puller, and no more than `fanout_concurrency` tweets are taken from JetStream at once.
    copies = rt.settings.fanout_concurrency
    consume(
        "chirp.tweet.created",
        TweetCreated,
        fanout.on_tweet_created,
        "fanout-tweet-created",
        copies=copies,
        concurrency=1,
    )
    consume("chirp.tweet.deleted", TweetDeleted, fanout.on_tweet_deleted, "fanout-tweet-deleted", concurrency=_CHANGES)
    consume("chirp.graph.followed", Followed, graph.on_followed, "fanout-graph-followed", concurrency=_CHANGES)
    consume("chirp.graph.unfollowed", Unfollowed, graph.on_unfollowed, "fanout-graph-unfollowed", concurrency=_CHANGES)
    consume("chirp.graph.blocked", Blocked, graph.on_blocked, "fanout-graph-blocked", concurrency=_CHANGES)
    consume(
        "chirp.classification.changed",
        UserClassChanged,
        classes.on_changed,
        "fanout-classification-changed",
        concurrency=_CHANGES,
    )


if __name__ == "__main__":
    run("fanout", setup, settings_cls=FanoutSettings)
