"""Users in likers and retweeters lists: hydrated by the user service, blocks applied through the graph."""

from __future__ import annotations

from collections.abc import Sequence

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.graph.public import hidden_by_block

__all__ = ["People"]


class People:
    def __init__(
        self, *, users: user_service_pb2_grpc.UserServiceStub, graph: graph_service_pb2_grpc.GraphServiceStub
    ) -> None:
        self._users = users
        self._graph = graph

    async def visible_to(self, viewer_id: int | None, user_ids: Sequence[int]) -> list[user_pb2.User]:
        """The users, in the order given, without those who block the viewer or whom the viewer blocks.

        Anonymous viewers block nobody, so they see everyone; unknown (deleted) users are left out.
        """
        ids = list(user_ids)
        if viewer_id is not None and ids:
            answer = await self._graph.BatchGetRelationships(
                graph_service_pb2.BatchGetRelationshipsRequest(source_user_id=viewer_id, target_user_ids=ids)
            )
            relationships = answer.relationships
            # Every requested id gets an entry; one missing is treated as hidden rather than shown by mistake.
            ids = [i for i in ids if i in relationships and not hidden_by_block(relationships[i])]
        if not ids:
            return []
        found = await self._users.BatchGetUsers(user_service_pb2.BatchGetUsersRequest(ids=ids))
        return list(found.users)
