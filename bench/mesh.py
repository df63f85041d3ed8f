"""Internal RPCs through the Envoy mesh, acting as a given user: what seeding uses for bulk users and follows.

The mesh trusts `x-chirp-user-id` (only the edge strips it), exactly as one service calling another does, so
seeding goes through the owners' own RPCs and events — never into their stores. Several HTTP/2 connections
spread the load over Envoy's and the services' connection handling.
"""

from __future__ import annotations

import itertools
from types import TracebackType

import grpc
from chirp.graph.v1 import graph_service_pb2
from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.timeline.v1 import timeline_service_pb2
from chirp.timeline.v1.timeline_service_pb2_grpc import TimelineServiceStub
from chirp.tweet.v1 import tweet_service_pb2
from chirp.tweet.v1.tweet_service_pb2_grpc import TweetServiceStub
from chirp.user.v1 import user_service_pb2
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

__all__ = ["Mesh"]

_USER_HEADER = "x-chirp-user-id"
_TIMEOUT_S = 30.0


class _Stubs:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.users = UserServiceStub(channel)
        self.graph = GraphServiceStub(channel)
        self.tweets = TweetServiceStub(channel)
        self.timelines = TimelineServiceStub(channel)


class Mesh:
    """`async with Mesh("127.0.0.1:10000") as mesh: await mesh.follow(me, "alice")`."""

    def __init__(self, address: str, *, connections: int = 4) -> None:
        # A distinct channel argument keeps gRPC from sharing one subchannel (one TCP connection) among them.
        self._channels = [
            grpc.aio.insecure_channel(address, options=[("grpc.enable_retries", 0), ("chirp.bench.channel", i)])
            for i in range(connections)
        ]
        self._stubs = [_Stubs(c) for c in self._channels]
        self._next = itertools.cycle(self._stubs)

    async def __aenter__(self) -> Mesh:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for channel in self._channels:
            await channel.close()

    def _pick(self) -> _Stubs:
        return next(self._next)

    @staticmethod
    def _as(user_id: int | None) -> tuple[tuple[str, str], ...]:
        return () if user_id is None else ((_USER_HEADER, str(user_id)),)

    async def create_user(self, username: str) -> int:
        """Create a profile (no credentials: it cannot log in); idempotent by username. Returns its id."""
        answer = await self._pick().users.CreateUser(
            user_service_pb2.CreateUserRequest(
                username=username, email=f"{username}@bench.example.com", request_id=f"bench-{username}"
            ),
            timeout=_TIMEOUT_S,
        )
        return int(answer.user.id)

    async def lookup_user(self, username: str) -> int:
        answer = await self._pick().users.LookupUser(
            user_service_pb2.LookupUserRequest(username=username), timeout=_TIMEOUT_S
        )
        return int(answer.user.id)

    async def follow(self, follower_id: int, username: str) -> None:
        await self._pick().graph.Follow(
            graph_service_pb2.FollowRequest(username=username), metadata=self._as(follower_id), timeout=_TIMEOUT_S
        )

    async def post(self, author_id: int, text: str, *, request_id: str) -> int:
        answer = await self._pick().tweets.CreateTweet(
            tweet_service_pb2.CreateTweetRequest(text=text, request_id=request_id),
            metadata=self._as(author_id),
            timeout=_TIMEOUT_S,
        )
        return int(answer.id)

    async def home_timeline(self, user_id: int) -> list[int]:
        """The first page of a user's home timeline, read as that user (builds the cached timeline)."""
        answer = await self._pick().timelines.GetHomeTimeline(
            timeline_service_pb2.GetHomeTimelineRequest(), metadata=self._as(user_id), timeout=_TIMEOUT_S
        )
        return [int(t.id) for t in answer.tweets]
