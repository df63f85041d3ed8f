"""In-memory stand-ins for the services engagement calls (tweet, user, graph), served over real gRPC.

They follow the contracts in proto/ closely enough to test the engagement service on its own: the tweet
service hides what the caller may not see (protected accounts the caller does not follow, blocks either
way), answers retweet rows with their original, refuses to retweet protected tweets, and keeps one retweet
row per user and original. `World` holds the state; tests arrange it directly.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.tweet.v1 import tweet_pb2, tweet_service_pb2, tweet_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit import errors
from services.kit.identity import current_user_id, require_user
from services.kit.server import Context, Runtime
from tests.social_graph import SocialGraph

__all__ = ["World", "serve_fakes"]


@dataclass
class Post:
    id: int
    author_id: int
    text: str
    retweet_of: int = 0


@dataclass
class World(SocialGraph):
    tweets: dict[int, Post] = field(default_factory=dict)
    gone_users: set[int] = field(default_factory=set)
    retweet_rows: dict[tuple[int, int], int] = field(default_factory=dict)  # (user, original) -> row id
    calls: Counter[str] = field(default_factory=Counter)
    # Random pauses (up to this many seconds) before and after a retweet row changes, so that concurrent calls
    # reach the row and come back in different orders, as they would over a network.
    retweet_delay: float = 0.0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1 << 40))

    async def pause(self) -> None:
        if self.retweet_delay:
            await asyncio.sleep(random.uniform(0, self.retweet_delay))

    def new_id(self) -> int:
        return next(self._ids)

    def post(self, author_id: int, text: str = "hello") -> int:
        tweet_id = self.new_id()
        self.tweets[tweet_id] = Post(tweet_id, author_id, text)
        return tweet_id

    def visible(self, tweet_id: int, viewer: int | None) -> Post | None:
        post = self.tweets.get(tweet_id)
        return post if post is not None and self.sees(viewer, post.author_id) else None

    def hydrate(self, post: Post, viewer: int | None) -> tweet_pb2.Tweet:
        tweet = tweet_pb2.Tweet(
            id=post.id,
            author=user_pb2.UserSummary(id=post.author_id, username=f"user{post.author_id}"),
            text=post.text,
            like_count=999,  # what a stale hydration would say: the engagement answers must not repeat it
        )
        if post.retweet_of:
            original = self.visible(post.retweet_of, viewer)
            if original is not None:
                tweet.retweeted_tweet.CopyFrom(self.hydrate(original, viewer))
        return tweet


class FakeTweets(tweet_service_pb2_grpc.TweetServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def GetTweet(self, request: tweet_service_pb2.GetTweetRequest, context: Context) -> tweet_pb2.Tweet:
        self.world.calls["GetTweet"] += 1
        post = self.world.visible(request.tweet_id, current_user_id())
        if post is None:
            raise errors.NotFound("TWEET_NOT_FOUND", f"tweet {request.tweet_id} does not exist")
        return self.world.hydrate(post, current_user_id())

    async def BatchGetTweets(
        self, request: tweet_service_pb2.BatchGetTweetsRequest, context: Context
    ) -> tweet_service_pb2.BatchGetTweetsResponse:
        self.world.calls["BatchGetTweets"] += 1
        viewer = current_user_id()
        found = [self.world.visible(i, viewer) for i in request.tweet_ids]
        return tweet_service_pb2.BatchGetTweetsResponse(
            tweets=[self.world.hydrate(p, viewer) for p in found if p is not None]
        )

    async def CreateRetweet(
        self, request: tweet_service_pb2.CreateRetweetRequest, context: Context
    ) -> tweet_service_pb2.CreateRetweetResponse:
        self.world.calls["CreateRetweet"] += 1
        me = require_user()
        post = self.world.visible(request.tweet_id, me)
        if post is not None and post.retweet_of:
            post = self.world.visible(post.retweet_of, me)
        if post is None:
            raise errors.NotFound("TWEET_NOT_FOUND", f"tweet {request.tweet_id} does not exist")
        if post.author_id in self.world.protected:
            raise errors.PermissionDenied("ACCOUNT_PROTECTED", "protected tweets cannot be retweeted")
        await self.world.pause()
        row = self.world.retweet_rows.get((me, post.id))
        if row is None:
            row = self.world.new_id()
            self.world.retweet_rows[(me, post.id)] = row
            self.world.tweets[row] = Post(row, me, "", retweet_of=post.id)
        await self.world.pause()
        return tweet_service_pb2.CreateRetweetResponse(retweet=self.world.hydrate(self.world.tweets[row], me))

    async def DeleteRetweet(
        self, request: tweet_service_pb2.DeleteRetweetRequest, context: Context
    ) -> tweet_service_pb2.DeleteRetweetResponse:
        self.world.calls["DeleteRetweet"] += 1
        me = require_user()
        await self.world.pause()
        row = self.world.retweet_rows.pop((me, request.tweet_id), None)
        if row is not None:
            del self.world.tweets[row]
        await self.world.pause()
        return tweet_service_pb2.DeleteRetweetResponse()


class FakeUsers(user_service_pb2_grpc.UserServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def BatchGetUsers(
        self, request: user_service_pb2.BatchGetUsersRequest, context: Context
    ) -> user_service_pb2.BatchGetUsersResponse:
        self.world.calls["BatchGetUsers"] += 1
        return user_service_pb2.BatchGetUsersResponse(
            users=[user_pb2.User(id=i, username=f"user{i}") for i in request.ids if i not in self.world.gone_users]
        )


class FakeGraph(graph_service_pb2_grpc.GraphServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def BatchGetRelationships(
        self, request: graph_service_pb2.BatchGetRelationshipsRequest, context: Context
    ) -> graph_service_pb2.BatchGetRelationshipsResponse:
        self.world.calls["BatchGetRelationships"] += 1
        answer = graph_service_pb2.BatchGetRelationshipsResponse()
        for other in request.target_user_ids:
            answer.relationships[other].CopyFrom(self.world.relationship(request.source_user_id, other))
        return answer


def serve_fakes(world: World):  # type: ignore[no-untyped-def]
    """A `setup` for `serving`: the three fakes on one server, which then stands in for the Envoy mesh."""

    async def setup(rt: Runtime) -> None:
        tweet_service_pb2_grpc.add_TweetServiceServicer_to_server(FakeTweets(world), rt.server)
        user_service_pb2_grpc.add_UserServiceServicer_to_server(FakeUsers(world), rt.server)
        graph_service_pb2_grpc.add_GraphServiceServicer_to_server(FakeGraph(world), rt.server)
        rt.add_service("chirp.tweet.v1.TweetService")

    return setup
