"""Users and relationships as the dm service needs them, from the user and graph services (through the mesh)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

import grpc
from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit import errors
from services.user.public import summary_of

__all__ = ["People"]

_BATCH = 500  # the most ids BatchGetUsers and BatchGetRelationships take per call



class People:
    def __init__(
        self, *, users: user_service_pb2_grpc.UserServiceStub, graph: graph_service_pb2_grpc.GraphServiceStub
    ) -> None:
        self._users = users
        self._graph = graph

    async def by_usernames(self, usernames: Sequence[str]) -> list[user_pb2.User]:
        """The users, in the order named. Raises NotFound USER_NOT_FOUND naming the first unknown username."""
        answers = await asyncio.gather(
            *(self._users.LookupUser(user_service_pb2.LookupUserRequest(username=name)) for name in usernames),
            return_exceptions=True,
        )
        found: list[user_pb2.User] = []
        for name, answer in zip(usernames, answers, strict=True):
            if isinstance(answer, grpc.aio.AioRpcError) and answer.code() == grpc.StatusCode.NOT_FOUND:
                raise errors.NotFound("USER_NOT_FOUND", f"there is no user @{name}", metadata={"username": name})
            if isinstance(answer, BaseException):
                raise answer
            found.append(answer.user)
        return found

    async def summaries(self, user_ids: Collection[int]) -> dict[int, user_pb2.UserSummary]:
        """The users by id; unknown (deleted) users are left out."""
        ids = list(dict.fromkeys(user_ids))
        chunks = [ids[i : i + _BATCH] for i in range(0, len(ids), _BATCH)]
        answers = await asyncio.gather(
            *(self._users.BatchGetUsers(user_service_pb2.BatchGetUsersRequest(ids=chunk)) for chunk in chunks)
        )
        return {u.id: summary_of(u) for answer in answers for u in answer.users}

    async def relationships(self, source: int, targets: Collection[int]) -> dict[int, user_pb2.Relationship]:
        """`source`'s relationship to each of `targets` (every target gets one)."""
        ids = [t for t in dict.fromkeys(targets) if t != source]
        chunks = [ids[i : i + _BATCH] for i in range(0, len(ids), _BATCH)]
        answers = await asyncio.gather(
            *(
                self._graph.BatchGetRelationships(
                    graph_service_pb2.BatchGetRelationshipsRequest(source_user_id=source, target_user_ids=chunk)
                )
                for chunk in chunks
            )
        )
        found: dict[int, user_pb2.Relationship] = {}
        for answer in answers:
            found.update(answer.relationships)
        return found

    async def blocked_by_viewer(self, viewer: int, user_ids: Collection[int]) -> set[int]:
        """Which of `user_ids` the viewer blocks."""
        relationships = await self.relationships(viewer, user_ids)
        return {user for user, relationship in relationships.items() if relationship.blocking}
