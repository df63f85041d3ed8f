"""The user service process: `python -m services.user`."""

from __future__ import annotations

from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.user.v1 import user_service_pb2_grpc

from services.kit.server import Runtime, run
from services.user.accounts import Accounts
from services.user.counters import Counters, consumers
from services.user.service import UserService
from services.user.store import MIGRATIONS, UserStore


async def setup(rt: Runtime) -> None:
    db = await rt.database("user", MIGRATIONS)
    store = UserStore(db)
    events = await rt.events()
    await events.ensure_stream("user")
    # The counters' consumers need the graph and tweet streams, which those services may not have created yet.
    await events.ensure_stream("graph")
    await events.ensure_stream("tweet")
    accounts = Accounts(store=store, outbox=await rt.outbox(db), ids=rt.snowflake)
    service = UserService(store=store, accounts=accounts, graph=rt.stub(GraphServiceStub))
    user_service_pb2_grpc.add_UserServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.user.v1.UserService")
    for name, loop in consumers(events, Counters(store)):
        rt.spawn(loop, name=name)


if __name__ == "__main__":
    run("user", setup)
