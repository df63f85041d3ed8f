"""An in-memory world standing in for the services timelines are made from (graph, tweets, users,
classification), answering the same RPCs the real stubs do, and the timeline domain wired to it on a real
Valkey server. For unit and integration tests of the fan-out and the read path.

The fakes read the caller from the kit's identity contextvar, as the real services read the metadata the mesh
forwards: hydration hides what the current user may not see (deleted tweets, blocks either way).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from chirp.classification.v1 import classification_pb2, classification_service_pb2
from chirp.graph.v1 import graph_service_pb2
from chirp.tweet.v1 import tweet_events_pb2, tweet_pb2, tweet_service_pb2
from chirp.user.v1 import user_pb2, user_service_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from redis.asyncio import Redis

from services.kit.events import Delivery
from services.kit.identity import acting_as, current_user_id
from services.kit.snowflake import Snowflake
from services.timeline.cache import TimelineCache
from services.timeline.famous import FamousRegistry
from services.timeline.fanout.classes import ClassChanges
from services.timeline.fanout.classify import Classifier
from services.timeline.fanout.delivery import Fanout
from services.timeline.fanout.famous import Transitions
from services.timeline.fanout.graph_events import GraphChanges
from services.timeline.reading import HomeReader
from services.timeline.rebuild import Rebuilder
from services.timeline.sources import Sources
from services.timeline.visits import Visits
from tests.social_graph import SocialGraph

__all__ = ["DELIVERY", "Timelines", "World", "ids_of", "timelines"]

DELIVERY = Delivery(subject="test", msg_id="m", num_delivered=1, stream_sequence=1, published_at=None)  # type: ignore[arg-type]

_ids = Snowflake(1)
_people = itertools.count(10_000_000)


def _unimplemented() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(grpc.StatusCode.UNIMPLEMENTED, grpc.aio.Metadata(), grpc.aio.Metadata(), "no")


@dataclass
class Stored:
    id: int
    author: int
    retweet_of: int = 0


@dataclass
class World(SocialGraph):
    """Users, follows, blocks, mutes and tweets, and the RPCs over them."""

    tweets: dict[int, Stored] = field(default_factory=dict)
    classes: dict[int, int] | None = None  # None: the classification service answers UNIMPLEMENTED
    calls: dict[str, int] = field(default_factory=dict)
    visits: list[int] = field(default_factory=list)

    # --- building the world --------------------------------------------------------------------------------

    def person(self) -> int:
        return next(_people)

    def follow(self, follower: int, *followees: int) -> None:
        self.follows.update((follower, f) for f in followees)

    def post(self, author: int, *, retweet_of: int = 0) -> tweet_events_pb2.TweetCreated:
        tweet = Stored(_ids.next_id(), author, retweet_of)
        self.tweets[tweet.id] = tweet
        created = Timestamp()
        created.GetCurrentTime()
        return tweet_events_pb2.TweetCreated(
            tweet_id=tweet.id,
            author_id=author,
            retweeted_tweet_id=retweet_of,
            retweeted_tweet_author_id=self.tweets[retweet_of].author if retweet_of else 0,
            created_at=created,
        )

    def delete(self, tweet_id: int) -> tweet_events_pb2.TweetDeleted:
        tweet = self.tweets.pop(tweet_id)
        return tweet_events_pb2.TweetDeleted(
            tweet_id=tweet.id, author_id=tweet.author, retweeted_tweet_id=tweet.retweet_of
        )

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    # --- GraphService ----------------------------------------------------------------------------------------

    async def ListFollowerIds(self, request: Any) -> Any:
        self._count("ListFollowerIds")
        return _page(
            sorted(f for f, t in self.follows if t == request.user_id),
            request,
            graph_service_pb2.ListFollowerIdsResponse,
        )

    async def ListFollowingIds(self, request: Any) -> Any:
        self._count("ListFollowingIds")
        return _page(
            sorted(t for f, t in self.follows if f == request.user_id),
            request,
            graph_service_pb2.ListFollowingIdsResponse,
        )

    async def BatchGetRelationships(self, request: Any) -> Any:
        self._count("BatchGetRelationships")
        me = request.source_user_id
        answer = graph_service_pb2.BatchGetRelationshipsResponse()
        for other in request.target_user_ids:
            answer.relationships[other].CopyFrom(self.relationship(me, other))
        return answer

    # --- TweetService ----------------------------------------------------------------------------------------

    async def ListAuthorTweetIds(self, request: Any) -> Any:
        self._count("ListAuthorTweetIds")
        authors = set(request.author_ids)
        ids = sorted((t.id for t in self.tweets.values() if t.author in authors), reverse=True)
        if request.max_id:
            ids = [i for i in ids if i < request.max_id]
        return tweet_service_pb2.ListAuthorTweetIdsResponse(tweet_ids=ids[: request.limit or 200])

    async def BatchGetTweets(self, request: Any) -> Any:
        self._count("BatchGetTweets")
        viewer = current_user_id()
        shown = []
        for tweet_id in request.tweet_ids:
            tweet = self.tweets.get(tweet_id)
            if tweet is None or not self.sees(viewer, tweet.author):
                continue
            message = tweet_pb2.Tweet(id=tweet.id, author=user_pb2.UserSummary(id=tweet.author))
            if tweet.retweet_of:
                original = self.tweets.get(tweet.retweet_of)
                if original is None or not self.sees(viewer, original.author):
                    continue
                message.retweeted_tweet.CopyFrom(
                    tweet_pb2.Tweet(id=original.id, author=user_pb2.UserSummary(id=original.author))
                )
            shown.append(message)
        answer = tweet_service_pb2.BatchGetTweetsResponse(tweets=shown)
        if viewer is not None:
            for author in {t.author.id for t in shown} | {t.retweeted_tweet.author.id for t in shown}:
                if author not in (viewer, 0):
                    answer.author_relationships[author].CopyFrom(self.relationship(viewer, author))
        return answer

    # --- UserService and ClassificationService ---------------------------------------------------------------

    async def BatchGetUsers(self, request: Any) -> Any:
        self._count("BatchGetUsers")
        return user_service_pb2.BatchGetUsersResponse(
            users=[user_pb2.User(id=i, follower_count=sum(1 for _, t in self.follows if t == i)) for i in request.ids]
        )

    async def GetUserClass(self, request: Any) -> Any:
        self._count("GetUserClass")
        if self.classes is None:
            raise _unimplemented()
        return classification_service_pb2.GetUserClassResponse(
            classification=classification_pb2.UserClassification(
                user_id=request.user_id,
                user_class=self.classes.get(request.user_id, classification_pb2.USER_CLASS_ACTIVE),
            )
        )

    async def RecordVisit(self, request: Any) -> Any:
        self._count("RecordVisit")
        if self.classes is None:
            raise _unimplemented()
        self.visits.append(request.user_id)
        return classification_service_pb2.RecordVisitResponse()


def _page(ids: list[int], request: Any, response: Any) -> Any:
    after = int(request.page_token) if request.page_token else 0
    size = request.page_size or 1000
    rest = [i for i in ids if i > after]
    page = rest[:size]
    return response(user_ids=page, next_page_token=str(page[-1]) if len(rest) > size else "")


@dataclass
class Timelines:
    """The timeline domain (fan-out worker and read path) wired to a world and a real Redis."""

    world: World
    cache: TimelineCache
    registry: FamousRegistry
    fanout: Fanout
    graph: GraphChanges
    classes: ClassChanges
    reader: HomeReader
    rebuilder: Rebuilder

    async def built(self, *users: int) -> None:
        """Give these users a built timeline (as a first read does)."""
        for user in users:
            with acting_as(user):
                await self.rebuilder.rebuild(user)

    async def deliver(self, *events: tweet_events_pb2.TweetCreated) -> None:
        for event in events:
            await self.fanout.on_tweet_created(event, DELIVERY)

    async def read(self, user: int, *, size: int = 100, before: int | None = None) -> tuple[list[int], str]:
        """The ids a page shows, and its next page token."""
        with acting_as(user):
            page = await self.reader.page(user, before=before, size=size)
        return [t.id for t in page.tweets], page.next_page_token

    async def read_all(self, user: int, *, size: int) -> list[int]:
        shown: list[int] = []
        before: int | None = None
        while True:
            ids, token = await self.read(user, size=size, before=before)
            shown += ids
            if not token:
                return shown
            before = int(token)


def timelines(redis: Redis, world: World, *, famous_followers: int = 3, capacity: int = 800) -> Timelines:
    cache = TimelineCache(redis, capacity=capacity)
    registry = FamousRegistry(redis, capacity=capacity)
    sources = Sources(graph=world, tweets=world)  # type: ignore[arg-type]
    classifier = Classifier(classification=world, users=world, famous_followers=famous_followers)  # type: ignore[arg-type]
    transitions = Transitions(cache=cache, registry=registry, sources=sources)
    rebuilder = Rebuilder(cache=cache, famous=registry, sources=sources)
    return Timelines(
        world=world,
        cache=cache,
        registry=registry,
        fanout=Fanout(cache=cache, registry=registry, sources=sources, classifier=classifier, transitions=transitions),
        graph=GraphChanges(cache=cache, registry=registry, sources=sources),
        classes=ClassChanges(cache=cache, classifier=classifier, transitions=transitions),
        reader=HomeReader(
            cache=cache,
            famous=registry,
            rebuilder=rebuilder,
            sources=sources,
            tweets=world,  # type: ignore[arg-type]
            visits=Visits(world),  # type: ignore[arg-type]
        ),
        rebuilder=rebuilder,
    )


def ids_of(events: Iterable[tweet_events_pb2.TweetCreated]) -> list[int]:
    return sorted((e.tweet_id for e in events), reverse=True)
