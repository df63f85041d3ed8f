"""PresenceService: converts between the contract and presence's domain (store, announcer, audience)."""

from __future__ import annotations

from chirp.graph.v1 import graph_service_pb2_grpc
from chirp.presence.v1 import presence_pb2, presence_service_pb2, presence_service_pb2_grpc
from chirp.user.v1 import user_service_pb2_grpc

from services.kit.identity import require_user
from services.kit.server import Context
from services.presence.announcer import Announcer
from services.presence.audience import visible_user_id
from services.presence.model import Presence, State, ms_timestamp, to_proto_state
from services.presence.store import PresenceStore

__all__ = ["PresenceService", "to_proto"]

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
        found = await self._store.get_many(request.user_ids)
        return presence_service_pb2.BatchGetPresenceResponse(presences=[to_proto(found[i]) for i in request.user_ids])
