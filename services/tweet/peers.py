"""The other services the tweet service reads, in batches, always as the current caller (the mesh forwards it).

Users and relationships are required: without them nothing can be shown safely, so their failures propagate.
Engagement counters and media are decorations: while those services are not deployed (UNIMPLEMENTED) a tweet
is shown with zero counters and without media rather than not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import grpc
from chirp.engagement.v1 import engagement_pb2, engagement_service_pb2, engagement_service_pb2_grpc
from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.media.v1 import media_pb2, media_service_pb2, media_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit.batching import chunks
from services.user.public import user_by_username

__all__ = ["Peers"]

_BATCH = 500  # the most ids BatchGetUsers, BatchGetRelationships and BatchGetEngagement take
_MEDIA_BATCH = 100
_USERNAME_MAX = 15


class Peers:
    def __init__(
        self,
        *,
        users: user_service_pb2_grpc.UserServiceStub,
        graph: graph_service_pb2_grpc.GraphServiceStub,
        engagement: engagement_service_pb2_grpc.EngagementServiceStub,
        media: media_service_pb2_grpc.MediaServiceStub,
    ) -> None:
        self._users = users
        self._graph = graph
        self._engagement = engagement
        self._media = media

    async def user_named(self, username: str) -> user_pb2.User:
        """Raises NotFound USER_NOT_FOUND."""
        return await user_by_username(self._users, username)

    async def users(self, user_ids: Iterable[int]) -> dict[int, user_pb2.User]:
        ids = list(dict.fromkeys(user_ids))
        found: dict[int, user_pb2.User] = {}
        for chunk in chunks(ids, _BATCH):
            answer = await self._users.BatchGetUsers(user_service_pb2.BatchGetUsersRequest(ids=chunk))
            found.update((u.id, u) for u in answer.users)
        return found

    async def users_named(self, usernames: Iterable[str]) -> dict[str, user_pb2.User]:
        """The users with these usernames (any case), keyed by the name as given; unknown names left out."""
        names = [n for n in dict.fromkeys(usernames) if len(n) <= _USERNAME_MAX]

        async def lookup(name: str) -> tuple[str, user_pb2.User | None]:
            try:
                answer = await self._users.LookupUser(user_service_pb2.LookupUserRequest(username=name))
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    return name, None
                raise
            user: user_pb2.User = answer.user
            return name, user

        found = await asyncio.gather(*(lookup(n) for n in names))
        return {name: user for name, user in found if user is not None}

    async def relationships(self, viewer_id: int, user_ids: Iterable[int]) -> dict[int, user_pb2.Relationship]:
        """How `viewer_id` relates to each of `user_ids` (every id answered; the viewer itself left out)."""
        ids = [i for i in dict.fromkeys(user_ids) if i != viewer_id]
        found: dict[int, user_pb2.Relationship] = {}
        for chunk in chunks(ids, _BATCH):
            answer = await self._graph.BatchGetRelationships(
                graph_service_pb2.BatchGetRelationshipsRequest(source_user_id=viewer_id, target_user_ids=chunk)
            )
            found.update(answer.relationships.items())
        return found

    async def engagement(self, tweet_ids: Iterable[int]) -> dict[int, engagement_pb2.TweetEngagement]:
        """Like and retweet counters and the caller's own engagement; empty while engagement is not deployed."""
        ids = list(dict.fromkeys(tweet_ids))
        found: dict[int, engagement_pb2.TweetEngagement] = {}
        try:
            for chunk in chunks(ids, _BATCH):
                answer = await self._engagement.BatchGetEngagement(
                    engagement_service_pb2.BatchGetEngagementRequest(tweet_ids=chunk)
                )
                found.update((e.tweet_id, e) for e in answer.engagements)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        return found

    async def media(self, media_ids: Iterable[int]) -> dict[int, media_pb2.Media]:
        """Media items by id (unknown ones left out); empty while the media service is not deployed."""
        ids = list(dict.fromkeys(media_ids))
        found: dict[int, media_pb2.Media] = {}
        try:
            for chunk in chunks(ids, _MEDIA_BATCH):
                answer = await self._media.BatchGetMedia(media_service_pb2.BatchGetMediaRequest(media_ids=chunk))
                found.update((m.id, m) for m in answer.media)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        return found
