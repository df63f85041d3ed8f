"""The auth service process: `python -m services.auth`."""

from __future__ import annotations

from chirp.auth.v1 import auth_service_pb2_grpc
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.auth.passwords import Passwords
from services.auth.service import AuthService
from services.auth.settings import AuthSettings
from services.auth.store import MIGRATIONS, AuthStore
from services.kit.server import Runtime, run


async def setup(rt: Runtime[AuthSettings]) -> None:
    settings = rt.settings
    service = AuthService(
        store=AuthStore(await rt.database("auth", MIGRATIONS)),
        passwords=Passwords(
            time_cost=settings.auth_argon2_time_cost, memory_kib=settings.auth_argon2_memory_kib
        ),
        users=rt.stub(UserServiceStub),
        access_ttl=settings.auth_access_token_ttl,
        refresh_ttl=settings.auth_refresh_token_ttl,
        key_rotation=settings.auth_key_rotation,
    )
    await service.load_keys()
    auth_service_pb2_grpc.add_AuthServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.auth.v1.AuthService")


if __name__ == "__main__":
    run("auth", setup, settings_cls=AuthSettings)
