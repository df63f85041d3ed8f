"""The user service process: `python -m services.user`."""

from __future__ import annotations

from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.user.v1 import user_service_pb2_grpc

from services.kit.server import Runtime, run
from services.user.service import UserService
from services.user.store import MIGRATIONS, UserStore


async def setup(rt: Runtime) -> None:
    service = UserService(
        store=UserStore(await rt.database("user", MIGRATIONS)), ids=rt.snowflake, graph=rt.stub(GraphServiceStub)
    )
    user_service_pb2_grpc.add_UserServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.user.v1.UserService")


if __name__ == "__main__":
    run("user", setup)
