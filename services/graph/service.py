"""GraphService: follows, and the id lists fan-out and timelines read."""

from __future__ import annotations

import time
from typing import Protocol

from chirp.graph.v1 import graph_events_pb2, graph_service_pb2, graph_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.graph.store import GraphStore
from services.kit import errors, paging
from services.kit.identity import require_user
from services.kit.outbox import Outbox
from services.kit.server import Context
from services.kit.timestamps import to_timestamp
from services.user.lookup import user_by_username

__all__ = ["GraphService"]

_MAX_ID_PAGE = 5000


class _IdReader(Protocol):
    async def __call__(self, user_id: int, *, after: int, limit: int) -> list[int]: ...


class _PageRequest(Protocol):
    page_size: int
    page_token: str


class GraphService(graph_service_pb2_grpc.GraphServiceServicer):
    def __init__(
        self, *, store: GraphStore, outbox: Outbox, users: user_service_pb2_grpc.UserServiceStub
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._users = users

    async def Follow(
        self, request: graph_service_pb2.FollowRequest, context: Context
    ) -> user_pb2.Relationship:
        me = require_user()
        target = await self._user_id(request.username)
        if target == me:
            raise errors.InvalidArgument("CANNOT_FOLLOW_SELF", "you cannot follow yourself", field="username")
        now = time.time()
        async with self._store.db.transaction() as tx:
            inserted = await tx.execute(
                "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (me, target, now),
            )
            if inserted:  # following twice is a no-op, and publishes nothing
                await self._outbox.add(
                    tx,
                    "chirp.graph.followed",
                    graph_events_pb2.Followed(actor_user_id=me, target_user_id=target, occurred_at=to_timestamp(now)),
                    msg_id=f"followed:{me}:{target}:{now}",
                )
        return await self._relationship(me, target)

    async def Unfollow(
        self, request: graph_service_pb2.UnfollowRequest, context: Context
    ) -> user_pb2.Relationship:
        me = require_user()
        target = await self._user_id(request.username)
        now = time.time()
        async with self._store.db.transaction() as tx:
            deleted = await tx.execute(
                "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?", (me, target)
            )
            if deleted:
                await self._outbox.add(
                    tx,
                    "chirp.graph.unfollowed",
                    graph_events_pb2.Unfollowed(actor_user_id=me, target_user_id=target, occurred_at=to_timestamp(now)),
                    msg_id=f"unfollowed:{me}:{target}:{now}",
                )
        return await self._relationship(me, target)

    async def GetRelationship(
        self, request: graph_service_pb2.GetRelationshipRequest, context: Context
    ) -> graph_service_pb2.GetRelationshipResponse:
        return graph_service_pb2.GetRelationshipResponse(
            relationship=await self._relationship(request.source_user_id, request.target_user_id)
        )

    async def ListFollowerIds(
        self, request: graph_service_pb2.ListFollowerIdsRequest, context: Context
    ) -> graph_service_pb2.ListFollowerIdsResponse:
        ids, token = await self._id_page(self._store.follower_ids, request.user_id, request, default=_MAX_ID_PAGE)
        return graph_service_pb2.ListFollowerIdsResponse(user_ids=ids, next_page_token=token)

    async def ListFollowingIds(
        self, request: graph_service_pb2.ListFollowingIdsRequest, context: Context
    ) -> graph_service_pb2.ListFollowingIdsResponse:
        ids, token = await self._id_page(self._store.following_ids, request.user_id, request, default=_MAX_ID_PAGE)
        return graph_service_pb2.ListFollowingIdsResponse(user_ids=ids, next_page_token=token)

    async def ListFollowers(
        self, request: graph_service_pb2.ListFollowersRequest, context: Context
    ) -> graph_service_pb2.ListFollowersResponse:
        target = await self._user_id(request.username)
        ids, token = await self._id_page(self._store.follower_ids, target, request)
        return graph_service_pb2.ListFollowersResponse(users=await self._users_by_ids(ids), next_page_token=token)

    async def ListFollowing(
        self, request: graph_service_pb2.ListFollowingRequest, context: Context
    ) -> graph_service_pb2.ListFollowingResponse:
        target = await self._user_id(request.username)
        ids, token = await self._id_page(self._store.following_ids, target, request)
        return graph_service_pb2.ListFollowingResponse(users=await self._users_by_ids(ids), next_page_token=token)

    @staticmethod
    async def _id_page(
        read: _IdReader, user_id: int, request: _PageRequest, *, default: int = paging.DEFAULT_PAGE_SIZE
    ) -> tuple[list[int], str]:
        """One page of a follow list, ordered by user id, and the token of the next."""
        size = paging.page_size(request.page_size, default=default)
        ids = await read(user_id, after=paging.parse_token(request.page_token) or 0, limit=size)
        return ids, paging.next_token(ids, size=size)

    async def _relationship(self, source: int, target: int) -> user_pb2.Relationship:
        return user_pb2.Relationship(
            following=await self._store.is_following(source, target),
            followed_by=await self._store.is_following(target, source),
        )

    async def _user_id(self, username: str) -> int:
        user_id: int = (await user_by_username(self._users, username)).id
        return user_id

    async def _users_by_ids(self, ids: list[int]) -> list[user_pb2.User]:
        if not ids:
            return []
        answer = await self._users.BatchGetUsers(user_service_pb2.BatchGetUsersRequest(ids=ids))
        return list(answer.users)

