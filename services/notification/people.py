"""Whom a user hears from: the graph's relationships, seen from the recipient's side.

A notification is made only if neither blocks the other and the recipient does not mute the actor; tweets
of a protected account notify only its approved followers (the others could not open them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.user.v1 import user_pb2

from services.graph.visibility import hidden_by_block

__all__ = ["Relations", "silenced"]


def silenced(relationship: user_pb2.Relationship) -> bool:
    """Whether the viewer hears nothing from the other user: a block either way, or the viewer mutes them."""
    return hidden_by_block(relationship) or relationship.muting


class Relations:
    def __init__(self, graph: graph_service_pb2_grpc.GraphServiceStub) -> None:
        self._graph = graph

    async def of(self, viewer_id: int, other_id: int) -> user_pb2.Relationship:
        """The viewer's relationship to the other user."""
        answer = await self._graph.BatchGetRelationships(
            graph_service_pb2.BatchGetRelationshipsRequest(source_user_id=viewer_id, target_user_ids=[other_id])
        )
        # Every requested id gets an entry; a missing one is treated as a block rather than shown by mistake.
        if other_id not in answer.relationships:
            return user_pb2.Relationship(blocking=True)
        relationship: user_pb2.Relationship = answer.relationships[other_id]
        return relationship

    async def who_hears(self, actor_id: int, recipients: Sequence[int], *, followers_only: bool = False) -> list[int]:
        """The recipients who would hear from `actor_id` (and, with `followers_only`, follow them), in order."""
        relationships = await asyncio.gather(*(self.of(r, actor_id) for r in recipients))
        return [
            r
            for r, rel in zip(recipients, relationships, strict=True)
            if not silenced(rel) and (not followers_only or rel.following)
        ]
