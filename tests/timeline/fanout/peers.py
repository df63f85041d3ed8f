"""The services the fan-out worker calls (graph, tweet, user), served over real gRPC from an in-memory World."""

from __future__ import annotations

from typing import Any

import grpc
from chirp.graph.v1 import graph_service_pb2_grpc
from chirp.tweet.v1 import tweet_service_pb2_grpc
from chirp.user.v1 import user_service_pb2_grpc

from tests.timeline.fakes import World

__all__ = ["add_graph", "add_tweets", "add_users"]


class _Graph(graph_service_pb2_grpc.GraphServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def ListFollowerIds(self, request: Any, context: Any) -> Any:
        return await self.world.ListFollowerIds(request)

    async def ListFollowingIds(self, request: Any, context: Any) -> Any:
        return await self.world.ListFollowingIds(request)

    async def BatchGetRelationships(self, request: Any, context: Any) -> Any:
        return await self.world.BatchGetRelationships(request)


class _Tweets(tweet_service_pb2_grpc.TweetServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def ListAuthorTweetIds(self, request: Any, context: Any) -> Any:
        return await self.world.ListAuthorTweetIds(request)

    async def BatchGetTweets(self, request: Any, context: Any) -> Any:
        return await self.world.BatchGetTweets(request)


class _Users(user_service_pb2_grpc.UserServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def BatchGetUsers(self, request: Any, context: Any) -> Any:
        return await self.world.BatchGetUsers(request)


def add_graph(server: grpc.aio.Server, world: World) -> None:
    graph_service_pb2_grpc.add_GraphServiceServicer_to_server(_Graph(world), server)


def add_tweets(server: grpc.aio.Server, world: World) -> None:
    tweet_service_pb2_grpc.add_TweetServiceServicer_to_server(_Tweets(world), server)


def add_users(server: grpc.aio.Server, world: World) -> None:
    user_service_pb2_grpc.add_UserServiceServicer_to_server(_Users(world), server)
