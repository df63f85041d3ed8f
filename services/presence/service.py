"""PresenceService: converts between the contract and presence's domain (store, announcer, audience)."""

from __future__ import annotations

from collections.abc import Sequence

from chirp.graph.v1 import graph_service_pb2_grpc
from chirp.presence.v1 import presence_pb2, presence_service_pb2, presence_service_pb2_grpc
from chirp.user.v1 import user_service_pb2_grpc

from services.kit import errors
from services.kit.identity import require_user
from services.kit.server import Context
from services.presence.announcer import Announcer
from services.presence.audience import visible_user_id
from services.presence.model import Presence, State, ms_timestamp, to_proto_state
from services.presence.store import PresenceStore

__all__ = ["PresenceService", "to_proto"]

_BATCH_MAX = 1000  # the contract's limit of BatchGet…Request.user_ids


def _check_ids(user_ids: Sequence[int], *, most: int) -> None:
    """The contract's rules for `user_ids`, checked here because protovalidate costs ~25 µs to 2 ms an item on a
    repeated field with rules (a kit helper would serve every batch RPC: see the report of this change)."""
    if len(user_ids) > most:
        raise errors.InvalidArgument(
            "INVALID_ARGUMENT", f"user_ids: value must contain no more than {most} item(s)", field="user_ids"
        )
    bad = next((i for i, user_id in enumerate(user_ids) if user_id <= 0), None)
    if bad is not None:
        raise errors.InvalidArgument(
            "INVALID_ARGUMENT", f"user_ids[{bad}]: value must be greater than 0", field=f"user_ids[{bad}]"
        )


def to_proto(presence: Presence) -> presence_pb2.Presence:
    answer = presence_pb2.Presence(user_id=presence.user_id, state=to_proto_state(presence.state))
    if presence.last_seen_ms is not None:
        answer.last_seen_at.CopyFrom(ms_timestamp(presence.last_seen_ms))
    return answer


class PresenceService(presence_service_pb2_grpc.PresenceServiceServicer):
    def __init__(
        self,
        *,
        store: PresenceStore,
        announcer: Announcer,
        users: user_service_pb2_grpc.UserServiceStub,
        graph: graph_service_pb2_grpc.GraphServiceStub,
    ) -> None:
        self._store = store
        self._announcer = announcer
        self._users = users
        self._graph = graph

    async def Heartbeat(
        self, request: presence_service_pb2.HeartbeatRequest, context: Context
    ) -> presence_pb2.Presence:
        me = require_user()
        # protovalidate already refused every state but ONLINE and IDLE.
        presence, change = await self._store.heartbeat(me, State(request.state))
        if change is not None:
            await self._announcer.publish_soon(change)
        return to_proto(presence)

    async def GetPresence(
        self, request: presence_service_pb2.GetPresenceRequest, context: Context
    ) -> presence_pb2.Presence:
        me = require_user()
        user_id = await visible_user_id(me, request.username, users=self._users, graph=self._graph)
        found = await self._store.get_many([user_id])
        return to_proto(found[user_id])

    async def BatchGetPresence(
        self, request: presence_service_pb2.BatchGetPresenceRequest, context: Context
    ) -> presence_service_pb2.BatchGetPresenceResponse:
        _check_ids(request.user_ids, most=_BATCH_MAX)
        found = await self._store.get_many(request.user_ids)
        return presence_service_pb2.BatchGetPresenceResponse(presences=[to_proto(found[i]) for i in request.user_ids])
