"""The graph service process: `python -m services.graph`."""

from __future__ import annotations

from chirp.graph.v1 import graph_service_pb2_grpc
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.graph.actions import GraphActions
from services.graph.service import GraphService
from services.graph.store import MIGRATIONS, GraphStore
from services.kit.server import Runtime, run


async def setup(rt: Runtime) -> None:
    await (await rt.events()).ensure_stream("graph")
    db = await rt.database("graph", MIGRATIONS)
    store = GraphStore(db)
    actions = GraphActions(store=store, outbox=await rt.outbox(db), ids=rt.snowflake)
    service = GraphService(store=store, actions=actions, users=rt.stub(UserServiceStub))
    graph_service_pb2_grpc.add_GraphServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.graph.v1.GraphService")


if __name__ == "__main__":
    run("graph", setup)
