"""In-memory stand-ins for the services the notification service calls (user, tweet, graph, presence),
served over real gRPC on one server that takes the mesh's place.

They follow the contracts closely enough for these tests: the tweet service hides deleted tweets and what the
reader may not see (blocks either way, protected authors the reader does not follow); the graph answers the
source's relationships including mutes; LookupUser includes the email; the presence service answers from
`World.presence`, or UNIMPLEMENTED (as the placeholder process does) while `World.presence_implemented` is
False. `World` holds the state; tests arrange it directly.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.presence.v1 import presence_pb2, presence_service_pb2, presence_service_pb2_grpc
from chirp.tweet.v1 import tweet_pb2, tweet_service_pb2, tweet_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit import errors
from services.kit.identity import current_user_id
from services.kit.server import Context, Runtime, Setup
from services.kit.timestamps import to_timestamp
from tests.social_graph import SocialGraph

__all__ = ["World", "serve_fakes"]


@dataclass
class World(SocialGraph):
    users: dict[int, str] = field(default_factory=dict)  # id -> username
    tweets: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (author, text)
    presence: dict[int, tuple[int, float | None]] = field(default_factory=dict)  # id -> (state, last seen)
    presence_implemented: bool = True
    graph_down: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1 << 50))

    def user(self, name: str = "") -> int:
        user_id = next(self._ids)
        self.users[user_id] = name or f"user{user_id % 100000}"
        return user_id

    def post(self, author: int, text: str = "a tweet") -> int:
        tweet_id = next(self._ids)
        self.tweets[tweet_id] = (author, text)
        return tweet_id


class FakeUsers(user_service_pb2_grpc.UserServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    def _user(self, user_id: int) -> user_pb2.User:
        name = self.world.users[user_id]
        protected = user_id in self.world.protected
        return user_pb2.User(id=user_id, username=name, display_name=name.title(), protected=protected)

    async def BatchGetUsers(
        self, request: user_service_pb2.BatchGetUsersRequest, context: Context
    ) -> user_service_pb2.BatchGetUsersResponse:
        self.world.calls["BatchGetUsers"] += 1
        return user_service_pb2.BatchGetUsersResponse(
            users=[self._user(i) for i in request.ids if i in self.world.users]
        )

    async def LookupUser(
        self, request: user_service_pb2.LookupUserRequest, context: Context
    ) -> user_service_pb2.LookupUserResponse:
        self.world.calls["LookupUser"] += 1
        if request.id not in self.world.users:
            raise errors.NotFound("USER_NOT_FOUND", "no such user")
        user = self._user(request.id)
        user.email = f"{user.username}@example.com"
        return user_service_pb2.LookupUserResponse(user=user)


class FakeTweets(tweet_service_pb2_grpc.TweetServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def BatchGetTweets(
        self, request: tweet_service_pb2.BatchGetTweetsRequest, context: Context
    ) -> tweet_service_pb2.BatchGetTweetsResponse:
        self.world.calls["BatchGetTweets"] += 1
        viewer = current_user_id()
        answer = tweet_service_pb2.BatchGetTweetsResponse()
        for tweet_id in request.tweet_ids:
            found = self.world.tweets.get(tweet_id)
            if found is None or not self.world.sees(viewer, found[0]):
                continue
            author, text = found
            answer.tweets.append(
                tweet_pb2.Tweet(
                    id=tweet_id, text=text, author=user_pb2.UserSummary(id=author, username=self.world.users[author])
                )
            )
        return answer


class FakeGraph(graph_service_pb2_grpc.GraphServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def BatchGetRelationships(
        self, request: graph_service_pb2.BatchGetRelationshipsRequest, context: Context
    ) -> graph_service_pb2.BatchGetRelationshipsResponse:
        self.world.calls["BatchGetRelationships"] += 1
        if self.world.graph_down:
            raise errors.Unavailable("GRAPH_DOWN", "the graph is down (a test said so)")
        answer = graph_service_pb2.BatchGetRelationshipsResponse()
        for other in request.target_user_ids:
            answer.relationships[other].CopyFrom(self.world.relationship(request.source_user_id, other))
        return answer


class FakePresence(presence_service_pb2_grpc.PresenceServiceServicer):
    def __init__(self, world: World) -> None:
        self.world = world

    async def BatchGetPresence(
        self, request: presence_service_pb2.BatchGetPresenceRequest, context: Context
    ) -> presence_service_pb2.BatchGetPresenceResponse:
        self.world.calls["BatchGetPresence"] += 1
        if not self.world.presence_implemented:
            raise NotImplementedError  # the kit answers UNIMPLEMENTED, as the placeholder process does
        answer = presence_service_pb2.BatchGetPresenceResponse()
        for user_id in request.user_ids:
            state, seen = self.world.presence.get(user_id, (presence_pb2.PRESENCE_STATE_OFFLINE, None))
            presence = presence_pb2.Presence(user_id=user_id, state=state)  # type: ignore[arg-type]
            if seen is not None:
                presence.last_seen_at.CopyFrom(to_timestamp(seen))
            answer.presences.append(presence)
        return answer


def serve_fakes(world: World) -> Setup:
    """A `setup` for `serving`: the four fakes on one server, which then stands in for the Envoy mesh."""

    async def setup(rt: Runtime) -> None:
        user_service_pb2_grpc.add_UserServiceServicer_to_server(FakeUsers(world), rt.server)
        tweet_service_pb2_grpc.add_TweetServiceServicer_to_server(FakeTweets(world), rt.server)
        graph_service_pb2_grpc.add_GraphServiceServicer_to_server(FakeGraph(world), rt.server)
        presence_service_pb2_grpc.add_PresenceServiceServicer_to_server(FakePresence(world), rt.server)
        rt.add_service("chirp.user.v1.UserService")

    return setup
