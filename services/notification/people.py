"""Whom a user hears from: the graph's relationships, seen from the recipient's side.

A notification is made only if neither blocks the other and the recipient does not mute the actor; tweets
of a protected account notify only its approved followers (the others could not open them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.user.v1 import user_pb2

from services.graph.public import hidden_by_block
from services.kit.batching import chunks

__all__ = ["Relations", "silenced"]

_BATCH = 500  # the most ids BatchGetRelationships takes


def silenced(relationship: user_pb2.Relationship) -> bool:
    """Whether the viewer hears nothing from the other user: a block either way, or the viewer mutes them."""
    return hidden_by_block(relationship) or relationship.muting


class Relations:
    """Relationships, read in batches: the lookups made in one pass of the event loop are grouped by viewer,
    one BatchGetRelationships each. A thousand follows of one account, handled side by side, ask about the
    account's relationships to a thousand followers: that is a few calls, not a thousand."""

    def __init__(self, graph: graph_service_pb2_grpc.GraphServiceStub) -> None:
        self._graph = graph
        self._asked: dict[int, dict[int, list[asyncio.Future[user_pb2.Relationship]]]] = {}
        self._lookups: set[asyncio.Task[None]] = set()  # in flight (the loop keeps only weak references)

    async def of(self, viewer_id: int, other_id: int) -> user_pb2.Relationship:
        """The viewer's relationship to the other user."""
        answer: asyncio.Future[user_pb2.Relationship] = asyncio.get_running_loop().create_future()
        if not self._asked:
            asyncio.get_running_loop().call_soon(self._send)  # after the lookups made in this pass
        self._asked.setdefault(viewer_id, {}).setdefault(other_id, []).append(answer)
        return await answer

    def _send(self) -> None:
        asked, self._asked = self._asked, {}
        for viewer_id, waiting in asked.items():
            for ids in chunks(list(waiting), _BATCH):
                task = asyncio.create_task(self._lookup(viewer_id, {i: waiting[i] for i in ids}))
                self._lookups.add(task)
                task.add_done_callback(self._lookups.discard)

    async def _lookup(self, viewer_id: int, waiting: dict[int, list[asyncio.Future[user_pb2.Relationship]]]) -> None:
        try:
            answer = await self._graph.BatchGetRelationships(
                graph_service_pb2.BatchGetRelationshipsRequest(source_user_id=viewer_id, target_user_ids=list(waiting))
            )
        except BaseException as exc:
            failure = exc if isinstance(exc, Exception) else RuntimeError("the lookup was cancelled")
            for futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        for other_id, futures in waiting.items():
            # Every requested id gets an entry; a missing one is treated as a block rather than shown by mistake.
            if other_id in answer.relationships:
                relationship = answer.relationships[other_id]
            else:
                relationship = user_pb2.Relationship(blocking=True)
            for future in futures:
                if not future.done():  # its handler was cancelled meanwhile
                    future.set_result(relationship)

    async def who_hears(self, actor_id: int, recipients: Sequence[int], *, followers_only: bool = False) -> list[int]:
        """The recipients who would hear from `actor_id` (and, with `followers_only`, follow them), in order."""
        relationships = await asyncio.gather(*(self.of(r, actor_id) for r in recipients))
        return [
            r
            for r, rel in zip(recipients, relationships, strict=True)
            if not silenced(rel) and (not followers_only or rel.following)
        ]
