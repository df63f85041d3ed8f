"""The presence service process: `python -m services.presence`."""

from __future__ import annotations

from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.presence.v1 import presence_service_pb2_grpc
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.kit.server import Runtime, run
from services.presence.announcer import Announcer
from services.presence.service import PresenceService
from services.presence.settings import PresenceSettings
from services.presence.store import PresenceStore


async def setup(rt: Runtime[PresenceSettings]) -> None:
    settings = rt.settings
    events = await rt.events()
    await events.ensure_stream("presence")
    store = PresenceStore(await rt.redis(), ttl=settings.presence_ttl, retention=settings.presence_last_seen_retention)
    announcer = Announcer(store, events)
    service = PresenceService(
        store=store, announcer=announcer, users=rt.stub(UserServiceStub), graph=rt.stub(GraphServiceStub)
    )
    presence_service_pb2_grpc.add_PresenceServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.presence.v1.PresenceService")
    rt.spawn(announcer.run(interval=settings.presence_sweep_interval), name="presence-sweeper")


if __name__ == "__main__":
    run("presence", setup, settings_cls=PresenceSettings)
