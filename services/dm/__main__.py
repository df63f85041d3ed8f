"""The dm service process: `python -m services.dm`."""

from __future__ import annotations

from chirp.dm.v1 import dm_service_pb2_grpc
from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.dm.conversations import Conversations
from services.dm.people import People
from services.dm.service import DmService
from services.dm.store import MIGRATIONS, DmStore
from services.kit.server import Runtime, run


async def setup(rt: Runtime) -> None:
    await (await rt.events()).ensure_stream("dm")
    db = await rt.database("dm", MIGRATIONS)
    store = DmStore(db)
    people = People(users=rt.stub(UserServiceStub), graph=rt.stub(GraphServiceStub))
    conversations = Conversations(store, people, await rt.outbox(db), rt.snowflake)
    service = DmService(store=store, conversations=conversations, people=people)
    dm_service_pb2_grpc.add_DmServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.dm.v1.DmService")


if __name__ == "__main__":
    run("dm", setup)
